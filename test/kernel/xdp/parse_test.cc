// Parser fixtures (bpf_rt/include/nnbpf/parse.h): each packet shape with what
// the pipeline must make of it — a flow, an IP packet the host filter sees but
// no flow, or something passed untouched — and the same flow in every
// encapsulation giving the same features.
#include "test/kernel/framework/checks.h"
#include "test/kernel/framework/xdp_tester.h"

using namespace nnbpf::testing;
using nnbpf::compiler::Artifact;

namespace {

enum class Kind { Flow, IpOnly, Other };

struct ParseFixture {
  const char* description;
  Packet pkt;
  Kind kind;
};

std::vector<ParseFixture> parse_fixtures() {
  const Packet tcp4;
  const Packet tcp6 = tcp4.ipv6().payload(48);
  return {
      {"IPv4 TCP", tcp4, Kind::Flow},
      {"IPv4 TCP with IP options (IHL 8) and TCP options", tcp4.ip_header(32).tcp_header(32).payload(100), Kind::Flow},
      {"IPv4 TCP, IHL 15 and data offset 15", tcp4.ip_header(60).tcp_header(60), Kind::Flow},
      {"IPv4 IHL 4 (malformed)", tcp4.ip_header(16), Kind::Other},
      {"IPv4 total length shorter than the header", tcp4.ip_len_delta(-40), Kind::Other},
      {"IPv4 first fragment (MF, offset 0)", tcp4.frag(0x2000).payload(200), Kind::Flow},
      {"IPv4 non-first fragment", tcp4.frag(185) /* offset 1480 */, Kind::IpOnly},
      {"TCP data offset 4 (malformed)", tcp4.tcp_header(16), Kind::IpOnly},
      {"TCP header cut short", tcp4.truncate(14 + 20 + 10), Kind::IpOnly},
      {"TCP options run past the packet end", tcp4.tcp_header(60).truncate(14 + 20 + 40), Kind::IpOnly},
      {"IPv4 UDP", tcp4.udp(40000, 53).payload(33), Kind::Flow},
      {"IPv4 ICMP", tcp4.icmp(), Kind::IpOnly},
      {"ARP", tcp4.arp(), Kind::Other},
      {"Ethernet header only (IPv4 EtherType)", tcp4.truncate(14), Kind::Other},
      {"802.1Q VLAN, IPv4 TCP", tcp4.vlans({0x8100}).payload(10), Kind::Flow},
      {"802.1ad + 802.1Q (QinQ), IPv4 TCP", tcp4.vlans({0x88A8, 0x8100}).payload(10), Kind::Flow},
      {"three VLAN tags (more than parsed)", tcp4.vlans({0x88A8, 0x8100, 0x8100}), Kind::Other},
      {"IPv6 TCP", tcp6, Kind::Flow},
      {"IPv6 TCP after hop-by-hop and destination options", tcp6.ext({IPPROTO_HOPOPTS, IPPROTO_DSTOPTS}), Kind::Flow},
      {"IPv6 UDP after a routing header", tcp6.udp(40000, 443).ext({IPPROTO_ROUTING}), Kind::Flow},
      {"IPv6 TCP after four extension headers, first fragment last",
       tcp6.ext({IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT}), Kind::Flow},
      {"IPv6 non-first fragment", tcp6.ext({IPPROTO_FRAGMENT}).frag(100), Kind::IpOnly},
      {"IPv6 with five extension headers (more than skipped)",
       tcp6.ext({IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS}), Kind::IpOnly},
      {"802.1Q VLAN, IPv6 TCP", tcp6.vlans({0x8100}), Kind::Flow},
      {"ICMPv6", tcp6.icmp(), Kind::IpOnly},
  };
}

// A flow packet's second packet: TCP ends with FIN, UDP is swept; the event
// carries this packet's lengths exactly.
void expect_flow_ends_with_its_features(XdpTester& p, const Packet& pkt) {
  const Artifact& a = p.artifact();
  nnbpf_flow_hdr h{};
  ASSERT_TRUE(p.flow(pkt.key(), &h)) << "flow key as expected";
  EXPECT_EQ(h.pkts, 1u);
  EXPECT_GT(h.last_ns, 0u);
  EXPECT_LE(h.last_ns, mono_ns());
  int action;
  if (pkt.l4() == IPPROTO_TCP) {
    action = p.run(pkt.flags(kFin | kAck));
  } else {
    EXPECT_EQ(p.run(pkt), XDP_PASS);
    action = p.sweep(pkt.key());
  }
  auto ev = p.events();
  ASSERT_GE(ev.size(), 1u);
  const auto& e = ev[0];
  EXPECT_EQ(action, e.verdict ? XDP_DROP : XDP_PASS) << "an intrusion's source is blocked";
  EXPECT_EQ(ev.size(), e.verdict ? 2u : 1u) << "verdict (+ block) events";
  EXPECT_EQ(e.type, static_cast<uint32_t>(NNBPF_EV_VERDICT));
  EXPECT_EQ(e.reason, static_cast<uint32_t>(pkt.l4() == IPPROTO_TCP ? NNBPF_END_FIN : NNBPF_END_IDLE));
  EXPECT_TRUE(same_key(e.key, pkt.key()));
  EXPECT_EQ(feature(a, e, "fwd_pkt_len_max"), pkt.pkt_len());
  EXPECT_EQ(feature(a, e, "fwd_pkt_len_min"), pkt.pkt_len());
  EXPECT_EQ(feature(a, e, "fwd_header_len"), 2 * pkt.hdr_len());
  EXPECT_EQ(feature(a, e, "fwd_pkt_count"), 2u);
  EXPECT_EQ(feature(a, e, "dst_port"), pkt.dport());
  expect_reference(a.model, e);
  EXPECT_FALSE(p.flow(pkt.key())) << "flow freed at its end";
}

}  // namespace

