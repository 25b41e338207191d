// mla_avx2.c — the value accumulation of MLA attention with AVX2 + FMA (compiled with the AVX2
// flags because of its name; called only when the kernel table in use is a SIMD one). See
// wk_mla_accum_ref in mla.c for the definition.
#include <immintrin.h>
#include <math.h>

#include "model/mla.h"

void wk_mla_accum_avx2(float *o, int64_t o_stride, const float *p, int64_t p_stride,
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
