// stream.c — a stream's side facing the caller: the chunk queue with its eventfd (readable
// while chunks are queued), blocking and non-blocking next, callback delivery, cancel and free.
//
// A stream has two references: the caller's (dropped by wick_stream_free) and the worker's (the
// registry's while the model loads, the scheduler's afterwards; dropped once the done chunk is
// out). Emitting copies the chunk into one allocation (queue mode) or hands it to the callback
// (callback mode) under cb_mu, so that wick_stream_free() can wait for a callback running on
// another thread and none starts after it returns.
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "gen/gen.h"

struct wk_chunk_node {
    wk_chunk_node *next;
    wick_chunk c; // its strings and arrays live in the same allocation, after the node
};

static _Atomic uint64_t next_id = 1;

// --- create, reference counting ------------------------------------------------------------------

wick_status wk_stream_create(wick_registry *reg, const wick_request *q, wick_stream **out)
{
    *out = NULL;
    wick_stream *st = wk_calloc(1, sizeof *st);
    if (!st) { return wk_fail_nomem("stream"); }
    st->efd = -1;
    wick_status rc = wk_req_copy(q, &st->req);
    if (rc < 0) {
        wk_free(st);
        return rc;
    }
    if (!q->on_chunk) {
        st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (st->efd < 0) {
            wk_req_free(&st->req);
            wk_free(st);
            return wk_fail(WICK_E_IO, "stream: eventfd: %s", strerror(errno));
        }
    }
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->cb_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&st->refs, 2);
    atomic_init(&st->cancel, false);
    atomic_init(&st->freed, false);
    st->reg = reg;
    st->owner = reg;
    st->t_start = wk_now();
    st->id = atomic_fetch_add(&next_id, 1);
    *out = st;
    return WICK_OK;
}

static void free_nodes(wk_chunk_node *n)
{
    while (n) {
        wk_chunk_node *next = n->next;
        wk_free(n);
        n = next;
    }
}

void wk_stream_unref(wick_stream *st)
{
    if (!st || atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) != 1) { return; }
    free_nodes(st->head);
    free_nodes(st->current);
    if (st->efd >= 0) { close(st->efd); }
    wk_req_free(&st->req);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->cb_mu);
    pthread_cond_destroy(&st->cv);
    wk_free(st);
}

// --- copying a chunk -----------------------------------------------------------------------------

typedef struct copier {
    char *p; // NULL: measuring
    size_t n;
} copier;

static void *put(copier *k, const void *src, size_t n, size_t align, bool nul)
{
    k->n = (k->n + align - 1) / align * align;
    void *d = k->p ? k->p + k->n : NULL;
    if (d && n && src) { memcpy(d, src, n); } // src NULL: room only, filled by the caller
    if (d && nul) { ((char *)d)[n] = '\0'; }
    k->n += n + (nul ? 1 : 0);
    return d;
}

static const char *put_str(copier *k, const char *s)
{
    return s ? put(k, s, strlen(s), 1, true) : NULL;
}

static void put_probs(copier *k, const wick_token_logprob *src, size_t n, wick_token_logprob *dst)
{
    for (size_t i = 0; i < n; i++) {
        const char *b = put(k, src[i].bytes, src[i].n_bytes, 1, true);
        if (dst) {
            dst[i] = src[i];
            dst[i].bytes = b;
        }
    }
}

// Lays the chunk's variable parts out after the node (k->p NULL: only measures).
static void copy_chunk(copier *k, const wick_chunk *src, wick_chunk *dst)
{
    if (dst) { *dst = *src; }
    const char *text = src->text ? put(k, src->text, src->len, 1, true) : NULL;
    wick_token_logprob *tok = NULL, *top = NULL;
    if (src->n_tokens) {
        tok = put(k, NULL, src->n_tokens * sizeof *tok, 8, false);
        put_probs(k, src->tokens, src->n_tokens, tok);
        if (src->n_top > 0) {
            size_t nt = src->n_tokens * (size_t)src->n_top;
            top = put(k, NULL, nt * sizeof *top, 8, false);
            put_probs(k, src->top, nt, top);
        }
    }
    const char *tid = put_str(k, src->tool_id), *tname = put_str(k, src->tool_name),
               *targs = put_str(k, src->tool_arguments), *msg = put_str(k, src->message);
    int32_t *ids = src->n_ids ? put(k, src->ids, src->n_ids * sizeof *ids, 4, false) : NULL;
    if (dst) {
        dst->text = text;
        dst->tokens = tok;
        dst->top = top;
        dst->tool_id = tid;
        dst->tool_name = tname;
        dst->tool_arguments = targs;
        dst->message = msg;
        dst->ids = ids;
    }
}

