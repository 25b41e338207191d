// model.c — opening a model: the GGUF file, the hyperparameters common to every arch (read from
// "<arch>.<key>"), the arch table, tensor binding with shape checks, the public model getters.
#include <math.h>
#include <stdio.h>

#include "gguf/gguf.h"
#include "model/model.h"

static const wk_arch *const archs[] = {&wk_arch_llama, &wk_arch_phi3, &wk_arch_deepseek2};

// --- keys ----------------------------------------------------------------------------------------

static int64_t find_key(wk_model *m, const char *suffix, char *key, size_t key_size)
{
    snprintf(key, key_size, "%s.%s", m->arch->name, suffix);
    return wick_gguf_find_kv(m->gguf, key);
}

// An integer key, or an array of per-layer integers that must all be equal.
wick_status wk_model_key_int(wk_model *m, const char *suffix, int64_t *out, int64_t dflt,
                             bool required)
{
    char key[256];
    int64_t i = find_key(m, suffix, key, sizeof key);
    if (i < 0) {
        if (required) { return wk_fail(WICK_E_FORMAT, "%s: missing key '%s'", m->path, key); }
        *out = dflt;
        return WICK_OK;
    }
    const wick_gguf_value *v = wick_gguf_kv_value(m->gguf, i);
    if (wick_gguf_value_type(v) == WICK_GGUF_ARRAY) {
        uint64_t n = wick_gguf_array_len(v);
        if (n == 0) { return wk_fail(WICK_E_FORMAT, "%s: key '%s': empty array", m->path, key); }
        int64_t first = 0;
        for (uint64_t k = 0; k < n; k++) {
            int64_t x;
            if (wick_gguf_value_int(wick_gguf_array_at(v, k), &x) < 0) {
                return wk_fail(WICK_E_FORMAT, "%s: key '%s': element %llu is not an integer",
                               m->path, key, (unsigned long long)k);
            }
            if (k == 0) {
                first = x;
            } else if (x != first) {
                return wk_fail(WICK_E_UNSUPPORTED,
                               "%s: key '%s': per-layer values differ (%lld, %lld); not supported",
                               m->path, key, (long long)first, (long long)x);
            }
        }
        *out = first;
        return WICK_OK;
    }
    if (wick_gguf_value_int(v, out) < 0) {
        return wk_fail(WICK_E_FORMAT, "%s: key '%s': expected an integer, found %s", m->path, key,
                       wick_gguf_type_name(wick_gguf_value_type(v)));
    }
    return WICK_OK;
}

wick_status wk_model_key_float(wk_model *m, const char *suffix, float *out, float dflt)
{
    char key[256];
    int64_t i = find_key(m, suffix, key, sizeof key);
    if (i < 0) {
        *out = dflt;
        return WICK_OK;
    }
    const wick_gguf_value *v = wick_gguf_kv_value(m->gguf, i);
    double d;
    if (wick_gguf_value_float(v, &d) < 0) {
        int64_t x;
        if (wick_gguf_value_int(v, &x) < 0) {
            return wk_fail(WICK_E_FORMAT, "%s: key '%s': expected a number, found %s", m->path, key,
                           wick_gguf_type_name(wick_gguf_value_type(v)));
        }
        d = (double)x;
    }
    *out = (float)d;
    return WICK_OK;
}

static bool key_str(wk_model *m, const char *suffix, const char **s)
{
    char key[256];
    int64_t i = find_key(m, suffix, key, sizeof key);
    size_t len;
    return i >= 0 && wick_gguf_value_str(wick_gguf_kv_value(m->gguf, i), s, &len) >= 0;
}

static wick_status positive(wk_model *m, const char *what, int64_t v, int64_t max)
{
    if (v < 1 || v > max) {
        return wk_fail(WICK_E_FORMAT, "%s: %s.%s = %lld, expected 1 .. %lld", m->path,
                       m->arch->name, what, (long long)v, (long long)max);
    }
    return WICK_OK;
}

