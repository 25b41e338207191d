// deepseek2.c — DeepSeek-V2/V3 and Kimi K2 (GGUF arch deepseek2): multi-head latent attention in
// its absorbed form, mixture of experts, YaRN (DeepSeek-V2, arXiv:2405.04434; llama.cpp's
// llm_build_deepseek2).
//
// Per layer, for the T tokens of a pass (rows of x), H heads, nope + rope = qk per head:
//   h   = RMSNorm(x) * attn_norm
//   q   = W_q_b (RMSNorm(W_q_a h) * attn_q_a_norm)          lite files: q = W_q h
//         per head [q_nope (nope) | q_pe (rope)]
//   kv  = W_kv_a_mqa h = [c_kv (kv_lora) | k_pe (rope)]      one row shared by all heads
//   q_pe, k_pe = RoPE NORM with YaRN;  c_kv = RMSNorm(c_kv) * attn_kv_a_norm
//   cache row of the position = [c_kv | k_pe]                (kv_lora + rope per token and layer)
//   Q[h] = [W_k_b[h] q_nope[h] | q_pe[h]];  o[h] = softmax(kq_scale Q[h]·rows) · c_kv_rows
//   x  += W_o [W_v_b[h] o[h]]_h
//   h   = RMSNorm(x) * ffn_norm
//   dense layers (il < leading_dense_block_count): x += W_down (silu(W_gate h) * (W_up h))
//   MoE layers: ids, w = route(W_gate_inp h);  x += (Σ_j w_j expert_ids[j](h) + shared(h))
// logits = W_out (RMSNorm(x) * output_norm)
// A pass may carry segments of several sequences (wk_batch.segs): every matmul, the router and
// the experts run once over all rows (an expert's weights read once per pass); each token's
// attention reads its own sequence's cache rows up to its position.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/deepseek2.h"
#include "model/mla.h"
#include "model/moe.h"
#include "model/yarn.h"

// --- model data (deepseek2.h): parameters, layers, the split of legacy attn_kv_b tensors ---------

static void ds2_unload(wk_model *m)
{
    wk_ds2_model *dm = m->arch_data;
    if (!dm) { return; }
    for (int64_t il = 0; dm->split && il < m->hp.n_layer; il++) { wk_free(dm->split[il]); }
    wk_free(dm->split);
    wk_free(dm->layers);
    wk_free(dm);
    m->arch_data = NULL;
}

// --- loading -------------------------------------------------------------------------------------

static wick_status range(const wk_model *m, const char *key, int64_t v, int64_t lo, int64_t hi)
{
    if (v < lo || v > hi) {
        return wk_fail(WICK_E_FORMAT, "%s: deepseek2.%s = %lld, expected %lld .. %lld", m->path,
                       key, (long long)v, (long long)lo, (long long)hi);
    }
    return WICK_OK;
}

static bool has_key(const wk_model *m, const char *suffix)
{
    char key[256];
    snprintf(key, sizeof key, "deepseek2.%s", suffix);
    return wick_gguf_find_kv(m->gguf, key) >= 0;
}

