// gguf.c — opening GGUF files (single or split into shards), mapping them, and the accessors of
// wick.h section 3. Parsing itself is in reader.c.
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "kernels/kernels.h"

// --- name index ----------------------------------------------------------------------------------
uint64_t wk_name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; // FNV-1a
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

// Builds an index over n names (name(i), len(i) read through the accessor); a name seen twice
// makes *dup the index of the second one (the index is still built).
typedef const char *(*name_at_fn)(const void *arr, int64_t i, size_t *len);

static wick_status index_build(wk_name_index *ix, wk_arena *arena, const void *arr, int64_t n,
                               name_at_fn at, int64_t *dup, int64_t *dup_of)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2) {
        cap *= 2;
    }
    size_t bytes;
    if (!wk_mul_size(cap, sizeof(int64_t), &bytes)) { return wk_fail_nomem("name index"); }
    ix->slots = wk_arena_alloc(arena, bytes);
    if (!ix->slots) { return wk_fail_nomem("name index"); }
    memset(ix->slots, 0, bytes);
    ix->mask = cap - 1;
    *dup = -1;
    for (int64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = at(arr, i, &len);
        size_t h = (size_t)wk_name_hash(s, len) & ix->mask;
        for (;;) {
            int64_t j = ix->slots[h];
            if (j == 0) {
                ix->slots[h] = i + 1;
                break;
            }
            size_t l2;
            const char *s2 = at(arr, j - 1, &l2);
            if (l2 == len && memcmp(s, s2, len) == 0) {
                if (*dup < 0) {
                    *dup = i;
                    *dup_of = j - 1;
                }
                break;
            }
            h = (h + 1) & ix->mask;
        }
    }
    return WICK_OK;
}

static int64_t index_find(const wk_name_index *ix, const void *arr, name_at_fn at, const char *s)
{
    if (!ix->slots || !s) { return -1; }
    size_t len = strlen(s);
    size_t h = (size_t)wk_name_hash(s, len) & ix->mask;
    for (;;) {
        int64_t j = ix->slots[h];
        if (j == 0) { return -1; }
        size_t l2;
        const char *s2 = at(arr, j - 1, &l2);
        if (l2 == len && memcmp(s, s2, len) == 0) { return j - 1; }
        h = (h + 1) & ix->mask;
    }
}

static const char *kv_name_at(const void *arr, int64_t i, size_t *len)
{
    const wk_gguf_kv *kv = (const wk_gguf_kv *)arr + i;
    *len = kv->key_len;
    return kv->key;
}

static const char *tensor_name_at(const void *arr, int64_t i, size_t *len)
{
    const wk_gguf_tensor *t = (const wk_gguf_tensor *)arr + i;
    *len = t->name_len;
    return t->name;
}

// --- opening -------------------------------------------------------------------------------------
static void file_release(wk_gguf_file *f)
{
    if (f->owns_map && f->map) { munmap((void *)f->map, f->size); }
    f->map = NULL;
    wk_free(f->path);
    f->path = NULL;
}

void wick_gguf_close(wick_gguf *g)
{
    if (!g) { return; }
    for (int i = 0; i < g->n_shards; i++) {
        file_release(&g->files[i]);
    }
    wk_free(g->files);
    wk_arena_free(&g->arena);
    wk_free(g);
}

// Maps path read-only into f (f->path set by the caller). ENOENT is WICK_E_NOT_FOUND.
static wick_status file_map(wk_gguf_file *f)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return wk_fail(e == ENOENT ? WICK_E_NOT_FOUND : WICK_E_IO, "%s: cannot open: %s", f->path,
                       strerror(e));
    }
    wick_status rc = WICK_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = wk_fail(WICK_E_IO, "%s: cannot stat: %s", f->path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = wk_fail(WICK_E_IO, "%s: not a regular file", f->path);
        goto done;
    }
    if (st.st_size < 4) {
        rc = wk_fail(WICK_E_FORMAT, "%s: the file is %lld bytes, too short for a GGUF header",
                     f->path, (long long)st.st_size);
        goto done;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        rc = wk_fail(WICK_E_RANGE, "%s: too large to map", f->path);
        goto done;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rc = wk_fail(WICK_E_IO, "%s: cannot mmap %lld bytes: %s", f->path, (long long)st.st_size,
                     strerror(errno));
        goto done;
    }
    f->map = m;
    f->size = (size_t)st.st_size;
    f->owns_map = true;
done:
    close(fd);
    return rc;
}

