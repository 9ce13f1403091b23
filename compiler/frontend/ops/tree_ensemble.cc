// ai.onnx.ml TreeEnsembleClassifier: a decision tree or an ensemble of trees
// whose per-class leaf weights are summed (post_transform NONE). Must come
// right after the input, optionally standardized (Scaler, Sub, Div, ...):
// the standardization stays in the FloatModel and quantize_tree folds it into
// integer thresholds on the raw features. Ends the chain; the graph output
// is its label (output 0) or its scores (output 1), or both.
//
// Accepted attributes: nodes_treeids/nodeids/featureids/modes/values (or
// nodes_values_as_tensor)/truenodeids/falsenodeids, nodes_hitrates (ignored),
// nodes_missing_value_tracks_true (irrelevant: integer features are never
// missing), class_treeids/nodeids/ids/weights (or class_weights_as_tensor),
// classlabels_int64s (must be 0..N-1: the verdict is the class index),
// base_values (or base_values_as_tensor), post_transform.
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

Error bad(std::string msg) { return Error::bad_input(std::move(msg)); }

const onnx::AttributeProto* find(const NodeView& node, std::string_view name) {
  for (const auto& a : node.proto().attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

Result<std::vector<int64_t>> ints(const NodeView& node, std::string_view name, bool required) {
  const auto* a = find(node, name);
  if (!a) {
    if (required) return bad("attribute '" + std::string(name) + "' is missing");
    return std::vector<int64_t>{};
  }
  if (a->type() != onnx::AttributeProto::INTS)
    return bad("attribute '" + std::string(name) + "' must be a list of ints");
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

// A float list given as FLOATS (`name`) or as a DOUBLE/FLOAT tensor
// (`name`_as_tensor, ai.onnx.ml opset 3); at most one of them.
Result<std::vector<double>> floats(const NodeView& node, std::string_view name, bool required) {
  const std::string tname = std::string(name) + "_as_tensor";
  const auto* a = find(node, name);
  const auto* t = find(node, tname);
  if (a && t) return bad("both '" + std::string(name) + "' and '" + tname + "' are given");
  std::vector<double> out;
  if (a) {
    if (a->type() != onnx::AttributeProto::FLOATS)
      return bad("attribute '" + std::string(name) + "' must be a list of floats");
    out.assign(a->floats().begin(), a->floats().end());
  } else if (t) {
    if (t->type() != onnx::AttributeProto::TENSOR) return bad("attribute '" + tname + "' must be a tensor");
    const auto& tp = t->t();
    if (tp.data_type() == onnx::TensorProto::DOUBLE) {
      if (tp.has_raw_data()) {
        out.resize(tp.raw_data().size() / 8);
        std::memcpy(out.data(), tp.raw_data().data(), out.size() * 8);
      } else {
        out.assign(tp.double_data().begin(), tp.double_data().end());
      }
    } else if (tp.data_type() == onnx::TensorProto::FLOAT) {
      if (tp.has_raw_data()) {
        std::vector<float> f(tp.raw_data().size() / 4);
        std::memcpy(f.data(), tp.raw_data().data(), f.size() * 4);
        out.assign(f.begin(), f.end());
      } else {
        out.assign(tp.float_data().begin(), tp.float_data().end());
      }
    } else {
      return bad("attribute '" + tname + "' must be a DOUBLE or FLOAT tensor");
    }
  } else if (required) {
    return bad("attribute '" + std::string(name) + "' (or '" + tname + "') is missing");
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i]))
      return bad("attribute '" + std::string(a ? name : tname) + "' contains " +
                 (std::isnan(out[i]) ? "NaN" : "Inf") + " at index " + std::to_string(i));
  return out;
}

Result<std::vector<std::string>> strings(const NodeView& node, std::string_view name) {
  const auto* a = find(node, name);
  if (!a) return std::vector<std::string>{};
  if (a->type() != onnx::AttributeProto::STRINGS)
    return bad("attribute '" + std::string(name) + "' must be a list of strings");
  return std::vector<std::string>(a->strings().begin(), a->strings().end());
}

Result<TreeMode> parse_mode(const std::string& s) {
  if (s == "BRANCH_LEQ") return TreeMode::Leq;
  if (s == "BRANCH_LT") return TreeMode::Lt;
  if (s == "BRANCH_GTE") return TreeMode::Gte;
  if (s == "BRANCH_GT") return TreeMode::Gt;
  if (s == "BRANCH_EQ") return TreeMode::Eq;
  if (s == "BRANCH_NEQ") return TreeMode::Neq;
  if (s == "LEAF") return TreeMode::Leaf;
  return bad("unknown node mode '" + s +
             "' (BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT, BRANCH_EQ, BRANCH_NEQ or LEAF)");
}

class TreeEnsembleClassifierOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(
        node, {"nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
               "nodes_values_as_tensor", "nodes_truenodeids", "nodes_falsenodeids", "nodes_hitrates",
               "nodes_hitrates_as_tensor", "nodes_missing_value_tracks_true", "class_treeids",
               "class_nodeids", "class_ids", "class_weights", "class_weights_as_tensor",
               "classlabels_int64s", "classlabels_strings", "base_values", "base_values_as_tensor",
               "post_transform"}));
    if (const auto* a = find(node, "post_transform")) {
      if (a->type() != onnx::AttributeProto::STRING) return bad("attribute 'post_transform' must be a string");
      if (a->s() != "NONE")
        return bad("post_transform '" + a->s() +
                   "' is not supported (only NONE: the logits are the summed leaf weights)");
    }
    if (find(node, "classlabels_strings"))
      return bad("classlabels_strings is not supported; use classlabels_int64s 0..N-1");
    NNBPF_TRY(labels, ints(node, "classlabels_int64s", true));
    if (labels.size() < 2 || labels.size() > static_cast<size_t>(kMaxOutputs))
      return bad("classlabels_int64s has " + std::to_string(labels.size()) + " classes; expected 2 to " +
                 std::to_string(kMaxOutputs));
    for (size_t c = 0; c < labels.size(); ++c)
      if (labels[c] != static_cast<int64_t>(c))
        return bad("classlabels_int64s must be 0..N-1 (the verdict is the class index); entry " +
                   std::to_string(c) + " is " + std::to_string(labels[c]));
    tree_.class_labels = labels;
    tree_.n_classes = static_cast<int>(labels.size());

    NNBPF_TRY(treeids, ints(node, "nodes_treeids", true));
    NNBPF_TRY(nodeids, ints(node, "nodes_nodeids", true));
    NNBPF_TRY(featureids, ints(node, "nodes_featureids", true));
    NNBPF_TRY(truen, ints(node, "nodes_truenodeids", true));
    NNBPF_TRY(falsen, ints(node, "nodes_falsenodeids", true));
    NNBPF_TRY(missing, ints(node, "nodes_missing_value_tracks_true", false));
    NNBPF_TRY(modes, strings(node, "nodes_modes"));
    NNBPF_TRY(values, floats(node, "nodes_values", true));
    const size_t n = treeids.size();
    if (n == 0) return bad("the ensemble has no nodes");
    auto same = [&](const char* name, size_t got) -> Status {
      if (got != n)
        return bad(std::string("attribute '") + name + "' has " + std::to_string(got) + " entries; '" +
                   "nodes_treeids' has " + std::to_string(n));
      return ok_status();
    };
    NNBPF_CHECK(same("nodes_nodeids", nodeids.size()));
    NNBPF_CHECK(same("nodes_featureids", featureids.size()));
    NNBPF_CHECK(same("nodes_modes", modes.size()));
    NNBPF_CHECK(same("nodes_values", values.size()));
    NNBPF_CHECK(same("nodes_truenodeids", truen.size()));
    NNBPF_CHECK(same("nodes_falsenodeids", falsen.size()));
    if (!missing.empty()) NNBPF_CHECK(same("nodes_missing_value_tracks_true", missing.size()));

    // (tree id, node id) -> (tree index, node index); trees in order of first appearance.
    std::map<int64_t, int> tree_index;
    std::map<std::pair<int64_t, int64_t>, std::pair<int, int>> where;
    for (size_t i = 0; i < n; ++i) {
      auto [it, fresh] = tree_index.emplace(treeids[i], static_cast<int>(tree_.trees.size()));
      if (fresh) tree_.trees.emplace_back();
      FloatTree& t = tree_.trees[static_cast<size_t>(it->second)];
      const std::string at = "node " + std::to_string(i) + " (tree " + std::to_string(treeids[i]) + ", id " +
                             std::to_string(nodeids[i]) + ")";
      if (!where.emplace(std::make_pair(treeids[i], nodeids[i]),
                         std::make_pair(it->second, static_cast<int>(t.nodes.size())))
               .second)
        return bad(at + ": node id appears twice in its tree");
      FloatTreeNode fn;
      auto mode = parse_mode(modes[i]);
      if (!mode) return mode.error().with_context(at + ": ");
      fn.mode = *mode;
      fn.value = values[i];
      fn.feature = static_cast<int>(featureids[i]);
      if (fn.mode != TreeMode::Leaf && (featureids[i] < 0 || featureids[i] >= kMaxFeatures))
        return bad(at + ": feature id " + std::to_string(featureids[i]) + " is out of range");
      fn.weights.assign(static_cast<size_t>(tree_.n_classes), 0.0);
      t.nodes.push_back(std::move(fn));
      raw_true_.push_back(truen[i]);
      raw_false_.push_back(falsen[i]);
    }
    if (tree_.trees.size() > static_cast<size_t>(kMaxTrees))
      return bad("the ensemble has " + std::to_string(tree_.trees.size()) + " trees; the limit is " +
                 std::to_string(kMaxTrees));
    // Children.
    for (size_t i = 0; i < n; ++i) {
      auto [ti, ni] = where.at({treeids[i], nodeids[i]});
      FloatTreeNode& fn = tree_.trees[ti].nodes[ni];
      if (fn.mode == TreeMode::Leaf) continue;
      const std::string at = "node " + std::to_string(i) + " (tree " + std::to_string(treeids[i]) + ", id " +
                             std::to_string(nodeids[i]) + ")";
      auto t = where.find({treeids[i], raw_true_[i]});
      auto f = where.find({treeids[i], raw_false_[i]});
      if (t == where.end()) return bad(at + ": true child id " + std::to_string(raw_true_[i]) + " is not in its tree");
      if (f == where.end()) return bad(at + ": false child id " + std::to_string(raw_false_[i]) + " is not in its tree");
      fn.true_child = t->second.second;
      fn.false_child = f->second.second;
    }

    // Leaf weights.
    NNBPF_TRY(ctree, ints(node, "class_treeids", true));
    NNBPF_TRY(cnode, ints(node, "class_nodeids", true));
    NNBPF_TRY(cids, ints(node, "class_ids", true));
    NNBPF_TRY(cw, floats(node, "class_weights", true));
    if (cnode.size() != ctree.size() || cids.size() != ctree.size() || cw.size() != ctree.size())
      return bad("class_treeids, class_nodeids, class_ids and class_weights have " + std::to_string(ctree.size()) +
                 ", " + std::to_string(cnode.size()) + ", " + std::to_string(cids.size()) + " and " +
                 std::to_string(cw.size()) + " entries; expected the same number");
    std::set<int64_t> distinct_ids;
    for (size_t k = 0; k < ctree.size(); ++k) {
      const std::string at = "class weight " + std::to_string(k) + " (tree " + std::to_string(ctree[k]) + ", node " +
                             std::to_string(cnode[k]) + ")";
      auto w = where.find({ctree[k], cnode[k]});
      if (w == where.end()) return bad(at + ": no such node");
      FloatTreeNode& fn = tree_.trees[w->second.first].nodes[w->second.second];
      if (fn.mode != TreeMode::Leaf) return bad(at + ": the node is not a LEAF");
      if (cids[k] < 0 || cids[k] >= tree_.n_classes)
        return bad(at + ": class id " + std::to_string(cids[k]) + " is not in 0.." +
                   std::to_string(tree_.n_classes - 1));
      fn.weights[static_cast<size_t>(cids[k])] += cw[k];
      distinct_ids.insert(cids[k]);
    }
    if (tree_.n_classes == 2 && distinct_ids.size() == 1)
      return bad("binary classifier with weights for class " + std::to_string(*distinct_ids.begin()) +
                 " only: ONNX Runtime derives the other score by a special rule that nnbpf does not "
                 "implement; write class_weights for both classes");
    NNBPF_TRY(base, floats(node, "base_values", false));
    if (!base.empty() && base.size() != static_cast<size_t>(tree_.n_classes))
      return bad("base_values has " + std::to_string(base.size()) + " entries; expected " +
                 std::to_string(tree_.n_classes) + " (one per class)");
    tree_.base_values = base.empty() ? std::vector<double>(static_cast<size_t>(tree_.n_classes), 0.0) : base;

    // Structure: one root per tree, every node reached once, depth.
    for (auto& [id, ti] : tree_index) {
      FloatTree& t = tree_.trees[static_cast<size_t>(ti)];
      const std::string at = "tree " + std::to_string(id);
      std::vector<int> parents(t.nodes.size(), 0);
      for (const auto& fn : t.nodes) {
        if (fn.mode == TreeMode::Leaf) continue;
        ++parents[static_cast<size_t>(fn.true_child)];
        ++parents[static_cast<size_t>(fn.false_child)];
      }
      int root = -1;
      for (size_t i = 0; i < t.nodes.size(); ++i) {
        if (parents[i] > 1) return bad(at + ": node index " + std::to_string(i) + " has more than one parent");
        if (parents[i] == 0) {
          if (root >= 0) return bad(at + ": more than one root (nodes without a parent)");
          root = static_cast<int>(i);
        }
      }
      if (root < 0) return bad(at + ": no root (the nodes form a cycle)");
      t.root = root;
      // Iterative walk: count reached nodes and the depth.
      std::vector<std::pair<int, int>> stack{{root, 0}};
      size_t reached = 0;
      while (!stack.empty()) {
        auto [i, d] = stack.back();
        stack.pop_back();
        if (++reached > t.nodes.size()) return bad(at + ": the nodes form a cycle");
        t.depth = std::max(t.depth, d);
        const auto& fn = t.nodes[static_cast<size_t>(i)];
        if (fn.mode == TreeMode::Leaf) continue;
        stack.push_back({fn.true_child, d + 1});
        stack.push_back({fn.false_child, d + 1});
      }
      if (reached != t.nodes.size()) return bad(at + ": some nodes are not reachable from the root");
      if (t.depth > kMaxTreeDepth)
        return bad(at + ": depth " + std::to_string(t.depth) + " exceeds the limit of " +
                   std::to_string(kMaxTreeDepth));
    }
    return ok_status();
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    for (const auto& t : tree_.trees)
      for (const auto& fn : t.nodes)
        if (fn.mode != TreeMode::Leaf && fn.feature >= in.width)
          return bad("a node tests feature " + std::to_string(fn.feature) + " but the input has " +
                     std::to_string(in.width) + " columns");
    tree_.n_inputs = static_cast<int>(in.width);
    return ChainShape{tree_.n_classes, true};
  }

  Status lower(const NodeView& node, LowerState& st) override {
    if (st.stage != Stage::kInput)
      return bad("TreeEnsembleClassifier must follow the input directly (after an optional "
                 "standardization), not a dense layer");
    tree_.origin = node.name;
    st.tree = std::move(tree_);
    st.head_node = node.name;
    st.stage = Stage::kHead;
    return ok_status();
  }

  bool ends_chain_with_any_output() const override { return true; }

 private:
  FloatTreeEnsemble tree_;
  std::vector<int64_t> raw_true_, raw_false_;
};

}  // namespace

std::unique_ptr<Op> make_tree_ensemble_classifier_op() { return std::make_unique<TreeEnsembleClassifierOp>(); }

}  // namespace nnbpf::compiler::frontend
