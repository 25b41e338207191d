// reader.c — the GGUF parser: bytes in, checked structures out.
//
// Every count, length and offset read from the file is compared with what is left of the file
// before it is used, in overflow-safe arithmetic, so that a broken or hostile file gives an error
// naming the file, the byte offset and the field, never a crash or a huge allocation.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "kernels/kernels.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wick reads GGUF (little endian) with plain loads: a little-endian host is needed"
#endif

// --- arena ---------------------------------------------------------------------------------------
struct wk_arena_chunk {
    wk_arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK (64 * 1024)

void *wk_arena_alloc(wk_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0) { n = 8; }
    wk_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
        size_t total;
        if (!wk_add_size(sizeof *c, cap, &total)) { return NULL; }
        wk_arena_chunk *nc = wk_malloc(total);
        if (!nc) { return NULL; }
        nc->used = 0;
        nc->cap = cap;
        if (n > ARENA_CHUNK / 4 && c) {
            // A big block gets its own chunk, kept behind the current one so its free space stays.
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->head = nc;
        }
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void wk_arena_free(wk_arena *a)
{
    wk_arena_chunk *c = a->head;
    while (c) {
        wk_arena_chunk *next = c->next;
        wk_free(c);
        c = next;
    }
    a->head = NULL;
}

// --- value type names ----------------------------------------------------------------------------
// Names of the metadata value types (wick_gguf_type ids), for messages here and in gguf.c.
static const char *const type_names[] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool",  "string", "array", "uint64", "int64", "float64",
};

const char *wick_gguf_type_name(wick_gguf_type type)
{
    if ((unsigned)type >= WK_ARRAY_LEN(type_names)) { return NULL; }
    return type_names[type];
}

// --- the byte reader -----------------------------------------------------------------------------
typedef struct rd {
    const uint8_t *p;
    size_t size;
    size_t off;
    const char *path;
    wk_arena *arena;
} rd;

static size_t left(const rd *r)
{
    return r->size - r->off;
}

// Fails unless n more bytes are there; what names the field for the message.
static wick_status need(const rd *r, uint64_t n, const char *what, const char *ctx)
{
    if (n > left(r)) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: offset %zu: %s%s%s: needs %" PRIu64 " bytes, the file ends %zu bytes "
                       "later (file size %zu)",
                       r->path, r->off, ctx ? ctx : "", ctx ? ": " : "", what, n, left(r), r->size);
    }
    return WICK_OK;
}

// n bytes (a little-endian integer) into v.
static wick_status rd_le(rd *r, void *v, size_t n, const char *what, const char *ctx)
{
    wick_status rc = need(r, n, what, ctx);
    if (rc < 0) { return rc; }
    memcpy(v, r->p + r->off, n);
    r->off += n;
    return WICK_OK;
}

static wick_status rd_u32(rd *r, uint32_t *v, const char *what, const char *ctx)
{
    return rd_le(r, v, 4, what, ctx);
}

static wick_status rd_u64(rd *r, uint64_t *v, const char *what, const char *ctx)
{
    return rd_le(r, v, 8, what, ctx);
}

// A string: u64 length + bytes, copied NUL-terminated into the arena.
static wick_status rd_str(rd *r, const char **s, uint64_t *len, const char *what, const char *ctx)
{
    size_t at = r->off;
    uint64_t n;
    wick_status rc = rd_u64(r, &n, what, ctx);
    if (rc < 0) { return rc; }
    if (n > left(r)) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: offset %zu: %s%s%s: string length %" PRIu64 " runs past the end of "
                       "the file (%zu bytes left)",
                       r->path, at, ctx ? ctx : "", ctx ? ": " : "", what, n, left(r));
    }
    char *copy = wk_arena_alloc(r->arena, (size_t)n + 1);
    if (!copy) { return wk_fail_nomem("GGUF string"); }
    memcpy(copy, r->p + r->off, (size_t)n);
    copy[n] = '\0';
    r->off += (size_t)n;
    *s = copy;
    *len = n;
    return WICK_OK;
}

// --- metadata values -----------------------------------------------------------------------------
// Bytes of a fixed-size value type; 0 for STRING and ARRAY; -1 for an unknown type.
static int scalar_size(uint32_t type)
{
    switch (type) {
    case WICK_GGUF_UINT8: case WICK_GGUF_INT8: case WICK_GGUF_BOOL: return 1;
    case WICK_GGUF_UINT16: case WICK_GGUF_INT16: return 2;
    case WICK_GGUF_UINT32: case WICK_GGUF_INT32: case WICK_GGUF_FLOAT32: return 4;
    case WICK_GGUF_UINT64: case WICK_GGUF_INT64: case WICK_GGUF_FLOAT64: return 8;
    case WICK_GGUF_STRING: case WICK_GGUF_ARRAY: return 0;
    default: return -1;
    }
}

