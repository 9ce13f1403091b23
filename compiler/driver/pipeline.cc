#include "compiler/driver/pipeline.h"

#include <llvm/ADT/ArrayRef.h>
#include <llvm/Support/SHA256.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "compiler/codegen/clang_compile.h"
#include "compiler/codegen/emit.h"
#include "compiler/ir/catalog.h"
#include "compiler/support/csv.h"
#include "nnbpf/abi.h"

namespace nnbpf::compiler {

namespace fs = std::filesystem;

std::string sha256_hex(const std::string& bytes) {
  auto hash = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  std::ostringstream o;
  for (uint8_t c : hash) o << std::hex << std::setw(2) << std::setfill('0') << static_cast<unsigned>(c);
  return o.str();
}

namespace {

const char* head_name(Head h) {
  switch (h) {
    case Head::Logits: return "logits";
    case Head::Softmax: return "softmax";
    case Head::LogSoftmax: return "logsoftmax";
    case Head::ArgMax: return "argmax";
  }
  return "logits";
}

std::string shape_string(const QuantModel& m) {
  return std::visit(Overloaded{[&](const QuantMlp& mlp) {
                                 std::string s = "[" + std::to_string(m.n_inputs());
                                 for (const auto& l : mlp.layers) s += "," + std::to_string(l.out);
                                 return s + "]";
                               },
                               [&](const QuantTreeEnsemble& t) {
                                 int depth = 0;
                                 for (int d : t.depths) depth = std::max(depth, d);
                                 return std::to_string(t.depths.size()) + (t.depths.size() == 1 ? " tree" : " trees") +
                                        ", depth " + std::to_string(depth) + ", " + std::to_string(t.nodes_used) +
                                        " nodes, " + std::to_string(m.n_inputs()) + " features -> " +
                                        std::to_string(t.n_outputs) + " classes";
                               }},
                    m.kind);
}

std::string percent(double share) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(3) << 100.0 * share << "%";
  return o.str();
}

std::string short_num(double v) {
  std::ostringstream o;
  o << std::setprecision(4) << v;
  return o.str();
}

// The b of the summary's scale: line: the uniform choice the per-layer
// exponents started from (docs/semantics.md#choosing-b), or the one b.
int uniform_b(const QuantModel& q, const QuantMlp& mlp) { return mlp.layer_exponents ? mlp.b_uniform : q.b; }

// The one-line reason of a failed agreement gate: the agreement, the b it
// tried and what would fix it.
std::string describe_disagreement(const CompileResult& r) {
  const QuantModel& q = r.quant_model;
  const Agreement& a = r.agreement;
  // By kind: the b the agreement was measured at, and what would raise it.
  std::ostringstream at;
  std::vector<std::string> fix;  // remedies, most specific first
  std::visit(Overloaded{[&](const QuantMlp& mlp) {
                          if (mlp.mode == QuantMode::Int8) {
                            at << " with --quant int8 (inputs at b = " << q.b << ")";
                            if (r.calibration_rows_source.empty() && !a.sampled)  // else said below
                              fix.push_back("--calibration rows for tighter activation scales");
                            fix.push_back("--quant int32");
                            return;
                          }
                          at << " at b = " << uniform_b(q, mlp) << (q.b_forced ? " (--scale-bits)" : "");
                          if (q.b_forced && q.b < mlp.b_safe)
                            fix.push_back("drop --scale-bits (or --scale-bits " + std::to_string(mlp.b_safe) +
                                          ", the largest b the overflow analysis proves safe)");
                          else if (!q.b_forced && uniform_b(q, mlp) < mlp.b_safe)
                            fix.push_back("--overflow-margin-bits 0 (b = " + std::to_string(mlp.b_safe) + ")");
                          if (r.ranges_source.rfind("feature catalog", 0) == 0)
                            fix.push_back("narrower input ranges (nnbpf.input_ranges or --calibration) to allow a larger b");
                        },
                        [&](const QuantTreeEnsemble&) {
                          at << " at b = " << q.b;
                          fix.push_back("a larger b (--scale-bits)");
                        }},
             q.kind);
  std::ostringstream o;
  o << "verdict agreement with the float model " << percent(a.agreement) << " (" << a.agree << " of " << a.rows
    << " rows, " << a.source << ")" << at.str();
  o << " is below --min-agreement " << percent(a.min_agreement) << "; largest logit error "
    << short_num(a.max_logit_error);
  if (a.min_flipped_margin) o << ", flipped rows' float margins " << short_num(*a.min_flipped_margin) << " to "
                              << short_num(*a.max_flipped_margin);
  if (a.sampled) fix.push_back("--calibration CSV of real flows (these rows were sampled from the input ranges)");
  fix.push_back("--allow-disagreement to compile anyway");
  o << "; to fix: ";
  for (size_t i = 0; i < fix.size(); ++i) o << (i == 0 ? "" : i + 1 == fix.size() ? " or " : ", ") << fix[i];
  return o.str();
}

// --bpf-isa: as given, or "auto": what the running kernel accepts (a warning
// when the probe itself was refused and the kernel version decided).
std::string choose_isa(const std::string& want, std::vector<std::string>& warnings) {
  if (want != "auto") return want;
  BpfIsa isa = probe_bpf_isa();
  if (!isa.probed)
    warnings.push_back("BPF ISA " + isa.cpu +
                       " chosen from the kernel version: no privilege (CAP_BPF) to probe the kernel; "
                       "--bpf-isa sets it");
  return isa.cpu;
}

}  // namespace

