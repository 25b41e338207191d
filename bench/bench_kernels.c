// bench_kernels.c — matrix-vector throughput of vec_dot per weight type and kernel path (1 thread).
//
//   bench_kernels [--quick] [--batch] [TYPE...]
//
// For each type: a 4096 x 4096 weight (hot: it mostly fits the last-level cache when quantized)
// and a streaming weight of 4096 columns and ≥ 256 MiB (cold: read from memory every pass), times
// one activation row converted to the type's vec_dot_type. Reported as GB/s of weight bytes read
// and as a fraction of the measured single-thread memory read bandwidth; plus the speed-up of
// vec_dot_4act (4 activation rows per weight pass, for GEMM) over four vec_dot calls. Types with
// vec_dot_4row (4 weight rows per call) are timed through it, as the matmul driver runs them.
#include "bench_common.h"
#include "kernels/blocks.h"
#include "kernels/kernels.h"

#define NCOL 4096

typedef struct gemv {
    const wk_kernels *k;
    int type;
    const uint8_t *w;
    size_t row_bytes;
    int64_t rows;
    const uint8_t *a; // 4 activation rows, a_stride apart
    size_t a_stride;
    float *y;
    bool four;    // vec_dot_4act
    bool fourrow; // vec_dot_4row (4 weight rows per call), where the type has it
    bool il;      // with fourrow: vec_dot_4il (rows interleaved by four, repacked at load; the
                  // legacy formats, which have no vec_dot_4row, too)
} gemv;

static void run_gemv(void *ctx)
{
    gemv *g = ctx;
    wk_vec_dot_fn dot = g->k->vec_dot[g->type];
    if (g->four) {
        wk_vec_dot_4act_fn dot4 = g->k->vec_dot_4act[g->type];
        for (int64_t r = 0; r < g->rows; r++) {
            dot4(NCOL, g->y + 4 * r, g->w + (size_t)r * g->row_bytes, g->a, g->a_stride);
        }
    } else if (g->fourrow) {
        wk_vec_dot_4row_fn dot4r = g->il ? g->k->vec_dot_4il[g->type] : g->k->vec_dot_4row[g->type];
        int64_t r = 0;
        for (; r + 4 <= g->rows; r += 4) {
            dot4r(NCOL, g->y + r, g->w + (size_t)r * g->row_bytes, g->row_bytes, g->a);
        }
        for (; r < g->rows; r++) { dot(NCOL, g->y + r, g->w + (size_t)r * g->row_bytes, g->a); }
    } else {
        for (int64_t r = 0; r < g->rows; r++) {
            dot(NCOL, g->y + r, g->w + (size_t)r * g->row_bytes, g->a);
        }
    }
    bench_sinkf(g->y[0]);
}

// Random weight rows: random quant bytes; every 2-byte scale field is overwritten with a small
// fp16 so no NaN or infinity occurs (the scale positions differ per type; rows of random fp16
// values are made finite the same way).
static void fill_weights(bench_rng *rng, int type, uint8_t *w, size_t bytes)
{
    if (type == WICK_DTYPE_F32) {
        bench_fill_f32(rng, (float *)w, bytes / 4, 1.0f);
        return;
    }
    bench_fill_bytes(rng, w, bytes);
    if (type == WICK_DTYPE_F16 || type == WICK_DTYPE_BF16) {
        for (size_t i = 0; i + 1 < bytes; i += 2) {
            uint16_t h = type == WICK_DTYPE_F16 ? wk_f32_to_fp16(bench_rng_f32(rng))
                                                : wk_f32_to_bf16(bench_rng_f32(rng));
            memcpy(w + i, &h, 2);
        }
        return;
    }
    // Quantized: make every 16-bit word that could be a scale finite by clearing exponent bits
    // in the fields' positions (d / dmin / m sit at a block's start or end).
    const wk_type_traits *t = wk_type(type);
    uint16_t small = wk_f32_to_fp16(0.01f);
    for (size_t b = 0; b + t->bytes <= bytes; b += t->bytes) {
        uint8_t *blk = w + b;
        memcpy(blk, &small, 2);
        memcpy(blk + 2, &small, 2);
        memcpy(blk + t->bytes - 2, &small, 2);
        memcpy(blk + t->bytes - 4, &small, 2);
    }
}

