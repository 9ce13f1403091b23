// Interval analysis of the integer semantics (docs/semantics.md#overflow):
// bounds every value run_reference can compute over the clamped input box
// [lo, hi] of each feature, in exact integer arithmetic.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf::compiler {

// Checks a QuantModel (b, inputs and layers filled in) for overflow:
//   step 1: hi << q and |(xc << q) - m| << b stay below 2^63, |x1| < 2^31;
//   step 2: per neuron sum_j max(|w*l_j|, |w*h_j|) < 2^63 and |y| < 2^31
//           (y before ReLU).
// On success returns the bounds; on failure a one-line error naming the first
// input or layer/neuron that overflows and its range. layer_names (optional,
// parallel to layers) are ONNX node names for the messages.
Result<OverflowReport> check_overflow(const QuantModel& model,
                                      const std::vector<std::string>& layer_names = {});

}  // namespace nnbpf::compiler
