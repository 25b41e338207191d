// gen.h — completion streams and the model registry (internal): what the files of src/gen share.
//
//   spec.c      model specs: parse "[hf.co/]OWNER/REPO[@REV][:TAG]" or a path; pick the GGUF file
//               (or split set) of a repo listing
//   request.c   the request's deep copy and defaults
//   stream.c    a stream: its chunk queue, eventfd, blocking/non-blocking next, callback
//               delivery, cancel and free (refcounted: the caller's reference + the worker's)
//   registry.c  the registry thread: the Hub client (embedded mode), single-flight loads,
//               refcounts, idle unload, memory budget and LRU
//   model.c     a loaded model: open + validate the GGUF, tokenizer, chat template (on its
//               scheduler thread)
//   sched.c     the scheduler thread of one model: slots (KV cache space), sequences joining and
//               leaving between steps, prefix reuse
//   seq.c       one sequence's generation: the prompt, sampling, detokenizing, stop strings,
//               reasoning split, finish
//   chat.c      chat prompts: messages rendered with the Jinja chat template (src/chat)
//
// Threads. A stream's chunk queue is guarded by its own mutex. The registry's state (models,
// waiters, refcounts) by the registry's mutex, touched by the registry thread, by
// wick_stream_start() and by schedulers when a stream ends. A scheduler's inbox by its mutex.
// Lock order: stream -> scheduler; registry -> stream; never a stream's lock while calling back.
#ifndef WK_GEN_H
#define WK_GEN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"

// --- specs (spec.c) ------------------------------------------------------------------------------

// A parsed spec: a local path, or a Hub repo with optional revision and tag.
typedef struct wk_spec {
    char *path;   // a local file or folder (repo is NULL then)
    char *repo;   // "owner/name"
    char *rev;    // NULL: "main"
    char *tag;    // NULL: the default choice
} wk_spec;

// Parses text. A path is taken when something exists there; else the text must be a repo spec.
// what: "model" or "tokenizer" (for messages; a tokenizer spec takes no tag).
// Errors: INVALID ("spec 'x': ..."), NOT_FOUND (looks like a path but nothing is there).
wick_status wk_spec_parse(const char *text, const char *what, wk_spec *out);
void wk_spec_free(wk_spec *s);

// The files chosen from a repo listing: one GGUF, or every shard of a split set in order.
typedef struct wk_pick {
    char **files;
    size_t n_files;
    uint64_t bytes;
} wk_pick;

// Chooses the GGUF of repo (for messages) in the listing entries[0, n) by tag (NULL: the only
// one, else the Q4_K_M one). Errors: NOT_FOUND naming the repo and listing the quantizations or
// candidates; FORMAT for an incomplete split set that the tag selects.
wick_status wk_spec_pick(const char *repo, const char *tag, const wick_hub_entry *entries,
                         size_t n, wk_pick *out);
void wk_pick_free(wk_pick *p);

// --- requests (request.c) ------------------------------------------------------------------------

// A wick_request whose strings and arrays the stream owns.
typedef struct wk_req {
    wick_request q; // every pointer owned (wk_req_free frees them)
} wk_req;

wick_status wk_req_copy(const wick_request *src, wk_req *dst);
void wk_req_free(wk_req *r);

// --- streams (stream.c) --------------------------------------------------------------------------

typedef struct wk_chunk_node wk_chunk_node;
typedef struct wk_gmodel wk_gmodel;
typedef struct wk_sched wk_sched;

struct wick_stream {
    atomic_int refs; // the caller's + the worker's
    pthread_mutex_t mu;
    pthread_mutex_t cb_mu; // held while the callback runs
    pthread_cond_t cv;
    int efd; // eventfd: readable while chunks are queued (queue mode); -1 in callback mode
    bool efd_set;
    wk_chunk_node *head, *tail; // queued chunks
    wk_chunk_node *current; // handed out by the last next(); freed at the next call
    bool ended; // the done chunk was emitted: nothing more is queued
    bool done_taken; // next() returned the done chunk
    atomic_bool cancel;
    atomic_bool freed; // the caller let go: no callback from now on
    wk_req req;
    double t_start; // wk_now() at wick_stream_start
    uint64_t id;
    // Who works on the stream now, to be woken by a cancel (guarded by mu).
    wk_sched *sched;
    wick_registry *reg;
    wick_registry *owner; // the registry that counts the stream (never cleared)
    wick_stream *next_in_list; // registry inbox / waiter list (guarded by the registry's mu)
};

wick_status wk_stream_create(wick_registry *reg, const wick_request *q, wick_stream **out);
// Drops one reference; the last frees.
void wk_stream_unref(wick_stream *st);

// Emitting (worker threads only; each copies what it is given). No effect once ended.
void wk_stream_emit(wick_stream *st, const wick_chunk *c);
// Progress: a progress chunk still queued for the same stage is updated in place.
void wk_stream_progress(wick_stream *st, const char *stage, uint64_t done, uint64_t total);
// An error chunk (rc, msg) and a done chunk (finish reason error) with usage/timings/ids as given.
void wk_stream_fail(wick_stream *st, wick_status rc, const char *msg, const wick_chunk *done);
// A bare done chunk with finish reason f (usage and timings zero but load_ms).
void wk_stream_finish(wick_stream *st, wick_finish_reason f);
bool wk_stream_ended(wick_stream *st);
static inline bool wk_stream_cancelled(wick_stream *st)
{
    return atomic_load_explicit(&st->cancel, memory_order_acquire);
}
// Sets who is woken by a cancel (NULL: the registry). Lock order stream -> scheduler.
void wk_stream_set_sched(wick_stream *st, wk_sched *s);

