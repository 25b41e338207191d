// load_json.c — tokenizer.json (Hugging Face tokenizers) into a wick_tokenizer.
//
// Every failure names the file, the JSON path and the reason:
//   "tok.json: model.merges[12]: 'ab' is not in model.vocab".
#include <jansson.h>
#include <string.h>

#include "tok/tok.h"

#define GPT2_PATTERN                                                                               \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

typedef struct jload {
    const char *name;
    wick_tokenizer *t;
} jload;

static wick_status bad(const jload *j, const char *path, const char *what)
{
    return wk_fail(WICK_E_FORMAT, "%s: %s: %s", j->name, path, what);
}

static wick_status unsupported(const jload *j, const char *path, const char *type)
{
    return wk_fail(WICK_E_UNSUPPORTED, "%s: %s: '%s' is not supported", j->name, path, type);
}

// Optional boolean member; wrong type is an error.
static wick_status get_bool(const jload *j, json_t *o, const char *key, const char *path, bool def,
                            bool *out)
{
    json_t *v = json_object_get(o, key);
    *out = def;
    if (!v || json_is_null(v)) { return WICK_OK; }
    if (!json_is_boolean(v)) {
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return bad(j, p, "expected true or false");
    }
    *out = json_is_true(v);
    return WICK_OK;
}

// Optional string member (NULL when absent or null).
static wick_status get_str(const jload *j, json_t *o, const char *key, const char *path,
                           const char **s, size_t *n)
{
    json_t *v = json_object_get(o, key);
    *s = NULL;
    *n = 0;
    if (!v || json_is_null(v)) { return WICK_OK; }
    if (!json_is_string(v)) {
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return bad(j, p, "expected a string");
    }
    *s = json_string_value(v);
    *n = json_string_length(v);
    return WICK_OK;
}

static wick_status get_type(const jload *j, json_t *o, const char *path, const char **type)
{
    *type = NULL;
    if (!json_is_object(o)) { return bad(j, path, "expected an object"); }
    json_t *v = json_object_get(o, "type");
    if (!json_is_string(v)) {
        char p[512];
        snprintf(p, sizeof p, "%s.type", path);
        return bad(j, p, "expected a string");
    }
    *type = json_string_value(v);
    return WICK_OK;
}

