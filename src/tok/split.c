// split.c — pre-tokenizer splitting: Oniguruma regexes (the general path, as Hugging Face
// tokenizers runs them), literal patterns, character classes (Digits, Punctuation, whitespace),
// the split behaviours, and the dispatch to the hand-written splitters of fast_split.c.
#include <oniguruma.h>
#include <string.h>

#include "tok/tok.h"

// --- Oniguruma -----------------------------------------------------------------------------------
wick_status wk_tok_regex_new(const char *pat, size_t len, const char *what, void **out)
{
    *out = NULL;
    wick_status rc = wk_tok_global_init();
    if (rc < 0) { return rc; }
    OnigRegex re = NULL;
    OnigErrorInfo einfo;
    int r = onig_new(&re, (const OnigUChar *)pat, (const OnigUChar *)pat + len, ONIG_OPTION_NONE,
                     ONIG_ENCODING_UTF8, ONIG_SYNTAX_ONIGURUMA, &einfo);
    if (r != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r, &einfo);
        return wk_fail(WICK_E_FORMAT, "%s: bad regex: %s", what, (const char *)msg);
    }
    *out = re;
    return WICK_OK;
}

void wk_tok_regex_free(void *re)
{
    if (re) { onig_free((OnigRegex)re); }
}

wick_status wk_tok_spans_push(wk_tok_spans *s, size_t off, size_t len)
{
    if (len == 0) { return WICK_OK; }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        wk_tok_span *v = wk_realloc(s->v, cap * sizeof *v);
        if (!v) { return wk_fail_nomem("pre-tokenizer pieces"); }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (wk_tok_span){(uint32_t)off, (uint32_t)len};
    return WICK_OK;
}

// A split of the text: [start, end) and whether the pattern matched it.
typedef struct msplit {
    uint32_t start, end;
    bool match;
} msplit;
typedef struct msplits {
    msplit *v;
    size_t n, cap;
} msplits;

static wick_status ms_push(msplits *m, size_t a, size_t b, bool match)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        msplit *v = wk_realloc(m->v, cap * sizeof *v);
        if (!v) { return wk_fail_nomem("pre-tokenizer splits"); }
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = (msplit){(uint32_t)a, (uint32_t)b, match};
    return WICK_OK;
}

// Matches of the regex in text, with the gaps between them (Hugging Face's find_matches over the
// onig crate's find_iter): empty matches count (they cut the text), except an empty match where the
// previous match ended, after which the search moves on by one character.
static wick_status regex_splits(OnigRegex re, const char *text, size_t n, msplits *out)
{
    OnigRegion *reg = onig_region_new();
    if (!reg) { return wk_fail_nomem("regex region"); }
    const OnigUChar *s = (const OnigUChar *)text, *end = s + n;
    size_t pos = 0, prev = 0, last_end = SIZE_MAX;
    wick_status rc = WICK_OK;
    while (pos <= n) {
        int r = onig_search(re, s, end, s + pos, end, reg, ONIG_OPTION_NONE);
        if (r == ONIG_MISMATCH) { break; }
        if (r < 0) {
            OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
            onig_error_code_to_str(msg, r);
            rc = wk_fail(WICK_E_UNSUPPORTED, "pre-tokenizer regex failed: %s", (const char *)msg);
            break;
        }
        size_t ms = (size_t)reg->beg[0], me = (size_t)reg->end[0];
        if (me == ms && last_end == me) { // not again: step over one character
            size_t adv = 1;
            if (pos < n) { wk_tok_utf8_dec(s + pos, n - pos, &adv); }
            pos += adv;
            continue;
        }
        pos = last_end = me;
        if (prev < ms) { rc = ms_push(out, prev, ms, false); }
        if (rc == WICK_OK) { rc = ms_push(out, ms, me, true); }
        if (rc < 0) { break; }
        prev = me;
    }
    if (rc == WICK_OK && prev < n) { rc = ms_push(out, prev, n, false); }
    onig_region_free(reg, 1);
    return rc;
}

static wick_status literal_splits(const char *lit, size_t ln, const char *text, size_t n,
                                  msplits *out)
{
    size_t prev = 0, pos = 0;
    wick_status rc = WICK_OK;
    while (ln > 0 && pos + ln <= n) {
        const char *p = wk_tok_find(text + pos, n - pos, lit, ln);
        if (!p) { break; }
        size_t ms = (size_t)(p - text);
        if (prev < ms) { rc = ms_push(out, prev, ms, false); }
        if (rc == WICK_OK) { rc = ms_push(out, ms, ms + ln, true); }
        if (rc < 0) { return rc; }
        prev = pos = ms + ln;
    }
    if (prev < n) { rc = ms_push(out, prev, n, false); }
    return rc;
}

