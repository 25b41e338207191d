// seq.c — one sequence's generation: the prompt's tokens, then per step: pick the next token
// (sampled, or forced to close a reasoning budget), turn it into text (incremental detokenizer),
// hold back what may be the start of a stop string or a think tag, split reasoning from content,
// emit chunks, decide when it ends. The scheduler evaluates; this file never touches the KV cache.
//
// Text pipeline per token:  detok piece -> stop matcher -> think splitter -> chunks
//   stop matcher   keeps the longest tail that is a prefix of a stop string; a full match ends
//                  the sequence (finish stop) and the match is not emitted
//   think splitter chat mode only: "<think>" at the very start of the output (or a prompt that
//                  ends inside <think>) starts reasoning, "</think>" ends it; tags not emitted
//
// STAND-IN parts until src/sample (issue 9) lands: the sampler below (greedy, or top-k/top-p/
// min-p/temperature with a splitmix64 draw), the stop matcher and the think splitter.
#define _GNU_SOURCE // qsort_r
#include <math.h>
#include <stdlib.h>

#include "gen/gen.h"

#define MAX_TEXT (1u << 20) // held-back text cap

typedef struct pending_lp {
    wick_token_logprob tok;
    wick_token_logprob top[20];
} pending_lp;

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
    wick_detok_stream *detok;
    uint64_t rng;
    float *probs; // sampler scratch (n_vocab)
    int32_t *idx;
    // text
    wk_buf hold; // text not emitted yet (stop matcher)
    wk_buf think; // text not emitted yet (think splitter)
    bool chat, reasoning, at_start, after_think;
    // logprobs waiting for the text that carries them
    pending_lp *lps;
    size_t n_lps, cap_lps;
    // timings
    double t_ready, t_prefill0, t_prefill1, t_first, t_end;
    bool ended;
};

// --- prompt --------------------------------------------------------------------------------------

