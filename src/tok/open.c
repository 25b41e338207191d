// open.c — opening tokenizers: tokenizer.json files, tiktoken files, GGUF vocabularies, the
// tokenizer_config.json beside them, and the per-model source order.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tok/tok.h"

#define MAX_TOKENIZER_FILE ((size_t)1 << 30)

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// "DIR/name" for the directory of path.
static char *beside(const char *path, const char *name)
{
    const char *slash = strrchr(path, '/');
    if (!slash) { return wk_strdup(name); }
    return wk_asprintf("%.*s/%s", (int)(slash - path), path, name);
}

// --- tokenizer_config.json -----------------------------------------------------------------------
// A token given as "text" or {"content": "text"}; NULL otherwise.
static const char *token_name(json_t *v, size_t *n)
{
    if (json_is_object(v)) { v = json_object_get(v, "content"); }
    if (!json_is_string(v)) { return NULL; }
    *n = json_string_length(v);
    return json_string_value(v);
}

static wick_status config_added(wick_tokenizer *t, const char *path, json_t *dec)
{
    if (!dec) { return WICK_OK; }
    if (!json_is_object(dec)) {
        return wk_fail(WICK_E_FORMAT, "%s: added_tokens_decoder: expected an object", path);
    }
    const char *key;
    json_t *v;
    json_object_foreach(dec, key, v)
    {
        char *end = NULL;
        long long id = strtoll(key, &end, 10);
        if (!*key || *end || id < 0 || id >= WK_TOK_MAX_VOCAB) {
            return wk_fail(WICK_E_FORMAT,
                           "%s: added_tokens_decoder[\"%.100s\"]: expected a token id", path, key);
        }
        size_t cn;
        json_t *c = json_object_get(v, "content");
        if (!json_is_string(c)) {
            return wk_fail(WICK_E_FORMAT,
                           "%s: added_tokens_decoder[\"%s\"].content: expected a string", path,
                           key);
        }
        const char *content = json_string_value(c);
        cn = json_string_length(c);
        bool special = json_is_true(json_object_get(v, "special"));
        json_t *norm = json_object_get(v, "normalized");
        wick_status rc = wk_tok_reserve(t, (int32_t)id + 1);
        if (rc < 0) { return rc; }
        if (t->flags[id] & WK_TOKF_MODEL) {
            return wk_fail(WICK_E_FORMAT,
                           "%s: added_tokens_decoder[\"%s\"]: id is a vocabulary rank", path, key);
        }
        uint8_t fl = (uint8_t)(WK_TOKF_ADDED | (special ? WK_TOKF_SPECIAL : 0));
        if (!(t->flags[id] & WK_TOKF_PRESENT)) {
            rc = wk_tok_set(t, (int32_t)id, content, cn, fl);
        } else {
            t->flags[id] |= fl;
        }
        if (rc == WICK_OK) {
            rc = wk_tok_add_added(t, content, cn, (int32_t)id, special,
                                  json_is_true(json_object_get(v, "lstrip")),
                                  json_is_true(json_object_get(v, "rstrip")),
                                  norm ? json_is_true(norm) : !special,
                                  json_is_true(json_object_get(v, "single_word")));
        }
        if (rc < 0) { return rc; }
    }
    return WICK_OK;
}

wick_status wk_tok_apply_config(wick_tokenizer *t, const char *path, bool set_add, bool added)
{
    char *data = NULL;
    size_t len = 0;
    wick_status rc = wk_read_file(path, 64u << 20, &data, &len);
    if (rc < 0) { return rc; }
    json_error_t err;
    json_t *root = json_loadb(data, len, 0, &err);
    wk_free(data);
    if (!root) {
        return wk_fail(WICK_E_FORMAT, "%s: invalid JSON at line %d, column %d: %s", path, err.line,
                       err.column, err.text);
    }
    if (!json_is_object(root)) {
        rc = wk_fail(WICK_E_FORMAT, "%s: expected an object", path);
        goto done;
    }
    if (added) {
        rc = config_added(t, path, json_object_get(root, "added_tokens_decoder"));
        if (rc < 0) { goto done; }
    }
    static const char *const keys[] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    int32_t *dst[] = {&t->bos, &t->eos, &t->unk_special, &t->pad};
    for (int i = 0; i < 4; i++) {
        size_t n = 0;
        const char *name = token_name(json_object_get(root, keys[i]), &n);
        if (!name) { continue; }
        int32_t id = wk_tok_find_text(t, name, n);
        if (id >= 0) { *dst[i] = id; }
    }
    if (set_add) {
        json_t *ab = json_object_get(root, "add_bos_token");
        json_t *ae = json_object_get(root, "add_eos_token");
        t->n_post_pre = t->n_post_post = 0;
        if (json_is_true(ab) && t->bos >= 0) {
            int32_t *v = wk_realloc(t->post_pre, sizeof *v);
            if (!v) {
                rc = wk_fail_nomem("post-processor");
                goto done;
            }
            t->post_pre = v;
            v[0] = t->bos;
            t->n_post_pre = 1;
        }
        if (json_is_true(ae) && t->eos >= 0) {
            int32_t *v = wk_realloc(t->post_post, sizeof *v);
            if (!v) {
                rc = wk_fail_nomem("post-processor");
                goto done;
            }
            t->post_post = v;
            v[0] = t->eos;
            t->n_post_post = 1;
        }
    }
done:
    json_decref(root);
    return rc;
}

