// test_tok_bad.c — bad input never crashes and fails with a clear message: malformed and truncated
// tokenizer.json (file, JSON path, reason), bad tiktoken files and GGUF vocabularies, invalid
// UTF-8 text (documented: U+FFFD), allocation failures. Plus round trips, the streaming decoder on
// random ids, and the BPE heap path against the flat one.
#include <jansson.h>
#include <time.h>

#include "harness.h"
#include "tok/tok.h"

static uint64_t rs = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static wick_status open_mem(const char *json, wick_tokenizer **tk)
{
    return wick_tokenizer_open_json_mem("t.json", json, strlen(json), NULL, tk);
}

#define BASE_MODEL "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, "

// The status whose wick_status_name() is name, or WICK_OK when none is.
static wick_status status_named(const char *name)
{
    for (int rc = WICK_E_TIMEOUT; rc < 0; rc++) {
        if (strcmp(wick_status_name((wick_status)rc), name) == 0) { return (wick_status)rc; }
    }
    return WICK_OK;
}

// tests/data/tokenizers/bad-json.tsv: each broken tokenizer.json fails with its status and a
// message naming the JSON path and the reason.
static void bad_json(void)
{
    FILE *f = fopen(test_data("tokenizers/bad-json.tsv"), "r");
    CHECK(f != NULL);
    if (!f) { return; }
    static char line[4096];
    int n_cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') { continue; }
        line[strcspn(line, "\n")] = 0;
        char *needle = strchr(line, '\t'), *json = needle ? strchr(needle + 1, '\t') : NULL;
        CHECKF(json != NULL, "bad-json.tsv: '%s': expected STATUS<TAB>MESSAGE<TAB>JSON", line);
        if (!json) { continue; }
        *needle++ = 0;
        *json++ = 0;
        wick_status rc = status_named(line);
        CHECKF(rc < 0, "bad-json.tsv: '%s' is not an error status", line);
        wick_tokenizer *tk = (wick_tokenizer *)1;
        CHECK_FAIL(open_mem(json, &tk), rc, needle);
        CHECK(tk == NULL);
        n_cases++;
    }
    fclose(f);
    CHECKF(n_cases >= 32, "bad-json.tsv: %d cases", n_cases);
    // a good one, for contrast: merges in both forms
    wick_tokenizer *tk = NULL;
    CHECK_OK(open_mem("{" BASE_MODEL "\"merges\": [[\"a\", \"b\"]]}}", &tk));
    int32_t ids[4];
    size_t n = 0;
    if (tk) {
        CHECK_OK(wick_tokenize(tk, "abab", 4, 0, ids, 4, &n));
        CHECK(n == 2 && ids[0] == 2 && ids[1] == 2);
        // a buffer too small: WICK_E_RANGE, *n_out the count needed, ids filled as far as they go
        CHECK_FAIL(wick_tokenize(tk, "ababa", 5, 0, ids, 1, &n), WICK_E_RANGE, "needs 3 tokens");
        CHECK(n == 3 && ids[0] == 2);
        // chars outside the vocabulary (no unk, no byte fallback) are dropped, as HF does
        CHECK_OK(wick_tokenize(tk, "xab", 3, 0, ids, 4, &n));
        CHECK(n == 1 && ids[0] == 2);
    }
    wick_tokenizer_close(tk);
}

