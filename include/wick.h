// wick.h — the public interface of wick: run GGUF language models from the Hugging Face Hub.
//
// This header is the manual. Each function says what it does, what it returns, who owns what it
// hands out, and from which threads it may be called.
//
// CONVENTIONS
//   Status.  Fallible calls return wick_status: WICK_OK (0) on success, a negative WICK_E_* code on
//            failure, a positive code (WICK_DONE) for "finished". Results come through a trailing
//            out-parameter, which is set to NULL (or left zeroed) on failure.
//   Errors.  A failing call sets this thread's message, read with wick_errmsg(). The message names
//            the file, field, offset or URL and says what was expected. Successful calls leave it
//            alone. The library never exits, aborts or prints on bad input.
//   Memory.  Strings and views marked "Borrowed" belong to the object that handed them out and stay
//            valid until that object is closed. Destructors (close, destroy, free) accept NULL.
//   Threads. Each type states its thread rule. A handle without one may be used by one thread at a
//            time.
//
// SECTIONS
//   1. Status, errors, logging, allocation       (src/base)
//   2. Tensor formats and dequantization          (src/kernels)
//   3. GGUF files                                 (src/gguf)
//   4. Tokenizers                                 (src/tok)
//   5. Models, sessions, evaluation               (src/model, src/gen)
//   6. Hugging Face Hub                           (src/hub)

#ifndef WICK_H
#define WICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WICK_API __attribute__((visibility("default")))
#else
#define WICK_API
#endif

// =================================================================================================
// 1. Status, errors, logging, allocation
// =================================================================================================

typedef int wick_status;

enum {
    WICK_OK = 0,
    WICK_DONE = 1, // a stream or iteration has finished

    WICK_E_INVALID = -1,      // a bad argument from the caller (NULL, out of range, bad option)
    WICK_E_NOMEM = -2,        // an allocation failed
    WICK_E_IO = -3,           // the operating system failed a read, write, open or mmap
    WICK_E_FORMAT = -4,       // malformed input: GGUF, JSON, tokenizer, HTTP response
    WICK_E_UNSUPPORTED = -5,  // well-formed but not supported (tensor type, architecture, component)
    WICK_E_NOT_FOUND = -6,    // a missing key, tensor, token or local file
    WICK_E_TYPE = -7,         // a value exists but has another type than asked for
    WICK_E_RANGE = -8,        // a value does not fit where it must go
    WICK_E_NETWORK = -9,      // connection failed, reset, timed out
    WICK_E_HTTP = -10,        // an HTTP status the protocol does not expect
    WICK_E_REPO_NOT_FOUND = -11,     // Hub: no such repository (or no access to it)
    WICK_E_ENTRY_NOT_FOUND = -12,    // Hub: no such file in the repository
    WICK_E_REVISION_NOT_FOUND = -13, // Hub: no such branch, tag or commit
    WICK_E_GATED = -14,       // Hub: the repository is gated; accept its conditions on the Hub
    WICK_E_UNAUTHORIZED = -15, // Hub: the token is missing, wrong or lacks access
    WICK_E_CHECKSUM = -16,    // downloaded bytes do not match the expected size or sha256
    WICK_E_CANCELLED = -17,   // the caller cancelled the operation
    WICK_E_OFFLINE = -18,     // offline mode and the answer is not in the cache
    WICK_E_NOSPACE = -19,     // the disk or a size limit is full
    WICK_E_BUSY = -20,        // the object is in use (a lock is held, a stream is running)
    WICK_E_INTERNAL = -21,    // a bug in wick: please report it
};

// The message of this thread's last failure ("" when none). Borrowed: valid until this thread's
// next failing wick call. Thread: any; each thread has its own message.
WICK_API const char *wick_errmsg(void);

// A short constant text for a status code ("format error", "not found", ...). Never NULL.
WICK_API const char *wick_strerror(wick_status rc);

// The library version as "MAJOR.MINOR.PATCH". Static storage.
WICK_API const char *wick_version(void);

// Logging. The library is silent by default (WICK_LOG_NONE). Messages at or above the level go to
// the callback, or to stderr as "wick: LEVEL: message" when no callback is set.
// Thread: set these before other threads use the library.
typedef enum wick_log_level {
    WICK_LOG_DEBUG = 0,
    WICK_LOG_INFO = 1,
    WICK_LOG_WARN = 2,
    WICK_LOG_ERROR = 3,
    WICK_LOG_NONE = 4,
} wick_log_level;
typedef void (*wick_log_fn)(wick_log_level level, const char *msg, void *ud);
WICK_API void wick_log_set_level(wick_log_level level);
WICK_API void wick_log_set_callback(wick_log_fn fn, void *ud); // NULL: back to stderr

