// x86_avx512.c — AVX-512 (F, BW, VL, DQ, VNNI) kernels, run only when cpuid says so.
//
// This path starts as a copy of the AVX2 table (select.c) and replaces: the single-row F32/F16/BF16
// dot products (16 lanes, masked tails) and F16/BF16's vec_dot_4act; the Q8_0/Q5_0/Q4_0 dot
// products and Q8_0's vec_dot_4il, where vpdpbusd (VNNI, on 256-bit vectors) fuses vpmaddubsw +
// vpmaddwd + vpaddd without the i16 saturation step (the vec_dot_4il of Q4_0, Q5_0, Q4_1 and Q5_1
// are in legacy_avx512.c); and the GEMV kernels (vec_dot_4row) of Q4_K, Q5_K and Q6_K (Q2_K and
// Q3_K: kq23_avx512.c), on 512-bit vectors with vpdpbusd + vpdpwssd, bit-identical to ref.c like
// the AVX2 ones. Everything else, dequantization and the F32 vec_dot_4act included, is the AVX2
// code.
// Verified on an AMD EPYC VM with AVX-512 (2 vCPUs): test_kernels checks every kernel of this path
// against the scalar reference (the K formats' vec_dot_4row bit for bit) and the model goldens pass
// on it. bench_kernels, 4096 columns, one thread, AVX2 -> AVX-512 in the same run (the host's
// bandwidth varied from run to run): Q4_K hot 1.8-2.1x (25 -> 44 GB/s at best), cold 1.1-1.8x (20
// -> 35 at best); Q6_K hot 1.5-2.3x (25 -> 58), cold 1.2-1.4x (19 -> 23) -- "cold" there is
// --quick's 64 MiB weight; with the full run's 256 MiB both paths read 18-21 GB/s (memory-level
// parallelism bounds them, where a plain streaming sum reads 27-33). Phi-4 Q4_K_M decode, 1 thread:
// +8 % (best token) to +15 % (mean).
#include <immintrin.h>
#include <stddef.h>

#include "base/cpu.h"
#include "kernels/impl.h"
#include "kernels/x86_4row.h"
#include "kernels/x86_avx512.h"

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

// BF16 x BF16 (the activation converted to bf16): a bf16 is the top half of an f32, so of 32
// values loaded as 16 32-bit lanes, v & 0xffff0000 is the odd elements as floats and v << 16 the
// even ones: two products per lane, each into its own accumulator, without widening loads (the
// AVX2 kernel's vpmovzxwd + vpslld per 8 values). The tail by masked loads (+0 past the end).
INLINE void bf16_pair(const uint16_t *w, const uint16_t *a, __mmask32 m, __m512 *acc_e,
                      __m512 *acc_o)
{
    const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);
    const __m512i vw = _mm512_maskz_loadu_epi16(m, w), va = _mm512_maskz_loadu_epi16(m, a);
    *acc_o = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(vw, hi)),
                             _mm512_castsi512_ps(_mm512_and_si512(va, hi)), *acc_o);
    *acc_e = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(vw, 16)),
                             _mm512_castsi512_ps(_mm512_slli_epi32(va, 16)), *acc_e);
}

static void dot_bf16_avx512(int64_t n, float *s, const void *vw, const void *va)
{
    const uint16_t *w = vw, *a = va;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        bf16_pair(w + i, a + i, (__mmask32)~0u, &acc[0], &acc[1]);
        bf16_pair(w + i + 32, a + i + 32, (__mmask32)~0u, &acc[2], &acc[3]);
    }
    for (; i < n; i += 32) {
        const int64_t left = n - i;
        bf16_pair(w + i, a + i, left >= 32 ? (__mmask32)~0u : (__mmask32)((1u << left) - 1),
                  &acc[0], &acc[1]);
    }
    *s = _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

