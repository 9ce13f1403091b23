#include "compiler/driver/agreement.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cmath>
#include <random>
#include <sstream>

#include "compiler/interp/reference.h"
#include "compiler/ir/catalog.h"

namespace nnbpf::compiler {

namespace {

constexpr const char* kCalibrationKey = "nnbpf.calibration";

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '"')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '"')) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) out.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

// A non-negative integer, or a float without fractional part below 2^64.
bool parse_u64(const std::string& s, uint64_t& v) {
  if (s.empty()) return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long x = std::strtoull(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return false;
    v = x;
    return true;
  }
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(d) || d < 0 || d >= 18446744073709551616.0 || d != std::floor(d)) return false;
  v = static_cast<uint64_t>(d);
  return true;
}

struct Box {
  std::vector<uint64_t> lo, hi;
};

Box input_box(const FloatModel& fm, const QuantModel& qm) {
  const size_t n = fm.features.size();
  Box box{std::vector<uint64_t>(n, 0), std::vector<uint64_t>(n, 0)};
  // An MLP's inputs carry the ranges b was chosen for; a tree has none.
  const QuantMlp* mlp = std::get_if<QuantMlp>(&qm.kind);
  for (size_t j = 0; j < n; ++j) {
    if (mlp && j < mlp->inputs.size()) {
      box.lo[j] = mlp->inputs[j].data_lo;
      box.hi[j] = mlp->inputs[j].data_hi;
    } else if (j < fm.input_ranges.size()) {
      const double lo = std::max(0.0, std::floor(fm.input_ranges[j].lo));
      const double hi = std::max(lo, std::ceil(fm.input_ranges[j].hi));
      box.lo[j] = lo >= 18446744073709551616.0 ? UINT64_MAX : static_cast<uint64_t>(lo);
      box.hi[j] = hi >= 18446744073709551616.0 ? UINT64_MAX : static_cast<uint64_t>(hi);
    } else if (auto info = find_feature(fm.features[j])) {
      box.lo[j] = info->lo;
      box.hi[j] = info->hi;
    }
  }
  return box;
}

// Uniform in [lo, hi] from 64 random bits (exact for any span).
uint64_t uniform_in(std::mt19937_64& rng, uint64_t lo, uint64_t hi) {
  const uint64_t span = hi - lo;
  if (span == UINT64_MAX) return rng();
  return lo + rng() % (span + 1);
}

// Log-uniform offset: lo + floor(exp(u * ln(span + 1))) - 1, so small values
// of a wide range (ports, packet counts) are drawn as often as large ones.
uint64_t log_uniform_in(std::mt19937_64& rng, uint64_t lo, uint64_t hi) {
  const double span = static_cast<double>(hi - lo) + 1.0;
  const double u = static_cast<double>(rng() >> 11) * 0x1p-53;
  double off = std::floor(std::exp(u * std::log(span))) - 1.0;
  if (off < 0) off = 0;
  const uint64_t o = off >= static_cast<double>(hi - lo) ? hi - lo : static_cast<uint64_t>(off);
  return lo + o;
}

double standardized(const FloatModel& fm, size_t j, double x) {
  if (!fm.standardization) return x;
  return (x - fm.standardization->mean[j]) * fm.standardization->mul[j];
}

// Fractional bits of an MLP's logits when they are a power of two: the last
// layer's exponent for int32 (docs/semantics.md#per-layer), else b.
int mlp_power_of_two_bits(const QuantModel& q, const QuantMlp& mlp) {
  const bool int32 = mlp.mode == QuantMode::Int32 && !mlp.layers.empty();
  return int32 ? q.layer_exponent(mlp.layers.size() - 1) : q.b;
}
// int8: the last layer's weight scale times its input scale.
double mlp_logit_scale(const QuantModel& q, const QuantMlp& mlp) {
  if (mlp.mode == QuantMode::Int8 && !mlp.int8_scales.empty())
    return mlp.int8_scales.back().weight * mlp.int8_scales.back().input;
  return std::ldexp(1.0, -mlp_power_of_two_bits(q, mlp));
}
int mlp_logit_bits(const QuantModel& q, const QuantMlp& mlp) {
  if (mlp.mode == QuantMode::Int8) return static_cast<int>(std::lround(-std::log2(mlp_logit_scale(q, mlp))));
  return mlp_power_of_two_bits(q, mlp);
}

}  // namespace

