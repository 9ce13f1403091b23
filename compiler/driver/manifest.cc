#include "compiler/driver/manifest.h"

#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace nnbpf::compiler {

using nlohmann::json;

std::vector<std::string> Manifest::class_names() const {
  if (!classes.empty()) return classes;
  const int64_t n = shape.empty() ? 2 : shape.back();
  if (n <= 2) return {"benign", "intrusion"};
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back("class" + std::to_string(i));
  return out;
}

double Manifest::logit_units() const { return std::ldexp(1.0, quant.logit_frac_bits); }

// ---------------------------------------------------------------- writing

namespace {

template <class T>
json nullable(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

template <class T>
void put_if(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

}  // namespace

void to_json(json& j, const ManifestInt8Layer& l) {
  j = {{"weight_scale", l.weight_scale},
       {"input_scale", l.input_scale},
       {"output_scale", l.output_scale},
       {"requant_mult", l.requant_mult},
       {"requant_shift", l.requant_shift}};
}

void to_json(json& j, const ManifestInt8& q) {
  j = {{"input_frac_bits", q.input_frac_bits}, {"activation_scales_from", q.activation_scales_from}, {"layers", q.layers}};
}

void to_json(json& j, const ManifestQuant& q) {
  j = {{"mode", q.mode},
       {"b", q.b},
       {"scale", q.scale},
       {"alpha", q.alpha},
       {"ecdf_share", q.ecdf_share},
       {"b_ecdf", q.b_ecdf},
       {"b_inputs_formula9", q.b_inputs_formula9},
       {"b_forced", q.b_forced},
       {"b_lowered", q.b_lowered},
       {"input_ranges_source", q.input_ranges_source},
       {"clamp", q.clamp},
       {"max_abs_activation", q.max_abs_activation},
       {"max_abs_accumulator", q.max_abs_accumulator},
       {"activation_margin_bits", q.activation_margin_bits},
       {"accumulator_margin_bits", q.accumulator_margin_bits},
       {"logit_frac_bits", q.logit_frac_bits},
       {"logit_scale", q.logit_scale}};
  put_if(j, "choice", q.choice);
  put_if(j, "b_safe", q.b_safe);
  put_if(j, "margin_bits", q.margin_bits);
  put_if(j, "ecdf_share_at_b_ecdf", q.ecdf_share_at_b_ecdf);
  put_if(j, "layer_b", q.layer_b);
  put_if(j, "b_uniform", q.b_uniform);
  put_if(j, "int8", q.int8);
}

void to_json(json& j, const ManifestInput& in) {
  j = {{"feature", in.feature}, {"lo", in.lo}, {"hi", in.hi}};
  put_if(j, "data_lo", in.data_lo);
  put_if(j, "data_hi", in.data_hi);
}

void to_json(json& j, const ManifestLayer& l) {
  j = {{"in", l.in},
       {"out", l.out},
       {"relu", l.relu},
       {"bias", l.bias},
       {"weight_offset", l.weight_offset},
       {"bias_offset", l.bias_offset},
       {"weight_bytes", l.weight_bytes}};
  put_if(j, "b", l.b);
  put_if(j, "shift", l.shift);
}

void to_json(json& j, const ManifestParams& p) {
  j = {{"bytes_per_slot", p.bytes_per_slot},
       {"slots", p.slots},
       {"bytes_total", p.bytes_total},
       {"inputs_offset", p.inputs_offset}};
  put_if(j, "layer_b_offset", p.layer_b_offset);
}

void to_json(json& j, const ManifestTree& t) {
  j = {{"trees", t.trees},
       {"depths", t.depths},
       {"n_classes", t.n_classes},
       {"nodes", t.nodes},
       {"leaves", t.leaves},
       {"node_capacity", t.node_capacity},
       {"leaf_capacity", t.leaf_capacity},
       {"nodes_offset", t.nodes_offset},
       {"leaves_offset", t.leaves_offset},
       {"roots_offset", t.roots_offset}};
}

void to_json(json& j, const ManifestAgreement& a) {
  j = {{"source", a.source},
       {"sampled", a.sampled},
       {"rows", a.rows},
       {"rows_available", a.rows_available},
       {"agree", a.agree},
       {"agreement", a.agreement},
       {"max_logit_error", a.max_logit_error},
       {"min_flipped_margin", nullable(a.min_flipped_margin)},
       {"max_flipped_margin", nullable(a.max_flipped_margin)},
       {"min_agreement", a.min_agreement},
       {"passed", a.passed}};
  put_if(j, "sampled_uniform", a.sampled_uniform);
  put_if(j, "sampled_boundary", a.sampled_boundary);
}

void to_json(json& j, const ManifestStagePart& p) {
  j = {{"layer", p.layer}, {"neuron_begin", p.neuron_begin}, {"neuron_end", p.neuron_end}};
}

void to_json(json& j, const ManifestStage& s) {
  j = {{"name", s.name}, {"standardize", s.standardize}, {"last", s.last}, {"parts", s.parts}, {"est_insns", s.est_insns}};
  put_if(j, "trees", s.trees);
}

void to_json(json& j, const ManifestPrograms& p) {
  j = {{"test_entry", p.test_entry}, {"test_finish", p.test_finish}};
}

void to_json(json& j, const Manifest& m) {
  j = {{"nnbpf_version", m.nnbpf_version},
       {"abi_version", m.abi_version},
       {"model_digest", m.model_digest},
       {"object", m.object},
       {"bpf_isa", m.bpf_isa},
       {"features", m.features},
       {"feature_ids", m.feature_ids},
       {"kind", m.kind},
       {"shape", m.shape},
       {"head", m.head},
       {"quant", m.quant},
       {"inputs", m.inputs},
       {"layers", m.layers},
       {"params", m.params},
       {"max_stage_insns", m.max_stage_insns},
       {"stages", m.stages},
       {"programs", m.programs},
       {"protocols", nullable(m.protocols)},
       {"classes", m.classes},
       {"min_margin", nullable(m.min_margin)}};
  put_if(j, "tree", m.tree);
  put_if(j, "agreement", m.agreement);
}

std::string manifest_text(const Manifest& m) { return json(m).dump(2) + "\n"; }

// ---------------------------------------------------------------- reading

namespace {

// A JSON value and its path from the manifest's root, for errors.
struct Field {
  const json& j;
  std::string path;

  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error(path + ": " + what); }

  bool has(const char* key) const { return j.is_object() && j.contains(key); }
  Field at(const char* key) const {
    if (!j.is_object()) fail(std::string("expected an object, got ") + j.type_name());
    auto it = j.find(key);
    const std::string p = path.empty() ? key : path + "." + key;
    if (it == j.end()) throw std::runtime_error(p + ": missing");
    return Field{*it, p};
  }
  Field at(size_t i) const { return Field{j[i], path + "[" + std::to_string(i) + "]"}; }
};

// Scalars: the JSON type must match (no bool as number, no float as integer).
template <class T>
void get(const Field& f, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!f.j.is_boolean()) f.fail(std::string("expected a boolean, got ") + f.j.type_name());
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!f.j.is_string()) f.fail(std::string("expected a string, got ") + f.j.type_name());
  } else if constexpr (std::is_integral_v<T>) {
    if (!f.j.is_number_integer()) f.fail(std::string("expected an integer, got ") + f.j.type_name());
    if (std::is_unsigned_v<T> && f.j.is_number_integer() && !f.j.is_number_unsigned() && f.j.get<int64_t>() < 0)
      f.fail("expected a non-negative integer, got " + f.j.dump());
  } else {
    static_assert(std::is_floating_point_v<T>);
    if (!f.j.is_number()) f.fail(std::string("expected a number, got ") + f.j.type_name());
  }
  out = f.j.get<T>();
}

