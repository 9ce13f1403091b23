// Decision trees: the frontend reads every tree fixture of
// test/fixtures/make_tree_models.py (and refuses the bad ones with one-line
// errors), the float engine reproduces the scores numpy computed, the integer
// thresholds agree with the float predicate exactly (edge cases and random
// standardizations), and the reference interpreter walks trees as
// docs/semantics.md says.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "compiler/frontend/onnx_loader.h"
#include "compiler/interp/reference.h"
#include "compiler/interp/tree.h"
#include "compiler/passes/plan_stages.h"
#include "compiler/passes/quantize.h"
#include "compiler/passes/quantize_tree.h"
#include "test/unit/frontend_fixtures.h"

namespace nnbpf::compiler {
namespace {

using namespace test;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// ---- frontend -----------------------------------------------------------------

TEST(TreeFrontend, LoadsSingleTrees) {
  for (int depth : {3, 10, 20}) {
    const FloatModel m = load_ok("tree_d" + std::to_string(depth) + ".onnx");
    ASSERT_TRUE(std::holds_alternative<FloatTreeEnsemble>(m.kind));
    EXPECT_FALSE(m.standardization);
    EXPECT_EQ(m.inputs(), 6);
    EXPECT_EQ(m.outputs(), 2);
    ASSERT_EQ(m.tree().trees.size(), 1u);
    EXPECT_EQ(m.tree().trees[0].depth, depth);
    EXPECT_EQ(m.features.size(), 6u);
  }
}

TEST(TreeFrontend, LoadsStandardizedAndEnsemble) {
  const FloatModel s = load_ok("tree_std_d10.onnx");
  ASSERT_TRUE(std::holds_alternative<FloatTreeEnsemble>(s.kind));
  ASSERT_TRUE(s.standardization);
  EXPECT_NEAR(s.standardization->mean[1], 2e8, 1);
  EXPECT_NEAR(s.standardization->mul[1], 1 / 5e8, 1e-15);
  EXPECT_TRUE(load_ok("tree_subdiv_d3.onnx").standardization);

  const FloatModel e = load_ok("tree_ens3.onnx");
  ASSERT_TRUE(std::holds_alternative<FloatTreeEnsemble>(e.kind));
  EXPECT_EQ(e.tree().trees.size(), 3u);
  EXPECT_EQ(e.outputs(), 3);
  EXPECT_EQ(e.tree().base_values, (std::vector<double>{0.25, -0.5, 0.125}));
  EXPECT_EQ(e.tree().trees[1].depth, 6);
}

TEST(TreeFrontend, FloatEngineMatchesNumpy) {
  for (const char* name : {"tree_d3", "tree_d10", "tree_d20", "tree_d10_b", "tree_std_d10", "tree_ens3"}) {
    SCOPED_TRACE(name);
    const FloatModel m = load_ok(std::string(name) + ".onnx");
    const auto samples = read_expected(std::string(name) + ".expected.txt");
    ASSERT_GT(samples.size(), 200u);
    for (const auto& s : samples) {
      const Inference inf = run_float(m, s.x);
      ASSERT_EQ(inf.flogits.size(), s.y.size());
      for (size_t c = 0; c < s.y.size(); ++c) EXPECT_NEAR(inf.flogits[c], s.y[c], 1e-12);
    }
  }
}

void expect_error(const std::string& name, const std::string& needle) {
  auto r = load_onnx_file(fixture(name), {});
  ASSERT_FALSE(r.ok()) << name;
  EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("node 'trees' (TreeEnsembleClassifier): "), std::string::npos)
      << r.error().message;
}

TEST(TreeFrontend, RefusesBadTrees) {
  expect_error("bad_tree_softmax.onnx", "post_transform 'SOFTMAX' is not supported");
  expect_error("bad_tree_missing_child.onnx", "true child id 99 is not in its tree");
  expect_error("bad_tree_two_parents.onnx", "has more than one parent");
  expect_error("bad_tree_feature_range.onnx", "tests feature 7 but the input has 6 columns");
  expect_error("bad_tree_mode.onnx", "unknown node mode 'BRANCH_SOMETIMES'");
  expect_error("bad_tree_labels.onnx", "classlabels_int64s must be 0..N-1");
  expect_error("bad_tree_one_class.onnx", "weights for class 1 only");
  expect_error("bad_tree_weights_count.onnx", "expected the same number");
  expect_error("bad_tree_after_dense.onnx", "must follow the input directly");
}

// ---- integer thresholds ---------------------------------------------------------

IntPredicate pred(TreeMode mode, double v, double mean = 0, double mul = 1) {
  auto r = integer_predicate(mode, v, mean, mul);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : IntPredicate{};
}

void expect_pred(IntPredicate p, IntPredicate::Kind kind, uint64_t t = 0) {
  EXPECT_EQ(p.kind, kind);
  if (kind != IntPredicate::kAlways && kind != IntPredicate::kNever) EXPECT_EQ(p.t, t);
}

TEST(TreeThresholds, RawEdgeCases) {
  using P = IntPredicate;
  expect_pred(pred(TreeMode::Leq, 5.0), P::kLe, 5);   // x <= 5
  expect_pred(pred(TreeMode::Leq, 5.5), P::kLe, 5);   // floor
  expect_pred(pred(TreeMode::Lt, 5.0), P::kLe, 4);    // ceil - 1
  expect_pred(pred(TreeMode::Lt, 5.5), P::kLe, 5);
  expect_pred(pred(TreeMode::Gte, 5.0), P::kGt, 4);   // x >= 5 <=> !(x <= 4)
  expect_pred(pred(TreeMode::Gt, 5.0), P::kGt, 5);
  expect_pred(pred(TreeMode::Gt, 5.5), P::kGt, 5);
  expect_pred(pred(TreeMode::Leq, 0.0), P::kLe, 0);
  expect_pred(pred(TreeMode::Lt, 0.0), P::kNever);    // no u64 is < 0
  expect_pred(pred(TreeMode::Leq, -0.5), P::kNever);
  expect_pred(pred(TreeMode::Lt, 0.25), P::kLe, 0);
  expect_pred(pred(TreeMode::Gte, -1.0), P::kAlways);
  expect_pred(pred(TreeMode::Gt, -0.25), P::kAlways);
  expect_pred(pred(TreeMode::Gte, 0.0), P::kAlways);
  expect_pred(pred(TreeMode::Leq, 1.9e19), P::kAlways);  // above 2^64 - 1
  expect_pred(pred(TreeMode::Gt, 1.9e19), P::kNever);
  expect_pred(pred(TreeMode::Eq, 7.0), P::kEq, 7);
  expect_pred(pred(TreeMode::Eq, 7.5), P::kNever);
  expect_pred(pred(TreeMode::Neq, 7.5), P::kAlways);
  expect_pred(pred(TreeMode::Neq, 3.0), P::kNe, 3);
  expect_pred(pred(TreeMode::Eq, -3.0), P::kNever);
  // Beyond 2^53 double(x) rounds: the bound is where double(x) crosses the value.
  const double big = std::ldexp(1.0, 60);
  const IntPredicate b = pred(TreeMode::Leq, big);
  EXPECT_EQ(b.kind, P::kLe);
  EXPECT_TRUE(static_cast<double>(b.t) <= big);
  EXPECT_FALSE(static_cast<double>(b.t + 1) <= big);
  // Several integers give the same double: EQ cannot be one comparison.
  auto plateau = integer_predicate(TreeMode::Eq, big, 0, 1);
  ASSERT_FALSE(plateau.ok());
  EXPECT_NE(plateau.error().message.find("matched by every integer"), std::string::npos);
}

TEST(TreeThresholds, Standardized) {
  using P = IntPredicate;
  expect_pred(pred(TreeMode::Leq, 1.0, 10, 0.5), P::kLe, 12);   // (x - 10) / 2 <= 1
  expect_pred(pred(TreeMode::Lt, 1.0, 10, 0.5), P::kLe, 11);
  expect_pred(pred(TreeMode::Leq, -3.0, 0, -1), P::kGt, 2);     // -x <= -3 <=> x >= 3
  expect_pred(pred(TreeMode::Gt, -3.0, 0, -1), P::kLe, 2);      // -x > -3 <=> x <= 2
  expect_pred(pred(TreeMode::Leq, 1.0, 5, 0), P::kAlways);      // sigma 0: z = 0
  expect_pred(pred(TreeMode::Leq, -1.0, 5, 0), P::kNever);
  expect_pred(pred(TreeMode::Leq, -100.0, 10, 0.5), P::kNever);
}

// The integer predicate equals the float engine's on random standardizations,
// at the bound and around it.
TEST(TreeThresholds, AgreesWithFloatPredicate) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  const TreeMode modes[] = {TreeMode::Leq, TreeMode::Lt, TreeMode::Gte, TreeMode::Gt, TreeMode::Eq, TreeMode::Neq};
  for (int trial = 0; trial < 20000; ++trial) {
    const TreeMode mode = modes[trial % 6];
    const double mean = std::ldexp(u(rng), static_cast<int>(rng() % 40)) - (trial % 7 == 0 ? 1e3 : 0);
    double mul = std::ldexp(0.5 + u(rng), -static_cast<int>(rng() % 40));
    if (trial % 3 == 0) mul = -mul;
    const bool eq = mode == TreeMode::Eq || mode == TreeMode::Neq;
    // EQ values that some integer hits exactly; others anywhere.
    const uint64_t hit = rng() % 100000;
    const double value = eq ? tree_input(static_cast<double>(hit), mean, mul) : (u(rng) - 0.3) * 8;
    auto r = integer_predicate(mode, value, mean, mul);
    if (!r.ok()) continue;  // EQ plateaus are refused, not mis-compiled
    const IntPredicate p = *r;
    auto ip = [&](uint64_t x) {
      switch (p.kind) {
        case IntPredicate::kLe: return x <= p.t;
        case IntPredicate::kGt: return x > p.t;
        case IntPredicate::kEq: return x == p.t;
        case IntPredicate::kNe: return x != p.t;
        case IntPredicate::kAlways: return true;
        case IntPredicate::kNever: return false;
      }
      return false;
    };
    std::vector<uint64_t> xs = {0, 1, kMax, kMax - 1, hit, hit + 1, hit ? hit - 1 : 0, rng() % (uint64_t{1} << 40)};
    if (p.kind != IntPredicate::kAlways && p.kind != IntPredicate::kNever)
      for (uint64_t d = 0; d < 3; ++d) {
        xs.push_back(p.t + d);
        if (p.t >= d) xs.push_back(p.t - d);
      }
    for (uint64_t x : xs)
      ASSERT_EQ(ip(x), tree_predicate(mode, value, tree_input(static_cast<double>(x), mean, mul)))
          << "trial " << trial << " x " << x << " mean " << mean << " mul " << mul << " value " << value;
  }
}

