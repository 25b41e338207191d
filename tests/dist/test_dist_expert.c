// test_dist_expert.c — expert parallel over MPI ranks against one process (run by mpirun, see
// CMakeLists.txt): every rank opens MODEL; rank 0 also keeps a single-process session of it and
// compares the logits after each step bit for bit (each (token, expert) pair is computed as one
// process computes it and the outputs are summed in its order): a prompt split into several
// passes, greedy decode steps, a truncation and a re-evaluation, logits of every position; then
// the same with every expert on the last rank. A model without routed experts (phi3) is refused,
// and "auto" makes it a pipeline.
//   mpirun -np N test_dist_expert MODEL.gguf
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

static void same(const char *what, wick_session *ref, wick_session *ep, int n_vocab, int64_t rows)
{
    for (int64_t i = 0; i < rows; i++) {
        int64_t row = rows == 1 ? -1 : i;
        const float *a = wick_session_logits(ref, row), *b = wick_session_logits(ep, row);
        float md = 0;
        for (int k = 0; a && b && k < n_vocab; k++) { md = fabsf(a[k] - b[k]) > md ? fabsf(a[k] - b[k]) : md; }
        CHECKF(a && b && memcmp(a, b, (size_t)n_vocab * sizeof *a) == 0,
               "%s: logits row %lld differ (max |diff| %g)", what, (long long)i, md);
    }
}

static void both(const char *what, wick_session *ref, wick_session *ep, const int32_t *tok,
                 int64_t n, int n_vocab, int64_t rows)
{
    CHECK_OK(wick_session_eval(ref, tok, n));
    CHECK_OK(wick_session_eval(ep, tok, n));
    same(what, ref, ep, n_vocab, rows);
}

static void run(wick_dist *d, wick_model *m, const int *split, bool logits_all)
{
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = 64;
    so.n_batch = logits_all ? 16 : 5;
    so.n_threads = 2;
    so.logits_all = logits_all;
    wick_session *ep = NULL, *ref = NULL;
    CHECK_OK(wick_session_create(m, &so, &ep));
    CHECK_OK(wick_dist_expert(d, ep, split));
    if (wick_dist_rank(d) != 0) {
        CHECK_OK(wick_dist_serve(d));
        wick_session_destroy(ep);
        return;
    }
    CHECK_OK(wick_session_create(m, &so, &ref));
    const int n_vocab = wick_model_n_vocab(m);
    int32_t prompt[12];
    for (int i = 0; i < 12; i++) { prompt[i] = (int32_t)((i * 37 + 11) % n_vocab); }
    int64_t rows = logits_all ? 12 : 1;
    both("prompt", ref, ep, prompt, 12, n_vocab, rows);
    for (int k = 0; k < 4; k++) { // greedy decode
        int32_t next = argmax(wick_session_logits(ref, -1), n_vocab);
        CHECK(next == argmax(wick_session_logits(ep, -1), n_vocab));
        both("decode", ref, ep, &next, 1, n_vocab, 1);
    }
    CHECK_OK(wick_session_truncate(ref, 6));
    CHECK_OK(wick_session_truncate(ep, 6));
    both("after truncate", ref, ep, prompt + 3, logits_all ? 9 : 7, n_vocab, logits_all ? 9 : 1);
    wick_dist_release(d);
    wick_session_destroy(ref);
    wick_session_destroy(ep);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mpirun -np N test_dist_expert MODEL.gguf\n");
        return 2;
    }
    wick_dist *d = NULL;
    CHECK_OK(wick_dist_init(&d));
    if (!d) { return 1; }
    const int rank = wick_dist_rank(d), size = wick_dist_size(d);
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(test_data(argv[1]), NULL, &m));
    if (!m) { return 1; }
    wick_session *s = NULL;
    CHECK_OK(wick_session_create(m, NULL, &s));
    if (strcmp(wick_model_arch(m), "deepseek2") != 0) { // no routed experts: refused; auto pipelines
        CHECK_FAIL(wick_dist_expert(d, s, NULL), WICK_E_INVALID, "has no routed experts");
        CHECK_OK(wick_dist_attach(d, s, "auto"));
        CHECK(wick_dist_first_layer(d, size) > 0 && wick_dist_first_expert(d, 0) == -1);
        if (rank != 0) {
            CHECK_OK(wick_dist_serve(d));
        } else {
            int32_t tok = 1;
            CHECK_OK(wick_session_eval(s, &tok, 1));
            wick_dist_release(d);
        }
    } else {
        CHECK_FAIL(wick_dist_attach(d, s, "tensor"), WICK_E_INVALID, "expected pipeline, expert or auto");
        int bad[16] = {0};
        bad[size - 1] = 100000;
        CHECK_FAIL(wick_dist_expert(d, s, bad), WICK_E_INVALID, "expected 0 for rank 0");
        run(d, m, NULL, false);
        if (rank == 0) {
            printf("%s over %d ranks, experts from", argv[1], size);
            for (int r = 0; r <= size; r++) { printf(" %d", wick_dist_first_expert(d, r)); }
            printf("\n");
            CHECK(wick_dist_first_expert(d, 1) > 0 && wick_dist_first_expert(d, size) > wick_dist_first_expert(d, size - 1));
        }
        int split[16] = {0}; // every expert on the last rank; logits of all rows
        run(d, m, size <= 16 ? split : NULL, true);
    }
    wick_session_destroy(s);
    wick_dist_finish(d);
    wick_model_close(m);
    if (rank != 0) { return test_n_failed ? 1 : 0; }
    return test_summary("dist_expert");
}