// The fewest bytes one element of type can take in a file (for bounding counts).
static size_t min_size(uint32_t type)
{
    int s = scalar_size(type);
    if (s > 0) { return (size_t)s; }
    return type == WICK_GGUF_STRING ? 8 : 12; // string: u64 length; array: u32 type + u64 n
}

static void decode_scalar(const uint8_t *p, uint32_t type, struct wick_gguf_value *v)
{
    v->type = type;
    v->elem_type = 0;
    v->n = 0;
    switch (type) {
    case WICK_GGUF_UINT8: v->v.u = p[0]; break;
    case WICK_GGUF_BOOL: v->v.u = p[0] != 0; break;
    case WICK_GGUF_INT8: v->v.i = (int8_t)p[0]; break;
    case WICK_GGUF_UINT16: { uint16_t x; memcpy(&x, p, 2); v->v.u = x; break; }
    case WICK_GGUF_INT16: { int16_t x; memcpy(&x, p, 2); v->v.i = x; break; }
    case WICK_GGUF_UINT32: { uint32_t x; memcpy(&x, p, 4); v->v.u = x; break; }
    case WICK_GGUF_INT32: { int32_t x; memcpy(&x, p, 4); v->v.i = x; break; }
    case WICK_GGUF_FLOAT32: { float x; memcpy(&x, p, 4); v->v.f = x; break; }
    case WICK_GGUF_UINT64: { uint64_t x; memcpy(&x, p, 8); v->v.u = x; break; }
    case WICK_GGUF_INT64: { int64_t x; memcpy(&x, p, 8); v->v.i = x; break; }
    case WICK_GGUF_FLOAT64: { double x; memcpy(&x, p, 8); v->v.f = x; break; }
    default: break;
    }
}

static wick_status parse_value(rd *r, uint32_t type, struct wick_gguf_value *v, int depth,
                               const char *ctx);

static wick_status parse_array(rd *r, struct wick_gguf_value *v, int depth, const char *ctx)
{
    size_t at = r->off;
    uint32_t et;
    uint64_t n;
    wick_status rc = rd_u32(r, &et, "array element type", ctx);
    if (rc < 0) { return rc; }
    if (scalar_size(et) < 0) {
        return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: unknown array element type %" PRIu32
                       " (expected 0..12)", r->path, at, ctx, et);
    }
    if (et == WICK_GGUF_ARRAY && depth + 1 >= WK_GGUF_MAX_DEPTH) {
        return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: arrays nested deeper than %d levels",
                       r->path, at, ctx, WK_GGUF_MAX_DEPTH);
    }
    rc = rd_u64(r, &n, "array length", ctx);
    if (rc < 0) { return rc; }
    if (n > left(r) / min_size(et)) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: offset %zu: %s: array of %" PRIu64 " %s elements cannot fit in the "
                       "%zu bytes left in the file",
                       r->path, at + 4, ctx, n, wick_gguf_type_name((wick_gguf_type)et), left(r));
    }
    size_t bytes;
    if (!wk_mul_size((size_t)n, sizeof(struct wick_gguf_value), &bytes)) {
        return wk_fail(WICK_E_RANGE, "%s: offset %zu: %s: array too large", r->path, at, ctx);
    }
    struct wick_gguf_value *a = wk_arena_alloc(r->arena, bytes);
    if (!a) { return wk_fail_nomem("GGUF array"); }
    v->type = WICK_GGUF_ARRAY;
    v->elem_type = et;
    v->n = n;
    v->v.a = a;
    int ss = scalar_size(et);
    if (ss > 0) {
        // Bounded above: n * ss <= left.
        for (uint64_t k = 0; k < n; k++) {
            decode_scalar(r->p + r->off, et, &a[k]);
            r->off += (size_t)ss;
        }
        return WICK_OK;
    }
    for (uint64_t k = 0; k < n; k++) {
        rc = parse_value(r, et, &a[k], depth + 1, ctx);
        if (rc < 0) { return rc; }
    }
    return WICK_OK;
}

