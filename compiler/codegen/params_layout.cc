#include "compiler/codegen/params_layout.h"

#include <cstring>

#include "nnbpf/abi.h"

namespace nnbpf::compiler {

namespace {
constexpr uint32_t kMaxLayerExponent = 30;  // docs/semantics.md#limits
size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

template <typename T>
void put(std::vector<uint8_t>& buf, size_t off, T v) {
  std::memcpy(buf.data() + off, &v, sizeof(T));
}
template <typename T>
T get(const std::vector<uint8_t>& buf, size_t off) {
  T v;
  std::memcpy(&v, buf.data() + off, sizeof(T));
  return v;
}
}  // namespace

namespace {

ParamLayout layout_tree(const QuantTreeEnsemble& t) {
  ParamLayout l;
  size_t off = sizeof(nnbpf_params_hdr);
  l.inputs_offset = off;
  off = align_up(off, 8);
  l.tree_nodes_offset = off;
  off += sizeof(nnbpf_tree_node) * static_cast<size_t>(t.node_capacity);
  l.tree_leaves_offset = off;
  off += 4ull * static_cast<size_t>(t.leaf_capacity) * static_cast<size_t>(t.n_outputs);
  l.tree_roots_offset = off;
  off += 4ull * t.depths.size();
  l.total_bytes = align_up(off, 8);
  return l;
}

ParamLayout layout_mlp(const QuantMlp& model) {
  ParamLayout l;
  size_t off = sizeof(nnbpf_params_hdr);
  l.inputs_offset = off;
  off += sizeof(nnbpf_input_param) * model.inputs.size();
  const bool int8 = model.mode == QuantMode::Int8;
  for (const auto& layer : model.layers) {
    ParamLayout::Layer pl;
    pl.in = layer.in;
    pl.out = layer.out;
    pl.weight_bytes = int8 ? 1 : 4;
    off = align_up(off, 4);
    pl.weight_offset = off;
    off += static_cast<size_t>(pl.weight_bytes) * layer.in * layer.out;
    off = align_up(off, 4);
    pl.bias_offset = off;
    off += 4ull * layer.out;
    if (int8) {
      pl.requant_offset = off;
      off += 8;
    }
    l.layers.push_back(pl);
  }
  if (model.layer_exponents) {
    off = align_up(off, 4);
    l.layer_b_offset = off;
    off += 4ull * model.layers.size();
  }
  l.total_bytes = align_up(off, 8);
  return l;
}

}  // namespace

ParamLayout layout_params(const QuantModel& model) {
  return std::visit(Overloaded{[](const QuantMlp& mlp) { return layout_mlp(mlp); },
                               [](const QuantTreeEnsemble& tree) { return layout_tree(tree); }},
                    model.kind);
}

std::vector<uint8_t> digest_bytes(const std::string& hex) {
  std::vector<uint8_t> out(32, 0);
  if (hex.size() != 64) return out;
  for (size_t i = 0; i < 32; ++i) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &v) != 1) return std::vector<uint8_t>(32, 0);
    out[i] = static_cast<uint8_t>(v);
  }
  return out;
}

namespace {

void put_tree(std::vector<uint8_t>& buf, const ParamLayout& l, const QuantTreeEnsemble& t) {
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const QuantTreeNode& n = t.nodes[i];
    nnbpf_tree_node b{};
    b.threshold = n.threshold;
    b.true_child = n.true_child;
    b.false_child = n.false_child;
    b.leaf = n.leaf;
    b.feature = n.feature;
    b.op = static_cast<__u8>(n.op);
    std::memcpy(buf.data() + l.tree_nodes_offset + i * sizeof b, &b, sizeof b);
  }
  for (size_t i = 0; i < t.leaf_values.size(); ++i) put<int32_t>(buf, l.tree_leaves_offset + 4 * i, t.leaf_values[i]);
  for (size_t k = 0; k < t.roots.size(); ++k) put<uint32_t>(buf, l.tree_roots_offset + 4 * k, t.roots[k]);
}

