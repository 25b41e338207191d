// lex.c — template source to tokens, as jinja2's lexer does it with trim_blocks and lstrip_blocks:
//
//   - newlines \r\n and \r become \n; one trailing newline of the source is dropped;
//   - text runs up to "{{", "{%" or "{#"; "{%-" / "{{-" / "{#-" strip all whitespace before the
//     tag, "-%}" / "-}}" / "-#}" all whitespace after it;
//   - lstrip_blocks: spaces and tabs (any whitespace but newlines) between the start of a line and
//     "{%" or "{#" are dropped, unless the tag starts "{%+";
//   - trim_blocks: the first newline after "%}" or "#}" is dropped, unless the tag ends "+%}";
//   - {% raw %}...{% endraw %} is text;
//   - inside tags: names, strings (Python escapes), integers (0b 0o 0x, _ separators), floats,
//     operators; "}}" and "%}" end a tag only outside brackets (so "{{ {'a': {}}}}" works).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

typedef struct lexer {
    jtmpl *t;
    const char *s;
    size_t n, i;
    jtoken *tk;
    uint32_t n_tk, cap;
    jerr *e;
    char bal[JJ_MAX_PARSE_DEPTH]; // expected closing brackets
    int n_bal;
} lexer;

static const struct {
    const char *text;
    int op;
} ops[] = {
    // two-character operators first: the longest match wins
    {"//", T_FLOORDIV}, {"**", T_POW}, {"==", T_EQ}, {"!=", T_NE}, {">=", T_GTEQ},
    {"<=", T_LTEQ},     {"+", T_ADD},  {"-", T_SUB}, {"/", T_DIV},  {"*", T_MUL},
    {"%", T_MOD},       {"~", T_TILDE}, {"[", T_LBRACKET}, {"]", T_RBRACKET}, {"(", T_LPAREN},
    {")", T_RPAREN},    {"{", T_LBRACE}, {"}", T_RBRACE}, {">", T_GT}, {"<", T_LT},
    {"=", T_ASSIGN},    {".", T_DOT},  {":", T_COLON}, {"|", T_PIPE}, {",", T_COMMA},
    {";", T_SEMICOLON},
};

const char *jj_op_text(int op)
{
    for (size_t i = 0; i < WK_ARRAY_LEN(ops); i++) {
        if (ops[i].op == op) { return ops[i].text; }
    }
    return "?";
}

static int fail(lexer *L, size_t pos, const char *fmt, ...) WK_PRINTF(3, 4);
static int fail(lexer *L, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->e->msg, sizeof L->e->msg, fmt, ap);
    va_end(ap);
    L->e->pos = (uint32_t)pos;
    L->e->nomem = strcmp(fmt, "out of memory") == 0;
    return -1;
}

static int push(lexer *L, int type, int op, size_t pos, jv val)
{
    if (L->n_tk == L->cap) {
        uint32_t cap = L->cap ? L->cap * 2 : 256;
        jtoken *nt = ja_alloc(&L->t->arena, (size_t)cap * sizeof *nt);
        if (!nt) { return fail(L, pos, "out of memory"); }
        if (L->n_tk) { memcpy(nt, L->tk, (size_t)L->n_tk * sizeof *nt); }
        L->tk = nt;
        L->cap = cap;
    }
    L->tk[L->n_tk++] = (jtoken){.type = (uint8_t)type, .op = (uint8_t)op, .pos = (uint32_t)pos,
                                .val = val};
    return 0;
}

// Length of the whitespace character at i (Python's \s), 0 if none.
static size_t ws_at(const char *s, size_t n, size_t i)
{
    if (i >= n) { return 0; }
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) { return jj_isspace(c) ? 1 : 0; }
    size_t j = i;
    uint32_t cp = jj_utf8_next(s, n, &j);
    return jj_isspace(cp) ? j - i : 0;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    size_t w;
    while ((w = ws_at(s, n, i)) > 0) {
        i += w;
    }
    return i;
}

// End of s[start, end) with trailing whitespace removed (str.rstrip()).
static size_t rstrip_end(const char *s, size_t start, size_t end)
{
    while (end > start) {
        size_t b = end - 1;
        while (b > start && ((unsigned char)s[b] & 0xC0) == 0x80 && end - b < 4) {
            b--;
        }
        if (ws_at(s, end, b) != end - b) { break; }
        end = b;
    }
    return end;
}

