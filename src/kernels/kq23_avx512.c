// kq23_avx512.c — the one-token four-row kernels (vec_dot_4row / vec_dot_4il) of Q2_K and Q3_K
// on AVX-512. Q2_K with VBMI puts the group scales into the weight bytes by table lookup
// (vpermb), so vpdpbusd sums a whole block per row into one accumulator, without the vpackssdw
// + vpermw + vpdpwssd steps of the kernel without VBMI (which Q3_K, whose products need more
// than a byte, keeps).
#include <immintrin.h>
#include <stddef.h>

#include "kernels/impl.h"
#include "kernels/x86_4row.h"
#include "kernels/x86_avx512.h"

// The activation block as the four-row kernels read it: its 16 bsums in both 256-bit halves, and
// ax[j] = its quants 32 j .. 32 j + 31 (low half) and 128 + 32 j .. (high half).
INLINE void q23_act(const wk_block_q8_k *ab, __m512i *bsums, __m512i ax[4])
{
    *bsums = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)ab->bsums));
    #pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        ax[j] = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(ab->qs + 32 * j))),
            _mm256_loadu_si256((const __m256i *)(ab->qs + 128 + 32 * j)), 1);
    }
}

// Q2_K / Q3_K: 64 bytes of qs as one vector: byte l of its half h gives element 128h + 32j + l
// at bits 2j (j < 4), so u_j = (qs >> 2j) & 3 (Q3_K: | 4 where hmask bit 4h + j is set, u = q +
// 4) holds vectors j and 4 + j of the block, against the activation vector ax[j] = [a 32j ..
// 32j + 31 | a 128 + 32j ..]. vpdpbusd's i32 lane 4L + k of u_j sums group 2j + L % 2 + 8 (L / 2)
// (4 products of u <= 7 and |a| <= 127: at most 3556, no i16 saturates), vpackssdw pairs j, j + 1
// and vpdpwssd multiplies by the groups' i16 scales (vpermw of the 16 scales). Q3_K's offset
// comes back out as -4 Σ_g sc_g bsum_g, Q2_K's mins as Σ_g mn_g bsum_g: each row's block totals
// are exact, then the single-row kernel's float steps (lane r: row r).
// The four rows' group scales as i16 (Q3_K's 6-bit signed ones decoded as blocks.h says): rows
// 0, 1 in words 0..15, 16..31 of *s01, rows 2, 3 in *s23; Q2_K's mins likewise in *m01, *m23.
// Each row's 12 (Q3_K) or 16 (Q2_K) scale bytes in a 128-bit lane (masked loads: nothing read
// past them).
INLINE void q23_scales_4rows(const uint8_t *const *blk, int three, __m512i *s01, __m512i *s23,
                             __m512i *m01, __m512i *m23)
{
    const size_t off = three ? offsetof(wk_block_q3_k, scales) : offsetof(wk_block_q2_k, scales);
    const __mmask16 lm = three ? 0x0fff : 0xffff;
    __m512i v = _mm512_castsi128_si512(_mm_maskz_loadu_epi8(lm, blk[0] + off));
    v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(lm, blk[1] + off), 1);
    v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(lm, blk[2] + off), 2);
    v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(lm, blk[3] + off), 3);
    const __m512i m15 = _mm512_set1_epi8(15);
    __m512i sc, mn = _mm512_setzero_si512();
    if (three) {
        // byte k < 8: s[k] & 15, k >= 8: s[k - 8] >> 4; | bits 2 (k / 4) of s[8 + k % 4] at 4, 5
        __m512i lo = _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(_mm_setr_epi8(
                                                0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7)));
        lo = _mm512_and_si512(_mm512_mask_blend_epi8((__mmask64)0xff00ff00ff00ff00ull, lo,
                                                     _mm512_srli_epi16(lo, 4)),
                              m15);
        __m512i hi = _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(_mm_setr_epi8(
                                                8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11)));
        hi = _mm512_slli_epi16(_mm512_srlv_epi16(hi, _mm512_broadcast_i32x4(
                                                         _mm_setr_epi16(0, 0, 2, 2, 4, 4, 6, 6))),
                               4);
        sc = _mm512_sub_epi8(_mm512_ternarylogic_epi32(hi, _mm512_set1_epi8(48), lo, TL_AND_OR),
                             _mm512_set1_epi8(32));
        *s01 = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(sc));
        *s23 = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(sc, 1));
    } else {
        sc = _mm512_and_si512(v, m15);
        mn = _mm512_and_si512(_mm512_srli_epi16(v, 4), m15);
        *s01 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(sc));
        *s23 = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(sc, 1));
    }
    *m01 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(mn));
    *m23 = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(mn, 1));
}

