// encode.c — text to ids: UTF-8 cleanup, added tokens, normalizers, pre-tokenizers, BPE,
// post-processing.
#include <oniguruma.h>
#include <string.h>
#include <utf8proc.h>

#include "tok/tok.h"

// --- normalizers ---------------------------------------------------------------------------------
static bool all_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((uint8_t)s[i] >= 0x80) { return false; }
    }
    return true;
}

// Characters that NFC leaves alone wherever they stand: no decomposition, and none composes with
// what precedes it (combining marks, Hangul jamo, singletons like U+2000 or U+212B are not here).
static bool nfc_inert(uint32_t cp)
{
    return cp < 0x300 || (cp >= 0x400 && cp <= 0x482) || (cp >= 0x48A && cp <= 0x4FF) ||
           (cp >= 0x3040 && cp <= 0x3098) || (cp >= 0x309B && cp <= 0x30FF) ||
           (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
           (cp >= 0xFF01 && cp <= 0xFF5E) || (cp >= 0x1F300 && cp <= 0x1FAFF);
}

static bool nfc_quick(const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t adv;
        if (!nfc_inert(wk_tok_utf8_dec(u + i, n - i, &adv))) { return false; }
        i += adv;
    }
    return true;
}

static wick_status unicode_form_run(const char *s, size_t n, utf8proc_option_t opt, wk_buf *out);

// NFC line by line: a newline is inert, so NFC(a "\n" b) = NFC(a) "\n" NFC(b), and only lines
// with a character that NFC might touch go through utf8proc.
static wick_status unicode_form(const char *s, size_t n, utf8proc_option_t opt, wk_buf *out)
{
    if (opt != UTF8PROC_COMPOSE) { return unicode_form_run(s, n, opt, out); }
    size_t pos = 0;
    while (pos < n) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) + 1 : n;
        wick_status rc = nfc_quick(s + pos, end - pos)
                             ? wk_buf_append(out, s + pos, end - pos)
                             : unicode_form_run(s + pos, end - pos, opt, out);
        if (rc < 0) { return rc; }
        pos = end;
    }
    return WICK_OK;
}

static wick_status unicode_form_run(const char *s, size_t n, utf8proc_option_t opt, wk_buf *out)
{
    if (all_ascii(s, n)) { return wk_buf_append(out, s, n); }
    opt |= UTF8PROC_STABLE;
    utf8proc_ssize_t need = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n,
                                               NULL, 0, opt);
    if (need < 0) { return wk_fail(WICK_E_INTERNAL, "normalizer: %s", utf8proc_errmsg(need)); }
    size_t bytes;
    if (!wk_mul_size((size_t)need + 1, sizeof(utf8proc_int32_t), &bytes)) {
        return wk_fail_nomem("normalizer");
    }
    utf8proc_int32_t *buf = wk_malloc(bytes);
    if (!buf) { return wk_fail_nomem("normalizer"); }
    utf8proc_ssize_t got = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n,
                                              buf, need, opt);
    wick_status rc = WICK_OK;
    if (got < 0 || got > need) {
        rc = wk_fail(WICK_E_INTERNAL, "normalizer: decompose failed");
    } else {
        utf8proc_ssize_t m = utf8proc_reencode(buf, got, opt);
        if (m < 0) {
            rc = wk_fail(WICK_E_INTERNAL, "normalizer: %s", utf8proc_errmsg(m));
        } else {
            rc = wk_buf_append(out, buf, (size_t)m);
        }
    }
    wk_free(buf);
    return rc;
}

