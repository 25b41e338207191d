// exec.c — statements and scopes, as jinja2 scopes them: a for loop's body (each iteration), a
// macro call, a call block's caller, with, filter and set blocks and {% generation %} run in a
// scope of their own, so a {% set %} inside them is gone after them (hence namespace()); if
// blocks share their enclosing scope. Macros close over the scope they were defined in.
// Also: the loop object, macro calls, argument binding, errors, limits, and the render entry.
#include <stdio.h>
#include <string.h>

#include "chat/jinja.h"

enum { R_BREAK = 1, R_CONTINUE = 2 };

// --- errors, memory, limits ----------------------------------------------------------------------
int jr_fail(jrender *r, const char *fmt, ...)
{
    if (!r->have_err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, sizeof r->err, fmt, ap);
        va_end(ap);
        r->have_err = true;
    }
    return -1;
}

int jr_oom(jrender *r)
{
    if (r->a.capped) {
        r->over_limit = !r->have_err;
        return jr_fail(r, "the render needs more than its memory limit of %zu bytes", r->a.max);
    }
    return jr_fail(r, "out of memory");
}

void *jr_alloc(jrender *r, size_t n)
{
    void *p = ja_alloc(&r->a, n);
    if (!p) { jr_oom(r); }
    return p;
}

bool jr_step(jrender *r)
{
    if (++r->steps <= r->max_steps) { return true; }
    r->over_limit = !r->have_err;
    jr_fail(r, "the template ran more than %llu steps (a loop too long?)",
            (unsigned long long)r->max_steps);
    return false;
}

const char *jr_symname(const jrender *r, int32_t sym)
{
    return r->t->syms.name[sym];
}

int jr_bind(jrender *r, const char *what, const jargs *a, const char *const *names, int n_names,
            jv *out)
{
    for (int i = 0; i < n_names; i++) {
        out[i] = jv_absent();
    }
    if (a->n_pos > (uint32_t)n_names) {
        return jr_fail(r, "%s takes at most %d argument%s (%u given)", what, n_names,
                       n_names == 1 ? "" : "s", a->n_pos);
    }
    for (uint32_t i = 0; i < a->n_pos; i++) {
        out[i] = a->pos[i];
    }
    for (uint32_t k = 0; k < a->n_kw; k++) {
        const char *name = jr_symname(r, a->kw_sym[k]);
        int j = 0;
        while (j < n_names && strcmp(names[j], name) != 0) {
            j++;
        }
        if (j == n_names) {
            return jr_fail(r, "%s got an unexpected keyword argument '%s'", what, name);
        }
        if (jv_given(out[j])) {
            return jr_fail(r, "%s got multiple values for argument '%s'", what, name);
        }
        out[j] = a->kw_val[k];
    }
    return 0;
}

// --- scopes --------------------------------------------------------------------------------------
static jscope *new_scope(jrender *r, jscope *parent)
{
    jscope *s = jr_alloc(r, sizeof *s);
    if (!s) { return NULL; }
    *s = (jscope){.parent = parent};
    return s;
}

static int scope_set(jrender *r, jscope *s, int32_t sym, jv v)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->sym[i] == sym) {
            s->val[i] = v;
            return 0;
        }
    }
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 8;
        int32_t *ns = jr_alloc(r, cap * sizeof *ns);
        jv *nv = jr_alloc(r, cap * sizeof *nv);
        if (!ns || !nv) { return -1; }
        if (s->n) {
            memcpy(ns, s->sym, s->n * sizeof *ns);
            memcpy(nv, s->val, s->n * sizeof *nv);
        }
        s->sym = ns;
        s->val = nv;
        s->cap = cap;
    }
    s->sym[s->n] = sym;
    s->val[s->n] = v;
    s->n++;
    return 0;
}

// Assigns v to a target: a name, or names unpacked from an iterable (nested).
static int assign(jrender *r, jscope *s, const jnode *t, jv v)
{
    if (t->type == N_NAME) { return scope_set(r, s, t->id, v); }
    jlist *l;
    if (jv_iter(r, v, &l) < 0) {
        r->have_err = false;
        return jr_fail(r, "cannot unpack non-iterable %s object", jv_typename(v.k));
    }
    if (l->n < t->n) {
        return jr_fail(r, "not enough values to unpack (expected %u, got %u)", t->n, l->n);
    }
    if (l->n > t->n) { return jr_fail(r, "too many values to unpack (expected %u)", t->n); }
    for (uint32_t i = 0; i < t->n; i++) {
        if (assign(r, s, t->kid[i], l->v[i]) < 0) { return -1; }
    }
    return 0;
}

