// nnbpf run --watch-model: follow the model file (or compiled directory) with
// inotify and hot-update the running pipeline when its content changes, after
// the new model compiles and passes the same kernel check as `nnbpf check`
// (every program loads through the verifier, within the limits, and the
// chain runs once). A model that fails any step is refused and the running
// one stays. The parent directory is watched too, so editors that replace
// the file and Kubernetes ConfigMap updates (a symlink swap) are seen.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "compiler/support/result.h"
#include "runtime/model_compiler.h"

namespace nnbpf::runtime {

// One update attempt: compile (for .onnx) + check + hot_update. Returns a
// one-line summary of what changed.
Result<std::string> update_from_model(const std::string& iface, const std::string& model,
                                      const ModelCompiler& compiler);

// Compiles `model` (.onnx, default options) into a fresh temporary directory
// (*tmpdir); a directory is returned as it is (tmpdir left empty).
Result<std::string> compiled_dir_for(const std::string& model, const ModelCompiler& compiler, std::string* tmpdir);

class ModelWatcher {
 public:
  // `tag` prefixes the log lines ("nnbpf run: ").
  static Result<std::unique_ptr<ModelWatcher>> start(const std::string& iface, const std::string& model,
                                                     const ModelCompiler& compiler, const std::string& tag);
  ~ModelWatcher();
  ModelWatcher(const ModelWatcher&) = delete;
  ModelWatcher& operator=(const ModelWatcher&) = delete;

 private:
  ModelWatcher() = default;
  void loop();
  std::string fingerprint() const;

  std::string iface_, model_, tag_;
  ModelCompiler compiler_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::string last_;  // content of the last model tried (applied or refused)
  std::thread thread_;
};

}  // namespace nnbpf::runtime
