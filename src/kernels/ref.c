// ref.c — the scalar reference kernels: the specification of every tensor format and the oracle
// the SIMD paths are tested against (ggml-quants.c `*_ref`).
//
// Each quantized format has one unpacking function that turns a block into its small integers
// and per-group scales; dequantization and the dot product are both written on top of it, so they
// cannot disagree about the bit layout. Dot products keep ggml's structure: integer products
// inside a block, float scales once per block (per group where the format has float sub-scales).
#include <math.h>
#include <stdlib.h>

#include "kernels/impl.h"

#define DEQ(name) static void name(const void *vx, float *y, int64_t n)
#define QUANT(name) static void name(const float *x, void *vy, int64_t n)
#define DOT(name) static void name(int64_t n, float *s, const void *vw, const void *va)

// --- float formats -------------------------------------------------------------------------------

DEQ(deq_f32_ref)
{
    memcpy(y, vx, (size_t)n * sizeof(float));
}

DEQ(deq_f16_ref)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        y[i] = wk_fp16_to_f32(h);
    }
}

DEQ(deq_bf16_ref)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        y[i] = wk_bf16_to_f32(h);
    }
}

QUANT(quant_f32_ref)
{
    memcpy(vy, x, (size_t)n * sizeof(float));
}

QUANT(quant_f16_ref)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = wk_f32_to_fp16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

QUANT(quant_bf16_ref)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = wk_f32_to_bf16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

// Float dot products sum the float32 products in double, as ggml's scalar code does.
DOT(dot_f32_ref)
{
    const float *w = vw, *a = va;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) { sum += (double)(w[i] * a[i]); }
    *s = (float)sum;
}

DOT(dot_f16_ref)
{
    const uint8_t *w = vw, *a = va;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t hw, ha;
        memcpy(&hw, w + 2 * i, 2);
        memcpy(&ha, a + 2 * i, 2);
        sum += (double)(wk_fp16_to_f32(hw) * wk_fp16_to_f32(ha));
    }
    *s = (float)sum;
}

DOT(dot_bf16_ref)
{
    const uint8_t *w = vw, *a = va;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t hw, ha;
        memcpy(&hw, w + 2 * i, 2);
        memcpy(&ha, a + 2 * i, 2);
        sum += (double)(wk_bf16_to_f32(hw) * wk_bf16_to_f32(ha));
    }
    *s = (float)sum;
}

// --- legacy formats: 32 elements per block -------------------------------------------------------

static float h2f(uint16_t h)
{
    return wk_fp16_to_f32(h);
}

// The 5th bits of a Q5_0/Q5_1 block: bit j of le32(qh) belongs to element j.
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// Unpacked quants q[32] of one block, in element order.
static void unpack_q4(const uint8_t *qs, int q[32])
{
    for (int j = 0; j < 16; j++) {
        q[j] = qs[j] & 15;
        q[j + 16] = qs[j] >> 4;
    }
}

static void unpack_q5(const uint8_t *qh, const uint8_t *qs, int q[32])
{
    uint32_t h = le32(qh);
    for (int j = 0; j < 16; j++) {
        q[j] = (qs[j] & 15) | (int)((h >> j) & 1) << 4;
        q[j + 16] = (qs[j] >> 4) | (int)((h >> (j + 16)) & 1) << 4;
    }
}

DEQ(deq_q4_0_ref)
{
    const wk_block_q4_0 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        const float d = h2f(b[i].d);
        int q[32];
        unpack_q4(b[i].qs, q);
        for (int j = 0; j < 32; j++) { y[j] = (float)(q[j] - 8) * d; }
    }
}

DEQ(deq_q4_1_ref)
{
    const wk_block_q4_1 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        const float d = h2f(b[i].d), m = h2f(b[i].m);
        int q[32];
        unpack_q4(b[i].qs, q);
        for (int j = 0; j < 32; j++) { y[j] = (float)q[j] * d + m; }
    }
}

DEQ(deq_q5_0_ref)
{
    const wk_block_q5_0 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        const float d = h2f(b[i].d);
        int q[32];
        unpack_q5(b[i].qh, b[i].qs, q);
        for (int j = 0; j < 32; j++) { y[j] = (float)(q[j] - 16) * d; }
    }
}

