// writer.c — the hub's writer thread. The loop hands it each received chunk (copied); it writes
// the chunk into the job's temp file and feeds the job's hash, in order. So a slow or throttled
// disk (a pwrite of 16 kB can take tens of ms under dirty-page pressure) and the hashing never
// delay the caller's event loop. Backpressure: past HUB_WQ_MAX queued bytes, transfers pause.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hub/hub_internal.h"

static void set_err(hub_job *j, wick_status rc, const char *fmt, ...) WK_PRINTF(3, 4);
static void set_err(hub_job *j, wick_status rc, const char *fmt, ...)
{
    if (atomic_load(&j->wr_err) != 0) { return; }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->wr_msg, sizeof j->wr_msg, fmt, ap);
    va_end(ap);
    atomic_store(&j->wr_err, rc); // after the message: readers see it whole
}

static void run_op(wr_op *op)
{
    hub_job *j = op->job;
    if (atomic_load(&j->wr_err) != 0) { return; } // after a failure, the rest is moot
    switch (op->kind) {
    case WR_DATA: {
        size_t done = 0;
        while (done < op->n) {
            ssize_t w = pwrite(op->fd, op->data + done, op->n - done, (off_t)(op->off + done));
            if (w < 0 && errno == EINTR) { continue; }
            if (w <= 0) {
                int e = w < 0 ? errno : ENOSPC;
                bool full = e == ENOSPC || e == EDQUOT || e == EFBIG;
                set_err(j, full ? WICK_E_NOSPACE : WICK_E_IO, "%s: %s%s",
                        j->parent ? j->parent->tmp_path : j->tmp_path, strerror(e),
                        full ? " (the download can resume once there is room)" : "");
                return;
            }
            done += (size_t)w;
        }
        if (op->md) { EVP_DigestUpdate(op->md, op->data, op->n); }
        break;
    }
    case WR_TRUNC:
        if (ftruncate(j->fd, 0) != 0) {
            set_err(j, WICK_E_IO, "%s: truncate: %s", j->tmp_path, strerror(errno));
            return;
        }
        if (wk_hub_md_reset(j) < 0) { set_err(j, WICK_E_NOMEM, "%s", wick_errmsg()); }
        break;
    case WR_HASH_PREFIX: {
        static _Thread_local char buf[1 << 20];
        uint64_t pos = 0;
        while (pos < op->off) {
            size_t want = (size_t)WK_MIN((uint64_t)sizeof buf, op->off - pos);
            ssize_t r = pread(j->fd, buf, want, (off_t)pos);
            if (r <= 0) {
                set_err(j, WICK_E_IO, "%s: read: %s", j->tmp_path, r < 0 ? strerror(errno) : "short");
                return;
            }
            EVP_DigestUpdate(j->md, buf, (size_t)r);
            pos += (uint64_t)r;
        }
        break;
    }
    }
}

static void *writer_main(void *arg)
{
    wick_hub *h = arg;
    pthread_mutex_lock(&h->wmu);
    for (;;) {
        while (!h->wq_head && !h->wstop) { pthread_cond_wait(&h->wcv, &h->wmu); }
        wr_op *op = h->wq_head;
        if (!op) { break; } // stopping, queue empty
        h->wq_head = op->next;
        if (!h->wq_head) { h->wq_tail = NULL; }
        pthread_mutex_unlock(&h->wmu);
        run_op(op);
        pthread_mutex_lock(&h->wmu);
        h->wq_bytes -= op->n;
        int left = atomic_fetch_sub(&op->job->pending, 1) - 1;
        bool wake = left == 0 || atomic_load(&op->job->wr_err) != 0 ||
                    (h->bp_paused && h->wq_bytes < HUB_WQ_MAX / 2);
        if (h->bp_paused && h->wq_bytes < HUB_WQ_MAX / 2) { h->bp_paused = false; }
        pthread_cond_broadcast(&h->wdone);
        if (op->cap == HUB_WBUF && h->n_pool < HUB_POOL_MAX) { // keep the buffer for reuse
            op->next = h->pool;
            h->pool = op;
            h->n_pool++;
            op = NULL;
        }
        pthread_mutex_unlock(&h->wmu); // free (maybe munmap) and wake without the lock
        wk_free(op);
        if (wake) { wick_hub_wakeup(h); } // the loop has something to do: verify, resume
        pthread_mutex_lock(&h->wmu);
    }
    pthread_mutex_unlock(&h->wmu);
    return NULL;
}

