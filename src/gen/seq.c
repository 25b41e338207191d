// seq.c — one sequence's generation: the prompt's tokens, then per step: pick the next token
// (section 7's sampler chain, or forced to close a reasoning budget), turn it into text and apply
// the stop conditions (section 7's stopper: end-of-generation tokens, stop strings held back
// across tokens), split reasoning from content, emit chunks, decide when it ends. The scheduler
// evaluates; this file never touches the KV cache.
//
// Think splitter (chat mode only): "<think>" at the very start of the output (or a prompt that
// ends inside <think>) starts reasoning, "</think>" ends it; the tags are not emitted, and text
// that may be the start of a tag is held back until it is decided.
// STAND-IN until the streaming reasoning/tool-call parser of src/chat (issue 9) lands.
#define _GNU_SOURCE // memmem
#include <math.h>
#include <stdlib.h>

#include "gen/gen.h"

#define MAX_TEXT (1u << 20) // held-back text cap

struct wk_seq {
    wick_stream *st;
    const wk_loaded *L;
    const wick_request *q;
    int32_t *prompt;
    int64_t n_prompt, n_cached;
    // generation
    int32_t *ids;
    size_t n_ids, cap_ids;
    int64_t n_reasoning;
    int32_t forced[16];
    int n_forced, i_forced;
    bool budget_forced;
    wick_sampler *smp;
    wick_stopper *stp;
    bool want_lp;
    // text
    wk_buf think; // text not emitted yet (think splitter)
    bool chat, reasoning, at_start, after_think;
    // log-probabilities waiting for the text that carries them
    wick_sample *lps;
    size_t n_lps, cap_lps;
    // timings
    double t_ready, t_prefill0, t_prefill1, t_first, t_end;
    bool ended;
};

// --- prompt --------------------------------------------------------------------------------------

static wick_status tokenize_text(const wk_loaded *L, const char *text, size_t len, int32_t **ids,
                                 size_t *n)
{
    wick_status rc = wick_tokenize_alloc(L->tok, text, len,
                                         WICK_TOKENIZE_PARSE_SPECIAL | WICK_TOKENIZE_ADD_SPECIAL,
                                         ids, n);
    if (rc < 0) { return rc; }
    // a template that writes BOS itself and a vocabulary that adds it: keep one
    int32_t bos = wick_tokenizer_bos(L->tok);
    if (*n >= 2 && bos >= 0 && (*ids)[0] == bos && (*ids)[1] == bos) {
        memmove(*ids, *ids + 1, (*n - 1) * sizeof **ids);
        (*n)--;
    }
    return WICK_OK;
}

wick_status wk_seq_create(wick_stream *st, const wk_loaded *L, int64_t n_ctx, double t_ready,
                          wk_seq **out)
{
    *out = NULL;
    const wick_request *q = &st->req.q;
    wk_seq *s = wk_calloc(1, sizeof *s);
    if (!s) { return wk_fail_nomem("sequence"); }
    s->st = st;
    s->L = L;
    s->q = q;
    s->t_ready = t_ready;
    s->at_start = true;
    wk_buf_init(&s->think, MAX_TEXT);
    wick_status rc = WICK_OK;
    size_t n = 0;
    if (q->tokens) {
        s->prompt = wk_malloc(q->n_tokens * sizeof *s->prompt);
        if (!s->prompt) {
            rc = wk_fail_nomem("prompt");
            goto fail;
        }
        memcpy(s->prompt, q->tokens, q->n_tokens * sizeof *s->prompt);
        n = q->n_tokens;
        const int32_t nv = wick_model_n_vocab(L->model);
        for (size_t i = 0; i < n; i++) {
            if (s->prompt[i] < 0 || s->prompt[i] >= nv) {
                rc = wk_fail(WICK_E_RANGE, "tokens[%zu]: id %d is outside [0, %d)", i,
                             s->prompt[i], nv);
                goto fail;
            }
        }
    } else if (q->prompt) {
        if ((rc = tokenize_text(L, q->prompt, strlen(q->prompt), &s->prompt, &n)) < 0) { goto fail; }
    } else {
        char *text = NULL;
        size_t len = 0;
        if ((rc = wk_chat_render(L, q, &text, &len)) < 0) { goto fail; }
        size_t k = len; // the generation prompt opens <think> (the answer starts inside it)
        while (k > 0 && (text[k - 1] == '\n' || text[k - 1] == ' ')) { k--; }
        bool opens = k >= 7 && memcmp(text + k - 7, "<think>", 7) == 0;
        rc = tokenize_text(L, text, len, &s->prompt, &n);
        wk_free(text);
        if (rc < 0) { goto fail; }
        s->chat = true;
        s->reasoning = opens && q->think != 0;
        if (opens) { s->at_start = false; }
    }
    s->n_prompt = (int64_t)n;
    if (n == 0) {
        rc = wk_fail(WICK_E_INVALID, "the prompt gives no tokens");
        goto fail;
    }
    if (s->n_prompt >= n_ctx) {
        rc = wk_fail(WICK_E_RANGE, "the prompt has %lld tokens, the context holds %lld",
                     (long long)s->n_prompt, (long long)n_ctx);
        goto fail;
    }
    if ((rc = wick_sampler_create(&q->sampling, wick_model_n_vocab(L->model), &s->smp)) < 0) {
        goto fail;
    }
    wick_stopper_opts so;
    wick_stopper_opts_init(&so); // max_tokens is counted here (forced tokens and padded ids too)
    so.stop = q->stop;
    so.n_stop = q->n_stop;
    so.ignore_eos = q->ignore_eos;
    if ((rc = wick_stopper_create(L->tok, &so, &s->stp)) < 0) { goto fail; }
    wick_sampler_accept(s->smp, s->prompt, n); // the penalties look at the prompt too
    s->want_lp = q->sampling.logprobs || q->sampling.top_logprobs > 0;
    *out = s;
    return WICK_OK;
fail:
    wk_seq_free(s);
    return rc;
}