// The hyperparameters every arch shares (the GGUF spec's "<arch>." keys: ggml docs/gguf.md).
static wick_status load_common_hparams(wk_model *m)
{
    wk_hparams *hp = &m->hp;
    wick_status rc;
    if ((rc = wk_model_key_int(m, "context_length", &hp->n_ctx_train, 0, true)) < 0) { return rc; }
    if ((rc = wk_model_key_int(m, "embedding_length", &hp->n_embd, 0, true)) < 0) { return rc; }
    if ((rc = wk_model_key_int(m, "block_count", &hp->n_layer, 0, true)) < 0) { return rc; }
    if ((rc = wk_model_key_int(m, "feed_forward_length", &hp->n_ff, 0, false)) < 0) { return rc; }
    if ((rc = wk_model_key_int(m, "attention.head_count", &hp->n_head, 0, true)) < 0) { return rc; }
    if ((rc = positive(m, "context_length", hp->n_ctx_train, INT64_C(1) << 40)) < 0) { return rc; }
    if ((rc = positive(m, "embedding_length", hp->n_embd, INT64_C(1) << 20)) < 0) { return rc; }
    if ((rc = positive(m, "block_count", hp->n_layer, 100000)) < 0) { return rc; }
    if ((rc = positive(m, "attention.head_count", hp->n_head, 1 << 16)) < 0) { return rc; }
    if (hp->n_ff < 0 || hp->n_ff > (INT64_C(1) << 24)) {
        return wk_fail(WICK_E_FORMAT, "%s: %s.feed_forward_length = %lld is out of range", m->path,
                       m->arch->name, (long long)hp->n_ff);
    }
    rc = wk_model_key_int(m, "attention.head_count_kv", &hp->n_head_kv, hp->n_head, false);
    if (rc < 0) { return rc; }
    if ((rc = positive(m, "attention.head_count_kv", hp->n_head_kv, hp->n_head)) < 0) { return rc; }
    if (hp->n_head % hp->n_head_kv != 0) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: attention.head_count %lld is not a multiple of "
                       "attention.head_count_kv %lld",
                       m->path, (long long)hp->n_head, (long long)hp->n_head_kv);
    }
    char key[256];
    if (find_key(m, "attention.key_length", key, sizeof key) < 0 && hp->n_embd % hp->n_head != 0) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: embedding_length %lld is not a multiple of attention.head_count %lld",
                       m->path, (long long)hp->n_embd, (long long)hp->n_head);
    }
    rc = wk_model_key_int(m, "attention.key_length", &hp->head_dim_k, hp->n_embd / hp->n_head,
                          false);
    if (rc < 0) { return rc; }
    rc = wk_model_key_int(m, "attention.value_length", &hp->head_dim_v, hp->head_dim_k, false);
    if (rc < 0) { return rc; }
    if ((rc = positive(m, "attention.key_length", hp->head_dim_k, 1 << 16)) < 0) { return rc; }
    if ((rc = positive(m, "attention.value_length", hp->head_dim_v, 1 << 16)) < 0) { return rc; }
    rc = wk_model_key_int(m, "rope.dimension_count", &hp->n_rot, hp->head_dim_k, false);
    if (rc < 0) { return rc; }
    if (hp->n_rot < 0 || hp->n_rot % 2 != 0 || hp->n_rot > hp->head_dim_k) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: rope.dimension_count %lld: expected an even number <= %lld", m->path,
                       (long long)hp->n_rot, (long long)hp->head_dim_k);
    }
    rc = wk_model_key_float(m, "attention.layer_norm_rms_epsilon", &hp->rms_eps, 1e-5f);
    if (rc < 0) { return rc; }
    if ((rc = wk_model_key_float(m, "rope.freq_base", &hp->rope_base, 10000.0f)) < 0) { return rc; }
    if (!(hp->rope_base > 0)) {
        return wk_fail(WICK_E_FORMAT, "%s: rope.freq_base must be positive", m->path);
    }
    // RoPE scaling: type (default linear), factor -> freq_scale = 1 / factor.
    hp->rope_scaling = WK_ROPE_SCALING_LINEAR;
    const char *st;
    if (key_str(m, "rope.scaling.type", &st)) {
        if (strcmp(st, "none") == 0) {
            hp->rope_scaling = WK_ROPE_SCALING_NONE;
        } else if (strcmp(st, "linear") == 0) {
            hp->rope_scaling = WK_ROPE_SCALING_LINEAR;
        } else if (strcmp(st, "yarn") == 0) {
            hp->rope_scaling = WK_ROPE_SCALING_YARN;
        } else if (strcmp(st, "longrope") == 0) {
            hp->rope_scaling = WK_ROPE_SCALING_LONGROPE;
        } else {
            return wk_fail(WICK_E_UNSUPPORTED, "%s: rope.scaling.type '%s' is not supported",
                           m->path, st);
        }
    }
    float factor;
    if ((rc = wk_model_key_float(m, "rope.scaling.factor", &factor, 0.0f)) < 0) { return rc; }
    if (factor == 0.0f) {
        if ((rc = wk_model_key_float(m, "rope.scale_linear", &factor, 0.0f)) < 0) { return rc; }
    }
    hp->rope_freq_scale =
        factor > 0.0f && hp->rope_scaling != WK_ROPE_SCALING_NONE ? 1.0f / factor : 1.0f;
    hp->rope_attn_factor = 1.0f;
    hp->yarn_ext_factor = 0.0f;
    hp->yarn_beta_fast = 32.0f;
    hp->yarn_beta_slow = 1.0f;
    rc = wk_model_key_int(m, "rope.scaling.original_context_length", &hp->n_ctx_orig,
                          hp->n_ctx_train, false);
    if (rc < 0) { return rc; }
    if (hp->n_ctx_orig < 1) { hp->n_ctx_orig = hp->n_ctx_train; }
    return WICK_OK;
}

