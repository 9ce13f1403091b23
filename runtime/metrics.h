// Prometheus metrics of a running pipeline (nnbpf run --metrics-addr):
// the kernel's per-CPU counters (nnbpf_stats, read at scrape time through the
// pins), the blocked-source and flow tables, the parameter slot, the running
// model, and what the daemon learns from events (verdicts by class name, the
// inference latency histogram). Text exposition format 0.0.4; names and units
// as docs/metrics.md lists them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "compiler/support/result.h"
#include "nnbpf/abi.h"

namespace nnbpf::runtime {

// One kernel counter exported as a Prometheus counter: index into nnbpf_stats
// (NNBPF_STAT_*), the metric name (ending in _total), its help text, and a
// multiplier to base units (1e-9 for ns -> seconds). New counters are one
// line in kKernelCounters (metrics.cc).
struct CounterSpec {
  uint32_t stat;
  const char* name;
  const char* help;
  double scale = 1.0;
};

class Metrics {
 public:
  explicit Metrics(std::string iface) : iface_(std::move(iface)) {}

  // Called for every event the daemon reads (daemon thread).
  void observe(const nnbpf_event& e);
  // The whole exposition (scrape thread). Errors when no pipeline is pinned
  // on the interface.
  Result<std::string> render();

  // Latency histogram bucket bounds, in seconds.
  static const std::vector<double>& latency_buckets();

  // What the events taught so far; render() reads a copy.
  struct Tallies {
    std::map<uint32_t, uint64_t> verdicts;  // verdict -> count
    std::vector<uint64_t> latency_counts = std::vector<uint64_t>(latency_buckets().size(), 0);
    uint64_t latency_count = 0;
    double latency_sum_s = 0;
  };

 private:
  std::string iface_;
  std::mutex mu_;
  Tallies tallies_;  // under mu_
};

// The table (exposed for the unit test and docs).
const std::vector<CounterSpec>& kernel_counters();

}  // namespace nnbpf::runtime
