// test_kernels_gemm0.c — (1) the K formats' packers from rows interleaved by four (gemm_pack_il):
// the same tile bytes as gemm_pack of the rows in file order, for 4 .. 16 random rows, and
// gemm_pack's the same as the scalar wk_gemm_pack_ref's.
// (2) the legacy formats' GEMM (gemm.h: gemm0, Q4_0 / Q5_0 / Q8_0 against
// Q8_0 activations) bit for bit against the scalar vec_dot (ref.c) of every row and token: random
// blocks (every quant and high bit, d of both signs), rows of 32, 128 and the longest the kernel
// takes, 1 .. 16 rows (the micro-kernel's four-row steps and their edges) at a stride that is not
// a multiple of the block, 1 .. 50 tokens (one, two and three 16-token vectors per pass and the
// tails); outputs past the rows and tokens are never written. Each part runs where the path has
// the kernel (AVX2 and AVX-512 / AVX-512 VNNI); skipped where it has neither.
#include "harness.h"
#include "kernels/blocks.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static float rndf(void) { return (float)(rnd() >> 40) / (float)(1u << 23) - 1.0f; } // [-1, 1)

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// Random bytes for a block, then a finite d (fp16 of a random value of either sign).
static void rnd_block(int type, uint8_t *blk)
{
    const size_t bb = wk_type(type)->bytes;
    for (size_t i = 0; i < bb; i++) { blk[i] = (uint8_t)rnd(); }
    const uint16_t d = wk_f32_to_fp16(rndf() * 0.05f);
    memcpy(blk, &d, 2); // d first in Q4_0, Q5_0 and Q8_0
}

static int check(const wk_kernels *k, const wk_kernels *ref, int type, int n_rows, int64_t K,
                 int64_t T)
{
    const size_t bb = wk_type(type)->bytes, stride = (size_t)(K / WK_QK) * bb + 6;
    const size_t arb = (size_t)(K / WK_QK) * sizeof(wk_block_q8_0);
    const int R = n_rows + 3; // output columns: the last three must stay untouched
    const int64_t T_out = T + 2;
    uint8_t *w = malloc((size_t)n_rows * stride), *a = malloc((size_t)T * arb);
    float *x = malloc(sizeof(float) * (size_t)K), *y = malloc(sizeof(float) * (size_t)(T_out * R));
    void *act = malloc(wk_gemm_act0_bytes(T, K));
    for (int r = 0; r < n_rows; r++) {
        for (int64_t b = 0; b < K / WK_QK; b++) { rnd_block(type, w + r * stride + b * bb); }
    }
    for (int64_t t = 0; t < T; t++) {
        const float scale = t % 3 == 0 ? 1e-3f : t % 3 == 1 ? 50.0f : 1.0f;
        for (int64_t i = 0; i < K; i++) { x[i] = t == 1 ? 0.0f : rndf() * scale; }
        ref->from_float[WICK_DTYPE_Q8_0](x, a + t * arb, K);
    }
    const int64_t groups = (T + WK_GEMM_TOKS - 1) / WK_GEMM_TOKS;
    // two calls for the groups when there are several: the packer's ranges
    wk_gemm_pack_act0(a, arb, T, K, 0, 1, act);
    wk_gemm_pack_act0(a, arb, T, K, 1, groups, act);
    for (int64_t i = 0; i < T_out * R; i++) { y[i] = -1234.5f; }
    k->gemm0[type](w, stride, n_rows, K, act, T, y, R);
    int n_bad = 0;
    for (int64_t t = 0; t < T_out; t++) {
        for (int r = 0; r < R; r++) {
            float s = -1234.5f;
            if (t < T && r < n_rows) { ref->vec_dot[type](K, &s, w + r * stride, a + t * arb); }
            if (fbits(y[t * R + r]) != fbits(s) && n_bad++ < 3) {
                fprintf(stderr, "gemm0 %s rows %d K %lld T %lld: token %lld row %d: %.9g vs "
                        "ref %.9g\n", wk_type(type)->name, n_rows, (long long)K, (long long)T,
                        (long long)t, r, y[t * R + r], s);
            }
        }
    }
    free(w);
    free(a);
    free(x);
    free(y);
    free(act);
    return n_bad;
}