// A pattern object {"Regex": "..."} or {"String": "..."}.
static wick_status get_pattern(const jload *j, json_t *o, const char *path, const char **s,
                               size_t *n, bool *is_regex)
{
    char p[512];
    snprintf(p, sizeof p, "%s.pattern", path);
    json_t *pat = json_object_get(o, "pattern");
    if (!json_is_object(pat)) {
        return bad(j, p, "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    json_t *r = json_object_get(pat, "Regex"), *str = json_object_get(pat, "String");
    json_t *v = r ? r : str;
    if (!json_is_string(v)) {
        return bad(j, p, "expected {\"Regex\": string} or {\"String\": string}");
    }
    *s = json_string_value(v);
    *n = json_string_length(v);
    *is_regex = r != NULL;
    return WICK_OK;
}


// --- normalizers ---------------------------------------------------------------------------------
static wick_status load_normalizer(jload *j, json_t *o, const char *path, int depth)
{
    if (!o || json_is_null(o)) { return WICK_OK; }
    if (depth > 8) { return bad(j, path, "nested too deeply"); }
    const char *type;
    wick_status rc = get_type(j, o, path, &type);
    if (rc < 0) { return rc; }
    char p[512];
    if (strcmp(type, "Sequence") == 0) {
        json_t *a = json_object_get(o, "normalizers");
        snprintf(p, sizeof p, "%s.normalizers", path);
        if (!json_is_array(a)) { return bad(j, p, "expected an array"); }
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(p, sizeof p, "%s.normalizers[%zu]", path, i);
            rc = load_normalizer(j, json_array_get(a, i), p, depth + 1);
            if (rc < 0) { return rc; }
        }
        return WICK_OK;
    }
    static const struct {
        const char *name;
        int kind;
    } simple[] = {{"NFC", WK_NORM_NFC},   {"NFD", WK_NORM_NFD},    {"NFKC", WK_NORM_NFKC},
                  {"NFKD", WK_NORM_NFKD}, {"Lowercase", WK_NORM_LOWER}};
    wk_norm *nm = NULL;
    for (size_t i = 0; i < WK_ARRAY_LEN(simple); i++) {
        if (strcmp(type, simple[i].name) == 0) {
            return wk_tok_norm_push(j->t, simple[i].kind, &nm);
        }
    }
    if (strcmp(type, "Replace") == 0) {
        const char *s, *c;
        size_t n, cn;
        bool is_re;
        rc = get_pattern(j, o, path, &s, &n, &is_re);
        if (rc == WICK_OK) { rc = get_str(j, o, "content", path, &c, &cn); }
        if (rc == WICK_OK && !c) {
            snprintf(p, sizeof p, "%s.content", path);
            rc = bad(j, p, "expected a string");
        }
        if (rc == WICK_OK) { rc = wk_tok_norm_push(j->t, WK_NORM_REPLACE, &nm); }
        if (rc < 0) { return rc; }
        rc = wk_tok_set_str(&nm->content, &nm->content_len, c, cn);
        if (rc == WICK_OK && is_re) {
            snprintf(p, sizeof p, "%s: %s.pattern.Regex", j->name, path);
            rc = wk_tok_regex_new(s, n, p, &nm->re);
        } else if (rc == WICK_OK) {
            rc = wk_tok_set_str(&nm->pat, &nm->pat_len, s, n);
        }
        return rc;
    }
    if (strcmp(type, "Prepend") == 0) {
        const char *s;
        size_t n;
        rc = get_str(j, o, "prepend", path, &s, &n);
        if (rc == WICK_OK && !s) {
            snprintf(p, sizeof p, "%s.prepend", path);
            rc = bad(j, p, "expected a string");
        }
        if (rc == WICK_OK) { rc = wk_tok_norm_push(j->t, WK_NORM_PREPEND, &nm); }
        if (rc < 0) { return rc; }
        return wk_tok_set_str(&nm->pat, &nm->pat_len, s, n);
    }
    if (strcmp(type, "Strip") == 0) {
        bool l = true, r = true;
        rc = get_bool(j, o, "strip_left", path, true, &l);
        if (rc == WICK_OK) { rc = get_bool(j, o, "strip_right", path, true, &r); }
        if (rc == WICK_OK) { rc = wk_tok_norm_push(j->t, WK_NORM_STRIP, &nm); }
        if (rc < 0) { return rc; }
        nm->left = l;
        nm->right = r;
        return WICK_OK;
    }
    snprintf(p, sizeof p, "%s.type", path);
    return unsupported(j, p, type);
}

// --- pre-tokenizers ------------------------------------------------------------------------------
static wick_status load_pre(jload *j, json_t *o, const char *path, int depth)
{
    if (!o || json_is_null(o)) { return WICK_OK; }
    if (depth > 8) { return bad(j, path, "nested too deeply"); }
    const char *type;
    wick_status rc = get_type(j, o, path, &type);
    if (rc < 0) { return rc; }
    char p[512];
    wk_pre *pr = NULL;
    if (strcmp(type, "Sequence") == 0) {
        json_t *a = json_object_get(o, "pretokenizers");
        snprintf(p, sizeof p, "%s.pretokenizers", path);
        if (!json_is_array(a)) { return bad(j, p, "expected an array"); }
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(p, sizeof p, "%s.pretokenizers[%zu]", path, i);
            rc = load_pre(j, json_array_get(a, i), p, depth + 1);
            if (rc < 0) { return rc; }
        }
        return WICK_OK;
    }
    if (strcmp(type, "Split") == 0) {
        const char *s = NULL, *beh = NULL;
        size_t n, bn;
        bool is_re = false, invert = false;
        rc = get_pattern(j, o, path, &s, &n, &is_re);
        if (rc == WICK_OK) { rc = get_str(j, o, "behavior", path, &beh, &bn); }
        if (rc == WICK_OK) { rc = get_bool(j, o, "invert", path, false, &invert); }
        if (rc < 0) { return rc; }
        static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious",
                                            "MergedWithNext", "Contiguous"};
        int behavior = -1;
        for (int i = 0; beh && i < 5; i++) {
            if (strcmp(beh, names[i]) == 0) { behavior = i; }
        }
        if (behavior < 0) {
            snprintf(p, sizeof p, "%s.behavior", path);
            return beh ? unsupported(j, p, beh) : bad(j, p, "expected a string");
        }
        snprintf(p, sizeof p, "%s: %s.pattern.Regex", j->name, path);
        return wk_tok_add_split(j->t, s, n, is_re, behavior, invert, p);
    }
    if (strcmp(type, "ByteLevel") == 0) {
        bool aps = true, ure = true;
        rc = get_bool(j, o, "add_prefix_space", path, true, &aps);
        if (rc == WICK_OK) { rc = get_bool(j, o, "use_regex", path, true, &ure); }
        if (rc == WICK_OK) { rc = wk_tok_pre_push(j->t, WK_PRE_BYTELEVEL, &pr); }
        if (rc < 0) { return rc; }
        pr->add_prefix_space = aps;
        pr->use_regex = ure;
        if (ure) {
            pr->fast = WK_FAST_NONE;
            rc = wk_tok_regex_new(GPT2_PATTERN, strlen(GPT2_PATTERN), "ByteLevel", &pr->re);
        }
        j->t->byte_level = true;
        return rc;
    }
    if (strcmp(type, "Digits") == 0) {
        bool ind = false;
        rc = get_bool(j, o, "individual_digits", path, false, &ind);
        if (rc == WICK_OK) { rc = wk_tok_pre_push(j->t, WK_PRE_DIGITS, &pr); }
        if (rc < 0) { return rc; }
        pr->individual = ind;
        return WICK_OK;
    }
    if (strcmp(type, "WhitespaceSplit") == 0) {
        return wk_tok_pre_push(j->t, WK_PRE_WSPLIT, &pr);
    }
    if (strcmp(type, "Metaspace") == 0) {
        const char *rep, *scheme;
        size_t rn, sn;
        bool split = true, aps = true;
        rc = get_str(j, o, "replacement", path, &rep, &rn);
        if (rc == WICK_OK) { rc = get_str(j, o, "prepend_scheme", path, &scheme, &sn); }
        if (rc == WICK_OK) { rc = get_bool(j, o, "split", path, true, &split); }
        if (rc == WICK_OK) { rc = get_bool(j, o, "add_prefix_space", path, true, &aps); }
        if (rc == WICK_OK) { rc = wk_tok_pre_push(j->t, WK_PRE_METASPACE, &pr); }
        if (rc < 0) { return rc; }
        pr->msplit = split;
        pr->prepend = aps ? 2 : 0;
        if (scheme) {
            pr->prepend = strcmp(scheme, "first") == 0 ? 1 : strcmp(scheme, "always") == 0 ? 2 : 0;
        }
        if (!rep) {
            rep = "\xE2\x96\x81";
            rn = 3;
        }
        return wk_tok_set_str(&pr->replacement, &pr->replacement_len, rep, rn);
    }
    snprintf(p, sizeof p, "%s.type", path);
    return unsupported(j, p, type);
}

