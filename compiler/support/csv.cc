// Flow CSV reader: the whole file is read at once and split in place
// (string_view), so 20k-row files take milliseconds. No quoting beyond
// optional double quotes around a header name or value. The rules match
// examples/train/nnbpf_data.py load_flows() (see csv.h).
#include "compiler/support/csv.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

#include "compiler/ir/catalog.h"

namespace nnbpf {

namespace {

struct DialectInfo {
  const char* name;
  const char* label;
  const char* proto;
  const char* description;
};

const std::vector<DialectInfo>& dialects() {
  static const std::vector<DialectInfo> table = {
#define NNBPF_CSV_DIALECT(name, label, proto, desc) {#name, label, proto, desc},
#define NNBPF_CSV_COLUMN(dialect, column, feature, factor)
#include "compiler/support/flow_csv_dialects.def"
#undef NNBPF_CSV_COLUMN
#undef NNBPF_CSV_DIALECT
  };
  return table;
}

constexpr std::string_view kNnbpf = "nnbpf";
constexpr std::string_view kNnbpfLabel = "label";
constexpr std::string_view kAttemptedSuffix = " - Attempted";
constexpr double kTwo64 = 18446744073709551616.0;
// Reasons in the order summary() lists them (as nnbpf_data.ReadReport.REASONS).
constexpr std::array<std::string_view, 6> kReasons = {"not a number", "NaN/Infinity", "negative",
                                                       "too large",    "empty label",  "attempted"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
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

// A decimal or scientific number, or inf/infinity/nan (any case), optional '-'.
std::optional<double> parse_number(std::string_view s) {
  if (s.empty() || s.front() == '+') return std::nullopt;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Overflow: +-inf is what Python's float() gives; underflow: 0.
    const bool neg = s.front() == '-';
    const auto e = s.find_first_of("eE");
    const bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    return tiny ? 0.0 : (neg ? -HUGE_VAL : HUGE_VAL);
  }
  if (ec != std::errc()) return std::nullopt;
  // from_chars also takes "nan(...)" and hex-free forms only; reject the former.
  if (s.find('(') != std::string_view::npos) return std::nullopt;
  return d;
}

// Digits only, or an integral float ("12.0", "12.", "1.5e3").
std::optional<uint64_t> parse_count(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.front() == '+') return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && end == s.data() + s.size()) return v;
  if (ec == std::errc::result_out_of_range) return std::nullopt;
  const auto d = parse_number(s);
  if (!d || !std::isfinite(*d) || *d < 0 || *d != std::floor(*d) || *d >= kTwo64) return std::nullopt;
  return static_cast<uint64_t>(*d);
}

