// model.h — the engine's internal structures: the hyperparameters every architecture shares,
// tensor views into the mapped GGUF, the per-architecture table, the KV cache, the matmul driver,
// the row-parallel steps and the numeric ops.
//
// Data flow of one evaluation (session.c → arch->forward):
//   tokens[T] → embeddings x[T][n_embd] → layers (norm, attention with the KV cache, FFN) →
//   final norm → logits[T or 1][n_vocab].
// Activations are row-major float32 matrices: row t = token t of the batch.
//
// Adding an architecture: a file src/model/<arch>.c defines a wk_arch whose load reads its own
// keys and binds its tensors (wk_model_bind) into its own model data (its parameters and layer
// struct, behind m->arch_data; a header <arch>.h when tests or benches read them), whose needs
// say what a session must size for it (KV cache rows, the widest matmul input), whose
// session_init/free hold its scratch (sized for n_batch tokens) and whose forward evaluates a
// wk_batch; then list it in model.c's arch table. llama and phi3 share the dense transformer of
// llama.c (dense.h); deepseek2 is deepseek2.c (deepseek2.h).
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
    // Rows interleaved by four (repacked at load, repack.c; wk_interleave4): rows 4g .. 4g + 3 at
    // data + 4 g row_bytes, block by block. Only the matmul driver (and moe.c) reads such a
    // tensor, through the kernels' vec_dot_4il; row offsets stay multiples of 4.
    bool il4;
} wk_tensor;

// --- hyperparameters -----------------------------------------------------------------------------

enum { WK_ROPE_NORM = 0, WK_ROPE_NEOX = 2 }; // pairs (2i, 2i+1) | pairs (i, i + n_rot/2)
enum {
    WK_ROPE_SCALING_NONE,
    WK_ROPE_SCALING_LINEAR,
    WK_ROPE_SCALING_YARN,
    WK_ROPE_SCALING_LONGROPE
};

// The hyperparameters of every architecture, read by model.c from "<arch>.<key>" (n_vocab and
// kq_scale by the arch's load). An arch's own parameters live in its model data.
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

    // RoPE (ggml rope_ext parameters)
    int rope_mode; // WK_ROPE_NORM | WK_ROPE_NEOX
    int rope_scaling; // WK_ROPE_SCALING_*
    float rope_base; // freq_base
    float rope_freq_scale; // 1 / rope.scaling.factor (1 when none)
    float rope_attn_factor; // mscale passed to the rope kernel (1 unless YaRN)
    float yarn_ext_factor; // 0 unless YaRN
    float yarn_beta_fast, yarn_beta_slow; // 32, 1 (llama.cpp defaults; deepseek2 ignores the keys)
    int64_t n_ctx_orig; // rope.scaling.original_context_length (default n_ctx_train)
} wk_hparams;

// --- the architecture table ----------------------------------------------------------------------

typedef struct wick_model wk_model;
typedef struct wick_session wk_session;

// What a session of a model needs sized for it (session.c allocates these; the arch's own
// scratch is session_init's).
typedef struct wk_arch_needs {
    // KV cache elements per token and layer for K and for V (V may be 0)
    int64_t kv_k_row, kv_v_row;
    int64_t mm_max_k;           // the widest input row of a matmul through s->mm (elements)
} wk_arch_needs;

// One segment of a multi-sequence pass: n tokens of sequence seq at positions pos0 .. pos0 + n - 1,
// after the pos0 positions already in that sequence's KV cache.
typedef struct wk_seg {
    int seq;
    int64_t pos0, n;
} wk_seg;

// One forward pass: n tokens (n <= s->n_batch) of sequence seq at positions pos0 .. pos0 + n - 1,
// after the pos0 positions already in that sequence's KV cache. Logits of every position
// (logits_all) or of the last one go to s->logits.
// With segs (archs with multi_seq only): the pass carries the tokens of n_segs segments of
// distinct sequences, one after the other in tokens (n = Σ segs[i].n; seq, pos0 and logits_all
// are unused); the matmuls run once over all n rows, each token attends to its own sequence's
// KV rows, and row i of s->logits is the logits of segment i's last token.
// more: a pass of the same sequence follows at once (a micro-batch of a pipeline stage's prompt,
// see wk_stage: no logits wanted from this one).
typedef struct wk_batch {
    const int32_t *tokens;
    int64_t n;
    int64_t pos0;
    int seq;
    bool logits_all;
    bool more;
    const wk_seg *segs; // NULL: one sequence
    int n_segs;
} wk_batch;

