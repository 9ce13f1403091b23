// Tree ensembles: exact integer thresholds and integer leaf values.
//
// Thresholds. The float engine sends raw feature x to a node's true child iff
// tree_predicate(mode, value, z) with z = (double(x) - mean) * mul. z is a
// monotone function of x (double rounding is monotone), so the set of u64 x
// taking the true branch is a prefix, a suffix or (EQ) an interval of u64;
// a binary search over all of u64 on that very predicate finds its bound, and
// the kernel's x <= t / x == t then agrees with the float engine on every
// integer input, with or without standardization.
//
// Leaves. Class weights become round(w * 2^b) (half away from zero), the
// base values are added to the leaves of the first tree, and b is the largest
// in [0, 30] for which every logit provably fits int32.
#include "compiler/passes/quantize_tree.h"

#include <cmath>
#include <limits>
#include <optional>

#include "compiler/interp/tree.h"
#include "compiler/ir/catalog.h"

namespace nnbpf::compiler {

namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// Largest x in u64 with a(x), for a predicate true on a prefix of u64;
// nullopt when a(0) is false.
template <typename F>
std::optional<uint64_t> last_true(F a) {
  if (!a(0)) return std::nullopt;
  if (a(kU64Max)) return kU64Max;
  uint64_t lo = 0, hi = kU64Max;  // a(lo), !a(hi)
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    (a(mid) ? lo : hi) = mid;
  }
  return lo;
}

