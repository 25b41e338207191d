// json_pipe.c — the pipeline parts of tokenizer.json (Hugging Face tokenizers): normalizers,
// pre-tokenizers, decoders and post-processors, and the typed getters every JSON part uses.
// Every failure names the file, the JSON path and the reason:
//   "tok.json: pre_tokenizer.pretokenizers[1].type: 'Foo' is not supported".
#include <jansson.h>
#include <string.h>

#include "tok/tok_json.h"

wick_status wk_tok_json_bad(const wk_tok_jload *j, const char *path, const char *what)
{
    return wk_fail(WICK_E_FORMAT, "%s: %s: %s", j->name, path, what);
}

wick_status wk_tok_json_unsupported(const wk_tok_jload *j, const char *path, const char *type)
{
    return wk_fail(WICK_E_UNSUPPORTED, "%s: %s: '%s' is not supported", j->name, path, type);
}

// Optional boolean member; wrong type is an error.
wick_status wk_tok_json_bool(const wk_tok_jload *j, json_t *o, const char *key, const char *path,
                             bool def, bool *out)
{
    json_t *v = json_object_get(o, key);
    *out = def;
    if (!v || json_is_null(v)) { return WICK_OK; }
    if (!json_is_boolean(v)) {
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return wk_tok_json_bad(j, p, "expected true or false");
    }
    *out = json_is_true(v);
    return WICK_OK;
}

// Optional string member (NULL when absent or null).
wick_status wk_tok_json_str(const wk_tok_jload *j, json_t *o, const char *key, const char *path,
                            const char **s, size_t *n)
{
    json_t *v = json_object_get(o, key);
    *s = NULL;
    *n = 0;
    if (!v || json_is_null(v)) { return WICK_OK; }
    if (!json_is_string(v)) {
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return wk_tok_json_bad(j, p, "expected a string");
    }
    *s = json_string_value(v);
    *n = json_string_length(v);
    return WICK_OK;
}

wick_status wk_tok_json_type(const wk_tok_jload *j, json_t *o, const char *path, const char **type)
{
    *type = NULL;
    if (!json_is_object(o)) { return wk_tok_json_bad(j, path, "expected an object"); }
    json_t *v = json_object_get(o, "type");
    if (!json_is_string(v)) {
        char p[512];
        snprintf(p, sizeof p, "%s.type", path);
        return wk_tok_json_bad(j, p, "expected a string");
    }
    *type = json_string_value(v);
    return WICK_OK;
}

// The opening of a pipeline step: o absent or null: done. Checks the depth and reads o.type; a
// "Sequence" runs fn over o[key][i] (done too). 1: done, 0: *type to handle, < 0: an error.
static int step_open(wk_tok_jload *j, json_t *o, const char *path, int depth, const char *key,
                     wk_tok_json_fn fn, const char **type)
{
    if (!o || json_is_null(o)) { return 1; }
    if (depth > 8) { return wk_tok_json_bad(j, path, "nested too deeply"); }
    wick_status rc = wk_tok_json_type(j, o, path, type);
    if (rc < 0) { return rc; }
    if (strcmp(*type, "Sequence") != 0) { return 0; }
    char p[512];
    json_t *a = json_object_get(o, key);
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!json_is_array(a)) { return wk_tok_json_bad(j, p, "expected an array"); }
    for (size_t i = 0; i < json_array_size(a); i++) {
        snprintf(p, sizeof p, "%s.%s[%zu]", path, key, i);
        rc = fn(j, json_array_get(a, i), p, depth + 1);
        if (rc < 0) { return rc; }
    }
    return 1;
}

