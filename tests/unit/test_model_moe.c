// test_model_moe.c — expert routing (sigmoid/softmax, the selection-only bias, expert groups,
// ties, normalisation floor, scaling) and the grouping of a batch by expert.
#include <math.h>

#include "harness.h"
#include "model/moe.h"

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

static void test_sigmoid_bias(void)
{
    // Kimi-style: sigmoid, bias only for choosing, norm + scale 2.827.
    float logits[8] = {0.5f, 2.0f, -1.0f, 1.9f, 0.0f, -3.0f, 1.0f, 0.2f};
    float bias[8] = {0, 0, 0, 0, 0, 0, 0.5f, 0};
    wk_moe_router r = {.n_expert = 8,
                       .n_used = 2,
                       .n_group = 1,
                       .n_group_used = 1,
                       .gating = WK_GATING_SIGMOID,
                       .norm = true,
                       .scale = 2.827f,
                       .bias = bias};
    float scratch[32];
    CHECK(wk_moe_route_scratch(&r) <= 32);
    int32_t ids[2];
    float w[2];
    wk_moe_route(&r, logits, scratch, ids, w);
    // sel: 1 -> 0.881, 6 -> 0.731 + 0.5 = 1.231, 3 -> 0.870: the bias moves expert 6 first.
    CHECKF(ids[0] == 6 && ids[1] == 1, "ids %d %d", ids[0], ids[1]);
    float p6 = sigm(1.0f), p1 = sigm(2.0f);
    float s = p6 + p1;
    CHECKF(fabsf(w[0] - p6 / s * 2.827f) < 1e-6f && fabsf(w[1] - p1 / s * 2.827f) < 1e-6f,
           "w %g %g", w[0], w[1]);

    // Without norm and scale the weights are the bare probabilities (not the biased scores).
    r.norm = false;
    r.scale = 0;
    wk_moe_route(&r, logits, scratch, ids, w);
    CHECK(w[0] == p6 && w[1] == p1);

    // The floor: tiny probabilities divide by 6.103515625e-5, not by their sum.
    float low[8] = {-30, -31, -32, -33, -34, -35, -36, -37};
    r.norm = true;
    r.bias = NULL;
    wk_moe_route(&r, low, scratch, ids, w);
    CHECK(ids[0] == 0 && ids[1] == 1);
    CHECK(w[0] == sigm(-30.0f) / 6.103515625e-5f);
}

static void test_softmax_ties(void)
{
    float logits[6] = {1.0f, 3.0f, 3.0f, 0.0f, 3.0f, -1.0f};
    wk_moe_router r = {.n_expert = 6, .n_used = 3, .gating = WK_GATING_SOFTMAX, .norm = false};
    float scratch[32];
    int32_t ids[3];
    float w[3];
    wk_moe_route(&r, logits, scratch, ids, w);
    CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == 4); // ties: lowest id first
    double z = 0;
    for (int i = 0; i < 6; i++) { z += exp(logits[i] - 3.0); }
    CHECK(fabs(w[0] - 1.0 / z) < 1e-6 && w[0] == w[1] && w[1] == w[2]);

    int32_t top[4];
    float with_inf[4] = {-INFINITY, -INFINITY, 2.0f, -INFINITY};
    wk_moe_topk(with_inf, 4, 4, top);
    CHECK(top[0] == 2 && top[1] == 0 && top[2] == 1 && top[3] == 3);
    float with_nan[4] = {NAN, 1.0f, NAN, 1.0f};
    wk_moe_topk(with_nan, 4, 4, top);
    CHECK(top[0] == 1 && top[1] == 3 && top[2] == 0 && top[3] == 2);
    float ties[6] = {5, 7, 5, 7, 5, 7};
    int32_t t5[5];
    wk_moe_topk(ties, 6, 5, t5);
    CHECK(t5[0] == 1 && t5[1] == 3 && t5[2] == 5 && t5[3] == 0 && t5[4] == 2);
}

