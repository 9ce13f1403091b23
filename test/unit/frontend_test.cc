// The ONNX frontend: every fixture of test/fixtures/make_models.py loads to
// the right FloatModel (shapes, head, features, ranges, and the function,
// checked against outputs numpy computed when it wrote the fixture), and every
// bad fixture gives a one-line BadInput error naming what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "compiler/frontend/onnx_loader.h"
#include "compiler/ir/catalog.h"
#include "test/unit/frontend_fixtures.h"

namespace nnbpf::compiler {
namespace {

using namespace test;

const std::vector<std::string> kFeatures6 = {"fwd_pkt_len_max", "fwd_iat_max_ns", "fwd_pkt_len_min",
                                             "dst_port",        "fwd_header_len", "fwd_pkt_count"};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// ---- good models --------------------------------------------------------------

TEST(Frontend, LoadsMlp6) {
  const FloatModel m = load_ok("mlp_6_32_32_2.onnx");
  EXPECT_EQ(m.features, kFeatures6);
  const std::vector<DenseLayer>& layers = m.mlp().layers;
  ASSERT_EQ(layers.size(), 3u);
  const int widths[][2] = {{6, 32}, {32, 32}, {32, 2}};
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(layers[k].in, widths[k][0]);
    EXPECT_EQ(layers[k].out, widths[k][1]);
    EXPECT_EQ(layers[k].weight.size(), static_cast<size_t>(widths[k][0] * widths[k][1]));
    EXPECT_EQ(layers[k].bias.size(), static_cast<size_t>(widths[k][1]));
    EXPECT_EQ(layers[k].relu, k < 2);
    EXPECT_EQ(layers[k].origin, "fc" + std::to_string(k + 1));
  }
  EXPECT_EQ(m.inputs(), 6);
  EXPECT_EQ(m.outputs(), 2);
  EXPECT_EQ(m.head, Head::Logits);
  ASSERT_TRUE(m.standardization);
  const double mean[] = {500, 2e8, 60, 2000, 400, 15};
  const double sigma[] = {400, 5e8, 40, 8000, 600, 30};
  for (int j = 0; j < 6; ++j) {
    EXPECT_EQ(m.standardization->mean[j], mean[j]);
    EXPECT_DOUBLE_EQ(m.standardization->mul[j], 1.0 / sigma[j]);
  }
  ASSERT_EQ(m.input_ranges.size(), 6u);
  EXPECT_EQ(m.input_ranges[1].lo, 0);
  EXPECT_EQ(m.input_ranges[1].hi, 4e9);
  EXPECT_EQ(m.input_ranges[5].lo, 1);
  EXPECT_EQ(m.input_ranges[5].hi, 10000);
  EXPECT_EQ(m.opset, 13);
  EXPECT_EQ(m.producer, "nnbpf-fixtures");
  EXPECT_EQ(m.metadata.count("nnbpf.features"), 1u);
  EXPECT_EQ(m.metadata.count("nnbpf.input_ranges"), 1u);
  EXPECT_TRUE(m.digest.empty());
  expect_function(m, "mlp_6_32_32_2.expected.txt", 1e-9);
}

TEST(Frontend, LoadsMlp6NoBias) {
  const FloatModel m = load_ok("mlp_6_32_32_2_nobias.onnx");
  ASSERT_EQ(m.mlp().layers.size(), 3u);
  for (const auto& l : m.mlp().layers) EXPECT_TRUE(l.bias.empty());
  expect_function(m, "mlp_6_32_32_2_nobias.expected.txt", 1e-9);
}

TEST(Frontend, Loads24WideModel) {
  const FloatModel m = load_ok("mlp_24_128_128_128_2.onnx");
  ASSERT_EQ(m.features.size(), 24u);
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(m.features[i], feature_catalog()[i].name);
  ASSERT_EQ(m.mlp().layers.size(), 4u);
  EXPECT_EQ(m.inputs(), 24);
  EXPECT_EQ(m.mlp().layers[1].in, 128);
  EXPECT_EQ(m.mlp().layers[3].out, 2);
  EXPECT_EQ(m.input_ranges.size(), 24u);
  ASSERT_TRUE(m.standardization);
  expect_function(m, "mlp_24_128_128_128_2.expected.txt", 1e-9);
}

// ---- equivalent forms ---------------------------------------------------------

struct FormCase {
  const char* file;
  Head head;
  double tol;  // forms storing 1/sigma in float32 differ by its rounding
};

class FrontendForms : public ::testing::TestWithParam<FormCase> {};

TEST_P(FrontendForms, SameFunctionAsReference) {
  const FormCase& c = GetParam();
  const FloatModel ref = load_ok("form_gemm_transb1.onnx");
  const FloatModel m = load_ok(c.file);
  const std::vector<DenseLayer>& layers = m.mlp().layers;
  const std::vector<DenseLayer>& want = ref.mlp().layers;
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(m.features, kFeatures6);
  EXPECT_EQ(m.input_ranges.size(), 6u);
  EXPECT_EQ(m.head, c.head);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(layers[k].in, want[k].in);
    EXPECT_EQ(layers[k].out, want[k].out);
    EXPECT_EQ(layers[k].relu, want[k].relu);
    EXPECT_EQ(layers[k].bias.size(), want[k].bias.size());
    for (size_t i = 0; i < want[k].weight.size(); ++i)
      EXPECT_NEAR(layers[k].weight[i], want[k].weight[i], 1e-6);
    for (size_t i = 0; i < want[k].bias.size(); ++i)
      EXPECT_NEAR(layers[k].bias[i], want[k].bias[i], 1e-6);
  }
  ASSERT_TRUE(m.standardization);
  for (int j = 0; j < 6; ++j) {
    EXPECT_NEAR(m.standardization->mean[j], ref.standardization->mean[j],
                1e-6 * std::fabs(ref.standardization->mean[j]));
    EXPECT_NEAR(m.standardization->mul[j], ref.standardization->mul[j],
                1e-6 * std::fabs(ref.standardization->mul[j]));
  }
  expect_function(m, "forms.expected.txt", c.tol);
  // And on random inputs, against the reference form.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int t = 0; t < 200; ++t) {
    std::vector<double> x(6);
    for (int j = 0; j < 6; ++j) x[j] = u(rng) * 4 * ref.standardization->mean[j];
    const auto a = eval_mlp(ref, x), b = eval_mlp(m, x);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6 * (1 + std::fabs(a[i])));
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, FrontendForms,
    ::testing::Values(FormCase{"form_gemm_transb1.onnx", Head::Logits, 1e-9},
                      FormCase{"form_gemm_transb0.onnx", Head::Logits, 1e-9},
                      FormCase{"form_gemm_alpha_beta.onnx", Head::Logits, 1e-9},
                      FormCase{"form_matmul_add.onnx", Head::Logits, 1e-9},
                      FormCase{"form_scaler.onnx", Head::Logits, 1e-6},
                      FormCase{"form_sub_mul.onnx", Head::Logits, 1e-6},
                      FormCase{"form_softmax.onnx", Head::Softmax, 1e-9},
                      FormCase{"form_logsoftmax.onnx", Head::LogSoftmax, 1e-9},
                      FormCase{"form_argmax.onnx", Head::ArgMax, 1e-9},
                      FormCase{"form_flatten_reshape_identity.onnx", Head::Logits, 1e-9},
                      FormCase{"form_opset11.onnx", Head::Logits, 1e-9},
                      FormCase{"form_opset18.onnx", Head::Logits, 1e-9},
                      FormCase{"form_constant_nodes.onnx", Head::Logits, 1e-9},
                      FormCase{"form_double.onnx", Head::Logits, 1e-9},
                      FormCase{"form_int_input_cast.onnx", Head::Logits, 1e-9}),
    [](const auto& info) {
      std::string s = info.param.file;
      s = s.substr(5, s.size() - 10);  // form_X.onnx -> X
      return s;
    });

