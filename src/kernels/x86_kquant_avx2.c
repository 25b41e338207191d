// x86_kquant_avx2.c — AVX2 kernels of the K formats (Q2_K .. Q6_K) and of their activation
// format Q8_K: dequantization, vec_dot / vec_dot_4act (one weight row, one to four activation
// rows), vec_dot_4row (four weight rows, one activation row), the Q8_K quantizer. Every one gives
// the reference's bits (ref.c): see x86_avx2.c for the scheme. Compiled with the AVX2 flags; its
// entries join the table in wk_kernels_fill_avx2.
#include <immintrin.h>
#include <stddef.h>

#include "kernels/impl.h"
#include "kernels/x86_4row.h"
#include "kernels/x86_avx2.h"

// --- unpacking and dequantization ---------------------------------------------------------------
//
// Dequantization: each unpacker yields the block as 8 vectors of 32 unsigned quant bytes u[v]
// (elements 32v .. 32v + 31, in order), the integer scale of each 16-element group sc[g] (a
// 32-element group's scale repeated twice), the offset subtracted from u to get q, and the mins
// per 16-element group. The dot products further down stream the same bits without the struct.

// Q4_K/Q5_K 12-byte scales -> 8 scales (low 8 bytes of *sc) and 8 mins (*mn), as u8.
INLINE void k4_scales(const uint8_t *s12, uint64_t *sc, uint64_t *mn)
{
    uint32_t u[3];
    memcpy(u, s12, 12);
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    uint32_t sc_lo = u[0] & m6, mn_lo = u[1] & m6;
    uint32_t sc_hi = (u[2] & m4) | ((u[0] >> 6) & m2) << 4;
    uint32_t mn_hi = ((u[2] >> 4) & m4) | ((u[1] >> 6) & m2) << 4;
    *sc = (uint64_t)sc_hi << 32 | sc_lo;
    *mn = (uint64_t)mn_hi << 32 | mn_lo;
}

typedef struct kblock {
    __m256i u[8];
    int sc[16];
    int mn[16]; // 0 where the format has no min
    int off;    // q = u - off
    float d, dmin;
} kblock;

INLINE void unpack_q2_k(const wk_block_q2_k *b, kblock *k)
{
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; h++) {
        __m256i q = loadu256(b->qs + 32 * h);
        k->u[4 * h + 0] = _mm256_and_si256(q, m3);
        k->u[4 * h + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 2), m3);
        k->u[4 * h + 2] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m3);
        k->u[4 * h + 3] = _mm256_and_si256(_mm256_srli_epi16(q, 6), m3);
    }
    for (int g = 0; g < 16; g++) {
        k->sc[g] = b->scales[g] & 15;
        k->mn[g] = b->scales[g] >> 4;
    }
    k->off = 0;
    k->d = h2f(b->d);
    k->dmin = h2f(b->dmin);
}

INLINE void unpack_q3_k(const wk_block_q3_k *b, kblock *k)
{
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    const __m256i hm = loadu256(b->hmask);
    for (int h = 0; h < 2; h++) {
        __m256i q = loadu256(b->qs + 32 * h);
        for (int j = 0; j < 4; j++) {
            __m256i lo = shr_bytes(q, 2 * j, m3);
            // high bit set: q = lo; clear: q = lo - 4. u = q + 4 = lo + 4 * bit.
            __m256i hb = _mm256_and_si256(_mm256_srl_epi16(hm, _mm_cvtsi32_si128(4 * h + j)),
                                          _mm256_set1_epi8(1));
            k->u[4 * h + j] = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 2), m4));
        }
    }
    int8_t s[16];
    wk_q3_k_scales(b->scales, s);
    for (int g = 0; g < 16; g++) {
        k->sc[g] = s[g];
        k->mn[g] = 0;
    }
    k->off = 4;
    k->d = h2f(b->d);
    k->dmin = 0.0f;
}

INLINE void unpack_q4_k(const wk_block_q4_k *b, kblock *k)
{
    const __m256i m15 = _mm256_set1_epi8(15);
    for (int c = 0; c < 4; c++) {
        __m256i q = loadu256(b->qs + 32 * c);
        k->u[2 * c] = _mm256_and_si256(q, m15);
        k->u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m15);
    }
    uint64_t sc8, mn8;
    k4_scales(b->scales, &sc8, &mn8);
    for (int g = 0; g < 8; g++) {
        k->sc[2 * g] = k->sc[2 * g + 1] = (int)((sc8 >> (8 * g)) & 0xff);
        k->mn[2 * g] = k->mn[2 * g + 1] = (int)((mn8 >> (8 * g)) & 0xff);
    }
    k->off = 0;
    k->d = h2f(b->d);
    k->dmin = h2f(b->dmin);
}