DEQ(deq_q5_1_ref)
{
    const wk_block_q5_1 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        const float d = h2f(b[i].d), m = h2f(b[i].m);
        int q[32];
        unpack_q5(b[i].qh, b[i].qs, q);
        for (int j = 0; j < 32; j++) { y[j] = (float)q[j] * d + m; }
    }
}

DEQ(deq_q8_0_ref)
{
    const wk_block_q8_0 *b = vx;
    for (int64_t i = 0; i < n / WK_QK; i++, y += WK_QK) {
        const float d = h2f(b[i].d);
        for (int j = 0; j < 32; j++) { y[j] = (float)b[i].qs[j] * d; }
    }
}

// Q8_0 / Q8_1 activations: d = amax / 127, q = round_half_even(x * (127 / amax)).
static float quant_block_q8(const float *x, int8_t *qs, int *sum)
{
    float amax = 0;
    for (int j = 0; j < 32; j++) {
        float ax = x[j] < 0 ? -x[j] : x[j];
        if (ax > amax) { amax = ax; }
    }
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    uint32_t s = 0; // wraps like the SIMD code's int32 lanes (only in the degenerate case)
    for (int j = 0; j < 32; j++) {
        int32_t c = wk_cvt_round_even(x[j] * id);
        qs[j] = wk_sat_i8(c);
        s += (uint32_t)c;
    }
    *sum = (int32_t)s;
    return d;
}

QUANT(quant_q8_0_ref)
{
    wk_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / WK_QK; i++) {
        int sum;
        float d = quant_block_q8(x + i * WK_QK, y[i].qs, &sum);
        y[i].d = wk_f32_to_fp16(d);
    }
}

QUANT(quant_q8_1_ref)
{
    wk_block_q8_1 *y = vy;
    for (int64_t i = 0; i < n / WK_QK; i++) {
        int sum;
        float d = quant_block_q8(x + i * WK_QK, y[i].qs, &sum);
        y[i].d = wk_f32_to_fp16(d);
        y[i].s = wk_f32_to_fp16(d * (float)sum);
    }
}

static int dot_i8_32(const int q[32], const int8_t *a)
{
    int s = 0;
    for (int j = 0; j < 32; j++) { s += q[j] * a[j]; }
    return s;
}

// The legacy formats' dot products differ only in how a block's quants unpack, the offset the
// _0 formats subtract from them, and the _1 formats' minimum term (weight min x activation sum).
#define LEGACY_DOT(name, wtype, atype, UNPACK, off, MINTERM)                                    \
    DOT(name)                                                                                   \
    {                                                                                           \
        const wtype *w = vw;                                                                    \
        const atype *a = va;                                                                    \
        float sum = 0;                                                                          \
        for (int64_t i = 0; i < n / WK_QK; i++) {                                               \
            int q[32];                                                                          \
            UNPACK;                                                                             \
            for (int j = 0; j < 32; j++) { q[j] -= (off); }                                     \
            sum += (float)dot_i8_32(q, a[i].qs) * (h2f(w[i].d) * h2f(a[i].d)) MINTERM;          \
        }                                                                                       \
        *s = sum;                                                                               \
    }

LEGACY_DOT(dot_q4_0_ref, wk_block_q4_0, wk_block_q8_0, unpack_q4(w[i].qs, q), 8, )
LEGACY_DOT(dot_q4_1_ref, wk_block_q4_1, wk_block_q8_1, unpack_q4(w[i].qs, q), 0,
           +h2f(w[i].m) * h2f(a[i].s))
LEGACY_DOT(dot_q5_0_ref, wk_block_q5_0, wk_block_q8_0, unpack_q5(w[i].qh, w[i].qs, q), 16, )
LEGACY_DOT(dot_q5_1_ref, wk_block_q5_1, wk_block_q8_1, unpack_q5(w[i].qh, w[i].qs, q), 0,
           +h2f(w[i].m) * h2f(a[i].s))

DOT(dot_q8_0_ref)
{
    const wk_block_q8_0 *w = vw;
    const wk_block_q8_0 *a = va;
    float sum = 0;
    for (int64_t i = 0; i < n / WK_QK; i++) {
        int q[32];
        for (int j = 0; j < 32; j++) { q[j] = w[i].qs[j]; }
        sum += (float)dot_i8_32(q, a[i].qs) * (h2f(w[i].d) * h2f(a[i].d));
    }
    *s = sum;
}

// --- K formats: 256 elements per super-block -----------------------------------------------------