// An integer split.* key of f; *present false when absent.
static wick_status split_key(const wk_gguf_file *f, const char *key, int64_t *out, bool *present)
{
    *present = false;
    for (int64_t i = 0; i < f->n_kv; i++) {
        if (strcmp(f->kvs[i].key, key) != 0) { continue; }
        wick_status rc = wick_gguf_value_int(&f->kvs[i].value, out);
        if (rc < 0) {
            return wk_fail(WICK_E_FORMAT, "%s: %s: a %s, expected an integer", f->path, key,
                           wick_gguf_type_name((wick_gguf_type)f->kvs[i].value.type));
        }
        *present = true;
        return WICK_OK;
    }
    return WICK_OK;
}

// Finds "-NNNNN-of-MMMMM.gguf" at the end of path: *prefix_len = the length before it.
static bool split_name(const char *path, size_t *prefix_len, int *no, int *count)
{
    size_t n = strlen(path);
    const char *tail = "-00000-of-00000.gguf";
    size_t tl = strlen(tail);
    if (n <= tl) { return false; }
    const char *s = path + n - tl;
    int a = 0, b = 0;
    for (size_t i = 0; i < tl; i++) {
        if (tail[i] == '0') {
            if (s[i] < '0' || s[i] > '9') { return false; }
            if (i < 6) {
                a = a * 10 + (s[i] - '0');
            } else {
                b = b * 10 + (s[i] - '0');
            }
        } else if (s[i] != tail[i]) {
            return false;
        }
    }
    *prefix_len = n - tl;
    *no = a;
    *count = b;
    return true;
}

static wick_status finish(wick_gguf *g);

// The end of an open: rc < 0 (a step failed) or the last step's WICK_OK; finishes g and hands it
// out, or closes it.
static wick_status opened(wick_gguf *g, wick_status rc, wick_gguf **out)
{
    if (rc == WICK_OK) { rc = finish(g); }
    if (rc < 0) {
        wick_gguf_close(g);
        return rc;
    }
    *out = g;
    return WICK_OK;
}

static wick_status finish(wick_gguf *g)
{
    // All tensors in one array, shard after shard; names unique across shards.
    int64_t total = 0;
    for (int s = 0; s < g->n_shards; s++) {
        total += g->files[s].n_tensors;
    }
    size_t bytes;
    if (!wk_mul_size((size_t)total, sizeof(wk_gguf_tensor), &bytes)) {
        return wk_fail_nomem("tensor table");
    }
    g->tensors = wk_arena_alloc(&g->arena, bytes);
    if (!g->tensors) { return wk_fail_nomem("tensor table"); }
    int64_t k = 0;
    for (int s = 0; s < g->n_shards; s++) {
        for (int64_t i = 0; i < g->files[s].n_tensors; i++) {
            g->tensors[k] = g->files[s].tensors[i];
            g->tensors[k++].shard = s;
        }
    }
    g->n_tensors = total;

    const wk_gguf_file *f0 = &g->files[0];
    int64_t dup = -1, dup_of = -1;
    wick_status rc = index_build(&g->kv_index, &g->arena, f0->kvs, f0->n_kv, kv_name_at, &dup,
                                 &dup_of);
    if (rc < 0) { return rc; }
    if (dup >= 0) {
        return wk_fail(WICK_E_FORMAT, "%s: offset %" PRIu64 ": key '%s' appears twice (first at "
                       "offset %" PRIu64 ")", f0->path, f0->kvs[dup].offset, f0->kvs[dup].key,
                       f0->kvs[dup_of].offset);
    }
    rc = index_build(&g->tensor_index, &g->arena, g->tensors, total, tensor_name_at, &dup,
                     &dup_of);
    if (rc < 0) { return rc; }
    if (dup >= 0) {
        const wk_gguf_tensor *t = &g->tensors[dup];
        return wk_fail(WICK_E_FORMAT, "%s: tensor '%s' appears twice (also in %s)",
                       g->files[t->shard].path, t->name, g->files[g->tensors[dup_of].shard].path);
    }
    return WICK_OK;
}

