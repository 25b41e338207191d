// deepseek2.h — the model data of arch deepseek2 (deepseek2.c): its own parameters (MLA, mixture
// of experts) and layer weights, behind wk_model.arch_data.
#ifndef WK_MODEL_DEEPSEEK2_H
#define WK_MODEL_DEEPSEEK2_H

#include "model/model.h"
#include "model/moe.h"

// deepseek2.<key> values beyond the common ones (0 when a key is absent and optional).
typedef struct wk_ds2_hparams {
    int64_t n_layer_dense_lead; // leading_dense_block_count: layers before the MoE ones
    int64_t q_lora_rank;        // 0: "lite" files with a plain attn_q
    int64_t kv_lora_rank;
    int64_t head_dim_k_mla, head_dim_v_mla; // per head: nope + rope, and v
    int64_t n_ff_exp;                       // expert_feed_forward_length
    int64_t n_expert, n_expert_used, n_expert_shared, n_expert_groups, n_expert_groups_used;
    int expert_gating; // WK_GATING_* (moe.h)
    bool expert_weights_norm;
    float expert_weights_scale;
    float yarn_log_mul; // rope.scaling.yarn_log_multiplier / 0.1
} wk_ds2_hparams;

// The weights of one layer; absent ones have data == NULL.
typedef struct wk_ds2_layer {
    wk_tensor attn_norm, attn_q_a_norm, attn_kv_a_norm;
    wk_tensor wq, wq_a, wq_b; // wq: lite files; else q = W_q_b norm(W_q_a h)
    wk_tensor wkv_a_mqa;      // rows [c_kv | k_pe]
    wk_tensor wk_b, wv_b;     // per-head absorbed K and V (from the file, or split from wkv_b)
    wk_tensor wkv_b;          // legacy attn_kv_b (split at load; unused at run time)
    wk_tensor wo;
    wk_tensor ffn_norm;
    wk_tensor ffn_gate, ffn_up, ffn_down; // the leading dense layers
    wk_tensor ffn_gate_inp, exp_probs_b;  // router
    wk_tensor ffn_gate_exps, ffn_up_exps, ffn_down_exps, ffn_gate_up_exps; // experts {.., n_expert}
    wk_tensor ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp; // shared experts
} wk_ds2_layer;

typedef struct wk_ds2_model {
    wk_ds2_hparams hp;
    wk_ds2_layer *layers; // n_layer
    void **split;         // per layer: k_b | v_b buffer of a file with attn_kv_b, or NULL
} wk_ds2_model;

// The deepseek2 model data of m (arch deepseek2).
static inline const wk_ds2_model *wk_ds2_of(const wk_model *m)
{
    return m->arch_data;
}

// The routed experts of MoE layer il, for wk_moe_ffn_run.
void wk_ds2_moe_ffn(const wk_model *m, int il, wk_moe_ffn *f);
// b sized for max_tokens rows of n_used experts each, in the widest formats m's experts use.
wick_status wk_ds2_moe_buf_init(const wk_model *m, wk_moe_buf *b, int64_t max_tokens, int n_used);

#endif
