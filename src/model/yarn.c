// yarn.c — deepseek2's YaRN scales in float32, operation for operation as llama.cpp computes them
// (see yarn.h).
#include "model/yarn.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static float corr_dim(int64_t n_rot, int64_t n_ctx_orig, float n_rotations, float base)
{
    return (float)n_rot * logf((float)n_ctx_orig / (n_rotations * 2 * (float)M_PI)) /
           (2 * logf(base));
}

void wk_yarn_corr_dims(int64_t n_rot, int64_t n_ctx_orig, float freq_base, float beta_fast,
                       float beta_slow, float dims[2])
{
    float start = floorf(corr_dim(n_rot, n_ctx_orig, beta_fast, freq_base));
    float end = ceilf(corr_dim(n_rot, n_ctx_orig, beta_slow, freq_base));
    dims[0] = start > 0 ? start : 0;
    dims[1] = end < (float)(n_rot - 1) ? end : (float)(n_rot - 1);
}

static float get_mscale(float scale, float m)
{
    return scale <= 1.0f ? 1.0f : 0.1f * m * logf(scale) + 1.0f;
}

void wk_deepseek2_yarn_scales(bool yarn, float factor, float log_mul, float rope_attn_factor,
                              int64_t head_k, wk_yarn_scales *out)
{
    float f = factor > 0 ? factor : 1.0f; // 1 / freq_scale
    float attn_factor = 1.0f;
    if (yarn) {
        if (log_mul != 0.0f) {
            // llama.cpp takes mscale = mscale_all_dim for deepseek2 (and 1 when that is 1), so
            // this ratio is 1; it shows where a file's own mscale would enter.
            float ms = log_mul;
            attn_factor = get_mscale(f, ms) / get_mscale(f, log_mul);
        }
        attn_factor *= rope_attn_factor;
        attn_factor *= 1.0f / (1.0f + 0.1f * logf(f));
    } else {
        attn_factor = rope_attn_factor;
    }
    // The deepseek2 graph undoes the context's adjustment and pre-scales kq_scale instead.
    float attn_factor_org = attn_factor * (1.0f + 0.1f * logf(f));
    float mscale = attn_factor_org * (1.0f + 0.1f * log_mul * logf(f));
    out->attn_factor = attn_factor;
    out->mscale = mscale;
    out->kq_scale = 1.0f * mscale * mscale / sqrtf((float)head_k);
}
