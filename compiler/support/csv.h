// Feature CSV reader shared by infer, --calibration and the tests: header row
// of catalog names in any order; extra columns (label, ...) are ignored except
// that a "label" column is kept if present.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf {

struct FeatureRows {
  std::vector<std::string> features;           // as requested, in that order
  std::vector<std::vector<uint64_t>> rows;     // rows[i][k] = value of features[k]
  std::vector<std::optional<int>> labels;      // parallel to rows; nullopt without a label column
};

// Errors name the file, line and column: "flows.csv:12: column 'dst_port': not a non-negative integer: 'x'".
// A value written as a float with no fractional part ("12.0") is accepted.
Result<FeatureRows> read_feature_csv(const std::string& path, const std::vector<std::string>& features);

// Per-feature [min, max] over all rows, for --calibration.
std::vector<compiler::InputRange> column_ranges(const FeatureRows& rows);

}  // namespace nnbpf
