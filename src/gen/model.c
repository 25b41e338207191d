// model.c — opening what a registry entry names, on its scheduler thread: the GGUF (validated by
// wick_model_open: architecture, every tensor's shape and type), the tokenizer (the GGUF's
// vocabulary, or tokenizer.json + tokenizer_config.json), and the chat template (the GGUF's
// tokenizer.chat_template, else tokenizer_config.json's chat_template).
#include <jansson.h>

#include "gen/gen.h"

#define MAX_CONFIG_BYTES (16u << 20)

void wk_load_args_free(wk_load_args *a)
{
    wk_free(a->gguf_path);
    wk_free(a->tok_json);
    wk_free(a->tok_config);
    memset(a, 0, sizeof *a);
}

void wk_loaded_close(wk_loaded *l)
{
    wick_tokenizer_close(l->tok);
    wick_model_close(l->model);
    wk_free(l->template_text);
    wk_free(l->bos_text);
    wk_free(l->eos_text);
    memset(l, 0, sizeof *l);
}

// tokenizer_config.json's chat_template: a string, or a list of {"name", "template"} of which
// the one named "default" (else the first) is taken. *out NULL when there is none.
static wick_status config_template(const char *path, char **out)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    wick_status rc = wk_read_file(path, MAX_CONFIG_BYTES, &text, &len);
    if (rc < 0) { return rc; }
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    wk_free(text);
    if (!root) {
        return wk_fail(WICK_E_FORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    }
    json_t *t = json_object_get(root, "chat_template");
    const char *s = NULL;
    if (json_is_string(t)) {
        s = json_string_value(t);
    } else if (json_is_array(t)) {
        size_t i;
        json_t *e;
        json_array_foreach(t, i, e)
        {
            const char *name = json_string_value(json_object_get(e, "name"));
            const char *tpl = json_string_value(json_object_get(e, "template"));
            if (tpl && (!s || (name && strcmp(name, "default") == 0))) { s = tpl; }
        }
    } else if (t && !json_is_null(t)) {
        json_decref(root);
        return wk_fail(WICK_E_FORMAT, "%s: chat_template: expected a string or a list", path);
    }
    if (s) {
        *out = wk_strdup(s);
        if (!*out) { rc = wk_fail_nomem("chat template"); }
    }
    json_decref(root);
    return rc;
}

static char *token_text_dup(const wick_tokenizer *tk, int32_t id)
{
    size_t n = 0;
    const char *t = id >= 0 ? wick_token_text(tk, id, &n) : NULL;
    return t ? wk_strndup(t, n) : wk_strdup("");
}

wick_status wk_loaded_open(const wk_load_args *a, wk_loaded *out)
{
    memset(out, 0, sizeof *out);
    wick_status rc = wick_model_open(a->gguf_path, NULL, &out->model);
    if (rc < 0) { goto fail; }
    if (a->tok_json) {
        wick_tokenizer_opts to;
        wick_tokenizer_opts_init(&to);
        to.config_path = a->tok_config;
        rc = wick_tokenizer_open_file(a->tok_json, &to, &out->tok);
    } else {
        rc = wick_tokenizer_open_gguf(wick_model_gguf(out->model), &out->tok);
        if (rc < 0) { rc = wk_fail_prefix(rc, "%s", a->gguf_path); }
    }
    if (rc < 0) { goto fail; }
    const int32_t nv_tok = wick_tokenizer_n_vocab(out->tok), nv = wick_model_n_vocab(out->model);
    if (nv_tok > nv) {
        rc = wk_fail(WICK_E_FORMAT, "%s: the tokenizer has %d tokens, the model's vocabulary %d",
                     a->tok_json ? a->tok_json : a->gguf_path, nv_tok, nv);
        goto fail;
    }
    const char *tpl = NULL;
    size_t tpl_len = 0;
    if (wick_gguf_get_str(wick_model_gguf(out->model), "tokenizer.chat_template", &tpl, &tpl_len) >=
        0) {
        out->template_text = wk_strndup(tpl, tpl_len);
        if (!out->template_text) {
            rc = wk_fail_nomem("chat template");
            goto fail;
        }
    } else if (a->tok_config) {
        if ((rc = config_template(a->tok_config, &out->template_text)) < 0) { goto fail; }
    }
    out->bos_text = token_text_dup(out->tok, wick_tokenizer_bos(out->tok));
    out->eos_text = token_text_dup(out->tok, wick_tokenizer_eos(out->tok));
    if (!out->bos_text || !out->eos_text) {
        rc = wk_fail_nomem("special tokens");
        goto fail;
    }
    return WICK_OK;
fail:
    wk_loaded_close(out);
    return rc;
}
