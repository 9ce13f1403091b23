// Feature extraction (bpf_rt/include/nnbpf/flow.h, docs/features.md): all
// 24 catalog features on one designed flow, exact where the packets fix them
// and bounded by the clock where time enters; and the capture pipeline, which
// reports them without a model.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "test/kernel/framework/checks.h"
#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;
using nnbpf::compiler::Artifact;

// All 24 catalog features on one designed flow (docs/features.md).
TEST_F(XdpTest, AllCatalogFeatures) {
  auto p = load(feat24_model(), {.monitor = 1});
  ASSERT_TRUE(p);
  const Artifact& a = p->artifact();
  ASSERT_EQ(a.model.n_inputs(), 24);
  const Packet base = Packet{}.from(v4(172, 16, 0, 5)).tcp(40001, 443);
  struct Step {
    uint8_t flags;
    int hdr;
    int payload;
    int sleep_ms;  // before this packet
  };
  const std::vector<Step> steps = {
      {kSyn, 40, 0, 0},          {kAck, 32, 0, 1},       {kAck | kPsh, 32, 100, 1}, {kAck, 32, 200, 1},
      {kAck, 32, 300, 1},        {kAck | kPsh, 32, 400, 1}, {kAck | kUrg, 32, 500, 1}, {kAck, 20, 0, 1},
      {kAck, 20, 10, 1100},      {kAck, 20, 10, 1},      {kAck | kFin, 20, 0, 1},
  };
  uint64_t t_bulk0 = 0, t_bulk1 = 0, t0 = mono_ns();
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(steps[i].sleep_ms));
    const Packet q = base.flags(steps[i].flags).payload(steps[i].payload).tcp_header(steps[i].hdr);
    if (i == 2) t_bulk0 = mono_ns();
    EXPECT_EQ(p->run(q), XDP_PASS) << "packet " << i;
    if (i == 6) t_bulk1 = mono_ns();
  }
  uint64_t elapsed = mono_ns() - t0;
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& e = ev[0];
  auto f = [&](const char* name) { return feature(a, e, name); };

  // Exact values, computed from the packets.
  uint64_t n = steps.size(), bytes = 0, sq = 0, payload = 0, hdrs = 0, data = 0, lmax = 0, lmin = ~0ULL, hmin = ~0ULL;
  for (const auto& s : steps) {
    uint64_t len = s.hdr + s.payload;
    bytes += len;
    sq += len * len;
    payload += s.payload;
    hdrs += s.hdr;
    data += s.payload > 0;
    lmax = std::max(lmax, len);
    lmin = std::min(lmin, len);
    hmin = std::min<uint64_t>(hmin, s.hdr);
  }
  // floor(sqrt(population variance)), exactly (128-bit).
  unsigned __int128 var_n2 = (unsigned __int128)n * sq - (unsigned __int128)bytes * bytes;
  uint64_t var = static_cast<uint64_t>(var_n2 / ((unsigned __int128)n * n));
  uint64_t std_len = static_cast<uint64_t>(std::sqrt(static_cast<long double>(var)));
  while (std_len * std_len > var) --std_len;
  while ((std_len + 1) * (std_len + 1) <= var) ++std_len;

  EXPECT_EQ(f("dst_port"), 443u);
  EXPECT_EQ(f("fwd_pkt_count"), n);
  EXPECT_EQ(f("fwd_bytes_total"), bytes);
  EXPECT_EQ(f("fwd_pkt_len_max"), lmax);
  EXPECT_EQ(f("fwd_pkt_len_min"), lmin);
  EXPECT_EQ(f("fwd_pkt_len_std"), std_len);
  EXPECT_EQ(f("fwd_pkt_len_mean"), bytes / n);
  EXPECT_EQ(f("fwd_psh_count"), 2u);
  EXPECT_EQ(f("fwd_urg_count"), 1u);
  EXPECT_EQ(f("fwd_header_len"), hdrs);
  EXPECT_EQ(f("fwd_seg_size_avg"), payload / n);
  EXPECT_EQ(f("fwd_bulk_bytes_avg"), 1500u);  // one bulk: packets 3..7
  EXPECT_EQ(f("fwd_bulk_pkts_avg"), 5u);
  EXPECT_EQ(f("subflow_fwd_pkts"), n / 2);  // the 1.1 s gap starts a second subflow
  EXPECT_EQ(f("subflow_fwd_bytes"), bytes / 2);
  EXPECT_EQ(f("fwd_act_data_pkts"), data);
  EXPECT_EQ(f("fwd_seg_size_min"), hmin);

  // Time-based: exact relations between them, bounds from the clock.
  uint64_t total = f("fwd_iat_total_ns");
  EXPECT_GE(total, 1100 * 1000000ULL);
  EXPECT_LE(total, elapsed);
  EXPECT_EQ(f("fwd_iat_mean_ns"), total / (n - 1));
  uint64_t imax = f("fwd_iat_max_ns"), imin = f("fwd_iat_min_ns");
  EXPECT_GE(imax, 1100 * 1000000ULL);
  EXPECT_LE(imax, total);
  EXPECT_LE(imin, 1000000000ULL);
  EXPECT_LE(imin, imax);
  EXPECT_EQ(f("fwd_pkts_per_s"), n * kSec / total);
  // One gap M and nine small ones: std ~ 0.3 M; whole microseconds.
  uint64_t istd = f("fwd_iat_std_ns");
  EXPECT_EQ(istd % 1000, 0u);
  EXPECT_GE(istd, imax * 28 / 100);
  EXPECT_LE(istd, imax * 32 / 100);
  // Bulk time is at most the time between sending its first and last packet.
  uint64_t rate = f("fwd_bulk_rate_bytes_per_s");
  EXPECT_GE(rate, 1500 * kSec / (t_bulk1 - t_bulk0));
  expect_reference(a.model, e);
}