// One architecture. load gets a model whose gguf and common hparams are filled in; the others
// get a loaded model.
typedef struct wk_arch {
    const char *name; // the GGUF general.architecture value
    // Reads the arch's own keys, sets hp->n_vocab and hp->kq_scale, binds m->tok_embd,
    // m->output* and its layers' tensors into m->arch_data (allocated here, freed by unload, also
    // after a failed load).
    wick_status (*load)(wk_model *m);
    void (*unload)(wk_model *m);
    void (*needs)(const wk_model *m, wk_arch_needs *out);
    // Allocates s->arch_state (scratch for s->n_batch tokens); forward never allocates.
    wick_status (*session_init)(wk_session *s);
    void (*session_free)(wk_session *s);
    // Evaluates b (see wk_batch), appending its K/V rows to the cache. Returns WICK_E_CANCELLED
    // (checked between layers; the matmuls skip their tiles meanwhile, see wk_mm.cancel) once
    // s->cancel is set; session.c then leaves n_past where it was.
    wick_status (*forward)(wk_session *s, const wk_batch *b);
    bool multi_seq; // forward takes batches with segs (others: one pass per segment)
} wk_arch;

struct wick_model {
    char *path;
    wick_gguf *gguf;
    const wk_arch *arch;
    wk_hparams hp;
    wk_tensor tok_embd, output_norm, output_norm_b, output, output_b, rope_freqs;
    bool *bound; // per GGUF tensor: claimed by the loader (unclaimed ones are an error)
    size_t weight_bytes;
    void *arch_data; // the arch's own model: its parameters, its layers' weights, what load made
    bool repack;    // repacking asked for (wick_model_opts.repack and not WICK_REPACK=0)
    void *repacked; // repack.c: the interleaved copies of the repacked tensors (one mapping)
    size_t repacked_bytes;
};

// repack.c: after load, the K-format weights only the matmul driver reads get their rows
// interleaved by four (wk_tensor.il4) into one anonymous mapping, and the file's pages they came
// from are released: at wick_model_open when m->repack (wick_model_opts.repack, and the
// environment has not WICK_REPACK=0: wk_repack_env_enabled) unless deferred. wk_repack_defer:
// wick_dist_init / _finish count the dist jobs of the process; while one lives, models are opened
// without repacking and a rank repacks the tensors it reads when its session is attached
// (wk_model_repack_some with keep(ctx, layer or -1 for the output, routed experts?); keep NULL:
// all). A model is repacked once (later calls do nothing). wk_model_repack_free unmaps.
bool wk_repack_env_enabled(void);
void wk_repack_defer(bool on);
bool wk_repack_deferred(void);
typedef bool (*wk_repack_keep)(void *ctx, int il, bool experts);
wick_status wk_model_repack_some(wk_model *m, wk_repack_keep keep, void *ctx);
void wk_model_repack_free(wk_model *m);

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

// Per layer il: k[il] is (n_seq, n_ctx, k_row) and v[il] is (n_seq, n_ctx, v_row), row (s, p) = the
// token at position p of sequence s, elements of type WK_KV_F32 (float) or WK_KV_F16 (fp16 bits).
// For llama/phi3 a K row is n_head_kv heads of head_dim (kv head g at g * head_dim); deepseek2
// (MLA) keeps one row of kv_lora + rope per token in k and nothing in v. Sessions of the public
// API have n_seq = 1; the scheduler's (wk_session_create_seqs) one per stream slot.
typedef struct wk_kv {
    int type;
    int64_t n_layer, n_seq, n_ctx, k_row, v_row;
    size_t elt; // bytes per element
    void **k; // n_layer pointers into one allocation
    void **v;
    void *mem;
} wk_kv;

