// core.c — the tokenizer object: per-id storage, the vocabulary and merge hash tables, added
// tokens and their trie, special ids, queries.
#include <stdio.h>
#include <string.h>

#include "tok/tok.h"

wick_status wk_tok_create(const char *name, wick_tokenizer **out)
{
    *out = NULL;
    wick_status rc = wk_tok_global_init();
    if (rc < 0) { return rc; }
    wick_tokenizer *t = wk_calloc(1, sizeof *t);
    if (!t) { return wk_fail_nomem("tokenizer"); }
    t->name = wk_strdup(name ? name : "tokenizer");
    if (!t->name) {
        wk_free(t);
        return wk_fail_nomem("tokenizer");
    }
    t->unk_id = t->bos = t->eos = t->eot = t->eom = t->pad = t->unk_special = -1;
    for (int i = 0; i < 256; i++) { t->byte_id[i] = -1; }
    *out = t;
    return WICK_OK;
}

wick_status wk_tok_reserve(wick_tokenizer *t, int32_t n)
{
    if (n <= t->n_vocab) { return WICK_OK; }
    if (n > WK_TOK_MAX_VOCAB) {
        return wk_fail(WICK_E_FORMAT, "%s: token id %d is too large (at most %d)", t->name, n - 1,
                       WK_TOK_MAX_VOCAB - 1);
    }
    size_t cap = (size_t)n;
    uint32_t *off = wk_realloc(t->off, cap * sizeof *off);
    if (!off) { return wk_fail_nomem("vocabulary"); }
    t->off = off;
    uint32_t *len = wk_realloc(t->len, cap * sizeof *len);
    if (!len) { return wk_fail_nomem("vocabulary"); }
    t->len = len;
    uint32_t *doff = wk_realloc(t->doff, cap * sizeof *doff);
    if (!doff) { return wk_fail_nomem("vocabulary"); }
    t->doff = doff;
    uint32_t *dlen = wk_realloc(t->dlen, cap * sizeof *dlen);
    if (!dlen) { return wk_fail_nomem("vocabulary"); }
    t->dlen = dlen;
    uint8_t *fl = wk_realloc(t->flags, cap);
    if (!fl) { return wk_fail_nomem("vocabulary"); }
    t->flags = fl;
    for (int32_t i = t->n_vocab; i < n; i++) {
        t->off[i] = t->doff[i] = 0;
        t->len[i] = t->dlen[i] = 0;
        t->flags[i] = 0;
    }
    t->n_vocab = n;
    return WICK_OK;
}

static wick_status arena_add(wick_tokenizer *t, const void *bytes, size_t len, uint32_t *off)
{
    if (len > UINT32_MAX / 2 || t->arena_len + len > UINT32_MAX) {
        return wk_fail(WICK_E_FORMAT, "%s: vocabulary text too large", t->name);
    }
    if (t->arena_len + len > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap * 2 : 1 << 16;
        while (cap < t->arena_len + len) { cap *= 2; }
        char *a = wk_realloc(t->arena, cap);
        if (!a) { return wk_fail_nomem("vocabulary"); }
        t->arena = a;
        t->arena_cap = cap;
    }
    if (len) { memcpy(t->arena + t->arena_len, bytes, len); }
    *off = (uint32_t)t->arena_len;
    t->arena_len += len;
    return WICK_OK;
}

wick_status wk_tok_set_decode(wick_tokenizer *t, int32_t id, const void *bytes, size_t len)
{
    if (id < 0 || id >= t->n_vocab) {
        return wk_fail(WICK_E_INTERNAL, "%s: token id %d out of range", t->name, id);
    }
    if (t->dlen[id] == len && memcmp(t->arena + t->doff[id], bytes, len) == 0) { return WICK_OK; }
    uint32_t off = 0;
    wick_status rc = arena_add(t, bytes, len, &off);
    if (rc < 0) { return rc; }
    t->doff[id] = off;
    t->dlen[id] = (uint32_t)len;
    return WICK_OK;
}

