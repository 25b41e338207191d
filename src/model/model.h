// model.h — the engine's internal structures: hyperparameters, tensor views into the mapped GGUF,
// per-layer weights, the per-architecture table, the KV cache, the matmul driver, the numeric ops.
//
// Data flow of one evaluation (session.c → arch->forward):
//   tokens[T] → embeddings x[T][n_embd] → layers (norm, attention with the KV cache, FFN) →
//   final norm → logits[T or 1][n_vocab].
// Activations are row-major float32 matrices: row t = token t of the batch.
//
// Adding an architecture (e.g. deepseek2): a file src/model/<arch>.c defines a wk_arch with
// load (read its keys into hparams, bind its tensors with wk_model_bind), kv_shape (how many
// elements of K and V the cache keeps per token and layer), session_init/free (its scratch
// buffers, sized for n_batch tokens) and forward; then list it in model.c's arch table.
#ifndef WK_MODEL_H
#define WK_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "base/pool.h"
#include "kernels/kernels.h"

// --- tensors -------------------------------------------------------------------------------------

// A view of one tensor of the mapped file (never copied). data == NULL: absent (optional tensor).
typedef struct wk_tensor {
    const char *name; // borrowed from the GGUF
    int type; // wick_dtype
    int n_dims;
    int64_t ne[4]; // ne[0] = row length (input features of a weight)
    const void *data;
    size_t row_bytes; // bytes of one row of ne[0] elements
    int64_t n_rows; // ne[1] * ne[2] * ne[3]
} wk_tensor;

// --- hyperparameters -----------------------------------------------------------------------------

enum { WK_ROPE_NORM = 0, WK_ROPE_NEOX = 2 }; // pairs (2i, 2i+1) | pairs (i, i + n_rot/2)
enum {
    WK_ROPE_SCALING_NONE,
    WK_ROPE_SCALING_LINEAR,
    WK_ROPE_SCALING_YARN,
    WK_ROPE_SCALING_LONGROPE
};

typedef struct wk_hparams {
    int64_t n_vocab;
    int64_t n_ctx_train;
    int64_t n_embd;
    int64_t n_layer;
    int64_t n_head;
    int64_t n_head_kv;
    int64_t n_ff;
    int64_t head_dim_k; // attention.key_length (default n_embd / n_head)
    int64_t head_dim_v; // attention.value_length (default head_dim_k)
    int64_t n_rot; // rope.dimension_count (default head_dim_k)
    float rms_eps;
    float kq_scale; // softmax scale (llama: 1/sqrt(head_dim) or attention.scale; phi3: 1)
    float q_scale; // phi3: q *= q_scale after RoPE (1/sqrt(head_dim)); 0 = none

    // RoPE (ggml rope_ext parameters)
    int rope_mode; // WK_ROPE_NORM | WK_ROPE_NEOX
    int rope_scaling; // WK_ROPE_SCALING_*
    float rope_base; // freq_base
    float rope_freq_scale; // 1 / rope.scaling.factor (1 when none)
    float rope_attn_factor; // mscale passed to the rope kernel (1 unless YaRN)
    float yarn_ext_factor; // 0 unless YaRN
    float yarn_beta_fast, yarn_beta_slow; // 32, 1 (llama.cpp defaults; deepseek2 ignores the keys)
    float yarn_log_mul; // deepseek2: rope.scaling.yarn_log_multiplier / 0.1
    int64_t n_ctx_orig; // rope.scaling.original_context_length (default n_ctx_train)

    // mixture of experts / MLA (deepseek2; 0 for dense models)
    int64_t n_expert, n_expert_used, n_expert_shared, n_expert_groups, n_expert_groups_used;
    int64_t n_layer_dense_lead, n_ff_exp;
    int64_t q_lora_rank, kv_lora_rank, head_dim_k_mla, head_dim_v_mla;
    int expert_gating; // 1 softmax, 2 sigmoid
    bool expert_weights_norm;
    float expert_weights_scale;
} wk_hparams;

// --- weights -------------------------------------------------------------------------------------

