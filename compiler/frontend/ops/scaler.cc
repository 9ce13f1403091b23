// ai.onnx.ml Scaler: y = (x - offset) * scale, offset and scale of length 1 or
// F. The way sklearn-onnx writes StandardScaler; supported on the input only,
// where it composes with any other standardization op.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class ScalerOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"offset", "scale"}));
    NNBPF_TRY(offset, attr_floats(node, "offset"));
    NNBPF_TRY(scale, attr_floats(node, "scale"));
    offset_ = offset ? *offset : std::vector<double>{0.0};
    scale_ = scale ? *scale : std::vector<double>{1.0};
    return ok_status();
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    for (const auto* v : {&offset_, &scale_}) {
      if (v->size() != 1 && static_cast<int64_t>(v->size()) != in.width)
        return Error::bad_input(std::string("attribute '") + (v == &offset_ ? "offset" : "scale") +
                                "' has " + std::to_string(v->size()) + " values; expected 1 or " +
                                std::to_string(in.width));
    }
    return ChainShape{in.width, true};  // Scaler outputs float for any numeric input
  }

  Status lower(const NodeView& node, LowerState& st) override {
    if (st.stage != Stage::kInput)
      return Error::bad_input("Scaler is supported only on the input (standardization)");
    for (size_t j = 0; j < st.mean.size(); ++j) {
      const double off = offset_.size() == 1 ? offset_[0] : offset_[j];
      const double sc = scale_.size() == 1 ? scale_[0] : scale_[j];
      double& mean = st.mean[j];
      double& mul = st.mul[j];
      if (off != 0) {
        if (mul == 0)
          return Error::bad_input("column " + std::to_string(j) +
                                  ": offset after a scale of 0 makes the input a constant");
        mean += off / mul;
      }
      mul *= sc;
      if (mul == 0) mean = 0;
    }
    st.standardized = true;
    return ok_status();
  }

 private:
  std::vector<double> offset_;
  std::vector<double> scale_;
};

}  // namespace

std::unique_ptr<Op> make_scaler_op() { return std::make_unique<ScalerOp>(); }

}  // namespace nnbpf::compiler::frontend
