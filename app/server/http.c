// http.c — the HTTP server of `wick serve` on libmicrohttpd.
//
// Threads. One MHD thread runs every connection (epoll); its handlers never block. A request that
// waits (for a slot, a model, a token) is suspended; the backend's notify (wake) resumes it and
// the handler, or the SSE reader of a streamed answer, pulls the job's chunks. A watcher thread
// looks every 100 ms at the sockets of suspended requests, since MHD does not poll those: a client
// that hung up has its job cancelled and its slot freed at once.
//
// Locks. srv.mu guards the request list, the queue and the slot count; conn.mu guards a request's
// wake-up state (suspended, pending, gone) and its job pointer. Order: srv.mu before conn.mu;
// notify takes conn.mu only. MHD_suspend_connection and MHD_resume_connection are called with
// conn.mu held, so a resume always follows the suspend it undoes (MHD requires that).
#define _GNU_SOURCE // POLLRDHUP
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

typedef enum route {
    R_NONE,
    R_HEALTH,
    R_MODELS,
    R_CHAT,
    R_COMPLETIONS,
    R_TOKENIZE,
    R_DETOKENIZE
} route;
typedef enum phase { P_READ, P_QUEUED, P_RUNNING, P_STREAMING } phase;

typedef struct conn conn;
struct conn {
    srv *s;
    struct MHD_Connection *c;
    conn *prev, *next; // srv.conns
    conn *qnext;       // srv queue
    bool queued, slot; // srv.mu
    bool counted;      // srv.mu: counted in srv.n_busy
    int fd;
    route rt;
    phase ph;
    double t0;
    int status;
    char method[8], url[80];
    sbuf body;
    bool has_req;
    srv_request req;
    srv_out out;
    size_t sent; // stream: bytes of out.out already given to MHD
    pthread_mutex_t mu;
    be_job *job;
    bool suspended, pending, gone, start_failed, closed;
};

struct srv {
    srv_opts o;
    struct MHD_Daemon *d;
    be_engine *be;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    conn *conns;
    conn *qh, *qt;
    int n_queued, n_active;
    int n_busy; // requests queued or with a job, until MHD is done with them
    atomic_bool stopping;
    bool quit;
    pthread_t watcher;
    bool has_watcher;
};

// ---- waking a suspended request ----------------------------------------------------------------

static void resume_locked(conn *k)
{
    if (k->suspended) {
        k->suspended = false;
        MHD_resume_connection(k->c);
    }
}

// The backend's notify: new chunks for k. Any thread.
static void wake(void *ud)
{
    conn *k = ud;
    pthread_mutex_lock(&k->mu);
    k->pending = true;
    resume_locked(k);
    pthread_mutex_unlock(&k->mu);
}

// Suspends k unless a wake came since the last look (then the caller looks again) or k is gone.
// Called on the MHD thread from the handler or the reader. True when suspended.
static bool sleep_unless_pending(conn *k)
{
    pthread_mutex_lock(&k->mu);
    bool wait = !k->pending && !k->gone;
    k->pending = false;
    if (wait) {
        k->suspended = true;
        MHD_suspend_connection(k->c);
    }
    pthread_mutex_unlock(&k->mu);
    return wait;
}

// ---- slots and the queue -----------------------------------------------------------------------

// Starts k's job. s->mu held (so k cannot be freed meanwhile); takes k->mu.
static void start_job(srv *s, conn *k)
{
    be_job *j = NULL;
    wick_status rc = be_job_start(s->be, &k->req, wake, k, &j);
    pthread_mutex_lock(&k->mu);
    k->job = j;
    k->start_failed = rc != WICK_OK;
    if (k->gone && j) { be_job_cancel(j); }
    k->pending = true;
    resume_locked(k);
    pthread_mutex_unlock(&k->mu);
}

// Gives free slots to queued requests, oldest first. s->mu held.
static void dispatch(srv *s)
{
    while (s->qh && s->n_active < s->o.parallel && !atomic_load(&s->stopping)) {
        conn *k = s->qh;
        s->qh = k->qnext;
        if (!s->qh) { s->qt = NULL; }
        k->qnext = NULL;
        k->queued = false;
        s->n_queued--;
        k->slot = true;
        s->n_active++;
        start_job(s, k);
    }
}

