#include "runtime/hook.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "nnbpf/abi.h"
#include "nnbpf/sweep.h"
#include "runtime/daemon.h"
#include "runtime/evidence.h"
#include "runtime/map_iter.h"
#include "runtime/pins.h"

namespace nnbpf::runtime {

namespace fs = std::filesystem;

namespace {

// Every map a running pipeline shares with nnbpf hosts/stats/update/metrics.
const char* kMapsToPin[] = {NNBPF_MAP_PROGS,  NNBPF_MAP_PARAMS, NNBPF_MAP_PARAM_IDX, NNBPF_MAP_SCRATCH,
                            NNBPF_MAP_ERRORS, NNBPF_MAP_FLOWS,  NNBPF_MAP_BLOCKED,   NNBPF_MAP_ALLOW,
                            NNBPF_MAP_EVENTS, NNBPF_MAP_STATS,  NNBPF_MAP_CLOSED,    NNBPF_MAP_POLICY,
                            NNBPF_MAP_EVIDENCE, NNBPF_MAP_BLOCK_GEN};

bool pid_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

Status write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Error::runtime(path + ": cannot write");
  out << data;
  return ok_status();
}

}  // namespace

Hook::Hook(const RunOptions& o, unsigned ifindex)
    : o_(o), ifindex_(ifindex), sdir_(state_dir(o.iface)), pdir_(runtime::pin_dir(o.iface)) {}

Hook::~Hook() {
  if (old_link_ >= 0 && old_link_ != link_fd_) close(old_link_);
  if (link_fd_ >= 0) close(link_fd_);
}

Result<std::unique_ptr<Hook>> Hook::claim(const RunOptions& o, unsigned ifindex) {
  std::unique_ptr<Hook> h(new Hook(o, ifindex));
  std::error_code ec;
  fs::create_directories(h->sdir_, ec);
  if (ec) return Error::runtime(h->sdir_ + ": " + ec.message());
  {
    std::ifstream in(h->sdir_ + "/pid");
    in >> h->old_pid_;
  }
  if (h->old_pid_ && h->old_pid_ != getpid() && pid_alive(h->old_pid_))
    return Error::runtime("nnbpf is already running on " + o.iface + " (pid " + std::to_string(h->old_pid_) +
                          "); stop it first or use nnbpf update to change the model");
  const std::string link_pin = h->pdir_ + "/link";
  if (!o.take_over && fs::exists(link_pin, ec))
    return Error::runtime("a pipeline is attached to " + o.iface + " (pins in " + h->pdir_ + "); nnbpf " + o.who +
                          " does not replace it: stop it or run nnbpf capture on another interface");
  if (fs::exists(link_pin, ec)) h->old_link_ = bpf_obj_get(link_pin.c_str());
  h->taking_over_ = h->old_link_ >= 0 || (o.attach == "libxdp" && LibxdpHook::left_behind(h->pdir_));
  return h;
}

void Hook::inherit_state(const LoadedPipeline& pipe) const {
  if (!taking_over_) return;
  if (int old_ev = bpf_obj_get((pdir_ + "/" NNBPF_MAP_EVIDENCE).c_str()); old_ev >= 0) {
    copy_evidence(old_ev, pipe.map_fd(NNBPF_MAP_EVIDENCE));
    close(old_ev);
  }
  if (int old_blocked = bpf_obj_get((pdir_ + "/" NNBPF_MAP_BLOCKED).c_str()); old_blocked >= 0) {
    const int blocked = pipe.map_fd(NNBPF_MAP_BLOCKED);
    for_each_entry<nnbpf_addr, nnbpf_block>(old_blocked, NNBPF_MAX_BLOCKED, [&](const nnbpf_addr& k, const nnbpf_block& v) {
      bpf_map_update_elem(blocked, &k, &v, BPF_ANY);
    });
    close(old_blocked);
  }
}