static wick_status parse_value(rd *r, uint32_t type, struct wick_gguf_value *v, int depth,
                               const char *ctx)
{
    int ss = scalar_size(type);
    if (ss > 0) {
        wick_status rc = need(r, (uint64_t)ss, wick_gguf_type_name((wick_gguf_type)type), ctx);
        if (rc < 0) { return rc; }
        decode_scalar(r->p + r->off, type, v);
        r->off += (size_t)ss;
        return WICK_OK;
    }
    if (type == WICK_GGUF_STRING) {
        v->type = type;
        v->elem_type = 0;
        return rd_str(r, &v->v.s, &v->n, "string value", ctx);
    }
    return parse_array(r, v, depth, ctx);
}

// --- keys and the alignment ----------------------------------------------------------------------
static wick_status parse_kvs(rd *r, wk_gguf_file *f, uint64_t n_kv)
{
    // Every key/value takes at least 13 bytes: u64 key length, u32 type, a 1-byte value.
    if (n_kv > left(r) / 13) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: offset 16: n_kv: %" PRIu64 " key/value pairs cannot fit in the %zu "
                       "bytes of the file",
                       r->path, n_kv, r->size);
    }
    size_t bytes;
    if (!wk_mul_size((size_t)n_kv, sizeof(wk_gguf_kv), &bytes)) {
        return wk_fail(WICK_E_RANGE, "%s: n_kv %" PRIu64 " too large", r->path, n_kv);
    }
    f->kvs = wk_arena_alloc(r->arena, bytes);
    if (!f->kvs) { return wk_fail_nomem("GGUF metadata"); }
    char ctx[160];
    for (uint64_t k = 0; k < n_kv; k++) {
        wk_gguf_kv *kv = &f->kvs[k];
        kv->offset = r->off;
        snprintf(ctx, sizeof ctx, "key/value #%" PRIu64, k);
        uint64_t klen;
        wick_status rc = rd_str(r, &kv->key, &klen, "key", ctx);
        if (rc < 0) { return rc; }
        kv->key_len = (size_t)klen;
        snprintf(ctx, sizeof ctx, "key '%.100s'", kv->key);
        size_t tat = r->off;
        uint32_t type;
        rc = rd_u32(r, &type, "value type", ctx);
        if (rc < 0) { return rc; }
        if (scalar_size(type) < 0) {
            return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: unknown value type %" PRIu32
                           " (expected 0..12)", r->path, tat, ctx, type);
        }
        rc = parse_value(r, type, &kv->value, 0, ctx);
        if (rc < 0) { return rc; }
        f->n_kv = (int64_t)k + 1;
    }
    return WICK_OK;
}

static const wk_gguf_kv *file_find(const wk_gguf_file *f, const char *key)
{
    for (int64_t i = 0; i < f->n_kv; i++) {
        if (strcmp(f->kvs[i].key, key) == 0) { return &f->kvs[i]; }
    }
    return NULL;
}

static wick_status read_alignment(wk_gguf_file *f)
{
    f->alignment = WK_GGUF_DEFAULT_ALIGNMENT;
    const wk_gguf_kv *kv = file_find(f, "general.alignment");
    if (!kv) { return WICK_OK; }
    const struct wick_gguf_value *v = &kv->value;
    uint64_t a;
    switch (v->type) {
    case WICK_GGUF_UINT8: case WICK_GGUF_UINT16: case WICK_GGUF_UINT32: case WICK_GGUF_UINT64:
        a = v->v.u;
        break;
    case WICK_GGUF_INT8: case WICK_GGUF_INT16: case WICK_GGUF_INT32: case WICK_GGUF_INT64:
        a = v->v.i < 0 ? 0 : (uint64_t)v->v.i;
        break;
    default:
        return wk_fail(WICK_E_FORMAT, "%s: offset %" PRIu64 ": general.alignment: a %s, expected "
                       "uint32", f->path, kv->offset, wick_gguf_type_name((wick_gguf_type)v->type));
    }
    if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 30)) {
        return wk_fail(WICK_E_FORMAT, "%s: offset %" PRIu64 ": general.alignment: %" PRIu64
                       ", expected a power of two up to 2^30", f->path, kv->offset, a);
    }
    f->alignment = (size_t)a;
    return WICK_OK;
}

