// types.c — the table of tensor formats: names, block sizes, and what wick can compute with.
// Block sizes are those of ggml (ggml.c type_traits), so a reader can check the size of a
// tensor of any type, including the IQ and TQ types wick cannot decode.
#include "kernels/blocks.h"
#include "kernels/kernels.h"

#define T(id, nm, be, bb, ok, vd) [id] = {nm, be, bb, ok, vd}

static const wk_type_traits traits[WICK_DTYPE_COUNT] = {
    T(0, "F32", 1, 4, true, WICK_DTYPE_F32),
    T(1, "F16", 1, 2, true, WICK_DTYPE_F16),
    T(2, "Q4_0", 32, 18, true, WICK_DTYPE_Q8_0),
    T(3, "Q4_1", 32, 20, true, WICK_DTYPE_Q8_1),
    T(6, "Q5_0", 32, 22, true, WICK_DTYPE_Q8_0),
    T(7, "Q5_1", 32, 24, true, WICK_DTYPE_Q8_1),
    T(8, "Q8_0", 32, 34, true, WICK_DTYPE_Q8_0),
    T(9, "Q8_1", 32, 36, false, -1),
    T(10, "Q2_K", 256, 84, true, WICK_DTYPE_Q8_K),
    T(11, "Q3_K", 256, 110, true, WICK_DTYPE_Q8_K),
    T(12, "Q4_K", 256, 144, true, WICK_DTYPE_Q8_K),
    T(13, "Q5_K", 256, 176, true, WICK_DTYPE_Q8_K),
    T(14, "Q6_K", 256, 210, true, WICK_DTYPE_Q8_K),
    T(15, "Q8_K", 256, 292, false, -1),
    T(16, "IQ2_XXS", 256, 66, false, -1),
    T(17, "IQ2_XS", 256, 74, false, -1),
    T(18, "IQ3_XXS", 256, 98, false, -1),
    T(19, "IQ1_S", 256, 50, false, -1),
    T(20, "IQ4_NL", 32, 18, false, -1),
    T(21, "IQ3_S", 256, 110, false, -1),
    T(22, "IQ2_S", 256, 82, false, -1),
    T(23, "IQ4_XS", 256, 136, false, -1),
    T(24, "I8", 1, 1, false, -1),
    T(25, "I16", 1, 2, false, -1),
    T(26, "I32", 1, 4, false, -1),
    T(27, "I64", 1, 8, false, -1),
    T(28, "F64", 1, 8, false, -1),
    T(29, "IQ1_M", 256, 56, false, -1),
    T(30, "BF16", 1, 2, true, WICK_DTYPE_BF16),
    T(34, "TQ1_0", 256, 54, false, -1),
    T(35, "TQ2_0", 256, 66, false, -1),
    T(39, "MXFP4", 32, 17, false, -1),
    T(40, "NVFP4", 64, 36, false, -1),
    T(41, "Q1_0", 128, 18, false, -1),
    T(42, "Q2_0", 64, 18, false, -1),
};

const wk_type_traits *wk_type(int type)
{
    if (type < 0 || type >= WICK_DTYPE_COUNT || !traits[type].name) { return NULL; }
    return &traits[type];
}

const char *wick_dtype_name(wick_dtype type)
{
    const wk_type_traits *t = wk_type(type);
    return t ? t->name : NULL;
}

int64_t wick_dtype_block_elems(wick_dtype type)
{
    const wk_type_traits *t = wk_type(type);
    return t ? t->blck : 0;
}

size_t wick_dtype_block_bytes(wick_dtype type)
{
    const wk_type_traits *t = wk_type(type);
    return t ? t->bytes : 0;
}

bool wick_dtype_supported(wick_dtype type)
{
    const wk_type_traits *t = wk_type(type);
    return t && t->supported;
}

