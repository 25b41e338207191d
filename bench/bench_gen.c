// bench_gen.c — completion streams (wick.h section 7) on one model: aggregate decode tokens/s of
// 1, 2, 4, 8 concurrent greedy streams (the scheduler steps them in one batched forward pass, so
// a memory-bound decode gets them nearly for free), and the time to first token of a request
// whose 2,000-token prefix is in the KV cache (prefix reuse) next to the same request without.
// On a shared machine the wall-clock figures follow the other jobs; tokens per CPU-second of the
// process (clock()) show what batching saves whatever the load.
// --cancel R: instead, the cancel latency (ms from wick_stream_cancel to the done chunk with
// `cancelled`, as the caller's blocking next sees it), R rounds each: during the download of a
// 32 MiB file from the fake Hub (wick-minihub next to this program, throttled to 8 MB/s; files
// in $WICK_BENCH_DIR, default /tmp/wick-bench-gen), during the prefill of a P-token prompt
// (cancelled 50 .. 650 ms after the start) and during decode.
// --streams S: the decode figures of 1 and S streams only; --prefix 0: no time to first token.
//
//   build/wick-mkmodel --arch phi3 --preset phi4 --layers 4 --type Q4_K_M -o /tmp/phi4-4l.gguf
//   build/bench_gen /tmp/phi4-4l.gguf [--threads T] [--tokens N] [--prefix P] [--streams S]
//                                      [--cancel R]
#if defined(__GNUC__) && !defined(__clang__) // GCC only: clang has no such warning
#pragma GCC diagnostic ignored "-Wformat-truncation" // fixed buffers, short paths
#endif
#include <inttypes.h>
#include <time.h>

#include "bench_common.h"
#include "bench_minihub.h"
#include "wick.h"

typedef struct run {
    int64_t n_gen;
    double first_token_ms, predicted_ms;
    int64_t cached;
} run;

// Drains st (blocking); fills r from the done chunk. false: an error chunk came.
static bool drain(wick_stream *st, run *r)
{
    const wick_chunk *c;
    bool ok = true;
    while (wick_stream_next(st, -1, &c) == WICK_OK) {
        if (c->type == WICK_CHUNK_ERROR) {
            fprintf(stderr, "bench_gen: %s\n", c->message);
            ok = false;
        }
        if (c->type == WICK_CHUNK_DONE) {
            r->n_gen = c->usage.completion_tokens;
            r->first_token_ms = c->timings.first_token_ms;
            r->predicted_ms = c->timings.predicted_ms;
            r->cached = c->usage.cached_tokens;
        }
    }
    return ok;
}

static void request(wick_request *q, const char *model, const int32_t *toks, size_t n, int64_t gen);

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_ms(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("  %s: min %.1f ms, median %.1f, max %.1f (%d rounds)\n", what, ms[0], ms[n / 2],
           ms[n - 1], n);
}

// Cancel latency, rounds times during prefill (decode false: a prompt of n_prompt tokens,
// cancelled delay ms after the start) or decode (after 3 tokens): prints min / median / max.
static int cancel_rounds(wick_registry *reg, const char *model, const int32_t *toks,
                         int64_t n_prompt, bool decode, int rounds)
{
    double ms[64];
    int n = 0;
    bench_rng rng = bench_rng_seed(11);
    for (int k = 0; k < rounds && k < 64; k++) {
        wick_request q;
        request(&q, model, toks, decode ? 8 : (size_t)n_prompt, decode ? -1 : 4);
        wick_stream *st = NULL;
        if (wick_stream_start(reg, &q, &st) < 0) { return 1; }
        const wick_chunk *c;
        int n_text = 0;
        if (decode) {
            while (n_text < 3 && wick_stream_next(st, -1, &c) == WICK_OK) {
                n_text += c->type == WICK_CHUNK_CONTENT || c->type == WICK_CHUNK_REASONING;
            }
        } else {
            const double delay = 0.05 + (double)(bench_rng_u64(&rng) % 600) * 1e-3;
            struct timespec ts = {0, (long)(delay * 1e9)};
            nanosleep(&ts, NULL);
        }
        const double t0 = bench_now();
        wick_stream_cancel(st);
        wick_finish_reason f = WICK_FINISH_NONE;
        int64_t gen = 0;
        while (wick_stream_next(st, -1, &c) == WICK_OK) {
            if (c->type == WICK_CHUNK_DONE) {
                f = c->finish_reason;
                gen = c->usage.completion_tokens;
            }
        }
        const double dt = (bench_now() - t0) * 1e3;
        wick_stream_free(st);
        // prefill rounds count only when the cancel came before the first token
        if (f == WICK_FINISH_CANCELLED && (decode || gen == 0)) { ms[n++] = dt; }
    }
    if (n == 0) {
        printf("  %s: no round ended cancelled in %s\n", decode ? "decode" : "prefill",
               decode ? "decode" : "prefill");
        return 0;
    }
    char what[64];
    snprintf(what, sizeof what, "during the prefill of %" PRId64 " tokens", n_prompt);
    print_ms(decode ? "during decode" : what, ms, n);
    return 0;
}