// --- tokenizer.json ------------------------------------------------------------------------------
static wick_status open_json_data(const char *name, const char *data, size_t len,
                                  const char *config, wick_tokenizer **out)
{
    wick_tokenizer *t = NULL;
    wick_status rc = wk_tok_load_json(name, data, len, NULL, &t);
    if (rc == WICK_OK && config) { rc = wk_tok_apply_config(t, config, false, false); }
    if (rc == WICK_OK) { rc = wk_tok_finish(t); }
    if (rc < 0) {
        wick_tokenizer_close(t);
        return rc;
    }
    *out = t;
    return WICK_OK;
}

wick_status wick_tokenizer_open_json_mem(const char *name, const void *data, size_t len,
                                         const wick_tokenizer_opts *o, wick_tokenizer **out)
{
    if (out) { *out = NULL; }
    if (!out || (!data && len)) {
        return wk_fail(WICK_E_INVALID, "wick_tokenizer_open_json_mem: NULL");
    }
    return open_json_data(name ? name : "tokenizer.json", data ? data : "", len,
                          o ? o->config_path : NULL, out);
}

wick_status wick_tokenizer_open_json(const char *path, const wick_tokenizer_opts *o,
                                     wick_tokenizer **out)
{
    if (out) { *out = NULL; }
    if (!path || !out) { return wk_fail(WICK_E_INVALID, "wick_tokenizer_open_json: NULL"); }
    char *data = NULL, *cfg = NULL;
    size_t len = 0;
    wick_status rc = wk_read_file(path, MAX_TOKENIZER_FILE, &data, &len);
    if (rc < 0) { return rc; }
    const char *config = o ? o->config_path : NULL;
    if (!config) {
        cfg = beside(path, "tokenizer_config.json");
        if (cfg && file_exists(cfg)) { config = cfg; }
    }
    rc = open_json_data(path, data, len, config, out);
    wk_free(data);
    wk_free(cfg);
    return rc;
}

// --- tiktoken ------------------------------------------------------------------------------------
static wick_status load_tiktoken(wick_tokenizer *t, const char *path, const char *data, size_t len)
{
    // count lines to size the vocabulary (ranks must be dense 0..N-1)
    size_t n_lines = 0;
    for (size_t i = 0; i < len; i++) { n_lines += data[i] == '\n'; }
    if (len && data[len - 1] != '\n') { n_lines++; }
    if (n_lines == 0) { return wk_fail(WICK_E_FORMAT, "%s: empty tiktoken file", path); }
    if (n_lines >= WK_TOK_MAX_VOCAB) { return wk_fail(WICK_E_FORMAT, "%s: too many lines", path); }
    wick_status rc = wk_tok_reserve(t, (int32_t)n_lines);
    if (rc < 0) { return rc; }
    uint8_t tok[1024];
    size_t pos = 0, line = 0, n_ranks = 0;
    while (pos < len) {
        line++;
        const char *eol = memchr(data + pos, '\n', len - pos);
        size_t end = eol ? (size_t)(eol - data) : len;
        const char *s = data + pos;
        size_t n = end - pos;
        pos = end + 1;
        if (n > 0 && s[n - 1] == '\r') { n--; }
        if (n == 0) { continue; }
        const char *sp = memchr(s, ' ', n);
        if (!sp) { return wk_fail(WICK_E_FORMAT, "%s:%zu: expected 'BASE64 RANK'", path, line); }
        size_t bn = (size_t)(sp - s), tl = 0;
        if (bn > 4 * (sizeof tok / 3) || !wk_tok_base64(s, bn, tok, &tl) || tl == 0) {
            return wk_fail(WICK_E_FORMAT, "%s:%zu: bad base64 token", path, line);
        }
        int64_t rank = 0;
        size_t k = bn + 1;
        if (k >= n) { return wk_fail(WICK_E_FORMAT, "%s:%zu: missing rank", path, line); }
        for (; k < n; k++) {
            if (s[k] < '0' || s[k] > '9' || rank > WK_TOK_MAX_VOCAB) {
                return wk_fail(WICK_E_FORMAT, "%s:%zu: bad rank", path, line);
            }
            rank = rank * 10 + (s[k] - '0');
        }
        if (rank >= (int64_t)n_lines) {
            return wk_fail(WICK_E_FORMAT,
                           "%s:%zu: rank %lld but only %zu lines: ranks must be dense", path, line,
                           (long long)rank, n_lines);
        }
        if (t->flags[rank] & WK_TOKF_PRESENT) {
            return wk_fail(WICK_E_FORMAT, "%s:%zu: rank %lld appears twice", path, line,
                           (long long)rank);
        }
        rc = wk_tok_set(t, (int32_t)rank, tok, tl, WK_TOKF_MODEL);
        if (rc < 0) { return rc; }
        n_ranks++;
    }
    for (size_t r = 0; r < n_ranks; r++) {
        if (!(t->flags[r] & WK_TOKF_PRESENT)) {
            return wk_fail(WICK_E_FORMAT, "%s: rank %zu is missing: ranks must be dense", path, r);
        }
    }
    t->n_vocab = (int32_t)n_ranks; // blank lines do not count
    rc = wk_tok_build_vmap(t);
    if (rc < 0) { return wk_fail_prefix(rc, "%s", path); }
    return wk_tok_pairs_from_ranks(t);
}

