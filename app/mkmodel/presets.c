// presets.c — model shapes, the tensor list of each architecture, and llama-quantize's per-tensor
// type policy (llama.cpp's llama-quant.cpp), so a generated Q4_K_M file has the tensor types a
// real llama-quantize file of the same shapes has.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mkmodel.h"

// --- file types (llama_ftype ids, MODELS.md §1) --------------------------------------------------
static const mk_ftype ftypes[] = {
    {"F32", 0, WICK_DTYPE_F32},       {"F16", 1, WICK_DTYPE_F16},
    {"BF16", 32, WICK_DTYPE_BF16},    {"Q4_0", 2, WICK_DTYPE_Q4_0},
    {"Q4_1", 3, WICK_DTYPE_Q4_1},     {"Q5_0", 8, WICK_DTYPE_Q5_0},
    {"Q5_1", 9, WICK_DTYPE_Q5_1},     {"Q8_0", 7, WICK_DTYPE_Q8_0},
    {"Q2_K", 10, WICK_DTYPE_Q2_K},    {"Q3_K_S", 11, WICK_DTYPE_Q3_K},
    {"Q3_K_M", 12, WICK_DTYPE_Q3_K},  {"Q3_K_L", 13, WICK_DTYPE_Q3_K},
    {"Q4_K_S", 14, WICK_DTYPE_Q4_K},  {"Q4_K_M", 15, WICK_DTYPE_Q4_K},
    {"Q5_K_S", 16, WICK_DTYPE_Q5_K},  {"Q5_K_M", 17, WICK_DTYPE_Q5_K},
    {"Q6_K", 18, WICK_DTYPE_Q6_K},
};
enum {
    FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15,
    FT_Q5_K_M = 17,
};

// Case-insensitive, with llama-quantize's aliases Q3_K, Q4_K, Q5_K for the _M mixes.
const mk_ftype *mk_ftype_find(const char *name)
{
    static const char *const alias[][2] = {
        {"Q3_K", "Q3_K_M"}, {"Q4_K", "Q4_K_M"}, {"Q5_K", "Q5_K_M"}};
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++) {
        if (strcasecmp(name, alias[i][0]) == 0) { name = alias[i][1]; }
    }
    for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++) {
        if (strcasecmp(ftypes[i].name, name) == 0) { return &ftypes[i]; }
    }
    return NULL;
}

void mk_ftype_list(char *buf, size_t size, const char *wrap)
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0] && n < size; i++) {
        const char *sep = i == 0 ? "" : (wrap && i % 9 == 0) ? wrap : " ";
        int k = snprintf(buf + n, size - n, "%s%s", sep, ftypes[i].name);
        if (k < 0) { break; }
        n += (size_t)k;
    }
}

const char *mk_arch_name(mk_arch a)
{
    switch (a) {
    case MK_LLAMA: return "llama";
    case MK_PHI3: return "phi3";
    case MK_DEEPSEEK2: return "deepseek2";
    }
    return "?";
}

