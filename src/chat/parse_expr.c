// parse_expr.c — Jinja expressions to AST nodes, with jinja2's grammar and precedence (lowest
// first): conditional "a if b else c"; or; and; not; comparisons (chained, in, not in); + -; ~;
// * / // %; ** (left-assoc, as jinja2); unary - +; then postfix .attr [sub] (call), filters
// "| f(args)" and tests "is [not] t args" (which bind tighter than every operator).
#include <stdio.h>
#include <string.h>

#include "chat/jinja.h"

// --- helpers shared with parse.c -----------------------------------------------------------------
bool jp_fail(jparser *p, uint32_t pos, const char *fmt, ...)
{
    if (p->e->msg[0]) { return false; } // the first error wins
    p->e->nomem = strcmp(fmt, "out of memory") == 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->e->msg, sizeof p->e->msg, fmt, ap);
    va_end(ap);
    p->e->pos = pos;
    return false;
}

const char *jp_tokdesc(const jparser *p, const jtoken *tk, char *buf, size_t n)
{
    (void)p;
    switch (tk->type) {
    case TK_EOF: return "end of template";
    case TK_DATA: return "template text";
    case TK_VAR_BEGIN: return "'{{'";
    case TK_VAR_END: return "'}}'";
    case TK_BLOCK_BEGIN: return "'{%'";
    case TK_BLOCK_END: return "'%}'";
    case TK_NAME: snprintf(buf, n, "'%.60s'", tk->val.u.s); return buf;
    case TK_STRING: return "a string";
    case TK_INT: return "an integer";
    case TK_FLOAT: return "a float";
    case TK_OP: snprintf(buf, n, "'%s'", jj_op_text(tk->op)); return buf;
    }
    return "?";
}

bool jp_is_name(jparser *p, const char *name)
{
    const jtoken *t = jp_cur(p);
    return t->type == TK_NAME && strcmp(t->val.u.s, name) == 0;
}

static bool is_name_at(jparser *p, uint32_t i, const char *name)
{
    const jtoken *t = &p->tk[i < p->n_tk ? i : p->n_tk - 1];
    return t->type == TK_NAME && strcmp(t->val.u.s, name) == 0;
}

bool jp_expect_op(jparser *p, int op)
{
    if (jp_is_op(p, op)) {
        p->i++;
        return true;
    }
    char b[80];
    return jp_fail(p, jp_cur(p)->pos, "expected '%s', got %s", jj_op_text(op),
                   jp_tokdesc(p, jp_cur(p), b, sizeof b));
}

static void advance(jparser *p)
{
    if (p->i + 1 < p->n_tk) { p->i++; }
}

jnode *jp_node(jparser *p, int type, uint32_t pos, uint32_t n_kids)
{
    jnode *n = ja_zalloc(&p->t->arena, sizeof *n);
    if (n && n_kids) { n->kid = ja_zalloc(&p->t->arena, n_kids * sizeof(jnode *)); }
    if (!n || (n_kids && !n->kid)) {
        jp_fail(p, pos, "out of memory");
        return NULL;
    }
    n->type = (uint8_t)type;
    n->pos = pos;
    n->n = n_kids;
    n->lit = jv_undef();
    return n;
}

int32_t jp_intern(jparser *p, const char *s, uint32_t len)
{
    int32_t id = jsyms_intern(&p->t->syms, &p->t->arena, s, len);
    if (id < 0) { jp_fail(p, jp_cur(p)->pos, "out of memory"); }
    return id;
}

// A growable list of nodes (or keyword arguments) while parsing.
typedef struct nvec {
    jnode **v;
    jkw *kw;
    uint32_t n, cap, n_kw, cap_kw;
} nvec;

static bool nv_push(jparser *p, nvec *v, jnode *n)
{
    if (!n) { return false; }
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 4;
        jnode **nv = ja_alloc(&p->t->arena, cap * sizeof *nv);
        if (!nv) { return jp_fail(p, n->pos, "out of memory"); }
        if (v->n) { memcpy(nv, v->v, v->n * sizeof *nv); }
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = n;
    return true;
}

