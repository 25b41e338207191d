// value.c — the Python semantics of template values: containers, truth, ==, <, len, iteration,
// `in`, and jinja2's sandboxed attribute/item lookup (obj.x tries the attribute, then the item;
// obj['x'] the item, then the attribute; a miss is an undefined value that remembers why, and
// only using that value is an error).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chat/jinja.h"

jv jv_list(jlist *l) { return (jv){.k = JV_LIST, .u.l = l}; }
jv jv_tuple(jlist *l) { return (jv){.k = JV_TUPLE, .u.l = l}; }
jv jv_dict(jdict *d) { return (jv){.k = JV_DICT, .u.d = d}; }

jv jv_str_dup(jrender *r, const char *s, size_t n)
{
    if (n > UINT32_MAX - 1) {
        jr_fail(r, "string of %zu bytes is too long", n);
        return jv_undef();
    }
    char *p = n ? jr_alloc(r, n) : (char *)"";
    if (!p) { return jv_undef(); }
    if (n) { memcpy(p, s, n); }
    return jv_strn(p, (uint32_t)n);
}

jlist *jl_new(jrender *r, uint32_t cap)
{
    jlist *l = jr_alloc(r, sizeof *l);
    if (!l) { return NULL; }
    l->n = 0;
    l->cap = cap;
    l->v = cap ? jr_alloc(r, (size_t)cap * sizeof(jv)) : NULL;
    if (cap && !l->v) { return NULL; }
    return l;
}

int jl_push(jrender *r, jlist *l, jv v)
{
    if (l->n == l->cap) {
        if (l->cap >= UINT32_MAX / 2) { return jr_fail(r, "list too long"); }
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        jv *nv = jr_alloc(r, (size_t)cap * sizeof(jv));
        if (!nv) { return -1; }
        if (l->n) { memcpy(nv, l->v, (size_t)l->n * sizeof(jv)); }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = v;
    return 0;
}

// --- dicts ---------------------------------------------------------------------------------------
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    }
    return h;
}

// Equal keys hash alike: 1, 1.0 and True are one key, as in Python.
static uint64_t hash_key(jv k, int depth)
{
    switch (k.k) {
    case JV_STR: return hash_bytes(k.u.s, k.n);
    case JV_BOOL: return (uint64_t)k.u.b * 0x9E3779B97F4A7C15ull;
    case JV_INT: return (uint64_t)k.u.i * 0x9E3779B97F4A7C15ull;
    case JV_FLOAT:
        if (k.u.f == floor(k.u.f) && fabs(k.u.f) < 9.2e18) {
            return (uint64_t)(int64_t)k.u.f * 0x9E3779B97F4A7C15ull;
        }
        return hash_bytes((const char *)&k.u.f, sizeof k.u.f);
    case JV_TUPLE: {
        uint64_t h = 7;
        for (uint32_t i = 0; i < k.u.l->n && depth < JJ_MAX_VALUE_DEPTH; i++) {
            h = h * 31 + hash_key(k.u.l->v[i], depth + 1);
        }
        return h;
    }
    default: return (uint64_t)k.k;
    }
}

static bool hashable(jv v, int depth)
{
    switch (v.k) {
    case JV_LIST:
    case JV_DICT:
    case JV_UNDEF: return false;
    case JV_TUPLE:
        if (depth > JJ_MAX_VALUE_DEPTH) { return false; }
        for (uint32_t i = 0; i < v.u.l->n; i++) {
            if (!hashable(v.u.l->v[i], depth + 1)) { return false; }
        }
        return true;
    default: return true;
    }
}

bool jv_hashable(jv v)
{
    return hashable(v, 0);
}

jdict *jd_new(jrender *r, uint32_t cap)
{
    jdict *d = jr_alloc(r, sizeof *d);
    if (!d) { return NULL; }
    memset(d, 0, sizeof *d);
    if (cap) {
        d->key = jr_alloc(r, (size_t)cap * sizeof(jv));
        d->val = jr_alloc(r, (size_t)cap * sizeof(jv));
        if (!d->key || !d->val) { return NULL; }
        d->cap = cap;
    }
    return d;
}

enum { DICT_LINEAR = 8 };