wick_status wk_hub_writer_start(wick_hub *h)
{
    pthread_mutex_init(&h->wmu, NULL);
    pthread_cond_init(&h->wcv, NULL);
    pthread_cond_init(&h->wdone, NULL);
    if (pthread_create(&h->writer, NULL, writer_main, h) != 0) {
        return wk_fail(WICK_E_IO, "hub: cannot start the writer thread");
    }
    h->writer_started = true;
    return WICK_OK;
}

void wk_hub_writer_stop(wick_hub *h)
{
    if (!h->writer_started) { return; }
    pthread_mutex_lock(&h->wmu);
    h->wstop = true;
    pthread_cond_broadcast(&h->wcv);
    pthread_mutex_unlock(&h->wmu);
    pthread_join(h->writer, NULL);
    h->writer_started = false;
    for (wr_op *op = h->pool, *n; op; op = n) {
        n = op->next;
        wk_free(op);
    }
    h->pool = NULL;
    pthread_mutex_destroy(&h->wmu);
    pthread_cond_destroy(&h->wcv);
    pthread_cond_destroy(&h->wdone);
}

static void enqueue(wick_hub *h, hub_job *j, wr_op *op)
{
    op->next = NULL;
    op->job = j;
    op->fd = j->parent ? j->parent->fd : j->fd;
    op->md = j->kind == JOB_PART ? NULL : j->md;
    atomic_fetch_add(&j->pending, 1);
    pthread_mutex_lock(&h->wmu);
    if (h->wq_tail) {
        h->wq_tail->next = op;
    } else {
        h->wq_head = op;
    }
    h->wq_tail = op;
    h->wq_bytes += op->n;
    pthread_cond_signal(&h->wcv);
    pthread_mutex_unlock(&h->wmu);
}

void wk_hub_writer_flush(wick_hub *h, hub_job *j)
{
    wr_op *op = j->wcur;
    if (!op) { return; }
    j->wcur = NULL;
    enqueue(h, j, op);
}

wick_status wk_hub_writer_push(wick_hub *h, hub_job *j, wr_kind kind, uint64_t off,
                               const void *data, size_t n)
{
    (void)data;
    (void)n;
    wk_hub_writer_flush(h, j); // the bytes received so far go first
    wr_op *op = wk_malloc(sizeof *op);
    if (!op) { return wk_fail_nomem("write"); }
    op->kind = kind;
    op->off = off;
    op->n = 0;
    op->cap = 0;
    enqueue(h, j, op);
    return WICK_OK;
}

wick_status wk_hub_writer_append(wick_hub *h, hub_job *j, uint64_t off, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        wr_op *op = j->wcur;
        if (op && (op->off + op->n != off || op->n == op->cap)) { // not contiguous, or full
            wk_hub_writer_flush(h, j);
            op = NULL;
        }
        if (!op) {
            pthread_mutex_lock(&h->wmu);
            op = h->pool;
            if (op) {
                h->pool = op->next;
                h->n_pool--;
            }
            pthread_mutex_unlock(&h->wmu);
            if (!op) {
                op = wk_malloc(sizeof *op + HUB_WBUF);
                if (!op) { return wk_fail_nomem("write buffer"); }
            }
            op->kind = WR_DATA;
            op->off = off;
            op->n = 0;
            op->cap = HUB_WBUF;
            j->wcur = op;
        }
        size_t k = WK_MIN(n, op->cap - op->n);
        memcpy(op->data + op->n, p, k);
        op->n += k;
        p += k;
        off += k;
        n -= k;
        if (op->n == op->cap) { wk_hub_writer_flush(h, j); }
    }
    return WICK_OK;
}

bool wk_hub_writer_full(wick_hub *h)
{
    // Called for every received chunk: no lock (a writer preempted while holding it would
    // stall the loop). The writer wakes the loop once it is below half.
    if (atomic_load(&h->wq_bytes) < HUB_WQ_MAX) { return false; }
    pthread_mutex_lock(&h->wmu);
    bool full = h->wq_bytes >= HUB_WQ_MAX;
    if (full) { h->bp_paused = true; }
    pthread_mutex_unlock(&h->wmu);
    return full;
}

void wk_hub_writer_drain(wick_hub *h, hub_job *j)
{
    if (!h->writer_started) { return; }
    wk_hub_writer_flush(h, j);
    if (atomic_load(&j->pending) == 0) { return; }
    pthread_mutex_lock(&h->wmu);
    while (atomic_load(&j->pending) > 0) { pthread_cond_wait(&h->wdone, &h->wmu); }
    pthread_mutex_unlock(&h->wmu);
}
