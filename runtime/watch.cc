#include "runtime/watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "compiler/driver/artifact.h"
#include "runtime/control.h"
#include "runtime/pipeline_loader.h"

namespace nnbpf::runtime {

namespace fs = std::filesystem;

namespace {

// The limits `nnbpf check` enforces (docs/check.md).
constexpr int64_t kVerifierInsnLimit = 1000000;
constexpr int64_t kStackLimit = 512;
constexpr int kTailCallLimit = 33;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The kernel check of `nnbpf check`, as a Status.
Status kernel_check(const compiler::Artifact& art) {
  LoadOptions lo;
  lo.collect_stats = true;
  NNBPF_TRY(p, LoadedPipeline::load(art, lo));
  std::vector<uint64_t> zeros(art.model.n_inputs(), 0);
  if (auto r = p->run(zeros); !r) return r.error().with_context("check: test run of the loaded chain failed: ");
  if (static_cast<int>(art.stage_names.size()) + 2 > kTailCallLimit)
    return Error::bad_input("check: tail-call chain above " + std::to_string(kTailCallLimit));
  for (const auto& st : p->stats())
    if (st.verified_insns > kVerifierInsnLimit || st.stack_depth > kStackLimit)
      return Error::bad_input("check: " + st.name + " exceeds a verifier limit (" + std::to_string(st.verified_insns) +
                              " insns, " + std::to_string(st.stack_depth) + " B stack)");
  return ok_status();
}

}  // namespace

Result<std::string> compiled_dir_for(const std::string& model, const ModelCompiler& compiler, std::string* tmpdir) {
  std::error_code ec;
  if (fs::is_directory(model, ec)) return model;
  if (!fs::is_regular_file(model, ec)) return Error::bad_input(model + ": no such model file or directory");
  if (!compiler.onnx) return Error::runtime(model + ": this caller cannot compile ONNX models");
  char tmpl[] = "/tmp/nnbpf-model-XXXXXX";
  if (!mkdtemp(tmpl)) return Error::runtime("cannot create a temporary directory");
  *tmpdir = tmpl;
  if (auto w = compiler.onnx(model, *tmpdir); !w) {
    fs::remove_all(*tmpdir, ec);
    tmpdir->clear();
    return w.error();
  }
  return *tmpdir;
}

Result<std::string> update_from_model(const std::string& iface, const std::string& model,
                                      const ModelCompiler& compiler) {
  std::string tmp;
  auto dir = compiled_dir_for(model, compiler, &tmp);
  if (!dir) return dir.error().with_context("compile: ");
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      if (!d.empty()) fs::remove_all(d, ec);
    }
  } cleanup{tmp};
  NNBPF_TRY(art, compiler::load_artifact(*dir));
  NNBPF_CHECK(kernel_check(art));
  NNBPF_TRY(r, hot_update(iface, art));
  std::ostringstream s;
  s << "slot " << r.old_slot << " -> " << r.new_slot << ", model " << r.old_digest.substr(0, 16) << " -> "
    << r.new_digest.substr(0, 16) << " (generation " << r.generation << ")";
  return s.str();
}

// The model's bytes (a directory's manifest and object), compared whole with
// the last ones tried: exact, and a model is a few kB to a few MB.
std::string ModelWatcher::fingerprint() const {
  std::error_code ec;
  if (fs::is_directory(model_, ec)) return read_all(model_ + "/manifest.json") + read_all(model_ + "/model.bpf.o");
  if (!fs::exists(model_, ec)) return "";
  return read_all(model_);
}

Result<std::unique_ptr<ModelWatcher>> ModelWatcher::start(const std::string& iface, const std::string& model,
                                                          const ModelCompiler& compiler, const std::string& tag) {
  std::unique_ptr<ModelWatcher> w(new ModelWatcher());
  w->iface_ = iface;
  w->model_ = model;
  w->compiler_ = compiler;
  w->tag_ = tag;
  w->inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w->inotify_fd_ < 0) return Error::runtime(std::string("inotify: ") + std::strerror(errno));
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MODIFY;
  fs::path p = fs::absolute(model);
  std::error_code ec;
  if (fs::is_directory(p, ec) && inotify_add_watch(w->inotify_fd_, p.c_str(), mask) < 0)
    return Error::runtime(p.string() + ": cannot watch: " + std::strerror(errno));
  fs::path parent = p.parent_path();
  if (inotify_add_watch(w->inotify_fd_, parent.c_str(), mask) < 0)
    return Error::runtime(parent.string() + ": cannot watch: " + std::strerror(errno));
  w->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (w->wake_fd_ < 0) return Error::runtime(std::string("eventfd: ") + std::strerror(errno));
  w->last_ = w->fingerprint();
  w->thread_ = std::thread([p = w.get()] { p->loop(); });
  return w;
}

ModelWatcher::~ModelWatcher() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ModelWatcher::loop() {
  char buf[4096];
  auto drain = [&] {
    while (read(inotify_fd_, buf, sizeof buf) > 0) {
    }
  };
  for (;;) {
    pollfd p[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (p[1].revents & POLLIN)) return;
    drain();
    // Settle: writers (cp, kubelet) produce bursts; wait for 300 ms of quiet
    // (at most 5 s) before reading the file.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      pollfd q[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      int m = poll(q, 2, 300);
      if (m > 0 && (q[1].revents & POLLIN)) return;
      if (m == 0) break;
      drain();
    }
    std::string fp = fingerprint();
    if (fp.empty() || fp == last_) continue;
    last_ = fp;
    auto r = update_from_model(iface_, model_, compiler_);
    if (r)
      std::cerr << tag_ << iface_ << ": " << model_ << " changed: updated, " << *r << "\n";
    else
      std::cerr << tag_ << iface_ << ": " << model_ << " changed: refused, the running model stays: "
                << r.error().message << "\n";
  }
}

}  // namespace nnbpf::runtime
