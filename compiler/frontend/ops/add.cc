// Add with a constant: standardization on the input (x + c), the bias after
// MatMul, or folded into the bias of the preceding dense layer.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class AddOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override { return check_attributes(node, {}); }
  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    return resolve_arith_shape(node, in);
  }
  Status lower(const NodeView& node, LowerState& st) override {
    return lower_arith(Arith::kAdd, node, st);
  }
};

}  // namespace

std::unique_ptr<Op> make_add_op() { return std::make_unique<AddOp>(); }

}  // namespace nnbpf::compiler::frontend
