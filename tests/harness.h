// harness.h — a tiny test harness: CHECK macros that count failures and keep going, paths into
// tests/data, and running the `wick` tool as a script would.
//
//   int main(void) { test_gguf_header(); ...; return test_summary("gguf"); }
#ifndef WICK_TEST_HARNESS_H
#define WICK_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wick.h"

static int test_n_checks, test_n_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_n_checks++;                                                                           \
        if (!(cond)) {                                                                             \
            test_n_failed++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        test_n_checks++;                                                                           \
        if (!(cond)) {                                                                             \
            test_n_failed++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

// A wick call that must succeed; prints the library's message when it does not.
#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        wick_status rc_ = (expr);                                                                  \
        CHECKF(rc_ >= 0, "%s -> %d (%s)", #expr, rc_, wick_errmsg());                              \
    } while (0)

// A wick call that must fail with code; the message must contain needle (NULL: any message).
#define CHECK_FAIL(expr, code, needle)                                                             \
    do {                                                                                           \
        wick_status rc_ = (expr);                                                                  \
        const char *m_ = wick_errmsg();                                                            \
        CHECKF(rc_ == (code), "%s -> %d, expected %d (%s)", #expr, rc_, (code), m_);               \
        if ((needle) != NULL) {                                                                    \
            CHECKF(strstr(m_, (needle) ? (needle) : "") != NULL, "message '%s' lacks '%s'", m_,    \
                   (needle) ? (needle) : "");                                                      \
        }                                                                                          \
    } while (0)

// Prints "<name>: N checks, N passed, N failed" and returns the exit status for main().
static inline int test_summary(const char *name)
{
    printf("%s: %d checks\n%d passed, %d failed\n", name, test_n_checks,
           test_n_checks - test_n_failed, test_n_failed);
    return test_n_failed ? 1 : 0;
}

// What main() returns when the test cannot run here (say why first); ctest reports it as skipped
// (SKIP_RETURN_CODE in CMakeLists.txt), not as passed.
#define TEST_SKIPPED 77

// The path of a file under tests/data (static buffer, one call at a time).
static inline const char *test_data(const char *rel)
{
    static char path[4096];
    const char *dir = getenv("WICK_TEST_DATA");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", rel);
    return path;
}

// A scratch directory for this test (created; removed by the OS or the next run).
static inline const char *test_tmpdir(const char *name)
{
    static char path[2048];
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(path, sizeof path, "%s/tmp-%s", b ? b : "/tmp", name);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0) { fprintf(stderr, "cannot make %s\n", path); }
    return path;
}

// Reads a whole file into a malloc'd NUL-terminated buffer (NULL on failure).
static inline char *test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) { return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 >= cap) { buf = realloc(buf, cap *= 2); }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) { break; }
    }
    fclose(f);
    buf[n] = '\0';
    if (len) { *len = n; }
    return buf;
}

// Runs `wick ARGS` through sh (args is shell text, e.g. "info 'x.gguf' --json"), with stdin from
// the file in_path (NULL: /dev/null). Returns the exit status (-1 when it did not exit normally);
// *out and *err receive what it printed (malloc'd, NUL-terminated; pass NULL to discard).
static inline int test_run_wick(const char *args, const char *in_path, char **out, char **err)
{
    static int seq;
    const char *bin = getenv("WICK_BIN");
    const char *b = getenv("WICK_BUILD_DIR");
    char o[4096], e[4096], cmd[16384];
    snprintf(o, sizeof o, "%s/run-%d-%d.out", b ? b : "/tmp", (int)getpid(), seq);
    snprintf(e, sizeof e, "%s/run-%d-%d.err", b ? b : "/tmp", (int)getpid(), seq++);
    int w = snprintf(cmd, sizeof cmd, "'%s' %s <'%s' >'%s' 2>'%s'", bin ? bin : "wick", args,
                     in_path ? in_path : "/dev/null", o, e);
    if (w < 0 || (size_t)w >= sizeof cmd) {
        fprintf(stderr, "test_run_wick: command too long: wick %.200s...\n", args);
        return -1;
    }
    int st = system(cmd);
    if (out) { *out = test_slurp(o, NULL); }
    if (err) { *err = test_slurp(e, NULL); }
    unlink(o);
    unlink(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
