// gguf_vocab.c — the tokenizer.ggml.* vocabulary of a GGUF file (the keys and token types as
// llama.cpp's src/llama-vocab.cpp reads them), made into the tokenizer the model family's
// tokenizer.json describes:
//   "gpt2"  BPE with merges; tokenizer.ggml.pre names the normalizers and pre-tokenizers
//           (pre_table.c); byte-level tokens, or UTF-8 ones with <0xXX> byte fallback
//   "llama" SentencePiece-style BPE over scores with byte fallback
//   "bert"  WordPiece, "t5" Unigram (models.c), with the pipelines of their tokenizer.json files
//   "rwkv"  RWKV's trie tokenizer over escaped byte-string tokens (rwkv.c)
//   "plamo2" PLaMo 2's highest-score segmentation with byte fallback (plamo2.c)
//   "gemma4" "gpt2" with the gemma4 rules whatever tokenizer.ggml.pre says, no default BOS/EOS
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tok/tok.h"

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

typedef struct gload {
    const wick_gguf *g;
    const char *name;
    wick_tokenizer *t;
    bool spm, raw; // model "llama"; gpt2 tokens in UTF-8 (not the GPT-2 alphabet)
} gload;

static wick_status opt_id(gload *L, const char *key, int32_t *out)
{
    if (wick_gguf_find_kv(L->g, key) < 0) { return WICK_OK; }
    int64_t v;
    wick_status rc = wick_gguf_get_int(L->g, key, &v);
    if (rc < 0) { return rc; }
    if (v == -1 || v == UINT32_MAX) { // "none"
        *out = -1;
        return WICK_OK;
    }
    if (v < 0 || v >= L->t->n_vocab) {
        return wk_fail(WICK_E_FORMAT, "%s: %s: token id %lld out of range [0, %d)", L->name, key,
                       (long long)v, L->t->n_vocab);
    }
    *out = (int32_t)v;
    return WICK_OK;
}

static wick_status opt_bool(gload *L, const char *key, bool *out)
{
    if (wick_gguf_find_kv(L->g, key) < 0) { return WICK_OK; }
    return wick_gguf_get_bool(L->g, key, out);
}

// An int32/uint32 array element (token types).
static int elem_int(const wick_gguf_value *v, int def)
{
    int64_t x;
    if (!v || wick_gguf_value_int(v, &x) < 0 || x < INT32_MIN || x > INT32_MAX) { return def; }
    return (int)x;
}

static wick_status load_merges(gload *L, const wick_gguf_value *merges)
{
    wick_tokenizer *t = L->t;
    uint64_t n = wick_gguf_array_len(merges);
    if (wick_gguf_array_type(merges) != WICK_GGUF_STRING) {
        return wk_fail(WICK_E_FORMAT, "%s: tokenizer.ggml.merges: expected an array of strings",
                       L->name);
    }
    if (n > UINT32_MAX / 2) { return wk_fail(WICK_E_FORMAT, "%s: too many merges", L->name); }
    wick_status rc = wk_tok_pairs_init(t, (size_t)n);
    wk_buf ka, kb, cat;
    wk_buf_init(&ka, SIZE_MAX / 2);
    wk_buf_init(&kb, SIZE_MAX / 2);
    wk_buf_init(&cat, SIZE_MAX / 2);
    for (uint64_t i = 0; i < n && rc == WICK_OK; i++) {
        const char *s;
        size_t sn;
        rc = wick_gguf_value_str(wick_gguf_array_at(merges, i), &s, &sn);
        if (rc < 0) { break; }
        // llama.cpp splits at the first space after the first character
        const char *sp = sn > 1 ? memchr(s + 1, ' ', sn - 1) : NULL;
        if (!sp) {
            rc = wk_fail(WICK_E_FORMAT, "%s: tokenizer.ggml.merges[%llu]: expected 'a b'", L->name,
                         (unsigned long long)i);
            break;
        }
        size_t an = (size_t)(sp - s);
        wk_buf_clear(&ka);
        wk_buf_clear(&kb);
        bool ok = true;
        if (t->byte_level) {
            ok = wk_tok_bl_decode(s, an, &ka, &rc) &&
                 wk_tok_bl_decode(sp + 1, sn - an - 1, &kb, &rc);
        } else {
            rc = wk_buf_append(&ka, s, an);
            if (rc == WICK_OK) { rc = wk_buf_append(&kb, sp + 1, sn - an - 1); }
        }
        if (rc < 0) { break; }
        int32_t a = ok ? wk_tok_lookup(t, ka.data ? ka.data : "", ka.len) : -1;
        int32_t b = ok ? wk_tok_lookup(t, kb.data ? kb.data : "", kb.len) : -1;
        int32_t m = -1;
        if (a >= 0 && b >= 0) {
            wk_buf_clear(&cat);
            rc = wk_buf_append(&cat, ka.data, ka.len);
            if (rc == WICK_OK) { rc = wk_buf_append(&cat, kb.data, kb.len); }
            if (rc < 0) { break; }
            m = wk_tok_lookup(t, cat.data, cat.len);
        }
        if (m < 0) {
            rc = wk_fail(WICK_E_FORMAT,
                         "%s: tokenizer.ggml.merges[%llu]: '%.*s' does not join two tokens into a "
                         "token of the vocabulary",
                         L->name, (unsigned long long)i, (int)WK_MIN(sn, 200), s);
            break;
        }
        rc = wk_tok_pair_add(t, a, b, (uint32_t)i, m);
    }
    wk_buf_free(&ka);
    wk_buf_free(&kb);
    wk_buf_free(&cat);
    return rc;
}

