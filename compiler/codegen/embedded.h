// BPF runtime sources (bpf_rt/) embedded into the binary at build time, so
// the installed nnbpf needs no source tree to compile a model.
#pragma once

#include <string>
#include <vector>

namespace nnbpf::compiler {

struct EmbeddedFile {
  std::string path;      // "nnbpf/abi.h", "progs/entry.bpf.c", ...
  std::string contents;
};

const std::vector<EmbeddedFile>& embedded_files();

}  // namespace nnbpf::compiler