// Rust's str::to_lowercase: the simple mappings, plus U+0130 -> "i\u0307" and the final sigma
// (a capital sigma after a letter and not before one becomes U+03C2).
static wick_status lowercase(const char *s, size_t n, wk_buf *out)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    bool prev_letter = false;
    while (i < n) {
        size_t adv;
        uint32_t cp = wk_tok_utf8_dec(u + i, n - i, &adv);
        uint8_t tmp[8];
        size_t k;
        if (cp == 0x130) {
            k = wk_tok_utf8_enc('i', tmp);
            k += wk_tok_utf8_enc(0x307, tmp + k);
        } else if (cp == 0x3A3 && prev_letter) {
            size_t a2;
            bool next_letter =
                i + adv < n &&
                (wk_tok_cc[wk_tok_utf8_dec(u + i + adv, n - i - adv, &a2)] & WK_CC_L);
            k = wk_tok_utf8_enc(next_letter ? 0x3C3 : 0x3C2, tmp);
        } else {
            k = wk_tok_utf8_enc((uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), tmp);
        }
        uint8_t cc = wk_tok_cc[cp];
        if (!(cc & WK_CC_M)) { prev_letter = (cc & WK_CC_L) != 0; } // marks are case-ignorable
        wick_status rc = wk_buf_append(out, tmp, k);
        if (rc < 0) { return rc; }
        i += adv;
    }
    return WICK_OK;
}

static wick_status replace(const wk_norm *nm, const char *s, size_t n, wk_buf *out)
{
    size_t pos = 0;
    if (nm->re) {
        OnigRegion *reg = onig_region_new();
        if (!reg) { return wk_fail_nomem("regex region"); }
        const OnigUChar *u = (const OnigUChar *)s;
        size_t at = 0;
        wick_status rc = WICK_OK;
        while (at <= n && rc == WICK_OK) {
            int r = onig_search((OnigRegex)nm->re, u, u + n, u + at, u + n, reg, ONIG_OPTION_NONE);
            if (r < 0) { break; }
            size_t ms = (size_t)reg->beg[0], me = (size_t)reg->end[0];
            if (me == ms) {
                if (ms >= n) { break; }
                size_t adv;
                wk_tok_utf8_dec(u + ms, n - ms, &adv);
                at = ms + adv;
                continue;
            }
            rc = wk_buf_append(out, s + pos, ms - pos);
            if (rc == WICK_OK) { rc = wk_buf_append(out, nm->content, nm->content_len); }
            pos = at = me;
        }
        onig_region_free(reg, 1);
        if (rc < 0) { return rc; }
        return wk_buf_append(out, s + pos, n - pos);
    }
    while (nm->pat_len > 0 && pos + nm->pat_len <= n) {
        const char *p = wk_tok_find(s + pos, n - pos, nm->pat, nm->pat_len);
        if (!p) { break; }
        size_t ms = (size_t)(p - s);
        wick_status rc = wk_buf_append(out, s + pos, ms - pos);
        if (rc == WICK_OK) { rc = wk_buf_append(out, nm->content, nm->content_len); }
        if (rc < 0) { return rc; }
        pos = ms + nm->pat_len;
    }
    return wk_buf_append(out, s + pos, n - pos);
}

static size_t strip_left(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t adv;
        if (!wk_tok_is_ws(wk_tok_utf8_dec((const uint8_t *)s + i, n - i, &adv))) { break; }
        i += adv;
    }
    return i;
}

static size_t prev_char(const char *s, size_t i)
{
    do {
        i--;
    } while (i > 0 && ((uint8_t)s[i] & 0xC0) == 0x80);
    return i;
}

static size_t strip_right(const char *s, size_t n, size_t from)
{
    size_t e = n;
    while (e > from) {
        size_t p = prev_char(s, e), adv;
        if (!wk_tok_is_ws(wk_tok_utf8_dec((const uint8_t *)s + p, e - p, &adv))) { break; }
        e = p;
    }
    return e;
}

