// jinja.h — insides of the chat-template engine (src/chat): a Jinja interpreter with the semantics
// Hugging Face transformers renders chat templates with (jinja2's ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loopcontrols, its own tojson / raise_exception / strftime_now, the
// {% generation %} tag rendering its body). wick.h section 8 is the contract; this file is how.
//
// Pipeline: source → lex.c (tokens; whitespace control applied there, as jinja2's lexer does) →
// parse.c + parse_expr.c (an AST in the template's arena, names interned to symbol ids, filters and
// tests resolved to ids: an unknown one is a parse error, as in jinja2) → render: eval.c +
// exec.c walk the AST over values (value.c, print.c), calling filters.c, methods.c and pystr.c.
//
// Values (jv) are 16 bytes, passed by value. Everything a render allocates lives in one arena
// (jarena) freed at once when the render ends, so values need no reference counts and strings,
// lists and dicts are immutable once built (the sandbox forbids list.append, dict.update ...);
// only namespaces and loop objects change. JSON strings of the context are used in place.
#ifndef WK_CHAT_JINJA_H
#define WK_CHAT_JINJA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"

// --- limits (wick.h states them too) -------------------------------------------------------------
#define JJ_MAX_SOURCE ((size_t)16 << 20) // template text
#define JJ_MAX_PARSE_DEPTH 200           // nesting of blocks and expressions in the source
#define JJ_MAX_EVAL_DEPTH 1000           // nested evaluations at run time (macro calls included)
#define JJ_MAX_RANGE 100000              // range() length, as jinja2's sandbox (MAX_RANGE)
#define JJ_MAX_VALUE_DEPTH 1000          // nesting of values printed, compared, serialised
#define JJ_NOPOS UINT32_MAX

// --- arena: bump allocation in chunks, a byte cap, all freed at once -----------------------------
typedef struct jchunk jchunk;
typedef struct jarena {
    jchunk *head;
    size_t used;  // bytes handed out plus chunk overhead
    size_t max;   // cap on used
    bool over;    // an allocation failed (cap or malloc)
    bool capped;  // ... because of the cap
} jarena;

void ja_init(jarena *a, size_t max);
void ja_free(jarena *a);
void *ja_alloc(jarena *a, size_t n); // 16-aligned, uninitialised; NULL when over the cap
void *ja_zalloc(jarena *a, size_t n);
void *ja_dup(jarena *a, const void *p, size_t n); // n bytes + a NUL

// --- values --------------------------------------------------------------------------------------
typedef enum jkind {
    JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_TUPLE, JV_DICT,
    JV_NS,     // namespace(): attributes in a dict
    JV_MACRO,  // a macro or a call block's caller
    JV_FUNC,   // a global function (range, namespace, ...): sub = JF_*
    JV_METHOD, // a bound method: u.self = the object, sub = JM_*
    JV_LOOP,   // the loop object of a for loop
    JV_GEN,    // a generator (what map, select, reverse ... return): iterates once, no len()
    JV_ABSENT, // internal: an argument that was not given (never reaches a template)
} jkind;

// Why a value is undefined (sub of JV_UNDEF); u.s and n say more, for the message.
enum {
    JU_PLAIN,  // no detail ("value is undefined")
    JU_NAME,   // variable u.s is undefined
    JU_ATTR,   // object of kind aux has no attribute u.s
    JU_ELEM,   // object of kind aux has no element n (an integer key)
    JU_UNSAFE, // attribute u.s of kind aux is unsafe (the sandbox's SecurityError)
    JU_HINT,   // u.s is the whole message
};

typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jmacro jmacro;
typedef struct jloop jloop;
typedef struct jgen jgen;