INLINE void dot_q23_k_4row(int64_t n, float *s, const void *vw, size_t rs, size_t bs, size_t ws,
                           const void *va, int three)
{
    const wk_block_q8_k *a = va;
    const size_t bb = three ? sizeof(wk_block_q3_k) : sizeof(wk_block_q2_k);
    const size_t qs_off = three ? offsetof(wk_block_q3_k, qs) : offsetof(wk_block_q2_k, qs);
    const size_t d_off = three ? offsetof(wk_block_q3_k, d) : offsetof(wk_block_q2_k, d);
    const __m512i m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(4);
    // word k of 128-bit lane L: the group of packs(u_j, u_j+1) there, j = 0 (idx0) or 2 (idx1),
    // for the row in words 0..15 of the scale vector (+ 16: the row in words 16..31)
    const __m512i idx0 = _mm512_set_epi16(11, 11, 11, 11, 9, 9, 9, 9, 10, 10, 10, 10, 8, 8, 8, 8,
                                          3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0);
    const __m512i four = _mm512_set1_epi16(4), sixteen = _mm512_set1_epi16(16);
    const __m512i zero = _mm512_setzero_si512();
    __m128 acc = _mm_setzero_ps(), accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const wk_block_q8_k *ab = a + i;
        const uint8_t *blk[4];
        blocks_4row(vw, rs, bs, i, ws, bb, blk);
        __m512i bsums, ax[4];
        q23_act(ab, &bsums, ax);
        __m512i scp[2], mnp[2];
        q23_scales_4rows(blk, three, &scp[0], &scp[1], &mnp[0], &mnp[1]);
        __m512i sumi[4], pm[4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            const __m512i sc = scp[r / 2];
            const __mmask16 half = r % 2 ? 0xff00 : 0x00ff; // this row's dwords of a pair's madd
            __m512i t = zero, hx = zero;
            if (three) { // u = q + 4: start from -4 Σ_g sc_g bsum_g
                const __m512i corr = _mm512_slli_epi32(_mm512_madd_epi16(sc, bsums), 2);
                t = _mm512_maskz_sub_epi32(half, zero, corr);
                // [hm | hm >> 4] << 2: bit j + 2 of each byte is hmask bit j (bit 4 + j above)
                const __m256i hm = _mm256_loadu_si256((const __m256i *)blk[r]);
                hx = _mm512_slli_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(hm),
                                                          _mm256_srli_epi16(hm, 4), 1), 2);
                pm[r] = zero;
            } else {
                pm[r] = _mm512_maskz_mov_epi32(half, _mm512_madd_epi16(mnp[r / 2], bsums));
            }
            const __m512i q = loadu512(blk[r] + qs_off);
            __m512i p[4];
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const __m512i qj = _mm512_srli_epi16(q, 2 * j);
                const __m512i u = three ? _mm512_ternarylogic_epi32(
                                              qj, m3, _mm512_and_si512(_mm512_srli_epi16(hx, j), m4),
                                              TL_AND_OR)
                                        : _mm512_and_si512(qj, m3);
                p[j] = _mm512_dpbusd_epi32(zero, u, ax[j]);
            }
            const __m512i i0 = r % 2 ? _mm512_add_epi16(idx0, sixteen) : idx0;
            t = _mm512_dpwssd_epi32(t, _mm512_packs_epi32(p[0], p[1]),
                                    _mm512_permutexvar_epi16(i0, sc));
            sumi[r] = _mm512_dpwssd_epi32(t, _mm512_packs_epi32(p[2], p[3]),
                                          _mm512_permutexvar_epi16(_mm512_add_epi16(i0, four), sc));
        }
        const __m128 d4 = h2f_4rows(blk, d_off);
        acc = k4row_add(acc, ab->d, d4, hsum4_epi32_512(sumi[0], sumi[1], sumi[2], sumi[3]));
        if (!three) {
            const __m128 dmin4 = h2f_4rows(blk, offsetof(wk_block_q2_k, dmin));
            accm = k4row_add(accm, ab->d, dmin4, hsum4_epi32_512(pm[0], pm[1], pm[2], pm[3]));
        }
    }
    _mm_storeu_ps(s, _mm_sub_ps(acc, accm));
}

WK_4ROW_ENTRIES(q2_k, avx512, dot_q23_k_4row, wk_block_q2_k, 0)
WK_4ROW_ENTRIES(q3_k, avx512, dot_q23_k_4row, wk_block_q3_k, 1)

#define VBMI __attribute__((target("avx512vbmi")))

