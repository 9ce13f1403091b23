/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every map of a compiled nnbpf object, in one place. The includer defines
 * struct nnbpf_params (generated per model) before including this file.
 * Sizes are overridable macros.
 */
#ifndef NNBPF_MAPS_H
#define NNBPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "nnbpf/abi.h"

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

#endif /* NNBPF_MAPS_H */
