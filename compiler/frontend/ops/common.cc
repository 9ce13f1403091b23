// Helpers shared by the op files: attributes, broadcasting, and the lowering
// that several ops have in common (elementwise arithmetic, dense layers, heads).
#include <cmath>
#include <sstream>

#include "compiler/frontend/ops/op.h"

namespace nnbpf::compiler::frontend {

namespace {

const onnx::AttributeProto* find_attr(const NodeView& node, std::string_view name) {
  for (const auto& a : node.proto().attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::string num(double v) {
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

}  // namespace

std::string shape_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

std::string ConstTensor::shape_str() const { return frontend::shape_str(dims); }

Status check_attributes(const NodeView& node, std::initializer_list<std::string_view> known) {
  for (const auto& a : node.proto().attribute()) {
    bool ok = false;
    for (auto k : known) ok = ok || a.name() == k;
    if (!ok) return Error::bad_input("unsupported attribute '" + a.name() + "'");
  }
  return ok_status();
}

Result<int64_t> attr_int(const NodeView& node, std::string_view name, int64_t dflt) {
  const auto* a = find_attr(node, name);
  if (!a) return dflt;
  if (a->type() != onnx::AttributeProto::INT)
    return Error::bad_input("attribute '" + std::string(name) + "' must be an int");
  return static_cast<int64_t>(a->i());
}

Result<double> attr_float(const NodeView& node, std::string_view name, double dflt) {
  const auto* a = find_attr(node, name);
  if (!a) return dflt;
  if (a->type() != onnx::AttributeProto::FLOAT)
    return Error::bad_input("attribute '" + std::string(name) + "' must be a float");
  if (!std::isfinite(a->f()))
    return Error::bad_input("attribute '" + std::string(name) + "' is " + num(a->f()));
  return static_cast<double>(a->f());
}

Result<std::optional<std::vector<double>>> attr_floats(const NodeView& node,
                                                       std::string_view name) {
  const auto* a = find_attr(node, name);
  if (!a) return std::optional<std::vector<double>>{};
  if (a->type() != onnx::AttributeProto::FLOATS)
    return Error::bad_input("attribute '" + std::string(name) + "' must be a list of floats");
  std::vector<double> v;
  for (int i = 0; i < a->floats_size(); ++i) {
    const float f = a->floats(i);
    if (!std::isfinite(f))
      return Error::bad_input("attribute '" + std::string(name) + "' contains " +
                              (std::isnan(f) ? std::string("NaN") : std::string("Inf")) +
                              " at index " + std::to_string(i));
    v.push_back(f);
  }
  return std::optional<std::vector<double>>(std::move(v));
}

Result<std::vector<double>> broadcast_row(const ConstTensor& t, int64_t width) {
  const auto& d = t.dims;
  const bool scalar = t.data.size() == 1 && d.size() <= 2;
  const bool row =
      (d.size() == 1 && d[0] == width) || (d.size() == 2 && d[0] == 1 && d[1] == width);
  if (scalar) return std::vector<double>(static_cast<size_t>(width), t.data[0]);
  if (row) return t.data;
  return Error::bad_input("constant " + t.quoted() + " of shape " + t.shape_str() +
                          " does not broadcast to [batch," + std::to_string(width) +
                          "] without changing the shape");
}

Status check_input_count(const NodeView& node, int lo, int hi) {
  const int n = node.proto().input_size();
  if (n >= lo && n <= hi) return ok_status();
  const std::string want =
      lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
  return Error::bad_input("expected " + want + (hi == 1 ? " input" : " inputs") + ", got " +
                          std::to_string(n));
}

Status require_float(const ChainShape& in) {
  if (in.is_float) return ok_status();
  return Error::bad_input("the input is integer-typed; Cast it to float first");
}

Result<ChainShape> resolve_arith_shape(const NodeView& node, const ChainShape& in) {
  NNBPF_CHECK(check_input_count(node, 2, 2));
  NNBPF_CHECK(require_float(in));
  const ConstTensor* c = node.input(1 - node.chain_input);
  if (!c) return Error::bad_input("the second operand is missing");
  NNBPF_TRY(row, broadcast_row(*c, in.width));
  (void)row;
  return in;
}

Status lower_arith(Arith op, const NodeView& node, LowerState& st) {
  const bool chain_first = node.chain_input == 0;
  const ConstTensor& c = *node.input(1 - node.chain_input);
  NNBPF_TRY(v, broadcast_row(c, st.in_width));
  const std::string& op_name = node.op_type();
  if (op == Arith::kDiv && !chain_first)
    return Error::bad_input("divides a constant by the input (" + c.quoted() +
                            " / x is not affine)");

  if (st.stage == Stage::kInput) {
    // Compose with the standardization so far, y = (x - mean) * mul.
    for (size_t j = 0; j < v.size(); ++j) {
      double& mean = st.mean[j];
      double& mul = st.mul[j];
      // y + k == (x - (mean - k/mul)) * mul when mul != 0; with mul == 0 the
      // input is already the constant 0 and only k == 0 keeps it representable.
      auto shift = [&](double k) -> Status {
        if (k == 0) return ok_status();
        if (mul == 0)
          return Error::bad_input("column " + std::to_string(j) + ": " + op_name + " by " + num(k) +
                                  " after a scale of 0 makes the input a constant " +
                                  "(not representable as (x - mean) * mul)");
        mean -= k / mul;
        return ok_status();
      };
      switch (op) {
        case Arith::kAdd:
          NNBPF_CHECK(shift(v[j]));
          break;
        case Arith::kSub:
          NNBPF_CHECK(shift(-v[j]));
          if (!chain_first) mul = -mul;  // c - y == -(y - c)
          break;
        case Arith::kMul:
          mul *= v[j];
          break;
        case Arith::kDiv:
          mul = v[j] == 0 ? 0.0 : mul / v[j];  // sigma == 0: the standardized input is 0
          break;
      }
      if (mul == 0) mean = 0;
    }
    st.standardized = true;
    return ok_status();
  }

  if (st.stage == Stage::kDense) {
    DenseLayer& l = st.last_layer();
    auto ensure_bias = [&] {
      if (l.bias.empty()) l.bias.assign(static_cast<size_t>(l.out), 0.0);
    };
    switch (op) {
      case Arith::kAdd:
        ensure_bias();
        for (int i = 0; i < l.out; ++i) l.bias[i] += v[i];
        break;
      case Arith::kSub:
        ensure_bias();
        if (!chain_first) {
          for (auto& w : l.weight) w = -w;
          for (auto& b : l.bias) b = -b;
        }
        for (int i = 0; i < l.out; ++i) l.bias[i] += chain_first ? -v[i] : v[i];
        break;
      case Arith::kMul:
      case Arith::kDiv:
        for (int i = 0; i < l.out; ++i) {
          if (op == Arith::kDiv && v[i] == 0)
            return Error::bad_input("divides output " + std::to_string(i) + " of layer '" +
                                    l.origin + "' by 0");
          const double k = op == Arith::kMul ? v[i] : 1.0 / v[i];
          for (int j = 0; j < l.in; ++j) l.weight[static_cast<size_t>(i) * l.in + j] *= k;
          if (!l.bias.empty()) l.bias[i] *= k;
        }
        break;
    }
    l.origin += "+" + node.name;
    return ok_status();
  }

  return Error::bad_input(op_name + " after Relu cannot be folded into a dense layer; " +
                          "elementwise ops are supported on the input (standardization) and " +
                          "right after Gemm/MatMul");
}

DenseLayer make_dense_layer(const NodeView& node, const ConstTensor& w, int64_t in, int64_t out,
                            bool transposed, double scale) {
  DenseLayer l;
  l.in = static_cast<int>(in);
  l.out = static_cast<int>(out);
  l.origin = node.name;
  l.weight.resize(static_cast<size_t>(in * out));
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j)
      l.weight[static_cast<size_t>(i * in + j)] =
          scale * w.data[static_cast<size_t>(transposed ? i * in + j : j * out + i)];
  return l;
}

Status push_dense_layer(LowerState& st, DenseLayer layer) {
  if (layer.out < 1) return Error::bad_input("layer has no outputs");
  if (layer.out > kMaxWidth)
    return Error::bad_input("layer width " + std::to_string(layer.out) + " exceeds the limit of " +
                            std::to_string(kMaxWidth) + " neurons per layer (kMaxWidth)");
  if (static_cast<int>(st.mlp.layers.size()) >= kMaxLayers)
    return Error::bad_input("dense layer " + std::to_string(st.mlp.layers.size() + 1) +
                            " exceeds the limit of " + std::to_string(kMaxLayers) +
                            " dense layers (kMaxLayers)");
  st.mlp.layers.push_back(std::move(layer));
  st.stage = Stage::kDense;
  return ok_status();
}

Status check_class_axis(const NodeView& node, int64_t axis) {
  if (axis == 1 || axis == -1) return ok_status();
  return Error::bad_input("axis=" + std::to_string(axis) +
                          " is not the class axis; only axis 1 or -1 of [batch, N] is supported");
}

Status lower_head(Head head, const NodeView& node, LowerState& st) {
  if (st.stage == Stage::kInput)
    return Error::bad_input(node.op_type() + " before any dense layer (Gemm/MatMul)");
  st.model.head = head;
  st.head_node = node.name;
  st.stage = Stage::kHead;
  return ok_status();
}

}  // namespace nnbpf::compiler::frontend
