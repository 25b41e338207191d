// test_dist_pipeline.c — pipeline parallel over MPI ranks against one process (run by mpirun, see
// CMakeLists.txt): every rank opens MODEL; rank 0 also keeps a single-process session of it and
// compares the logits after each step bit for bit: a prompt split into several passes, greedy
// decode steps, a truncation and a re-evaluation, logits of every position; then the same with
// the split given explicitly (all layers on the last rank).
//   mpirun -np N test_dist_pipeline MODEL.gguf
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wick.h"

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++) { b = x[i] > x[b] ? i : b; }
    return b;
}

// Same logits rows (bits) in both sessions after the same eval.
static void same(const char *what, wick_session *ref, wick_session *pip, int n_vocab, int64_t rows)
{
    for (int64_t i = 0; i < rows; i++) {
        int64_t row = rows == 1 ? -1 : i; // the last one: without logits_all only -1 names it
        const float *a = wick_session_logits(ref, row), *b = wick_session_logits(pip, row);
        float md = 0;
        for (int k = 0; a && b && k < n_vocab; k++) { md = fabsf(a[k] - b[k]) > md ? fabsf(a[k] - b[k]) : md; }
        CHECKF(a && b && memcmp(a, b, (size_t)n_vocab * sizeof *a) == 0, "%s: logits row %lld differ (max |diff| %g)",
               what, (long long)i, md);
    }
}

static void both(const char *what, wick_session *ref, wick_session *pip, const int32_t *tok,
                 int64_t n, int n_vocab, int64_t rows)
{
    CHECK_OK(wick_session_eval(ref, tok, n));
    CHECK_OK(wick_session_eval(pip, tok, n));
    same(what, ref, pip, n_vocab, rows);
}

static void run(wick_dist *d, wick_model *m, const int *split, bool logits_all)
{
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = 64;
    so.n_batch = logits_all ? 16 : 5;
    so.n_threads = 2;
    so.logits_all = logits_all;
    wick_session *pip = NULL, *ref = NULL;
    CHECK_OK(wick_session_create(m, &so, &pip));
    CHECK_OK(wick_dist_pipeline(d, pip, split));
    if (wick_dist_rank(d) != 0) {
        CHECK_OK(wick_dist_serve(d));
        wick_session_destroy(pip);
        return;
    }
    CHECK_OK(wick_session_create(m, &so, &ref));
    const int n_vocab = wick_model_n_vocab(m);
    int32_t prompt[12];
    for (int i = 0; i < 12; i++) { prompt[i] = (int32_t)((i * 37 + 11) % n_vocab); }
    int64_t rows = logits_all ? 12 : 1;
    both("prompt", ref, pip, prompt, 12, n_vocab, rows);
    for (int k = 0; k < 4; k++) { // greedy decode
        int32_t next = argmax(wick_session_logits(ref, -1), n_vocab);
        CHECK(next == argmax(wick_session_logits(pip, -1), n_vocab));
        both("decode", ref, pip, &next, 1, n_vocab, 1);
    }
    CHECK_OK(wick_session_truncate(ref, 6));
    CHECK_OK(wick_session_truncate(pip, 6));
    both("after truncate", ref, pip, prompt + 3, logits_all ? 9 : 7, n_vocab, logits_all ? 9 : 1);
    wick_dist_release(d);
    wick_session_destroy(ref);
    wick_session_destroy(pip);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mpirun -np N test_dist_pipeline MODEL.gguf\n");
        return 2;
    }
    wick_dist *d = NULL;
    CHECK_OK(wick_dist_init(&d));
    if (!d) { return 1; }
    const int rank = wick_dist_rank(d), size = wick_dist_size(d);
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(test_data(argv[1]), NULL, &m));
    if (!m) { return 1; }
    run(d, m, NULL, false);
    if (rank == 0) {
        printf("%s over %d ranks, layers from", argv[1], size);
        for (int r = 0; r <= size; r++) { printf(" %d", wick_dist_first_layer(d, r)); }
        printf("\n");
    }
    // explicit split: nothing on ranks 0..size-2, every layer on the last; logits of all rows
    int split[16] = {0};
    run(d, m, size <= 16 ? split : NULL, true);
    // a bad split is refused
    int bad[16] = {0};
    bad[size - 1] = 1000;
    if (size > 1) {
        wick_session *s = NULL;
        CHECK_OK(wick_session_create(m, NULL, &s));
        CHECK_FAIL(wick_dist_pipeline(d, s, bad), WICK_E_INVALID, "expected 0 for rank 0");
        wick_session_destroy(s);
    }
    wick_dist_finish(d);
    wick_model_close(m);
    if (rank != 0) { return test_n_failed ? 1 : 0; }
    return test_summary("dist_pipeline");
}