// Runs body with its output going to a new string (*out); in a new scope when scoped.
static int capture(jrender *r, const jnode *body, jscope *scope, jv *out)
{
    jsb b = {0};
    jsb *saved_out = r->out;
    jscope *saved_sc = r->sc;
    r->out = &b;
    if (scope) { r->sc = scope; }
    int rc = jr_exec(r, body);
    r->out = saved_out;
    r->sc = saved_sc;
    if (rc < 0) { return rc; }
    if (rc > 0) { return jr_fail(r, "'break' or 'continue' outside a loop"); }
    *out = jsb_take(&b);
    return 0;
}

// --- loops ---------------------------------------------------------------------------------------
static bool name_is(jv name, const char *s)
{
    size_t n = strlen(s);
    return name.n == n && memcmp(name.u.s, s, n) == 0;
}

int jr_loop_attr(jrender *r, jloop *lp, jv name, jv *out)
{
    uint32_t n = lp->items->n, i = lp->i;
    if (name_is(name, "index")) {
        *out = jv_int(i + 1);
    } else if (name_is(name, "index0")) {
        *out = jv_int(i);
    } else if (name_is(name, "revindex")) {
        *out = jv_int(n - i);
    } else if (name_is(name, "revindex0")) {
        *out = jv_int((int64_t)n - i - 1);
    } else if (name_is(name, "first")) {
        *out = jv_bool(i == 0);
    } else if (name_is(name, "last")) {
        *out = jv_bool(i + 1 == n);
    } else if (name_is(name, "length")) {
        *out = jv_int(n);
    } else if (name_is(name, "depth")) {
        *out = jv_int(lp->depth);
    } else if (name_is(name, "depth0")) {
        *out = jv_int(lp->depth - 1);
    } else if (name_is(name, "previtem")) {
        *out = i > 0 ? lp->items->v[i - 1]
                     : (jv){.k = JV_UNDEF, .sub = JU_HINT, .u.s = "there is no previous item"};
    } else if (name_is(name, "nextitem")) {
        *out = i + 1 < n ? lp->items->v[i + 1]
                         : (jv){.k = JV_UNDEF, .sub = JU_HINT, .u.s = "there is no next item"};
    } else if (name_is(name, "cycle") || name_is(name, "changed")) {
        jv *self = jr_alloc(r, sizeof *self);
        if (!self) { return -1; }
        *self = (jv){.k = JV_LOOP, .u.lp = lp};
        *out = (jv){.k = JV_METHOD, .sub = name_is(name, "cycle") ? JM_LOOP_CYCLE : JM_LOOP_CHANGED,
                    .u.self = self};
    } else {
        char *c = jr_alloc(r, (size_t)name.n + 1);
        if (!c) { return -1; }
        memcpy(c, name.u.s, name.n);
        c[name.n] = '\0';
        *out = (jv){.k = JV_UNDEF, .sub = JU_ATTR, .aux = JV_LOOP, .u.s = c};
    }
    return 0;
}

// The items of a for loop (its iterable, filtered by its condition with the target bound).
static int loop_items(jrender *r, const jnode *n, jv iterable, jlist **out)
{
    jlist *l;
    if (jv_iter(r, iterable, &l) < 0) { return -1; }
    if (!n->kid[2]) {
        *out = l;
        return 0;
    }
    jlist *f = jl_new(r, l->n);
    jscope *s = new_scope(r, r->sc);
    if (!f || !s) { return -1; }
    jscope *saved = r->sc;
    r->sc = s;
    for (uint32_t i = 0; i < l->n; i++) {
        jv ok;
        s->n = 0;
        if (!jr_step(r) || assign(r, s, n->kid[0], l->v[i]) < 0 || jr_eval(r, n->kid[2], &ok) < 0) {
            r->sc = saved;
            return -1;
        }
        if (jv_truthy(ok)) { f->v[f->n++] = l->v[i]; }
    }
    r->sc = saved;
    *out = f;
    return 0;
}