int next_pow2(int v) {
  int p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

bool float_predicate(TreeMode mode, double value, double z) { return tree_predicate(mode, value, z); }

Result<IntPredicate> integer_predicate(TreeMode mode, double value, double mean, double mul) {
  auto z = [&](uint64_t x) { return tree_input(static_cast<double>(x), mean, mul); };
  auto p = [&](uint64_t x) { return tree_predicate(mode, value, z(x)); };
  IntPredicate out;
  if (mode == TreeMode::Leaf) return Error::runtime("integer_predicate called on a leaf");
  if (mul == 0 || !std::isfinite(mul)) {
    out.kind = p(0) ? IntPredicate::kAlways : IntPredicate::kNever;
    return out;
  }
  const bool up = mul > 0;  // z nondecreasing in x
  if (mode == TreeMode::Eq || mode == TreeMode::Neq) {
    // {x : z == value} = [lo, hi]: lo follows the last x below value, hi is the last x not above it.
    auto below = [&](uint64_t x) { return up ? z(x) < value : z(x) > value; };
    auto not_above = [&](uint64_t x) { return up ? z(x) <= value : z(x) >= value; };
    const auto b = last_true(below);
    const auto h = last_true(not_above);
    const bool eq = mode == TreeMode::Eq;
    if (b && *b == kU64Max) {
      out.kind = eq ? IntPredicate::kNever : IntPredicate::kAlways;
      return out;
    }
    const uint64_t lo = b ? *b + 1 : 0;
    if (!h || *h < lo) {
      out.kind = eq ? IntPredicate::kNever : IntPredicate::kAlways;
      return out;
    }
    if (*h != lo)
      return Error::bad_input("an EQ/NEQ node's value " + std::to_string(value) + " is matched by " +
                              "every integer in [" + std::to_string(lo) + ", " + std::to_string(*h) +
                              "] after standardization; not expressible as one integer comparison");
    out.kind = eq ? IntPredicate::kEq : IntPredicate::kNe;
    out.t = lo;
    return out;
  }
  const bool low_true = (mode == TreeMode::Leq || mode == TreeMode::Lt) == up;  // true for small x
  if (low_true) {
    const auto t = last_true(p);
    if (!t) out.kind = IntPredicate::kNever;
    else if (*t == kU64Max) out.kind = IntPredicate::kAlways;
    else {
      out.kind = IntPredicate::kLe;
      out.t = *t;
    }
  } else {
    const auto f = last_true([&](uint64_t x) { return !p(x); });
    if (!f) out.kind = IntPredicate::kAlways;
    else if (*f == kU64Max) out.kind = IntPredicate::kNever;
    else {
      out.kind = IntPredicate::kGt;
      out.t = *f;
    }
  }
  return out;
}

Result<QuantModel> quantize_tree(const FloatModel& model, const FloatTreeEnsemble& ft, const QuantOptions& opts) {
  const std::string where = "tree ensemble '" + ft.origin + "': ";
  QuantModel qm;
  qm.features = model.features;
  for (const std::string& f : qm.features) qm.feature_ids.push_back(find_feature(f)->id);
  qm.digest = model.digest;
  qm.alpha = opts.alpha;

  QuantTreeEnsemble qt;
  qt.n_outputs = ft.n_classes;
  size_t nodes = 0, leaves = 0;
  for (const FloatTree& t : ft.trees) {
    nodes += t.nodes.size();
    for (const auto& n : t.nodes) leaves += n.mode == TreeMode::Leaf;
  }
  if (nodes > static_cast<size_t>(kMaxTreeNodes))
    return Error::bad_input(where + std::to_string(nodes) + " nodes exceed the limit of " +
                            std::to_string(kMaxTreeNodes) + " (kMaxTreeNodes)");
  qt.nodes_used = static_cast<int>(nodes);
  qt.leaves_used = static_cast<int>(leaves);
  qt.node_capacity = next_pow2(static_cast<int>(nodes));
  qt.leaf_capacity = next_pow2(std::max<int>(1, static_cast<int>(leaves)));
  qt.nodes.assign(static_cast<size_t>(qt.node_capacity), QuantTreeNode{});
  qt.leaf_values.assign(static_cast<size_t>(qt.leaf_capacity) * qt.n_outputs, 0);

  // b: the largest in [0, 30] with sum_c bound * 2^b + rounding slack < 2^31.
  double worst = 0;
  for (int c = 0; c < ft.n_classes; ++c) {
    double bound = std::fabs(ft.base_values[static_cast<size_t>(c)]);
    for (const FloatTree& t : ft.trees) {
      double m = 0;
      for (const auto& n : t.nodes)
        if (n.mode == TreeMode::Leaf) m = std::max(m, std::fabs(n.weights[static_cast<size_t>(c)]));
      bound += m;
    }
    worst = std::max(worst, bound);
  }
  const double slack = static_cast<double>(ft.trees.size()) + 2;
  auto fits = [&](int b) { return std::ldexp(worst, b) + slack < 2147483647.0; };
  int b = -1;
  for (int cand = 30; cand >= 0 && b < 0; --cand)
    if (fits(cand)) b = cand;
  if (opts.scale_bits) {
    if (!fits(*opts.scale_bits))
      return Error::bad_input(where + "--scale-bits " + std::to_string(*opts.scale_bits) +
                              " overflows int32 logits (summed leaf weights up to " + std::to_string(worst) + ")" +
                              (b >= 0 ? "; the largest b that fits is " + std::to_string(b) : std::string()));
    b = *opts.scale_bits;
    qm.b_forced = true;
  }
  if (b < 0)
    return Error::bad_input(where + "summed leaf weights up to " + std::to_string(worst) +
                            " do not fit int32 logits at any scale");
  qm.b = b;
  qm.b_ecdf = b;
  auto q = [&](double w) { return static_cast<int32_t>(std::llround(std::ldexp(w, b))); };

  int base = 0, leaf_row = 0;
  for (size_t k = 0; k < ft.trees.size(); ++k) {
    const FloatTree& t = ft.trees[k];
    qt.roots.push_back(static_cast<uint32_t>(base + t.root));
    qt.depths.push_back(t.depth);
    for (size_t i = 0; i < t.nodes.size(); ++i) {
      const FloatTreeNode& fn = t.nodes[i];
      QuantTreeNode& n = qt.nodes[static_cast<size_t>(base) + i];
      const auto self = static_cast<uint16_t>(base + static_cast<int>(i));
      if (fn.mode == TreeMode::Leaf) {
        n.true_child = n.false_child = self;
        n.leaf = static_cast<uint16_t>(leaf_row);
        for (int c = 0; c < ft.n_classes; ++c) {
          int32_t v = q(fn.weights[static_cast<size_t>(c)]);
          if (k == 0) v += q(ft.base_values[static_cast<size_t>(c)]);
          qt.leaf_values[static_cast<size_t>(leaf_row) * qt.n_outputs + c] = v;
        }
        ++leaf_row;
        continue;
      }
      const double mean = model.standardization ? model.standardization->mean[static_cast<size_t>(fn.feature)] : 0.0;
      const double mul = model.standardization ? model.standardization->mul[static_cast<size_t>(fn.feature)] : 1.0;
      auto pred = integer_predicate(fn.mode, fn.value, mean, mul);
      if (!pred)
        return pred.error().with_context(where + "tree " + std::to_string(k) + " node " + std::to_string(i) + ": ");
      const auto tc = static_cast<uint16_t>(base + fn.true_child);
      const auto fc = static_cast<uint16_t>(base + fn.false_child);
      n.feature = static_cast<uint8_t>(fn.feature);
      n.threshold = pred->t;
      switch (pred->kind) {
        case IntPredicate::kLe: n.op = TreeOp::Le; n.true_child = tc; n.false_child = fc; break;
        case IntPredicate::kGt: n.op = TreeOp::Le; n.true_child = fc; n.false_child = tc; break;
        case IntPredicate::kEq: n.op = TreeOp::Eq; n.true_child = tc; n.false_child = fc; break;
        case IntPredicate::kNe: n.op = TreeOp::Eq; n.true_child = fc; n.false_child = tc; break;
        case IntPredicate::kAlways: n.op = TreeOp::Le; n.threshold = kU64Max; n.true_child = n.false_child = tc; break;
        case IntPredicate::kNever: n.op = TreeOp::Le; n.threshold = kU64Max; n.true_child = n.false_child = fc; break;
      }
    }
    base += static_cast<int>(t.nodes.size());
  }
  qm.kind = std::move(qt);
  return qm;
}

}  // namespace nnbpf::compiler
