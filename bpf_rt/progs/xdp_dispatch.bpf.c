/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Entry program for sharing an interface with other XDP programs through
 * libxdp's multi-program dispatcher (nnbpf run --attach libxdp,
 * runtime/attach_libxdp.cc).
 *
 * libxdp loads this program as a BPF_PROG_TYPE_EXT into a slot of its
 * dispatcher. It tail-calls the pipeline's nnbpf_xdp through the one-entry
 * program array nnbpf_entry, which the runtime creates, fills and pins
 * before this program is loaded (so it never runs with an empty slot). A
 * daemon taking over the pipeline swaps its own nnbpf_xdp into slot 0: one
 * atomic update, no gap. Should the slot ever be empty, packets pass.
 *
 * XDP_PASS from nnbpf_xdp makes the dispatcher go on to the next program;
 * XDP_DROP (a blocked source) ends the chain. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} nnbpf_entry SEC(".maps");

SEC("xdp")
int nnbpf_dispatch(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &nnbpf_entry, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
