// test_tok_linear.c — no quadratic cases: tokenizing grows linearly with the input for the
// pathological texts (a word without spaces, spaces, digits, and a few more), through the hand
// splitters and through the Oniguruma path.
//
// Gross bounds only (CONVENTIONS.md "Tests: timing"): 1 MB takes less than 64x the time of
// 64 KB (linear: 16x; quadratic: 256x; 64x is their geometric middle) and less than 10 s even
// under ASan. The span is wide because cache effects alone make 1 MB cost up to 3x more per byte
// than 64 KB, which fits in L2 (measured: 1 MB -> 4 MB -> 16 MB then grow 4x each step). Times
// are CPU seconds of this process (the machine is shared). The precise figures are printed;
// bench_tok measures them too.
#include <time.h>

#include "harness.h"
#include "tok/tok.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *make(int kind, size_t n)
{
    char *p = malloc(n);
    for (size_t k = 0; k < n; k++) {
        switch (kind) {
        case 0: p[k] = (char)('a' + (k * 7 + k / 5) % 26); break; // one long word
        case 1: p[k] = ' '; break;
        case 2: p[k] = (char)('0' + (k * 7 + k / 13) % 10); break;
        case 3: p[k] = "a\n"[k % 2 ? 1 : (k / 2) % 3 == 0]; break; // newlines and letters
        case 4: p[k] = "!?.,;:"[k % 6]; break;                   // one punctuation run
        default: p[k] = (k % 64 == 63) ? '\n' : ' '; break;      // spaces with newlines
        }
    }
    return p;
}

static const char *const kinds[] = {"word without spaces", "spaces", "digits",
                                    "letters and newlines", "punctuation", "spaces+newlines"};

static double time_one(const wick_tokenizer *tk, const char *p, size_t n, size_t *n_ids)
{
    int32_t *ids = NULL;
    double t0 = cpu_now();
    wick_status rc = wick_tokenize_alloc(tk, p, n, 0, &ids, n_ids);
    double t = cpu_now() - t0;
    CHECKF(rc == WICK_OK, "%s", wick_errmsg());
    wick_free(ids);
    return t;
}

static void check_linear(const wick_tokenizer *tk, const char *label)
{
    for (int k = 0; k < 6; k++) {
        size_t small = 64 << 10, big = 1 << 20, ns, nb;
        char *a = make(k, small), *b = make(k, big);
        // best of five and of two: a busy machine only ever adds time
        double ts = time_one(tk, a, small, &ns);
        for (int r = 0; r < 4; r++) { ts = fmin(ts, time_one(tk, a, small, &ns)); }
        double tb = time_one(tk, b, big, &nb);
        tb = fmin(tb, time_one(tk, b, big, &nb));
        printf("%-22s %-22s 64 KB %.4f s, 1 MB %.4f s (x%.1f), %zu tokens\n", label, kinds[k], ts,
               tb, ts > 0 ? tb / ts : 0.0, nb);
        CHECKF(tb < 10.0, "%s %s: 1 MB took %.2f s", label, kinds[k], tb);
        CHECKF(tb < 0.05 || tb < 64 * ts, "%s %s: 1 MB took %.3f s, 64 KB %.4f s: not linear",
               label, kinds[k], tb, ts);
        free(a);
        free(b);
    }
}

int main(void)
{
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_tokenizer_open_json(test_data("tokenizers/phi4/tokenizer.json"), NULL, &tk));
    if (tk) { check_linear(tk, "phi4 (hand splitter)"); }
    wick_tokenizer_close(tk);

    const char *tt = test_data("tokenizers/kimi-tiktoken/tiktoken.model");
    tk = NULL;
    CHECK_OK(wick_tokenizer_open_tiktoken(tt, NULL, &tk));
    if (tk) { check_linear(tk, "kimi (hand splitter)"); }
    wick_tokenizer_close(tk);

    // Phi-4's tokenizer.json with one redundant alternative more in its pattern: no hand splitter
    // knows it, Oniguruma runs (tiktoken files would cut long runs at 25000 characters).
    size_t len = 0;
    char *json = test_slurp(test_data("tokenizers/phi4/tokenizer.json"), &len);
    const char *tail = "|\\\\s+(?!\\\\S)|\\\\s+\"}";
    char *at = json ? strstr(json, tail) : NULL;
    CHECK(at != NULL);
    if (at) {
        size_t off = (size_t)(at - json) + strlen(tail) - 2; // before the closing quote
        char *mod = malloc(len + 8);
        memcpy(mod, json, off);
        memcpy(mod + off, "|\\\\s", 4);
        memcpy(mod + off + 4, json + off, len - off);
        tk = NULL;
        CHECK_OK(wick_tokenizer_open_json_mem("phi4-modified.json", mod, len + 4, NULL, &tk));
        CHECK(tk == NULL || tk->pre[0].fast == WK_FAST_NONE);
        if (tk) { check_linear(tk, "phi4 (Oniguruma)"); }
        wick_tokenizer_close(tk);
        free(mod);
    }
    free(json);
    return test_summary("tok_linear");
}
