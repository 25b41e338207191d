// eval.c — expressions: names (scopes, then the context, then the globals), literals, attribute
// and item access, calls (macros, global functions, methods, loop objects), filters and tests,
// and Python's operators on template values (int overflow is an error: wick's integers are
// 64-bit where Python's have no bound).
#include <math.h>
#include <string.h>

#include "chat/jinja.h"

static int eval(jrender *r, const jnode *n, jv *out);

int jr_enter(jrender *r, const jnode *n)
{
    if (++r->depth > JJ_MAX_EVAL_DEPTH) {
        r->depth--;
        if (r->err_pos == JJ_NOPOS) { r->err_pos = n->pos; }
        r->over_limit = !r->have_err;
        return jr_fail(r, "evaluation nested too deeply (limit %d levels; a macro calling "
                          "itself without end?)", JJ_MAX_EVAL_DEPTH);
    }
    return 0;
}

int jr_leave(jrender *r, const jnode *n, int rc)
{
    r->depth--;
    if (rc < 0 && r->err_pos == JJ_NOPOS) { r->err_pos = n->pos; }
    return rc;
}

int jr_eval(jrender *r, const jnode *n, jv *out)
{
    if (jr_enter(r, n) < 0) { return -1; }
    return jr_leave(r, n, eval(r, n, out));
}

static jv lookup(jrender *r, int32_t sym)
{
    for (const jscope *s = r->sc; s; s = s->parent) {
        for (uint32_t i = s->n; i-- > 0;) {
            if (s->sym[i] == sym) { return s->val[i]; }
        }
    }
    return r->globals[sym];
}

// --- arguments -----------------------------------------------------------------------------------
// Evaluates n->kid[first..] and n->kw into a (arena arrays).
static int eval_args(jrender *r, const jnode *n, uint32_t first, jargs *a)
{
    uint32_t np = n->n > first ? n->n - first : 0;
    jv *pos = np ? jr_alloc(r, np * sizeof *pos) : NULL;
    jv *kwv = n->n_kw ? jr_alloc(r, n->n_kw * sizeof *kwv) : NULL;
    int32_t *kws = n->n_kw ? jr_alloc(r, n->n_kw * sizeof *kws) : NULL;
    if ((np && !pos) || (n->n_kw && (!kwv || !kws))) { return -1; }
    for (uint32_t i = 0; i < np; i++) {
        if (jr_eval(r, n->kid[first + i], &pos[i]) < 0) { return -1; }
    }
    for (uint32_t i = 0; i < n->n_kw; i++) {
        kws[i] = n->kw[i].sym;
        if (jr_eval(r, n->kw[i].val, &kwv[i]) < 0) { return -1; }
    }
    *a = (jargs){pos, np, kws, kwv, n->n_kw};
    return 0;
}

// --- calls ---------------------------------------------------------------------------------------
static int loop_method(jrender *r, jloop *lp, int m, const jargs *a, jv *out)
{
    if (m == JM_LOOP_CYCLE) {
        if (a->n_kw) { return jr_fail(r, "loop.cycle() takes no keyword arguments"); }
        if (a->n_pos == 0) { return jr_fail(r, "no items for cycling given"); }
        *out = a->pos[lp->i % a->n_pos];
        return 0;
    }
    // loop.changed(*values): true when the values differ from the last call's
    jlist *l = jl_new(r, a->n_pos);
    if (!l) { return -1; }
    if (a->n_pos) { memcpy(l->v, a->pos, a->n_pos * sizeof(jv)); }
    l->n = a->n_pos;
    jv now = jv_tuple(l);
    bool changed = !lp->has_last || !jv_eq(lp->last, now);
    lp->last = now;
    lp->has_last = true;
    *out = jv_bool(changed);
    return 0;
}

