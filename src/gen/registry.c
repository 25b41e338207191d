// registry.c — the registry: one thread drives the Hub client (embedded mode: it polls the hub's
// fd) and every load's state machine; each loaded model has a scheduler thread (sched.c).
//
// A load (one wk_gmodel per (model spec, tokenizer spec), shared by every request for it):
//   RESOLVE   list the model repo (and the tokenizer repo) on the Hub; pick the GGUF (spec.c)
//   DOWNLOAD  fetch the GGUF file(s) and tokenizer files into the cache; progress every 100 ms
//   QUEUED    waiting for room under the memory budget / max models (idle models are unloaded,
//             least recently used first)
//   OPEN      the scheduler thread opens the GGUF, tokenizer and template (wk_registry_loaded)
//   READY     streams go to the scheduler; refs counts them; idle_since starts at refs == 0
// A failure at any stage ends every waiting stream with an error chunk and removes the load (not
// cached). A load nobody waits for any more before OPEN is abandoned: its Hub operations are
// cancelled, and the entry lives on as a zombie until their callbacks have run.
//
// Locking: the registry thread alone changes a load's fields; r->mu guards what other threads
// touch (inbox, events, refs, the list and states read by wick_registry_info_get). Chunks are
// emitted without r->mu held (a callback may call back into the registry).
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen/registry.h"

#define TICK_S 0.1 // progress reports while downloading

void wick_registry_opts_init(wick_registry_opts *o)
{
    memset(o, 0, sizeof *o);
    wick_hub_opts_init(&o->hub);
    wick_model_opts_init(&o->model);
    o->max_models = 3;
    o->idle_unload_ms = 300000;
    o->n_seq = 4;
    o->n_batch = 512;
    o->kv_type = WICK_KV_F32;
    o->prefix_cache = true;
}

void wk_registry_wake(wick_registry *r)
{
    uint64_t one = 1;
    ssize_t w = write(r->efd, &one, sizeof one);
    (void)w;
}

void wk_registry_stream_done(wick_registry *r)
{
    pthread_mutex_lock(&r->mu);
    r->n_streams--;
    pthread_mutex_unlock(&r->mu);
}

// --- streams arriving ----------------------------------------------------------------------------

static wk_gmodel *find_model(wick_registry *r, const char *key)
{
    for (wk_gmodel *g = r->models; g; g = g->next) {
        if (strcmp(g->key, key) == 0) { return g; }
    }
    return NULL;
}

// Hands a stream to a READY model's scheduler.
static void to_sched(wk_gmodel *gm, wick_stream *st)
{
    wk_stream_set_sched(st, gm->sched);
    wk_sched_add(gm->sched, st);
}

