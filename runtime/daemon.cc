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

#include "compiler/driver/artifact.h"
#include "nnbpf/abi.h"
#include "runtime/block_gen.h"
#include "runtime/events.h"
#include "runtime/hook.h"
#include "runtime/map_iter.h"
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

// The artifact loaded with run's configuration (.rodata), its allowlist, and
// the model's policy in both parameter slots (nnbpf update rewrites the idle
// one).
Result<std::unique_ptr<LoadedPipeline>> load_for_run(const compiler::Artifact& art, const RunOptions& o,
                                                     const std::vector<std::vector<uint8_t>>& allow,
                                                     const nnbpf_policy& slot_pol) {
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

  int allow_fd = pipe->map_fd(NNBPF_MAP_ALLOW);
  uint8_t one = 1;
  for (size_t i = 0; i < allow.size(); ++i)
    if (bpf_map_update_elem(allow_fd, allow[i].data(), &one, BPF_ANY))
      return Error::runtime("allowlist: cannot add " + o.allow[i] + ": " + std::strerror(errno));

  if (int pfd = pipe->map_fd(NNBPF_MAP_POLICY); pfd >= 0) {
    for (uint32_t slot = 0; slot < 2; ++slot)
      if (bpf_map_update_elem(pfd, &slot, &slot_pol, BPF_ANY))
        return Error::runtime(std::string(NNBPF_MAP_POLICY) + ": cannot write: " + std::strerror(errno));
  }

  return std::move(pipe);
}

// What was attached, and the blocking policy in words (stderr).
void announce(const compiler::Artifact& art, const RunOptions& o, const std::string& pdir,
              const std::string& policy_summary) {
  const std::string tag = "nnbpf " + o.who + ": ";
  const bool has_model = !art.stage_names.empty();
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
}

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