// Allocation hooks: every allocation the library makes goes through these. All three must be
// given; pass NULL to restore malloc/realloc/free. Thread: call before any other wick call.
typedef struct wick_allocator {
    void *(*malloc_fn)(size_t n, void *ud);
    void *(*realloc_fn)(void *p, size_t n, void *ud);
    void (*free_fn)(void *p, void *ud);
    void *ud;
} wick_allocator;
WICK_API void wick_set_allocator(const wick_allocator *a);

// Frees memory that a wick function handed to the caller with "free with wick_free()". NULL ok.
WICK_API void wick_free(void *p);

// =================================================================================================
// 2. Tensor formats and dequantization
// =================================================================================================

// Tensor element formats, numbered as GGUF stores them (ggml type ids).
typedef enum wick_dtype {
    WICK_DTYPE_F32 = 0,
    WICK_DTYPE_F16 = 1,
    WICK_DTYPE_Q4_0 = 2,
    WICK_DTYPE_Q4_1 = 3,
    WICK_DTYPE_Q5_0 = 6,
    WICK_DTYPE_Q5_1 = 7,
    WICK_DTYPE_Q8_0 = 8,
    WICK_DTYPE_Q8_1 = 9,
    WICK_DTYPE_Q2_K = 10,
    WICK_DTYPE_Q3_K = 11,
    WICK_DTYPE_Q4_K = 12,
    WICK_DTYPE_Q5_K = 13,
    WICK_DTYPE_Q6_K = 14,
    WICK_DTYPE_Q8_K = 15,
    WICK_DTYPE_BF16 = 30,
    WICK_DTYPE_COUNT = 43, // one past the largest id GGUF files are known to use
} wick_dtype;

// The name of a type as GGUF tools print it ("Q4_K", "BF16", "IQ2_XXS"), or NULL for an id no
// known format uses. Names are known for every ggml type id, also those wick cannot compute with.
WICK_API const char *wick_dtype_name(int type);

// Elements per block and bytes per block of a type (1 and 4 for F32). 0 for an unknown id.
WICK_API int64_t wick_dtype_block_elems(int type);
WICK_API size_t wick_dtype_block_bytes(int type);

// Whether wick can dequantize (and compute with) this type.
WICK_API bool wick_dtype_supported(int type);

// Dequantizes n elements (a multiple of the type's block size) from src to dst.
// Errors: WICK_E_UNSUPPORTED for a type wick cannot decode, WICK_E_INVALID for a bad n.
WICK_API wick_status wick_dequantize(int type, const void *src, float *dst, int64_t n);

// =================================================================================================
// 3. GGUF files
// =================================================================================================
//
// A wick_gguf is an open GGUF file (or a split model: all its shards, opened as one), with its
// metadata parsed and every tensor's data mapped read-only with mmap (never copied). Every count,
// length and offset in the file is checked against the file size before use.
// Thread: a wick_gguf is immutable once open; any number of threads may read it at once.

typedef struct wick_gguf wick_gguf;

// Metadata value types, numbered as GGUF stores them.
typedef enum wick_gguf_type {
    WICK_GGUF_UINT8 = 0,
    WICK_GGUF_INT8 = 1,
    WICK_GGUF_UINT16 = 2,
    WICK_GGUF_INT16 = 3,
    WICK_GGUF_UINT32 = 4,
    WICK_GGUF_INT32 = 5,
    WICK_GGUF_FLOAT32 = 6,
    WICK_GGUF_BOOL = 7,
    WICK_GGUF_STRING = 8,
    WICK_GGUF_ARRAY = 9,
    WICK_GGUF_UINT64 = 10,
    WICK_GGUF_INT64 = 11,
    WICK_GGUF_FLOAT64 = 12,
} wick_gguf_type;

// "uint8", "string", "array", ... ; NULL for an unknown id.
WICK_API const char *wick_gguf_type_name(int type);