static int32_t find(const jdict *d, jv key)
{
    if (!d->idx) {
        for (uint32_t i = 0; i < d->n; i++) {
            if (jv_eq(d->key[i], key)) { return (int32_t)i; }
        }
        return -1;
    }
    uint32_t m = d->idx_cap - 1;
    for (uint32_t i = (uint32_t)hash_key(key, 0) & m;; i = (i + 1) & m) {
        int32_t j = d->idx[i];
        if (j < 0) { return -1; }
        if (jv_eq(d->key[j], key)) { return j; }
    }
}

static int reindex(jrender *r, jdict *d, uint32_t cap)
{
    int32_t *idx = jr_alloc(r, (size_t)cap * sizeof *idx);
    if (!idx) { return -1; }
    memset(idx, 0xff, (size_t)cap * sizeof *idx);
    for (uint32_t k = 0; k < d->n; k++) {
        uint32_t i = (uint32_t)hash_key(d->key[k], 0) & (cap - 1);
        while (idx[i] >= 0) {
            i = (i + 1) & (cap - 1);
        }
        idx[i] = (int32_t)k;
    }
    d->idx = idx;
    d->idx_cap = cap;
    return 0;
}

int jd_set(jrender *r, jdict *d, jv key, jv val)
{
    int32_t j = find(d, key);
    if (j >= 0) {
        d->val[j] = val;
        return 0;
    }
    if (d->n == d->cap) {
        if (d->cap >= UINT32_MAX / 4) { return jr_fail(r, "dict too large"); }
        uint32_t cap = d->cap ? d->cap * 2 : 4;
        jv *nk = jr_alloc(r, (size_t)cap * sizeof(jv));
        jv *nv = jr_alloc(r, (size_t)cap * sizeof(jv));
        if (!nk || !nv) { return -1; }
        if (d->n) {
            memcpy(nk, d->key, (size_t)d->n * sizeof(jv));
            memcpy(nv, d->val, (size_t)d->n * sizeof(jv));
        }
        d->key = nk;
        d->val = nv;
        d->cap = cap;
    }
    d->key[d->n] = key;
    d->val[d->n] = val;
    d->n++;
    if (d->n > DICT_LINEAR) {
        if ((d->n + 1) * 2 > d->idx_cap) { return reindex(r, d, d->idx_cap ? d->idx_cap * 2 : 32); }
        uint32_t m = d->idx_cap - 1, i = (uint32_t)hash_key(key, 0) & m;
        while (d->idx[i] >= 0) {
            i = (i + 1) & m;
        }
        d->idx[i] = (int32_t)(d->n - 1);
    }
    return 0;
}

bool jd_get(const jdict *d, jv key, jv *out)
{
    int32_t j = find(d, key);
    if (j < 0) { return false; }
    *out = d->val[j];
    return true;
}

bool jd_get_str(const jdict *d, const char *s, size_t n, jv *out)
{
    return jd_get(d, jv_strn(s, (uint32_t)n), out);
}

// --- truth, equality, order ----------------------------------------------------------------------
bool jv_truthy(jv v)
{
    switch (v.k) {
    case JV_UNDEF:
    case JV_NONE:
    case JV_ABSENT: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.n != 0;
    case JV_LIST:
    case JV_TUPLE: return v.u.l->n != 0;
    case JV_DICT: return v.u.d->n != 0;
    default: return true;
    }
}

static double num(jv v)
{
    return v.k == JV_FLOAT ? v.u.f : v.k == JV_INT ? (double)v.u.i : (double)v.u.b;
}

static bool num_eq(jv a, jv b)
{
    if (a.k != JV_FLOAT && b.k != JV_FLOAT) {
        int64_t x = a.k == JV_INT ? a.u.i : a.u.b, y = b.k == JV_INT ? b.u.i : b.u.b;
        return x == y;
    }
    return num(a) == num(b);
}

// Deeper than JJ_MAX_VALUE_DEPTH counts as unequal (Python would raise RecursionError).
static bool eq(jv a, jv b, int depth)
{
    if (jv_is_num(a) && jv_is_num(b)) { return num_eq(a, b); }
    if (a.k != b.k || depth > JJ_MAX_VALUE_DEPTH) { return false; }
    switch (a.k) {
    case JV_UNDEF:
    case JV_NONE: return true;
    case JV_STR: return a.n == b.n && memcmp(a.u.s, b.u.s, a.n) == 0;
    case JV_LIST:
    case JV_TUPLE:
        if (a.u.l->n != b.u.l->n) { return false; }
        for (uint32_t i = 0; i < a.u.l->n; i++) {
            if (!eq(a.u.l->v[i], b.u.l->v[i], depth + 1)) { return false; }
        }
        return true;
    case JV_DICT: {
        if (a.u.d->n != b.u.d->n) { return false; }
        for (uint32_t i = 0; i < a.u.d->n; i++) {
            jv o;
            if (!jd_get(b.u.d, a.u.d->key[i], &o) || !eq(a.u.d->val[i], o, depth + 1)) {
                return false;
            }
        }
        return true;
    }
    case JV_FUNC: return a.sub == b.sub;
    case JV_METHOD: return a.sub == b.sub && eq(*a.u.self, *b.u.self, depth + 1);
    default: return a.u.self == b.u.self; // identity
    }
}

