// encode.c — text to ids: UTF-8 cleanup, added tokens, normalizers, pre-tokenizers, BPE,
// post-processing.
#include <string.h>

#include "tok/tok.h"

// --- the pipeline for one segment between added tokens -------------------------------------------
typedef struct enc_state {
    const wick_tokenizer *t;
    unsigned flags;
    wk_tok_ids *out;
    wk_buf norm, work;
    wk_tok_spans a, b;
    size_t first_end;   // pieces starting before this offset come from the text's first character
    size_t fixed_first; // when the segment arrives normalized: first_end measured before (or 0)
} enc_state;

// Re-spells every piece in the GPT-2 alphabet (appended to the work buffer).
static wick_status to_alphabet(enc_state *e, wk_tok_spans *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        size_t off = e->work.len;
        for (uint32_t k = 0; k < sp->v[i].len; k++) {
            uint8_t tmp[4];
            uint8_t b = (uint8_t)e->work.data[sp->v[i].off + k];
            wick_status rc =
                wk_buf_append(&e->work, tmp, wk_tok_utf8_enc(wk_tok_bl_byte_to_cp[b], tmp));
            if (rc < 0) { return rc; }
        }
        sp->v[i] = (wk_tok_span){(uint32_t)off, (uint32_t)(e->work.len - off)};
    }
    return WICK_OK;
}

// The model over every piece; pieces in the GPT-2 alphabet go back to bytes first (characters
// outside it stay as they are).
static wick_status model_spans(enc_state *e, const wk_tok_spans *sp, bool bl_text)
{
    wk_buf raw;
    wk_buf_init(&raw, SIZE_MAX / 2);
    wick_status rc = WICK_OK;
    for (size_t i = 0; i < sp->n && rc == WICK_OK; i++) {
        const char *s = e->work.data + sp->v[i].off;
        size_t n = sp->v[i].len;
        if (bl_text) {
            wk_buf_clear(&raw);
            if (!wk_tok_bl_decode(s, n, &raw, &rc)) {
                if (rc < 0) { break; }
                rc = wk_buf_append(&raw, s, n);
            }
            if (rc < 0) { break; }
            s = raw.data ? raw.data : "";
            n = raw.len;
        }
        rc = wk_tok_model_piece(e->t, (const uint8_t *)s, n, e->out);
    }
    wk_buf_free(&raw);
    return rc;
}

// Metaspace: spaces become the replacement, a replacement is prepended (scheme), and with split the
// text is cut before each replacement (MergedWithNext).
static wick_status metaspace(enc_state *e, const wk_pre *p, bool first, wk_tok_spans *cur,
                             wk_tok_spans *next)
{
    wick_status rc = WICK_OK;
    wk_buf rep;
    wk_buf_init(&rep, SIZE_MAX / 2);
    for (size_t i = 0; i < cur->n && rc == WICK_OK; i++) {
        // spaces become the replacement (into rep: appending to work may move it)
        wk_buf_clear(&rep);
        const char *src = e->work.data + cur->v[i].off;
        size_t len = cur->v[i].len, run = 0;
        for (size_t k = 0; k < len && rc == WICK_OK; k++) {
            if (src[k] == ' ') {
                rc = wk_buf_append(&rep, src + run, k - run);
                if (rc == WICK_OK) { rc = wk_buf_append(&rep, p->replacement, p->replacement_len); }
                run = k + 1;
            }
        }
        if (rc == WICK_OK) { rc = wk_buf_append(&rep, src + run, len - run); }
        if (rc < 0) { break; }
        size_t off = e->work.len;
        bool starts = rep.len >= p->replacement_len &&
                      memcmp(rep.data, p->replacement, p->replacement_len) == 0;
        // "first": the piece begins at the text's first character (HF: offsets_original().0 == 0)
        bool at_start = first && cur->v[i].off < e->first_end;
        if ((p->prepend == 2 || (p->prepend == 1 && at_start)) && !starts) {
            rc = wk_buf_append(&e->work, p->replacement, p->replacement_len);
        }
        if (rc == WICK_OK) { rc = wk_buf_append(&e->work, rep.data, rep.len); }
        if (rc < 0) { break; }
        size_t nlen = e->work.len - off;
        if (!p->msplit) {
            rc = wk_tok_spans_push(next, off, nlen);
            continue;
        }
        // MergedWithNext on the replacement
        const char *w = e->work.data + off;
        size_t start = 0, pos = 0;
        while (pos + p->replacement_len <= nlen) {
            const char *q = wk_tok_find(w + pos, nlen - pos, p->replacement, p->replacement_len);
            if (!q) { break; }
            size_t at = (size_t)(q - w);
            if (at > start) {
                rc = wk_tok_spans_push(next, off + start, at - start);
                if (rc < 0) { break; }
                start = at;
            }
            pos = at + p->replacement_len;
        }
        if (rc == WICK_OK) { rc = wk_tok_spans_push(next, off + start, nlen - start); }
    }
    wk_buf_free(&rep);
    return rc;
}

