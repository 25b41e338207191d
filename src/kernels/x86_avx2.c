// x86_avx2.c — AVX2 + FMA + F16C kernels (compiled with those flags; run only when cpuid says so).
//
// Dequantization is bit-identical to ref.c: the quants are unpacked to bytes, widened to int32 and
// converted to float exactly, then y = (d * sc) * q - (dmin * m) with a fused multiply-subtract,
// which rounds once like the reference does (the product is exact, see blocks.h).
//
// Dot products follow ggml's x86 scheme. K-format quants become 32 unsigned bytes (Q3_K and Q6_K
// are offset to unsigned; the offset comes back out through the activation's 16-element sums),
// then vpmaddubsw (u8 x s8 -> pairs summed to i16; no saturation: q <= 63, |a| <= 127) and
// vpmaddwd with the group scales (i16 -> i32) accumulate a block's integer sum; its exact total
// then goes through ref.c's float operations in ref.c's order (kblock_epilogue), so K-format
// dot products are bit-identical to the reference. Q4_0/Q5_0/Q8_0 quants are signed bytes and
// use the sign trick |w| x (a * sign(w)); Q4_1/Q5_1 are unsigned and add m * s from the Q8_1
// block; these accumulate per lane in float, as ggml's AVX2 code does.
// Every quantized kernel is written once for 1..4 activation rows (vec_dot and vec_dot_4act):
// the weight block is unpacked once and dotted with each row. The K formats also have a kernel for
// four weight rows against one activation row (vec_dot_4row, GEMV): same bits, the activation
// loaded once per block for the four rows, the next four rows prefetched. The K formats' kernels
// are in x86_kquant_avx2.c; this file has the float and legacy formats and builds the table.
#include <immintrin.h>
#include <math.h>
#include <stddef.h>

#include "kernels/impl.h"
#include "kernels/x86_avx2.h"

// --- float formats -------------------------------------------------------------------------------

static void deq_f16_avx2(const void *vx, float *y, int64_t n)
{
    const uint8_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(x + 2 * i));
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        y[i] = wk_fp16_to_f32(h);
    }
}

INLINE __m256 bf16x8(const uint8_t *p)
{
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

static void deq_bf16_avx2(const void *vx, float *y, int64_t n)
{
    const uint8_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) { _mm256_storeu_ps(y + i, bf16x8(x + 2 * i)); }
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        y[i] = wk_bf16_to_f32(h);
    }
}

static void quant_f16_avx2(const float *x, void *vy, int64_t n)
{
    uint8_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(y + 2 * i), h);
    }
    for (; i < n; i++) {
        uint16_t h = wk_f32_to_fp16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

static void quant_bf16_avx2(const float *x, void *vy, int64_t n)
{
    uint8_t *y = vy;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i r[2];
        for (int h = 0; h < 2; h++) {
            __m256 f = _mm256_loadu_ps(x + i + 8 * h);
            __m256i u = _mm256_castps_si256(f);
            __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
            __m256i rounded = _mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff)));
            rounded = _mm256_srli_epi32(rounded, 16);
            __m256i nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
            __m256i is_nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
            r[h] = _mm256_blendv_epi8(rounded, nan, is_nan);
        }
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xd8);
        _mm256_storeu_si256((__m256i *)(y + 2 * i), p);
    }
    for (; i < n; i++) {
        uint16_t h = wk_f32_to_bf16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

static void dot_f32_avx2(int64_t n, float *s, const void *vw, const void *va)
{
    const float *w = vw, *a = va;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int r = 0; r < 4; r++) {
            acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8 * r), _mm256_loadu_ps(a + i + 8 * r),
                                     acc[r]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), acc[0]);
    }
    float sum = hsum_ps(
        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) { sum += w[i] * a[i]; }
    *s = sum;
}

static void dot_f16_avx2(int64_t n, float *s, const void *vw, const void *va)
{
    const uint8_t *w = vw, *a = va;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
#define F16X8(p, i) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((p) + 2 * (i))))
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int r = 0; r < 4; r++) {
            acc[r] = _mm256_fmadd_ps(F16X8(w, i + 8 * r), F16X8(a, i + 8 * r), acc[r]);
        }
    }
    for (; i + 8 <= n; i += 8) { acc[0] = _mm256_fmadd_ps(F16X8(w, i), F16X8(a, i), acc[0]); }
