// Mul by a constant: the 1/sigma of an input standardization (Sub then Mul,
// or Mul alone), or folded into the rows of the preceding dense layer.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class MulOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override { return check_attributes(node, {}); }
  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    return resolve_arith_shape(node, in);
  }
  Status lower(const NodeView& node, LowerState& st) override {
    return lower_arith(Arith::kMul, node, st);
  }
};

}  // namespace

std::unique_ptr<Op> make_mul_op() { return std::make_unique<MulOp>(); }

}  // namespace nnbpf::compiler::frontend