// SentencePiece-style: every split of a token into two tokens is a merge, ranked by the merged
// token's score (higher first; equal scores share a rank, so the leftmost pair goes first, as in
// llama.cpp's llm_tokenizer_spm).
static wick_status spm_pairs(gload *L, const float *scores)
{
    wick_tokenizer *t = L->t;
    int32_t n = t->n_vocab;
    int32_t *order = wk_malloc((size_t)n * sizeof *order);
    uint32_t *rank = wk_malloc((size_t)n * sizeof *rank);
    wick_status rc = WICK_OK;
    if (!order || !rank) {
        rc = wk_fail_nomem("vocabulary");
        goto done;
    }
    // rank = number of distinct scores above: sort ids by score (insertion into a counting-free
    // merge sort would be nicer; qsort with a global is not thread-safe, so a simple merge sort)
    for (int32_t i = 0; i < n; i++) { order[i] = i; }
    for (int32_t w = 1; w < n; w *= 2) {
        int32_t *tmp = wk_malloc((size_t)n * sizeof *tmp);
        if (!tmp) {
            rc = wk_fail_nomem("vocabulary");
            goto done;
        }
        for (int32_t lo = 0; lo < n; lo += 2 * w) {
            int32_t mid = WK_MIN(lo + w, n), hi = WK_MIN(lo + 2 * w, n), a = lo, b = mid, k = lo;
            while (a < mid || b < hi) {
                if (b >= hi || (a < mid && scores[order[a]] >= scores[order[b]])) {
                    tmp[k++] = order[a++];
                } else {
                    tmp[k++] = order[b++];
                }
            }
        }
        memcpy(order, tmp, (size_t)n * sizeof *tmp);
        wk_free(tmp);
    }
    uint32_t r = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i > 0 && scores[order[i]] != scores[order[i - 1]]) { r++; }
        rank[order[i]] = r;
    }
    size_t est = 0;
    for (int32_t id = 0; id < n; id++) { est += (t->flags[id] & WK_TOKF_MODEL) ? 2 : 0; }
    rc = wk_tok_pairs_init(t, est);
    for (int32_t id = 0; id < n && rc == WICK_OK; id++) {
        if (!(t->flags[id] & WK_TOKF_MODEL)) { continue; }
        const char *s = t->arena + t->off[id];
        size_t len = t->len[id];
        for (size_t k = 1; k < len && rc == WICK_OK; k++) {
            if (((uint8_t)s[k] & 0xC0) == 0x80) { continue; } // split at characters only
            int32_t a = wk_tok_lookup(t, s, k);
            int32_t b = a >= 0 ? wk_tok_lookup(t, s + k, len - k) : -1;
            if (b >= 0) { rc = wk_tok_pair_add(t, a, b, rank[id], id); }
        }
    }
done:
    wk_free(order);
    wk_free(rank);
    return rc;
}

// --- "bert" (WordPiece) and "t5" (Unigram) -------------------------------------------------------
// llama.cpp's converters write BERT's vocabulary with U+2581 in front of word-start tokens and
// continuations bare ("##ing" -> "ing"), control tokens as they are; the tokenizer here is the
// tokenizer.json one (BertNormalizer lowercasing, BertPreTokenizer, WordPiece "##",
// [CLS] .. [SEP]).
static wick_status wpm_token(gload *L, int32_t id, const char *s, size_t n, wk_buf *tmp)
{
    wk_buf_clear(tmp);
    wick_status rc;
    if (n >= 3 && memcmp(s, "\xE2\x96\x81", 3) == 0) {
        rc = wk_buf_append(tmp, s + 3, n - 3);
    } else {
        rc = wk_buf_append(tmp, "##", 2);
        if (rc == WICK_OK) { rc = wk_buf_append(tmp, s, n); }
    }
    if (rc == WICK_OK) {
        rc = wk_tok_set(L->t, id, tmp->data, tmp->len, WK_TOKF_MODEL);
        // the text it decodes to is the GGUF's, made HF-like: "##x" continues, "x" starts a word
    }
    return rc;
}

