// ArgMax over the class axis as the last node: sets FloatModel::head to
// ArgMax. select_last_index=1 would break ties differently and is refused.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class ArgMaxOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"axis", "keepdims", "select_last_index"}));
    NNBPF_TRY(axis, attr_int(node, "axis", 0));
    NNBPF_TRY(last, attr_int(node, "select_last_index", 0));
    if (last != 0)
      return Error::bad_input("select_last_index=1 is not supported (ties go to the lowest index)");
    return check_class_axis(node, axis);
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    return ChainShape{1, false};
  }

  Status lower(const NodeView& node, LowerState& st) override {
    return lower_head(Head::ArgMax, node, st);
  }
};

}  // namespace

std::unique_ptr<Op> make_argmax_op() { return std::make_unique<ArgMaxOp>(); }

}  // namespace nnbpf::compiler::frontend
