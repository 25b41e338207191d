// select.c — the selections behind the sampler's filters: the k largest logits in one pass
// (a k-entry min-heap; most logits are rejected by one comparison with the heap's smallest), and
// the shortest prefix of a key order holding a probability mass (quickselect on the mass, so no
// filter sorts the whole vocabulary).
#include <math.h>
#include <stdlib.h>

#include "sample/sample.h"

// a is worse than b: lower logit, or equal logit and higher id.
static inline bool worse(const wk_cand *a, const wk_cand *b)
{
    return a->logit < b->logit || (a->logit == b->logit && a->id > b->id);
}

static void sift_down(wk_cand *h, int32_t n, int32_t i)
{
    wk_cand v = h[i];
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= n) { break; }
        if (c + 1 < n && worse(&h[c + 1], &h[c])) { c++; }
        if (!worse(&h[c], &v)) { break; }
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

static int cmp_best_first(const void *a, const void *b)
{
    const wk_cand *x = a, *y = b;
    return worse(x, y) ? 1 : worse(y, x) ? -1 : 0;
}

int32_t wk_sample_top(const float *x, int32_t n, int32_t k, wk_cand *h)
{
    int32_t m = 0, i = 0;
    if (k <= 0) { return 0; }
    for (; i < n && m < k; i++) {
        if (!(x[i] > -INFINITY && x[i] < INFINITY)) { continue; }
        // sift up the new leaf (min-heap on "worse")
        int32_t j = m++;
        wk_cand v = {x[i], 0, 0, i};
        while (j > 0 && worse(&v, &h[(j - 1) / 2])) {
            h[j] = h[(j - 1) / 2];
            j = (j - 1) / 2;
        }
        h[j] = v;
    }
    if (m == k) {
        // A later id with an equal logit is worse than the heap's minimum, so only a strictly
        // larger logit enters.
        float thr = h[0].logit;
        for (; i < n; i++) {
            if (x[i] > thr) {
                if (!(x[i] < INFINITY)) { continue; }
                h[0] = (wk_cand){x[i], 0, 0, i};
                sift_down(h, m, 0);
                thr = h[0].logit;
            }
        }
    }
    qsort(h, (size_t)m, sizeof *h, cmp_best_first);
    return m;
}

static inline bool before(const wk_cand *a, const wk_cand *b)
{
    return a->key < b->key || (a->key == b->key && a->id < b->id);
}

static int cmp_key(const void *a, const void *b)
{
    const wk_cand *x = a, *y = b;
    return before(x, y) ? -1 : before(y, x) ? 1 : 0;
}

void wk_sample_sort(wk_cand *c, size_t n)
{
    qsort(c, n, sizeof *c, cmp_key);
}

static inline void swap(wk_cand *a, wk_cand *b)
{
    wk_cand t = *a;
    *a = *b;
    *b = t;
}

static inline bool enough(double cum, size_t m, double need, bool strict, size_t min_keep)
{
    return m >= min_keep && (strict ? cum > need : cum >= need);
}

size_t wk_sample_mass_prefix(wk_cand *c, size_t n, double need, bool strict, size_t min_keep)
{
    // Invariant: every token in c[0, lo) comes before every one in c[lo, hi), which come before
    // every one in c[hi, n); taken is the mass of c[0, lo); ans the shortest prefix known to be
    // enough (n: none yet).
    size_t lo = 0, hi = n, ans = n;
    double taken = 0;
    while (hi - lo > 32) {
        // median of three as the pivot, moved to hi - 1
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        if (before(&c[mid], &c[lo])) { swap(&c[mid], &c[lo]); }
        if (before(&c[last], &c[lo])) { swap(&c[last], &c[lo]); }
        if (before(&c[mid], &c[last])) { swap(&c[mid], &c[last]); }
        const wk_cand pv = c[last];
        size_t q = lo;
        double mass = 0;
        for (size_t i = lo; i < last; i++) {
            if (before(&c[i], &pv)) {
                mass += c[i].p;
                swap(&c[i], &c[q++]);
            }
        }
        swap(&c[q], &c[last]);
        double cum = taken + mass + c[q].p; // the mass of the prefix that ends with the pivot
        if (enough(cum, q + 1, need, strict, min_keep)) {
            ans = q + 1;
            hi = q;
        } else {
            taken = cum;
            lo = q + 1;
        }
    }
    wk_sample_sort(c + lo, hi - lo);
    double cum = taken;
    for (size_t i = lo; i < hi; i++) {
        cum += c[i].p;
        if (enough(cum, i + 1, need, strict, min_keep)) { return i + 1; }
    }
    return ans;
}

float wk_sample_softmax(wk_cand *c, size_t n)
{
    float max = -INFINITY;
    for (size_t i = 0; i < n; i++) { max = c[i].logit > max ? c[i].logit : max; }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].p = expf(c[i].logit - max);
        sum += c[i].p;
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++) { c[i].p *= inv; }
    return max;
}

double wk_sample_sum_exp(const float *x, size_t n, float max)
{
    double sum = 0;
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        float acc[16] = {0};
        for (size_t j = 0; j < 256; j += 16) {
            for (int l = 0; l < 16; l++) { acc[l] += wk_sample_exp_neg(x[i + j + l] - max); }
        }
        float t = 0;
        for (int l = 0; l < 16; l++) { t += acc[l]; }
        sum += t;
    }
    for (; i < n; i++) { sum += wk_sample_exp_neg(x[i] - max); }
    return sum;
}
