// tok.h — internals of the tokenizers (src/tok): one engine for tokenizer.json, GGUF vocabularies
// and tiktoken files.
//
// Every source is loaded into the same shape:
//   text  → valid UTF-8 (invalid bytes become U+FFFD)
//         → split at added tokens (trie, leftmost-longest, as Hugging Face tokenizers does)
//         → per remaining segment: normalizers → pre-tokenizers (a flat list of steps, each one
//           splitting every current piece further) → the model (BPE) per piece
//         → post-processor (BOS/EOS template) when asked.
// Byte-level vocabularies (GPT-2 style) are stored in raw-byte space: a token's key is the bytes it
// stands for, not its GPT-2 "unicode" spelling, so the ByteLevel steps become identities and
// tiktoken ranks, GGUF gpt2 vocabularies and tokenizer.json all meet in the same tables.
#ifndef WK_TOK_H
#define WK_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define WK_TOK_MAX_VOCAB (1 << 24)       // ids must be below this
#define WK_TOK_MAX_TEXT ((size_t)1 << 31) // longest text wick_tokenize accepts

// --- Unicode classes, from Oniguruma's own tables (so hand splitters agree with the regexes) -----
enum {
    WK_CC_LU = 1 << 0,  // Lu, Lt
    WK_CC_LL = 1 << 1,  // Ll
    WK_CC_LMO = 1 << 2, // Lm, Lo
    WK_CC_M = 1 << 3,   // Mn, Mc, Me
    WK_CC_N = 1 << 4,   // Nd, Nl, No
    WK_CC_S = 1 << 5,   // \s: White_Space
    WK_CC_HAN = 1 << 6, // Script=Han
    WK_CC_NEW = 1 << 7, // assigned after the Unicode version of the system's Oniguruma (14):
                        // classes as the Oniguruma inside Hugging Face tokenizers (16) has them;
                        // the regex path still sees these characters unassigned
    WK_CC_L = WK_CC_LU | WK_CC_LL | WK_CC_LMO,
};
extern const uint8_t *wk_tok_cc; // 0x110000 entries, set by wk_tok_global_init()

// --- Hugging Face's own character classes (hf_tables.c, probed from the Rust library) ------------
enum {
    WK_HF_PUNC = 1 << 0,   // Punctuation, BertPreTokenizer: ASCII punctuation or is_punctuation
    WK_HF_WS = 1 << 1,     // Rust's char::is_whitespace (WhitespaceSplit, BertPreTokenizer)
    WK_HF_NUM = 1 << 2,    // Rust's char::is_numeric (Digits)
    WK_HF_OTHER = 1 << 3,  // BertNormalizer clean_text removes it
    WK_HF_BSPACE = 1 << 4, // BertNormalizer clean_text makes it a space
    WK_HF_MARK = 1 << 5,   // is_combining_mark (StripAccents)
    WK_HF_MN = 1 << 6,     // is_mark_nonspacing (BertNormalizer strip_accents)
    WK_HF_WORD = 1 << 7,   // the regex crate's \w (Whitespace; its \s is WK_HF_WS)
};
typedef struct wk_tok_hf_range {
    uint32_t lo, hi;
    uint8_t bits;
} wk_tok_hf_range;
typedef struct wk_tok_hf_lower {
    uint32_t cp, to[3]; // to: 1 to 3 code points, then zeros
} wk_tok_hf_lower;
extern const wk_tok_hf_range wk_tok_hf_ranges[];
extern const size_t wk_tok_hf_n_ranges;
extern const wk_tok_hf_lower wk_tok_hf_lowers[]; // sorted by cp
extern const size_t wk_tok_hf_n_lowers;
extern const uint8_t *wk_tok_hf; // 0x110000 entries of WK_HF_* bits, set by wk_tok_global_init()
// Rust's to_lowercase of one character (without the final-sigma rule): *n code points in out.
void wk_tok_hf_tolower(uint32_t cp, uint32_t out[3], int *n);
wick_status wk_tok_global_init(void);

