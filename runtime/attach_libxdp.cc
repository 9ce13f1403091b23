#include "runtime/attach_libxdp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "nnbpf_xdp_dispatch.skel.h"  // bpf_rt/progs/xdp_dispatch.bpf.c, built by cmake/bpf_skeleton.cmake

namespace nnbpf::runtime {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEntryPin = "entry";
constexpr const char* kDispatchPin = "dispatch";

std::string xdp_error(int err) {
  char buf[256] = {};
  libxdp_strerror(err, buf, sizeof buf);
  return buf;
}

// libxdp joins a dispatcher; a program attached without one cannot be
// shared (libxdp would answer EBUSY).
Status refuse_single_program(const std::string& iface, unsigned ifindex) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
  if (libxdp_get_error(mp) || !mp) return ok_status();
  bool legacy = xdp_multiprog__is_legacy(mp);
  std::string name = legacy && xdp_multiprog__main_prog(mp) ? xdp_program__name(xdp_multiprog__main_prog(mp)) : "";
  xdp_multiprog__close(mp);
  if (!legacy) return ok_status();
  return Error::runtime("cannot attach to " + iface + " through libxdp: XDP program '" + name +
                        "' is attached without libxdp's dispatcher, so it cannot be shared (on kernels that "
                        "refuse freplace programs libxdp falls back to single programs)");
}

void warn_if_single_program(const std::string& iface, unsigned ifindex) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
  if (libxdp_get_error(mp) || !mp) return;
  if (xdp_multiprog__is_legacy(mp))
    std::cerr << "nnbpf: libxdp's dispatcher is unavailable on this kernel (freplace programs refused): attached "
                 "to " << iface << " as its only XDP program\n";
  xdp_multiprog__close(mp);
}

// The entry program, compiled at build time: its skeleton opens it, libxdp
// loads it into a dispatcher slot of the interface. Returns the loaded
// program's fd, kept so that detaching finds it by id.
Result<int> attach_entry_program(const std::string& iface, unsigned ifindex, const std::string& mode,
                                 unsigned priority, int entry_fd) {
  struct Skeleton {
    nnbpf_xdp_dispatch* s = nnbpf_xdp_dispatch__open();
    ~Skeleton() { nnbpf_xdp_dispatch__destroy(s); }
  } skel;
  if (!skel.s) return Error::runtime(std::string("libxdp entry program: cannot open: ") + std::strerror(errno));
  if (bpf_map__reuse_fd(skel.s->maps.nnbpf_entry, entry_fd))
    return Error::runtime(std::string("libxdp entry program: cannot use nnbpf_entry: ") + std::strerror(errno));
  xdp_program* prog = xdp_program__from_bpf_obj(skel.s->obj, "xdp");
  int err = libxdp_get_error(prog);
  if (err) return Error::runtime("libxdp: cannot use the entry program: " + xdp_error(err));
  xdp_program__set_run_prio(prog, priority);
  auto try_attach = [&](xdp_attach_mode m) { return xdp_program__attach(prog, static_cast<int>(ifindex), m, 0); };
  if (mode == "native") err = try_attach(XDP_MODE_NATIVE);
  else if (mode == "generic") err = try_attach(XDP_MODE_SKB);
  else if ((err = try_attach(XDP_MODE_NATIVE)) != 0) err = try_attach(XDP_MODE_SKB);
  if (err) {
    std::string why = xdp_error(err);
    xdp_program__close(prog);
    return Error::runtime("cannot attach to " + iface + " through libxdp (" + mode + " mode): " + why);
  }
  warn_if_single_program(iface, ifindex);
  int fd = fcntl(xdp_program__fd(prog), F_DUPFD_CLOEXEC, 3);
  xdp_program__close(prog);  // the skeleton's object outlives it
  if (fd < 0) return Error::runtime(std::string("dup: ") + std::strerror(errno));
  return fd;
}

}  // namespace

bool LibxdpHook::left_behind(const std::string& pin_dir) {
  std::error_code ec;
  return fs::exists(pin_dir + "/" + kEntryPin, ec) && fs::exists(pin_dir + "/" + kDispatchPin, ec);
}

Result<std::unique_ptr<LibxdpHook>> LibxdpHook::attach(const std::string& iface, unsigned ifindex,
                                                       const std::string& mode, unsigned priority, int xdp_fd,
                                                       const std::string& pin_dir) {
  std::unique_ptr<LibxdpHook> h(new LibxdpHook());
  h->ifindex_ = ifindex;
  uint32_t zero = 0;
  const uint32_t value = static_cast<uint32_t>(xdp_fd);

  // Take over: our nnbpf_xdp into the surviving entry slot.
  if (left_behind(pin_dir)) {
    h->entry_fd_ = bpf_obj_get((pin_dir + "/" + kEntryPin).c_str());
    h->dispatch_fd_ = bpf_obj_get((pin_dir + "/" + kDispatchPin).c_str());
    if (h->entry_fd_ >= 0 && h->dispatch_fd_ >= 0 && bpf_map_update_elem(h->entry_fd_, &zero, &value, BPF_ANY) == 0) {
      h->took_over_ = true;
      return h;
    }
    return Error::runtime("cannot take over the libxdp attachment left on " + iface + " (" + pin_dir +
                          "): " + std::strerror(errno));
  }
  NNBPF_CHECK(refuse_single_program(iface, ifindex));

  // The entry program array, filled before the entry program exists.
  LIBBPF_OPTS(bpf_map_create_opts, mopts);
  h->entry_fd_ = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "nnbpf_entry", 4, 4, 1, &mopts);
  if (h->entry_fd_ < 0) return Error::runtime(std::string("nnbpf_entry: cannot create: ") + std::strerror(errno));
  if (bpf_map_update_elem(h->entry_fd_, &zero, &value, BPF_ANY))
    return Error::runtime(std::string("nnbpf_entry: cannot insert nnbpf_xdp: ") + std::strerror(errno));
  NNBPF_TRY(dispatch_fd, attach_entry_program(iface, ifindex, mode, priority, h->entry_fd_));
  h->dispatch_fd_ = dispatch_fd;
  return h;
}

Status LibxdpHook::pin(const std::string& pin_dir) const {
  for (auto [fd, name] : {std::pair{entry_fd_, kEntryPin}, std::pair{dispatch_fd_, kDispatchPin}})
    if (bpf_obj_pin(fd, (pin_dir + "/" + name).c_str()))
      return Error::runtime(pin_dir + "/" + name + ": cannot pin: " + std::strerror(errno));
  return ok_status();
}

LibxdpHook::~LibxdpHook() {
  if (dispatch_fd_ >= 0) {
    int dup = fcntl(dispatch_fd_, F_DUPFD_CLOEXEC, 3);
    xdp_program* p = dup >= 0 ? xdp_program__from_fd(dup) : nullptr;
    if (p && !libxdp_get_error(p)) {
      xdp_program__detach(p, static_cast<int>(ifindex_), XDP_MODE_UNSPEC, 0);
      xdp_program__close(p);
    }
    close(dispatch_fd_);
  }
  if (entry_fd_ >= 0) close(entry_fd_);
}

}  // namespace nnbpf::runtime