void wk_seq_free(wk_seq *s)
{
    if (!s) { return; }
    wk_free(s->prompt);
    wk_free(s->ids);
    wk_free(s->lps);
    wick_sampler_destroy(s->smp);
    wick_stopper_destroy(s->stp);
    wk_buf_free(&s->think);
    wk_free(s);
}

const int32_t *wk_seq_prompt(const wk_seq *s, int64_t *n)
{
    *n = s->n_prompt;
    return s->prompt;
}

wick_stream *wk_seq_stream(const wk_seq *s)
{
    return s->st;
}

void wk_seq_set_cached(wk_seq *s, int64_t n_cached)
{
    s->n_cached = n_cached;
    s->t_prefill0 = wk_now();
}

void wk_seq_prefill_progress(wk_seq *s, int64_t n_done, int64_t n_total)
{
    wk_stream_progress(s->st, "prefill", (uint64_t)n_done, (uint64_t)n_total);
}

void wk_seq_prefill_done(wk_seq *s)
{
    s->t_prefill1 = wk_now();
}

// --- text ----------------------------------------------------------------------------------------

static void lp_fill(const wk_seq *s, wick_token_logprob *d, int32_t id, float lp)
{
    size_t len = 0;
    const char *t = wick_token_text(s->L->tok, id, &len);
    *d = (wick_token_logprob){id, lp, t ? t : "", t ? len : 0};
}

// One chunk of text; it carries the log-probabilities of the tokens sampled since the last one.
static void emit_text(wk_seq *s, wick_chunk_type type, const char *text, size_t len)
{
    if (len == 0) { return; }
    if (!s->t_first) { s->t_first = wk_now(); }
    wick_chunk c = {.type = type, .text = text, .len = len};
    enum { MAX_LP = 32 };
    wick_token_logprob toks[MAX_LP], tops[MAX_LP * WICK_MAX_TOP_LOGPROBS];
    if (s->want_lp && s->n_lps) {
        const size_t n = s->n_lps < MAX_LP ? s->n_lps : MAX_LP;
        const int nt = s->q->sampling.top_logprobs;
        for (size_t i = 0; i < n; i++) {
            const wick_sample *e = &s->lps[i];
            lp_fill(s, &toks[i], e->id, e->logprob);
            for (int j = 0; j < nt; j++) {
                wick_token_logprob *d = &tops[i * (size_t)nt + (size_t)j];
                if (j < e->n_top) {
                    lp_fill(s, d, e->top[j].id, e->top[j].logprob);
                } else {
                    *d = (wick_token_logprob){-1, -INFINITY, "", 0};
                }
            }
        }
        c.n_tokens = n;
        c.tokens = toks;
        c.n_top = nt;
        c.top = nt ? tops : NULL;
        memmove(s->lps, s->lps + n, (s->n_lps - n) * sizeof *s->lps);
        s->n_lps -= n;
    }
    wk_stream_emit(s->st, &c);
}

