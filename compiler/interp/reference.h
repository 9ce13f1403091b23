// The reference interpreter: exactly the integer semantics of
// docs/semantics.md (what the kernel must compute, bit for bit), and a float
// path that evaluates the ONNX model itself.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf::compiler {

// Step 1 of docs/semantics.md for one raw feature: clamp, subtract the mean,
// scale by 2^b, divide by den (unsigned; den == 0 gives 0), restore the sign.
// Header-inline so the overflow analysis (compiler/passes/overflow.cc)
// evaluates exactly the function the interpreter runs. Wrapping is
// well-defined here; the quantizer guarantees it never happens.
inline int64_t standardize_input(const QuantInput& in, int b, uint64_t raw) {
  const uint64_t xc = raw < in.lo ? in.lo : (raw > in.hi ? in.hi : raw);
  const int64_t d = static_cast<int64_t>((xc << in.q) - static_cast<uint64_t>(in.m));
  const uint64_t a = d < 0 ? uint64_t{0} - static_cast<uint64_t>(d) : static_cast<uint64_t>(d);
  const uint64_t u = in.den == 0 ? 0 : (a << b) / in.den;
  return d < 0 ? static_cast<int64_t>(uint64_t{0} - u) : static_cast<int64_t>(u);
}

// --quant int8 (docs/semantics.md#int8), header-inline for the same reason.
// Wrapping is well-defined (unsigned); the quantizer rules it out.
//   requantize(acc, M, sh) = (acc * M + (1 << (sh - 1))) >> sh   (half up)
//   clamp_int8(v, relu) = min(max(v, relu ? 0 : -127), 127)
inline int64_t requantize(int64_t acc, int32_t mult, int32_t shift) {
  const uint64_t prod = static_cast<uint64_t>(acc) * static_cast<uint64_t>(static_cast<int64_t>(mult));
  return static_cast<int64_t>(prod + (uint64_t{1} << (shift - 1))) >> shift;
}
inline int64_t clamp_int8(int64_t v, bool relu) {
  const int64_t lo = relu ? 0 : -127;
  return v < lo ? lo : (v > 127 ? 127 : v);
}

// Integer engine. raw.size() == model.n_inputs().
Inference run_reference(const QuantModel& model, const std::vector<uint64_t>& raw);
// Float engine (double precision), on the unquantized model.
Inference run_float(const FloatModel& model, const std::vector<double>& raw);
// Formula (5) for 2 logits; logit0 > 0 for one; argmax, lowest index on ties, for more.
int verdict_of(const std::vector<int64_t>& logits);
int verdict_of(const std::vector<double>& logits);

}  // namespace nnbpf::compiler
