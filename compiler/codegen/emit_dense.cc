// Emitter for a dense layer (formula (4)) with optional ReLU (formula (3)):
// one accumulation expression per neuron, weights read from the parameter
// slot, activations from the per-CPU scratch map. A compiler barrier between
// neurons keeps clang from holding a layer's inputs in registers across
// neurons (which would spill past the 512-byte stack); within a neuron the
// source-order scheduler (clang_compile.cc) keeps one product live at a time.
// Each product is nnbpf_mac or nnbpf_mac_at (bpf_rt/include/nnbpf/mlp.h):
// load, multiply, add; an input the previous ReLU made zero skips its
// products (emit_group).
//
// Two code shapes, chosen per layer by dense_layer_loops (plan_stages.cc):
// - straight line: every product written out, weights addressed from the
//   slot's start while they lie within the 16-bit load displacement, from a
//   per-group row pointer beyond it;
// - a bounded loop over groups of rows: one group's products written out,
//   weights addressed from a row pointer that advances by a group each
//   iteration, so the code does not grow with the layer's rows and every
//   load is in displacement range. The verifier walks every iteration (the
//   counter is exact), so its processed count is the straight line's.
#include <algorithm>
#include <cstdlib>
#include <functional>

#include "compiler/codegen/emit.h"
#include "compiler/passes/plan_stages.h"

