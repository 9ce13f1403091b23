/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The XDP pipeline (docs/runtime-bpf.md): the program attached to the
 * interface, the finish program of a flow's inference, and the idle sweep.
 *
 *   nnbpf_xdp          parse -> host filter -> flow update -> flow end?
 *                      -> features into the scratch -> tail call stage 0
 *   nnbpf_stage_0..k   the compiled model (generated)
 *   nnbpf_flow_finish  verdict -> evidence of the source prefix -> allowlist
 *                      / block (nnbpf/evidence.h), events, XDP action
 *   nnbpf_sweep        BPF_PROG_TEST_RUN from user space: classify one idle
 *                      flow (struct nnbpf_sweep_pkt), same chain
 *
 * A pipeline without stages (NNBPF_N_STAGES == 0: nnbpf capture, compiled
 * with every catalog feature and no model) goes from a flow's end straight
 * to nnbpf_flow_finish with verdict 0: the event carries the flow's
 * features, nothing is ever blocked.
 *
 * Included by the generated translation unit after progs/pipeline.bpf.c,
 * which has defined NNBPF_N_INPUTS, NNBPF_N_OUTPUTS, NNBPF_USE_<feature>
 * and NNBPF_MODEL_FEATURES(X): X(i, name) for every model input i, in input
 * order.
 *
 * Nothing here drops a packet because nnbpf itself failed (a missing map
 * entry, a failed tail call): such packets pass and the failure is counted
 * in nnbpf_errors.
 */
#ifndef NNBPF_MODEL_FEATURES
#error "NNBPF_MODEL_FEATURES(X) must list the model's features (emitted by nnbpf compile)"
#endif

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nnbpf/abi.h"
#include "nnbpf/maps.h"
#include "nnbpf/parse.h"
#include "nnbpf/flow.h"
#include "nnbpf/closed.h"

#ifndef NNBPF_DEFAULT_BLOCK_TTL_NS
#define NNBPF_DEFAULT_BLOCK_TTL_NS (300ULL * NNBPF_NSEC_PER_SEC)
#endif

/* Tunables: .rodata, written by user space before load (nnbpf run). The
 * verifier sees them as constants, so disabled features cost nothing. */
const volatile struct nnbpf_config nnbpf_cfg = {
	.block_ttl_ns = NNBPF_DEFAULT_BLOCK_TTL_NS,
	.every_packets = 0,
	.monitor = 0,
	.window_ns = 10ULL * NNBPF_NSEC_PER_SEC,
	.block_ttl_max_ns = 0,
	.block_after = 1,
	.min_share_milli = 0,
	.prefix_v4 = 32,
	.prefix_v6 = 128,
	.abstain = 0,
	.no_evidence = 0,
};

#include "nnbpf/evidence.h"

/* Policy of the model in parameter slot `slot` (NULL: none, all defaults). */
static __always_inline const struct nnbpf_policy *nnbpf_policy_of(__u32 slot)
{
	return bpf_map_lookup_elem(&nnbpf_policy, &slot);
}

/* Whether the model in parameter slot `slot` judges flows of this protocol
 * (policy proto_out). A pipeline without a model judges nothing and
 * extracts all. */
static __always_inline int nnbpf_in_domain(__u8 proto, __u32 slot)
{
#if NNBPF_N_STAGES > 0
	const struct nnbpf_policy *p = nnbpf_policy_of(slot);
	__u32 bit = proto == IPPROTO_TCP ? NNBPF_PROTO_OUT_TCP : NNBPF_PROTO_OUT_UDP;

	return !p || !(p->proto_out & bit);
#else
	return 1;
#endif
}

/* A flow's end: the model's features (input order), key and reason into
 * this CPU's scratch; free the flow if asked (f is not used after that);
 * then run the model: tail call into stage 0, whose chain ends in
 * nnbpf_flow_finish. t0 is the packet's clock reading; one more reading ends
 * the extraction and starts the inference; the Running slot is read once.
 * Returns only when the chain could not start (counted in nnbpf_errors; no
 * inference left running), or, with 1, when the flow's protocol is outside
 * the model's domain: then it is counted (NNBPF_STAT_OUT_OF_DOMAIN) and
 * freed, never classified. */
