// util.c — Unicode class table (from Oniguruma's own data), UTF-8 helpers, the GPT-2 byte-level
// alphabet.
#include <oniguruma.h>
#include <pthread.h>
#include <string.h>

#include "tok/tok.h"

const uint8_t *wk_tok_cc;
const uint8_t *wk_tok_hf;
static uint8_t cc_table[0x110000]; // 1.1 MB of BSS, touched once
static uint8_t hf_table[0x110000];
static wick_status init_rc = WICK_OK;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int16_t bl_inv[324]; // byte-level alphabet → byte, filled by global_init()

// Sets bit on every code point of Oniguruma's property name.
static int mark_property(uint8_t *tab, const char *name, uint8_t bit)
{
    OnigEncoding enc = ONIG_ENCODING_UTF8;
    int ctype = ONIGENC_PROPERTY_NAME_TO_CTYPE(enc, (OnigUChar *)name,
                                               (OnigUChar *)name + strlen(name));
    if (ctype < 0) { return -1; }
    OnigCodePoint sb_out = 0;
    const OnigCodePoint *ranges = NULL;
    int r = ONIGENC_GET_CTYPE_CODE_RANGE(enc, (OnigCtype)ctype, &sb_out, &ranges);
    if (r != 0 || !ranges) {
        // No range list: ask code by code (slow, only for the BMP is fine for no known property).
        for (uint32_t cp = 0; cp < 0x110000; cp++) {
            if (ONIGENC_IS_CODE_CTYPE(enc, cp, (OnigCtype)ctype)) { tab[cp] |= bit; }
        }
        return 0;
    }
    OnigCodePoint n = ranges[0];
    for (OnigCodePoint i = 0; i < n; i++) {
        OnigCodePoint lo = ranges[1 + 2 * i], hi = ranges[2 + 2 * i];
        if (hi >= 0x110000) { hi = 0x10FFFF; }
        for (OnigCodePoint cp = lo; cp <= hi; cp++) {
            tab[cp] |= bit;
        }
    }
    return 0;
}

