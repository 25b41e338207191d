// moe.c — expert routing (see moe.h) with ggml's float32 operations.
#include "model/moe.h"

#include <math.h>
#include <stdatomic.h>

#include "kernels/gemm.h"

// The order of the selection: larger first, the lower index first among equal values; NaN sorts
// as -inf (a broken router row still yields k distinct valid ids).
static inline float topk_key(float v) { return isnan(v) ? -INFINITY : v; }

void wk_moe_topk(const float *x, int n, int k, int32_t *out)
{
    // k is small (8 of 384 for Kimi K2): k scans, each taking the best element that comes after
    // the previous pick in the order above.
    float pv = INFINITY;
    int pi = -1;
    for (int j = 0; j < k; j++) {
        int best = -1;
        float bv = -INFINITY;
        for (int i = 0; i < n; i++) {
            const float v = topk_key(x[i]);
            if (j > 0 && !(v < pv || (v == pv && i > pi))) { continue; }
            if (best < 0 || v > bv) {
                best = i;
                bv = v;
            }
        }
        out[j] = best;
        pv = bv;
        pi = best;
    }
}

void wk_moe_route(const wk_moe_router *r, const float *logits, float *scratch, int32_t *ids,
                  float *w)
{
    int n = r->n_expert;
    float *p = scratch;
    float *sel = scratch + n;

    switch (r->gating) {
    case WK_GATING_SOFTMAX: {
        float max = -INFINITY;
        for (int i = 0; i < n; i++) { max = fmaxf(max, logits[i]); }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = expf(logits[i] - max);
            sum += p[i];
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++) { p[i] *= inv; }
        break;
    }
    case WK_GATING_SQRT_SOFTPLUS:
        for (int i = 0; i < n; i++) {
            float x = logits[i];
            p[i] = sqrtf(x > 20.0f ? x : logf(1.0f + expf(x)));
        }
        break;
    default: // sigmoid
        for (int i = 0; i < n; i++) { p[i] = 1.0f / (1.0f + expf(-logits[i])); }
        break;
    }

    for (int i = 0; i < n; i++) { sel[i] = r->bias ? p[i] + r->bias[i] : p[i]; }

    if (r->n_group > 1 && r->n_group_used < r->n_group) {
        // Score each group by the sum of its two best selection values, keep the best groups.
        int per = n / r->n_group;
        float *gscore = scratch + 2 * n;
        for (int g = 0; g < r->n_group; g++) {
            const float *s = sel + (int64_t)g * per;
            int32_t top[2];
            int kk = per < 2 ? per : 2;
            wk_moe_topk(s, per, kk, top);
            gscore[g] = 0;
            for (int j = 0; j < kk; j++) { gscore[g] += s[top[j]]; }
        }
        for (int g = 0; g < r->n_group; g++) {
            // Kept when fewer than n_group_used groups beat it (ties: the lower group wins).
            int better = 0;
            for (int o = 0; o < r->n_group; o++) {
                if (gscore[o] > gscore[g] || (gscore[o] == gscore[g] && o < g)) { better++; }
            }
            if (better >= r->n_group_used) {
                for (int i = 0; i < per; i++) { sel[(int64_t)g * per + i] = -INFINITY; }
            }
        }
    }

    wk_moe_topk(sel, n, r->n_used, ids);

    double sum = 0;
    for (int j = 0; j < r->n_used; j++) {
        w[j] = p[ids[j]];
        sum += w[j];
    }
    if (r->norm) {
        float s = (float)sum;
        if (s < 6.103515625e-5f) { s = 6.103515625e-5f; }
        for (int j = 0; j < r->n_used; j++) { w[j] = w[j] / s; }
    }
    if (r->scale != 0.0f && r->scale != 1.0f) {
        for (int j = 0; j < r->n_used; j++) { w[j] *= r->scale; }
    }
}

void wk_moe_plan(int n_expert, int n_used, int64_t n_tokens, const int32_t *ids, int64_t *start,
                 int32_t *order)
{
    // Counting sort of the pairs by expert id; a stable pass keeps tokens ascending.
    for (int e = 0; e <= n_expert; e++) { start[e] = 0; }
    int64_t n_pairs = n_tokens * n_used;
    for (int64_t p = 0; p < n_pairs; p++) { start[ids[p] + 1]++; }
    for (int e = 0; e < n_expert; e++) { start[e + 1] += start[e]; }
    for (int64_t p = 0; p < n_pairs; p++) {
        int e = ids[p];
        // start[e] is used as the fill cursor, then restored below.
        order[start[e]++] = (int32_t)p;
    }
    for (int e = n_expert; e > 0; e--) { start[e] = start[e - 1]; }
    start[0] = 0;
}