INLINE void unpack_q5_k(const wk_block_q5_k *b, kblock *k)
{
    const __m256i m15 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
    const __m256i qh = loadu256(b->qh);
    for (int c = 0; c < 4; c++) {
        __m256i q = loadu256(b->qs + 32 * c);
        // bit g of qh[l] -> 16: shift it to bit 4 (left by 4 - g, or right by g - 4).
        __m256i h0 = 2 * c <= 4 ? _mm256_sll_epi16(qh, _mm_cvtsi32_si128(4 - 2 * c))
                                : _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c - 4));
        __m256i h1 = 2 * c + 1 <= 4 ? _mm256_sll_epi16(qh, _mm_cvtsi32_si128(3 - 2 * c))
                                    : _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c - 3));
        k->u[2 * c] = _mm256_or_si256(_mm256_and_si256(q, m15), _mm256_and_si256(h0, m16));
        k->u[2 * c + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m15),
                                          _mm256_and_si256(h1, m16));
    }
    uint64_t sc8, mn8;
    k4_scales(b->scales, &sc8, &mn8);
    for (int g = 0; g < 8; g++) {
        k->sc[2 * g] = k->sc[2 * g + 1] = (int)((sc8 >> (8 * g)) & 0xff);
        k->mn[2 * g] = k->mn[2 * g + 1] = (int)((mn8 >> (8 * g)) & 0xff);
    }
    k->off = 0;
    k->d = h2f(b->d);
    k->dmin = h2f(b->dmin);
}

INLINE void unpack_q6_k(const wk_block_q6_k *b, kblock *k)
{
    const __m256i m15 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; h++) {
        __m256i l0 = loadu256(b->ql + 64 * h), l1 = loadu256(b->ql + 64 * h + 32);
        __m256i qh = loadu256(b->qh + 32 * h);
        __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4);
        __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4);
        __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4);
        __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4);
        k->u[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m15), h0);
        k->u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m15), h1);
        k->u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m15), h2);
        k->u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m15), h3);
    }
    for (int g = 0; g < 16; g++) {
        k->sc[g] = b->scales[g];
        k->mn[g] = 0;
    }
    k->off = 32;
    k->d = h2f(b->d);
    k->dmin = 0.0f;
}

INLINE void deq_kblock(const kblock *k, float *y)
{
    const __m256i off = _mm256_set1_epi8((char)k->off);
    for (int v = 0; v < 8; v++) {
        __m256i q = _mm256_sub_epi8(k->u[v], off);
        store_scaled(y + 32 * v, q, k->d * (float)k->sc[2 * v], k->dmin * (float)k->mn[2 * v],
                     k->d * (float)k->sc[2 * v + 1], k->dmin * (float)k->mn[2 * v + 1]);
    }
}

#define KFORMAT(tname, BT)                                                                         \
    static void deq_##tname##_avx2(const void *vx, float *y, int64_t n)                            \
    {                                                                                              \
        const BT *b = vx;                                                                          \
        for (int64_t i = 0; i < n / WK_QK_K; i++) {                                                \
            kblock k;                                                                              \
            unpack_##tname(&b[i], &k);                                                             \
            deq_kblock(&k, y + i * WK_QK_K);                                                       \
        }                                                                                          \
    }

KFORMAT(q2_k, wk_block_q2_k)
KFORMAT(q3_k, wk_block_q3_k)
KFORMAT(q4_k, wk_block_q4_k)
KFORMAT(q5_k, wk_block_q5_k)
KFORMAT(q6_k, wk_block_q6_k)

// --- streamed dot products of the K formats ------------------------------------------------------
//
// Quants are unpacked 32 bytes at a time straight into vpmaddubsw, scales are broadcast from a
// register with byte shuffles, the min and offset terms are vector products of the activation's
// bsums; each block ends with its exact integer totals going through the reference's float
// operations (kblock_epilogue).

// Block epilogue of the K dot products for na (1 or 4) activation rows: the exact integer totals
// of sumi[j] (and of pm[j], the min products) go through the reference's float operations,
//   acc[j] += (d_a[j] * d) * (float)Σ sumi[j];   accm[j] += (d_a[j] * dmin) * (float)Σ pm[j]
// with row j in lane j of acc / accm (lane-wise SSE arithmetic rounds exactly like scalar code).
typedef struct kacc {
    __m128 acc, accm;
} kacc;

// [Σa, Σb, Σc, Σd] of four i32 vectors.
INLINE __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i ab = _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
    __m256i cd = _mm256_add_epi32(_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d));
    __m256i x = _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
    return _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
}

// [Σa, Σb, Σc, Σd] of four 128-bit i32 vectors.
INLINE __m128i hsum4_epi32_128(__m128i a, __m128i b, __m128i c, __m128i d)
{
    __m128i ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
    __m128i cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
    return _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd));
}

// [Σa, Σb, ., .] of two i32 vectors.
INLINE __m128i hsum2_epi32(__m256i a, __m256i b)
{
    __m256i ab = _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(ab), _mm256_extracti128_si256(ab, 1));
    return _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
}