// A pattern object {"Regex": "..."} or {"String": "..."}.
wick_status wk_tok_json_pattern(const wk_tok_jload *j, json_t *o, const char *path, const char **s,
                                size_t *n, bool *is_regex)
{
    char p[512];
    snprintf(p, sizeof p, "%s.pattern", path);
    json_t *pat = json_object_get(o, "pattern");
    if (!json_is_object(pat)) {
        return wk_tok_json_bad(j, p, "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    json_t *r = json_object_get(pat, "Regex"), *str = json_object_get(pat, "String");
    json_t *v = r ? r : str;
    if (!json_is_string(v)) {
        return wk_tok_json_bad(j, p, "expected {\"Regex\": string} or {\"String\": string}");
    }
    *s = json_string_value(v);
    *n = json_string_length(v);
    *is_regex = r != NULL;
    return WICK_OK;
}

wick_status wk_tok_json_int(const wk_tok_jload *j, json_t *o, const char *key, const char *path,
                            int def, int *out)
{
    json_t *v = json_object_get(o, key);
    *out = def;
    if (!v || json_is_null(v)) { return WICK_OK; }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1 << 20) {
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return wk_tok_json_bad(j, p, "expected a small non-negative integer");
    }
    *out = (int)json_integer_value(v);
    return WICK_OK;
}

wick_status wk_tok_json_id(const wk_tok_jload *j, json_t *v, const char *path, int32_t *id)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) >= j->t->n_vocab) {
        return wk_tok_json_bad(j, path, "expected a token id of the vocabulary");
    }
    *id = (int32_t)json_integer_value(v);
    return WICK_OK;
}

// --- normalizers ---------------------------------------------------------------------------------
wick_status wk_tok_json_normalizer(wk_tok_jload *j, json_t *o, const char *path, int depth)
{
    const char *type;
    wick_status rc = step_open(j, o, path, depth, "normalizers", wk_tok_json_normalizer, &type);
    if (rc != 0) { return rc < 0 ? rc : WICK_OK; }
    char p[512];
    static const struct {
        const char *name;
        int kind;
    } simple[] = {{"NFC", WK_NORM_NFC},
                  {"NFD", WK_NORM_NFD},
                  {"NFKC", WK_NORM_NFKC},
                  {"NFKD", WK_NORM_NFKD},
                  {"Lowercase", WK_NORM_LOWER},
                  {"StripAccents", WK_NORM_STRIP_ACCENTS},
                  {"Nmt", WK_NORM_NMT},
                  {"ByteLevel", WK_NORM_BYTELEVEL}};
    wk_norm *nm = NULL;
    for (size_t i = 0; i < WK_ARRAY_LEN(simple); i++) {
        if (strcmp(type, simple[i].name) == 0) {
            if (simple[i].kind == WK_NORM_BYTELEVEL) {
                j->t->byte_level = true; // vocabulary in the alphabet, text spelled in it too
                j->t->norm_bl = true;
            }
            return wk_tok_norm_push(j->t, simple[i].kind, &nm);
        }
    }
    if (strcmp(type, "Replace") == 0) {
        const char *s, *c;
        size_t n, cn;
        bool is_re;
        rc = wk_tok_json_pattern(j, o, path, &s, &n, &is_re);
        if (rc == WICK_OK) { rc = wk_tok_json_str(j, o, "content", path, &c, &cn); }
        if (rc == WICK_OK && !c) {
            snprintf(p, sizeof p, "%s.content", path);
            rc = wk_tok_json_bad(j, p, "expected a string");
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
        rc = wk_tok_json_str(j, o, "prepend", path, &s, &n);
        if (rc == WICK_OK && !s) {
            snprintf(p, sizeof p, "%s.prepend", path);
            rc = wk_tok_json_bad(j, p, "expected a string");
        }
        if (rc == WICK_OK) { rc = wk_tok_norm_push(j->t, WK_NORM_PREPEND, &nm); }
        if (rc < 0) { return rc; }
        return wk_tok_set_str(&nm->pat, &nm->pat_len, s, n);
    }
    if (strcmp(type, "BertNormalizer") == 0) {
        bool clean = true, chinese = true, lower = true, strip = false;
        json_t *sa = json_object_get(o, "strip_accents");
        rc = wk_tok_json_bool(j, o, "clean_text", path, true, &clean);
        if (rc == WICK_OK) {
            rc = wk_tok_json_bool(j, o, "handle_chinese_chars", path, true, &chinese);
        }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "lowercase", path, true, &lower); }
        // strip_accents: null follows lowercase
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "strip_accents", path, lower, &strip); }
        if (rc == WICK_OK) { rc = wk_tok_norm_push(j->t, WK_NORM_BERT, &nm); }
        if (rc < 0) { return rc; }
        (void)sa;
        nm->clean = clean;
        nm->chinese = chinese;
        nm->lower = lower;
        nm->strip_accents = strip;
        return WICK_OK;
    }
    if (strcmp(type, "Precompiled") == 0) {
        const char *b64;
        size_t bn;
        snprintf(p, sizeof p, "%s.precompiled_charsmap", path);
        rc = wk_tok_json_str(j, o, "precompiled_charsmap", path, &b64, &bn);
        if (rc < 0) { return rc; }
        if (!b64) { return wk_tok_json_bad(j, p, "expected a base64 string"); }
        uint8_t *blob = wk_malloc(bn / 4 * 3 + 3);
        size_t len = 0;
        if (!blob) { return wk_fail_nomem("precompiled charsmap"); }
        if (!wk_tok_base64(b64, bn, blob, &len)) {
            wk_free(blob);
            return wk_tok_json_bad(j, p, "expected a base64 string");
        }
        rc = wk_tok_norm_push(j->t, WK_NORM_PRECOMPILED, &nm);
        char what[600];
        snprintf(what, sizeof what, "%s: %s", j->name, p);
        if (rc == WICK_OK) { rc = wk_tok_charsmap_load(nm, blob, len, what); }
        wk_free(blob);
        return rc;
    }
    if (strcmp(type, "Strip") == 0) {
        bool l = true, r = true;
        rc = wk_tok_json_bool(j, o, "strip_left", path, true, &l);
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "strip_right", path, true, &r); }
        if (rc == WICK_OK) { rc = wk_tok_norm_push(j->t, WK_NORM_STRIP, &nm); }
        if (rc < 0) { return rc; }
        nm->left = l;
        nm->right = r;
        return WICK_OK;
    }
    snprintf(p, sizeof p, "%s.type", path);
    return wk_tok_json_unsupported(j, p, type);
}

