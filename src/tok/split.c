// split.c — pre-tokenizer splitting: Oniguruma regexes (the general path, as Hugging Face
// tokenizers runs them), literal patterns, Digits, and hand-written splitters for the hot patterns.
//
// The hand splitters implement the leftmost-first alternation of one known pattern, alternative by
// alternative, with the backtracking each quantifier would do; their Unicode classes come from
// Oniguruma's tables (util.c). test_tok_split.c checks them against Oniguruma on every golden text
// and on a large randomized differential corpus.
#include <oniguruma.h>
#include <string.h>

#include "tok/tok.h"

// --- known patterns ------------------------------------------------------------------------------
#define P_TAIL "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define P_CI "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
#define P_CS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define P_WORD "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
#define P_QTAIL "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define K_UP "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]"
#define K_LO "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]"
#define K_PRE "[^\\r\\n\\p{L}\\p{N}]?"

const char wk_tok_kimi_pattern[] =
    "[\\p{Han}]+|" K_PRE K_UP "*" K_LO "+" P_CI "?|" K_PRE K_UP "+" K_LO "*" P_CI "?" P_TAIL;

static const struct {
    const char *pat;
    int kind;
} known[] = {
    {P_CI P_WORD P_TAIL, WK_FAST_LLAMA3},
    {P_CS P_WORD P_TAIL, WK_FAST_LLAMA3_CS},
    {P_CI P_WORD P_QTAIL, WK_FAST_QWEN2},
    {P_CS P_WORD P_QTAIL, WK_FAST_QWEN2_CS},
    {"[\\p{Han}]+|" K_PRE K_UP "*" K_LO "+" P_CI "?|" K_PRE K_UP "+" K_LO "*" P_CI "?" P_TAIL,
     WK_FAST_KIMI},
};

int wk_tok_fast_kind(const char *pat, size_t len)
{
    for (size_t i = 0; i < WK_ARRAY_LEN(known); i++) {
        if (strlen(known[i].pat) == len && memcmp(known[i].pat, pat, len) == 0) {
            return known[i].kind;
        }
    }
    return WK_FAST_NONE;
}

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

// Matches of the regex in text, with the gaps between them (Hugging Face's find_matches).
static wick_status regex_splits(OnigRegex re, const char *text, size_t n, msplits *out)
{
    OnigRegion *reg = onig_region_new();
    if (!reg) { return wk_fail_nomem("regex region"); }
    const OnigUChar *s = (const OnigUChar *)text, *end = s + n;
    size_t pos = 0, prev = 0;
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
        if (me == ms) { // empty match: step over one character
            if (ms >= n) { break; }
            size_t adv;
            wk_tok_utf8_dec(s + ms, n - ms, &adv);
            pos = ms + adv;
            continue;
        }
        if (prev < ms) { rc = ms_push(out, prev, ms, false); }
        if (rc == WICK_OK) { rc = ms_push(out, ms, me, true); }
        if (rc < 0) { break; }
        prev = pos = me;
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
static wick_status class_splits(const char *text, size_t n, uint8_t cls, bool ws, msplits *out)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0;
    while (i < n) {
        size_t adv;
        uint32_t cp = wk_tok_utf8_dec(s + i, n - i, &adv);
        bool m = ws ? wk_tok_is_ws(cp) : (wk_tok_cc[cp] & cls) != 0;
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
    case WK_SPLIT_ISOLATED:
        k = m->n;
        break;
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
    default:
        return wk_fail(WICK_E_INTERNAL, "split behaviour %d", behavior);
    }
    for (size_t i = 0; i < k; i++) {
        wick_status rc = wk_tok_spans_push(out, base + m->v[i].start, m->v[i].end - m->v[i].start);
        if (rc < 0) { return rc; }
    }
    return WICK_OK;
}

// --- hand splitters ------------------------------------------------------------------------------
static inline uint8_t cc_at(const uint8_t *s, size_t n, size_t i, size_t *adv)
{
    if (s[i] < 0x80) {
        *adv = 1;
        return wk_tok_cc[s[i]];
    }
    return wk_tok_cc[wk_tok_utf8_dec(s + i, n - i, adv)];
}

