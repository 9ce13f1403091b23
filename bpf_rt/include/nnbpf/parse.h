/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Packet parsers of the XDP pipeline: header-only, __always_inline, one
 * function per header, after xdp-tools' headers/xdp/parsing_helpers.h.
 *
 * Contract
 * - Every parser takes a cursor (struct nnbpf_cursor: the current position
 *   and data_end). It checks that the whole header it reads lies inside the
 *   packet BEFORE reading it, and on success advances the cursor past that
 *   header. On failure it returns a negative value and leaves the cursor
 *   wherever it was; callers then pass the packet untouched.
 * - Nothing here writes to the packet, calls a helper or touches a map.
 * - Multi-byte fields are read in network byte order and converted with
 *   bpf_ntohs/bpf_ntohl; everything written into struct nnbpf_pkt is in host
 *   byte order except the addresses, which stay in network order (they are
 *   byte strings in struct nnbpf_addr).
 * - Loops are unrolled with compile-time bounds: at most NNBPF_VLAN_MAX VLAN
 *   tags and NNBPF_IPV6_EXT_MAX IPv6 extension headers are skipped; a packet
 *   with more is not parsed (passed untouched).
 *
 * nnbpf_parse() is the entry: it fills struct nnbpf_pkt and says how far it
 * got (enum nnbpf_parse_result): an IP packet has a valid source address (the
 * host filter applies to it), a flow packet additionally has a full flow key
 * and the per-packet quantities the features are built from
 * (docs/features.md):
 *   pkt_len     IPv4: total length - IHL * 4; IPv6: payload length
 *   hdr_len     TCP: data offset * 4; UDP: 8
 *   payload_len transport payload: IPv4 pkt_len - hdr_len; IPv6 payload
 *               length - extension headers - hdr_len (0 if negative)
 *   tcp_flags   the TCP flags byte (FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08
 *               ACK 0x10 URG 0x20 ...); 0 for UDP
 *
 * What is a flow packet: IPv4 (IHL >= 5, total length >= IHL * 4, not a
 * non-first fragment) or IPv6 (after at most NNBPF_IPV6_EXT_MAX hop-by-hop,
 * routing, destination-options or first-fragment headers), carrying TCP
 * (data offset >= 5, header inside the packet) or UDP. Non-first fragments
 * carry no transport header: they are IP packets but not flow packets.
 */
#ifndef NNBPF_PARSE_H
#define NNBPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "nnbpf/abi.h"

#ifndef NNBPF_VLAN_MAX
#define NNBPF_VLAN_MAX 2 /* 802.1ad outer + 802.1Q inner */
#endif
#ifndef NNBPF_IPV6_EXT_MAX
#define NNBPF_IPV6_EXT_MAX 4
#endif

#define NNBPF_ETH_P_8021Q 0x8100
#define NNBPF_ETH_P_8021AD 0x88A8
#define NNBPF_IP_MF 0x2000
#define NNBPF_IP_OFFSET 0x1FFF

#define NNBPF_TCP_FIN 0x01
#define NNBPF_TCP_SYN 0x02
#define NNBPF_TCP_RST 0x04
#define NNBPF_TCP_PSH 0x08
#define NNBPF_TCP_ACK 0x10
#define NNBPF_TCP_URG 0x20

struct nnbpf_cursor {
	void *pos;
	void *end;
};

/* What nnbpf_parse() found. */
enum nnbpf_parse_result {
	NNBPF_PARSE_OTHER = 0, /* not IP, or malformed: pass untouched */
	NNBPF_PARSE_IP = 1,    /* IP, key.src/key.dst valid; no transport flow */
	NNBPF_PARSE_FLOW = 2,  /* TCP or UDP: the whole struct is valid */
};

/* One parsed packet. */
struct nnbpf_pkt {
	struct nnbpf_flow_key key;
	__u32 pkt_len;
	__u32 payload_len;
	__u16 hdr_len;
	__u8 tcp_flags;
	__u8 pad;
};

struct nnbpf_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* Ethernet and up to NNBPF_VLAN_MAX VLAN tags (802.1Q, 802.1ad). On success
 * *proto is the EtherType (host order) of what follows. */
static __always_inline int nnbpf_parse_eth(struct nnbpf_cursor *c, __u16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct nnbpf_vlan_hdr *vh;
	__u16 p;

	if ((void *)(eth + 1) > c->end)
		return -1;
	p = bpf_ntohs(eth->h_proto);
	vh = (void *)(eth + 1);
#pragma unroll
	for (int i = 0; i < NNBPF_VLAN_MAX; i++) {
		if (p != NNBPF_ETH_P_8021Q && p != NNBPF_ETH_P_8021AD)
			break;
		if ((void *)(vh + 1) > c->end)
			return -1;
		p = bpf_ntohs(vh->encap_proto);
		vh++;
	}
	if (p == NNBPF_ETH_P_8021Q || p == NNBPF_ETH_P_8021AD)
		return -1; /* more tags than we skip */
	c->pos = vh;
	*proto = p;
	return 0;
}

/* 16-byte address from an IPv4 address: ::ffff:a.b.c.d (network order). */
static __always_inline void nnbpf_addr_from_v4(struct nnbpf_addr *a, __be32 v4)
{
	__u32 *w = (__u32 *)a->a;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = v4;
}

/* IPv4 header with options. Returns the transport protocol, or -1. Sets
 * *has_l4 = 0 for a non-first fragment (no transport header follows). */