// --- pre-tokenizers ------------------------------------------------------------------------------
int wk_tok_behavior(const char *name)
{
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious",
                                        "MergedWithNext", "Contiguous"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(name, names[i]) == 0) { return i; }
    }
    return -1;
}

wick_status wk_tok_json_pre(wk_tok_jload *j, json_t *o, const char *path, int depth)
{
    const char *type;
    wick_status rc = step_open(j, o, path, depth, "pretokenizers", wk_tok_json_pre, &type);
    if (rc != 0) { return rc < 0 ? rc : WICK_OK; }
    char p[512];
    wk_pre *pr = NULL;
    if (strcmp(type, "Split") == 0) {
        const char *s = NULL, *beh = NULL;
        size_t n, bn;
        bool is_re = false, invert = false;
        rc = wk_tok_json_pattern(j, o, path, &s, &n, &is_re);
        if (rc == WICK_OK) { rc = wk_tok_json_str(j, o, "behavior", path, &beh, &bn); }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "invert", path, false, &invert); }
        if (rc < 0) { return rc; }
        int behavior = beh ? wk_tok_behavior(beh) : -1;
        if (behavior < 0) {
            snprintf(p, sizeof p, "%s.behavior", path);
            return beh ? wk_tok_json_unsupported(j, p, beh)
                       : wk_tok_json_bad(j, p, "expected a string");
        }
        snprintf(p, sizeof p, "%s: %s.pattern.Regex", j->name, path);
        return wk_tok_add_split(j->t, s, n, is_re, behavior, invert, p);
    }
    if (strcmp(type, "ByteLevel") == 0) {
        bool aps = true, ure = true;
        rc = wk_tok_json_bool(j, o, "add_prefix_space", path, true, &aps);
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "use_regex", path, true, &ure); }
        return rc == WICK_OK ? wk_tok_add_bytelevel(j->t, aps, ure) : rc;
    }
    if (strcmp(type, "Digits") == 0) {
        bool ind = false;
        rc = wk_tok_json_bool(j, o, "individual_digits", path, false, &ind);
        if (rc == WICK_OK) { rc = wk_tok_pre_push(j->t, WK_PRE_DIGITS, &pr); }
        if (rc < 0) { return rc; }
        pr->individual = ind;
        return WICK_OK;
    }
    static const struct {
        const char *name;
        int kind;
    } plain[] = {{"WhitespaceSplit", WK_PRE_WSPLIT},
                 {"Whitespace", WK_PRE_WHITESPACE},
                 {"BertPreTokenizer", WK_PRE_BERT}};
    for (size_t i = 0; i < WK_ARRAY_LEN(plain); i++) {
        if (strcmp(type, plain[i].name) == 0) { return wk_tok_pre_push(j->t, plain[i].kind, &pr); }
    }
    if (strcmp(type, "Punctuation") == 0) {
        const char *beh = NULL;
        size_t bn;
        rc = wk_tok_json_str(j, o, "behavior", path, &beh, &bn);
        if (rc < 0) { return rc; }
        int behavior = beh ? wk_tok_behavior(beh) : WK_SPLIT_ISOLATED;
        if (behavior < 0) {
            snprintf(p, sizeof p, "%s.behavior", path);
            return wk_tok_json_unsupported(j, p, beh);
        }
        rc = wk_tok_pre_push(j->t, WK_PRE_PUNCT, &pr);
        if (rc == WICK_OK) { pr->behavior = behavior; }
        return rc;
    }
    if (strcmp(type, "CharDelimiterSplit") == 0) {
        const char *d;
        size_t dn, adv = 0;
        rc = wk_tok_json_str(j, o, "delimiter", path, &d, &dn);
        if (rc < 0) { return rc; }
        if (d && dn > 0) { wk_tok_utf8_dec((const uint8_t *)d, dn, &adv); }
        if (!d || adv != dn) {
            snprintf(p, sizeof p, "%s.delimiter", path);
            return wk_tok_json_bad(j, p, "expected one character");
        }
        rc = wk_tok_pre_push(j->t, WK_PRE_DELIM, &pr);
        if (rc == WICK_OK) { pr->delim = wk_tok_utf8_dec((const uint8_t *)d, dn, &adv); }
        return rc;
    }
    if (strcmp(type, "FixedLength") == 0) {
        int len = 5;
        rc = wk_tok_json_int(j, o, "length", path, 5, &len);
        if (rc < 0) { return rc; }
        if (len == 0) {
            snprintf(p, sizeof p, "%s.length", path);
            return wk_tok_json_bad(j, p, "expected a positive length");
        }
        rc = wk_tok_pre_push(j->t, WK_PRE_FIXED, &pr);
        if (rc == WICK_OK) { pr->length = (size_t)len; }
        return rc;
    }
    if (strcmp(type, "Metaspace") == 0) {
        const char *rep, *scheme;
        size_t rn, sn;
        bool split = true, aps = true;
        rc = wk_tok_json_str(j, o, "replacement", path, &rep, &rn);
        if (rc == WICK_OK) { rc = wk_tok_json_str(j, o, "prepend_scheme", path, &scheme, &sn); }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "split", path, true, &split); }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "add_prefix_space", path, true, &aps); }
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
    return wk_tok_json_unsupported(j, p, type);
}