// Opens the other shards of a split model whose shard `no` (0-based) of `count` is files[0].
static wick_status open_shards(wick_gguf *g, int no, int count)
{
    wk_gguf_file *given = &g->files[0];
    size_t plen;
    int fno, fcount;
    if (!split_name(given->path, &plen, &fno, &fcount)) {
        return wk_fail(WICK_E_FORMAT, "%s: split.count is %d, but the file name does not end in "
                       "-NNNNN-of-NNNNN.gguf, so the other shards cannot be found", given->path,
                       count);
    }
    if (fno != no + 1 || fcount != count) {
        return wk_fail(WICK_E_FORMAT, "%s: the name says shard %d of %d, the metadata split.no = "
                       "%d (shard %d) of split.count = %d", given->path, fno, fcount, no, no + 1,
                       count);
    }
    wk_gguf_file *files = wk_calloc((size_t)count, sizeof *files);
    if (!files) { return wk_fail_nomem("shards"); }
    files[no] = *given;
    wk_free(g->files);
    g->files = files;
    g->n_shards = count;
    for (int s = 0; s < count; s++) {
        if (s == no) { continue; }
        wk_gguf_file *f = &files[s];
        f->path = wk_asprintf("%.*s-%05d-of-%05d.gguf", (int)plen, files[no].path, s + 1, count);
        if (!f->path) { return wk_fail_nomem("shard path"); }
        wick_status rc = file_map(f);
        if (rc == WICK_E_NOT_FOUND) {
            return wk_fail(WICK_E_NOT_FOUND, "%s: missing shard %d of %d of the split model %s",
                           f->path, s + 1, count, files[no].path);
        }
        if (rc < 0) { return rc; }
        rc = wk_gguf_parse(&g->arena, f);
        if (rc < 0) { return rc; }
        int64_t sno = -1, scount = -1;
        bool has_no, has_count;
        rc = split_key(f, "split.no", &sno, &has_no);
        if (rc < 0) { return rc; }
        rc = split_key(f, "split.count", &scount, &has_count);
        if (rc < 0) { return rc; }
        if (!has_no || !has_count || sno != s || scount != count) {
            return wk_fail(WICK_E_FORMAT, "%s: expected split.no = %d and split.count = %d, found "
                           "%" PRId64 " and %" PRId64, f->path, s, count, sno, scount);
        }
    }
    int64_t want;
    bool has;
    wick_status rc = split_key(&files[0], "split.tensors.count", &want, &has);
    if (rc < 0) { return rc; }
    if (has) {
        int64_t total = 0;
        for (int s = 0; s < count; s++) {
            total += files[s].n_tensors;
        }
        if (total != want) {
            return wk_fail(WICK_E_FORMAT, "%s: split.tensors.count is %" PRId64 " but the %d "
                           "shards hold %" PRId64 " tensors", files[0].path, want, count, total);
        }
    }
    return WICK_OK;
}

static wick_status gguf_new(wick_gguf **out)
{
    wick_gguf *g = wk_calloc(1, sizeof *g);
    if (!g) { return wk_fail_nomem("wick_gguf"); }
    g->files = wk_calloc(1, sizeof *g->files);
    if (!g->files) {
        wk_free(g);
        return wk_fail_nomem("wick_gguf");
    }
    g->n_shards = 1;
    *out = g;
    return WICK_OK;
}

wick_status wick_gguf_open(const char *path, wick_gguf **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_gguf_open: out is NULL"); }
    *out = NULL;
    if (!path) { return wk_fail(WICK_E_INVALID, "wick_gguf_open: path is NULL"); }
    wick_gguf *g = NULL;
    wick_status rc = gguf_new(&g);
    if (rc < 0) { return rc; }
    wk_gguf_file *f = &g->files[0];
    f->path = wk_strdup(path);
    if (!f->path) {
        rc = wk_fail_nomem("path");
        goto done;
    }
    rc = file_map(f);
    if (rc < 0) { goto done; }
    rc = wk_gguf_parse(&g->arena, f);
    if (rc < 0) { goto done; }
    int64_t no = 0, count = 1;
    bool has_no, has_count;
    rc = split_key(f, "split.count", &count, &has_count);
    if (rc < 0) { goto done; }
    if (has_count && count > 1) {
        rc = split_key(f, "split.no", &no, &has_no);
        if (rc < 0) { goto done; }
        if (!has_no || no < 0 || no >= count || count > 99999) {
            rc = wk_fail(WICK_E_FORMAT, "%s: split.count = %" PRId64 " needs split.no in 0..%"
                         PRId64 "%s", path, count, count - 1, has_no ? "" : " (it is missing)");
            goto done;
        }
        rc = open_shards(g, (int)no, (int)count);
        if (rc < 0) { goto done; }
    }
done:
    return opened(g, rc, out);
}

