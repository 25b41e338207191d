// parse.c — template statements to AST nodes: text, {{ expressions }}, and the tags
// if/elif/else, for (targets, filter, recursive, else), set (=, namespace attribute, block form
// with filters), macro, call, filter, with, print, break/continue (jinja2's loopcontrols) and
// generation (transformers' assistant-mask tag: its body renders, in a scope of its own).
// Tags that need a loader (include, import, extends, block) are errors, as are unknown tags; an
// error names the tag that is still open and what would close it.
#include <stdio.h>
#include <string.h>

#include "chat/jinja.h"

// --- symbols -------------------------------------------------------------------------------------
static uint32_t hash(const char *s, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    }
    return h;
}

int32_t jsyms_intern(jsyms *y, jarena *a, const char *s, uint32_t n)
{
    if (y->idx_cap) {
        uint32_t m = y->idx_cap - 1;
        for (uint32_t i = hash(s, n) & m;; i = (i + 1) & m) {
            int32_t id = y->idx[i];
            if (id < 0) { break; }
            if (y->len[id] == n && memcmp(y->name[id], s, n) == 0) { return id; }
        }
    }
    if (y->n == y->cap) {
        uint32_t cap = y->cap ? y->cap * 2 : 32;
        const char **nn = ja_alloc(a, cap * sizeof *nn);
        uint32_t *nl = ja_alloc(a, cap * sizeof *nl);
        if (!nn || !nl) { return -1; }
        if (y->n) {
            memcpy(nn, y->name, y->n * sizeof *nn);
            memcpy(nl, y->len, y->n * sizeof *nl);
        }
        y->name = nn;
        y->len = nl;
        y->cap = cap;
    }
    if ((y->n + 1) * 2 > y->idx_cap) {
        uint32_t cap = y->idx_cap ? y->idx_cap * 2 : 64;
        int32_t *idx = ja_alloc(a, cap * sizeof *idx);
        if (!idx) { return -1; }
        memset(idx, 0xff, cap * sizeof *idx);
        for (uint32_t k = 0; k < y->n; k++) {
            uint32_t i = hash(y->name[k], y->len[k]) & (cap - 1);
            while (idx[i] >= 0) {
                i = (i + 1) & (cap - 1);
            }
            idx[i] = (int32_t)k;
        }
        y->idx = idx;
        y->idx_cap = cap;
    }
    char *copy = ja_dup(a, s, n);
    if (!copy) { return -1; }
    int32_t id = (int32_t)y->n++;
    y->name[id] = copy;
    y->len[id] = n;
    uint32_t i = hash(s, n) & (y->idx_cap - 1);
    while (y->idx[i] >= 0) {
        i = (i + 1) & (y->idx_cap - 1);
    }
    y->idx[i] = id;
    return id;
}

// --- statements ----------------------------------------------------------------------------------
typedef struct jends {
    const char *const *names; // NULL-terminated tags that end the current body
    const char *tag;          // the open tag
    uint32_t pos;
} ends;

static jnode *subparse(jparser *p, const ends *e);

static void advance(jparser *p)
{
    if (p->i + 1 < p->n_tk) { p->i++; }
}

static bool fail_tok(jparser *p, const char *what)
{
    char b[80];
    return jp_fail(p, jp_cur(p)->pos, "expected %s, got %s", what,
                   jp_tokdesc(p, jp_cur(p), b, sizeof b));
}

static bool expect_block_end(jparser *p)
{
    if (jp_cur(p)->type == TK_BLOCK_END) {
        advance(p);
        return true;
    }
    return fail_tok(p, "'%}' to end the tag");
}

// "expected 'endfor' or 'else' (to close the 'for' at 3:5)"
static void describe_ends(jparser *p, const ends *e, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!e) { return; }
    size_t m = 0;
    for (int i = 0; e->names[i] && m < n; i++) {
        m += (size_t)snprintf(buf + m, n - m, "%s'%s'", i ? " or " : "", e->names[i]);
    }
    int line, col;
    jj_linecol(p->t->src, p->t->len, e->pos, &line, &col);
    if (m < n) { snprintf(buf + m, n - m, " to close the '%s' at %d:%d", e->tag, line, col); }
}

