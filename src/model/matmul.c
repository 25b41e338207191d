// matmul.c — the matmul driver around the kernels' vec_dot (see wk_mm in model.h).
//
//   Y[T][N] = X[T][K] · W[N][K]^T
//   1. prepare: each row of X is converted once to W's vec_dot_type (Q8_K blocks of 256 for the
//      K-quants, Q8_0 / Q8_1 blocks of 32 for the legacy quants, fp16 / bf16 / f32 for the float
//      types), rows split across threads;
//   2. run: the (N × T) outputs are cut into tiles of ROWS weight rows × TOKS tokens; threads take
//      tiles from an atomic counter (tile ith first). Inside a tile, each weight row is dotted with
//      the TOKS activation rows while it sits in L1 (four at a time with vec_dot_4act, which
//      unpacks the weight blocks once for four tokens), and the tiles of one token range follow
//      each other, so the converted activations stay in L2. Token tiles depend only on T, never on
//      the thread count, and every output element comes from one dot call whatever the row tiles,
//      so it is computed the same way with any number of threads.
//      With fewer than four tokens (decode) and a K-format weight, vec_dot_4row takes four weight
//      rows per call (shared activation loads, and a prefetch of the next four rows). A weight
//      repacked at load (rows interleaved by four, repack.c) goes through vec_dot_4il for any
//      number of tokens below the GEMM's: one linear stream per group of four rows; with two or
//      more tokens (batched decode), through vec_dot_4il_n where the path has it, which unpacks
//      each group once for up to eight tokens (same bits as vec_dot_4il per token), or through
//      vec_dot_4il_ng (AVX-512 Q4_K, Q5_K, Q6_K) on a copy of the activations in its grouped
//      order (wk_q8_k_group; Q5_K and Q6_K: wk_q8_k_group6), made once per prepared activation
//      and order by the first run that needs it.
//   3. many tokens (T >= GEMM_MIN_T; GEMM_MIN_T_IL for a weight that vec_dot_4il_n takes) and a
//      K-format weight, on a path with the int8 GEMM (AVX-512 VNNI, kernels/gemm.h): prepare
//      also packs the Q8_K rows per 16 tokens; run cuts the weight into units of up to 64 rows,
//      and each thread packs its unit (tiles of 16 rows) into its own buffer and multiplies it by
//      every token (a repacked weight's rows are packed as they lie, interleaved by four, for
//      Q4_K and Q6_K; the other types' are first put back in file order, 16 at a time). Same
//      bits as vec_dot, so as the paths above.
#include <stdatomic.h>
#include <stdlib.h>

#include "kernels/blocks.h"
#include "kernels/gemm.h"
#include "model/model.h"

enum {
    ROWS_DECODE = 128, // weight rows per tile when T < 4 (decode; a tile starts without prefetch)
    ROWS_BATCH = 16,   // weight rows per tile when T >= 4
    TOKS_BATCH = 64, // tokens per tile
    GEMM_MIN_T = 8, // tokens from which the K formats take the GEMM, where the path has it
    // ... and a repacked weight whose type has vec_dot_4il_n: the batched kernel reads the weight
    // once where the GEMM packs it per call (4096 x 5120, 1 thread, loaded machine, two rounds:
    // with vec_dot_4il_ng, Q4_K 12 tokens 2.49 / 2.32 ms vs the GEMM's 3.00 / 4.26, 14: 2.59 vs
    // 4.10, 16: 3.11 / 2.90 vs 2.69 / 3.34; Q6_K 12: 2.83 / 3.22 vs 4.35 / 4.86, 16: 3.48 /
    // 3.76 vs 3.74 / 4.95; before it, with vec_dot_4il_n, Q4_K 12 tokens 3.03 vs 2.90)
    GEMM_MIN_T_IL = 16,
};