// tokenizer.ggml.precompiled_charsmap (bytes) as the first normalizer.
static wick_status ugm_charsmap(gload *L)
{
    const char *key = "tokenizer.ggml.precompiled_charsmap";
    if (wick_gguf_find_kv(L->g, key) < 0) { return WICK_OK; }
    const wick_gguf_value *v = NULL;
    wick_status rc = wick_gguf_get_array(L->g, key, &v);
    if (rc < 0) { return rc; }
    uint64_t n = wick_gguf_array_len(v);
    if (n == 0) { return WICK_OK; }
    int ty = wick_gguf_array_type(v);
    if ((ty != WICK_GGUF_UINT8 && ty != WICK_GGUF_INT8) || n > (1u << 30)) {
        return wk_fail(WICK_E_FORMAT, "%s: %s: expected an array of bytes", L->name, key);
    }
    uint8_t *blob = wk_malloc((size_t)n);
    if (!blob) { return wk_fail_nomem("charsmap"); }
    for (uint64_t i = 0; i < n; i++) { blob[i] = (uint8_t)elem_int(wick_gguf_array_at(v, i), 0); }
    wk_norm *nm = NULL;
    char what[600];
    snprintf(what, sizeof what, "%s: %s", L->name, key);
    rc = wk_tok_norm_push(L->t, WK_NORM_PRECOMPILED, &nm);
    if (rc == WICK_OK) { rc = wk_tok_charsmap_load(nm, blob, (size_t)n, what); }
    wk_free(blob);
    return rc;
}

static wick_status wpm_ugm_pipeline(gload *L, bool wpm)
{
    wick_tokenizer *t = L->t;
    wk_norm *nm = NULL;
    wk_pre *pr = NULL;
    wick_status rc;
    if (wpm) {
        bool lower = true;
        rc = opt_bool(L, "tokenizer.ggml.normalizer.lowercase", &lower);
        if (rc == WICK_OK) { rc = wk_tok_norm_push(t, WK_NORM_BERT, &nm); }
        if (rc < 0) { return rc; }
        nm->clean = nm->chinese = true;
        nm->strip_accents = nm->lower = lower;
        rc = wk_tok_pre_push(t, WK_PRE_BERT, &pr);
        if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_WORDPIECE, "##", NULL, 1, 1); }
        return rc;
    }
    rc = ugm_charsmap(L);
    if (rc == WICK_OK) { rc = wk_tok_norm_push(t, WK_NORM_REPLACE, &nm); } // runs of spaces
    if (rc == WICK_OK) { rc = wk_tok_set_str(&nm->content, &nm->content_len, " ", 1); }
    if (rc == WICK_OK) { rc = wk_tok_regex_new(" {2,}", 5, L->name, &nm->re); }
    if (rc == WICK_OK) { rc = wk_tok_pre_push(t, WK_PRE_METASPACE, &pr); }
    if (rc < 0) { return rc; }
    pr->msplit = true;
    pr->prepend = 2;
    rc = wk_tok_set_str(&pr->replacement, &pr->replacement_len, "\xE2\x96\x81", 3);
    if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_REPLACE, "\xE2\x96\x81", " ", 0, 0); }
    if (rc == WICK_OK && t->byte_fallback) {
        rc = wk_tok_add_dec(t, WK_DEC_BYTEFALLBACK, NULL, NULL, 0, 0);
    }
    if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_FUSE, NULL, NULL, 0, 0); }
    if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_STRIP, NULL, " ", 1, 0); }
    return rc;
}

// One special id: the first of keys present, else the token named name, else -1.
static wick_status special_id(gload *L, const char *const *keys, const char *name, int32_t *out)
{
    *out = wk_tok_find_text(L->t, name, strlen(name));
    for (int k = 0; keys[k]; k++) {
        if (wick_gguf_find_kv(L->g, keys[k]) >= 0) { return opt_id(L, keys[k], out); }
    }
    return WICK_OK;
}

static wick_status push_post(int32_t **v, int *n, int32_t id)
{
    if (id < 0) { return WICK_OK; }
    *v = wk_malloc(sizeof **v);
    if (!*v) { return wk_fail_nomem("post-processor"); }
    (*v)[0] = id;
    *n = 1;
    return WICK_OK;
}

// tokenizer.ggml.tokens (1..2^24-1 strings) and, when present, token_type and scores of the same
// length.
static wick_status vocab_arrays(gload *L, const wick_gguf_value **tokens,
                                const wick_gguf_value **types, const wick_gguf_value **scores,
                                uint64_t *n)
{
    *types = *scores = NULL;
    wick_status rc = wick_gguf_get_array(L->g, "tokenizer.ggml.tokens", tokens);
    if (rc < 0) { return rc; }
    *n = wick_gguf_array_len(*tokens);
    if (wick_gguf_array_type(*tokens) != WICK_GGUF_STRING || *n == 0 || *n >= WK_TOK_MAX_VOCAB) {
        return wk_fail(WICK_E_FORMAT, "%s: tokenizer.ggml.tokens: expected 1..2^24-1 strings",
                       L->name);
    }
    static const char *const arrays[] = {"tokenizer.ggml.token_type", "tokenizer.ggml.scores"};
    const wick_gguf_value **dst[] = {types, scores};
    for (int k = 0; k < 2; k++) {
        if (wick_gguf_find_kv(L->g, arrays[k]) < 0) { continue; }
        rc = wick_gguf_get_array(L->g, arrays[k], dst[k]);
        if (rc == WICK_OK && wick_gguf_array_len(*dst[k]) != *n) {
            rc = wk_fail(WICK_E_FORMAT, "%s: %s: %llu entries for %llu tokens", L->name,
                         arrays[k], (unsigned long long)wick_gguf_array_len(*dst[k]),
                         (unsigned long long)*n);
        }
        if (rc < 0) { return rc; }
    }
    return WICK_OK;
}