// --- UTF-8 ---------------------------------------------------------------------------------------
// Decodes one code point of valid UTF-8 at s (n > 0 bytes left); *adv = its length.
static inline uint32_t wk_tok_utf8_dec(const uint8_t *s, size_t n, size_t *adv)
{
    uint8_t c = s[0];
    if (c < 0x80 || n < 2) {
        *adv = 1;
        return c;
    }
    if (c < 0xE0) {
        *adv = 2;
        return ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (c < 0xF0 || n < 4) {
        *adv = n < 3 ? n : 3;
        return n < 3 ? 0xFFFD : ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
                                    (s[2] & 0x3F);
    }
    *adv = 4;
    return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
           ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}
size_t wk_tok_utf8_enc(uint32_t cp, uint8_t *out); // 1..4 bytes
// Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one; -1 when
// they are a valid but incomplete start (more bytes could make it valid).
int wk_tok_utf8_seq(const uint8_t *s, size_t n);
// Appends s to out with every maximal invalid subsequence replaced by U+FFFD (what Rust's
// String::from_utf8_lossy and the WHATWG decoder do).
wick_status wk_tok_utf8_lossy(wk_buf *out, const uint8_t *s, size_t n);
bool wk_tok_utf8_valid(const uint8_t *s, size_t n);
bool wk_tok_is_ws(uint32_t cp); // Unicode White_Space
// Standard base64 with padding into out (n / 4 * 3 bytes at most); false when s is not that.
bool wk_tok_base64(const char *s, size_t n, uint8_t *out, size_t *out_len);
// memmem (a GNU extension): the first occurrence of needle in hay, or NULL.
const char *wk_tok_find(const char *hay, size_t n, const char *needle, size_t m);

// --- GPT-2 byte-level alphabet -------------------------------------------------------------------
extern const uint16_t wk_tok_bl_byte_to_cp[256];
int wk_tok_bl_cp_to_byte(uint32_t cp); // -1 when cp is not in the alphabet (after global init)
// Decodes a byte-level spelling to raw bytes; false (out untouched past its len) when a char is
// outside the alphabet.
bool wk_tok_bl_decode(const char *s, size_t n, wk_buf *out, wick_status *rc);

// --- hashing -------------------------------------------------------------------------------------
static inline uint64_t wk_tok_hash(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t v;
        __builtin_memcpy(&v, s, 8);
        h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v |= (uint64_t)s[i] << (8 * i);
    }
    h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 32;
    return h;
}

// --- the tokenizer -------------------------------------------------------------------------------
enum { WK_TOKF_PRESENT = 1, WK_TOKF_SPECIAL = 2, WK_TOKF_ADDED = 4, WK_TOKF_MODEL = 8 };

typedef struct wk_added {
    char *content; // as matched in the text
    size_t len;
    int32_t id;
    bool special, lstrip, rstrip, normalized, single_word;
} wk_added;

// A byte trie (added-token contents; RWKV's model tokens): node 0 is the root; edges sorted by
// byte.
typedef struct wk_trie_edge {
    uint8_t byte;
    int32_t child;
} wk_trie_edge;
typedef struct wk_trie_node {
    uint32_t first, n; // edges [first, first+n)
    int32_t value;     // the key ending here (index into added[]; RWKV: token id), or -1
} wk_trie_node;
typedef struct wk_trie {
    wk_trie_node *nodes;
    wk_trie_edge *edges;
    int n;
} wk_trie;
// The child of node by byte c, or -1.
static inline int32_t wk_trie_child(const wk_trie *tr, int32_t node, uint8_t c)
{
    const wk_trie_node *nd = &tr->nodes[node];
    uint32_t lo = nd->first, hi = nd->first + nd->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (tr->edges[mid].byte < c) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < nd->first + nd->n && tr->edges[lo].byte == c ? tr->edges[lo].child : -1;
}
// The value of the key s[0, n), or -1.
static inline int32_t wk_trie_find(const wk_trie *tr, const void *s, size_t n)
{
    int32_t node = tr->n ? 0 : -1;
    for (size_t i = 0; i < n && node >= 0; i++) {
        node = wk_trie_child(tr, node, ((const uint8_t *)s)[i]);
    }
    return node >= 0 ? tr->nodes[node].value : -1;
}
// Key k of a trie being built (NULL: no key k), *len its length.
typedef const uint8_t *(*wk_trie_key)(const void *ctx, int32_t k, size_t *len);
// Builds a trie over keys 0..n-1; the node where key k ends has value k (a later equal key wins).
wick_status wk_tok_trie_build(int32_t n, wk_trie_key key, const void *ctx, wk_trie *out);
void wk_tok_trie_free(wk_trie *tr);
// t->mtrie and t->mroot over the MODEL tokens (RWKV, PLaMo 2); of equal ones the last counts.
wick_status wk_tok_model_trie(wick_tokenizer *t);

