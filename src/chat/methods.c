// methods.c — methods of str, dict, list and tuple values as Python has them, under jinja2's
// ImmutableSandboxedEnvironment (the mutating ones — list.append, dict.update, ... — are unsafe:
// looking them up gives an undefined value whose use is an error), and the global functions a
// chat template sees: range (at most 100000 items, as the sandbox), namespace, dict,
// raise_exception and strftime_now (transformers' two additions).
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "chat/jinja.h"

enum { K_STR = 1, K_DICT = 2, K_LIST = 4, K_TUPLE = 8 };
enum { M_OK, M_UNSAFE, M_UNSUPPORTED };

enum {
    // str
    S_CAPITALIZE, S_CASEFOLD, S_CENTER, S_COUNT, S_ENDSWITH, S_FIND, S_FORMAT, S_INDEX, S_ISALNUM,
    S_ISALPHA, S_ISASCII, S_ISDECIMAL, S_ISDIGIT, S_ISLOWER, S_ISNUMERIC, S_ISSPACE, S_ISUPPER,
    S_JOIN, S_LJUST, S_LOWER, S_LSTRIP, S_PARTITION, S_REMOVEPREFIX, S_REMOVESUFFIX, S_REPLACE,
    S_RFIND, S_RINDEX, S_RJUST, S_RPARTITION, S_RSPLIT, S_RSTRIP, S_SPLIT, S_SPLITLINES,
    S_STARTSWITH, S_STRIP, S_SWAPCASE, S_TITLE, S_UPPER, S_ZFILL, S_OTHER,
    // dict
    D_GET, D_ITEMS, D_KEYS, D_VALUES, D_COPY, D_OTHER,
    // list, tuple
    L_INDEX, L_COUNT, L_COPY, L_OTHER,
};

static const struct {
    const char *name;
    uint8_t kinds, safety;
    uint8_t id;
} methods[] = {
    {"capitalize", K_STR, M_OK, S_CAPITALIZE}, {"casefold", K_STR, M_OK, S_CASEFOLD},
    {"center", K_STR, M_OK, S_CENTER},         {"count", K_STR, M_OK, S_COUNT},
    {"endswith", K_STR, M_OK, S_ENDSWITH},     {"find", K_STR, M_OK, S_FIND},
    {"format", K_STR, M_OK, S_FORMAT},         {"index", K_STR, M_OK, S_INDEX},
    {"isalnum", K_STR, M_OK, S_ISALNUM},       {"isalpha", K_STR, M_OK, S_ISALPHA},
    {"isascii", K_STR, M_OK, S_ISASCII},       {"isdecimal", K_STR, M_OK, S_ISDECIMAL},
    {"isdigit", K_STR, M_OK, S_ISDIGIT},       {"islower", K_STR, M_OK, S_ISLOWER},
    {"isnumeric", K_STR, M_OK, S_ISNUMERIC},   {"isspace", K_STR, M_OK, S_ISSPACE},
    {"isupper", K_STR, M_OK, S_ISUPPER},       {"join", K_STR, M_OK, S_JOIN},
    {"ljust", K_STR, M_OK, S_LJUST},           {"lower", K_STR, M_OK, S_LOWER},
    {"lstrip", K_STR, M_OK, S_LSTRIP},         {"partition", K_STR, M_OK, S_PARTITION},
    {"removeprefix", K_STR, M_OK, S_REMOVEPREFIX}, {"removesuffix", K_STR, M_OK, S_REMOVESUFFIX},
    {"replace", K_STR, M_OK, S_REPLACE},       {"rfind", K_STR, M_OK, S_RFIND},
    {"rindex", K_STR, M_OK, S_RINDEX},         {"rjust", K_STR, M_OK, S_RJUST},
    {"rpartition", K_STR, M_OK, S_RPARTITION}, {"rsplit", K_STR, M_OK, S_RSPLIT},
    {"rstrip", K_STR, M_OK, S_RSTRIP},         {"split", K_STR, M_OK, S_SPLIT},
    {"splitlines", K_STR, M_OK, S_SPLITLINES}, {"startswith", K_STR, M_OK, S_STARTSWITH},
    {"strip", K_STR, M_OK, S_STRIP},           {"swapcase", K_STR, M_OK, S_SWAPCASE},
    {"title", K_STR, M_OK, S_TITLE},           {"upper", K_STR, M_OK, S_UPPER},
    {"zfill", K_STR, M_OK, S_ZFILL},           {"encode", K_STR, M_UNSUPPORTED, S_OTHER},
    {"expandtabs", K_STR, M_UNSUPPORTED, S_OTHER}, {"format_map", K_STR, M_UNSUPPORTED, S_OTHER},
    {"isidentifier", K_STR, M_UNSUPPORTED, S_OTHER}, {"isprintable", K_STR, M_UNSUPPORTED, S_OTHER},
    {"istitle", K_STR, M_UNSUPPORTED, S_OTHER}, {"maketrans", K_STR, M_UNSUPPORTED, S_OTHER},
    {"translate", K_STR, M_UNSUPPORTED, S_OTHER},
    {"get", K_DICT, M_OK, D_GET},              {"items", K_DICT, M_OK, D_ITEMS},
    {"keys", K_DICT, M_OK, D_KEYS},            {"values", K_DICT, M_OK, D_VALUES},
    {"copy", K_DICT, M_OK, D_COPY},            {"fromkeys", K_DICT, M_UNSUPPORTED, D_OTHER},
    {"clear", K_DICT | K_LIST, M_UNSAFE, D_OTHER}, {"pop", K_DICT | K_LIST, M_UNSAFE, D_OTHER},
    {"popitem", K_DICT, M_UNSAFE, D_OTHER},    {"setdefault", K_DICT, M_UNSAFE, D_OTHER},
    {"update", K_DICT, M_UNSAFE, D_OTHER},
    {"index", K_LIST | K_TUPLE, M_OK, L_INDEX}, {"count", K_LIST | K_TUPLE, M_OK, L_COUNT},
    {"copy", K_LIST, M_OK, L_COPY},            {"append", K_LIST, M_UNSAFE, L_OTHER},
    {"extend", K_LIST, M_UNSAFE, L_OTHER},     {"insert", K_LIST, M_UNSAFE, L_OTHER},
    {"remove", K_LIST, M_UNSAFE, L_OTHER},     {"reverse", K_LIST, M_UNSAFE, L_OTHER},
    {"sort", K_LIST, M_UNSAFE, L_OTHER},
};

