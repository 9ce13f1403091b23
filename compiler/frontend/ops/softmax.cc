// Softmax and LogSoftmax over the class axis as the last node: set
// FloatModel::head (the verdict is still the argmax of the logits; both are
// monotonic). One class serves both: they differ only in the head recorded.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class SoftmaxOp final : public Op {
 public:
  explicit SoftmaxOp(Head head) : head_(head) {}

  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"axis"}));
    NNBPF_TRY(axis, attr_int(node, "axis", node.opset < 13 ? 1 : -1));
    return check_class_axis(node, axis);
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    return in;
  }

  Status lower(const NodeView& node, LowerState& st) override { return lower_head(head_, node, st); }

 private:
  Head head_;
};

}  // namespace

std::unique_ptr<Op> make_softmax_op() { return std::make_unique<SoftmaxOp>(Head::Softmax); }
std::unique_ptr<Op> make_log_softmax_op() { return std::make_unique<SoftmaxOp>(Head::LogSoftmax); }

}  // namespace nnbpf::compiler::frontend
