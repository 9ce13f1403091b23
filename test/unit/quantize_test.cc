// The ECDF choice of b (formulas 7-8), the enlargement of parameters
// (formula 2), integer standardization parameters (formula 1) and the
// overflow analysis that lowers or refuses b.
#include "compiler/passes/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "compiler/interp/reference.h"
#include "compiler/ir/catalog.h"
#include "compiler/passes/overflow.h"

namespace nnbpf::compiler {
namespace {

// gtest's own substring assertion (no gmock dependency).
#define EXPECT_HAS(haystack, needle) EXPECT_PRED_FORMAT2(::testing::IsSubstring, needle, haystack)

DenseLayer dense(int in, int out, std::vector<double> w, std::vector<double> bias = {}, bool relu = false,
                 std::string origin = "") {
  DenseLayer l;
  l.in = in;
  l.out = out;
  l.weight = std::move(w);
  l.bias = std::move(bias);
  l.relu = relu;
  l.origin = std::move(origin);
  return l;
}

FloatModel model(std::vector<std::string> features, std::vector<DenseLayer> layers) {
  FloatModel m;
  m.features = std::move(features);
  m.kind = FloatMlp{std::move(layers)};
  m.digest = "abc123";
  return m;
}

// Nonzero parameters 0.5, 0.001, -0.25, 2.0 (weights) and 0.01 (bias); the
// zero weight is not counted.
FloatModel ecdf_model() {
  return model({"dst_port", "fwd_pkt_len_max", "fwd_pkt_len_min"},
               {dense(3, 2, {0.5, 0.001, -0.25, 0.0, 2.0, 0.0}, {0.01, 0.0})});
}

TEST(EcdfShare, CountsNonzeroParametersBelowOneOverS) {
  const FloatModel m = ecdf_model();
  EXPECT_DOUBLE_EQ(ecdf_share(m, 0), 4.0 / 5);   // all but 2.0
  EXPECT_DOUBLE_EQ(ecdf_share(m, 1), 3.0 / 5);   // 0.5 * 2 == 1 is not < 1
  EXPECT_DOUBLE_EQ(ecdf_share(m, 2), 2.0 / 5);   // 0.001, 0.01
  EXPECT_DOUBLE_EQ(ecdf_share(m, 6), 2.0 / 5);   // 0.01 * 64 = 0.64
  EXPECT_DOUBLE_EQ(ecdf_share(m, 7), 1.0 / 5);   // 0.01 * 128 = 1.28
  EXPECT_DOUBLE_EQ(ecdf_share(m, 9), 1.0 / 5);   // 0.001 * 512 = 0.512
  EXPECT_DOUBLE_EQ(ecdf_share(m, 10), 0.0);      // 0.001 * 1024 = 1.024
}

TEST(EcdfShare, ChoosesSmallestBWithinAlpha) {
  const FloatModel m = ecdf_model();
  EXPECT_EQ(choose_scale_bits(m, 0.0), 10);
  EXPECT_EQ(choose_scale_bits(m, 0.2), 7);
  EXPECT_EQ(choose_scale_bits(m, 0.5), 2);
  EXPECT_EQ(choose_scale_bits(m, 0.8), 0);
  // No nonzero parameters: share 0 everywhere.
  EXPECT_EQ(choose_scale_bits(model({"dst_port"}, {dense(1, 1, {0.0})}), 0.0), 0);
  // Parameters too small for any b <= 30: 30.
  EXPECT_EQ(choose_scale_bits(model({"dst_port"}, {dense(1, 1, {1e-12})}), 0.0), 30);
}

TEST(Quantize, EcdfChoiceAndRoundingHalfAwayFromZero) {
  FloatModel m = model({"dst_port"}, {dense(1, 4, {0.25, -0.25, 0.75, 0.375}, {0.125, -0.125, 0, 0})});
  m.input_ranges = {{0, 100}};
  QuantOptions opts;
  opts.alpha = 0.0;
  // Precision first (the default): the largest safe b less a 1-bit margin.
  Result<QuantModel> pf = quantize(m, opts);
  ASSERT_TRUE(pf.ok()) << pf.error().message;
  EXPECT_EQ(pf->mlp().b_safe, 24);  // y = 75 * 2^b < 2^31 <= 75 * 2^25
  EXPECT_EQ(pf->b, 23);
  EXPECT_EQ(pf->b_ecdf, 3);
  EXPECT_FALSE(pf->mlp().b_lowered);
  EXPECT_EQ(pf->mlp().layers[0].weight[3], 3145728);  // 0.375 * 2^23
  // A margin as wide as the range leaves the ECDF's b, never less.
  opts.margin_bits = 30;
  Result<QuantModel> q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->b, 3);  // 0.125 * 8 = 1
  EXPECT_EQ(q->b_ecdf, 3);
  EXPECT_FALSE(q->b_forced);
  EXPECT_FALSE(q->mlp().b_lowered);
  EXPECT_EQ(q->mlp().ecdf_share, 0.0);
  EXPECT_EQ(q->mlp().layers[0].weight, (std::vector<int32_t>{2, -2, 6, 3}));
  EXPECT_EQ(q->mlp().layers[0].bias, (std::vector<int32_t>{1, -1, 0, 0}));
  EXPECT_TRUE(q->mlp().layers[0].has_bias);
  EXPECT_EQ(q->feature_ids, (std::vector<int>{0}));
  EXPECT_EQ(q->digest, "abc123");
  EXPECT_EQ(q->alpha, 0.0);