// Every prefix of a real file fails cleanly (or, for the whole file, succeeds); random byte
// mutations never crash.
static void truncated_and_mutated(void)
{
    size_t len;
    char *data = test_slurp(test_data("tokenizers/mini-phi4r-1536/tokenizer.json"), &len);
    CHECK(data != NULL);
    if (!data) { return; }
    int n_ok = 0, n_fail = 0, n_bad_msg = 0;
    for (size_t cut = 0; cut <= len; cut += (cut < 2000 ? 97 : 1531)) {
        wick_tokenizer *tk = NULL;
        wick_status rc = wick_tokenizer_open_json_mem("mini.json", data, cut, NULL, &tk);
        if (rc == WICK_OK) {
            n_ok++;
        } else {
            n_fail++;
            n_bad_msg += strncmp(wick_errmsg(), "mini.json: ", 11) != 0;
        }
        wick_tokenizer_close(tk);
    }
    CHECK(n_fail > 20 && n_bad_msg == 0);
    char *m = malloc(len);
    int n_mut_ok = 0;
    for (int it = 0; it < 300; it++) {
        memcpy(m, data, len);
        int k = 1 + (int)(rnd() % 4);
        for (int j = 0; j < k; j++) {
            static const char junk[] = "{}[]\":,0123456789-eE\\ abnrtu";
            m[rnd() % len] = junk[rnd() % (sizeof junk - 1)];
        }
        wick_tokenizer *tk = NULL;
        wick_status rc = wick_tokenizer_open_json_mem("mut.json", m, len, NULL, &tk);
        if (rc == WICK_OK) {
            n_mut_ok++;
            int32_t *ids = NULL;
            size_t n = 0;
            CHECK_OK(wick_tokenize_alloc(tk, "Hello <think> wörld 123!", 25, 1, &ids, &n));
            wick_free(ids);
        } else {
            CHECKF(strncmp(wick_errmsg(), "mut.json: ", 10) == 0, "message: %s", wick_errmsg());
        }
        wick_tokenizer_close(tk);
    }
    printf("truncations: %d fail cleanly, %d open; mutations: %d of 300 still open\n", n_fail,
           n_ok, n_mut_ok);
    free(m);
    free(data);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static void bad_tiktoken(void)
{
    const char *b = getenv("WICK_BUILD_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tok-bad.tiktoken", b ? b : "/tmp");
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"YQ== 0\nYg== 2\n", "rank 2 but only 2 lines"},
        {"YQ== 0\nYg== 0\n", ":2: rank 0 appears twice"},
        {"YQ== 0\n!!!! 1\n", ":2: bad base64 token"},
        {"YQ== 0\nYg==\n", ":2: expected 'BASE64 RANK'"},
        {"YQ== 0\nYg== x\n", ":2: bad rank"},
        {"", "empty tiktoken file"},
        {"YQ== 0\nYQ== 1\n", "same text"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].text);
        wick_tokenizer *tk = NULL;
        CHECK_FAIL(wick_tokenizer_open_tiktoken(path, NULL, &tk), WICK_E_FORMAT, cases[i].needle);
        CHECK(strstr(wick_errmsg(), path) == wick_errmsg());
    }
    // a small good one: "a" "b" "ab" with the default (Kimi) pattern
    write_file(path, "YQ== 0\nYg== 1\nYWI= 2\n");
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_tokenizer_open_tiktoken(path, NULL, &tk));
    int32_t ids[8];
    size_t n = 0;
    if (tk) {
        CHECK_OK(wick_tokenize(tk, "abba", 4, 0, ids, 8, &n));
        CHECK(n == 3 && ids[0] == 2 && ids[1] == 1 && ids[2] == 0);
    }
    wick_tokenizer_close(tk);
}

// GGUF vocabularies written with the project's GGUF writer.
static const char *write_vocab(const char *name, const char *model, const char *pre,
                               const char *const *tokens, int n, const int32_t *types,
                               const char *const *merges, int n_merges, int64_t bos)
{
    static char path[4096];
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(path, sizeof path, "%s/tok-%s.gguf", b ? b : "/tmp", name);
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_writer_create(&w));
    CHECK_OK(wick_gguf_writer_add_str(w, "general.architecture", "llama"));
    CHECK_OK(wick_gguf_writer_add_str(w, "tokenizer.ggml.model", model));
    if (pre) { CHECK_OK(wick_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre)); }
    CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.tokens", WICK_GGUF_STRING, tokens,
                                        (uint64_t)n));
    if (types) {
        CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.token_type", WICK_GGUF_INT32,
                                            types, (uint64_t)(n - 1)));
    }
    if (merges) {
        CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.merges", WICK_GGUF_STRING, merges,
                                            (uint64_t)n_merges));
    }
    if (bos >= 0) {
        CHECK_OK(wick_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos));
    }
    CHECK_OK(wick_gguf_writer_write(w, path, NULL, NULL));
    wick_gguf_writer_destroy(w);
    return path;
}