// --- the routed experts over a batch -------------------------------------------------------------

enum {
    EXP_ROWS = 16,  // weight rows per unit (also the GEMM's tile: WK_GEMM_ROWS)
    EXP_PAIRS = 64, // pairs per unit (vec_dot path)
    EXP_GEMM_MIN = 8, // an expert with this many pairs takes the GEMM (one unit per row tile)
};

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

wick_status wk_moe_buf_init(wk_moe_buf *b, int64_t max_tokens, int n_used, int64_t n_embd,
                            int64_t n_ff, int64_t n_expert, size_t in_rb, size_t mid_rb)
{
    memset(b, 0, sizeof *b);
    b->max_tokens = max_tokens;
    b->max_pairs = max_tokens * n_used;
    b->n_ff = n_ff;
    b->n_embd = n_embd;
    b->n_expert = n_expert;
    b->in_rb = in_rb;
    b->mid_rb = mid_rb;
    // GEMM: every expert's slots rounded up to whole 16-token groups, for the wider input
    const bool gemm = wk_kernels_get()->gemm[WICK_DTYPE_Q4_K] != NULL;
    const int64_t gemm_k = WK_MAX(n_embd, n_ff);
    enum { N_BUF = 13 };
    size_t sz[N_BUF] = {0}, total = 0, P = (size_t)b->max_pairs;
    bool ok = wk_mul_size((size_t)max_tokens, in_rb, &sz[0]);
    sz[1] = sz[0];
    ok = ok && wk_mul_size(P, in_rb, &sz[2]);
    sz[3] = sz[2];
    ok = ok && wk_mul_size(P, (size_t)n_ff * sizeof(float), &sz[4]);
    sz[5] = sz[4];
    ok = ok && wk_mul_size(P, mid_rb, &sz[6]);
    ok = ok && wk_mul_size(P, (size_t)n_embd * sizeof(float), &sz[7]);
    sz[8] = 2 * ((size_t)n_expert + 1) * sizeof(int64_t);
    sz[9] = P * sizeof(int32_t);
    sz[10] = P * sizeof(int32_t);
    if (gemm) {
        ok = ok && wk_mul_size(wk_gemm_act_bytes(WK_GEMM_TOKS, gemm_k),
                               P / WK_GEMM_TOKS + (size_t)n_expert + 1, &sz[11]);
        sz[12] = ((size_t)n_expert + 1) * sizeof(int64_t);
    }
    for (int i = 0; ok && i < N_BUF; i++) { ok = wk_add_size(total, round64(sz[i]), &total); }
    if (!ok) { return wk_fail(WICK_E_RANGE, "expert buffers: size overflows"); }
    b->mem = wk_malloc(total);
    if (!b->mem) {
        return wk_fail(WICK_E_NOMEM, "expert buffers: cannot allocate %zu bytes", total);
    }
    char *p = b->mem;
    void **ptrs[N_BUF] = {
        &b->tok_gate,       &b->tok_up,         &b->in_gate,      &b->in_up,
        (void **)&b->g,     (void **)&b->u,     &b->mid,          (void **)&b->out,
        (void **)&b->start, (void **)&b->order, (void **)&b->slot,
        &b->gemm_act,       (void **)&b->group_start};
    for (int i = 0; i < N_BUF; i++) {
        *ptrs[i] = p;
        p += round64(sz[i]);
    }
    b->unit_start = b->start + n_expert + 1;
    if (!gemm) { b->gemm_act = NULL, b->group_start = NULL; }
    return WICK_OK;
}

void wk_moe_buf_free(wk_moe_buf *b)
{
    wk_free(b->mem);
    memset(b, 0, sizeof *b);
}

enum { PH_CONVERT, PH_GATHER, PH_PACK, PH_GATE_UP, PH_MID, PH_DOWN, PH_COMBINE };

