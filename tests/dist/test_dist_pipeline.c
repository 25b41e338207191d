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
#include "steps.h"
#include "wick.h"

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
