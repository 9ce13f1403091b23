// ai.onnx.ml LinearClassifier: scores Z = X * coefficients^T + intercepts,
// E coefficient rows of F values each; label Y = classlabels_ints[argmax Z].
// Lowers to one DenseLayer whose outputs are the scores. Binary models with
// a single row (E = 1, two class labels) score [-z, z], as the ONNX reference
// implementation (onnx/reference/ops/aionnxml/op_linear_classifier.py) and
// ONNX Runtime define it, so the verdict of formula (5) is z > 0. The chain
// may continue through Y (then it ends: the head is ArgMax) or through Z.
// Only post_transform NONE and integer labels 0..N-1 (verdict = label).
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class LinearClassifierOp final : public Op {
 public:
  bool alternative_outputs() const override { return true; }

  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"classlabels_ints", "classlabels_strings", "coefficients", "intercepts",
                                        "multi_class", "post_transform"}));
    bool have_labels = false;
    for (const auto& a : node.proto().attribute()) {
      if (a.name() == "classlabels_strings")
        return Error::bad_input("classlabels_strings is not supported; use classlabels_ints 0..N-1");
      if (a.name() == "classlabels_ints") {
        if (a.type() != onnx::AttributeProto::INTS)
          return Error::bad_input("attribute 'classlabels_ints' must be a list of ints");
        for (int i = 0; i < a.ints_size(); ++i)
          if (a.ints(i) != i)
            return Error::bad_input("classlabels_ints must be 0, 1, ..., N-1 (the verdict is the class index); "
                                    "label " + std::to_string(i) + " is " + std::to_string(a.ints(i)));
        n_classes_ = a.ints_size();
        have_labels = true;
      }
      if (a.name() == "post_transform") {
        if (a.type() != onnx::AttributeProto::STRING)
          return Error::bad_input("attribute 'post_transform' must be a string");
        if (a.s() != "NONE")
          return Error::bad_input("post_transform '" + a.s() + "' is not supported (only NONE)");
      }
    }
    if (!have_labels) return Error::bad_input("attribute 'classlabels_ints' is missing");
    if (n_classes_ < 2) return Error::bad_input("classlabels_ints has " + std::to_string(n_classes_) +
                                                " labels; a classifier needs at least 2");
    NNBPF_TRY(multi, attr_int(node, "multi_class", 0));
    (void)multi;  // OvR or multinomial: the scores are the same without a post_transform
    NNBPF_TRY(coef, attr_floats(node, "coefficients"));
    if (!coef || coef->empty()) return Error::bad_input("attribute 'coefficients' is missing or empty");
    coef_ = std::move(*coef);
    NNBPF_TRY(icpt, attr_floats(node, "intercepts"));
    if (icpt) intercepts_ = std::move(*icpt);
    return ok_status();
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    const auto f = static_cast<size_t>(in.width);
    if (coef_.size() % f != 0)
      return Error::bad_input("'coefficients' has " + std::to_string(coef_.size()) +
                              " values, not a multiple of the " + std::to_string(f) + " input features");
    rows_ = static_cast<int64_t>(coef_.size() / f);
    if (rows_ != 1 && rows_ != n_classes_)
      return Error::bad_input("'coefficients' has " + std::to_string(rows_) + " rows for " +
                              std::to_string(n_classes_) + " class labels (expected " +
                              std::to_string(n_classes_) + (n_classes_ == 2 ? ", or 1 for a binary model)" : ")"));
    if (rows_ == 1 && n_classes_ != 2)
      return Error::bad_input("one coefficient row needs exactly 2 class labels, got " + std::to_string(n_classes_));
    if (!intercepts_.empty() && static_cast<int64_t>(intercepts_.size()) != rows_)
      return Error::bad_input("'intercepts' has " + std::to_string(intercepts_.size()) + " values for " +
                              std::to_string(rows_) + " coefficient rows");
    return ChainShape{n_classes_, true};
  }

  Status lower(const NodeView& node, LowerState& st) override {
    const int in = static_cast<int>(st.in_width);
    DenseLayer l;
    l.in = in;
    l.out = static_cast<int>(n_classes_);
    l.origin = node.name;
    l.weight.resize(static_cast<size_t>(l.in) * l.out);
    if (!intercepts_.empty()) l.bias.resize(static_cast<size_t>(l.out));
    for (int i = 0; i < l.out; ++i) {
      // Binary with one row: class 0 scores -z, class 1 scores z.
      const size_t row = rows_ == 1 ? 0 : static_cast<size_t>(i);
      const double sign = rows_ == 1 && i == 0 ? -1.0 : 1.0;
      for (int j = 0; j < in; ++j) l.weight[static_cast<size_t>(i) * in + j] = sign * coef_[row * in + j];
      if (!l.bias.empty()) l.bias[i] = sign * intercepts_[row];
    }
    NNBPF_CHECK(push_dense_layer(st, std::move(l)));
    // Y is the argmax label; Z the scores (a head may still follow).
    if (node.chain_output == 0) return lower_head(Head::ArgMax, node, st);
    return ok_status();
  }

 private:
  std::vector<double> coef_;
  std::vector<double> intercepts_;
  int64_t n_classes_ = 0;
  int64_t rows_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_linear_classifier_op() { return std::make_unique<LinearClassifierOp>(); }

}  // namespace nnbpf::compiler::frontend