static int push_data(lexer *L, size_t a, size_t b)
{
    if (b <= a) { return 0; }
    return push(L, TK_DATA, 0, a, jv_strn(L->s + a, (uint32_t)(b - a)));
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// "(\d+_)*\d+" at i: the end, or i when none.
static size_t digits(const char *s, size_t n, size_t i)
{
    size_t j = i;
    if (j >= n || !is_digit(s[j])) { return i; }
    while (j < n && is_digit(s[j])) {
        j++;
        if (j + 1 < n && s[j] == '_' && is_digit(s[j + 1])) { j++; }
    }
    return j;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

// A number at L->i: float_re first, then integer_re (jinja2's order).
static int lex_number(lexer *L)
{
    const char *s = L->s;
    size_t n = L->n, i = L->i, start = i;
    // float: digits, then (.digits)? e[+-]digits | .digits; not right after a '.'
    if (!(i > 0 && s[i - 1] == '.')) {
        size_t d = digits(s, n, i);
        if (d > i) {
            size_t j = d, frac_end = d;
            if (j < n && s[j] == '.') {
                size_t f = digits(s, n, j + 1);
                if (f > j + 1) { frac_end = f; }
            }
            size_t e = frac_end, exp_end = 0;
            if (e < n && (s[e] == 'e' || s[e] == 'E')) {
                size_t k = e + 1;
                if (k < n && (s[k] == '+' || s[k] == '-')) { k++; }
                size_t x = digits(s, n, k);
                if (x > k) { exp_end = x; }
            }
            size_t end = exp_end ? exp_end : (frac_end > d ? frac_end : 0);
            if (end) {
                char buf[128];
                size_t m = 0;
                for (size_t k = start; k < end && m + 1 < sizeof buf; k++) {
                    if (s[k] != '_') { buf[m++] = s[k]; }
                }
                buf[m] = '\0';
                L->i = end;
                return push(L, TK_FLOAT, 0, start, jv_float(strtod(buf, NULL)));
            }
        }
    }
    // integer: 0b 0o 0x prefixes, [1-9](_?\d)*, 0(_?0)*
    int base = 10;
    size_t j = i + 1;
    if (s[i] == '0' && i + 1 < n) {
        char p = (char)(s[i + 1] | 0x20);
        int b = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 0;
        size_t k = i + 2;
        while (b && k < n) {
            size_t q = k + (s[k] == '_' ? 1 : 0);
            int v = q < n ? hexval(s[q]) : -1;
            if (v < 0 || v >= b) { break; }
            k = q + 1;
        }
        if (b && k > i + 2) {
            base = b;
            j = k;
        }
    }
    if (base == 10) {
        const char allowed_lo = '0', allowed_hi = s[i] == '0' ? '0' : '9';
        while (j < n) {
            if (s[j] >= allowed_lo && s[j] <= allowed_hi) {
                j++;
            } else if (s[j] == '_' && j + 1 < n && s[j + 1] >= allowed_lo &&
                       s[j + 1] <= allowed_hi) {
                j += 2;
            } else {
                break;
            }
        }
    }
    uint64_t v = 0;
    for (size_t k = base == 10 ? i : i + 2; k < j; k++) {
        if (s[k] == '_') { continue; }
        uint64_t d = (uint64_t)hexval(s[k]);
        if (v > ((uint64_t)INT64_MAX - d) / (uint64_t)base) {
            return fail(L, start, "integer literal too large (wick's integers are 64-bit)");
        }
        v = v * (uint64_t)base + d;
    }
    L->i = j;
    return push(L, TK_INT, 0, start, jv_int((int64_t)v));
}

// A string literal at L->i, decoded as Python's unicode-escape does.
static int lex_string(lexer *L)
{
    const char *s = L->s;
    size_t n = L->n, start = L->i;
    char q = s[start];
    size_t j = start + 1;
    while (j < n && s[j] != q) {
        j += s[j] == '\\' && j + 1 < n ? 2 : 1;
    }
    if (j >= n) { return fail(L, start, "unterminated string literal"); }
    size_t end = j; // the closing quote
    char *out = ja_alloc(&L->t->arena, (end - start) + 1);
    if (!out) { return fail(L, start, "out of memory"); }
    size_t m = 0;
    for (size_t k = start + 1; k < end;) {
        if (s[k] != '\\' || k + 1 >= end) {
            out[m++] = s[k++];
            continue;
        }
        char c = s[k + 1];
        size_t esc = k;
        k += 2;
        uint32_t cp = 0;
        int nhex = 0;
        switch (c) {
        case '\n': break; // line continuation
        case '\\': out[m++] = '\\'; break;
        case '\'': out[m++] = '\''; break;
        case '"': out[m++] = '"'; break;
        case 'a': out[m++] = '\a'; break;
        case 'b': out[m++] = '\b'; break;
        case 'f': out[m++] = '\f'; break;
        case 'n': out[m++] = '\n'; break;
        case 'r': out[m++] = '\r'; break;
        case 't': out[m++] = '\t'; break;
        case 'v': out[m++] = '\v'; break;
        case 'x': nhex = 2; break;
        case 'u': nhex = 4; break;
        case 'U': nhex = 8; break;
        case 'N': return fail(L, esc, "\\N{...} escapes are not supported");
        default:
            if (c >= '0' && c <= '7') {
                cp = (uint32_t)(c - '0');
                for (int d = 0; d < 2 && k < end && s[k] >= '0' && s[k] <= '7'; d++) {
                    cp = cp * 8 + (uint32_t)(s[k++] - '0');
                }
                m += jj_utf8_put(cp, out + m);
            } else if ((unsigned char)c >= 0x80) {
                // Python first turns the character into \xHH / \uHHHH / \UHHHHHHHH, whose
                // backslash the one before it then escapes.
                size_t p = k - 1;
                uint32_t u = jj_utf8_next(s, end, &p);
                k = p;
                char tmp[16];
                int w = u < 0x100 ? snprintf(tmp, sizeof tmp, "\\x%02x", u)
                        : u < 0x10000 ? snprintf(tmp, sizeof tmp, "\\u%04x", u)
                                      : snprintf(tmp, sizeof tmp, "\\U%08x", u);
                // that text is longer than the source character: grow the buffer
                char *o2 = ja_alloc(&L->t->arena, m + (size_t)w + (end - k) * 11 + 1);
                if (!o2) { return fail(L, start, "out of memory"); }
                memcpy(o2, out, m);
                out = o2;
                memcpy(out + m, tmp, (size_t)w);
                m += (size_t)w;
            } else {
                out[m++] = '\\';
                out[m++] = c;
            }
        }
        if (nhex) {
            for (int d = 0; d < nhex; d++) {
                int v = k < end ? hexval(s[k]) : -1;
                if (v < 0) {
                    return fail(L, esc, "truncated \\%c escape in string literal", c);
                }
                cp = cp * 16 + (uint32_t)v;
                k++;
            }
            if (cp > 0x10FFFF) {
                return fail(L, esc, "illegal Unicode character in string literal");
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                return fail(L, esc, "a lone surrogate (\\u%04x) cannot be encoded as UTF-8", cp);
            }
            m += jj_utf8_put(cp, out + m);
        }
    }
    out[m] = '\0';
    L->i = end + 1;
    return push(L, TK_STRING, 0, start, jv_strn(out, (uint32_t)m));
}

// Tokens of one {{ }} or {% %} tag from L->i up to and including its end.
static int lex_tag(lexer *L, bool block, size_t tag_pos, bool *line_starting)
{
    const char *s = L->s;
    size_t n = L->n;
    L->n_bal = 0;
    for (;;) {
        size_t w = skip_ws(s, n, L->i);
        if (w > L->i) {
            *line_starting = s[w - 1] == '\n';
            L->i = w;
        }
        size_t i = L->i;
        if (i >= n) { return push(L, TK_EOF, 0, n, jv_none()); }
        if (L->n_bal == 0) {
            if (block) {
                if (s[i] == '+' && i + 2 < n && s[i + 1] == '%' && s[i + 2] == '}') {
                    L->i = i + 3;
                    *line_starting = false;
                    return push(L, TK_BLOCK_END, 0, i, jv_none());
                }
                if (s[i] == '-' && i + 2 < n && s[i + 1] == '%' && s[i + 2] == '}') {
                    L->i = skip_ws(s, n, i + 3);
                    *line_starting = L->i > i + 3 && s[L->i - 1] == '\n';
                    return push(L, TK_BLOCK_END, 0, i, jv_none());
                }
                if (s[i] == '%' && i + 1 < n && s[i + 1] == '}') {
                    L->i = i + 2;
                    *line_starting = false;
                    if (L->i < n && s[L->i] == '\n') { // trim_blocks
                        L->i++;
                        *line_starting = true;
                    }
                    return push(L, TK_BLOCK_END, 0, i, jv_none());
                }
            } else {
                if (s[i] == '-' && i + 2 < n && s[i + 1] == '}' && s[i + 2] == '}') {
                    L->i = skip_ws(s, n, i + 3);
                    *line_starting = L->i > i + 3 && s[L->i - 1] == '\n';
                    return push(L, TK_VAR_END, 0, i, jv_none());
                }
                if (s[i] == '}' && i + 1 < n && s[i + 1] == '}') {
                    L->i = i + 2;
                    *line_starting = false;
                    return push(L, TK_VAR_END, 0, i, jv_none());
                }
            }
        }
        char c = s[i];
        int rc;
        if (is_digit(c)) {
            rc = lex_number(L);
        } else if (is_name_start(c)) {
            size_t j = i;
            while (j < n && is_name_char(s[j])) {
                j++;
            }
            char *name = ja_dup(&L->t->arena, s + i, j - i);
            if (!name) { return fail(L, i, "out of memory"); }
            L->i = j;
            rc = push(L, TK_NAME, 0, i, jv_strn(name, (uint32_t)(j - i)));
        } else if (c == '\'' || c == '"') {
            rc = lex_string(L);
        } else {
            int op = 0;
            size_t len = 0;
            for (size_t k = 0; k < WK_ARRAY_LEN(ops); k++) {
                size_t l = strlen(ops[k].text);
                if (i + l <= n && memcmp(s + i, ops[k].text, l) == 0) {
                    op = ops[k].op;
                    len = l;
                    break;
                }
            }
            if (!op) {
                size_t j = i;
                uint32_t cp = jj_utf8_next(s, n, &j);
                if (cp < 0x80 && cp >= 0x20) {
                    return fail(L, i, "unexpected character '%c'", (char)cp);
                }
                return fail(L, i, "unexpected character U+%04X", cp);
            }
            if (op == T_LBRACE || op == T_LPAREN || op == T_LBRACKET) {
                if (L->n_bal >= JJ_MAX_PARSE_DEPTH) {
                    return fail(L, i, "brackets nested deeper than %d", JJ_MAX_PARSE_DEPTH);
                }
                L->bal[L->n_bal++] = op == T_LBRACE ? '}' : op == T_LPAREN ? ')' : ']';
            } else if (op == T_RBRACE || op == T_RPAREN || op == T_RBRACKET) {
                if (L->n_bal == 0) { return fail(L, i, "unexpected '%c'", c); }
                char want = L->bal[--L->n_bal];
                if (want != c) { return fail(L, i, "unexpected '%c', expected '%c'", c, want); }
            }
            L->i = i + len;
            rc = push(L, TK_OP, op, i, jv_none());
        }
        if (rc < 0) { return rc; }
        *line_starting = false;
    }
    (void)tag_pos;
}

// "{%" at i followed by optional -/+, whitespace, "raw", whitespace, "-%}" or "%}": the end of
// that opening tag (after "-%}"'s whitespace), or 0.
static size_t raw_begin(const char *s, size_t n, size_t i, char *sign)
{
    size_t j = i + 2;
    *sign = 0;
    if (j < n && (s[j] == '-' || s[j] == '+')) { *sign = s[j++]; }
    j = skip_ws(s, n, j);
    if (j + 3 > n || memcmp(s + j, "raw", 3) != 0) { return 0; }
    j = skip_ws(s, n, j + 3);
    if (j + 3 <= n && memcmp(s + j, "-%}", 3) == 0) { return skip_ws(s, n, j + 3); }
    if (j + 2 <= n && memcmp(s + j, "%}", 2) == 0) { return j + 2; }
    return 0;
}

// Text before a tag at tag, from text_start: applies "-" and lstrip_blocks; pushes it.
static int text_before(lexer *L, size_t text_start, size_t tag, char sign, bool is_var,
                       bool line_starting)
{
    const char *s = L->s;
    size_t end = tag;
    if (sign == '-') {
        end = rstrip_end(s, text_start, tag);
    } else if (sign != '+' && !is_var) {
        size_t l_pos = tag;
        while (l_pos > text_start && s[l_pos - 1] != '\n') {
            l_pos--;
        }
        bool after_nl = l_pos > text_start;
        if ((after_nl || line_starting) && l_pos < tag && skip_ws(s, tag, l_pos) == tag) {
            end = l_pos;
        }
    }
    return push_data(L, text_start, end);
}

static int lex_all(lexer *L)
{
    const char *s = L->s;
    size_t n = L->n;
    bool line_starting = true;
    while (L->i < n) {
        size_t start = L->i, tag = start;
        const char *p = NULL;
        while (tag + 1 < n) {
            p = memchr(s + tag, '{', n - tag - 1);
            if (!p) { break; }
            tag = (size_t)(p - s);
            char c = s[tag + 1];
            if (c == '{' || c == '%' || c == '#') { break; }
            tag++;
            p = NULL;
        }
        if (!p) { return push_data(L, start, n); }
        char kind = s[tag + 1];
        char sign = tag + 2 < n && (s[tag + 2] == '-' || s[tag + 2] == '+') ? s[tag + 2] : 0;
        if (kind == '%') {
            char rsign;
            size_t body = raw_begin(s, n, tag, &rsign);
            if (body) {
                if (text_before(L, start, tag, rsign, false, line_starting) < 0) { return -1; }
                // up to {% endraw %} (with its own whitespace control)
                size_t k = body;
                for (;;) {
                    const char *q = k < n ? memchr(s + k, '{', n - k) : NULL;
                    if (!q) { return fail(L, tag, "missing end of raw directive"); }
                    size_t e = (size_t)(q - s);
                    if (e + 1 < n && s[e + 1] == '%') {
                        size_t j = e + 2;
                        char es = 0;
                        if (j < n && (s[j] == '-' || s[j] == '+')) { es = s[j++]; }
                        j = skip_ws(s, n, j);
                        if (j + 6 <= n && memcmp(s + j, "endraw", 6) == 0) {
                            j = skip_ws(s, n, j + 6);
                            size_t after = 0;
                            if (j + 3 <= n && memcmp(s + j, "+%}", 3) == 0) {
                                after = j + 3;
                            } else if (j + 3 <= n && memcmp(s + j, "-%}", 3) == 0) {
                                after = skip_ws(s, n, j + 3);
                            } else if (j + 2 <= n && memcmp(s + j, "%}", 2) == 0) {
                                after = j + 2;
                                if (after < n && s[after] == '\n') { after++; }
                            }
                            if (after) {
                                bool ls = s[body - 1] == '\n';
                                if (text_before(L, body, e, es, false, ls) < 0) { return -1; }
                                L->i = after;
                                line_starting = s[after - 1] == '\n';
                                break;
                            }
                        }
                    }
                    k = e + 1;
                }
                continue;
            }
        }
        if (text_before(L, start, tag, sign, kind == '{', line_starting) < 0) { return -1; }
        size_t after = tag + 2 + (sign ? 1 : 0);
        if (kind == '#') {
            const char *q = NULL;
            size_t k = after;
            while (k + 1 < n + 1) {
                q = k < n ? memchr(s + k, '#', n - k) : NULL;
                if (!q) { break; }
                size_t e = (size_t)(q - s);
                if (e + 1 < n && s[e + 1] == '}') { break; }
                k = e + 1;
                q = NULL;
            }
            if (!q) { return fail(L, tag, "missing end of comment tag '#}'"); }
            size_t e = (size_t)(q - s); // the '#' of "#}"
            char es = e > after && (s[e - 1] == '-' || s[e - 1] == '+') ? s[e - 1] : 0;
            size_t j = e + 2;
            if (es == '-') {
                j = skip_ws(s, n, j);
                line_starting = j > e + 2 && s[j - 1] == '\n';
            } else if (es == '+') {
                line_starting = false;
            } else {
                line_starting = false;
                if (j < n && s[j] == '\n') {
                    j++;
                    line_starting = true;
                }
            }
            L->i = j;
            continue;
        }
        bool block = kind == '%';
        if (push(L, block ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, 0, tag, jv_none()) < 0) { return -1; }
        L->i = after;
        if (lex_tag(L, block, tag, &line_starting) < 0) { return -1; }
        if (L->tk[L->n_tk - 1].type == TK_EOF) {
            L->n_tk--;
            break;
        }
    }
    return 0;
}

wick_status jj_lex(jtmpl *t, jtoken **toks, uint32_t *n_toks, jerr *e)
{
    // newlines → \n; drop one trailing newline
    char *src = ja_alloc(&t->arena, t->orig_len + 1);
    if (!src) { return wk_fail_nomem("template source"); }
    size_t m = 0;
    for (size_t i = 0; i < t->orig_len; i++) {
        char c = t->orig[i];
        if (c == '\r') {
            if (i + 1 < t->orig_len && t->orig[i + 1] == '\n') { i++; }
            c = '\n';
        }
        src[m++] = c;
    }
    if (m > 0 && src[m - 1] == '\n') { m--; }
    src[m] = '\0';
    t->src = src;
    t->len = m;

    lexer L = {.t = t, .s = src, .n = m, .e = e};
    if (lex_all(&L) < 0 || push(&L, TK_EOF, 0, m, jv_none()) < 0) {
        return WICK_E_FORMAT;
    }
    *toks = L.tk;
    *n_toks = L.n_tk;
    return WICK_OK;
}
