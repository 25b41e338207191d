// dense.h — the model data of the dense transformer (llama.c) that llama and phi3 (phi3.c) share:
// its layer weights and its own parameter, behind wk_model.arch_data; the binding helpers and arch
// functions phi3 reuses.
#ifndef WK_MODEL_DENSE_H
#define WK_MODEL_DENSE_H

#include "model/model.h"

// The weights of one layer; absent ones have data == NULL.
typedef struct wk_dense_layer {
    wk_tensor attn_norm;
    wk_tensor wq, wk, wv, wqkv; // separate (llama) or fused rows Q|K|V (phi3)
    wk_tensor bq, bk, bv, bqkv; // optional biases
    wk_tensor wo, bo;
    wk_tensor ffn_norm;
    wk_tensor ffn_gate, ffn_up, ffn_down; // phi3: ffn_up holds rows gate|up, no ffn_gate
} wk_dense_layer;

typedef struct wk_dense_model {
    float q_scale; // phi3: q *= q_scale after RoPE (1/sqrt(head_dim)); 0 = none
    wk_dense_layer *layers; // n_layer
} wk_dense_model;

// The dense model data of m (arch llama or phi3).
static inline const wk_dense_model *wk_dense_of(const wk_model *m)
{
    return m->arch_data;
}

// Allocates m->arch_data: a wk_dense_model with n_layer empty layers.
wick_status wk_dense_alloc(wk_model *m);
// Binding: a norm gain of n_embd F32 (il < 0: a global tensor, fmt its full name), an optional
// F32 bias of n, and the globals token_embd / output_norm / output (tied when absent) /
// output.bias / rope_freqs (sets hp->n_vocab).
wick_status wk_dense_bind_norm(wk_model *m, wk_tensor *t, int il, const char *fmt);
wick_status wk_dense_bind_bias(wk_model *m, wk_tensor *t, int il, const char *fmt, int64_t n);
wick_status wk_dense_bind_globals(wk_model *m);
// The arch functions both archs use.
void wk_dense_unload(wk_model *m);
void wk_dense_needs(const wk_model *m, wk_arch_needs *out);
wick_status wk_dense_session_init(wk_session *s);
void wk_dense_session_free(wk_session *s);
wick_status wk_dense_forward(wk_session *s, const wk_batch *b);

#endif
