// nnbpf compile | check | infer.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <type_traits>

#include "commands.h"
#include "compiler/driver/pipeline.h"
#include "compiler/interp/reference.h"
#include "compiler/passes/plan_stages.h"
#include "compiler/support/csv.h"
#include "nnbpf/abi.h"
#include "runtime/pipeline_loader.h"

namespace nnbpf::cli {

namespace {

using compiler::Artifact;
using compiler::CompileOptions;
using compiler::CompileResult;
using nlohmann::json;

constexpr int64_t kVerifierInsnLimit = 1000000;
constexpr int kStackLimit = 512;
constexpr int kTailCallLimit = 33;


// ---------------------------------------------------------------- compile
struct CompileArgs {
  std::string model;
  std::string out;
  std::vector<std::string> features;
  int scale_bits = -1;
  double alpha = 0.005;
  std::string calibration;
  std::string protocols;
  int64_t max_stage_insns = compiler::kDefaultMaxStageInsns;
  std::string isa = "auto";
  std::string quant = "int32";
  std::string clamp = "widest";
  std::string emit = "obj";
  bool json = false;
  double min_agreement = 0.999;
  bool allow_disagreement = false;
  int margin_bits = 1;
};

void do_compile(const CompileArgs& a) {
  CompileOptions opts;
  opts.frontend.features = a.features;
  if (a.scale_bits >= 0) opts.quant.scale_bits = a.scale_bits;
  opts.quant.alpha = a.alpha;
  opts.quant.margin_bits = a.margin_bits;
  opts.min_agreement = a.min_agreement;
  opts.allow_disagreement = a.allow_disagreement;
  opts.quant.mode = a.quant == "int8" ? compiler::QuantMode::Int8 : compiler::QuantMode::Int32;
  if (!a.calibration.empty()) opts.calibration_csv = a.calibration;
  if (!a.protocols.empty()) opts.protocols = a.protocols;
  opts.quant.widen_clamp = a.clamp == "widest";
  opts.max_stage_insns = a.max_stage_insns;
  opts.mcpu = a.isa;
  opts.emit = a.emit == "obj" ? compiler::EmitKind::Obj
              : a.emit == "c" ? compiler::EmitKind::C
                              : compiler::EmitKind::Ir;
  if (opts.emit == compiler::EmitKind::Obj && a.out.empty())
    return report("compile", Error::bad_input("-o DIR is required (the output directory)"));

  auto r = compiler::compile_model(a.model, opts);
  if (!r) return report("compile", r.error());
  for (const std::string& w : r->warnings) std::cerr << "nnbpf compile: warning: " << w << "\n";

  if (opts.emit != compiler::EmitKind::Obj) {
    std::string text = opts.emit == compiler::EmitKind::C ? r->c_source : compiler::describe_ir(*r);
    if (a.out.empty() || a.out == "-") {
      std::cout << text;
    } else {
      std::ofstream f(a.out);
      if (!f) return report("compile", Error::runtime(a.out + ": cannot write"));
      f << text;
    }
    return;
  }
  auto st = compiler::write_artifact(a.out, a.model, *r);
  if (!st) return report("compile", st.error());
  if (a.json) {
    json j = compiler::make_manifest(*r);
    j["compile_seconds"] = r->seconds;
    j["out_dir"] = a.out;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << compiler::describe_summary(a.model, *r);
    std::cout << "wrote:    " << a.out << "/model.bpf.o, " << a.out << "/manifest.json\n";
  }
}

// ---------------------------------------------------------------- check
struct CheckArgs {
  std::string dir;
  bool json = false;
  bool verbose = false;
};

void print_static_estimate(const Artifact& art, bool as_json) {
  const auto& stages = art.manifest.stages;
  bool fits = true;
  for (const auto& st : stages) fits = fits && st.est_insns <= kVerifierInsnLimit;
  if (as_json) {
    json j;
    j["verified"] = false;
    j["static_estimate"] = true;
    j["ok"] = false;
    j["estimate_fits"] = fits;
    j["agreement"] = art.manifest.agreement ? json(*art.manifest.agreement) : json(nullptr);
    j["stages"] = stages;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "STATIC ESTIMATE (not verified by the kernel):\n";
  for (const auto& st : stages)
    std::cout << "  " << std::left << std::setw(18) << st.name << std::right << " ~" << st.est_insns
              << " insns (limit " << kVerifierInsnLimit << ")\n";
  std::cout << "estimate: " << (fits ? "fits" : "does NOT fit") << " the verifier's instruction limit\n";
}

// What nnbpf check reports: the loaded programs' verifier statistics, the
// tail-call chain's length and the test run of the chain.
struct CheckReport {
  const Artifact& art;
  const std::vector<runtime::ProgramStats>& programs;
  int chain = 0;  // entry + stages + finish
  bool ok = false;
  std::optional<std::string> run_error;  // the test run's, if it failed
};

void print_check_json(const CheckReport& c) {
  const compiler::Manifest& m = c.art.manifest;
  json programs = json::array();
  for (const auto& st : c.programs)
    programs.push_back({{"name", st.name},
                        {"verified_insns", st.verified_insns},
                        {"insns", st.insns},
                        {"stack_bytes", st.stack_depth},
                        {"jited_bytes", st.jited_bytes},
                        {"verify_usec", st.verify_usec}});
  json j;
  j["ok"] = c.ok;
  j["verified"] = true;
  j["programs"] = programs;
  j["tail_call_chain"] = c.chain;
  j["limits"] = {{"verified_insns", kVerifierInsnLimit}, {"stack_bytes", kStackLimit}, {"tail_call_chain", kTailCallLimit}};
  j["bpf_isa"] = c.art.mcpu;
  j["agreement"] = m.agreement ? json(*m.agreement) : json(nullptr);
  j["quant"] = {{"mode", m.quant.mode}, {"b", m.quant.b}, {"logit_frac_bits", m.quant.logit_frac_bits}};
  if (m.quant.layer_b) j["quant"]["layer_b"] = *m.quant.layer_b;  // docs/semantics.md#per-layer
  if (c.run_error) j["test_run_error"] = *c.run_error;
  std::cout << j.dump(2) << "\n";
}

void print_check_text(const CheckReport& c) {
  std::cout << std::left << std::setw(20) << "program" << std::right << std::setw(16) << "verified_insns"
            << std::setw(10) << "insns" << std::setw(8) << "stack" << std::setw(12) << "jited_bytes"
            << std::setw(12) << "verify_us" << "\n";
  for (const auto& st : c.programs)
    std::cout << std::left << std::setw(20) << st.name << std::right << std::setw(16) << st.verified_insns
              << std::setw(10) << st.insns << std::setw(8) << st.stack_depth << std::setw(12) << st.jited_bytes
              << std::setw(12) << st.verify_usec << "\n";
  std::cout << "limits: " << kVerifierInsnLimit << " verified insns per program, " << kStackLimit
            << " B stack, tail-call chain " << c.chain << " of " << kTailCallLimit << "; BPF ISA " << c.art.mcpu
            << "\n";
  if (const auto& ag = c.art.manifest.agreement) {
    std::cout << "agreement: float vs integer verdicts " << std::fixed << std::setprecision(3)
              << 100.0 * ag->agreement << "% of " << ag->rows << " rows (" << ag->source
              << "), largest logit error " << std::setprecision(6) << ag->max_logit_error << std::defaultfloat
              << "\n";
  }
  std::cout << "result: " << (c.ok ? "PASS" : "FAIL") << " (" << c.programs.size() << " programs, "
            << c.art.stage_names.size() << " inference stages)\n";
}

void do_check(const CheckArgs& a) {
  auto art = compiler::load_artifact(a.dir);
  if (!art) return report("check", art.error());
  if (!runtime::have_bpf_privileges()) {
    print_static_estimate(*art, a.json);
    return report("check", Error::runtime("no privileges to load BPF programs (run as root or with CAP_BPF, "
                                          "CAP_NET_ADMIN, CAP_PERFMON); printed a static estimate instead"));
  }
  runtime::LoadOptions lo;
  lo.collect_stats = true;
  lo.verbose = a.verbose;
  auto p = runtime::LoadedPipeline::load(*art, lo);
  if (!p) {
    if (a.json) std::cout << json{{"ok", false}, {"error", p.error().message}}.dump(2) << "\n";
    return report("check", p.error());
  }
  // A real run of the chain on a zero vector proves the tail calls are wired.
  std::vector<uint64_t> zeros(art->model.n_inputs(), 0);
  auto run = (*p)->run(zeros);
  CheckReport c{*art, (*p)->stats(), static_cast<int>(art->stage_names.size()) + 2, false, std::nullopt};
  if (!run) c.run_error = run.error().message;
  c.ok = run.ok() && c.chain <= kTailCallLimit;
  for (const auto& st : c.programs)
    c.ok = c.ok && st.verified_insns <= kVerifierInsnLimit && st.stack_depth <= kStackLimit;
  if (a.json)
    print_check_json(c);
  else
    print_check_text(c);
  if (!run) return report("check", run.error().with_context("test run of the loaded chain failed: "));
  if (!c.ok) return report("check", Error::runtime("a program exceeds a verifier limit"));
}

// ---------------------------------------------------------------- infer
struct InferArgs {
  std::string dir;
  std::string input;
  std::string engine = "kernel";
  int repeat = 1;
  bool verbose = false;
};

// One CSV line: the verdict, then the logits.
template <class Logits>
void append_row(std::string& out, int verdict, const Logits& logits, const char* fmt) {
  char line[512];
  int n = std::snprintf(line, sizeof line, "%d", verdict);
  for (auto v : logits) {
    if constexpr (std::is_floating_point_v<std::decay_t<decltype(v)>>)
      n += std::snprintf(line + n, sizeof line - n, fmt, v);
    else
      n += std::snprintf(line + n, sizeof line - n, fmt, static_cast<long long>(v));
  }
  out.append(line, n).push_back('\n');
}

void infer_reference(const Artifact& art, const FeatureRows& rows, std::string& out) {
  for (const auto& r : rows.rows) {
    auto inf = compiler::run_reference(art.model, r);
    append_row(out, inf.verdict, inf.logits, ",%lld");
  }
}

Status infer_float(const Artifact& art, const FeatureRows& rows, std::string& out) {
  compiler::FrontendOptions fo;
  fo.features = art.model.features;
  NNBPF_TRY(fm, compiler::load_onnx_file(art.source_onnx, fo));
  for (const auto& r : rows.rows) {
    std::vector<double> x(r.begin(), r.end());
    auto inf = compiler::run_float(fm, x);
    append_row(out, inf.verdict, inf.flogits, ",%.9g");
  }
  return ok_status();
}

Status infer_kernel(const Artifact& art, const FeatureRows& rows, const InferArgs& a, std::string& out) {
  if (!runtime::have_bpf_privileges())
    return Error::runtime("--engine kernel needs root or CAP_BPF to load the programs "
                          "(use --engine reference for the same integer semantics in user space)");
  runtime::LoadOptions lo;
  lo.verbose = a.verbose;
  NNBPF_TRY(p, runtime::LoadedPipeline::load(art, lo));
  std::vector<uint64_t> durations, chain;
  durations.reserve(rows.rows.size());
  for (size_t i = 0; i < rows.rows.size(); ++i) {
    auto r = p->run(rows.rows[i], a.repeat);
    if (!r) return r.error().with_context(a.input + ":" + std::to_string(rows.line_numbers[i]) + ": ");
    durations.push_back(r->duration_ns);
    chain.push_back(r->chain_ns);
    append_row(out, r->verdict, r->logits, ",%lld");
  }
  if (!durations.empty()) {
    auto median = [](std::vector<uint64_t> v) {
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      return v[v.size() / 2];
    };
    std::fprintf(stderr,
                 "nnbpf infer: %zu rows in the kernel (%zu stages, BPF ISA %s): median %llu ns per inference "
                 "(BPF_PROG_TEST_RUN, repeat %d), median %llu ns entry-to-finish\n",
                 durations.size(), art.stage_names.size(), art.mcpu.c_str(),
                 static_cast<unsigned long long>(median(durations)), a.repeat,
                 static_cast<unsigned long long>(median(chain)));
  }
  return ok_status();
}

void do_infer(const InferArgs& a) {
  auto art = compiler::load_artifact(a.dir);
  if (!art) return report("infer", art.error());
  auto rows = read_feature_csv(a.input, art->model.features);
  if (!rows) return report("infer", rows.error());
  // A CICFlowMeter file, or rows skipped: say what was read (as train.py does).
  const CsvReadReport& rr = rows->report;
  if (rr.dialect != "nnbpf" || rr.dropped_rows() || rr.header_repeats)
    std::fprintf(stderr, "nnbpf infer: %s: %s\n", a.input.c_str(), rr.summary().c_str());
  std::string out;
  out.reserve(rows->rows.size() * 24);
  Status st = ok_status();
  if (a.engine == "reference")
    infer_reference(*art, *rows, out);
  else if (a.engine == "float")
    st = infer_float(*art, *rows, out);
  else if (a.engine == "kernel")
    st = infer_kernel(*art, *rows, a, out);
  else
    st = Error::bad_input("unknown engine '" + a.engine + "' (kernel, reference or float)");
  if (!st) return report("infer", st.error());
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void register_compiler_commands(CLI::App& app) {
  auto ca = std::make_shared<CompileArgs>();
  auto* c = app.add_subcommand("compile", "Compile an ONNX MLP into an XDP/eBPF object and a manifest");
  c->add_option("model", ca->model, "ONNX model file")->required();
  c->add_option("-o,--out", ca->out, "output directory (or file / '-' with --emit c|ir)");
  c->add_option("--features", ca->features, "comma-separated catalog names, one per input (overrides nnbpf.features)")
      ->delimiter(',');
  c->add_option("--scale-bits", ca->scale_bits, "force b (s = 2^b) instead of the ECDF choice")->check(CLI::Range(0, 30));
  c->add_option("--alpha", ca->alpha, "ECDF threshold alpha (default 0.005)")->check(CLI::Range(0.0, 1.0));
  c->add_option("--calibration", ca->calibration,
                 "CSV of raw feature values: their ranges bound the inputs, and the agreement gate judges them "
                 "(default: the model's nnbpf.calibration rows, else rows sampled from the input ranges)");
  c->add_option("--overflow-margin-bits", ca->margin_bits,
                 "b = the largest b the overflow analysis proves safe less this many bits (default 1)")
      ->check(CLI::Range(0, 30));
  c->add_option("--min-agreement", ca->min_agreement,
                 "fail unless float and integer verdicts agree on this share of the calibration rows (default 0.999)")
      ->check(CLI::Range(0.0, 1.0));
  c->add_flag("--allow-disagreement", ca->allow_disagreement,
              "compile even below --min-agreement (a warning instead of an error)");
  c->add_option("--clamp", ca->clamp,
                 "widest (default: clamp inputs only where int32 would overflow at the chosen b) or given (clamp "
                 "at the calibration/metadata ranges)")
      ->check(CLI::IsMember({"widest", "given"}));
  c->add_option("--protocols", ca->protocols,
                 "the protocols the model judges, tcp and/or udp (overrides metadata nnbpf.protocols); flows of "
                 "other protocols are counted, never classified");
  c->add_option("--max-stage-insns", ca->max_stage_insns, "instruction budget per tail-call stage");
  c->add_option("--bpf-isa", ca->isa, "BPF ISA: auto (v4 on Linux >= 6.6, else v3), v3, v4")
      ->check(CLI::IsMember({"auto", "v2", "v3", "v4"}));
  c->add_option("--quant", ca->quant,
                 "int32 (default: the paper's fixed point, s = 2^b) or int8 (int8 weights and hidden activations, "
                 "per-layer scales)")
      ->check(CLI::IsMember({"int32", "int8"}));
  c->add_option("--emit", ca->emit, "what to write: obj (default), c, ir")->check(CLI::IsMember({"obj", "c", "ir"}));
  c->add_flag("--json", ca->json, "print the manifest as JSON");
  c->callback([ca] { do_compile(*ca); });

  auto ka = std::make_shared<CheckArgs>();
  auto* k = app.add_subcommand("check", "Load every stage into the running kernel and report verifier fit");
  k->add_option("dir", ka->dir, "directory written by nnbpf compile")->required();
  k->add_flag("--json", ka->json, "machine-readable output");
  k->add_flag("-v,--verbose", ka->verbose, "print libbpf's log");
  k->callback([ka] { do_check(*ka); });

  auto ia = std::make_shared<InferArgs>();
  auto* i = app.add_subcommand("infer", "Classify rows of raw feature values (verdict,logit0,logit1,...)");
  i->add_option("dir", ia->dir, "directory written by nnbpf compile")->required();
  i->add_option("--input", ia->input, "CSV with a header of feature names")->required();
  i->add_option("--engine", ia->engine, "kernel (BPF_PROG_TEST_RUN), reference or float")
      ->check(CLI::IsMember({"kernel", "reference", "float"}));
  i->add_option("--repeat", ia->repeat, "kernel engine: BPF_PROG_TEST_RUN repeat count per row")->check(CLI::Range(1, 1000000));
  i->add_flag("-v,--verbose", ia->verbose, "print libbpf's log");
  i->callback([ia] { do_infer(*ia); });
}

}  // namespace nnbpf::cli