TEST(Frontend, FormDetails) {
  EXPECT_EQ(load_ok("form_matmul_add.onnx").mlp().layers[0].origin, "mm1+add1");
  EXPECT_EQ(load_ok("form_opset11.onnx").opset, 11);
  EXPECT_EQ(load_ok("form_opset18.onnx").opset, 18);
}

TEST(Frontend, StandardizationOneOpAtATime) {
  const FloatModel div = load_ok("std_div_only.onnx");
  ASSERT_TRUE(div.standardization);
  const double d[] = {4, 8, 0, 2, 0.5, 1};
  for (int j = 0; j < 6; ++j) {
    EXPECT_EQ(div.standardization->mean[j], 0);
    EXPECT_EQ(div.standardization->mul[j], d[j] == 0 ? 0.0 : 1.0 / d[j]);  // sigma 0 -> mul 0
  }
  const FloatModel mul = load_ok("std_mul_only.onnx");
  const double k[] = {0.25, 2, 0, 1, 3, 1};
  for (int j = 0; j < 6; ++j) {
    EXPECT_EQ(mul.standardization->mean[j], 0);
    EXPECT_EQ(mul.standardization->mul[j], k[j]);
  }
  const FloatModel sub = load_ok("std_sub_only.onnx");
  for (int j = 0; j < 6; ++j) {
    EXPECT_EQ(sub.standardization->mean[j], j + 1);
    EXPECT_EQ(sub.standardization->mul[j], 1);
  }
}