// CONTROL, USER_DEFINED and UNKNOWN tokens are added tokens (special unless USER_DEFINED), also
// model tokens when model is set.
static bool added_type(int type)
{
    return type == TT_CONTROL || type == TT_USER || type == TT_UNKNOWN;
}

static wick_status set_added(gload *L, int32_t id, int type, const char *s, size_t n, bool model)
{
    bool special = type != TT_USER;
    wick_status rc = wk_tok_set(L->t, id, s, n,
                                (uint8_t)(WK_TOKF_ADDED | (model ? WK_TOKF_MODEL : 0) |
                                          (special ? WK_TOKF_SPECIAL : 0)));
    if (rc == WICK_OK) {
        rc = wk_tok_add_added(L->t, s, n, id, special, false, false, false, false);
    }
    return rc;
}

// What one vocabulary entry (id, its text s of sn bytes, its token_type) adds to the tokenizer;
// scores: tokenizer.ggml.scores or NULL; tmp: scratch.
typedef wick_status (*entry_fn)(gload *L, int32_t id, const char *s, size_t sn, int type,
                                const wick_gguf_value *scores, wk_buf *tmp);

// Runs entry on tokens[0..n) with their token_type (NORMAL when the file has none), stopping at
// the first failure, then builds the text -> id map (not for RWKV and PLaMo 2); a failure is
// prefixed with the array's name.
static wick_status each_token(gload *L, const wick_gguf_value *tokens,
                              const wick_gguf_value *types, const wick_gguf_value *scores,
                              uint64_t n, entry_fn entry)
{
    wk_buf tmp;
    wk_buf_init(&tmp, SIZE_MAX / 2);
    wick_status rc = WICK_OK;
    for (uint64_t i = 0; i < n && rc == WICK_OK; i++) {
        const char *s;
        size_t sn;
        int type = types ? elem_int(wick_gguf_array_at(types, i), TT_NORMAL) : TT_NORMAL;
        rc = wick_gguf_value_str(wick_gguf_array_at(tokens, i), &s, &sn);
        if (rc == WICK_OK) { rc = entry(L, (int32_t)i, s, sn, type, scores, &tmp); }
    }
    wk_buf_free(&tmp);
    // RWKV, PLaMo 2: their trie is the map (equal texts allowed, the last counts, as llama.cpp)
    bool trie = L->t->model == WK_MODEL_RWKV || L->t->model == WK_MODEL_PLAMO2;
    if (rc == WICK_OK && !trie) { rc = wk_tok_build_vmap(L->t); }
    return rc < 0 ? wk_fail_prefix(rc, "%s: tokenizer.ggml.tokens", L->name) : rc;
}

// Score i, a float that is not NaN; else WICK_E_FORMAT naming it.
static wick_status score_at(gload *L, const wick_gguf_value *scores, uint64_t i, double *d)
{
    if (wick_gguf_value_float(wick_gguf_array_at(scores, i), d) < 0 || isnan(*d)) {
        return wk_fail(WICK_E_FORMAT, "%s: tokenizer.ggml.scores[%llu]: expected a float", L->name,
                       (unsigned long long)i);
    }
    return WICK_OK;
}

// A WordPiece (BERT) or Unigram (T5, its score from scores) entry.
static wick_status wpm_ugm_entry(gload *L, int32_t id, const char *s, size_t sn, int type,
                                 const wick_gguf_value *scores, wk_buf *tmp)
{
    wick_tokenizer *t = L->t;
    bool wpm = t->model == WK_MODEL_WORDPIECE;
    wick_status rc = WICK_OK;
    if (!wpm) {
        double d = 0;
        rc = score_at(L, scores, (uint64_t)id, &d);
        if (rc < 0) { return rc; }
        t->scores[id] = d;
    }
    if (added_type(type)) { // as llama.cpp: the unknown token's text is special too
        rc = set_added(L, id, type, s, sn, true);
    } else if (wpm) {
        rc = wpm_token(L, id, s, sn, tmp);
    } else {
        rc = wk_tok_set(t, id, s, sn, WK_TOKF_MODEL);
        if (type == TT_BYTE) { t->byte_fallback = true; }
    }
    if (rc == WICK_OK && type == TT_UNKNOWN) { t->unk_id = id; }
    return rc;
}

