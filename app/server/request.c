// request.c — the OpenAI request body: parsed with jansson, every field the server honours
// checked (type and range), the chat messages normalised (content parts joined into one string,
// "developer" read as "system"). A bad field is a 400 that names it. Unknown fields are ignored,
// as OpenAI's clients send fields a local server has no use for ("user", "store", ...).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

// Fails with a 400 naming the field. Always returns false, so `return bad(...)`.
#define bad(e, param, ...) (srv_error_set((e), 400, (param), __VA_ARGS__), false)

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

// The value of key when present and not null, else NULL.
static json_t *field(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

static bool get_bool(const json_t *o, const char *key, bool *out, srv_error *e)
{
    json_t *v = field(o, key);
    if (!v) { return true; }
    if (!json_is_boolean(v)) {
        return bad(e, key, "%s: expected a boolean, got %s", key, type_name(v));
    }
    *out = json_is_true(v);
    return true;
}

static bool get_number(const json_t *o, const char *key, double lo, double hi, double *out,
                       srv_error *e)
{
    json_t *v = field(o, key);
    if (!v) { return true; }
    if (!json_is_number(v)) {
        return bad(e, key, "%s: expected a number, got %s", key, type_name(v));
    }
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi)) {
        return bad(e, key, "%s: %g is out of range [%g, %g]", key, d, lo, hi);
    }
    *out = d;
    return true;
}

static bool get_int(const json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out,
                    srv_error *e)
{
    json_t *v = field(o, key);
    if (!v) { return true; }
    if (!json_is_integer(v)) {
        return bad(e, key, "%s: expected an integer, got %s", key, type_name(v));
    }
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi) {
        return bad(e, key, "%s: %lld is out of range [%lld, %lld]", key, (long long)i,
                   (long long)lo, (long long)hi);
    }
    *out = i;
    return true;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

// ---- chat messages -----------------------------------------------------------------------------

// The text of a content value: a string, or an array of {"type":"text","text":…} parts joined.
// Other part types (images, audio) are refused: the models served are text only.
static bool content_text(const json_t *v, const char *path, json_t **out, srv_error *e)
{
    if (json_is_string(v)) {
        *out = json_incref((json_t *)v);
        return true;
    }
    if (!json_is_array(v)) {
        return bad(e, path, "%s: expected a string or an array of parts, got %s", path,
                   type_name(v));
    }
    sbuf b;
    sbuf_init(&b, SRV_MAX_BODY);
    size_t i;
    json_t *part;
    json_array_foreach(v, i, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        json_t *text = json_object_get(part, "text");
        if (!json_is_object(part) || !type) {
            sbuf_free(&b);
            return bad(e, path, "%s[%zu]: expected a part {\"type\":\"text\",\"text\":…}", path, i);
        }
        if (strcmp(type, "text") != 0) {
            sbuf_free(&b);
            return bad(e, path, "%s[%zu].type: '%.40s' is not supported (text parts only)", path, i,
                       type);
        }
        if (!json_is_string(text)) {
            sbuf_free(&b);
            return bad(e, path, "%s[%zu].text: expected a string", path, i);
        }
        sbuf_add(&b, json_string_value(text), json_string_length(text));
    }
    *out = json_stringn(b.p ? b.p : "", b.len);
    sbuf_free(&b);
    return *out != NULL || bad(e, path, "%s: out of memory", path);
}

static bool tool_calls_ok(const json_t *calls, const char *path, srv_error *e)
{
    if (!json_is_array(calls)) { return bad(e, path, "%s: expected an array", path); }
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) {
        json_t *fn = json_object_get(c, "function");
        json_t *type = json_object_get(c, "type");
        json_t *id = json_object_get(c, "id");
        if (!json_is_object(c) || !json_is_object(fn)) {
            return bad(e, path, "%s[%zu]: expected {\"type\":\"function\",\"function\":{…}}", path,
                       i);
        }
        if (type && !(json_is_string(type) && strcmp(json_string_value(type), "function") == 0)) {
            return bad(e, path, "%s[%zu].type: expected \"function\"", path, i);
        }
        if (id && !json_is_string(id) && !json_is_null(id)) {
            return bad(e, path, "%s[%zu].id: expected a string", path, i);
        }
        if (!json_is_string(json_object_get(fn, "name"))) {
            return bad(e, path, "%s[%zu].function.name: expected a string", path, i);
        }
        json_t *args = json_object_get(fn, "arguments");
        if (args && !json_is_string(args) && !json_is_object(args)) {
            return bad(e, path, "%s[%zu].function.arguments: expected a JSON text", path, i);
        }
    }
    return true;
}

