// spec.c — model specs: "[hf.co/]OWNER/REPO[@REV][:TAG]" or a path, and the choice of the GGUF
// file (or split set) in a repo listing (wick.h section 7, MODEL SPECS).
//
// A listing's GGUF files form sets: a single file, or the shards NAME-0000k-of-0000N.gguf of one
// split model (grouped by folder + NAME + N). A set's label is its path without ".gguf" and the
// shard suffix ("Q4_K_M/Kimi-K2-Q4_K_M"). A tag matches a set when it occurs in the label,
// case-insensitive, starting at the beginning or after one of "-._/" and ending at the end or
// before one of "-./" (so "Q4_K" does not match "q4_k_m", "UD-Q4_K_XL" matches
// "Phi-4-reasoning-UD-Q4_K_XL").
#include <ctype.h>
#include <sys/stat.h>

#include "gen/gen.h"

void wk_spec_free(wk_spec *s)
{
    if (!s) { return; }
    wk_free(s->path);
    wk_free(s->repo);
    wk_free(s->rev);
    wk_free(s->tag);
    memset(s, 0, sizeof *s);
}

static bool repo_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-') { return false; }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-') { return false; }
        if (c == '.' && i + 1 < n && s[i + 1] == '.') { return false; }
    }
    return true;
}

static bool ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

wick_status wk_spec_parse(const char *text, const char *what, wk_spec *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text) { return wk_fail(WICK_E_INVALID, "%s spec: empty", what); }
    struct stat sb;
    if (stat(text, &sb) == 0) {
        out->path = wk_strdup(text);
        return out->path ? WICK_OK : wk_fail_nomem("spec");
    }
    const char *s = text;
    if (strncmp(s, "hf.co/", 6) == 0) {
        s += 6;
    } else if (strncmp(s, "huggingface.co/", 15) == 0) {
        s += 15;
    }
    const char *at = strchr(s, '@');
    const char *colon = strrchr(at ? at : s, ':');
    const char *repo_end = at ? at : colon ? colon : s + strlen(s);
    const char *slash = memchr(s, '/', (size_t)(repo_end - s));
    bool repo_ok = slash && repo_part_ok(s, (size_t)(slash - s)) &&
                   repo_part_ok(slash + 1, (size_t)(repo_end - slash - 1));
    if (!repo_ok) {
        size_t n = strlen(text);
        if (ends_with_ci(text, n, ".gguf") || ends_with_ci(text, n, ".json") || text[0] == '/' ||
            text[0] == '.' || (slash && strchr(slash + 1, '/'))) {
            return wk_fail(WICK_E_NOT_FOUND, "%s: no such file", text);
        }
        return wk_fail(WICK_E_INVALID,
                       "%s spec '%s': not a file and not OWNER/REPO[@REVISION][:TAG]", what, text);
    }
    if (at && (at[1] == '\0' || at + 1 == colon)) {
        return wk_fail(WICK_E_INVALID, "%s spec '%s': empty revision after '@'", what, text);
    }
    if (colon && colon[1] == '\0') {
        return wk_fail(WICK_E_INVALID, "%s spec '%s': empty tag after ':'", what, text);
    }
    if (colon && strcmp(what, "tokenizer") == 0) {
        return wk_fail(WICK_E_INVALID, "%s spec '%s': a tokenizer takes no :TAG", what, text);
    }
    out->repo = wk_strndup(s, (size_t)(repo_end - s));
    if (at) { out->rev = wk_strndup(at + 1, (size_t)((colon ? colon : at + strlen(at)) - at - 1)); }
    if (colon) { out->tag = wk_strdup(colon + 1); }
    if (!out->repo || (at && !out->rev) || (colon && !out->tag)) {
        wk_spec_free(out);
        return wk_fail_nomem("spec");
    }
    return WICK_OK;
}

// --- choosing the GGUF ---------------------------------------------------------------------------

typedef struct gset {
    char *label; // path without .gguf / shard suffix
    int count; // shards (1: a single file)
    size_t *idx; // entry index per shard (SIZE_MAX: missing)
    uint64_t bytes;
} gset;

typedef struct gsets {
    gset *v;
    size_t n, cap;
} gsets;

