/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-flow state (the value of nnbpf_flows) and the feature extractors.
 *
 * The flow state holds only what the model's features need. The generated
 * translation unit defines NNBPF_USE_<name> for every catalog feature the
 * model reads (bpf_rt/include/nnbpf/catalog.def); each feature maps to the
 * accumulators below (NNBPF_ACC_*), and only those exist in struct
 * nnbpf_flow and are updated per packet. The value always starts with the
 * fields of struct nnbpf_flow_hdr (abi.h), which user space reads for the
 * idle sweep.
 *
 *   feature                     accumulators
 *   dst_port                    (the flow key)
 *   fwd_pkt_count               pkts
 *   fwd_bytes_total             bytes
 *   fwd_pkt_len_max / _min      len_max / len_min
 *   fwd_pkt_len_std             bytes, len_sq
 *   fwd_pkt_len_mean            bytes
 *   fwd_iat_total_ns            first_ns
 *   fwd_iat_mean_ns             first_ns
 *   fwd_iat_std_ns              iat_us_sum, iat_us_sq
 *   fwd_iat_max_ns / _min_ns    iat_max / iat_min
 *   fwd_psh_count / urg_count   psh / urg
 *   fwd_header_len              hdr_sum
 *   fwd_pkts_per_s              first_ns
 *   fwd_seg_size_avg            payload
 *   fwd_bulk_*                  run_pkts, run_bytes, run_start_ns, bulks,
 *                               bulk_pkts, bulk_bytes, bulk_ns
 *   subflow_fwd_pkts            subflows
 *   subflow_fwd_bytes           subflows, bytes
 *   fwd_act_data_pkts           data_pkts
 *   fwd_seg_size_min            hdr_min
 *
 * Per packet: nnbpf_flow_first() builds the state of a new flow from its
 * first packet; nnbpf_flow_update() adds each later packet (there is always
 * a previous packet, so the inter-arrival time is now - last_ns). Updates
 * are plain (non-atomic) read-modify-writes: a flow's packets normally
 * arrive on one CPU (RSS), and a rare race loses at most one packet's
 * contribution.
 *
 * Extractors: nnbpf_feat_<name>(f, k) returns the raw feature value exactly
 * as docs/features.md defines it. They run once per classification, so they
 * may divide and take square roots; the per-packet update only adds,
 * compares and (for fwd_iat_std_ns only) divides by 1000.
 */
#ifndef NNBPF_FLOW_H
#define NNBPF_FLOW_H

#include <linux/types.h>
#include "nnbpf/abi.h"
#include "nnbpf/barrier.h"
#include "nnbpf/parse.h"

#define NNBPF_NSEC_PER_SEC 1000000000ULL
#define NNBPF_GAP_NS NNBPF_NSEC_PER_SEC /* subflow split and bulk break: gap > 1 s */
#define NNBPF_BULK_MIN_PKTS 4
#define NNBPF_U64_MAX 0xffffffffffffffffULL

/* ---- feature -> accumulators ------------------------------------------- */

#if defined(NNBPF_USE_fwd_bytes_total) || defined(NNBPF_USE_fwd_pkt_len_std) || \
	defined(NNBPF_USE_fwd_pkt_len_mean) || defined(NNBPF_USE_subflow_fwd_bytes)
#define NNBPF_ACC_BYTES 1
#endif
#if defined(NNBPF_USE_fwd_pkt_len_std)
#define NNBPF_ACC_LEN_SQ 1
#endif
#if defined(NNBPF_USE_fwd_pkt_len_max)
#define NNBPF_ACC_LEN_MAX 1
#endif
#if defined(NNBPF_USE_fwd_pkt_len_min)
#define NNBPF_ACC_LEN_MIN 1
#endif
#if defined(NNBPF_USE_fwd_iat_total_ns) || defined(NNBPF_USE_fwd_iat_mean_ns) || \
	defined(NNBPF_USE_fwd_pkts_per_s)