// A body up to one of e's end tags: "%}" of the opening tag, the statements, and the end tag's
// name (consumed when drop_needle).
static jnode *parse_body(jparser *p, const char *tag, uint32_t tag_pos,
                         const char *const *names, bool drop_needle)
{
    if (jp_is_op(p, T_COLON)) { advance(p); }
    if (!expect_block_end(p)) { return NULL; }
    if (++p->depth > JJ_MAX_PARSE_DEPTH) {
        jp_fail(p, tag_pos, "blocks nested too deeply (limit %d levels)", JJ_MAX_PARSE_DEPTH);
        return NULL;
    }
    ends e = {names, tag, tag_pos};
    jnode *body = subparse(p, &e);
    p->depth--;
    if (!body) { return NULL; }
    if (jp_cur(p)->type == TK_EOF) {
        char d[200];
        describe_ends(p, &e, d, sizeof d);
        jp_fail(p, jp_cur(p)->pos, "unexpected end of template: expected %s", d);
        return NULL;
    }
    if (drop_needle) { advance(p); }
    return body;
}

static bool assignable(const jnode *n)
{
    if (!n) { return false; }
    if (n->type == N_NAME) { return true; }
    if (n->type != N_TUPLE) { return false; }
    for (uint32_t i = 0; i < n->n; i++) {
        if (!assignable(n->kid[i])) { return false; }
    }
    return true;
}

static jnode *assign_target(jparser *p, bool with_namespace, const char *extra_end)
{
    jtoken *t = jp_cur(p);
    if (with_namespace && t->type == TK_NAME && p->tk[p->i + 1].type == TK_OP &&
        p->tk[p->i + 1].op == T_DOT) {
        jnode *ns = jp_primary(p);
        advance(p); // '.'
        jtoken *a = jp_cur(p);
        if (a->type != TK_NAME) {
            fail_tok(p, "an attribute name");
            return NULL;
        }
        jnode *n = ns ? jp_node(p, N_ATTR, a->pos, 1) : NULL;
        if (!n) { return NULL; }
        n->kid[0] = ns;
        n->lit = a->val;
        advance(p);
        return n;
    }
    const char *saved = p->extra_end;
    p->extra_end = extra_end;
    jnode *n = jp_tuple(p, true, true, false);
    p->extra_end = saved;
    if (n && !assignable(n)) {
        jp_fail(p, n->pos, "cannot assign to this expression (expected a name or names)");
        return NULL;
    }
    return n;
}

static jnode *parse_for(jparser *p, uint32_t pos)
{
    jnode *n = jp_node(p, N_FOR, pos, 3);
    if (!n) { return NULL; }
    if (!(n->kid[0] = assign_target(p, false, "in"))) { return NULL; }
    if (!jp_is_name(p, "in")) {
        fail_tok(p, "'in'");
        return NULL;
    }
    advance(p);
    const char *saved = p->extra_end;
    p->extra_end = "recursive";
    n->kid[1] = jp_tuple(p, false, false, false);
    p->extra_end = saved;
    if (!n->kid[1]) { return NULL; }
    if (jp_is_name(p, "if")) {
        advance(p);
        if (!(n->kid[2] = jp_expr(p, true))) { return NULL; }
    }
    if (jp_is_name(p, "recursive")) {
        advance(p);
        n->op = 1;
    }
    static const char *const body_ends[] = {"endfor", "else", NULL};
    static const char *const else_ends[] = {"endfor", NULL};
    p->loop_depth++;
    n->body = parse_body(p, "for", pos, body_ends, false);
    p->loop_depth--;
    if (!n->body) { return NULL; }
    bool is_else = jp_is_name(p, "else");
    advance(p);
    if (is_else && !(n->alt = parse_body(p, "for", pos, else_ends, true))) { return NULL; }
    return n;
}

static jnode *parse_if(jparser *p, uint32_t pos)
{
    static const char *const body_ends[] = {"elif", "else", "endif", NULL};
    static const char *const else_ends[] = {"endif", NULL};
    jnode *n = jp_node(p, N_IF, pos, 1);
    if (!n || !(n->kid[0] = jp_tuple(p, false, false, false))) { return NULL; }
    if (!(n->body = parse_body(p, "if", pos, body_ends, false))) { return NULL; }
    if (jp_is_name(p, "elif")) {
        uint32_t epos = jp_cur(p)->pos;
        advance(p);
        // the elif chain: an if in the else branch (its end tag closes all of them)
        jnode *alt = parse_if(p, epos);
        if (!alt) { return NULL; }
        n->alt = jp_node(p, N_BLOCK, epos, 1);
        if (!n->alt) { return NULL; }
        n->alt->kid[0] = alt;
        return n;
    }
    bool is_else = jp_is_name(p, "else");
    advance(p);
    if (is_else && !(n->alt = parse_body(p, "if", pos, else_ends, true))) { return NULL; }
    return n;
}