// --- decoders ------------------------------------------------------------------------------------
static wick_status get_int(const jload *j, json_t *o, const char *key, const char *path, int def,
                           int *out)
{
    json_t *v = json_object_get(o, key);
    *out = def;
    if (!v || json_is_null(v)) { return WICK_OK; }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1 << 20) {
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return bad(j, p, "expected a small non-negative integer");
    }
    *out = (int)json_integer_value(v);
    return WICK_OK;
}

static wick_status load_decoder(jload *j, json_t *o, const char *path, int depth)
{
    if (!o || json_is_null(o)) { return WICK_OK; }
    if (depth > 8) { return bad(j, path, "nested too deeply"); }
    const char *type;
    wick_status rc = get_type(j, o, path, &type);
    if (rc < 0) { return rc; }
    char p[512];
    wick_tokenizer *t = j->t;
    if (strcmp(type, "Sequence") == 0) {
        json_t *a = json_object_get(o, "decoders");
        snprintf(p, sizeof p, "%s.decoders", path);
        if (!json_is_array(a)) { return bad(j, p, "expected an array"); }
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(p, sizeof p, "%s.decoders[%zu]", path, i);
            rc = load_decoder(j, json_array_get(a, i), p, depth + 1);
            if (rc < 0) { return rc; }
        }
        return WICK_OK;
    }
    if (strcmp(type, "ByteLevel") == 0) { return wk_tok_add_dec(t, WK_DEC_BYTELEVEL, 0, 0, 0, 0); }
    if (strcmp(type, "ByteFallback") == 0) {
        return wk_tok_add_dec(t, WK_DEC_BYTEFALLBACK, 0, 0, 0, 0);
    }
    if (strcmp(type, "Fuse") == 0) { return wk_tok_add_dec(t, WK_DEC_FUSE, 0, 0, 0, 0); }
    if (strcmp(type, "Replace") == 0) {
        const char *s, *c;
        size_t n, cn;
        bool is_re;
        rc = get_pattern(j, o, path, &s, &n, &is_re);
        if (rc == WICK_OK) { rc = get_str(j, o, "content", path, &c, &cn); }
        if (rc < 0) { return rc; }
        snprintf(p, sizeof p, "%s.pattern.Regex", path);
        if (is_re) { return unsupported(j, p, "regex pattern in a Replace decoder"); }
        if (!c || strlen(c) != cn || strlen(s) != n) {
            return bad(j, path, "expected string pattern and content without NUL");
        }
        return wk_tok_add_dec(t, WK_DEC_REPLACE, s, c, 0, 0);
    }
    if (strcmp(type, "Strip") == 0) {
        const char *c;
        size_t cn;
        int start = 0, stop = 0;
        rc = get_str(j, o, "content", path, &c, &cn);
        if (rc == WICK_OK) { rc = get_int(j, o, "start", path, 0, &start); }
        if (rc == WICK_OK) { rc = get_int(j, o, "stop", path, 0, &stop); }
        if (rc < 0) { return rc; }
        return wk_tok_add_dec(t, WK_DEC_STRIP, NULL, c && strlen(c) == cn ? c : " ", start, stop);
    }
    if (strcmp(type, "Metaspace") == 0) {
        const char *rep, *scheme;
        size_t rn, sn;
        rc = get_str(j, o, "replacement", path, &rep, &rn);
        if (rc == WICK_OK) { rc = get_str(j, o, "prepend_scheme", path, &scheme, &sn); }
        if (rc < 0) { return rc; }
        rc = wk_tok_add_dec(t, WK_DEC_REPLACE, rep && strlen(rep) == rn ? rep : "\xE2\x96\x81",
                            " ", 0, 0);
        if (rc == WICK_OK && !(scheme && strcmp(scheme, "never") == 0)) {
            rc = wk_tok_add_dec(t, WK_DEC_FUSE, 0, 0, 0, 0);
            if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_STRIP, NULL, " ", 1, 0); }
        }
        return rc;
    }
    snprintf(p, sizeof p, "%s.type", path);
    return unsupported(j, p, type);
}

