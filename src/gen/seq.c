// seq.c — one sequence's generation: the prompt's tokens, then per step: pick the next token
// (section 7's sampler chain, or forced to close a reasoning budget), turn it into text and apply
// the stop conditions (section 7's stopper: end-of-generation tokens, stop strings held back
// across tokens), emit chunks through the chat parser when the
// prompt is a chat (section 8's wick_chat_parser, in the format wick_chat_format_detect finds in
// the template, the vocabulary and the rendered prompt: reasoning, content, tool calls), decide
// when it ends. The scheduler evaluates; this file never touches the KV cache.
#include <math.h>
#include <stdlib.h>

#include "gen/gen.h"

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
    int n_tool_calls;
    int32_t forced[16];
    int n_forced, i_forced;
    bool budget_forced;
    wick_sampler *smp;
    wick_stopper *stp;
    bool want_lp;
    // text: chat output through the parser (NULL: all content)
    wick_chat_parser *parser;
    char think_close[72]; // the format's think-close marker, forced when the budget is spent
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

// The parser of the model's output, in the format of the template, the vocabulary and the
// rendered prompt (which may end inside <think>).
static wick_status chat_parser(wk_seq *s, const char *prompt)
{
    const wick_request *q = s->q;
    char *tmpl = NULL;
    if (q->chat_template || s->L->tmpl) {
        size_t n = 0;
        const char *src = q->chat_template;
        if (src) {
            n = strlen(src);
        } else {
            src = wick_template_source(s->L->tmpl, &n);
        }
        if (!(tmpl = wk_strndup(src, n))) { return wk_fail_nomem("chat template"); }
    }
    wick_chat_format f;
    wick_chat_format_detect(tmpl, s->L->tok, prompt, &f);
    snprintf(s->think_close, sizeof s->think_close, "%s",
             f.think_close ? f.think_close : "</think>");
    wick_status rc = wick_chat_parser_create(&f, &s->parser);
    wk_free(tmpl);
    return rc;
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
        if ((rc = tokenize_text(L, q->prompt, strlen(q->prompt), &s->prompt, &n)) < 0) {
            goto fail;
        }
    } else {
        char *text = NULL;
        size_t len = 0;
        if ((rc = wk_chat_render(L, q, &text, &len)) < 0) { goto fail; }
        rc = chat_parser(s, text);
        rc = rc < 0 ? rc : tokenize_text(L, text, len, &s->prompt, &n);
        wk_free(text);
        if (rc < 0) { goto fail; }
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
    wick_chat_parser_destroy(s->parser);
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

static void emit_piece(wk_seq *s, const wick_chat_piece *p)
{
    switch (p->kind) {
    case WICK_PIECE_CONTENT: emit_text(s, WICK_CHUNK_CONTENT, p->text, p->len); break;
    case WICK_PIECE_REASONING: emit_text(s, WICK_CHUNK_REASONING, p->text, p->len); break;
    case WICK_PIECE_TOOL_CALL: {
        if (!s->t_first) { s->t_first = wk_now(); }
        wick_chunk c = {.type = WICK_CHUNK_TOOL_CALL,
                        .tool_index = p->index,
                        .tool_id = p->id ? p->id : "",
                        .tool_name = p->name ? p->name : "",
                        .tool_arguments = p->arguments ? p->arguments : "{}"};
        wk_stream_emit(s->st, &c);
        s->n_tool_calls++;
        break;
    }
    case WICK_PIECE_WARNING: break; // the text it is about came as content
    }
}

// Text from the stopper: through the parser (chat) or straight out as content. final: the end.
static wick_status feed_text(wk_seq *s, const char *text, size_t len, bool final)
{
    if (!s->parser) {
        emit_text(s, WICK_CHUNK_CONTENT, text, len);
        return WICK_OK;
    }
    wick_status rc = len ? wick_chat_parser_feed(s->parser, text, len) : WICK_OK;
    if (rc >= 0 && final) { rc = wick_chat_parser_finish(s->parser); }
    wick_chat_piece p;
    while (wick_chat_parser_next(s->parser, &p) == WICK_OK) { emit_piece(s, &p); }
    return rc;
}

static bool in_reasoning(const wk_seq *s)
{
    return s->parser && wick_chat_parser_in_reasoning(s->parser);
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
        feed_text(s, text, len, true); // (a parser failure here: what it held is lost)
        if (f == WICK_FINISH_STOP && s->n_tool_calls > 0) { f = WICK_FINISH_TOOL_CALLS; }
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

// The think-close marker as tokens, forced once the reasoning budget is spent.
static void force_think_end(wk_seq *s)
{
    size_t n = 0;
    wick_status rc = wick_tokenize(s->L->tok, s->think_close, strlen(s->think_close),
                                   WICK_TOKENIZE_PARSE_SPECIAL, s->forced,
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
    if (budget >= 0 && !s->budget_forced && s->n_reasoning >= budget && in_reasoning(s)) {
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
    const bool was_reasoning = in_reasoning(s);
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
    wick_status prc = feed_text(s, text, len, false);
    if (prc < 0) {
        wk_seq_end(s, WICK_FINISH_ERROR, prc, wick_errmsg());
        return false;
    }
    if (was_reasoning || in_reasoning(s)) { s->n_reasoning++; }
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
