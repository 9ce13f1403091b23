// QuantModel + StagePlan -> BPF C (one translation unit). Each op has its own
// emitter (emit_standardize.cc, emit_dense.cc, emit_classify.cc) writing into
// an EmitContext; emit_program.cc assembles the unit. The emitted code uses
// integer arithmetic and shifts only, and has no loops.
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
};

// Step 1 of docs/semantics.md: feat[] -> act[0][].
void emit_standardize(EmitContext& ctx);
// Neurons computed together by emit_dense (sharing each activation load).
inline constexpr int kDenseGroup = 4;
// Pointers a dense group may set up into its weights (each covers 256 bytes:
// one-byte load displacements, emit_dense.cc); larger groups use absolute
// offsets.
inline constexpr size_t kDenseBases = 2;
// Step 2 for neurons [begin, end) of layer `l`.
void emit_dense(EmitContext& ctx, int l, int begin, int end);
// --quant int8 (emit_int8.cc, docs/semantics.md#int8): step 2 for neurons
// [begin, end) of layer l.
void emit_dense_int8(EmitContext& ctx, int l, int begin, int end);
// Step 3: verdict from the logits.
void emit_classify(EmitContext& ctx);

// Tree models (emit_tree.cc): the parameter struct; the first stage's
// feature copy into act[0] and cleared logits; tree k's unrolled levels.
void emit_tree_params_struct(EmitContext& ctx);
void emit_tree_inputs(EmitContext& ctx);
void emit_tree(EmitContext& ctx, int k);

// Where layer l reads its input and writes its output in the scratch map.
std::string dense_input_buffer(int l);
std::string dense_output_buffer(const QuantModel& model, int l);

// The whole translation unit.
std::string emit_program(const QuantModel& model, const StagePlan& plan, const ParamLayout& layout);

}  // namespace nnbpf::compiler
