// writer.c — the hub's writer thread and the temp files' hashes. The loop hands it each received
// chunk (copied) for a sink (a job's queue into a file); it writes the chunk into the file and
// feeds the file's hash, in order. So a slow or throttled disk (a pwrite of 16 kB can take tens
// of ms under dirty-page pressure) and the hashing never delay the caller's event loop.
// Backpressure: past HUB_WQ_MAX queued bytes, transfers pause. Knows files and sinks, not jobs.
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hub/hub_internal.h"

// --- the hash ------------------------------------------------------------------------------------
wick_status wk_hub_file_hash_start(hub_file *f)
{
    if (!f->md) { f->md = EVP_MD_CTX_new(); }
    if (!f->md) { return wk_fail_nomem("digest"); }
    const EVP_MD *alg = f->hash_kind == 1 ? EVP_sha1() : EVP_sha256();
    if (EVP_DigestInit_ex(f->md, alg, NULL) != 1) {
        return wk_fail(WICK_E_INTERNAL, "digest init failed");
    }
    if (f->hash_kind == 1) { // git blob id: sha1("blob <size>\0" + content)
        char pre[40];
        int n = snprintf(pre, sizeof pre, "blob %" PRIu64, f->size);
        EVP_DigestUpdate(f->md, pre, (size_t)n + 1);
    }
    return WICK_OK;
}

void wk_hub_file_digest(hub_file *f, char hex[2 * EVP_MAX_MD_SIZE + 1])
{
    hex[0] = '\0';
    if (!f->hash_kind) { return; }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(f->md, d, &dl);
    wk_hub_hex(d, dl, hex);
}

void wk_hub_file_free(hub_file *f)
{
    if (f->md) { EVP_MD_CTX_free(f->md); }
    f->md = NULL;
    wk_free(f->path);
    f->path = NULL;
}

// --- the thread ----------------------------------------------------------------------------------
static void set_err(hub_sink *s, wick_status rc, const char *fmt, ...) WK_PRINTF(3, 4);
static void set_err(hub_sink *s, wick_status rc, const char *fmt, ...)
{
    if (atomic_load(&s->err) != 0) { return; }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    atomic_store(&s->err, rc); // after the message: readers see it whole
}

static void run_op(wr_op *op)
{
    hub_sink *s = op->sink;
    hub_file *f = s->file;
    if (atomic_load(&s->err) != 0) { return; } // after a failure, the rest is moot
    switch (op->kind) {
    case WR_DATA: {
        size_t done = 0;
        while (done < op->n) {
            ssize_t w = pwrite(f->fd, op->data + done, op->n - done, (off_t)(op->off + done));
            if (w < 0 && errno == EINTR) { continue; }
            if (w <= 0) {
                int e = w < 0 ? errno : ENOSPC;
                bool full = e == ENOSPC || e == EDQUOT || e == EFBIG;
                set_err(s, full ? WICK_E_NOSPACE : WICK_E_IO, "%s: %s%s", f->path, strerror(e),
                        full ? " (the download can resume once there is room)" : "");
                return;
            }
            done += (size_t)w;
        }
        if (s->hash) { EVP_DigestUpdate(f->md, op->data, op->n); }
        break;
    }
    case WR_TRUNC:
        if (ftruncate(f->fd, 0) != 0) {
            set_err(s, WICK_E_IO, "%s: truncate: %s", f->path, strerror(errno));
            return;
        }
        if (wk_hub_file_hash_start(f) < 0) { set_err(s, WICK_E_NOMEM, "%s", wick_errmsg()); }
        break;
    case WR_HASH_PREFIX: {
        static _Thread_local char buf[1 << 20];
        uint64_t pos = 0;
        while (pos < op->off) {
            size_t want = (size_t)WK_MIN((uint64_t)sizeof buf, op->off - pos);
            ssize_t r = pread(f->fd, buf, want, (off_t)pos);
            if (r <= 0) {
                set_err(s, WICK_E_IO, "%s: read: %s", f->path, r < 0 ? strerror(errno) : "short");
                return;
            }
            EVP_DigestUpdate(f->md, buf, (size_t)r);
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
        int left = atomic_fetch_sub(&op->sink->pending, 1) - 1;
        bool wake = left == 0 || atomic_load(&op->sink->err) != 0 ||
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

static void enqueue(wick_hub *h, hub_sink *s, wr_op *op)
{
    op->next = NULL;
    op->sink = s;
    atomic_fetch_add(&s->pending, 1);
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

void wk_hub_writer_flush(wick_hub *h, hub_sink *s)
{
    wr_op *op = s->cur;
    if (!op) { return; }
    s->cur = NULL;
    enqueue(h, s, op);
}

wick_status wk_hub_writer_push(wick_hub *h, hub_sink *s, wr_kind kind, uint64_t off)
{
    wk_hub_writer_flush(h, s); // the bytes received so far go first
    wr_op *op = wk_malloc(sizeof *op);
    if (!op) { return wk_fail_nomem("write"); }
    op->kind = kind;
    op->off = off;
    op->n = 0;
    op->cap = 0;
    enqueue(h, s, op);
    return WICK_OK;
}

wick_status wk_hub_writer_append(wick_hub *h, hub_sink *s, uint64_t off, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        wr_op *op = s->cur;
        if (op && (op->off + op->n != off || op->n == op->cap)) { // not contiguous, or full
            wk_hub_writer_flush(h, s);
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
            s->cur = op;
        }
        size_t k = WK_MIN(n, op->cap - op->n);
        memcpy(op->data + op->n, p, k);
        op->n += k;
        p += k;
        off += k;
        n -= k;
        if (op->n == op->cap) { wk_hub_writer_flush(h, s); }
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

void wk_hub_writer_drain(wick_hub *h, hub_sink *s)
{
    if (!h->writer_started) { return; }
    wk_hub_writer_flush(h, s);
    if (atomic_load(&s->pending) == 0) { return; }
    pthread_mutex_lock(&h->wmu);
    while (atomic_load(&s->pending) > 0) { pthread_cond_wait(&h->wdone, &h->wmu); }
    pthread_mutex_unlock(&h->wmu);
}

wick_status wk_hub_writer_truncate(wick_hub *h, hub_sink *s)
{
    wk_hub_writer_drain(h, s);
    hub_file *f = s->file;
    if (ftruncate(f->fd, 0) != 0) {
        return wk_fail(WICK_E_IO, "%s: truncate: %s", f->path, strerror(errno));
    }
    return wk_hub_file_hash_start(f);
}