static void unpack_q2_k(const wk_block_q2_k *b, kunpacked *u)
{
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j++) {
            for (int l = 0; l < 32; l++) {
                u->q[128 * h + 32 * j + l] = (b->qs[32 * h + l] >> (2 * j)) & 3;
            }
        }
    }
    for (int g = 0; g < 16; g++) {
        u->sc[g] = b->scales[g] & 15;
        u->mn[g] = b->scales[g] >> 4;
    }
}

static void unpack_q3_k(const wk_block_q3_k *b, kunpacked *u)
{
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j++) {
            for (int l = 0; l < 32; l++) {
                int lo = (b->qs[32 * h + l] >> (2 * j)) & 3;
                int hb = (b->hmask[l] >> (4 * h + j)) & 1;
                u->q[128 * h + 32 * j + l] = lo - (hb ? 0 : 4);
            }
        }
    }
    int8_t s[16];
    wk_q3_k_scales(b->scales, s);
    for (int g = 0; g < 16; g++) {
        u->sc[g] = s[g];
        u->mn[g] = 0;
    }
}

static void unpack_q4_k(const wk_block_q4_k *b, kunpacked *u)
{
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            u->q[64 * c + l] = b->qs[32 * c + l] & 15;
            u->q[64 * c + 32 + l] = b->qs[32 * c + l] >> 4;
        }
    }
    for (int g = 0; g < 8; g++) {
        uint8_t sc, mn;
        wk_scale_min_k4(g, b->scales, &sc, &mn);
        u->sc[g] = sc;
        u->mn[g] = mn;
    }
}

static void unpack_q5_k(const wk_block_q5_k *b, kunpacked *u)
{
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            u->q[64 * c + l] = (b->qs[32 * c + l] & 15) | ((b->qh[l] >> (2 * c)) & 1) << 4;
            u->q[64 * c + 32 + l] = (b->qs[32 * c + l] >> 4) | ((b->qh[l] >> (2 * c + 1)) & 1) << 4;
        }
    }
    for (int g = 0; g < 8; g++) {
        uint8_t sc, mn;
        wk_scale_min_k4(g, b->scales, &sc, &mn);
        u->sc[g] = sc;
        u->mn[g] = mn;
    }
}

static void unpack_q6_k(const wk_block_q6_k *b, kunpacked *u)
{
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        for (int l = 0; l < 32; l++) {
            int *q = u->q + 128 * h + l;
            q[0] = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
            q[32] = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
            q[64] = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
            q[96] = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        }
    }
    for (int g = 0; g < 16; g++) {
        u->sc[g] = b->scales[g];
        u->mn[g] = 0;
    }
}

void wk_kunpack(int type, const void *blk, kunpacked *u)
{
    switch (type) {
    case WICK_DTYPE_Q2_K: unpack_q2_k(blk, u); break;
    case WICK_DTYPE_Q3_K: unpack_q3_k(blk, u); break;
    case WICK_DTYPE_Q4_K: unpack_q4_k(blk, u); break;
    case WICK_DTYPE_Q5_K: unpack_q5_k(blk, u); break;
    default: unpack_q6_k(blk, u); break;
    }
}

// y = (d * sc[g]) * q - (dmin * mn[g]) over groups of gsize elements.
static void deq_kunpacked(const kunpacked *u, int gsize, float d, float dmin, float *y)
{
    for (int k = 0; k < WK_QK_K; k++) {
        int g = k / gsize;
        y[k] = d * (float)u->sc[g] * (float)u->q[k] - dmin * (float)u->mn[g];
    }
}

