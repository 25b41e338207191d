// base.h — what every module of wick uses: failing with a message, checked size arithmetic,
// allocation through the caller's hooks, levelled logging, a capped growable buffer.
#ifndef WK_BASE_H
#define WK_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wick.h"

#if defined(__GNUC__)
#define WK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define WK_UNUSED __attribute__((unused))
#else
#define WK_PRINTF(f, a)
#define WK_UNUSED
#endif

#define WK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define WK_MAX(a, b) ((a) > (b) ? (a) : (b))

// --- errors --------------------------------------------------------------------------------------
// Sets this thread's message (printf-style) and returns rc, so that a failure reads
//     return wk_fail(WICK_E_FORMAT, "%s: tensor '%s': %u dims, at most 4", path, name, nd);
wick_status wk_fail(wick_status rc, const char *fmt, ...) WK_PRINTF(2, 3);
wick_status wk_vfail(wick_status rc, const char *fmt, va_list ap);
// Prepends "prefix: " to this thread's message and returns rc (adds context on the way up).
wick_status wk_fail_prefix(wick_status rc, const char *fmt, ...) WK_PRINTF(2, 3);
// Fails with WICK_E_NOMEM and a message naming what was being allocated.
wick_status wk_fail_nomem(const char *what);

// --- size arithmetic: false on overflow, *out untouched then -------------------------------------
static inline bool wk_mul_size(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r)) { return false; }
    *out = r;
    return true;
}
static inline bool wk_add_size(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_add_overflow(a, b, &r)) { return false; }
    *out = r;
    return true;
}
static inline bool wk_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) { return false; }
    *out = r;
    return true;
}
static inline bool wk_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) { return false; }
    *out = r;
    return true;
}

// --- memory: every allocation goes through the hooks of wick_set_allocator() ---------------------
void *wk_malloc(size_t n);
void *wk_calloc(size_t count, size_t size); // overflow-checked, zeroed
void *wk_realloc(void *p, size_t n);
void wk_free(void *p);
char *wk_strdup(const char *s);
char *wk_strndup(const char *s, size_t n);
char *wk_asprintf(const char *fmt, ...) WK_PRINTF(1, 2); // NULL on failure (no message set)

// Test hook: make the allocation number n (counting from 1 from now) and all after it fail; 0 turns
// failures off. Returns the number of allocations made since the last call.
uint64_t wk_alloc_fail_after(uint64_t n);

// --- logging -------------------------------------------------------------------------------------
void wk_log(wick_log_level level, const char *fmt, ...) WK_PRINTF(2, 3);
bool wk_log_enabled(wick_log_level level);
#define wk_debug(...) wk_log(WICK_LOG_DEBUG, __VA_ARGS__)
#define wk_info(...) wk_log(WICK_LOG_INFO, __VA_ARGS__)
#define wk_warn(...) wk_log(WICK_LOG_WARN, __VA_ARGS__)

// --- capped growable buffer ----------------------------------------------------------------------
// Bytes with a hard cap: an append that would pass max fails with WICK_E_RANGE. data is always
// NUL-terminated (the NUL is not counted in len).
typedef struct wk_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} wk_buf;

void wk_buf_init(wk_buf *b, size_t max);
void wk_buf_free(wk_buf *b);
void wk_buf_clear(wk_buf *b);
wick_status wk_buf_reserve(wk_buf *b, size_t extra);
wick_status wk_buf_append(wk_buf *b, const void *p, size_t n);
wick_status wk_buf_puts(wk_buf *b, const char *s);
wick_status wk_buf_printf(wk_buf *b, const char *fmt, ...) WK_PRINTF(2, 3);
// Hands the bytes to the caller (free with wk_free) and leaves b empty.
char *wk_buf_take(wk_buf *b, size_t *len);

// --- pattern search in streamed text (stop strings, chat markers) -------------------------------
// The offset of the earliest occurrence in s[0, n) of any of the n_pats patterns (pats[i] of
// lens[i] bytes; empty ones never match), the longest one when several start there; *which (may
// be NULL) gets its index. n and -1 when none occurs.
size_t wk_match_first(const char *s, size_t n, const char *const *pats, const size_t *lens,
                      int n_pats, int *which);
// The length of the longest tail of s[0, n) that is a proper prefix of some pattern: the bytes to
// hold back because more text might complete a match. 0 when none.
size_t wk_match_partial(const char *s, size_t n, const char *const *pats, const size_t *lens,
                        int n_pats);

// --- files ---------------------------------------------------------------------------------------
// Reads a whole file (at most max bytes) into a NUL-terminated buffer. Free with wk_free.
wick_status wk_read_file(const char *path, size_t max, char **out, size_t *len);

// --- time ----------------------------------------------------------------------------------------
double wk_now(void); // monotonic seconds

#endif