// ---- feature binding ------------------------------------------------------------

TEST(Frontend, FeaturesOptionWinsOverMetadata) {
  FrontendOptions opts;
  opts.features = {"dst_port",        "fwd_pkt_count",   "fwd_bytes_total",
                   "fwd_pkt_len_max", "fwd_pkt_len_min", "fwd_pkt_len_std"};
  EXPECT_EQ(load_ok("mlp_6_32_32_2.onnx", opts).features, opts.features);
  EXPECT_EQ(load_ok("bad_no_features.onnx", opts).features, opts.features);
  EXPECT_EQ(load_ok("bad_feature_name.onnx", opts).features, opts.features);
}

TEST(Frontend, FeaturesOptionChecked) {
  auto expect_error = [](std::vector<std::string> features, std::vector<std::string> words) {
    FrontendOptions opts;
    opts.features = std::move(features);
    auto r = load_onnx_file(fixture("mlp_6_32_32_2.onnx"), opts);
    ASSERT_FALSE(r.ok());
    for (const auto& w : words)
      EXPECT_NE(r.error().message.find(w), std::string::npos) << r.error().message;
  };
  expect_error({"dst_port", "nope", "fwd_bytes_total", "fwd_pkt_len_max", "fwd_pkt_len_min",
                "fwd_pkt_len_std"},
               {"--features", "'nope'"});
  expect_error({"dst_port", "fwd_pkt_count"}, {"2 features", "6 input columns"});
  expect_error({"a", "b"}, {"--features", "unknown feature 'a'"});  // names before the count
  expect_error({"dst_port", "dst_port", "fwd_bytes_total", "fwd_pkt_len_max", "fwd_pkt_len_min",
                "fwd_pkt_len_std"},
               {"'dst_port'", "more than one"});
}

// ---- bad inputs --------------------------------------------------------------------

struct BadCase {
  const char* file;
  std::vector<std::string> words;  // each must appear in the message
};

class FrontendBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(FrontendBad, OneLineErrorWithKeyWords) {
  const BadCase& c = GetParam();
  const std::string path = fixture(c.file);
  auto r = load_onnx_file(path, {});
  ASSERT_FALSE(r.ok()) << c.file << " loaded";
  const std::string& msg = r.error().message;
  EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
  for (const auto& w : c.words)
    EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
}