// vec_dot_4act of F16 and BF16: one weight row against four activation rows (a_j = a + j * st
// bytes), the weight converted once per 32 values for the four; per activation row two
// accumulators (F16: values 0..15 and 16..31 of each 32; BF16: the even and odd ones), as the
// single-row kernels above but without their second pair of BF16 accumulators.
#define FLOAT_DOT4(tname, LOADW, CONV)                                                            \
    static void dot4_##tname##_avx512(int64_t n, float *s, const void *vw, const void *va,        \
                                      size_t st)                                                   \
    {                                                                                              \
        const uint16_t *w = vw;                                                                    \
        __m512 acc0[4], acc1[4];                                                                   \
        for (int j = 0; j < 4; j++) { acc0[j] = acc1[j] = _mm512_setzero_ps(); }                   \
        for (int64_t i = 0; i < n; i += 32) {                                                      \
            const int64_t left = n - i;                                                            \
            const __mmask32 m = left >= 32 ? (__mmask32)~0u : (__mmask32)((1u << left) - 1);       \
            __m512 w0, w1;                                                                         \
            LOADW(w + i, m, &w0, &w1);                                                             \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {                                  \
                const uint16_t *aj = (const uint16_t *)((const char *)va + (size_t)j * st) + i;    \
                __m512 a0, a1;                                                                     \
                CONV(aj, m, &a0, &a1);                                                             \
                acc0[j] = _mm512_fmadd_ps(w0, a0, acc0[j]);                                        \
                acc1[j] = _mm512_fmadd_ps(w1, a1, acc1[j]);                                        \
            }                                                                                      \
        }                                                                                          \
        for (int j = 0; j < 4; j++) {                                                              \
            s[j] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[j], acc1[j]));                          \
        }                                                                                          \
    }

// 32 halves at p (masked-off ones +0) as two float vectors: values 0..15, 16..31.
INLINE void f16x32(const uint16_t *p, __mmask32 m, __m512 *lo, __m512 *hi)
{
    const __m512i v = _mm512_maskz_loadu_epi16(m, p);
    *lo = _mm512_cvtph_ps(_mm512_castsi512_si256(v));
    *hi = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(v, 1));
}

// 32 bf16 at p (masked-off ones +0) as two float vectors: the even values, the odd ones.
INLINE void bf16x32(const uint16_t *p, __mmask32 m, __m512 *even, __m512 *odd)
{
    const __m512i v = _mm512_maskz_loadu_epi16(m, p);
    *even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    *odd = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int)0xffff0000u)));
}

FLOAT_DOT4(f16, f16x32, f16x32)
FLOAT_DOT4(bf16, bf16x32, bf16x32)

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

// Q5_0: the nibbles as Q4_0's, + 16 where the element's bit of qh is set (one masked add), - 16.
INLINE __m256i q5_0_bytes(const wk_block_q5_0 *b)
{
    __m128i t = _mm_loadu_si128((const __m128i *)b->qs);
    __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(15));
    uint32_t h;
    memcpy(&h, b->qh, 4);
    v = _mm256_mask_add_epi8(v, (__mmask32)h, v, _mm256_set1_epi8(16));
    return _mm256_sub_epi8(v, _mm256_set1_epi8(16));
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
LEGACY(q5_0, wk_block_q5_0)
LEGACY(q8_0, wk_block_q8_0)