// --- post-processor ------------------------------------------------------------------------------
static wick_status push_id(int32_t **v, int *n, int32_t id)
{
    int32_t *a = wk_realloc(*v, (size_t)(*n + 1) * sizeof *a);
    if (!a) { return wk_fail_nomem("post-processor"); }
    *v = a;
    a[(*n)++] = id;
    return WICK_OK;
}

static wick_status check_tok_id(const jload *j, json_t *v, const char *path, int32_t *id)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) >= j->t->n_vocab) {
        return bad(j, path, "expected a token id of the vocabulary");
    }
    *id = (int32_t)json_integer_value(v);
    return WICK_OK;
}

static wick_status load_post(jload *j, json_t *o, const char *path, int depth)
{
    if (!o || json_is_null(o)) { return WICK_OK; }
    if (depth > 8) { return bad(j, path, "nested too deeply"); }
    const char *type;
    wick_status rc = get_type(j, o, path, &type);
    if (rc < 0) { return rc; }
    char p[512];
    wick_tokenizer *t = j->t;
    if (strcmp(type, "ByteLevel") == 0) { return WICK_OK; } // adds nothing at encode time
    if (strcmp(type, "Sequence") == 0) {
        json_t *a = json_object_get(o, "processors");
        snprintf(p, sizeof p, "%s.processors", path);
        if (!json_is_array(a)) { return bad(j, p, "expected an array"); }
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(p, sizeof p, "%s.processors[%zu]", path, i);
            rc = load_post(j, json_array_get(a, i), p, depth + 1);
            if (rc < 0) { return rc; }
        }
        return WICK_OK;
    }
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        int32_t cls = 0, sep = 0;
        json_t *c = json_object_get(o, "cls"), *s = json_object_get(o, "sep");
        snprintf(p, sizeof p, "%s.cls[1]", path);
        rc = check_tok_id(j, json_array_get(c, 1), p, &cls);
        snprintf(p, sizeof p, "%s.sep[1]", path);
        if (rc == WICK_OK) { rc = check_tok_id(j, json_array_get(s, 1), p, &sep); }
        if (rc == WICK_OK) { rc = push_id(&t->post_pre, &t->n_post_pre, cls); }
        if (rc == WICK_OK) { rc = push_id(&t->post_post, &t->n_post_post, sep); }
        return rc;
    }
    if (strcmp(type, "TemplateProcessing") == 0) {
        json_t *single = json_object_get(o, "single");
        json_t *specials = json_object_get(o, "special_tokens");
        snprintf(p, sizeof p, "%s.single", path);
        if (!json_is_array(single)) { return bad(j, p, "expected an array"); }
        bool after = false;
        for (size_t i = 0; i < json_array_size(single); i++) {
            json_t *it = json_array_get(single, i);
            json_t *st = json_object_get(it, "SpecialToken");
            snprintf(p, sizeof p, "%s.single[%zu]", path, i);
            if (json_object_get(it, "Sequence")) {
                after = true;
                continue;
            }
            if (!json_is_object(st) || !json_is_string(json_object_get(st, "id"))) {
                return bad(j, p,
                           "expected {\"SpecialToken\": {\"id\": ...}} or {\"Sequence\": ...}");
            }
            const char *name = json_string_value(json_object_get(st, "id"));
            json_t *def = json_object_get(specials, name);
            json_t *ids = json_object_get(def, "ids");
            if (!json_is_array(ids)) {
                snprintf(p, sizeof p, "%s.special_tokens", path);
                char what[300];
                snprintf(what, sizeof what, "no ids for '%.200s'", name);
                return bad(j, p, what);
            }
            for (size_t k = 0; k < json_array_size(ids); k++) {
                int32_t id = 0;
                snprintf(p, sizeof p, "%s.special_tokens.%.200s.ids[%zu]", path, name, k);
                rc = check_tok_id(j, json_array_get(ids, k), p, &id);
                if (rc == WICK_OK) {
                    rc = after ? push_id(&t->post_post, &t->n_post_post, id)
                               : push_id(&t->post_pre, &t->n_post_pre, id);
                }
                if (rc < 0) { return rc; }
            }
        }
        return WICK_OK;
    }
    snprintf(p, sizeof p, "%s.type", path);
    return unsupported(j, p, type);
}