// --- presets ---------------------------------------------------------------------------------
bool mk_preset(mk_arch arch, const char *preset, mk_hparams *hp)
{
    memset(hp, 0, sizeof *hp);
    hp->arch = arch;
    hp->preset = preset;
    if (arch == MK_LLAMA && strcmp(preset, "tiny") == 0) {
        // shared/fixtures/README.md §2: llama (output tied to token_embd)
        hp->n_embd = 256, hp->n_layer = 2, hp->n_head = 8, hp->n_head_kv = 2, hp->head_dim = 32;
        hp->n_ff = 512, hp->n_vocab = 1536, hp->n_ctx = 8192, hp->rope_base = 500000.0f;
        hp->rms_eps = 1e-5f, hp->tied = true;
    } else if (arch == MK_PHI3 && strcmp(preset, "tiny") == 0) {
        hp->n_embd = 256, hp->n_layer = 2, hp->n_head = 2, hp->n_head_kv = 1, hp->head_dim = 128;
        hp->n_ff = 512, hp->n_vocab = 1536, hp->n_ctx = 16384, hp->rope_base = 250000.0f;
        hp->rms_eps = 1e-5f;
    } else if (arch == MK_PHI3 && strcmp(preset, "phi4") == 0) {
        // real Phi-4 14B layer shapes (MODELS.md §3a), 4 layers by default
        hp->n_embd = 5120, hp->n_layer = 4, hp->n_head = 40, hp->n_head_kv = 10, hp->head_dim = 128;
        hp->n_ff = 17920, hp->n_vocab = 100352, hp->n_ctx = 16384, hp->rope_base = 250000.0f;
        hp->rms_eps = 1e-5f;
    } else if (arch == MK_DEEPSEEK2 && strcmp(preset, "tiny") == 0) {
        hp->n_embd = 256, hp->n_layer = 3, hp->n_head = 2, hp->n_head_kv = 1;
        hp->q_lora = 256, hp->kv_lora = 256, hp->nope = 128, hp->rope_dim = 64, hp->v_dim = 128;
        hp->n_ff = 256, hp->n_ff_exp = 64, hp->n_expert = 8, hp->n_expert_used = 2;
        hp->n_expert_shared = 1, hp->n_dense_lead = 1, hp->n_vocab = 1536, hp->n_ctx = 131072;
        hp->rms_eps = 1e-6f;
    } else if (arch == MK_DEEPSEEK2 && strcmp(preset, "kimi") == 0) {
        // real Kimi K2 per-layer and per-expert shapes (MODELS.md §3b); 1 dense + 1 MoE layer and
        // 16 experts by default instead of 61 layers and 384 experts
        hp->n_embd = 7168, hp->n_layer = 2, hp->n_head = 64, hp->n_head_kv = 1;
        hp->q_lora = 1536, hp->kv_lora = 512, hp->nope = 128, hp->rope_dim = 64, hp->v_dim = 128;
        hp->n_ff = 18432, hp->n_ff_exp = 2048, hp->n_expert = 16, hp->n_expert_used = 8;
        hp->n_expert_shared = 1, hp->n_dense_lead = 1, hp->n_vocab = 163840, hp->n_ctx = 131072;
        hp->rms_eps = 1e-6f;
    } else {
        return false;
    }
    if (arch == MK_DEEPSEEK2) {
        // Kimi K2: sigmoid gating, normalized top-k weights scaled by 2.827, YaRN 32 over 4096
        hp->head_dim = hp->nope + hp->rope_dim;
        hp->rope_base = 50000.0f, hp->expert_scale = 2.827f, hp->yarn_factor = 32.0f;
        hp->yarn_log_mul = 0.1f, hp->n_ctx_orig = 4096, hp->n_group = 1, hp->n_group_used = 1;
    } else {
        hp->n_ctx_orig = hp->n_ctx;
    }
    return true;
}

// --- tensor list ---------------------------------------------------------------------------------
// Weight sigma as in the fixtures (attention/FFN 0.07, token_embd 0.5 or 0.25 when tied, output
// 0.25, router 0.3), shrunk by sqrt(512/ne0) for rows longer than 512 so that activations of the
// big presets stay O(1) instead of growing with sqrt(n_embd).
static float scaled_sigma(float sigma, int64_t ne0)
{
    return ne0 > 512 ? sigma * sqrtf(512.0f / (float)ne0) : sigma;
}

static mk_tensor *add(mk_model *m, int layer, const char *name, int n_dims, int64_t ne0,
                      int64_t ne1, int64_t ne2)
{
    if (m->n_t == m->cap_t) {
        int cap = m->cap_t ? m->cap_t * 2 : 64;
        mk_tensor *t = realloc(m->t, (size_t)cap * sizeof *t);
        if (!t) { return NULL; }
        m->t = t, m->cap_t = cap;
    }
    mk_tensor *t = &m->t[m->n_t++];
    memset(t, 0, sizeof *t);
    if (layer >= 0) {
        snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, name);
    } else {
        snprintf(t->name, sizeof t->name, "%s", name);
    }
    t->layer = layer, t->n_dims = n_dims;
    t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2, t->ne[3] = 1;
    t->map = MK_MAP_PLAIN;
    return t;
}

// The canonical stream of a tensor called name (blk.<layer>. prefixed when layer >= 0) with row
// length ne0, mean mu and base sigma.
static mk_src src_of(const mk_model *m, int layer, const char *name, int64_t ne0, float mu,
                     float sigma, bool scale)
{
    char full[MK_NAME_MAX];
    if (layer >= 0) {
        snprintf(full, sizeof full, "blk.%d.%s", layer, name);
    } else {
        snprintf(full, sizeof full, "%s", name);
    }
    mk_src s = {mk_stream_key(m->seed, full), mu, scale ? scaled_sigma(sigma, ne0) : sigma};
    return s;
}

