// legacy_avx512.c — vec_dot_4il of the legacy formats Q4_0, Q5_0, Q4_1 and Q5_1 on AVX-512
// (F, BW, VL, DQ, VNNI): four weight rows interleaved by four (block i of row r at w[4 i + r])
// against one activation row, two rows per 512-bit vector.
//
// Each row's block product is that path's vec_dot's 8 i32 lanes by another route, and the float
// steps after it are vec_dot's own, lane for lane, so the result is bit for bit vec_dot's:
// - the weight bytes are taken unsigned (u = the nibble, + 16 where the element's bit of qh is
//   set for Q5_0 / Q5_1) and go through vpdpbusd against the activation bytes. For Q4_0 / Q5_0
//   (q = u - 8, u - 16) the accumulator starts at -off Σa per 4-byte lane (computed once per
//   activation block for the four rows), which makes the lane Σ q a exactly; for Q4_1 / Q5_1
//   (q = u) it starts at 0, as the AVX2 vec_dot's vpmaddubsw + vpmaddwd (no saturation there:
//   |pair| <= 2 * 31 * 127).
// - then, per row, cvt, times (d_w * d_a) (a float product), fma into the row's one 8-lane
//   chain, hsum_ps at the end. A 512-bit vector holds rows r (lanes 0-7) and r + 1 (lanes 8-15):
//   one vpdpbusd, cvt and fma for the two, and their two (d_w * d_a) side by side. The min term
//   of Q4_1 / Q5_1 (Σ m_w s_a) stays vec_dot's scalar float chain, one per row.
//
// Shape of a group (the four rows' blocks i, 4B bytes, B the block size): g0 its first 64 bytes,
// g1 its last 64 (they overlap; 4B is 72..96). Rows 0, 1's nibbles are in g0, rows 2, 3's in g1,
// and all their offsets are even: one vpermw places a pair's 16 + 16 bytes as [qs_r | qs_r |
// qs_r+1 | qs_r+1] (128-bit quarters), then the low nibbles of quarters 0, 2 and the high ones
// of 1, 3 are the elements 0-15 and 16-31 of each row, against the activation's 32 bytes
// broadcast to both halves. The nibbles by a 16-bit shift of quarters 1, 3 and a mask, or, where
// the CPU has GFNI, by one vgf2p8affineqb (each 64-bit lane a bit matrix: output bits 0-3 from
// input bits 0-3 or 4-7). The four d (and m) come from one vpermt2w of g0, g1.
#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "kernels/impl.h"
#include "kernels/x86_avx2.h"
#include "kernels/x86_avx512.h"

// The low nibbles of quarters 0, 2 of x, the high ones of quarters 1, 3.
INLINE __m512i nib_shift(__m512i x)
{
    return _mm512_and_si512(_mm512_mask_srli_epi16(x, (__mmask32)0xff00ff00u, x, 4),
                            _mm512_set1_epi8(15));
}

__attribute__((target("gfni"))) INLINE __m512i nib_gfni(__m512i x)
{
    const long long lo = 0x0102040800000000ll, hi = 0x1020408000000000ll;
    return _mm512_gf2p8affine_epi64_epi8(x, _mm512_setr_epi64(lo, lo, hi, hi, lo, lo, hi, hi), 0);
}

// vpermw index placing, from one 64-byte vector, the 16 bytes at byte offsets o0 and o1 (even)
// as [o0 | o0 | o1 | o1].
INLINE __m512i pair_idx(int o0, int o1)
{
    uint16_t w[32];
    for (int k = 0; k < 8; k++) {
        w[k] = w[8 + k] = (uint16_t)(o0 / 2 + k);
        w[16 + k] = w[24 + k] = (uint16_t)(o1 / 2 + k);
    }
    return _mm512_loadu_si512(w);
}

// The two rows' qh bits (4 bytes each at p0, p1) as the 64-bit mask of their bytes.
INLINE __mmask64 qh_pair(const uint8_t *p0, const uint8_t *p1)
{
    uint32_t h0, h1;
    memcpy(&h0, p0, 4);
    memcpy(&h1, p1, 4);
    return _cvtu64_mask64((uint64_t)h1 << 32 | h0);
}