static bool nv_push_kw(jparser *p, nvec *v, int32_t sym, jnode *val)
{
    if (!val || sym < 0) { return false; }
    if (v->n_kw == UINT16_MAX) { return jp_fail(p, val->pos, "too many keyword arguments"); }
    if (v->n_kw == v->cap_kw) {
        uint32_t cap = v->cap_kw ? v->cap_kw * 2 : 4;
        jkw *nk = ja_alloc(&p->t->arena, cap * sizeof *nk);
        if (!nk) { return jp_fail(p, val->pos, "out of memory"); }
        if (v->n_kw) { memcpy(nk, v->kw, v->n_kw * sizeof *nk); }
        v->kw = nk;
        v->cap_kw = cap;
    }
    v->kw[v->n_kw++] = (jkw){sym, val};
    return true;
}

// A node of type with the collected kids (first, then v's) and keywords; first == NONE: no
// first kid (a filter's subject slot is kept, NULL, when the subject is NULL).
#define NONE ((jnode *)&nvec_none)
static const int nvec_none = 0;
static jnode *from_vec(jparser *p, int type, uint32_t pos, jnode *first, const nvec *v)
{
    uint32_t k = first != NONE ? 1 : 0;
    jnode *n = jp_node(p, type, pos, v->n + k);
    if (!n) { return NULL; }
    if (first != NONE) { n->kid[0] = first; }
    for (uint32_t i = 0; i < v->n; i++) {
        n->kid[k + i] = v->v[i];
    }
    n->kw = v->kw;
    n->n_kw = (uint16_t)v->n_kw;
    return n;
}

static bool enter(jparser *p)
{
    if (++p->depth > JJ_MAX_PARSE_DEPTH) {
        return jp_fail(p, jp_cur(p)->pos, "expression nested too deeply (limit %d levels)",
                       JJ_MAX_PARSE_DEPTH);
    }
    return true;
}

static jnode *leave(jparser *p, jnode *n)
{
    p->depth--;
    return n;
}

static jnode *parse_postfix(jparser *p, jnode *n);

// --- call arguments ------------------------------------------------------------------------------
// "(" [expr | name=expr] {"," ...} ")" → positional args into v, keywords into v->kw.
static bool call_args(jparser *p, nvec *v)
{
    if (!jp_expect_op(p, T_LPAREN)) { return false; }
    bool need_comma = false;
    while (!jp_is_op(p, T_RPAREN)) {
        if (need_comma) {
            if (!jp_expect_op(p, T_COMMA)) { return false; }
            if (jp_is_op(p, T_RPAREN)) { break; }
        }
        jtoken *t = jp_cur(p);
        if (t->type == TK_OP && (t->op == T_MUL || t->op == T_POW)) {
            return jp_fail(p, t->pos, "*args and **kwargs in calls are not supported");
        }
        if (t->type == TK_NAME && p->tk[p->i + 1].type == TK_OP && p->tk[p->i + 1].op == T_ASSIGN) {
            int32_t sym = jp_intern(p, t->val.u.s, t->val.n);
            p->i += 2;
            if (!nv_push_kw(p, v, sym, jp_expr(p, true))) { return false; }
        } else {
            if (v->n_kw) {
                return jp_fail(p, t->pos, "a positional argument follows keyword arguments");
            }
            if (!nv_push(p, v, jp_expr(p, true))) { return false; }
        }
        need_comma = true;
    }
    advance(p);
    return true;
}

static jnode *parse_call(jparser *p, jnode *callee)
{
    uint32_t pos = callee ? callee->pos : jp_cur(p)->pos; // where the called expression starts
    nvec v = {0};
    if (!call_args(p, &v)) { return NULL; }
    return from_vec(p, N_CALL, pos, callee, &v);
}

// --- filters and tests ---------------------------------------------------------------------------
// One filter at the current name: "name" [args]; subject may be NULL (filter blocks).
static jnode *one_filter(jparser *p, jnode *subject)
{
    jtoken *t = jp_cur(p);
    char b[80];
    if (t->type != TK_NAME) {
        jp_fail(p, t->pos, "expected a filter name, got %s", jp_tokdesc(p, t, b, sizeof b));
        return NULL;
    }
    int id = jj_filter_id(t->val.u.s, t->val.n);
    if (id < 0) {
        jp_fail(p, t->pos, "no filter named '%.60s'", t->val.u.s);
        return NULL;
    }
    advance(p);
    nvec v = {0};
    if (jp_is_op(p, T_LPAREN) && !call_args(p, &v)) { return NULL; }
    jnode *n = from_vec(p, N_FILTER, t->pos, subject, &v);
    if (!n) { return NULL; }
    n->id = id;
    return n;
}