wick_status wk_tok_set(wick_tokenizer *t, int32_t id, const void *bytes, size_t len, uint8_t flags)
{
    if (id < 0 || id >= t->n_vocab) {
        return wk_fail(WICK_E_INTERNAL, "%s: token id %d out of range", t->name, id);
    }
    uint32_t off = 0;
    wick_status rc = arena_add(t, bytes, len, &off);
    if (rc < 0) { return rc; }
    t->off[id] = t->doff[id] = off;
    t->len[id] = t->dlen[id] = (uint32_t)len;
    t->flags[id] |= (uint8_t)(flags | WK_TOKF_PRESENT);
    return WICK_OK;
}

static inline bool key_eq(const wick_tokenizer *t, int32_t id, const void *b, size_t n)
{
    return t->len[id] == n && memcmp(t->arena + t->off[id], b, n) == 0;
}

wick_status wk_tok_build_vmap(wick_tokenizer *t)
{
    size_t n_model = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (t->flags[i] & WK_TOKF_MODEL) { n_model++; }
    }
    size_t cap = 16;
    while (cap < n_model * 2 + 16) { cap *= 2; }
    wk_free(t->vmap);
    t->vmap = wk_calloc(cap, sizeof *t->vmap);
    if (!t->vmap) { return wk_fail_nomem("vocabulary table"); }
    t->vmap_mask = cap - 1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!(t->flags[id] & WK_TOKF_MODEL)) { continue; }
        const char *b = t->arena + t->off[id];
        size_t n = t->len[id];
        size_t i = (size_t)wk_tok_hash(b, n) & t->vmap_mask;
        while (t->vmap[i]) {
            int32_t other = (int32_t)t->vmap[i] - 1;
            if (key_eq(t, other, b, n)) {
                return wk_fail(WICK_E_FORMAT, "%s: tokens %d and %d have the same text", t->name,
                               other, id);
            }
            i = (i + 1) & t->vmap_mask;
        }
        t->vmap[i] = (uint32_t)id + 1;
    }
    return WICK_OK;
}

int32_t wk_tok_lookup(const wick_tokenizer *t, const void *b, size_t n)
{
    if (!t->vmap) { return wk_trie_find(&t->mtrie, b, n); } // RWKV: its trie, or nothing
    size_t i = (size_t)wk_tok_hash(b, n) & t->vmap_mask;
    for (;;) {
        uint32_t v = t->vmap[i];
        if (!v) { return -1; }
        if (key_eq(t, (int32_t)v - 1, b, n)) { return (int32_t)v - 1; }
        i = (i + 1) & t->vmap_mask;
    }
}

wick_status wk_tok_pairs_init(wick_tokenizer *t, size_t n_expected)
{
    size_t cap = 16;
    while (cap < n_expected * 2 + 16) {
        if (cap > ((size_t)1 << 40)) { return wk_fail_nomem("merge table"); }
        cap *= 2;
    }
    wk_free(t->pairs);
    t->pairs = wk_malloc(cap * sizeof *t->pairs);
    if (!t->pairs) { return wk_fail_nomem("merge table"); }
    memset(t->pairs, 0xFF, cap * sizeof *t->pairs);
    t->pairs_mask = cap - 1;
    t->n_pairs = 0;
    return WICK_OK;
}

static wick_status pairs_grow(wick_tokenizer *t)
{
    wk_pair_slot *old = t->pairs;
    size_t old_cap = t->pairs_mask + 1;
    t->pairs = NULL;
    wick_status rc = wk_tok_pairs_init(t, old_cap);
    if (rc < 0) {
        t->pairs = old;
        t->pairs_mask = old_cap - 1;
        return rc;
    }
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].a != UINT32_MAX) {
            wk_tok_pair_add(t, (int32_t)old[i].a, (int32_t)old[i].b, old[i].rank, old[i].id);
        }
    }
    wk_free(old);
    return WICK_OK;
}

wick_status wk_tok_pair_add(wick_tokenizer *t, int32_t a, int32_t b, uint32_t rank, int32_t id)
{
    if ((t->n_pairs + 1) * 2 > t->pairs_mask + 1) {
        wick_status rc = pairs_grow(t);
        if (rc < 0) { return rc; }
    }
    uint64_t h = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 32) & t->pairs_mask;
    for (;;) {
        wk_pair_slot *s = &t->pairs[i];
        if (s->a == UINT32_MAX) {
            s->a = (uint32_t)a;
            s->b = (uint32_t)b;
            s->rank = rank;
            s->id = id;
            t->n_pairs++;
            return WICK_OK;
        }
        if (s->a == (uint32_t)a && s->b == (uint32_t)b) {
            s->rank = rank; // later duplicates win, as in Hugging Face's HashMap collect
            s->id = id;
            return WICK_OK;
        }
        i = (i + 1) & t->pairs_mask;
    }
}