// gemm_pack_il of type against gemm_pack: n_rows random rows of K, interleaved by wk_interleave4;
// gemm_pack of n_rows and of n_rows - 1 rows against the scalar wk_gemm_pack_ref, byte for byte
// (a tile pre-filled with zeros, as the scalar packer leaves the fields the type has no use for).
static void check_pack_il(const wk_kernels *k, int type)
{
    const int64_t K = 1024;
    const size_t bb = wk_type(type)->bytes, rb = (size_t)(K / 256) * bb, tb = wk_gemm_tile_bytes(K);
    uint8_t *w = malloc(16 * rb), *il = malloc(16 * rb);
    uint8_t *t0 = malloc(tb), *t1 = malloc(tb), *t2 = malloc(tb);
    int n_bad = 0, n_bad_ref = 0;
    for (int n_rows = 4; n_rows <= 16; n_rows += 4) {
        for (size_t i = 0; i < (size_t)n_rows * rb; i++) { w[i] = (uint8_t)rnd(); }
        for (int r = 0; r < n_rows; r++) { // finite d / dmin (the first fp16 pair of K blocks)
            for (int64_t b = 0; b < K / 256; b++) {
                uint8_t *blk = w + r * rb + b * bb;
                const uint16_t d = wk_f32_to_fp16(rndf() * 0.01f);
                memcpy(type == WICK_DTYPE_Q6_K ? blk + bb - 2 : blk, &d, 2);
                if (type != WICK_DTYPE_Q6_K) { memcpy(blk + 2, &d, 2); }
            }
        }
        wk_interleave4(il, w, n_rows, rb, bb);
        // the same filler under both: a full tile leaves the fields its type has no use for
        memset(t0, 0x5a, tb);
        memset(t1, 0x5a, tb);
        k->gemm_pack[type](w, rb, n_rows, K, t0);
        k->gemm_pack_il[type](il, rb, n_rows, K, t1);
        n_bad += memcmp(t0, t1, tb) != 0;
        for (int n = n_rows - 1; n <= n_rows; n++) {
            memset(t0, 0, tb);
            k->gemm_pack[type](w, rb, n, K, t0);
            wk_gemm_pack_ref(type, w, rb, n, K, t2);
            n_bad_ref += memcmp(t0, t2, tb) != 0;
        }
    }
    CHECKF(n_bad == 0, "%s gemm_pack_il %s: %d of 4 tiles differ from gemm_pack's", k->name,
           wk_type(type)->name, n_bad);
    CHECKF(n_bad_ref == 0, "%s gemm_pack %s: %d of 8 tiles differ from wk_gemm_pack_ref's",
           k->name, wk_type(type)->name, n_bad_ref);
    free(w);
    free(il);
    free(t0);
    free(t1);
    free(t2);
}

int main(void)
{
    const wk_kernels *k = wk_kernels_get(), *ref = wk_kernels_named("scalar");
    if (!k->gemm_pack_il[WICK_DTYPE_Q4_K] && !k->gemm0[WICK_DTYPE_Q5_0]) {
        printf("kernels_gemm0: kernel path %s has neither gemm_pack_il nor gemm0: skipped\n",
               k->name);
        return TEST_SKIPPED;
    }
    static const int kq[] = {WICK_DTYPE_Q4_K, WICK_DTYPE_Q5_K, WICK_DTYPE_Q6_K};
    for (size_t i = 0; i < WK_ARRAY_LEN(kq); i++) {
        if (k->gemm_pack_il[kq[i]]) { check_pack_il(k, kq[i]); }
    }
    if (!k->gemm0[WICK_DTYPE_Q5_0]) {
        printf("kernels_gemm0: kernel path %s has no gemm0\n", k->name);
        return test_summary("kernels_gemm0");
    }
    static const int types[] = {WICK_DTYPE_Q4_0, WICK_DTYPE_Q5_0, WICK_DTYPE_Q8_0};
    static const int rows[] = {16, 13, 4, 1};
    static const int64_t ks[] = {32, 128, WK_GEMM0_MAX_K};
    static const int64_t toks[] = {1, 16, 37, 50};
    for (size_t ti = 0; ti < WK_ARRAY_LEN(types); ti++) {
        int n_bad = 0, n_cases = 0;
        for (size_t ri = 0; ri < WK_ARRAY_LEN(rows); ri++) {
            for (size_t ki = 0; ki < WK_ARRAY_LEN(ks); ki++) {
                for (size_t tk = 0; tk < WK_ARRAY_LEN(toks); tk++) {
                    n_bad += check(k, ref, types[ti], rows[ri], ks[ki], toks[tk]);
                    n_cases++;
                }
            }
        }
        CHECKF(n_bad == 0, "gemm0 %s: %d outputs differ from the scalar vec_dot (%d cases)",
               wk_type(types[ti])->name, n_bad, n_cases);
    }
    return test_summary("kernels_gemm0");
}