static __always_inline int nnbpf_end_flow(struct xdp_md *ctx, const struct nnbpf_flow *f,
					   const struct nnbpf_flow_key *k, __u32 reason, int free_flow,
					   __u64 t0, __u32 mode)
{
	struct nnbpf_scratch *s = nnbpf_scratch_get();
	int slot;
	__u64 now;

	if (!s) {
		nnbpf_count_error(NNBPF_ERR_SCRATCH);
		return 0;
	}
	nnbpf_inference_enter(s);
	slot = nnbpf_running_slot();
	if (slot < 0) {
		nnbpf_inference_end(s);
		return 0;
	}
	if (!nnbpf_in_domain(k->proto, slot)) {
		nnbpf_inference_end(s);
		if (reason != NNBPF_END_EVERY_N)
			nnbpf_stat(NNBPF_STAT_OUT_OF_DOMAIN);
		if (free_flow)
			bpf_map_delete_elem(&nnbpf_flows, k);
		if (reason == NNBPF_END_FIN || reason == NNBPF_END_RST)
			nnbpf_closed_put(k, t0);
		return 1;
	}
#define NNBPF_X(i, name) s->feat[i] = nnbpf_feat_##name(f, k);
	NNBPF_MODEL_FEATURES(NNBPF_X)
#undef NNBPF_X
	__builtin_memcpy(&s->key, k, sizeof(*k));
	s->reason = reason;
	if (free_flow)
		bpf_map_delete_elem(&nnbpf_flows, k);
	if (reason == NNBPF_END_FIN || reason == NNBPF_END_RST)
		nnbpf_closed_put(k, t0);
	now = bpf_ktime_get_ns();
	s->extract_ns = now - t0;
	nnbpf_inference_begin_at(s, mode, slot, now);
#if NNBPF_N_STAGES > 0
	bpf_tail_call(ctx, &nnbpf_progs, NNBPF_PROG_STAGE0);
#else
	s->verdict = 0;
	bpf_tail_call(ctx, &nnbpf_progs, NNBPF_PROG_FINISH_FLOW);
#endif
	nnbpf_count_error(NNBPF_ERR_TAILCALL);
	nnbpf_inference_end(s);
	return 0;
}

/* Whether nnbpf_blocked may hold an entry: false only while user space has
 * seen it empty and nothing was inserted since (struct nnbpf_block_gen). */
static __always_inline int nnbpf_blocks_maybe(void)
{
	__u32 zero = 0;
	const struct nnbpf_block_gen *g = bpf_map_lookup_elem(&nnbpf_block_gen, &zero);

	return !g || g->empty_at != g->gen + 1;
}

/* After an insert into nnbpf_blocked (or an extension of an entry). */
static __always_inline void nnbpf_blocks_bump(void)
{
	__u32 zero = 0;
	struct nnbpf_block_gen *g = bpf_map_lookup_elem(&nnbpf_block_gen, &zero);

	if (g)
		__sync_fetch_and_add(&g->gen, 1);
}

