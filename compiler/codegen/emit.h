// QuantModel + StagePlan -> BPF C (one translation unit). Each op has its own
// emitter (emit_standardize.cc, emit_dense.cc, emit_int8.cc, emit_tree.cc,
// emit_classify.cc) writing into
// an EmitContext; emit_program.cc assembles the unit. The emitted code uses
// integer arithmetic and shifts only; its only loops are large dense layers'
// bounded loops over rows (emit_dense.cc).
#pragma once

#include <sstream>
#include <string>

#include "compiler/codegen/params_layout.h"
#include "compiler/ir/model.h"
#include "compiler/passes/plan_stages.h"

namespace nnbpf::compiler {

struct EmitContext {
  const QuantModel& model;
  const ParamLayout& layout;
  std::ostringstream out;
  // Zero-input branches the current stage may still emit (emit_dense.cc);
  // emit_stage_body sets it per stage.
  int zero_skips_left = 0;
};

// What emit_program asks of each model kind (one overload per kind, chosen
// by std::visit): the parameter struct, and the body of stage `st`.
// MLP (emit_program.cc): step 1, then the stage's layer parts.
void emit_params_struct(EmitContext& ctx, const QuantMlp& mlp);
void emit_stage_body(EmitContext& ctx, const QuantMlp& mlp, const Stage& st);
// Tree ensemble (emit_tree.cc): the feature copy, then the stage's trees.
void emit_params_struct(EmitContext& ctx, const QuantTreeEnsemble& tree);
void emit_stage_body(EmitContext& ctx, const QuantTreeEnsemble& tree, const Stage& st);

// Step 1 of docs/semantics.md: feat[] -> act[0][].
void emit_standardize(EmitContext& ctx, const QuantMlp& mlp);
// Neurons computed together by emit_dense (sharing each activation load).
inline constexpr int kDenseGroup = 4;
// Pointers a dense group may set up into its weights (each covers 256 bytes:
// one-byte load displacements, emit_dense.cc); larger groups use absolute
// offsets.
inline constexpr size_t kDenseBases = 2;
// Branches "skip this input's products when the ReLU made it zero" per stage:
// the verifier keeps every branch it has not yet explored on a stack of 8,192
// ("sequence of jumps is too complex"), so a stage stays well under it.
inline constexpr int kZeroSkipsPerStage = 2048;
// Step 2 for neurons [begin, end) of layer `l`.
void emit_dense(EmitContext& ctx, const QuantMlp& mlp, int l, int begin, int end);
// --quant int8 (emit_int8.cc, docs/semantics.md#int8): step 2 for neurons
// [begin, end) of layer l.
void emit_dense_int8(EmitContext& ctx, const QuantMlp& mlp, int l, int begin, int end);
// Step 3: verdict from the logits.
void emit_classify(EmitContext& ctx);

// Where layer l reads its input and writes its output in the scratch map.
std::string dense_input_buffer(int l);
std::string dense_output_buffer(const QuantMlp& mlp, int l);

// The whole translation unit.
std::string emit_program(const QuantModel& model, const StagePlan& plan, const ParamLayout& layout);

}  // namespace nnbpf::compiler
