// moe.h — mixture-of-experts routing and the grouping of a batch's tokens by expert
// (shared/spec/MODELS.md §3b, llama.cpp build_moe_ffn).
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
#include <stdint.h>

enum {
    WK_GATING_SOFTMAX = 1,
    WK_GATING_SIGMOID = 2,
    WK_GATING_SQRT_SOFTPLUS = 4,
};

typedef struct wk_moe_router {
    int n_expert;
    int n_used;       // experts per token (top-k)
    int n_group;      // expert groups (<= 1: none)
    int n_group_used; // groups kept per token
    int gating;       // WK_GATING_*
    bool norm;        // normalise the chosen weights to sum 1
    float scale;      // multiply the weights by this (0: leave them)
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

#endif
