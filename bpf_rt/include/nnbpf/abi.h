/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nnbpf ABI: THE definition of every layout shared by BPF programs, generated
 * model code and the user-space runtime. Fixed-width types, explicit padding,
 * sizes asserted. C++ includes this header; nothing copies it.
 *
 * Bump NNBPF_ABI_VERSION on any change to a layout, map or program slot.
 */
#ifndef NNBPF_ABI_H
#define NNBPF_ABI_H

#include <linux/types.h>

#ifdef __cplusplus
#define NNBPF_STATIC_ASSERT static_assert
#else
#define NNBPF_STATIC_ASSERT _Static_assert
#endif

#define NNBPF_ABI_VERSION 1

/* Limits of the generated code (compiler/ir/model.h uses these). */
#define NNBPF_MAX_FEATURES 24
#define NNBPF_MAX_WIDTH 256
#define NNBPF_MAX_OUTPUTS 16
#define NNBPF_MAX_STAGES 28

/* Slots of the tail-call program array nnbpf_progs. Stages occupy
 * [NNBPF_PROG_STAGE0, NNBPF_PROG_STAGE0 + n_stages). */
#define NNBPF_PROG_STAGE0 0
#define NNBPF_PROG_FINISH_TEST 30
#define NNBPF_PROG_FINISH_FLOW 31
#define NNBPF_PROG_ARRAY_SIZE 32

/* Map names (as in the object and under /sys/fs/bpf/nnbpf/IFACE/). */
#define NNBPF_MAP_PROGS "nnbpf_progs"
#define NNBPF_MAP_PARAMS "nnbpf_params"
#define NNBPF_MAP_PARAM_IDX "nnbpf_param_idx"
#define NNBPF_MAP_SCRATCH "nnbpf_scratch"
#define NNBPF_MAP_ERRORS "nnbpf_errors"

/* Program names. */
#define NNBPF_PROG_TEST_ENTRY_NAME "nnbpf_test_entry"
#define NNBPF_PROG_TEST_FINISH_NAME "nnbpf_test_finish"
#define NNBPF_PROG_STAGE_PREFIX "nnbpf_stage_"

/* Who started an inference (nnbpf_scratch.mode). */
#define NNBPF_MODE_TEST 1 /* nnbpf_test_entry: features from the packet */
#define NNBPF_MODE_FLOW 2 /* flow end in the XDP pipeline */
#define NNBPF_MODE_SWEEP 3 /* nnbpf_sweep: an idle flow, no packet to pass or drop */

/* Per-CPU error counters (nnbpf_errors, index = code). Any nonzero counter
 * means an inference did not complete; the runtime reports them. */
#define NNBPF_ERR_SCRATCH 0   /* scratch map lookup failed */
#define NNBPF_ERR_PARAMS 1    /* parameter slot lookup failed */
#define NNBPF_ERR_TAILCALL 2  /* a tail call fell through */
#define NNBPF_ERR_PACKET 3    /* test packet too short or bad magic */
#define NNBPF_ERR_MAX 8

/* Header of every parameter slot (value of nnbpf_params). The generated
 * struct nnbpf_params starts with it; the rest of the layout is per model and
 * described in the manifest (params layout). */
struct nnbpf_params_hdr {
	__u32 abi_version;
	__u32 shift;      /* b: s = 2^b */
	__u32 n_inputs;
	__u32 n_outputs;
	__u8 digest[32];  /* sha256 of the source model */
	__u64 generation; /* bumped by every hot update */
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_params_hdr) == 56, "nnbpf_params_hdr size");

/* Integer standardization parameters of one input (docs/semantics.md). */
struct nnbpf_input_param {
	__u64 lo;  /* clamp bounds of the raw value */
	__u64 hi;
	__s64 m;   /* round(mean * 2^q) */
	__u64 den; /* round(sigma * 2^q); 0 => standardized value 0 */
	__u32 q;
	__u32 pad;
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_input_param) == 40, "nnbpf_input_param size");

/* One decision-tree node of a tree model's parameter slot (docs/semantics.md,
 * "Decision trees"); the slot holds a power-of-two array of them, then the
 * leaves' int32 class values and each tree's root. A node sends raw feature x
 * = feat[feature] to true_child iff x <= threshold (NNBPF_TREE_OP_LE) or
 * x == threshold (NNBPF_TREE_OP_EQ). Leaves point to themselves and name
 * their row of leaf values. */
#define NNBPF_TREE_OP_LE 0
#define NNBPF_TREE_OP_EQ 1
struct nnbpf_tree_node {
	__u64 threshold;
	__u16 true_child;
	__u16 false_child;
	__u16 leaf;
	__u8 feature;
	__u8 op;
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_tree_node) == 16, "nnbpf_tree_node size");

/* Per-CPU scratch: activations crossing tail-call stages and the context of
 * the running inference. Never shared across CPUs. */