// The kernel for format `type`, NIB splitting the nibbles, compiled with ATTR (GFNI's target).
#define LEGACY_4IL(fname, ATTR, NIB)                                                               \
    ATTR INLINE void fname(int64_t n, float *s, const void *vw, size_t ws, const void *va,         \
                           int type)                                                               \
    {                                                                                              \
        const bool q5 = type == WICK_DTYPE_Q5_0 || type == WICK_DTYPE_Q5_1;                        \
        const bool mn = type == WICK_DTYPE_Q4_1 || type == WICK_DTYPE_Q5_1;                        \
        const int bb = (int)(type == WICK_DTYPE_Q4_0   ? sizeof(wk_block_q4_0)                     \
                             : type == WICK_DTYPE_Q5_0 ? sizeof(wk_block_q5_0)                     \
                             : type == WICK_DTYPE_Q4_1 ? sizeof(wk_block_q4_1)                     \
                                                       : sizeof(wk_block_q5_1));                   \
        /* the activation block (Q8_0 or Q8_1), the offsets of qh and qs in a weight block */      \
        const size_t ab = mn ? sizeof(wk_block_q8_1) : sizeof(wk_block_q8_0);                      \
        const int ho = mn ? 4 : 2, qo = (mn ? 4 : 2) + (q5 ? 4 : 0), o1 = 4 * bb - 64;             \
        const __m512i ix0 = pair_idx(qo, bb + qo);                                                 \
        const __m512i ix1 = pair_idx(2 * bb + qo - o1, 3 * bb + qo - o1);                          \
        uint16_t dw[32] = {0};                                                                     \
        for (int r = 0; r < 4; r++) { /* words 0-3: the d, 4-7: the m (g1's words from 32) */      \
            const int od = r * bb, om = r * bb + 2;                                                \
            dw[r] = (uint16_t)(od < 64 ? od / 2 : 32 + (od - o1) / 2);                             \
            dw[4 + r] = (uint16_t)(om < 64 ? om / 2 : 32 + (om - o1) / 2);                         \
        }                                                                                          \
        const __m512i ixd = _mm512_loadu_si512(dw);                                                \
        const bool d1src = 3 * bb + 2 < 64; /* all d, m in g0 */                                   \
        const __m512i ip0 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(1), 1);   \
        const __m512i ip1 = _mm512_add_epi32(ip0, _mm512_set1_epi32(2));                           \
        const __m512i off = _mm512_set1_epi8((char)(q5 ? 16 : 8)), b16 = _mm512_set1_epi8(16);     \
        const uint8_t *w = vw, *a = va;                                                            \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                             \
        float summ[4] = {0, 0, 0, 0};                                                              \
        for (int64_t i = 0; i < n / WK_QK; i++) {                                                  \
            const uint8_t *g = w + (size_t)i * 4 * (size_t)bb, *ai = a + (size_t)i * ab;           \
            for (int o = 0; o < 4 * bb; o += 64) {                                                 \
                _mm_prefetch((const char *)g + 4 * ws + (size_t)o, _MM_HINT_T1);                   \
            }                                                                                      \
            const __m512i aq = _mm512_broadcast_i64x4(                                             \
                _mm256_loadu_si256((const __m256i *)(ai + (mn ? 4 : 2))));                         \
            __m512i init = _mm512_setzero_si512();                                                 \
            if (!mn) { init = _mm512_sub_epi32(init, _mm512_dpbusd_epi32(init, off, aq)); }        \
            uint16_t dah;                                                                          \
            memcpy(&dah, ai, 2);                                                                   \
            const __m512i g0 = _mm512_loadu_si512(g), g1 = _mm512_loadu_si512(g + o1);             \
            /* one source where it holds them all (Q4_0, Q4_1): +7 % hot against two */           \
            const __m512i dmh = d1src ? _mm512_permutexvar_epi16(ixd, g0)                          \
                                      : _mm512_permutex2var_epi16(g0, ixd, g1);                    \
            const __m256 dm = _mm256_cvtph_ps(_mm512_castsi512_si128(dmh));                        \
            const __m512 d4 = _mm512_castps128_ps512(_mm_mul_ps(                                   \
                _mm256_castps256_ps128(dm), _mm_cvtph_ps(_mm_set1_epi16((short)dah))));            \
            __m512i u0 = NIB(_mm512_permutexvar_epi16(ix0, g0));                                   \
            __m512i u1 = NIB(_mm512_permutexvar_epi16(ix1, g1));                                   \
            if (q5) { /* + 16 where the element's bit of qh is set */                              \
                const __mmask64 h0 = qh_pair(g + ho, g + bb + ho);                                 \
                const __mmask64 h1 = qh_pair(g + 2 * bb + ho, g + 3 * bb + ho);                    \
                u0 = _mm512_mask_add_epi8(u0, h0, u0, b16);                                        \
                u1 = _mm512_mask_add_epi8(u1, h1, u1, b16);                                        \
            }                                                                                      \
            const __m512 p0 = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(init, u0, aq));               \
            const __m512 p1 = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(init, u1, aq));               \
            acc0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(ip0, d4), p0, acc0);                      \
            acc1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(ip1, d4), p1, acc1);                      \
            if (mn) { /* vec_dot's min chain, one scalar float chain per row */                    \
                uint16_t sah;                                                                      \
                memcpy(&sah, ai + 2, 2);                                                           \
                const float sa = _cvtsh_ss(sah);                                                   \
                float mw[8];                                                                       \
                _mm256_storeu_ps(mw, dm);                                                          \
                for (int r = 0; r < 4; r++) { summ[r] += mw[4 + r] * sa; }                         \
            }                                                                                      \
        }                                                                                          \
        s[0] = hsum_ps(_mm512_castps512_ps256(acc0));                                              \
        s[1] = hsum_ps(_mm512_extractf32x8_ps(acc0, 1));                                           \
        s[2] = hsum_ps(_mm512_castps512_ps256(acc1));                                              \
        s[3] = hsum_ps(_mm512_extractf32x8_ps(acc1, 1));                                           \
        for (int r = 0; mn && r < 4; r++) { s[r] += summ[r]; }                                     \
    }