static wick_status encode_segment(enc_state *e, const char *s, size_t n, bool first)
{
    const wick_tokenizer *t = e->t;
    if (n == 0) { return WICK_OK; }
    wick_status rc;
    e->first_end = e->fixed_first;
    for (int k = 0; first && !e->fixed_first && k < t->n_pre; k++) {
        if (t->pre[k].kind != WK_PRE_METASPACE || t->pre[k].prepend != 1) { continue; }
        // where the first character ends once normalized (a Prepend joins it)
        size_t adv;
        wk_tok_utf8_dec((const uint8_t *)s, n, &adv);
        e->first_end = adv;
        if (t->n_norm > 0) {
            rc = wk_tok_normalize(t, s, adv, &e->norm);
            if (rc < 0) { return rc; }
            e->first_end = WK_MAX(e->norm.len, 1);
        }
        break;
    }
    if (t->n_norm > 0) {
        rc = wk_tok_normalize(t, s, n, &e->norm);
        if (rc < 0) { return rc; }
        s = e->norm.data ? e->norm.data : "";
        n = e->norm.len;
        if (n == 0) { return WICK_OK; }
    }
    // Fast path: a single hand-split step (ByteLevel steps without prefix/regex are identities).
    const wk_pre *only = NULL;
    int n_real = 0;
    for (int k = 0; k < t->n_pre; k++) {
        const wk_pre *p = &t->pre[k];
        if (p->kind == WK_PRE_BYTELEVEL && !p->add_prefix_space && !p->use_regex) { continue; }
        only = p;
        n_real++;
    }
    if (n_real == 0 && !t->norm_bl) { return wk_tok_model_piece(t, (const uint8_t *)s, n, e->out); }
    if (n_real == 1 && !t->norm_bl && only->kind == WK_PRE_SPLIT && only->fast != WK_FAST_NONE &&
        ((only->behavior == WK_SPLIT_ISOLATED && !only->invert) ||
         (only->behavior == WK_SPLIT_REMOVED && only->invert))) {
        const uint8_t *u = (const uint8_t *)s;
        size_t i = 0;
        while (i < n) {
            size_t end = wk_tok_fast_next(only->fast, u, n, i);
            rc = wk_tok_model_piece(t, u + i, end - i, e->out);
            if (rc < 0) { return rc; }
            i = end;
        }
        return WICK_OK;
    }
    // General path: pieces as spans over the work buffer.
    bool bl_text = t->norm_bl; // pieces spelled in the GPT-2 alphabet
    wk_buf_clear(&e->work);
    rc = wk_buf_append(&e->work, s, n);
    if (rc < 0) { return rc; }
    e->a.n = 0;
    rc = wk_tok_spans_push(&e->a, 0, n);
    wk_tok_spans *cur = &e->a, *next = &e->b;
    for (int k = 0; k < t->n_pre && rc == WICK_OK; k++) {
        const wk_pre *p = &t->pre[k];
        next->n = 0;
        if (p->kind == WK_PRE_METASPACE) {
            rc = metaspace(e, p, first, cur, next);
        } else {
            for (size_t i = 0; i < cur->n && rc == WICK_OK; i++) {
                size_t off = cur->v[i].off, len = cur->v[i].len;
                if (p->kind == WK_PRE_BYTELEVEL && p->add_prefix_space &&
                    e->work.data[off] != ' ') {
                    size_t noff = e->work.len;
                    rc = wk_buf_append(&e->work, " ", 1);
                    if (rc == WICK_OK) { rc = wk_buf_reserve(&e->work, len); }
                    if (rc < 0) { break; }
                    memcpy(e->work.data + e->work.len, e->work.data + off, len);
                    e->work.len += len;
                    e->work.data[e->work.len] = '\0';
                    off = noff;
                    len += 1;
                }
                if (p->kind == WK_PRE_BYTELEVEL && !p->use_regex) {
                    rc = wk_tok_spans_push(next, off, len);
                } else {
                    rc = wk_tok_pre_split(p, e->work.data + off, len, off, next);
                }
            }
        }
        wk_tok_spans *tmp = cur;
        cur = next;
        next = tmp;
        // Steps after a ByteLevel one see the GPT-2 alphabet's characters, one per byte (falcon's
        // Digits cuts "\xC3\xBC" because U+00BC is a number).
        if (rc == WICK_OK && p->kind == WK_PRE_BYTELEVEL && !bl_text && k + 1 < t->n_pre) {
            rc = to_alphabet(e, cur);
            bl_text = true;
        }
    }
    if (rc == WICK_OK) { rc = model_spans(e, cur, bl_text); }
    return rc;
}