static void handle_new(wick_registry *r, wick_stream *st)
{
    if (wk_stream_cancelled(st)) {
        wk_stream_finish(st, WICK_FINISH_CANCELLED);
        wk_stream_unref(st);
        return;
    }
    const wick_request *q = &st->req.q;
    wk_spec spec, tok = {0};
    wick_status rc = wk_spec_parse(q->model, "model", &spec);
    if (rc >= 0 && q->tokenizer) {
        rc = wk_spec_parse(q->tokenizer, "tokenizer", &tok);
        if (rc < 0) { wk_spec_free(&spec); }
    }
    char *key = rc >= 0 ? wk_asprintf("%s\n%s", q->model, q->tokenizer ? q->tokenizer : "") : NULL;
    if (rc >= 0 && !key) {
        rc = wk_fail_nomem("model key");
        wk_spec_free(&spec);
        wk_spec_free(&tok);
    }
    if (rc < 0) {
        wk_stream_fail(st, rc, wick_errmsg(), NULL);
        wk_stream_unref(st);
        return;
    }
    wk_gmodel *gm = find_model(r, key);
    if (gm) {
        wk_free(key);
        wk_spec_free(&spec);
        wk_spec_free(&tok);
    } else {
        gm = wk_calloc(1, sizeof *gm);
        if (!gm) {
            wk_free(key);
            wk_spec_free(&spec);
            wk_spec_free(&tok);
            wk_stream_fail(st, WICK_E_NOMEM, "out of memory (model entry)", NULL);
            wk_stream_unref(st);
            return;
        }
        gm->reg = r;
        gm->key = key;
        gm->spec = spec;
        gm->tok = tok;
        gm->t_begin = wk_now();
        pthread_mutex_lock(&r->mu);
        gm->state = GM_RESOLVE;
        gm->next = r->models;
        r->models = gm;
        r->n_loads++;
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_lock(&r->mu);
    gm->refs++;
    pthread_mutex_unlock(&r->mu);
    if (gm->state == GM_READY) {
        to_sched(gm, st);
        return;
    }
    st->next_in_list = gm->waiters;
    gm->waiters = st;
    if (gm->state == GM_RESOLVE && !gm->list_id && !gm->tok_list_id && !gm->args.gguf_path) {
        wk_load_begin(r, gm); // a new load
    } else {
        static const char *const stage[] = {"resolve", "download", "queued", "load", "ready"};
        wk_stream_progress(st, stage[gm->state], 0, gm->state == GM_DOWNLOAD ? gm->bytes : 0);
    }
}

// Cancelled waiters leave their load; a load nobody waits for before OPEN is abandoned.
static void sweep_cancelled(wick_registry *r)
{
    for (wk_gmodel *gm = r->models, *next; gm; gm = next) {
        next = gm->next;
        for (wick_stream **pp = &gm->waiters; *pp;) {
            wick_stream *st = *pp;
            if (!wk_stream_cancelled(st)) {
                pp = &st->next_in_list;
                continue;
            }
            *pp = st->next_in_list;
            st->next_in_list = NULL;
            wk_stream_finish(st, WICK_FINISH_CANCELLED);
            wk_stream_unref(st);
            pthread_mutex_lock(&r->mu);
            gm->refs--;
            pthread_mutex_unlock(&r->mu);
        }
        if (!gm->waiters && gm->refs == 0 && gm->state < GM_OPEN) {
            wk_debug("load of %s abandoned", gm->key);
            wk_load_drop(r, gm, WICK_E_CANCELLED, "");
        }
    }
}

// --- events from schedulers ----------------------------------------------------------------------

void wk_registry_loaded(wick_registry *r, wk_gmodel *gm, wick_status rc, const char *msg,
                        uint64_t mem_bytes)
{
    loaded_ev *ev = wk_calloc(1, sizeof *ev);
    char *m = wk_strdup(msg ? msg : "");
    pthread_mutex_lock(&r->mu);
    if (ev) {
        ev->gm = gm;
        ev->rc = rc;
        ev->msg = m;
        ev->mem = mem_bytes;
        ev->next = r->events;
        r->events = ev;
    } else {
        wk_free(m);
    }
    pthread_mutex_unlock(&r->mu);
    wk_registry_wake(r);
}

void wk_registry_stream_ended(wick_registry *r, wk_gmodel *gm)
{
    pthread_mutex_lock(&r->mu);
    if (--gm->refs == 0) { gm->idle_since = wk_now(); }
    pthread_mutex_unlock(&r->mu);
    wk_registry_wake(r);
}

static void handle_loaded(wick_registry *r, loaded_ev *ev)
{
    wk_gmodel *gm = ev->gm;
    if (ev->rc < 0) {
        wk_load_drop(r, gm, ev->rc, ev->msg);
        return;
    }
    gm->mem = ev->mem;
    double now = wk_now();
    pthread_mutex_lock(&r->mu);
    gm->state = GM_READY;
    gm->idle_since = now;
    pthread_mutex_unlock(&r->mu);
    wk_info("loaded %s in %.3f s", gm->args.gguf_path, now - gm->t_begin);
    while (gm->waiters) {
        wick_stream *st = gm->waiters;
        gm->waiters = st->next_in_list;
        st->next_in_list = NULL;
        to_sched(gm, st); // a cancelled one is ended by the scheduler
    }
}

// --- the thread ----------------------------------------------------------------------------------

static void tick_progress(wick_registry *r)
{
    for (wk_gmodel *gm = r->models; gm; gm = gm->next) {
        if (gm->state != GM_DOWNLOAD || !gm->waiters) { continue; }
        uint64_t done = 0;
        for (int i = 0; i < gm->n_dls; i++) {
            wick_hub_progress_info pi;
            if (gm->dls[i].id && wick_hub_progress(r->hub, gm->dls[i].id, &pi) >= 0) {
                done += pi.bytes_done;
            } else if (!gm->dls[i].id) {
                done += gm->dls[i].size;
            }
        }
        uint64_t total = gm->bytes;
        wk_load_progress(gm, "download", done < total ? done : total, total);
    }
}

// Unloads models idle for longer than opts.idle_unload_ms; returns ms until the next one is due
// (-1: none).
static int idle_unload(wick_registry *r, double now)
{
    const int idle_ms = r->opts.idle_unload_ms;
    if (idle_ms < 0) { return -1; }
    int wait = -1;
    for (wk_gmodel *gm = r->models, *next; gm; gm = next) {
        next = gm->next;
        pthread_mutex_lock(&r->mu);
        bool idle = gm->state == GM_READY && gm->refs == 0;
        double since = gm->idle_since;
        pthread_mutex_unlock(&r->mu);
        if (!idle) { continue; }
        double left = since + idle_ms * 1e-3 - now;
        if (left <= 0) {
            wk_load_unload(r, gm);
        } else {
            int ms = (int)(left * 1e3) + 1;
            if (wait < 0 || ms < wait) { wait = ms; }
        }
    }
    return wait;
}

static bool any_downloading(const wick_registry *r)
{
    for (const wk_gmodel *gm = r->models; gm; gm = gm->next) {
        if (gm->state == GM_DOWNLOAD) { return true; }
    }
    return false;
}

// Stop: every stream ends cancelled, every model goes.
static void shutdown_all(wick_registry *r)
{
    while (r->models) {
        wk_gmodel *gm = r->models;
        if (gm->state == GM_READY || gm->state == GM_OPEN) {
            // the scheduler ends its streams; waiters of an OPEN load are cancelled here
            while (gm->waiters) {
                wick_stream *st = gm->waiters;
                gm->waiters = st->next_in_list;
                st->next_in_list = NULL;
                wk_stream_finish(st, WICK_FINISH_CANCELLED);
                wk_stream_unref(st);
            }
            wk_load_unload(r, gm);
        } else {
            wk_load_drop(r, gm, WICK_E_CANCELLED, "");
        }
    }
}

static void *registry_main(void *arg)
{
    wick_registry *r = arg;
    struct pollfd pfd[2] = {{r->efd, POLLIN, 0}, {wick_hub_fd(r->hub), POLLIN, 0}};
    int timeout = 0;
    for (;;) {
        poll(pfd, 2, timeout);
        uint64_t v;
        ssize_t rd = read(r->efd, &v, sizeof v);
        (void)rd;
        wick_hub_perform(r->hub, NULL);

        pthread_mutex_lock(&r->mu);
        wick_stream *in = r->inbox;
        r->inbox = r->inbox_tail = NULL;
        loaded_ev *evs = r->events;
        r->events = NULL;
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);

        while (evs) {
            loaded_ev *e = evs;
            evs = e->next;
            handle_loaded(r, e);
            wk_free(e->msg);
            wk_free(e);
        }
        while (in) {
            wick_stream *st = in;
            in = st->next_in_list;
            st->next_in_list = NULL;
            if (stop) {
                wk_stream_finish(st, WICK_FINISH_CANCELLED);
                wk_stream_unref(st);
            } else {
                handle_new(r, st);
            }
        }
        if (stop) { break; }
        sweep_cancelled(r);
        // queued loads retry when a model becomes idle (try_open may unload others: rescan)
        r->pass++;
        for (wk_gmodel *gm = r->models; gm;) {
            if (gm->state == GM_QUEUED && gm->pass != r->pass) {
                gm->pass = r->pass;
                wk_load_try_open(r, gm);
                gm = r->models;
            } else {
                gm = gm->next;
            }
        }
        double now = wk_now();
        if (now >= r->next_tick) {
            tick_progress(r);
            r->next_tick = now + TICK_S;
        }
        timeout = idle_unload(r, now);
        int hub_to = wick_hub_timeout_ms(r->hub);
        if (hub_to >= 0 && (timeout < 0 || hub_to < timeout)) { timeout = hub_to; }
        if (any_downloading(r)) {
            int tick = (int)((r->next_tick - now) * 1e3) + 1;
            if (timeout < 0 || tick < timeout) { timeout = tick; }
        }
    }
    shutdown_all(r);
    wick_hub_destroy(r->hub); // runs the zombies' last callbacks
    r->hub = NULL;
    pthread_mutex_lock(&r->mu);
    loaded_ev *evs = r->events; // from schedulers stopped above: their models are gone
    r->events = NULL;
    pthread_mutex_unlock(&r->mu);
    while (evs) {
        loaded_ev *e = evs;
        evs = e->next;
        wk_free(e->msg);
        wk_free(e);
    }
    while (r->zombies) { // (no callback can come any more)
        wk_gmodel *gm = r->zombies;
        r->zombies = gm->next;
        wk_load_free(gm);
    }
    return NULL;
}