Result<CompileResult> compile_model(const std::string& onnx_path, const CompileOptions& opts) {
  auto t0 = std::chrono::steady_clock::now();
  NNBPF_TRY(bytes, read_file(onnx_path));
  NNBPF_TRY(fm, load_onnx_bytes(bytes, onnx_path, opts.frontend));
  fm.digest = sha256_hex(bytes);

  CompileResult r;
  QuantOptions qopts = opts.quant;
  r.ranges_source = fm.input_ranges.empty() ? "feature catalog bounds" : "model metadata nnbpf.input_ranges";
  if (opts.calibration_csv) {
    NNBPF_TRY(rows, read_feature_csv(*opts.calibration_csv, fm.features));
    if (rows.rows.empty()) return Error::bad_input(*opts.calibration_csv + ": no data rows for --calibration");
    qopts.calibration_ranges = column_ranges(rows);
    qopts.calibration_samples = rows.rows;
    r.ranges_source = "calibration CSV " + *opts.calibration_csv;
  }
  // Calibration rows for the agreement gate (and formula 9): --calibration,
  // else the model's nnbpf.calibration metadata, else sampled below.
  std::vector<std::vector<uint64_t>> gate_rows;
  std::string gate_source;
  if (opts.calibration_csv) {
    gate_rows = qopts.calibration_samples;
    gate_source = "calibration CSV " + *opts.calibration_csv;
  } else if (auto it = fm.metadata.find("nnbpf.calibration"); it != fm.metadata.end()) {
    auto rows = parse_calibration_text(it->second, fm.features);
    if (!rows) return rows.error().with_context(onnx_path + ": ");
    gate_rows = std::move(rows.value());
    gate_source = "model metadata nnbpf.calibration";
    qopts.calibration_samples = gate_rows;  // formula (9); the ranges stay nnbpf.input_ranges
  }
  r.calibration_rows_source = gate_source;
  if (opts.min_agreement < 0 || opts.min_agreement > 1 || !std::isfinite(opts.min_agreement))
    return Error::bad_input("--min-agreement " + std::to_string(opts.min_agreement) + " is not in [0, 1]");
  auto qm = quantize(fm, qopts);
  if (!qm) return qm.error().with_context(onnx_path + ": ");
  r.quant_model = std::move(qm.value());
  r.float_model = std::move(fm);
  {
    auto pol = read_model_policy(r.float_model, r.quant_model.n_outputs(), opts.protocols);
    if (!pol) return pol.error().with_context(onnx_path + ": ");
    r.policy = std::move(pol.value());
  }

  {
    size_t boundary = 0;
    const bool sampled = gate_rows.empty();
    if (sampled) {
      gate_rows = sample_input_rows(r.float_model, r.quant_model, kSampledUniformRows, kSampledBoundaryRows, &boundary);
      gate_source = "sampled input ranges";
    }
    r.agreement = measure_agreement(r.float_model, r.quant_model, gate_rows, opts.min_agreement);
    r.agreement.source = gate_source;
    r.agreement.sampled = sampled;
    if (sampled) {
      r.agreement.sampled_boundary = boundary;
      r.agreement.sampled_uniform = gate_rows.size() - boundary;
    }
    if (!r.agreement.passed) {
      const std::string msg = describe_disagreement(r);
      if (!opts.allow_disagreement) return Error::bad_input(onnx_path + ": " + msg);
      r.warnings.push_back(msg);
    }
  }

  r.layout = layout_params(r.quant_model);
  r.mcpu = choose_isa(opts.mcpu, r.warnings);
  PlanTarget target;
  target.isa_v4 = r.mcpu == "v4";
  for (const auto& l : r.layout.layers) target.weight_offsets.push_back(l.weight_offset);
  NNBPF_TRY(plan, plan_stages(r.quant_model, opts.max_stage_insns, target));
  r.plan = plan;
  r.c_source = emit_program(r.quant_model, r.plan, r.layout);
  if (opts.emit == EmitKind::Obj) {
    NNBPF_TRY(obj, compile_bpf_c(r.c_source, r.mcpu));
    r.object = std::move(obj.object);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Result<CompileResult> compile_capture(const std::string& mcpu) {
  auto t0 = std::chrono::steady_clock::now();
  CompileResult r;
  QuantModel& q = r.quant_model;
  std::string names;
  for (const auto& f : feature_catalog()) {
    q.features.emplace_back(f.name);
    q.feature_ids.push_back(f.id);
    QuantInput in;
    in.lo = f.lo;
    in.hi = f.hi;
    q.mlp().inputs.push_back(in);
    names += std::string(f.name) + ",";
  }
  // The stamp and slot header carry a digest; a capture pipeline's names
  // the catalog it extracts.
  q.digest = sha256_hex("nnbpf capture ABI " + std::to_string(NNBPF_ABI_VERSION) + ": " + names);
  r.float_model.features = q.features;
  r.ranges_source = "feature catalog bounds";
  r.layout = layout_params(q);
  r.mcpu = choose_isa(mcpu, r.warnings);
  r.c_source = emit_program(q, r.plan, r.layout);
  NNBPF_TRY(obj, compile_bpf_c(r.c_source, r.mcpu));
  r.object = std::move(obj.object);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

namespace {

// The MLP's quantization report: how b and the layers' exponents were chosen.
void manifest_mlp_quant(ManifestQuant& quant, const CompileResult& r, const QuantMlp& mlp) {
  const QuantModel& q = r.quant_model;
  quant.mode = mlp.mode == QuantMode::Int8 ? "int8" : "int32";
  quant.ecdf_share = mlp.ecdf_share;
  quant.b_inputs_formula9 = mlp.b_inputs;
  quant.b_lowered = mlp.b_lowered;
  quant.clamp = mlp.clamp_widest ? "widest" : "given";
  quant.max_abs_activation = mlp.overflow.max_abs_activation;
  quant.max_abs_accumulator = mlp.overflow.max_abs_accumulator;
  quant.activation_margin_bits = mlp.overflow.activation_margin_bits;
  quant.accumulator_margin_bits = mlp.overflow.accumulator_margin_bits;
  if (mlp.mode == QuantMode::Int32) {
    // Precision first: b_safe is the largest b the overflow analysis proves
    // safe; b = b_safe - margin_bits, never below b_ecdf (unless b_ecdf overflows).
    quant.choice = q.b_forced ? "forced" : "precision-first";
    // Per-layer exponents (docs/semantics.md#per-layer): quant.b is step 1's,
    // b_uniform the uniform choice they were raised from.
    if (mlp.layer_exponents) {
      quant.layer_b.emplace();
      for (const auto& l : mlp.layers) quant.layer_b->push_back(l.b);
      quant.b_uniform = mlp.b_uniform;
    }
    quant.b_safe = mlp.b_safe;
    quant.margin_bits = mlp.margin_bits;
    quant.ecdf_share_at_b_ecdf = mlp.ecdf_share_at_b_ecdf;
  } else {
    // b: fractional bits of step 1's x1, which layer 0 reads as they are.
    ManifestInt8& int8 = quant.int8.emplace();
    int8.input_frac_bits = q.b;
    int8.activation_scales_from = !r.calibration_rows_source.empty() ? "calibration rows through the float model"
                                                                      : "interval analysis of the float model";
    for (size_t l = 0; l < mlp.layers.size(); ++l)
      int8.layers.push_back({mlp.int8_scales[l].weight, mlp.int8_scales[l].input, mlp.int8_scales[l].output,
                             mlp.layers[l].rq_mult, mlp.layers[l].rq_shift});
  }
}

// The MLP's part of the manifest: its layers, its quantization, the inputs'
// clamping ranges and the layers' slot offsets.
void manifest_mlp(Manifest& m, const CompileResult& r, const QuantMlp& mlp) {
  const QuantModel& q = r.quant_model;
  m.kind = "mlp";
  for (const auto& l : mlp.layers) m.shape.push_back(l.out);
  manifest_mlp_quant(m.quant, r, mlp);
  for (size_t j = 0; j < mlp.inputs.size(); ++j)
    m.inputs.push_back(
        {q.features[j], mlp.inputs[j].lo, mlp.inputs[j].hi, mlp.inputs[j].data_lo, mlp.inputs[j].data_hi});
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    ManifestLayer layer{mlp.layers[l].in,
                        mlp.layers[l].out,
                        mlp.layers[l].relu,
                        mlp.layers[l].has_bias,
                        r.layout.layers[l].weight_offset,
                        r.layout.layers[l].bias_offset,
                        r.layout.layers[l].weight_bytes};
    if (mlp.layer_exponents) {
      layer.b = q.layer_exponent(l);
      layer.shift = q.layer_shift(l);
    }
    m.layers.push_back(layer);
  }
  if (mlp.layer_exponents) m.params.layer_b_offset = r.layout.layer_b_offset;
}

// The tree's part: its shape and slot offsets. Its inputs are the raw u64
// features (no clamp), and the MLP's quant fields keep their neutral values,
// which readers of every kind expect (docs/manifest.schema.json).
void manifest_tree(Manifest& m, const CompileResult& r, const QuantTreeEnsemble& t) {
  const QuantModel& q = r.quant_model;
  m.kind = "tree";
  m.shape.push_back(t.n_outputs);
  m.tree = ManifestTree{static_cast<int>(t.depths.size()),
                        t.depths,
                        t.n_outputs,
                        t.nodes_used,
                        t.leaves_used,
                        t.node_capacity,
                        t.leaf_capacity,
                        r.layout.tree_nodes_offset,
                        r.layout.tree_leaves_offset,
                        r.layout.tree_roots_offset};
  ManifestQuant& quant = m.quant;
  quant.mode = "tree";
  quant.ecdf_share = 0.0;
  quant.b_inputs_formula9 = -1;
  quant.b_lowered = false;
  quant.clamp = "none";
  quant.max_abs_activation = 0.0;
  quant.max_abs_accumulator = 0.0;
  quant.activation_margin_bits = 0.0;
  quant.accumulator_margin_bits = 0.0;
  for (int j = 0; j < q.n_inputs(); ++j) m.inputs.push_back({q.features[j], 0, UINT64_MAX, {}, {}});
}

ManifestStage manifest_stage(size_t k, const Stage& st) {
  ManifestStage stage;
  stage.name = std::string(NNBPF_PROG_STAGE_PREFIX) + std::to_string(k);
  stage.standardize = st.standardize;
  stage.last = st.last;
  stage.est_insns = st.est_insns;
  std::visit(Overloaded{[&](const std::vector<StagePart>& parts) {
                          for (const auto& p : parts) stage.parts.push_back({p.layer, p.neuron_begin, p.neuron_end});
                        },
                        [&](const TreeRange& trees) { stage.trees = std::array<int, 2>{trees.begin, trees.end}; }},
             st.work);
  return stage;
}

// The agreement gate's report; absent when no rows were judged.
std::optional<ManifestAgreement> manifest_agreement(const CompileResult& r) {
  const Agreement& a = r.agreement;
  if (r.quant_model.digest.empty() || a.rows == 0) return std::nullopt;
  ManifestAgreement ag;
  ag.source = a.source;
  ag.sampled = a.sampled;
  ag.rows = a.rows;
  ag.rows_available = a.rows_available;
  ag.agree = a.agree;
  ag.agreement = a.agreement;
  ag.max_logit_error = a.max_logit_error;
  ag.min_flipped_margin = a.min_flipped_margin;
  ag.max_flipped_margin = a.max_flipped_margin;
  ag.min_agreement = a.min_agreement;
  ag.passed = a.passed;
  if (a.sampled) {
    ag.sampled_uniform = a.sampled_uniform;
    ag.sampled_boundary = a.sampled_boundary;
  }
  return ag;
}

}  // namespace

Manifest make_manifest(const CompileResult& r) {
  const QuantModel& q = r.quant_model;
  Manifest m;
  m.nnbpf_version = "0.1.0";
  m.abi_version = NNBPF_ABI_VERSION;
  m.model_digest = q.digest;
  m.object = "model.bpf.o";
  m.bpf_isa = r.mcpu;
  m.features = q.features;
  m.feature_ids = q.feature_ids;
  m.shape.push_back(q.n_inputs());
  m.head = head_name(r.float_model.head);
  m.quant.b = q.b;
  m.quant.scale = std::ldexp(1.0, q.b);
  m.quant.alpha = q.alpha;
  m.quant.b_ecdf = q.b_ecdf;
  m.quant.b_forced = q.b_forced;
  m.quant.input_ranges_source = r.ranges_source;
  m.quant.logit_frac_bits = logit_frac_bits(q);
  m.quant.logit_scale = logit_scale(q);
  m.params = {r.layout.total_bytes, 2, 2 * r.layout.total_bytes, r.layout.inputs_offset, {}};
  std::visit(Overloaded{[&](const QuantMlp& mlp) { manifest_mlp(m, r, mlp); },
                        [&](const QuantTreeEnsemble& tree) { manifest_tree(m, r, tree); }},
             q.kind);
  m.agreement = manifest_agreement(r);
  m.max_stage_insns = r.plan.max_stage_insns;
  for (size_t k = 0; k < r.plan.stages.size(); ++k) m.stages.push_back(manifest_stage(k, r.plan.stages[k]));
  m.programs = {NNBPF_PROG_TEST_ENTRY_NAME, NNBPF_PROG_TEST_FINISH_NAME};
  // The model's domain and operating point (docs/run.md, "Blocking policy").
  m.protocols = r.policy.protocols;
  m.classes = r.policy.classes;
  m.min_margin = r.policy.min_margin;
  return m;
}

namespace {

void describe_ir_tree(std::ostringstream& o, const CompileResult& r, const QuantTreeEnsemble& t) {
  const QuantModel& q = r.quant_model;
  for (int j = 0; j < q.n_inputs(); ++j) o << "input " << j << " " << q.features[j] << " raw\n";
  for (size_t k = 0; k < t.depths.size(); ++k)
    o << "tree " << k << " root " << t.roots[k] << " depth " << t.depths[k] << "\n";
  for (int i = 0; i < t.nodes_used; ++i) {
    const QuantTreeNode& n = t.nodes[static_cast<size_t>(i)];
    if (n.true_child == i && n.false_child == i) {
      o << "node " << i << " leaf " << n.leaf << " [";
      for (int c = 0; c < t.n_outputs; ++c) o << (c ? "," : "") << t.leaf(n.leaf, c);
      o << "]\n";
    } else {
      o << "node " << i << " x" << static_cast<int>(n.feature) << (n.op == TreeOp::Eq ? " == " : " <= ")
        << n.threshold << " ? " << n.true_child << " : " << n.false_child << "\n";
    }
  }
  for (size_t k = 0; k < r.plan.stages.size(); ++k) {
    const Stage& st = r.plan.stages[k];
    o << "stage " << k << (st.standardize ? " inputs" : "") << " trees[" << st.trees().begin << ":"
      << st.trees().end << ")" << (st.last ? " classify" : "") << " est_insns=" << st.est_insns << "\n";
  }
}

void describe_ir_mlp(std::ostringstream& o, const CompileResult& r, const QuantMlp& mlp) {
  const QuantModel& q = r.quant_model;
  for (int j = 0; j < q.n_inputs(); ++j) {
    const auto& in = mlp.inputs[j];
    o << "input " << j << " " << q.features[j] << " clamp[" << in.lo << "," << in.hi << "] data[" << in.data_lo
      << "," << in.data_hi << "] q=" << in.q
      << " m=" << in.m << " den=" << in.den << "\n";
  }
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    const auto& L = mlp.layers[l];
    o << "layer " << l << " dense " << L.in << "->" << L.out << (L.has_bias ? " bias" : " nobias")
      << (L.relu ? " relu" : "");
    if (mlp.mode == QuantMode::Int8 && l + 1 < mlp.layers.size())
      o << " requant=" << L.rq_mult << ">>" << L.rq_shift;
    if (mlp.layer_exponents) o << " b=" << q.layer_exponent(l) << " shift=" << q.layer_shift(l);
    o << "\n";
  }
  for (size_t k = 0; k < r.plan.stages.size(); ++k) {
    const Stage& st = r.plan.stages[k];
    o << "stage " << k << (st.standardize ? " standardize" : "");
    for (const auto& p : st.parts())
      o << " L" << p.layer << "[" << p.neuron_begin << ":" << p.neuron_end << ")";
    o << (st.last ? " classify" : "") << " est_insns=" << st.est_insns << "\n";
  }
}

}  // namespace

std::string describe_ir(const CompileResult& r) {
  const QuantModel& q = r.quant_model;
  const QuantMlp* mlp = std::get_if<QuantMlp>(&q.kind);
  std::ostringstream o;
  o << "model " << q.digest << " " << shape_string(q) << " b=" << q.b
    << (mlp && mlp->mode == QuantMode::Int8 ? " quant=int8" : "") << "\n";
  std::visit(Overloaded{[&](const QuantMlp& m) { describe_ir_mlp(o, r, m); },
                        [&](const QuantTreeEnsemble& t) { describe_ir_tree(o, r, t); }},
             q.kind);
  return o.str();
}

namespace {

// "domain:" and "classes:" lines of the summary.
std::string describe_domain(const CompileResult& r) {
  std::ostringstream o;
  const ModelPolicy& p = r.policy;
  o << "domain:   ";
  if (p.protocols) {
    for (size_t i = 0; i < p.protocols->size(); ++i) o << (i ? "," : "") << (*p.protocols)[i];
    if (p.protocols->empty()) o << "no protocol";
    o << " only (" << p.protocols_source << "); flows of other protocols are counted, never classified\n";
  } else {
    o << "all protocols: the model declares no nnbpf.protocols (--protocols tcp[,udp] sets its domain)\n";
  }
  o << "classes:  ";
  for (size_t i = 0; i < p.classes.size(); ++i) o << (i ? "," : "") << p.classes[i];
  o << " (" << p.classes_source << ")";
  if (p.min_margin) o << "; operating point min_margin " << std::setprecision(6) << *p.min_margin;
  o << "\n";
  return o.str();
}

}  // namespace

std::string describe_agreement(const CompileResult& r) {
  const Agreement& a = r.agreement;
  if (a.rows == 0) return "";
  std::ostringstream o;
  o << "agree:    verdicts equal to the float model's on " << percent(a.agreement) << " of " << a.rows << " rows ("
    << a.source;
  if (a.sampled)
    o << ": " << a.sampled_uniform << " uniform/log-uniform, " << a.sampled_boundary
      << " at first-layer activation boundaries; not data";
  else if (a.rows < a.rows_available)
    o << ", evenly spaced, of " << a.rows_available;
  o << "); largest logit error " << short_num(a.max_logit_error);
  if (a.min_flipped_margin)
    o << "; " << a.rows - a.agree << " flipped, float margins " << short_num(*a.min_flipped_margin) << " to "
      << short_num(*a.max_flipped_margin);
  o << (a.passed ? "" : " (BELOW --min-agreement " + percent(a.min_agreement) + ")") << "\n";
  return o.str();
}

// The "shifts:" line: the per-layer exponents (docs/semantics.md#per-layer).
std::string describe_exponents(const QuantModel& q, const QuantMlp& mlp) {
  std::ostringstream o;
  bool raised = q.b != mlp.b_uniform;
  o << "shifts:   inputs b = " << q.b << ", layers b_k =";
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    o << (l ? ", " : " ") << q.layer_exponent(l);
    raised |= q.layer_exponent(l) != mlp.b_uniform;
  }
  if (q.b_forced)
    o << " (uniform: --scale-bits)";
  else if (raised)
    o << " (raised from b = " << mlp.b_uniform << " as far as the overflow analysis allows with the "
      << mlp.margin_bits << "-bit margin)";
  else
    o << " (uniform: no exponent can be raised with the " << mlp.margin_bits << "-bit margin)";
  o << "; logits carry " << logit_frac_bits(q) << " fractional bits\n";
  return o.str();
}

