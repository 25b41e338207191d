// gemm_avx2.c — the K formats' GEMM (layouts: gemm.h) on AVX2, and the weight packers every
// x86 path uses (the AVX-512 table starts as a copy of this one and keeps them).
//
// Kernel: 2 weight rows × 16 tokens over one super-block. Without VNNI each 4-element step is
// vpmaddubsw (u8 × s8 → pairs summed in i16) + vpmaddwd by ones (→ i32) + vpaddd; the pairs
// never saturate here: the packed quants are at most 63 (Q6_K + 32), against s8 activations:
// at most 2 · 63 · 128 = 16128. Group scales, the pairs' term and the float steps as in
// gemm_avx512.c, so the same bits as vec_dot.
#include <immintrin.h>
#include <stdbool.h>

#include "kernels/gemm.h"
#include "kernels/impl.h"

#define INLINE static inline __attribute__((always_inline))

INLINE __m256i bcast32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// Rows r0, r0 + 1 of super-block w against the 16 tokens of x: sf/sm [row 0..1][16 tokens].
INLINE void micro2(const wk_gemm_wsb *w, int r0, const wk_gemm_asb *x, const int ng,
                   const bool mins, float *sf, float *sm)
{
    const int gs = 64 / ng;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i sumi[2][2];
    #pragma GCC unroll 4
    for (int r = 0; r < 2; r++) { sumi[r][0] = sumi[r][1] = _mm256_setzero_si256(); }
    for (int g = 0; g < ng; g++) {
        __m256i acc[2][2];
        #pragma GCC unroll 4
        for (int r = 0; r < 2; r++) { acc[r][0] = acc[r][1] = _mm256_setzero_si256(); }
        #pragma GCC unroll 8
        for (int s = 0; s < gs; s++) {
            const int k4 = g * gs + s;
            __m256i xv[2];
            #pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                xv[h] = _mm256_loadu_si256((const __m256i *)x->q[k4][8 * h]);
            }
            #pragma GCC unroll 2
            for (int r = 0; r < 2; r++) {
                const __m256i wv = bcast32(w->q[r0 + r] + 4 * k4);
                #pragma GCC unroll 2
                for (int h = 0; h < 2; h++) {
                    const __m256i p = _mm256_maddubs_epi16(wv, xv[h]);
                    acc[r][h] = _mm256_add_epi32(acc[r][h], _mm256_madd_epi16(p, ones));
                }
            }
        }
        #pragma GCC unroll 2
        for (int r = 0; r < 2; r++) {
            const __m256i sc = _mm256_set1_epi32(w->sc[r0 + r][g]);
            #pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                sumi[r][h] = _mm256_add_epi32(sumi[r][h], _mm256_mullo_epi32(acc[r][h], sc));
            }
        }
    }
    #pragma GCC unroll 2
    for (int r = 0; r < 2; r++) {
        const __m256 d = _mm256_set1_ps(w->d[r0 + r]), dm = _mm256_set1_ps(w->dmin[r0 + r]);
        #pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            __m256i summ = _mm256_setzero_si256();
            #pragma GCC unroll 8
            for (int p = 0; p < ng / 2; p++) {
                const int32_t *bs = ng == 8 ? x->bs32[p] : x->bs[p];
                summ = _mm256_add_epi32(
                    summ, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(bs + 8 * h)),
                                            _mm256_set1_epi32(w->mn[r0 + r][p])));
            }
            const __m256 da = _mm256_loadu_ps(x->d + 8 * h);
            float *f = sf + r * 16 + 8 * h;
            const __m256i si = mins ? sumi[r][h] : _mm256_sub_epi32(sumi[r][h], summ);
            _mm256_storeu_ps(f, _mm256_add_ps(_mm256_loadu_ps(f),
                                              _mm256_mul_ps(_mm256_mul_ps(da, d),
                                                            _mm256_cvtepi32_ps(si))));
            if (mins) {
                float *m = sm + r * 16 + 8 * h;
                _mm256_storeu_ps(m, _mm256_add_ps(_mm256_loadu_ps(m),
                                                  _mm256_mul_ps(_mm256_mul_ps(da, dm),
                                                                _mm256_cvtepi32_ps(summ))));
            }
        }
    }
}

