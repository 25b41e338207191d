// util.c — small things the server's files share: a capped growable buffer, JSON text from
// untrusted bytes, random ids, a monotonic clock, and OpenAI error objects.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "server.h"

void sbuf_init(sbuf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

static bool grow(sbuf *b, size_t need)
{
    if (b->failed) { return false; }
    if (need < b->len || (b->max && need > b->max)) {
        b->failed = true;
        return false;
    }
    if (need + 1 <= b->cap) { return true; }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

bool sbuf_add(sbuf *b, const void *p, size_t n)
{
    if (!grow(b, b->len + n)) { return false; }
    if (n) { memcpy(b->p + b->len, p, n); }
    b->len += n;
    b->p[b->len] = 0;
    return true;
}

bool sbuf_str(sbuf *b, const char *s)
{
    return sbuf_add(b, s, strlen(s));
}

bool sbuf_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) { return false; }
    if ((size_t)n < sizeof tmp) { return sbuf_add(b, tmp, (size_t)n); }
    if (!grow(b, b->len + (size_t)n)) { return false; }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return sbuf_add(data, buf, size) ? 0 : -1;
}

bool sbuf_json(sbuf *b, const json_t *v)
{
    return json_dump_callback(v, dump_cb, b, JSON_COMPACT | JSON_REAL_PRECISION(9)) == 0;
}

void sbuf_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *sbuf_take(sbuf *b, size_t *len)
{
    char *p = b->p;
    if (!p) { p = calloc(1, 1); }
    *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

json_t *srv_json_text(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    if (v) { return v; } // valid UTF-8: the common case
    sbuf b;
    sbuf_init(&b, 0);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = cli_utf8_valid_len(p + i, len - i);
        if (n) {
            sbuf_add(&b, p + i, n);
            i += n;
        } else {
            sbuf_str(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    v = b.failed ? NULL : json_stringn(b.p ? b.p : "", b.len);
    sbuf_free(&b);
    return v ? v : json_string("");
}

void srv_random_id(char *out, size_t n)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char r[64];
    if (n > sizeof r) { n = sizeof r; }
    if (getrandom(r, n, 0) != (ssize_t)n) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < n; i++) {
            r[i] = (unsigned char)((uint64_t)ts.tv_nsec >> (i % 8 * 4) ^ i * 131u);
        }
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = al[r[i] % (sizeof al - 1)];
    }
    out[n] = 0;
}

double srv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void srv_error_set(srv_error *e, int status, const char *param, const char *fmt, ...)
{
    memset(e, 0, sizeof *e);
    e->status = status;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static const char *type_of(int status)
{
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 405: return "invalid_request_error";
    case 413: return "invalid_request_error";
    case 429: return "rate_limit_error";
    case 501: return "not_supported_error";
    case 502: return "upstream_error";
    case 503: return "unavailable_error";
    default: return status < 500 ? "invalid_request_error" : "server_error";
    }
}

json_t *srv_error_json(const srv_error *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "message", srv_json_text(e->message, strlen(e->message)));
    json_object_set_new(o, "type", json_string(e->type ? e->type : type_of(e->status)));
    json_object_set_new(o, "param", e->param[0] ? json_string(e->param) : json_null());
    json_object_set_new(o, "code", e->code ? json_string(e->code) : json_null());
    json_t *r = json_object();
    json_object_set_new(r, "error", o);
    return r;
}

void srv_error_from_wick(srv_error *e, wick_status code, const char *message)
{
    int status;
    const char *c = NULL;
    switch (code) {
    case WICK_E_REPO_NOT_FOUND:
    case WICK_E_ENTRY_NOT_FOUND:
    case WICK_E_REVISION_NOT_FOUND:
    case WICK_E_NOT_FOUND:
        status = 404;
        c = "model_not_found";
        break;
    case WICK_E_INVALID:
    case WICK_E_TYPE:
    case WICK_E_RANGE: // a prompt longer than the context, a token id out of range
        status = 400;
        break;
    // The Hub failed us: a bad gateway.
    case WICK_E_NETWORK:
    case WICK_E_HTTP:
    case WICK_E_CHECKSUM:
    case WICK_E_GATED:
    case WICK_E_UNAUTHORIZED:
    case WICK_E_OFFLINE:
        status = 502;
        c = "model_download_failed";
        break;
    // The model could not be loaded or run here.
    case WICK_E_FORMAT:
    case WICK_E_UNSUPPORTED:
    case WICK_E_IO:
    case WICK_E_NOMEM:
    case WICK_E_NOSPACE:
        status = 503;
        c = "model_load_failed";
        break;
    case WICK_E_BUSY:
    case WICK_E_TIMEOUT:
    case WICK_E_CANCELLED:
        status = 503;
        break;
    default: status = 500; break;
    }
    srv_error_set(e, status, NULL, "%s", message && *message ? message : wick_strerror(code));
    e->code = c;
}