// --- the model -----------------------------------------------------------------------------------
// The model-space key of a vocabulary string: raw bytes for byte-level models.
static wick_status model_key(const wick_tokenizer *t, const char *s, size_t n, wk_buf *tmp,
                             bool *ok)
{
    wk_buf_clear(tmp);
    *ok = true;
    if (!t->byte_level) { return wk_buf_append(tmp, s, n); }
    wick_status rc;
    if (!wk_tok_bl_decode(s, n, tmp, &rc)) {
        if (rc < 0) { return rc; }
        *ok = false; // not in the byte-level alphabet: no BPE path leads to it
        return wk_buf_append(tmp, s, n);
    }
    return WICK_OK;
}

static wick_status load_vocab(jload *j, json_t *model)
{
    wick_tokenizer *t = j->t;
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab)) { return bad(j, "model.vocab", "expected an object"); }
    // ids first, to size the tables
    int64_t max_id = -1;
    const char *key;
    json_t *v;
    json_object_foreach(vocab, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= WK_TOK_MAX_VOCAB) {
            char p[300];
            snprintf(p, sizeof p, "model.vocab[\"%.200s\"]", key);
            return bad(j, p, "expected a token id (an integer from 0 to 2^24-1)");
        }
        if (json_integer_value(v) > max_id) { max_id = json_integer_value(v); }
    }
    wick_status rc = wk_tok_reserve(t, (int32_t)(max_id + 1));
    if (rc < 0) { return rc; }
    wk_buf tmp;
    wk_buf_init(&tmp, SIZE_MAX / 2);
    size_t klen;
    void *iter = json_object_iter(vocab);
    for (; iter && rc == WICK_OK; iter = json_object_iter_next(vocab, iter)) {
        key = json_object_iter_key(iter);
        klen = json_object_iter_key_len(iter);
        int32_t id = (int32_t)json_integer_value(json_object_iter_value(iter));
        if (t->flags[id] & WK_TOKF_PRESENT) {
            char p[300];
            snprintf(p, sizeof p, "model.vocab[\"%.200s\"]", key);
            rc = bad(j, p, "id already used by another token");
            break;
        }
        bool ok;
        rc = model_key(t, key, klen, &tmp, &ok);
        if (rc == WICK_OK) {
            rc = wk_tok_set(t, id, tmp.data ? tmp.data : "", tmp.len, ok ? WK_TOKF_MODEL : 0);
        }
    }
    wk_buf_free(&tmp);
    if (rc == WICK_OK) { rc = wk_tok_build_vmap(t); }
    if (rc < 0) { return wk_fail_prefix(rc, "%s: model.vocab", j->name); }
    return WICK_OK;
}

