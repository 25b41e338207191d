// test_model_repack.c — weights repacked at load (rows interleaved by four, src/model/repack.c)
// give the same logits, bit for bit, as the file's layout (wick_model_opts.repack false): a
// 40-token prompt (the GEMM, where the path has it, on rows put back in file order), 9 more tokens
// (a tail group), then 3 single tokens (decode: vec_dot_4il), at 1 and 2 threads, also with the
// GEMM off (every token count through vec_dot_4il), for dense models and the MoE one, K formats and
// the legacy Q8_0, Q4_0, Q5_0 (whose every token count goes through vec_dot_4il when repacked).
// Also: a repacked model holds its interleaved copies, the MoE's experts included (and repack false
// none, as WICK_REPACK=0 with repack true); on the scalar path nothing is repacked.
#include "pass_logits.h"
#include "kernels/kernels.h"
#include "model/deepseek2.h"

enum { N_POS = 40 + 9 + 3 };

static float *run(const char *path, int n_threads, bool repack, bool gemm, int64_t *n_vocab,
                  bool *repacked)
{
    if (gemm) {
        unsetenv("WICK_GEMM");
    } else {
        setenv("WICK_GEMM", "0", 1);
    }
    wick_model *m = NULL;
    wick_model_opts mo;
    wick_model_opts_init(&mo);
    mo.repack = repack;
    CHECK_OK(wick_model_open(path, repack ? NULL : &mo, &m)); // NULL: the defaults repack
    if (!m) {
        unsetenv("WICK_GEMM");
        return NULL;
    }
    *repacked = m->repacked != NULL;
    if (!strcmp(wick_model_arch(m), "deepseek2")) { // the MoE layer's experts too
        const wk_ds2_layer *L = &wk_ds2_of(m)->layers[m->hp.n_layer - 1];
        *repacked = *repacked && (L->ffn_gate_exps.il4 || L->ffn_gate_up_exps.il4);
    }
    *n_vocab = wick_model_n_vocab(m);
    // the prompt, 9 more tokens, 3 single tokens
    static const int from[] = {0, 3, 20, 21, 22}, len[] = {40, 9, 1, 1, 1};
    float *out = test_pass_logits(m, n_threads, from, len, 5);
    unsetenv("WICK_GEMM");
    wick_model_close(m);
    return out;
}

// With an argument: that model file instead of the fixtures (by hand, e.g. wick-mkmodel's
// --preset kimi file, whose experts' down projections are K formats: the fixtures' are Q8_0).
int main(int argc, char **argv)
{
    wick_log_set_level(WICK_LOG_WARN);
    const bool scalar = strcmp(wk_kernels_get()->name, "scalar") == 0;
    static const char *const fixtures[] = {"llama-Q4_K_M", "phi3-Q4_K_M", "deepseek2-Q4_K_M",
                                           "deepseek2-Q6_K", "llama-Q8_0", "phi3-Q4_0",
                                           "phi3-Q5_0", "deepseek2-Q2_K", "phi3-Q3_K_M"};
    const char *const *models = argc > 1 ? (const char *const *)argv + 1 : fixtures;
    const size_t n_models = argc > 1 ? (size_t)argc - 1 : sizeof fixtures / sizeof *fixtures;
    for (size_t i = 0; i < n_models; i++) {
        char rel[96];
        snprintf(rel, sizeof rel, "models/%s.gguf", models[i]);
        const char *path = argc > 1 ? models[i] : test_data(rel);
        for (int v = 0; v < 3; v++) { // 1 thread, 2 threads, 2 threads without the GEMM
            const int nth = v == 0 ? 1 : 2;
            const bool gemm = v < 2;
            int64_t nv = 0, nv2 = 0;
            bool ra = false, rb = true;
            float *a = run(path, nth, true, gemm, &nv, &ra);
            float *b = run(path, nth, false, gemm, &nv2, &rb);
            CHECKF(ra == !scalar, "%s: repacked %d on path %s", models[i], ra,
                   wk_kernels_get()->name);
            CHECKF(!rb, "%s: repacked with wick_model_opts.repack false", models[i]);
            if (a && b) {
                const size_t n_diff = test_count_bit_diffs(a, b, (size_t)nv * N_POS);
                CHECKF(n_diff == 0, "%s, %d thread(s)%s: %zu of %zu logits differ with and "
                       "without repacking", models[i], nth, gemm ? "" : ", no GEMM", n_diff,
                       (size_t)nv * N_POS);
            }
            free(a);
            free(b);
        }
    }
    // the environment's WICK_REPACK=0 wins over the options
    wick_model_opts mo;
    wick_model_opts_init(&mo);
    CHECKF(mo.repack, "wick_model_opts_init: repack %d, expected true", mo.repack);
    setenv("WICK_REPACK", "0", 1);
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(test_data("models/phi3-Q4_K_M.gguf"), &mo, &m));
    unsetenv("WICK_REPACK");
    CHECKF(m && !m->repacked, "WICK_REPACK=0: the model was repacked");
    wick_model_close(m);
    return test_summary("model_repack");
}
