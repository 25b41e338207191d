// llama.c — the dense transformer of the llama family, also run by Phi-4 (arch phi3: phi3.c binds
// its fused tensors and reuses everything here): llama.cpp's llm_build_llama (src/llama-model.cpp).
//
// Per layer, for the T tokens of a pass (rows of x):
//   h = RMSNorm(x) * attn_norm
//   q, k, v = W_q h, W_k h, W_v h   (+ biases)     phi3: one fused W_qkv, rows Q | K | V
//   q, k = RoPE(q), RoPE(k)                         llama: NORM pairs; phi3: NEOX halves
//   phi3: q *= 1/sqrt(head_dim), kq_scale = 1;      llama: kq_scale = 1/sqrt(head_dim)
//   cache k, v at their positions; a = Attention(q, K cache, V cache)
//   x += W_o a
//   h = RMSNorm(x) * ffn_norm
//   g, u = W_gate h, W_up h                         phi3: one fused W_up, rows gate | up
//   x += W_down (silu(g) * u)
// logits = W_out (RMSNorm(x) * output_norm)          W_out = token_embd when output is absent
#include <math.h>

#include "model/dense.h"

// Scratch for n_batch tokens; every pass reuses it.
typedef struct dense_state {
    int64_t q_dim, kv_dim, qkv_stride; // n_head * head_dim, n_head_kv * head_dim, q + 2 kv
    float *x; // [B][n_embd] the residual stream
    float *h; // [B][n_embd] normed input of a block
    float *y; // [B][n_embd] output of W_o / W_down before the residual add
    float *qkv; // [B][qkv_stride] q | k | v per token
    float *att; // [B][n_head * head_dim_v]
    float *gu; // [B][2 n_ff] gate | up per token
    float *act; // [B][n_ff] silu(gate) * up
    float *cs; // [B][n_rot] RoPE cos/sin per token
    int *tok_seq; // [B] each token's sequence and position
    int64_t *tok_pos;
    float *attn_scratch;
    int64_t attn_scratch_per_thread;
    wk_rope rope;
    void *mem;
} dense_state;

// --- loading -------------------------------------------------------------------------------------

wick_status wk_dense_alloc(wk_model *m)
{
    wk_dense_model *dm = wk_calloc(1, sizeof *dm);
    if (!dm) { return wk_fail_nomem("model layers"); }
    m->arch_data = dm;
    dm->layers = wk_calloc((size_t)m->hp.n_layer, sizeof(wk_dense_layer));
    if (!dm->layers) { return wk_fail_nomem("model layers"); }
    return WICK_OK;
}

void wk_dense_unload(wk_model *m)
{
    wk_dense_model *dm = m->arch_data;
    if (!dm) { return; }
    wk_free(dm->layers);
    wk_free(dm);
    m->arch_data = NULL;
}

wick_status wk_dense_bind_norm(wk_model *m, wk_tensor *t, int il, const char *fmt)
{
    const int64_t ne[1] = {m->hp.n_embd};
    wick_status rc = il < 0 ? wk_model_bind(m, t, fmt, 1, ne, false)
                            : wk_model_bind_layer(m, t, il, fmt, 1, ne, false);
    if (rc < 0) { return rc; }
    if (t->type != WICK_DTYPE_F32) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: tensor '%s': type %s, expected F32", m->path,
                       t->name, wick_dtype_name(t->type));
    }
    return WICK_OK;
}

wick_status wk_dense_bind_bias(wk_model *m, wk_tensor *t, int il, const char *fmt, int64_t n)
{
    const int64_t ne[1] = {n};
    wick_status rc = wk_model_bind_layer(m, t, il, fmt, 1, ne, true);
    if (rc < 0) { return rc; }
    if (t->data && t->type != WICK_DTYPE_F32) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: tensor '%s': type %s, expected F32", m->path,
                       t->name, wick_dtype_name(t->type));
    }
    return WICK_OK;
}

