// test_base.c — the error model, checked arithmetic, capped buffers and allocation failures.
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"
#include "harness.h"

static void test_errors(void)
{
    CHECK(strcmp(wick_errmsg(), "") == 0);
    CHECK(wk_fail(WICK_E_FORMAT, "%s: offset %d: bad", "x.gguf", 12) == WICK_E_FORMAT);
    CHECK(strcmp(wick_errmsg(), "x.gguf: offset 12: bad") == 0);
    wk_fail_prefix(WICK_E_FORMAT, "outer");
    CHECK(strcmp(wick_errmsg(), "outer: x.gguf: offset 12: bad") == 0);
    for (int rc = WICK_E_TIMEOUT; rc <= WICK_AGAIN; rc++) {
        CHECKF(strcmp(wick_strerror((wick_status)rc), "unknown error") != 0 &&
                   strcmp(wick_strerror((wick_status)rc), "unknown status") != 0,
               "code %d has no text", rc);
        CHECKF(strcmp(wick_status_name((wick_status)rc), "error") != 0 &&
                   strcmp(wick_status_name((wick_status)rc), "status") != 0,
               "code %d has no name", rc);
    }
    CHECK(strcmp(wick_strerror((wick_status)-999), "unknown error") == 0);
}

// The header's macros and the run-time library agree (CMake reads its version from the header).
static void test_version(void)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", WICK_VERSION_MAJOR, WICK_VERSION_MINOR,
             WICK_VERSION_PATCH);
    CHECKF(strcmp(wick_version(), want) == 0, "wick_version() %s, header %s", wick_version(), want);
}

static void test_arith(void)
{
    size_t r = 7;
    CHECK(wk_mul_size(3, 4, &r) && r == 12);
    CHECK(!wk_mul_size(SIZE_MAX / 2 + 1, 2, &r) && r == 12);
    CHECK(!wk_add_size(SIZE_MAX, 1, &r));
    uint64_t u = 0;
    CHECK(!wk_mul_u64(UINT64_MAX, 3, &u));
    CHECK(wk_add_u64(1, 2, &u) && u == 3);
}

static void test_buf(void)
{
    wk_buf b;
    wk_buf_init(&b, 10);
    CHECK_OK(wk_buf_puts(&b, "hello"));
    CHECK_OK(wk_buf_printf(&b, "%d", 1234));
    CHECK(b.len == 9 && strcmp(b.data, "hello1234") == 0);
    CHECK_FAIL(wk_buf_puts(&b, "xy"), WICK_E_RANGE, "limit of 10");
    CHECK(b.len == 9);
    wk_buf_free(&b);
}

static void test_alloc_failure(void)
{
    wk_alloc_fail_after(1);
    void *p = wk_malloc(16);
    CHECK(p == NULL);
    wk_alloc_fail_after(0);
    p = wk_malloc(16);
    CHECK(p != NULL);
    wk_free(p);
    wk_free(NULL);
    CHECK(wk_calloc(SIZE_MAX / 2, 4) == NULL);
}

int main(void)
{
    test_errors();
    test_version();
    test_arith();
    test_buf();
    test_alloc_failure();
    return test_summary("base");
}