static wick_status open_tiktoken_data(const char *path, const char *data, size_t len,
                                      const wick_tokenizer_opts *o, wick_tokenizer **out)
{
    wick_tokenizer *t = NULL;
    char *cfg = NULL;
    wick_status rc = wk_tok_create(path, &t);
    if (rc < 0) { return rc; }
    t->byte_level = true;
    t->ignore_merges = true; // tiktoken: a piece that is a rank is that token
    t->tiktoken_chunks = true;
    rc = load_tiktoken(t, path, data, len);
    const char *config = o ? o->config_path : NULL;
    if (rc == WICK_OK && !config) {
        cfg = beside(path, "tokenizer_config.json");
        if (cfg && file_exists(cfg)) { config = cfg; }
    }
    if (rc == WICK_OK && config) { rc = wk_tok_apply_config(t, config, true, true); }
    const char *pat = o && o->pattern ? o->pattern : wk_tok_kimi_pattern;
    if (rc == WICK_OK) {
        rc = wk_tok_add_split(t, pat, strlen(pat), true, WK_SPLIT_ISOLATED, false,
                              "tiktoken pattern");
    }
    if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_BYTELEVEL, NULL, NULL, 0, 0); }
    if (rc == WICK_OK) { rc = wk_tok_finish(t); }
    wk_free(cfg);
    if (rc < 0) {
        wick_tokenizer_close(t);
        return rc;
    }
    *out = t;
    return WICK_OK;
}

wick_status wick_tokenizer_open_tiktoken(const char *path, const wick_tokenizer_opts *o,
                                         wick_tokenizer **out)
{
    if (out) { *out = NULL; }
    if (!path || !out) { return wk_fail(WICK_E_INVALID, "wick_tokenizer_open_tiktoken: NULL"); }
    char *data = NULL;
    size_t len = 0;
    wick_status rc = wk_read_file(path, MAX_TOKENIZER_FILE, &data, &len);
    if (rc < 0) { return rc; }
    rc = open_tiktoken_data(path, data, len, o, out);
    wk_free(data);
    return rc;
}

wick_status wick_tokenizer_open_file(const char *path, const wick_tokenizer_opts *o,
                                     wick_tokenizer **out)
{
    if (out) { *out = NULL; }
    if (!path || !out) { return wk_fail(WICK_E_INVALID, "wick_tokenizer_open_file: NULL"); }
    char *data = NULL;
    size_t len = 0;
    wick_status rc = wk_read_file(path, MAX_TOKENIZER_FILE, &data, &len);
    if (rc < 0) { return rc; }
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) {
        i++;
    }
    // A tiktoken line starts with base64, never with '{' or '[': those are JSON.
    if (i < len && (data[i] == '{' || data[i] == '[')) {
        char *cfg = NULL;
        const char *config = o ? o->config_path : NULL;
        if (!config) {
            cfg = beside(path, "tokenizer_config.json");
            if (cfg && file_exists(cfg)) { config = cfg; }
        }
        rc = open_json_data(path, data, len, config, out);
        wk_free(cfg);
    } else {
        rc = open_tiktoken_data(path, data, len, o, out);
    }
    wk_free(data);
    return rc;
}

// --- per model -----------------------------------------------------------------------------------
wick_status wick_tokenizer_open_for_model(const char *dir, const wick_gguf *g,
                                          const wick_tokenizer_opts *o, wick_tokenizer **out)
{
    if (out) { *out = NULL; }
    if (!out || (!dir && !g)) {
        return wk_fail(WICK_E_INVALID, "wick_tokenizer_open_for_model: NULL");
    }
    wick_status rc;
    if (dir) {
        char *p = wk_asprintf("%s/tokenizer.json", dir);
        if (!p) { return wk_fail_nomem("path"); }
        if (file_exists(p)) {
            rc = wick_tokenizer_open_json(p, o, out);
            wk_free(p);
            return rc;
        }
        wk_free(p);
    }
    if (g && wick_gguf_find_kv(g, "tokenizer.ggml.tokens") >= 0) {
        return wick_tokenizer_open_gguf(g, out);
    }
    if (dir) {
        char *p = wk_asprintf("%s/tiktoken.model", dir);
        if (!p) { return wk_fail_nomem("path"); }
        if (file_exists(p)) {
            rc = wick_tokenizer_open_tiktoken(p, o, out);
            wk_free(p);
            return rc;
        }
        wk_free(p);
    }
    return wk_fail(WICK_E_NOT_FOUND, "%s: no tokenizer.json, GGUF vocabulary or tiktoken.model",
                   dir ? dir : wick_gguf_shard_path(g, 0));
}
