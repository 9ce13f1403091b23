// Ending idle flows: the sweep program on one key (what user space runs for
// an idle flow), and the in-kernel sweep (runtime/sweep.h, nnbpf_sweep_scan)
// over the whole table, with the embryonic and idle timeouts and the exit flush.
#include <bpf/bpf.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/sweep.h"
#include "test/kernel/framework/checks.h"
#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;

TEST_F(XdpTest, SweepClassifiesAnIdleFlowAndFreesIt) {
  auto p = load(top6_model(), {.monitor = 1});
  ASSERT_TRUE(p);
  const Packet pk = Packet{}.udp(40000, 5353).payload(60);
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->run(pk.payload(10)), XDP_PASS);
  uint64_t passed = p->stat(NNBPF_STAT_PASSED);
  EXPECT_EQ(p->sweep(pk.key()), XDP_PASS);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& e = ev[0];
  EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_IDLE));
  EXPECT_TRUE(same_key(e.key, pk.key()));
  EXPECT_EQ(feature(p->artifact(), e, "fwd_pkt_count"), 2u);
  EXPECT_EQ(feature(p->artifact(), e, "fwd_pkt_len_max"), 68u);
  EXPECT_EQ(feature(p->artifact(), e, "fwd_pkt_len_min"), 18u);
  EXPECT_EQ(feature(p->artifact(), e, "fwd_header_len"), 16u);
  expect_reference(p->artifact().model, e);
  EXPECT_FALSE(p->flow(pk.key()));
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 1u);
  EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), passed) << "a sweep is not a packet";
  // Gone: no event.
  EXPECT_EQ(p->sweep(pk.key()), XDP_PASS);
  EXPECT_TRUE(p->events().empty());
  // Bad magic: refused.
  EXPECT_EQ(p->sweep(pk.key(), NNBPF_END_IDLE, 0x12345678), XDP_ABORTED);
  EXPECT_EQ(p->error(NNBPF_ERR_PACKET), 1u);
}

TEST_F(XdpTest, SweepOfAnIntruderBlocksIt) {
  auto p = load_intruder();
  ASSERT_TRUE(p);
  const Packet pk = Packet{}.from(v4(203, 0, 113, 77));
  EXPECT_EQ(p->run(pk), XDP_PASS);
  EXPECT_EQ(p->sweep(pk.key()), XDP_DROP);
  EXPECT_TRUE(p->blocked(pk.src()));
  EXPECT_EQ(p->events().size(), 2u);
  EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 0u) << "no packet was dropped";
}

