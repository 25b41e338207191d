// batch_avx512.c — vec_dot_4il_n of Q4_K, Q5_K and Q6_K on AVX-512 VNNI (kernels.h): four weight
// rows interleaved by four against up to WK_4IL_N_MAX tokens (batched decode, one token per
// stream), each super-block of the four rows read and unpacked into registers once for all the
// tokens.
//
// Unpacking puts each row's quants u (unsigned) in element order, four 64-byte vectors per
// super-block, so they meet the Q8_K activation bytes as stored (no per-token shuffle). Per token,
// rows go in pairs (a, b): vpdpbusd of a's and b's vectors against the same activation vector,
// vpackssdw of the two (128-bit lane L: four i16 partial sums of a, then four of b; a partial sum
// has 4 products of u <= 63 and |q8| <= 127, at most 32004: no saturation), and vpdpwssd with a
// scale vector laid out alike, so one accumulator holds the pair (dwords 0, 1 of each lane: a;
// 2, 3: b). The integer block totals are exact, then go through the reference's float operations
// in the reference's order (x86_4row.h k4row_add): every output has the bits of vec_dot_4il for
// that token alone (test_kernels checks nt = 1 .. 8 bit for bit against ref.c).
#include <stddef.h>

#include "kernels/impl.h"
#include "kernels/x86_avx512.h"

// The pair accumulators x (rows 0, 1: dwords 0, 1 and 2, 3 of each lane) and y (rows 2, 3) as
// [r0, r1, r2, r3] in each 128-bit lane, each row's two dwords of the lane added.
INLINE __m512i pair_lanes(__m512i x, __m512i y)
{
    x = _mm512_add_epi32(x, _mm512_shuffle_epi32(x, _MM_PERM_CDAB)); // [0, 0, 1, 1] per lane
    y = _mm512_add_epi32(y, _mm512_shuffle_epi32(y, _MM_PERM_CDAB)); // [2, 2, 3, 3]
    return _mm512_castps_si512(
        _mm512_shuffle_ps(_mm512_castsi512_ps(x), _mm512_castsi512_ps(y), _MM_SHUFFLE(2, 0, 2, 0)));
}

// The pair accumulators x (rows 0, 1) and y (rows 2, 3) summed to [Σ0, Σ1, Σ2, Σ3].
INLINE __m128i pair_totals(__m512i x, __m512i y)
{
    const __m512i z = pair_lanes(x, y);
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(z), _mm512_extracti64x4_epi64(z, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// One token against a pair of rows: Σ over the four 64-element vectors k of u_a[k], u_b[k] with
// the activation bytes aq[64 k ..], weighted by the scale vectors sv[k]; x starts the sum.
INLINE __m512i pair_dot(__m512i x, const __m512i *ua, const __m512i *ub, const __m512i *sv,
                        const int8_t *aq)
{
    const __m512i zero = _mm512_setzero_si512();
    #pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        const __m512i av = _mm512_loadu_si512(aq + 64 * k);
        const __m512i p = _mm512_packs_epi32(_mm512_dpbusd_epi32(zero, ua[k], av),
                                             _mm512_dpbusd_epi32(zero, ub[k], av));
        x = _mm512_dpwssd_epi32(x, p, sv[k]);
    }
    return x;
}

// Q4_K / Q5_K row r of the group: u[k] = elements 64 k .. 64 k + 63. The 64 quant bytes of chunk
// pair c hold elements 128 c + [0..31 | 64..95] in their low nibbles, [32..63 | 96..127] in their
// high ones; Q5_K's qh bit g of byte l is the fifth bit of element 32 g + l.
INLINE void q45_unpack(const uint8_t *blk, int five, __m512i *u)
{
    const __m512i m15 = _mm512_set1_epi8(15), m16 = _mm512_set1_epi8(16);
    const size_t qs_off = five ? offsetof(wk_block_q5_k, qs) : offsetof(wk_block_q4_k, qs);
    __m512i hb = _mm512_setzero_si512();
    if (five) { // [qh | qh]: 16-bit shifts keep each byte's own bit g at bit 0
        hb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 16)));
    }
    #pragma GCC unroll 2
    for (int c = 0; c < 2; c++) {
        const __m512i q = _mm512_loadu_si512(blk + qs_off + 64 * c);
        const __m512i lo = _mm512_and_si512(q, m15);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m15);
        u[2 * c] = _mm512_shuffle_i64x2(lo, hi, 0x44);
        u[2 * c + 1] = _mm512_shuffle_i64x2(lo, hi, 0xee);
        if (five) { // groups 4c + [0, 1] in u[2c], 4c + [2, 3] in u[2c + 1] (256-bit halves)
            #pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const int g = 4 * c + 2 * h;
                const __m512i cnt = _mm512_inserti64x4(_mm512_set1_epi16((short)g),
                                                       _mm256_set1_epi16((short)(g + 1)), 1);
                const __m512i bit = _mm512_slli_epi16(_mm512_srlv_epi16(hb, cnt), 4);
                u[2 * c + h] = _mm512_ternarylogic_epi32(u[2 * c + h], bit, m16, TL_OR_AND);
            }
        }
    }
}

