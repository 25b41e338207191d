// print.c — values to text as Python prints them: str() and repr() (True, None, 1.0, 1e-05,
// {'a': [1, 'b']}, (1,), quotes and escapes as repr chooses them), and JSON as json.dumps writes
// it (transformers' tojson: ensure_ascii=False by default, separators ', ' and ': ' or ',' with an
// indent, keys in insertion order unless sort_keys, NaN/Infinity, non-string keys converted).
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#include "chat/jinja.h"

// --- string builder ------------------------------------------------------------------------------
static int grow(jrender *r, jsb *b, size_t need)
{
    size_t total;
    if (!wk_add_size(b->n, need, &total) || total > UINT32_MAX - 1) {
        return jr_fail(r, "string longer than 4 GiB");
    }
    if (b == r->top && total > r->max_output) {
        r->over_limit = !r->have_err;
        return jr_fail(r, "output exceeds the limit of %zu bytes", r->max_output);
    }
    if (total <= b->cap) { return 0; }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < total) {
        cap *= 2;
    }
    char *p = jr_alloc(r, cap);
    if (!p) { return -1; }
    if (b->n) { memcpy(p, b->p, b->n); }
    b->p = p;
    b->cap = cap;
    return 0;
}

int jsb_put(jrender *r, jsb *b, const char *s, size_t n)
{
    if (n == 0) { return 0; }
    if (b->cap - b->n < n && grow(r, b, n) < 0) { return -1; }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

int jsb_putc(jrender *r, jsb *b, char c)
{
    return jsb_put(r, b, &c, 1);
}

int jsb_printf(jrender *r, jsb *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) { return jr_fail(r, "formatting failed"); }
    if ((size_t)n < sizeof tmp) { return jsb_put(r, b, tmp, (size_t)n); }
    if (grow(r, b, (size_t)n + 1) < 0) { return -1; }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
    return 0;
}

jv jsb_take(jsb *b)
{
    return jv_strn(b->n ? b->p : "", (uint32_t)b->n);
}

// --- numbers -------------------------------------------------------------------------------------
void jj_float_repr(double f, char *buf, size_t n)
{
    if (isnan(f)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, n, f > 0 ? "inf" : "-inf");
        return;
    }
    if (f == 0) {
        snprintf(buf, n, signbit(f) ? "-0.0" : "0.0");
        return;
    }
    // the shortest digits that read back as f
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f) { break; }
    }
    bool neg = tmp[0] == '-';
    const char *p = tmp + neg;
    char digits[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++) {
        if (*p != '.') { digits[nd++] = *p; }
    }
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    int decpt = atoi(p + 1) + 1; // f = 0.DIGITS * 10^decpt
    size_t m = 0;
    char out[64];
    if (neg) { out[m++] = '-'; }
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out[m++] = '0';
            out[m++] = '.';
            for (int i = 0; i < -decpt; i++) {
                out[m++] = '0';
            }
            memcpy(out + m, digits, (size_t)nd);
            m += (size_t)nd;
        } else if (decpt >= nd) {
            memcpy(out + m, digits, (size_t)nd);
            m += (size_t)nd;
            for (int i = nd; i < decpt; i++) {
                out[m++] = '0';
            }
            out[m++] = '.';
            out[m++] = '0';
        } else {
            memcpy(out + m, digits, (size_t)decpt);
            m += (size_t)decpt;
            out[m++] = '.';
            memcpy(out + m, digits + decpt, (size_t)(nd - decpt));
            m += (size_t)(nd - decpt);
        }
        out[m] = '\0';
    } else {
        out[m++] = digits[0];
        if (nd > 1) {
            out[m++] = '.';
            memcpy(out + m, digits + 1, (size_t)(nd - 1));
            m += (size_t)(nd - 1);
        }
        snprintf(out + m, sizeof out - m, "e%c%02d", decpt - 1 < 0 ? '-' : '+',
                 abs(decpt - 1));
    }
    snprintf(buf, n, "%s", out);
}

// --- str() and repr() ----------------------------------------------------------------------------
static bool printable(uint32_t c)
{
    if (c < 0x20 || c == 0x7f) { return false; }
    if (c < 0x7f) { return true; }
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
    }
}

