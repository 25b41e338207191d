// json.c — the render context: JSON text parsed straight into render values in the render's
// arena. Strings without escapes are used in place (zero copy); objects keep their key order and,
// for a repeated key, the last value at the first key's place (as Python's json.loads). Strict
// RFC 8259: UTF-8 checked, \u escapes with surrogate pairs (a lone surrogate is an error: it has no
// UTF-8 form), integers within 64 bits (Python's are unbounded: a larger one is an error here),
// nesting at most JJ_MAX_VALUE_DEPTH deep. Done here rather than through jansson because jansson's
// parse of a 100-message context took longer than the render itself (bench_template).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

typedef struct jsonp {
    jrender *r;
    const char *s;
    size_t n, i;
    int depth;
    const char *err; // set on failure
    size_t err_at;
} jsonp;

static int fail(jsonp *p, const char *what)
{
    if (!p->err) {
        p->err = what;
        p->err_at = p->i;
    }
    return -1;
}

static void ws(jsonp *p)
{
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') { break; }
        p->i++;
    }
}

static int hex4(jsonp *p, size_t at, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t k = at; k < at + 4; k++) {
        char c = k < p->n ? p->s[k] : 0;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) {
            p->i = k;
            return fail(p, "bad \\u escape");
        }
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return 0;
}

// Length of the valid UTF-8 sequence at i (i < n, first byte >= 0x80), 0 if invalid.
static size_t utf8_len(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || i + len > n) { return 0; }
    uint32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[i + k] & 0xC0) != 0x80) { return 0; }
        cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { return 0; }
    return len;
}

static int string(jsonp *p, jv *out)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t start = ++p->i, i = start;
    bool escapes = false;
    for (;;) { // find the end, checking UTF-8 and control characters
        if (i >= p->n) {
            p->i = i;
            return fail(p, "unterminated string");
        }
        unsigned char c = s[i];
        if (c == '"') { break; }
        if (c < 0x20) {
            p->i = i;
            return fail(p, "control character in a string");
        }
        if (c == '\\') {
            escapes = true;
            i += 2;
        } else if (c < 0x80) {
            i++;
        } else {
            size_t l = utf8_len(s, p->n, i);
            if (!l) {
                p->i = i;
                return fail(p, "invalid UTF-8");
            }
            i += l;
        }
    }
    size_t end = i;
    if (end - start > UINT32_MAX - 1) { return fail(p, "string too long"); }
    p->i = end + 1;
    if (!escapes) {
        *out = jv_strn(p->s + start, (uint32_t)(end - start));
        return 0;
    }
    char *o = jr_alloc(p->r, end - start);
    if (!o) { return -1; }
    size_t m = 0;
    for (size_t k = start; k < end;) {
        if (s[k] != '\\') {
            o[m++] = (char)s[k++];
            continue;
        }
        char e = (char)s[k + 1];
        size_t esc = k;
        k += 2;
        switch (e) {
        case '"': o[m++] = '"'; break;
        case '\\': o[m++] = '\\'; break;
        case '/': o[m++] = '/'; break;
        case 'b': o[m++] = '\b'; break;
        case 'f': o[m++] = '\f'; break;
        case 'n': o[m++] = '\n'; break;
        case 'r': o[m++] = '\r'; break;
        case 't': o[m++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(p, k, &cp) < 0) { return -1; }
            k += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && k + 6 <= end && s[k] == '\\' && s[k + 1] == 'u') {
                if (hex4(p, k + 2, &lo) < 0) { return -1; }
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    k += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                p->i = esc;
                return fail(p, "lone surrogate in a \\u escape (it has no UTF-8 form)");
            }
            m += jj_utf8_put(cp, o + m);
            break;
        }
        default:
            p->i = esc;
            return fail(p, "bad escape in a string");
        }
    }
    *out = jv_strn(o, (uint32_t)m);
    return 0;
}

