// Decision-tree engines of the reference interpreter (docs/semantics.md,
// "Decision trees"): the integer semantics the kernel computes, and the float
// evaluation of the ONNX tree. The float predicate is header-inline so the
// quantizer (compiler/passes/quantize_tree.cc) derives integer thresholds from
// exactly the function the float engine runs.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf::compiler {

// The tree's view of raw feature x: the folded standardization of the ONNX
// graph, in double precision, or x itself.
inline double tree_input(double x, double mean, double mul) { return (x - mean) * mul; }

// Does a node with `mode` and `value` send z to its true child?
inline bool tree_predicate(TreeMode mode, double value, double z) {
  switch (mode) {
    case TreeMode::Leq: return z <= value;
    case TreeMode::Lt: return z < value;
    case TreeMode::Gte: return z >= value;
    case TreeMode::Gt: return z > value;
    case TreeMode::Eq: return z == value;
    case TreeMode::Neq: return z != value;
    case TreeMode::Leaf: break;
  }
  return false;
}

// Integer engine for a tree model.
Inference run_tree_reference(const QuantTreeEnsemble& tree, const std::vector<uint64_t>& raw);
// Float engine for a tree model; `t` is model.kind's tree (the model gives
// the standardization).
Inference run_tree_float(const FloatModel& model, const FloatTreeEnsemble& t, const std::vector<double>& raw);

}  // namespace nnbpf::compiler
