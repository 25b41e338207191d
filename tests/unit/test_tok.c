// test_tok.c — exact ids on every golden vector of tests/data/tokenizers/golden, through every
// path that applies (tokenizer.json, GGUF vocabulary, tiktoken), decode and streaming decode.
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "harness.h"

static json_t *load_jsonl(const char *rel, size_t *n)
{
    size_t len;
    char *data = test_slurp(test_data(rel), &len);
    json_t *arr = json_array();
    *n = 0;
    if (!data) {
        fprintf(stderr, "cannot read %s\n", rel);
        return arr;
    }
    char *line = data;
    while (*line) {
        char *nl = strchr(line, '\n');
        if (nl) { *nl = '\0'; }
        if (*line) {
            json_error_t err;
            json_t *v = json_loads(line, 0, &err);
            if (v) { json_array_append_new(arr, v); }
        }
        if (!nl) { break; }
        line = nl + 1;
    }
    free(data);
    *n = json_array_size(arr);
    return arr;
}

// Encodes and decodes every vector; returns the number of vectors that matched.
static int run_golden(const wick_tokenizer *tk, const char *rel, const char *label)
{
    size_t n;
    json_t *arr = load_jsonl(rel, &n);
    int ok_count = 0;
    CHECKF(n > 0, "%s: no vectors", rel);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        const char *text = json_string_value(json_object_get(v, "text"));
        size_t tlen = json_string_length(json_object_get(v, "text"));
        json_t *want = json_object_get(v, "ids");
        const char *dec_want = json_string_value(json_object_get(v, "decoded"));
        size_t dlen_want = json_string_length(json_object_get(v, "decoded"));
        int32_t *ids = NULL;
        size_t n_ids = 0;
        wick_status rc =
            wick_tokenize_alloc(tk, text, tlen, WICK_TOKENIZE_PARSE_SPECIAL, &ids, &n_ids);
        CHECKF(rc == WICK_OK, "%s %s[%zu]: %s", label, rel, i, wick_errmsg());
        bool same = rc == WICK_OK && n_ids == json_array_size(want);
        for (size_t k = 0; same && k < n_ids; k++) {
            same = ids[k] == (int32_t)json_integer_value(json_array_get(want, k));
        }
        CHECKF(same, "%s %s[%zu] %.60s: ids differ", label, rel, i, text);
        if (!same) {
            fprintf(stderr, "  got :");
            for (size_t k = 0; k < n_ids; k++) { fprintf(stderr, " %d", ids[k]); }
            fprintf(stderr, "\n  want:");
            for (size_t k = 0; k < json_array_size(want); k++) {
                fprintf(stderr, " %lld", (long long)json_integer_value(json_array_get(want, k)));
            }
            fprintf(stderr, "\n");
        }
        ok_count += same;
        // decode the golden ids
        size_t nw = json_array_size(want);
        int32_t *wids = malloc((nw + 1) * sizeof *wids);
        for (size_t k = 0; k < nw; k++) {
            wids[k] = (int32_t)json_integer_value(json_array_get(want, k));
        }
        char *dec = NULL;
        size_t dlen = 0;
        CHECK_OK(wick_detokenize(tk, wids, nw, 0, &dec, &dlen));
        CHECKF(dec && dlen == dlen_want && memcmp(dec, dec_want, dlen) == 0,
               "%s %s[%zu]: decoded '%s', want '%s'", label, rel, i, dec ? dec : "(null)",
               dec_want);
        // streaming: the pieces concatenate to the same text, each piece valid UTF-8
        wick_detok_stream *st = NULL;
        CHECK_OK(wick_detok_stream_create(tk, 0, &st));
        char *acc = malloc(dlen_want * 3 + 16);
        size_t alen = 0;
        for (size_t k = 0; st && k <= nw; k++) {
            const char *piece;
            size_t pl;
            wick_status r = k < nw ? wick_detok_stream_push(st, wids[k], &piece, &pl)
                                   : wick_detok_stream_finish(st, &piece, &pl);
            CHECK(r == WICK_OK);
            if (r == WICK_OK && alen + pl <= dlen_want * 3 + 16) {
                memcpy(acc + alen, piece, pl);
                alen += pl;
            }
        }
        CHECKF(alen == dlen_want && memcmp(acc, dec_want, alen) == 0,
               "%s %s[%zu]: stream decoded differs", label, rel, i);
        wick_detok_stream_destroy(st);
        free(acc);
        wick_free(dec);
        free(wids);
        wick_free(ids);
    }
    json_decref(arr);
    printf("%-10s %-34s %d/%zu vectors exact\n", label, rel, ok_count, n);
    return ok_count;
}