static wick_status load_hparams(wk_model *m, wk_ds2_hparams *dh)
{
    wk_hparams *hp = &m->hp;
    wick_status rc;
    int64_t gating = 0, norm = 0;
    // deepseek2.<key> -> field (required keys first; the others default to 0)
    const struct {
        const char *key;
        int64_t *dst;
        bool required;
    } ints[] = {
        {"leading_dense_block_count", &dh->n_layer_dense_lead, true},
        {"attention.kv_lora_rank", &dh->kv_lora_rank, true},
        {"attention.q_lora_rank", &dh->q_lora_rank, false}, // absent: lite (plain attn_q)
        {"attention.key_length_mla", &dh->head_dim_k_mla, false},
        {"attention.value_length_mla", &dh->head_dim_v_mla, false},
        {"expert_feed_forward_length", &dh->n_ff_exp, false},
        {"expert_count", &dh->n_expert, false},
        {"expert_used_count", &dh->n_expert_used, false},
        {"expert_shared_count", &dh->n_expert_shared, false},
        {"expert_group_count", &dh->n_expert_groups, false},
        {"expert_group_used_count", &dh->n_expert_groups_used, false},
        {"expert_gating_func", &gating, false},
        {"expert_weights_norm", &norm, false},
    };
    for (size_t i = 0; i < WK_ARRAY_LEN(ints); i++) {
        rc = wk_model_key_int(m, ints[i].key, ints[i].dst, 0, ints[i].required);
        if (rc < 0) { return rc; }
    }
    rc = wk_model_key_float(m, "expert_weights_scale", &dh->expert_weights_scale, 0.0f);
    if (rc < 0) { return rc; }
    rc = wk_model_key_float(m, "rope.scaling.yarn_log_multiplier", &dh->yarn_log_mul, 0.0f);
    if (rc < 0) { return rc; }
    float rope_attn = 1.0f;
    if ((rc = wk_model_key_float(m, "rope.scaling.attn_factor", &rope_attn, 1.0f)) < 0) {
        return rc;
    }
    // The converter stores 0.1 * mscale_all_dim; llama.cpp divides by 0.1 again.
    dh->yarn_log_mul /= 0.1f;
    dh->expert_weights_norm = norm != 0;
    // No gating key: DeepSeek V2 / V2.5 files, softmax.
    dh->expert_gating = gating == 0 ? WK_GATING_SOFTMAX : (int)gating;
    if (dh->expert_gating != WK_GATING_SOFTMAX && dh->expert_gating != WK_GATING_SIGMOID &&
        dh->expert_gating != WK_GATING_SQRT_SOFTPLUS) {
        return wk_fail(WICK_E_UNSUPPORTED,
                       "%s: deepseek2.expert_gating_func = %lld is not supported", m->path,
                       (long long)gating);
    }

    const int64_t big = INT64_C(1) << 20;
    if ((rc = range(m, "leading_dense_block_count", dh->n_layer_dense_lead, 0, hp->n_layer)) < 0 ||
        (rc = range(m, "attention.q_lora_rank", dh->q_lora_rank, 0, big)) < 0 ||
        (rc = range(m, "attention.kv_lora_rank", dh->kv_lora_rank, 1, big)) < 0) {
        return rc;
    }
    // MLA files (key_length_mla and value_length_mla present) carry the cache row sizes in
    // key_length (kv_lora + rope) and value_length (kv_lora); older files carry the per-head sizes
    // there and need attn_kv_b.
    const bool mla =
        has_key(m, "attention.key_length_mla") && has_key(m, "attention.value_length_mla");
    if (!mla) {
        dh->head_dim_k_mla = hp->head_dim_k;
        dh->head_dim_v_mla = hp->head_dim_v;
    } else if (hp->head_dim_k != dh->kv_lora_rank + hp->n_rot ||
               hp->head_dim_v != dh->kv_lora_rank) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: deepseek2.attention.key_length %lld / value_length %lld, expected "
                       "kv_lora_rank + rope.dimension_count = %lld / kv_lora_rank = %lld",
                       m->path, (long long)hp->head_dim_k, (long long)hp->head_dim_v,
                       (long long)(dh->kv_lora_rank + hp->n_rot), (long long)dh->kv_lora_rank);
    }
    if ((rc = range(m, "attention.key_length_mla", dh->head_dim_k_mla, hp->n_rot + 1, big)) < 0 ||
        (rc = range(m, "attention.value_length_mla", dh->head_dim_v_mla, 1, big)) < 0) {
        return rc;
    }
    if (hp->n_rot < 2) {
        return wk_fail(WICK_E_FORMAT, "%s: deepseek2.rope.dimension_count = %lld, expected >= 2",
                       m->path, (long long)hp->n_rot);
    }
    if (dh->n_layer_dense_lead > 0 && hp->n_ff < 1) {
        return wk_fail(WICK_E_FORMAT, "%s: missing key 'deepseek2.feed_forward_length'", m->path);
    }
    if (dh->n_layer_dense_lead < hp->n_layer) { // MoE layers
        if ((rc = range(m, "expert_count", dh->n_expert, 1, 1 << 16)) < 0 ||
            (rc = range(m, "expert_used_count", dh->n_expert_used, 1, dh->n_expert)) < 0 ||
            (rc = range(m, "expert_feed_forward_length", dh->n_ff_exp, 1, big)) < 0 ||
            (rc = range(m, "expert_shared_count", dh->n_expert_shared, 0, 1 << 10)) < 0) {
            return rc;
        }
        if (dh->n_expert_groups > 1) {
            if ((rc = range(m, "expert_group_count", dh->n_expert_groups, 1, dh->n_expert)) < 0 ||
                (rc = range(m, "expert_group_used_count", dh->n_expert_groups_used, 1,
                            dh->n_expert_groups)) < 0) {
                return rc;
            }
            const int64_t per = dh->n_expert / dh->n_expert_groups;
            if (dh->n_expert % dh->n_expert_groups != 0 || per < 2 ||
                dh->n_expert_used > dh->n_expert_groups_used * per) {
                return wk_fail(WICK_E_FORMAT,
                               "%s: deepseek2: %lld experts in %lld groups (%lld kept) cannot give "
                               "%lld experts per token",
                               m->path, (long long)dh->n_expert, (long long)dh->n_expert_groups,
                               (long long)dh->n_expert_groups_used, (long long)dh->n_expert_used);
            }
        }
    }

    // RoPE: NORM pairs over the rope part; YaRN with beta_fast = 32, beta_slow = 1 whatever the
    // file says (llama.cpp does not read those keys for deepseek2). The attention factor the
    // kernel gets and kq_scale come from wk_deepseek2_yarn_scales.
    hp->rope_mode = WK_ROPE_NORM;
    const bool yarn = hp->rope_scaling == WK_ROPE_SCALING_YARN;
    hp->yarn_ext_factor = yarn ? 1.0f : 0.0f;
    hp->yarn_beta_fast = 32.0f;
    hp->yarn_beta_slow = 1.0f;
    wk_yarn_scales ys;
    wk_deepseek2_yarn_scales(yarn, 1.0f / hp->rope_freq_scale, dh->yarn_log_mul, rope_attn,
                             dh->head_dim_k_mla, &ys);
    hp->rope_attn_factor = ys.attn_factor;
    hp->kq_scale = ys.kq_scale;
    return WICK_OK;
}

// Binders with a sticky status: each does nothing once *rc < 0, so that a layer's tensors read as
// a list and the first failure (its message names file and tensor) is what the loader returns.
// "name" is the tensor name without "blk.<il>." and ".weight"/".bias".

// A 1-D F32 tensor (norm gains, exp_probs_b) of n elements; il < 0: a global one, name in full.
static void bind_f32(wk_model *m, wick_status *rc, wk_tensor *t, int il, const char *name,
                     int64_t n, bool optional)
{
    if (*rc < 0) { return; }
    const int64_t ne[1] = {n};
    *rc = il < 0 ? wk_model_bind(m, t, name, 1, ne, optional)
                 : wk_model_bind_layer(m, t, il, name, 1, ne, optional);
    if (*rc >= 0 && t->data && t->type != WICK_DTYPE_F32) {
        *rc = wk_fail(WICK_E_UNSUPPORTED, "%s: tensor '%s': type %s, expected F32", m->path,
                      t->name, wick_dtype_name(t->type));
    }
}

// A weight of layer il with ne {ne0, ne1, ne2} (n_dims of them), any computable type.
static void bind_w(wk_model *m, wick_status *rc, wk_tensor *t, int il, const char *name, int n_dims,
                   int64_t ne0, int64_t ne1, int64_t ne2, bool optional)
{
    if (*rc < 0) { return; }
    const int64_t ne[3] = {ne0, ne1, ne2};
    *rc = wk_model_bind_layer(m, t, il, name, n_dims, ne, optional);
}

