// nnbpf bench: BPF_PROG_TEST_RUN timings of the compiled pipeline against an
// empty XDP program measured in the same run, and its memory footprint.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

struct BenchOptions {
  std::string dir;
  int batches = 11;        // medians over this many batches
  int repeat = 20000;      // BPF_PROG_TEST_RUN repeat per batch (packets)
  int repeat_flow = 5000;  // per batch for flow-ending packets (set to repeat / 4)
};

Result<nlohmann::json> run_bench(const BenchOptions& opts);

// Ethernet + IPv4 + TCP packet (20-byte IP and TCP headers) for tests and bench.
std::string make_tcp4_packet(uint32_t src_be, uint32_t dst_be, uint16_t sport, uint16_t dport, uint8_t tcp_flags,
                             size_t payload);

}  // namespace nnbpf::runtime
