// The host filter, blocking and the allowlist (bpf_rt/progs/xdp.bpf.c: the
// host filter of nnbpf_xdp, nnbpf_flow_finish): a blocked source is dropped
// before flow tracking, an expired block is deleted on sight, an intrusion
// blocks its source unless allowlisted, monitor mode never drops.
#include <bpf/bpf.h>

#include "runtime/block_gen.h"
#include "test/kernel/framework/checks.h"
#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;

TEST_F(XdpTest, BlockedSourceIsDroppedAndCounted) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  const Packet bad = Packet{}.from(v4(203, 0, 113, 66));
  p->block(bad.src(), 0);
  EXPECT_EQ(p->run(bad), XDP_DROP);
  EXPECT_EQ(p->run(bad.flags(kFin)), XDP_DROP);
  EXPECT_EQ(p->run(bad.icmp()), XDP_DROP);
  const Packet good;
  EXPECT_EQ(p->run(good), XDP_PASS);
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(bad.src(), &b));
  EXPECT_EQ(b.drops, 3u);
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 3u);
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_PKTS), 4u);
  EXPECT_FALSE(p->flow(bad.key())) << "no flow state for a blocked source";
  EXPECT_TRUE(p->flow(good.key()));
  EXPECT_TRUE(p->events().empty());

  // IPv6 source.
  const Packet bad6 = Packet{}.ipv6(v6("2001:db8:bad::1"));
  p->block(bad6.src(), mono_ns() + 60 * kSec);
  EXPECT_EQ(p->run(bad6), XDP_DROP);
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 4u);
}

// The host filter skips its lookup only while user space has seen
// nnbpf_blocked empty and nothing was inserted since (runtime/block_gen.h).
TEST_F(XdpTest, HostFilterLookupIsSkippedOnlyWhileNoBlockExists) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  auto gen = nnbpf::runtime::BlockGen::map(p->map(NNBPF_MAP_BLOCK_GEN));
  ASSERT_TRUE(gen) << gen.error().message;
  const int blocked_fd = p->map(NNBPF_MAP_BLOCKED);
  const Packet bad = Packet{}.from(v4(203, 0, 113, 77));
  // A fresh pipeline looks up: even a block written without a bump is seen.
  p->block(bad.src(), 0);
  EXPECT_EQ(p->run(bad), XDP_DROP);
  EXPECT_FALSE(gen->mark_if_empty(blocked_fd)) << "never marked empty while an entry exists";
  EXPECT_EQ(p->run(bad), XDP_DROP);
  // Seen empty: the lookup is skipped, which an insert without a bump shows.
  ASSERT_EQ(bpf_map_delete_elem(blocked_fd, bad.src().data()), 0);
  EXPECT_TRUE(gen->mark_if_empty(blocked_fd));
  p->block(bad.src(), 0);
  EXPECT_EQ(p->run(bad), XDP_PASS) << "no lookup while the map was seen empty";
  gen->bump();  // what every user-space insert does after it (nnbpf hosts add)
  EXPECT_EQ(p->run(bad), XDP_DROP) << "looked up again after the bump";
  // The policy's own blocks bump in BPF: the source's next packet is dropped.
  ASSERT_EQ(bpf_map_delete_elem(blocked_fd, bad.src().data()), 0);
  EXPECT_TRUE(gen->mark_if_empty(blocked_fd));
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_model(bad_model, 2), "");
  EXPECT_EQ(p->run(bad.flags(kSyn | kFin)), XDP_DROP) << "the intrusion's ending packet";
  EXPECT_TRUE(p->blocked(bad.src()));
  const Packet again = bad.sport(50001);
  EXPECT_EQ(p->run(again), XDP_DROP) << "a model block turns the lookup on";
  EXPECT_FALSE(gen->mark_if_empty(blocked_fd));
}

TEST_F(XdpTest, ExpiredBlockIsDeletedOnSight) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  const Packet pk = Packet{}.from(v4(198, 51, 100, 7));
  p->block(pk.src(), mono_ns() - 1);
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_FALSE(p->blocked(pk.src()));
  EXPECT_EQ(p->stat(NNBPF_STAT_EXPIRED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 0u);
  EXPECT_TRUE(p->flow(pk.key())) << "the packet went on to flow tracking";
}

