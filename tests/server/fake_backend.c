// fake_backend.c — a scripted backend for the server's tests (linked into wick-fakeserve in place
// of app/server/backend.c): the HTTP side, the SSE shapes, tool calls, errors, slots, queueing and
// disconnects can be tested exactly and fast, without a model. Each job runs on its own thread and
// announces chunks through notify, as the real backend's threads do.
//
// What a job does is chosen by the model name:
//   fake/echo      reasoning "Thinking about: <last user text>", then content "Echo: <text>"
//                  one word per token (1 ms apart); a tool call get_weather({"city":"Paris"})
//                  instead when tools are given and the text mentions "weather"
//   fake/slow      the same at 25 ms per token, 400 tokens long unless max_tokens says less
//   fake/load      progress (download then load, 300 ms) before answering like fake/echo
//   fake/midfail   three tokens, then an error chunk (WICK_E_IO) and done with "error"
//   fake/network   the Hub fails during the download (WICK_E_NETWORK)
//   fake/corrupt   the GGUF does not load (WICK_E_FORMAT)
//   anything else  no such model (WICK_E_REPO_NOT_FOUND)
// Completions answer "<prompt> and so on" the same way; tokenize gives one id per byte.
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "server.h"

struct be_engine {
    atomic_int n_jobs; // jobs alive (for the log)
};

typedef struct item {
    be_chunk c;
    char *s1, *s2, *s3; // owned strings the chunk points to
    int32_t *ids;
    char **pieces;
    size_t *lens;
    be_logprob lp;
    be_token_lp top[2];
    struct item *next;
} item;

struct be_job {
    be_engine *e;
    srv_request r; // the fields the script reads (copied)
    char *spec, *text;
    bool tools, weather;
    be_notify_fn notify;
    void *ud;
    pthread_t th;
    pthread_mutex_t mu;
    item *head, *tail, *cur;
    atomic_bool cancel;
    int id;
};

wick_status be_engine_create(const be_engine_opts *o, be_engine **out)
{
    (void)o;
    *out = calloc(1, sizeof **out);
    return *out ? WICK_OK : WICK_E_NOMEM;
}

void be_engine_destroy(be_engine *e)
{
    free(e);
}

void be_engine_preload(be_engine *e, const char *spec)
{
    (void)e;
    fprintf(stderr, "fake: preload %s\n", spec);
}

void be_models_list(be_engine *e, void *arr)
{
    (void)e;
    json_t *m = json_pack("{s:s, s:s, s:i, s:s, s:{s:s}}", "id", "fake/echo", "object", "model",
                          "created", 0, "owned_by", "wick", "status", "value", "loaded");
    json_array_append_new(arr, m);
}

static void item_free(item *it)
{
    if (!it) { return; }
    free(it->s1);
    free(it->s2);
    free(it->s3);
    free(it->ids);
    if (it->pieces) {
        for (size_t i = 0; i < it->c.n_ids; i++) {
            free(it->pieces[i]);
        }
    }
    free(it->pieces);
    free(it->lens);
    free(it);
}

static void push(be_job *j, item *it)
{
    pthread_mutex_lock(&j->mu);
    if (j->tail) {
        j->tail->next = it;
    } else {
        j->head = it;
    }
    j->tail = it;
    pthread_mutex_unlock(&j->mu);
    j->notify(j->ud); // after the chunk is visible
}

static item *new_item(be_kind k)
{
    item *it = calloc(1, sizeof *it);
    it->c.kind = k;
    return it;
}

static void emit_text(be_job *j, be_kind k, const char *t, size_t n)
{
    item *it = new_item(k);
    it->s1 = strndup(t, n);
    it->c.text = it->s1;
    it->c.len = n;
    if (k == BE_CONTENT && j->r.logprobs) {
        it->lp.tok = (be_token_lp){it->s1, n, -0.25f};
        it->top[0] = it->lp.tok;
        it->top[1] = (be_token_lp){"?", 1, -2.5f};
        it->lp.top = it->top;
        it->lp.n_top = j->r.top_logprobs < 2 ? j->r.top_logprobs : 2;
        it->c.lp = &it->lp;
        it->c.n_lp = 1;
    }
    push(j, it);
}

static void emit_progress(be_job *j, const char *stage, uint64_t done, uint64_t total)
{
    item *it = new_item(BE_PROGRESS);
    it->c.stage = stage;
    it->c.done = done;
    it->c.total = total;
    push(j, it);
}

static void emit_error(be_job *j, wick_status code, const char *msg)
{
    item *it = new_item(BE_ERROR);
    it->s1 = strdup(msg);
    it->c.code = code;
    it->c.message = it->s1;
    push(j, it);
}

