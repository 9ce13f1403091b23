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

/* Limits of the generated code (mirrored by compiler/ir/model.h). */
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

/* Per-CPU scratch: activations crossing tail-call stages and the context of
 * the running inference. Never shared across CPUs. */
struct nnbpf_scratch {
	__u64 seq;        /* odd while an inference runs on this CPU (grace periods) */
	__u32 slot;       /* parameter slot read by every stage of this inference */
	__u32 mode;       /* NNBPF_MODE_* */
	__u64 t_start_ns; /* bpf_ktime_get_ns() at the inference's start */
	__s64 verdict;
	__u64 feat[NNBPF_MAX_FEATURES];       /* raw feature values */
	__s64 act[2][NNBPF_MAX_WIDTH];        /* ping-pong activations */
	__s64 logits[NNBPF_MAX_OUTPUTS];
};
NNBPF_STATIC_ASSERT(sizeof(struct nnbpf_scratch) == 32 + 8 * (24 + 512 + 16), "nnbpf_scratch size");

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

/* Object stamp, in ELF section ".nnbpf.stamp" of every compiled object. */
struct nnbpf_stamp {
	__u32 abi_version;
	__u32 n_stages;
	__u8 digest[32];
};

#endif /* NNBPF_ABI_H */
