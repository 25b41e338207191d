// pystr.c — Python's str methods on UTF-8 text, by characters as Python counts them: whitespace
// (str.isspace), case mapping (utf8proc's simple mappings; Python's few one-to-many mappings such
// as 'ß'.upper() == 'SS' are not reproduced), strip, split, rsplit, splitlines, replace, find,
// count, and the two formatting languages: str.format and the % operator.
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#include "chat/jinja.h"

uint32_t jj_utf8_next(const char *s, size_t n, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = n - *i;
    unsigned char c = p[0];
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (len == 1 || (size_t)len > left) {
        (*i)++;
        return c;
    }
    uint32_t cp = c & (0x7F >> len);
    for (int k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            (*i)++;
            return c;
        }
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    *i += (size_t)len;
    return cp;
}

size_t jj_utf8_put(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

const char *jj_memmem(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn == 0) { return h; }
    if (nn > hn) { return NULL; }
    const char *end = h + (hn - nn);
    for (const char *p = h; p <= end;) {
        p = memchr(p, nd[0], (size_t)(end - p) + 1);
        if (!p) { return NULL; }
        if (memcmp(p, nd, nn) == 0) { return p; }
        p++;
    }
    return NULL;
}

size_t jj_utf8_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    }
    return c;
}

bool jj_isspace(uint32_t c)
{
    if (c < 0x80) { return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20); }
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool is_cased(uint32_t c)
{
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

static uint32_t upper(uint32_t c) { return (uint32_t)utf8proc_toupper((utf8proc_int32_t)c); }
static uint32_t lower(uint32_t c) { return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c); }
static uint32_t title(uint32_t c) { return (uint32_t)utf8proc_totitle((utf8proc_int32_t)c); }

static bool title_sep(uint32_t c) // jinja2's title filter splits words at [-\s({\[<]
{
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || jj_isspace(c);
}

int jj_case(jrender *r, jv s, int how, jv *out)
{
    char *o = jr_alloc(r, (size_t)s.n * 2 + 4); // a case mapping at most doubles a UTF-8 char
    if (!o) { return -1; }
    size_t m = 0;
    bool prev_cased = false, first = true;
    for (size_t i = 0; i < s.n;) {
        uint32_t c = jj_utf8_next(s.u.s, s.n, &i), d = c;
        switch (how) {
        case 'u': d = upper(c); break;
        case 'l': d = lower(c); break;
        case 's': d = is_cased(c) ? (lower(c) != c ? lower(c) : upper(c)) : c; break;
        case 't': // str.title
            d = prev_cased ? lower(c) : title(c);
            prev_cased = is_cased(c);
            break;
        case 'c': d = first ? title(c) : lower(c); break;
        case 'w': // jinja2's title filter: first character of each word upper, the rest lower
            d = title_sep(c) ? c : first ? upper(c) : lower(c);
            first = title_sep(c);
            break;
        }
        if (how != 'w') { first = false; }
        m += jj_utf8_put(d, o + m);
    }
    *out = jv_strn(o, (uint32_t)m);
    return 0;
}

static bool in_chars(uint32_t c, jv chars)
{
    for (size_t i = 0; i < chars.n;) {
        if (jj_utf8_next(chars.u.s, chars.n, &i) == c) { return true; }
    }
    return false;
}

// Byte start of the character that ends at end (end > 0).
static size_t prev_char(const char *s, size_t end)
{
    size_t b = end - 1;
    while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80 && end - b < 4) {
        b--;
    }
    return b;
}

int jj_strip(jrender *r, jv s, jv chars, bool left, bool right, jv *out)
{
    bool ws = chars.k != JV_STR;
    if (!ws && chars.k != JV_STR) { return jr_fail(r, "strip arg must be None or str"); }
    size_t b = 0, e = s.n;
    while (left && b < e) {
        size_t i = b;
        uint32_t c = jj_utf8_next(s.u.s, e, &i);
        if (ws ? !jj_isspace(c) : !in_chars(c, chars)) { break; }
        b = i;
    }
    while (right && e > b) {
        size_t p = prev_char(s.u.s, e), i = p;
        uint32_t c = jj_utf8_next(s.u.s, e, &i);
        if (ws ? !jj_isspace(c) : !in_chars(c, chars)) { break; }
        e = p;
    }
    (void)r;
    *out = jv_strn(s.u.s + b, (uint32_t)(e - b));
    return 0;
}