// A plain random tensor (its own canonical stream): weights (mu 0) or norm gains (mu 1, sigma 0.1).
static bool weight(mk_model *m, int layer, const char *name, int n_dims, int64_t ne0, int64_t ne1,
                   int64_t ne2, float sigma)
{
    mk_tensor *t = add(m, layer, name, n_dims, ne0, ne1, ne2);
    if (!t) { return false; }
    t->src[0] = src_of(m, layer, name, ne0, 0.0f, sigma, true);
    return true;
}

static bool norm(mk_model *m, int layer, const char *name, int64_t n)
{
    mk_tensor *t = add(m, layer, name, 1, n, 1, 1);
    if (!t) { return false; }
    t->src[0] = src_of(m, layer, name, n, 1.0f, 0.1f, false);
    return true;
}

static const float SIG_W = 0.07f, SIG_EMBD = 0.5f, SIG_OUT = 0.25f, SIG_ROUTER = 0.3f;

static bool build_common_head(mk_model *m)
{
    const mk_hparams *hp = &m->hp;
    bool ok = true;
    if (m->rope_freqs) {
        mk_tensor *t = add(m, -1, "rope_freqs.weight", 1, hp->head_dim / 2, 1, 1);
        if (!t) { return false; }
        t->map = MK_MAP_ROPE_FREQS;
    }
    if (hp->tied) {
        ok = ok && weight(m, -1, "token_embd.weight", 2, hp->n_embd, hp->n_vocab, 1, SIG_OUT);
    } else { // an embedding row is looked up, not summed over: sigma 0.5 whatever n_embd
        mk_tensor *t = add(m, -1, "token_embd.weight", 2, hp->n_embd, hp->n_vocab, 1);
        if (!t) { return false; }
        t->src[0] = src_of(m, -1, "token_embd.weight", hp->n_embd, 0.0f, SIG_EMBD, false);
    }
    ok = ok && norm(m, -1, "output_norm.weight", hp->n_embd);
    if (!hp->tied) {
        ok = ok && weight(m, -1, "output.weight", 2, hp->n_embd, hp->n_vocab, 1, SIG_OUT);
    }
    return ok;
}

static bool build_llama(mk_model *m)
{
    const mk_hparams *hp = &m->hp;
    int64_t E = hp->n_embd, q = hp->n_head * hp->head_dim, kv = hp->n_head_kv * hp->head_dim;
    bool ok = build_common_head(m);
    for (int i = 0; ok && i < hp->n_layer; i++) {
        ok = ok && norm(m, i, "attn_norm.weight", E);
        ok = ok && weight(m, i, "attn_q.weight", 2, E, q, 1, SIG_W);
        ok = ok && weight(m, i, "attn_k.weight", 2, E, kv, 1, SIG_W);
        ok = ok && weight(m, i, "attn_v.weight", 2, E, kv, 1, SIG_W);
        ok = ok && weight(m, i, "attn_output.weight", 2, q, E, 1, SIG_W);
        ok = ok && norm(m, i, "ffn_norm.weight", E);
        ok = ok && weight(m, i, "ffn_gate.weight", 2, E, hp->n_ff, 1, SIG_W);
        ok = ok && weight(m, i, "ffn_up.weight", 2, E, hp->n_ff, 1, SIG_W);
        ok = ok && weight(m, i, "ffn_down.weight", 2, hp->n_ff, E, 1, SIG_W);
    }
    return ok;
}

static bool build_phi3(mk_model *m)
{
    const mk_hparams *hp = &m->hp;
    int64_t E = hp->n_embd, kv = hp->n_head_kv * hp->head_dim;
    bool ok = build_common_head(m);
    for (int i = 0; ok && i < hp->n_layer; i++) {
        ok = ok && norm(m, i, "attn_norm.weight", E);
        // rows Q[n_embd] | K[n_embd_gqa] | V[n_embd_gqa]
        ok = ok && weight(m, i, "attn_qkv.weight", 2, E, E + 2 * kv, 1, SIG_W);
        ok = ok && weight(m, i, "attn_output.weight", 2, E, E, 1, SIG_W);
        ok = ok && norm(m, i, "ffn_norm.weight", E);
        // rows GATE[n_ff] | UP[n_ff]
        ok = ok && weight(m, i, "ffn_up.weight", 2, E, 2 * hp->n_ff, 1, SIG_W);
        ok = ok && weight(m, i, "ffn_down.weight", 2, hp->n_ff, E, 1, SIG_W);
    }
    return ok;
}