// The in-kernel sweep (runtime/sweep.h, nnbpf_sweep_scan): exactly the flows
// idle for their timeout are classified, with their reason; the others stay.
TEST_F(XdpTest, InKernelSweepClassifiesExactlyTheIdleFlows) {
  auto p = load(top6_model(), {.monitor = 1});
  ASSERT_TRUE(p);
  // A port-scan probe: one SYN, never the handshake's ACK.
  const Packet syn = Packet{}.flags(kSyn).sport(41001);
  // An established connection: SYN, ACK, a request, then idle.
  const Packet est = Packet{}.sport(41002);
  // One UDP datagram, then idle: a UDP scan's probe.
  const Packet udp = Packet{}.udp(41003, 53).payload(30);
  // Two datagrams, then idle.
  const Packet udp2 = udp.sport(41005);
  EXPECT_EQ(p->run(syn), XDP_PASS);
  EXPECT_EQ(p->run(est.flags(kSyn)), XDP_PASS);
  EXPECT_EQ(p->run(est), XDP_PASS);
  EXPECT_EQ(p->run(est.flags(kAck | kPsh).payload(100)), XDP_PASS);
  EXPECT_EQ(p->run(udp), XDP_PASS);
  EXPECT_EQ(p->run(udp2), XDP_PASS);
  EXPECT_EQ(p->run(udp2), XDP_PASS);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // An active flow: a packet just now.
  const Packet fresh = Packet{}.flags(kSyn).sport(41004);
  EXPECT_EQ(p->run(fresh), XDP_PASS);
  ASSERT_EQ(p->flow_count(), 5u);

  // Embryonic timeout 200 ms, idle timeout 10 s: only the one-packet flows,
  // the SYN and the single datagram.
  auto emb = nnbpf::runtime::IdleSweep::attach(p->object(), {10 * kSec, kSec / 5});
  ASSERT_TRUE(emb) << emb.error().message;
  auto n = (*emb)->run();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  auto ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  for (const auto& e : ev) {
    EXPECT_TRUE(same_key(e.key, syn.key()) || same_key(e.key, udp.key()));
    EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_EMBRYONIC));
    expect_reference(p->artifact().model, e);
  }
  EXPECT_NE(ev[0].key.sport, ev[1].key.sport);
  EXPECT_FALSE(p->flow(syn.key()));
  EXPECT_FALSE(p->flow(udp.key()));
  EXPECT_TRUE(p->flow(est.key())) << "an established idle flow is not swept early";
  EXPECT_TRUE(p->flow(udp2.key())) << "a two-datagram flow waits for the idle timeout";
  EXPECT_TRUE(p->flow(fresh.key()));

  // Idle timeout 200 ms: the established and the two-datagram flow, not the fresh one.
  auto idle = nnbpf::runtime::IdleSweep::attach(p->object(), {kSec / 5, 0});
  ASSERT_TRUE(idle) << idle.error().message;
  n = (*idle)->run();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  ev = p->events();
  ASSERT_EQ(ev.size(), 2u);
  for (const auto& e : ev) {
    EXPECT_EQ(e.reason, static_cast<uint32_t>(NNBPF_END_IDLE));
    EXPECT_TRUE(same_key(e.key, est.key()) || same_key(e.key, udp2.key()));
    expect_reference(p->artifact().model, e);
  }
  EXPECT_NE(ev[0].key.sport, ev[1].key.sport);
  EXPECT_EQ(p->flow_count(), 1u);
  EXPECT_TRUE(p->flow(fresh.key())) << "an active flow is never swept";

  // The exit flush takes every flow left, with its reason.
  n = (*idle)->flush(NNBPF_END_EXIT, nullptr);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1u);
  ev = p->events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, static_cast<uint32_t>(NNBPF_END_EXIT));
  EXPECT_EQ(p->flow_count(), 0u);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), 5u);
}

// A pass over more due flows than one scan returns (NNBPF_SWEEP_BATCH, 65,536: the
// scan runs again) finds every idle one and nothing else.
TEST_F(XdpTest, InKernelSweepOverManyFlows) {
  auto p = load(top6_model(), {.monitor = 1, .max_flows = 1 << 18});
  ASSERT_TRUE(p);
  int flows = p->map(NNBPF_MAP_FLOWS);
  std::vector<uint8_t> val(p->flow_value_size(), 0);
  const uint64_t now = mono_ns();
  constexpr uint32_t kFlows = 150000;
  uint32_t idle = 0;
  for (uint32_t i = 0; i < kFlows; ++i) {
    const Packet pk =
        Packet{}.from(v4(10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)))
            .udp(1024, 80);
    nnbpf_flow_hdr h{};
    h.pkts = 3;
    h.last_ns = i % 2 == 0 ? now - 20 * kSec : now + 60 * kSec;  // every other one idle
    idle += i % 2 == 0;
    std::memcpy(val.data(), &h, sizeof h - sizeof h.pad);
    nnbpf_flow_key k = pk.key();
    ASSERT_EQ(bpf_map_update_elem(flows, &k, val.data(), BPF_NOEXIST), 0) << i;
  }
  auto sw = nnbpf::runtime::IdleSweep::attach(p->object(), {10 * kSec, kSec});
  ASSERT_TRUE(sw) << sw.error().message;
  auto n = (*sw)->run();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, idle);
  EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_ENDED), idle);
  EXPECT_EQ(p->flow_count(), kFlows - idle);
}