static int push_piece(jrender *r, jlist *l, const char *s, size_t n)
{
    return jl_push(r, l, jv_strn(s, (uint32_t)n));
}

// str.split / str.rsplit.
int jj_split(jrender *r, jv s, jv sep, int64_t maxsplit, bool from_right, jv *out)
{
    jlist *l = jl_new(r, 4);
    if (!l) { return -1; }
    const char *p = s.u.s;
    size_t n = s.n;
    if (sep.k == JV_STR && sep.n == 0) { return jr_fail(r, "split: empty separator"); }
    if (sep.k == JV_STR) {
        if (!from_right) {
            size_t i = 0;
            while (maxsplit != 0) {
                const char *f = i < n ? jj_memmem(p + i, n - i, sep.u.s, sep.n) : NULL;
                if (!f) { break; }
                if (push_piece(r, l, p + i, (size_t)(f - p) - i) < 0) { return -1; }
                i = (size_t)(f - p) + sep.n;
                maxsplit--;
            }
            if (push_piece(r, l, p + i, n - i) < 0) { return -1; }
        } else {
            size_t e = n;
            while (maxsplit != 0 && e >= sep.n) {
                size_t k = e - sep.n;
                bool found = false;
                for (;; k--) {
                    if (memcmp(p + k, sep.u.s, sep.n) == 0) {
                        found = true;
                        break;
                    }
                    if (k == 0) { break; }
                }
                if (!found) { break; }
                if (push_piece(r, l, p + k + sep.n, e - k - sep.n) < 0) { return -1; }
                e = k;
                maxsplit--;
            }
            if (push_piece(r, l, p, e) < 0) { return -1; }
            for (uint32_t a = 0, b = l->n ? l->n - 1 : 0; a < b; a++, b--) {
                jv t = l->v[a];
                l->v[a] = l->v[b];
                l->v[b] = t;
            }
        }
        *out = jv_list(l);
        return 0;
    }
    // runs of whitespace
    if (!from_right) {
        size_t i = 0;
        for (;;) {
            while (i < n) {
                size_t k = i;
                if (!jj_isspace(jj_utf8_next(p, n, &k))) { break; }
                i = k;
            }
            if (i >= n) { break; }
            if (maxsplit == 0) {
                if (push_piece(r, l, p + i, n - i) < 0) { return -1; }
                break;
            }
            size_t w = i;
            while (w < n) {
                size_t k = w;
                if (jj_isspace(jj_utf8_next(p, n, &k))) { break; }
                w = k;
            }
            if (push_piece(r, l, p + i, w - i) < 0) { return -1; }
            maxsplit--;
            i = w;
        }
    } else {
        size_t e = n;
        for (;;) {
            while (e > 0) {
                size_t b = prev_char(p, e), k = b;
                if (!jj_isspace(jj_utf8_next(p, e, &k))) { break; }
                e = b;
            }
            if (e == 0) { break; }
            if (maxsplit == 0) {
                if (push_piece(r, l, p, e) < 0) { return -1; }
                break;
            }
            size_t b = e;
            while (b > 0) {
                size_t q = prev_char(p, b), k = q;
                if (jj_isspace(jj_utf8_next(p, b, &k))) { break; }
                b = q;
            }
            if (push_piece(r, l, p + b, e - b) < 0) { return -1; }
            maxsplit--;
            e = b;
        }
        for (uint32_t a = 0, b = l->n ? l->n - 1 : 0; a < b; a++, b--) {
            jv t = l->v[a];
            l->v[a] = l->v[b];
            l->v[b] = t;
        }
    }
    *out = jv_list(l);
    return 0;
}

static bool line_break(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d ||
           c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
}

int jj_splitlines(jrender *r, jv s, bool keepends, jv *out)
{
    jlist *l = jl_new(r, 4);
    if (!l) { return -1; }
    size_t start = 0, i = 0;
    while (i < s.n) {
        size_t at = i;
        uint32_t c = jj_utf8_next(s.u.s, s.n, &i);
        if (!line_break(c)) { continue; }
        if (c == '\r' && i < s.n && s.u.s[i] == '\n') { i++; }
        if (push_piece(r, l, s.u.s + start, (keepends ? i : at) - start) < 0) { return -1; }
        start = i;
    }
    if (start < s.n && push_piece(r, l, s.u.s + start, s.n - start) < 0) { return -1; }
    *out = jv_list(l);
    return 0;
}

