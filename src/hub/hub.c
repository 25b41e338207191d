// hub.c — the hub's event loop: libcurl's multi interface driven through one wk_loop (curl's
// sockets, a timer for every deadline, wakeups), usable from the caller's loop (embedded) or
// from a thread the hub owns (threaded), and the public API around it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hub/hub_internal.h"

void wick_hub_opts_init(wick_hub_opts *o)
{
    memset(o, 0, sizeof *o);
    o->offline = -1;
    o->max_transfers = 8;
    o->connect_timeout_ms = 10000;
    o->stall_timeout_ms = 30000;
    o->max_retries = 5;
    o->backoff_ms = 1000;
    o->backoff_max_ms = 8000;
    o->parts = 1;
    o->part_min_bytes = (uint64_t)256 << 20;
}

// --- curl callbacks: keep the loop in step with the sockets curl wants watched -------------------
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    (void)socketp;
    wick_hub *h = userp;
    if (what == CURL_POLL_REMOVE) {
        wk_loop_unwatch(&h->loop, s);
    } else {
        wk_loop_watch(&h->loop, s, (what & CURL_POLL_IN) != 0, (what & CURL_POLL_OUT) != 0);
    }
    return 0;
}

static int on_timer(CURLM *m, long ms, void *userp)
{
    (void)m;
    wick_hub *h = userp;
    h->curl_deadline = ms < 0 ? -1.0 : wk_now() + (double)ms / 1000.0;
    return 0;
}

// The earlier of the jobs' deadline and curl's (< 0: none).
static double next_deadline(const wick_hub *h)
{
    double d = h->next_deadline;
    if (h->curl_deadline >= 0 && (d < 0 || h->curl_deadline < d)) { d = h->curl_deadline; }
    return d;
}

static void *thread_main(void *arg);

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); // once per process, before any handle
}

wick_status wick_hub_create(const wick_hub_opts *o, wick_hub **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_hub_create: out is NULL"); }
    *out = NULL;
    wick_hub_opts def;
    if (!o) {
        wick_hub_opts_init(&def);
        o = &def;
    }
    if (o->max_transfers < 1 || o->max_transfers > 1024 || o->max_retries < 0 || o->parts < 1 ||
        o->parts > 64 ||
        o->backoff_ms < 0 || o->backoff_max_ms < 0 || o->connect_timeout_ms < 0 ||
        o->stall_timeout_ms < 0) {
        return wk_fail(WICK_E_INVALID, "wick_hub_create: an option is out of range");
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_curl);

    wick_hub *h = wk_calloc(1, sizeof *h);
    if (!h) { return wk_fail_nomem("hub"); }
    h->loop.epfd = h->loop.evfd = h->loop.tfd = -1;
    h->curl_deadline = h->next_deadline = -1;
    h->next_id = 1;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    wick_status rc = WICK_OK;

    const char *ep = o->endpoint ? o->endpoint : getenv("HF_ENDPOINT");
    if (!ep || !*ep) { ep = "https://huggingface.co"; }
    h->endpoint = wk_strdup(ep);
    if (!h->endpoint) { goto nomem; }
    for (size_t n = strlen(h->endpoint); n > 0 && h->endpoint[n - 1] == '/'; n--) {
        h->endpoint[n - 1] = '\0';
    }
    h->endpoint_origin = wk_hub_origin(h->endpoint);
    if (!h->endpoint_origin) {
        rc = wk_fail(WICK_E_INVALID, "%s: not a valid Hub endpoint URL", h->endpoint);
        goto fail;
    }
    h->cache_dir = o->cache_dir ? wk_strdup(o->cache_dir) : wk_hub_default_cache();
    if (!h->cache_dir) { goto nomem; }
    if (h->cache_dir[0] != '/') { // snapshot paths handed out are absolute
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) {
            rc = wk_fail(WICK_E_IO, "%s: cannot make the cache path absolute", h->cache_dir);
            goto fail;
        }
        char *abs = wk_asprintf("%s/%s", cwd, h->cache_dir);
        if (!abs) { goto nomem; }
        wk_free(h->cache_dir);
        h->cache_dir = abs;
    }
    if (o->token) {
        h->token = o->token[0] ? wk_strdup(o->token) : NULL;
        if (o->token[0] && !h->token) { goto nomem; }
        for (char *p = h->token; p && *p; p++) {
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
                rc = wk_fail(WICK_E_INVALID, "the token has characters a header cannot carry");
                goto fail;
            }
        }
    } else {
        h->token = wk_hub_env_token();
    }
    h->user_agent = o->user_agent ? wk_strdup(o->user_agent)
                                  : wk_asprintf("wick/%s; hf_hub_c/%s", wick_version(),
                                                wick_version());
    if (!h->user_agent) { goto nomem; }
    h->offline = o->offline < 0 ? (wk_hub_env_true("HF_HUB_OFFLINE") ||
                                   wk_hub_env_true("TRANSFORMERS_OFFLINE"))
                                : o->offline != 0;
    h->threaded = o->threaded;
    h->max_transfers = o->max_transfers;
    h->parts = o->parts;
    h->part_min_bytes = o->part_min_bytes;
    h->connect_timeout_ms = o->connect_timeout_ms;
    h->stall_timeout_ms = o->stall_timeout_ms;
    h->max_retries = o->max_retries;
    h->backoff_ms = o->backoff_ms;
    h->backoff_max_ms = o->backoff_max_ms;

    rc = wk_loop_init(&h->loop, "hub");
    if (rc < 0) { goto fail; }

    h->multi = curl_multi_init();
    if (!h->multi) { goto nomem; }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)h->max_transfers + 2);

    rc = wk_hub_writer_start(h);
    if (rc < 0) { goto fail; }
    if (h->threaded) {
        if (pthread_create(&h->thread, NULL, thread_main, h) != 0) {
            rc = wk_fail(WICK_E_IO, "hub: cannot start its thread");
            goto fail;
        }
        h->thread_started = true;
    }
    *out = h;
    return WICK_OK;