static void bad_gguf(void)
{
    static const char *const toks[] = {"a", "b", "ab", "<|end|>"};
    static const char *const good_merges[] = {"a b"};
    static const char *const bad_merges[] = {"a b", "b a"};
    static const int32_t types[] = {1, 1, 1, 3};
    static const struct {
        const char *name, *model, *pre;
        const int32_t *types;
        const char *const *merges;
        int n_merges;
        int64_t bos;
        wick_status rc;
        const char *needle;
    } cases[] = {
        {"model", "martian", "gpt2", NULL, good_merges, 1, -1, WICK_E_UNSUPPORTED,
         "tokenizer.ggml.model 'martian' is not supported"},
        {"t5-scores", "t5", NULL, NULL, NULL, 0, -1, WICK_E_FORMAT,
         "tokenizer.ggml.scores: missing for model 't5'"},
        {"bert-types", "bert", NULL, types, NULL, 0, -1, WICK_E_FORMAT,
         "tokenizer.ggml.token_type: 3 entries for 4 tokens"},
        {"bert-bos", "bert", NULL, NULL, NULL, 0, 9, WICK_E_FORMAT,
         "tokenizer.ggml.bos_token_id: token id 9 out of range"},
        {"pre", "gpt2", "martian", NULL, good_merges, 1, -1, WICK_E_UNSUPPORTED,
         "tokenizer.ggml.pre 'martian' is not supported"},
        {"types", "gpt2", "gpt2", types, good_merges, 1, -1, WICK_E_FORMAT,
         "tokenizer.ggml.token_type: 3 entries for 4 tokens"},
        {"merges", "gpt2", "gpt2", NULL, bad_merges, 2, -1, WICK_E_FORMAT,
         "tokenizer.ggml.merges[1]: 'b a' does not join"},
        {"bos", "gpt2", "gpt2", NULL, good_merges, 1, 9, WICK_E_FORMAT,
         "tokenizer.ggml.bos_token_id: token id 9 out of range"},
        {"scores", "llama", NULL, NULL, NULL, 0, -1, WICK_E_FORMAT,
         "tokenizer.ggml.scores: missing"},
        {"plamo2-scores", "plamo2", NULL, NULL, NULL, 0, -1, WICK_E_FORMAT,
         "tokenizer.ggml.scores: missing for model 'plamo2'"},
        {"none", "no_vocab", NULL, NULL, NULL, 0, -1, WICK_E_NOT_FOUND,
         "tokenizer.ggml.model 'no_vocab': the file has no vocabulary"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = write_vocab(cases[i].name, cases[i].model, cases[i].pre, toks, 4,
                                    cases[i].types, cases[i].merges, cases[i].n_merges,
                                    cases[i].bos);
        wick_gguf *g = NULL;
        CHECK_OK(wick_gguf_open(p, &g));
        wick_tokenizer *tk = NULL;
        if (g) {
            CHECK_FAIL(wick_tokenizer_open_gguf(g, &tk), cases[i].rc, cases[i].needle);
            CHECK(strstr(wick_errmsg(), p) == wick_errmsg());
        }
        wick_tokenizer_close(tk);
        wick_gguf_close(g);
    }
}

// RWKV vocabularies: a malformed escape in a token names it; a byte no token starts with, when
// there is no unknown token, is an error naming the byte (llama.cpp would emit id -1).
static void bad_rwkv(void)
{
    static const char *const bad[][2] = {{"\\x4", "[1]: '\\x4': a bad escape"},
                                         {"\\xg0", "[1]: '\\xg0': a bad escape"},
                                         {"b\\", "[1]: 'b\\': a bad escape"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *toks[] = {"a", bad[i][0], "c"};
        const char *p = write_vocab("rwkv-bad", "rwkv", NULL, toks, 3, NULL, NULL, 0, -1);
        wick_gguf *g = NULL;
        wick_tokenizer *tk = NULL;
        CHECK_OK(wick_gguf_open(p, &g));
        if (g) { CHECK_FAIL(wick_tokenizer_open_gguf(g, &tk), WICK_E_FORMAT, bad[i][1]); }
        wick_tokenizer_close(tk);
        wick_gguf_close(g);
    }
    const char *toks[] = {"a", "\\x41b", "\\'\\\\\\t", "\\xE4\\xb8"};
    const char *p = write_vocab("rwkv-ok", "rwkv", NULL, toks, 4, NULL, NULL, 0, -1);
    wick_gguf *g = NULL;
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_gguf_open(p, &g));
    if (g) { CHECK_OK(wick_tokenizer_open_gguf(g, &tk)); }
    wick_gguf_close(g);
    if (!tk) { return; }
    int32_t ids[8];
    size_t n = 0;
    // "Ab" is one token, "'\\\t" another, the bytes E4 B8 a third (half of a character)
    CHECK_OK(wick_tokenize(tk, "aAb'\\\t\xE4\xB8", 8, 0, ids, 8, &n));
    CHECK(n == 4 && ids[0] == 0 && ids[1] == 1 && ids[2] == 2 && ids[3] == 3);
    CHECK_FAIL(wick_tokenize(tk, "ab", 2, 0, ids, 8, &n), WICK_E_FORMAT,
               "byte 0x62 starts no token of the vocabulary and there is no unknown token");
    wick_tokenizer_close(tk);
}

// PLaMo 2 spells unknown characters with <0xXX> tokens: a vocabulary without all 256 is refused.
static void bad_plamo2(void)
{
    static const char *const toks[] = {"a", "<0x00>"};
    static const float scores[] = {-1, 0};
    static const int32_t types[] = {1, 6};
    char path[4096];
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(path, sizeof path, "%s/tok-plamo2.gguf", b ? b : "/tmp");
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_writer_create(&w));
    CHECK_OK(wick_gguf_writer_add_str(w, "tokenizer.ggml.model", "plamo2"));
    CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.tokens", WICK_GGUF_STRING, toks, 2));
    CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.scores", WICK_GGUF_FLOAT32, scores, 2));
    CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.token_type", WICK_GGUF_INT32, types, 2));
    CHECK_OK(wick_gguf_writer_write(w, path, NULL, NULL));
    wick_gguf_writer_destroy(w);
    wick_gguf *g = NULL;
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_gguf_open(path, &g));
    if (g) {
        CHECK_FAIL(wick_tokenizer_open_gguf(g, &tk), WICK_E_FORMAT,
                   "tokenizer.ggml.tokens: no BYTE token <0x01> (PLaMo 2 needs all 256)");
    }
    wick_tokenizer_close(tk);
    wick_gguf_close(g);
}