namespace {

// The MLP's "quant:"/"scale:", "overflow:" and "clamp:" lines.
std::string describe_scale_mlp(const CompileResult& r, const QuantMlp& mlp) {
  const QuantModel& q = r.quant_model;
  std::ostringstream o;
  o << std::fixed;
  if (mlp.mode == QuantMode::Int8) {
    o << "quant:    int8 weights and hidden activations, per-layer scales (activation scales from "
      << (!r.calibration_rows_source.empty() ? "calibration rows"
                                                       : "interval analysis; --calibration gives tighter ones")
      << "); layer 0 reads the standardized inputs at b = " << q.b << " fractional bits\n";
  } else {
    const int b = uniform_b(q, mlp);
    o << "scale:    b = " << b << " (s = 2^" << b << ")";
    if (q.b_forced)
      o << ", set by --scale-bits (the overflow analysis proves b <= " << mlp.b_safe << " safe)";
    else if (mlp.b_lowered)
      o << ", lowered to avoid overflow below the ECDF's b = " << q.b_ecdf;
    else if (b == mlp.b_safe - mlp.margin_bits)
      o << ", precision first: the largest b the overflow analysis proves safe (" << mlp.b_safe << ") less a "
        << mlp.margin_bits << "-bit margin";
    else
      o << ", precision first: the ECDF's b (the overflow analysis proves b <= " << mlp.b_safe << " safe)";
    o << "; ECDF at alpha " << std::setprecision(4) << q.alpha << " alone: b = " << q.b_ecdf << " (share "
      << std::setprecision(5) << mlp.ecdf_share_at_b_ecdf << ")";
    if (mlp.b_inputs >= 0) o << ", inputs need b >= " << mlp.b_inputs << " (formula 9)";
    o << "; share of nonzero parameters with |p|*s < 1 at b = " << b << ": " << std::setprecision(5)
      << mlp.ecdf_share << "\n";
    if (mlp.layer_exponents) o << describe_exponents(q, mlp);
  }
  o << "overflow: margin " << std::setprecision(1) << mlp.overflow.activation_margin_bits
    << " bits (int32 activations), " << mlp.overflow.accumulator_margin_bits
    << " bits (int64 accumulators); input ranges from " << r.ranges_source << "\n";
  int widened = 0, catalog = 0;
  for (size_t j = 0; j < mlp.inputs.size(); ++j) {
    const auto& in = mlp.inputs[j];
    widened += in.lo < in.data_lo || in.hi > in.data_hi;
    const auto info = find_feature(q.features[j]);
    catalog += info && in.lo == info->lo && in.hi == info->hi;
  }
  o << "clamp:    ";
  if (mlp.clamp_widest)
    o << "widened past the input ranges on " << widened << " of " << mlp.inputs.size() << " inputs (" << catalog
      << " to the catalog's bounds, i.e. never clamped); the kernel clamps only where int32 would overflow\n";
  else if (mlp.mode == QuantMode::Int8)
    o << "at the input ranges (int8 activation scales are derived from them)\n";
  else
    o << "at the input ranges (--clamp given)\n";
  return o.str();
}

// The tree's "leaves:" line.
std::string describe_scale_tree(const CompileResult& r) {
  const QuantModel& q = r.quant_model;
  std::ostringstream o;
  o << "leaves:   class weights x 2^" << q.b << (q.b_forced ? " (set by --scale-bits)" : "")
    << ", int32 logits; thresholds exact on the raw integer features"
    << (r.float_model.standardization ? " (standardization folded in)" : "") << "\n";
  return o.str();
}

}  // namespace

