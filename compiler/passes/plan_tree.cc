// Stage planning for tree models: whole trees, packed greedily into stages
// within the instruction budget (a single tree is never split; the emitted
// code is straight-line, so the estimate is also the verifier's count).
#include <string>

#include "compiler/passes/plan_stages.h"

namespace nnbpf::compiler {

// Calibrated on clang-19 output of compiler/codegen/emit_tree.cc.
int64_t estimate_tree_insns(int depth, int n_outputs) { return 44LL * depth + 8 + 5LL * n_outputs; }

Result<StagePlan> plan_tree_stages(const QuantModel& model, const QuantTreeEnsemble& t, int64_t max_stage_insns) {
  StagePlan plan;
  plan.max_stage_insns = max_stage_insns;
  Stage cur;
  cur.work = TreeRange{};
  cur.standardize = true;  // the feature copy
  cur.est_insns = estimate_stage_overhead_insns() + 2LL * model.n_inputs() + 2LL * t.n_outputs;
  const int n = static_cast<int>(t.depths.size());
  for (int k = 0; k < n; ++k) {
    const int64_t cost = estimate_tree_insns(t.depths[k], t.n_outputs);
    if (cur.est_insns + cost > max_stage_insns && cur.trees().end > cur.trees().begin) {
      plan.stages.push_back(cur);
      cur = Stage{};
      cur.work = TreeRange{k, k};
      cur.est_insns = estimate_stage_overhead_insns();
    }
    if (cur.est_insns + cost > max_stage_insns)
      return Error::bad_input("tree " + std::to_string(k) + " (depth " + std::to_string(t.depths[k]) + ") needs ~" +
                              std::to_string(cost) + " instructions, more than --max-stage-insns " +
                              std::to_string(max_stage_insns) + " allows in one stage");
    cur.trees().end = k + 1;
    cur.est_insns += cost;
  }
  cur.last = true;
  cur.est_insns += 4LL * t.n_outputs + 10;
  plan.stages.push_back(cur);
  if (static_cast<int>(plan.stages.size()) > kMaxStages)
    return Error::bad_input("the ensemble needs " + std::to_string(plan.stages.size()) +
                            " tail-call stages at --max-stage-insns " + std::to_string(max_stage_insns) +
                            "; the limit is " + std::to_string(kMaxStages));
  return plan;
}

}  // namespace nnbpf::compiler