// Older files carry attn_kv_b {kv_lora, H (nope + v)} (per head nope K rows then v V rows) instead
// of attn_k_b / attn_v_b. Split it once here: v_b is V's rows as they are (whole rows, any type);
// k_b is K's rows transposed, element by element for F32 / F16 / BF16, dequantized to F32 for the
// block formats (whose blocks run along the rows being transposed).
static wick_status split_kv_b(wk_model *m, wk_ds2_layer *L, int il, wk_ds2_model *dm)
{
    const wk_hparams *hp = &m->hp;
    const wk_ds2_hparams *dh = &dm->hp;
    const int64_t H = hp->n_head, lora = dh->kv_lora_rank, nope = dh->head_dim_k_mla - hp->n_rot;
    const int64_t vd = dh->head_dim_v_mla;
    const wk_tensor *kvb = &L->wkv_b;
    const wk_type_traits *tt = wk_type(kvb->type);
    const bool elementwise = tt->blck == 1 && (tt->bytes == 2 || tt->bytes == 4);
    const int k_type = elementwise ? kvb->type : WICK_DTYPE_F32;
    const size_t k_elt = elementwise ? tt->bytes : sizeof(float);
    size_t k_bytes, v_bytes, total;
    if (!wk_mul_size((size_t)(H * lora * nope), k_elt, &k_bytes) ||
        !wk_mul_size((size_t)(H * vd), kvb->row_bytes, &v_bytes) ||
        !wk_add_size(k_bytes, v_bytes, &total)) {
        return wk_fail(WICK_E_RANGE, "%s: tensor '%s': split size overflows", m->path, kvb->name);
    }
    char *buf = wk_malloc(total);
    float *rowf = wk_malloc((size_t)lora * sizeof(float));
    if (!buf || !rowf) {
        wk_free(buf);
        wk_free(rowf);
        return wk_fail(WICK_E_NOMEM, "%s: tensor '%s': cannot allocate %zu bytes for its split",
                       m->path, kvb->name, total);
    }
    dm->split[il] = buf;
    const wk_kernels *kern = wk_kernels_get();
    for (int64_t h = 0; h < H; h++) {
        for (int64_t c = 0; c < nope; c++) { // K row c of head h -> column c of k_b[h]
            const char *src =
                (const char *)kvb->data + (size_t)(h * (nope + vd) + c) * kvb->row_bytes;
            char *dst = buf + (size_t)(h * lora * nope + c) * k_elt;
            if (elementwise) {
                for (int64_t r = 0; r < lora; r++) {
                    memcpy(dst + (size_t)(r * nope) * k_elt, src + (size_t)r * k_elt, k_elt);
                }
            } else {
                kern->to_float[kvb->type](src, rowf, lora);
                for (int64_t r = 0; r < lora; r++) {
                    memcpy(dst + (size_t)(r * nope) * k_elt, &rowf[r], k_elt);
                }
            }
        }
        memcpy(buf + k_bytes + (size_t)(h * vd) * kvb->row_bytes,
               (const char *)kvb->data + (size_t)(h * (nope + vd) + nope) * kvb->row_bytes,
               (size_t)vd * kvb->row_bytes);
    }
    wk_free(rowf);

    wk_tensor *kb = &L->wk_b, *vb = &L->wv_b;
    memset(kb, 0, sizeof *kb);
    kb->name = kvb->name;
    kb->type = k_type;
    kb->n_dims = 3;
    kb->ne[0] = nope, kb->ne[1] = lora, kb->ne[2] = H, kb->ne[3] = 1;
    kb->data = buf;
    kb->row_bytes = (size_t)nope * k_elt;
    kb->n_rows = lora * H;
    *vb = *kvb;
    vb->n_dims = 3;
    vb->ne[0] = lora, vb->ne[1] = vd, vb->ne[2] = H, vb->ne[3] = 1;
    vb->data = buf + k_bytes;
    vb->n_rows = vd * H;
    return WICK_OK;
}