// Block i of four interleaved rows of a Q4_K or Q5_K weight (bb bytes per block, ws per row),
// the next group of rows prefetched: the rows' block pointers, their d and dmin, and their 6-bit
// scales and mins widened to words (word 8 r + j of *sc16 / *mn16: row r's scale / min j).
INLINE void k4_block_4rows(const void *vw, int64_t i, size_t ws, size_t bb, const uint8_t *blk[4],
                           __m128 *d4, __m128 *dmin4, __m512i *sc16, __m512i *mn16)
{
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++) { blk[r] = (const uint8_t *)vw + (size_t)(4 * i + r) * bb; }
    prefetch_next4(blk, 4 * ws, bb);
    // scm lane r: sc_r[0..7] in bytes 0..7, mn_r[0..7] in bytes 8..15 -> words
    const __m512i scm = k4_scales_4rows(blk, d4, dmin4);
    const __m512i csc = _mm512_broadcast_i32x4(
        _mm_setr_epi8(0, -128, 1, -128, 2, -128, 3, -128, 4, -128, 5, -128, 6, -128, 7, -128));
    const __m512i cmn = _mm512_add_epi8(csc, _mm512_broadcast_i32x4(_mm_setr_epi8(
                                                 8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0)));
    *sc16 = _mm512_shuffle_epi8(scm, csc);
    *mn16 = _mm512_shuffle_epi8(scm, cmn);
}

