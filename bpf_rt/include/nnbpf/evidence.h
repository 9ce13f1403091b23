/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Evidence-based blocking (docs/run.md, "Blocking policy"), in the kernel:
 * after a flow's verdict, the evidence of its source prefix is updated and
 * the decision to block is taken here, with no round trip to user space.
 *
 *   counted   the verdict is a class that counts (policy class_ignore), its
 *             margin logit[v] - logit[0] reaches the policy's min_margin,
 *             and the flow is not unsure
 *   window    NNBPF_EV_BUCKETS steps of window_ns / NNBPF_EV_BUCKETS; the
 *             sums cover the current step and the previous ones
 *   block     counted && hits >= block_after && hits >= min_share * flows
 *   TTL       block_ttl_ns; a prefix blocked again within one TTL after its
 *             last block ended gets twice that TTL, up to block_ttl_max_ns
 *
 * Included by progs/xdp.bpf.c after nnbpf_cfg is defined.
 */
#ifndef NNBPF_EVIDENCE_H
#define NNBPF_EVIDENCE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nnbpf/abi.h"
#include "nnbpf/maps.h"

/* The source's prefix, as the key of nnbpf_evidence and of a model block;
 * returns its length in the 128-bit form. */
static __always_inline __u32 nnbpf_src_prefix(const struct nnbpf_addr *src, struct nnbpf_addr *out)
{
	/* IPv4-mapped: ::ffff:0:0/96. */
	int is_v4 = ((const __u64 *)src->a)[0] == 0 && ((const __u32 *)src->a)[2] == 0xffff0000u;
	__u32 plen = is_v4 ? 96 + (nnbpf_cfg.prefix_v4 ? nnbpf_cfg.prefix_v4 : 32)
			   : (nnbpf_cfg.prefix_v6 ? nnbpf_cfg.prefix_v6 : 128);

	__builtin_memcpy(out, src, sizeof(*out));
	if (plen >= 128)
		return 128;
	/* Zero the bits past plen, in four 32-bit words (network order). */
#pragma unroll
	for (int w = 0; w < 4; w++) {
		__u32 lo = w * 32, keep;
		__u32 *word = (__u32 *)&out->a[w * 4];

		if (plen <= lo)
			keep = 0;
		else if (plen >= lo + 32)
			keep = 32;
		else
			keep = plen - lo;
		if (keep == 0)
			*word = 0;
		else if (keep < 32)
			*word &= bpf_htonl(~((1u << (32 - keep)) - 1));
	}
	return plen;
}

/* Whether the host filter must also look up the source's prefix (a model
 * block of a prefix shorter than the address). */
static __always_inline int nnbpf_prefix_blocks(void)
{
	return (nnbpf_cfg.prefix_v4 && nnbpf_cfg.prefix_v4 < 32) || (nnbpf_cfg.prefix_v6 && nnbpf_cfg.prefix_v6 < 128);
}

static __always_inline __u64 nnbpf_ev_step_ns(void)
{
	__u64 w = nnbpf_cfg.window_ns ? nnbpf_cfg.window_ns : NNBPF_NSEC_PER_SEC;
	__u64 step = w / NNBPF_EV_BUCKETS;

	return step ? step : 1;
}

/* Result of one evidence update. */
struct nnbpf_ev_result {
	__u32 hits;  /* window sums after this flow */
	__u32 flows;
	int decide;  /* 1: block the prefix now */
};

/* Adds one flow (counted: an intrusion verdict that counts as evidence) to
 * the evidence of `key`, sums the window and decides. */
static __always_inline void nnbpf_evidence_add(const struct nnbpf_addr *key, int counted, __s64 margin, __u64 now,
					       struct nnbpf_ev_result *r)
{
	__u32 epoch = (__u32)(now / nnbpf_ev_step_ns());
	struct nnbpf_evidence *ev = bpf_map_lookup_elem(&nnbpf_evidence, key);
	struct nnbpf_ev_bucket *b;
	__u32 hits = 0, flows = 0;
	__u32 k = nnbpf_cfg.block_after ? nnbpf_cfg.block_after : 1;

	r->hits = r->flows = 0;
	r->decide = 0;
	if (!ev) {
		struct nnbpf_evidence fresh = {};

		bpf_map_update_elem(&nnbpf_evidence, key, &fresh, BPF_NOEXIST);
		ev = bpf_map_lookup_elem(&nnbpf_evidence, key);
		if (!ev)
			return;
	}
	b = &ev->b[epoch & (NNBPF_EV_BUCKETS - 1)];
	if (b->epoch != epoch) {
		b->epoch = epoch;
		b->flows = 0;
		b->hits = 0;
	}
	if (b->flows < 0xffff)
		b->flows++;
	if (counted) {
		if (b->hits < 0xffff)
			b->hits++;
		ev->last_margin = margin;
	}
	ev->last_ns = now;
#pragma unroll
	for (int i = 0; i < NNBPF_EV_BUCKETS; i++) {
		if (epoch - ev->b[i].epoch < NNBPF_EV_BUCKETS) {
			hits += ev->b[i].hits;
			flows += ev->b[i].flows;
		}
	}
	r->hits = hits;
	r->flows = flows;
	r->decide = counted && hits >= k && (__u64)hits * 1000 >= (__u64)nnbpf_cfg.min_share_milli * flows;
}

/* A flow outside the data ranges: counted as unsure, never evidence. */
static __always_inline void nnbpf_evidence_unsure(const struct nnbpf_addr *key)
{
	struct nnbpf_evidence *ev = bpf_map_lookup_elem(&nnbpf_evidence, key);

	if (ev)
		ev->unsure++;
}

/* The TTL of a new model block of `key` (escalated for a repeat offender),
 * and the evidence reset: after the block, the prefix starts from nothing. */
static __always_inline __u64 nnbpf_evidence_block(const struct nnbpf_addr *key, __u64 now)
{
	__u64 ttl = nnbpf_cfg.block_ttl_ns;
	struct nnbpf_evidence *ev = bpf_map_lookup_elem(&nnbpf_evidence, key);

	if (!ev)
		return ttl;
	/* Repeat offender: back within one TTL after its last block ended. */
	if (ttl && nnbpf_cfg.block_ttl_max_ns && ev->block_until_ns && ev->last_ttl_ns && now >= ev->block_until_ns &&
	    now < ev->block_until_ns + ev->last_ttl_ns) {
		ttl = ev->last_ttl_ns * 2;
		if (ttl > nnbpf_cfg.block_ttl_max_ns)
			ttl = nnbpf_cfg.block_ttl_max_ns;
		if (ttl < nnbpf_cfg.block_ttl_ns)
			ttl = nnbpf_cfg.block_ttl_ns;
	}
#pragma unroll
	for (int i = 0; i < NNBPF_EV_BUCKETS; i++) {
		ev->b[i].hits = 0;
		ev->b[i].flows = 0;
	}
	ev->blocks++;
	ev->last_ttl_ns = ttl;
	ev->block_until_ns = ttl ? now + ttl : 0;
	return ttl;
}

#endif /* NNBPF_EVIDENCE_H */
