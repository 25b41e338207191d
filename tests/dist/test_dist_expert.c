// test_dist_expert.c — expert parallel over MPI ranks against one process (run by mpirun, see
// CMakeLists.txt): every rank opens MODEL; rank 0 also keeps a single-process session of it and
// compares the logits after each step bit for bit (each (token, expert) pair is computed as one
// process computes it and the outputs are summed in its order): a prompt split into several
// passes, greedy decode steps, a truncation and a re-evaluation, logits of every position; then
// the same with every expert on the last rank. A model without routed experts (phi3) is refused,
// and "auto" makes it a pipeline.
//   mpirun -np N test_dist_expert MODEL.gguf
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "steps.h"
#include "wick.h"

int main(int argc, char **argv)
{
    wick_dist *d = NULL;
    int code;
    wick_model *m = dist_open(argc, argv, "test_dist_expert", &d, &code);
    if (!m) { return code; }
    const int rank = wick_dist_rank(d), size = wick_dist_size(d);
    wick_session *s = NULL;
    CHECK_OK(wick_session_create(m, NULL, &s));
    // no routed experts: refused; auto pipelines
    if (strcmp(wick_model_arch(m), "deepseek2") != 0) {
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
        CHECK_FAIL(wick_dist_attach(d, s, "tensor"), WICK_E_INVALID,
                   "expected pipeline, expert or auto");
        int bad[16] = {0};
        bad[size - 1] = 100000;
        CHECK_FAIL(wick_dist_expert(d, s, bad), WICK_E_INVALID, "expected 0 for rank 0");
        dist_steps(d, m, wick_dist_expert, NULL, false);
        if (rank == 0) {
            printf("%s over %d ranks, experts from", argv[1], size);
            for (int r = 0; r <= size; r++) { printf(" %d", wick_dist_first_expert(d, r)); }
            printf("\n");
            CHECK(wick_dist_first_expert(d, 1) > 0 &&
                  wick_dist_first_expert(d, size) > wick_dist_first_expert(d, size - 1));
        }
        int split[16] = {0}; // every expert on the last rank; logits of all rows
        dist_steps(d, m, wick_dist_expert, size <= 16 ? split : NULL, true);
    }
    wick_session_destroy(s);
    wick_dist_finish(d);
    wick_model_close(m);
    if (rank != 0) { return test_n_failed ? 1 : 0; }
    return test_summary("dist_expert");
}
