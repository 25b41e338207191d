// x86_avx2.c — AVX2 + FMA + F16C kernels (compiled with those flags; run only when cpuid says so).
#include <immintrin.h>

#include "kernels/impl.h"

void wk_kernels_fill_avx2(wk_kernels *k)
{
    (void)k;
}
