// A pipeline's place on an interface: one daemon per interface (its pid
// file), what a killed daemon left behind (a pinned bpf_link or libxdp
// program, and its maps), attaching without an unprotected gap, the pins and
// state files, and detaching. run_artifact (daemon.cc) uses one Hook per run.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "compiler/driver/artifact.h"
#include "compiler/support/result.h"
#include "runtime/attach_libxdp.h"
#include "runtime/pipeline_loader.h"

namespace nnbpf::runtime {

struct RunOptions;

class Hook {
 public:
  ~Hook();
  Hook(const Hook&) = delete;
  Hook& operator=(const Hook&) = delete;

  // Refuses a live daemon on the interface, and (o.take_over false) any
  // pipeline already attached; opens the link a dead daemon left pinned.
  static Result<std::unique_ptr<Hook>> claim(const RunOptions& o, unsigned ifindex);

  bool taking_over() const { return taking_over_; }
  pid_t previous_pid() const { return old_pid_; }

  // The blocked sources and the evidence of the pipeline taken over, copied
  // into `pipe`'s maps (nothing when not taking over).
  void inherit_state(const LoadedPipeline& pipe) const;

  // Attaches `pipe`'s nnbpf_xdp (inside the surviving link, through libxdp,
  // or a new link), pins the maps, programs and link, and writes the state
  // files (manifest, policy, pid). On failure nothing stays attached or
  // pinned.
  Status attach(const LoadedPipeline& pipe, const compiler::Artifact& art, const std::string& policy_json);

  // Unpins everything and detaches (closing the last link fd), then removes
  // the state files. Returns the unpinning's status.
  Status detach();

  const std::string& pin_dir() const { return pdir_; }

 private:
  Hook(const RunOptions& o, unsigned ifindex);
  Status link(int xdp_fd);
  Status pin_and_record(const LoadedPipeline& pipe, const compiler::Artifact& art, const std::string& policy_json);
  void release();

  const RunOptions& o_;
  unsigned ifindex_;
  std::string sdir_, pdir_;
  pid_t old_pid_ = 0;
  int old_link_ = -1;
  bool taking_over_ = false;
  int link_fd_ = -1;
  std::unique_ptr<LibxdpHook> libxdp_;  // --attach libxdp
};

}  // namespace nnbpf::runtime