wick_status wk_kv_init(wk_kv *kv, int type, int64_t n_layer, int64_t n_seq, int64_t n_ctx,
                       int64_t k_row, int64_t v_row);
void wk_kv_free(wk_kv *kv);
// Stores rows src[t] (float, row stride src_stride elements) for t < n at positions pos0 + t of
// sequence seq.
void wk_kv_store(const wk_kv *kv, void *const *dst_layers, int il, int seq, int64_t pos0,
                 int64_t n, int64_t row, const float *src, int64_t src_stride);
// Address of row (seq, pos) of layer il of k or v (row: kv->k_row or kv->v_row); the rows of one
// sequence follow each other.
static inline void *wk_kv_row(const wk_kv *kv, void *const *layers, int il, int seq, int64_t pos,
                              int64_t row)
{
    return (char *)layers[il] + (size_t)(seq * kv->n_ctx + pos) * (size_t)row * kv->elt;
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
    // what act currently holds (wk_mm_prepare): converted from act_src
    int act_type;
    int64_t act_rows, act_k, act_stride;
    size_t act_row_bytes;
    const float *act_src;
    // act's Q8_K rows in the grouped order of the path's vec_dot_4il_ng, act_grouped_order 0
    // (Q4_K: wk_q8_k_group) or 1 (Q5_K / Q6_K: wk_q8_k_group6; -1: none yet), made by the first
    // wk_mm_run that takes them after a wk_mm_prepare; NULL: no such kernel
    void *act_grouped;
    int act_grouped_order;
    // the K formats' GEMM (kernels/gemm.h), where the kernel path has it: act also packed into
    // gemm_act for many tokens (act_packed), and one weight tile buffer per thread
    void *gemm_act, *gemm_tiles;
    size_t gemm_tile_bytes;
    bool act_packed;
    // per thread: WK_GEMM_MAX_ROWS rows of an interleaved weight put back in file order for the
    // GEMM's packer (gemm_rows_bytes each)
    void *gemm_rows;
    size_t gemm_rows_bytes;
    // the session's cancel flag while a forward runs (NULL: none): once it is set, matmuls and
    // attention skip their remaining tiles, and the pass, whose results are then partial, ends
    // WICK_E_CANCELLED (session.c), so that a cancel stops a long prefill within a tile
    const atomic_bool *cancel;
} wk_mm;

// Whether the pass running on mm was cancelled (polled between tiles).
static inline bool wk_mm_cancelled(const wk_mm *mm)
{
    return mm->cancel && atomic_load_explicit(mm->cancel, memory_order_relaxed);
}

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
// y[t * y_stride + r] = (W x_t)[r] for every row of W, x rows of W's input length (stride too).
// reuse: the caller promises x is unchanged since the previous projection from it; then, when
// mm->act still holds x converted to W's vec_dot_type (same rows and width), it is not converted
// again (e.g. Q, K and V from one normed input).
void wk_mm_project(wk_mm *mm, const wk_tensor *w, const float *x, int64_t T, float *y,
                   int64_t y_stride, bool reuse);
// Runs fn over the session's threads (a thin wrapper for ops that split by rows).
void wk_mm_parallel(wk_mm *mm, wk_pool_fn fn, void *ctx);

// --- row-parallel steps (rows.c) -----------------------------------------------------------------

// fn(ctx, t0, t1, ith) for rows [t0, t1): T rows split into one contiguous range per thread
// (ith: the part's index, for per-thread scratch); T <= 1 runs on the calling thread. Results do
// not depend on the split.
typedef void (*wk_rows_fn)(void *ctx, int64_t t0, int64_t t1, int ith);
void wk_rows_run(wk_mm *mm, int64_t T, wk_rows_fn fn, void *ctx);
// dst[t] = RMSNorm(src[t]) * w for T rows of n (stride n; dst may be src).
void wk_rows_norm(wk_mm *mm, float *dst, const float *src, const float *w, int64_t T, int64_t n,
                  float eps);