// ---- quantization and the reference ---------------------------------------------------

TEST(TreeQuantize, LeavesAndScale) {
  const FloatModel m = load_ok("tree_ens3.onnx");
  auto q = quantize(m, {});
  ASSERT_TRUE(q.ok()) << q.error().message;
  ASSERT_TRUE(std::holds_alternative<QuantTreeEnsemble>(q->kind));
  const QuantTreeEnsemble& t = q->tree();
  EXPECT_EQ(q->b, 29);  // summed weights of 3 trees + base up to ~3.5 < 2^31 / 2^29
  EXPECT_EQ(t.depths, (std::vector<int>{4, 6, 5}));
  EXPECT_EQ(t.node_capacity & (t.node_capacity - 1), 0);
  EXPECT_GE(t.node_capacity, t.nodes_used);
  EXPECT_EQ(t.roots.size(), 3u);
  // Leaf rows are round(w * 2^b), tree 0's plus round(base * 2^b).
  const FloatTree& t0 = m.tree().trees[0];
  for (size_t i = 0; i < t0.nodes.size(); ++i) {
    if (t0.nodes[i].mode != TreeMode::Leaf) continue;
    const QuantTreeNode& n = t.nodes[i];
    for (int c = 0; c < 3; ++c)
      EXPECT_EQ(t.leaf(n.leaf, c), std::llround(std::ldexp(t0.nodes[i].weights[c], 29)) +
                                       std::llround(std::ldexp(m.tree().base_values[c], 29)));
  }
  QuantOptions forced;
  forced.scale_bits = 31 - 1;
  auto over = quantize(m, forced);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("the largest b that fits is 29"), std::string::npos) << over.error().message;
}