// vec_dot_4il of Q8_0 (Q4_0, Q5_0, Q4_1, Q5_1: legacy_avx512.c): four weight rows interleaved
// by four (block i of row r at w[4 i + r]) against one activation row. Each row's block product
// is the path's vec_dot's exact i32 lanes by another route: the weight bytes made unsigned
// (u = q + 128 = q ^ 0x80) go through vpdpbusd on an accumulator that starts at -128 Σa (per
// 4-byte lane, computed once per activation block for the four rows), which is Σ q a exactly;
// then the same float steps in the same order (cvt, set1(d_w * d_a), fma into the row's one
// chain, hsum256), so the same bits as vec_dot. The four rows' scales come from one 64-byte load
// (their fp16 d at bytes 0, B, 2B, 3B of the group; the last from a masked second load), four
// chains run at once, the next group is prefetched.
static void dot4il_q8_0_avx512(int64_t n, float *s, const void *vw, size_t ws, const void *va)
{
    const size_t bb = sizeof(wk_block_q8_0);
    const uint8_t *w = vw;
    const wk_block_q8_0 *a = va;
    const __m256i off = _mm256_set1_epi8((char)0x80);
    // 16-bit words 0, B/2, B, 3B/2 of the group: the four rows' d (words from 32 on: the second
    // load's, which reads only up to the last d)
    const __m512i idx = _mm512_setr_epi32((int)(bb / 2) << 16, (int)(3 * bb / 2) << 16 | (int)bb,
                                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const int w_last = (int)(3 * bb / 2);
    const __mmask32 m2 = (__mmask32)((1u << (w_last - 31)) - 1);
    __m256 acc[4];
    for (int r = 0; r < 4; r++) { acc[r] = _mm256_setzero_ps(); }
    for (int64_t i = 0; i < n / WK_QK; i++) {
        const uint8_t *g = w + (size_t)i * 4 * bb;
        for (size_t o = 0; o < 4 * bb; o += 64) {
            _mm_prefetch((const char *)g + 4 * ws + o, _MM_HINT_T1);
        }
        const __m256i aq = _mm256_loadu_si256((const __m256i *)a[i].qs);
        const __m256i init = _mm256_sub_epi32(_mm256_setzero_si256(),
                                              _mm256_dpbusd_epi32(_mm256_setzero_si256(), off, aq));
        const __m512i g0 = _mm512_loadu_si512(g);
        const __m128i dh = _mm512_castsi512_si128(
            _mm512_permutex2var_epi16(g0, idx, _mm512_maskz_loadu_epi16(m2, g + 64)));
        const __m128 d4 = _mm_mul_ps(_mm_cvtph_ps(dh), _mm_set1_ps(_cvtsh_ss(a[i].d)));
        const __m256 d8 = _mm256_castps128_ps256(d4);
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            const uint8_t *b = g + r * bb;
            const __m256i u = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(b + 2)), off);
            const __m256 p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(init, u, aq));
            const __m256 dr = _mm256_permutevar8x32_ps(d8, _mm256_set1_epi32(r));
            acc[r] = _mm256_fmadd_ps(dr, p, acc[r]);
        }
    }
    for (int r = 0; r < 4; r++) { s[r] = hsum256(acc[r]); }
}

// --- four weight rows against one activation row (GEMV) of Q4_K, Q5_K, Q6_K -------------------
//
// The AVX2 kernels' scheme on 512-bit vectors: 64 quant bytes u (unsigned) at a time, vpdpbusd
// (u8 x s8, four products summed into each i32 lane, no i16 saturation step) per 64 bytes, then
// vpackssdw of two such vectors into i16 group partial sums and vpdpwssd with the i16 group scales
// (pairs of i16 products summed into the i32 accumulator). No i16 saturates: a partial sum has 4
// products of u <= 63 (Q6_K; Q4_K 15, Q5_K 31) and |a| <= 127, at most 32004. Each row's block
// total is then exact, and goes through the reference's float operations in the reference's
// order, lane r following row r: acc[r] += (d_a * d_r) * (float)sumi_r, likewise the mins, then
// s[r] = acc[r] - accm[r] (ref.c KDOT), so the results are the same bits as ref.c and AVX2.

#define NO_ATTR

// One 64-element pair of chunks of a Q4_K/Q5_K row (chunks 2p, 2p + 1: groups 4p .. 4p + 3).
// lo = the low nibbles of both chunks (groups 4p, 4p + 2), hi = the high ones (4p + 1, 4p + 3),
// against the activation bytes rearranged to match (alo, ahi). vpackssdw then gives, in 128-bit
// lane L, four i16 partial sums of lo (group 4p + 2 (L / 2)) and four of hi (4p + 2 (L / 2) + 1):
// the scale vector scp has those groups' scales at those words.
INLINE __m512i q45_pair(__m512i acc, __m512i lo, __m512i hi, __m512i alo, __m512i ahi, __m512i scp)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i p = _mm512_packs_epi32(_mm512_dpbusd_epi32(zero, lo, alo),
                                   _mm512_dpbusd_epi32(zero, hi, ahi));
    return _mm512_dpwssd_epi32(acc, p, scp);
}

