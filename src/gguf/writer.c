// writer.c — writes GGUF files: metadata and tensor infos serialized in memory, the data section
// written straight into the output file through a writable mapping (the caller's fill callback
// gets a pointer into a mapping of that tensor's pages), so multi-GB files are written without a
// copy in memory; metadata and tensors given as data are written with pwrite.
//
// The file is written to PATH.tmp, its space reserved up front (posix_fallocate, so a full disk
// is an error rather than a SIGBUS on the mapping), then renamed to PATH.
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "kernels/kernels.h"

#define WRITER_MAX_META ((size_t)1 << 32) // 4 GiB of metadata and tensor infos at most

typedef struct wtensor {
    char *name;
    int type;
    int n_dims;
    int64_t ne[WICK_MAX_DIMS];
    size_t bytes;
    uint64_t offset;
    const void *data;
} wtensor;

struct wick_gguf_writer {
    uint32_t version;
    size_t alignment;
    wk_buf kv;        // serialized key/value pairs
    int64_t n_kv;
    char **keys;      // for the duplicate check
    int64_t keys_cap;
    bool has_alignment_key;
    uint32_t alignment_key_value;
    wtensor *tensors;
    int64_t n_tensors, tensors_cap;
};

wick_status wick_gguf_writer_create(wick_gguf_writer **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_gguf_writer_create: out is NULL"); }
    wick_gguf_writer *w = wk_calloc(1, sizeof *w);
    if (!w) {
        *out = NULL;
        return wk_fail_nomem("GGUF writer");
    }
    w->version = 3;
    w->alignment = WK_GGUF_DEFAULT_ALIGNMENT;
    wk_buf_init(&w->kv, WRITER_MAX_META);
    *out = w;
    return WICK_OK;
}

void wick_gguf_writer_destroy(wick_gguf_writer *w)
{
    if (!w) { return; }
    wk_buf_free(&w->kv);
    for (int64_t i = 0; i < w->n_kv; i++) {
        wk_free(w->keys[i]);
    }
    wk_free(w->keys);
    for (int64_t i = 0; i < w->n_tensors; i++) {
        wk_free(w->tensors[i].name);
    }
    wk_free(w->tensors);
    wk_free(w);
}

wick_status wick_gguf_writer_set_version(wick_gguf_writer *w, uint32_t version)
{
    if (!w || (version != 2 && version != 3)) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: version %" PRIu32 ", expected 2 or 3",
                       version);
    }
    w->version = version;
    return WICK_OK;
}

wick_status wick_gguf_writer_set_alignment(wick_gguf_writer *w, size_t alignment)
{
    if (!w || alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (1u << 30)) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: alignment %zu, expected a power of two up "
                       "to 2^30", alignment);
    }
    w->alignment = alignment;
    return WICK_OK;
}

// --- metadata ------------------------------------------------------------------------------------
static wick_status put(wick_gguf_writer *w, const void *p, size_t n)
{
    wick_status rc = wk_buf_append(&w->kv, p, n);
    if (rc < 0) { return wk_fail_prefix(rc, "GGUF writer"); }
    return WICK_OK;
}

static wick_status put_u32(wick_gguf_writer *w, uint32_t v)
{
    return put(w, &v, 4);
}

static wick_status put_u64(wick_gguf_writer *w, uint64_t v)
{
    return put(w, &v, 8);
}

static wick_status put_str(wick_gguf_writer *w, const char *s, size_t n)
{
    wick_status rc = put_u64(w, n);
    return rc < 0 ? rc : put(w, s, n);
}

static int value_size(wick_gguf_type t)
{
    switch (t) {
    case WICK_GGUF_UINT8: case WICK_GGUF_INT8: case WICK_GGUF_BOOL: return 1;
    case WICK_GGUF_UINT16: case WICK_GGUF_INT16: return 2;
    case WICK_GGUF_UINT32: case WICK_GGUF_INT32: case WICK_GGUF_FLOAT32: return 4;
    case WICK_GGUF_UINT64: case WICK_GGUF_INT64: case WICK_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

// Starts a key: checks it is new, remembers it, writes it. The buffer is rolled back by the
// caller (begin_len) when the value fails.
static wick_status begin_key(wick_gguf_writer *w, const char *key, wick_gguf_type type)
{
    if (!w || !key || !*key) { return wk_fail(WICK_E_INVALID, "GGUF writer: empty key"); }
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->keys[i], key) == 0) {
            return wk_fail(WICK_E_INVALID, "GGUF writer: key '%s' added twice", key);
        }
    }
    if (w->n_kv == w->keys_cap) {
        int64_t cap = w->keys_cap ? w->keys_cap * 2 : 32;
        char **k = wk_realloc(w->keys, (size_t)cap * sizeof *k);
        if (!k) { return wk_fail_nomem("GGUF writer keys"); }
        w->keys = k;
        w->keys_cap = cap;
    }
    char *copy = wk_strdup(key);
    if (!copy) { return wk_fail_nomem("GGUF writer key"); }
    wick_status rc = put_str(w, key, strlen(key));
    if (rc == WICK_OK) { rc = put_u32(w, (uint32_t)type); }
    if (rc < 0) {
        wk_free(copy);
        return rc;
    }
    w->keys[w->n_kv++] = copy;
    return WICK_OK;
}