#define NNBPF_ACC_FIRST_NS 1
#endif
#if defined(NNBPF_USE_fwd_iat_std_ns)
#define NNBPF_ACC_IAT_US 1
#endif
#if defined(NNBPF_USE_fwd_iat_max_ns)
#define NNBPF_ACC_IAT_MAX 1
#endif
#if defined(NNBPF_USE_fwd_iat_min_ns)
#define NNBPF_ACC_IAT_MIN 1
#endif
#if defined(NNBPF_USE_fwd_psh_count)
#define NNBPF_ACC_PSH 1
#endif
#if defined(NNBPF_USE_fwd_urg_count)
#define NNBPF_ACC_URG 1
#endif
#if defined(NNBPF_USE_fwd_header_len)
#define NNBPF_ACC_HDR_SUM 1
#endif
#if defined(NNBPF_USE_fwd_seg_size_avg)
#define NNBPF_ACC_PAYLOAD 1
#endif
#if defined(NNBPF_USE_fwd_bulk_bytes_avg) || defined(NNBPF_USE_fwd_bulk_pkts_avg) || \
	defined(NNBPF_USE_fwd_bulk_rate_bytes_per_s)
#define NNBPF_ACC_BULK 1
#endif
#if defined(NNBPF_USE_subflow_fwd_pkts) || defined(NNBPF_USE_subflow_fwd_bytes)
#define NNBPF_ACC_SUBFLOWS 1
#endif
#if defined(NNBPF_USE_fwd_act_data_pkts)
#define NNBPF_ACC_DATA_PKTS 1
#endif
#if defined(NNBPF_USE_fwd_seg_size_min)
#define NNBPF_ACC_HDR_MIN 1
#endif

/* ---- the state ------------------------------------------------------------
 * Fields are grouped by size (u32, u16, u64) so a model's subset packs with
 * little padding. Top six of the paper (fwd_pkt_len_max, fwd_iat_max_ns,
 * fwd_pkt_len_min, dst_port, fwd_header_len, fwd_pkt_count): 32 bytes. */
struct nnbpf_flow {
	__u64 last_ns; /* struct nnbpf_flow_hdr */
	__u32 pkts;
#ifdef NNBPF_ACC_PSH
	__u32 psh;
#endif
#ifdef NNBPF_ACC_URG
	__u32 urg;
#endif
#ifdef NNBPF_ACC_SUBFLOWS
	__u32 subflows;
#endif
#ifdef NNBPF_ACC_DATA_PKTS
	__u32 data_pkts;
#endif
#ifdef NNBPF_ACC_BULK
	__u32 run_pkts;   /* data packets in the current run */
	__u32 run_bytes;  /* their payload while run_pkts < NNBPF_BULK_MIN_PKTS */
	__u32 bulks;
	__u32 bulk_pkts;
#endif
#ifdef NNBPF_ACC_LEN_MAX
	__u16 len_max;
#endif
#ifdef NNBPF_ACC_LEN_MIN
	__u16 len_min;
#endif
#ifdef NNBPF_ACC_HDR_MIN
	__u16 hdr_min;
#endif
#ifdef NNBPF_ACC_BYTES
	__u64 bytes;
#endif
#ifdef NNBPF_ACC_LEN_SQ
	__u64 len_sq;     /* sum of pkt_len^2: < 2^32 * 65535^2 < 2^64 */
#endif
#ifdef NNBPF_ACC_FIRST_NS
	__u64 first_ns;
#endif
#ifdef NNBPF_ACC_IAT_US
	__u64 iat_us_sum; /* IATs truncated to whole microseconds */
	__u64 iat_us_sq;  /* their squares; saturates at 2^64 - 1 */
#endif
#ifdef NNBPF_ACC_IAT_MAX
	__u64 iat_max;
#endif
#ifdef NNBPF_ACC_IAT_MIN
	__u64 iat_min;    /* NNBPF_U64_MAX until the second packet */
#endif
#ifdef NNBPF_ACC_HDR_SUM
	__u64 hdr_sum;
#endif
#ifdef NNBPF_ACC_PAYLOAD
	__u64 payload;
#endif
#ifdef NNBPF_ACC_BULK
	__u64 run_start_ns;
	__u64 bulk_bytes;
	__u64 bulk_ns;
#endif
};