static void unqueue(srv *s, conn *k)
{
    conn **pp = &s->qh;
    conn *prev = NULL;
    while (*pp && *pp != k) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp) {
        *pp = k->qnext;
        if (s->qt == k) { s->qt = prev; }
        s->n_queued--;
    }
    k->queued = false;
    k->qnext = NULL;
}

// s->mu held.
static void release_slot(srv *s, conn *k)
{
    if (!k->slot) { return; }
    k->slot = false;
    s->n_active--;
    dispatch(s);
    pthread_cond_broadcast(&s->cv);
}

// ---- responses ---------------------------------------------------------------------------------

static enum MHD_Result respond(conn *k, int status, char *body, size_t len, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == 401) { MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer"); }
    if (status == 429) { MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1"); }
    if (status == 405) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
                                k->rt == R_HEALTH || k->rt == R_MODELS ? "GET, HEAD" : "POST");
    }
    k->status = status;
    enum MHD_Result ret = MHD_queue_response(k->c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_json(conn *k, int status, json_t *j)
{
    sbuf b;
    sbuf_init(&b, 0);
    sbuf_json(&b, j);
    sbuf_str(&b, "\n");
    json_decref(j);
    size_t len;
    char *p = sbuf_take(&b, &len);
    return respond(k, status, p, len, "application/json");
}

static enum MHD_Result respond_error(conn *k, const srv_error *e)
{
    return respond_json(k, e->status, srv_error_json(e));
}

static enum MHD_Result fail(conn *k, int status, const char *code, const char *param,
                            const char *msg)
{
    srv_error e;
    srv_error_set(&e, status, param, "%s", msg);
    e.code = code;
    return respond_error(k, &e);
}

// ---- streamed answers --------------------------------------------------------------------------

// Feeds the job's ready chunks to k->out. MHD thread.
static void pump(conn *k)
{
    be_chunk ch;
    while (!k->out.finished && k->job && be_job_next(k->job, &ch)) {
        if (ch.kind == BE_DONE && atomic_load(&k->s->stopping)) {
            k->out.hold_error = "the server is shutting down";
        }
        srv_out_chunk(&k->out, &ch);
    }
    if (k->out.finished && k->slot) { // the job is over: its slot serves the next request now
        pthread_mutex_lock(&k->s->mu);
        release_slot(k->s, k);
        pthread_mutex_unlock(&k->s->mu);
    }
}

static bool is_gone(conn *k)
{
    pthread_mutex_lock(&k->mu);
    bool g = k->gone;
    pthread_mutex_unlock(&k->mu);
    return g;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    conn *k = cls;
    for (;;) {
        if (is_gone(k)) { return MHD_CONTENT_READER_END_WITH_ERROR; }
        sbuf *o = &k->out.out;
        if (k->sent < o->len) {
            size_t n = o->len - k->sent < max ? o->len - k->sent : max;
            memcpy(buf, o->p + k->sent, n);
            k->sent += n;
            if (k->sent == o->len) { k->sent = o->len = 0; }
            return (ssize_t)n;
        }
        if (k->out.finished) { return MHD_CONTENT_READER_END_OF_STREAM; }
        pump(k);
        if (o->len > k->sent || k->out.finished) { continue; }
        if (sleep_unless_pending(k)) { return 0; }
    }
}

static enum MHD_Result respond_stream(conn *k)
{
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, k, NULL);
    if (!r) { return MHD_NO; }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    k->status = 200;
    k->ph = P_STREAMING;
    enum MHD_Result ret = MHD_queue_response(k->c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

// ---- requests ----------------------------------------------------------------------------------

static route route_of(const char *url)
{
    static const struct {
        const char *url;
        route rt;
    } t[] = {
        {"/health", R_HEALTH},           {"/v1/health", R_HEALTH},
        {"/v1/models", R_MODELS},        {"/models", R_MODELS},
        {"/v1/chat/completions", R_CHAT}, {"/chat/completions", R_CHAT},
        {"/v1/completions", R_COMPLETIONS}, {"/completions", R_COMPLETIONS},
        {"/tokenize", R_TOKENIZE},       {"/detokenize", R_DETOKENIZE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(url, t[i].url) == 0) { return t[i].rt; }
    }
    return R_NONE;
}

// Constant-time in the key's bytes: the time depends only on the length the client sent.
static bool key_ok(const char *want, const char *auth)
{
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) { return false; }
    const char *got = auth + 7;
    while (*got == ' ') {
        got++;
    }
    size_t lw = strlen(want), lg = strlen(got);
    unsigned char d = lw != lg;
    for (size_t i = 0; i < lg; i++) {
        d |= (unsigned char)(got[i] ^ want[i % lw]);
    }
    return d == 0;
}

static void link_conn(srv *s, conn *k)
{
    pthread_mutex_lock(&s->mu);
    k->next = s->conns;
    if (s->conns) { s->conns->prev = k; }
    s->conns = k;
    pthread_mutex_unlock(&s->mu);
}

static conn *conn_new(srv *s, struct MHD_Connection *c, const char *url, const char *method)
{
    conn *k = calloc(1, sizeof *k);
    if (!k) { return NULL; }
    k->s = s;
    k->c = c;
    k->t0 = srv_now_ms();
    k->rt = route_of(url);
    snprintf(k->method, sizeof k->method, "%s", method);
    snprintf(k->url, sizeof k->url, "%s", url);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    k->fd = ci ? ci->connect_fd : -1;
    sbuf_init(&k->body, SRV_MAX_BODY);
    pthread_mutex_init(&k->mu, NULL);
    link_conn(s, k);
    return k;
}

// The first call for a request: its headers are in. Refuses what can be refused before the body.
static enum MHD_Result headers_in(conn *k)
{
    srv *s = k->s;
    bool get = strcmp(k->method, "GET") == 0 || strcmp(k->method, "HEAD") == 0;
    bool post = strcmp(k->method, "POST") == 0;
    if (k->rt == R_NONE) {
        char m[160];
        snprintf(m, sizeof m, "no endpoint %s %s", k->method, k->url);
        return fail(k, 404, "not_found", NULL, m);
    }
    if (((k->rt == R_HEALTH || k->rt == R_MODELS) && !get) ||
        (k->rt != R_HEALTH && k->rt != R_MODELS && !post)) {
        return fail(k, 405, "method_not_allowed", NULL, "method not allowed for this endpoint");
    }
    if (s->o.api_key && k->rt != R_HEALTH &&
        !key_ok(s->o.api_key, MHD_lookup_connection_value(k->c, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_AUTHORIZATION))) {
        return fail(k, 401, "invalid_api_key", NULL,
                    "missing or wrong API key (send the header 'Authorization: Bearer KEY')");
    }
    const char *cl =
        MHD_lookup_connection_value(k->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > SRV_MAX_BODY) {
        return fail(k, 413, "request_too_large", NULL, "the request body is over 8 MiB");
    }
    return MHD_YES;
}

static const char *alias_spec(srv *s, const char *name)
{
    for (size_t i = 0; i < s->o.n_aliases; i++) {
        if (strcmp(s->o.aliases[i].name, name) == 0) { return s->o.aliases[i].spec; }
    }
    return name;
}

static enum MHD_Result health(conn *k)
{
    srv *s = k->s;
    json_t *j = json_object();
    pthread_mutex_lock(&s->mu);
    json_object_set_new(j, "status", json_string(atomic_load(&s->stopping) ? "stopping" : "ok"));
    json_object_set_new(j, "slots_idle", json_integer(s->o.parallel - s->n_active));
    json_object_set_new(j, "slots_processing", json_integer(s->n_active));
    json_object_set_new(j, "requests_queued", json_integer(s->n_queued));
    pthread_mutex_unlock(&s->mu);
    return respond_json(k, 200, j);
}

static enum MHD_Result models(conn *k)
{
    srv *s = k->s;
    json_t *data = json_array();
    be_models_list(s->be, data);
    for (size_t i = 0; i < s->o.n_aliases; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "id", json_string(s->o.aliases[i].name));
        json_object_set_new(m, "object", json_string("model"));
        json_object_set_new(m, "created", json_integer(0));
        json_object_set_new(m, "owned_by", json_string("wick"));
        json_object_set_new(m, "alias_of", json_string(s->o.aliases[i].spec));
        json_array_append_new(data, m);
    }
    return respond_json(k, 200, srv_models_json(data));
}

