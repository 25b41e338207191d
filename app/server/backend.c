// backend.c — the server's one meeting point with the library (backend.h): jobs are wick streams
// of a wick_registry, told through each stream's pollable fd.
//
// A notifier thread waits on one epoll set holding every job's stream fd, one-shot: when an fd
// becomes readable the thread calls the job's notify once and the fd stays disarmed until the
// server has pulled every ready chunk (be_job_next() meets WICK_AGAIN and re-arms it), so a
// level-triggered fd never spins. Events carry the job's id, looked up under the engine's lock,
// so an event that races with be_job_free() finds nothing and is dropped.
//
// /tokenize and /detokenize need a model's tokenizer, which the registry does not lend out: they
// read it from the GGUF of a spec that is a local path, on a short-lived thread of their own.
// /v1/models lists the models requests have named (with the state their chunks showed) and the
// repositories in the Hugging Face cache.
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "server.h"

#define MAX_SEEN 64 // models remembered for /v1/models

typedef struct seen {
    char *spec;
    char state[12]; // "loading", "loaded", "failed"
    char stage[16];
    uint64_t done, total;
    time_t created;
} seen;

struct be_engine {
    wick_registry *reg;
    int ep, quit_fd;
    pthread_t th;
    bool has_thread;
    pthread_mutex_t mu; // jobs, seen
    be_job *jobs;
    uint64_t next_id;
    seen seen[MAX_SEEN];
    int n_seen;
};

struct be_job {
    be_engine *e;
    be_job *next; // e->jobs
    uint64_t id;
    wick_stream *st;
    int fd;
    char *spec;
    be_notify_fn notify;
    void *ud;
    bool saw_text;
    // Chunks made here (an error before any stream, or a tokenize answer), given before the
    // stream's: [0] and [1], n_own of them, own_pos given so far.
    be_chunk own[2];
    int n_own, own_pos;
    atomic_bool own_ready; // own[] may be read (the tokenize thread sets it when done)
    char *own_text;
    int32_t *own_ids;
    char **own_pieces;
    size_t *own_lens;
    pthread_t tok_th; // tokenize/detokenize work
    bool has_tok_th;
    srv_kind kind;
    char *tok_text;
    size_t tok_len;
    bool tok_special, tok_pieces;
    // logprobs of the current chunk
    be_logprob *lp;
    be_token_lp *top;
    size_t lp_cap, top_cap;
};

// ---- what /v1/models shows ---------------------------------------------------------------------

static void note(be_engine *e, const char *spec, const char *state, const be_chunk *c)
{
    pthread_mutex_lock(&e->mu);
    seen *s = NULL;
    for (int i = 0; i < e->n_seen && !s; i++) {
        if (strcmp(e->seen[i].spec, spec) == 0) { s = &e->seen[i]; }
    }
    if (!s && e->n_seen < MAX_SEEN) {
        s = &e->seen[e->n_seen];
        s->spec = strdup(spec);
        if (s->spec) {
            e->n_seen++;
            s->created = time(NULL);
        } else {
            s = NULL;
        }
    }
    if (s) {
        snprintf(s->state, sizeof s->state, "%s", state);
        if (c && c->stage) {
            snprintf(s->stage, sizeof s->stage, "%s", c->stage);
            s->done = c->done;
            s->total = c->total;
        }
    }
    pthread_mutex_unlock(&e->mu);
}

static void cached_repo(const wick_hub_cached_repo *r, void *ud)
{
    json_t *arr = ud;
    if (strcmp(r->kind, "model") != 0) { return; }
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        if (strcmp(json_string_value(json_object_get(m, "id")), r->repo) == 0) { return; }
    }
    json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s, s:{s:s, s:I}}", "id", r->repo,
                                         "object", "model", "created", 0, "owned_by", "wick",
                                         "status", "value", "cached", "size_on_disk",
                                         (json_int_t)r->size_on_disk));
}