/* An address: IPv6, or IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
struct nnbpf_addr {
	__u8 a[16];
};

/* Flow key, one type for IPv4 and IPv6. Ports in host byte order. */
struct nnbpf_flow_key {
	struct nnbpf_addr src;
	struct nnbpf_addr dst;
	__u16 sport;
	__u16 dport;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[3];
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_flow_key) == 40, "nnbpf_flow_key size");

/* Why a flow was classified (nnbpf_event.reason). */
#define NNBPF_END_FIN 1     /* TCP FIN */
#define NNBPF_END_RST 2     /* TCP RST */
#define NNBPF_END_IDLE 3    /* idle timeout (user-space sweep) */
#define NNBPF_END_EVERY_N 4 /* every N packets, flow kept */
#define NNBPF_END_EVICTED 5 /* reserved */
#define NNBPF_END_EXIT 6    /* still live when nnbpf capture stopped (user-space flush) */

struct nnbpf_scratch {
	__u64 seq;        /* odd while an inference runs on this CPU (grace periods) */
	__u32 slot;       /* parameter slot read by every stage of this inference */
	__u32 mode;       /* NNBPF_MODE_* */
	__u64 t_start_ns; /* bpf_ktime_get_ns() at the inference's start */
	__s64 verdict;
	__u64 feat[NNBPF_MAX_FEATURES];       /* raw feature values */
	__s64 act[2][NNBPF_MAX_WIDTH];        /* ping-pong activations */
	__s64 logits[NNBPF_MAX_OUTPUTS];
	/* Flow context of a NNBPF_MODE_FLOW inference. */
	struct nnbpf_flow_key key;
	__u32 reason;     /* NNBPF_END_* */
	__u32 pad;
	__u64 extract_ns; /* ns spent in feature extraction for this flow's last packet */
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_scratch) == 32 + 8 * (24 + 512 + 16) + 40 + 16, "nnbpf_scratch size");

/* BPF_PROG_TEST_RUN packet for nnbpf_test_entry (nnbpf infer --engine kernel,
 * nnbpf bench). Input: magic, n_features, feat[]. Output (written by
 * nnbpf_test_finish into the same packet): status = NNBPF_TEST_DONE, slot,
 * verdict, logits. */
#define NNBPF_TEST_MAGIC 0x4e4e4250u /* "NNBP" */
#define NNBPF_TEST_DONE 0x444f4e45u  /* "DONE" */
struct nnbpf_test_pkt {
	__u8 eth[14];     /* ignored; XDP test runs need an Ethernet-sized head */
	__u16 pad0;
	__u32 magic;
	__u32 n_features;
	__u32 status;
	__u32 slot;
	__s64 verdict;
	__u64 t_ns;       /* ns from entry to finish (bpf_ktime_get_ns) */
	__u64 feat[NNBPF_MAX_FEATURES];
	__s64 logits[NNBPF_MAX_OUTPUTS];
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_test_pkt) == 48 + 8 * (24 + 16), "nnbpf_test_pkt size");

/* ---- runtime (XDP pipeline) ------------------------------------------- */

#define NNBPF_MAP_FLOWS "nnbpf_flows"
#define NNBPF_MAP_BLOCKED "nnbpf_blocked"
#define NNBPF_MAP_ALLOW "nnbpf_allow"
#define NNBPF_MAP_EVENTS "nnbpf_events"
#define NNBPF_MAP_STATS "nnbpf_stats"
#define NNBPF_PROG_XDP_NAME "nnbpf_xdp"              /* attached to the interface */
#define NNBPF_PROG_FLOW_FINISH_NAME "nnbpf_flow_finish" /* NNBPF_PROG_FINISH_FLOW */
#define NNBPF_PROG_SWEEP_NAME "nnbpf_sweep"          /* BPF_PROG_TEST_RUN: classify one idle flow */

#ifndef NNBPF_MAX_FLOWS
#define NNBPF_MAX_FLOWS 65536
#endif
#ifndef NNBPF_MAX_BLOCKED
#define NNBPF_MAX_BLOCKED 65536
#endif
/* Flows ended by FIN/RST are remembered this long, so the packets that
 * still follow a close (the last ACK, retransmitted FINs) do not start a new
 * one-packet "flow" that an idle sweep would then classify. A SYN always
 * starts a new flow. */
#ifndef NNBPF_MAX_CLOSED
#define NNBPF_MAX_CLOSED 16384
#endif
#ifndef NNBPF_CLOSED_NS
#define NNBPF_CLOSED_NS (60ULL * 1000000000ULL)
#endif
#define NNBPF_MAP_CLOSED "nnbpf_closed"

#ifndef NNBPF_MAX_ALLOW
#define NNBPF_MAX_ALLOW 1024
#endif
#ifndef NNBPF_EVENTS_BYTES
#define NNBPF_EVENTS_BYTES (1 << 20)
#endif

/* Tunables fixed at load time (in .rodata, set by nnbpf run before load). */
struct nnbpf_config {
	__u64 block_ttl_ns;    /* lifetime of a block; 0 = never expires */
	__u32 every_packets;   /* 0 = off; else classify every N packets, flow kept */
	__u32 monitor;         /* 1: detect and report, never drop or block */
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_config) == 16, "nnbpf_config size");