static bool build_deepseek2(mk_model *m)
{
    const mk_hparams *hp = &m->hp;
    int64_t E = hp->n_embd, H = hp->n_head, X = hp->n_expert, F = hp->n_ff_exp;
    int64_t qk = hp->nope + hp->rope_dim, S = hp->n_expert_shared;
    bool ok = build_common_head(m);
    for (int i = 0; ok && i < hp->n_layer; i++) {
        ok = ok && norm(m, i, "attn_norm.weight", E);
        if (!m->lite) { ok = ok && norm(m, i, "attn_q_a_norm.weight", hp->q_lora); }
        ok = ok && norm(m, i, "attn_kv_a_norm.weight", hp->kv_lora);
        if (m->lite) {
            ok = ok && weight(m, i, "attn_q.weight", 2, E, H * qk, 1, SIG_W);
        } else {
            ok = ok && weight(m, i, "attn_q_a.weight", 2, E, hp->q_lora, 1, SIG_W);
            ok = ok && weight(m, i, "attn_q_b.weight", 2, hp->q_lora, H * qk, 1, SIG_W);
        }
        // rows c_kv[kv_lora] | k_pe[rope]
        ok = ok && weight(m, i, "attn_kv_a_mqa.weight", 2, E, hp->kv_lora + hp->rope_dim, 1, SIG_W);
        if (m->kv_b) {
            mk_tensor *t = add(m, i, "attn_kv_b.weight", 2, hp->kv_lora, H * (hp->nope + hp->v_dim),
                               1);
            if (!t) { return false; }
            t->map = MK_MAP_KV_B;
            t->src[0] = src_of(m, i, "attn_k_b.weight", hp->nope, 0.0f, SIG_W, true);
            t->src[1] = src_of(m, i, "attn_v_b.weight", hp->kv_lora, 0.0f, SIG_W, true);
        } else {
            ok = ok && weight(m, i, "attn_k_b.weight", 3, hp->nope, hp->kv_lora, H, SIG_W);
            ok = ok && weight(m, i, "attn_v_b.weight", 3, hp->kv_lora, hp->v_dim, H, SIG_W);
        }
        ok = ok && weight(m, i, "attn_output.weight", 2, H * hp->v_dim, E, 1, SIG_W);
        ok = ok && norm(m, i, "ffn_norm.weight", E);
        if (i < hp->n_dense_lead) {
            ok = ok && weight(m, i, "ffn_gate.weight", 2, E, hp->n_ff, 1, SIG_W);
            ok = ok && weight(m, i, "ffn_up.weight", 2, E, hp->n_ff, 1, SIG_W);
            ok = ok && weight(m, i, "ffn_down.weight", 2, hp->n_ff, E, 1, SIG_W);
            continue;
        }
        ok = ok && weight(m, i, "ffn_gate_inp.weight", 2, E, X, 1, SIG_ROUTER);
        if (!ok) { break; }
        mk_tensor *b = add(m, i, "exp_probs_b.bias", 1, X, 1, 1);
        if (!b) { return false; }
        b->src[0] = src_of(m, i, "exp_probs_b.bias", X, 0.0f, 0.1f, false);
        if (m->fused_exps) {
            mk_tensor *t = add(m, i, "ffn_gate_up_exps.weight", 3, E, 2 * F, X);
            if (!t) { return false; }
            t->map = MK_MAP_GATE_UP;
            t->part = F;
            t->src[0] = src_of(m, i, "ffn_gate_exps.weight", E, 0.0f, SIG_W, true);
            t->src[1] = src_of(m, i, "ffn_up_exps.weight", E, 0.0f, SIG_W, true);
        } else {
            ok = ok && weight(m, i, "ffn_gate_exps.weight", 3, E, F, X, SIG_W);
            ok = ok && weight(m, i, "ffn_up_exps.weight", 3, E, F, X, SIG_W);
        }
        ok = ok && weight(m, i, "ffn_down_exps.weight", 3, F, E, X, SIG_W);
        ok = ok && weight(m, i, "ffn_gate_shexp.weight", 2, E, F * S, 1, SIG_W);
        ok = ok && weight(m, i, "ffn_up_shexp.weight", 2, E, F * S, 1, SIG_W);
        ok = ok && weight(m, i, "ffn_down_shexp.weight", 2, F * S, E, 1, SIG_W);
    }
    return ok;
}