int jj_replace(jrender *r, jv s, jv old, jv rep, int64_t count, jv *out)
{
    if (count < 0) { count = INT64_MAX; }
    jsb b = {0};
    if (old.n == 0) { // between every character, and at both ends
        size_t i = 0;
        for (;;) {
            if (count > 0) {
                if (jsb_put(r, &b, rep.u.s, rep.n) < 0) { return -1; }
                count--;
            }
            if (i >= s.n) { break; }
            size_t k = i;
            jj_utf8_next(s.u.s, s.n, &k);
            if (jsb_put(r, &b, s.u.s + i, k - i) < 0) { return -1; }
            i = k;
        }
        *out = jsb_take(&b);
        return 0;
    }
    size_t i = 0;
    bool any = false;
    while (count > 0 && i < s.n) {
        const char *f = jj_memmem(s.u.s + i, s.n - i, old.u.s, old.n);
        if (!f) { break; }
        size_t at = (size_t)(f - s.u.s);
        if (jsb_put(r, &b, s.u.s + i, at - i) < 0 || jsb_put(r, &b, rep.u.s, rep.n) < 0) {
            return -1;
        }
        i = at + old.n;
        count--;
        any = true;
    }
    if (!any) {
        *out = s;
        return 0;
    }
    if (jsb_put(r, &b, s.u.s + i, s.n - i) < 0) { return -1; }
    *out = jsb_take(&b);
    return 0;
}

int jj_str_index(jv s, jv sub, bool from_right, int64_t *out)
{
    *out = -1;
    if (sub.n > s.n) { return 0; }
    size_t at = SIZE_MAX;
    if (!from_right) {
        const char *f = sub.n ? jj_memmem(s.u.s, s.n, sub.u.s, sub.n) : s.u.s;
        if (f) { at = (size_t)(f - s.u.s); }
    } else {
        for (size_t k = s.n - sub.n + 1; k-- > 0;) {
            if (memcmp(s.u.s + k, sub.u.s, sub.n) == 0) {
                at = k;
                break;
            }
        }
    }
    if (at != SIZE_MAX) { *out = (int64_t)jj_utf8_count(s.u.s, at); }
    return 0;
}

int jj_count(jv s, jv sub, int64_t *out)
{
    if (sub.n == 0) {
        *out = (int64_t)jj_utf8_count(s.u.s, s.n) + 1;
        return 0;
    }
    int64_t c = 0;
    for (size_t i = 0; i < s.n;) {
        const char *f = jj_memmem(s.u.s + i, s.n - i, sub.u.s, sub.n);
        if (!f) { break; }
        c++;
        i = (size_t)(f - s.u.s) + sub.n;
    }
    *out = c;
    return 0;
}

// --- formatting ----------------------------------------------------------------------------------
typedef struct fspec {
    uint32_t fill;
    char align; // '<' '>' '^' '=' or 0
    char sign;  // '+' '-' ' ' or 0
    bool alt, zero;
    int64_t width, prec; // -1: none
    char type;           // 0 when none
} fspec;

// Pads text to spec's width (characters) with its fill and alignment (default: dflt).
static int pad(jrender *r, jsb *b, const char *s, size_t n, const fspec *f, char dflt)
{
    int64_t len = (int64_t)jj_utf8_count(s, n), w = f->width - len;
    char align = f->align ? f->align : dflt;
    char fill[4];
    size_t fl = jj_utf8_put(f->fill ? f->fill : ' ', fill);
    int64_t before = w <= 0 ? 0 : align == '>' ? w : align == '^' ? w / 2 : 0;
    int64_t after = w <= 0 ? 0 : w - before;
    for (int64_t i = 0; i < before; i++) {
        if (jsb_put(r, b, fill, fl) < 0) { return -1; }
    }
    if (jsb_put(r, b, s, n) < 0) { return -1; }
    for (int64_t i = 0; i < after; i++) {
        if (jsb_put(r, b, fill, fl) < 0) { return -1; }
    }
    return 0;
}

