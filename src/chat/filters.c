// filters.c — jinja2's filters, as jinja2 3.1 defines them, with transformers' tojson
// (json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)). Filters that
// return generators in jinja2 (map, select, reject, selectattr, rejectattr, unique, items,
// reverse, batch, slice) return generators here too: truthy even when empty, no length, consumed
// by iteration. Names jinja2 knows but wick does not implement parse, and fail when called.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "chat/jinja.h"

#define FILTER(name) static int f_##name(jrender *r, jv v, const jargs *a, jv *out)
#define BIND(what, ...)                                                                            \
    static const char *const names_[] = {__VA_ARGS__};                                             \
    jv arg[WK_ARRAY_LEN(names_)];                                                                  \
    if (jr_bind(r, what, a, names_, (int)WK_ARRAY_LEN(names_), arg) < 0) { return -1; }
#define NOARGS(what)                                                                               \
    if (jr_bind(r, what, a, NULL, 0, NULL) < 0) { return -1; }

static int need_str(jrender *r, jv *v)
{
    if (v->k == JV_UNDEF) {
        *v = jv_strn("", 0);
        return 0;
    }
    return jv_to_str(r, *v, v);
}

static int need_int(jrender *r, const char *what, jv v, int64_t *out)
{
    if (v.k == JV_INT || v.k == JV_BOOL) {
        *out = v.k == JV_INT ? v.u.i : v.u.b;
        return 0;
    }
    return jr_fail(r, "%s: expected an integer, got %s", what, jv_typename(v.k));
}

// --- strings -------------------------------------------------------------------------------------
FILTER(trim)
{
    BIND("filter 'trim'", "chars");
    if (need_str(r, &v) < 0 ||
        jj_strip(r, v, arg[0].k == JV_STR ? arg[0] : jv_none(), true, true, out) < 0) {
        return -1;
    }
    out->sub = v.sub;
    return 0;
}

static int casefilter(jrender *r, jv v, const jargs *a, jv *out, const char *what, int how)
{
    NOARGS(what);
    if (need_str(r, &v) < 0 || jj_case(r, v, how, out) < 0) { return -1; }
    out->sub = v.sub; // Markup stays Markup (soft_str)
    return 0;
}
FILTER(upper) { return casefilter(r, v, a, out, "filter 'upper'", 'u'); }
FILTER(lower) { return casefilter(r, v, a, out, "filter 'lower'", 'l'); }
FILTER(title) { return casefilter(r, v, a, out, "filter 'title'", 'w'); }
FILTER(capitalize) { return casefilter(r, v, a, out, "filter 'capitalize'", 'c'); }

FILTER(replace)
{
    BIND("filter 'replace'", "old", "new", "count");
    if (!jv_given(arg[0]) || !jv_given(arg[1])) {
        return jr_fail(r, "filter 'replace': needs the old and new strings");
    }
    int64_t count = -1;
    if (jv_given(arg[2]) && arg[2].k != JV_NONE &&
        need_int(r, "filter 'replace' count", arg[2], &count) < 0) {
        return -1;
    }
    if (need_str(r, &v) < 0 || jv_to_str(r, arg[0], &arg[0]) < 0 ||
        jv_to_str(r, arg[1], &arg[1]) < 0) {
        return -1;
    }
    return jj_replace(r, v, arg[0], arg[1], count, out);
}

FILTER(string)
{
    NOARGS("filter 'string'");
    return jv_to_str(r, v, out); // soft_str: Markup stays Markup
}

FILTER(safe)
{
    NOARGS("filter 'safe'");
    if (jv_to_str(r, v, out) < 0) { return -1; }
    out->sub = JS_MARKUP;
    return 0;
}

// markupsafe's escape(): Markup stays as it is; anything else becomes its str() with & < > " '
// replaced, as Markup.
int jj_escape(jrender *r, jv v, jv *out)
{
    if (v.k == JV_STR && v.sub == JS_MARKUP) {
        *out = v;
        return 0;
    }
    if (jv_to_str(r, v, &v) < 0) { return -1; }
    jsb b = {0};
    size_t run = 0;
    for (size_t i = 0; i < v.n; i++) {
        const char *e = NULL;
        switch (v.u.s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&#34;"; break;
        case '\'': e = "&#39;"; break;
        default: continue;
        }
        if (jsb_put(r, &b, v.u.s + run, i - run) < 0 || jsb_put(r, &b, e, strlen(e)) < 0) {
            return -1;
        }
        run = i + 1;
    }
    if (run == 0) {
        *out = v;
    } else {
        if (jsb_put(r, &b, v.u.s + run, v.n - run) < 0) { return -1; }
        *out = jsb_take(&b);
    }
    out->sub = JS_MARKUP;
    return 0;
}

