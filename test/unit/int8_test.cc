// --quant int8 (docs/semantics.md#int8): the requantization and clamping
// primitives on hand-computed edge cases, the integer form of the
// requantization factor, the quantizer on a hand model, and the int8
// reference against the float model on random inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "compiler/interp/reference.h"
#include "compiler/passes/quantize.h"

namespace nnbpf::compiler {
namespace {

#define EXPECT_HAS(haystack, needle) EXPECT_PRED_FORMAT2(::testing::IsSubstring, needle, haystack)

TEST(Int8, RequantizeRoundsHalfUpAndNeverOverflows) {
  const int32_t half = int32_t{1} << 30;  // with shift 31: factor 0.5
  EXPECT_EQ(requantize(3, half, 31), 2);    // 1.5 -> 2
  EXPECT_EQ(requantize(-3, half, 31), -1);  // -1.5 -> -1
  EXPECT_EQ(requantize(-4, half, 31), -2);
  EXPECT_EQ(requantize(0, half, 31), 0);
  EXPECT_EQ(requantize(1000, 0, 62), 0);    // a factor that rounded to 0
  // The largest accumulator the quantizer allows (|bias| < 2^31 plus
  // 127*127*256) times the largest multiplier, exactly as in 128 bits.
  const int64_t acc = (int64_t{1} << 31) - 1 + 127 * 127 * 256;
  const int32_t m = INT32_MAX;
  for (int sh : {1, 31, 62}) {
    for (int64_t a : {acc, -acc}) {
      const __int128 exact = (static_cast<__int128>(a) * m + (static_cast<__int128>(1) << (sh - 1))) >> sh;
      EXPECT_EQ(requantize(a, m, sh), static_cast<int64_t>(exact)) << a << " sh " << sh;
    }
  }
}

TEST(Int8, ClampToInt8) {
  EXPECT_EQ(clamp_int8(200, false), 127);
  EXPECT_EQ(clamp_int8(127, false), 127);
  EXPECT_EQ(clamp_int8(-127, false), -127);
  EXPECT_EQ(clamp_int8(-128, false), -127);  // symmetric: -128 never occurs
  EXPECT_EQ(clamp_int8(-5, true), 0);         // ReLU
  EXPECT_EQ(clamp_int8(300, true), 127);
  EXPECT_EQ(clamp_int8(int64_t{1} << 40, false), 127);
  EXPECT_EQ(clamp_int8(-(int64_t{1} << 40), true), 0);
}

TEST(Int8, RequantMultiplier) {
  auto rq = requant_multiplier(0.5);
  ASSERT_TRUE(rq.ok());
  EXPECT_EQ(rq->mult, 1 << 30);
  EXPECT_EQ(rq->shift, 31);
  rq = requant_multiplier(1.0);
  ASSERT_TRUE(rq.ok());
  EXPECT_EQ(rq->mult, 1 << 30);
  EXPECT_EQ(rq->shift, 30);
  rq = requant_multiplier(0.75);
  ASSERT_TRUE(rq.ok());
  EXPECT_EQ(rq->mult, 1610612736);
  EXPECT_EQ(rq->shift, 31);
  // m * 2^31 rounds up to 2^31: becomes 2^30 with one more bit of exponent.
  rq = requant_multiplier(1.0 - std::ldexp(1.0, -40));
  ASSERT_TRUE(rq.ok());
  EXPECT_EQ(rq->mult, 1 << 30);
  EXPECT_EQ(rq->shift, 30);
  // Tiny factors: shift capped at 62, multiplier round(r * 2^62).
  rq = requant_multiplier(std::ldexp(1.0, -40));
  ASSERT_TRUE(rq.ok());
  EXPECT_EQ(rq->shift, 62);
  EXPECT_EQ(rq->mult, 1 << 22);
  rq = requant_multiplier(std::ldexp(1.0, -70));
  ASSERT_TRUE(rq.ok());
  EXPECT_EQ(rq->mult, 0);
  // Fewer multiplier bits (large accumulators): same factor, coarser M.
  rq = requant_multiplier(0.75, 20);
  ASSERT_TRUE(rq.ok());
  EXPECT_EQ(rq->mult, 786432);
  EXPECT_EQ(rq->shift, 20);
  // Relative error below 2^-30 over a sweep.
  for (double r = 1e-6; r < 1e6; r *= 1.37) {
    rq = requant_multiplier(r);
    ASSERT_TRUE(rq.ok()) << r;
    EXPECT_GE(rq->shift, 1);
    EXPECT_LE(rq->shift, 62);
    EXPECT_NEAR(std::ldexp(static_cast<double>(rq->mult), -rq->shift) / r, 1.0, std::ldexp(1.0, -30)) << r;
  }
  for (double bad : std::vector<double>{0.0, -1.0, std::ldexp(1.0, 31), std::nan(""), INFINITY}) {
    rq = requant_multiplier(bad);
    EXPECT_FALSE(rq.ok()) << bad;
  }
}

DenseLayer dense(int in, int out, std::vector<double> w, std::vector<double> bias, bool relu) {
  DenseLayer l;
  l.in = in;
  l.out = out;
  l.weight = std::move(w);
  l.bias = std::move(bias);
  l.relu = relu;
  return l;
}

// One raw input in [0, 254], no standardization: layer 0 reads x1 = x * 2^16.
FloatModel hand_model() {
  FloatModel f;
  f.features = {"dst_port"};
  f.input_ranges = {{0, 254}};
  f.mlp().layers = {dense(1, 2, {1.0, -0.5}, {0.1, 0.0}, true), dense(2, 2, {1.0, 0.0, 0.0, 1.0}, {}, false)};
  f.digest = "abc";
  return f;
}

TEST(Int8, QuantizerOnHandModel) {
  QuantOptions opts;
  opts.mode = QuantMode::Int8;
  auto q = quantize(hand_model(), opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->mlp().mode, QuantMode::Int8);
  EXPECT_EQ(q->b, 16);
  // s_w = 1/127: weights 127 and round(-63.5) = -64 (half away from zero).
  EXPECT_DOUBLE_EQ(q->mlp().int8_scales[0].weight, 1.0 / 127);
  EXPECT_DOUBLE_EQ(q->mlp().int8_scales[0].input, std::ldexp(1.0, -16));
  EXPECT_EQ(q->mlp().layers[0].weight, (std::vector<int32_t>{127, -64}));
  EXPECT_EQ(q->mlp().layers[0].bias, (std::vector<int32_t>{832307, 0}));  // round(0.1 * 127 * 2^16)
  // Interval analysis: neuron 0 reaches 254.1, neuron 1 is 0 after ReLU.
  EXPECT_DOUBLE_EQ(q->mlp().int8_scales[0].output, 254.1 / 127);
  const double r = std::ldexp(1.0, -16) / 254.1;
  EXPECT_NEAR(std::ldexp(q->mlp().layers[0].rq_mult, -q->mlp().layers[0].rq_shift), r, r * 1e-9);
  EXPECT_EQ(q->mlp().layers[1].rq_mult, 0);  // last layer: logits, no requantization
  EXPECT_EQ(q->mlp().layers[1].weight, (std::vector<int32_t>{127, 0, 0, 127}));

  // x = 100: x1 = 100 * 2^16; acc0 = 127 * x1 + 832307 -> 50.03 -> 50; acc1 < 0 -> 0.
  const Inference inf = run_reference(*q, {100});
  const int64_t acc0 = 127 * (int64_t{100} << 16) + 832307;
  EXPECT_EQ(clamp_int8(requantize(acc0, q->mlp().layers[0].rq_mult, q->mlp().layers[0].rq_shift), true), 50);
  EXPECT_EQ(inf.logits, (std::vector<int64_t>{127 * 50, 0}));
  EXPECT_EQ(inf.verdict, 0);
  // Beyond the range: clamped to 254 first.
  EXPECT_EQ(run_reference(*q, {1u << 20}).logits, run_reference(*q, {254}).logits);
}

TEST(Int8, CalibrationSamplesSetActivationScales) {
  QuantOptions opts;
  opts.mode = QuantMode::Int8;
  opts.calibration_ranges = std::vector<InputRange>{{0, 100}};
  opts.calibration_samples = {{0}, {50}, {100}};
  auto q = quantize(hand_model(), opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_DOUBLE_EQ(q->mlp().int8_scales[0].output, 100.1 / 127);  // max over the rows, not the box
}

TEST(Int8, RefusesScaleBitsAndHugeBias) {
  QuantOptions opts;
  opts.mode = QuantMode::Int8;
  opts.scale_bits = 12;
  auto q = quantize(hand_model(), opts);
  ASSERT_FALSE(q.ok());
  EXPECT_HAS(q.error().message, "--scale-bits");
  opts.scale_bits.reset();
  FloatModel f = hand_model();
  f.mlp().layers[0].bias = {1e12, 0};
  q = quantize(f, opts);
  ASSERT_FALSE(q.ok());
  EXPECT_HAS(q.error().message, "layer 0 neuron 0: bias");
  EXPECT_HAS(q.error().message, "does not fit int32");
}

// A random standardized MLP 6 -> 32 -> 32 -> 2: the int8 logits, scaled back
// to real units, track the float logits and the verdicts mostly agree.
TEST(Int8, TracksFloatModel) {
  std::mt19937_64 rng(4242);
  std::normal_distribution<double> gauss(0.0, 1.0);
  FloatModel f;
  f.features = {"dst_port", "fwd_pkt_len_max", "fwd_pkt_len_min", "fwd_pkt_len_mean", "fwd_seg_size_avg",
                "fwd_seg_size_min"};
  Standardization st;
  for (int j = 0; j < 6; ++j) {
    f.input_ranges.push_back({0, 2000});
    st.mean.push_back(1000);
    st.mul.push_back(j == 2 ? -1.0 / 400 : 1.0 / 400);  // one negative scale, folded
  }
  f.standardization = st;
  const std::vector<int> sizes = {6, 32, 32, 2};
  for (size_t k = 0; k + 1 < sizes.size(); ++k) {
    DenseLayer l = dense(sizes[k], sizes[k + 1], {}, {}, k + 2 < sizes.size());
    for (int i = 0; i < l.in * l.out; ++i) l.weight.push_back(gauss(rng) / std::sqrt(l.in));
    for (int i = 0; i < l.out; ++i) l.bias.push_back(0.1 * gauss(rng));
    f.mlp().layers.push_back(l);
  }
  std::uniform_int_distribution<uint64_t> raw_dist(0, 2000);
  std::vector<std::vector<uint64_t>> calib;
  for (int t = 0; t < 2000; ++t) {
    std::vector<uint64_t> raw(6);
    for (auto& v : raw) v = raw_dist(rng);
    calib.push_back(raw);
  }
  QuantOptions opts;
  opts.mode = QuantMode::Int8;
  opts.calibration_ranges = std::vector<InputRange>(6, InputRange{0, 2000});
  opts.calibration_samples = calib;
  auto q = quantize(f, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  const double out_scale = q->mlp().int8_scales.back().weight * q->mlp().int8_scales.back().input;
  int agree = 0;
  double worst = 0, range = 0;
  const int trials = 3000;
  for (int t = 0; t < trials; ++t) {
    std::vector<uint64_t> raw(6);
    std::vector<double> rawf(6);
    for (int j = 0; j < 6; ++j) rawf[j] = static_cast<double>(raw[j] = raw_dist(rng));
    const Inference qi = run_reference(*q, raw);
    const Inference fi = run_float(f, rawf);
    agree += qi.verdict == fi.verdict;
    for (int i = 0; i < 2; ++i) {
      worst = std::max(worst, std::fabs(qi.logits[i] * out_scale - fi.flogits[i]));
      range = std::max(range, std::fabs(fi.flogits[i]));
    }
  }
  EXPECT_LT(worst, 0.05 * range) << "worst " << worst << " of " << range;
  EXPECT_GE(agree, trials * 95 / 100) << agree << "/" << trials;
}

}  // namespace
}  // namespace nnbpf::compiler