// A number formatted by C's printf with Python's flags; '=' alignment and '0' padding put the fill
// between the sign and the digits.
static int put_number(jrender *r, jsb *b, jv v, fspec f, bool percent_style)
{
    char cf[32], out[512];
    int k = 0;
    cf[k++] = '%';
    if (f.alt) { cf[k++] = '#'; }
    if (f.sign == '+' || f.sign == ' ') { cf[k++] = f.sign; }
    char t = f.type;
    bool is_float = strchr("eEfFgG%", t) != NULL || (t == 0 && v.k == JV_FLOAT);
    if (is_float) {
        double x = v.k == JV_FLOAT ? v.u.f : v.k == JV_INT ? (double)v.u.i : (double)v.u.b;
        if (t == '%') { x *= 100; }
        int64_t prec = f.prec >= 0 ? f.prec : 6;
        if (prec > 100) { prec = 100; }
        if (t == 0 && f.prec < 0) { // like repr
            char num[64];
            jj_float_repr(x, num, sizeof num);
            if (f.sign == '+' && x >= 0) { snprintf(out, sizeof out, "+%s", num); }
            else if (f.sign == ' ' && x >= 0) { snprintf(out, sizeof out, " %s", num); }
            else { snprintf(out, sizeof out, "%s", num); }
        } else {
            snprintf(cf + k, sizeof cf - (size_t)k, ".%d%c", (int)prec,
                     t == 0 ? 'g' : t == '%' ? 'f' : t);
            snprintf(out, sizeof out, cf, x);
            if (t == 0 && !strpbrk(out, ".eEin")) { strcat(out, ".0"); }
            if (t == '%') { strcat(out, "%"); }
        }
    } else {
        int64_t x = v.k == JV_INT ? v.u.i : v.k == JV_BOOL ? v.u.b : (int64_t)v.u.f;
        if (t == 'c') {
            char ch[8];
            size_t cl = jj_utf8_put((uint32_t)x, ch);
            ch[cl] = '\0';
            snprintf(out, sizeof out, "%s", ch);
        } else if (t == 'b') {
            char bits[80];
            int nb = 0;
            uint64_t u = x < 0 ? (uint64_t)-x : (uint64_t)x;
            do {
                bits[nb++] = (char)('0' + (u & 1));
                u >>= 1;
            } while (u);
            int m = 0;
            if (x < 0) { out[m++] = '-'; }
            else if (f.sign == '+' || f.sign == ' ') { out[m++] = f.sign; }
            if (f.alt) { out[m++] = '0'; out[m++] = 'b'; }
            while (nb) { out[m++] = bits[--nb]; }
            out[m] = '\0';
        } else {
            char ct = t == 'x' || t == 'X' || t == 'o' ? t : 'd';
            snprintf(cf + k, sizeof cf - (size_t)k, "ll%c", ct);
            if (ct != 'd' && x < 0) { // Python prints -0x1f, C would print two's complement
                char tmp[64];
                snprintf(cf + k, sizeof cf - (size_t)k, "ll%c", ct);
                snprintf(tmp, sizeof tmp, cf, (long long)-x);
                snprintf(out, sizeof out, "-%s", tmp[0] == '+' || tmp[0] == ' ' ? tmp + 1 : tmp);
            } else {
                snprintf(out, sizeof out, cf, (long long)x);
            }
            if (ct == 'o' && f.alt && !percent_style) { // Python's '#o' is 0o17, C's 017
                char *z = strchr(out, '0');
                if (z && x != 0) {
                    memmove(z + 2, z + 1, strlen(z + 1) + 1);
                    z[1] = 'o';
                }
            }
        }
    }
    size_t n = strlen(out);
    if ((f.zero || f.align == '=') && f.width > (int64_t)n) {
        // fill between the sign/prefix and the digits
        size_t pre = (out[0] == '-' || out[0] == '+' || out[0] == ' ') ? 1 : 0;
        if (out[pre] == '0' && (out[pre + 1] == 'x' || out[pre + 1] == 'X' || out[pre + 1] == 'b' ||
                                out[pre + 1] == 'o')) {
            pre += 2;
        }
        char fillc = f.zero && !f.fill ? '0' : (char)(f.fill ? f.fill : ' ');
        if (jsb_put(r, b, out, pre) < 0) { return -1; }
        for (int64_t i = (int64_t)n; i < f.width; i++) {
            if (jsb_putc(r, b, fillc) < 0) { return -1; }
        }
        return jsb_put(r, b, out + pre, n - pre);
    }
    return pad(r, b, out, n, &f, '>');
}

