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

#include "gen/gen.h"

#define TICK_S 0.1 // progress reports while downloading
#define MAX_FILES 64

typedef enum gm_state { GM_RESOLVE, GM_DOWNLOAD, GM_QUEUED, GM_OPEN, GM_READY } gm_state;

typedef struct gm_dl {
    uint64_t id; // 0: finished
    uint64_t size;
    char **path; // where its snapshot path goes (NULL: not needed)
} gm_dl;

struct wk_gmodel {
    wk_gmodel *next;
    wick_registry *reg;
    char *key; // "MODEL\nTOKENIZER"
    wk_spec spec, tok; // tok all NULL: the GGUF's vocabulary
    gm_state state;
    int refs; // streams waiting or running (r->mu)
    double idle_since;
    int n_ops; // Hub operations whose callback has not run yet
    uint64_t list_id, tok_list_id;
    bool picked; // the model listing gave its files
    gm_dl dls[MAX_FILES];
    int n_dls;
    wk_load_args args; // gguf_path, tok_json, tok_config
    uint64_t bytes; // GGUF bytes (the download's size; the budget's figure until open)
    uint64_t mem; // what it counts against the budget once open
    double t_begin;
    wick_stream *waiters;
    wk_sched *sched;
    bool zombie, queued_told;
    uint64_t pass; // the registry's pass that last tried to open it
};

typedef struct loaded_ev {
    struct loaded_ev *next;
    wk_gmodel *gm;
    wick_status rc;
    char *msg;
    uint64_t mem;
} loaded_ev;

struct wick_registry {
    wick_registry_opts opts;
    pthread_mutex_t mu;
    pthread_t thread;
    bool thread_started;
    int efd;
    wick_hub *hub;
    bool stop; // mu
    wick_stream *inbox, *inbox_tail; // mu
    loaded_ev *events; // mu
    wk_gmodel *models; // changed by the registry thread under mu
    wk_gmodel *zombies; // registry thread only
    int n_streams; // mu: streams whose done chunk is not out
    uint64_t n_loads; // mu
    double next_tick;
    uint64_t pass;
};