void get(const Field& f, ManifestInt8Layer& l);
void get(const Field& f, ManifestInt8& q);
void get(const Field& f, ManifestQuant& q);
void get(const Field& f, ManifestInput& in);
void get(const Field& f, ManifestLayer& l);
void get(const Field& f, ManifestParams& p);
void get(const Field& f, ManifestTree& t);
void get(const Field& f, ManifestAgreement& a);
void get(const Field& f, ManifestStagePart& p);
void get(const Field& f, ManifestStage& s);
void get(const Field& f, ManifestPrograms& p);

template <class T>
void get(const Field& f, std::vector<T>& out) {
  if (!f.j.is_array()) f.fail(std::string("expected an array, got ") + f.j.type_name());
  out.resize(f.j.size());
  for (size_t i = 0; i < out.size(); ++i) get(f.at(i), out[i]);
}

template <class T, size_t N>
void get(const Field& f, std::array<T, N>& out) {
  if (!f.j.is_array() || f.j.size() != N)
    f.fail("expected an array of " + std::to_string(N) + ", got " + f.j.dump());
  for (size_t i = 0; i < N; ++i) get(f.at(i), out[i]);
}

// A key always present.
template <class T>
void req(const Field& f, const char* key, T& out) {
  get(f.at(key), out);
}

