// arena.c — the allocator of templates and renders: bump allocation in growing chunks under a byte
// cap, everything freed at once. A render's values never need freeing one by one, which keeps the
// interpreter free of reference counts; the cap is what bounds a render's memory.
#include <string.h>

#include "chat/jinja.h"

struct jchunk {
    jchunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

enum { CHUNK_MIN = 16 << 10 };

void ja_init(jarena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
    a->over = a->capped = false;
}

void ja_free(jarena *a)
{
    jchunk *c = a->head;
    while (c) {
        jchunk *next = c->next;
        wk_free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

void *ja_alloc(jarena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0) { n = 16; }
    jchunk *c = a->head;
    if (c && c->size - c->used >= n) {
        void *p = c->data + c->used;
        c->used += n;
        return p;
    }
    // A new chunk: doubling with the total (so few chunks), at least n.
    size_t size = a->used < CHUNK_MIN ? CHUNK_MIN : a->used;
    if (size < n) { size = n; }
    size_t total;
    if (!wk_add_size(size, sizeof(jchunk), &total) || a->used > a->max ||
        total > a->max - a->used) {
        // Try the smallest chunk that fits before giving up.
        size = n;
        if (!wk_add_size(size, sizeof(jchunk), &total) || a->used > a->max ||
            total > a->max - a->used) {
            a->over = a->capped = true;
            return NULL;
        }
    }
    jchunk *nc = wk_malloc(total);
    if (!nc) {
        a->over = true;
        return NULL;
    }
    nc->size = size;
    nc->used = n;
    a->used += total;
    // Keep the chunk with more room at the head (a big one-off block goes behind).
    if (c && c->size - c->used > size - n) {
        nc->next = c->next;
        c->next = nc;
    } else {
        nc->next = c;
        a->head = nc;
    }
    return nc->data;
}

void *ja_zalloc(jarena *a, size_t n)
{
    void *p = ja_alloc(a, n);
    if (p) { memset(p, 0, n); }
    return p;
}

void *ja_dup(jarena *a, const void *p, size_t n)
{
    if (n == SIZE_MAX) { return NULL; }
    char *q = ja_alloc(a, n + 1);
    if (!q) { return NULL; }
    if (n) { memcpy(q, p, n); }
    q[n] = '\0';
    return q;
}

void jj_linecol(const char *src, size_t len, uint32_t pos, int *line, int *col)
{
    int l = 1, c = 1;
    if (pos > len) { pos = (uint32_t)len; }
    for (size_t i = 0; i < pos; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}
