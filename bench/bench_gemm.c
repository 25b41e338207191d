// bench_gemm.c — the K formats' int8 GEMM (prefill) in int8 TOPS against this machine's measured
// VNNI peak.
//
//   bench_gemm [--rows N] [--k K] [--tokens 128,512] [--threads 1,2] [TYPE...]
//
// Peak: a loop of independent 512-bit vpdpbusd (64 multiply-adds each, 2 ops per multiply-add)
// on 1 and 2 threads. GEMM: a weight of N rows × K (default 4096 × 5120, random blocks) times T
// tokens, as matmul runs it: activations quantized to Q8_K and packed once, then tiles of 16 rows
// packed and multiplied by all tokens, tiles taken by the threads from a shared counter. Reported:
// TOPS = 2 N K T / seconds (best of several runs), and the same per CPU-second of the threads
// (what a quiet machine would give) as a fraction of the peak, and the weight packing's share.
// Also the cost of the other 512-bit operations the kernel needs, in vpdpbusd slots (op_costs).
#include <stdatomic.h>

#include "bench_common.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"

#if defined(BENCH_X86)
__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) static uint64_t
peak_loop(long n)
{
    __m512i c[12];
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (int i = 0; i < 12; i++) { c[i] = _mm512_set1_epi32(i); }
    for (long i = 0; i < n; i++) {
        #pragma GCC unroll 12
        for (int j = 0; j < 12; j++) { c[j] = _mm512_dpbusd_epi32(c[j], a, b); }
        __asm__ volatile("" ::"v"(a), "v"(b)); // a and b stay opaque: no folding
    }
    __m512i s = c[0];
    for (int i = 1; i < 12; i++) { s = _mm512_add_epi32(s, c[i]); }
    return (uint64_t)_mm512_reduce_add_epi32(s);
}
#endif

enum { PEAK_ITERS = 20000000 };

// Seconds of CPU time of the calling thread: on a shared machine, wall time counts the time slices
// other processes take; CPU time counts only ours, so it gives the rate per busy core.
static double thread_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#if defined(BENCH_X86)
// 12 independent vpdpbusd per iteration plus four of one other 512-bit operation (on four chains
// of their own, short next to the iteration): the cost of that operation beside the
// multiply-adds, in vpdpbusd slots. The K formats' GEMM needs, besides its vpdpbusd, a vpmulld
// and a vpaddd per group and per super-block vpdpwssd, vcvtdq2ps, vmulps and vaddps: if each
// takes a slot, they bound the kernel below the peak (docs/PERFORMANCE.md).
#define OP_LOOP(name, STEP)                                                                        \
    __attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) static uint64_t name(long n) \
    {                                                                                              \
        __m512i c[12], e[4];                                                                       \
        __m512 f[4];                                                                               \
        __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);                                \
        __m512 fa = _mm512_set1_ps(1.0f);                                                          \
        for (int i = 0; i < 12; i++) { c[i] = _mm512_set1_epi32(i); }                              \
        for (int i = 0; i < 4; i++) {                                                              \
            e[i] = _mm512_set1_epi32(i);                                                           \
            f[i] = _mm512_set1_ps((float)i);                                                       \
        }                                                                                          \
        for (long i = 0; i < n; i++) {                                                             \
            _Pragma("GCC unroll 12") for (int j = 0; j < 12; j++) {                                \
                c[j] = _mm512_dpbusd_epi32(c[j], a, b);                                            \
            }                                                                                      \
            _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) { STEP; }                          \
            __asm__ volatile("" : "+v"(a), "+v"(b), "+v"(fa)); /* opaque: nothing folded */        \
        }                                                                                          \
        __m512i s = c[0];                                                                          \
        for (int i = 1; i < 12; i++) { s = _mm512_add_epi32(s, c[i]); }                            \
        for (int i = 0; i < 4; i++) {                                                              \
            s = _mm512_add_epi32(s, _mm512_add_epi32(e[i], _mm512_castps_si512(f[i])));            \
        }                                                                                          \
        return (uint64_t)_mm512_reduce_add_epi32(s);                                               \
    }