wick_status wk_mm_init(wk_mm *mm, wk_pool *pool, int n_threads, int64_t max_rows, int64_t max_k)
{
    memset(mm, 0, sizeof *mm);
    mm->pool = pool;
    mm->n_threads = n_threads < 1 ? 1 : n_threads;
    mm->kern = wk_kernels_get();
    mm->max_rows = max_rows;
    mm->max_k = max_k;
    // The widest activation format is F32 (4 bytes per element); the quantized ones are smaller.
    size_t bytes;
    if (!wk_mul_size((size_t)max_rows, (size_t)max_k, &bytes) ||
        !wk_mul_size(bytes, sizeof(float), &bytes)) {
        return wk_fail(WICK_E_RANGE, "matmul buffer: %lld x %lld overflows", (long long)max_rows,
                       (long long)max_k);
    }
    mm->act = wk_malloc(bytes ? bytes : 1);
    if (!mm->act) { return wk_fail_nomem("matmul activation buffer"); }
    mm->act_bytes = bytes;
    mm->act_type = -1;
    mm->act_grouped_order = -1;
    const char *env = getenv("WICK_GEMM"); // "0": the vec_dot paths only (same results)
    const bool gemm_on = !(env && strcmp(env, "0") == 0);
    if (gemm_on && max_rows >= GEMM_MIN_T && max_k >= 256 && mm->kern->gemm[WICK_DTYPE_Q4_K]) {
        const int64_t k = max_k / 256 * 256; // K formats: whole super-blocks
        mm->gemm_tile_bytes = wk_gemm_tile_bytes(k) * (WK_GEMM_MAX_ROWS / WK_GEMM_ROWS);
        mm->gemm_act = wk_malloc(wk_gemm_act_bytes(max_rows, k));
        mm->gemm_tiles = wk_malloc(mm->gemm_tile_bytes * (size_t)mm->n_threads);
        // the longest K-format row: Q6_K's 210 bytes per 256 elements
        mm->gemm_rows_bytes = (size_t)WK_GEMM_MAX_ROWS * (size_t)(k / 256) * 210;
        mm->gemm_rows = wk_malloc(mm->gemm_rows_bytes * (size_t)mm->n_threads);
        if (!mm->gemm_act || !mm->gemm_tiles || !mm->gemm_rows) {
            wk_mm_free(mm);
            return wk_fail_nomem("matmul GEMM buffers");
        }
    }
    bool grouped = false;
    for (int t = 0; t < WICK_DTYPE_COUNT; t++) { grouped |= mm->kern->vec_dot_4il_ng[t] != NULL; }
    if (grouped && max_k >= WK_QK_K) { // the larger of the grouped blocks: Q6_K's
        const size_t rb = (size_t)(max_k / WK_QK_K) * sizeof(wk_block_q8_kg6);
        mm->act_grouped = wk_malloc(rb * (size_t)max_rows);
        if (!mm->act_grouped) {
            wk_mm_free(mm);
            return wk_fail_nomem("matmul grouped activation buffer");
        }
    }
    return WICK_OK;
}

void wk_mm_free(wk_mm *mm)
{
    wk_free(mm->act_grouped);
    mm->act_grouped = NULL;
    wk_free(mm->act);
    wk_free(mm->gemm_act);
    wk_free(mm->gemm_tiles);
    wk_free(mm->gemm_rows);
    mm->act = mm->gemm_act = mm->gemm_tiles = mm->gemm_rows = NULL;
}

typedef struct prep_job {
    wk_mm *mm;
    wk_from_float_fn from_float;
    const float *x;
    int64_t T, K, x_stride;
} prep_job;

