// Emitter for the integer standardization (formula (1), docs/semantics.md step 1).
#include "compiler/codegen/emit.h"

namespace nnbpf::compiler {

void emit_standardize(EmitContext& ctx, const QuantMlp& mlp) {
  auto& o = ctx.out;
  o << "\t/* standardization: raw features -> act[0] at scale 2^b */\n";
  for (int j = 0; j < ctx.model.n_inputs(); ++j) {
    const std::string in = "p->in[" + std::to_string(j) + "]";
    o << "\t{ /* " << ctx.model.features[j] << " */\n"
      << "\t\t__u64 x = s->feat[" << j << "];\n"
      // Branch-free clamp (lo <= hi < 2^63): saturate to 2^63-1, then
      // x += min(hi - x, 0), x -= min(x - lo, 0) with sign masks.
      << "\t\t__s64 top = -(__s64)(x >> 63);\n\t\tnnbpf_opaque(top);\n"
      << "\t\tx = (x & ~(__u64)top) | ((__u64)top >> 1);\n"
      << "\t\t__s64 over = (__s64)(" << in << ".hi - x);\n"
      << "\t\t__s64 om = over >> 63;\n\t\tnnbpf_opaque(om);\n"
      << "\t\tx += (__u64)(over & om);\n"
      << "\t\t__s64 under = (__s64)(x - " << in << ".lo);\n"
      << "\t\t__s64 um = under >> 63;\n\t\tnnbpf_opaque(um);\n"
      << "\t\tx -= (__u64)(under & um);\n"
      << "\t\t__s64 d = (__s64)(x << " << in << ".q) - " << in << ".m;\n"
      << "\t\t__s64 sg = d >> 63;\n"
      << "\t\t__u64 u = ((__u64)((d ^ sg) - sg) << b) / " << in << ".den;\n"
      << "\t\ts->act[0][" << j << "] = ((__s64)u ^ sg) - sg;\n"
      << "\t}\n";
  }
  // Sanity check of the slot's shift, placed here on purpose: the branch
  // gives the verifier a prune point right after the clamps, so their
  // alternative paths are not re-verified through every layer that follows.
  // The per-layer exponents (docs/semantics.md#per-layer) are checked with it.
  o << "\tif (b > 62";
  if (mlp.layer_exponents)
    for (size_t l = 0; l < mlp.layers.size(); ++l) o << " || p->layer_b[" << l << "] > 62";
  o << ") {\n\t\tnnbpf_count_error(NNBPF_ERR_PARAMS);\n\t\tnnbpf_inference_end(s);\n"
    << "\t\treturn XDP_ABORTED;\n\t}\n";
  o << "\tnnbpf_barrier();\n";
}

}  // namespace nnbpf::compiler
