// test_tok_split.c — the hand-written pre-tokenizer splitters against Oniguruma running the same
// pattern: every golden text, then a large randomized differential corpus of Unicode mixes
// (letters of every case class, marks, Han and non-Han ideographs, digits of all kinds, every
// White_Space character, contractions in all cases, long s, emoji, ZWJ, random code points).
#include <jansson.h>
#include <time.h>

#include "harness.h"
#include "tok/tok.h"

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static const char *const pats[][2] = {
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
     "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "llama3"},
    {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
     "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "llama3-cs"},
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
     "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "qwen2"},
    {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
     "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "qwen2-cs"},
    {NULL, "kimi"}, // wk_tok_kimi_pattern
};

static void *res[5];
static int kinds[5];
static long n_texts, n_pieces, n_diff, n_newer;

// Compares both splitters on text; prints the first few differences.
static void diff_one(int p, const char *text, size_t n)
{
    // Characters newer than this Oniguruma's Unicode follow utf8proc in the hand splitters (as in
    // Hugging Face's newer Oniguruma): no comparison with the older regex engine there.
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t cp = wk_tok_utf8_dec((const uint8_t *)text + i, n - i, &adv);
        if (wk_tok_cc[cp] & WK_CC_NEW) {
            n_newer++;
            return;
        }
        i += adv;
    }
    wk_tok_spans a = {0};
    wick_status rc = wk_tok_regex_isolated(res[p], text, n, 0, &a);
    CHECK(rc == WICK_OK);
    size_t i = 0, k = 0;
    bool same = true;
    while (i < n) {
        size_t e = wk_tok_fast_next(kinds[p], (const uint8_t *)text, n, i);
        if (e <= i || e > n) {
            same = false;
            break;
        }
        if (k >= a.n || a.v[k].off != i || a.v[k].off + a.v[k].len != e) { same = false; }
        k++;
        i = e;
    }
    if (k != a.n) { same = false; }
    n_texts++;
    n_pieces += (long)a.n;
    if (!same) {
        n_diff++;
        if (n_diff <= 5) {
            fprintf(stderr, "%s differs on \"", pats[p][1]);
            for (size_t j = 0; j < n; j++) {
                unsigned char c = (unsigned char)text[j];
                fprintf(stderr, c >= 0x20 && c < 0x7F && c != '\\' ? "%c" : "\\x%02x", c);
            }
            fprintf(stderr, "\"\n  onig:");
            for (size_t j = 0; j < a.n; j++) {
                fprintf(stderr, " [%u,%u)", a.v[j].off, a.v[j].off + a.v[j].len);
            }
            fprintf(stderr, "\n  fast:");
            for (i = 0; i < n;) {
                size_t e = wk_tok_fast_next(kinds[p], (const uint8_t *)text, n, i);
                fprintf(stderr, " [%zu,%zu)", i, e);
                if (e <= i) { break; }
                i = e;
            }
            fprintf(stderr, "\n");
        }
    }
    wk_free(a.v);
}

static void golden_texts(void)
{
    static const char *const files[] = {"phi4", "cl100k", "qwen3", "kimi-tiktoken",
                                        "mini-llama3-1536", "mini-phi4r-1536", "mini-kimi-1536"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tokenizers/golden/%s.jsonl", files[f]);
        char *data = test_slurp(test_data(rel), NULL);
        CHECKF(data != NULL, "%s", rel);
        for (char *line = data; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) { *nl = '\0'; }
            json_t *v = json_loads(line, 0, NULL);
            json_t *t = json_object_get(v, "text");
            for (int p = 0; p < 5 && t; p++) {
                diff_one(p, json_string_value(t), json_string_length(t));
            }
            json_decref(v);
            line = nl ? nl + 1 : NULL;
        }
        free(data);
    }
}