typedef struct jv {
    uint8_t k;    // jkind
    uint8_t sub;  // JU_* / JF_* / JM_*
    uint16_t aux; // JU_ATTR, JU_ELEM, JU_UNSAFE: the kind of the object asked
    uint32_t n;   // JV_STR: byte length; JU_ELEM: the index
    union {
        bool b;
        int64_t i;
        double f;
        const char *s; // JV_STR: not NUL-terminated in general
        jlist *l;      // JV_LIST, JV_TUPLE
        jdict *d;      // JV_DICT, JV_NS
        jmacro *m;
        jloop *lp;
        jgen *g;
        struct jv *self;
    } u;
} jv;

struct jlist {
    jv *v;
    uint32_t n, cap;
};

// A generator, computed eagerly; iterating it consumes items from pos on.
struct jgen {
    jlist *items;
    uint32_t pos;
    const char *what; // "generator", "list_reverseiterator"
};

// sub of a JV_STR: Markup (what safe and escape return; the `escaped` test sees it).
enum { JS_PLAIN, JS_MARKUP };

// A list that prints as a dict view (sub of JV_LIST): dict_keys([...]) ...
enum { JL_PLAIN, JL_KEYS, JL_VALUES, JL_ITEMS };

// Insertion-ordered; a hash index once it has more than a few keys.
struct jdict {
    jv *key, *val;
    uint32_t n, cap;
    int32_t *idx; // open addressing, idx_cap slots, -1 empty
    uint32_t idx_cap;
};

// memcpy that accepts NULL pointers for 0 bytes (empty lists have no item array).
static inline void jj_copy(void *dst, const void *src, size_t n)
{
    if (n) { memcpy(dst, src, n); }
}

static inline jv jv_undef(void) { return (jv){.k = JV_UNDEF}; }
static inline jv jv_none(void) { return (jv){.k = JV_NONE}; }
static inline jv jv_bool(bool b) { return (jv){.k = JV_BOOL, .u.b = b}; }
static inline jv jv_int(int64_t i) { return (jv){.k = JV_INT, .u.i = i}; }
static inline jv jv_float(double f) { return (jv){.k = JV_FLOAT, .u.f = f}; }
static inline jv jv_strn(const char *s, uint32_t n) { return (jv){.k = JV_STR, .n = n, .u.s = s}; }
static inline jv jv_absent(void) { return (jv){.k = JV_ABSENT}; }
static inline bool jv_is_str(jv v) { return v.k == JV_STR; }
static inline bool jv_is_seq(jv v) { return v.k == JV_LIST || v.k == JV_TUPLE; }
static inline bool jv_is_num(jv v) { return v.k == JV_INT || v.k == JV_FLOAT || v.k == JV_BOOL; }
static inline bool jv_given(jv v) { return v.k != JV_ABSENT; }

// --- the AST -------------------------------------------------------------------------------------
typedef enum jntype {
    // expressions
    N_LIT, N_NAME, N_LIST, N_TUPLE, N_DICT, // N_DICT kids: k0 v0 k1 v1 ...
    N_ATTR,    // kid[0].lit (name in lit)
    N_ITEM,    // kid[0][kid[1]]
    N_SLICE,   // kid[0][kid[1]:kid[2]:kid[3]] (NULL kids for omitted parts)
    N_CALL,    // kid[0](kid[1..], kw)
    N_FILTER,  // id = filter; kid[0] subject (NULL in filter blocks), kid[1..] args, kw
    N_TEST,    // id = test; op = 1 when negated; kid[0] subject, kid[1..] args, kw
    N_BIN,     // op = OP_*: kid[0] op kid[1]  (arithmetic, ~)
    N_CMP,     // chain kid[0] ops[0] kid[1] ops[1] kid[2] ...; ops in lit.u.s (n bytes)
    N_AND, N_OR, N_NOT, N_NEG, N_POS,
    N_COND,    // kid[1] if kid[0] else kid[2] (kid[2] NULL: undefined)
    // statements
    N_BLOCK,   // kids: statements
    N_TEXT,    // lit: the text
    N_OUTPUT,  // {{ kid[0] }}
    N_IF,      // kid[0] test, body, alt
    N_FOR,     // kid[0] target, kid[1] iterable, kid[2] filter or NULL, body, alt; op = recursive
    N_SET,     // kid[0] target (N_NAME, N_TUPLE of names, N_ATTR on a name), kid[1] value
    N_SETBLOCK,// kid[0] target, kid[1] filter chain or NULL, body
    N_MACRO,   // id = name symbol; kids: params (N_NAME) then kw: defaults; body
    N_CALLBLOCK, // kid[0] the call (N_CALL), kid[1..] caller params, kw defaults, body
    N_FILTERBLOCK, // kid[0] filter chain (innermost subject NULL), body
    N_WITH,    // kids: t0 v0 t1 v1 ...; body
    N_SCOPE,   // body in its own scope ({% generation %}, as transformers' CallBlock)
    N_BREAK, N_CONTINUE,
} jntype;