const char *jj_method_name(int m)
{
    return m >= 0 && m < (int)WK_ARRAY_LEN(methods) ? methods[m].name : "?";
}

bool jr_method_lookup(jrender *r, jv obj, jv name, jv *out)
{
    int kind = obj.k == JV_STR ? K_STR : obj.k == JV_DICT ? K_DICT : obj.k == JV_LIST ? K_LIST
               : obj.k == JV_TUPLE ? K_TUPLE : 0;
    if (!kind || name.n == 0 || name.n > 12) { return false; }
    for (size_t i = 0; i < WK_ARRAY_LEN(methods); i++) {
        if (!(methods[i].kinds & kind) || methods[i].name[0] != name.u.s[0] ||
            strlen(methods[i].name) != name.n || memcmp(methods[i].name, name.u.s, name.n) != 0) {
            continue;
        }
        if (methods[i].safety == M_UNSAFE) {
            *out = (jv){.k = JV_UNDEF, .sub = JU_UNSAFE, .aux = obj.k, .u.s = methods[i].name};
            return true;
        }
        jv *self = jr_alloc(r, sizeof *self);
        if (!self) {
            *out = jv_undef();
            return true; // r->have_err is set
        }
        *self = obj;
        *out = (jv){.k = JV_METHOD, .sub = (uint8_t)i, .u.self = self};
        return true;
    }
    return false;
}

// --- str methods ---------------------------------------------------------------------------------
static int char_class(jv s, int what, bool *out)
{
    // what: 'a' alpha, 'n' alnum, 'd' digit, 'D' decimal, 'N' numeric, 's' space, 'A' ascii
    *out = what == 'A' || s.n > 0;
    for (size_t i = 0; i < s.n && *out;) {
        uint32_t c = jj_utf8_next(s.u.s, s.n, &i);
        utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
        bool alpha = k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
        bool dec = k == UTF8PROC_CATEGORY_ND;
        bool numeric = k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
        switch (what) {
        case 'a': *out = alpha; break;
        case 'n': *out = alpha || numeric; break;
        case 'd':
        case 'D': *out = dec; break;
        case 'N': *out = numeric; break;
        case 's': *out = jj_isspace(c); break;
        case 'A': *out = c < 0x80; break;
        }
    }
    return 0;
}