// --- type policy (src/llama-quant.cpp llama_tensor_get_type_impl, for the ftypes above) --------
typedef enum cat {
    CAT_TOKEN_EMBD, CAT_ATTN_Q, CAT_ATTN_V, CAT_ATTN_K, CAT_ATTN_QKV, CAT_ATTN_KV_B,
    CAT_ATTN_OUTPUT, CAT_FFN_UP, CAT_FFN_GATE, CAT_FFN_DOWN, CAT_OUTPUT, CAT_OTHER,
} cat;

static cat category(const char *name)
{
    if (strcmp(name, "output.weight") == 0) { return CAT_OUTPUT; }
    if (strcmp(name, "token_embd.weight") == 0) { return CAT_TOKEN_EMBD; }
    if (strstr(name, "attn_qkv.weight")) { return CAT_ATTN_QKV; }
    if (strstr(name, "attn_kv_b.weight")) { return CAT_ATTN_KV_B; }
    if (strstr(name, "attn_v.weight")) { return CAT_ATTN_V; }
    if (strstr(name, "attn_k.weight")) { return CAT_ATTN_K; }
    if (strstr(name, "attn_q.weight")) { return CAT_ATTN_Q; }
    if (strstr(name, "attn_output.weight")) { return CAT_ATTN_OUTPUT; }
    if (strstr(name, "ffn_up")) { return CAT_FFN_UP; }
    if (strstr(name, "ffn_gate")) { return CAT_FFN_GATE; }
    if (strstr(name, "ffn_down")) { return CAT_FFN_DOWN; }
    return CAT_OTHER;
}

static bool is_attn_v(cat c) { return c == CAT_ATTN_V || c == CAT_ATTN_QKV || c == CAT_ATTN_KV_B; }

static bool quantizable(const mk_tensor *t)
{
    size_t n = strlen(t->name);
    if (t->n_dims < 2) { return false; }
    if (n < 6 || strcmp(t->name + n - 6, "weight") != 0) { return false; }
    if (strstr(t->name, "_norm.weight")) { return false; }
    if (strstr(t->name, "ffn_gate_inp.weight")) { return false; }
    return true;
}

static bool is_quant(int type)
{
    return type != WICK_DTYPE_F32 && type != WICK_DTYPE_F16 && type != WICK_DTYPE_BF16;
}

static int64_t block_elems(int type)
{
    switch (type) {
    case WICK_DTYPE_F32:
    case WICK_DTYPE_F16:
    case WICK_DTYPE_BF16: return 1;
    case WICK_DTYPE_Q4_0:
    case WICK_DTYPE_Q4_1:
    case WICK_DTYPE_Q5_0:
    case WICK_DTYPE_Q5_1:
    case WICK_DTYPE_Q8_0: return 32;
    default: return 256;
    }
}

static bool use_more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

typedef struct policy_state {
    int n_attn_v, i_attn_v;
} policy_state;

