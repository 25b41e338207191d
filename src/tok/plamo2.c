// plamo2.c — PLaMo 2's tokenizer (tokenizer.ggml.model "plamo2"), as llama.cpp's
// llm_tokenizer_plamo2 runs PLaMo 2's tokenization_plamo.py rule over one piece (the text
// between added tokens; no normalizer, no pre-tokenizer):
//   a first U+FEFF is dropped; each token's score counts as round(score * 1e4) (not finite: the
//   token is never used); the piece is cut into tokens whose integer scores add up highest, a
//   character no token covers costing 1e7 and spelled as the <0xXX> tokens of its bytes;
//   between equal totals, the longest token at the earliest position (the dynamic programme
//   runs from the end, longest candidate first).
// Candidates at a position come from the byte trie over the tokens (t->mtrie), cut at character
// boundaries.
#include <math.h>
#include <string.h>

#include "tok/tok.h"

#define UNKNOWN_COST 10000000

wick_status wk_tok_plamo2_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                                wk_tok_ids *out)
{
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    if (n == 0) { return WICK_OK; }
    int64_t *cost = wk_malloc((n + 1) * sizeof *cost);
    uint32_t *len = wk_malloc((n + 1) * sizeof *len);
    int32_t *id = wk_malloc((n + 1) * sizeof *id);
    if (!cost || !len || !id) {
        wk_free(cost);
        wk_free(len);
        wk_free(id);
        return wk_fail_nomem("plamo2");
    }
    const wk_trie_node *nodes = t->mtrie.nodes;
    cost[n] = 0;
    for (size_t i = n; i-- > 0;) {
        if ((s[i] & 0xC0) == 0x80) { continue; } // inside a character
        size_t clen = 1;
        while (i + clen < n && (s[i + clen] & 0xC0) == 0x80) { clen++; }
        int64_t best = INT64_MAX;
        uint32_t bl = 0;
        int32_t bid = -1;
        int32_t node = t->mroot[s[i]];
        size_t j = i + 1;
        while (node >= 0) { // shortest first: a longer token takes a tie
            int32_t v = nodes[node].value;
            if (v >= 0 && (j == n || (s[j] & 0xC0) != 0x80) && !isnan(t->scores[v])) {
                int64_t c = cost[j] - (int64_t)t->scores[v];
                if (c <= best) {
                    best = c;
                    bl = (uint32_t)(j - i);
                    bid = v;
                }
            }
            if (j == n) { break; }
            node = wk_trie_child(&t->mtrie, node, s[j++]);
        }
        if (cost[i + clen] + UNKNOWN_COST < best) {
            best = cost[i + clen] + UNKNOWN_COST;
            bl = (uint32_t)clen;
            bid = -1;
        }
        cost[i] = best;
        len[i] = bl;
        id[i] = bid;
    }
    wick_status rc = WICK_OK;
    for (size_t i = 0; i < n && rc == WICK_OK; i += len[i]) {
        if (id[i] >= 0) {
            rc = wk_tok_ids_push(out, id[i]);
            continue;
        }
        for (size_t k = 0; k < len[i] && rc == WICK_OK; k++) {
            rc = wk_tok_ids_push(out, t->byte_id[s[i + k]]);
        }
    }
    wk_free(cost);
    wk_free(len);
    wk_free(id);
    return rc;
}
