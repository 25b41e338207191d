// attn.c — causal grouped-query attention over the KV cache (see wk_attention in model.h).
//
// Like ggml's non-flash path (ggml's soft_max_ext and mul_mat): scores s = K·q with float32 dots
// (an fp16 cache: q is rounded to fp16 and the dot runs on fp16 pairs with float32 sums),
// softmax(kq_scale · s) with a causal mask, then out = Σ_j p_j · v_j (an fp16 cache: p_j rounded
// to fp16 first, as ggml converts the probabilities to the V cache's type).
// Work: the T × n_head_kv (token, kv head) pairs are split into contiguous ranges of equal cost,
// one per part; a pair handles the n_rep query heads that share the kv head, so every K and V row
// is read once for the group (with an f32 cache, the scores of four heads against four positions
// come from one dot_f32_4x4 call; with fp16, of four heads against one from vec_dot_4act).
#include <math.h>

#include "model/model.h"

int64_t wk_attn_scratch(int64_t n_ctx, int64_t n_rep, int64_t head_dim_k, int64_t head_dim_v)
{
    // per thread: scores[n_rep][n_ctx] | q as fp16 [n_rep][head_dim_k] | acc[n_rep][head_dim_v]
    return n_rep * (n_ctx + head_dim_k + head_dim_v) + 16;
}

enum { ATTN_TOKS = 16 }; // tokens per block of the work loop (attn_part)

typedef struct attn_job {
    wk_attn_args *a;
    const wk_kernels *kern;
    const wk_mm *mm;
} attn_job;

// The position of token t of the pass.
static inline int64_t pos_of(const wk_attn_args *a, int64_t t)
{
    return a->tok_pos ? a->tok_pos[t] : a->pos0 + t;
}

// The n_rep query heads of kv head g for token t: each K and V row is read once for all of them.
static void attend_group(const wk_attn_args *a, const wk_kernels *kern, int64_t t, int64_t g,
                         float *scratch)
{
    const wk_kv *kv = a->kv;
    const int64_t hk = a->head_dim_k, hv = a->head_dim_v, n_ctx = kv->n_ctx;
    const int64_t n_rep = a->n_head / a->n_head_kv;
    const int seq = a->tok_seq ? a->tok_seq[t] : a->seq;
    const int64_t n_kv = pos_of(a, t) + 1; // causal: positions 0 .. the token's
    const float *q = a->q + t * a->q_stride + g * n_rep * hk; // the group's heads, contiguous
    float *s = scratch; // s[r * n_ctx + j]
    uint16_t *q16 = (uint16_t *)(scratch + n_rep * n_ctx); // n_rep * hk halves
    float *acc = scratch + n_rep * (n_ctx + hk); // acc[r * hv + d]
    const bool f16 = kv->type == WK_KV_F16;
    const int dt = f16 ? WICK_DTYPE_F16 : WICK_DTYPE_F32;
    const void *qa = q;
    size_t q_row = (size_t)hk * sizeof(float);
    if (f16) {
        for (int64_t r = 0; r < n_rep; r++) {
            kern->from_float[WICK_DTYPE_F16](q + r * hk, q16 + r * hk, hk);
        }
        qa = q16;
        q_row = (size_t)hk * sizeof(uint16_t);
    }

    // s[r][j] = kq_scale · (q_r · k_j); an f32 cache: four heads against four positions per call
    int64_t j0 = 0;
    if (!f16 && n_rep % 4 == 0) {
        for (; j0 + 4 <= n_kv; j0 += 4) {
            const float *kr =
                (const float *)wk_kv_row(kv, kv->k, a->il, seq, j0, kv->k_row) + g * hk;
            for (int64_t r = 0; r < n_rep; r += 4) {
                float *sr = s + r * n_ctx + j0;
                kern->dot_f32_4x4(hk, q + r * hk, hk, kr, kv->k_row, sr, n_ctx);
                for (int i = 0; i < 4; i++) {
                    for (int k = 0; k < 4; k++) { sr[i * n_ctx + k] *= a->kq_scale; }
                }
            }
        }
    }
    for (int64_t j = j0; j < n_kv; j++) {
        const char *kr = (const char *)wk_kv_row(kv, kv->k, a->il, seq, j, kv->k_row) +
                         (size_t)(g * hk) * kv->elt;
        int64_t r = 0;
        for (; r + 4 <= n_rep; r += 4) {
            float d4[4];
            kern->vec_dot_4act[dt](hk, d4, kr, (const char *)qa + (size_t)r * q_row, q_row);
            for (int k = 0; k < 4; k++) { s[(r + k) * n_ctx + j] = d4[k] * a->kq_scale; }
        }
        for (; r < n_rep; r++) {
            float d;
            kern->vec_dot[dt](hk, &d, kr, (const char *)qa + (size_t)r * q_row);
            s[r * n_ctx + j] = d * a->kq_scale;
        }
    }
    for (int64_t r = 0; r < n_rep; r++) {
        wk_softmax(s + r * n_ctx, n_kv);
        if (f16) { // ggml converts the probabilities to the V cache's type
            for (int64_t j = 0; j < n_kv; j++) {
                s[r * n_ctx + j] = wk_fp16_to_f32(wk_f32_to_fp16(s[r * n_ctx + j]));
            }
        }
    }

    // out_r = Σ_j p_r[j] · v_j, four cached rows at a time for all n_rep heads (accum_rows: each
    // accumulator is loaded and stored once per four rows); an fp16 cache's rows as floats first
    for (int64_t i = 0; i < n_rep * hv; i++) { acc[i] = 0.0f; }
    enum { VCHUNK = 512 };
    float vrow[4 * VCHUNK];
    const size_t v_stride = (size_t)kv->v_row * kv->elt; // bytes from one position to the next
    for (int64_t j = 0; j < n_kv; j += 4) {
        const int nr = (int)(n_kv - j < 4 ? n_kv - j : 4);
        const char *vr0 = (const char *)wk_kv_row(kv, kv->v, a->il, seq, j, kv->v_row) +
                          (size_t)(g * hv) * kv->elt;
        if (!f16) {
            kern->accum_rows(acc, hv, s + j, n_ctx, (const float *)vr0, kv->v_row, nr, (int)n_rep,
                             hv);
            continue;
        }
        for (int64_t d0 = 0; d0 < hv; d0 += VCHUNK) {
            const int64_t nd = hv - d0 < VCHUNK ? hv - d0 : VCHUNK;
            for (int i = 0; i < nr; i++) {
                kern->to_float[WICK_DTYPE_F16]((const uint16_t *)(vr0 + i * v_stride) + d0,
                                               vrow + i * nd, nd);
            }
            kern->accum_rows(acc + d0, hv, s + j, n_ctx, vrow, nd, nr, (int)n_rep, nd);
        }
    }
    for (int64_t r = 0; r < n_rep; r++) {
        memcpy(a->out + t * a->n_head * hv + (g * n_rep + r) * hv, acc + r * hv,
               (size_t)hv * sizeof(float));
    }
}

