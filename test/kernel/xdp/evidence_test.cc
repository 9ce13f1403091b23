// Evidence-based blocking (bpf_rt/include/nnbpf/evidence.h): a source (or its
// prefix) is blocked after K intrusion verdicts within the window, or a share
// of its classified flows; a verdict below the margin floor or of an ignored
// class is no evidence.
#include <chrono>
#include <thread>

#include "test/kernel/framework/checks.h"
#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;

TEST_F(XdpTest, EvidenceBlocksAfterKVerdictsInTheWindow) {
  auto p = load_intruder({.block_after = 3});
  ASSERT_TRUE(p);
  Addr src = v4(203, 0, 113, 20);
  EXPECT_EQ(p->run_flow(src, 41000), XDP_PASS);
  EXPECT_EQ(p->run_flow(src, 41001), XDP_PASS);
  EXPECT_FALSE(p->blocked(src)) << "two verdicts are not enough for K = 3";
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].ev_hits, 1u);
  EXPECT_EQ(ev[1].ev_hits, 2u);
  EXPECT_EQ(ev[1].ev_flows, 2u);
  EXPECT_TRUE(ev[1].flags & NNBPF_EVF_EVIDENCE);
  EXPECT_EQ(p->run_flow(src, 41002), XDP_DROP) << "the third verdict blocks";
  ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].type, static_cast<uint32_t>(NNBPF_EV_BLOCK));
  EXPECT_EQ(ev[1].ev_hits, 3u);
  EXPECT_EQ(ev[1].ev_flows, 3u);
  EXPECT_EQ(ev[1].block_ttl_ns, 300 * kSec);
  EXPECT_GT(ev[1].margin, 0);
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(src, &b));
  EXPECT_EQ(b.by, static_cast<uint32_t>(NNBPF_BLOCK_BY_MODEL));
  EXPECT_EQ(b.hits, 3u);
  EXPECT_EQ(b.flows, 3u);
  EXPECT_EQ(b.class_id, 1u);
  EXPECT_EQ(b.margin, ev[1].margin);
  EXPECT_EQ(b.prefixlen, 128u);
  nnbpf_evidence e{};
  ASSERT_TRUE(p->evidence(src, &e));
  EXPECT_EQ(e.blocks, 1u);
  uint32_t left = 0;
  for (const auto& bk : e.b) left += bk.hits + bk.flows;
  EXPECT_EQ(left, 0u) << "a block starts the prefix's evidence afresh";
  EXPECT_EQ(p->stat(NNBPF_STAT_EVIDENCE), 3u);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 1u);
}

TEST_F(XdpTest, EvidenceShareOfClassifiedFlows) {
  auto p = load(top6_model(), {.block_after = 2, .min_share_milli = 500});
  ASSERT_TRUE(p);
  const auto& m = p->artifact().model;
  Addr src = v4(198, 51, 100, 30);
  ASSERT_EQ(p->write_model(always_benign(m), 2), "");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(p->run_flow(src, 42000 + i), XDP_PASS);
  ASSERT_EQ(p->write_model(always_intrusion(m), 3), "");
  // 1 of 5, 2 of 6, 3 of 7: below half; 4 of 8: half.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p->run_flow(src, 42010 + i), XDP_PASS) << "intrusion " << i + 1;
  EXPECT_FALSE(p->blocked(src));
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 7u);
  EXPECT_EQ(ev[6].ev_hits, 3u);
  EXPECT_EQ(ev[6].ev_flows, 7u);
  EXPECT_EQ(p->run_flow(src, 42020), XDP_DROP);
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(src, &b));
  EXPECT_EQ(b.hits, 4u);
  EXPECT_EQ(b.flows, 8u);
}

TEST_F(XdpTest, EvidenceWindowExpires) {
  auto p = load_intruder({.window_ns = 400 * 1000000ULL /* steps of 50 ms */, .block_after = 2});
  ASSERT_TRUE(p);
  Addr src = v4(198, 51, 100, 40);
  EXPECT_EQ(p->run_flow(src, 43000), XDP_PASS);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the window
  EXPECT_EQ(p->run_flow(src, 43001), XDP_PASS) << "the first verdict left the window";
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].ev_hits, 1u);
  EXPECT_EQ(ev[1].ev_flows, 1u);
  EXPECT_EQ(p->run_flow(src, 43002), XDP_DROP) << "two inside the window";
}