static const uint32_t alphabet[] = {
    'a', 'b', 'e', 'l', 'm', 'r', 's', 't', 'v', 'd', 'A', 'B', 'E', 'L', 'M', 'R', 'S', 'T', 'V',
    'D', 'x', 'Z', '0', '1', '7', '9', ' ', ' ', ' ', '\t', '\n', '\r', '\'', '\'', '"', '.', ',',
    '-', '/', '(', ')', '_', '#', '!', '?', 0x0B, 0x0C, 0x1F, 0x7F,
    0x85, 0xA0, 0x1680, 0x2000, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0x180E,
    0xFEFF, 0x200B, 0x200D, // White_Space and near misses
    0x17F, 0x212A, 0xDF, 0x130, 0x131,           // long s, Kelvin, sharp s, dotted/dotless i
    0xE9, 0xC9, 0x301, 0x308, 0x903, 0x20DD,      // letters with accents, Mn, Mc, Me
    0x1C5, 0x1C8, 0x2B0, 0x2C6, 0x5D0, 0x627, 0x3B1, 0x391, 0x416, 0x436, // Lt Lm Lo Greek Cyrillic
    0x4E16, 0x754C, 0x4E2D, 0x3005, 0x3007, 0x2E80, 0x2F00, 0x3021, 0xF900, 0x20000, // Han
    0x30BF, 0x30FC, 0x3042, 0xAC00, 0xFF21, 0xFF41, // kana, Lm ー, hangul, fullwidth
    0x663, 0x6F3, 0x2162, 0xBD, 0x2460, 0xFF11, 0x1D7CE, // digits: Nd Nl No, fullwidth, math
    0x1F916, 0x1F680, 0x1F469, 0x2764, 0xFE0F, 0x1F3FD, 0x1F1EB, // emoji and modifiers
    0x3002, 0xFF0C, 0x2014, 0x201C, 0x2026, 0xA9, 0x20AC, // punctuation and symbols
};

static size_t random_text(rng *r, char *buf)
{
    size_t n = 0;
    int len = (int)(next(r) % 40);
    for (int i = 0; i < len; i++) {
        uint32_t cp;
        uint64_t x = next(r);
        if (x % 23 == 0) { // any scalar value
            do {
                cp = (uint32_t)(next(r) % 0x110000);
            } while ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0);
        } else if (x % 17 == 0) { // a contraction
            static const char *const c[] = {"'s", "'T", "'re", "'VE", "'m", "'Ll", "'d", "'x",
                                            "'\xC5\xBF"};
            const char *s = c[next(r) % 9];
            size_t l = strlen(s);
            memcpy(buf + n, s, l);
            n += l;
            continue;
        } else {
            cp = alphabet[next(r) % (sizeof alphabet / sizeof alphabet[0])];
        }
        n += wk_tok_utf8_enc(cp, (uint8_t *)buf + n);
    }
    return n;
}

int main(void)
{
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    for (int p = 0; p < 5; p++) {
        const char *pat = pats[p][0] ? pats[p][0] : wk_tok_kimi_pattern;
        kinds[p] = wk_tok_fast_kind(pat, strlen(pat));
        CHECKF(kinds[p] != WK_FAST_NONE, "%s is not recognised", pats[p][1]);
        CHECK_OK(wk_tok_regex_new(pat, strlen(pat), pats[p][1], &res[p]));
    }
    golden_texts();
    long golden = n_texts;
    rng r = {0x9E3779B97F4A7C15ull};
    char buf[40 * 8];
    int n_random = getenv("WICK_TOK_SPLIT_N") ? atoi(getenv("WICK_TOK_SPLIT_N")) : 40000;
    for (int i = 0; i < n_random; i++) {
        size_t n = random_text(&r, buf);
        for (int p = 0; p < 5; p++) { diff_one(p, buf, n); }
    }
    CHECKF(n_diff == 0, "%ld texts differ", n_diff);
    printf("hand splitters vs Oniguruma: %ld golden + %ld random texts x 5 patterns, %ld pieces, "
           "%ld differences; %ld skipped: newer Unicode (%.1f s cpu)\n",
           golden / 5, (n_texts - golden) / 5, n_pieces, n_diff, n_newer,
           (double)clock() / CLOCKS_PER_SEC - t0);
    for (int p = 0; p < 5; p++) { wk_tok_regex_free(res[p]); }
    return test_summary("tok_split");
}