int jr_call(jrender *r, jv fn, const jargs *a, jv *out)
{
    if (!jr_step(r)) { return -1; }
    switch (fn.k) {
    case JV_MACRO: return jr_call_macro(r, fn.u.m, a, jv_absent(), out);
    case JV_FUNC: return jr_call_global(r, fn.sub, a, out);
    case JV_METHOD:
        if (fn.u.self->k == JV_LOOP) { return loop_method(r, fn.u.self->u.lp, fn.sub, a, out); }
        return jr_call_method(r, *fn.u.self, fn.sub, a, out);
    case JV_LOOP: return jr_loop_call(r, fn.u.lp, a, out);
    case JV_UNDEF: return jv_undef_fail(r, fn);
    default: return jr_fail(r, "'%s' object is not callable", jv_typename(fn.k));
    }
}

static int eval_call(jrender *r, const jnode *n, jv *out)
{
    jv fn;
    jargs a;
    if (jr_eval(r, n->kid[0], &fn) < 0 || eval_args(r, n, 1, &a) < 0) { return -1; }
    return jr_call(r, fn, &a, out);
}

// A filter node: the subject (given, or kid[0] evaluated, recursively for chains), then the filter.
static int eval_filter(jrender *r, const jnode *n, const jv *subject, jv *out)
{
    jv v;
    if (!n->kid[0]) {
        v = *subject;
    } else if (subject && n->kid[0]->type == N_FILTER) {
        if (eval_filter(r, n->kid[0], subject, &v) < 0) { return -1; }
    } else if (jr_eval(r, n->kid[0], &v) < 0) {
        return -1;
    }
    jargs a;
    if (eval_args(r, n, 1, &a) < 0) { return -1; }
    int rc = jr_filter(r, n->id, v, &a, out);
    if (rc < 0 && r->err_pos == JJ_NOPOS) { r->err_pos = n->pos; }
    return rc;
}

int jr_apply_filters(jrender *r, const jnode *chain, jv subject, jv *out)
{
    return eval_filter(r, chain, &subject, out);
}

// --- operators -----------------------------------------------------------------------------------
static const char *op_text(int op)
{
    static const char *const t[] = {"", "+", "-", "*", "/", "//", "%", "**", "~",
                                    "==", "!=", "<", "<=", ">", ">=", "in", "not in"};
    return op > 0 && op < (int)WK_ARRAY_LEN(t) ? t[op] : "?";
}

static int overflow(jrender *r)
{
    return jr_fail(r, "integer overflow (wick's integers are 64-bit)");
}

static int repeat(jrender *r, jv seq, int64_t times, jv *out)
{
    if (times < 0) { times = 0; }
    if (seq.k == JV_STR) {
        size_t total;
        if (!wk_mul_size(seq.n, (size_t)times, &total) || total > UINT32_MAX - 1) {
            return jr_fail(r, "string repetition too long");
        }
        char *p = total ? jr_alloc(r, total) : (char *)"";
        if (!p) { return -1; }
        for (int64_t i = 0; i < times; i++) {
            memcpy(p + (size_t)i * seq.n, seq.u.s, seq.n);
        }
        *out = jv_strn(p, (uint32_t)total);
        out->sub = seq.sub; // Markup * n is Markup
        return 0;
    }
    size_t total;
    if (!wk_mul_size(seq.u.l->n, (size_t)times, &total) || total > UINT32_MAX / 2) {
        return jr_fail(r, "list repetition too long");
    }
    jlist *l = jl_new(r, (uint32_t)total);
    if (!l) { return -1; }
    for (int64_t i = 0; i < times; i++) {
        jj_copy(l->v + (size_t)i * seq.u.l->n, seq.u.l->v, seq.u.l->n * sizeof(jv));
    }
    l->n = (uint32_t)total;
    *out = seq.k == JV_TUPLE ? jv_tuple(l) : jv_list(l);
    return 0;
}

// Markup % args: the string arguments are escaped first.
static int markup_args(jrender *r, jv *args)
{
    if (args->k == JV_STR) { return jj_escape(r, *args, args); }
    if (args->k == JV_TUPLE) {
        jlist *l = jl_new(r, args->u.l->n);
        if (!l) { return -1; }
        for (uint32_t i = 0; i < args->u.l->n; i++) {
            jv x = args->u.l->v[i];
            if (x.k == JV_STR && jj_escape(r, x, &x) < 0) { return -1; }
            l->v[l->n++] = x;
        }
        *args = jv_tuple(l);
    }
    return 0;
}

