// kv.c — the KV cache: per layer, one K and one V matrix of n_seq × n_ctx rows (one row per
// position of each sequence), float32 or fp16, allocated once when the session is created. See
// wk_kv in model.h.
#include "model/model.h"

wick_status wk_kv_init(wk_kv *kv, int type, int64_t n_layer, int64_t n_seq, int64_t n_ctx,
                       int64_t k_row, int64_t v_row)
{
    memset(kv, 0, sizeof *kv);
    if (type != WK_KV_F32 && type != WK_KV_F16) {
        return wk_fail(WICK_E_INVALID, "kv cache: unknown element type %d", type);
    }
    kv->type = type;
    kv->elt = type == WK_KV_F32 ? sizeof(float) : sizeof(uint16_t);
    kv->n_layer = n_layer;
    kv->n_seq = n_seq;
    kv->n_ctx = n_ctx;
    kv->k_row = k_row;
    kv->v_row = v_row;
    size_t per_tok, rows, per_layer, total;
    if (!wk_mul_size((size_t)(k_row + v_row), kv->elt, &per_tok) ||
        !wk_mul_size((size_t)n_seq, (size_t)n_ctx, &rows) ||
        !wk_mul_size(per_tok, rows, &per_layer) ||
        !wk_mul_size(per_layer, (size_t)n_layer, &total)) {
        return wk_fail(WICK_E_RANGE,
                       "kv cache: %lld sequences x %lld positions x %lld layers: size overflows",
                       (long long)n_seq, (long long)n_ctx, (long long)n_layer);
    }
    kv->k = wk_calloc((size_t)n_layer, sizeof(void *));
    kv->v = wk_calloc((size_t)n_layer, sizeof(void *));
    kv->mem = wk_malloc(total ? total : 1);
    if (!kv->k || !kv->v || !kv->mem) {
        wk_kv_free(kv);
        return wk_fail(WICK_E_NOMEM, "kv cache: cannot allocate %zu bytes", total);
    }
    char *p = kv->mem;
    for (int64_t il = 0; il < n_layer; il++) {
        kv->k[il] = p;
        p += rows * (size_t)k_row * kv->elt;
        kv->v[il] = p;
        p += rows * (size_t)v_row * kv->elt;
    }
    return WICK_OK;
}

void wk_kv_free(wk_kv *kv)
{
    wk_free(kv->k);
    wk_free(kv->v);
    wk_free(kv->mem);
    kv->k = kv->v = NULL;
    kv->mem = NULL;
}

void wk_kv_store(const wk_kv *kv, void *const *dst_layers, int il, int seq, int64_t pos0,
                 int64_t n, int64_t row, const float *src, int64_t src_stride)
{
    for (int64_t t = 0; t < n; t++) {
        const float *s = src + t * src_stride;
        void *d = wk_kv_row(kv, dst_layers, il, seq, pos0 + t, row);
        if (kv->type == WK_KV_F32) {
            memcpy(d, s, (size_t)row * sizeof(float));
        } else {
            uint16_t *h = d;
            for (int64_t i = 0; i < row; i++) { h[i] = wk_f32_to_fp16(s[i]); }
        }
    }
}
