// Feature CSV reader: the whole file is read at once and split in place
// (string_view), so 20k-row files take milliseconds. No quoting beyond
// optional double quotes around a header name or value; values are plain
// decimal integers.
#include "compiler/support/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

namespace nnbpf {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

void split(std::string_view line, std::vector<std::string_view>& cells) {
  cells.clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      cells.push_back(trim(line.substr(start)));
      return;
    }
    cells.push_back(trim(line.substr(start, comma - start)));
    start = comma + 1;
  }
}

// Digits only, or an integral float ("12.0", "12.", "1.5e3").
std::optional<uint64_t> parse_count(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.front() == '+') return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && end == s.data() + s.size()) return v;
  if (ec == std::errc::result_out_of_range) return std::nullopt;
  double d = 0;
  auto [fend, fec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (fec != std::errc() || fend != s.data() + s.size()) return std::nullopt;
  if (!std::isfinite(d) || d < 0 || d != std::floor(d) || d >= 18446744073709551616.0) return std::nullopt;
  return static_cast<uint64_t>(d);
}

std::optional<int> parse_label(std::string_view s) {
  const bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  const auto v = parse_count(s);
  if (!v || *v > static_cast<uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
  return neg ? -static_cast<int>(*v) : static_cast<int>(*v);
}

std::string join(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

Result<FeatureRows> read_feature_csv(const std::string& path, const std::vector<std::string>& features) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error::bad_input(path + ": cannot open");
  std::ostringstream buf;
  buf << file.rdbuf();
  const std::string text = buf.str();

  FeatureRows out;
  out.features = features;
  std::vector<std::string_view> cells;
  std::vector<std::string_view> header;
  std::vector<size_t> column;        // column[k]: header index of features[k]
  std::optional<size_t> label_column;
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no) + ": ";

    if (header.empty()) {
      split(line, header);
      for (size_t c = 0; c < header.size(); ++c) {
        if (header[c] == "label") label_column = c;
        const size_t dup = std::find(header.begin(), header.begin() + c, header[c]) - header.begin();
        if (dup != c && std::find(features.begin(), features.end(), header[c]) != features.end())
          return Error::bad_input(where + "column '" + std::string(header[c]) + "' appears twice");
      }
      for (const std::string& f : features) {
        const auto it = std::find(header.begin(), header.end(), f);
        if (it == header.end())
          return Error::bad_input(path + ": missing column '" + f + "' (header: " + join(header) + ")");
        column.push_back(static_cast<size_t>(it - header.begin()));
      }
      continue;
    }

    split(line, cells);
    if (cells.size() != header.size())
      return Error::bad_input(where + "expected " + std::to_string(header.size()) + " columns, found " +
                              std::to_string(cells.size()));
    std::vector<uint64_t> row(features.size());
    for (size_t k = 0; k < features.size(); ++k) {
      const std::string_view cell = cells[column[k]];
      const auto v = parse_count(cell);
      if (!v)
        return Error::bad_input(where + "column '" + features[k] + "': " +
                                (cell.empty() ? std::string("empty value")
                                              : "not a non-negative integer: '" + std::string(cell) + "'"));
      row[k] = *v;
    }
    std::optional<int> label;
    if (label_column && !cells[*label_column].empty()) {
      label = parse_label(cells[*label_column]);
      if (!label)
        return Error::bad_input(where + "column 'label': not an integer: '" +
                                std::string(cells[*label_column]) + "'");
    }
    out.rows.push_back(std::move(row));
    out.labels.push_back(label);
  }
  if (header.empty()) return Error::bad_input(path + ": empty file (no header row)");
  return out;
}

std::vector<compiler::InputRange> column_ranges(const FeatureRows& rows) {
  if (rows.rows.empty()) return {};
  std::vector<compiler::InputRange> out(rows.features.size());
  for (size_t k = 0; k < out.size(); ++k) {
    uint64_t lo = std::numeric_limits<uint64_t>::max();
    uint64_t hi = 0;
    for (const auto& row : rows.rows) {
      lo = std::min(lo, row[k]);
      hi = std::max(hi, row[k]);
    }
    // Round outward where uint64 -> double is inexact (above 2^53).
    double dlo = static_cast<double>(lo);
    double dhi = static_cast<double>(hi);
    if (dlo >= 18446744073709551616.0 || static_cast<uint64_t>(dlo) > lo) dlo = std::nextafter(dlo, 0.0);
    if (dhi < 18446744073709551616.0 && static_cast<uint64_t>(dhi) < hi) dhi = std::nextafter(dhi, INFINITY);
    out[k] = {dlo, dhi};
  }
  return out;
}

}  // namespace nnbpf
