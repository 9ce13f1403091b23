#include "compiler/driver/artifact.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/codegen/params_layout.h"
#include "nnbpf/abi.h"

namespace nnbpf::compiler {

namespace fs = std::filesystem;

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::bad_input(path + ": cannot open (" + std::strerror(errno) + ")");
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

namespace {

// The model's shape (features, layers, tree capacities, quantization), the
// stage names and the ISA from DIR/manifest.json; the weights come from the
// object (read_params_section).
Status read_manifest(Artifact& a) {
  using nlohmann::json;
  const std::string& dir = a.dir;
  NNBPF_TRY(text, read_file(dir + "/manifest.json"));
  try {
    a.manifest = json::parse(text);
  } catch (const std::exception& e) {
    return Error::bad_input(dir + "/manifest.json: not valid JSON: " + std::string(e.what()));
  }
  const json& m = a.manifest;
  try {
    if (m.at("abi_version").get<int>() != NNBPF_ABI_VERSION)
      return Error::bad_input(dir + "/manifest.json: ABI version " + std::to_string(m.at("abi_version").get<int>()) +
                              ", this nnbpf uses " + std::to_string(NNBPF_ABI_VERSION) + " (recompile the model)");
    QuantModel shape;
    shape.features = m.at("features").get<std::vector<std::string>>();
    shape.feature_ids = m.at("feature_ids").get<std::vector<int>>();
    shape.digest = m.at("model_digest").get<std::string>();
    const std::string kind = m.value("kind", "mlp");
    if (kind == "tree") {
      const auto& tj = m.at("tree");
      QuantTreeEnsemble t;
      t.n_outputs = tj.at("n_classes").get<int>();
      t.depths = tj.at("depths").get<std::vector<int>>();
      t.nodes_used = tj.at("nodes").get<int>();
      t.leaves_used = tj.at("leaves").get<int>();
      t.node_capacity = tj.at("node_capacity").get<int>();
      t.leaf_capacity = tj.at("leaf_capacity").get<int>();
      auto pow2 = [](int v) { return v > 0 && (v & (v - 1)) == 0; };
      if (!pow2(t.node_capacity) || t.node_capacity > kMaxTreeNodes || !pow2(t.leaf_capacity) ||
          t.leaf_capacity > kMaxTreeNodes || t.n_outputs < 1 || t.n_outputs > kMaxOutputs || t.depths.empty() ||
          shape.features.empty() || static_cast<int>(shape.features.size()) > kMaxFeatures)
        return Error::bad_input(dir + "/manifest.json: malformed tree description");
      shape.kind = std::move(t);
    } else if (kind != "mlp") {
      return Error::bad_input(dir + "/manifest.json: unknown model kind '" + kind + "' (mlp or tree)");
    } else {
      shape.mlp().inputs.resize(shape.features.size());
    }
    // A tree's manifest lists no layers.
    std::vector<QuantLayer> layers;
    for (const auto& l : m.at("layers")) {
      QuantLayer L;
      L.in = l.at("in").get<int>();
      L.out = l.at("out").get<int>();
      L.relu = l.at("relu").get<bool>();
      L.has_bias = l.at("bias").get<bool>();
      layers.push_back(L);
    }
    const auto& qj = m.at("quant");
    const std::string mode = qj.value("mode", kind == "tree" ? "tree" : "int32");
    if (kind == "tree" ? mode != "tree" : mode != "int32" && mode != "int8")
      return Error::bad_input(dir + "/manifest.json: unknown quant.mode '" + mode + "' for kind " + kind + " (" +
                              (kind == "tree" ? "tree" : "int32 or int8") + ")");
    const double ecdf_share = qj.at("ecdf_share").get<double>();
    if (kind == "mlp") {
      QuantMlp& mlp = shape.mlp();
      mlp.layers = std::move(layers);
      mlp.mode = mode == "int8" ? QuantMode::Int8 : QuantMode::Int32;
      // Manifests without quant.layer_b (older compiles): every layer at b, no
      // exponent array in the slot (docs/semantics.md#per-layer).
      mlp.layer_exponents = mlp.mode == QuantMode::Int32 && qj.contains("layer_b");
      if (mlp.layer_exponents && qj.at("layer_b").size() != mlp.layers.size())
        return Error::bad_input(dir + "/manifest.json: quant.layer_b has " +
                                std::to_string(qj.at("layer_b").size()) + " entries for " +
                                std::to_string(mlp.layers.size()) + " layers");
      mlp.ecdf_share = ecdf_share;
    }
    shape.alpha = qj.at("alpha").get<double>();
    shape.b_ecdf = qj.at("b_ecdf").get<int>();
    for (const auto& st : m.at("stages")) a.stage_names.push_back(st.at("name").get<std::string>());
    a.mcpu = m.at("bpf_isa").get<std::string>();
    a.model = shape;
  } catch (const std::exception& e) {
    return Error::bad_input(dir + "/manifest.json: malformed: " + std::string(e.what()));
  }
  return ok_status();
}

// The bytes of the object's .nnbpf.params section: the initial parameter slot.
Result<std::vector<uint8_t>> read_params_section(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return Error::runtime(std::string("libelf: ") + elf_errmsg(-1));
  struct File {
    int fd;
    Elf* elf = nullptr;
    ~File() {
      if (elf) elf_end(elf);
      if (fd >= 0) close(fd);
    }
  } f{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return Error::bad_input(path + ": cannot open (" + std::strerror(errno) + ")");
  f.elf = elf_begin(f.fd, ELF_C_READ, nullptr);
  size_t shstrndx = 0;
  if (!f.elf || elf_kind(f.elf) != ELF_K_ELF || elf_getshdrstrndx(f.elf, &shstrndx) != 0)
    return Error::bad_input(path + ": not a BPF ELF object (" +
                            (f.elf && elf_kind(f.elf) != ELF_K_ELF ? "not ELF" : elf_errmsg(-1)) + ")");
  for (Elf_Scn* scn = elf_nextscn(f.elf, nullptr); scn; scn = elf_nextscn(f.elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* name = elf_strptr(f.elf, shstrndx, sh.sh_name);
    if (!name || std::strcmp(name, ".nnbpf.params") != 0) continue;
    Elf_Data* d = elf_getdata(scn, nullptr);
    if (!d || !d->d_buf) break;
    const auto* p = static_cast<const uint8_t*>(d->d_buf);
    return std::vector<uint8_t>(p, p + d->d_size);
  }
  return Error::bad_input(path + ": no .nnbpf.params section (not an nnbpf object?)");
}

}  // namespace

Result<Artifact> load_artifact(const std::string& dir) {
  Artifact a;
  a.dir = dir;
  a.object_path = dir + "/model.bpf.o";
  a.source_onnx = dir + "/source.onnx";
  std::error_code dir_ec;
  if (!fs::is_directory(dir, dir_ec))
    return Error::bad_input(dir + ": " + (dir_ec ? dir_ec.message() : std::string("not a directory")) +
                            " (expected the output of nnbpf compile)");
  NNBPF_CHECK(read_manifest(a));
  NNBPF_TRY(params, read_params_section(a.object_path));
  a.initial_params = std::move(params);
  auto full = deserialize_params(a.model, a.initial_params);
  if (!full) return full.error().with_context(a.object_path + ": ");
  a.model = std::move(full.value());
  return a;
}

}  // namespace nnbpf::compiler
