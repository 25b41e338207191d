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