static wick_status merge_part(jload *j, const char *s, size_t n, const char *path, wk_buf *tmp,
                              int32_t *id)
{
    bool ok;
    wick_status rc = model_key(j->t, s, n, tmp, &ok);
    if (rc < 0) { return rc; }
    *id = ok ? wk_tok_lookup(j->t, tmp->data ? tmp->data : "", tmp->len) : -1;
    if (*id < 0) {
        char what[300];
        snprintf(what, sizeof what, "'%.*s' is not in model.vocab", (int)WK_MIN(n, 200), s);
        return bad(j, path, what);
    }
    return WICK_OK;
}

static wick_status load_merges(jload *j, json_t *model)
{
    wick_tokenizer *t = j->t;
    json_t *merges = json_object_get(model, "merges");
    if (!merges || json_is_null(merges)) { return WICK_OK; }
    if (!json_is_array(merges)) { return bad(j, "model.merges", "expected an array"); }
    size_t n = json_array_size(merges);
    wick_status rc = wk_tok_pairs_init(t, n);
    if (rc < 0) { return rc; }
    wk_buf tmp, cat;
    wk_buf_init(&tmp, SIZE_MAX / 2);
    wk_buf_init(&cat, SIZE_MAX / 2);
    for (size_t i = 0; i < n && rc == WICK_OK; i++) {
        json_t *m = json_array_get(merges, i);
        char path[64];
        snprintf(path, sizeof path, "model.merges[%zu]", i);
        const char *a, *b;
        size_t an, bn;
        if (json_is_string(m)) {
            const char *s = json_string_value(m);
            size_t sn = json_string_length(m);
            const char *sp = memchr(s, ' ', sn);
            if (!sp) {
                rc = bad(j, path, "expected two tokens separated by a space");
                break;
            }
            a = s;
            an = (size_t)(sp - s);
            b = sp + 1;
            bn = sn - an - 1;
        } else if (json_is_array(m) && json_array_size(m) == 2 &&
                   json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
            a = json_string_value(json_array_get(m, 0));
            an = json_string_length(json_array_get(m, 0));
            b = json_string_value(json_array_get(m, 1));
            bn = json_string_length(json_array_get(m, 1));
        } else {
            rc = bad(j, path, "expected \"a b\" or [\"a\", \"b\"]");
            break;
        }
        int32_t ia, ib;
        rc = merge_part(j, a, an, path, &tmp, &ia);
        if (rc == WICK_OK) { rc = merge_part(j, b, bn, path, &tmp, &ib); }
        if (rc < 0) { break; }
        wk_buf_clear(&cat);
        rc = wk_buf_append(&cat, t->arena + t->off[ia], t->len[ia]);
        if (rc == WICK_OK) { rc = wk_buf_append(&cat, t->arena + t->off[ib], t->len[ib]); }
        if (rc < 0) { break; }
        int32_t id = wk_tok_lookup(t, cat.data, cat.len);
        if (id < 0) {
            char what[300];
            snprintf(what, sizeof what, "the merged token '%.*s%.*s' is not in model.vocab",
                     (int)WK_MIN(an, 100), a, (int)WK_MIN(bn, 100), b);
            rc = bad(j, path, what);
            break;
        }
        if (i > UINT32_MAX - 2) {
            rc = bad(j, path, "too many merges");
            break;
        }
        rc = wk_tok_pair_add(t, ia, ib, (uint32_t)i, id);
    }
    wk_buf_free(&tmp);
    wk_buf_free(&cat);
    return rc;
}