// Undoes begin_key after a failed value.
static void drop_key(wick_gguf_writer *w, size_t len)
{
    w->kv.len = len;
    w->kv.data[len] = '\0';
    wk_free(w->keys[--w->n_kv]);
}

static wick_status put_scalar(wick_gguf_writer *w, wick_gguf_type type, const void *value)
{
    if (type == WICK_GGUF_STRING) {
        const char *s = *(const char *const *)value;
        if (!s) { return wk_fail(WICK_E_INVALID, "GGUF writer: NULL string"); }
        return put_str(w, s, strlen(s));
    }
    if (type == WICK_GGUF_BOOL) {
        uint8_t b = *(const bool *)value ? 1 : 0;
        return put(w, &b, 1);
    }
    int n = value_size(type);
    if (n == 0) { return wk_fail(WICK_E_INVALID, "GGUF writer: value type %d", (int)type); }
    return put(w, value, (size_t)n);
}

static void note_alignment(wick_gguf_writer *w, const char *key, wick_gguf_type type,
                           const void *value)
{
    if (strcmp(key, "general.alignment") == 0 && type == WICK_GGUF_UINT32) {
        w->has_alignment_key = true;
        memcpy(&w->alignment_key_value, value, 4);
    }
}

wick_status wick_gguf_writer_add_scalar(wick_gguf_writer *w, const char *key, wick_gguf_type type,
                                        const void *value)
{
    if (!value || type == WICK_GGUF_ARRAY || (type != WICK_GGUF_STRING && !value_size(type))) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: key '%s': bad scalar type %d",
                       key ? key : "(null)", (int)type);
    }
    size_t len0 = w ? w->kv.len : 0;
    wick_status rc = begin_key(w, key, type);
    if (rc < 0) { return rc; }
    rc = put_scalar(w, type, value);
    if (rc < 0) {
        drop_key(w, len0);
        return rc;
    }
    note_alignment(w, key, type, value);
    return WICK_OK;
}

wick_status wick_gguf_writer_add_u32(wick_gguf_writer *w, const char *key, uint32_t v)
{
    return wick_gguf_writer_add_scalar(w, key, WICK_GGUF_UINT32, &v);
}

wick_status wick_gguf_writer_add_f32(wick_gguf_writer *w, const char *key, float v)
{
    return wick_gguf_writer_add_scalar(w, key, WICK_GGUF_FLOAT32, &v);
}

wick_status wick_gguf_writer_add_bool(wick_gguf_writer *w, const char *key, bool v)
{
    return wick_gguf_writer_add_scalar(w, key, WICK_GGUF_BOOL, &v);
}

wick_status wick_gguf_writer_add_str(wick_gguf_writer *w, const char *key, const char *s)
{
    return wick_gguf_writer_add_scalar(w, key, WICK_GGUF_STRING, &s);
}