INLINE void kblock_epilogue(kacc *k, int na, const __m256i *sumi, const __m256i *pm, int has_min,
                            const float *ad, float d, float dmin)
{
    if (na == 4) {
        const __m128 adv = _mm_setr_ps(ad[0], ad[1], ad[2], ad[3]); // not through memory
        __m128 f = _mm_cvtepi32_ps(hsum4_epi32(sumi[0], sumi[1], sumi[2], sumi[3]));
        __m128 sc = _mm_mul_ps(adv, _mm_set1_ps(d)); // lane j: d_a[j] * d
        k->acc = _mm_add_ps(k->acc, _mm_mul_ps(sc, f));
        if (has_min) {
            __m128 fm = _mm_cvtepi32_ps(hsum4_epi32(pm[0], pm[1], pm[2], pm[3]));
            __m128 scm = _mm_mul_ps(adv, _mm_set1_ps(dmin));
            k->accm = _mm_add_ps(k->accm, _mm_mul_ps(scm, fm));
        }
    } else {
        __m128 f = _mm_cvtepi32_ps(hsum2_epi32(sumi[0], has_min ? pm[0] : _mm256_setzero_si256()));
        __m128 p = _mm_mul_ps(_mm_setr_ps(ad[0] * d, ad[0] * dmin, 0.0f, 0.0f), f);
        k->acc = _mm_add_ss(k->acc, p);
        if (has_min) { k->accm = _mm_add_ss(k->accm, _mm_shuffle_ps(p, p, 1)); }
    }
}

INLINE void kacc_store(const kacc *k, float *s, int na)
{
    float a[4], m[4];
    _mm_storeu_ps(a, k->acc);
    _mm_storeu_ps(m, k->accm);
    for (int j = 0; j < na; j++) { s[j] = a[j] - m[j]; }
}

// Broadcast i16 lane g (< 8) of a vector whose two 128-bit halves are equal.
INLINE __m256i bcast16(__m256i v, int g)
{
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(0x0100 + 0x0202 * g)));
}

// Single-row K dot products prefetch (into L2) the bytes 4 KiB ahead of each block: the rest of a
// long row, or the next rows of a GEMV. Cold Q4_K GEMV 11 -> 13.4 GB/s, Q6_K 12.3 -> 15.3 (the
// multi-row kernels prefetch their own way, prefetch_next4); about 3 % slower on a cached weight.
INLINE void prefetch_ahead(const uint8_t *blk, size_t bb)
{
    for (size_t o = 0; o < bb; o += 64) { _mm_prefetch((const char *)blk + 4096 + o, _MM_HINT_T1); }
}

// One 64-element chunk c of a Q4_K/Q5_K block (scales 2c, 2c + 1) against na activation rows.
INLINE void q45_chunk(int c, const uint8_t *qs, __m256i *qh, __m256i scv, int five, int na,
                      const void *va, size_t st, int64_t i, __m256i *sumi)
{
    const __m256i m15 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
    __m256i q = loadu256(qs + 32 * c);
    __m256i lo = _mm256_and_si256(q, m15);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m15);
    if (five) {
        // bit 2c of qh -> 16 for the low nibbles, bit 2c+1 for the high ones
        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(*qh, 4), m16));
        hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(*qh, 3), m16));
        *qh = _mm256_srli_epi16(*qh, 2);
    }
    const __m256i s0 = bcast16(scv, 2 * c), s1 = bcast16(scv, 2 * c + 1);
    #pragma GCC unroll 4
    for (int j = 0; j < na; j++) {
        const wk_block_q8_k *ab = ROW(wk_block_q8_k, va, j, st) + i;
        __m256i p0 = dot_u8s8(lo, loadu256(ab->qs + 64 * c), s0);
        __m256i p1 = dot_u8s8(hi, loadu256(ab->qs + 64 * c + 32), s1);
        sumi[j] = _mm256_add_epi32(sumi[j], _mm256_add_epi32(p0, p1));
    }
}

INLINE void dot_q45_k_n(int64_t n, float *s, const void *vw, const void *va, size_t st, int na,
                        int five)
{
    kacc acc = {_mm_setzero_ps(), _mm_setzero_ps()};
    const size_t bb = five ? sizeof(wk_block_q5_k) : sizeof(wk_block_q4_k);
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        // Q4_K and Q5_K share d, dmin, scales; Q5_K adds qh[32] before qs.
        const uint8_t *blk = (const uint8_t *)vw + (size_t)i * bb;
        if (na == 1) { prefetch_ahead(blk, bb); }
        const wk_block_q5_k *b5 = (const wk_block_q5_k *)blk;
        const wk_block_q4_k *b4 = (const wk_block_q4_k *)blk;
        const uint8_t *qs = five ? b5->qs : b4->qs;
        const float d = h2f(b4->d), dmin = h2f(b4->dmin);
        uint64_t sc8, mn8;
        k4_scales(b4->scales, &sc8, &mn8);
        const __m128i sc128 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8));
        const __m128i mn128 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
        const __m256i scv = _mm256_broadcastsi128_si256(sc128);
        // mins duplicated per 16-element half: lanes 2g, 2g+1 = mn_g (against bsums[2g], [2g+1])
        const __m256i mnv = _mm256_set_m128i(_mm_unpackhi_epi16(mn128, mn128),
                                             _mm_unpacklo_epi16(mn128, mn128));
        __m256i qh = five ? loadu256(b5->qh) : _mm256_setzero_si256();
        __m256i sumi[4];
        #pragma GCC unroll 4
        for (int j = 0; j < na; j++) { sumi[j] = _mm256_setzero_si256(); }
        if (na == 1) { // unrolled: the shuffle constants become immediates
            #pragma GCC unroll 4
            for (int c = 0; c < 4; c++) { q45_chunk(c, qs, &qh, scv, five, 1, va, st, i, sumi); }
        } else { // a loop: four rows' worth of registers per chunk already
            #pragma GCC unroll 4
            for (int c = 0; c < 4; c++) { q45_chunk(c, qs, &qh, scv, five, na, va, st, i, sumi); }
        }
        __m256i pm[4];
        float ad[4];
        #pragma GCC unroll 4
        for (int j = 0; j < na; j++) {
            const wk_block_q8_k *ab = ROW(wk_block_q8_k, va, j, st) + i;
            pm[j] = _mm256_madd_epi16(loadu256(ab->bsums), mnv);
            ad[j] = ab->d;
        }
        kblock_epilogue(&acc, na, sumi, pm, 1, ad, d, dmin);
    }
    kacc_store(&acc, s, na);
}

