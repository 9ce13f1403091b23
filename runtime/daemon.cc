#include "runtime/daemon.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "compiler/driver/pipeline.h"
#include "nnbpf/abi.h"
#include "runtime/attach_libxdp.h"
#include "runtime/block_gen.h"
#include "runtime/events.h"
#include "runtime/pins.h"
#include "runtime/pipeline_loader.h"
#include "nnbpf/sweep.h"
#include "runtime/ready.h"
#include "runtime/sweep.h"

namespace nnbpf::runtime {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

bool pid_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

Status write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Error::runtime(path + ": cannot write");
  out << data;
  return ok_status();
}

const char* kMapsToPin[] = {NNBPF_MAP_PROGS,   NNBPF_MAP_PARAMS, NNBPF_MAP_PARAM_IDX, NNBPF_MAP_SCRATCH,
                            NNBPF_MAP_ERRORS,  NNBPF_MAP_FLOWS,  NNBPF_MAP_BLOCKED,   NNBPF_MAP_ALLOW,
                            NNBPF_MAP_EVENTS,  NNBPF_MAP_STATS,  NNBPF_MAP_CLOSED,    NNBPF_MAP_POLICY,
                            NNBPF_MAP_EVIDENCE, NNBPF_MAP_BLOCK_GEN};

}  // namespace

Result<uint64_t> parse_duration(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || v < 0) return Error::bad_input("'" + text + "' is not a duration (e.g. 300s, 5m, 250ms)");
  std::string unit(end);
  double mult = 1e9;
  if (unit.empty() || unit == "s") mult = 1e9;
  else if (unit == "ms") mult = 1e6;
  else if (unit == "us") mult = 1e3;
  else if (unit == "m") mult = 60e9;
  else if (unit == "h") mult = 3600e9;
  else return Error::bad_input("'" + text + "': unknown unit '" + unit + "' (ms, s, m, h)");
  return static_cast<uint64_t>(v * mult);
}

Result<std::vector<uint8_t>> parse_cidr(const std::string& text) {
  std::string addr = text;
  int plen = -1;
  auto slash = text.find('/');
  if (slash != std::string::npos) {
    addr = text.substr(0, slash);
    try {
      size_t used = 0;
      plen = std::stoi(text.substr(slash + 1), &used);
      if (used != text.size() - slash - 1) plen = -2;
    } catch (...) {
      plen = -2;
    }
    if (plen < 0) return Error::bad_input("'" + text + "': bad prefix length");
  }
  auto a = parse_addr(addr);
  if (!a) return Error::bad_input("'" + text + "' is not a CIDR (" + a.error().message + ")");
  bool v4 = addr.find(':') == std::string::npos;
  int max = v4 ? 32 : 128;
  if (plen == -1) plen = max;
  if (plen > max) return Error::bad_input("'" + text + "': prefix length above " + std::to_string(max));
  nnbpf_lpm_key key{};
  key.prefixlen = static_cast<__u32>(v4 ? 96 + plen : plen);
  std::memcpy(key.addr.a, a->data(), 16);
  std::vector<uint8_t> out(sizeof key);
  std::memcpy(out.data(), &key, sizeof key);
  return out;
}

Status run_pipeline(const RunOptions& o) {
  if (if_nametoindex(o.iface.c_str()) == 0) return Error::bad_input("interface '" + o.iface + "' does not exist");
  NNBPF_TRY(art, compiler::load_artifact(o.dir));
  return run_artifact(art, o);
}

