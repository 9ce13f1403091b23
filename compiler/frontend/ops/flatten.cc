// Flatten(axis=1) of [batch, F] is [batch, F]: a no-op. Other axes merge the
// batch axis and are refused.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class FlattenOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"axis"}));
    NNBPF_TRY(axis, attr_int(node, "axis", 1));
    if (axis != 1 && axis != -1)
      return Error::bad_input("axis=" + std::to_string(axis) +
                              " does not keep [batch, F]; only axis 1 (or -1) is supported");
    return ok_status();
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    return in;
  }

  Status lower(const NodeView&, LowerState&) override { return ok_status(); }
};

}  // namespace

std::unique_ptr<Op> make_flatten_op() { return std::make_unique<FlattenOp>(); }

}  // namespace nnbpf::compiler::frontend
