// util.c — small pieces of the Hub protocol: URL quoting, repo ids and repo paths that cannot
// leave the repo, the token and cache locations from the environment, fnmatchcase globs.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub/hub_internal.h"

char *wk_hub_quote(const char *s, bool keep_slash)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = strlen(s), cap;
    if (!wk_mul_size(n, 3, &cap) || !wk_add_size(cap, 1, &cap)) { return NULL; }
    char *out = wk_malloc(cap), *o = out;
    if (!out) { return NULL; }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        // Python's quote(): letters, digits and "_.-~" are never quoted.
        if (isalnum(*p) || *p == '_' || *p == '.' || *p == '-' || *p == '~' ||
            (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hexd[*p >> 4];
            *o++ = hexd[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 96) { return false; }
    if (s[0] == '.' || s[0] == '-') { return false; }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.')) { return false; }
        if (i + 1 < n && ((c == '-' && s[i + 1] == '-') || (c == '.' && s[i + 1] == '.'))) {
            return false;
        }
    }
    return true;
}

bool wk_hub_valid_repo(const char *repo)
{
    if (!repo) { return false; }
    const char *slash = strchr(repo, '/');
    if (!slash) { return name_ok(repo, strlen(repo)); }
    if (strchr(slash + 1, '/')) { return false; }
    return name_ok(repo, (size_t)(slash - repo)) && name_ok(slash + 1, strlen(slash + 1));
}

bool wk_hub_valid_path(const char *path)
{
    if (!path || !*path || path[0] == '/' || strlen(path) > 4000) { return false; }
    const char *seg = path;
    for (const char *p = path;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\\' || (c != 0 && c < 0x20) || c == 0x7f) { return false; }
        if (c == '/' || c == 0) {
            size_t n = (size_t)(p - seg);
            if (n == 0) { return false; } // "a//b", trailing "/"
            if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
                return false;
            }
            if (c == 0) { break; }
            seg = p + 1;
        }
    }
    return true;
}

bool wk_hub_is_hex(const char *s, size_t n)
{
    if (strlen(s) != n) { return false; }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) { return false; }
    }
    return true;
}

bool wk_hub_is_hex_prefix(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) { return false; }
    }
    return true;
}

void wk_hub_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hexd[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[d[i] >> 4];
        out[2 * i + 1] = hexd[d[i] & 15];
    }
    out[2 * n] = '\0';
}

bool wk_hub_env_true(const char *name)
{
    const char *v = getenv(name);
    if (!v) { return false; }
    return strcasecmp(v, "1") == 0 || strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 ||
           strcasecmp(v, "true") == 0;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

// A path from the environment with a leading "~/" expanded (Python's expanduser).
static char *env_path(const char *v)
{
    const char *home = getenv("HOME");
    if (v[0] == '~' && (v[1] == '/' || v[1] == '\0') && home) {
        return wk_asprintf("%s%s", home, v + 1);
    }
    return wk_strdup(v);
}

char *wk_hub_home(void)
{
    const char *v = env_nonempty("HF_HOME");
    if (v) { return env_path(v); }
    v = env_nonempty("XDG_CACHE_HOME");
    if (v) {
        char *x = env_path(v), *r = x ? wk_asprintf("%s/huggingface", x) : NULL;
        wk_free(x);
        return r;
    }
    v = env_nonempty("HOME");
    return wk_asprintf("%s/.cache/huggingface", v ? v : "/tmp");
}

char *wk_hub_default_cache(void)
{
    const char *v = env_nonempty("HF_HUB_CACHE");
    if (!v) { v = env_nonempty("HUGGINGFACE_HUB_CACHE"); }
    if (v) { return env_path(v); }
    char *home = wk_hub_home();
    if (!home) { return NULL; }
    char *r = wk_asprintf("%s/hub", home);
    wk_free(home);
    return r;
}

// Python's _clean_token: drop CR/LF, strip, empty = none. We also refuse anything that is not
// printable ASCII (it goes into a header).
static char *clean_token(const char *t)
{
    size_t n = strlen(t);
    char *o = wk_malloc(n + 1);
    if (!o) { return NULL; }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] != '\r' && t[i] != '\n') { o[k++] = t[i]; }
    }
    o[k] = '\0';
    size_t a = 0;
    while (a < k && isspace((unsigned char)o[a])) { a++; }
    while (k > a && isspace((unsigned char)o[k - 1])) { k--; }
    memmove(o, o + a, k - a);
    o[k - a] = '\0';
    bool ok = o[0] != '\0';
    for (char *p = o; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) { ok = false; }
    }
    if (!ok) {
        if (o[0]) {
            wk_warn("the Hugging Face token has characters a header cannot carry; ignored");
        }
        wk_free(o);
        return NULL;
    }
    return o;
}