// dst[t] += src[t] for T rows of n (stride n).
void wk_rows_add(wk_mm *mm, float *dst, const float *src, int64_t T, int64_t n);
// act[t] = silu(gate) * up for T rows, gu[t] = gate (n) | up (n), act rows of n.
void wk_rows_swiglu(wk_mm *mm, float *act, const float *gu, int64_t T, int64_t n);
// The end of a pass: s->logits = output · (RMSNorm(x[t]) * norm) for every row of x
// (b->logits_all), for its last row, or for each segment's last row (b->segs: those rows gathered
// into h first; else h receives the normed rows). x: T rows of n, h: room for them. Sets and
// returns s->n_logits (the rows of logits, n_vocab each).
int64_t wk_rows_logits(wk_session *s, const wk_batch *b, const float *x, float *h, int64_t T,
                       int64_t n, const float *norm, float eps, const wk_tensor *output,
                       int64_t n_vocab);

// --- scratch -------------------------------------------------------------------------------------

// One allocation (*mem, free with wk_free) carved into n buffers: *ptrs[i] gets n_floats[i]
// floats (4-byte elements), each buffer starting on 64 bytes. Fails with a message naming what.
wick_status wk_scratch_alloc(void **mem, float **const *ptrs, const int64_t *n_floats, size_t n,
                             const char *what);

// --- ops (ops.c): one small function per step, the math in its comment ---------------------------

// y = x / sqrt(mean(x²) + eps) * w, for T rows of n (sum of squares in double, as ggml).
void wk_rms_norm(float *y, const float *x, const float *w, int64_t T, int64_t n, float eps);
// y[i] += x[i]
void wk_vec_add(float *y, const float *x, int64_t n);
// y += b for T rows of n
void wk_add_bias(float *y, const float *b, int64_t T, int64_t n, int64_t stride);
// y[i] *= s
void wk_vec_scale(float *y, int64_t n, float s);
// h[t][i] = silu(g[t][i]) * u[t][i], silu(x) = x / (1 + e^-x); rows with strides
void wk_swiglu(float *h, int64_t h_stride, const float *g, const float *u, int64_t gu_stride,
               int64_t T, int64_t n);
// In-place softmax of x[0..n): x = e^(x - max) / Σ (the sum in double, as ggml).
void wk_softmax(float *x, int64_t n);

// RoPE: the cos/sin of each rotated pair for one position, computed as ggml does:
// theta_0 = pos (float), theta_{i+1} = theta_i * powf(base, -2/n_rot) (float), divided by the
// freq factor ff[i] when given; YaRN mixes interpolated (freq_scale * theta) and extrapolated
// angles with a ramp over pair indices [corr_lo, corr_hi]; cs[2i] = cos·mscale, cs[2i+1] =
// sin·mscale.
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
// NORM: pairs (2i, 2i+1); NEOX: pairs (i, i + n_rot/2). x' = x0 cos - x1 sin, x1' = x0 sin + x1
// cos.
void wk_rope_apply(const wk_rope *r, const float *cs, float *x, int64_t n_heads,
                   int64_t head_stride);

// --- attention (attn.c) --------------------------------------------------------------------------

// Causal grouped-query attention over the KV cache for T new tokens at positions pos0 .. pos0+T-1
// (their K/V already stored). For token t and head h (kv head g = h / (n_head / n_head_kv)):
//   s[j] = kq_scale · q[t,h] · k[j,g]   for j <= pos0 + t   (later positions masked out)
//   out[t,h] = Σ_j softmax(s)[j] · v[j,g]
// q rows have stride q_stride (heads at h * head_dim), out rows n_head * head_dim_v.
// A multi-sequence pass gives each token's sequence and position (tok_seq[t], tok_pos[t]; token t
// then attends to positions 0 .. tok_pos[t] of sequence tok_seq[t]).
typedef struct wk_attn_args {
    const wk_kv *kv;
    int il;
    int seq;
    int64_t pos0, T;
    const int *tok_seq; // NULL: every token is of sequence seq
    const int64_t *tok_pos; // NULL: token t is at position pos0 + t
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
    int n_seq; // sequences the KV cache holds (1 but for wk_session_create_seqs)
    // positions filled (sequence 0; the callers of wk_session_eval_segs track theirs)
    int64_t n_past;
    wk_kv kv;
    wk_mm mm;
    float *logits; // (logits_all ? n_batch : 1) * n_vocab
    int64_t n_logits; // rows valid after the last eval
    int64_t last_n; // tokens of the last eval
    void *arch_state; // the arch's scratch
    atomic_bool cancel; // set by wick_session_cancel(); forward checks it between layers, the
                        // matmuls and attention between tiles (wk_mm.cancel)
    struct wk_stage *stage; // a pipeline stage (src/dist), or NULL: the whole model
    struct wk_experts *experts; // expert parallel (src/dist), or NULL: every expert here
};

