// Relu: sets DenseLayer::relu on the layer just before it (Relu twice is Relu).
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class ReluOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override { return check_attributes(node, {}); }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    return in;
  }

  Status lower(const NodeView& node, LowerState& st) override {
    if (st.stage == Stage::kInput)
      return Error::bad_input("Relu before any dense layer (Gemm/MatMul) is not supported");
    st.last_layer().relu = true;
    st.stage = Stage::kRelu;
    return ok_status();
  }
};

}  // namespace

std::unique_ptr<Op> make_relu_op() { return std::make_unique<ReluOp>(); }

}  // namespace nnbpf::compiler::frontend
