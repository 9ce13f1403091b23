// The compiler's IR: a float model as read from ONNX (FloatModel) and its
// integer form (QuantModel) whose semantics docs/semantics.md defines and
// compiler/interp/reference.cc implements. Codegen reads only QuantModel.
// A model is of one kind, an MLP or a tree ensemble: the models hold the
// fields every kind has and a std::variant of the kinds' types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "compiler/support/result.h"
#include "nnbpf/abi.h"

namespace nnbpf::compiler {

// std::visit(Overloaded{[](const A&) {...}, [](const B&) {...}}, v): one
// lambda per alternative of a variant (the model kinds below).
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Limits of the generated code (docs/semantics.md#limits); the ones that
// size shared layouts come from abi.h.
inline constexpr int kMaxFeatures = NNBPF_MAX_FEATURES;  // == catalog size
inline constexpr int kMaxWidth = NNBPF_MAX_WIDTH;        // neurons per layer
inline constexpr int kMaxLayers = 16;                    // dense layers
inline constexpr int kMaxOutputs = NNBPF_MAX_OUTPUTS;    // logits of the last layer

// Per-input standardization, float form: y = (x - mean) * mul, i.e. sigma = 1/mul.
// mul == 0 means sigma == 0 and the standardized input is 0 (formula (1)).
struct Standardization {
  std::vector<double> mean;
  std::vector<double> mul;
};

struct DenseLayer {
  int in = 0;
  int out = 0;
  std::vector<double> weight;  // row-major [out][in]: y_i = sum_j weight[i*in+j] * x_j
  std::vector<double> bias;    // empty when the layer has no bias
  bool relu = false;           // ReLU applied to the output
  std::string origin;          // ONNX node name(s), for messages
  double w(int i, int j) const { return weight[static_cast<size_t>(i) * in + j]; }
};

enum class Head { Logits, Softmax, LogSoftmax, ArgMax };

struct InputRange {
  double lo = 0;
  double hi = 0;
};

// ---- decision trees (ONNX-ML TreeEnsembleClassifier) ------------------------

// Node modes of the ONNX-ML tree ops; a node's predicate compares the
// (standardized) input column `feature` with `value`.
enum class TreeMode { Leq, Lt, Gte, Gt, Eq, Neq, Leaf };

struct FloatTreeNode {
  TreeMode mode = TreeMode::Leaf;
  int feature = 0;
  double value = 0;
  int true_child = -1;  // node indices within the same tree
  int false_child = -1;
  std::vector<double> weights;  // leaves: one weight per class (0 where none given)
};

struct FloatTree {
  std::vector<FloatTreeNode> nodes;
  int root = 0;
  int depth = 0;  // edges on the longest root-to-leaf path
};

// A classifier ensemble: logits[c] = base[c] + sum over trees of the weight
// of class c at the leaf the input reaches (post_transform NONE).
struct FloatTreeEnsemble {
  int n_inputs = 0;
  int n_classes = 0;
  std::vector<int64_t> class_labels;
  std::vector<FloatTree> trees;
  std::vector<double> base_values;  // n_classes entries (zeros when absent)
  std::string origin;               // ONNX node name, for messages
};

// A float MLP: dense layers, the last one's outputs are the logits.
struct FloatMlp {
  std::vector<DenseLayer> layers;

  int inputs() const { return layers.empty() ? 0 : layers.front().in; }
  int outputs() const { return layers.empty() ? 0 : layers.back().out; }
};

// The float model as read from ONNX: what every kind has, and the kind
// itself. As for QuantModel, code that treats the kinds differently
// dispatches on `kind` once.
struct FloatModel {
  std::vector<std::string> features;           // catalog names, one per input column
  std::optional<Standardization> standardization;
  Head head = Head::Logits;
  std::vector<InputRange> input_ranges;        // empty, or one per input (raw units)
  std::map<std::string, std::string> metadata; // ONNX metadata_props
  std::string producer;                        // ONNX producer_name
  int64_t opset = 0;
  std::string digest;                          // sha256 of the ONNX bytes, hex
  std::variant<FloatMlp, FloatTreeEnsemble> kind;

  // The kind's own fields; std::bad_variant_access for another kind.
  const FloatMlp& mlp() const { return std::get<FloatMlp>(kind); }
  FloatMlp& mlp() { return std::get<FloatMlp>(kind); }
  const FloatTreeEnsemble& tree() const { return std::get<FloatTreeEnsemble>(kind); }
  FloatTreeEnsemble& tree() { return std::get<FloatTreeEnsemble>(kind); }

  int inputs() const {
    return std::visit(Overloaded{[](const FloatMlp& m) { return m.inputs(); },
                                 [](const FloatTreeEnsemble& t) { return t.n_inputs; }},
                      kind);
  }
  int outputs() const {
    return std::visit(Overloaded{[](const FloatMlp& m) { return m.outputs(); },
                                 [](const FloatTreeEnsemble& t) { return t.n_classes; }},
                      kind);
  }
};

// Integer standardization of one raw feature (docs/semantics.md, step 1):
//   xc = min(max(x, lo), hi)                     (u64)
//   d  = (s64)(xc << q) - m                      (s64, cannot overflow: checked)
//   u  = (|d| << b) / den   (unsigned; den == 0 gives 0 as in the BPF ISA)
//   x1 = d < 0 ? -u : u                          (fits int32: checked)
struct QuantInput {
  uint64_t lo = 0;  // the clamping range, what the kernel computes with
  uint64_t hi = 0;
  uint32_t q = 0;
  int64_t m = 0;     // round(mean * 2^q)
  uint64_t den = 0;  // round(sigma * 2^q); 0 when sigma == 0
  // The range b and q were chosen for (--calibration, nnbpf.input_ranges or
  // the catalog). [lo, hi] contains it: the quantizer widens the clamp as far
  // as the overflow analysis allows at that b and q (quantize.cc).
  uint64_t data_lo = 0;
  uint64_t data_hi = 0;
};

struct QuantLayer {
  int in = 0;
  int out = 0;
  std::vector<int32_t> weight;  // row-major [out][in], round(w * 2^b); int8 mode: in [-127, 127]
  std::vector<int32_t> bias;    // [out] round(bias * 2^b); all zero if none
  bool has_bias = false;
  bool relu = false;
  // int32 mode: the layer's exponent b_k (docs/semantics.md#per-layer):
  // weights and biases are round(w * 2^b_k), outputs carry b_k fractional
  // bits. Read through layer_exponent(); unused unless
  // QuantMlp::layer_exponents.
  int b = 16;
  // --quant int8 only (docs/semantics.md#int8): the accumulator is
  // requantized to the next layer's int8 activations with
  // (acc * rq_mult + 2^(rq_shift-1)) >> rq_shift; 0 in the last layer.
  int32_t rq_mult = 0;
  int32_t rq_shift = 0;
  int32_t w(int i, int j) const { return weight[static_cast<size_t>(i) * in + j]; }
};

// Overflow analysis results (interval arithmetic over the clamped inputs).
struct OverflowReport {
  double max_abs_activation = 0;   // largest |activation| bound, any layer
  double max_abs_accumulator = 0;  // largest |int64 accumulator| bound
  double activation_margin_bits = 0;   // log2(2^31 / max_abs_activation)
  double accumulator_margin_bits = 0;  // log2(2^63 / max_abs_accumulator)
};

// Integer tree ensemble (docs/semantics.md, "Decision trees"). Nodes of all
// trees in one array of node_capacity entries (a power of two, so the kernel
// masks indices); leaves point to themselves and carry a row of leaf_values.
enum class TreeOp : uint8_t { Le = 0, Eq = 1 };  // true child iff x <= t / x == t

struct QuantTreeNode {
  uint64_t threshold = 0;
  uint16_t true_child = 0;
  uint16_t false_child = 0;
  uint16_t leaf = 0;  // row of leaf_values (leaves only)
  uint8_t feature = 0;
  TreeOp op = TreeOp::Le;
};

inline constexpr int kMaxTreeNodes = 32768;  // node_capacity limit (16 B each)
inline constexpr int kMaxTreeDepth = 64;     // levels evaluated per tree
inline constexpr int kMaxTrees = 256;

struct QuantTreeEnsemble {
  int n_outputs = 0;
  int node_capacity = 0;              // power of two >= nodes used
  int leaf_capacity = 0;              // power of two >= leaves used
  int nodes_used = 0;
  int leaves_used = 0;
  std::vector<QuantTreeNode> nodes;   // node_capacity entries (unused: zero)
  std::vector<int32_t> leaf_values;   // [leaf_capacity][n_outputs], round(w * 2^b)
  std::vector<uint32_t> roots;        // one per tree, index into nodes
  std::vector<int> depths;            // levels evaluated per tree (its depth)
  int32_t leaf(int row, int c) const { return leaf_values[static_cast<size_t>(row) * n_outputs + c]; }
};

// How a QuantModel computes (compile --quant): the paper's int32 fixed point
// with s = 2^b, or int8 weights and activations with per-layer scales.
enum class QuantMode { Int32, Int8 };

// Real-valued scales behind an int8 layer (reported in the manifest; the
// kernel only sees the integers they produce).
struct Int8LayerScales {
  double weight = 1;  // s_w: real weight = int8 weight * s_w
  double input = 1;   // s_in: real input = int8 activation * s_in (1 for layer 0)
  double output = 0;  // s_out: next layer's activation scale; 0 in the last layer
};

// An integer MLP (docs/semantics.md steps 1-3): per input the integer
// standardization, then dense layers. int8 is a mode of this kind, not a kind
// of its own: it has the same inputs, layers, slot shape and stage plan, and
// differs only in the arithmetic of a layer (emit_int8.cc, run_dense_int8).
struct QuantMlp {
  QuantMode mode = QuantMode::Int32;
  std::vector<Int8LayerScales> int8_scales;  // int8 mode: one per layer
  // Per-layer exponents (docs/semantics.md#per-layer): QuantLayer::b is used
  // and the slot carries __u32 layer_b[L]. False for int8 and artifacts
  // compiled before them: every layer's exponent is b.
  bool layer_exponents = false;
  int b_uniform = -1;               // the uniform b the per-layer choice started from; -1 if none
  double ecdf_share = 0;            // share of nonzero params with |p|*2^b < 1
  bool b_lowered = false;           // lowered by the overflow analysis
  int b_inputs = -1;                // formula (9) on calibration samples; -1 without samples
  double ecdf_share_at_b_ecdf = 0;  // ECDF(b_ecdf), reported next to b_ecdf
  int b_safe = -1;                  // largest b the overflow analysis proves safe (int32); -1 if not searched
  int margin_bits = 0;              // safety margin kept below b_safe (--overflow-margin-bits)
  bool clamp_widest = false;        // clamping ranges widened past data_lo/data_hi (--clamp widest)
  std::vector<QuantInput> inputs;
  std::vector<QuantLayer> layers;
  OverflowReport overflow;

  int n_outputs() const { return layers.empty() ? 0 : layers.back().out; }
};

// The integer model: what every kind has (the slot header's fields and how b
// was chosen), and the kind itself. Passes and emitters dispatch on `kind`
// once (std::visit with Overloaded) and hand the per-kind code its type.
struct QuantModel {
  std::vector<std::string> features;
  std::vector<int> feature_ids;     // catalog ids, parallel to features
  int b = 16;                       // s = 2^b: step 1's scale (MLP) or the leaves' (tree); the slot header's shift
  double alpha = 0.005;
  bool b_forced = false;            // --scale-bits given
  int b_ecdf = 16;                  // what the ECDF criteria alone chose (max of params, inputs); trees: b
  std::string digest;               // source model digest
  std::variant<QuantMlp, QuantTreeEnsemble> kind;

  // The kind's own fields; std::bad_variant_access for another kind. For
  // code that already knows the kind (per-kind code, tests).
  const QuantMlp& mlp() const { return std::get<QuantMlp>(kind); }
  QuantMlp& mlp() { return std::get<QuantMlp>(kind); }
  const QuantTreeEnsemble& tree() const { return std::get<QuantTreeEnsemble>(kind); }
  QuantTreeEnsemble& tree() { return std::get<QuantTreeEnsemble>(kind); }

  // MLP: exponent b_k of layer k, and the right shift of its accumulator: the
  // exponent of its inputs, b_{k-1} (b for layer 0).
  int layer_exponent(size_t k) const { return mlp().layer_exponents ? mlp().layers[k].b : b; }
  int layer_shift(size_t k) const { return k == 0 ? b : layer_exponent(k - 1); }
  int n_inputs() const {
    return std::visit(Overloaded{[](const QuantMlp& m) { return static_cast<int>(m.inputs.size()); },
                                 [&](const QuantTreeEnsemble&) { return static_cast<int>(features.size()); }},
                      kind);
  }
  int n_outputs() const {
    return std::visit(Overloaded{[](const QuantMlp& m) { return m.n_outputs(); },
                                 [](const QuantTreeEnsemble& t) { return t.n_outputs; }},
                      kind);
  }
};

// Result of running a model on one input row.
struct Inference {
  int verdict = 0;              // formula (5); argmax (lowest index on ties) for > 2 outputs
  std::vector<int64_t> logits;  // integer engines: exact logits; float engine: unused
  std::vector<double> flogits;  // float engine
};

}  // namespace nnbpf::compiler