void be_models_list(be_engine *e, void *arr)
{
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->n_seen; i++) {
        seen *s = &e->seen[i];
        json_t *st = json_pack("{s:s}", "value", s->state);
        if (strcmp(s->state, "loading") == 0 && s->stage[0]) {
            json_object_set_new(st, "stage", json_string(s->stage));
            json_object_set_new(st, "done", json_integer((json_int_t)s->done));
            json_object_set_new(st, "total", json_integer((json_int_t)s->total));
        }
        json_t *m = json_pack("{s:s, s:s, s:I, s:s}", "id", s->spec, "object", "model", "created",
                              (json_int_t)s->created, "owned_by", "wick");
        json_object_set_new(m, "status", st);
        json_array_append_new(arr, m);
    }
    pthread_mutex_unlock(&e->mu);
    wick_hub_cache_scan(NULL, cached_repo, arr); // local and quick; a failure lists nothing more
}

// ---- the notifier ------------------------------------------------------------------------------

static void *notifier(void *arg)
{
    be_engine *e = arg;
    struct epoll_event ev[64];
    for (;;) {
        int n = epoll_wait(e->ep, ev, 64, -1);
        if (n < 0 && errno != EINTR) { break; }
        for (int i = 0; i < n; i++) {
            uint64_t id = ev[i].data.u64;
            if (id == 0) { return NULL; } // quit_fd
            pthread_mutex_lock(&e->mu);
            for (be_job *j = e->jobs; j; j = j->next) {
                if (j->id == id) {
                    j->notify(j->ud);
                    break;
                }
            }
            pthread_mutex_unlock(&e->mu);
        }
    }
    return NULL;
}

static void arm(be_job *j, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = j->id};
    epoll_ctl(j->e->ep, op, j->fd, &ev);
}

wick_status be_engine_create(const be_engine_opts *o, be_engine **out)
{
    *out = NULL;
    be_engine *e = calloc(1, sizeof *e);
    if (!e) { return WICK_E_NOMEM; }
    pthread_mutex_init(&e->mu, NULL);
    e->next_id = 1;
    e->ep = epoll_create1(EPOLL_CLOEXEC);
    e->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    wick_registry_opts ro;
    wick_registry_opts_init(&ro);
    ro.n_seq = o->n_parallel > 0 ? o->n_parallel : ro.n_seq;
    if (o->n_ctx) { ro.n_ctx = o->n_ctx; }
    if (o->n_threads) { ro.n_threads = o->n_threads; }
    if (o->max_models) { ro.max_models = o->max_models; }
    if (o->memory) { ro.memory_budget = o->memory; }
    ro.model.repack = !o->no_repack;
    ro.idle_unload_ms = -1; // a server keeps its models until room is needed
    if (o->session_hook) { // one session (of n_seq sequences) spread over the MPI ranks
        ro.session_hook = o->session_hook;
        ro.session_ctx = o->session_ctx;
        ro.max_models = 1;
    }
    wick_status rc = WICK_E_IO;
    if (e->ep < 0 || e->quit_fd < 0) { goto fail; }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, e->quit_fd, &ev) != 0) { goto fail; }
    rc = wick_registry_create(&ro, &e->reg);
    if (rc != WICK_OK) { goto fail; }
    if (pthread_create(&e->th, NULL, notifier, e) != 0) {
        rc = WICK_E_IO;
        goto fail;
    }
    e->has_thread = true;
    *out = e;
    return WICK_OK;
fail:
    be_engine_destroy(e);
    return rc;
}

void be_engine_destroy(be_engine *e)
{
    if (!e) { return; }
    if (e->has_thread) {
        uint64_t one = 1;
        if (write(e->quit_fd, &one, sizeof one) < 0) { /* the thread then never quits: */ }
        pthread_join(e->th, NULL);
    }
    wick_registry_destroy(e->reg);
    if (e->ep >= 0) { close(e->ep); }
    if (e->quit_fd >= 0) { close(e->quit_fd); }
    for (int i = 0; i < e->n_seen; i++) {
        free(e->seen[i].spec);
    }
    pthread_mutex_destroy(&e->mu);
    free(e);
}

