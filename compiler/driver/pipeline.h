// The compile pipeline and its options: ONNX -> FloatModel -> QuantModel ->
// StagePlan -> BPF C -> BPF object + manifest; and reading a compiled
// artifact directory back (for check, infer, run, update, bench).
#pragma once

#include <optional>
#include <string>
#include <vector>


#include "compiler/codegen/params_layout.h"
#include "compiler/driver/artifact.h"
#include "compiler/driver/model_policy.h"
#include "compiler/driver/agreement.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/ir/model.h"
#include "compiler/passes/plan_stages.h"
#include "compiler/passes/quantize.h"

namespace nnbpf::compiler {

enum class EmitKind { Ir, C, Obj };

struct CompileOptions {
  FrontendOptions frontend;
  QuantOptions quant;
  std::optional<std::string> calibration_csv;  // --calibration
  std::optional<std::string> protocols;        // --protocols: overrides metadata nnbpf.protocols
  int64_t max_stage_insns = kDefaultMaxStageInsns;
  std::string mcpu = "auto";                   // auto | v3 | v4
  EmitKind emit = EmitKind::Obj;
  // The agreement gate (docs/compile.md#agreement): compile fails when the
  // float and integer verdicts agree on less than this share of the
  // calibration rows, unless allow_disagreement (then a warning).
  double min_agreement = 0.999;        // --min-agreement
  bool allow_disagreement = false;     // --allow-disagreement
};

struct CompileResult {
  FloatModel float_model;
  QuantModel quant_model;
  StagePlan plan;
  ParamLayout layout;
  std::string c_source;
  std::string object;      // ELF bytes (EmitKind::Obj)
  std::string mcpu;
  std::string ranges_source;  // "calibration CSV", "model metadata", "feature catalog bounds"
  ModelPolicy policy;         // domain, class names, operating point (manifest)
  std::string calibration_rows_source;  // "calibration CSV F", "model metadata nnbpf.calibration" or empty
  Agreement agreement;        // float vs integer reference (the gate)
  std::vector<std::string> warnings;  // one line each (--allow-disagreement)
  double seconds = 0;
};

Result<CompileResult> compile_model(const std::string& onnx_path, const CompileOptions& opts);

// The capture pipeline of nnbpf capture: every catalog feature in catalog
// order, no layers and no stages, so a flow's end goes from the XDP runtime's
// extraction straight to its finish program, whose event carries the
// features (bpf_rt/progs/xdp.bpf.c, NNBPF_N_STAGES == 0).
Result<CompileResult> compile_capture(const std::string& mcpu = "auto");

// Writes DIR/model.bpf.o, DIR/manifest.json and DIR/source.onnx (for the
// float engine; skipped when onnx_path is empty, as for a capture pipeline). Files are written to temporaries and renamed, so a failed
// compile never leaves a half-written artifact.
Status write_artifact(const std::string& dir, const std::string& onnx_path, const CompileResult& r);

// The manifest of a compiled model (compiler/driver/manifest.h).
Manifest make_manifest(const CompileResult& r);
std::string describe_ir(const CompileResult& r);  // --emit ir
std::string describe_summary(const std::string& onnx_path, const CompileResult& r);

// sha256 hex of bytes.
std::string sha256_hex(const std::string& bytes);

}  // namespace nnbpf::compiler