// A key always present whose value may be null.
template <class T>
void req_nullable(const Field& f, const char* key, std::optional<T>& out) {
  Field v = f.at(key);
  out.reset();
  if (!v.j.is_null()) get(v, out.emplace());
}

// A key present for some models only.
template <class T>
void opt(const Field& f, const char* key, std::optional<T>& out) {
  out.reset();
  if (f.has(key)) get(f.at(key), out.emplace());
}

void get(const Field& f, ManifestInt8Layer& l) {
  req(f, "weight_scale", l.weight_scale);
  req(f, "input_scale", l.input_scale);
  req(f, "output_scale", l.output_scale);
  req(f, "requant_mult", l.requant_mult);
  req(f, "requant_shift", l.requant_shift);
}

void get(const Field& f, ManifestInt8& q) {
  req(f, "input_frac_bits", q.input_frac_bits);
  req(f, "activation_scales_from", q.activation_scales_from);
  req(f, "layers", q.layers);
}

void get(const Field& f, ManifestQuant& q) {
  req(f, "mode", q.mode);
  req(f, "b", q.b);
  req(f, "scale", q.scale);
  req(f, "alpha", q.alpha);
  req(f, "ecdf_share", q.ecdf_share);
  req(f, "b_ecdf", q.b_ecdf);
  req(f, "b_inputs_formula9", q.b_inputs_formula9);
  req(f, "b_forced", q.b_forced);
  req(f, "b_lowered", q.b_lowered);
  req(f, "input_ranges_source", q.input_ranges_source);
  req(f, "clamp", q.clamp);
  req(f, "max_abs_activation", q.max_abs_activation);
  req(f, "max_abs_accumulator", q.max_abs_accumulator);
  req(f, "activation_margin_bits", q.activation_margin_bits);
  req(f, "accumulator_margin_bits", q.accumulator_margin_bits);
  req(f, "logit_frac_bits", q.logit_frac_bits);
  req(f, "logit_scale", q.logit_scale);
  opt(f, "choice", q.choice);
  opt(f, "b_safe", q.b_safe);
  opt(f, "margin_bits", q.margin_bits);
  opt(f, "ecdf_share_at_b_ecdf", q.ecdf_share_at_b_ecdf);
  opt(f, "layer_b", q.layer_b);
  opt(f, "b_uniform", q.b_uniform);
  opt(f, "int8", q.int8);
}

void get(const Field& f, ManifestInput& in) {
  req(f, "feature", in.feature);
  req(f, "lo", in.lo);
  req(f, "hi", in.hi);
  opt(f, "data_lo", in.data_lo);
  opt(f, "data_hi", in.data_hi);
}

void get(const Field& f, ManifestLayer& l) {
  req(f, "in", l.in);
  req(f, "out", l.out);
  req(f, "relu", l.relu);
  req(f, "bias", l.bias);
  req(f, "weight_offset", l.weight_offset);
  req(f, "bias_offset", l.bias_offset);
  req(f, "weight_bytes", l.weight_bytes);
  opt(f, "b", l.b);
  opt(f, "shift", l.shift);
}