  opts.scale_bits = 2;  // 0.375 * 4 = 1.5 -> 2; 0.125 * 4 = 0.5 -> 1; -0.5 -> -1
  q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->b, 2);
  EXPECT_TRUE(q->b_forced);
  EXPECT_EQ(q->b_ecdf, 3);
  EXPECT_EQ(q->mlp().layers[0].weight, (std::vector<int32_t>{1, -1, 3, 2}));
  EXPECT_EQ(q->mlp().layers[0].bias, (std::vector<int32_t>{1, -1, 0, 0}));
  EXPECT_DOUBLE_EQ(q->mlp().ecdf_share, 2.0 / 6);  // +-0.125 * 4 < 1: the share at the final b
}

TEST(Quantize, NoBiasGivesZeros) {
  FloatModel m = model({"dst_port"}, {dense(1, 2, {1, 2})});
  m.input_ranges = {{0, 10}};
  QuantOptions opts;
  opts.scale_bits = 4;
  Result<QuantModel> q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_FALSE(q->mlp().layers[0].has_bias);
  EXPECT_EQ(q->mlp().layers[0].bias, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(q->mlp().inputs[0].q, 0u);
  EXPECT_EQ(q->mlp().inputs[0].m, 0);
  EXPECT_EQ(q->mlp().inputs[0].den, 1u);
}

// 3e-6 * 2^b < 1 up to b = 18, so the ECDF picks 19; dst_port's catalog range
// [0, 65535] scaled by 2^b fits int32 only for b <= 15.
FloatModel port_model() { return model({"dst_port"}, {dense(1, 2, {3e-6, 0.5}, {}, false, "fc")}); }

TEST(Quantize, LowersBWhenCatalogRangeOverflows) {
  QuantOptions opts;
  opts.alpha = 0.0;
  Result<QuantModel> q = quantize(port_model(), opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->b_ecdf, 19);
  EXPECT_EQ(q->b, 15);
  EXPECT_TRUE(q->mlp().b_lowered);
  EXPECT_EQ(q->mlp().inputs[0].lo, 0u);
  EXPECT_EQ(q->mlp().inputs[0].hi, 65535u);
  EXPECT_DOUBLE_EQ(q->mlp().ecdf_share, 0.5);  // 3e-6 * 2^15 < 1
  EXPECT_DOUBLE_EQ(q->mlp().overflow.max_abs_activation, 65535.0 * 32768);
  EXPECT_NEAR(q->mlp().overflow.activation_margin_bits, 31 - std::log2(65535.0 * 32768), 1e-9);
  EXPECT_DOUBLE_EQ(q->mlp().overflow.max_abs_accumulator, 65535.0 * 32768 * 16384);
}

TEST(Quantize, LowersBForHugeCalibrationRange) {
  QuantOptions opts;
  opts.alpha = 0.0;
  opts.calibration_ranges = std::vector<InputRange>{{0, 1e6}};
  Result<QuantModel> q = quantize(port_model(), opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->b, 11);  // 1e6 * 2^11 < 2^31 < 1e6 * 2^12
  EXPECT_TRUE(q->mlp().b_lowered);
  EXPECT_EQ(q->mlp().inputs[0].hi, 1000000u);
}

TEST(Quantize, RefusesForcedBThatOverflows) {
  QuantOptions opts;
  opts.scale_bits = 19;
  Result<QuantModel> q = quantize(port_model(), opts);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().kind, ErrorKind::BadInput);
  EXPECT_HAS(q.error().message, "--scale-bits 19 overflows");
  EXPECT_HAS(q.error().message, "input 'dst_port' (raw range [0, 65535])");
  EXPECT_HAS(q.error().message, "the largest b that fits is 15");
  EXPECT_EQ(q.error().message.find('\n'), std::string::npos);
}