QUANT(quant_q8_k_ref)
{
    wk_block_q8_k *y = vy;
    for (int64_t i = 0; i < n / WK_QK_K; i++, x += WK_QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < WK_QK_K; j++) {
            float ax = x[j] < 0 ? -x[j] : x[j];
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < WK_QK_K; j++) {
            y[i].qs[j] = wk_sat_i8(wk_cvt_round_even(iscale * x[j])); // min(127, q)
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) { sum += y[i].qs[16 * g + l]; }
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

// Σ_g sc[g] * Σ_{k in g} q[k] * a[k] over groups of gsize; and Σ_g mn[g] * Σ_{k in g} a[k] from
// the activation's 16-element sums.
static void dot_kunpacked(const kunpacked *u, int gsize, const wk_block_q8_k *a, int *sumi,
                          int *summ)
{
    int si = 0, sm = 0;
    for (int g = 0; g < WK_QK_K / gsize; g++) {
        int t = 0;
        for (int l = 0; l < gsize; l++) { t += u->q[g * gsize + l] * a->qs[g * gsize + l]; }
        si += u->sc[g] * t;
        int bs = 0;
        for (int l = 0; l < gsize / 16; l++) { bs += a->bsums[g * gsize / 16 + l]; }
        sm += u->mn[g] * bs;
    }
    *sumi = si;
    *summ = sm;
}

// Σ_blocks d_a * d * sumi  -  Σ_blocks d_a * dmin * summ  (MODELS.md §4.2), each block's integer
// sums exact, the two float sums kept apart and subtracted at the end (as ggml's repacked Q4_K
// GEMV does). The SIMD paths compute the same integers and repeat these float operations in
// this order, so their K-format dot products are bit-identical to these.
#define KDOT(fname, btype, unpack, gsize, has_min)                                                 \
    DOT(fname)                                                                                     \
    {                                                                                              \
        const btype *w = vw;                                                                       \
        const wk_block_q8_k *a = va;                                                               \
        float sumf = 0, summf = 0;                                                                 \
        for (int64_t i = 0; i < n / WK_QK_K; i++) {                                                \
            kunpacked u;                                                                           \
            unpack(&w[i], &u);                                                                     \
            int sumi, summ;                                                                        \
            dot_kunpacked(&u, gsize, &a[i], &sumi, &summ);                                         \
            sumf += a[i].d * h2f(w[i].d) * (float)sumi;                                            \
            if (has_min) { summf += a[i].d * kmin(&w[i]) * (float)summ; }                          \
        }                                                                                          \
        *s = sumf - summf;                                                                         \
    }

// Dequantization of a K format: each block unpacked, then deq_kunpacked with its d and dmin.
#define KDEQ(fname, btype, unpack, gsize)                                                          \
    DEQ(fname)                                                                                     \
    {                                                                                              \
        const btype *b = vx;                                                                       \
        for (int64_t i = 0; i < n / WK_QK_K; i++, y += WK_QK_K) {                                  \
            kunpacked u;                                                                           \
            unpack(&b[i], &u);                                                                     \
            deq_kunpacked(&u, gsize, h2f(b[i].d), kmin(&b[i]), y);                                 \
        }                                                                                          \
    }

#define kmin(b) h2f((b)->dmin)
KDOT(dot_q2_k_ref, wk_block_q2_k, unpack_q2_k, 16, 1)
KDOT(dot_q4_k_ref, wk_block_q4_k, unpack_q4_k, 32, 1)
KDOT(dot_q5_k_ref, wk_block_q5_k, unpack_q5_k, 32, 1)
KDEQ(deq_q2_k_ref, wk_block_q2_k, unpack_q2_k, 16)
KDEQ(deq_q4_k_ref, wk_block_q4_k, unpack_q4_k, 32)
KDEQ(deq_q5_k_ref, wk_block_q5_k, unpack_q5_k, 32)
#undef kmin
#define kmin(b) 0.0f
KDOT(dot_q3_k_ref, wk_block_q3_k, unpack_q3_k, 16, 0)
KDOT(dot_q6_k_ref, wk_block_q6_k, unpack_q6_k, 16, 0)
KDEQ(deq_q3_k_ref, wk_block_q3_k, unpack_q3_k, 16)
KDEQ(deq_q6_k_ref, wk_block_q6_k, unpack_q6_k, 16)
#undef kmin

// --- the table -----------------------------------------------------------------------------------

// vec_dot_4act for every type: four vec_dot calls.
#define DOT4(name, dot)                                                                            \
    static void name(int64_t n, float *s, const void *w, const void *a, size_t stride)             \
    {                                                                                              \
        for (int j = 0; j < 4; j++) { dot(n, s + j, w, (const char *)a + j * stride); }            \
    }
DOT4(dot4_f32_ref, dot_f32_ref)
DOT4(dot4_f16_ref, dot_f16_ref)
DOT4(dot4_bf16_ref, dot_bf16_ref)
DOT4(dot4_q4_0_ref, dot_q4_0_ref)
DOT4(dot4_q4_1_ref, dot_q4_1_ref)
DOT4(dot4_q5_0_ref, dot_q5_0_ref)
DOT4(dot4_q5_1_ref, dot_q5_1_ref)
DOT4(dot4_q8_0_ref, dot_q8_0_ref)
DOT4(dot4_q2_k_ref, dot_q2_k_ref)
DOT4(dot4_q3_k_ref, dot_q3_k_ref)
DOT4(dot4_q4_k_ref, dot_q4_k_ref)
DOT4(dot4_q5_k_ref, dot_q5_k_ref)
DOT4(dot4_q6_k_ref, dot_q6_k_ref)

// vec_dot_4row of the K formats: four vec_dot calls.
#define DOT4ROW(name, dot)                                                                         \
    static void name(int64_t n, float *s, const void *w, size_t w_stride, const void *a)           \
    {                                                                                              \
        for (int r = 0; r < 4; r++) { dot(n, s + r, (const char *)w + r * w_stride, a); }          \
    }
DOT4ROW(dot4r_q2_k_ref, dot_q2_k_ref)
DOT4ROW(dot4r_q3_k_ref, dot_q3_k_ref)
DOT4ROW(dot4r_q4_k_ref, dot_q4_k_ref)
DOT4ROW(dot4r_q5_k_ref, dot_q5_k_ref)
DOT4ROW(dot4r_q6_k_ref, dot_q6_k_ref)

// vec_dot_4il of the K formats and Q4_0, Q5_0, Q8_0: each row gathered into file order, then vec_dot (same bits). For
// tests and a scalar run of a model repacked by a faster path; slow (a copy per row), so a
// malloc for rows beyond the stack buffer costs little more.
static void dot4il_ref(int64_t n, float *s, const void *w, const void *a, size_t bb,
                       int64_t blck, wk_vec_dot_fn dot)
{
    const size_t nb = (size_t)(n / blck);
    uint8_t stack[16384];
    uint8_t *row = nb * bb <= sizeof stack ? stack : malloc(nb * bb);
    for (int r = 0; r < 4; r++) {
        if (!row) { // out of memory: NaN rather than a crash
            s[r] = NAN;
            continue;
        }
        for (size_t b = 0; b < nb; b++) {
            memcpy(row + b * bb, (const uint8_t *)w + (4 * b + (size_t)r) * bb, bb);
        }
        dot(n, s + r, row, a);
    }
    if (row != stack) { free(row); }
}
#define DOT4IL(name, dot, blk, blck)                                                               \
    static void name(int64_t n, float *s, const void *w, size_t w_stride, const void *a)           \
    {                                                                                              \
        (void)w_stride;                                                                            \
        dot4il_ref(n, s, w, a, sizeof(blk), blck, dot);                                            \
    }
DOT4IL(dot4il_q2_k_ref, dot_q2_k_ref, wk_block_q2_k, WK_QK_K)
DOT4IL(dot4il_q3_k_ref, dot_q3_k_ref, wk_block_q3_k, WK_QK_K)
DOT4IL(dot4il_q4_k_ref, dot_q4_k_ref, wk_block_q4_k, WK_QK_K)
DOT4IL(dot4il_q5_k_ref, dot_q5_k_ref, wk_block_q5_k, WK_QK_K)
DOT4IL(dot4il_q6_k_ref, dot_q6_k_ref, wk_block_q6_k, WK_QK_K)
DOT4IL(dot4il_q4_0_ref, dot_q4_0_ref, wk_block_q4_0, WK_QK)
DOT4IL(dot4il_q5_0_ref, dot_q5_0_ref, wk_block_q5_0, WK_QK)
DOT4IL(dot4il_q4_1_ref, dot_q4_1_ref, wk_block_q4_1, WK_QK)
DOT4IL(dot4il_q5_1_ref, dot_q5_1_ref, wk_block_q5_1, WK_QK)
DOT4IL(dot4il_q8_0_ref, dot_q8_0_ref, wk_block_q8_0, WK_QK)

// vec_dot_4il_n: one vec_dot_4il per token (the specification of the batched kernels).
#define DOT4IL_N(name, dot4il)                                                                     \
    static void name(int64_t n, int nt, float *s, const void *w, size_t w_stride, const void *a,   \
                     size_t a_stride)                                                              \
    {                                                                                              \
        for (int t = 0; t < nt; t++) {                                                             \
            dot4il(n, s + 4 * t, w, w_stride, (const char *)a + (size_t)t * a_stride);             \
        }                                                                                          \
    }
DOT4IL_N(dot4il_n_q2_k_ref, dot4il_q2_k_ref)
DOT4IL_N(dot4il_n_q3_k_ref, dot4il_q3_k_ref)
DOT4IL_N(dot4il_n_q4_k_ref, dot4il_q4_k_ref)
DOT4IL_N(dot4il_n_q5_k_ref, dot4il_q5_k_ref)
DOT4IL_N(dot4il_n_q6_k_ref, dot4il_q6_k_ref)

// --- weighted sums of rows -----------------------------------------------------------------------

static void dot_f32_4x4_ref(int64_t n, const float *a, int64_t a_stride, const float *b,
                            int64_t b_stride, float *s, int64_t s_stride)
{
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            dot_f32_ref(n, &s[i * s_stride + j], a + i * a_stride, b + j * b_stride);
        }
    }
}