// The quants u of one Q4_K/Q5_K block b (qs at b + qs_off) as lo[p], hi[p] of chunk pair p
// (q45_pair). Q5_K's fifth bits by 16-bit shifts: qh0 has those of chunks 0, 1 at bits 0
// (low nibbles) and 1 (high) of each byte, qh1 those of chunks 2, 3.
INLINE void q45_quants_shift(const uint8_t *b, size_t qs_off, int five, __m512i *lo, __m512i *hi)
{
    const __m512i m15 = _mm512_set1_epi8(15), m16 = _mm512_set1_epi8(16);
    __m512i qh[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
    if (five) {
        const __m256i h = _mm256_loadu_si256((const __m256i *)(b + offsetof(wk_block_q5_k, qh)));
        qh[0] = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 2), 1);
        qh[1] = _mm512_srli_epi16(qh[0], 4);
    }
    #pragma GCC unroll 2
    for (int p = 0; p < 2; p++) {
        const __m512i q = loadu512(b + qs_off + 64 * p);
        lo[p] = _mm512_and_si512(q, m15);
        hi[p] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m15);
        if (five) {
            lo[p] = _mm512_ternarylogic_epi32(lo[p], _mm512_slli_epi16(qh[p], 4), m16, TL_OR_AND);
            hi[p] = _mm512_ternarylogic_epi32(hi[p], _mm512_slli_epi16(qh[p], 3), m16, TL_OR_AND);
        }
    }
}

// The same for Q5_K with GFNI: one vgf2p8affineqb of hh = [qh | qh] puts the fifth bit at bit 4
// and clears the others (each 64-bit lane a bit matrix whose byte 3, the row of output bit 4,
// picks input bit k: chunk c's low nibbles k = 2 c, its high ones 2 c + 1; the first 256 bits
// hold chunk 2p, the second 2p + 1), then one vpternlogd takes the nibble's bits 0..3.
__attribute__((target("gfni"))) INLINE void q5_quants_gfni(const uint8_t *b, size_t qs_off,
                                                           int five, __m512i *lo, __m512i *hi)
{
    const __m512i m15 = _mm512_set1_epi8(15);
    const __m512i hh = _mm512_broadcast_i64x4(
        _mm256_loadu_si256((const __m256i *)(b + offsetof(wk_block_q5_k, qh))));
    #pragma GCC unroll 2
    for (int p = 0; p < 2; p++) {
        const long long k = 4 * p; // chunk 2p's low-nibble bit
        const __m512i glo = _mm512_inserti64x4(_mm512_set1_epi64(1ll << (k + 24)),
                                               _mm256_set1_epi64x(1ll << (k + 26)), 1);
        const __m512i ghi = _mm512_inserti64x4(_mm512_set1_epi64(1ll << (k + 25)),
                                               _mm256_set1_epi64x(1ll << (k + 27)), 1);
        const __m512i q = loadu512(b + qs_off + 64 * p);
        const __m512i blo = _mm512_gf2p8affine_epi64_epi8(hh, glo, 0);
        const __m512i bhi = _mm512_gf2p8affine_epi64_epi8(hh, ghi, 0);
        lo[p] = _mm512_ternarylogic_epi32(q, blo, m15, TL_SELECT);
        hi[p] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(q, 4), bhi, m15, TL_SELECT);
    }
    (void)five;
}