TEST(Quantize, RefusesForcedBWhenHiddenNeuronOverflows) {
  // Input fits (100 * 2^16 < 2^31), weights fit int32 (30000 * 2^16 < 2^31),
  // but neuron 1 of layer 0 reaches 30000 * 100 * 2^16 > 2^31.
  FloatModel m = model({"dst_port"}, {dense(1, 2, {1, 30000}, {}, true, "fc1"), dense(2, 1, {1, 1})});
  m.input_ranges = {{0, 100}};
  QuantOptions opts;
  opts.scale_bits = 16;
  Result<QuantModel> q = quantize(m, opts);
  ASSERT_FALSE(q.ok());
  EXPECT_HAS(q.error().message, "layer 0 ('fc1') neuron 1: output range [0, 196608000000]");
  // y = 3e6 * 2^b < 2^31 needs b <= 9.
  EXPECT_HAS(q.error().message, "the largest b that fits is 9");
}

TEST(Quantize, RefusesWhenNoBFits) {
  // fwd_bytes_total's catalog range [0, 2^48 - 1] without standardization:
  // x1 = x * 2^b exceeds int32 even at b = 0.
  const FloatModel m = model({"fwd_bytes_total"}, {dense(1, 1, {0.5})});
  Result<QuantModel> q = quantize(m, {});
  ASSERT_FALSE(q.ok());
  EXPECT_HAS(q.error().message, "no scale b >= 0 avoids overflow");
  EXPECT_HAS(q.error().message, "input 'fwd_bytes_total' (raw range [0, 281474976710655])");
  QuantOptions opts;
  opts.scale_bits = 4;
  q = quantize(m, opts);
  ASSERT_FALSE(q.ok());
  EXPECT_HAS(q.error().message, "no b >= 0 fits");
}

TEST(Quantize, Int32WeightOverflow) {
  FloatModel m = model({"dst_port"}, {dense(1, 1, {1e5}, {}, false, "big")});
  m.input_ranges = {{0, 1}};
  QuantOptions opts;
  opts.scale_bits = 16;  // 1e5 * 2^16 > 2^31
  Result<QuantModel> q = quantize(m, opts);
  ASSERT_FALSE(q.ok());
  EXPECT_HAS(q.error().message, "layer 0 ('big') neuron 0 weight 0: 100000 * 2^16 does not fit int32");
  EXPECT_HAS(q.error().message, "the largest b that fits is 14");
  // A weight >= 2^31 fits at no b, whoever chose it.
  m.mlp().layers[0].weight = {3e9};
  q = quantize(m, {});
  ASSERT_FALSE(q.ok());
  EXPECT_HAS(q.error().message, "no scale b >= 0 avoids overflow");
  EXPECT_HAS(q.error().message, "does not fit int32");
}

