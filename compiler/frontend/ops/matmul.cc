// MatMul: Y = A * B with A the chain [batch, K] and B a constant [K,N].
// Lowers to a DenseLayer without bias; a following Add supplies the bias.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class MatMulOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override { return check_attributes(node, {}); }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 2, 2));
    if (node.chain_input != 0)
      return Error::bad_input("the input must be the left operand (x * W), not the right one");
    NNBPF_CHECK(require_float(in));
    const ConstTensor* b = node.input(1);
    if (!b) return Error::bad_input("operand B (the weight) is missing");
    if (b->dims.size() != 2)
      return Error::bad_input("weight " + b->quoted() + " has shape " + b->shape_str() +
                              "; expected a 2-D matrix [" + std::to_string(in.width) + ",N]");
    if (b->dims[0] != in.width)
      return Error::bad_input("weight " + b->quoted() + " has shape " + b->shape_str() +
                              " but the input is [batch," + std::to_string(in.width) +
                              "] (expected [" + std::to_string(in.width) + ",N])");
    n_ = b->dims[1];
    return ChainShape{n_, true};
  }

  Status lower(const NodeView& node, LowerState& st) override {
    return push_dense_layer(st,
                            make_dense_layer(node, *node.input(1), st.in_width, n_, false, 1.0));
  }

 private:
  int64_t n_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_matmul_op() { return std::make_unique<MatMulOp>(); }

}  // namespace nnbpf::compiler::frontend
