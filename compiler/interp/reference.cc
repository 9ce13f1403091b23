// The reference interpreter. run_reference is the integer semantics of
// docs/semantics.md, step for step, in the order the kernel evaluates it;
// run_float evaluates the float model the ONNX file describes.
#include "compiler/interp/reference.h"

#include <cstddef>

#include "compiler/interp/tree.h"

namespace nnbpf::compiler {

namespace {

// Formula (4): acc = sum_j W_E[i][j] * x_j with wrapping 64-bit arithmetic
// (unsigned, so wrapping is defined; the analysis rules it out anyway),
// y = ars(acc, shift) + B_E[i] with shift = b_{k-1} the exponent of the
// inputs (docs/semantics.md#per-layer), then ReLU.
std::vector<int64_t> run_dense(const QuantLayer& layer, int shift, const std::vector<int64_t>& x) {
  std::vector<int64_t> y(static_cast<size_t>(layer.out));
  for (int i = 0; i < layer.out; ++i) {
    uint64_t acc = 0;
    for (int j = 0; j < layer.in; ++j)
      acc += static_cast<uint64_t>(static_cast<int64_t>(layer.w(i, j))) * static_cast<uint64_t>(x[j]);
    const int64_t shifted = static_cast<int64_t>(acc) >> shift;  // arithmetic (C++20)
    const int64_t bias = layer.bias.empty() ? 0 : layer.bias[i];
    int64_t v = static_cast<int64_t>(static_cast<uint64_t>(shifted) + static_cast<uint64_t>(bias));
    if (layer.relu && v < 0) v = 0;
    y[i] = v;
  }
  return y;
}

// docs/semantics.md#int8, step 2: acc = B + sum_j W[i][j] * a_j (int64; a is
// x1 of step 1 for layer 0, an int8 activation after),
// then requantize, ReLU and clamp to int8; the last layer's acc (after its
// ReLU, if any) are the logits.
std::vector<int64_t> run_dense_int8(const QuantLayer& layer, bool last, const std::vector<int64_t>& a) {
  std::vector<int64_t> y(static_cast<size_t>(layer.out));
  for (int i = 0; i < layer.out; ++i) {
    uint64_t acc = static_cast<uint64_t>(static_cast<int64_t>(layer.bias.empty() ? 0 : layer.bias[i]));
    for (int j = 0; j < layer.in; ++j)
      acc += static_cast<uint64_t>(static_cast<int64_t>(layer.w(i, j))) * static_cast<uint64_t>(a[j]);
    const int64_t v = static_cast<int64_t>(acc);
    if (last)
      y[i] = layer.relu && v < 0 ? 0 : v;
    else
      y[i] = clamp_int8(requantize(v, layer.rq_mult, layer.rq_shift), layer.relu);
  }
  return y;
}

Inference run_reference_int8(const QuantModel& model, const QuantMlp& mlp, const std::vector<uint64_t>& raw) {
  std::vector<int64_t> a(mlp.inputs.size());  // step 1, as in the int32 mode
  for (size_t j = 0; j < mlp.inputs.size(); ++j)
    a[j] = standardize_input(mlp.inputs[j], model.b, j < raw.size() ? raw[j] : 0);
  for (size_t l = 0; l < mlp.layers.size(); ++l)
    a = run_dense_int8(mlp.layers[l], l + 1 == mlp.layers.size(), a);
  Inference out;
  out.verdict = verdict_of(a);
  out.logits = std::move(a);
  return out;
}

template <typename T>
int verdict_impl(const std::vector<T>& logits) {
  if (logits.empty()) return 0;
  if (logits.size() == 1) return logits[0] > 0 ? 1 : 0;
  if (logits.size() == 2) return logits[1] > logits[0] ? 1 : 0;  // formula (5)
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = i;  // strict: lowest index wins ties
  return static_cast<int>(best);
}

}  // namespace

int verdict_of(const std::vector<int64_t>& logits) { return verdict_impl(logits); }
int verdict_of(const std::vector<double>& logits) { return verdict_impl(logits); }

namespace {

// Steps 1-3 of docs/semantics.md (int32), or docs/semantics.md#int8.
Inference run_reference_mlp(const QuantModel& model, const QuantMlp& mlp, const std::vector<uint64_t>& raw) {
  if (mlp.mode == QuantMode::Int8) return run_reference_int8(model, mlp, raw);
  std::vector<int64_t> x(mlp.inputs.size());
  for (size_t j = 0; j < mlp.inputs.size(); ++j)
    x[j] = standardize_input(mlp.inputs[j], model.b, j < raw.size() ? raw[j] : 0);
  for (size_t k = 0; k < mlp.layers.size(); ++k) x = run_dense(mlp.layers[k], model.layer_shift(k), x);
  Inference out;
  out.verdict = verdict_of(x);
  out.logits = std::move(x);
  return out;
}

Inference run_mlp_float(const FloatModel& model, const FloatMlp& mlp, const std::vector<double>& raw) {
  const size_t n = static_cast<size_t>(mlp.inputs());
  std::vector<double> x(n);
  for (size_t j = 0; j < n; ++j) {
    x[j] = j < raw.size() ? raw[j] : 0.0;
    if (model.standardization) x[j] = (x[j] - model.standardization->mean[j]) * model.standardization->mul[j];
  }
  for (const DenseLayer& layer : mlp.layers) {
    std::vector<double> y(static_cast<size_t>(layer.out));
    for (int i = 0; i < layer.out; ++i) {
      double acc = 0.0;
      for (int j = 0; j < layer.in; ++j) acc += layer.w(i, j) * x[j];
      if (!layer.bias.empty()) acc += layer.bias[i];
      y[i] = layer.relu && acc < 0 ? 0.0 : acc;
    }
    x = std::move(y);
  }
  Inference out;
  out.verdict = verdict_of(x);
  out.flogits = std::move(x);
  return out;
}

}  // namespace

Inference run_reference(const QuantModel& model, const std::vector<uint64_t>& raw) {
  return std::visit(Overloaded{[&](const QuantMlp& mlp) { return run_reference_mlp(model, mlp, raw); },
                               [&](const QuantTreeEnsemble& tree) { return run_tree_reference(tree, raw); }},
                    model.kind);
}

Inference run_float(const FloatModel& model, const std::vector<double>& raw) {
  return std::visit(Overloaded{[&](const FloatMlp& mlp) { return run_mlp_float(model, mlp, raw); },
                               [&](const FloatTreeEnsemble& tree) { return run_tree_float(model, tree, raw); }},
                    model.kind);
}

}  // namespace nnbpf::compiler