std::optional<int> parse_label(std::string_view s) {
  const bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  const auto v = parse_count(s);
  if (!v || *v > static_cast<uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
  return neg ? -static_cast<int>(*v) : static_cast<int>(*v);
}

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as Python decodes.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

std::string join(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// nnbpf when a header cell is a catalog name; else the CIC dialect with the
// most mapped columns (ties: table order); nullopt when none matches.
std::optional<std::string> detect_dialect(const std::vector<std::string_view>& header) {
  for (std::string_view h : header)
    if (find_feature(h)) return std::string(kNnbpf);
  std::string best;
  size_t best_score = 0;
  for (const DialectInfo& d : dialects()) {
    size_t score = 0;
    for (std::string_view h : header) {
      bool seen = false;
      for (const auto& c : csv_dialect_columns())
        if (c.dialect == std::string_view(d.name) && c.column == h) seen = true;
      score += seen ? 1 : 0;
    }
    if (score > best_score) best = d.name, best_score = score;
  }
  if (best_score > 0) return best;
  if (std::find(header.begin(), header.end(), kNnbpfLabel) != header.end()) return std::string(kNnbpf);
  return std::nullopt;
}

}  // namespace

const std::vector<CsvColumnMapping>& csv_dialect_columns() {
  static const std::vector<CsvColumnMapping> table = {
#define NNBPF_CSV_DIALECT(name, label, proto, desc)
#define NNBPF_CSV_COLUMN(dialect, column, feature, factor) {#dialect, column, #feature, factor},
#include "compiler/support/flow_csv_dialects.def"
#undef NNBPF_CSV_COLUMN
#undef NNBPF_CSV_DIALECT
  };
  return table;
}

size_t CsvReadReport::dropped_rows() const {
  size_t n = 0;
  for (const auto& [reason, cols] : dropped)
    for (const auto& [col, k] : cols) n += k;
  return n;
}

std::string CsvReadReport::summary() const {
  auto detail = [](const std::map<std::string, size_t>& m) {
    std::string s;
    for (const auto& [col, n] : m) s += (s.empty() ? "" : ", ") + col + " " + std::to_string(n);
    return s;
  };
  std::string out = dialect + " dialect: " + std::to_string(rows_read) + " rows read";
  const size_t nd = dropped_rows();
  if (nd) {
    out += "; " + std::to_string(nd) + " dropped (";
    bool first = true;
    for (std::string_view r : kReasons) {
      const auto it = dropped.find(std::string(r));
      if (it == dropped.end()) continue;
      out += (first ? "" : "; ") + std::string(r) + ": " + detail(it->second);
      first = false;
    }
    out += ")";
  } else {
    out += "; 0 dropped";
  }
  if (repaired_rows)
    out += "; " + std::to_string(repaired_rows) + " repaired (fractional values rounded down: " + detail(repaired) + ")";
  else
    out += "; 0 repaired";
  if (header_repeats) out += "; " + std::to_string(header_repeats) + " repeated header lines skipped";
  if (!duplicate_columns.empty()) {
    out += "; duplicate columns ignored (first kept): ";
    for (size_t i = 0; i < duplicate_columns.size(); ++i) out += (i ? ", " : "") + duplicate_columns[i];
  }
  if (non_utf8_labels) out += "; " + std::to_string(non_utf8_labels) + " labels with non-UTF-8 bytes";
  if (attempted) out += "; " + std::to_string(attempted) + " '- Attempted' labels counted as intrusion";
  return out;
}

Result<FeatureRows> read_feature_csv(const std::string& path, const std::vector<std::string>& features) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error::bad_input(path + ": cannot open");
  std::ostringstream buf;
  buf << file.rdbuf();
  const std::string text = buf.str();

  FeatureRows out;
  out.features = features;
  CsvReadReport& rep = out.report;
  std::vector<std::string_view> cells;
  std::vector<std::string_view> header;
  std::vector<size_t> column;        // column[k]: header index of features[k]
  std::vector<uint64_t> factor;      // factor[k]: to catalog units
  std::vector<std::string> source;   // source[k]: the file's name of column[k]
  std::optional<size_t> label_column;
  bool nnbpf = true;
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
      const auto dialect = detect_dialect(header);
      if (!dialect)
        return Error::bad_input(path + ": no column names a catalog feature or a CICFlowMeter column (header: " +
                                join(header) + ")");
      rep.dialect = *dialect;
      nnbpf = rep.dialect == kNnbpf;
      if (nnbpf) {
        for (size_t c = 0; c < header.size(); ++c) {
          if (header[c] == kNnbpfLabel && !label_column) label_column = c;
          const size_t dup = std::find(header.begin(), header.begin() + c, header[c]) - header.begin();
          if (dup != c && std::find(features.begin(), features.end(), header[c]) != features.end())
            return Error::bad_input(where + "column '" + std::string(header[c]) + "' appears twice");
        }
        for (const std::string& f : features) {
          const auto it = std::find(header.begin(), header.end(), f);
          if (it == header.end())
            return Error::bad_input(path + ": missing column '" + f + "' (header: " + join(header) + ")");
          column.push_back(static_cast<size_t>(it - header.begin()));
          factor.push_back(1);
          source.push_back(f);
        }
      } else {
        const DialectInfo* d = nullptr;
        for (const DialectInfo& di : dialects())
          if (rep.dialect == di.name) d = &di;
        for (size_t c = 0; c < header.size(); ++c) {
          const bool first = std::find(header.begin(), header.begin() + c, header[c]) == header.begin() + c;
          if (header[c] == d->label && first) label_column = c;
          bool mapped = false;
          for (const auto& m : csv_dialect_columns())
            if (m.dialect == rep.dialect && m.column == header[c]) mapped = true;
          if (mapped && !first) rep.duplicate_columns.emplace_back(header[c]);
        }
        for (const std::string& f : features) {
          const CsvColumnMapping* m = nullptr;
          size_t c = header.size();
          for (const auto& cand : csv_dialect_columns()) {
            if (cand.dialect != rep.dialect || cand.feature != f) continue;
            const auto it = std::find(header.begin(), header.end(), std::string_view(cand.column));
            if (it != header.end()) {
              m = &cand;
              c = static_cast<size_t>(it - header.begin());
              break;
            }
          }
          if (!m)
            return Error::bad_input(path + ": feature '" + f + "': no column of this " + rep.dialect +
                                    " (" + d->description + ") file maps to it (header: " + join(header) + ")");
          column.push_back(c);
          factor.push_back(m->factor);
          source.push_back(m->column);
        }
      }
      continue;
    }

    split(line, cells);
    if (cells == header) {
      ++rep.header_repeats;
      continue;
    }
    if (cells.size() != header.size())
      return Error::bad_input(where + "expected " + std::to_string(header.size()) + " columns, found " +
                              std::to_string(cells.size()));
    ++rep.rows_read;
    std::vector<uint64_t> row(features.size());
    std::optional<int> label;
    if (nnbpf) {
      for (size_t k = 0; k < features.size(); ++k) {
        const std::string_view cell = cells[column[k]];
        const auto v = parse_count(cell);
        if (!v)
          return Error::bad_input(where + "column '" + features[k] + "': " +
                                  (cell.empty() ? std::string("empty value")
                                                : "not a non-negative integer: '" + std::string(cell) + "'"));
        row[k] = *v;
      }
      if (label_column && !cells[*label_column].empty()) {
        label = parse_label(cells[*label_column]);
        if (!label)
          return Error::bad_input(where + "column 'label': not an integer: '" + std::string(cells[*label_column]) +
                                  "'");
      }
    } else {
      const char* bad = nullptr;
      size_t bad_k = 0;
      bool fractional = false;
      std::vector<bool> frac(features.size(), false);
      for (size_t k = 0; k < features.size() && !bad; ++k) {
        const auto v = parse_number(cells[column[k]]);
        if (!v) {
          bad = "not a number", bad_k = k;
        } else if (std::isnan(*v) || std::isinf(*v)) {
          bad = "NaN/Infinity", bad_k = k;
        } else if (*v < 0) {
          bad = "negative", bad_k = k;
        } else {
          const double x = *v * static_cast<double>(factor[k]);
          if (x >= kTwo64) {
            bad = "too large", bad_k = k;
          } else {
            const double f = std::floor(x);
            if (f != x) frac[k] = fractional = true;
            row[k] = static_cast<uint64_t>(f);
          }
        }
      }
      if (bad) {
        ++rep.dropped[bad][source[bad_k]];
        continue;
      }
      if (label_column) {
        const std::string_view lab = cells[*label_column];
        if (lab.empty()) {
          ++rep.dropped["empty label"][std::string(header[*label_column])];
          continue;
        }
        if (!valid_utf8(lab)) ++rep.non_utf8_labels;
        if (iequals(lab, "BENIGN")) {
          label = 0;
        } else {
          if (lab.size() >= kAttemptedSuffix.size() &&
              lab.substr(lab.size() - kAttemptedSuffix.size()) == kAttemptedSuffix)
            ++rep.attempted;
          label = 1;
        }
      }
      if (fractional) {
        ++rep.repaired_rows;
        for (size_t k = 0; k < features.size(); ++k)
          if (frac[k]) ++rep.repaired[source[k]];
      }
    }
    out.rows.push_back(std::move(row));
    out.labels.push_back(label);
    out.line_numbers.push_back(line_no);
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