std::string describe_summary(const std::string& onnx_path, const CompileResult& r) {
  const QuantModel& q = r.quant_model;
  std::ostringstream o;
  o << std::fixed;
  o << "model:    " << onnx_path << " " << shape_string(q) << ", digest " << q.digest.substr(0, 16) << "\n";
  o << "features: ";
  for (int j = 0; j < q.n_inputs(); ++j) o << (j ? "," : "") << q.features[j];
  o << "\n";
  // By kind: how the integers were chosen, and what sizes the slot.
  std::string capacities;
  std::visit(Overloaded{[&](const QuantMlp& mlp) { o << describe_scale_mlp(r, mlp); },
                        [&](const QuantTreeEnsemble& t) {
                          o << describe_scale_tree(r);
                          capacities = " (node capacity " + std::to_string(t.node_capacity) + ", leaf capacity " +
                                       std::to_string(t.leaf_capacity) + ")";
                        }},
             q.kind);
  o << describe_agreement(r);
  o << "stages:   " << r.plan.stages.size() << " (budget " << r.plan.max_stage_insns << " insns each):";
  for (size_t k = 0; k < r.plan.stages.size(); ++k) o << (k ? "," : "") << " ~" << r.plan.stages[k].est_insns;
  o << "\n";
  o << describe_domain(r);
  o << "params:   " << r.layout.total_bytes << " bytes per slot x 2 slots" << capacities << "; BPF ISA " << r.mcpu
    << "\n";
  o << "time:     " << std::setprecision(3) << r.seconds << " s\n";
  return o.str();
}

Status write_artifact(const std::string& dir, const std::string& onnx_path, const CompileResult& r) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::runtime(dir + ": cannot create directory (" + ec.message() + ")");
  auto write = [&](const std::string& name, const std::string& data) -> Status {
    std::string tmp = dir + "/." + name + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) return Error::runtime(tmp + ": cannot write (" + std::strerror(errno) + ")");
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!out) return Error::runtime(tmp + ": write failed");
    }
    fs::rename(tmp, dir + "/" + name, ec);
    if (ec) return Error::runtime(dir + "/" + name + ": cannot rename (" + ec.message() + ")");
    return ok_status();
  };
  if (!onnx_path.empty()) {
    auto src = read_file(onnx_path);
    if (!src) return src.error();
    NNBPF_CHECK(write("source.onnx", *src));
  }
  NNBPF_CHECK(write("model.bpf.o", r.object));
  NNBPF_CHECK(write("manifest.json", manifest_text(make_manifest(r))));
  return ok_status();
}

}  // namespace nnbpf::compiler