static void prep_part(void *ctx, int ith, int nth)
{
    prep_job *j = ctx;
    wk_mm *mm = j->mm;
    if (mm->act_packed) {
        // whole 16-token groups per thread: each packs the rows it converted
        const int64_t groups = (j->T + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS;
        const int64_t g0 = groups * ith / nth, g1 = groups * (ith + 1) / nth;
        for (int64_t t = g0 * WK_GEMM_TOKS; t < WK_MIN(g1 * WK_GEMM_TOKS, j->T); t++) {
            j->from_float(j->x + t * j->x_stride, (char *)mm->act + (size_t)t * mm->act_row_bytes,
                          j->K);
        }
        wk_gemm_pack_act(mm->act, mm->act_row_bytes, j->T, j->K, g0, g1, mm->gemm_act);
        return;
    }
    int64_t t0 = j->T * ith / nth, t1 = j->T * (ith + 1) / nth;
    for (int64_t t = t0; t < t1; t++) {
        j->from_float(j->x + t * j->x_stride, (char *)mm->act + (size_t)t * mm->act_row_bytes,
                      j->K);
    }
}

void wk_mm_prepare(wk_mm *mm, int weight_type, const float *x, int64_t T, int64_t K,
                   int64_t x_stride)
{
    if (wk_mm_cancelled(mm)) { // the pass is dropped: no work, and act holds nothing reusable
        mm->act_src = NULL;
        return;
    }
    const int vdt = wk_type(weight_type)->vec_dot_type;
    size_t rb = 0;
    wk_row_bytes(vdt, K, &rb); // checked when the model was bound
    mm->act_type = vdt;
    mm->act_rows = T;
    mm->act_k = K;
    mm->act_stride = x_stride;
    mm->act_row_bytes = rb;
    mm->act_packed = mm->gemm_act && T >= GEMM_MIN_T && mm->kern->gemm[weight_type];
    mm->act_src = x;
    mm->act_grouped_order = -1;
    prep_job j = {mm, mm->kern->from_float[vdt], x, T, K, x_stride};
    if (T >= 4 && mm->n_threads > 1) {
        wk_pool_run(mm->pool, mm->n_threads, prep_part, &j);
    } else {
        prep_part(&j, 0, 1);
    }
}

typedef struct run_job {
    const wk_mm *mm;
    wk_vec_dot_fn dot;
    wk_vec_dot_4act_fn dot4; // NULL: one token at a time
    wk_vec_dot_4row_fn dot4r; // NULL: one weight row at a time
    wk_vec_dot_4row_fn dot4il; // set: the weight's rows are interleaved by four (all go by it)
    wk_vec_dot_4il_n_fn dot4il_n; // set: a kernel takes several tokens per group of rows
    const char *act_n; // the activations dot4il_n takes (mm->act, or act_grouped for the ng one)
    size_t act_n_stride; // the bytes of one of their rows
    const char *w; // first weight row of the range
    size_t w_row_bytes;
    int64_t n_rows, T, K;
    float *y;
    int64_t y_stride;
    int64_t rows_per_tile, toks_per_tile, n_row_tiles, n_tiles;
    atomic_int_fast64_t next;
} run_job;

static void run_tile(run_job *j, int64_t tile)
{
    const int64_t rt = tile % j->n_row_tiles, tt = tile / j->n_row_tiles;
    const int64_t r0 = rt * j->rows_per_tile, r1 = WK_MIN(r0 + j->rows_per_tile, j->n_rows);
    const int64_t t0 = tt * j->toks_per_tile, t1 = WK_MIN(t0 + j->toks_per_tile, j->T);
    const char *act = j->mm->act;
    const size_t arb = j->mm->act_row_bytes;
    int64_t r = r0;
    if (j->dot4il) {
        // rows interleaved by four (repacked): four rows per call for every token; each group of
        // rows is read from memory once and stays in L1 for the tile's other tokens
        for (; r < r1; r += 4) {
            const void *wr = j->w + (size_t)r * j->w_row_bytes;
            int64_t t = t0;
            // several tokens (batched decode): the group is unpacked once for up to eight
            while (j->dot4il_n && t1 - t > 1) {
                const int nt = (int)WK_MIN(WK_4IL_N_MAX, t1 - t);
                float s[4 * WK_4IL_N_MAX];
                j->dot4il_n(j->K, nt, s, wr, j->w_row_bytes, j->act_n + (size_t)t * j->act_n_stride,
                            j->act_n_stride);
                for (int i = 0; i < nt; i++, t++) {
                    for (int k = 0; k < 4; k++) { j->y[t * j->y_stride + r + k] = s[4 * i + k]; }
                }
            }
            for (; t < t1; t++) {
                float s4[4];
                j->dot4il(j->K, s4, wr, j->w_row_bytes, act + (size_t)t * arb);
                for (int k = 0; k < 4; k++) { j->y[t * j->y_stride + r + k] = s4[k]; }
            }
        }
        return;
    }
    if (j->dot4r && t1 - t0 < 4) {
        // one to three tokens (decode): four weight rows per call share the activation loads
        for (; r + 4 <= r1; r += 4) {
            const void *wr = j->w + (size_t)r * j->w_row_bytes;
            for (int64_t t = t0; t < t1; t++) {
                float s4[4];
                j->dot4r(j->K, s4, wr, j->w_row_bytes, act + (size_t)t * arb);
                for (int k = 0; k < 4; k++) { j->y[t * j->y_stride + r + k] = s4[k]; }
            }
        }
    }
    // four tokens per call (the weight row is unpacked once for the four); the rows of the tile
    // go by for each group of four tokens, so that group's activations stay in L1 while the
    // tile's weight rows come from L2 (activation bytes per weight byte: 4 / (bytes per weight))
    int64_t t = t0;
    for (; j->dot4 && t + 4 <= t1; t += 4) {
        for (int64_t rr = r; rr < r1; rr++) {
            float s4[4];
            j->dot4(j->K, s4, j->w + (size_t)rr * j->w_row_bytes, act + (size_t)t * arb, arb);
            for (int k = 0; k < 4; k++) { j->y[(t + k) * j->y_stride + rr] = s4[k]; }
        }
    }
    for (; t < t1; t++) {
        for (int64_t rr = r; rr < r1; rr++) {
            j->dot(j->K, &j->y[t * j->y_stride + rr], j->w + (size_t)rr * j->w_row_bytes,
                   act + (size_t)t * arb);
        }
    }
}

static void run_part(void *ctx, int ith, int nth)
{
    run_job *j = ctx;
    for (int64_t tile = ith; tile < j->n_tiles && !wk_mm_cancelled(j->mm);
         tile = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) {
        run_tile(j, tile);
    }
    (void)nth;
}

typedef struct gemm_job {
    const wk_mm *mm;
    wk_gemm_pack_fn pack, pack_il; // pack_il: from rows interleaved by four (or NULL)
    wk_gemm_fn gemm;
    const char *w; // first weight row of the range
    size_t w_row_bytes, block_bytes; // block_bytes: rows interleaved by four, else 0
    int64_t n_rows, rows_per_unit, n_units;
    float *y;
    int64_t y_stride;
    atomic_int_fast64_t next;
} gemm_job;

static void gemm_part(void *ctx, int ith, int nth)
{
    gemm_job *j = ctx;
    const wk_mm *mm = j->mm;
    char *tiles = (char *)mm->gemm_tiles + (size_t)ith * mm->gemm_tile_bytes;
    const size_t tb = wk_gemm_tile_bytes(mm->act_k);
    const int64_t groups = (mm->act_rows + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS;
    for (int64_t u = ith; u < j->n_units && !wk_mm_cancelled(mm);
         u = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) {
        const int64_t r0 = u * j->rows_per_unit;
        const int nr = (int)WK_MIN(j->rows_per_unit, j->n_rows - r0);
        // the unit this thread likely takes next (the threads take units in turn): its rows
        // are prefetched while this one's GEMM runs
        const int64_t r0n = (u + nth) * j->rows_per_unit;
        const char *pf = r0n < j->n_rows ? j->w + (size_t)r0n * j->w_row_bytes : NULL;
        const size_t pf_bytes = (size_t)WK_MIN(j->rows_per_unit, j->n_rows - r0n) * j->w_row_bytes;
        for (int r = 0; r < nr; r += WK_GEMM_ROWS) {
            const int n = WK_MIN(WK_GEMM_ROWS, nr - r);
            const char *src = j->w + (size_t)(r0 + r) * j->w_row_bytes;
            if (j->block_bytes && j->pack_il) { // interleaved rows (n % 4 == 0) packed as they are
                j->pack_il(src, j->w_row_bytes, n, mm->act_k, tiles + r / WK_GEMM_ROWS * tb);
                continue;
            }
            if (j->block_bytes) { // interleaved rows: back in file order first (n % 4 == 0)
                char *rows = (char *)mm->gemm_rows + (size_t)ith * mm->gemm_rows_bytes +
                             (size_t)r * j->w_row_bytes;
                wk_deinterleave4(rows, src, n, j->w_row_bytes, j->block_bytes);
                src = rows;
            }
            j->pack(src, j->w_row_bytes, n, mm->act_k, tiles + r / WK_GEMM_ROWS * tb);
        }
        j->gemm(tiles, nr, mm->act_k, mm->gemm_act, mm->act_rows, 0, groups, j->y + r0,
                j->y_stride, pf, pf ? pf_bytes : 0);
    }
}

void wk_mm_run(wk_mm *mm, const wk_tensor *w, int64_t row0, int64_t n_rows, float *y,
               int64_t y_stride)
{
    if (wk_mm_cancelled(mm)) { return; } // the pass is dropped: no threads woken for it
    const bool batched = w->il4 && mm->kern->vec_dot_4il_n[w->type];
    if (mm->act_packed && mm->kern->gemm[w->type] &&
        (!batched || mm->act_rows >= GEMM_MIN_T_IL)) {
        gemm_job g;
        g.mm = mm;
        g.pack = mm->kern->gemm_pack[w->type];
        g.pack_il = mm->kern->gemm_pack_il[w->type];
        g.gemm = mm->kern->gemm[w->type];
        g.w = (const char *)w->data + (size_t)row0 * w->row_bytes;
        g.w_row_bytes = w->row_bytes;
        g.block_bytes = w->il4 ? wk_type(w->type)->bytes : 0;
        g.n_rows = n_rows;
        // units of 64 rows (one pass over the activations serves them all), fewer rows when
        // there would be fewer than four units per thread
        g.rows_per_unit = WK_GEMM_MAX_ROWS;
        while (g.rows_per_unit > WK_GEMM_ROWS && n_rows < g.rows_per_unit * 4 * mm->n_threads) {
            g.rows_per_unit /= 2;
        }
        g.n_units = (n_rows + g.rows_per_unit - 1) / g.rows_per_unit;
        g.y = y;
        g.y_stride = y_stride;
        int nth = (int)WK_MIN(mm->n_threads, g.n_units);
        atomic_init(&g.next, nth);
        if (nth > 1) {
            wk_pool_run(mm->pool, nth, gemm_part, &g);
        } else {
            gemm_part(&g, 0, 1);
        }
        return;
    }
    run_job j;
    j.mm = mm;
    j.dot = mm->kern->vec_dot[w->type];
    j.dot4 = mm->kern->vec_dot_4act[w->type];
    j.dot4r = mm->kern->vec_dot_4row[w->type];
    j.dot4il = w->il4 ? mm->kern->vec_dot_4il[w->type] : NULL;
    j.dot4il_n = w->il4 ? mm->kern->vec_dot_4il_n[w->type] : NULL;
    j.act_n = mm->act;
    j.act_n_stride = mm->act_row_bytes;
    if (j.dot4il_n && mm->act_rows > 1 && mm->kern->vec_dot_4il_ng[w->type] && mm->act_grouped) {
        // the grouped copy once per prepared activation and order (a few µs: T <= a few)
        const bool six = w->type == WICK_DTYPE_Q5_K || w->type == WICK_DTYPE_Q6_K;
        const int64_t nb = (int64_t)(mm->act_row_bytes / sizeof(wk_block_q8_k));
        j.act_n_stride = (size_t)nb * (six ? sizeof(wk_block_q8_kg6) : sizeof(wk_block_q8_k));
        if (mm->act_grouped_order != six) { // Q5_K and Q6_K share an order
            (six ? wk_q8_k_group6 : wk_q8_k_group)(mm->act_grouped, mm->act, mm->act_rows * nb);
            mm->act_grouped_order = six;
        }
        j.dot4il_n = mm->kern->vec_dot_4il_ng[w->type];
        j.act_n = mm->act_grouped;
    }
    j.w = (const char *)w->data + (size_t)row0 * w->row_bytes;
    j.w_row_bytes = w->row_bytes;
    j.n_rows = n_rows;
    j.T = mm->act_rows;
    j.K = mm->act_k;
    j.y = y;
    j.y_stride = y_stride;
    j.rows_per_tile = j.T < 4 ? ROWS_DECODE : ROWS_BATCH;
    // decode: smaller tiles when there would be fewer than four per thread (each output is still
    // one dot product, so the results do not depend on the tile size)
    while (j.T < 4 && j.rows_per_tile > 32 &&
           n_rows < (int64_t)4 * mm->n_threads * j.rows_per_tile) {
        j.rows_per_tile /= 2;
    }
    j.toks_per_tile = TOKS_BATCH;
    j.n_row_tiles = (n_rows + j.rows_per_tile - 1) / j.rows_per_tile;
    j.n_tiles = j.n_row_tiles * ((j.T + j.toks_per_tile - 1) / j.toks_per_tile);
    int nth = mm->n_threads;
    if (j.n_tiles < nth) { nth = (int)j.n_tiles; }
    atomic_init(&j.next, nth);
    if (nth > 1) {
        wk_pool_run(mm->pool, nth, run_part, &j);
    } else {
        run_part(&j, 0, 1);
    }
}

void wk_matmul(wk_mm *mm, const wk_tensor *w, const float *x, int64_t T, float *y)
{
    wk_mm_prepare(mm, w->type, x, T, w->ne[0], w->ne[0]);
    wk_mm_run(mm, w, 0, w->n_rows, y, w->n_rows);
}

void wk_mm_project(wk_mm *mm, const wk_tensor *w, const float *x, int64_t T, float *y,
                   int64_t y_stride, bool reuse)
{
    const int vdt = wk_type(w->type)->vec_dot_type;
    const int64_t K = w->ne[0];
    // reused only when act is also packed for the GEMM if w would take it
    const bool want_packed = mm->gemm_act && T >= GEMM_MIN_T && mm->kern->gemm[w->type];
    if (!reuse || mm->act_src != x || mm->act_type != vdt || mm->act_rows != T ||
        mm->act_k != K || mm->act_stride != K || (want_packed && !mm->act_packed)) {
        wk_mm_prepare(mm, w->type, x, T, K, K);
    }
    wk_mm_run(mm, w, 0, w->n_rows, y, y_stride);
}

void wk_mm_parallel(wk_mm *mm, wk_pool_fn fn, void *ctx)
{
    if (wk_mm_cancelled(mm)) { return; } // the pass is dropped
    if (mm->n_threads > 1) {
        wk_pool_run(mm->pool, mm->n_threads, fn, ctx);
    } else {
        fn(ctx, 0, 1);
    }
}
