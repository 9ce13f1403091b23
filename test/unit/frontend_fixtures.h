// What the frontend's unit tests share: the fixtures of test/fixtures
// (make_models.py, make_tree_models.py, make_linear_models.py), their
// expected outputs, and the float function of an MLP in plain double.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/frontend/onnx_loader.h"

namespace nnbpf::compiler::test {

inline std::string fixture(const std::string& name) { return std::string(NNBPF_FIXTURES_DIR) + "/" + name; }

// The fixture loaded, or an empty model and a test failure.
inline FloatModel load_ok(const std::string& name, const FrontendOptions& opts = {}) {
  auto r = load_onnx_file(fixture(name), opts);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : FloatModel{};
}

struct Sample {
  std::vector<double> x;
  std::vector<double> y;
};

// "F N" then rows of F inputs and N outputs, as the generators write them.
inline std::vector<Sample> read_expected(const std::string& name) {
  std::ifstream f(fixture(name));
  int nf = 0, nout = 0;
  f >> nf >> nout;
  std::vector<Sample> out;
  while (true) {
    Sample s;
    s.x.resize(static_cast<size_t>(nf));
    s.y.resize(static_cast<size_t>(nout));
    for (auto& v : s.x) f >> v;
    for (auto& v : s.y) f >> v;
    if (!f) break;
    out.push_back(std::move(s));
  }
  return out;
}

// The float function of an MLP FloatModel, in double, independent of the compiler.
inline std::vector<double> eval_mlp(const FloatModel& m, std::vector<double> x) {
  if (m.standardization)
    for (size_t j = 0; j < x.size(); ++j) x[j] = (x[j] - m.standardization->mean[j]) * m.standardization->mul[j];
  for (const auto& l : m.mlp().layers) {
    std::vector<double> y(static_cast<size_t>(l.out));
    for (int i = 0; i < l.out; ++i) {
      double acc = l.bias.empty() ? 0.0 : l.bias[i];
      for (int j = 0; j < l.in; ++j) acc += l.w(i, j) * x[j];
      y[i] = l.relu && acc < 0 ? 0.0 : acc;
    }
    x = std::move(y);
  }
  return x;
}

// eval_mlp(m) against the expected outputs: every row within tol (relative).
inline void expect_function(const FloatModel& m, const std::string& expected, double tol) {
  const auto samples = read_expected(expected);
  ASSERT_GT(samples.size(), 10u);
  for (const auto& s : samples) {
    const auto y = eval_mlp(m, s.x);
    ASSERT_EQ(y.size(), s.y.size());
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], s.y[i], tol * (1 + std::fabs(s.y[i])));
  }
}

}  // namespace nnbpf::compiler::test
