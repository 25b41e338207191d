// x86_avx512.c — AVX-512 (F, BW, VL, DQ, VNNI) kernels, run only when cpuid says so.
//
// Deliberately few (no AVX-512 machine to verify on): this path starts as a copy of the AVX2
// table (select.c) and replaces only the single-row F32/F16 dot products (16 lanes, masked
// tails) and the Q8_0/Q4_0 dot products, where vpdpbusd (VNNI, on 256-bit vectors) fuses
// vpmaddubsw + vpmaddwd + vpaddd without the i16 saturation step. Everything else, dequantization
// and the float vec_dot_4act included, is the AVX2 code.
#include <immintrin.h>

#include "kernels/impl.h"

#define INLINE static inline __attribute__((always_inline))

static void dot_f32_avx512(int64_t n, float *s, const void *vw, const void *va)
{
    const float *w = vw, *a = va;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(a + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 16), _mm512_loadu_ps(a + i + 16), acc1);
    }
    for (; i < n; i += 16) {
        int64_t left = n - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, a + i),
                               acc0);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

static void dot_f16_avx512(int64_t n, float *s, const void *vw, const void *va)
{
    const uint16_t *w = vw, *a = va;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i)));
        __m512 a0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16)));
        __m512 a1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i + 16)));
        acc0 = _mm512_fmadd_ps(w0, a0, acc0);
        acc1 = _mm512_fmadd_ps(w1, a1, acc1);
    }
    for (; i < n; i += 16) {
        int64_t left = n - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        // masked-off halves load as 0 (fp16 +0), which adds nothing
        __m512 w0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + i));
        __m512 a0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, a + i));
        acc0 = _mm512_fmadd_ps(w0, a0, acc0);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

INLINE float hsum256(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

// 32 signed weight bytes w against 32 signed activation bytes a: 8 i32 lanes of Σ w*a
// (|w| as u8 times a with w's sign; |-128| = 128 is fine as u8, a is never -128).
INLINE __m256i dot_s8s8_vnni(__m256i w, __m256i a)
{
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), _mm256_sign_epi8(a, w));
}

INLINE __m256i q4_0_bytes(const wk_block_q4_0 *b)
{
    __m128i t = _mm_loadu_si128((const __m128i *)b->qs);
    __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(15));
    return _mm256_sub_epi8(v, _mm256_set1_epi8(8));
}

INLINE __m256i q8_0_bytes(const wk_block_q8_0 *b)
{
    return _mm256_loadu_si256((const __m256i *)b->qs);
}

#define LEGACY(tname, BT)                                                                          \
    INLINE void dot_##tname##_n(int64_t n, float *s, const void *vw, const void *va, size_t st,    \
                                int na)                                                            \
    {                                                                                              \
        const BT *w = vw;                                                                          \
        __m256 acc[4];                                                                             \
        for (int j = 0; j < 4; j++) { acc[j] = _mm256_setzero_ps(); }                              \
        for (int64_t i = 0; i < n / WK_QK; i++) {                                                  \
            __m256i q = tname##_bytes(&w[i]);                                                      \
            float dw = _cvtsh_ss(w[i].d);                                                          \
            for (int j = 0; j < na; j++) {                                                         \
                const wk_block_q8_0 *ab =                                                          \
                    (const wk_block_q8_0 *)((const char *)va + (size_t)j * st) + i;                \
                __m256i aq = _mm256_loadu_si256((const __m256i *)ab->qs);                          \
                __m256 p = _mm256_cvtepi32_ps(dot_s8s8_vnni(q, aq));                               \
                acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * _cvtsh_ss(ab->d)), p, acc[j]);        \
            }                                                                                      \
        }                                                                                          \
        for (int j = 0; j < na; j++) { s[j] = hsum256(acc[j]); }                                   \
    }                                                                                              \
    static void dot_##tname##_avx512(int64_t n, float *s, const void *w, const void *a)            \
    {                                                                                              \
        dot_##tname##_n(n, s, w, a, 0, 1);                                                         \
    }                                                                                              \
    static void dot4_##tname##_avx512(int64_t n, float *s, const void *w, const void *a,          \
                                      size_t st)                                                   \
    {                                                                                              \
        dot_##tname##_n(n, s, w, a, st, 4);                                                        \
    }

LEGACY(q4_0, wk_block_q4_0)
LEGACY(q8_0, wk_block_q8_0)

void wk_kernels_fill_avx512(wk_kernels *k)
{
    k->vec_dot[WICK_DTYPE_F32] = dot_f32_avx512;
    k->vec_dot[WICK_DTYPE_F16] = dot_f16_avx512;
    k->vec_dot[WICK_DTYPE_Q4_0] = dot_q4_0_avx512;
    k->vec_dot_4act[WICK_DTYPE_Q4_0] = dot4_q4_0_avx512;
    k->vec_dot[WICK_DTYPE_Q8_0] = dot_q8_0_avx512;
    k->vec_dot_4act[WICK_DTYPE_Q8_0] = dot4_q8_0_avx512;
}