// --- tensors -------------------------------------------------------------------------------------

wick_status wk_model_bind(wk_model *m, wk_tensor *t, const char *name, int n_dims,
                          const int64_t *ne, bool optional)
{
    memset(t, 0, sizeof *t);
    int64_t i = wick_gguf_find_tensor(m->gguf, name);
    if (i < 0) {
        if (optional) { return WICK_OK; }
        return wk_fail(WICK_E_FORMAT, "%s: missing tensor '%s'", m->path, name);
    }
    wick_tensor_info ti;
    wick_status rc = wick_gguf_tensor(m->gguf, i, &ti);
    if (rc < 0) { return rc; }
    bool ok = true;
    for (int d = 0; d < 4; d++) {
        int64_t want = d < n_dims ? ne[d] : 1;
        if (ti.ne[d] != want) { ok = false; }
    }
    if (!ok) {
        char got[96], want[96];
        snprintf(got, sizeof got, "[%lld, %lld, %lld, %lld]", (long long)ti.ne[0],
                 (long long)ti.ne[1], (long long)ti.ne[2], (long long)ti.ne[3]);
        snprintf(want, sizeof want, "[%lld, %lld, %lld, %lld]", (long long)ne[0],
                 (long long)(n_dims > 1 ? ne[1] : 1), (long long)(n_dims > 2 ? ne[2] : 1),
                 (long long)(n_dims > 3 ? ne[3] : 1));
        return wk_fail(WICK_E_FORMAT, "%s: tensor '%s': shape %s, expected %s", m->path, name, got,
                       want);
    }
    const wk_type_traits *tt = wk_type(ti.type);
    const wk_kernels *k = wk_kernels_get();
    if (!tt || !tt->supported || !k->vec_dot[ti.type] || !k->to_float[ti.type] ||
        tt->vec_dot_type < 0 || !k->from_float[tt->vec_dot_type]) {
        const char *tn = wick_dtype_name(ti.type);
        return wk_fail(WICK_E_UNSUPPORTED, "%s: tensor '%s': type %s is not supported", m->path,
                       name, tn ? tn : "unknown");
    }
    t->name = ti.name;
    t->type = ti.type;
    t->n_dims = ti.n_dims;
    memcpy(t->ne, ti.ne, sizeof t->ne);
    t->data = ti.data;
    t->n_rows = ti.ne[1] * ti.ne[2] * ti.ne[3];
    rc = wk_row_bytes(ti.type, ti.ne[0], &t->row_bytes);
    if (rc < 0) { return wk_fail_prefix(rc, "%s: tensor '%s'", m->path, name); }
    m->bound[i] = true;
    return WICK_OK;
}

wick_status wk_model_bind_layer(wk_model *m, wk_tensor *t, int il, const char *fmt, int n_dims,
                                const int64_t *ne, bool optional)
{
    char name[256];
    snprintf(name, sizeof name, fmt, il);
    return wk_model_bind(m, t, name, n_dims, ne, optional);
}

// --- public --------------------------------------------------------------------------------------

