// dist.c — joining the MPI job, messages with a deadline, a worker's serving loop and leaving
// (wick.h section 10; dist.h). Errors come back (MPI_ERRORS_RETURN) and every wait polls
// nonblocking requests against a deadline, so a dead or silent peer is named, not waited on.
#include "dist/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nap(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

static wick_status mpi_fail(const wick_dist *d, int err, const char *what, int peer)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, msg, &len) != MPI_SUCCESS) { len = 0; }
    msg[len] = 0;
    return wk_fail(WICK_E_IO, "dist: rank %d: %s rank %d failed: %s", d->rank, what, peer, msg);
}

static wick_status broken(const wick_dist *d)
{
    return wk_fail(WICK_E_TIMEOUT,
                   "dist: rank %d did not answer rank %d within %g s (WICK_DIST_TIMEOUT)",
                   d->failed, d->rank, d->timeout);
}

wick_status wick_dist_init(wick_dist **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_dist_init: out is NULL"); }
    *out = NULL;
    wick_dist *d = wk_calloc(1, sizeof *d);
    if (!d) { return wk_fail_nomem("dist"); }
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        int provided = 0;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
            wk_free(d);
            return wk_fail(WICK_E_IO, "dist: MPI_Init_thread failed");
        }
        d->own_init = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    d->failed = -1;
    d->timeout = 120;
    const char *env = getenv("WICK_DIST_TIMEOUT");
    if (env && *env) {
        char *end = NULL;
        double t = strtod(env, &end);
        if (end && !*end && t > 0) {
            d->timeout = t;
        } else {
            wk_warn("WICK_DIST_TIMEOUT='%s': expected seconds > 0; using %g", env, d->timeout);
        }
    }
    // A rank reads only its share of the weights from the file's lazy mapping: repacking at
    // open (src/model/repack.c) would copy every weight into each rank; instead models opened
    // from now on until wick_dist_finish wait, and each rank repacks the weights it reads when
    // its session is attached (wk_dist_repack)
    wk_repack_defer(true);
    *out = d;
    return WICK_OK;
}

int wick_dist_rank(const wick_dist *d) { return d ? d->rank : 0; }
int wick_dist_size(const wick_dist *d) { return d ? d->size : 1; }

wick_status wk_dist_isend(wick_dist *d, const void *buf, int64_t n, MPI_Datatype type, int to,
                          int tag, MPI_Request *req)
{
    *req = MPI_REQUEST_NULL;
    if (n > INT32_MAX) {
        return wk_fail(WICK_E_RANGE, "dist: a message of %lld elements", (long long)n);
    }
    int err = MPI_Isend(buf, (int)n, type, to, tag, MPI_COMM_WORLD, req);
    return err == MPI_SUCCESS ? WICK_OK : mpi_fail(d, err, "send to", to);
}

wick_status wk_dist_irecv(wick_dist *d, void *buf, int64_t n, MPI_Datatype type, int from,
                          int tag, MPI_Request *req)
{
    *req = MPI_REQUEST_NULL;
    if (n > INT32_MAX) {
        return wk_fail(WICK_E_RANGE, "dist: a message of %lld elements", (long long)n);
    }
    int err = MPI_Irecv(buf, (int)n, type, from, tag, MPI_COMM_WORLD, req);
    return err == MPI_SUCCESS ? WICK_OK : mpi_fail(d, err, "receive from", from);
}