INLINE void dot_q45_k_4il_n(int64_t n, int nt, float *s, const void *vw, size_t ws,
                            const void *va, size_t as, int five)
{
    const size_t bb = five ? sizeof(wk_block_q5_k) : sizeof(wk_block_q4_k);
    // scale vector of pair p, vector k: lane L words 0..3 sc_{2p}[2k + L / 2], 4..7 sc_{2p+1}[..]
    // (word 8 r + j of sc16 is sc_r[j])
    const __m512i ibase = _mm512_set_epi16(9, 9, 9, 9, 1, 1, 1, 1, 9, 9, 9, 9, 1, 1, 1, 1, 8, 8, 8,
                                           8, 0, 0, 0, 0, 8, 8, 8, 8, 0, 0, 0, 0);
    const __m512i lane0 = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    __m128 acc[WK_4IL_N_MAX], accm[WK_4IL_N_MAX];
    __m512i xs[WK_4IL_N_MAX];
    for (int t = 0; t < nt; t++) { acc[t] = accm[t] = _mm_setzero_ps(); }
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const uint8_t *blk[4];
        __m128 d4, dmin4;
        __m512i sc16, mn16;
        k4_block_4rows(vw, i, ws, bb, blk, &d4, &dmin4, &sc16, &mn16);
        #pragma GCC unroll 2
        for (int p = 0; p < 2; p++) {
            __m512i ua[4], ub[4], sv[4];
            q45_unpack(blk[2 * p], five, ua);
            q45_unpack(blk[2 * p + 1], five, ub);
            #pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const __m512i idx =
                    _mm512_add_epi16(ibase, _mm512_set1_epi16((short)(16 * p + 2 * k)));
                sv[k] = _mm512_permutexvar_epi16(idx, sc16);
            }
            for (int t = 0; t < nt; t++) {
                const wk_block_q8_k *ab = (const wk_block_q8_k *)((const char *)va + t * as) + i;
                const __m512i x = pair_dot(_mm512_setzero_si512(), ua, ub, sv, ab->qs);
                if (p == 0) {
                    xs[t] = x;
                    continue;
                }
                // Σ_g mn_g gs_g of row r (gs: the activation's sums over the 32-element groups)
                const __m128i gs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)ab->bsums),
                                                  _mm_loadu_si128((const __m128i *)ab->bsums + 1));
                __m512i pm = _mm512_madd_epi16(mn16, _mm512_broadcast_i32x4(gs));
                pm = _mm512_add_epi32(pm, _mm512_shuffle_epi32(pm, _MM_PERM_BADC));
                pm = _mm512_add_epi32(pm, _mm512_shuffle_epi32(pm, _MM_PERM_CDAB));
                const __m128i pm4 = _mm512_castsi512_si128(_mm512_permutexvar_epi32(lane0, pm));
                acc[t] = k4row_add(acc[t], ab->d, d4, pair_totals(xs[t], x));
                accm[t] = k4row_add(accm[t], ab->d, dmin4, pm4);
            }
        }
    }
    for (int t = 0; t < nt; t++) { _mm_storeu_ps(s + 4 * t, _mm_sub_ps(acc[t], accm[t])); }
}

// Q4_K against activations in the grouped order (wk_q8_k_group): each row's two 64-byte quant
// loads give, nibbles apart, v0 = low(q0), v1 = high(q0), v2 = low(q1), v3 = high(q1), whose
// 128-bit lane L is one 16-element group; a 4 x 4 transpose of their dwords in each lane gives
// w[k] (lane L, dword i: dword k of v_i's lane L), so dword (L, i) of every w[k] is the same group
// and the four vpdpbusd of a row chain into its 16 group sums (|sum| <= 16 * 15 * 128 < 2^15:
// vpackssdw keeps them exact). Then per token and row pair one vpackssdw and one vpdpwssd with
// the pair's scales, where the element order kernel above needs four of each.
INLINE void q4_unpack_grouped(const uint8_t *blk, __m512i *w)
{
    const __m512i m15 = _mm512_set1_epi8(15);
    const uint8_t *qs = blk + offsetof(wk_block_q4_k, qs);
    const __m512i q0 = _mm512_loadu_si512(qs), q1 = _mm512_loadu_si512(qs + 64);
    const __m512i v0 = _mm512_and_si512(q0, m15);
    const __m512i v1 = _mm512_and_si512(_mm512_srli_epi16(q0, 4), m15);
    const __m512i v2 = _mm512_and_si512(q1, m15);
    const __m512i v3 = _mm512_and_si512(_mm512_srli_epi16(q1, 4), m15);
    const __m512i t0 = _mm512_unpacklo_epi32(v0, v1), t1 = _mm512_unpackhi_epi32(v0, v1);
    const __m512i t2 = _mm512_unpacklo_epi32(v2, v3), t3 = _mm512_unpackhi_epi32(v2, v3);
    w[0] = _mm512_unpacklo_epi64(t0, t2);
    w[1] = _mm512_unpackhi_epi64(t0, t2);
    w[2] = _mm512_unpacklo_epi64(t1, t3);
    w[3] = _mm512_unpackhi_epi64(t1, t3);
}

