// Div by a constant: the sigma of an input standardization (Sub then Div, or
// Div alone; sigma == 0 gives mul = 0, i.e. the standardized input is 0), or
// folded into the rows of the preceding dense layer. c / x is refused.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class DivOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override { return check_attributes(node, {}); }
  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    return resolve_arith_shape(node, in);
  }
  Status lower(const NodeView& node, LowerState& st) override {
    return lower_arith(Arith::kDiv, node, st);
  }
};

}  // namespace

std::unique_ptr<Op> make_div_op() { return std::make_unique<DivOp>(); }

}  // namespace nnbpf::compiler::frontend
