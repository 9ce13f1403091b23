// runtime/ready.h: the ready line on --ready-fd and READY=1 on NOTIFY_SOCKET
// (path and abstract names), and the refusal of a bad --ready-fd.
#include "runtime/ready.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nnbpf::runtime {
namespace {

std::string read_all(int fd) {
  std::string s;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

// A datagram socket bound to `name` (a path, or '@' + an abstract name).
int bind_notify(const std::string& name) {
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, name.data(), name.size());
  if (name[0] == '@') a.sun_path[0] = '\0';
  EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())), 0)
      << std::strerror(errno);
  return s;
}

std::string recv_one(int s) {
  char buf[256];
  ssize_t n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST(Ready, LineOnFdThenClosed) {
  unsetenv("NOTIFY_SOCKET");
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_TRUE(check_ready_fd(p[1]));
  EXPECT_EQ(fcntl(p[1], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  signal_ready("veth0", p[1]);
  EXPECT_EQ(fcntl(p[1], F_GETFD), -1);  // closed: the reader sees EOF
  EXPECT_EQ(read_all(p[0]), "ready veth0\n");
  close(p[0]);
}

TEST(Ready, ReaderGoneDoesNotKill) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  close(p[0]);
  signal_ready("veth0", p[1]);  // EPIPE reported, no SIGPIPE
  SUCCEED();
}

TEST(Ready, NotifySocketPathAndAbstract) {
  std::string path = "/tmp/nnbpf-ready-test." + std::to_string(getpid());
  std::string abstract = "@nnbpf-ready-test." + std::to_string(getpid());
  for (const std::string& name : {path, abstract}) {
    int s = bind_notify(name);
    setenv("NOTIFY_SOCKET", name.c_str(), 1);
    signal_ready("eth1", -1);
    EXPECT_EQ(recv_one(s), "READY=1\nSTATUS=attached to eth1\n") << name;
    close(s);
  }
  unlink(path.c_str());
  unsetenv("NOTIFY_SOCKET");
}

TEST(Ready, BadFdRefused) {
  auto closed = check_ready_fd(1000);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().message, "--ready-fd 1000: not an open file descriptor");
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto ro = check_ready_fd(fd);
  ASSERT_FALSE(ro);
  EXPECT_EQ(ro.error().message, "--ready-fd " + std::to_string(fd) + ": open for reading only");
  close(fd);
  EXPECT_TRUE(check_ready_fd(-1));  // not given
}

}  // namespace
}  // namespace nnbpf::runtime
