// deepseek2.c — DeepSeek-V2/V3 and Kimi K2 (GGUF arch deepseek2): multi-head latent attention in
// its absorbed form, mixture of experts, YaRN (shared/spec/MODELS.md §3b).
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
#include <math.h>
#include <stdio.h>

#include "model/mla.h"
#include "model/model.h"
#include "model/moe.h"
#include "model/yarn.h"

// --- model data: what the loader allocates (the split of legacy attn_kv_b tensors) ---------------

typedef struct ds2_model {
    void **split; // per layer: k_b | v_b buffer of a file with attn_kv_b, or NULL
    int64_t n_layer;
} ds2_model;

static void ds2_unload(wk_model *m)
{
    ds2_model *dm = m->arch_data;
    if (!dm) { return; }
    for (int64_t il = 0; dm->split && il < dm->n_layer; il++) { wk_free(dm->split[il]); }
    wk_free(dm->split);
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

static wick_status load_hparams(wk_model *m)
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
        {"leading_dense_block_count", &hp->n_layer_dense_lead, true},
        {"attention.kv_lora_rank", &hp->kv_lora_rank, true},
        {"attention.q_lora_rank", &hp->q_lora_rank, false}, // absent: lite (plain attn_q)
        {"attention.key_length_mla", &hp->head_dim_k_mla, false},
        {"attention.value_length_mla", &hp->head_dim_v_mla, false},
        {"expert_feed_forward_length", &hp->n_ff_exp, false},
        {"expert_count", &hp->n_expert, false},
        {"expert_used_count", &hp->n_expert_used, false},
        {"expert_shared_count", &hp->n_expert_shared, false},
        {"expert_group_count", &hp->n_expert_groups, false},
        {"expert_group_used_count", &hp->n_expert_groups_used, false},
        {"expert_gating_func", &gating, false},
        {"expert_weights_norm", &norm, false},
    };
    for (size_t i = 0; i < WK_ARRAY_LEN(ints); i++) {
        rc = wk_model_key_int(m, ints[i].key, ints[i].dst, 0, ints[i].required);
        if (rc < 0) { return rc; }
    }
    rc = wk_model_key_float(m, "expert_weights_scale", &hp->expert_weights_scale, 0.0f);
    if (rc < 0) { return rc; }
    rc = wk_model_key_float(m, "rope.scaling.yarn_log_multiplier", &hp->yarn_log_mul, 0.0f);
    if (rc < 0) { return rc; }
    float rope_attn = 1.0f;
    if ((rc = wk_model_key_float(m, "rope.scaling.attn_factor", &rope_attn, 1.0f)) < 0) {
        return rc;
    }
    // The converter stores 0.1 * mscale_all_dim; llama.cpp divides by 0.1 again.
    hp->yarn_log_mul /= 0.1f;
    hp->expert_weights_norm = norm != 0;
    // No gating key: DeepSeek V2 / V2.5 files, softmax.
    hp->expert_gating = gating == 0 ? WK_GATING_SOFTMAX : (int)gating;
    if (hp->expert_gating != WK_GATING_SOFTMAX && hp->expert_gating != WK_GATING_SIGMOID &&
        hp->expert_gating != WK_GATING_SQRT_SOFTPLUS) {
        return wk_fail(WICK_E_UNSUPPORTED,
                       "%s: deepseek2.expert_gating_func = %lld is not supported", m->path,
                       (long long)gating);
    }

    const int64_t big = INT64_C(1) << 20;
    if ((rc = range(m, "leading_dense_block_count", hp->n_layer_dense_lead, 0, hp->n_layer)) < 0 ||
        (rc = range(m, "attention.q_lora_rank", hp->q_lora_rank, 0, big)) < 0 ||
        (rc = range(m, "attention.kv_lora_rank", hp->kv_lora_rank, 1, big)) < 0) {
        return rc;
    }
    // MLA files (key_length_mla and value_length_mla present) carry the cache row sizes in
    // key_length (kv_lora + rope) and value_length (kv_lora); older files carry the per-head sizes
    // there and need attn_kv_b.
    const bool mla =
        has_key(m, "attention.key_length_mla") && has_key(m, "attention.value_length_mla");
    if (!mla) {
        hp->head_dim_k_mla = hp->head_dim_k;
        hp->head_dim_v_mla = hp->head_dim_v;
    } else if (hp->head_dim_k != hp->kv_lora_rank + hp->n_rot ||
               hp->head_dim_v != hp->kv_lora_rank) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: deepseek2.attention.key_length %lld / value_length %lld, expected "
                       "kv_lora_rank + rope.dimension_count = %lld / kv_lora_rank = %lld",
                       m->path, (long long)hp->head_dim_k, (long long)hp->head_dim_v,
                       (long long)(hp->kv_lora_rank + hp->n_rot), (long long)hp->kv_lora_rank);
    }
    if ((rc = range(m, "attention.key_length_mla", hp->head_dim_k_mla, hp->n_rot + 1, big)) < 0 ||
        (rc = range(m, "attention.value_length_mla", hp->head_dim_v_mla, 1, big)) < 0) {
        return rc;
    }
    if (hp->n_rot < 2) {
        return wk_fail(WICK_E_FORMAT, "%s: deepseek2.rope.dimension_count = %lld, expected >= 2",
                       m->path, (long long)hp->n_rot);
    }
    if (hp->n_layer_dense_lead > 0 && hp->n_ff < 1) {
        return wk_fail(WICK_E_FORMAT, "%s: missing key 'deepseek2.feed_forward_length'", m->path);
    }
    if (hp->n_layer_dense_lead < hp->n_layer) { // MoE layers
        if ((rc = range(m, "expert_count", hp->n_expert, 1, 1 << 16)) < 0 ||
            (rc = range(m, "expert_used_count", hp->n_expert_used, 1, hp->n_expert)) < 0 ||
            (rc = range(m, "expert_feed_forward_length", hp->n_ff_exp, 1, big)) < 0 ||
            (rc = range(m, "expert_shared_count", hp->n_expert_shared, 0, 1 << 10)) < 0) {
            return rc;
        }
        if (hp->n_expert_groups > 1) {
            if ((rc = range(m, "expert_group_count", hp->n_expert_groups, 1, hp->n_expert)) < 0 ||
                (rc = range(m, "expert_group_used_count", hp->n_expert_groups_used, 1,
                            hp->n_expert_groups)) < 0) {
                return rc;
            }
            const int64_t per = hp->n_expert / hp->n_expert_groups;
            if (hp->n_expert % hp->n_expert_groups != 0 || per < 2 ||
                hp->n_expert_used > hp->n_expert_groups_used * per) {
                return wk_fail(WICK_E_FORMAT,
                               "%s: deepseek2: %lld experts in %lld groups (%lld kept) cannot give "
                               "%lld experts per token",
                               m->path, (long long)hp->n_expert, (long long)hp->n_expert_groups,
                               (long long)hp->n_expert_groups_used, (long long)hp->n_expert_used);
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
    wk_deepseek2_yarn_scales(yarn, 1.0f / hp->rope_freq_scale, hp->yarn_log_mul, rope_attn,
                             hp->head_dim_k_mla, &ys);
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
static wick_status split_kv_b(wk_model *m, wk_layer *L, int il, ds2_model *dm)
{
    const wk_hparams *hp = &m->hp;
    const int64_t H = hp->n_head, lora = hp->kv_lora_rank, nope = hp->head_dim_k_mla - hp->n_rot;
    const int64_t vd = hp->head_dim_v_mla;
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
    if ((rc = load_hparams(m)) < 0) { return rc; }

    ds2_model *dm = wk_calloc(1, sizeof *dm);
    if (!dm) { return wk_fail_nomem("deepseek2 model data"); }
    m->arch_data = dm;
    dm->n_layer = hp->n_layer;
    dm->split = wk_calloc((size_t)hp->n_layer, sizeof(void *));
    if (!dm->split) { return wk_fail_nomem("deepseek2 model data"); }

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
        return wk_fail(WICK_E_FORMAT,
                       "%s: deepseek2.vocab_size = %lld but tensor 'token_embd.weight' has %lld rows",
                       m->path, (long long)vocab_key, (long long)hp->n_vocab);
    }
    const int64_t E = hp->n_embd, V = hp->n_vocab, H = hp->n_head, R = hp->n_rot;
    const int64_t lora = hp->kv_lora_rank, qk = hp->head_dim_k_mla, nope = qk - R;
    const int64_t vd = hp->head_dim_v_mla, X = hp->n_expert, F = hp->n_ff_exp;
    const int64_t S = hp->n_expert_shared;
    const int64_t ne_v[2] = {E, V};
    rc = wk_model_bind(m, &m->tok_embd, "token_embd.weight", 2, ne_v, false);
    if (rc < 0) { return rc; }
    bind_f32(m, &rc, &m->output_norm, -1, "output_norm.weight", E, false);
    if (rc < 0) { return rc; }
    if ((rc = wk_model_bind(m, &m->output, "output.weight", 2, ne_v, true)) < 0) { return rc; }
    if (!m->output.data) { m->output = m->tok_embd; }

    for (int il = 0; il < hp->n_layer && rc >= 0; il++) {
        wk_layer *L = &m->layers[il];
        bind_f32(m, &rc, &L->attn_norm, il, "blk.%d.attn_norm.weight", E, false);
        if (hp->q_lora_rank > 0) {
            const int64_t ql = hp->q_lora_rank;
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
        if (il < hp->n_layer_dense_lead) {
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
static void ds2_kv_shape(const wk_model *m, int64_t *k_row, int64_t *v_row)
{
    *k_row = m->hp.kv_lora_rank + m->hp.n_rot;
    *v_row = 0;
}

// --- session scratch -----------------------------------------------------------------------------

enum { ATT_HEADS = 16 }; // heads per attention unit (the cached rows are read once per unit)

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
    float *cs;    // [B][rope]
    float *att_scratch;
    int64_t att_per_thread;
    void *head_act; // converted per-head activations (k_b and v_b products)
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

static wick_status ds2_session_init(wk_session *s)
{
    const wk_model *m = s->m;
    const wk_hparams *hp = &m->hp;
    ds2_state *st = wk_calloc(1, sizeof *st);
    if (!st) { return wk_fail_nomem("session scratch"); }
    s->arch_state = st;
    const int64_t B = s->n_batch, E = hp->n_embd, H = hp->n_head, R = hp->n_rot;
    const int64_t lora = hp->kv_lora_rank, vd = hp->head_dim_v_mla;
    st->q_dim = H * hp->head_dim_k_mla;
    st->kv_dim = lora + R;
    st->ff_max = WK_MAX(hp->n_ff, hp->n_ff_exp * hp->n_expert_shared);
    const int64_t X = hp->n_expert, U = hp->n_expert_used;
    const int64_t hb = WK_MIN(H, (int64_t)ATT_HEADS);
    st->att_per_thread = wk_mla_attend_scratch((int)hb, lora, R, s->n_ctx);
    wk_moe_router r = {.n_expert = (int)X, .n_group = (int)hp->n_expert_groups};
    st->route_per_thread = (wk_moe_route_scratch(&r) + 15) / 16 * 16;
    const int64_t sizes[] = {B * E,
                             B * E,
                             B * E,
                             B * E,
                             B * WK_MAX(hp->q_lora_rank, 1),
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
                             st->att_per_thread * s->n_threads};
    float *ids_area = NULL; // int32 ids, 4 bytes each like the floats
    float **ptrs[] = {
        &st->x,    &st->h,    &st->y,  &st->y2,         &st->qa,  &st->q,      &st->kv,
        &st->qabs, &st->o,    &st->ov, &st->gu,         &st->act, &st->router, &st->route_scratch,
        &st->w,    &ids_area, &st->cs, &st->att_scratch};
    size_t total = 0;
    for (size_t i = 0; i < WK_ARRAY_LEN(sizes); i++) {
        size_t n = (size_t)((sizes[i] + 15) / 16 * 16), b;
        if (!wk_mul_size(n, sizeof(float), &b) || !wk_add_size(total, b, &total)) {
            return wk_fail(WICK_E_RANGE, "session scratch: size overflows");
        }
    }
    st->mem = wk_malloc(total);
    if (!st->mem) {
        return wk_fail(WICK_E_NOMEM, "session scratch: cannot allocate %zu bytes", total);
    }
    float *p = st->mem;
    for (size_t i = 0; i < WK_ARRAY_LEN(sizes); i++) {
        *ptrs[i] = p;
        p += (sizes[i] + 15) / 16 * 16;
    }
    st->ids = (int32_t *)(void *)ids_area;

    // Per-head activations and expert buffers, for the widest formats any layer uses.
    size_t head_bytes = 0, in_rb = 0, mid_rb = 0;
    for (int64_t il = 0; il < hp->n_layer; il++) {
        const wk_layer *L = &m->layers[il];
        head_bytes = WK_MAX(head_bytes, wk_mla_head_act_bytes(L->wk_b.type, L->wk_b.ne[0], B, H));
        head_bytes = WK_MAX(head_bytes, wk_mla_head_act_bytes(L->wv_b.type, L->wv_b.ne[0], B, H));
        const wk_tensor *g = L->ffn_gate_up_exps.data ? &L->ffn_gate_up_exps : &L->ffn_gate_exps;
        in_rb = WK_MAX(in_rb, act_row_bytes(g, E));
        in_rb = WK_MAX(in_rb, act_row_bytes(&L->ffn_up_exps, E));
        mid_rb = WK_MAX(mid_rb, act_row_bytes(&L->ffn_down_exps, hp->n_ff_exp));
    }
    st->head_act = wk_malloc(head_bytes ? head_bytes : 1);
    if (!st->head_act) {
        return wk_fail(WICK_E_NOMEM, "session scratch: cannot allocate %zu bytes", head_bytes);
    }
    if (hp->n_layer_dense_lead < hp->n_layer) {
        wick_status rc = wk_moe_buf_init(&st->moe, B, (int)U, E, hp->n_ff_exp, X, in_rb, mid_rb);
        if (rc < 0) { return rc; }
    }
    wk_rope_init(&st->rope, hp, R, WK_ROPE_NORM, NULL);
    return WICK_OK;
}

// --- row-parallel steps --------------------------------------------------------------------------

enum { STEP_ATTN_PRE, STEP_NORM, STEP_ADD, STEP_SWIGLU, STEP_ROUTE, STEP_ATTEND };

typedef struct step_job {
    int kind;
    int64_t T;
    wk_session *s;
    const wk_layer *L;
    int il;
    float *dst;
    const float *src;
    const float *w;
    int64_t n; // row length (NORM, ADD, SWIGLU)
    int64_t n_units;
    const wk_moe_router *router; // ROUTE
} step_job;

// Attention of one (token, block of heads) unit over the cached rows the token sees.
static void attend_unit(step_job *j, int64_t u, int ith)
{
    wk_session *s = j->s;
    const wk_hparams *hp = &s->m->hp;
    ds2_state *st = s->arch_state;
    const int64_t H = hp->n_head, hb = WK_MIN(H, (int64_t)ATT_HEADS), n_hb = (H + hb - 1) / hb;
    const int64_t t = u / n_hb, h0 = (u % n_hb) * hb, nh = WK_MIN(hb, H - h0);
    const int64_t lora = hp->kv_lora_rank, D = st->kv_dim;
    const int64_t n_kv = s->n_past + t + 1;
    const float *q = st->qabs + (t * H + h0) * D;
    float *o = st->o + (t * H + h0) * lora;
    float *scratch = st->att_scratch + (int64_t)ith * st->att_per_thread;
    if (s->kv.type == WK_KV_F32) {
        const float *rows = wk_kv_row(&s->kv, s->kv.k, j->il, 0, s->kv.k_row);
        wk_mla_attend(s->mm.kern, (int)nh, lora, hp->n_rot, q, D, rows, s->kv.k_row, n_kv,
                      hp->kq_scale, scratch, o, lora);
    } else {
        const uint16_t *rows = wk_kv_row(&s->kv, s->kv.k, j->il, 0, s->kv.k_row);
        wk_mla_attend_f16(s->mm.kern, (int)nh, lora, hp->n_rot, q, D, rows, s->kv.k_row, n_kv,
                          hp->kq_scale, scratch, o, lora);
    }
}

static void step_rows(step_job *j, int64_t t0, int64_t t1)
{
    wk_session *s = j->s;
    const wk_hparams *hp = &s->m->hp;
    ds2_state *st = s->arch_state;
    for (int64_t t = t0; t < t1; t++) {
        switch (j->kind) {
        case STEP_ATTN_PRE: {
            // RoPE on q_pe of every head and on k_pe; RMSNorm of c_kv (in its cache row).
            const int64_t qk = hp->head_dim_k_mla, lora = hp->kv_lora_rank;
            const float *cs = st->cs + t * hp->n_rot;
            wk_rope_apply(&st->rope, cs, st->q + t * st->q_dim + (qk - hp->n_rot), hp->n_head, qk);
            float *kv = st->kv + t * st->kv_dim;
            wk_rope_apply(&st->rope, cs, kv + lora, 1, st->kv_dim);
            wk_rms_norm(kv, kv, j->L->attn_kv_a_norm.data, 1, lora, hp->rms_eps);
            break;
        }
        case STEP_NORM:
            wk_rms_norm(j->dst + t * j->n, j->src + t * j->n, j->w, 1, j->n, hp->rms_eps);
            break;
        case STEP_ADD:
            wk_add(j->dst + t * j->n, j->src + t * j->n, j->n);
            break;
        case STEP_SWIGLU:
            wk_swiglu(st->act + t * j->n, j->n, st->gu + t * 2 * j->n, st->gu + t * 2 * j->n + j->n,
                      2 * j->n, 1, j->n);
            break;
        default:
            break;
        }
    }
}

static void step_part(void *ctx, int ith, int nth)
{
    step_job *j = ctx;
    if (j->kind == STEP_ROUTE) {
        ds2_state *st = j->s->arch_state;
        const int64_t X = j->router->n_expert, U = j->router->n_used;
        float *scratch = st->route_scratch + (int64_t)ith * st->route_per_thread;
        for (int64_t t = j->T * ith / nth; t < j->T * (ith + 1) / nth; t++) {
            wk_moe_route(j->router, st->router + t * X, scratch, st->ids + t * U, st->w + t * U);
        }
        return;
    }
    if (j->kind == STEP_ATTEND) {
        // Interleaved: later tokens see more rows, so contiguous ranges would be uneven.
        for (int64_t u = ith; u < j->n_units; u += nth) { attend_unit(j, u, ith); }
        return;
    }
    step_rows(j, j->T * ith / nth, j->T * (ith + 1) / nth);
}

static void step(wk_session *s, step_job *j)
{
    j->s = s;
    const int64_t work = j->kind == STEP_ATTEND ? j->n_units : j->T;
    if (work > 1) {
        wk_mm_parallel(&s->mm, step_part, j);
    } else {
        step_part(j, 0, 1);
    }
}

static void norm_rows(wk_session *s, float *dst, const float *src, const float *w, int64_t T,
                      int64_t n)
{
    step_job j = {.kind = STEP_NORM, .T = T, .dst = dst, .src = src, .w = w, .n = n};
    step(s, &j);
}

static void add_rows(wk_session *s, float *dst, const float *src, int64_t T, int64_t n)
{
    step_job j = {.kind = STEP_ADD, .T = T, .dst = dst, .src = src, .n = n};
    step(s, &j);
}

// y[t * y_stride + r] = (W x_t)[r], x rows of W's input length.
static void project(wk_session *s, const wk_tensor *w, const float *x, int64_t T, float *y,
                    int64_t y_stride)
{
    wk_mm_prepare(&s->mm, w->type, x, T, w->ne[0], w->ne[0]);
    wk_mm_run(&s->mm, w, 0, w->n_rows, y, y_stride);
}

// --- forward -------------------------------------------------------------------------------------

static void attention_block(wk_session *s, const wk_layer *L, int il, int64_t T)
{
    const wk_hparams *hp = &s->m->hp;
    ds2_state *st = s->arch_state;
    const int64_t H = hp->n_head, E = hp->n_embd, lora = hp->kv_lora_rank, D = st->kv_dim;
    const int64_t qk = hp->head_dim_k_mla, nope = qk - hp->n_rot, vd = hp->head_dim_v_mla;

    norm_rows(s, st->h, st->x, L->attn_norm.data, T, E);
    if (L->wq_a.data) {
        const int64_t ql = hp->q_lora_rank;
        project(s, &L->wq_a, st->h, T, st->qa, ql);
        norm_rows(s, st->qa, st->qa, L->attn_q_a_norm.data, T, ql);
        project(s, &L->wq_b, st->qa, T, st->q, st->q_dim);
    } else {
        project(s, &L->wq, st->h, T, st->q, st->q_dim);
    }
    project(s, &L->wkv_a_mqa, st->h, T, st->kv, D);
    step_job pre = {.kind = STEP_ATTN_PRE, .T = T, .L = L, .il = il};
    step(s, &pre);
    wk_kv_store(&s->kv, s->kv.k, il, s->n_past, T, s->kv.k_row, st->kv, D);

    // Q[t][h] = [W_k_b[h] q_nope[t][h] | q_pe[t][h]]
    wk_mla_head_matmul(&s->mm, &L->wk_b, st->q, st->q_dim, qk, T, st->qabs, H * D, D, st->head_act);
    for (int64_t t = 0; t < T; t++) {
        for (int64_t h = 0; h < H; h++) {
            memcpy(st->qabs + (t * H + h) * D + lora, st->q + t * st->q_dim + h * qk + nope,
                   (size_t)hp->n_rot * sizeof(float));
        }
    }
    const int64_t hb = WK_MIN(H, (int64_t)ATT_HEADS);
    step_job att = {.kind = STEP_ATTEND, .T = T, .il = il, .n_units = T * ((H + hb - 1) / hb)};
    step(s, &att);
    // ov[t][h] = W_v_b[h] o[t][h]; x += W_o ov
    wk_mla_head_matmul(&s->mm, &L->wv_b, st->o, H * lora, lora, T, st->ov, H * vd, vd,
                       st->head_act);
    project(s, &L->wo, st->ov, T, st->y, E);
    add_rows(s, st->x, st->y, T, E);
}

// y = W_down (silu(W_gate h) * (W_up h)) for a dense FFN or the shared experts (n_ff rows).
static void swiglu_ffn(wk_session *s, const wk_tensor *gate, const wk_tensor *up,
                       const wk_tensor *down, int64_t T, float *y)
{
    ds2_state *st = s->arch_state;
    const int64_t f = gate->ne[1];
    wk_mm_prepare(&s->mm, gate->type, st->h, T, gate->ne[0], gate->ne[0]);
    wk_mm_run(&s->mm, gate, 0, gate->n_rows, st->gu, 2 * f);
    if (wk_type(up->type)->vec_dot_type != s->mm.act_type) {
        wk_mm_prepare(&s->mm, up->type, st->h, T, up->ne[0], up->ne[0]);
    }
    wk_mm_run(&s->mm, up, 0, up->n_rows, st->gu + f, 2 * f);
    step_job j = {.kind = STEP_SWIGLU, .T = T, .n = f};
    step(s, &j);
    project(s, down, st->act, T, y, s->m->hp.n_embd);
}

static void moe_block(wk_session *s, const wk_layer *L, int64_t T)
{
    const wk_hparams *hp = &s->m->hp;
    ds2_state *st = s->arch_state;
    const int64_t E = hp->n_embd, X = hp->n_expert;
    const int U = (int)hp->n_expert_used;

    // Route every token (n_expert values each; tokens split across the threads).
    project(s, &L->ffn_gate_inp, st->h, T, st->router, X);
    wk_moe_router r = {
        .n_expert = (int)X,
        .n_used = U,
        .n_group = (int)hp->n_expert_groups,
        .n_group_used = (int)hp->n_expert_groups_used,
        .gating = hp->expert_gating,
        .norm = hp->expert_weights_norm,
        .scale = hp->expert_weights_scale,
        .bias = L->exp_probs_b.data,
    };
    step_job route = {.kind = STEP_ROUTE, .T = T, .router = &r};
    step(s, &route);

    wk_moe_ffn f = {.down = &L->ffn_down_exps, .n_ff = hp->n_ff_exp, .n_embd = E, .n_expert = X};
    if (L->ffn_gate_up_exps.data) { // rows per expert: gate (n_ff) | up (n_ff)
        f.gate = f.up = &L->ffn_gate_up_exps;
        f.gate_row0 = 0;
        f.up_row0 = hp->n_ff_exp;
        f.gu_stride = 2 * hp->n_ff_exp;
    } else {
        f.gate = &L->ffn_gate_exps;
        f.up = &L->ffn_up_exps;
        f.gu_stride = hp->n_ff_exp;
    }
    wk_moe_ffn_run(&s->mm, &f, &st->moe, st->h, T, U, st->ids, st->w, st->y);
    if (L->ffn_gate_shexp.data) { // shared experts: a plain SwiGLU FFN with weight 1
        swiglu_ffn(s, &L->ffn_gate_shexp, &L->ffn_up_shexp, &L->ffn_down_shexp, T, st->y2);
        add_rows(s, st->y, st->y2, T, E);
    }
}

static wick_status ds2_forward(wk_session *s, const int32_t *tokens, int64_t T, bool logits_all)
{
    const wk_model *m = s->m;
    const wk_hparams *hp = &m->hp;
    ds2_state *st = s->arch_state;
    const wk_kernels *kern = s->mm.kern;
    const int64_t E = hp->n_embd;

    for (int64_t t = 0; t < T; t++) {
        if (tokens[t] < 0 || tokens[t] >= hp->n_vocab) {
            return wk_fail(WICK_E_INVALID, "deepseek2: token %d is outside [0, %lld)", tokens[t],
                           (long long)hp->n_vocab);
        }
        const char *row =
            (const char *)m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes;
        kern->to_float[m->tok_embd.type](row, st->x + t * E, E);
        wk_rope_cache(&st->rope, s->n_past + t, st->cs + t * hp->n_rot);
    }

    for (int il = 0; il < hp->n_layer; il++) {
        const wk_layer *L = &m->layers[il];
        attention_block(s, L, il, T);
        norm_rows(s, st->h, st->x, L->ffn_norm.data, T, E);
        if (il < hp->n_layer_dense_lead) {
            swiglu_ffn(s, &L->ffn_gate, &L->ffn_up, &L->ffn_down, T, st->y);
        } else {
            moe_block(s, L, T);
        }
        add_rows(s, st->x, st->y, T, E);
    }

    const int64_t first = logits_all ? 0 : T - 1, n_out = T - first;
    norm_rows(s, st->h, st->x + first * E, m->output_norm.data, n_out, E);
    project(s, &m->output, st->h, n_out, s->logits, hp->n_vocab);
    s->n_logits = n_out;
    return WICK_OK;
}

const wk_arch wk_arch_deepseek2 = {
    .name = "deepseek2",
    .load = load_deepseek2,
    .kv_shape = ds2_kv_shape,
    .session_init = ds2_session_init,
    .session_free = ds2_session_free,
    .forward = ds2_forward,
    .unload = ds2_unload,
};
