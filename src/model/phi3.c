// phi3.c — Phi-4 and Phi-4-reasoning (GGUF arch phi3; llama.cpp's llm_build_phi3): llama's dense
// transformer (llama.c) with a fused attn_qkv (rows Q | K | V; separate attn_q/k/v also accepted),
// a fused ffn_up (rows gate | up, no ffn_gate), NEOX RoPE, and q scaled by 1/sqrt(head_dim) after
// RoPE with an attention scale of 1. Sliding windows are ignored (llama.cpp disables them for
// phi3).
#include <math.h>

#include "model/dense.h"

static wick_status load_phi3(wk_model *m)
{
    wk_hparams *hp = &m->hp;
    wick_status rc;
    if (hp->n_ff < 1) {
        return wk_fail(WICK_E_FORMAT, "%s: missing key 'phi3.feed_forward_length'", m->path);
    }
    if (hp->head_dim_k != hp->head_dim_v) {
        return wk_fail(WICK_E_FORMAT, "%s: phi3: key and value head sizes differ", m->path);
    }
    hp->kq_scale = 1.0f; // q is scaled explicitly instead, after RoPE
    hp->rope_mode = WK_ROPE_NEOX;
    if ((rc = wk_dense_alloc(m)) < 0) { return rc; }
    wk_dense_model *dm = m->arch_data;
    dm->q_scale = 1.0f / sqrtf((float)hp->head_dim_k);
    // Phi-3 128k variants' rope_factors_long/short are not supported (Phi-4 has none); a file
    // with them fails as an unexpected tensor.
    if ((rc = wk_dense_bind_globals(m)) < 0) { return rc; }
    const int64_t e = hp->n_embd, q = hp->n_head * hp->head_dim_k,
                  kv = hp->n_head_kv * hp->head_dim_k, f = hp->n_ff;
    for (int il = 0; il < hp->n_layer; il++) {
        wk_dense_layer *L = &dm->layers[il];
        const int64_t s_qkv[2] = {e, q + 2 * kv}, s_q[2] = {e, q}, s_k[2] = {e, kv};
        const int64_t s_o[2] = {q, e}, s_up[2] = {e, 2 * f}, s_down[2] = {f, e};
        if ((rc = wk_dense_bind_norm(m, &L->attn_norm, il, "blk.%d.attn_norm.weight")) < 0) {
            return rc;
        }
        rc = wk_model_bind_layer(m, &L->wqkv, il, "blk.%d.attn_qkv.weight", 2, s_qkv, true);
        if (rc < 0) { return rc; }
        if (!L->wqkv.data) { // separate projections (create_tensor_qkv)
            if ((rc = wk_model_bind_layer(m, &L->wq, il, "blk.%d.attn_q.weight", 2, s_q, false)) <
                    0 ||
                (rc = wk_model_bind_layer(m, &L->wk, il, "blk.%d.attn_k.weight", 2, s_k, false)) <
                    0 ||
                (rc = wk_model_bind_layer(m, &L->wv, il, "blk.%d.attn_v.weight", 2, s_k, false)) <
                    0) {
                return rc;
            }
        } else if ((rc = wk_dense_bind_bias(m, &L->bqkv, il, "blk.%d.attn_qkv.bias", q + 2 * kv)) <
                   0) {
            return rc;
        }
        if ((rc = wk_model_bind_layer(m, &L->wo, il, "blk.%d.attn_output.weight", 2, s_o, false)) <
                0 ||
            (rc = wk_dense_bind_bias(m, &L->bo, il, "blk.%d.attn_output.bias", e)) < 0) {
            return rc;
        }
        if ((rc = wk_dense_bind_norm(m, &L->ffn_norm, il, "blk.%d.ffn_norm.weight")) < 0) {
            return rc;
        }
        if ((rc = wk_model_bind_layer(m, &L->ffn_up, il, "blk.%d.ffn_up.weight", 2, s_up, false)) <
                0 ||
            (rc = wk_model_bind_layer(m, &L->ffn_down, il, "blk.%d.ffn_down.weight", 2, s_down,
                                      false)) < 0) {
            return rc;
        }
    }
    return WICK_OK;
}

const wk_arch wk_arch_phi3 = {
    .name = "phi3",
    .load = load_phi3,
    .unload = wk_dense_unload,
    .needs = wk_dense_needs,
    .session_init = wk_dense_session_init,
    .session_free = wk_dense_session_free,
    .forward = wk_dense_forward,
    .multi_seq = true,
};
