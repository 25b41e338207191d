// yarn.h — the YaRN numbers of deepseek2 (YaRN, arXiv:2309.00071, as llama.cpp applies it): the
// attention factor the rope kernel gets, the attention scale, and the correction range of the ramp.
// The rotation itself is the engine's wk_rope (ops.c), which computes ggml's rope_yarn angle by
// angle.
#ifndef WK_MODEL_YARN_H
#define WK_MODEL_YARN_H

#include <stdbool.h>
#include <stdint.h>

// The YaRN correction range in pair indices (ggml_rope_yarn_corr_dims):
//   corr(b) = n_rot ln(n_ctx_orig / (2 pi b)) / (2 ln base)
//   lo = max(0, floor(corr(beta_fast))), hi = min(n_rot - 1, ceil(corr(beta_slow)))
void wk_yarn_corr_dims(int64_t n_rot, int64_t n_ctx_orig, float freq_base, float beta_fast,
                       float beta_slow, float dims[2]);

// deepseek2's YaRN scales (llama.cpp's context constructor + the deepseek2 graph), f = factor:
//   ctx attn_factor = get_mscale(f, ms) / get_mscale(f, ms_all) * rope_attn_factor / (1 + 0.1 ln f)
//     get_mscale(s, m) = s <= 1 ? 1 : 1 + 0.1 m ln s; ms_all = log_mul (the GGUF value / 0.1);
//     ms = ms_all for deepseek2, so the ratio is 1 (applied only when log_mul != 0)
//   attn_factor_org = attn_factor (1 + 0.1 ln f);  mscale = attn_factor_org (1 + 0.1 log_mul ln f)
//   kq_scale = mscale^2 / sqrt(head_k)          (head_k = key_length_mla, 192 for Kimi K2)
// The rope kernel multiplies cos/sin by attn_factor (1 + 0.1 ln f) = 1 for Kimi K2. Without YaRN
// (yarn false) attn_factor = rope_attn_factor.
typedef struct wk_yarn_scales {
    float attn_factor; // what the rope kernel gets (0.742625 for Kimi K2)
    float mscale;      // 1.346574 for Kimi K2
    float kq_scale;    // 0.1308606 for Kimi K2
} wk_yarn_scales;
void wk_deepseek2_yarn_scales(bool yarn, float factor, float log_mul, float rope_attn_factor,
                              int64_t head_k, wk_yarn_scales *out);

#endif
