// bench_model_run.h — the measurement loop bench_model and bench_model_kimi share: prefill
// tokens/s for each prompt length and decode tokens/s as a fraction of the memory roofline, for
// each thread count, as min / median / max over several runs.
//
// Per thread count: one session (n_batch = the longest prompt); per run and prompt length, the
// session is reset and the prompt (deterministic random ids) evaluated in one call, logits for the
// last position only; after the first (shortest) prompt of each run, n_decode tokens are decoded
// one at a time (greedy). Wall seconds give tok/s; the process's CPU seconds give tok/s per busy
// core ("per CPU-s": what the work costs, whatever else the machine runs). The roofline is the
// read bandwidth with that many threads (bench_common.h, the best of before and after the runs)
// divided by the bytes a decoded token reads (the caller's weight bytes + the KV cache rows at the
// middle of the decode).
#ifndef WICK_BENCH_MODEL_RUN_H
#define WICK_BENCH_MODEL_RUN_H

#include <time.h>

#include "bench_common.h"
#include "wick.h"

typedef struct bench_model_cfg {
    int prompts[4], n_prompts; // prompt lengths (ascending)
    int n_decode;              // tokens decoded after the first prompt of each run
    int threads[8], n_threads;
    int runs;
    size_t weight_bytes_per_token; // bytes of weights one decoded token reads
    bool no_repack;                // --no-repack: the weights stay in the file's layout
} bench_model_cfg;

static inline double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Sorts v[0..n) and returns the median (mean of the middle two for even n).
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline int32_t bench_argmax(const float *x, int32_t n)
{
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++) {
        if (x[i] > x[b]) { b = i; }
    }
    return b;
}

// A /proc/self/status field in GB ("VmRSS:": resident now); 0 if unknown.
static inline double bench_status_gb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) { return 0; }
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) == 0) { kb = atof(line + strlen(key)); }
    }
    fclose(f);
    return kb * 1024 / 1e9;
}

// Opens path, printing the open time (s and s per GB of the file) and the resident memory after
// it; repacking (unless c->no_repack or WICK_REPACK=0) happens inside the open.
static inline wick_model *bench_open_model(const char *path, const bench_model_cfg *c)
{
    wick_model *m = NULL;
    wick_model_opts mo;
    wick_model_opts_init(&mo);
    mo.repack = !c->no_repack;
    const double t0 = bench_now();
    if (wick_model_open(path, &mo, &m) < 0) {
        fprintf(stderr, "bench: %s\n", wick_errmsg());
        return NULL;
    }
    const double dt = bench_now() - t0, gb = (double)wick_model_weight_bytes(m) / 1e9;
    const char *rp = getenv("WICK_REPACK");
    const bool off_env = rp && !strcmp(rp, "0");
    printf("open: %.2f s (%.2f s per GB), resident %.2f GB after it; repacking %s\n", dt, dt / gb,
           bench_status_gb("VmRSS:"),
           c->no_repack ? "off (--no-repack)" : off_env ? "off (WICK_REPACK=0)" : "on");
    return m;
}

// Parses the shared options into c (defaults set by the caller); returns the model path or NULL.
static inline const char *bench_model_args(int argc, char **argv, bench_model_cfg *c)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        int *list = NULL, *count = NULL, cap = 0;
        if (!strcmp(argv[i], "--prompt") && i + 1 < argc) {
            list = c->prompts, count = &c->n_prompts, cap = 4;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            list = c->threads, count = &c->n_threads, cap = 8;
        } else if (!strcmp(argv[i], "--decode") && i + 1 < argc) {
            c->n_decode = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            c->runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--no-repack")) {
            c->no_repack = true;
        } else if (argv[i][0] != '-') {
            path = argv[i];
        } else {
            return NULL;
        }
        if (list) {
            *count = 0;
            for (char *t = strtok(argv[++i], ","); t && *count < cap; t = strtok(NULL, ",")) {
                list[(*count)++] = atoi(t);
            }
        }
    }
    if (c->runs < 1 || c->n_decode < 1 || c->n_prompts < 1 || c->n_threads < 1) { return NULL; }
    qsort(c->prompts, (size_t)c->n_prompts, sizeof(int), bench_cmp_int);
    return path;
}

