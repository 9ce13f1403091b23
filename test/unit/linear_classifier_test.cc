// ai.onnx.ml LinearClassifier (test/fixtures/make_linear_models.py): the
// loaded dense layer computes the scores the ONNX reference implementation
// defines (binary single row: [-z, z]), the label output ends the chain with
// an ArgMax head, the one-layer Gemm form is the same function, and every
// malformed node gives a one-line error naming the node and the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/frontend/onnx_loader.h"
#include "test/unit/frontend_fixtures.h"

namespace nnbpf::compiler {
namespace {

using namespace test;

// The scores of the ONNX reference implementation, within 1e-5.
void expect_function(const FloatModel& m, const std::string& expected) { test::expect_function(m, expected, 1e-5); }


TEST(LinearClassifier, BinarySingleRowScoresMinusZAndZ) {
  const FloatModel m = load_ok("linear_binary.onnx");
  ASSERT_EQ(m.mlp().layers.size(), 1u);
  const DenseLayer& l = m.mlp().layers[0];
  EXPECT_EQ(l.in, 6);
  EXPECT_EQ(l.out, 2);
  EXPECT_FALSE(l.relu);
  EXPECT_EQ(m.head, Head::Logits);
  ASSERT_TRUE(m.standardization.has_value());
  for (int j = 0; j < 6; ++j) EXPECT_EQ(l.w(0, j), -l.w(1, j));
  EXPECT_EQ(l.bias[0], -l.bias[1]);
  expect_function(m, "linear_binary.expected.txt");
}

TEST(LinearClassifier, LabelOutputIsArgMaxHead) {
  const FloatModel m = load_ok("linear_binary_label.onnx");
  EXPECT_EQ(m.head, Head::ArgMax);
  expect_function(m, "linear_binary.expected.txt");
}

TEST(LinearClassifier, GemmFormIsTheSameFunction) {
  const FloatModel m = load_ok("linear_binary_gemm.onnx");
  ASSERT_EQ(m.mlp().layers.size(), 1u);
  expect_function(m, "linear_binary.expected.txt");
}

TEST(LinearClassifier, MultiClassAndNoIntercepts) {
  const FloatModel m = load_ok("linear_multi3.onnx");
  EXPECT_EQ(m.mlp().layers[0].out, 3);
  expect_function(m, "linear_multi3.expected.txt");
  const FloatModel n = load_ok("linear_binary_nointercept.onnx");
  EXPECT_TRUE(n.mlp().layers[0].bias.empty());
}

struct BadCase {
  const char* file;
  std::vector<std::string> words;
};

class LinearBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(LinearBad, OneLineError) {
  const BadCase& c = GetParam();
  auto r = load_onnx_file(fixture(c.file), {});
  ASSERT_FALSE(r.ok()) << c.file << " loaded";
  const std::string& msg = r.error().message;
  EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find("node 'linear' (LinearClassifier)"), std::string::npos) << msg;
  for (const auto& w : c.words) EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
}

INSTANTIATE_TEST_SUITE_P(
    All, LinearBad,
    ::testing::Values(BadCase{"bad_linear_labels.onnx", {"classlabels_ints", "0, 1, ..., N-1", "label 0 is 1"}},
                      BadCase{"bad_linear_coef_count.onnx", {"7 values", "multiple of the 6"}},
                      BadCase{"bad_linear_rows.onnx", {"2 rows", "3 class labels"}},
                      BadCase{"bad_linear_post_transform.onnx", {"post_transform 'LOGISTIC'", "NONE"}},
                      BadCase{"bad_linear_intercepts.onnx", {"'intercepts' has 2 values", "1 coefficient rows"}}),
    [](const auto& info) {
      std::string s = info.param.file;
      return s.substr(11, s.size() - 16);  // bad_linear_X.onnx -> X
    });

}  // namespace
}  // namespace nnbpf::compiler