// Every weight a layer of a supported arch may have; absent ones have data == NULL.
typedef struct wk_layer {
    wk_tensor attn_norm;
    wk_tensor wq, wk, wv, wqkv; // separate (llama) or fused rows Q|K|V (phi3)
    wk_tensor bq, bk, bv, bqkv; // optional biases
    wk_tensor wo, bo;
    wk_tensor ffn_norm;
    wk_tensor ffn_gate, ffn_up, ffn_down; // phi3: ffn_up holds rows gate|up, no ffn_gate
    // deepseek2 (MLA + MoE): added by its loader
    wk_tensor attn_q_a_norm, attn_kv_a_norm, wq_a, wq_b, wkv_a_mqa, wk_b, wv_b, wkv_b;
    wk_tensor ffn_gate_inp, exp_probs_b, ffn_gate_exps, ffn_up_exps, ffn_down_exps,
        ffn_gate_up_exps, ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp;
} wk_layer;

typedef struct wick_model wk_model;
typedef struct wick_session wk_session;

// One architecture. All functions get a model whose gguf and common hparams are filled in.
typedef struct wk_arch {
    const char *name; // the GGUF general.architecture value
    // Reads the arch's own keys into m->hp and binds m->tok_embd, m->output*, m->layers.
    wick_status (*load)(wk_model *m);
    // Elements per token and layer kept in the KV cache for K and for V (V may be 0).
    void (*kv_shape)(const wk_model *m, int64_t *k_row, int64_t *v_row);
    // Allocates s->arch_state (scratch for s->n_batch tokens); forward never allocates.
    wick_status (*session_init)(wk_session *s);
    void (*session_free)(wk_session *s);
    // Evaluates tokens[0..n) at positions s->n_past.. (n <= s->n_batch), appending to the KV
    // cache; writes logits of every position (logits_all) or the last one to s->logits. Returns
    // WICK_E_CANCELLED (checked between layers) once s->cancel is set; session.c then leaves
    // n_past where it was.
    wick_status (*forward)(wk_session *s, const int32_t *tokens, int64_t n, bool logits_all);
    // Frees m->arch_data (what load allocated beyond the mapped file); NULL: nothing to free.
    void (*unload)(wk_model *m);
} wk_arch;

struct wick_model {
    char *path;
    wick_gguf *gguf;
    const wk_arch *arch;
    wk_hparams hp;
    wk_tensor tok_embd, output_norm, output_norm_b, output, output_b, rope_freqs;
    wk_layer *layers; // n_layer
    bool *bound; // per GGUF tensor: claimed by the loader (unclaimed ones are an error)
    size_t weight_bytes;
    void *arch_data; // the arch's own model data (e.g. deepseek2's split attn_kv_b), or NULL
};

// model.c: binding. Finds name, checks its shape against ne (n_dims values; trailing dims must be
// 1) and that its type is one wick can compute with, fills *t. optional: a missing tensor leaves
// t->data NULL and is not an error. Messages: "<path>: tensor 'blk.0.attn_q.weight': ...".
wick_status wk_model_bind(wk_model *m, wk_tensor *t, const char *name, int n_dims,
                          const int64_t *ne, bool optional);
// The same for "blk.<il>.<name>.weight"-style names: fmt is printf'd with il.
wick_status wk_model_bind_layer(wk_model *m, wk_tensor *t, int il, const char *fmt, int n_dims,
                                const int64_t *ne, bool optional);
// Reads "<arch>.<suffix>" as an integer / float; missing: *out = dflt (required → error).
wick_status wk_model_key_int(wk_model *m, const char *suffix, int64_t *out, int64_t dflt,
                             bool required);
wick_status wk_model_key_float(wk_model *m, const char *suffix, float *out, float dflt);

// --- KV cache (kv.c) -----------------------------------------------------------------------------

enum { WK_KV_F32 = 0, WK_KV_F16 = 1 };

// Per layer il: k[il] is (n_ctx, k_row) and v[il] is (n_ctx, v_row), row p = the token at position
// p, elements of type WK_KV_F32 (float) or WK_KV_F16 (fp16 bits). For llama/phi3 a K row is
// n_head_kv heads of head_dim (kv head g at g * head_dim); deepseek2 (MLA) keeps one row of
// kv_lora + rope per token in k and nothing in v.
typedef struct wk_kv {
    int type;
    int64_t n_layer, n_ctx, k_row, v_row;
    size_t elt; // bytes per element
    void **k; // n_layer pointers into one allocation
    void **v;
    void *mem;
} wk_kv;

