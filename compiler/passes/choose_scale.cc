// The ECDF choice of the enlargement factor s = 2^b (paper formulas 7-8):
// the smallest s for which at most a share alpha of the model's nonzero
// parameters would round to zero, i.e. have |p| * s < 1.
#include <cmath>
#include <cstddef>
#include <vector>

#include "compiler/passes/quantize.h"

namespace nnbpf::compiler {

namespace {
constexpr int kMaxScaleBits = 30;
}  // namespace

double ecdf_share(const FloatModel& model, int b) {
  size_t nonzero = 0;
  size_t below = 0;
  auto count = [&](const std::vector<double>& params) {
    for (double p : params) {
      if (p == 0.0) continue;
      ++nonzero;
      if (std::ldexp(std::fabs(p), b) < 1.0) ++below;
    }
  };
  for (const DenseLayer& layer : model.mlp().layers) {
    count(layer.weight);
    count(layer.bias);
  }
  return nonzero == 0 ? 0.0 : static_cast<double>(below) / static_cast<double>(nonzero);
}

int choose_scale_bits(const FloatModel& model, double alpha) {
  for (int b = 0; b <= kMaxScaleBits; ++b)
    if (ecdf_share(model, b) <= alpha) return b;
  return kMaxScaleBits;
}

double input_ecdf_share(const FloatModel& model, const std::vector<std::vector<uint64_t>>& samples, int j, int b) {
  if (!model.standardization) return 0.0;  // raw integers: x * s is exact
  const double mean = model.standardization->mean[j];
  const double mul = model.standardization->mul[j];
  if (mul == 0.0) return 0.0;  // the input is constant 0 by definition
  size_t nonzero = 0, below = 0;
  for (const auto& row : samples) {
    double z = (static_cast<double>(row[j]) - mean) * mul;
    if (z == 0.0) continue;
    ++nonzero;
    if (std::ldexp(std::fabs(z), b) < 1.0) ++below;
  }
  return nonzero == 0 ? 0.0 : static_cast<double>(below) / static_cast<double>(nonzero);
}

int choose_input_scale_bits(const FloatModel& model, const std::vector<std::vector<uint64_t>>& samples,
                            double alpha) {
  // Only inputs the first layer reads: a column of zero weights makes the
  // input's resolution irrelevant.
  std::vector<int> used;
  for (int j = 0; j < model.inputs(); ++j) {
    const DenseLayer& first = model.mlp().layers.front();
    for (int i = 0; i < first.out; ++i)
      if (first.w(i, j) != 0.0) {
        used.push_back(j);
        break;
      }
  }
  for (int b = 0; b <= kMaxScaleBits; ++b) {
    bool ok = true;
    for (size_t u = 0; u < used.size() && ok; ++u) ok = input_ecdf_share(model, samples, used[u], b) <= alpha;
    if (ok) return b;
  }
  return kMaxScaleBits;
}

}  // namespace nnbpf::compiler
