// Emitter for the classification step (formula (5); argmax for > 2 logits,
// lowest index on ties; logit0 > 0 for a single logit).
#include "compiler/codegen/emit.h"

namespace nnbpf::compiler {

void emit_classify(EmitContext& ctx) {
  auto& o = ctx.out;
  const int n = ctx.model.n_outputs();
  o << "\t/* classification */\n";
  if (n == 1) {
    o << "\ts->verdict = s->logits[0] > 0;\n";
  } else if (n == 2) {
    o << "\ts->verdict = s->logits[1] > s->logits[0];\n";
  } else {
    o << "\t{\n\t\t__s64 best = s->logits[0], arg = 0;\n";
    for (int i = 1; i < n; ++i)
      o << "\t\tif (s->logits[" << i << "] > best) {\n\t\t\tbest = s->logits[" << i << "];\n\t\t\targ = " << i
        << ";\n\t\t}\n";
    o << "\t\ts->verdict = arg;\n\t}\n";
  }
}

}  // namespace nnbpf::compiler