// Binary / comparison operators (N_BIN op, N_CMP ops).
enum {
    OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN,
};

typedef struct jnode jnode;
typedef struct jkw {
    int32_t sym;
    jnode *val;
} jkw;

struct jnode {
    uint8_t type;  // jntype
    uint8_t op;
    uint16_t n_kw;
    uint32_t pos;  // byte offset in the (newline-normalised) source
    int32_t id;    // N_NAME / N_MACRO: symbol; N_FILTER: filter; N_TEST: test
    uint32_t n;    // kids
    jnode **kid;
    jkw *kw;
    jnode *body, *alt;
    jv lit;
};

// Symbols: every identifier of a template, interned (names[i], NUL-terminated).
typedef struct jsyms {
    const char **name;
    uint32_t *len;
    uint32_t n, cap;
    int32_t *idx; // hash → symbol, idx_cap slots
    uint32_t idx_cap;
} jsyms;

// Well-known symbols, interned first in this order (so their ids are these constants).
enum { SYM_LOOP, SYM_VARARGS, SYM_KWARGS, SYM_CALLER, SYM_BOS, SYM_EOS, SYM_N_FIXED };

// A compiled template (wick_template of wick.h).
typedef struct wick_template {
    char *name;        // for messages
    char *src;         // normalised source (line/column are counted on it)
    size_t len;
    char *orig;        // the source as given
    size_t orig_len;
    jarena arena;      // the AST and its strings
    jnode *root;
    jsyms syms;
    char *bos, *eos;   // defaults for bos_token / eos_token (may be NULL)
} jtmpl;

// Line and column (1-based; columns count UTF-8 characters) of a byte offset of src.
void jj_linecol(const char *src, size_t len, uint32_t pos, int *line, int *col);

// --- lexer ---------------------------------------------------------------------------------------
typedef enum jtoktype {
    TK_EOF, TK_DATA, TK_VAR_BEGIN, TK_VAR_END, TK_BLOCK_BEGIN, TK_BLOCK_END,
    TK_NAME, TK_STRING, TK_INT, TK_FLOAT, TK_OP,
} jtoktype;

// Operator tokens (TK_OP op).
enum {
    T_ADD = 1, T_SUB, T_DIV, T_FLOORDIV, T_MUL, T_MOD, T_POW, T_TILDE, T_LBRACKET, T_RBRACKET,
    T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_EQ, T_NE, T_GT, T_GTEQ, T_LT, T_LTEQ, T_ASSIGN,
    T_DOT, T_COLON, T_PIPE, T_COMMA, T_SEMICOLON,
};

typedef struct jtoken {
    uint8_t type; // jtoktype
    uint8_t op;
    uint32_t pos;
    jv val; // DATA, STRING: the text; NAME: the name (NUL-terminated in the arena); INT; FLOAT
} jtoken;

typedef struct jerr {
    uint32_t pos;
    bool nomem;
    char msg[480];
} jerr;

// Normalises t->orig into t->src (\r\n and \r → \n, one trailing newline dropped), then tokenizes
// into *toks (in t->arena). Fails with WICK_E_FORMAT and e filled.
wick_status jj_lex(jtmpl *t, jtoken **toks, uint32_t *n_toks, jerr *e);
const char *jj_op_text(int op); // "+", "//", ...

