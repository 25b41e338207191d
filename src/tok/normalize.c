// normalize.c — the normalizers of Hugging Face tokenizers over one text: Unicode forms (utf8proc),
// Lowercase (Rust's to_lowercase, from hf_tables.c), Replace (literal or Oniguruma regex),
// Prepend, Strip, StripAccents, BertNormalizer, Nmt, Precompiled (SentencePiece's charsmap) and
// ByteLevel.
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
    utf8proc_ssize_t need =
        utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, NULL, 0, opt);
    if (need < 0) { return wk_fail(WICK_E_INTERNAL, "normalizer: %s", utf8proc_errmsg(need)); }
    size_t bytes;
    if (!wk_mul_size((size_t)need + 1, sizeof(utf8proc_int32_t), &bytes)) {
        return wk_fail_nomem("normalizer");
    }
    utf8proc_int32_t *buf = wk_malloc(bytes);
    if (!buf) { return wk_fail_nomem("normalizer"); }
    utf8proc_ssize_t got =
        utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, buf, need, opt);
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

// Rust's str::to_lowercase: each character's full lowercase (hf_tables.c, as the Rust library has
// them: U+0130 -> "i\u0307"), and the final sigma (a capital sigma after a letter and not before
// one becomes U+03C2) when final_sigma (the Lowercase normalizer; BertNormalizer goes character by
// character without it).
static wick_status lowercase(const char *s, size_t n, bool final_sigma, wk_buf *out)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    bool prev_letter = false;
    while (i < n) {
        size_t adv;
        uint32_t cp = wk_tok_utf8_dec(u + i, n - i, &adv);
        if (cp < 0x80) { // ASCII: no table lookup
            uint8_t c = (uint8_t)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            wick_status rc = wk_buf_append(out, &c, 1);
            if (rc < 0) { return rc; }
            prev_letter = (wk_tok_cc[cp] & WK_CC_L) != 0;
            i++;
            continue;
        }
        uint8_t tmp[16];
        size_t k = 0;
        if (cp == 0x3A3 && prev_letter && final_sigma) {
            size_t a2;
            bool next_letter =
                i + adv < n &&
                (wk_tok_cc[wk_tok_utf8_dec(u + i + adv, n - i - adv, &a2)] & WK_CC_L);
            k = wk_tok_utf8_enc(next_letter ? 0x3C3 : 0x3C2, tmp);
        } else {
            uint32_t lo[3];
            int nl = 0;
            wk_tok_hf_tolower(cp, lo, &nl);
            for (int j = 0; j < nl; j++) { k += wk_tok_utf8_enc(lo[j], tmp + k); }
        }
        uint8_t cc = wk_tok_cc[cp];
        if (!(cc & WK_CC_M)) { prev_letter = (cc & WK_CC_L) != 0; } // marks are case-ignorable
        wick_status rc = wk_buf_append(out, tmp, k);
        if (rc < 0) { return rc; }
        i += adv;
    }
    return WICK_OK;
}

// Keeps or maps each character: keep(cp) returns the code point to write, or UINT32_MAX to drop.
static wick_status map_chars(const char *s, size_t n, uint32_t (*keep)(uint32_t), wk_buf *out)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        size_t adv;
        uint32_t cp = wk_tok_utf8_dec(u + i, n - i, &adv);
        uint32_t to = keep(cp);
        if (to != cp) {
            uint8_t tmp[4];
            wick_status rc = wk_buf_append(out, s + run, i - run);
            if (rc == WICK_OK && to != UINT32_MAX) {
                rc = wk_buf_append(out, tmp, wk_tok_utf8_enc(to, tmp));
            }
            if (rc < 0) { return rc; }
            run = i + adv;
        }
        i += adv;
    }
    return wk_buf_append(out, s + run, n - run);
}