static double fnum(jv v)
{
    return v.k == JV_FLOAT ? v.u.f : v.k == JV_INT ? (double)v.u.i : (double)v.u.b;
}

static int64_t inum(jv v)
{
    return v.k == JV_INT ? v.u.i : v.u.b;
}

static int int_pow(jrender *r, int64_t b, int64_t e, jv *out)
{
    if (e < 0) {
        if (b == 0) { return jr_fail(r, "0.0 cannot be raised to a negative power"); }
        *out = jv_float(pow((double)b, (double)e));
        return 0;
    }
    int64_t acc = 1;
    while (e > 0) {
        if ((e & 1) && __builtin_mul_overflow(acc, b, &acc)) { return overflow(r); }
        e >>= 1;
        if (e && __builtin_mul_overflow(b, b, &b)) { return overflow(r); }
    }
    *out = jv_int(acc);
    return 0;
}

int jr_binop(jrender *r, int op, jv a, jv b, jv *out)
{
    if (op == OP_CONCAT) {
        jsb s = {0};
        if (jv_write_str(r, &s, a) < 0 || jv_write_str(r, &s, b) < 0) { return -1; }
        *out = jsb_take(&s);
        return 0;
    }
    if (a.k == JV_UNDEF) { return jv_undef_fail(r, a); }
    if (b.k == JV_UNDEF) { return jv_undef_fail(r, b); }
    bool nums = jv_is_num(a) && jv_is_num(b), ints = nums && a.k != JV_FLOAT && b.k != JV_FLOAT;
    int64_t x = ints ? inum(a) : 0, y = ints ? inum(b) : 0, z;
    switch (op) {
    case OP_ADD:
        if (ints) {
            if (__builtin_add_overflow(x, y, &z)) { return overflow(r); }
            *out = jv_int(z);
            return 0;
        }
        if (nums) {
            *out = jv_float(fnum(a) + fnum(b));
            return 0;
        }
        if (a.k == JV_STR && b.k == JV_STR) {
            // Markup + str escapes the str (markupsafe), both ways round
            bool markup = a.sub == JS_MARKUP || b.sub == JS_MARKUP;
            if (markup && (jj_escape(r, a, &a) < 0 || jj_escape(r, b, &b) < 0)) { return -1; }
            jsb s = {0};
            if (jsb_put(r, &s, a.u.s, a.n) < 0 || jsb_put(r, &s, b.u.s, b.n) < 0) { return -1; }
            *out = jsb_take(&s);
            out->sub = markup ? JS_MARKUP : JS_PLAIN;
            return 0;
        }
        if ((a.k == JV_LIST || a.k == JV_TUPLE) && a.k == b.k) {
            jlist *l = jl_new(r, a.u.l->n + b.u.l->n);
            if (!l) { return -1; }
            jj_copy(l->v, a.u.l->v, a.u.l->n * sizeof(jv));
            jj_copy(l->v + a.u.l->n, b.u.l->v, b.u.l->n * sizeof(jv));
            l->n = a.u.l->n + b.u.l->n;
            *out = a.k == JV_LIST ? jv_list(l) : jv_tuple(l);
            return 0;
        }
        if (a.k == JV_STR || a.k == JV_LIST || a.k == JV_TUPLE) {
            return jr_fail(r, "can only concatenate %s (not \"%s\") to %s", jv_typename(a.k),
                           jv_typename(b.k), jv_typename(a.k));
        }
        break;
    case OP_SUB:
        if (ints) {
            if (__builtin_sub_overflow(x, y, &z)) { return overflow(r); }
            *out = jv_int(z);
            return 0;
        }
        if (nums) {
            *out = jv_float(fnum(a) - fnum(b));
            return 0;
        }
        break;
    case OP_MUL:
        if (ints) {
            if (__builtin_mul_overflow(x, y, &z)) { return overflow(r); }
            *out = jv_int(z);
            return 0;
        }
        if (nums) {
            *out = jv_float(fnum(a) * fnum(b));
            return 0;
        }
        if ((a.k == JV_STR || jv_is_seq(a)) && (b.k == JV_INT || b.k == JV_BOOL)) {
            return repeat(r, a, inum(b), out);
        }
        if ((b.k == JV_STR || jv_is_seq(b)) && (a.k == JV_INT || a.k == JV_BOOL)) {
            return repeat(r, b, inum(a), out);
        }
        break;
    case OP_DIV:
        if (nums) {
            if (fnum(b) == 0) { return jr_fail(r, "division by zero"); }
            *out = jv_float(fnum(a) / fnum(b));
            return 0;
        }
        break;
    case OP_FLOORDIV:
    case OP_MOD:
        if (ints) {
            if (y == 0) { return jr_fail(r, "integer division or modulo by zero"); }
            if (x == INT64_MIN && y == -1) {
                if (op == OP_FLOORDIV) { return overflow(r); }
                *out = jv_int(0);
                return 0;
            }
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) { // Python floors toward negative infinity
                q--;
                m += y;
            }
            *out = jv_int(op == OP_FLOORDIV ? q : m);
            return 0;
        }
        if (nums) {
            double p = fnum(a), q = fnum(b);
            if (q == 0) {
                return jr_fail(r, op == OP_MOD ? "float modulo" : "float floor division by zero");
            }
            if (op == OP_FLOORDIV) {
                *out = jv_float(floor(p / q));
                return 0;
            }
            double m = fmod(p, q);
            if (m != 0 && ((m < 0) != (q < 0))) { m += q; }
            *out = jv_float(m);
            return 0;
        }
        if (op == OP_MOD && a.k == JV_STR) {
            if (a.sub == JS_MARKUP && markup_args(r, &b) < 0) { return -1; }
            if (jj_percent_format(r, a, b, out) < 0) { return -1; }
            out->sub = a.sub;
            return 0;
        }
        break;
    case OP_POW:
        if (ints) { return int_pow(r, x, y, out); }
        if (nums) {
            if (fnum(a) == 0 && fnum(b) < 0) {
                return jr_fail(r, "0.0 cannot be raised to a negative power");
            }
            *out = jv_float(pow(fnum(a), fnum(b)));
            return 0;
        }
        break;
    }
    return jr_fail(r, "unsupported operand type(s) for %s: '%s' and '%s'", op_text(op),
                   jv_typename(a.k), jv_typename(b.k));
}

