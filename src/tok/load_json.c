// load_json.c — tokenizer.json (Hugging Face tokenizers) into a wick_tokenizer: the model
// (vocabulary, merges), the added tokens, then the pipeline parts (json_pipe.c).
//
// Every failure names the file, the JSON path and the reason:
//   "tok.json: model.merges[12]: 'ab' is not in model.vocab".
#include <jansson.h>
#include <string.h>

#include "tok/tok_json.h"

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

static wick_status load_vocab(wk_tok_jload *j, json_t *model)
{
    wick_tokenizer *t = j->t;
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab)) { return wk_tok_json_bad(j, "model.vocab", "expected an object"); }
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
            return wk_tok_json_bad(j, p, "expected a token id (an integer from 0 to 2^24-1)");
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
            rc = wk_tok_json_bad(j, p, "id already used by another token");
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

static wick_status merge_part(wk_tok_jload *j, const char *s, size_t n, const char *path,
                              wk_buf *tmp, int32_t *id)
{
    bool ok;
    wick_status rc = model_key(j->t, s, n, tmp, &ok);
    if (rc < 0) { return rc; }
    *id = ok ? wk_tok_lookup(j->t, tmp->data ? tmp->data : "", tmp->len) : -1;
    if (*id < 0) {
        char what[300];
        snprintf(what, sizeof what, "'%.*s' is not in model.vocab", (int)WK_MIN(n, 200), s);
        return wk_tok_json_bad(j, path, what);
    }
    return WICK_OK;
}

static wick_status load_merges(wk_tok_jload *j, json_t *model)
{
    wick_tokenizer *t = j->t;
    json_t *merges = json_object_get(model, "merges");
    if (!merges || json_is_null(merges)) { return WICK_OK; }
    if (!json_is_array(merges)) { return wk_tok_json_bad(j, "model.merges", "expected an array"); }
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
                rc = wk_tok_json_bad(j, path, "expected two tokens separated by a space");
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
            rc = wk_tok_json_bad(j, path, "expected \"a b\" or [\"a\", \"b\"]");
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
            rc = wk_tok_json_bad(j, path, what);
            break;
        }
        if (i > UINT32_MAX - 2) {
            rc = wk_tok_json_bad(j, path, "too many merges");
            break;
        }
        rc = wk_tok_pair_add(t, ia, ib, (uint32_t)i, id);
    }
    wk_buf_free(&tmp);
    wk_buf_free(&cat);
    return rc;
}

// WordPiece: vocab {token: id}, unk_token, continuing_subword_prefix, max_input_chars_per_word.
// WordLevel (level): vocab and unk_token.
static wick_status load_wordpiece(wk_tok_jload *j, json_t *model, bool level)
{
    wick_tokenizer *t = j->t;
    t->model = level ? WK_MODEL_WORDLEVEL : WK_MODEL_WORDPIECE;
    const char *pf, *unk;
    size_t pn, un;
    int max_chars = 100;
    wick_status rc = wk_tok_json_str(j, model, "continuing_subword_prefix", "model", &pf, &pn);
    if (rc == WICK_OK) {
        rc = wk_tok_json_int(j, model, "max_input_chars_per_word", "model", 100, &max_chars);
    }
    if (rc == WICK_OK) { rc = wk_tok_json_str(j, model, "unk_token", "model", &unk, &un); }
    if (rc < 0) { return rc; }
    if (!pf) { pf = "##", pn = 2; }
    if (pn >= sizeof t->wp_prefix) {
        return wk_tok_json_bad(j, "model.continuing_subword_prefix", "expected at most 15 bytes");
    }
    memcpy(t->wp_prefix, pf, pn);
    t->wp_prefix_len = pn;
    t->wp_max_chars = max_chars;
    rc = load_vocab(j, model);
    if (rc < 0) { return rc; }
    t->unk_id = unk ? wk_tok_lookup(t, unk, un) : -1;
    if (unk && t->unk_id < 0) {
        return wk_tok_json_bad(j, "model.unk_token", "expected a token of model.vocab");
    }
    return WICK_OK;
}

// Unigram: vocab [[piece, score], ...] (the id is the index), unk_id, byte_fallback.
static wick_status load_unigram(wk_tok_jload *j, json_t *model)
{
    wick_tokenizer *t = j->t;
    t->model = WK_MODEL_UNIGRAM;
    json_t *vocab = json_object_get(model, "vocab");
    size_t n = json_array_size(vocab);
    if (!json_is_array(vocab) || n == 0 || n >= WK_TOK_MAX_VOCAB) {
        return wk_tok_json_bad(j, "model.vocab", "expected an array of 1 to 2^24-1 [piece, score]");
    }
    wick_status rc = wk_tok_json_bool(j, model, "byte_fallback", "model", false, &t->byte_fallback);
    if (rc == WICK_OK) { rc = wk_tok_reserve(t, (int32_t)n); }
    if (rc < 0) { return rc; }
    t->scores = wk_malloc(n * sizeof *t->scores);
    if (!t->scores) { return wk_fail_nomem("model.vocab"); }
    for (size_t i = 0; i < n && rc == WICK_OK; i++) {
        json_t *e = json_array_get(vocab, i), *p = json_array_get(e, 0), *sc = json_array_get(e, 1);
        if (json_array_size(e) != 2 || !json_is_string(p) || !json_is_number(sc)) {
            char path[64];
            snprintf(path, sizeof path, "model.vocab[%zu]", i);
            return wk_tok_json_bad(j, path, "expected [piece, score]");
        }
        t->scores[i] = json_number_value(sc);
        rc = wk_tok_set(t, (int32_t)i, json_string_value(p), json_string_length(p), WK_TOKF_MODEL);
    }
    if (rc == WICK_OK) { rc = wk_tok_build_vmap(t); }
    if (rc < 0) { return wk_fail_prefix(rc, "%s: model.vocab", j->name); }
    json_t *unk = json_object_get(model, "unk_id");
    if (unk && !json_is_null(unk)) {
        rc = wk_tok_json_id(j, unk, "model.unk_id", &t->unk_id);
        if (rc < 0) { return rc; }
    }
    return wk_tok_unigram_init(t);
}