static int pick_type(const mk_model *m, const mk_tensor *t, policy_state *qs)
{
    const mk_hparams *hp = &m->hp;
    int ft = m->ft->ftype, type = m->ft->base;
    if (!quantizable(t)) { return WICK_DTYPE_F32; }
    if (!is_quant(type)) { return type; }
    cat c = category(t->name);
    int n_expert = hp->n_expert;
    int64_t n_gqa = hp->n_head_kv ? hp->n_head / hp->n_head_kv : 1;
    int n_layer = (int)hp->n_layer;
    if (c == CAT_OUTPUT || (hp->tied && c == CAT_TOKEN_EMBD)) {
        if (t->ne[0] % block_elems(type) != 0) {
            type = WICK_DTYPE_Q8_0;
        } else if (type != WICK_DTYPE_Q8_0) {
            type = WICK_DTYPE_Q6_K;
        }
    } else if (c == CAT_TOKEN_EMBD) {
        // default type
    } else if (is_attn_v(c)) {
        if (ft == FT_Q2_K) {
            type = n_gqa >= 4 ? WICK_DTYPE_Q4_K : WICK_DTYPE_Q3_K;
        } else if (ft == FT_Q3_K_M) {
            type = qs->i_attn_v < 2 ? WICK_DTYPE_Q5_K : WICK_DTYPE_Q4_K;
        } else if (ft == FT_Q3_K_L) {
            type = WICK_DTYPE_Q5_K;
        } else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) &&
                   use_more_bits(qs->i_attn_v, qs->n_attn_v)) {
            type = WICK_DTYPE_Q6_K;
        } else if (ft == FT_Q4_K_S && qs->i_attn_v < 4) {
            type = WICK_DTYPE_Q5_K;
        }
        if (n_expert == 8) { type = WICK_DTYPE_Q8_0; }
        qs->i_attn_v++;
    } else if (c == CAT_ATTN_K) {
        if (n_expert == 8) { type = WICK_DTYPE_Q8_0; }
    } else if (c == CAT_FFN_DOWN) {
        // one ffn_down per layer in our models, so the counter llama.cpp uses is the layer
        int i = t->layer;
        if (ft == FT_Q2_K) {
            type = WICK_DTYPE_Q3_K;
        } else if (ft == FT_Q3_K_M) {
            type = i < n_layer / 16 ? WICK_DTYPE_Q5_K : WICK_DTYPE_Q4_K; // arch != FALCON
        } else if (ft == FT_Q3_K_L) {
            type = WICK_DTYPE_Q5_K;
        } else if (ft == FT_Q4_K_M) {
            if (use_more_bits(i, n_layer)) { type = WICK_DTYPE_Q6_K; }
        } else if (ft == FT_Q5_K_M && use_more_bits(i, n_layer)) {
            type = WICK_DTYPE_Q6_K;
        } else if (ft == FT_Q4_K_S && i < n_layer / 8) {
            type = WICK_DTYPE_Q5_K;
        }
    } else if (c == CAT_ATTN_OUTPUT) {
        if (n_expert == 8) {
            if (ft == FT_Q2_K || ft == FT_Q3_K_S || ft == FT_Q3_K_M || ft == FT_Q4_K_S ||
                ft == FT_Q4_K_M) {
                type = WICK_DTYPE_Q5_K;
            }
        } else {
            if (ft == FT_Q2_K) {
                type = WICK_DTYPE_Q3_K;
            } else if (ft == FT_Q3_K_M) {
                type = WICK_DTYPE_Q4_K;
            } else if (ft == FT_Q3_K_L) {
                type = WICK_DTYPE_Q5_K;
            }
        }
    }
    // shape fallback (tensor_type_fallback): a row length the block does not divide
    if (t->ne[0] % block_elems(type) != 0) {
        switch (type) {
        case WICK_DTYPE_Q2_K:
        case WICK_DTYPE_Q3_K: type = WICK_DTYPE_Q4_0; break;
        case WICK_DTYPE_Q4_K: type = WICK_DTYPE_Q5_0; break;
        case WICK_DTYPE_Q5_K: type = WICK_DTYPE_Q5_1; break;
        case WICK_DTYPE_Q6_K: type = WICK_DTYPE_Q8_0; break;
        default: break;
        }
        if (t->ne[0] % block_elems(type) != 0) { type = WICK_DTYPE_F16; }
    }
    return type;
}

// llama-quantize's output order (llama_model_loader's weight_name_comparer): layer number first
// (tensors outside blk.N first), then name.
static int cmp_tensor(const void *pa, const void *pb)
{
    const mk_tensor *a = pa, *b = pb;
    if (a->layer != b->layer) { return a->layer < b->layer ? -1 : 1; }
    return strcmp(a->name, b->name);
}

const char *mk_build_tensors(mk_model *m)
{
    bool ok = false;
    switch (m->hp.arch) {
    case MK_LLAMA: ok = build_llama(m); break;
    case MK_PHI3: ok = build_phi3(m); break;
    case MK_DEEPSEEK2: ok = build_deepseek2(m); break;
    }
    if (!ok) { return "out of memory"; }
    if (m->ft->base != WICK_DTYPE_F32) {
        // like the fixtures: F32 files as the HF converter writes them, every other type as
        // llama-quantize (from the F32 file) writes it, in its sorted order
        qsort(m->t, (size_t)m->n_t, sizeof *m->t, cmp_tensor);
    }
    policy_state qs = {0, 0};
    for (int i = 0; i < m->n_t; i++) {
        if (quantizable(&m->t[i]) && is_attn_v(category(m->t[i].name))) { qs.n_attn_v++; }
    }
    for (int i = 0; i < m->n_t; i++) {
        mk_tensor *t = &m->t[i];
        t->type = pick_type(m, t, &qs);
        if (t->map == MK_MAP_KV_B && is_quant(t->type)) {
            return "--kv-b writes F32, F16 or BF16 files only (k_b's rows are kv_b's columns)";
        }
    }
    return NULL;
}
