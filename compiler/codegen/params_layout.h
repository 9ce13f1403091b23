// Byte layout of one parameter slot (value of the nnbpf_params map): struct
// nnbpf_params_hdr, then one struct nnbpf_input_param per input, then per
// layer the int32 weights [out][in] and int32 bias [out] (natural alignment).
// --quant int8: per layer int8 weights [out][in], int32 bias [out] (4-aligned)
// and the requantization pair {int32 mult, uint32 shift}.
// Per-layer exponents (QuantMlp::layer_exponents, docs/semantics.md#per-layer):
// uint32 layer_b[layers] after the last layer (4-aligned).
// The emitted C struct asserts every offset computed here, and the runtime
// serializes slots with serialize_params, so the two can never drift.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/ir/model.h"

namespace nnbpf::compiler {

struct ParamLayout {
  size_t inputs_offset = 0;
  struct Layer {
    size_t weight_offset = 0;
    size_t bias_offset = 0;
    size_t requant_offset = 0;  // int8 mode: {__s32 mult; __u32 shift}; 0 otherwise
    int weight_bytes = 4;       // bytes per weight: 4 (int32) or 1 (int8)
    int in = 0;
    int out = 0;
  };
  std::vector<Layer> layers;
  size_t layer_b_offset = 0;  // uint32 layer_b[layers]; 0 without per-layer exponents
  // Tree models (QuantTreeEnsemble): struct nnbpf_tree_node[node_capacity],
  // int32 leaf values [leaf_capacity][n_outputs], uint32 roots [trees].
  size_t tree_nodes_offset = 0;
  size_t tree_leaves_offset = 0;
  size_t tree_roots_offset = 0;
  size_t total_bytes = 0;
};

ParamLayout layout_params(const QuantModel& model);

// One slot's bytes for `model` (header included).
std::vector<uint8_t> serialize_params(const QuantModel& model, uint64_t generation);

// Inverse of serialize_params given the layer shapes (relu/has_bias flags and
// feature names are not in the slot; they come from `shape`). For a tree
// model `shape.tree()` gives n_outputs, the capacities and the per-tree depths;
// the nodes are checked (children, leaf rows and features in range).
Result<QuantModel> deserialize_params(const QuantModel& shape, const std::vector<uint8_t>& bytes);

// 32 raw bytes of a 64-hex-digit digest (zeros if malformed).
std::vector<uint8_t> digest_bytes(const std::string& hex);

}  // namespace nnbpf::compiler
