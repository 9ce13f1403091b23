/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Compiler barriers of the branch-free code: the runtime's (flow.h,
 * xdp.bpf.c) and the generated stages' (compiler/codegen/emit_*.cc, whose
 * program includes this file).
 *
 * nnbpf_opaque(v): from here on the optimiser knows nothing of v. A mask
 * such as x >> 63 or a comparison's 0/1 stays arithmetic; without it clang
 * sees the comparison again and turns the select back into a branch (more
 * verifier paths, data-dependent time).
 * nnbpf_barrier(): no memory access moves across it (the generated code puts
 * one after each layer part, so a stage's loads stay in source order).
 */
#ifndef NNBPF_BARRIER_H
#define NNBPF_BARRIER_H

#define nnbpf_barrier() asm volatile("" ::: "memory")
#define nnbpf_opaque(v) asm volatile("" : "+r"(v) :: "memory")

#endif
