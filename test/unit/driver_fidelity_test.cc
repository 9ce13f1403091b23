// Compiler fidelity (docs/semantics.md#choosing-b, docs/compile.md#agreement):
// precision-first b, the agreement gate, nnbpf.calibration, and float vs
// integer verdicts on data and on a dense sample around the decision boundary.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include "compiler/driver/agreement.h"
#include "compiler/driver/pipeline.h"
#include "compiler/interp/reference.h"
#include "compiler/support/csv.h"

namespace nnbpf::compiler {
namespace {

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

const std::string kFixtures = NNBPF_FIXTURES_DIR;
const std::string kSource = NNBPF_SOURCE_DIR;

Result<CompileResult> compile_ir(const std::string& onnx, CompileOptions opts = {}) {
  opts.emit = EmitKind::Ir;  // no clang: quantize, gate, plan
  return compile_model(onnx, opts);
}

std::string repro_data() {
  const char* env = std::getenv("NNBPF_REPRO_DATA");
  return env ? env : kSource + "/../shared/data/ebpf-reproduction/flows.csv";
}

bool have_repro_data() {
  if (std::ifstream(repro_data()).good()) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") ADD_FAILURE() << "data set missing under CI: " << repro_data();
  return false;
}

TEST(PrecisionFirst, Port8080KeepsItsDecision) {
  auto r = compile_ir(kFixtures + "/fid_port8080.onnx");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const QuantModel& q = r->quant_model;
  EXPECT_FALSE(q.b_forced);
  EXPECT_EQ(q.mlp().b_uniform, q.mlp().b_safe - 1);  // the default 1-bit margin
  EXPECT_GE(q.b, 12);  // 11 bits tell port 8079 from 8080 at 1/1000
  // Per layer (docs/semantics.md#per-layer): raised from the uniform b, never below.
  EXPECT_GE(q.b, q.mlp().b_uniform);
  for (size_t k = 0; k < q.mlp().layers.size(); ++k) EXPECT_GE(q.layer_exponent(k), q.mlp().b_uniform) << k;
  EXPECT_LE(q.b_ecdf, q.b);
  EXPECT_EQ(run_reference(q, {8079, 5}).verdict, 0);
  EXPECT_EQ(run_reference(q, {8080, 5}).verdict, 1);
  EXPECT_EQ(run_float(r->float_model, {8080, 5}).verdict, 1);
  EXPECT_EQ(r->agreement.source, "model metadata nnbpf.calibration");
  EXPECT_EQ(r->agreement.rows, 500u);
  EXPECT_TRUE(r->agreement.passed);
  EXPECT_EQ(logit_frac_bits(q), q.layer_exponent(q.mlp().layers.size() - 1));
}

TEST(PrecisionFirst, MarginOptionAndForcedScale) {
  CompileOptions o;
  o.quant.margin_bits = 0;
  auto r0 = compile_ir(kFixtures + "/fid_port8080.onnx", o);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(r0->quant_model.mlp().b_uniform, r0->quant_model.mlp().b_safe);
  o.quant.margin_bits = 3;
  auto r3 = compile_ir(kFixtures + "/fid_port8080.onnx", o);
  ASSERT_TRUE(r3.ok()) << r3.error().message;
  EXPECT_EQ(r3->quant_model.mlp().b_uniform, r3->quant_model.mlp().b_safe - 3);
  // The scale the ECDF alone would pick is far too coarse for port 8080.
  CompileOptions f;
  f.quant.scale_bits = 10;
  f.allow_disagreement = true;
  auto r = compile_ir(kFixtures + "/fid_port8080.onnx", f);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->quant_model.b, 10);
  EXPECT_EQ(run_reference(r->quant_model, {8080, 5}).verdict, 0);  // the decision lost
  EXPECT_FALSE(r->agreement.passed);
  ASSERT_EQ(r->warnings.size(), 1u);
  ASSERT_TRUE(r->agreement.min_flipped_margin.has_value());
  EXPECT_LT(*r->agreement.min_flipped_margin, 0.01);
}

TEST(AgreementGate, RefusesALossyForcedScaleInOneLine) {
  CompileOptions f;
  f.quant.scale_bits = 10;
  auto r = compile_ir(kFixtures + "/fid_port8080.onnx", f);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_HAS(m, "fid_port8080.onnx: verdict agreement with the float model");
  EXPECT_HAS(m, "at b = 10 (--scale-bits)");
  EXPECT_HAS(m, "below --min-agreement 99.900%");
  EXPECT_HAS(m, "drop --scale-bits");
  EXPECT_HAS(m, "--allow-disagreement");
  f.min_agreement = 0.5;  // the threshold is the user's
  EXPECT_TRUE(compile_ir(kFixtures + "/fid_port8080.onnx", f).ok());
}

TEST(AgreementGate, FixturesPassWithNoFlags) {
  for (const char* name : {"fid_port8080", "fid_rules", "fid_bias"}) {
    auto r = compile_ir(kFixtures + "/" + name + ".onnx");
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    EXPECT_GE(r->agreement.agreement, 0.999) << name;
    // ... and on their data and boundary files.
    for (const char* what : {".data.csv", ".boundary.csv"}) {
      auto rows = read_feature_csv(kFixtures + "/" + name + what, r->float_model.features);
      ASSERT_TRUE(rows.ok()) << rows.error().message;
      Agreement a = measure_agreement(r->float_model, r->quant_model, rows->rows, 0.999);
      EXPECT_GE(a.agreement, 0.999) << name << what << ": " << a.agree << " of " << a.rows;
    }
  }
}

TEST(AgreementGate, SampledRowsWithoutCalibration) {
  // A linear model: no activation boundaries (its zero crossing is the decision itself).
  auto svm = compile_ir(kSource + "/examples/models/nnbpf-repro-svm.onnx");
  ASSERT_TRUE(svm.ok()) << svm.error().message;
  EXPECT_TRUE(svm->agreement.sampled);
  EXPECT_EQ(svm->agreement.sampled_boundary, 0u);
  EXPECT_GE(svm->agreement.agreement, 0.999);
  // Forced to the ECDF's b = 2 (the old default), the gate refuses it.
  CompileOptions f;
  f.quant.scale_bits = 2;
  auto lossy = compile_ir(kSource + "/examples/models/nnbpf-repro-svm.onnx", f);
  ASSERT_FALSE(lossy.ok());
  EXPECT_HAS(lossy.error().message, "sampled input ranges) at b = 2 (--scale-bits)");
  auto r = compile_ir(kSource + "/examples/models/nnbpf-repro-top6.onnx");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->agreement.sampled);
  EXPECT_EQ(r->agreement.source, "sampled input ranges");
  EXPECT_EQ(r->agreement.sampled_uniform, kSampledUniformRows);
  EXPECT_GT(r->agreement.sampled_boundary, 1000u);
  EXPECT_GE(r->agreement.agreement, 0.999);
  // The sample is deterministic and lies in the input ranges.
  auto rows = sample_input_rows(r->float_model, r->quant_model, 100, 60);
  auto again = sample_input_rows(r->float_model, r->quant_model, 100, 60);
  EXPECT_EQ(rows, again);
  for (const auto& row : rows)
    for (size_t j = 0; j < row.size(); ++j) {
      EXPECT_GE(row[j], r->quant_model.mlp().inputs[j].data_lo);
      EXPECT_LE(row[j], r->quant_model.mlp().inputs[j].data_hi);
    }
}