bool jv_eq(jv a, jv b)
{
    return eq(a, b, 0);
}

const char *jv_typename(int kind)
{
    static const char *const names[] = {
        [JV_UNDEF] = "Undefined", [JV_NONE] = "NoneType", [JV_BOOL] = "bool",
        [JV_INT] = "int",         [JV_FLOAT] = "float",   [JV_STR] = "str",
        [JV_LIST] = "list",       [JV_TUPLE] = "tuple",   [JV_DICT] = "dict",
        [JV_NS] = "Namespace",    [JV_MACRO] = "Macro",   [JV_FUNC] = "builtin_function_or_method",
        [JV_METHOD] = "builtin_function_or_method",       [JV_LOOP] = "LoopContext",
        [JV_ABSENT] = "missing",  [JV_GEN] = "generator",
    };
    return kind >= 0 && kind < (int)WK_ARRAY_LEN(names) ? names[kind] : "object";
}

static int cmp(jrender *r, jv a, jv b, const char *op, int *c, int depth)
{
    if (depth > JJ_MAX_VALUE_DEPTH) { return jr_fail(r, "values nested too deeply to compare"); }
    if (a.k == JV_UNDEF) { return jv_undef_fail(r, a); }
    if (b.k == JV_UNDEF) { return jv_undef_fail(r, b); }
    if (jv_is_num(a) && jv_is_num(b)) {
        if (a.k != JV_FLOAT && b.k != JV_FLOAT) {
            int64_t x = a.k == JV_INT ? a.u.i : a.u.b, y = b.k == JV_INT ? b.u.i : b.u.b;
            *c = (x > y) - (x < y);
            return 0;
        }
        double x = num(a), y = num(b);
        *c = isnan(x) || isnan(y) ? 2 : (x > y) - (x < y); // 2: unordered (NaN)
        return 0;
    }
    if (a.k == JV_STR && b.k == JV_STR) {
        int m = memcmp(a.u.s, b.u.s, a.n < b.n ? a.n : b.n);
        *c = m ? (m > 0) - (m < 0) : (a.n > b.n) - (a.n < b.n);
        return 0;
    }
    if ((a.k == JV_LIST || a.k == JV_TUPLE) && a.k == b.k) {
        uint32_t n = a.u.l->n < b.u.l->n ? a.u.l->n : b.u.l->n;
        for (uint32_t i = 0; i < n; i++) {
            if (!jv_eq(a.u.l->v[i], b.u.l->v[i])) {
                return cmp(r, a.u.l->v[i], b.u.l->v[i], op, c, depth + 1);
            }
        }
        *c = (a.u.l->n > b.u.l->n) - (a.u.l->n < b.u.l->n);
        return 0;
    }
    return jr_fail(r, "'%s' not supported between instances of '%s' and '%s'", op,
                   jv_typename(a.k), jv_typename(b.k));
}

int jv_cmp(jrender *r, jv a, jv b, const char *op, int *c)
{
    return cmp(r, a, b, op, c, 0);
}

// --- undefined -----------------------------------------------------------------------------------
static const char *type_repr(int kind)
{
    switch (kind) {
    case JV_NONE: return "None";
    case JV_NS: return "jinja2.utils.Namespace object";
    case JV_LOOP: return "jinja2.runtime.LoopContext object";
    default: return NULL;
    }
}

void jv_undef_msg(jv v, char *buf, size_t n)
{
    const char *tr = type_repr(v.aux);
    char obj[64];
    if (tr) {
        snprintf(obj, sizeof obj, "%s", tr);
    } else {
        snprintf(obj, sizeof obj, "%s object", jv_typename(v.aux));
    }
    switch (v.sub) {
    case JU_NAME: snprintf(buf, n, "'%.200s' is undefined", v.u.s); break;
    case JU_ATTR: snprintf(buf, n, "'%s' has no attribute '%.200s'", obj, v.u.s); break;
    case JU_ELEM: snprintf(buf, n, "%s has no element %u", obj, v.n); break;
    case JU_UNSAFE:
        snprintf(buf, n, "access to attribute '%.200s' of '%s' object is unsafe", v.u.s,
                 jv_typename(v.aux));
        break;
    case JU_HINT: snprintf(buf, n, "%.400s", v.u.s); break;
    default: snprintf(buf, n, "value is undefined"); break;
    }
}

