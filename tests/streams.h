// streams.h — draining completion streams in tests: what a stream said, chunk by chunk.
#ifndef WICK_TEST_STREAMS_H
#define WICK_TEST_STREAMS_H

#include "harness.h"

typedef struct drained {
    int n_chunks, n_progress, n_error, n_done;
    bool done_last; // the done chunk came last and once
    char types[4096]; // one letter per chunk: P R C T E D
    char content[8192], reasoning[8192];
    size_t n_content, n_reasoning;
    wick_status code; // of the error chunk
    char message[1024];
    wick_finish_reason finish;
    wick_usage usage;
    wick_timings timings;
    int32_t ids[4096];
    size_t n_ids;
    char last_stage[32];
    int n_tool_calls; // the first 4 kept: index, id, name, arguments
    int tool_index[4];
    char tool_id[4][64], tool_name[4][64], tool_args[4][256];
} drained;

// Records chunk c into d.
static void drained_add(drained *d, const wick_chunk *c)
{
    static const char letter[] = "PRCTED";
    if (d->n_chunks < (int)sizeof d->types - 1) { d->types[d->n_chunks] = letter[c->type]; }
    d->n_chunks++;
    d->done_last = false;
    switch (c->type) {
    case WICK_CHUNK_PROGRESS:
        d->n_progress++;
        snprintf(d->last_stage, sizeof d->last_stage, "%s", c->stage);
        break;
    case WICK_CHUNK_REASONING:
    case WICK_CHUNK_CONTENT: {
        char *buf = c->type == WICK_CHUNK_CONTENT ? d->content : d->reasoning;
        size_t *n = c->type == WICK_CHUNK_CONTENT ? &d->n_content : &d->n_reasoning;
        if (*n + c->len < sizeof d->content) {
            memcpy(buf + *n, c->text, c->len);
            *n += c->len;
            buf[*n] = '\0';
        }
        CHECKF(c->text[c->len] == '\0', "text chunk not NUL-terminated");
        break;
    }
    case WICK_CHUNK_TOOL_CALL:
        if (d->n_tool_calls < 4) {
            const int k = d->n_tool_calls;
            d->tool_index[k] = c->tool_index;
            snprintf(d->tool_id[k], sizeof d->tool_id[k], "%s", c->tool_id);
            snprintf(d->tool_name[k], sizeof d->tool_name[k], "%s", c->tool_name);
            snprintf(d->tool_args[k], sizeof d->tool_args[k], "%s", c->tool_arguments);
        }
        d->n_tool_calls++;
        break;
    case WICK_CHUNK_ERROR:
        d->n_error++;
        d->code = c->code;
        snprintf(d->message, sizeof d->message, "%s", c->message);
        break;
    case WICK_CHUNK_DONE:
        d->n_done++;
        d->done_last = d->n_done == 1;
        d->finish = c->finish_reason;
        d->usage = c->usage;
        d->timings = c->timings;
        d->n_ids = c->n_ids < 4096 ? c->n_ids : 4096;
        if (d->n_ids) { memcpy(d->ids, c->ids, d->n_ids * sizeof *d->ids); }
        break;
    }
}

// Drains st with blocking next (timeout_ms per chunk); false when a chunk took longer.
static bool drain(wick_stream *st, drained *d, int timeout_ms)
{
    memset(d, 0, sizeof *d);
    for (;;) {
        const wick_chunk *c;
        wick_status rc = wick_stream_next(st, timeout_ms, &c);
        if (rc == WICK_DONE) { return true; }
        if (rc == WICK_AGAIN) {
            CHECKF(0, "no chunk within %d ms (chunks so far: %s)", timeout_ms, d->types);
            return false;
        }
        CHECKF(rc == WICK_OK, "wick_stream_next -> %d (%s)", rc, wick_errmsg());
        if (rc != WICK_OK) { return false; }
        drained_add(d, c);
    }
}

// Starts q on r and drains it; the stream is freed.
static void run_request(wick_registry *r, const wick_request *q, drained *d)
{
    wick_stream *st = NULL;
    memset(d, 0, sizeof *d);
    CHECK_OK(wick_stream_start(r, q, &st));
    if (st) { drain(st, d, 60000); }
    wick_stream_free(st);
}

// An error path: one error chunk with code (message containing needle), then done with error.
static void expect_error(const drained *d, wick_status code, const char *needle, const char *what)
{
    CHECKF(d->n_error == 1 && d->code == code, "%s: error chunk %d code %d (want %d): %s", what,
           d->n_error, d->code, code, d->message);
    CHECKF(!needle || strstr(d->message, needle), "%s: message '%s' lacks '%s'", what, d->message,
           needle ? needle : "");
    CHECKF(d->n_done == 1 && d->done_last && d->finish == WICK_FINISH_ERROR,
           "%s: done %d, last %d, finish %d (chunks %s)", what, d->n_done, d->done_last, d->finish,
           d->types);
    printf("  %-28s -> %s: %s\n", what, wick_status_name(d->code), d->message);
}

#endif