// Swap the program inside the surviving link (no unprotected gap), attach
// through libxdp, or create a new link.
Status Hook::link(int xdp_fd) {
  if (o_.attach == "libxdp") {
    NNBPF_TRY(h, LibxdpHook::attach(o_.iface, ifindex_, o_.mode, o_.xdp_priority, xdp_fd, pdir_));
    libxdp_ = std::move(h);
    return ok_status();
  }
  if (old_link_ >= 0 && bpf_link_update(old_link_, xdp_fd, nullptr) == 0) {
    link_fd_ = old_link_;
    return ok_status();
  }
  auto create = [&](uint32_t flags) {
    LIBBPF_OPTS(bpf_link_create_opts, lopts);
    lopts.flags = flags;
    return bpf_link_create(xdp_fd, static_cast<int>(ifindex_), BPF_XDP, &lopts);
  };
  if (o_.mode == "auto") {
    link_fd_ = create(XDP_FLAGS_DRV_MODE);
    if (link_fd_ < 0) link_fd_ = create(XDP_FLAGS_SKB_MODE);
  } else {
    link_fd_ = create(o_.mode == "native" ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
  }
  if (link_fd_ >= 0) return ok_status();
  const int err = errno;
  std::string why = std::strerror(err);
  if (err == EBUSY || err == EEXIST) why = "another XDP program is attached to " + o_.iface;
  return Error::runtime("cannot attach to " + o_.iface + " (" + o_.mode + " mode): " + why);
}

// Pins (replacing a taken-over pipeline's) and the state files.
Status Hook::pin_and_record(const LoadedPipeline& pipe, const compiler::Artifact& art, const std::string& policy_json) {
  NNBPF_CHECK(unpin_all(o_.iface));
  std::error_code ec;
  fs::create_directories(pdir_, ec);
  for (const char* name : kMapsToPin) {
    bpf_map* m = bpf_object__find_map_by_name(pipe.object(), name);
    if (m && bpf_map__pin(m, (pdir_ + "/" + name).c_str()))
      return Error::runtime(pdir_ + "/" + name + ": cannot pin: " + std::strerror(errno));
  }
  for (const char* prog : {NNBPF_PROG_XDP_NAME, NNBPF_PROG_SWEEP_NAME, NNBPF_PROG_SWEEP_SCAN_NAME}) {
    int fd = pipe.prog_fd(prog);
    if (fd >= 0 && bpf_obj_pin(fd, (pdir_ + "/" + prog).c_str()))
      return Error::runtime(pdir_ + "/" + prog + ": cannot pin: " + std::strerror(errno));
  }
  if (libxdp_) {
    NNBPF_CHECK(libxdp_->pin(pdir_));
  } else if (bpf_obj_pin(link_fd_, (pdir_ + "/link").c_str())) {
    return Error::runtime(pdir_ + "/link: cannot pin: " + std::strerror(errno));
  }
  NNBPF_CHECK(write_file(sdir_ + "/manifest.json", compiler::manifest_text(art.manifest)));
  NNBPF_CHECK(write_file(sdir_ + "/policy.json", policy_json));
  NNBPF_CHECK(write_file(sdir_ + "/pid", std::to_string(getpid()) + "\n"));
  return ok_status();
}

Status Hook::attach(const LoadedPipeline& pipe, const compiler::Artifact& art, const std::string& policy_json) {
  const int xdp_fd = pipe.prog_fd(NNBPF_PROG_XDP_NAME);
  if (xdp_fd < 0) return Error::bad_input(art.dir + ": object has no " NNBPF_PROG_XDP_NAME " program");
  NNBPF_CHECK(link(xdp_fd));
  if (old_link_ >= 0 && old_link_ != link_fd_) {  // replaced, not reused
    close(old_link_);
    old_link_ = -1;
  }
  if (auto p = pin_and_record(pipe, art, policy_json); !p) {
    (void)unpin_all(o_.iface);
    release();
    return p.error().with_context("detached again: ");
  }
  return ok_status();
}

void Hook::release() {
  if (link_fd_ >= 0) close(link_fd_);
  if (old_link_ == link_fd_) old_link_ = -1;
  link_fd_ = -1;
  libxdp_.reset();
  std::error_code ec;
  fs::remove(sdir_ + "/pid", ec);
  fs::remove(sdir_ + "/manifest.json", ec);
  fs::remove(sdir_ + "/policy.json", ec);
}

Status Hook::detach() {
  Status st = unpin_all(o_.iface);
  release();
  std::error_code ec;
  fs::remove(sdir_, ec);
  fs::remove(kStateRoot, ec);  // only if empty
  return st;
}

}  // namespace nnbpf::runtime
