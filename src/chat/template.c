// template.c — the public chat-template API (wick.h section 9): templates from text, .jinja files,
// GGUF metadata (tokenizer.chat_template[.NAME], bos/eos token texts from the vocabulary) and
// tokenizer_config.json (chat_template as a string or a list of {name, template}; else
// chat_template.jinja / additional_chat_templates/NAME.jinja beside it, as transformers saves
// them), and the render: the context JSON is parsed into the render's arena (json.c).
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chat/jinja.h"

// --- opening -------------------------------------------------------------------------------------
// First invalid UTF-8 byte of s, or n.
static size_t utf8_invalid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || i + (size_t)len > n) { return i; }
        uint32_t cp = c & (0x7F >> len);
        for (int k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) { return i; }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { return i; }
        i += (size_t)len;
    }
    return n;
}

static wick_status open_named(const char *name, const char *src, size_t len, const char *bos,
                              const char *eos, wick_template **out)
{
    *out = NULL;
    if (!name || (!src && len)) {
        return wk_fail(WICK_E_INVALID, "wick_template_open: NULL argument");
    }
    if (len > JJ_MAX_SOURCE) {
        return wk_fail(WICK_E_RANGE, "%s: template of %zu bytes is larger than the limit (%zu)",
                       name, len, JJ_MAX_SOURCE);
    }
    size_t bad = utf8_invalid(src, len);
    if (bad < len) {
        int line, col;
        jj_linecol(src, len, (uint32_t)bad, &line, &col);
        return wk_fail(WICK_E_FORMAT, "%s:%d:%d: invalid UTF-8", name, line, col);
    }
    jtmpl *t = wk_calloc(1, sizeof *t);
    if (!t) { return wk_fail_nomem("template"); }
    ja_init(&t->arena, SIZE_MAX);
    t->name = wk_strdup(name);
    t->orig = wk_strndup(src ? src : "", len);
    t->orig_len = len;
    t->bos = bos ? wk_strdup(bos) : NULL;
    t->eos = eos ? wk_strdup(eos) : NULL;
    if (!t->name || !t->orig || (bos && !t->bos) || (eos && !t->eos)) {
        wick_template_close(t);
        return wk_fail_nomem("template");
    }
    jerr e;
    wick_status rc = jj_parse(t, &e);
    if (rc < 0) {
        if (rc == WICK_E_FORMAT && e.nomem) {
            rc = wk_fail_nomem("template");
        } else if (rc == WICK_E_FORMAT) {
            int line, col;
            jj_linecol(t->src ? t->src : t->orig, t->src ? t->len : len, e.pos, &line, &col);
            rc = wk_fail(WICK_E_FORMAT, "%s:%d:%d: %s", name, line, col, e.msg);
        }
        wick_template_close(t);
        return rc;
    }
    *out = t;
    return WICK_OK;
}

wick_status wick_template_open(const char *name, const char *src, size_t len, wick_template **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_template_open: NULL out"); }
    return open_named(name ? name : "template", src, len, NULL, NULL, out);
}

wick_status wick_template_open_file(const char *path, wick_template **out)
{
    if (!out || !path) { return wk_fail(WICK_E_INVALID, "wick_template_open_file: NULL argument"); }
    *out = NULL;
    char *src;
    size_t len;
    wick_status rc = wk_read_file(path, JJ_MAX_SOURCE, &src, &len);
    if (rc < 0) { return rc; }
    rc = open_named(path, src, len, NULL, NULL, out);
    wk_free(src);
    return rc;
}

// The text of the token whose id is at key (tokenizer.ggml.bos_token_id ...), or NULL.
static const char *gguf_token(const wick_gguf *g, const char *key)
{
    uint64_t id;
    const wick_gguf_value *toks;
    const char *s;
    size_t n;
    if (wick_gguf_find_kv(g, key) < 0 || wick_gguf_get_uint(g, key, &id) < 0 ||
        wick_gguf_find_kv(g, "tokenizer.ggml.tokens") < 0 ||
        wick_gguf_get_array(g, "tokenizer.ggml.tokens", &toks) < 0 ||
        id >= wick_gguf_array_len(toks)) {
        return NULL;
    }
    const wick_gguf_value *v = wick_gguf_array_at(toks, id);
    if (!v || wick_gguf_value_str(v, &s, &n) < 0 || strlen(s) != n || utf8_invalid(s, n) < n) {
        return NULL;
    }
    return s;
}