static int compare(jrender *r, int op, jv a, jv b, bool *out)
{
    int c;
    switch (op) {
    case OP_EQ: *out = jv_eq(a, b); return 0;
    case OP_NE: *out = !jv_eq(a, b); return 0;
    case OP_IN:
    case OP_NOTIN:
        if (jv_contains(r, b, a, out) < 0) { return -1; }
        if (op == OP_NOTIN) { *out = !*out; }
        return 0;
    default:
        if (jv_cmp(r, a, b, op_text(op), &c) < 0) { return -1; }
        *out = c != 2 && (op == OP_LT   ? c < 0
                          : op == OP_LE ? c <= 0
                          : op == OP_GT ? c > 0
                                        : c >= 0);
        return 0;
    }
}

// --- the evaluator ------------------------------------------------------------------------------
static int eval_seq(jrender *r, const jnode *n, jv *out)
{
    jlist *l = jl_new(r, n->n);
    if (!l) { return -1; }
    for (uint32_t i = 0; i < n->n; i++) {
        if (jr_eval(r, n->kid[i], &l->v[i]) < 0) { return -1; }
    }
    l->n = n->n;
    *out = n->type == N_LIST ? jv_list(l) : jv_tuple(l);
    return 0;
}

static int eval(jrender *r, const jnode *n, jv *out)
{
    jv a, b;
    switch (n->type) {
    case N_LIT: *out = n->lit; return 0;
    case N_NAME: *out = lookup(r, n->id); return 0;
    case N_LIST:
    case N_TUPLE: return eval_seq(r, n, out);
    case N_DICT: {
        jdict *d = jd_new(r, n->n / 2);
        if (!d) { return -1; }
        for (uint32_t i = 0; i + 1 < n->n; i += 2) {
            if (jr_eval(r, n->kid[i], &a) < 0 || jr_eval(r, n->kid[i + 1], &b) < 0) { return -1; }
            if (!jv_hashable(a)) {
                r->err_pos = n->kid[i]->pos;
                return jr_fail(r, "unhashable type: '%s'", jv_typename(a.k));
            }
            if (jd_set(r, d, a, b) < 0) { return -1; }
        }
        *out = jv_dict(d);
        return 0;
    }
    case N_ATTR:
        if (jr_eval(r, n->kid[0], &a) < 0) { return -1; }
        return jv_getattr(r, a, n->lit, out);
    case N_ITEM:
        if (jr_eval(r, n->kid[0], &a) < 0 || jr_eval(r, n->kid[1], &b) < 0) { return -1; }
        return jv_getitem(r, a, b, out);
    case N_SLICE: {
        jv p[3] = {jv_none(), jv_none(), jv_none()};
        if (jr_eval(r, n->kid[0], &a) < 0) { return -1; }
        for (int i = 0; i < 3; i++) {
            if (n->kid[i + 1] && jr_eval(r, n->kid[i + 1], &p[i]) < 0) { return -1; }
        }
        return jv_slice(r, a, p[0], p[1], p[2], out);
    }
    case N_CALL: return eval_call(r, n, out);
    case N_FILTER: return eval_filter(r, n, NULL, out);
    case N_TEST: {
        jargs args;
        bool ok;
        if (jr_eval(r, n->kid[0], &a) < 0 || eval_args(r, n, 1, &args) < 0 ||
            jr_test(r, n->id, a, &args, &ok) < 0) {
            return -1;
        }
        *out = jv_bool(ok != (n->op != 0));
        return 0;
    }
    case N_BIN:
        if (jr_eval(r, n->kid[0], &a) < 0 || jr_eval(r, n->kid[1], &b) < 0) { return -1; }
        return jr_binop(r, n->op, a, b, out);
    case N_CMP: {
        if (jr_eval(r, n->kid[0], &a) < 0) { return -1; }
        bool ok = true;
        for (uint32_t i = 0; i < n->lit.n && ok; i++) {
            if (jr_eval(r, n->kid[i + 1], &b) < 0) { return -1; }
            if (compare(r, (unsigned char)n->lit.u.s[i], a, b, &ok) < 0) {
                r->err_pos = n->kid[i + 1]->pos;
                return -1;
            }
            a = b;
        }
        *out = jv_bool(ok);
        return 0;
    }
    case N_AND:
    case N_OR:
        if (jr_eval(r, n->kid[0], &a) < 0) { return -1; }
        if (jv_truthy(a) == (n->type == N_OR)) {
            *out = a;
            return 0;
        }
        return jr_eval(r, n->kid[1], out);
    case N_NOT:
        if (jr_eval(r, n->kid[0], &a) < 0) { return -1; }
        *out = jv_bool(!jv_truthy(a));
        return 0;
    case N_NEG:
    case N_POS:
        if (jr_eval(r, n->kid[0], &a) < 0) { return -1; }
        if (a.k == JV_UNDEF) { return jv_undef_fail(r, a); }
        if (!jv_is_num(a)) {
            return jr_fail(r, "bad operand type for unary %c: '%s'", n->type == N_NEG ? '-' : '+',
                           jv_typename(a.k));
        }
        if (n->type == N_POS) {
            *out = a.k == JV_BOOL ? jv_int(a.u.b) : a;
        } else if (a.k == JV_FLOAT) {
            *out = jv_float(-a.u.f);
        } else {
            int64_t i = inum(a);
            if (i == INT64_MIN) { return overflow(r); }
            *out = jv_int(-i);
        }
        return 0;
    case N_COND:
        if (jr_eval(r, n->kid[0], &a) < 0) { return -1; }
        if (jv_truthy(a)) { return jr_eval(r, n->kid[1], out); }
        if (n->kid[2]) { return jr_eval(r, n->kid[2], out); }
        *out = (jv){.k = JV_UNDEF, .sub = JU_HINT,
                    .u.s = "the inline if-expression evaluated to false and no else section was "
                           "defined"};
        return 0;
    default: return jr_fail(r, "internal error: node %d is not an expression", n->type);
    }
}