static int repr_str(jrender *r, jsb *b, const char *s, size_t n)
{
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = sq && !dq ? '"' : '\'';
    if (jsb_putc(r, b, q) < 0) { return -1; }
    size_t run = 0; // start of bytes to copy as they are
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t c = jj_utf8_next(s, n, &i);
        char esc[16];
        int k = 0;
        if (c == (uint32_t)q || c == '\\') {
            k = snprintf(esc, sizeof esc, "\\%c", (char)c);
        } else if (c == '\t') {
            k = snprintf(esc, sizeof esc, "\\t");
        } else if (c == '\n') {
            k = snprintf(esc, sizeof esc, "\\n");
        } else if (c == '\r') {
            k = snprintf(esc, sizeof esc, "\\r");
        } else if (!printable(c)) {
            k = c <= 0xff     ? snprintf(esc, sizeof esc, "\\x%02x", c)
                : c <= 0xffff ? snprintf(esc, sizeof esc, "\\u%04x", c)
                              : snprintf(esc, sizeof esc, "\\U%08x", c);
        } else {
            continue;
        }
        if (jsb_put(r, b, s + run, at - run) < 0 || jsb_put(r, b, esc, (size_t)k) < 0) {
            return -1;
        }
        run = i;
    }
    if (jsb_put(r, b, s + run, n - run) < 0) { return -1; }
    return jsb_putc(r, b, q);
}

static int write_val(jrender *r, jsb *b, jv v, bool repr, int depth);

static int write_items(jrender *r, jsb *b, const jlist *l, int depth)
{
    for (uint32_t i = 0; i < l->n; i++) {
        if (i && jsb_put(r, b, ", ", 2) < 0) { return -1; }
        if (write_val(r, b, l->v[i], true, depth + 1) < 0) { return -1; }
    }
    return 0;
}

static int write_dict(jrender *r, jsb *b, const jdict *d, int depth)
{
    if (jsb_putc(r, b, '{') < 0) { return -1; }
    for (uint32_t i = 0; i < d->n; i++) {
        if (i && jsb_put(r, b, ", ", 2) < 0) { return -1; }
        if (write_val(r, b, d->key[i], true, depth + 1) < 0 || jsb_put(r, b, ": ", 2) < 0 ||
            write_val(r, b, d->val[i], true, depth + 1) < 0) {
            return -1;
        }
    }
    return jsb_putc(r, b, '}');
}

static int write_val(jrender *r, jsb *b, jv v, bool repr, int depth)
{
    if (depth > JJ_MAX_VALUE_DEPTH) {
        return jr_fail(r, "value nested too deeply to print (limit %d levels)", JJ_MAX_VALUE_DEPTH);
    }
    char num[64];
    switch (v.k) {
    case JV_UNDEF: return repr ? jsb_put(r, b, "Undefined", 9) : 0;
    case JV_ABSENT:
    case JV_NONE: return jsb_put(r, b, "None", 4);
    case JV_BOOL: return v.u.b ? jsb_put(r, b, "True", 4) : jsb_put(r, b, "False", 5);
    case JV_INT: return jsb_printf(r, b, "%lld", (long long)v.u.i);
    case JV_FLOAT: jj_float_repr(v.u.f, num, sizeof num); return jsb_put(r, b, num, strlen(num));
    case JV_STR: return repr ? repr_str(r, b, v.u.s, v.n) : jsb_put(r, b, v.u.s, v.n);
    case JV_LIST: {
        static const char *const views[] = {"", "dict_keys(", "dict_values(", "dict_items("};
        const char *view = v.sub < 4 ? views[v.sub] : "";
        if (jsb_put(r, b, view, strlen(view)) < 0 || jsb_putc(r, b, '[') < 0 ||
            write_items(r, b, v.u.l, depth) < 0 || jsb_putc(r, b, ']') < 0) {
            return -1;
        }
        return view[0] ? jsb_putc(r, b, ')') : 0;
    }
    case JV_GEN: return jsb_printf(r, b, "<%s object>", v.u.g->what);
    case JV_TUPLE:
        if (jsb_putc(r, b, '(') < 0 || write_items(r, b, v.u.l, depth) < 0) { return -1; }
        if (v.u.l->n == 1 && jsb_putc(r, b, ',') < 0) { return -1; }
        return jsb_putc(r, b, ')');
    case JV_DICT: return write_dict(r, b, v.u.d, depth);
    case JV_NS:
        if (jsb_put(r, b, "<Namespace ", 11) < 0 || write_dict(r, b, v.u.d, depth) < 0) {
            return -1;
        }
        return jsb_putc(r, b, '>');
    case JV_MACRO: return jsb_printf(r, b, "<Macro '%s'>", v.u.m->name);
    case JV_LOOP:
        return jsb_printf(r, b, "<LoopContext %u/%u>", v.u.lp->i + 1, v.u.lp->items->n);
    case JV_FUNC: return jsb_printf(r, b, "<function %s>", v.sub == JF_RANGE ? "range" : "global");
    case JV_METHOD:
        return jsb_printf(r, b, "<built-in method %s of %s object>", jj_method_name(v.sub),
                          jv_typename(v.u.self->k));
    }
    return 0;
}