// The whole request is in: parse it and start (or queue) its job.
static enum MHD_Result body_in(conn *k)
{
    srv *s = k->s;
    if (k->body.failed) {
        return fail(k, 413, "request_too_large", NULL, "the request body is over 8 MiB");
    }
    if (k->rt == R_HEALTH) { return health(k); }
    if (k->rt == R_MODELS) { return models(k); }
    static const srv_kind kinds[] = {[R_CHAT] = SRV_CHAT, [R_COMPLETIONS] = SRV_COMPLETION,
                                     [R_TOKENIZE] = SRV_TOKENIZE, [R_DETOKENIZE] = SRV_DETOKENIZE};
    srv_error e;
    k->has_req = true;
    if (!srv_request_parse(kinds[k->rt], k->body.p ? k->body.p : "", k->body.len, &k->req, &e)) {
        return respond_error(k, &e);
    }
    sbuf_free(&k->body);
    const char *name = k->req.model ? k->req.model : s->o.default_model;
    if (!name) {
        return fail(k, 400, NULL, "model", "model: required (this server has no default model)");
    }
    k->req.spec = alias_spec(s, name);
    srv_out_init(&k->out, &k->req, name);
    bool gen = k->rt == R_CHAT || k->rt == R_COMPLETIONS;
    pthread_mutex_lock(&s->mu);
    if (atomic_load(&s->stopping)) {
        pthread_mutex_unlock(&s->mu);
        return fail(k, 503, NULL, NULL, "the server is shutting down");
    }
    k->counted = true;
    s->n_busy++;
    if (!gen || (s->n_active < s->o.parallel && !s->qh)) {
        k->ph = P_RUNNING;
        if (gen) {
            k->slot = true;
            s->n_active++;
        }
        start_job(s, k);
    } else if (s->n_queued < s->o.queue) {
        k->ph = P_QUEUED;
        k->queued = true;
        if (s->qt) {
            s->qt->qnext = k;
        } else {
            s->qh = k;
        }
        s->qt = k;
        s->n_queued++;
    } else {
        k->counted = false;
        s->n_busy--;
        pthread_mutex_unlock(&s->mu);
        return fail(k, 429, "too_many_requests", NULL,
                    "every slot is busy and the queue is full; retry later");
    }
    pthread_mutex_unlock(&s->mu);
    return MHD_YES; // answered from waiting()
}