void wick_model_opts_init(wick_model_opts *o)
{
    memset(o, 0, sizeof *o);
    o->repack = true;
}

wick_status wick_model_open(const char *path, const wick_model_opts *o, wick_model **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_model_open: out is NULL"); }
    *out = NULL;
    if (!path) { return wk_fail(WICK_E_INVALID, "wick_model_open: path is NULL"); }
    wick_status rc;
    wk_model *m = wk_calloc(1, sizeof *m);
    if (!m) { return wk_fail_nomem("model"); }
    m->path = wk_strdup(path);
    if (!m->path) {
        rc = wk_fail_nomem("model path");
        goto fail;
    }
    if ((rc = wick_gguf_open(path, &m->gguf)) < 0) { goto fail; }

    const char *arch;
    size_t len;
    if (wick_gguf_find_kv(m->gguf, "general.architecture") < 0) {
        rc = wk_fail(WICK_E_FORMAT, "%s: missing key 'general.architecture'", path);
        goto fail;
    }
    if ((rc = wick_gguf_get_str(m->gguf, "general.architecture", &arch, &len)) < 0) { goto fail; }
    for (size_t i = 0; i < WK_ARRAY_LEN(archs); i++) {
        if (strcmp(archs[i]->name, arch) == 0) { m->arch = archs[i]; }
    }
    if (!m->arch) {
        rc = wk_fail(WICK_E_UNSUPPORTED,
                     "%s: architecture '%s' is not supported (known: llama, phi3, deepseek2)", path,
                     arch);
        goto fail;
    }

    int64_t n_tensors = wick_gguf_n_tensors(m->gguf);
    m->bound = wk_calloc(n_tensors > 0 ? (size_t)n_tensors : 1, sizeof(bool));
    if (!m->bound) {
        rc = wk_fail_nomem("model tensor table");
        goto fail;
    }
    if ((rc = load_common_hparams(m)) < 0) { goto fail; }
    if ((rc = m->arch->load(m)) < 0) { goto fail; }

    // Every tensor of the file must be one the arch uses (as llama.cpp's loader insists).
    for (int64_t i = 0; i < n_tensors; i++) {
        wick_tensor_info ti;
        if ((rc = wick_gguf_tensor(m->gguf, i, &ti)) < 0) { goto fail; }
        if (!m->bound[i]) {
            rc = wk_fail(WICK_E_FORMAT, "%s: unexpected tensor '%s' for architecture %s", path,
                         ti.name, m->arch->name);
            goto fail;
        }
        m->weight_bytes += ti.bytes;
    }
    m->repack = (!o || o->repack) && wk_repack_env_enabled();
    if (m->repack && !wk_repack_deferred() && (rc = wk_model_repack_some(m, NULL, NULL)) < 0) {
        goto fail;
    }
    *out = m;
    return WICK_OK;

fail:
    wick_model_close(m);
    return rc;
}

void wick_model_close(wick_model *m)
{
    if (!m) { return; }
    if (m->arch && m->arch->unload) { m->arch->unload(m); }
    wk_model_repack_free(m);
    wick_gguf_close(m->gguf);
    wk_free(m->bound);
    wk_free(m->path);
    wk_free(m);
}

const char *wick_model_arch(const wick_model *m)
{
    return m->arch->name;
}
int32_t wick_model_n_vocab(const wick_model *m)
{
    return (int32_t)m->hp.n_vocab;
}
int64_t wick_model_n_ctx_train(const wick_model *m)
{
    return m->hp.n_ctx_train;
}
int64_t wick_model_n_embd(const wick_model *m)
{
    return m->hp.n_embd;
}
int64_t wick_model_n_layer(const wick_model *m)
{
    return m->hp.n_layer;
}
const wick_gguf *wick_model_gguf(const wick_model *m)
{
    return m->gguf;
}
size_t wick_model_weight_bytes(const wick_model *m)
{
    return m->weight_bytes;
}

size_t wick_model_kv_bytes_per_token(const wick_model *m, wick_kv_type type)
{
    wk_arch_needs needs;
    m->arch->needs(m, &needs);
    size_t elt = type == WICK_KV_F16 ? 2 : 4;
    return (size_t)(needs.kv_k_row + needs.kv_v_row) * elt * (size_t)m->hp.n_layer;
}