#undef F16X8
    float sum = hsum_ps(
        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) {
        uint16_t hw, ha;
        memcpy(&hw, w + 2 * i, 2);
        memcpy(&ha, a + 2 * i, 2);
        sum += wk_fp16_to_f32(hw) * wk_fp16_to_f32(ha);
    }
    *s = sum;
}

static void dot_bf16_avx2(int64_t n, float *s, const void *vw, const void *va)
{
    const uint8_t *w = vw, *a = va;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int r = 0; r < 4; r++) {
            acc[r] = _mm256_fmadd_ps(bf16x8(w + 2 * (i + 8 * r)), bf16x8(a + 2 * (i + 8 * r)),
                                     acc[r]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        acc[0] = _mm256_fmadd_ps(bf16x8(w + 2 * i), bf16x8(a + 2 * i), acc[0]);
    }
    float sum = hsum_ps(
        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) {
        uint16_t hw, ha;
        memcpy(&hw, w + 2 * i, 2);
        memcpy(&ha, a + 2 * i, 2);
        sum += wk_bf16_to_f32(hw) * wk_bf16_to_f32(ha);
    }
    *s = sum;
}

// --- legacy formats ------------------------------------------------------------------------------

static void deq_q4_0_avx2(const void *vx, float *y, int64_t n)
{
    const wk_block_q4_0 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        __m256i q = _mm256_sub_epi8(nibbles32(b[i].qs), _mm256_set1_epi8(8));
        float d = h2f(b[i].d);
        store_scaled(y, q, d, 0.0f, d, 0.0f);
    }
}

static void deq_q4_1_avx2(const void *vx, float *y, int64_t n)
{
    const wk_block_q4_1 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        float d = h2f(b[i].d), m = -h2f(b[i].m);
        store_scaled(y, nibbles32(b[i].qs), d, m, d, m);
    }
}

INLINE __m256i q5_bytes(const uint8_t *qh, const uint8_t *qs)
{
    __m256i hi = _mm256_and_si256(bits32(qh), _mm256_set1_epi8(16));
    return _mm256_or_si256(nibbles32(qs), hi);
}

static void deq_q5_0_avx2(const void *vx, float *y, int64_t n)
{
    const wk_block_q5_0 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        __m256i q = _mm256_sub_epi8(q5_bytes(b[i].qh, b[i].qs), _mm256_set1_epi8(16));
        float d = h2f(b[i].d);
        store_scaled(y, q, d, 0.0f, d, 0.0f);
    }
}

static void deq_q5_1_avx2(const void *vx, float *y, int64_t n)
{
    const wk_block_q5_1 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        float d = h2f(b[i].d), m = -h2f(b[i].m);
        store_scaled(y, q5_bytes(b[i].qh, b[i].qs), d, m, d, m);
    }
}

static void deq_q8_0_avx2(const void *vx, float *y, int64_t n)
{
    const wk_block_q8_0 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        float d = h2f(b[i].d);
        store_scaled(y, loadu256(b[i].qs), d, 0.0f, d, 0.0f);
    }
}

// Q8_0 / Q8_1 activations: d = amax / 127, q = round_half_even(x * 127 / amax); *sum = Σ q.
INLINE float quant_block_q8(const float *x, int8_t *qs, int *sum)
{
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int r = 0; r < 4; r++) {
        v[r] = _mm256_loadu_ps(x + 8 * r);
        amax = _mm256_max_ps(amax, _mm256_and_ps(v[r], absmask));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float am = _mm_cvtss_f32(m);
    const float d = am / 127.0f;
    const __m256 id = _mm256_set1_ps(am != 0.0f ? 127.0f / am : 0.0f);
    __m256i i32[4];
    for (int r = 0; r < 4; r++) {
        __m256 t = _mm256_round_ps(_mm256_mul_ps(v[r], id),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        i32[r] = _mm256_cvtps_epi32(t);
    }
    *sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]),
                                       _mm256_add_epi32(i32[2], i32[3])));
    // packs interleave 128-bit lanes: dwords come out as e0-3, e8-11, e16-19, e24-27, e4-7, ...
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]),
                                   _mm256_packs_epi32(i32[2], i32[3]));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, p);
    return d;
}

static void quant_q8_0_avx2(const float *x, void *vy, int64_t n)
{
    wk_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / WK_QK; i++) {
        int sum;
        int8_t qs[32];
        float d = quant_block_q8(x + i * WK_QK, qs, &sum);
        y[i].d = (uint16_t)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        memcpy(y[i].qs, qs, 32);
    }
}