static int number(jsonp *p, jv *out)
{
    const char *s = p->s;
    size_t i = p->i, start = i;
    if (i < p->n && s[i] == '-') { i++; }
    if (i >= p->n || s[i] < '0' || s[i] > '9') { return fail(p, "bad number"); }
    if (s[i] == '0') {
        i++;
    } else {
        while (i < p->n && s[i] >= '0' && s[i] <= '9') { i++; }
    }
    bool real = false;
    if (i < p->n && s[i] == '.') {
        real = true;
        i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9') {
            p->i = i;
            return fail(p, "bad number");
        }
        while (i < p->n && s[i] >= '0' && s[i] <= '9') { i++; }
    }
    if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
        real = true;
        i++;
        if (i < p->n && (s[i] == '+' || s[i] == '-')) { i++; }
        if (i >= p->n || s[i] < '0' || s[i] > '9') {
            p->i = i;
            return fail(p, "bad number");
        }
        while (i < p->n && s[i] >= '0' && s[i] <= '9') { i++; }
    }
    size_t len = i - start;
    char buf[64];
    char *t = len < sizeof buf ? buf : jr_alloc(p->r, len + 1);
    if (!t) { return -1; }
    memcpy(t, s + start, len);
    t[len] = '\0';
    if (real) {
        *out = jv_float(strtod(t, NULL));
    } else {
        int64_t v = 0;
        bool neg = t[0] == '-';
        for (const char *q = t + neg; *q; q++) {
            int d = *q - '0';
            if (v > (INT64_MAX - d) / 10) {
                return fail(p, "integer out of range (wick's integers are 64-bit)");
            }
            v = v * 10 + d;
        }
        *out = jv_int(neg ? -v : v);
    }
    p->i = i;
    return 0;
}

static bool word(jsonp *p, const char *w)
{
    size_t l = strlen(w);
    if (p->n - p->i < l || memcmp(p->s + p->i, w, l) != 0) { return false; }
    p->i += l;
    return true;
}

static int value(jsonp *p, jv *out);

static int object(jsonp *p, jv *out)
{
    jdict *d = jd_new(p->r, 4);
    if (!d) { return -1; }
    p->i++;
    ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        *out = jv_dict(d);
        return 0;
    }
    for (;;) {
        jv k, v;
        ws(p);
        if (p->i >= p->n || p->s[p->i] != '"') { return fail(p, "expected a string key"); }
        if (string(p, &k) < 0) { return -1; }
        ws(p);
        if (p->i >= p->n || p->s[p->i] != ':') { return fail(p, "expected ':'"); }
        p->i++;
        if (value(p, &v) < 0 || jd_set(p->r, d, k, v) < 0) { return -1; }
        ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            *out = jv_dict(d);
            return 0;
        }
        return fail(p, "expected ',' or '}'");
    }
}

static int array(jsonp *p, jv *out)
{
    jlist *l = jl_new(p->r, 4);
    if (!l) { return -1; }
    p->i++;
    ws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        *out = jv_list(l);
        return 0;
    }
    for (;;) {
        jv v;
        if (value(p, &v) < 0 || jl_push(p->r, l, v) < 0) { return -1; }
        ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == ']') {
            p->i++;
            *out = jv_list(l);
            return 0;
        }
        return fail(p, "expected ',' or ']'");
    }
}

static int value(jsonp *p, jv *out)
{
    ws(p);
    if (p->i >= p->n) { return fail(p, "unexpected end of input"); }
    switch (p->s[p->i]) {
    case '{':
    case '[': {
        if (++p->depth > JJ_MAX_VALUE_DEPTH) { return fail(p, "nested too deeply"); }
        int rc = p->s[p->i] == '{' ? object(p, out) : array(p, out);
        p->depth--;
        return rc;
    }
    case '"': return string(p, out);
    case 't':
        if (word(p, "true")) {
            *out = jv_bool(true);
            return 0;
        }
        break;
    case 'f':
        if (word(p, "false")) {
            *out = jv_bool(false);
            return 0;
        }
        break;
    case 'n':
        if (word(p, "null")) {
            *out = jv_none();
            return 0;
        }
        break;
    default:
        if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9')) {
            return number(p, out);
        }
    }
    return fail(p, "unexpected character");
}

int jj_json_context(jrender *r, const char *s, size_t n, jv *out, char *msg, size_t msg_n)
{
    jsonp p = {.r = r, .s = s, .n = n};
    msg[0] = '\0';
    ws(&p);
    int rc;
    if (p.i < n && s[p.i] != '{') {
        rc = fail(&p, "expected a JSON object");
    } else {
        rc = value(&p, out);
        ws(&p);
        if (rc == 0 && p.i < n) { rc = fail(&p, "extra data after the JSON object"); }
    }
    if (rc < 0 && p.err) {
        int line, col;
        jj_linecol(s, n, (uint32_t)(p.err_at < n ? p.err_at : n), &line, &col);
        snprintf(msg, msg_n, "line %d column %d: %s", line, col, p.err);
    }
    return rc;
}
