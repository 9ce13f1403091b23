// FloatModel -> QuantModel: the enlargement method (paper §IV-B), the ECDF
// choice of s = 2^b (formulas 7-8), integer standardization (formula 1) and
// the interval analysis that rules out int32/int64 overflow.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf::compiler {

struct QuantOptions {
  QuantMode mode = QuantMode::Int32;  // --quant int32|int8
  std::optional<int> scale_bits;  // --scale-bits B: use this b (still refused if it overflows)
  double alpha = 0.005;           // --alpha A
  // --calibration CSV: per-input [min,max] of raw values; overrides the model's
  // nnbpf.input_ranges, which overrides the catalog bounds.
  std::optional<std::vector<InputRange>> calibration_ranges;
  // --calibration CSV rows (raw values, one vector per row): also used for
  // formula (9), the ECDF of each standardized input.
  std::vector<std::vector<uint64_t>> calibration_samples;
  // --clamp widest (default): once b is fixed, each input's clamping range is
  // widened toward the catalog's bounds as far as the overflow analysis still
  // holds without changing b or the input's q, so the kernel clamps only where
  // int32 would otherwise overflow. --clamp given: clamp at the given ranges.
  bool widen_clamp = true;
  // --overflow-margin-bits M: precision first, b is the largest value the
  // overflow analysis proves safe less M bits (never below the ECDF's b when
  // that fits). The margin leaves the widened clamping ranges room beyond the
  // given input ranges.
  int margin_bits = 1;
};

// Share of nonzero parameters (weights and biases of all layers) with |p|*2^b < 1.
double ecdf_share(const FloatModel& model, int b);
// Smallest b in [0, 30] with ecdf_share(b) <= alpha (30 if none).
int choose_scale_bits(const FloatModel& model, double alpha);

// Formula (9): for input j, the share of samples whose standardized value
// z = (x - mean) * mul is nonzero but |z| * 2^b < 1 (it would quantize to 0).
double input_ecdf_share(const FloatModel& model, const std::vector<std::vector<uint64_t>>& samples, int j, int b);
// Smallest b in [0, 30] with input_ecdf_share <= alpha for every input.
int choose_input_scale_bits(const FloatModel& model, const std::vector<std::vector<uint64_t>>& samples,
                            double alpha);

// Dispatches on the model's kind (trees: quantize_tree.cc), then for an MLP
// on opts.mode: int32 (below) or int8 (quantize_int8.cc).
Result<QuantModel> quantize(const FloatModel& model, const QuantOptions& opts);
// --quant int8 (docs/semantics.md#int8).
Result<QuantModel> quantize_int8(const FloatModel& model, const QuantOptions& opts);

// The integer form M / 2^sh of a requantization factor r > 0 with a
// multiplier of mult_bits bits (docs/semantics.md#int8): r = m * 2^e with m in
// [0.5, 1), M = round(m * 2^mult_bits) (2^mult_bits becomes 2^(mult_bits-1)
// with e + 1), sh = mult_bits - e; when sh > 62, sh = 62 and M = round(r * 2^62)
// (possibly 0). Refused when sh < 1 or r is not a positive finite number.
struct Requant {
  int32_t mult = 0;
  int32_t shift = 1;
};
Result<Requant> requant_multiplier(double r, int mult_bits = 31);

}  // namespace nnbpf::compiler