static uint32_t nmt_char(uint32_t c)
{
    if ((c >= 1 && c <= 8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F ||
        c == 0x9F) {
        return UINT32_MAX;
    }
    if (c == 9 || c == 0xA || c == 0xC || c == 0xD || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
        c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD) {
        return ' ';
    }
    return c;
}

static uint32_t no_mark(uint32_t c)
{
    return (wk_tok_hf[c] & WK_HF_MARK) ? UINT32_MAX : c;
}

static uint32_t no_mn(uint32_t c)
{
    return (wk_tok_hf[c] & WK_HF_MN) ? UINT32_MAX : c;
}

static uint32_t bert_clean(uint32_t c)
{
    uint8_t h = wk_tok_hf[c];
    return (h & WK_HF_OTHER) ? UINT32_MAX : (h & WK_HF_BSPACE) ? ' ' : c;
}

static bool is_chinese(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static wick_status chinese_spaced(const char *s, size_t n, wk_buf *out)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, run = 0;
    wick_status rc = WICK_OK;
    while (i < n && rc == WICK_OK) {
        size_t adv;
        if (is_chinese(wk_tok_utf8_dec(u + i, n - i, &adv))) {
            rc = wk_buf_append(out, s + run, i - run);
            if (rc == WICK_OK) { rc = wk_buf_append(out, " ", 1); }
            if (rc == WICK_OK) { rc = wk_buf_append(out, s + i, adv); }
            if (rc == WICK_OK) { rc = wk_buf_append(out, " ", 1); }
            run = i + adv;
        }
        i += adv;
    }
    return rc == WICK_OK ? wk_buf_append(out, s + run, n - run) : rc;
}

// BertNormalizer: clean_text, handle_chinese_chars, strip_accents (NFD, then no Mn), lowercase, in
// that order.
static wick_status bert(const wk_norm *nm, const char *s, size_t n, wk_buf *out)
{
    wk_buf a, b;
    wk_buf_init(&a, SIZE_MAX / 2);
    wk_buf_init(&b, SIZE_MAX / 2);
    wick_status rc = nm->clean ? map_chars(s, n, bert_clean, &a) : wk_buf_append(&a, s, n);
    if (rc == WICK_OK && nm->chinese) {
        rc = chinese_spaced(a.data ? a.data : "", a.len, &b);
        wk_buf tmp = a;
        a = b;
        b = tmp;
        wk_buf_clear(&b);
    }
    if (rc == WICK_OK && nm->strip_accents) {
        rc = unicode_form(a.data ? a.data : "", a.len, UTF8PROC_DECOMPOSE, &b);
        wk_buf_clear(&a);
        if (rc == WICK_OK) { rc = map_chars(b.data ? b.data : "", b.len, no_mn, &a); }
        wk_buf_clear(&b);
    }
    if (rc == WICK_OK && nm->lower) {
        rc = lowercase(a.data ? a.data : "", a.len, false, &b);
        wk_buf tmp = a;
        a = b;
        b = tmp;
    }
    if (rc == WICK_OK) { rc = wk_buf_append(out, a.data, a.len); }
    wk_buf_free(&a);
    wk_buf_free(&b);
    return rc;
}

// ByteLevel: every byte becomes its character of the GPT-2 alphabet.
static wick_status byte_level(const char *s, size_t n, wk_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t tmp[4];
        wick_status rc =
            wk_buf_append(out, tmp, wk_tok_utf8_enc(wk_tok_bl_byte_to_cp[(uint8_t)s[i]], tmp));
        if (rc < 0) { return rc; }
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

size_t wk_tok_strip_left(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t adv;
        if (!wk_tok_is_ws(wk_tok_utf8_dec((const uint8_t *)s + i, n - i, &adv))) { break; }
        i += adv;
    }
    return i;
}

size_t wk_tok_prev_char(const char *s, size_t i)
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
        size_t p = wk_tok_prev_char(s, e), adv;
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
        case WK_NORM_LOWER: rc = lowercase(src, len, true, &b); break;
        case WK_NORM_REPLACE: rc = replace(nm, src, len, &b); break;
        case WK_NORM_PREPEND:
            if (len > 0) { rc = wk_buf_append(&b, nm->pat, nm->pat_len); }
            if (rc == WICK_OK) { rc = wk_buf_append(&b, src, len); }
            break;
        case WK_NORM_STRIP: {
            size_t l = nm->left ? wk_tok_strip_left(src, len) : 0;
            size_t r = nm->right ? strip_right(src, len, l) : len;
            rc = wk_buf_append(&b, src + l, r - l);
            break;
        }
        case WK_NORM_STRIP_ACCENTS: rc = map_chars(src, len, no_mark, &b); break;
        case WK_NORM_NMT: rc = map_chars(src, len, nmt_char, &b); break;
        case WK_NORM_BERT: rc = bert(nm, src, len, &b); break;
        case WK_NORM_BYTELEVEL: rc = byte_level(src, len, &b); break;
        case WK_NORM_PRECOMPILED: rc = wk_tok_charsmap_apply(nm, src, len, &b); break;
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