static wick_status load_model(jload *j, json_t *root)
{
    wick_tokenizer *t = j->t;
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) { return bad(j, "model", "expected an object"); }
    json_t *type = json_object_get(model, "type");
    if (type && !json_is_string(type)) { return bad(j, "model.type", "expected a string"); }
    if (type && strcmp(json_string_value(type), "BPE") != 0) {
        return unsupported(j, "model.type", json_string_value(type));
    }
    json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout) &&
        !(json_is_number(dropout) && json_number_value(dropout) == 0.0)) {
        return unsupported(j, "model.dropout", "BPE dropout");
    }
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const char *s;
        size_t n;
        wick_status rc = get_str(j, model, affixes[i], "model", &s, &n);
        if (rc < 0) { return rc; }
        if (n > 0) {
            char p[80];
            snprintf(p, sizeof p, "model.%s", affixes[i]);
            return unsupported(j, p, s);
        }
    }
    wick_status rc = get_bool(j, model, "ignore_merges", "model", false, &t->ignore_merges);
    if (rc == WICK_OK) {
        rc = get_bool(j, model, "byte_fallback", "model", false, &t->byte_fallback);
    }
    if (rc == WICK_OK) { rc = get_bool(j, model, "fuse_unk", "model", false, &t->fuse_unk); }
    if (rc == WICK_OK) { rc = load_vocab(j, model); }
    if (rc == WICK_OK) { rc = load_merges(j, model); }
    if (rc < 0) { return rc; }
    const char *unk;
    size_t un;
    rc = get_str(j, model, "unk_token", "model", &unk, &un);
    if (rc == WICK_OK && unk) {
        wk_buf tmp;
        wk_buf_init(&tmp, SIZE_MAX / 2);
        rc = merge_part(j, unk, un, "model.unk_token", &tmp, &t->unk_id);
        wk_buf_free(&tmp);
    }
    return rc;
}