wick_status wk_gguf_open_memory(const void *data, size_t size, const char *name, wick_gguf **out)
{
    *out = NULL;
    wick_gguf *g = NULL;
    wick_status rc = gguf_new(&g);
    if (rc < 0) { return rc; }
    wk_gguf_file *f = &g->files[0];
    f->path = wk_strdup(name ? name : "(memory)");
    if (!f->path) {
        rc = wk_fail_nomem("name");
        goto done;
    }
    f->map = data;
    f->size = size;
    f->owns_map = false;
    if (size < 4) {
        rc = wk_fail(WICK_E_FORMAT, "%s: the file is %zu bytes, too short for a GGUF header",
                     f->path, size);
        goto done;
    }
    rc = wk_gguf_parse(&g->arena, f);
done:
    return opened(g, rc, out);
}

// --- file-level accessors ------------------------------------------------------------------------
uint32_t wick_gguf_version(const wick_gguf *g)
{
    return g->files[0].version;
}

int wick_gguf_n_shards(const wick_gguf *g)
{
    return g->n_shards;
}

const char *wick_gguf_shard_path(const wick_gguf *g, int shard)
{
    if (shard < 0 || shard >= g->n_shards) { return NULL; }
    return g->files[shard].path;
}

size_t wick_gguf_alignment(const wick_gguf *g)
{
    return g->files[0].alignment;
}

// --- metadata ------------------------------------------------------------------------------------
int64_t wick_gguf_n_kv(const wick_gguf *g)
{
    return g->files[0].n_kv;
}

const char *wick_gguf_kv_key(const wick_gguf *g, int64_t i)
{
    if (i < 0 || i >= g->files[0].n_kv) { return NULL; }
    return g->files[0].kvs[i].key;
}

const wick_gguf_value *wick_gguf_kv_value(const wick_gguf *g, int64_t i)
{
    if (i < 0 || i >= g->files[0].n_kv) { return NULL; }
    return &g->files[0].kvs[i].value;
}

int64_t wick_gguf_find_kv(const wick_gguf *g, const char *key)
{
    return index_find(&g->kv_index, g->files[0].kvs, kv_name_at, key);
}

wick_gguf_type wick_gguf_value_type(const wick_gguf_value *v)
{
    return (wick_gguf_type)v->type;
}

static bool is_signed_int(uint32_t t)
{
    return t == WICK_GGUF_INT8 || t == WICK_GGUF_INT16 || t == WICK_GGUF_INT32 ||
           t == WICK_GGUF_INT64;
}

static bool is_unsigned_int(uint32_t t)
{
    return t == WICK_GGUF_UINT8 || t == WICK_GGUF_UINT16 || t == WICK_GGUF_UINT32 ||
           t == WICK_GGUF_UINT64 || t == WICK_GGUF_BOOL;
}

// Conversions without a message: 0, WICK_E_TYPE or WICK_E_RANGE; dst is the out type's pointer.
typedef wick_status (*conv_fn)(const wick_gguf_value *v, void *dst);

static wick_status conv_int(const wick_gguf_value *v, void *dst)
{
    int64_t *out = dst;
    if (is_signed_int(v->type)) {
        *out = v->v.i;
        return WICK_OK;
    }
    if (!is_unsigned_int(v->type)) { return WICK_E_TYPE; }
    if (v->v.u > (uint64_t)INT64_MAX) { return WICK_E_RANGE; }
    *out = (int64_t)v->v.u;
    return WICK_OK;
}

static wick_status conv_uint(const wick_gguf_value *v, void *dst)
{
    uint64_t *out = dst;
    if (is_unsigned_int(v->type)) {
        *out = v->v.u;
        return WICK_OK;
    }
    if (!is_signed_int(v->type)) { return WICK_E_TYPE; }
    if (v->v.i < 0) { return WICK_E_RANGE; }
    *out = (uint64_t)v->v.i;
    return WICK_OK;
}

static wick_status conv_float(const wick_gguf_value *v, void *dst)
{
    double *out = dst;
    if (v->type != WICK_GGUF_FLOAT32 && v->type != WICK_GGUF_FLOAT64) { return WICK_E_TYPE; }
    *out = v->v.f;
    return WICK_OK;
}

static const char *value_desc(const wick_gguf_value *v, char *buf, size_t n)
{
    if (is_signed_int(v->type)) {
        snprintf(buf, n, "%s %" PRId64, wick_gguf_type_name((wick_gguf_type)v->type), v->v.i);
    } else if (is_unsigned_int(v->type)) {
        snprintf(buf, n, "%s %" PRIu64, wick_gguf_type_name((wick_gguf_type)v->type), v->v.u);
    } else {
        snprintf(buf, n, "%s", wick_gguf_type_name((wick_gguf_type)v->type));
    }
    return buf;
}

