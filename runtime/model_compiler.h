// What the runtime asks of the compiler, passed in by its caller. The runtime
// links no compiler (no clang/LLVM, docs/architecture.md#what-links-what), yet
// `nnbpf run model.onnx`, --watch-model and `nnbpf capture` start from a
// model that is not compiled yet: the CLI binds these to compiler/driver
// (model_compiler() in cli/cmd_runtime.cc).
#pragma once

#include <functional>
#include <string>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

struct ModelCompiler {
  // Writes nnbpf compile's artifact of the ONNX model `onnx` (default
  // options) into the directory `dir`.
  std::function<Status(const std::string& onnx, const std::string& dir)> onnx;
  // Writes the capture pipeline's artifact (every catalog feature, no
  // stages) into `dir`.
  std::function<Status(const std::string& dir)> capture;
};

}  // namespace nnbpf::runtime
