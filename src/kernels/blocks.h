// blocks.h — the block formats of quantized tensors, byte for byte as GGUF stores them (ggml's
// ggml-common.h), with the formula that turns each block into floats.
//
// All fields are little endian, packed, without padding; `half` is an IEEE fp16 bit pattern kept
// as uint16_t (read it with wk_fp16_to_f32). A tensor row is blocks back to back; rows inside a
// tensor are only 2-byte aligned (the structs' alignment; Q8_K, an activation format of our own
// buffers, needs 4), so SIMD kernels read blocks with unaligned loads.
//
// Notation: d, dmin, m are the block's float scales; q the small integers of the quant fields;
// y[k] the k-th float of the block. Every product of an fp16 scale and the integer fields is exact
// in float32, so each formula has one correctly rounded result whatever the evaluation order.
#ifndef WK_KERNELS_BLOCKS_H
#define WK_KERNELS_BLOCKS_H

#include <assert.h>
#include <stdint.h>

#define WK_QK 32   // elements per block of the legacy formats (Q4_0 ... Q8_1)
#define WK_QK_K 256 // elements per super-block of the K formats (Q2_K ... Q8_K)

// Q4_0 (4.5 bits/weight). j < 16:
//   y[j] = ((qs[j] & 15) - 8) * d        y[j + 16] = ((qs[j] >> 4) - 8) * d
typedef struct wk_block_q4_0 {
    uint16_t d;
    uint8_t qs[WK_QK / 2];
} wk_block_q4_0;
static_assert(sizeof(wk_block_q4_0) == 18, "q4_0");

// Q4_1 (5 bits/weight). j < 16:
//   y[j] = (qs[j] & 15) * d + m          y[j + 16] = (qs[j] >> 4) * d + m
typedef struct wk_block_q4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[WK_QK / 2];
} wk_block_q4_1;
static_assert(sizeof(wk_block_q4_1) == 20, "q4_1");

// Q5_0 (5.5 bits/weight). h = le32(qh) holds the 5th bit of each element; j < 16:
//   y[j]      = ((qs[j] & 15) | ((h >> j) & 1) << 4) - 16) * d
//   y[j + 16] = ((qs[j] >> 4) | ((h >> (j + 16)) & 1) << 4) - 16) * d
typedef struct wk_block_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[WK_QK / 2];
} wk_block_q5_0;
static_assert(sizeof(wk_block_q5_0) == 22, "q5_0");

// Q5_1 (6 bits/weight): the bits of Q5_0 without the -16, y = q * d + m.
typedef struct wk_block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[WK_QK / 2];
} wk_block_q5_1;
static_assert(sizeof(wk_block_q5_1) == 24, "q5_1");

// Q8_0 (8.5 bits/weight; also the activation format of Q4_0/Q5_0/Q8_0): y[j] = qs[j] * d.
// As an activation: d = amax / 127 (stored fp16), qs[j] = round_half_even(x[j] * (127 / amax)).
typedef struct wk_block_q8_0 {
    uint16_t d;
    int8_t qs[WK_QK];
} wk_block_q8_0;
static_assert(sizeof(wk_block_q8_0) == 34, "q8_0");

// Q8_1 (activation format of Q4_1/Q5_1): Q8_0 plus s = d * Σ qs (f32 product, stored fp16), so
// that the weight's min m contributes m * s to a dot product.
typedef struct wk_block_q8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[WK_QK];
} wk_block_q8_1;
static_assert(sizeof(wk_block_q8_1) == 36, "q8_1");

// Q2_K (2.625 bits/weight): 16 groups of 16 elements. scales[g] = (min << 4) | scale, 4 bits each.
// Element k = 128 h + 32 j + l (half h < 2, shift step j < 4, l < 32), group g = 8h + 2j + l/16:
//   q = (qs[32 h + l] >> 2 j) & 3
//   y[k] = d * (scales[g] & 15) * q - dmin * (scales[g] >> 4)
typedef struct wk_block_q2_k {
    uint8_t scales[WK_QK_K / 16];
    uint8_t qs[WK_QK_K / 4];
    uint16_t d;
    uint16_t dmin;
} wk_block_q2_k;
static_assert(sizeof(wk_block_q2_k) == 84, "q2_k");

