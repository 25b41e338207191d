// load.c — a load's stages (registry.c runs them on its thread): the Hub listings and downloads,
// admission under the memory budget / max models (idle models unloaded, least recently used
// first), the scheduler that opens the model, and the ends: drop (failed or abandoned) and unload.
#include <sys/stat.h>

#include "gen/registry.h"

void wk_load_set_state(wick_registry *r, wk_gmodel *gm, gm_state s)
{
    pthread_mutex_lock(&r->mu);
    gm->state = s;
    pthread_mutex_unlock(&r->mu);
}

// --- loads: ending -------------------------------------------------------------------------------

void wk_load_free(wk_gmodel *gm)
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
void wk_load_drop(wick_registry *r, wk_gmodel *gm, wick_status rc, const char *msg)
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
        wk_stream_unref(st);
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
        wk_load_free(gm);
    }
}

// Fails gm with this thread's last failure.
static void gm_fail(wick_registry *r, wk_gmodel *gm, wick_status rc)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", wick_errmsg());
    wk_load_drop(r, gm, rc, msg);
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
        wk_load_free(gm);
    }
    return false;
}

// A READY model with no stream is unloaded (its scheduler joined).
void wk_load_unload(wick_registry *r, wk_gmodel *gm)
{
    unlink_model(r, gm);
    wk_sched_stop(gm->sched);
    gm->sched = NULL;
    wk_info("unloaded %s", gm->key);
    wk_load_free(gm);
}

void wk_load_progress(wk_gmodel *gm, const char *stage, uint64_t done, uint64_t total)
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
void wk_load_try_open(wick_registry *r, wk_gmodel *gm)
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
            if (!gm->queued_told) { wk_load_progress(gm, "queued", 0, 0); }
            gm->queued_told = true;
            return; // retried whenever a stream ends
        }
        wk_load_unload(r, victim);
    }
    wk_sched_opts so = {
        .n_threads = r->opts.n_threads,
        .n_ctx = r->opts.n_ctx,
        .n_batch = r->opts.n_batch,
        .n_seq = r->opts.n_seq,
        .kv_type = r->opts.kv_type,
        .prefix_cache = r->opts.prefix_cache,
        .model = r->opts.model,
        .session_hook = r->opts.session_hook,
        .session_ctx = r->opts.session_ctx,
    };
    wk_load_set_state(r, gm, GM_OPEN);
    wk_load_progress(gm, "load", 0, 1);
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
    if (gm->spec.repo) { wk_load_progress(gm, "download", gm->bytes, gm->bytes); }
    wk_load_set_state(r, gm, GM_QUEUED);
    wk_load_try_open(r, gm);
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
        wk_load_drop(r, gm, f->status, f->message);
        return;
    }
    if (d && d->path) {
        wk_free(*d->path);
        *d->path = wk_strdup(f->path);
        if (!*d->path) {
            wk_load_drop(r, gm, WICK_E_NOMEM, "out of memory (download path)");
            return;
        }
    }
    maybe_downloaded(r, gm);
}

static wick_status start_download(wick_registry *r, wk_gmodel *gm, const char *repo,
                                  const char *rev, const char *file, uint64_t size, char **path)
{
    if (gm->n_dls == WK_LOAD_MAX_FILES) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: more than %d files to fetch", repo,
                       WK_LOAD_MAX_FILES);
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
        wk_load_drop(r, gm, l->status, l->message);
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
    wk_load_set_state(r, gm, GM_DOWNLOAD);
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
    wk_load_progress(gm, "download", 0, gm->bytes);
}

static void on_tok_listing(const wick_hub_listing *l, void *ud)
{
    wk_gmodel *gm = ud;
    wick_registry *r = gm->reg;
    gm->tok_list_id = 0;
    if (!op_done(r, gm)) { return; }
    if (l->status < 0) {
        wk_load_drop(r, gm, l->status, l->message);
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
void wk_load_begin(wick_registry *r, wk_gmodel *gm)
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
        wk_load_progress(gm, "resolve", 0, 0);
    }
    if (rc < 0) {
        gm_fail(r, gm, rc);
        return;
    }
    maybe_downloaded(r, gm);
}
