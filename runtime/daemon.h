// nnbpf run: load a compiled pipeline, attach it to an interface with a
// pinned bpf_link, serve its ring-buffer events, sweep idle flows, and detach
// cleanly on SIGINT/SIGTERM. A pipeline left behind by a killed daemon keeps
// protecting the interface; the next run takes it over without a gap.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compiler/driver/artifact.h"
#include "compiler/support/result.h"
#include "nnbpf/abi.h"
#include "runtime/events.h"
#include "runtime/evidence.h"

namespace nnbpf::runtime {

struct RunOptions {
  std::string iface;
  std::string dir;                  // nnbpf compile output
  std::string mode = "auto";        // native | generic | auto
  uint64_t block_ttl_ns = 300ull * 1000000000ull;
  PolicyOptions policy;             // evidence-based blocking (docs/run.md)
  std::vector<std::string> allow;   // CIDRs never blocked
  bool monitor = false;
  uint64_t idle_timeout_ns = 0;     // 0 = off
  uint64_t embryonic_timeout_ns = 0; // TCP or UDP flows of one packet idle this long; 0 = off
  uint32_t every_packets = 0;       // 0 = off
  uint32_t max_flows = 0;           // 0 = object default
  bool json = false;
  bool verbose = false;
  double duration_s = 0;            // 0 = until signalled
  bool bpf_stats = false;           // kernel BPF run-time statistics on while attached
  std::string attach = "link";      // link (own the hook) | libxdp (share it: attach_libxdp.h)
  unsigned xdp_priority = 50;       // libxdp run order, lower first
  int ready_fd = -1;                // --ready-fd: "ready IFACE" once attached (runtime/ready.h)
  // For nnbpf capture: events go to on_event instead of stdout; a pipeline
  // already pinned on the interface is refused instead of taken over; after
  // detaching, every flow still in the table is flushed through the same
  // finish program (reason NNBPF_END_EXIT).
  std::function<void(const nnbpf_event&)> on_event;
  // Sees every event too, before it is printed or handed to on_event
  // (nnbpf run --metrics-addr: runtime/service.cc).
  std::function<void(const nnbpf_event&)> observe;
  bool take_over = true;
  bool flush_at_exit = false;
  std::string who = "run";          // command name in messages
};

// Loads opts.dir and runs it (run_artifact).
Status run_pipeline(const RunOptions& opts);
// Attaches `artifact` to opts.iface and serves it until signalled or
// opts.duration_s; always detaches and removes its pins.
Status run_artifact(const compiler::Artifact& artifact, const RunOptions& opts);

// Parses "300s", "5m", "1h", "250ms", "42" (seconds) into ns.
Result<uint64_t> parse_duration(const std::string& text);

// Parses "10.0.0.0/8", "fd00::/64", "10.1.2.3" into an LPM key (bytes of
// struct nnbpf_lpm_key).
Result<std::vector<uint8_t>> parse_cidr(const std::string& text);

}  // namespace nnbpf::runtime