// Q4_K and Q5_K's joint step of one token: z and m hold the four rows' scale and min totals in
// lanes [z0 + z2, z1 + z3] / [m0 + m2, m1 + m3]; reduced to [Σ z | Σ m] and added to acc as the
// reference's float steps, d_a (d | dmin) times the total, for both at once (dd: [d4 | dmin4]).
INLINE __m256 k4_joint_add(__m256 acc, float da, __m256 dd, __m512i z, __m512i m)
{
    const __m512i h = _mm512_add_epi32(_mm512_shuffle_i64x2(z, m, 0x44),
                                       _mm512_shuffle_i64x2(z, m, 0xee));
    const __m512i tot = _mm512_add_epi32(_mm512_shuffle_i64x2(h, h, 0x08),
                                         _mm512_shuffle_i64x2(h, h, 0x0d));
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(da), dd),
                                            _mm256_cvtepi32_ps(_mm512_castsi512_si256(tot))));
}

// The reference's sumf - summf of each token's four rows.
INLINE void k4_joint_store(float *s, const __m256 *acc, int nt)
{
    for (int t = 0; t < nt; t++) {
        _mm_storeu_ps(s + 4 * t, _mm_sub_ps(_mm256_castps256_ps128(acc[t]),
                                            _mm256_extractf128_ps(acc[t], 1)));
    }
}

// Word 8 L + j of the scales of row pair 0 after vpackssdw (j < 4: row 0's group sum (L, j),
// else row 1's (L, j - 4)): the index of its 32-element scale in sc16 (word 8 r + g: sc_r[g]);
// dword (L, i) holds elements of group 4 (i / 2) + 2 (L / 2) + i % 2 of 32.
static const int16_t q4g_scale_idx[32] = {
    0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13,
    2, 3, 6, 7, 10, 11, 14, 15, 2, 3, 6, 7, 10, 11, 14, 15,
};

// The mins of row r against the token's 32-element group sums gs: dword 4 L + r of
// madd(mn_T, gs_B) is mn_r[2 L] gs[2 L] + mn_r[2 L + 1] gs[2 L + 1]; q4g_mins_idx picks mn_T's
// words from mn16 (word 8 r + j: mn_r[j]).
static const int16_t q4g_mins_idx[32] = {
    0, 1, 8, 9, 16, 17, 24, 25, 2, 3, 10, 11, 18, 19, 26, 27,
    4, 5, 12, 13, 20, 21, 28, 29, 6, 7, 14, 15, 22, 23, 30, 31,
};

static void dot4il_ng_q4_k_avx512(int64_t n, int nt, float *s, const void *vw, size_t ws,
                                  const void *va, size_t as)
{
    const size_t bb = sizeof(wk_block_q4_k);
    const __m512i idx0 = _mm512_loadu_si512(q4g_scale_idx);
    const __m512i idx1 = _mm512_add_epi16(idx0, _mm512_set1_epi16(16));
    const __m512i midx = _mm512_loadu_si512(q4g_mins_idx);
    const __m512i lanesel = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m512i zero = _mm512_setzero_si512();
    // per token: [Σ d_a d sumi | Σ d_a dmin summ] of the four rows, the reference's float steps
    __m256 acc[WK_4IL_N_MAX];
    for (int t = 0; t < nt; t++) { acc[t] = _mm256_setzero_ps(); }
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const uint8_t *blk[4];
        __m128 d4, dmin4;
        __m512i sc16, mn16;
        k4_block_4rows(vw, i, ws, bb, blk, &d4, &dmin4, &sc16, &mn16);
        const __m256 dd = _mm256_insertf128_ps(_mm256_castps128_ps256(d4), dmin4, 1);
        const __m512i mnt = _mm512_permutexvar_epi16(midx, mn16);
        const __m512i sv0 = _mm512_permutexvar_epi16(idx0, sc16);
        const __m512i sv1 = _mm512_permutexvar_epi16(idx1, sc16);
        __m512i w[4][4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) { q4_unpack_grouped(blk[r], w[r]); }
        for (int t = 0; t < nt; t++) {
            const wk_block_q8_k *ab = (const wk_block_q8_k *)((const char *)va + t * as) + i;
            __m512i av[4], c[4];
            #pragma GCC unroll 4
            for (int k = 0; k < 4; k++) { av[k] = _mm512_loadu_si512(ab->qs + 64 * k); }
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                c[r] = _mm512_dpbusd_epi32(zero, w[r][0], av[0]);
                #pragma GCC unroll 3
                for (int k = 1; k < 4; k++) { c[r] = _mm512_dpbusd_epi32(c[r], w[r][k], av[k]); }
            }
            __m512i x = _mm512_dpwssd_epi32(zero, _mm512_packs_epi32(c[0], c[1]), sv0);
            __m512i y = _mm512_dpwssd_epi32(zero, _mm512_packs_epi32(c[2], c[3]), sv1);
            const __m512i z = pair_lanes(x, y);
            const __m128i gs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)ab->bsums),
                                              _mm_loadu_si128((const __m128i *)ab->bsums + 1));
            const __m512i m = _mm512_madd_epi16(
                mnt, _mm512_permutexvar_epi32(lanesel, _mm512_castsi128_si512(gs)));
            // lanes [z0 + z2, z1 + z3, m0 + m2, m1 + m3], then [Σ z | Σ m]
            acc[t] = k4_joint_add(acc[t], ab->d, dd, z, m);
        }
    }
    k4_joint_store(s, acc, nt);
}