// Longest tail of text[0, n) that is a proper prefix of tag.
static size_t partial_tail(const char *text, size_t n, const char *tag)
{
    size_t t = strlen(tag);
    for (size_t k = t - 1 < n ? t - 1 : n; k > 0; k--) {
        if (memcmp(text + n - k, tag, k) == 0) { return k; }
    }
    return 0;
}

static size_t skip_ws(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')) { i++; }
    return i;
}

// The think splitter: consumes s->think (all of it when final).
static void split_think(wk_seq *s, bool final)
{
    wk_buf *b = &s->think;
    size_t pos = 0;
    if (b->len == 0) { return; }
    for (;;) {
        const char *p = b->data + pos;
        size_t n = b->len - pos;
        if (n == 0) { break; }
        if (s->at_start && s->chat) {
            size_t ws = skip_ws(p, n);
            if (n - ws >= 7 && memcmp(p + ws, "<think>", 7) == 0) {
                pos += ws + 7;
                s->reasoning = true;
                s->at_start = false;
                continue;
            }
            if (!final && (ws == n || (n - ws < 7 && memcmp(p + ws, "<think>", n - ws) == 0))) {
                break; // maybe the start of <think>: wait for more
            }
            s->at_start = false;
            continue;
        }
        if (s->reasoning) {
            const char *end = memmem(p, n, "</think>", 8);
            if (end) {
                emit_text(s, WICK_CHUNK_REASONING, p, (size_t)(end - p));
                pos += (size_t)(end - p) + 8;
                s->reasoning = false;
                s->after_think = true;
                continue;
            }
            size_t keep = final ? 0 : partial_tail(p, n, "</think>");
            emit_text(s, WICK_CHUNK_REASONING, p, n - keep);
            pos += n - keep;
            break;
        }
        if (s->after_think) { // the answer starts after the blank lines that follow </think>
            size_t ws = skip_ws(p, n);
            pos += ws;
            if (ws == n) { break; }
            s->after_think = false;
            continue;
        }
        emit_text(s, WICK_CHUNK_CONTENT, p, n);
        pos += n;
        break;
    }
    memmove(b->data, b->data + pos, b->len - pos);
    b->len -= pos;
    b->data[b->len] = '\0';
}

// Text from the stopper into the think splitter.
static void feed_text(wk_seq *s, const char *text, size_t len, bool final)
{
    if (len && wk_buf_append(&s->think, text, len) < 0) { final = true; } // over the cap
    split_think(s, final);
}

// --- steps and the end ---------------------------------------------------------------------------

static void usage_timings(const wk_seq *s, wick_chunk *d)
{
    const double t0 = s->st->t_start;
    d->usage.prompt_tokens = s->n_prompt;
    d->usage.cached_tokens = s->n_cached;
    d->usage.completion_tokens = (int64_t)s->n_ids;
    d->usage.reasoning_tokens = s->n_reasoning;
    wick_timings *t = &d->timings;
    t->load_ms = (s->t_ready - t0) * 1e3;
    if (s->t_prefill1 > 0) {
        t->prompt_n = s->n_prompt - s->n_cached;
        t->prompt_ms = (s->t_prefill1 - s->t_prefill0) * 1e3;
        t->prompt_per_second = t->prompt_ms > 0 ? (double)t->prompt_n / t->prompt_ms * 1e3 : 0;
        t->predicted_n = (int64_t)s->n_ids;
        t->predicted_ms = (s->t_end - s->t_prefill1) * 1e3;
        t->predicted_per_second =
            t->predicted_ms > 0 ? (double)t->predicted_n / t->predicted_ms * 1e3 : 0;
    }
    if (s->t_first > 0) { t->first_token_ms = (s->t_first - t0) * 1e3; }
    d->n_ids = s->n_ids;
    d->ids = s->ids;
}