static jnode *parse_set(jparser *p, uint32_t pos)
{
    jnode *target = assign_target(p, true, NULL);
    if (!target) { return NULL; }
    if (jp_is_op(p, T_ASSIGN)) {
        advance(p);
        jnode *n = jp_node(p, N_SET, pos, 2);
        if (!n) { return NULL; }
        n->kid[0] = target;
        n->kid[1] = jp_tuple(p, false, true, false);
        return n->kid[1] ? n : NULL;
    }
    static const char *const set_ends[] = {"endset", NULL};
    jnode *n = jp_node(p, N_SETBLOCK, pos, 2);
    if (!n) { return NULL; }
    n->kid[0] = target;
    if (jp_is_op(p, T_PIPE)) {
        advance(p);
        if (!(n->kid[1] = jp_filter_chain(p, NULL))) { return NULL; }
    }
    n->body = parse_body(p, "set", pos, set_ends, true);
    return n->body ? n : NULL;
}

// "(" name ["=" default] {"," ...} ")" into n->kid[first..] and n->kw (defaults by symbol).
static bool parse_signature(jparser *p, jnode *n, uint32_t first)
{
    if (!jp_expect_op(p, T_LPAREN)) { return false; }
    jnode *params[256];
    jkw defs[256];
    uint32_t np = 0, nd = 0;
    while (!jp_is_op(p, T_RPAREN)) {
        if (np && !jp_expect_op(p, T_COMMA)) { return false; }
        jtoken *t = jp_cur(p);
        if (t->type != TK_NAME) { return fail_tok(p, "a parameter name"); }
        if (np == WK_ARRAY_LEN(params)) { return jp_fail(p, t->pos, "too many parameters"); }
        jnode *name = jp_primary(p);
        if (!name) { return false; }
        if (name->type != N_NAME) {
            return jp_fail(p, t->pos, "cannot use '%s' as a parameter", t->val.u.s);
        }
        params[np++] = name;
        if (jp_is_op(p, T_ASSIGN)) {
            advance(p);
            jnode *d = jp_expr(p, true);
            if (!d) { return false; }
            defs[nd++] = (jkw){name->id, d};
        } else if (nd) {
            return jp_fail(p, t->pos, "parameter '%s' without a default follows one with a default",
                           t->val.u.s);
        }
    }
    advance(p);
    jnode **kids = ja_alloc(&p->t->arena, (first + np) * sizeof *kids + 1);
    jkw *kw = ja_alloc(&p->t->arena, nd * sizeof *kw + 1);
    if (!kids || !kw) { return jp_fail(p, n->pos, "out of memory"); }
    for (uint32_t i = 0; i < first; i++) {
        kids[i] = n->kid[i];
    }
    memcpy(kids + first, params, np * sizeof *kids);
    memcpy(kw, defs, nd * sizeof *kw);
    n->kid = kids;
    n->n = first + np;
    n->kw = kw;
    n->n_kw = (uint16_t)nd;
    return true;
}

// Which of varargs, kwargs, caller a macro body mentions (jinja2 decides by this whether a macro
// takes extra arguments).
static uint8_t uses(const jnode *n)
{
    if (!n) { return 0; }
    uint8_t u = 0;
    if (n->type == N_NAME) {
        u = n->id == SYM_VARARGS ? 1 : n->id == SYM_KWARGS ? 2 : n->id == SYM_CALLER ? 4 : 0;
    }
    for (uint32_t i = 0; i < n->n; i++) {
        u |= uses(n->kid[i]);
    }
    for (uint32_t i = 0; i < n->n_kw; i++) {
        u |= uses(n->kw[i].val);
    }
    return u | uses(n->body) | uses(n->alt);
}

static jnode *parse_macro(jparser *p, uint32_t pos)
{
    jtoken *t = jp_cur(p);
    if (t->type != TK_NAME) {
        fail_tok(p, "a macro name");
        return NULL;
    }
    jnode *n = jp_node(p, N_MACRO, pos, 0);
    if (!n) { return NULL; }
    n->id = jp_intern(p, t->val.u.s, t->val.n);
    n->lit = t->val;
    advance(p);
    if (n->id < 0 || !parse_signature(p, n, 0)) { return NULL; }
    static const char *const macro_ends[] = {"endmacro", NULL};
    int loops = p->loop_depth;
    p->loop_depth = 0;
    n->body = parse_body(p, "macro", pos, macro_ends, true);
    p->loop_depth = loops;
    if (!n->body) { return NULL; }
    n->op = uses(n->body);
    return n;
}

