// nnbpf bench: BPF_PROG_TEST_RUN timings of the compiled pipeline against an
// empty XDP program measured in the same run, and its memory footprint.
#pragma once

#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

struct BenchOptions {
  std::string dir;
  int batches = 11;        // medians over this many batches
  int repeat = 20000;      // BPF_PROG_TEST_RUN repeat per batch (packets)
  int repeat_flow = 5000;  // per batch for flow-ending packets (set to repeat / 4)
};

// A map of the loaded pipeline (memory footprint).
struct BenchMap {
  std::string name;
  uint32_t max_entries = 0;
  uint32_t key_bytes = 0;
  uint32_t value_bytes = 0;
};

// What `nnbpf bench` measured: medians over the batches of BPF_PROG_TEST_RUN's
// mean time per run, (a) to (d) of docs/bench.md, and the memory footprint.
struct BenchResult {
  std::string model;            // the artifact directory
  std::vector<int64_t> shape;   // the manifest's "shape"
  size_t stages = 0;
  std::string bpf_isa;
  int batches = 0;
  int repeat = 0;
  int repeat_flow_end = 0;      // capped so that a batch's events fit in the ring buffer
  uint64_t events_written = 0;  // read back from the ring buffers after every batch
  uint64_t events_lost = 0;     // NNBPF_STAT_EVENTS_LOST during the bench: 0 when every packet wrote its event

  uint64_t empty_ns = 0;               // (a) the empty XDP program (the faster of its two measurements)
  uint64_t packet_ns = 0;              // (b) mid-flow packet, no block exists: no host-filter lookup
  uint64_t packet_with_blocks_ns = 0;  // (b) again while a block exists (a lookup that misses)
  uint64_t flow_end_ns = 0;            // (c) flow-ending packet: extraction, inference chain, event
  uint64_t blocked_ns = 0;             // (d) packet of a blocked host
  uint64_t flow_end_evidence_ns = 0;   // (c) with and without the evidence step, batches in turn
  uint64_t flow_end_no_evidence_ns = 0;
  int64_t evidence_ns = 0;              // fastest batch with minus fastest without (noise only adds time)
  int64_t evidence_median_diff_ns = 0;  // median of the per-batch differences
  uint64_t inference_ns = 0;            // entry to finish, the chain's own clock
  uint64_t inference_chain_ns = 0;      // BPF_PROG_TEST_RUN of nnbpf_test_entry: entry, stages, finish

  uint64_t param_bytes = 0;        // per slot
  uint64_t param_bytes_total = 0;  // both slots
  uint64_t flow_state_bytes = 0;   // value of one tracked flow
  uint64_t flow_key_bytes = 0;
  std::vector<BenchMap> maps;

  // A path against (a): ns / empty_ns, and the ns above it (0 if below).
  double ratio(uint64_t ns) const { return empty_ns ? static_cast<double>(ns) / empty_ns : 0; }
  uint64_t above(uint64_t ns) const { return ns > empty_ns ? ns - empty_ns : 0; }
  // `nnbpf bench --json` (docs/bench.md): the fields above plus the derived
  // packet/flow_end/blocked _ratio and _overhead_ns and inference_ratio.
  nlohmann::json to_json() const;
};

Result<BenchResult> run_bench(const BenchOptions& opts);

// Ethernet + IPv4 + TCP packet (20-byte IP and TCP headers) for tests and bench.
std::string make_tcp4_packet(uint32_t src_be, uint32_t dst_be, uint16_t sport, uint16_t dport, uint8_t tcp_flags,
                             size_t payload);

}  // namespace nnbpf::runtime