int jv_write_str(jrender *r, jsb *b, jv v)
{
    return write_val(r, b, v, false, 0);
}

int jv_write_repr(jrender *r, jsb *b, jv v)
{
    return write_val(r, b, v, true, 0);
}

int jv_to_str(jrender *r, jv v, jv *out)
{
    if (v.k == JV_STR) {
        *out = v;
        return 0;
    }
    jsb b = {0};
    if (jv_write_str(r, &b, v) < 0) { return -1; }
    *out = jsb_take(&b);
    return 0;
}

// --- JSON ----------------------------------------------------------------------------------------
static int json_str(jrender *r, jsb *b, const char *s, size_t n, bool ascii)
{
    if (jsb_putc(r, b, '"') < 0) { return -1; }
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        unsigned char ch = (unsigned char)s[i];
        uint32_t c;
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            i++;
            continue;
        }
        c = jj_utf8_next(s, n, &i);
        if (c >= 0x7f && !ascii) { continue; }
        char esc[16];
        int k;
        switch (c) {
        case '"': k = snprintf(esc, sizeof esc, "\\\""); break;
        case '\\': k = snprintf(esc, sizeof esc, "\\\\"); break;
        case '\n': k = snprintf(esc, sizeof esc, "\\n"); break;
        case '\r': k = snprintf(esc, sizeof esc, "\\r"); break;
        case '\t': k = snprintf(esc, sizeof esc, "\\t"); break;
        case '\b': k = snprintf(esc, sizeof esc, "\\b"); break;
        case '\f': k = snprintf(esc, sizeof esc, "\\f"); break;
        default:
            if (c >= 0x10000) {
                uint32_t v = c - 0x10000;
                k = snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (v >> 10),
                             0xDC00 + (v & 0x3FF));
            } else {
                k = snprintf(esc, sizeof esc, "\\u%04x", c);
            }
        }
        if (jsb_put(r, b, s + run, at - run) < 0 || jsb_put(r, b, esc, (size_t)k) < 0) {
            return -1;
        }
        run = i;
    }
    if (jsb_put(r, b, s + run, n - run) < 0) { return -1; }
    return jsb_putc(r, b, '"');
}

static int json_newline(jrender *r, jsb *b, const jjson_opts *o, int level)
{
    if (jsb_putc(r, b, '\n') < 0) { return -1; }
    for (int i = 0; i < level; i++) {
        if (o->indent.k == JV_STR) {
            if (jsb_put(r, b, o->indent.u.s, o->indent.n) < 0) { return -1; }
        } else {
            for (int64_t k = 0; k < o->indent.u.i; k++) {
                if (jsb_putc(r, b, ' ') < 0) { return -1; }
            }
        }
    }
    return 0;
}

static int json_val(jrender *r, jsb *b, jv v, const jjson_opts *o, int level);

// A dict key as json.dumps converts it.
static int json_key(jrender *r, jsb *b, jv k, const jjson_opts *o)
{
    char num[64];
    switch (k.k) {
    case JV_STR: return json_str(r, b, k.u.s, k.n, o->ensure_ascii);
    case JV_BOOL: return jsb_put(r, b, k.u.b ? "\"true\"" : "\"false\"", k.u.b ? 6 : 7);
    case JV_NONE: return jsb_put(r, b, "\"null\"", 6);
    case JV_INT: return jsb_printf(r, b, "\"%lld\"", (long long)k.u.i);
    case JV_FLOAT:
        if (isnan(k.u.f)) { return jsb_put(r, b, "\"NaN\"", 5); }
        if (isinf(k.u.f)) {
            return jsb_put(r, b, k.u.f > 0 ? "\"Infinity\"" : "\"-Infinity\"", k.u.f > 0 ? 10 : 11);
        }
        jj_float_repr(k.u.f, num, sizeof num);
        return jsb_printf(r, b, "\"%s\"", num);
    default:
        return jr_fail(r, "tojson: keys must be str, int, float, bool or None, not %s",
                       jv_typename(k.k));
    }
}