static wick_status load_added(jload *j, json_t *root)
{
    wick_tokenizer *t = j->t;
    json_t *a = json_object_get(root, "added_tokens");
    if (!a || json_is_null(a)) { return WICK_OK; }
    if (!json_is_array(a)) { return bad(j, "added_tokens", "expected an array"); }
    bool bl_dec = false;
    for (int k = 0; k < t->n_dec; k++) { bl_dec = bl_dec || t->dec[k].kind == WK_DEC_BYTELEVEL; }
    wk_buf tmp, norm;
    wk_buf_init(&tmp, SIZE_MAX / 2);
    wk_buf_init(&norm, SIZE_MAX / 2);
    wick_status rc = WICK_OK;
    for (size_t i = 0; i < json_array_size(a) && rc == WICK_OK; i++) {
        json_t *o = json_array_get(a, i);
        char p[64];
        snprintf(p, sizeof p, "added_tokens[%zu]", i);
        if (!json_is_object(o)) {
            rc = bad(j, p, "expected an object");
            break;
        }
        json_t *id = json_object_get(o, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= WK_TOK_MAX_VOCAB) {
            char pp[80];
            snprintf(pp, sizeof pp, "%s.id", p);
            rc = bad(j, pp, "expected a token id (an integer from 0 to 2^24-1)");
            break;
        }
        const char *c;
        size_t cn;
        bool special = false, lstrip = false, rstrip = false, normalized = false, single = false;
        rc = get_str(j, o, "content", p, &c, &cn);
        if (rc == WICK_OK && !c) {
            char pp[80];
            snprintf(pp, sizeof pp, "%s.content", p);
            rc = bad(j, pp, "expected a string");
        }
        if (rc == WICK_OK) { rc = get_bool(j, o, "special", p, false, &special); }
        if (rc == WICK_OK) { rc = get_bool(j, o, "lstrip", p, false, &lstrip); }
        if (rc == WICK_OK) { rc = get_bool(j, o, "rstrip", p, false, &rstrip); }
        if (rc == WICK_OK) { rc = get_bool(j, o, "normalized", p, !special, &normalized); }
        if (rc == WICK_OK) { rc = get_bool(j, o, "single_word", p, false, &single); }
        if (rc < 0) { break; }
        int32_t tid = (int32_t)json_integer_value(id);
        rc = wk_tok_reserve(t, tid + 1);
        if (rc < 0) { break; }
        uint8_t fl = (uint8_t)(WK_TOKF_ADDED | (special ? WK_TOKF_SPECIAL : 0));
        // A normalized added token is matched in the normalized text by its normalized content,
        // which is also its text when decoding (HF's AddedVocabulary with a normalizer).
        if (normalized && t->n_norm > 0) {
            rc = wk_tok_normalize(t, c, cn, &norm);
            if (rc < 0) { break; }
            c = norm.data ? norm.data : "";
            cn = norm.len;
        }
        // Decoding goes through the ByteLevel decoder: content whose chars are all in the
        // byte-level alphabet decodes as those bytes, other content as itself (HF's rule).
        wk_buf_clear(&tmp);
        if (!(bl_dec && wk_tok_bl_decode(c, cn, &tmp, &rc))) {
            if (rc < 0) { break; }
            wk_buf_clear(&tmp);
            rc = wk_buf_append(&tmp, c, cn);
        }
        if (rc == WICK_OK && (t->flags[tid] & WK_TOKF_PRESENT)) {
            // also a vocabulary token: its key stays, it decodes as the added content
            t->flags[tid] |= fl;
            rc = wk_tok_set_decode(t, tid, tmp.data ? tmp.data : "", tmp.len);
        } else if (rc == WICK_OK) {
            rc = wk_tok_set(t, tid, tmp.data ? tmp.data : "", tmp.len, fl);
        }
        if (rc == WICK_OK) {
            rc = wk_tok_add_added(t, c, cn, tid, special, lstrip, rstrip, normalized, single);
        }
    }
    wk_buf_free(&tmp);
    wk_buf_free(&norm);
    return rc;
}

wick_status wk_tok_load_json(const char *name, const char *data, size_t len,
                             const wick_tokenizer_opts *o, wick_tokenizer **out)
{
    (void)o; // the caller applies o->config_path and finishes the tokenizer
    *out = NULL;
    json_error_t err;
    json_t *root = json_loadb(data, len, 0, &err);
    if (!root) {
        return wk_fail(WICK_E_FORMAT, "%s: invalid JSON at line %d, column %d: %s", name,
                       err.line, err.column, err.text);
    }
    wick_tokenizer *t = NULL;
    jload j = {.name = name};
    wick_status rc = json_is_object(root) ? WICK_OK : bad(&j, "(root)", "expected an object");
    if (rc == WICK_OK) { rc = wk_tok_create(name, &t); }
    j.t = t;
    if (rc == WICK_OK) {
        rc = load_normalizer(&j, json_object_get(root, "normalizer"), "normalizer", 0);
    }
    if (rc == WICK_OK) {
        rc = load_pre(&j, json_object_get(root, "pre_tokenizer"), "pre_tokenizer", 0);
    }
    if (rc == WICK_OK) { rc = load_decoder(&j, json_object_get(root, "decoder"), "decoder", 0); }
    if (rc == WICK_OK) { rc = load_model(&j, root); }
    if (rc == WICK_OK) { rc = load_added(&j, root); }
    if (rc == WICK_OK) {
        rc = load_post(&j, json_object_get(root, "post_processor"), "post_processor", 0);
    }
    if (rc == WICK_OK && t->n_post_pre > 0) { t->bos = t->post_pre[0]; }
    if (rc == WICK_OK && t->n_post_post > 0) { t->eos = t->post_post[t->n_post_post - 1]; }
    json_decref(root);
    if (rc < 0) {
        wick_tokenizer_close(t);
        return rc;
    }
    *out = t;
    return WICK_OK;
}