jnode *jp_filter_chain(jparser *p, jnode *subject)
{
    // the first filter follows directly (filter blocks, set blocks after their '|')
    jnode *n = one_filter(p, subject);
    while (n && jp_is_op(p, T_PIPE)) {
        advance(p);
        n = one_filter(p, n);
    }
    return n;
}

static jnode *parse_test(jparser *p, jnode *subject)
{
    uint32_t pos = jp_cur(p)->pos;
    advance(p); // "is"
    bool negated = false;
    if (jp_is_name(p, "not")) {
        negated = true;
        advance(p);
    }
    jtoken *t = jp_cur(p);
    char b[80];
    if (t->type != TK_NAME) {
        jp_fail(p, t->pos, "expected a test name after 'is', got %s",
                jp_tokdesc(p, t, b, sizeof b));
        return NULL;
    }
    int id = jj_test_id(t->val.u.s, t->val.n);
    if (id < 0) {
        jp_fail(p, t->pos, "no test named '%.60s'", t->val.u.s);
        return NULL;
    }
    advance(p);
    nvec v = {0};
    jtoken *c = jp_cur(p);
    if (jp_is_op(p, T_LPAREN)) {
        if (!call_args(p, &v)) { return NULL; }
    } else if ((c->type == TK_NAME || c->type == TK_STRING || c->type == TK_INT ||
                c->type == TK_FLOAT ||
                (c->type == TK_OP && (c->op == T_LBRACKET || c->op == T_LBRACE))) &&
               !jp_is_name(p, "else") && !jp_is_name(p, "or") && !jp_is_name(p, "and")) {
        if (jp_is_name(p, "is")) {
            jp_fail(p, c->pos, "tests cannot be chained with 'is'");
            return NULL;
        }
        // one argument without parentheses: "x is divisibleby 3"
        jnode *arg = parse_postfix(p, jp_primary(p));
        if (!nv_push(p, &v, arg)) { return NULL; }
    }
    jnode *n = from_vec(p, N_TEST, pos, subject, &v);
    if (!n) { return NULL; }
    n->id = id;
    n->op = negated;
    return n;
}

// --- postfix: .attr .0 [sub] [a:b:c] (args) ------------------------------------------------------
static jnode *parse_subscript(jparser *p, jnode *obj)
{
    jtoken *t = jp_cur(p);
    char b[80];
    if (t->op == T_DOT) {
        advance(p);
        jtoken *a = jp_cur(p);
        if (a->type == TK_NAME) {
            jnode *n = jp_node(p, N_ATTR, a->pos, 1);
            if (!n) { return NULL; }
            n->kid[0] = obj;
            n->lit = a->val;
            advance(p);
            return n;
        }
        if (a->type == TK_INT) {
            jnode *n = jp_node(p, N_ITEM, a->pos, 2);
            jnode *k = jp_node(p, N_LIT, a->pos, 0);
            if (!n || !k) { return NULL; }
            k->lit = a->val;
            n->kid[0] = obj;
            n->kid[1] = k;
            advance(p);
            return n;
        }
        jp_fail(p, a->pos, "expected an attribute name or number after '.', got %s",
                jp_tokdesc(p, a, b, sizeof b));
        return NULL;
    }
    // '['
    uint32_t pos = t->pos;
    advance(p);
    nvec v = {0};
    jnode *sl[3] = {NULL, NULL, NULL};
    bool is_slice = false;
    while (!jp_is_op(p, T_RBRACKET)) {
        if (v.n || is_slice) {
            if (!jp_expect_op(p, T_COMMA)) { return NULL; }
        }
        // parse_subscribed
        jnode *first = NULL;
        if (!jp_is_op(p, T_COLON)) {
            first = jp_expr(p, true);
            if (!first) { return NULL; }
            if (!jp_is_op(p, T_COLON)) {
                if (is_slice) {
                    jp_fail(p, first->pos, "slices cannot be combined with other subscripts");
                    return NULL;
                }
                if (!nv_push(p, &v, first)) { return NULL; }
                continue;
            }
        }
        if (v.n || is_slice) {
            jp_fail(p, jp_cur(p)->pos, "slices cannot be combined with other subscripts");
            return NULL;
        }
        is_slice = true;
        sl[0] = first;
        advance(p); // ':'
        if (!jp_is_op(p, T_COLON) && !jp_is_op(p, T_RBRACKET) && !jp_is_op(p, T_COMMA)) {
            if (!(sl[1] = jp_expr(p, true))) { return NULL; }
        }
        if (jp_is_op(p, T_COLON)) {
            advance(p);
            if (!jp_is_op(p, T_RBRACKET) && !jp_is_op(p, T_COMMA)) {
                if (!(sl[2] = jp_expr(p, true))) { return NULL; }
            }
        }
    }
    advance(p); // ']'
    if (is_slice) {
        jnode *n = jp_node(p, N_SLICE, pos, 4);
        if (!n) { return NULL; }
        n->kid[0] = obj;
        n->kid[1] = sl[0];
        n->kid[2] = sl[1];
        n->kid[3] = sl[2];
        return n;
    }
    if (v.n == 0) {
        jp_fail(p, pos, "expected a subscript inside '[]'");
        return NULL;
    }
    jnode *key = v.n == 1 ? v.v[0] : from_vec(p, N_TUPLE, pos, NONE, &v);
    jnode *n = jp_node(p, N_ITEM, pos, 2);
    if (!n || !key) { return NULL; }
    n->kid[0] = obj;
    n->kid[1] = key;
    return n;
}