static int justify(jrender *r, jv s, jv width, jv fill, char how, jv *out)
{
    if (width.k != JV_INT && width.k != JV_BOOL) { return jr_fail(r, "width must be an integer"); }
    int64_t w = width.k == JV_INT ? width.u.i : width.u.b;
    uint32_t fc = ' ';
    if (jv_given(fill)) {
        if (fill.k != JV_STR || jj_utf8_count(fill.u.s, fill.n) != 1) {
            return jr_fail(r, "the fill character must be exactly one character long");
        }
        size_t i = 0;
        fc = jj_utf8_next(fill.u.s, fill.n, &i);
    }
    int64_t len = (int64_t)jj_utf8_count(s.u.s, s.n), pad = w - len;
    if (pad <= 0) {
        *out = s;
        return 0;
    }
    if (pad > 10000000) { return jr_fail(r, "width too large"); }
    int64_t left = how == 'r' ? pad : how == 'c' ? pad / 2 + (pad & w & 1) : 0;
    char f[4];
    size_t fl = jj_utf8_put(fc, f);
    jsb b = {0};
    size_t sign = 0;
    if (how == 'z' && s.n && (s.u.s[0] == '-' || s.u.s[0] == '+')) { sign = 1; }
    if (how == 'z') { left = pad; }
    if (jsb_put(r, &b, s.u.s, sign) < 0) { return -1; }
    for (int64_t i = 0; i < left; i++) {
        if (jsb_put(r, &b, how == 'z' ? "0" : f, how == 'z' ? 1 : fl) < 0) { return -1; }
    }
    if (jsb_put(r, &b, s.u.s + sign, s.n - sign) < 0) { return -1; }
    for (int64_t i = left; i < pad; i++) {
        if (jsb_put(r, &b, f, fl) < 0) { return -1; }
    }
    *out = jsb_take(&b);
    return 0;
}

// startswith/endswith with a string or a tuple of strings.
static int affix(jrender *r, jv s, jv x, bool end, bool *out)
{
    *out = false;
    if (x.k == JV_TUPLE) {
        for (uint32_t i = 0; i < x.u.l->n && !*out; i++) {
            if (affix(r, s, x.u.l->v[i], end, out) < 0) { return -1; }
        }
        return 0;
    }
    if (x.k != JV_STR) {
        return jr_fail(r, "%s first arg must be str or a tuple of str, not %s",
                       end ? "endswith" : "startswith", jv_typename(x.k));
    }
    *out = x.n <= s.n && memcmp(end ? s.u.s + s.n - x.n : s.u.s, x.u.s, x.n) == 0;
    return 0;
}

static int partition(jrender *r, jv s, jv sep, bool right, jv *out)
{
    if (sep.k != JV_STR) { return jr_fail(r, "must be str, not %s", jv_typename(sep.k)); }
    if (sep.n == 0) { return jr_fail(r, "empty separator"); }
    jlist *t = jl_new(r, 3);
    if (!t) { return -1; }
    int64_t ci;
    jj_str_index(s, sep, right, &ci);
    jv empty = jv_strn("", 0);
    if (ci < 0) {
        t->v[0] = right ? empty : s;
        t->v[1] = empty;
        t->v[2] = right ? s : empty;
    } else {
        // byte offset of the match
        const char *p = NULL;
        if (!right) {
            p = jj_memmem(s.u.s, s.n, sep.u.s, sep.n);
        } else {
            for (size_t k = s.n - sep.n + 1; k-- > 0;) {
                if (memcmp(s.u.s + k, sep.u.s, sep.n) == 0) {
                    p = s.u.s + k;
                    break;
                }
            }
        }
        size_t at = (size_t)(p - s.u.s);
        t->v[0] = jv_strn(s.u.s, (uint32_t)at);
        t->v[1] = sep;
        t->v[2] = jv_strn(s.u.s + at + sep.n, (uint32_t)(s.n - at - sep.n));
    }
    t->n = 3;
    *out = jv_tuple(t);
    return 0;
}