TEST(Quantize, StandardizationParameters) {
  FloatModel m = model({"dst_port"}, {dense(1, 1, {1})});
  m.standardization = Standardization{{100.25}, {1 / 3.5}};
  m.input_ranges = {{0, 1000}};
  QuantOptions opts;
  opts.scale_bits = 16;
  Result<QuantModel> q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  const QuantInput& in = q->mlp().inputs[0];
  EXPECT_EQ(in.q, 16u);
  EXPECT_EQ(in.m, 6569984);  // round(100.25 * 2^16)
  EXPECT_EQ(in.den, 229376u);  // round(3.5 * 2^16)
  EXPECT_EQ(standardize_input(in, 16, 0), -1877138);
  EXPECT_EQ(standardize_input(in, 16, 101), 14043);
  EXPECT_EQ(standardize_input(in, 16, 1000), 16847433);
}

TEST(Quantize, StandardizationQShrinksForWideRanges) {
  // |d| = 2^40 * 2^q must satisfy |d| * 2^16 < 2^63: q <= 6.
  FloatModel m = model({"fwd_bytes_total"}, {dense(1, 1, {1})});
  m.standardization = Standardization{{0}, {std::ldexp(1.0, -30)}};
  m.input_ranges = {{0, std::ldexp(1.0, 40)}};
  QuantOptions opts;
  opts.scale_bits = 16;
  Result<QuantModel> q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->mlp().inputs[0].q, 6u);
  EXPECT_EQ(q->mlp().inputs[0].den, uint64_t{1} << 36);
  EXPECT_EQ(standardize_input(q->mlp().inputs[0], 16, uint64_t{1} << 40), int64_t{1} << 26);
}

TEST(Quantize, ZeroSigmaGivesZero) {
  FloatModel m = model({"dst_port", "fwd_pkt_count"}, {dense(2, 1, {1, 1})});
  m.standardization = Standardization{{5, 7}, {0.5, 0}};
  m.input_ranges = {{0, 100}, {0, 100}};
  Result<QuantModel> q = quantize(m, {});
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->mlp().inputs[1].den, 0u);
  EXPECT_EQ(q->mlp().inputs[1].m, 0);
  EXPECT_EQ(q->mlp().inputs[1].q, 0u);
  EXPECT_EQ(standardize_input(q->mlp().inputs[1], q->b, 0), 0);
  EXPECT_EQ(standardize_input(q->mlp().inputs[1], q->b, 100), 0);
  EXPECT_EQ(q->feature_ids, (std::vector<int>{0, 1}));
}

TEST(Quantize, NegativeScaleIsFoldedIntoFirstLayer) {
  FloatModel m = model({"dst_port"}, {dense(1, 2, {0.75, -1}, {0.5, 0})});
  m.standardization = Standardization{{10}, {-0.5}};
  m.input_ranges = {{0, 40}};
  QuantOptions opts;
  opts.scale_bits = 8;
  Result<QuantModel> q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->mlp().inputs[0].den, 2u << 16);  // sigma = 2
  EXPECT_EQ(q->mlp().layers[0].weight, (std::vector<int32_t>{-192, 256}));
  for (uint64_t x : {0, 9, 10, 11, 40}) {
    const Inference f = run_float(m, {static_cast<double>(x)});
    const Inference r = run_reference(*q, {x});
    for (int o = 0; o < 2; ++o) EXPECT_NEAR(r.logits[o], f.flogits[o] * 256, 1.0) << x;
  }
}