int jv_undef_fail(jrender *r, jv v)
{
    char m[440];
    jv_undef_msg(v, m, sizeof m);
    return jr_fail(r, "%s", m);
}

static jv undef_attr(jv obj, const char *name, int sub)
{
    return (jv){.k = JV_UNDEF, .sub = (uint8_t)sub, .aux = obj.k, .u.s = name};
}

// --- len, iteration, membership ------------------------------------------------------------------
int jv_len(jrender *r, jv v, int64_t *out)
{
    switch (v.k) {
    case JV_UNDEF: *out = 0; return 0;
    case JV_STR: *out = (int64_t)jj_utf8_count(v.u.s, v.n); return 0;
    case JV_LIST:
    case JV_TUPLE: *out = v.u.l->n; return 0;
    case JV_DICT: *out = v.u.d->n; return 0;
    case JV_LOOP: *out = v.u.lp->items->n; return 0;
    default: return jr_fail(r, "object of type '%s' has no len()", jv_typename(v.k));
    }
}

int jv_iter(jrender *r, jv v, jlist **out)
{
    switch (v.k) {
    case JV_LIST:
    case JV_TUPLE: *out = v.u.l; return 0;
    case JV_UNDEF: return (*out = jl_new(r, 0)) ? 0 : -1;
    case JV_GEN: {
        jgen *g = v.u.g;
        jlist *l = jl_new(r, 0);
        if (!l) { return -1; }
        if (g->pos < g->items->n) { l->v = g->items->v + g->pos; } // (else v may be NULL)
        l->n = l->cap = g->items->n - g->pos;
        g->pos = g->items->n;
        *out = l;
        return 0;
    }
    case JV_DICT: {
        jlist *l = jl_new(r, v.u.d->n);
        if (!l) { return -1; }
        jj_copy(l->v, v.u.d->key, (size_t)v.u.d->n * sizeof(jv));
        l->n = v.u.d->n;
        *out = l;
        return 0;
    }
    case JV_STR: {
        jlist *l = jl_new(r, v.n);
        if (!l) { return -1; }
        for (size_t i = 0; i < v.n;) {
            size_t s = i;
            jj_utf8_next(v.u.s, v.n, &i);
            l->v[l->n++] = jv_strn(v.u.s + s, (uint32_t)(i - s));
        }
        *out = l;
        return 0;
    }
    default: return jr_fail(r, "'%s' object is not iterable", jv_typename(v.k));
    }
}

int jv_contains(jrender *r, jv c, jv x, bool *out)
{
    *out = false;
    switch (c.k) {
    case JV_STR:
        if (x.k != JV_STR) {
            return jr_fail(r, "'in <string>' requires string as left operand, not %s",
                           jv_typename(x.k));
        }
        if (x.n == 0) {
            *out = true;
        } else if (x.n <= c.n) {
            *out = jj_memmem(c.u.s, c.n, x.u.s, x.n) != NULL;
        }
        return 0;
    case JV_LIST:
    case JV_TUPLE:
        for (uint32_t i = 0; i < c.u.l->n && !*out; i++) {
            *out = jv_eq(c.u.l->v[i], x);
        }
        return 0;
    case JV_DICT: {
        if (!jv_hashable(x)) { return jr_fail(r, "unhashable type: '%s'", jv_typename(x.k)); }
        jv dummy;
        *out = jd_get(c.u.d, x, &dummy);
        return 0;
    }
    case JV_UNDEF: return 0; // Undefined iterates as empty
    case JV_GEN: // consumed up to the first match
        while (c.u.g->pos < c.u.g->items->n && !*out) {
            *out = jv_eq(c.u.g->items->v[c.u.g->pos++], x);
        }
        return 0;
    default: return jr_fail(r, "argument of type '%s' is not iterable", jv_typename(c.k));
    }
}

// --- attribute and item access -------------------------------------------------------------------
static bool is_dunder(jv name)
{
    return name.n >= 1 && name.u.s[0] == '_' && name.n >= 2 && name.u.s[1] == '_';
}

