// gguf.h — the GGUF container, internal side: the parsed structures that reader.c builds and the
// accessors in gguf.c and the writer in writer.c share. The public interface is wick.h section 3.
//
// Layout of a GGUF file (little endian; the GGUF spec, ggml docs/gguf.md):
//   "GGUF" u32 version  u64 n_tensors  u64 n_kv
//   n_kv    x { string key, u32 type, value }
//   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
//   padding to the alignment, then the data section; tensor offsets count from its start.
// string = u64 length + bytes (no NUL); array = u32 element type, u64 n, n elements.
#ifndef WK_GGUF_H
#define WK_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define WK_GGUF_DEFAULT_ALIGNMENT 32
#define WK_GGUF_MAX_DEPTH 8 // arrays of arrays nest at most this deep

// A metadata value. Strings are NUL-terminated copies (len excludes the NUL); array elements are
// materialized values. All storage lives in the file's arena.
struct wick_gguf_value {
    uint32_t type;
    uint32_t elem_type; // ARRAY: the element type
    uint64_t n;         // STRING: bytes; ARRAY: elements
    union {
        uint64_t u;     // UINT8..UINT64, BOOL (0/1)
        int64_t i;      // INT8..INT64
        double f;       // FLOAT32, FLOAT64
        const char *s;  // STRING
        struct wick_gguf_value *a; // ARRAY
    } v;
};

typedef struct wk_gguf_kv {
    const char *key; // NUL-terminated copy
    size_t key_len;
    uint64_t offset; // where the key starts in the file (for messages)
    struct wick_gguf_value value;
} wk_gguf_kv;

typedef struct wk_gguf_tensor {
    const char *name;
    size_t name_len;
    int type;
    int n_dims;
    int64_t ne[WICK_MAX_DIMS];
    uint64_t offset; // in the shard's data section
    size_t bytes;
    int shard;
} wk_gguf_tensor;

// An arena: chunks freed together when the file closes.
typedef struct wk_arena_chunk wk_arena_chunk;
typedef struct wk_arena {
    wk_arena_chunk *head;
} wk_arena;
void *wk_arena_alloc(wk_arena *a, size_t n); // 8-byte aligned; NULL when out of memory
void wk_arena_free(wk_arena *a);

// One mapped file: a single GGUF, or one shard of a split model.
typedef struct wk_gguf_file {
    char *path;
    const uint8_t *map; // the whole file, read-only
    size_t size;
    bool owns_map;      // false for a buffer given to wk_gguf_open_memory
    uint32_t version;
    size_t alignment;
    uint64_t data_off;  // where the data section starts
    int64_t n_kv;
    wk_gguf_kv *kvs;
    int64_t n_tensors;
    wk_gguf_tensor *tensors;
} wk_gguf_file;

// Name -> index lookup (open addressing over indices into a caller's array).
typedef struct wk_name_index {
    int64_t *slots; // index + 1; 0 = empty
    size_t mask;
} wk_name_index;

struct wick_gguf {
    wk_arena arena;
    int n_shards;
    wk_gguf_file *files; // files[0] holds the metadata
    int64_t n_tensors;
    wk_gguf_tensor *tensors; // all shards, shard after shard (in the arena)
    wk_name_index kv_index;
    wk_name_index tensor_index;
};

// reader.c: parses the mapped bytes f->map[0..size) into f (kvs, tensors, data offset), checking
// every count, length and offset. Storage comes from arena. f->path names the file in messages.
wick_status wk_gguf_parse(wk_arena *arena, wk_gguf_file *f);

// Opens a GGUF held in memory (borrowed: it must outlive the handle). name is used in messages.
// No shards are looked for. For tests and the fuzzer.
wick_status wk_gguf_open_memory(const void *data, size_t size, const char *name, wick_gguf **out);

// Name index helpers (gguf.c).
uint64_t wk_name_hash(const char *s, size_t len);

#endif