wick_status wk_row_bytes(int type, int64_t n, size_t *out)
{
    const wk_type_traits *t = wk_type(type);
    if (!t) { return wk_fail(WICK_E_UNSUPPORTED, "unknown tensor type %d", type); }
    if (n < 0 || n % t->blck != 0) {
        return wk_fail(WICK_E_FORMAT, "%" PRId64 " elements of %s: not a whole number of %" PRId64
                       "-element blocks", n, t->name, t->blck);
    }
    if (!wk_mul_size((size_t)(n / t->blck), t->bytes, out)) {
        return wk_fail(WICK_E_RANGE, "%" PRId64 " elements of %s: size overflows", n, t->name);
    }
    return WICK_OK;
}

uint16_t wick_f32_to_f16(float f)
{
    return wk_f32_to_fp16(f);
}

uint16_t wick_f32_to_bf16(float f)
{
    return wk_f32_to_bf16(f);
}

// Checks n values against lo..hi; the message names which and where.
static wick_status scales_in(const int *v, int n, int lo, int hi, const char *what)
{
    for (int i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > hi) {
            return wk_fail(WICK_E_RANGE, "wick_pack_k_scales: %s[%d] = %d, expected %d..%d", what,
                           i, v[i], lo, hi);
        }
    }
    return WICK_OK;
}

wick_status wick_pack_k_scales(wick_dtype type, const int *scales, const int *mins,
                               uint8_t out[12])
{
    if (!scales || !out) { return wk_fail(WICK_E_INVALID, "wick_pack_k_scales: NULL argument"); }
    if (type == WICK_DTYPE_Q3_K) {
        wick_status rc = scales_in(scales, 16, -32, 31, "scales");
        if (rc < 0) { return rc; }
        int8_t sc[16];
        for (int i = 0; i < 16; i++) { sc[i] = (int8_t)scales[i]; }
        wk_pack_q3_k_scales(sc, out);
        return WICK_OK;
    }
    if (type != WICK_DTYPE_Q4_K && type != WICK_DTYPE_Q5_K) {
        return wk_fail(WICK_E_UNSUPPORTED, "wick_pack_k_scales: type %s has no 6-bit scales",
                       wick_dtype_name(type) ? wick_dtype_name(type) : "(unknown)");
    }
    if (!mins) { return wk_fail(WICK_E_INVALID, "wick_pack_k_scales: mins is NULL"); }
    wick_status rc = scales_in(scales, 8, 0, 63, "scales");
    if (rc == WICK_OK) { rc = scales_in(mins, 8, 0, 63, "mins"); }
    if (rc < 0) { return rc; }
    uint8_t sc[8], mn[8];
    for (int i = 0; i < 8; i++) {
        sc[i] = (uint8_t)scales[i];
        mn[i] = (uint8_t)mins[i];
    }
    wk_pack_scale_min_k4(sc, mn, out);
    return WICK_OK;
}

// Group g's block b of row r: interleaved at 4 g rb + (4 b + r) bb, in file order at (4 g + r) rb
// + b bb; to_il copies the second into the first, else the first into the second.
static void il4_copy(void *dst, const void *src, int64_t n_rows, size_t rb, size_t bb, bool to_il)
{
    const size_t nb = rb / bb;
    for (int64_t g = 0; g < n_rows / 4; g++) {
        char *d = (char *)dst + (size_t)g * 4 * rb;
        const char *s = (const char *)src + (size_t)g * 4 * rb;
        for (size_t b = 0; b < nb; b++) {
            for (size_t r = 0; r < 4; r++) {
                const size_t il = (4 * b + r) * bb, flat = r * rb + b * bb;
                memcpy(d + (to_il ? il : flat), s + (to_il ? flat : il), bb);
            }
        }
    }
}

void wk_interleave4(void *dst, const void *src, int64_t n_rows, size_t rb, size_t bb)
{
    il4_copy(dst, src, n_rows, rb, bb, true);
}

void wk_deinterleave4(void *dst, const void *src, int64_t n_rows, size_t rb, size_t bb)
{
    il4_copy(dst, src, n_rows, rb, bb, false);
}
