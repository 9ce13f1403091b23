#include "runtime/pins.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace nnbpf::runtime {

namespace fs = std::filesystem;

std::string pin_dir(const std::string& iface) { return std::string(kBpffsRoot) + "/nnbpf/" + iface; }
std::string state_dir(const std::string& iface) { return std::string(kStateRoot) + "/" + iface; }

Status ensure_bpffs(std::string* note) {
  struct statfs st;
  if (statfs(kBpffsRoot, &st) == 0 && st.f_type == BPF_FS_MAGIC) return ok_status();
  std::error_code ec;
  fs::create_directories(kBpffsRoot, ec);
  if (mount("bpf", kBpffsRoot, "bpf", 0, "mode=0700") != 0)
    return Error::runtime(std::string("bpffs is not mounted on ") + kBpffsRoot + " and mounting it failed: " +
                          std::strerror(errno));
  if (note) *note = std::string("mounted bpffs on ") + kBpffsRoot;
  return ok_status();
}

Result<int> open_pinned(const std::string& iface, const std::string& name) {
  std::string path = pin_dir(iface) + "/" + name;
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      return Error::runtime("no nnbpf pipeline on " + iface + " (" + path + " does not exist; start one with nnbpf run)");
    return Error::runtime(path + ": " + std::strerror(err));
  }
  return fd;
}

Status unpin_all(const std::string& iface) {
  std::error_code ec;
  std::string dir = pin_dir(iface);
  if (!fs::exists(dir, ec)) return ok_status();
  std::string failed;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (unlink(e.path().c_str()) != 0) failed += " " + e.path().filename().string();
  }
  rmdir(dir.c_str());
  rmdir((std::string(kBpffsRoot) + "/nnbpf").c_str());  // only if no other interface uses it
  if (!failed.empty()) return Error::runtime(dir + ": could not unpin" + failed);
  return ok_status();
}

Result<std::vector<uint8_t>> parse_addr(const std::string& text) {
  std::vector<uint8_t> out(16, 0);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return Error::bad_input("'" + text + "' is not an IPv4 or IPv6 address");
}

std::string format_addr(const uint8_t a[16]) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN];
  if (std::memcmp(a, mapped, 12) == 0) {
    inet_ntop(AF_INET, a + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, a, buf, sizeof buf);
  }
  return buf;
}

uint64_t ktime_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace nnbpf::runtime
