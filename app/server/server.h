// server.h — `wick serve`'s parts: the OpenAI request (request.c), what goes back to the client
// (reply.c), the HTTP server on libmicrohttpd (http.c) and the command (cmd_serve.c). The only
// part that calls the library's model and stream API is backend.c (see backend.h).
#ifndef WICK_SERVER_H
#define WICK_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "backend.h"

// Limits of what a client may send.
#define SRV_MAX_BODY (8u << 20)       // request body bytes (413 beyond)
#define SRV_MAX_HEADER_MEM (64u << 10) // per connection: request line + headers + read buffer
#define SRV_MAX_STOP 16               // stop strings
#define SRV_MAX_MAX_TOKENS (1 << 30)  // max_tokens above this is an error, not "unlimited"

// ---- a growable byte buffer with a cap ----------------------------------------------------------
typedef struct sbuf {
    char *p;
    size_t len, cap, max; // max: the most it may hold (0: no cap)
    bool failed;          // an append did not fit (max) or memory ran out; the text is cut
} sbuf;
void sbuf_init(sbuf *b, size_t max);
bool sbuf_add(sbuf *b, const void *p, size_t n);
bool sbuf_str(sbuf *b, const char *s);
bool sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Appends the compact JSON text of v (with its NUL not counted); false on failure.
bool sbuf_json(sbuf *b, const json_t *v);
void sbuf_free(sbuf *b);
// Takes the bytes out (NUL-terminated, free with free()); the buffer is empty afterwards.
char *sbuf_take(sbuf *b, size_t *len);

// A JSON string of s[0, len) where each invalid UTF-8 sequence becomes U+FFFD.
json_t *srv_json_text(const char *s, size_t len);
// n random characters of [a-zA-Z0-9] into out (n + 1 bytes).
void srv_random_id(char *out, size_t n);
double srv_now_ms(void); // monotonic

// ---- errors ------------------------------------------------------------------------------------
typedef struct srv_error {
    int status;        // HTTP status
    const char *type;  // "invalid_request_error", "authentication_error", ...
    const char *code;  // NULL or a short code ("invalid_api_key", "model_not_found", ...)
    char param[96];    // the field at fault ("" when none), e.g. "messages[1].content"
    char message[480];
} srv_error;
void srv_error_set(srv_error *e, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
// {"error":{"message","type","param","code"}} (type from the status unless e->type is set).
json_t *srv_error_json(const srv_error *e);
// The HTTP status and error type for a wick status that ended a job before it answered.
void srv_error_from_wick(srv_error *e, wick_status code, const char *message);

// ---- the request -------------------------------------------------------------------------------
typedef enum srv_kind { SRV_CHAT, SRV_COMPLETION, SRV_TOKENIZE, SRV_DETOKENIZE } srv_kind;

struct srv_request {
    srv_kind kind;
    char *model;         // the "model" field as sent (NULL when absent)
    const char *spec;    // the model to use: an alias resolved, or the default; set by the server
    json_t *messages;    // CHAT: [{role, content (string), reasoning_content?, tool_calls?,
                         //         tool_call_id?, name?}], content parts joined
    json_t *tools;       // CHAT: the tools array, or NULL
    json_t *tool_choice; // CHAT: NULL, "none", "auto", "required" or {"type","function":{"name"}}
    json_t *template_kwargs; // CHAT: chat_template_kwargs, or NULL
    int think;           // CHAT: -1 the template's default, 0 off, 1 on
    char *prompt;        // COMPLETION, TOKENIZE: the text (NULL for a prompt of ids)
    size_t prompt_len;
    int32_t *ids;        // COMPLETION: the prompt as ids; DETOKENIZE: the ids
    size_t n_ids;
    bool add_special, with_pieces; // TOKENIZE
    bool stream, include_usage;
    int64_t max_tokens;  // -1: up to the end of the context
    // Sampling: NAN (or -1 for top_k) leaves the library's default.
    double temperature, top_p, min_p, presence_penalty, frequency_penalty;
    int32_t top_k;
    bool has_seed;
    uint64_t seed;
    char **stop;
    size_t n_stop;
    int32_t *bias_ids;
    float *bias;
    size_t n_bias;
    bool logprobs;
    int top_logprobs;
};

// Parses and validates a request body of the given kind. On failure fills err (400, naming the
// field) and returns false; r is then empty. Free with srv_request_free (also after a failure).
bool srv_request_parse(srv_kind kind, const char *body, size_t len, srv_request *r,
                       srv_error *err);
void srv_request_free(srv_request *r);

// ---- what goes back: one request's response, fed chunk by chunk (reply.c) ---------------------
typedef struct srv_out {
    const srv_request *req;
    char id[40];
    char model[256];  // echoed in every object
    time_t created;
    bool started;     // stream: the 200 and the first SSE event are decided
    bool finished;    // the whole answer is in `out` (stream: [DONE] is written)
    int status;       // the HTTP status of the answer
    const char *hold_error; // set by the server (shutdown): the error to give at DONE
    sbuf out;         // stream: SSE bytes not sent yet; otherwise the whole body once finished
    sbuf content, reasoning;
    json_t *tool_calls, *lp_content; // non-stream accumulators
    int n_tool_calls;
    bool has_error;
    srv_error err;
    double last_progress_ms;
    char last_stage[24];
} srv_out;

void srv_out_init(srv_out *o, const srv_request *r, const char *model);
void srv_out_free(srv_out *o);
// Takes one chunk of the job. Afterwards o->out has bytes to send (stream) and o->finished says
// whether the answer is complete.
void srv_out_chunk(srv_out *o, const be_chunk *c);

// A response body for the simple endpoints.
json_t *srv_models_json(json_t *data);

// ---- the server (http.c) -----------------------------------------------------------------------
typedef struct srv_alias {
    const char *name, *spec;
} srv_alias;

typedef struct srv_opts {
    const char *host;    // default "127.0.0.1"
    int port;            // 0: any free port
    const char *api_key; // NULL: no key required
    int parallel;        // generation slots
    int queue;           // requests that may wait for a slot beyond them (429 beyond)
    int timeout_s;       // idle client timeout; also the limit to send a whole request
    const srv_alias *aliases;
    size_t n_aliases;
    const char *default_model; // used when a request names none (NULL: "model" is required)
    be_engine_opts be;
} srv_opts;

typedef struct srv srv;
// Starts listening and serving on its own threads; *port is the bound port.
// Errors: a message on stderr, false.
bool srv_start(const srv_opts *o, be_engine *be, srv **out, int *port);
// Stops accepting, fails queued requests (503), cancels running jobs, waits for their last bytes
// (at most grace_ms), closes every connection and frees.
void srv_stop(srv *s, int grace_ms);

#endif