LEGACY_4IL(legacy_4il_shift, , nib_shift)
LEGACY_4IL(legacy_4il_gfni, __attribute__((target("gfni"))), nib_gfni)

#define WRAP(tname, TYPE)                                                                          \
    static void dot4il_##tname##_avx512(int64_t n, float *s, const void *w, size_t ws,             \
                                        const void *a)                                             \
    {                                                                                              \
        legacy_4il_shift(n, s, w, ws, a, TYPE);                                                    \
    }                                                                                              \
    __attribute__((target("gfni"))) static void dot4il_##tname##_gfni(                             \
        int64_t n, float *s, const void *w, size_t ws, const void *a)                              \
    {                                                                                              \
        legacy_4il_gfni(n, s, w, ws, a, TYPE);                                                     \
    }

WRAP(q4_0, WICK_DTYPE_Q4_0)
WRAP(q5_0, WICK_DTYPE_Q5_0)
WRAP(q4_1, WICK_DTYPE_Q4_1)
WRAP(q5_1, WICK_DTYPE_Q5_1)

void wk_kernels_fill_avx512_legacy(wk_kernels *k, bool gfni)
{
    k->vec_dot_4il[WICK_DTYPE_Q4_0] = gfni ? dot4il_q4_0_gfni : dot4il_q4_0_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q5_0] = gfni ? dot4il_q5_0_gfni : dot4il_q5_0_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q4_1] = gfni ? dot4il_q4_1_gfni : dot4il_q4_1_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q5_1] = gfni ? dot4il_q5_1_gfni : dot4il_q5_1_avx512;
}
