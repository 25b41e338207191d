// impl.h — what the kernel files of src/kernels share among themselves (not for other modules):
// the functions that fill a wk_kernels table for each path, and a few scalar helpers.
#ifndef WK_KERNELS_IMPL_H
#define WK_KERNELS_IMPL_H

#include "kernels/blocks.h"
#include "kernels/kernels.h"

// Fills every member of k with the scalar reference kernels (ref.c); unsupported types stay NULL.
void wk_kernels_fill_ref(wk_kernels *k);
// Replaces the members that have an AVX2 (x86_avx2.c) or AVX-512 (x86_avx512.c) version. The
// caller has checked that the CPU can run them; k starts as the next slower path's table.
void wk_kernels_fill_avx2(wk_kernels *k);
void wk_kernels_fill_avx512(wk_kernels *k);
// Q5_K's and Q6_K's four-row kernels of AVX-512 (x86_avx512.c), with GFNI's bit shuffles for the
// high bits or without; wk_kernels_fill_avx512 picks by the CPU, tests run both.
void wk_kernels_fill_avx512_gfni(wk_kernels *k, bool gfni);
// vec_dot_4il of Q4_0, Q5_0, Q4_1 and Q5_1 on AVX-512 (legacy_avx512.c), two rows per vector, the
// nibbles split by GFNI or by shifts; wk_kernels_fill_avx512 picks by the CPU, tests run both.
void wk_kernels_fill_avx512_legacy(wk_kernels *k, bool gfni);
// AVX-512's Q2_K and Q3_K four-row kernels (kq23_avx512.c), Q2_K's with VBMI (vpermb) or
// without; wk_kernels_fill_avx512 picks by the CPU, tests run both.
void wk_kernels_fill_avx512_q23(wk_kernels *k, bool vbmi);
// The batched kernels (vec_dot_4il_n) of AVX-512 (batch_avx512.c), called by wk_kernels_fill_avx512.
void wk_kernels_fill_avx512_batch(wk_kernels *k);
// The K formats' part of the AVX2 table (x86_kquant_avx2.c), called by wk_kernels_fill_avx2.
void wk_kernels_fill_avx2_kquant(wk_kernels *k);
// The K formats' GEMM and weight packers (gemm_avx2.c), called by wk_kernels_fill_avx2; the
// AVX-512 kernels (gemm_avx512.c), called by wk_kernels_fill_avx512.
void wk_gemm_fill_avx2(wk_kernels *k);
void wk_gemm_fill_avx512(wk_kernels *k);

// A K-format block (Q2_K .. Q6_K) unpacked: q[256] in element order, and the integer scale (and
// min, 0 for the formats without) of each group of 16 or 32 elements (groups beyond the format's
// count are unset). The scalar reference's view of a block (ref.c), also used by gemm.c's packer.
typedef struct kunpacked {
    int q[WK_QK_K];
    int sc[16];
    int mn[16];
} kunpacked;
void wk_kunpack(int type, const void *blk, kunpacked *u);

// x86's vcvtps2dq after vroundps: round to nearest, ties to even; NaN, infinities and values out
// of int32 range give INT32_MIN. The SIMD quantizers then pack with signed saturation to int8
// (wk_sat_i8). Out-of-range values only come from blocks whose largest |x| is subnormal
// (127 / amax = inf); emulating them keeps every path byte-identical there too.
static inline int32_t wk_cvt_round_even(float v)
{
    if (!(v < 4194304.0f && v > -4194304.0f)) { return INT32_MIN; }
    float t = v + 12582912.0f; // 1.5 * 2^23: the sum's low mantissa bits hold round(v)
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static inline int8_t wk_sat_i8(int32_t v)
{
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

#endif