// Invalid UTF-8 is tokenized as the text with U+FFFD for each maximal invalid subsequence.
static void invalid_utf8(void)
{
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_tokenizer_open_json(test_data("tokenizers/phi4/tokenizer.json"), NULL, &tk));
    if (!tk) { return; }
    static const struct {
        const char *bad, *fixed;
    } cases[] = {
        {"a\xFF" "b", "a\xEF\xBF\xBD" "b"},
        {"\xE2\x82", "\xEF\xBF\xBD"},                         // truncated at the end
        {"\xE2\x82" "A", "\xEF\xBF\xBD" "A"},                 // one U+FFFD for the maximal part
        {"\xED\xA0\x80x", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx"}, // a surrogate: 3
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},            // overlong
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, // > U+10FFFF
        {"<|im_end|>\x80<|im_end|>", "<|im_end|>\xEF\xBF\xBD<|im_end|>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        CHECK_OK(wick_tokenize_alloc(tk, cases[i].bad, strlen(cases[i].bad), 1, &a, &na));
        CHECK_OK(wick_tokenize_alloc(tk, cases[i].fixed, strlen(cases[i].fixed), 1, &b, &nb));
        CHECKF(na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0), "case %zu", i);
        wick_free(a);
        wick_free(b);
    }
    // random bytes: never a crash, and the ids decode to valid UTF-8
    char buf[256];
    for (int it = 0; it < 2000; it++) {
        size_t n = rnd() % sizeof buf;
        for (size_t k = 0; k < n; k++) { buf[k] = (char)rnd(); }
        int32_t *ids = NULL;
        size_t ni = 0;
        CHECK_OK(wick_tokenize_alloc(tk, buf, n, (unsigned)(rnd() % 4), &ids, &ni));
        char *text = NULL;
        size_t tl = 0;
        CHECK_OK(wick_detokenize(tk, ids, ni, 0, &text, &tl));
        CHECK(text && wk_tok_utf8_valid((const uint8_t *)text, tl));
        wick_free(text);
        wick_free(ids);
    }
    wick_tokenizer_close(tk);
}