nomem:
    rc = wk_fail_nomem("hub");
fail:
    wick_hub_destroy(h);
    return rc;
}


static void do_perform(wick_hub *h);

void wick_hub_destroy(wick_hub *h)
{
    if (!h) { return; }
    if (h->thread_started) {
        atomic_store(&h->stop, true);
        wick_hub_wakeup(h);
        pthread_join(h->thread, NULL);
        h->thread_started = false;
    }
    wk_debug("hub: longest perform %.1f ms (%.1f ms of CPU)", h->worst_perform * 1000,
             h->worst_perform_cpu * 1000);
    // Cancel what is left and report it on this thread.
    if (h->multi) {
        pthread_mutex_lock(&h->mu);
        h->cancel_all = true;
        pthread_mutex_unlock(&h->mu);
        do_perform(h);
    }
    for (hub_job *j = h->jobs, *n; j; j = n) {
        n = j->next;
        wk_hub_job_abort_xfer(h, j);
        wk_hub_job_free(j);
    }
    for (hub_job *j = h->incoming, *n; j; j = n) {
        n = j->next;
        wk_hub_job_free(j);
    }
    wk_hub_writer_stop(h);
    if (h->multi) { curl_multi_cleanup(h->multi); }
    wk_loop_free(&h->loop);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    wk_free(h->cancels);
    wk_free(h->endpoint);
    wk_free(h->endpoint_origin);
    wk_free(h->cache_dir);
    if (h->token) { memset(h->token, 0, strlen(h->token)); }
    wk_free(h->token);
    wk_free(h->user_agent);
    wk_free(h);
}

void wick_hub_wakeup(wick_hub *h)
{
    if (h) { wk_loop_wakeup(&h->loop); }
}

static wick_status start_job(wick_hub *h, hub_job *j, uint64_t *id)
{
    pthread_mutex_lock(&h->mu);
    j->id = h->next_id++;
    j->next = h->incoming;
    h->incoming = j;
    pthread_mutex_unlock(&h->mu);
    if (id) { *id = j->id; }
    wick_hub_wakeup(h);
    return WICK_OK;
}

