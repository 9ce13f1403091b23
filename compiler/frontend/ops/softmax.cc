// Softmax over the class axis as the last node: sets FloatModel::head
// (the verdict is still the argmax of the logits; Softmax is monotonic).
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class SoftmaxOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"axis"}));
    NNBPF_TRY(axis, attr_int(node, "axis", node.opset < 13 ? 1 : -1));
    return check_class_axis(node, axis);
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    return in;
  }

  Status lower(const NodeView& node, LowerState& st) override {
    return lower_head(Head::Softmax, node, st);
  }
};

}  // namespace

std::unique_ptr<Op> make_softmax_op() { return std::make_unique<SoftmaxOp>(); }

}  // namespace nnbpf::compiler::frontend