FILTER(escape)
{
    NOARGS("filter 'escape'");
    return jj_escape(r, v, out);
}

FILTER(indent)
{
    BIND("filter 'indent'", "width", "first", "blank");
    jv ind;
    if (arg[0].k == JV_STR) {
        ind = arg[0];
    } else {
        int64_t w = 4;
        if (jv_given(arg[0]) && need_int(r, "filter 'indent' width", arg[0], &w) < 0) { return -1; }
        jsb sp = {0};
        for (int64_t i = 0; i < w; i++) {
            if (jsb_putc(r, &sp, ' ') < 0) { return -1; }
        }
        ind = jsb_take(&sp);
    }
    bool first = jv_truthy(arg[1]), blank = jv_truthy(arg[2]);
    if (need_str(r, &v) < 0) { return -1; }
    // s + "\n", split into lines (Python's splitlines), rejoined with indents
    jsb s = {0};
    if (jsb_put(r, &s, v.u.s, v.n) < 0 || jsb_putc(r, &s, '\n') < 0) { return -1; }
    jv lines;
    if (jj_splitlines(r, jsb_take(&s), false, &lines) < 0) { return -1; }
    jlist *l = lines.u.l;
    jsb b = {0};
    if (first && jsb_put(r, &b, ind.u.s, ind.n) < 0) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        jv line = l->v[i];
        if (i) {
            if (jsb_putc(r, &b, '\n') < 0) { return -1; }
            if ((blank || line.n) && jsb_put(r, &b, ind.u.s, ind.n) < 0) { return -1; }
        }
        if (jsb_put(r, &b, line.u.s, line.n) < 0) { return -1; }
    }
    *out = jsb_take(&b);
    return 0;
}

FILTER(center)
{
    BIND("filter 'center'", "width");
    int64_t w = 80;
    if (jv_given(arg[0]) && need_int(r, "filter 'center' width", arg[0], &w) < 0) { return -1; }
    if (need_str(r, &v) < 0) { return -1; }
    int64_t len = (int64_t)jj_utf8_count(v.u.s, v.n), pad = w - len;
    if (pad <= 0) {
        *out = v;
        return 0;
    }
    // Python's str.center: the extra space goes left when the padding and width are odd
    int64_t left = pad / 2 + (pad & w & 1);
    jsb b = {0};
    for (int64_t i = 0; i < pad; i++) {
        if (i == left && jsb_put(r, &b, v.u.s, v.n) < 0) { return -1; }
        if (jsb_putc(r, &b, ' ') < 0) { return -1; }
    }
    if (left == pad && jsb_put(r, &b, v.u.s, v.n) < 0) { return -1; }
    *out = jsb_take(&b);
    return 0;
}