static void request(wick_request *q, const char *model, const int32_t *toks, size_t n, int64_t gen)
{
    wick_request_init(q);
    q->model = model;
    q->tokens = toks;
    q->n_tokens = n;
    q->max_tokens = gen;
    q->ignore_eos = true;
    q->sampling.temperature = 0;
}

// Cancel latency during a download from a throttled wick-minihub (started here, stopped after).
static int cancel_download(int rounds)
{
    char hub_bin[PATH_MAX + 16], dir[1024], cmd[2600];
    const char *d = getenv("WICK_BENCH_DIR");
    snprintf(dir, sizeof dir, "%s", d ? d : "/tmp/wick-bench-gen");
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s/cache' && mkdir -p '%s/root/bench/dl-GGUF' && head -c 33554432 "
             "/dev/urandom > '%s/root/bench/dl-GGUF/dl-Q4_K_M.gguf'",
             dir, dir, dir);
    if (system(cmd) != 0) { return 1; }
    snprintf(cmd, sizeof cmd, "%s/root", dir);
    int port = 0;
    pid_t pid = bench_minihub_start(cmd, "8000000", hub_bin, sizeof hub_bin, &port);
    char url[64], cache[1100];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    wick_registry_opts o;
    wick_registry_opts_init(&o);
    o.hub.endpoint = url;
    o.hub.cache_dir = cache;
    o.hub.token = "";
    o.hub.offline = 0;
    wick_registry *reg = NULL;
    double ms[64];
    int n_ms = 0;
    if (port > 0 && wick_registry_create(&o, &reg) == WICK_OK) {
        for (int r = 0; r < rounds && r < 64; r++) {
            wick_request q;
            const int32_t tok = 1;
            request(&q, "bench/dl-GGUF", &tok, 1, 1);
            wick_stream *st = NULL;
            if (wick_stream_start(reg, &q, &st) < 0) { break; }
            const wick_chunk *c;
            bool dl = false;
            while (!dl && wick_stream_next(st, -1, &c) == WICK_OK) {
                dl = c->type == WICK_CHUNK_PROGRESS && !strcmp(c->stage, "download") && c->done > 0;
            }
            const double t0 = bench_now();
            wick_stream_cancel(st);
            wick_finish_reason f = WICK_FINISH_NONE;
            while (wick_stream_next(st, -1, &c) == WICK_OK) {
                if (c->type == WICK_CHUNK_DONE) { f = c->finish_reason; }
            }
            const double dt = (bench_now() - t0) * 1e3;
            wick_stream_free(st);
            if (dl && f == WICK_FINISH_CANCELLED) { ms[n_ms++] = dt; }
        }
        wick_registry_destroy(reg);
    }
    bench_minihub_stop(pid);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/cache' '%s/root'", dir, dir);
    if (system(cmd) != 0) { return 1; }
    if (n_ms == 0) {
        printf("  during a download: no round ended cancelled (fake Hub %s)\n", hub_bin);
        return 0;
    }
    print_ms("during a download (32 MiB, 8 MB/s)", ms, n_ms);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_gen MODEL.gguf [--threads T] [--tokens N] [--prefix P] "
                        "[--streams S] [--cancel R]\n");
        return 2;
    }
    const char *model = argv[1];
    int threads = 2;
    int64_t n_gen = 64, n_prefix = 2000;
    int cancel = 0, only = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) { threads = atoi(argv[i + 1]); }
        if (!strcmp(argv[i], "--tokens")) { n_gen = atoll(argv[i + 1]); }
        if (!strcmp(argv[i], "--prefix")) { n_prefix = atoll(argv[i + 1]); }
        if (!strcmp(argv[i], "--cancel")) { cancel = atoi(argv[i + 1]); }
        if (!strcmp(argv[i], "--streams")) { only = atoi(argv[i + 1]); }
    }
    wick_registry_opts o;
    wick_registry_opts_init(&o);
    o.n_threads = threads;
    o.n_seq = 8;
    o.n_ctx = n_prefix + n_gen + 64;
    o.hub.offline = 1;
    wick_registry *reg = NULL;
    if (wick_registry_create(&o, &reg) < 0) {
        fprintf(stderr, "bench_gen: %s\n", wick_errmsg());
        return 1;
    }
    int32_t *toks = malloc((size_t)(n_prefix + 64) * sizeof *toks);
    bench_rng rng = bench_rng_seed(7);
    for (int64_t i = 0; i < n_prefix + 64; i++) {
        toks[i] = (int32_t)(100 + bench_rng_u64(&rng) % 1000);
    }

    // warm-up: the load, and the pages of the weights
    wick_request q;
    request(&q, model, toks, 8, 4);
    wick_stream *st = NULL;
    run r;
    if (wick_stream_start(reg, &q, &st) < 0 || !drain(st, &r)) { return 1; }
    wick_stream_free(st);

    if (cancel > 0) {
        printf("cancel latency (wick_stream_cancel -> done cancelled), %d threads:\n", threads);
        int rc = cancel_download(cancel);
        if (rc == 0) { rc = cancel_rounds(reg, model, toks, n_prefix, false, cancel); }
        if (rc == 0) { rc = cancel_rounds(reg, model, toks, n_prefix, true, cancel); }
        wick_registry_destroy(reg);
        free(toks);
        return rc;
    }

    printf("aggregate decode, %" PRId64 " tokens per stream, %d threads, greedy:\n", n_gen,
           threads);
    double one = 0, one_cpu = 0;
    for (int n = 1; n <= 8; n *= 2) {
        if (only > 0 && n != 1 && n != only) { continue; } // --streams N: 1 and N only
        wick_stream *sts[8];
        double t0 = bench_now();
        const clock_t c0 = clock();
        for (int i = 0; i < n; i++) {
            request(&q, model, toks + i * 3, 8, n_gen); // different 8-token prompts
            if (wick_stream_start(reg, &q, &sts[i]) < 0) { return 1; }
        }
        double ms_max = 0;
        int64_t total = 0;
        for (int i = 0; i < n; i++) {
            if (!drain(sts[i], &r)) { return 1; }
            total += r.n_gen;
            if (r.predicted_ms > ms_max) { ms_max = r.predicted_ms; }
            wick_stream_free(sts[i]);
        }
        double wall = bench_now() - t0;
        double cpu_s = (double)(clock() - c0) / CLOCKS_PER_SEC;
        double tps = (double)total / (ms_max / 1e3), tpc = (double)total / cpu_s;
        if (n == 1) {
            one = tps;
            one_cpu = tpc;
        }
        printf("  %d stream%s: %6.1f tok/s aggregate (decode spans), %6.1f tok/s over the wall "
               "clock (%.2f s), %.2fx one stream; %6.1f tok per CPU-s, %.2fx\n",
               n, n > 1 ? "s" : " ", tps, (double)total / wall, wall, one > 0 ? tps / one : 0,
               tpc, one_cpu > 0 ? tpc / one_cpu : 0);
    }

    // time to first token: a 2,000-token prompt, then the same prefix + 16 new tokens
    if (n_prefix > 0) {
        printf("time to first token, %" PRId64 "-token prefix:\n", n_prefix);
    }
    for (int k = 0; k < 2 && n_prefix > 0; k++) {
        wick_registry *rr = NULL;
        o.prefix_cache = k == 1;
        if (wick_registry_create(&o, &rr) < 0) { return 1; }
        request(&q, model, toks, (size_t)n_prefix, 1);
        if (wick_stream_start(rr, &q, &st) < 0 || !drain(st, &r)) { return 1; }
        wick_stream_free(st);
        double first = r.first_token_ms;
        request(&q, model, toks, (size_t)n_prefix + 16, 1);
        if (wick_stream_start(rr, &q, &st) < 0 || !drain(st, &r)) { return 1; }
        wick_stream_free(st);
        printf(
            "  prefix cache %-3s: first request %.0f ms; the same prefix + 16 tokens: first token "
            "%.1f ms (%" PRId64 " tokens cached)\n",
            k ? "on" : "off", first, r.first_token_ms, r.cached);
        wick_registry_destroy(rr);
    }
    wick_registry_destroy(reg);
    free(toks);
    return 0;
}
