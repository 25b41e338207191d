// sample.h — internals of the sampler: candidate tokens and the selections the filters use.
#ifndef WK_SAMPLE_H
#define WK_SAMPLE_H

#include <string.h>

#include "base/base.h"

// A token still in play. p: its probability among the candidates (filled by wk_sample_softmax);
// key: the order a filter keeps tokens in (ascending; equal keys by id).
typedef struct wk_cand {
    float logit;
    float p;
    float key;
    int32_t id;
} wk_cand;

// The k best tokens of x[0, n) (logit descending, id ascending) into out[0, k), best first, by one
// pass with a k-entry heap. NaN and infinite logits are skipped. Returns how many (< k when fewer
// finite logits exist).
int32_t wk_sample_top(const float *x, int32_t n, int32_t k, wk_cand *out);

// Sorts c[0, n) by key ascending, then id.
void wk_sample_sort(wk_cand *c, size_t n);

// Puts in front, in key order at least at the cut, the smallest m such that the probability mass
// of the m first tokens in key order reaches need (exceeds it when strict) and m >= min_keep;
// returns m (n when no prefix reaches need). Expected linear time (quickselect by mass: only the
// last window is sorted); c[0, m) is the kept set, in no particular order.
size_t wk_sample_mass_prefix(wk_cand *c, size_t n, double need, bool strict, size_t min_keep);

// p = softmax(logit) over c[0, n); returns the largest logit.
float wk_sample_softmax(wk_cand *c, size_t n);

// e^t for t in [-87, 0], within 2 ulp of expf (Cody-Waite reduction, Cephes' degree-6
// polynomial); 0 for t below -87, above 0 or NaN. Integer masks instead of comparisons of floats
// (GCC keeps those as branches), so loops over it vectorize.
static inline float wk_sample_exp_neg(float t)
{
    uint32_t b;
    memcpy(&b, &t, sizeof b);
    // +0, or negative with magnitude at most 87 (0x42ae0000): -inf and NaN are above it
    const uint32_t in = (b == 0) | ((b >> 31) & ((b & 0x7fffffffu) <= 0x42ae0000u));
    const uint32_t ok = (uint32_t)0 - in; // all ones or zero
    const uint32_t ub = b & ok; // the rest computes e^0 and is masked
    float u;
    memcpy(&u, &ub, sizeof u);
    const float k = (u * 1.44269504088896341f + 12582912.0f) - 12582912.0f; // round(u / ln 2)
    const float r = (u - k * 0.693359375f) - k * -2.12194440e-4f;           // u - k ln 2
    float q = 1.9875691500e-4f;
    q = q * r + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    const float e = q * r * r + r + 1.0f;
    const uint32_t sb = (uint32_t)((int32_t)k + 127) << 23; // 2^k
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    const float v = e * scale;
    uint32_t vb;
    memcpy(&vb, &v, sizeof vb);
    vb &= ok;
    float out;
    memcpy(&out, &vb, sizeof out);
    return out;
}

// The sum of e^(x[i] - max) over x[0, n) (NaN and infinite x add nothing); max: the largest
// finite x. Sums of 16 lanes per 256 entries, then in double.
double wk_sample_sum_exp(const float *x, size_t n, float max);

#endif