int jv_getattr(jrender *r, jv obj, jv name, jv *out)
{
    const char *nm = name.u.s; // names from the template are NUL-terminated
    switch (obj.k) {
    case JV_UNDEF: return jv_undef_fail(r, obj);
    case JV_LOOP: return jr_loop_attr(r, obj.u.lp, name, out);
    case JV_NS:
        if (!jd_get(obj.u.d, name, out)) { *out = undef_attr(obj, nm, JU_ATTR); }
        return 0;
    default: break;
    }
    if (is_dunder(name)) {
        *out = undef_attr(obj, nm, JU_UNSAFE);
        return 0;
    }
    if (jr_method_lookup(r, obj, name, out)) { return r->have_err ? -1 : 0; }
    if (obj.k == JV_DICT && jd_get(obj.u.d, name, out)) { return 0; }
    *out = undef_attr(obj, nm, JU_ATTR);
    return 0;
}

// Index i (negative from the end) of n elements, or -1 when out of range.
static int64_t norm_index(int64_t i, int64_t n)
{
    if (i < 0) { i += n; }
    return i >= 0 && i < n ? i : -1;
}

// Byte offset of character index ci in s (ci <= count), by scanning.
static size_t char_offset(const char *s, size_t n, int64_t ci)
{
    size_t i = 0;
    for (int64_t k = 0; k < ci && i < n; k++) {
        jj_utf8_next(s, n, &i);
    }
    return i;
}

int jv_getitem(jrender *r, jv obj, jv key, jv *out)
{
    if (obj.k == JV_UNDEF) { return jv_undef_fail(r, obj); }
    bool int_key = key.k == JV_INT || key.k == JV_BOOL;
    int64_t ki = key.k == JV_INT ? key.u.i : key.k == JV_BOOL ? key.u.b : 0;
    switch (obj.k) {
    case JV_DICT:
        if (jv_hashable(key) && jd_get(obj.u.d, key, out)) { return 0; }
        break;
    case JV_LIST:
    case JV_TUPLE:
        if (int_key) {
            int64_t i = norm_index(ki, obj.u.l->n);
            if (i >= 0) {
                *out = obj.u.l->v[i];
                return 0;
            }
        }
        break;
    case JV_STR:
        if (int_key) {
            int64_t n = (int64_t)jj_utf8_count(obj.u.s, obj.n);
            int64_t i = norm_index(ki, n);
            if (i >= 0) {
                size_t b = char_offset(obj.u.s, obj.n, i), e = b;
                jj_utf8_next(obj.u.s, obj.n, &e);
                *out = jv_strn(obj.u.s + b, (uint32_t)(e - b));
                out->sub = obj.sub;
                return 0;
            }
        }
        break;
    case JV_NS:
    case JV_LOOP:
        if (key.k == JV_STR) { return jv_getattr(r, obj, key, out); }
        break;
    default: break;
    }
    if (key.k == JV_STR) {
        // the name may not be NUL-terminated (a runtime string): keep a terminated copy
        char *c = jr_alloc(r, (size_t)key.n + 1);
        if (!c) { return -1; }
        memcpy(c, key.u.s, key.n);
        c[key.n] = '\0';
        if (is_dunder(key)) {
            *out = undef_attr(obj, c, JU_UNSAFE);
            return 0;
        }
        if (jr_method_lookup(r, obj, key, out)) { return r->have_err ? -1 : 0; }
        *out = undef_attr(obj, c, JU_ATTR);
        return 0;
    }
    *out = (jv){.k = JV_UNDEF, .sub = int_key ? JU_ELEM : JU_PLAIN, .aux = obj.k,
                .n = (uint32_t)ki};
    return 0;
}

// Python's slice.indices(n) for a step that is not 0.
static void slice_indices(jv start, jv stop, int64_t step, int64_t n, int64_t *b, int64_t *e)
{
    int64_t lo = step < 0 ? -1 : 0, hi = step < 0 ? n - 1 : n;
    if (start.k == JV_NONE) {
        *b = step < 0 ? hi : lo;
    } else {
        int64_t s = start.k == JV_INT ? start.u.i : start.u.b;
        if (s < 0) { s += n; }
        *b = s < lo ? lo : s > hi ? hi : s;
    }
    if (stop.k == JV_NONE) {
        *e = step < 0 ? lo : hi;
    } else {
        int64_t s = stop.k == JV_INT ? stop.u.i : stop.u.b;
        if (s < 0) { s += n; }
        *e = s < lo ? lo : s > hi ? hi : s;
    }
}