INLINE void dot_q4_k_n(int64_t n, float *s, const void *w, const void *a, size_t st, int na)
{
    dot_q45_k_n(n, s, w, a, st, na, 0);
}

INLINE void dot_q5_k_n(int64_t n, float *s, const void *w, const void *a, size_t st, int na)
{
    dot_q45_k_n(n, s, w, a, st, na, 1);
}

// The same from half h of the scales, both 128-bit lanes holding the eight i16 scales of groups
// 8h .. 8h + 7 (scales_half): one byte shuffle per quant vector v = 4h + k.
INLINE __m256i scales_half(__m256i sc16, int h)
{
    return h ? _mm256_permute4x64_epi64(sc16, 0xee) : _mm256_permute4x64_epi64(sc16, 0x44);
}

INLINE __m256i pair_scales_half(__m256i half, int k)
{
    const char a = (char)(4 * k), b = (char)(4 * k + 2);
    return _mm256_shuffle_epi8(half, _mm256_setr_epi8(a, a + 1, a, a + 1, a, a + 1, a, a + 1, a,
                                                      a + 1, a, a + 1, a, a + 1, a, a + 1, b,
                                                      b + 1, b, b + 1, b, b + 1, b, b + 1, b,
                                                      b + 1, b, b + 1, b, b + 1, b, b + 1));
}

INLINE void dot_q6_k_n(int64_t n, float *s, const void *vw, const void *va, size_t st, int na)
{
    const wk_block_q6_k *w = vw;
    kacc acc = {_mm_setzero_ps(), _mm_setzero_ps()};
    const __m256i m15 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(12);
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const wk_block_q6_k *b = &w[i];
        if (na == 1) { prefetch_ahead((const uint8_t *)b, sizeof *b); }
        const float d = h2f(b->d);
        // dword v of sc16 = (scale 2v, scale 2v+1) as i16
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
        __m256i sumi[4];
        #pragma GCC unroll 4
        for (int j = 0; j < na; j++) {
            const wk_block_q8_k *ab = ROW(wk_block_q8_k, va, j, st) + i;
            // q = u - 32: start from -32 Σ_g sc_g bsum_g
            __m256i corr = _mm256_madd_epi16(loadu256(ab->bsums), sc16);
            sumi[j] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 5));
        }
        #pragma GCC unroll 4
        for (int h = 0; h < 2; h++) {
            __m256i l0 = loadu256(b->ql + 64 * h), l1 = loadu256(b->ql + 64 * h + 32);
            __m256i qh = loadu256(b->qh + 32 * h);
            __m256i u[4];
            u[0] = _mm256_or_si256(_mm256_and_si256(l0, m15),
                                   _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            u[1] = _mm256_or_si256(_mm256_and_si256(l1, m15),
                                   _mm256_slli_epi16(_mm256_and_si256(qh, m12), 2));
            u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m15),
                                   _mm256_and_si256(qh, _mm256_set1_epi8(48)));
            u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m15),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2),
                                                    _mm256_set1_epi8(48)));
            const __m256i half = scales_half(sc16, h);
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                int v = 4 * h + r;
                __m256i scv = pair_scales_half(half, r);
                #pragma GCC unroll 4
                for (int j = 0; j < na; j++) {
                    const wk_block_q8_k *ab = ROW(wk_block_q8_k, va, j, st) + i;
                    sumi[j] = _mm256_add_epi32(sumi[j],
                                               dot_u8s8(u[r], loadu256(ab->qs + 32 * v), scv));
                }
            }
        }
        float ad[4];
        #pragma GCC unroll 4
        for (int j = 0; j < na; j++) { ad[j] = (ROW(wk_block_q8_k, va, j, st) + i)->d; }
        kblock_epilogue(&acc, na, sumi, NULL, 0, ad, d, 0.0f);
    }
    kacc_store(&acc, s, na);
}

