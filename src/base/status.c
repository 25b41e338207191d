// status.c — the thread-local error message and the text of each status code.
#include <stdio.h>
#include <string.h>

#include "base/base.h"

#define ERRMSG_MAX 1024

static _Thread_local char errmsg[ERRMSG_MAX];

const char *wick_errmsg(void)
{
    return errmsg;
}

wick_status wk_vfail(wick_status rc, const char *fmt, va_list ap)
{
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    return rc;
}

wick_status wk_fail(wick_status rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wk_vfail(rc, fmt, ap);
    va_end(ap);
    return rc;
}

wick_status wk_fail_prefix(wick_status rc, const char *fmt, ...)
{
    char prefix[ERRMSG_MAX];
    char old[ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof errmsg - 3) { n = sizeof errmsg - 3; }
    memcpy(errmsg, prefix, n);
    memcpy(errmsg + n, ": ", 2);
    size_t rest = sizeof errmsg - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(errmsg + n + 2, old, m);
    errmsg[n + 2 + m] = '\0';
    return rc;
}

wick_status wk_fail_nomem(const char *what)
{
    return wk_fail(WICK_E_NOMEM, "out of memory (%s)", what);
}

const char *wick_strerror(wick_status rc)
{
    switch (rc) {
    case WICK_OK: return "ok";
    case WICK_DONE: return "done";
    case WICK_AGAIN: return "nothing ready yet";
    case WICK_E_INVALID: return "invalid argument";
    case WICK_E_NOMEM: return "out of memory";
    case WICK_E_IO: return "input/output error";
    case WICK_E_FORMAT: return "format error";
    case WICK_E_UNSUPPORTED: return "not supported";
    case WICK_E_NOT_FOUND: return "not found";
    case WICK_E_TYPE: return "wrong type";
    case WICK_E_RANGE: return "out of range";
    case WICK_E_NETWORK: return "network error";
    case WICK_E_HTTP: return "unexpected HTTP status";
    case WICK_E_REPO_NOT_FOUND: return "repository not found";
    case WICK_E_ENTRY_NOT_FOUND: return "file not found in repository";
    case WICK_E_REVISION_NOT_FOUND: return "revision not found";
    case WICK_E_GATED: return "gated repository";
    case WICK_E_UNAUTHORIZED: return "unauthorized";
    case WICK_E_CHECKSUM: return "checksum mismatch";
    case WICK_E_CANCELLED: return "cancelled";
    case WICK_E_OFFLINE: return "not available offline";
    case WICK_E_NOSPACE: return "no space left";
    case WICK_E_BUSY: return "busy";
    case WICK_E_INTERNAL: return "internal error";
    case WICK_E_TEMPLATE: return "template error";
    case WICK_E_TIMEOUT: return "timed out";
    default: return rc < 0 ? "unknown error" : "unknown status";
    }
}

const char *wick_status_name(wick_status rc)
{
    switch (rc) {
    case WICK_OK: return "ok";
    case WICK_DONE: return "done";
    case WICK_AGAIN: return "again";
    case WICK_E_INVALID: return "invalid";
    case WICK_E_NOMEM: return "nomem";
    case WICK_E_IO: return "io";
    case WICK_E_FORMAT: return "format";
    case WICK_E_UNSUPPORTED: return "unsupported";
    case WICK_E_NOT_FOUND: return "not_found";
    case WICK_E_TYPE: return "type";
    case WICK_E_RANGE: return "range";
    case WICK_E_NETWORK: return "network";
    case WICK_E_HTTP: return "http";
    case WICK_E_REPO_NOT_FOUND: return "repo_not_found";
    case WICK_E_ENTRY_NOT_FOUND: return "entry_not_found";
    case WICK_E_REVISION_NOT_FOUND: return "revision_not_found";
    case WICK_E_GATED: return "gated";
    case WICK_E_UNAUTHORIZED: return "unauthorized";
    case WICK_E_CHECKSUM: return "checksum";
    case WICK_E_CANCELLED: return "cancelled";
    case WICK_E_OFFLINE: return "offline";
    case WICK_E_NOSPACE: return "nospace";
    case WICK_E_BUSY: return "busy";
    case WICK_E_INTERNAL: return "internal";
    case WICK_E_TEMPLATE: return "template";
    case WICK_E_TIMEOUT: return "timeout";
    default: return rc < 0 ? "error" : "status";
    }
}

#define STR(x) #x
#define VERSION_STRING(a, b, c) STR(a) "." STR(b) "." STR(c)

const char *wick_version(void)
{
    return VERSION_STRING(WICK_VERSION_MAJOR, WICK_VERSION_MINOR, WICK_VERSION_PATCH);
}
