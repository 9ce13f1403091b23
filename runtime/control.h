// Operations on a running pipeline through its pins: the intrusion host
// record and its correction (paper §IV-A6), counters, and the lock-free hot
// update of model parameters (paper §IV-D) with a grace period.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/driver/pipeline.h"

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

// Per-program kernel accounting of the running pipeline (bpf_prog_info
// run_cnt, run_time_ns): nnbpf_xdp, nnbpf_sweep and every program of the
// tail-call table. interval_s > 0: turns the kernel's BPF run-time
// statistics on (bpf_enable_stats) for that long and reports what the
// interval added, with the BPF CPU share; 0: the counters as they are
// (nonzero only while statistics were on, e.g. nnbpf run --bpf-stats).
// Also derives FEPP (extraction per packet) and IPF (inference per flow),
// docs/stats.md.
Result<nlohmann::json> read_program_stats(const std::string& iface, double interval_s);

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
Status check_compatible(const nlohmann::json& running_manifest, const compiler::Artifact& next);

}  // namespace nnbpf::runtime
