// ONNX protobuf -> FloatModel. Parses the model, checks the opset, finds the
// single chain input -> ... -> output, and hands each node on the chain to its
// op (compiler/frontend/ops/, one file per op) for its three hooks. Then binds
// features (metadata nnbpf.features or --features) and input ranges
// (metadata nnbpf.input_ranges). Every failure is one line:
//   <name>: <what>            or   <name>: node 'fc1' (Gemm): <what>
#include "compiler/frontend/onnx_loader.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "compiler/frontend/ops/op.h"
#include "compiler/ir/catalog.h"

namespace nnbpf::compiler {
namespace {

using frontend::ChainShape;
using frontend::ConstTensor;
using frontend::LowerState;
using frontend::NodeView;
using frontend::Stage;

constexpr int64_t kMinOpset = 11;
constexpr int64_t kMaxOpset = 18;
constexpr int64_t kMaxTensorElements = int64_t{1} << 26;
constexpr const char* kFeaturesKey = "nnbpf.features";
constexpr const char* kRangesKey = "nnbpf.input_ranges";

Error bad(std::string msg) { return Error::bad_input(std::move(msg)); }

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    out.push_back(trim(std::string_view(s).substr(start, pos - start)));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string data_type_name(int t) {
  const auto* d = onnx::TensorProto_DataType_descriptor()->FindValueByNumber(t);
  return d ? d->name() : "type " + std::to_string(t);
}

// ---- constant tensors -------------------------------------------------------

double half_to_double(uint16_t h) {
  const int e = (h >> 10) & 31;
  const int m = h & 1023;
  double v;
  if (e == 0)
    v = std::ldexp(m, -24);
  else if (e == 31)
    v = m ? NAN : INFINITY;
  else
    v = std::ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

double bfloat16_to_double(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

template <typename T>
std::vector<double> from_raw(const std::string& raw, size_t n) {
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
  return out;
}

size_t element_size(int type) {
  switch (type) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
      return 4;
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
      return 8;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      return 2;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      return 1;
    default:
      return 0;
  }
}

Result<ConstTensor> convert_tensor(const onnx::TensorProto& t, const std::string& name) {
  ConstTensor out;
  out.name = name;
  const std::string q = "tensor " + quote(name);
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return bad(q + " keeps its data in an external file; save the model with the weights inside");
  if (t.has_segment()) return bad(q + " is segmented; not supported");
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) return bad(q + " has a negative dimension");
    out.dims.push_back(d);
    if (d != 0 && n > kMaxTensorElements / d) return bad(q + " is too large");
    n *= d;
  }
  const size_t count = static_cast<size_t>(n);
  const int type = t.data_type();
  const size_t esize = element_size(type);
  if (esize == 0) return bad(q + " has data type " + data_type_name(type) + "; expected a number");