enum {
    WK_NORM_NFC,
    WK_NORM_NFD,
    WK_NORM_NFKC,
    WK_NORM_NFKD,
    WK_NORM_LOWER,
    WK_NORM_REPLACE,
    WK_NORM_PREPEND,
    WK_NORM_STRIP,
    WK_NORM_STRIP_ACCENTS,
    WK_NORM_NMT,
    WK_NORM_BERT,
    WK_NORM_BYTELEVEL,
    WK_NORM_PRECOMPILED,
};
typedef struct wk_norm {
    int kind;
    char *pat; // REPLACE: literal (re == NULL) ; PREPEND: the prefix
    size_t pat_len;
    void *re; // REPLACE with a regex: an OnigRegex
    char *content;
    size_t content_len;
    bool left, right;                           // STRIP
    bool clean, chinese, strip_accents, lower;  // BERT
    uint32_t *units;                            // PRECOMPILED: the double array (darts-clone)
    size_t n_units;                             // (the replacement strings are in pat, pat_len)
} wk_norm;

enum {
    WK_PRE_SPLIT,
    WK_PRE_BYTELEVEL,
    WK_PRE_DIGITS,
    WK_PRE_METASPACE,
    WK_PRE_WSPLIT,     // WhitespaceSplit
    WK_PRE_WHITESPACE, // Whitespace: \w+|[^\w\s]+
    WK_PRE_PUNCT,      // Punctuation (behavior)
    WK_PRE_BERT,       // BertPreTokenizer
    WK_PRE_DELIM,      // CharDelimiterSplit
    WK_PRE_FIXED,      // FixedLength
    WK_PRE_SCRIPTS,    // UnicodeScripts
};
enum { WK_SPLIT_REMOVED, WK_SPLIT_ISOLATED, WK_SPLIT_PREV, WK_SPLIT_NEXT, WK_SPLIT_CONTIG };
// Hand-written splitters for the hot patterns (proven equal to Oniguruma in test_tok_split.c).
enum {
    WK_FAST_NONE,
    WK_FAST_LLAMA3,    // cl100k / llama3 / dbrx, (?i:'s|...) contractions
    WK_FAST_LLAMA3_CS, // the same with llama.cpp's '[sS] spelling (no Unicode case folding)
    WK_FAST_QWEN2,     // \p{N} single digits, (?i:...) contractions
    WK_FAST_QWEN2_CS,
    WK_FAST_KIMI, // Kimi K2 (tiktoken pattern with && intersections)
};
typedef struct wk_pre {
    int kind;
    void *re; // OnigRegex, or NULL for a literal / hand splitter
    char *literal;
    size_t literal_len;
    int fast;
    int behavior;
    bool invert;
    bool add_prefix_space; // BYTELEVEL
    bool use_regex;        // BYTELEVEL: split with the GPT-2 pattern first
    bool individual;       // DIGITS
    char *replacement;     // METASPACE
    size_t replacement_len;
    int prepend; // METASPACE: 0 never, 1 first, 2 always
    bool msplit;
    uint32_t delim; // DELIM
    size_t length;  // FIXED
} wk_pre;

// WORDPIECE: pat the prefix, start 1 (the first piece starts the text), stop 1 (cleanup).
enum {
    WK_DEC_BYTELEVEL,
    WK_DEC_BYTEFALLBACK,
    WK_DEC_REPLACE,
    WK_DEC_FUSE,
    WK_DEC_STRIP,
    WK_DEC_WORDPIECE,
};
typedef struct wk_dec {
    int kind;
    char *pat, *content;
    size_t pat_len, content_len;
    int start, stop; // STRIP
    uint32_t strip_cp;
} wk_dec;

typedef struct wk_pair_slot {
    uint32_t a, b;   // key; a == UINT32_MAX: empty
    uint32_t rank;   // merge priority, lower first
    int32_t id;      // the merged token
} wk_pair_slot;

