// The model's policy beyond evidence (struct nnbpf_policy in bpf_rt/include/nnbpf/abi.h):
// flows outside the model's domain are never classified, unsure flows are
// never evidence, a repeat offender's block TTL doubles up to a maximum, and a
// flow that ends while its source is blocked neither blocks again nor escalates.
#include <chrono>
#include <thread>

#include "test/kernel/framework/checks.h"
#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;

TEST_F(XdpTest, FlowsOutsideTheModelsDomainAreCountedNeverClassified) {
  auto p = load_intruder();
  ASSERT_TRUE(p);
  nnbpf_policy pol{};
  pol.proto_out = NNBPF_PROTO_OUT_UDP;  // a TCP-only model
  p->set_policy(pol);
  const Packet u = Packet{}.from(v4(198, 51, 100, 60)).udp(40000, 53);
  EXPECT_EQ(p->run(u.payload(40)), XDP_PASS);
  EXPECT_EQ(p->run(u.payload(40)), XDP_PASS);
  EXPECT_TRUE(p->flow(u.key())) << "parsed and tracked";
  EXPECT_EQ(p->sweep(u.key()), XDP_PASS);
  EXPECT_FALSE(p->flow(u.key())) << "freed at its end";
  EXPECT_TRUE(p->events().empty()) << "never classified";
  EXPECT_EQ(p->stat(NNBPF_STAT_OUT_OF_DOMAIN), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 0u);
  EXPECT_FALSE(p->blocked(u.src()));
  EXPECT_FALSE(p->evidence(u.src()));
  // TCP from the same source is judged (and, K = 1, blocked).
  EXPECT_EQ(p->run_flow(u.src(), 47000), XDP_DROP);
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 1u);
}

TEST_F(XdpTest, UnsureFlowsAreNeverEvidence) {
  auto p = load_intruder({.abstain = 1});
  ASSERT_TRUE(p);
  nnbpf_policy pol{};
  pol.flags = NNBPF_POLICY_RANGES;
  for (auto& hi : pol.data_hi) hi = 1;  // every flow has a feature above 1
  p->set_policy(pol);
  Addr src = v4(198, 51, 100, 70);
  EXPECT_EQ(p->run_flow(src, 48000), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].verdict, 1);
  EXPECT_TRUE(ev[0].flags & NNBPF_EVF_UNSURE);
  EXPECT_FALSE(ev[0].flags & NNBPF_EVF_EVIDENCE);
  EXPECT_EQ(p->stat(NNBPF_STAT_UNSURE), 1u);
  EXPECT_FALSE(p->blocked(src));
  // Inside the ranges: evidence again.
  for (auto& hi : pol.data_hi) hi = ~0ULL;
  p->set_policy(pol);
  EXPECT_EQ(p->run_flow(src, 48001), XDP_DROP);
}

TEST_F(XdpTest, RepeatOffenderGetsTwiceTheTtl) {
  auto p = load_intruder({.block_ttl_ns = 300 * 1000000ULL, .block_ttl_max_ns = 1000 * 1000000ULL});
  ASSERT_TRUE(p);
  Addr src = v4(198, 51, 100, 80);
  nnbpf_block b{};
  uint64_t want[] = {300, 600, 1000};  // doubled, then capped by the maximum
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(p->run_flow(src, 49000 + round), XDP_DROP) << "round " << round;
    ASSERT_TRUE(p->blocked(src, &b));
    EXPECT_EQ(b.ttl_ns, want[round] * 1000000ULL) << "round " << round;
    // Wait until the block has expired, but not a further TTL.
    std::this_thread::sleep_for(std::chrono::nanoseconds(b.expires_ns - mono_ns() + 30 * 1000000ULL));
  }
  // Quiet for longer than the last TTL after the block ended: back to the base TTL.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(p->run_flow(src, 49010), XDP_DROP);
  ASSERT_TRUE(p->blocked(src, &b));
  EXPECT_EQ(b.ttl_ns, 300 * 1000000ULL);
}

TEST_F(XdpTest, FlowEndingWhileItsSourceIsBlockedNeitherBlocksAgainNorEscalates) {
  auto p = load_intruder({.block_ttl_ns = 60000 * 1000000ULL, .block_ttl_max_ns = 600000 * 1000000ULL});
  ASSERT_TRUE(p);
  Addr src = v4(198, 51, 100, 81);
  const Packet open = Packet{}.from(src).sport(49100);
  EXPECT_EQ(p->run(open.flags(kSyn)), XDP_PASS);  // a flow that began before the block
  EXPECT_EQ(p->run_flow(src, 49101), XDP_DROP);
  nnbpf_block first{};
  ASSERT_TRUE(p->blocked(src, &first));
  EXPECT_EQ(first.ttl_ns, 60000 * 1000000ULL);
  p->events();
  // The idle sweep classifies the older flow: an intrusion, counted as evidence,
  // but the block in force stays as it was and no block event is sent.
  p->sweep(open.key());
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
  EXPECT_TRUE(ev[0].flags & NNBPF_EVF_EVIDENCE);
  nnbpf_block now{};
  ASSERT_TRUE(p->blocked(src, &now));
  EXPECT_EQ(now.ttl_ns, first.ttl_ns) << "not escalated";
  EXPECT_EQ(now.expires_ns, first.expires_ns);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 1u);
  // An operator's block is never replaced by the model's either.
  Addr op = v4(198, 51, 100, 82);
  const Packet op_flow = Packet{}.from(op).sport(49102);
  EXPECT_EQ(p->run(op_flow.flags(kSyn)), XDP_PASS);
  p->block(op, 0);
  p->sweep(op_flow.key());
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(op, &b));
  EXPECT_EQ(b.by, static_cast<uint32_t>(NNBPF_BLOCK_BY_USER));
  EXPECT_EQ(b.expires_ns, 0u) << "still permanent";
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 1u);
}