OP_LOOP(op_none, (void)q)
OP_LOOP(op_mulld, e[q] = _mm512_mullo_epi32(e[q], a))
OP_LOOP(op_addd, e[q] = _mm512_add_epi32(e[q], a))
OP_LOOP(op_dpwssd, e[q] = _mm512_dpwssd_epi32(e[q], a, b))
OP_LOOP(op_cvt, f[q] = _mm512_cvtepi32_ps(_mm512_castps_si512(f[q])))
OP_LOOP(op_mulps, f[q] = _mm512_mul_ps(f[q], fa))
OP_LOOP(op_and, e[q] = _mm512_and_si512(e[q], a))
OP_LOOP(op_addps, f[q] = _mm512_add_ps(f[q], fa))
OP_LOOP(op_fma, f[q] = _mm512_fmadd_ps(f[q], fa, fa))
OP_LOOP(op_cvtps, e[q] = _mm512_cvtps_epi32(_mm512_castsi512_ps(e[q])))

// Prints each operation's cost in vpdpbusd slots (best of three runs of each loop).
static void op_costs(void)
{
    static const struct {
        const char *name;
        uint64_t (*fn)(long);
    } ops[] = {{"none", op_none},     {"vpmulld", op_mulld}, {"vpaddd", op_addd},
               {"vpdpwssd", op_dpwssd}, {"vcvtdq2ps", op_cvt}, {"vmulps", op_mulps},
               {"vaddps", op_addps},  {"vpandd", op_and},    {"vfmadd", op_fma},
               {"vcvtps2dq", op_cvtps}};
    enum { N_OPS = sizeof ops / sizeof ops[0], ITERS = PEAK_ITERS / 4 };
    double best[N_OPS];
    for (int i = 0; i < N_OPS; i++) { best[i] = 1e30; }
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < N_OPS; i++) { // alternated: a change of clock hits every loop alike
            double t0 = thread_cpu_now();
            bench_sink(ops[i].fn(ITERS));
            double t = thread_cpu_now() - t0;
            best[i] = t < best[i] ? t : best[i];
        }
    }
    const double slot = best[0] / 12; // seconds per vpdpbusd
    printf("512-bit operations beside 12 vpdpbusd, cost in vpdpbusd slots (%.3f ns each):",
           slot / ITERS * 1e9);
    for (int i = 1; i < N_OPS; i++) {
        printf(" %s %.2f", ops[i].name, (best[i] - best[0]) / 4 / slot);
    }
    printf("\n");
}
#endif

static void *peak_thread(void *arg)
{
    double *secs = arg, best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = thread_cpu_now();
#if defined(BENCH_X86)
        bench_sink(peak_loop(PEAK_ITERS));
#endif
        double t = thread_cpu_now() - t0;
        if (t < best) { best = t; }
    }
    *secs = best;
    return NULL;
}

// int8 TOPS of vpdpbusd on nth threads at once (each its own loop), per CPU-second of each.
static double vnni_peak_tops(int nth)
{
    pthread_t th[8];
    double secs[8];
    for (int i = 0; i < nth; i++) { pthread_create(&th[i], NULL, peak_thread, &secs[i]); }
    double tops = 0;
    for (int i = 0; i < nth; i++) {
        pthread_join(th[i], NULL);
        tops += 12.0 * PEAK_ITERS * 64 * 2 / secs[i] / 1e12;
    }
    return tops;
}

typedef struct job {
    const wk_kernels *k;
    int type;
    const uint8_t *w;
    size_t row_bytes;
    int64_t N, K, T;
    const void *act;
    float *y;
    atomic_int next;
    double pack_s[8], cpu_s[8];
} job;

typedef struct targ {
    job *j;
    int ith;
} targ;

