// x86_avx512.c — AVX-512 (F, BW, VL, DQ, VNNI) kernels, run only when cpuid says so.
#include <immintrin.h>

#include "kernels/impl.h"

void wk_kernels_fill_avx512(wk_kernels *k)
{
    (void)k;
}