typedef struct moe_job {
    const wk_kernels *kern;
    const wk_mm *mm; // its cancel flag is polled between units
    const wk_moe_ffn *f;
    wk_moe_buf *b;
    const float *h;
    int64_t T;
    int n_used;
    const float *w;
    float *y;
    int phase;
    int vdt_gate, vdt_up, vdt_down;
    size_t rb_gate, rb_up, rb_down; // converted row bytes
    int64_t n_rows;                 // weight rows per expert of this phase
    int64_t n_units;
    bool gemm;                      // this phase's experts with EXP_GEMM_MIN+ pairs take the GEMM
    const void *pack_src;           // PH_PACK: the Q8_K rows by slot (in_gate or mid) ...
    size_t pack_rb;                 // ... their bytes
    int64_t pack_k;                 // ... and elements
    void *tiles;                    // per-thread GEMM weight tiles (the matmul's)
    size_t tile_bytes;
    void *rows;                     // per-thread rows of a repacked weight in file order (the
    size_t rows_bytes;              // matmul's gemm_rows)
    atomic_int_fast64_t next;
} moe_job;

static bool expert_gemm(const moe_job *j, int64_t e)
{
    return j->gemm && j->b->start[e + 1] - j->b->start[e] >= EXP_GEMM_MIN;
}

// Expert e's units of a phase: row tiles × pair tiles (the GEMM: row tiles × all its pairs).
static int64_t expert_units(const moe_job *j, int64_t e)
{
    const int64_t n = j->b->start[e + 1] - j->b->start[e];
    if (n == 0) { return 0; }
    const int64_t row_tiles = (j->n_rows + EXP_ROWS - 1) / EXP_ROWS;
    return expert_gemm(j, e) ? row_tiles : row_tiles * ((n + EXP_PAIRS - 1) / EXP_PAIRS);
}