static hub_job *new_job(wick_hub *h, job_kind kind, const char *repo, const char *rev,
                        const char *file)
{
    hub_job *j = wk_calloc(1, sizeof *j);
    if (!j) { return NULL; }
    j->kind = kind;
    j->hub = h;
    j->state = ST_NEW;
    if (kind == JOB_DOWNLOAD) {
        j->dl.tmp.fd = j->dl.lock_fd = -1;
        j->f.sink.file = &j->dl.tmp;
        j->f.sink.hash = true;
    } else {
        wk_buf_init(&j->ls.body, HUB_MAX_JSON);
    }
    j->repo = wk_strdup(repo);
    j->rev = wk_strdup(rev ? rev : "main");
    j->file = file ? wk_strdup(file) : NULL;
    j->repo_dir = wk_hub_repo_folder(h->cache_dir, repo);
    if (!j->repo || !j->rev || (file && !j->file) || !j->repo_dir) {
        wk_hub_job_free(j);
        return NULL;
    }
    return j;
}

static wick_status check_args(wick_hub *h, const char *repo, const char *rev, uint64_t *id)
{
    if (id) { *id = 0; }
    if (!h) { return wk_fail(WICK_E_INVALID, "hub is NULL"); }
    if (!wk_hub_valid_repo(repo)) {
        return wk_fail(WICK_E_INVALID, "'%s': not a repository id (expected ORG/NAME)",
                       repo ? repo : "(null)");
    }
    if (rev && (!*rev || strlen(rev) > 255 || !wk_hub_valid_path(rev))) {
        return wk_fail(WICK_E_INVALID, "'%s': not a valid revision", rev);
    }
    return WICK_OK;
}

wick_status wick_hub_download(wick_hub *h, const char *repo, const char *rev, const char *file,
                              wick_dl_cb cb, void *ud, uint64_t *id)
{
    wick_status rc = check_args(h, repo, rev, id);
    if (rc < 0) { return rc; }
    if (!wk_hub_valid_path(file)) {
        return wk_fail(WICK_E_INVALID,
                       "'%s': not a file path inside a repository (relative, no '..', no '\\')",
                       file ? file : "(null)");
    }
    hub_job *j = new_job(h, JOB_DOWNLOAD, repo, rev, file);
    if (!j) { return wk_fail_nomem("download"); }
    j->dl.cb = cb;
    j->ud = ud;
    return start_job(h, j, id);
}

wick_status wick_hub_list(wick_hub *h, const char *repo, const char *rev, wick_list_cb cb,
                          void *ud, uint64_t *id)
{
    wick_status rc = check_args(h, repo, rev, id);
    if (rc < 0) { return rc; }
    hub_job *j = new_job(h, JOB_LIST, repo, rev, NULL);
    if (!j) { return wk_fail_nomem("listing"); }
    j->ls.cb = cb;
    j->ud = ud;
    return start_job(h, j, id);
}

static bool running_locked(wick_hub *h, uint64_t id)
{
    for (hub_job *j = h->incoming; j; j = j->next) {
        if (id == 0 || j->id == id) { return true; }
    }
    for (hub_job *j = h->jobs; j; j = j->next) {
        if (id == 0 || j->id == id) { return true; }
    }
    return false;
}