static int str_method(jrender *r, jv s, int id, const jargs *a, jv *out)
{
    const char *name = methods[id].name;
    char what[48];
    snprintf(what, sizeof what, "str.%s", name);
    jv arg[3] = {jv_absent(), jv_absent(), jv_absent()};
    bool b;
    int64_t i64;
    switch (methods[id].id) {
    case S_FORMAT: return jj_str_format(r, s, a, out);
    case S_CAPITALIZE:
    case S_CASEFOLD:
    case S_LOWER:
    case S_UPPER:
    case S_SWAPCASE:
    case S_TITLE: {
        if (jr_bind(r, what, a, NULL, 0, NULL) < 0) { return -1; }
        int m = methods[id].id;
        return jj_case(r, s, m == S_CAPITALIZE ? 'c' : m == S_UPPER ? 'u' : m == S_SWAPCASE ? 's'
                             : m == S_TITLE ? 't' : 'l', out);
    }
    case S_STRIP:
    case S_LSTRIP:
    case S_RSTRIP: {
        static const char *const n[] = {"chars"};
        if (jr_bind(r, what, a, n, 1, arg) < 0) { return -1; }
        if (jv_given(arg[0]) && arg[0].k != JV_NONE && arg[0].k != JV_STR) {
            return jr_fail(r, "%s arg must be None or str", what);
        }
        int m = methods[id].id;
        return jj_strip(r, s, arg[0].k == JV_STR ? arg[0] : jv_none(), m != S_RSTRIP,
                        m != S_LSTRIP, out);
    }
    case S_SPLIT:
    case S_RSPLIT: {
        static const char *const n[] = {"sep", "maxsplit"};
        if (jr_bind(r, what, a, n, 2, arg) < 0) { return -1; }
        int64_t maxsplit = -1;
        if (jv_given(arg[1])) {
            if (arg[1].k != JV_INT) { return jr_fail(r, "%s: maxsplit must be an integer", what); }
            maxsplit = arg[1].u.i;
        }
        if (jv_given(arg[0]) && arg[0].k != JV_NONE && arg[0].k != JV_STR) {
            return jr_fail(r, "%s: must be str or None, not %s", what, jv_typename(arg[0].k));
        }
        return jj_split(r, s, arg[0].k == JV_STR ? arg[0] : jv_none(), maxsplit,
                        methods[id].id == S_RSPLIT, out);
    }
    case S_SPLITLINES: {
        static const char *const n[] = {"keepends"};
        if (jr_bind(r, what, a, n, 1, arg) < 0) { return -1; }
        return jj_splitlines(r, s, jv_truthy(arg[0]), out);
    }
    case S_STARTSWITH:
    case S_ENDSWITH: {
        static const char *const n[] = {"prefix", "start", "end"};
        if (jr_bind(r, what, a, n, 3, arg) < 0) { return -1; }
        if (!jv_given(arg[0])) { return jr_fail(r, "%s takes at least 1 argument", what); }
        if (jv_given(arg[1]) &&
            jv_slice(r, s, arg[1], jv_given(arg[2]) ? arg[2] : jv_none(), jv_none(), &s) < 0) {
            return -1;
        }
        if (affix(r, s, arg[0], methods[id].id == S_ENDSWITH, &b) < 0) { return -1; }
        *out = jv_bool(b);
        return 0;
    }
    case S_REPLACE: {
        static const char *const n[] = {"old", "new", "count"};
        if (jr_bind(r, what, a, n, 3, arg) < 0) { return -1; }
        if (arg[0].k != JV_STR || arg[1].k != JV_STR) {
            return jr_fail(r, "%s: the old and new values must be strings", what);
        }
        int64_t count = -1;
        if (jv_given(arg[2])) {
            if (arg[2].k != JV_INT) { return jr_fail(r, "%s: count must be an integer", what); }
            count = arg[2].u.i;
        }
        return jj_replace(r, s, arg[0], arg[1], count, out);
    }
    case S_FIND:
    case S_RFIND:
    case S_INDEX:
    case S_RINDEX:
    case S_COUNT: {
        static const char *const n[] = {"sub", "start", "end"};
        if (jr_bind(r, what, a, n, 3, arg) < 0) { return -1; }
        if (arg[0].k != JV_STR) {
            return jr_fail(r, "%s: must be str, not %s", what, jv_typename(arg[0].k));
        }
        int64_t off = 0;
        if (jv_given(arg[1]) && arg[1].k != JV_NONE) {
            if (arg[1].k != JV_INT) {
                return jr_fail(r, "%s: slice indices must be integers", what);
            }
            int64_t len = (int64_t)jj_utf8_count(s.u.s, s.n);
            off = arg[1].u.i < 0 ? (arg[1].u.i + len < 0 ? 0 : arg[1].u.i + len) : arg[1].u.i;
            if (jv_slice(r, s, arg[1], jv_given(arg[2]) ? arg[2] : jv_none(), jv_none(), &s) < 0) {
                return -1;
            }
        } else if (jv_given(arg[2]) && jv_slice(r, s, jv_none(), arg[2], jv_none(), &s) < 0) {
            return -1;
        }
        int m = methods[id].id;
        if (m == S_COUNT) {
            jj_count(s, arg[0], &i64);
            *out = jv_int(i64);
            return 0;
        }
        jj_str_index(s, arg[0], m == S_RFIND || m == S_RINDEX, &i64);
        if (i64 < 0 && (m == S_INDEX || m == S_RINDEX)) {
            return jr_fail(r, "substring not found");
        }
        *out = jv_int(i64 < 0 ? -1 : i64 + off);
        return 0;
    }
    case S_ISALNUM:
    case S_ISALPHA:
    case S_ISASCII:
    case S_ISDECIMAL:
    case S_ISDIGIT:
    case S_ISNUMERIC:
    case S_ISSPACE: {
        if (jr_bind(r, what, a, NULL, 0, NULL) < 0) { return -1; }
        static const char cls[] = {[S_ISALNUM - S_ISALNUM] = 'n', [S_ISALPHA - S_ISALNUM] = 'a',
                                   [S_ISASCII - S_ISALNUM] = 'A', [S_ISDECIMAL - S_ISALNUM] = 'D',
                                   [S_ISDIGIT - S_ISALNUM] = 'd'};
        int m = methods[id].id;
        char c = m == S_ISNUMERIC ? 'N' : m == S_ISSPACE ? 's' : cls[m - S_ISALNUM];
        char_class(s, c, &b);
        *out = jv_bool(b);
        return 0;
    }
    case S_ISLOWER:
    case S_ISUPPER: {
        if (jr_bind(r, what, a, NULL, 0, NULL) < 0) { return -1; }
        jv m1, m2;
        bool lower = methods[id].id == S_ISLOWER;
        if (jj_case(r, s, lower ? 'l' : 'u', &m1) < 0 ||
            jj_case(r, s, lower ? 'u' : 'l', &m2) < 0) {
            return -1;
        }
        *out = jv_bool(jv_eq(m1, s) && !jv_eq(m2, s));
        return 0;
    }
    case S_JOIN: {
        static const char *const n[] = {"iterable"};
        if (jr_bind(r, what, a, n, 1, arg) < 0) { return -1; }
        jlist *l;
        if (jv_iter(r, arg[0], &l) < 0) { return -1; }
        jsb sb = {0};
        for (uint32_t k = 0; k < l->n; k++) {
            if (l->v[k].k != JV_STR) {
                return jr_fail(r, "sequence item %u: expected str instance, %s found", k,
                               jv_typename(l->v[k].k));
            }
            if ((k && jsb_put(r, &sb, s.u.s, s.n) < 0) ||
                jsb_put(r, &sb, l->v[k].u.s, l->v[k].n) < 0) {
                return -1;
            }
        }
        *out = jsb_take(&sb);
        return 0;
    }
    case S_CENTER:
    case S_LJUST:
    case S_RJUST:
    case S_ZFILL: {
        static const char *const n[] = {"width", "fillchar"};
        int m = methods[id].id;
        if (jr_bind(r, what, a, n, m == S_ZFILL ? 1 : 2, arg) < 0) { return -1; }
        return justify(r, s, arg[0], arg[1], m == S_CENTER ? 'c' : m == S_LJUST ? 'l'
                                             : m == S_RJUST ? 'r' : 'z', out);
    }
    case S_PARTITION:
    case S_RPARTITION: {
        static const char *const n[] = {"sep"};
        if (jr_bind(r, what, a, n, 1, arg) < 0) { return -1; }
        return partition(r, s, arg[0], methods[id].id == S_RPARTITION, out);
    }
    case S_REMOVEPREFIX:
    case S_REMOVESUFFIX: {
        static const char *const n[] = {"affix"};
        if (jr_bind(r, what, a, n, 1, arg) < 0) { return -1; }
        bool end = methods[id].id == S_REMOVESUFFIX;
        if (affix(r, s, arg[0], end, &b) < 0) { return -1; }
        *out = !b    ? s
               : end ? jv_strn(s.u.s, s.n - arg[0].n)
                     : jv_strn(s.u.s + arg[0].n, s.n - arg[0].n);
        return 0;
    }
    }
    return jr_fail(r, "%s() is not supported by wick", what);
}

