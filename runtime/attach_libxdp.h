// nnbpf run --attach libxdp: share the interface with other XDP programs
// (xdp-filter, ...) through libxdp's multi-program dispatcher instead of
// owning it with a bpf_link. The dispatcher runs the programs by priority
// (--xdp-priority, lower first; libxdp's default is 50); nnbpf's slot holds
// the small entry program bpf_rt/progs/xdp_dispatch.bpf.c, which tail-calls
// the pipeline's nnbpf_xdp through a pinned one-entry program array.
//
// Pins in /sys/fs/bpf/nnbpf/IFACE/: "entry" (the program array) and
// "dispatch" (the entry program); libxdp pins the dispatcher itself under
// /sys/fs/bpf/xdp/. A daemon that finds "entry" takes over by writing its
// nnbpf_xdp into it (atomic, no gap); detaching removes only nnbpf's slot.
#pragma once

#include <memory>
#include <string>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

class LibxdpHook {
 public:
  // True if a pipeline attached through libxdp left its pins in pin_dir.
  static bool left_behind(const std::string& pin_dir);
  // Attaches (or takes over) `xdp_fd` on the interface. mode: native,
  // generic or auto.
  static Result<std::unique_ptr<LibxdpHook>> attach(const std::string& iface, unsigned ifindex,
                                                    const std::string& mode, unsigned priority, int xdp_fd,
                                                    const std::string& pin_dir);
  // Pins "entry" and "dispatch" into pin_dir.
  Status pin(const std::string& pin_dir) const;
  // Removes nnbpf's program from the dispatcher (other programs stay).
  ~LibxdpHook();
  LibxdpHook(const LibxdpHook&) = delete;
  LibxdpHook& operator=(const LibxdpHook&) = delete;

  bool took_over() const { return took_over_; }

 private:
  LibxdpHook() = default;
  unsigned ifindex_ = 0;
  int entry_fd_ = -1;     // the program array
  int dispatch_fd_ = -1;  // the entry program, as loaded into the dispatcher
  bool took_over_ = false;
};

}  // namespace nnbpf::runtime
