#include "compiler/codegen/bpf_isa.h"

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace nnbpf::compiler {
namespace {

// r0 = 0; <insn under test>; exit. Loaded as a socket filter (the cheapest
// type to verify). Returns 0 when loaded, else errno.
int try_load(const bpf_insn& probe) {
  bpf_insn prog[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      probe,
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  char license[] = "GPL";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = reinterpret_cast<__u64>(prog);
  attr.insn_cnt = sizeof(prog) / sizeof(prog[0]);
  attr.license = reinterpret_cast<__u64>(license);
  long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
  if (fd < 0) return errno;
  close(static_cast<int>(fd));
  return 0;
}

std::string from_version() {
  struct utsname u;
  int major = 0, minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return "v3";
  return (major > 6 || (major == 6 && minor >= 6)) ? "v4" : "v3";
}

}  // namespace

BpfIsa probe_bpf_isa() {
  // v4: r0 = (s8)r0, a MOV with a non-zero offset (reserved before 6.6).
  const bpf_insn movsx = {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_0, 8, 0};
  // v3: if w0 == 0 goto +0, a 32-bit jump (Linux 5.1).
  const bpf_insn jmp32 = {BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, 0};
  int err = try_load(movsx);
  if (err == 0) return {"v4", true};
  if (err == EPERM || err == EACCES) return {from_version(), false};
  return {try_load(jmp32) == 0 ? "v3" : "v2", true};
}

const std::string& detect_bpf_cpu() {
  static const std::string cpu = probe_bpf_isa().cpu;
  return cpu;
}

}  // namespace nnbpf::compiler