wick_status wk_tok_pairs_from_ranks(wick_tokenizer *t)
{
    size_t n_est = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if ((t->flags[id] & WK_TOKF_MODEL) && t->len[id] > 1) { n_est += 2; }
    }
    wick_status rc = wk_tok_pairs_init(t, n_est);
    if (rc < 0) { return rc; }
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!(t->flags[id] & WK_TOKF_MODEL)) { continue; }
        const char *s = t->arena + t->off[id];
        size_t n = t->len[id];
        for (size_t k = 1; k < n; k++) {
            int32_t a = wk_tok_lookup(t, s, k);
            if (a < 0) { continue; }
            int32_t b = wk_tok_lookup(t, s + k, n - k);
            if (b < 0) { continue; }
            const wk_pair_slot *old = wk_tok_pair_find(t, a, b);
            if (old) { continue; } // cannot happen: a+b has one text, one id
            rc = wk_tok_pair_add(t, a, b, (uint32_t)id, id);
            if (rc < 0) { return rc; }
        }
    }
    return WICK_OK;
}

wick_status wk_tok_add_added(wick_tokenizer *t, const char *content, size_t len, int32_t id,
                             bool special, bool lstrip, bool rstrip, bool normalized,
                             bool single_word)
{
    if (len == 0) { return WICK_OK; } // an empty content never matches
    if ((t->n_added & (t->n_added - 1)) == 0) {
        size_t cap = t->n_added ? (size_t)t->n_added * 2 : 16;
        wk_added *a = wk_realloc(t->added, cap * sizeof *a);
        if (!a) { return wk_fail_nomem("added tokens"); }
        t->added = a;
    }
    wk_added *a = &t->added[t->n_added];
    a->content = wk_strndup(content, len);
    if (!a->content) { return wk_fail_nomem("added tokens"); }
    a->len = len;
    a->id = id;
    a->special = special;
    a->lstrip = lstrip;
    a->rstrip = rstrip;
    a->normalized = normalized;
    a->single_word = single_word;
    t->n_added++;
    return WICK_OK;
}

// --- byte tries (added tokens; RWKV's model tokens) ----------------------------------------------
typedef struct trie_build {
    // children kept as linked lists while building, compacted at the end
    int32_t *first_child, *next_sibling, *value;
    uint8_t *byte;
    int n, cap;
} trie_build;

static int trie_new_node(trie_build *b, uint8_t byte)
{
    if (b->n == b->cap) {
        if (b->cap > INT32_MAX / 4) { return -1; }
        int cap = b->cap ? b->cap * 2 : 256;
        int32_t *fc = wk_realloc(b->first_child, (size_t)cap * sizeof *fc);
        if (!fc) { return -1; }
        b->first_child = fc;
        int32_t *ns = wk_realloc(b->next_sibling, (size_t)cap * sizeof *ns);
        if (!ns) { return -1; }
        b->next_sibling = ns;
        int32_t *va = wk_realloc(b->value, (size_t)cap * sizeof *va);
        if (!va) { return -1; }
        b->value = va;
        uint8_t *by = wk_realloc(b->byte, (size_t)cap);
        if (!by) { return -1; }
        b->byte = by;
        b->cap = cap;
    }
    int i = b->n++;
    b->first_child[i] = b->next_sibling[i] = b->value[i] = -1;
    b->byte[i] = byte;
    return i;
}

