// Internal interface of the ONNX frontend (compiler/frontend/onnx_loader.cc
// walks the graph; one class per ONNX op lowers it). Every op lives in its own
// file under compiler/frontend/ops/ and implements the same three hooks:
//   parse_attributes  read and check the node's attributes (unknown ones refused)
//   resolve_shape     check constant inputs against the chain's [batch, width],
//                     give the chain's shape after the node
//   lower             fold the node into the FloatModel being built
// docs/compile.md ("Adding an op") is the checklist for adding one.
//
// Messages returned by the hooks are bare ("transA=1 is not supported"); the
// loader prefixes "node 'NAME' (OP): " and the file name.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/model.h"
#include "compiler/support/result.h"

namespace nnbpf::compiler::frontend {

// A constant input (initializer or Constant node output), values as double.
struct ConstTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<double> data;

  std::string shape_str() const;
  std::string quoted() const { return "'" + name + "'"; }
};

// The one value flowing along the chain: [batch, width].
struct ChainShape {
  int64_t width = 0;
  bool is_float = true;  // false for an integer input until it is Cast to float
};

// Where the chain is, seen from the IR being built.
enum class Stage {
  kInput,  // raw input, possibly standardized so far
  kDense,  // right after a dense layer (Gemm/MatMul), before any Relu
  kRelu,   // after a dense layer and its Relu
  kHead,   // after Softmax / LogSoftmax / ArgMax: nothing may follow
};

// One per model: what the ops lower into.
struct LowerState {
  explicit LowerState(FloatModel& m, int64_t width)
      : model(m), mean(static_cast<size_t>(width), 0.0), mul(static_cast<size_t>(width), 1.0) {}

  FloatModel& model;
  Stage stage = Stage::kInput;
  int64_t in_width = 0;  // the chain's width entering the node being lowered
  // Input standardization accumulated so far: y = (x - mean) * mul.
  std::vector<double> mean;
  std::vector<double> mul;
  bool standardized = false;
  std::string head_node;  // display name of the node that set the head
  // The kind being built: dense layers, or the tree ensemble that ends the
  // chain in their place. The loader sets model.kind from them at the end.
  FloatMlp mlp;
  std::optional<FloatTreeEnsemble> tree;

  DenseLayer& last_layer() { return mlp.layers.back(); }
};

// What an op sees of its node.
struct NodeView {
  const onnx::NodeProto* node = nullptr;
  std::string name;     // node name, or "#INDEX" when the node is unnamed
  int64_t opset = 0;    // default-domain opset of the model
  int chain_input = 0;  // index of the input that carries the chain
  int chain_output = 0; // index of the output that carries the chain on (see Op::alternative_outputs)
  // One per node input: the constant, or nullopt for the chain and absent inputs.
  std::vector<std::optional<ConstTensor>> consts;

  const onnx::NodeProto& proto() const { return *node; }
  const std::string& op_type() const { return node->op_type(); }
  // Constant at input i, nullptr when absent (or when i is the chain).
  const ConstTensor* input(int i) const {
    return i >= 0 && i < static_cast<int>(consts.size()) && consts[i] ? &*consts[i] : nullptr;
  }
};

class Op {
 public:
  virtual ~Op() = default;
  virtual Status parse_attributes(const NodeView& node) = 0;
  virtual Result<ChainShape> resolve_shape(const NodeView& node, const ChainShape& in) = 0;
  virtual Status lower(const NodeView& node, LowerState& state) = 0;
  // A terminal op whose any output (not only the first) may be the graph
  // output (TreeEnsembleClassifier: label or scores).
  virtual bool ends_chain_with_any_output() const { return false; }
  // True when the outputs are alternative views of one result (LinearClassifier:
  // label Y or scores Z): the chain goes on through whichever one is used
  // (NodeView::chain_output); otherwise only output 0 may be used.
  virtual bool alternative_outputs() const { return false; }
};

struct OpEntry {
  std::string_view domain;  // "" (default domain) or "ai.onnx.ml"
  std::string_view op_type;
  std::unique_ptr<Op> (*make)();
};

// ops/registry.cc: every supported op.
const std::vector<OpEntry>& op_registry();
// domain "" and "ai.onnx" are the default domain.
const OpEntry* find_op(std::string_view domain, std::string_view op_type);
// "Add, ArgMax, ..., Scaler (ai.onnx.ml), ..." for error messages.
std::string supported_ops_list();

// ---- helpers shared by the ops (ops/common.cc) ------------------------------

std::string shape_str(const std::vector<int64_t>& dims);

// Refuse attributes not in `known` (an attribute we do not understand could
// change the function silently).
Status check_attributes(const NodeView& node, std::initializer_list<std::string_view> known);
Result<int64_t> attr_int(const NodeView& node, std::string_view name, int64_t dflt);
Result<double> attr_float(const NodeView& node, std::string_view name, double dflt);
// nullopt when the attribute is absent.
Result<std::optional<std::vector<double>>> attr_floats(const NodeView& node, std::string_view name);

// "expected 1 input, got 3" unless lo <= inputs <= hi.
Status check_input_count(const NodeView& node, int lo, int hi);
// Arithmetic needs a float chain ("the input is integer-typed; Cast it to float first").
Status require_float(const ChainShape& in);

// A constant broadcast against the chain's [batch, width] without changing it:
// shapes [], [1], [W], [1,W], [1,1]. Returns the per-column values.
Result<std::vector<double>> broadcast_row(const ConstTensor& t, int64_t width);

// Shared hooks of Add, Sub, Mul and Div when one operand is a constant.
enum class Arith { kAdd, kSub, kMul, kDiv };
Result<ChainShape> resolve_arith_shape(const NodeView& node, const ChainShape& in);
Status lower_arith(Arith op, const NodeView& node, LowerState& state);

// The dense layer x -> scale * x * W for a constant W stored [in][out]
// (transposed == false: MatMul, Gemm transB=0) or [out][in] (transposed == true).
DenseLayer make_dense_layer(const NodeView& node, const ConstTensor& w, int64_t in, int64_t out,
                            bool transposed, double scale);
// Appends a dense layer, enforcing kMaxWidth / kMaxLayers.
Status push_dense_layer(LowerState& state, DenseLayer layer);

// Shared hooks of Softmax, LogSoftmax and ArgMax.
Status lower_head(Head head, const NodeView& node, LowerState& state);
// Softmax / LogSoftmax / ArgMax must reduce over the class axis (1 or -1 on [batch, N]).
Status check_class_axis(const NodeView& node, int64_t axis);

}  // namespace nnbpf::compiler::frontend
