// moe.c — expert routing (see moe.h) with ggml's float32 operations.
#include "model/moe.h"

#include <math.h>

void wk_moe_topk(const float *x, int n, int k, int32_t *out)
{
    // k is small (8 of 384 for Kimi K2): repeated selection of the best not yet taken. A value is
    // better when strictly larger, so the lowest index wins a tie; -inf and NaN are taken last.
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int q = 0; q < j; q++) {
                if (out[q] == i) { taken = true; break; }
            }
            if (taken) { continue; }
            if (best < 0 || x[i] > x[best] || (isnan(x[best]) && !isnan(x[i]))) { best = i; }
        }
        out[j] = best;
    }
}

void wk_moe_route(const wk_moe_router *r, const float *logits, float *scratch, int32_t *ids,
                  float *w)
{
    int n = r->n_expert;
    float *p = scratch;
    float *sel = scratch + n;

    switch (r->gating) {
    case WK_GATING_SOFTMAX: {
        float max = -INFINITY;
        for (int i = 0; i < n; i++) { max = fmaxf(max, logits[i]); }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = expf(logits[i] - max);
            sum += p[i];
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++) { p[i] *= inv; }
        break;
    }
    case WK_GATING_SQRT_SOFTPLUS:
        for (int i = 0; i < n; i++) {
            float x = logits[i];
            p[i] = sqrtf(x > 20.0f ? x : logf(1.0f + expf(x)));
        }
        break;
    default: // sigmoid
        for (int i = 0; i < n; i++) { p[i] = 1.0f / (1.0f + expf(-logits[i])); }
        break;
    }

    for (int i = 0; i < n; i++) { sel[i] = r->bias ? p[i] + r->bias[i] : p[i]; }

    if (r->n_group > 1 && r->n_group_used < r->n_group) {
        // Score each group by the sum of its two best selection values, keep the best groups.
        int per = n / r->n_group;
        float *gscore = scratch + 2 * n;
        for (int g = 0; g < r->n_group; g++) {
            const float *s = sel + (int64_t)g * per;
            int32_t top[2];
            int kk = per < 2 ? per : 2;
            wk_moe_topk(s, per, kk, top);
            gscore[g] = 0;
            for (int j = 0; j < kk; j++) { gscore[g] += s[top[j]]; }
        }
        for (int g = 0; g < r->n_group; g++) {
            // Kept when fewer than n_group_used groups beat it (ties: the lower group wins).
            int better = 0;
            for (int o = 0; o < r->n_group; o++) {
                if (gscore[o] > gscore[g] || (gscore[o] == gscore[g] && o < g)) { better++; }
            }
            if (better >= r->n_group_used) {
                for (int i = 0; i < per; i++) { sel[(int64_t)g * per + i] = -INFINITY; }
            }
        }
    }

    wk_moe_topk(sel, n, r->n_used, ids);

    double sum = 0;
    for (int j = 0; j < r->n_used; j++) {
        w[j] = p[ids[j]];
        sum += w[j];
    }
    if (r->norm) {
        float s = (float)sum;
        if (s < 6.103515625e-5f) { s = 6.103515625e-5f; }
        for (int j = 0; j < r->n_used; j++) { w[j] = w[j] / s; }
    }
    if (r->scale != 0.0f && r->scale != 1.0f) {
        for (int j = 0; j < r->n_used; j++) { w[j] *= r->scale; }
    }
}

void wk_moe_plan(int n_expert, int n_used, int64_t n_tokens, const int32_t *ids, int64_t *start,
                 int32_t *order)
{
    // Counting sort of the pairs by expert id; a stable pass keeps tokens ascending.
    for (int e = 0; e <= n_expert; e++) { start[e] = 0; }
    int64_t n_pairs = n_tokens * n_used;
    for (int64_t p = 0; p < n_pairs; p++) { start[ids[p] + 1]++; }
    for (int e = 0; e < n_expert; e++) { start[e + 1] += start[e]; }
    for (int64_t p = 0; p < n_pairs; p++) {
        int e = ids[p];
        // start[e] is used as the fill cursor, then restored below.
        order[start[e]++] = (int32_t)p;
    }
    for (int e = n_expert; e > 0; e--) { start[e] = start[e - 1]; }
    start[0] = 0;
}
