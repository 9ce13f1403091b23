// Stage planning: split the network into tail-call stages that each fit a
// budget of verifier-processed instructions (paper §IV-C). A stage holds the
// input standardization and/or whole layers and/or a range of one layer's
// neurons; activations crossing stages live in the per-CPU scratch map.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf::compiler {

inline constexpr int64_t kDefaultMaxStageInsns = 150000;
// Budget cap with BPF v3, whose jump offsets are 16-bit (plan_stages.cc).
inline constexpr int64_t kMaxStageInsnsV3 = 30000;
inline constexpr int kMaxStages = NNBPF_MAX_STAGES;

struct StagePart {
  int layer = 0;          // index into QuantMlp::layers
  int neuron_begin = 0;   // [begin, end) output neurons computed in this stage
  int neuron_end = 0;
};

// Trees [begin, end) of an ensemble, computed in one stage.
struct TreeRange {
  int begin = 0;
  int end = 0;
};

struct Stage {
  bool standardize = false;     // computes step 1 (MLP) or copies the features (tree); first stage only
  bool last = false;            // computes the verdict and hands over to finish
  int64_t est_insns = 0;
  // What the stage computes, by model kind: MLP layer parts or a tree range.
  std::variant<std::vector<StagePart>, TreeRange> work;

  std::vector<StagePart>& parts() { return std::get<std::vector<StagePart>>(work); }
  const std::vector<StagePart>& parts() const { return std::get<std::vector<StagePart>>(work); }
  TreeRange& trees() { return std::get<TreeRange>(work); }
  const TreeRange& trees() const { return std::get<TreeRange>(work); }
};

struct StagePlan {
  int64_t max_stage_insns = kDefaultMaxStageInsns;
  std::vector<Stage> stages;
};

// What the instruction estimates depend on besides the model.
struct PlanTarget {
  bool isa_v4 = true;                // v4 has sign-extending loads: 4 insns per product, v3 6
  std::vector<size_t> weight_offsets;  // byte offset of each layer's weights in the slot
};

// Estimated verifier-processed BPF instructions (nnbpf check prints the
// real count). The emitted code is straight-line and branch-free except a
// large layer's loop over rows, whose every iteration the verifier walks.
int64_t estimate_standardize_insns(int n_inputs);
int64_t estimate_neuron_insns(int fan_in, bool relu, bool isa_v4, size_t row_offset);
int64_t estimate_stage_overhead_insns();

// MLP models (plan_stages.cc): step 1 and then the layers' neurons in order,
// each stage filled up to the budget.
Result<StagePlan> plan_mlp_stages(const QuantModel& model, const QuantMlp& mlp, int64_t max_stage_insns,
                                  const PlanTarget& target);

// Whether the dense emitter (compiler/codegen/emit_dense.cc) computes a layer
// of the int32 mode as a bounded loop over groups of rows rather than as
// straight-line code, from the layer's straight-line size.
bool dense_layer_loops(const QuantLayer& layer);

// Tree models (plan_tree.cc): the first stage copies the features and clears
// the logits; each tree costs its levels plus adding its leaf row.
int64_t estimate_tree_insns(int depth, int n_outputs);
Result<StagePlan> plan_tree_stages(const QuantModel& model, const QuantTreeEnsemble& tree, int64_t max_stage_insns);

// Checks the budget and dispatches on the model's kind.
Result<StagePlan> plan_stages(const QuantModel& model, int64_t max_stage_insns, const PlanTarget& target);

}  // namespace nnbpf::compiler
