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

// A tree's shape from the manifest; the capacities must be what the kernel
// can mask by.
Result<QuantTreeEnsemble> tree_shape(const Manifest& m, const std::string& where) {
  if (!m.tree) return Error::bad_input(where + ": malformed: tree: missing (kind is tree)");
  const ManifestTree& tj = *m.tree;
  QuantTreeEnsemble t;
  t.n_outputs = tj.n_classes;
  t.depths = tj.depths;
  t.nodes_used = tj.nodes;
  t.leaves_used = tj.leaves;
  t.node_capacity = tj.node_capacity;
  t.leaf_capacity = tj.leaf_capacity;
  auto pow2 = [](int v) { return v > 0 && (v & (v - 1)) == 0; };
  if (!pow2(t.node_capacity) || t.node_capacity > kMaxTreeNodes || !pow2(t.leaf_capacity) ||
      t.leaf_capacity > kMaxTreeNodes || t.n_outputs < 1 || t.n_outputs > kMaxOutputs || t.depths.empty() ||
      m.features.empty() || static_cast<int>(m.features.size()) > kMaxFeatures)
    return Error::bad_input(where + ": malformed tree description");
  return t;
}

// An MLP's shape: its layers and quantization mode.
Result<QuantMlp> mlp_shape(const Manifest& m, const std::string& where) {
  const std::string& mode = m.quant.mode;
  if (mode != "int32" && mode != "int8")
    return Error::bad_input(where + ": unknown quant.mode '" + mode + "' for kind mlp (int32 or int8)");
  QuantMlp mlp;
  mlp.inputs.resize(m.features.size());
  for (const ManifestLayer& l : m.layers) {
    QuantLayer L;
    L.in = l.in;
    L.out = l.out;
    L.relu = l.relu;
    L.has_bias = l.bias;
    mlp.layers.push_back(L);
  }
  mlp.mode = mode == "int8" ? QuantMode::Int8 : QuantMode::Int32;
  // Manifests without quant.layer_b: every layer at b, no exponent array in
  // the slot (docs/semantics.md#per-layer).
  mlp.layer_exponents = mlp.mode == QuantMode::Int32 && m.quant.layer_b.has_value();
  if (mlp.layer_exponents && m.quant.layer_b->size() != mlp.layers.size())
    return Error::bad_input(where + ": quant.layer_b has " + std::to_string(m.quant.layer_b->size()) +
                            " entries for " + std::to_string(mlp.layers.size()) + " layers");
  mlp.ecdf_share = m.quant.ecdf_share;
  return mlp;
}

// The model's shape (features, layers, tree capacities, quantization), the
// stage names and the ISA from DIR/manifest.json; the weights come from the
// object (read_params_section).
Status read_manifest(Artifact& a) {
  const std::string where = a.dir + "/manifest.json";
  NNBPF_TRY(text, read_file(where));
  NNBPF_TRY(m, parse_manifest(text, where));
  if (m.abi_version != NNBPF_ABI_VERSION)
    return Error::bad_input(where + ": ABI version " + std::to_string(m.abi_version) + ", this nnbpf uses " +
                            std::to_string(NNBPF_ABI_VERSION) + " (recompile the model)");
  QuantModel shape;
  shape.features = m.features;
  shape.feature_ids = m.feature_ids;
  shape.digest = m.model_digest;
  if (m.kind == "tree") {
    if (m.quant.mode != "tree")
      return Error::bad_input(where + ": unknown quant.mode '" + m.quant.mode + "' for kind tree (tree)");
    NNBPF_TRY(t, tree_shape(m, where));
    shape.kind = std::move(t);
  } else if (m.kind == "mlp") {
    NNBPF_TRY(mlp, mlp_shape(m, where));
    shape.kind = std::move(mlp);
  } else {
    return Error::bad_input(where + ": unknown model kind '" + m.kind + "' (mlp or tree)");
  }
  shape.alpha = m.quant.alpha;
  shape.b_ecdf = m.quant.b_ecdf;
  for (const ManifestStage& st : m.stages) a.stage_names.push_back(st.name);
  a.mcpu = m.bpf_isa;
  a.model = std::move(shape);
  a.manifest = std::move(m);
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