TEST(Quantize, RangeSourcesAndOutwardRounding) {
  FloatModel m = model({"fwd_pkt_count"}, {dense(1, 1, {1})});
  QuantOptions opts;
  opts.scale_bits = 4;
  Result<QuantModel> q = quantize(m, opts);  // catalog: [1, 2^32 - 1] overflows at b=4
  ASSERT_FALSE(q.ok());
  m.input_ranges = {{2.5, 10.2}};
  opts.widen_clamp = false;
  q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->mlp().inputs[0].lo, 2u);
  EXPECT_EQ(q->mlp().inputs[0].hi, 11u);
  EXPECT_EQ(q->mlp().inputs[0].data_lo, 2u);
  EXPECT_EQ(q->mlp().inputs[0].data_hi, 11u);
  opts.calibration_ranges = std::vector<InputRange>{{-3, 99.0}};
  q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->mlp().inputs[0].lo, 0u);
  EXPECT_EQ(q->mlp().inputs[0].hi, 99u);
  opts.widen_clamp = true;  // the given range stays data_lo/data_hi
  q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->mlp().inputs[0].data_lo, 0u);
  EXPECT_EQ(q->mlp().inputs[0].data_hi, 99u);
  EXPECT_GT(q->mlp().inputs[0].hi, 99u);
  opts.calibration_ranges = std::vector<InputRange>{{0, 1}, {0, 1}};
  q = quantize(m, opts);
  ASSERT_FALSE(q.ok());
  EXPECT_HAS(q.error().message, "calibration has 2 ranges for a model with 1 inputs");
}

// --clamp widest: the clamping range grows past the given range as far as
// the overflow analysis allows at the same b and q; inside the given range
// nothing changes, outside it the kernel follows the float model further.
TEST(Quantize, ClampWidenedOnlyWhereInt32Fits) {
  FloatModel m = model({"fwd_pkt_len_max", "fwd_iat_max_ns"}, {dense(2, 2, {0.75, -0.5, -1.25, 2.0}, {0.1, -0.2})});
  m.standardization = Standardization{{100.0, 5e6}, {1.0 / 40.0, 1.0 / 2e6}};
  m.input_ranges = {{0, 1000}, {0, 2e7}};
  // At the ECDF's b (a margin of 30 bits): much room to widen.
  QuantOptions given;
  given.widen_clamp = false;
  given.margin_bits = 30;
  QuantOptions widest;
  widest.margin_bits = 30;
  Result<QuantModel> g = quantize(m, given);
  Result<QuantModel> w = quantize(m, widest);
  // Precision first keeps a 1-bit margin: the ranges still grow.
  Result<QuantModel> pf = quantize(m, {});
  ASSERT_TRUE(pf.ok()) << pf.error().message;
  EXPECT_GT(pf->b, w->b);
  EXPECT_GE(pf->mlp().inputs[0].hi, 2 * 1000u);
  EXPECT_GT(pf->mlp().inputs[1].hi, 20000000u);
  ASSERT_TRUE(g.ok()) << g.error().message;
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_FALSE(g->mlp().clamp_widest);
  EXPECT_TRUE(w->mlp().clamp_widest);
  ASSERT_EQ(w->b, g->b);
  EXPECT_EQ(w->mlp().layers[0].weight, g->mlp().layers[0].weight);
  for (size_t j = 0; j < 2; ++j) {
    const QuantInput &a = g->mlp().inputs[j], &b = w->mlp().inputs[j];
    EXPECT_EQ(b.q, a.q);
    EXPECT_EQ(b.m, a.m);
    EXPECT_EQ(b.den, a.den);
    EXPECT_EQ(b.data_lo, a.lo);
    EXPECT_EQ(b.data_hi, a.hi);
    EXPECT_LE(b.lo, a.lo);
    EXPECT_GT(b.hi, a.hi) << j;
  }
  // A given range reaching past the catalog's (fwd_pkt_count starts at 1) is
  // never narrowed.
  FloatModel count = model({"fwd_pkt_count"}, {dense(1, 1, {0.5})});
  count.standardization = Standardization{{20.0}, {1.0 / 10.0}};
  count.input_ranges = {{0, 100}};
  Result<QuantModel> c = quantize(count, widest);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->mlp().inputs[0].lo, 0u);
  EXPECT_GT(c->mlp().inputs[0].hi, 100u);
  EXPECT_EQ(w->mlp().inputs[0].hi, 65535u);  // packet lengths: the catalog's bound fits
  EXPECT_LT(w->mlp().inputs[1].hi, find_feature("fwd_iat_max_ns")->hi);  // nanoseconds do not
  // The widened model still passes the analysis; one step further fails it.
  EXPECT_TRUE(check_overflow(*w).ok());
  QuantModel over = *w;
  over.mlp().inputs[1].hi = over.mlp().inputs[1].hi * 4 + 3;
  EXPECT_FALSE(check_overflow(over).ok());
  // Inside the given ranges the two compute the same; beyond them the
  // widened one keeps tracking the float model.
  for (uint64_t x0 : {0ull, 100ull, 1000ull})
    for (uint64_t x1 : {0ull, 5000000ull, 20000000ull})
      EXPECT_EQ(run_reference(*w, {x0, x1}).logits, run_reference(*g, {x0, x1}).logits) << x0 << " " << x1;
  const std::vector<uint64_t> far = {5000, 400000000};
  const Inference f = run_float(m, {5000.0, 4e8});
  const Inference wr = run_reference(*w, far), gr = run_reference(*g, far);
  for (int o = 0; o < 2; ++o) {
    const double scaled = f.flogits[o] * std::ldexp(1.0, w->b);
    EXPECT_NEAR(wr.logits[o], scaled, std::fabs(scaled) * 1e-3 + 4) << o;
    EXPECT_GT(std::fabs(gr.logits[o] - scaled), std::fabs(scaled) * 0.5) << o;
  }
}