static jnode *parse_postfix(jparser *p, jnode *n)
{
    while (n) {
        if (jp_is_op(p, T_DOT) || jp_is_op(p, T_LBRACKET)) {
            n = parse_subscript(p, n);
        } else if (jp_is_op(p, T_LPAREN)) {
            n = parse_call(p, n);
        } else {
            break;
        }
    }
    return n;
}

static jnode *parse_filter_expr(jparser *p, jnode *n)
{
    while (n) {
        if (jp_is_op(p, T_PIPE)) {
            advance(p);
            n = one_filter(p, n);
        } else if (jp_is_name(p, "is")) {
            n = parse_test(p, n);
        } else if (jp_is_op(p, T_LPAREN)) {
            n = parse_call(p, n);
        } else {
            break;
        }
    }
    return n;
}

// --- primary -------------------------------------------------------------------------------------
static jnode *parse_list_or_dict(jparser *p, bool dict)
{
    uint32_t pos = jp_cur(p)->pos;
    int close = dict ? T_RBRACE : T_RBRACKET;
    advance(p);
    nvec v = {0};
    while (!jp_is_op(p, close)) {
        if (v.n) {
            if (!jp_expect_op(p, T_COMMA)) { return NULL; }
            if (jp_is_op(p, close)) { break; }
        }
        if (!nv_push(p, &v, jp_expr(p, true))) { return NULL; }
        if (dict) {
            if (!jp_expect_op(p, T_COLON)) { return NULL; }
            if (!nv_push(p, &v, jp_expr(p, true))) { return NULL; }
        }
    }
    advance(p);
    return from_vec(p, dict ? N_DICT : N_LIST, pos, NONE, &v);
}

// jinja2's parse_call_args for "name(...)" written in statements ({% call %}): a node N_CALL.
jnode *jp_call(jparser *p, jnode *callee)
{
    return parse_call(p, callee);
}

jnode *jp_primary(jparser *p)
{
    jtoken *t = jp_cur(p);
    char b[80];
    jnode *n;
    switch (t->type) {
    case TK_NAME: {
        const char *s = t->val.u.s;
        n = jp_node(p, N_LIT, t->pos, 0);
        if (!n) { return NULL; }
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0) {
            n->lit = jv_bool(true);
        } else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0) {
            n->lit = jv_bool(false);
        } else if (strcmp(s, "none") == 0 || strcmp(s, "None") == 0) {
            n->lit = jv_none();
        } else {
            n->type = N_NAME;
            n->id = jp_intern(p, s, t->val.n);
            n->lit = t->val;
            if (n->id < 0) { return NULL; }
        }
        advance(p);
        return n;
    }
    case TK_STRING: {
        // adjacent literals concatenate: 'a' "b"
        n = jp_node(p, N_LIT, t->pos, 0);
        if (!n) { return NULL; }
        n->lit = t->val;
        advance(p);
        while (jp_cur(p)->type == TK_STRING) {
            jv a = n->lit, c = jp_cur(p)->val;
            char *s = ja_alloc(&p->t->arena, (size_t)a.n + c.n + 1);
            if (!s) { jp_fail(p, t->pos, "out of memory"); return NULL; }
            memcpy(s, a.u.s, a.n);
            memcpy(s + a.n, c.u.s, c.n);
            s[a.n + c.n] = '\0';
            n->lit = jv_strn(s, a.n + c.n);
            advance(p);
        }
        return n;
    }
    case TK_INT:
    case TK_FLOAT:
        n = jp_node(p, N_LIT, t->pos, 0);
        if (!n) { return NULL; }
        n->lit = t->val;
        advance(p);
        return n;
    case TK_OP:
        if (t->op == T_LPAREN) {
            advance(p);
            n = jp_tuple(p, false, true, true);
            if (!n || !jp_expect_op(p, T_RPAREN)) { return NULL; }
            return n;
        }
        if (t->op == T_LBRACKET) { return parse_list_or_dict(p, false); }
        if (t->op == T_LBRACE) { return parse_list_or_dict(p, true); }
        break;
    default: break;
    }
    jp_fail(p, t->pos, "expected an expression, got %s", jp_tokdesc(p, t, b, sizeof b));
    return NULL;
}