wick_status wick_hub_cancel(wick_hub *h, uint64_t id)
{
    if (!h) { return wk_fail(WICK_E_INVALID, "hub is NULL"); }
    pthread_mutex_lock(&h->mu);
    bool found = running_locked(h, id);
    bool ok = true;
    if (found && id == 0) {
        h->cancel_all = true;
    } else if (found) {
        if (h->n_cancels == h->cap_cancels) {
            size_t cap = h->cap_cancels ? h->cap_cancels * 2 : 16;
            uint64_t *c = wk_realloc(h->cancels, cap * sizeof *c);
            if (c) {
                h->cancels = c;
                h->cap_cancels = cap;
            } else {
                ok = false;
            }
        }
        if (ok) { h->cancels[h->n_cancels++] = id; }
    }
    pthread_mutex_unlock(&h->mu);
    if (!found) {
        return wk_fail(WICK_E_NOT_FOUND, "hub: no running operation %llu", (unsigned long long)id);
    }
    if (!ok) { return wk_fail_nomem("cancel"); }
    wick_hub_wakeup(h);
    return WICK_OK;
}

int wick_hub_fd(const wick_hub *h)
{
    return (!h || h->threaded) ? -1 : wk_loop_fd(&h->loop);
}

int wick_hub_timeout_ms(const wick_hub *h)
{
    if (!h || h->threaded) { return -1; }
    return wk_loop_ms_until(next_deadline(h));
}