wick_status wk_tok_trie_build(int32_t n, wk_trie_key key, const void *ctx, wk_trie *out)
{
    trie_build b = {0};
    wick_status rc = WICK_OK;
    *out = (wk_trie){0};
    if (trie_new_node(&b, 0) < 0) { goto nomem; }
    for (int32_t k = 0; k < n; k++) {
        size_t len = 0;
        const uint8_t *s = key(ctx, k, &len);
        if (!s) { continue; }
        int node = 0;
        for (size_t j = 0; j < len; j++) {
            int ch = b.first_child[node];
            while (ch >= 0 && b.byte[ch] != s[j]) { ch = b.next_sibling[ch]; }
            if (ch < 0) {
                ch = trie_new_node(&b, s[j]);
                if (ch < 0) { goto nomem; }
                b.next_sibling[ch] = b.first_child[node];
                b.first_child[node] = ch;
            }
            node = ch;
        }
        b.value[node] = k; // a later key with the same bytes wins (as a map insert would)
    }
    out->nodes = wk_calloc((size_t)b.n, sizeof *out->nodes);
    out->edges = wk_calloc((size_t)b.n, sizeof *out->edges);
    if (!out->nodes || !out->edges) { goto nomem; }
    uint32_t ne = 0;
    for (int i = 0; i < b.n; i++) {
        out->nodes[i].value = b.value[i];
        out->nodes[i].first = ne;
        uint32_t first = ne;
        for (int ch = b.first_child[i]; ch >= 0; ch = b.next_sibling[ch]) {
            // insertion sort by byte
            uint32_t j = ne++;
            while (j > first && out->edges[j - 1].byte > b.byte[ch]) {
                out->edges[j] = out->edges[j - 1];
                j--;
            }
            out->edges[j].byte = b.byte[ch];
            out->edges[j].child = ch;
        }
        out->nodes[i].n = ne - first;
    }
    out->n = b.n;
    goto done;
nomem:
    wk_tok_trie_free(out);
    rc = wk_fail_nomem("token trie");
done:
    wk_free(b.first_child);
    wk_free(b.next_sibling);
    wk_free(b.value);
    wk_free(b.byte);
    return rc;
}

void wk_tok_trie_free(wk_trie *tr)
{
    wk_free(tr->nodes);
    wk_free(tr->edges);
    *tr = (wk_trie){0};
}

static const uint8_t *model_key(const void *ctx, int32_t id, size_t *len)
{
    const wick_tokenizer *t = ctx;
    if (!(t->flags[id] & WK_TOKF_MODEL)) { return NULL; }
    *len = t->len[id];
    return (const uint8_t *)t->arena + t->off[id];
}

wick_status wk_tok_model_trie(wick_tokenizer *t)
{
    wk_tok_trie_free(&t->mtrie);
    wick_status rc = wk_tok_trie_build(t->n_vocab, model_key, t, &t->mtrie);
    if (rc < 0) { return rc; }
    for (int c = 0; c < 256; c++) { t->mroot[c] = wk_trie_child(&t->mtrie, 0, (uint8_t)c); }
    return WICK_OK;
}

static const uint8_t *added_key(const void *ctx, int32_t k, size_t *len)
{
    const wk_added *a = &((const wick_tokenizer *)ctx)->added[k];
    *len = a->len;
    return (const uint8_t *)a->content;
}

static wick_status build_trie(wick_tokenizer *t)
{
    for (int k = 0; k < t->n_added; k++) {
        const wk_added *a = &t->added[k];
        if (a->normalized) {
            t->any_normalized_added = true;
        } else {
            t->added_first[(uint8_t)a->content[0]] = true;
        }
    }
    wk_tok_trie_free(&t->trie);
    return wk_tok_trie_build(t->n_added, added_key, t, &t->trie);
}

static bool is_eog_name(const char *s, size_t n)
{
    static const char *const names[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>",  "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
        "<EOT>",      "_<EOT>",     "[EOT]",    "[EOS]",         "</s>",          "<|end_of_text|>",
        "<end_of_utterance>", "<|return|>", "<|call|>",
    };
    for (size_t i = 0; i < WK_ARRAY_LEN(names); i++) {
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) { return true; }
    }
    return false;
}

static wick_status add_eog(wick_tokenizer *t, int32_t id)
{
    if (id < 0 || id >= t->n_vocab) { return WICK_OK; }
    for (int i = 0; i < t->n_eog; i++) {
        if (t->eog[i] == id) { return WICK_OK; }
    }
    int32_t *e = wk_realloc(t->eog, (size_t)(t->n_eog + 1) * sizeof *e);
    if (!e) { return wk_fail_nomem("eog set"); }
    t->eog = e;
    t->eog[t->n_eog++] = id;
    return WICK_OK;
}

