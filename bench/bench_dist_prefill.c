// bench_dist_prefill.c — a prompt's prefill through a pipeline of MPI ranks with and without
// micro-batches in flight (docs/dist.md): tokens/s (best of the runs, configurations alternated)
// and each rank's busy fraction (the share of the run it computed rather than waited for another
// rank). Every rank opens MODEL; the layers are balanced by bytes. With one rank: one process
// evaluating the prompt in passes of the micro-batch's size (the compute cost of the split).
//   mpirun --oversubscribe --allow-run-as-root -np N build/bench_dist_prefill MODEL.gguf
//          [TOKENS (128)] [RUNS (3)] [THREADS (1)]
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#ifndef WICK_MPI
int main(void)
{
    fprintf(stderr, "bench_dist_prefill: this build has no MPI (-DWICK_MPI=ON)\n");
    return 1;
}
#else
#include "dist/dist.h"

enum { N_CONF = 3 };
static const int64_t micro[N_CONF] = {0, 64, 32}; // 0: one pass of the whole prompt

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: mpirun -np N bench_dist_prefill MODEL.gguf [TOKENS] [RUNS] [THREADS]\n");
        return 2;
    }
    const int64_t T = argc > 2 ? atoll(argv[2]) : 128;
    const int runs = argc > 3 ? atoi(argv[3]) : 3, threads = argc > 4 ? atoi(argv[4]) : 1;
    wick_dist *d = NULL;
    wick_model *m = NULL;
    if (wick_dist_init(&d) < 0 || wick_model_open(argv[1], NULL, &m) < 0) {
        fprintf(stderr, "bench_dist_prefill: %s\n", wick_errmsg());
        return 1;
    }
    const int rank = wick_dist_rank(d), size = wick_dist_size(d);
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = T + 8;
    so.n_batch = T;
    so.n_threads = threads;
    int32_t *tok = malloc((size_t)T * sizeof *tok);
    double best[N_CONF], busy[N_CONF][64] = {{0}};
    for (int64_t i = 0; i < T; i++) { tok[i] = (int32_t)((i * 7919 + 13) % wick_model_n_vocab(m)); }
    for (int c = 0; c < N_CONF; c++) { best[c] = 1e30; }
    for (int r = 0; r < runs; r++) {
        for (int c = 0; c < N_CONF; c++) {
            wick_session *s = NULL;
            // one rank: the same passes in one process (what a micro-batch costs to compute)
            so.n_batch = size == 1 && micro[c] ? micro[c] : T;
            if (wick_session_create(m, &so, &s) < 0 || wick_dist_pipeline(d, s, NULL) < 0) {
                fprintf(stderr, "bench_dist_prefill: %s\n", wick_errmsg());
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            d->stage.micro = rank == 0 ? micro[c] : 0;
            MPI_Barrier(MPI_COMM_WORLD);
            d->t_wait = 0;
            const double t0 = bench_now();
            wick_status rc = rank == 0 ? wick_session_eval(s, tok, T) : wick_dist_serve(d);
            const double t = bench_now() - t0;
            if (rc < 0) {
                fprintf(stderr, "bench_dist_prefill: rank %d: %s\n", rank, wick_errmsg());
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            if (rank == 0) { wick_dist_release(d); }
            double b = (t - d->t_wait) / t, all[64] = {0};
            MPI_Gather(&b, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
            if (rank == 0 && t < best[c]) {
                best[c] = t;
                for (int k = 0; k < size && k < 64; k++) { busy[c][k] = all[k]; }
            }
            wick_session_destroy(s);
        }
    }
    if (rank == 0) {
        printf("%s: prefill of %lld tokens over %d ranks (%d thread(s) each), best of %d:\n",
               argv[1], (long long)T, size, threads, runs);
        for (int c = 0; c < N_CONF; c++) {
            char what[64] = "one pass (no micro)";
            if (c) { snprintf(what, sizeof what, "micro-batches of %lld", (long long)micro[c]); }
            printf("  %-22s %7.1f tok/s  busy", what, T / best[c]);
            for (int k = 0; k < size && k < 64; k++) { printf(" %.2f", busy[c][k]); }
            printf("\n");
        }
    }
    free(tok);
    wick_dist_finish(d);
    wick_model_close(m);
    return 0;
}
#endif
