// request.c — requests: defaults, checks and the deep copy a stream keeps (the caller's strings
// need not outlive wick_stream_start).
#include "gen/gen.h"

void wick_request_init(wick_request *r)
{
    memset(r, 0, sizeof *r);
    r->max_tokens = -1;
    r->think = -1;
    r->reasoning_budget = -1;
    wick_sampler_opts_init(&r->sampling);
}

// The checks wick_stream_start() fails on (everything else becomes a chunk).
static wick_status check(const wick_request *q)
{
    if (!q->model || !*q->model) { return wk_fail(WICK_E_INVALID, "request: no model spec"); }
    int forms = (q->prompt != NULL) + (q->tokens != NULL || q->n_tokens > 0) +
                (q->messages != NULL || q->n_messages > 0);
    if (forms != 1) {
        return wk_fail(WICK_E_INVALID,
                       "request: give exactly one of prompt, tokens and messages (%d given)",
                       forms);
    }
    if ((q->tokens && q->n_tokens == 0) || (!q->tokens && q->n_tokens)) {
        return wk_fail(WICK_E_INVALID, "request: tokens and n_tokens disagree");
    }
    if ((q->messages && q->n_messages == 0) || (!q->messages && q->n_messages)) {
        return wk_fail(WICK_E_INVALID, "request: messages and n_messages disagree");
    }
    for (size_t i = 0; i < q->n_messages; i++) {
        if (!q->messages[i].role || !*q->messages[i].role) {
            return wk_fail(WICK_E_INVALID, "request: messages[%zu].role is missing", i);
        }
    }
    if (q->tools && !q->messages) {
        return wk_fail(WICK_E_INVALID, "request: tools need chat messages");
    }
    if (q->n_stop > WICK_MAX_STOP_STRINGS || (q->n_stop && !q->stop)) {
        return wk_fail(WICK_E_INVALID, "request: %zu stop strings, at most %d", q->n_stop,
                       WICK_MAX_STOP_STRINGS);
    }
    for (size_t i = 0; i < q->n_stop; i++) {
        if (!q->stop[i] || strlen(q->stop[i]) > WICK_MAX_STOP_BYTES) {
            return wk_fail(WICK_E_INVALID, "request: stop[%zu] is NULL or longer than %d bytes", i,
                           WICK_MAX_STOP_BYTES);
        }
    }
    if (q->think < -1 || q->think > 1) {
        return wk_fail(WICK_E_INVALID, "request: think %d is not -1, 0 or 1", q->think);
    }
    // the sampler's own checks (logit-bias ids are checked against the model's vocabulary later)
    wick_sampler *smp = NULL;
    wick_status rc = wick_sampler_create(&q->sampling, INT32_MAX, &smp);
    wick_sampler_destroy(smp);
    if (rc < 0) { return wk_fail_prefix(rc, "request"); }
    return WICK_OK;
}

// Copies *p (a string or NULL) into a new allocation; false only when out of memory.
static bool dup_str(const char **p)
{
    if (!*p) { return true; }
    char *d = wk_strdup(*p);
    *p = d;
    return d != NULL;
}

void wk_req_free(wk_req *r)
{
    wick_request *q = &r->q;
    wk_free((void *)q->model);
    wk_free((void *)q->tokenizer);
    wk_free((void *)q->chat_template);
    wk_free((void *)q->prompt);
    wk_free((void *)q->tokens);
    wk_free((void *)q->tools);
    if (q->messages) {
        for (size_t i = 0; i < q->n_messages; i++) {
            wick_message *m = (wick_message *)&q->messages[i];
            wk_free((void *)m->role);
            wk_free((void *)m->content);
            wk_free((void *)m->reasoning_content);
            wk_free((void *)m->tool_calls);
            wk_free((void *)m->tool_call_id);
            wk_free((void *)m->name);
        }
        wk_free((void *)q->messages);
    }
    if (q->stop) {
        for (size_t i = 0; i < q->n_stop; i++) { wk_free((void *)q->stop[i]); }
        wk_free((void *)q->stop);
    }
    wk_free((void *)q->sampling.logit_bias);
    memset(r, 0, sizeof *r);
}

