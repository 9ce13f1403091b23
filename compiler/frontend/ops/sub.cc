// Sub with a constant: the mean of an input standardization (x - mean), or
// folded into the bias of the preceding dense layer. c - x is accepted too.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class SubOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override { return check_attributes(node, {}); }
  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    return resolve_arith_shape(node, in);
  }
  Status lower(const NodeView& node, LowerState& st) override {
    return lower_arith(Arith::kSub, node, st);
  }
};

}  // namespace

std::unique_ptr<Op> make_sub_op() { return std::make_unique<SubOp>(); }

}  // namespace nnbpf::compiler::frontend
