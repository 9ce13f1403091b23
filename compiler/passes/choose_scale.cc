// The ECDF choice of the enlargement factor s = 2^b (paper formulas 7-8):
// the smallest s for which at most a share alpha of the model's nonzero
// parameters would round to zero, i.e. have |p| * s < 1.
#include <cmath>
#include <cstddef>

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
  for (const DenseLayer& layer : model.layers) {
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

}  // namespace nnbpf::compiler
