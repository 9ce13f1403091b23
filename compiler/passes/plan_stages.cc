#include "compiler/passes/plan_stages.h"

#include <algorithm>
#include <string>

namespace nnbpf::compiler {

// Calibrated on clang-19 output of the emitters in compiler/codegen: per
// product a weight load, an activation load, a multiply and an add (v3 needs
// two more shifts to sign-extend the weight); loads from a slot offset beyond
// the 16-bit load displacement need address arithmetic (~2 more).
int64_t estimate_standardize_insns(int n_inputs) { return 32LL * n_inputs + 6; }
int64_t estimate_neuron_insns(int fan_in, bool relu, bool isa_v4, size_t row_offset) {
  int64_t per_term = (isa_v4 ? 4 : 6) + (row_offset > 32767 ? 2 : 0);
  return per_term * fan_in + 4 + (relu ? 4 : 0);
}
int64_t estimate_stage_overhead_insns() { return 40; }
// Requantization (multiply, round, shift) and the two clamps of an int8 neuron.
constexpr int64_t kInt8RequantInsns = 12;
// A looped layer's bookkeeping per row: the counter, its test and the three
// pointers' advance, spilled and reloaded around the products, over a group.
constexpr int64_t kLoopRowInsns = 4;

// Straight-line code grows with every weight: past this many a layer's code
// no longer fits the CPU's instruction cache once JIT-compiled, and clang's
// time grows with it; a loop over groups of rows costs the bookkeeping above
// (docs/PERFORMANCE.md, "Large models"). [6,32,32,2]'s largest layer has
// 1,024 weights.
constexpr int64_t kLoopMinWeights = 2048;

bool dense_layer_loops(const QuantLayer& layer) {
  return static_cast<int64_t>(layer.in) * layer.out >= kLoopMinWeights;
}

Result<StagePlan> plan_stages(const QuantModel& model, int64_t max_stage_insns, const PlanTarget& target) {
  if (max_stage_insns < 200)
    return Error::bad_input("--max-stage-insns " + std::to_string(max_stage_insns) +
                            " is below the minimum of 200");
  // BPF v3 jumps reach +-32767 instructions; a stage's error exits jump over
  // its whole body, so a longer v3 stage cannot be encoded (LLVM: "Branch
  // target out of insn range"). v4 has 32-bit jumps (gotol).
  if (!target.isa_v4) max_stage_insns = std::min(max_stage_insns, kMaxStageInsnsV3);
  return std::visit(
      Overloaded{[&](const QuantMlp& mlp) { return plan_mlp_stages(model, mlp, max_stage_insns, target); },
                 [&](const QuantTreeEnsemble& tree) { return plan_tree_stages(model, tree, max_stage_insns); }},
      model.kind);
}

Result<StagePlan> plan_mlp_stages(const QuantModel& model, const QuantMlp& mlp, int64_t max_stage_insns,
                                  const PlanTarget& target) {
  StagePlan plan;
  plan.max_stage_insns = max_stage_insns;

  Stage cur;
  cur.standardize = true;
  cur.est_insns = estimate_stage_overhead_insns() + estimate_standardize_insns(model.n_inputs());
  auto flush = [&]() {
    plan.stages.push_back(cur);
    cur = Stage{};
    cur.est_insns = estimate_stage_overhead_insns();
  };

  for (int l = 0; l < static_cast<int>(mlp.layers.size()); ++l) {
    const QuantLayer& layer = mlp.layers[l];
    const size_t base = l < static_cast<int>(target.weight_offsets.size()) ? target.weight_offsets[l] : 0;
    // --quant int8: byte weights, and a requantization and clamp per hidden neuron.
    const bool int8 = mlp.mode == QuantMode::Int8;
    const size_t weight_bytes = int8 ? 1 : 4;
    const int64_t requant = int8 && l + 1 < static_cast<int>(mlp.layers.size()) ? kInt8RequantInsns : 0;
    // int32: rows beyond the 16-bit load displacement are addressed from a
    // row pointer (emit_dense.cc), at no cost per product; int8 computes
    // their addresses (emit_int8.cc).
    const bool loops = !int8 && dense_layer_loops(layer);
    auto neuron_cost = [&](int i) {
      const size_t row_end = int8 ? base + weight_bytes * layer.in * (i + 1) : 0;
      return estimate_neuron_insns(layer.in, layer.relu, target.isa_v4, row_end) + requant +
             (loops ? kLoopRowInsns : 0);
    };
    int begin = 0;
    while (begin < layer.out) {
      int64_t room = max_stage_insns - cur.est_insns;
      int fit = 0;
      int64_t cost = 0;
      while (begin + fit < layer.out && cost + neuron_cost(begin + fit) <= room) cost += neuron_cost(begin + fit++);
      if (fit == 0) {
        bool empty = !cur.standardize && cur.parts().empty();
        if (!empty) {
          flush();
          continue;
        }
        fit = 1;  // one neuron per stage is the finest split there is
      }
      int end = std::min(layer.out, begin + fit);
      cur.parts().push_back({l, begin, end});
      for (int i = begin; i < end; ++i) cur.est_insns += neuron_cost(i);
      begin = end;
    }
  }
  cur.last = true;
  cur.est_insns += 4LL * model.n_outputs() + 10;
  plan.stages.push_back(cur);

  if (static_cast<int>(plan.stages.size()) > kMaxStages)
    return Error::bad_input("the network needs " + std::to_string(plan.stages.size()) +
                            " tail-call stages at --max-stage-insns " + std::to_string(max_stage_insns) +
                            "; the limit is " + std::to_string(kMaxStages) +
                            " (raise --max-stage-insns or use a smaller network)");
  return plan;
}

}  // namespace nnbpf::compiler