static void quant_q8_1_avx2(const float *x, void *vy, int64_t n)
{
    wk_block_q8_1 *y = vy;
    for (int64_t i = 0; i < n / WK_QK; i++) {
        int sum;
        int8_t qs[32];
        float d = quant_block_q8(x + i * WK_QK, qs, &sum);
        y[i].d = (uint16_t)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        y[i].s = (uint16_t)_cvtss_sh(d * (float)sum, _MM_FROUND_TO_NEAREST_INT);
        memcpy(y[i].qs, qs, 32);
    }
}

// Legacy formats with signed quants (Q4_0, Q5_0, Q8_0) against Q8_0: Σ d_w d_a Σ q_w q_a. Each
// activation row's sum: blocks in pairs, the even ones into one accumulator and the odd ones into
// another (two independent FMA chains), added, then the odd last block; for one activation row
// (vec_dot) and four (vec_dot_4act) alike, so a token's result does not depend on how many tokens
// a matmul takes at once, and fname##_4il below repeats it per weight row.
#define LEGACY_SIGNED(fname, BT, QEXPR, UEXPR, OFF)                                                            \
    INLINE void fname##_n(int64_t n, float *s, const void *vw, const void *va, size_t st, int na)  \
    {                                                                                              \
        const BT *w = vw;                                                                          \
        __m256 acc[4], acc1[4];                                                                    \
        for (int j = 0; j < 4; j++) { acc[j] = acc1[j] = _mm256_setzero_ps(); }                   \
        int64_t i = 0;                                                                             \
        for (; i + 2 <= n / WK_QK; i += 2) {                                                       \
            const BT *b = &w[i];                                                                   \
            __m256i q0 = QEXPR;                                                                    \
            b = &w[i + 1];                                                                         \
            __m256i q1 = QEXPR;                                                                    \
            const float dw0 = h2f(w[i].d), dw1 = h2f(w[i + 1].d);                                  \
            _Pragma("GCC unroll 4") for (int j = 0; j < na; j++) {                                 \
                const wk_block_q8_0 *ab = ROW(wk_block_q8_0, va, j, st) + i;                       \
                __m256 p0 = _mm256_cvtepi32_ps(dot_s8s8(q0, loadu256(ab[0].qs)));                  \
                __m256 p1 = _mm256_cvtepi32_ps(dot_s8s8(q1, loadu256(ab[1].qs)));                  \
                acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw0 * h2f(ab[0].d)), p0, acc[j]);          \
                acc1[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw1 * h2f(ab[1].d)), p1, acc1[j]);        \
            }                                                                                      \
        }                                                                                          \
        for (int j = 0; j < na; j++) { acc[j] = _mm256_add_ps(acc[j], acc1[j]); }                  \
        for (; i < n / WK_QK; i++) {                                                               \
            const BT *b = &w[i];                                                                   \
            __m256i q = QEXPR;                                                                     \
            float dw = h2f(b->d);                                                                  \
            _Pragma("GCC unroll 4") for (int j = 0; j < na; j++) {                                 \
                const wk_block_q8_0 *ab = ROW(wk_block_q8_0, va, j, st) + i;                       \
                __m256 p = _mm256_cvtepi32_ps(dot_s8s8(q, loadu256(ab->qs)));                      \
                acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(ab->d)), p, acc[j]);              \
            }                                                                                      \
        }                                                                                          \
        for (int j = 0; j < na; j++) { s[j] = hsum_ps(acc[j]); }                                   \
    }                                                                                              \
    /* vec_dot_4il: four weight rows interleaved by four (block i of row r at w[4 i + r]) against \
       one activation row, each row's operations those of fname##_n above in the same order (same \
       bits as the file's layout); the eight chains of the four rows interleave, the activation   \
       blocks are loaded once for the four, and the next group's blocks are prefetched. With OFF  \
       (Q4_0 8, Q5_0 16) the weights go unsigned (UEXPR = q + OFF <= 31: vpmaddubsw cannot        \
       saturate) against the activation as it is, less OFF Σa per 4-byte lane (once per block for \
       the four rows): the same exact i32 lanes as dot_s8s8, without its two sign steps. */       \
    static void fname##_4il_avx2(int64_t n, float *s, const void *vw, size_t ws, const void *va)   \
    {                                                                                              \
        const BT *w = vw;                                                                          \
        const wk_block_q8_0 *a = va;                                                               \
        const __m256i ones = _mm256_set1_epi16(1), off = _mm256_set1_epi8(OFF);                    \
        __m256 acc[4], acc1[4];                                                                    \
        for (int r = 0; r < 4; r++) { acc[r] = acc1[r] = _mm256_setzero_ps(); }                    \
        int64_t i = 0;                                                                             \
        for (; i + 2 <= n / WK_QK; i += 2) {                                                       \
            for (size_t o = 0; o < 8 * sizeof(BT); o += 64) {                                      \
                _mm_prefetch((const char *)&w[4 * i] + 4 * ws + o, _MM_HINT_T1);                   \
            }                                                                                      \
            const __m256i a0 = loadu256(a[i].qs), a1 = loadu256(a[i + 1].qs);                      \
            const float da0 = h2f(a[i].d), da1 = h2f(a[i + 1].d);                                  \
            const __m256i i0 = dot_u8s8(off, a0, ones), i1 = dot_u8s8(off, a1, ones);              \
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                                  \
                const BT *b = &w[4 * i + r];                                                       \
                __m256i q0 = OFF ? _mm256_sub_epi32(dot_u8s8(UEXPR, a0, ones), i0)                 \
                                 : dot_s8s8(QEXPR, a0);                                            \
                b = &w[4 * i + 4 + r];                                                             \
                __m256i q1 = OFF ? _mm256_sub_epi32(dot_u8s8(UEXPR, a1, ones), i1)                 \
                                 : dot_s8s8(QEXPR, a1);                                            \
                const float dw0 = h2f(w[4 * i + r].d), dw1 = h2f(w[4 * i + 4 + r].d);              \
                __m256 p0 = _mm256_cvtepi32_ps(q0);                                                \
                __m256 p1 = _mm256_cvtepi32_ps(q1);                                                \
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dw0 * da0), p0, acc[r]);                   \
                acc1[r] = _mm256_fmadd_ps(_mm256_set1_ps(dw1 * da1), p1, acc1[r]);                 \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < 4; r++) { acc[r] = _mm256_add_ps(acc[r], acc1[r]); }                   \
        for (; i < n / WK_QK; i++) {                                                               \
            const __m256i a0 = loadu256(a[i].qs);                                                  \
            const float da0 = h2f(a[i].d);                                                         \
            const __m256i i0 = dot_u8s8(off, a0, ones);                                            \
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                                  \
                const BT *b = &w[4 * i + r];                                                       \
                __m256i q = OFF ? _mm256_sub_epi32(dot_u8s8(UEXPR, a0, ones), i0)                  \
                                : dot_s8s8(QEXPR, a0);                                             \
                __m256 p = _mm256_cvtepi32_ps(q);                                                  \
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(h2f(b->d) * da0), p, acc[r]);              \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < 4; r++) { s[r] = hsum_ps(acc[r]); }                                    \
    }

