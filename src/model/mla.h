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

// --- expanded keys (mla_expanded.c) --------------------------------------------------------------
//
// For a long prompt the keys are expanded instead of the queries absorbed: per head h and row i
//   k[h][i] = [W_k_b[h]^T c_kv_i (nope) | k_pe_i (n_rope)]     (W_k_b dequantized to floats)
//   s_i     = kq_scale · [q_nope~ | q_pe] · k[h][i]
// where q_nope~ is q_nope rounded as the absorbed form's product rounds it (to W_k_b's vec_dot
// type and back): the same scores as the absorbed form's (W_k_b q_nope~) · c_kv up to float
// rounding, for nope + n_rope multiply-adds per (query, row) pair instead of kv_lora + n_rope.
// The values stay latent (softmax · c_kv, then W_v_b as in the absorbed form), so every
// quantization point of the reference is kept. Costs the expansion of every visible row per pass
// (nope · kv_lora float multiply-adds per head), paid back from some dozens of tokens on.

// One sequence's tokens of a pass (F32 cache).
typedef struct wk_mla_exp {
    wk_mm *mm;
    const wk_tensor *kb; // attn_k_b {nope, kv_lora, n_head}
    int64_t n_head, kv_lora, n_rope;
    float kq_scale;
    const float *kv; // the sequence's cache rows from position 0, kv_stride floats apart
    int64_t kv_stride;
    int64_t pos0, n; // the tokens: positions pos0 .. pos0 + n - 1 (rows 0 .. pos0 + n visible)
    const float *q;  // token t, head h: q + t * q_ts + h * (nope + n_rope) = [q_nope | q_pe]
    int64_t q_ts;
    float *o; // token t, head h: o + t * o_ts + h * kv_lora receives softmax · c_kv
    int64_t o_ts;
    float *qr;        // n * n_head * (nope + n_rope) floats: the rounded queries
    float *wt;        // n_head * nope * kv_lora floats: W_k_b^T
    float *buf;       // buf_rows * (nope + n_rope) floats: expanded keys of a block of heads
    int64_t buf_rows; // >= pos0 + n
    float *scratch;   // per thread scratch_per_thread floats
    int64_t scratch_per_thread; // >= WK_MLA_EXP_TOKS * (pos0 + n)
} wk_mla_exp;

enum { WK_MLA_EXP_TOKS = 16 }; // queries per unit of the attention

// Whether W_k_b's type lets the expanded keys round q_nope as the absorbed form does.
bool wk_mla_exp_takes(const wk_kernels *kern, const wk_tensor *kb);

// Whether the expanded keys are cheaper for n tokens seeing n_kv rows (see mla_expanded.c).
bool wk_mla_exp_pays(int64_t n, int64_t n_kv, int64_t kv_lora, int64_t nope, int64_t n_rope);

// Attention of e->n tokens, all heads, with expanded keys.
void wk_mla_exp_attend(const wk_mla_exp *e);

#endif