// A BPE (gpt2) or SentencePiece (llama) entry; byte-level texts are decoded to raw bytes.
static wick_status bpe_entry(gload *L, int32_t id, const char *s, size_t sn, int type,
                             const wick_gguf_value *scores, wk_buf *tmp)
{
    (void)scores;
    wick_tokenizer *t = L->t;
    wick_status rc = WICK_OK;
    if (type == TT_CONTROL || type == TT_USER) { return set_added(L, id, type, s, sn, false); }
    if (type == TT_UNUSED) {
        return wk_tok_set(t, id, s, sn, 0);
    }
    // NORMAL, UNKNOWN, BYTE: model tokens (byte-level ones in raw bytes)
    wk_buf_clear(tmp);
    bool ok = true;
    if (t->byte_level) {
        ok = wk_tok_bl_decode(s, sn, tmp, &rc);
        if (rc < 0) { return rc; }
    }
    if (!ok || !t->byte_level) {
        wk_buf_clear(tmp);
        rc = wk_buf_append(tmp, s, sn);
    }
    if (rc == WICK_OK) {
        rc = wk_tok_set(t, id, tmp->data ? tmp->data : "", tmp->len, ok ? WK_TOKF_MODEL : 0);
    }
    if (rc == WICK_OK && type == TT_UNKNOWN) { t->unk_id = id; }
    return rc;
}

static wick_status load_wpm_ugm(gload *L, bool wpm)
{
    wick_tokenizer *t = L->t;
    const char *model = wpm ? "bert" : "t5";
    const wick_gguf_value *tokens = NULL, *types = NULL, *scores = NULL;
    uint64_t n = 0;
    wick_status rc = vocab_arrays(L, &tokens, &types, &scores, &n);
    if (rc < 0) { return rc; }
    if (!wpm && !scores) {
        return wk_fail(WICK_E_FORMAT, "%s: tokenizer.ggml.scores: missing for model 't5'",
                       L->name);
    }
    rc = wk_tok_reserve(t, (int32_t)n);
    if (rc < 0) { return rc; }
    t->model = wpm ? WK_MODEL_WORDPIECE : WK_MODEL_UNIGRAM;
    if (!wpm) {
        t->scores = wk_calloc((size_t)n, sizeof *t->scores);
        if (!t->scores) { return wk_fail_nomem("scores"); }
    }
    rc = each_token(L, tokens, types, scores, n, wpm_ugm_entry);
    if (rc < 0) { return rc; }
    if (wpm) {
        memcpy(t->wp_prefix, "##", 3);
        t->wp_prefix_len = 2;
        t->wp_max_chars = 100;
    } else {
        rc = wk_tok_unigram_init(t);
    }
    // special ids and what ADD_SPECIAL adds: BERT [CLS] .. [SEP], T5 .. </s>
    static const char *const bos_keys[] = {"tokenizer.ggml.cls_token_id",
                                           "tokenizer.ggml.bos_token_id", NULL};
    static const char *const eos_keys[] = {"tokenizer.ggml.seperator_token_id",
                                           "tokenizer.ggml.eos_token_id", NULL};
    static const char *const t5_eos[] = {"tokenizer.ggml.eos_token_id", NULL};
    static const char *const unk_keys[] = {"tokenizer.ggml.unknown_token_id", NULL};
    int32_t unk = -1;
    if (rc == WICK_OK && wpm) { rc = special_id(L, bos_keys, "[CLS]", &t->bos); }
    if (rc == WICK_OK) {
        rc = special_id(L, wpm ? eos_keys : t5_eos, wpm ? "[SEP]" : "</s>", &t->eos);
    }
    if (rc == WICK_OK) { rc = special_id(L, unk_keys, wpm ? "[UNK]" : "<unk>", &unk); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.padding_token_id", &t->pad); }
    if (rc < 0) { return rc; }
    if (unk >= 0) { t->unk_id = t->unk_special = unk; }
    bool add_bos = wpm, add_eos = true;
    rc = opt_bool(L, "tokenizer.ggml.add_bos_token", &add_bos);
    if (rc == WICK_OK) {
        rc = opt_bool(L, wpm ? "tokenizer.ggml.add_sep_token" : "tokenizer.ggml.add_eos_token",
                      &add_eos);
    }
    if (rc == WICK_OK && add_bos) { rc = push_post(&t->post_pre, &t->n_post_pre, t->bos); }
    if (rc == WICK_OK && add_eos) { rc = push_post(&t->post_post, &t->n_post_post, t->eos); }
    if (rc < 0) { return wk_fail_prefix(rc, "%s: tokenizer.ggml.model '%s'", L->name, model); }
    return wpm_ugm_pipeline(L, wpm);
}

// --- "rwkv" -----------------------------------------------------------------------------------
// Every token's text is unescaped to its bytes. NORMAL (and BYTE) tokens are the trie's; CONTROL,
// USER_DEFINED and UNKNOWN ones ("<s>") are added tokens, as in the other vocabularies; UNUSED
// ones ("[PAD65530]") only decode. Of tokens with the same bytes the last one is the trie's, as
// in llama.cpp. llama.cpp puts every token in its trie, so there a CONTROL
// token's text in plain text (no PARSE_SPECIAL) is that token; here, as in RWKV's tokenizer
// (which has no such tokens), it is its bytes. No BOS/EOS unless add_bos/add_eos_token say so.
static wick_status rwkv_entry(gload *L, int32_t id, const char *s, size_t sn, int type,
                              const wick_gguf_value *scores, wk_buf *tmp)
{
    (void)scores;
    wick_status rc = WICK_OK;
    if (!wk_tok_rwkv_unescape(s, sn, tmp, &rc)) {
        return wk_fail(WICK_E_FORMAT,
                       "[%d]: '%.*s': a bad escape (expected \\t, \\n, \\r, \\xHH or \\ before a "
                       "character)",
                       (int)id, (int)WK_MIN(sn, 200), s);
    }
    if (rc < 0) { return rc; }
    const char *b = tmp->data ? tmp->data : "";
    if (added_type(type)) {
        if (type == TT_UNKNOWN) { L->t->unk_id = id; }
        return set_added(L, id, type, b, tmp->len, false);
    }
    return wk_tok_set(L->t, id, b, tmp->len, type == TT_UNUSED ? 0 : WK_TOKF_MODEL);
}

static wick_status load_rwkv(gload *L)
{
    wick_tokenizer *t = L->t;
    const wick_gguf_value *tokens = NULL, *types = NULL, *scores = NULL;
    uint64_t n = 0;
    wick_status rc = vocab_arrays(L, &tokens, &types, &scores, &n);
    if (rc == WICK_OK) { rc = wk_tok_reserve(t, (int32_t)n); }
    if (rc < 0) { return rc; }
    t->model = WK_MODEL_RWKV;
    rc = each_token(L, tokens, types, scores, n, rwkv_entry);
    if (rc == WICK_OK) { rc = wk_tok_model_trie(t); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.bos_token_id", &t->bos); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.eos_token_id", &t->eos); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.eot_token_id", &t->eot); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.padding_token_id", &t->pad); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.unknown_token_id", &t->unk_special); }
    bool add_bos = false, add_eos = false;
    if (rc == WICK_OK) { rc = opt_bool(L, "tokenizer.ggml.add_bos_token", &add_bos); }
    if (rc == WICK_OK) { rc = opt_bool(L, "tokenizer.ggml.add_eos_token", &add_eos); }
    if (rc == WICK_OK && add_bos) { rc = push_post(&t->post_pre, &t->n_post_pre, t->bos); }
    if (rc == WICK_OK && add_eos) { rc = push_post(&t->post_post, &t->n_post_post, t->eos); }
    if (rc < 0) { return rc; }
    if (t->unk_special >= 0) { t->unk_id = t->unk_special; }
    return wk_tok_add_dec(t, WK_DEC_FUSE, NULL, NULL, 0, 0);
}