// --- tensor infos --------------------------------------------------------------------------------
static wick_status parse_tensor(rd *r, uint64_t k, wk_gguf_tensor *t)
{
    char ctx[200];
    snprintf(ctx, sizeof ctx, "tensor info #%" PRIu64, k);
    uint64_t nlen;
    wick_status rc = rd_str(r, &t->name, &nlen, "name", ctx);
    if (rc < 0) { return rc; }
    t->name_len = (size_t)nlen;
    snprintf(ctx, sizeof ctx, "tensor '%.120s'", t->name);
    size_t at = r->off;
    uint32_t nd;
    rc = rd_u32(r, &nd, "n_dims", ctx);
    if (rc < 0) { return rc; }
    if (nd < 1 || nd > WICK_MAX_DIMS) {
        return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: n_dims %" PRIu32 ", expected 1..%d",
                       r->path, at, ctx, nd, WICK_MAX_DIMS);
    }
    t->n_dims = (int)nd;
    uint64_t nel = 1;
    for (int d = 0; d < WICK_MAX_DIMS; d++) {
        t->ne[d] = 1;
    }
    for (uint32_t d = 0; d < nd; d++) {
        at = r->off;
        uint64_t ne;
        rc = rd_u64(r, &ne, "ne", ctx);
        if (rc < 0) { return rc; }
        if (ne > (uint64_t)INT64_MAX || !wk_mul_u64(nel, ne, &nel) || nel > (uint64_t)INT64_MAX) {
            return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: ne[%" PRIu32 "] = %" PRIu64
                           ": the element count overflows", r->path, at, ctx, d, ne);
        }
        t->ne[d] = (int64_t)ne;
    }
    // The row count too (it can overflow when ne[0] = 0 makes the element count 0).
    uint64_t rows = 1;
    for (int d = 1; d < WICK_MAX_DIMS; d++) {
        if (!wk_mul_u64(rows, (uint64_t)t->ne[d], &rows) || rows > (uint64_t)INT64_MAX) {
            return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: the row count overflows", r->path,
                           at, ctx);
        }
    }
    at = r->off;
    uint32_t type;
    rc = rd_u32(r, &type, "type", ctx);
    if (rc < 0) { return rc; }
    const wk_type_traits *tt = wk_type((int)type);
    if (!tt) {
        return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: unknown tensor type id %" PRIu32,
                       r->path, at, ctx, type);
    }
    t->type = (int)type;
    if (t->ne[0] % tt->blck != 0) {
        return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: row length ne[0] = %" PRId64 " is not "
                       "a multiple of the %s block size %" PRId64,
                       r->path, at, ctx, t->ne[0], tt->name, tt->blck);
    }
    uint64_t bytes;
    if (!wk_mul_u64(nel / (uint64_t)tt->blck, tt->bytes, &bytes) || bytes > SIZE_MAX) {
        return wk_fail(WICK_E_FORMAT, "%s: offset %zu: %s: data size overflows", r->path, at,
                       ctx);
    }
    t->bytes = (size_t)bytes;
    rc = rd_u64(r, &t->offset, "offset", ctx);
    if (rc < 0) { return rc; }
    return WICK_OK;
}

typedef struct span {
    uint64_t off;
    size_t bytes;
    int64_t k;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->off != y->off) { return x->off < y->off ? -1 : 1; }
    return x->k < y->k ? -1 : (x->k > y->k);
}

static wick_status check_tensor_data(wk_gguf_file *f)
{
    uint64_t data_size = f->size > f->data_off ? f->size - f->data_off : 0;
    for (int64_t k = 0; k < f->n_tensors; k++) {
        const wk_gguf_tensor *t = &f->tensors[k];
        if (t->offset % f->alignment != 0) {
            return wk_fail(WICK_E_FORMAT, "%s: tensor '%s': data offset %" PRIu64 " is not a "
                           "multiple of the alignment %zu", f->path, t->name, t->offset,
                           f->alignment);
        }
        uint64_t end;
        if (!wk_add_u64(t->offset, t->bytes, &end) || end > data_size) {
            return wk_fail(WICK_E_FORMAT, "%s: tensor '%s': data [%" PRIu64 ", +%zu) runs past "
                           "the end of the data section (%" PRIu64 " bytes from file offset %"
                           PRIu64 ")", f->path, t->name, t->offset, t->bytes, data_size,
                           f->data_off);
        }
    }
    if (f->n_tensors < 2) { return WICK_OK; }
    size_t bytes;
    if (!wk_mul_size((size_t)f->n_tensors, sizeof(span), &bytes)) {
        return wk_fail_nomem("tensor order");
    }
    span *sp = wk_malloc(bytes);
    if (!sp) { return wk_fail_nomem("tensor order"); }
    for (int64_t k = 0; k < f->n_tensors; k++) {
        sp[k] = (span){f->tensors[k].offset, f->tensors[k].bytes, k};
    }
    qsort(sp, (size_t)f->n_tensors, sizeof *sp, cmp_span);
    wick_status rc = WICK_OK;
    uint64_t end = 0;   // the furthest end so far, and who reaches it
    int64_t who = -1;
    for (int64_t k = 0; k < f->n_tensors; k++) {
        if (sp[k].bytes == 0) { continue; }
        if (who >= 0 && sp[k].off < end) {
            const wk_gguf_tensor *a = &f->tensors[who], *b = &f->tensors[sp[k].k];
            rc = wk_fail(WICK_E_FORMAT, "%s: tensors '%s' [%" PRIu64 ", +%zu) and '%s' [%" PRIu64
                         ", +%zu) overlap in the data section", f->path, a->name, a->offset,
                         a->bytes, b->name, b->offset, b->bytes);
            break;
        }
        end = sp[k].off + sp[k].bytes;
        who = sp[k].k;
    }
    wk_free(sp);
    return rc;
}