TEST_F(XdpTest, EvidenceMarginFloor) {
  auto p = load_intruder();  // block after 1
  ASSERT_TRUE(p);
  // Learn the model's margin on a flow from an allowlisted source.
  Addr probe = v4(192, 0, 2, 1);
  p->allow(probe, 128);
  EXPECT_EQ(p->run_flow(probe, 44000), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  int64_t margin = ev[0].margin;
  EXPECT_EQ(margin, ev[0].logits[1] - ev[0].logits[0]);
  ASSERT_GT(margin, 0);

  nnbpf_policy pol{};
  pol.flags = NNBPF_POLICY_MARGIN;
  pol.min_margin = margin + 1;
  p->set_policy(pol);
  Addr src = v4(198, 51, 100, 50);
  EXPECT_EQ(p->run_flow(src, 44001), XDP_PASS) << "margin below the floor: not evidence";
  ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].verdict, 1);
  EXPECT_FALSE(ev[0].flags & NNBPF_EVF_EVIDENCE);
  EXPECT_EQ(ev[0].ev_hits, 0u);
  EXPECT_EQ(ev[0].ev_flows, 1u);
  pol.min_margin = margin;
  p->set_policy(pol);
  EXPECT_EQ(p->run_flow(src, 44002), XDP_DROP) << "margin at the floor counts";

  // A class that does not count (class_ignore) is never evidence.
  nnbpf_policy ign{};
  ign.class_ignore = 1 | 2;
  p->set_policy(ign);
  Addr other = v4(198, 51, 100, 51);
  EXPECT_EQ(p->run_flow(other, 44003), XDP_PASS);
  EXPECT_FALSE(p->blocked(other));
}

TEST_F(XdpTest, EvidenceGroupsSourcesByPrefix) {
  auto p = load_intruder({.block_after = 2, .prefix_v4 = 24, .prefix_v6 = 64});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->run_flow(v4(10, 1, 2, 3), 45000), XDP_PASS);
  EXPECT_TRUE(p->evidence(v4(10, 1, 2, 0)));
  EXPECT_FALSE(p->evidence(v4(10, 1, 2, 3))) << "evidence is keyed by the /24";
  EXPECT_EQ(p->run_flow(v4(10, 1, 2, 77), 45001), XDP_DROP) << "second verdict of the /24";
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(v4(10, 1, 2, 0), &b));
  EXPECT_EQ(b.prefixlen, 96u + 24);
  const Packet same = Packet{}.from(v4(10, 1, 2, 200));
  EXPECT_EQ(p->run(same), XDP_DROP) << "the whole /24 is blocked";
  const Packet next = Packet{}.from(v4(10, 1, 3, 1));
  EXPECT_EQ(p->run(next), XDP_PASS);

  auto six = [](const char* src, uint16_t sport, uint8_t flags) {
    return Packet{}.ipv6(v6(src)).sport(sport).flags(flags);
  };
  EXPECT_EQ(p->run(six("2001:db8:1:2::1", 46000, kRst)), XDP_PASS);
  EXPECT_TRUE(p->evidence(v6("2001:db8:1:2::")));
  EXPECT_EQ(p->run(six("2001:db8:1:2:aaaa::99", 46001, kRst)), XDP_DROP);
  ASSERT_TRUE(p->blocked(v6("2001:db8:1:2::"), &b));
  EXPECT_EQ(b.prefixlen, 64u);
  EXPECT_EQ(p->run(six("2001:db8:1:2:ffff::5", 46002, kAck)), XDP_DROP);
  EXPECT_EQ(p->run(six("2001:db8:1:3::1", 46003, kAck)), XDP_PASS) << "another /64";
  auto ev = p->events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().type, static_cast<uint32_t>(NNBPF_EV_BLOCK));
  EXPECT_EQ(ev.back().prefixlen, 64u);
}