FILTER(wordcount)
{
    NOARGS("filter 'wordcount'");
    if (need_str(r, &v) < 0) { return -1; }
    int64_t n = 0;
    bool in_word = false;
    for (size_t i = 0; i < v.n;) {
        uint32_t c = jj_utf8_next(v.u.s, v.n, &i);
        utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
        bool w = c == '_' || (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
                 (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO) ||
                 k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC;
        if (w && !in_word) { n++; }
        in_word = w;
    }
    *out = jv_int(n);
    return 0;
}

FILTER(truncate)
{
    BIND("filter 'truncate'", "length", "killwords", "end", "leeway");
    int64_t length = 255, leeway = 5;
    if (jv_given(arg[0]) && need_int(r, "filter 'truncate' length", arg[0], &length) < 0) {
        return -1;
    }
    if (jv_given(arg[3]) && arg[3].k != JV_NONE &&
        need_int(r, "filter 'truncate' leeway", arg[3], &leeway) < 0) {
        return -1;
    }
    jv end = jv_given(arg[2]) ? arg[2] : jv_strn("...", 3);
    if (need_str(r, &v) < 0 || jv_to_str(r, end, &end) < 0) { return -1; }
    int64_t len = (int64_t)jj_utf8_count(v.u.s, v.n), elen = (int64_t)jj_utf8_count(end.u.s, end.n);
    if (length < elen) {
        return jr_fail(r, "filter 'truncate': expected length >= %lld", (long long)elen);
    }
    if (len <= length + leeway) {
        *out = v;
        return 0;
    }
    jv head;
    if (jv_slice(r, v, jv_none(), jv_int(length - elen), jv_none(), &head) < 0) { return -1; }
    if (!jv_truthy(arg[1])) { // cut at the last space
        for (uint32_t i = head.n; i-- > 0;) {
            if (head.u.s[i] == ' ') {
                head.n = i;
                break;
            }
        }
    }
    jsb b = {0};
    if (jsb_put(r, &b, head.u.s, head.n) < 0 || jsb_put(r, &b, end.u.s, end.n) < 0) { return -1; }
    *out = jsb_take(&b);
    return 0;
}

FILTER(format)
{
    if (need_str(r, &v) < 0) { return -1; }
    if (a->n_pos && a->n_kw) {
        return jr_fail(
            r, "filter 'format': can't handle positional and keyword arguments at the same time");
    }
    jv args;
    if (a->n_kw) {
        jdict *d = jd_new(r, a->n_kw);
        if (!d) { return -1; }
        for (uint32_t i = 0; i < a->n_kw; i++) {
            const char *k = jr_symname(r, a->kw_sym[i]);
            if (jd_set(r, d, jv_strn(k, (uint32_t)strlen(k)), a->kw_val[i]) < 0) { return -1; }
        }
        args = jv_dict(d);
    } else {
        jlist *l = jl_new(r, a->n_pos);
        if (!l) { return -1; }
        if (a->n_pos) { memcpy(l->v, a->pos, a->n_pos * sizeof(jv)); }
        l->n = a->n_pos;
        args = jv_tuple(l);
    }
    return jj_percent_format(r, v, args, out);
}

// --- JSON ----------------------------------------------------------------------------------------
FILTER(tojson)
{
    BIND("filter 'tojson'", "ensure_ascii", "indent", "separators", "sort_keys");
    jjson_opts o = {.ensure_ascii = jv_truthy(arg[0]), .sort_keys = jv_truthy(arg[3]),
                    .item_sep = jv_none(), .key_sep = jv_none()};
    if (jv_given(arg[1]) && arg[1].k != JV_NONE) {
        if (arg[1].k != JV_INT && arg[1].k != JV_STR && arg[1].k != JV_BOOL) {
            return jr_fail(r, "filter 'tojson': indent must be an integer or a string");
        }
        o.have_indent = true;
        o.indent = arg[1].k == JV_BOOL ? jv_int(arg[1].u.b) : arg[1];
    }
    if (jv_given(arg[2]) && arg[2].k != JV_NONE) {
        jv s = arg[2];
        if (!jv_is_seq(s) || s.u.l->n != 2 || s.u.l->v[0].k != JV_STR || s.u.l->v[1].k != JV_STR) {
            return jr_fail(r, "filter 'tojson': separators must be a pair of strings");
        }
        o.item_sep = s.u.l->v[0];
        o.key_sep = s.u.l->v[1];
    }
    jsb b = {0};
    if (jv_write_json(r, &b, v, &o) < 0) { return -1; }
    *out = jsb_take(&b);
    return 0;
}

// --- numbers -------------------------------------------------------------------------------------
// Python's int(s, base) for a string; false when it does not parse.
static bool parse_int(jv s, int64_t base, int64_t *out)
{
    char buf[128];
    size_t m = 0;
    for (size_t i = 0; i < s.n && m + 1 < sizeof buf; i++) {
        if (s.u.s[i] != '_') { buf[m++] = s.u.s[i]; }
    }
    buf[m] = '\0';
    if (m == 0 || s.n >= sizeof buf) { return false; }
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, (int)base);
    while (*end == ' ' || (*end >= '\t' && *end <= '\r')) {
        end++;
    }
    if (*end || end == buf || errno) { return false; }
    *out = v;
    return true;
}

static bool parse_float(jv s, double *out)
{
    char buf[128];
    size_t m = 0;
    for (size_t i = 0; i < s.n && m + 1 < sizeof buf; i++) {
        if (s.u.s[i] != '_') { buf[m++] = s.u.s[i]; }
    }
    buf[m] = '\0';
    if (m == 0 || s.n >= sizeof buf) { return false; }
    char *end;
    double v = strtod(buf, &end);
    while (*end == ' ' || (*end >= '\t' && *end <= '\r')) {
        end++;
    }
    if (*end || end == buf) { return false; }
    // strtod accepts hex floats and "infinity"/"nan(...)"; Python's float() too except hex
    if (strpbrk(buf, "xX")) { return false; }
    *out = v;
    return true;
}

FILTER(int)
{
    BIND("filter 'int'", "default", "base");
    jv dflt = jv_given(arg[0]) ? arg[0] : jv_int(0);
    int64_t base = 10;
    if (jv_given(arg[1]) && need_int(r, "filter 'int' base", arg[1], &base) < 0) { return -1; }
    int64_t i;
    double f;
    if (v.k == JV_INT || v.k == JV_BOOL) {
        *out = jv_int(v.k == JV_INT ? v.u.i : v.u.b);
    } else if (v.k == JV_FLOAT && isfinite(v.u.f) && fabs(v.u.f) < 9.2e18) {
        *out = jv_int((int64_t)v.u.f);
    } else if (v.k == JV_STR && base >= 2 && base <= 36 && parse_int(v, base, &i)) {
        *out = jv_int(i);
    } else if (v.k == JV_STR && parse_float(v, &f) && isfinite(f) && fabs(f) < 9.2e18) {
        *out = jv_int((int64_t)f);
    } else {
        *out = dflt;
    }
    return 0;
}