static bool one_message(const json_t *m, size_t i, json_t **out, srv_error *e)
{
    char path[64];
    snprintf(path, sizeof path, "messages[%zu]", i);
    if (!json_is_object(m)) {
        return bad(e, path, "%s: expected an object, got %s", path, type_name(m));
    }
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!role) { return bad(e, path, "%s.role: expected a string", path); }
    if (strcmp(role, "developer") == 0) { role = "system"; }
    if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 &&
        strcmp(role, "assistant") != 0 && strcmp(role, "tool") != 0) {
        return bad(e, path,
                   "%s.role: '%.40s' is not one of system, developer, user, assistant, tool", path,
                   role);
    }
    bool assistant = strcmp(role, "assistant") == 0;
    json_t *calls = field(m, "tool_calls");
    if (calls && !assistant) {
        return bad(e, path, "%s.tool_calls: only for role assistant", path);
    }
    char sub[96];
    snprintf(sub, sizeof sub, "%s.tool_calls", path);
    if (calls && !tool_calls_ok(calls, sub, e)) { return false; }

    json_t *content = field(m, "content"), *text = NULL;
    snprintf(sub, sizeof sub, "%s.content", path);
    if (!content) {
        if (!assistant) { return bad(e, sub, "%s: required for role %s", sub, role); }
        text = json_string("");
    } else if (!content_text(content, sub, &text, e)) {
        return false;
    }
    json_t *n = json_object();
    json_object_set_new(n, "role", json_string(role));
    json_object_set_new(n, "content", text);
    if (calls) { json_object_set(n, "tool_calls", calls); }

    static const char *const opt[] = {"name", "reasoning_content", "tool_call_id"};
    for (size_t k = 0; k < sizeof opt / sizeof opt[0]; k++) {
        json_t *v = field(m, opt[k]);
        if (!v) { continue; }
        if (!json_is_string(v)) {
            json_decref(n);
            return bad(e, path, "%s.%s: expected a string, got %s", path, opt[k], type_name(v));
        }
        json_object_set(n, opt[k], v);
    }
    *out = n;
    return true;
}

static bool messages(const json_t *body, srv_request *r, srv_error *e)
{
    json_t *ms = field(body, "messages");
    if (!ms) { return bad(e, "messages", "messages: required"); }
    if (!json_is_array(ms)) {
        return bad(e, "messages", "messages: expected an array, got %s", type_name(ms));
    }
    if (json_array_size(ms) == 0) { return bad(e, "messages", "messages: empty"); }
    r->messages = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m) {
        json_t *n;
        if (!one_message(m, i, &n, e)) { return false; }
        json_array_append_new(r->messages, n);
    }
    return true;
}

static bool tools(const json_t *body, srv_request *r, srv_error *e)
{
    json_t *ts = field(body, "tools");
    if (ts) {
        if (!json_is_array(ts)) {
            return bad(e, "tools", "tools: expected an array, got %s", type_name(ts));
        }
        size_t i;
        json_t *t;
        json_array_foreach(ts, i, t) {
            json_t *fn = json_object_get(t, "function");
            const char *type = json_string_value(json_object_get(t, "type"));
            if (!json_is_object(t) || !type || strcmp(type, "function") != 0 ||
                !json_is_object(fn)) {
                return bad(e, "tools",
                           "tools[%zu]: expected {\"type\":\"function\",\"function\":{…}}", i);
            }
            const char *name = json_string_value(json_object_get(fn, "name"));
            if (!name || !*name) {
                return bad(e, "tools", "tools[%zu].function.name: expected a name", i);
            }
            json_t *params = field(fn, "parameters");
            if (params && !json_is_object(params)) {
                return bad(e, "tools", "tools[%zu].function.parameters: expected an object", i);
            }
            json_t *desc = field(fn, "description");
            if (desc && !json_is_string(desc)) {
                return bad(e, "tools", "tools[%zu].function.description: expected a string", i);
            }
        }
        if (json_array_size(ts)) { r->tools = json_deep_copy(ts); }
    }
    json_t *tc = field(body, "tool_choice");
    if (!tc) { return true; }
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        if (strcmp(s, "none") && strcmp(s, "auto") && strcmp(s, "required")) {
            return bad(e, "tool_choice", "tool_choice: '%.40s' is not none, auto or required", s);
        }
        if (strcmp(s, "required") == 0 && !r->tools) {
            return bad(e, "tool_choice", "tool_choice: 'required' without tools");
        }
    } else if (json_is_object(tc)) {
        const char *name =
            json_string_value(json_object_get(json_object_get(tc, "function"), "name"));
        if (!name) { return bad(e, "tool_choice", "tool_choice.function.name: expected a string"); }
        bool found = false;
        size_t i;
        json_t *t;
        json_array_foreach(r->tools, i, t) {
            const char *n =
                json_string_value(json_object_get(json_object_get(t, "function"), "name"));
            found = found || (n && strcmp(n, name) == 0);
        }
        if (!found) { return bad(e, "tool_choice", "tool_choice: no tool named '%.60s'", name); }
    } else {
        return bad(e, "tool_choice", "tool_choice: expected a string or an object, got %s",
                   type_name(tc));
    }
    r->tool_choice = json_deep_copy(tc);
    return true;
}