LEGACY_SIGNED(dot_q4_0, wk_block_q4_0, _mm256_sub_epi8(nibbles32(b->qs), _mm256_set1_epi8(8)),
              nibbles32(b->qs), 8)
LEGACY_SIGNED(dot_q5_0, wk_block_q5_0,
              _mm256_sub_epi8(q5_bytes(b->qh, b->qs), _mm256_set1_epi8(16)),
              q5_bytes(b->qh, b->qs), 16)
LEGACY_SIGNED(dot_q8_0, wk_block_q8_0, loadu256(b->qs), loadu256(b->qs), 0)

// Legacy formats with a min (Q4_1, Q5_1) against Q8_1: Σ d_w d_a Σ q_w q_a + m_w s_a.
#define LEGACY_MIN(fname, BT, QEXPR)                                                               \
    INLINE void fname##_n(int64_t n, float *s, const void *vw, const void *va, size_t st, int na)  \
    {                                                                                              \
        const BT *w = vw;                                                                          \
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),            \
                         _mm256_setzero_ps()};                                                     \
        float summ[4] = {0, 0, 0, 0};                                                              \
        const __m256i ones = _mm256_set1_epi16(1);                                                 \
        for (int64_t i = 0; i < n / WK_QK; i++) {                                                  \
            const BT *b = &w[i];                                                                   \
            __m256i q = QEXPR;                                                                     \
            float dw = h2f(b->d), mw = h2f(b->m);                                                  \
            _Pragma("GCC unroll 4") for (int j = 0; j < na; j++) {                                 \
                const wk_block_q8_1 *ab = ROW(wk_block_q8_1, va, j, st) + i;                       \
                __m256 p = _mm256_cvtepi32_ps(dot_u8s8(q, loadu256(ab->qs), ones));                \
                acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(ab->d)), p, acc[j]);              \
                summ[j] += mw * h2f(ab->s);                                                        \
            }                                                                                      \
        }                                                                                          \
        for (int j = 0; j < na; j++) { s[j] = hsum_ps(acc[j]) + summ[j]; }                         \
    }