// Character-class splits: each character for which the class holds is a match of its own; the
// characters between matches form one split (the Contiguous behaviour joins runs of matches).
// cls is a mask of Hugging Face's classes (WK_HF_*); delim, when not 0, the one matching character.
static wick_status class_splits(const char *text, size_t n, uint8_t cls, uint32_t delim,
                                msplits *out)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0;
    while (i < n) {
        size_t adv;
        uint32_t cp = wk_tok_utf8_dec(s + i, n - i, &adv);
        bool m = delim ? cp == delim : (wk_tok_hf[cp] & cls) != 0;
        if (!m && out->n > 0 && !out->v[out->n - 1].match && out->v[out->n - 1].end == i) {
            out->v[out->n - 1].end = (uint32_t)(i + adv);
        } else {
            wick_status rc = ms_push(out, i, i + adv, m);
            if (rc < 0) { return rc; }
        }
        i += adv;
    }
    return WICK_OK;
}

// Applies a split behaviour (Hugging Face's SplitDelimiterBehavior) and appends the pieces.
static wick_status apply_behavior(msplits *m, int behavior, bool invert, size_t base,
                                  wk_tok_spans *out)
{
    if (invert) {
        for (size_t i = 0; i < m->n; i++) { m->v[i].match = !m->v[i].match; }
    }
    // Fold into pieces [start, end) first, then push non-empty ones.
    size_t k = 0; // pieces written back into m->v[0, k)
    bool prev_match = false;
    switch (behavior) {
    case WK_SPLIT_REMOVED:
        for (size_t i = 0; i < m->n; i++) {
            if (!m->v[i].match) { m->v[k++] = m->v[i]; }
        }
        break;
    case WK_SPLIT_ISOLATED: k = m->n; break;
    case WK_SPLIT_PREV:
        for (size_t i = 0; i < m->n; i++) {
            if (m->v[i].match && !prev_match && k > 0) {
                m->v[k - 1].end = m->v[i].end;
            } else {
                m->v[k++] = m->v[i];
            }
            prev_match = m->v[i].match;
        }
        break;
    case WK_SPLIT_NEXT: {
        // right to left: a match joins the piece after it
        size_t w = m->n;
        for (size_t i = m->n; i-- > 0;) {
            msplit cur = m->v[i];
            if (cur.match && !prev_match && w < m->n) {
                m->v[w].start = cur.start;
            } else {
                m->v[--w] = cur;
            }
            prev_match = cur.match;
        }
        memmove(m->v, m->v + w, (m->n - w) * sizeof *m->v);
        k = m->n - w;
        break;
    }
    case WK_SPLIT_CONTIG:
        for (size_t i = 0; i < m->n; i++) {
            if (k > 0 && m->v[i].match == prev_match) {
                m->v[k - 1].end = m->v[i].end;
            } else {
                m->v[k++] = m->v[i];
            }
            prev_match = m->v[i].match;
        }
        break;
    default: return wk_fail(WICK_E_INTERNAL, "split behaviour %d", behavior);
    }
    for (size_t i = 0; i < k; i++) {
        wick_status rc = wk_tok_spans_push(out, base + m->v[i].start, m->v[i].end - m->v[i].start);
        if (rc < 0) { return rc; }
    }
    return WICK_OK;
}

// Hugging Face's Whitespace: \w+|[^\w\s]+ (the regex crate's classes), whitespace dropped.
static wick_status word_splits(const char *text, size_t n, size_t base, wk_tok_spans *out)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0;
    while (i < n) {
        size_t adv;
        uint8_t c = wk_tok_hf[wk_tok_utf8_dec(s + i, n - i, &adv)];
        if (c & WK_HF_WS) {
            i += adv;
            continue;
        }
        bool word = (c & WK_HF_WORD) != 0;
        size_t j = i + adv;
        while (j < n) {
            uint8_t d = wk_tok_hf[wk_tok_utf8_dec(s + j, n - j, &adv)];
            if ((d & WK_HF_WS) || ((d & WK_HF_WORD) != 0) != word) { break; }
            j += adv;
        }
        wick_status rc = wk_tok_spans_push(out, base + i, j - i);
        if (rc < 0) { return rc; }
        i = j;
    }
    return WICK_OK;
}