// format(v, spec) for str.format fields.
static int format_field(jrender *r, jsb *b, jv v, const char *spec, size_t n)
{
    if (n == 0) {
        return jv_write_str(r, b, v);
    }
    fspec f = {.width = -1, .prec = -1};
    size_t i = 0;
    // [[fill]align]
    size_t k = 0;
    uint32_t c0 = jj_utf8_next(spec, n, &k);
    if (k < n && strchr("<>^=", spec[k])) {
        f.fill = c0;
        f.align = spec[k];
        i = k + 1;
    } else if (strchr("<>^=", spec[0])) {
        f.align = spec[0];
        i = 1;
    }
    if (i < n && strchr("+- ", spec[i])) { f.sign = spec[i++]; }
    if (i < n && spec[i] == 'z') { i++; }
    if (i < n && spec[i] == '#') { f.alt = true; i++; }
    if (i < n && spec[i] == '0') { f.zero = true; i++; }
    if (i < n && spec[i] >= '0' && spec[i] <= '9') {
        f.width = 0;
        while (i < n && spec[i] >= '0' && spec[i] <= '9' && f.width < 1000000) {
            f.width = f.width * 10 + (spec[i++] - '0');
        }
    }
    if (i < n && (spec[i] == ',' || spec[i] == '_')) {
        return jr_fail(r, "format: digit grouping ('%c') is not supported", spec[i]);
    }
    if (i < n && spec[i] == '.') {
        i++;
        f.prec = 0;
        while (i < n && spec[i] >= '0' && spec[i] <= '9' && f.prec < 1000000) {
            f.prec = f.prec * 10 + (spec[i++] - '0');
        }
    }
    if (i < n) { f.type = spec[i++]; }
    if (i < n) { return jr_fail(r, "format: invalid format specifier '%.*s'", (int)n, spec); }
    if (v.k == JV_STR || (!jv_is_num(v) && (f.type == 0 || f.type == 's'))) {
        if (f.type && f.type != 's') {
            return jr_fail(r, "format: unknown format code '%c' for object of type 'str'", f.type);
        }
        jv s;
        if (jv_to_str(r, v, &s) < 0) { return -1; }
        size_t len = s.n;
        if (f.prec >= 0) { // at most prec characters
            size_t q = 0;
            for (int64_t c = 0; c < f.prec && q < s.n; c++) {
                jj_utf8_next(s.u.s, s.n, &q);
            }
            len = q;
        }
        return pad(r, b, s.u.s, len, &f, '<');
    }
    if (!jv_is_num(v)) {
        return jr_fail(r, "format: unsupported format string passed to %s.__format__",
                       jv_typename(v.k));
    }
    if (f.type && !strchr("bcdoxXneEfFgG%", f.type)) {
        return jr_fail(r, "format: unknown format code '%c' for a number", f.type);
    }
    if (f.type == 'n') { f.type = v.k == JV_FLOAT ? 'g' : 'd'; }
    if (v.k == JV_FLOAT && strchr("bcdoxX", f.type ? f.type : '?')) {
        return jr_fail(r, "format: unknown format code '%c' for object of type 'float'", f.type);
    }
    return put_number(r, b, v, f, false);
}