namespace {

// Everything about the options that can be wrong, before anything is touched:
// the interface, privileges, the allowlist's CIDRs, the mode, the policy.
Status check_run_options(const RunOptions& o, unsigned* ifindex, std::vector<std::vector<uint8_t>>* allow) {
  *ifindex = if_nametoindex(o.iface.c_str());
  if (*ifindex == 0) return Error::bad_input("interface '" + o.iface + "' does not exist");
  if (!have_bpf_privileges())
    return Error::runtime("attaching XDP programs needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for bpffs)");
  for (const auto& c : o.allow) {
    NNBPF_TRY(k, parse_cidr(c));
    allow->push_back(k);
  }
  if (o.mode != "native" && o.mode != "generic" && o.mode != "auto")
    return Error::bad_input("--mode must be native, generic or auto");
  return validate_policy(o.policy);
}

// How events are shown: the model's feature and class names, its logit scale.
EventPrinter event_printer(const compiler::Artifact& art, const RunOptions& o) {
  EventPrinter p;
  p.json = o.json;
  p.features = art.model.features;
  p.classes = art.manifest.class_names();
  p.logit_scale = art.stage_names.empty() ? 1 : art.manifest.logit_units();
  p.handler = &o.on_event;
  p.observe = &o.observe;
  return p;
}

// The attached pipeline's life in user space until a signal or
// o.duration_s: events, the idle sweep every sweep->period(), and once a
// second the host filter's "no block exists" mark (runtime/block_gen.h).
void serve(const RunOptions& o, ring_buffer* rb, IdleSweep* sweep, const BlockGen& block_gen, int blocked_fd) {
  const std::string tag = "nnbpf " + o.who + ": ";
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto last_sweep = start;
  auto last_empty_check = start;
  while (!g_stop) {
    int n = ring_buffer__poll(rb, 100);
    if (n < 0 && n != -EINTR) break;
    if (clock::now() - last_empty_check >= std::chrono::seconds(1)) {
      block_gen.mark_if_empty(blocked_fd);
      last_empty_check = clock::now();
    }
    if (sweep && clock::now() - last_sweep >= sweep->period()) {
      if (auto r = sweep->run(rb); !r) std::cerr << tag << r.error().message << "\n";
      last_sweep = clock::now();
    }
    if (o.duration_s > 0 && std::chrono::duration<double>(clock::now() - start).count() >= o.duration_s) break;
  }
  ring_buffer__consume(rb);
}

// The idle sweep, when flows are classified or flushed by time.
Result<std::unique_ptr<IdleSweep>> sweep_for_run(const compiler::Artifact& art, const RunOptions& o,
                                                 const LoadedPipeline& pipe) {
  std::unique_ptr<IdleSweep> sweep;
  if (o.idle_timeout_ns || o.embryonic_timeout_ns || o.flush_at_exit) {
    auto sw = IdleSweep::attach(pipe.object(), {o.idle_timeout_ns, o.embryonic_timeout_ns});
    if (!sw) return sw.error().with_context(art.dir + ": ");
    sweep = std::move(*sw);
  }
  return sweep;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Teardown: unpin everything; closing the last link fd detaches. No packet
// reaches the pipeline then: capture flushes the flows still tracked.
Status tear_down(Hook& hook, const RunOptions& o, IdleSweep* sweep, ring_buffer* rb, int stats_fd) {
  const std::string tag = "nnbpf " + o.who + ": ";
  Status st = hook.detach();
  if (stats_fd >= 0) close(stats_fd);
  if (o.flush_at_exit && sweep) {
    if (auto r = sweep->flush(NNBPF_END_EXIT, rb); !r) std::cerr << tag << r.error().message << "\n";
    ring_buffer__consume(rb);
  }
  return st;
}

}  // namespace

Status run_artifact(const compiler::Artifact& art, const RunOptions& o) {
  const std::string tag = "nnbpf " + o.who + ": ";
  unsigned ifindex = 0;
  std::vector<std::vector<uint8_t>> allow;
  NNBPF_CHECK(check_run_options(o, &ifindex, &allow));

  std::string note;
  NNBPF_CHECK(ensure_bpffs(&note));
  if (!note.empty()) std::cerr << tag << note << "\n";

  // One daemon per interface; a dead one's pipeline is taken over.
  NNBPF_TRY(hook, Hook::claim(o, ifindex));
  if (hook->taking_over())
    std::cerr << tag << "taking over the pipeline left on " << o.iface
              << (hook->previous_pid() ? " by pid " + std::to_string(hook->previous_pid()) : std::string()) << "\n";

  nnbpf_policy slot_pol{};
  std::string policy_summary;
  if (!art.stage_names.empty()) {
    NNBPF_TRY(sp, slot_policy(art.manifest, o.policy, &policy_summary));
    slot_pol = sp;
  }
  NNBPF_TRY(pipe, load_for_run(art, o, allow, slot_pol));
  hook->inherit_state(*pipe);  // the blocks and the evidence of the pipeline taken over

  // Everything that can fail without side effects, before attaching.
  NNBPF_TRY(block_gen, BlockGen::map(pipe->map_fd(NNBPF_MAP_BLOCK_GEN)));
  NNBPF_TRY(sweep, sweep_for_run(art, o, *pipe));
  EventPrinter printer = event_printer(art, o);
  std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)> rb(
      ring_buffer__new(pipe->map_fd(NNBPF_MAP_EVENTS), print_event, &printer, nullptr), &ring_buffer__free);
  if (!rb) return Error::runtime("cannot open the event ring buffer: " + std::string(std::strerror(errno)));

  // Attach and pin; a failure detaches again: nothing stays half-installed.
  NNBPF_CHECK(hook->attach(*pipe, art, policy_to_json(o.policy).dump(2) + "\n"));
  // Kernel run-time statistics (run_cnt, run_time_ns per program) stay on
  // while this fd is open (nnbpf stats --programs).
  int stats_fd = -1;
  if (o.bpf_stats && (stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0)
    std::cerr << tag << "cannot enable BPF run-time statistics: " << std::strerror(errno) << "\n";
  announce(art, o, hook->pin_dir(), policy_summary);

  install_signal_handlers();
  signal_ready(o.iface, o.ready_fd);  // after the handlers: a SIGINT at once still tears down
  serve(o, rb.get(), sweep.get(), block_gen, pipe->map_fd(NNBPF_MAP_BLOCKED));

  Status st = tear_down(*hook, o, sweep.get(), rb.get(), stats_fd);
  rb.reset();
  if (uint64_t lost = percpu_sum(pipe->map_fd(NNBPF_MAP_STATS), NNBPF_STAT_EVENTS_LOST))
    std::cerr << tag << "warning: " << lost << " events lost (ring buffer full)\n";
  std::cerr << tag << o.iface << ": detached (" << printer.events << " events)\n";
  return st;
}

}  // namespace nnbpf::runtime