// A row's four element-order vectors u interleaved by dwords (wk_q8_k_group6's order).
INLINE void g6_interleave(const __m512i u[4], __m512i w[4])
{
    w[0] = _mm512_unpacklo_epi32(u[0], u[1]);
    w[1] = _mm512_unpackhi_epi32(u[0], u[1]);
    w[2] = _mm512_unpacklo_epi32(u[2], u[3]);
    w[3] = _mm512_unpackhi_epi32(u[2], u[3]);
}

// The four rows w against one token's grouped quants qs (256 bytes): chains of two vpdpbusd
// started from o0 / o1, then per row pair a vpackssdw + vpdpwssd with the scales sv[pair][chain];
// *x rows 0 and 1, *y rows 2 and 3.
INLINE void g6_pair_sums(const __m512i w[4][4], const int8_t *qs, __m512i o0, __m512i o1,
                         const __m512i sv[2][2], __m512i *x, __m512i *y)
{
    __m512i av[4], c0[4], c1[4];
    #pragma GCC unroll 4
    for (int k = 0; k < 4; k++) { av[k] = _mm512_loadu_si512(qs + 64 * k); }
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        c0[r] = _mm512_dpbusd_epi32(o0, w[r][0], av[0]);
        c0[r] = _mm512_dpbusd_epi32(c0[r], w[r][1], av[1]);
        c1[r] = _mm512_dpbusd_epi32(o1, w[r][2], av[2]);
        c1[r] = _mm512_dpbusd_epi32(c1[r], w[r][3], av[3]);
    }
    const __m512i zero = _mm512_setzero_si512();
    *x = _mm512_dpwssd_epi32(zero, _mm512_packs_epi32(c0[0], c0[1]), sv[0][0]);
    *x = _mm512_dpwssd_epi32(*x, _mm512_packs_epi32(c1[0], c1[1]), sv[0][1]);
    *y = _mm512_dpwssd_epi32(zero, _mm512_packs_epi32(c0[2], c0[3]), sv[1][0]);
    *y = _mm512_dpwssd_epi32(*y, _mm512_packs_epi32(c1[2], c1[3]), sv[1][1]);
}

// Q5_K against activations in wk_q8_k_group6's order (as Q6_K): a row's element-order vectors
// interleaved by dwords, chains of two vpdpbusd from zero (Σ u a over 8 elements, u <= 31:
// <= 8 * 31 * 128 < 2^15), two vpackssdw + vpdpwssd per row pair and token. The mins take the
// block's off (-32 Σ a of each chain position, so off >> 5 = -Σ a, exact) against -mn: two
// vpdpwssd per row pair; then Q4_K's joint reduction and float steps.
static const int16_t q5g_scale_idx[32] = {
    0, 2, 0, 2, 8, 10, 8, 10, 0, 2, 0, 2, 8, 10, 8, 10,
    1, 3, 1, 3, 9, 11, 9, 11, 1, 3, 1, 3, 9, 11, 9, 11,
};

