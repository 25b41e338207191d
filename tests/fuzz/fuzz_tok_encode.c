// fuzz_tok_encode.c — libFuzzer target for the encoder, the decoders and the hand splitters.
//
// Byte 0 picks the tokenizer (Phi-4 tokenizer.json, Kimi tiktoken, the mini Kimi GGUF, a
// tiktoken with the llama3 pattern on the Oniguruma path; the WordPiece, Unigram and Unigram with
// byte fallback tokenizer.json files of tests/data/tokenizers/hf; the RWKV vocabulary of
// tokenizers/hf/rwkv.json and plamo2.json as GGUF files) and the flags; the rest is the text.
// Oracles: no crash or sanitizer report; decode(encode(x)) == x for valid UTF-8 (the first four,
// RWKV, and PLaMo 2 without U+FEFF, whose pipelines keep the text); the stream
// decoder's pieces are valid UTF-8 and add up to wick_detokenize; every hand splitter agrees with
// Oniguruma on the text.
//   cmake -DWICK_FUZZ=ON -DCMAKE_C_COMPILER=clang; WICK_TEST_DATA=tests/data ./fuzz_tok_encode
//   (WICK_FUZZ_TOK=N: only tokenizer N, 0..8 in the order above)
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tok/tok.h"

static wick_tokenizer *tks[9];
static void *res[5];
static int kinds[5];

static const char *data_path(const char *rel, char *buf, size_t n)
{
    const char *d = getenv("WICK_TEST_DATA");
    snprintf(buf, n, "%s/%s", d ? d : "tests/data", rel);
    return buf;
}

// tokenizers/hf/NAME.json (the GGUF keys bench/tok/rwkv.js or plamo2.js wrote) → a GGUF → *tk.
static void setup_keys(const char *name, wick_tokenizer **tk)
{
    char p[4096], rel[256], out[64];
    json_error_t err;
    snprintf(rel, sizeof rel, "tokenizers/hf/%s.json", name);
    json_t *root = json_load_file(data_path(rel, p, sizeof p), 0, &err);
    if (!root) { abort(); }
    json_t *tokens = json_object_get(root, "tokens"), *types = json_object_get(root, "token_type");
    json_t *scores = json_object_get(root, "scores");
    size_t n = json_array_size(tokens);
    const char **toks = calloc(n, sizeof *toks);
    int32_t *ty = calloc(n, sizeof *ty);
    float *sc = calloc(n, sizeof *sc);
    if (!toks || !ty || !sc) { abort(); }
    for (size_t i = 0; i < n; i++) {
        toks[i] = json_string_value(json_array_get(tokens, i));
        ty[i] = (int32_t)json_integer_value(json_array_get(types, i));
        json_t *v = json_array_get(scores, i);
        sc[i] = json_is_number(v) ? (float)json_number_value(v) : 0.0f / 0.0f;
    }
    snprintf(out, sizeof out, "/tmp/fuzz_tok_%s-%d.gguf", name, (int)getpid());
    wick_gguf_writer *w = NULL;
    wick_gguf *g = NULL;
    if (wick_gguf_writer_create(&w) < 0 ||
        wick_gguf_writer_add_str(w, "tokenizer.ggml.model",
                                 json_string_value(json_object_get(root, "model"))) < 0 ||
        wick_gguf_writer_add_array(w, "tokenizer.ggml.tokens", WICK_GGUF_STRING, toks, n) < 0 ||
        wick_gguf_writer_add_array(w, "tokenizer.ggml.token_type", WICK_GGUF_INT32, ty, n) < 0 ||
        (scores &&
         wick_gguf_writer_add_array(w, "tokenizer.ggml.scores", WICK_GGUF_FLOAT32, sc, n) < 0) ||
        wick_gguf_writer_write(w, out, NULL, NULL) < 0 || wick_gguf_open(out, &g) < 0 ||
        wick_tokenizer_open_gguf(g, tk) < 0) {
        abort();
    }
    wick_gguf_close(g);
    wick_gguf_writer_destroy(w);
    unlink(out);
    free(toks);
    free(ty);
    free(sc);
    json_decref(root);
}

