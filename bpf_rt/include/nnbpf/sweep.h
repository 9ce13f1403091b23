/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The idle sweep's interface between user space (runtime/sweep.cc) and the
 * scan program nnbpf_sweep_scan (bpf_rt/progs/sweep.bpf.c).
 *
 * User space runs nnbpf_sweep_scan (a syscall program) with
 * BPF_PROG_TEST_RUN on a struct nnbpf_scan_args (the pass's clock and
 * timeouts); the kernel walks nnbpf_flows (bpf_for_each_map_elem) and
 * writes one struct nnbpf_sweep_rec per flow to classify into
 * nnbpf_sweep_due (memory-mapped by user space), at most NNBPF_SWEEP_BATCH
 * per run, and the counts back into the arguments. User
 * space classifies each through nnbpf_sweep (struct nnbpf_sweep_pkt,
 * abi.h), which frees it, and scans again while the batch came back full.
 */
#ifndef NNBPF_SWEEP_H
#define NNBPF_SWEEP_H

#include <linux/types.h>
#include "nnbpf/abi.h"

#define NNBPF_PROG_SWEEP_SCAN_NAME "nnbpf_sweep_scan"
#define NNBPF_MAP_SWEEP_DUE "nnbpf_sweep_due"
#define NNBPF_SWEEP_BATCH 65536

/* The context of nnbpf_sweep_scan (BPF_PROG_TEST_RUN ctx_in, written back). */
struct nnbpf_scan_args {
	__u64 now_ns;       /* CLOCK_MONOTONIC at the start of the pass */
	__u64 idle_ns;      /* classify flows idle this long; 0 = off */
	__u64 embryonic_ns; /* TCP and UDP flows of one packet (a SYN never followed
			     * by the handshake's ACK, a lone datagram) idle this long; 0 = off */
	__u32 all_reason;   /* nonzero: every flow, with this reason (exit flush) */
	__u32 due;          /* in: 0; out: records written to nnbpf_sweep_due */
	__u32 full;         /* out: 1 if the batch filled before the walk ended */
	__u32 pad;
	__u64 visited;      /* out: flows looked at */
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_scan_args) == 48, "nnbpf_scan_args size");

struct nnbpf_sweep_rec {
	struct nnbpf_flow_key key;
	__u32 reason; /* NNBPF_END_IDLE, _EMBRYONIC or all_reason */
	__u32 pad;
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_sweep_rec) == 48, "nnbpf_sweep_rec size");

#endif /* NNBPF_SWEEP_H */