static jnode *parse_call_block(jparser *p, uint32_t pos)
{
    jnode *n = jp_node(p, N_CALLBLOCK, pos, 1);
    if (!n) { return NULL; }
    if (jp_is_op(p, T_LPAREN) && !parse_signature(p, n, 1)) { return NULL; }
    jnode *call = jp_expr(p, true);
    if (!call) { return NULL; }
    if (call->type != N_CALL) {
        jp_fail(p, call->pos, "expected a call after 'call' (like {%% call m(x) %%})");
        return NULL;
    }
    n->kid[0] = call;
    static const char *const call_ends[] = {"endcall", NULL};
    int loops = p->loop_depth;
    p->loop_depth = 0;
    n->body = parse_body(p, "call", pos, call_ends, true);
    p->loop_depth = loops;
    if (!n->body) { return NULL; }
    n->op = uses(n->body);
    return n;
}

static jnode *parse_with(jparser *p, uint32_t pos)
{
    jnode *pairs[256];
    uint32_t np = 0;
    while (jp_cur(p)->type != TK_BLOCK_END) {
        if (np && !jp_expect_op(p, T_COMMA)) { return NULL; }
        if (np + 2 > WK_ARRAY_LEN(pairs)) {
            jp_fail(p, jp_cur(p)->pos, "too many assignments in 'with'");
            return NULL;
        }
        jnode *t = assign_target(p, false, NULL);
        if (!t || !jp_expect_op(p, T_ASSIGN)) { return NULL; }
        jnode *v = jp_expr(p, true);
        if (!v) { return NULL; }
        pairs[np++] = t;
        pairs[np++] = v;
    }
    jnode *n = jp_node(p, N_WITH, pos, np);
    if (!n) { return NULL; }
    if (np) { memcpy(n->kid, pairs, np * sizeof *pairs); } // {% with %} may assign nothing
    static const char *const with_ends[] = {"endwith", NULL};
    n->body = parse_body(p, "with", pos, with_ends, true);
    return n->body ? n : NULL;
}

static jnode *parse_statement(jparser *p)
{
    jtoken *t = jp_cur(p);
    uint32_t pos = p->i > 0 ? p->tk[p->i - 1].pos : t->pos; // the tag's "{%"
    if (t->type != TK_NAME) {
        fail_tok(p, "a tag name");
        return NULL;
    }
    const char *name = t->val.u.s;
    advance(p);
    if (strcmp(name, "if") == 0) { return parse_if(p, pos); }
    if (strcmp(name, "for") == 0) { return parse_for(p, pos); }
    if (strcmp(name, "set") == 0) { return parse_set(p, pos); }
    if (strcmp(name, "macro") == 0) { return parse_macro(p, pos); }
    if (strcmp(name, "call") == 0) { return parse_call_block(p, pos); }
    if (strcmp(name, "with") == 0) { return parse_with(p, pos); }
    if (strcmp(name, "filter") == 0) {
        static const char *const filter_ends[] = {"endfilter", NULL};
        jnode *n = jp_node(p, N_FILTERBLOCK, pos, 1);
        if (!n || !(n->kid[0] = jp_filter_chain(p, NULL))) { return NULL; }
        n->body = parse_body(p, "filter", pos, filter_ends, true);
        return n->body ? n : NULL;
    }
    if (strcmp(name, "generation") == 0) {
        static const char *const gen_ends[] = {"endgeneration", NULL};
        jnode *n = jp_node(p, N_SCOPE, pos, 0);
        if (!n) { return NULL; }
        n->body = parse_body(p, "generation", pos, gen_ends, true);
        return n->body ? n : NULL;
    }
    if (strcmp(name, "print") == 0) {
        jnode *outs[256];
        uint32_t k = 0;
        while (jp_cur(p)->type != TK_BLOCK_END) {
            if (k && !jp_expect_op(p, T_COMMA)) { return NULL; }
            if (k == WK_ARRAY_LEN(outs)) {
                jp_fail(p, jp_cur(p)->pos, "too many expressions in 'print'");
                return NULL;
            }
            jnode *o = jp_node(p, N_OUTPUT, jp_cur(p)->pos, 1);
            if (!o || !(o->kid[0] = jp_expr(p, true))) { return NULL; }
            outs[k++] = o;
        }
        jnode *n = jp_node(p, N_BLOCK, pos, k);
        if (n && k) { memcpy(n->kid, outs, k * sizeof *outs); }
        return n;
    }
    if (strcmp(name, "break") == 0 || strcmp(name, "continue") == 0) {
        if (p->loop_depth == 0) {
            jp_fail(p, pos, "'%s' outside a for loop", name);
            return NULL;
        }
        return jp_node(p, name[0] == 'b' ? N_BREAK : N_CONTINUE, pos, 0);
    }
    static const char *const loaders[] = {"include", "import", "from", "extends", "block",
                                          "autoescape", "raw", "do"};
    for (size_t i = 0; i < WK_ARRAY_LEN(loaders); i++) {
        if (strcmp(name, loaders[i]) == 0) {
            jp_fail(p, pos, "tag '%s' is not supported (chat templates render alone, as "
                            "transformers renders them)", name);
            return NULL;
        }
    }
    char d[200];
    describe_ends(p, p->cur_ends, d, sizeof d);
    if (d[0]) {
        jp_fail(p, pos, "unknown tag '%.60s' (expected %s)", name, d);
    } else {
        jp_fail(p, pos, "unknown tag '%.60s'", name);
    }
    return NULL;
}

