// bench_dist.c — what the pipeline's hops cost on this machine: MPI ping-pong between ranks 0 and
// 1 (one-way time and GB/s) for the hidden states a hop carries (n_embd floats per token; default
// 7168 = Kimi K2, for 1, 16 and 512 tokens), and this machine's memory read bandwidth, the two
// figures docs/dist.md's model of Kimi K2 over several nodes rests on.
//   mpirun --oversubscribe --allow-run-as-root -np 2 build/bench_dist [N_EMBD]
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#ifndef WICK_MPI
int main(void)
{
    fprintf(stderr, "bench_dist: this build has no MPI (-DWICK_MPI=ON)\n");
    return 1;
}
#else
#include <mpi.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        fprintf(stderr, "bench_dist: run it with mpirun -np 2\n");
        MPI_Finalize();
        return 1;
    }
    const int n_embd = argc > 1 ? atoi(argv[1]) : 7168;
    const int tokens[] = {1, 16, 512};
    float *buf = malloc((size_t)n_embd * 512 * sizeof *buf);
    if (!buf || n_embd < 1) { MPI_Abort(MPI_COMM_WORLD, 1); }
    for (size_t i = 0; i < (size_t)n_embd * 512; i++) { buf[i] = (float)i; }
    for (int k = 0; k < 3; k++) {
        const int n = n_embd * tokens[k], reps = tokens[k] == 512 ? 50 : 2000;
        double best = 1e9;
        for (int run = 0; run < 3; run++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = bench_now();
            for (int r = 0; r < reps && rank < 2; r++) {
                if (rank == 0) {
                    MPI_Send(buf, n, MPI_FLOAT, 1, 0, MPI_COMM_WORLD);
                    MPI_Recv(buf, n, MPI_FLOAT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else {
                    MPI_Recv(buf, n, MPI_FLOAT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    MPI_Send(buf, n, MPI_FLOAT, 0, 0, MPI_COMM_WORLD);
                }
            }
            double t = (bench_now() - t0) / (2.0 * reps); // one way
            best = t < best ? t : best;
        }
        if (rank == 0) {
            printf("hop of %3d token(s) x %d floats (%8.1f KB): %8.2f us one way, %6.2f GB/s\n",
                   tokens[k], n_embd, n * 4.0 / 1024, best * 1e6, n * 4.0 / best / 1e9);
        }
    }
    if (rank == 0) { printf("memory read bandwidth: %.1f GB/s\n", bench_mem_bandwidth_gbs(0)); }
    free(buf);
    MPI_Finalize();
    return 0;
}
#endif
