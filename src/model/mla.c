// mla.c — the cache side of absorbed multi-head latent attention (see mla.h).
#include "model/mla.h"

#include <math.h>
#include <stdatomic.h>

#include "kernels/gemm.h"

// scores[h][0..n_kv) -> softmax(kq_scale * scores) in place, as ggml_soft_max_ext: the scale is
// applied to the dot product, the sum of exponentials is taken in double.
static void softmax_rows(int n_head, int64_t n_kv, float *scores)
{
    for (int h = 0; h < n_head; h++) { wk_softmax(scores + (int64_t)h * n_kv, n_kv); }
}

void wk_mla_attend(const wk_kernels *kern, int n_head, int64_t kv_lora, int64_t n_rope,
                   const float *q, int64_t q_stride, const float *kv, int64_t kv_stride,
                   int64_t n_kv, float kq_scale, float *scratch, float *o, int64_t o_stride)
{
    const int64_t dim = kv_lora + n_rope;
    float *scores = scratch; // [n_head][n_kv]
    wk_vec_dot_fn dot = kern->vec_dot[WICK_DTYPE_F32];
    // Rows outer, heads inner: each cached row is read once for all heads; four heads against
    // four rows per dot_f32_4x4 call (16 dots reduced together), the edges one dot at a time.
    const int h4 = n_head / 4 * 4;
    int64_t i = 0;
    for (; i + 4 <= n_kv; i += 4) {
        const float *rows = kv + i * kv_stride;
        for (int h = 0; h < h4; h += 4) {
            kern->dot_f32_4x4(dim, q + (int64_t)h * q_stride, q_stride, rows, kv_stride,
                              scores + (int64_t)h * n_kv + i, n_kv);
        }
        for (int h = h4; h < n_head; h++) {
            for (int r = 0; r < 4; r++) {
                dot(dim, &scores[(int64_t)h * n_kv + i + r], rows + r * kv_stride,
                    q + (int64_t)h * q_stride);
            }
        }
    }
    for (; i < n_kv; i++) {
        for (int h = 0; h < n_head; h++) {
            dot(dim, &scores[(int64_t)h * n_kv + i], kv + i * kv_stride, q + (int64_t)h * q_stride);
        }
    }
    for (int h = 0; h < n_head; h++) {
        float *sh = scores + (int64_t)h * n_kv;
        for (int64_t c = 0; c < n_kv; c++) { sh[c] *= kq_scale; }
    }
    softmax_rows(n_head, n_kv, scores);
    for (int h = 0; h < n_head; h++) {
        float *oh = o + (int64_t)h * o_stride;
        for (int64_t c = 0; c < kv_lora; c++) { oh[c] = 0; }
    }
    const wk_accum_rows_fn accum = kern->accum_rows;
    for (i = 0; i < n_kv; i += 4) {
        accum(o, o_stride, scores + i, n_kv, kv + i * kv_stride, kv_stride,
              (int)WK_MIN(4, n_kv - i), n_head, kv_lora);
    }
}

