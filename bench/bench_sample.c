// bench_sample.c — the sampler chain over a Kimi-K2-sized vocabulary (163,840 logits): time per
// call of the default chain (llama.cpp's defaults), greedy, the chain without top-k (the whole
// vocabulary in play), with penalties, typical-p, and with the log-probabilities the API reports.
//
//   bench_sample [N_VOCAB] [CALLS]        (default 163840, 2000)
//
// Logits are shaped like a language model's: normal with sigma 2.5 around 0, plus a few dozen
// outliers 8..16 above (the plausible continuations). Each call gets a fresh copy's worth of
// variation by a rotating offset, and the drawn token is accepted (penalties see a real history).
// Prints the median and the 99th percentile of the per-call time in microseconds, CPU-bound on
// one thread (its CPU time: the machine is shared).
#include <math.h>

#include "bench_common.h"
#include "wick.h"

// CPU seconds of this thread: the machine is shared, wall time would measure the neighbours.
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run(const char *name, const wick_sampler_opts *o, const float *x, int32_t n, int calls)
{
    wick_sampler *s = NULL;
    if (wick_sampler_create(o, n, &s) < 0) {
        fprintf(stderr, "bench_sample: %s\n", wick_errmsg());
        exit(1);
    }
    double *t = malloc(sizeof *t * (size_t)calls);
    const int32_t n_rows = 16; // logits rows cycled through, so no call repeats the last
    for (int i = 0; i < calls; i++) {
        const float *row = x + (size_t)(i % n_rows) * (size_t)n;
        wick_sample r;
        double t0 = cpu_now();
        wick_status rc = wick_sampler_sample(s, row, &r);
        t[i] = cpu_now() - t0;
        if (rc < 0) {
            fprintf(stderr, "bench_sample: %s\n", wick_errmsg());
            exit(1);
        }
        wick_sampler_accept(s, &r.id, 1);
        bench_sink((uint64_t)r.id);
    }
    qsort(t, (size_t)calls, sizeof *t, cmp_double);
    printf("  %-44s median %8.1f us   p99 %8.1f us\n", name, t[calls / 2] * 1e6,
           t[calls * 99 / 100] * 1e6);
    free(t);
    wick_sampler_destroy(s);
}

int main(int argc, char **argv)
{
    int32_t n = argc > 1 ? atoi(argv[1]) : 163840;
    int calls = argc > 2 ? atoi(argv[2]) : 2000;
    if (n < 100 || calls < 10) {
        fprintf(stderr, "usage: bench_sample [N_VOCAB >= 100] [CALLS >= 10]\n");
        return 2;
    }
    const int32_t n_rows = 16;
    float *x = bench_alloc(sizeof *x * (size_t)n * n_rows);
    bench_rng rng = bench_rng_seed(7);
    for (size_t i = 0; i < (size_t)n * n_rows; i++) { // Box-Muller
        double u = (bench_rng_f32(&rng) + 1) / 2 + 1e-12, v = (bench_rng_f32(&rng) + 1) / 2;
        x[i] = (float)(2.5 * sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
    }
    for (int32_t r = 0; r < n_rows; r++) {
        for (int k = 0; k < 40; k++) {
            uint64_t id = bench_rng_u64(&rng) % (uint64_t)n;
            x[(size_t)r * (size_t)n + id] += 8 + 8 * (bench_rng_f32(&rng) + 1) / 2;
        }
    }
    printf("sampler over %d logits, %d calls each (one thread)\n", n, calls);
    wick_sampler_opts o;
    wick_sampler_opts_init(&o);
    o.seed = 1;
    run("default (top-k 40, top-p 0.95, min-p 0.05, T 0.8)", &o, x, n, calls);
    wick_sampler_opts g = o;
    g.temperature = 0;
    run("greedy", &g, x, n, calls);
    wick_sampler_opts p = o;
    p.repeat_penalty = 1.1f;
    p.frequency_penalty = 0.1f;
    p.presence_penalty = 0.1f;
    run("default + penalties (last 64)", &p, x, n, calls);
    wick_sampler_opts lp = o;
    lp.top_logprobs = 5;
    run("default + top 5 log-probabilities", &lp, x, n, calls);
    wick_sampler_opts f = o;
    f.top_k = 0;
    run("no top-k (top-p 0.95, min-p 0.05 over all)", &f, x, n, calls);
    wick_sampler_opts t = o;
    t.top_k = 0;
    t.typical_p = 0.9f;
    run("no top-k, typical-p 0.9", &t, x, n, calls);
    free(x);
    return 0;
}