// --- dict, list, tuple methods -------------------------------------------------------------------
static int container_method(jrender *r, jv self, int id, const jargs *a, jv *out)
{
    char what[48];
    snprintf(what, sizeof what, "%s.%s", jv_typename(self.k), methods[id].name);
    jv arg[2] = {jv_absent(), jv_absent()};
    switch (methods[id].id) {
    case D_GET: {
        static const char *const n[] = {"key", "default"};
        if (jr_bind(r, what, a, n, 2, arg) < 0) { return -1; }
        if (!jv_given(arg[0])) { return jr_fail(r, "%s expected at least 1 argument", what); }
        if (!jv_hashable(arg[0])) {
            return jr_fail(r, "unhashable type: '%s'", jv_typename(arg[0].k));
        }
        if (!jd_get(self.u.d, arg[0], out)) { *out = jv_given(arg[1]) ? arg[1] : jv_none(); }
        return 0;
    }
    case D_ITEMS:
    case D_KEYS:
    case D_VALUES: {
        if (jr_bind(r, what, a, NULL, 0, NULL) < 0) { return -1; }
        const jdict *d = self.u.d;
        jlist *l = jl_new(r, d->n);
        if (!l) { return -1; }
        for (uint32_t i = 0; i < d->n; i++) {
            if (methods[id].id == D_ITEMS) {
                jlist *t = jl_new(r, 2);
                if (!t) { return -1; }
                t->v[0] = d->key[i];
                t->v[1] = d->val[i];
                t->n = 2;
                l->v[i] = jv_tuple(t);
            } else {
                l->v[i] = methods[id].id == D_KEYS ? d->key[i] : d->val[i];
            }
        }
        l->n = d->n;
        *out = jv_list(l);
        out->sub = methods[id].id == D_ITEMS  ? JL_ITEMS
                   : methods[id].id == D_KEYS ? JL_KEYS
                                              : JL_VALUES;
        return 0;
    }
    case D_COPY: {
        if (jr_bind(r, what, a, NULL, 0, NULL) < 0) { return -1; }
        jdict *d = jd_new(r, self.u.d->n);
        if (!d) { return -1; }
        for (uint32_t i = 0; i < self.u.d->n; i++) {
            if (jd_set(r, d, self.u.d->key[i], self.u.d->val[i]) < 0) { return -1; }
        }
        *out = jv_dict(d);
        return 0;
    }
    case L_COPY: {
        if (jr_bind(r, what, a, NULL, 0, NULL) < 0) { return -1; }
        jlist *l = jl_new(r, self.u.l->n);
        if (!l) { return -1; }
        jj_copy(l->v, self.u.l->v, self.u.l->n * sizeof(jv));
        l->n = self.u.l->n;
        *out = jv_list(l);
        return 0;
    }
    case L_INDEX:
    case L_COUNT: {
        static const char *const n[] = {"value"};
        if (jr_bind(r, what, a, n, 1, arg) < 0) { return -1; }
        if (!jv_given(arg[0])) { return jr_fail(r, "%s takes exactly one argument", what); }
        int64_t count = 0;
        for (uint32_t i = 0; i < self.u.l->n; i++) {
            if (!jv_eq(self.u.l->v[i], arg[0])) { continue; }
            if (methods[id].id == L_INDEX) {
                *out = jv_int(i);
                return 0;
            }
            count++;
        }
        if (methods[id].id == L_INDEX) {
            return jr_fail(r, "%s(x): x not in %s", what, jv_typename(self.k));
        }
        *out = jv_int(count);
        return 0;
    }
    }
    return jr_fail(r, "%s() is not supported by wick", what);
}