void wk_mla_attend_f16(const wk_kernels *kern, int n_head, int64_t kv_lora, int64_t n_rope,
                       const float *q, int64_t q_stride, const uint16_t *kv, int64_t kv_stride,
                       int64_t n_kv, float kq_scale, float *scratch, float *o, int64_t o_stride)
{
    const int64_t dim = kv_lora + n_rope;
    float *scores = scratch;                                       // [n_head][n_kv]
    uint16_t *q16 = (uint16_t *)(scores + (int64_t)n_head * n_kv); // [n_head][dim] fp16
    float *rowf = scores + (int64_t)n_head * (n_kv + dim);         // [4][kv_lora] rows as floats
    wk_vec_dot_fn dot = kern->vec_dot[WICK_DTYPE_F16];
    for (int h = 0; h < n_head; h++) {
        kern->from_float[WICK_DTYPE_F16](q + (int64_t)h * q_stride, q16 + (int64_t)h * dim, dim);
    }
    for (int64_t i = 0; i < n_kv; i++) {
        const uint16_t *row = kv + i * kv_stride;
        for (int h = 0; h < n_head; h++) {
            float d;
            dot(dim, &d, row, q16 + (int64_t)h * dim);
            scores[(int64_t)h * n_kv + i] = d * kq_scale;
        }
    }
    softmax_rows(n_head, n_kv, scores);
    for (int h = 0; h < n_head; h++) {
        float *oh = o + (int64_t)h * o_stride;
        for (int64_t c = 0; c < kv_lora; c++) { oh[c] = 0; }
    }
    // ggml converts the probabilities to the cache's type before they weight the rows.
    for (int64_t i = 0; i < (int64_t)n_head * n_kv; i++) {
        scores[i] = wk_fp16_to_f32(wk_f32_to_fp16(scores[i]));
    }
    const wk_accum_rows_fn accum = kern->accum_rows;
    for (int64_t i = 0; i < n_kv; i += 4) {
        const int nr = (int)WK_MIN(4, n_kv - i);
        for (int r = 0; r < nr; r++) {
            kern->to_float[WICK_DTYPE_F16](kv + (i + r) * kv_stride, rowf + r * kv_lora, kv_lora);
        }
        accum(o, o_stride, scores + i, n_kv, rowf, kv_lora, nr, n_head, kv_lora);
    }
}

// --- per-head products ---------------------------------------------------------------------------

enum { HEAD_ROWS = 32, HEAD_TOKS = 64 };

// The legacy formats' GEMM (kernels/gemm.h: gemm0) takes this weight's rows.
static bool gemm0_takes(const wk_kernels *k, int type, int64_t K)
{
    return k->gemm0[type] && K % 32 == 0 && K <= WK_GEMM0_MAX_K;
}

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

size_t wk_mla_head_act_bytes(int weight_type, int64_t K, int64_t T, int64_t n_head)
{
    size_t rb = 0;
    const wk_type_traits *tt = wk_type(weight_type);
    if (!tt || tt->vec_dot_type < 0 || wk_row_bytes(tt->vec_dot_type, K, &rb) < 0) { return 0; }
    size_t n = rb * (size_t)T * (size_t)n_head;
    if (gemm0_takes(wk_kernels_get(), weight_type, K)) { // then each head's packed activations
        n = round64(n) + (size_t)n_head * wk_gemm_act0_bytes(T, K);
    }
    return n;
}

typedef struct head_job {
    const wk_kernels *kern;
    const wk_mm *mm; // its cancel flag is polled between units
    const wk_tensor *w;
    const float *x;
    int64_t x_ts, x_hs, T, n_head, K, N;
    float *y;
    int64_t y_ts, y_hs;
    char *act;
    size_t act_rb; // bytes of one converted row; row (t, h) at (t * n_head + h) * act_rb
    int vdt;
    int64_t row_tiles, tok_tiles, n_units;
    atomic_int_fast64_t next;
} head_job;

static void head_convert(void *ctx, int ith, int nth)
{
    head_job *j = ctx;
    const int64_t n = j->T * j->n_head;
    for (int64_t u = n * ith / nth; u < n * (ith + 1) / nth; u++) {
        const int64_t t = u / j->n_head, h = u % j->n_head;
        j->kern->from_float[j->vdt](j->x + t * j->x_ts + h * j->x_hs,
                                    j->act + (size_t)u * j->act_rb, j->K);
    }
}