static wk_chunk_node *node_new(const wick_chunk *c)
{
    copier k = {NULL, sizeof(wk_chunk_node)};
    copy_chunk(&k, c, NULL);
    wk_chunk_node *n = wk_malloc(k.n);
    if (!n) { return NULL; }
    n->next = NULL;
    k.p = (char *)n;
    k.n = sizeof(wk_chunk_node);
    copy_chunk(&k, c, &n->c);
    return n;
}

// --- emitting ------------------------------------------------------------------------------------

static void efd_set(wick_stream *st)
{
    if (st->efd >= 0 && !st->efd_set) {
        uint64_t one = 1;
        ssize_t w = write(st->efd, &one, sizeof one);
        (void)w;
        st->efd_set = true;
    }
}

static void efd_clear(wick_stream *st)
{
    if (st->efd >= 0 && st->efd_set) {
        uint64_t v;
        ssize_t r = read(st->efd, &v, sizeof v);
        (void)r;
        st->efd_set = false;
    }
}

// The stream whose callback this thread is running (wick_stream_free from inside it must not wait
// for itself).
static _Thread_local wick_stream *in_callback;

static void deliver(wick_stream *st, const wick_chunk *c)
{
    pthread_mutex_lock(&st->cb_mu);
    if (!atomic_load(&st->freed)) {
        wick_stream *outer = in_callback;
        in_callback = st;
        st->req.q.on_chunk(st, c, st->req.q.ud);
        in_callback = outer;
    }
    pthread_mutex_unlock(&st->cb_mu);
}

