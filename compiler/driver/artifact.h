// A compiled artifact read back from its directory (DIR/model.bpf.o,
// DIR/manifest.json, DIR/source.onnx): what check, infer, run, update and
// bench start from. Reading needs no compiler: this file and params_layout.cc
// form the library nnbpf_artifact (libelf, no LLVM), which the runtime links
// (docs/architecture.md#what-links-what).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/driver/manifest.h"
#include "compiler/ir/model.h"
#include "compiler/support/result.h"

namespace nnbpf::compiler {

struct Artifact {
  std::string dir;
  std::string object_path;
  Manifest manifest;
  QuantModel model;            // full integer model, from the object's initial slot
  std::vector<uint8_t> initial_params;
  std::vector<std::string> stage_names;
  std::string mcpu;
  std::string source_onnx;     // DIR/source.onnx
};

Result<Artifact> load_artifact(const std::string& dir);

// A whole file's bytes; the error names the path.
Result<std::string> read_file(const std::string& path);

}  // namespace nnbpf::compiler