// Q2_K and Q3_K: 2-bit quants in qs (shift 2j of byte 32h + l), 16 groups of 16.
// The per-block header of a Q2_K / Q3_K block as vectors: the 16 group scales (Q3_K's signed
// 6-bit ones decoded) and Q2_K's mins as i16, Q3_K's hmask, d and dmin (0 for Q3_K).
typedef struct q23_head {
    __m256i sc16, mn16, hm; // the 16 group scales and mins (Q2_K) as i16; Q3_K's hmask
    float d, dmin;
} q23_head;

INLINE void q23_head_of(const uint8_t *blk, int three, q23_head *h)
{
    const wk_block_q2_k *b2 = (const wk_block_q2_k *)blk;
    const wk_block_q3_k *b3 = (const wk_block_q3_k *)blk;
    h->mn16 = h->hm = _mm256_setzero_si256();
    h->dmin = 0.0f;
    if (three) {
        // 6-bit signed scales: low 4 bits from bytes 0..7, high 2 bits from bytes 8..11
        uint32_t a[3];
        memcpy(a, b3->scales, 12);
        const uint32_t m4 = 0x0f0f0f0f, m2 = 0x03030303;
        uint32_t x0 = (a[0] & m4) | ((a[2] >> 0) & m2) << 4;
        uint32_t x1 = (a[1] & m4) | ((a[2] >> 2) & m2) << 4;
        uint32_t x2 = ((a[0] >> 4) & m4) | ((a[2] >> 4) & m2) << 4;
        uint32_t x3 = ((a[1] >> 4) & m4) | ((a[2] >> 6) & m2) << 4;
        __m128i sc8 = _mm_sub_epi8(_mm_setr_epi32((int)x0, (int)x1, (int)x2, (int)x3),
                                   _mm_set1_epi8(32));
        h->sc16 = _mm256_cvtepi8_epi16(sc8);
        h->hm = loadu256(b3->hmask);
        h->d = h2f(b3->d);
    } else {
        __m128i raw = _mm_loadu_si128((const __m128i *)b2->scales);
        h->sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(raw, _mm_set1_epi8(15)));
        h->mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(15)));
        h->d = h2f(b2->d);
        h->dmin = h2f(b2->dmin);
    }
}

// The unsigned quants of vector v (elements 32v .. 32v + 31) of a Q2_K/Q3_K block: q holds
// qs[32 h ..] shifted right by 2 (v % 4) (and hm the hmask shifted right by v); both advance.
INLINE __m256i q23_next(__m256i *q, __m256i *hm, int three)
{
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    __m256i u = _mm256_and_si256(*q, m3);
    *q = _mm256_srli_epi16(*q, 2);
    if (three) { // u = q + 4
        u = _mm256_or_si256(u, _mm256_slli_epi16(_mm256_and_si256(*hm, one), 2));
        *hm = _mm256_srli_epi16(*hm, 1);
    }
    return u;
}

INLINE void dot_q23_k_n(int64_t n, float *s, const void *vw, const void *va, size_t st, int na,
                        int three)
{
    kacc acc = {_mm_setzero_ps(), _mm_setzero_ps()};
    const size_t bb = three ? sizeof(wk_block_q3_k) : sizeof(wk_block_q2_k);
    const size_t qs_off = three ? offsetof(wk_block_q3_k, qs) : offsetof(wk_block_q2_k, qs);
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const uint8_t *blk = (const uint8_t *)vw + (size_t)i * bb;
        if (na == 1) { prefetch_ahead(blk, bb); }
        q23_head hd;
        q23_head_of(blk, three, &hd);
        __m256i sumi[4];
        #pragma GCC unroll 4
        for (int j = 0; j < na; j++) {
            const wk_block_q8_k *ab = ROW(wk_block_q8_k, va, j, st) + i;
            sumi[j] = _mm256_setzero_si256();
            if (three) { // u = q + 4: start from -4 Σ_g sc_g bsum_g
                __m256i corr = _mm256_madd_epi16(loadu256(ab->bsums), hd.sc16);
                sumi[j] = _mm256_sub_epi32(sumi[j], _mm256_slli_epi32(corr, 2));
            }
        }
        #pragma GCC unroll 4
        for (int h = 0; h < 2; h++) {
            __m256i q = loadu256(blk + qs_off + 32 * h);
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                int v = 4 * h + r;
                __m256i u = q23_next(&q, &hd.hm, three);
                __m256i scv = pair_scales(hd.sc16, v);
                #pragma GCC unroll 4
                for (int j = 0; j < na; j++) {
                    const wk_block_q8_k *ab = ROW(wk_block_q8_k, va, j, st) + i;
                    __m256i p = dot_u8s8(u, loadu256(ab->qs + 32 * v), scv);
                    sumi[j] = _mm256_add_epi32(sumi[j], p);
                }
            }
        }
        __m256i pm[4];
        float ad[4];
        #pragma GCC unroll 4
        for (int j = 0; j < na; j++) {
            const wk_block_q8_k *ab = ROW(wk_block_q8_k, va, j, st) + i;
            pm[j] = three ? _mm256_setzero_si256() : _mm256_madd_epi16(loadu256(ab->bsums), hd.mn16);
            ad[j] = ab->d;
        }
        kblock_epilogue(&acc, na, sumi, pm, !three, ad, hd.d, hd.dmin);
    }
    kacc_store(&acc, s, na);
}

