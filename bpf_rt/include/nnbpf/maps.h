/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every map of a compiled nnbpf object, in one place. The includer defines
 * struct nnbpf_params (generated per model) and NNBPF_USE_<feature> for the
 * model's features (they shape struct nnbpf_flow) before including this
 * file. Sizes are overridable macros (abi.h).
 */
#ifndef NNBPF_MAPS_H
#define NNBPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nnbpf/abi.h"
#include "nnbpf/flow.h"

/* Tail-call table: inference stages, then the finish programs. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, NNBPF_PROG_ARRAY_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} nnbpf_progs SEC(".maps");

/* Two parameter slots, Running and Idle (paper §IV-D). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct nnbpf_params);
} nnbpf_params SEC(".maps");

/* Index of the Running slot; flipped by nnbpf update. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} nnbpf_param_idx SEC(".maps");

/* Per-CPU activations and inference context. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nnbpf_scratch);
} nnbpf_scratch SEC(".maps");

/* Per-CPU error counters, index NNBPF_ERR_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NNBPF_ERR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} nnbpf_errors SEC(".maps");

/* ---- XDP runtime (bpf_rt/progs/xdp.bpf.c, docs/runtime-bpf.md) --------- */

/* Per-flow state, RX direction. LRU: when full, the least recently used
 * flow is evicted to make room, so tracking never stops. The value holds
 * only what the model's features need (struct nnbpf_flow, flow.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NNBPF_MAX_FLOWS);
	__type(key, struct nnbpf_flow_key);
	__type(value, struct nnbpf_flow);
} nnbpf_flows SEC(".maps");

/* Host filter: blocked source addresses (by the model or by the user). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NNBPF_MAX_BLOCKED);
	__type(key, struct nnbpf_addr);
	__type(value, struct nnbpf_block);
} nnbpf_blocked SEC(".maps");

/* Whether nnbpf_blocked may hold an entry (struct nnbpf_block_gen, abi.h).
 * mmap-able: user space bumps gen atomically in place. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nnbpf_block_gen);
} nnbpf_block_gen SEC(".maps");

/* Sources the model may flag but never block (prefixes, v4 as ::ffff:0:0/96
 * + n). Value unused (1). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NNBPF_MAX_ALLOW);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nnbpf_lpm_key);
	__type(value, __u8);
} nnbpf_allow SEC(".maps");

/* Verdict and block events (struct nnbpf_event) for user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NNBPF_EVENTS_BYTES);
} nnbpf_events SEC(".maps");

/* Per-CPU counters, key = NNBPF_STAT_*, value __u64. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NNBPF_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} nnbpf_stats SEC(".maps");

/* Recently closed TCP flows, see NNBPF_CLOSED_NS in abi.h: a direct-mapped
 * table of hash tags and close times (nnbpf/closed.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NNBPF_MAX_CLOSED);
	__type(key, __u32);
	__type(value, __u64);
} nnbpf_closed SEC(".maps");

/* Model policy per parameter slot (struct nnbpf_policy, abi.h): domain,
 * evidence classes, margin floor, data ranges. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct nnbpf_policy);
} nnbpf_policy SEC(".maps");

/* Evidence per source prefix (struct nnbpf_evidence, evidence.h). LRU: the
 * least recently judged prefixes make room. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NNBPF_MAX_EVIDENCE);
	__type(key, struct nnbpf_addr);
	__type(value, struct nnbpf_evidence);
} nnbpf_evidence SEC(".maps");

#endif /* NNBPF_MAPS_H */
