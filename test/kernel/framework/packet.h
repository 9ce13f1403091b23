// Test packets for the XDP pipeline: one value type that says what the
// parser must see (Ethernet, VLAN tags, IPv4 or IPv6 with extension headers,
// TCP with flags and options, UDP, ICMP, ARP) and writes the frame's bytes.
//
// Every setter returns a changed copy, so one base packet describes a flow
// and each step names only what differs:
//
//   Packet syn = Packet{}.from(v4(192, 168, 7, 9)).tcp(51515, 8080).flags(kSyn);
//   tester.run(syn.flags(kAck | kPsh).payload(100));
//
// The defaults: IPv4 10.0.0.1 -> 10.0.0.2, TCP 40000 -> 80, ACK, 20-byte
// headers, no payload. Malformed packets are described by the same setters
// (ip_header(16), tcp_header(16), truncate(n), ...); checksums stay zero (XDP
// never reads them).
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <vector>

#include "nnbpf/abi.h"

namespace nnbpf::testing {

// TCP flags.
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20;

// An address as the pipeline keys it: IPv6, IPv4 as ::ffff:a.b.c.d.
using Addr = std::array<uint8_t, 16>;
Addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
Addr v6(const char* text);  // aborts on a malformed literal (a bug in the test)

class [[nodiscard]] Packet {
 public:
  // Network layer. ipv4/ipv6 set the family and both addresses.
  Packet ipv4(const Addr& src, const Addr& dst) const;
  Packet ipv6(const Addr& src = v6("2001:db8::1"), const Addr& dst = v6("2001:db8::2")) const;
  Packet arp() const;  // an ARP request instead of IP
  Packet from(const Addr& src) const;
  Packet to(const Addr& dst) const;
  Packet vlans(std::vector<uint16_t> tpids) const;  // outermost first, each with VLAN 100
  // Transport layer.
  Packet tcp(uint16_t sport, uint16_t dport) const;
  Packet udp(uint16_t sport, uint16_t dport) const;
  Packet icmp() const;  // echo request: ICMP on IPv4, ICMPv6 on IPv6
  Packet sport(uint16_t port) const;
  Packet dport(uint16_t port) const;
  Packet flags(uint8_t tcp_flags) const;
  Packet payload(int bytes) const;
  // Header shapes, valid or not.
  Packet ip_header(int bytes) const;   // IHL * 4 as written; > 20 adds NOP options
  Packet tcp_header(int bytes) const;  // data offset * 4 as written; > 20 adds NOP options
  Packet ip_len_delta(int delta) const;  // added to the IPv4 total length field
  Packet frag(uint16_t field) const;   // IPv4 flags+offset field; IPv6 fragment offset (8-byte units)
  Packet ext(std::vector<uint8_t> next_headers) const;  // IPv6 extension headers, in order
  Packet truncate(int bytes) const;    // cut the frame to this many bytes

  const Addr& src() const { return src_; }
  uint8_t l4() const { return l4_; }
  uint16_t dport() const { return dport_; }
  // The flow key the pipeline stores this packet under.
  nnbpf_flow_key key() const;
  // docs/features.md: the packet length and the header length the features count.
  uint64_t pkt_len() const;
  uint64_t hdr_len() const;
  // The frame, from the Ethernet header on.
  std::vector<uint8_t> bytes() const;

 private:
  template <class T>
  Packet with(T Packet::*field, const T& v) const {
    Packet p = *this;
    p.*field = v;
    return p;
  }
  int l4_hdr() const;
  int ext_bytes() const { return static_cast<int>(ext_.size()) * 8; }
  std::vector<uint8_t> l4_bytes() const;
  void put_ipv4(std::vector<uint8_t>& b, size_t l4_size) const;
  void put_ipv6(std::vector<uint8_t>& b, size_t l4_size) const;

  int ip_ = 4;  // 4, 6, or 0 for ARP
  std::vector<uint16_t> vlans_;
  Addr src_ = v4(10, 0, 0, 1);
  Addr dst_ = v4(10, 0, 0, 2);
  uint8_t l4_ = IPPROTO_TCP;
  uint16_t sport_ = 40000;
  uint16_t dport_ = 80;
  uint8_t flags_ = kAck;
  int tcp_hdr_ = 20;
  int ihl_bytes_ = 20;
  uint16_t frag_ = 0;
  std::vector<uint8_t> ext_;
  int payload_ = 0;
  int ip_len_delta_ = 0;
  int truncate_ = -1;
};

}  // namespace nnbpf::testing
