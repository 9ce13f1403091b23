#include "test/kernel/framework/models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <utility>

namespace nnbpf::testing {

namespace {

// Owns the temporary directory of the compiled models; gtest removes it
// after the last test.
class ModelDir : public ::testing::Environment {
 public:
  static std::string path() {
    if (root_.empty()) {
      char tmpl[] = "/tmp/nnbpf-xdp-fixtures.XXXXXX";
      if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp /tmp/nnbpf-xdp-fixtures.XXXXXX");
      root_ = tmpl;
    }
    return root_;
  }
  void TearDown() override {
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }

 private:
  static inline std::string root_;
};

const auto* g_model_dir = ::testing::AddGlobalTestEnvironment(new ModelDir);

}  // namespace

const compiler::Artifact& compiled(const std::string& onnx) {
  static std::map<std::string, compiler::Artifact> cache;
  auto it = cache.find(onnx);
  if (it != cache.end()) return it->second;
  const bool capture = onnx == kCapturePipeline;
  std::string dir = ModelDir::path() + "/" + std::to_string(cache.size());
  auto r = capture ? compiler::compile_capture() : compiler::compile_model(onnx, compiler::CompileOptions{});
  if (!r) throw std::runtime_error("compile " + onnx + ": " + r.error().message);
  auto st = compiler::write_artifact(dir, capture ? "" : onnx, *r);
  if (!st) throw std::runtime_error("write " + dir + ": " + st.error().message);
  auto a = compiler::load_artifact(dir);
  if (!a) throw std::runtime_error("load " + dir + ": " + a.error().message);
  return cache.emplace(onnx, std::move(*a)).first->second;
}

std::string top6_model() { return std::string(NNBPF_FIXTURES_DIR) + "/mlp_6_32_32_2.onnx"; }
std::string repro_model() { return std::string(NNBPF_SOURCE_DIR) + "/examples/models/nnbpf-repro-top6.onnx"; }
std::string feat24_model() { return std::string(NNBPF_FIXTURES_DIR) + "/feat24_tiny.onnx"; }

compiler::QuantModel always_intrusion(const compiler::QuantModel& m) {
  auto q = m;
  auto& last = q.mlp().layers.back();
  std::fill(last.weight.begin(), last.weight.end(), 0);
  last.bias.assign(last.out, 0);
  last.bias[0] = -(1 << q.b);
  last.bias[1] = 1 << q.b;
  last.has_bias = true;
  return q;
}

compiler::QuantModel always_benign(const compiler::QuantModel& m) {
  auto q = always_intrusion(m);
  std::swap(q.mlp().layers.back().bias[0], q.mlp().layers.back().bias[1]);
  return q;
}

}  // namespace nnbpf::testing