SEC("xdp")
int nnbpf_xdp(struct xdp_md *ctx)
{
	struct nnbpf_pkt pkt;
	struct nnbpf_flow first, *f;
	struct nnbpf_block *b;
	const struct nnbpf_addr *bkey;
	struct nnbpf_addr pfx;
	enum nnbpf_parse_result r;
	__u32 reason = 0;
	int stored = 1;
	__u64 t0 = 0;

	nnbpf_stat(NNBPF_STAT_PKTS);
	r = nnbpf_parse(ctx, &pkt);
	if (r == NNBPF_PARSE_OTHER)
		goto not_flow;

	/* Host filter first (paper §IV-A3): a blocked source loses every IP
	 * packet, flow or not, before any per-flow work. A model block of a
	 * prefix shorter than the address (--block-prefix-v4/-v6) is keyed by
	 * the prefix, looked up only when such prefixes are configured. No
	 * lookup while no block can exist (nnbpf_blocks_maybe). */
	bkey = &pkt.key.src;
	b = NULL;
	if (nnbpf_blocks_maybe()) {
		b = bpf_map_lookup_elem(&nnbpf_blocked, bkey);
		if (!b && nnbpf_prefix_blocks() && nnbpf_src_prefix(&pkt.key.src, &pfx) < 128) {
			bkey = &pfx;
			b = bpf_map_lookup_elem(&nnbpf_blocked, bkey);
		}
	}
	if (b) {
		/* A permanent block (expires_ns 0) drops without reading the
		 * clock. */
		if (b->expires_ns)
			t0 = bpf_ktime_get_ns();
		if (b->expires_ns && b->expires_ns <= t0) {
			bpf_map_delete_elem(&nnbpf_blocked, bkey);
			nnbpf_stat(NNBPF_STAT_EXPIRED);
		} else if (!nnbpf_cfg.monitor) {
			b->drops++;
			nnbpf_stat(NNBPF_STAT_DROPPED);
			return XDP_DROP;
		}
	}
	if (r != NNBPF_PARSE_FLOW)
		goto not_flow;

	if (pkt.tcp_flags & (NNBPF_TCP_FIN | NNBPF_TCP_RST))
		reason = pkt.tcp_flags & NNBPF_TCP_RST ? NNBPF_END_RST : NNBPF_END_FIN;

	/* Flow update. t0 is the packet's timestamp (read once per packet:
	 * here, or above for a source whose block has a deadline) and the
	 * start of the extraction time reported with the flow's verdict. */
	if (!t0)
		t0 = bpf_ktime_get_ns();
	f = bpf_map_lookup_elem(&nnbpf_flows, &pkt.key);
	if (f) {
		nnbpf_flow_update(f, &pkt, t0);
	} else {
		/* The tail of a connection that just closed is not a new flow. */
		if (pkt.key.proto == IPPROTO_TCP && !(pkt.tcp_flags & NNBPF_TCP_SYN)) {
			if (nnbpf_closed_recently(&pkt.key, t0)) {
				nnbpf_stat(NNBPF_STAT_AFTER_CLOSE);
				goto pass;
			}
		}
		nnbpf_flow_first(&first, &pkt, t0);
		f = &first;
		/* A flow that ends with its first packet is classified without
		 * ever being stored. */
		if (reason) {
			stored = 0;
		} else if (bpf_map_update_elem(&nnbpf_flows, &pkt.key, &first, BPF_NOEXIST)) {
			nnbpf_stat(NNBPF_STAT_FLOW_FULL);
			goto pass;
		}
		nnbpf_stat(NNBPF_STAT_FLOWS_NEW);
	}
	if (!reason && nnbpf_cfg.every_packets && f->pkts % nnbpf_cfg.every_packets == 0)
		reason = NNBPF_END_EVERY_N;
	if (!reason)
		goto pass;

	/* Flow end (every-N keeps the flow); nnbpf_flow_finish decides the
	 * packet. We get here again only if the chain could not start. */
	nnbpf_end_flow(ctx, f, &pkt.key, reason, stored && reason != NNBPF_END_EVERY_N, t0, NNBPF_MODE_FLOW);
	goto pass;

not_flow:
	nnbpf_stat(NNBPF_STAT_NOT_IP);
pass:
	nnbpf_stat(NNBPF_STAT_PASSED);
	return XDP_PASS;
}

/* What the evidence step decided about one flow (carried in its events). */
struct nnbpf_ev_info {
	__u32 hits;
	__u32 flows;
	__s64 margin;
	__u32 flags;     /* NNBPF_EVF_* */
	__u32 prefixlen;
	__u64 ttl_ns;
};

static __always_inline void nnbpf_event_fill(struct nnbpf_event *e, const struct nnbpf_scratch *s, __u32 type,
					     __u64 now, __u64 block_expires_ns, const struct nnbpf_ev_info *ei)
{
	e->type = type;
	e->reason = s->reason;
	__builtin_memcpy(&e->key, &s->key, sizeof(e->key));
	e->ts_ns = now;
	e->extract_ns = s->extract_ns;
	e->infer_ns = now - s->t_start_ns;
	e->verdict = s->verdict;
	e->slot = s->slot;
	e->n_features = NNBPF_N_INPUTS;
	e->n_outputs = NNBPF_N_OUTPUTS;
	/* Only the model's features and logits: user space reads n_features
	 * and n_outputs of them, the rest of the arrays is left as it is. */
#pragma unroll
	for (int i = 0; i < NNBPF_N_INPUTS; i++)
		e->feat[i] = s->feat[i];
#pragma unroll
	for (int i = 0; i < NNBPF_N_OUTPUTS; i++)
		e->logits[i] = s->logits[i];
	e->block_expires_ns = block_expires_ns;
	e->ev_hits = ei->hits;
	e->ev_flows = ei->flows;
	e->margin = ei->margin;
	e->flags = ei->flags;
	e->prefixlen = ei->prefixlen;
	e->block_ttl_ns = type == NNBPF_EV_BLOCK ? ei->ttl_ns : 0;
}

static __always_inline void nnbpf_event_send(const struct nnbpf_scratch *s, __u32 type, __u64 now,
					     __u64 block_expires_ns, const struct nnbpf_ev_info *ei)
{
	struct nnbpf_event *e = bpf_ringbuf_reserve(&nnbpf_events, sizeof(*e), 0);

	if (!e) {
		nnbpf_stat(NNBPF_STAT_EVENTS_LOST);
		return;
	}
	nnbpf_event_fill(e, s, type, now, block_expires_ns, ei);
	bpf_ringbuf_submit(e, 0);
}