// Markup's methods escape their string arguments (and join's items) and return Markup.
static int markup_method(jrender *r, jv self, int method, const jargs *a, jv *out)
{
    jv *pos = jr_alloc(r, (a->n_pos + 1) * sizeof *pos);
    jv *kwv = jr_alloc(r, (a->n_kw + 1u) * sizeof *kwv);
    if (!pos || !kwv) { return -1; }
    bool join = methods[method].id == S_JOIN;
    for (uint32_t i = 0; i < a->n_pos + a->n_kw; i++) {
        jv x = i < a->n_pos ? a->pos[i] : a->kw_val[i - a->n_pos];
        if (x.k == JV_STR && jj_escape(r, x, &x) < 0) { return -1; }
        if (join && x.k != JV_STR) {
            jlist *l, *e;
            if (jv_iter(r, x, &l) < 0 || !(e = jl_new(r, l->n))) { return -1; }
            for (uint32_t k = 0; k < l->n; k++) {
                if (jj_escape(r, l->v[k], &e->v[k]) < 0) { return -1; }
            }
            e->n = l->n;
            x = jv_list(e);
        }
        if (i < a->n_pos) { pos[i] = x; } else { kwv[i - a->n_pos] = x; }
    }
    jargs ea = {pos, a->n_pos, a->kw_sym, kwv, a->n_kw};
    if (str_method(r, self, method, &ea, out) < 0) { return -1; }
    if (out->k == JV_STR) {
        out->sub = JS_MARKUP;
    } else if (jv_is_seq(*out)) {
        for (uint32_t i = 0; i < out->u.l->n; i++) {
            if (out->u.l->v[i].k == JV_STR) { out->u.l->v[i].sub = JS_MARKUP; }
        }
    }
    return 0;
}

