// ops.c — the element-wise and row-wise steps of a forward pass, written to round like ggml's CPU
// backend (shared/fixtures/README.md §8): sums of squares and softmax denominators in double,
// RoPE angles built by repeated float multiplication.
#include <math.h>

#include "model/model.h"

// y = x / sqrt(mean(x²) + eps) * w   (ggml_rms_norm then ggml_mul by the gain)
void wk_rms_norm(float *y, const float *x, const float *w, int64_t T, int64_t n, float eps)
{
    for (int64_t t = 0; t < T; t++) {
        const float *xr = x + t * n;
        float *yr = y + t * n;
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) { sum += (double)(xr[i] * xr[i]); }
        const float mean = (float)(sum / (double)n);
        const float scale = 1.0f / sqrtf(mean + eps);
        for (int64_t i = 0; i < n; i++) { yr[i] = (xr[i] * scale) * w[i]; }
    }
}

void wk_vec_add(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) { y[i] += x[i]; }
}

void wk_add_bias(float *y, const float *b, int64_t T, int64_t n, int64_t stride)
{
    for (int64_t t = 0; t < T; t++) { wk_vec_add(y + t * stride, b, n); }
}

void wk_vec_scale(float *y, int64_t n, float s)
{
    for (int64_t i = 0; i < n; i++) { y[i] *= s; }
}

// silu(x) = x / (1 + e^-x)
static inline float silu(float x)
{
    return x / (1.0f + expf(-x));
}

void wk_swiglu(float *h, int64_t h_stride, const float *g, const float *u, int64_t gu_stride,
               int64_t T, int64_t n)
{
    for (int64_t t = 0; t < T; t++) {
        const float *gr = g + t * gu_stride, *ur = u + t * gu_stride;
        float *hr = h + t * h_stride;
        for (int64_t i = 0; i < n; i++) { hr[i] = silu(gr[i]) * ur[i]; }
    }
}

// x = e^(x - max) / Σ e^(x - max)
void wk_softmax(float *x, int64_t n)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] > max) { max = x[i]; }
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float e = expf(x[i] - max);
        x[i] = e;
        sum += (double)e;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) { x[i] *= inv; }
}

// --- RoPE ----------------------------------------------------------------------------------------

// The pair index where YaRN's ramp starts (beta_fast) / ends (beta_slow):
//   corr(b) = n_rot · ln(n_ctx_orig / (b · 2π)) / (2 ln base)
static float yarn_corr_dim(int64_t n_rot, int64_t n_ctx_orig, float beta, float base)
{
    return (float)n_rot * logf((float)n_ctx_orig / (beta * 2.0f * (float)M_PI)) /
           (2.0f * logf(base));
}

void wk_rope_init(wk_rope *r, const wk_hparams *hp, int64_t n_rot, int mode,
                  const float *freq_factors)
{
    r->n_rot = n_rot;
    r->mode = mode;
    r->theta_scale = powf(hp->rope_base, -2.0f / (float)n_rot);
    r->freq_scale = hp->rope_freq_scale;
    r->ext_factor = hp->yarn_ext_factor;
    r->attn_factor = hp->rope_attn_factor;
    r->freq_factors = freq_factors;
    float lo = floorf(yarn_corr_dim(n_rot, hp->n_ctx_orig, hp->yarn_beta_fast, hp->rope_base));
    float hi = ceilf(yarn_corr_dim(n_rot, hp->n_ctx_orig, hp->yarn_beta_slow, hp->rope_base));
    r->corr_lo = lo > 0 ? lo : 0;
    r->corr_hi = hi < (float)(n_rot - 1) ? hi : (float)(n_rot - 1);
}

// ramp(i) = 1 - clamp((i - lo) / max(0.001, hi - lo), 0, 1), i = pair index
static float yarn_ramp(float lo, float hi, int64_t i0)
{
    const float y = ((float)(i0 / 2) - lo) / fmaxf(0.001f, hi - lo);
    return 1.0f - fminf(1.0f, fmaxf(0.0f, y));
}

void wk_rope_cache(const wk_rope *r, int64_t pos, float *cs)
{
    float theta = (float)pos;
    for (int64_t i0 = 0; i0 < r->n_rot; i0 += 2) {
        const float ff = r->freq_factors ? r->freq_factors[i0 / 2] : 1.0f;
        const float theta_extrap = theta / ff;
        const float theta_interp = r->freq_scale * theta_extrap;
        float th = theta_interp;
        float mscale = r->attn_factor;
        if (r->ext_factor != 0.0f) {
            const float mix = yarn_ramp(r->corr_lo, r->corr_hi, i0) * r->ext_factor;
            th = theta_interp * (1 - mix) + theta_extrap * mix;
            mscale *= 1.0f + 0.1f * logf(1.0f / r->freq_scale);
        }
        cs[i0] = cosf(th) * mscale;
        cs[i0 + 1] = sinf(th) * mscale;
        theta *= r->theta_scale;
    }
}

void wk_rope_apply(const wk_rope *r, const float *cs, float *x, int64_t n_heads,
                   int64_t head_stride)
{
    const int64_t n_rot = r->n_rot, half = n_rot / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *xh = x + h * head_stride;
        if (r->mode == WK_ROPE_NEOX) {
            for (int64_t i = 0; i < half; i++) {
                const float c = cs[2 * i], s = cs[2 * i + 1];
                const float x0 = xh[i], x1 = xh[i + half];
                xh[i] = x0 * c - x1 * s;
                xh[i + half] = x0 * s + x1 * c;
            }
        } else {
            for (int64_t i = 0; i < n_rot; i += 2) {
                const float c = cs[i], s = cs[i + 1];
                const float x0 = xh[i], x1 = xh[i + 1];
                xh[i] = x0 * c - x1 * s;
                xh[i + 1] = x0 * s + x1 * c;
            }
        }
    }
}
