// cmd_eval.c — `wick eval` (logits of token ids, greedy continuation) and `wick run` (text in,
// generated text streamed out).
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

// --- shared helpers ------------------------------------------------------------------------------

typedef struct model_args {
    const char *model;
    int64_t threads; // 0: all CPUs
    int64_t ctx; // 0: the model's, capped at 8192
    wick_kv_type kv;
} model_args;

// Parses one option shared by eval and run at argv[*i]; 1 = consumed, 0 = not ours, -1 = usage
// error (printed).
static int parse_model_arg(const cli_command *cmd, int argc, char **argv, int *i, model_args *a)
{
    const char *o = argv[*i];
    if (strcmp(o, "--model") && strcmp(o, "-m") && strcmp(o, "--threads") && strcmp(o, "-t") &&
        strcmp(o, "--ctx") && strcmp(o, "--kv-type")) {
        return 0;
    }
    if (*i + 1 >= argc) {
        cli_usage(cmd, "%s needs a value", o);
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(o, "--model") || !strcmp(o, "-m")) {
        a->model = v;
    } else if (!strcmp(o, "--threads") || !strcmp(o, "-t")) {
        if (!cli_parse_i64(v, 1, 256, &a->threads)) {
            cli_usage(cmd, "--threads: '%s' is not a number in 1..256", v);
            return -1;
        }
    } else if (!strcmp(o, "--ctx")) {
        if (!cli_parse_i64(v, 1, INT64_C(1) << 24, &a->ctx)) {
            cli_usage(cmd, "--ctx: '%s' is not a positive number", v);
            return -1;
        }
    } else {
        if (!strcmp(v, "f32")) {
            a->kv = WICK_KV_F32;
        } else if (!strcmp(v, "f16")) {
            a->kv = WICK_KV_F16;
        } else {
            cli_usage(cmd, "--kv-type: '%s' is not f32 or f16", v);
            return -1;
        }
    }
    return 1;
}

static int32_t argmax(const float *x, int32_t n)
{
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++) {
        if (x[i] > x[b]) { b = i; }
    }
    return b;
}

// --- eval ----------------------------------------------------------------------------------------

static const char eval_usage[] =
    "usage: wick eval --model FILE.gguf --tokens ID,ID,... [options]\n"
    "\n"
    "Evaluates the token ids as one prompt and prints, for every prompt position, the K largest\n"
    "logits as id/logit pairs (highest first; equal logits by id), then with --generate N the\n"
    "greedy continuation (argmax, lowest id on a tie), N ids.\n"
    "\n"
    "options:\n"
    "  --top K         pairs per position (default 40; 0 = every logit)\n"
    "  --generate N    greedy continuation of N tokens (default 0)\n"
    "  --threads N     threads to compute with (default: the number of CPUs)\n"
    "  --ctx N         context positions (default: the model's, at most 8192)\n"
    "  --kv-type T     KV cache element type: f32 (default) or f16\n"
    "  --json          one JSON line per position: {\"pos\": P, \"top\": [[id, logit], ...]},\n"
    "                  then {\"generated\": [id, ...]} when --generate is given\n";

// ids of the k largest logits (logit descending, id ascending), by insertion into a sorted list.
static void top_k(const float *x, int32_t n, int32_t k, int32_t *out)
{
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        if (m == k && !(x[i] > x[out[k - 1]])) { continue; } // equal: the lower id stays
        int32_t j = m < k ? m++ : k - 1;
        while (j > 0 && x[i] > x[out[j - 1]]) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
}

static float *sort_logits;
static int cmp_desc(const void *a, const void *b)
{
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (sort_logits[i] != sort_logits[j]) { return sort_logits[i] > sort_logits[j] ? -1 : 1; }
    return i < j ? -1 : i > j;
}

static void print_position(int64_t pos, const float *lg, int32_t n_vocab, int32_t k, int32_t *ids,
                           bool json)
{
    if (k >= n_vocab || k == 0) {
        k = n_vocab;
        for (int32_t i = 0; i < n_vocab; i++) { ids[i] = i; }
        sort_logits = (float *)lg;
        qsort(ids, (size_t)n_vocab, sizeof *ids, cmp_desc);
    } else {
        top_k(lg, n_vocab, k, ids);
    }
    if (json) {
        printf("{\"pos\":%" PRId64 ",\"top\":[", pos);
        for (int32_t i = 0; i < k; i++) {
            printf(i ? ",[%d," : "[%d,", ids[i]);
            cli_json_float(stdout, lg[ids[i]]);
            putchar(']');
        }
        printf("]}\n");
    } else {
        printf("pos %" PRId64 ":", pos);
        for (int32_t i = 0; i < k; i++) { printf(" %d:%.9g", ids[i], (double)lg[ids[i]]); }
        putchar('\n');
    }
}