static void head_unit(head_job *j, int64_t u)
{
    // u = (h * row_tiles + rt) * tok_tiles + tt: the token tiles of one row tile follow each other
    const int64_t tt = u % j->tok_tiles, rt = (u / j->tok_tiles) % j->row_tiles;
    const int64_t h = u / (j->tok_tiles * j->row_tiles);
    const int64_t r0 = rt * HEAD_ROWS, r1 = WK_MIN(r0 + HEAD_ROWS, j->N);
    const int64_t t0 = tt * HEAD_TOKS, t1 = WK_MIN(t0 + HEAD_TOKS, j->T);
    wk_vec_dot_fn dot = j->kern->vec_dot[j->w->type];
    wk_vec_dot_4act_fn dot4 = j->kern->vec_dot_4act[j->w->type];
    const char *wh = (const char *)j->w->data + (size_t)(h * j->N) * j->w->row_bytes;
    const size_t a_stride = (size_t)j->n_head * j->act_rb; // token t+1 of the same head
    for (int64_t r = r0; r < r1; r++) {
        const void *wr = wh + (size_t)r * j->w->row_bytes;
        int64_t t = t0;
        if (dot4) {
            for (; t + 4 <= t1; t += 4) {
                float sc[4];
                dot4(j->K, sc, wr, j->act + (size_t)(t * j->n_head + h) * j->act_rb, a_stride);
                for (int q = 0; q < 4; q++) { j->y[(t + q) * j->y_ts + h * j->y_hs + r] = sc[q]; }
            }
        }
        for (; t < t1; t++) {
            dot(j->K, &j->y[t * j->y_ts + h * j->y_hs + r], wr,
                j->act + (size_t)(t * j->n_head + h) * j->act_rb);
        }
    }
}

static void head_run(void *ctx, int ith, int nth)
{
    head_job *j = ctx;
    (void)nth;
    for (int64_t u = ith; u < j->n_units && !wk_mm_cancelled(j->mm);
         u = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) {
        head_unit(j, u);
    }
}

// The K formats' int8 GEMM per head (kernels/gemm.h), for many tokens where the path has it and
// the session has the matmul's GEMM buffers: the converted Q8_K rows of each head packed per 16
// tokens into mm->gemm_act (as many heads at once as it holds), then units of (head, 64 rows):
// a thread packs its rows into its tile buffer and multiplies them by all the head's tokens.
// Same bits as the vec_dot path (the GEMM's are vec_dot's).
enum { HEAD_GEMM_MIN_T = 8, HEAD_GEMM_ROWS = WK_GEMM_MAX_ROWS };

// Either GEMM's (this one's and gemm0's below) job: heads [h0, h0 + nh), their activations packed
// by pack_act, head h0 + i's at packed + i * head_bytes.
typedef struct head_gemm_job {
    head_job *j;
    wk_mm *mm;
    int64_t h0, nh;
    void (*pack_act)(const void *, size_t, int64_t, int64_t, int64_t, int64_t, void *);
    char *packed;
    size_t head_bytes;
    int64_t row_units;   // units per head
    atomic_int_fast64_t next;
} head_gemm_job;

