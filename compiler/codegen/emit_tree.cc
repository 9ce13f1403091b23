// Emitters for tree models (docs/semantics.md, "Decision trees"): the
// parameter struct, the feature copy, and per tree a fixed number of
// unrolled levels. Everything is branch-free: node and leaf indices are
// masked by the power-of-two capacities and the feature index is a __u8 into
// the 256 entries of act[0], so the verifier sees every variable-index load
// in bounds; the comparison and the child choice use borrow/sign masks.
#include "compiler/codegen/emit.h"

namespace nnbpf::compiler {

void emit_params_struct(EmitContext& ctx, const QuantTreeEnsemble& t) {
  auto& o = ctx.out;
  const ParamLayout& l = ctx.layout;
  o << "#define NNBPF_TREE_NODE_MASK " << t.node_capacity - 1 << "u\n";
  o << "#define NNBPF_TREE_LEAF_MASK " << t.leaf_capacity - 1 << "u\n";
  o << "struct nnbpf_params {\n\tstruct nnbpf_params_hdr hdr;\n";
  o << "\tstruct nnbpf_tree_node nodes[" << t.node_capacity << "];\n";
  o << "\t__s32 leaf[" << t.leaf_capacity << "][" << t.n_outputs << "];\n";
  o << "\t__u32 roots[" << t.depths.size() << "];\n";
  o << "};\n";
  o << "_Static_assert(sizeof(struct nnbpf_params) == " << l.total_bytes << ", \"params size\");\n";
  o << "_Static_assert(__builtin_offsetof(struct nnbpf_params, nodes) == " << l.tree_nodes_offset
    << ", \"params nodes\");\n";
  o << "_Static_assert(__builtin_offsetof(struct nnbpf_params, leaf) == " << l.tree_leaves_offset
    << ", \"params leaf\");\n";
  o << "_Static_assert(__builtin_offsetof(struct nnbpf_params, roots) == " << l.tree_roots_offset
    << ", \"params roots\");\n\n";
}

namespace {

// The first stage: the raw features into act[0], the logits cleared.
void emit_tree_inputs(EmitContext& ctx) {
  auto& o = ctx.out;
  o << "\t/* tree inputs: raw features -> act[0] (a __u8 index stays inside its 256 entries); logits = 0 */\n";
  for (int j = 0; j < ctx.model.n_inputs(); ++j)
    o << "\ts->act[0][" << j << "] = (__s64)s->feat[" << j << "]; /* " << ctx.model.features[j] << " */\n";
  for (int c = 0; c < ctx.model.n_outputs(); ++c) o << "\ts->logits[" << c << "] = 0;\n";
  o << "\tnnbpf_barrier();\n";
}

// Tree k's unrolled levels, then its leaf row added to the logits.
void emit_tree(EmitContext& ctx, const QuantTreeEnsemble& t, int k) {
  auto& o = ctx.out;
  const int depth = t.depths[static_cast<size_t>(k)];
  o << "\t{ /* tree " << k << ": " << depth << " levels */\n";
  o << "\t\t__u32 i = p->roots[" << k << "];\n";
  o << "\t\tconst struct nnbpf_tree_node *n;\n";
  o << "\t\t__u64 x, t, gt, d, nd, ne, go;\n";
  o << "\t\t__u32 tc, fc, row;\n";
  for (int level = 0; level < depth; ++level) {
    o << "\t\t/* level " << level << " */\n"
      << "\t\tn = &p->nodes[i & NNBPF_TREE_NODE_MASK];\n"
      << "\t\tx = (__u64)s->act[0][n->feature];\n"
      << "\t\tt = n->threshold;\n"
      // gt = (t < x): the borrow out of t - x.
      << "\t\tgt = ((~t & x) | (~(t ^ x) & (t - x))) >> 63;\n\t\tnnbpf_opaque(gt);\n"
      // ne = (x != t); -d through an opaque register, or clang turns the idiom into a branch.
      << "\t\td = x ^ t;\n\t\tnd = -d;\n\t\tnnbpf_opaque(nd);\n"
      << "\t\tne = (d | nd) >> 63;\n"
      // go = 1 sends x to the false child: x > t (LE) or x != t (EQ).
      << "\t\tgo = gt ^ ((gt ^ ne) & -(__u64)(n->op & 1));\n"
      << "\t\ttc = n->true_child;\n\t\tfc = n->false_child;\n"
      << "\t\ti = tc ^ ((tc ^ fc) & -(__u32)go);\n";
  }
  o << "\t\trow = p->nodes[i & NNBPF_TREE_NODE_MASK].leaf & NNBPF_TREE_LEAF_MASK;\n";
  for (int c = 0; c < t.n_outputs; ++c) o << "\t\ts->logits[" << c << "] += p->leaf[row][" << c << "];\n";
  o << "\t}\n";
}

}  // namespace

void emit_stage_body(EmitContext& ctx, const QuantTreeEnsemble& tree, const Stage& st) {
  if (st.standardize) emit_tree_inputs(ctx);
  for (int k = st.trees().begin; k < st.trees().end; ++k) emit_tree(ctx, tree, k);
}

}  // namespace nnbpf::compiler