// Segments between normalized added tokens (matched after normalization): only when some exist.
static wick_status encode_text_part(enc_state *e, const char *s, size_t n, bool first);

// The longest added token starting at s[i] that may match; -1 if none.
static int match_added(const wick_tokenizer *t, const char *s, size_t n, size_t i, bool normalized,
                       bool parse_special, size_t *mlen)
{
    int node = 0, best = -1;
    for (size_t j = i; j < n; j++) {
        int child = wk_trie_child(&t->trie, node, (uint8_t)s[j]);
        if (child < 0) { break; }
        node = child;
        int a = t->trie.nodes[node].value;
        if (a >= 0 && t->added[a].normalized == normalized &&
            (parse_special || !t->added[a].special)) {
            best = a;
            *mlen = j + 1 - i;
        }
    }
    return best;
}

static bool is_word_char(const char *s, size_t i, size_t n)
{
    size_t adv;
    uint32_t cp = wk_tok_utf8_dec((const uint8_t *)s + i, n - i, &adv);
    return cp == '_' || (wk_tok_cc[cp] & (WK_CC_L | WK_CC_N)) != 0;
}

// Splits s at added tokens of one kind (normalized or not); the parts in between go to part().
static wick_status split_added(enc_state *e, const char *s, size_t n, bool normalized, bool first,
                               wick_status (*part)(enc_state *, const char *, size_t, bool))
{
    const wick_tokenizer *t = e->t;
    bool parse_special = (e->flags & WICK_TOKENIZE_PARSE_SPECIAL) != 0;
    size_t seg = 0, i = 0;
    wick_status rc;
    while (i < n) {
        if (!normalized && !t->added_first[(uint8_t)s[i]]) {
            i++;
            continue;
        }
        size_t mlen = 0;
        int a = t->trie.n ? match_added(t, s, n, i, normalized, parse_special, &mlen) : -1;
        if (a < 0) {
            i++;
            continue;
        }
        const wk_added *ad = &t->added[a];
        size_t start = i, stop = i + mlen;
        if (ad->single_word) {
            bool ok_l = start == 0 || !is_word_char(s, wk_tok_prev_char(s, start), n);
            bool ok_r = stop == n || !is_word_char(s, stop, n);
            if (!ok_l || !ok_r) {
                i++;
                continue;
            }
        }
        if (ad->lstrip) {
            size_t ns = start;
            while (ns > seg) {
                size_t p = wk_tok_prev_char(s, ns), adv;
                if (!wk_tok_is_ws(wk_tok_utf8_dec((const uint8_t *)s + p, ns - p, &adv))) { break; }
                ns = p;
            }
            start = ns;
        }
        if (ad->rstrip) { stop += wk_tok_strip_left(s + stop, n - stop); }
        rc = part(e, s + seg, start - seg, first && seg == 0);
        if (rc == WICK_OK) { rc = wk_tok_ids_push(e->out, ad->id); }
        if (rc < 0) { return rc; }
        seg = i = stop;
    }
    return part(e, s + seg, n - seg, first && seg == 0);
}

