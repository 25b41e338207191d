// bpe.c — byte-pair merging of one pre-tokenized piece.
//
// The rule (Hugging Face's Word::merge_all, llama.cpp's llm_tokenizer_bpe, tiktoken): repeatedly
// merge the adjacent pair with the lowest rank, the leftmost one among equals, until no adjacent
// pair has a rank. Short pieces use a flat array (cheaper for the usual 2-12 symbols); long ones a
// binary heap over a linked list, O(n log n), so a 1 MB piece without spaces is not quadratic.
#include <string.h>

#include "tok/tok.h"

#define SMALL_MAX 48

static size_t merge_small(const wick_tokenizer *t, int32_t *s, size_t n)
{
    uint32_t rank[SMALL_MAX];
    int32_t nid[SMALL_MAX];
    for (size_t i = 0; i + 1 < n; i++) {
        const wk_pair_slot *p = wk_tok_pair_find(t, s[i], s[i + 1]);
        rank[i] = p ? p->rank : UINT32_MAX;
        nid[i] = p ? p->id : -1;
    }
    while (n > 1) {
        size_t best = 0;
        uint32_t br = UINT32_MAX;
        for (size_t i = 0; i + 1 < n; i++) {
            if (rank[i] < br) {
                br = rank[i];
                best = i;
            }
        }
        if (br == UINT32_MAX) { break; }
        s[best] = nid[best];
        // drop symbol best+1 and pair best (now recomputed)
        memmove(s + best + 1, s + best + 2, (n - best - 2) * sizeof *s);
        if (best + 1 < n - 1) {
            memmove(rank + best + 1, rank + best + 2, (n - best - 3) * sizeof *rank);
            memmove(nid + best + 1, nid + best + 2, (n - best - 3) * sizeof *nid);
        }
        n--;
        if (best > 0) {
            const wk_pair_slot *p = wk_tok_pair_find(t, s[best - 1], s[best]);
            rank[best - 1] = p ? p->rank : UINT32_MAX;
            nid[best - 1] = p ? p->id : -1;
        }
        if (best + 1 < n) {
            const wk_pair_slot *p = wk_tok_pair_find(t, s[best], s[best + 1]);
            rank[best] = p ? p->rank : UINT32_MAX;
            nid[best] = p ? p->id : -1;
        }
    }
    return n;
}

// Heap entries are (rank << 32 | position of the left symbol): comparing them as integers orders
// by rank, then by position in the text. An entry is checked when it comes out (the pair at that
// position may have changed since): 8 bytes an entry keeps a 1 MB piece's heap in 24 MB.
// A 4-ary heap: half the depth of a binary one, and the four children share a cache line.
static void sift_down(uint64_t *h, size_t n, size_t i)
{
    uint64_t x = h[i];
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n) { break; }
        size_t m = c, end = WK_MIN(c + 4, n);
        for (size_t k = c + 1; k < end; k++) {
            if (h[k] < h[m]) { m = k; }
        }
        if (h[m] >= x) { break; }
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static void heap_push(uint64_t *h, size_t *n, uint64_t x)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (h[p] <= x) { break; }
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static size_t merge_large(const wick_tokenizer *t, int32_t *s, size_t n, bool *nomem)
{
    // Every merge pushes at most two pairs: the heap never holds more than 3n entries.
    int32_t stack_link[2 * 512];
    uint64_t stack_heap[3 * 512];
    bool small = n <= 512;
    int32_t *prev = small ? stack_link : wk_malloc(2 * n * sizeof *prev);
    int32_t *next = prev ? prev + n : NULL;
    uint64_t *h = small ? stack_heap : wk_malloc(3 * n * sizeof *h);
    size_t nh = 0;
    if (!prev || !h) {
        *nomem = true;
        n = 0;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        const wk_pair_slot *p = wk_tok_pair_find(t, s[i], s[i + 1]);
        if (p) { h[nh++] = ((uint64_t)p->rank << 32) | i; }
    }
    for (size_t i = nh / 4 + 1; i-- > 0;) { sift_down(h, nh, i); } // heapify: O(n)
    while (nh) {
        uint64_t e = h[0];
        h[0] = h[--nh];
        if (nh) { sift_down(h, nh, 0); }
        int32_t l = (int32_t)(uint32_t)e;
        int32_t r = next[l];
        if (s[l] < 0 || r < 0) { continue; } // merged away, or no right neighbour any more
        const wk_pair_slot *p = wk_tok_pair_find(t, s[l], s[r]);
        if (!p || p->rank != (uint32_t)(e >> 32)) { continue; } // stale
        s[l] = p->id;
        s[r] = -2; // dead
        next[l] = next[r];
        if (next[r] >= 0) { prev[next[r]] = l; }
        if (prev[l] >= 0) {
            int32_t q = prev[l];
            const wk_pair_slot *pq = wk_tok_pair_find(t, s[q], s[l]);
            if (pq) { heap_push(h, &nh, ((uint64_t)pq->rank << 32) | (uint32_t)q); }
        }
        if (next[l] >= 0) {
            const wk_pair_slot *pn = wk_tok_pair_find(t, s[l], s[next[l]]);
            if (pn) { heap_push(h, &nh, ((uint64_t)pn->rank << 32) | (uint32_t)l); }
        }
    }
    size_t m = 0;
    for (int32_t i = 0; i >= 0; i = next[i]) { s[m++] = s[i]; }
    n = m;
done:
    if (!small) {
        wk_free(prev);
        wk_free(h);
    }
    return n;
}

