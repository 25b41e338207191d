// tests.c — jinja2's tests (`x is NAME(args)`), as jinja2 3.1 defines them: defined/undefined,
// the type tests (none, boolean, string, number, integer, float, mapping, iterable, sequence,
// callable), true/false, even/odd/divisibleby, lower/upper, escaped, in, sameas, filter/test, and
// the comparison aliases (eq, ne, gt, ge, lt, le and their long names).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chat/jinja.h"

enum {
    TS_DEFINED,
    TS_UNDEFINED,
    TS_NONE,
    TS_BOOLEAN,
    TS_FALSE,
    TS_TRUE,
    TS_INTEGER,
    TS_FLOAT,
    TS_NUMBER,
    TS_STRING,
    TS_MAPPING,
    TS_SEQUENCE,
    TS_ITERABLE,
    TS_CALLABLE,
    TS_ODD,
    TS_EVEN,
    TS_DIVISIBLEBY,
    TS_LOWER,
    TS_UPPER,
    TS_ESCAPED,
    TS_IN,
    TS_SAMEAS,
    TS_FILTER,
    TS_TEST,
    TS_EQ,
    TS_NE,
    TS_GT,
    TS_GE,
    TS_LT,
    TS_LE
};

static const struct {
    const char *name;
    int id;
} tests[] = {
    {"defined", TS_DEFINED}, {"undefined", TS_UNDEFINED}, {"none", TS_NONE},
    {"boolean", TS_BOOLEAN}, {"false", TS_FALSE},         {"true", TS_TRUE},
    {"integer", TS_INTEGER}, {"float", TS_FLOAT},         {"number", TS_NUMBER},
    {"string", TS_STRING},   {"mapping", TS_MAPPING},     {"sequence", TS_SEQUENCE},
    {"iterable", TS_ITERABLE}, {"callable", TS_CALLABLE}, {"odd", TS_ODD},
    {"even", TS_EVEN},       {"divisibleby", TS_DIVISIBLEBY}, {"lower", TS_LOWER},
    {"upper", TS_UPPER},     {"escaped", TS_ESCAPED},     {"in", TS_IN},
    {"sameas", TS_SAMEAS},   {"filter", TS_FILTER},       {"test", TS_TEST},
    {"==", TS_EQ},           {"eq", TS_EQ},               {"equalto", TS_EQ},
    {"!=", TS_NE},           {"ne", TS_NE},               {">", TS_GT},
    {"gt", TS_GT},           {"greaterthan", TS_GT},      {">=", TS_GE},
    {"ge", TS_GE},           {"<", TS_LT},                {"lt", TS_LT},
    {"lessthan", TS_LT},     {"<=", TS_LE},               {"le", TS_LE},
};