static void *gemm_thread(void *arg)
{
    targ *ta = arg;
    job *j = ta->j;
    void *tile = bench_alloc(wk_gemm_tile_bytes(j->K));
    const int64_t n_tiles = (j->N + WK_GEMM_ROWS - 1) / WK_GEMM_ROWS;
    const int64_t groups = (j->T + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS;
    double pack = 0, c0 = thread_cpu_now();
    for (int64_t t = atomic_fetch_add(&j->next, 1); t < n_tiles;
         t = atomic_fetch_add(&j->next, 1)) {
        const int64_t r0 = t * WK_GEMM_ROWS;
        const int nr = (int)(j->N - r0 < WK_GEMM_ROWS ? j->N - r0 : WK_GEMM_ROWS);
        double p0 = bench_now();
        j->k->gemm_pack[j->type](j->w + (size_t)r0 * j->row_bytes, j->row_bytes, nr, j->K, tile);
        pack += bench_now() - p0;
        j->k->gemm[j->type](tile, nr, j->K, j->act, j->T, 0, groups, j->y + r0, j->N, NULL, 0);
    }
    j->pack_s[ta->ith] = pack;
    j->cpu_s[ta->ith] = thread_cpu_now() - c0;
    free(tile);
    return NULL;
}

// Seconds of one N × K × T GEMM on nth threads (best of reps), the packing share, and the CPU
// seconds of the busiest thread in that run (*cpu).
static double run_gemm(job *j, int nth, int reps, double *pack_share, double *cpu)
{
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < reps; r++) {
        atomic_store(&j->next, 0);
        pthread_t th[8];
        targ ta[8];
        double t0 = bench_now();
        for (int i = 0; i < nth; i++) {
            ta[i] = (targ){j, i};
            pthread_create(&th[i], NULL, gemm_thread, &ta[i]);
        }
        for (int i = 0; i < nth; i++) { pthread_join(th[i], NULL); }
        double t = bench_now() - t0;
        if (t < best) {
            best = t;
            double p = 0;
            for (int i = 0; i < nth; i++) { p += j->pack_s[i]; }
            *pack_share = p / nth / t;
        }
        double c = 0;
        for (int i = 0; i < nth; i++) { c = j->cpu_s[i] > c ? j->cpu_s[i] : c; }
        best_cpu = c < best_cpu ? c : best_cpu;
    }
    *cpu = best_cpu;
    return best;
}

// The id of a type name ("Q4_K"), or -1.
static int type_named(const char *name)
{
    for (int t = 0; t < WICK_DTYPE_COUNT; t++) {
        const char *n = wick_dtype_name((wick_dtype)t);
        if (n && strcmp(n, name) == 0) { return t; }
    }
    return -1;
}

int main(int argc, char **argv)
{
    int64_t N = 4096, K = 5120;
    int toks[8] = {128, 512}, n_toks = 2, threads[8] = {1, 2}, n_threads = 2;
    int types[16], n_types = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
            N = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--k") && i + 1 < argc) {
            K = atoll(argv[++i]) / 256 * 256;
        } else if ((!strcmp(argv[i], "--tokens") || !strcmp(argv[i], "--threads")) &&
                   i + 1 < argc) {
            int *dst = argv[i][2] == 't' && argv[i][3] == 'o' ? toks : threads;
            int *cnt = dst == toks ? &n_toks : &n_threads;
            *cnt = 0;
            for (char *t = strtok(argv[++i], ","); t && *cnt < 8; t = strtok(NULL, ",")) {
                dst[(*cnt)++] = atoi(t);
            }
        } else if (type_named(argv[i]) >= 0 && n_types < 16) {
            types[n_types++] = type_named(argv[i]);
        } else {
            fprintf(stderr, "usage: bench_gemm [--rows N] [--k K] [--tokens 128,512] "
                            "[--threads 1,2] [TYPE...]\n");
            return 2;
        }
    }
    if (n_types == 0) {
        types[n_types++] = WICK_DTYPE_Q4_K;
        types[n_types++] = WICK_DTYPE_Q6_K;
    }
    const wk_kernels *k = wk_kernels_get();
    bench_print_banner("bench_gemm", bench_mem_bandwidth_gbs(0));
    double peak[8] = {0};
    for (int c = 0; c < n_threads; c++) {
        peak[c] = vnni_peak_tops(threads[c]);
        printf("VNNI peak (512-bit vpdpbusd loop), %d thread(s): %.3f int8 TOPS per CPU-second\n",
               threads[c], peak[c]);
    }