static bool thinking(const json_t *body, srv_request *r, srv_error *e)
{
    json_t *eff = field(body, "reasoning_effort");
    if (eff) {
        const char *s = json_string_value(eff);
        if (!s) { return bad(e, "reasoning_effort", "reasoning_effort: expected a string"); }
        if (strcmp(s, "none") == 0) {
            r->think = 0;
        } else if (!strcmp(s, "minimal") || !strcmp(s, "low") || !strcmp(s, "medium") ||
                   !strcmp(s, "high")) {
            r->think = 1;
        } else {
            return bad(e, "reasoning_effort",
                       "reasoning_effort: '%.40s' is not none, minimal, low, medium or high", s);
        }
    }
    json_t *kw = field(body, "chat_template_kwargs");
    if (!kw) { return true; }
    if (!json_is_object(kw)) {
        return bad(e, "chat_template_kwargs", "chat_template_kwargs: expected an object");
    }
    json_t *et = field(kw, "enable_thinking");
    if (et && !json_is_boolean(et)) {
        return bad(e, "chat_template_kwargs",
                   "chat_template_kwargs.enable_thinking: expected a boolean");
    }
    if (et) { r->think = json_is_true(et); }
    r->template_kwargs = json_deep_copy(kw);
    return true;
}

// ---- sampling and the rest ---------------------------------------------------------------------

static bool stops(const json_t *body, srv_request *r, srv_error *e)
{
    json_t *st = field(body, "stop");
    if (!st) { return true; }
    size_t n = json_is_string(st) ? 1 : json_is_array(st) ? json_array_size(st) : 0;
    if (!json_is_string(st) && !json_is_array(st)) {
        return bad(e, "stop", "stop: expected a string or an array of strings, got %s",
                   type_name(st));
    }
    if (n > SRV_MAX_STOP) {
        return bad(e, "stop", "stop: %zu strings, at most %d", n, SRV_MAX_STOP);
    }
    r->stop = calloc(n ? n : 1, sizeof *r->stop);
    if (!r->stop) { return bad(e, "stop", "stop: out of memory"); }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_string(st) ? st : json_array_get(st, i);
        if (!json_is_string(s)) { return bad(e, "stop", "stop[%zu]: expected a string", i); }
        size_t len = json_string_length(s);
        if (len == 0 || len > 1024) {
            return bad(e, "stop", "stop[%zu]: empty or over 1024 bytes", i);
        }
        r->stop[r->n_stop++] = dup_n(json_string_value(s), len);
    }
    return true;
}

static bool logit_bias(const json_t *body, srv_request *r, srv_error *e)
{
    json_t *lb = field(body, "logit_bias");
    if (!lb) { return true; }
    if (!json_is_object(lb)) {
        return bad(e, "logit_bias", "logit_bias: expected an object {\"TOKEN_ID\": bias}");
    }
    size_t n = json_object_size(lb);
    if (n > 1024) { return bad(e, "logit_bias", "logit_bias: %zu entries, at most 1024", n); }
    r->bias_ids = calloc(n + 1, sizeof *r->bias_ids);
    r->bias = calloc(n + 1, sizeof *r->bias);
    if (!r->bias_ids || !r->bias) { return bad(e, "logit_bias", "logit_bias: out of memory"); }
    const char *k;
    json_t *v;
    json_object_foreach(lb, k, v) {
        char *end;
        long long id = strtoll(k, &end, 10);
        if (!*k || *end || id < 0 || id > INT32_MAX || (k[0] == '0' && k[1])) {
            return bad(e, "logit_bias", "logit_bias: key '%.40s' is not a token id", k);
        }
        if (!json_is_number(v) || !(json_number_value(v) >= -100 && json_number_value(v) <= 100)) {
            return bad(e, "logit_bias", "logit_bias[\"%s\"]: expected a number in [-100, 100]", k);
        }
        r->bias_ids[r->n_bias] = (int32_t)id;
        r->bias[r->n_bias++] = (float)json_number_value(v);
    }
    return true;
}