NNBPF_STATIC_ASSERT(__builtin_offsetof(struct nnbpf_flow, last_ns) ==
			    __builtin_offsetof(struct nnbpf_flow_hdr, last_ns),
		    "nnbpf_flow starts with nnbpf_flow_hdr");
NNBPF_STATIC_ASSERT(__builtin_offsetof(struct nnbpf_flow, pkts) ==
			    __builtin_offsetof(struct nnbpf_flow_hdr, pkts),
		    "nnbpf_flow starts with nnbpf_flow_hdr");

/* ---- per packet ----------------------------------------------------------- */

/* A packet with payload: start or extend the current run; a run that reaches
 * NNBPF_BULK_MIN_PKTS becomes a bulk and every further packet of the run is
 * added to it. `cont` says whether this packet continues the run (the
 * previous packet had payload and came at most NNBPF_GAP_NS before). */
#ifdef NNBPF_ACC_BULK
static __always_inline void nnbpf_bulk_add(struct nnbpf_flow *f, __u32 payload, __u64 now, __u64 iat, int cont)
{
	if (!payload) {
		f->run_pkts = 0;
		return;
	}
	if (!cont) {
		f->run_pkts = 1;
		f->run_bytes = payload;
		f->run_start_ns = now;
		return;
	}
	f->run_pkts++;
	if (f->run_pkts < NNBPF_BULK_MIN_PKTS) {
		f->run_bytes += payload;
	} else if (f->run_pkts == NNBPF_BULK_MIN_PKTS) {
		f->bulks++;
		f->bulk_pkts += NNBPF_BULK_MIN_PKTS;
		f->bulk_bytes += (__u64)f->run_bytes + payload;
		f->bulk_ns += now - f->run_start_ns;
	} else {
		f->bulk_pkts++;
		f->bulk_bytes += payload;
		f->bulk_ns += iat;
	}
}
#endif

/* State of a new flow after its first packet. */
static __always_inline void nnbpf_flow_first(struct nnbpf_flow *f, const struct nnbpf_pkt *p, __u64 now)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->last_ns = now;
	f->pkts = 1;
#ifdef NNBPF_ACC_BYTES
	f->bytes = p->pkt_len;
#endif
#ifdef NNBPF_ACC_LEN_SQ
	f->len_sq = (__u64)p->pkt_len * p->pkt_len;
#endif
#ifdef NNBPF_ACC_LEN_MAX
	f->len_max = p->pkt_len;
#endif
#ifdef NNBPF_ACC_LEN_MIN
	f->len_min = p->pkt_len;
#endif
#ifdef NNBPF_ACC_FIRST_NS
	f->first_ns = now;
#endif
#ifdef NNBPF_ACC_IAT_MIN
	f->iat_min = NNBPF_U64_MAX;
#endif
#ifdef NNBPF_ACC_PSH
	f->psh = !!(p->tcp_flags & NNBPF_TCP_PSH);
#endif
#ifdef NNBPF_ACC_URG
	f->urg = !!(p->tcp_flags & NNBPF_TCP_URG);
#endif
#ifdef NNBPF_ACC_HDR_SUM
	f->hdr_sum = p->hdr_len;
#endif
#ifdef NNBPF_ACC_HDR_MIN
	f->hdr_min = p->hdr_len;
#endif
#ifdef NNBPF_ACC_PAYLOAD
	f->payload = p->payload_len;
#endif
#ifdef NNBPF_ACC_DATA_PKTS
	f->data_pkts = p->payload_len > 0;
#endif
#ifdef NNBPF_ACC_SUBFLOWS
	f->subflows = 1;
#endif
#ifdef NNBPF_ACC_BULK
	nnbpf_bulk_add(f, p->payload_len, now, 0, 0);
#endif
}