INLINE void dot_q2_k_n(int64_t n, float *s, const void *w, const void *a, size_t st, int na)
{
    dot_q23_k_n(n, s, w, a, st, na, 0);
}

INLINE void dot_q3_k_n(int64_t n, float *s, const void *w, const void *a, size_t st, int na)
{
    dot_q23_k_n(n, s, w, a, st, na, 1);
}

// --- four weight rows against one activation row (GEMV) ------------------------------------------
//
// The activation vectors of a block are loaded once for the four rows; the four rows' exact block
// totals are reduced with one hsum4_epi32, and lane r of the float accumulators follows row r
// through the reference's operations: acc[r] += (d_a * d_r) * (float)sumi_r, likewise the mins
// (k4row_add; it, the next rows' prefetch and the fp16 scales are shared with AVX-512: x86_4row.h).

// Row r's block i at vw + r * rs + i * bs: rs = the row stride and bs = the block size for rows
// as in the file, rs = the block size and bs = 4 blocks for rows interleaved by four (4il); ws =
// the bytes of one row (the next four rows are 4 ws ahead either way: prefetch).
INLINE void dot_q45_k_4row(int64_t n, float *s, const void *vw, size_t rs, size_t bs, size_t ws,
                           const void *va, int five)
{
    const wk_block_q8_k *a = va;
    const size_t bb = five ? sizeof(wk_block_q5_k) : sizeof(wk_block_q4_k);
    const size_t qs_off = five ? offsetof(wk_block_q5_k, qs) : offsetof(wk_block_q4_k, qs);
    const __m256i m15 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
    __m128 acc = _mm_setzero_ps(), accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const wk_block_q8_k *ab = a + i;
        const uint8_t *blk[4];
        blocks_4row(vw, rs, bs, i, ws, bb, blk);
        // the activation's sums over the eight 32-element groups (pairs of bsums)
        const __m128i gs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)ab->bsums),
                                          _mm_loadu_si128((const __m128i *)ab->bsums + 1));
        __m256i scv[4], sumi[4], qh[4];
        __m128i pm[4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            uint64_t sc8, mn8;
            k4_scales(blk[r] + offsetof(wk_block_q4_k, scales), &sc8, &mn8);
            const __m128i sc128 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8));
            const __m128i mn128 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
            scv[r] = _mm256_broadcastsi128_si256(sc128);
            pm[r] = _mm_madd_epi16(gs, mn128);
            sumi[r] = _mm256_setzero_si256();
            qh[r] = five ? loadu256(blk[r] + offsetof(wk_block_q5_k, qh)) : _mm256_setzero_si256();
        }
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            const __m256i a0 = loadu256(ab->qs + 64 * c), a1 = loadu256(ab->qs + 64 * c + 32);
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                __m256i q = loadu256(blk[r] + qs_off + 32 * c);
                __m256i lo = _mm256_and_si256(q, m15);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m15);
                if (five) {
                    lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(qh[r], 4), m16));
                    hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(qh[r], 3), m16));
                    qh[r] = _mm256_srli_epi16(qh[r], 2);
                }
                __m256i p0 = dot_u8s8(lo, a0, bcast16(scv[r], 2 * c));
                __m256i p1 = dot_u8s8(hi, a1, bcast16(scv[r], 2 * c + 1));
                sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(p0, p1));
            }
        }
        const __m128 d4 = h2f_4rows(blk, offsetof(wk_block_q4_k, d));
        const __m128 dmin4 = h2f_4rows(blk, offsetof(wk_block_q4_k, dmin));
        acc = k4row_add(acc, ab->d, d4, hsum4_epi32(sumi[0], sumi[1], sumi[2], sumi[3]));
        accm = k4row_add(accm, ab->d, dmin4, hsum4_epi32_128(pm[0], pm[1], pm[2], pm[3]));
    }
    _mm_storeu_ps(s, _mm_sub_ps(acc, accm));
}

WK_4ROW_ENTRIES(q4_k, avx2, dot_q45_k_4row, wk_block_q4_k, 0)
WK_4ROW_ENTRIES(q5_k, avx2, dot_q45_k_4row, wk_block_q5_k, 1)