static void gsets_free(gsets *g)
{
    for (size_t i = 0; i < g->n; i++) {
        wk_free(g->v[i].label);
        wk_free(g->v[i].idx);
    }
    wk_free(g->v);
}

// "-00001-of-00003.gguf" at the end of path[0, n): shard k (1-based) of count.
static bool shard_suffix(const char *p, size_t n, int *k, int *count)
{
    static const char pat[] = "-#####-of-#####.gguf";
    const size_t m = sizeof pat - 1;
    if (n <= m) { return false; }
    const char *s = p + n - m;
    int a = 0, b = 0;
    for (size_t i = 0; i < m; i++) {
        if (pat[i] == '#') {
            if (!isdigit((unsigned char)s[i])) { return false; }
            if (i < 6) {
                a = a * 10 + (s[i] - '0');
            } else {
                b = b * 10 + (s[i] - '0');
            }
        } else if (tolower((unsigned char)s[i]) != pat[i]) {
            return false;
        }
    }
    if (a < 1 || b < 1 || a > b) { return false; }
    *k = a;
    *count = b;
    return true;
}

static bool contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++) {
        if (strncasecmp(s, needle, n) == 0) { return true; }
    }
    return false;
}

static wick_status collect(const wick_hub_entry *e, size_t n, gsets *g)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = e[i].path;
        size_t len = strlen(p);
        if (!ends_with_ci(p, len, ".gguf")) { continue; }
        const char *base = strrchr(p, '/');
        base = base ? base + 1 : p;
        if (contains_ci(base, "mmproj")) { continue; }
        int k = 1, count = 1;
        size_t lab_len = len - 5;
        if (shard_suffix(p, len, &k, &count)) { lab_len = len - 20; }
        gset *s = NULL;
        for (size_t j = 0; j < g->n && count > 1; j++) {
            if (g->v[j].count == count && strlen(g->v[j].label) == lab_len &&
                strncmp(g->v[j].label, p, lab_len) == 0) {
                s = &g->v[j];
            }
        }
        if (!s) {
            if (g->n == g->cap) {
                size_t cap = g->cap ? g->cap * 2 : 8;
                gset *v = wk_realloc(g->v, cap * sizeof *v);
                if (!v) { return wk_fail_nomem("GGUF sets"); }
                g->v = v;
                g->cap = cap;
            }
            s = &g->v[g->n];
            memset(s, 0, sizeof *s);
            s->label = wk_strndup(p, lab_len);
            s->idx = wk_malloc((size_t)count * sizeof *s->idx);
            if (!s->label || !s->idx) {
                wk_free(s->label);
                wk_free(s->idx);
                return wk_fail_nomem("GGUF sets");
            }
            s->count = count;
            for (int j = 0; j < count; j++) { s->idx[j] = SIZE_MAX; }
            g->n++;
        }
        s->idx[k - 1] = i;
        s->bytes += e[i].size;
    }
    return WICK_OK;
}

static bool tag_matches(const char *label, const char *tag)
{
    size_t n = strlen(tag), len = strlen(label);
    for (size_t i = 0; i + n <= len; i++) {
        if (strncasecmp(label + i, tag, n) != 0) { continue; }
        bool before = i == 0 || strchr("-._/", label[i - 1]);
        bool after = i + n == len || strchr("-./", label[i + n]);
        if (before && after) { return true; }
    }
    return false;
}

// The quantization named in a label ("Q4_K_M", "UD-Q4_K_XL", "F16"), or the label's file name.
static void quant_of(const char *label, char *out, size_t cap)
{
    const char *base = strrchr(label, '/');
    base = base ? base + 1 : label;
    const char *p = base;
    while (*p) {
        size_t n = strcspn(p, "-.");
        char u[8] = {0};
        for (size_t i = 0; i < n && i < sizeof u - 1; i++) { u[i] = (char)toupper(p[i]); }
        bool q = (u[0] == 'Q' && isdigit((unsigned char)u[1])) ||
                 (u[0] == 'I' && u[1] == 'Q' && isdigit((unsigned char)u[2])) ||
                 (u[0] == 'T' && u[1] == 'Q' && isdigit((unsigned char)u[2])) ||
                 strncmp(u, "F16", 4) == 0 || strncmp(u, "F32", 4) == 0 ||
                 strncmp(u, "BF16", 5) == 0 || strncmp(u, "MXFP4", 5) == 0;
        if (q) {
            const char *start = p;
            if (p - base >= 3 && strncasecmp(p - 3, "UD-", 3) == 0) { start = p - 3; }
            snprintf(out, cap, "%.*s", (int)(p + n - start), start);
            for (char *c = out; *c; c++) { *c = (char)toupper((unsigned char)*c); }
            return;
        }
        p += n;
        if (*p) { p++; }
    }
    snprintf(out, cap, "%s", base);
}

