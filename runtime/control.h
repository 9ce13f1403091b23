// Operations on a running pipeline through its pins: the intrusion host
// record and its correction (paper §IV-A6), counters, and the lock-free hot
// update of model parameters (paper §IV-D) with a grace period.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/driver/artifact.h"

namespace nnbpf::runtime {

struct HostEntry {
  std::string addr;            // an address, or a prefix "10.0.0.0/24" for a model block of a prefix
  uint64_t expires_in_ns = 0;  // 0 = never
  uint64_t age_ns = 0;
  uint64_t drops = 0;
  std::string by;              // "model" or "user"
  // Why the model blocked (by == "model"): the evidence in the window when it
  // decided, the deciding flow's class and margin (float units), the TTL given.
  uint32_t hits = 0;
  uint32_t flows = 0;
  std::string class_name;
  double margin = 0;
  uint64_t ttl_ns = 0;
};

Result<std::vector<HostEntry>> hosts_list(const std::string& iface);
Status hosts_add(const std::string& iface, const std::string& addr, uint64_t ttl_ns);
// Unblocks `addr` (an address, or a listed prefix "a/n") and clears the
// evidence of its prefix. An address inside a blocked prefix unblocks the
// prefix.
Status hosts_del(const std::string& iface, const std::string& addr);
Result<size_t> hosts_flush(const std::string& iface);

// A running pipeline's state as `nnbpf stats` and the metrics endpoint
// report it: the kernel's counters summed over CPUs, the tables' fill, the
// running parameter slot and model.
struct Stats {
  std::string iface;
  std::vector<uint64_t> counters;  // indexed by NNBPF_STAT_*; an older object may have fewer
  uint64_t flows_tracked = 0;
  uint64_t flows_capacity = 0;
  uint64_t blocks_active = 0;      // blocked sources (model and user), not expired
  uint32_t param_slot = 0;
  uint64_t param_generation = 0;
  std::string model_digest;        // of the running slot's parameters
  uint64_t inference_errors = 0;   // summed over NNBPF_ERR_*

  uint64_t counter(uint32_t stat) const;  // 0 for a counter the object does not have
  // Flows that left the table without a verdict (LRU eviction).
  uint64_t flows_evicted() const;
  // The keys of `nnbpf stats --json` (docs/stats.md).
  nlohmann::json to_json() const;
};

Result<Stats> read_stats(const std::string& iface);

// One program's kernel accounting (bpf_prog_info run_cnt, run_time_ns).
struct ProgramRunStat {
  std::string name;
  uint32_t id = 0;
  int64_t slot = -1;  // tail-call slot, -1 for the pinned programs
  uint64_t run_cnt = 0;
  uint64_t run_time_ns = 0;
  double ns_per_run() const { return run_cnt ? static_cast<double>(run_time_ns) / run_cnt : 0.0; }
};

// `nnbpf stats --programs` (docs/stats.md): the programs, and nnbpf_xdp's
// time split into extraction (FEPP) and inference (IPF).
struct ProgramRunStats {
  std::string iface;
  double interval_s = 0;  // the measured window; 0: the counters since load
  std::vector<ProgramRunStat> programs;
  uint64_t packets = 0;                // nnbpf_xdp run_cnt
  double ns_per_packet = 0;            // nnbpf_xdp run_time_ns / run_cnt
  uint64_t inferences_in_packets = 0;  // NNBPF_STAT_CHAIN_RUNS
  uint64_t chain_ns = 0;               // NNBPF_STAT_CHAIN_NS
  double fepp_ns = 0;                  // (nnbpf_xdp run_time_ns - chain_ns) / packets
  double ipf_ns = 0;                   // chain_ns / inferences_in_packets
  uint64_t bpf_run_time_ns = 0;        // all listed programs
  long cpus = 0;                       // with an interval: online CPUs ...
  double cpu_share = 0;                // ... and the share of their time in these programs
  nlohmann::json to_json() const;      // `--json`: cpus and cpu_share only with an interval
};

// Per-program kernel accounting of the running pipeline: its pinned programs
// (nnbpf_xdp, nnbpf_sweep, nnbpf_sweep_scan) and every program of the
// tail-call table. interval_s > 0: turns the kernel's BPF run-time
// statistics on (bpf_enable_stats) for that long and reports what the
// interval added, with the BPF CPU share; 0: the counters as they are
// (nonzero only while statistics were on, e.g. nnbpf run --bpf-stats).
Result<ProgramRunStats> read_program_stats(const std::string& iface, double interval_s);

// Per-CPU inference sequence numbers from the scratch map (odd = running).
Result<std::vector<uint64_t>> read_inference_seq(int scratch_fd);
// Waits until every CPU that was inside an inference when called has left it
// (its sequence number moved on). Bounded by `timeout_ms`.
Status wait_grace_period(int scratch_fd, int timeout_ms);

struct UpdateReport {
  uint32_t old_slot = 0;
  uint32_t new_slot = 0;
  std::string old_digest;
  std::string new_digest;
  uint64_t generation = 0;
  double grace_ms = 0;
};

// Hot update: writes `model`'s parameters into the idle slot and flips the
// index. Refuses (changing nothing) when the features or shapes differ from
// the running pipeline's manifest.
Result<UpdateReport> hot_update(const std::string& iface, const compiler::Artifact& next);

// Whether `next` may replace the running model: same features, layer shapes,
// activations and parameter layout as the running manifest.
Status check_compatible(const compiler::Manifest& running_manifest, const compiler::Artifact& next);

// STATE_DIR/manifest.json: the running model's manifest (nnbpf run writes it,
// nnbpf update replaces it).
Result<compiler::Manifest> running_manifest(const std::string& iface);

}  // namespace nnbpf::runtime