/* Add a packet to an existing flow. */
static __always_inline void nnbpf_flow_update(struct nnbpf_flow *f, const struct nnbpf_pkt *p, __u64 now)
{
#if defined(NNBPF_ACC_IAT_US) || defined(NNBPF_ACC_IAT_MAX) || defined(NNBPF_ACC_IAT_MIN) || \
	defined(NNBPF_ACC_BULK) || defined(NNBPF_ACC_SUBFLOWS)
	/* A packet stamped before the previous one (another CPU) counts 0. */
	__u64 iat = now > f->last_ns ? now - f->last_ns : 0;
#endif

	f->pkts++;
	f->last_ns = now;
#ifdef NNBPF_ACC_BYTES
	f->bytes += p->pkt_len;
#endif
#ifdef NNBPF_ACC_LEN_SQ
	f->len_sq += (__u64)p->pkt_len * p->pkt_len;
#endif
#ifdef NNBPF_ACC_LEN_MAX
	if (p->pkt_len > f->len_max)
		f->len_max = p->pkt_len;
#endif
#ifdef NNBPF_ACC_LEN_MIN
	if (p->pkt_len < f->len_min)
		f->len_min = p->pkt_len;
#endif
#ifdef NNBPF_ACC_IAT_US
	{
		__u64 us = iat / 1000, sq;

		if (us > 0xffffffffULL)
			us = 0xffffffffULL;
		sq = us * us;
		f->iat_us_sum += us;
		f->iat_us_sq = f->iat_us_sq + sq < sq ? NNBPF_U64_MAX : f->iat_us_sq + sq;
	}
#endif
#ifdef NNBPF_ACC_IAT_MAX
	if (iat > f->iat_max)
		f->iat_max = iat;
#endif
#ifdef NNBPF_ACC_IAT_MIN
	if (iat < f->iat_min)
		f->iat_min = iat;
#endif
#ifdef NNBPF_ACC_PSH
	f->psh += !!(p->tcp_flags & NNBPF_TCP_PSH);
#endif
#ifdef NNBPF_ACC_URG
	f->urg += !!(p->tcp_flags & NNBPF_TCP_URG);
#endif
#ifdef NNBPF_ACC_HDR_SUM
	f->hdr_sum += p->hdr_len;
#endif
#ifdef NNBPF_ACC_HDR_MIN
	if (p->hdr_len < f->hdr_min)
		f->hdr_min = p->hdr_len;
#endif
#ifdef NNBPF_ACC_PAYLOAD
	f->payload += p->payload_len;
#endif
#ifdef NNBPF_ACC_DATA_PKTS
	f->data_pkts += p->payload_len > 0;
#endif
#ifdef NNBPF_ACC_SUBFLOWS
	f->subflows += iat > NNBPF_GAP_NS;
#endif
#ifdef NNBPF_ACC_BULK
	nnbpf_bulk_add(f, p->payload_len, now, iat, f->run_pkts > 0 && iat <= NNBPF_GAP_NS);
#endif
}

/* ---- arithmetic for the extractors --------------------------------------- */

/* floor(sqrt(x)) for x < 2^62 (larger x are clamped), bit by bit in 31
 * fixed steps. Branch-free: the verifier then walks it once instead of once
 * per path (x >= t is the sign bit of x - t, both being < 2^63). */
static __always_inline __u64 nnbpf_isqrt(__u64 x)
{
	__u64 r = 0, bit = 1ULL << 60;

	if (x > (1ULL << 62) - 1)
		x = (1ULL << 62) - 1;
#pragma unroll
	for (int i = 0; i < 31; i++) {
		__u64 t = r + bit;
		__u64 ge = (x - t) >> 63;

		/* Hide that ge is a comparison, or clang makes it a branch again. */
		nnbpf_opaque(ge);
		ge -= 1; /* all ones if x >= t, else 0 */
		x -= t & ge;
		r = (r >> 1) + (bit & ge);
		bit >>= 2;
	}
	return r;
}