TEST(Quantize, RefusesBadModels) {
  auto refused = [](const FloatModel& m, const QuantOptions& o, const std::string& what) {
    Result<QuantModel> q = quantize(m, o);
    ASSERT_FALSE(q.ok()) << what;
    EXPECT_EQ(q.error().kind, ErrorKind::BadInput);
    EXPECT_HAS(q.error().message, what);
    EXPECT_EQ(q.error().message.find('\n'), std::string::npos);
  };
  refused(model({}, {}), {}, "no dense layers");
  FloatModel nan = model({"dst_port"}, {dense(1, 1, {std::nan("")}, {}, false, "fc")});
  refused(nan, {}, "layer 0 ('fc'): weight [0] is nan");
  FloatModel inf = model({"dst_port"}, {dense(1, 1, {1}, {INFINITY})});
  refused(inf, {}, "bias [0] is inf");
  FloatModel stnan = model({"dst_port"}, {dense(1, 1, {1})});
  stnan.standardization = Standardization{{std::nan("")}, {1}};
  refused(stnan, {}, "standardization mean [0] is nan");
  FloatModel lohi = model({"dst_port"}, {dense(1, 1, {1})});
  lohi.input_ranges = {{10, 5}};
  refused(lohi, {}, "input 'dst_port': lo 10 > hi 5");
  QuantOptions cal;
  cal.calibration_ranges = std::vector<InputRange>{{0, NAN}};
  refused(model({"dst_port"}, {dense(1, 1, {1})}), cal, "is not finite");
  refused(model({"no_such_feature"}, {dense(1, 1, {1})}), {}, "unknown feature 'no_such_feature'");
  refused(model({"dst_port", "dst_port"}, {dense(1, 1, {1})}), {}, "1 inputs but 2 feature names");
  refused(model({"dst_port"}, {dense(1, 2, {1, 1}), dense(3, 1, {1, 1, 1})}), {}, "previous layer has 2 outputs");
  FloatModel tiny = model({"dst_port"}, {dense(1, 1, {1})});
  tiny.standardization = Standardization{{0}, {1e6}};
  refused(tiny, {}, "input 'dst_port': standard deviation 9.9999999999999995e-07 rounds to 0");
  QuantOptions bad_b;
  bad_b.scale_bits = 31;
  refused(model({"dst_port"}, {dense(1, 1, {1})}), bad_b, "scale bits 31 is not in [0, 30]");
}