// --- parser --------------------------------------------------------------------------------------
typedef struct jparser {
    jtmpl *t;
    jtoken *tk;
    uint32_t n_tk, i;
    int depth;
    jerr *e;
    const struct jends *cur_ends; // the innermost open block, for "expected 'endfor'" messages
    const char *extra_end; // a name that also ends a tuple ("in" in for targets, "recursive")
    int loop_depth;        // for loops around the current statement (break/continue)
} jparser;

wick_status jj_parse(jtmpl *t, jerr *e);
// parse_expr.c, for parse.c:
jnode *jp_node(jparser *p, int type, uint32_t pos, uint32_t n_kids);
jnode *jp_expr(jparser *p, bool with_condexpr);    // parse_expression
jnode *jp_tuple(jparser *p, bool simplified, bool with_condexpr, bool explicit_parens);
jnode *jp_filter_chain(jparser *p, jnode *subject); // "| name(args)" ... (at least one)
jnode *jp_primary(jparser *p);
jnode *jp_call(jparser *p, jnode *callee);        // "(" args ")" after callee
int32_t jp_intern(jparser *p, const char *s, uint32_t len);
bool jp_fail(jparser *p, uint32_t pos, const char *fmt, ...) WK_PRINTF(3, 4); // returns false
const char *jp_tokdesc(const jparser *p, const jtoken *tk, char *buf, size_t n);
static inline jtoken *jp_cur(jparser *p) { return &p->tk[p->i]; }
static inline bool jp_is_op(jparser *p, int op)
{
    return p->tk[p->i].type == TK_OP && p->tk[p->i].op == op;
}
bool jp_is_name(jparser *p, const char *name);
bool jp_expect_op(jparser *p, int op);
int32_t jsyms_intern(jsyms *s, jarena *a, const char *name, uint32_t len);

// --- render state -------------------------------------------------------------------------------
typedef struct jscope jscope;
struct jscope {
    jscope *parent;
    int32_t *sym;
    jv *val;
    uint32_t n, cap;
};

struct jmacro {
    const jnode *def;  // N_MACRO or N_CALLBLOCK
    jscope *closure;
    const char *name;
};

struct jloop {
    jlist *items;
    uint32_t i;
    int depth;       // 1-based
    bool has_last;
    jv last;         // loop.changed()'s memory
    const jnode *def; // the N_FOR (for recursive loops)
    jscope *scope;   // where the loop runs
};

typedef struct jsb { // a string being built, in the arena
    char *p;
    size_t n, cap;
} jsb;

typedef struct jrender {
    const jtmpl *t;
    jarena a;
    jsb *out;          // where output goes now
    size_t max_output; // cap on the top-level output
    jsb *top;
    jscope *sc;
    jv *globals;       // per symbol: the context's value, a builtin, or undefined
    uint64_t steps, max_steps;
    int depth;
    int64_t now;       // strftime_now's clock (seconds since the epoch)
    bool have_err;
    bool over_limit;   // the error is a limit (memory, output, steps, depth)
    uint32_t err_pos;
    char err[480];
} jrender;

typedef struct jargs {
    const jv *pos;
    uint32_t n_pos;
    const int32_t *kw_sym;
    const jv *kw_val;
    uint32_t n_kw;
} jargs;

// Sets the error message (the first one wins) and returns -1. The position is attached as the
// error unwinds through eval (the innermost node with a position).
int jr_fail(jrender *r, const char *fmt, ...) WK_PRINTF(2, 3);
int jr_oom(jrender *r); // "memory limit" or "out of memory"
void *jr_alloc(jrender *r, size_t n);
bool jr_step(jrender *r); // counts a step; false (error set) past max_steps

// Binds call arguments to parameter names (Python rules): out[i] = the value or JV_ABSENT.
// what: "filter 'trim'" for messages. Fails on unknown keywords, extra or duplicated arguments.
int jr_bind(jrender *r, const char *what, const jargs *a, const char *const *names, int n_names,
            jv *out);