// --- "plamo2" -----------------------------------------------------------------------------------
// The converter writes tokenization_plamo.py's vocabulary: <0xXX> BYTE tokens (all 256 needed),
// CONTROL <|plamo:...|> ones, the rest NORMAL, each with its score. Every token but the BYTE ones
// is a piece plamo2.c may use (CONTROL, USER_DEFINED and UNKNOWN ones are added tokens too); of
// tokens with the same text the last one counts. As llama.cpp: nothing added at the ends.
// round(score * 1e4) in t->scores (not finite: NaN, never used); BYTE tokens in t->byte_id.
static wick_status plamo2_entry(gload *L, int32_t id, const char *s, size_t sn, int type,
                                const wick_gguf_value *scores, wk_buf *tmp)
{
    (void)tmp;
    wick_tokenizer *t = L->t;
    double d = 0;
    if (wick_gguf_value_float(wick_gguf_array_at(scores, (uint64_t)id), &d) < 0) {
        return wk_fail(WICK_E_FORMAT, "%s: tokenizer.ggml.scores[%d]: expected a float", L->name,
                       (int)id);
    }
    d = round(d * 1e4);
    t->scores[id] = isfinite(d) ? WK_MAX(WK_MIN(d, (double)INT32_MAX), (double)INT32_MIN) : NAN;
    if (type == TT_BYTE) { // <0xXX>: decodes to its byte (ByteFallback); anything else: nothing
        unsigned b = 0;
        char tail = 0;
        if (sn == 6 && sscanf(s, "<0x%2x%c", &b, &tail) == 2 && tail == '>') { t->byte_id[b] = id; }
        return wk_tok_set(t, id, s, sn, 0);
    }
    if (added_type(type)) { return set_added(L, id, type, s, sn, true); }
    return wk_tok_set(t, id, s, sn, WK_TOKF_MODEL);
}

