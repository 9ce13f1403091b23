// FloatModel (tree ensemble) -> QuantModel: thresholds become exact integer
// comparisons on the raw u64 features (the input standardization folded in),
// leaf weights become int32 at scale 2^b (docs/semantics.md, "Decision trees").
#pragma once

#include <cstdint>

#include "compiler/ir/model.h"
#include "compiler/passes/quantize.h"

namespace nnbpf::compiler {

// One node's predicate on the raw feature x, as the float engine evaluates
// it: z = (double(x) - mean) * mul (z = double(x) without standardization),
// then `z MODE value`. In integers this is exactly one of:
//   kLe      x <= t
//   kGt      x >  t   (the kernel: x <= t with the children swapped)
//   kEq      x == t
//   kNe      x != t
//   kAlways  true for every u64 x;  kNever  false for every u64 x
struct IntPredicate {
  enum Kind { kLe, kGt, kEq, kNe, kAlways, kNever } kind = kAlways;
  uint64_t t = 0;
};

// Exact over all of u64 (binary search on the monotone double predicate).
// Fails only for BRANCH_EQ/NEQ when several integers give the same z.
Result<IntPredicate> integer_predicate(TreeMode mode, double value, double mean, double mul);

// The float engine's predicate (what integer_predicate reproduces).
bool float_predicate(TreeMode mode, double value, double z);

// Called by quantize() for a tree model; `ft` is model.kind's tree.
Result<QuantModel> quantize_tree(const FloatModel& model, const FloatTreeEnsemble& ft, const QuantOptions& opts);

}  // namespace nnbpf::compiler
