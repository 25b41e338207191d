// mla_expanded.c — multi-head latent attention with expanded keys, for long prompts (mla.h).
//
// Per pass: the queries rounded as the absorbed product rounds them, W_k_b transposed to floats;
// then per block of heads the visible rows' keys [W_k_b^T c_kv | k_pe] (dot_f32_4x4 of four rows
// by four key columns), and units of (head, WK_MLA_EXP_TOKS queries): scores against the keys,
// causal softmax, weighted sum of the latent rows (accum_rows) into the absorbed form's output.
#include "model/mla.h"

#include <string.h>

enum { MAX_NOPE = 1024, MAX_ROUNDED = 4096 }; // stack buffers: a W_k_b row, a rounded q_nope

bool wk_mla_exp_takes(const wk_kernels *kern, const wk_tensor *kb)
{
    const int vdt = wk_type(kb->type)->vec_dot_type;
    size_t rb = 0;
    const int64_t nope = kb->ne[0];
    // Q8_1 (of Q4_1 / Q5_1) keeps its block sums in fp16: not the plain dequantized dot
    return (vdt == WICK_DTYPE_Q8_0 || vdt == WICK_DTYPE_F32 || vdt == WICK_DTYPE_F16 ||
            vdt == WICK_DTYPE_BF16) &&
           kern->from_float[vdt] && kern->to_float[vdt] && kern->to_float[kb->type] &&
           nope % 4 == 0 && nope <= MAX_NOPE && wk_row_bytes(vdt, nope, &rb) >= 0 &&
           rb <= MAX_ROUNDED;
}

// Work per head in multiply-adds weighted by their measured cost relative to the absorbed
// queries' int8 GEMM: the pairs' float dots and sums PAIR_COST, the keys' float expansion (and
// W_k_b's transpose) EXP_COST. bench_model_kimi (2 threads, Kimi-shaped, loaded machine): the
// expanded keys lose 2-5 % at 32-128 tokens, are level at 512, win 1-6 % at 2048; these weights
// put the crossover of a fresh prompt at 512 tokens (n_kv = n), later after a cached prefix.
enum { PAIR_COST = 2, EXP_COST = 4, EXP_MIN_T = 32 };

bool wk_mla_exp_pays(int64_t n, int64_t n_kv, int64_t kv_lora, int64_t nope, int64_t n_rope)
{
    if (n < EXP_MIN_T) { return false; }
    const double pairs = (double)n * (double)(n_kv - n) + 0.5 * (double)n * (double)(n + 1);
    const double proj = (double)nope * (double)kv_lora;
    const double absorbed = (double)n * proj + PAIR_COST * pairs * (double)(2 * kv_lora + n_rope);
    const double expanded =
        EXP_COST * (double)n_kv * proj + PAIR_COST * pairs * (double)(nope + n_rope + kv_lora);
    return expanded < absorbed;
}

typedef struct exp_job {
    const wk_mla_exp *e;
    int64_t nope, qk, n_kv;
    int64_t h0, nh;     // the block of heads whose keys are in e->buf
    int64_t row_blocks; // keys: units of (head, KEY_ROWS rows)
    int64_t n_units;
} exp_job;

enum { KEY_ROWS = 64 };

// q_nope of tokens [n * ith / nth, ..) rounded to W_k_b's vec_dot type and back; q_pe as it is.
static void round_queries(void *ctx, int ith, int nth)
{
    const exp_job *j = ctx;
    const wk_mla_exp *e = j->e;
    const wk_kernels *kern = e->mm->kern;
    const int vdt = wk_type(e->kb->type)->vec_dot_type;
    _Alignas(64) char tmp[MAX_ROUNDED];
    for (int64_t t = e->n * ith / nth; t < e->n * (ith + 1) / nth; t++) {
        for (int64_t h = 0; h < e->n_head; h++) {
            const float *q = e->q + t * e->q_ts + h * j->qk;
            float *r = e->qr + (t * e->n_head + h) * j->qk;
            kern->from_float[vdt](q, tmp, j->nope);
            kern->to_float[vdt](tmp, r, j->nope);
            memcpy(r + j->nope, q + j->nope, (size_t)e->n_rope * sizeof(float));
        }
    }
}

// wt[h][c][r] = W_k_b[h][r][c] for the heads [H * ith / nth, ..).
static void transpose_kb(void *ctx, int ith, int nth)
{
    const exp_job *j = ctx;
    const wk_mla_exp *e = j->e;
    const wk_tensor *kb = e->kb;
    const int64_t lora = e->kv_lora, nope = j->nope;
    float row[MAX_NOPE];
    for (int64_t h = e->n_head * ith / nth; h < e->n_head * (ith + 1) / nth; h++) {
        float *wt = e->wt + h * nope * lora;
        for (int64_t r = 0; r < lora; r++) {
            e->mm->kern->to_float[kb->type]((const char *)kb->data +
                                                (size_t)(h * lora + r) * kb->row_bytes,
                                            row, nope);
            for (int64_t c = 0; c < nope; c++) { wt[c * lora + r] = row[c]; }
        }
    }
}

