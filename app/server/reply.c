// reply.c — a job's chunks turned into what OpenAI's clients expect: the SSE events of a stream
// (`data: {json}\n\n` … `data: [DONE]\n\n`, progress as comment lines), or the whole
// chat.completion / text_completion object, or the answer of /tokenize and /detokenize.
// Shapes follow OpenAI's API and llama-server's extensions (reasoning_content, timings).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void srv_out_init(srv_out *o, const srv_request *r, const char *model)
{
    memset(o, 0, sizeof *o);
    o->req = r;
    char rnd[25];
    srv_random_id(rnd, 24);
    snprintf(o->id, sizeof o->id, "%s%s", r->kind == SRV_CHAT ? "chatcmpl-" : "cmpl-", rnd);
    snprintf(o->model, sizeof o->model, "%s", model ? model : "");
    o->created = time(NULL);
    o->status = 200;
    sbuf_init(&o->out, 0);
    sbuf_init(&o->content, 0);
    sbuf_init(&o->reasoning, 0);
}

void srv_out_free(srv_out *o)
{
    sbuf_free(&o->out);
    sbuf_free(&o->content);
    sbuf_free(&o->reasoning);
    json_decref(o->tool_calls);
    json_decref(o->lp_content);
    o->tool_calls = o->lp_content = NULL;
}

static bool is_chat(const srv_out *o)
{
    return o->req->kind == SRV_CHAT;
}

// The fields every chat.completion(.chunk) / text_completion object starts with.
static json_t *base(const srv_out *o, const char *object)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(o->id));
    json_object_set_new(j, "object", json_string(object));
    json_object_set_new(j, "created", json_integer((json_int_t)o->created));
    json_object_set_new(j, "model", srv_json_text(o->model, strlen(o->model)));
    json_object_set_new(j, "system_fingerprint", json_string("wick"));
    return j;
}

static void event(srv_out *o, json_t *ev)
{
    sbuf_str(&o->out, "data: ");
    sbuf_json(&o->out, ev);
    sbuf_str(&o->out, "\n\n");
    json_decref(ev);
}

// A chunk with one choice: a chat delta, or a completion's text.
static json_t *chunk(const srv_out *o, json_t *delta_or_text, json_t *logprobs, const char *finish)
{
    json_t *j = base(o, is_chat(o) ? "chat.completion.chunk" : "text_completion");
    json_t *c = json_object();
    json_object_set_new(c, "index", json_integer(0));
    json_object_set_new(c, is_chat(o) ? "delta" : "text", delta_or_text);
    json_object_set_new(c, "logprobs", logprobs ? logprobs : json_null());
    json_object_set_new(c, "finish_reason", finish ? json_string(finish) : json_null());
    json_t *cs = json_array();
    json_array_append_new(cs, c);
    json_object_set_new(j, "choices", cs);
    return j;
}

static void start(srv_out *o)
{
    if (o->started) { return; }
    o->started = true;
    o->status = 200;
    if (is_chat(o)) { // OpenAI's first chunk: the role, no content yet
        json_t *d = json_object();
        json_object_set_new(d, "role", json_string("assistant"));
        json_object_set_new(d, "content", json_null());
        event(o, chunk(o, d, NULL, NULL));
    }
}

// ---- logprobs ----------------------------------------------------------------------------------

static json_t *bytes_of(const char *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_integer((unsigned char)s[i]));
    }
    return a;
}

static json_t *token_lp(const be_token_lp *t)
{
    json_t *j = json_object();
    json_object_set_new(j, "token", srv_json_text(t->text, t->len));
    json_object_set_new(j, "logprob", json_real(isfinite(t->logprob) ? t->logprob : -9999.0));
    json_object_set_new(j, "bytes", bytes_of(t->text, t->len));
    return j;
}

// Chat: [{"token","logprob","bytes","top_logprobs":[…]}] for the tokens of one piece.
static json_t *chat_lp(const be_chunk *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->n_lp; i++) {
        json_t *t = token_lp(&c->lp[i].tok);
        json_t *top = json_array();
        for (int k = 0; k < c->lp[i].n_top; k++) {
            json_array_append_new(top, token_lp(&c->lp[i].top[k]));
        }
        json_object_set_new(t, "top_logprobs", top);
        json_array_append_new(a, t);
    }
    return a;
}

