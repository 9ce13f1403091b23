/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The idle sweep's search, in the kernel (docs/runtime-bpf.md, "Idle
 * sweep"): nnbpf_sweep_scan walks nnbpf_flows with bpf_for_each_map_elem
 * and writes only the keys of the flows to classify into nnbpf_sweep_due
 * (nnbpf/sweep.h); user space then classifies each through nnbpf_sweep
 * (progs/xdp.bpf.c). A BPF map-element iterator (iter/bpf_map_elem) would
 * do the same walk but is refused (EPERM) on the kernels nnbpf runs on
 * here; a callback cannot tail-call the inference chain, so the
 * classification stays one test run per due flow.
 *
 * Included by the generated translation unit after progs/xdp.bpf.c. Runs
 * only from BPF_PROG_TEST_RUN, never on a packet's path.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nnbpf/abi.h"
#include "nnbpf/maps.h"
#include "nnbpf/sweep.h"

/* The flows one scan found due, read by user space through mmap. Kept
 * beside its only writer rather than in nnbpf/maps.h: no packet uses it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NNBPF_SWEEP_BATCH);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nnbpf_sweep_rec);
} nnbpf_sweep_due SEC(".maps");

struct nnbpf_scan_ctx {
	__u64 now_ns;
	__u64 idle_ns;
	__u64 embryonic_ns;
	__u64 visited;
	__u32 all_reason;
	__u32 due;
	__u32 full;
};

/* Why flow (k, h) is due at c->now_ns, or 0 if it is not. */
static __always_inline __u32 nnbpf_sweep_due_reason(const struct nnbpf_scan_ctx *c, const struct nnbpf_flow_key *k,
						     const struct nnbpf_flow_hdr *h)
{
	__u64 age;

	if (c->all_reason)
		return c->all_reason;
	if (c->now_ns <= h->last_ns) /* a packet since the pass began */
		return 0;
	age = c->now_ns - h->last_ns;
	if (c->embryonic_ns && (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP) && h->pkts <= 1 &&
	    age >= c->embryonic_ns)
		return NNBPF_END_EMBRYONIC;
	if (c->idle_ns && age >= c->idle_ns)
		return NNBPF_END_IDLE;
	return 0;
}

static long nnbpf_scan_one(void *map, const struct nnbpf_flow_key *k, const struct nnbpf_flow_hdr *h,
			   struct nnbpf_scan_ctx *c)
{
	__u32 idx = c->due, reason;
	struct nnbpf_sweep_rec *r;

	c->visited++;
	reason = nnbpf_sweep_due_reason(c, k, h);
	if (!reason)
		return 0;
	r = bpf_map_lookup_elem(&nnbpf_sweep_due, &idx);
	if (!r) { /* the batch is full: stop; user space scans again */
		c->full = 1;
		return 1;
	}
	__builtin_memcpy(&r->key, k, sizeof(r->key));
	r->reason = reason;
	r->pad = 0;
	c->due = idx + 1;
	return 0;
}

/* BPF_PROG_TEST_RUN only: one scan (struct nnbpf_scan_args in, counts out).
 * A syscall program runs in the caller's process context, preemptible
 * between hash buckets: a long walk never holds a CPU's softirqs off (an XDP
 * test run would, for its whole duration). */
SEC("syscall")
int nnbpf_sweep_scan(struct nnbpf_scan_args *a)
{
	struct nnbpf_scan_ctx c = {};

	c.now_ns = a->now_ns;
	c.idle_ns = a->idle_ns;
	c.embryonic_ns = a->embryonic_ns;
	c.all_reason = a->all_reason;
	/* From the caller (0): an index the verifier does not know, so it
	 * checks the callback once instead of once per possible count. */
	c.due = a->due;
	bpf_for_each_map_elem(&nnbpf_flows, nnbpf_scan_one, &c, 0);
	a->due = c.due;
	a->full = c.full;
	a->visited = c.visited;
	return 0;
}
