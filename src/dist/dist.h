// dist.h — the state of a wick_dist (wick.h section 10) shared by its files: dist.c (joining the
// job, messages with a deadline, serving), pipeline.c (layers over ranks) and expert.c (the
// routed experts of MoE layers over ranks).
//
// Every wait for a peer has a deadline (WICK_DIST_TIMEOUT seconds, default 120): a rank that
// died or stopped answering fails the pass with WICK_E_TIMEOUT naming it, and the wick_dist stays
// broken (every later pass fails the same way) instead of hanging. Only a worker's wait for
// rank 0's next request has none: rank 0 may be idle for as long as it likes. A pipeline's
// rank 0 waits on the last rank whichever stage failed: at the deadline it pings every worker
// (workers answer while they wait for a message) and names the first that does not answer.
#ifndef WK_DIST_DIST_H
#define WK_DIST_DIST_H

#include <mpi.h>

#include "model/model.h"

enum {
    WK_TAG_HDR = 1,
    WK_TAG_X = 2,
    WK_TAG_IDS = 3,
    WK_TAG_Y = 4,
    WK_TAG_CTL = 5,
    WK_TAG_PING = 6
};
enum { WK_OP_EVAL = 1, WK_OP_QUIT = 2, WK_OP_MOE = 3, WK_OP_OPEN = 4, WK_OP_EXIT = 5 };
enum { WK_DIST_NONE, WK_DIST_PIPELINE, WK_DIST_EXPERT };

typedef struct wk_dist_ex wk_dist_ex; // expert.c
typedef struct wk_dist_pl wk_dist_pl; // pipeline.c

struct wick_dist {
    int rank, size;
    bool own_init; // MPI_Init was ours: MPI_Finalize at finish
    int mode;      // WK_DIST_*
    double timeout; // seconds a peer may take to answer
    int failed;     // the rank that did not answer (-1: none)
    wk_stage stage;
    wk_experts experts;
    wk_session *s;
    int64_t n_embd;
    int *lo;        // pipeline: size + 1 layer boundaries
    wk_dist_ex *ex; // expert parallel
    wk_dist_pl *pl; // pipeline: the messages in flight
    int64_t n_served; // requests a worker served (for WICK_DIST_TEST_HANG)
    double t_wait;    // seconds spent waiting for other ranks (bench_dist_prefill)
    bool front;       // rank 0 of a registry's job (front.c): workers wait in wick_dist_worker
    int front_mode;   // its mode: 0 pipeline, 1 expert, 2 auto
};

// Blocking point to point with the deadline (a count above INT32_MAX: WICK_E_RANGE).
wick_status wk_dist_send(wick_dist *d, const void *buf, int64_t n, MPI_Datatype type, int to,
                         int tag);
wick_status wk_dist_recv(wick_dist *d, void *buf, int64_t n, MPI_Datatype type, int from, int tag);
// Starts a nonblocking send or receive into *req (peer: the rank, for the error message).
wick_status wk_dist_isend(wick_dist *d, const void *buf, int64_t n, MPI_Datatype type, int to,
                          int tag, MPI_Request *req);
wick_status wk_dist_irecv(wick_dist *d, void *buf, int64_t n, MPI_Datatype type, int from,
                          int tag, MPI_Request *req);
// Waits for the n requests until the deadline; peer[i] is the rank of req[i].
wick_status wk_dist_wait(wick_dist *d, MPI_Request *req, const int *peer, int n);
// A worker's wait for the next request of n int64 (no deadline; polls gently).
wick_status wk_dist_recv_idle(wick_dist *d, int from, int tag, int64_t *hdr, int n);
// The end of an attach: the rank repacks the weights it reads (src/model/repack.c), unless
// the model was opened with repacking off (wk_model.repack): the layers [lo, hi) of a pipeline
// stage (and the output on rank 0); in expert parallel, rank 0 every weight but the routed
// experts (a rank reads a slice of each expert tensor: those stay in the file's pages). Detaches
// on failure.
wick_status wk_dist_repack(wick_dist *d);
// Rank 0 of a front: tells the workers to leave wick_dist_worker (front.c).
void wk_dist_front_exit(wick_dist *d);

// pipeline.c / expert.c: a worker's loop (after the attach), and freeing the mode's state.
wick_status wk_dist_serve_pipeline(wick_dist *d);
wick_status wk_dist_serve_expert(wick_dist *d);
void wk_dist_ex_free(wick_dist *d);
// Completes the pipeline's sends in flight (rank 0 at release) and frees its buffers.
void wk_dist_pl_free(wick_dist *d);
// Test hook: WICK_DIST_TEST_HANG=K makes rank 1 stop answering after serving K requests.
void wk_dist_test_hang(wick_dist *d);

#endif