wick_status wk_tok_finish(wick_tokenizer *t)
{
    wick_status rc = build_trie(t);
    if (rc < 0) { return rc; }
    if (t->byte_level) {
        for (int c = 0; c < 256; c++) {
            uint8_t b = (uint8_t)c;
            t->byte_id[c] = wk_tok_lookup(t, &b, 1);
        }
    } else if (t->byte_fallback) {
        for (int c = 0; c < 256; c++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", c);
            t->byte_id[c] = wk_tok_lookup(t, name, 6);
        }
    }
    wk_free(t->self_state);
    t->self_state = wk_calloc((size_t)t->n_vocab, 1);
    if (!t->self_state) { return wk_fail_nomem("vocabulary"); }
    int32_t ids[4] = {t->eos, t->eot, t->eom, -1};
    for (int i = 0; i < 3; i++) {
        rc = add_eog(t, ids[i]);
        if (rc < 0) { return rc; }
    }
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if ((t->flags[id] & WK_TOKF_PRESENT) && is_eog_name(t->arena + t->doff[id], t->dlen[id])) {
            rc = add_eog(t, id);
            if (rc < 0) { return rc; }
        }
    }
    return WICK_OK;
}

int32_t wk_tok_find_text(const wick_tokenizer *t, const char *s, size_t n)
{
    for (int i = t->n_added - 1; i >= 0; i--) {
        if (t->added[i].len == n && memcmp(t->added[i].content, s, n) == 0) {
            return t->added[i].id;
        }
    }
    return wk_tok_lookup(t, s, n);
}

void wick_tokenizer_close(wick_tokenizer *t)
{
    if (!t) { return; }
    wk_free(t->name);
    wk_free(t->arena);
    wk_free(t->off);
    wk_free(t->len);
    wk_free(t->doff);
    wk_free(t->dlen);
    wk_free(t->flags);
    wk_free(t->self_state);
    wk_free(t->vmap);
    wk_free(t->pairs);
    wk_free(t->scores);
    for (int i = 0; i < t->n_added; i++) { wk_free(t->added[i].content); }
    wk_free(t->added);
    wk_tok_trie_free(&t->trie);
    wk_tok_trie_free(&t->mtrie);
    wk_tok_pipeline_free(t);
    wk_free(t->post_pre);
    wk_free(t->post_post);
    wk_free(t->eog);
    wk_free(t);
}

// --- queries -------------------------------------------------------------------------------------
void wick_tokenizer_opts_init(wick_tokenizer_opts *o)
{
    memset(o, 0, sizeof *o);
}

int32_t wick_tokenizer_n_vocab(const wick_tokenizer *t)
{
    return t ? t->n_vocab : 0;
}

const char *wick_token_text(const wick_tokenizer *t, int32_t id, size_t *len)
{
    if (len) { *len = 0; }
    if (!t || id < 0 || id >= t->n_vocab || !(t->flags[id] & WK_TOKF_PRESENT)) { return NULL; }
    if (len) { *len = t->dlen[id]; }
    return t->arena ? t->arena + t->doff[id] : "";
}

int32_t wick_token_find(const wick_tokenizer *t, const char *s, size_t len)
{
    if (!t || (!s && len)) { return -1; }
    return wk_tok_find_text(t, s ? s : "", len);
}

bool wick_token_is_special(const wick_tokenizer *t, int32_t id)
{
    return t && id >= 0 && id < t->n_vocab && (t->flags[id] & WK_TOKF_SPECIAL);
}

bool wick_token_is_eog(const wick_tokenizer *t, int32_t id)
{
    if (!t) { return false; }
    for (int i = 0; i < t->n_eog; i++) {
        if (t->eog[i] == id) { return true; }
    }
    return false;
}

int32_t wick_tokenizer_bos(const wick_tokenizer *t)
{
    return t ? t->bos : -1;
}

int32_t wick_tokenizer_eos(const wick_tokenizer *t)
{
    return t ? t->eos : -1;
}