wick_status wick_gguf_writer_add_array(wick_gguf_writer *w, const char *key,
                                       wick_gguf_type elem_type, const void *data, uint64_t n)
{
    if (elem_type == WICK_GGUF_ARRAY || (elem_type != WICK_GGUF_STRING && !value_size(elem_type))
        || (n > 0 && !data)) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: key '%s': bad array (type %d)",
                       key ? key : "(null)", (int)elem_type);
    }
    size_t len0 = w ? w->kv.len : 0;
    wick_status rc = begin_key(w, key, WICK_GGUF_ARRAY);
    if (rc < 0) { return rc; }
    rc = put_u32(w, (uint32_t)elem_type);
    if (rc == WICK_OK) { rc = put_u64(w, n); }
    if (rc == WICK_OK && elem_type == WICK_GGUF_STRING) {
        const char *const *ss = data;
        for (uint64_t i = 0; i < n && rc == WICK_OK; i++) {
            rc = put_scalar(w, WICK_GGUF_STRING, &ss[i]);
        }
    } else if (rc == WICK_OK && elem_type == WICK_GGUF_BOOL) {
        const bool *bs = data;
        for (uint64_t i = 0; i < n && rc == WICK_OK; i++) {
            rc = put_scalar(w, WICK_GGUF_BOOL, &bs[i]);
        }
    } else if (rc == WICK_OK) {
        size_t bytes;
        if (!wk_mul_size((size_t)n, (size_t)value_size(elem_type), &bytes) || n > SIZE_MAX) {
            rc = wk_fail(WICK_E_RANGE, "GGUF writer: key '%s': array too large", key);
        } else {
            rc = put(w, data, bytes);
        }
    }
    if (rc < 0) {
        drop_key(w, len0);
        return rc;
    }
    return WICK_OK;
}

// Serializes a parsed value (arrays recursively, without the type for array elements' headers).
static wick_status put_value(wick_gguf_writer *w, const struct wick_gguf_value *v)
{
    uint8_t b8;
    uint16_t b16;
    uint32_t b32;
    float f;
    switch (v->type) {
    case WICK_GGUF_UINT8: case WICK_GGUF_INT8: case WICK_GGUF_BOOL:
        b8 = (uint8_t)v->v.u;
        return put(w, &b8, 1);
    case WICK_GGUF_UINT16: case WICK_GGUF_INT16:
        b16 = (uint16_t)v->v.u;
        return put(w, &b16, 2);
    case WICK_GGUF_UINT32: case WICK_GGUF_INT32:
        b32 = (uint32_t)v->v.u;
        return put(w, &b32, 4);
    case WICK_GGUF_FLOAT32:
        f = (float)v->v.f;
        return put(w, &f, 4);
    case WICK_GGUF_UINT64: case WICK_GGUF_INT64:
        return put(w, &v->v.u, 8);
    case WICK_GGUF_FLOAT64:
        return put(w, &v->v.f, 8);
    case WICK_GGUF_STRING:
        return put_str(w, v->v.s, (size_t)v->n);
    case WICK_GGUF_ARRAY: {
        wick_status rc = put_u32(w, v->elem_type);
        if (rc == WICK_OK) { rc = put_u64(w, v->n); }
        for (uint64_t i = 0; i < v->n && rc == WICK_OK; i++) {
            rc = put_value(w, &v->v.a[i]);
        }
        return rc;
    }
    default:
        return wk_fail(WICK_E_INTERNAL, "GGUF writer: value type %" PRIu32, v->type);
    }
}

wick_status wick_gguf_writer_copy_kv(wick_gguf_writer *w, const wick_gguf *g, int64_t i)
{
    const char *key = g ? wick_gguf_kv_key(g, i) : NULL;
    const wick_gguf_value *v = key ? wick_gguf_kv_value(g, i) : NULL;
    if (!w || !v) { return wk_fail(WICK_E_INVALID, "GGUF writer: copy_kv: bad file or index"); }
    size_t len0 = w->kv.len;
    wick_status rc = begin_key(w, key, (wick_gguf_type)v->type);
    if (rc < 0) { return rc; }
    rc = put_value(w, v);
    if (rc < 0) {
        drop_key(w, len0);
        return rc;
    }
    if (v->type == WICK_GGUF_UINT32) {
        uint32_t a = (uint32_t)v->v.u;
        note_alignment(w, key, WICK_GGUF_UINT32, &a);
    }
    return WICK_OK;
}

