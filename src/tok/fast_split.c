// fast_split.c — hand-written pre-tokenizer splitters for the hot patterns (cl100k / Llama 3 /
// DBRX, Qwen 2, Kimi K2), each the leftmost-first alternation of one known pattern, alternative by
// alternative, with the backtracking each quantifier would do. Their Unicode classes come from
// Oniguruma's tables (util.c), so they agree with the regex path; test_tok_split.c checks them
// against Oniguruma on every golden text and on a large randomized differential corpus.
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