// --batch: batched decode's kernels on a hot weight of 256 rows interleaved by four (the repacked
// layout): per group of four rows, ns for nt = 1 .. WK_4IL_N_MAX tokens through nt vec_dot_4il
// calls, one vec_dot_4il_n call, and one vec_dot_4il_ng call on the grouped activations.
typedef struct batch_run {
    const wk_kernels *k;
    int type, nt, kind; // kind 0: vec_dot_4il per token, 1: vec_dot_4il_n, 2: vec_dot_4il_ng
    const uint8_t *w, *a;
    size_t row_bytes, a_stride;
    int64_t rows;
} batch_run;

static void run_batch(void *ctx)
{
    const batch_run *b = ctx;
    float s[4 * WK_4IL_N_MAX];
    for (int64_t r = 0; r < b->rows; r += 4) {
        const uint8_t *w = b->w + (size_t)r * b->row_bytes;
        if (b->kind == 0) {
            for (int t = 0; t < b->nt; t++) {
                b->k->vec_dot_4il[b->type](NCOL, s + 4 * t, w, b->row_bytes,
                                           b->a + (size_t)t * b->a_stride);
            }
        } else {
            wk_vec_dot_4il_n_fn f =
                b->kind == 1 ? b->k->vec_dot_4il_n[b->type] : b->k->vec_dot_4il_ng[b->type];
            f(NCOL, b->nt, s, w, b->row_bytes, b->a, b->a_stride);
        }
        bench_sinkf(s[0]);
    }
}

static void bench_batch(bench_rng *rng, int type, bool quick)
{
    const wk_type_traits *t = wk_type(type);
    const wk_kernels *k = wk_kernels_get();
    if (!k->vec_dot_4il_n[type]) { return; }
    size_t rb, as;
    if (wk_row_bytes(type, NCOL, &rb) != WICK_OK ||
        wk_row_bytes(WICK_DTYPE_Q8_K, NCOL, &as) != WICK_OK) {
        return;
    }
    const int64_t rows = 256;
    uint8_t *w = bench_alloc((size_t)rows * rb), *il = bench_alloc((size_t)rows * rb);
    // wk_q8_k_group6's larger blocks
    const bool six = type == WICK_DTYPE_Q5_K || type == WICK_DTYPE_Q6_K;
    const size_t ags = six ? (size_t)(NCOL / WK_QK_K) * sizeof(wk_block_q8_kg6) : as;
    uint8_t *a = bench_alloc(WK_4IL_N_MAX * as), *ag = bench_alloc(WK_4IL_N_MAX * ags);
    float *x = bench_alloc(NCOL * sizeof(float));
    fill_weights(rng, type, w, (size_t)rows * rb);
    wk_interleave4(il, w, rows, rb, t->bytes);
    for (int j = 0; j < WK_4IL_N_MAX; j++) {
        bench_fill_f32(rng, x, NCOL, 1.0f);
        k->from_float[WICK_DTYPE_Q8_K](x, a + j * as, NCOL);
    }
    (six ? wk_q8_k_group6 : wk_q8_k_group)(ag, a, WK_4IL_N_MAX * (int64_t)(NCOL / WK_QK_K));
    for (int kind = 0; kind < 3; kind++) {
        if (kind == 2 && !k->vec_dot_4il_ng[type]) { continue; }
        printf("%-6s %-7s %-5s", t->name, k->name, kind == 0 ? "4il" : kind == 1 ? "4il_n" : "ng");
        for (int nt = 1; nt <= WK_4IL_N_MAX; nt++) {
            batch_run b = {k,  type, nt, kind, il, kind == 2 ? ag : a,
                           rb, kind == 2 ? ags : as, rows};
            double sec = bench_best_seconds(run_batch, &b, quick ? 5 : 30, quick ? 0.1 : 0.5);
            printf(" %6.1f", sec * 1e9 / (double)(rows / 4) / (double)(NCOL / WK_QK_K));
        }
        printf("\n");
    }
    free(w);
    free(il);
    free(a);
    free(ag);
    free(x);
}