void wick_registry_opts_init(wick_registry_opts *o)
{
    memset(o, 0, sizeof *o);
    wick_hub_opts_init(&o->hub);
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

static void set_state(wick_registry *r, wk_gmodel *gm, gm_state s)
{
    pthread_mutex_lock(&r->mu);
    gm->state = s;
    pthread_mutex_unlock(&r->mu);
}

// The worker lets go of a stream whose done chunk is out.
static void stream_release(wick_registry *r, wick_stream *st)
{
    (void)r;
    wk_stream_unref(st);
}

void wk_registry_stream_done(wick_registry *r)
{
    pthread_mutex_lock(&r->mu);
    r->n_streams--;
    pthread_mutex_unlock(&r->mu);
}

// --- loads: ending -------------------------------------------------------------------------------

static void gm_free(wk_gmodel *gm)
{
    wk_free(gm->key);
    wk_spec_free(&gm->spec);
    wk_spec_free(&gm->tok);
    wk_load_args_free(&gm->args);
    wk_free(gm);
}

static void unlink_model(wick_registry *r, wk_gmodel *gm)
{
    pthread_mutex_lock(&r->mu);
    for (wk_gmodel **pp = &r->models; *pp; pp = &(*pp)->next) {
        if (*pp == gm) {
            *pp = gm->next;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    gm->next = NULL;
}

// Ends a load that is not READY: its waiters get (rc, msg), or cancelled for WICK_E_CANCELLED and
// for streams cancelled themselves; Hub operations are cancelled; gm leaves the list (a zombie
// until their callbacks have run).
static void gm_drop(wick_registry *r, wk_gmodel *gm, wick_status rc, const char *msg)
{
    unlink_model(r, gm);
    gm->zombie = true;
    while (gm->waiters) {
        wick_stream *st = gm->waiters;
        gm->waiters = st->next_in_list;
        st->next_in_list = NULL;
        if (rc == WICK_E_CANCELLED || wk_stream_cancelled(st)) {
            wk_stream_finish(st, WICK_FINISH_CANCELLED);
        } else {
            wk_stream_fail(st, rc, msg, NULL);
        }
        stream_release(r, st);
    }
    if (gm->list_id) { wick_hub_cancel(r->hub, gm->list_id); }
    if (gm->tok_list_id) { wick_hub_cancel(r->hub, gm->tok_list_id); }
    for (int i = 0; i < gm->n_dls; i++) {
        if (gm->dls[i].id) { wick_hub_cancel(r->hub, gm->dls[i].id); }
    }
    wk_sched_stop(gm->sched);
    gm->sched = NULL;
    if (gm->n_ops > 0) {
        gm->next = r->zombies;
        r->zombies = gm;
    } else {
        gm_free(gm);
    }
}

// Fails gm with this thread's last failure.
static void gm_fail(wick_registry *r, wk_gmodel *gm, wick_status rc)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", wick_errmsg());
    gm_drop(r, gm, rc, msg);
}

// A Hub callback of gm has run: zombies are freed after their last one.
static bool op_done(wick_registry *r, wk_gmodel *gm)
{
    gm->n_ops--;
    if (!gm->zombie) { return true; }
    if (gm->n_ops == 0) {
        for (wk_gmodel **pp = &r->zombies; *pp; pp = &(*pp)->next) {
            if (*pp == gm) {
                *pp = gm->next;
                break;
            }
        }
        gm_free(gm);
    }
    return false;
}

// A READY model with no stream is unloaded (its scheduler joined).
static void gm_unload(wick_registry *r, wk_gmodel *gm)
{
    unlink_model(r, gm);
    wk_sched_stop(gm->sched);
    gm->sched = NULL;
    wk_info("unloaded %s", gm->key);
    gm_free(gm);
}

static void progress_all(wk_gmodel *gm, const char *stage, uint64_t done, uint64_t total)
{
    for (wick_stream *st = gm->waiters; st; st = st->next_in_list) {
        wk_stream_progress(st, stage, done, total);
    }
}

// --- loads: admission and open -------------------------------------------------------------------

static uint64_t loaded_bytes(const wick_registry *r, int *count)
{
    uint64_t sum = 0;
    *count = 0;
    for (const wk_gmodel *g = r->models; g; g = g->next) {
        if (g->state == GM_OPEN || g->state == GM_READY) {
            sum += g->state == GM_READY ? g->mem : g->bytes;
            (*count)++;
        }
    }
    return sum;
}

// The least recently used READY model without streams, or NULL.
static wk_gmodel *lru_idle(wick_registry *r)
{
    wk_gmodel *best = NULL;
    pthread_mutex_lock(&r->mu);
    for (wk_gmodel *g = r->models; g; g = g->next) {
        if (g->state == GM_READY && g->refs == 0 && (!best || g->idle_since < best->idle_since)) {
            best = g;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return best;
}

// Opens gm when there is room (unloading idle models), else leaves it QUEUED.
static void try_open(wick_registry *r, wk_gmodel *gm)
{
    const uint64_t budget = r->opts.memory_budget;
    if (budget && gm->bytes > budget) {
        wk_fail(WICK_E_NOSPACE, "%s: the model needs %llu bytes, the memory budget is %llu",
                gm->args.gguf_path, (unsigned long long)gm->bytes, (unsigned long long)budget);
        gm_fail(r, gm, WICK_E_NOSPACE);
        return;
    }
    for (;;) {
        int count;
        uint64_t used = loaded_bytes(r, &count);
        bool room = (!budget || used + gm->bytes <= budget) &&
                    (r->opts.max_models <= 0 || count < r->opts.max_models);
        if (room) { break; }
        wk_gmodel *victim = lru_idle(r);
        if (!victim) {
            if (!gm->queued_told) { progress_all(gm, "queued", 0, 0); }
            gm->queued_told = true;
            return; // retried whenever a stream ends
        }
        gm_unload(r, victim);
    }
    wk_sched_opts so = {
        .n_threads = r->opts.n_threads,
        .n_ctx = r->opts.n_ctx,
        .n_batch = r->opts.n_batch,
        .n_seq = r->opts.n_seq,
        .kv_type = r->opts.kv_type,
        .prefix_cache = r->opts.prefix_cache,
    };
    set_state(r, gm, GM_OPEN);
    progress_all(gm, "load", 0, 1);
    wick_status rc = wk_sched_start(r, gm, &so, &gm->args, &gm->sched);
    if (rc < 0) { gm_fail(r, gm, rc); }
}

// Everything is on disk once no listing or download is pending.
static void maybe_downloaded(wick_registry *r, wk_gmodel *gm)
{
    if (gm->list_id || gm->tok_list_id || (gm->spec.repo && !gm->picked)) { return; }
    for (int i = 0; i < gm->n_dls; i++) {
        if (gm->dls[i].id) { return; }
    }
    if (gm->spec.repo) { progress_all(gm, "download", gm->bytes, gm->bytes); }
    set_state(r, gm, GM_QUEUED);
    try_open(r, gm);
}

// --- loads: the Hub ------------------------------------------------------------------------------

static void on_download(const wick_hub_file *f, void *ud)
{
    wk_gmodel *gm = ud;
    wick_registry *r = gm->reg;
    gm_dl *d = NULL;
    for (int i = 0; i < gm->n_dls; i++) {
        if (gm->dls[i].id == f->id) { d = &gm->dls[i]; }
    }
    if (d) { d->id = 0; }
    if (!op_done(r, gm)) { return; }
    if (f->status < 0) {
        gm_drop(r, gm, f->status, f->message);
        return;
    }
    if (d && d->path) {
        wk_free(*d->path);
        *d->path = wk_strdup(f->path);
        if (!*d->path) {
            gm_drop(r, gm, WICK_E_NOMEM, "out of memory (download path)");
            return;
        }
    }
    maybe_downloaded(r, gm);
}

static wick_status start_download(wick_registry *r, wk_gmodel *gm, const char *repo,
                                  const char *rev, const char *file, uint64_t size, char **path)
{
    if (gm->n_dls == MAX_FILES) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: more than %d files to fetch", repo, MAX_FILES);
    }
    gm_dl *d = &gm->dls[gm->n_dls];
    wick_status rc = wick_hub_download(r->hub, repo, rev, file, on_download, gm, &d->id);
    if (rc < 0) { return rc; }
    d->size = size;
    d->path = path;
    gm->n_dls++;
    gm->n_ops++;
    return WICK_OK;
}

static void on_model_listing(const wick_hub_listing *l, void *ud)
{
    wk_gmodel *gm = ud;
    wick_registry *r = gm->reg;
    gm->list_id = 0;
    if (!op_done(r, gm)) { return; }
    if (l->status < 0) {
        gm_drop(r, gm, l->status, l->message);
        return;
    }
    wk_pick pick;
    wick_status rc = wk_spec_pick(gm->spec.repo, gm->spec.tag, l->entries, l->n_entries, &pick);
    if (rc < 0) {
        gm_fail(r, gm, rc);
        return;
    }
    const char *rev = l->commit && *l->commit ? l->commit : gm->spec.rev;
    gm->bytes = pick.bytes;
    gm->picked = true;
    set_state(r, gm, GM_DOWNLOAD);
    for (size_t i = 0; i < pick.n_files && rc >= 0; i++) {
        uint64_t size = 0;
        for (size_t j = 0; j < l->n_entries; j++) {
            if (strcmp(l->entries[j].path, pick.files[i]) == 0) { size = l->entries[j].size; }
        }
        rc = start_download(r, gm, gm->spec.repo, rev, pick.files[i], size,
                            i == 0 ? &gm->args.gguf_path : NULL);
    }
    wk_pick_free(&pick);
    if (rc < 0) {
        gm_fail(r, gm, rc);
        return;
    }
    progress_all(gm, "download", 0, gm->bytes);
}

static void on_tok_listing(const wick_hub_listing *l, void *ud)
{
    wk_gmodel *gm = ud;
    wick_registry *r = gm->reg;
    gm->tok_list_id = 0;
    if (!op_done(r, gm)) { return; }
    if (l->status < 0) {
        gm_drop(r, gm, l->status, l->message);
        return;
    }
    const wick_hub_entry *json = NULL, *tiktoken = NULL, *config = NULL;
    for (size_t i = 0; i < l->n_entries; i++) {
        const char *p = l->entries[i].path;
        if (strcmp(p, "tokenizer.json") == 0) { json = &l->entries[i]; }
        if (strcmp(p, "tiktoken.model") == 0) { tiktoken = &l->entries[i]; }
        if (strcmp(p, "tokenizer_config.json") == 0) { config = &l->entries[i]; }
    }
    if (!json) { json = tiktoken; }
    if (!json) {
        wk_fail(WICK_E_NOT_FOUND, "%s: the repository has no tokenizer.json (nor tiktoken.model)",
                gm->tok.repo);
        gm_fail(r, gm, WICK_E_NOT_FOUND);
        return;
    }
    const char *rev = l->commit && *l->commit ? l->commit : gm->tok.rev;
    wick_status rc =
        start_download(r, gm, gm->tok.repo, rev, json->path, json->size, &gm->args.tok_json);
    if (rc >= 0 && config) {
        rc = start_download(r, gm, gm->tok.repo, rev, config->path, config->size,
                            &gm->args.tok_config);
    }
    if (rc < 0) { gm_fail(r, gm, rc); }
}

// A local tokenizer: a tokenizer.json (or tiktoken) file, or a folder holding one; the
// tokenizer_config.json beside it when there is one.
static wick_status local_tokenizer(wk_gmodel *gm)
{
    const char *p = gm->tok.path;
    struct stat sb;
    char *json = NULL, *config = NULL;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        json = wk_asprintf("%s/tokenizer.json", p);
        if (json && stat(json, &sb) != 0) {
            wk_free(json);
            json = wk_asprintf("%s/tiktoken.model", p);
            if (json && stat(json, &sb) != 0) {
                wk_free(json);
                return wk_fail(WICK_E_NOT_FOUND, "%s: no tokenizer.json (nor tiktoken.model)", p);
            }
        }
        config = wk_asprintf("%s/tokenizer_config.json", p);
    } else {
        json = wk_strdup(p);
        const char *slash = strrchr(p, '/');
        config = slash ? wk_asprintf("%.*s/tokenizer_config.json", (int)(slash - p), p)
                       : wk_strdup("tokenizer_config.json");
    }
    if (!json || !config) {
        wk_free(json);
        wk_free(config);
        return wk_fail_nomem("tokenizer path");
    }
    if (stat(config, &sb) != 0) {
        wk_free(config);
        config = NULL;
    }
    gm->args.tok_json = json;
    gm->args.tok_config = config;
    return WICK_OK;
}

// Starts the load of a new gm (registry thread).
static void gm_begin(wick_registry *r, wk_gmodel *gm)
{
    wick_status rc = WICK_OK;
    if (gm->tok.path) {
        rc = local_tokenizer(gm);
    } else if (gm->tok.repo) {
        rc = wick_hub_list(r->hub, gm->tok.repo, gm->tok.rev, on_tok_listing, gm,
                           &gm->tok_list_id);
        if (rc >= 0) { gm->n_ops++; }
    }
    if (rc >= 0 && gm->spec.path) {
        struct stat sb;
        if (stat(gm->spec.path, &sb) != 0 || S_ISDIR(sb.st_mode)) {
            rc = wk_fail(WICK_E_INVALID, "%s: a folder; name the .gguf file in it", gm->spec.path);
        } else {
            gm->bytes = (uint64_t)sb.st_size;
            gm->args.gguf_path = wk_strdup(gm->spec.path);
            if (!gm->args.gguf_path) { rc = wk_fail_nomem("model path"); }
        }
    } else if (rc >= 0) {
        rc = wick_hub_list(r->hub, gm->spec.repo, gm->spec.rev, on_model_listing, gm,
                           &gm->list_id);
        if (rc >= 0) { gm->n_ops++; }
        progress_all(gm, "resolve", 0, 0);
    }
    if (rc < 0) {
        gm_fail(r, gm, rc);
        return;
    }
    maybe_downloaded(r, gm);
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
        stream_release(r, st);
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
        stream_release(r, st);
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
            stream_release(r, st);
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
        gm_begin(r, gm); // a new load
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
            stream_release(r, st);
            pthread_mutex_lock(&r->mu);
            gm->refs--;
            pthread_mutex_unlock(&r->mu);
        }
        if (!gm->waiters && gm->refs == 0 && gm->state < GM_OPEN) {
            wk_debug("load of %s abandoned", gm->key);
            gm_drop(r, gm, WICK_E_CANCELLED, "");
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
        gm_drop(r, gm, ev->rc, ev->msg);
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
        progress_all(gm, "download", done < total ? done : total, total);
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
            gm_unload(r, gm);
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
                stream_release(r, st);
            }
            gm_unload(r, gm);
        } else {
            gm_drop(r, gm, WICK_E_CANCELLED, "");
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
                stream_release(r, st);
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
                try_open(r, gm);
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
        gm_free(gm);
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