void wk_stream_emit(wick_stream *st, const wick_chunk *c)
{
    pthread_mutex_lock(&st->mu);
    if (st->ended) {
        pthread_mutex_unlock(&st->mu);
        return;
    }
    if (c->type == WICK_CHUNK_DONE) {
        st->ended = true;
        st->sched = NULL; // nobody to wake any more
        st->reg = NULL;
        wk_registry_stream_done(st->owner); // counted out before anyone can see the done chunk
    }
    if (st->req.q.on_chunk) {
        pthread_mutex_unlock(&st->mu);
        deliver(st, c);
        return;
    }
    wk_chunk_node *n = node_new(c);
    if (!n) {
        // Out of memory: an error chunk cannot be queued either; the done chunk must be. A
        // static done node is not possible (the queue frees nodes), so retry a bare done.
        wick_chunk d = {.type = WICK_CHUNK_DONE, .finish_reason = WICK_FINISH_ERROR};
        n = c->type == WICK_CHUNK_DONE ? node_new(&d) : NULL;
        if (!n) {
            pthread_mutex_unlock(&st->mu);
            return;
        }
    }
    if (st->tail) {
        st->tail->next = n;
    } else {
        st->head = n;
    }
    st->tail = n;
    efd_set(st);
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

void wk_stream_progress(wick_stream *st, const char *stage, uint64_t done, uint64_t total)
{
    if (!st->req.q.on_chunk) {
        pthread_mutex_lock(&st->mu);
        wk_chunk_node *t = st->tail;
        if (t && t->c.type == WICK_CHUNK_PROGRESS && strcmp(t->c.stage, stage) == 0) {
            t->c.done = done; // the caller has not seen it yet: update in place
            t->c.total = total;
            pthread_mutex_unlock(&st->mu);
            return;
        }
        pthread_mutex_unlock(&st->mu);
    }
    wick_chunk c = {.type = WICK_CHUNK_PROGRESS, .stage = stage, .done = done, .total = total};
    wk_stream_emit(st, &c);
}

void wk_stream_fail(wick_stream *st, wick_status rc, const char *msg, const wick_chunk *done)
{
    wick_chunk e = {.type = WICK_CHUNK_ERROR, .code = rc, .message = msg ? msg : ""};
    wk_stream_emit(st, &e);
    wick_chunk d = {.type = WICK_CHUNK_DONE};
    if (done) { d = *done; }
    d.type = WICK_CHUNK_DONE;
    d.finish_reason = WICK_FINISH_ERROR;
    if (!done) { d.timings.load_ms = (wk_now() - st->t_start) * 1e3; }
    wk_stream_emit(st, &d);
}

void wk_stream_finish(wick_stream *st, wick_finish_reason f)
{
    wick_chunk d = {.type = WICK_CHUNK_DONE, .finish_reason = f};
    d.timings.load_ms = (wk_now() - st->t_start) * 1e3;
    wk_stream_emit(st, &d);
}

bool wk_stream_ended(wick_stream *st)
{
    pthread_mutex_lock(&st->mu);
    bool e = st->ended;
    pthread_mutex_unlock(&st->mu);
    return e;
}

void wk_stream_set_sched(wick_stream *st, wk_sched *s)
{
    pthread_mutex_lock(&st->mu);
    st->sched = s;
    pthread_mutex_unlock(&st->mu);
}

// --- the caller's side ---------------------------------------------------------------------------

int wick_stream_fd(const wick_stream *st)
{
    return st ? st->efd : -1;
}

wick_status wick_stream_next(wick_stream *st, int timeout_ms, const wick_chunk **out)
{
    if (out) { *out = NULL; }
    if (!st || !out) { return wk_fail(WICK_E_INVALID, "wick_stream_next: NULL argument"); }
    if (st->req.q.on_chunk) {
        return wk_fail(WICK_E_INVALID, "wick_stream_next: the stream delivers to its callback");
    }
    pthread_mutex_lock(&st->mu);
    free_nodes(st->current);
    st->current = NULL;
    struct timespec until;
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    while (!st->head) {
        if (st->done_taken) {
            pthread_mutex_unlock(&st->mu);
            return WICK_DONE;
        }
        if (timeout_ms == 0) {
            pthread_mutex_unlock(&st->mu);
            return WICK_AGAIN;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&st->cv, &st->mu);
        } else if (pthread_cond_timedwait(&st->cv, &st->mu, &until) == ETIMEDOUT && !st->head) {
            pthread_mutex_unlock(&st->mu);
            return st->done_taken ? WICK_DONE : WICK_AGAIN;
        }
    }
    wk_chunk_node *n = st->head;
    st->head = n->next;
    if (!st->head) {
        st->tail = NULL;
        efd_clear(st);
    }
    n->next = NULL;
    st->current = n;
    if (n->c.type == WICK_CHUNK_DONE) { st->done_taken = true; }
    pthread_mutex_unlock(&st->mu);
    *out = &n->c;
    return WICK_OK;
}

void wick_stream_cancel(wick_stream *st)
{
    if (!st) { return; }
    pthread_mutex_lock(&st->mu);
    if (!st->ended) {
        atomic_store_explicit(&st->cancel, true, memory_order_release);
        if (st->sched) {
            wk_sched_wake(st->sched, st);
        } else if (st->reg) {
            wk_registry_wake(st->reg);
        }
    }
    pthread_mutex_unlock(&st->mu);
}

void wick_stream_free(wick_stream *st)
{
    if (!st) { return; }
    atomic_store(&st->freed, true);
    wick_stream_cancel(st);
    if (st->req.q.on_chunk && in_callback != st) {
        // wait for a callback running on another thread; none starts after this
        pthread_mutex_lock(&st->cb_mu);
        pthread_mutex_unlock(&st->cb_mu);
    }
    wk_stream_unref(st);
}

const char *wick_chunk_type_name(wick_chunk_type t)
{
    switch (t) {
    case WICK_CHUNK_PROGRESS: return "progress";
    case WICK_CHUNK_REASONING: return "reasoning";
    case WICK_CHUNK_CONTENT: return "content";
    case WICK_CHUNK_TOOL_CALL: return "tool_call";
    case WICK_CHUNK_ERROR: return "error";
    case WICK_CHUNK_DONE: return "done";
    }
    return NULL;
}

const char *wick_finish_reason_name(wick_finish_reason f)
{
    switch (f) {
    case WICK_FINISH_NONE: return NULL;
    case WICK_FINISH_STOP: return "stop";
    case WICK_FINISH_LENGTH: return "length";
    case WICK_FINISH_TOOL_CALLS: return "tool_calls";
    case WICK_FINISH_CANCELLED: return "cancelled";
    case WICK_FINISH_ERROR: return "error";
    }
    return NULL;
}