static wick_status load_model(wk_tok_jload *j, json_t *root)
{
    wick_tokenizer *t = j->t;
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) { return wk_tok_json_bad(j, "model", "expected an object"); }
    json_t *type = json_object_get(model, "type");
    if (type && !json_is_string(type)) {
        return wk_tok_json_bad(j, "model.type", "expected a string");
    }
    if (type && (strcmp(json_string_value(type), "WordPiece") == 0 ||
                 strcmp(json_string_value(type), "WordLevel") == 0)) {
        return load_wordpiece(j, model, json_string_value(type)[4] == 'L');
    }
    if (type && strcmp(json_string_value(type), "Unigram") == 0) { return load_unigram(j, model); }
    if (type && strcmp(json_string_value(type), "BPE") != 0) {
        return wk_tok_json_unsupported(j, "model.type", json_string_value(type));
    }
    json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout) &&
        !(json_is_number(dropout) && json_number_value(dropout) == 0.0)) {
        return wk_tok_json_unsupported(j, "model.dropout", "BPE dropout");
    }
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const char *s;
        size_t n;
        wick_status rc = wk_tok_json_str(j, model, affixes[i], "model", &s, &n);
        if (rc < 0) { return rc; }
        if (n > 0) {
            char p[80];
            snprintf(p, sizeof p, "model.%s", affixes[i]);
            return wk_tok_json_unsupported(j, p, s);
        }
    }
    wick_status rc = wk_tok_json_bool(j, model, "ignore_merges", "model", false, &t->ignore_merges);
    if (rc == WICK_OK) {
        rc = wk_tok_json_bool(j, model, "byte_fallback", "model", false, &t->byte_fallback);
    }
    if (rc == WICK_OK) {
        rc = wk_tok_json_bool(j, model, "fuse_unk", "model", false, &t->fuse_unk);
    }
    if (rc == WICK_OK) { rc = load_vocab(j, model); }
    if (rc == WICK_OK) { rc = load_merges(j, model); }
    if (rc < 0) { return rc; }
    const char *unk;
    size_t un;
    rc = wk_tok_json_str(j, model, "unk_token", "model", &unk, &un);
    if (rc == WICK_OK && unk) {
        wk_buf tmp;
        wk_buf_init(&tmp, SIZE_MAX / 2);
        rc = merge_part(j, unk, un, "model.unk_token", &tmp, &t->unk_id);
        wk_buf_free(&tmp);
    }
    return rc;
}

static wick_status load_added(wk_tok_jload *j, json_t *root)
{
    wick_tokenizer *t = j->t;
    json_t *a = json_object_get(root, "added_tokens");
    if (!a || json_is_null(a)) { return WICK_OK; }
    if (!json_is_array(a)) { return wk_tok_json_bad(j, "added_tokens", "expected an array"); }
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
            rc = wk_tok_json_bad(j, p, "expected an object");
            break;
        }
        json_t *id = json_object_get(o, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= WK_TOK_MAX_VOCAB) {
            char pp[80];
            snprintf(pp, sizeof pp, "%s.id", p);
            rc = wk_tok_json_bad(j, pp, "expected a token id (an integer from 0 to 2^24-1)");
            break;
        }
        const char *c;
        size_t cn;
        bool special = false, lstrip = false, rstrip = false, normalized = false, single = false;
        rc = wk_tok_json_str(j, o, "content", p, &c, &cn);
        if (rc == WICK_OK && !c) {
            char pp[80];
            snprintf(pp, sizeof pp, "%s.content", p);
            rc = wk_tok_json_bad(j, pp, "expected a string");
        }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "special", p, false, &special); }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "lstrip", p, false, &lstrip); }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "rstrip", p, false, &rstrip); }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "normalized", p, !special, &normalized); }
        if (rc == WICK_OK) { rc = wk_tok_json_bool(j, o, "single_word", p, false, &single); }
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
        return wk_fail(WICK_E_FORMAT, "%s: invalid JSON at line %d, column %d: %s", name, err.line,
                       err.column, err.text);
    }
    wick_tokenizer *t = NULL;
    wk_tok_jload j = {.name = name};
    wick_status rc =
        json_is_object(root) ? WICK_OK : wk_tok_json_bad(&j, "(root)", "expected an object");
    if (rc == WICK_OK) { rc = wk_tok_create(name, &t); }
    j.t = t;
    if (rc == WICK_OK) {
        rc = wk_tok_json_normalizer(&j, json_object_get(root, "normalizer"), "normalizer", 0);
    }
    if (rc == WICK_OK) {
        rc = wk_tok_json_pre(&j, json_object_get(root, "pre_tokenizer"), "pre_tokenizer", 0);
    }
    if (rc == WICK_OK) {
        rc = wk_tok_json_decoder(&j, json_object_get(root, "decoder"), "decoder", 0);
    }
    if (rc == WICK_OK) { rc = load_model(&j, root); }
    if (rc == WICK_OK) { rc = load_added(&j, root); }
    if (rc == WICK_OK) {
        rc = wk_tok_json_post(&j, json_object_get(root, "post_processor"), "post_processor", 0);
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