void get(const Field& f, ManifestParams& p) {
  req(f, "bytes_per_slot", p.bytes_per_slot);
  req(f, "slots", p.slots);
  req(f, "bytes_total", p.bytes_total);
  req(f, "inputs_offset", p.inputs_offset);
  opt(f, "layer_b_offset", p.layer_b_offset);
}

void get(const Field& f, ManifestTree& t) {
  req(f, "trees", t.trees);
  req(f, "depths", t.depths);
  req(f, "n_classes", t.n_classes);
  req(f, "nodes", t.nodes);
  req(f, "leaves", t.leaves);
  req(f, "node_capacity", t.node_capacity);
  req(f, "leaf_capacity", t.leaf_capacity);
  req(f, "nodes_offset", t.nodes_offset);
  req(f, "leaves_offset", t.leaves_offset);
  req(f, "roots_offset", t.roots_offset);
}

void get(const Field& f, ManifestAgreement& a) {
  req(f, "source", a.source);
  req(f, "sampled", a.sampled);
  req(f, "rows", a.rows);
  req(f, "rows_available", a.rows_available);
  req(f, "agree", a.agree);
  req(f, "agreement", a.agreement);
  req(f, "max_logit_error", a.max_logit_error);
  req_nullable(f, "min_flipped_margin", a.min_flipped_margin);
  req_nullable(f, "max_flipped_margin", a.max_flipped_margin);
  req(f, "min_agreement", a.min_agreement);
  req(f, "passed", a.passed);
  opt(f, "sampled_uniform", a.sampled_uniform);
  opt(f, "sampled_boundary", a.sampled_boundary);
}

void get(const Field& f, ManifestStagePart& p) {
  req(f, "layer", p.layer);
  req(f, "neuron_begin", p.neuron_begin);
  req(f, "neuron_end", p.neuron_end);
}

void get(const Field& f, ManifestStage& s) {
  req(f, "name", s.name);
  req(f, "standardize", s.standardize);
  req(f, "last", s.last);
  req(f, "parts", s.parts);
  req(f, "est_insns", s.est_insns);
  opt(f, "trees", s.trees);
}

void get(const Field& f, ManifestPrograms& p) {
  req(f, "test_entry", p.test_entry);
  req(f, "test_finish", p.test_finish);
}

// The top level, in the schema's order.
void get(const Field& f, Manifest& m) {
  req(f, "nnbpf_version", m.nnbpf_version);
  req(f, "abi_version", m.abi_version);
  req(f, "model_digest", m.model_digest);
  req(f, "object", m.object);
  req(f, "bpf_isa", m.bpf_isa);
  req(f, "features", m.features);
  req(f, "feature_ids", m.feature_ids);
  req(f, "kind", m.kind);
  req(f, "shape", m.shape);
  req(f, "head", m.head);
  opt(f, "tree", m.tree);
  req(f, "quant", m.quant);
  opt(f, "agreement", m.agreement);
  req(f, "inputs", m.inputs);
  req(f, "layers", m.layers);
  req(f, "params", m.params);
  req(f, "max_stage_insns", m.max_stage_insns);
  req(f, "stages", m.stages);
  req(f, "programs", m.programs);
  req_nullable(f, "protocols", m.protocols);
  req(f, "classes", m.classes);
  req_nullable(f, "min_margin", m.min_margin);
}

}  // namespace

Result<Manifest> manifest_from_json(const json& j, const std::string& where) {
  Manifest m;
  try {
    get(Field{j, ""}, m);
  } catch (const std::exception& e) {
    return Error::bad_input(where + ": malformed: " + e.what());
  }
  return m;
}

Result<Manifest> parse_manifest(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    return Error::bad_input(where + ": not valid JSON: " + std::string(e.what()));
  }
  return manifest_from_json(j, where);
}

}  // namespace nnbpf::compiler