TEST_F(XdpTest, IntrusionBlocksItsSource) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_model(bad_model, 2), "");
  const Packet pk = Packet{}.from(v4(203, 0, 113, 9));
  EXPECT_EQ(p->run(pk.flags(kSyn)), XDP_PASS);
  EXPECT_EQ(p->run(pk.payload(300)), XDP_PASS);
  uint64_t before = mono_ns();
  EXPECT_EQ(p->run(pk.flags(kFin | kAck)), XDP_DROP) << "the ending packet of an intrusion is dropped";
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
  EXPECT_EQ(ev[0].verdict, 1);
  expect_reference(bad_model, ev[0]);
  EXPECT_EQ(ev[1].type, static_cast<uint32_t>(NNBPF_EV_BLOCK));
  EXPECT_TRUE(same_key(ev[1].key, pk.key()));
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(pk.src(), &b));
  EXPECT_EQ(b.by, static_cast<uint32_t>(NNBPF_BLOCK_BY_MODEL));
  EXPECT_GE(b.expires_ns, before + 300 * kSec);
  EXPECT_LE(b.expires_ns, mono_ns() + 300 * kSec);
  EXPECT_EQ(ev[1].block_expires_ns, b.expires_ns);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 1u);
  // From now on the source is dropped before flow tracking.
  const Packet again = pk.sport(50000);
  EXPECT_EQ(p->run(again), XDP_DROP);
  EXPECT_FALSE(p->flow(again.key()));
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 2u);
}

TEST_F(XdpTest, AllowlistedIntruderIsNeverBlocked) {
  auto p = load(top6_model());
  ASSERT_TRUE(p);
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_model(bad_model, 2), "");
  p->allow(v4(10, 0, 0, 0), 96 + 8);  // 10.0.0.0/8
  p->allow(v6("2001:db8:1::"), 48);
  const Packet pk = Packet{}.from(v4(10, 1, 2, 3));
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.flags(kFin)), XDP_PASS);
  const Packet pk6 = Packet{}.ipv6(v6("2001:db8:1::99"));
  EXPECT_EQ(p->run(pk6.flags(kRst)), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u) << "verdict events only, no block";
  for (const auto& e : ev) {
    EXPECT_EQ(e.type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
    EXPECT_EQ(e.verdict, 1);
  }
  EXPECT_FALSE(p->blocked(pk.src()));
  EXPECT_FALSE(p->blocked(pk6.src()));
  EXPECT_EQ(p->stat(NNBPF_STAT_ALLOWED), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), 2u);

  // Outside the prefix: blocked.
  const Packet out = Packet{}.from(v4(11, 0, 0, 1));
  EXPECT_EQ(p->run(out.flags(kFin)), XDP_DROP);
  EXPECT_TRUE(p->blocked(out.src()));
}

TEST_F(XdpTest, MonitorModeNeverDropsOrBlocks) {
  auto p = load(top6_model(), {.monitor = 1});
  ASSERT_TRUE(p);
  auto bad_model = always_intrusion(p->artifact().model);
  ASSERT_EQ(p->write_model(bad_model, 2), "");
  const Packet pk = Packet{}.from(v4(203, 0, 113, 10));
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.flags(kFin)), XDP_PASS);
  EXPECT_FALSE(p->blocked(pk.src()));
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].verdict, 1);
  EXPECT_EQ(p->stat(NNBPF_STAT_INTRUSIONS), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_BLOCKS), 0u);
  // A user's block entry is reported but does not drop either.
  const Packet u = Packet{}.from(v4(203, 0, 113, 11));
  p->block(u.src(), 0);
  EXPECT_EQ(p->run(u), XDP_PASS);
  EXPECT_TRUE(p->flow(u.key()));
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 0u);
}

TEST_F(XdpTest, BlockTtlZeroNeverExpires) {
  auto p = load_intruder({.block_ttl_ns = 0});
  ASSERT_TRUE(p);
  const Packet pk;
  EXPECT_EQ(p->run(pk.flags(kRst)), XDP_DROP);
  nnbpf_block b{};
  ASSERT_TRUE(p->blocked(pk.src(), &b));
  EXPECT_EQ(b.expires_ns, 0u);
}