// --- tensors -------------------------------------------------------------------------------------
wick_status wick_gguf_writer_add_tensor(wick_gguf_writer *w, const char *name, wick_dtype type,
                                        int n_dims, const int64_t *ne, const void *data)
{
    if (!w || !name || !*name || !ne) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: add_tensor: empty name or NULL argument");
    }
    const wk_type_traits *tt = wk_type(type);
    if (!tt) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: tensor '%s': type %d", name, (int)type);
    }
    if (n_dims < 1 || n_dims > WICK_MAX_DIMS) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: tensor '%s': n_dims %d, expected 1..4", name,
                       n_dims);
    }
    wtensor t = {0};
    uint64_t nel = 1;
    for (int d = 0; d < WICK_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 0 || !wk_mul_u64(nel, (uint64_t)t.ne[d], &nel) || nel > INT64_MAX) {
            return wk_fail(WICK_E_INVALID, "GGUF writer: tensor '%s': bad shape", name);
        }
    }
    if (t.ne[0] % tt->blck != 0) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: tensor '%s': ne[0] = %" PRId64 " is not a "
                       "multiple of the %s block (%" PRId64 ")", name, t.ne[0], tt->name, tt->blck);
    }
    uint64_t bytes;
    if (!wk_mul_u64(nel / (uint64_t)tt->blck, tt->bytes, &bytes) || bytes > SIZE_MAX / 2) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: tensor '%s': too large", name);
    }
    for (int64_t i = 0; i < w->n_tensors; i++) {
        if (strcmp(w->tensors[i].name, name) == 0) {
            return wk_fail(WICK_E_INVALID, "GGUF writer: tensor '%s' added twice", name);
        }
    }
    if (w->n_tensors == w->tensors_cap) {
        int64_t cap = w->tensors_cap ? w->tensors_cap * 2 : 64;
        wtensor *nt = wk_realloc(w->tensors, (size_t)cap * sizeof *nt);
        if (!nt) { return wk_fail_nomem("GGUF writer tensors"); }
        w->tensors = nt;
        w->tensors_cap = cap;
    }
    t.name = wk_strdup(name);
    if (!t.name) { return wk_fail_nomem("GGUF writer tensor name"); }
    t.type = type;
    t.n_dims = n_dims;
    t.bytes = (size_t)bytes;
    t.data = data;
    w->tensors[w->n_tensors++] = t;
    return WICK_OK;
}

// --- writing -------------------------------------------------------------------------------------
static wick_status write_all(int fd, const void *p, size_t n, size_t at, const char *path)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = pwrite(fd, b, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n, (off_t)at);
        if (k < 0 && errno == EINTR) { continue; }
        if (k <= 0) {
            return wk_fail(errno == ENOSPC ? WICK_E_NOSPACE : WICK_E_IO, "%s: write at offset "
                           "%zu: %s", path, at, k < 0 ? strerror(errno) : "short write");
        }
        b += k;
        n -= (size_t)k;
        at += (size_t)k;
    }
    return WICK_OK;
}

static size_t align_up(size_t x, size_t a)
{
    return (x + a - 1) & ~(a - 1);
}

// Builds the header + metadata + tensor infos (unpadded) into out; assigns tensor offsets and the
// total data size.
static wick_status build_head(wick_gguf_writer *w, wk_buf *out, size_t *data_bytes)
{
    bool add_align = w->alignment != WK_GGUF_DEFAULT_ALIGNMENT && !w->has_alignment_key;
    if (w->has_alignment_key && w->alignment_key_value != w->alignment) {
        return wk_fail(WICK_E_INVALID, "GGUF writer: general.alignment is %" PRIu32 " but the "
                       "writer's alignment is %zu", w->alignment_key_value, w->alignment);
    }
    uint64_t n_kv = (uint64_t)w->n_kv + (add_align ? 1 : 0);
    wick_status rc = wk_buf_append(out, "GGUF", 4);
    if (rc == WICK_OK) { rc = wk_buf_append(out, &w->version, 4); }
    uint64_t nt = (uint64_t)w->n_tensors;
    if (rc == WICK_OK) { rc = wk_buf_append(out, &nt, 8); }
    if (rc == WICK_OK) { rc = wk_buf_append(out, &n_kv, 8); }
    if (rc == WICK_OK && add_align) {
        const char *k = "general.alignment";
        uint64_t kl = strlen(k);
        uint32_t t = WICK_GGUF_UINT32, a = (uint32_t)w->alignment;
        rc = wk_buf_append(out, &kl, 8);
        if (rc == WICK_OK) { rc = wk_buf_append(out, k, kl); }
        if (rc == WICK_OK) { rc = wk_buf_append(out, &t, 4); }
        if (rc == WICK_OK) { rc = wk_buf_append(out, &a, 4); }
    }
    if (rc == WICK_OK) { rc = wk_buf_append(out, w->kv.data, w->kv.len); }
    size_t off = 0;
    for (int64_t i = 0; i < w->n_tensors && rc == WICK_OK; i++) {
        wtensor *t = &w->tensors[i];
        uint64_t nl = strlen(t->name);
        uint32_t nd = (uint32_t)t->n_dims, ty = (uint32_t)t->type;
        off = align_up(off, w->alignment);
        t->offset = off;
        if (!wk_add_size(off, t->bytes, &off)) {
            return wk_fail(WICK_E_RANGE, "GGUF writer: data section too large");
        }
        rc = wk_buf_append(out, &nl, 8);
        if (rc == WICK_OK) { rc = wk_buf_append(out, t->name, nl); }
        if (rc == WICK_OK) { rc = wk_buf_append(out, &nd, 4); }
        if (rc == WICK_OK) { rc = wk_buf_append(out, t->ne, 8 * (size_t)t->n_dims); }
        if (rc == WICK_OK) { rc = wk_buf_append(out, &ty, 4); }
        if (rc == WICK_OK) { rc = wk_buf_append(out, &t->offset, 8); }
    }
    if (rc < 0) { return wk_fail_prefix(rc, "GGUF writer"); }
    *data_bytes = off;
    return WICK_OK;
}