char *wk_hub_env_token(void)
{
    if (wk_hub_env_true("HF_HUB_DISABLE_IMPLICIT_TOKEN")) { return NULL; }
    const char *v = env_nonempty("HF_TOKEN");
    if (!v) { v = env_nonempty("HUGGING_FACE_HUB_TOKEN"); }
    if (v) { return clean_token(v); }
    char *path = NULL;
    v = env_nonempty("HF_TOKEN_PATH");
    if (v) {
        path = env_path(v);
    } else {
        char *home = wk_hub_home();
        if (home) { path = wk_asprintf("%s/token", home); }
        wk_free(home);
    }
    if (!path) { return NULL; }
    char *data = NULL;
    size_t len = 0;
    char *tok = NULL;
    if (wk_read_file(path, 64 * 1024, &data, &len) >= 0) {
        tok = clean_token(data);
        wk_free(data);
    }
    wk_free(path);
    return tok;
}

char *wk_hub_origin(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *r = NULL;
    if (!u) { return NULL; }
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        for (char *p = host; *p; p++) { *p = (char)tolower((unsigned char)*p); }
        r = wk_asprintf("%s://%s:%s", scheme, host, port);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return r;
}

// --- fnmatchcase ---------------------------------------------------------------------------------
// Python's fnmatch translates the pattern to a regex where `*` is `.*` (crossing '/'), `?` is `.`,
// `[...]` a class (`[!...]` negated, a leading `]` literal), and an unclosed `[` a literal '['.
// Matching is on code points; we match bytes, which agrees for ASCII patterns and for literal
// UTF-8 text; `?` on a multi-byte character would differ, so `?` consumes a whole UTF-8 sequence.
static size_t utf8_len(const unsigned char *s)
{
    if (*s < 0x80) { return 1; }
    size_t n = (*s >= 0xf0) ? 4 : (*s >= 0xe0) ? 3 : (*s >= 0xc0) ? 2 : 1;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) { return 1; }
    }
    return n;
}

// Matches a class at p (just after '['); *end gets the pattern position after ']'. Returns -1 if
// the class is unclosed, else 1/0 for match.
static int class_match(const char *p, unsigned char c, const char **end)
{
    bool neg = false;
    if (*p == '!') {
        neg = true;
        p++;
    }
    const char *q = p;
    if (*q == ']') { q++; }
    while (*q && *q != ']') { q++; }
    if (!*q) { return -1; }
    bool hit = false;
    for (const char *s = p; s < q; s++) {
        if (s + 2 < q && s[1] == '-') {
            if ((unsigned char)s[0] <= c && c <= (unsigned char)s[2]) { hit = true; }
            s += 2;
        } else if ((unsigned char)*s == c) {
            hit = true;
        }
    }
    *end = q + 1;
    return hit != neg;
}

static bool glob(const char *p, const char *s)
{
    while (*p) {
        if (*p == '*') {
            while (*p == '*') { p++; }
            if (!*p) { return true; }
            for (const char *t = s;; t++) {
                if (glob(p, t)) { return true; }
                if (!*t) { return false; }
            }
        }
        if (!*s) { return false; }
        if (*p == '?') {
            p++;
            s += utf8_len((const unsigned char *)s);
            continue;
        }
        if (*p == '[') {
            const char *end;
            int m = class_match(p + 1, (unsigned char)*s, &end);
            if (m >= 0) {
                if (!m) { return false; }
                p = end;
                s++;
                continue;
            }
        }
        if (*p != *s) { return false; }
        p++;
        s++;
    }
    return *s == '\0';
}

bool wick_hub_glob_match(const char *pattern, const char *path)
{
    if (!pattern || !path) { return false; }
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '/') { // "folder/" means "folder/*"
        char *pp = wk_asprintf("%s*", pattern);
        bool r = pp && glob(pp, path);
        wk_free(pp);
        return r;
    }
    return glob(pattern, path);
}