/* floor(population standard deviation) of n values with sum s and sum of
 * squares q, exactly, in 64 bits: with m = s / n, r = s % n,
 * d = sum (x - m)^2 = q - m*m*n - 2*m*r and n^2 * var = n*d - r^2, so
 * floor(var) = (d - ceil(r^2 / n)) / n and floor(sqrt(floor(var))) =
 * floor(sqrt(var)). Needs q < 2^64 (a saturated q gives an upper bound). */
static __always_inline __u64 nnbpf_std(__u64 n, __u64 s, __u64 q)
{
	__u64 m, r, d, c;

	if (n < 2)
		return 0;
	if (q == NNBPF_U64_MAX) /* saturated: an upper bound */
		return nnbpf_isqrt(q / n);
	m = s / n;
	r = s - m * n;
	d = q - m * m * n - 2 * m * r;
	c = (r * r + n - 1) / n;
	return d > c ? nnbpf_isqrt((d - c) / n) : 0;
}

/* floor(a * 1e9 / d) for a rate per second, d in ns (d == 0 counts as 1 ns,
 * as in docs/features.md). Exact while the remainder term fits 64 bits (a or
 * d below about 1.8e10); beyond that the remainder's low bits are dropped
 * (relative error < 2^-33). Saturates at 2^64 - 1. */
static __always_inline __u64 nnbpf_per_s(__u64 a, __u64 d)
{
	__u64 q, r;

	if (d == 0)
		d = 1;
	q = a / d;
	r = a - q * d;
	if (q > NNBPF_U64_MAX / NNBPF_NSEC_PER_SEC)
		return NNBPF_U64_MAX;
	q *= NNBPF_NSEC_PER_SEC;
	/* r < d; scale both down until r * 1e9 cannot overflow (r < 2^34):
	 * shifts of 16, 8, 4, 2, 1, 1 while r has bits above 2^50, 2^42, 2^38,
	 * 2^36, 2^35, 2^34. */
#pragma unroll
	for (int i = 0; i < 6; i++) {
		int by = i < 5 ? 16 >> i : 1;
		int top = 34 + (i < 5 ? by : 0);

		if (r >> top) {
			r >>= by;
			d >>= by;
		}
	}
	r = d ? r * NNBPF_NSEC_PER_SEC / d : 0;
	return q + r < q ? NNBPF_U64_MAX : q + r;
}

/* ---- extractors: one per catalog feature the model uses -------------------
 * NNBPF_FEATURE_EXTRACTOR(name, expr) defines
 *   static __always_inline __u64 nnbpf_feat_<name>(const struct nnbpf_flow *f,
 *                                                 const struct nnbpf_flow_key *k)
 * returning expr, the raw value docs/features.md defines. */
#define NNBPF_FEATURE_EXTRACTOR(name, expr)                                                   \
	static __always_inline __u64 nnbpf_feat_##name(const struct nnbpf_flow *f,             \
						       const struct nnbpf_flow_key *k)         \
	{                                                                                      \
		return (expr);                                                                 \
	}

/* Flow duration: first to last packet, ns. */
#define NNBPF_FLOW_NS(f) ((f)->last_ns > (f)->first_ns ? (f)->last_ns - (f)->first_ns : 0)

#ifdef NNBPF_USE_dst_port
NNBPF_FEATURE_EXTRACTOR(dst_port, k->dport)
#endif

#ifdef NNBPF_USE_fwd_pkt_count
NNBPF_FEATURE_EXTRACTOR(fwd_pkt_count, f->pkts)
#endif

#ifdef NNBPF_USE_fwd_bytes_total
NNBPF_FEATURE_EXTRACTOR(fwd_bytes_total, f->bytes)
#endif

#ifdef NNBPF_USE_fwd_pkt_len_max
NNBPF_FEATURE_EXTRACTOR(fwd_pkt_len_max, f->len_max)
#endif

#ifdef NNBPF_USE_fwd_pkt_len_min
NNBPF_FEATURE_EXTRACTOR(fwd_pkt_len_min, f->len_min)
#endif

#ifdef NNBPF_USE_fwd_pkt_len_std
NNBPF_FEATURE_EXTRACTOR(fwd_pkt_len_std, nnbpf_std(f->pkts, f->bytes, f->len_sq))
#endif

