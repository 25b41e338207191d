// test_model_gemm.c — the K formats' int8 GEMM inside whole forward passes: every logit of a
// 40-token prompt (then 17 more tokens: a tail group of the GEMM, which repacked weights take from
// 16 tokens on) is bit-identical with the GEMM (default) and without it (WICK_GEMM=0: vec_dot per
// output), for dense models and the MoE one, at 1 and 2 threads. The kernels give the same bits as
// vec_dot (test_kernels); this checks the matmul and expert drivers around them (tiles, token
// groups, experts' slot ranges). Runs where the kernel path has the GEMM (AVX2 and AVX-512;
// WICK_CPU=avx2 runs the AVX2 one); on the scalar path it says so and passes.
#include "pass_logits.h"
#include "kernels/kernels.h"

static float *run(const char *path, int n_threads, bool gemm, int64_t *n_vocab)
{
    if (gemm) {
        unsetenv("WICK_GEMM");
    } else {
        setenv("WICK_GEMM", "0", 1);
    }
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(path, NULL, &m));
    if (!m) { return NULL; }
    *n_vocab = wick_model_n_vocab(m);
    static const int from[] = {0, 3}, len[] = {40, 17}; // the prompt, then a tail group
    float *out = test_pass_logits(m, n_threads, from, len, 2);
    wick_model_close(m);
    unsetenv("WICK_GEMM");
    return out;
}

int main(void)
{
    wick_log_set_level(WICK_LOG_WARN);
    const wk_kernels *k = wk_kernels_get();
    if (!k->gemm[WICK_DTYPE_Q4_K]) {
        printf("model_gemm: kernel path %s has no GEMM: skipped\n", k->name);
        return TEST_SKIPPED;
    }
    static const char *const models[] = {"llama-Q4_K_M", "phi3-Q4_K_M", "phi3-Q3_K_M",
                                         "deepseek2-Q4_K_M", "deepseek2-Q6_K", "deepseek2-Q2_K"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        char rel[96];
        snprintf(rel, sizeof rel, "models/%s.gguf", models[i]);
        for (int nth = 1; nth <= 2; nth++) {
            int64_t nv = 0, nv2 = 0;
            float *a = run(test_data(rel), nth, true, &nv),
                  *b = run(test_data(rel), nth, false, &nv2);
            if (a && b) {
                const size_t n_diff = test_count_bit_diffs(a, b, (size_t)nv * 57);
                CHECKF(n_diff == 0, "%s, %d thread(s): %zu of %zu logits differ with and without "
                       "the GEMM", models[i], nth, n_diff, (size_t)nv * 57);
            }
            free(a);
            free(b);
        }
    }
    return test_summary("model_gemm");
}