wick_status wick_template_open_gguf(const wick_gguf *g, const char *variant, wick_template **out)
{
    if (!out || !g) { return wk_fail(WICK_E_INVALID, "wick_template_open_gguf: NULL argument"); }
    *out = NULL;
    const char *path = wick_gguf_shard_path(g, 0);
    char key[256];
    if (variant && strcmp(variant, "default") != 0) {
        if (strlen(variant) > 200) { return wk_fail(WICK_E_INVALID, "template name too long"); }
        snprintf(key, sizeof key, "tokenizer.chat_template.%s", variant);
    } else {
        snprintf(key, sizeof key, "tokenizer.chat_template");
    }
    if (wick_gguf_find_kv(g, key) < 0) {
        // name the variants there are
        char names[512] = "";
        size_t m = 0;
        static const char prefix[] = "tokenizer.chat_template.";
        for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
            const char *k = wick_gguf_kv_key(g, i);
            if (strncmp(k, prefix, sizeof prefix - 1) == 0 && m < sizeof names - 64) {
                m += (size_t)snprintf(names + m, sizeof names - m, "%s%.60s", m ? ", " : "",
                                      k + sizeof prefix - 1);
            }
        }
        if (wick_gguf_find_kv(g, "tokenizer.chat_template") >= 0 && m < sizeof names - 16) {
            snprintf(names + m, sizeof names - m, "%sdefault", m ? ", " : "");
        }
        return wk_fail(WICK_E_NOT_FOUND, "%s: no chat template %s%s%s", path, key,
                       names[0] ? "; the file has: " : " in the file", names);
    }
    const char *src;
    size_t len;
    wick_status rc = wick_gguf_get_str(g, key, &src, &len);
    if (rc < 0) { return rc; }
    char name[1200];
    snprintf(name, sizeof name, "%s:%s", path, key);
    return open_named(name, src, len, gguf_token(g, "tokenizer.ggml.bos_token_id"),
                      gguf_token(g, "tokenizer.ggml.eos_token_id"), out);
}

// bos_token / eos_token of a tokenizer_config.json: a string or {"content": ...}.
static const char *config_token(const json_t *cfg, const char *key)
{
    const json_t *v = json_object_get(cfg, key);
    if (json_is_object(v)) { v = json_object_get(v, "content"); }
    return json_is_string(v) ? json_string_value(v) : NULL;
}

wick_status wick_template_open_config(const char *path, const char *variant, wick_template **out)
{
    if (!out || !path) {
        return wk_fail(WICK_E_INVALID, "wick_template_open_config: NULL argument");
    }
    *out = NULL;
    json_error_t err;
    json_t *cfg = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!cfg) {
        FILE *f = fopen(path, "rb");
        if (!f) { return wk_fail(WICK_E_IO, "%s: cannot open", path); }
        fclose(f);
        return wk_fail(WICK_E_FORMAT, "%s: invalid JSON at line %d column %d: %s", path, err.line,
                       err.column, err.text);
    }
    wick_status rc;
    const char *want = variant ? variant : "default";
    const char *bos = config_token(cfg, "bos_token"), *eos = config_token(cfg, "eos_token");
    json_t *ct = json_object_get(cfg, "chat_template");
    char name[1200];
    if (json_is_string(ct)) {
        if (strcmp(want, "default") != 0) {
            rc = wk_fail(WICK_E_NOT_FOUND,
                         "%s: chat_template: no template named '%s' (the file has "
                         "one template, 'default')",
                         path, want);
        } else {
            snprintf(name, sizeof name, "%s:chat_template", path);
            rc = open_named(name, json_string_value(ct), json_string_length(ct), bos, eos, out);
        }
    } else if (json_is_array(ct)) {
        size_t i;
        json_t *e;
        rc = WICK_E_NOT_FOUND;
        char names[512] = "";
        size_t m = 0;
        json_array_foreach(ct, i, e) {
            json_t *nm = json_object_get(e, "name"), *tx = json_object_get(e, "template");
            if (!json_is_string(nm) || !json_is_string(tx)) {
                rc = wk_fail(WICK_E_FORMAT, "%s: chat_template[%zu]: expected {\"name\": string, "
                             "\"template\": string}", path, i);
                break;
            }
            if (strcmp(json_string_value(nm), want) == 0) {
                snprintf(name, sizeof name, "%s:chat_template[%zu]", path, i);
                rc = open_named(name, json_string_value(tx), json_string_length(tx), bos, eos, out);
                break;
            }
            if (m < sizeof names - 64) {
                m += (size_t)snprintf(names + m, sizeof names - m, "%s%.60s", m ? ", " : "",
                                      json_string_value(nm));
            }
        }
        if (rc == WICK_E_NOT_FOUND) {
            rc = wk_fail(WICK_E_NOT_FOUND,
                         "%s: chat_template: no template named '%s'; the file has: %s", path, want,
                         names);
        }
    } else if (ct && !json_is_null(ct)) {
        rc = wk_fail(WICK_E_FORMAT, "%s: chat_template: expected a string or a list of {name, "
                     "template}", path);
    } else {
        // transformers' newer layout: the template in files beside the config
        const char *slash = strrchr(path, '/');
        int dir = slash ? (int)(slash - path + 1) : 0;
        char file[1200];
        if (strcmp(want, "default") == 0) {
            snprintf(file, sizeof file, "%.*schat_template.jinja", dir, path);
        } else {
            snprintf(file, sizeof file, "%.*sadditional_chat_templates/%s.jinja", dir, path, want);
        }
        char *src;
        size_t len;
        FILE *f = fopen(file, "rb");
        if (!f) {
            rc = wk_fail(WICK_E_NOT_FOUND, "%s: no chat_template (and no %s)", path, file);
        } else {
            fclose(f);
            rc = wk_read_file(file, JJ_MAX_SOURCE, &src, &len);
            if (rc >= 0) {
                rc = open_named(file, src, len, bos, eos, out);
                wk_free(src);
            }
        }
    }
    json_decref(cfg);
    return rc;
}

