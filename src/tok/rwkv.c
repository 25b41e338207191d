// rwkv.c — RWKV's trie vocabulary (tokenizer.ggml.model "rwkv", the RWKV "World" models), as
// RWKV's rwkv_tokenizer.py (TRIE_TOKENIZER) and llama.cpp's llm_tokenizer_rwkv run it:
//   tokens are byte strings; llama.cpp's converter stores each as Python writes bytes, repr(b)
//     without the b'' around it: \t \n \r, \xHH for other bytes outside printable ASCII, and a
//     backslash before \ and the quote; unescaped here (\ before any other character is that
//     character, as llama.cpp reads it).
//   encoding: no normalizer, no pre-tokenizer, the text's bytes as they are (invalid UTF-8 too);
//     from left to right, the longest token the bytes there start with; a byte where no token
//     starts is the unknown token, one byte consumed.
//   decoding: the tokens' bytes joined (gguf_vocab.c: a Fuse decoder).
#include <string.h>

#include "tok/tok.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

bool wk_tok_rwkv_unescape(const char *s, size_t n, wk_buf *out, wick_status *rc)
{
    wk_buf_clear(out);
    *rc = wk_buf_reserve(out, n);
    if (*rc < 0) { return true; }
    char *d = out->data;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            d[k++] = s[i];
            continue;
        }
        if (++i == n) { return false; }
        switch (s[i]) {
        case 't': d[k++] = '\t'; break;
        case 'n': d[k++] = '\n'; break;
        case 'r': d[k++] = '\r'; break;
        case 'x': {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = hi >= 0 ? hexval(s[i + 2]) : -1;
            if (lo < 0) { return false; }
            d[k++] = (char)(hi << 4 | lo);
            i += 2;
            break;
        }
        default: d[k++] = s[i];
        }
    }
    out->len = k;
    d[k] = '\0';
    return true;
}

wick_status wk_tok_rwkv_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                              wk_tok_ids *out)
{
    const wk_trie_node *nodes = t->mtrie.nodes;
    size_t i = 0;
    while (i < n) {
        int32_t node = t->mroot[s[i]], best = -1;
        size_t j = i + 1, end = i + 1;
        while (node >= 0) {
            if (nodes[node].value >= 0) {
                best = nodes[node].value;
                end = j;
            }
            if (j == n) { break; }
            node = wk_trie_child(&t->mtrie, node, s[j++]);
        }
        if (best < 0) {
            if (t->unk_id < 0) {
                return wk_fail(WICK_E_FORMAT,
                               "%s: byte 0x%02X starts no token of the vocabulary and there is no "
                               "unknown token (tokenizer.ggml.unknown_token_id)",
                               t->name, s[i]);
            }
            best = t->unk_id;
        }
        wick_status rc = wk_tok_ids_push(out, best);
        if (rc < 0) { return rc; }
        i = end;
    }
    return WICK_OK;
}