// The 64 bytes of qs as one vector (x86_avx512.c): in 128-bit lane L of field j (bits 2j, 2j + 1
// of each byte), every element belongs to group g = 8 (L / 2) + 2 j + L % 2, against the
// activation vector ax[j]. Each row's block gets a 64-byte table T with T[x] = u s_g for every
// field value u (0..3) of each (j, L), at index
//   j = 0: 16 L + u       (q & 3 | 16 L)            j = 2: 16 u + c2[L]   (q & 48 | c2[L])
//   j = 1: 16 L + 4 u     (q & 12 | 16 L)           j = 3: 16 u + c3[L]   (q >> 2 & 48 | c3[L])
// with c2 = {5, 6, 7, 9}, c3 = {10, 11, 13, 14}: the u != 0 entries are 48 distinct indices; the
// u = 0 ones, where two fields meet, all hold 0. vpermb reads bits 0..5 of each index byte, so
// one vpternlogd builds a field's indices and one vpermb gives its bytes u s_g (<= 45) for
// vpdpbusd. A row's table is built from its scales s (row r in 128-bit lane r of s1): byte x of
// tab_g is g + 16 r where T[x] is u s_g with u != 0 (K123; row 0's values here), then doubled
// where u >= 2 (K23) and added s_g where u is odd (K13).
static const uint8_t tab_g[64] = {
    0, 0, 0, 0, 2,  0, 0, 0,  2,  0,  0, 0, 2,  0,  0,  0, //
    0, 1, 1, 1, 3,  4, 5, 12, 3,  13, 6, 7, 3,  14, 15, 0, //
    0, 8, 8, 8, 10, 4, 5, 12, 10, 13, 6, 7, 10, 14, 15, 0, //
    0, 9, 9, 9, 11, 4, 5, 12, 11, 13, 6, 7, 11, 14, 15, 0, //
};
#define K123 0x7ffe7ffe7ffe111eull
#define K23 0x7fec7fec110c110cull
#define K13 0x7efa101a7efa101aull