TEST(Overflow, ReportOnHandModel) {
  QuantModel m;
  m.features = {"dst_port"};
  m.b = 4;
  m.mlp().inputs = {{0, 10, 0, 0, 1}};  // x1 in [0, 160]
  QuantLayer l;
  l.in = 1;
  l.out = 2;
  l.weight = {-32, 8};  // acc in [-5120, 0] and [0, 1280]
  l.bias = {-1, 2};     // y in [-321, -1] and [2, 82]
  l.relu = true;
  m.mlp().layers = {l};
  Result<OverflowReport> r = check_overflow(m);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->max_abs_activation, 321);
  EXPECT_DOUBLE_EQ(r->max_abs_accumulator, 5120);
  EXPECT_NEAR(r->activation_margin_bits, 31 - std::log2(321.0), 1e-12);
  EXPECT_NEAR(r->accumulator_margin_bits, 63 - std::log2(5120.0), 1e-12);
}

TEST(Overflow, AccumulatorBound) {
  // 256 inputs at 2^31 - 1 times weights 2^31 - 1: partial sums reach 2^70.
  QuantModel m;
  m.b = 30;
  m.mlp().inputs.assign(256, QuantInput{0, 1, 0, 0, 1});  // x1 in [0, 2^30]
  QuantLayer l;
  l.in = 256;
  l.out = 1;
  l.weight.assign(256, std::numeric_limits<int32_t>::max());
  l.bias = {0};
  m.mlp().layers = {l};
  Result<OverflowReport> r = check_overflow(m, {"wide"});
  ASSERT_FALSE(r.ok());
  EXPECT_HAS(r.error().message, "layer 0 ('wide') neuron 0: accumulator bound");
  EXPECT_HAS(r.error().message, "does not fit int64");
}

// Formula (9): with calibration samples, b must also resolve the standardized
// inputs the first layer reads; inputs with a zero weight column do not count.
TEST(Quantize, InputEcdfRaisesBWithCalibrationSamples) {
  FloatModel m = model({"dst_port", "fwd_pkt_len_max"}, {dense(2, 2, {1.0, 0.0, -1.0, 0.0})});
  m.standardization = Standardization{{9000.0, 0.0}, {1.0 / 1000.0, 1e-9}};
  std::vector<std::vector<uint64_t>> samples;
  for (uint64_t i = 0; i < 1000; ++i) samples.push_back({8990 + i % 21, i * 1000});  // |z| <= 0.01
  EXPECT_EQ(choose_scale_bits(m, 0.005), 0);  // weights of magnitude 1: formula (8) alone says b = 0
  // dst_port: z in {0, +-0.001, ..., +-0.01}; b = 7 resolves 0.01 but not 0.001, b = 10 all of them.
  EXPECT_GT(input_ecdf_share(m, samples, 0, 7), 0.005);
  EXPECT_LE(input_ecdf_share(m, samples, 0, 10), 0.005);
  // fwd_pkt_len_max has tiny z but no weight: it must not drive b.
  EXPECT_GT(input_ecdf_share(m, samples, 1, 10), 0.5);
  EXPECT_EQ(choose_input_scale_bits(m, samples, 0.005), 10);

  QuantOptions opts;
  opts.calibration_samples = samples;
  opts.calibration_ranges = std::vector<InputRange>{{8990, 9010}, {0, 999000}};
  auto q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->b_ecdf, 10);
  EXPECT_GE(q->b, 10);  // precision first: more
  EXPECT_EQ(q->mlp().b_inputs, 10);
  opts.margin_bits = 30;
  q = quantize(m, opts);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->b, 10);
  auto plain = quantize(m, QuantOptions{});
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->mlp().b_inputs, -1);
}