int jj_str_format(jrender *r, jv fmt, const jargs *a, jv *out)
{
    jsb b = {0};
    const char *s = fmt.u.s;
    size_t n = fmt.n, i = 0;
    int64_t auto_idx = 0;
    while (i < n) {
        char c = s[i];
        if (c == '}') {
            if (i + 1 < n && s[i + 1] == '}') {
                if (jsb_putc(r, &b, '}') < 0) { return -1; }
                i += 2;
                continue;
            }
            return jr_fail(r, "format: single '}' encountered in format string");
        }
        if (c != '{') {
            if (jsb_putc(r, &b, c) < 0) { return -1; }
            i++;
            continue;
        }
        if (i + 1 < n && s[i + 1] == '{') {
            if (jsb_putc(r, &b, '{') < 0) { return -1; }
            i += 2;
            continue;
        }
        size_t e = i + 1;
        while (e < n && s[e] != '}') {
            if (s[e] == '{') {
                return jr_fail(r, "format: nested replacement fields are not supported");
            }
            e++;
        }
        if (e >= n) { return jr_fail(r, "format: expected '}' before end of string"); }
        // field_name [!conv] [:spec]
        size_t f = i + 1, name_end = f;
        while (name_end < e && s[name_end] != '!' && s[name_end] != ':') {
            name_end++;
        }
        size_t arg_end = f;
        while (arg_end < name_end && s[arg_end] != '.' && s[arg_end] != '[') {
            arg_end++;
        }
        jv v = jv_absent();
        if (arg_end == f || (s[f] >= '0' && s[f] <= '9')) {
            int64_t idx = 0;
            if (arg_end == f) {
                idx = auto_idx++;
            } else {
                for (size_t q = f; q < arg_end; q++) {
                    if (s[q] < '0' || s[q] > '9') { return jr_fail(r, "format: bad field name"); }
                    idx = idx * 10 + (s[q] - '0');
                    if (idx > UINT32_MAX) { return jr_fail(r, "format: bad field index"); }
                }
            }
            if (idx >= a->n_pos) {
                return jr_fail(r, "format: replacement index %lld out of range for positional args",
                               (long long)idx);
            }
            v = a->pos[idx];
        } else {
            for (uint32_t q = 0; q < a->n_kw; q++) {
                const char *kn = jr_symname(r, a->kw_sym[q]);
                if (strlen(kn) == arg_end - f && memcmp(kn, s + f, arg_end - f) == 0) {
                    v = a->kw_val[q];
                }
            }
            if (v.k == JV_ABSENT) {
                return jr_fail(r, "format: no argument named '%.*s'", (int)(arg_end - f), s + f);
            }
        }
        // .attr and [key] accessors
        for (size_t q = arg_end; q < name_end;) {
            size_t z = q + 1;
            if (s[q] == '.') {
                while (z < name_end && s[z] != '.' && s[z] != '[') {
                    z++;
                }
                jv key = jv_str_dup(r, s + q + 1, z - q - 1);
                if (key.k == JV_UNDEF || jv_getattr(r, v, key, &v) < 0) { return -1; }
                q = z;
            } else {
                while (z < name_end && s[z] != ']') {
                    z++;
                }
                jv key = jv_strn(s + q + 1, (uint32_t)(z - q - 1));
                bool digits = z > q + 1;
                int64_t ki = 0;
                for (size_t w = q + 1; w < z && digits; w++) {
                    digits = s[w] >= '0' && s[w] <= '9' && ki < INT64_MAX / 10;
                    ki = ki * 10 + (s[w] - '0');
                }
                if (digits) { key = jv_int(ki); }
                if (jv_getitem(r, v, key, &v) < 0) { return -1; }
                q = z + 1;
            }
        }
        if (v.k == JV_UNDEF && jv_undef_fail(r, v) < 0) { return -1; }
        size_t spec = name_end;
        if (spec < e && s[spec] == '!') {
            char conv = spec + 1 < e ? s[spec + 1] : 0;
            jsb tmp = {0};
            if (conv == 'r' || conv == 'a') {
                if (jv_write_repr(r, &tmp, v) < 0) { return -1; }
            } else if (conv == 's') {
                if (jv_write_str(r, &tmp, v) < 0) { return -1; }
            } else {
                return jr_fail(r, "format: unknown conversion specifier");
            }
            v = jsb_take(&tmp);
            spec += 2;
        }
        if (spec < e && s[spec] == ':') { spec++; }
        if (format_field(r, &b, v, s + spec, e - spec) < 0) { return -1; }
        i = e + 1;
    }
    *out = jsb_take(&b);
    return 0;
}