// Very long pieces (a megabyte without a space): one heap per block of BLOCK positions, and a
// tournament tree over the blocks' minima. Same order as one heap (the key is the same), but
// every heap stays small enough for the cache, so time grows linearly with the piece instead of
// with the cache misses of one huge heap.
#define BLOCK 4096

typedef struct bheap {
    uint64_t *h;
    uint32_t n, cap;
} bheap;

static bool bh_push(bheap *b, uint64_t x)
{
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 256;
        uint64_t *h = wk_realloc(b->h, (size_t)cap * sizeof *h);
        if (!h) { return false; }
        b->h = h;
        b->cap = cap;
    }
    size_t n = b->n++;
    heap_push(b->h, &n, x);
    return true;
}

typedef struct blocks {
    bheap *b;
    uint64_t *tree; // tree[1] = the minimum; leaves at [size, size + nb)
    size_t nb, size;
} blocks;

static void tree_update(blocks *B, size_t i)
{
    size_t k = B->size + i;
    B->tree[k] = B->b[i].n ? B->b[i].h[0] : UINT64_MAX;
    for (k /= 2; k >= 1; k /= 2) { B->tree[k] = WK_MIN(B->tree[2 * k], B->tree[2 * k + 1]); }
}

static bool blocks_push(blocks *B, uint64_t x)
{
    size_t i = (size_t)(uint32_t)x / BLOCK;
    if (!bh_push(&B->b[i], x)) { return false; }
    if (x < B->tree[B->size + i]) { tree_update(B, i); }
    return true;
}

static size_t merge_blocks(const wick_tokenizer *t, int32_t *s, size_t n, bool *nomem)
{
    blocks B = {0};
    B.nb = (n + BLOCK - 1) / BLOCK;
    B.size = 1;
    while (B.size < B.nb) { B.size *= 2; }
    int32_t *prev = wk_malloc(2 * n * sizeof *prev);
    int32_t *next = prev ? prev + n : NULL;
    B.b = wk_calloc(B.nb, sizeof *B.b);
    B.tree = wk_malloc(2 * B.size * sizeof *B.tree);
    if (!prev || !B.b || !B.tree) { goto fail; }
    for (size_t i = 0; i < 2 * B.size; i++) { B.tree[i] = UINT64_MAX; }
    for (size_t i = 0; i < n; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        const wk_pair_slot *p = wk_tok_pair_find(t, s[i], s[i + 1]);
        if (p && !bh_push(&B.b[i / BLOCK], ((uint64_t)p->rank << 32) | i)) { goto fail; }
    }
    for (size_t i = 0; i < B.nb; i++) { tree_update(&B, i); }
    while (B.tree[1] != UINT64_MAX) {
        uint64_t e = B.tree[1];
        int32_t l = (int32_t)(uint32_t)e;
        bheap *bh = &B.b[(size_t)l / BLOCK];
        bh->h[0] = bh->h[--bh->n];
        if (bh->n) { sift_down(bh->h, bh->n, 0); }
        tree_update(&B, (size_t)l / BLOCK);
        int32_t r = next[l];
        if (s[l] < 0 || r < 0) { continue; }
        const wk_pair_slot *p = wk_tok_pair_find(t, s[l], s[r]);
        if (!p || p->rank != (uint32_t)(e >> 32)) { continue; } // stale
        s[l] = p->id;
        s[r] = -2;
        next[l] = next[r];
        if (next[r] >= 0) { prev[next[r]] = l; }
        if (prev[l] >= 0) {
            int32_t q = prev[l];
            const wk_pair_slot *pq = wk_tok_pair_find(t, s[q], s[l]);
            if (pq && !blocks_push(&B, ((uint64_t)pq->rank << 32) | (uint32_t)q)) { goto fail; }
        }
        if (next[l] >= 0) {
            const wk_pair_slot *pn = wk_tok_pair_find(t, s[l], s[next[l]]);
            if (pn && !blocks_push(&B, ((uint64_t)pn->rank << 32) | (uint32_t)l)) { goto fail; }
        }
    }
    size_t m = 0;
    for (int32_t i = 0; i >= 0; i = next[i]) { s[m++] = s[i]; }
    n = m;
    goto done;
fail:
    *nomem = true;
    n = 0;
done:
    for (size_t i = 0; B.b && i < B.nb; i++) { wk_free(B.b[i].h); }
    wk_free(B.b);
    wk_free(B.tree);
    wk_free(prev);
    return n;
}