int jj_test_id(const char *name, size_t len)
{
    for (size_t i = 0; i < WK_ARRAY_LEN(tests); i++) {
        if (strlen(tests[i].name) == len && memcmp(tests[i].name, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int modulo_zero(jrender *r, jv v, jv d, bool *out)
{
    jv m;
    if (jr_binop(r, OP_MOD, v, d, &m) < 0) { return -1; }
    *out = jv_eq(m, jv_int(0));
    return 0;
}

int jr_test(jrender *r, int id, jv v, const jargs *a, bool *out)
{
    const char *name = tests[id].name;
    int t = tests[id].id;
    char what[64];
    snprintf(what, sizeof what, "test '%s'", name);
    static const char *const one[] = {"other"};
    jv arg[1] = {jv_absent()};
    bool takes_arg = t == TS_DIVISIBLEBY || t == TS_IN || t == TS_SAMEAS || t >= TS_EQ;
    if (jr_bind(r, what, a, one, takes_arg ? 1 : 0, arg) < 0) { return -1; }
    if (takes_arg && !jv_given(arg[0])) { return jr_fail(r, "%s: needs an argument", what); }
    jv o = arg[0];
    int c;
    switch (t) {
    case TS_DEFINED: *out = v.k != JV_UNDEF; return 0;
    case TS_UNDEFINED: *out = v.k == JV_UNDEF; return 0;
    case TS_NONE: *out = v.k == JV_NONE; return 0;
    case TS_BOOLEAN: *out = v.k == JV_BOOL; return 0;
    case TS_FALSE: *out = v.k == JV_BOOL && !v.u.b; return 0;
    case TS_TRUE: *out = v.k == JV_BOOL && v.u.b; return 0;
    case TS_INTEGER: *out = v.k == JV_INT; return 0;
    case TS_FLOAT: *out = v.k == JV_FLOAT; return 0;
    case TS_NUMBER: *out = jv_is_num(v); return 0;
    case TS_STRING: *out = v.k == JV_STR; return 0;
    case TS_MAPPING: *out = v.k == JV_DICT; return 0;
    case TS_SEQUENCE: *out = v.k == JV_STR || jv_is_seq(v) || v.k == JV_DICT; return 0;
    case TS_ITERABLE:
        *out = v.k == JV_STR || jv_is_seq(v) || v.k == JV_DICT || v.k == JV_UNDEF || v.k == JV_GEN;
        return 0;
    case TS_CALLABLE:
        *out = v.k == JV_MACRO || v.k == JV_FUNC || v.k == JV_METHOD || v.k == JV_LOOP ||
               v.k == JV_UNDEF;
        return 0;
    case TS_ODD:
    case TS_EVEN: {
        bool z;
        if (modulo_zero(r, v, jv_int(2), &z) < 0) { return -1; }
        *out = t == TS_EVEN ? z : !z;
        return 0;
    }
    case TS_DIVISIBLEBY: return modulo_zero(r, v, o, out);
    case TS_LOWER:
    case TS_UPPER: {
        jv s, m;
        if (jv_to_str(r, v, &s) < 0 || jj_case(r, s, t == TS_LOWER ? 'u' : 'l', &m) < 0) {
            return -1;
        }
        // islower: some cased character and none upper (compare with the mapping both ways)
        jv back;
        if (jj_case(r, s, t == TS_LOWER ? 'l' : 'u', &back) < 0) { return -1; }
        *out = jv_eq(back, s) && !jv_eq(m, s);
        return 0;
    }
    case TS_ESCAPED: *out = v.k == JV_STR && v.sub == JS_MARKUP; return 0;
    case TS_IN: return jv_contains(r, o, v, out);
    case TS_SAMEAS:
        if (v.k != o.k) {
            *out = false;
        } else if (v.k == JV_NONE || v.k == JV_UNDEF) {
            *out = true;
        } else if (v.k == JV_BOOL) {
            *out = v.u.b == o.u.b;
        } else if (v.k == JV_INT) {
            *out = v.u.i == o.u.i && v.u.i >= -5 && v.u.i <= 256; // CPython's small ints
        } else if (v.k == JV_STR) {
            *out = v.u.s == o.u.s && v.n == o.n;
        } else {
            *out = v.u.self == o.u.self;
        }
        return 0;
    case TS_FILTER: *out = v.k == JV_STR && jj_filter_id(v.u.s, v.n) >= 0; return 0;
    case TS_TEST: *out = v.k == JV_STR && jj_test_id(v.u.s, v.n) >= 0; return 0;
    case TS_EQ: *out = jv_eq(v, o); return 0;
    case TS_NE: *out = !jv_eq(v, o); return 0;
    default: break;
    }
    static const char *const ops[] = {">", ">=", "<", "<="};
    if (jv_cmp(r, v, o, ops[t - TS_GT], &c) < 0) { return -1; }
    *out = c != 2 && (t == TS_GT ? c > 0 : t == TS_GE ? c >= 0 : t == TS_LT ? c < 0 : c <= 0);
    return 0;
}