// Row r's block i at vw + r * rs + i * bs (rows as in the file or interleaved by four, as in
// x86_kquant_avx2.c's dot_q45_k_4row); ws = the bytes of one row. QUANTS unpacks a block
// (q45_quants_shift, or q5_quants_gfni compiled with ATTR, GFNI's target).
#define DOT_Q45_K_4ROW(name, ATTR, QUANTS)                                                         \
    ATTR INLINE void name(int64_t n, float *s, const void *vw, size_t rs, size_t bs, size_t ws,    \
                          const void *va, int five)                                                \
    {                                                                                              \
        const wk_block_q8_k *a = va;                                                               \
        const size_t bb = five ? sizeof(wk_block_q5_k) : sizeof(wk_block_q4_k);                    \
        const size_t qs_off = five ? offsetof(wk_block_q5_k, qs) : offsetof(wk_block_q4_k, qs);    \
        /* byte pairs of the scale vectors of chunk pairs 0, 1: word k of lane L is scale          \
           4p + 2 (L / 2) + (k % 8) / 4 (zero-extended: index bytes with bit 7 set give 0) */      \
        const __m128i c0 = _mm_setr_epi8(0, -128, 0, -128, 0, -128, 0, -128, 1, -128, 1, -128, 1,  \
                                         -128, 1, -128);                                           \
        const __m512i csc0 = _mm512_inserti64x4(                                                   \
            _mm512_castsi256_si512(_mm256_broadcastsi128_si256(c0)),                               \
            _mm256_broadcastsi128_si256(_mm_add_epi8(c0, _mm_set1_epi8(2))), 1);                   \
        const __m512i csc1 = _mm512_add_epi8(csc0, _mm512_set1_epi8(4));                           \
        /* the mins as i16 (bytes 8..15) */                                                        \
        const __m512i cmn = _mm512_broadcast_i32x4(_mm_setr_epi8(                                  \
            8, -128, 9, -128, 10, -128, 11, -128, 12, -128, 13, -128, 14, -128, 15, -128));        \
        const __m512i lane0 = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);  \
        __m128 acc = _mm_setzero_ps(), accm = _mm_setzero_ps();                                    \
        for (int64_t i = 0; i < n / WK_QK_K; i++) {                                                \
            const wk_block_q8_k *ab = a + i;                                                       \
            const uint8_t *blk[4];                                                                 \
            blocks_4row(vw, rs, bs, i, ws, bb, blk);                                               \
            /* the activation's sums over the eight 32-element groups (pairs of bsums) */          \
            const __m128i gs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)ab->bsums),         \
                                              _mm_loadu_si128((const __m128i *)ab->bsums + 1));    \
            /* activation bytes of chunk pair p: [a 128p + 0..31 | 128p + 64..95] against the low  \
               nibbles, [128p + 32..63 | 128p + 96..127] against the high ones */                  \
            const __m512i a0 = loadu512(ab->qs), a1 = loadu512(ab->qs + 64);                       \
            const __m512i a2 = loadu512(ab->qs + 128), a3 = loadu512(ab->qs + 192);                \
            const __m512i alo0 = _mm512_shuffle_i64x2(a0, a1, 0x44);                               \
            const __m512i ahi0 = _mm512_shuffle_i64x2(a0, a1, 0xee);                               \
            const __m512i alo1 = _mm512_shuffle_i64x2(a2, a3, 0x44);                               \
            const __m512i ahi1 = _mm512_shuffle_i64x2(a2, a3, 0xee);                               \
            __m128 d4, dmin4;                                                                      \
            const __m512i scm = k4_scales_4rows(blk, &d4, &dmin4);                                 \
            /* Σ_g mn_g gs_g of row r: lane r, then each lane's sum to dword r */                  \
            __m512i pm =                                                                           \
                _mm512_madd_epi16(_mm512_shuffle_epi8(scm, cmn), _mm512_broadcast_i32x4(gs));      \
            pm = _mm512_add_epi32(pm, _mm512_shuffle_epi32(pm, _MM_PERM_BADC));                    \
            pm = _mm512_add_epi32(pm, _mm512_shuffle_epi32(pm, _MM_PERM_CDAB));                    \
            const __m128i pm4 = _mm512_castsi512_si128(_mm512_permutexvar_epi32(lane0, pm));       \
            __m512i sumi[4];                                                                       \
            const __m512i scr[4] = {/* lane r everywhere (immediates: clang wants constants) */    \
                                    _mm512_shuffle_i64x2(scm, scm, 0x00),                          \
                                    _mm512_shuffle_i64x2(scm, scm, 0x55),                          \
                                    _mm512_shuffle_i64x2(scm, scm, 0xaa),                          \
                                    _mm512_shuffle_i64x2(scm, scm, 0xff)};                         \
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                                  \
                __m512i lo[2], hi[2];                                                              \
                QUANTS(blk[r], qs_off, five, lo, hi);                                              \
                __m512i t = q45_pair(_mm512_setzero_si512(), lo[0], hi[0], alo0, ahi0,             \
                                     _mm512_shuffle_epi8(scr[r], csc0));                           \
                sumi[r] =                                                                          \
                    q45_pair(t, lo[1], hi[1], alo1, ahi1, _mm512_shuffle_epi8(scr[r], csc1));      \
            }                                                                                      \
            acc = k4row_add(acc, ab->d, d4, hsum4_epi32_512(sumi[0], sumi[1], sumi[2], sumi[3]));  \
            accm = k4row_add(accm, ab->d, dmin4, pm4);                                             \
        }                                                                                          \
        _mm_storeu_ps(s, _mm_sub_ps(acc, accm));                                                   \
    }

