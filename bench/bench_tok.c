// bench_tok.c — tokenizer throughput and load time, next to Hugging Face tokenizers (npm) on the
// same text in the same run.
//
//   bench_tok [tokenizer.json] [MB]     (default: tests/data/tokenizers/phi4/tokenizer.json, 4 MB)
//   bench_tok --compare tokenizer.json FILE.jsonl   (golden-style lines, e.g. from hfdiff.js)
//
// Prints: load time of the tokenizer.json, encode MB/s single-threaded on mixed text (prose, code,
// CJK, emoji, numbers), the pathological 1 MB inputs (no-space word, spaces, digits), then runs
// bench/tok/bench.js with node on the same text and tokenizer when node and its node_modules are
// there (npm install in bench/tok), and compares the ids.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "wick.h"

static const char *const words[] = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an",
    "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there",
    "been", "if", "more", "when", "will", "would", "who", "so", "no", "model", "language",
    "token", "tokenizer", "weights", "inference", "attention", "matrix", "quantization",
    "throughput", "latency", "memory", "bandwidth", "experiment", "results", "significantly",
    "however", "therefore", "information", "government", "development", "international",
    "university", "understanding", "responsibility", "Washington", "London", "Paris", "Microsoft",
    "don't", "it's", "we're", "they've", "I'll", "she'd", "naïve", "café", "résumé", "Zürich",
};
static const char *const code[] = {
    "for (int i = 0; i < n; ++i) {\n    sum += x[i] * w[i];\n}\n",
    "def forward(self, x):\n    h = self.norm(x)\n    return x + self.attn(h)\n",
    "if (rc < 0) { return wk_fail(WICK_E_FORMAT, \"%s: bad header\", path); }\n",
    "const result = await fetch(`${base}/api/v1/items?id=${id}`);\n",
    "#include <stdio.h>\nint main(void) { printf(\"hello, world\\n\"); return 0; }\n",
    "    <div class=\"container\"><span id=\"x42\">&nbsp;</span></div>\n",
    "SELECT name, COUNT(*) FROM users WHERE age >= 21 GROUP BY name;\n",
    "\tself.assertEqual(len(tokens), 1024)  # TODO: check the tail\n",
};
static const char *const cjk[] = {
    "自然语言处理是人工智能的一个重要领域。",
    "我们今天在北京开会，讨论模型的性能。",
    "東京タワーは東京都港区芝公園にある電波塔です。",
    "日本語のテキストを正しく分割します。",
    "한국어 문장도 포함되어 있습니다.",
    "机器学习模型需要大量的数据进行训练",
    "これはテストです。漢字とひらがなとカタカナ。",
    "Привет, мир! Это тест токенизатора.",
    "مرحبا بالعالم، هذا اختبار.",
    "Ελληνικά κείμενα και αριθμοί 3,14.",
};
static const char *const emoji[] = {
    "🤖", "🚀", "👩‍👩‍👧‍👦", "🎉", "😀", "👍🏽", "🇫🇷", "❤️", "🔥", "✨",
    "🧠", "📈",
};

// CPU seconds of this process: the machine is shared, wall time would measure the neighbours.
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

// Deterministic mixed text of about mb megabytes.
static char *mixed_text(size_t mb, size_t *len)
{
    bench_rng r = bench_rng_seed(42);
    size_t cap = mb << 20, n = 0;
    char *b = malloc(cap);
    b[0] = '\0';
    while (n < mb << 20) {
        unsigned k = (unsigned)(bench_rng_u64(&r) % 100);
        if (k < 55) { // a sentence of prose
            int nw = 6 + (int)(bench_rng_u64(&r) % 14);
            for (int i = 0; i < nw; i++) {
                const char *w = words[bench_rng_u64(&r) % (sizeof words / sizeof words[0])];
                char tmp[64];
                snprintf(tmp, sizeof tmp, "%s%s", i ? " " : "", w);
                if (i == 0 && tmp[0] >= 'a' && tmp[0] <= 'z') { tmp[0] = (char)(tmp[0] - 32); }
                append(&b, &n, &cap, tmp);
            }
            append(&b, &n, &cap, bench_rng_u64(&r) % 5 ? ". " : ".\n\n");
        } else if (k < 77) {
            append(&b, &n, &cap, code[bench_rng_u64(&r) % (sizeof code / sizeof code[0])]);
        } else if (k < 92) {
            append(&b, &n, &cap, cjk[bench_rng_u64(&r) % (sizeof cjk / sizeof cjk[0])]);
        } else if (k < 96) {
            append(&b, &n, &cap, emoji[bench_rng_u64(&r) % (sizeof emoji / sizeof emoji[0])]);
            append(&b, &n, &cap, " ");
        } else {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%llu.%02u%% ",
                     (unsigned long long)(bench_rng_u64(&r) % 10000000),
                     (unsigned)(bench_rng_u64(&r) % 100));
            append(&b, &n, &cap, tmp);
        }
    }
    *len = n;
    return b;
}

