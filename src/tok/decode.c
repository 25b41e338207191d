// decode.c — ids to text: the decoder chain (Hugging Face's decode_chain) and the streaming
// decoder.
#include <string.h>

#include "tok/tok.h"

// A list of pieces: bytes in buf, pieces as spans.
typedef struct pieces {
    wk_buf buf;
    wk_tok_spans sp;
} pieces;

static void pieces_init(pieces *p)
{
    wk_buf_init(&p->buf, SIZE_MAX / 2);
    p->sp = (wk_tok_spans){0};
}

static void pieces_free(pieces *p)
{
    wk_buf_free(&p->buf);
    wk_free(p->sp.v);
}

// Appends one piece. Empty pieces are dropped: they add nothing, and no decoder step looks at them.
static wick_status piece_add(pieces *p, const void *s, size_t n)
{
    size_t off = p->buf.len;
    wick_status rc = wk_buf_append(&p->buf, s, n);
    if (rc == WICK_OK) { rc = wk_tok_spans_push(&p->sp, off, n); }
    return rc;
}

static bool byte_token(const char *s, size_t n, uint8_t *out)
{
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') { return false; }
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) { return false; }
        v = v * 16 + d;
    }
    *out = (uint8_t)v;
    return true;
}

// Hugging Face's WordPiece decoder cleanup over buf[from, len): each of these replacements in turn,
// every occurrence (tokenizers/src/decoders/wordpiece.rs).
static wick_status wp_cleanup(wk_buf *buf, size_t from)
{
    static const char *const rep[][2] = {{" .", "."},   {" ?", "?"},     {" !", "!"},
                                         {" ,", ","},   {" ' ", "'"},    {" n't", "n't"},
                                         {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
                                         {" 've", "'ve"}, {" 're", "'re"}};
    for (size_t r = 0; r < WK_ARRAY_LEN(rep); r++) {
        size_t fl = strlen(rep[r][0]), tl = strlen(rep[r][1]);
        size_t i = from;
        while (i + fl <= buf->len) {
            if (memcmp(buf->data + i, rep[r][0], fl) != 0) {
                i++;
                continue;
            }
            // the replacement is never longer than the pattern except " do not" (same length)
            memcpy(buf->data + i, rep[r][1], tl);
            memmove(buf->data + i + tl, buf->data + i + fl, buf->len - i - fl);
            buf->len -= fl - tl;
            buf->data[buf->len] = '\0';
            i += tl;
        }
    }
    return WICK_OK;
}

static wick_status step(const wick_tokenizer *t, const wk_dec *d, const pieces *in, pieces *out,
                        bool lossy_bytes)
{
    (void)t;
    wick_status rc = WICK_OK;
    const char *b = in->buf.data ? in->buf.data : "";
    static const char repl[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
    switch (d->kind) {
    case WK_DEC_BYTELEVEL: // tokens hold raw bytes already; HF's ByteLevel joins them
    case WK_DEC_FUSE:
        for (size_t i = 0; i < in->sp.n && rc == WICK_OK; i++) {
            rc = wk_buf_append(&out->buf, b + in->sp.v[i].off, in->sp.v[i].len);
        }
        if (rc == WICK_OK) { rc = wk_tok_spans_push(&out->sp, 0, out->buf.len); }
        break;
    case WK_DEC_BYTEFALLBACK: {
        size_t i = 0;
        while (i < in->sp.n && rc == WICK_OK) {
            uint8_t byte;
            if (!byte_token(b + in->sp.v[i].off, in->sp.v[i].len, &byte)) {
                rc = piece_add(out, b + in->sp.v[i].off, in->sp.v[i].len);
                i++;
                continue;
            }
            uint8_t run[256];
            size_t k = 0;
            while (i < in->sp.n && k < sizeof run &&
                   byte_token(b + in->sp.v[i].off, in->sp.v[i].len, &run[k])) {
                k++;
                i++;
            }
            if (!lossy_bytes || wk_tok_utf8_valid(run, k)) {
                rc = piece_add(out, run, k);
            } else {
                for (size_t j = 0; j < k && rc == WICK_OK; j++) { rc = piece_add(out, repl, 3); }
            }
        }
        break;
    }
    case WK_DEC_REPLACE:
        for (size_t i = 0; i < in->sp.n && rc == WICK_OK; i++) {
            const char *s = b + in->sp.v[i].off;
            size_t n = in->sp.v[i].len, pos = 0, off = out->buf.len;
            while (d->pat_len > 0 && pos + d->pat_len <= n && rc == WICK_OK) {
                const char *q = wk_tok_find(s + pos, n - pos, d->pat, d->pat_len);
                if (!q) { break; }
                size_t at = (size_t)(q - s);
                rc = wk_buf_append(&out->buf, s + pos, at - pos);
                if (rc == WICK_OK) { rc = wk_buf_append(&out->buf, d->content, d->content_len); }
                pos = at + d->pat_len;
            }
            if (rc == WICK_OK) { rc = wk_buf_append(&out->buf, s + pos, n - pos); }
            if (rc == WICK_OK) { rc = wk_tok_spans_push(&out->sp, off, out->buf.len - off); }
        }
        break;
    case WK_DEC_STRIP:
        for (size_t i = 0; i < in->sp.n && rc == WICK_OK; i++) {
            const uint8_t *s = (const uint8_t *)b + in->sp.v[i].off;
            size_t n = in->sp.v[i].len, lo = 0, hi = n;
            for (int k = 0; k < d->start && lo < n; k++) {
                size_t adv;
                if (wk_tok_utf8_dec(s + lo, n - lo, &adv) != d->strip_cp) { break; }
                lo += adv;
            }
            for (int k = 0; k < d->stop && hi > lo; k++) {
                size_t p = hi - 1, adv;
                while (p > lo && (s[p] & 0xC0) == 0x80) { p--; }
                if (wk_tok_utf8_dec(s + p, hi - p, &adv) != d->strip_cp) { break; }
                hi = p;
            }
            rc = piece_add(out, s + lo, hi - lo);
        }
        break;
    case WK_DEC_WORDPIECE:
        for (size_t i = 0; i < in->sp.n && rc == WICK_OK; i++) {
            const char *s = b + in->sp.v[i].off;
            size_t n = in->sp.v[i].len, off = out->buf.len;
            if (i > 0 || !d->start) {
                if (d->pat_len == 0 || (n >= d->pat_len && memcmp(s, d->pat, d->pat_len) == 0)) {
                    s += d->pat_len;
                    n -= d->pat_len;
                } else {
                    rc = wk_buf_append(&out->buf, " ", 1);
                }
            }
            if (rc == WICK_OK) { rc = wk_buf_append(&out->buf, s, n); }
            if (rc == WICK_OK && d->stop) { rc = wp_cleanup(&out->buf, off); }
            if (rc == WICK_OK) { rc = wk_tok_spans_push(&out->sp, off, out->buf.len - off); }
        }
        break;
    default: rc = wk_fail(WICK_E_INTERNAL, "decoder kind %d", d->kind);
    }
    return rc;
}

static wick_status check_id(const wick_tokenizer *t, int32_t id)
{
    if (id < 0 || id >= t->n_vocab) {
        return wk_fail(WICK_E_RANGE, "%s: token id %d out of range [0, %d)", t->name, id,
                       t->n_vocab);
    }
    return WICK_OK;
}

static bool skipped(const wick_tokenizer *t, int32_t id, unsigned flags)
{
    return (flags & WICK_DETOKENIZE_SKIP_SPECIAL) && (t->flags[id] & WK_TOKF_SPECIAL);
}

// Runs the chain over pieces in a; the result is left in *res (a or b).
static wick_status run_chain(const wick_tokenizer *t, pieces *a, pieces *b, pieces **res,
                             bool lossy_bytes)
{
    pieces *cur = a, *nxt = b;
    wick_status rc = WICK_OK;
    for (int k = 0; k < t->n_dec && rc == WICK_OK; k++) {
        wk_buf_clear(&nxt->buf);
        nxt->sp.n = 0;
        rc = step(t, &t->dec[k], cur, nxt, lossy_bytes);
        pieces *tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    *res = cur;
    return rc;
}

wick_status wk_tok_decode(const wick_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                          wk_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        wick_status rc = check_id(t, ids[i]);
        if (rc < 0) { return rc; }
    }
    pieces a, b;
    pieces_init(&a);
    pieces_init(&b);
    wick_status rc = WICK_OK;
    for (size_t i = 0; i < n && rc == WICK_OK; i++) {
        if (skipped(t, ids[i], flags)) { continue; }
        rc = piece_add(&a, t->arena + t->doff[ids[i]], t->dlen[ids[i]]);
    }
    pieces *res = &a;
    if (rc == WICK_OK) { rc = run_chain(t, &a, &b, &res, true); }
    wk_buf raw;
    wk_buf_init(&raw, SIZE_MAX / 2);
    for (size_t i = 0; i < res->sp.n && rc == WICK_OK; i++) {
        if (t->n_dec == 0 && i > 0) { rc = wk_buf_append(&raw, " ", 1); } // HF: no decoder
        if (rc == WICK_OK) {
            rc = wk_buf_append(&raw, res->buf.data + res->sp.v[i].off, res->sp.v[i].len);
        }
    }
    if (rc == WICK_OK) {
        rc = wk_tok_utf8_lossy(out, (const uint8_t *)(raw.data ? raw.data : ""), raw.len);
    }
    wk_buf_free(&raw);
    pieces_free(&a);
    pieces_free(&b);
    return rc;
}

wick_status wick_detokenize(const wick_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                            char **text, size_t *len)
{
    if (text) { *text = NULL; }
    if (len) { *len = 0; }
    if (!t || !text || (!ids && n)) {
        return wk_fail(WICK_E_INVALID, "wick_detokenize: NULL argument");
    }
    wk_buf out;
    wk_buf_init(&out, SIZE_MAX / 2);
    wick_status rc = wk_tok_decode(t, ids, n, flags, &out);
    if (rc == WICK_OK && !out.data) { rc = wk_buf_append(&out, "", 0); }
    if (rc < 0) {
        wk_buf_free(&out);
        return rc;
    }
    size_t l = 0;
    *text = wk_buf_take(&out, &l);
    if (len) { *len = l; }
    return WICK_OK;
}

// --- streaming -----------------------------------------------------------------------------------
struct wick_detok_stream {
    const wick_tokenizer *t;
    unsigned flags;
    bool started;     // a piece was produced
    int *strip_left;  // per decoder: Strip characters still to take from the start of the text
    bool bytefallback; // the chain has ByteFallback: runs of byte tokens are decoded whole
    wk_buf held;       // the ids (int32_t) of the byte-token run not decoded yet
    wk_buf pending;
    wk_buf out;
    pieces a, b;
};

wick_status wick_detok_stream_create(const wick_tokenizer *t, unsigned flags,
                                     wick_detok_stream **out)
{
    if (out) { *out = NULL; }
    if (!t || !out) { return wk_fail(WICK_E_INVALID, "wick_detok_stream_create: NULL argument"); }
    wick_detok_stream *s = wk_calloc(1, sizeof *s);
    if (!s) { return wk_fail_nomem("detokenizer stream"); }
    s->t = t;
    s->flags = flags;
    s->strip_left = wk_calloc(t->n_dec > 0 ? (size_t)t->n_dec : 1, sizeof *s->strip_left);
    if (!s->strip_left) {
        wk_free(s);
        return wk_fail_nomem("detokenizer stream");
    }
    for (int k = 0; k < t->n_dec; k++) {
        if (t->dec[k].kind == WK_DEC_STRIP) { s->strip_left[k] = t->dec[k].start; }
        if (t->dec[k].kind == WK_DEC_BYTEFALLBACK) { s->bytefallback = true; }
    }
    wk_buf_init(&s->held, SIZE_MAX / 2);
    wk_buf_init(&s->pending, SIZE_MAX / 2);
    wk_buf_init(&s->out, SIZE_MAX / 2);
    pieces_init(&s->a);
    pieces_init(&s->b);
    *out = s;
    return WICK_OK;
}

void wick_detok_stream_destroy(wick_detok_stream *s)
{
    if (!s) { return; }
    wk_buf_free(&s->held);
    wk_buf_free(&s->pending);
    wk_buf_free(&s->out);
    pieces_free(&s->a);
    pieces_free(&s->b);
    wk_free(s->strip_left);
    wk_free(s);
}

// Strip's start counts characters of the whole decoded text (after Fuse), not of one token: a
// token that decodes to strip characters only uses up part of the count and the next token gets
// the rest. Returns the count left after the pieces of in.
static int strip_rest(const wk_dec *d, const pieces *in, int left)
{
    const uint8_t *b = (const uint8_t *)(in->buf.data ? in->buf.data : "");
    for (size_t i = 0; i < in->sp.n && left > 0; i++) {
        const uint8_t *s = b + in->sp.v[i].off;
        size_t n = in->sp.v[i].len, lo = 0;
        while (left > 0 && lo < n) {
            size_t adv;
            if (wk_tok_utf8_dec(s + lo, n - lo, &adv) != d->strip_cp) { return 0; }
            lo += adv;
            left--;
        }
        if (lo < n) { return 0; }
    }
    return left;
}

// Moves the complete part of pending to out (invalid sequences as U+FFFD), keeps an incomplete
// tail (or, when final, replaces it too).
static wick_status drain(wick_detok_stream *s, bool final)
{
    const uint8_t *p = (const uint8_t *)s->pending.data;
    size_t n = s->pending.len, i = 0;
    while (i < n && !final) {
        int k = wk_tok_utf8_seq(p + i, n - i);
        if (k < 0) { break; }
        i += k > 0 ? (size_t)k : 1;
    }
    if (final) { i = n; }
    wk_buf_clear(&s->out);
    wick_status rc = wk_tok_utf8_lossy(&s->out, p ? p : (const uint8_t *)"", i);
    if (rc == WICK_OK && !s->out.data) { rc = wk_buf_append(&s->out, "", 0); }
    if (rc < 0) { return rc; }
    if (n > i) { memmove(s->pending.data, s->pending.data + i, n - i); }
    s->pending.len = n - i;
    if (s->pending.data) { s->pending.data[s->pending.len] = '\0'; }
    return WICK_OK;
}

// Decodes ids[0..n) through the chain as one stretch of the text (Strip's start only at the
// beginning of the text) and appends the result to pending.
static wick_status feed(wick_detok_stream *s, const int32_t *ids, size_t n)
{
    const wick_tokenizer *t = s->t;
    wk_buf_clear(&s->a.buf);
    s->a.sp.n = 0;
    wick_status rc = WICK_OK;
    for (size_t i = 0; i < n && rc == WICK_OK; i++) {
        rc = piece_add(&s->a, t->arena + t->doff[ids[i]], t->dlen[ids[i]]);
    }
    pieces *res = &s->a;
    for (int k = 0; k < t->n_dec && rc == WICK_OK; k++) {
        wk_dec d = t->dec[k];
        if (d.kind == WK_DEC_STRIP) {
            d.start = s->strip_left[k];
            d.stop = 0;
            s->strip_left[k] = strip_rest(&d, res, d.start);
        }
        if (d.kind == WK_DEC_WORDPIECE && s->started) { d.start = 0; }
        pieces *nxt = res == &s->a ? &s->b : &s->a;
        wk_buf_clear(&nxt->buf);
        nxt->sp.n = 0;
        rc = step(t, &d, res, nxt, true);
        res = nxt;
    }
    for (size_t i = 0; i < res->sp.n && rc == WICK_OK; i++) {
        if (t->n_dec == 0 && s->started) { rc = wk_buf_append(&s->pending, " ", 1); }
        if (rc == WICK_OK) {
            rc = wk_buf_append(&s->pending, res->buf.data + res->sp.v[i].off, res->sp.v[i].len);
        }
        s->started = true;
    }
    return rc;
}

// Decodes the held run of byte tokens: ByteFallback keeps a run whole when it is valid UTF-8
// and replaces every byte of it otherwise, so the run's text is known only once it has ended.
static wick_status feed_held(wick_detok_stream *s)
{
    size_t n = s->held.len / sizeof(int32_t);
    if (n == 0) { return WICK_OK; }
    wick_status rc = feed(s, (const int32_t *)(const void *)s->held.data, n);
    wk_buf_clear(&s->held);
    return rc;
}

wick_status wick_detok_stream_push(wick_detok_stream *s, int32_t id, const char **piece,
                                   size_t *len)
{
    if (piece) { *piece = ""; }
    if (len) { *len = 0; }
    if (!s || !piece || !len) { return wk_fail(WICK_E_INVALID, "wick_detok_stream_push: NULL"); }
    const wick_tokenizer *t = s->t;
    wick_status rc = check_id(t, id);
    if (rc < 0) { return rc; }
    if (!skipped(t, id, s->flags)) {
        uint8_t byte;
        if (s->bytefallback && byte_token(t->arena + t->doff[id], t->dlen[id], &byte)) {
            rc = wk_buf_append(&s->held, &id, sizeof id);
        } else {
            rc = feed_held(s);
            if (rc == WICK_OK) { rc = feed(s, &id, 1); }
        }
    }
    if (rc == WICK_OK) { rc = drain(s, false); }
    if (rc < 0) { return rc; }
    *piece = s->out.data;
    *len = s->out.len;
    return WICK_OK;
}

wick_status wick_detok_stream_finish(wick_detok_stream *s, const char **piece, size_t *len)
{
    if (piece) { *piece = ""; }
    if (len) { *len = 0; }
    if (!s || !piece || !len) { return wk_fail(WICK_E_INVALID, "wick_detok_stream_finish: NULL"); }
    wick_status rc = feed_held(s);
    if (rc == WICK_OK) { rc = drain(s, true); }
    if (rc < 0) { return rc; }
    *piece = s->out.data;
    *len = s->out.len;
    return WICK_OK;
}
