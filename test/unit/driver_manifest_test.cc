// The typed manifest (compiler/driver/manifest.h): what nnbpf compile writes
// parses back into the same data and text, for each kind and branch of the
// file; a missing or mistyped key is refused with its path named.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>

#include "compiler/driver/artifact.h"
#include "compiler/driver/manifest.h"
#include "compiler/driver/pipeline.h"

namespace nnbpf::compiler {
namespace {

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kFixtures = NNBPF_FIXTURES_DIR;
const std::string kModels = std::string(NNBPF_SOURCE_DIR) + "/examples/models";

// A directory removed with the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/nnbpf-manifest-test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Compiles `onnx` into `dir` as nnbpf compile does.
void compile_to(const std::string& onnx, const std::string& dir, CompileOptions opts = {}) {
  auto r = compile_model(onnx, opts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto st = write_artifact(dir, onnx, *r);
  ASSERT_TRUE(st.ok()) << st.error().message;
}

// The written file parses into a Manifest whose JSON is the file's data and
// whose text is the file's text; load_artifact holds the same Manifest.
void expect_round_trip(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  auto text = read_file(path);
  ASSERT_TRUE(text.ok()) << text.error().message;
  auto m = parse_manifest(*text, path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(json(*m), json::parse(*text));
  EXPECT_EQ(manifest_text(*m), *text);
  auto art = load_artifact(dir);
  ASSERT_TRUE(art.ok()) << art.error().message;
  EXPECT_EQ(json(art->manifest), json::parse(*text));
}

TEST(Manifest, RoundTripsAnInt32Mlp) {
  TempDir d;
  CompileOptions opts;
  opts.protocols = "udp,tcp";  // protocols: an array, not null
  ASSERT_NO_FATAL_FAILURE(compile_to(kModels + "/nnbpf-repro-top6.onnx", d.path(), opts));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip(d.path()));
  auto art = load_artifact(d.path());
  ASSERT_TRUE(art.ok());
  const Manifest& m = art->manifest;
  EXPECT_EQ(m.kind, "mlp");
  EXPECT_EQ(m.quant.mode, "int32");
  ASSERT_TRUE(m.protocols.has_value());
  EXPECT_EQ(*m.protocols, (std::vector<std::string>{"tcp", "udp"}));
  ASSERT_FALSE(m.stages.empty());
  EXPECT_GT(m.stages[0].est_insns, 0);
  EXPECT_EQ(m.params.bytes_total, 2 * m.params.bytes_per_slot);
  ASSERT_EQ(m.inputs.size(), m.features.size());
  EXPECT_TRUE(m.inputs[0].data_lo.has_value());
}

TEST(Manifest, RoundTripsAnInt8Mlp) {
  TempDir d;
  CompileOptions opts;
  opts.quant.mode = QuantMode::Int8;
  ASSERT_NO_FATAL_FAILURE(compile_to(kFixtures + "/linear_multi3.onnx", d.path(), opts));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip(d.path()));
  auto m = parse_manifest(*read_file(d.path() + "/manifest.json"), "m");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->quant.int8.has_value());
  EXPECT_EQ(m->quant.int8->layers.size(), m->layers.size());
  EXPECT_FALSE(m->quant.b_safe.has_value());
}

TEST(Manifest, RoundTripsATree) {
  TempDir d;
  ASSERT_NO_FATAL_FAILURE(compile_to(kModels + "/nnbpf-repro-dt10.onnx", d.path()));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip(d.path()));
  auto m = parse_manifest(*read_file(d.path() + "/manifest.json"), "m");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->is_tree());
  ASSERT_TRUE(m->tree.has_value());
  EXPECT_TRUE(m->layers.empty());
  ASSERT_FALSE(m->stages.empty());
  EXPECT_TRUE(m->stages[0].trees.has_value());
  EXPECT_FALSE(m->inputs[0].data_lo.has_value());
}

TEST(Manifest, RoundTripsTheCapturePipeline) {
  auto r = compile_capture();
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Manifest m = make_manifest(*r);
  const std::string text = manifest_text(m);
  auto back = parse_manifest(text, "capture");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(manifest_text(*back), text);
  EXPECT_TRUE(back->stages.empty());
  EXPECT_FALSE(back->agreement.has_value());
}

// The manifest of `dir` edited by `edit`, parsed: its error.
std::string error_after(const std::string& dir, const std::function<void(json&)>& edit) {
  json j = json::parse(*read_file(dir + "/manifest.json"));
  edit(j);
  std::ofstream(dir + "/manifest.json") << j.dump(2) << "\n";
  auto art = load_artifact(dir);
  return art.ok() ? "(loaded)" : art.error().message;
}

TEST(Manifest, MalformedNamesFileAndKey) {
  TempDir d;
  ASSERT_NO_FATAL_FAILURE(compile_to(kModels + "/nnbpf-repro-top6.onnx", d.path()));
  const std::string file = d.path() + "/manifest.json";
  const std::string good = *read_file(file);
  auto restore = [&] { std::ofstream(file) << good; };

  std::string e = error_after(d.path(), [](json& j) { j["quant"].erase("b"); });
  EXPECT_HAS(e, file + ": malformed: quant.b: missing");
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line";
  restore();
  e = error_after(d.path(), [](json& j) { j["layers"][1]["relu"] = "yes"; });
  EXPECT_HAS(e, file + ": malformed: layers[1].relu: expected a boolean, got string");
  restore();
  e = error_after(d.path(), [](json& j) { j["stages"][0]["est_insns"] = 1.5; });
  EXPECT_HAS(e, "stages[0].est_insns: expected an integer, got number");
  restore();
  e = error_after(d.path(), [](json& j) { j["params"]["bytes_per_slot"] = -4; });
  EXPECT_HAS(e, "params.bytes_per_slot: expected a non-negative integer, got -4");
  restore();
  e = error_after(d.path(), [](json& j) { j.erase("features"); });
  EXPECT_HAS(e, file + ": malformed: features: missing");
  restore();
  e = error_after(d.path(), [](json& j) { j["min_margin"] = "0.5"; });
  EXPECT_HAS(e, "min_margin: expected a number, got string");
  restore();
  EXPECT_EQ(error_after(d.path(), [](json& j) { j["min_margin"] = 0.5; }), "(loaded)") << "null or a number";
  auto bad = parse_manifest("{\"nnbpf_version\": ", "x/manifest.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_HAS(bad.error().message, "x/manifest.json: not valid JSON");
}

}  // namespace
}  // namespace nnbpf::compiler