static int run_loop(jrender *r, const jnode *n, jv iterable, int depth)
{
    jlist *items;
    if (loop_items(r, n, iterable, &items) < 0) { return -1; }
    jscope *saved = r->sc;
    if (items->n == 0) {
        if (!n->alt) { return 0; }
        jscope *s = new_scope(r, saved);
        if (!s) { return -1; }
        r->sc = s;
        int rc = jr_exec(r, n->alt);
        r->sc = saved;
        return rc;
    }
    jloop *lp = jr_alloc(r, sizeof *lp);
    jscope *s = new_scope(r, saved);
    if (!lp || !s) { return -1; }
    *lp = (jloop){.items = items, .depth = depth, .def = n, .scope = saved};
    jv loopv = {.k = JV_LOOP, .u.lp = lp};
    r->sc = s;
    int rc = 0;
    for (uint32_t i = 0; i < items->n; i++) {
        lp->i = i;
        s->n = 0; // a fresh scope for each iteration (its arrays are reused)
        if (!jr_step(r) || scope_set(r, s, SYM_LOOP, loopv) < 0 ||
            assign(r, s, n->kid[0], items->v[i]) < 0) {
            rc = -1;
            break;
        }
        rc = jr_exec(r, n->body);
        if (rc == R_BREAK) {
            rc = 0;
            break;
        }
        if (rc == R_CONTINUE) { rc = 0; }
        if (rc < 0) { break; }
    }
    r->sc = saved;
    return rc;
}

// loop(items) in a recursive loop: the loop body over items, one level deeper, as a string.
int jr_loop_call(jrender *r, jloop *lp, const jargs *a, jv *out)
{
    if (!lp->def->op) {
        return jr_fail(r, "the loop is not recursive (add 'recursive' to the for tag)");
    }
    if (a->n_pos != 1 || a->n_kw) { return jr_fail(r, "loop() takes one argument (the items)"); }
    jsb b = {0};
    jsb *saved_out = r->out;
    jscope *saved_sc = r->sc;
    r->out = &b;
    r->sc = lp->scope;
    int rc = run_loop(r, lp->def, a->pos[0], lp->depth + 1);
    r->out = saved_out;
    r->sc = saved_sc;
    if (rc < 0) { return -1; }
    *out = jsb_take(&b);
    return 0;
}

// --- macros --------------------------------------------------------------------------------------
enum { USES_VARARGS = 1, USES_KWARGS = 2, USES_CALLER = 4 }; // jnode op of N_MACRO / N_CALLBLOCK

int jr_call_macro(jrender *r, const jmacro *m, const jargs *a, jv caller, jv *out)
{
    const jnode *def = m->def;
    uint32_t first = def->type == N_CALLBLOCK ? 1 : 0, np = def->n - first;
    jscope *s = new_scope(r, m->closure);
    if (!s) { return -1; }
    jv *args = jr_alloc(r, (np + 1) * sizeof *args);
    if (!args) { return -1; }
    for (uint32_t i = 0; i < np; i++) {
        args[i] = jv_absent();
    }
    jlist *varargs = jl_new(r, 0);
    jdict *kwargs = jd_new(r, 0);
    if (!varargs || !kwargs) { return -1; }
    for (uint32_t i = 0; i < a->n_pos; i++) {
        if (i < np) {
            args[i] = a->pos[i];
        } else if (def->op & USES_VARARGS) {
            if (jl_push(r, varargs, a->pos[i]) < 0) { return -1; }
        } else {
            return jr_fail(r, "macro '%s' takes not more than %u argument(s)", m->name, np);
        }
    }
    for (uint32_t k = 0; k < a->n_kw; k++) {
        int32_t sym = a->kw_sym[k];
        uint32_t j = 0;
        while (j < np && def->kid[first + j]->id != sym) {
            j++;
        }
        if (j < np) {
            if (jv_given(args[j])) {
                return jr_fail(r, "macro '%s' got multiple values for argument '%s'", m->name,
                               jr_symname(r, sym));
            }
            args[j] = a->kw_val[k];
        } else if (sym == SYM_CALLER && (def->op & USES_CALLER)) {
            caller = a->kw_val[k];
        } else if (def->op & USES_KWARGS) {
            const char *name = jr_symname(r, sym);
            if (jd_set(r, kwargs, jv_strn(name, (uint32_t)strlen(name)), a->kw_val[k]) < 0) {
                return -1;
            }
        } else {
            return jr_fail(r, "macro '%s' takes no keyword argument '%s'", m->name,
                           jr_symname(r, sym));
        }
    }
    // parameters, with defaults evaluated in the macro's scope (they may use earlier parameters)
    jscope *saved = r->sc;
    r->sc = s;
    for (uint32_t i = 0; i < np; i++) {
        const jnode *p = def->kid[first + i];
        jv v = args[i];
        if (!jv_given(v)) {
            v = (jv){.k = JV_UNDEF, .sub = JU_NAME, .u.s = jr_symname(r, p->id)};
            for (uint32_t k = 0; k < def->n_kw; k++) {
                if (def->kw[k].sym == p->id && jr_eval(r, def->kw[k].val, &v) < 0) {
                    r->sc = saved;
                    return -1;
                }
            }
        }
        if (scope_set(r, s, p->id, v) < 0) {
            r->sc = saved;
            return -1;
        }
    }
    r->sc = saved;
    if (scope_set(r, s, SYM_VARARGS, jv_tuple(varargs)) < 0 ||
        scope_set(r, s, SYM_KWARGS, jv_dict(kwargs)) < 0) {
        return -1;
    }
    if (jv_given(caller) || (def->op & USES_CALLER)) {
        jv c = jv_given(caller) ? caller
                                : (jv){.k = JV_UNDEF, .sub = JU_HINT, .u.s = "No caller defined"};
        if (scope_set(r, s, SYM_CALLER, c) < 0) { return -1; }
    }
    return capture(r, def->body, s, out);
}

