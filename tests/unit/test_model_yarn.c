// test_model_yarn.c — deepseek2's YaRN numbers: the Kimi K2 values of Kimi K2's config.json
// (attention factor, mscale, kq_scale, correction range).
#include <math.h>

#include "harness.h"
#include "model/yarn.h"

static bool near(double a, double b, double tol) { return fabs(a - b) <= tol; }

static void test_kimi_numbers(void)
{
    // Kimi K2: factor 32, original context 4096, mscale = mscale_all_dim = 1 (GGUF
    // yarn_log_multiplier 0.1 -> 1.0), base 50000, n_rot 64, key_length_mla 192.
    wk_yarn_scales ys;
    wk_deepseek2_yarn_scales(true, 32.0f, 0.1f / 0.1f, 1.0f, 192, &ys);
    CHECKF(near(ys.attn_factor, 0.742625, 1e-6), "attn_factor %.9g", ys.attn_factor);
    CHECKF(near(ys.mscale, 1.346574, 1e-6), "mscale %.9g", ys.mscale);
    // (1 + 0.1 ln 32)^2 / sqrt(192) = 0.13086080; the spec prints 0.1308606.
    CHECKF(near(ys.kq_scale, 0.1308606, 5e-7), "kq_scale %.9g", ys.kq_scale);
    CHECK(near(ys.kq_scale, 1.813261 / sqrt(192.0), 1e-6));

    float dims[2];
    wk_yarn_corr_dims(64, 4096, 50000.0f, 32.0f, 1.0f, dims);
    CHECKF(dims[0] == 8.0f && dims[1] == 20.0f, "[lo,hi] = [%g,%g]", dims[0], dims[1]);
    // The file's beta_fast = beta_slow = 1 would give another range: llama.cpp ignores them.
    wk_yarn_corr_dims(64, 4096, 50000.0f, 1.0f, 1.0f, dims);
    CHECK(dims[0] == 19.0f && dims[1] == 20.0f);

    // The rope kernel's magnitude attn_factor * (1 + 0.1 ln 32) is 1.
    wk_yarn_scales k2;
    wk_deepseek2_yarn_scales(true, 32.0f, 1.0f, 1.0f, 192, &k2);
    CHECK(near(k2.attn_factor * (1.0f + 0.1f * logf(32.0f)), 1.0, 1e-7));

    // Without YaRN (DeepSeek-V2 style file without scaling): 1/sqrt(head_k).
    wk_deepseek2_yarn_scales(false, 1.0f, 0.0f, 1.0f, 192, &ys);
    CHECK(near(ys.kq_scale, 1.0 / sqrt(192.0), 1e-7) && ys.attn_factor == 1.0f);
}

int main(void)
{
    test_kimi_numbers();
    return test_summary("model_yarn");
}
