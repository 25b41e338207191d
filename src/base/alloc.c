// alloc.c — allocation through the caller's hooks, with a failure-injection counter for tests.
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static void *default_malloc(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}
static void *default_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    return realloc(p, n);
}
static void default_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static wick_allocator hooks = {default_malloc, default_realloc, default_free, NULL};

// Failure injection: when fail_at > 0, the allocation whose number reaches fail_at fails.
static _Atomic uint64_t n_allocs;
static _Atomic uint64_t fail_at;

void wick_set_allocator(const wick_allocator *a)
{
    if (a && a->malloc_fn && a->realloc_fn && a->free_fn) {
        hooks = *a;
    } else {
        hooks = (wick_allocator){default_malloc, default_realloc, default_free, NULL};
    }
}

uint64_t wk_alloc_fail_after(uint64_t n)
{
    uint64_t made = atomic_exchange(&n_allocs, 0);
    atomic_store(&fail_at, n);
    return made;
}

static bool injected_failure(void)
{
    uint64_t k = atomic_fetch_add(&n_allocs, 1) + 1;
    uint64_t at = atomic_load(&fail_at);
    return at != 0 && k >= at;
}

void *wk_malloc(size_t n)
{
    if (injected_failure()) { return NULL; }
    return hooks.malloc_fn(n ? n : 1, hooks.ud);
}

void *wk_calloc(size_t count, size_t size)
{
    size_t n;
    if (!wk_mul_size(count, size, &n)) { return NULL; }
    void *p = wk_malloc(n);
    if (p) { memset(p, 0, n); }
    return p;
}

void *wk_realloc(void *p, size_t n)
{
    if (injected_failure()) { return NULL; }
    return hooks.realloc_fn(p, n ? n : 1, hooks.ud);
}

void wk_free(void *p)
{
    if (p) { hooks.free_fn(p, hooks.ud); }
}

void wick_free(void *p)
{
    wk_free(p);
}

char *wk_strndup(const char *s, size_t n)
{
    char *d = wk_malloc(n + 1);
    if (!d) { return NULL; }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *wk_strdup(const char *s)
{
    return wk_strndup(s, strlen(s));
}

char *wk_asprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = NULL;
    if (n >= 0) {
        s = wk_malloc((size_t)n + 1);
        if (s) { vsnprintf(s, (size_t)n + 1, fmt, ap2); }
    }
    va_end(ap2);
    return s;
}