// vec_dot_4il of Q4_1 / Q5_1: four rows interleaved by four (block i of row r at w[4 i + r]),
// each row's chains those of LEGACY_MIN's single-row kernel (the same operations in the same
// order, so the same bits), the activation block and its scales loaded once for the four rows,
// the next group of rows prefetched.
#define LEGACY_MIN_4IL(fname, BT, QEXPR)                                                           \
    static void fname##_4il_avx2(int64_t n, float *s, const void *vw, size_t ws, const void *va)   \
    {                                                                                              \
        const BT *w = vw;                                                                          \
        const wk_block_q8_1 *a = va;                                                               \
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),            \
                         _mm256_setzero_ps()};                                                     \
        float summ[4] = {0, 0, 0, 0};                                                              \
        const __m256i ones = _mm256_set1_epi16(1);                                                 \
        for (int64_t i = 0; i < n / WK_QK; i++) {                                                  \
            for (size_t o = 0; o < 4 * sizeof(BT); o += 64) {                                      \
                _mm_prefetch((const char *)&w[4 * i] + 4 * ws + o, _MM_HINT_T1);                   \
            }                                                                                      \
            const __m256i aq = loadu256(a[i].qs);                                                  \
            const float da = h2f(a[i].d), sa = h2f(a[i].s);                                        \
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                                  \
                const BT *b = &w[4 * i + r];                                                       \
                __m256i q = QEXPR;                                                                 \
                float dw = h2f(b->d), mw = h2f(b->m);                                              \
                __m256 p = _mm256_cvtepi32_ps(dot_u8s8(q, aq, ones));                              \
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da), p, acc[r]);                      \
                summ[r] += mw * sa;                                                                \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < 4; r++) { s[r] = hsum_ps(acc[r]) + summ[r]; }                          \
    }

LEGACY_MIN(dot_q4_1, wk_block_q4_1, nibbles32(b->qs))
LEGACY_MIN(dot_q5_1, wk_block_q5_1, q5_bytes(b->qh, b->qs))
LEGACY_MIN_4IL(dot_q4_1, wk_block_q4_1, nibbles32(b->qs))
LEGACY_MIN_4IL(dot_q5_1, wk_block_q5_1, q5_bytes(b->qh, b->qs))


// --- the table -----------------------------------------------------------------------------------

#define DOTS(tname)                                                                                \
    static void dot_##tname##_avx2(int64_t n, float *s, const void *w, const void *a)              \
    {                                                                                              \
        dot_##tname##_n(n, s, w, a, 0, 1);                                                         \
    }                                                                                              \
    static void dot4_##tname##_avx2(int64_t n, float *s, const void *w, const void *a, size_t st)  \
    {                                                                                              \
        dot_##tname##_n(n, s, w, a, st, 4);                                                        \
    }
DOTS(q4_0)
DOTS(q4_1)
DOTS(q5_0)
DOTS(q5_1)
DOTS(q8_0)