TEST(TreePlan, WholeTreesPerStage) {
  auto q = quantize(load_ok("tree_ens3.onnx"), {});
  ASSERT_TRUE(q.ok());
  auto one = plan_stages(*q, kDefaultMaxStageInsns, {});
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->stages.size(), 1u);
  EXPECT_TRUE(one->stages[0].standardize && one->stages[0].last);
  EXPECT_EQ(one->stages[0].trees().begin, 0);
  EXPECT_EQ(one->stages[0].trees().end, 3);
  auto split = plan_stages(*q, 400, {});
  ASSERT_TRUE(split.ok()) << split.error().message;
  ASSERT_EQ(split->stages.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(split->stages[k].trees().begin, k);
    EXPECT_EQ(split->stages[k].trees().end, k + 1);
    EXPECT_EQ(split->stages[k].last, k == 2);
  }
  auto d20 = quantize(load_ok("tree_d20.onnx"), {});
  ASSERT_TRUE(d20.ok());
  auto too_deep = plan_stages(*d20, 300, {});
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.error().message.find("tree 0 (depth 20) needs"), std::string::npos);
}

// Reference (integers) and float engine give the same verdict on every sample,
// thresholds included.
TEST(TreeReference, AgreesWithFloatOnFixtures) {
  for (const char* name : {"tree_d3", "tree_d10", "tree_d20", "tree_std_d10", "tree_subdiv_d3", "tree_ens3"}) {
    SCOPED_TRACE(name);
    const FloatModel m = load_ok(std::string(name) + ".onnx");
    auto q = quantize(m, {});
    ASSERT_TRUE(q.ok()) << q.error().message;
    for (const auto& s : read_expected(std::string(name) + ".expected.txt")) {
      std::vector<uint64_t> raw(s.x.begin(), s.x.end());
      const Inference ri = run_reference(*q, raw);
      const Inference fi = run_float(m, s.x);
      ASSERT_EQ(ri.verdict, fi.verdict);
      for (size_t c = 0; c < ri.logits.size(); ++c)
        EXPECT_NEAR(std::ldexp(static_cast<double>(ri.logits[c]), -q->b), fi.flogits[c], 1e-8);
    }
  }
}

