// Pieces of the int32 quantizer (quantize.cc) that the int8 quantizer
// (quantize_int8.cc) shares: model validation, input ranges and the integer
// standardization parameters of step 1. Internal to compiler/passes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/ir/model.h"
#include "compiler/passes/quantize.h"

namespace nnbpf::compiler::quant_detail {

struct RawRange {
  uint64_t lo = 0;
  uint64_t hi = 0;
};

std::string fmt(double v);
std::string feature_label(const FloatModel& model, size_t j);
std::string layer_label(const FloatModel& model, size_t k);
// Shapes, NaN/Inf, catalog names, options (everything independent of b).
Status validate(const FloatModel& model, const QuantOptions& opts);
// --calibration, else nnbpf.input_ranges, else the catalog; rounded outward.
Result<std::vector<RawRange>> input_ranges(const FloatModel& model, const QuantOptions& opts);
// Step 1 parameters {lo, hi, q, m, den} of input j at scale b.
Result<QuantInput> quantize_input(const FloatModel& model, size_t j, RawRange r, int b);

}  // namespace nnbpf::compiler::quant_detail