static int define_macro(jrender *r, const jnode *n)
{
    jmacro *m = jr_alloc(r, sizeof *m);
    if (!m) { return -1; }
    *m = (jmacro){.def = n, .closure = r->sc, .name = jr_symname(r, n->id)};
    return scope_set(r, r->sc, n->id, (jv){.k = JV_MACRO, .u.m = m});
}

static int call_block(jrender *r, const jnode *n)
{
    jmacro *caller = jr_alloc(r, sizeof *caller);
    if (!caller) { return -1; }
    *caller = (jmacro){.def = n, .closure = r->sc, .name = "caller"};
    const jnode *call = n->kid[0];
    jv fn, res;
    if (jr_eval(r, call->kid[0], &fn) < 0) { return -1; }
    // the call's own arguments
    uint32_t np = call->n - 1;
    jv *pos = jr_alloc(r, (np + 1) * sizeof *pos);
    jv *kwv = jr_alloc(r, (call->n_kw + 1u) * sizeof *kwv);
    int32_t *kws = jr_alloc(r, (call->n_kw + 1u) * sizeof *kws);
    if (!pos || !kwv || !kws) { return -1; }
    for (uint32_t i = 0; i < np; i++) {
        if (jr_eval(r, call->kid[1 + i], &pos[i]) < 0) { return -1; }
    }
    for (uint32_t i = 0; i < call->n_kw; i++) {
        kws[i] = call->kw[i].sym;
        if (jr_eval(r, call->kw[i].val, &kwv[i]) < 0) { return -1; }
    }
    jargs a = {pos, np, kws, kwv, call->n_kw};
    jv cv = {.k = JV_MACRO, .u.m = caller};
    if (fn.k == JV_MACRO) {
        if (!jr_step(r) || jr_call_macro(r, fn.u.m, &a, cv, &res) < 0) { return -1; }
    } else {
        // any other callable gets caller= as a keyword argument
        kws[call->n_kw] = SYM_CALLER;
        kwv[call->n_kw] = cv;
        a.n_kw++;
        if (jr_call(r, fn, &a, &res) < 0) { return -1; }
    }
    return jv_write_str(r, r->out, res);
}