// --- operators -----------------------------------------------------------------------------------
static jnode *bin(jparser *p, int type, int op, uint32_t pos, jnode *a, jnode *b)
{
    if (!a || !b) { return NULL; }
    jnode *n = jp_node(p, type, pos, 2);
    if (!n) { return NULL; }
    n->op = (uint8_t)op;
    n->kid[0] = a;
    n->kid[1] = b;
    return n;
}

static jnode *parse_unary(jparser *p, bool with_filter)
{
    if (!enter(p)) { return NULL; }
    jtoken *t = jp_cur(p);
    jnode *n;
    if (t->type == TK_OP && (t->op == T_SUB || t->op == T_ADD)) {
        advance(p);
        jnode *x = parse_unary(p, false);
        if (!x) { return leave(p, NULL); }
        n = jp_node(p, t->op == T_SUB ? N_NEG : N_POS, t->pos, 1);
        if (!n) { return leave(p, NULL); }
        n->kid[0] = x;
    } else {
        n = jp_primary(p);
    }
    n = parse_postfix(p, n);
    if (with_filter) { n = parse_filter_expr(p, n); }
    return leave(p, n);
}

static jnode *parse_pow(jparser *p)
{
    jnode *n = parse_unary(p, true);
    while (n && jp_is_op(p, T_POW)) {
        uint32_t pos = jp_cur(p)->pos;
        advance(p);
        n = bin(p, N_BIN, OP_POW, pos, n, parse_unary(p, true));
    }
    return n;
}

static jnode *parse_math2(jparser *p)
{
    jnode *n = parse_pow(p);
    for (;;) {
        int op = jp_is_op(p, T_MUL) ? OP_MUL : jp_is_op(p, T_DIV) ? OP_DIV
                 : jp_is_op(p, T_FLOORDIV) ? OP_FLOORDIV : jp_is_op(p, T_MOD) ? OP_MOD : 0;
        if (!n || !op) { return n; }
        uint32_t pos = jp_cur(p)->pos;
        advance(p);
        n = bin(p, N_BIN, op, pos, n, parse_pow(p));
    }
}

static jnode *parse_concat(jparser *p)
{
    jnode *n = parse_math2(p);
    while (n && jp_is_op(p, T_TILDE)) {
        uint32_t pos = jp_cur(p)->pos;
        advance(p);
        n = bin(p, N_BIN, OP_CONCAT, pos, n, parse_math2(p));
    }
    return n;
}

static jnode *parse_math1(jparser *p)
{
    jnode *n = parse_concat(p);
    for (;;) {
        int op = jp_is_op(p, T_ADD) ? OP_ADD : jp_is_op(p, T_SUB) ? OP_SUB : 0;
        if (!n || !op) { return n; }
        uint32_t pos = jp_cur(p)->pos;
        advance(p);
        n = bin(p, N_BIN, op, pos, n, parse_concat(p));
    }
}

