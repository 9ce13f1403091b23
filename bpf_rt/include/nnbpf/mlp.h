/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building blocks of the generated dense layers (compiler/codegen/
 * emit_dense.cc). The includer has defined struct nnbpf_params.
 *
 * nnbpf_mac(acc, p, field, x): acc += (__s64)p->field * x, where field is an
 * __s32 of struct nnbpf_params (e.g. w0[3][5]) and x an __s64 in a register.
 *
 * Written in C, clang multiplies into a copy of x (r9 = x; r9 *= w; acc +=
 * r9): four instructions per product. The inline asm multiplies into the
 * loaded weight instead: load, multiply, add, three instructions (v4; v3 and
 * v2 sign-extend the 32-bit load with two shifts). [6,32,32,2]: stage 0 from
 * 6,007 to 5,0xx instructions (docs/PERFORMANCE.md). Same arithmetic, bit
 * for bit: a 64-bit two's-complement multiply-add either way.
 *
 * The load's offset is an immediate: BPF loads carry a signed 16-bit
 * displacement, so nnbpf_mac serves weights within 32 KiB of the slot's
 * start (a compile-time assertion says so); the emitter addresses the rest
 * from row pointers (nnbpf_mac_at). asm volatile keeps the products in
 * source order between the emitter's barriers. (Operand names must differ
 * from the macro's parameters.)
 *
 * nnbpf_mac_at(acc, row, disp, x): acc += (__s64)*(__s32 *)((char *)row +
 * disp) * x, the same three instructions from a row pointer: disp is a byte
 * offset (a constant below 32 KiB) from row, a const __s32 * into the slot
 * that the emitter advances row by row (loops, and rows beyond 32 KiB).
 */
#ifndef NNBPF_MLP_H
#define NNBPF_MLP_H

#ifdef __BPF_FEATURE_LDSX
#define NNBPF_MAC_LOAD_S32 "%[w] = *(s32 *)(%[base] + %[off])\n\t"
#else
#define NNBPF_MAC_LOAD_S32 "%[w] = *(u32 *)(%[base] + %[off])\n\t%[w] <<= 32\n\t%[w] s>>= 32\n\t"
#endif

#define nnbpf_mac_at(acc, row, disp, x)                                                               \
	do {                                                                                          \
		_Static_assert((disp) >= 0 && (disp) <= 32767, "nnbpf_mac_at: offset out of range");    \
		__s64 nnbpf_w_;                                                                       \
		asm volatile(NNBPF_MAC_LOAD_S32 "%[w] *= %[act]\n\t%[sum] += %[w]"                        \
			     : [sum] "+r"(acc), [w] "=&r"(nnbpf_w_)                                     \
			     : [base] "r"(row), [act] "r"(x), [off] "i"(disp));                            \
	} while (0)

#define nnbpf_mac(acc, p, field, x) nnbpf_mac_at(acc, p, __builtin_offsetof(struct nnbpf_params, field), x)

/*
 * nnbpf_mac_rel(acc, q, off, x): the same product with the weight at byte
 * offset `off` from q, a pointer into the slot that the emitter set up for a
 * group of neurons (q = (const char *)p + base). `off` is a literal with its
 * sign (-128 ... +127): x86's JIT then encodes the load's displacement in one
 * byte instead of four, 3 bytes less per product, and a stage's straight-line
 * code shrinks by ~15 % ([6,32,32,2]: docs/PERFORMANCE.md). The literal goes
 * into the asm text because the BPF assembler reads "r1 + -128" as an error.
 */
#ifdef __BPF_FEATURE_LDSX
#define NNBPF_MAC_REL_ASM(off) "%[w] = *(s32 *)(%[base] " #off ")\n\t%[w] *= %[act]\n\t%[sum] += %[w]"
#else
#define NNBPF_MAC_REL_ASM(off) \
	"%[w] = *(u32 *)(%[base] " #off ")\n\t%[w] <<= 32\n\t%[w] s>>= 32\n\t%[w] *= %[act]\n\t%[sum] += %[w]"
#endif

#define nnbpf_mac_rel(acc, q, off, x)                                                                 \
	do {                                                                                          \
		__s64 nnbpf_w_;                                                                       \
		asm volatile(NNBPF_MAC_REL_ASM(off)                                                   \
			     : [sum] "+r"(acc), [w] "=&r"(nnbpf_w_)                                     \
			     : [base] "r"(q), [act] "r"(x));                                              \
	} while (0)

#endif /* NNBPF_MLP_H */