DOT_Q45_K_4ROW(dot_q45_k_4row, NO_ATTR, q45_quants_shift)
DOT_Q45_K_4ROW(dot_q5_k_4row_gfni, __attribute__((target("gfni"))), q5_quants_gfni)

WK_4ROW_ENTRIES(q4_k, avx512, dot_q45_k_4row, wk_block_q4_k, 0)
WK_4ROW_ENTRIES(q5_k, avx512, dot_q45_k_4row, wk_block_q5_k, 1)

__attribute__((target("gfni"))) static void dot4r_q5_k_gfni(int64_t n, float *s, const void *w,
                                                            size_t ws, const void *a)
{
    dot_q5_k_4row_gfni(n, s, w, ws, sizeof(wk_block_q5_k), ws, a, 1);
}

__attribute__((target("gfni"))) static void dot4il_q5_k_gfni(int64_t n, float *s, const void *w,
                                                             size_t ws, const void *a)
{
    dot_q5_k_4row_gfni(n, s, w, sizeof(wk_block_q5_k), 4 * sizeof(wk_block_q5_k), ws, a, 1);
}

// Q6_K: half h of a block (128 elements) is 64 bytes of ql (L) and 32 of qh (H). As unsigned
// u = q + 32, elements 128h + 0..63 are [L[l] & 15 | (H[l] & 3) << 4, L[l + 32] & 15 |
// (H[l] >> 2 & 3) << 4] and 128h + 64..127 the same with L >> 4 and H >> 4: two 64-byte vectors
// in element order against the activation as it is. 128-bit lane L of the first holds group
// 8h + L, of the second 8h + 4 + L; vpackssdw puts both in lane L (scale index vector idx).
// The offset comes back out as -32 Σ_g sc_g bsum_g.
//
// The high bits at bits 4, 5 from hh = [H | H] (64 bytes): bits 0, 1 of H | bits 2, 3 for the
// first vector (sel 0), bits 4, 5 | 6, 7 for the second (sel 1), the other bits 0. By 16-bit
// shifts (<< 4 | << 2; >> 0 | >> 2) and a mask, or, where the CPU has GFNI, by one
// vgf2p8affineqb per vector (each 64-bit lane a bit matrix whose rows for output bits 4, 5,
// bytes 3, 2, pick input bits 2k, 2k + 1): hot Q6_K vec_dot_4il 36.4-36.7 -> 40.0-40.3 GB/s
// (bench_kernels --quick, one thread, three runs each alternated, load 2.7-2.8).
INLINE __m512i q6_hi_shift(__m512i hh, int sel)
{
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    const __m512i m48 = _mm512_set1_epi8(48);
    return _mm512_and_si512(sel ? _mm512_srlv_epi16(hh, shr) : _mm512_sllv_epi16(hh, shl), m48);
}

__attribute__((target("gfni"))) INLINE __m512i q6_hi_gfni(__m512i hh, int sel)
{
    const __m512i g = sel ? _mm512_inserti64x4(_mm512_set1_epi64(0x10200000),
                                               _mm256_set1_epi64x(0x40800000), 1)
                          : _mm512_inserti64x4(_mm512_set1_epi64(0x01020000),
                                               _mm256_set1_epi64x(0x04080000), 1);
    return _mm512_gf2p8affine_epi64_epi8(hh, g, 0);
}