static jnode *parse_compare(jparser *p)
{
    jnode *first = parse_math1(p);
    if (!first) { return NULL; }
    nvec v = {0};
    char ops[64];
    uint32_t n_ops = 0, pos = jp_cur(p)->pos;
    for (;;) {
        jtoken *t = jp_cur(p);
        int op = 0;
        if (t->type == TK_OP) {
            op = t->op == T_EQ ? OP_EQ : t->op == T_NE ? OP_NE : t->op == T_LT ? OP_LT
                 : t->op == T_LTEQ ? OP_LE : t->op == T_GT ? OP_GT : t->op == T_GTEQ ? OP_GE : 0;
            if (op) { advance(p); }
        } else if (jp_is_name(p, "in")) {
            op = OP_IN;
            advance(p);
        } else if (jp_is_name(p, "not") && is_name_at(p, p->i + 1, "in")) {
            op = OP_NOTIN;
            p->i += 2;
        }
        if (!op) { break; }
        if (n_ops == sizeof ops) {
            jp_fail(p, t->pos, "too many chained comparisons");
            return NULL;
        }
        ops[n_ops++] = (char)op;
        if (!nv_push(p, &v, parse_math1(p))) { return NULL; }
    }
    if (n_ops == 0) { return first; }
    jnode *n = from_vec(p, N_CMP, pos, first, &v);
    char *o = ja_dup(&p->t->arena, ops, n_ops);
    if (!n || !o) { jp_fail(p, pos, "out of memory"); return NULL; }
    n->lit = jv_strn(o, n_ops);
    return n;
}

static jnode *parse_not(jparser *p)
{
    if (jp_is_name(p, "not")) {
        uint32_t pos = jp_cur(p)->pos;
        advance(p);
        if (!enter(p)) { return NULL; }
        jnode *x = parse_not(p);
        jnode *n = x ? jp_node(p, N_NOT, pos, 1) : NULL;
        if (n) { n->kid[0] = x; }
        return leave(p, n);
    }
    return parse_compare(p);
}

static jnode *parse_and(jparser *p)
{
    jnode *n = parse_not(p);
    while (n && jp_is_name(p, "and")) {
        uint32_t pos = jp_cur(p)->pos;
        advance(p);
        n = bin(p, N_AND, 0, pos, n, parse_not(p));
    }
    return n;
}

static jnode *parse_or(jparser *p)
{
    jnode *n = parse_and(p);
    while (n && jp_is_name(p, "or")) {
        uint32_t pos = jp_cur(p)->pos;
        advance(p);
        n = bin(p, N_OR, 0, pos, n, parse_and(p));
    }
    return n;
}

static jnode *parse_condexpr(jparser *p)
{
    if (!enter(p)) { return NULL; }
    jnode *n = parse_or(p);
    while (n && jp_is_name(p, "if")) {
        uint32_t pos = jp_cur(p)->pos;
        advance(p);
        jnode *test = parse_or(p), *alt = NULL;
        if (!test) { return leave(p, NULL); }
        if (jp_is_name(p, "else")) {
            advance(p);
            if (!(alt = parse_condexpr(p))) { return leave(p, NULL); }
        }
        jnode *c = jp_node(p, N_COND, pos, 3);
        if (!c) { return leave(p, NULL); }
        c->kid[0] = test;
        c->kid[1] = n;
        c->kid[2] = alt;
        n = c;
    }
    return leave(p, n);
}

jnode *jp_expr(jparser *p, bool with_condexpr)
{
    return with_condexpr ? parse_condexpr(p) : parse_or(p);
}

// parse_tuple: one expression, or a tuple when commas separate several (or a trailing comma).
jnode *jp_tuple(jparser *p, bool simplified, bool with_condexpr, bool explicit_parens)
{
    uint32_t pos = jp_cur(p)->pos;
    nvec v = {0};
    bool is_tuple = false;
    for (;;) {
        if (v.n && !jp_expect_op(p, T_COMMA)) { return NULL; }
        jtoken *t = jp_cur(p);
        if (t->type == TK_VAR_END || t->type == TK_BLOCK_END || jp_is_op(p, T_RPAREN) ||
            (p->extra_end && jp_is_name(p, p->extra_end))) {
            break;
        }
        jnode *x = simplified ? jp_primary(p) : jp_expr(p, with_condexpr);
        if (!nv_push(p, &v, x)) { return NULL; }
        if (jp_is_op(p, T_COMMA)) {
            is_tuple = true;
        } else {
            break;
        }
    }
    if (!is_tuple) {
        if (v.n) { return v.v[0]; }
        if (!explicit_parens) {
            char b[80];
            jp_fail(p, jp_cur(p)->pos, "expected an expression, got %s",
                    jp_tokdesc(p, jp_cur(p), b, sizeof b));
            return NULL;
        }
    }
    return from_vec(p, N_TUPLE, pos, NONE, &v);
}