/* Leading fields of every nnbpf_flows value (key: struct nnbpf_flow_key).
 * The rest of the value (struct nnbpf_flow, bpf_rt/include/nnbpf/flow.h)
 * holds only the accumulators the model's features need, so the value size
 * is per model: read it from the map. User space reads these fields (idle
 * sweep: now - last_ns, both CLOCK_MONOTONIC). */
struct nnbpf_flow_hdr {
	__u64 last_ns; /* bpf_ktime_get_ns() of the flow's last packet */
	__u32 pkts;    /* packets so far */
	__u32 pad;     /* not part of the prefix: per-model data may start here */
};

/* Value of nnbpf_blocked (key: struct nnbpf_addr, the source address). */
struct nnbpf_block {
	__u64 expires_ns;  /* bpf_ktime_get_ns() deadline; 0 = never */
	__u64 added_ns;
	__u64 drops;       /* packets dropped because of this entry (approximate across CPUs) */
	__u32 by;          /* NNBPF_BLOCK_BY_* */
	__u32 pad;
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_block) == 32, "nnbpf_block size");
#define NNBPF_BLOCK_BY_MODEL 1
#define NNBPF_BLOCK_BY_USER 2

/* Key of the allowlist LPM trie: prefixlen counts bits of the 128-bit
 * address; an IPv4 /n prefix is stored as ::ffff:a.b.c.d/(96+n). */
struct nnbpf_lpm_key {
	__u32 prefixlen;
	struct nnbpf_addr addr;
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_lpm_key) == 20, "nnbpf_lpm_key size");

/* Per-CPU counters in nnbpf_stats, index = NNBPF_STAT_*. */
#define NNBPF_STAT_PKTS 0          /* packets seen by nnbpf_xdp */
#define NNBPF_STAT_PASSED 1
#define NNBPF_STAT_DROPPED 2       /* dropped from blocked sources */
#define NNBPF_STAT_NOT_IP 3        /* passed untouched: not IPv4/IPv6 TCP/UDP */
#define NNBPF_STAT_FLOWS_NEW 4     /* flows created */
#define NNBPF_STAT_FLOWS_ENDED 5   /* flows classified and freed */
#define NNBPF_STAT_INFERENCES 6
#define NNBPF_STAT_INTRUSIONS 7
#define NNBPF_STAT_BLOCKS 8        /* sources blocked by the model */
#define NNBPF_STAT_ALLOWED 9       /* intrusions from allowlisted sources (not blocked) */
#define NNBPF_STAT_EXPIRED 10      /* block entries removed on sight after expiry */
#define NNBPF_STAT_EVENTS_LOST 11  /* ring buffer full */
#define NNBPF_STAT_FLOW_FULL 12    /* flow insert failed */
#define NNBPF_STAT_AFTER_CLOSE 13  /* TCP packets of a flow that just ended (FIN/RST): not a new flow */
#define NNBPF_STAT_CHAIN_NS 14     /* ns in inference chains started by a packet (NNBPF_MODE_FLOW): begin to finish */
#define NNBPF_STAT_CHAIN_RUNS 15   /* those chains (the count CHAIN_NS is summed over) */
#define NNBPF_STAT_MAX 16

/* Ring-buffer event (nnbpf_events). */
#define NNBPF_EV_VERDICT 1 /* a flow was classified */
#define NNBPF_EV_BLOCK 2   /* its source was blocked */
struct nnbpf_event {
	__u32 type;        /* NNBPF_EV_* */
	__u32 reason;      /* NNBPF_END_* */
	struct nnbpf_flow_key key;
	__u64 ts_ns;
	__u64 extract_ns;  /* feature extraction of the ending packet */
	__u64 infer_ns;    /* inference: entry to finish */
	__s32 verdict;
	__u32 slot;        /* parameter slot used */
	__u32 n_features;
	__u32 n_outputs;
	__u64 feat[NNBPF_MAX_FEATURES];
	__s64 logits[NNBPF_MAX_OUTPUTS];
	__u64 block_expires_ns; /* NNBPF_EV_BLOCK */
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_event) == 88 + 8 * (24 + 16) + 8, "nnbpf_event size");

/* BPF_PROG_TEST_RUN packet for nnbpf_sweep: classify one flow now. */
#define NNBPF_SWEEP_MAGIC 0x4e4e5357u /* "NNSW" */
struct nnbpf_sweep_pkt {
	__u8 eth[14];
	__u16 pad0;
	__u32 magic;
	__u32 reason;   /* NNBPF_END_IDLE */
	struct nnbpf_flow_key key;
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_sweep_pkt) == 64, "nnbpf_sweep_pkt size");

/* Object stamp, in ELF section ".nnbpf.stamp" of every compiled object. */
struct nnbpf_stamp {
	__u32 abi_version;
	__u32 n_stages;
	__u8 digest[32];
};

#endif /* NNBPF_ABI_H */
