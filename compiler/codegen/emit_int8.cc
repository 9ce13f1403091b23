// Emitter for --quant int8 (docs/semantics.md#int8): a dense layer with int8
// weights (sign-extending byte loads: ldsx on BPF v4, load + two shifts on
// v3), an int32 bias, and the integer requantization of the accumulator to
// the next layer's int8 activation. Clamps and ReLU are branch-free, like the
// int32 emitters, so the verifier sees straight-line code.
#include <algorithm>

#include "compiler/codegen/emit.h"

namespace nnbpf::compiler {

namespace {

// v = min(max(v, relu ? 0 : -127), 127), branch-free. |v| < 2^62 here.
void emit_clamp_int8(std::ostringstream& o, const std::string& v, bool relu, const std::string& indent) {
  if (relu) {
    o << indent << "{\n" << indent << "\t__s64 neg = " << v << " >> 63;\n"
      << indent << "\tnnbpf_opaque(neg);\n" << indent << "\t" << v << " &= ~neg;\n" << indent << "}\n";
  } else {
    o << indent << "{\n" << indent << "\t__s64 t = " << v << " + 127, m = t >> 63;\n"
      << indent << "\tnnbpf_opaque(m);\n" << indent << "\t" << v << " -= t & m;\n" << indent << "}\n";
  }
  o << indent << "{\n" << indent << "\t__s64 t = " << v << " - 127, m = t >> 63;\n"
    << indent << "\tnnbpf_opaque(m);\n" << indent << "\t" << v << " = 127 + (t & m);\n" << indent << "}\n";
}

}  // namespace

void emit_dense_int8(EmitContext& ctx, const QuantMlp& mlp, int l, int begin, int end) {
  const QuantLayer& layer = mlp.layers[l];
  const bool last = l + 1 == static_cast<int>(mlp.layers.size());
  auto& o = ctx.out;
  const std::string ls = std::to_string(l);
  const std::string w = "p->w" + ls;
  const std::string bias = "p->b" + ls;
  const std::string x = dense_input_buffer(l);
  const std::string y = dense_output_buffer(mlp, l);
  o << "\t/* layer " << l << " [" << layer.in << " -> " << layer.out << "] int8" << (layer.relu ? " relu" : "")
    << (last ? " logits" : " requantized") << ", neurons " << begin << ".." << end - 1 << " */\n";
  const size_t row_bytes = static_cast<size_t>(layer.in);
  for (int i = begin; i < end;) {
    // As emit_dense: group neurons while the weight loads fit the 16-bit
    // load displacement.
    int g = std::min(kDenseGroup, end - i);
    if (ctx.layout.layers[l].weight_offset + row_bytes * (i + g) > 32767) g = 1;
    o << "\t{\n";
    for (int k = 0; k < g; ++k) o << "\t\t__s64 a" << k << " = " << bias << "[" << i + k << "];\n";
    for (int j = 0; j < layer.in; ++j) {
      o << "\t\t{\n\t\t\t__s64 xj = " << x << "[" << j << "];\n";
      for (int k = 0; k < g; ++k)
        o << "\t\t\ta" << k << " += (__s64)" << w << "[" << i + k << "][" << j << "] * xj;\n";
      o << "\t\t}\n";
    }
    if (!last) {
      o << "\t\t{\n\t\t\t__s64 rm = p->rq_mult" << ls << ";\n\t\t\t__u32 rs = p->rq_shift" << ls << ";\n"
        << "\t\t\t__s64 rr = (__s64)((1ULL << rs) >> 1);\n";
      for (int k = 0; k < g; ++k) {
        o << "\t\t\ta" << k << " = (a" << k << " * rm + rr) >> rs;\n";
        emit_clamp_int8(o, "a" + std::to_string(k), layer.relu, "\t\t\t");
      }
      o << "\t\t}\n";
    } else if (layer.relu) {
      for (int k = 0; k < g; ++k)
        o << "\t\t{\n\t\t\t__s64 neg = a" << k << " >> 63;\n\t\t\tnnbpf_opaque(neg);\n\t\t\ta" << k
          << " &= ~neg;\n\t\t}\n";
    }
    for (int k = 0; k < g; ++k) o << "\t\t" << y << "[" << i + k << "] = a" << k << ";\n";
    o << "\t}\n\tnnbpf_barrier();\n";
    i += g;
  }
}

}  // namespace nnbpf::compiler