// The four-row kernel with HI(hh, sel) for the high bits, compiled with ATTR (GFNI's target).
#define DOT_Q6_K_4ROW(name, ATTR, HI)                                                              \
    ATTR INLINE void name(int64_t n, float *s, const void *vw, size_t rs, size_t bst, size_t ws,   \
                          const void *va)                                                          \
    {                                                                                              \
        const wk_block_q8_k *a = va;                                                               \
        const __m512i m15 = _mm512_set1_epi8(15);                                                  \
        /* word k: scale 8h + k / 8 + 4 ((k % 8) / 4) */                                           \
        const __m512i idx0 = _mm512_set_epi16(7, 7, 7, 7, 3, 3, 3, 3, 6, 6, 6, 6, 2, 2, 2, 2, 5,   \
                                              5, 5, 5, 1, 1, 1, 1, 4, 4, 4, 4, 0, 0, 0, 0);        \
        const __m512i idx1 = _mm512_add_epi16(idx0, _mm512_set1_epi16(8));                         \
        const __m512i zero = _mm512_setzero_si512();                                               \
        __m128 acc = _mm_setzero_ps();                                                             \
        for (int64_t i = 0; i < n / WK_QK_K; i++) {                                                \
            const wk_block_q8_k *ab = a + i;                                                       \
            const uint8_t *blk[4];                                                                 \
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                                  \
                blk[r] = (const uint8_t *)vw + r * rs + (size_t)i * bst;                           \
            }                                                                                      \
            prefetch_next4(blk, 4 * ws, sizeof(wk_block_q6_k));                                    \
            const __m256i bs = _mm256_loadu_si256((const __m256i *)ab->bsums);                     \
            const __m512i av0 = loadu512(ab->qs), av1 = loadu512(ab->qs + 64);                     \
            const __m512i av2 = loadu512(ab->qs + 128), av3 = loadu512(ab->qs + 192);              \
            __m512i sumi[4];                                                                       \
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                                  \
                const wk_block_q6_k *b = (const wk_block_q6_k *)blk[r];                            \
                const __m256i sc16 =                                                               \
                    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));             \
                /* idx never reads the upper half */                                               \
                const __m512i sc512 = _mm512_castsi256_si512(sc16);                                \
                /* q = u - 32: start from -32 Σ_g sc_g bsum_g */                                   \
                const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5);            \
                __m512i t = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), corr)); \
                _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {                              \
                    const __m512i l = loadu512(b->ql + 64 * h);                                    \
                    const __m512i hh = _mm512_broadcast_i64x4(                                     \
                        _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h)));                    \
                    __m512i u01 = _mm512_ternarylogic_epi32(l, HI(hh, 0), m15, TL_SELECT);         \
                    __m512i u23 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), HI(hh, 1),    \
                                                            m15, TL_SELECT);                       \
                    __m512i p =                                                                    \
                        _mm512_packs_epi32(_mm512_dpbusd_epi32(zero, u01, h ? av2 : av0),          \
                                           _mm512_dpbusd_epi32(zero, u23, h ? av3 : av1));         \
                    t = _mm512_dpwssd_epi32(t, p,                                                  \
                                            _mm512_permutexvar_epi16(h ? idx1 : idx0, sc512));     \
                }                                                                                  \
                sumi[r] = t;                                                                       \
            }                                                                                      \
            const __m128 d4 = h2f_4rows(blk, offsetof(wk_block_q6_k, d));                          \
            acc = k4row_add(acc, ab->d, d4,                                                        \
                            hsum4_epi32_512(sumi[0], sumi[1], sumi[2], sumi[3]));                  \
        }                                                                                          \
        /* the reference's sumf - summf with summf = 0 */                                          \
        _mm_storeu_ps(s, _mm_sub_ps(acc, _mm_setzero_ps()));                                       \
    }

DOT_Q6_K_4ROW(dot_q6_k_4row, NO_ATTR, q6_hi_shift)
DOT_Q6_K_4ROW(dot_q6_k_4row_gfni, __attribute__((target("gfni"))), q6_hi_gfni)

static void dot4r_q6_k_avx512(int64_t n, float *s, const void *w, size_t ws, const void *a)
{
    dot_q6_k_4row(n, s, w, ws, sizeof(wk_block_q6_k), ws, a);
}

static void dot4il_q6_k_avx512(int64_t n, float *s, const void *w, size_t ws, const void *a)
{
    dot_q6_k_4row(n, s, w, sizeof(wk_block_q6_k), 4 * sizeof(wk_block_q6_k), ws, a);
}

__attribute__((target("gfni"))) static void dot4r_q6_k_gfni(int64_t n, float *s, const void *w,
                                                            size_t ws, const void *a)
{
    dot_q6_k_4row_gfni(n, s, w, ws, sizeof(wk_block_q6_k), ws, a);
}