Status run_artifact(const compiler::Artifact& art, const RunOptions& o) {
  const std::string tag = "nnbpf " + o.who + ": ";
  unsigned ifindex = if_nametoindex(o.iface.c_str());
  if (ifindex == 0) return Error::bad_input("interface '" + o.iface + "' does not exist");
  if (!have_bpf_privileges())
    return Error::runtime("attaching XDP programs needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for bpffs)");
  std::vector<std::vector<uint8_t>> allow;
  for (const auto& c : o.allow) {
    NNBPF_TRY(k, parse_cidr(c));
    allow.push_back(k);
  }
  uint32_t xdp_flags = 0;
  if (o.mode == "native") xdp_flags = XDP_FLAGS_DRV_MODE;
  else if (o.mode == "generic") xdp_flags = XDP_FLAGS_SKB_MODE;
  else if (o.mode != "auto") return Error::bad_input("--mode must be native, generic or auto");

  std::string note;
  NNBPF_CHECK(ensure_bpffs(&note));
  if (!note.empty()) std::cerr << tag << note << "\n";

  // One daemon per interface; a dead one's pipeline is taken over.
  std::string sdir = state_dir(o.iface), pdir = pin_dir(o.iface);
  std::error_code ec;
  fs::create_directories(sdir, ec);
  if (ec) return Error::runtime(sdir + ": " + ec.message());
  pid_t old_pid = 0;
  {
    std::ifstream in(sdir + "/pid");
    in >> old_pid;
  }
  if (old_pid && old_pid != getpid() && pid_alive(old_pid))
    return Error::runtime("nnbpf is already running on " + o.iface + " (pid " + std::to_string(old_pid) +
                          "); stop it first or use nnbpf update to change the model");
  int old_link = -1;
  if (!o.take_over && fs::exists(pdir + "/link", ec))
    return Error::runtime("a pipeline is attached to " + o.iface + " (pins in " + pdir + "); nnbpf " + o.who +
                          " does not replace it: stop it or run nnbpf capture on another interface");
  const bool libxdp = o.attach == "libxdp";
  if (fs::exists(pdir + "/link", ec)) old_link = bpf_obj_get((pdir + "/link").c_str());
  const bool taking_over = old_link >= 0 || (libxdp && LibxdpHook::left_behind(pdir));
  if (taking_over)
    std::cerr << tag << "taking over the pipeline left on " << o.iface
              << (old_pid ? " by pid " + std::to_string(old_pid) : std::string()) << "\n";

  NNBPF_CHECK(validate_policy(o.policy));
  const bool has_model = !art.stage_names.empty();
  nnbpf_policy slot_pol{};
  std::string policy_summary;
  if (has_model) {
    NNBPF_TRY(sp, slot_policy(art.manifest, o.policy, &policy_summary));
    slot_pol = sp;
  }

  nnbpf_config cfg{};
  cfg.block_ttl_ns = o.block_ttl_ns;
  cfg.every_packets = o.every_packets;
  cfg.monitor = o.monitor ? 1 : 0;
  apply_policy(o.policy, &cfg);
  LoadOptions lo;
  lo.verbose = o.verbose;
  lo.config = cfg;
  lo.max_flows = o.max_flows;
  NNBPF_TRY(pipe, LoadedPipeline::load(art, lo));
  int xdp_fd = pipe->prog_fd(NNBPF_PROG_XDP_NAME);
  if (xdp_fd < 0) return Error::bad_input(art.dir + ": object has no " NNBPF_PROG_XDP_NAME " program");

  int allow_fd = pipe->map_fd(NNBPF_MAP_ALLOW);
  uint8_t one = 1;
  for (size_t i = 0; i < allow.size(); ++i)
    if (bpf_map_update_elem(allow_fd, allow[i].data(), &one, BPF_ANY))
      return Error::runtime("allowlist: cannot add " + o.allow[i] + ": " + std::strerror(errno));

  // The model's policy, in both slots (nnbpf update rewrites the idle one).
  if (int pfd = pipe->map_fd(NNBPF_MAP_POLICY); pfd >= 0) {
    for (uint32_t slot = 0; slot < 2; ++slot)
      if (bpf_map_update_elem(pfd, &slot, &slot_pol, BPF_ANY))
        return Error::runtime(std::string(NNBPF_MAP_POLICY) + ": cannot write: " + std::strerror(errno));
  }

  // Keep the blocks and the evidence of the pipeline we take over.
  if (taking_over) {
    int old_ev = bpf_obj_get((pdir + "/" NNBPF_MAP_EVIDENCE).c_str());
    if (old_ev >= 0) {
      copy_evidence(old_ev, pipe->map_fd(NNBPF_MAP_EVIDENCE));
      close(old_ev);
    }
    int old_blocked = bpf_obj_get((pdir + "/" NNBPF_MAP_BLOCKED).c_str());
    int new_blocked = pipe->map_fd(NNBPF_MAP_BLOCKED);
    if (old_blocked >= 0) {
      nnbpf_addr key{}, next{};
      nnbpf_block val{};
      void* prev = nullptr;
      for (int i = 0; i < NNBPF_MAX_BLOCKED && bpf_map_get_next_key(old_blocked, prev, &next) == 0; ++i) {
        if (bpf_map_lookup_elem(old_blocked, &next, &val) == 0) bpf_map_update_elem(new_blocked, &next, &val, BPF_ANY);
        key = next;
        prev = &key;
      }
      close(old_blocked);
    }
  }

  // Everything that can fail without side effects, before attaching.
  // Packets skip the host-filter lookup while no block exists: checked once
  // a second below (runtime/block_gen.h).
  NNBPF_TRY(block_gen, BlockGen::map(pipe->map_fd(NNBPF_MAP_BLOCK_GEN)));
  std::unique_ptr<IdleSweep> sweep;
  if (o.idle_timeout_ns || o.embryonic_timeout_ns || o.flush_at_exit) {
    auto sw = IdleSweep::attach(pipe->object(), {o.idle_timeout_ns, o.embryonic_timeout_ns});
    if (!sw) return sw.error().with_context(art.dir + ": ");
    sweep = std::move(*sw);
  }
  EventPrinter ectx;
  ectx.json = o.json;
  ectx.features = art.model.features;
  ectx.classes = manifest_classes(art.manifest);
  try {
    ectx.logit_scale = has_model ? logit_scale(art.manifest) : 1;
  } catch (...) {
    ectx.logit_scale = 1;
  }
  ectx.handler = &o.on_event;
  ectx.observe = &o.observe;
  std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)> rb_owner(
      ring_buffer__new(pipe->map_fd(NNBPF_MAP_EVENTS), print_event, &ectx, nullptr), &ring_buffer__free);
  if (!rb_owner) return Error::runtime("cannot open the event ring buffer: " + std::string(std::strerror(errno)));
  ring_buffer* rb = rb_owner.get();

  // Attach: swap the program inside the surviving link (no unprotected gap),
  // or create a new link.
  int link_fd = -1;
  std::unique_ptr<LibxdpHook> xdp_hook;  // --attach libxdp
  if (libxdp) {
    if (old_link >= 0) close(old_link);
    NNBPF_TRY(h, LibxdpHook::attach(o.iface, ifindex, o.mode, o.xdp_priority, xdp_fd, pdir));
    xdp_hook = std::move(h);
  } else if (old_link >= 0 && bpf_link_update(old_link, xdp_fd, nullptr) == 0) {
    link_fd = old_link;
  } else {
    if (old_link >= 0) close(old_link);
    auto attach = [&](uint32_t flags) {
      LIBBPF_OPTS(bpf_link_create_opts, lopts);
      lopts.flags = flags;
      return bpf_link_create(xdp_fd, static_cast<int>(ifindex), BPF_XDP, &lopts);
    };
    if (o.mode == "auto") {
      link_fd = attach(XDP_FLAGS_DRV_MODE);
      if (link_fd < 0) link_fd = attach(XDP_FLAGS_SKB_MODE);
    } else {
      link_fd = attach(xdp_flags);
    }
    if (link_fd < 0) {
      int err = errno;
      std::string why = std::strerror(err);
      if (err == EBUSY || err == EEXIST) why = "another XDP program is attached to " + o.iface;
      return Error::runtime("cannot attach to " + o.iface + " (" + o.mode + " mode): " + why);
    }
  }

  // Pins (replacing a taken-over pipeline's). A failure from here on detaches
  // again: nothing stays half-installed.
  auto undo = [&](Error e) -> Status {
    (void)unpin_all(o.iface);
    close(link_fd);
    xdp_hook.reset();
    fs::remove(sdir + "/pid", ec);
    fs::remove(sdir + "/manifest.json", ec);
    fs::remove(sdir + "/policy.json", ec);
    return e.with_context("detached again: ");
  };
  if (auto u = unpin_all(o.iface); !u) return undo(u.error());
  fs::create_directories(pdir, ec);
  for (const char* name : kMapsToPin) {
    bpf_map* m = bpf_object__find_map_by_name(pipe->object(), name);
    if (m && bpf_map__pin(m, (pdir + "/" + name).c_str()))
      return undo(Error::runtime(pdir + "/" + name + ": cannot pin: " + std::strerror(errno)));
  }
  for (const char* prog : {NNBPF_PROG_XDP_NAME, NNBPF_PROG_SWEEP_NAME, NNBPF_PROG_SWEEP_SCAN_NAME}) {
    int fd = pipe->prog_fd(prog);
    if (fd >= 0 && bpf_obj_pin(fd, (pdir + "/" + prog).c_str()))
      return undo(Error::runtime(pdir + "/" + prog + ": cannot pin: " + std::strerror(errno)));
  }
  if (xdp_hook) {
    if (auto p = xdp_hook->pin(pdir); !p) return undo(p.error());
  } else if (bpf_obj_pin(link_fd, (pdir + "/link").c_str()))
    return undo(Error::runtime(pdir + "/link: cannot pin: " + std::strerror(errno)));
  if (auto w = write_file(sdir + "/manifest.json", art.manifest.dump(2) + "\n"); !w) return undo(w.error());
  if (auto w = write_file(sdir + "/policy.json", policy_to_json(o.policy).dump(2) + "\n"); !w) return undo(w.error());
  if (auto w = write_file(sdir + "/pid", std::to_string(getpid()) + "\n"); !w) return undo(w.error());

  // Kernel run-time statistics (run_cnt, run_time_ns per program) stay on
  // while this fd is open (nnbpf stats --programs).
  int stats_fd = -1;
  if (o.bpf_stats) {
    stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (stats_fd < 0) std::cerr << tag << "cannot enable BPF run-time statistics: " << std::strerror(errno) << "\n";
  }

  if (art.stage_names.empty())
    std::cerr << tag << o.iface << ": attached the feature extractor (" << art.model.n_inputs()
              << " features, no model); pins in " << pdir << "\n";
  else
    std::cerr << tag << o.iface << ": attached " << art.dir << " (" << art.stage_names.size() << " stages, model "
              << art.model.digest.substr(0, 16) << ")" << (o.monitor ? " in monitor mode" : "") << "; pins in "
              << pdir << "\n";
  if (has_model && !o.monitor) {
    const auto& p = o.policy;
    std::cerr << tag << "blocking a source /" << p.prefix_v4 << " (IPv4), /" << p.prefix_v6 << " (IPv6) after "
              << p.block_after << " intrusion verdict" << (p.block_after == 1 ? "" : "s") << " making at least "
              << p.min_share * 100 << " % of its flows within " << p.window_ns / 1e9 << " s; " << policy_summary
              << "\n";
  }


  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal_ready(o.iface, o.ready_fd);  // after the handlers: a SIGINT at once still tears down
  auto start = std::chrono::steady_clock::now();
  auto last_sweep = start;
  auto last_empty_check = start;
  while (!g_stop) {
    int n = ring_buffer__poll(rb, 100);
    if (n < 0 && n != -EINTR) break;
    if (std::chrono::steady_clock::now() - last_empty_check >= std::chrono::seconds(1)) {
      block_gen.mark_if_empty(pipe->map_fd(NNBPF_MAP_BLOCKED));
      last_empty_check = std::chrono::steady_clock::now();
    }
    if (sweep && std::chrono::steady_clock::now() - last_sweep >= sweep->period()) {
      if (auto r = sweep->run(rb); !r) std::cerr << tag << r.error().message << "\n";
      last_sweep = std::chrono::steady_clock::now();
    }
    if (o.duration_s > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= o.duration_s)
      break;
  }
  ring_buffer__consume(rb);

  // Detach: unpin everything, then closing the last link fd detaches.
  Status st = unpin_all(o.iface);
  close(link_fd);
  xdp_hook.reset();
  if (stats_fd >= 0) close(stats_fd);
  // No packet reaches the pipeline now: flush the flows still tracked.
  if (o.flush_at_exit && sweep) {
    if (auto r = sweep->flush(NNBPF_END_EXIT, rb); !r) std::cerr << tag << r.error().message << "\n";
    ring_buffer__consume(rb);
  }
  rb_owner.reset();
  {
    int ncpu = libbpf_num_possible_cpus();
    uint32_t k = NNBPF_STAT_EVENTS_LOST;
    std::vector<uint64_t> vals(ncpu > 0 ? ncpu : 1);
    uint64_t lost = 0;
    if (ncpu > 0 && bpf_map_lookup_elem(pipe->map_fd(NNBPF_MAP_STATS), &k, vals.data()) == 0)
      for (auto v : vals) lost += v;
    if (lost) std::cerr << tag << "warning: " << lost << " events lost (ring buffer full)\n";
  }
  fs::remove(sdir + "/pid", ec);
  fs::remove(sdir + "/manifest.json", ec);
  fs::remove(sdir + "/policy.json", ec);
  fs::remove(sdir, ec);
  fs::remove(kStateRoot, ec);  // only if empty
  std::cerr << tag << o.iface << ": detached (" << ectx.events << " events)\n";
  return st;
}

}  // namespace nnbpf::runtime
