// sample.h — internals of the sampler: candidate tokens and the selections the filters use.
#ifndef WK_SAMPLE_H
#define WK_SAMPLE_H

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

#endif