// Completions (legacy): {"tokens","token_logprobs","top_logprobs":[{token: logprob}],
// "text_offset"} — appended to `into` when given (the whole answer), else a new object.
static json_t *legacy_lp(const be_chunk *c, json_t *into, size_t offset)
{
    json_t *j = into ? into : json_object();
    static const char *const keys[] = {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
    for (size_t k = 0; k < 4; k++) {
        if (!json_object_get(j, keys[k])) { json_object_set_new(j, keys[k], json_array()); }
    }
    for (size_t i = 0; i < c->n_lp; i++) {
        const be_logprob *l = &c->lp[i];
        json_array_append_new(json_object_get(j, "tokens"), srv_json_text(l->tok.text, l->tok.len));
        json_array_append_new(json_object_get(j, "token_logprobs"), json_real(l->tok.logprob));
        json_t *top = json_object();
        for (int k = 0; k < l->n_top; k++) {
            json_t *key = srv_json_text(l->top[k].text, l->top[k].len);
            json_object_set_new(top, json_string_value(key), json_real(l->top[k].logprob));
            json_decref(key);
        }
        json_array_append_new(json_object_get(j, "top_logprobs"), top);
        json_array_append_new(json_object_get(j, "text_offset"), json_integer((json_int_t)offset));
        offset += l->tok.len;
    }
    return j;
}

// ---- chunks ------------------------------------------------------------------------------------

static void progress(srv_out *o, const be_chunk *c)
{
    if (!o->req->stream || !c->stage) { return; }
    // Resolving a name is quick and may still end in "no such model": a 404 is better than a
    // stream holding an error, so only the download and load stages start the stream.
    if (!o->started && strcmp(c->stage, "resolve") == 0) { return; }
    start(o);
    double now = srv_now_ms();
    bool same = strcmp(o->last_stage, c->stage) == 0;
    if (same && now - o->last_progress_ms < 250 && c->done != c->total) { return; }
    o->last_progress_ms = now;
    snprintf(o->last_stage, sizeof o->last_stage, "%s", c->stage);
    if (c->total) {
        sbuf_printf(&o->out, ": %s %llu/%llu (%.0f%%)\n\n", o->last_stage,
                    (unsigned long long)c->done, (unsigned long long)c->total,
                    100.0 * (double)c->done / (double)c->total);
    } else {
        sbuf_printf(&o->out, ": %s %llu\n\n", o->last_stage, (unsigned long long)c->done);
    }
}

static void text(srv_out *o, const be_chunk *c, bool reasoning)
{
    if (!is_chat(o)) { reasoning = false; } // a raw completion has no reasoning channel
    if (!o->req->stream) {
        sbuf_add(reasoning ? &o->reasoning : &o->content, c->text, c->len);
        if (o->req->logprobs && !reasoning && c->n_lp) {
            if (is_chat(o)) {
                if (!o->lp_content) { o->lp_content = json_array(); }
                json_t *a = chat_lp(c);
                json_array_extend(o->lp_content, a);
                json_decref(a);
            } else {
                o->lp_content = legacy_lp(c, o->lp_content ? o->lp_content : json_object(),
                                          o->content.len - c->len);
            }
        }
        return;
    }
    start(o);
    json_t *lp = NULL;
    if (o->req->logprobs && !reasoning && c->n_lp) {
        if (is_chat(o)) {
            lp = json_object();
            json_object_set_new(lp, "content", chat_lp(c));
        } else {
            lp = legacy_lp(c, NULL, o->content.len);
        }
    }
    json_t *t = srv_json_text(c->text, c->len);
    if (!is_chat(o)) {
        o->content.len += c->len; // only the offset is kept
        event(o, chunk(o, t, lp, NULL));
        return;
    }
    json_t *d = json_object();
    json_object_set_new(d, reasoning ? "reasoning_content" : "content", t);
    event(o, chunk(o, d, lp, NULL));
}

static json_t *tool_call_json(srv_out *o, const be_chunk *c, bool with_index)
{
    json_t *fn = json_object();
    json_object_set_new(fn, "name",
                        srv_json_text(c->name ? c->name : "", c->name ? strlen(c->name) : 0));
    const char *args = c->arguments ? c->arguments : "{}";
    json_object_set_new(fn, "arguments", srv_json_text(args, strlen(args)));
    json_t *t = json_object();
    if (with_index) { json_object_set_new(t, "index", json_integer(o->n_tool_calls)); }
    char id[40];
    if (c->id && *c->id) {
        snprintf(id, sizeof id, "%s", c->id);
    } else {
        char rnd[25];
        srv_random_id(rnd, 24);
        snprintf(id, sizeof id, "call_%s", rnd);
    }
    json_object_set_new(t, "id", srv_json_text(id, strlen(id)));
    json_object_set_new(t, "type", json_string("function"));
    json_object_set_new(t, "function", fn);
    return t;
}

static void tool_call(srv_out *o, const be_chunk *c)
{
    if (!is_chat(o)) { return; }
    if (!o->req->stream) {
        if (!o->tool_calls) { o->tool_calls = json_array(); }
        json_array_append_new(o->tool_calls, tool_call_json(o, c, false));
        o->n_tool_calls++;
        return;
    }
    start(o);
    json_t *a = json_array();
    json_array_append_new(a, tool_call_json(o, c, true));
    o->n_tool_calls++;
    json_t *d = json_object();
    json_object_set_new(d, "tool_calls", a);
    event(o, chunk(o, d, NULL, NULL));
}

static json_t *usage_json(const be_usage *u)
{
    json_t *j = json_object();
    json_object_set_new(j, "prompt_tokens", json_integer(u->prompt));
    json_object_set_new(j, "completion_tokens", json_integer(u->completion));
    json_object_set_new(j, "total_tokens", json_integer(u->prompt + u->completion));
    json_t *pd = json_object();
    json_object_set_new(pd, "cached_tokens", json_integer(u->cached));
    json_object_set_new(j, "prompt_tokens_details", pd);
    json_t *cd = json_object();
    json_object_set_new(cd, "reasoning_tokens", json_integer(u->reasoning));
    json_object_set_new(j, "completion_tokens_details", cd);
    return j;
}

static json_t *per(double n, double ms, bool per_token)
{
    if (n <= 0 || ms <= 0) { return json_real(0); }
    return json_real(per_token ? ms / n : n * 1e3 / ms);
}

// llama-server's timings, plus load_ms and first_token_ms.
static json_t *timings_json(const be_timings *t)
{
    json_t *j = json_object();
    json_object_set_new(j, "cache_n", json_integer(t->cache_n));
    json_object_set_new(j, "prompt_n", json_integer(t->prompt_n));
    json_object_set_new(j, "prompt_ms", json_real(t->prompt_ms));
    json_object_set_new(j, "prompt_per_token_ms", per((double)t->prompt_n, t->prompt_ms, true));
    json_object_set_new(j, "prompt_per_second", per((double)t->prompt_n, t->prompt_ms, false));
    json_object_set_new(j, "predicted_n", json_integer(t->predicted_n));
    json_object_set_new(j, "predicted_ms", json_real(t->predicted_ms));
    json_object_set_new(j, "predicted_per_token_ms",
                        per((double)t->predicted_n, t->predicted_ms, true));
    json_object_set_new(j, "predicted_per_second",
                        per((double)t->predicted_n, t->predicted_ms, false));
    json_object_set_new(j, "load_ms", json_real(t->load_ms));
    json_object_set_new(j, "first_token_ms", json_real(t->first_token_ms));
    return j;
}

// The whole body of a non-streamed answer.
static json_t *whole(srv_out *o, const char *finish, const be_chunk *c)
{
    json_t *j = base(o, is_chat(o) ? "chat.completion" : "text_completion");
    json_t *ch = json_object();
    json_object_set_new(ch, "index", json_integer(0));
    if (is_chat(o)) {
        json_t *m = json_object();
        json_object_set_new(m, "role", json_string("assistant"));
        bool empty = o->content.len == 0 && o->n_tool_calls;
        json_object_set_new(
            m, "content",
            empty ? json_null() : srv_json_text(o->content.p ? o->content.p : "", o->content.len));
        if (o->reasoning.len) {
            json_object_set_new(m, "reasoning_content",
                                srv_json_text(o->reasoning.p, o->reasoning.len));
        }
        if (o->tool_calls) { json_object_set(m, "tool_calls", o->tool_calls); }
        json_object_set_new(ch, "message", m);
        json_t *lp = json_null();
        if (o->req->logprobs) {
            lp = json_object();
            json_object_set(lp, "content", o->lp_content ? o->lp_content : json_array());
        }
        json_object_set_new(ch, "logprobs", lp);
    } else {
        json_object_set_new(ch, "text",
                            srv_json_text(o->content.p ? o->content.p : "", o->content.len));
        json_object_set(ch, "logprobs",
                        o->lp_content && o->req->logprobs ? o->lp_content : json_null());
    }
    json_object_set_new(ch, "finish_reason", json_string(finish));
    json_t *cs = json_array();
    json_array_append_new(cs, ch);
    json_object_set_new(j, "choices", cs);
    json_object_set_new(j, "usage", usage_json(&c->usage));
    json_object_set_new(j, "timings", timings_json(&c->timings));
    return j;
}

static void finish_error(srv_out *o)
{
    json_t *ej = srv_error_json(&o->err);
    if (o->req->stream && o->started) { // the 200 is gone: the error is the last event
        event(o, ej);
        sbuf_str(&o->out, "data: [DONE]\n\n");
    } else {
        o->out.len = 0;
        sbuf_json(&o->out, ej);
        json_decref(ej);
        o->status = o->err.status;
    }
    o->finished = true;
}

static void done(srv_out *o, const be_chunk *c)
{
    const char *f = c->finish ? c->finish : "stop";
    if (o->hold_error && !o->has_error) {
        srv_error_set(&o->err, 503, NULL, "%s", o->hold_error);
        o->has_error = true;
    }
    if (!o->has_error && strcmp(f, "cancelled") == 0) {
        srv_error_set(&o->err, 503, NULL, "the request was cancelled");
        o->has_error = true;
    }
    if (o->has_error || strcmp(f, "error") == 0) {
        if (!o->has_error) { srv_error_set(&o->err, 500, NULL, "the stream failed"); }
        finish_error(o);
        return;
    }
    if (o->req->kind == SRV_TOKENIZE || o->req->kind == SRV_DETOKENIZE) {
        o->finished = true; // the answer came in its own chunk
        return;
    }
    if (strcmp(f, "stop") == 0 && o->n_tool_calls) { f = "tool_calls"; }
    if (!o->req->stream) {
        json_t *j = whole(o, f, c);
        sbuf_json(&o->out, j);
        json_decref(j);
        o->finished = true;
        return;
    }
    start(o);
    json_t *last = chunk(o, is_chat(o) ? json_object() : json_string(""), NULL, f);
    json_object_set_new(last, "timings", timings_json(&c->timings));
    event(o, last);
    if (o->req->include_usage) {
        json_t *u = base(o, is_chat(o) ? "chat.completion.chunk" : "text_completion");
        json_object_set_new(u, "choices", json_array());
        json_object_set_new(u, "usage", usage_json(&c->usage));
        event(o, u);
    }
    sbuf_str(&o->out, "data: [DONE]\n\n");
    o->finished = true;
}

static void tokens(srv_out *o, const be_chunk *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->n_ids; i++) {
        if (!c->pieces) {
            json_array_append_new(a, json_integer(c->ids[i]));
            continue;
        }
        json_t *t = json_object();
        json_object_set_new(t, "id", json_integer(c->ids[i]));
        json_t *p = json_stringn(c->pieces[i], c->piece_lens[i]);
        json_object_set_new(t, "piece", p ? p : bytes_of(c->pieces[i], c->piece_lens[i]));
        json_array_append_new(a, t);
    }
    json_t *j = json_object();
    json_object_set_new(j, "tokens", a);
    sbuf_json(&o->out, j);
    json_decref(j);
}

void srv_out_chunk(srv_out *o, const be_chunk *c)
{
    if (o->finished) { return; }
    switch (c->kind) {
    case BE_PROGRESS: progress(o, c); break;
    case BE_REASONING: text(o, c, true); break;
    case BE_CONTENT: text(o, c, false); break;
    case BE_TOOL_CALL: tool_call(o, c); break;
    case BE_ERROR:
        if (!o->has_error) {
            srv_error_from_wick(&o->err, c->code, c->message);
            o->has_error = true;
        }
        break;
    case BE_TOKENS: tokens(o, c); break;
    case BE_TEXT: {
        json_t *j = json_object();
        json_object_set_new(j, "content", srv_json_text(c->text, c->len));
        sbuf_json(&o->out, j);
        json_decref(j);
        break;
    }
    case BE_DONE: done(o, c); break;
    }
}

json_t *srv_models_json(json_t *data)
{
    json_t *j = json_object();
    json_object_set_new(j, "object", json_string("list"));
    json_object_set_new(j, "data", data);
    return j;
}