// A hand-made two-tree ensemble: walks, EQ nodes, self-looping leaves, sums.
TEST(TreeReference, HandBuilt) {
  QuantModel m;
  m.features = {"dst_port", "fwd_pkt_count"};
  m.b = 0;
  QuantTreeEnsemble t;
  t.n_outputs = 2;
  t.node_capacity = 8;
  t.leaf_capacity = 4;
  t.nodes.assign(8, QuantTreeNode{});
  // tree 0: x0 <= 100 ? leaf0 : (x1 == 7 ? leaf1 : leaf2); tree 1: a single leaf.
  t.nodes[0] = {100, 1, 2, 0, 0, TreeOp::Le};
  t.nodes[1] = {0, 1, 1, 0, 0, TreeOp::Le};
  t.nodes[2] = {7, 3, 4, 0, 1, TreeOp::Eq};
  t.nodes[3] = {0, 3, 3, 1, 0, TreeOp::Le};
  t.nodes[4] = {0, 4, 4, 2, 0, TreeOp::Le};
  t.nodes[5] = {0, 5, 5, 3, 0, TreeOp::Le};
  t.leaf_values = {10, 0, 0, 10, 3, 4, 1, 1};
  t.roots = {0, 5};
  t.depths = {2, 0};
  m.kind = t;
  auto logits = [&](uint64_t a, uint64_t b) { return run_reference(m, {a, b}).logits; };
  EXPECT_EQ(logits(100, 7), (std::vector<int64_t>{11, 1}));
  EXPECT_EQ(logits(101, 7), (std::vector<int64_t>{1, 11}));
  EXPECT_EQ(logits(101, 8), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(logits(kMax, 6), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(run_reference(m, {101, 7}).verdict, 1);
  EXPECT_EQ(run_reference(m, {0, 0}).verdict, 0);
}

}  // namespace
}  // namespace nnbpf::compiler
