// mla.h — multi-head latent attention, absorbed form (DeepSeek-V2, arXiv:2405.04434).
//
// The cache holds one row per token and layer: [c_kv (kv_lora) | k_pe (n_rope)], shared by all
// heads (MQA with one kv head). Per head h, with the absorbed query
//   q_abs[h] = W_k_b[h] · q_nope[h]          W_k_b[h]: kv_lora rows of nope    (attn_k_b)
//   Q[h]     = [q_abs[h] | q_pe[h]]          (kv_lora + n_rope)
//   s_i      = kq_scale · Q[h] · row_i       for the cached rows i <= pos (causal)
//   o[h]     = Σ_i softmax(s)_i · c_kv_i      (kv_lora)
//   o'[h]    = W_v_b[h] · o[h]               W_v_b[h]: v_dim rows of kv_lora   (attn_v_b)
// The projections go through the matmul driver (quantized weights); this file holds the part
// that works on the cache, and the load-time split of the legacy attn_kv_b.
#ifndef WK_MODEL_MLA_H
#define WK_MODEL_MLA_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

// Attention of n_head absorbed queries over n_kv cached rows (all visible to them).
//   q:      n_head rows of q_stride floats, each [q_abs (kv_lora) | q_pe (n_rope)]
//   kv:     n_kv rows of kv_stride floats, each [c_kv (kv_lora) | k_pe (n_rope)]
//   scores: n_head * n_kv floats of scratch
//   o:      n_head rows of o_stride floats receive softmax · c_kv (kv_lora each)
// Softmax as ggml: s = kq_scale · q·k, e = exp(s - max), sum in double, e * (1 / sum).
// Dots with kern's dot_f32_4x4 (four heads × four rows; F32 vec_dot at the edges), the weighted
// rows with its accum_rows. scratch: wk_mla_attend_scratch() floats.
void wk_mla_attend(const wk_kernels *kern, int n_head, int64_t kv_lora, int64_t n_rope,
                   const float *q, int64_t q_stride, const float *kv, int64_t kv_stride,
                   int64_t n_kv, float kq_scale, float *scratch, float *o, int64_t o_stride);

// Same for an f16 cache (rows of kv_stride fp16 values), as ggml does it: q is rounded to fp16
// for the fp16 dot products, the probabilities to fp16 before they weight the rows.
void wk_mla_attend_f16(const wk_kernels *kern, int n_head, int64_t kv_lora, int64_t n_rope,
                       const float *q, int64_t q_stride, const uint16_t *kv, int64_t kv_stride,
                       int64_t n_kv, float kq_scale, float *scratch, float *o, int64_t o_stride);

// Scratch floats of one wk_mla_attend(_f16) call.
static inline int64_t wk_mla_attend_scratch(int n_head, int64_t kv_lora, int64_t n_rope,
                                            int64_t n_kv)
{
    return (int64_t)n_head * (n_kv + kv_lora + n_rope) + 4 * (kv_lora + n_rope) + 16;
}

// Per-head products with a 3-D weight W {K, N, n_head} (head h = N rows of K, as attn_k_b and
// attn_v_b are stored): for T tokens and every head,
//   y[t * y_ts + h * y_hs + r] = W[h][r] · x[t * x_ts + h * x_hs + 0 .. K)     (r < N)
// Activations are converted to W's vec_dot_type into act (wk_mla_head_act_bytes: for T up to the
// one it was given), then the (head, row tile) units run on mm's threads; each weight row is read
// once per pass. With 8 tokens or more: a K-format W through the int8 GEMM (same bits as vec_dot,
// when mm has its GEMM buffers), a legacy one (Q4_0, Q5_0, Q8_0) through kernels' gemm0 where the
// path has it (the bits of the scalar vec_dot).
size_t wk_mla_head_act_bytes(int weight_type, int64_t K, int64_t T, int64_t n_head);
void wk_mla_head_matmul(wk_mm *mm, const wk_tensor *w, const float *x, int64_t x_ts, int64_t x_hs,
                        int64_t T, float *y, int64_t y_ts, int64_t y_hs, void *act);

#endif
