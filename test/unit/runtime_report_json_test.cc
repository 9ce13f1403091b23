// The JSON of `nnbpf bench --json` and `nnbpf stats --programs --json`
// (docs/bench.md, docs/stats.md) from their typed results: the keys scripts
// read, and the values derived from the medians.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "runtime/bench.h"
#include "runtime/control.h"

namespace nnbpf::runtime {
namespace {

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
  return k;
}

TEST(BenchResultJson, KeysAndDerivedValues) {
  BenchResult r;
  r.model = "m";
  r.shape = {24, 32, 2};
  r.stages = 1;
  r.empty_ns = 10;
  r.packet_ns = 60;
  r.flow_end_ns = 1010;
  r.blocked_ns = 5;  // below (a): no ns above it
  r.inference_chain_ns = 250;
  r.evidence_ns = -3;
  r.maps.push_back({"nnbpf_flows", 65536, 40, 152});
  const nlohmann::json j = r.to_json();
  const std::set<std::string> want = {
      "model", "shape", "stages", "bpf_isa", "batches", "repeat", "repeat_flow_end", "events_written", "events_lost",
      "empty_ns", "packet_ns", "packet_with_blocks_ns", "flow_end_ns", "blocked_ns", "flow_end_evidence_ns",
      "flow_end_no_evidence_ns", "evidence_ns", "evidence_median_diff_ns", "inference_ns", "inference_chain_ns",
      "packet_overhead_ns", "flow_end_overhead_ns", "blocked_overhead_ns", "packet_ratio", "flow_end_ratio",
      "blocked_ratio", "inference_ratio", "param_bytes", "param_bytes_total", "flow_state_bytes", "flow_key_bytes",
      "maps"};
  EXPECT_EQ(keys(j), want);
  EXPECT_EQ(j["shape"].dump(), "[24,32,2]");
  EXPECT_EQ(j["packet_overhead_ns"].get<uint64_t>(), 50u);
  EXPECT_EQ(j["flow_end_overhead_ns"].get<uint64_t>(), 1000u);
  EXPECT_EQ(j["blocked_overhead_ns"].get<uint64_t>(), 0u);
  EXPECT_DOUBLE_EQ(j["packet_ratio"].get<double>(), 6.0);
  EXPECT_DOUBLE_EQ(j["blocked_ratio"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["inference_ratio"].get<double>(), 25.0);
  EXPECT_EQ(j["evidence_ns"].get<int64_t>(), -3);
  EXPECT_EQ(j["maps"]["nnbpf_flows"]["value_bytes"].get<uint32_t>(), 152u);
  r.empty_ns = 0;  // no baseline: ratios 0, not a division by zero
  EXPECT_EQ(r.to_json()["packet_ratio"].get<double>(), 0.0);
}

TEST(ProgramRunStatsJson, KeysWithAndWithoutInterval) {
  ProgramRunStats s;
  s.iface = "veth0";
  s.programs.push_back({"nnbpf_xdp", 7, -1, 4, 100});
  s.programs.push_back({"nnbpf_sweep_scan", 9, -1, 0, 0});
  s.programs.push_back({"nnbpf_stage_0", 8, 2, 0, 0});
  nlohmann::json j = s.to_json();
  EXPECT_EQ(keys(j), (std::set<std::string>{"iface", "interval_s", "programs", "packets", "ns_per_packet",
                                            "inferences_in_packets", "chain_ns", "fepp_ns", "ipf_ns",
                                            "bpf_run_time_ns"}));
  ASSERT_EQ(j["programs"].size(), 3u);
  EXPECT_EQ(keys(j["programs"][0]), (std::set<std::string>{"name", "id", "run_cnt", "run_time_ns", "ns_per_run"}));
  EXPECT_DOUBLE_EQ(j["programs"][0]["ns_per_run"].get<double>(), 25.0);
  EXPECT_EQ(j["programs"][1]["name"], "nnbpf_sweep_scan");
  EXPECT_EQ(j["programs"][1]["ns_per_run"].get<double>(), 0.0);  // no runs: 0, not NaN
  EXPECT_EQ(j["programs"][2]["slot"].get<int64_t>(), 2);           // tail-call entries carry their slot
  s.interval_s = 1.5;
  s.cpus = 2;
  s.cpu_share = 0.01;
  j = s.to_json();
  EXPECT_TRUE(j.contains("cpus") && j.contains("cpu_share"));
  EXPECT_EQ(j["cpus"].get<long>(), 2);
}

}  // namespace
}  // namespace nnbpf::runtime
