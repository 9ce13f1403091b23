// The decision-tree engines. run_tree_reference follows the kernel's
// evaluation exactly: per tree a fixed number of levels (its depth) from the
// root, node indices masked by the node capacity, leaves pointing to
// themselves, then the leaf's row of integer class values added to the logits.
#include "compiler/interp/tree.h"

#include "compiler/interp/reference.h"

namespace nnbpf::compiler {

Inference run_tree_reference(const QuantTreeEnsemble& t, const std::vector<uint64_t>& raw) {
  const uint32_t nmask = static_cast<uint32_t>(t.node_capacity - 1);
  const uint32_t lmask = static_cast<uint32_t>(t.leaf_capacity - 1);
  std::vector<int64_t> logits(static_cast<size_t>(t.n_outputs), 0);
  for (size_t k = 0; k < t.roots.size(); ++k) {
    uint32_t i = t.roots[k];
    for (int level = 0; level < t.depths[k]; ++level) {
      const QuantTreeNode& n = t.nodes[i & nmask];
      const uint64_t x = n.feature < raw.size() ? raw[n.feature] : 0;
      const bool go_true = n.op == TreeOp::Eq ? x == n.threshold : x <= n.threshold;
      i = go_true ? n.true_child : n.false_child;
    }
    const uint32_t row = t.nodes[i & nmask].leaf & lmask;
    for (int c = 0; c < t.n_outputs; ++c) logits[static_cast<size_t>(c)] += t.leaf(static_cast<int>(row), c);
  }
  Inference out;
  out.verdict = verdict_of(logits);
  out.logits = std::move(logits);
  return out;
}

Inference run_tree_float(const FloatModel& model, const FloatTreeEnsemble& t, const std::vector<double>& raw) {
  std::vector<double> z(static_cast<size_t>(t.n_inputs));
  for (size_t j = 0; j < z.size(); ++j) {
    const double x = j < raw.size() ? raw[j] : 0.0;
    z[j] = model.standardization
               ? tree_input(x, model.standardization->mean[j], model.standardization->mul[j])
               : x;
  }
  std::vector<double> logits = t.base_values;
  for (const FloatTree& tree : t.trees) {
    int i = tree.root;
    while (tree.nodes[static_cast<size_t>(i)].mode != TreeMode::Leaf) {
      const FloatTreeNode& n = tree.nodes[static_cast<size_t>(i)];
      i = tree_predicate(n.mode, n.value, z[static_cast<size_t>(n.feature)]) ? n.true_child : n.false_child;
    }
    const auto& w = tree.nodes[static_cast<size_t>(i)].weights;
    for (size_t c = 0; c < logits.size(); ++c) logits[c] += w[c];
  }
  Inference out;
  out.verdict = verdict_of(logits);
  out.flogits = std::move(logits);
  return out;
}

}  // namespace nnbpf::compiler
