// front.c — a job whose models a registry opens (wick run, wick serve; wick.h section 10): rank 0
// is the front, its registry calls wick_dist_session_hook for each session it creates or
// destroys; the other ranks wait in wick_dist_worker for rank 0 to say which model to open:
//
//   rank 0 --(ctl {OPEN, n_ctx, n_batch, kv_type, mode, path length, n_seq}, path)--> every worker
//   ... the session's passes (pipeline.c, expert.c), then QUIT when rank 0 destroys it ...
//   rank 0 --(ctl {EXIT, 0, ...})--> every worker, from wick_dist_finish
//
// Every node needs the model file at the path rank 0 opened (the same Hub cache, or a shared
// file system). A worker keeps its last model open for the next session of the same file.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"

static const char *const modes[] = {"pipeline", "expert", "auto"};
enum { CTL_N = 7 };

wick_status wick_dist_front(wick_dist *d, const char *mode)
{
    if (!d) { return wk_fail(WICK_E_INVALID, "wick_dist_front: dist is NULL"); }
    for (int i = 0; i < 3; i++) {
        if (mode && !strcmp(mode, modes[i])) {
            d->front_mode = i;
            d->front = true;
            // mpirun (Open MPI) ends the whole job when a rank dies, unless recovery is on
            // (--enable-recovery, which it passes on as this variable): then rank 0 names it
            const char *rec = getenv("OMPI_MCA_orte_enable_recovery");
            if (d->size > 1 && (!rec || strcmp(rec, "1") != 0)) {
                wk_warn("dist: a rank that dies ends the whole job; to end the streams with an "
                        "error naming it instead, start mpirun with --enable-recovery");
            }
            return WICK_OK;
        }
    }
    return wk_fail(WICK_E_INVALID, "dist: mode '%s': expected pipeline, expert or auto",
                   mode ? mode : "(null)");
}

static wick_status send_all(wick_dist *d, const int64_t hdr[CTL_N], const char *path)
{
    for (int r = 1; r < d->size; r++) {
        wick_status rc = wk_dist_send(d, hdr, CTL_N, MPI_INT64_T, r, WK_TAG_CTL);
        if (rc >= 0 && path) { rc = wk_dist_send(d, path, hdr[5], MPI_CHAR, r, WK_TAG_CTL); }
        if (rc < 0) { return rc; }
    }
    return WICK_OK;
}

wick_status wick_dist_session_hook(void *ctx, wick_session *s, bool created)
{
    wick_dist *d = ctx;
    if (!d || !s || d->rank != 0 || !d->front) {
        return wk_fail(WICK_E_INVALID, "wick_dist_session_hook: not rank 0 of a front");
    }
    if (!created) {
        if (d->s == s) { wick_dist_release(d); }
        return WICK_OK;
    }
    if (d->size == 1) { return WICK_OK; }
    if (d->s) {
        return wk_fail(WICK_E_INVALID, "dist: one session at a time over the ranks");
    }
    const char *path = s->m->path;
    // hdr[3]: bit 0 the KV cache in f16, bit 1 the model opened with repacking
    const int64_t flags = (s->kv.type == WK_KV_F16 ? 1 : 0) | (s->m->repack ? 2 : 0);
    const int64_t hdr[CTL_N] = {WK_OP_OPEN,   s->n_ctx, s->n_batch, flags,
                                d->front_mode, (int64_t)strlen(path) + 1, s->n_seq};
    wick_status rc = send_all(d, hdr, path);
    return rc < 0 ? rc : wick_dist_attach(d, s, modes[d->front_mode]);
}

wick_status wick_dist_worker(wick_dist *d, int n_threads)
{
    if (!d || d->rank == 0) {
        return wk_fail(WICK_E_INVALID, "wick_dist_worker: not a worker rank");
    }
    wick_model *m = NULL;
    char *path = NULL;
    wick_status rc = WICK_OK;
    for (;;) {
        int64_t hdr[CTL_N];
        if ((rc = wk_dist_recv_idle(d, 0, WK_TAG_CTL, hdr, CTL_N)) < 0) { break; }
        if (hdr[0] == WK_OP_EXIT) { break; }
        if (hdr[0] != WK_OP_OPEN || hdr[1] < 1 || hdr[2] < 1 || hdr[3] < 0 || hdr[3] > 3 ||
            hdr[4] < 0 || hdr[4] > 2 || hdr[5] < 2 || hdr[5] > 65536 || hdr[6] < 1 ||
            hdr[6] > 1024) {
            rc = wk_fail(WICK_E_FORMAT, "dist: rank %d: bad request {%lld, %lld, ..} from rank 0",
                         d->rank, (long long)hdr[0], (long long)hdr[1]);
            break;
        }
        char *p = wk_malloc((size_t)hdr[5]);
        if (!p) {
            rc = wk_fail_nomem("dist");
            break;
        }
        if ((rc = wk_dist_recv(d, p, hdr[5], MPI_CHAR, 0, WK_TAG_CTL)) < 0) {
            wk_free(p);
            break;
        }
        p[hdr[5] - 1] = 0;
        wick_model_opts mo;
        wick_model_opts_init(&mo);
        mo.repack = hdr[3] & 2;
        // another model than the last, or the same one opened the other way
        if (!path || strcmp(path, p) != 0 || m->repack != mo.repack) {
            wick_model_close(m);
            m = NULL;
            wk_free(path);
            path = p;
            if ((rc = wick_model_open(path, &mo, &m)) < 0) { break; }
        } else {
            wk_free(p);
        }
        wick_session_opts so;
        wick_session_opts_init(&so);
        so.n_ctx = hdr[1];
        so.n_batch = hdr[2];
        so.kv_type = hdr[3] & 1 ? WICK_KV_F16 : WICK_KV_F32;
        so.n_threads = n_threads;
        wick_session *s = NULL;
        if ((rc = wk_session_create_seqs(m, &so, (int)hdr[6], &s)) < 0 ||
            (rc = wick_dist_attach(d, s, modes[hdr[4]])) < 0 || (rc = wick_dist_serve(d)) < 0) {
            wick_session_destroy(s);
            break;
        }
        wick_session_destroy(s);
    }
    wick_model_close(m);
    wk_free(path);
    return rc;
}

void wk_dist_front_exit(wick_dist *d)
{
    if (d->rank != 0 || !d->front || d->failed >= 0) { return; }
    const int64_t hdr[CTL_N] = {WK_OP_EXIT, 0, 0, 0, 0, 0, 0};
    (void)send_all(d, hdr, NULL);
}
