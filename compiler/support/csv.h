// Flow CSV reader shared by infer, --calibration and the tests. It reads the
// files examples/train/train.py reads, with the same rules (docs/infer.md#input-files):
// - nnbpf's format: a header of catalog names in any order, extra columns
//   ignored, a "label" column kept if present; values non-negative integers
//   ("12.0" accepted), anything else is an error naming file, line and column.
// - CICFlowMeter dialects (CIC-IDS-2017, CSE-CIC-IDS2018, the 2021
//   re-extraction; the table compiler/support/flow_csv_dialects.def, which the
//   Python tools parse too): columns mapped to catalog names and units (us ->
//   ns), rows with a non-number, NaN/Infinity, a negative or too large value in
//   a requested feature, or an empty Label, dropped and counted; fractional
//   values rounded down and counted; repeated header lines skipped; for a
//   duplicated column name the first column wins.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/model.h"
#include "compiler/support/result.h"

namespace nnbpf {

// What reading did; summary() prints the same line as the Python tools'
// ReadReport.summary() (examples/train/nnbpf_data.py).
struct CsvReadReport {
  std::string dialect;                                          // nnbpf, cic2017, cic2018, cic2021
  size_t rows_read = 0;                                         // data rows (repeated headers not counted)
  std::map<std::string, std::map<std::string, size_t>> dropped;  // reason -> source column -> rows
  std::map<std::string, size_t> repaired;                       // source column -> rows rounded down
  size_t repaired_rows = 0;
  size_t header_repeats = 0;
  std::vector<std::string> duplicate_columns;  // mapped names seen again (first column kept)
  size_t non_utf8_labels = 0;
  size_t attempted = 0;  // "<attack> - Attempted" labels (label 1)

  size_t dropped_rows() const;
  std::string summary() const;
};

struct FeatureRows {
  std::vector<std::string> features;           // as requested, in that order
  std::vector<std::vector<uint64_t>> rows;     // rows[i][k] = value of features[k], catalog units
  std::vector<std::optional<int>> labels;      // parallel to rows; nullopt without a label column
  std::vector<size_t> line_numbers;            // 1-based line of each row in the file
  CsvReadReport report;
};

// Errors name the file, line and column: "flows.csv:12: column 'dst_port': not a non-negative integer: 'x'".
Result<FeatureRows> read_feature_csv(const std::string& path, const std::vector<std::string>& features);

// Per-feature [min, max] over all rows, for --calibration.
std::vector<compiler::InputRange> column_ranges(const FeatureRows& rows);

// The dialect table, for tests: (dialect, column, catalog feature, factor).
struct CsvColumnMapping {
  const char* dialect;
  const char* column;
  const char* feature;
  uint64_t factor;
};
const std::vector<CsvColumnMapping>& csv_dialect_columns();

}  // namespace nnbpf