FILTER(float)
{
    BIND("filter 'float'", "default");
    double f;
    if (jv_is_num(v)) {
        *out = jv_float(v.k == JV_FLOAT ? v.u.f : v.k == JV_INT ? (double)v.u.i : v.u.b);
    } else if (v.k == JV_STR && parse_float(v, &f)) {
        *out = jv_float(f);
    } else {
        *out = jv_given(arg[0]) ? arg[0] : jv_float(0.0);
    }
    return 0;
}

FILTER(abs)
{
    NOARGS("filter 'abs'");
    if (v.k == JV_INT || v.k == JV_BOOL) {
        int64_t i = v.k == JV_INT ? v.u.i : v.u.b;
        if (i == INT64_MIN) { return jr_fail(r, "integer overflow"); }
        *out = jv_int(i < 0 ? -i : i);
        return 0;
    }
    if (v.k == JV_FLOAT) {
        *out = jv_float(fabs(v.u.f));
        return 0;
    }
    return jr_fail(r, "bad operand type for abs(): '%s'", jv_typename(v.k));
}

FILTER(round)
{
    BIND("filter 'round'", "precision", "method");
    int64_t prec = 0;
    if (jv_given(arg[0]) && need_int(r, "filter 'round' precision", arg[0], &prec) < 0) {
        return -1;
    }
    jv m = jv_given(arg[1]) ? arg[1] : jv_strn("common", 6);
    bool common = m.k == JV_STR && m.n == 6 && memcmp(m.u.s, "common", 6) == 0;
    bool ceil_ = m.k == JV_STR && m.n == 4 && memcmp(m.u.s, "ceil", 4) == 0;
    bool floor_ = m.k == JV_STR && m.n == 5 && memcmp(m.u.s, "floor", 5) == 0;
    if (!common && !ceil_ && !floor_) {
        return jr_fail(r, "filter 'round': method must be 'common', 'ceil' or 'floor'");
    }
    if (!jv_is_num(v)) {
        return jr_fail(r, "filter 'round': expected a number, got %s", jv_typename(v.k));
    }
    if (prec > 300) { prec = 300; }
    if (prec < -300) { prec = -300; }
    double p10 = pow(10.0, (double)(prec < 0 ? -prec : prec));
    if (common && v.k != JV_FLOAT) { // round(int, n) stays an int
        int64_t i = v.k == JV_INT ? v.u.i : v.u.b;
        if (prec >= 0 || p10 > 9.2e18) {
            *out = jv_int(prec >= 0 ? i : 0);
            return 0;
        }
        int64_t q = (int64_t)p10, d = i / q, rem = i % q;
        if (rem < 0) { rem += q; d--; }
        if (rem * 2 > q || (rem * 2 == q && (d & 1))) { d++; }
        *out = jv_int(d * q);
        return 0;
    }
    double x = v.k == JV_FLOAT ? v.u.f : v.k == JV_INT ? (double)v.u.i : v.u.b;
    if (common) {
        if (!isfinite(x) || prec == 0) {
            *out = jv_float(isfinite(x) ? nearbyint(x) : x);
        } else if (prec > 0) {
            char buf[400];
            snprintf(buf, sizeof buf, "%.*f", (int)prec, x);
            *out = jv_float(strtod(buf, NULL));
        } else {
            *out = jv_float(nearbyint(x / p10) * p10);
        }
        return 0;
    }
    double y = prec >= 0 ? x * p10 : x / p10;
    y = ceil_ ? ceil(y) : floor(y);
    *out = jv_float(prec >= 0 ? y / p10 : y * p10);
    return 0;
}

// --- sequences -----------------------------------------------------------------------------------
FILTER(length)
{
    NOARGS("filter 'length'");
    int64_t n;
    if (jv_len(r, v, &n) < 0) { return -1; }
    *out = jv_int(n);
    return 0;
}

FILTER(list)
{
    NOARGS("filter 'list'");
    jlist *l;
    if (jv_iter(r, v, &l) < 0) { return -1; }
    jlist *c = jl_new(r, l->n);
    if (!c) { return -1; }
    if (l->n) { memcpy(c->v, l->v, l->n * sizeof(jv)); }
    c->n = l->n;
    *out = jv_list(c);
    return 0;
}