// Opens path. When path is one shard of a split model (NAME-00002-of-00005.gguf, or any file with
// split.count > 1), every shard is opened and the model reads as one file: its metadata is the
// first shard's, its tensors those of all shards.
// Errors: WICK_E_IO (cannot open or map; names the path), WICK_E_FORMAT (the message names the
// file, the byte offset, the field and what was expected), WICK_E_NOT_FOUND (a missing shard,
// named), WICK_E_NOMEM. *out is NULL on failure. Close with wick_gguf_close().
WICK_API wick_status wick_gguf_open(const char *path, wick_gguf **out);
WICK_API void wick_gguf_close(wick_gguf *g);

WICK_API uint32_t wick_gguf_version(const wick_gguf *g);   // 2 or 3
WICK_API int wick_gguf_n_shards(const wick_gguf *g);       // 1 for a single file
WICK_API const char *wick_gguf_shard_path(const wick_gguf *g, int shard); // Borrowed
WICK_API size_t wick_gguf_alignment(const wick_gguf *g);   // general.alignment or 32

// --- metadata ---
// A value view: borrowed, valid while g is open. Arrays may nest.
typedef struct wick_gguf_value wick_gguf_value;

WICK_API int64_t wick_gguf_n_kv(const wick_gguf *g);
WICK_API const char *wick_gguf_kv_key(const wick_gguf *g, int64_t i);             // Borrowed
WICK_API const wick_gguf_value *wick_gguf_kv_value(const wick_gguf *g, int64_t i); // Borrowed
// The index of key, or -1 when absent (no error is set).
WICK_API int64_t wick_gguf_find_kv(const wick_gguf *g, const char *key);

WICK_API wick_gguf_type wick_gguf_value_type(const wick_gguf_value *v);
// Integers of any width and BOOL convert to int64/uint64 when the value fits (else WICK_E_RANGE);
// other types give WICK_E_TYPE.
WICK_API wick_status wick_gguf_value_int(const wick_gguf_value *v, int64_t *out);
WICK_API wick_status wick_gguf_value_uint(const wick_gguf_value *v, uint64_t *out);
// FLOAT32 and FLOAT64 only.
WICK_API wick_status wick_gguf_value_float(const wick_gguf_value *v, double *out);
// STRING: the bytes (NUL-terminated copy; may contain NUL) and their length. WICK_E_TYPE otherwise.
WICK_API wick_status wick_gguf_value_str(const wick_gguf_value *v, const char **s, size_t *len);
// ARRAY: length and element type (0 and -1 for other types).
WICK_API uint64_t wick_gguf_array_len(const wick_gguf_value *v);
WICK_API int wick_gguf_array_type(const wick_gguf_value *v);
// Element i of an array (NULL when out of range or not an array). Borrowed.
WICK_API const wick_gguf_value *wick_gguf_array_at(const wick_gguf_value *v, uint64_t i);

// Typed accessors by key. A missing key is WICK_E_NOT_FOUND, a wrong type WICK_E_TYPE, a value
// that does not fit WICK_E_RANGE; each message names the key and the file.
WICK_API wick_status wick_gguf_get_int(const wick_gguf *g, const char *key, int64_t *out);
WICK_API wick_status wick_gguf_get_uint(const wick_gguf *g, const char *key, uint64_t *out);
WICK_API wick_status wick_gguf_get_float(const wick_gguf *g, const char *key, double *out);
WICK_API wick_status wick_gguf_get_bool(const wick_gguf *g, const char *key, bool *out);
WICK_API wick_status wick_gguf_get_str(const wick_gguf *g, const char *key, const char **s,
                                       size_t *len);
// An array value by key (WICK_E_TYPE when the key holds something else).
WICK_API wick_status wick_gguf_get_array(const wick_gguf *g, const char *key,
                                         const wick_gguf_value **out);

// --- tensors ---
#define WICK_MAX_DIMS 4

typedef struct wick_tensor_info {
    const char *name;        // Borrowed
    int type;                // wick_dtype id (maybe one wick cannot compute with)
    int n_dims;              // 1..WICK_MAX_DIMS
    int64_t ne[WICK_MAX_DIMS]; // elements per dimension, ne[0] = row length; unused dims are 1
    uint64_t offset;         // from the start of its shard's data section
    size_t bytes;            // size of the data
    int shard;               // which shard holds it (0 for a single file)
    const void *data;        // the mapped bytes. Borrowed: valid while g is open
} wick_tensor_info;

