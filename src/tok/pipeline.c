// pipeline.c — the step lists of a tokenizer (normalizers, pre-tokenizers, decoders): adding a
// step and freeing them all. The loaders (tokenizer.json, GGUF, tiktoken) fill the lists; the
// tokenizer object (core.c) frees them; encode.c and decode.c run them.
#include <string.h>

#include "tok/tok.h"

static wick_status dup_str(const char *s, size_t n, char **out)
{
    *out = wk_strndup(s ? s : "", n);
    return *out ? WICK_OK : wk_fail_nomem("tokenizer pipeline");
}

wick_status wk_tok_norm_push(wick_tokenizer *t, int kind, wk_norm **out)
{
    *out = NULL;
    wk_norm *v = wk_realloc(t->norm, (size_t)(t->n_norm + 1) * sizeof *v);
    if (!v) { return wk_fail_nomem("normalizers"); }
    t->norm = v;
    *out = memset(&v[t->n_norm++], 0, sizeof *v);
    (*out)->kind = kind;
    return WICK_OK;
}

wick_status wk_tok_pre_push(wick_tokenizer *t, int kind, wk_pre **out)
{
    *out = NULL;
    wk_pre *v = wk_realloc(t->pre, (size_t)(t->n_pre + 1) * sizeof *v);
    if (!v) { return wk_fail_nomem("pre-tokenizers"); }
    t->pre = v;
    *out = memset(&v[t->n_pre++], 0, sizeof *v);
    (*out)->kind = kind;
    return WICK_OK;
}

wick_status wk_tok_dec_push(wick_tokenizer *t, int kind, wk_dec **out)
{
    *out = NULL;
    wk_dec *v = wk_realloc(t->dec, (size_t)(t->n_dec + 1) * sizeof *v);
    if (!v) { return wk_fail_nomem("decoders"); }
    t->dec = v;
    *out = memset(&v[t->n_dec++], 0, sizeof *v);
    (*out)->kind = kind;
    return WICK_OK;
}

wick_status wk_tok_set_str(char **dst, size_t *dst_len, const char *s, size_t n)
{
    wk_free(*dst);
    if (dst_len) { *dst_len = n; }
    return dup_str(s, n, dst);
}

wick_status wk_tok_add_norm(wick_tokenizer *t, int kind, const char *pat, const char *content)
{
    wk_norm *nm = NULL;
    wick_status rc = wk_tok_norm_push(t, kind, &nm);
    if (rc == WICK_OK && pat) { rc = wk_tok_set_str(&nm->pat, &nm->pat_len, pat, strlen(pat)); }
    if (rc == WICK_OK && content) {
        rc = wk_tok_set_str(&nm->content, &nm->content_len, content, strlen(content));
    }
    return rc;
}

wick_status wk_tok_add_split(wick_tokenizer *t, const char *pat, size_t n, bool is_regex,
                             int behavior, bool invert, const char *what)
{
    wk_pre *pr = NULL;
    wick_status rc = wk_tok_pre_push(t, WK_PRE_SPLIT, &pr);
    if (rc < 0) { return rc; }
    pr->behavior = behavior;
    pr->invert = invert;
    if (is_regex) {
        pr->fast = wk_tok_fast_kind(pat, n);
        rc = wk_tok_regex_new(pat, n, what, &pr->re); // kept: the general path and the oracle
    } else {
        rc = wk_tok_set_str(&pr->literal, &pr->literal_len, pat, n);
    }
    return rc;
}

wick_status wk_tok_add_bytelevel(wick_tokenizer *t, bool add_prefix_space, bool use_regex)
{
    static const char gpt2[] =
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    wk_pre *pr = NULL;
    wick_status rc = wk_tok_pre_push(t, WK_PRE_BYTELEVEL, &pr);
    if (rc < 0) { return rc; }
    pr->add_prefix_space = add_prefix_space;
    pr->use_regex = use_regex;
    t->byte_level = true;
    return use_regex ? wk_tok_regex_new(gpt2, sizeof gpt2 - 1, "ByteLevel", &pr->re) : WICK_OK;
}

wick_status wk_tok_add_dec(wick_tokenizer *t, int kind, const char *pat, const char *content,
                           int start, int stop)
{
    wk_dec *d = NULL;
    wick_status rc = wk_tok_dec_push(t, kind, &d);
    if (rc < 0) { return rc; }
    d->start = start;
    d->stop = stop;
    if (pat) { rc = wk_tok_set_str(&d->pat, &d->pat_len, pat, strlen(pat)); }
    if (rc == WICK_OK && content) {
        rc = wk_tok_set_str(&d->content, &d->content_len, content, strlen(content));
        size_t adv;
        d->strip_cp =
            d->content_len ? wk_tok_utf8_dec((const uint8_t *)content, d->content_len, &adv) : ' ';
    }
    return rc;
}

void wk_tok_pipeline_free(wick_tokenizer *t)
{
    for (int i = 0; i < t->n_norm; i++) {
        wk_free(t->norm[i].pat);
        wk_free(t->norm[i].content);
        wk_tok_regex_free(t->norm[i].re);
        wk_free(t->norm[i].units);
    }
    wk_free(t->norm);
    for (int i = 0; i < t->n_pre; i++) {
        wk_tok_regex_free(t->pre[i].re);
        wk_free(t->pre[i].literal);
        wk_free(t->pre[i].replacement);
    }
    wk_free(t->pre);
    for (int i = 0; i < t->n_dec; i++) {
        wk_free(t->dec[i].pat);
        wk_free(t->dec[i].content);
    }
    wk_free(t->dec);
    t->norm = NULL;
    t->pre = NULL;
    t->dec = NULL;
    t->n_norm = t->n_pre = t->n_dec = 0;
}