int jr_call_method(jrender *r, jv self, int method, const jargs *a, jv *out)
{
    if (self.k == JV_STR) {
        if (self.sub == JS_MARKUP) { return markup_method(r, self, method, a, out); }
        return str_method(r, self, method, a, out);
    }
    return container_method(r, self, method, a, out);
}

// --- globals -------------------------------------------------------------------------------------
int jj_global_id(const char *name)
{
    static const char *const names[JF_N] = {"range", "namespace", "dict", "raise_exception",
                                            "strftime_now", "cycler", "joiner", "lipsum"};
    for (int i = 0; i < JF_N; i++) {
        if (strcmp(names[i], name) == 0) { return i; }
    }
    return -1;
}

static int range(jrender *r, const jargs *a, jv *out)
{
    if (a->n_kw) { return jr_fail(r, "range() takes no keyword arguments"); }
    if (a->n_pos < 1 || a->n_pos > 3) {
        return jr_fail(r, "range expected 1 to 3 arguments, got %u", a->n_pos);
    }
    int64_t v[3] = {0, 0, 1};
    for (uint32_t i = 0; i < a->n_pos; i++) {
        jv x = a->pos[i];
        if (x.k != JV_INT && x.k != JV_BOOL) {
            return jr_fail(r, "'%s' object cannot be interpreted as an integer", jv_typename(x.k));
        }
        v[a->n_pos == 1 ? 1 : i] = x.k == JV_INT ? x.u.i : x.u.b;
    }
    if (v[2] == 0) { return jr_fail(r, "range() arg 3 must not be zero"); }
    // length, without overflow: ceil((stop - start) / step) when positive
    __int128 span = (__int128)v[1] - v[0];
    __int128 n = v[2] > 0 ? (span > 0 ? (span + v[2] - 1) / v[2] : 0)
                          : (span < 0 ? (-span + (-(__int128)v[2]) - 1) / -(__int128)v[2] : 0);
    if (n > JJ_MAX_RANGE) {
        return jr_fail(r, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).",
                       JJ_MAX_RANGE);
    }
    jlist *l = jl_new(r, (uint32_t)n);
    if (!l) { return -1; }
    for (int64_t i = 0; i < (int64_t)n; i++) {
        l->v[i] = jv_int(v[0] + i * v[2]);
    }
    l->n = (uint32_t)n;
    *out = jv_list(l);
    return 0;
}

