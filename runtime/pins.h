// Where a running pipeline lives: pinned BPF objects under
// /sys/fs/bpf/nnbpf/IFACE/ (maps by name, programs, the XDP link) and a state
// directory /run/nnbpf/IFACE/ (daemon pid, the running model's manifest).
#pragma once

#include <string>
#include <vector>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

inline constexpr const char* kBpffsRoot = "/sys/fs/bpf";
inline constexpr const char* kStateRoot = "/run/nnbpf";

std::string pin_dir(const std::string& iface);    // /sys/fs/bpf/nnbpf/IFACE
std::string state_dir(const std::string& iface);  // /run/nnbpf/IFACE

// Mounts bpffs on /sys/fs/bpf if it is not mounted; `note` receives a line
// saying so when it did.
Status ensure_bpffs(std::string* note);

// Opens a pinned object of the running pipeline on `iface` ("nnbpf_blocked",
// "link", ...). Errors say that no pipeline runs on the interface.
Result<int> open_pinned(const std::string& iface, const std::string& name);

// Removes every pin of `iface` and the directory (best effort, reports what
// it could not remove).
Status unpin_all(const std::string& iface);

// Parses an IPv4 or IPv6 address into the 16-byte nnbpf_addr form (IPv4 as
// ::ffff:a.b.c.d) and back.
Result<std::vector<uint8_t>> parse_addr(const std::string& text);
std::string format_addr(const uint8_t a[16]);

// Monotonic clock as bpf_ktime_get_ns() sees it.
uint64_t ktime_now_ns();

}  // namespace nnbpf::runtime