void wick_template_close(wick_template *t)
{
    if (!t) { return; }
    ja_free(&t->arena);
    wk_free(t->name);
    wk_free(t->orig);
    wk_free(t->bos);
    wk_free(t->eos);
    wk_free(t);
}

const char *wick_template_name(const wick_template *t) { return t ? t->name : NULL; }

const char *wick_template_source(const wick_template *t, size_t *len)
{
    if (len) { *len = t ? t->orig_len : 0; }
    return t ? t->orig : NULL;
}

const char *wick_template_bos(const wick_template *t) { return t ? t->bos : NULL; }
const char *wick_template_eos(const wick_template *t) { return t ? t->eos : NULL; }

// --- rendering -----------------------------------------------------------------------------------
void wick_template_opts_init(wick_template_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_output = WICK_TEMPLATE_MAX_OUTPUT;
    o->max_memory = WICK_TEMPLATE_MAX_MEMORY;
    o->max_steps = WICK_TEMPLATE_MAX_STEPS;
}

wick_status wick_template_render(const wick_template *t, const char *context, size_t len,
                                 const wick_template_opts *o, char **out, size_t *out_len)
{
    if (out) { *out = NULL; }
    if (out_len) { *out_len = 0; }
    if (!t || !out) { return wk_fail(WICK_E_INVALID, "wick_template_render: NULL argument"); }
    wick_template_opts dflt;
    if (!o) {
        wick_template_opts_init(&dflt);
        o = &dflt;
    }
    jrender r = {.t = t, .max_output = o->max_output, .max_steps = o->max_steps,
                 .now = o->now ? o->now : (int64_t)time(NULL), .err_pos = JJ_NOPOS};
    ja_init(&r.a, o->max_memory);
    jv cv = jv_none();
    char jmsg[200];
    int rc = context ? jj_json_context(&r, context, len, &cv, jmsg, sizeof jmsg) : 0;
    if (rc < 0 && jmsg[0]) {
        ja_free(&r.a);
        if (strstr(jmsg, "expected a JSON object")) {
            return wk_fail(WICK_E_FORMAT, "%s: context: expected a JSON object", t->name);
        }
        return wk_fail(WICK_E_FORMAT, "%s: context: invalid JSON at %s", t->name, jmsg);
    }
    if (rc == 0) {
        rc = jr_run(&r, cv, o->bos_token ? o->bos_token : t->bos,
                    o->eos_token ? o->eos_token : t->eos);
    }
    wick_status st = WICK_OK;
    if (rc < 0) {
        bool limit = r.over_limit;
        if (r.a.over && !r.a.capped) {
            st = wk_fail_nomem("template render");
        } else if (r.err_pos == JJ_NOPOS) {
            st = wk_fail(limit ? WICK_E_RANGE : WICK_E_TEMPLATE, "%s: %s", t->name, r.err);
        } else {
            int line, col;
            jj_linecol(t->src, t->len, r.err_pos, &line, &col);
            st = wk_fail(limit ? WICK_E_RANGE : WICK_E_TEMPLATE, "%s:%d:%d: %s", t->name, line,
                         col, r.err);
        }
    } else {
        const jsb *b = r.top;
        char *s = wk_malloc(b->n + 1);
        if (!s) {
            st = wk_fail_nomem("rendered template");
        } else {
            if (b->n) { memcpy(s, b->p, b->n); }
            s[b->n] = '\0';
            *out = s;
            if (out_len) { *out_len = b->n; }
        }
    }
    ja_free(&r.a);
    return st;
}