TEST(CalibrationMetadata, ParsesAndRefusesInOneLine) {
  auto ok = parse_calibration_text("fwd_pkt_count,dst_port,label\n3,80,0\n\n5,443.0,1\n", {"dst_port", "fwd_pkt_count"});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0], (std::vector<uint64_t>{80, 3}));
  EXPECT_EQ((*ok)[1], (std::vector<uint64_t>{443, 5}));
  auto missing = parse_calibration_text("dst_port\n80\n", {"dst_port", "fwd_pkt_count"});
  ASSERT_FALSE(missing.ok());
  EXPECT_HAS(missing.error().message, "metadata nnbpf.calibration: line 1: no column 'fwd_pkt_count'");
  auto bad = parse_calibration_text("dst_port\n80\n-1\n", {"dst_port"});
  ASSERT_FALSE(bad.ok());
  EXPECT_HAS(bad.error().message, "line 3: column 'dst_port': not a non-negative integer: '-1'");
  auto ragged = parse_calibration_text("dst_port,x\n80\n", {"dst_port"});
  ASSERT_FALSE(ragged.ok());
  EXPECT_HAS(ragged.error().message, "line 2: 1 fields, the header has 2");
  EXPECT_FALSE(parse_calibration_text("dst_port\n", {"dst_port"}).ok());
}