static wick_status load_plamo2(gload *L)
{
    wick_tokenizer *t = L->t;
    const wick_gguf_value *tokens = NULL, *types = NULL, *scores = NULL;
    uint64_t n = 0;
    wick_status rc = vocab_arrays(L, &tokens, &types, &scores, &n);
    if (rc == WICK_OK && !scores) {
        rc = wk_fail(WICK_E_FORMAT, "%s: tokenizer.ggml.scores: missing for model 'plamo2'",
                     L->name);
    }
    if (rc == WICK_OK) { rc = wk_tok_reserve(t, (int32_t)n); }
    if (rc < 0) { return rc; }
    t->model = WK_MODEL_PLAMO2;
    t->scores = wk_calloc((size_t)n, sizeof *t->scores);
    if (!t->scores) { return wk_fail_nomem("scores"); }
    for (int c = 0; c < 256; c++) { t->byte_id[c] = -1; }
    rc = each_token(L, tokens, types, scores, n, plamo2_entry);
    for (int c = 0; c < 256 && rc == WICK_OK; c++) {
        if (t->byte_id[c] < 0) {
            rc = wk_fail(WICK_E_FORMAT,
                         "%s: tokenizer.ggml.tokens: no BYTE token <0x%02X> (PLaMo 2 "
                         "needs all 256)",
                         L->name, c);
        }
    }
    if (rc == WICK_OK) { rc = wk_tok_model_trie(t); }
    t->bos = n > 1 ? 1 : -1; // llama.cpp's defaults
    t->eos = n > 2 ? 2 : -1;
    t->pad = n > 3 ? 3 : -1;
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.bos_token_id", &t->bos); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.eos_token_id", &t->eos); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.eot_token_id", &t->eot); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.padding_token_id", &t->pad); }
    if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_BYTEFALLBACK, NULL, NULL, 0, 0); }
    if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_FUSE, NULL, NULL, 0, 0); }
    return rc;
}

