// FloatModel -> QuantModel for --quant int8 (docs/semantics.md#int8): int8
// weights with one scale per layer, int8 hidden activations with one scale
// per layer, int32 biases, and integer requantization between layers (Hara &
// Sasabe's per-layer quantize/dequantize, in integers only); layer 0 reads
// step 1's fixed-point inputs. Activation scales come from the calibration
// rows run through the float model, or without them from interval analysis of
// the float model over the input ranges.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "compiler/interp/reference.h"
#include "compiler/ir/catalog.h"
#include "compiler/passes/quantize.h"
#include "compiler/passes/quantize_detail.h"

namespace nnbpf::compiler {

namespace {

using namespace quant_detail;

constexpr int kMaxInputFracBits = 16;  // b: fractional bits of step 1's x1, layer 0's input
constexpr int kMinMultiplierBits = 16;  // precision of a requantization multiplier
constexpr double kInt8Max = 127;

// Standardized value z = (x - mean) * |mul| of a raw value (sign of mul folded
// into layer 0, as in the int32 mode).
double standardized(const FloatModel& model, size_t j, double x) {
  if (!model.standardization) return x;
  const double mul = std::fabs(model.standardization->mul[j]);
  return mul == 0 ? 0.0 : (x - model.standardization->mean[j]) * mul;
}

double column_sign(const FloatModel& model, size_t j) {
  return model.standardization && model.standardization->mul[j] < 0 ? -1.0 : 1.0;
}

// max |activation| after each layer but the last (after its ReLU), over the
// calibration rows (raw values clamped to the ranges, as the kernel does).
std::vector<double> calibrated_bounds(const FloatModel& model, const std::vector<RawRange>& ranges,
                                      const std::vector<std::vector<uint64_t>>& samples) {
  const size_t n_layers = model.mlp().layers.size();
  std::vector<double> bound(n_layers, 0.0);
  for (const auto& row : samples) {
    std::vector<double> x(ranges.size());
    for (size_t j = 0; j < ranges.size(); ++j) {
      const uint64_t raw = j < row.size() ? row[j] : 0;
      const uint64_t xc = std::clamp(raw, ranges[j].lo, ranges[j].hi);
      x[j] = column_sign(model, j) * standardized(model, j, static_cast<double>(xc));
    }
    for (size_t k = 0; k + 1 < n_layers; ++k) {
      const DenseLayer& L = model.mlp().layers[k];
      std::vector<double> y(static_cast<size_t>(L.out));
      for (int i = 0; i < L.out; ++i) {
        double acc = L.bias.empty() ? 0.0 : L.bias[i];
        for (int j = 0; j < L.in; ++j) acc += L.w(i, j) * x[j];
        y[i] = L.relu && acc < 0 ? 0.0 : acc;
        bound[k] = std::max(bound[k], std::fabs(y[i]));
      }
      x = std::move(y);
    }
  }
  return bound;
}

// The same bounds by interval arithmetic over the input box (sound, looser).
std::vector<double> interval_bounds(const FloatModel& model, const std::vector<RawRange>& ranges) {
  const size_t n_layers = model.mlp().layers.size();
  std::vector<double> bound(n_layers, 0.0);
  std::vector<double> lo(ranges.size()), hi(ranges.size());
  for (size_t j = 0; j < ranges.size(); ++j) {
    const double a = column_sign(model, j) * standardized(model, j, static_cast<double>(ranges[j].lo));
    const double b = column_sign(model, j) * standardized(model, j, static_cast<double>(ranges[j].hi));
    lo[j] = std::min(a, b);
    hi[j] = std::max(a, b);
  }
  for (size_t k = 0; k + 1 < n_layers; ++k) {
    const DenseLayer& L = model.mlp().layers[k];
    std::vector<double> nlo(static_cast<size_t>(L.out)), nhi(static_cast<size_t>(L.out));
    for (int i = 0; i < L.out; ++i) {
      double a = L.bias.empty() ? 0.0 : L.bias[i];
      double c = a;
      for (int j = 0; j < L.in; ++j) {
        const double w = L.w(i, j);
        a += std::min(w * lo[j], w * hi[j]);
        c += std::max(w * lo[j], w * hi[j]);
      }
      if (L.relu) {
        a = std::max(a, 0.0);
        c = std::max(c, 0.0);
      }
      nlo[i] = a;
      nhi[i] = c;
      bound[k] = std::max({bound[k], std::fabs(a), std::fabs(c)});
    }
    lo = std::move(nlo);
    hi = std::move(nhi);
  }
  return bound;
}

double scale_of(double max_abs) { return max_abs > 0 && std::isfinite(max_abs) ? max_abs / kInt8Max : 1.0; }

}  // namespace

Result<Requant> requant_multiplier(double r, int mult_bits) {
  if (!(r > 0) || !std::isfinite(r))
    return Error::bad_input("requantization factor " + fmt(r) + " is not a positive finite number");
  if (mult_bits < 1 || mult_bits > 31)
    return Error::bad_input("requantization multiplier bits " + std::to_string(mult_bits) + " not in [1, 31]");
  int e = 0;
  const double m = std::frexp(r, &e);  // r = m * 2^e, m in [0.5, 1)
  int64_t mult = std::llround(std::ldexp(m, mult_bits));
  if (mult == (int64_t{1} << mult_bits)) {
    mult >>= 1;
    ++e;
  }
  int shift = mult_bits - e;
  if (shift < 1)
    return Error::bad_input("requantization factor " + fmt(r) + " is too large (must be below 2^" +
                            std::to_string(mult_bits - 1) + ")");
  if (shift > 62) {
    shift = 62;
    mult = std::llround(std::ldexp(r, 62));
  }
  return Requant{static_cast<int32_t>(mult), shift};
}

namespace {

// Bits of the requantization multiplier for accumulators bounded by acc_bound:
// at most 31, and acc_bound * M < 2^62 so that acc * M + 2^(sh-1) fits int64.
int multiplier_bits(double acc_bound) {
  const int c = static_cast<int>(std::ceil(std::log2(acc_bound + 1)));
  return std::min(31, 62 - c);
}

// The integer layers for step 1 at scale b (inputs given), or why not.
Result<QuantModel> build_int8_at(const FloatModel& model, const std::vector<double>& bounds, QuantModel qm) {
  QuantMlp& mlp = qm.mlp();
  const size_t n_layers = model.mlp().layers.size();
  double max_acc = 0;
  // Layer 0 reads x1 = z * 2^b; its bound per input, exact from step 1.
  std::vector<double> in_bound(mlp.inputs.size());
  double max_x1 = 0;
  for (size_t j = 0; j < mlp.inputs.size(); ++j) {
    const QuantInput& in = mlp.inputs[j];
    in_bound[j] = std::max(std::fabs(static_cast<double>(standardize_input(in, qm.b, in.lo))),
                           std::fabs(static_cast<double>(standardize_input(in, qm.b, in.hi))));
    max_x1 = std::max(max_x1, in_bound[j]);
  }
  if (max_x1 >= std::ldexp(1.0, 31))
    return Error::bad_input("standardized input range " + fmt(max_x1) + " at b=" + std::to_string(qm.b) +
                            " does not fit int32");
  for (size_t k = 0; k < n_layers; ++k) {
    const DenseLayer& L = model.mlp().layers[k];
    const bool last = k + 1 == n_layers;
    Int8LayerScales sc;
    double wmax = 0;
    for (double w : L.weight) wmax = std::max(wmax, std::fabs(w));
    sc.weight = scale_of(wmax);
    sc.input = k == 0 ? std::ldexp(1.0, -qm.b) : scale_of(bounds[k - 1]);
    QuantLayer q;
    q.in = L.in;
    q.out = L.out;
    q.relu = L.relu;
    q.has_bias = !L.bias.empty();
    q.weight.resize(L.weight.size());
    for (int i = 0; i < L.out; ++i)
      for (int j = 0; j < L.in; ++j) {
        const double w = L.w(i, j) * (k == 0 ? column_sign(model, static_cast<size_t>(j)) : 1.0);
        q.weight[static_cast<size_t>(i) * L.in + j] =
            static_cast<int32_t>(std::clamp(std::round(w / sc.weight), -kInt8Max, kInt8Max));
      }
    q.bias.assign(static_cast<size_t>(L.out), 0);
    for (int i = 0; i < L.out && q.has_bias; ++i) {
      const double bq = std::round(L.bias[i] / (sc.weight * sc.input));
      if (!(std::fabs(bq) <= 2147483647.0))
        return Error::bad_input(layer_label(model, k) + " neuron " + std::to_string(i) + ": bias " +
                                fmt(L.bias[i]) + " / (weight scale " + fmt(sc.weight) + " * input scale " +
                                fmt(sc.input) + ") does not fit int32");
      q.bias[i] = static_cast<int32_t>(bq);
    }
    double layer_acc = 0;  // bound on |acc| (exact: integers below 2^53)
    for (int i = 0; i < L.out; ++i) {
      double acc = std::fabs(static_cast<double>(q.bias[i]));
      for (int j = 0; j < L.in; ++j)
        acc += std::fabs(static_cast<double>(q.w(i, j))) * (k == 0 ? in_bound[j] : kInt8Max);
      layer_acc = std::max(layer_acc, acc);
    }
    if (layer_acc >= std::ldexp(1.0, 53))
      return Error::bad_input(layer_label(model, k) + ": accumulator bound " + fmt(layer_acc) + " at b=" +
                              std::to_string(qm.b) + " is too large");
    max_acc = std::max(max_acc, layer_acc);
    if (!last) {
      sc.output = scale_of(bounds[k]);
      const int bits = multiplier_bits(layer_acc);
      if (bits < kMinMultiplierBits)
        return Error::bad_input(layer_label(model, k) + ": accumulator bound " + fmt(layer_acc) + " at b=" +
                                std::to_string(qm.b) + " leaves " + std::to_string(bits) +
                                " bits for the requantization multiplier");
      auto rq = requant_multiplier(sc.weight * sc.input / sc.output, bits);
      if (!rq) return rq.error().with_context(layer_label(model, k) + ": ");
      q.rq_mult = rq->mult;
      q.rq_shift = rq->shift;
      max_acc = std::max(max_acc, layer_acc * rq->mult);
    }
    mlp.int8_scales.push_back(sc);
    mlp.layers.push_back(std::move(q));
  }
  mlp.overflow.max_abs_activation = std::max(max_x1, kInt8Max);
  mlp.overflow.max_abs_accumulator = max_acc;
  mlp.overflow.activation_margin_bits = 31 - std::log2(std::max(mlp.overflow.max_abs_activation, 1.0));
  mlp.overflow.accumulator_margin_bits = 63 - std::log2(std::max(max_acc, 1.0));
  return qm;
}

}  // namespace

Result<QuantModel> quantize_int8(const FloatModel& model, const QuantOptions& opts) {
  NNBPF_CHECK(validate(model, opts));
  if (opts.scale_bits)
    return Error::bad_input("--scale-bits applies to --quant int32; --quant int8 chooses its scales per layer");
  NNBPF_TRY(ranges, input_ranges(model, opts));

  // Activation bounds of every hidden layer's output.
  const bool calibrated = !opts.calibration_samples.empty();
  const std::vector<double> bounds =
      calibrated ? calibrated_bounds(model, ranges, opts.calibration_samples) : interval_bounds(model, ranges);

  // The largest b <= 16 at which step 1 and every layer fit.
  std::optional<Error> first_error;
  for (int b = kMaxInputFracBits; b >= 0; --b) {
    QuantModel qm;
    QuantMlp& mlp = qm.mlp();
    mlp.mode = QuantMode::Int8;
    qm.features = model.features;
    qm.b = b;
    std::optional<Error> err;
    for (size_t j = 0; j < ranges.size() && !err; ++j) {
      auto in = quantize_input(model, j, ranges[j], b);
      if (in)
        mlp.inputs.push_back(*in);
      else
        err = in.error();
    }
    Result<QuantModel> built = err ? Result<QuantModel>(*err) : build_int8_at(model, bounds, std::move(qm));
    if (!built) {
      if (!first_error) first_error = built.error();
      continue;
    }
    QuantModel& out = built.value();
    QuantMlp& out_mlp = out.mlp();
    for (const std::string& f : out.features) out.feature_ids.push_back(find_feature(f)->id);
    out.alpha = opts.alpha;
    out.b_ecdf = b;
    out_mlp.b_lowered = b < kMaxInputFracBits;
    out_mlp.b_inputs = -1;  // formula (9) is an int32-mode criterion
    out.digest = model.digest;
    return built;
  }
  return Error::bad_input("--quant int8: no input scale b >= 0 fits: " + first_error->message);
}

}  // namespace nnbpf::compiler