// Rows around the float model's decision boundary: pairs of data rows with
// different float verdicts, bisected along the integer line between them;
// the 12 rows around each crossing.
std::vector<std::vector<uint64_t>> boundary_rows(const FloatModel& fm, const std::vector<std::vector<uint64_t>>& data,
                                                 size_t pairs, int64_t T) {
  std::vector<size_t> neg, pos;
  for (size_t i = 0; i < data.size(); ++i)
    (run_float(fm, std::vector<double>(data[i].begin(), data[i].end())).verdict ? pos : neg).push_back(i);
  std::vector<std::vector<uint64_t>> out;
  if (neg.empty() || pos.empty()) return out;
  std::mt19937_64 rng(5);
  auto at = [&](const std::vector<uint64_t>& a, const std::vector<uint64_t>& b, int64_t t) {
    std::vector<uint64_t> p(a.size());
    for (size_t j = 0; j < a.size(); ++j) {
      const __int128 num = (static_cast<__int128>(b[j]) - static_cast<__int128>(a[j])) * t;
      __int128 q = num / T, r = num % T;
      if (r < 0) r += T, q -= 1;  // floor
      p[j] = static_cast<uint64_t>(static_cast<__int128>(a[j]) + q + (2 * r >= T ? 1 : 0));
    }
    return p;
  };
  auto verdict = [&](const std::vector<uint64_t>& p) {
    return run_float(fm, std::vector<double>(p.begin(), p.end())).verdict;
  };
  for (size_t k = 0; k < pairs; ++k) {
    const auto& a = data[neg[rng() % neg.size()]];
    const auto& b = data[pos[rng() % pos.size()]];
    int64_t lo = 0, hi = T;
    while (hi - lo > 1) {
      const int64_t mid = (lo + hi) / 2;
      (verdict(at(a, b, mid)) ? hi : lo) = mid;
    }
    for (int64_t t = std::max<int64_t>(0, lo - 5); t <= std::min<int64_t>(T, hi + 5); ++t) out.push_back(at(a, b, t));
  }
  return out;
}

TEST(Fidelity, BundledSvmAndMlpOnDataAndBoundary) {
  if (!have_repro_data()) GTEST_SKIP() << "data set missing: " << repro_data();
  for (const char* name : {"nnbpf-repro-svm", "nnbpf-repro-top6"}) {
    auto r = compile_ir(kSource + "/examples/models/" + name + ".onnx");
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    auto data = read_feature_csv(repro_data(), r->float_model.features);
    ASSERT_TRUE(data.ok()) << data.error().message;
    Agreement on_data = measure_agreement(r->float_model, r->quant_model, data->rows, 0.999);
    EXPECT_EQ(on_data.rows, data->rows.size());
    EXPECT_GE(on_data.agreement, 0.999) << name << ": " << on_data.agree << " of " << on_data.rows << " at b = "
                                        << r->quant_model.b;
    // The crossing located to 1/1024 of the distance between two real flows,
    // and the 12 rows around it: >= 99.9 %.
    auto near = boundary_rows(r->float_model, data->rows, 300, 1 << 10);
    ASSERT_GT(near.size(), 3000u);
    Agreement on_boundary = measure_agreement(r->float_model, r->quant_model, near, 0.999);
    EXPECT_GE(on_boundary.agreement, 0.999) << name << ": boundary " << on_boundary.agree << " of "
                                            << on_boundary.rows << " at b = " << r->quant_model.b
                                            << ", flipped margins " << on_boundary.min_flipped_margin.value_or(-1)
                                            << " to " << on_boundary.max_flipped_margin.value_or(-1);
    // 64 times denser (1/65536): rows so close to the boundary that some
    // flip, but only near-ties: float margins below 1e-4 (the data's margins
    // are ~0.1-10), never a real decision.
    auto denser = boundary_rows(r->float_model, data->rows, 300, 1 << 16);
    Agreement on_denser = measure_agreement(r->float_model, r->quant_model, denser, 0.999);
    std::printf("%s: b = %d; data %zu/%zu; boundary (1/1024) %zu/%zu; boundary (1/65536) %zu/%zu, flipped float "
                "margins %.3g to %.3g\n",
                name, r->quant_model.b, on_data.agree, on_data.rows, on_boundary.agree, on_boundary.rows,
                on_denser.agree, on_denser.rows, on_denser.min_flipped_margin.value_or(0),
                on_denser.max_flipped_margin.value_or(0));
    EXPECT_LT(on_denser.max_flipped_margin.value_or(0), 1e-4) << name;
  }
}

}  // namespace
}  // namespace nnbpf::compiler
