// libbpf boundary: load a compiled artifact's object into the kernel, collect
// verifier statistics per program, wire the tail-call table and parameter
// slots, and run the compiled stages on feature vectors with
// BPF_PROG_TEST_RUN. libbpf errors are turned into Errors here, once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/driver/artifact.h"
#include "nnbpf/abi.h"

struct bpf_object;

namespace nnbpf::runtime {

struct ProgramStats {
  std::string name;
  int64_t verified_insns = -1;  // verifier-processed instructions
  int64_t insns = 0;            // instructions after load (xlated)
  int64_t stack_depth = -1;     // bytes, as the verifier reports it
  int64_t jited_bytes = 0;
  int64_t verify_usec = -1;
};

struct LoadOptions {
  bool collect_stats = false;  // verifier log level "stats" per program
  bool verbose = false;        // libbpf's own log to stderr
  // Tunables written into the object's .rodata (struct nnbpf_config) before
  // load; absent = the object's defaults.
  std::optional<nnbpf_config> config;
  // Called on the object's config (after `config`, if given) before load:
  // tests change a few fields of the object's own defaults.
  std::function<void(nnbpf_config&)> edit_config;
  uint32_t max_flows = 0;                      // nnbpf_flows size; 0 = default
};

struct TestRunResult {
  int verdict = 0;
  std::vector<int64_t> logits;
  uint32_t slot = 0;
  uint64_t duration_ns = 0;  // BPF_PROG_TEST_RUN's mean duration per repeat
  uint64_t chain_ns = 0;     // entry-to-finish ns measured inside the chain
};

class LoadedPipeline {
 public:
  ~LoadedPipeline();
  LoadedPipeline(const LoadedPipeline&) = delete;
  LoadedPipeline& operator=(const LoadedPipeline&) = delete;

  const std::vector<ProgramStats>& stats() const { return stats_; }
  // Runs the test entry on one raw feature vector.
  Result<TestRunResult> run(const std::vector<uint64_t>& features, int repeat = 1) const;
  // Writes a parameter slot (bytes from serialize_params) and/or the index.
  Status write_slot(uint32_t slot, const std::vector<uint8_t>& bytes) const;
  Status set_running_slot(uint32_t slot) const;
  Result<std::vector<uint64_t>> error_counters() const;  // summed over CPUs
  bpf_object* object() const { return obj_; }
  int map_fd(const char* name) const;   // -1 if absent
  int prog_fd(const char* name) const;  // -1 if absent
  int n_inputs() const { return n_inputs_; }
  int n_outputs() const { return n_outputs_; }

  static Result<std::unique_ptr<LoadedPipeline>> load(const compiler::Artifact& artifact, const LoadOptions& opts);

 private:
  LoadedPipeline() = default;
  bpf_object* obj_ = nullptr;
  int test_entry_fd_ = -1;
  int params_fd_ = -1;
  int idx_fd_ = -1;
  int errors_fd_ = -1;
  int n_inputs_ = 0;
  int n_outputs_ = 0;
  std::vector<ProgramStats> stats_;
};

// True if this process may load BPF programs (root / CAP_BPF).
bool have_bpf_privileges();

}  // namespace nnbpf::runtime
