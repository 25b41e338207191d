// gemm.c — the GEMM layouts' portable half (gemm.h): sizes, the activation packer, and the
// scalar weight packer for every K format (the kernels themselves are per ISA).
#include "kernels/gemm.h"

#include "kernels/impl.h"

size_t wk_gemm_tile_bytes(int64_t K)
{
    return (size_t)(K / WK_QK_K) * sizeof(wk_gemm_wsb);
}

size_t wk_gemm_act_bytes(int64_t T, int64_t K)
{
    const size_t groups = (size_t)((T + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS);
    return groups * (size_t)(K / WK_QK_K) * sizeof(wk_gemm_asb);
}

void wk_gemm_pack_act(const void *q8k, size_t row_bytes, int64_t T, int64_t K, int64_t g0,
                      int64_t g1, void *act)
{
    const int64_t nsb = K / WK_QK_K;
    for (int64_t g = g0; g < g1; g++) {
        wk_gemm_asb *dst = (wk_gemm_asb *)act + g * nsb;
        for (int64_t b = 0; b < nsb; b++, dst++) {
            for (int t = 0; t < WK_GEMM_TOKS; t++) {
                const int64_t tok = g * WK_GEMM_TOKS + t;
                if (tok >= T) {
                    for (int k4 = 0; k4 < 64; k4++) { memset(dst->q[k4][t], 0, 4); }
                    for (int p = 0; p < 8; p++) { dst->bs[p][t] = 0; }
                    for (int p = 0; p < 4; p++) { dst->bs32[p][t] = 0; }
                    dst->d[t] = 0.0f;
                    continue;
                }
                const wk_block_q8_k *a =
                    (const wk_block_q8_k *)((const char *)q8k + (size_t)tok * row_bytes) + b;
                for (int k4 = 0; k4 < 64; k4++) { memcpy(dst->q[k4][t], a->qs + 4 * k4, 4); }
                for (int p = 0; p < 8; p++) {
                    dst->bs[p][t] = (int32_t)((uint32_t)(uint16_t)a->bsums[2 * p] |
                                              (uint32_t)(uint16_t)a->bsums[2 * p + 1] << 16);
                }
                for (int p = 0; p < 4; p++) {
                    const int lo = a->bsums[4 * p] + a->bsums[4 * p + 1];
                    const int hi = a->bsums[4 * p + 2] + a->bsums[4 * p + 3];
                    dst->bs32[p][t] = (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
                }
                dst->d[t] = a->d;
            }
        }
    }
}

size_t wk_gemm_act0_bytes(int64_t T, int64_t K)
{
    const size_t groups = (size_t)((T + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS);
    return groups * (size_t)(K / WK_QK) * sizeof(wk_gemm_asb0);
}

void wk_gemm_pack_act0(const void *q8, size_t row_bytes, int64_t T, int64_t K, int64_t g0,
                       int64_t g1, void *act)
{
    const int64_t nb = K / WK_QK;
    for (int64_t g = g0; g < g1; g++) {
        wk_gemm_asb0 *dst = (wk_gemm_asb0 *)act + g * nb;
        for (int64_t b = 0; b < nb; b++, dst++) {
            for (int t = 0; t < WK_GEMM_TOKS; t++) {
                const int64_t tok = g * WK_GEMM_TOKS + t;
                if (tok >= T) {
                    for (int k4 = 0; k4 < 8; k4++) { memset(dst->q[k4][t], 0, 4); }
                    dst->s[t] = 0;
                    dst->d[t] = 0.0f;
                    continue;
                }
                const wk_block_q8_0 *a =
                    (const wk_block_q8_0 *)((const char *)q8 + (size_t)tok * row_bytes) + b;
                int sum = 0;
                for (int k = 0; k < WK_QK; k++) { sum += a->qs[k]; }
                for (int k4 = 0; k4 < 8; k4++) { memcpy(dst->q[k4][t], a->qs + 4 * k4, 4); }
                dst->s[t] = sum;
                dst->d[t] = wk_fp16_to_f32(a->d);
            }
        }
    }
}

static bool has_min(int type)
{
    return type == WICK_DTYPE_Q2_K || type == WICK_DTYPE_Q4_K || type == WICK_DTYPE_Q5_K;
}

// What the signed formats' quants are packed with (gemm.h), 0 for the unsigned ones.
static int quant_offset(int type)
{
    return type == WICK_DTYPE_Q3_K ? 4 : type == WICK_DTYPE_Q6_K ? 32 : 0;
}

static int group_size(int type)
{
    return type == WICK_DTYPE_Q4_K || type == WICK_DTYPE_Q5_K ? 32 : 16;
}

// d (and dmin) of a K block: every format keeps them as fp16 at a fixed offset.
static void block_scales(int type, const void *blk, float *d, float *dmin)
{
    const wk_block_q2_k *q2 = blk;
    const wk_block_q3_k *q3 = blk;
    const wk_block_q4_k *q4 = blk;
    const wk_block_q5_k *q5 = blk;
    const wk_block_q6_k *q6 = blk;
    switch (type) {
    case WICK_DTYPE_Q2_K: *d = wk_fp16_to_f32(q2->d), *dmin = wk_fp16_to_f32(q2->dmin); break;
    case WICK_DTYPE_Q3_K: *d = wk_fp16_to_f32(q3->d), *dmin = 0.0f; break;
    case WICK_DTYPE_Q4_K: *d = wk_fp16_to_f32(q4->d), *dmin = wk_fp16_to_f32(q4->dmin); break;
    case WICK_DTYPE_Q5_K: *d = wk_fp16_to_f32(q5->d), *dmin = wk_fp16_to_f32(q5->dmin); break;
    default: *d = wk_fp16_to_f32(q6->d), *dmin = 0.0f; break;
    }
}

void wk_gemm_pack_ref(int type, const void *w, size_t w_stride, int n_rows, int64_t K, void *tile)
{
    const int64_t nsb = K / WK_QK_K;
    const size_t bb = wk_type(type)->bytes;
    const int gs = group_size(type), ng = WK_QK_K / gs, off = quant_offset(type);
    for (int64_t b = 0; b < nsb; b++) {
        wk_gemm_wsb *dst = (wk_gemm_wsb *)tile + b;
        memset(dst, 0, sizeof *dst);
        for (int r = 0; r < n_rows; r++) {
            const void *blk = (const char *)w + (size_t)r * w_stride + (size_t)b * bb;
            kunpacked u;
            wk_kunpack(type, blk, &u);
            for (int k = 0; k < WK_QK_K; k++) { dst->q[r][k] = (uint8_t)(u.q[k] + off); }
            for (int g = 0; g < ng; g++) { dst->sc[r][g] = u.sc[g]; }
            for (int p = 0; p < ng / 2; p++) {
                const int lo = has_min(type) ? u.mn[2 * p] : off * u.sc[2 * p];
                const int hi = has_min(type) ? u.mn[2 * p + 1] : off * u.sc[2 * p + 1];
                dst->mn[r][p] = (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
            }
            block_scales(type, blk, &dst->d[r], &dst->dmin[r]);
        }
    }
}