const char *jr_symname(const jrender *r, int32_t sym);

// eval.c / exec.c
// Around every evaluated or executed node: jr_enter counts a nesting level (-1, error set, past
// JJ_MAX_EVAL_DEPTH); jr_leave undoes it and, for a failed rc, puts the error at n if none is set.
int jr_enter(jrender *r, const jnode *n);
int jr_leave(jrender *r, const jnode *n, int rc);
int jr_eval(jrender *r, const jnode *n, jv *out);
int jr_exec(jrender *r, const jnode *n);
int jr_call(jrender *r, jv fn, const jargs *a, jv *out);
int jr_call_macro(jrender *r, const jmacro *m, const jargs *a, jv caller, jv *out);
int jr_loop_call(jrender *r, jloop *lp, const jargs *a, jv *out);
int jr_loop_attr(jrender *r, jloop *lp, jv name, jv *out);
// Applies a filter chain (innermost subject NULL: filter blocks, set blocks) to subject.
int jr_apply_filters(jrender *r, const jnode *chain, jv subject, jv *out);
// Renders t over the context dict (bos/eos: defaults when the context lacks them, may be NULL).
int jr_run(jrender *r, jv ctx, const char *bos, const char *eos);

// --- values (value.c) ----------------------------------------------------------------------------
jv jv_str_dup(jrender *r, const char *s, size_t n); // JV_UNDEF + error set on failure
jlist *jl_new(jrender *r, uint32_t cap);
int jl_push(jrender *r, jlist *l, jv v);
jv jv_list(jlist *l);
jv jv_tuple(jlist *l);
jdict *jd_new(jrender *r, uint32_t cap);
int jd_set(jrender *r, jdict *d, jv key, jv val); // replaces the value of an existing key
bool jd_get(const jdict *d, jv key, jv *out);
bool jd_get_str(const jdict *d, const char *s, size_t n, jv *out);
jv jv_dict(jdict *d);

bool jv_truthy(jv v);
bool jv_eq(jv a, jv b);
// Python's a < b (-1, 0, 1 in *c); fails with a TypeError-like message for unorderable kinds.
int jv_cmp(jrender *r, jv a, jv b, const char *op, int *c);
bool jv_hashable(jv v);
const char *jv_typename(int kind); // Python's type names: "str", "NoneType", "dict", ...
// Turns an iterable into a list (dict → keys, str → characters, undefined → empty).
int jv_iter(jrender *r, jv v, jlist **out);
int jv_len(jrender *r, jv v, int64_t *out);
int jv_getattr(jrender *r, jv obj, jv name, jv *out); // obj.name: attribute, then item
int jv_getitem(jrender *r, jv obj, jv key, jv *out);  // obj[key]: item, then attribute
int jv_slice(jrender *r, jv obj, jv start, jv stop, jv step, jv *out);
int jv_contains(jrender *r, jv container, jv x, bool *out); // x in container
// Fails when v is undefined (using it is an error), with its message.
int jv_undef_fail(jrender *r, jv v);
// The message of an undefined value ("'x' is undefined", "'dict object' has no attribute 'y'").
void jv_undef_msg(jv v, char *buf, size_t n);
// The dotted attribute path of map/selectattr/sort ("a.b.0") applied to v.
int jv_attrpath(jrender *r, jv v, jv path, jv *out);
int jv_gen(jrender *r, jlist *items, const char *what, jv *out);
int jr_binop(jrender *r, int op, jv a, jv b, jv *out); // eval.c: Python's a op b

// The render context: JSON text (one object) parsed into the arena (json.c). On a syntax error,
// msg gets "line L column C: reason" (empty when the failure is the arena's: error set in r).
int jj_json_context(jrender *r, const char *s, size_t n, jv *out, char *msg, size_t msg_n);