VBMI static void dot_q2_k_4row_vbmi(int64_t n, float *s, const void *vw, size_t rs, size_t bs,
                                    size_t ws, const void *va)
{
    const wk_block_q8_k *a = va;
    const __m512i m3 = _mm512_set1_epi8(3), m12 = _mm512_set1_epi8(12);
    const __m512i m48 = _mm512_set1_epi8(48), m15 = _mm512_set1_epi8(15);
    const __m512i c01 = _mm512_setr_epi32(0, 0, 0, 0, 0x10101010, 0x10101010, 0x10101010,
                                          0x10101010, 0x20202020, 0x20202020, 0x20202020,
                                          0x20202020, 0x30303030, 0x30303030, 0x30303030,
                                          0x30303030);
    const __m512i c2 = _mm512_setr_epi32(0x05050505, 0x05050505, 0x05050505, 0x05050505,
                                         0x06060606, 0x06060606, 0x06060606, 0x06060606,
                                         0x07070707, 0x07070707, 0x07070707, 0x07070707,
                                         0x09090909, 0x09090909, 0x09090909, 0x09090909);
    const __m512i c3 = _mm512_setr_epi32(0x0a0a0a0a, 0x0a0a0a0a, 0x0a0a0a0a, 0x0a0a0a0a,
                                         0x0b0b0b0b, 0x0b0b0b0b, 0x0b0b0b0b, 0x0b0b0b0b,
                                         0x0d0d0d0d, 0x0d0d0d0d, 0x0d0d0d0d, 0x0d0d0d0d,
                                         0x0e0e0e0e, 0x0e0e0e0e, 0x0e0e0e0e, 0x0e0e0e0e);
    __m512i tab[4];
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        tab[r] = _mm512_add_epi8(loadu512(tab_g), _mm512_set1_epi8((char)(16 * r)));
    }
    // byte 2 w (w = 8 r + k, 128-bit lane r) of mi0: row r's scale byte 8 (r % 2) + k; of mi1:
    // its byte 8 (1 - r % 2) + k
    __m512i mi0, mi1;
    {
        uint8_t b0[64] = {0}, b1[64] = {0};
        for (int w = 0; w < 32; w++) {
            const int r = w / 8, k = w % 8;
            b0[2 * w] = (uint8_t)(16 * r + 8 * (r % 2) + k);
            b1[2 * w] = (uint8_t)(16 * r + 8 * (1 - r % 2) + k);
        }
        mi0 = loadu512(b0);
        mi1 = loadu512(b1);
    }
    const __mmask64 EVEN = 0x5555555555555555ull;
    const __m512i lane0 = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i zero = _mm512_setzero_si512();
    __m128 acc = _mm_setzero_ps(), accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const wk_block_q8_k *ab = a + i;
        const uint8_t *blk[4];
        blocks_4row(vw, rs, bs, i, ws, sizeof(wk_block_q2_k), blk);
        // bsums of groups 0..7 in lanes 0 and 2, 8..15 in 1 and 3; bsums1 the other way round
        // (vinserti / vshufi; masked broadcasts from memory instead were 3 % slower on Zen 4)
        __m512i bsums, ax[4];
        q23_act(ab, &bsums, ax);
        const __m512i bsums1 = _mm512_shuffle_i32x4(bsums, bsums, _MM_SHUFFLE(2, 3, 0, 1));
        // row r's 16 scale bytes in 128-bit lane r
        const size_t so = offsetof(wk_block_q2_k, scales);
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(blk[0] + so)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(blk[1] + so)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(blk[2] + so)), 2);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(blk[3] + so)), 3);
        const __m512i s1 = _mm512_and_si512(v, m15);
        // mins: row r's scale bytes 8 (r % 2) .. + 7 (mw0) and the other 8 (mw1) as words in
        // lane r, >> 4, against the bsums of those groups (bsums, bsums1): lane r of pm holds
        // row r's products, summed within the lane, then gathered to lane r of pm4
        const __m512i mw0 = _mm512_srli_epi16(_mm512_maskz_permutexvar_epi8(EVEN, mi0, v), 4);
        const __m512i mw1 = _mm512_srli_epi16(_mm512_maskz_permutexvar_epi8(EVEN, mi1, v), 4);
        __m512i pm = _mm512_add_epi32(_mm512_madd_epi16(mw0, bsums),
                                      _mm512_madd_epi16(mw1, bsums1));
        pm = _mm512_add_epi32(pm, _mm512_shuffle_epi32(pm, _MM_PERM_BADC));
        pm = _mm512_add_epi32(pm, _mm512_shuffle_epi32(pm, _MM_PERM_CDAB));
        const __m128i pm4 = _mm512_castsi512_si128(_mm512_permutexvar_epi32(lane0, pm));
        __m512i sumi[4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            // s_g at the entries, then doubled where u is 2 or 3, + s_g where u is 1 or 3
            const __m512i x = _mm512_maskz_permutexvar_epi8(K123, tab[r], s1);
            __m512i t = _mm512_maskz_add_epi8(K23, x, x);
            t = _mm512_mask_add_epi8(t, K13, t, x);
            const __m512i q = loadu512(blk[r] + offsetof(wk_block_q2_k, qs));
            const __m512i x0 = _mm512_ternarylogic_epi32(q, m3, c01, TL_AND_OR);
            const __m512i x1 = _mm512_ternarylogic_epi32(q, m12, c01, TL_AND_OR);
            const __m512i x2 = _mm512_ternarylogic_epi32(q, m48, c2, TL_AND_OR);
            const __m512i x3 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(q, 2), m48, c3,
                                                         TL_AND_OR);
            __m512i y = _mm512_dpbusd_epi32(zero, _mm512_permutexvar_epi8(x0, t), ax[0]);
            y = _mm512_dpbusd_epi32(y, _mm512_permutexvar_epi8(x1, t), ax[1]);
            y = _mm512_dpbusd_epi32(y, _mm512_permutexvar_epi8(x2, t), ax[2]);
            sumi[r] = _mm512_dpbusd_epi32(y, _mm512_permutexvar_epi8(x3, t), ax[3]);
        }
        const __m128 d4 = h2f_4rows(blk, offsetof(wk_block_q2_k, d));
        acc = k4row_add(acc, ab->d, d4, hsum4_epi32_512(sumi[0], sumi[1], sumi[2], sumi[3]));
        const __m128 dmin4 = h2f_4rows(blk, offsetof(wk_block_q2_k, dmin));
        accm = k4row_add(accm, ab->d, dmin4, pm4);
    }
    _mm_storeu_ps(s, _mm_sub_ps(acc, accm));
}

VBMI static void dot4r_q2_k_vbmi(int64_t n, float *s, const void *w, size_t ws, const void *a)
{
    dot_q2_k_4row_vbmi(n, s, w, ws, sizeof(wk_block_q2_k), ws, a);
}

VBMI static void dot4il_q2_k_vbmi(int64_t n, float *s, const void *w, size_t ws, const void *a)
{
    dot_q2_k_4row_vbmi(n, s, w, sizeof(wk_block_q2_k), 4 * sizeof(wk_block_q2_k), ws, a);
}

void wk_kernels_fill_avx512_q23(wk_kernels *k, bool vbmi)
{
    k->vec_dot_4row[WICK_DTYPE_Q2_K] = vbmi ? dot4r_q2_k_vbmi : dot4r_q2_k_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q2_K] = vbmi ? dot4il_q2_k_vbmi : dot4il_q2_k_avx512;
    k->vec_dot_4row[WICK_DTYPE_Q3_K] = dot4r_q3_k_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q3_K] = dot4il_q3_k_avx512;
}