// A tree's logits are its leaf values: b fractional bits.
double logit_scale(const QuantModel& q) {
  return std::visit(Overloaded{[&](const QuantMlp& mlp) { return mlp_logit_scale(q, mlp); },
                               [&](const QuantTreeEnsemble&) { return std::ldexp(1.0, -q.b); }},
                    q.kind);
}

int logit_frac_bits(const QuantModel& q) {
  return std::visit(Overloaded{[&](const QuantMlp& mlp) { return mlp_logit_bits(q, mlp); },
                               [&](const QuantTreeEnsemble&) { return q.b; }},
                    q.kind);
}

Result<std::vector<std::vector<uint64_t>>> parse_calibration_text(const std::string& text,
                                                                   const std::vector<std::string>& features) {
  const std::string where = std::string("metadata ") + kCalibrationKey;
  std::istringstream in(text);
  std::string line;
  size_t lineno = 0;
  std::vector<int> column(features.size(), -1);
  size_t width = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!trim(line).empty()) break;
  }
  if (trim(line).empty()) return Error::bad_input(where + ": empty (expected a header of feature names)");
  {
    const auto names = split(line);
    width = names.size();
    for (size_t k = 0; k < features.size(); ++k) {
      for (size_t c = 0; c < names.size(); ++c)
        if (names[c] == features[k]) column[k] = static_cast<int>(c);
      if (column[k] < 0)
        return Error::bad_input(where + ": line " + std::to_string(lineno) + ": no column '" + features[k] +
                                "' (the header names the model's input features)");
    }
  }
  std::vector<std::vector<uint64_t>> rows;
  while (std::getline(in, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    const auto cells = split(line);
    if (cells.size() != width)
      return Error::bad_input(where + ": line " + std::to_string(lineno) + ": " + std::to_string(cells.size()) +
                              " fields, the header has " + std::to_string(width));
    std::vector<uint64_t> row(features.size());
    for (size_t k = 0; k < features.size(); ++k)
      if (!parse_u64(cells[static_cast<size_t>(column[k])], row[k]))
        return Error::bad_input(where + ": line " + std::to_string(lineno) + ": column '" + features[k] +
                                "': not a non-negative integer: '" + cells[static_cast<size_t>(column[k])] + "'");
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return Error::bad_input(where + ": no data rows");
  return rows;
}

std::vector<std::vector<uint64_t>> sample_input_rows(const FloatModel& fm, const QuantModel& qm, size_t uniform,
                                                     size_t boundary, size_t* boundary_made) {
  const Box box = input_box(fm, qm);
  const size_t n = box.lo.size();
  std::mt19937_64 rng(0x6e6e627066ULL);  // fixed: the same rows on every compile
  auto draw = [&](size_t r) {
    std::vector<uint64_t> row(n);
    for (size_t j = 0; j < n; ++j)
      row[j] = r % 2 == 0 ? uniform_in(rng, box.lo[j], box.hi[j]) : log_uniform_in(rng, box.lo[j], box.hi[j]);
    return row;
  };
  std::vector<std::vector<uint64_t>> rows;
  for (size_t r = 0; r < uniform; ++r) rows.push_back(draw(r));
  size_t made = 0;
  // Only units with a ReLU have an activation boundary (a tree has none); a
  // first layer without one (a linear model) computes the logits themselves,
  // and rows on its zero crossing would be ties no fixed point can break.
  const FloatMlp* mlp = std::get_if<FloatMlp>(&fm.kind);
  if (mlp && !mlp->layers.empty() && mlp->layers.front().relu && boundary > 0) {
    const DenseLayer& first = mlp->layers.front();
    // Boundary rows come in triples (-1, 0, +1 raw units around the crossing).
    const size_t per_unit = std::max<size_t>(1, boundary / 3 / static_cast<size_t>(first.out));
    for (int i = 0; i < first.out && made + 3 <= boundary; ++i) {
      std::vector<size_t> cols;
      for (size_t j = 0; j < n; ++j)
        if (first.w(i, static_cast<int>(j)) != 0.0 &&
            (!fm.standardization || fm.standardization->mul[j] != 0.0))
          cols.push_back(j);
      if (cols.empty()) continue;
      for (size_t t = 0, tries = 0; t < per_unit && tries < 4 * per_unit && made + 3 <= boundary; ++tries) {
        std::vector<uint64_t> row = draw(tries);
        const size_t j = cols[rng() % cols.size()];
        double pre = first.bias.empty() ? 0.0 : first.bias[i];
        for (size_t k = 0; k < n; ++k)
          if (k != j) pre += first.w(i, static_cast<int>(k)) * standardized(fm, k, static_cast<double>(row[k]));
        const double z = -pre / first.w(i, static_cast<int>(j));
        const double x = fm.standardization ? z / fm.standardization->mul[j] + fm.standardization->mean[j] : z;
        if (!(x >= static_cast<double>(box.lo[j]) && x <= static_cast<double>(box.hi[j]))) continue;
        const double xr = std::round(x);
        for (int d = -1; d <= 1; ++d) {
          const double v = xr + d;
          if (v < static_cast<double>(box.lo[j]) || v > static_cast<double>(box.hi[j]) ||
              v >= 18446744073709551616.0)
            continue;
          row[j] = static_cast<uint64_t>(v);
          rows.push_back(row);
          ++made;
        }
        ++t;
      }
    }
  }
  if (boundary_made) *boundary_made = made;
  return rows;
}

double float_margin(const std::vector<double>& logits, int other) {
  if (logits.empty()) return 0;
  if (logits.size() == 1) return std::fabs(logits[0]);
  if (logits.size() == 2) return std::fabs(logits[1] - logits[0]);
  const int v = verdict_of(logits);
  return logits[static_cast<size_t>(v)] - logits[static_cast<size_t>(other)];
}

Agreement measure_agreement(const FloatModel& fm, const QuantModel& qm, const std::vector<std::vector<uint64_t>>& rows,
                            double min_agreement) {
  Agreement a;
  a.min_agreement = min_agreement;
  a.logit_scale = logit_scale(qm);
  a.rows_available = rows.size();
  const size_t take = std::min(rows.size(), kMaxAgreementRows);
  std::vector<double> x;
  for (size_t t = 0; t < take; ++t) {
    const auto& row = rows[rows.size() <= kMaxAgreementRows ? t : t * rows.size() / take];
    x.assign(row.begin(), row.end());
    const Inference f = run_float(fm, x);
    const Inference q = run_reference(qm, row);
    ++a.rows;
    for (size_t c = 0; c < f.flogits.size() && c < q.logits.size(); ++c)
      a.max_logit_error =
          std::max(a.max_logit_error, std::fabs(static_cast<double>(q.logits[c]) * a.logit_scale - f.flogits[c]));
    if (f.verdict == q.verdict) {
      ++a.agree;
      continue;
    }
    const double m = float_margin(f.flogits, q.verdict);
    a.min_flipped_margin = a.min_flipped_margin ? std::min(*a.min_flipped_margin, m) : m;
    a.max_flipped_margin = a.max_flipped_margin ? std::max(*a.max_flipped_margin, m) : m;
  }
  a.agreement = a.rows == 0 ? 1.0 : static_cast<double>(a.agree) / static_cast<double>(a.rows);
  a.passed = a.agreement >= min_agreement;
  return a;
}

}  // namespace nnbpf::compiler
