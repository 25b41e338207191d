// x86_4row.h — pieces the AVX2 and AVX-512 GEMV kernels (vec_dot_4row, four weight rows against
// one activation row) share: the prefetch of the next four rows, the four rows' fp16 block
// scales as one float vector, and the per-block float step that keeps the reference's bits.
// Included only by x86_kquant_avx2.c and x86_avx512.c (both compiled with F16C).
#ifndef WK_KERNELS_X86_4ROW_H
#define WK_KERNELS_X86_4ROW_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

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

// The start of a four-row kernel's step i: row r's block i at vw + r rs + i bs into blk[r] (rows
// a row apart or interleaved by four, as WK_4ROW_ENTRIES passes them), the same blocks of the
// next four rows (4 ws further) prefetched.
static inline __attribute__((always_inline)) void blocks_4row(const void *vw, size_t rs, size_t bs,
                                                              int64_t i, size_t ws, size_t bb,
                                                              const uint8_t **blk)
{
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++) { blk[r] = (const uint8_t *)vw + r * rs + (size_t)i * bs; }
    prefetch_next4(blk, 4 * ws, bb);
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

// The vec_dot_4row and vec_dot_4il entries dot4r_TNAME_SFX, dot4il_TNAME_SFX of a four-row kernel
// fn(n, s, w, rs, bs, ws, a, ARG) that finds row r's block i at w + r rs + i bs: rows a row
// apart (rs = ws, bs = one block BT) or interleaved by four (rs = one block, bs = four).
#define WK_4ROW_ENTRIES(tname, SFX, fn, BT, ARG)                                                   \
    static void dot4r_##tname##_##SFX(int64_t n, float *s, const void *w, size_t ws,               \
                                      const void *a)                                               \
    {                                                                                              \
        fn(n, s, w, ws, sizeof(BT), ws, a, ARG);                                                   \
    }                                                                                              \
    static void dot4il_##tname##_##SFX(int64_t n, float *s, const void *w, size_t ws,              \
                                       const void *a)                                              \
    {                                                                                              \
        fn(n, s, w, sizeof(BT), 4 * sizeof(BT), ws, a, ARG);                                       \
    }

#endif