static void head_pack_act(void *ctx, int ith, int nth)
{
    head_gemm_job *g = ctx;
    const head_job *j = g->j;
    const int64_t groups = (j->T + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS, n = g->nh * groups;
    for (int64_t u = n * ith / nth; u < n * (ith + 1) / nth; u++) {
        const int64_t h = u / groups, gr = u % groups;
        g->pack_act(j->act + (size_t)(g->h0 + h) * j->act_rb, (size_t)j->n_head * j->act_rb, j->T,
                    j->K, gr, gr + 1, g->packed + (size_t)h * g->head_bytes);
    }
}

static void head_gemm_part(void *ctx, int ith, int nth)
{
    head_gemm_job *g = ctx;
    const head_job *j = g->j;
    const wk_mm *mm = g->mm;
    const wk_tensor *w = j->w;
    const size_t rb = w->row_bytes, tb = wk_gemm_tile_bytes(j->K);
    char *tiles = (char *)mm->gemm_tiles + (size_t)ith * mm->gemm_tile_bytes;
    const int64_t groups = (j->T + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS;
    (void)nth;
    for (int64_t u = ith; u < g->nh * g->row_units && !wk_mm_cancelled(mm);
         u = atomic_fetch_add_explicit(&g->next, 1, memory_order_relaxed)) {
        const int64_t h = u / g->row_units, r0 = (u % g->row_units) * HEAD_GEMM_ROWS;
        const int nr = (int)WK_MIN(HEAD_GEMM_ROWS, j->N - r0);
        const char *src = (const char *)w->data + (size_t)((g->h0 + h) * j->N + r0) * rb;
        for (int r = 0; r < nr; r += WK_GEMM_ROWS) {
            const int n = WK_MIN(WK_GEMM_ROWS, nr - r);
            const char *rows = src + (size_t)r * rb;
            if (w->il4 && mm->kern->gemm_pack_il[w->type]) { // interleaved by four, as they are
                mm->kern->gemm_pack_il[w->type](rows, rb, n, j->K, tiles + r / WK_GEMM_ROWS * tb);
                continue;
            }
            if (w->il4) { // interleaved by four (repack.c): back in file order for the packer
                char *flat = (char *)mm->gemm_rows + (size_t)ith * mm->gemm_rows_bytes +
                             (size_t)r * rb;
                wk_deinterleave4(flat, rows, n, rb, wk_type(w->type)->bytes);
                rows = flat;
            }
            mm->kern->gemm_pack[w->type](rows, rb, n, j->K, tiles + r / WK_GEMM_ROWS * tb);
        }
        mm->kern->gemm[w->type](tiles, nr, j->K, g->packed + h * g->head_bytes,
                                j->T, 0, groups, j->y + (g->h0 + h) * j->y_hs + r0, j->y_ts,
                                NULL, 0);
    }
}

static bool head_gemm_ok(const wk_mm *mm, const head_job *j)
{
    return j->T >= HEAD_GEMM_MIN_T && mm->gemm_act && mm->gemm_tiles &&
           mm->kern->gemm[j->w->type] && j->K % 256 == 0 && j->K <= mm->max_k &&
           (!j->w->il4 || j->N % 4 == 0) &&
           wk_gemm_act_bytes(j->T, j->K) <= wk_gemm_act_bytes(mm->max_rows, mm->max_k / 256 * 256);
}

static void head_gemm(wk_mm *mm, head_job *j)
{
    head_gemm_job g;
    g.j = j;
    g.mm = mm;
    g.pack_act = wk_gemm_pack_act;
    g.packed = mm->gemm_act;
    g.head_bytes = wk_gemm_act_bytes(j->T, j->K);
    g.row_units = (j->N + HEAD_GEMM_ROWS - 1) / HEAD_GEMM_ROWS;
    const int64_t cap = (int64_t)(wk_gemm_act_bytes(mm->max_rows, mm->max_k / 256 * 256) /
                                  g.head_bytes);
    for (g.h0 = 0; g.h0 < j->n_head; g.h0 += g.nh) {
        g.nh = WK_MIN(cap, j->n_head - g.h0);
        wk_mm_parallel(mm, head_pack_act, &g);
        const int nth = (int)WK_MIN((int64_t)mm->n_threads, g.nh * g.row_units);
        atomic_init(&g.next, nth);
        if (nth > 1) {
            wk_pool_run(mm->pool, nth, head_gemm_part, &g);
        } else {
            head_gemm_part(&g, 0, 1);
        }
    }
    mm->act_type = -1; // gemm_act no longer holds what wk_mm_prepare packed there
    mm->act_grouped_order = -1;
}

// The legacy formats (Q4_0, Q5_0, Q8_0: attn_k_b's usual types) through gemm0 for many tokens:
// each head's converted Q8_0 rows packed per 16 tokens after them in act, then units of (head,
// 16 rows), each a gemm0 call over all the head's tokens. The bits of the scalar vec_dot, not of
// the SIMD dots of the path below (on for any WICK_GEMM: there is no vec_dot path it must match).
static void head_gemm0_part(void *ctx, int ith, int nth)
{
    head_gemm_job *g = ctx;
    const head_job *j = g->j;
    const wk_tensor *w = j->w;
    (void)nth;
    for (int64_t u = ith; u < j->n_head * g->row_units && !wk_mm_cancelled(j->mm);
         u = atomic_fetch_add_explicit(&g->next, 1, memory_order_relaxed)) {
        const int64_t h = u / g->row_units, r0 = (u % g->row_units) * WK_GEMM_ROWS;
        const int nr = (int)WK_MIN(WK_GEMM_ROWS, j->N - r0);
        j->kern->gemm0[w->type]((const char *)w->data + (size_t)(h * j->N + r0) * w->row_bytes,
                                w->row_bytes, nr, j->K, g->packed + (size_t)h * g->head_bytes,
                                j->T, j->y + h * j->y_hs + r0, j->y_ts);
    }
}

static void head_gemm0(wk_mm *mm, head_job *j)
{
    head_gemm_job g;
    g.j = j;
    g.mm = mm;
    g.h0 = 0;
    g.nh = j->n_head;
    g.pack_act = wk_gemm_pack_act0;
    g.packed = j->act + round64(j->act_rb * (size_t)j->T * (size_t)j->n_head);
    g.head_bytes = wk_gemm_act0_bytes(j->T, j->K);
    g.row_units = (j->N + WK_GEMM_ROWS - 1) / WK_GEMM_ROWS;
    wk_mm_parallel(mm, head_pack_act, &g);
    const int nth = (int)WK_MIN((int64_t)mm->n_threads, j->n_head * g.row_units);
    atomic_init(&g.next, nth);
    if (nth > 1) {
        wk_pool_run(mm->pool, nth, head_gemm0_part, &g);
    } else {
        head_gemm0_part(&g, 0, 1);
    }
}

void wk_mla_head_matmul(wk_mm *mm, const wk_tensor *w, const float *x, int64_t x_ts, int64_t x_hs,
                        int64_t T, float *y, int64_t y_ts, int64_t y_hs, void *act)
{
    if (wk_mm_cancelled(mm)) { return; } // the pass is dropped
    head_job j;
    j.kern = mm->kern;
    j.mm = mm;
    j.w = w;
    j.x = x;
    j.x_ts = x_ts;
    j.x_hs = x_hs;
    j.T = T;
    j.K = w->ne[0];
    j.N = w->ne[1];
    j.n_head = w->ne[2];
    j.y = y;
    j.y_ts = y_ts;
    j.y_hs = y_hs;
    j.act = act;
    j.vdt = wk_type(w->type)->vec_dot_type;
    j.act_rb = 0;
    wk_row_bytes(j.vdt, j.K, &j.act_rb); // checked when the model was bound
    j.row_tiles = (j.N + HEAD_ROWS - 1) / HEAD_ROWS;
    j.tok_tiles = (T + HEAD_TOKS - 1) / HEAD_TOKS;
    j.n_units = j.n_head * j.row_tiles * j.tok_tiles;
    if (T * j.n_head >= 4) {
        wk_mm_parallel(mm, head_convert, &j);
    } else {
        head_convert(&j, 0, 1);
    }
    if (head_gemm_ok(mm, &j)) {
        head_gemm(mm, &j);
        return;
    }
    if (T >= HEAD_GEMM_MIN_T && !w->il4 && gemm0_takes(mm->kern, w->type, j.K)) {
        head_gemm0(mm, &j);
        return;
    }
    const int nth = (int)WK_MIN((int64_t)mm->n_threads, j.n_units);
    atomic_init(&j.next, nth);
    if (nth > 1) {
        wk_pool_run(mm->pool, nth, head_run, &j);
    } else {
        head_run(&j, 0, 1);
    }
}