void put_mlp(std::vector<uint8_t>& buf, const ParamLayout& l, const QuantMlp& model) {
  for (size_t j = 0; j < model.inputs.size(); ++j) {
    const QuantInput& in = model.inputs[j];
    nnbpf_input_param p{};
    p.lo = in.lo;
    p.hi = in.hi;
    p.m = in.m;
    p.den = in.den;
    p.q = in.q;
    std::memcpy(buf.data() + l.inputs_offset + j * sizeof p, &p, sizeof p);
  }
  for (size_t k = 0; k < model.layers.size(); ++k) {
    const QuantLayer& layer = model.layers[k];
    for (size_t i = 0; i < layer.weight.size(); ++i) {
      if (l.layers[k].weight_bytes == 1)
        put<int8_t>(buf, l.layers[k].weight_offset + i, static_cast<int8_t>(layer.weight[i]));
      else
        put<int32_t>(buf, l.layers[k].weight_offset + 4 * i, layer.weight[i]);
    }
    for (int i = 0; i < layer.out; ++i)
      put<int32_t>(buf, l.layers[k].bias_offset + 4 * i, layer.has_bias ? layer.bias[i] : 0);
    if (l.layers[k].requant_offset) {
      put<int32_t>(buf, l.layers[k].requant_offset, layer.rq_mult);
      put<uint32_t>(buf, l.layers[k].requant_offset + 4, static_cast<uint32_t>(layer.rq_shift));
    }
    if (l.layer_b_offset) put<uint32_t>(buf, l.layer_b_offset + 4 * k, static_cast<uint32_t>(layer.b));
  }
}

Status get_tree(const std::vector<uint8_t>& bytes, const ParamLayout& l, int n_inputs, QuantTreeEnsemble& t) {
  const auto cap = static_cast<size_t>(t.node_capacity);
  t.nodes.assign(cap, QuantTreeNode{});
  t.leaf_values.resize(static_cast<size_t>(t.leaf_capacity) * t.n_outputs);
  t.roots.resize(t.depths.size());
  for (size_t i = 0; i < cap; ++i) {
    nnbpf_tree_node b;
    std::memcpy(&b, bytes.data() + l.tree_nodes_offset + i * sizeof b, sizeof b);
    const std::string at = "tree node " + std::to_string(i) + ": ";
    if (b.true_child >= cap || b.false_child >= cap)
      return Error::bad_input(at + "child index out of the node array");
    if (b.leaf >= static_cast<size_t>(t.leaf_capacity)) return Error::bad_input(at + "leaf row out of range");
    if (b.feature >= static_cast<unsigned>(n_inputs)) return Error::bad_input(at + "feature out of range");
    if (b.op > NNBPF_TREE_OP_EQ) return Error::bad_input(at + "unknown op " + std::to_string(b.op));
    t.nodes[i] = QuantTreeNode{b.threshold, b.true_child, b.false_child, b.leaf, b.feature, static_cast<TreeOp>(b.op)};
  }
  for (size_t i = 0; i < t.leaf_values.size(); ++i)
    t.leaf_values[i] = get<int32_t>(bytes, l.tree_leaves_offset + 4 * i);
  for (size_t k = 0; k < t.roots.size(); ++k) {
    t.roots[k] = get<uint32_t>(bytes, l.tree_roots_offset + 4 * k);
    if (t.roots[k] >= cap) return Error::bad_input("tree " + std::to_string(k) + ": root out of the node array");
  }
  return ok_status();
}

