#include "test/kernel/framework/packet.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace nnbpf::testing {

Addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return Addr{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

Addr v6(const char* text) {
  Addr a{};
  if (inet_pton(AF_INET6, text, a.data()) != 1) std::abort();
  return a;
}

// ---- setters: a changed copy ----------------------------------------------------

Packet Packet::from(const Addr& v) const { return with(&Packet::src_, v); }
Packet Packet::to(const Addr& v) const { return with(&Packet::dst_, v); }
Packet Packet::vlans(std::vector<uint16_t> v) const { return with(&Packet::vlans_, v); }
Packet Packet::sport(uint16_t v) const { return with(&Packet::sport_, v); }
Packet Packet::dport(uint16_t v) const { return with(&Packet::dport_, v); }
Packet Packet::flags(uint8_t v) const { return with(&Packet::flags_, v); }
Packet Packet::payload(int v) const { return with(&Packet::payload_, v); }
Packet Packet::ip_header(int v) const { return with(&Packet::ihl_bytes_, v); }
Packet Packet::tcp_header(int v) const { return with(&Packet::tcp_hdr_, v); }
Packet Packet::ip_len_delta(int v) const { return with(&Packet::ip_len_delta_, v); }
Packet Packet::frag(uint16_t v) const { return with(&Packet::frag_, v); }
Packet Packet::ext(std::vector<uint8_t> v) const { return with(&Packet::ext_, v); }
Packet Packet::truncate(int v) const { return with(&Packet::truncate_, v); }

Packet Packet::ipv4(const Addr& src, const Addr& dst) const {
  Packet p = *this;
  p.ip_ = 4;
  p.src_ = src;
  p.dst_ = dst;
  return p;
}

Packet Packet::ipv6(const Addr& src, const Addr& dst) const {
  Packet p = ipv4(src, dst);
  p.ip_ = 6;
  return p;
}

Packet Packet::arp() const {
  Packet p = *this;
  p.ip_ = 0;
  return p;
}

Packet Packet::tcp(uint16_t sport, uint16_t dport) const {
  Packet p = *this;
  p.l4_ = IPPROTO_TCP;
  p.sport_ = sport;
  p.dport_ = dport;
  return p;
}

Packet Packet::udp(uint16_t sport, uint16_t dport) const {
  Packet p = tcp(sport, dport);
  p.l4_ = IPPROTO_UDP;
  return p;
}

Packet Packet::icmp() const {
  Packet p = *this;
  p.l4_ = ip_ == 6 ? uint8_t{IPPROTO_ICMPV6} : uint8_t{IPPROTO_ICMP};
  return p;
}

// ---- what the pipeline sees ------------------------------------------------------

int Packet::l4_hdr() const { return l4_ == IPPROTO_TCP ? tcp_hdr_ : 8; }

nnbpf_flow_key Packet::key() const {
  nnbpf_flow_key k{};
  std::memcpy(k.src.a, src_.data(), 16);
  std::memcpy(k.dst.a, dst_.data(), 16);
  k.sport = sport_;
  k.dport = dport_;
  k.proto = l4_;
  return k;
}

uint64_t Packet::pkt_len() const { return (ip_ == 6 ? ext_bytes() : 0) + l4_hdr() + payload_; }

uint64_t Packet::hdr_len() const { return l4_hdr(); }

// ---- bytes -------------------------------------------------------------------------

namespace {

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}

void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}

}  // namespace

std::vector<uint8_t> Packet::l4_bytes() const {
  std::vector<uint8_t> l4;
  if (l4_ == IPPROTO_TCP) {
    put16(l4, sport_);
    put16(l4, dport_);
    put32(l4, 1000);  // seq
    put32(l4, 2000);  // ack
    l4.push_back(static_cast<uint8_t>((tcp_hdr_ / 4) << 4));
    l4.push_back(flags_);
    put16(l4, 512);  // window
    put16(l4, 0);    // checksum
    put16(l4, 0);    // urgent pointer
    for (int i = 20; i < tcp_hdr_; ++i) l4.push_back(1);  // NOP options
  } else if (l4_ == IPPROTO_UDP) {
    put16(l4, sport_);
    put16(l4, dport_);
    put16(l4, static_cast<uint16_t>(8 + payload_));
    put16(l4, 0);
  } else {  // ICMP / ICMPv6 echo request
    l4 = {static_cast<uint8_t>(l4_ == IPPROTO_ICMP ? 8 : 128), 0, 0, 0, 0, 1, 0, 1};
  }
  for (int i = 0; i < payload_; ++i) l4.push_back(static_cast<uint8_t>('a' + i % 26));
  return l4;
}

void Packet::put_ipv4(std::vector<uint8_t>& b, size_t l4_size) const {
  b.push_back(static_cast<uint8_t>(0x40 | (ihl_bytes_ / 4)));
  b.push_back(0);
  put16(b, static_cast<uint16_t>(std::max(ihl_bytes_, 20) + l4_size + ip_len_delta_));
  put16(b, 1);  // id
  put16(b, frag_);
  b.push_back(64);
  b.push_back(l4_);
  put16(b, 0);
  b.insert(b.end(), src_.begin() + 12, src_.end());
  b.insert(b.end(), dst_.begin() + 12, dst_.end());
  for (int i = 20; i < ihl_bytes_; ++i) b.push_back(1);  // NOP options
}

void Packet::put_ipv6(std::vector<uint8_t>& b, size_t l4_size) const {
  put32(b, 0x60000000);
  put16(b, static_cast<uint16_t>(ext_bytes() + l4_size));
  b.push_back(ext_.empty() ? l4_ : ext_[0]);
  b.push_back(64);
  b.insert(b.end(), src_.begin(), src_.end());
  b.insert(b.end(), dst_.begin(), dst_.end());
  for (size_t i = 0; i < ext_.size(); ++i) {
    uint8_t next = i + 1 < ext_.size() ? ext_[i + 1] : l4_;
    if (ext_[i] == IPPROTO_FRAGMENT) {
      b.push_back(next);
      b.push_back(0);
      put16(b, static_cast<uint16_t>(frag_ << 3 | 1));  // offset, M
      put32(b, 77);
    } else if (ext_[i] == IPPROTO_ROUTING) {
      const uint8_t rh[8] = {next, 0, 4, 0, 0, 0, 0, 0};  // type 4 (SRH-like), segments left 0
      b.insert(b.end(), rh, rh + 8);
    } else {  // hop-by-hop, destination options: PadN
      const uint8_t oh[8] = {next, 0, 1, 4, 0, 0, 0, 0};
      b.insert(b.end(), oh, oh + 8);
    }
  }
}

std::vector<uint8_t> Packet::bytes() const {
  std::vector<uint8_t> b = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
  for (uint16_t tpid : vlans_) {
    put16(b, tpid);
    put16(b, 100);  // TCI: VLAN 100
  }
  put16(b, ip_ == 4 ? 0x0800 : ip_ == 6 ? 0x86dd : 0x0806);
  if (ip_ == 0) {  // ARP request
    const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
    b.insert(b.end(), arp, arp + sizeof arp);
    return b;
  }
  std::vector<uint8_t> l4 = l4_bytes();
  if (ip_ == 4)
    put_ipv4(b, l4.size());
  else
    put_ipv6(b, l4.size());
  b.insert(b.end(), l4.begin(), l4.end());
  if (truncate_ >= 0 && static_cast<size_t>(truncate_) < b.size()) b.resize(truncate_);
  return b;
}

}  // namespace nnbpf::testing