// A session whose KV cache holds n_seq sequences of o->n_ctx positions (the scheduler's: one per
// stream slot); the public API evaluates sequence 0.
wick_status wk_session_create_seqs(wk_model *m, const wick_session_opts *o, int n_seq,
                                   wk_session **out);
// One pass over the segments of distinct sequences (see wk_batch; tokens: Σ segs[i].n <= n_batch
// ids, segment after segment). The caller tracks each sequence's positions: segs[i].pos0 are
// the positions already cached for it. Row i of s->logits (s->n_logits = n_segs) is the logits
// of segment i's last token. Archs without multi_seq run one pass per segment. A cancel
// (WICK_E_CANCELLED) leaves the positions of every sequence as they were.
wick_status wk_session_eval_segs(wk_session *s, const int32_t *tokens, const wk_seg *segs,
                                 int n_segs);

// A pipeline stage (src/dist): the session computes layers [lo, hi) only. forward calls
// pass(st, s, b, false, x) before layer lo (x: the b->n rows of n_embd hidden states): WICK_DONE
// when it filled x (forward skips the embeddings), WICK_OK to embed the tokens; and
// pass(st, s, b, true, x) after layer hi - 1: WICK_OK when x then holds the last layer's output
// (forward computes the logits), WICK_DONE when another stage computes them (no logits here:
// n_logits stays 0). Either may fail (< 0).
// micro > 0: the session evaluates a sequence's tokens in passes of at most micro tokens (without
// logits_all), all but the last with b->more set, so that the stages work on successive
// micro-batches at the same time; after a pass with more, pass(.., true, ..) may return
// WICK_DONE (no logits) without waiting for the later stages.
typedef struct wk_stage {
    int lo, hi;
    int64_t micro;
    wick_status (*pass)(struct wk_stage *st, wk_session *s, const wk_batch *b, bool after,
                        float *x);
} wk_stage;
// The layers forward runs, [*lo, *hi), and the stage's pass before them: *embed says whether
// forward embeds the tokens (wk_stage_leave: the pass after them).
static inline wick_status wk_stage_enter(wk_session *s, const wk_batch *b, float *x, int *lo,
                                         int *hi, bool *embed)
{
    *lo = s->stage ? s->stage->lo : 0;
    *hi = s->stage ? s->stage->hi : (int)s->m->hp.n_layer;
    wick_status rc = s->stage ? s->stage->pass(s->stage, s, b, false, x) : WICK_OK;
    *embed = rc == WICK_OK;
    return rc < 0 ? rc : WICK_OK;
}
static inline wick_status wk_stage_leave(wk_session *s, const wk_batch *b, float *x)
{
    return s->stage ? s->stage->pass(s->stage, s, b, true, x) : WICK_OK;
}

// Expert parallel (src/dist): the routed experts of MoE layer il run where run() sends them.
// Same contract as wk_moe_ffn_run (moe.h): y[t] = the weighted sum of the chosen experts' outputs
// for the T rows of h, ids and w (n_used per token); may fail (< 0).
struct wk_moe_ffn;
typedef struct wk_experts {
    wick_status (*run)(struct wk_experts *ex, wk_session *s, int il, const struct wk_moe_ffn *f,
                       const float *h, int64_t T, int n_used, const int32_t *ids, const float *w,
                       float *y);
} wk_experts;

// The archs of model.c's table (llama.c, phi3.c, deepseek2.c).
extern const wk_arch wk_arch_llama;
extern const wk_arch wk_arch_phi3;
extern const wk_arch wk_arch_deepseek2; // deepseek2.c

#endif