static double encode_seconds(const wick_tokenizer *tk, const char *text, size_t len, size_t *n_ids,
                             int reps)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        int32_t *ids = NULL;
        double t0 = cpu_now();
        wick_status rc =
            wick_tokenize_alloc(tk, text, len, WICK_TOKENIZE_PARSE_SPECIAL, &ids, n_ids);
        double t = cpu_now() - t0;
        if (rc < 0) {
            fprintf(stderr, "tokenize: %s\n", wick_errmsg());
            exit(1);
        }
        wick_free(ids);
        if (t < best) { best = t; }
    }
    return best;
}

// Compares wick with golden-style JSONL lines {"text", "ids", "decoded"}; returns the exit status.
static int compare(const char *tj, const char *jsonl)
{
    wick_tokenizer *tk = NULL;
    FILE *f = fopen(jsonl, "r");
    if (!f || wick_tokenizer_open_json(tj, NULL, &tk) < 0) {
        fprintf(stderr, "%s\n", f ? wick_errmsg() : "cannot open the JSONL file");
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    int n = 0, bad_ids = 0, bad_text = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *v = json_loads(line, 0, NULL);
        json_t *t = json_object_get(v, "text"), *want = json_object_get(v, "ids");
        json_t *dec = json_object_get(v, "decoded");
        if (!json_is_string(t) || !json_is_array(want)) {
            json_decref(v);
            continue;
        }
        int32_t *ids = NULL;
        size_t ni = 0;
        wick_tokenize_alloc(tk, json_string_value(t), json_string_length(t),
                            WICK_TOKENIZE_PARSE_SPECIAL, &ids, &ni);
        bool same = ni == json_array_size(want);
        for (size_t k = 0; same && k < ni; k++) {
            same = ids[k] == json_integer_value(json_array_get(want, k));
        }
        char *d = NULL;
        size_t dl = 0;
        wick_detokenize(tk, ids, ni, 0, &d, &dl);
        bool same_text = d && dl == json_string_length(dec) &&
                         memcmp(d, json_string_value(dec), dl) == 0;
        if (!same && bad_ids < 3) { fprintf(stderr, "ids differ: %s", line); }
        bad_ids += !same;
        bad_text += !same_text;
        n++;
        wick_free(d);
        wick_free(ids);
        json_decref(v);
    }
    free(line);
    fclose(f);
    wick_tokenizer_close(tk);
    printf("%s: %d texts, ids differ on %d, decoded text on %d\n", tj, n, bad_ids, bad_text);
    return bad_ids || bad_text ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--compare") == 0) { return compare(argv[2], argv[3]); }
    const char *tj = argc > 1 ? argv[1] : "tests/data/tokenizers/phi4/tokenizer.json";
    size_t mb = argc > 2 ? (size_t)atoi(argv[2]) : 4;
    printf("bench_tok: %s, %zu MB of mixed text\n", tj, mb);

    double best_load = 1e30;
    wick_tokenizer *tk = NULL;
    for (int r = 0; r < 5; r++) {
        double t0 = cpu_now();
        if (wick_tokenizer_open_json(tj, NULL, &tk) < 0) {
            fprintf(stderr, "%s\n", wick_errmsg());
            return 1;
        }
        double t = cpu_now() - t0;
        if (t < best_load) { best_load = t; }
        if (r < 4) { wick_tokenizer_close(tk); }
    }
    printf("wick load tokenizer.json (%d tokens): %.1f ms cpu (best of 5)\n",
           wick_tokenizer_n_vocab(tk), best_load * 1e3);

    size_t len;
    char *text = mixed_text(mb, &len);
    size_t n_ids = 0;
    double w0 = bench_now();
    double t = encode_seconds(tk, text, len, &n_ids, 3);
    double wall = (bench_now() - w0) / 3;
    printf("wick encode: %.2f MB in %.3f s cpu = %.1f MB/s (wall %.3f s), %zu tokens "
           "(%.2f bytes/token)\n",
           (double)len / 1e6, t, (double)len / 1e6 / t, wall, n_ids, (double)len / (double)n_ids);

    // line by line, as a server would see the text
    {
        double c0 = cpu_now();
        size_t total = 0, n_lines = 0, pos = 0;
        while (pos < len) {
            size_t end = pos;
            while (end < len && text[end] != '\n') { end++; }
            end += end < len;
            int32_t *ids = NULL;
            size_t n = 0;
            if (wick_tokenize_alloc(tk, text + pos, end - pos, WICK_TOKENIZE_PARSE_SPECIAL, &ids,
                                    &n) < 0) {
                return 1;
            }
            wick_free(ids);
            total += n;
            n_lines++;
            pos = end;
        }
        double tl = cpu_now() - c0;
        printf("wick encode line by line (%zu calls): %.3f s cpu = %.1f MB/s, %zu tokens\n",
               n_lines, tl, (double)len / 1e6 / tl, total);
    }
    static const struct {
        const char *name;
        char c;
    } patho[] = {
        {"1 MB word without spaces", 'a'}, {"1 MB of spaces", ' '}, {"1 MB of digits", '7'}};
    for (size_t i = 0; i < 3; i++) {
        size_t pl = 1 << 20;
        char *p = malloc(pl);
        for (size_t k = 0; k < pl; k++) {
            p[k] = patho[i].c == '7' ? (char)('0' + (k * 7 + k / 13) % 10)
                 : patho[i].c == 'a' ? (char)('a' + (k * 7 + k / 5) % 26) : ' ';
        }
        size_t n;
        double tp = encode_seconds(tk, p, pl, &n, 1);
        printf("wick %-26s %.3f s cpu (%zu tokens)\n", patho[i].name, tp, n);
        free(p);
    }

    // the same text for Hugging Face tokenizers (npm)
    const char *out = "bench/out/tok_mixed.txt";
    if (system("mkdir -p bench/out") == 0) {
        FILE *f = fopen(out, "wb");
        if (f) {
            fwrite(text, 1, len, f);
            fclose(f);
        }
    }
    if (system("command -v node >/dev/null 2>&1") != 0 ||
        system("test -d bench/tok/node_modules/tokenizers") != 0) {
        printf("hf tokenizers: skipped (needs node and `npm install` in bench/tok)\n");
    } else {
        // wick's ids, to compare with Hugging Face's one by one
        int32_t *ids = NULL;
        size_t ni = 0;
        FILE *f = fopen("bench/out/tok_ids_wick.json", "w");
        if (f && wick_tokenize_alloc(tk, text, len, WICK_TOKENIZE_PARSE_SPECIAL, &ids, &ni) == 0) {
            fputc('[', f);
            for (size_t i = 0; i < ni; i++) { fprintf(f, i ? ",%d" : "%d", ids[i]); }
            fputc(']', f);
        }
        if (f) { fclose(f); }
        wick_free(ids);
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "WICK_BENCH_IDS=bench/out/tok_ids_hf.json node bench/tok/bench.js '%s' '%s' %zu",
                 tj, out, n_ids);
        printf("hf tokenizers (npm, Rust), same text:\n");
        fflush(stdout);
        if (system(cmd) != 0) {
            printf("hf tokenizers: the node script failed\n");
        } else {
            int same = system("cmp -s bench/out/tok_ids_wick.json bench/out/tok_ids_hf.json");
            printf("ids: %s\n", same == 0 ? "identical to Hugging Face's, every one"
                                           : "DIFFERENT from Hugging Face's");
        }
    }
    free(text);
    wick_tokenizer_close(tk);
    return 0;
}