// Keys of head j->h0 + hl, rows [r0, r1): k[hl][i] = [W_k_b^T c_kv_i | k_pe_i].
static void keys_unit(const exp_job *j, int64_t u)
{
    const wk_mla_exp *e = j->e;
    const wk_kernels *kern = e->mm->kern;
    const int64_t hl = u / j->row_blocks, r0 = (u % j->row_blocks) * KEY_ROWS;
    const int64_t r1 = WK_MIN(r0 + KEY_ROWS, j->n_kv), lora = e->kv_lora, qk = j->qk;
    const float *wt = e->wt + (j->h0 + hl) * j->nope * lora;
    float *k = e->buf + hl * j->n_kv * qk;
    wk_vec_dot_fn dot = kern->vec_dot[WICK_DTYPE_F32];
    int64_t i = r0;
    for (; i + 4 <= r1; i += 4) {
        for (int64_t c = 0; c < j->nope; c += 4) {
            kern->dot_f32_4x4(lora, e->kv + i * e->kv_stride, e->kv_stride, wt + c * lora, lora,
                              k + i * qk + c, qk);
        }
    }
    for (; i < r1; i++) {
        for (int64_t c = 0; c < j->nope; c++) {
            dot(lora, &k[i * qk + c], wt + c * lora, e->kv + i * e->kv_stride);
        }
    }
    for (i = r0; i < r1; i++) {
        memcpy(k + i * qk + j->nope, e->kv + i * e->kv_stride + lora,
               (size_t)e->n_rope * sizeof(float));
    }
}

// Queries of token block tb, head j->h0 + hl, against the rows they see.
static void attend_unit(const exp_job *j, int64_t u, int ith)
{
    const wk_mla_exp *e = j->e;
    const wk_kernels *kern = e->mm->kern;
    const int64_t tb = u / j->nh, hl = u % j->nh, h = j->h0 + hl;
    const int64_t t0 = tb * WK_MLA_EXP_TOKS, t1 = WK_MIN(t0 + WK_MLA_EXP_TOKS, e->n);
    const int64_t nt = t1 - t0, qk = j->qk, lora = e->kv_lora;
    const int64_t n_kv = e->pos0 + t1; // the last query's rows; earlier ones see fewer
    float *s = e->scratch + (int64_t)ith * e->scratch_per_thread; // [nt][n_kv]
    const int64_t q_ts = e->n_head * qk;
    const float *q = e->qr + (t0 * e->n_head + h) * qk;
    const float *k = e->buf + hl * j->n_kv * qk;
    wk_vec_dot_fn dot = kern->vec_dot[WICK_DTYPE_F32];
    const int64_t nt4 = nt / 4 * 4;
    int64_t i = 0;
    for (; i + 4 <= n_kv; i += 4) {
        for (int64_t t = 0; t < nt4; t += 4) {
            kern->dot_f32_4x4(qk, q + t * q_ts, q_ts, k + i * qk, qk, s + t * n_kv + i, n_kv);
        }
        for (int64_t t = nt4; t < nt; t++) {
            for (int64_t r = 0; r < 4; r++) {
                dot(qk, &s[t * n_kv + i + r], k + (i + r) * qk, q + t * q_ts);
            }
        }
    }
    for (; i < n_kv; i++) {
        for (int64_t t = 0; t < nt; t++) { dot(qk, &s[t * n_kv + i], k + i * qk, q + t * q_ts); }
    }
    for (int64_t t = 0; t < nt; t++) {
        float *st = s + t * n_kv;
        const int64_t seen = e->pos0 + t0 + t + 1; // causal: rows 0 .. its position
        for (int64_t c = 0; c < seen; c++) { st[c] *= e->kq_scale; }
        wk_softmax(st, seen);
        for (int64_t c = seen; c < n_kv; c++) { st[c] = 0; }
        float *o = e->o + (t0 + t) * e->o_ts + h * lora;
        for (int64_t c = 0; c < lora; c++) { o[c] = 0; }
    }
    for (i = 0; i < n_kv; i += 4) {
        kern->accum_rows(e->o + t0 * e->o_ts + h * lora, e->o_ts, s + i, n_kv,
                         e->kv + i * e->kv_stride, e->kv_stride, (int)WK_MIN(4, n_kv - i),
                         (int)nt, lora);
    }
}

static void keys_part(void *ctx, int ith, int nth)
{
    const exp_job *j = ctx;
    for (int64_t u = ith; u < j->nh * j->row_blocks && !wk_mm_cancelled(j->e->mm); u += nth) {
        keys_unit(j, u);
    }
}

static void attend_part(void *ctx, int ith, int nth)
{
    const exp_job *j = ctx;
    // Interleaved: later token blocks see more rows, so contiguous ranges would be uneven.
    for (int64_t u = ith; u < j->n_units && !wk_mm_cancelled(j->e->mm); u += nth) {
        attend_unit(j, u, ith);
    }
}

void wk_mla_exp_attend(const wk_mla_exp *e)
{
    wk_mm *mm = e->mm;
    exp_job j = {.e = e, .nope = e->kb->ne[0], .n_kv = e->pos0 + e->n};
    j.qk = j.nope + e->n_rope;
    j.row_blocks = (j.n_kv + KEY_ROWS - 1) / KEY_ROWS;
    wk_mm_parallel(mm, round_queries, &j);
    wk_mm_parallel(mm, transpose_kb, &j);
    const int64_t hb = WK_MIN(e->n_head, e->buf_rows / j.n_kv); // >= 1: checked by the caller
    const int64_t n_tb = (e->n + WK_MLA_EXP_TOKS - 1) / WK_MLA_EXP_TOKS;
    for (j.h0 = 0; j.h0 < e->n_head && !wk_mm_cancelled(mm); j.h0 += j.nh) {
        j.nh = WK_MIN(hb, e->n_head - j.h0);
        wk_mm_parallel(mm, keys_part, &j);
        j.n_units = n_tb * j.nh;
        wk_mm_parallel(mm, attend_part, &j);
    }
}