// Runs the measurements of the top of the file on m and prints them; 0 or 1 on error.
static inline int bench_model_measure(wick_model *m, const bench_model_cfg *c)
{
    const int32_t n_vocab = wick_model_n_vocab(m);
    const int max_prompt = c->prompts[c->n_prompts - 1];
    int32_t *toks = malloc(sizeof(int32_t) * (size_t)max_prompt);
    bench_rng r = bench_rng_seed(42);
    for (int i = 0; i < max_prompt; i++) {
        toks[i] = (int32_t)(bench_rng_u64(&r) % (uint64_t)n_vocab);
    }
    double *pre = malloc(sizeof(double) * (size_t)(c->runs * c->n_prompts));
    double *pre_cpu = malloc(sizeof(double) * (size_t)(c->runs * c->n_prompts));
    double *dec = malloc(sizeof(double) * (size_t)c->runs);
    for (int ti = 0; ti < c->n_threads; ti++) {
        const int nth = c->threads[ti];
        wick_session_opts so;
        wick_session_opts_init(&so);
        so.n_ctx = max_prompt + c->n_decode + 8;
        so.n_batch = max_prompt;
        so.n_threads = nth;
        wick_session *s = NULL;
        if (wick_session_create(m, &so, &s) < 0) {
            fprintf(stderr, "bench: %s\n", wick_errmsg());
            return 1;
        }
        const double bw_before = nth <= 1 ? bench_mem_bandwidth_gbs(0)
                                          : bench_mem_bandwidth_threads_gbs(nth);
        // warm-up: the mapped file's pages, the thread pool
        wick_session_eval(s, toks, max_prompt < 16 ? max_prompt : 16);
        for (int run = 0; run < c->runs; run++) {
            for (int pi = 0; pi < c->n_prompts; pi++) {
                wick_session_reset(s);
                const double t0 = bench_now(), c0 = bench_cpu_now();
                if (wick_session_eval(s, toks, c->prompts[pi]) < 0) {
                    fprintf(stderr, "bench: %s\n", wick_errmsg());
                    return 1;
                }
                pre[pi * c->runs + run] = c->prompts[pi] / (bench_now() - t0);
                pre_cpu[pi * c->runs + run] = c->prompts[pi] / (bench_cpu_now() - c0);
                if (pi > 0) { continue; }
                int32_t t = bench_argmax(wick_session_logits(s, -1), n_vocab);
                const double d0 = bench_now();
                for (int i = 0; i < c->n_decode; i++) {
                    wick_session_eval(s, &t, 1);
                    t = bench_argmax(wick_session_logits(s, -1), n_vocab);
                }
                dec[run] = c->n_decode / (bench_now() - d0);
            }
        }
        const double rss = bench_status_gb("VmRSS:"); // before the bandwidth test's buffers
        const double bw_after = nth <= 1 ? bench_mem_bandwidth_now_gbs(0, 3)
                                         : bench_mem_bandwidth_threads_gbs(nth);
        const double bw = bw_after > bw_before ? bw_after : bw_before;
        for (int pi = 0; pi < c->n_prompts; pi++) {
            double *v = pre + pi * c->runs, *vc = pre_cpu + pi * c->runs;
            const double med = bench_median(v, c->runs), med_cpu = bench_median(vc, c->runs);
            printf("threads %d: prefill %4d tokens: %7.1f tok/s median (min %.1f, max %.1f; %d "
                   "runs); %.1f tok per CPU-s\n",
                   nth, c->prompts[pi], med, v[0], v[c->runs - 1], c->runs, med_cpu);
        }
        const double ctx_mid = c->prompts[0] + c->n_decode / 2.0;
        const double bytes = (double)c->weight_bytes_per_token +
                             ctx_mid * (double)wick_model_kv_bytes_per_token(m, WICK_KV_F32);
        const double roof = bw * 1e9 / bytes, med = bench_median(dec, c->runs);
        printf("threads %d: decode %d tokens after %d: %.2f tok/s median (min %.2f, max %.2f) = "
               "%.1f GB/s of %.3f GB per token; bandwidth %.1f GB/s -> roofline %.2f tok/s; "
               "reached %.0f%% median (min %.0f%%, max %.0f%%)\n",
               nth, c->n_decode, c->prompts[0], med, dec[0], dec[c->runs - 1], med * bytes / 1e9,
               bytes / 1e9, bw, roof, 100 * med / roof, 100 * dec[0] / roof,
               100 * dec[c->runs - 1] / roof);
        printf("threads %d: resident %.2f GB after the runs (weights %.2f GB)\n", nth, rss,
               (double)wick_model_weight_bytes(m) / 1e9);
        fflush(stdout);
        wick_session_destroy(s);
    }
    free(toks);
    free(pre);
    free(pre_cpu);
    free(dec);
    return 0;
}

#endif
