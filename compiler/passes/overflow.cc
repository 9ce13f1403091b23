// The overflow analysis: interval arithmetic over the integer semantics in
// exact 128-bit integers. Standardization is monotone in the clamped raw
// value, so x1 ranges over [f(lo), f(hi)]; a dense neuron's accumulator over
// [sum min(w*l, w*h), sum max(w*l, w*h)]; the arithmetic shift and ReLU are
// monotone too.
#include "compiler/passes/overflow.h"

#include <algorithm>
#include <cmath>

#include "compiler/interp/reference.h"

namespace nnbpf::compiler {

namespace {

using i128 = __int128;

constexpr i128 kInt32Limit = i128{1} << 31;  // |v| < 2^31
constexpr i128 kInt64Limit = i128{1} << 63;  // |v| < 2^63

i128 abs128(i128 v) { return v < 0 ? -v : v; }

std::string to_string(i128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (u != 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  return neg ? "-" + s : s;
}

std::string range(i128 lo, i128 hi) { return "[" + to_string(lo) + ", " + to_string(hi) + "]"; }

std::string input_name(const QuantModel& model, size_t j) {
  std::string name = j < model.features.size() ? model.features[j] : "#" + std::to_string(j);
  const QuantInput& in = model.mlp().inputs[j];
  return "input '" + name + "' (raw range " + range(in.lo, in.hi) + ")";
}

std::string layer_name(const std::vector<std::string>& names, size_t k) {
  std::string s = "layer " + std::to_string(k);
  if (k < names.size() && !names[k].empty()) s += " ('" + names[k] + "')";
  return s;
}

double margin_bits(double limit_log2, double bound) {
  return limit_log2 - std::log2(std::max(bound, 1.0));
}

}  // namespace

Result<OverflowReport> check_overflow(const QuantModel& model,
                                      const std::vector<std::string>& layer_names) {
  const int b = model.b;
  const QuantMlp& mlp = model.mlp();
  if (b < 0 || b > 62) return Error::bad_input("scale b=" + std::to_string(b) + " out of range");
  i128 max_act = 0;
  i128 max_acc = 0;

  // Step 1: standardization.
  std::vector<i128> lo(mlp.inputs.size());
  std::vector<i128> hi(mlp.inputs.size());
  for (size_t j = 0; j < mlp.inputs.size(); ++j) {
    const QuantInput& in = mlp.inputs[j];
    if (in.lo > in.hi)
      return Error::bad_input(input_name(model, j) + ": lo > hi");
    if (in.q > 62)
      return Error::bad_input(input_name(model, j) + ": q=" + std::to_string(in.q) + " out of range");
    if (in.den != 0) {  // den == 0 yields 0 whatever d is
      if ((i128{in.hi} << in.q) >= kInt64Limit)
        return Error::bad_input(input_name(model, j) + ": raw value << " + std::to_string(in.q) +
                                " does not fit int64");
      const i128 d_lo = (i128{in.lo} << in.q) - in.m;
      const i128 d_hi = (i128{in.hi} << in.q) - in.m;
      const i128 max_d = std::max(abs128(d_lo), abs128(d_hi));
      if ((max_d << b) >= kInt64Limit)
        return Error::bad_input(input_name(model, j) + ": centered value range " + range(d_lo, d_hi) +
                                " << " + std::to_string(b) + " does not fit int64");
    }
    lo[j] = standardize_input(in, b, in.lo);
    hi[j] = standardize_input(in, b, in.hi);
    if (abs128(lo[j]) >= kInt32Limit || abs128(hi[j]) >= kInt32Limit)
      return Error::bad_input(input_name(model, j) + ": standardized range " + range(lo[j], hi[j]) +
                              " at b=" + std::to_string(b) + " does not fit int32");
    max_act = std::max({max_act, abs128(lo[j]), abs128(hi[j])});
  }

  // Step 2: dense layers.
  for (size_t k = 0; k < mlp.layers.size(); ++k) {
    const QuantLayer& layer = mlp.layers[k];
    if (static_cast<size_t>(layer.in) != lo.size())
      return Error::bad_input(layer_name(layer_names, k) + ": expects " + std::to_string(layer.in) +
                              " inputs, gets " + std::to_string(lo.size()));
    const int shift = model.layer_shift(k);
    const int b_k = model.layer_exponent(k);
    if (b_k < 0 || b_k > 62)
      return Error::bad_input(layer_name(layer_names, k) + ": exponent b=" + std::to_string(b_k) + " out of range");
    std::vector<i128> next_lo(static_cast<size_t>(layer.out));
    std::vector<i128> next_hi(static_cast<size_t>(layer.out));
    for (int i = 0; i < layer.out; ++i) {
      i128 acc_lo = 0;
      i128 acc_hi = 0;
      i128 acc_abs = 0;  // bounds every partial sum, in any order
      for (int j = 0; j < layer.in; ++j) {
        const i128 w = layer.w(i, j);
        const i128 a = w * lo[j];
        const i128 c = w * hi[j];
        acc_lo += std::min(a, c);
        acc_hi += std::max(a, c);
        acc_abs += std::max(abs128(a), abs128(c));
      }
      if (acc_abs >= kInt64Limit)
        return Error::bad_input(layer_name(layer_names, k) + " neuron " + std::to_string(i) +
                                ": accumulator bound " + to_string(acc_abs) + " does not fit int64");
      max_acc = std::max(max_acc, acc_abs);
      const i128 bias = layer.bias.empty() ? 0 : layer.bias[static_cast<size_t>(i)];
      const i128 y_lo = (acc_lo >> shift) + bias;
      const i128 y_hi = (acc_hi >> shift) + bias;
      if (abs128(y_lo) >= kInt32Limit || abs128(y_hi) >= kInt32Limit)
        return Error::bad_input(layer_name(layer_names, k) + " neuron " + std::to_string(i) +
                                ": output range " + range(y_lo, y_hi) + " at b=" + std::to_string(b_k) +
                                " does not fit int32");
      max_act = std::max({max_act, abs128(y_lo), abs128(y_hi)});
      next_lo[static_cast<size_t>(i)] = layer.relu ? std::max<i128>(y_lo, 0) : y_lo;
      next_hi[static_cast<size_t>(i)] = layer.relu ? std::max<i128>(y_hi, 0) : y_hi;
    }
    lo = std::move(next_lo);
    hi = std::move(next_hi);
  }

  OverflowReport report;
  report.max_abs_activation = static_cast<double>(max_act);
  report.max_abs_accumulator = static_cast<double>(max_acc);
  report.activation_margin_bits = margin_bits(31, report.max_abs_activation);
  report.accumulator_margin_bits = margin_bits(63, report.max_abs_accumulator);
  return report;
}

}  // namespace nnbpf::compiler