void wk_seq_end(wk_seq *s, wick_finish_reason f, wick_status rc, const char *msg)
{
    if (s->ended) { return; }
    s->ended = true;
    s->t_end = wk_now();
    if (f == WICK_FINISH_STOP || f == WICK_FINISH_LENGTH || f == WICK_FINISH_TOOL_CALLS) {
        const char *text;
        size_t len;
        if (wick_stopper_flush(s->stp, &text, &len) < 0) { len = 0; } // held text, if any
        feed_text(s, text, len, true);
    }
    wick_chunk d = {.type = WICK_CHUNK_DONE, .finish_reason = f};
    usage_timings(s, &d);
    if (f == WICK_FINISH_ERROR) {
        wk_stream_fail(s->st, rc, msg, &d);
    } else {
        wk_stream_emit(s->st, &d);
    }
}

static bool push_id(wk_seq *s, int32_t id)
{
    if (s->n_ids == s->cap_ids) {
        size_t cap = s->cap_ids ? s->cap_ids * 2 : 64;
        int32_t *v = wk_realloc(s->ids, cap * sizeof *v);
        if (!v) { return false; }
        s->ids = v;
        s->cap_ids = cap;
    }
    s->ids[s->n_ids++] = id;
    return true;
}

static bool push_lp(wk_seq *s, const wick_sample *e)
{
    if (s->n_lps == s->cap_lps) {
        size_t cap = s->cap_lps ? s->cap_lps * 2 : 8;
        wick_sample *v = wk_realloc(s->lps, cap * sizeof *v);
        if (!v) { return false; }
        s->lps = v;
        s->cap_lps = cap;
    }
    s->lps[s->n_lps++] = *e;
    return true;
}

// "</think>" as tokens, forced once the reasoning budget is spent.
static void force_think_end(wk_seq *s)
{
    size_t n = 0;
    wick_status rc = wick_tokenize(s->L->tok, "</think>", 8, WICK_TOKENIZE_PARSE_SPECIAL, s->forced,
                                   WK_ARRAY_LEN(s->forced), &n);
    s->budget_forced = true;
    if (rc >= 0 && n > 0) {
        s->n_forced = (int)n;
        s->i_forced = 0;
    }
}

bool wk_seq_step(wk_seq *s, const float *logits, int64_t n_past, int64_t n_ctx, int32_t *next)
{
    const wick_request *q = s->q;
    if (wk_stream_cancelled(s->st)) {
        wk_seq_end(s, WICK_FINISH_CANCELLED, 0, NULL);
        return false;
    }
    if (q->max_tokens == 0) {
        wk_seq_end(s, WICK_FINISH_LENGTH, 0, NULL);
        return false;
    }
    const int64_t budget = q->think == 0 ? 0 : q->reasoning_budget;
    if (s->reasoning && budget >= 0 && s->n_reasoning >= budget && !s->budget_forced) {
        force_think_end(s);
    }
    int32_t id;
    if (s->i_forced < s->n_forced) {
        id = s->forced[s->i_forced++];
    } else {
        wick_sample smp;
        wick_status rc = wick_sampler_sample(s->smp, logits, &smp);
        if (rc < 0) {
            wk_seq_end(s, WICK_FINISH_ERROR, rc, wick_errmsg());
            return false;
        }
        id = smp.id;
        if (s->want_lp) { push_lp(s, &smp); } // best effort under memory pressure
    }
    wick_sampler_accept(s->smp, &id, 1);
    if (!push_id(s, id)) {
        wk_seq_end(s, WICK_FINISH_ERROR, WICK_E_NOMEM, "out of memory (generated ids)");
        return false;
    }
    const bool was_reasoning = s->reasoning;
    const char *text = "";
    size_t len = 0;
    wick_status rc = WICK_OK;
    if (id < wick_tokenizer_n_vocab(s->L->tok)) { // (a padded vocabulary's extra ids print nothing)
        rc = wick_stopper_push(s->stp, id, &text, &len);
        if (rc < 0) {
            wk_seq_end(s, WICK_FINISH_ERROR, rc, wick_errmsg());
            return false;
        }
    }
    feed_text(s, text, len, false);
    if (was_reasoning || s->reasoning) { s->n_reasoning++; }
    if (rc == WICK_DONE) { // an end-of-generation token or a stop string
        wk_seq_end(s, WICK_FINISH_STOP, 0, NULL);
        return false;
    }
    if ((q->max_tokens >= 0 && (int64_t)s->n_ids >= q->max_tokens) || n_past + 1 > n_ctx) {
        wk_seq_end(s, WICK_FINISH_LENGTH, 0, NULL);
        return false;
    }
    *next = id;
    return true;
}