static wick_status load_deepseek2(wk_model *m)
{
    wk_hparams *hp = &m->hp;
    wick_status rc;
    wk_ds2_model *dm = wk_calloc(1, sizeof *dm);
    if (!dm) { return wk_fail_nomem("deepseek2 model data"); }
    m->arch_data = dm;
    dm->layers = wk_calloc((size_t)hp->n_layer, sizeof(wk_ds2_layer));
    dm->split = wk_calloc((size_t)hp->n_layer, sizeof(void *));
    if (!dm->layers || !dm->split) { return wk_fail_nomem("deepseek2 model data"); }
    const wk_ds2_hparams *dh = &dm->hp;
    if ((rc = load_hparams(m, &dm->hp)) < 0) { return rc; }

    // token_embd gives the vocabulary size; output falls back to it (tied).
    int64_t i = wick_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (i < 0) { return wk_fail(WICK_E_FORMAT, "%s: missing tensor 'token_embd.weight'", m->path); }
    wick_tensor_info ti;
    if ((rc = wick_gguf_tensor(m->gguf, i, &ti)) < 0) { return rc; }
    hp->n_vocab = ti.ne[1];
    if (hp->n_vocab < 1 || hp->n_vocab > INT32_MAX) {
        return wk_fail(WICK_E_FORMAT, "%s: tensor 'token_embd.weight': %lld tokens", m->path,
                       (long long)hp->n_vocab);
    }
    int64_t vocab_key = 0;
    if ((rc = wk_model_key_int(m, "vocab_size", &vocab_key, hp->n_vocab, false)) < 0) { return rc; }
    if (vocab_key != hp->n_vocab) {
        return wk_fail(
            WICK_E_FORMAT,
            "%s: deepseek2.vocab_size = %lld but tensor 'token_embd.weight' has %lld rows", m->path,
            (long long)vocab_key, (long long)hp->n_vocab);
    }
    const int64_t E = hp->n_embd, V = hp->n_vocab, H = hp->n_head, R = hp->n_rot;
    const int64_t lora = dh->kv_lora_rank, qk = dh->head_dim_k_mla, nope = qk - R;
    const int64_t vd = dh->head_dim_v_mla, X = dh->n_expert, F = dh->n_ff_exp;
    const int64_t S = dh->n_expert_shared;
    const int64_t ne_v[2] = {E, V};
    rc = wk_model_bind(m, &m->tok_embd, "token_embd.weight", 2, ne_v, false);
    if (rc < 0) { return rc; }
    bind_f32(m, &rc, &m->output_norm, -1, "output_norm.weight", E, false);
    if (rc < 0) { return rc; }
    if ((rc = wk_model_bind(m, &m->output, "output.weight", 2, ne_v, true)) < 0) { return rc; }
    if (!m->output.data) { m->output = m->tok_embd; }

    for (int il = 0; il < hp->n_layer && rc >= 0; il++) {
        wk_ds2_layer *L = &dm->layers[il];
        bind_f32(m, &rc, &L->attn_norm, il, "blk.%d.attn_norm.weight", E, false);
        if (dh->q_lora_rank > 0) {
            const int64_t ql = dh->q_lora_rank;
            bind_f32(m, &rc, &L->attn_q_a_norm, il, "blk.%d.attn_q_a_norm.weight", ql, false);
            bind_w(m, &rc, &L->wq_a, il, "blk.%d.attn_q_a.weight", 2, E, ql, 1, false);
            bind_w(m, &rc, &L->wq_b, il, "blk.%d.attn_q_b.weight", 2, ql, H * qk, 1, false);
        } else { // lite: no q compression
            bind_w(m, &rc, &L->wq, il, "blk.%d.attn_q.weight", 2, E, H * qk, 1, false);
        }
        bind_f32(m, &rc, &L->attn_kv_a_norm, il, "blk.%d.attn_kv_a_norm.weight", lora, false);
        bind_w(m, &rc, &L->wkv_a_mqa, il, "blk.%d.attn_kv_a_mqa.weight", 2, E, lora + R, 1, false);
        bind_w(m, &rc, &L->wk_b, il, "blk.%d.attn_k_b.weight", 3, nope, lora, H, true);
        if (rc >= 0 && L->wk_b.data) {
            bind_w(m, &rc, &L->wv_b, il, "blk.%d.attn_v_b.weight", 3, lora, vd, H, false);
            // Some conversions keep attn_kv_b next to the split pair: accepted, not used.
            const int64_t rows = H * (nope + vd);
            bind_w(m, &rc, &L->wkv_b, il, "blk.%d.attn_kv_b.weight", 2, lora, rows, 1, true);
        } else if (rc >= 0) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.attn_kv_b.weight", il);
            if (wick_gguf_find_tensor(m->gguf, name) < 0) {
                return wk_fail(WICK_E_FORMAT,
                               "%s: missing tensor 'blk.%d.attn_k_b.weight' (nor legacy '%s')",
                               m->path, il, name);
            }
            const int64_t rows = H * (nope + vd);
            bind_w(m, &rc, &L->wkv_b, il, "blk.%d.attn_kv_b.weight", 2, lora, rows, 1, false);
            if (rc >= 0) { rc = split_kv_b(m, L, il, dm); }
        }
        bind_w(m, &rc, &L->wo, il, "blk.%d.attn_output.weight", 2, H * vd, E, 1, false);
        bind_f32(m, &rc, &L->ffn_norm, il, "blk.%d.ffn_norm.weight", E, false);
        if (il < dh->n_layer_dense_lead) {
            const int64_t f = hp->n_ff;
            bind_w(m, &rc, &L->ffn_gate, il, "blk.%d.ffn_gate.weight", 2, E, f, 1, false);
            bind_w(m, &rc, &L->ffn_up, il, "blk.%d.ffn_up.weight", 2, E, f, 1, false);
            bind_w(m, &rc, &L->ffn_down, il, "blk.%d.ffn_down.weight", 2, f, E, 1, false);
            continue;
        }
        bind_w(m, &rc, &L->ffn_gate_inp, il, "blk.%d.ffn_gate_inp.weight", 2, E, X, 1, false);
        bind_f32(m, &rc, &L->exp_probs_b, il, "blk.%d.exp_probs_b.bias", X, true);
        // fused rows per expert: gate (F) | up (F); else separate gate and up
        bind_w(m, &rc, &L->ffn_gate_up_exps, il, "blk.%d.ffn_gate_up_exps.weight", 3, E, 2 * F, X,
               true);
        if (rc >= 0 && !L->ffn_gate_up_exps.data) {
            bind_w(m, &rc, &L->ffn_gate_exps, il, "blk.%d.ffn_gate_exps.weight", 3, E, F, X, false);
            bind_w(m, &rc, &L->ffn_up_exps, il, "blk.%d.ffn_up_exps.weight", 3, E, F, X, false);
        }
        bind_w(m, &rc, &L->ffn_down_exps, il, "blk.%d.ffn_down_exps.weight", 3, F, E, X, false);
        if (S > 0) { // shared experts: one SwiGLU FFN of n_ff_exp * n_shared
            bind_w(m, &rc, &L->ffn_gate_shexp, il, "blk.%d.ffn_gate_shexp.weight", 2, E, F * S, 1,
                   false);
            bind_w(m, &rc, &L->ffn_up_shexp, il, "blk.%d.ffn_up_shexp.weight", 2, E, F * S, 1,
                   false);
            bind_w(m, &rc, &L->ffn_down_shexp, il, "blk.%d.ffn_down_shexp.weight", 2, F * S, E, 1,
                   false);
        }
    }
    return rc < 0 ? rc : WICK_OK;
}

// One cache row per token and layer: [c_kv (kv_lora) | k_pe (rope)]; no V (it is c_kv).
static void ds2_needs(const wk_model *m, wk_arch_needs *out)
{
    const wk_hparams *hp = &m->hp;
    const wk_ds2_hparams *dh = &wk_ds2_of(m)->hp;
    out->kv_k_row = dh->kv_lora_rank + hp->n_rot;
    out->kv_v_row = 0;
    // matmul inputs: n_embd, n_ff (dense down), q_lora (W_q_b), the heads' V (W_o), the shared
    // experts' n_ff (their down); the per-head and expert products have their own buffers
    int64_t k = WK_MAX(hp->n_embd, hp->n_ff);
    k = WK_MAX(k, hp->n_head * hp->head_dim_v);
    k = WK_MAX(k, WK_MAX(dh->q_lora_rank, dh->kv_lora_rank));
    k = WK_MAX(k, WK_MAX(dh->n_ff_exp * WK_MAX(dh->n_expert_shared, 1), hp->head_dim_k));
    out->mm_max_k = k;
}

// --- session scratch -----------------------------------------------------------------------------

enum { ATT_HEADS = 16 }; // heads per attention unit (the cached rows are read once per unit)

// The expanded keys' buffer holds this many head-rows at most (25 MB of Kimi's 192 floats);
// longer sequences keep the absorbed form.
enum { EXP_ROWS_MAX = 32768 };
enum { MLA_AUTO, MLA_ABSORBED, MLA_EXPANDED };

