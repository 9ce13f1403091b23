// In-process compilation of emitted BPF C to an ELF object with BTF, using the
// Clang/LLVM libraries (no clang binary, no source tree at run time: bpf_rt/
// sources are embedded, system headers come from linux-libc-dev/libbpf-dev).
#pragma once

#include <string>

#include "compiler/codegen/bpf_isa.h"
#include "compiler/support/result.h"

namespace nnbpf::compiler {

struct ClangOutput {
  std::string object;       // ELF bytes
  std::string diagnostics;  // warnings, if any
};

// mcpu: "v3" or "v4". The embedded bpf_rt files are visible under their
// embedded paths ("nnbpf/abi.h", "progs/pipeline.bpf.c").
Result<ClangOutput> compile_bpf_c(const std::string& source, const std::string& mcpu);

}  // namespace nnbpf::compiler