#ifdef NNBPF_USE_fwd_pkt_len_mean
NNBPF_FEATURE_EXTRACTOR(fwd_pkt_len_mean, f->pkts ? f->bytes / f->pkts : 0)
#endif

#ifdef NNBPF_USE_fwd_iat_total_ns
NNBPF_FEATURE_EXTRACTOR(fwd_iat_total_ns, NNBPF_FLOW_NS(f))
#endif

#ifdef NNBPF_USE_fwd_iat_mean_ns
NNBPF_FEATURE_EXTRACTOR(fwd_iat_mean_ns, f->pkts > 1 ? NNBPF_FLOW_NS(f) / (f->pkts - 1) : 0)
#endif

#ifdef NNBPF_USE_fwd_iat_std_ns
NNBPF_FEATURE_EXTRACTOR(fwd_iat_std_ns, nnbpf_std(f->pkts > 1 ? f->pkts - 1 : 0, f->iat_us_sum, f->iat_us_sq) * 1000)
#endif

#ifdef NNBPF_USE_fwd_iat_max_ns
NNBPF_FEATURE_EXTRACTOR(fwd_iat_max_ns, f->iat_max)
#endif

#ifdef NNBPF_USE_fwd_iat_min_ns
NNBPF_FEATURE_EXTRACTOR(fwd_iat_min_ns, f->pkts > 1 ? f->iat_min : 0)
#endif

#ifdef NNBPF_USE_fwd_psh_count
NNBPF_FEATURE_EXTRACTOR(fwd_psh_count, f->psh)
#endif

#ifdef NNBPF_USE_fwd_urg_count
NNBPF_FEATURE_EXTRACTOR(fwd_urg_count, f->urg)
#endif

#ifdef NNBPF_USE_fwd_header_len
NNBPF_FEATURE_EXTRACTOR(fwd_header_len, f->hdr_sum)
#endif

#ifdef NNBPF_USE_fwd_pkts_per_s
NNBPF_FEATURE_EXTRACTOR(fwd_pkts_per_s, nnbpf_per_s(f->pkts, NNBPF_FLOW_NS(f)))
#endif

#ifdef NNBPF_USE_fwd_seg_size_avg
NNBPF_FEATURE_EXTRACTOR(fwd_seg_size_avg, f->pkts ? f->payload / f->pkts : 0)
#endif

#ifdef NNBPF_USE_fwd_bulk_bytes_avg
NNBPF_FEATURE_EXTRACTOR(fwd_bulk_bytes_avg, f->bulks ? f->bulk_bytes / f->bulks : 0)
#endif

#ifdef NNBPF_USE_fwd_bulk_pkts_avg
NNBPF_FEATURE_EXTRACTOR(fwd_bulk_pkts_avg, f->bulks ? f->bulk_pkts / f->bulks : 0)
#endif

#ifdef NNBPF_USE_fwd_bulk_rate_bytes_per_s
NNBPF_FEATURE_EXTRACTOR(fwd_bulk_rate_bytes_per_s, f->bulks ? nnbpf_per_s(f->bulk_bytes, f->bulk_ns) : 0)
#endif

#ifdef NNBPF_USE_subflow_fwd_pkts
NNBPF_FEATURE_EXTRACTOR(subflow_fwd_pkts, f->subflows ? f->pkts / f->subflows : 0)
#endif

#ifdef NNBPF_USE_subflow_fwd_bytes
NNBPF_FEATURE_EXTRACTOR(subflow_fwd_bytes, f->subflows ? f->bytes / f->subflows : 0)
#endif

#ifdef NNBPF_USE_fwd_act_data_pkts
NNBPF_FEATURE_EXTRACTOR(fwd_act_data_pkts, f->data_pkts)
#endif

#ifdef NNBPF_USE_fwd_seg_size_min
NNBPF_FEATURE_EXTRACTOR(fwd_seg_size_min, f->hdr_min)
#endif

#endif /* NNBPF_FLOW_H */