static wick_tokenizer *open_json(const char *rel)
{
    wick_tokenizer *tk = NULL;
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    wick_status rc = wick_tokenizer_open_json(test_data(rel), NULL, &tk);
    double t1 = (double)clock() / CLOCKS_PER_SEC;
    CHECKF(rc == WICK_OK, "open %s: %s", rel, wick_errmsg());
    printf("loaded %s in %.1f ms (cpu)\n", rel, (t1 - t0) * 1e3);
    return tk;
}

static wick_tokenizer *open_gguf(const char *rel)
{
    wick_gguf *g = NULL;
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_gguf_open(test_data(rel), &g));
    if (g) {
        wick_status rc = wick_tokenizer_open_gguf(g, &tk);
        CHECKF(rc == WICK_OK, "open gguf %s: %s", rel, wick_errmsg());
    }
    wick_gguf_close(g);
    return tk;
}

static void test_json_paths(void)
{
    static const char *const pairs[][2] = {
        {"tokenizers/phi4/tokenizer.json", "tokenizers/golden/phi4.jsonl"},
        {"tokenizers/phi4/tokenizer.json", "tokenizers/golden/cl100k.jsonl"},
        {"tokenizers/mini-llama3-1536/tokenizer.json", "tokenizers/golden/mini-llama3-1536.jsonl"},
        {"tokenizers/mini-phi4r-1536/tokenizer.json", "tokenizers/golden/mini-phi4r-1536.jsonl"},
        {"tokenizers/mini-kimi-1536/tokenizer.json", "tokenizers/golden/mini-kimi-1536.jsonl"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        wick_tokenizer *tk = open_json(pairs[i][0]);
        if (tk) { run_golden(tk, pairs[i][1], "json"); }
        wick_tokenizer_close(tk);
    }
}

// Streams ids one by one; checks the pieces add up to want (and to wick_detokenize).
static void check_stream(const wick_tokenizer *tk, const int32_t *ids, size_t n, const char *want)
{
    char *full = NULL;
    size_t fl = 0;
    CHECK_OK(wick_detokenize(tk, ids, n, 0, &full, &fl));
    CHECKF(full && strcmp(full, want) == 0, "decoded '%s', want '%s'", full ? full : "", want);
    wick_detok_stream *st = NULL;
    CHECK_OK(wick_detok_stream_create(tk, 0, &st));
    char acc[256];
    size_t al = 0;
    for (size_t k = 0; st && k <= n; k++) {
        const char *piece;
        size_t pl;
        wick_status r = k < n ? wick_detok_stream_push(st, ids[k], &piece, &pl)
                              : wick_detok_stream_finish(st, &piece, &pl);
        CHECK(r == WICK_OK && al + pl < sizeof acc);
        if (r == WICK_OK && al + pl < sizeof acc) {
            memcpy(acc + al, piece, pl);
            al += pl;
        }
    }
    acc[al] = '\0';
    CHECKF(strcmp(acc, want) == 0, "streamed '%s', want '%s'", acc, want);
    wick_detok_stream_destroy(st);
    wick_free(full);
}

// Strip (start 1) takes one leading space of the whole text: when the first token is that space
// alone, the second token keeps its own (found by fuzz_tok_encode on "\u2581 ").
static void test_stream_strip(void)
{
    wick_tokenizer *tk = open_json("tokenizers/hf/unigram-bytes.json");
    if (!tk) { return; }
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(wick_tokenize_alloc(tk, "\xe2\x96\x81 ", 4, 0, &ids, &n));
    CHECKF(n == 2, "%zu ids for \"\\u2581 \"", n);
    if (n == 2) { check_stream(tk, ids, n, " "); }
    wick_free(ids);
    int32_t sp = wick_token_find(tk, "\xe2\x96\x81", 3);
    int32_t th = wick_token_find(tk, "\xe2\x96\x81the", 6);
    CHECK(sp >= 0 && th >= 0);
    if (sp >= 0 && th >= 0) {
        int32_t seq[] = {sp, sp, th, sp, th};
        check_stream(tk, seq, 2, " ");
        check_stream(tk, seq + 1, 2, " the");
        check_stream(tk, seq, 3, "  the");
        check_stream(tk, seq, 5, "  the  the");
        check_stream(tk, seq + 2, 3, "the  the");
    }
    wick_tokenizer_close(tk);
}

// ByteFallback decodes a run of byte tokens whole: a run that is not valid UTF-8 becomes one
// U+FFFD per byte, its valid bytes included, so the stream holds the run until it ends (found
// by fuzz_tok_encode: the stream used to replace only the invalid bytes).
static void test_stream_byte_runs(void)
{
    wick_tokenizer *tk = open_json("tokenizers/hf/unigram-bytes.json");
    if (!tk) { return; }
    int32_t e5 = wick_token_find(tk, "<0xE5>", 6), c3 = wick_token_find(tk, "<0xC3>", 6);
    int32_t a9 = wick_token_find(tk, "<0xA9>", 6), x41 = wick_token_find(tk, "<0x41>", 6);
    int32_t th = wick_token_find(tk, "\xe2\x96\x81the", 6);
    CHECK(e5 >= 0 && c3 >= 0 && a9 >= 0 && x41 >= 0 && th >= 0);
    if (e5 >= 0 && c3 >= 0 && a9 >= 0 && x41 >= 0 && th >= 0) {
        int32_t bad[] = {e5, x41, th, c3, a9, x41};
        check_stream(tk, bad, 2, "\xef\xbf\xbd\xef\xbf\xbd");
        check_stream(tk, bad, 3, "\xef\xbf\xbd\xef\xbf\xbd the");
        check_stream(tk, bad + 2, 4, "the\xc3\xa9" "A");
        check_stream(tk, bad + 3, 2, "\xc3\xa9");
    }
    wick_tokenizer_close(tk);
}

static void test_qwen3(void)
{
    // (not test_tmpdir: its snprintf trips -Wformat-truncation here)
    const char *b = getenv("WICK_BUILD_DIR");
    char cmd[8192], path[4200];
    snprintf(path, sizeof path, "%s/tok-qwen3.json", b ? b : "/tmp");
    snprintf(cmd, sizeof cmd, "xz -dc '%s' > '%s'", test_data("tokenizers/qwen3/tokenizer.json.xz"),
             path);
    CHECKF(system(cmd) == 0, "%s", cmd);
    wick_tokenizer *tk = NULL;
    wick_status rc = wick_tokenizer_open_json(path, NULL, &tk);
    CHECKF(rc == WICK_OK, "qwen3: %s", wick_errmsg());
    if (tk) { run_golden(tk, "tokenizers/golden/qwen3.jsonl", "json"); }
    wick_tokenizer_close(tk);
}

static void test_gguf_paths(void)
{
    static const char *const pairs[][2] = {
        {"models/llama-F32.gguf", "tokenizers/golden/mini-llama3-1536.jsonl"},
        {"models/llama-Q4_K_M.gguf", "tokenizers/golden/mini-llama3-1536.jsonl"},
        {"models/phi3-F32.gguf", "tokenizers/golden/mini-phi4r-1536.jsonl"},
        {"models/phi3-Q4_0.gguf", "tokenizers/golden/mini-phi4r-1536.jsonl"},
        {"models/deepseek2-F32.gguf", "tokenizers/golden/mini-kimi-1536.jsonl"},
        {"models/deepseek2-Q2_K.gguf", "tokenizers/golden/mini-kimi-1536.jsonl"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        wick_tokenizer *tk = open_gguf(pairs[i][0]);
        if (tk) { run_golden(tk, pairs[i][1], "gguf"); }
        wick_tokenizer_close(tk);
    }
}

static void test_tiktoken(void)
{
    wick_tokenizer *tk = NULL;
    wick_status rc = wick_tokenizer_open_tiktoken(
        test_data("tokenizers/kimi-tiktoken/tiktoken.model"), NULL, &tk);
    CHECKF(rc == WICK_OK, "tiktoken: %s", wick_errmsg());
    if (tk) {
        run_golden(tk, "tokenizers/golden/kimi-tiktoken.jsonl", "tiktoken");
        CHECK(wick_tokenizer_bos(tk) == 7936);
        CHECK(wick_tokenizer_eos(tk) == 7937);
        CHECK(wick_token_is_eog(tk, 7937));
        CHECK(wick_token_is_eog(tk, 7938)); // <|im_end|>
        CHECK(!wick_token_is_eog(tk, 7936));
    }
    // Kimi's encode(): runs of more than 25000 (non-)whitespace characters are cut and encoded
    // apart; 400000-character chunks likewise
    if (tk) {
        size_t n = 60000 + 30001 + 3;
        char *t = malloc(n);
        for (size_t i = 0; i < 60000; i++) { t[i] = (char)('a' + (i * 7 + i / 5) % 26); }
        memset(t + 60000, ' ', 30001);
        memcpy(t + 90001, "xyz", 3);
        const size_t cuts[] = {0, 25000, 50000, 60000 + 25000, n};
        int32_t *whole = NULL, *part = NULL;
        size_t nw = 0, np = 0, acc = 0;
        CHECK_OK(wick_tokenize_alloc(tk, t, n, 0, &whole, &nw));
        bool same = true;
        for (int k = 0; k + 1 < 5; k++) {
            CHECK_OK(wick_tokenize_alloc(tk, t + cuts[k], cuts[k + 1] - cuts[k], 0, &part, &np));
            same = same && acc + np <= nw && memcmp(whole + acc, part, np * sizeof *part) == 0;
            acc += np;
            wick_free(part);
        }
        CHECKF(same && acc == nw, "tiktoken: 25000-character runs are not encoded apart");
        wick_free(whole);
        free(t);
    }
    wick_tokenizer_close(tk);
    // open_file picks tiktoken for a non-JSON file
    rc = wick_tokenizer_open_file(test_data("tokenizers/kimi-tiktoken/tiktoken.model"), NULL, &tk);
    CHECKF(rc == WICK_OK, "open_file tiktoken: %s", wick_errmsg());
    wick_tokenizer_close(tk);
}

// One tokenizer, several threads at once: the same ids as one thread (the lazily filled per-token
// cache and Oniguruma's searches are shared).
typedef struct job {
    const wick_tokenizer *tk;
    const char *text;
    size_t len;
    size_t n;
    uint64_t sum;
} job;

static void *run_job(void *p)
{
    job *j = p;
    for (int r = 0; r < 3; r++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (wick_tokenize_alloc(j->tk, j->text, j->len, 1, &ids, &n) < 0) { return NULL; }
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) { sum = sum * 31 + (uint64_t)ids[i]; }
        j->n = n;
        j->sum = sum;
        wick_free(ids);
    }
    return NULL;
}

static void test_threads(void)
{
    wick_tokenizer *tk = open_json("tokenizers/phi4/tokenizer.json");
    if (!tk) { return; }
    size_t len = 0;
    char *text = test_slurp(test_data("tokenizers/golden/qwen3.jsonl"), &len); // any mixed text
    if (!text) { return; }
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){tk, text, len, 0, 0};
        CHECK(pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++) { pthread_join(th[i], NULL); }
    job one = {tk, text, len, 0, 0};
    run_job(&one);
    for (int i = 0; i < 4; i++) {
        CHECK(jobs[i].n == one.n && jobs[i].sum == one.sum && one.n > 0);
    }
    free(text);
    wick_tokenizer_close(tk);
}

int main(void)
{
    test_json_paths();
    test_stream_strip();
    test_stream_byte_runs();
    test_qwen3();
    test_tiktoken();
    test_gguf_paths();
    test_threads();
    return test_summary("tok");
}