// A request whose job runs (or waits for a slot): answer once the job says enough.
static enum MHD_Result waiting(conn *k)
{
    for (;;) {
        pthread_mutex_lock(&k->mu);
        bool gone = k->gone, failed = k->start_failed;
        bool started = k->job != NULL;
        pthread_mutex_unlock(&k->mu);
        if (gone) {
            if (atomic_load(&k->s->stopping) && k->ph == P_QUEUED) {
                return fail(k, 503, NULL, NULL, "the server is shutting down");
            }
            return MHD_NO; // the client left: close
        }
        if (failed) { return fail(k, 503, NULL, NULL, "out of memory"); }
        if (started) {
            k->ph = P_RUNNING;
            pump(k);
            if (k->req.stream && k->out.started) { return respond_stream(k); }
            if (k->out.finished) {
                size_t len;
                char *p = sbuf_take(&k->out.out, &len);
                return respond(k, k->out.status, p, len, "application/json");
            }
        }
        if (sleep_unless_pending(k)) { return MHD_YES; }
    }
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    srv *s = cls;
    conn *k = *con_cls;
    if (!k) {
        k = conn_new(s, c, url, method);
        if (!k) { return MHD_NO; }
        *con_cls = k;
        return headers_in(k);
    }
    if (*upload_size) {
        if (srv_now_ms() - k->t0 > 1e3 * s->o.timeout_s) { return MHD_NO; } // trickling: drop
        if (!k->body.failed) { sbuf_add(&k->body, upload, *upload_size); }
        *upload_size = 0;
        return MHD_YES;
    }
    if (k->ph == P_READ) {
        enum MHD_Result r = body_in(k);
        if (r != MHD_YES || k->ph == P_READ || k->status) { return r; }
    }
    return waiting(k);
}