static wick_status load(gload *L)
{
    const wick_gguf *g = L->g;
    wick_tokenizer *t = L->t;
    const char *model = NULL, *pre = NULL;
    size_t mlen = 0, plen = 0;
    wick_status rc = wick_gguf_get_str(g, "tokenizer.ggml.model", &model, &mlen);
    if (rc < 0) { return rc; }
    if (strcmp(model, "bert") == 0 || strcmp(model, "t5") == 0) {
        return load_wpm_ugm(L, model[0] == 'b');
    }
    if (strcmp(model, "rwkv") == 0) { return load_rwkv(L); }
    if (strcmp(model, "plamo2") == 0) { return load_plamo2(L); }
    if (strcmp(model, "none") == 0 || strcmp(model, "no_vocab") == 0) {
        return wk_fail(WICK_E_NOT_FOUND,
                       "%s: tokenizer.ggml.model '%s': the file has no vocabulary", L->name, model);
    }
    L->spm = strcmp(model, "llama") == 0;
    bool ws_model = strcmp(model, "whitespace") == 0;
    bool gemma4 = strcmp(model, "gemma4") == 0; // BPE with the gemma4 rules, whatever the pre
    if (!L->spm && !ws_model && !gemma4 && strcmp(model, "gpt2") != 0) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: tokenizer.ggml.model '%s' is not supported",
                       L->name, model);
    }
    if (wick_gguf_find_kv(g, "tokenizer.ggml.pre") >= 0 && !gemma4) {
        rc = wick_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &plen);
        if (rc < 0) { return rc; }
    }
    if (gemma4) { pre = "gemma4"; }
    unsigned pre_flags = 0;
    if (!L->spm) {
        if (!pre && ws_model) { pre = "whitespace"; }
        if (pre && !*pre) { pre = NULL; } // llama.cpp: an empty name is a missing one
        if (!pre) {
            wk_warn("%s: no tokenizer.ggml.pre: the 'default' pre-tokenizer, which may not be the "
                    "model's (tokens can differ from its tokenizer.json)",
                    L->name);
        }
        rc = wk_tok_gguf_pre(t, pre ? pre : "default", L->name, &pre_flags);
        if (rc < 0) { return rc; }
        L->raw = (pre_flags & WK_GGUF_PRE_RAW) != 0;
        bool lower = false; // "whitespace" (jina-embeddings-v2-base-zh): lowercase when asked
        rc = opt_bool(L, "tokenizer.ggml.normalizer.lowercase", &lower);
        if (rc == WICK_OK && lower && strcmp(pre ? pre : "", "whitespace") == 0) {
            rc = wk_tok_add_norm(t, WK_NORM_LOWER, NULL, NULL);
        }
        if (rc < 0) { return rc; }
    }
    const wick_gguf_value *tokens = NULL, *types = NULL, *scores = NULL, *merges = NULL;
    uint64_t n = 0;
    rc = vocab_arrays(L, &tokens, &types, &scores, &n);
    if (rc < 0) { return rc; }
    if (wick_gguf_find_kv(g, "tokenizer.ggml.merges") >= 0) {
        rc = wick_gguf_get_array(g, "tokenizer.ggml.merges", &merges);
        if (rc < 0) { return rc; }
    }
    rc = wk_tok_reserve(t, (int32_t)n);
    if (rc < 0) { return rc; }
    t->byte_level = !L->spm && !L->raw;
    t->byte_fallback = L->spm || L->raw;
    rc = each_token(L, tokens, types, scores, n, bpe_entry);
    if (rc < 0) { return rc; }

    // merges and the pre-tokenizer
    bool spm = L->spm;
    bool add_bos = spm || (pre_flags & WK_GGUF_PRE_BOS), add_eos = false, add_space = spm;
    if (spm) {
        if (!scores) {
            return wk_fail(WICK_E_FORMAT, "%s: tokenizer.ggml.scores: missing for model 'llama'",
                           L->name);
        }
        float *sc = wk_malloc((size_t)n * sizeof *sc);
        if (!sc) { return wk_fail_nomem("scores"); }
        for (uint64_t i = 0; i < n; i++) {
            double d = 0;
            if (score_at(L, scores, i, &d) < 0) {
                wk_free(sc);
                return WICK_E_FORMAT;
            }
            sc[i] = (float)d;
        }
        rc = spm_pairs(L, sc);
        wk_free(sc);
        if (rc < 0) { return rc; }
        t->bos = n > 1 ? 1 : -1;
        t->eos = n > 2 ? 2 : -1;
        if (t->unk_id < 0 && n > 0) { t->unk_id = 0; }
    } else {
        t->ignore_merges = (pre_flags & WK_GGUF_PRE_IGNORE) != 0;
        rc = merges ? load_merges(L, merges) : wk_tok_pairs_from_ranks(t);
        if (rc < 0) { return rc; }
        t->bos = t->eos = n > 11 && !gemma4 ? 11 : -1; // gemma4: only from the file
    }
    rc = opt_id(L, "tokenizer.ggml.bos_token_id", &t->bos);
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.eos_token_id", &t->eos); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.eot_token_id", &t->eot); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.eom_token_id", &t->eom); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.padding_token_id", &t->pad); }
    if (rc == WICK_OK) { rc = opt_id(L, "tokenizer.ggml.unknown_token_id", &t->unk_special); }
    if (rc == WICK_OK) { rc = opt_bool(L, "tokenizer.ggml.add_bos_token", &add_bos); }
    if (rc == WICK_OK) { rc = opt_bool(L, "tokenizer.ggml.add_eos_token", &add_eos); }
    if (rc == WICK_OK) { rc = opt_bool(L, "tokenizer.ggml.add_space_prefix", &add_space); }
    if (rc < 0) { return rc; }
    if (spm && t->unk_special >= 0) { t->unk_id = t->unk_special; }
    if (add_bos && t->bos >= 0) {
        t->post_pre = wk_malloc(sizeof *t->post_pre);
        if (!t->post_pre) { return wk_fail_nomem("bos"); }
        t->post_pre[0] = t->bos;
        t->n_post_pre = 1;
    }
    if (add_eos && t->eos >= 0) {
        t->post_post = wk_malloc(sizeof *t->post_post);
        if (!t->post_post) { return wk_fail_nomem("eos"); }
        t->post_post[0] = t->eos;
        t->n_post_post = 1;
    }
    if (!spm && !L->raw) { return wk_tok_add_dec(t, WK_DEC_BYTELEVEL, NULL, NULL, 0, 0); }
    if (L->raw) { // UTF-8 BPE with U+2581 for spaces (Gemma 4) or without spaces (whitespace)
        rc = wk_tok_add_dec(t, WK_DEC_REPLACE, "\xE2\x96\x81", " ", 0, 0);
        if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_BYTEFALLBACK, NULL, NULL, 0, 0); }
        return rc == WICK_OK ? wk_tok_add_dec(t, WK_DEC_FUSE, NULL, NULL, 0, 0) : rc;
    }
    // SentencePiece: spaces are U+2581, with one in front of each text part when add_space_prefix
    if (add_space) {
        rc = wk_tok_add_norm(t, WK_NORM_PREPEND, "\xE2\x96\x81", NULL);
        if (rc < 0) { return rc; }
    }
    rc = wk_tok_add_norm(t, WK_NORM_REPLACE, " ", "\xE2\x96\x81");
    if (rc < 0) { return rc; }
    rc = wk_tok_add_dec(t, WK_DEC_REPLACE, "\xE2\x96\x81", " ", 0, 0);
    if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_BYTEFALLBACK, NULL, NULL, 0, 0); }
    if (rc == WICK_OK) { rc = wk_tok_add_dec(t, WK_DEC_FUSE, NULL, NULL, 0, 0); }
    if (rc == WICK_OK && add_space) { rc = wk_tok_add_dec(t, WK_DEC_STRIP, NULL, " ", 1, 0); }
    return rc;
}

wick_status wick_tokenizer_open_gguf(const wick_gguf *g, wick_tokenizer **out)
{
    if (out) { *out = NULL; }
    if (!g || !out) { return wk_fail(WICK_E_INVALID, "wick_tokenizer_open_gguf: NULL argument"); }
    const char *name = wick_gguf_shard_path(g, 0);
    gload L = {.g = g, .name = name ? name : "gguf"};
    wick_status rc = wk_tok_create(L.name, &L.t);
    if (rc < 0) { return rc; }
    rc = load(&L);
    if (rc == WICK_OK) { rc = wk_tok_finish(L.t); }
    if (rc < 0) {
        wick_tokenizer_close(L.t);
        return rc;
    }
    *out = L.t;
    return WICK_OK;
}