// Per-layer exponents (docs/semantics.md#per-layer): a first layer with a
// weight of 1000 bounds a uniform b at 11 (1000 * 1000 * 2^b < 2^31); the
// inputs and the second layer (weight 0.001) are raised past it.
TEST(Quantize, PerLayerExponentsRaiseWhatTheAnalysisAllows) {
  FloatModel m = model({"dst_port"}, {dense(1, 1, {1000.0}, {}, true), dense(1, 1, {0.001})});
  m.input_ranges = {{0, 1000}};
  Result<QuantModel> q = quantize(m, QuantOptions{});
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->mlp().b_safe, 11);
  EXPECT_EQ(q->mlp().b_uniform, 10);
  EXPECT_TRUE(q->mlp().layer_exponents);
  EXPECT_EQ(q->b, 20);              // 1000 * 2^21 < 2^31, less the margin
  EXPECT_EQ(q->mlp().layers[0].b, 10);    // the layer that bounded the uniform b
  EXPECT_EQ(q->mlp().layers[1].b, 20);    // 1000 * 2^21 < 2^31, less the margin
  EXPECT_EQ(q->layer_shift(0), 20);
  EXPECT_EQ(q->layer_shift(1), 10);
  EXPECT_EQ(q->mlp().layers[0].weight[0], 1024000);  // 1000 * 2^10
  EXPECT_EQ(q->mlp().layers[1].weight[0], 1049);     // round(0.001 * 2^20)
  // x1 = 999 * 2^20; y0 = (1024000 * x1) >> 20; y1 = (1049 * y0) >> 10.
  const Inference r = run_reference(*q, {999});
  ASSERT_EQ(r.logits.size(), 1u);
  EXPECT_EQ(r.logits[0], 1049LL * 999000);
  // Every exponent one bit higher still passes (the margin), and the
  // clamping range widened within it.
  EXPECT_GE(q->mlp().overflow.activation_margin_bits, 0.0);

  // --scale-bits: one b for everything, nothing raised.
  QuantOptions forced;
  forced.scale_bits = 8;
  q = quantize(m, forced);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->b, 8);
  EXPECT_EQ(q->mlp().layers[0].b, 8);
  EXPECT_EQ(q->mlp().layers[1].b, 8);
  // A margin as wide as the range: the uniform ECDF b, nothing raised.
  QuantOptions wide;
  wide.margin_bits = 30;
  q = quantize(m, wide);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->b, q->mlp().b_uniform);
  EXPECT_EQ(q->mlp().layers[0].b, q->mlp().b_uniform);
  EXPECT_EQ(q->mlp().layers[1].b, q->mlp().b_uniform);
}

// The single-b semantics is the case every exponent equals b: a model without
// per-layer exponents (an artifact compiled before them) shifts every layer
// by b, and one with every b_k = b computes the same logits.
TEST(Quantize, UniformExponentsAreTheSingleBSemantics) {
  QuantModel m;
  m.features = {"dst_port"};
  m.b = 4;
  m.mlp().inputs = {{0, 100, 0, 0, 1}};
  QuantLayer l0;
  l0.in = l0.out = 1;
  l0.weight = {-37};
  l0.bias = {5};
  QuantLayer l1 = l0;
  l1.weight = {23};
  l1.bias = {-3};
  m.mlp().layers = {l0, l1};
  QuantModel per_layer = m;
  per_layer.mlp().layer_exponents = true;
  per_layer.mlp().layers[0].b = per_layer.mlp().layers[1].b = 4;
  for (uint64_t x : {0, 1, 7, 50, 99, 100, 1000}) {
    const Inference a = run_reference(m, {x});
    const Inference b = run_reference(per_layer, {x});
    EXPECT_EQ(a.logits, b.logits) << x;
    // (((-37 * 16x) >> 4) + 5) * 23 >> 4, - 3: floor shifts of signed values;
    // x clamped to the input's range [0, 100] first.
    const int64_t xc = static_cast<int64_t>(std::min<uint64_t>(x, 100));
    const int64_t y0 = ((-37 * xc * 16) >> 4) + 5;
    EXPECT_EQ(a.logits[0], ((23 * y0) >> 4) - 3) << x;
  }
  // Different exponents: layer 1 shifts by layer 0's exponent.
  per_layer.mlp().layers[0].b = 6;
  EXPECT_EQ(per_layer.layer_shift(1), 6);
  EXPECT_EQ(run_reference(per_layer, {7}).logits[0], ((23 * (((-37 * 7 * 16) >> 4) + 5)) >> 6) - 3);
}

}  // namespace
}  // namespace nnbpf::compiler
