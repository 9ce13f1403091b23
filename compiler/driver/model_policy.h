// What a model may judge and what counts as evidence of an intrusion, read
// from its ONNX metadata (nnbpf.protocols, nnbpf.classes, nnbpf.min_margin)
// or set on the command line, and carried into the manifest for nnbpf run
// (docs/compile.md, docs/run.md "Blocking policy").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/model.h"
#include "compiler/support/result.h"

namespace nnbpf::compiler {

struct ModelPolicy {
  // Protocols the model judges ("tcp", "udp", sorted tcp first); nullopt =
  // every protocol (a model without nnbpf.protocols).
  std::optional<std::vector<std::string>> protocols;
  std::string protocols_source;  // "metadata nnbpf.protocols", "--protocols", "" (none)
  std::vector<std::string> classes;  // one name per output; the first is benign
  std::string classes_source;        // "metadata nnbpf.classes" or "default"
  std::optional<double> min_margin;  // float units, logit[1] - logit[0]
};

// "tcp", "udp,tcp", ... -> {"tcp", "udp"}; `where` names the source in errors.
Result<std::vector<std::string>> parse_protocols(const std::string& text, const std::string& where);

// The policy of a model with `n_outputs` outputs: metadata, then the
// --protocols override (when given).
Result<ModelPolicy> read_model_policy(const FloatModel& fm, int n_outputs,
                                      const std::optional<std::string>& protocols_override);

}  // namespace nnbpf::compiler