static const int types[] = {WICK_DTYPE_F32,  WICK_DTYPE_F16,  WICK_DTYPE_BF16, WICK_DTYPE_Q4_0,
                            WICK_DTYPE_Q4_1, WICK_DTYPE_Q5_0, WICK_DTYPE_Q5_1, WICK_DTYPE_Q8_0,
                            WICK_DTYPE_Q2_K, WICK_DTYPE_Q3_K, WICK_DTYPE_Q4_K, WICK_DTYPE_Q5_K,
                            WICK_DTYPE_Q6_K};

int main(int argc, char **argv)
{
    bool quick = false, batch = false;
    const char *only[16];
    int n_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--batch") == 0) {
            batch = true;
        } else if (n_only < 16) {
            only[n_only++] = argv[i];
        }
    }
    if (batch) {
        printf("# bench_kernels --batch: ns per group of four interleaved rows and super-block "
               "(256\n# columns), hot weight of 256 x %d, 1 thread, path %s; columns: 1 .. %d "
               "tokens\n",
               NCOL, wk_kernels_get()->name, WK_4IL_N_MAX);
        bench_rng rng = bench_rng_seed(42);
        for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
            bool want = n_only == 0;
            for (int i = 0; i < n_only; i++) {
                want |= strcmp(only[i], wk_type(types[ti])->name) == 0;
            }
            if (want) { bench_batch(&rng, types[ti], quick); }
        }
        return 0;
    }
    double bw = bench_mem_bandwidth_gbs(quick ? 256 : 0);
    bench_print_banner("bench_kernels: GEMV y = W x, 4096 columns, 1 thread", bw);
    size_t cold_mb = quick ? 64 : 256;
    printf("# 4096^2: a 4096 x 4096 weight, repeated. hot: a weight of <= 6 MiB (cache-resident)"
           ",\n# repeated. cold: a weight of >= %zu MiB, read from memory each pass. mem: memory "
           "read\n",
           cold_mb);
    printf("# bandwidth measured just before the cold run (the machine may be shared); %%mem = "
           "cold / mem.\n");
    printf("# GB/s = weight bytes read per second. 4act: speed-up of vec_dot_4act (4 activation\n");
    printf("# rows per weight pass, for GEMM) over 4 vec_dot calls, on the hot weight. Where\n");
    printf("# a type has vec_dot_4row (the K formats), the GEMV goes through it, 4 weight rows\n");
    printf("# per call, as the matmul driver does for one token; 4row: its hot speed-up over\n");
    printf("# vec_dot. hot4il, cold4il: the hot and cold GEMV with the rows interleaved by four\n");
    printf("# (vec_dot_4il, the layout wick repacks weights to at load), GB/s and %% of mem.\n");
    printf("%-6s %-7s %8s %8s %8s %8s %6s %6s %6s %8s %8s %6s\n", "type", "path", "4096^2", "hot",
           "cold", "mem", "%mem", "4act", "4row", "hot4il", "cold4il", "%mem");
    const char *paths[] = {"scalar", "avx2", "avx512"};
    size_t cold_target = cold_mb << 20;
    bench_rng rng = bench_rng_seed(42);
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        int type = types[ti];
        const wk_type_traits *t = wk_type(type);
        bool want = n_only == 0;
        for (int i = 0; i < n_only; i++) { want |= strcmp(only[i], t->name) == 0; }
        if (!want) { continue; }
        size_t row_bytes;
        if (wk_row_bytes(type, NCOL, &row_bytes) != WICK_OK) { return 1; }
        int64_t sq_rows = 4096;
        int64_t hot_rows = (int64_t)((6u << 20) / row_bytes);
        int64_t cold_rows = (int64_t)((cold_target + row_bytes - 1) / row_bytes);
        if (cold_rows < sq_rows) { cold_rows = sq_rows; }
        uint8_t *w = bench_alloc((size_t)cold_rows * row_bytes);
        fill_weights(&rng, type, w, (size_t)cold_rows * row_bytes);
        int at = t->vec_dot_type;
        size_t a_stride;
        if (wk_row_bytes(at, NCOL, &a_stride) != WICK_OK) { return 1; }
        uint8_t *a = bench_alloc(4 * a_stride);
        float *x = bench_alloc(NCOL * sizeof(float));
        float *y = bench_alloc((size_t)cold_rows * 4 * sizeof(float));
        for (int j = 0; j < 4; j++) {
            bench_fill_f32(&rng, x, NCOL, 1.0f);
            wk_kernels_named("scalar")->from_float[at](x, a + j * a_stride, NCOL);
        }
        for (int p = 0; p < 3; p++) {
            const wk_kernels *k = wk_kernels_named(paths[p]);
            if (!k) { continue; }
            bool slow = p == 0;
            double max_s = quick ? 0.3 : 1.0;
            const bool has4r = k->vec_dot_4row[type] != NULL;
            gemv g = {k, type, w, row_bytes, sq_rows, a, a_stride, y, false, false, false};
            double t_hot1 = 0;
            if (has4r) {
                g.rows = hot_rows;
                t_hot1 = bench_best_seconds(run_gemv, &g, slow ? 3 : 30, max_s);
                g.rows = sq_rows;
                g.fourrow = true;
            }
            double t_sq = bench_best_seconds(run_gemv, &g, slow ? 2 : 10, max_s);
            g.rows = hot_rows;
            double t_hot = bench_best_seconds(run_gemv, &g, slow ? 3 : 30, max_s);
            g.four = true;
            double t_hot4 = bench_best_seconds(run_gemv, &g, slow ? 2 : 15, max_s);
            g.four = false;
            double sq_gbs = (double)sq_rows * (double)row_bytes / t_sq / 1e9;
            double hot_gbs = (double)hot_rows * (double)row_bytes / t_hot / 1e9;
            printf("%-6s %-7s %8.2f %8.2f ", t->name, k->name, sq_gbs, hot_gbs);
            if (slow) {
                printf("%8s %8s %6s", "-", "-", "-");
            } else {
                double mem = bench_mem_bandwidth_now_gbs(cold_mb, 3);
                g.rows = cold_rows;
                double t_cold = bench_best_seconds(run_gemv, &g, 5, quick ? 0.5 : 2.0);
                double cold_gbs = (double)cold_rows * (double)row_bytes / t_cold / 1e9;
                printf("%8.2f %8.2f %5.0f%%", cold_gbs, mem, 100 * cold_gbs / mem);
            }
            printf(" %5.2fx", 4 * (has4r ? t_hot1 : t_hot) / t_hot4);
            if (has4r) {
                printf(" %5.2fx", t_hot1 / t_hot);
            } else {
                printf(" %6s", "-");
            }
            if (!slow && k->vec_dot_4il[type]) {
                g.fourrow = g.il = true;
                g.rows = hot_rows & ~(int64_t)3;
                double t_hil = bench_best_seconds(run_gemv, &g, 30, max_s);
                double hil_gbs = (double)g.rows * (double)row_bytes / t_hil / 1e9;
                double mem = bench_mem_bandwidth_now_gbs(cold_mb, 3);
                g.rows = cold_rows & ~(int64_t)3;
                double t_il = bench_best_seconds(run_gemv, &g, 5, quick ? 0.5 : 2.0);
                g.il = false;
                g.fourrow = has4r;
                double il_gbs = (double)g.rows * (double)row_bytes / t_il / 1e9;
                printf(" %8.2f %8.2f %5.0f%%", hil_gbs, il_gbs, 100 * il_gbs / mem);
            }
            printf("\n");
            fflush(stdout);
        }
        free(w);
        free(a);
        free(x);
        free(y);
    }
    return 0;
}