static void test_groups(void)
{
    // 8 experts in 4 groups of 2, keep 2 groups. Group scores (sum of both): g0 0.1+0.2,
    // g1 0.9+0.0, g2 0.5+0.5, g3 0.95+(-0.5). Best groups: g2 (1.0), g1 (0.9); g3 has the best
    // single expert (6) but loses.
    float sel_logits[8];
    float want_p[8] = {0.1f, 0.2f, 0.9f, 0.0f, 0.5f, 0.5f, 0.95f, -0.5f};
    // Softplus-free check: use sigmoid probabilities p and a bias making sel = want_p exactly.
    float bias[8];
    for (int i = 0; i < 8; i++) {
        sel_logits[i] = 0.0f; // p = 0.5 for all
        bias[i] = want_p[i] - 0.5f;
    }
    wk_moe_router r = {.n_expert = 8,
                       .n_used = 3,
                       .n_group = 4,
                       .n_group_used = 2,
                       .gating = WK_GATING_SIGMOID,
                       .norm = true,
                       .scale = 1.0f,
                       .bias = bias};
    float scratch[32];
    CHECK(wk_moe_route_scratch(&r) == 20);
    int32_t ids[3];
    float w[3];
    wk_moe_route(&r, sel_logits, scratch, ids, w);
    CHECKF(ids[0] == 2 && ids[1] == 4 && ids[2] == 5, "ids %d %d %d", ids[0], ids[1], ids[2]);
    CHECK(fabsf(w[0] - 1.0f / 3) < 1e-6f);

    // All groups kept: plain top-k.
    r.n_group_used = 4;
    wk_moe_route(&r, sel_logits, scratch, ids, w);
    CHECK(ids[0] == 6 && ids[1] == 2 && ids[2] == 4);
}

static void test_plan(void)
{
    // 4 tokens, 2 experts each, 5 experts.
    int32_t ids[8] = {3, 0, 0, 3, 4, 1, 3, 4};
    int64_t start[6];
    int32_t order[8];
    wk_moe_plan(5, 2, 4, ids, start, order);
    int64_t want_start[6] = {0, 2, 3, 3, 6, 8};
    for (int e = 0; e <= 5; e++) { CHECKF(start[e] == want_start[e], "start[%d]", e); }
    int32_t want_order[8] = {1, 2, 5, 0, 3, 6, 4, 7};
    for (int i = 0; i < 8; i++) { CHECKF(order[i] == want_order[i], "order[%d]=%d", i, order[i]); }
}

// --- the batch executor against a plain per-token loop
// ----------------------------------------------

enum { XE = 64, XF = 32, XX = 6, XU = 2, XT = 100 }; // n_embd, n_ff, experts, used, tokens