// Token groups [g0, g1) times n_rows rows (tiles of 16 back to back), group by group.
INLINE void gemm_kq(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                    int64_t g0, int64_t g1, float *y, int64_t ys, const int ng, const bool mins,
                    const void *pf, size_t pf_bytes)
{
    const int64_t nsb = K / WK_QK_K;
    const wk_gemm_wsb *w = tile;
    const wk_gemm_asb *a = act;
    float sf[WK_GEMM_MAX_ROWS * 16], sm[WK_GEMM_MAX_ROWS * 16];
    const int n2 = (n_rows + 1) / 2 * 2;
    for (int64_t g = g0; g < g1; g++) {
        memset(sf, 0, sizeof(float) * (size_t)n2 * 16);
        memset(sm, 0, sizeof(float) * (size_t)n2 * 16);
        for (int64_t b = 0; b < nsb; b++) {
            if (g == g0) { wk_gemm_prefetch_part(pf, pf_bytes, b, nsb); }
            for (int r0 = 0; r0 < n_rows; r0 += 2) {
                micro2(w + r0 / WK_GEMM_ROWS * nsb + b, r0 % WK_GEMM_ROWS, a + g * nsb + b, ng,
                       mins, sf + r0 * 16, sm + r0 * 16);
            }
        }
        for (int l = 0; l < WK_GEMM_TOKS && g * WK_GEMM_TOKS + l < T; l++) {
            float *yt = y + (g * WK_GEMM_TOKS + l) * ys;
            for (int r = 0; r < n_rows; r++) { yt[r] = sf[r * 16 + l] - sm[r * 16 + l]; }
        }
    }
}

#define GEMM(name, ng, mins)                                                                  \
    static void name(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,          \
                     int64_t g0, int64_t g1, float *y, int64_t ys, const void *pf, size_t pfb)     \
    {                                                                                              \
        gemm_kq(tile, n_rows, K, act, T, g0, g1, y, ys, ng, mins, pf, pfb);                        \
    }
GEMM(gemm_g8m, 8, true)
GEMM(gemm_g16m, 16, true)
GEMM(gemm_g16, 16, false)

// The 8 scales and 8 mins of a Q4_K/Q5_K block (wk_scale_min_k4) as bytes, four at a time.
INLINE void scale_min_k4x8(const uint8_t *s, uint8_t sc[8], uint8_t mn[8])
{
    uint32_t u[3], v[4];
    memcpy(u, s, 12);
    v[0] = u[0] & 0x3f3f3f3fu;                                      // sc 0..3
    v[1] = (u[2] & 0x0f0f0f0fu) | ((u[0] >> 2) & 0x30303030u);      // sc 4..7
    v[2] = u[1] & 0x3f3f3f3fu;                                      // mn 0..3
    v[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | ((u[1] >> 2) & 0x30303030u); // mn 4..7
    memcpy(sc, v, 8);
    memcpy(mn, v + 2, 8);
}

// Row r's scales, mins (wk_scale_min_k4) and d's of a Q4_K/Q5_K block into dst.
INLINE void scales_q4_k(const uint8_t *scales, uint16_t d, uint16_t dmin, wk_gemm_wsb *dst, int r)
{
    uint8_t sc[8], mn[8];
    scale_min_k4x8(scales, sc, mn);
    uint64_t s8;
    memcpy(&s8, sc, 8);
    _mm256_storeu_si256((__m256i *)dst->sc[r],
                        _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)s8)));
    memcpy(&s8, mn, 8);
    // mins as int16 pairs (2p, 2p + 1): the 8 bytes widened to 8 int16
    _mm_storeu_si128((__m128i *)dst->mn[r], _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)s8)));
    dst->d[r] = _cvtsh_ss(d);
    dst->dmin[r] = _cvtsh_ss(dmin);
}

// Block b of row r of a weight at w: rows of ws bytes in file order, or (il) interleaved by four
// block by block (repack.c: group g at w + 4 g ws, its row r's block b at (4 b + r) block bytes).
INLINE const void *row_block(const void *w, size_t ws, const bool il, size_t bb, int r, int64_t b)
{
    if (il) {
        return (const char *)w + (size_t)(r / 4) * 4 * ws + ((size_t)b * 4 + (size_t)(r % 4)) * bb;
    }
    return (const char *)w + (size_t)r * ws + (size_t)b * bb;
}