static bool sampling(const json_t *body, srv_request *r, srv_error *e)
{
    int64_t v = -1;
    if (!get_number(body, "temperature", 0, 2, &r->temperature, e) ||
        !get_number(body, "top_p", 0, 1, &r->top_p, e) ||
        !get_number(body, "min_p", 0, 1, &r->min_p, e) ||
        !get_number(body, "presence_penalty", -2, 2, &r->presence_penalty, e) ||
        !get_number(body, "frequency_penalty", -2, 2, &r->frequency_penalty, e) ||
        !get_int(body, "top_k", 0, INT32_MAX, &v, e)) {
        return false;
    }
    r->top_k = (int32_t)v;
    int64_t seed = -1;
    json_t *s = field(body, "seed");
    if (s && !get_int(body, "seed", INT64_MIN, INT64_MAX, &seed, e)) { return false; }
    if (s && seed != -1) { // -1: a random seed, as llama-server reads it
        r->has_seed = true;
        r->seed = (uint64_t)seed;
    }
    int64_t mt = -2, mct = -2;
    if (!get_int(body, "max_tokens", -1, SRV_MAX_MAX_TOKENS, &mt, e) ||
        !get_int(body, "max_completion_tokens", -1, SRV_MAX_MAX_TOKENS, &mct, e)) {
        return false;
    }
    if (mt == 0 || mct == 0) {
        return bad(e, mct == 0 ? "max_completion_tokens" : "max_tokens", "%s: must be at least 1",
                   mct == 0 ? "max_completion_tokens" : "max_tokens");
    }
    if (mct != -2) {
        r->max_tokens = mct;
    } else if (mt != -2) {
        r->max_tokens = mt;
    }
    int64_t n = 1;
    if (!get_int(body, "n", INT64_MIN, INT64_MAX, &n, e)) { return false; }
    if (n != 1) { return bad(e, "n", "n: only 1 choice per request is supported"); }
    return stops(body, r, e) && logit_bias(body, r, e);
}

static bool logprobs(const json_t *body, srv_request *r, srv_error *e)
{
    json_t *lp = field(body, "logprobs");
    int64_t top = 0;
    if (r->kind == SRV_COMPLETION && json_is_integer(lp)) { // legacy: "logprobs": N (0..5)
        if (!get_int(body, "logprobs", 0, 5, &top, e)) { return false; }
        r->logprobs = true;
        r->top_logprobs = (int)top;
        return true;
    }
    if (!get_bool(body, "logprobs", &r->logprobs, e) ||
        !get_int(body, "top_logprobs", 0, 20, &top, e)) {
        return false;
    }
    if (field(body, "top_logprobs") && !r->logprobs) {
        return bad(e, "top_logprobs", "top_logprobs: needs \"logprobs\": true");
    }
    r->top_logprobs = (int)top;
    return true;
}

static bool stream(const json_t *body, srv_request *r, srv_error *e)
{
    if (!get_bool(body, "stream", &r->stream, e)) { return false; }
    json_t *so = field(body, "stream_options");
    if (!so) { return true; }
    if (!json_is_object(so)) {
        return bad(e, "stream_options", "stream_options: expected an object");
    }
    if (!r->stream) {
        return bad(e, "stream_options", "stream_options: only with \"stream\": true");
    }
    if (!get_bool(so, "include_usage", &r->include_usage, e)) {
        snprintf(e->param, sizeof e->param, "stream_options");
        return false;
    }
    return true;
}

// An array of token ids into *ids.
static bool id_array(const json_t *a, const char *key, int32_t **ids, size_t *n, srv_error *e)
{
    size_t cnt = json_array_size(a);
    *ids = malloc((cnt ? cnt : 1) * sizeof **ids);
    if (!*ids) { return bad(e, key, "%s: out of memory", key); }
    for (size_t i = 0; i < cnt; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
            return bad(e, key, "%s[%zu]: expected a token id (an integer >= 0)", key, i);
        }
        (*ids)[i] = (int32_t)json_integer_value(v);
    }
    *n = cnt;
    return true;
}

