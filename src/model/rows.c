// rows.c — the row-parallel steps of a forward pass (see wk_rows_run in model.h): each row is
// computed by one thread with the ops of ops.c, so results do not depend on the split.
#include "model/model.h"

typedef struct rows_job {
    int64_t T;
    wk_rows_fn fn;
    void *ctx;
} rows_job;

static void rows_part(void *ctx, int ith, int nth)
{
    const rows_job *j = ctx;
    j->fn(j->ctx, j->T * ith / nth, j->T * (ith + 1) / nth, ith);
}

void wk_rows_run(wk_mm *mm, int64_t T, wk_rows_fn fn, void *ctx)
{
    if (T > 1) {
        rows_job j = {T, fn, ctx};
        wk_mm_parallel(mm, rows_part, &j);
    } else {
        fn(ctx, 0, T, 0);
    }
}

// The arguments of the element-wise steps below (n: row length, also the row stride).
typedef struct elt_job {
    float *dst;
    const float *src;
    const float *w;
    int64_t n;
    float eps;
} elt_job;

static void norm_rows(void *ctx, int64_t t0, int64_t t1, int ith)
{
    const elt_job *j = ctx;
    (void)ith;
    for (int64_t t = t0; t < t1; t++) {
        wk_rms_norm(j->dst + t * j->n, j->src + t * j->n, j->w, 1, j->n, j->eps);
    }
}

void wk_rows_norm(wk_mm *mm, float *dst, const float *src, const float *w, int64_t T, int64_t n,
                  float eps)
{
    elt_job j = {dst, src, w, n, eps};
    wk_rows_run(mm, T, norm_rows, &j);
}

static void add_rows(void *ctx, int64_t t0, int64_t t1, int ith)
{
    const elt_job *j = ctx;
    (void)ith;
    for (int64_t t = t0; t < t1; t++) { wk_vec_add(j->dst + t * j->n, j->src + t * j->n, j->n); }
}

void wk_rows_add(wk_mm *mm, float *dst, const float *src, int64_t T, int64_t n)
{
    elt_job j = {dst, src, NULL, n, 0.0f};
    wk_rows_run(mm, T, add_rows, &j);
}

static void swiglu_rows(void *ctx, int64_t t0, int64_t t1, int ith)
{
    const elt_job *j = ctx;
    const int64_t n = j->n;
    (void)ith;
    for (int64_t t = t0; t < t1; t++) {
        const float *g = j->src + t * 2 * n;
        wk_swiglu(j->dst + t * n, n, g, g + n, 2 * n, 1, n);
    }
}

void wk_rows_swiglu(wk_mm *mm, float *act, const float *gu, int64_t T, int64_t n)
{
    elt_job j = {act, gu, NULL, n, 0.0f};
    wk_rows_run(mm, T, swiglu_rows, &j);
}

int64_t wk_rows_logits(wk_session *s, const wk_batch *b, const float *x, float *h, int64_t T,
                       int64_t n, const float *norm, float eps, const wk_tensor *output,
                       int64_t n_vocab)
{
    const float *rows = x + (b->logits_all ? 0 : T - 1) * n;
    int64_t n_out = b->logits_all ? T : 1;
    if (b->segs) { // each segment's last row, gathered
        n_out = b->n_segs;
        for (int64_t i = 0, t = 0; i < n_out; i++) {
            t += b->segs[i].n;
            memcpy(h + i * n, x + (t - 1) * n, (size_t)n * sizeof(float));
        }
        rows = h;
    }
    wk_rows_norm(&s->mm, h, rows, norm, n_out, n, eps);
    wk_mm_project(&s->mm, output, h, n_out, s->logits, n_vocab, false);
    s->n_logits = n_out;
    return n_out;
}