static void dot4il_ng_q5_k_avx512(int64_t n, int nt, float *s, const void *vw, size_t ws,
                                  const void *va, size_t as)
{
    const size_t bb = sizeof(wk_block_q5_k);
    const __m512i idx = _mm512_loadu_si512(q5g_scale_idx);
    const __m512i zero = _mm512_setzero_si512();
    __m256 acc[WK_4IL_N_MAX]; // [Σ d_a d sumi | Σ d_a dmin summ] of the four rows
    for (int t = 0; t < nt; t++) { acc[t] = _mm256_setzero_ps(); }
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const uint8_t *blk[4];
        __m128 d4, dmin4;
        __m512i sc16, mn16;
        k4_block_4rows(vw, i, ws, bb, blk, &d4, &dmin4, &sc16, &mn16);
        const __m256 dd = _mm256_insertf128_ps(_mm256_castps128_ps256(d4), dmin4, 1);
        const __m512i nmn16 = _mm512_sub_epi16(zero, mn16);
        __m512i sv[2][2], mv[2][2], w[4][4];
        #pragma GCC unroll 2
        for (int p = 0; p < 2; p++) {
            #pragma GCC unroll 2
            for (int c = 0; c < 2; c++) {
                const __m512i ix =
                    _mm512_add_epi16(idx, _mm512_set1_epi16((short)(16 * p + 4 * c)));
                sv[p][c] = _mm512_permutexvar_epi16(ix, sc16);
                mv[p][c] = _mm512_permutexvar_epi16(ix, nmn16);
            }
        }
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            __m512i u[4];
            q45_unpack(blk[r], 1, u);
            g6_interleave(u, w[r]);
        }
        for (int t = 0; t < nt; t++) {
            const wk_block_q8_kg6 *ab = (const wk_block_q8_kg6 *)((const char *)va + t * as) + i;
            __m512i x, y;
            g6_pair_sums(w, ab->qs, zero, zero, sv, &x, &y);
            // -Σ a per chain position, twice per lane (rows a and b of a pair)
            const __m512i sa = _mm512_srai_epi32(_mm512_loadu_si512(ab->off[0]), 5);
            const __m512i sb = _mm512_srai_epi32(_mm512_loadu_si512(ab->off[1]), 5);
            const __m512i pa = _mm512_packs_epi32(sa, sa), pb = _mm512_packs_epi32(sb, sb);
            const __m512i mx =
                _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(zero, pa, mv[0][0]), pb, mv[0][1]);
            const __m512i my =
                _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(zero, pa, mv[1][0]), pb, mv[1][1]);
            const __m512i z = pair_lanes(x, y), m = pair_lanes(mx, my);
            acc[t] = k4_joint_add(acc[t], ab->d, dd, z, m);
        }
    }
    k4_joint_store(s, acc, nt);
}

static void dot4il_n_q4_k_avx512(int64_t n, int nt, float *s, const void *w, size_t ws,
                                 const void *a, size_t as)
{
    dot_q45_k_4il_n(n, nt, s, w, ws, a, as, 0);
}

static void dot4il_n_q5_k_avx512(int64_t n, int nt, float *s, const void *w, size_t ws,
                                 const void *a, size_t as)
{
    dot_q45_k_4il_n(n, nt, s, w, ws, a, as, 1);
}

// Q6_K row of the group: u[k] = elements 64 k .. 64 k + 63 as u = q + 32 (x86_avx512.c's
// dot_q6_k_4row: half h is ql[64 h ..] and qh[32 h ..]); 128-bit lane L of u[k] is group 4 k + L
// of 16 elements.
INLINE void q6_unpack(const wk_block_q6_k *b, __m512i *u)
{
    const __m512i m15 = _mm512_set1_epi8(15), m48 = _mm512_set1_epi8(48);
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    #pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        const __m512i l = _mm512_loadu_si512(b->ql + 64 * h);
        const __m512i hh =
            _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b->qh + 32 * h)));
        const __m512i h01 = _mm512_and_si512(_mm512_sllv_epi16(hh, shl), m48);
        const __m512i h23 = _mm512_and_si512(_mm512_srlv_epi16(hh, shr), m48);
        u[2 * h] = _mm512_ternarylogic_epi32(l, h01, m15, TL_SELECT);
        u[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), h23, m15, TL_SELECT);
    }
}