// --- registry (registry.c) -----------------------------------------------------------------------

// Wakes the registry thread (from any thread).
void wk_registry_wake(wick_registry *r);
// A scheduler finished opening its model (rc < 0: msg says why). From the scheduler's thread.
void wk_registry_loaded(wick_registry *r, wk_gmodel *gm, wick_status rc, const char *msg,
                        uint64_t mem_bytes);
// A stream's done chunk is being emitted: it no longer counts as running. Any thread.
void wk_registry_stream_done(wick_registry *r);
// A scheduler ended a stream of gm (its done chunk is out); drops the model reference.
void wk_registry_stream_ended(wick_registry *r, wk_gmodel *gm);
// A scheduler ran a forward pass carrying n_streams streams (wick_registry_info's counters).
void wk_registry_pass(wick_registry *r, int n_streams);

// --- a loaded model (model.c) --------------------------------------------------------------------

typedef struct wk_loaded {
    wick_model *model;
    wick_tokenizer *tok;
    wick_template *tmpl; // the model's chat template, or NULL
    char *tmpl_error;    // why the model's template did not compile (tmpl NULL), or NULL
    wick_status tmpl_rc;
    char *bos_text, *eos_text; // the tokenizer's, for templates without their own ("" when none)
} wk_loaded;

// What to open: the GGUF (first shard), and the tokenizer's files when not the GGUF's vocabulary.
typedef struct wk_load_args {
    char *gguf_path;
    char *tok_json; // tokenizer.json (or a tiktoken file), NULL: the GGUF's vocabulary
    char *tok_config; // tokenizer_config.json, or NULL
} wk_load_args;

void wk_load_args_free(wk_load_args *a);
// Opens everything; on failure *out is zeroed and this thread's message says why.
wick_status wk_loaded_open(const wk_load_args *a, const wick_model_opts *mo, wk_loaded *out);
void wk_loaded_close(wk_loaded *l);

// --- schedulers (sched.c) ------------------------------------------------------------------------

typedef struct wk_sched_opts {
    int n_threads;
    int64_t n_ctx, n_batch;
    int n_seq;
    wick_kv_type kv_type;
    bool prefix_cache;
    wick_model_opts model;
    wick_status (*session_hook)(void *ctx, wick_session *s, bool created); // wick_registry_opts'
    void *session_ctx;
} wk_sched_opts;

// Starts the scheduler thread of gm: it opens a (then reports with wk_registry_loaded) and serves
// the streams given to wk_sched_add. a is moved into the scheduler.
wick_status wk_sched_start(wick_registry *reg, wk_gmodel *gm, const wk_sched_opts *o,
                           wk_load_args *a, wk_sched **out);
// Hands a stream (with a worker reference) to the scheduler.
void wk_sched_add(wk_sched *s, wick_stream *st);
// Wakes the scheduler (a cancel). Any thread.
void wk_sched_wake(wk_sched *s, wick_stream *st);
// Stops the thread (its streams end cancelled), joins it, frees everything. NULL ok.
void wk_sched_stop(wk_sched *s);

// --- sequences (seq.c) ---------------------------------------------------------------------------

typedef struct wk_seq wk_seq;

// Builds a sequence for st on l: renders and tokenizes the prompt. Failure: *out NULL, the
// message set (the caller ends the stream with it).
wick_status wk_seq_create(wick_stream *st, const wk_loaded *l, int64_t n_ctx, double t_ready,
                          wk_seq **out);
void wk_seq_free(wk_seq *q);
const int32_t *wk_seq_prompt(const wk_seq *q, int64_t *n);
wick_stream *wk_seq_stream(const wk_seq *q);
// The prefix of the prompt already in the KV cache, before prefill starts.
void wk_seq_set_cached(wk_seq *q, int64_t n_cached);
// Prefill timing: tokens evaluated so far, t: now.
void wk_seq_prefill_progress(wk_seq *q, int64_t n_done, int64_t n_total);
void wk_seq_prefill_done(wk_seq *q);
// Consumes the logits of the position just evaluated: samples, emits text; fills *next with the
// token to evaluate next. Returns true while the sequence goes on (false: it has finished and
// its done chunk is out). n_past: positions in the KV cache after the last eval.
bool wk_seq_step(wk_seq *q, const float *logits, int64_t n_past, int64_t n_ctx, int32_t *next);
// Ends the sequence now (its stream gets done with f, after error rc/msg when f is error).
void wk_seq_end(wk_seq *q, wick_finish_reason f, wick_status rc, const char *msg);

// --- chat prompts (chat.c) -----------------------------------------------------------------------

// Renders q's messages (+ tools) with q's chat_template, else L's, and the generation prompt.
// *out: NUL-terminated (*out_len bytes), free with wk_free. Errors: NOT_FOUND (no template),
// the template's (FORMAT, TEMPLATE, RANGE), INVALID (tools / tool_calls not JSON arrays).
wick_status wk_chat_render(const wk_loaded *L, const wick_request *q, char **out, size_t *out_len);

#endif