static bool prompt(const json_t *body, srv_request *r, srv_error *e)
{
    json_t *p = field(body, "prompt");
    if (!p) { return bad(e, "prompt", "prompt: required"); }
    if (json_is_array(p) && json_array_size(p) == 1 &&
        (json_is_string(json_array_get(p, 0)) || json_is_array(json_array_get(p, 0)))) {
        p = json_array_get(p, 0); // ["text"] or [[1, 2, 3]]: one prompt
    }
    if (json_is_string(p)) {
        r->prompt_len = json_string_length(p);
        r->prompt = dup_n(json_string_value(p), r->prompt_len);
        return r->prompt || bad(e, "prompt", "prompt: out of memory");
    }
    if (!json_is_array(p)) {
        return bad(e, "prompt", "prompt: expected a string or an array of token ids, got %s",
                   type_name(p));
    }
    if (json_array_size(p) == 0) { return bad(e, "prompt", "prompt: empty"); }
    if (!json_is_integer(json_array_get(p, 0))) {
        return bad(e, "prompt", "prompt: several prompts are not supported (send one per request)");
    }
    return id_array(p, "prompt", &r->ids, &r->n_ids, e);
}

static bool not_supported(const json_t *body, srv_error *e)
{
    json_t *echo = field(body, "echo");
    if (echo && !json_is_false(echo)) { return bad(e, "echo", "echo: not supported"); }
    json_t *best = field(body, "best_of");
    if (best && !(json_is_integer(best) && json_integer_value(best) == 1)) {
        return bad(e, "best_of", "best_of: only 1 is supported");
    }
    json_t *sfx = field(body, "suffix");
    if (sfx && !(json_is_string(sfx) && json_string_length(sfx) == 0)) {
        return bad(e, "suffix", "suffix: not supported");
    }
    return true;
}

bool srv_request_parse(srv_kind kind, const char *body, size_t len, srv_request *r, srv_error *e)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->think = -1;
    r->max_tokens = kind == SRV_COMPLETION ? 16 : -1; // OpenAI's default for completions
    r->temperature = r->top_p = r->min_p = NAN;
    r->presence_penalty = r->frequency_penalty = NAN;
    r->top_k = -1;

    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        return bad(e, NULL, "the body is not valid JSON: %s (line %d, column %d)", je.text,
                   je.line, je.column);
    }
    bool ok = false;
    if (!json_is_object(j)) {
        (void)bad(e, NULL, "the body must be a JSON object, got %s", type_name(j));
        goto done;
    }
    json_t *model = field(j, "model");
    if (model) {
        if (!json_is_string(model) || json_string_length(model) == 0 ||
            json_string_length(model) > 512 ||
            strlen(json_string_value(model)) != json_string_length(model)) {
            (void)bad(e, "model", "model: expected a model name (a non-empty string)");
            goto done;
        }
        r->model = dup_n(json_string_value(model), json_string_length(model));
    }
    switch (kind) {
    case SRV_CHAT:
        ok = messages(j, r, e) && tools(j, r, e) && thinking(j, r, e) && sampling(j, r, e) &&
             logprobs(j, r, e) && stream(j, r, e);
        break;
    case SRV_COMPLETION:
        ok = prompt(j, r, e) && not_supported(j, e) && sampling(j, r, e) && logprobs(j, r, e) &&
             stream(j, r, e);
        break;
    case SRV_TOKENIZE: {
        json_t *c = field(j, "content");
        if (!json_is_string(c)) {
            (void)bad(e, "content", "content: expected a string%s", c ? "" : " (required)");
            break;
        }
        r->prompt_len = json_string_length(c);
        r->prompt = dup_n(json_string_value(c), r->prompt_len);
        ok = get_bool(j, "add_special", &r->add_special, e) &&
             get_bool(j, "with_pieces", &r->with_pieces, e);
        break;
    }
    case SRV_DETOKENIZE: {
        json_t *t = field(j, "tokens");
        if (!json_is_array(t)) {
            (void)bad(e, "tokens", "tokens: expected an array of token ids%s",
                      t ? "" : " (required)");
            break;
        }
        ok = id_array(t, "tokens", &r->ids, &r->n_ids, e);
        break;
    }
    }
done:
    json_decref(j);
    if (!ok) {
        srv_request_free(r);
        r->kind = kind;
    }
    return ok;
}

void srv_request_free(srv_request *r)
{
    free(r->model);
    json_decref(r->messages);
    json_decref(r->tools);
    json_decref(r->tool_choice);
    json_decref(r->template_kwargs);
    free(r->prompt);
    free(r->ids);
    for (size_t i = 0; i < r->n_stop; i++) {
        free(r->stop[i]);
    }
    free(r->stop);
    free(r->bias_ids);
    free(r->bias);
    memset(r, 0, sizeof *r);
}
