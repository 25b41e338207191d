// session.c — sessions: the KV cache, the matmul driver (both sized from the arch's needs) and the
// arch's scratch, all sized at create; evaluation appends tokens in passes of at most n_batch.
#include "model/model.h"

void wick_session_opts_init(wick_session_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_batch = 512;
    o->kv_type = WICK_KV_F32;
}

wick_status wick_session_create(wick_model *m, const wick_session_opts *o, wick_session **out)
{
    return wk_session_create_seqs(m, o, 1, out);
}

wick_status wk_session_create_seqs(wk_model *m, const wick_session_opts *o, int n_seq,
                                   wk_session **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_session_create: out is NULL"); }
    *out = NULL;
    if (!m) { return wk_fail(WICK_E_INVALID, "wick_session_create: model is NULL"); }
    wick_session_opts def;
    if (!o) {
        wick_session_opts_init(&def);
        o = &def;
    }
    const wk_hparams *hp = &m->hp;
    int64_t n_ctx = o->n_ctx > 0 ? o->n_ctx : WK_MIN(hp->n_ctx_train, 8192);
    int64_t n_batch = o->n_batch > 0 ? o->n_batch : 512;
    if (o->n_ctx < 0 || n_ctx > (INT64_C(1) << 24)) {
        return wk_fail(WICK_E_INVALID, "session: n_ctx %lld is out of range", (long long)o->n_ctx);
    }
    if (o->n_batch < 0 || n_batch > (1 << 16)) {
        return wk_fail(WICK_E_INVALID, "session: n_batch %lld is out of range",
                       (long long)o->n_batch);
    }
    if (o->n_threads < 0 || o->n_threads > WK_POOL_MAX_THREADS) {
        return wk_fail(WICK_E_INVALID, "session: n_threads %d is out of range", o->n_threads);
    }
    if (n_seq < 1 || n_seq > 1024) {
        return wk_fail(WICK_E_INVALID, "session: %d sequences is out of range [1, 1024]", n_seq);
    }
    if (o->kv_type != WICK_KV_F32 && o->kv_type != WICK_KV_F16) {
        return wk_fail(WICK_E_INVALID, "session: unknown kv_type %d", (int)o->kv_type);
    }
    if (n_batch > n_ctx) { n_batch = n_ctx; }

    wick_status rc;
    wk_session *s = wk_calloc(1, sizeof *s);
    if (!s) { return wk_fail_nomem("session"); }
    atomic_init(&s->cancel, false);
    s->m = m;
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    s->n_threads = o->n_threads > 0 ? o->n_threads : wk_cpu_count();
    s->logits_all = o->logits_all;
    s->n_seq = n_seq;

    wk_pool *pool;
    if ((rc = wk_pool_global(s->n_threads, &pool)) < 0) { goto fail; }
    if (wk_pool_size(pool) < s->n_threads) { s->n_threads = wk_pool_size(pool); }

    wk_arch_needs needs;
    m->arch->needs(m, &needs);
    if ((rc = wk_kv_init(&s->kv, o->kv_type == WICK_KV_F16 ? WK_KV_F16 : WK_KV_F32, hp->n_layer,
                         n_seq, n_ctx, needs.kv_k_row, needs.kv_v_row)) < 0) {
        goto fail;
    }
    if ((rc = wk_mm_init(&s->mm, pool, s->n_threads, n_batch, needs.mm_max_k)) < 0) { goto fail; }
    size_t n_logits;
    const int64_t logit_rows = WK_MAX(s->logits_all ? n_batch : 1, n_seq);
    if (!wk_mul_size((size_t)logit_rows, (size_t)hp->n_vocab, &n_logits)) {
        rc = wk_fail(WICK_E_RANGE, "session: logits buffer overflows");
        goto fail;
    }
    s->logits = wk_malloc(n_logits * sizeof(float));
    if (!s->logits) {
        rc = wk_fail_nomem("session logits");
        goto fail;
    }
    if ((rc = m->arch->session_init(s)) < 0) { goto fail; }
    *out = s;
    return WICK_OK;

fail:
    wick_session_destroy(s);
    return rc;
}

void wick_session_destroy(wick_session *s)
{
    if (!s) { return; }
    if (s->arch_state) { s->m->arch->session_free(s); }
    wk_free(s->logits);
    wk_mm_free(&s->mm);
    wk_kv_free(&s->kv);
    wk_free(s);
}