static wick_status tokenize_text(const wk_loaded *L, const char *text, int32_t **ids, size_t *n)
{
    wick_status rc = wick_tokenize_alloc(L->tok, text, strlen(text),
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
    wk_buf_init(&s->hold, MAX_TEXT);
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
        if ((rc = tokenize_text(L, q->prompt, &s->prompt, &n)) < 0) { goto fail; }
    } else {
        char *text = NULL;
        const char *tpl = q->chat_template ? q->chat_template : L->template_text;
        bool opens = false;
        if ((rc = wk_chat_render(tpl, q, L->bos_text, L->eos_text, &text, &opens)) < 0) {
            goto fail;
        }
        rc = tokenize_text(L, text, &s->prompt, &n);
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
    if ((rc = wick_detok_stream_create(L->tok, 0, &s->detok)) < 0) { goto fail; }
    const int32_t nv = wick_model_n_vocab(L->model);
    s->probs = wk_malloc((size_t)nv * sizeof *s->probs);
    s->idx = wk_malloc((size_t)nv * sizeof *s->idx);
    if (!s->probs || !s->idx) {
        rc = wk_fail_nomem("sampler");
        goto fail;
    }
    s->rng = q->sampling.seed;
    if (s->rng == WICK_SEED_RANDOM) {
        s->rng = (uint64_t)(wk_now() * 1e9) ^ (uint64_t)(uintptr_t)s;
    }
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
    wk_free(s->probs);
    wk_free(s->idx);
    wk_free(s->lps);
    wick_detok_stream_destroy(s->detok);
    wk_buf_free(&s->hold);
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

// --- sampling (stand-in) -------------------------------------------------------------------------

static uint64_t rng_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_desc(const void *a, const void *b, void *ctx)
{
    const float *lg = ctx;
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (lg[i] != lg[j]) { return lg[i] > lg[j] ? -1 : 1; }
    return i < j ? -1 : i > j;
}

static int32_t argmax(const float *x, int32_t n)
{
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++) {
        if (x[i] > x[b]) { b = i; }
    }
    return b;
}

// Candidates by logit (descending, then id); top_k, top_p and min_p cut, temperature scales,
// then a draw. Greedy for temperature <= 0.
static int32_t sample(wk_seq *s, const float *lg, int32_t n)
{
    const wick_sampling *p = &s->q->sampling;
    if (p->temperature <= 0) { return argmax(lg, n); }
    int32_t k = p->top_k > 0 && p->top_k < n ? p->top_k : n;
    if (k <= 256) { // the k best by insertion (logit descending, then id)
        int32_t m = 0;
        for (int32_t i = 0; i < n; i++) {
            if (m == k && !(lg[i] > lg[s->idx[k - 1]])) { continue; }
            int32_t j = m < k ? m++ : k - 1;
            while (j > 0 && lg[i] > lg[s->idx[j - 1]]) {
                s->idx[j] = s->idx[j - 1];
                j--;
            }
            s->idx[j] = i;
        }
    } else {
        for (int32_t i = 0; i < n; i++) { s->idx[i] = i; }
        qsort_r(s->idx, (size_t)n, sizeof *s->idx, cmp_desc, (void *)lg);
    }
    const double mx = lg[s->idx[0]];
    double sum = 0;
    for (int32_t i = 0; i < k; i++) { sum += s->probs[i] = (float)exp(lg[s->idx[i]] - mx); }
    double cum = 0;
    int32_t keep = k;
    for (int32_t i = 0; i < k; i++) {
        cum += s->probs[i] / sum;
        if (s->probs[i] < p->min_p * s->probs[0]) {
            keep = i > 0 ? i : 1;
            break;
        }
        if (cum >= p->top_p) {
            keep = i + 1;
            break;
        }
    }
    double tsum = 0;
    for (int32_t i = 0; i < keep; i++) {
        s->probs[i] = (float)exp((lg[s->idx[i]] - mx) / p->temperature);
        tsum += s->probs[i];
    }
    double r = (double)(rng_next(&s->rng) >> 11) * (1.0 / 9007199254740992.0) * tsum;
    for (int32_t i = 0; i < keep; i++) {
        r -= s->probs[i];
        if (r < 0) { return s->idx[i]; }
    }
    return s->idx[keep - 1];
}

// log softmax of the raw logits for token id and the n_top best alternatives.
static void logprobs(wk_seq *s, const float *lg, int32_t n, int32_t id)
{
    double mx = lg[argmax(lg, n)], sum = 0;
    for (int32_t i = 0; i < n; i++) { sum += exp((double)lg[i] - mx); }
    const double lse = mx + log(sum);
    if (s->n_lps == s->cap_lps) {
        size_t cap = s->cap_lps ? s->cap_lps * 2 : 8;
        pending_lp *v = wk_realloc(s->lps, cap * sizeof *v);
        if (!v) { return; } // logprobs are best effort under memory pressure
        s->lps = v;
        s->cap_lps = cap;
    }
    pending_lp *e = &s->lps[s->n_lps++];
    size_t len = 0;
    const char *t = wick_token_text(s->L->tok, id, &len);
    e->tok = (wick_token_logprob){id, (float)(lg[id] - lse), t ? t : "", t ? len : 0};
    int nt = s->q->top_logprobs;
    int32_t best[20];
    int m = 0;
    for (int32_t i = 0; i < n && nt > 0; i++) { // insertion into the nt best
        if (m == nt && !(lg[i] > lg[best[nt - 1]])) { continue; }
        int j = m < nt ? m++ : nt - 1;
        while (j > 0 && lg[i] > lg[best[j - 1]]) {
            best[j] = best[j - 1];
            j--;
        }
        best[j] = i;
    }
    for (int j = 0; j < m; j++) {
        const char *bt = wick_token_text(s->L->tok, best[j], &len);
        e->top[j] = (wick_token_logprob){best[j], (float)(lg[best[j]] - lse), bt ? bt : "",
                                         bt ? len : 0};
    }
}

// --- text ----------------------------------------------------------------------------------------

static void emit_text(wk_seq *s, wick_chunk_type type, const char *text, size_t len)
{
    if (len == 0) { return; }
    if (!s->t_first) { s->t_first = wk_now(); }
    wick_chunk c = {.type = type, .text = text, .len = len};
    wick_token_logprob toks[64], tops[64 * 20];
    if (s->q->logprobs && s->n_lps) {
        size_t n = s->n_lps < 64 ? s->n_lps : 64;
        int nt = s->q->top_logprobs;
        for (size_t i = 0; i < n; i++) {
            toks[i] = s->lps[i].tok;
            for (int j = 0; j < nt; j++) { tops[i * (size_t)nt + (size_t)j] = s->lps[i].top[j]; }
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
            if (!final && (ws == n || memcmp(p + ws, "<think>", n - ws) == 0)) { break; }
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

// Feeds text through the stop matcher into the splitter. Returns true when a stop string matched.
static bool feed_text(wk_seq *s, const char *text, size_t len, bool final)
{
    wk_buf *h = &s->hold;
    if (len && wk_buf_append(h, text, len) < 0) { final = true; } // over the cap: let it out
    if (h->len == 0) {
        split_think(s, final);
        return false;
    }
    const wick_request *q = s->q;
    size_t cut = h->len; // emit h[0, cut)
    bool stopped = false;
    for (size_t i = 0; i < q->n_stop; i++) {
        const char *m = memmem(h->data, h->len, q->stop[i], strlen(q->stop[i]));
        if (m && (size_t)(m - h->data) <= cut) {
            cut = (size_t)(m - h->data);
            stopped = true;
        }
    }
    if (!stopped && !final) {
        size_t keep = 0;
        for (size_t i = 0; i < q->n_stop; i++) {
            size_t k = partial_tail(h->data, h->len, q->stop[i]);
            if (k > keep) { keep = k; }
        }
        cut = h->len - keep;
    }
    wk_buf_append(&s->think, h->data, cut);
    if (stopped) {
        h->len = 0;
    } else {
        memmove(h->data, h->data + cut, h->len - cut);
        h->len -= cut;
    }
    if (h->data) { h->data[h->len] = '\0'; }
    split_think(s, final || stopped);
    return stopped;
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
        const char *piece;
        size_t len;
        if (wick_detok_stream_finish(s->detok, &piece, &len) >= 0) { feed_text(s, piece, len, true); }
        feed_text(s, NULL, 0, true);
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
    const int32_t nv = wick_model_n_vocab(s->L->model);
    if (wk_stream_cancelled(s->st)) {
        wk_seq_end(s, WICK_FINISH_CANCELLED, 0, NULL);
        return false;
    }
    if (q->max_tokens == 0) {
        wk_seq_end(s, WICK_FINISH_LENGTH, 0, NULL);
        return false;
    }
    int64_t budget = q->think == 0 ? 0 : q->reasoning_budget;
    if (s->reasoning && budget >= 0 && s->n_reasoning >= budget && !s->budget_forced) {
        force_think_end(s);
    }
    int32_t id;
    bool forced = s->i_forced < s->n_forced;
    if (forced) {
        id = s->forced[s->i_forced++];
    } else {
        id = sample(s, logits, nv);
        if (q->logprobs) { logprobs(s, logits, nv, id); }
    }
    if (!push_id(s, id)) {
        wk_seq_end(s, WICK_FINISH_ERROR, WICK_E_NOMEM, "out of memory (generated ids)");
        return false;
    }
    bool was_reasoning = s->reasoning;
    if (!q->ignore_eos && !forced && wick_token_is_eog(s->L->tok, id)) {
        wk_seq_end(s, WICK_FINISH_STOP, 0, NULL);
        return false;
    }
    const char *piece;
    size_t len;
    if (wick_detok_stream_push(s->detok, id, &piece, &len) < 0) {
        len = 0; // an id the tokenizer lacks (a padded vocabulary) decodes to nothing
    }
    bool stopped = feed_text(s, piece, len, false);
    if (was_reasoning || s->reasoning) { s->n_reasoning++; }
    if (stopped) {
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