struct wick_tokenizer {
    char *name; // the file, for messages
    int32_t n_vocab;
    // per id: the bytes the token decodes to (raw bytes for byte-level models), flags
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t *off, *len;   // the key: model-space bytes (for vmap)
    uint32_t *doff, *dlen; // what the token decodes to (added tokens may differ from their key)
    uint8_t *flags;
    uint8_t *self_state; // BPE of the token's own bytes gives the token: 0 unknown, 1 yes, 2 no

    // the model (BPE)
    int model;           // WK_MODEL_*
    bool byte_level;     // model space = raw bytes (GPT-2 ByteLevel, tiktoken)
    bool norm_bl;        // a ByteLevel normalizer: pre-tokenizers see the GPT-2 alphabet
    bool ignore_merges;  // a piece that is a token is that token
    bool byte_fallback;  // unknown chars → <0xXX> tokens
    int32_t unk_id;      // -1: none
    bool fuse_unk;
    // WordPiece: the continuing-subword prefix ("##"), the longest piece (characters) before unk
    char wp_prefix[16];
    size_t wp_prefix_len;
    int wp_max_chars;
    // Unigram: each token's score (log probability), an unknown piece's, the longest token (bytes);
    // PLaMo 2: round(score * 1e4)
    double *scores;
    double unk_score;
    uint32_t max_tok_len;
    // tiktoken files (Kimi's tokenization_kimi.py, Llama 3's tokenizer.py): the text is encoded in
    // pieces of at most 400000 characters, each cut where a run of whitespace or of
    // non-whitespace (Python's str.isspace) passes 25000 characters.
    bool tiktoken_chunks;
    // RWKV, PLaMo 2: a byte trie over the model tokens (values: ids), the node of each first
    // byte (-1)
    wk_trie mtrie;
    int32_t mroot[256];
    int32_t byte_id[256]; // byte-level: the symbol of each byte; byte_fallback: <0xXX>
    uint32_t *vmap;       // open addressing: id + 1, 0 empty; over model tokens (bytes → id)
    size_t vmap_mask;
    wk_pair_slot *pairs;
    size_t pairs_mask;
    size_t n_pairs;

    // added tokens
    wk_added *added;
    int n_added;
    wk_trie trie;
    bool added_first[256]; // bytes that can start an added token (non-normalized ones)
    bool any_normalized_added;

    // pipeline
    wk_norm *norm;
    int n_norm;
    wk_pre *pre;
    int n_pre;
    wk_dec *dec;
    int n_dec;

    // post-processing and special ids
    int32_t *post_pre, *post_post; // ids added before / after the sequence (ADD_SPECIAL)
    int n_post_pre, n_post_post;
    int32_t bos, eos, eot, eom, pad, unk_special;
    int32_t *eog;
    int n_eog;
};

enum {
    WK_MODEL_BPE,
    WK_MODEL_WORDPIECE,
    WK_MODEL_WORDLEVEL,
    WK_MODEL_UNIGRAM,
    WK_MODEL_RWKV,
    WK_MODEL_PLAMO2,
};

// --- building (core.c) ---------------------------------------------------------------------------
wick_status wk_tok_create(const char *name, wick_tokenizer **out);
// Reserves ids [0, n): n_vocab grows to n.
wick_status wk_tok_reserve(wick_tokenizer *t, int32_t n);
// Sets the bytes of id (id < n_vocab). flags as WK_TOKF_*; MODEL tokens also go into vmap.
wick_status wk_tok_set(wick_tokenizer *t, int32_t id, const void *bytes, size_t len,
                       uint8_t flags);