// A worker: answers rank 0's pings (a live rank waiting for a message).
static void answer_pings(wick_dist *d)
{
    int flag = 0;
    while (d->rank != 0 &&
           MPI_Iprobe(0, WK_TAG_PING, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS &&
           flag) {
        int64_t v = 0;
        if (MPI_Recv(&v, 1, MPI_INT64_T, 0, WK_TAG_PING, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
                MPI_SUCCESS ||
            MPI_Send(&v, 1, MPI_INT64_T, 0, WK_TAG_PING, MPI_COMM_WORLD) != MPI_SUCCESS) {
            return;
        }
    }
}

// Rank 0 of a pipeline at the deadline: the first worker that does not answer a ping within
// 2 s (or the deadline, if shorter), else the rank it was waiting on.
static int silent_rank(wick_dist *d, int waited_on)
{
    if (d->rank != 0 || d->mode != WK_DIST_PIPELINE) { return waited_on; }
    const int n = d->size - 1;
    MPI_Request *req = wk_calloc((size_t)(2 * n), sizeof *req);
    int64_t *v = wk_calloc((size_t)(2 * n), sizeof *v);
    if (!req || !v) {
        wk_free(req);
        wk_free(v);
        return waited_on;
    }
    for (int i = 0; i < n; i++) {
        v[i] = i + 1;
        MPI_Isend(&v[i], 1, MPI_INT64_T, i + 1, WK_TAG_PING, MPI_COMM_WORLD, &req[i]);
        MPI_Irecv(&v[n + i], 1, MPI_INT64_T, i + 1, WK_TAG_PING, MPI_COMM_WORLD, &req[n + i]);
    }
    const double deadline = now_s() + (d->timeout < 2 ? d->timeout : 2);
    int silent = -1;
    for (;;) {
        silent = -1;
        for (int i = 0; i < n && silent < 0; i++) {
            int flag = 0;
            if (req[n + i] != MPI_REQUEST_NULL) { MPI_Test(&req[n + i], &flag, MPI_STATUS_IGNORE); }
            if (req[n + i] != MPI_REQUEST_NULL) { silent = i + 1; }
        }
        if (silent < 0 || now_s() > deadline) { break; }
        nap(1000000);
    }
    if (silent >= 0) { return silent; } // req, v stay with the pending requests: the job is
                                        // broken and wick_dist_finish ends it
    wk_free(req);
    wk_free(v);
    return waited_on;
}

static wick_status wait_reqs(wick_dist *d, MPI_Request *req, const int *peer, int n, double t0);

wick_status wk_dist_wait(wick_dist *d, MPI_Request *req, const int *peer, int n)
{
    const double t0 = now_s();
    wick_status rc = wait_reqs(d, req, peer, n, t0);
    d->t_wait += now_s() - t0;
    return rc;
}

static wick_status wait_reqs(wick_dist *d, MPI_Request *req, const int *peer, int n, double t0)
{
    if (d->failed >= 0) { return broken(d); }
    const double deadline = t0 + d->timeout;
    for (long spin = 0;; spin++) {
        int done = 1;
        for (int i = 0; i < n; i++) {
            if (req[i] == MPI_REQUEST_NULL) { continue; }
            int flag = 0;
            MPI_Status stt;
            int err = MPI_Test(&req[i], &flag, &stt);
            if (err != MPI_SUCCESS) {
                d->failed = peer[i];
                return mpi_fail(d, err, "a message with", peer[i]);
            }
            done &= flag;
        }
        if (done) { return WICK_OK; }
        if (spin > 2000) { // after the first few ms of spinning, poll every 50 µs
            if (now_s() > deadline) {
                for (int i = 0; i < n && d->failed < 0; i++) {
                    if (req[i] != MPI_REQUEST_NULL) { d->failed = silent_rank(d, peer[i]); }
                }
                return broken(d);
            }
            answer_pings(d);
            nap(50000);
        }
    }
}

wick_status wk_dist_send(wick_dist *d, const void *buf, int64_t n, MPI_Datatype type, int to,
                         int tag)
{
    MPI_Request req;
    wick_status rc = wk_dist_isend(d, buf, n, type, to, tag, &req);
    return rc < 0 ? rc : wk_dist_wait(d, &req, &to, 1);
}

wick_status wk_dist_recv(wick_dist *d, void *buf, int64_t n, MPI_Datatype type, int from, int tag)
{
    MPI_Request req;
    wick_status rc = wk_dist_irecv(d, buf, n, type, from, tag, &req);
    return rc < 0 ? rc : wk_dist_wait(d, &req, &from, 1);
}

wick_status wk_dist_recv_idle(wick_dist *d, int from, int tag, int64_t *hdr, int n)
{
    const double t0 = now_s();
    for (long spin = 0;; spin++) {
        int flag = 0;
        int err = MPI_Iprobe(from, tag, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        if (err != MPI_SUCCESS) { return mpi_fail(d, err, "waiting for", from); }
        if (flag) {
            d->t_wait += now_s() - t0;
            return wk_dist_recv(d, hdr, n, MPI_INT64_T, from, tag);
        }
        if (spin > 2000) { // idle: every ms
            answer_pings(d);
            nap(spin > 200000 ? 1000000 : 50000);
        }
    }
}

void wk_dist_test_hang(wick_dist *d)
{
    const char *env = getenv("WICK_DIST_TEST_HANG");
    if (d->rank != 1 || !env || !*env || d->n_served++ < atol(env)) { return; }
    fprintf(stderr, "dist: rank 1 stops answering (WICK_DIST_TEST_HANG=%s)\n", env);
    for (;;) { nap(100000000); } // until the job ends
}

static void detach(wick_dist *d)
{
    wk_dist_pl_free(d);
    if (d->s) {
        d->s->stage = NULL;
        d->s->experts = NULL;
    }
    d->s = NULL;
    d->mode = WK_DIST_NONE;
}

static bool keep_stage(void *ctx, int il, bool experts)
{
    (void)experts;
    const wick_dist *d = ctx;
    return il < 0 ? d->rank == 0 : il >= d->stage.lo && il < d->stage.hi;
}

static bool keep_front(void *ctx, int il, bool experts)
{
    (void)il;
    const wick_dist *d = ctx;
    return d->rank == 0 && (!experts || d->size == 1);
}

wick_status wk_dist_repack(wick_dist *d)
{
    if (!d->s->m->repack) { return WICK_OK; }
    wick_status rc =
        wk_model_repack_some(d->s->m, d->mode == WK_DIST_PIPELINE ? keep_stage : keep_front, d);
    if (rc < 0) { detach(d); }
    return rc;
}

wick_status wick_dist_attach(wick_dist *d, wick_session *s, const char *mode)
{
    if (!mode || !strcmp(mode, "auto")) {
        wick_status rc = wick_dist_expert(d, s, NULL);
        if (rc != WICK_E_INVALID || !d || !s || d->s) { return rc; } // not a mixture of experts
        return wick_dist_pipeline(d, s, NULL);
    }
    if (!strcmp(mode, "pipeline")) { return wick_dist_pipeline(d, s, NULL); }
    if (!strcmp(mode, "expert")) { return wick_dist_expert(d, s, NULL); }
    return wk_fail(WICK_E_INVALID, "dist: mode '%s': expected pipeline, expert or auto", mode);
}

wick_status wick_dist_serve(wick_dist *d)
{
    if (!d || !d->s) { return wk_fail(WICK_E_INVALID, "wick_dist_serve: no session attached"); }
    if (d->rank == 0) { return wk_fail(WICK_E_INVALID, "wick_dist_serve: rank 0 is the front"); }
    wick_status rc =
        d->mode == WK_DIST_EXPERT ? wk_dist_serve_expert(d) : wk_dist_serve_pipeline(d);
    detach(d);
    return rc;
}

void wick_dist_release(wick_dist *d)
{
    if (!d || !d->s) { return; }
    if (d->rank == 0 && d->size > 1 && d->failed < 0) {
        const int64_t hdr[6] = {WK_OP_QUIT, 0, 0, 0, 0, 0};
        // the pipeline passes it on from rank to rank (6 int64); the experts' ranks each get one
        const bool ex = d->mode == WK_DIST_EXPERT;
        for (int r = 1; r < (ex ? d->size : 2); r++) {
            if (wk_dist_send(d, hdr, ex ? 4 : 6, MPI_INT64_T, r, WK_TAG_HDR) < 0) { break; }
        }
    }
    detach(d);
}

void wick_dist_finish(wick_dist *d)
{
    if (!d) { return; }
    wk_repack_defer(false);
    wick_dist_release(d);
    wk_dist_front_exit(d);
    const bool abort_job = d->failed >= 0 && d->own_init; // MPI_Finalize would wait for it
    wk_dist_ex_free(d);
    if (!abort_job) { wk_dist_pl_free(d); }
    wk_free(d->lo);
    if (abort_job) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (d->own_init) { MPI_Finalize(); }
    wk_free(d);
}
