// bench_dequant.c — dequantization (to_float) and activation quantization (from_float) throughput
// per type and kernel path, 1 thread.
//
//   bench_dequant [--quick] [TYPE...]
//
// Each type decodes a row of 1 Mi elements (4 MiB of floats: the output stays in cache, so the
// figure is the kernel's own speed) and a 64 Mi-element buffer (cold: the quantized input is read
// from memory and 256 MiB of floats are written). Reported as GB/s of quantized input read and of
// float32 output written. The activation quantizers are timed the same way on 1 Mi floats.
#include "bench_common.h"
#include "kernels/kernels.h"

typedef struct job {
    const wk_kernels *k;
    int type;
    const uint8_t *src;
    float *dst;
    int64_t n;
} job;

static void run_deq(void *ctx)
{
    job *j = ctx;
    j->k->to_float[j->type](j->src, j->dst, j->n);
    bench_sinkf(j->dst[0]);
}

static void run_quant(void *ctx)
{
    job *j = ctx;
    j->k->from_float[j->type](j->dst, (void *)j->src, j->n);
    bench_sink(j->src[0]);
}

static const int types[] = {WICK_DTYPE_F16,  WICK_DTYPE_BF16, WICK_DTYPE_Q4_0, WICK_DTYPE_Q4_1,
                            WICK_DTYPE_Q5_0, WICK_DTYPE_Q5_1, WICK_DTYPE_Q8_0, WICK_DTYPE_Q2_K,
                            WICK_DTYPE_Q3_K, WICK_DTYPE_Q4_K, WICK_DTYPE_Q5_K, WICK_DTYPE_Q6_K};
static const int acts[] = {WICK_DTYPE_F16, WICK_DTYPE_BF16, WICK_DTYPE_Q8_0, WICK_DTYPE_Q8_1,
                           WICK_DTYPE_Q8_K};
static const char *const paths[] = {"scalar", "avx2", "avx512"};

// Random blocks whose 16-bit words at the scale positions (block start and end) are small finite
// fp16 values; F16/BF16 rows are random finite values.
static void fill(bench_rng *rng, int type, uint8_t *p, size_t bytes)
{
    bench_fill_bytes(rng, p, bytes);
    const wk_type_traits *t = wk_type(type);
    uint16_t small = wk_f32_to_fp16(0.01f);
    if (t->blck == 1) {
        for (size_t i = 0; i + 1 < bytes; i += 2) {
            float f = bench_rng_f32(rng);
            uint16_t h = type == WICK_DTYPE_F16 ? wk_f32_to_fp16(f) : wk_f32_to_bf16(f);
            memcpy(p + i, &h, 2);
        }
        return;
    }
    for (size_t b = 0; b + t->bytes <= bytes; b += t->bytes) {
        memcpy(p + b, &small, 2);
        memcpy(p + b + 2, &small, 2);
        memcpy(p + b + t->bytes - 2, &small, 2);
        memcpy(p + b + t->bytes - 4, &small, 2);
    }
}

static bool wanted(int n_only, char **only, const char *name)
{
    if (n_only == 0) { return true; }
    for (int i = 0; i < n_only; i++) {
        if (strcmp(only[i], name) == 0) { return true; }
    }
    return false;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    char **only = argv + 1 + quick;
    int n_only = argc - 1 - quick;
    double bw = bench_mem_bandwidth_gbs(quick ? 256 : 0);
    bench_print_banner("bench_dequant: to_float / from_float, 1 thread", bw);
    const int64_t n_hot = 1 << 20, n_cold = quick ? 16 << 20 : 64 << 20;
    printf("# hot: %lld elements (output in cache); cold: %lld elements (from/to memory)\n",
           (long long)n_hot, (long long)n_cold);
    printf("# in = GB/s of quantized bytes read, out = GB/s of float32 written, Gel/s = 1e9 "
           "elements/s\n");
    printf("%-6s %-7s %8s %8s %8s | %8s %8s %8s\n", "type", "path", "hot in", "hot out", "Gel/s",
           "cold in", "cold out", "Gel/s");
    bench_rng rng = bench_rng_seed(7);
    float *dst = bench_alloc((size_t)n_cold * sizeof(float));
    memset(dst, 0, (size_t)n_cold * sizeof(float));
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const wk_type_traits *t = wk_type(types[ti]);
        if (!wanted(n_only, only, t->name)) { continue; }
        size_t bytes;
        if (wk_row_bytes(types[ti], n_cold, &bytes) != WICK_OK) { return 1; }
        uint8_t *src = bench_alloc(bytes);
        fill(&rng, types[ti], src, bytes);
        double bpe = (double)t->bytes / (double)t->blck; // bytes per element
        for (int p = 0; p < 3; p++) {
            const wk_kernels *k = wk_kernels_named(paths[p]);
            if (!k) { continue; }
            job j = {k, types[ti], src, dst, n_hot};
            double th = bench_best_seconds(run_deq, &j, 20, quick ? 0.2 : 0.5);
            j.n = n_cold;
            double tc = bench_best_seconds(run_deq, &j, p == 0 ? 1 : 3, quick ? 0.5 : 2.0);
            double eh = (double)n_hot / th, ec = (double)n_cold / tc;
            printf("%-6s %-7s %8.2f %8.2f %8.2f | %8.2f %8.2f %8.2f\n", t->name, k->name,
                   eh * bpe / 1e9, eh * 4 / 1e9, eh / 1e9, ec * bpe / 1e9, ec * 4 / 1e9, ec / 1e9);
            fflush(stdout);
        }
        free(src);
    }
    printf("\n# activation quantizers (from_float), %lld floats in cache; GB/s of floats read\n",
           (long long)n_hot);
    printf("%-6s %-7s %8s %8s\n", "type", "path", "GB/s", "Gel/s");
    uint8_t *q = bench_alloc((size_t)n_hot * 4);
    bench_fill_f32(&rng, dst, (size_t)n_hot, 1.0f);
    for (size_t ai = 0; ai < sizeof acts / sizeof acts[0]; ai++) {
        const wk_type_traits *t = wk_type(acts[ai]);
        if (!wanted(n_only, only, t->name)) { continue; }
        for (int p = 0; p < 3; p++) {
            const wk_kernels *k = wk_kernels_named(paths[p]);
            if (!k) { continue; }
            job j = {k, acts[ai], q, dst, n_hot};
            double th = bench_best_seconds(run_quant, &j, 20, quick ? 0.2 : 0.5);
            printf("%-6s %-7s %8.2f %8.2f\n", t->name, k->name, (double)n_hot * 4 / th / 1e9,
                   (double)n_hot / th / 1e9);
        }
    }
    free(q);
    free(dst);
    return 0;
}