// --- public --------------------------------------------------------------------------------------

wick_status wick_registry_create(const wick_registry_opts *o, wick_registry **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_registry_create: out is NULL"); }
    *out = NULL;
    wick_registry_opts def;
    if (!o) {
        wick_registry_opts_init(&def);
        o = &def;
    }
    if (o->max_models < 0 || o->idle_unload_ms < -1 || o->n_threads < 0 || o->n_threads > 256 ||
        o->n_ctx < 0 || o->n_seq < 1 || o->n_seq > 64 || o->n_batch < 0 ||
        (o->kv_type != WICK_KV_F32 && o->kv_type != WICK_KV_F16)) {
        return wk_fail(WICK_E_INVALID, "wick_registry_create: an option is out of range");
    }
    wick_registry *r = wk_calloc(1, sizeof *r);
    if (!r) { return wk_fail_nomem("registry"); }
    r->opts = *o;
    r->opts.hub.threaded = false;
    pthread_mutex_init(&r->mu, NULL);
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wick_status rc;
    if (r->efd < 0) {
        rc = wk_fail(WICK_E_IO, "registry: eventfd: %s", strerror(errno));
        goto fail;
    }
    if ((rc = wick_hub_create(&r->opts.hub, &r->hub)) < 0) { goto fail; }
    if (pthread_create(&r->thread, NULL, registry_main, r) != 0) {
        rc = wk_fail(WICK_E_IO, "registry: cannot start its thread");
        goto fail;
    }
    r->thread_started = true;
    *out = r;
    return WICK_OK;
fail:
    wick_hub_destroy(r->hub);
    if (r->efd >= 0) { close(r->efd); }
    pthread_mutex_destroy(&r->mu);
    wk_free(r);
    return rc;
}