FILTER(first)
{
    NOARGS("filter 'first'");
    static const char empty[] = "No first item, sequence was empty.";
    if (v.k == JV_GEN) {
        jgen *g = v.u.g;
        *out = g->pos < g->items->n ? g->items->v[g->pos++]
                                    : (jv){.k = JV_UNDEF, .sub = JU_HINT, .u.s = empty};
        return 0;
    }
    jlist *l;
    if (jv_iter(r, v, &l) < 0) { return -1; }
    *out = l->n ? l->v[0] : (jv){.k = JV_UNDEF, .sub = JU_HINT, .u.s = empty};
    return 0;
}

FILTER(last)
{
    NOARGS("filter 'last'");
    if (v.k == JV_GEN || v.k == JV_UNDEF) {
        return jr_fail(r, "'%s' object is not reversible", jv_typename(v.k));
    }
    jlist *l;
    if (jv_iter(r, v, &l) < 0) { return -1; }
    static const char empty[] = "No last item, sequence was empty.";
    *out = l->n ? l->v[l->n - 1] : (jv){.k = JV_UNDEF, .sub = JU_HINT, .u.s = empty};
    return 0;
}

FILTER(join)
{
    BIND("filter 'join'", "d", "attribute");
    jv d = jv_given(arg[0]) ? arg[0] : jv_strn("", 0);
    if (jv_to_str(r, d, &d) < 0) { return -1; }
    jlist *l;
    if (jv_iter(r, v, &l) < 0) { return -1; }
    jsb b = {0};
    for (uint32_t i = 0; i < l->n; i++) {
        jv x = l->v[i];
        if (jv_given(arg[1]) && arg[1].k != JV_NONE && jv_attrpath(r, x, arg[1], &x) < 0) {
            return -1;
        }
        if ((i && jsb_put(r, &b, d.u.s, d.n) < 0) || jv_write_str(r, &b, x) < 0) { return -1; }
    }
    *out = jsb_take(&b);
    return 0;
}

FILTER(reverse)
{
    NOARGS("filter 'reverse'");
    if (v.k == JV_STR) { return jv_slice(r, v, jv_none(), jv_none(), jv_int(-1), out); }
    jlist *l;
    if (jv_iter(r, v, &l) < 0) { return -1; }
    jlist *c = jl_new(r, l->n);
    if (!c) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        c->v[i] = l->v[l->n - 1 - i];
    }
    c->n = l->n;
    if (v.k == JV_LIST || v.k == JV_TUPLE || v.k == JV_DICT) {
        return jv_gen(r, c, v.k == JV_DICT ? "dict_reversekeyiterator"
                            : v.k == JV_LIST ? "list_reverseiterator" : "reversed", out);
    }
    *out = jv_list(c); // list(value) reversed
    return 0;
}

FILTER(items)
{
    NOARGS("filter 'items'");
    if (v.k == JV_UNDEF) { return jv_gen(r, jl_new(r, 0), "generator", out); }
    if (v.k != JV_DICT) { return jr_fail(r, "Can only get item pairs from a mapping."); }
    jlist *l = jl_new(r, v.u.d->n);
    if (!l) { return -1; }
    for (uint32_t i = 0; i < v.u.d->n; i++) {
        jlist *t = jl_new(r, 2);
        if (!t) { return -1; }
        t->v[0] = v.u.d->key[i];
        t->v[1] = v.u.d->val[i];
        t->n = 2;
        l->v[l->n++] = jv_tuple(t);
    }
    return jv_gen(r, l, "generator", out);
}

FILTER(batch)
{
    BIND("filter 'batch'", "linecount", "fill_with");
    int64_t n = 0;
    if (need_int(r, "filter 'batch' linecount", arg[0], &n) < 0) { return -1; }
    if (n <= 0) { return jr_fail(r, "filter 'batch': linecount must be positive"); }
    jlist *l, *res = jl_new(r, 4), *cur = NULL;
    if (!res || jv_iter(r, v, &l) < 0) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        if (!cur || cur->n == n) {
            if (!(cur = jl_new(r, 4)) || jl_push(r, res, jv_list(cur)) < 0) { return -1; }
        }
        if (jl_push(r, cur, l->v[i]) < 0) { return -1; }
    }
    if (cur && jv_given(arg[1]) && arg[1].k != JV_NONE) {
        while (cur->n < n) {
            if (jl_push(r, cur, arg[1]) < 0) { return -1; }
        }
    }
    return jv_gen(r, res, "generator", out);
}

