// Readiness of nnbpf run and nnbpf capture, signalled by the daemon itself
// once the pipeline is attached and its maps pinned (never inferred from its
// log): a line on a file descriptor the caller passed (--ready-fd N, used by
// tools/harness.bash) and, under systemd (Type=notify), READY=1 on
// $NOTIFY_SOCKET (the sd_notify datagram protocol, without libsystemd).
#pragma once

#include <string>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

// Checks that fd is an open descriptor the daemon may write its ready line
// to, and keeps it out of any program the daemon starts (close-on-exec).
// Called before anything is loaded, so a wrong --ready-fd changes nothing.
Status check_ready_fd(int fd);

// Writes "ready IFACE\n" to ready_fd (if >= 0) and closes it; sends
// "READY=1" to $NOTIFY_SOCKET if set. A failure is reported on stderr but
// does not stop the daemon: it is serving either way.
void signal_ready(const std::string& iface, int ready_fd);

}  // namespace nnbpf::runtime