static void emit_done(be_job *j, const char *finish, int64_t n_prompt, int64_t n_gen,
                      int64_t n_reason)
{
    item *it = new_item(BE_DONE);
    it->c.finish = finish;
    it->c.usage = (be_usage){n_prompt, n_gen, n_reason, 0};
    it->c.timings = (be_timings){n_prompt, n_gen, 0, 1.0, 2.0, 3.0, 1.5};
    push(j, it);
}

// Sleeps ms unless cancelled (checked every ms). False when cancelled.
static bool nap(be_job *j, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (atomic_load(&j->cancel)) { return false; }
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return !atomic_load(&j->cancel);
}

// Emits text one word per token; false when stopped (cancel or max_tokens), *n counts tokens.
static bool words(be_job *j, be_kind k, const char *text, int ms, int64_t *n, int64_t limit)
{
    const char *p = text;
    while (*p) {
        const char *q = p + 1;
        while (*q && *q != ' ') {
            q++;
        }
        if (!nap(j, ms)) { return false; }
        if (limit >= 0 && *n >= limit) { return false; }
        emit_text(j, k, p, (size_t)(q - p));
        (*n)++;
        p = q;
    }
    return true;
}

static void *script(void *arg)
{
    be_job *j = arg;
    const char *m = j->spec;
    int64_t n = 0, nr = 0, np = j->text ? (int64_t)strlen(j->text) / 4 + 1 : 1;
    int64_t limit = j->r.max_tokens;
    int ms = strcmp(m, "fake/slow") == 0 ? 25 : 1;
    const char *finish = "stop";
    emit_progress(j, "resolve", 0, 0);
    if (strcmp(m, "fake/echo") && strcmp(m, "fake/slow") && strcmp(m, "fake/load") &&
        strcmp(m, "fake/midfail") && strcmp(m, "fake/network") && strcmp(m, "fake/corrupt")) {
        char msg[300];
        snprintf(msg, sizeof msg, "%.200s: no such repository on the Hub", m);
        emit_error(j, WICK_E_REPO_NOT_FOUND, msg);
        emit_done(j, "error", 0, 0, 0);
        return NULL;
    }
    if (strcmp(m, "fake/load") == 0 || strcmp(m, "fake/network") == 0 ||
        strcmp(m, "fake/corrupt") == 0) {
        for (int i = 0; i <= 10; i++) {
            if (!nap(j, 20)) { goto cancelled; }
            emit_progress(j, "download", (uint64_t)i * 1000, 10000);
            if (i == 5 && strcmp(m, "fake/network") == 0) {
                emit_error(j, WICK_E_NETWORK, "http://127.0.0.1/fake/network: connection reset");
                emit_done(j, "error", 0, 0, 0);
                return NULL;
            }
        }
        emit_progress(j, "load", 0, 0);
        if (strcmp(m, "fake/corrupt") == 0) {
            emit_error(j, WICK_E_FORMAT,
                       "fake-corrupt.gguf: tensor 'output.weight': data overruns the file");
            emit_done(j, "error", 0, 0, 0);
            return NULL;
        }
    }
    if (j->r.kind == SRV_TOKENIZE) {
        item *it = new_item(BE_TOKENS);
        size_t len = j->r.prompt_len;
        it->ids = calloc(len + 1, sizeof *it->ids);
        for (size_t i = 0; i < len; i++) {
            it->ids[i] = (unsigned char)j->r.prompt[i];
        }
        if (j->r.with_pieces) {
            it->pieces = calloc(len + 1, sizeof *it->pieces);
            it->lens = calloc(len + 1, sizeof *it->lens);
            for (size_t i = 0; i < len; i++) {
                it->pieces[i] = strndup(j->r.prompt + i, 1);
                it->lens[i] = 1;
            }
            it->c.pieces = (const char *const *)it->pieces;
            it->c.piece_lens = it->lens;
        }
        it->c.ids = it->ids;
        it->c.n_ids = len;
        push(j, it);
        emit_done(j, "stop", 0, 0, 0);
        return NULL;
    }
    if (j->r.kind == SRV_DETOKENIZE) {
        char *t = calloc(j->r.n_ids + 1, 1);
        for (size_t i = 0; i < j->r.n_ids; i++) {
            t[i] = (char)(j->r.ids[i] & 0x7f ? j->r.ids[i] & 0x7f : '?');
        }
        emit_text(j, BE_TEXT, t, j->r.n_ids);
        free(t);
        emit_done(j, "stop", 0, 0, 0);
        return NULL;
    }
    char buf[4096];
    const char *said = j->text ? j->text : "";
    if (j->r.kind == SRV_CHAT && j->r.think != 0) {
        snprintf(buf, sizeof buf, "Thinking about: %.2000s", said);
        bool all = words(j, BE_REASONING, buf, ms, &n, limit);
        nr = n;
        if (!all) { goto stopped; }
    }
    if (j->tools && j->weather) {
        item *it = new_item(BE_TOOL_CALL);
        it->c.name = "get_weather";
        it->c.arguments = "{\"city\":\"Paris\"}";
        push(j, it);
        n++;
        emit_done(j, "stop", np, n, nr);
        return NULL;
    }
    if (strcmp(m, "fake/slow") == 0) {
        for (int i = 0; i < 400; i++) {
            if (!nap(j, ms)) { goto stopped; }
            if (limit >= 0 && n >= limit) { goto stopped; }
            snprintf(buf, sizeof buf, " w%d", i);
            emit_text(j, BE_CONTENT, buf, strlen(buf));
            n++;
        }
    } else {
        snprintf(buf, sizeof buf, j->r.kind == SRV_CHAT ? "Echo: %.2000s" : "%.2000s and so on",
                 said);
        int64_t before = n;
        if (strcmp(m, "fake/midfail") == 0) { limit = n + 3; }
        if (!words(j, BE_CONTENT, buf, ms, &n, limit)) {
            if (strcmp(m, "fake/midfail") == 0 && n - before == 3) {
                emit_error(j, WICK_E_IO, "fake.gguf: read error in the middle of the answer");
                emit_done(j, "error", np, n, nr);
                return NULL;
            }
            goto stopped;
        }
    }
    emit_done(j, finish, np, n, nr);
    return NULL;
stopped:
    if (!atomic_load(&j->cancel)) {
        emit_done(j, "length", np, n, nr);
        return NULL;
    }
cancelled:
    fprintf(stderr, "fake: job %d cancelled\n", j->id);
    emit_done(j, "cancelled", np, n, nr);
    return NULL;
}