  auto size_error = [&](size_t got) {
    return bad(q + " has " + std::to_string(got) + " values but its shape " + out.shape_str() +
               " needs " + std::to_string(count));
  };
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (raw.size() != count * esize) return size_error(raw.size() / esize);
    switch (type) {
      case onnx::TensorProto::FLOAT:
        out.data = from_raw<float>(raw, count);
        break;
      case onnx::TensorProto::DOUBLE:
        out.data = from_raw<double>(raw, count);
        break;
      case onnx::TensorProto::INT64:
        out.data = from_raw<int64_t>(raw, count);
        break;
      case onnx::TensorProto::UINT64:
        out.data = from_raw<uint64_t>(raw, count);
        break;
      case onnx::TensorProto::INT32:
        out.data = from_raw<int32_t>(raw, count);
        break;
      case onnx::TensorProto::UINT32:
        out.data = from_raw<uint32_t>(raw, count);
        break;
      case onnx::TensorProto::INT16:
        out.data = from_raw<int16_t>(raw, count);
        break;
      case onnx::TensorProto::UINT16:
        out.data = from_raw<uint16_t>(raw, count);
        break;
      case onnx::TensorProto::INT8:
        out.data = from_raw<int8_t>(raw, count);
        break;
      case onnx::TensorProto::UINT8:
      case onnx::TensorProto::BOOL:
        out.data = from_raw<uint8_t>(raw, count);
        break;
      case onnx::TensorProto::FLOAT16:
      case onnx::TensorProto::BFLOAT16: {
        auto bits = from_raw<uint16_t>(raw, count);
        for (auto& v : bits) {
          const auto h = static_cast<uint16_t>(v);
          v = type == onnx::TensorProto::FLOAT16 ? half_to_double(h) : bfloat16_to_double(h);
        }
        out.data = std::move(bits);
        break;
      }
    }
    return out;
  }
  switch (type) {
    case onnx::TensorProto::FLOAT:
      if (static_cast<size_t>(t.float_data_size()) != count) return size_error(t.float_data_size());
      out.data.assign(t.float_data().begin(), t.float_data().end());
      break;
    case onnx::TensorProto::DOUBLE:
      if (static_cast<size_t>(t.double_data_size()) != count)
        return size_error(t.double_data_size());
      out.data.assign(t.double_data().begin(), t.double_data().end());
      break;
    case onnx::TensorProto::INT64:
      if (static_cast<size_t>(t.int64_data_size()) != count) return size_error(t.int64_data_size());
      out.data.assign(t.int64_data().begin(), t.int64_data().end());
      break;
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64:
      if (static_cast<size_t>(t.uint64_data_size()) != count)
        return size_error(t.uint64_data_size());
      out.data.assign(t.uint64_data().begin(), t.uint64_data().end());
      break;
    default:  // int32_data holds INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16, BFLOAT16
      if (static_cast<size_t>(t.int32_data_size()) != count) return size_error(t.int32_data_size());
      for (int32_t v : t.int32_data()) {
        if (type == onnx::TensorProto::FLOAT16)
          out.data.push_back(half_to_double(static_cast<uint16_t>(v)));
        else if (type == onnx::TensorProto::BFLOAT16)
          out.data.push_back(bfloat16_to_double(static_cast<uint16_t>(v)));
        else
          out.data.push_back(v);
      }
      break;
  }
  return out;
}

Result<ConstTensor> convert_constant_node(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    ConstTensor t;
    t.name = name;
    if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR)
      return convert_tensor(a.t(), name);
    if (a.name() == "value_float" && a.type() == onnx::AttributeProto::FLOAT) {
      t.data = {a.f()};
      return t;
    }
    if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) {
      t.data = {static_cast<double>(a.i())};
      return t;
    }
    if (a.name() == "value_floats" && a.type() == onnx::AttributeProto::FLOATS) {
      t.data.assign(a.floats().begin(), a.floats().end());
      t.dims = {static_cast<int64_t>(t.data.size())};
      return t;
    }
    if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
      for (int64_t v : a.ints()) t.data.push_back(static_cast<double>(v));
      t.dims = {static_cast<int64_t>(t.data.size())};
      return t;
    }
  }
  return bad("Constant " + quote(name) + " has no numeric value attribute");
}

// "tensor 'W' contains NaN at index [1,2]"
Status check_finite(const ConstTensor& t) {
  for (size_t i = 0; i < t.data.size(); ++i) {
    if (std::isfinite(t.data[i])) continue;
    std::vector<int64_t> idx(t.dims.size());
    size_t rest = i;
    for (size_t k = t.dims.size(); k-- > 0;) {
      idx[k] = static_cast<int64_t>(rest % static_cast<size_t>(t.dims[k]));
      rest /= static_cast<size_t>(t.dims[k]);
    }
    return bad("tensor " + t.quoted() + " contains " + (std::isnan(t.data[i]) ? "NaN" : "Inf") +
               " at index " + (idx.empty() ? std::to_string(i) : frontend::shape_str(idx)));
  }
  return ok_status();
}

// ---- the graph --------------------------------------------------------------

struct GraphIndex {
  explicit GraphIndex(const onnx::GraphProto& graph) : g(graph) {
    for (const auto& t : g.initializer()) initializers[t.name()] = &t;
    for (const auto& i : g.input()) graph_inputs.insert(i.name());
    for (int n = 0; n < g.node_size(); ++n) {
      const auto& node = g.node(n);
      const bool is_const =
          node.op_type() == "Constant" && (node.domain().empty() || node.domain() == "ai.onnx");
      for (const auto& o : node.output()) (is_const ? constant_nodes : producers)[o] = n;
      if (is_const) continue;
      std::set<std::string> seen;
      for (const auto& i : node.input())
        if (!i.empty() && seen.insert(i).second) consumers[i].push_back(n);
    }
  }

