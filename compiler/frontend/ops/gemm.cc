// Gemm: Y = alpha * A * op(B) + beta * C, with A the chain [batch, K], B a
// constant [K,N] (transB=0) or [N,K] (transB=1) and C an optional constant
// [N], [1,N] or scalar. Lowers to one DenseLayer, alpha and beta folded in.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class GemmOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"alpha", "beta", "transA", "transB"}));
    NNBPF_TRY(alpha, attr_float(node, "alpha", 1.0));
    NNBPF_TRY(beta, attr_float(node, "beta", 1.0));
    NNBPF_TRY(trans_a, attr_int(node, "transA", 0));
    NNBPF_TRY(trans_b, attr_int(node, "transB", 0));
    if (trans_a != 0)
      return Error::bad_input("transA=" + std::to_string(trans_a) +
                              " is not supported (must be 0)");
    if (trans_b != 0 && trans_b != 1)
      return Error::bad_input("transB=" + std::to_string(trans_b) + " is not 0 or 1");
    alpha_ = alpha;
    beta_ = beta;
    trans_b_ = trans_b == 1;
    return ok_status();
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 2, 3));
    if (node.chain_input != 0)
      return Error::bad_input("the input must be operand A (input 0), not input " +
                              std::to_string(node.chain_input));
    NNBPF_CHECK(require_float(in));
    const ConstTensor* b = node.input(1);
    if (!b) return Error::bad_input("operand B (the weight) is missing");
    if (b->dims.size() != 2)
      return Error::bad_input("weight " + b->quoted() + " has shape " + b->shape_str() +
                              "; expected a 2-D matrix");
    const int64_t k = trans_b_ ? b->dims[1] : b->dims[0];
    n_ = trans_b_ ? b->dims[0] : b->dims[1];
    if (k != in.width)
      return Error::bad_input("weight " + b->quoted() + " has shape " + b->shape_str() +
                              " but the input is [batch," + std::to_string(in.width) +
                              "] (expected " +
                              (trans_b_ ? "[N," + std::to_string(in.width) + "] with transB=1"
                                        : "[" + std::to_string(in.width) + ",N] with transB=0") +
                              ")");
    if (const ConstTensor* c = node.input(2)) {
      auto row = broadcast_row(*c, n_);
      if (!row.ok())
        return Error::bad_input("bias " + c->quoted() + " has shape " + c->shape_str() +
                                "; expected [" + std::to_string(n_) + "], [1," +
                                std::to_string(n_) + "] or a scalar");
    }
    return ChainShape{n_, true};
  }

  Status lower(const NodeView& node, LowerState& st) override {
    DenseLayer l = make_dense_layer(node, *node.input(1), st.in_width, n_, trans_b_, alpha_);
    if (const ConstTensor* c = node.input(2)) {
      NNBPF_TRY(row, broadcast_row(*c, n_));
      for (auto& v : row) v *= beta_;
      l.bias = std::move(row);
    }
    return push_dense_layer(st, std::move(l));
  }

 private:
  double alpha_ = 1.0;
  double beta_ = 1.0;
  bool trans_b_ = false;
  int64_t n_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_gemm_op() { return std::make_unique<GemmOp>(); }

}  // namespace nnbpf::compiler::frontend
