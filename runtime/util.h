// Small helpers shared by the runtime's commands (control, evidence, metrics).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace nnbpf::runtime {

// Owns a file descriptor (a pinned map, program or link) and closes it when
// it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// Lower-case hex of n bytes (model digests).
inline std::string hex(const uint8_t* d, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[d[i] >> 4];
    s += digits[d[i] & 15];
  }
  return s;
}

}  // namespace nnbpf::runtime