// Builds vmap over MODEL tokens; fails on duplicate keys (message names the two ids).
wick_status wk_tok_build_vmap(wick_tokenizer *t);
int32_t wk_tok_lookup(const wick_tokenizer *t, const void *bytes, size_t len); // -1
// Sets only what id decodes to (an added token that is also a vocabulary token).
wick_status wk_tok_set_decode(wick_tokenizer *t, int32_t id, const void *bytes, size_t len);
// Merges: pair (a, b) → rank, id. A later duplicate replaces the earlier one.
wick_status wk_tok_pairs_init(wick_tokenizer *t, size_t n_expected);
wick_status wk_tok_pair_add(wick_tokenizer *t, int32_t a, int32_t b, uint32_t rank, int32_t id);
static inline const wk_pair_slot *wk_tok_pair_find(const wick_tokenizer *t, int32_t a, int32_t b)
{
    if (!t->pairs) { return NULL; }
    uint64_t h = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 32) & t->pairs_mask;
    for (;;) {
        const wk_pair_slot *s = &t->pairs[i];
        if (s->a == (uint32_t)a && s->b == (uint32_t)b) { return s; }
        if (s->a == UINT32_MAX) { return NULL; }
        i = (i + 1) & t->pairs_mask;
    }
}
// tiktoken / rank vocabularies without merges: every split of every model token into two model
// tokens becomes a merge whose rank is the token's rank (= its id).
wick_status wk_tok_pairs_from_ranks(wick_tokenizer *t);
// Adds an added token (content copied). The id's bytes must be set by the caller.
wick_status wk_tok_add_added(wick_tokenizer *t, const char *content, size_t len, int32_t id,
                             bool special, bool lstrip, bool rstrip, bool normalized,
                             bool single_word);
// After everything is loaded: the trie, byte tables, EOG set, self_state. Checks consistency.
wick_status wk_tok_finish(wick_tokenizer *t);
int32_t wk_tok_find_text(const wick_tokenizer *t, const char *s, size_t n); // added, then model

// --- pieces of the pipeline ----------------------------------------------------------------------
// A list of pieces [off, off+len) in a work buffer.
typedef struct wk_tok_span {
    uint32_t off, len;
} wk_tok_span;
typedef struct wk_tok_spans {
    wk_tok_span *v;
    size_t n, cap;
} wk_tok_spans;
wick_status wk_tok_spans_push(wk_tok_spans *s, size_t off, size_t len);

// Compiles an Oniguruma pattern (UTF-8, Oniguruma syntax). what: for messages.
wick_status wk_tok_regex_new(const char *pat, size_t len, const char *what, void **out);
void wk_tok_regex_free(void *re);
int wk_tok_fast_kind(const char *pat, size_t len); // WK_FAST_* for a known pattern
// Splits text[0, n) (valid UTF-8) with step p, appending pieces (offsets relative to base) to out.
wick_status wk_tok_pre_split(const wk_pre *p, const char *text, size_t n, size_t base,
                             wk_tok_spans *out);
// The hand splitter alone, for tests: one piece end after position i.
size_t wk_tok_fast_next(int fast, const uint8_t *s, size_t n, size_t i);
// The Oniguruma path alone, for tests: appends the Isolated pieces of text.
wick_status wk_tok_regex_isolated(void *re, const char *text, size_t n, size_t base,
                                  wk_tok_spans *out);

// Whitespace (White_Space) at the start of s: its length. The start of the character before i.
size_t wk_tok_strip_left(const char *s, size_t n);
size_t wk_tok_prev_char(const char *s, size_t i);
// Precompiled (charsmap.c): reads SentencePiece's precompiled_charsmap blob into nm (units, pat);
// applies it to s as Hugging Face does (grapheme by grapheme, then character by character).
wick_status wk_tok_charsmap_load(wk_norm *nm, const uint8_t *blob, size_t n, const char *what);
wick_status wk_tok_charsmap_apply(const wk_norm *nm, const char *s, size_t n, wk_buf *out);
// Runs the normalizers over s, writing the result to out (cleared first).
wick_status wk_tok_normalize(const wick_tokenizer *t, const char *s, size_t n, wk_buf *out);

// BPE of one piece (model space) appended to ids.
typedef struct wk_tok_ids {
    int32_t *v;
    size_t n, cap;
} wk_tok_ids;
wick_status wk_tok_ids_push(wk_tok_ids *a, int32_t id);
wick_status wk_tok_bpe_piece(const wick_tokenizer *t, const uint8_t *s, size_t n, wk_tok_ids *out);
// The model of t (BPE, WordPiece, WordLevel, Unigram, RWKV) over one piece, appended to out.
wick_status wk_tok_model_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                               wk_tok_ids *out);
wick_status wk_tok_wordpiece_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                                   wk_tok_ids *out);
wick_status wk_tok_unigram_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                                 wk_tok_ids *out);
// After the vocabulary and t->scores: the unknown piece's score and the longest token.
wick_status wk_tok_unigram_init(wick_tokenizer *t);
// RWKV (rwkv.c): a token as the GGUF stores it (Python's bytes repr without b'') to its bytes in
// out (cleared first); false, *rc untouched, when an escape is malformed. The trie over the
// MODEL tokens. One piece: the longest token at each position, a byte no token starts with (or
// no whole token does) as unk_id.
bool wk_tok_rwkv_unescape(const char *s, size_t n, wk_buf *out, wick_status *rc);
wick_status wk_tok_rwkv_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                              wk_tok_ids *out);
// PLaMo 2 (plamo2.c) over one piece: t->scores holds round(score * 1e4) per token (NaN: never
// used), t->byte_id the <0xXX> tokens.
wick_status wk_tok_plamo2_piece(const wick_tokenizer *t, const uint8_t *s, size_t n,
                                wk_tok_ids *out);