// Random valid UTF-8 text: decode(encode(x)) == x; streaming over random ids gives whole UTF-8
// pieces that add up to wick_detokenize.
static void round_trips(wick_tokenizer *tk, const char *label)
{
    static const uint32_t cps[] = {'a', 'Z', ' ', '\n', '\t', '\'', '9', 0xE9, 0x301, 0x4E16,
                                   0x30BF, 0x1F916, 0x200D, 0xA0, 0x3000, 0x627, '<', '|', '>'};
    char buf[512];
    int n_ok = 0;
    for (int it = 0; it < 400; it++) {
        size_t n = 0;
        int len = (int)(rnd() % 60);
        for (int k = 0; k < len; k++) {
            if (rnd() % 9 == 0) {
                const char *sp = rnd() % 2 ? "<think>" : "<|im_end|>";
                memcpy(buf + n, sp, strlen(sp));
                n += strlen(sp);
                continue;
            }
            n += wk_tok_utf8_enc(cps[rnd() % (sizeof cps / sizeof cps[0])], (uint8_t *)buf + n);
        }
        int32_t *ids = NULL;
        size_t ni = 0;
        CHECK_OK(wick_tokenize_alloc(tk, buf, n, (unsigned)(rnd() % 2), &ids, &ni));
        char *text = NULL;
        size_t tl = 0;
        CHECK_OK(wick_detokenize(tk, ids, ni, 0, &text, &tl));
        bool same = text && tl == n && memcmp(text, buf, n) == 0;
        CHECKF(same, "%s: round trip of '%.*s' gave '%s'", label, (int)n, buf, text);
        n_ok += same;
        wick_free(text);
        wick_free(ids);
    }
    // random ids through the stream
    int32_t nv = wick_tokenizer_n_vocab(tk);
    for (int it = 0; it < 200; it++) {
        int32_t ids[40];
        size_t n = rnd() % 40;
        for (size_t k = 0; k < n; k++) { ids[k] = (int32_t)(rnd() % (uint64_t)nv); }
        char *text = NULL;
        size_t tl = 0;
        CHECK_OK(wick_detokenize(tk, ids, n, 0, &text, &tl));
        wick_detok_stream *st = NULL;
        CHECK_OK(wick_detok_stream_create(tk, 0, &st));
        char acc[40 * 64 * 3];
        size_t al = 0;
        for (size_t k = 0; st && k <= n; k++) {
            const char *p;
            size_t pl;
            wick_status rc = k < n ? wick_detok_stream_push(st, ids[k], &p, &pl)
                                   : wick_detok_stream_finish(st, &p, &pl);
            CHECK(rc == WICK_OK && wk_tok_utf8_valid((const uint8_t *)p, pl));
            if (rc == WICK_OK && al + pl <= sizeof acc) {
                memcpy(acc + al, p, pl);
                al += pl;
            }
        }
        CHECKF(text && al == tl && memcmp(acc, text, tl) == 0, "%s: stream != detokenize", label);
        wick_detok_stream_destroy(st);
        wick_free(text);
    }
    const char *p;
    size_t pl;
    wick_detok_stream *st = NULL;
    CHECK_OK(wick_detok_stream_create(tk, 0, &st));
    CHECK_FAIL(wick_detok_stream_push(st, nv + 5, &p, &pl), WICK_E_RANGE, "out of range");
    wick_detok_stream_destroy(st);
    int32_t bad = -1;
    char *text = NULL;
    size_t tl;
    CHECK_FAIL(wick_detokenize(tk, &bad, 1, 0, &text, &tl), WICK_E_RANGE, "token id -1");
    printf("%-12s round trips: %d/400 exact\n", label, n_ok);
}