// Prefetches (into L2) super-block b + PACK_PF of n_rows rows: the packers read weights that are
// not in any cache (each is read once per matmul), PACK_PF blocks ahead of their use.
enum { PACK_PF = 4 };
INLINE void pack_prefetch(const void *w, size_t ws, const bool il, size_t bb, int n_rows,
                          int64_t b, int64_t nsb)
{
    if (b + PACK_PF >= nsb) { return; }
    const int step = il ? 4 : 1; // rows interleaved by four: their blocks b lie together
    for (int r = 0; r < n_rows; r += step) {
        const char *p = row_block(w, ws, il, bb, r, b + PACK_PF);
        for (size_t o = 0; o < (size_t)step * bb; o += 64) { _mm_prefetch(p + o, _MM_HINT_T1); }
    }
}

// Q4_K (five false) / Q5_K: the quants out of their nibbles (qs byte 32 c + l holds element
// 64 c + l low and 64 c + 32 + l high), Q5_K's (0..31) with their fifth bit: bit 2 c of qh[l] for
// element 64 c + l, bit 2 c + 1 for 64 c + 32 + l; the scales, mins and d's.
INLINE void pack_q45_k_t(const void *w, size_t ws, int n_rows, int64_t K, void *tile, const bool il,
                         const bool five)
{
    const __m256i m4 = _mm256_set1_epi8(15), b4 = _mm256_set1_epi8(16);
    const size_t bb = five ? sizeof(wk_block_q5_k) : sizeof(wk_block_q4_k);
    const size_t qs_off = five ? offsetof(wk_block_q5_k, qs) : offsetof(wk_block_q4_k, qs);
    for (int64_t b = 0; b < K / WK_QK_K; b++) {
        wk_gemm_wsb *dst = (wk_gemm_wsb *)tile + b;
        pack_prefetch(w, ws, il, bb, n_rows, b, K / WK_QK_K);
        if (n_rows < WK_GEMM_ROWS) { memset(dst, 0, sizeof *dst); } // rows past n_rows: zero
        for (int r = 0; r < n_rows; r++) {
            const wk_block_q4_k *x = row_block(w, ws, il, bb, r, b); // Q5_K: the same d .. scales
            const uint8_t *qs = (const uint8_t *)x + qs_off;
            // Q5_K: hb = qh >> 2 c (16-bit shifts: bits 2 c, 2 c + 1 of each byte at bits 0, 1,
            // from the byte itself), those two then at bit 4 by shifts of 4 and 3 (others masked)
            __m256i hb = _mm256_setzero_si256();
            if (five) { hb = _mm256_loadu_si256((const __m256i *)((const wk_block_q5_k *)x)->qh); }
            for (int c = 0; c < 4; c++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
                __m256i lo = _mm256_and_si256(v, m4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                if (five) {
                    lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 4), b4));
                    hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hb, 3), b4));
                    hb = _mm256_srli_epi16(hb, 2);
                }
                _mm256_storeu_si256((__m256i *)(dst->q[r] + 64 * c), lo);
                _mm256_storeu_si256((__m256i *)(dst->q[r] + 64 * c + 32), hi);
            }
            scales_q4_k(x->scales, x->d, x->dmin, dst, r);
        }
    }
}