void wick_registry_destroy(wick_registry *r)
{
    if (!r) { return; }
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_mutex_unlock(&r->mu);
    wk_registry_wake(r);
    if (r->thread_started) { pthread_join(r->thread, NULL); }
    close(r->efd);
    pthread_mutex_destroy(&r->mu);
    wk_free(r);
}

void wk_registry_pass(wick_registry *r, int n_streams)
{
    pthread_mutex_lock(&r->mu);
    r->n_passes++;
    if (n_streams > r->max_pass_streams) { r->max_pass_streams = n_streams; }
    pthread_mutex_unlock(&r->mu);
}

wick_status wick_registry_info_get(wick_registry *r, wick_registry_info *out)
{
    if (!r || !out) { return wk_fail(WICK_E_INVALID, "wick_registry_info_get: NULL argument"); }
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->mu);
    for (const wk_gmodel *g = r->models; g; g = g->next) {
        out->n_models++;
        if (g->state != GM_READY) { out->n_loading++; }
        if (g->state == GM_READY) { out->memory_bytes += g->mem; }
    }
    out->n_streams = r->n_streams;
    out->n_loads = r->n_loads;
    out->n_passes = r->n_passes;
    out->max_pass_streams = r->max_pass_streams;
    pthread_mutex_unlock(&r->mu);
    return WICK_OK;
}

wick_status wick_stream_start(wick_registry *r, const wick_request *q, wick_stream **out)
{
    if (out) { *out = NULL; }
    if (!r || !q || !out) { return wk_fail(WICK_E_INVALID, "wick_stream_start: NULL argument"); }
    wick_stream *st;
    wick_status rc = wk_stream_create(r, q, &st);
    if (rc < 0) { return rc; }
    pthread_mutex_lock(&r->mu);
    if (r->stop) {
        pthread_mutex_unlock(&r->mu);
        wk_stream_unref(st);
        wk_stream_unref(st);
        return wk_fail(WICK_E_INVALID, "wick_stream_start: the registry is being destroyed");
    }
    if (r->inbox_tail) {
        r->inbox_tail->next_in_list = st;
    } else {
        r->inbox = st;
    }
    r->inbox_tail = st;
    r->n_streams++;
    pthread_mutex_unlock(&r->mu);
    wk_registry_wake(r);
    *out = st;
    return WICK_OK;
}
