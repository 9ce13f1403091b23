// Identity: a no-op.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class IdentityOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override { return check_attributes(node, {}); }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    return in;
  }

  Status lower(const NodeView&, LowerState&) override { return ok_status(); }
};

}  // namespace

std::unique_ptr<Op> make_identity_op() { return std::make_unique<IdentityOp>(); }

}  // namespace nnbpf::compiler::frontend