wick_status wk_req_copy(const wick_request *src, wk_req *dst)
{
    memset(dst, 0, sizeof *dst);
    wick_status rc = check(src);
    if (rc < 0) { return rc; }
    wick_request *q = &dst->q;
    *q = *src;
    // Null every owned pointer first, so that a failure half-way frees only what was copied.
    q->model = q->tokenizer = q->chat_template = q->prompt = q->tools = NULL;
    q->tokens = NULL;
    q->messages = NULL;
    q->stop = NULL;
    q->n_messages = q->n_stop = 0;
    q->sampling.logit_bias = NULL;
    q->sampling.n_logit_bias = 0;
    q->model = src->model;
    q->tokenizer = src->tokenizer;
    q->chat_template = src->chat_template;
    q->prompt = src->prompt;
    q->tools = src->tools;
    bool ok = dup_str(&q->model) && dup_str(&q->tokenizer) && dup_str(&q->chat_template) &&
              dup_str(&q->prompt) && dup_str(&q->tools);
    if (ok && src->tokens) {
        int32_t *t = wk_malloc(src->n_tokens * sizeof *t);
        if (t) { memcpy(t, src->tokens, src->n_tokens * sizeof *t); }
        q->tokens = t;
        ok = t != NULL;
    }
    if (ok && src->messages) {
        wick_message *m = wk_calloc(src->n_messages, sizeof *m);
        q->messages = m;
        ok = m != NULL;
        for (size_t i = 0; ok && i < src->n_messages; i++) {
            m[i] = src->messages[i];
            q->n_messages = i + 1;
            ok = dup_str(&m[i].role) && dup_str(&m[i].content) &&
                 dup_str(&m[i].reasoning_content) && dup_str(&m[i].tool_calls) &&
                 dup_str(&m[i].tool_call_id) && dup_str(&m[i].name);
            if (!ok) { // the ones not copied yet must not be freed
                const char **f[] = {&m[i].role,       &m[i].content,      &m[i].reasoning_content,
                                    &m[i].tool_calls, &m[i].tool_call_id, &m[i].name};
                const char *const o[] = {src->messages[i].role,       src->messages[i].content,
                                         src->messages[i].reasoning_content,
                                         src->messages[i].tool_calls,
                                         src->messages[i].tool_call_id, src->messages[i].name};
                for (size_t k = 0; k < WK_ARRAY_LEN(f); k++) {
                    if (*f[k] == o[k]) { *f[k] = NULL; }
                }
            }
        }
    }
    if (ok && src->n_stop) {
        const char **s = wk_calloc(src->n_stop, sizeof *s);
        q->stop = s;
        ok = s != NULL;
        for (size_t i = 0; ok && i < src->n_stop; i++) {
            s[i] = wk_strdup(src->stop[i]);
            q->n_stop = i + 1;
            ok = s[i] != NULL;
        }
    }
    if (ok && src->sampling.n_logit_bias) {
        size_t n = src->sampling.n_logit_bias;
        wick_logit_bias *b = wk_malloc(n * sizeof *b);
        if (b) { memcpy(b, src->sampling.logit_bias, n * sizeof *b); }
        q->sampling.logit_bias = b;
        q->sampling.n_logit_bias = b ? n : 0;
        ok = b != NULL;
    }
    if (!ok) {
        // strings not copied still point at the caller's: forget them before freeing
        if (q->model == src->model) { q->model = NULL; }
        if (q->tokenizer == src->tokenizer) { q->tokenizer = NULL; }
        if (q->chat_template == src->chat_template) { q->chat_template = NULL; }
        if (q->prompt == src->prompt) { q->prompt = NULL; }
        if (q->tools == src->tools) { q->tools = NULL; }
        wk_req_free(dst);
        return wk_fail_nomem("request copy");
    }
    return WICK_OK;
}