WICK_API int64_t wick_gguf_n_tensors(const wick_gguf *g);
// Fills *out for tensor i (in file order, shard after shard). WICK_E_INVALID for a bad i.
WICK_API wick_status wick_gguf_tensor(const wick_gguf *g, int64_t i, wick_tensor_info *out);
// The index of the tensor named name, or -1 (no error is set).
WICK_API int64_t wick_gguf_find_tensor(const wick_gguf *g, const char *name);

// Dequantizes rows [row0, row1) of tensor i (a row = ne[0] elements; rows counted over all higher
// dimensions) into out, which holds (row1 - row0) * ne[0] floats.
// Errors: WICK_E_RANGE for rows past the end, WICK_E_UNSUPPORTED for a type wick cannot decode.
WICK_API wick_status wick_gguf_tensor_rows(const wick_gguf *g, int64_t i, int64_t row0,
                                           int64_t row1, float *out);

// --- writing ---
// A GGUF writer collects metadata and tensor declarations, then writes the file in one go: the
// header, the tensor infos and the aligned data section, whose bytes the caller supplies through a
// fill callback writing straight into the output (so multi-GB files need no copy in memory).
// The file appears complete or not at all (written to PATH.tmp, then renamed).
// Thread: one thread at a time.
typedef struct wick_gguf_writer wick_gguf_writer;

// A writer for GGUF version 3 with alignment 32. Free with wick_gguf_writer_free().
WICK_API wick_status wick_gguf_writer_create(wick_gguf_writer **out);
WICK_API void wick_gguf_writer_free(wick_gguf_writer *w);
WICK_API wick_status wick_gguf_writer_set_version(wick_gguf_writer *w, uint32_t version); // 2|3
// The data alignment (a power of two); also written as general.alignment when not 32.
WICK_API wick_status wick_gguf_writer_set_alignment(wick_gguf_writer *w, size_t alignment);

// Metadata, written in the order added. A duplicate key is WICK_E_INVALID.
// add_scalar: value points to one value of type (a const char * for STRING; a bool for BOOL).
WICK_API wick_status wick_gguf_writer_add_scalar(wick_gguf_writer *w, const char *key,
                                                 wick_gguf_type type, const void *value);
WICK_API wick_status wick_gguf_writer_add_u32(wick_gguf_writer *w, const char *key, uint32_t v);
WICK_API wick_status wick_gguf_writer_add_f32(wick_gguf_writer *w, const char *key, float v);
WICK_API wick_status wick_gguf_writer_add_bool(wick_gguf_writer *w, const char *key, bool v);
WICK_API wick_status wick_gguf_writer_add_str(wick_gguf_writer *w, const char *key, const char *s);
// An array of n elements of elem_type (not ARRAY) packed in data; for STRING, data is a
// const char *const * of n NUL-terminated strings.
WICK_API wick_status wick_gguf_writer_add_array(wick_gguf_writer *w, const char *key,
                                                wick_gguf_type elem_type, const void *data,
                                                uint64_t n);
// Copies key/value i of an open file (nested arrays included) under the same key.
WICK_API wick_status wick_gguf_writer_copy_kv(wick_gguf_writer *w, const wick_gguf *g, int64_t i);

// Declares a tensor (written in the order declared). n_dims 1..4, ne[0] a multiple of the type's
// block. data: its bytes (copied at write time; must stay valid until then), or NULL to have the
// fill callback supply them.
WICK_API wick_status wick_gguf_writer_add_tensor(wick_gguf_writer *w, const char *name, int type,
                                                 int n_dims, const int64_t *ne, const void *data);

// Supplies the bytes of tensor i (in declaration order) into dst (bytes long). A status < 0
// aborts the write, which then fails with it.
typedef wick_status (*wick_gguf_fill_fn)(void *ud, int64_t tensor, void *dst, size_t bytes);

// Writes the file. fill may be NULL when every tensor was given its data.
WICK_API wick_status wick_gguf_writer_write(wick_gguf_writer *w, const char *path,
                                            wick_gguf_fill_fn fill, void *ud);

// =================================================================================================
// 4. Tokenizers                                                    (section owned by src/tok)
// =================================================================================================

// =================================================================================================
// 5. Models, sessions, evaluation                          (section owned by src/model, src/gen)
// =================================================================================================

// =================================================================================================
// 6. Hugging Face Hub                                               (section owned by src/hub)
// =================================================================================================

#ifdef __cplusplus
}
#endif

#endif // WICK_H