static void setup(void)
{
    char p[4096];
    if (wick_tokenizer_open_json(data_path("tokenizers/phi4/tokenizer.json", p, sizeof p), NULL,
                                 &tks[0]) < 0 ||
        wick_tokenizer_open_tiktoken(data_path("tokenizers/kimi-tiktoken/tiktoken.model", p,
                                               sizeof p),
                                     NULL, &tks[1]) < 0) {
        fprintf(stderr, "fuzz_tok_encode: %s (set WICK_TEST_DATA)\n", wick_errmsg());
        abort();
    }
    wick_gguf *g = NULL;
    if (wick_gguf_open(data_path("models/deepseek2-Q2_K.gguf", p, sizeof p), &g) < 0 ||
        wick_tokenizer_open_gguf(g, &tks[2]) < 0) {
        abort();
    }
    wick_gguf_close(g);
    wick_tokenizer_opts o;
    wick_tokenizer_opts_init(&o);
    o.pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+|\\s";
    if (wick_tokenizer_open_tiktoken(data_path("tokenizers/kimi-tiktoken/tiktoken.model", p,
                                               sizeof p),
                                     &o, &tks[3]) < 0) {
        abort();
    }
    static const char *const hf[] = {"tokenizers/hf/bert.json", "tokenizers/hf/t5.json",
                                     "tokenizers/hf/unigram-bytes.json"};
    for (int i = 0; i < 3; i++) {
        if (wick_tokenizer_open_json(data_path(hf[i], p, sizeof p), NULL, &tks[4 + i]) < 0) {
            abort();
        }
    }
    setup_keys("rwkv", &tks[7]);
    setup_keys("plamo2", &tks[8]);
    // every hand splitter with its pattern, from the tokenizers that use them
    const wk_pre *pres[] = {&tks[0]->pre[0], &tks[1]->pre[0]};
    for (int i = 0; i < 2; i++) {
        res[i] = pres[i]->re;
        kinds[i] = pres[i]->fast;
    }
    static const char *const more[] = {
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
        "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
        "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
        "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    };
    for (int i = 0; i < 3; i++) {
        kinds[2 + i] = wk_tok_fast_kind(more[i], strlen(more[i]));
        if (wk_tok_regex_new(more[i], strlen(more[i]), "fuzz", &res[2 + i]) < 0) { abort(); }
    }
}

static void check_splitters(const char *s, size_t n)
{
    for (int p = 0; p < 5; p++) {
        wk_tok_spans a = {0};
        if (wk_tok_regex_isolated(res[p], s, n, 0, &a) < 0) { continue; } // e.g. retry limit
        size_t i = 0, k = 0;
        while (i < n) {
            size_t e = wk_tok_fast_next(kinds[p], (const uint8_t *)s, n, i);
            if (e <= i || e > n || k >= a.n || a.v[k].off != i || a.v[k].off + a.v[k].len != e) {
                fprintf(stderr, "hand splitter %d differs from Oniguruma at byte %zu\n", p, i);
                abort();
            }
            k++;
            i = e;
        }
        if (k != a.n) { abort(); }
        wk_free(a.v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tks[0]) { setup(); }
    if (size < 1) { return 0; }
    int which = ((data[0] & 3) | ((data[0] >> 2) & 12)) % 9; // bits 0, 1, 4 and 5
    static int force = -2; // WICK_FUZZ_TOK=N: always tokenizer N
    if (force == -2) { force = getenv("WICK_FUZZ_TOK") ? atoi(getenv("WICK_FUZZ_TOK")) % 9 : -1; }
    if (force >= 0) { which = force; }
    const wick_tokenizer *tk = tks[which];
    unsigned flags = (data[0] >> 2) & 3;
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    int32_t *ids = NULL;
    size_t ni = 0;
    if (wick_tokenize_alloc(tk, text, n, flags, &ids, &ni) < 0) { abort(); }
    char *out = NULL;
    size_t ol = 0;
    if (wick_detokenize(tk, ids, ni, 0, &out, &ol) < 0) { abort(); }
    bool valid = wk_tok_utf8_valid((const uint8_t *)text, n);
    // round trip (BOS/EOS added by ADD_SPECIAL would be extra text: only without it)
    bool bom = false; // PLaMo 2 drops a U+FEFF that starts a segment
    for (size_t i = 0; i + 3 <= n && !bom; i++) { bom = memcmp(text + i, "\xEF\xBB\xBF", 3) == 0; }
    bool keeps = which < 4 || which == 7 || (which == 8 && !bom);
    if (valid && keeps && !(flags & WICK_TOKENIZE_ADD_SPECIAL) &&
        (ol != n || memcmp(out, text, n) != 0)) {
        fprintf(stderr, "round trip differs\n");
        abort();
    }
    if (!wk_tok_utf8_valid((const uint8_t *)out, ol)) { abort(); }
    wick_detok_stream *st = NULL;
    if (wick_detok_stream_create(tk, 0, &st) < 0) { abort(); }
    size_t al = 0;
    for (size_t k = 0; k <= ni; k++) {
        const char *p;
        size_t pl;
        wick_status rc = k < ni ? wick_detok_stream_push(st, ids[k], &p, &pl)
                                : wick_detok_stream_finish(st, &p, &pl);
        if (rc < 0 || !wk_tok_utf8_valid((const uint8_t *)p, pl) || al + pl > ol ||
            memcmp(out + al, p, pl) != 0) {
            fprintf(stderr, "stream differs\n");
            abort();
        }
        al += pl;
    }
    if (al != ol) { abort(); }
    wick_detok_stream_destroy(st);
    if (valid) { check_splitters(text, n); }
    wick_free(out);
    wick_free(ids);
    return 0;
}