// FixedLength: pieces of at most len characters.
static wick_status fixed_splits(const char *text, size_t n, size_t len, size_t base,
                                wk_tok_spans *out)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        for (size_t k = 0; k < len && j < n; k++) {
            size_t adv;
            wk_tok_utf8_dec(s + j, n - j, &adv);
            j += adv;
        }
        wick_status rc = wk_tok_spans_push(out, base + i, j - i);
        if (rc < 0) { return rc; }
        i = j;
    }
    return WICK_OK;
}

// --- one pre-tokenizer step over one piece -------------------------------------------------------
wick_status wk_tok_regex_isolated(void *re, const char *text, size_t n, size_t base,
                                  wk_tok_spans *out)
{
    msplits m = {0};
    wick_status rc = regex_splits((OnigRegex)re, text, n, &m);
    if (rc == WICK_OK) { rc = apply_behavior(&m, WK_SPLIT_ISOLATED, false, base, out); }
    wk_free(m.v);
    return rc;
}

// Every split, then the behaviour; Bert's whitespace step first (its punctuation then runs over
// each whitespace-free piece).
static wick_status splits_of(const wk_pre *p, const char *text, size_t n, size_t base,
                             wk_tok_spans *out)
{
    msplits m = {0};
    wick_status rc = WICK_OK;
    int behavior = p->behavior;
    bool invert = p->invert;
    switch (p->kind) {
    case WK_PRE_SPLIT:
    case WK_PRE_BYTELEVEL:
        if (p->re) {
            rc = regex_splits((OnigRegex)p->re, text, n, &m);
        } else {
            rc = literal_splits(p->literal, p->literal_len, text, n, &m);
        }
        if (p->kind == WK_PRE_BYTELEVEL) {
            behavior = WK_SPLIT_ISOLATED;
            invert = false;
        }
        break;
    case WK_PRE_DIGITS:
        rc = class_splits(text, n, WK_HF_NUM, 0, &m);
        behavior = p->individual ? WK_SPLIT_ISOLATED : WK_SPLIT_CONTIG;
        invert = false;
        break;
    case WK_PRE_PUNCT:
        rc = class_splits(text, n, WK_HF_PUNC, 0, &m);
        invert = false;
        break;
    case WK_PRE_WSPLIT:
        rc = class_splits(text, n, WK_HF_WS, 0, &m);
        behavior = WK_SPLIT_REMOVED;
        invert = false;
        break;
    case WK_PRE_DELIM:
        rc = class_splits(text, n, 0, p->delim, &m);
        behavior = WK_SPLIT_REMOVED;
        invert = false;
        break;
    default: rc = wk_fail(WICK_E_INTERNAL, "pre-tokenizer kind %d", p->kind);
    }
    if (rc == WICK_OK) { rc = apply_behavior(&m, behavior, invert, base, out); }
    wk_free(m.v);
    return rc;
}

wick_status wk_tok_pre_split(const wk_pre *p, const char *text, size_t n, size_t base,
                             wk_tok_spans *out)
{
    if (n == 0) { return WICK_OK; }
    if (p->kind == WK_PRE_SPLIT && p->fast != WK_FAST_NONE &&
        ((p->behavior == WK_SPLIT_ISOLATED && !p->invert) ||
         (p->behavior == WK_SPLIT_REMOVED && p->invert))) {
        // The known patterns match every character, so both behaviours keep exactly the matches.
        const uint8_t *s = (const uint8_t *)text;
        size_t i = 0;
        while (i < n) {
            size_t e = wk_tok_fast_next(p->fast, s, n, i);
            wick_status rc = wk_tok_spans_push(out, base + i, e - i);
            if (rc < 0) { return rc; }
            i = e;
        }
        return WICK_OK;
    }
    switch (p->kind) {
    case WK_PRE_WHITESPACE: return word_splits(text, n, base, out);
    case WK_PRE_FIXED: return fixed_splits(text, n, p->length, base, out);
    case WK_PRE_BERT: {
        // whitespace removed, then each piece split at punctuation (isolated)
        wk_tok_spans ws = {0};
        wk_pre w = {.kind = WK_PRE_WSPLIT};
        wk_pre pu = {.kind = WK_PRE_PUNCT, .behavior = WK_SPLIT_ISOLATED};
        wick_status rc = splits_of(&w, text, n, 0, &ws);
        for (size_t i = 0; i < ws.n && rc == WICK_OK; i++) {
            rc = splits_of(&pu, text + ws.v[i].off, ws.v[i].len, base + ws.v[i].off, out);
        }
        wk_free(ws.v);
        return rc;
    }
    default: return splits_of(p, text, n, base, out);
    }
}
