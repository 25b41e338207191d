// bench_common.h — helpers shared by the benchmarks in bench/: a monotonic clock, a "best of N"
// timer, a deterministic random generator, aligned buffers, and a measurement of this machine's
// memory read bandwidth (GB/s), so that kernels can be reported as a fraction of what the memory
// can deliver.
//
//   double bw = bench_mem_bandwidth_gbs(0);        // ≥ 1 GiB streaming read, best of a few passes
//   double t0 = bench_now(); ...; double s = bench_now() - t0;
//   printf("%.1f GB/s = %.0f%% of memory\n", bytes / s / 1e9, 100 * bytes / s / 1e9 / bw);
//
// Header-only (every function is static); benchmarks are programs, so they may print and use
// malloc directly. Environment: WICK_BENCH_MEM_MB sets the bandwidth buffer size (default 1024).
#ifndef WICK_BENCH_COMMON_H
#define WICK_BENCH_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

// Monotonic seconds.
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// Keeps a value alive so the compiler cannot drop the work that made it.
static volatile uint64_t bench_sink_u64;
static volatile float bench_sink_f32;
static inline void bench_sink(uint64_t v) { bench_sink_u64 += v; }
static inline void bench_sinkf(float v) { bench_sink_f32 += v; }

// xorshift64*: deterministic, seedable random numbers.
typedef struct bench_rng {
    uint64_t s;
} bench_rng;
static inline bench_rng bench_rng_seed(uint64_t seed)
{
    bench_rng r = {seed ? seed : 0x9E3779B97F4A7C15ull};
    return r;
}
static inline uint64_t bench_rng_u64(bench_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}
// Uniform in [-1, 1).
static inline float bench_rng_f32(bench_rng *r)
{
    return (float)((double)(bench_rng_u64(r) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}
static inline void bench_fill_f32(bench_rng *r, float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) { x[i] = scale * bench_rng_f32(r); }
}
static inline void bench_fill_bytes(bench_rng *r, void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++) { b[i] = (uint8_t)(bench_rng_u64(r) >> 56); }
}

// 64-byte aligned allocation (free with free()); exits on failure (benchmarks only).
static inline void *bench_alloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? (n + 63) / 64 * 64 : 64) != 0) {
        fprintf(stderr, "bench: cannot allocate %zu bytes\n", n);
        exit(1);
    }
    return p;
}

// Sum of n 64-bit words, read once front to back (the bandwidth probe's inner loop).
#ifdef BENCH_X86
__attribute__((target("avx2"))) static inline uint64_t bench_sum_avx2(const uint64_t *p, size_t n)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(p + i + 12)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)t, a0);
    uint64_t s = t[0] + t[1] + t[2] + t[3];
    for (; i < n; i++) { s += p[i]; }
    return s;
}
#endif

static inline uint64_t bench_sum_u64(const uint64_t *p, size_t n)
{
#ifdef BENCH_X86
    if (__builtin_cpu_supports("avx2")) { return bench_sum_avx2(p, n); }
#endif
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++) { s0 += p[i]; }
    return s0 + s1 + s2 + s3;
}

// Memory read bandwidth of one thread in GB/s (1e9 bytes/s), measured now: the best of reps
// streaming sums over a buffer of mb MiB (≥ 64; use more than the last-level cache). Use it
// beside a measurement on a shared machine, where the figure moves with the other load.
static inline double bench_mem_bandwidth_now_gbs(size_t mb, int reps)
{
    if (mb < 64) { mb = 64; }
    size_t bytes = mb << 20, n = bytes / 8;
    uint64_t *p = bench_alloc(bytes);
    for (size_t i = 0; i < n; i++) { p[i] = i; } // touch every page: no page faults when timing
    double best = 1e30;
    for (int rep = 0; rep < (reps > 0 ? reps : 1); rep++) {
        double t0 = bench_now();
        bench_sink(bench_sum_u64(p, n));
        double dt = bench_now() - t0;
        if (dt < best) { best = dt; }
    }
    free(p);
    return (double)bytes / best / 1e9;
}

// Memory read bandwidth of one thread in GB/s (1e9 bytes/s): the best of 5 streaming sums over
// a buffer of mb MiB (0: WICK_BENCH_MEM_MB or 1024), far larger than any cache. The result is
// cached after the first call. Prints nothing.
static inline double bench_mem_bandwidth_gbs(size_t mb)
{
    static double cached;
    if (cached > 0) { return cached; }
    if (mb == 0) {
        const char *e = getenv("WICK_BENCH_MEM_MB");
        mb = e ? (size_t)strtoull(e, NULL, 10) : 1024;
    }
    cached = bench_mem_bandwidth_now_gbs(mb, 5);
    return cached;
}

typedef struct bench_bw_part {
    const uint64_t *p;
    size_t n;
} bench_bw_part;

static inline void *bench_bw_thread(void *arg)
{
    bench_bw_part *b = arg;
    bench_sink(bench_sum_u64(b->p, b->n));
    return NULL;
}

// Memory read bandwidth of nth threads at once (1..64) in GB/s, measured now: each thread streams
// its share of a 1 GiB buffer; the best of 5 passes.
static inline double bench_mem_bandwidth_threads_gbs(int nth)
{
    if (nth < 1) { nth = 1; }
    if (nth > 64) { nth = 64; }
    size_t bytes = (size_t)1 << 30, n = bytes / 8;
    uint64_t *p = bench_alloc(bytes);
    for (size_t i = 0; i < n; i++) { p[i] = i; }
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        pthread_t th[64];
        bench_bw_part parts[64];
        double t0 = bench_now();
        for (int t = 0; t < nth; t++) {
            parts[t].p = p + n * (size_t)t / (size_t)nth;
            parts[t].n = n / (size_t)nth;
            pthread_create(&th[t], NULL, bench_bw_thread, &parts[t]);
        }
        for (int t = 0; t < nth; t++) { pthread_join(th[t], NULL); }
        double dt = bench_now() - t0;
        if (dt < best) { best = dt; }
    }
    free(p);
    return (double)bytes / best / 1e9;
}

// Best (smallest) seconds per call of fn(ctx) over reps calls, after one warm-up call; stops early
// once max_seconds have passed (at least 2 timed calls).
typedef void (*bench_fn)(void *ctx);
static inline double bench_best_seconds(bench_fn fn, void *ctx, int reps, double max_seconds)
{
    fn(ctx);
    double best = 1e30, start = bench_now();
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now();
        fn(ctx);
        double dt = bench_now() - t0;
        if (dt < best) { best = dt; }
        if (i >= 1 && bench_now() - start > max_seconds) { break; }
    }
    return best;
}

// One line naming the benchmark, the date, and the measured memory bandwidth.
static inline void bench_print_banner(const char *name, double mem_gbs)
{
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    printf("# %s  (%s)  memory read bandwidth, 1 thread: %.1f GB/s\n", name, when, mem_gbs);
}

#endif