// token_embd, output_norm, output (tied to token_embd when absent), rope_freqs.
wick_status wk_dense_bind_globals(wk_model *m)
{
    wk_hparams *hp = &m->hp;
    int64_t i = wick_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (i < 0) { return wk_fail(WICK_E_FORMAT, "%s: missing tensor 'token_embd.weight'", m->path); }
    wick_tensor_info ti;
    wick_status rc = wick_gguf_tensor(m->gguf, i, &ti);
    if (rc < 0) { return rc; }
    hp->n_vocab = ti.ne[1];
    if (hp->n_vocab < 1 || hp->n_vocab > INT32_MAX) {
        return wk_fail(WICK_E_FORMAT, "%s: tensor 'token_embd.weight': %lld tokens", m->path,
                       (long long)hp->n_vocab);
    }
    const int64_t ne[2] = {hp->n_embd, hp->n_vocab};
    if ((rc = wk_model_bind(m, &m->tok_embd, "token_embd.weight", 2, ne, false)) < 0) { return rc; }
    if ((rc = wk_dense_bind_norm(m, &m->output_norm, -1, "output_norm.weight")) < 0) { return rc; }
    if ((rc = wk_model_bind(m, &m->output, "output.weight", 2, ne, true)) < 0) { return rc; }
    if (!m->output.data) { m->output = m->tok_embd; }
    const int64_t nf[1] = {hp->n_rot / 2};
    if ((rc = wk_model_bind(m, &m->rope_freqs, "rope_freqs.weight", 1, nf, true)) < 0) {
        return rc;
    }
    const int64_t nb[1] = {hp->n_vocab};
    if ((rc = wk_model_bind(m, &m->output_b, "output.bias", 1, nb, true)) < 0) { return rc; }
    if (m->output_b.data && m->output_b.type != WICK_DTYPE_F32) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: tensor 'output.bias': type %s, expected F32",
                       m->path, wick_dtype_name(m->output_b.type));
    }
    if (m->rope_freqs.data && m->rope_freqs.type != WICK_DTYPE_F32) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: tensor 'rope_freqs.weight': type %s, expected F32",
                       m->path, wick_dtype_name(m->rope_freqs.type));
    }
    return WICK_OK;
}

static wick_status load_llama(wk_model *m)
{
    wk_hparams *hp = &m->hp;
    wick_status rc;
    if (hp->n_ff < 1) {
        return wk_fail(WICK_E_FORMAT, "%s: missing key 'llama.feed_forward_length'", m->path);
    }
    if (hp->n_rot != hp->head_dim_k) {
        return wk_fail(WICK_E_FORMAT, "%s: llama.rope.dimension_count %lld != head dim %lld",
                       m->path, (long long)hp->n_rot, (long long)hp->head_dim_k);
    }
    float scale;
    if ((rc = wk_model_key_float(m, "attention.scale", &scale, 0.0f)) < 0) { return rc; }
    hp->kq_scale = scale != 0.0f ? scale : 1.0f / sqrtf((float)hp->head_dim_k);
    hp->rope_mode = WK_ROPE_NORM;
    if ((rc = wk_dense_alloc(m)) < 0) { return rc; }
    wk_dense_layer *layers = ((wk_dense_model *)m->arch_data)->layers;
    if ((rc = wk_dense_bind_globals(m)) < 0) { return rc; }
    const int64_t e = hp->n_embd, q = hp->n_head * hp->head_dim_k,
                  kv = hp->n_head_kv * hp->head_dim_k, vd = hp->n_head_kv * hp->head_dim_v,
                  o = hp->n_head * hp->head_dim_v, f = hp->n_ff;
    for (int il = 0; il < hp->n_layer; il++) {
        wk_dense_layer *L = &layers[il];
        const int64_t s_q[2] = {e, q}, s_k[2] = {e, kv}, s_v[2] = {e, vd}, s_o[2] = {o, e};
        const int64_t s_up[2] = {e, f}, s_down[2] = {f, e};
        if ((rc = wk_dense_bind_norm(m, &L->attn_norm, il, "blk.%d.attn_norm.weight")) < 0) {
            return rc;
        }
        if ((rc = wk_model_bind_layer(m, &L->wq, il, "blk.%d.attn_q.weight", 2, s_q, false)) < 0 ||
            (rc = wk_model_bind_layer(m, &L->wk, il, "blk.%d.attn_k.weight", 2, s_k, false)) < 0 ||
            (rc = wk_model_bind_layer(m, &L->wv, il, "blk.%d.attn_v.weight", 2, s_v, false)) < 0 ||
            (rc = wk_model_bind_layer(m, &L->wo, il, "blk.%d.attn_output.weight", 2, s_o, false)) <
                0) {
            return rc;
        }
        if ((rc = wk_dense_bind_bias(m, &L->bq, il, "blk.%d.attn_q.bias", q)) < 0 ||
            (rc = wk_dense_bind_bias(m, &L->bk, il, "blk.%d.attn_k.bias", kv)) < 0 ||
            (rc = wk_dense_bind_bias(m, &L->bv, il, "blk.%d.attn_v.bias", vd)) < 0 ||
            (rc = wk_dense_bind_bias(m, &L->bo, il, "blk.%d.attn_output.bias", e)) < 0) {
            return rc;
        }
        if ((rc = wk_dense_bind_norm(m, &L->ffn_norm, il, "blk.%d.ffn_norm.weight")) < 0) {
            return rc;
        }
        if ((rc = wk_model_bind_layer(m, &L->ffn_gate, il, "blk.%d.ffn_gate.weight", 2, s_up,
                                      false)) < 0 ||
            (rc = wk_model_bind_layer(m, &L->ffn_up, il, "blk.%d.ffn_up.weight", 2, s_up, false)) <
                0 ||
            (rc = wk_model_bind_layer(m, &L->ffn_down, il, "blk.%d.ffn_down.weight", 2, s_down,
                                      false)) < 0) {
            return rc;
        }
    }
    return WICK_OK;
}

