// tok_json.h — internals shared by the tokenizer.json loader (load_json.c: model, added tokens)
// and its pipeline parts (json_pipe.c), which the GGUF loader also uses for its built-in rules.
#ifndef WK_TOK_JSON_H
#define WK_TOK_JSON_H

#include <jansson.h>

#include "tok/tok.h"

typedef struct wk_tok_jload {
    const char *name; // the file, for messages
    wick_tokenizer *t;
} wk_tok_jload;

// "NAME: PATH: what" (WICK_E_FORMAT); "NAME: PATH: 'type' is not supported" (WICK_E_UNSUPPORTED).
wick_status wk_tok_json_bad(const wk_tok_jload *j, const char *path, const char *what);
wick_status wk_tok_json_unsupported(const wk_tok_jload *j, const char *path, const char *type);
// Optional members of o (absent or null: the default); a wrong type is an error naming PATH.KEY.
wick_status wk_tok_json_bool(const wk_tok_jload *j, json_t *o, const char *key, const char *path,
                             bool def, bool *out);
wick_status wk_tok_json_str(const wk_tok_jload *j, json_t *o, const char *key, const char *path,
                            const char **s, size_t *n);
wick_status wk_tok_json_int(const wk_tok_jload *j, json_t *o, const char *key, const char *path,
                            int def, int *out);
// o.type as a string (o must be an object).
wick_status wk_tok_json_type(const wk_tok_jload *j, json_t *o, const char *path, const char **type);
// o.pattern: {"Regex": s} or {"String": s}.
wick_status wk_tok_json_pattern(const wk_tok_jload *j, json_t *o, const char *path, const char **s,
                                size_t *n, bool *is_regex);
// A token id of the vocabulary (0 <= id < n_vocab).
wick_status wk_tok_json_id(const wk_tok_jload *j, json_t *v, const char *path, int32_t *id);

// A split behaviour by name (WK_SPLIT_*), -1 when unknown.
int wk_tok_behavior(const char *name);
typedef wick_status (*wk_tok_json_fn)(wk_tok_jload *j, json_t *o, const char *path, int depth);
// The pipeline parts; o may be NULL or null (nothing). depth: nesting so far (Sequence).
wick_status wk_tok_json_normalizer(wk_tok_jload *j, json_t *o, const char *path, int depth);
wick_status wk_tok_json_pre(wk_tok_jload *j, json_t *o, const char *path, int depth);
wick_status wk_tok_json_decoder(wk_tok_jload *j, json_t *o, const char *path, int depth);
wick_status wk_tok_json_post(wk_tok_jload *j, json_t *o, const char *path, int depth);

#endif