static bool push_kid(jparser *p, jnode ***v, uint32_t *n, uint32_t *cap, jnode *x)
{
    if (*n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 8;
        jnode **nv = ja_alloc(&p->t->arena, c * sizeof *nv);
        if (!nv) { return jp_fail(p, x->pos, "out of memory"); }
        if (*n) { memcpy(nv, *v, *n * sizeof *nv); }
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return true;
}

static bool is_end(jparser *p, const ends *e)
{
    if (!e) { return false; }
    for (int i = 0; e->names[i]; i++) {
        if (jp_is_name(p, e->names[i])) { return true; }
    }
    return false;
}

static jnode *subparse(jparser *p, const ends *e)
{
    const ends *saved = p->cur_ends;
    jnode **kids = NULL;
    uint32_t n = 0, cap = 0;
    uint32_t pos = jp_cur(p)->pos;
    for (;;) {
        jtoken *t = jp_cur(p);
        jnode *x = NULL;
        if (t->type == TK_EOF) { break; }
        if (t->type == TK_DATA) {
            x = jp_node(p, N_TEXT, t->pos, 0);
            if (x) { x->lit = t->val; }
            advance(p);
        } else if (t->type == TK_VAR_BEGIN) {
            advance(p);
            x = jp_node(p, N_OUTPUT, t->pos, 1);
            if (x && !(x->kid[0] = jp_tuple(p, false, true, false))) { x = NULL; }
            if (x && jp_cur(p)->type != TK_VAR_END) {
                fail_tok(p, "'}}' to end the expression");
                x = NULL;
            }
            advance(p);
        } else if (t->type == TK_BLOCK_BEGIN) {
            advance(p);
            if (is_end(p, e)) { break; }
            p->cur_ends = e;
            x = parse_statement(p);
            p->cur_ends = saved;
            if (x && !expect_block_end(p)) { x = NULL; }
        } else {
            fail_tok(p, "text, '{{' or '{%'");
        }
        if (!x || !push_kid(p, &kids, &n, &cap, x)) {
            p->cur_ends = saved;
            return NULL;
        }
    }
    jnode *b = jp_node(p, N_BLOCK, pos, 0);
    if (b) {
        b->kid = kids;
        b->n = n;
    }
    return b;
}

wick_status jj_parse(jtmpl *t, jerr *e)
{
    e->msg[0] = '\0';
    e->pos = 0;
    e->nomem = false;
    static const char *const fixed[SYM_N_FIXED] = {"loop", "varargs", "kwargs", "caller",
                                                   "bos_token", "eos_token"};
    for (int i = 0; i < SYM_N_FIXED; i++) {
        if (jsyms_intern(&t->syms, &t->arena, fixed[i], (uint32_t)strlen(fixed[i])) != i) {
            return wk_fail_nomem("template symbols");
        }
    }
    jtoken *toks;
    uint32_t n;
    wick_status rc = jj_lex(t, &toks, &n, e);
    if (rc < 0) { return rc; }
    jparser p = {.t = t, .tk = toks, .n_tk = n, .e = e};
    t->root = subparse(&p, NULL);
    if (!t->root) {
        if (!e->msg[0]) { snprintf(e->msg, sizeof e->msg, "out of memory"); }
        return WICK_E_FORMAT;
    }
    return WICK_OK;
}
