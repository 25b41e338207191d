// buf.c — a growable byte buffer with a hard cap, and whole-file reads.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

void wk_buf_init(wk_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void wk_buf_free(wk_buf *b)
{
    wk_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void wk_buf_clear(wk_buf *b)
{
    b->len = 0;
    if (b->data) { b->data[0] = '\0'; }
}

wick_status wk_buf_reserve(wk_buf *b, size_t extra)
{
    size_t need;
    if (!wk_add_size(b->len, extra, &need) || need > b->max) {
        return wk_fail(WICK_E_RANGE, "buffer would exceed its limit of %zu bytes", b->max);
    }
    if (need + 1 <= b->cap) { return WICK_OK; }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need + 1) {
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    }
    char *p = wk_realloc(b->data, cap);
    if (!p) { return wk_fail_nomem("buffer"); }
    b->data = p;
    b->cap = cap;
    return WICK_OK;
}

wick_status wk_buf_append(wk_buf *b, const void *p, size_t n)
{
    wick_status rc = wk_buf_reserve(b, n);
    if (rc < 0) { return rc; }
    if (n) { memcpy(b->data + b->len, p, n); }
    b->len += n;
    b->data[b->len] = '\0';
    return WICK_OK;
}

wick_status wk_buf_puts(wk_buf *b, const char *s)
{
    return wk_buf_append(b, s, strlen(s));
}

wick_status wk_buf_printf(wk_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    wick_status rc = n < 0 ? wk_fail(WICK_E_INVALID, "bad format") : wk_buf_reserve(b, (size_t)n);
    if (rc == WICK_OK) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return rc;
}

char *wk_buf_take(wk_buf *b, size_t *len)
{
    if (!b->data && wk_buf_reserve(b, 0) < 0) { return NULL; }
    char *p = b->data;
    if (len) { *len = b->len; }
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

wick_status wk_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) { return wk_fail(WICK_E_IO, "%s: cannot open: %s", path, strerror(errno)); }
    wk_buf b;
    wk_buf_init(&b, max);
    wick_status rc = WICK_OK;
    char chunk[65536];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n > 0) {
            rc = wk_buf_append(&b, chunk, n);
            if (rc < 0) {
                rc = wk_fail_prefix(rc, "%s", path);
                break;
            }
        }
        if (n < sizeof chunk) {
            if (ferror(f)) { rc = wk_fail(WICK_E_IO, "%s: read error: %s", path, strerror(errno)); }
            break;
        }
    }
    fclose(f);
    if (rc < 0) {
        wk_buf_free(&b);
        return rc;
    }
    *out = wk_buf_take(&b, len);
    return *out ? WICK_OK : wk_fail_nomem(path);
}

double wk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
