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

#define NNBPF_ABI_VERSION 4

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
#define NNBPF_END_EMBRYONIC 7 /* TCP or UDP flow of one packet idle for --embryonic-timeout */

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
#define NNBPF_MAX_CLOSED 65536 /* slots of nnbpf_closed, a power of two */
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

/* Tunables fixed at load time (in .rodata, set by nnbpf run before load).
 * The object's defaults block on the first intrusion verdict (block_after
 * 1, min_share 0, whole addresses); nnbpf run sets its own defaults
 * (docs/run.md, "Blocking policy"). */
struct nnbpf_config {
	__u64 block_ttl_ns;    /* lifetime of a first block; 0 = never expires */
	__u32 every_packets;   /* 0 = off; else classify every N packets, flow kept */
	__u32 monitor;         /* 1: detect and report, never drop or block */
	__u64 window_ns;       /* evidence window (NNBPF_EV_BUCKETS steps); 0 = 1 s */
	__u64 block_ttl_max_ns; /* repeat offenders' TTL doubles up to this; 0 = no doubling */
	__u32 block_after;     /* K: counted intrusion verdicts in the window (0 counts as 1) */
	__u32 min_share_milli; /* R * 1000: counted verdicts / classified flows in the window */
	__u32 prefix_v4;       /* evidence and model blocks per source prefix: /1../32 (0 = 32) */
	__u32 prefix_v6;       /* /1../128 (0 = 128) */
	__u32 abstain;         /* 1: features outside the policy's data ranges -> unsure */
	__u32 no_evidence;     /* nnbpf bench only: skip the evidence step to measure its cost */
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_config) == 56, "nnbpf_config size");

/* ---- model policy (per parameter slot) -----------------------------------
 * Value of nnbpf_policy, index = parameter slot: what the model in that slot
 * may judge and what counts as evidence. Written by nnbpf run (slot 0) and
 * nnbpf update (the idle slot, before the flip), so the policy changes with
 * the model. All zero = every protocol, every class but 0, no margin floor,
 * no ranges. */
#define NNBPF_MAP_POLICY "nnbpf_policy"
#define NNBPF_PROTO_OUT_TCP 1 /* proto_out bits: protocols outside the model's domain */
#define NNBPF_PROTO_OUT_UDP 2
#define NNBPF_POLICY_MARGIN 1 /* flags: min_margin applies */
#define NNBPF_POLICY_RANGES 2 /* flags: data_lo/data_hi hold the model's training ranges */
struct nnbpf_policy {
	__u32 proto_out;    /* NNBPF_PROTO_OUT_*: parsed and counted, never classified */
	__u32 flags;        /* NNBPF_POLICY_* */
	__u32 class_ignore; /* bit c: class c is never evidence (bit 0 always) */
	__u32 pad;
	__s64 min_margin;   /* logit[v] - logit[0] >= this (integer logits) */
	__u64 data_lo[NNBPF_MAX_FEATURES];
	__u64 data_hi[NNBPF_MAX_FEATURES];
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_policy) == 24 + 16 * NNBPF_MAX_FEATURES, "nnbpf_policy size");

/* ---- evidence (per source prefix) ----------------------------------------
 * Value of nnbpf_evidence (key: struct nnbpf_addr, the source address with
 * the bits past the prefix zeroed). The window is NNBPF_EV_BUCKETS steps of
 * window_ns / NNBPF_EV_BUCKETS: bucket i counts the flows of step `epoch`
 * (epoch = now / step), and a sum covers the current step and the previous
 * NNBPF_EV_BUCKETS - 1. */
#define NNBPF_MAP_EVIDENCE "nnbpf_evidence"
#define NNBPF_EV_BUCKETS 8
#ifndef NNBPF_MAX_EVIDENCE
#define NNBPF_MAX_EVIDENCE 65536
#endif
struct nnbpf_ev_bucket {
	__u32 epoch;
	__u16 flows; /* classified flows (not unsure), saturating */
	__u16 hits;  /* of which counted intrusion verdicts, saturating */
};
struct nnbpf_evidence {
	struct nnbpf_ev_bucket b[NNBPF_EV_BUCKETS];
	__u64 last_ns;        /* last classified flow */
	__u64 block_until_ns; /* end of the last model block (escalation); 0 none */
	__u64 last_ttl_ns;    /* that block's TTL */
	__s64 last_margin;    /* margin of the last counted intrusion */
	__u32 blocks;         /* model blocks of this prefix */
	__u32 unsure;         /* unsure flows (outside the data ranges), total */
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_evidence) == 8 * NNBPF_EV_BUCKETS + 40, "nnbpf_evidence size");

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

