// models.c — the models besides BPE, over one pre-tokenized piece, as Hugging Face tokenizers runs
// them (tokenizers/src/models/{wordpiece,wordlevel,unigram}):
//   WordLevel: the piece is a token, or the unknown token.
//   WordPiece: greedy longest match from the start of the piece, later matches spelled with the
//     continuing-subword prefix ("##"); a piece with an unmatched rest, or longer than
//     max_input_chars_per_word characters, is one unknown token.
//   Unigram: the Viterbi path of highest total score over every vocabulary token that matches;
//     a character no token starts with is the unknown piece (score min - 10), consecutive unknown
//     pieces fuse into one; byte fallback spells such a piece as <0xXX> tokens.
#include <float.h>
#include <string.h>

#include "tok/tok.h"

static wick_status push_unk(const wick_tokenizer *t, wk_tok_ids *out);

wick_status wk_tok_model_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                               wk_tok_ids *out)
{
    switch (t->model) {
    case WK_MODEL_WORDPIECE: return wk_tok_wordpiece_piece(t, s, n, out);
    case WK_MODEL_UNIGRAM: return wk_tok_unigram_piece(t, s, n, out);
    case WK_MODEL_RWKV: return wk_tok_rwkv_piece(t, s, n, out);
    case WK_MODEL_PLAMO2: return wk_tok_plamo2_piece(t, s, n, out);
    case WK_MODEL_WORDLEVEL: {
        if (n == 0) { return WICK_OK; }
        int32_t id = wk_tok_lookup(t, s, n);
        return id >= 0 ? wk_tok_ids_push(out, id) : push_unk(t, out);
    }
    default: return wk_tok_bpe_piece(t, s, n, out);
    }
}

static wick_status push_unk(const wick_tokenizer *t, wk_tok_ids *out)
{
    if (t->unk_id < 0) {
        return wk_fail(WICK_E_FORMAT, "%s: a piece is not in the vocabulary and there is no unk "
                       "token", t->name);
    }
    return wk_tok_ids_push(out, t->unk_id);
}

wick_status wk_tok_wordpiece_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                                   wk_tok_ids *out)
{
    if (n == 0) { return WICK_OK; }
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) { chars += (s[i] & 0xC0) != 0x80; }
    if (chars > (size_t)t->wp_max_chars) { return push_unk(t, out); }
    size_t mark = out->n, start = 0, pl = t->wp_prefix_len;
    uint8_t stack[256];
    uint8_t *buf = pl + n <= sizeof stack ? stack : wk_malloc(pl + n);
    if (!buf) { return wk_fail_nomem("wordpiece"); }
    memcpy(buf, t->wp_prefix, pl);
    wick_status rc = WICK_OK;
    while (start < n && rc == WICK_OK) {
        size_t end = n;
        int32_t id = -1;
        while (end > start) {
            if (start == 0) {
                id = wk_tok_lookup(t, s, end);
            } else {
                memcpy(buf + pl, s + start, end - start);
                id = wk_tok_lookup(t, buf, pl + end - start);
            }
            if (id >= 0) { break; }
            end--;
            while (end > start && (s[end] & 0xC0) == 0x80) { end--; }
        }
        if (id < 0) { // the whole piece is unknown
            out->n = mark;
            rc = push_unk(t, out);
            break;
        }
        rc = wk_tok_ids_push(out, id);
        start = end;
    }
    if (buf != stack) { wk_free(buf); }
    return rc;
}

// --- Unigram -------------------------------------------------------------------------------------
wick_status wk_tok_unigram_init(wick_tokenizer *t)
{
    double lo = DBL_MAX;
    uint32_t longest = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!(t->flags[id] & WK_TOKF_MODEL)) { continue; }
        if (t->scores[id] < lo) { lo = t->scores[id]; }
        if (t->len[id] > longest) { longest = t->len[id]; }
    }
    t->unk_score = (lo == DBL_MAX ? 0 : lo) - 10.0;
    t->max_tok_len = longest;
    return WICK_OK;
}