static bool parse_tokens(const char *s, int32_t **out, int64_t *n)
{
    size_t cap = 16;
    int64_t len = 0;
    int32_t *v = malloc(cap * sizeof *v);
    const char *p = s;
    while (v) {
        while (*p == ' ') { p++; }
        char *end;
        if (*p < '0' || *p > '9') { break; }
        long long x = strtoll(p, &end, 10);
        if (end == p || x < 0 || x > INT32_MAX) { break; }
        if ((size_t)len == cap) {
            int32_t *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) { break; }
            v = nv;
        }
        v[len++] = (int32_t)x;
        p = end;
        while (*p == ' ') { p++; }
        if (*p == '\0') {
            *out = v;
            *n = len;
            return len > 0;
        }
        if (*p != ',') { break; }
        p++;
    }
    free(v);
    return false;
}

static int run_eval(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_eval;
    model_args ma = {NULL, 0, 0, WICK_KV_F32};
    const char *tokens_arg = NULL;
    int64_t top = 40, gen = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        int r = parse_model_arg(cmd, argc, argv, &i, &ma);
        if (r < 0) { return CLI_USAGE; }
        if (r > 0) { continue; }
        const char *o = argv[i];
        if (!strcmp(o, "--json")) {
            json = true;
        } else if (!strcmp(o, "--tokens") || !strcmp(o, "--top") || !strcmp(o, "--generate")) {
            if (i + 1 >= argc) { return cli_usage(cmd, "%s needs a value", o); }
            const char *v = argv[++i];
            if (!strcmp(o, "--tokens")) {
                tokens_arg = v;
            } else if (!strcmp(o, "--top")) {
                if (!cli_parse_i64(v, 0, INT32_MAX, &top)) {
                    return cli_usage(cmd, "--top: '%s' is not a number >= 0", v);
                }
            } else if (!cli_parse_i64(v, 0, 1 << 20, &gen)) {
                return cli_usage(cmd, "--generate: '%s' is not a number >= 0", v);
            }
        } else {
            return cli_usage(cmd, "unknown option '%s'", o);
        }
    }
    if (!ma.model) { return cli_usage(cmd, "--model is required"); }
    if (!tokens_arg) { return cli_usage(cmd, "--tokens is required"); }
    int32_t *toks = NULL;
    int64_t n = 0;
    if (!parse_tokens(tokens_arg, &toks, &n)) {
        return cli_usage(cmd, "--tokens: '%s' is not a comma-separated list of token ids",
                         tokens_arg);
    }

    int rc = CLI_FAIL;
    wick_status st;
    wick_model *m = NULL;
    wick_session *s = NULL;
    int32_t *ids = NULL, *gen_ids = NULL;
    if ((st = wick_model_open(ma.model, NULL, &m)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
    const int32_t n_vocab = wick_model_n_vocab(m);
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = ma.ctx;
    so.n_threads = (int)ma.threads;
    so.kv_type = ma.kv;
    so.logits_all = true;
    if (so.n_ctx == 0) {
        int64_t c = wick_model_n_ctx_train(m);
        so.n_ctx = c < 8192 ? c : 8192;
    }
    if (n + gen > so.n_ctx) {
        rc = cli_fail("%s: %" PRId64 " prompt + %" PRId64 " generated tokens exceed the context "
                      "of %" PRId64 " (--ctx)",
                      ma.model, n, gen, so.n_ctx);
        goto done;
    }
    if ((st = wick_session_create(m, &so, &s)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
    ids = malloc(sizeof *ids * (size_t)n_vocab);
    gen_ids = malloc(sizeof *gen_ids * (size_t)(gen + 1));
    if (!ids || !gen_ids) {
        rc = cli_fail("out of memory");
        goto done;
    }
    const int64_t n_batch = 512;
    for (int64_t c0 = 0; c0 < n; c0 += n_batch) {
        int64_t len = n - c0 < n_batch ? n - c0 : n_batch;
        if ((st = wick_session_eval(s, toks + c0, len)) < 0) {
            rc = cli_fail_lib(st, ma.model);
            goto done;
        }
        for (int64_t i = 0; i < len; i++) {
            print_position(c0 + i, wick_session_logits(s, i), n_vocab, (int32_t)top, ids, json);
        }
    }
    for (int64_t g = 0; g < gen; g++) {
        int32_t t = argmax(wick_session_logits(s, -1), n_vocab);
        gen_ids[g] = t;
        if (g + 1 < gen && (st = wick_session_eval(s, &t, 1)) < 0) {
            rc = cli_fail_lib(st, ma.model);
            goto done;
        }
    }
    if (gen > 0) {
        printf(json ? "{\"generated\":[" : "generated:");
        for (int64_t g = 0; g < gen; g++) { printf(json ? (g ? ",%d" : "%d") : " %d", gen_ids[g]); }
        printf(json ? "]}\n" : "\n");
    }
    rc = fflush(stdout) == 0 ? CLI_OK : cli_fail("stdout: write failed");
done:
    free(ids);
    free(gen_ids);
    free(toks);
    wick_session_destroy(s);
    wick_model_close(m);
    return rc;
}

const cli_command cli_cmd_eval = {
    "eval",
    run_eval,
    eval_usage,
    "print the logits of token ids (top-K per position) and a greedy continuation",
};

// --- run -----------------------------------------------------------------------------------------

static const char run_usage[] =
    "usage: wick run --model FILE.gguf --prompt TEXT [options]\n"
    "\n"
    "Tokenizes TEXT with the model's vocabulary (special-token text recognised, BOS added as the\n"
    "model says), generates a continuation and streams it to stdout as raw text (no chat\n"
    "template). Prefill and decode speeds go to stderr.\n"
    "\n"
    "options:\n"
    "  --max-tokens N    tokens to generate at most (default 256); stops early at end of text\n"
    "  --temperature T   0 = greedy; otherwise softmax(logits / T) sampling (default 0.8)\n"
    "  --seed S          random seed for sampling (default: from the clock)\n"
    "  --threads N       threads to compute with (default: the number of CPUs)\n"
    "  --ctx N           context positions (default: the model's, at most 8192)\n"
    "  --kv-type T       KV cache element type: f32 (default) or f16\n";

// splitmix64: a small seeded generator for sampling.
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Greedy at temperature 0, else a draw from softmax(logits / temperature).
static int32_t sample(const float *lg, int32_t n, double temp, uint64_t *rng, double *probs)
{
    if (temp <= 0) { return argmax(lg, n); }
    double max = lg[argmax(lg, n)], sum = 0;
    for (int32_t i = 0; i < n; i++) { sum += probs[i] = exp(((double)lg[i] - max) / temp); }
    double r = (double)(rng_next(rng) >> 11) * (1.0 / 9007199254740992.0) * sum;
    for (int32_t i = 0; i < n; i++) {
        r -= probs[i];
        if (r < 0) { return i; }
    }
    return n - 1;
}

static int run_run(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_run;
    model_args ma = {NULL, 0, 0, WICK_KV_F32};
    const char *prompt = NULL;
    int64_t max_tokens = 256;
    double temp = 0.8;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    for (int i = 1; i < argc; i++) {
        int r = parse_model_arg(cmd, argc, argv, &i, &ma);
        if (r < 0) { return CLI_USAGE; }
        if (r > 0) { continue; }
        const char *o = argv[i];
        if (!strcmp(o, "--prompt") || !strcmp(o, "-p") || !strcmp(o, "--max-tokens") ||
            !strcmp(o, "-n") || !strcmp(o, "--temperature") || !strcmp(o, "--temp") ||
            !strcmp(o, "--seed")) {
            if (i + 1 >= argc) { return cli_usage(cmd, "%s needs a value", o); }
            const char *v = argv[++i];
            if (!strcmp(o, "--prompt") || !strcmp(o, "-p")) {
                prompt = v;
            } else if (!strcmp(o, "--max-tokens") || !strcmp(o, "-n")) {
                if (!cli_parse_i64(v, 0, 1 << 24, &max_tokens)) {
                    return cli_usage(cmd, "--max-tokens: '%s' is not a number >= 0", v);
                }
            } else if (!strcmp(o, "--seed")) {
                int64_t sd;
                if (!cli_parse_i64(v, 0, INT64_MAX, &sd)) {
                    return cli_usage(cmd, "--seed: '%s' is not a number >= 0", v);
                }
                seed = (uint64_t)sd;
            } else if (!cli_parse_double(v, &temp) || temp < 0) {
                return cli_usage(cmd, "--temperature: '%s' is not a number >= 0", v);
            }
        } else {
            return cli_usage(cmd, "unknown option '%s'", o);
        }
    }
    if (!ma.model) { return cli_usage(cmd, "--model is required"); }
    if (!prompt) { return cli_usage(cmd, "--prompt is required"); }

    int rc = CLI_FAIL;
    wick_status st;
    wick_model *m = NULL;
    wick_session *s = NULL;
    wick_tokenizer *tk = NULL;
    wick_detok_stream *ds = NULL;
    int32_t *toks = NULL;
    double *probs = NULL;
    size_t n = 0;
    if ((st = wick_model_open(ma.model, NULL, &m)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
    if ((st = wick_tokenizer_open_gguf(wick_model_gguf(m), &tk)) < 0 ||
        (st = wick_tokenize_alloc(tk, prompt, strlen(prompt),
                                  WICK_TOKENIZE_PARSE_SPECIAL | WICK_TOKENIZE_ADD_SPECIAL, &toks,
                                  &n)) < 0 ||
        (st = wick_detok_stream_create(tk, 0, &ds)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
    if (n == 0) {
        rc = cli_fail("%s: the prompt gives no tokens", ma.model);
        goto done;
    }
    const int32_t n_vocab = wick_model_n_vocab(m);
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = ma.ctx;
    so.n_threads = (int)ma.threads;
    so.kv_type = ma.kv;
    if ((st = wick_session_create(m, &so, &s)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
    const int64_t n_ctx = wick_session_n_ctx(s);
    // What the model needs, before the work starts: the mapped weights and the KV cache.
    const size_t kv_tok = wick_model_kv_bytes_per_token(m, ma.kv);
    const double wb = (double)wick_model_weight_bytes(m);
    fprintf(stderr,
            "wick: %s: %s, weights %.2f %s (memory-mapped), KV cache %zu bytes per token = %.1f MB "
            "for %" PRId64 " positions\n",
            ma.model, wick_model_arch(m), wb >= 1e9 ? wb / 1e9 : wb / 1e6, wb >= 1e9 ? "GB" : "MB",
            kv_tok, (double)kv_tok * (double)n_ctx / 1e6, n_ctx);
    if ((int64_t)n >= n_ctx) {
        rc = cli_fail("%s: the prompt has %zu tokens, the context %" PRId64 " (--ctx)", ma.model, n,
                      n_ctx);
        goto done;
    }
    if ((int64_t)n + max_tokens > n_ctx) { max_tokens = n_ctx - (int64_t)n; }
    probs = malloc(sizeof *probs * (size_t)n_vocab);
    if (!probs) {
        rc = cli_fail("out of memory");
        goto done;
    }
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((st = wick_session_eval(s, toks, (int64_t)n)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t n_gen = 0;
    const char *piece;
    size_t plen;
    for (; n_gen < max_tokens; n_gen++) {
        int32_t t = sample(wick_session_logits(s, -1), n_vocab, temp, &seed, probs);
        if (wick_token_is_eog(tk, t)) { break; }
        if ((st = wick_detok_stream_push(ds, t, &piece, &plen)) < 0) {
            rc = cli_fail_lib(st, ma.model);
            goto done;
        }
        fwrite(piece, 1, plen, stdout);
        fflush(stdout);
        if (n_gen + 1 < max_tokens && (st = wick_session_eval(s, &t, 1)) < 0) {
            rc = cli_fail_lib(st, ma.model);
            goto done;
        }
    }
    if (wick_detok_stream_finish(ds, &piece, &plen) >= 0) { fwrite(piece, 1, plen, stdout); }
    putchar('\n');
    int out_rc = fflush(stdout); // the text first, then the speeds, even when both go to one file
    clock_gettime(CLOCK_MONOTONIC, &t2);
    double tp = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    double td = (double)(t2.tv_sec - t1.tv_sec) + 1e-9 * (double)(t2.tv_nsec - t1.tv_nsec);
    fprintf(stderr,
            "wick: prefill %zu tokens in %.3f s (%.1f tok/s), decode %" PRId64
            " tokens in %.3f s (%.1f tok/s)\n",
            n, tp, (double)n / tp, n_gen, td, n_gen > 0 ? (double)n_gen / td : 0.0);
    rc = out_rc == 0 ? CLI_OK : cli_fail("stdout: write failed");
done:
    free(probs);
    wick_free(toks);
    wick_detok_stream_destroy(ds);
    wick_tokenizer_close(tk);
    wick_session_destroy(s);
    wick_model_close(m);
    return rc;
}

const cli_command cli_cmd_run = {
    "run",
    run_run,
    run_usage,
    "generate text from a prompt (raw completion), streamed to stdout",
};