INLINE void dot_q6_k_4il_n(int64_t n, int nt, float *s, const void *vw, size_t ws, const void *va,
                           size_t as)
{
    // scale vector k of a pair (words 0..15: sc_a, 16..31: sc_b): lane L words 0..3 sc_a[4k + L],
    // 4..7 sc_b[4k + L]
    const __m512i ibase = _mm512_set_epi16(19, 19, 19, 19, 3, 3, 3, 3, 18, 18, 18, 18, 2, 2, 2, 2,
                                           17, 17, 17, 17, 1, 1, 1, 1, 16, 16, 16, 16, 0, 0, 0, 0);
    // the offset's scales: lane L words 0..3 sc_a[4L .. 4L + 3], 4..7 sc_b[4L ..]; the bsums alike
    const __m512i ioff = _mm512_set_epi16(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10,
                                          9, 8, 23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2,
                                          1, 0);
    const __m512i ibs = _mm512_and_si512(ioff, _mm512_set1_epi16(15));
    __m128 acc[WK_4IL_N_MAX];
    __m512i xs[WK_4IL_N_MAX];
    for (int t = 0; t < nt; t++) { acc[t] = _mm_setzero_ps(); }
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const uint8_t *blk[4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            blk[r] = (const uint8_t *)vw + (size_t)(4 * i + r) * sizeof(wk_block_q6_k);
        }
        prefetch_next4(blk, 4 * ws, sizeof(wk_block_q6_k));
        const __m128 d4 = h2f_4rows(blk, offsetof(wk_block_q6_k, d));
        #pragma GCC unroll 2
        for (int p = 0; p < 2; p++) {
            const wk_block_q6_k *ba = (const wk_block_q6_k *)blk[2 * p];
            const wk_block_q6_k *bq = (const wk_block_q6_k *)blk[2 * p + 1];
            __m512i ua[4], ub[4], sv[4];
            q6_unpack(ba, ua);
            q6_unpack(bq, ub);
            const __m512i sc = _mm512_inserti64x4(
                _mm512_castsi256_si512(
                    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)ba->scales))),
                _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)bq->scales)), 1);
            #pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                sv[k] = _mm512_permutexvar_epi16(
                    _mm512_add_epi16(ibase, _mm512_set1_epi16((short)(4 * k))), sc);
            }
            // u = q + 32: the sum starts from -32 Σ_g sc_g bsum_g (|32 sc| <= 4096 fits i16)
            const __m512i scoff = _mm512_sub_epi16(_mm512_setzero_si512(),
                                                   _mm512_slli_epi16(
                                                       _mm512_permutexvar_epi16(ioff, sc), 5));
            for (int t = 0; t < nt; t++) {
                const wk_block_q8_k *ab = (const wk_block_q8_k *)((const char *)va + t * as) + i;
                const __m512i bs = _mm512_permutexvar_epi16(
                    ibs, _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)ab->bsums)));
                const __m512i x = pair_dot(_mm512_madd_epi16(bs, scoff), ua, ub, sv, ab->qs);
                if (p == 0) {
                    xs[t] = x;
                    continue;
                }
                acc[t] = k4row_add(acc[t], ab->d, d4, pair_totals(xs[t], x));
            }
        }
    }
    // the reference's sumf - summf with summf = 0
    for (int t = 0; t < nt; t++) { _mm_storeu_ps(s + 4 * t, _mm_sub_ps(acc[t], _mm_setzero_ps())); }
}

