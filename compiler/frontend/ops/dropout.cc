// Dropout at inference: a no-op. Refused when training_mode is a true
// constant; the mask output must be unused (the loader checks that).
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class DropoutOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    return check_attributes(node, {"ratio", "seed", "is_test"});
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 3));
    if (node.chain_input != 0)
      return Error::bad_input("the input must be the data operand (input 0)");
    if (const ConstTensor* t = node.input(2)) {
      for (double v : t->data)
        if (v != 0) return Error::bad_input("training_mode is true; export the model in eval mode");
    }
    return in;
  }

  Status lower(const NodeView&, LowerState&) override { return ok_status(); }
};

}  // namespace

std::unique_ptr<Op> make_dropout_op() { return std::make_unique<DropoutOp>(); }

}  // namespace nnbpf::compiler::frontend
