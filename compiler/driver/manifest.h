// The artifact manifest (DIR/manifest.json, docs/manifest.schema.json) as one
// typed struct: nnbpf compile fills it (make_manifest), load_artifact parses
// it, and the runtime and the CLI read its fields, never JSON keys. JSON is
// only the file format: manifest_to_json / parse_manifest are its one
// serialiser and parser. Part of nnbpf_artifact (no LLVM).
//
// std::optional marks two things, said at each field: a key the compiler
// writes only for some models ("absent"), or a key always written whose
// value may be null ("null").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/support/result.h"

namespace nnbpf::compiler {

// quant.int8.layers[]: one layer's scales and requantization.
struct ManifestInt8Layer {
  double weight_scale = 0;
  double input_scale = 0;
  double output_scale = 0;  // 0 for the last layer (its logits stay int32)
  int64_t requant_mult = 0;
  int64_t requant_shift = 0;
};

// quant.int8 (int8 models only).
struct ManifestInt8 {
  int input_frac_bits = 0;
  std::string activation_scales_from;
  std::vector<ManifestInt8Layer> layers;
};

// quant: how the model was quantized (docs/semantics.md, docs/compile.md).
// Trees write the MLP fields with neutral values (manifest_tree).
struct ManifestQuant {
  std::string mode;  // int32 | int8 | tree
  int b = 0;
  double scale = 1;
  double alpha = 0;
  double ecdf_share = 0;
  int b_ecdf = 0;
  int b_inputs_formula9 = -1;
  bool b_forced = false;
  bool b_lowered = false;
  std::string input_ranges_source;
  std::string clamp;  // none | widest | given
  double max_abs_activation = 0;
  double max_abs_accumulator = 0;
  double activation_margin_bits = 0;
  double accumulator_margin_bits = 0;
  int logit_frac_bits = 0;
  double logit_scale = 1;
  // int32 only (absent otherwise).
  std::optional<std::string> choice;  // forced | precision-first
  std::optional<int> b_safe;
  std::optional<int> margin_bits;
  std::optional<double> ecdf_share_at_b_ecdf;
  // int32 with per-layer exponents only (absent otherwise; docs/semantics.md#per-layer).
  std::optional<std::vector<int>> layer_b;
  std::optional<int> b_uniform;
  // int8 only (absent otherwise).
  std::optional<ManifestInt8> int8;
};

// inputs[]: one raw feature and its clamping range.
struct ManifestInput {
  std::string feature;
  uint64_t lo = 0;
  uint64_t hi = 0;
  // MLP only (absent for trees): the range b was chosen for.
  std::optional<uint64_t> data_lo;
  std::optional<uint64_t> data_hi;
};

// layers[]: one dense layer and where its parameters sit in a slot.
struct ManifestLayer {
  int in = 0;
  int out = 0;
  bool relu = false;
  bool bias = false;
  uint64_t weight_offset = 0;
  uint64_t bias_offset = 0;
  int weight_bytes = 4;
  // int32 with per-layer exponents only (absent otherwise).
  std::optional<int> b;
  std::optional<int> shift;
};

// params: the parameter map, two slots (the hot-update double buffer).
struct ManifestParams {
  uint64_t bytes_per_slot = 0;
  int slots = 2;
  uint64_t bytes_total = 0;
  uint64_t inputs_offset = 0;
  std::optional<uint64_t> layer_b_offset;  // int32 with per-layer exponents only (absent otherwise)
};

// tree (trees only): the ensemble's shape and slot offsets.
struct ManifestTree {
  int trees = 0;
  std::vector<int> depths;
  int n_classes = 0;
  int nodes = 0;
  int leaves = 0;
  int node_capacity = 0;
  int leaf_capacity = 0;
  uint64_t nodes_offset = 0;
  uint64_t leaves_offset = 0;
  uint64_t roots_offset = 0;
};

// agreement (docs/compile.md#agreement): the gate's report, absent when no rows
// were judged (the capture pipeline).
struct ManifestAgreement {
  std::string source;
  bool sampled = false;
  uint64_t rows = 0;
  uint64_t rows_available = 0;
  uint64_t agree = 0;
  double agreement = 1;
  double max_logit_error = 0;
  std::optional<double> min_flipped_margin;  // null when no verdict flipped
  std::optional<double> max_flipped_margin;  // null when no verdict flipped
  double min_agreement = 0;
  bool passed = true;
  // Sampled rows only (absent otherwise).
  std::optional<uint64_t> sampled_uniform;
  std::optional<uint64_t> sampled_boundary;
};

// stages[].parts[]: output neurons [neuron_begin, neuron_end) of one layer.
struct ManifestStagePart {
  int layer = 0;
  int neuron_begin = 0;
  int neuron_end = 0;
};

// stages[]: one tail-call stage.
struct ManifestStage {
  std::string name;
  bool standardize = false;
  bool last = false;
  std::vector<ManifestStagePart> parts;  // empty for trees
  int64_t est_insns = 0;
  std::optional<std::array<int, 2>> trees;  // trees [begin, end); trees only (absent otherwise)
};

struct ManifestPrograms {
  std::string test_entry;
  std::string test_finish;
};

struct Manifest {
  std::string nnbpf_version;
  int abi_version = 0;
  std::string model_digest;
  std::string object;
  std::string bpf_isa;
  std::vector<std::string> features;
  std::vector<int> feature_ids;
  std::string kind;            // mlp | tree
  std::vector<int64_t> shape;  // inputs, then each layer's outputs (mlp) or the classes (tree)
  std::string head;
  std::optional<ManifestTree> tree;  // trees only (absent otherwise)
  ManifestQuant quant;
  std::optional<ManifestAgreement> agreement;  // absent when no rows were judged
  std::vector<ManifestInput> inputs;
  std::vector<ManifestLayer> layers;  // empty for trees
  ManifestParams params;
  int64_t max_stage_insns = 0;
  std::vector<ManifestStage> stages;  // empty for the capture pipeline
  ManifestPrograms programs;
  std::optional<std::vector<std::string>> protocols;  // the model's domain; null = every protocol
  std::vector<std::string> classes;  // one name per output, the first benign; may be empty
  std::optional<double> min_margin;  // operating point in float units; null = argmax