// One forward pass with the cancel flag polled between tiles (not by a pipeline stage or expert
// parallel session, whose passes are collective): a pass cancelled part-way has skipped work, so
// whenever the flag is set at its end it is WICK_E_CANCELLED, whatever forward returned.
static wick_status forward(wk_session *s, const wk_batch *b)
{
    const bool poll = !s->stage && !s->experts;
    s->mm.cancel = poll ? &s->cancel : NULL;
    wick_status rc = s->m->arch->forward(s, b);
    s->mm.cancel = NULL;
    if (rc >= 0 && poll && atomic_load(&s->cancel)) {
        rc = wk_fail(WICK_E_CANCELLED, "%s: evaluation cancelled", s->m->path);
    }
    return rc;
}

// INVALID naming the first of tokens[0..n) outside the model's vocabulary.
static wick_status check_tokens(const wick_session *s, const int32_t *tokens, int64_t n)
{
    const int64_t n_vocab = s->m->hp.n_vocab;
    for (int64_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= n_vocab) {
            return wk_fail(WICK_E_INVALID,
                           "session eval: token %d at index %lld is outside [0, %lld)", tokens[i],
                           (long long)i, (long long)n_vocab);
        }
    }
    return WICK_OK;
}

// Tokens per pass: n_batch, or a pipeline stage's micro-batch (wk_stage) without logits_all.
static int64_t micro_step(const wk_session *s, bool logits_all)
{
    const int64_t micro = s->stage && !logits_all ? s->stage->micro : 0;
    return micro > 0 && micro < s->n_batch ? micro : s->n_batch;
}

wick_status wick_session_eval(wick_session *s, const int32_t *tokens, int64_t n)
{
    if (!s || !tokens || n < 1) { return wk_fail(WICK_E_INVALID, "session eval: no tokens"); }
    wick_status st = check_tokens(s, tokens, n);
    if (st != WICK_OK) { return st; }
    if (s->logits_all && n > s->n_batch) {
        return wk_fail(WICK_E_INVALID,
                       "session eval: %lld tokens with logits for all positions; at most n_batch "
                       "(%lld) per call",
                       (long long)n, (long long)s->n_batch);
    }
    if (n > s->n_ctx - s->n_past) {
        return wk_fail(WICK_E_RANGE, "session eval: %lld + %lld tokens exceed the context of %lld",
                       (long long)s->n_past, (long long)n, (long long)s->n_ctx);
    }
    s->n_logits = 0;
    const int64_t step = micro_step(s, s->logits_all);
    for (int64_t i = 0; i < n; i += step) {
        int64_t len = WK_MIN(step, n - i);
        const wk_batch b = {
            .tokens = tokens + i,
            .n = len,
            .pos0 = s->n_past,
            .seq = 0,
            .logits_all = s->logits_all && i + len == n,
            .more = i + len < n,
        };
        wick_status rc = forward(s, &b);
        if (rc < 0) {
            s->n_logits = 0;
            if (rc == WICK_E_CANCELLED) { atomic_store(&s->cancel, false); } // consumed
            return rc;
        }
        s->n_past += len;
    }
    s->last_n = n;
    return WICK_OK;
}