typedef struct ds2_state {
    int64_t q_dim;         // H * qk
    int64_t kv_dim;        // kv_lora + rope (a cache row)
    int64_t ff_max;        // max(n_ff, n_ff_exp * n_shared)
    float *x, *h, *y, *y2; // [B][n_embd]
    float *qa;             // [B][q_lora]
    float *q;              // [B][q_dim]
    float *kv;             // [B][kv_dim]
    float *qabs;           // [B][H][kv_dim]   absorbed queries [q_abs | q_pe]
    float *o;              // [B][H][kv_lora]  attention over c_kv
    float *ov;             // [B][H * v_dim]
    float *gu;             // [B][2 ff_max]    gate | up
    float *act;            // [B][ff_max]
    float *router;         // [B][n_expert]   gate logits
    float *route_scratch;  // per thread
    int64_t route_per_thread;
    float *w;     // [B][n_used]
    int32_t *ids; // [B][n_used]
    int32_t *tok_seq, *tok_pos; // [B] each token's sequence and position (n_ctx <= 2^24)
    float *cs;    // [B][rope]
    float *att_scratch;
    int64_t att_per_thread;
    void *head_act; // converted per-head activations (k_b and v_b products)
    float *exp_buf; // expanded keys (mla.h): exp_rows head-rows of qk floats
    int64_t exp_rows;
    float *wt;    // [H][nope][kv_lora]  W_k_b^T
    float *qr;    // [B][q_dim]          rounded queries
    int mla_form; // MLA_AUTO, MLA_ABSORBED, MLA_EXPANDED (WICK_MLA)
    wk_moe_buf moe;
    wk_rope rope;
    void *mem;
} ds2_state;

static void ds2_session_free(wk_session *s)
{
    ds2_state *st = s->arch_state;
    if (!st) { return; }
    wk_moe_buf_free(&st->moe);
    wk_free(st->head_act);
    wk_free(st->mem);
    wk_free(st);
    s->arch_state = NULL;
}

static size_t act_row_bytes(const wk_tensor *t, int64_t K)
{
    size_t rb = 0;
    if (t->data) { wk_row_bytes(wk_type(t->type)->vec_dot_type, K, &rb); }
    return rb;
}

wick_status wk_ds2_moe_buf_init(const wk_model *m, wk_moe_buf *b, int64_t max_tokens, int n_used)
{
    const wk_ds2_model *dm = wk_ds2_of(m);
    const int64_t E = m->hp.n_embd, F = dm->hp.n_ff_exp;
    size_t in_rb = 0, mid_rb = 0; // the widest formats any layer's experts use
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        const wk_ds2_layer *L = &dm->layers[il];
        const wk_tensor *g = L->ffn_gate_up_exps.data ? &L->ffn_gate_up_exps : &L->ffn_gate_exps;
        in_rb = WK_MAX(in_rb, act_row_bytes(g, E));
        in_rb = WK_MAX(in_rb, act_row_bytes(&L->ffn_up_exps, E));
        mid_rb = WK_MAX(mid_rb, act_row_bytes(&L->ffn_down_exps, F));
    }
    return wk_moe_buf_init(b, max_tokens, n_used, E, F, dm->hp.n_expert, in_rb, mid_rb);
}

void wk_ds2_moe_ffn(const wk_model *m, int il, wk_moe_ffn *f)
{
    const wk_ds2_hparams *dh = &wk_ds2_of(m)->hp;
    const wk_ds2_layer *L = &wk_ds2_of(m)->layers[il];
    *f = (wk_moe_ffn){.down = &L->ffn_down_exps,
                      .n_ff = dh->n_ff_exp,
                      .n_embd = m->hp.n_embd,
                      .n_expert = dh->n_expert};
    if (L->ffn_gate_up_exps.data) { // rows per expert: gate (n_ff) | up (n_ff)
        f->gate = f->up = &L->ffn_gate_up_exps;
        f->gate_row0 = 0;
        f->up_row0 = dh->n_ff_exp;
        f->gu_stride = 2 * dh->n_ff_exp;
    } else {
        f->gate = &L->ffn_gate_exps;
        f->up = &L->ffn_up_exps;
        f->gu_stride = dh->n_ff_exp;
    }
}