// --- the whole file ------------------------------------------------------------------------------
wick_status wk_gguf_parse(wk_arena *arena, wk_gguf_file *f)
{
    rd r = {f->map, f->size, 0, f->path, arena};
    if (f->size < 4 || memcmp(f->map, "GGUF", 4) != 0) {
        if (f->size < 4) {
            return wk_fail(WICK_E_FORMAT, "%s: the file is %zu bytes, too short for a GGUF header",
                           f->path, f->size);
        }
        const uint8_t *m = f->map;
        return wk_fail(WICK_E_FORMAT, "%s: offset 0: magic: expected \"GGUF\" (47 47 55 46), "
                       "found %02x %02x %02x %02x: not a GGUF file", f->path, m[0], m[1], m[2],
                       m[3]);
    }
    r.off = 4;
    uint32_t version;
    wick_status rc = rd_u32(&r, &version, "version", "header");
    if (rc < 0) { return rc; }
    if (version != 2 && version != 3) {
        if (version == 1) {
            return wk_fail(WICK_E_UNSUPPORTED, "%s: offset 4: GGUF version 1 is not supported "
                           "(expected 2 or 3)", f->path);
        }
        if ((version & 0xFFFF) == 0 && (version >> 16) != 0) {
            return wk_fail(WICK_E_UNSUPPORTED, "%s: offset 4: version 0x%08" PRIx32 " reads as a "
                           "big-endian GGUF, which wick does not support", f->path, version);
        }
        return wk_fail(WICK_E_FORMAT, "%s: offset 4: version %" PRIu32 ", expected 2 or 3",
                       f->path, version);
    }
    f->version = version;
    uint64_t n_tensors, n_kv;
    rc = rd_u64(&r, &n_tensors, "n_tensors", "header");
    if (rc < 0) { return rc; }
    rc = rd_u64(&r, &n_kv, "n_kv", "header");
    if (rc < 0) { return rc; }
    rc = parse_kvs(&r, f, n_kv);
    if (rc < 0) { return rc; }
    rc = read_alignment(f);
    if (rc < 0) { return rc; }

    // Every tensor info takes at least 32 bytes: name length, n_dims, one ne, type, offset.
    if (n_tensors > left(&r) / 32) {
        return wk_fail(WICK_E_FORMAT,
                       "%s: offset 8: n_tensors: %" PRIu64 " tensor infos cannot fit in the %zu "
                       "bytes left after the metadata (at offset %zu)",
                       f->path, n_tensors, left(&r), r.off);
    }
    size_t bytes;
    if (!wk_mul_size((size_t)n_tensors, sizeof(wk_gguf_tensor), &bytes)) {
        return wk_fail(WICK_E_RANGE, "%s: n_tensors %" PRIu64 " too large", f->path, n_tensors);
    }
    f->tensors = wk_arena_alloc(arena, bytes);
    if (!f->tensors) { return wk_fail_nomem("GGUF tensor infos"); }
    for (uint64_t k = 0; k < n_tensors; k++) {
        rc = parse_tensor(&r, k, &f->tensors[k]);
        if (rc < 0) { return rc; }
        f->tensors[k].shard = 0;
        f->n_tensors = (int64_t)k + 1;
    }
    // The data section starts at the next multiple of the alignment.
    uint64_t pad = (f->alignment - r.off % f->alignment) % f->alignment;
    f->data_off = (uint64_t)r.off + pad;
    return check_tensor_data(f);
}