// Merges the symbols syms[0, n) in place; returns the new count (SIZE_MAX: out of memory).
size_t wk_tok_bpe_merge(const wick_tokenizer *t, int32_t *syms, size_t n);
// The heap path alone (the one long pieces take), for tests. SIZE_MAX when out of memory.
size_t wk_tok_bpe_merge_heap(const wick_tokenizer *t, int32_t *syms, size_t n);
// The blocked heaps very long pieces take (more than 16384 symbols), for tests.
size_t wk_tok_bpe_merge_blocks(const wick_tokenizer *t, int32_t *syms, size_t n);

// Encodes text (any bytes) into out (appended).
wick_status wk_tok_encode(const wick_tokenizer *t, const char *text, size_t len, unsigned flags,
                          wk_tok_ids *out);
// Decodes ids to bytes (lossy UTF-8 at the end when lossy).
wick_status wk_tok_decode(const wick_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                          wk_buf *out);

// --- tokenizer.ggml.pre (pre_table.c) ---
enum { WK_GGUF_PRE_IGNORE = 1, WK_GGUF_PRE_BOS = 2, WK_GGUF_PRE_RAW = 4 };
// Adds the normalizers and pre-tokenizers of a pre name; *flags: WK_GGUF_PRE_* (ignore_merges,
// add_bos by default, UTF-8 tokens with <0xXX> byte fallback instead of the GPT-2 alphabet).
// Unknown name: WICK_E_UNSUPPORTED naming it. what: the file, for messages.
wick_status wk_tok_gguf_pre(wick_tokenizer *t, const char *name, const char *what,
                            unsigned *flags);

// --- loaders -------------------------------------------------------------------------------------
wick_status wk_tok_load_json(const char *name, const char *data, size_t len,
                             const wick_tokenizer_opts *o, wick_tokenizer **out);
// tokenizer_config.json: bos/eos names, add_bos_token/add_eos_token (when set_add), and for
// tiktoken files the added_tokens_decoder (when added).
wick_status wk_tok_apply_config(wick_tokenizer *t, const char *config_path, bool set_add,
                                bool added);
extern const char wk_tok_kimi_pattern[];

// --- the step lists (pipeline.c) -----------------------------------------------------------------
// Appends a zeroed step of kind (*out points into the list until the next append).
wick_status wk_tok_norm_push(wick_tokenizer *t, int kind, wk_norm **out);
wick_status wk_tok_pre_push(wick_tokenizer *t, int kind, wk_pre **out);
wick_status wk_tok_dec_push(wick_tokenizer *t, int kind, wk_dec **out);
// Replaces *dst with a copy of s[0, n) (NUL-terminated); *dst_len = n when dst_len is not NULL.
wick_status wk_tok_set_str(char **dst, size_t *dst_len, const char *s, size_t n);
// A normalizer with a literal pattern and content (NUL-terminated; either may be NULL).
wick_status wk_tok_add_norm(wick_tokenizer *t, int kind, const char *pat, const char *content);
wick_status wk_tok_add_split(wick_tokenizer *t, const char *pat, size_t n, bool is_regex,
                             int behavior, bool invert, const char *what);
wick_status wk_tok_add_dec(wick_tokenizer *t, int kind, const char *pat, const char *content,
                           int start, int stop);
// A ByteLevel pre-tokenizer (GPT-2's regex when use_regex); the model becomes byte-level.
wick_status wk_tok_add_bytelevel(wick_tokenizer *t, bool add_prefix_space, bool use_regex);
void wk_tok_pipeline_free(wick_tokenizer *t);

#endif