// Float formats, one weight row against 4 activation rows: each weight vector is loaded and
// widened once. LOAD8(p, i) gives 8 floats from element i of row p.
#define FLOAT_DOT4(tname, LOAD8, SCALAR)                                                           \
    static void dot4_##tname##_avx2(int64_t n, float *s, const void *vw, const void *va,           \
                                    size_t st)                                                     \
    {                                                                                              \
        const uint8_t *w = vw;                                                                     \
        const uint8_t *a[4];                                                                       \
        __m256 acc[4][2];                                                                          \
        for (int j = 0; j < 4; j++) {                                                              \
            a[j] = (const uint8_t *)va + (size_t)j * st;                                           \
            acc[j][0] = acc[j][1] = _mm256_setzero_ps();                                           \
        }                                                                                          \
        int64_t i = 0;                                                                             \
        for (; i + 16 <= n; i += 16) {                                                             \
            __m256 w0 = LOAD8(w, i), w1 = LOAD8(w, i + 8);                                         \
            for (int j = 0; j < 4; j++) {                                                          \
                acc[j][0] = _mm256_fmadd_ps(w0, LOAD8(a[j], i), acc[j][0]);                        \
                acc[j][1] = _mm256_fmadd_ps(w1, LOAD8(a[j], i + 8), acc[j][1]);                    \
            }                                                                                      \
        }                                                                                          \
        for (int j = 0; j < 4; j++) {                                                              \
            float sum = hsum_ps(_mm256_add_ps(acc[j][0], acc[j][1]));                              \
            for (int64_t k = i; k < n; k++) { sum += SCALAR(w, k) * SCALAR(a[j], k); }             \
            s[j] = sum;                                                                            \
        }                                                                                          \
    }

INLINE float f32_at(const uint8_t *p, int64_t i)
{
    float f;
    memcpy(&f, p + 4 * i, 4);
    return f;
}
INLINE float f16_at(const uint8_t *p, int64_t i)
{
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return wk_fp16_to_f32(h);
}
INLINE float bf16_at(const uint8_t *p, int64_t i)
{
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return wk_bf16_to_f32(h);
}
#define F32X8(p, i) _mm256_loadu_ps((const float *)(p) + (i))
#define F16X8(p, i) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((p) + 2 * (i))))
#define BF16X8(p, i) bf16x8((p) + 2 * (i))
FLOAT_DOT4(f32, F32X8, f32_at)
FLOAT_DOT4(f16, F16X8, f16_at)
FLOAT_DOT4(bf16, BF16X8, bf16_at)
#undef F32X8
#undef F16X8
#undef BF16X8

// --- weighted sums of rows -----------------------------------------------------------------------

// accum_rows (kernels.h) with FMA; four rows at once load and store o once.
static void accum_rows_avx2(float *o, int64_t o_stride, const float *p, int64_t p_stride,
                            const float *rows, int64_t row_stride, int nr, int nh, int64_t n)
{
    const float *r0 = rows, *r1 = rows + row_stride, *r2 = rows + 2 * row_stride,
                *r3 = rows + 3 * row_stride;
    for (int h = 0; h < nh; h++) {
        float *oh = o + (int64_t)h * o_stride;
        const float *ph = p + (int64_t)h * p_stride;
        int64_t c = 0;
        if (nr == 4) { // o is loaded and stored once for four rows
            const __m256 w0 = _mm256_set1_ps(ph[0]), w1 = _mm256_set1_ps(ph[1]);
            const __m256 w2 = _mm256_set1_ps(ph[2]), w3 = _mm256_set1_ps(ph[3]);
            for (; c + 8 <= n; c += 8) {
                __m256 acc = _mm256_loadu_ps(oh + c);
                acc = _mm256_fmadd_ps(w0, _mm256_loadu_ps(r0 + c), acc);
                acc = _mm256_fmadd_ps(w1, _mm256_loadu_ps(r1 + c), acc);
                acc = _mm256_fmadd_ps(w2, _mm256_loadu_ps(r2 + c), acc);
                acc = _mm256_fmadd_ps(w3, _mm256_loadu_ps(r3 + c), acc);
                _mm256_storeu_ps(oh + c, acc);
            }
            for (; c < n; c++) {
                oh[c] = fmaf(ph[3], r3[c],
                             fmaf(ph[2], r2[c], fmaf(ph[1], r1[c], fmaf(ph[0], r0[c], oh[c]))));
            }
            continue;
        }
        for (int i = 0; i < nr; i++) {
            const float *x = rows + (int64_t)i * row_stride;
            const __m256 w = _mm256_set1_ps(ph[i]);
            for (c = 0; c + 8 <= n; c += 8) {
                _mm256_storeu_ps(
                    oh + c, _mm256_fmadd_ps(w, _mm256_loadu_ps(x + c), _mm256_loadu_ps(oh + c)));
            }
            for (; c < n; c++) { oh[c] = fmaf(ph[i], x[c], oh[c]); }
        }
    }
}