// --- decoders ------------------------------------------------------------------------------------

wick_status wk_tok_json_decoder(wk_tok_jload *j, json_t *o, const char *path, int depth)
{
    const char *type;
    wick_status rc = step_open(j, o, path, depth, "decoders", wk_tok_json_decoder, &type);
    if (rc != 0) { return rc < 0 ? rc : WICK_OK; }
    char p[512];
    wick_tokenizer *t = j->t;
    if (strcmp(type, "ByteLevel") == 0) { return wk_tok_add_dec(t, WK_DEC_BYTELEVEL, 0, 0, 0, 0); }
    if (strcmp(type, "ByteFallback") == 0) {
        return wk_tok_add_dec(t, WK_DEC_BYTEFALLBACK, 0, 0, 0, 0);
    }
    if (strcmp(type, "Fuse") == 0) { return wk_tok_add_dec(t, WK_DEC_FUSE, 0, 0, 0, 0); }
    if (strcmp(type, "WordPiece") == 0) {
        const char *pf;
        size_t pn;
        bool cleanup = true;
        rc = wk_tok_json_str(j, o, "prefix", path, &pf, &pn);
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "cleanup", path, true, &cleanup); }
        if (rc < 0) { return rc; }
        if (pf && strlen(pf) != pn) { return wk_tok_json_bad(j, path, "prefix with a NUL"); }
        return wk_tok_add_dec(t, WK_DEC_WORDPIECE, pf ? pf : "##", NULL, 1, cleanup);
    }
    if (strcmp(type, "Replace") == 0) {
        const char *s, *c;
        size_t n, cn;
        bool is_re;
        rc = wk_tok_json_pattern(j, o, path, &s, &n, &is_re);
        if (rc == WICK_OK) { rc = wk_tok_json_str(j, o, "content", path, &c, &cn); }
        if (rc < 0) { return rc; }
        snprintf(p, sizeof p, "%s.pattern.Regex", path);
        if (is_re) { return wk_tok_json_unsupported(j, p, "regex pattern in a Replace decoder"); }
        if (!c || strlen(c) != cn || strlen(s) != n) {
            return wk_tok_json_bad(j, path, "expected string pattern and content without NUL");
        }
        return wk_tok_add_dec(t, WK_DEC_REPLACE, s, c, 0, 0);
    }
    if (strcmp(type, "Strip") == 0) {
        const char *c;
        size_t cn;
        int start = 0, stop = 0;
        rc = wk_tok_json_str(j, o, "content", path, &c, &cn);
        if (rc == WICK_OK) { rc = wk_tok_json_int(j, o, "start", path, 0, &start); }
        if (rc == WICK_OK) { rc = wk_tok_json_int(j, o, "stop", path, 0, &stop); }
        if (rc < 0) { return rc; }
        return wk_tok_add_dec(t, WK_DEC_STRIP, NULL, c && strlen(c) == cn ? c : " ", start, stop);
    }
    if (strcmp(type, "Metaspace") == 0) {
        const char *rep, *scheme;
        size_t rn, sn;
        rc = wk_tok_json_str(j, o, "replacement", path, &rep, &rn);
        if (rc == WICK_OK) { rc = wk_tok_json_str(j, o, "prepend_scheme", path, &scheme, &sn); }
        if (rc < 0) { return rc; }
        rc = wk_tok_add_dec(t, WK_DEC_REPLACE, rep && strlen(rep) == rn ? rep : "\xE2\x96\x81", " ",
                            0, 0);
        if (rc == WICK_OK && !(scheme && strcmp(scheme, "never") == 0)) {
            rc = wk_tok_add_dec(t, WK_DEC_FUSE, 0, 0, 0, 0);
            if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_STRIP, NULL, " ", 1, 0); }
        }
        return rc;
    }
    snprintf(p, sizeof p, "%s.type", path);
    return wk_tok_json_unsupported(j, p, type);
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