  std::string display(int n) const {
    return g.node(n).name().empty() ? "#" + std::to_string(n) : g.node(n).name();
  }
  std::string context(int n) const {
    return "node " + quote(display(n)) + " (" + g.node(n).op_type() + "): ";
  }
  bool used(const std::string& value) const {
    if (consumers.count(value)) return true;
    for (const auto& o : g.output())
      if (o.name() == value) return true;
    return false;
  }

  // The constant behind a non-chain input of a node, or why it is not one.
  Result<ConstTensor> constant(const std::string& value) const {
    if (auto it = initializers.find(value); it != initializers.end())
      return convert_tensor(*it->second, value);
    if (auto it = constant_nodes.find(value); it != constant_nodes.end())
      return convert_constant_node(g.node(it->second), value);
    const std::string must =
        "; weights and other operands must be constant (initializers or "
        "Constant nodes)";
    if (graph_inputs.count(value))
      return bad("input " + quote(value) + " is a graph input, not a constant" + must);
    if (auto it = producers.find(value); it != producers.end())
      return bad("input " + quote(value) + " is computed by node " + quote(display(it->second)) +
                 " (" + g.node(it->second).op_type() + "), not a constant" + must);
    return bad("input " + quote(value) + " is not defined in the graph");
  }

  const onnx::GraphProto& g;
  std::map<std::string, const onnx::TensorProto*> initializers;
  std::map<std::string, int> constant_nodes;  // output -> Constant node
  std::map<std::string, int> producers;       // output -> other node
  std::map<std::string, std::vector<int>> consumers;
  std::set<std::string> graph_inputs;
};

// The data input: the graph inputs that are not initializers; when several,
// the one every consumer takes as its first operand.
Result<const onnx::ValueInfoProto*> data_input(const GraphIndex& gi) {
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& i : gi.g.input())
    if (!gi.initializers.count(i.name())) inputs.push_back(&i);
  if (inputs.empty()) return bad("the graph has no input");
  if (inputs.size() == 1) return inputs[0];
  std::vector<const onnx::ValueInfoProto*> first_operand;
  for (const auto* in : inputs) {
    auto it = gi.consumers.find(in->name());
    if (it == gi.consumers.end()) continue;
    bool all_first = true;
    for (int n : it->second) all_first = all_first && gi.g.node(n).input(0) == in->name();
    if (all_first) first_operand.push_back(in);
  }
  return first_operand.size() == 1 ? first_operand[0] : inputs[0];
}

bool is_integer_type(int t) {
  switch (t) {
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64:
      return true;
    default:
      return false;
  }
}

Result<ChainShape> input_shape(const onnx::ValueInfoProto& in) {
  const std::string q = "input " + quote(in.name());
  if (!in.type().has_tensor_type()) return bad(q + " is not a tensor");
  const auto& tt = in.type().tensor_type();
  ChainShape shape;
  const int et = tt.elem_type();
  if (et == onnx::TensorProto::FLOAT || et == onnx::TensorProto::DOUBLE)
    shape.is_float = true;
  else if (is_integer_type(et))
    shape.is_float = false;
  else
    return bad(q + " has element type " + data_type_name(et) +
               "; expected FLOAT, DOUBLE or an integer type");
  if (!tt.has_shape()) return bad(q + " has no shape; expected [batch, F]");
  const auto& s = tt.shape();
  std::string dims = "[";
  for (int i = 0; i < s.dim_size(); ++i) {
    if (i) dims += ",";
    dims += s.dim(i).has_dim_value() ? std::to_string(s.dim(i).dim_value())
                                     : (s.dim(i).dim_param().empty() ? "?" : s.dim(i).dim_param());
  }
  dims += "]";
  if (s.dim_size() != 2) return bad(q + " has shape " + dims + "; expected [batch, F]");
  if (s.dim(0).has_dim_value() && s.dim(0).dim_value() != 1)
    return bad(q + " has shape " + dims + "; the batch dimension must be symbolic or 1 " +
               "(export with a dynamic batch axis)");
  if (!s.dim(1).has_dim_value() || s.dim(1).dim_value() < 1)
    return bad(q + " has shape " + dims + "; the number of features F must be a fixed number");
  shape.width = s.dim(1).dim_value();
  if (shape.width > kMaxFeatures)
    return bad(q + " has " + std::to_string(shape.width) + " columns; the limit is " +
               std::to_string(kMaxFeatures) + " features (kMaxFeatures)");
  return shape;
}