typedef struct ug_node {
    double score;
    int32_t id;     // the token ending here (-2: none yet; unk_id: an unknown piece)
    uint32_t start; // where it starts
} ug_node;

// The unknown run s[a, b): its bytes as <0xXX> tokens when byte fallback has them all, else unk.
static wick_status unk_run(const wick_tokenizer *t, const uint8_t *s, size_t a, size_t b,
                           wk_tok_ids *out)
{
    bool bytes = t->byte_fallback;
    for (size_t i = a; i < b && bytes; i++) { bytes = t->byte_id[s[i]] >= 0; }
    if (!bytes) { return push_unk(t, out); }
    wick_status rc = WICK_OK;
    for (size_t i = a; i < b && rc == WICK_OK; i++) { rc = wk_tok_ids_push(out, t->byte_id[s[i]]); }
    return rc;
}

wick_status wk_tok_unigram_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                                 wk_tok_ids *out)
{
    if (n == 0) { return WICK_OK; }
    ug_node *best = wk_malloc((n + 1) * sizeof *best);
    if (!best) { return wk_fail_nomem("unigram"); }
    for (size_t i = 0; i <= n; i++) { best[i] = (ug_node){0, -2, 0}; }
    best[0].id = -1;
    for (size_t i = 0; i < n;) {
        if (best[i].id == -2) { // not reachable (cannot happen: every character has a path)
            i++;
            continue;
        }
        size_t adv;
        wk_tok_utf8_dec(s + i, n - i, &adv);
        double base = best[i].score;
        bool single = false;
        // every token starting at i, shortest first (ties keep the first found, as HF's trie walk)
        for (size_t e = i + 1; e <= n && e - i <= t->max_tok_len; e++) {
            if (e < n && (s[e] & 0xC0) == 0x80) { continue; }
            int32_t id = wk_tok_lookup(t, s + i, e - i);
            if (id < 0) { continue; }
            double c = base + t->scores[id];
            if (best[e].id == -2 || c > best[e].score) { best[e] = (ug_node){c, id, (uint32_t)i}; }
            if (e - i == adv) { single = true; }
        }
        if (!single) {
            double c = base + t->unk_score;
            size_t e = i + adv;
            if (best[e].id == -2 || c > best[e].score) {
                best[e] = (ug_node){c, t->unk_id < 0 ? INT32_MIN : t->unk_id, (uint32_t)i};
            }
        }
        i += adv;
    }
    // back from the end: the path's tokens in reverse
    size_t k = 0;
    for (size_t e = n; e > 0; e = best[e].start) { k++; }
    uint32_t *ends = wk_malloc(k * sizeof *ends);
    wick_status rc = ends ? WICK_OK : wk_fail_nomem("unigram");
    size_t m = k;
    for (size_t e = n; e > 0 && ends; e = best[e].start) { ends[--m] = (uint32_t)e; }
    for (size_t q = 0; q < k && rc == WICK_OK; q++) {
        size_t e = ends[q], a = best[e].start;
        int32_t id = best[e].id;
        bool unk = id == INT32_MIN || (id == t->unk_id && t->unk_id >= 0);
        if (!unk) {
            rc = wk_tok_ids_push(out, id);
            continue;
        }
        while (q + 1 < k) { // fuse the following unknown pieces
            int32_t nx = best[ends[q + 1]].id;
            if (nx != INT32_MIN && !(nx == t->unk_id && t->unk_id >= 0)) { break; }
            e = ends[++q];
        }
        // a fused run that is itself a vocabulary token is that token (HF looks the text up)
        int32_t whole = wk_tok_lookup(t, s + a, e - a);
        rc = whole >= 0 ? wk_tok_ids_push(out, whole) : unk_run(t, s, a, e, out);
    }
    wk_free(ends);
    wk_free(best);
    return rc;
}
