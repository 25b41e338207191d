// model.c — opening what a registry entry names, on its scheduler thread: the GGUF (validated by
// wick_model_open: architecture, every tensor's shape and type), the tokenizer (the GGUF's
// vocabulary, or tokenizer.json + tokenizer_config.json), and the chat template (compiled by
// src/chat: the GGUF's tokenizer.chat_template, else tokenizer_config.json's).
#include "gen/gen.h"

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
    wick_template_close(l->tmpl);
    wk_free(l->tmpl_error);
    wk_free(l->bos_text);
    wk_free(l->eos_text);
    memset(l, 0, sizeof *l);
}

// The chat template: the GGUF's tokenizer.chat_template, else tokenizer_config.json's (or the
// chat_template.jinja beside it). None is not an error; one that does not compile is kept as a
// message for the chat requests (raw and token prompts still work).
static wick_status open_template(const wk_load_args *a, wk_loaded *out)
{
    wick_status rc = wick_template_open_gguf(wick_model_gguf(out->model), NULL, &out->tmpl);
    if (rc == WICK_E_NOT_FOUND && a->tok_config) {
        rc = wick_template_open_config(a->tok_config, NULL, &out->tmpl);
    }
    if (rc >= 0 || rc == WICK_E_NOT_FOUND) { return WICK_OK; }
    if (rc == WICK_E_NOMEM) { return rc; }
    out->tmpl_rc = rc;
    out->tmpl_error = wk_strdup(wick_errmsg());
    return out->tmpl_error ? WICK_OK : wk_fail_nomem("chat template");
}

static char *token_text_dup(const wick_tokenizer *tk, int32_t id)
{
    size_t n = 0;
    const char *t = id >= 0 ? wick_token_text(tk, id, &n) : NULL;
    return t ? wk_strndup(t, n) : wk_strdup("");
}

wick_status wk_loaded_open(const wk_load_args *a, const wick_model_opts *mo, wk_loaded *out)
{
    memset(out, 0, sizeof *out);
    wick_status rc = wick_model_open(a->gguf_path, mo, &out->model);
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
    if ((rc = open_template(a, out)) < 0) { goto fail; }
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
