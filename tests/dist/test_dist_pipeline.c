// test_dist_pipeline.c — pipeline parallel over MPI ranks against one process (run by mpirun, see
// CMakeLists.txt): every rank opens MODEL; rank 0 also keeps a single-process session of it and
// compares the logits after each step bit for bit: a prompt split into several passes, greedy
// decode steps, a truncation and a re-evaluation, logits of every position; then the same with
// the split given explicitly (all layers on the last rank).
//   mpirun -np N test_dist_pipeline MODEL.gguf
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model/model.h"
#include "steps.h"
#include "wick.h"

// Rank 0: one pass over segs in both sessions; each segment's logits row the same bits.
static void segs_both(const char *what, wk_session *ref, wk_session *ds, const int32_t *tok,
                      const wk_seg *segs, int n_segs, int n_vocab)
{
    CHECK_OK(wk_session_eval_segs(ref, tok, segs, n_segs));
    CHECK_OK(wk_session_eval_segs(ds, tok, segs, n_segs));
    CHECK(ref->n_logits == n_segs && ds->n_logits == n_segs);
    for (int i = 0; i < n_segs && ds->n_logits == n_segs; i++) {
        CHECKF(memcmp(ref->logits + (size_t)i * n_vocab, ds->logits + (size_t)i * n_vocab,
                      (size_t)n_vocab * sizeof(float)) == 0,
               "%s: logits of segment %d differ", what, i);
    }
}

// The one-process reference of a micro-batched pipeline: a stage holding every layer, which
// splits the prompts into the same passes (no MPI).
static wick_status whole(wk_stage *st, wk_session *s, const wk_batch *b, bool after, float *x)
{
    (void)st, (void)s, (void)b, (void)after, (void)x;
    return WICK_OK;
}

// Several passes in flight: micro-batches of a prompt (WICK_DIST_MICRO=4: rank 0 sends 4 tokens
// on and starts the next 4 while the other ranks work on them), and passes carrying several
// sequences (the scheduler's), on 3-sequence sessions against one process evaluating the same
// passes. The experts' F32 matmuls group a pass's tokens by expert, so with F32 experts the sums
// depend on the passes; other weights give the bits of whole passes too (printed).
static void in_flight(wick_dist *d, wick_model *m)
{
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = 64;
    so.n_batch = 16;
    so.n_threads = 2;
    wk_session *ds = NULL, *ref = NULL;
    setenv("WICK_DIST_MICRO", "4", 1);
    CHECK_OK(wk_session_create_seqs(m, &so, 3, &ds));
    CHECK_OK(wick_dist_pipeline(d, ds, NULL));
    unsetenv("WICK_DIST_MICRO");
    if (wick_dist_rank(d) != 0) {
        CHECK_OK(wick_dist_serve(d));
        wick_session_destroy(ds);
        return;
    }
    wk_session *full = NULL;
    CHECK_OK(wk_session_create_seqs(m, &so, 3, &ref));
    CHECK_OK(wk_session_create_seqs(m, &so, 3, &full));
    if (!ref || !full) { return; }
    wk_stage one = {.lo = 0, .hi = (int)m->hp.n_layer, .micro = 4, .pass = whole};
    ref->stage = &one;
    const int n_vocab = wick_model_n_vocab(m);
    int32_t tok[16];
    for (int i = 0; i < 16; i++) { tok[i] = (int32_t)((i * 53 + 5) % n_vocab); }
    dist_both("micro-batched prompt", ref, ds, tok, 14, n_vocab, 1); // 4 + 4 + 4 + 2
    CHECK_OK(wick_session_eval(full, tok, 14));
    const bool same = memcmp(full->logits, ds->logits, (size_t)n_vocab * sizeof(float)) == 0;
    printf("micro-batched prompt: %s bits as whole passes in one process\n",
           same ? "the same" : "other");
    // prompts of 5, 2 and 7 tokens into sequences 2, 0 (after its 14) and 1, in one pass
    // (archs without multi-sequence passes: one per segment, in micro-batches)
    const wk_seg pre[3] = {{2, 0, 5}, {0, 14, 2}, {1, 0, 7}};
    segs_both("3 sequences' prompts", ref, ds, tok + 1, pre, 3, n_vocab);
    for (int k = 0; k < 3; k++) { // greedy decode of the three together
        int32_t next[3];
        wk_seg dec[3];
        for (int i = 0; i < 3; i++) {
            next[i] = dist_argmax(ref->logits + (size_t)i * n_vocab, n_vocab);
            dec[i] = (wk_seg){pre[i].seq, pre[i].pos0 + pre[i].n + k, 1};
        }
        segs_both("3 sequences' decode", ref, ds, next, dec, 3, n_vocab);
    }
    wick_dist_release(d);
    wick_session_destroy(full);
    wick_session_destroy(ref);
    wick_session_destroy(ds);
}

int main(int argc, char **argv)
{
    wick_dist *d = NULL;
    int code;
    wick_model *m = dist_open(argc, argv, "test_dist_pipeline", &d, &code);
    if (!m) { return code; }
    const int rank = wick_dist_rank(d), size = wick_dist_size(d);
    dist_steps(d, m, wick_dist_pipeline, NULL, false);
    if (rank == 0) {
        printf("%s over %d ranks, layers from", argv[1], size);
        for (int r = 0; r <= size; r++) { printf(" %d", wick_dist_first_layer(d, r)); }
        printf("\n");
    }
    // explicit split: nothing on ranks 0..size-2, every layer on the last; logits of all rows
    int split[16] = {0};
    dist_steps(d, m, wick_dist_pipeline, size <= 16 ? split : NULL, true);
    in_flight(d, m);
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
