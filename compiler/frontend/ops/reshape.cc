// Reshape of [batch, F] to [batch, F] ([-1,F], [0,F], [1,F], [0,-1], [1,-1],
// ...): a no-op. Any other target shape is refused.
#include <cmath>

#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class ReshapeOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"allowzero"}));
    NNBPF_TRY(allowzero, attr_int(node, "allowzero", 0));
    allowzero_ = allowzero != 0;
    return ok_status();
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 2, 2));
    if (node.chain_input != 0)
      return Error::bad_input("the input must be the data operand (input 0)");
    const ConstTensor* s = node.input(1);
    if (!s) return Error::bad_input("the shape input is missing");
    std::vector<int64_t> to;
    for (double v : s->data) to.push_back(static_cast<int64_t>(std::llround(v)));
    const std::string target = shape_str(to);
    const std::string keep =
        "; only reshapes that keep [batch," + std::to_string(in.width) + "] are supported";
    if (to.size() != 2) return Error::bad_input("target shape " + target + " is not 2-D" + keep);
    const bool batch_ok = to[0] == -1 || to[0] == 1 || (to[0] == 0 && !allowzero_);
    const bool width_ok =
        to[1] == in.width || (to[1] == 0 && !allowzero_) || (to[1] == -1 && to[0] != -1);
    if (!batch_ok || !width_ok)
      return Error::bad_input("target shape " + target + " changes the shape" + keep);
    return in;
  }

  Status lower(const NodeView&, LowerState&) override { return ok_status(); }

 private:
  bool allowzero_ = false;
};

}  // namespace

std::unique_ptr<Op> make_reshape_op() { return std::make_unique<ReshapeOp>(); }

}  // namespace nnbpf::compiler::frontend
