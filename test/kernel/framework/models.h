// The models the XDP fixtures load: compiled once per test process into a
// temporary directory (removed at exit), plus model edits that force a
// verdict whatever the features say.
#pragma once

#include <string>

#include "compiler/driver/pipeline.h"

namespace nnbpf::testing {

// The compiled artifact of an ONNX model (or of kCapturePipeline).
// Throws std::runtime_error naming the step that failed.
const compiler::Artifact& compiled(const std::string& onnx);

// The model-less pipeline of nnbpf capture, as a name for compiled().
inline constexpr const char* kCapturePipeline = "(capture pipeline)";
std::string top6_model();    // test/fixtures: MLP 6-32-32-2
std::string repro_model();   // examples/models/nnbpf-repro-top6.onnx
std::string feat24_model();  // test/fixtures: all 24 catalog features

// A copy of the model whose last layer ignores its input and says
// "intrusion" (logit1 > logit0) for everything...
compiler::QuantModel always_intrusion(const compiler::QuantModel& m);
// ... and one that says "benign" for everything.
compiler::QuantModel always_benign(const compiler::QuantModel& m);

}  // namespace nnbpf::testing