int jv_slice(jrender *r, jv obj, jv start, jv stop, jv step, jv *out)
{
    if (obj.k == JV_UNDEF) { return jv_undef_fail(r, obj); }
    jv parts[3] = {start, stop, step};
    for (int i = 0; i < 3; i++) {
        if (parts[i].k == JV_ABSENT || parts[i].k == JV_UNDEF) { parts[i] = jv_none(); }
        if (parts[i].k != JV_NONE && parts[i].k != JV_INT && parts[i].k != JV_BOOL) {
            *out = (jv){.k = JV_UNDEF, .sub = JU_PLAIN}; // TypeError: jinja2 gives undefined
            return 0;
        }
    }
    int64_t st = parts[2].k == JV_NONE ? 1 : parts[2].k == JV_INT ? parts[2].u.i : parts[2].u.b;
    if (st == 0) { return jr_fail(r, "slice step cannot be zero"); }
    bool is_str = obj.k == JV_STR;
    if (!is_str && obj.k != JV_LIST && obj.k != JV_TUPLE) {
        *out = (jv){.k = JV_UNDEF, .sub = JU_PLAIN};
        return 0;
    }
    int64_t n = is_str ? (int64_t)jj_utf8_count(obj.u.s, obj.n) : obj.u.l->n, b, e;
    slice_indices(parts[0], parts[1], st, n, &b, &e);
    int64_t count =
        st > 0 ? (e > b ? (e - b + st - 1) / st : 0) : (b > e ? (b - e - st - 1) / -st : 0);
    if (is_str) {
        if (st == 1 && n == (int64_t)obj.n) { // ASCII: a view
            *out = jv_strn(obj.u.s + b, (uint32_t)count);
            out->sub = obj.sub;
            return 0;
        }
        // character offsets, then copy the chosen characters
        uint32_t *offs = jr_alloc(r, ((size_t)n + 1) * sizeof *offs);
        if (!offs) { return -1; }
        size_t i = 0;
        for (int64_t k = 0; k < n; k++) {
            offs[k] = (uint32_t)i;
            jj_utf8_next(obj.u.s, obj.n, &i);
        }
        offs[n] = obj.n;
        if (st == 1) {
            *out = jv_strn(obj.u.s + offs[b], offs[b + count] - offs[b]);
            out->sub = obj.sub;
            return 0;
        }
        jsb sb = {0};
        for (int64_t k = 0, c = b; k < count; k++, c += st) {
            if (jsb_put(r, &sb, obj.u.s + offs[c], offs[c + 1] - offs[c]) < 0) { return -1; }
        }
        *out = jsb_take(&sb);
        out->sub = obj.sub;
        return 0;
    }
    jlist *l = jl_new(r, (uint32_t)count);
    if (!l) { return -1; }
    for (int64_t k = 0, c = b; k < count; k++, c += st) {
        l->v[l->n++] = obj.u.l->v[c];
    }
    *out = obj.k == JV_TUPLE ? jv_tuple(l) : jv_list(l);
    return 0;
}

int jv_attrpath(jrender *r, jv v, jv path, jv *out)
{
    if (path.k == JV_INT) { return jv_getitem(r, v, path, out); }
    if (path.k != JV_STR) {
        *out = v;
        return 0;
    }
    size_t i = 0;
    while (i <= path.n) {
        size_t j = i;
        while (j < path.n && path.u.s[j] != '.') {
            j++;
        }
        jv key = jv_strn(path.u.s + i, (uint32_t)(j - i));
        bool digits = j > i;
        int64_t k = 0;
        for (size_t q = i; q < j && digits; q++) {
            digits = path.u.s[q] >= '0' && path.u.s[q] <= '9' && k < INT64_MAX / 10;
            k = k * 10 + (path.u.s[q] - '0');
        }
        if (digits) { key = jv_int(k); }
        if (jv_getitem(r, v, key, &v) < 0) { return -1; }
        i = j + 1;
    }
    *out = v;
    return 0;
}

int jv_gen(jrender *r, jlist *items, const char *what, jv *out)
{
    jgen *g = jr_alloc(r, sizeof *g);
    if (!g) { return -1; }
    g->items = items;
    g->pos = 0;
    g->what = what;
    *out = (jv){.k = JV_GEN, .u.g = g};
    return 0;
}