// Applies filter/test name args to x (map, select): a[0] is the name.
static int by_name(jrender *r, bool test, const jargs *a, uint32_t first, jv x, jv *out)
{
    jv name = a->pos[first];
    if (name.k != JV_STR) { return jr_fail(r, "expected a %s name", test ? "test" : "filter"); }
    int id = test ? jj_test_id(name.u.s, name.n) : jj_filter_id(name.u.s, name.n);
    if (id < 0) {
        return jr_fail(r, "no %s named '%.*s'", test ? "test" : "filter", (int)name.n, name.u.s);
    }
    jargs rest = {a->pos + first + 1, a->n_pos - first - 1, a->kw_sym, a->kw_val, a->n_kw};
    if (!test) { return jr_filter(r, id, x, &rest, out); }
    bool ok;
    if (jr_test(r, id, x, &rest, &ok) < 0) { return -1; }
    *out = jv_bool(ok);
    return 0;
}

static int kwarg(jrender *r, const jargs *a, const char *name, jv *out)
{
    for (uint32_t i = 0; i < a->n_kw; i++) {
        if (strcmp(jr_symname(r, a->kw_sym[i]), name) == 0) {
            *out = a->kw_val[i];
            return 1;
        }
    }
    return 0;
}

FILTER(map)
{
    jlist *res = jl_new(r, 0), *l;
    if (!res) { return -1; }
    if (!jv_truthy(v)) { return jv_gen(r, res, "generator", out); }
    jv attr = jv_absent(), dflt = jv_none();
    bool by_attr = a->n_pos == 0 && kwarg(r, a, "attribute", &attr);
    if (by_attr) {
        kwarg(r, a, "default", &dflt);
        for (uint32_t i = 0; i < a->n_kw; i++) {
            const char *k = jr_symname(r, a->kw_sym[i]);
            if (strcmp(k, "attribute") && strcmp(k, "default")) {
                return jr_fail(r, "filter 'map': unexpected keyword argument '%s'", k);
            }
        }
    } else if (a->n_pos == 0) {
        return jr_fail(r, "filter 'map': map requires a filter argument");
    }
    if (jv_iter(r, v, &l) < 0 || !(res = jl_new(r, l->n))) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        jv x = l->v[i];
        if (by_attr) {
            if (jv_attrpath(r, x, attr, &x) < 0) { return -1; }
            if (x.k == JV_UNDEF && dflt.k != JV_NONE) { x = dflt; }
        } else if (by_name(r, false, a, 0, x, &x) < 0) {
            return -1;
        }
        res->v[res->n++] = x;
    }
    return jv_gen(r, res, "generator", out);
}

static int select_reject(jrender *r, jv v, const jargs *a, jv *out, bool reject, bool by_attr)
{
    jlist *res = jl_new(r, 0), *l;
    if (!res) { return -1; }
    if (!jv_truthy(v)) { return jv_gen(r, res, "generator", out); }
    if (by_attr && a->n_pos == 0) { return jr_fail(r, "Missing parameter for attribute name"); }
    uint32_t off = by_attr ? 1 : 0;
    if (jv_iter(r, v, &l) < 0 || !(res = jl_new(r, l->n))) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        jv x = l->v[i], t;
        if (by_attr && jv_attrpath(r, x, a->pos[0], &x) < 0) { return -1; }
        if (a->n_pos > off) {
            if (by_name(r, true, a, off, x, &t) < 0) { return -1; }
        } else {
            t = jv_bool(jv_truthy(x));
        }
        if (t.u.b != reject) { res->v[res->n++] = l->v[i]; }
    }
    return jv_gen(r, res, "generator", out);
}

FILTER(select) { return select_reject(r, v, a, out, false, false); }
FILTER(reject) { return select_reject(r, v, a, out, true, false); }
FILTER(selectattr) { return select_reject(r, v, a, out, false, true); }
FILTER(rejectattr) { return select_reject(r, v, a, out, true, true); }

// The key of x for unique/sort/min/max: attribute path, then lowercased unless case_sensitive.
static int sort_key(jrender *r, jv x, jv attr, bool cs, jv *out)
{
    if (jv_given(attr) && attr.k != JV_NONE && jv_attrpath(r, x, attr, &x) < 0) { return -1; }
    if (!cs && x.k == JV_STR) { return jj_case(r, x, 'l', out); }
    *out = x;
    return 0;
}

FILTER(unique)
{
    BIND("filter 'unique'", "case_sensitive", "attribute");
    jlist *l, *res, *seen;
    if (jv_iter(r, v, &l) < 0 || !(res = jl_new(r, l->n)) || !(seen = jl_new(r, 0))) { return -1; }
    jdict *set = jd_new(r, 0);
    if (!set) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        jv k, dummy;
        if (sort_key(r, l->v[i], arg[1], jv_truthy(arg[0]), &k) < 0) { return -1; }
        if (!jv_hashable(k)) { return jr_fail(r, "unhashable type: '%s'", jv_typename(k.k)); }
        if (jd_get(set, k, &dummy)) { continue; }
        if (jd_set(r, set, k, jv_none()) < 0) { return -1; }
        res->v[res->n++] = l->v[i];
    }
    return jv_gen(r, res, "generator", out);
}