wick_status be_job_start(be_engine *e, const srv_request *r, be_notify_fn notify, void *ud,
                         be_job **out)
{
    static atomic_int next_id;
    be_job *j = calloc(1, sizeof *j);
    if (!j) { return WICK_E_NOMEM; }
    j->e = e;
    j->r.kind = r->kind;
    j->r.think = r->think;
    j->r.max_tokens = r->max_tokens;
    j->r.logprobs = r->logprobs;
    j->r.top_logprobs = r->top_logprobs;
    j->r.with_pieces = r->with_pieces;
    j->spec = strdup(r->spec);
    j->tools = r->tools && !(json_is_string(r->tool_choice) &&
                             strcmp(json_string_value(r->tool_choice), "none") == 0);
    if (r->kind == SRV_CHAT) {
        json_t *last = json_array_get(r->messages, json_array_size(r->messages) - 1);
        j->text = strdup(json_string_value(json_object_get(last, "content")));
    } else if (r->prompt) {
        j->text = strndup(r->prompt, r->prompt_len);
        j->r.prompt = j->text;
        j->r.prompt_len = r->prompt_len;
    }
    if (r->ids) {
        j->r.ids = malloc(r->n_ids * sizeof *r->ids + 1);
        memcpy(j->r.ids, r->ids, r->n_ids * sizeof *r->ids);
        j->r.n_ids = r->n_ids;
    }
    j->weather = j->text && strstr(j->text, "weather");
    j->notify = notify;
    j->ud = ud;
    j->id = atomic_fetch_add(&next_id, 1);
    pthread_mutex_init(&j->mu, NULL);
    atomic_fetch_add(&e->n_jobs, 1);
    if (pthread_create(&j->th, NULL, script, j) != 0) {
        be_job_free(j);
        return WICK_E_NOMEM;
    }
    *out = j;
    return WICK_OK;
}

bool be_job_next(be_job *j, be_chunk *out)
{
    item_free(j->cur);
    j->cur = NULL;
    pthread_mutex_lock(&j->mu);
    item *it = j->head;
    if (it) {
        j->head = it->next;
        if (!j->head) { j->tail = NULL; }
    }
    pthread_mutex_unlock(&j->mu);
    if (!it) { return false; }
    j->cur = it;
    *out = it->c;
    return true;
}

void be_job_cancel(be_job *j)
{
    atomic_store(&j->cancel, true);
}

void be_job_free(be_job *j)
{
    if (!j) { return; }
    atomic_store(&j->cancel, true);
    if (j->th) { pthread_join(j->th, NULL); }
    item_free(j->cur);
    while (j->head) {
        item *n = j->head->next;
        item_free(j->head);
        j->head = n;
    }
    atomic_fetch_sub(&j->e->n_jobs, 1);
    pthread_mutex_destroy(&j->mu);
    free(j->spec);
    free(j->text);
    free(j->r.ids);
    free(j);
}
