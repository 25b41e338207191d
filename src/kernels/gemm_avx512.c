// gemm_avx512.c — the K formats' int8 GEMM on AVX-512 VNNI (layouts: gemm.h), bit-identical to
// vec_dot (ref.c's KDOT) for every output.
//
// Micro-kernel: 4 weight rows × up to 48 tokens (three 16-token vectors) over one super-block.
// Per 4 elements: one 64-byte activation load per vector and, per row, a 4-byte weight broadcast;
// 12 vpdpbusd (unsigned weights × signed activations, nothing to unpack or flip) accumulate each
// group's exact dot products in int32 lanes (lane = token). At the end of a group one vpmulld by
// the group's scale folds it into the super-block total; at the end of the super-block the pairs'
// term (vpdpwssd against the bsums pairs: the mins, or the signed formats' offset) and the float
// steps of the reference, in its order. The weight rows are swept super-block by super-block for
// each 48 tokens: that super-block's activations (14 KB) stay in L1 while the rows pass.
// Zen 4 (this machine): vpdpbusd on 512 bits issues once per cycle per core (bench_gemm: Q4_K
// 4096 × 5120 × 512 tokens at 57 % of that peak with the nibbles unpacked in the loop and the
// activations flipped to s8 there, 65-68 % with both done at packing; loaded machine).
#include <immintrin.h>
#include <stdbool.h>

#include "kernels/gemm.h"
#include "kernels/impl.h"
#include "kernels/x86_avx2.h"

#define INLINE static inline __attribute__((always_inline))

INLINE __m512i bcast32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

enum { MAXV = 3 }; // token vectors (16 tokens each) per micro-kernel call

// acc[r][j] = Σ_{s < n} vpdpbusd(4 bytes of row r at wr[r] + 4 s, step s of token vector j at xq[j])
// for 4 rows and ntv token vectors (the exact integer dot products of n · 4 elements).
INLINE void dp_steps(__m512i acc[4][MAXV], const uint8_t *const *wr,
                     const int8_t (*const *xq)[WK_GEMM_TOKS][4], const int n, const int ntv)
{
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++) {
        #pragma GCC unroll 8
        for (int j = 0; j < ntv; j++) { acc[r][j] = _mm512_setzero_si512(); }
    }
    #pragma GCC unroll 8
    for (int s = 0; s < n; s++) {
        __m512i xv[MAXV];
        #pragma GCC unroll 8
        for (int j = 0; j < ntv; j++) { xv[j] = _mm512_loadu_si512(xq[j][s]); }
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++) {
            const __m512i wv = bcast32(wr[r] + 4 * s);
            #pragma GCC unroll 8
            for (int j = 0; j < ntv; j++) { acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], wv, xv[j]); }
        }
    }
}