static void accum_rows_ref(float *o, int64_t o_stride, const float *p, int64_t p_stride,
                           const float *rows, int64_t row_stride, int nr, int nh, int64_t n)
{
    for (int h = 0; h < nh; h++) {
        float *restrict oh = o + (int64_t)h * o_stride;
        for (int i = 0; i < nr; i++) {
            const float w = p[(int64_t)h * p_stride + i];
            const float *restrict x = rows + (int64_t)i * row_stride;
            // blocks of 8 so that the basic-block vectorizer (on at -O2) uses SIMD registers
            int64_t c = 0;
            for (; c + 8 <= n; c += 8) {
                float *yc = oh + c;
                const float *xc = x + c;
                yc[0] += w * xc[0];
                yc[1] += w * xc[1];
                yc[2] += w * xc[2];
                yc[3] += w * xc[3];
                yc[4] += w * xc[4];
                yc[5] += w * xc[5];
                yc[6] += w * xc[6];
                yc[7] += w * xc[7];
            }
            for (; c < n; c++) { oh[c] += w * x[c]; }
        }
    }
}

void wk_q8_k_group(void *dst, const void *src, int64_t n_blocks)
{
    const wk_block_q8_k *a = src;
    wk_block_q8_k *g = dst;
    for (int64_t b = 0; b < n_blocks; b++) {
        g[b].d = a[b].d;
        memcpy(g[b].bsums, a[b].bsums, sizeof g[b].bsums);
        // dword (k, L, i) <- elements 4 k .. 4 k + 3 of group 4 (i / 2) + 2 (L / 2) + i % 2 of
        // 32 elements, half L % 2
        for (int k = 0; k < 4; k++) {
            for (int L = 0; L < 4; L++) {
                for (int i = 0; i < 4; i++) {
                    const int e =
                        128 * (i / 2) + 64 * (L / 2) + 32 * (i % 2) + 16 * (L % 2) + 4 * k;
                    memcpy(g[b].qs + 64 * k + 16 * L + 4 * i, a[b].qs + e, 4);
                }
            }
        }
    }
}

