// x86_avx2.h — the small AVX2 helpers the AVX2 kernel files share (x86_avx2.c: float and legacy
// formats, the table; x86_kquant_avx2.c: the K formats). Included only by files compiled with the
// AVX2 flags.
#ifndef WK_KERNELS_X86_AVX2_H
#define WK_KERNELS_X86_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

// The activation rows of a 1..4-row dot product: row j at a + j * stride.
#define ROW(T, a, j, stride) ((const T *)((const char *)(a) + (size_t)(j) * (stride)))

// --- helpers -------------------------------------------------------------------------------------

INLINE float hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE int hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

INLINE float h2f(uint16_t h)
{
    return _cvtsh_ss(h);
}

INLINE __m256i loadu256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

// 16 bytes of nibbles -> 32 bytes: lanes 0..15 the low nibbles, 16..31 the high nibbles.
INLINE __m256i nibbles32(const uint8_t *qs)
{
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(15));
}

// 32 bits -> 32 bytes: byte i = 0xff when bit i of the little-endian word at p is set.
INLINE __m256i bits32(const uint8_t *p)
{
    uint32_t h;
    memcpy(&h, p, 4);
    const __m256i spread = _mm256_setr_epi64x(0, 0x0101010101010101ll, 0x0202020202020202ll,
                                              0x0303030303030303ll);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), spread); // byte i = byte i/8 of h
    v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfell)); // all but bit i%8 set
    return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

// (v >> k) & mask on bytes (k a run-time count).
INLINE __m256i shr_bytes(__m256i v, int k, __m256i mask)
{
    return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(k)), mask);
}

// Σ over pairs of u8 x s8 products, then Σ of pairs with i16 weights: 8 i32 lanes.
INLINE __m256i dot_u8s8(__m256i u, __m256i s, __m256i w16)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), w16);
}

// 32 signed bytes w, a: 8 i32 lanes of Σ w*a (pairs of 4), via |w| x (a * sign(w)).
INLINE __m256i dot_s8s8(__m256i w, __m256i a)
{
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// i16 scales of quant vector v (groups 2v, 2v+1) from the 16 group scales as i16: dword v holds
// that pair; broadcast it, then keep the low i16 in the low 128 bits and the high one above.
INLINE __m256i pair_scales(__m256i sc16, int v)
{
    const __m256i lohi = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2,
                                          3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    return _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc16, _mm256_set1_epi32(v)), lohi);
}

// 32 signed bytes -> 32 floats at y: (s * q) - m, with (s0, m0) for bytes 0..15 and (s1, m1) for
// 16..31.
INLINE void store_scaled(float *y, __m256i q, float s0, float m0, float s1, float m1)
{
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    __m256 vs0 = _mm256_set1_ps(s0), vm0 = _mm256_set1_ps(m0);
    __m256 vs1 = _mm256_set1_ps(s1), vm1 = _mm256_set1_ps(m1);
    __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    __m256 f1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    __m256 f2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    __m256 f3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
    _mm256_storeu_ps(y, _mm256_fmsub_ps(vs0, f0, vm0));
    _mm256_storeu_ps(y + 8, _mm256_fmsub_ps(vs0, f1, vm0));
    _mm256_storeu_ps(y + 16, _mm256_fmsub_ps(vs1, f2, vm1));
    _mm256_storeu_ps(y + 24, _mm256_fmsub_ps(vs1, f3, vm1));
}
#endif
