// Cast to float or double: a no-op on the values (the IR is double); makes an
// integer input usable by arithmetic. Casts to other types are refused.
#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {
namespace {

class CastOp final : public Op {
 public:
  Status parse_attributes(const NodeView& node) override {
    NNBPF_CHECK(check_attributes(node, {"to", "saturate"}));
    NNBPF_TRY(to, attr_int(node, "to", 0));
    if (to != onnx::TensorProto::FLOAT && to != onnx::TensorProto::DOUBLE) {
      const auto* d =
          onnx::TensorProto_DataType_descriptor()->FindValueByNumber(static_cast<int>(to));
      return Error::bad_input("Cast to " + (d ? d->name() : std::to_string(to)) +
                              " is not supported (only to FLOAT or DOUBLE)");
    }
    return ok_status();
  }

  Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) override {
    NNBPF_CHECK(check_input_count(node, 1, 1));
    return ChainShape{in.width, true};
  }

  Status lower(const NodeView&, LowerState&) override { return ok_status(); }
};

}  // namespace

std::unique_ptr<Op> make_cast_op() { return std::make_unique<CastOp>(); }

}  // namespace nnbpf::compiler::frontend