static __always_inline int nnbpf_parse_ipv4(struct nnbpf_cursor *c, struct nnbpf_pkt *p, int *has_l4)
{
	struct iphdr *iph = c->pos;
	__u32 ihl_bytes, tot;

	if ((void *)(iph + 1) > c->end)
		return -1;
	ihl_bytes = iph->ihl * 4;
	if (ihl_bytes < sizeof(*iph))
		return -1;
	if (c->pos + ihl_bytes > c->end)
		return -1;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < ihl_bytes)
		return -1;
	nnbpf_addr_from_v4(&p->key.src, iph->saddr);
	nnbpf_addr_from_v4(&p->key.dst, iph->daddr);
	p->pkt_len = tot - ihl_bytes;
	*has_l4 = !(iph->frag_off & bpf_htons(NNBPF_IP_OFFSET));
	c->pos += ihl_bytes;
	return iph->protocol;
}

struct nnbpf_ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen; /* 8-octet units, not counting the first 8 */
};

struct nnbpf_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset (13 bits) << 3 | M */
	__be32 identification;
};

/* IPv6 fixed header and up to NNBPF_IPV6_EXT_MAX extension headers (hop-by-
 * hop, routing, destination options, fragment). Returns the transport
 * protocol (or the first header it does not skip), or -1. *has_l4 = 0 for a
 * non-first fragment. */
static __always_inline int nnbpf_parse_ipv6(struct nnbpf_cursor *c, struct nnbpf_pkt *p, int *has_l4)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 ext_bytes = 0;
	__u8 nh;

	if ((void *)(ip6 + 1) > c->end)
		return -1;
	__builtin_memcpy(p->key.src.a, &ip6->saddr, 16);
	__builtin_memcpy(p->key.dst.a, &ip6->daddr, 16);
	p->pkt_len = bpf_ntohs(ip6->payload_len);
	nh = ip6->nexthdr;
	c->pos = ip6 + 1;
	*has_l4 = 1;
#pragma unroll
	for (int i = 0; i < NNBPF_IPV6_EXT_MAX; i++) {
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
			struct nnbpf_ipv6_opt_hdr *o = c->pos;
			__u32 len;

			if ((void *)(o + 1) > c->end)
				return -1;
			len = ((__u32)o->hdrlen + 1) * 8;
			if (c->pos + len > c->end)
				return -1;
			nh = o->nexthdr;
			c->pos += len;
			ext_bytes += len;
		} else if (nh == IPPROTO_FRAGMENT) {
			struct nnbpf_ipv6_frag_hdr *fh = c->pos;

			if ((void *)(fh + 1) > c->end)
				return -1;
			nh = fh->nexthdr;
			c->pos = fh + 1;
			ext_bytes += sizeof(*fh);
			if (fh->frag_off & bpf_htons(0xFFF8)) {
				*has_l4 = 0;
				break;
			}
		} else {
			break;
		}
	}
	/* Payload length counts the extension headers: keep only what the
	 * transport layer carries for payload_len (set by the L4 parser). */
	p->payload_len = p->pkt_len > ext_bytes ? p->pkt_len - ext_bytes : 0;
	return nh;
}

static __always_inline int nnbpf_parse_tcp(struct nnbpf_cursor *c, struct nnbpf_pkt *p)
{
	struct tcphdr *th = c->pos;
	__u32 len;

	if ((void *)(th + 1) > c->end)
		return -1;
	len = th->doff * 4;
	if (len < sizeof(*th))
		return -1;
	if (c->pos + len > c->end)
		return -1;
	p->key.sport = bpf_ntohs(th->source);
	p->key.dport = bpf_ntohs(th->dest);
	p->hdr_len = len;
	p->tcp_flags = ((__u8 *)th)[13];
	c->pos += len;
	return 0;
}

static __always_inline int nnbpf_parse_udp(struct nnbpf_cursor *c, struct nnbpf_pkt *p)
{
	struct udphdr *uh = c->pos;

	if ((void *)(uh + 1) > c->end)
		return -1;
	p->key.sport = bpf_ntohs(uh->source);
	p->key.dport = bpf_ntohs(uh->dest);
	p->hdr_len = sizeof(*uh);
	p->tcp_flags = 0;
	c->pos = uh + 1;
	return 0;
}

/* The whole packet. Only the fields the result promises are valid. */
static __always_inline enum nnbpf_parse_result nnbpf_parse(struct xdp_md *ctx, struct nnbpf_pkt *p)
{
	struct nnbpf_cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	int l4, has_l4 = 0;
	__u32 l3_payload;
	__u16 proto;

	if (nnbpf_parse_eth(&c, &proto))
		return NNBPF_PARSE_OTHER;
	if (proto == ETH_P_IP) {
		l4 = nnbpf_parse_ipv4(&c, p, &has_l4);
		l3_payload = p->pkt_len;
	} else if (proto == ETH_P_IPV6) {
		l4 = nnbpf_parse_ipv6(&c, p, &has_l4);
		l3_payload = p->payload_len;
	} else {
		return NNBPF_PARSE_OTHER;
	}
	if (l4 < 0)
		return NNBPF_PARSE_OTHER;
	if (!has_l4)
		return NNBPF_PARSE_IP;
	if (l4 == IPPROTO_TCP) {
		if (nnbpf_parse_tcp(&c, p))
			return NNBPF_PARSE_IP;
	} else if (l4 == IPPROTO_UDP) {
		if (nnbpf_parse_udp(&c, p))
			return NNBPF_PARSE_IP;
	} else {
		return NNBPF_PARSE_IP;
	}
	p->key.proto = l4;
	p->key.pad[0] = 0;
	p->key.pad[1] = 0;
	p->key.pad[2] = 0;
	p->payload_len = l3_payload > p->hdr_len ? l3_payload - p->hdr_len : 0;
	return NNBPF_PARSE_FLOW;
}

#endif /* NNBPF_PARSE_H */