wick_status wick_gguf_writer_write(wick_gguf_writer *w, const char *path, wick_gguf_fill_cb fill,
                                   void *ud)
{
    if (!w || !path) { return wk_fail(WICK_E_INVALID, "GGUF writer: NULL writer or path"); }
    for (int64_t i = 0; i < w->n_tensors; i++) {
        if (!w->tensors[i].data && !fill && w->tensors[i].bytes > 0) {
            return wk_fail(WICK_E_INVALID, "%s: tensor '%s' has no data and there is no fill "
                           "callback", path, w->tensors[i].name);
        }
    }
    wk_buf head;
    wk_buf_init(&head, WRITER_MAX_META);
    char *tmp = NULL;
    int fd = -1;
    uint8_t *map = NULL;
    size_t map_len = 0;
    size_t total = 0;
    size_t data_bytes = 0;
    wick_status rc = build_head(w, &head, &data_bytes);
    if (rc < 0) { goto fail; }
    size_t data_off = align_up(head.len, w->alignment);
    if (!wk_add_size(data_off, data_bytes, &total)) {
        rc = wk_fail(WICK_E_RANGE, "%s: file too large", path);
        goto fail;
    }
    tmp = wk_asprintf("%s.tmp", path);
    if (!tmp) {
        rc = wk_fail_nomem("path");
        goto fail;
    }
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = wk_fail(WICK_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto fail;
    }
    int e = posix_fallocate(fd, 0, (off_t)total);
    if (e == EOPNOTSUPP || e == EINVAL) { e = ftruncate(fd, (off_t)total) == 0 ? 0 : errno; }
    if (e != 0) {
        rc = wk_fail(e == ENOSPC || e == EFBIG ? WICK_E_NOSPACE : WICK_E_IO,
                     "%s: cannot reserve %zu bytes: %s", tmp, total, strerror(e));
        goto fail;
    }
    rc = write_all(fd, head.data, head.len, 0, tmp);
    if (rc < 0) { goto fail; }
    // posix_fallocate leaves zeros, so the padding needs no writes.
    for (int64_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        size_t at = data_off + (size_t)t->offset;
        if (t->bytes == 0) { continue; }
        if (t->data) {
            rc = write_all(fd, t->data, t->bytes, at, tmp);
            if (rc < 0) { goto fail; }
            continue;
        }
        // The fill callback writes into a mapping of just this tensor's pages, pre-faulted
        // (MAP_POPULATE): page faults one by one on fallocated space cost ~3x the time.
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t start = at / page * page;
        map_len = at + t->bytes - start;
        map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                   (off_t)start);
        if (map == MAP_FAILED) {
            map = NULL;
            rc = wk_fail(WICK_E_IO, "%s: cannot map %zu bytes for writing: %s", tmp, map_len,
                         strerror(errno));
            goto fail;
        }
        rc = fill(ud, i, map + (at - start), t->bytes);
        if (rc < 0) {
            rc = wk_fail(rc, "%s: tensor '%s': the fill callback failed (%s)", path, t->name,
                         wick_strerror(rc));
            goto fail;
        }
        if (munmap(map, map_len) != 0) {
            map = NULL;
            rc = wk_fail(WICK_E_IO, "%s: munmap: %s", tmp, strerror(errno));
            goto fail;
        }
        map = NULL;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = wk_fail(WICK_E_IO, "%s: close: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = wk_fail(WICK_E_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        goto fail;
    }
    wk_free(tmp);
    wk_buf_free(&head);
    return WICK_OK;
fail:
    if (map) { munmap(map, map_len); }
    if (fd >= 0) { close(fd); }
    if (tmp) {
        unlink(tmp);
        wk_free(tmp);
    }
    wk_buf_free(&head);
    return rc;
}