// A preload is a one-token stream whose chunks only go to the log.
static void preload_chunk(wick_stream *st, const wick_chunk *c, void *ud)
{
    be_engine *e = ud;
    (void)e;
    if (c->type == WICK_CHUNK_ERROR) { fprintf(stderr, "wick serve: --model: %s\n", c->message); }
    if (c->type == WICK_CHUNK_DONE) { wick_stream_free(st); }
}

void be_engine_preload(be_engine *e, const char *spec)
{
    wick_request q;
    wick_request_init(&q);
    q.model = spec;
    q.prompt = " ";
    q.max_tokens = 1;
    q.on_chunk = preload_chunk;
    q.ud = e;
    wick_stream *st;
    if (wick_stream_start(e->reg, &q, &st) != WICK_OK) {
        fprintf(stderr, "wick serve: --model %s: %s\n", spec, wick_errmsg());
        return;
    }
    note(e, spec, "loading", NULL);
}

// ---- jobs --------------------------------------------------------------------------------------

static void own_error(be_job *j, wick_status code, const char *msg)
{
    free(j->own_text);
    j->own_text = strdup(msg);
    j->own[0] = (be_chunk){.kind = BE_ERROR, .code = code, .message = j->own_text};
    j->own[1] = (be_chunk){.kind = BE_DONE, .finish = "error"};
    j->n_own = 2;
}

// The chat messages as the library takes them; strings borrowed from r->messages.
static wick_message *messages(const srv_request *r, char ***calls_json)
{
    size_t n = json_array_size(r->messages);
    wick_message *m = calloc(n ? n : 1, sizeof *m);
    char **calls = calloc(n ? n : 1, sizeof *calls);
    if (!m || !calls) {
        free(m);
        free(calls);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(r->messages, i);
        m[i].role = json_string_value(json_object_get(o, "role"));
        m[i].content = json_string_value(json_object_get(o, "content"));
        m[i].reasoning_content = json_string_value(json_object_get(o, "reasoning_content"));
        m[i].tool_call_id = json_string_value(json_object_get(o, "tool_call_id"));
        m[i].name = json_string_value(json_object_get(o, "name"));
        json_t *tc = json_object_get(o, "tool_calls");
        if (tc) {
            calls[i] = json_dumps(tc, JSON_COMPACT);
            m[i].tool_calls = calls[i];
        }
    }
    *calls_json = calls;
    return m;
}

static wick_status start_stream(be_engine *e, be_job *j, const srv_request *r)
{
    wick_request q;
    wick_request_init(&q);
    q.model = r->spec;
    q.max_tokens = r->max_tokens;
    q.think = r->think;
    q.stop = (const char *const *)r->stop;
    q.n_stop = r->n_stop;
    wick_sampler_opts *sp = &q.sampling;
    sp->logprobs = r->logprobs;
    sp->top_logprobs = r->top_logprobs;
    if (!isnan(r->temperature)) { sp->temperature = (float)r->temperature; }
    if (!isnan(r->top_p)) { sp->top_p = (float)r->top_p; }
    if (!isnan(r->min_p)) { sp->min_p = (float)r->min_p; }
    if (r->top_k >= 0) { sp->top_k = r->top_k; }
    if (!isnan(r->presence_penalty)) { sp->presence_penalty = (float)r->presence_penalty; }
    if (!isnan(r->frequency_penalty)) { sp->frequency_penalty = (float)r->frequency_penalty; }
    if (r->has_seed) { sp->seed = r->seed == WICK_SEED_RANDOM ? r->seed - 1 : r->seed; }
    wick_logit_bias *bias = NULL;
    if (r->n_bias) {
        bias = calloc(r->n_bias, sizeof *bias);
        if (!bias) { return WICK_E_NOMEM; }
        for (size_t i = 0; i < r->n_bias; i++) {
            bias[i].id = r->bias_ids[i];
            bias[i].bias = r->bias[i] <= -100 ? -INFINITY : r->bias[i];
        }
        sp->logit_bias = bias;
        sp->n_logit_bias = r->n_bias;
    }
    wick_message *msgs = NULL;
    char **calls = NULL;
    char *tools = NULL;
    if (r->kind == SRV_CHAT) {
        msgs = messages(r, &calls);
        if (!msgs) {
            free(bias);
            return WICK_E_NOMEM;
        }
        q.messages = msgs;
        q.n_messages = json_array_size(r->messages);
        bool none = json_is_string(r->tool_choice) &&
                    strcmp(json_string_value(r->tool_choice), "none") == 0;
        if (r->tools && !none) {
            tools = json_dumps(r->tools, JSON_COMPACT);
            q.tools = tools;
        }
    } else if (r->prompt) {
        q.prompt = r->prompt;
    } else {
        q.tokens = r->ids;
        q.n_tokens = r->n_ids;
    }
    wick_status rc = WICK_OK;
    if (r->prompt && strlen(r->prompt) != r->prompt_len) {
        own_error(j, WICK_E_INVALID, "prompt: contains a NUL character");
    } else {
        rc = wick_stream_start(e->reg, &q, &j->st);
        if (rc == WICK_E_INVALID) { // a value the library refuses: the request's fault
            own_error(j, rc, wick_errmsg());
            rc = WICK_OK;
        }
    }
    for (size_t i = 0; calls && i < q.n_messages; i++) {
        free(calls[i]);
    }
    free(calls);
    free(msgs);
    free(tools);
    free(bias);
    return rc;
}