wick_status wk_session_eval_segs(wk_session *s, const int32_t *tokens, const wk_seg *segs,
                                 int n_segs)
{
    if (n_segs < 1 || n_segs > s->n_seq) {
        return wk_fail(WICK_E_INVALID, "session eval: %d segments for %d sequences", n_segs,
                       s->n_seq);
    }
    int64_t n = 0;
    for (int i = 0; i < n_segs; i++) {
        const wk_seg *g = &segs[i];
        for (int j = 0; j < i; j++) {
            if (segs[j].seq == g->seq) {
                return wk_fail(WICK_E_INVALID,
                               "session eval: segments %d and %d are both of sequence %d", j, i,
                               g->seq);
            }
        }
        if (g->seq < 0 || g->seq >= s->n_seq) {
            return wk_fail(WICK_E_INVALID,
                           "session eval: segment %d: sequence %d is outside [0, %d)", i, g->seq,
                           s->n_seq);
        }
        if (g->n < 1 || g->pos0 < 0 || g->pos0 > s->n_ctx - g->n) {
            return wk_fail(WICK_E_INVALID,
                           "session eval: segment %d: %lld tokens at position %lld do not fit "
                           "the context of %lld",
                           i, (long long)g->n, (long long)g->pos0, (long long)s->n_ctx);
        }
        n += g->n;
    }
    if (n > s->n_batch) {
        return wk_fail(WICK_E_INVALID,
                       "session eval: %lld tokens in one pass; at most n_batch (%lld)",
                       (long long)n, (long long)s->n_batch);
    }
    wick_status st = check_tokens(s, tokens, n);
    if (st != WICK_OK) { return st; }
    s->n_logits = 0;
    wick_status rc = WICK_OK;
    if (s->m->arch->multi_seq && n_segs > 1) {
        const wk_batch b = {.tokens = tokens, .n = n, .segs = segs, .n_segs = n_segs};
        rc = forward(s, &b);
    } else {
        // one pass per segment (in a pipeline stage's micro-batches), the last first: segment
        // i's logits land in row 0 and move to row i, above every row an earlier segment still
        // writes
        const int64_t n_vocab = s->m->hp.n_vocab, step = micro_step(s, false);
        for (int i = n_segs - 1; i >= 0 && rc >= 0; i--) {
            n -= segs[i].n;
            for (int64_t k = 0; k < segs[i].n && rc >= 0; k += step) {
                const int64_t len = WK_MIN(step, segs[i].n - k);
                const wk_batch b = {.tokens = tokens + n + k, .n = len, .pos0 = segs[i].pos0 + k,
                                    .seq = segs[i].seq, .more = k + len < segs[i].n};
                rc = forward(s, &b);
            }
            if (rc >= 0 && i > 0) {
                memcpy(s->logits + i * n_vocab, s->logits, (size_t)n_vocab * sizeof(float));
            }
        }
    }
    if (rc < 0) {
        s->n_logits = 0;
        if (rc == WICK_E_CANCELLED) { atomic_store(&s->cancel, false); } // consumed
        return rc;
    }
    s->n_logits = n_segs;
    return WICK_OK;
}

const float *wick_session_logits(const wick_session *s, int64_t i)
{
    if (!s || s->n_logits == 0) { return NULL; }
    if (!s->logits_all) {
        // only the last position is kept; accept its index in the last eval too
        return i == -1 || i == s->last_n - 1 ? s->logits : NULL;
    }
    if (i == -1) { i = s->n_logits - 1; }
    if (i < 0 || i >= s->n_logits) { return NULL; }
    return s->logits + i * s->m->hp.n_vocab;
}

int64_t wick_session_n_past(const wick_session *s)
{
    return s->n_past;
}
int64_t wick_session_n_ctx(const wick_session *s)
{
    return s->n_ctx;
}

wick_status wick_session_truncate(wick_session *s, int64_t n_past)
{
    if (n_past < 0 || n_past > s->n_past) {
        return wk_fail(WICK_E_INVALID, "session truncate: %lld is outside [0, %lld]",
                       (long long)n_past, (long long)s->n_past);
    }
    s->n_past = n_past;
    s->n_logits = 0;
    return WICK_OK;
}

void wick_session_cancel(wick_session *s)
{
    if (s) { atomic_store(&s->cancel, true); }
}

void wick_session_reset(wick_session *s)
{
    s->n_past = 0;
    s->n_logits = 0;
}

wick_status wk_scratch_alloc(void **mem, float **const *ptrs, const int64_t *n_floats, size_t n,
                             const char *what)
{
    *mem = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        // rounded up to 16 floats (64 bytes)
        size_t b;
        if (n_floats[i] < 0 ||
            !wk_mul_size((size_t)((n_floats[i] + 15) / 16 * 16), sizeof(float), &b) ||
            !wk_add_size(total, b, &total)) {
            return wk_fail(WICK_E_RANGE, "%s: size overflows", what);
        }
    }
    *mem = wk_malloc(total ? total : 1);
    if (!*mem) { return wk_fail(WICK_E_NOMEM, "%s: cannot allocate %zu bytes", what, total); }
    float *p = *mem;
    for (size_t i = 0; i < n; i++) {
        *ptrs[i] = p;
        p += (n_floats[i] + 15) / 16 * 16;
    }
    return WICK_OK;
}