// The first (token, kv head) pair of part k of nth: causal, the pairs of token t read its
// position + 1 positions, so the parts take equal sums of that cost rather than equal counts of
// pairs (every output is computed the same way with any split).
static int64_t part_start(const wk_attn_args *a, int k, int nth)
{
    const int64_t n = a->T * a->n_head_kv;
    if (k <= 0) { return 0; }
    if (k >= nth) { return n; }
    int64_t total = a->n_head_kv * (a->T * a->pos0 + a->T * (a->T + 1) / 2);
    if (a->tok_pos) {
        total = 0;
        for (int64_t t = 0; t < a->T; t++) { total += a->n_head_kv * (a->tok_pos[t] + 1); }
    }
    int64_t c = 0, i = 0;
    for (; i < n && c * nth < total * k; i++) { c += pos_of(a, i / a->n_head_kv) + 1; }
    return i;
}

static void attn_part(void *ctx, int ith, int nth)
{
    attn_job *j = ctx;
    wk_attn_args *a = j->a;
    const int64_t i0 = part_start(a, ith, nth), i1 = part_start(a, ith + 1, nth);
    float *scratch = a->scratch + (size_t)ith * (size_t)a->scratch_per_thread;
    // blocks of ATTN_TOKS tokens, kv head by kv head: the head's cached K and V columns (strided
    // rows of the cache) are read from L2 by the block's tokens rather than from L3 by each
    const int64_t nkv = a->n_head_kv;
    for (int64_t tb = i0 / nkv; tb * nkv < i1 && !wk_mm_cancelled(j->mm); tb += ATTN_TOKS) {
        for (int64_t g = 0; g < nkv; g++) {
            for (int64_t t = tb; t < tb + ATTN_TOKS && t < a->T; t++) {
                const int64_t i = t * nkv + g;
                if (i >= i0 && i < i1) { attend_group(a, j->kern, t, g, scratch); }
            }
        }
    }
}

void wk_attention(wk_mm *mm, wk_attn_args *a)
{
    attn_job j = {a, mm->kern, mm};
    wk_mm_parallel(mm, attn_part, &j);
}