wick_status wk_tok_normalize(const wick_tokenizer *t, const char *s, size_t n, wk_buf *out)
{
    wk_buf a, b;
    wk_buf_init(&a, SIZE_MAX / 2);
    wk_buf_init(&b, SIZE_MAX / 2);
    wick_status rc = wk_buf_append(&a, s, n);
    for (int k = 0; k < t->n_norm && rc == WICK_OK; k++) {
        const wk_norm *nm = &t->norm[k];
        wk_buf_clear(&b);
        const char *src = a.data ? a.data : "";
        size_t len = a.len;
        switch (nm->kind) {
        case WK_NORM_NFC: rc = unicode_form(src, len, UTF8PROC_COMPOSE, &b); break;
        case WK_NORM_NFD: rc = unicode_form(src, len, UTF8PROC_DECOMPOSE, &b); break;
        case WK_NORM_NFKC:
            rc = unicode_form(src, len, UTF8PROC_COMPOSE | UTF8PROC_COMPAT, &b);
            break;
        case WK_NORM_NFKD:
            rc = unicode_form(src, len, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &b);
            break;
        case WK_NORM_LOWER: rc = lowercase(src, len, &b); break;
        case WK_NORM_REPLACE: rc = replace(nm, src, len, &b); break;
        case WK_NORM_PREPEND:
            if (len > 0) { rc = wk_buf_append(&b, nm->pat, nm->pat_len); }
            if (rc == WICK_OK) { rc = wk_buf_append(&b, src, len); }
            break;
        case WK_NORM_STRIP: {
            size_t l = nm->left ? strip_left(src, len) : 0;
            size_t r = nm->right ? strip_right(src, len, l) : len;
            rc = wk_buf_append(&b, src + l, r - l);
            break;
        }
        default: rc = wk_fail(WICK_E_INTERNAL, "normalizer kind %d", nm->kind);
        }
        wk_buf tmp = a;
        a = b;
        b = tmp;
    }
    wk_buf_free(&b);
    if (rc < 0) {
        wk_buf_free(&a);
        return rc;
    }
    wk_buf_free(out);
    *out = a;
    return WICK_OK;
}

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

static wick_status bpe_spans(enc_state *e, const char *base, const wk_tok_spans *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        wick_status rc =
            wk_tok_bpe_piece(e->t, (const uint8_t *)base + sp->v[i].off, sp->v[i].len, e->out);
        if (rc < 0) { return rc; }
    }
    return WICK_OK;
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
    if (n_real == 0) { return wk_tok_bpe_piece(t, (const uint8_t *)s, n, e->out); }
    if (n_real == 1 && only->kind == WK_PRE_SPLIT && only->fast != WK_FAST_NONE &&
        ((only->behavior == WK_SPLIT_ISOLATED && !only->invert) ||
         (only->behavior == WK_SPLIT_REMOVED && only->invert))) {
        const uint8_t *u = (const uint8_t *)s;
        size_t i = 0;
        while (i < n) {
            size_t end = wk_tok_fast_next(only->fast, u, n, i);
            rc = wk_tok_bpe_piece(t, u + i, end - i, e->out);
            if (rc < 0) { return rc; }
            i = end;
        }
        return WICK_OK;
    }
    // General path: pieces as spans over the work buffer.
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
    }
    if (rc == WICK_OK) { rc = bpe_spans(e, e->work.data, cur); }
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
        const wk_trie_node *nd = &t->trie[node];
        uint8_t c = (uint8_t)s[j];
        int child = -1;
        uint32_t lo = nd->first, hi = nd->first + nd->n;
        while (lo < hi) { // edges are sorted
            uint32_t mid = (lo + hi) / 2;
            if (t->edges[mid].byte < c) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo < nd->first + nd->n && t->edges[lo].byte == c) { child = t->edges[lo].child; }
        if (child < 0) { break; }
        node = child;
        int a = t->trie[node].added;
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
        int a = t->n_trie ? match_added(t, s, n, i, normalized, parse_special, &mlen) : -1;
        if (a < 0) {
            i++;
            continue;
        }
        const wk_added *ad = &t->added[a];
        size_t start = i, stop = i + mlen;
        if (ad->single_word) {
            bool ok_l = start == 0 || !is_word_char(s, prev_char(s, start), n);
            bool ok_r = stop == n || !is_word_char(s, stop, n);
            if (!ok_l || !ok_r) {
                i++;
                continue;
            }
        }
        if (ad->lstrip) {
            size_t ns = start;
            while (ns > seg) {
                size_t p = prev_char(s, ns), adv;
                if (!wk_tok_is_ws(wk_tok_utf8_dec((const uint8_t *)s + p, ns - p, &adv))) { break; }
                ns = p;
            }
            start = ns;
        }
        if (ad->rstrip) { stop += strip_left(s + stop, n - stop); }
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
    if (!wk_tok_utf8_valid((const uint8_t *)text, len)) {
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