// --- the loop ------------------------------------------------------------------------------------
static void update_rates(wick_hub *h, double now)
{
    // Exponentially smoothed rates, sampled every 0.5 s.
    if (h->agg_rate_t == 0) {
        h->agg_rate_t = now;
        h->agg_rate_bytes = h->agg_bytes;
    } else if (now - h->agg_rate_t >= 0.5) {
        double r = (double)(h->agg_bytes - h->agg_rate_bytes) / (now - h->agg_rate_t);
        h->agg_rate = h->agg_rate == 0 ? r : 0.5 * h->agg_rate + 0.5 * r;
        h->agg_rate_t = now;
        h->agg_rate_bytes = h->agg_bytes;
        for (hub_job *j = h->jobs; j; j = j->next) {
            if (j->kind != JOB_DOWNLOAD) { continue; }
            uint64_t d = atomic_load(&j->p_done);
            if (j->dl.rate_t == 0) {
                j->dl.rate_t = now;
                j->dl.rate_bytes = d;
                continue;
            }
            double jr =
                d >= j->dl.rate_bytes ? (double)(d - j->dl.rate_bytes) / (now - j->dl.rate_t) : 0;
            j->dl.rate = j->dl.rate == 0 ? jr : 0.5 * j->dl.rate + 0.5 * jr;
            j->dl.rate_t = now;
            j->dl.rate_bytes = d;
        }
    }
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void do_perform(wick_hub *h)
{
    double t_start = wk_now(), cpu_start = thread_cpu();
    h->in_perform = true;
    wk_loop_clear(&h->loop);

    // Take new jobs and cancel requests.
    pthread_mutex_lock(&h->mu);
    hub_job *in = h->incoming;
    h->incoming = NULL;
    // incoming is newest-first: reverse it to start jobs in the order they were asked for
    hub_job *rev = NULL;
    while (in) {
        hub_job *n = in->next;
        in->next = rev;
        rev = in;
        in = n;
    }
    hub_job **tail = &h->jobs;
    while (*tail) { tail = &(*tail)->next; }
    *tail = rev;
    bool all = h->cancel_all;
    h->cancel_all = false;
    for (hub_job *j = h->jobs; j; j = j->next) {
        if (all) { atomic_store(&j->cancel, true); }
        for (size_t i = 0; i < h->n_cancels; i++) {
            if (h->cancels[i] == j->id) { atomic_store(&j->cancel, true); }
        }
    }
    h->n_cancels = 0;
    pthread_mutex_unlock(&h->mu);

    // Transfers paused by the previous slice take bytes again (curl may deliver them right here).
    h->slice_end = wk_now() + HUB_SLICE;
    for (hub_job *j = h->jobs; j; j = j->next) {
        if (j->x.paused && j->x.easy) {
            j->x.paused = false;
            curl_easy_pause(j->x.easy, CURLPAUSE_CONT);
        }
    }

    // Sockets that are ready, then curl's own timeout.
    wk_loop_event evs[64];
    bool more;
    int rounds = 0;
    int running = 0;
    do {
        int n = wk_loop_ready(&h->loop, evs, 64, &more);
        for (int i = 0; i < n; i++) {
            int w = evs[i].what;
            int flags = (w & WK_LOOP_IN ? CURL_CSELECT_IN : 0) |
                        (w & WK_LOOP_OUT ? CURL_CSELECT_OUT : 0) |
                        (w & WK_LOOP_ERR ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(h->multi, evs[i].fd, flags, &running);
        }
    } while (more && ++rounds < 16);
    if (h->curl_deadline >= 0 && wk_now() >= h->curl_deadline) {
        h->curl_deadline = -1;
        curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }

    // Finished transfers.
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) { continue; }
        hub_job *j = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        CURLcode cc = m->data.result;
        if (j) { wk_hub_job_xfer_done(h, j, cc); }
    }

    // Advance every job that is not inside a transfer; collect the finished ones.
    double now = wk_now();
    double deadline = -1;
    for (hub_job *j = h->jobs; j; j = j->next) {
        if (atomic_load(&j->cancel) && j->state != ST_DONE) {
            wk_hub_job_abort_xfer(h, j);
            wk_fail(WICK_E_CANCELLED, "%s: %s: cancelled", j->repo, j->file ? j->file : "listing");
            wk_hub_job_finish(h, j, WICK_E_CANCELLED);
        }
        if (j->state == ST_META || j->state == ST_GET) {
            wk_hub_job_check_stall(h, j, now, &deadline);
        }
        if (j->state != ST_DONE && j->state != ST_META && j->state != ST_GET) {
            wk_hub_job_step(h, j, now);
        }
        if (j->state == ST_WAIT && (deadline < 0 || j->wake_at < deadline)) {
            deadline = j->wake_at;
        }
        if (j->state == ST_NEW || (j->x.paused && !atomic_load(&h->bp_paused))) { deadline = now; }
        if (j->x.paused && atomic_load(&h->bp_paused) && (deadline < 0 || now + 0.005 < deadline)) {
            deadline = now + 0.005; // the writer is behind: look again soon (it also wakes us)
        }
    }
    pthread_mutex_lock(&h->mu); // wick_hub_progress reads the rates from any thread
    update_rates(h, now);
    pthread_mutex_unlock(&h->mu);

    // Report finished jobs outside the lock. They stay in the list (so waiters still see them
    // running) until their callback has returned; only this thread changes the list.
    bool any = false;
    for (hub_job *j = h->jobs; j; j = j->next) {
        if (j->state == ST_DONE) {
            wk_hub_job_report(j);
            any = true;
        }
    }
    if (any) {
        hub_job *dead = NULL;
        pthread_mutex_lock(&h->mu);
        for (hub_job **pp = &h->jobs; *pp;) {
            hub_job *j = *pp;
            if (j->state == ST_DONE) {
                *pp = j->next;
                j->next = dead;
                dead = j;
                if (j->kind != JOB_PART) {
                    h->n_done++;
                    if (j->rc < 0) { h->n_failed++; }
                }
            } else {
                pp = &j->next;
            }
        }
        h->gen++;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        for (hub_job *j = dead, *nx; j; j = nx) {
            nx = j->next;
            wk_hub_job_free(j);
        }
    }
    h->next_deadline = deadline;
    wk_loop_arm(&h->loop, next_deadline(h));
    h->in_perform = false;
    double took = wk_now() - t_start;
    if (took > h->worst_perform) { // wall time vs CPU time tells work from waiting for a core
        h->worst_perform = took;
        h->worst_perform_cpu = thread_cpu() - cpu_start;
    }
}

wick_status wick_hub_perform(wick_hub *h, int *n_running)
{
    if (n_running) { *n_running = 0; }
    if (!h) { return wk_fail(WICK_E_INVALID, "hub is NULL"); }
    if (h->threaded) { return wk_fail(WICK_E_INVALID, "wick_hub_perform: the hub is threaded"); }
    if (h->in_perform) {
        return wk_fail(WICK_E_INVALID, "wick_hub_perform: called from a callback");
    }
    do_perform(h);
    if (n_running) {
        pthread_mutex_lock(&h->mu);
        int c = 0;
        for (hub_job *j = h->incoming; j; j = j->next) { c++; }
        for (hub_job *j = h->jobs; j; j = j->next) { c++; }
        pthread_mutex_unlock(&h->mu);
        *n_running = c;
    }
    return WICK_OK;
}

