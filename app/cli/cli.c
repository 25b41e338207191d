// cli.c — helpers shared by the subcommands: errors, usage, number parsing, JSON output.
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail_lib(wick_status rc, const char *fallback)
{
    const char *msg = wick_errmsg();
    if (msg && *msg) {
        fprintf(stderr, "wick: %s\n", msg);
    } else {
        fprintf(stderr, "wick: %s: %s\n", fallback ? fallback : "error", wick_strerror(rc));
    }
    return CLI_FAIL;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wick: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wick: %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'wick %s --help'.\n", cmd->name);
    va_end(ap);
    return CLI_USAGE;
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_print_usage(const cli_command *cmd)
{
    fputs(cmd->usage, stdout);
    return CLI_OK;
}

bool cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s) { return false; }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) { return false; }
    *out = (int64_t)v;
    return true;
}

bool cli_parse_double(const char *s, double *out)
{
    if (!s || !*s) { return false; }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) { return false; }
    *out = v;
    return true;
}

bool cli_parse_ids(const char *s, int32_t **out, size_t *n)
{
    size_t cap = 16, len = 0;
    int32_t *v = malloc(cap * sizeof *v);
    const char *p = s;
    while (v) {
        while (*p == ' ') { p++; }
        if (*p < '0' || *p > '9') { break; }
        char *end;
        long long x = strtoll(p, &end, 10);
        if (end == p || x > INT32_MAX) { break; }
        if (len == cap) {
            int32_t *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) { break; }
            v = nv;
        }
        v[len++] = (int32_t)x;
        p = end;
        while (*p == ' ') { p++; }
        if (*p == '\0') {
            *out = v;
            *n = len;
            return true;
        }
        if (*p != ',') { break; }
        p++;
    }
    free(v);
    return false;
}

void cli_json_float(FILE *f, float v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)v);
    // Shorter forms that read back to the same float32 keep the output small and stable.
    for (int prec = 1; prec < 9; prec++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%.*g", prec, (double)v);
        if (strtof(tmp, NULL) == v) {
            memcpy(buf, tmp, sizeof tmp);
            break;
        }
    }
    fputs(buf, f);
}

size_t cli_utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) { return 1; }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) { return 0; }
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { return 0; }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { return 0; }
    return len;
}

void cli_json_string(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            i++;
        } else if (c < 0x80) {
            fputc((int)c, f);
            i++;
        } else {
            size_t n = cli_utf8_valid_len(p + i, len - i);
            if (n == 0) {
                fputs("\xEF\xBF\xBD", f); // U+FFFD for each invalid byte
                i++;
            } else {
                fwrite(p + i, 1, n, f);
                i += n;
            }
        }
    }
    fputc('"', f);
}

char *cli_read_stdin(size_t *len)
{
    const size_t max = (size_t)1 << 31;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= max) {
                free(buf);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, stdin);
        n += r;
        if (r == 0) { break; }
    }
    if (buf) { buf[n] = '\0'; }
    *len = n;
    return buf;
}