/* A block of exactly this prefix is in force (the model's or an operator's).
 * A flow of a blocked source can still end (the idle sweep classifies flows
 * that began before the block): it adds evidence but neither blocks again,
 * nor escalates the TTL, nor overrides an operator's block. */
static __always_inline int nnbpf_blocked_now(const struct nnbpf_addr *key, __u64 now)
{
	const struct nnbpf_block *b = bpf_map_lookup_elem(&nnbpf_blocked, key);

	return b && (!b->expires_ns || b->expires_ns > now);
}

/* Block a source prefix for `ttl` (0 = forever) when no block of it is in
 * force (nnbpf_blocked_now): an expired entry the sweep has not removed yet
 * is replaced. Returns the deadline. */
static __always_inline __u64 nnbpf_block_source(const struct nnbpf_addr *key, __u64 now, __u64 ttl,
						 const struct nnbpf_ev_info *ei, __u32 class_id)
{
	__u64 expires = ttl ? now + ttl : 0;
	struct nnbpf_block nb = {
		.expires_ns = expires,
		.added_ns = now,
		.drops = 0,
		.by = NNBPF_BLOCK_BY_MODEL,
		.prefixlen = ei->prefixlen,
		.ttl_ns = ttl,
		.margin = ei->margin,
		.hits = ei->hits,
		.flows = ei->flows,
		.class_id = class_id,
		.pad = 0,
	};

	bpf_map_update_elem(&nnbpf_blocked, key, &nb, BPF_ANY);
	nnbpf_blocks_bump();
	return expires;
}


/* a < b for unsigned 64-bit values, branch-free: the borrow of a - b. */
static __always_inline __u64 nnbpf_lt_u64(__u64 a, __u64 b)
{
	return ((~a & b) | (~(a ^ b) & (a - b))) >> 63;
}

/* --abstain-outside-ranges: a feature outside the model's training range.
 * Branch-free, so the verifier walks it once for any number of features. */
static __always_inline int nnbpf_outside_ranges(const struct nnbpf_scratch *s, const struct nnbpf_policy *p)
{
	__u64 out = 0;

	if (!nnbpf_cfg.abstain || !p || !(p->flags & NNBPF_POLICY_RANGES))
		return 0;
#pragma unroll
	for (int j = 0; j < NNBPF_N_INPUTS; j++) {
		__u64 x = s->feat[j];

		out |= nnbpf_lt_u64(x, p->data_lo[j]) | nnbpf_lt_u64(p->data_hi[j], x);
	}
	nnbpf_opaque(out);
	return out != 0;
}

/* The end of a flow's inference (modes FLOW and SWEEP): verdict -> evidence
 * -> allowlist / block, events, the packet's XDP action. Runs at the end of
 * the last stage (nnbpf_finish), with no tail call more; nnbpf_flow_finish
 * runs it for a pipeline without stages. */