TEST_F(XdpTest, ParseFixtures) {
  for (const auto& fx : parse_fixtures()) {
    SCOPED_TRACE(fx.description);
    auto p = load(top6_model());
    ASSERT_TRUE(p);
    const Packet& pkt = fx.pkt;

    // The packet passes untouched; a flow packet creates its flow.
    EXPECT_EQ(p->run(pkt), XDP_PASS);
    EXPECT_EQ(p->stat(NNBPF_STAT_PKTS), 1u);
    EXPECT_EQ(p->stat(NNBPF_STAT_PASSED), 1u);
    EXPECT_EQ(p->stat(NNBPF_STAT_NOT_IP), fx.kind == Kind::Flow ? 0u : 1u);
    EXPECT_EQ(p->stat(NNBPF_STAT_FLOWS_NEW), fx.kind == Kind::Flow ? 1u : 0u);
    EXPECT_EQ(p->flow_count(), fx.kind == Kind::Flow ? 1u : 0u);
    EXPECT_TRUE(p->events().empty());

    if (fx.kind == Kind::Flow) expect_flow_ends_with_its_features(*p, pkt);
    if (fx.kind == Kind::IpOnly) {
      // The host filter applies to every IP packet of a blocked source.
      p->block(pkt.src(), 0);
      EXPECT_EQ(p->run(pkt), XDP_DROP);
      EXPECT_EQ(p->stat(NNBPF_STAT_DROPPED), 1u);
    }
    p->expect_no_errors();
  }
}

TEST_F(XdpTest, Ipv6AndVlanFlowsAreClassifiedLikeIpv4) {
  auto p = load(top6_model(), {.monitor = 1});
  ASSERT_TRUE(p);
  const Artifact& a = p->artifact();
  const Packet v4p = Packet{}.dport(3306);
  const Packet v6p = v4p.ipv6(v6("2001:db8::10"), v6("2001:db8::20"));
  const std::vector<Packet> forms = {v4p, v6p, v4p.vlans({0x8100}).sport(40002),
                                     v6p.vlans({0x88A8, 0x8100}).sport(40003)};
  for (const auto& form : forms) {
    EXPECT_EQ(p->run(form.flags(kSyn)), XDP_PASS);
    EXPECT_EQ(p->run(form.payload(700)), XDP_PASS);
    EXPECT_EQ(p->run(form.payload(90)), XDP_PASS);
    EXPECT_EQ(p->run(form.flags(kFin | kAck)), XDP_PASS);
  }
  auto ev = p->events();
  ASSERT_EQ(ev.size(), forms.size());
  int iat = feature_index(a, "fwd_iat_max_ns");
  for (size_t i = 0; i < ev.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(same_key(ev[i].key, forms[i].key()));
    for (uint32_t j = 0; j < ev[i].n_features; ++j) {
      if (static_cast<int>(j) == iat) continue;  // clock-dependent
      EXPECT_EQ(ev[i].feat[j], ev[0].feat[j]) << a.model.features[j];
    }
    expect_reference(a.model, ev[i]);
  }
  EXPECT_EQ(feature(a, ev[0], "fwd_pkt_len_max"), 720u);
}
