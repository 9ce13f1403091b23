// The integer semantics of docs/semantics.md on hand-computed cases, and the
// quantized model against the float model on random inputs.
#include "compiler/interp/reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compiler/passes/quantize.h"

namespace nnbpf::compiler {
namespace {

// One input, one 1->1 layer with weight 2^b (i.e. 1.0), so the logit is x1.
QuantModel passthrough(QuantInput in, int b) {
  QuantModel m;
  m.features = {"dst_port"};
  m.feature_ids = {0};
  m.b = b;
  m.mlp().inputs = {in};
  QuantLayer l;
  l.in = 1;
  l.out = 1;
  l.weight = {1 << b};
  l.bias = {0};
  m.mlp().layers = {l};
  return m;
}

int64_t x1(QuantInput in, int b, uint64_t raw) { return run_reference(passthrough(in, b), {raw}).logits[0]; }

TEST(Reference, StandardizationPositiveAndNegativeD) {
  // lo=0, hi=1000, q=0, m=100, den=3, b=4: x1 = sign(d) * ((|d| << 4) / 3).
  const QuantInput in{0, 1000, 0, 100, 3};
  EXPECT_EQ(x1(in, 4, 10), -480);   // d = -90: (90*16)/3
  EXPECT_EQ(x1(in, 4, 101), 5);     // d = 1: 16/3 = 5
  EXPECT_EQ(x1(in, 4, 99), -5);     // d = -1: truncates toward zero, not floor
  EXPECT_EQ(x1(in, 4, 100), 0);
  EXPECT_EQ(x1(in, 4, 1000), 4800);
  EXPECT_EQ(x1(in, 4, 5000), 4800);  // clamped to hi
}

TEST(Reference, StandardizationClampsLowAndUsesQ) {
  // q=16 parameters of mean 100.25, sigma 3.5 at b=16 (see quantize_test).
  const QuantInput in{50, 1000, 16, 6569984, 229376};
  EXPECT_EQ(x1(in, 16, 0), x1(in, 16, 50));  // clamped to lo
  EXPECT_EQ(x1(in, 16, 100), -4681);
  EXPECT_EQ(x1(in, 16, 101), 14043);
  EXPECT_EQ(x1(in, 16, 1000), 16847433);
  EXPECT_EQ(standardize_input(in, 16, 101), 14043);
}

TEST(Reference, ZeroDenominatorGivesZero) {
  const QuantInput in{0, 1000, 0, 0, 0};
  EXPECT_EQ(x1(in, 16, 0), 0);
  EXPECT_EQ(x1(in, 16, 999), 0);
}

TEST(Reference, NoStandardizationIsScaledRaw) {
  const QuantInput in{0, 65535, 0, 0, 1};
  EXPECT_EQ(x1(in, 8, 300), 300 * 256);
  EXPECT_EQ(x1(in, 8, 70000), 65535 * 256);
}

TEST(Reference, ArithmeticShiftOfNegatives) {
  // x1 = -1 (d = -1, den = 2^b), weight 1: acc = -1, -1 >> 4 == -1 (not 0).
  QuantModel m = passthrough({0, 10, 0, 1, 16}, 4);
  m.mlp().layers[0].weight = {1};
  EXPECT_EQ(run_reference(m, {0}).logits[0], -1);
  // weight 17: acc = -17, -17 >> 4 == -2 (floor), then + bias 3 == 1.
  m.mlp().layers[0].weight = {17};
  m.mlp().layers[0].bias = {3};
  m.mlp().layers[0].has_bias = true;
  EXPECT_EQ(run_reference(m, {0}).logits[0], 1);
  // positive: 17 >> 4 == 1
  m.mlp().layers[0].bias = {0};
  EXPECT_EQ(run_reference(m, {2}).logits[0], 1);  // d = 1: u = 16/16 = 1, acc = 17
}

TEST(Reference, ReluAndTwoLayers) {
  // b = 2 (s = 4). Inputs: no standardization, x1 = 4x.
  QuantModel m;
  m.features = {"dst_port", "fwd_pkt_count"};
  m.b = 2;
  m.mlp().inputs = {{0, 100, 0, 0, 1}, {0, 100, 0, 0, 1}};
  QuantLayer l1;
  l1.in = 2;
  l1.out = 2;
  l1.weight = {4, -8,    // y0 = x0 - 2 x1 (in units of 1/4) ...
               -2, 6};   // y1 = -0.5 x0 + 1.5 x1
  l1.bias = {1, -3};
  l1.has_bias = true;
  l1.relu = true;
  QuantLayer l2;
  l2.in = 2;
  l2.out = 2;
  l2.weight = {4, 0, 0, 4};
  l2.bias = {0, 0};
  m.mlp().layers = {l1, l2};
  // raw (3, 1): x1 = (12, 4). acc0 = 48 - 32 = 16 >> 2 = 4, +1 = 5.
  // acc1 = -24 + 24 = 0 >> 2 = 0, -3 = -3, relu -> 0. Layer 2: identity (4*v >> 2).
  Inference r = run_reference(m, {3, 1});
  EXPECT_EQ(r.logits, (std::vector<int64_t>{5, 0}));
  EXPECT_EQ(r.verdict, 0);
  // raw (1, 3): x1 = (4, 12). acc0 = 16 - 96 = -80 >> 2 = -20, +1 = -19 -> 0.
  // acc1 = -8 + 72 = 64 >> 2 = 16, -3 = 13.
  r = run_reference(m, {1, 3});
  EXPECT_EQ(r.logits, (std::vector<int64_t>{0, 13}));
  EXPECT_EQ(r.verdict, 1);
}

TEST(Reference, Verdicts) {
  EXPECT_EQ(verdict_of(std::vector<int64_t>{1}), 1);
  EXPECT_EQ(verdict_of(std::vector<int64_t>{0}), 0);
  EXPECT_EQ(verdict_of(std::vector<int64_t>{-5}), 0);
  EXPECT_EQ(verdict_of(std::vector<int64_t>{3, 3}), 0);  // formula (5): ties are benign
  EXPECT_EQ(verdict_of(std::vector<int64_t>{3, 4}), 1);
  EXPECT_EQ(verdict_of(std::vector<int64_t>{4, 3}), 0);
  EXPECT_EQ(verdict_of(std::vector<int64_t>{5, 7, 7}), 1);  // lowest index on ties
  EXPECT_EQ(verdict_of(std::vector<int64_t>{7, 7, 7}), 0);
  EXPECT_EQ(verdict_of(std::vector<int64_t>{-9, -3, -8, -3}), 1);
  EXPECT_EQ(verdict_of(std::vector<double>{0.25}), 1);
  EXPECT_EQ(verdict_of(std::vector<double>{-0.0}), 0);
  EXPECT_EQ(verdict_of(std::vector<double>{0.5, 0.5}), 0);
  EXPECT_EQ(verdict_of(std::vector<double>{0.1, 0.9, 0.9}), 1);
  EXPECT_EQ(verdict_of(std::vector<int64_t>{}), 0);
}

TEST(Reference, OneLogitVerdict) {
  QuantModel m = passthrough({0, 1000, 0, 100, 3}, 4);
  EXPECT_EQ(run_reference(m, {99}).verdict, 0);
  EXPECT_EQ(run_reference(m, {100}).verdict, 0);
  EXPECT_EQ(run_reference(m, {101}).verdict, 1);
}

TEST(Reference, FloatEngine) {
  FloatModel f;
  f.features = {"dst_port", "fwd_pkt_count"};
  f.standardization = Standardization{{10, 0}, {0.5, 0}};
  DenseLayer l;
  l.in = 2;
  l.out = 2;
  l.weight = {1, 1, -1, 2};
  l.bias = {0.5, 0};
  l.relu = true;
  f.mlp().layers = {l};
  // x = ((14 - 10) * 0.5, 0) = (2, 0): y = (2.5, -2) -> relu (2.5, 0).
  Inference r = run_float(f, {14, 1e9});
  EXPECT_EQ(r.flogits, (std::vector<double>{2.5, 0}));
  EXPECT_EQ(r.verdict, 0);
  f.standardization.reset();
  r = run_float(f, {1, 2});  // (1+2+0.5, -1+4) = (3.5, 3)
  EXPECT_EQ(r.flogits, (std::vector<double>{3.5, 3}));
}

// Random MLP 6 -> 24 -> 12 -> 2 with standardization; quantized at b = 16
// against the float model on random in-range integer inputs.
TEST(Reference, QuantizedAgreesWithFloat) {
  std::mt19937_64 rng(12345);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  FloatModel f;
  f.features = {"dst_port", "fwd_pkt_len_max", "fwd_pkt_len_min", "fwd_pkt_len_mean", "fwd_seg_size_avg",
                "fwd_seg_size_min"};
  const int n = 6;
  Standardization st;
  for (int j = 0; j < n; ++j) {
    f.input_ranges.push_back({0, 2000});
    st.mean.push_back(200 + 1000 * unit(rng));
    st.mul.push_back(1.0 / (50 + 500 * unit(rng)));
  }
  f.standardization = st;
  const std::vector<int> sizes = {n, 24, 12, 2};
  for (size_t k = 0; k + 1 < sizes.size(); ++k) {
    DenseLayer l;
    l.in = sizes[k];
    l.out = sizes[k + 1];
    for (int i = 0; i < l.in * l.out; ++i) l.weight.push_back(gauss(rng) / std::sqrt(l.in));
    for (int i = 0; i < l.out; ++i) l.bias.push_back(0.1 * gauss(rng));
    l.relu = k + 2 < sizes.size();
    l.origin = "fc" + std::to_string(k);
    f.mlp().layers.push_back(l);
  }
  QuantOptions opts;
  opts.scale_bits = 16;
  Result<QuantModel> q = quantize(f, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  ASSERT_EQ(q->b, 16);

  std::uniform_int_distribution<uint64_t> raw_dist(0, 2000);
  const int trials = 5000;
  int agree = 0;
  double worst = 0;
  for (int t = 0; t < trials; ++t) {
    std::vector<uint64_t> raw(n);
    std::vector<double> rawf(n);
    for (int j = 0; j < n; ++j) rawf[j] = static_cast<double>(raw[j] = raw_dist(rng));
    const Inference qi = run_reference(*q, raw);
    const Inference fi = run_float(f, rawf);
    agree += qi.verdict == fi.verdict;
    for (size_t o = 0; o < fi.flogits.size(); ++o) {
      const double err = std::fabs(static_cast<double>(qi.logits[o]) / 65536.0 - fi.flogits[o]);
      worst = std::max(worst, err / (1.0 + std::fabs(fi.flogits[o])));
      EXPECT_NEAR(static_cast<double>(qi.logits[o]), fi.flogits[o] * 65536.0,
                  5e-4 * 65536.0 * (1.0 + std::fabs(fi.flogits[o])));
    }
  }
  EXPECT_GE(agree, trials * 99 / 100) << agree << " of " << trials;
  RecordProperty("worst_relative_error", std::to_string(worst));
}

}  // namespace
}  // namespace nnbpf::compiler
