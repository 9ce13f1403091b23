// Which BPF ISA (clang's -mcpu for the bpf target) the running kernel accepts,
// found by asking the kernel: a three-instruction program using one
// instruction of the version is loaded and released.
#pragma once

#include <string>

namespace nnbpf::compiler {

struct BpfIsa {
  std::string cpu;  // "v4", "v3" or "v2"
  bool probed;      // false: the kernel refused the probe itself (no CAP_BPF); cpu is from the version
};

// v4 when the kernel verifies a sign-extending move (Linux >= 6.6), v3 when
// it verifies a 32-bit jump, else v2. Without the privilege to load a
// program, falls back to the kernel version (v4 from 6.6 on, else v3).
BpfIsa probe_bpf_isa();

// probe_bpf_isa().cpu, computed once per process.
const std::string& detect_bpf_cpu();

}  // namespace nnbpf::compiler