static inline size_t run_of(const uint8_t *s, size_t n, size_t i, uint8_t any, uint8_t none)
{
    while (i < n) {
        size_t adv;
        uint8_t c = cc_at(s, n, i, &adv);
        if (!(c & any) || (c & none)) { break; }
        i += adv;
    }
    return i;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d) or its case-sensitive-class spelling at i; returns the end or i.
// Under Oniguruma's Unicode case folding 's' also matches U+017F (long s).
static size_t contraction(const uint8_t *s, size_t n, size_t i, bool fold)
{
    if (i + 1 >= n || s[i] != '\'') { return i; }
    uint8_t a = (uint8_t)(s[i + 1] | 0x20);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') { return i + 2; }
    if (fold && s[i + 1] == 0xC5 && i + 2 < n && s[i + 2] == 0xBF) { return i + 3; }
    if (i + 2 < n) {
        uint8_t b = (uint8_t)(s[i + 2] | 0x20);
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
            return i + 3;
        }
    }
    return i;
}

// The whitespace alternatives shared by all: \s*[\r\n]+ | \s+(?!\S) | \s+ at i (a space char).
static size_t space_tail(const uint8_t *s, size_t n, size_t i)
{
    size_t j = i, last_nl = SIZE_MAX, last_start = i, nchars = 0;
    while (j < n) {
        size_t adv;
        uint8_t c = cc_at(s, n, j, &adv);
        if (!(c & WK_CC_S)) { break; }
        if (s[j] == '\r' || s[j] == '\n') { last_nl = j; }
        last_start = j;
        nchars++;
        j += adv;
    }
    if (last_nl != SIZE_MAX) { return last_nl + 1; }
    if (j == n) { return j; }
    if (nchars >= 2) { return last_start; }
    return j;
}

// " ?[^\s\p{L}\p{N}]+[\r\n]*" at i; i when it does not match.
static size_t punct_run(const uint8_t *s, size_t n, size_t i)
{
    size_t j = i + (s[i] == ' ' ? 1 : 0), p = j, adv;
    while (p < n) {
        if (cc_at(s, n, p, &adv) & (WK_CC_S | WK_CC_L | WK_CC_N)) { break; }
        p += adv;
    }
    if (p == j) { return i; }
    while (p < n && (s[p] == '\r' || s[p] == '\n')) { p++; }
    return p;
}

static size_t digits(const uint8_t *s, size_t n, size_t i, int max)
{
    for (int k = 0; k < max && i < n; k++) {
        size_t adv;
        if (!(cc_at(s, n, i, &adv) & WK_CC_N)) { break; }
        i += adv;
    }
    return i;
}

static size_t next_llama3(const uint8_t *s, size_t n, size_t i, bool fold, int max_digits)
{
    size_t e = contraction(s, n, i, fold);
    if (e > i) { return e; }
    size_t adv;
    uint8_t c = cc_at(s, n, i, &adv);
    if (c & WK_CC_L) { return run_of(s, n, i + adv, WK_CC_L, 0); }
    if (!(c & WK_CC_N) && s[i] != '\r' && s[i] != '\n' && i + adv < n) {
        size_t adv2;
        if (cc_at(s, n, i + adv, &adv2) & WK_CC_L) {
            return run_of(s, n, i + adv + adv2, WK_CC_L, 0);
        }
    }
    if (c & WK_CC_N) { return digits(s, n, i, max_digits); }
    e = punct_run(s, n, i);
    if (e > i) { return e; }
    if (c & WK_CC_S) { return space_tail(s, n, i); }
    return i + adv; // unreachable for valid text: the pattern covers every character
}

#define K_UPC (WK_CC_LU | WK_CC_LMO | WK_CC_M)
#define K_LOC (WK_CC_LL | WK_CC_LMO | WK_CC_M)