static wick_status ds2_session_init(wk_session *s)
{
    const wk_model *m = s->m;
    const wk_hparams *hp = &m->hp;
    const wk_ds2_model *dm = wk_ds2_of(m);
    const wk_ds2_hparams *dh = &dm->hp;
    ds2_state *st = wk_calloc(1, sizeof *st);
    if (!st) { return wk_fail_nomem("session scratch"); }
    s->arch_state = st;
    const int64_t B = s->n_batch, E = hp->n_embd, H = hp->n_head, R = hp->n_rot;
    const int64_t lora = dh->kv_lora_rank, vd = dh->head_dim_v_mla;
    st->q_dim = H * dh->head_dim_k_mla;
    st->kv_dim = lora + R;
    st->ff_max = WK_MAX(hp->n_ff, dh->n_ff_exp * dh->n_expert_shared);
    const int64_t X = dh->n_expert, U = dh->n_expert_used;
    const int64_t hb = WK_MIN(H, (int64_t)ATT_HEADS);
    st->att_per_thread = WK_MAX(wk_mla_attend_scratch((int)hb, lora, R, s->n_ctx),
                                (int64_t)WK_MLA_EXP_TOKS * s->n_ctx);
    st->exp_rows = WK_MIN(H * s->n_ctx, (int64_t)EXP_ROWS_MAX);
    // WICK_MLA "absorbed": that form for every pass; "expanded": for any of 2 tokens or more
    const char *form = getenv("WICK_MLA");
    st->mla_form = !form                       ? MLA_AUTO
                   : !strcmp(form, "absorbed") ? MLA_ABSORBED
                   : !strcmp(form, "expanded") ? MLA_EXPANDED
                                               : MLA_AUTO;
    if (form && st->mla_form == MLA_AUTO) {
        wk_warn("WICK_MLA='%s': expected absorbed or expanded; the form is chosen per pass", form);
    }
    wk_moe_router r = {.n_expert = (int)X, .n_group = (int)dh->n_expert_groups};
    st->route_per_thread = (wk_moe_route_scratch(&r) + 15) / 16 * 16;
    const int64_t sizes[] = {B * E,
                             B * E,
                             B * E,
                             B * E,
                             B * WK_MAX(dh->q_lora_rank, 1),
                             B * st->q_dim,
                             B * st->kv_dim,
                             B * H * st->kv_dim,
                             B * H * lora,
                             B * H * vd,
                             B * 2 * st->ff_max,
                             B * st->ff_max,
                             B * X,
                             st->route_per_thread * s->n_threads,
                             B * U,
                             B * U,
                             B * R,
                             st->att_per_thread * s->n_threads,
                             B,
                             B,
                             st->exp_rows * dh->head_dim_k_mla,
                             H * (dh->head_dim_k_mla - R) * lora,
                             B * st->q_dim};
    // int32 areas (ids, token sequences and positions), 4 bytes each like the floats
    float *ids_area = NULL, *seq_area = NULL, *pos_area = NULL;
    float **ptrs[] = {
        &st->x,    &st->h,    &st->y,  &st->y2,         &st->qa,  &st->q,      &st->kv,
        &st->qabs, &st->o,    &st->ov, &st->gu,         &st->act, &st->router, &st->route_scratch,
        &st->w,    &ids_area, &st->cs, &st->att_scratch, &seq_area, &pos_area,
        &st->exp_buf, &st->wt, &st->qr};
    wick_status rc =
        wk_scratch_alloc(&st->mem, ptrs, sizes, WK_ARRAY_LEN(sizes), "session scratch");
    if (rc < 0) { return rc; }
    st->ids = (int32_t *)(void *)ids_area;
    st->tok_seq = (int32_t *)(void *)seq_area;
    st->tok_pos = (int32_t *)(void *)pos_area;

    // Per-head activations and expert buffers, for the widest formats any layer uses.
    size_t head_bytes = 0;
    for (int64_t il = 0; il < hp->n_layer; il++) {
        const wk_ds2_layer *L = &dm->layers[il];
        head_bytes = WK_MAX(head_bytes, wk_mla_head_act_bytes(L->wk_b.type, L->wk_b.ne[0], B, H));
        head_bytes = WK_MAX(head_bytes, wk_mla_head_act_bytes(L->wv_b.type, L->wv_b.ne[0], B, H));
    }
    st->head_act = wk_malloc(head_bytes ? head_bytes : 1);
    if (!st->head_act) {
        return wk_fail(WICK_E_NOMEM, "session scratch: cannot allocate %zu bytes", head_bytes);
    }
    if (dh->n_layer_dense_lead < hp->n_layer &&
        (rc = wk_ds2_moe_buf_init(m, &st->moe, B, (int)U)) < 0) {
        return rc;
    }
    wk_rope_init(&st->rope, hp, R, WK_ROPE_NORM, NULL);
    return WICK_OK;
}

// --- forward -------------------------------------------------------------------------------------

// The arguments of the arch's own parallel steps.
typedef struct ds2_job {
    wk_session *s;
    const wk_batch *b;
    const wk_ds2_layer *L;
    int il;
    int64_t n_units;             // attend: (token, block of heads) units
    const wk_moe_router *router; // route
} ds2_job;

// RoPE on q_pe of every head and on k_pe; RMSNorm of c_kv (in its cache row), tokens [t0, t1).
static void attn_pre_rows(void *ctx, int64_t t0, int64_t t1, int ith)
{
    const ds2_job *j = ctx;
    const wk_hparams *hp = &j->s->m->hp;
    const wk_ds2_hparams *dh = &wk_ds2_of(j->s->m)->hp;
    ds2_state *st = j->s->arch_state;
    const int64_t qk = dh->head_dim_k_mla, lora = dh->kv_lora_rank;
    (void)ith;
    for (int64_t t = t0; t < t1; t++) {
        const float *cs = st->cs + t * hp->n_rot;
        wk_rope_apply(&st->rope, cs, st->q + t * st->q_dim + (qk - hp->n_rot), hp->n_head, qk);
        float *kv = st->kv + t * st->kv_dim;
        wk_rope_apply(&st->rope, cs, kv + lora, 1, st->kv_dim);
        wk_rms_norm(kv, kv, j->L->attn_kv_a_norm.data, 1, lora, hp->rms_eps);
    }
}

// The router of tokens [t0, t1): expert ids and weights (per-thread scratch).
static void route_rows(void *ctx, int64_t t0, int64_t t1, int ith)
{
    const ds2_job *j = ctx;
    ds2_state *st = j->s->arch_state;
    const int64_t X = j->router->n_expert, U = j->router->n_used;
    float *scratch = st->route_scratch + (int64_t)ith * st->route_per_thread;
    for (int64_t t = t0; t < t1; t++) {
        wk_moe_route(j->router, st->router + t * X, scratch, st->ids + t * U, st->w + t * U);
    }
}

// Attention of one (token, block of heads) unit over the cached rows the token sees (those of its
// own sequence, up to its position).
static void attend_unit(const ds2_job *j, int64_t u, int ith)
{
    wk_session *s = j->s;
    const wk_hparams *hp = &s->m->hp;
    const int64_t lora = wk_ds2_of(s->m)->hp.kv_lora_rank;
    ds2_state *st = s->arch_state;
    const int64_t H = hp->n_head, hb = WK_MIN(H, (int64_t)ATT_HEADS), n_hb = (H + hb - 1) / hb;
    const int64_t t = u / n_hb, h0 = (u % n_hb) * hb, nh = WK_MIN(hb, H - h0);
    const int64_t D = st->kv_dim;
    const int64_t n_kv = (int64_t)st->tok_pos[t] + 1;
    const float *q = st->qabs + (t * H + h0) * D;
    float *o = st->o + (t * H + h0) * lora;
    float *scratch = st->att_scratch + (int64_t)ith * st->att_per_thread;
    const void *rows = wk_kv_row(&s->kv, s->kv.k, j->il, st->tok_seq[t], 0, s->kv.k_row);
    if (s->kv.type == WK_KV_F32) {
        wk_mla_attend(s->mm.kern, (int)nh, lora, hp->n_rot, q, D, rows, s->kv.k_row, n_kv,
                      hp->kq_scale, scratch, o, lora);
    } else {
        wk_mla_attend_f16(s->mm.kern, (int)nh, lora, hp->n_rot, q, D, rows, s->kv.k_row, n_kv,
                          hp->kq_scale, scratch, o, lora);
    }
}

