// mla.c — the cache side of absorbed multi-head latent attention (see mla.h).
#include "model/mla.h"

#include <math.h>

#include "kernels/kernels.h"

// Σ a[i] b[i] with 8 partial sums (the order ggml's SIMD dot uses is different again; both are
// float32 sums of the same products).
static float dot_f32(const float *a, const float *b, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; j++) { acc[j] += a[i + j] * b[i + j]; }
    }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) { s += a[i] * b[i]; }
    return s;
}

static float dot_f16(const float *a, const uint16_t *b, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; j++) { acc[j] += a[i + j] * wk_fp16_to_f32(b[i + j]); }
    }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) { s += a[i] * wk_fp16_to_f32(b[i]); }
    return s;
}

// scores[h][0..n_kv) -> softmax(kq_scale * scores) in place, as ggml_soft_max_ext.
static void softmax_rows(int n_head, int64_t n_kv, float kq_scale, float *scores)
{
    for (int h = 0; h < n_head; h++) {
        float *s = scores + (int64_t)h * n_kv;
        float max = -INFINITY;
        for (int64_t i = 0; i < n_kv; i++) {
            s[i] *= kq_scale;
            max = fmaxf(max, s[i]);
        }
        double sum = 0;
        for (int64_t i = 0; i < n_kv; i++) {
            s[i] = expf(s[i] - max);
            sum += s[i];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < n_kv; i++) { s[i] *= inv; }
    }
}

void wk_mla_attend(int n_head, int64_t kv_lora, int64_t n_rope, const float *q, int64_t q_stride,
                   const float *kv, int64_t kv_stride, int64_t n_kv, float kq_scale,
                   float *scores, float *o, int64_t o_stride)
{
    int64_t dim = kv_lora + n_rope;
    // Rows outer, heads inner: each cached row is read once for all heads.
    for (int64_t i = 0; i < n_kv; i++) {
        const float *row = kv + i * kv_stride;
        for (int h = 0; h < n_head; h++) {
            scores[(int64_t)h * n_kv + i] = dot_f32(q + (int64_t)h * q_stride, row, dim);
        }
    }
    softmax_rows(n_head, n_kv, kq_scale, scores);
    for (int h = 0; h < n_head; h++) {
        float *oh = o + (int64_t)h * o_stride;
        for (int64_t c = 0; c < kv_lora; c++) { oh[c] = 0; }
    }
    for (int64_t i = 0; i < n_kv; i++) {
        const float *row = kv + i * kv_stride;
        for (int h = 0; h < n_head; h++) {
            float p = scores[(int64_t)h * n_kv + i];
            float *oh = o + (int64_t)h * o_stride;
            for (int64_t c = 0; c < kv_lora; c++) { oh[c] += p * row[c]; }
        }
    }
}

void wk_mla_attend_f16(int n_head, int64_t kv_lora, int64_t n_rope, const float *q,
                       int64_t q_stride, const uint16_t *kv, int64_t kv_stride, int64_t n_kv,
                       float kq_scale, float *scores, float *o, int64_t o_stride)
{
    int64_t dim = kv_lora + n_rope;
    for (int64_t i = 0; i < n_kv; i++) {
        const uint16_t *row = kv + i * kv_stride;
        for (int h = 0; h < n_head; h++) {
            scores[(int64_t)h * n_kv + i] = dot_f16(q + (int64_t)h * q_stride, row, dim);
        }
    }
    softmax_rows(n_head, n_kv, kq_scale, scores);
    for (int h = 0; h < n_head; h++) {
        float *oh = o + (int64_t)h * o_stride;
        for (int64_t c = 0; c < kv_lora; c++) { oh[c] = 0; }
    }
    for (int64_t i = 0; i < n_kv; i++) {
        const uint16_t *row = kv + i * kv_stride;
        for (int h = 0; h < n_head; h++) {
            float p = scores[(int64_t)h * n_kv + i];
            float *oh = o + (int64_t)h * o_stride;
            for (int64_t c = 0; c < kv_lora; c++) { oh[c] += p * wk_fp16_to_f32(row[c]); }
        }
    }
}

void wk_mla_split_kv_b(const float *kv_b, int n_head, int64_t kv_lora, int64_t nope,
                       int64_t v_dim, float *k_b, float *v_b)
{
    for (int h = 0; h < n_head; h++) {
        const float *base = kv_b + (int64_t)h * (nope + v_dim) * kv_lora;
        if (k_b) {
            float *kh = k_b + (int64_t)h * kv_lora * nope;
            for (int64_t c = 0; c < nope; c++) {
                for (int64_t r = 0; r < kv_lora; r++) { kh[r * nope + c] = base[c * kv_lora + r]; }
            }
        }
        if (v_b) {
            float *vh = v_b + (int64_t)h * v_dim * kv_lora;
            const float *src = base + nope * kv_lora;
            for (int64_t i = 0; i < v_dim * kv_lora; i++) { vh[i] = src[i]; }
        }
    }
}
