// Flow mechanics (bpf_rt/include/nnbpf/flow.h): a flow's packets update its
// state; FIN and RST end it; every N packets classifies and keeps it; a full
// table evicts and keeps tracking. The ending event carries features computed
// by hand and logits equal to the reference interpreter's.
#include <chrono>
#include <thread>

#include "test/kernel/framework/checks.h"
#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;
using nnbpf::compiler::Artifact;

namespace {

void expect_fin_flow_top6(std::unique_ptr<XdpTester> p) {
  ASSERT_TRUE(p);
  const Artifact& a = p->artifact();
  const Packet base = Packet{}.from(v4(192, 168, 7, 9)).tcp(51515, 8080);
  // SYN (options: 40-byte header), three data packets, FIN.
  const Packet data = base.flags(kAck | kPsh).tcp_header(32);
  const std::vector<Packet> pkts = {base.flags(kSyn).tcp_header(40), data.payload(100), data.payload(1400),
                                    data.payload(20), data.flags(kFin | kAck)};

  uint64_t t0 = mono_ns();
  int action = -1;
  for (size_t i = 0; i < pkts.size(); ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    action = p->run(pkts[i]);
    if (i + 1 < pkts.size()) {
      EXPECT_EQ(action, XDP_PASS) << "packet " << i;
      nnbpf_flow_hdr h{};
      ASSERT_TRUE(p->flow(base.key(), &h));
      EXPECT_EQ(h.pkts, i + 1);
    }
  }
  uint64_t elapsed = mono_ns() - t0;

  auto ev = p->events();
  ASSERT_GE(ev.size(), 1u);
  const auto& e = ev[0];
  EXPECT_EQ(ev.size(), e.verdict ? 2u : 1u);
  EXPECT_EQ(action, e.verdict ? XDP_DROP : XDP_PASS);
  EXPECT_EQ(e.type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
  EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_FIN));
  EXPECT_TRUE(same_key(e.key, base.key()));
  // By hand: packet lengths 40, 132, 1432, 52, 32; header lengths 40 + 4 * 32.
  EXPECT_EQ(feature(a, e, "fwd_pkt_len_max"), 1432u);
  EXPECT_EQ(feature(a, e, "fwd_pkt_len_min"), 32u);
  EXPECT_EQ(feature(a, e, "fwd_header_len"), 168u);
  EXPECT_EQ(feature(a, e, "fwd_pkt_count"), 5u);
  EXPECT_EQ(feature(a, e, "dst_port"), 8080u);
  uint64_t iat = feature(a, e, "fwd_iat_max_ns");
  EXPECT_GE(iat, 2000000u);
  EXPECT_LE(iat, elapsed);
  expect_reference(a.model, e);
  EXPECT_GT(e.infer_ns, 0u);
  EXPECT_LT(e.infer_ns, elapsed);
  EXPECT_LT(e.extract_ns, elapsed);
  EXPECT_GE(e.ts_ns, t0);
  EXPECT_EQ(e.slot, 0u);

  EXPECT_FALSE(p->flow(base.key()));
  EXPECT_EQ(p->stat(NNBPF_STAT_PKTS), 5u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), e.verdict ? 1u : 0u);
  if (e.verdict) {
    EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 1u);
    EXPECT_TRUE(p->blocked(base.src()));
  } else {
    EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 5u);
  }
  EXPECT_EQ(p->stat(NNBPF_STAT_EVENTS_LOST), 0u);
  // The inference chain's time, for nnbpf stats --programs: the same clock
  // reads as the event's infer_ns.
  EXPECT_EQ(p->stat(NNBPF_STAT_CHAIN_RUNS), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_CHAIN_NS), e.infer_ns);
  p->expect_no_errors();
}

}  // namespace

TEST_F(XdpTest, FinFlowFeaturesAndLogits) { expect_fin_flow_top6(load(top6_model())); }

TEST_F(XdpTest, FinFlowFeaturesAndLogitsReproModel) { expect_fin_flow_top6(load(repro_model())); }

TEST_F(XdpTest, RstEndsAFlowAndAOnePacketFlowIsNeverStored) {
  auto p = load(top6_model(), {.monitor = 1});
  ASSERT_TRUE(p);
  const Packet a = Packet{}.dport(22);
  EXPECT_EQ(p->run(a), XDP_PASS);
  EXPECT_EQ(p->run(a.flags(kRst)), XDP_PASS);
  const Packet b = a.sport(1234);  // a new flow whose first packet is an RST
  EXPECT_EQ(p->run(b.flags(kRst | kAck)), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(NNBPF_END_RST));
  EXPECT_EQ(feature(p->artifact(), ev[0], "fwd_pkt_count"), 2u);
  EXPECT_EQ(ev[1].reason, static_cast<uint32_t>(NNBPF_END_RST));
  EXPECT_TRUE(same_key(ev[1].key, b.key()));
  EXPECT_EQ(feature(p->artifact(), ev[1], "fwd_pkt_count"), 1u);
  EXPECT_EQ(feature(p->artifact(), ev[1], "fwd_iat_max_ns"), 0u);
  for (const auto& e : ev) expect_reference(p->artifact().model, e);
  EXPECT_EQ(p->flow_count(), 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 2u);
}

TEST_F(XdpTest, EveryNPacketsClassifiesAndKeepsTheFlow) {
  auto p = load(top6_model(), {.monitor = 1, .every_packets = 3});
  ASSERT_TRUE(p);
  const Packet pk = Packet{}.payload(50);
  for (int i = 1; i <= 7; ++i) {
    EXPECT_EQ(p->run(i == 7 ? pk.flags(kFin | kAck) : pk), XDP_PASS) << "packet " << i;
    auto ev = p->events();
    if (i % 3 == 0 || i == 7) {
      ASSERT_EQ(ev.size(), 1u) << "packet " << i;
      EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(i == 7 ? NNBPF_END_FIN : NNBPF_END_EVERY_N));
      EXPECT_EQ(feature(p->artifact(), ev[0], "fwd_pkt_count"), static_cast<uint64_t>(i));
      expect_reference(p->artifact().model, ev[0]);
    } else {
      EXPECT_TRUE(ev.empty()) << "packet " << i;
    }
    nnbpf_flow_hdr h{};
    if (i < 7) {
      ASSERT_TRUE(p->flow(pk.key(), &h)) << "kept after packet " << i;
      EXPECT_EQ(h.pkts, static_cast<uint32_t>(i));
    } else {
      EXPECT_FALSE(p->flow(pk.key()));
    }
  }
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 3u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 1u);
}

TEST_F(XdpTest, EveryPacketIncludingTheFirst) {
  auto p = load(top6_model(), {.monitor = 1, .every_packets = 1});
  ASSERT_TRUE(p);
  const Packet pk;
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(feature(p->artifact(), ev[0], "fwd_pkt_count"), 1u);
  EXPECT_EQ(feature(p->artifact(), ev[1], "fwd_pkt_count"), 2u);
  EXPECT_TRUE(p->flow(pk.key()));
}

TEST_F(XdpTest, FullFlowTableEvictsAndKeepsTracking) {
  auto p = load(top6_model(), {.max_flows = 64});
  ASSERT_TRUE(p);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(p->run(Packet{}.sport(static_cast<uint16_t>(10000 + i))), XDP_PASS);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), 300u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOW_FULL), 0u);
  EXPECT_LE(p->flow_count(), 64u);
  EXPECT_TRUE(p->flow(Packet{}.sport(10000 + 299).key())) << "the newest flow is tracked";
}