wick_status wk_kv_init(wk_kv *kv, int type, int64_t n_layer, int64_t n_ctx, int64_t k_row,
                       int64_t v_row);
void wk_kv_free(wk_kv *kv);
// Stores rows src[t] (float, row stride src_stride elements) for t < n at positions pos0 + t.
void wk_kv_store(const wk_kv *kv, void *const *dst_layers, int il, int64_t pos0, int64_t n,
                 int64_t row, const float *src, int64_t src_stride);
// Address of row pos of layer il of k or v.
static inline void *wk_kv_row(const wk_kv *kv, void *const *layers, int il, int64_t pos,
                              int64_t row)
{
    return (char *)layers[il] + (size_t)pos * (size_t)row * kv->elt;
}

// --- matmul (matmul.c) ---------------------------------------------------------------------------

// The matmul driver: Y[T][N] = X[T][K] · W[N][K]^T for a weight of any supported type. X is
// first converted, row by row, to W's vec_dot_type (Q8_0 / Q8_1 / Q8_K / F16 / BF16 / F32) into
// a buffer sized at create; then each output element is one vec_dot of a weight row with an
// activation row. Output rows are split across the pool's threads in chunks taken from an atomic
// counter; each element is computed by exactly one thread, so results do not depend on the
// number of threads. For T > 1 a chunk is a tile of weight rows × tokens, so each weight row is
// read from memory once per tile of tokens (prefill is matrix × matrix).
typedef struct wk_mm {
    wk_pool *pool;
    int n_threads;
    const wk_kernels *kern;
    void *act; // converted activations: max_rows rows of up to max_k elements
    size_t act_bytes;
    int64_t max_rows, max_k;
    // what act currently holds (wk_mm_prepare)
    int act_type;
    int64_t act_rows, act_k;
    size_t act_row_bytes;
    // the K formats' GEMM (kernels/gemm.h), where the kernel path has it: act also packed into
    // gemm_act for many tokens (act_packed), and one weight tile buffer per thread
    void *gemm_act, *gemm_tiles;
    size_t gemm_tile_bytes;
    bool act_packed;
} wk_mm;

wick_status wk_mm_init(wk_mm *mm, wk_pool *pool, int n_threads, int64_t max_rows, int64_t max_k);
void wk_mm_free(wk_mm *mm);
// Converts X (T rows of K floats, row stride x_stride) to type's vec_dot_type in mm->act.
void wk_mm_prepare(wk_mm *mm, int weight_type, const float *x, int64_t T, int64_t K,
                   int64_t x_stride);
// Y rows [row0, row0 + n_rows) of W times the prepared activations: y[t * y_stride + r - row0].
void wk_mm_run(wk_mm *mm, const wk_tensor *w, int64_t row0, int64_t n_rows, float *y,
               int64_t y_stride);
// prepare + run over all rows of W: y[t * N + r].
void wk_matmul(wk_mm *mm, const wk_tensor *w, const float *x, int64_t T, float *y);
// Runs fn over the session's threads (a thin wrapper for ops that split by rows).
void wk_mm_parallel(wk_mm *mm, wk_pool_fn fn, void *ctx);

// --- ops (ops.c): one small function per step, the math in its comment ---------------------------

// y = x / sqrt(mean(x²) + eps) * w, for T rows of n (sum of squares in double, as ggml).
void wk_rms_norm(float *y, const float *x, const float *w, int64_t T, int64_t n, float eps);
// y[i] += x[i]
void wk_add(float *y, const float *x, int64_t n);
// y += b for T rows of n
void wk_add_bias(float *y, const float *b, int64_t T, int64_t n, int64_t stride);
// y[i] *= s
void wk_scale(float *y, int64_t n, float s);
// h[t][i] = silu(g[t][i]) * u[t][i], silu(x) = x / (1 + e^-x); rows with strides
void wk_swiglu(float *h, int64_t h_stride, const float *g, const float *u, int64_t gu_stride,
               int64_t T, int64_t n);
// In-place softmax of x[0..n): x = e^(x - max) / Σ (the sum in double, as ggml).
void wk_softmax(float *x, int64_t n);