  bool is_tree() const { return kind == "tree"; }
  // Class names: `classes`, or benign,intrusion / class0.. from the outputs.
  std::vector<std::string> class_names() const;
  // 2^logit_frac_bits: integer logits per float unit.
  double logit_units() const;
};

// The JSON of docs/manifest.schema.json; nlohmann's adl hooks so that a
// Manifest or any part of it converts with `nlohmann::json j = m;`.
void to_json(nlohmann::json& j, const Manifest& m);
void to_json(nlohmann::json& j, const ManifestQuant& q);
void to_json(nlohmann::json& j, const ManifestInt8& q);
void to_json(nlohmann::json& j, const ManifestInt8Layer& l);
void to_json(nlohmann::json& j, const ManifestInput& in);
void to_json(nlohmann::json& j, const ManifestLayer& l);
void to_json(nlohmann::json& j, const ManifestParams& p);
void to_json(nlohmann::json& j, const ManifestTree& t);
void to_json(nlohmann::json& j, const ManifestAgreement& a);
void to_json(nlohmann::json& j, const ManifestStagePart& p);
void to_json(nlohmann::json& j, const ManifestStage& s);
void to_json(nlohmann::json& j, const ManifestPrograms& p);

// The file's text: two-space indented JSON and a newline.
std::string manifest_text(const Manifest& m);

// Parses a manifest; `where` (the file) starts every error, which names the
// first missing or mistyped key by its path ("quant.b", "layers[2].relu").
Result<Manifest> parse_manifest(const std::string& text, const std::string& where);
Result<Manifest> manifest_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace nnbpf::compiler