// The capture pipeline (nnbpf capture): no stages; a flow's end goes straight
// to the finish program with verdict 0; the event carries all 24 features in
// catalog order; nothing is ever blocked; an idle flow is flushed by the
// sweep with the reason user space gives (NNBPF_END_EXIT at exit).
TEST_F(XdpTest, CapturePipelineReportsAllFeaturesWithoutAModel) {
  auto p = load(kCapturePipeline, {.monitor = 1});
  ASSERT_TRUE(p);
  const Artifact& a = p->artifact();
  ASSERT_EQ(a.model.n_inputs(), 24);
  EXPECT_TRUE(a.stage_names.empty());
  EXPECT_TRUE(a.model.mlp().layers.empty());
  for (int i = 0; i < 24; ++i) EXPECT_EQ(a.model.feature_ids[i], i);
  const Packet base = Packet{}.from(v4(172, 16, 0, 9)).tcp(40100, 8443);
  EXPECT_EQ(p->run(base.flags(kSyn)), XDP_PASS);
  EXPECT_EQ(p->run(base.flags(kAck | kPsh).payload(700)), XDP_PASS);
  EXPECT_EQ(p->run(base.flags(kAck | kFin).payload(30)), XDP_PASS);
  const Packet u = base.udp(5000, 8443);
  EXPECT_EQ(p->run(u.payload(64)), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& e = ev[0];
  EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_FIN));
  EXPECT_EQ(e.verdict, 0);
  EXPECT_EQ(e.n_features, 24u);
  EXPECT_EQ(e.n_outputs, 0u);
  EXPECT_EQ(e.feat[0], 8443u);                         // dst_port
  EXPECT_EQ(e.feat[1], 3u);                            // fwd_pkt_count
  EXPECT_EQ(e.feat[2], 20u + 720 + 50);                // fwd_bytes_total
  EXPECT_EQ(e.feat[12], 1u);                           // fwd_psh_count
  EXPECT_EQ(e.feat[22], 2u);                           // fwd_act_data_pkts
  ASSERT_EQ(p->sweep(u.key(), NNBPF_END_EXIT), XDP_PASS);
  ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(NNBPF_END_EXIT));
  EXPECT_EQ(ev[0].key.proto, IPPROTO_UDP);
  EXPECT_EQ(ev[0].feat[1], 1u);
  EXPECT_EQ(ev[0].feat[14], 8u);                       // fwd_header_len: UDP
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_CHAIN_RUNS), 1u);       // the sweep's is not a packet's
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 4u);
  EXPECT_EQ(p->flow_count(), 0u);
  p->expect_no_errors();
}
