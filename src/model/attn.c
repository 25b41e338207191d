// attn.c — causal grouped-query attention over the KV cache (see wk_attention in model.h).
//
// Like ggml's non-flash path (shared/spec/MODELS.md §3d): scores s = K·q with float32 dots
// (an fp16 cache: q is rounded to fp16 and the dot runs on fp16 pairs with float32 sums),
// softmax(kq_scale · s) with a causal mask, then out = Σ_j p_j · v_j (an fp16 cache: p_j rounded
// to fp16 first, as ggml converts the probabilities to the V cache's type).
// Work: the T × n_head (token, head) pairs are split into contiguous ranges, one per thread.
#include <math.h>

#include "model/model.h"

int64_t wk_attn_scratch_per_thread(int64_t n_ctx, int64_t head_dim_k, int64_t head_dim_v)
{
    // scores[n_ctx] | q as fp16 (head_dim_k halves, counted as floats) | accumulator[head_dim_v]
    return n_ctx + head_dim_k + head_dim_v + 16;
}

typedef struct attn_job {
    wk_attn_args *a;
    const wk_kernels *kern;
} attn_job;

static void attend_one(const wk_attn_args *a, const wk_kernels *kern, int64_t t, int64_t h,
                       float *scratch)
{
    const wk_kv *kv = a->kv;
    const int64_t hk = a->head_dim_k, hv = a->head_dim_v;
    const int64_t g = h / (a->n_head / a->n_head_kv);
    const int64_t n_kv = a->pos0 + t + 1; // causal: positions 0 .. pos0 + t
    const float *q = a->q + t * a->q_stride + h * hk;
    float *s = scratch;
    float *acc = scratch + a->kv->n_ctx + hk;

    // s[j] = kq_scale · (q · k_j)
    if (kv->type == WK_KV_F32) {
        for (int64_t j = 0; j < n_kv; j++) {
            const float *kr = (const float *)wk_kv_row(kv, kv->k, a->il, j, kv->k_row) + g * hk;
            float d;
            kern->vec_dot[WICK_DTYPE_F32](hk, &d, kr, q);
            s[j] = d * a->kq_scale;
        }
    } else {
        uint16_t *q16 = (uint16_t *)(scratch + kv->n_ctx);
        kern->from_float[WICK_DTYPE_F16](q, q16, hk);
        for (int64_t j = 0; j < n_kv; j++) {
            const uint16_t *kr =
                (const uint16_t *)wk_kv_row(kv, kv->k, a->il, j, kv->k_row) + g * hk;
            float d;
            kern->vec_dot[WICK_DTYPE_F16](hk, &d, kr, q16);
            s[j] = d * a->kq_scale;
        }
    }
    wk_softmax(s, n_kv);

    // out = Σ_j p_j · v_j
    for (int64_t d = 0; d < hv; d++) { acc[d] = 0.0f; }
    if (kv->type == WK_KV_F32) {
        for (int64_t j = 0; j < n_kv; j++) {
            const float *vr = (const float *)wk_kv_row(kv, kv->v, a->il, j, kv->v_row) + g * hv;
            const float p = s[j];
            for (int64_t d = 0; d < hv; d++) { acc[d] += p * vr[d]; }
        }
    } else {
        for (int64_t j = 0; j < n_kv; j++) {
            const uint16_t *vr =
                (const uint16_t *)wk_kv_row(kv, kv->v, a->il, j, kv->v_row) + g * hv;
            const float p = wk_fp16_to_f32(wk_f32_to_fp16(s[j]));
            for (int64_t d = 0; d < hv; d++) { acc[d] += p * wk_fp16_to_f32(vr[d]); }
        }
    }
    memcpy(a->out + t * a->n_head * hv + h * hv, acc, (size_t)hv * sizeof(float));
}

static void attn_part(void *ctx, int ith, int nth)
{
    attn_job *j = ctx;
    wk_attn_args *a = j->a;
    const int64_t n = a->T * a->n_head;
    const int64_t i0 = n * ith / nth, i1 = n * (ith + 1) / nth;
    float *scratch = a->scratch + (size_t)ith * (size_t)a->scratch_per_thread;
    for (int64_t i = i0; i < i1; i++) { attend_one(a, j->kern, i / a->n_head, i % a->n_head, scratch); }
}

void wk_attention(wk_mm *mm, wk_attn_args *a)
{
    attn_job j = {a, mm->kern};
    wk_mm_parallel(mm, attn_part, &j);
}