// MHD is done with a request (answered, failed, or the client left).
static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)c;
    srv *s = cls;
    conn *k = *con_cls;
    if (!k) { return; }
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    if (k->prev) {
        k->prev->next = k->next;
    } else {
        s->conns = k->next;
    }
    if (k->next) { k->next->prev = k->prev; }
    if (k->queued) { unqueue(s, k); }
    release_slot(s, k);
    if (k->counted) { s->n_busy--; }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&k->mu);
    k->closed = true;
    be_job *j = k->job;
    k->job = NULL;
    pthread_mutex_unlock(&k->mu);
    be_job_free(j);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && k->status == 0) { k->status = 499; }
    fprintf(stderr, "wick serve: %s %s %d %.1f ms%s\n", k->method, k->url,
            k->status ? k->status : 499, srv_now_ms() - k->t0,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (closed early)");
    if (k->has_req) {
        srv_out_free(&k->out);
        srv_request_free(&k->req);
    }
    sbuf_free(&k->body);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

// ---- the watcher: clients that hang up while their request is suspended -------------------------

static bool hung_up(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (fd < 0 || poll(&p, 1, 0) <= 0) { return false; }
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) { return true; }
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// Marks k gone, cancels its job, frees its slot and wakes it so MHD closes it. s->mu held.
static void drop(srv *s, conn *k)
{
    if (k->queued) { unqueue(s, k); }
    pthread_mutex_lock(&k->mu);
    k->gone = true;
    be_job *j = k->job;
    pthread_mutex_unlock(&k->mu);
    if (j) { be_job_cancel(j); }
    release_slot(s, k);
    pthread_mutex_lock(&k->mu);
    resume_locked(k);
    pthread_mutex_unlock(&k->mu);
}

static void *watch(void *arg)
{
    srv *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->quit) {
        for (conn *k = s->conns; k; k = k->next) {
            pthread_mutex_lock(&k->mu);
            bool check = k->suspended && !k->gone;
            pthread_mutex_unlock(&k->mu);
            if (check && hung_up(k->fd)) { drop(s, k); }
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

// ---- start and stop ----------------------------------------------------------------------------

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("wick serve: ", stderr);
    vfprintf(stderr, fmt, ap);
}

bool srv_start(const srv_opts *o, be_engine *be, srv **out, int *port)
{
    *out = NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", o->port);
    int gai = getaddrinfo(o->host, ps, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "wick: --host %s: %s\n", o->host, gai_strerror(gai));
        return false;
    }
    srv *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        return false;
    }
    s->o = *o;
    s->be = be;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) { flags |= MHD_USE_IPv6; }
    s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_MAX_HEADER_MEM,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        fprintf(stderr, "wick: %s:%d: cannot listen (%s)\n", o->host, o->port,
                errno ? strerror(errno) : "libmicrohttpd failed");
        srv_stop(s, 0);
        return false;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : o->port;
    if (pthread_create(&s->watcher, NULL, watch, s) != 0) {
        fprintf(stderr, "wick: cannot start a thread\n");
        srv_stop(s, 0);
        return false;
    }
    s->has_watcher = true;
    *out = s;
    return true;
}

void srv_stop(srv *s, int grace_ms)
{
    if (!s) { return; }
    if (s->d) {
        MHD_socket ls = MHD_quiesce_daemon(s->d); // no new connections from here on
        if (ls != MHD_INVALID_SOCKET) { close(ls); }
    }
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stopping, true);
    // Queued requests get a 503; running jobs are cancelled and end with an error event.
    while (s->qh) {
        conn *k = s->qh;
        unqueue(s, k);
        pthread_mutex_lock(&k->mu);
        k->gone = true;
        resume_locked(k);
        pthread_mutex_unlock(&k->mu);
    }
    for (conn *k = s->conns; k; k = k->next) {
        pthread_mutex_lock(&k->mu);
        if (k->job) { be_job_cancel(k->job); }
        pthread_mutex_unlock(&k->mu);
    }
    // Wait for the last bytes of every answer to be sent (not only for the jobs to end).
    double end = srv_now_ms() + grace_ms;
    while (s->n_busy > 0 && srv_now_ms() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    s->quit = true;
    pthread_cond_broadcast(&s->cv);
    // Whatever still waits is closed: MHD may not stop with a suspended connection.
    for (conn *k = s->conns; k; k = k->next) {
        pthread_mutex_lock(&k->mu);
        k->gone = true;
        resume_locked(k);
        pthread_mutex_unlock(&k->mu);
    }
    pthread_mutex_unlock(&s->mu);
    if (s->has_watcher) { pthread_join(s->watcher, NULL); }
    if (s->d) { MHD_stop_daemon(s->d); }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