// dot_f32_4x4 (kernels.h): two a rows at a time against the four b rows (8 accumulators of 8
// elements: with the loads, within AVX2's 16 registers), the sums reduced with a tree of
// horizontal adds.
static void dot_f32_4x4_avx2(int64_t n, const float *a, int64_t a_stride, const float *b,
                             int64_t b_stride, float *s, int64_t s_stride)
{
    #pragma GCC unroll 4
    for (int i0 = 0; i0 < 4; i0 += 2) {
        __m256 acc[2][4];
        #pragma GCC unroll 4
        for (int i = 0; i < 2; i++) {
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++) { acc[i][j] = _mm256_setzero_ps(); }
        }
        int64_t k = 0;
        for (; k + 8 <= n; k += 8) {
            __m256 bv[4];
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++) { bv[j] = _mm256_loadu_ps(b + j * b_stride + k); }
            #pragma GCC unroll 4
            for (int i = 0; i < 2; i++) {
                const __m256 av = _mm256_loadu_ps(a + (i0 + i) * a_stride + k);
                #pragma GCC unroll 4
                for (int j = 0; j < 4; j++) { acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]); }
            }
        }
        #pragma GCC unroll 4
        for (int i = 0; i < 2; i++) {
            // per 128-bit half of hadd(hadd(a0, a1), hadd(a2, a3)): the partial sums of j = 0..3;
            // the halves added give row i's four dots
            const __m256 h01 = _mm256_hadd_ps(acc[i][0], acc[i][1]);
            const __m256 h23 = _mm256_hadd_ps(acc[i][2], acc[i][3]);
            const __m256 h = _mm256_hadd_ps(h01, h23);
            float out[4];
            _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
            const float *ai = a + (i0 + i) * a_stride;
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                float t = out[j];
                for (int64_t kk = k; kk < n; kk++) { t += ai[kk] * b[j * b_stride + kk]; }
                s[(i0 + i) * s_stride + j] = t;
            }
        }
    }
}

void wk_kernels_fill_avx2(wk_kernels *k)
{
    k->accum_rows = accum_rows_avx2;
    k->dot_f32_4x4 = dot_f32_4x4_avx2;
    k->to_float[WICK_DTYPE_F16] = deq_f16_avx2;
    k->to_float[WICK_DTYPE_BF16] = deq_bf16_avx2;
    k->vec_dot[WICK_DTYPE_F32] = dot_f32_avx2;
    k->vec_dot[WICK_DTYPE_F16] = dot_f16_avx2;
    k->vec_dot[WICK_DTYPE_BF16] = dot_bf16_avx2;
    k->vec_dot_4act[WICK_DTYPE_F32] = dot4_f32_avx2;
    k->vec_dot_4act[WICK_DTYPE_F16] = dot4_f16_avx2;
    k->vec_dot_4act[WICK_DTYPE_BF16] = dot4_bf16_avx2;
#define SET(T, tname)                                                                              \
    k->to_float[WICK_DTYPE_##T] = deq_##tname##_avx2;                                              \
    k->vec_dot[WICK_DTYPE_##T] = dot_##tname##_avx2;                                               \
    k->vec_dot_4act[WICK_DTYPE_##T] = dot4_##tname##_avx2
    SET(Q4_0, q4_0);
    SET(Q4_1, q4_1);
    SET(Q5_0, q5_0);
    SET(Q5_1, q5_1);
    SET(Q8_0, q8_0);
#undef SET
    k->vec_dot_4il[WICK_DTYPE_Q4_0] = dot_q4_0_4il_avx2;
    k->vec_dot_4il[WICK_DTYPE_Q5_0] = dot_q5_0_4il_avx2;
    k->vec_dot_4il[WICK_DTYPE_Q4_1] = dot_q4_1_4il_avx2;
    k->vec_dot_4il[WICK_DTYPE_Q5_1] = dot_q5_1_4il_avx2;
    k->vec_dot_4il[WICK_DTYPE_Q8_0] = dot_q8_0_4il_avx2;
    k->from_float[WICK_DTYPE_F16] = quant_f16_avx2;
    k->from_float[WICK_DTYPE_BF16] = quant_bf16_avx2;
    k->from_float[WICK_DTYPE_Q8_0] = quant_q8_0_avx2;
    k->from_float[WICK_DTYPE_Q8_1] = quant_q8_1_avx2;
    wk_kernels_fill_avx2_kquant(k);
    wk_gemm_fill_avx2(k);
}
