/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Hand-written part of every compiled object: inference bracketing helpers
 * used by the generated stages, and the BPF_PROG_TEST_RUN entry and finish
 * programs that run the compiled stages on a feature vector carried in the
 * test packet (struct nnbpf_test_pkt).
 *
 * The generated translation unit defines NNBPF_N_INPUTS, NNBPF_N_OUTPUTS,
 * struct nnbpf_params and the model's feature list (NNBPF_USE_<feature>,
 * NNBPF_MODEL_FEATURES), then includes this file and progs/xdp.bpf.c (the
 * XDP pipeline), then emits the stages.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nnbpf/abi.h"
#include "nnbpf/maps.h"
#include "nnbpf/mlp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void nnbpf_count_error(__u32 code)
{
	__u64 *c = bpf_map_lookup_elem(&nnbpf_errors, &code);

	if (c)
		*c += 1;
}

/* Per-CPU counter NNBPF_STAT_* of the XDP pipeline (docs/runtime-bpf.md). */
static __always_inline void nnbpf_stat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&nnbpf_stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline void nnbpf_stat_add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&nnbpf_stats, &idx);

	if (c)
		*c += v;
}

static __always_inline struct nnbpf_scratch *nnbpf_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nnbpf_scratch, &zero);
}

/* The Running parameter slot (flipped by nnbpf update), or -1 if its index
 * cannot be read (counted). Read once per inference: the domain check and
 * every stage use the slot it returns. */
static __always_inline int nnbpf_running_slot(void)
{
	__u32 zero = 0;
	__u32 *idx = bpf_map_lookup_elem(&nnbpf_param_idx, &zero);

	if (!idx) {
		nnbpf_count_error(NNBPF_ERR_PARAMS);
		return -1;
	}
	return *idx & 1;
}

/* Mark this CPU busy for grace-period tracking (nnbpf update waits for every
 * odd seq to move on). Done before the slot is read, so that an update that
 * flips the slot after this read sees the CPU busy. */
static __always_inline void nnbpf_inference_enter(struct nnbpf_scratch *s)
{
	s->seq |= 1;
}

/* Start an inference on this CPU at `now` (bpf_ktime_get_ns(), read by the
 * caller: on a flow's end the same reading ends the extraction), pinned to
 * parameter slot `slot` (all stages use it, so a concurrent hot update can
 * never mix two models). The caller has called nnbpf_inference_enter. */
static __always_inline void nnbpf_inference_begin_at(struct nnbpf_scratch *s, __u32 mode, __u32 slot, __u64 now)
{
	s->slot = slot;
	s->mode = mode;
	s->t_start_ns = now;
}

static __always_inline void nnbpf_inference_end(struct nnbpf_scratch *s)
{
	s->seq = (s->seq | 1) + 1;
}

/* Enter, read the Running slot and start an inference now; -1 (inference
 * ended, error counted) if the slot cannot be read. */
static __always_inline int nnbpf_inference_begin(struct nnbpf_scratch *s, __u32 mode)
{
	int slot;

	nnbpf_inference_enter(s);
	slot = nnbpf_running_slot();
	if (slot < 0) {
		nnbpf_inference_end(s);
		return -1;
	}
	nnbpf_inference_begin_at(s, mode, slot, bpf_ktime_get_ns());
	return 0;
}

/* An inference that cannot complete (the caller has counted why): end it.
 * A test run reports XDP_ABORTED; a real packet behind a flow's inference
 * passes, since nnbpf never drops a packet because its own machinery
 * failed. */
static __always_inline int nnbpf_abandon(struct nnbpf_scratch *s)
{
	__u32 mode = s->mode;

	nnbpf_inference_end(s);
	if (mode == NNBPF_MODE_FLOW) {
		nnbpf_stat(NNBPF_STAT_PASSED);
		return XDP_PASS;
	}
	return XDP_ABORTED;
}

/* Tail call to the next program of the chain; if it falls through, the
 * inference is abandoned and counted. */
static __always_inline int nnbpf_next(struct xdp_md *ctx, struct nnbpf_scratch *s, __u32 slot)
{
	bpf_tail_call(ctx, &nnbpf_progs, slot);
	nnbpf_count_error(NNBPF_ERR_TAILCALL);
	return nnbpf_abandon(s);
}

SEC("xdp")
int nnbpf_test_entry(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct nnbpf_test_pkt *p = data;
	struct nnbpf_scratch *s;

	if ((void *)(p + 1) > data_end || p->magic != NNBPF_TEST_MAGIC ||
	    p->n_features != NNBPF_N_INPUTS) {
		nnbpf_count_error(NNBPF_ERR_PACKET);
		return XDP_ABORTED;
	}
	s = nnbpf_scratch_get();
	if (!s) {
		nnbpf_count_error(NNBPF_ERR_SCRATCH);
		return XDP_ABORTED;
	}
	if (nnbpf_inference_begin(s, NNBPF_MODE_TEST))
		return XDP_ABORTED;
#pragma unroll
	for (int j = 0; j < NNBPF_N_INPUTS; j++)
		s->feat[j] = p->feat[j];
	return nnbpf_next(ctx, s, NNBPF_PROG_STAGE0);
}

SEC("xdp")
int nnbpf_test_finish(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct nnbpf_test_pkt *p = data;
	struct nnbpf_scratch *s = nnbpf_scratch_get();

	if (!s) {
		nnbpf_count_error(NNBPF_ERR_SCRATCH);
		return XDP_ABORTED;
	}
	if ((void *)(p + 1) > data_end) {
		nnbpf_count_error(NNBPF_ERR_PACKET);
		nnbpf_inference_end(s);
		return XDP_ABORTED;
	}
	p->t_ns = bpf_ktime_get_ns() - s->t_start_ns;
	p->slot = s->slot;
	p->verdict = s->verdict;
#pragma unroll
	for (int i = 0; i < NNBPF_N_OUTPUTS; i++)
		p->logits[i] = s->logits[i];
	p->status = NNBPF_TEST_DONE;
	nnbpf_inference_end(s);
	return XDP_PASS;
}