__attribute__((target("gfni"))) static void dot4il_q6_k_gfni(int64_t n, float *s, const void *w,
                                                             size_t ws, const void *a)
{
    dot_q6_k_4row_gfni(n, s, w, sizeof(wk_block_q6_k), 4 * sizeof(wk_block_q6_k), ws, a);
}

void wk_kernels_fill_avx512_gfni(wk_kernels *k, bool gfni)
{
    k->vec_dot_4row[WICK_DTYPE_Q5_K] = gfni ? dot4r_q5_k_gfni : dot4r_q5_k_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q5_K] = gfni ? dot4il_q5_k_gfni : dot4il_q5_k_avx512;
    k->vec_dot_4row[WICK_DTYPE_Q6_K] = gfni ? dot4r_q6_k_gfni : dot4r_q6_k_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q6_K] = gfni ? dot4il_q6_k_gfni : dot4il_q6_k_avx512;
}

// dot_f32_4x4 (kernels.h): 16 accumulators of 16 elements (4 a rows × 4 b rows), each folded to
// 8 lanes, then the AVX2 kernel's tree of horizontal adds.
static void dot_f32_4x4_avx512(int64_t n, const float *a, int64_t a_stride, const float *b,
                               int64_t b_stride, float *s, int64_t s_stride)
{
    __m512 acc[4][4];
    #pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) { acc[i][j] = _mm512_setzero_ps(); }
    }
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 bv[4];
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) { bv[j] = _mm512_loadu_ps(b + j * b_stride + k); }
        #pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            const __m512 av = _mm512_loadu_ps(a + i * a_stride + k);
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++) { acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]); }
        }
    }
    #pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        __m256 f[4];
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const __m512d v = _mm512_castps_pd(acc[i][j]);
            f[j] = _mm256_add_ps(_mm512_castps512_ps256(acc[i][j]),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(v, 1)));
        }
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(f[0], f[1]), _mm256_hadd_ps(f[2], f[3]));
        float out[4];
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
        const float *ai = a + i * a_stride;
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            float t = out[j];
            for (int64_t kk = k; kk < n; kk++) { t += ai[kk] * b[j * b_stride + kk]; }
            s[i * s_stride + j] = t;
        }
    }
}

void wk_kernels_fill_avx512(wk_kernels *k)
{
    k->dot_f32_4x4 = dot_f32_4x4_avx512;
    k->vec_dot[WICK_DTYPE_F32] = dot_f32_avx512;
    k->vec_dot[WICK_DTYPE_F16] = dot_f16_avx512;
    k->vec_dot[WICK_DTYPE_BF16] = dot_bf16_avx512;
    k->vec_dot_4act[WICK_DTYPE_F16] = dot4_f16_avx512;
    k->vec_dot_4act[WICK_DTYPE_BF16] = dot4_bf16_avx512;
    k->vec_dot[WICK_DTYPE_Q4_0] = dot_q4_0_avx512;
    k->vec_dot_4act[WICK_DTYPE_Q4_0] = dot4_q4_0_avx512;
    k->vec_dot[WICK_DTYPE_Q8_0] = dot_q8_0_avx512;
    k->vec_dot_4act[WICK_DTYPE_Q8_0] = dot4_q8_0_avx512;
    k->vec_dot[WICK_DTYPE_Q5_0] = dot_q5_0_avx512;
    k->vec_dot_4act[WICK_DTYPE_Q5_0] = dot4_q5_0_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q8_0] = dot4il_q8_0_avx512;
    wk_kernels_fill_avx512_q23(k, wk_cpu_has_vbmi());
    k->vec_dot_4row[WICK_DTYPE_Q4_K] = dot4r_q4_k_avx512;
    k->vec_dot_4il[WICK_DTYPE_Q4_K] = dot4il_q4_k_avx512;
    wk_kernels_fill_avx512_gfni(k, wk_cpu_has_gfni());
    wk_kernels_fill_avx512_legacy(k, wk_cpu_has_gfni());
    wk_kernels_fill_avx512_batch(k);
    wk_gemm_fill_avx512(k);
}
