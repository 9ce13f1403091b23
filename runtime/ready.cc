#include "runtime/ready.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "runtime/util.h"

namespace nnbpf::runtime {

namespace {

// SIGPIPE is ignored meanwhile: a reader that gave up must not kill the
// daemon.
bool write_all(int fd, const std::string& s) {
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  struct Restore {
    const struct sigaction* old;
    ~Restore() { sigaction(SIGPIPE, old, nullptr); }
  } restore{&old};
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// sd_notify(3)'s protocol: one datagram on the AF_UNIX socket named by
// $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name.
// Returns an empty string or what went wrong.
std::string notify_systemd(const std::string& state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (!env || !*env) return "";
  std::string name = env;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((name[0] != '/' && name[0] != '@') || name.size() >= sizeof addr.sun_path)
    return "NOTIFY_SOCKET '" + name + "' is not a socket path or an abstract '@' name";
  std::memcpy(addr.sun_path, name.data(), name.size());
  if (name[0] == '@') addr.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  Fd sock(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.fd < 0) return std::string("socket: ") + std::strerror(errno);
  if (sendto(sock.fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len) < 0)
    return "NOTIFY_SOCKET " + name + ": " + std::strerror(errno);
  return "";
}

}  // namespace

Status check_ready_fd(int fd) {
  if (fd < 0) return ok_status();
  int mode = fcntl(fd, F_GETFL);
  if (mode < 0) return Error::bad_input("--ready-fd " + std::to_string(fd) + ": not an open file descriptor");
  if ((mode & O_ACCMODE) == O_RDONLY)
    return Error::bad_input("--ready-fd " + std::to_string(fd) + ": open for reading only");
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return ok_status();
}

void signal_ready(const std::string& iface, int ready_fd) {
  if (ready_fd >= 0) {
    if (!write_all(ready_fd, "ready " + iface + "\n"))
      std::cerr << "nnbpf: --ready-fd " << ready_fd << ": cannot write the ready line: " << std::strerror(errno)
                << "\n";
    close(ready_fd);
  }
  if (auto err = notify_systemd("READY=1\nSTATUS=attached to " + iface + "\n"); !err.empty())
    std::cerr << "nnbpf: cannot notify systemd: " << err << "\n";
}

}  // namespace nnbpf::runtime