// "Q4_K_M, Q8_0, F16" (each quantization once) for an error message.
static void list_quants(const gsets *g, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < g->n; i++) {
        char q[256];
        quant_of(g->v[i].label, q, sizeof q);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            char r[256];
            quant_of(g->v[j].label, r, sizeof r);
            seen = strcmp(q, r) == 0;
        }
        if (seen || len + strlen(q) + 3 >= cap) { continue; }
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", q);
    }
}

static void list_labels(const gsets *g, const size_t *which, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const gset *s = &g->v[which[i]];
        if (len + strlen(s->label) + 24 >= cap) { break; }
        len += (size_t)snprintf(out + len, cap - len, "%s%s%s", len ? ", " : "", s->label,
                                s->count > 1 ? "-*-of-*.gguf" : ".gguf");
    }
}

void wk_pick_free(wk_pick *p)
{
    if (!p) { return; }
    for (size_t i = 0; i < p->n_files; i++) { wk_free(p->files[i]); }
    wk_free(p->files);
    memset(p, 0, sizeof *p);
}

static wick_status take_set(const gset *s, const wick_hub_entry *e, const char *repo, wk_pick *out)
{
    for (int k = 0; k < s->count; k++) {
        if (s->idx[k] == SIZE_MAX) {
            return wk_fail(WICK_E_FORMAT, "%s: split set %s has %d shards, shard %d is missing",
                           repo, s->label, s->count, k + 1);
        }
    }
    out->files = wk_calloc((size_t)s->count, sizeof *out->files);
    if (!out->files) { return wk_fail_nomem("pick"); }
    for (int k = 0; k < s->count; k++) {
        out->files[k] = wk_strdup(e[s->idx[k]].path);
        if (!out->files[k]) {
            out->n_files = (size_t)k;
            wk_pick_free(out);
            return wk_fail_nomem("pick");
        }
    }
    out->n_files = (size_t)s->count;
    out->bytes = s->bytes;
    return WICK_OK;
}

wick_status wk_spec_pick(const char *repo, const char *tag, const wick_hub_entry *entries,
                         size_t n, wk_pick *out)
{
    memset(out, 0, sizeof *out);
    gsets g = {0};
    size_t *hits = NULL;
    char buf[2048];
    wick_status rc = collect(entries, n, &g);
    if (rc < 0) { goto done; }
    if (g.n == 0) {
        rc = wk_fail(WICK_E_NOT_FOUND, "%s: the repository has no GGUF file", repo);
        goto done;
    }
    hits = wk_calloc(g.n, sizeof *hits);
    if (!hits) {
        rc = wk_fail_nomem("pick");
        goto done;
    }
    size_t n_hits = 0;
    const char *want = tag ? tag : g.n > 1 ? "Q4_K_M" : NULL;
    for (size_t i = 0; i < g.n; i++) {
        if (!want || tag_matches(g.v[i].label, want)) { hits[n_hits++] = i; }
    }
    if (n_hits == 1) {
        rc = take_set(&g.v[hits[0]], entries, repo, out);
    } else if (n_hits == 0) {
        list_quants(&g, buf, sizeof buf);
        rc = tag ? wk_fail(WICK_E_NOT_FOUND, "%s: no GGUF matches tag '%s'; the repository has %s",
                           repo, tag, buf)
                 : wk_fail(WICK_E_NOT_FOUND,
                           "%s: %zu GGUF files and none is Q4_K_M; name one with :TAG (%s)", repo,
                           g.n, buf);
    } else {
        list_labels(&g, hits, n_hits, buf, sizeof buf);
        rc = wk_fail(WICK_E_NOT_FOUND, "%s: tag '%s' matches %zu GGUF files: %s", repo, want,
                     n_hits, buf);
    }
done:
    wk_free(hits);
    gsets_free(&g);
    return rc;
}