// Letters, marks and numbers assigned in Unicode 15.0-16.0, which the system's Oniguruma 6.9.8
// (Unicode 14) lacks and the Oniguruma inside Hugging Face tokenizers has (CJK Extensions H and I,
// Egyptian Hieroglyphs Extended-A, Garay, Kawi, ...). Made from the Unicode data of node 20 (ICU,
// Unicode 17), keeping the characters that Hugging Face tokenizers (npm 0.23.2) treats as letters,
// marks or numbers: a Unicode 17 character is still unassigned there.
static const struct {
    uint32_t lo, hi;
    uint8_t bits;
} newer[] = {
    {0x897, 0x897, WK_CC_M}, {0xCF3, 0xCF3, WK_CC_M}, {0xECE, 0xECE, WK_CC_M},
    {0x1C89, 0x1C89, WK_CC_LU}, {0x1C8A, 0x1C8A, WK_CC_LL}, {0xA7CB, 0xA7CC, WK_CC_LU},
    {0xA7CD, 0xA7CD, WK_CC_LL}, {0xA7DA, 0xA7DA, WK_CC_LU}, {0xA7DB, 0xA7DB, WK_CC_LL},
    {0xA7DC, 0xA7DC, WK_CC_LU}, {0x105C0, 0x105F3, WK_CC_LMO}, {0x10D40, 0x10D49, WK_CC_N},
    {0x10D4A, 0x10D4F, WK_CC_LMO}, {0x10D50, 0x10D65, WK_CC_LU}, {0x10D69, 0x10D6D, WK_CC_M},
    {0x10D6F, 0x10D6F, WK_CC_LMO}, {0x10D70, 0x10D85, WK_CC_LL}, {0x10EC2, 0x10EC4, WK_CC_LMO},
    {0x10EFC, 0x10EFF, WK_CC_M}, {0x1123F, 0x11240, WK_CC_LMO}, {0x11241, 0x11241, WK_CC_M},
    {0x11380, 0x11389, WK_CC_LMO}, {0x1138B, 0x1138B, WK_CC_LMO}, {0x1138E, 0x1138E, WK_CC_LMO},
    {0x11390, 0x113B5, WK_CC_LMO}, {0x113B7, 0x113B7, WK_CC_LMO}, {0x113B8, 0x113C0, WK_CC_M},
    {0x113C2, 0x113C2, WK_CC_M}, {0x113C5, 0x113C5, WK_CC_M}, {0x113C7, 0x113CA, WK_CC_M},
    {0x113CC, 0x113D0, WK_CC_M}, {0x113D1, 0x113D1, WK_CC_LMO}, {0x113D2, 0x113D2, WK_CC_M},
    {0x113D3, 0x113D3, WK_CC_LMO}, {0x113E1, 0x113E2, WK_CC_M}, {0x116D0, 0x116E3, WK_CC_N},
    {0x11BC0, 0x11BE0, WK_CC_LMO}, {0x11BF0, 0x11BF9, WK_CC_N}, {0x11F00, 0x11F01, WK_CC_M},
    {0x11F02, 0x11F02, WK_CC_LMO}, {0x11F03, 0x11F03, WK_CC_M}, {0x11F04, 0x11F10, WK_CC_LMO},
    {0x11F12, 0x11F33, WK_CC_LMO}, {0x11F34, 0x11F3A, WK_CC_M}, {0x11F3E, 0x11F42, WK_CC_M},
    {0x11F50, 0x11F59, WK_CC_N}, {0x11F5A, 0x11F5A, WK_CC_M}, {0x1342F, 0x1342F, WK_CC_LMO},
    {0x13440, 0x13440, WK_CC_M}, {0x13441, 0x13446, WK_CC_LMO}, {0x13447, 0x13455, WK_CC_M},
    {0x13460, 0x143FA, WK_CC_LMO}, {0x16100, 0x1611D, WK_CC_LMO}, {0x1611E, 0x1612F, WK_CC_M},
    {0x16130, 0x16139, WK_CC_N}, {0x16D40, 0x16D6C, WK_CC_LMO}, {0x16D70, 0x16D79, WK_CC_N},
    {0x18CFF, 0x18CFF, WK_CC_LMO}, {0x1B132, 0x1B132, WK_CC_LMO}, {0x1B155, 0x1B155, WK_CC_LMO},
    {0x1CCF0, 0x1CCF9, WK_CC_N}, {0x1D2C0, 0x1D2D3, WK_CC_N}, {0x1DF25, 0x1DF2A, WK_CC_LL},
    {0x1E030, 0x1E06D, WK_CC_LMO}, {0x1E08F, 0x1E08F, WK_CC_M}, {0x1E4D0, 0x1E4EB, WK_CC_LMO},
    {0x1E4EC, 0x1E4EF, WK_CC_M}, {0x1E4F0, 0x1E4F9, WK_CC_N}, {0x1E5D0, 0x1E5ED, WK_CC_LMO},
    {0x1E5EE, 0x1E5EF, WK_CC_M}, {0x1E5F0, 0x1E5F0, WK_CC_LMO}, {0x1E5F1, 0x1E5FA, WK_CC_N},
    {0x2B739, 0x2B739, WK_CC_LMO|WK_CC_HAN}, {0x2EBF0, 0x2EE5D, WK_CC_LMO|WK_CC_HAN},
    {0x31350, 0x323AF, WK_CC_LMO|WK_CC_HAN},
};