void wk_q8_k_group6(void *dst, const void *src, int64_t n_blocks)
{
    const wk_block_q8_k *a = src;
    wk_block_q8_kg6 *g = dst;
    for (int64_t b = 0; b < n_blocks; b++) {
        g[b].d = a[b].d;
        // 4-byte run (k, L, j) <- elements 128 (k / 2) + 64 (j % 2) + 16 L + 8 (k % 2) + 4 (j / 2)
        for (int k = 0; k < 4; k++) {
            for (int L = 0; L < 4; L++) {
                for (int j = 0; j < 4; j++) {
                    const int e = 128 * (k / 2) + 64 * (j % 2) + 16 * L + 8 * (k % 2) + 4 * (j / 2);
                    memcpy(g[b].qs + 64 * k + 16 * L + 4 * j, a[b].qs + e, 4);
                }
            }
        }
        for (int c = 0; c < 2; c++) {
            for (int p = 0; p < 16; p++) {
                int sum = 0;
                for (int k = 2 * c; k < 2 * c + 2; k++) {
                    for (int i = 0; i < 4; i++) { sum += g[b].qs[64 * k + 4 * p + i]; }
                }
                g[b].off[c][p] = -32 * sum;
            }
        }
    }
}

void wk_kernels_fill_ref(wk_kernels *k)
{
    memset(k, 0, sizeof *k);
    k->name = "scalar";
#define SET(T, deq, dot, dot4)                                                                     \
    k->to_float[WICK_DTYPE_##T] = deq;                                                             \
    k->vec_dot[WICK_DTYPE_##T] = dot;                                                              \
    k->vec_dot_4act[WICK_DTYPE_##T] = dot4
    SET(F32, deq_f32_ref, dot_f32_ref, dot4_f32_ref);
    SET(F16, deq_f16_ref, dot_f16_ref, dot4_f16_ref);
    SET(BF16, deq_bf16_ref, dot_bf16_ref, dot4_bf16_ref);
    SET(Q4_0, deq_q4_0_ref, dot_q4_0_ref, dot4_q4_0_ref);
    SET(Q4_1, deq_q4_1_ref, dot_q4_1_ref, dot4_q4_1_ref);
    SET(Q5_0, deq_q5_0_ref, dot_q5_0_ref, dot4_q5_0_ref);
    SET(Q5_1, deq_q5_1_ref, dot_q5_1_ref, dot4_q5_1_ref);
    SET(Q8_0, deq_q8_0_ref, dot_q8_0_ref, dot4_q8_0_ref);
    SET(Q2_K, deq_q2_k_ref, dot_q2_k_ref, dot4_q2_k_ref);
    SET(Q3_K, deq_q3_k_ref, dot_q3_k_ref, dot4_q3_k_ref);
    SET(Q4_K, deq_q4_k_ref, dot_q4_k_ref, dot4_q4_k_ref);
    SET(Q5_K, deq_q5_k_ref, dot_q5_k_ref, dot4_q5_k_ref);
    SET(Q6_K, deq_q6_k_ref, dot_q6_k_ref, dot4_q6_k_ref);
#undef SET
    k->vec_dot_4row[WICK_DTYPE_Q2_K] = dot4r_q2_k_ref;
    k->vec_dot_4row[WICK_DTYPE_Q3_K] = dot4r_q3_k_ref;
    k->vec_dot_4row[WICK_DTYPE_Q4_K] = dot4r_q4_k_ref;
    k->vec_dot_4row[WICK_DTYPE_Q5_K] = dot4r_q5_k_ref;
    k->vec_dot_4row[WICK_DTYPE_Q6_K] = dot4r_q6_k_ref;
    k->vec_dot_4il[WICK_DTYPE_Q2_K] = dot4il_q2_k_ref;
    k->vec_dot_4il[WICK_DTYPE_Q3_K] = dot4il_q3_k_ref;
    k->vec_dot_4il[WICK_DTYPE_Q4_K] = dot4il_q4_k_ref;
    k->vec_dot_4il[WICK_DTYPE_Q5_K] = dot4il_q5_k_ref;
    k->vec_dot_4il[WICK_DTYPE_Q6_K] = dot4il_q6_k_ref;
    k->vec_dot_4il_n[WICK_DTYPE_Q2_K] = dot4il_n_q2_k_ref;
    k->vec_dot_4il_n[WICK_DTYPE_Q3_K] = dot4il_n_q3_k_ref;
    k->vec_dot_4il_n[WICK_DTYPE_Q4_K] = dot4il_n_q4_k_ref;
    k->vec_dot_4il_n[WICK_DTYPE_Q5_K] = dot4il_n_q5_k_ref;
    k->vec_dot_4il_n[WICK_DTYPE_Q6_K] = dot4il_n_q6_k_ref;
    k->vec_dot_4il[WICK_DTYPE_Q4_0] = dot4il_q4_0_ref;
    k->vec_dot_4il[WICK_DTYPE_Q5_0] = dot4il_q5_0_ref;
    k->vec_dot_4il[WICK_DTYPE_Q4_1] = dot4il_q4_1_ref;
    k->vec_dot_4il[WICK_DTYPE_Q5_1] = dot4il_q5_1_ref;
    k->vec_dot_4il[WICK_DTYPE_Q8_0] = dot4il_q8_0_ref;
    k->from_float[WICK_DTYPE_F32] = quant_f32_ref;
    k->from_float[WICK_DTYPE_F16] = quant_f16_ref;
    k->from_float[WICK_DTYPE_BF16] = quant_bf16_ref;
    k->from_float[WICK_DTYPE_Q8_0] = quant_q8_0_ref;
    k->from_float[WICK_DTYPE_Q8_1] = quant_q8_1_ref;
    k->from_float[WICK_DTYPE_Q8_K] = quant_q8_k_ref;
    k->accum_rows = accum_rows_ref;
    k->dot_f32_4x4 = dot_f32_4x4_ref;
}
