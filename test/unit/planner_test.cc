// Stage planner: packing, splitting layers by neuron ranges, limits.
#include <gtest/gtest.h>

#include "compiler/passes/plan_stages.h"

namespace nnbpf::compiler {
namespace {

QuantModel make_model(std::vector<int> shape) {
  QuantModel m;
  for (int j = 0; j < shape[0]; ++j) {
    m.features.push_back("f" + std::to_string(j));
    m.mlp().inputs.push_back({});
  }
  for (size_t l = 1; l < shape.size(); ++l) {
    QuantLayer L;
    L.in = shape[l - 1];
    L.out = shape[l];
    L.relu = l + 1 < shape.size();
    L.weight.assign(static_cast<size_t>(L.in) * L.out, 1);
    L.bias.assign(L.out, 0);
    m.mlp().layers.push_back(L);
  }
  return m;
}

// Every neuron of every layer is computed exactly once, in order.
void expect_covers(const QuantModel& m, const StagePlan& plan) {
  int layer = 0, next = 0;
  for (const auto& st : plan.stages)
    for (const auto& p : st.parts()) {
      ASSERT_EQ(p.layer, layer);
      ASSERT_EQ(p.neuron_begin, next);
      ASSERT_GT(p.neuron_end, p.neuron_begin);
      next = p.neuron_end;
      if (next == m.mlp().layers[layer].out) {
        ++layer;
        next = 0;
      }
    }
  EXPECT_EQ(layer, static_cast<int>(m.mlp().layers.size()));
  EXPECT_TRUE(plan.stages.front().standardize);
  EXPECT_TRUE(plan.stages.back().last);
  for (size_t k = 0; k + 1 < plan.stages.size(); ++k) {
    EXPECT_FALSE(plan.stages[k].last);
    if (k) EXPECT_FALSE(plan.stages[k].standardize);
  }
}

TEST(Planner, SmallModelFitsOneStage) {
  auto m = make_model({6, 32, 32, 2});
  auto plan = plan_stages(m, kDefaultMaxStageInsns, PlanTarget{});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->stages.size(), 1u);
  expect_covers(m, *plan);
  EXPECT_LT(plan->stages[0].est_insns, 8000);
  EXPECT_GT(plan->stages[0].est_insns, 5000);
}

TEST(Planner, BudgetIsRespectedAndLayersSplit) {
  auto m = make_model({6, 32, 32, 2});
  for (int64_t budget : {1500, 2000, 3000, 5000}) {
    auto plan = plan_stages(m, budget, PlanTarget{});
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    expect_covers(m, *plan);
    for (const auto& st : plan->stages) EXPECT_LE(st.est_insns, budget);
  }
  auto plan = plan_stages(m, 1500, PlanTarget{});
  EXPECT_GE(plan->stages.size(), 5u);
  // Layer 1 (32x32) is spread over several stages by neuron ranges.
  int parts_of_layer1 = 0;
  for (const auto& st : plan->stages)
    for (const auto& p : st.parts()) parts_of_layer1 += p.layer == 1;
  EXPECT_GE(parts_of_layer1, 3);
}

TEST(Planner, V3CostsMoreThanV4) {
  auto m = make_model({6, 32, 32, 2});
  PlanTarget v3;
  v3.isa_v4 = false;
  auto a = plan_stages(m, 2000, PlanTarget{});
  auto b = plan_stages(m, 2000, v3);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(b->stages.size(), a->stages.size());
}

// v3 jump offsets are 16-bit: its stages are capped at kMaxStageInsnsV3
// whatever the budget (a longer stage is "Branch target out of insn range").
TEST(Planner, V3StagesFitShortJumps) {
  auto m = make_model({24, 128, 128, 128, 2});
  PlanTarget v3;
  v3.isa_v4 = false;
  auto plan = plan_stages(m, kDefaultMaxStageInsns, v3);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->max_stage_insns, kMaxStageInsnsV3);
  for (const auto& st : plan->stages) EXPECT_LE(st.est_insns, kMaxStageInsnsV3);
  expect_covers(m, *plan);
  auto v4 = plan_stages(m, kDefaultMaxStageInsns, PlanTarget{});
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->max_stage_insns, kDefaultMaxStageInsns);
}

// int8 weights beyond the 16-bit load displacement need address arithmetic
// (int32 ones are addressed from a row pointer, emit_dense.cc).
TEST(Planner, LargeSlotOffsetsCostMoreInInt8) {
  auto m = make_model({24, 128, 128, 128, 2});
  m.mlp().mode = QuantMode::Int8;
  PlanTarget near, far;
  near.weight_offsets = {0, 0, 0, 0};
  far.weight_offsets = {40000, 40000, 40000, 40000};
  auto a = plan_stages(m, kDefaultMaxStageInsns, near);
  auto b = plan_stages(m, kDefaultMaxStageInsns, far);
  ASSERT_TRUE(a.ok() && b.ok());
  int64_t sa = 0, sb = 0;
  for (const auto& st : a->stages) sa += st.est_insns;
  for (const auto& st : b->stages) sb += st.est_insns;
  EXPECT_GT(sb, sa);
  expect_covers(m, *b);
}

// Layers of many weights are loops over rows; the paper's shape stays
// straight-line code.
TEST(Planner, LargeLayersLoop) {
  auto small = make_model({6, 32, 32, 2});
  for (const auto& l : small.mlp().layers) EXPECT_FALSE(dense_layer_loops(l));
  auto big = make_model({24, 128, 128, 128, 2});
  EXPECT_TRUE(dense_layer_loops(big.mlp().layers[1]));
  EXPECT_TRUE(dense_layer_loops(big.mlp().layers[2]));
  EXPECT_FALSE(dense_layer_loops(big.mlp().layers[3]));
}

TEST(Planner, OneNeuronPerStageIsTheFinestSplit) {
  auto m = make_model({4, 3, 2});
  auto plan = plan_stages(m, 200, PlanTarget{});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  expect_covers(m, *plan);
}

TEST(Planner, TooManyStagesIsRefused) {
  auto m = make_model({6, 32, 32, 2});
  auto plan = plan_stages(m, 200, PlanTarget{});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("tail-call stages"), std::string::npos) << plan.error().message;
  EXPECT_EQ(plan.error().kind, ErrorKind::BadInput);
}

TEST(Planner, BudgetBelowMinimumIsRefused) {
  auto m = make_model({6, 32, 32, 2});
  auto plan = plan_stages(m, 100, PlanTarget{});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("--max-stage-insns"), std::string::npos);
}

}  // namespace
}  // namespace nnbpf::compiler
