// FloatModel -> QuantModel (docs/semantics.md): the enlargement method of the
// paper (§IV-B, formulas 1-2), integer standardization parameters, and the
// choice of b: the ECDF choice (choose_scale.cc), lowered one step at a time
// until the overflow analysis (overflow.cc) passes, or --scale-bits, refused
// when it overflows.
#include "compiler/passes/quantize.h"
#include "compiler/passes/quantize_tree.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>

#include "compiler/ir/catalog.h"
#include "compiler/passes/overflow.h"
#include "compiler/passes/quantize_detail.h"

namespace nnbpf::compiler {

namespace quant_detail {

using i128 = __int128;

constexpr int kMaxScaleBits = 30;
constexpr uint32_t kMaxQ = 16;
constexpr i128 kInt64Limit = i128{1} << 63;

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

std::string feature_label(const FloatModel& model, size_t j) {
  return "input '" + model.features[j] + "'";
}

std::string layer_label(const FloatModel& model, size_t k) {
  std::string s = "layer " + std::to_string(k);
  const std::string& origin = model.mlp().layers[k].origin;
  if (!origin.empty()) s += " ('" + origin + "')";
  return s;
}

Status check_finite(const std::vector<double>& values, const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      return Error::bad_input(what + " [" + std::to_string(i) + "] is " + fmt(values[i]) +
                              " (NaN and Inf are not supported)");
  return ok_status();
}

// Everything that does not depend on b: shapes, NaN/Inf, catalog names,
// options, standard deviations that no q can represent.
Status validate(const FloatModel& model, const QuantOptions& opts) {
  const std::vector<DenseLayer>& layers = model.mlp().layers;
  if (layers.empty()) return Error::bad_input("model has no dense layers");
  const size_t n = static_cast<size_t>(model.inputs());
  if (model.features.size() != n)
    return Error::bad_input("model has " + std::to_string(n) + " inputs but " +
                            std::to_string(model.features.size()) + " feature names");
  for (const std::string& f : model.features)
    if (!find_feature(f))
      return Error::bad_input("unknown feature '" + f + "' (known: " + feature_names_list() + ")");
  for (size_t k = 0; k < layers.size(); ++k) {
    const DenseLayer& layer = layers[k];
    const std::string where = layer_label(model, k);
    if (layer.in <= 0 || layer.out <= 0)
      return Error::bad_input(where + ": empty shape " + std::to_string(layer.out) + "x" +
                              std::to_string(layer.in));
    if (k > 0 && layer.in != layers[k - 1].out)
      return Error::bad_input(where + ": expects " + std::to_string(layer.in) + " inputs, previous layer has " +
                              std::to_string(layers[k - 1].out) + " outputs");
    if (layer.weight.size() != static_cast<size_t>(layer.in) * static_cast<size_t>(layer.out))
      return Error::bad_input(where + ": weight has " + std::to_string(layer.weight.size()) +
                              " elements, expected " + std::to_string(layer.in * layer.out));
    if (!layer.bias.empty() && layer.bias.size() != static_cast<size_t>(layer.out))
      return Error::bad_input(where + ": bias has " + std::to_string(layer.bias.size()) +
                              " elements, expected " + std::to_string(layer.out));
    NNBPF_CHECK(check_finite(layer.weight, where + ": weight"));
    NNBPF_CHECK(check_finite(layer.bias, where + ": bias"));
  }
  if (model.standardization) {
    const Standardization& st = *model.standardization;
    if (st.mean.size() != n || st.mul.size() != n)
      return Error::bad_input("standardization has " + std::to_string(st.mean.size()) + " means and " +
                              std::to_string(st.mul.size()) + " scales for " + std::to_string(n) + " inputs");
    NNBPF_CHECK(check_finite(st.mean, "standardization mean"));
    NNBPF_CHECK(check_finite(st.mul, "standardization scale"));
    for (size_t j = 0; j < n; ++j) {
      const double mul = std::fabs(st.mul[j]);
      if (mul == 0) continue;
      const double sigma = 1.0 / mul;
      if (std::round(std::ldexp(sigma, kMaxQ)) == 0)
        return Error::bad_input(feature_label(model, j) + ": standard deviation " + fmt(sigma) +
                                " rounds to 0 at 2^" + std::to_string(kMaxQ) +
                                " fixed point (smallest supported is 2^-" + std::to_string(kMaxQ + 1) + ")");
      if (sigma >= std::ldexp(1.0, 62))
        return Error::bad_input(feature_label(model, j) + ": standard deviation " + fmt(sigma) +
                                " is too large");
    }
  }
  if (!std::isfinite(opts.alpha) || opts.alpha < 0 || opts.alpha > 1)
    return Error::bad_input("alpha " + fmt(opts.alpha) + " is not in [0, 1]");
  if (opts.scale_bits && (*opts.scale_bits < 0 || *opts.scale_bits > kMaxScaleBits))
    return Error::bad_input("scale bits " + std::to_string(*opts.scale_bits) + " is not in [0, " +
                            std::to_string(kMaxScaleBits) + "]");
  return ok_status();
}

uint64_t to_u64_clamped(double v) {
  if (v <= 0) return 0;
  if (v >= 18446744073709551616.0) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(v);
}

// Input ranges: --calibration, else the model's nnbpf.input_ranges, else the
// catalog bounds; rounded outward to integers (raw values are unsigned).
Result<std::vector<RawRange>> input_ranges(const FloatModel& model, const QuantOptions& opts) {
  const size_t n = static_cast<size_t>(model.inputs());
  std::vector<RawRange> out(n);
  const std::vector<InputRange>* given = nullptr;
  std::string source;
  if (opts.calibration_ranges) {
    given = &*opts.calibration_ranges;
    source = "calibration";
  } else if (!model.input_ranges.empty()) {
    given = &model.input_ranges;
    source = "model input_ranges";
  }
  if (given == nullptr) {
    for (size_t j = 0; j < n; ++j) {
      const auto info = find_feature(model.features[j]);
      out[j] = {info->lo, info->hi};
    }
    return out;
  }
  if (given->size() != n)
    return Error::bad_input(source + " has " + std::to_string(given->size()) + " ranges for a model with " +
                            std::to_string(n) + " inputs");
  for (size_t j = 0; j < n; ++j) {
    const InputRange& r = (*given)[j];
    const std::string where = source + " range of " + feature_label(model, j);
    if (!std::isfinite(r.lo) || !std::isfinite(r.hi))
      return Error::bad_input(where + " is not finite: [" + fmt(r.lo) + ", " + fmt(r.hi) + "]");
    if (r.lo > r.hi)
      return Error::bad_input(where + ": lo " + fmt(r.lo) + " > hi " + fmt(r.hi));
    out[j] = {to_u64_clamped(std::floor(r.lo)), to_u64_clamped(std::ceil(r.hi))};
  }
  return out;
}

// Integer standardization parameters of one input at scale b (step 1): the
// largest q <= 16 for which (xc << q) - m and |d| << b fit int64.
Result<QuantInput> quantize_input(const FloatModel& model, size_t j, RawRange r, int b) {
  QuantInput in;
  in.lo = in.data_lo = r.lo;
  in.hi = in.data_hi = r.hi;
  if (!model.standardization) {
    in.den = 1;  // x1 = xc * 2^b; check_overflow bounds it
    return in;
  }
  const double mean = model.standardization->mean[j];
  const double mul = std::fabs(model.standardization->mul[j]);  // sign folded into layer 0
  if (mul == 0) return in;  // sigma == 0: x1 = 0 (formula 1), den = 0
  for (int q = static_cast<int>(kMaxQ); q >= 0; --q) {
    const double m = std::ldexp(mean, q);
    if (std::fabs(m) >= std::ldexp(1.0, 62)) continue;
    const i128 m_int = std::llround(m);
    if ((i128{r.hi} << q) >= kInt64Limit) continue;
    const i128 d_lo = (i128{r.lo} << q) - m_int;
    const i128 d_hi = (i128{r.hi} << q) - m_int;
    const i128 max_d = std::max(d_lo < 0 ? -d_lo : d_lo, d_hi < 0 ? -d_hi : d_hi);
    if ((max_d << b) >= kInt64Limit) continue;
    const double den = std::round(std::ldexp(1.0, q) / mul);
    if (den == 0)
      return Error::bad_input(feature_label(model, j) + ": standard deviation " + fmt(1.0 / mul) +
                              " rounds to 0 at q=" + std::to_string(q) + " (b=" + std::to_string(b) + ")");
    in.q = static_cast<uint32_t>(q);
    in.m = static_cast<int64_t>(m_int);
    in.den = static_cast<uint64_t>(den);
    return in;
  }
  return Error::bad_input(feature_label(model, j) + " (raw range [" + std::to_string(r.lo) + ", " +
                          std::to_string(r.hi) + "], mean " + fmt(mean) + "): centered values << " +
                          std::to_string(b) + " do not fit int64");
}

}  // namespace quant_detail

namespace {

using namespace quant_detail;

Result<int32_t> enlarge(double p, int b, const std::string& where) {
  const double v = std::round(std::ldexp(p, b));  // half away from zero, as std::llround
  if (v < -2147483648.0 || v > 2147483647.0)
    return Error::bad_input(where + ": " + fmt(p) + " * 2^" + std::to_string(b) + " does not fit int32");
  return static_cast<int32_t>(v);
}

// Formula (2): W_E = round(s * W), B_E = round(s * bias). A negative
// standardization scale of input j is folded into column j of layer 0
// (round(-v) == -round(v), so this is exact).
Result<QuantLayer> quantize_layer(const FloatModel& model, size_t k, int b) {
  const DenseLayer& layer = model.mlp().layers[k];
  QuantLayer out;
  out.in = layer.in;
  out.out = layer.out;
  out.relu = layer.relu;
  out.has_bias = !layer.bias.empty();
  out.weight.resize(layer.weight.size());
  out.bias.assign(static_cast<size_t>(layer.out), 0);
  for (int i = 0; i < layer.out; ++i) {
    for (int j = 0; j < layer.in; ++j) {
      double w = layer.w(i, j);
      if (k == 0 && model.standardization && model.standardization->mul[j] < 0) w = -w;
      NNBPF_TRY(v, enlarge(w, b, layer_label(model, k) + " neuron " + std::to_string(i) + " weight " +
                                     std::to_string(j)));
      out.weight[static_cast<size_t>(i) * layer.in + j] = v;
    }
    if (out.has_bias) {
      NNBPF_TRY(v, enlarge(layer.bias[i], b, layer_label(model, k) + " neuron " + std::to_string(i) + " bias"));
      out.bias[i] = v;
    }
  }
  return out;
}

std::vector<std::string> layer_names(const FloatModel& model) {
  std::vector<std::string> names;
  for (const DenseLayer& l : model.mlp().layers) names.push_back(l.origin);
  return names;
}

// The exponents of an int32 model (docs/semantics.md#per-layer): e[0] is
// step 1's b, e[1 + k] layer k's b_k.
using Exponents = std::vector<int>;

// The whole integer model at exponents e, or the first overflow.
Result<QuantModel> build_at(const FloatModel& model, const std::vector<RawRange>& ranges, const Exponents& e) {
  QuantModel qm;
  QuantMlp& mlp = qm.mlp();
  qm.features = model.features;
  qm.b = e[0];
  mlp.layer_exponents = true;
  for (size_t j = 0; j < ranges.size(); ++j) {
    NNBPF_TRY(in, quantize_input(model, j, ranges[j], qm.b));
    mlp.inputs.push_back(in);
  }
  for (size_t k = 0; k < model.mlp().layers.size(); ++k) {
    NNBPF_TRY(layer, quantize_layer(model, k, e[1 + k]));
    layer.b = e[1 + k];
    mlp.layers.push_back(std::move(layer));
  }
  NNBPF_TRY(report, check_overflow(qm, layer_names(model)));
  mlp.overflow = report;
  return qm;
}

// The uniform model: every exponent b.
Result<QuantModel> build_at(const FloatModel& model, const std::vector<RawRange>& ranges, int b) {
  return build_at(model, ranges, Exponents(model.mlp().layers.size() + 1, b));
}

// Per-layer exponents (docs/semantics.md#choosing-b, "Per layer"): from the
// uniform choice, raise one exponent at a time, in rounds (step 1's b, then
// the layers in order), while the model with every exponent `margin` bits
// higher still passes the overflow analysis, and so does the model itself
// (the analysis is not monotone in b: rounding and q move with it).
Exponents raise_exponents(const FloatModel& model, const std::vector<RawRange>& ranges, Exponents e, int margin) {
  auto fits = [&](const Exponents& v) {
    Exponents up = v;
    for (int& x : up)
      if ((x += margin) > kMaxScaleBits) return false;
    return build_at(model, ranges, up).ok() && (margin == 0 || build_at(model, ranges, v).ok());
  };
  if (!fits(e)) return e;
  for (bool raised = true; raised;) {
    raised = false;
    for (size_t k = 0; k < e.size(); ++k) {
      Exponents t = e;
      ++t[k];
      if (fits(t)) {
        e = std::move(t);
        raised = true;
      }
    }
  }
  return e;
}

// Widens the clamping ranges of a model that fits (docs/semantics.md#clamp).
// b, q, m, den and every parameter stay as they are, so inputs inside the
// given ranges compute exactly as before; inputs outside them are clamped
// only where the overflow analysis could no longer vouch for them.
//   1. per input, the widest [lo, hi] within the catalog's bounds at which
//      quantize_input still picks the same q (step 1 alone);
//   2. all ranges grown together, hi to (hi+1)*2^t - 1 and lo to lo/2^t
//      (within step 1's bounds), for the largest t the analysis accepts;
//   3. then each input alone, in order, the same way.
// Every step keeps the whole model's overflow analysis passing.
// The last v in [from, to] (either direction) for which pred holds, given
// pred(from) and that pred, once false going from `from` to `to`, stays false.
template <typename Pred>
uint64_t last_holding(uint64_t from, uint64_t to, Pred pred) {
  if (pred(to)) return to;
  uint64_t good = from, bad = to;  // pred(good), !pred(bad)
  while ((good < bad ? bad - good : good - bad) > 1) {
    const uint64_t mid = good < bad ? good + (bad - good) / 2 : bad + (good - bad) / 2;
    (pred(mid) ? good : bad) = mid;
  }
  return good;
}

void widen_clamp_ranges(const FloatModel& model, QuantModel& qm) {
  QuantMlp& mlp = qm.mlp();
  const size_t n = mlp.inputs.size();
  const auto names = layer_names(model);
  std::vector<RawRange> cap(n), given(n);
  for (size_t j = 0; j < n; ++j) {
    const auto info = find_feature(model.features[j]);
    given[j] = {mlp.inputs[j].lo, mlp.inputs[j].hi};
    auto same_q = [&](RawRange r) {
      auto in = quantize_input(model, j, r, qm.b);
      return in.ok() && in->q == mlp.inputs[j].q;
    };
    // Step 1's constraints are monotone in each end of the range. A given
    // range may reach past the catalog's bounds: it is never narrowed.
    cap[j].hi = last_holding(given[j].hi, std::max(info->hi, given[j].hi),
                             [&](uint64_t v) { return same_q({given[j].lo, v}); });
    cap[j].lo = last_holding(given[j].lo, std::min(info->lo, given[j].lo),
                             [&](uint64_t v) { return same_q({v, given[j].hi}); });
  }
  auto grown = [&](size_t j, uint64_t t) -> RawRange {
    if (t == 0) return given[j];
    const unsigned __int128 h = (static_cast<unsigned __int128>(given[j].hi) + 1) << t;
    const uint64_t hi = h - 1 >= cap[j].hi ? cap[j].hi : static_cast<uint64_t>(h - 1);
    const uint64_t lo = t >= 64 ? 0 : given[j].lo >> t;
    return {std::max(lo, cap[j].lo), std::max(hi, given[j].hi)};
  };
  auto with = [&](const std::vector<uint64_t>& ts) {
    QuantModel trial = qm;
    for (size_t j = 0; j < n; ++j) {
      const RawRange r = grown(j, ts[j]);
      trial.mlp().inputs[j].lo = r.lo;
      trial.mlp().inputs[j].hi = r.hi;
    }
    return trial;
  };
  auto fits = [&](const std::vector<uint64_t>& ts) { return check_overflow(with(ts), names).ok(); };
  const uint64_t all = last_holding(0, 64, [&](uint64_t v) { return fits(std::vector<uint64_t>(n, v)); });
  std::vector<uint64_t> t(n, all);
  for (size_t j = 0; j < n; ++j)
    t[j] = last_holding(all, 64, [&](uint64_t v) {
      auto ts = t;
      ts[j] = v;
      return fits(ts);
    });
  QuantModel widened = with(t);
  auto report = check_overflow(widened, names);  // passes: every t[j] was accepted with the others
  mlp.inputs = std::move(widened.mlp().inputs);
  mlp.overflow = *report;
}

}  // namespace

Result<QuantModel> quantize(const FloatModel& model, const QuantOptions& opts) {
  if (const auto* tree = std::get_if<FloatTreeEnsemble>(&model.kind))
    return quantize_tree(model, *tree, opts);  // compiler/passes/quantize_tree.cc
  if (opts.mode == QuantMode::Int8) return quantize_int8(model, opts);
  NNBPF_CHECK(validate(model, opts));
  NNBPF_TRY(ranges, input_ranges(model, opts));

  const int b_params = choose_scale_bits(model, opts.alpha);
  const int b_inputs =
      opts.calibration_samples.empty() ? 0 : choose_input_scale_bits(model, opts.calibration_samples, opts.alpha);
  const int b_ecdf = std::max(b_params, b_inputs);  // formulas (8) and (9)
  if (opts.margin_bits < 0 || opts.margin_bits > kMaxScaleBits)
    return Error::bad_input("overflow margin " + std::to_string(opts.margin_bits) + " bits is not in [0, " +
                            std::to_string(kMaxScaleBits) + "]");
  std::optional<Result<QuantModel>> result;
  bool lowered = false;
  int b_uniform = -1;
  // The largest b the overflow analysis proves safe (the scan stops there).
  int b_safe = -1;
  Error last = Error::bad_input("no b tried");
  for (int b = kMaxScaleBits; b >= 0 && b_safe < 0; --b) {
    Result<QuantModel> r = build_at(model, ranges, b);
    if (r.ok())
      b_safe = b;
    else
      last = r.error();
  }
  if (opts.scale_bits) {
    const int start = *opts.scale_bits;
    result = build_at(model, ranges, start);
    if (!result->ok()) {
      int fit = -1;  // the largest b below start that fits (b_safe may lie above a gap)
      for (int b = start - 1; b >= 0 && fit < 0; --b)
        if (build_at(model, ranges, b).ok()) fit = b;
      const std::string hint = fit >= 0 ? "; the largest b that fits is " + std::to_string(fit) : "; no b >= 0 fits";
      return Error::bad_input("--scale-bits " + std::to_string(start) + " overflows: " + result->error().message +
                              hint);
    }
    b_uniform = start;
  } else {
    // Precision first (docs/semantics.md#choosing-b): the largest b the
    // overflow analysis proves safe, less the safety margin, but never below
    // the ECDF's b unless that b itself overflows; then per layer.
    if (b_safe < 0) return Error::bad_input("no scale b >= 0 avoids overflow: " + last.message);
    b_uniform = std::max(b_safe - opts.margin_bits, std::min(b_ecdf, b_safe));
    lowered = b_uniform < b_ecdf;
    const Exponents uniform(model.mlp().layers.size() + 1, b_uniform);
    result = build_at(model, ranges, raise_exponents(model, ranges, uniform, opts.margin_bits));
    if (!result->ok()) result = build_at(model, ranges, uniform);
    if (!result->ok()) {  // the analysis is not monotone in b
      b_uniform = b_safe;
      result = build_at(model, ranges, b_safe);
    }
    if (!result->ok()) return result->error();
  }

  QuantModel& qm = result->value();
  QuantMlp& mlp = qm.mlp();
  if (opts.widen_clamp) widen_clamp_ranges(model, qm);
  mlp.clamp_widest = opts.widen_clamp;
  for (const std::string& f : qm.features) qm.feature_ids.push_back(find_feature(f)->id);
  qm.alpha = opts.alpha;
  mlp.b_uniform = b_uniform;
  mlp.ecdf_share = ecdf_share(model, b_uniform);
  qm.b_forced = opts.scale_bits.has_value();
  mlp.b_lowered = lowered;
  qm.b_ecdf = b_ecdf;
  mlp.b_inputs = opts.calibration_samples.empty() ? -1 : b_inputs;
  mlp.ecdf_share_at_b_ecdf = ecdf_share(model, b_ecdf);
  mlp.b_safe = b_safe;
  mlp.margin_bits = opts.scale_bits ? 0 : opts.margin_bits;
  qm.digest = model.digest;
  return std::move(*result);
}

}  // namespace nnbpf::compiler