static void *thread_main(void *arg)
{
    wick_hub *h = arg;
    while (!atomic_load(&h->stop)) {
        wk_loop_wait(&h->loop, wk_loop_ms_until(next_deadline(h)));
        if (atomic_load(&h->stop)) { break; }
        do_perform(h);
    }
    return NULL;
}

wick_status wick_hub_wait(wick_hub *h, uint64_t id, int timeout_ms)
{
    if (!h) { return wk_fail(WICK_E_INVALID, "hub is NULL"); }
    if (h->threaded ? (h->thread_started && pthread_equal(pthread_self(), h->thread))
                    : h->in_perform) {
        return wk_fail(WICK_E_INVALID, "wick_hub_wait: called from a callback");
    }
    double end = timeout_ms < 0 ? -1 : wk_now() + timeout_ms / 1000.0;
    if (h->threaded) {
        pthread_mutex_lock(&h->mu);
        for (;;) {
            if (!running_locked(h, id)) { break; }
            if (end < 0) {
                pthread_cond_wait(&h->cv, &h->mu);
            } else {
                double left = end - wk_now();
                if (left <= 0) { break; }
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                double t = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + left;
                ts.tv_sec = (time_t)t;
                ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
                pthread_cond_timedwait(&h->cv, &h->mu, &ts);
            }
        }
        bool busy = running_locked(h, id);
        pthread_mutex_unlock(&h->mu);
        return busy ? wk_fail(WICK_E_TIMEOUT, "hub: wait timed out") : WICK_OK;
    }
    for (;;) {
        pthread_mutex_lock(&h->mu);
        bool busy = running_locked(h, id);
        pthread_mutex_unlock(&h->mu);
        if (!busy) { return WICK_OK; }
        int ms = wick_hub_timeout_ms(h);
        if (end >= 0) {
            double left = (end - wk_now()) * 1000.0;
            if (left <= 0) { return wk_fail(WICK_E_TIMEOUT, "hub: wait timed out"); }
            if (ms < 0 || ms > left) { ms = (int)left + 1; }
        }
        wk_loop_wait(&h->loop, ms);
        do_perform(h);
    }
}

wick_status wick_hub_progress(wick_hub *h, uint64_t id, wick_hub_progress_info *out)
{
    if (!h || !out) { return wk_fail(WICK_E_INVALID, "wick_hub_progress: NULL argument"); }
    memset(out, 0, sizeof *out);
    bool found = id == 0;
    pthread_mutex_lock(&h->mu);
    for (hub_job *j = h->jobs; j; j = j->next) {
        if (j->kind != JOB_DOWNLOAD || (id != 0 && j->id != id)) { continue; }
        found = true;
        out->bytes_done += atomic_load(&j->p_done);
        out->bytes_total += atomic_load(&j->p_total);
        if (atomic_load(&j->p_active)) { // (state itself belongs to the loop thread)
            out->n_active++;
        } else if (!atomic_load(&j->p_finished)) {
            out->n_queued++;
        }
        if (id != 0) { out->rate = j->dl.rate; }
    }
    for (hub_job *j = h->incoming; j; j = j->next) {
        if (id == 0 || j->id == id) {
            found = true;
            out->n_queued++;
        }
    }
    if (id == 0) { out->rate = h->agg_rate; }
    out->n_done = h->n_done;
    out->n_failed = h->n_failed;
    pthread_mutex_unlock(&h->mu);
    if (!found) {
        return wk_fail(WICK_E_NOT_FOUND, "hub: no running download %llu", (unsigned long long)id);
    }
    return WICK_OK;
}