// v[r] (row r's 16 tokens) transposed in place: v[l] = token l's 16 rows.
INLINE void transpose16(__m512 v[16])
{
    __m512 t[16];
    #pragma GCC unroll 8
    for (int i = 0; i < 8; i++) { // per 128-bit lane: r0 r1 pairs of elements 0, 1 / 2, 3
        t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    #pragma GCC unroll 4
    for (int i = 0; i < 4; i++) { // v[4 i + k], lane L: rows 4 i .. 4 i + 3 of element 4 L + k
        v[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        v[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        v[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        v[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    #pragma GCC unroll 4
    for (int k = 0; k < 4; k++) { // element 4 L + k: lane L of v[k], v[4 + k], v[8 + k], v[12 + k]
        const __m512 w0 = _mm512_shuffle_f32x4(v[k], v[4 + k], 0x88);
        const __m512 w1 = _mm512_shuffle_f32x4(v[k], v[4 + k], 0xdd);
        const __m512 w2 = _mm512_shuffle_f32x4(v[8 + k], v[12 + k], 0x88);
        const __m512 w3 = _mm512_shuffle_f32x4(v[8 + k], v[12 + k], 0xdd);
        t[k] = _mm512_shuffle_f32x4(w0, w2, 0x88);
        t[4 + k] = _mm512_shuffle_f32x4(w1, w3, 0x88);
        t[8 + k] = _mm512_shuffle_f32x4(w0, w2, 0xdd);
        t[12 + k] = _mm512_shuffle_f32x4(w1, w3, 0xdd);
    }
    #pragma GCC unroll 16
    for (int l = 0; l < 16; l++) { v[l] = t[l]; }
}

// The sums of nr <= 16 rows × 16 tokens (row r's at f + r * MAXV * 16, minus those at m unless
// m is NULL) out token by token: token l's rows to y + l * ys, for the first nt tokens.
INLINE void store_block(const float *f, const float *m, int nr, int nt, float *y, int64_t ys)
{
    __m512 v[16];
    #pragma GCC unroll 16
    for (int r = 0; r < 16; r++) {
        v[r] = _mm512_setzero_ps();
        if (r < nr) {
            v[r] = _mm512_loadu_ps(f + r * MAXV * 16);
            if (m) { v[r] = _mm512_sub_ps(v[r], _mm512_loadu_ps(m + r * MAXV * 16)); }
        }
    }
    transpose16(v);
    const __mmask16 rows = (__mmask16)((1u << nr) - 1);
    for (int l = 0; l < nt; l++) { _mm512_mask_storeu_ps(y + l * ys, rows, v[l]); }
}

// sf/sm: [row 0..3][vector 0..MAXV-1][16 tokens] running sumf / summf of rows r0 .. r0 + 3;
// x[j]: vector j's activations of this super-block. mins: the pairs' term goes to summf (Q2_K,
// Q4_K, Q5_K); else it is the offset's, subtracted from the integer sum (Q3_K, Q6_K).
INLINE void micro(const wk_gemm_wsb *w, int r0, const wk_gemm_asb *const *x, const int ntv,
                  const int ng, const bool mins, float *sf, float *sm)
{
    const int gs = 64 / ng; // 4-element steps per group: 8 (groups of 32) or 4 (of 16)
    __m512i sumi[4][MAXV];
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++) {
        #pragma GCC unroll 8
        for (int j = 0; j < ntv; j++) { sumi[r][j] = _mm512_setzero_si512(); }
    }
    for (int g = 0; g < ng; g++) {
        __m512i acc[4][MAXV];
        const uint8_t *wr[4];
        const int8_t(*xq[MAXV])[WK_GEMM_TOKS][4];
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++) { wr[r] = w->q[r0 + r] + 4 * g * gs; }
        #pragma GCC unroll 8
        for (int j = 0; j < MAXV; j++) { xq[j] = x[j]->q + g * gs; }
        dp_steps(acc, wr, xq, gs, ntv);
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++) {
            const __m512i sc = _mm512_set1_epi32(w->sc[r0 + r][g]);
            #pragma GCC unroll 8
            for (int j = 0; j < ntv; j++) {
                sumi[r][j] = _mm512_add_epi32(sumi[r][j], _mm512_mullo_epi32(acc[r][j], sc));
            }
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++) {
        const __m512 d = _mm512_set1_ps(w->d[r0 + r]);
        const __m512 dm = _mm512_set1_ps(w->dmin[r0 + r]);
        #pragma GCC unroll 8
        for (int j = 0; j < ntv; j++) {
            __m512i summ = _mm512_setzero_si512();
            #pragma GCC unroll 8
            for (int p = 0; p < ng / 2; p++) {
                const int32_t *bs = ng == 8 ? x[j]->bs32[p] : x[j]->bs[p];
                summ = _mm512_dpwssd_epi32(summ, _mm512_loadu_si512(bs),
                                           _mm512_set1_epi32(w->mn[r0 + r][p]));
            }
            const __m512 da = _mm512_loadu_ps(x[j]->d);
            float *f = sf + (r * MAXV + j) * 16;
            const __m512 si =
                _mm512_cvtepi32_ps(mins ? sumi[r][j] : _mm512_sub_epi32(sumi[r][j], summ));
            _mm512_storeu_ps(f, _mm512_add_ps(_mm512_loadu_ps(f),
                                              _mm512_mul_ps(_mm512_mul_ps(da, d), si)));
            if (mins) {
                float *m = sm + (r * MAXV + j) * 16;
                _mm512_storeu_ps(m, _mm512_add_ps(_mm512_loadu_ps(m),
                                                  _mm512_mul_ps(_mm512_mul_ps(da, dm),
                                                                _mm512_cvtepi32_ps(summ))));
            }
        }
    }
}

// One pass of ntv token vectors (from group g) over every super-block: y of those tokens, for
// n_rows rows in consecutive tiles of 16. Per super-block, its activations (ntv × 4.9 KB) stay
// in L1 while every row passes; more rows per pass, fewer passes over the activations (which
// come from L3 for long prompts and long rows).
INLINE void gemm_pass(const wk_gemm_wsb *w, int n_rows, int64_t nsb, const wk_gemm_asb *a,
                      int64_t T, int64_t g, float *y, int64_t ys, const int ntv, const int ng,
                      const bool mins, const void *pf, size_t pf_bytes)
{
    enum { R = WK_GEMM_MAX_ROWS };
    float sf[R * MAXV * 16] __attribute__((aligned(64)));
    float sm[R * MAXV * 16] __attribute__((aligned(64)));
    memset(sf, 0, sizeof(float) * (size_t)((n_rows + 3) / 4 * 4) * MAXV * 16);
    if (mins) { memset(sm, 0, sizeof(float) * (size_t)((n_rows + 3) / 4 * 4) * MAXV * 16); }
    for (int64_t b = 0; b < nsb; b++) {
        const wk_gemm_asb *x[MAXV];
        for (int j = 0; j < MAXV; j++) { x[j] = a + (g + (j < ntv ? j : 0)) * nsb + b; }
        for (int r0 = 0; r0 < n_rows; r0 += 4) {
            const int t = r0 / WK_GEMM_ROWS;
            wk_gemm_prefetch_part(pf, pf_bytes, b * ((n_rows + 3) / 4) + r0 / 4,
                                  nsb * ((n_rows + 3) / 4));
            micro(w + t * nsb + b, r0 % WK_GEMM_ROWS, x, ntv, ng, mins,
                  sf + r0 * MAXV * 16, sm + r0 * MAXV * 16);
        }
    }
    // y[t][r0 ..] = sumf - summf (summf 0 without mins), per tile of 16 rows and vector j:
    // row r of token l is lane l of sf/sm row (r, j), transposed so that each token's 16
    // outputs go out in one store
    for (int r0 = 0; r0 < n_rows; r0 += WK_GEMM_ROWS) {
        const int nr = n_rows - r0 < WK_GEMM_ROWS ? n_rows - r0 : WK_GEMM_ROWS;
        for (int j = 0; j < ntv; j++) {
            const int64_t t0 = (g + j) * WK_GEMM_TOKS;
            const int nt = T - t0 < WK_GEMM_TOKS ? (int)(T - t0) : WK_GEMM_TOKS;
            if (nt <= 0) { break; }
            store_block(sf + r0 * MAXV * 16 + j * 16, mins ? sm + r0 * MAXV * 16 + j * 16 : NULL,
                        nr, nt, y + t0 * ys + r0, ys);
        }
    }
}

// Token groups [g0, g1) of the packed activations times the tile's n_rows rows.
INLINE void gemm_kq(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                    int64_t g0, int64_t g1, float *y, int64_t ys, const int ng, const bool mins,
                    const void *pf, size_t pf_bytes)
{
    const int64_t nsb = K / WK_QK_K;
    // the prefetch goes with the last pass (what it brings stays in L2 until the packer's turn)
    int64_t g = g0;
    for (; g + 3 <= g1; g += 3) {
        const bool last = g + 3 == g1;
        gemm_pass(tile, n_rows, nsb, act, T, g, y, ys, 3, ng, mins, last ? pf : NULL, pf_bytes);
    }
    if (g + 2 <= g1) {
        gemm_pass(tile, n_rows, nsb, act, T, g, y, ys, 2, ng, mins, pf, pf_bytes);
    } else if (g < g1) {
        gemm_pass(tile, n_rows, nsb, act, T, g, y, ys, 1, ng, mins, pf, pf_bytes);
    }
}

static void gemm_g8m(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                     int64_t g0, int64_t g1, float *y, int64_t ys, const void *pf, size_t pfb)
{
    gemm_kq(tile, n_rows, K, act, T, g0, g1, y, ys, 8, true, pf, pfb);
}
static void gemm_g16m(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                      int64_t g0, int64_t g1, float *y, int64_t ys, const void *pf, size_t pfb)
{
    gemm_kq(tile, n_rows, K, act, T, g0, g1, y, ys, 16, true, pf, pfb);
}
static void gemm_g16(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                     int64_t g0, int64_t g1, float *y, int64_t ys, const void *pf, size_t pfb)
{
    gemm_kq(tile, n_rows, K, act, T, g0, g1, y, ys, 16, false, pf, pfb);
}

// --- the legacy formats with signed quants (gemm.h: gemm0) ---------------------------------------
//
// Same micro-kernel shape as above (4 rows × up to 48 tokens, rows broadcast, tokens in lanes) over
// blocks of 32: 8 vpdpbusd per row and token vector give the block's sum of (q + off) · a, minus
// off · Σ a (a shift of the packed sums) is the exact sumi; then, as ref.c, sum += (float)sumi ·
// (d_w · d_a), a multiply and an add (no FMA), block by block.

enum { G0_NB = WK_GEMM0_MAX_K / WK_QK };

// The 32 quants of a legacy block plus off, as unsigned bytes in element order, and its d.
INLINE void unpack0(const int type, const void *blk, uint8_t *u, float *d)
{
    __m256i v;
    if (type == WICK_DTYPE_Q4_0) {
        const wk_block_q4_0 *b = blk;
        v = nibbles32(b->qs); // q + 8
        *d = h2f(b->d);
    } else if (type == WICK_DTYPE_Q5_0) {
        const wk_block_q5_0 *b = blk;
        v = _mm256_or_si256(nibbles32(b->qs), // q + 16
                            _mm256_and_si256(bits32(b->qh), _mm256_set1_epi8(16)));
        *d = h2f(b->d);
    } else {
        const wk_block_q8_0 *b = blk;
        v = _mm256_xor_si256(loadu256(b->qs), _mm256_set1_epi8(-128)); // q + 128
        *d = h2f(b->d);
    }
    _mm256_storeu_si256((__m256i *)u, v);
}

// Rows r0 .. r0 + 3 of the packed rows (wq: row r at r * K, wd: row r at r * nb) against the ntv
// token vectors x[j] (block 0 of each): the sums into sf [row 0..3][vector][16 tokens].
INLINE void micro0(const uint8_t *wq, const float *wd, int64_t K, int64_t nb, int r0,
                   const wk_gemm_asb0 *const *x, const int ntv, const int shift, float *sf)
{
    __m512 sum[4][MAXV];
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++) {
        #pragma GCC unroll 8
        for (int j = 0; j < ntv; j++) { sum[r][j] = _mm512_setzero_ps(); }
    }
    for (int64_t b = 0; b < nb; b++) {
        __m512i acc[4][MAXV];
        const uint8_t *wr[4];
        const int8_t(*xq[MAXV])[WK_GEMM_TOKS][4];
        #pragma GCC unroll 8
        for (int r = 0; r < 4; r++) { wr[r] = wq + (r0 + r) * K + b * WK_QK; }
        #pragma GCC unroll 8
        for (int j = 0; j < MAXV; j++) { xq[j] = x[j][b].q; }
        dp_steps(acc, wr, xq, 8, ntv);
        #pragma GCC unroll 8
        for (int j = 0; j < ntv; j++) {
            const __m512i so = _mm512_slli_epi32(_mm512_loadu_si512(x[j][b].s), shift);
            const __m512 da = _mm512_loadu_ps(x[j][b].d);
            #pragma GCC unroll 8
            for (int r = 0; r < 4; r++) {
                const __m512 dd = _mm512_mul_ps(_mm512_set1_ps(wd[(r0 + r) * nb + b]), da);
                const __m512 si = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][j], so));
                sum[r][j] = _mm512_add_ps(sum[r][j], _mm512_mul_ps(si, dd));
            }
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < 4; r++) {
        #pragma GCC unroll 8
        for (int j = 0; j < ntv; j++) { _mm512_storeu_ps(sf + (r * MAXV + j) * 16, sum[r][j]); }
    }
}

// One pass of ntv token vectors from group g over the packed rows: y of those tokens.
INLINE void gemm0_pass(const uint8_t *wq, const float *wd, int n_rows, int64_t K,
                       const wk_gemm_asb0 *a, int64_t T, int64_t g, float *y, int64_t ys,
                       const int ntv, const int shift)
{
    const int64_t nb = K / WK_QK;
    float sf[WK_GEMM_ROWS * MAXV * 16] __attribute__((aligned(64)));
    const wk_gemm_asb0 *x[MAXV];
    for (int j = 0; j < MAXV; j++) { x[j] = a + (g + (j < ntv ? j : 0)) * nb; }
    for (int r0 = 0; r0 < n_rows; r0 += 4) {
        micro0(wq, wd, K, nb, r0, x, ntv, shift, sf + r0 * MAXV * 16);
    }
    for (int j = 0; j < ntv; j++) {
        const int64_t t0 = (g + j) * WK_GEMM_TOKS;
        const int nt = T - t0 < WK_GEMM_TOKS ? (int)(T - t0) : WK_GEMM_TOKS;
        if (nt <= 0) { break; }
        store_block(sf + j * 16, NULL, n_rows, nt, y + t0 * ys, ys);
    }
}

INLINE void gemm0(const int type, const void *w, size_t ws, int n_rows, int64_t K,
                  const void *act, int64_t T, float *y, int64_t ys)
{
    const int64_t nb = K / WK_QK;
    const int shift = type == WICK_DTYPE_Q4_0 ? 3 : type == WICK_DTYPE_Q5_0 ? 4 : 7; // log2 off
    const size_t bb = wk_type(type)->bytes;
    uint8_t wq[WK_GEMM_ROWS * WK_GEMM0_MAX_K] __attribute__((aligned(64)));
    float wd[WK_GEMM_ROWS * G0_NB];
    const int n4 = (n_rows + 3) / 4 * 4;
    for (int r = 0; r < n4; r++) {
        for (int64_t b = 0; b < nb; b++) {
            if (r < n_rows) {
                unpack0(type, (const char *)w + (size_t)r * ws + (size_t)b * bb,
                        wq + r * K + b * WK_QK, &wd[r * nb + b]);
            } else { // rows up to the micro-kernel's four: zero, never stored
                memset(wq + r * K + b * WK_QK, 0, WK_QK);
                wd[r * nb + b] = 0.0f;
            }
        }
    }
    const int64_t groups = (T + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS;
    int64_t g = 0;
    for (; g + 3 <= groups; g += 3) { gemm0_pass(wq, wd, n_rows, K, act, T, g, y, ys, 3, shift); }
    if (g + 2 <= groups) {
        gemm0_pass(wq, wd, n_rows, K, act, T, g, y, ys, 2, shift);
    } else if (g < groups) {
        gemm0_pass(wq, wd, n_rows, K, act, T, g, y, ys, 1, shift);
    }
}

#define GEMM0(tname, TYPE)                                                                         \
    static void gemm0_##tname(const void *w, size_t ws, int n_rows, int64_t K, const void *act,  \
                              int64_t T, float *y, int64_t ys)                                     \
    {                                                                                              \
        gemm0(TYPE, w, ws, n_rows, K, act, T, y, ys);                                              \
    }
GEMM0(q4_0, WICK_DTYPE_Q4_0)
GEMM0(q5_0, WICK_DTYPE_Q5_0)
GEMM0(q8_0, WICK_DTYPE_Q8_0)

void wk_gemm_fill_avx512(wk_kernels *k)
{
    k->gemm0[WICK_DTYPE_Q4_0] = gemm0_q4_0;
    k->gemm0[WICK_DTYPE_Q5_0] = gemm0_q5_0;
    k->gemm0[WICK_DTYPE_Q8_0] = gemm0_q8_0;
    // the packers are the AVX2 path's (gemm_avx2.c), already in the table
    k->gemm[WICK_DTYPE_Q2_K] = gemm_g16m;
    k->gemm[WICK_DTYPE_Q3_K] = gemm_g16;
    k->gemm[WICK_DTYPE_Q4_K] = gemm_g8m;
    k->gemm[WICK_DTYPE_Q5_K] = gemm_g8m;
    k->gemm[WICK_DTYPE_Q6_K] = gemm_g16;
}
