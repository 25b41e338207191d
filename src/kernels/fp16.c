// fp16.c — exact scalar conversions between float32 and the 16-bit float formats.
//
// Widening is exact (a signalling NaN comes back quiet, as F16C's vcvtph2ps makes it).
// fp16 (IEEE binary16) narrowing rounds to nearest, ties to even, as F16C's vcvtps2ph with
// rounding mode 0 does: overflow gives ±inf, NaN stays NaN (made quiet, top payload bits kept).
// bf16 is the upper half of a float32; narrowing rounds to nearest even and keeps NaN quiet, as
// ggml's ggml_compute_fp32_to_bf16 does.
#include "kernels/kernels.h"

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float wk_fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 31;
    uint32_t mant = h & 0x3ff;
    if (exp == 0) {
        if (mant == 0) { return bits_f32(sign); }
        // Subnormal: mant * 2^-24; normalise so the leading 1 lands on bit 10.
        uint32_t e = 127 - 15 + 1;
        while (!(mant & 0x400)) {
            mant <<= 1;
            e--;
        }
        return bits_f32(sign | e << 23 | (mant & 0x3ff) << 13);
    }
    if (exp == 31) { // inf; NaN made quiet, as vcvtph2ps does
        return bits_f32(sign | 0x7f800000u | mant << 13 | (mant ? 0x400000u : 0));
    }
    return bits_f32(sign | (exp + 112) << 23 | mant << 13);
}

uint16_t wk_f32_to_fp16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) { return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff)); } // NaN
    if (ax >= 0x477ff000u) { return (uint16_t)(sign | 0x7c00); } // ≥ 65520 rounds to inf
    if (ax < 0x38800000u) {
        // Below 2^-14: a subnormal half, units of 2^-24: round(m * 2^(e - 126)).
        uint32_t e = ax >> 23;
        uint32_t shift = 126 - e;
        if (shift > 24) { return sign; }
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) { r++; }
        return (uint16_t)(sign | r);
    }
    uint32_t h = (ax >> 13) - (112u << 10);
    uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) { h++; } // a carry moves into the exponent
    return (uint16_t)(sign | h);
}

float wk_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t wk_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) { return (uint16_t)((x >> 16) | 64); } // quiet NaN
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}