// Q3_K (3.4375 bits/weight): 16 groups of 16 elements with signed 6-bit scales s[g] in 12 bytes:
//   low 4 bits:  g < 8 ? scales[g] & 15 : scales[g - 8] >> 4
//   high 2 bits: (scales[8 + g % 4] >> (2 * (g / 4))) & 3          s[g] = value - 32
// Element k = 128 h + 32 j + l (as Q2_K), g = 8 h + 2 j + l / 16, b = hmask bit 4 h + j:
//   q = ((qs[32 h + l] >> 2 j) & 3) - ((hmask[l] >> b) & 1 ? 0 : 4)
//   y[k] = d * s[g] * q
typedef struct wk_block_q3_k {
    uint8_t hmask[WK_QK_K / 8];
    uint8_t qs[WK_QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} wk_block_q3_k;
static_assert(sizeof(wk_block_q3_k) == 110, "q3_k");

// Q4_K (4.5 bits/weight): 8 groups of 32 elements, 6-bit scale sc[g] and min mn[g] in 12 bytes:
//   g < 4:  sc = scales[g] & 63,  mn = scales[g + 4] & 63
//   g >= 4: sc = (scales[g + 4] & 15) | (scales[g - 4] >> 6) << 4
//           mn = (scales[g + 4] >> 4) | (scales[g] >> 6) << 4
// Element k = 64 c + 32 hi + l (c < 4, hi < 2, l < 32), g = 2 c + hi:
//   q = hi ? qs[32 c + l] >> 4 : qs[32 c + l] & 15
//   y[k] = d * sc[g] * q - dmin * mn[g]
typedef struct wk_block_q4_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[WK_QK_K / 2];
} wk_block_q4_k;
static_assert(sizeof(wk_block_q4_k) == 144, "q4_k");

// Q5_K (5.5 bits/weight): Q4_K plus a 5th bit: q += 16 * ((qh[l] >> g) & 1), g = 2 c + hi.
typedef struct wk_block_q5_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[WK_QK_K / 8];
    uint8_t qs[WK_QK_K / 2];
} wk_block_q5_k;
static_assert(sizeof(wk_block_q5_k) == 176, "q5_k");

// Q6_K (6.5625 bits/weight): 16 groups of 16 elements with int8 scales.
// Element k = 128 h + 32 r + l (h < 2, r < 4, l < 32), L = ql + 64 h, H = qh + 32 h:
//   low 4 bits  = r = 0: L[l] & 15,  1: L[l + 32] & 15,  2: L[l] >> 4,  3: L[l + 32] >> 4
//   high 2 bits = (H[l] >> 2 r) & 3
//   q = (low | high << 4) - 32;  y[k] = d * scales[8 h + 2 r + l / 16] * q
typedef struct wk_block_q6_k {
    uint8_t ql[WK_QK_K / 2];
    uint8_t qh[WK_QK_K / 4];
    int8_t scales[WK_QK_K / 16];
    uint16_t d;
} wk_block_q6_k;
static_assert(sizeof(wk_block_q6_k) == 210, "q6_k");

// Q8_K (activations of the K formats only). max = the element of largest |x| (the first on a
// tie), iscale = -127 / max, qs = min(127, round_half_even(iscale * x)), d = 1 / iscale (so d < 0
// when max > 0), bsums[i] = Σ qs[16 i .. 16 i + 15]. An all-zero block is all zero bytes.
typedef struct wk_block_q8_k {
    float d;
    int8_t qs[WK_QK_K];
    int16_t bsums[WK_QK_K / 16];
} wk_block_q8_k;
static_assert(sizeof(wk_block_q8_k) == 292, "q8_k");

// A Q8_K block in the order of the batched Q5_K / Q6_K kernels (wk_q8_k_group6): d as
// it is, the quants regrouped, and off[c][p] = -32 Σ of the 8 quants that dword position p of
// the quant vectors 2 c and 2 c + 1 hold (|qs| <= 127: see wk_block_q8_k).
typedef struct wk_block_q8_kg6 {
    float d;
    int8_t qs[WK_QK_K];
    int32_t off[2][16];
} wk_block_q8_kg6;
static_assert(sizeof(wk_block_q8_kg6) == 388, "q8_kg6");

// The 6-bit scale and min of group j of a Q4_K/Q5_K block (see wk_block_q4_k).
static inline void wk_scale_min_k4(int j, const uint8_t *s, uint8_t *sc, uint8_t *mn)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4));
        *mn = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

// The inverse of wk_scale_min_k4: 8 (scale, min) pairs of 6 bits into the 12 bytes s.
static inline void wk_pack_scale_min_k4(const uint8_t sc[8], const uint8_t mn[8], uint8_t *s)
{
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        s[j + 4] = (uint8_t)((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
}

// The 16 signed scales (-32 .. 31) of a Q3_K block (see wk_block_q3_k).
static inline void wk_q3_k_scales(const uint8_t *s, int8_t out[16])
{
    for (int g = 0; g < 16; g++) {
        int lo = g < 8 ? s[g] & 15 : s[g - 8] >> 4;
        int hi = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
        out[g] = (int8_t)((lo | hi << 4) - 32);
    }
}

// The inverse of wk_q3_k_scales: 16 signed scales (-32 .. 31) into the 12 bytes s.
static inline void wk_pack_q3_k_scales(const int8_t in[16], uint8_t *s)
{
    for (int i = 0; i < 12; i++) { s[i] = 0; }
    for (int g = 0; g < 16; g++) {
        unsigned v = (unsigned)(in[g] + 32);
        s[g % 8] |= (uint8_t)((v & 15) << (g < 8 ? 0 : 4));
        s[8 + g % 4] |= (uint8_t)((v >> 4) << (2 * (g / 4)));
    }
}

#endif