INLINE void dot_q6_k_4row(int64_t n, float *s, const void *vw, size_t rs, size_t bst, size_t ws,
                          const void *va)
{
    const wk_block_q8_k *a = va;
    const __m256i m15 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(12);
    const __m256i m48 = _mm256_set1_epi8(48);
    __m128 acc = _mm_setzero_ps();
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const wk_block_q8_k *ab = a + i;
        const wk_block_q6_k *b[4];
        const uint8_t *blk[4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            blk[r] = (const uint8_t *)vw + r * rs + (size_t)i * bst;
            b[r] = (const wk_block_q6_k *)blk[r];
        }
        prefetch_next4(blk, 4 * ws, sizeof(wk_block_q6_k));
        const __m256i bs = loadu256(ab->bsums);
        __m256i sc16[4], sumi[4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            sc16[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b[r]->scales));
            // q = u - 32: start from -32 Σ_g sc_g bsum_g
            sumi[r] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                       _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16[r]), 5));
        }
        #pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            __m256i av[4];
            #pragma GCC unroll 4
            for (int k = 0; k < 4; k++) { av[k] = loadu256(ab->qs + 128 * h + 32 * k); }
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                __m256i l0 = loadu256(b[r]->ql + 64 * h), l1 = loadu256(b[r]->ql + 64 * h + 32);
                __m256i qh = loadu256(b[r]->qh + 32 * h);
                __m256i u0 = _mm256_or_si256(_mm256_and_si256(l0, m15),
                                             _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
                __m256i u1 = _mm256_or_si256(_mm256_and_si256(l1, m15),
                                             _mm256_slli_epi16(_mm256_and_si256(qh, m12), 2));
                __m256i u2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m15),
                                             _mm256_and_si256(qh, m48));
                __m256i u3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m15),
                                             _mm256_and_si256(_mm256_srli_epi16(qh, 2), m48));
                const __m256i half = scales_half(sc16[r], h);
                __m256i p0 = dot_u8s8(u0, av[0], pair_scales_half(half, 0));
                __m256i p1 = dot_u8s8(u1, av[1], pair_scales_half(half, 1));
                __m256i p2 = dot_u8s8(u2, av[2], pair_scales_half(half, 2));
                __m256i p3 = dot_u8s8(u3, av[3], pair_scales_half(half, 3));
                sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(_mm256_add_epi32(p0, p1),
                                                                     _mm256_add_epi32(p2, p3)));
            }
        }
        const __m128 d4 = h2f_4rows(blk, offsetof(wk_block_q6_k, d));
        acc = k4row_add(acc, ab->d, d4, hsum4_epi32(sumi[0], sumi[1], sumi[2], sumi[3]));
    }
    // the reference's sumf - summf with summf = 0
    _mm_storeu_ps(s, _mm_sub_ps(acc, _mm_setzero_ps()));
}

static void dot4r_q6_k_avx2(int64_t n, float *s, const void *w, size_t ws, const void *a)
{
    dot_q6_k_4row(n, s, w, ws, sizeof(wk_block_q6_k), ws, a);
}

static void dot4il_q6_k_avx2(int64_t n, float *s, const void *w, size_t ws, const void *a)
{
    dot_q6_k_4row(n, s, w, sizeof(wk_block_q6_k), 4 * sizeof(wk_block_q6_k), ws, a);
}

// Q2_K / Q3_K: each row's block total as dot_q23_k_n's (the rows one after the other: the
// activation vectors are reloaded from L1 for each), the four rows' float steps at once, the next
// four rows prefetched. Rows as in the file or interleaved by four (rs, bs, ws: dot_q45_k_4row).
INLINE void dot_q23_k_4row(int64_t n, float *s, const void *vw, size_t rs, size_t bs, size_t ws,
                           const void *va, int three)
{
    const wk_block_q8_k *a = va;
    const size_t bb = three ? sizeof(wk_block_q3_k) : sizeof(wk_block_q2_k);
    const size_t qs_off = three ? offsetof(wk_block_q3_k, qs) : offsetof(wk_block_q2_k, qs);
    __m128 acc = _mm_setzero_ps(), accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / WK_QK_K; i++) {
        const wk_block_q8_k *ab = a + i;
        const uint8_t *blk[4];
        blocks_4row(vw, rs, bs, i, ws, bb, blk);
        const __m256i bsums = loadu256(ab->bsums);
        __m256i sumi[4], pm[4];
        float d[4], dmin[4];
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            q23_head hd;
            q23_head_of(blk[r], three, &hd);
            d[r] = hd.d;
            dmin[r] = hd.dmin;
            // Q3_K: u = q + 4, so start from -4 Σ_g sc_g bsum_g
            __m256i t = three ? _mm256_sub_epi32(_mm256_setzero_si256(),
                                                 _mm256_slli_epi32(_mm256_madd_epi16(bsums, hd.sc16), 2))
                              : _mm256_setzero_si256();
            pm[r] = three ? _mm256_setzero_si256() : _mm256_madd_epi16(bsums, hd.mn16);
            #pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m256i q = loadu256(blk[r] + qs_off + 32 * h);
                #pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    const int v = 4 * h + j;
                    const __m256i u = q23_next(&q, &hd.hm, three);
                    t = _mm256_add_epi32(t, dot_u8s8(u, loadu256(ab->qs + 32 * v),
                                                     pair_scales(hd.sc16, v)));
                }
            }
            sumi[r] = t;
        }
        const __m128 d4 = _mm_setr_ps(d[0], d[1], d[2], d[3]);
        acc = k4row_add(acc, ab->d, d4, hsum4_epi32(sumi[0], sumi[1], sumi[2], sumi[3]));
        if (!three) {
            const __m128 dmin4 = _mm_setr_ps(dmin[0], dmin[1], dmin[2], dmin[3]);
            accm = k4row_add(accm, ab->d, dmin4, hsum4_epi32(pm[0], pm[1], pm[2], pm[3]));
        }
    }
    _mm_storeu_ps(s, _mm_sub_ps(acc, accm));
}

