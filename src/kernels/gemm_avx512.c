// gemm_avx512.c — the K formats' int8 GEMM on AVX-512 VNNI (layouts: gemm.h), bit-identical to
// vec_dot (ref.c's KDOT) for every output.
//
// Micro-kernel: 4 weight rows × 32 tokens (two 16-token vectors) over one super-block. Per 4
// elements: two 64-byte activation loads and, per row, a 4-byte weight broadcast; 8 vpdpbusd
// accumulate each group's exact dot products in int32 lanes (lane = token). At the end of a group
// one vpmulld by the group's scale folds it into the super-block total; at the end of the
// super-block the mins' term (8 vpdpwssd against the bsums pairs) and the float steps of the
// reference, in its order. A tile (16 rows) is swept super-block by super-block for each 32
// tokens: that super-block's activations (9.3 KB) stay in L1 while the four row groups pass.
// Zen 4 (this machine): vpdpbusd on 512 bits issues once per cycle per core (bench_gemm).
#include <immintrin.h>
#include <stdbool.h>

#include "kernels/gemm.h"
#include "kernels/impl.h"

#define INLINE static inline __attribute__((always_inline))

INLINE __m512i bcast32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// sf/sm: [row 0..3][vector 0..1][16 tokens] running sumf / summf of the rows r0 .. r0 + 3.
INLINE void micro(const wk_gemm_wsb *w, int r0, const wk_gemm_asb *a0, const wk_gemm_asb *a1,
                  const int ntv, const int ng, const bool mins, float *sf, float *sm)
{
    const int gs = 64 / ng; // 4-element steps per group: 8 (groups of 32) or 4 (of 16)
    __m512i sumi[4][2];
    for (int r = 0; r < 4; r++) { sumi[r][0] = sumi[r][1] = _mm512_setzero_si512(); }
    for (int g = 0; g < ng; g++) {
        __m512i acc[4][2];
        for (int r = 0; r < 4; r++) { acc[r][0] = acc[r][1] = _mm512_setzero_si512(); }
        for (int s = 0; s < gs; s++) {
            const int k4 = g * gs + s;
            const __m512i x0 = _mm512_loadu_si512(a0->q[k4]);
            const __m512i x1 = ntv > 1 ? _mm512_loadu_si512(a1->q[k4]) : x0;
            for (int r = 0; r < 4; r++) {
                const __m512i wv = bcast32(w->q[r0 + r] + 4 * k4);
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x0, wv);
                if (ntv > 1) { acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x1, wv); }
            }
        }
        for (int r = 0; r < 4; r++) {
            const __m512i sc = _mm512_set1_epi32(w->sc[r0 + r][g]);
            for (int j = 0; j < ntv; j++) {
                sumi[r][j] = _mm512_add_epi32(sumi[r][j], _mm512_mullo_epi32(acc[r][j], sc));
            }
        }
    }
    const __m512 da[2] = {_mm512_loadu_ps(a0->d), _mm512_loadu_ps(ntv > 1 ? a1->d : a0->d)};
    for (int r = 0; r < 4; r++) {
        const __m512i corr = _mm512_set1_epi32(w->corr[r0 + r]);
        const __m512 d = _mm512_set1_ps(w->d[r0 + r]);
        for (int j = 0; j < ntv; j++) {
            float *f = sf + (r * 2 + j) * 16;
            const __m512 si = _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi[r][j], corr));
            _mm512_storeu_ps(f, _mm512_add_ps(_mm512_loadu_ps(f),
                                              _mm512_mul_ps(_mm512_mul_ps(da[j], d), si)));
        }
        if (mins) {
            const __m512 dm = _mm512_set1_ps(w->dmin[r0 + r]);
            for (int j = 0; j < ntv; j++) {
                const wk_gemm_asb *a = j ? a1 : a0;
                __m512i summ = _mm512_setzero_si512();
                for (int p = 0; p < 8; p++) {
                    summ = _mm512_dpwssd_epi32(summ, _mm512_loadu_si512(a->bs[p]),
                                               _mm512_set1_epi32(w->mn[r0 + r][p]));
                }
                float *m = sm + (r * 2 + j) * 16;
                _mm512_storeu_ps(m, _mm512_add_ps(_mm512_loadu_ps(m),
                                                  _mm512_mul_ps(_mm512_mul_ps(da[j], dm),
                                                                _mm512_cvtepi32_ps(summ))));
            }
        }
    }
}

// Token groups [g0, g1) of the packed activations times the tile's n_rows rows.
INLINE void gemm_kq(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                    int64_t g0, int64_t g1, float *y, int64_t ys, const int ng, const bool mins)
{
    const int64_t nsb = K / WK_QK_K;
    const wk_gemm_wsb *w = tile;
    const wk_gemm_asb *a = act;
    float sf[WK_GEMM_ROWS * 2 * 16] __attribute__((aligned(64)));
    float sm[WK_GEMM_ROWS * 2 * 16] __attribute__((aligned(64)));
    for (int64_t g = g0; g < g1; g += 2) {
        const int ntv = g + 1 < g1 ? 2 : 1;
        memset(sf, 0, sizeof sf);
        memset(sm, 0, sizeof sm);
        for (int64_t b = 0; b < nsb; b++) {
            const wk_gemm_asb *x0 = a + g * nsb + b, *x1 = x0 + nsb;
            for (int r0 = 0; r0 < n_rows; r0 += 4) {
                if (ntv == 2) {
                    micro(w + b, r0, x0, x1, 2, ng, mins, sf + r0 * 32, sm + r0 * 32);
                } else {
                    micro(w + b, r0, x0, x0, 1, ng, mins, sf + r0 * 32, sm + r0 * 32);
                }
            }
        }
        for (int j = 0; j < ntv; j++) {
            for (int l = 0; l < 16; l++) {
                const int64_t t = (g + j) * WK_GEMM_TOKS + l;
                if (t >= T) { break; }
                for (int r = 0; r < n_rows; r++) {
                    y[t * ys + r] = sf[(r * 2 + j) * 16 + l] - sm[(r * 2 + j) * 16 + l];
                }
            }
        }
    }
}