// dict(*args, **kwargs): a mapping or pairs, then the keywords.
static int make_dict(jrender *r, const jargs *a, const char *what, jdict **out)
{
    if (a->n_pos > 1) {
        return jr_fail(r, "%s expected at most 1 argument, got %u", what, a->n_pos);
    }
    jdict *d = jd_new(r, 4);
    if (!d) { return -1; }
    if (a->n_pos == 1) {
        jv src = a->pos[0];
        if (src.k == JV_DICT || src.k == JV_NS) {
            for (uint32_t i = 0; i < src.u.d->n; i++) {
                if (jd_set(r, d, src.u.d->key[i], src.u.d->val[i]) < 0) { return -1; }
            }
        } else {
            jlist *l;
            if (jv_iter(r, src, &l) < 0) { return -1; }
            for (uint32_t i = 0; i < l->n; i++) {
                jv p = l->v[i];
                if (!jv_is_seq(p) || p.u.l->n != 2) {
                    return jr_fail(r, "%s: sequence element #%u is not a pair", what, i);
                }
                if (!jv_hashable(p.u.l->v[0])) {
                    return jr_fail(r, "unhashable type: '%s'", jv_typename(p.u.l->v[0].k));
                }
                if (jd_set(r, d, p.u.l->v[0], p.u.l->v[1]) < 0) { return -1; }
            }
        }
    }
    for (uint32_t i = 0; i < a->n_kw; i++) {
        const char *k = jr_symname(r, a->kw_sym[i]);
        if (jd_set(r, d, jv_strn(k, (uint32_t)strlen(k)), a->kw_val[i]) < 0) { return -1; }
    }
    *out = d;
    return 0;
}

int jr_call_global(jrender *r, int id, const jargs *a, jv *out)
{
    jdict *d;
    switch (id) {
    case JF_RANGE: return range(r, a, out);
    case JF_NAMESPACE:
        if (make_dict(r, a, "namespace()", &d) < 0) { return -1; }
        *out = (jv){.k = JV_NS, .u.d = d};
        return 0;
    case JF_DICT:
        if (make_dict(r, a, "dict()", &d) < 0) { return -1; }
        *out = jv_dict(d);
        return 0;
    case JF_RAISE: {
        static const char *const n[] = {"message"};
        jv m;
        if (jr_bind(r, "raise_exception()", a, n, 1, &m) < 0) { return -1; }
        if (!jv_given(m)) {
            return jr_fail(r, "raise_exception() missing 1 required argument: 'message'");
        }
        jsb b = {0};
        if (jv_write_str(r, &b, m) < 0) { return -1; }
        return jr_fail(r, "%.*s", (int)(b.n < 400 ? b.n : 400), b.p ? b.p : "");
    }
    case JF_STRFTIME: {
        static const char *const n[] = {"format"};
        jv f;
        if (jr_bind(r, "strftime_now()", a, n, 1, &f) < 0) { return -1; }
        if (f.k != JV_STR) { return jr_fail(r, "strftime_now(): the format must be a string"); }
        char fmt[256], buf[512];
        if (f.n >= sizeof fmt || memchr(f.u.s, '\0', f.n)) {
            return jr_fail(r, "strftime_now(): format too long");
        }
        memcpy(fmt, f.u.s, f.n);
        fmt[f.n] = '\0';
        time_t t = (time_t)r->now;
        struct tm tm;
        if (!localtime_r(&t, &tm)) { return jr_fail(r, "strftime_now(): bad time"); }
        size_t n2 = strftime(buf, sizeof buf, fmt, &tm);
        if (n2 == 0 && f.n > 0) { return jr_fail(r, "strftime_now(): result too long"); }
        *out = jv_str_dup(r, buf, n2);
        return out->k == JV_STR ? 0 : -1;
    }
    default: return jr_fail(r, "this global function is not supported by wick");
    }
}