// The heap path (long pieces) against the flat one (short pieces) on random symbol strings.
static void bpe_paths(wick_tokenizer *tk)
{
    const char *alpha = "aaaabbcdeeinorst  \n";
    int n_same = 0;
    for (int it = 0; it < 3000; it++) {
        int32_t a[48], b[48];
        size_t n = 2 + rnd() % 47;
        for (size_t k = 0; k < n; k++) {
            uint8_t c = (uint8_t)alpha[rnd() % strlen(alpha)];
            a[k] = b[k] = tk->byte_id[c];
        }
        size_t na = wk_tok_bpe_merge(tk, a, n);
        size_t nb = wk_tok_bpe_merge_heap(tk, b, n);
        bool same = na == nb && memcmp(a, b, na * sizeof *a) == 0;
        n_same += same;
    }
    CHECKF(n_same == 3000, "bpe heap vs flat: %d/3000 agree", n_same);
    // very long pieces: the blocked heaps against the single heap
    static const char *const alphas[] = {"aaaabbcdeeinorst  \n", " ", "ab", "0123456789", "x y"};
    int n_long = 0;
    for (int it = 0; it < 10; it++) {
        size_t n = 17000 + rnd() % 50000;
        const char *al = alphas[it % 5];
        int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        for (size_t k = 0; k < n; k++) {
            a[k] = b[k] = tk->byte_id[(uint8_t)al[rnd() % strlen(al)]];
        }
        size_t na = wk_tok_bpe_merge_blocks(tk, a, n);
        size_t nb = wk_tok_bpe_merge_heap(tk, b, n);
        n_long += na == nb && memcmp(a, b, na * sizeof *a) == 0;
        free(a);
        free(b);
    }
    CHECKF(n_long == 10, "bpe blocked heaps vs one heap: %d/10 agree", n_long);
}

// Every allocation failing in turn: a clean WICK_E_NOMEM, never a crash or a leak (ASan).
static void alloc_failures(void)
{
    size_t len;
    char *data = test_slurp(test_data("tokenizers/mini-kimi-1536/tokenizer.json"), &len);
    if (!data) { return; }
    wk_alloc_fail_after(0);
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_tokenizer_open_json_mem("m.json", data, len, NULL, &tk));
    uint64_t n_alloc = wk_alloc_fail_after(0);
    wick_tokenizer_close(tk);
    int n_nomem = 0, n_other = 0;
    for (uint64_t k = 1; k <= n_alloc + 1; k += (k < 200 ? 1 : 37)) {
        wk_alloc_fail_after(k);
        tk = NULL;
        wick_status rc = wick_tokenizer_open_json_mem("m.json", data, len, NULL, &tk);
        if (rc == WICK_OK) {
            int32_t *ids = NULL;
            size_t n;
            rc = wick_tokenize_alloc(tk, "Hello, 世界 <think>x</think>", 29, 1, &ids, &n);
            wick_free(ids);
        }
        wick_tokenizer_close(tk);
        n_nomem += rc == WICK_E_NOMEM;
        n_other += rc < 0 && rc != WICK_E_NOMEM;
        if (rc < 0 && rc != WICK_E_NOMEM) {
            fprintf(stderr, "k=%llu: %s\n", (unsigned long long)k, wick_errmsg());
        }
    }
    wk_alloc_fail_after(0);
    CHECKF(n_other == 0, "%d failures were not WICK_E_NOMEM", n_other);
    printf("allocation failures: %llu allocations to open, %d injected failures handled\n",
           (unsigned long long)n_alloc, n_nomem);
    free(data);
}

int main(void)
{
    bad_json();
    truncated_and_mutated();
    bad_tiktoken();
    bad_gguf();
    bad_rwkv();
    bad_plamo2();
    invalid_utf8();
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_tokenizer_open_json(test_data("tokenizers/phi4/tokenizer.json"), NULL, &tk));
    if (tk) {
        round_trips(tk, "phi4");
        bpe_paths(tk);
    }
    wick_tokenizer_close(tk);
    tk = NULL;
    CHECK_OK(wick_tokenizer_open_tiktoken(test_data("tokenizers/kimi-tiktoken/tiktoken.model"),
                                          NULL, &tk));
    if (tk) { round_trips(tk, "kimi"); }
    wick_tokenizer_close(tk);
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(test_data("models/phi3-F32.gguf"), &g));
    tk = NULL;
    if (g) { CHECK_OK(wick_tokenizer_open_gguf(g, &tk)); }
    wick_gguf_close(g);
    if (tk) { round_trips(tk, "phi3 gguf"); }
    wick_tokenizer_close(tk);
    alloc_failures();
    return test_summary("tok_bad");
}