void wk_dense_needs(const wk_model *m, wk_arch_needs *out)
{
    const wk_hparams *hp = &m->hp;
    out->kv_k_row = hp->n_head_kv * hp->head_dim_k;
    out->kv_v_row = hp->n_head_kv * hp->head_dim_v;
    // matmul inputs: n_embd (Q, K, V, gate, up, output), n_ff (down), the attention output (O)
    out->mm_max_k = WK_MAX(WK_MAX(hp->n_embd, hp->n_ff), hp->n_head * hp->head_dim_v);
    out->mm_max_k = WK_MAX(out->mm_max_k, hp->head_dim_k);
}

// --- session scratch -----------------------------------------------------------------------------

wick_status wk_dense_session_init(wk_session *s)
{
    const wk_hparams *hp = &s->m->hp;
    dense_state *st = wk_calloc(1, sizeof *st);
    if (!st) { return wk_fail_nomem("session scratch"); }
    const int64_t B = s->n_batch;
    st->q_dim = hp->n_head * hp->head_dim_k;
    st->kv_dim = hp->n_head_kv * hp->head_dim_k;
    st->qkv_stride = st->q_dim + st->kv_dim + hp->n_head_kv * hp->head_dim_v;
    st->attn_scratch_per_thread =
        wk_attn_scratch(s->n_ctx, hp->n_head / hp->n_head_kv, hp->head_dim_k, hp->head_dim_v);
    const int64_t att_dim = hp->n_head * hp->head_dim_v;
    const int64_t sizes[] = {
        B * hp->n_embd,     B * hp->n_embd, B * hp->n_embd,
        B * st->qkv_stride, B * att_dim,    B * 2 * hp->n_ff,
        B * hp->n_ff,       B * hp->n_rot,  st->attn_scratch_per_thread * s->n_threads,
        B,                  2 * B}; // tok_seq (int), tok_pos (int64_t) in 4-byte units
    float *seq_mem, *pos_mem;
    float **ptrs[] = {&st->x,  &st->h,   &st->y,  &st->qkv,          &st->att,
                      &st->gu, &st->act, &st->cs, &st->attn_scratch, &seq_mem,
                      &pos_mem};
    s->arch_state = st;
    wick_status rc =
        wk_scratch_alloc(&st->mem, ptrs, sizes, WK_ARRAY_LEN(sizes), "session scratch");
    if (rc < 0) { return rc; }
    st->tok_seq = (int *)(void *)seq_mem;
    st->tok_pos = (int64_t *)(void *)pos_mem;
    const float *ff = s->m->rope_freqs.data;
    wk_rope_init(&st->rope, hp, hp->n_rot, hp->rope_mode, ff);
    return WICK_OK;
}