const char* head_name(Head h) {
  switch (h) {
    case Head::Softmax:
      return "Softmax";
    case Head::LogSoftmax:
      return "LogSoftmax";
    case Head::ArgMax:
      return "ArgMax";
    case Head::Logits:
      break;
  }
  return "logits";
}

// Walks the chain from the data input to the graph output, lowering each node.
Status lower_graph(const GraphIndex& gi, int64_t opset, FloatModel& model) {
  NNBPF_TRY(in, data_input(gi));
  NNBPF_TRY(shape0, input_shape(*in));
  // One graph output; or several outputs of one op that may end the chain
  // with any of them (TreeEnsembleClassifier's label and scores).
  std::set<std::string> outs;
  for (const auto& o : gi.g.output()) outs.insert(o.name());
  if (gi.g.output_size() != 1) {
    std::set<int> producers;
    for (const auto& o : outs)
      if (auto it = gi.producers.find(o); it != gi.producers.end()) producers.insert(it->second);
    const onnx::NodeProto* p = producers.size() == 1 ? &gi.g.node(*producers.begin()) : nullptr;
    const frontend::OpEntry* pe = p ? frontend::find_op(p->domain(), p->op_type()) : nullptr;
    if (gi.g.output_size() == 0 || !pe || !pe->make()->ends_chain_with_any_output()) {
      std::string names;
      for (const auto& o : gi.g.output()) names += (names.empty() ? "" : ", ") + o.name();
      return bad("the graph has " + std::to_string(gi.g.output_size()) + " outputs (" + names +
                 "); expected one");
    }
  }
  const std::string out_name = gi.g.output(0).name();

  ChainShape shape = shape0;
  LowerState st(model, shape.width);
  std::vector<int> layer_node;  // node index that created each layer
  std::string cur = in->name();
  std::set<int> visited;
  while (!outs.count(cur)) {
    auto it = gi.consumers.find(cur);
    if (it == gi.consumers.end())
      return bad("value " + quote(cur) + " does not reach the graph output " + quote(out_name) +
                 "; the graph must be a single chain from the input to the output");
    if (it->second.size() > 1) {
      std::string users;
      for (int n : it->second)
        users += (users.empty() ? "" : ", ") + quote(gi.display(n)) + " (" +
                 gi.g.node(n).op_type() + ")";
      return bad("value " + quote(cur) + " feeds " + std::to_string(it->second.size()) +
                 " nodes (" + users + "); the graph must be a single chain");
    }
    const int n = it->second[0];
    if (!visited.insert(n).second) return bad("the graph has a cycle at value " + quote(cur));
    const auto& node = gi.g.node(n);
    const std::string ctx = gi.context(n);

    if (st.stage == Stage::kHead)
      return bad(ctx + "nothing may follow the " + head_name(model.head) + " head (node " +
                 quote(st.head_node) + ")");
    const frontend::OpEntry* entry = frontend::find_op(node.domain(), node.op_type());
    if (!entry) {
      if (!node.domain().empty() && node.domain() != "ai.onnx" && node.domain() != "ai.onnx.ml")
        return bad(ctx + "unsupported op domain " + quote(node.domain()) +
                   "; supported ops: " + frontend::supported_ops_list());
      return bad(ctx + "unsupported op " + node.op_type() +
                 "; supported ops: " + frontend::supported_ops_list());
    }

    NodeView view;
    view.node = &node;
    view.name = gi.display(n);
    view.opset = opset;
    view.consts.resize(static_cast<size_t>(node.input_size()));
    int chain_uses = 0;
    for (int i = 0; i < node.input_size(); ++i) {
      if (node.input(i) == cur) {
        view.chain_input = i;
        ++chain_uses;
        continue;
      }
      if (node.input(i).empty()) continue;  // absent optional input
      auto c = gi.constant(node.input(i));
      if (!c.ok()) return c.error().with_context(ctx);
      auto fin = check_finite(*c);
      if (!fin.ok()) return fin.error().with_context(ctx);
      view.consts[i] = std::move(*c);
    }
    if (chain_uses > 1)
      return bad(ctx + "uses the value " + quote(cur) +
                 " twice; only one operand may be the input");
    auto op = entry->make();
    if (op->alternative_outputs()) {
      int used = -1;
      for (int o = 0; o < node.output_size(); ++o) {
        if (node.output(o).empty() || !gi.used(node.output(o))) continue;
        if (used >= 0)
          return bad(ctx + "outputs " + quote(node.output(used)) + " and " + quote(node.output(o)) +
                     " are both used; only one of them may be");
        used = o;
      }
      if (used < 0) return bad(ctx + "has no used output");
      view.chain_output = used;
    } else {
      if (node.output_size() < 1 || node.output(0).empty()) return bad(ctx + "has no output");
      for (int o = 1; o < node.output_size(); ++o)
        if (!node.output(o).empty() && gi.used(node.output(o)) &&
            !(op->ends_chain_with_any_output() && outs.count(node.output(o)) &&
              !gi.consumers.count(node.output(o))))
          return bad(ctx + "output " + quote(node.output(o)) + " is used; only the first output of " +
                     node.op_type() + " is supported");
    }

    auto attrs = op->parse_attributes(view);
    if (!attrs.ok()) return attrs.error().with_context(ctx);
    auto next = op->resolve_shape(view, shape);
    if (!next.ok()) return next.error().with_context(ctx);
    st.in_width = shape.width;
    const size_t layers_before = st.mlp.layers.size();
    auto low = op->lower(view, st);
    if (!low.ok()) return low.error().with_context(ctx);
    if (st.mlp.layers.size() > layers_before) layer_node.push_back(n);
    shape = *next;
    cur = node.output(view.chain_output);
    if (op->ends_chain_with_any_output())
      for (const auto& o : node.output())
        if (outs.count(o)) cur = o;
  }

  if (!st.tree && st.mlp.layers.empty())
    return bad("no dense layer (Gemm or MatMul) between input " + quote(in->name()) +
               " and output " + quote(out_name));
  if (!st.tree && st.mlp.outputs() > kMaxOutputs)
    return bad(gi.context(layer_node.back()) + std::to_string(st.mlp.outputs()) +
               " outputs exceed the limit of " + std::to_string(kMaxOutputs) +
               " logits (kMaxOutputs)");
  if (st.standardized) model.standardization = Standardization{st.mean, st.mul};

  // Defensive: folding must never produce a non-finite value.
  auto finite = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  };
  if (model.standardization &&
      (!finite(model.standardization->mean) || !finite(model.standardization->mul)))
    return bad("the input standardization is not finite after folding");
  for (size_t i = 0; i < st.mlp.layers.size(); ++i)
    if (!finite(st.mlp.layers[i].weight) || !finite(st.mlp.layers[i].bias))
      return bad(gi.context(layer_node[i]) + "the layer is not finite after folding");

  for (const auto& i : gi.g.input()) {
    if (i.name() != in->name() && !gi.initializers.count(i.name()))
      return bad("the graph has more than one input (" + quote(in->name()) + ", " +
                 quote(i.name()) + "); expected one input [batch, F]");
  }
  if (st.tree)
    model.kind = std::move(*st.tree);
  else
    model.kind = std::move(st.mlp);
  return ok_status();
}