// /tokenize, /detokenize: the tokenizer inside a local GGUF.
static void *tokenize_work(void *arg)
{
    be_job *j = arg;
    wick_gguf *g = NULL;
    wick_tokenizer *tk = NULL;
    struct stat sb;
    wick_status rc;
    if (stat(j->spec, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        char m[400];
        snprintf(m, sizeof m, "%.300s: tokenize and detokenize need the model as a .gguf path",
                 j->spec);
        own_error(j, WICK_E_UNSUPPORTED, m);
        j->own[0].code = WICK_E_INVALID;
        goto out;
    }
    rc = wick_gguf_open(j->spec, &g);
    if (rc == WICK_OK) { rc = wick_tokenizer_open_gguf(g, &tk); }
    if (rc != WICK_OK) {
        own_error(j, rc, wick_errmsg());
        goto out;
    }
    if (j->kind == SRV_TOKENIZE) {
        size_t n = 0;
        unsigned fl =
            WICK_TOKENIZE_PARSE_SPECIAL | (j->tok_special ? WICK_TOKENIZE_ADD_SPECIAL : 0);
        rc = wick_tokenize_alloc(tk, j->tok_text, j->tok_len, fl, &j->own_ids, &n);
        if (rc != WICK_OK) {
            own_error(j, rc, wick_errmsg());
            goto out;
        }
        j->own[0] = (be_chunk){.kind = BE_TOKENS, .ids = j->own_ids, .n_ids = n};
        if (j->tok_pieces) {
            j->own_pieces = calloc(n + 1, sizeof *j->own_pieces);
            j->own_lens = calloc(n + 1, sizeof *j->own_lens);
            for (size_t i = 0; j->own_pieces && j->own_lens && i < n; i++) {
                const char *t = wick_token_text(tk, j->own_ids[i], &j->own_lens[i]);
                j->own_pieces[i] = t ? strndup(t, j->own_lens[i]) : strdup("");
            }
            j->own[0].pieces = (const char *const *)j->own_pieces;
            j->own[0].piece_lens = j->own_lens;
        }
    } else {
        char *text = NULL;
        size_t len = 0;
        rc = wick_detokenize(tk, (const int32_t *)j->tok_text, j->tok_len, 0, &text, &len);
        if (rc != WICK_OK) {
            own_error(j, rc, wick_errmsg());
            goto out;
        }
        j->own_text = strndup(text, len);
        wick_free(text);
        j->own[0] = (be_chunk){.kind = BE_TEXT, .text = j->own_text, .len = len};
    }
    j->own[1] = (be_chunk){.kind = BE_DONE, .finish = "stop"};
    j->n_own = 2;
out:
    wick_tokenizer_close(tk);
    wick_gguf_close(g);
    atomic_store(&j->own_ready, true);
    j->notify(j->ud); // be_job_free joins this thread before it returns
    return NULL;
}

wick_status be_job_start(be_engine *e, const srv_request *r, be_notify_fn notify, void *ud,
                         be_job **out)
{
    *out = NULL;
    be_job *j = calloc(1, sizeof *j);
    if (!j) { return WICK_E_NOMEM; }
    j->e = e;
    j->fd = -1;
    j->notify = notify;
    j->ud = ud;
    j->kind = r->kind;
    j->spec = strdup(r->spec);
    if (!j->spec) {
        free(j);
        return WICK_E_NOMEM;
    }
    pthread_mutex_lock(&e->mu);
    j->id = e->next_id++;
    pthread_mutex_unlock(&e->mu);
    wick_status rc = WICK_OK;
    if (r->kind == SRV_TOKENIZE || r->kind == SRV_DETOKENIZE) {
        if (r->kind == SRV_TOKENIZE) {
            j->tok_text = malloc(r->prompt_len + 1);
            if (j->tok_text) { memcpy(j->tok_text, r->prompt, r->prompt_len); }
            j->tok_len = r->prompt_len;
        } else {
            j->tok_text = malloc(r->n_ids * sizeof(int32_t) + 1);
            if (j->tok_text) { memcpy(j->tok_text, r->ids, r->n_ids * sizeof(int32_t)); }
            j->tok_len = r->n_ids;
        }
        j->tok_special = r->add_special;
        j->tok_pieces = r->with_pieces;
        if (!j->tok_text) { rc = WICK_E_NOMEM; }
    } else {
        rc = start_stream(e, j, r);
        if (rc == WICK_OK && j->st) { j->fd = wick_stream_fd(j->st); }
    }
    if (rc != WICK_OK) {
        be_job_free(j);
        return rc;
    }
    pthread_mutex_lock(&e->mu);
    j->next = e->jobs;
    e->jobs = j;
    pthread_mutex_unlock(&e->mu);
    if (j->fd >= 0) {
        note(e, r->spec, "loading", NULL);
        arm(j, EPOLL_CTL_ADD);
    } else if (j->tok_text) {
        if (pthread_create(&j->tok_th, NULL, tokenize_work, j) != 0) {
            own_error(j, WICK_E_NOMEM, "cannot start a thread");
        } else {
            j->has_tok_th = true;
        }
    }
    if (!j->has_tok_th) {
        atomic_store(&j->own_ready, true);
        if (j->fd < 0) { // the answer (an error) is ready now: told from the notifier's side
            uint64_t one = 1;
            int efd = eventfd(0, EFD_CLOEXEC);
            if (efd >= 0 && write(efd, &one, sizeof one) == sizeof one) {
                j->fd = efd;
                arm(j, EPOLL_CTL_ADD);
            } else if (efd >= 0) {
                close(efd);
            }
        }
    }
    *out = j;
    return WICK_OK;
}

// Room for n logprob entries and n * n_top alternatives.
static bool lp_room(be_job *j, size_t n, size_t n_top)
{
    if (n > j->lp_cap) {
        be_logprob *p = realloc(j->lp, n * sizeof *p);
        if (!p) { return false; }
        j->lp = p;
        j->lp_cap = n;
    }
    if (n * n_top > j->top_cap) {
        be_token_lp *p = realloc(j->top, n * n_top * sizeof *p);
        if (!p) { return false; }
        j->top = p;
        j->top_cap = n * n_top;
    }
    return true;
}

static void map_chunk(be_job *j, const wick_chunk *c, be_chunk *o)
{
    memset(o, 0, sizeof *o);
    switch (c->type) {
    case WICK_CHUNK_PROGRESS:
        o->kind = BE_PROGRESS;
        o->stage = c->stage;
        o->done = c->done;
        o->total = c->total;
        note(j->e, j->spec, "loading", o);
        break;
    case WICK_CHUNK_REASONING:
    case WICK_CHUNK_CONTENT:
        o->kind = c->type == WICK_CHUNK_REASONING ? BE_REASONING : BE_CONTENT;
        o->text = c->text;
        o->len = c->len;
        if (!j->saw_text) {
            j->saw_text = true;
            note(j->e, j->spec, "loaded", NULL);
        }
        if (c->n_tokens && lp_room(j, c->n_tokens, (size_t)c->n_top)) {
            for (size_t i = 0; i < c->n_tokens; i++) {
                const wick_token_logprob *t = &c->tokens[i];
                j->lp[i].tok = (be_token_lp){t->bytes, t->n_bytes, t->logprob};
                j->lp[i].top = j->top + i * (size_t)c->n_top;
                j->lp[i].n_top = c->n_top;
                for (int k = 0; k < c->n_top; k++) {
                    const wick_token_logprob *a = &c->top[i * (size_t)c->n_top + (size_t)k];
                    j->top[i * (size_t)c->n_top + (size_t)k] =
                        (be_token_lp){a->bytes, a->n_bytes, a->logprob};
                }
            }
            o->lp = j->lp;
            o->n_lp = c->n_tokens;
        }
        break;
    case WICK_CHUNK_TOOL_CALL:
        o->kind = BE_TOOL_CALL;
        o->name = c->tool_name;
        o->arguments = c->tool_arguments;
        o->id = c->tool_id;
        break;
    case WICK_CHUNK_ERROR:
        o->kind = BE_ERROR;
        o->code = c->code;
        o->message = c->message;
        if (!j->saw_text) { note(j->e, j->spec, "failed", NULL); }
        break;
    case WICK_CHUNK_DONE: {
        o->kind = BE_DONE;
        const char *f = wick_finish_reason_name(c->finish_reason);
        o->finish = f ? f : "stop";
        o->usage = (be_usage){c->usage.prompt_tokens, c->usage.completion_tokens,
                              c->usage.reasoning_tokens, c->usage.cached_tokens};
        const wick_timings *t = &c->timings;
        o->timings = (be_timings){t->prompt_n, t->predicted_n, c->usage.cached_tokens,
                                  t->load_ms, t->prompt_ms, t->predicted_ms, t->first_token_ms};
        if (c->finish_reason != WICK_FINISH_ERROR && c->finish_reason != WICK_FINISH_CANCELLED) {
            note(j->e, j->spec, "loaded", NULL);
        }
        break;
    }
    }
}

bool be_job_next(be_job *j, be_chunk *out)
{
    if (!atomic_load(&j->own_ready)) { return false; }
    if (j->own_pos < j->n_own) {
        *out = j->own[j->own_pos++];
        return true;
    }
    if (!j->st) { return false; }
    const wick_chunk *c;
    wick_status rc = wick_stream_next(j->st, 0, &c);
    if (rc == WICK_OK) {
        map_chunk(j, c, out);
        return true;
    }
    if (rc == WICK_AGAIN) { arm(j, EPOLL_CTL_MOD); } // told again when the next one comes
    return false;
}

void be_job_cancel(be_job *j)
{
    if (j->st) { wick_stream_cancel(j->st); }
}

void be_job_free(be_job *j)
{
    if (!j) { return; }
    be_engine *e = j->e;
    pthread_mutex_lock(&e->mu); // after this no notify runs for j (the notifier looks it up)
    for (be_job **pp = &e->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    }
    pthread_mutex_unlock(&e->mu);
    if (j->has_tok_th) { pthread_join(j->tok_th, NULL); }
    if (j->fd >= 0) { epoll_ctl(e->ep, EPOLL_CTL_DEL, j->fd, NULL); }
    if (j->st) {
        wick_stream_free(j->st);
    } else if (j->fd >= 0) {
        close(j->fd); // our own eventfd
    }
    free(j->spec);
    free(j->own_text);
    wick_free(j->own_ids);
    if (j->own_pieces) {
        for (size_t i = 0; i < j->own[0].n_ids; i++) {
            free(j->own_pieces[i]);
        }
    }
    free(j->own_pieces);
    free(j->own_lens);
    free(j->tok_text);
    free(j->lp);
    free(j->top);
    free(j);
}