static void global_init(void)
{
    for (int i = 0; i < 324; i++) { bl_inv[i] = -1; }
    for (int b = 0; b < 256; b++) { bl_inv[wk_tok_bl_byte_to_cp[b]] = (int16_t)b; }
    OnigEncoding encs[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encs, 1);
    uint8_t *tab = cc_table;
    static const struct {
        const char *name;
        uint8_t bit;
    } props[] = {
        {"Lu", WK_CC_LU}, {"Lt", WK_CC_LU}, {"Ll", WK_CC_LL}, {"Lm", WK_CC_LMO},
        {"Lo", WK_CC_LMO}, {"M", WK_CC_M},  {"N", WK_CC_N},   {"Han", WK_CC_HAN},
    };
    for (size_t i = 0; i < WK_ARRAY_LEN(props); i++) {
        if (mark_property(tab, props[i].name, props[i].bit) < 0) {
            init_rc = WICK_E_INTERNAL;
            return;
        }
    }
    // Characters this Oniguruma (Unicode 14) does not know but Hugging Face's does (Unicode 16).
    for (size_t i = 0; i < WK_ARRAY_LEN(newer); i++) {
        for (uint32_t cp = newer[i].lo; cp <= newer[i].hi; cp++) {
            if (!tab[cp]) { tab[cp] = (uint8_t)(newer[i].bits | WK_CC_NEW); }
        }
    }
    // \s as this Oniguruma has it (Unicode White_Space; all of it lies below U+3100)
    OnigEncoding enc = ONIG_ENCODING_UTF8;
    for (uint32_t cp = 0; cp < 0x3100; cp++) {
        if (ONIGENC_IS_CODE_CTYPE(enc, cp, ONIGENC_CTYPE_SPACE)) { tab[cp] |= WK_CC_S; }
    }
    wk_tok_cc = tab;
    for (size_t i = 0; i < wk_tok_hf_n_ranges; i++) {
        for (uint32_t cp = wk_tok_hf_ranges[i].lo; cp <= wk_tok_hf_ranges[i].hi; cp++) {
            hf_table[cp] |= wk_tok_hf_ranges[i].bits;
        }
    }
    wk_tok_hf = hf_table;
}

void wk_tok_hf_tolower(uint32_t cp, uint32_t out[3], int *n)
{
    size_t lo = 0, hi = wk_tok_hf_n_lowers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (wk_tok_hf_lowers[mid].cp < cp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < wk_tok_hf_n_lowers && wk_tok_hf_lowers[lo].cp == cp) {
        const wk_tok_hf_lower *l = &wk_tok_hf_lowers[lo];
        *n = 0;
        for (int k = 0; k < 3 && l->to[k]; k++) { out[(*n)++] = l->to[k]; }
        return;
    }
    out[0] = cp;
    *n = 1;
}

wick_status wk_tok_global_init(void)
{
    pthread_once(&init_once, global_init);
    if (init_rc == WICK_E_NOMEM) { return wk_fail_nomem("unicode class table"); }
    if (init_rc < 0) {
        return wk_fail(init_rc, "tokenizer: Oniguruma's Unicode tables are unusable");
    }
    return WICK_OK;
}

bool wk_tok_is_ws(uint32_t cp)
{
    if (cp <= 0x20) { return cp == 0x20 || (cp >= 9 && cp <= 13); }
    if (cp < 0x85) { return false; }
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

size_t wk_tok_utf8_enc(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

int wk_tok_utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80) { return 1; }
    int need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) { lo = 0xA0; }
        if (c == 0xED) { hi = 0x9F; }
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) { lo = 0x90; }
        if (c == 0xF4) { hi = 0x8F; }
    } else {
        return 0;
    }
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= n) { return -1; }
        uint8_t b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) { return 0; }
    }
    return need;
}

bool wk_tok_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int k = wk_tok_utf8_seq(s + i, n - i);
        if (k <= 0) { return false; }
        i += (size_t)k;
    }
    return true;
}