static wick_status encode_normalized_part(enc_state *e, const char *s, size_t n, bool first)
{
    return encode_segment(e, s, n, first);
}

static wick_status encode_text_part(enc_state *e, const char *s, size_t n, bool first)
{
    const wick_tokenizer *t = e->t;
    if (!t->any_normalized_added || n == 0) { return encode_segment(e, s, n, first); }
    // Normalize first, then look for the normalized added tokens in the result.
    wk_buf nb;
    wk_buf_init(&nb, SIZE_MAX / 2);
    size_t adv;
    wk_tok_utf8_dec((const uint8_t *)s, n, &adv);
    wick_status rc = wk_tok_normalize(t, s, adv, &nb); // where the first character ends, normalized
    size_t first_end = WK_MAX(nb.len, 1);
    if (rc == WICK_OK) { rc = wk_tok_normalize(t, s, n, &nb); }
    if (rc == WICK_OK) {
        // the segments are normalized already: run them without normalizers
        wick_tokenizer tmp = *t;
        tmp.n_norm = 0;
        enc_state e2 = *e;
        e2.t = &tmp;
        e2.fixed_first = first ? first_end : 0;
        rc = split_added(&e2, nb.data ? nb.data : "", nb.len, true, first,
                         encode_normalized_part);
        e->norm = e2.norm;
        e->work = e2.work;
        e->a = e2.a;
        e->b = e2.b;
    }
    wk_buf_free(&nb);
    return rc;
}

// Python's str.isspace(): White_Space plus the separators U+001C..U+001F.
static bool py_isspace(uint32_t cp)
{
    return wk_tok_is_ws(cp) || (cp >= 0x1C && cp <= 0x1F);
}

// tokenization_kimi.py's encode(): 400000-character chunks, each split where a run of
// whitespace or non-whitespace passes 25000 characters (_split_whitespaces_or_nonwhitespaces);
// every part is encoded on its own, special tokens included.
static wick_status encode_chunks(enc_state *e, const char *s, size_t n)
{
    enum { MAX_CHARS = 400000, MAX_RUN = 25000 };
    const uint8_t *u = (const uint8_t *)s;
    size_t pos = 0;
    while (pos < n) {
        size_t end = pos, chars = 0, adv;
        while (end < n && chars < MAX_CHARS) {
            wk_tok_utf8_dec(u + end, n - end, &adv);
            end += adv;
            chars++;
        }
        // the runs inside [pos, end)
        size_t start = pos, i = pos, run = 0;
        bool space = py_isspace(wk_tok_utf8_dec(u + pos, n - pos, &adv));
        while (i < end) {
            bool now = py_isspace(wk_tok_utf8_dec(u + i, n - i, &adv));
            if (now != space) {
                run = 1;
                space = now;
            } else if (++run > MAX_RUN) {
                wick_status rc =
                    split_added(e, s + start, i - start, false, true, encode_text_part);
                if (rc < 0) { return rc; }
                start = i;
                run = 1;
            }
            i += adv;
        }
        wick_status rc = split_added(e, s + start, end - start, false, true, encode_text_part);
        if (rc < 0) { return rc; }
        pos = end;
    }
    return WICK_OK;
}

