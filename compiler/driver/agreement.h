// The agreement gate of nnbpf compile (docs/compile.md#agreement): the float
// model (run_float) and the integer reference (run_reference, what the kernel
// computes bit for bit) judge the same rows; the share of equal verdicts must
// reach --min-agreement, or compile fails (a warning with
// --allow-disagreement).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf::compiler {

struct Agreement {
  std::string source;        // "calibration CSV F", "model metadata nnbpf.calibration", "sampled input ranges"
  bool sampled = false;      // rows sampled from the input ranges, not data
  size_t rows = 0;           // rows evaluated
  size_t rows_available = 0; // rows given (the first kMaxAgreementRows... are evenly strided)
  size_t sampled_uniform = 0;   // sampled: rows drawn uniformly / log-uniformly in the ranges
  size_t sampled_boundary = 0;  // sampled: rows at first-layer units' activation boundaries
  size_t agree = 0;          // rows with equal verdicts
  double agreement = 1;      // agree / rows (1 with no rows)
  double max_logit_error = 0;   // max |integer logit * logit_scale - float logit|, float units
  std::optional<double> min_flipped_margin;  // smallest float margin among flipped rows
  std::optional<double> max_flipped_margin;  // largest float margin among flipped rows
  double logit_scale = 1;    // real value of one unit of the integer logits
  double min_agreement = 0.999;
  bool passed = true;
};

constexpr size_t kMaxAgreementRows = 20000;
constexpr size_t kSampledUniformRows = 2000;
constexpr size_t kSampledBoundaryRows = 2000;

// Real value of one unit of the integer logits: 2^-b_{L-1} (int32), 2^-b (tree), the last
// layer's s_w * s_in (int8).
double logit_scale(const QuantModel& q);
// The manifest's quant.logit_frac_bits: the last layer's exponent b_{L-1} for
// int32 (docs/semantics.md#per-layer), b for trees; for int8 the
// nearest integer to -log2(logit_scale) (its scale is not a power of two).
int logit_frac_bits(const QuantModel& q);

// Metadata nnbpf.calibration: CSV text, a header of catalog names (every model
// feature must appear; extra columns are ignored), rows of non-negative
// integers. Returns rows in the model's feature order. Errors are one line
// naming the metadata key and the line.
Result<std::vector<std::vector<uint64_t>>> parse_calibration_text(const std::string& text,
                                                                   const std::vector<std::string>& features);

// Rows sampled from the input box (data ranges of the quantized model, else
// the float model's ranges, else the catalog's): half uniform, half
// log-uniform over each range, then rows placed at each first-layer ReLU unit's
// activation boundary (one feature moved so the unit's float pre-activation
// is 0, then -1, 0, +1 in raw units). Deterministic.
std::vector<std::vector<uint64_t>> sample_input_rows(const FloatModel& fm, const QuantModel& qm, size_t uniform,
                                                     size_t boundary, size_t* boundary_made = nullptr);

// Float margin of one row: |l1 - l0| for two logits, |l0| for one, the float
// logit of the float verdict minus that of verdict `other` for more.
double float_margin(const std::vector<double>& logits, int other);

// Both engines on rows (at most kMaxAgreementRows, evenly strided).
Agreement measure_agreement(const FloatModel& fm, const QuantModel& qm, const std::vector<std::vector<uint64_t>>& rows,
                            double min_agreement);

}  // namespace nnbpf::compiler