// Q6_K: quants -32..31 packed as q + 32 (0..63), pairs 32 sc (gemm.h).
INLINE void pack_q6_k_t(const void *w, size_t ws, int n_rows, int64_t K, void *tile, const bool il)
{
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < K / WK_QK_K; b++) {
        wk_gemm_wsb *dst = (wk_gemm_wsb *)tile + b;
        pack_prefetch(w, ws, il, sizeof(wk_block_q6_k), n_rows, b, K / WK_QK_K);
        if (n_rows < WK_GEMM_ROWS) { memset(dst, 0, sizeof *dst); }
        for (int r = 0; r < n_rows; r++) {
            const wk_block_q6_k *x = row_block(w, ws, il, sizeof(wk_block_q6_k), r, b);
            for (int h = 0; h < 2; h++) {
                const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));
                const __m256i l1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
                const __m256i hb = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
                __m256i u[4];
                u[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                       _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
                u[1] = _mm256_or_si256(
                    _mm256_and_si256(l1, m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m2), 4));
                u[2] = _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m2), 4));
                u[3] = _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m2), 4));
                for (int j = 0; j < 4; j++) {
                    _mm256_storeu_si256((__m256i *)(dst->q[r] + 128 * h + 32 * j), u[j]);
                }
            }
            const __m128i sc8 = _mm_loadu_si128((const __m128i *)x->scales);
            _mm256_storeu_si256((__m256i *)dst->sc[r], _mm256_cvtepi8_epi32(sc8));
            _mm256_storeu_si256((__m256i *)(dst->sc[r] + 8),
                                _mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8)));
            // pairs 32 sc_2p | 32 sc_2p+1 << 16: the 16 scales as int16, times 32
            _mm256_storeu_si256((__m256i *)dst->mn[r],
                                _mm256_slli_epi16(_mm256_cvtepi8_epi16(sc8), 5));
            dst->d[r] = _cvtsh_ss(x->d);
            dst->dmin[r] = 0.0f;
        }
    }
}

// The packers from rows in file order, and from rows interleaved by four (gemm_pack_il).
static void pack_q4_k(const void *w, size_t ws, int n_rows, int64_t K, void *tile)
{
    pack_q45_k_t(w, ws, n_rows, K, tile, false, false);
}
static void pack_q4_k_il(const void *w, size_t ws, int n_rows, int64_t K, void *tile)
{
    pack_q45_k_t(w, ws, n_rows, K, tile, true, false);
}
static void pack_q5_k(const void *w, size_t ws, int n_rows, int64_t K, void *tile)
{
    pack_q45_k_t(w, ws, n_rows, K, tile, false, true);
}
static void pack_q5_k_il(const void *w, size_t ws, int n_rows, int64_t K, void *tile)
{
    pack_q45_k_t(w, ws, n_rows, K, tile, true, true);
}
static void pack_q6_k(const void *w, size_t ws, int n_rows, int64_t K, void *tile)
{
    pack_q6_k_t(w, ws, n_rows, K, tile, false);
}
static void pack_q6_k_il(const void *w, size_t ws, int n_rows, int64_t K, void *tile)
{
    pack_q6_k_t(w, ws, n_rows, K, tile, true);
}

#define PACK_REF(name, T)                                                                          \
    static void name(const void *w, size_t ws, int n_rows, int64_t K, void *tile)                  \
    {                                                                                              \
        wk_gemm_pack_ref(WICK_DTYPE_##T, w, ws, n_rows, K, tile);                                  \
    }
PACK_REF(pack_q2_k, Q2_K)
PACK_REF(pack_q3_k, Q3_K)

void wk_gemm_fill_avx2(wk_kernels *k)
{
    k->gemm_pack[WICK_DTYPE_Q2_K] = pack_q2_k;
    k->gemm[WICK_DTYPE_Q2_K] = gemm_g16m;
    k->gemm_pack[WICK_DTYPE_Q3_K] = pack_q3_k;
    k->gemm[WICK_DTYPE_Q3_K] = gemm_g16;
    k->gemm_pack[WICK_DTYPE_Q4_K] = pack_q4_k;
    k->gemm_pack_il[WICK_DTYPE_Q4_K] = pack_q4_k_il;
    k->gemm_pack_il[WICK_DTYPE_Q5_K] = pack_q5_k_il;
    k->gemm_pack_il[WICK_DTYPE_Q6_K] = pack_q6_k_il;
    k->gemm[WICK_DTYPE_Q4_K] = gemm_g8m;
    k->gemm_pack[WICK_DTYPE_Q5_K] = pack_q5_k;
    k->gemm[WICK_DTYPE_Q5_K] = gemm_g8m;
    k->gemm_pack[WICK_DTYPE_Q6_K] = pack_q6_k;
    k->gemm[WICK_DTYPE_Q6_K] = gemm_g16;
}