Status get_mlp(const std::vector<uint8_t>& bytes, const ParamLayout& l, QuantMlp& m) {
  for (size_t j = 0; j < m.inputs.size(); ++j) {
    nnbpf_input_param p;
    std::memcpy(&p, bytes.data() + l.inputs_offset + j * sizeof p, sizeof p);
    m.inputs[j] = QuantInput{p.lo, p.hi, p.q, p.m, p.den};
  }
  for (size_t k = 0; k < m.layers.size(); ++k) {
    QuantLayer& layer = m.layers[k];
    layer.weight.resize(static_cast<size_t>(layer.in) * layer.out);
    layer.bias.resize(layer.out);
    for (size_t i = 0; i < layer.weight.size(); ++i)
      layer.weight[i] = l.layers[k].weight_bytes == 1 ? get<int8_t>(bytes, l.layers[k].weight_offset + i)
                                                      : get<int32_t>(bytes, l.layers[k].weight_offset + 4 * i);
    for (int i = 0; i < layer.out; ++i) layer.bias[i] = get<int32_t>(bytes, l.layers[k].bias_offset + 4 * i);
    if (l.layers[k].requant_offset) {
      layer.rq_mult = get<int32_t>(bytes, l.layers[k].requant_offset);
      const uint32_t sh = get<uint32_t>(bytes, l.layers[k].requant_offset + 4);
      const bool last = k + 1 == m.layers.size();
      if (!last && (sh < 1 || sh > 62 || layer.rq_mult < 0))
        return Error::bad_input("parameter blob: layer " + std::to_string(k) + " requantization " +
                                std::to_string(layer.rq_mult) + " >> " + std::to_string(sh) +
                                " is out of range (shift 1..62, multiplier >= 0)");
      layer.rq_shift = static_cast<int32_t>(sh);
    }
    if (l.layer_b_offset) {
      const uint32_t b = get<uint32_t>(bytes, l.layer_b_offset + 4 * k);
      if (b > kMaxLayerExponent)
        return Error::bad_input("parameter blob: layer " + std::to_string(k) + " exponent b=" + std::to_string(b) +
                                " is out of range (0.." + std::to_string(kMaxLayerExponent) + ")");
      layer.b = static_cast<int>(b);
    }
  }
  return ok_status();
}

}  // namespace

std::vector<uint8_t> serialize_params(const QuantModel& model, uint64_t generation) {
  ParamLayout l = layout_params(model);
  std::vector<uint8_t> buf(l.total_bytes, 0);
  nnbpf_params_hdr hdr{};
  hdr.abi_version = NNBPF_ABI_VERSION;
  hdr.shift = static_cast<__u32>(model.b);
  hdr.n_inputs = static_cast<__u32>(model.n_inputs());
  hdr.n_outputs = static_cast<__u32>(model.n_outputs());
  auto d = digest_bytes(model.digest);
  std::memcpy(hdr.digest, d.data(), 32);
  hdr.generation = generation;
  std::memcpy(buf.data(), &hdr, sizeof hdr);
  std::visit(Overloaded{[&](const QuantMlp& mlp) { put_mlp(buf, l, mlp); },
                        [&](const QuantTreeEnsemble& tree) { put_tree(buf, l, tree); }},
             model.kind);
  return buf;
}

Result<QuantModel> deserialize_params(const QuantModel& shape, const std::vector<uint8_t>& bytes) {
  ParamLayout l = layout_params(shape);
  if (bytes.size() != l.total_bytes)
    return Error::bad_input("parameter blob is " + std::to_string(bytes.size()) + " bytes, expected " +
                            std::to_string(l.total_bytes));
  nnbpf_params_hdr hdr;
  std::memcpy(&hdr, bytes.data(), sizeof hdr);
  if (hdr.abi_version != NNBPF_ABI_VERSION)
    return Error::bad_input("parameter blob has ABI version " + std::to_string(hdr.abi_version) +
                            ", this nnbpf uses " + std::to_string(NNBPF_ABI_VERSION));
  if (hdr.n_inputs != static_cast<__u32>(shape.n_inputs()) || static_cast<int>(hdr.n_outputs) != shape.n_outputs())
    return Error::bad_input("parameter blob shape does not match the manifest");
  QuantModel m = shape;
  m.b = static_cast<int>(hdr.shift);
  NNBPF_CHECK(std::visit(Overloaded{[&](QuantMlp& mlp) { return get_mlp(bytes, l, mlp); },
                                    [&](QuantTreeEnsemble& tree) { return get_tree(bytes, l, m.n_inputs(), tree); }},
                         m.kind));
  return m;
}

}  // namespace nnbpf::compiler
