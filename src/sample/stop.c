// stop.c — stop conditions of one generated sequence (end-of-generation tokens, stop strings,
// max tokens) over the incremental detokenizer, holding back text that might begin a stop string.
#include <string.h>

#include "base/base.h"
#include "tok/tok.h"

struct wick_stopper {
    const wick_tokenizer *tk;
    wick_detok_stream *ds;
    unsigned detok_flags;
    int64_t max_tokens;
    bool ignore_eos;
    int n_stop;
    char *stop[WICK_MAX_STOP_STRINGS];
    size_t stop_len[WICK_MAX_STOP_STRINGS];

    int64_t n_tokens;
    wick_stop_reason reason;
    int stop_index;
    wk_buf held; // decoded text not emitted yet: a tail that may begin a stop string
    wk_buf out;  // what the last call hands out
};

void wick_stopper_opts_init(wick_stopper_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_tokens = -1;
}

wick_status wick_stopper_create(const wick_tokenizer *tk, const wick_stopper_opts *o,
                                wick_stopper **out)
{
    if (out) { *out = NULL; }
    if (!tk || !out) { return wk_fail(WICK_E_INVALID, "wick_stopper_create: NULL argument"); }
    wick_stopper_opts def;
    if (!o) {
        wick_stopper_opts_init(&def);
        o = &def;
    }
    if (o->n_stop > WICK_MAX_STOP_STRINGS) {
        return wk_fail(WICK_E_INVALID, "stop: %zu stop strings, at most %d", o->n_stop,
                       WICK_MAX_STOP_STRINGS);
    }
    if (o->n_stop > 0 && !o->stop) { return wk_fail(WICK_E_INVALID, "stop: NULL list"); }
    for (size_t i = 0; i < o->n_stop; i++) {
        size_t n = o->stop[i] ? strlen(o->stop[i]) : 0;
        if (n > WICK_MAX_STOP_BYTES) {
            return wk_fail(WICK_E_INVALID, "stop[%zu]: %zu bytes, at most %d", i, n,
                           WICK_MAX_STOP_BYTES);
        }
        // whole UTF-8 characters, so the held text always splits between characters
        if (!wk_tok_utf8_valid((const uint8_t *)o->stop[i], n)) {
            return wk_fail(WICK_E_INVALID, "stop[%zu]: not valid UTF-8", i);
        }
    }
    wick_stopper *s = wk_calloc(1, sizeof *s);
    if (!s) { return wk_fail_nomem("stopper"); }
    s->tk = tk;
    s->detok_flags = o->skip_special ? WICK_DETOKENIZE_SKIP_SPECIAL : 0;
    s->max_tokens = o->max_tokens;
    s->ignore_eos = o->ignore_eos;
    s->stop_index = -1;
    wk_buf_init(&s->held, SIZE_MAX / 2);
    wk_buf_init(&s->out, SIZE_MAX / 2);
    wick_status rc = WICK_OK;
    for (size_t i = 0; i < o->n_stop && rc == WICK_OK; i++) {
        size_t n = o->stop[i] ? strlen(o->stop[i]) : 0;
        // an empty string is kept as a slot that never matches, so indices stay the caller's
        s->stop[s->n_stop] = wk_strndup(n ? o->stop[i] : "", n);
        s->stop_len[s->n_stop] = n;
        if (!s->stop[s->n_stop++]) { rc = wk_fail_nomem("stop strings"); }
    }
    if (rc == WICK_OK) { rc = wick_detok_stream_create(tk, s->detok_flags, &s->ds); }
    if (rc < 0) {
        wick_stopper_destroy(s);
        return rc;
    }
    *out = s;
    return WICK_OK;
}

void wick_stopper_destroy(wick_stopper *s)
{
    if (!s) { return; }
    for (int i = 0; i < s->n_stop; i++) { wk_free(s->stop[i]); }
    wick_detok_stream_destroy(s->ds);
    wk_buf_free(&s->held);
    wk_buf_free(&s->out);
    wk_free(s);
}

void wick_stopper_reset(wick_stopper *s)
{
    if (!s) { return; }
    s->n_tokens = 0;
    s->reason = WICK_STOP_NONE;
    s->stop_index = -1;
    wk_buf_clear(&s->held);
    wk_buf_clear(&s->out);
    wick_detok_stream *ds = NULL;
    if (wick_detok_stream_create(s->tk, s->detok_flags, &ds) == WICK_OK) { // drops pending bytes
        wick_detok_stream_destroy(s->ds);
        s->ds = ds;
    }
}