/* Value of nnbpf_blocked (key: struct nnbpf_addr, the source address; a
 * model block of a prefix shorter than the address has the bits past the
 * prefix zeroed). The evidence fields say why the model blocked. */
struct nnbpf_block {
	__u64 expires_ns;  /* bpf_ktime_get_ns() deadline; 0 = never */
	__u64 added_ns;
	__u64 drops;       /* packets dropped because of this entry (approximate across CPUs) */
	__u32 by;          /* NNBPF_BLOCK_BY_* */
	__u32 prefixlen;   /* of the 128-bit form (IPv4 /n = 96 + n); 0 = 128 */
	__u64 ttl_ns;      /* lifetime given (doubled for repeat offenders) */
	__s64 margin;      /* margin of the deciding flow */
	__u32 hits;        /* counted intrusion verdicts in the window */
	__u32 flows;       /* classified flows in the window */
	__u32 class_id;    /* verdict of the deciding flow */
	__u32 pad;
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_block) == 64, "nnbpf_block size");
#define NNBPF_BLOCK_BY_MODEL 1
#define NNBPF_BLOCK_BY_USER 2

/* Value of nnbpf_block_gen (an mmap-able array of one entry): lets a packet
 * skip the host-filter lookup while nnbpf_blocked is known to be empty
 * (docs/runtime-bpf.md#host-filter). gen is bumped (atomically) after every
 * insert into nnbpf_blocked and every extension of an entry, by the BPF
 * policy and by user space alike; empty_at is written by user space only:
 * gen + 1 for the gen it read just before it found nnbpf_blocked empty. A
 * packet skips the lookup only while empty_at == gen + 1, so any insert
 * after that check, and the initial zeros, mean: look up. */
struct nnbpf_block_gen {
	__u64 gen;
	__u64 empty_at;
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_block_gen) == 16, "nnbpf_block_gen size");
#define NNBPF_MAP_BLOCK_GEN "nnbpf_block_gen"

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
#define NNBPF_STAT_OUT_OF_DOMAIN 16 /* flows ended whose protocol the model does not judge: never classified */
#define NNBPF_STAT_UNSURE 17       /* flows with features outside the data ranges (--abstain-outside-ranges) */
#define NNBPF_STAT_EVIDENCE 18     /* intrusion verdicts counted as evidence */
#define NNBPF_STAT_MAX 20

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
	__u64 feat[NNBPF_MAX_FEATURES];   /* the first n_features are set, the rest is unspecified */
	__s64 logits[NNBPF_MAX_OUTPUTS];  /* the first n_outputs are set, the rest is unspecified */
	__u64 block_expires_ns; /* NNBPF_EV_BLOCK */
	/* Evidence of the flow's source prefix after this flow (window sums). */
	__u32 ev_hits;     /* counted intrusion verdicts in the window */
	__u32 ev_flows;    /* classified flows in the window */
	__s64 margin;      /* logit[verdict] - logit[0] (binary: logit1 - logit0) */
	__u32 flags;       /* NNBPF_EVF_* */
	__u32 prefixlen;   /* NNBPF_EV_BLOCK: of the blocked prefix (128-bit form) */
	__u64 block_ttl_ns; /* NNBPF_EV_BLOCK: lifetime given */
};
#define NNBPF_EVF_EVIDENCE 1 /* this verdict counted as evidence */
#define NNBPF_EVF_UNSURE 2   /* features outside the data ranges: unsure, not evidence */
#define NNBPF_EVF_ALLOWED 4  /* source allowlisted */
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_event) == 88 + 8 * (24 + 16) + 8 + 32, "nnbpf_event size");

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