void wk_dense_session_free(wk_session *s)
{
    dense_state *st = s->arch_state;
    if (!st) { return; }
    wk_free(st->mem);
    wk_free(st);
    s->arch_state = NULL;
}

// --- forward -------------------------------------------------------------------------------------

typedef struct rope_job {
    const wk_session *s;
    float q_scale;
} rope_job;

// The q heads then k heads of tokens [t0, t1), rotated with the cos/sin of their positions; phi3
// then scales q.
static void rope_rows(void *ctx, int64_t t0, int64_t t1, int ith)
{
    const rope_job *j = ctx;
    const wk_hparams *hp = &j->s->m->hp;
    dense_state *st = j->s->arch_state;
    (void)ith;
    for (int64_t t = t0; t < t1; t++) {
        float *row = st->qkv + t * st->qkv_stride;
        const float *cs = st->cs + t * hp->n_rot;
        wk_rope_apply(&st->rope, cs, row, hp->n_head, hp->head_dim_k);
        wk_rope_apply(&st->rope, cs, row + st->q_dim, hp->n_head_kv, hp->head_dim_k);
        if (j->q_scale != 0.0f) { wk_vec_scale(row, st->q_dim, j->q_scale); }
    }
}

static void attention_block(wk_session *s, const wk_dense_layer *L, int il, const wk_batch *b)
{
    const wk_hparams *hp = &s->m->hp;
    dense_state *st = s->arch_state;
    wk_mm *mm = &s->mm;
    const int64_t qs = st->qkv_stride, T = b->n;

    wk_rows_norm(mm, st->h, st->x, L->attn_norm.data, T, hp->n_embd, hp->rms_eps);
    if (L->wqkv.data) {
        wk_mm_project(mm, &L->wqkv, st->h, T, st->qkv, qs, false);
        if (L->bqkv.data) { wk_add_bias(st->qkv, L->bqkv.data, T, qs, qs); }
    } else {
        wk_mm_project(mm, &L->wq, st->h, T, st->qkv, qs, false);
        wk_mm_project(mm, &L->wk, st->h, T, st->qkv + st->q_dim, qs, true);
        wk_mm_project(mm, &L->wv, st->h, T, st->qkv + st->q_dim + st->kv_dim, qs, true);
        if (L->bq.data) { wk_add_bias(st->qkv, L->bq.data, T, st->q_dim, qs); }
        if (L->bk.data) { wk_add_bias(st->qkv + st->q_dim, L->bk.data, T, st->kv_dim, qs); }
        if (L->bv.data) {
            wk_add_bias(st->qkv + st->q_dim + st->kv_dim, L->bv.data, T,
                        hp->n_head_kv * hp->head_dim_v, qs);
        }
    }
    rope_job rj = {s, wk_dense_of(s->m)->q_scale};
    wk_rows_run(mm, T, rope_rows, &rj);

    // k and v rows of this pass into the cache: each segment's at its positions
    const wk_seg one = {b->seq, b->pos0, b->n};
    const wk_seg *segs = b->segs ? b->segs : &one;
    for (int64_t i = 0, t = 0; i < (b->segs ? b->n_segs : 1); t += segs[i].n, i++) {
        const float *k = st->qkv + t * qs + st->q_dim;
        wk_kv_store(&s->kv, s->kv.k, il, segs[i].seq, segs[i].pos0, segs[i].n, s->kv.k_row, k, qs);
        wk_kv_store(&s->kv, s->kv.v, il, segs[i].seq, segs[i].pos0, segs[i].n, s->kv.v_row,
                    k + st->kv_dim, qs);
    }

    wk_attn_args a = {
        .kv = &s->kv,
        .il = il,
        .seq = b->seq,
        .pos0 = b->pos0,
        .T = T,
        .tok_seq = b->segs ? st->tok_seq : NULL,
        .tok_pos = b->segs ? st->tok_pos : NULL,
        .n_head = hp->n_head,
        .n_head_kv = hp->n_head_kv,
        .head_dim_k = hp->head_dim_k,
        .head_dim_v = hp->head_dim_v,
        .kq_scale = hp->kq_scale,
        .q = st->qkv,
        .q_stride = qs,
        .out = st->att,
        .scratch = st->attn_scratch,
        .scratch_per_thread = st->attn_scratch_per_thread,
    };
    wk_attention(mm, &a);

    wk_mm_project(mm, &L->wo, st->att, T, st->y, hp->n_embd, false);
    if (L->bo.data) { wk_add_bias(st->y, L->bo.data, T, hp->n_embd, hp->n_embd); }
    wk_rows_add(mm, st->x, st->y, T, hp->n_embd);
}