namespace nnbpf::compiler {

std::string dense_input_buffer(int l) { return "s->act[" + std::to_string(l % 2) + "]"; }

std::string dense_output_buffer(const QuantMlp& mlp, int l) {
  if (l + 1 == static_cast<int>(mlp.layers.size())) return "s->logits";
  return "s->act[" + std::to_string((l + 1) % 2) + "]";
}

namespace {

// Where one group of g neurons reads its weights and bias and writes its outputs.
struct GroupRefs {
  std::function<std::string(int k, int j)> mac;  // the product call for neuron k, input j
  std::function<std::string(int k)> bias;
  std::function<std::string(int k)> out;
};

// g neurons sharing each activation load, g independent accumulators; a
// product costs a weight load, a multiply and an add (plus 1/g of a load).
void emit_group(EmitContext& ctx, const QuantMlp& mlp, int l, int g, const GroupRefs& refs, const std::string& ind,
                bool in_loop) {
  const QuantLayer& layer = mlp.layers[l];
  auto& o = ctx.out;
  const std::string x = dense_input_buffer(l);
  // The accumulator's right shift: the exponent of the layer's inputs,
  // b_{l-1} (docs/semantics.md#per-layer), read from the slot after the
  // products so it holds no register during them; step 1's b for layer 0.
  const std::string shift =
      l > 0 && mlp.layer_exponents ? "p->layer_b[" + std::to_string(l - 1) + "]" : std::string("b");
  for (int k = 0; k < g; ++k) o << ind << "__s64 a" << k << " = 0;\n";
  // An input that the previous layer's ReLU made zero adds nothing: one
  // branch skips its g products (~40 % of a trained hidden layer's inputs
  // are zero, docs/PERFORMANCE.md). Not in a loop body, where the verifier
  // would explore the branches again on every iteration.
  const bool skip_zero = !in_loop && l > 0 && mlp.layers[l - 1].relu && ctx.zero_skips_left >= layer.in;
  if (skip_zero) ctx.zero_skips_left -= layer.in;
  for (int j = 0; j < layer.in; ++j) {
    o << ind << "{\n" << ind << "\t__s64 xj = " << x << "[" << j << "];\n";
    if (skip_zero) o << ind << "\tif (xj) {\n";
    for (int k = 0; k < g; ++k) o << ind << "\t" << refs.mac(k, j) << ";\n";
    if (skip_zero) o << ind << "\t}\n";
    o << ind << "}\n";
  }
  o << ind << "__u32 sh = " << shift << ";\n";
  for (int k = 0; k < g; ++k) {
    o << ind << "a" << k << " = (a" << k << " >> sh) + " << refs.bias(k) << ";\n";
    if (layer.relu) {
      // Branch-free ReLU; nnbpf_opaque keeps clang from turning it back
      // into a data-dependent branch.
      o << ind << "{\n" << ind << "\t__s64 neg = a" << k << " >> 63;\n" << ind << "\tnnbpf_opaque(neg);\n";
      o << ind << "\t" << refs.out(k) << " = a" << k << " & ~neg;\n" << ind << "}\n";
    } else {
      o << ind << refs.out(k) << " = a" << k << ";\n";
    }
  }
}

// Byte offset of weight (k, j) from a pointer to the group's first row.
std::string row_offset(const QuantLayer& layer, int k, int j) { return std::to_string(4ll * (k * layer.in + j)); }

// Neurons [begin, end) written out, kDenseGroup at a time.
void emit_straight(EmitContext& ctx, const QuantMlp& mlp, int l, int begin, int end) {
  const QuantLayer& layer = mlp.layers[l];
  auto& o = ctx.out;
  const std::string ls = std::to_string(l);
  const std::string y = dense_output_buffer(mlp, l);
  const size_t row_bytes = 4ull * layer.in;
  for (int i = begin; i < end;) {
    const int g = std::min(kDenseGroup, end - i);
    GroupRefs refs;
    refs.bias = [&](int k) { return "p->b" + ls + "[" + std::to_string(i + k) + "]"; };
    refs.out = [&](int k) { return y + "[" + std::to_string(i + k) + "]"; };
    o << "\t{\n";
    // The group's weights are one contiguous run of the slot: with at most
    // kDenseBases pointers into it, every load's displacement fits in one
    // byte of x86 code (nnbpf_mac_rel, bpf_rt/include/nnbpf/mlp.h).
    const size_t run = ctx.layout.layers[l].weight_offset + row_bytes * i;
    if (row_bytes * g <= 256 * kDenseBases) {
      for (size_t q = 0; q * 256 < row_bytes * g; ++q)
        o << "\t\tconst char *q" << q << " = (const char *)p + " << run + 256 * q + 128 << ";\n\t\tnnbpf_opaque(q"
          << q << ");\n";
      refs.mac = [&](int k, int j) {
        const long at = static_cast<long>(row_bytes * k + 4 * j);  // from the run's start
        return "nnbpf_mac_rel(a" + std::to_string(k) + ", q" + std::to_string(at / 256) + ", " +
               (at % 256 < 128 ? "-" : "+") + std::to_string(std::labs(at % 256 - 128)) + ", xj)";
      };
    } else if (ctx.layout.layers[l].weight_offset + row_bytes * (i + g) <= 32767) {
      // Within the 16-bit load displacement of the slot's start.
      refs.mac = [&](int k, int j) {
        return "nnbpf_mac(a" + std::to_string(k) + ", p, w" + ls + "[" + std::to_string(i + k) + "][" +
               std::to_string(j) + "], xj)";
      };
    } else {
      // Beyond it: a pointer to the group's first row, every load a small
      // displacement from it.
      o << "\t\tconst __s32 *wr = p->w" << ls << "[" << i << "];\n";
      refs.mac = [&](int k, int j) {
        return "nnbpf_mac_at(a" + std::to_string(k) + ", wr, " + row_offset(layer, k, j) + ", xj)";
      };
    }
    emit_group(ctx, mlp, l, g, refs, "\t\t", false);
    o << "\t}\n\tnnbpf_barrier();\n";
    i += g;
  }
}

// Neurons [begin, end) as a bounded loop over groups of kDenseGroup rows;
// the rows left over written out after it.
void emit_loop(EmitContext& ctx, const QuantMlp& mlp, int l, int begin, int end) {
  const QuantLayer& layer = mlp.layers[l];
  auto& o = ctx.out;
  const std::string ls = std::to_string(l);
  const std::string y = dense_output_buffer(mlp, l);
  const int g = kDenseGroup;
  const int iterations = (end - begin) / g;
  GroupRefs refs;
  refs.mac = [&](int k, int j) {
    return "nnbpf_mac_at(a" + std::to_string(k) + ", wr, " + row_offset(layer, k, j) + ", xj)";
  };
  refs.bias = [](int k) { return "br[" + std::to_string(k) + "]"; };
  refs.out = [](int k) { return "yo[" + std::to_string(k) + "]"; };
  o << "\t{\n\t\tconst __s32 *wr = p->w" << ls << "[" << begin << "];\n"
    << "\t\tconst __s32 *br = &p->b" << ls << "[" << begin << "];\n"
    << "\t\t__s64 *yo = &" << y << "[" << begin << "];\n";
  // The counter passes through nnbpf_opaque: clang can neither unroll the
  // loop nor rewrite its exit test as a pointer comparison, which the
  // verifier could not decide; the verifier still knows its exact value.
  o << "#pragma clang loop unroll(disable)\n"
    << "\t\tfor (__u32 r = 0; r < " << iterations << "; r++) {\n\t\t\tnnbpf_opaque(r);\n\t\t\t{\n";
  emit_group(ctx, mlp, l, g, refs, "\t\t\t\t", true);
  o << "\t\t\t}\n\t\t\twr += " << g * layer.in << ";\n\t\t\tbr += " << g << ";\n\t\t\tyo += " << g
    << ";\n\t\t}\n\t}\n\tnnbpf_barrier();\n";
  if (begin + iterations * g < end) emit_straight(ctx, mlp, l, begin + iterations * g, end);
}

}  // namespace

void emit_dense(EmitContext& ctx, const QuantMlp& mlp, int l, int begin, int end) {
  const QuantLayer& layer = mlp.layers[l];
  const bool loop = dense_layer_loops(layer) && end - begin >= 2 * kDenseGroup;
  ctx.out << "\t/* layer " << l << " [" << layer.in << " -> " << layer.out << "]" << (layer.relu ? " relu" : "")
          << ", neurons " << begin << ".." << end - 1 << (loop ? ", loop" : "") << " */\n";
  if (loop)
    emit_loop(ctx, mlp, l, begin, end);
  else
    emit_straight(ctx, mlp, l, begin, end);
}

}  // namespace nnbpf::compiler