// Stable merge sort of idx by keys (Python's sorted; reverse keeps equal items in order).
static int merge_sort(jrender *r, uint32_t *idx, uint32_t *tmp, uint32_t n, const jv *keys,
                      bool reverse)
{
    if (n < 2) { return 0; }
    uint32_t h = n / 2;
    if (merge_sort(r, idx, tmp, h, keys, reverse) < 0 ||
        merge_sort(r, idx + h, tmp, n - h, keys, reverse) < 0) {
        return -1;
    }
    uint32_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int c = 0; // sort keys are lists in jinja2: equal items never reach '<'
        if (!jv_eq(keys[idx[j]], keys[idx[i]]) &&
            jv_cmp(r, keys[idx[j]], keys[idx[i]], "<", &c) < 0) {
            return -1;
        }
        bool take_right = reverse ? c > 0 && c != 2 : c < 0;
        tmp[k++] = take_right ? idx[j++] : idx[i++];
    }
    while (i < h) {
        tmp[k++] = idx[i++];
    }
    while (j < n) {
        tmp[k++] = idx[j++];
    }
    memcpy(idx, tmp, n * sizeof *idx);
    return 0;
}

static int sorted(jrender *r, jlist *l, const jv *keys, bool reverse, jlist **out)
{
    uint32_t *idx = jr_alloc(r, (size_t)l->n * sizeof *idx + 1);
    uint32_t *tmp = jr_alloc(r, (size_t)l->n * sizeof *tmp + 1);
    jlist *res = jl_new(r, l->n);
    if (!idx || !tmp || !res) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        idx[i] = i;
    }
    if (merge_sort(r, idx, tmp, l->n, keys, reverse) < 0) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        res->v[i] = l->v[idx[i]];
    }
    res->n = l->n;
    *out = res;
    return 0;
}

FILTER(sort)
{
    BIND("filter 'sort'", "reverse", "case_sensitive", "attribute");
    jlist *l, *res;
    if (jv_iter(r, v, &l) < 0) { return -1; }
    jv *keys = jr_alloc(r, (size_t)l->n * sizeof *keys + 1);
    if (!keys) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        if (sort_key(r, l->v[i], arg[2], jv_truthy(arg[1]), &keys[i]) < 0) { return -1; }
    }
    if (sorted(r, l, keys, jv_truthy(arg[0]), &res) < 0) { return -1; }
    *out = jv_list(res);
    return 0;
}

FILTER(dictsort)
{
    BIND("filter 'dictsort'", "case_sensitive", "by", "reverse");
    int pos = 0;
    if (jv_given(arg[1])) {
        jv by = arg[1];
        if (by.k == JV_STR && by.n == 5 && memcmp(by.u.s, "value", 5) == 0) {
            pos = 1;
        } else if (!(by.k == JV_STR && by.n == 3 && memcmp(by.u.s, "key", 3) == 0)) {
            return jr_fail(r, "You can only sort by either \"key\" or \"value\"");
        }
    }
    if (v.k != JV_DICT) {
        return jr_fail(r, "filter 'dictsort': expected a mapping, got %s", jv_typename(v.k));
    }
    jv items;
    jargs none = {0};
    if (f_items(r, v, &none, &items) < 0) { return -1; }
    jlist *l = items.u.g->items, *res;
    jv *keys = jr_alloc(r, (size_t)l->n * sizeof *keys + 1);
    if (!keys) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        if (sort_key(r, l->v[i].u.l->v[pos], jv_absent(), jv_truthy(arg[0]), &keys[i]) < 0) {
            return -1;
        }
    }
    if (sorted(r, l, keys, jv_truthy(arg[2]), &res) < 0) { return -1; }
    *out = jv_list(res);
    return 0;
}