wick_status wk_tok_json_post(wk_tok_jload *j, json_t *o, const char *path, int depth)
{
    const char *type;
    wick_status rc = step_open(j, o, path, depth, "processors", wk_tok_json_post, &type);
    if (rc != 0) { return rc < 0 ? rc : WICK_OK; }
    char p[512];
    wick_tokenizer *t = j->t;
    if (strcmp(type, "ByteLevel") == 0) { return WICK_OK; } // adds nothing at encode time
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        int32_t cls = 0, sep = 0;
        json_t *c = json_object_get(o, "cls"), *s = json_object_get(o, "sep");
        snprintf(p, sizeof p, "%s.cls[1]", path);
        rc = wk_tok_json_id(j, json_array_get(c, 1), p, &cls);
        snprintf(p, sizeof p, "%s.sep[1]", path);
        if (rc == WICK_OK) { rc = wk_tok_json_id(j, json_array_get(s, 1), p, &sep); }
        if (rc == WICK_OK) { rc = push_id(&t->post_pre, &t->n_post_pre, cls); }
        if (rc == WICK_OK) { rc = push_id(&t->post_post, &t->n_post_post, sep); }
        return rc;
    }
    if (strcmp(type, "TemplateProcessing") == 0) {
        json_t *single = json_object_get(o, "single");
        json_t *specials = json_object_get(o, "special_tokens");
        snprintf(p, sizeof p, "%s.single", path);
        if (!json_is_array(single)) { return wk_tok_json_bad(j, p, "expected an array"); }
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
                return wk_tok_json_bad(
                    j, p, "expected {\"SpecialToken\": {\"id\": ...}} or {\"Sequence\": ...}");
            }
            const char *name = json_string_value(json_object_get(st, "id"));
            json_t *def = json_object_get(specials, name);
            json_t *ids = json_object_get(def, "ids");
            if (!json_is_array(ids)) {
                snprintf(p, sizeof p, "%s.special_tokens", path);
                char what[300];
                snprintf(what, sizeof what, "no ids for '%.200s'", name);
                return wk_tok_json_bad(j, p, what);
            }
            for (size_t k = 0; k < json_array_size(ids); k++) {
                int32_t id = 0;
                snprintf(p, sizeof p, "%s.special_tokens.%.200s.ids[%zu]", path, name, k);
                rc = wk_tok_json_id(j, json_array_get(ids, k), p, &id);
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
    return wk_tok_json_unsupported(j, p, type);
}
