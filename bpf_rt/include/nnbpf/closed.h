/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Recently closed TCP flows (NNBPF_CLOSED_NS in abi.h): a direct-mapped
 * table, one __u64 per slot of nnbpf_closed (an ARRAY of NNBPF_MAX_CLOSED
 * slots, a power of two), indexed by the low bits of a 64-bit hash of the
 * flow key:
 *
 *   bits 63..40  tag: the hash's top 24 bits
 *   bits 39..0   close time, bpf_ktime_get_ns() >> NNBPF_CLOSED_SHIFT
 *                (~1.05 ms units; wraps after ~36 years)
 *
 * Recording a close is one store (no helper call: an LRU hash update cost
 * ~80 ns on the flow-ending path, docs/PERFORMANCE.md); the record is one
 * aligned 64-bit word, so readers never see half of two records. A later
 * close that hashes to the same slot replaces the record, as a full LRU
 * evicted its oldest entry; a packet of another flow matches a record only
 * if 16 + 24 = 40 bits of their hashes agree (and then it merely passes as
 * a remnant of a close: nnbpf starts no flow for it).
 */
#ifndef NNBPF_CLOSED_H
#define NNBPF_CLOSED_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nnbpf/abi.h"
#include "nnbpf/maps.h"

#define NNBPF_CLOSED_SHIFT 20
#define NNBPF_CLOSED_TIME_MASK ((1ULL << 40) - 1)

_Static_assert((NNBPF_MAX_CLOSED & (NNBPF_MAX_CLOSED - 1)) == 0, "NNBPF_MAX_CLOSED must be a power of two");

/* 64-bit hash of the 40-byte key: five multiply-xorshift rounds. */
static __always_inline __u64 nnbpf_closed_hash(const struct nnbpf_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*k) / 8); i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h;
}

static __always_inline __u64 *nnbpf_closed_slot(__u64 h)
{
	__u32 idx = (__u32)h & (NNBPF_MAX_CLOSED - 1);

	return bpf_map_lookup_elem(&nnbpf_closed, &idx);
}

/* Remember that the flow `k` closed at `now`. */
static __always_inline void nnbpf_closed_put(const struct nnbpf_flow_key *k, __u64 now)
{
	__u64 h = nnbpf_closed_hash(k);
	__u64 *rec = nnbpf_closed_slot(h);

	if (rec)
		*rec = (h & ~NNBPF_CLOSED_TIME_MASK) | ((now >> NNBPF_CLOSED_SHIFT) & NNBPF_CLOSED_TIME_MASK);
}

/* Whether the flow `k` closed less than NNBPF_CLOSED_NS before `now`. */
static __always_inline int nnbpf_closed_recently(const struct nnbpf_flow_key *k, __u64 now)
{
	__u64 h = nnbpf_closed_hash(k);
	__u64 *rec = nnbpf_closed_slot(h);
	__u64 r;

	if (!rec)
		return 0;
	r = *rec;
	if ((r ^ h) & ~NNBPF_CLOSED_TIME_MASK)
		return 0;
	return (((now >> NNBPF_CLOSED_SHIFT) - r) & NNBPF_CLOSED_TIME_MASK) < (NNBPF_CLOSED_NS >> NNBPF_CLOSED_SHIFT);
}

#endif /* NNBPF_CLOSED_H */