static int min_max(jrender *r, jv v, const jargs *a, jv *out, bool max)
{
    BIND(max ? "filter 'max'" : "filter 'min'", "case_sensitive", "attribute");
    jlist *l;
    if (jv_iter(r, v, &l) < 0) { return -1; }
    if (l->n == 0) {
        *out =
            (jv){.k = JV_UNDEF, .sub = JU_HINT, .u.s = "No aggregated item, sequence was empty."};
        return 0;
    }
    jv best_key;
    uint32_t best = 0;
    if (sort_key(r, l->v[0], arg[1], jv_truthy(arg[0]), &best_key) < 0) { return -1; }
    for (uint32_t i = 1; i < l->n; i++) {
        jv k;
        int c;
        if (sort_key(r, l->v[i], arg[1], jv_truthy(arg[0]), &k) < 0 ||
            jv_cmp(r, k, best_key, max ? ">" : "<", &c) < 0) {
            return -1;
        }
        if (c != 2 && (max ? c > 0 : c < 0)) {
            best = i;
            best_key = k;
        }
    }
    *out = l->v[best];
    return 0;
}
FILTER(min) { return min_max(r, v, a, out, false); }
FILTER(max) { return min_max(r, v, a, out, true); }

FILTER(sum)
{
    BIND("filter 'sum'", "attribute", "start");
    jv acc = jv_given(arg[1]) ? arg[1] : jv_int(0);
    jlist *l;
    if (jv_iter(r, v, &l) < 0) { return -1; }
    for (uint32_t i = 0; i < l->n; i++) {
        jv x = l->v[i];
        if (jv_given(arg[0]) && arg[0].k != JV_NONE && jv_attrpath(r, x, arg[0], &x) < 0) {
            return -1;
        }
        if (jr_binop(r, OP_ADD, acc, x, &acc) < 0) { return -1; }
    }
    *out = acc;
    return 0;
}

FILTER(default)
{
    BIND("filter 'default'", "default_value", "boolean");
    jv d = jv_given(arg[0]) ? arg[0] : jv_strn("", 0);
    *out = v.k == JV_UNDEF || (jv_truthy(arg[1]) && !jv_truthy(v)) ? d : v;
    return 0;
}

FILTER(attr)
{
    BIND("filter 'attr'", "name");
    if (arg[0].k != JV_STR) { return jr_fail(r, "filter 'attr': the name must be a string"); }
    if (v.k == JV_DICT && !jr_method_lookup(r, v, arg[0], out)) { // no item fallback
        *out = (jv){.k = JV_UNDEF, .sub = JU_PLAIN, .aux = v.k};
        return r->have_err ? -1 : 0;
    }
    return jv_getattr(r, v, arg[0], out);
}

static int unsupported(jrender *r, jv v, const jargs *a, jv *out)
{
    (void)v, (void)a, (void)out;
    return jr_fail(r, "this filter is not supported by wick");
}

// --- the table -----------------------------------------------------------------------------------
static const struct {
    const char *name;
    jfilter_fn fn;
} filters[] = {
    {"abs", f_abs},           {"attr", f_attr},
    {"batch", f_batch},       {"capitalize", f_capitalize},
    {"center", f_center},     {"count", f_length},
    {"d", f_default},         {"default", f_default},
    {"dictsort", f_dictsort}, {"e", f_escape},
    {"escape", f_escape},     {"filesizeformat", unsupported},
    {"first", f_first},       {"float", f_float},
    {"forceescape", f_escape}, {"format", f_format},
    {"groupby", unsupported}, {"indent", f_indent},
    {"int", f_int},           {"items", f_items},
    {"join", f_join},         {"last", f_last},
    {"length", f_length},     {"list", f_list},
    {"lower", f_lower},       {"map", f_map},
    {"max", f_max},           {"min", f_min},
    {"pprint", unsupported},  {"random", unsupported},
    {"reject", f_reject},     {"rejectattr", f_rejectattr},
    {"replace", f_replace},   {"reverse", f_reverse},
    {"round", f_round},       {"safe", f_safe},
    {"select", f_select},     {"selectattr", f_selectattr},
    {"slice", unsupported},   {"sort", f_sort},
    {"string", f_string},     {"striptags", unsupported},
    {"sum", f_sum},           {"title", f_title},
    {"tojson", f_tojson},     {"trim", f_trim},
    {"truncate", f_truncate}, {"unique", f_unique},
    {"upper", f_upper},       {"urlencode", unsupported},
    {"urlize", unsupported},  {"wordcount", f_wordcount},
    {"wordwrap", unsupported}, {"xmlattr", unsupported},
};

int jj_filter_id(const char *name, size_t len)
{
    for (size_t i = 0; i < WK_ARRAY_LEN(filters); i++) {
        if (strlen(filters[i].name) == len && memcmp(filters[i].name, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *jj_filter_name(int id) { return filters[id].name; }

int jr_filter(jrender *r, int id, jv v, const jargs *a, jv *out)
{
    if (!jr_step(r)) { return -1; }
    if (filters[id].fn == unsupported) {
        return jr_fail(r, "filter '%s' is not supported by wick", filters[id].name);
    }
    return filters[id].fn(r, v, a, out);
}