static wick_status value_fail(wick_status rc, const char *where, const wick_gguf_value *v,
                              const char *want)
{
    char d[64];
    if (rc == WICK_E_RANGE) {
        return wk_fail(rc, "%s: %s does not fit %s", where, value_desc(v, d, sizeof d), want);
    }
    return wk_fail(rc, "%s: a %s, expected %s", where, value_desc(v, d, sizeof d), want);
}

wick_status wick_gguf_value_int(const wick_gguf_value *v, int64_t *out)
{
    if (!v || !out) { return wk_fail(WICK_E_INVALID, "wick_gguf_value_int: NULL argument"); }
    wick_status rc = conv_int(v, out);
    return rc < 0 ? value_fail(rc, "metadata value", v, "an int64") : rc;
}

wick_status wick_gguf_value_uint(const wick_gguf_value *v, uint64_t *out)
{
    if (!v || !out) { return wk_fail(WICK_E_INVALID, "wick_gguf_value_uint: NULL argument"); }
    wick_status rc = conv_uint(v, out);
    return rc < 0 ? value_fail(rc, "metadata value", v, "a uint64") : rc;
}

wick_status wick_gguf_value_float(const wick_gguf_value *v, double *out)
{
    if (!v || !out) { return wk_fail(WICK_E_INVALID, "wick_gguf_value_float: NULL argument"); }
    wick_status rc = conv_float(v, out);
    return rc < 0 ? value_fail(rc, "metadata value", v, "a float") : rc;
}

wick_status wick_gguf_value_str(const wick_gguf_value *v, const char **s, size_t *len)
{
    if (!v || !s) { return wk_fail(WICK_E_INVALID, "wick_gguf_value_str: NULL argument"); }
    if (v->type != WICK_GGUF_STRING) {
        return value_fail(WICK_E_TYPE, "metadata value", v, "a string");
    }
    *s = v->v.s;
    if (len) { *len = (size_t)v->n; }
    return WICK_OK;
}

uint64_t wick_gguf_array_len(const wick_gguf_value *v)
{
    return v && v->type == WICK_GGUF_ARRAY ? v->n : 0;
}

int wick_gguf_array_type(const wick_gguf_value *v)
{
    return v && v->type == WICK_GGUF_ARRAY ? (int)v->elem_type : -1;
}

const wick_gguf_value *wick_gguf_array_at(const wick_gguf_value *v, uint64_t i)
{
    if (!v || v->type != WICK_GGUF_ARRAY || i >= v->n) { return NULL; }
    return &v->v.a[i];
}

// The value of key, or a WICK_E_NOT_FOUND failure naming it.
static wick_status lookup(const wick_gguf *g, const char *key, const wick_gguf_value **v)
{
    if (!g || !key) { return wk_fail(WICK_E_INVALID, "wick_gguf_get: NULL argument"); }
    int64_t i = wick_gguf_find_kv(g, key);
    if (i < 0) {
        return wk_fail(WICK_E_NOT_FOUND, "%s: metadata key '%s' not found", g->files[0].path, key);
    }
    *v = &g->files[0].kvs[i].value;
    return WICK_OK;
}

static wick_status key_fail(const wick_gguf *g, const char *key, wick_status rc,
                            const wick_gguf_value *v, const char *want)
{
    char where[512];
    snprintf(where, sizeof where, "%s: metadata key '%s'", g->files[0].path, key);
    return value_fail(rc, where, v, want);
}

// key's value converted by conv into out; a failure names the key and want.
static wick_status get_conv(const wick_gguf *g, const char *key, conv_fn conv, void *out,
                            const char *want)
{
    const wick_gguf_value *v = NULL;
    wick_status rc = lookup(g, key, &v);
    if (rc < 0) { return rc; }
    rc = conv(v, out);
    return rc < 0 ? key_fail(g, key, rc, v, want) : rc;
}

// The value of key when it has that type; else a failure naming the key and what was wanted.
static wick_status lookup_typed(const wick_gguf *g, const char *key, uint32_t type,
                                const char *want, const wick_gguf_value **v)
{
    wick_status rc = lookup(g, key, v);
    if (rc == WICK_OK && (*v)->type != type) { rc = key_fail(g, key, WICK_E_TYPE, *v, want); }
    return rc;
}