INSTANTIATE_TEST_SUITE_P(
    All, FrontendBad,
    ::testing::Values(
        BadCase{"bad_truncated.onnx", {"not a valid ONNX model"}},
        BadCase{"bad_not_onnx.onnx", {"not a valid ONNX model"}},
        BadCase{"bad_unsupported_op.onnx",
                {"node 'act1' (Sigmoid)", "unsupported op", "Gemm", "Relu"}},
        BadCase{"bad_nan_weight.onnx", {"node 'fc1' (Gemm)", "'fc1.weight'", "NaN", "[3,2]"}},
        BadCase{"bad_feature_name.onnx",
                {"'fwd_pkt_len_maxx'", "nnbpf.features", "catalog", "docs/features.md",
                 "did you mean 'fwd_pkt_len_max'"}},
        BadCase{"bad_shape.onnx", {"node 'fc2' (Gemm)", "[2,7]", "[batch,8]"}},
        BadCase{"bad_nonconst_weight.onnx",
                {"node 'fc1' (Gemm)", "'fc1.weight'", "graph input", "constant"}},
        BadCase{"bad_too_wide.onnx", {"node 'fc1' (Gemm)", "300", "256", "kMaxWidth"}},
        BadCase{"bad_too_deep.onnx", {"node 'fc17' (Gemm)", "16", "kMaxLayers"}},
        BadCase{"bad_no_features.onnx", {"nnbpf.features", "--features"}},
        BadCase{"bad_feature_count.onnx", {"5 features", "6 input columns"}},
        BadCase{"bad_input_ranges.onnx", {"nnbpf.input_ranges", "entry 2", "'0-65535'", "lo:hi"}},
        BadCase{"bad_opset.onnx", {"opset 7", "11", "18"}},
        BadCase{"bad_after_head.onnx", {"node 'after_head' (Relu)", "Softmax", "'head'"}},
        BadCase{"bad_transa.onnx", {"node 'fc1' (Gemm)", "transA"}},
        BadCase{"bad_branch.onnx", {"'x'", "2 nodes", "single chain"}},
        BadCase{"bad_inf_std.onnx", {"node 'std_div' (Div)", "'std.sigma'", "Inf"}}),
    [](const auto& info) {
      std::string s = info.param.file;
      return s.substr(4, s.size() - 9);  // bad_X.onnx -> X
    });

TEST(Frontend, MissingFile) {
  auto r = load_onnx_file(fixture("does_not_exist.onnx"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
  EXPECT_NE(r.error().message.find("does_not_exist.onnx: cannot open"), std::string::npos)
      << r.error().message;
  r = load_onnx_file(NNBPF_FIXTURES_DIR, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot open"), std::string::npos) << r.error().message;
}

TEST(Frontend, BytesUseTheGivenName) {
  auto r = load_onnx_bytes("", "mem.onnx", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("mem.onnx: not a valid ONNX model", 0), 0u)
      << r.error().message;
  r = load_onnx_bytes(read_bytes(fixture("mlp_6_32_32_2.onnx")), "mem.onnx", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mlp().layers.size(), 3u);
}

// Prefixes and byte flips of a valid model: never a crash, errors one line.
TEST(Frontend, CorruptedBytesNeverCrash) {
  const std::string good = read_bytes(fixture("mlp_6_32_32_2.onnx"));
  ASSERT_FALSE(good.empty());
  auto check = [](const std::string& bytes) {
    auto r = load_onnx_bytes(bytes, "m", {});
    if (r.ok()) {
      EXPECT_FALSE(r->mlp().layers.empty());
    } else {
      EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
      EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
    }
  };
  for (size_t n = 0; n < good.size(); n += 13) check(good.substr(0, n));
  std::mt19937 rng(1);
  for (int t = 0; t < 500; ++t) {
    std::string b = good;
    for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    check(b);
  }
}

}  // namespace
}  // namespace nnbpf::compiler
