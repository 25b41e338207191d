// tok_twin.h — writes the GGUF twin of a tokenizer.json, as llama.cpp's converter does, for the
// tests that prove both give the same ids.
#ifndef WICK_TEST_TOK_TWIN_H
#define WICK_TEST_TOK_TWIN_H

#include <jansson.h>
#include <math.h>
#include <stdbool.h>

#include "harness.h"
#include "tok/tok.h"

// The precompiled_charsmap of a Precompiled normalizer (alone or in a Sequence), decoded; NULL.
static inline uint8_t *twin_charsmap(json_t *norm, size_t *len)
{
    json_t *seq = json_object_get(norm, "normalizers");
    for (size_t i = 0; i < (seq ? json_array_size(seq) : 1); i++) {
        json_t *o = seq ? json_array_get(seq, i) : norm;
        const char *b64 = json_string_value(json_object_get(o, "precompiled_charsmap"));
        if (!b64) { continue; }
        uint8_t *blob = malloc(strlen(b64) / 4 * 3 + 3);
        if (blob && wk_tok_base64(b64, strlen(b64), blob, len)) { return blob; }
        free(blob);
    }
    return NULL;
}

// tokenizer.json → a vocabulary-only GGUF the way llama.cpp's converters write it: BPE as
// tokenizer.ggml.model "gpt2" (tokens, token types, merges, the given tokenizer.ggml.pre),
// WordPiece as "bert" (U+2581 before word-start tokens, continuations without "##"), Unigram as
// "t5" (tokens, scores, UNKNOWN/CONTROL/BYTE types, the Precompiled normalizer's charsmap).
// add_bos: 0 or 1 writes tokenizer.ggml.add_bos_token, -1 leaves it out (the pre name's default).
// model: the tokenizer.ggml.model to write for a BPE vocabulary ("gemma4"; NULL: "gpt2").
static inline bool json_to_gguf_model(const char *json_path, const char *model_name,
                                      const char *pre, int add_bos, const char *out)
{
    json_error_t err;
    json_t *root = json_load_file(json_path, 0, &err);
    if (!root) { return false; }
    json_t *model = json_object_get(root, "model");
    json_t *vocab = json_object_get(model, "vocab"), *merges = json_object_get(model, "merges");
    json_t *added = json_object_get(root, "added_tokens");
    const char *mtype = json_string_value(json_object_get(model, "type"));
    bool wpm = mtype && strcmp(mtype, "WordPiece") == 0;
    bool ugm = mtype && strcmp(mtype, "Unigram") == 0;
    size_t n = ugm ? json_array_size(vocab) : json_object_size(vocab);
    for (size_t i = 0; i < json_array_size(added); i++) {
        size_t id = (size_t)json_integer_value(json_object_get(json_array_get(added, i), "id"));
        if (id + 1 > n) { n = id + 1; }
    }
    char **toks = calloc(n, sizeof *toks);
    int32_t *types = calloc(n, sizeof *types);
    const char *key;
    json_t *v;
    float *scores = calloc(n + 1, sizeof *scores);
    json_object_foreach(vocab, key, v) // BPE, WordPiece (U+2581 before word starts, ## dropped)
    {
        char *tk = malloc(strlen(key) + 4);
        if (wpm && strncmp(key, "##", 2) == 0) {
            strcpy(tk, key + 2);
        } else {
            sprintf(tk, "%s%s", wpm ? "\xE2\x96\x81" : "", key);
        }
        toks[json_integer_value(v)] = tk;
        types[json_integer_value(v)] = 1;
    }
    for (size_t i = 0; ugm && i < n; i++) { // Unigram: [piece, score], <0xXX> are BYTE tokens
        json_t *e = json_array_get(vocab, i);
        const char *pc = json_string_value(json_array_get(e, 0));
        toks[i] = strdup(pc);
        scores[i] = (float)json_number_value(json_array_get(e, 1));
        bool byte = strlen(pc) == 6 && strncmp(pc, "<0x", 3) == 0 && pc[5] == '>';
        types[i] = byte && json_is_true(json_object_get(model, "byte_fallback")) ? 6 : 1;
    }
    if (ugm && json_is_integer(json_object_get(model, "unk_id"))) {
        types[json_integer_value(json_object_get(model, "unk_id"))] = 2;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *a = json_array_get(added, i);
        size_t id = (size_t)json_integer_value(json_object_get(a, "id"));
        free(toks[id]);
        toks[id] = strdup(json_string_value(json_object_get(a, "content")));
        if (types[id] != 2) { types[id] = json_is_true(json_object_get(a, "special")) ? 3 : 4; }
    }
    for (size_t i = 0; i < n; i++) {
        if (!toks[i]) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "[PAD%zu]", i);
            toks[i] = strdup(tmp);
            types[i] = 5;
        }
    }
    size_t nm = json_array_size(merges);
    char **ms = calloc(nm + 1, sizeof *ms);
    for (size_t i = 0; i < nm; i++) {
        json_t *m = json_array_get(merges, i);
        if (json_is_string(m)) {
            ms[i] = strdup(json_string_value(m));
        } else {
            const char *a = json_string_value(json_array_get(m, 0));
            const char *b = json_string_value(json_array_get(m, 1));
            ms[i] = malloc(strlen(a) + strlen(b) + 2);
            sprintf(ms[i], "%s %s", a, b);
        }
    }
    size_t cm_len = 0;
    uint8_t *cm = ugm ? twin_charsmap(json_object_get(root, "normalizer"), &cm_len) : NULL;
    wick_gguf_writer *w = NULL;
    bool ok = wick_gguf_writer_create(&w) == WICK_OK &&
              wick_gguf_writer_add_str(w, "general.architecture", "llama") == WICK_OK &&
              wick_gguf_writer_add_str(w, "tokenizer.ggml.model",
                                       wpm   ? "bert"
                                       : ugm ? "t5"
                                             : (model_name ? model_name : "gpt2")) == WICK_OK &&
              wick_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre) == WICK_OK &&
              (add_bos < 0 || wick_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token",
                                                        add_bos == 1) == WICK_OK) &&
              wick_gguf_writer_add_array(w, "tokenizer.ggml.tokens", WICK_GGUF_STRING, toks, n) ==
                  WICK_OK &&
              wick_gguf_writer_add_array(w, "tokenizer.ggml.token_type", WICK_GGUF_INT32, types,
                                         n) == WICK_OK &&
              (wpm || ugm ||
               wick_gguf_writer_add_array(w, "tokenizer.ggml.merges", WICK_GGUF_STRING, ms, nm) ==
                   WICK_OK) &&
              (!ugm || wick_gguf_writer_add_array(w, "tokenizer.ggml.scores", WICK_GGUF_FLOAT32,
                                                  scores, n) == WICK_OK) &&
              (!cm || wick_gguf_writer_add_array(w, "tokenizer.ggml.precompiled_charsmap",
                                                 WICK_GGUF_UINT8, cm, cm_len) == WICK_OK) &&
              wick_gguf_writer_write(w, out, NULL, NULL) == WICK_OK;
    CHECKF(ok, "writing %s: %s", out, wick_errmsg());
    wick_gguf_writer_destroy(w);
    for (size_t i = 0; i < n; i++) { free(toks[i]); }
    for (size_t i = 0; i < nm; i++) { free(ms[i]); }
    free(toks);
    free(types);
    free(scores);
    free(cm);
    free(ms);
    json_decref(root);
    return ok;
}