static __always_inline int nnbpf_flow_done(struct nnbpf_scratch *s)
{
	__u64 now = bpf_ktime_get_ns();
	struct nnbpf_ev_info ei = {};
	__u64 expires = 0;
	int blocked = 0;

	nnbpf_stat(NNBPF_STAT_INFERENCES);
	/* Inference time inside packet processing, so that user space can
	 * split nnbpf_xdp's run time (bpf_stats) into extraction and
	 * inference (nnbpf stats --programs). */
	if (s->mode == NNBPF_MODE_FLOW) {
		nnbpf_stat_add(NNBPF_STAT_CHAIN_NS, now - s->t_start_ns);
		nnbpf_stat(NNBPF_STAT_CHAIN_RUNS);
	}
	if (s->reason != NNBPF_END_EVERY_N)
		nnbpf_stat(NNBPF_STAT_FLOWS_ENDED);
#if NNBPF_N_STAGES > 0
	{
		const struct nnbpf_policy *pol = nnbpf_policy_of(s->slot);
		__u32 v = (__u32)s->verdict & (NNBPF_MAX_OUTPUTS - 1);
		struct nnbpf_addr pk;
		struct nnbpf_ev_result r;
		int counted, allowed = 0;

		ei.margin = NNBPF_N_OUTPUTS == 1 ? s->logits[0] : s->logits[v] - s->logits[0];
		counted = s->verdict != 0 && !(pol && (pol->class_ignore >> v) & 1) &&
			  !(pol && (pol->flags & NNBPF_POLICY_MARGIN) && ei.margin < pol->min_margin);
		ei.prefixlen = nnbpf_src_prefix(&s->key.src, &pk);
		if (s->verdict != 0) {
			struct nnbpf_lpm_key lk = {.prefixlen = 128};

			nnbpf_stat(NNBPF_STAT_INTRUSIONS);
			__builtin_memcpy(&lk.addr, &s->key.src, sizeof(lk.addr));
			if (bpf_map_lookup_elem(&nnbpf_allow, &lk)) {
				nnbpf_stat(NNBPF_STAT_ALLOWED);
				ei.flags |= NNBPF_EVF_ALLOWED;
				allowed = 1;
			}
		}
		if (nnbpf_outside_ranges(s, pol)) {
			nnbpf_stat(NNBPF_STAT_UNSURE);
			ei.flags |= NNBPF_EVF_UNSURE;
			nnbpf_evidence_unsure(&pk);
		} else {
			if (nnbpf_cfg.no_evidence) {
				r.hits = r.flows = 0;
				r.decide = counted;
			} else {
				nnbpf_evidence_add(&pk, counted, ei.margin, now, &r);
			}
			ei.hits = r.hits;
			ei.flows = r.flows;
			if (counted) {
				nnbpf_stat(NNBPF_STAT_EVIDENCE);
				ei.flags |= NNBPF_EVF_EVIDENCE;
			}
			if (r.decide && !allowed && !nnbpf_cfg.monitor && !nnbpf_blocked_now(&pk, now)) {
				ei.ttl_ns = nnbpf_evidence_block(&pk, now);
				expires = nnbpf_block_source(&pk, now, ei.ttl_ns, &ei, v);
				nnbpf_stat(NNBPF_STAT_BLOCKS);
				blocked = 1;
			}
		}
	}
#endif
	nnbpf_event_send(s, NNBPF_EV_VERDICT, now, 0, &ei);
	if (blocked)
		nnbpf_event_send(s, NNBPF_EV_BLOCK, now, expires, &ei);
	nnbpf_inference_end(s);
	if (s->mode == NNBPF_MODE_SWEEP) /* no packet behind this inference */
		return blocked ? XDP_DROP : XDP_PASS;
	/* The packet that ended an intrusion is the blocked source's first
	 * dropped packet. */
	if (blocked) {
		nnbpf_stat(NNBPF_STAT_DROPPED);
		return XDP_DROP;
	}
	nnbpf_stat(NNBPF_STAT_PASSED);
	return XDP_PASS;
}

/* After the last layer (called by the generated last stage): a test run's
 * result goes to nnbpf_test_finish; a flow's is finished right here. */
static __always_inline int nnbpf_finish(struct xdp_md *ctx, struct nnbpf_scratch *s)
{
	if (s->mode == NNBPF_MODE_TEST)
		return nnbpf_next(ctx, s, NNBPF_PROG_FINISH_TEST);
	return nnbpf_flow_done(s);
}

/* Tail-call target NNBPF_PROG_FINISH_FLOW: a pipeline without stages
 * (nnbpf capture) goes here from a flow's end. */
SEC("xdp")
int nnbpf_flow_finish(struct xdp_md *ctx)
{
	struct nnbpf_scratch *s = nnbpf_scratch_get();

	if (!s) {
		nnbpf_count_error(NNBPF_ERR_SCRATCH);
		return XDP_PASS;
	}
	return nnbpf_flow_done(s);
}

/* BPF_PROG_TEST_RUN only (user space's idle sweep): classify the flow named
 * by the packet (struct nnbpf_sweep_pkt) now, with the packet's reason, and
 * free it. Returns XDP_PASS with no event if the flow is gone, XDP_ABORTED
 * on a bad packet or if the chain could not start; otherwise the chain's
 * finish returns (XDP_DROP: its source was blocked, else XDP_PASS). */
SEC("xdp")
int nnbpf_sweep(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct nnbpf_sweep_pkt *p = data;
	struct nnbpf_flow_key key;
	struct nnbpf_flow *f;
	__u64 t0;

	if ((void *)(p + 1) > data_end || p->magic != NNBPF_SWEEP_MAGIC) {
		nnbpf_count_error(NNBPF_ERR_PACKET);
		return XDP_ABORTED;
	}
	__builtin_memcpy(&key, &p->key, sizeof(key));
	t0 = bpf_ktime_get_ns();
	f = bpf_map_lookup_elem(&nnbpf_flows, &key);
	if (!f)
		return XDP_PASS;
	if (nnbpf_end_flow(ctx, f, &key, p->reason, 1, t0, NNBPF_MODE_SWEEP))
		return XDP_PASS; /* outside the model's domain: freed, not classified */
	return XDP_ABORTED;
}