// ---- feature binding and input ranges ----------------------------------------

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, row);
  }
  return prev[b.size()];
}

std::string feature_hint(const std::string& name) {
  std::string best;
  size_t best_d = 4;
  for (const auto& f : feature_catalog()) {
    const size_t d = edit_distance(name, f.name);
    if (d < best_d) {
      best_d = d;
      best = std::string(f.name);
    }
  }
  std::string hint = best.empty() ? "" : "did you mean " + quote(best) + "? ";
  return hint + "feature names come from the catalog (see docs/features.md), e.g. " +
         "dst_port, fwd_pkt_count, fwd_pkt_len_max";
}

Status bind_features(const FrontendOptions& opts, FloatModel& model) {
  std::vector<std::string> names;
  std::string source;
  if (!opts.features.empty()) {
    names = opts.features;
    for (auto& n : names) n = trim(n);
    source = "--features";
  } else {
    auto it = model.metadata.find(kFeaturesKey);
    if (it == model.metadata.end() || trim(it->second).empty())
      return bad(std::string("no feature binding: add metadata ") + kFeaturesKey +
                 " (comma-separated catalog names, one per input column) or pass --features");
    names = split(it->second, ',');
    source = std::string("metadata ") + kFeaturesKey;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& n = names[i];
    if (n.empty()) return bad(source + ": feature " + std::to_string(i) + " has an empty name");
    if (!find_feature(n))
      return bad(source + ": unknown feature " + quote(n) + "; " + feature_hint(n));
    if (!seen.insert(n).second)
      return bad(source + ": feature " + quote(n) + " is bound to more than one input column");
  }
  const int width = model.inputs();
  if (static_cast<int>(names.size()) != width)
    return bad(source + " names " + std::to_string(names.size()) + " features but the model has " +
               std::to_string(width) + " input columns");
  model.features = std::move(names);
  return ok_status();
}

