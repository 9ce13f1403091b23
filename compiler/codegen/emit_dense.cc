// Emitter for a dense layer (formula (4)) with optional ReLU (formula (3)):
// one accumulation expression per neuron, weights read from the parameter
// slot, activations from the per-CPU scratch map. A compiler barrier between
// neurons keeps clang from holding a layer's inputs in registers across
// neurons (which would spill past the 512-byte stack); within a neuron the
// source-order scheduler (clang_compile.cc) keeps one product live at a time.
// Each product is nnbpf_mac (bpf_rt/include/nnbpf/mlp.h): load, multiply,
// add.
#include <algorithm>
#include <cstdlib>

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
  const std::string w = "w" + std::to_string(l);  // field of struct nnbpf_params
  const std::string bias = "p->b" + std::to_string(l);
  const std::string x = dense_input_buffer(l);
  const std::string y = dense_output_buffer(ctx.model, l);
  o << "\t/* layer " << l << " [" << layer.in << " -> " << layer.out << "]"
    << (layer.relu ? " relu" : "") << ", neurons " << begin << ".." << end - 1 << " */\n";
  // Neurons are computed kGroup at a time: each input activation is loaded
  // once per group and multiplied into kGroup accumulators, so a product
  // costs a weight load, a multiply and an add (plus 1/kGroup of a load).
  const size_t row_bytes = 4ull * layer.in;
  // The accumulator's right shift: the exponent of the layer's inputs,
  // b_{l-1} (docs/semantics.md#per-layer), read from the slot after the
  // products so it holds no register during them; step 1's b for layer 0.
  const std::string shift =
      l > 0 && ctx.model.layer_exponents ? "p->layer_b[" + std::to_string(l - 1) + "]" : std::string("b");
  for (int i = begin; i < end;) {
    // Grouping pays while weight loads use the 16-bit displacement of BPF
    // loads; beyond 32 KiB into the slot every load needs its own address
    // arithmetic and one neuron at a time measured faster
    // (docs/PERFORMANCE.md).
    int g = std::min(kDenseGroup, end - i);
    if (ctx.layout.layers[l].weight_offset + row_bytes * (i + g) > 32767) g = 1;
    o << "\t{\n";
    for (int k = 0; k < g; ++k) o << "\t\t__s64 a" << k << " = 0;\n";
    // The group's weights are one contiguous run of the slot: with at most
    // kDenseBases pointers into it, every load's displacement fits in one
    // byte of x86 code (nnbpf_mac_rel, bpf_rt/include/nnbpf/mlp.h).
    const size_t run = ctx.layout.layers[l].weight_offset + row_bytes * i;
    const bool rel = row_bytes * g <= 256 * kDenseBases;
    for (size_t q = 0; rel && q * 256 < row_bytes * g; ++q)
      o << "\t\tconst char *q" << q << " = (const char *)p + " << run + 256 * q + 128 << ";\n\t\tnnbpf_opaque(q" << q
        << ");\n";
    for (int j = 0; j < layer.in; ++j) {
      o << "\t\t{\n\t\t\t__s64 xj = " << x << "[" << j << "];\n";
      for (int k = 0; k < g; ++k) {
        const long at = static_cast<long>(row_bytes * k + 4 * j);  // from the run's start
        if (rel)
          o << "\t\t\tnnbpf_mac_rel(a" << k << ", q" << at / 256 << ", " << (at % 256 < 128 ? "-" : "+")
            << std::labs(at % 256 - 128) << ", xj);\n";
        else
          o << "\t\t\tnnbpf_mac(a" << k << ", p, " << w << "[" << i + k << "][" << j << "], xj);\n";
      }
      o << "\t\t}\n";
    }
    o << "\t\t__u32 sh = " << shift << ";\n";
    for (int k = 0; k < g; ++k) {
      o << "\t\ta" << k << " = (a" << k << " >> sh) + " << bias << "[" << i + k << "];\n";
      if (layer.relu) {
        // Branch-free ReLU; nnbpf_opaque keeps clang from turning it back
        // into a data-dependent branch.
        o << "\t\t{\n\t\t\t__s64 neg = a" << k << " >> 63;\n\t\t\tnnbpf_opaque(neg);\n";
        o << "\t\t\t" << y << "[" << i + k << "] = a" << k << " & ~neg;\n\t\t}\n";
      } else {
        o << "\t\t" << y << "[" << i + k << "] = a" << k << ";\n";
      }
    }
    o << "\t}\n\tnnbpf_barrier();\n";
    i += g;
  }
}

}  // namespace nnbpf::compiler