static void gemm_g8m(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                     int64_t g0, int64_t g1, float *y, int64_t ys)
{
    gemm_kq(tile, n_rows, K, act, T, g0, g1, y, ys, 8, true);
}
static void gemm_g16m(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                      int64_t g0, int64_t g1, float *y, int64_t ys)
{
    gemm_kq(tile, n_rows, K, act, T, g0, g1, y, ys, 16, true);
}
static void gemm_g16(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                     int64_t g0, int64_t g1, float *y, int64_t ys)
{
    gemm_kq(tile, n_rows, K, act, T, g0, g1, y, ys, 16, false);
}

// Σ of the 32 unsigned bytes of v.
INLINE int32_t sum_u8_32(__m256i v)
{
    __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return (int32_t)(_mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1));
}

static void pack_q4_k(const void *w, size_t ws, int n_rows, int64_t K, void *tile)
{
    const __m256i m4 = _mm256_set1_epi8(15);
    for (int64_t b = 0; b < K / WK_QK_K; b++) {
        wk_gemm_wsb *dst = (wk_gemm_wsb *)tile + b;
        if (n_rows < WK_GEMM_ROWS) { memset(dst, 0, sizeof *dst); }
        for (int r = 0; r < n_rows; r++) {
            const wk_block_q4_k *x = (const wk_block_q4_k *)((const char *)w + (size_t)r * ws) + b;
            int32_t qsum[8], corr = 0;
            for (int c = 0; c < 4; c++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
                const __m256i lo = _mm256_and_si256(v, m4);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                _mm256_storeu_si256((__m256i *)(dst->q[r] + 64 * c), lo);
                _mm256_storeu_si256((__m256i *)(dst->q[r] + 64 * c + 32), hi);
                qsum[2 * c] = sum_u8_32(lo);
                qsum[2 * c + 1] = sum_u8_32(hi);
            }
            for (int g = 0; g < 8; g++) {
                uint8_t sc, mn;
                wk_scale_min_k4(g, x->scales, &sc, &mn);
                dst->sc[r][g] = sc;
                dst->mn[r][g] = (int32_t)((uint32_t)mn | (uint32_t)mn << 16);
                corr += sc * qsum[g];
            }
            dst->corr[r] = 128 * corr;
            dst->d[r] = _cvtsh_ss(x->d);
            dst->dmin[r] = _cvtsh_ss(x->dmin);
        }
    }
}

static void pack_q6_k(const void *w, size_t ws, int n_rows, int64_t K, void *tile)
{
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    const __m256i m32 = _mm256_set1_epi8(32);
    for (int64_t b = 0; b < K / WK_QK_K; b++) {
        wk_gemm_wsb *dst = (wk_gemm_wsb *)tile + b;
        if (n_rows < WK_GEMM_ROWS) { memset(dst, 0, sizeof *dst); }
        for (int r = 0; r < n_rows; r++) {
            const wk_block_q6_k *x = (const wk_block_q6_k *)((const char *)w + (size_t)r * ws) + b;
            int32_t usum[16]; // Σ (q + 32) per group of 16
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
                    _mm256_storeu_si256((__m256i *)(dst->q[r] + 128 * h + 32 * j),
                                        _mm256_sub_epi8(u[j], m32));
                    __m256i s = _mm256_sad_epu8(u[j], _mm256_setzero_si256());
                    usum[8 * h + 2 * j] =
                        (int32_t)(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1));
                    usum[8 * h + 2 * j + 1] =
                        (int32_t)(_mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3));
                }
            }
            int32_t corr = 0;
            for (int g = 0; g < 16; g++) {
                dst->sc[r][g] = x->scales[g];
                corr += x->scales[g] * (usum[g] - 32 * 16);
            }
            dst->corr[r] = 128 * corr;
            dst->d[r] = _cvtsh_ss(x->d);
            dst->dmin[r] = 0.0f;
        }
    }
}

#define PACK_REF(name, T)                                                                          \
    static void name(const void *w, size_t ws, int n_rows, int64_t K, void *tile)                  \
    {                                                                                              \
        wk_gemm_pack_ref(WICK_DTYPE_##T, w, ws, n_rows, K, tile);                                  \
    }
PACK_REF(pack_q2_k, Q2_K)
PACK_REF(pack_q3_k, Q3_K)
PACK_REF(pack_q5_k, Q5_K)

void wk_gemm_fill_avx512(wk_kernels *k)
{
    k->gemm_pack[WICK_DTYPE_Q2_K] = pack_q2_k;
    k->gemm[WICK_DTYPE_Q2_K] = gemm_g16m;
    k->gemm_pack[WICK_DTYPE_Q3_K] = pack_q3_k;
    k->gemm[WICK_DTYPE_Q3_K] = gemm_g16;
    k->gemm_pack[WICK_DTYPE_Q4_K] = pack_q4_k;
    k->gemm[WICK_DTYPE_Q4_K] = gemm_g8m;
    k->gemm_pack[WICK_DTYPE_Q5_K] = pack_q5_k;
    k->gemm[WICK_DTYPE_Q5_K] = gemm_g8m;
    k->gemm_pack[WICK_DTYPE_Q6_K] = pack_q6_k;
    k->gemm[WICK_DTYPE_Q6_K] = gemm_g16;
}