static int json_sep(jrender *r, jsb *b, jv sep, const char *dflt)
{
    if (sep.k == JV_STR) { return jsb_put(r, b, sep.u.s, sep.n); }
    return jsb_put(r, b, dflt, strlen(dflt));
}

static int json_dict(jrender *r, jsb *b, const jdict *d, const jjson_opts *o, int level)
{
    if (d->n == 0) { return jsb_put(r, b, "{}", 2); }
    uint32_t *order = jr_alloc(r, (size_t)d->n * sizeof *order);
    if (!order) { return -1; }
    for (uint32_t i = 0; i < d->n; i++) {
        order[i] = i;
    }
    if (o->sort_keys) { // insertion sort is enough for the sizes of chat contexts
        for (uint32_t i = 1; i < d->n; i++) {
            uint32_t x = order[i], j = i;
            while (j > 0) {
                int c;
                if (jv_cmp(r, d->key[order[j - 1]], d->key[x], "<", &c) < 0) { return -1; }
                if (c <= 0) { break; }
                order[j] = order[j - 1];
                j--;
            }
            order[j] = x;
        }
    }
    if (jsb_putc(r, b, '{') < 0) { return -1; }
    if (o->have_indent && json_newline(r, b, o, level + 1) < 0) { return -1; }
    for (uint32_t i = 0; i < d->n; i++) {
        if (i) {
            if (json_sep(r, b, o->item_sep, o->have_indent ? "," : ", ") < 0) { return -1; }
            if (o->have_indent && json_newline(r, b, o, level + 1) < 0) { return -1; }
        }
        if (json_key(r, b, d->key[order[i]], o) < 0 || json_sep(r, b, o->key_sep, ": ") < 0 ||
            json_val(r, b, d->val[order[i]], o, level + 1) < 0) {
            return -1;
        }
    }
    if (o->have_indent && json_newline(r, b, o, level) < 0) { return -1; }
    return jsb_putc(r, b, '}');
}

static int json_val(jrender *r, jsb *b, jv v, const jjson_opts *o, int level)
{
    if (level > JJ_MAX_VALUE_DEPTH) {
        return jr_fail(r, "tojson: value nested too deeply (limit %d levels)", JJ_MAX_VALUE_DEPTH);
    }
    char num[64];
    switch (v.k) {
    case JV_NONE: return jsb_put(r, b, "null", 4);
    case JV_BOOL: return v.u.b ? jsb_put(r, b, "true", 4) : jsb_put(r, b, "false", 5);
    case JV_INT: return jsb_printf(r, b, "%lld", (long long)v.u.i);
    case JV_FLOAT:
        if (isnan(v.u.f)) { return jsb_put(r, b, "NaN", 3); }
        if (isinf(v.u.f)) {
            return v.u.f > 0 ? jsb_put(r, b, "Infinity", 8) : jsb_put(r, b, "-Infinity", 9);
        }
        jj_float_repr(v.u.f, num, sizeof num);
        return jsb_put(r, b, num, strlen(num));
    case JV_STR: return json_str(r, b, v.u.s, v.n, o->ensure_ascii);
    case JV_LIST:
    case JV_TUPLE: {
        const jlist *l = v.u.l;
        if (l->n == 0) { return jsb_put(r, b, "[]", 2); }
        if (jsb_putc(r, b, '[') < 0) { return -1; }
        if (o->have_indent && json_newline(r, b, o, level + 1) < 0) { return -1; }
        for (uint32_t i = 0; i < l->n; i++) {
            if (i) {
                if (json_sep(r, b, o->item_sep, o->have_indent ? "," : ", ") < 0) { return -1; }
                if (o->have_indent && json_newline(r, b, o, level + 1) < 0) { return -1; }
            }
            if (json_val(r, b, l->v[i], o, level + 1) < 0) { return -1; }
        }
        if (o->have_indent && json_newline(r, b, o, level) < 0) { return -1; }
        return jsb_putc(r, b, ']');
    }
    case JV_DICT: return json_dict(r, b, v.u.d, o, level);
    default:
        return jr_fail(r, "tojson: Object of type %s is not JSON serializable", jv_typename(v.k));
    }
}

int jv_write_json(jrender *r, jsb *b, jv v, const jjson_opts *o)
{
    return json_val(r, b, v, o, 0);
}
