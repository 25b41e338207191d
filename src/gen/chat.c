// chat.c — chat prompts: the request's messages (+ tools) rendered with the model's own Jinja chat
// template (src/chat, wick.h section 8), as transformers' apply_chat_template does: the context is
// {"messages": [...], "tools": [...], "add_generation_prompt": true, "enable_thinking": bool,
// "bos_token", "eos_token"}.
#include <jansson.h>

#include "gen/gen.h"

// A message as the templates expect it: role, content (a string, "" when none), and, when given,
// reasoning_content, tool_calls (parsed), tool_call_id, name.
static wick_status message_json(const wick_message *m, size_t i, json_t *arr)
{
    json_t *o = json_object();
    if (!o || json_array_append_new(arr, o) < 0) { return wk_fail_nomem("chat messages"); }
    if (!m->role || !*m->role) {
        return wk_fail(WICK_E_INVALID, "messages[%zu].role: missing", i);
    }
    int bad = json_object_set_new(o, "role", json_string(m->role));
    bad |= json_object_set_new(o, "content", json_string(m->content ? m->content : ""));
    if (m->reasoning_content) {
        bad |= json_object_set_new(o, "reasoning_content", json_string(m->reasoning_content));
    }
    if (m->tool_call_id) {
        bad |= json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id));
    }
    if (m->name) { bad |= json_object_set_new(o, "name", json_string(m->name)); }
    if (bad) {
        return wk_fail(WICK_E_INVALID, "messages[%zu]: a string is not valid UTF-8", i);
    }
    if (m->tool_calls) {
        json_error_t err;
        json_t *tc = json_loads(m->tool_calls, 0, &err);
        if (!json_is_array(tc)) {
            json_decref(tc);
            return wk_fail(WICK_E_INVALID, "messages[%zu].tool_calls: expected a JSON array%s%s", i,
                           tc ? "" : ": ", tc ? "" : err.text);
        }
        if (json_object_set_new(o, "tool_calls", tc) < 0) { return wk_fail_nomem("chat messages"); }
    }
    return WICK_OK;
}

// The template's context for request q, as compact JSON (*out: free with wk_free).
static wick_status context_json(const wick_request *q, char **out, size_t *len)
{
    *out = NULL;
    json_t *root = json_object(), *msgs = json_array();
    wick_status rc = WICK_OK;
    if (!root || !msgs || json_object_set(root, "messages", msgs) < 0) {
        rc = wk_fail_nomem("chat context");
    }
    for (size_t i = 0; i < q->n_messages && rc >= 0; i++) {
        rc = message_json(&q->messages[i], i, msgs);
    }
    if (rc >= 0 && q->tools) {
        json_error_t err;
        json_t *tools = json_loads(q->tools, 0, &err);
        if (!json_is_array(tools)) {
            rc = wk_fail(WICK_E_INVALID, "tools: expected a JSON array of tool definitions%s%s",
                         tools ? "" : ": ", tools ? "" : err.text);
            json_decref(tools);
        } else if (json_object_set_new(root, "tools", tools) < 0) {
            rc = wk_fail_nomem("chat context");
        }
    }
    if (rc >= 0) {
        int bad = json_object_set_new(root, "add_generation_prompt", json_true());
        if (q->think >= 0) {
            bad |= json_object_set_new(root, "enable_thinking", json_boolean(q->think));
        }
        if (bad) { rc = wk_fail_nomem("chat context"); }
    }
    if (rc >= 0) {
        char *s = json_dumps(root, JSON_COMPACT);
        if (!s) {
            rc = wk_fail_nomem("chat context");
        } else {
            *len = strlen(s);
            *out = wk_strndup(s, *len);
            free(s);
            if (!*out) { rc = wk_fail_nomem("chat context"); }
        }
    }
    json_decref(msgs);
    json_decref(root);
    return rc;
}

wick_status wk_chat_render(const wk_loaded *L, const wick_request *q, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    wick_template *own = NULL;
    const wick_template *t = L->tmpl;
    wick_status rc;
    if (q->chat_template) {
        rc = wick_template_open("chat_template", q->chat_template, strlen(q->chat_template), &own);
        if (rc < 0) { return rc; }
        t = own;
    } else if (!t) {
        if (L->tmpl_error) { return wk_fail(L->tmpl_rc, "%s", L->tmpl_error); }
        return wk_fail(WICK_E_NOT_FOUND,
                       "no chat template: the GGUF has no tokenizer.chat_template and no "
                       "tokenizer_config.json gives one (give a template file)");
    }
    char *ctx = NULL;
    size_t ctx_len = 0;
    rc = context_json(q, &ctx, &ctx_len);
    if (rc >= 0) {
        wick_template_opts o;
        wick_template_opts_init(&o);
        // the template's own bos/eos texts, else the tokenizer's
        if (!wick_template_bos(t)) { o.bos_token = L->bos_text; }
        if (!wick_template_eos(t)) { o.eos_token = L->eos_text; }
        rc = wick_template_render(t, ctx, ctx_len, &o, out, out_len);
    }
    wk_free(ctx);
    wick_template_close(own);
    return rc;
}