static uint32_t lcg = 777;
static float rnd(void)
{
    lcg = lcg * 1664525u + 1013904223u;
    return (float)((lcg >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static wk_tensor tensor_of(int type, const void *data, int64_t ne0, int64_t ne1, int64_t ne2)
{
    wk_tensor t;
    memset(&t, 0, sizeof t);
    t.type = type;
    t.n_dims = 3;
    t.ne[0] = ne0, t.ne[1] = ne1, t.ne[2] = ne2, t.ne[3] = 1;
    t.data = data;
    wk_row_bytes(type, ne0, &t.row_bytes);
    t.n_rows = ne1 * ne2;
    return t;
}

// One layer's routed experts for XT tokens, with expert 1 chosen by every token (more pairs than a
// tile holds), separate or fused gate/up, F32 or Q8_0 weights, 1 or 2 threads.
static void test_executor(void)
{
    static float gate[XX * XF * XE], up[XX * XF * XE], down[XX * XE * XF], fused[XX * 2 * XF * XE];
    static float h[XT * XE], w[XT * XU], y[XT * XE];
    static int32_t ids[XT * XU];
    static double ref[XT * XE];
    for (size_t i = 0; i < WK_ARRAY_LEN(gate); i++) { gate[i] = rnd() * 0.2f; }
    for (size_t i = 0; i < WK_ARRAY_LEN(up); i++) { up[i] = rnd() * 0.2f; }
    for (size_t i = 0; i < WK_ARRAY_LEN(down); i++) { down[i] = rnd() * 0.2f; }
    for (int e = 0; e < XX; e++) { // fused: per expert gate rows then up rows
        memcpy(fused + (size_t)e * 2 * XF * XE, gate + (size_t)e * XF * XE,
               sizeof(float) * XF * XE);
        memcpy(fused + (size_t)e * 2 * XF * XE + XF * XE, up + (size_t)e * XF * XE,
               sizeof(float) * XF * XE);
    }
    for (size_t i = 0; i < WK_ARRAY_LEN(h); i++) { h[i] = rnd(); }
    for (int t = 0; t < XT; t++) {
        ids[t * XU] = (t * 7 + 3) % XX == 1 ? 0 : (t * 7 + 3) % XX;
        ids[t * XU + 1] = 1;
        w[t * XU] = 0.25f + 0.5f * (rnd() + 1) / 2;
        w[t * XU + 1] = 1.0f - w[t * XU];
    }
    for (int t = 0; t < XT; t++) {
        for (int i = 0; i < XE; i++) { ref[t * XE + i] = 0; }
        for (int j = 0; j < XU; j++) {
            const int e = ids[t * XU + j];
            double act[XF];
            for (int r = 0; r < XF; r++) {
                double g = 0, u = 0;
                for (int k = 0; k < XE; k++) {
                    g += (double)gate[((size_t)e * XF + r) * XE + k] * h[t * XE + k];
                    u += (double)up[((size_t)e * XF + r) * XE + k] * h[t * XE + k];
                }
                act[r] = g / (1 + exp(-g)) * u;
            }
            for (int i = 0; i < XE; i++) {
                double d = 0;
                for (int r = 0; r < XF; r++) {
                    d += (double)down[((size_t)e * XE + i) * XF + r] * act[r];
                }
                ref[t * XE + i] += w[t * XU + j] * d;
            }
        }
    }

    const wk_kernels *kern = wk_kernels_get();
    static uint8_t qg[XX * XF * XE * 2], qu[XX * XF * XE * 2], qd[XX * XE * XF * 2];
    kern->from_float[WICK_DTYPE_Q8_0](gate, qg, (int64_t)WK_ARRAY_LEN(gate));
    kern->from_float[WICK_DTYPE_Q8_0](up, qu, (int64_t)WK_ARRAY_LEN(up));
    kern->from_float[WICK_DTYPE_Q8_0](down, qd, (int64_t)WK_ARRAY_LEN(down));

    wk_pool *pool = NULL;
    CHECK_OK(wk_pool_global(2, &pool));
    if (!pool) { return; }
    for (int variant = 0; variant < 6; variant++) {
        const int nth = variant % 2 ? 2 : 1;
        const bool fuse = variant / 2 == 1, q8 = variant / 2 == 2;
        wk_tensor tg = tensor_of(WICK_DTYPE_F32, gate, XE, XF, XX);
        wk_tensor tu = tensor_of(WICK_DTYPE_F32, up, XE, XF, XX);
        wk_tensor td = tensor_of(WICK_DTYPE_F32, down, XF, XE, XX);
        wk_tensor tf = tensor_of(WICK_DTYPE_F32, fused, XE, 2 * XF, XX);
        if (q8) {
            tg = tensor_of(WICK_DTYPE_Q8_0, qg, XE, XF, XX);
            tu = tensor_of(WICK_DTYPE_Q8_0, qu, XE, XF, XX);
            td = tensor_of(WICK_DTYPE_Q8_0, qd, XF, XE, XX);
        }
        wk_moe_ffn f = {.down = &td, .n_ff = XF, .n_embd = XE, .n_expert = XX};
        if (fuse) {
            f.gate = f.up = &tf;
            f.up_row0 = XF;
            f.gu_stride = 2 * XF;
        } else {
            f.gate = &tg;
            f.up = &tu;
            f.gu_stride = XF;
        }
        wk_mm mm;
        CHECK_OK(wk_mm_init(&mm, pool, nth, 1, 1));
        wk_moe_buf b;
        CHECK_OK(wk_moe_buf_init(&b, XT, XU, XE, XF, XX, sizeof(float) * XE, sizeof(float) * XF));
        wk_moe_ffn_run(&mm, &f, &b, h, XT, XU, ids, w, y);
        double worst = 0, scale = 0;
        for (int i = 0; i < XT * XE; i++) {
            worst = fmax(worst, fabs(y[i] - ref[i]));
            scale = fmax(scale, fabs(ref[i]));
        }
        const double tol = q8 ? 2e-2 * scale : 1e-5 * scale;
        printf("  executor %s%s, %d thread(s): max |diff| %.3g (max |y| %.3g)\n",
               q8 ? "Q8_0" : "F32", fuse ? " fused" : "", nth, worst, scale);
        CHECKF(worst <= tol, "variant %d: %g > %g", variant, worst, tol);
        CHECK(b.start[2] - b.start[1] == XT); // every token chose expert 1
        wk_moe_buf_free(&b);
        wk_mm_free(&mm);
    }
}

int main(void)
{
    test_sigmoid_bias();
    test_softmax_ties();
    test_groups();
    test_plan();
    test_executor();
    return test_summary("model_moe");
}