// One GEMM unit: rows [r0, r0 + 16) of expert e's weight w (rows rb bytes, K elements) times all
// of its pairs, into y (slot rows of y_stride floats).
// pf: the rows of the same weight this thread likely packs next (prefetched meanwhile) or NULL.
static void gemm_unit(const moe_job *j, int ith, int64_t e, const wk_tensor *t, const char *w,
                      int64_t K, int64_t r0, float *y, int64_t y_stride, const char *pf)
{
    const int type = t->type;
    const size_t rb = t->row_bytes;
    const wk_moe_buf *b = j->b;
    const int64_t n = b->start[e + 1] - b->start[e];
    const int nr = (int)WK_MIN(EXP_ROWS, j->n_rows - r0);
    void *tile = (char *)j->tiles + (size_t)ith * j->tile_bytes;
    const void *act = (const char *)b->gemm_act +
                      (size_t)b->group_start[e] * wk_gemm_act_bytes(WK_GEMM_TOKS, K);
    const char *rows = w + (size_t)r0 * rb;
    if (t->il4 && j->kern->gemm_pack_il[type]) { // repacked (nr % 4 == 0): packed as they are
        j->kern->gemm_pack_il[type](rows, rb, nr, K, tile);
    } else {
        if (t->il4) { // repacked: the rows back in file order for the packer (nr % 4 == 0)
            char *flat = (char *)j->rows + (size_t)ith * j->rows_bytes;
            wk_deinterleave4(flat, rows, nr, rb, wk_type(type)->bytes);
            rows = flat;
        }
        j->kern->gemm_pack[type](rows, rb, nr, K, tile);
    }
    j->kern->gemm[type](tile, nr, K, act, n, 0, (n + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS,
                        y + b->start[e] * y_stride + r0, y_stride, pf, pf ? (size_t)nr * rb : 0);
}

static void plan_units(moe_job *j)
{
    int64_t *us = j->b->unit_start;
    us[0] = 0;
    for (int64_t e = 0; e < j->f->n_expert; e++) { us[e + 1] = us[e] + expert_units(j, e); }
    j->n_units = us[j->f->n_expert];
}

// s[i] = w · a_i for n_act activation rows a_i = a + i * stride, four at a time when the kernel
// table has a 4-activation dot for the weight's type.
static void dot_rows(const wk_kernels *kern, int type, int64_t K, const void *w, const char *a,
                     size_t stride, int64_t n_act, float *out, int64_t out_stride)
{
    wk_vec_dot_4act_fn d4 = kern->vec_dot_4act[type];
    wk_vec_dot_fn d1 = kern->vec_dot[type];
    int64_t i = 0;
    if (d4) {
        for (; i + 4 <= n_act; i += 4) {
            float s[4];
            d4(K, s, w, a + (size_t)i * stride, stride);
            for (int q = 0; q < 4; q++) { out[(i + q) * out_stride] = s[q]; }
        }
    }
    for (; i < n_act; i++) { d1(K, &out[i * out_stride], w, a + (size_t)i * stride); }
}

// Rows [r0, r1) of weight t (expert block at w) against n_act activation rows: out[i * out_stride
// + r]. Four rows per call (vec_dot_4il for a repacked weight, else vec_dot_4row) when the weight
// is repacked or there are fewer than four activation rows (decode: one weight stream, the
// activation loads shared); else one row against four activations (vec_dot_4act).
static void dot_block(const wk_kernels *kern, const wk_tensor *t, int64_t K, const char *w,
                      int64_t r0, int64_t r1, const char *a, size_t stride, int64_t n_act,
                      float *out, int64_t out_stride)
{
    wk_vec_dot_4row_fn d4r = t->il4 ? kern->vec_dot_4il[t->type] : kern->vec_dot_4row[t->type];
    int64_t r = r0;
    if (d4r && (t->il4 || n_act < 4)) {
        for (; r + 4 <= r1; r += 4) {
            for (int64_t i = 0; i < n_act; i++) {
                float s[4];
                d4r(K, s, w + (size_t)r * t->row_bytes, t->row_bytes, a + (size_t)i * stride);
                for (int q = 0; q < 4; q++) { out[i * out_stride + r + q] = s[q]; }
            }
        }
    }
    for (; r < r1; r++) {
        dot_rows(kern, t->type, K, w + (size_t)r * t->row_bytes, a, stride, n_act,
                 out + r, out_stride);
    }
}

// The expert holding unit u: the last e with unit_start[e] <= u (binary search).
static int64_t unit_expert(const moe_job *j, int64_t u)
{
    int64_t lo = 0, hi = j->f->n_expert - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (j->b->unit_start[mid] <= u) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

// Expert e's rows of the gate (tensor 0), up (1) or down (2) projection.
static const char *expert_rows(const moe_job *j, int64_t e, int tensor)
{
    const wk_moe_ffn *f = j->f;
    if (tensor == 0) {
        return (const char *)f->gate->data +
               (size_t)(e * f->gu_stride + f->gate_row0) * f->gate->row_bytes;
    }
    if (tensor == 1) {
        return (const char *)f->up->data +
               (size_t)(e * f->gu_stride + f->up_row0) * f->up->row_bytes;
    }
    return (const char *)f->down->data + (size_t)(e * f->n_embd) * f->down->row_bytes;
}

// Rows of tensor (expert_rows) that GEMM unit u packs, or NULL when u is not a GEMM unit.
static const char *unit_rows(const moe_job *j, int64_t u, int tensor, size_t row_bytes)
{
    if (u >= j->n_units) { return NULL; }
    const int64_t e = unit_expert(j, u);
    if (!expert_gemm(j, e)) { return NULL; }
    return expert_rows(j, e, tensor) + (size_t)((u - j->b->unit_start[e]) * EXP_ROWS) * row_bytes;
}

// Unit u of this phase; u_next: the unit this thread likely takes next (its weight rows are
// prefetched during this one's GEMM).
static void moe_unit(moe_job *j, int64_t u, int64_t u_next, int ith)
{
    const wk_moe_ffn *f = j->f;
    const wk_moe_buf *b = j->b;
    const int64_t e = unit_expert(j, u), k = u - b->unit_start[e];
    if (expert_gemm(j, e)) {
        const int64_t r0 = k * EXP_ROWS;
        if (j->phase == PH_GATE_UP) {
            gemm_unit(j, ith, e, f->gate, expert_rows(j, e, 0), f->n_embd, r0, b->g, f->n_ff,
                      unit_rows(j, u_next, 0, f->gate->row_bytes));
            gemm_unit(j, ith, e, f->up, expert_rows(j, e, 1), f->n_embd, r0, b->u, f->n_ff,
                      unit_rows(j, u_next, 1, f->up->row_bytes));
        } else {
            gemm_unit(j, ith, e, f->down, expert_rows(j, e, 2), f->n_ff, r0, b->out, f->n_embd,
                      unit_rows(j, u_next, 2, f->down->row_bytes));
        }
        return;
    }
    const int64_t n_pairs = b->start[e + 1] - b->start[e];
    const int64_t pair_tiles = (n_pairs + EXP_PAIRS - 1) / EXP_PAIRS;
    const int64_t rt = k / pair_tiles, pt = k % pair_tiles;
    const int64_t r0 = rt * EXP_ROWS, r1 = WK_MIN(r0 + EXP_ROWS, j->n_rows);
    const int64_t s0 = b->start[e] + pt * EXP_PAIRS; // first slot of the tile
    const int64_t np = WK_MIN(EXP_PAIRS, n_pairs - pt * EXP_PAIRS);

    if (j->phase == PH_GATE_UP) {
        const char *gw = expert_rows(j, e, 0), *uw = expert_rows(j, e, 1);
        const char *ag = (const char *)b->in_gate + (size_t)s0 * j->rb_gate;
        const char *au = (const char *)b->in_up + (size_t)s0 * j->rb_up;
        dot_block(j->kern, f->gate, f->n_embd, gw, r0, r1, ag, j->rb_gate, np,
                  &b->g[s0 * f->n_ff], f->n_ff);
        dot_block(j->kern, f->up, f->n_embd, uw, r0, r1, au, j->rb_up, np, &b->u[s0 * f->n_ff],
                  f->n_ff);
    } else { // PH_DOWN
        const char *dw = expert_rows(j, e, 2);
        const char *am = (const char *)b->mid + (size_t)s0 * j->rb_down;
        dot_block(j->kern, f->down, f->n_ff, dw, r0, r1, am, j->rb_down, np,
                  &b->out[s0 * f->n_embd], f->n_embd);
    }
}

static void moe_part(void *ctx, int ith, int nth)
{
    moe_job *j = ctx;
    const wk_moe_ffn *f = j->f;
    wk_moe_buf *b = j->b;
    switch (j->phase) {
    case PH_CONVERT:
        for (int64_t t = j->T * ith / nth; t < j->T * (ith + 1) / nth; t++) {
            j->kern->from_float[j->vdt_gate](
                j->h + t * f->n_embd, (char *)b->tok_gate + (size_t)t * j->rb_gate, f->n_embd);
            if (b->tok_up != b->tok_gate) {
                j->kern->from_float[j->vdt_up](j->h + t * f->n_embd,
                                               (char *)b->tok_up + (size_t)t * j->rb_up, f->n_embd);
            }
        }
        break;
    case PH_GATHER: {
        // slot s <- the converted row of its token
        const int64_t P = j->T * j->n_used;
        for (int64_t s = P * ith / nth; s < P * (ith + 1) / nth; s++) {
            const int64_t t = b->order[s] / j->n_used;
            memcpy((char *)b->in_gate + (size_t)s * j->rb_gate,
                   (const char *)b->tok_gate + (size_t)t * j->rb_gate, j->rb_gate);
            if (b->tok_up != b->tok_gate) {
                memcpy((char *)b->in_up + (size_t)s * j->rb_up,
                       (const char *)b->tok_up + (size_t)t * j->rb_up, j->rb_up);
            }
        }
        break;
    }
    case PH_PACK:
        // every GEMM expert's slots, per 16 (experts split across threads)
        for (int64_t e = f->n_expert * ith / nth; e < f->n_expert * (ith + 1) / nth; e++) {
            const int64_t n = b->start[e + 1] - b->start[e];
            if (!expert_gemm(j, e)) { continue; }
            char *dst = (char *)b->gemm_act +
                        (size_t)b->group_start[e] * wk_gemm_act_bytes(WK_GEMM_TOKS, j->pack_k);
            wk_gemm_pack_act((const char *)j->pack_src + (size_t)b->start[e] * j->pack_rb,
                             j->pack_rb, n, j->pack_k, 0, (n + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS,
                             dst);
        }
        break;
    case PH_MID: {
        const int64_t P = j->T * j->n_used;
        for (int64_t s = P * ith / nth; s < P * (ith + 1) / nth; s++) {
            // silu(g) * u in place in g, then converted for the down projection
            float *g = b->g + s * f->n_ff;
            wk_swiglu(g, f->n_ff, g, b->u + s * f->n_ff, f->n_ff, 1, f->n_ff);
            j->kern->from_float[j->vdt_down](g, (char *)b->mid + (size_t)s * j->rb_down, f->n_ff);
        }
        break;
    }
    case PH_COMBINE:
        for (int64_t t = j->T * ith / nth; t < j->T * (ith + 1) / nth; t++) {
            float *yt = j->y + t * f->n_embd;
            const float *wt = j->w + t * j->n_used;
            const float *o0 = b->out + (int64_t)b->slot[t * j->n_used] * f->n_embd;
            for (int64_t i = 0; i < f->n_embd; i++) { yt[i] = o0[i] * wt[0]; }
            for (int q = 1; q < j->n_used; q++) {
                const float *os = b->out + (int64_t)b->slot[t * j->n_used + q] * f->n_embd;
                for (int64_t i = 0; i < f->n_embd; i++) { yt[i] += os[i] * wt[q]; }
            }
        }
        break;
    default: // PH_GATE_UP, PH_DOWN
        for (int64_t u = ith; u < j->n_units && !wk_mm_cancelled(j->mm);
             u = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) {
            moe_unit(j, u, u + nth, ith);
        }
        break;
    }
}

static void run_phase(wk_mm *mm, moe_job *j, int phase, int64_t work)
{
    if (wk_mm_cancelled(mm)) { return; } // the pass is dropped
    j->phase = phase;
    int nth = (int)WK_MIN((int64_t)mm->n_threads, work);
    if (nth < 1) { nth = 1; }
    atomic_store_explicit(&j->next, nth, memory_order_relaxed);
    if (nth > 1) {
        wk_pool_run(mm->pool, nth, moe_part, j);
    } else {
        moe_part(j, 0, 1);
    }
}

void wk_moe_ffn_run(wk_mm *mm, const wk_moe_ffn *f, wk_moe_buf *b, const float *h, int64_t T,
                    int n_used, const int32_t *ids, const float *w, float *y)
{
    moe_job j;
    memset(&j, 0, sizeof j);
    j.kern = mm->kern;
    j.mm = mm;
    j.f = f;
    j.b = b;
    j.h = h;
    j.T = T;
    j.n_used = n_used;
    j.w = w;
    j.y = y;
    j.vdt_gate = wk_type(f->gate->type)->vec_dot_type;
    j.vdt_up = wk_type(f->up->type)->vec_dot_type;
    j.vdt_down = wk_type(f->down->type)->vec_dot_type;
    wk_row_bytes(j.vdt_gate, f->n_embd, &j.rb_gate); // checked when the model was bound
    wk_row_bytes(j.vdt_up, f->n_embd, &j.rb_up);
    wk_row_bytes(j.vdt_down, f->n_ff, &j.rb_down);
    void *tok_up = b->tok_up, *in_up = b->in_up;
    if (j.vdt_up == j.vdt_gate) { // one conversion serves both
        b->tok_up = b->tok_gate;
        b->in_up = b->in_gate;
    }
    const int64_t P = T * n_used;

    run_phase(mm, &j, PH_CONVERT, T >= 4 ? T : 1);
    wk_moe_plan((int)f->n_expert, n_used, T, ids, b->start, b->order);
    for (int64_t s = 0; s < P; s++) { b->slot[b->order[s]] = (int32_t)s; }
    run_phase(mm, &j, PH_GATHER, P >= 16 ? P : 1);
    // the GEMM where the path has it for these formats (Q8_K activations) and the session has
    // its tile buffers; group_start: each expert's slots in whole 16-token groups
    const bool gemm_ok = b->gemm_act && mm->gemm_tiles && P >= EXP_GEMM_MIN;
    j.tiles = mm->gemm_tiles;
    j.tile_bytes = mm->gemm_tile_bytes;
    j.rows = mm->gemm_rows;
    j.rows_bytes = mm->gemm_rows_bytes;
    if (gemm_ok) {
        b->group_start[0] = 0;
        for (int64_t e = 0; e < f->n_expert; e++) {
            const int64_t n = b->start[e + 1] - b->start[e];
            b->group_start[e + 1] =
                b->group_start[e] + (n >= EXP_GEMM_MIN ? (n + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS : 0);
        }
    }
    j.gemm = gemm_ok && j.kern->gemm[f->gate->type] && j.kern->gemm[f->up->type] &&
             j.vdt_up == j.vdt_gate;
    if (j.gemm) {
        j.pack_src = b->in_gate;
        j.pack_rb = j.rb_gate;
        j.pack_k = f->n_embd;
        run_phase(mm, &j, PH_PACK, f->n_expert);
    }
    j.n_rows = f->n_ff;
    plan_units(&j);
    run_phase(mm, &j, PH_GATE_UP, j.n_units);
    run_phase(mm, &j, PH_MID, P >= 4 ? P : 1);
    j.gemm = gemm_ok && j.kern->gemm[f->down->type];
    if (j.gemm) {
        j.pack_src = b->mid;
        j.pack_rb = j.rb_down;
        j.pack_k = f->n_ff;
        run_phase(mm, &j, PH_PACK, f->n_expert);
    }
    j.n_rows = f->n_embd;
    plan_units(&j);
    run_phase(mm, &j, PH_DOWN, j.n_units);
    run_phase(mm, &j, PH_COMBINE, T >= 4 ? T : 1);
    b->tok_up = tok_up;
    b->in_up = in_up;
}