// --- statements ----------------------------------------------------------------------------------
static int exec(jrender *r, const jnode *n)
{
    jv v;
    switch (n->type) {
    case N_BLOCK:
        for (uint32_t i = 0; i < n->n; i++) {
            int rc = jr_exec(r, n->kid[i]);
            if (rc) { return rc; }
        }
        return 0;
    case N_TEXT: return jsb_put(r, r->out, n->lit.u.s, n->lit.n);
    case N_OUTPUT:
        if (jr_eval(r, n->kid[0], &v) < 0) { return -1; }
        return jv_write_str(r, r->out, v);
    case N_IF:
        if (jr_eval(r, n->kid[0], &v) < 0) { return -1; }
        if (jv_truthy(v)) { return jr_exec(r, n->body); }
        return n->alt ? jr_exec(r, n->alt) : 0;
    case N_FOR:
        if (jr_eval(r, n->kid[1], &v) < 0) { return -1; }
        return run_loop(r, n, v, 1);
    case N_SET: {
        const jnode *t = n->kid[0];
        if (jr_eval(r, n->kid[1], &v) < 0) { return -1; }
        if (t->type != N_ATTR) { return assign(r, r->sc, t, v); }
        jv ns;
        if (jr_eval(r, t->kid[0], &ns) < 0) { return -1; }
        if (ns.k != JV_NS) { return jr_fail(r, "cannot assign attribute on non-namespace object"); }
        return jd_set(r, ns.u.d, t->lit, v);
    }
    case N_SETBLOCK: {
        jscope *s = new_scope(r, r->sc);
        if (!s || capture(r, n->body, s, &v) < 0) { return -1; }
        if (n->kid[1] && jr_apply_filters(r, n->kid[1], v, &v) < 0) { return -1; }
        const jnode *t = n->kid[0];
        if (t->type != N_ATTR) { return assign(r, r->sc, t, v); }
        jv ns;
        if (jr_eval(r, t->kid[0], &ns) < 0) { return -1; }
        if (ns.k != JV_NS) { return jr_fail(r, "cannot assign attribute on non-namespace object"); }
        return jd_set(r, ns.u.d, t->lit, v);
    }
    case N_MACRO: return define_macro(r, n);
    case N_CALLBLOCK: return call_block(r, n);
    case N_FILTERBLOCK: {
        jscope *s = new_scope(r, r->sc);
        if (!s || capture(r, n->body, s, &v) < 0 || jr_apply_filters(r, n->kid[0], v, &v) < 0) {
            return -1;
        }
        return jv_write_str(r, r->out, v);
    }
    case N_WITH: {
        jscope *s = new_scope(r, r->sc);
        if (!s) { return -1; }
        for (uint32_t i = 0; i + 1 < n->n; i += 2) { // values see the outer scope
            if (jr_eval(r, n->kid[i + 1], &v) < 0 || assign(r, s, n->kid[i], v) < 0) { return -1; }
        }
        jscope *saved = r->sc;
        r->sc = s;
        int rc = jr_exec(r, n->body);
        r->sc = saved;
        return rc;
    }
    case N_SCOPE: {
        jscope *s = new_scope(r, r->sc);
        if (!s || capture(r, n->body, s, &v) < 0) { return -1; }
        return jsb_put(r, r->out, v.u.s, v.n);
    }
    case N_BREAK: return R_BREAK;
    case N_CONTINUE: return R_CONTINUE;
    default: return jr_fail(r, "internal error: node %d is not a statement", n->type);
    }
}

int jr_exec(jrender *r, const jnode *n)
{
    if (jr_enter(r, n) < 0) { return -1; }
    return jr_leave(r, n, jr_step(r) ? exec(r, n) : -1);
}

// --- the render ----------------------------------------------------------------------------------
int jr_run(jrender *r, jv ctx, const char *bos, const char *eos)
{
    const jtmpl *t = r->t;
    uint32_t n = t->syms.n;
    r->globals = jr_alloc(r, (n + 1) * sizeof *r->globals);
    r->sc = new_scope(r, NULL);
    r->top = r->out = jr_alloc(r, sizeof(jsb));
    if (!r->globals || !r->sc || !r->top) { return -1; }
    *r->top = (jsb){0};
    for (uint32_t i = 0; i < n; i++) {
        const char *name = t->syms.name[i];
        jv v;
        if (ctx.k == JV_DICT && jd_get_str(ctx.u.d, name, t->syms.len[i], &v)) {
            r->globals[i] = v;
            continue;
        }
        const char *dflt = i == SYM_BOS ? bos : i == SYM_EOS ? eos : NULL;
        int g = jj_global_id(name);
        if (dflt) {
            r->globals[i] = jv_strn(dflt, (uint32_t)strlen(dflt));
        } else if (g >= 0) {
            r->globals[i] = (jv){.k = JV_FUNC, .sub = (uint8_t)g};
        } else {
            r->globals[i] = (jv){.k = JV_UNDEF, .sub = JU_NAME, .u.s = name};
        }
    }
    int rc = jr_exec(r, t->root);
    if (rc > 0) { return jr_fail(r, "'break' or 'continue' outside a loop"); }
    return rc;
}