// Appends piece to the held text and moves to out what can no longer be part of a stop string.
// Sets the reason when a stop string matched (then nothing after its start is emitted).
static wick_status advance(wick_stopper *s, const char *piece, size_t n, bool final)
{
    wick_status rc = wk_buf_append(&s->held, piece, n);
    if (rc < 0) { return rc; }
    const char *h = s->held.data ? s->held.data : "";
    size_t len = s->held.len, emit = len;
    int which = -1;
    size_t at = wk_match_first(h, len, (const char *const *)s->stop, s->stop_len, s->n_stop,
                               &which);
    if (which >= 0) {
        emit = at;
        s->reason = WICK_STOP_STRING;
        s->stop_index = which;
    } else if (!final) {
        emit = len - wk_match_partial(h, len, (const char *const *)s->stop, s->stop_len,
                                      s->n_stop);
    }
    rc = wk_buf_append(&s->out, h, emit);
    if (rc < 0) { return rc; }
    if (which >= 0 || final) {
        wk_buf_clear(&s->held);
    } else {
        memmove(s->held.data, h + emit, len - emit);
        s->held.len = len - emit;
        s->held.data[s->held.len] = '\0';
    }
    return WICK_OK;
}

static wick_status hand_out(wick_stopper *s, const char **text, size_t *len)
{
    *text = s->out.data ? s->out.data : "";
    *len = s->out.len;
    return s->reason == WICK_STOP_NONE ? WICK_OK : WICK_DONE;
}

// The end: the decoder's dangling bytes and the held text, unless a stop string matched.
static wick_status finish(wick_stopper *s)
{
    const char *p;
    size_t n;
    wick_status rc = wick_detok_stream_finish(s->ds, &p, &n);
    if (rc == WICK_OK && s->reason != WICK_STOP_STRING) { rc = advance(s, p, n, true); }
    return rc;
}

wick_status wick_stopper_push(wick_stopper *s, int32_t id, const char **text, size_t *len)
{
    if (text) { *text = ""; }
    if (len) { *len = 0; }
    if (!s || !text || !len) { return wk_fail(WICK_E_INVALID, "wick_stopper_push: NULL argument"); }
    if (s->reason != WICK_STOP_NONE) { return WICK_DONE; }
    if (id < 0 || id >= wick_tokenizer_n_vocab(s->tk)) {
        return wk_fail(WICK_E_RANGE, "stopper: token id %d outside the vocabulary [0, %d)", id,
                       wick_tokenizer_n_vocab(s->tk));
    }
    wk_buf_clear(&s->out);
    s->n_tokens++;
    wick_status rc = WICK_OK;
    const bool eog = wick_token_is_eog(s->tk, id);
    if (eog && !s->ignore_eos) {
        s->reason = WICK_STOP_EOG;
    } else if (!eog) { // end-of-generation tokens never print, also when ignored
        const char *p;
        size_t n;
        rc = wick_detok_stream_push(s->ds, id, &p, &n);
        if (rc == WICK_OK) { rc = advance(s, p, n, false); }
    }
    if (rc == WICK_OK && s->reason == WICK_STOP_NONE && s->max_tokens >= 0 &&
        s->n_tokens >= s->max_tokens) {
        s->reason = WICK_STOP_LENGTH;
    }
    if (rc == WICK_OK && s->reason != WICK_STOP_NONE) { rc = finish(s); }
    if (rc < 0) { return rc; }
    return hand_out(s, text, len);
}

wick_status wick_stopper_flush(wick_stopper *s, const char **text, size_t *len)
{
    if (text) { *text = ""; }
    if (len) { *len = 0; }
    if (!s || !text || !len) {
        return wk_fail(WICK_E_INVALID, "wick_stopper_flush: NULL argument");
    }
    if (s->reason != WICK_STOP_NONE) { return WICK_DONE; }
    wk_buf_clear(&s->out);
    s->reason = WICK_STOP_FLUSHED;
    wick_status rc = finish(s);
    if (rc < 0) { return rc; }
    return hand_out(s, text, len);
}

wick_stop_reason wick_stopper_reason(const wick_stopper *s)
{
    return s ? s->reason : WICK_STOP_NONE;
}

int wick_stopper_stop_index(const wick_stopper *s)
{
    return s ? s->stop_index : -1;
}

int64_t wick_stopper_n_tokens(const wick_stopper *s)
{
    return s ? s->n_tokens : 0;
}