wick_status wk_tok_utf8_lossy(wk_buf *out, const uint8_t *s, size_t n)
{
    static const uint8_t repl[3] = {0xEF, 0xBF, 0xBD};
    size_t i = 0, run = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int k = wk_tok_utf8_seq(s + i, n - i);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        wick_status rc = wk_buf_append(out, s + run, i - run);
        if (rc == WICK_OK) { rc = wk_buf_append(out, repl, 3); }
        if (rc < 0) { return rc; }
        // Skip the maximal prefix of a valid sequence (at least one byte).
        size_t skip = 1;
        uint8_t c = s[i];
        int need = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                                                 : (c >= 0xF0 && c <= 0xF4) ? 4 : 1;
        for (int j = 1; j < need && i + (size_t)j < n; j++) {
            uint8_t b = s[i + (size_t)j];
            uint8_t lo = 0x80, hi = 0xBF;
            if (j == 1 && c == 0xE0) { lo = 0xA0; }
            if (j == 1 && c == 0xED) { hi = 0x9F; }
            if (j == 1 && c == 0xF0) { lo = 0x90; }
            if (j == 1 && c == 0xF4) { hi = 0x8F; }
            if (b < lo || b > hi) { break; }
            skip++;
        }
        i += skip;
        run = i;
    }
    return wk_buf_append(out, s + run, n - run);
}

// GPT-2 bytes_to_unicode: printable bytes stand for themselves, the others for 256, 257, ...
const uint16_t wk_tok_bl_byte_to_cp[256] = {
    256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274,
    275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 33, 34, 35, 36, 37, 38,
    39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62,
    63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86,
    87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107,
    108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126,
    289, 290, 291, 292, 293, 294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306, 307,
    308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 322, 161, 162, 163, 164,
    165, 166, 167, 168, 169, 170, 171, 172, 323, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183,
    184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202,
    203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221,
    222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240,
    241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
};

int wk_tok_bl_cp_to_byte(uint32_t cp)
{
    return cp < 324 ? bl_inv[cp] : -1;
}

bool wk_tok_bl_decode(const char *s, size_t n, wk_buf *out, wick_status *rc)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t start = out->len;
    *rc = WICK_OK;
    size_t i = 0;
    while (i < n) {
        int k = wk_tok_utf8_seq(u + i, n - i);
        if (k <= 0) { goto bad; }
        size_t adv;
        uint32_t cp = wk_tok_utf8_dec(u + i, n - i, &adv);
        int b = wk_tok_bl_cp_to_byte(cp);
        if (b < 0) { goto bad; }
        uint8_t c = (uint8_t)b;
        *rc = wk_buf_append(out, &c, 1);
        if (*rc < 0) { return false; }
        i += (size_t)k;
    }
    return true;
bad:
    out->len = start;
    if (out->data) { out->data[start] = '\0'; }
    return false;
}

// --- base64 ------------------------------------------------------------------------------------
static int b64_val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') { return c - 'A'; }
    if (c >= 'a' && c <= 'z') { return c - 'a' + 26; }
    if (c >= '0' && c <= '9') { return c - '0' + 52; }
    if (c == '+') { return 62; }
    if (c == '/') { return 63; }
    return -1;
}

bool wk_tok_base64(const char *s, size_t n, uint8_t *out, size_t *out_len)
{
    if (n % 4 != 0) { return false; }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            uint8_t c = (uint8_t)s[i + (size_t)k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad) { return false; }
                v[k] = b64_val(c);
                if (v[k] < 0) { return false; }
            }
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2) { out[o++] = (uint8_t)(w >> 8); }
        if (pad < 1) { out[o++] = (uint8_t)w; }
    }
    *out_len = o;
    return true;
}

const char *wk_tok_find(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0) { return hay; }
    size_t i = 0;
    while (i + m <= n) {
        const char *p = memchr(hay + i, needle[0], n - m + 1 - i);
        if (!p) { return NULL; }
        if (memcmp(p, needle, m) == 0) { return p; }
        i = (size_t)(p - hay) + 1;
    }
    return NULL;
}