size_t wk_tok_bpe_merge_heap(const wick_tokenizer *t, int32_t *syms, size_t n)
{
    bool nomem = false;
    size_t m = n < 2 ? n : merge_large(t, syms, n, &nomem);
    return nomem ? SIZE_MAX : m;
}

size_t wk_tok_bpe_merge(const wick_tokenizer *t, int32_t *syms, size_t n)
{
    if (n < 2) { return n; }
    if (n <= SMALL_MAX) { return merge_small(t, syms, n); }
    bool nomem = false;
    size_t m = n <= 4 * BLOCK ? merge_large(t, syms, n, &nomem) : merge_blocks(t, syms, n, &nomem);
    return nomem ? SIZE_MAX : m;
}

size_t wk_tok_bpe_merge_blocks(const wick_tokenizer *t, int32_t *syms, size_t n)
{
    bool nomem = false;
    size_t m = n < 2 ? n : merge_blocks(t, syms, n, &nomem);
    return nomem ? SIZE_MAX : m;
}

wick_status wk_tok_ids_push(wk_tok_ids *a, int32_t id)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        int32_t *v = wk_realloc(a->v, cap * sizeof *v);
        if (!v) { return wk_fail_nomem("token ids"); }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return WICK_OK;
}

// The initial symbols of a piece: bytes (byte-level) or UTF-8 characters looked up in the
// vocabulary, with byte fallback or the unknown token, exactly as Hugging Face's
// BPE::merge_word orders them: an unknown stays pending (to fuse with the next one) until a
// vocabulary character or the end comes; byte-fallback tokens do not flush it.
static size_t initial_symbols(const wick_tokenizer *t, const uint8_t *s, size_t n, int32_t *syms)
{
    size_t m = 0, i = 0;
    bool pending = false;
    while (i < n) {
        size_t adv = 1;
        int32_t id;
        if (t->byte_level) {
            id = t->byte_id[s[i]];
        } else {
            wk_tok_utf8_dec(s + i, n - i, &adv);
            id = wk_tok_lookup(t, s + i, adv);
        }
        if (id >= 0) {
            if (pending) { syms[m++] = t->unk_id; }
            pending = false;
            syms[m++] = id;
        } else {
            bool all = t->byte_fallback && !t->byte_level;
            for (size_t k = 0; all && k < adv; k++) { all = t->byte_id[s[i + k]] >= 0; }
            if (all) {
                for (size_t k = 0; k < adv; k++) { syms[m++] = t->byte_id[s[i + k]]; }
            } else if (t->unk_id >= 0) {
                if (pending && !t->fuse_unk) { syms[m++] = t->unk_id; }
                pending = true;
            }
        }
        i += adv;
    }
    if (pending) { syms[m++] = t->unk_id; }
    return m;
}

wick_status wk_tok_bpe_piece(const wick_tokenizer *t, const uint8_t *s, size_t n, wk_tok_ids *out)
{
    if (n == 0) { return WICK_OK; }
    int32_t whole = wk_tok_lookup(t, s, n);
    uint8_t st = 0;
    if (whole >= 0) {
        if (t->ignore_merges) { return wk_tok_ids_push(out, whole); }
        st = __atomic_load_n(&t->self_state[whole], __ATOMIC_RELAXED);
        if (st == 1) { return wk_tok_ids_push(out, whole); }
    }
    int32_t stack[256];
    int32_t *syms = n <= WK_ARRAY_LEN(stack) ? stack : wk_malloc(n * sizeof *syms);
    if (!syms) { return wk_fail_nomem("bpe symbols"); }
    size_t m = initial_symbols(t, s, n, syms);
    size_t k = wk_tok_bpe_merge(t, syms, m);
    wick_status rc = WICK_OK;
    if (k == SIZE_MAX) {
        rc = wk_fail_nomem("bpe");
        goto done;
    }
    if (whole >= 0 && st == 0) {
        uint8_t v = (k == 1 && syms[0] == whole) ? 1 : 2;
        __atomic_store_n(&t->self_state[whole], v, __ATOMIC_RELAXED);
    }
    for (size_t i = 0; i < k && rc == WICK_OK; i++) { rc = wk_tok_ids_push(out, syms[i]); }
done:
    if (syms != stack) { wk_free(syms); }
    return rc;
}