static void attend_part(void *ctx, int ith, int nth)
{
    const ds2_job *j = ctx;
    // Interleaved: later tokens see more rows, so contiguous ranges would be uneven.
    for (int64_t u = ith; u < j->n_units && !wk_mm_cancelled(&j->s->mm); u += nth) {
        attend_unit(j, u, ith);
    }
}

// Whether the n tokens of a sequence at positions pos0 .. take the expanded keys (mla.h).
static bool seg_expanded(const wk_session *s, const wk_ds2_layer *L, int64_t pos0, int64_t n)
{
    const ds2_state *st = s->arch_state;
    const wk_ds2_hparams *dh = &wk_ds2_of(s->m)->hp;
    const int64_t n_kv = pos0 + n, R = s->m->hp.n_rot;
    if (st->mla_form == MLA_ABSORBED || n_kv > st->exp_rows || s->kv.type != WK_KV_F32 ||
        !wk_mla_exp_takes(s->mm.kern, &L->wk_b)) {
        return false;
    }
    return (st->mla_form == MLA_EXPANDED && n > 1) ||
           wk_mla_exp_pays(n, n_kv, dh->kv_lora_rank, dh->head_dim_k_mla - R, R);
}

static void absorbed_attend(wk_session *s, const wk_ds2_layer *L, ds2_job *j, int64_t T);

static void attention_block(wk_session *s, const wk_ds2_layer *L, int il, const wk_batch *b)
{
    const wk_hparams *hp = &s->m->hp;
    const wk_ds2_hparams *dh = &wk_ds2_of(s->m)->hp;
    ds2_state *st = s->arch_state;
    wk_mm *mm = &s->mm;
    const int64_t T = b->n, H = hp->n_head, E = hp->n_embd, lora = dh->kv_lora_rank;
    const int64_t D = st->kv_dim, vd = dh->head_dim_v_mla;

    wk_rows_norm(mm, st->h, st->x, L->attn_norm.data, T, E, hp->rms_eps);
    if (L->wq_a.data) {
        const int64_t ql = dh->q_lora_rank;
        wk_mm_project(mm, &L->wq_a, st->h, T, st->qa, ql, false);
        wk_rows_norm(mm, st->qa, st->qa, L->attn_q_a_norm.data, T, ql, hp->rms_eps);
        wk_mm_project(mm, &L->wq_b, st->qa, T, st->q, st->q_dim, false);
    } else {
        wk_mm_project(mm, &L->wq, st->h, T, st->q, st->q_dim, false);
    }
    wk_mm_project(mm, &L->wkv_a_mqa, st->h, T, st->kv, D, true);
    ds2_job j = {.s = s, .b = b, .L = L, .il = il};
    wk_rows_run(mm, T, attn_pre_rows, &j);
    const wk_seg one = {b->seq, b->pos0, T};
    const wk_seg *segs = b->segs ? b->segs : &one;
    const int64_t n_segs = b->segs ? b->n_segs : 1;
    for (int64_t i = 0, t = 0; i < n_segs; t += segs[i].n, i++) {
        wk_kv_store(&s->kv, s->kv.k, il, segs[i].seq, segs[i].pos0, segs[i].n, s->kv.k_row,
                    st->kv + t * D, D);
    }

    // Each sequence's tokens in the cheaper form (mla.h): absorbed queries for decoding and short
    // chunks, expanded keys for long prompts. With both in one pass the absorbed form runs for
    // every token and the expanded one then overwrites its sequences' outputs.
    int64_t n_exp = 0;
    for (int64_t i = 0; i < n_segs; i++) { n_exp += seg_expanded(s, L, segs[i].pos0, segs[i].n); }
    if (n_exp < n_segs) { absorbed_attend(s, L, &j, T); }
    for (int64_t i = 0, t = 0; n_exp && i < n_segs; t += segs[i].n, i++) {
        if (!seg_expanded(s, L, segs[i].pos0, segs[i].n)) { continue; }
        const wk_mla_exp e = {
            .mm = mm,
            .kb = &L->wk_b,
            .n_head = H,
            .kv_lora = lora,
            .n_rope = hp->n_rot,
            .kq_scale = hp->kq_scale,
            .kv = wk_kv_row(&s->kv, s->kv.k, il, segs[i].seq, 0, s->kv.k_row),
            .kv_stride = s->kv.k_row,
            .pos0 = segs[i].pos0,
            .n = segs[i].n,
            .q = st->q + t * st->q_dim,
            .q_ts = st->q_dim,
            .o = st->o + t * H * lora,
            .o_ts = H * lora,
            .qr = st->qr,
            .wt = st->wt,
            .buf = st->exp_buf,
            .buf_rows = st->exp_rows,
            .scratch = st->att_scratch,
            .scratch_per_thread = st->att_per_thread,
        };
        wk_mla_exp_attend(&e);
    }
    // ov[t][h] = W_v_b[h] o[t][h]; x += W_o ov
    wk_mla_head_matmul(mm, &L->wv_b, st->o, H * lora, lora, T, st->ov, H * vd, vd, st->head_act);
    wk_mm_project(mm, &L->wo, st->ov, T, st->y, E, false);
    wk_rows_add(mm, st->x, st->y, T, E);
}

// The absorbed queries for the pass's T tokens: o[t][h] = softmax · c_kv over the latent rows.
static void absorbed_attend(wk_session *s, const wk_ds2_layer *L, ds2_job *j, int64_t T)
{
    const wk_hparams *hp = &s->m->hp;
    const wk_ds2_hparams *dh = &wk_ds2_of(s->m)->hp;
    ds2_state *st = s->arch_state;
    wk_mm *mm = &s->mm;
    const int64_t H = hp->n_head, lora = dh->kv_lora_rank;
    const int64_t D = st->kv_dim, qk = dh->head_dim_k_mla, nope = qk - hp->n_rot;
    // Q[t][h] = [W_k_b[h] q_nope[t][h] | q_pe[t][h]]
    wk_mla_head_matmul(mm, &L->wk_b, st->q, st->q_dim, qk, T, st->qabs, H * D, D, st->head_act);
    for (int64_t t = 0; t < T; t++) {
        for (int64_t h = 0; h < H; h++) {
            memcpy(st->qabs + (t * H + h) * D + lora, st->q + t * st->q_dim + h * qk + nope,
                   (size_t)hp->n_rot * sizeof(float));
        }
    }
    const int64_t hb = WK_MIN(H, (int64_t)ATT_HEADS);
    j->n_units = T * ((H + hb - 1) / hb);
    if (j->n_units > 1) {
        wk_mm_parallel(mm, attend_part, j);
    } else {
        attend_part(j, 0, 1);
    }
}