wick_status wk_tok_encode(const wick_tokenizer *t, const char *text, size_t len, unsigned flags,
                          wk_tok_ids *out)
{
    if (len > WK_TOK_MAX_TEXT) {
        return wk_fail(WICK_E_RANGE, "text of %zu bytes is too long to tokenize", len);
    }
    enc_state e = {.t = t, .flags = flags, .out = out};
    wk_buf_init(&e.norm, SIZE_MAX / 2);
    wk_buf_init(&e.work, SIZE_MAX / 2);
    wk_buf clean;
    wk_buf_init(&clean, SIZE_MAX / 2);
    wick_status rc = WICK_OK;
    // RWKV's tokens are byte strings: its text stays as it is (llama.cpp), invalid UTF-8 included
    if (t->model != WK_MODEL_RWKV && !wk_tok_utf8_valid((const uint8_t *)text, len)) {
        rc = wk_tok_utf8_lossy(&clean, (const uint8_t *)text, len);
        text = clean.data;
        len = clean.len;
    }
    bool add = (flags & WICK_TOKENIZE_ADD_SPECIAL) != 0;
    for (int i = 0; add && i < t->n_post_pre && rc == WICK_OK; i++) {
        rc = wk_tok_ids_push(out, t->post_pre[i]);
    }
    if (rc == WICK_OK && len > 0) {
        rc = t->tiktoken_chunks ? encode_chunks(&e, text, len)
                                : split_added(&e, text, len, false, true, encode_text_part);
    }
    for (int i = 0; add && i < t->n_post_post && rc == WICK_OK; i++) {
        rc = wk_tok_ids_push(out, t->post_post[i]);
    }
    wk_buf_free(&clean);
    wk_buf_free(&e.norm);
    wk_buf_free(&e.work);
    wk_free(e.a.v);
    wk_free(e.b.v);
    return rc;
}

// --- public --------------------------------------------------------------------------------------
wick_status wick_tokenize_alloc(const wick_tokenizer *t, const char *text, size_t len,
                                unsigned flags, int32_t **ids, size_t *n_out)
{
    if (ids) { *ids = NULL; }
    if (n_out) { *n_out = 0; }
    if (!t || !ids || !n_out || (!text && len)) {
        return wk_fail(WICK_E_INVALID, "wick_tokenize: NULL argument");
    }
    wk_tok_ids out = {0};
    wick_status rc = wk_tok_encode(t, text ? text : "", len, flags, &out);
    if (rc < 0) {
        wk_free(out.v);
        return rc;
    }
    if (out.n == 0) {
        wk_free(out.v);
        out.v = NULL;
    }
    *ids = out.v;
    *n_out = out.n;
    return WICK_OK;
}

wick_status wick_tokenize(const wick_tokenizer *t, const char *text, size_t len, unsigned flags,
                          int32_t *ids, size_t n_max, size_t *n_out)
{
    if (n_out) { *n_out = 0; }
    if (!t || !n_out || (!text && len) || (!ids && n_max)) {
        return wk_fail(WICK_E_INVALID, "wick_tokenize: NULL argument");
    }
    wk_tok_ids out = {0};
    wick_status rc = wk_tok_encode(t, text ? text : "", len, flags, &out);
    if (rc == WICK_OK) {
        *n_out = out.n;
        size_t k = WK_MIN(out.n, n_max);
        if (k) { memcpy(ids, out.v, k * sizeof *ids); }
        if (out.n > n_max) {
            rc = wk_fail(WICK_E_RANGE, "the text needs %zu tokens, the buffer holds %zu", out.n,
                         n_max);
        }
    }
    wk_free(out.v);
    return rc;
}
