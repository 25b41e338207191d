// x86_4row.h — pieces the AVX2 and AVX-512 GEMV kernels (vec_dot_4row, four weight rows against
// one activation row) share: the prefetch of the next four rows, the four rows' fp16 block
// scales as one float vector, and the per-block float step that keeps the reference's bits.
// Included only by x86_kquant_avx2.c and x86_avx512.c (both compiled with F16C).
#ifndef WK_KERNELS_X86_4ROW_H
#define WK_KERNELS_X86_4ROW_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/blocks.h"

// Prefetch of the four rows that follow (w + 4 * w_stride ...: the next call of the matmul
// driver), at the position of block blk[r] of the current ones: without it, four interleaved
// streams leave the memory idle between the hardware prefetcher's requests (bench_kernels,
// Q4_K cold: 8 GB/s without, 14 with on AVX2; 12-20 vs 20-27 GB/s on AVX-512). Into L2 (T1): a
// few % faster than into L1, whose miss buffers the loads need; 12 rows ahead measured no better.
// A hint: it never faults, also past the end of a tensor.
// pf: the distance in bytes to the same block of the next four rows (4 * the row stride; for rows
// interleaved by four, kernels.h's vec_dot_4il, the next group is 4 rows' bytes ahead too).
static inline __attribute__((always_inline)) void prefetch_next4(const uint8_t *const *blk,
                                                                 size_t pf, size_t bb)
{
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        for (size_t o = 0; o < bb; o += 64) {
            _mm_prefetch((const char *)blk[r] + pf + o, _MM_HINT_T1);
        }
    }
}

// Four halves at p_r + off (r < 4) as floats, lane r.
static inline __attribute__((always_inline)) __m128 h2f_4rows(const uint8_t *const *p, size_t off)
{
    uint64_t v = 0; // built in a register: no store-to-load forwarding of four 2-byte stores
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        uint16_t h;
        memcpy(&h, p[r] + off, 2);
        v |= (uint64_t)h << (16 * r);
    }
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)v));
}

// acc[r] += (d_a * d[r]) * (float)sumi[r]: the reference's float operations, in its order, for
// one block of each of the four rows (sumi: their exact integer block totals).
static inline __attribute__((always_inline)) __m128 k4row_add(__m128 acc, float d_a, __m128 d4,
                                                              __m128i sumi)
{
    return _mm_add_ps(acc, _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(d_a), d4), _mm_cvtepi32_ps(sumi)));
}

// The per-block header of a Q2_K / Q3_K block as vectors: the 16 group scales (Q3_K's signed
// 6-bit ones decoded) and Q2_K's mins as i16, Q3_K's hmask, d and dmin (0 for Q3_K).
typedef struct q23_head {
    __m256i sc16, mn16, hm; // the 16 group scales and mins (Q2_K) as i16; Q3_K's hmask
    float d, dmin;
} q23_head;

static inline __attribute__((always_inline)) void q23_head_of(const uint8_t *blk, int three, q23_head *h)
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
        h->hm = _mm256_loadu_si256((const __m256i *)b3->hmask);
        h->d = _cvtsh_ss(b3->d);
    } else {
        __m128i raw = _mm_loadu_si128((const __m128i *)b2->scales);
        h->sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(raw, _mm_set1_epi8(15)));
        h->mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(15)));
        h->d = _cvtsh_ss(b2->d);
        h->dmin = _cvtsh_ss(b2->dmin);
    }
}

#endif