// The GGUF keys bench/tok/rwkv.js or plamo2.js wrote for a vocabulary ({"model", "pre", "tokens"
// (RWKV's escaped as llama.cpp's converter writes them), "token_type", "scores" (a string for
// NaN), and the *_token_id keys present}) → a vocabulary-only GGUF.
static inline bool keys_to_gguf(const char *json_path, const char *out)
{
    json_error_t err;
    json_t *root = json_load_file(json_path, 0, &err);
    CHECKF(root != NULL, "%s: %s", json_path, err.text);
    if (!root) { return false; }
    json_t *tokens = json_object_get(root, "tokens"), *types = json_object_get(root, "token_type");
    size_t n = json_array_size(tokens);
    const char **toks = calloc(n + 1, sizeof *toks);
    int32_t *ty = calloc(n + 1, sizeof *ty);
    json_t *scores = json_object_get(root, "scores");
    float *sc = calloc(n + 1, sizeof *sc);
    for (size_t i = 0; i < n; i++) {
        toks[i] = json_string_value(json_array_get(tokens, i));
        ty[i] = (int32_t)json_integer_value(json_array_get(types, i));
        json_t *v = json_array_get(scores, i);
        sc[i] = json_is_number(v) ? (float)json_number_value(v) : NAN;
    }
    const char *pre = json_string_value(json_object_get(root, "pre"));
    wick_gguf_writer *w = NULL;
    bool ok = wick_gguf_writer_create(&w) == WICK_OK &&
              wick_gguf_writer_add_str(w, "general.architecture", "rwkv6") == WICK_OK &&
              wick_gguf_writer_add_str(w, "tokenizer.ggml.model",
                                       json_string_value(json_object_get(root, "model"))) ==
                  WICK_OK &&
              wick_gguf_writer_add_array(w, "tokenizer.ggml.tokens", WICK_GGUF_STRING, toks, n) ==
                  WICK_OK &&
              wick_gguf_writer_add_array(w, "tokenizer.ggml.token_type", WICK_GGUF_INT32, ty, n) ==
                  WICK_OK &&
              (!scores || wick_gguf_writer_add_array(w, "tokenizer.ggml.scores", WICK_GGUF_FLOAT32,
                                                     sc, n) == WICK_OK) &&
              (!pre || wick_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre) == WICK_OK);
    static const char *const ids[] = {"bos", "eos", "unknown", "padding", "eot"};
    for (size_t k = 0; k < 5 && ok; k++) {
        char name[64], key[96];
        snprintf(name, sizeof name, "%s_token_id", ids[k]);
        snprintf(key, sizeof key, "tokenizer.ggml.%s", name);
        json_t *v = json_object_get(root, name);
        ok = !v || wick_gguf_writer_add_u32(w, key, (uint32_t)json_integer_value(v)) == WICK_OK;
    }
    ok = ok && wick_gguf_writer_write(w, out, NULL, NULL) == WICK_OK;
    CHECKF(ok, "writing %s: %s", out, wick_errmsg());
    wick_gguf_writer_destroy(w);
    free(toks);
    free(ty);
    free(sc);
    json_decref(root);
    return ok;
}

static inline bool json_to_gguf_bos(const char *json_path, const char *pre, int add_bos,
                                    const char *out)
{
    return json_to_gguf_model(json_path, NULL, pre, add_bos, out);
}

static inline bool json_to_gguf(const char *json_path, const char *pre, const char *out)
{
    return json_to_gguf_bos(json_path, pre, -1, out);
}

#endif
