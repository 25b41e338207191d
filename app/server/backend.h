// backend.h — the contract between the HTTP server and the library: a model registry and
// completion jobs. backend.c is the one file that implements it on include/wick.h (the tests
// also link a fake implementation, tests/server/fake_backend.c, that scripts its chunks).
//
// A job is a request in flight (a chat or completion stream, or a tokenize call). Starting one
// never blocks. Its chunks are pulled with be_job_next(); whenever new chunks become available
// the job calls notify(ud) from one of the backend's threads. The notify function must be quick
// and must not call back into the backend. The rules that let the server wait without a race:
//   - notify is called after the chunk it announces is visible to be_job_next();
//   - notify is never called from inside be_job_start, be_job_next or be_job_cancel;
//   - after be_job_free() returns, notify is neither running nor called again.
#ifndef WICK_SERVER_BACKEND_H
#define WICK_SERVER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wick.h"

typedef struct srv_request srv_request;

typedef struct be_engine be_engine;
typedef struct be_job be_job;

typedef struct be_engine_opts {
    int n_parallel;    // streams generated at once (the server's slots)
    int64_t n_ctx;     // context of each stream; 0: the model's, capped by the library
    int n_threads;     // 0: the library's default
    int max_models;    // models kept loaded at once; 0: the library's default
    uint64_t memory;   // bytes the loaded models may use; 0: the library's default
    bool no_repack;    // --no-repack: models keep the file's layout (wick_model_opts.repack)
    // wick_registry_opts' session hook (wick serve --dist: wick_dist_session_hook, one stream
    // computed at a time, the others wait); NULL: none
    wick_status (*session_hook)(void *ctx, wick_session *s, bool created);
    void *session_ctx;
} be_engine_opts;

// Creates the engine. Errors: a wick status with wick_errmsg() set.
wick_status be_engine_create(const be_engine_opts *o, be_engine **out);
// Cancels every job's work and unloads the models. Jobs must have been freed before.
void be_engine_destroy(be_engine *e);

// Starts loading spec in the background (a --model given on the command line); returns at once.
// A failure is logged, not fatal: the next request for that model tries again.
void be_engine_preload(be_engine *e, const char *spec);

typedef enum be_kind {
    BE_PROGRESS,  // stage, done, total: a model is being resolved, downloaded or loaded
    BE_REASONING, // text: thinking, never part of the answer
    BE_CONTENT,   // text: the answer (or the completion of a prompt)
    BE_TOOL_CALL, // name, arguments (a JSON text), id (may be NULL)
    BE_ERROR,     // code (a wick status), message; a BE_DONE with "error" follows
    BE_TOKENS,    // ids, n_ids, pieces (NULL unless asked): the answer of a tokenize job
    BE_TEXT,      // text: the answer of a detokenize job
    BE_DONE,      // finish, usage, timings: always the last chunk of every job
} be_kind;

typedef struct be_token_lp {
    const char *text;  // the token's bytes (may be part of a UTF-8 character)
    size_t len;
    float logprob;
} be_token_lp;

typedef struct be_logprob {
    be_token_lp tok;        // the token chosen
    const be_token_lp *top; // the most likely tokens, most likely first
    int n_top;
} be_logprob;

typedef struct be_usage {
    int64_t prompt, completion, reasoning, cached;
} be_usage;

typedef struct be_timings {
    int64_t prompt_n, predicted_n, cache_n;
    double load_ms, prompt_ms, predicted_ms, first_token_ms;
} be_timings;

// One chunk. Everything it points to is borrowed until the next be_job_next or be_job_free.
typedef struct be_chunk {
    be_kind kind;
    const char *text; // REASONING, CONTENT, TEXT: whole UTF-8
    size_t len;
    const be_logprob *lp; // CONTENT with logprobs asked for: one per token of the text
    size_t n_lp;
    const char *stage;    // PROGRESS: "resolve", "download", "load", ...
    uint64_t done, total; // PROGRESS: bytes (total 0: unknown)
    const char *name, *arguments, *id; // TOOL_CALL
    wick_status code;     // ERROR
    const char *message;  // ERROR: names the file, URL or field
    const int32_t *ids;   // TOKENS
    size_t n_ids;
    const char *const *pieces; // TOKENS: the text of each id, or NULL
    const size_t *piece_lens;
    const char *finish;   // DONE: "stop", "length", "cancelled", "error"
    be_usage usage;       // DONE
    be_timings timings;   // DONE
} be_chunk;

typedef void (*be_notify_fn)(void *ud);

// Starts the job of r (a validated request: r->spec names the model). Never blocks; a failure
// that concerns the request or the model comes as an ERROR chunk, so this fails only when
// memory runs out.
wick_status be_job_start(be_engine *e, const srv_request *r, be_notify_fn notify, void *ud,
                         be_job **out);
// Gives the next chunk: true and *out filled, or false when none is ready yet (or after the DONE
// chunk was given). Never blocks. Thread: one at a time per job.
bool be_job_next(be_job *j, be_chunk *out);
// Asks the job to stop: it ends soon with finish "cancelled". Thread: any.
void be_job_cancel(be_job *j);
// Cancels if needed and frees. NULL ok. May wait briefly for the backend's threads.
void be_job_free(be_job *j);

// Appends to arr one object per model the engine knows: loaded, loading or in the local cache:
// {"id", "object":"model", "created", "owned_by", "status":{"value":"loaded"|"loading"|"cached",
// ...}}. Thread: any.
void be_models_list(be_engine *e, void *arr /* json_t * */);

#endif