#if defined(BENCH_X86)
    if (__builtin_cpu_supports("avx512vnni")) { op_costs(); }
#endif
    bench_rng rng = bench_rng_seed(7);
    int64_t T_max = 0;
    for (int i = 0; i < n_toks; i++) { T_max = toks[i] > T_max ? toks[i] : T_max; }
    const size_t arb = (size_t)(K / 256) * 292;
    float *x = malloc(sizeof(float) * (size_t)K);
    uint8_t *a = bench_alloc(arb * (size_t)T_max);
    for (int64_t t = 0; t < T_max; t++) {
        bench_fill_f32(&rng, x, (size_t)K, 1.0f);
        k->from_float[WICK_DTYPE_Q8_K](x, a + (size_t)t * arb, K);
    }
    float *y = bench_alloc(sizeof(float) * (size_t)N * (size_t)T_max);
    for (int ti = 0; ti < n_types; ti++) {
        const int type = types[ti];
        const wk_type_traits *tt = wk_type(type);
        if (!k->gemm[type]) {
            printf("%s: no GEMM kernel on the %s path\n", tt->name, k->name);
            continue;
        }
        size_t rb = 0;
        wk_row_bytes(type, K, &rb);
        uint8_t *w = bench_alloc(rb * (size_t)N);
        bench_fill_bytes(&rng, w, rb * (size_t)N);
        // finite fp16 scales: d / dmin are the last or first 2-byte fields; a small exponent
        for (int64_t b = 0; b < N * (K / 256); b++) {
            uint8_t *blk = w + (size_t)b * tt->bytes;
            uint16_t h = 0x1800;
            if (type == WICK_DTYPE_Q4_K || type == WICK_DTYPE_Q5_K) {
                memcpy(blk, &h, 2);
                memcpy(blk + 2, &h, 2);
            } else {
                memcpy(blk + tt->bytes - 2, &h, 2);
                if (type == WICK_DTYPE_Q2_K) { memcpy(blk + tt->bytes - 4, &h, 2); }
            }
        }
        for (int i = 0; i < n_toks; i++) {
            const int64_t T = toks[i];
            void *act = bench_alloc(wk_gemm_act_bytes(T, K));
            wk_gemm_pack_act(a, arb, T, K, 0, (T + 15) / 16, act);
            for (int c = 0; c < n_threads; c++) {
                job j = {.k = k, .type = type, .w = w, .row_bytes = rb, .N = N, .K = K, .T = T,
                         .act = act, .y = y};
                double share = 0, cpu = 0, s = run_gemm(&j, threads[c], 5, &share, &cpu);
                double ops = 2.0 * (double)N * (double)K * (double)T;
                double tops = ops / s / 1e12, tops_cpu = ops / cpu / 1e12;
                printf("%-5s %lld x %lld, %4lld tokens, %d thread(s): %7.2f ms = %.3f TOPS; per "
                       "CPU-second %.3f TOPS = %3.0f%% of peak (weight packing %.0f%% of the "
                       "time)\n",
                       tt->name, (long long)N, (long long)K, (long long)T, threads[c], s * 1e3,
                       tops, tops_cpu, 100 * tops_cpu / peak[c], 100 * share);
                fflush(stdout);
            }
            free(act);
        }
        free(w);
    }
    free(x);
    free(a);
    free(y);
    return 0;
}