WK_4ROW_ENTRIES(q2_k, avx2, dot_q23_k_4row, wk_block_q2_k, 0)
WK_4ROW_ENTRIES(q3_k, avx2, dot_q23_k_4row, wk_block_q3_k, 1)

// Q8_K activations: iscale = -127 / (the element of largest |x|, the first on a tie),
// q = min(127, round_half_even(iscale * x)), d = 1 / iscale, bsums of 16.
static void quant_q8_k_avx2(const float *x, void *vy, int64_t n)
{
    wk_block_q8_k *y = vy;
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < n / WK_QK_K; i++, x += WK_QK_K) {
        __m256 amax = _mm256_setzero_ps();
        for (int r = 0; r < 32; r++) {
            amax = _mm256_max_ps(amax, _mm256_and_ps(_mm256_loadu_ps(x + 8 * r), absmask));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const float am = _mm_cvtss_f32(m);
        if (am == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        // The first element whose |x| equals the maximum gives the sign.
        const __m256 vam = _mm256_set1_ps(am);
        float max = am;
        for (int r = 0; r < 32; r++) {
            __m256 ax = _mm256_and_ps(_mm256_loadu_ps(x + 8 * r), absmask);
            int mask = _mm256_movemask_ps(_mm256_cmp_ps(ax, vam, _CMP_EQ_OQ));
            if (mask) {
                max = x[8 * r + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 vis = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        const __m256i ones8 = _mm256_set1_epi8(1);
        const __m256i ones16 = _mm256_set1_epi16(1);
        for (int v = 0; v < 8; v++) {
            __m256i i32[4];
            for (int r = 0; r < 4; r++) {
                __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x + 32 * v + 8 * r), vis);
                t = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                i32[r] = _mm256_min_epi32(_mm256_cvtps_epi32(t), lim);
            }
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]),
                                           _mm256_packs_epi32(i32[2], i32[3]));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y[i].qs + 32 * v), p);
            // Sums of 4 consecutive quants in each i32 lane, then of 4 lanes per 16 quants.
            __m256i s4 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, p), ones16);
            int32_t t[8];
            _mm256_storeu_si256((__m256i *)t, s4);
            y[i].bsums[2 * v] = (int16_t)(t[0] + t[1] + t[2] + t[3]);
            y[i].bsums[2 * v + 1] = (int16_t)(t[4] + t[5] + t[6] + t[7]);
        }
        y[i].d = 1.0f / iscale;
    }
}
// --- the table's K entries -----------------------------------------------------------------------

#define DOTS(tname)                                                                                \
    static void dot_##tname##_avx2(int64_t n, float *s, const void *w, const void *a)              \
    {                                                                                              \
        dot_##tname##_n(n, s, w, a, 0, 1);                                                         \
    }                                                                                              \
    static void dot4_##tname##_avx2(int64_t n, float *s, const void *w, const void *a, size_t st)  \
    {                                                                                              \
        dot_##tname##_n(n, s, w, a, st, 4);                                                        \
    }
DOTS(q2_k)
DOTS(q3_k)
DOTS(q4_k)
DOTS(q5_k)
DOTS(q6_k)

void wk_kernels_fill_avx2_kquant(wk_kernels *k)
{
#define SET(T, tname)                                                                              \
    k->to_float[WICK_DTYPE_##T] = deq_##tname##_avx2;                                              \
    k->vec_dot[WICK_DTYPE_##T] = dot_##tname##_avx2;                                               \
    k->vec_dot_4act[WICK_DTYPE_##T] = dot4_##tname##_avx2;                                         \
    k->vec_dot_4row[WICK_DTYPE_##T] = dot4r_##tname##_avx2
    SET(Q2_K, q2_k);
    SET(Q3_K, q3_k);
    SET(Q4_K, q4_k);
    SET(Q5_K, q5_k);
    SET(Q6_K, q6_k);
#undef SET
    k->vec_dot_4il[WICK_DTYPE_Q2_K] = dot4il_q2_k_avx2;
    k->vec_dot_4il[WICK_DTYPE_Q3_K] = dot4il_q3_k_avx2;
    k->vec_dot_4il[WICK_DTYPE_Q4_K] = dot4il_q4_k_avx2;
    k->vec_dot_4il[WICK_DTYPE_Q5_K] = dot4il_q5_k_avx2;
    k->vec_dot_4il[WICK_DTYPE_Q6_K] = dot4il_q6_k_avx2;
    // no batched kernel on AVX2 yet: the matmul driver calls vec_dot_4il per token
    memset(k->vec_dot_4il_n, 0, sizeof k->vec_dot_4il_n);
    k->from_float[WICK_DTYPE_Q8_K] = quant_q8_k_avx2;
}