// Q6_K against activations in wk_q8_k_group6's order: a row's element-order vectors u[k] (lane
// L: group 4 k + L) interleaved by dwords, t0 = lo(u0, u1), t1 = hi(u0, u1), t2 = lo(u2, u3),
// t3 = hi(u2, u3), so dword (L, j) of t0 and t1 is group 4 (j % 2) + L (of t2 and t3: 8 more).
// Chains of two vpdpbusd (t0, t1 and t2, t3) start from the block's off = -32 Σ a of their
// elements: Σ (u - 32) a = Σ q a over 8 elements, |.| <= 8 * 32 * 127 < 2^15, so vpackssdw
// keeps it; then per token and row pair two vpackssdw + vpdpwssd where the element-order kernel
// needs four each, and no per-token offset of the bsums.
static const int16_t q6g_scale_idx[32] = {
    0, 4, 0, 4, 16, 20, 16, 20, 1, 5, 1, 5, 17, 21, 17, 21,
    2, 6, 2, 6, 18, 22, 18, 22, 3, 7, 3, 7, 19, 23, 19, 23,
};

static void dot4il_ng_q6_k_avx512(int64_t n, int nt, float *s, const void *vw, size_t ws,
                                  const void *va, size_t as)
{
    const __m512i idx_a = _mm512_loadu_si512(q6g_scale_idx);
    const __m512i idx_b = _mm512_add_epi16(idx_a, _mm512_set1_epi16(8));
    __m128 acc[WK_4IL_N_MAX];
    for (int t = 0; t < nt; t++) { acc[t] = _mm_setzero_ps(); }
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const uint8_t *blk[4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            blk[r] = (const uint8_t *)vw + (size_t)(4 * i + r) * sizeof(wk_block_q6_k);
        }
        prefetch_next4(blk, 4 * ws, sizeof(wk_block_q6_k));
        const __m128 d4 = h2f_4rows(blk, offsetof(wk_block_q6_k, d));
        __m512i w[4][4], sv[2][2];
        #pragma GCC unroll 2
        for (int p = 0; p < 2; p++) {
            const wk_block_q6_k *ba = (const wk_block_q6_k *)blk[2 * p];
            const wk_block_q6_k *bq = (const wk_block_q6_k *)blk[2 * p + 1];
            const __m512i sc = _mm512_inserti64x4(
                _mm512_castsi256_si512(
                    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)ba->scales))),
                _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)bq->scales)), 1);
            sv[p][0] = _mm512_permutexvar_epi16(idx_a, sc);
            sv[p][1] = _mm512_permutexvar_epi16(idx_b, sc);
        }
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            __m512i u[4];
            q6_unpack((const wk_block_q6_k *)blk[r], u);
            g6_interleave(u, w[r]);
        }
        for (int t = 0; t < nt; t++) {
            const wk_block_q8_kg6 *ab = (const wk_block_q8_kg6 *)((const char *)va + t * as) + i;
            __m512i x, y;
            g6_pair_sums(w, ab->qs, _mm512_loadu_si512(ab->off[0]), _mm512_loadu_si512(ab->off[1]),
                         sv, &x, &y);
            acc[t] = k4row_add(acc[t], ab->d, d4, pair_totals(x, y));
        }
    }
    // the reference's sumf - summf with summf = 0
    for (int t = 0; t < nt; t++) { _mm_storeu_ps(s + 4 * t, _mm_sub_ps(acc[t], _mm_setzero_ps())); }
}

static void dot4il_n_q6_k_avx512(int64_t n, int nt, float *s, const void *w, size_t ws,
                                 const void *a, size_t as)
{
    dot_q6_k_4il_n(n, nt, s, w, ws, a, as);
}

void wk_kernels_fill_avx512_batch(wk_kernels *k)
{
    k->vec_dot_4il_n[WICK_DTYPE_Q4_K] = dot4il_n_q4_k_avx512;
    k->vec_dot_4il_n[WICK_DTYPE_Q5_K] = dot4il_n_q5_k_avx512;
    k->vec_dot_4il_n[WICK_DTYPE_Q6_K] = dot4il_n_q6_k_avx512;
    k->vec_dot_4il_ng[WICK_DTYPE_Q4_K] = dot4il_ng_q4_k_avx512;
    k->vec_dot_4il_ng[WICK_DTYPE_Q5_K] = dot4il_ng_q5_k_avx512;
    k->vec_dot_4il_ng[WICK_DTYPE_Q6_K] = dot4il_ng_q6_k_avx512;
}
