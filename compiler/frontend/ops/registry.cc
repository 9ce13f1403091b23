// The table of supported ops. Adding an op: a file in this folder defining
// make_<op>_op(), a line here, a fixture and a test (docs/compile.md).
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {

std::unique_ptr<Op> make_add_op();
std::unique_ptr<Op> make_argmax_op();
std::unique_ptr<Op> make_cast_op();
std::unique_ptr<Op> make_div_op();
std::unique_ptr<Op> make_dropout_op();
std::unique_ptr<Op> make_flatten_op();
std::unique_ptr<Op> make_gemm_op();
std::unique_ptr<Op> make_identity_op();
std::unique_ptr<Op> make_linear_classifier_op();
std::unique_ptr<Op> make_log_softmax_op();
std::unique_ptr<Op> make_matmul_op();
std::unique_ptr<Op> make_mul_op();
std::unique_ptr<Op> make_relu_op();
std::unique_ptr<Op> make_reshape_op();
std::unique_ptr<Op> make_scaler_op();
std::unique_ptr<Op> make_softmax_op();
std::unique_ptr<Op> make_sub_op();
std::unique_ptr<Op> make_tree_ensemble_classifier_op();

const std::vector<OpEntry>& op_registry() {
  static const std::vector<OpEntry> table = {
      {"", "Add", make_add_op},
      {"", "ArgMax", make_argmax_op},
      {"", "Cast", make_cast_op},
      {"", "Div", make_div_op},
      {"", "Dropout", make_dropout_op},
      {"", "Flatten", make_flatten_op},
      {"", "Gemm", make_gemm_op},
      {"", "Identity", make_identity_op},
      {"ai.onnx.ml", "LinearClassifier", make_linear_classifier_op},
      {"", "LogSoftmax", make_log_softmax_op},
      {"", "MatMul", make_matmul_op},
      {"", "Mul", make_mul_op},
      {"", "Relu", make_relu_op},
      {"", "Reshape", make_reshape_op},
      {"ai.onnx.ml", "Scaler", make_scaler_op},
      {"", "Softmax", make_softmax_op},
      {"", "Sub", make_sub_op},
      {"ai.onnx.ml", "TreeEnsembleClassifier", make_tree_ensemble_classifier_op},
  };
  return table;
}

const OpEntry* find_op(std::string_view domain, std::string_view op_type) {
  if (domain == "ai.onnx") domain = "";
  for (const auto& e : op_registry())
    if (e.domain == domain && e.op_type == op_type) return &e;
  return nullptr;
}

std::string supported_ops_list() {
  std::string out;
  for (const auto& e : op_registry()) {
    if (!out.empty()) out += ", ";
    out += e.op_type;
    if (!e.domain.empty()) out += " (" + std::string(e.domain) + ")";
  }
  return out;
}

}  // namespace nnbpf::compiler::frontend