wick_status wick_gguf_get_int(const wick_gguf *g, const char *key, int64_t *out)
{
    return get_conv(g, key, conv_int, out, "an integer (int64)");
}

wick_status wick_gguf_get_uint(const wick_gguf *g, const char *key, uint64_t *out)
{
    return get_conv(g, key, conv_uint, out, "an unsigned integer (uint64)");
}

wick_status wick_gguf_get_float(const wick_gguf *g, const char *key, double *out)
{
    return get_conv(g, key, conv_float, out, "a float");
}

wick_status wick_gguf_get_bool(const wick_gguf *g, const char *key, bool *out)
{
    const wick_gguf_value *v = NULL;
    wick_status rc = lookup_typed(g, key, WICK_GGUF_BOOL, "a bool", &v);
    if (rc == WICK_OK) { *out = v->v.u != 0; }
    return rc;
}

wick_status wick_gguf_get_str(const wick_gguf *g, const char *key, const char **s, size_t *len)
{
    const wick_gguf_value *v = NULL;
    wick_status rc = lookup_typed(g, key, WICK_GGUF_STRING, "a string", &v);
    if (rc < 0) { return rc; }
    *s = v->v.s;
    if (len) { *len = (size_t)v->n; }
    return WICK_OK;
}

wick_status wick_gguf_get_array(const wick_gguf *g, const char *key, const wick_gguf_value **out)
{
    const wick_gguf_value *v = NULL;
    wick_status rc = lookup_typed(g, key, WICK_GGUF_ARRAY, "an array", &v);
    if (rc == WICK_OK) { *out = v; }
    return rc;
}

// --- tensors -------------------------------------------------------------------------------------
int64_t wick_gguf_n_tensors(const wick_gguf *g)
{
    return g->n_tensors;
}

wick_status wick_gguf_tensor(const wick_gguf *g, int64_t i, wick_tensor_info *out)
{
    if (!g || !out) { return wk_fail(WICK_E_INVALID, "wick_gguf_tensor: NULL argument"); }
    if (i < 0 || i >= g->n_tensors) {
        return wk_fail(WICK_E_INVALID, "%s: tensor index %" PRId64 " out of range (%" PRId64
                       " tensors)", g->files[0].path, i, g->n_tensors);
    }
    const wk_gguf_tensor *t = &g->tensors[i];
    const wk_gguf_file *f = &g->files[t->shard];
    out->name = t->name;
    out->type = t->type;
    out->n_dims = t->n_dims;
    memcpy(out->ne, t->ne, sizeof out->ne);
    out->offset = t->offset;
    out->bytes = t->bytes;
    out->shard = t->shard;
    out->data = f->map + f->data_off + t->offset;
    return WICK_OK;
}

int64_t wick_gguf_find_tensor(const wick_gguf *g, const char *name)
{
    return index_find(&g->tensor_index, g->tensors, tensor_name_at, name);
}

wick_status wick_gguf_tensor_rows(const wick_gguf *g, int64_t i, int64_t row0, int64_t row1,
                                  float *out)
{
    wick_tensor_info ti;
    wick_status rc = wick_gguf_tensor(g, i, &ti);
    if (rc < 0) { return rc; }
    const char *path = g->files[ti.shard].path;
    int64_t n_rows = ti.ne[1] * ti.ne[2] * ti.ne[3]; // fits: checked at parse
    if (row0 < 0 || row1 < row0 || row1 > n_rows) {
        return wk_fail(WICK_E_RANGE, "%s: tensor '%s': rows %" PRId64 ":%" PRId64 " out of range "
                       "(it has %" PRId64 " rows)", path, ti.name, row0, row1, n_rows);
    }
    if (!wick_dtype_supported(ti.type)) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: tensor '%s': type %s cannot be decoded by wick",
                       path, ti.name, wick_dtype_name(ti.type));
    }
    if (row1 == row0) { return WICK_OK; }
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_gguf_tensor_rows: out is NULL"); }
    size_t row_bytes;
    rc = wk_row_bytes(ti.type, ti.ne[0], &row_bytes);
    if (rc < 0) { return rc; }
    const uint8_t *src = (const uint8_t *)ti.data + (size_t)row0 * row_bytes;
    rc = wick_dequantize(ti.type, src, out, (row1 - row0) * ti.ne[0]);
    if (rc < 0) {
        return wk_fail_prefix(rc, "%s: tensor '%s'", path, ti.name);
    }
    return WICK_OK;
}
