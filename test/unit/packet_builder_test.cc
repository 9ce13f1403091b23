// The kernel fixtures' packet builder (test/kernel/framework/packet.h), byte
// by byte: what a fixture describes is what nnbpf_xdp is given.
#include "test/kernel/framework/packet.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace nnbpf::testing;

namespace {

uint16_t be16(const std::vector<uint8_t>& b, size_t at) { return static_cast<uint16_t>(b.at(at) << 8 | b.at(at + 1)); }

}  // namespace

TEST(PacketBuilder, DefaultIsIpv4TcpAck) {
  const auto b = Packet{}.bytes();
  ASSERT_EQ(b.size(), 14u + 20 + 20);
  EXPECT_EQ(be16(b, 12), 0x0800);
  EXPECT_EQ(b[14], 0x45) << "version 4, IHL 5";
  EXPECT_EQ(be16(b, 16), 40) << "total length";
  EXPECT_EQ(b[23], IPPROTO_TCP);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 26, b.begin() + 34), (std::vector<uint8_t>{10, 0, 0, 1, 10, 0, 0, 2}));
  EXPECT_EQ(be16(b, 34), 40000);
  EXPECT_EQ(be16(b, 36), 80);
  EXPECT_EQ(b[46], 5 << 4) << "data offset 5";
  EXPECT_EQ(b[47], kAck);
}

TEST(PacketBuilder, SettersReturnAChangedCopy) {
  const Packet base;
  const Packet fin = base.flags(kFin | kAck).payload(10).tcp_header(32).sport(1234);
  EXPECT_EQ(base.bytes()[47], kAck) << "the base is unchanged";
  const auto b = fin.bytes();
  ASSERT_EQ(b.size(), 14u + 20 + 32 + 10);
  EXPECT_EQ(be16(b, 34), 1234);
  EXPECT_EQ(b[46], 8 << 4);
  EXPECT_EQ(b[47], kFin | kAck);
  EXPECT_EQ(b[54], 1) << "NOP options pad the TCP header";
  EXPECT_EQ(b[14 + 20 + 32], 'a') << "the payload follows the header";
  EXPECT_EQ(fin.pkt_len(), 42u);
  EXPECT_EQ(fin.hdr_len(), 32u);
}

TEST(PacketBuilder, VlanTagsComeBeforeTheEtherType) {
  const auto b = Packet{}.vlans({0x88A8, 0x8100}).bytes();
  ASSERT_EQ(b.size(), 14u + 8 + 20 + 20);
  EXPECT_EQ(be16(b, 12), 0x88A8);
  EXPECT_EQ(be16(b, 14), 100) << "VLAN 100";
  EXPECT_EQ(be16(b, 16), 0x8100);
  EXPECT_EQ(be16(b, 20), 0x0800);
  EXPECT_EQ(b[22], 0x45);
}

TEST(PacketBuilder, UdpLengthAndKey) {
  const Packet u = Packet{}.from(v4(192, 0, 2, 7)).udp(5353, 53).payload(30);
  const auto b = u.bytes();
  ASSERT_EQ(b.size(), 14u + 20 + 8 + 30);
  EXPECT_EQ(b[23], IPPROTO_UDP);
  EXPECT_EQ(be16(b, 38), 38) << "UDP length";
  const nnbpf_flow_key k = u.key();
  EXPECT_EQ(k.proto, IPPROTO_UDP);
  EXPECT_EQ(k.sport, 5353);
  EXPECT_EQ(k.dport, 53);
  EXPECT_EQ(k.src.a[10], 0xff) << "IPv4 as ::ffff:a.b.c.d";
  EXPECT_EQ(k.src.a[15], 7);
  EXPECT_EQ(u.pkt_len(), 38u);
}

TEST(PacketBuilder, Ipv6ExtensionHeadersChain) {
  const Packet p = Packet{}.ipv6().ext({IPPROTO_HOPOPTS, IPPROTO_FRAGMENT}).frag(3).payload(4);
  const auto b = p.bytes();
  ASSERT_EQ(b.size(), 14u + 40 + 16 + 20 + 4);
  EXPECT_EQ(be16(b, 12), 0x86dd);
  EXPECT_EQ(be16(b, 18), 16 + 20 + 4) << "payload length";
  EXPECT_EQ(b[20], IPPROTO_HOPOPTS);
  EXPECT_EQ(b[54], IPPROTO_FRAGMENT) << "hop-by-hop's next header";
  EXPECT_EQ(b[62], IPPROTO_TCP) << "the fragment header's next header";
  EXPECT_EQ(be16(b, 64), 3 << 3 | 1) << "offset 3, M";
  EXPECT_EQ(p.pkt_len(), 16u + 20 + 4) << "extension headers count in IPv6 packet length";
}

TEST(PacketBuilder, MalformedShapes) {
  EXPECT_EQ(Packet{}.truncate(44).bytes().size(), 44u);
  EXPECT_EQ(Packet{}.ip_header(16).bytes()[14], 0x44) << "IHL 4 as written";
  EXPECT_EQ(be16(Packet{}.ip_len_delta(-40).bytes(), 16), 0);
  const auto arp = Packet{}.arp().bytes();
  EXPECT_EQ(be16(arp, 12), 0x0806);
  EXPECT_EQ(arp.size(), 14u + 28);
  EXPECT_EQ(Packet{}.ipv6().icmp().bytes()[20], IPPROTO_ICMPV6);
  EXPECT_EQ(Packet{}.icmp().bytes()[23], IPPROTO_ICMP);
}
