// steps.h — the steps test_dist_pipeline.c and test_dist_expert.c take on a distributed session
// against a single-process one (rank 0 compares the logits bit for bit after each): a prompt split
// into several passes, greedy decode steps, a truncation and a re-evaluation.
#ifndef WICK_TEST_DIST_STEPS_H
#define WICK_TEST_DIST_STEPS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "wick.h"

// Attaches s to d (wick_dist_pipeline or wick_dist_expert with split).
typedef wick_status (*dist_attach_fn)(wick_dist *d, wick_session *s, const int *split);

// The tests' start: argv[1] is the model (under the test data); joins the MPI job and opens the
// model. NULL (a check failed or the usage was wrong, *code says the exit status) or the model.
static wick_model *dist_open(int argc, char **argv, const char *name, wick_dist **d, int *code)
{
    *d = NULL;
    *code = 1;
    if (argc != 2) {
        fprintf(stderr, "usage: mpirun -np N %s MODEL.gguf\n", name);
        *code = 2;
        return NULL;
    }
    CHECK_OK(wick_dist_init(d));
    if (!*d) { return NULL; }
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(test_data(argv[1]), NULL, &m));
    return m;
}

static int dist_argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++) { b = x[i] > x[b] ? i : b; }
    return b;
}

// Same logits rows (bits) in both sessions after the same eval.
static void dist_same(const char *what, wick_session *ref, wick_session *ds, int n_vocab,
                      int64_t rows)
{
    for (int64_t i = 0; i < rows; i++) {
        int64_t row = rows == 1 ? -1 : i; // the last one: without logits_all only -1 names it
        const float *a = wick_session_logits(ref, row), *b = wick_session_logits(ds, row);
        float md = 0;
        for (int k = 0; a && b && k < n_vocab; k++) {
            md = fabsf(a[k] - b[k]) > md ? fabsf(a[k] - b[k]) : md;
        }
        CHECKF(a && b && memcmp(a, b, (size_t)n_vocab * sizeof *a) == 0,
               "%s: logits row %lld differ (max |diff| %g)", what, (long long)i, md);
    }
}

static void dist_both(const char *what, wick_session *ref, wick_session *ds, const int32_t *tok,
                      int64_t n, int n_vocab, int64_t rows)
{
    CHECK_OK(wick_session_eval(ref, tok, n));
    CHECK_OK(wick_session_eval(ds, tok, n));
    dist_same(what, ref, ds, n_vocab, rows);
}

// Every rank: a session attached with attach(split); rank 0 runs the steps, the others serve.
static void dist_steps(wick_dist *d, wick_model *m, dist_attach_fn attach, const int *split,
                       bool logits_all)
{
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = 64;
    so.n_batch = logits_all ? 16 : 5;
    so.n_threads = 2;
    so.logits_all = logits_all;
    wick_session *ds = NULL, *ref = NULL;
    CHECK_OK(wick_session_create(m, &so, &ds));
    CHECK_OK(attach(d, ds, split));
    if (wick_dist_rank(d) != 0) {
        CHECK_OK(wick_dist_serve(d));
        wick_session_destroy(ds);
        return;
    }
    CHECK_OK(wick_session_create(m, &so, &ref));
    const int n_vocab = wick_model_n_vocab(m);
    int32_t prompt[12];
    for (int i = 0; i < 12; i++) { prompt[i] = (int32_t)((i * 37 + 11) % n_vocab); }
    int64_t rows = logits_all ? 12 : 1;
    dist_both("prompt", ref, ds, prompt, 12, n_vocab, rows);
    for (int k = 0; k < 4; k++) { // greedy decode
        int32_t next = dist_argmax(wick_session_logits(ref, -1), n_vocab);
        CHECK(next == dist_argmax(wick_session_logits(ds, -1), n_vocab));
        dist_both("decode", ref, ds, &next, 1, n_vocab, 1);
    }
    CHECK_OK(wick_session_truncate(ref, 6));
    CHECK_OK(wick_session_truncate(ds, 6));
    dist_both("after truncate", ref, ds, prompt + 3, logits_all ? 9 : 7, n_vocab,
              logits_all ? 9 : 1);
    wick_dist_release(d);
    wick_session_destroy(ref);
    wick_session_destroy(ds);
}

#endif
