// pass_logits.h — for the tests that compare two ways of computing one model's forward passes
// bit for bit (test_model_repack: repacked vs file layout; test_model_gemm: GEMM vs vec_dot):
// the logits of every position of a fixed series of passes, and a count of the differing ones.
#ifndef WICK_TEST_PASS_LOGITS_H
#define WICK_TEST_PASS_LOGITS_H

#include "harness.h"

enum { TEST_PASS_PROMPT = 40 }; // the prompt's length; also the session's n_batch

// A session of n_threads threads on m (n_ctx 64, n_batch 40, logits of every position) runs
// n_passes passes, pass p the len[p] tokens at from[p] of the prompt (i * 7919 + 13) % n_vocab
// (from[p] + len[p] <= 40). Returns their logits one position after the other (Σ len[p] rows of
// n_vocab, malloc'd), NULL when the session cannot be made (a failed check).
static inline float *test_pass_logits(wick_model *m, int n_threads, const int *from,
                                      const int *len, int n_passes)
{
    const int64_t nv = wick_model_n_vocab(m);
    wick_session_opts o;
    wick_session_opts_init(&o);
    o.n_ctx = 64;
    o.n_batch = TEST_PASS_PROMPT;
    o.n_threads = n_threads;
    o.logits_all = true;
    wick_session *s = NULL;
    CHECK_OK(wick_session_create(m, &o, &s));
    if (!s) { return NULL; }
    int32_t toks[TEST_PASS_PROMPT];
    for (int i = 0; i < TEST_PASS_PROMPT; i++) { toks[i] = (int32_t)((i * 7919 + 13) % nv); }
    size_t rows = 0;
    for (int p = 0; p < n_passes; p++) { rows += (size_t)len[p]; }
    float *out = malloc(sizeof(float) * (size_t)nv * rows);
    float *o_row = out;
    for (int p = 0; out && p < n_passes; p++) {
        CHECK_OK(wick_session_eval(s, toks + from[p], len[p]));
        for (int i = 0; i < len[p]; i++, o_row += nv) {
            memcpy(o_row, wick_session_logits(s, i), sizeof(float) * (size_t)nv);
        }
    }
    wick_session_destroy(s);
    return out;
}

// How many of the n floats of a and b differ in their bits.
static inline size_t test_count_bit_diffs(const float *a, const float *b, size_t n)
{
    size_t n_diff = 0;
    for (size_t j = 0; j < n; j++) { n_diff += memcmp(&a[j], &b[j], sizeof(float)) != 0; }
    return n_diff;
}

#endif