// [UP&&^Han]*[LO&&^Han]+ at j: the end, or SIZE_MAX when it does not match.
static size_t kimi_a2(const uint8_t *s, size_t n, size_t j)
{
    size_t p = j, last_lo = SIZE_MAX, adv;
    while (p < n) {
        uint8_t c = cc_at(s, n, p, &adv);
        if (!(c & K_UPC) || (c & WK_CC_HAN)) { break; }
        if (c & K_LOC) { last_lo = p; }
        p += adv;
    }
    size_t start = SIZE_MAX;
    if (p < n) {
        uint8_t c = cc_at(s, n, p, &adv);
        if ((c & K_LOC) && !(c & WK_CC_HAN)) { start = p; }
    }
    if (start == SIZE_MAX) { start = last_lo; }
    if (start == SIZE_MAX) { return SIZE_MAX; }
    return run_of(s, n, start, K_LOC, WK_CC_HAN);
}

// [UP&&^Han]+[LO&&^Han]* at j.
static size_t kimi_a3(const uint8_t *s, size_t n, size_t j)
{
    size_t p = run_of(s, n, j, K_UPC, WK_CC_HAN);
    if (p == j) { return SIZE_MAX; }
    return run_of(s, n, p, K_LOC, WK_CC_HAN);
}

static size_t next_kimi(const uint8_t *s, size_t n, size_t i)
{
    size_t adv;
    uint8_t c = cc_at(s, n, i, &adv);
    if (c & WK_CC_HAN) { return run_of(s, n, i + adv, WK_CC_HAN, 0); }
    bool pre = !(c & (WK_CC_L | WK_CC_N)) && s[i] != '\r' && s[i] != '\n';
    for (int alt = 0; alt < 2; alt++) {
        for (int with = pre ? 1 : 0; with >= 0; with--) {
            size_t j = with ? i + adv : i;
            size_t e = alt == 0 ? kimi_a2(s, n, j) : kimi_a3(s, n, j);
            if (e != SIZE_MAX) { return contraction(s, n, e, true); }
        }
    }
    if (c & WK_CC_N) { return digits(s, n, i, 3); }
    size_t e = punct_run(s, n, i);
    if (e > i) { return e; }
    if (c & WK_CC_S) { return space_tail(s, n, i); }
    return i + adv;
}

size_t wk_tok_fast_next(int fast, const uint8_t *s, size_t n, size_t i)
{
    switch (fast) {
    case WK_FAST_LLAMA3: return next_llama3(s, n, i, true, 3);
    case WK_FAST_LLAMA3_CS: return next_llama3(s, n, i, false, 3);
    case WK_FAST_QWEN2: return next_llama3(s, n, i, true, 1);
    case WK_FAST_QWEN2_CS: return next_llama3(s, n, i, false, 1);
    case WK_FAST_KIMI: return next_kimi(s, n, i);
    default: return n;
    }
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
        rc = class_splits(text, n, WK_CC_N, false, &m);
        behavior = p->individual ? WK_SPLIT_ISOLATED : WK_SPLIT_CONTIG;
        invert = false;
        break;
    case WK_PRE_WSPLIT:
        rc = class_splits(text, n, 0, true, &m);
        behavior = WK_SPLIT_CONTIG; // then drop the whitespace runs below
        invert = false;
        break;
    default:
        rc = wk_fail(WICK_E_INTERNAL, "pre-tokenizer kind %d", p->kind);
    }
    if (rc == WICK_OK && p->kind == WK_PRE_WSPLIT) {
        // contiguous runs, whitespace ones removed
        msplits r = {0};
        for (size_t i = 0; i < m.n && rc == WICK_OK; i++) {
            if (r.n > 0 && r.v[r.n - 1].match == m.v[i].match) {
                r.v[r.n - 1].end = m.v[i].end;
            } else {
                rc = ms_push(&r, m.v[i].start, m.v[i].end, m.v[i].match);
            }
        }
        if (rc == WICK_OK) { rc = apply_behavior(&r, WK_SPLIT_REMOVED, false, base, out); }
        wk_free(r.v);
    } else if (rc == WICK_OK) {
        rc = apply_behavior(&m, behavior, invert, base, out);
    }
    wk_free(m.v);
    return rc;
}