int jj_percent_format(jrender *r, jv fmt, jv args, jv *out)
{
    jsb b = {0};
    const jv *av = &args;
    uint32_t n_args = 1, next = 0;
    if (args.k == JV_TUPLE) {
        av = args.u.l->v;
        n_args = args.u.l->n;
    }
    bool mapping = args.k == JV_DICT;
    const char *s = fmt.u.s;
    size_t n = fmt.n, i = 0;
    bool used_mapping = false;
    while (i < n) {
        if (s[i] != '%') {
            size_t j = i;
            while (j < n && s[j] != '%') {
                j++;
            }
            if (jsb_put(r, &b, s + i, j - i) < 0) { return -1; }
            i = j;
            continue;
        }
        i++;
        if (i >= n) { return jr_fail(r, "%%-format: incomplete format"); }
        jv v = jv_absent();
        if (s[i] == '(') {
            size_t e = i + 1;
            while (e < n && s[e] != ')') {
                e++;
            }
            if (e >= n || !mapping) { return jr_fail(r, "%%-format: format requires a mapping"); }
            if (!jd_get_str(args.u.d, s + i + 1, e - i - 1, &v)) {
                return jr_fail(r, "%%-format: key '%.*s' not found", (int)(e - i - 1), s + i + 1);
            }
            used_mapping = true;
            i = e + 1;
        }
        fspec f = {.width = -1, .prec = -1};
        while (i < n && strchr("#0- +", s[i])) {
            char c = s[i++];
            if (c == '#') { f.alt = true; }
            else if (c == '0') { f.zero = true; }
            else if (c == '-') { f.align = '<'; }
            else { f.sign = c; }
        }
        if (f.align == '<') { f.zero = false; }
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            f.width = (f.width < 0 ? 0 : f.width) * 10 + (s[i++] - '0');
            if (f.width > 1000000) { return jr_fail(r, "%%-format: width too large"); }
        }
        if (i < n && s[i] == '.') {
            i++;
            f.prec = 0;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                f.prec = f.prec * 10 + (s[i++] - '0');
                if (f.prec > 1000000) { return jr_fail(r, "%%-format: precision too large"); }
            }
        }
        while (i < n && strchr("hlL", s[i])) {
            i++;
        }
        if (i >= n) { return jr_fail(r, "%%-format: incomplete format"); }
        char t = s[i++];
        if (t == '%') {
            if (jsb_putc(r, &b, '%') < 0) { return -1; }
            continue;
        }
        if (v.k == JV_ABSENT) {
            if (mapping && !used_mapping && n_args == 1) {
                v = args;
                next = 1;
            } else {
                if (next >= n_args) { return jr_fail(r, "not enough arguments for format string"); }
                v = av[next++];
            }
        }
        if (f.align != '<') { f.align = 0; }
        if (t == 's' || t == 'r' || t == 'a') {
            jsb tmp = {0};
            if ((t == 's' ? jv_write_str(r, &tmp, v) : jv_write_repr(r, &tmp, v)) < 0) {
                return -1;
            }
            size_t len = tmp.n;
            if (f.prec >= 0) {
                size_t q = 0;
                for (int64_t c = 0; c < f.prec && q < tmp.n; c++) {
                    jj_utf8_next(tmp.p, tmp.n, &q);
                }
                len = q;
            }
            f.zero = false;
            if (pad(r, &b, tmp.p ? tmp.p : "", len, &f, '>') < 0) { return -1; }
            continue;
        }
        if (!strchr("diuoxXeEfFgGc", t)) {
            return jr_fail(r, "%%-format: unsupported format character '%c'", t);
        }
        if (!jv_is_num(v)) {
            return jr_fail(r, "%%%c format: a real number is required, not %s", t,
                           jv_typename(v.k));
        }
        if (t == 'i' || t == 'u') { t = 'd'; }
        if (strchr("doxX", t) && v.k == JV_FLOAT) {
            if (!isfinite(v.u.f)) {
                return jr_fail(r, "%%-format: cannot convert float to integer");
            }
            v = jv_int((int64_t)v.u.f);
        }
        f.type = t;
        if (f.zero) { f.fill = '0'; }
        if (put_number(r, &b, v, f, true) < 0) { return -1; }
    }
    if ((args.k == JV_TUPLE && next < n_args) ||
        (args.k != JV_TUPLE && !mapping && args.k != JV_LIST && next == 0)) {
        return jr_fail(r, "not all arguments converted during string formatting");
    }
    *out = jsb_take(&b);
    return 0;
}
