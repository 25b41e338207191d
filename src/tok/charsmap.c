// charsmap.c — SentencePiece's precompiled_charsmap (the Precompiled normalizer of tokenizer.json,
// tokenizer.ggml.precompiled_charsmap in GGUF).
//
// Blob: u32 LE trie_size, then trie_size / 4 u32 LE units (a darts-clone double array whose keys
// are UTF-8 byte strings), then the replacement strings, each ended by a NUL. A unit packs
//   label (bits 0-7, bit 31 set on value units), has_leaf (bit 8), offset (bits 10-30, shifted
//   left by 8 more when bit 9 is set); value = bits 0-30 (an offset into the strings).
// Search from node 0: pos ^= offset(unit[0]); per byte c: pos ^= c, the unit there must have label
// c, pos ^= its offset, and when it has a leaf, unit[pos]'s value is a match of the prefix so far.
//
// Applied as Hugging Face tokenizers does (spm_precompiled + normalizers/precompiled.rs): for each
// extended grapheme cluster shorter than 6 bytes, the SHORTEST key that is a prefix of the
// cluster replaces the whole cluster; otherwise (or when none) each character is replaced by its
// own key's string or kept. (SentencePiece itself takes the longest prefix; HF's is what
// tokenizer.json users get, and the GGUF path follows it so that both give the same ids.)
#include <string.h>
#include <utf8proc.h>

#include "tok/tok.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

wick_status wk_tok_charsmap_load(wk_norm *nm, const uint8_t *blob, size_t n, const char *what)
{
    if (n < 4) { return wk_fail(WICK_E_FORMAT, "%s: precompiled charsmap of %zu bytes", what, n); }
    uint32_t trie = le32(blob);
    if ((size_t)trie > n - 4) {
        return wk_fail(WICK_E_FORMAT, "%s: precompiled charsmap: trie of %u bytes in %zu", what,
                       trie, n);
    }
    size_t nu = trie / 4, sl = n - 4 - trie;
    if (!wk_tok_utf8_valid(blob + 4 + trie, sl)) {
        return wk_fail(WICK_E_FORMAT, "%s: precompiled charsmap: strings are not UTF-8", what);
    }
    wk_free(nm->units);
    nm->units = wk_malloc((nu ? nu : 1) * sizeof *nm->units);
    if (!nm->units) { return wk_fail_nomem("precompiled charsmap"); }
    for (size_t i = 0; i < nu; i++) { nm->units[i] = le32(blob + 4 + 4 * i); }
    nm->n_units = nu;
    return wk_tok_set_str(&nm->pat, &nm->pat_len, (const char *)blob + 4 + trie, sl);
}

static inline uint32_t offset_of(uint32_t u)
{
    return (u >> 10) << ((u & (1u << 9)) >> 6);
}

// The replacement of the shortest key that is a prefix of s[0, n), or NULL (*len its length).
// Units outside the array end the search (the Rust code would panic; no match here).
static const char *transform(const wk_norm *nm, const uint8_t *s, size_t n, size_t *len)
{
    if (nm->n_units == 0) { return NULL; }
    size_t pos = offset_of(nm->units[0]);
    for (size_t i = 0; i < n && s[i]; i++) {
        pos ^= s[i];
        if (pos >= nm->n_units) { return NULL; }
        uint32_t u = nm->units[pos];
        if ((u & ((1u << 31) | 0xFF)) != s[i]) { return NULL; }
        pos ^= offset_of(u);
        if ((u >> 8) & 1) {
            if (pos >= nm->n_units) { return NULL; }
            size_t v = nm->units[pos] & ((1u << 31) - 1);
            if (v > nm->pat_len) { return NULL; }
            const char *r = nm->pat + v;
            const char *z = memchr(r, 0, nm->pat_len - v);
            *len = z ? (size_t)(z - r) : nm->pat_len - v;
            // a value inside a character would be a panic in Rust
            if (*len && (((uint8_t)r[0] & 0xC0) == 0x80)) { return NULL; }
            return r;
        }
    }
    return NULL;
}

wick_status wk_tok_charsmap_apply(const wk_norm *nm, const char *s, size_t n, wk_buf *out)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        // one extended grapheme cluster [i, j)
        size_t adv, j;
        utf8proc_int32_t prev = (utf8proc_int32_t)wk_tok_utf8_dec(u + i, n - i, &adv);
        utf8proc_int32_t state = 0;
        j = i + adv;
        while (j < n) {
            utf8proc_int32_t c = (utf8proc_int32_t)wk_tok_utf8_dec(u + j, n - j, &adv);
            if (utf8proc_grapheme_break_stateful(prev, c, &state)) { break; }
            prev = c;
            j += adv;
        }
        size_t rl = 0;
        const char *r = j - i < 6 ? transform(nm, u + i, j - i, &rl) : NULL;
        wick_status rc;
        if (r) {
            rc = wk_buf_append(out, r, rl);
        } else {
            rc = WICK_OK;
            for (size_t k = i; k < j && rc == WICK_OK; k += adv) {
                wk_tok_utf8_dec(u + k, j - k, &adv);
                r = transform(nm, u + k, adv, &rl);
                rc = r ? wk_buf_append(out, r, rl) : wk_buf_append(out, s + k, adv);
            }
        }
        if (rc < 0) { return rc; }
        i = j;
    }
    return WICK_OK;
}