// --- printing (print.c) --------------------------------------------------------------------------
int jsb_put(jrender *r, jsb *b, const char *s, size_t n);
int jsb_putc(jrender *r, jsb *b, char c);
int jsb_printf(jrender *r, jsb *b, const char *fmt, ...) WK_PRINTF(3, 4);
jv jsb_take(jsb *b); // the string built (stays in the arena)
int jv_write_str(jrender *r, jsb *b, jv v);  // Python str(v)
int jv_write_repr(jrender *r, jsb *b, jv v); // Python repr(v)
int jv_to_str(jrender *r, jv v, jv *out);    // str(v) as a value (strings as they are)
void jj_float_repr(double f, char *buf, size_t n); // Python repr(float)

typedef struct jjson_opts {
    bool ensure_ascii, sort_keys;
    bool have_indent;
    jv indent; // int or str
    jv item_sep, key_sep;
} jjson_opts;
int jv_write_json(jrender *r, jsb *b, jv v, const jjson_opts *o);

// --- filters and tests (filters.c), methods and globals (methods.c) ------------------------------
typedef int (*jfilter_fn)(jrender *r, jv v, const jargs *a, jv *out);
typedef int (*jtest_fn)(jrender *r, jv v, const jargs *a, bool *out);
int jj_filter_id(const char *name, size_t len); // -1 if none
int jj_test_id(const char *name, size_t len);
const char *jj_filter_name(int id);
int jr_filter(jrender *r, int id, jv v, const jargs *a, jv *out);
int jj_escape(jrender *r, jv v, jv *out); // markupsafe.escape: HTML-escaped Markup
int jr_test(jrender *r, int id, jv v, const jargs *a, bool *out);

// Global functions (JV_FUNC sub).
enum {
    JF_RANGE,
    JF_NAMESPACE,
    JF_DICT,
    JF_RAISE,
    JF_STRFTIME,
    JF_CYCLER,
    JF_JOINER,
    JF_LIPSUM,
    JF_N
};
// Methods of loop objects (JV_METHOD sub when self is a JV_LOOP).
enum { JM_LOOP_CYCLE = 250, JM_LOOP_CHANGED = 251 };
int jj_global_id(const char *name); // -1 if none (name NUL-terminated)
int jr_call_global(jrender *r, int id, const jargs *a, jv *out);
// An attribute of a str, dict, list or tuple that is a method: *out = the bound method (or an
// unsafe undefined for the sandbox's mutating methods). False when name is no method.
bool jr_method_lookup(jrender *r, jv obj, jv name, jv *out);
int jr_call_method(jrender *r, jv self, int method, const jargs *a, jv *out);
const char *jj_method_name(int method);

// --- Python string helpers (pystr.c) -------------------------------------------------------------
uint32_t jj_utf8_next(const char *s, size_t n, size_t *i); // decodes; invalid byte → itself
size_t jj_utf8_put(uint32_t c, char *out);                  // 1..4 bytes
size_t jj_utf8_count(const char *s, size_t n);
const char *jj_memmem(const char *h, size_t hn, const char *needle, size_t nn);
bool jj_isspace(uint32_t c); // Python str.isspace
// Python str methods on UTF-8 text.
// how: 'u' upper, 'l' lower, 't' title, 'c' capitalize, 's' swapcase
int jj_case(jrender *r, jv s, int how, jv *out);
int jj_strip(jrender *r, jv s, jv chars, bool left, bool right, jv *out);
int jj_split(jrender *r, jv s, jv sep, int64_t maxsplit, bool from_right, jv *out);
int jj_splitlines(jrender *r, jv s, bool keepends, jv *out);
int jj_replace(jrender *r, jv s, jv old, jv rep, int64_t count, jv *out);
int jj_str_format(jrender *r, jv fmt, const jargs *a, jv *out); // str.format
int jj_percent_format(jrender *r, jv fmt, jv args, jv *out);    // fmt % args
int jj_str_index(jv s, jv sub, bool from_right, int64_t *out); // character index or -1
int jj_count(jv s, jv sub, int64_t *out);

#endif