static void ffn_block(wk_session *s, const wk_dense_layer *L, int64_t T)
{
    const wk_hparams *hp = &s->m->hp;
    dense_state *st = s->arch_state;
    wk_mm *mm = &s->mm;
    wk_rows_norm(mm, st->h, st->x, L->ffn_norm.data, T, hp->n_embd, hp->rms_eps);
    if (L->ffn_gate.data) {
        wk_mm_project(mm, &L->ffn_gate, st->h, T, st->gu, 2 * hp->n_ff, false);
        wk_mm_project(mm, &L->ffn_up, st->h, T, st->gu + hp->n_ff, 2 * hp->n_ff, true);
    } else {
        wk_mm_project(mm, &L->ffn_up, st->h, T, st->gu, 2 * hp->n_ff, false); // fused gate | up
    }
    wk_rows_swiglu(mm, st->act, st->gu, T, hp->n_ff);
    wk_mm_project(mm, &L->ffn_down, st->act, T, st->y, hp->n_embd, false);
    wk_rows_add(mm, st->x, st->y, T, hp->n_embd);
}

wick_status wk_dense_forward(wk_session *s, const wk_batch *b)
{
    const wk_model *m = s->m;
    const wk_hparams *hp = &m->hp;
    const wk_dense_layer *layers = wk_dense_of(m)->layers;
    dense_state *st = s->arch_state;
    const wk_kernels *kern = s->mm.kern;
    const int32_t *tokens = b->tokens;
    const int64_t T = b->n;

    int lo, hi;
    bool embed;
    wick_status rc = wk_stage_enter(s, b, st->x, &lo, &hi, &embed);
    if (rc < 0) { return rc; }
    // x[t] = token_embd[tokens[t]]
    for (int64_t t = 0; t < T && embed; t++) {
        const char *row =
            (const char *)m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes;
        kern->to_float[m->tok_embd.type](row, st->x + t * hp->n_embd, hp->n_embd);
    }
    // each token's sequence and position, and the cos/sin of its position
    const wk_seg one = {b->seq, b->pos0, T};
    const wk_seg *segs = b->segs ? b->segs : &one;
    for (int64_t i = 0, t = 0; i < (b->segs ? b->n_segs : 1); i++) {
        for (int64_t k = 0; k < segs[i].n; k++, t++) {
            st->tok_seq[t] = segs[i].seq;
            st->tok_pos[t] = segs[i].pos0 + k;
            wk_rope_cache(&st->rope, st->tok_pos[t], st->cs + t * hp->n_rot);
        }
    }

    for (int il = lo; il < hi; il++) {
        if (atomic_load_explicit(&s->cancel, memory_order_relaxed)) {
            return wk_fail(WICK_E_CANCELLED, "%s: evaluation cancelled", m->path);
        }
        attention_block(s, &layers[il], il, b);
        ffn_block(s, &layers[il], T);
    }
    if ((rc = wk_stage_leave(s, b, st->x)) != WICK_OK) { return rc < 0 ? rc : WICK_OK; }

    const int64_t n_out = wk_rows_logits(s, b, st->x, st->h, T, hp->n_embd, m->output_norm.data,
                                         hp->rms_eps, &m->output, hp->n_vocab);
    if (m->output_b.data) {
        wk_add_bias(s->logits, m->output_b.data, n_out, hp->n_vocab, hp->n_vocab);
    }
    return WICK_OK;
}

const wk_arch wk_arch_llama = {
    .name = "llama",
    .load = load_llama,
    .unload = wk_dense_unload,
    .needs = wk_dense_needs,
    .session_init = wk_dense_session_init,
    .session_free = wk_dense_session_free,
    .forward = wk_dense_forward,
    .multi_seq = true,
};
