// The inference chain (bpf_rt/progs/xdp.bpf.c): a tail call that falls
// through never drops a packet; it is counted, and the flow's scratch is not
// left busy. The last stage finishes the flow itself (no finish tail call).
#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;

namespace {

// An intruder's flow (a packet, then FIN) through a chain that breaks: both
// packets pass, the failed tail call is counted, no verdict, no block.
void expect_broken_flow_passes(XdpTester& p, const Packet& pk) {
  EXPECT_EQ(p.run(pk), XDP_PASS);
  EXPECT_EQ(p.run(pk.flags(kFin)), XDP_PASS) << "never drop because nnbpf failed";
  EXPECT_EQ(p.error(NNBPF_ERR_TAILCALL), 1u);
  EXPECT_TRUE(p.events().empty());
  EXPECT_FALSE(p.blocked(pk.src()));
  EXPECT_EQ(p.stat(NNBPF_STAT_PASSED), 2u);
  EXPECT_EQ(p.stat(NNBPF_STAT_PKTS), 2u);
}

}  // namespace

TEST_F(XdpTest, BrokenChainPassesThePacket) {
  // No stages: the tail call to stage 0 fails.
  auto p = load_intruder({.wire_chain = false});
  ASSERT_TRUE(p);
  const Packet pk;
  expect_broken_flow_passes(*p, pk);
  // The scratch is not left marked busy.
  EXPECT_EQ(p->sweep(pk.key()), XDP_PASS);  // flow already freed at FIN
}

TEST_F(XdpTest, BrokenChainStillRemembersTheClose) {
  // No stages: the tail call to stage 0 fails.
  auto p = load_intruder({.wire_chain = false});
  ASSERT_TRUE(p);
  const Packet pk;
  expect_broken_flow_passes(*p, pk);
  // The connection's remnants start no new flow after the close...
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->stat(NNBPF_STAT_AFTER_CLOSE), 1u);
  EXPECT_EQ(p->sweep(pk.key()), XDP_PASS);  // nothing to classify
  // ...nor does another connection's packet (the closed-flow table's tag)...
  const Packet other = pk.sport(40001);
  EXPECT_EQ(p->run(other), XDP_PASS);
  EXPECT_EQ(p->stat(NNBPF_STAT_AFTER_CLOSE), 1u);
  EXPECT_TRUE(p->flow(other.key()));
  // ...but a SYN on the same 5-tuple does, and the sweep reports the failure.
  EXPECT_EQ(p->run(pk.flags(kSyn)), XDP_PASS);
  EXPECT_EQ(p->sweep(pk.key()), XDP_ABORTED);
  EXPECT_EQ(p->error(NNBPF_ERR_TAILCALL), 2u);
}

TEST_F(XdpTest, LastStageFinishesTheFlowItself) {
  // No finish program in nnbpf_progs: a model's flows do not need one.
  auto p = load_intruder({.wire_finish = false});
  ASSERT_TRUE(p);
  const Packet pk;
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.flags(kFin)), XDP_DROP) << "the intrusion's packet is the first one dropped";
  EXPECT_EQ(p->error(NNBPF_ERR_TAILCALL), 0u);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);  // verdict, block
  EXPECT_EQ(ev[0].verdict, 1);
  EXPECT_EQ(ev[1].type, static_cast<uint32_t>(NNBPF_EV_BLOCK));
  EXPECT_TRUE(p->blocked(pk.src()));
  EXPECT_EQ(p->stat(NNBPF_STAT_INFERENCES), 1u);
}