// y = W_down (silu(W_gate h) * (W_up h)) for a dense FFN or the shared experts (n_ff rows).
static void swiglu_ffn(wk_session *s, const wk_tensor *gate, const wk_tensor *up,
                       const wk_tensor *down, int64_t T, float *y)
{
    ds2_state *st = s->arch_state;
    wk_mm *mm = &s->mm;
    const int64_t f = gate->ne[1];
    wk_mm_project(mm, gate, st->h, T, st->gu, 2 * f, false);
    wk_mm_project(mm, up, st->h, T, st->gu + f, 2 * f, true);
    wk_rows_swiglu(mm, st->act, st->gu, T, f);
    wk_mm_project(mm, down, st->act, T, y, s->m->hp.n_embd, false);
}

static wick_status moe_block(wk_session *s, const wk_ds2_layer *L, int il, const wk_batch *b)
{
    const wk_hparams *hp = &s->m->hp;
    const wk_ds2_hparams *dh = &wk_ds2_of(s->m)->hp;
    ds2_state *st = s->arch_state;
    const int64_t E = hp->n_embd, X = dh->n_expert, T = b->n;
    const int U = (int)dh->n_expert_used;

    // Route every token (n_expert values each; tokens split across the threads).
    wk_mm_project(&s->mm, &L->ffn_gate_inp, st->h, T, st->router, X, false);
    wk_moe_router r = {
        .n_expert = (int)X,
        .n_used = U,
        .n_group = (int)dh->n_expert_groups,
        .n_group_used = (int)dh->n_expert_groups_used,
        .gating = dh->expert_gating,
        .norm = dh->expert_weights_norm,
        .scale = dh->expert_weights_scale,
        .bias = L->exp_probs_b.data,
    };
    ds2_job j = {.s = s, .b = b, .L = L, .router = &r};
    wk_rows_run(&s->mm, T, route_rows, &j);

    wk_moe_ffn f;
    wk_ds2_moe_ffn(s->m, il, &f);
    if (s->experts) {
        wick_status rc = s->experts->run(s->experts, s, il, &f, st->h, T, U, st->ids, st->w, st->y);
        if (rc < 0) { return rc; }
    } else {
        wk_moe_ffn_run(&s->mm, &f, &st->moe, st->h, T, U, st->ids, st->w, st->y);
    }
    if (L->ffn_gate_shexp.data) { // shared experts: a plain SwiGLU FFN with weight 1
        swiglu_ffn(s, &L->ffn_gate_shexp, &L->ffn_up_shexp, &L->ffn_down_shexp, T, st->y2);
        wk_rows_add(&s->mm, st->y, st->y2, T, E);
    }
    return WICK_OK;
}

static wick_status ds2_forward(wk_session *s, const wk_batch *b)
{
    const wk_model *m = s->m;
    const wk_hparams *hp = &m->hp;
    const wk_ds2_model *dm = wk_ds2_of(m);
    ds2_state *st = s->arch_state;
    const wk_kernels *kern = s->mm.kern;
    const int64_t E = hp->n_embd, T = b->n;

    int lo, hi;
    bool embed;
    wick_status rc = wk_stage_enter(s, b, st->x, &lo, &hi, &embed);
    if (rc < 0) { return rc; }
    // each token's sequence and position, and the cos/sin of its position
    const wk_seg one = {b->seq, b->pos0, T};
    const wk_seg *segs = b->segs ? b->segs : &one;
    for (int64_t i = 0, t = 0; i < (b->segs ? b->n_segs : 1); i++) {
        for (int64_t k = 0; k < segs[i].n; k++, t++) {
            st->tok_seq[t] = segs[i].seq;
            st->tok_pos[t] = (int32_t)(segs[i].pos0 + k);
        }
    }
    for (int64_t t = 0; t < T; t++) {
        wk_rope_cache(&st->rope, st->tok_pos[t], st->cs + t * hp->n_rot);
        if (!embed) { continue; }
        const int32_t tok = b->tokens[t];
        if (tok < 0 || tok >= hp->n_vocab) {
            return wk_fail(WICK_E_INVALID, "deepseek2: token %d is outside [0, %lld)", tok,
                           (long long)hp->n_vocab);
        }
        const char *row = (const char *)m->tok_embd.data + (size_t)tok * m->tok_embd.row_bytes;
        kern->to_float[m->tok_embd.type](row, st->x + t * E, E);
    }

    for (int il = lo; il < hi; il++) {
        if (atomic_load_explicit(&s->cancel, memory_order_relaxed)) {
            return wk_fail(WICK_E_CANCELLED, "%s: evaluation cancelled", m->path);
        }
        const wk_ds2_layer *L = &dm->layers[il];
        attention_block(s, L, il, b);
        wk_rows_norm(&s->mm, st->h, st->x, L->ffn_norm.data, T, E, hp->rms_eps);
        if (il < dm->hp.n_layer_dense_lead) {
            swiglu_ffn(s, &L->ffn_gate, &L->ffn_up, &L->ffn_down, T, st->y);
        } else if ((rc = moe_block(s, L, il, b)) < 0) {
            return rc;
        }
        wk_rows_add(&s->mm, st->x, st->y, T, E);
    }
    if ((rc = wk_stage_leave(s, b, st->x)) != WICK_OK) { return rc < 0 ? rc : WICK_OK; }

    wk_rows_logits(s, b, st->x, st->h, T, E, m->output_norm.data, hp->rms_eps, &m->output,
                   hp->n_vocab);
    return WICK_OK;
}

const wk_arch wk_arch_deepseek2 = {
    .name = "deepseek2",
    .load = load_deepseek2,
    .unload = ds2_unload,
    .needs = ds2_needs,
    .session_init = ds2_session_init,
    .session_free = ds2_session_free,
    .forward = ds2_forward,
    .multi_seq = true,
};