Result<double> parse_number(const std::string& s) {
  if (s.empty()) return bad("empty number");
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v))
    return bad(quote(s) + " is not a finite number");
  return v;
}

Status bind_input_ranges(FloatModel& model) {
  auto it = model.metadata.find(kRangesKey);
  if (it == model.metadata.end()) return ok_status();
  const std::string src = std::string("metadata ") + kRangesKey;
  const auto entries = split(it->second, ',');
  if (static_cast<int>(entries.size()) != model.inputs())
    return bad(src + " has " + std::to_string(entries.size()) + " entries but the model has " +
               std::to_string(model.inputs()) + " features");
  std::vector<InputRange> ranges;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string at = src + ": entry " + std::to_string(i) + " " + quote(entries[i]) + " (" +
                           model.features[i] + ")";
    const auto parts = split(entries[i], ':');
    if (parts.size() != 2) return bad(at + " is not lo:hi");
    auto lo = parse_number(parts[0]);
    auto hi = parse_number(parts[1]);
    if (!lo.ok() || !hi.ok())
      return bad(at + " is not lo:hi with numbers: " + (!lo.ok() ? lo : hi).error().message);
    if (*lo < 0) return bad(at + " has lo < 0 (raw features are unsigned)");
    if (*lo > *hi) return bad(at + " has lo > hi");
    ranges.push_back({*lo, *hi});
  }
  model.input_ranges = std::move(ranges);
  return ok_status();
}

Result<FloatModel> load(const std::string& bytes, const FrontendOptions& opts) {
  if (bytes.empty()) return bad("not a valid ONNX model (the file is empty)");
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes))
    return bad("not a valid ONNX model (protobuf parse failed; truncated or not an .onnx file)");
  if (!m.has_graph() || m.ir_version() <= 0 || m.opset_import_size() == 0)
    return bad("not a valid ONNX model (no graph, IR version or opset)");

  FloatModel model;
  int64_t opset = -1;
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < 0) return bad("the model imports no opset of the default ONNX domain");
  if (opset < kMinOpset || opset > kMaxOpset)
    return bad("opset " + std::to_string(opset) + " is not supported (supported: opset " +
               std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) +
               "); re-export the model or convert it with onnx.version_converter");
  model.opset = opset;
  model.producer = m.producer_name();
  for (const auto& p : m.metadata_props()) model.metadata[p.key()] = p.value();

  GraphIndex gi(m.graph());
  NNBPF_CHECK(lower_graph(gi, opset, model));
  NNBPF_CHECK(bind_features(opts, model));
  NNBPF_CHECK(bind_input_ranges(model));
  return model;
}

}  // namespace

Result<FloatModel> load_onnx_bytes(const std::string& bytes, const std::string& name,
                                   const FrontendOptions& opts) {
  auto r = load(bytes, opts);
  if (!r.ok()) return r.error().with_context(name + ": ");
  return r;
}

Result<FloatModel> load_onnx_file(const std::string& path, const FrontendOptions& opts) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return Error::bad_input(path + ": cannot open (is a directory)");
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error::bad_input(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Error::bad_input(path + ": cannot read (" + std::strerror(errno) + ")");
  return load_onnx_bytes(bytes, path, opts);
}

}  // namespace nnbpf::compiler
