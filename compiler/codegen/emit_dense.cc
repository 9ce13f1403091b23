// Emitter for a dense layer (formula (4)) with optional ReLU (formula (3)):
// one accumulation expression per neuron, weights read from the parameter
// slot, activations from the per-CPU scratch map. A compiler barrier between
// neurons keeps clang from holding a layer's inputs in registers across
// neurons (which would spill past the 512-byte stack); within a neuron the
// source-order scheduler (clang_compile.cc) keeps one product live at a time.
#include "compiler/codegen/emit.h"

namespace nnbpf::compiler {

std::string dense_input_buffer(int l) { return "s->act[" + std::to_string(l % 2) + "]"; }

std::string dense_output_buffer(const QuantModel& model, int l) {
  if (l + 1 == static_cast<int>(model.layers.size())) return "s->logits";
  return "s->act[" + std::to_string((l + 1) % 2) + "]";
}

void emit_dense(EmitContext& ctx, int l, int begin, int end) {
  const QuantLayer& layer = ctx.model.layers[l];
  auto& o = ctx.out;
  const std::string w = "p->w" + std::to_string(l);
  const std::string bias = "p->b" + std::to_string(l);
  const std::string x = dense_input_buffer(l);
  const std::string y = dense_output_buffer(ctx.model, l);
  o << "\t/* layer " << l << " [" << layer.in << " -> " << layer.out << "]"
    << (layer.relu ? " relu" : "") << ", neurons " << begin << ".." << end - 1 << " */\n";
  for (int i = begin; i < end; ++i) {
    // Row pointer: keeps load offsets within the 16-bit field of BPF loads
    // when the parameter slot is larger than 32 KiB.
    o << "\t{\n\t\tconst __s32 *w = " << w << "[" << i << "];\n\t\t__s64 acc =";
    for (int j = 0; j < layer.in; ++j)
      o << (j == 0 ? " " : (j % 4 == 0 ? "\n\t\t\t+ " : " + ")) << "(__s64)w[" << j << "] * " << x << "[" << j
        << "]";
    o << ";\n";
    o << "\t\tacc = (acc >> b) + " << bias << "[" << i << "];\n";
    if (layer.relu) {
      // Branch-free ReLU; nnbpf_opaque keeps clang from turning it back into
      // a data-dependent branch (and doubles as the per-neuron barrier).
      o << "\t\t__s64 neg = acc >> 63;\n\t\tnnbpf_opaque(neg);\n";
      o << "\t\t" << y << "[" << i << "] = acc & ~neg;\n\t}\n";
    } else {
      o << "\t\t" << y << "[" << i << "] = acc;\n\t}\n\tnnbpf_barrier();\n";
    }
  }
}

}  // namespace nnbpf::compiler
