// The XDP pipeline under test: an artifact loaded by the runtime's one loader
// (runtime/pipeline_loader.h, as run, bench and check load it), packets run
// through nnbpf_xdp with BPF_PROG_TEST_RUN, and typed reads and writes of the
// maps, counters and ring-buffer events a fixture checks.
//
// A fixture (test/kernel/xdp/*_test.cc) derives from XdpTest, loads a model
// with the tunables it needs, runs packets and checks verdicts and effects:
//
//   auto p = load(top6_model(), {.monitor = 1});
//   ASSERT_TRUE(p);
//   EXPECT_EQ(p->run(Packet{}.flags(kSyn)), XDP_PASS);
//   EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 1u);
#pragma once

#include <gtest/gtest.h>
#include <linux/bpf.h>  // XDP_PASS, XDP_DROP, ...

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compiler/driver/pipeline.h"
#include "nnbpf/abi.h"
#include "runtime/pipeline_loader.h"
#include "test/kernel/framework/models.h"
#include "test/kernel/framework/packet.h"

struct ring_buffer;

namespace nnbpf::testing {

constexpr uint64_t kSec = 1000000000ULL;
uint64_t mono_ns();  // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns

// Tunables of the loaded object (struct nnbpf_config) and of the test setup,
// named at the call: load(top6_model(), {.monitor = 1, .every_packets = 3}).
struct PipelineOptions {
  // Monitor mode: whatever the model says about a flow, no verdict blocks the
  // source the next packets come from (for tests of flow mechanics).
  uint32_t monitor = 0;
  uint32_t every_packets = 0;
  uint32_t max_flows = 0;   // 0: the object's default
  bool wire_chain = true;   // stages in nnbpf_progs
  bool wire_finish = true;  // finish programs in nnbpf_progs
  uint64_t block_ttl_ns = 300 * kSec;
  uint64_t block_ttl_max_ns = 0;
  // Evidence policy (the object's defaults: block on the first verdict).
  uint64_t window_ns = 10 * kSec;
  uint32_t block_after = 1;
  uint32_t min_share_milli = 0;
  uint32_t prefix_v4 = 32;
  uint32_t prefix_v6 = 128;
  uint32_t abstain = 0;
};

class XdpTester {
 public:
  XdpTester() = default;
  XdpTester(const XdpTester&) = delete;
  XdpTester& operator=(const XdpTester&) = delete;
  ~XdpTester();

  // Empty string on success, else what failed.
  std::string load(const compiler::Artifact& a, const PipelineOptions& o);

  // ---- running ----
  // nnbpf_xdp (or `fd`) on one packet: the XDP action, -1 on a failed run.
  int run(const Packet& p) { return run_bytes(p.bytes(), xdp_); }
  int run_bytes(const std::vector<uint8_t>& frame, int fd);
  // One complete TCP flow from `src` on its own port (SYN, 200 bytes of data,
  // FIN|ACK): the action on its ending packet, or DROP if the SYN was dropped.
  int run_flow(const Addr& src, uint16_t sport);
  // Mean ns per run over `repeat` runs of the same frame; 0 on failure.
  uint64_t time_run(const std::vector<uint8_t>& frame, int fd, uint32_t repeat);
  // The sweep program on one flow key (what user space runs for an idle flow).
  int sweep(const nnbpf_flow_key& k, uint32_t reason = NNBPF_END_IDLE, uint32_t magic = NNBPF_SWEEP_MAGIC);

  // ---- what the pipeline did ----
  std::vector<nnbpf_event> events();  // written since the last call
  uint64_t stat(uint32_t idx) const;   // NNBPF_STAT_*, summed over CPUs
  uint64_t error(uint32_t idx) const;  // NNBPF_ERR_*, summed over CPUs
  void expect_no_errors() const;       // every error counter 0
  bool flow(const nnbpf_flow_key& k, nnbpf_flow_hdr* hdr = nullptr) const;
  size_t flow_count() const;
  uint32_t flow_value_size() const;
  bool blocked(const Addr& src, nnbpf_block* out = nullptr) const;
  bool evidence(const Addr& prefix, nnbpf_evidence* out = nullptr) const;

  // ---- what user space does ----
  // Parameter slot 0 holds `model`'s parameters (serialize_params).
  std::string write_model(const compiler::QuantModel& model, uint64_t generation);
  void block(const Addr& src, uint64_t expires_ns, uint32_t by = NNBPF_BLOCK_BY_USER);
  void allow(const Addr& prefix, uint32_t prefixlen);
  void set_policy(const nnbpf_policy& pol);  // the model policy of parameter slot 0

  int prog(const char* name) const { return lp_->prog_fd(name); }
  int map(const char* name) const { return lp_->map_fd(name); }
  const compiler::Artifact& artifact() const { return *art_; }
  bpf_object* object() const { return lp_->object(); }

 private:
  std::string unwire(const PipelineOptions& o);
  static int on_event(void* ctx, void* data, size_t size);

  const compiler::Artifact* art_ = nullptr;
  std::unique_ptr<runtime::LoadedPipeline> lp_;
  ring_buffer* rb_ = nullptr;
  int xdp_ = -1, sweep_ = -1, flows_ = -1, blocked_ = -1, allow_ = -1, stats_ = -1, errors_ = -1, params_ = -1;
  std::vector<nnbpf_event> got_;
};

// The base of every XDP fixture: fails without BPF privileges under CI=true,
// skips elsewhere.
class XdpTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // Compiles (once per process) and loads; nullptr after a reported failure.
  std::unique_ptr<XdpTester> load(const std::string& onnx, const PipelineOptions& o = {});
  // The top-6 model with parameters that say "intrusion" for every flow.
  std::unique_ptr<XdpTester> load_intruder(const PipelineOptions& o = {});
};

}  // namespace nnbpf::testing
