// impl.h — what the kernel files of src/kernels share among themselves (not for other modules):
// the functions that fill a wk_kernels table for each path, and a few scalar helpers.
#ifndef WK_KERNELS_IMPL_H
#define WK_KERNELS_IMPL_H

#include "kernels/blocks.h"
#include "kernels/kernels.h"

// Fills every member of k with the scalar reference kernels (ref.c); unsupported types stay NULL.
void wk_kernels_fill_ref(wk_kernels *k);
// Replaces the members that have an AVX2 (x86_avx2.c) or AVX-512 (x86_avx512.c) version. The
// caller has checked that the CPU can run them; k starts as the next slower path's table.
void wk_kernels_fill_avx2(wk_kernels *k);
void wk_kernels_fill_avx512(wk_kernels *k);

// Round to nearest, ties to even, of |v| < 2^22 (the x86 SIMD quantizers' rounding).
static inline int wk_round_even(float v)
{
    float t = v + 12582912.0f; // 1.5 * 2^23: the sum's low mantissa bits hold round(v)
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

#endif
