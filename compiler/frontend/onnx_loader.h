// ONNX protobuf -> FloatModel. The only code that includes onnx.pb.h lives in
// compiler/frontend/. Accepts an MLP the ways PyTorch, sklearn-onnx and
// hand-built graphs write it (docs/compile.md lists the op set).
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf::compiler {

struct FrontendOptions {
  // --features a,b,...: overrides metadata nnbpf.features when non-empty.
  std::vector<std::string> features;
};

// Errors are one line, prefixed with the file name and, where it applies,
// "node 'NAME' (OP): ".
Result<FloatModel> load_onnx_file(const std::string& path, const FrontendOptions& opts);
Result<FloatModel> load_onnx_bytes(const std::string& bytes, const std::string& name,
                                   const FrontendOptions& opts);

}  // namespace nnbpf::compiler
