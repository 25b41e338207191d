// moe.h — mixture-of-experts routing and the grouping of a batch's tokens by expert
// (DeepSeek-V3, arXiv:2412.19437; llama.cpp build_moe_ffn).
//
// Router, per token, from the gate logits l[n_expert] (W_gate_inp · h):
//   p   = sigmoid(l) | softmax(l) | sqrt(softplus(l))          (expert_gating_func 2 | 1 | 4)
//   sel = p + exp_probs_b                                        (the bias only chooses)
//   groups (n_group > 1): score of a group = sum of its 2 best sel; groups other than the
//         n_group_used best get sel = -inf
//   ids = top n_used of sel (descending; the lowest id wins a tie)
//   w   = p[ids];  norm: w /= max(sum w, 6.103515625e-5);  w *= scale (when scale != 0)
#ifndef WK_MODEL_MOE_H
#define WK_MODEL_MOE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

enum {
    WK_GATING_SOFTMAX = 1,
    WK_GATING_SIGMOID = 2,
    WK_GATING_SQRT_SOFTPLUS = 4,
};

typedef struct wk_moe_router {
    int n_expert;
    int n_used;        // experts per token (top-k)
    int n_group;       // expert groups (<= 1: none)
    int n_group_used;  // groups kept per token
    int gating;        // WK_GATING_*
    bool norm;         // normalise the chosen weights to sum 1
    float scale;       // multiply the weights by this (0: leave them)
    const float *bias; // exp_probs_b [n_expert] or NULL. Borrowed
} wk_moe_router;

// Scratch floats wk_moe_route needs.
static inline int64_t wk_moe_route_scratch(const wk_moe_router *r)
{
    return 2 * (int64_t)r->n_expert + (r->n_group > 1 ? r->n_group : 0);
}

// Routes one token: logits[n_expert] -> ids[n_used] (in selection order, best first) and their
// weights w[n_used]. scratch holds wk_moe_route_scratch(r) floats.
void wk_moe_route(const wk_moe_router *r, const float *logits, float *scratch, int32_t *ids,
                  float *w);

// Indices of the k largest values of x[n] in descending order (lowest index first on ties).
void wk_moe_topk(const float *x, int n, int k, int32_t *out);

// Groups the (token, slot) pairs of a batch by expert, so each expert's weights are read once
// for all tokens that chose it. ids[t * n_used + j] is token t's j-th expert. On return,
// order[start[e] .. start[e + 1]) are the pair indices t * n_used + j of expert e, tokens
// ascending; start has n_expert + 1 entries, order n_tokens * n_used.
void wk_moe_plan(int n_expert, int n_used, int64_t n_tokens, const int32_t *ids, int64_t *start,
                 int32_t *order);

// --- the routed experts of one layer over a batch ------------------------------------------------
//
// For each (token t, slot j) pair with expert e = ids[t][j]:
//   out[t][j] = W_down[e] (silu(W_gate[e] h[t]) * (W_up[e] h[t]))
//   y[t]      = ((out[t][0] w[t][0] + out[t][1] w[t][1]) + ...)        (ggml's order of adds)
// Work is grouped by expert (wk_moe_plan): a unit is (expert, tile of weight rows, tile of its
// pairs), and the pair tiles of one row tile run back to back, so every weight row of an expert
// comes from memory once per batch, however many of the batch's tokens chose it.
typedef struct wk_moe_ffn {
    const wk_tensor *gate, *up, *down; // gate and up may be one fused tensor (gate | up rows)
    int64_t gate_row0, up_row0;        // first row of expert 0's gate / up block
    int64_t gu_stride; // rows between experts in gate / up (n_ff, or 2 n_ff when fused)
    int64_t n_ff, n_embd, n_expert;
} wk_moe_ffn;

typedef struct wk_moe_buf {
    int64_t max_pairs, max_tokens, n_ff, n_embd, n_expert;
    size_t in_rb, mid_rb; // bytes per converted input / hidden row (the widest formats)
    // Pairs are processed in "slots": slot s = position s of the expert-sorted order, so that the
    // rows of one expert's pairs lie back to back (four at a time go to vec_dot_4act).
    void *tok_gate, *tok_up; // [max_tokens] h converted to gate's / up's vec_dot_type
    void *in_gate, *in_up;   // [max_pairs] the same rows gathered by slot
    float *g, *u;            // [max_pairs][n_ff] by slot
    void *mid;               // [max_pairs] silu(g)*u converted to down's vec_dot_type, by slot
    float *out;              // [max_pairs][n_embd] by slot
    int64_t *start;          // [n_expert + 1] first slot of each expert
    int32_t *order;          // [max_pairs] slot -> pair t * n_used + j
    int32_t *slot;           // [max_pairs] pair -> slot
    int64_t *unit_start;     // [n_expert + 1] first work unit of each expert (per phase)
    // The K formats' GEMM (kernels/gemm.h), where the kernel path has it: each expert's slots
    // packed per 16 (in_gate, then mid), expert e's first group at group_start[e]
    void *gemm_act;
    int64_t *group_start; // [n_expert + 1]
    void *mem;
} wk_moe_buf;

// Sizes b for max_tokens tokens of n_used experts; in_rb / mid_rb: the largest bytes of one
// converted row of n_embd / n_ff elements over the formats the layers use.
wick_status wk_moe_buf_init(wk_moe_buf *b, int64_t max_tokens, int n_used, int64_t n_embd,
                            int64_t n_ff, int64_t n_expert, size_t in_rb, size_t mid_rb);
void wk_moe_buf_free(wk_moe_buf *b);

// y[t][0..n_embd) = the routed experts' sum for tokens t < T (see above).
void wk_moe_ffn_run(wk_mm *mm, const wk_moe_ffn *f, wk_moe_buf *b, const float *h, int64_t T,
                    int n_used, const int32_t *ids, const float *w, float *y);

#endif
