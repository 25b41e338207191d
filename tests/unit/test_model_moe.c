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

int main(void)
{
    test_sigmoid_bias();
    test_softmax_ties();
    test_groups();
    test_plan();
    return test_summary("model_moe");
}