// RoPE: the cos/sin of each rotated pair for one position, computed as ggml does:
// theta_0 = pos (float), theta_{i+1} = theta_i * powf(base, -2/n_rot) (float), divided by the
// freq factor ff[i] when given; YaRN mixes interpolated (freq_scale * theta) and extrapolated
// angles with a ramp over pair indices [corr_lo, corr_hi]; cs[2i] = cos·mscale, cs[2i+1] = sin·mscale.
typedef struct wk_rope {
    int64_t n_rot;
    int mode;
    float theta_scale; // powf(base, -2 / n_rot)
    float freq_scale, ext_factor, attn_factor;
    float corr_lo, corr_hi;
    const float *freq_factors; // n_rot / 2, or NULL
} wk_rope;
void wk_rope_init(wk_rope *r, const wk_hparams *hp, int64_t n_rot, int mode,
                  const float *freq_factors);
void wk_rope_cache(const wk_rope *r, int64_t pos, float *cs); // cs: n_rot floats
// Rotates the first n_rot elements of each of n_heads heads (head i at x + i * head_stride).
// NORM: pairs (2i, 2i+1); NEOX: pairs (i, i + n_rot/2). x' = x0 cos - x1 sin, x1' = x0 sin + x1 cos.
void wk_rope_apply(const wk_rope *r, const float *cs, float *x, int64_t n_heads,
                   int64_t head_stride);

// --- attention (attn.c) --------------------------------------------------------------------------

// Causal grouped-query attention over the KV cache for T new tokens at positions pos0 .. pos0+T-1
// (their K/V already stored). For token t and head h (kv head g = h / (n_head / n_head_kv)):
//   s[j] = kq_scale · q[t,h] · k[j,g]   for j <= pos0 + t   (later positions masked out)
//   out[t,h] = Σ_j softmax(s)[j] · v[j,g]
// q rows have stride q_stride (heads at h * head_dim), out rows n_head * head_dim_v.
typedef struct wk_attn_args {
    const wk_kv *kv;
    int il;
    int64_t pos0, T;
    int64_t n_head, n_head_kv, head_dim_k, head_dim_v;
    float kq_scale;
    const float *q;
    int64_t q_stride;
    float *out;
    float *scratch; // n_threads * scratch_per_thread floats
    int64_t scratch_per_thread; // wk_attn_scratch(n_ctx, n_head / n_head_kv, head dims)
} wk_attn_args;
void wk_attention(wk_mm *mm, wk_attn_args *a);
// Floats of scratch one thread needs: n_rep heads' scores over n_ctx positions, q, accumulators.
int64_t wk_attn_scratch(int64_t n_ctx, int64_t n_rep, int64_t head_dim_k, int64_t head_dim_v);

// --- sessions (session.c) ------------------------------------------------------------------------

struct wick_session {
    wk_model *m;
    int64_t n_ctx; // positions the KV cache holds
    int64_t n_batch; // tokens per forward call
    int n_threads;
    bool logits_all;
    int64_t n_past; // positions filled
    wk_kv kv;
    wk_mm mm;
    float *logits; // (logits_all ? n_batch : 1) * n_vocab
    int64_t n_logits; // rows valid after the last eval
    int64_t last_n; // tokens of the last eval
    void *arch_state; // the arch's scratch
    atomic_bool cancel; // set by wick_session_cancel(); forward checks it between layers
};

// The dense transformer (llama.c) that llama and phi3 share: binding helpers (a norm gain of
// n_embd F32, an optional F32 bias of n, token_embd/output_norm/output(tied)/rope_freqs) and the
// arch functions.
wick_status wk_dense_bind_norm(wk_model *m, wk_tensor *t, int il, const char *fmt);
wick_status wk_dense_bind_bias(wk_model *m, wk_tensor *t, int il, const char *fmt, int64_t n);
wick_status wk_dense_bind_globals(wk_model *m);
void wk_dense_kv_shape(const wk_model *m, int64_t *k_row, int64_t *v_row);
wick_status wk_dense_session_init(wk_session *s);
void wk_dense_session_free(wk_session *s);
wick_status wk_dense_forward(wk_session *s, const int32_t *tokens, int64_t n, bool logits_all);

// Archs (llama.c, phi3.c, deepseek2.c).
extern const wk_arch wk_arch_llama;
extern const wk_arch wk_arch_phi3;
extern const wk_arch wk_arch_deepseek2; // deepseek2.c

#endif
