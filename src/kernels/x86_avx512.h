// x86_avx512.h — pieces the AVX-512 K-format kernels share: x86_avx512.c (one token against four
// rows, vec_dot_4row / vec_dot_4il) and batch_avx512.c (several tokens against four interleaved
// rows, vec_dot_4il_n). Included only by files compiled with the AVX-512 flags.
#ifndef WK_KERNELS_X86_AVX512_H
#define WK_KERNELS_X86_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#include "kernels/x86_4row.h"

#define INLINE static inline __attribute__((always_inline))

// vpternlogd immediates (A, B, C the first, second, third operand): A | (B & C), (A & B) | C,
// C ? A : B.
#define TL_OR_AND 0xf8
#define TL_AND_OR 0xea
#define TL_SELECT 0xe4

// [Σa, Σb, Σc, Σd] of four i32 vectors.
INLINE __m128i hsum4_epi32_512(__m512i a, __m512i b, __m512i c, __m512i d)
{
    __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    __m512i x = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    __m256i y = _mm256_add_epi32(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

INLINE __m512i loadu512(const void *p)
{
    return _mm512_loadu_si512(p);
}

// The 6-bit scales and mins of four Q4_K/Q5_K blocks at once: lane r of the result holds block
// p[r]'s sc[0..7] in bytes 0..7 and mn[0..7] in bytes 8..15 (blocks.h wk_scale_min_k4). Input: the
// first 16 bytes of each block (d, dmin, scales[12]: scales[j] at byte 4 + j).
//   sc[0..3] = s[0..3] & 63         sc[4..7] = (s[8..11] & 15) | (s[0..3] >> 6) << 4
//   mn[0..3] = s[4..7] & 63         mn[4..7] = (s[8..11] >> 4) | (s[4..7] >> 6) << 4
// Also the blocks' d and dmin as floats, lane r (exact conversions).
INLINE __m512i k4_scales_4rows(const uint8_t *const *p, __m128 *d4, __m128 *dmin4)
{
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p[0]));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p[1]), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p[2]), 2);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p[3]), 3);
    // x = [s0..3, s8..11, s4..7, s8..11], its last four bytes >> 4; y = [0, s0..3, 0, s4..7]
    const __m512i cx = _mm512_broadcast_i32x4(
        _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
    const __m512i cy = _mm512_broadcast_i32x4(
        _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11));
    const __m512i mlo = _mm512_broadcast_i32x4(
        _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15));
    const __m512i mhi = _mm512_broadcast_i32x4(
        _mm_setr_epi8(0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48));
    // dword 0 of each lane: [d_r, dmin_r] as halves -> [d0, dmin0, d1, dmin1, ...] as floats
    const __m512i lane0 = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256 dd = _mm256_cvtph_ps(_mm512_castsi512_si128(_mm512_permutexvar_epi32(lane0, v)));
    const __m128 dd01 = _mm256_castps256_ps128(dd), dd23 = _mm256_extractf128_ps(dd, 1);
    *d4 = _mm_shuffle_ps(dd01, dd23, _MM_SHUFFLE(2, 0, 2, 0));
    *dmin4 = _mm_shuffle_ps(dd01, dd23, _MM_SHUFFLE(3, 1, 3, 1));
    __m512i x = _mm512_shuffle_epi8(v, cx);
    x = _mm512_mask_blend_epi8((__mmask64)0xf000f000f000f000ull, x, _mm512_srli_epi16(x, 4));
    // y >> 2: bits 6, 7 of a byte to 4, 5 (& 48 drops what the 16-bit shift brings in)
    __m512i y = _mm512_and_si512(_mm512_srli_epi16(_mm512_shuffle_epi8(v, cy), 2), mhi);
    return _mm512_ternarylogic_epi32(x, mlo, y, TL_AND_OR);
}

#endif
