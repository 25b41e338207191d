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
//   7. Sampling, stop conditions, generation      (src/sample, src/gen)
//   8. Completion streams and the model registry  (src/gen)
//   9. Chat templates, reasoning, tool calls    (src/chat)
//  10. Distributed evaluation (MPI)               (src/dist)

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

// Every status a wick call returns. New codes may be added; compare with these names, not numbers.
typedef enum wick_status {
    WICK_OK = 0,
    WICK_DONE = 1, // a stream or iteration has finished
    WICK_AGAIN = 2, // nothing ready yet: wait (poll the stream's fd) and call again

    WICK_E_INVALID = -1,      // a bad argument from the caller (NULL, out of range, bad option)
    WICK_E_NOMEM = -2,        // an allocation failed
    WICK_E_IO = -3,           // the operating system failed a read, write, open or mmap
    WICK_E_FORMAT = -4,       // malformed input: GGUF, JSON, tokenizer, HTTP response
    // well-formed but not supported (tensor type, architecture, component)
    WICK_E_UNSUPPORTED = -5,
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
    WICK_E_TEMPLATE = -22,    // a chat template failed to render (raise_exception, type error, ...)
    WICK_E_TIMEOUT = -23,     // a wait ran out of time before what it waited for happened
} wick_status;

// The message of this thread's last failure ("" when none). Borrowed: valid until this thread's
// next failing wick call. Thread: any; each thread has its own message.
WICK_API const char *wick_errmsg(void);

// A short constant text for a status code ("format error", "not found", ...). Never NULL.
WICK_API const char *wick_strerror(wick_status rc);

// The version of this header. wick_version() is that of the library linked at run time, as
// "MAJOR.MINOR.PATCH" (static storage); a program built against one header may run with a newer
// library of the same MAJOR.
#define WICK_VERSION_MAJOR 0
#define WICK_VERSION_MINOR 1
#define WICK_VERSION_PATCH 0
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
typedef void (*wick_log_cb)(wick_log_level level, const char *msg, void *ud);
WICK_API void wick_log_set_level(wick_log_level level);
WICK_API void wick_log_set_callback(wick_log_cb fn, void *ud); // NULL: back to stderr

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
WICK_API const char *wick_dtype_name(wick_dtype type);

// Elements per block and bytes per block of a type (1 and 4 for F32). 0 for an unknown id.
WICK_API int64_t wick_dtype_block_elems(wick_dtype type);
WICK_API size_t wick_dtype_block_bytes(wick_dtype type);

// Whether wick can dequantize (and compute with) this type.
WICK_API bool wick_dtype_supported(wick_dtype type);

// Dequantizes n elements (a multiple of the type's block size) from src to dst.
// Errors: WICK_E_UNSUPPORTED for a type wick cannot decode, WICK_E_INVALID for a bad n.
WICK_API wick_status wick_dequantize(wick_dtype type, const void *src, float *dst, int64_t n);

// Writing blocks (quantizing is library work: a program that builds tensors, such as
// wick-mkmodel, packs through these rather than re-implementing the layouts).
// A float as an F16 or BF16 bit pattern, rounded to nearest even; overflow gives infinity, a NaN
// stays a NaN. Bit-identical to ggml's conversions.
WICK_API uint16_t wick_f32_to_f16(float f);
WICK_API uint16_t wick_f32_to_bf16(float f);
// Packs the 6-bit scales of one K-quant block into its 12 scale bytes (out), as dequantization
// reads them: Q3_K: scales[16] in -32..31 (mins NULL); Q4_K, Q5_K: scales[8] and mins[8] in
// 0..63. Errors: WICK_E_UNSUPPORTED for another type, WICK_E_RANGE for a value out of range,
// WICK_E_INVALID for a NULL argument.
WICK_API wick_status wick_pack_k_scales(wick_dtype type, const int *scales, const int *mins,
                                        uint8_t out[12]);

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
WICK_API const char *wick_gguf_type_name(wick_gguf_type type);

// Opens path. When path is one shard of a split model (its metadata has split.count > 1; shards are
// named NAME-00001-of-00005.gguf ... NAME-00005-of-00005.gguf, as llama.cpp's gguf-split writes
// them), every shard is opened and the model reads as one file: its metadata is the first shard's
// (split.no = 0), its tensors those of all shards, shard after shard.
// Errors: WICK_E_IO (cannot open or map; names the path), WICK_E_FORMAT (the message names the
// file, the byte offset, the field and what was expected), WICK_E_UNSUPPORTED (GGUF v1,
// big-endian GGUF), WICK_E_NOT_FOUND (no such file, or a missing shard, named), WICK_E_NOMEM.
// *out is NULL on failure. Close with wick_gguf_close().
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

// A writer for GGUF version 3 with alignment 32. Free with wick_gguf_writer_destroy().
WICK_API wick_status wick_gguf_writer_create(wick_gguf_writer **out);
WICK_API void wick_gguf_writer_destroy(wick_gguf_writer *w);
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
WICK_API wick_status wick_gguf_writer_add_tensor(wick_gguf_writer *w, const char *name,
                                                 wick_dtype type, int n_dims, const int64_t *ne,
                                                 const void *data);

// Supplies the bytes of tensor i (in declaration order) into dst (bytes long). A status < 0
// aborts the write, which then fails with it.
typedef wick_status (*wick_gguf_fill_cb)(void *ud, int64_t tensor, void *dst, size_t bytes);

// Writes the file. fill may be NULL when every tensor was given its data.
WICK_API wick_status wick_gguf_writer_write(wick_gguf_writer *w, const char *path,
                                            wick_gguf_fill_cb fill, void *ud);

// =================================================================================================
// 4. Tokenizers                                                    (section owned by src/tok)
// =================================================================================================
//
// A wick_tokenizer turns UTF-8 text into the token ids a model was trained with, and back. Three
// sources load into the same engine:
//   - tokenizer.json (Hugging Face tokenizers): BPE model (byte-level or not; ignore_merges,
//     byte_fallback, unk_token), normalizers NFC NFD NFKC NFKD Lowercase Replace Prepend Strip
//     Sequence, pre-tokenizers Split ByteLevel Digits Metaspace WhitespaceSplit Sequence, added
//     tokens (special, lstrip, rstrip, normalized, single_word), post-processors
//     TemplateProcessing ByteLevel Sequence, decoders ByteLevel ByteFallback Replace Fuse Strip
//     Sequence. Anything else is WICK_E_UNSUPPORTED naming the component and its JSON path.
//   - the vocabulary inside a GGUF file: tokenizer.ggml.model "gpt2" (byte-level BPE with merges;
//     tokenizer.ggml.pre dbrx, llama-bpe/llama3, gpt-4o, qwen2, deepseek-v3, kimi-k2, gpt2,
//     default) or "llama" (SentencePiece-style: scores, byte fallback, U+2581 for spaces).
//   - tiktoken files (base64 token SP rank per line) as Kimi K2 ships them: special tokens from
//     the tokenizer_config.json beside the file, Kimi K2's split pattern unless another is given,
//     and tokenization_kimi.py's encode(): the text goes in 400000-character chunks, each cut
//     where a run of whitespace or of non-whitespace passes 25000 characters.
// Pre-tokenizer regexes run on Oniguruma (the engine of Hugging Face tokenizers: same \s, \p{..}
// and [..&&..] class intersection); the hot patterns (cl100k/llama3/dbrx, qwen2, Kimi K2) use
// hand-written splitters proven equal to it.
//
// Text. Input is bytes; invalid UTF-8 sequences are replaced by U+FFFD (each maximal invalid
// subsequence by one U+FFFD, as Rust's from_utf8_lossy does) before tokenizing, so any input
// tokenizes and never crashes. decode(encode(x)) == x for valid UTF-8 x.
// Thread: a tokenizer is immutable once open; any number of threads may use it at once.
// A wick_detok_stream is used by one thread at a time.

typedef struct wick_tokenizer wick_tokenizer;

typedef struct wick_tokenizer_opts {
    // tokenizer_config.json: bos_token/eos_token name wick_tokenizer_bos/eos; for tiktoken files
    // also the special tokens (added_tokens_decoder) and add_bos_token/add_eos_token (for
    // tokenizer.json those come from its post_processor, as in Hugging Face tokenizers).
    // NULL: "tokenizer_config.json" beside the file, if any.
    const char *config_path;
    // tiktoken only: the split pattern (Oniguruma syntax). NULL: Kimi K2's.
    const char *pattern;
} wick_tokenizer_opts;

// Fills o with the defaults (all NULL).
WICK_API void wick_tokenizer_opts_init(wick_tokenizer_opts *o);

// Opens a tokenizer.json. o may be NULL (defaults).
// Errors: WICK_E_IO (cannot read; names the path), WICK_E_FORMAT (malformed: the message is
// "PATH: JSON.PATH: reason", e.g. "t.json: model.merges[12]: 'ab' is not in the vocabulary"),
// WICK_E_UNSUPPORTED (a component wick lacks, named with its JSON path), WICK_E_NOMEM.
// *out is NULL on failure. Close with wick_tokenizer_close().
WICK_API wick_status wick_tokenizer_open_json(const char *path, const wick_tokenizer_opts *o,
                                              wick_tokenizer **out);
// The same from len bytes in memory; name is used in messages. Only o->config_path is read: no
// config is looked for beside name.
WICK_API wick_status wick_tokenizer_open_json_mem(const char *name, const void *data, size_t len,
                                                  const wick_tokenizer_opts *o,
                                                  wick_tokenizer **out);
// Opens a tiktoken file (lines "base64(token bytes) rank", ranks dense from 0). Special tokens:
// added_tokens_decoder of o->config_path or of the tokenizer_config.json beside path (none when
// absent). Errors as for wick_tokenizer_open_json, with "PATH:LINE: reason" for the file.
WICK_API wick_status wick_tokenizer_open_tiktoken(const char *path, const wick_tokenizer_opts *o,
                                                  wick_tokenizer **out);
// A tokenizer.json when the file parses as JSON, else a tiktoken file.
WICK_API wick_status wick_tokenizer_open_file(const char *path, const wick_tokenizer_opts *o,
                                              wick_tokenizer **out);
// The vocabulary inside an open GGUF file (tokenizer.ggml.*): tokenizer.ggml.model "gpt2" (BPE,
// with tokenizer.ggml.pre), "llama" (SentencePiece BPE), "bert" (WordPiece), "t5" (Unigram),
// "rwkv" (RWKV's trie tokenizer: the text's bytes as they are, invalid UTF-8 too, and no BOS/EOS
// unless the file asks), "plamo2" (PLaMo 2: highest-score segmentation with byte fallback, no
// BOS/EOS, as llama.cpp) or "gemma4" (BPE with the gemma4 rules). The tokenizer copies what it
// needs; g may be closed afterwards. Errors: WICK_E_NOT_FOUND (no tokenizer.ggml.tokens, or
// model "none"/"no_vocab"), WICK_E_FORMAT (inconsistent arrays, bad merges, ids out of range;
// names the key and index), WICK_E_UNSUPPORTED (another tokenizer.ggml.model or pre).
WICK_API wick_status wick_tokenizer_open_gguf(const wick_gguf *g, wick_tokenizer **out);
// The tokenizer of a model, in this order: DIR/tokenizer.json if present, else the vocabulary of
// g (when g is not NULL and has one), else DIR/tiktoken.model. dir may be NULL (only g is used).
// WICK_E_NOT_FOUND when no source exists.
WICK_API wick_status wick_tokenizer_open_for_model(const char *dir, const wick_gguf *g,
                                                   const wick_tokenizer_opts *o,
                                                   wick_tokenizer **out);
WICK_API void wick_tokenizer_close(wick_tokenizer *tk);

enum {
    // Recognise the text of special added tokens ("<|im_end|>") as those tokens. Without it they
    // are tokenized as plain text; non-special added tokens are recognised either way.
    WICK_TOKENIZE_PARSE_SPECIAL = 1 << 0,
    // Add BOS/EOS as the source says: tokenizer.json's post_processor, GGUF
    // add_bos_token/add_eos_token (llama.cpp's defaults), tokenizer_config.json add_bos_token.
    WICK_TOKENIZE_ADD_SPECIAL = 1 << 1,
};

// Tokenizes text[0, len) into ids[0, n_max). *n_out is the number of ids the text needs, also
// when that is more than n_max: then the call fails with WICK_E_RANGE and ids holds the first
// n_max. ids may be NULL when n_max is 0. flags: WICK_TOKENIZE_*.
// Errors: WICK_E_RANGE (see above; or len > 2 GiB), WICK_E_FORMAT (text the vocabulary cannot
// spell and it has no unknown token), WICK_E_NOMEM, WICK_E_INTERNAL.
WICK_API wick_status wick_tokenize(const wick_tokenizer *tk, const char *text, size_t len,
                                   unsigned flags, int32_t *ids, size_t n_max, size_t *n_out);
// The same into a new array (free with wick_free(); NULL when *n_out is 0).
WICK_API wick_status wick_tokenize_alloc(const wick_tokenizer *tk, const char *text, size_t len,
                                         unsigned flags, int32_t **ids, size_t *n_out);

enum {
    WICK_DETOKENIZE_SKIP_SPECIAL = 1 << 0, // drop special added tokens (and CONTROL tokens)
};
// Decodes ids to text through the tokenizer's decoders, as Hugging Face's decode() does
// (invalid UTF-8 in the result becomes U+FFFD; without any decoder the tokens are joined with
// spaces; ids of no token decode to nothing). *text is NUL-terminated; free with wick_free().
// Errors: WICK_E_RANGE for an id outside [0, n_vocab) (named), WICK_E_NOMEM.
WICK_API wick_status wick_detokenize(const wick_tokenizer *tk, const int32_t *ids, size_t n,
                                     unsigned flags, char **text, size_t *len);

// Streaming decoder: push ids one by one, get text pieces that are always whole UTF-8. Bytes of
// an incomplete character are held back until the ids completing it arrive; bytes that can never
// become valid are given as U+FFFD; finish flushes (a dangling incomplete tail becomes U+FFFD).
// The concatenated pieces equal wick_detokenize() of all ids for byte-level tokenizers.
typedef struct wick_detok_stream wick_detok_stream;
WICK_API wick_status wick_detok_stream_create(const wick_tokenizer *tk, unsigned flags,
                                              wick_detok_stream **out);
// *piece: borrowed until the next call on s; may be empty (*len 0). WICK_E_RANGE for a bad id.
WICK_API wick_status wick_detok_stream_push(wick_detok_stream *s, int32_t id, const char **piece,
                                            size_t *len);
WICK_API wick_status wick_detok_stream_finish(wick_detok_stream *s, const char **piece,
                                              size_t *len);
WICK_API void wick_detok_stream_destroy(wick_detok_stream *s);

// Vocabulary queries. n_vocab: one past the largest id.
WICK_API int32_t wick_tokenizer_n_vocab(const wick_tokenizer *tk);
// The bytes token id decodes to alone (raw bytes for byte-level vocabularies, which may be part
// of a UTF-8 character); the content for added tokens. Borrowed: valid while tk is open. NULL for
// an id out of range or unused.
WICK_API const char *wick_token_text(const wick_tokenizer *tk, int32_t id, size_t *len);
// The id whose text (added token content, else vocabulary bytes) is exactly s[0, len); -1 if none.
WICK_API int32_t wick_token_find(const wick_tokenizer *tk, const char *s, size_t len);
WICK_API bool wick_token_is_special(const wick_tokenizer *tk, int32_t id);
// End of generation: eos, eot, eom and tokens named like <|im_end|>, <|eot_id|>, <|endoftext|>,
// [EOS], [EOT], </s> ... (llama.cpp's list).
WICK_API bool wick_token_is_eog(const wick_tokenizer *tk, int32_t id);
// Special ids, -1 when the source names none.
WICK_API int32_t wick_tokenizer_bos(const wick_tokenizer *tk);
WICK_API int32_t wick_tokenizer_eos(const wick_tokenizer *tk);

// =================================================================================================
// 5. Models, sessions, evaluation                          (section owned by src/model, src/gen)
// =================================================================================================
//
// A wick_model is an opened GGUF model: hyperparameters read, every tensor bound (shape checked)
// and used in place from the read-only mapping. Supported architectures (general.architecture):
//   "llama"      the llama family (Llama 2/3 and models that share its layout);
//   "phi3"       Phi-4, Phi-4-reasoning (fused QKV and gate|up projections);
//   "deepseek2"  DeepSeek-V2/V3 and Kimi K2 (multi-head latent attention, mixture of experts).
// Any other architecture is WICK_E_UNSUPPORTED naming it. Thread: a model is immutable once open;
// any number of sessions on any threads may use it at once. Close it after its sessions.
//
// A wick_session evaluates tokens with a model: it owns a KV cache of n_ctx positions and scratch
// buffers, all allocated at create (evaluation never allocates). Tokens are appended: each
// wick_session_eval() continues the sequence after the positions already evaluated. Computation
// runs on the process-wide thread pool, n_threads wide. Thread: one thread at a time per session.

typedef struct wick_model wick_model;
typedef struct wick_session wick_session;

typedef struct wick_model_opts {
    // Repack the weights at open (default true): the projections' and experts' rows are copied
    // interleaved by four for the fast kernels, and the file's pages they came from are released
    // (same results; faster decode, a slower open). false, or WICK_REPACK=0 in the environment:
    // they stay in the file's mapping as read. Under wick_dist_init() each rank repacks only the
    // weights it reads, when its session is attached (section 10).
    bool repack;
} wick_model_opts;
WICK_API void wick_model_opts_init(wick_model_opts *o);

// Opens the model at path (o may be NULL for defaults).
// Errors: WICK_E_IO / WICK_E_FORMAT from the GGUF reader; WICK_E_UNSUPPORTED for an unknown
// architecture or a tensor type wick cannot compute with; WICK_E_FORMAT for a missing key or
// tensor, a tensor of the wrong shape, an unexpected tensor or head counts that do not divide —
// each message starts with the path and names the key or tensor. *out is NULL on failure.
WICK_API wick_status wick_model_open(const char *path, const wick_model_opts *o, wick_model **out);
WICK_API void wick_model_close(wick_model *m); // NULL ok

WICK_API const char *wick_model_arch(const wick_model *m); // "llama", "phi3", "deepseek2". Borrowed
WICK_API int32_t wick_model_n_vocab(const wick_model *m);  // logits per position
WICK_API int64_t wick_model_n_ctx_train(const wick_model *m);
WICK_API int64_t wick_model_n_embd(const wick_model *m);
WICK_API int64_t wick_model_n_layer(const wick_model *m);
// The model's GGUF file (e.g. to read its tokenizer). Borrowed: valid while m is open.
WICK_API const wick_gguf *wick_model_gguf(const wick_model *m);

typedef enum wick_kv_type {
    WICK_KV_F32 = 0, // float32 K and V (the reference's setting for the golden tests)
    WICK_KV_F16 = 1, // fp16: half the memory; K and V rounded to fp16 as llama.cpp's default does
} wick_kv_type;

// Memory the model needs: the weights' bytes (mapped from the file), and the KV cache bytes per
// token of context. A session needs about weights + n_ctx * kv_bytes_per_token. deepseek2 (MLA)
// caches one row of kv_lora_rank + rope dims per token and layer: Kimi K2 (61 layers, 512 + 64)
// 140544 bytes per token in f32, 70272 in f16.
WICK_API size_t wick_model_weight_bytes(const wick_model *m);
WICK_API size_t wick_model_kv_bytes_per_token(const wick_model *m, wick_kv_type type);

typedef struct wick_session_opts {
    int64_t n_ctx;      // positions the KV cache holds; 0 (default): n_ctx_train capped at 8192
    int64_t n_batch;    // most tokens one forward pass takes (default 512); longer inputs to
                        // wick_session_eval() are split into passes of n_batch tokens
    int n_threads;      // threads to compute with; 0 (default): the number of CPUs
    wick_kv_type kv_type; // default WICK_KV_F32
    bool logits_all;    // keep logits of every position of an eval (default false: the last one)
} wick_session_opts;
WICK_API void wick_session_opts_init(wick_session_opts *o);

// Creates a session on m (o may be NULL). Allocates the KV cache and every buffer evaluation
// needs. Errors: WICK_E_INVALID for bad options, WICK_E_NOMEM. *out is NULL on failure.
// Free with wick_session_destroy(); m must stay open until then.
WICK_API wick_status wick_session_create(wick_model *m, const wick_session_opts *o,
                                         wick_session **out);
WICK_API void wick_session_destroy(wick_session *s); // NULL ok

// Evaluates tokens[0..n) at positions n_past .. n_past + n - 1 and appends them to the cache.
// With logits_all, n must be at most n_batch (the logits of every one of the n positions are
// kept); otherwise any n >= 1 is split into passes and the logits of the last position are kept.
// Errors: WICK_E_INVALID (n < 1, a token outside [0, n_vocab), logits_all with n > n_batch),
// WICK_E_RANGE when the cache would overflow n_ctx (nothing is evaluated then). On error the
// session's positions are unchanged unless a pass had already completed.
WICK_API wick_status wick_session_eval(wick_session *s, const int32_t *tokens, int64_t n);

// The logits (n_vocab floats) of position i of the last eval: i in [0, n) with logits_all, and
// i = -1 (or n - 1) for the last position in any mode. NULL when there is no such row.
// Borrowed: valid until the next eval, reset or destroy.
WICK_API const float *wick_session_logits(const wick_session *s, int64_t i);

WICK_API int64_t wick_session_n_past(const wick_session *s); // positions evaluated so far
WICK_API int64_t wick_session_n_ctx(const wick_session *s);
// Forgets positions >= n_past (0 <= n_past <= current): the next eval continues from there.
WICK_API wick_status wick_session_truncate(wick_session *s, int64_t n_past);
WICK_API void wick_session_reset(wick_session *s); // truncate to 0

// Makes the running wick_session_eval() (or, when none runs, the next one) stop between layers
// and return WICK_E_CANCELLED; passes already completed stay in the cache. Thread: any.
WICK_API void wick_session_cancel(wick_session *s);

// =================================================================================================
// 6. Hugging Face Hub                                               (section owned by src/hub)
// =================================================================================================

// The hub fetches files from the Hugging Face Hub (or a mirror, HF_ENDPOINT) into the cache that
// huggingface_hub uses (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub):
//     models--ORG--NAME/blobs/ETAG            the bytes (ETAG: sha256 for LFS files, else git sha1)
//     models--ORG--NAME/snapshots/COMMIT/PATH relative symlink to the blob
//     models--ORG--NAME/refs/REV              the commit of a branch or tag (no newline)
//     .locks/models--ORG--NAME/ETAG.lock      flock()ed while the blob is written
// A download resumes from blobs/ETAG.incomplete with Range, checks the size and the hash (sha256
// for LFS files, git blob sha1 otherwise) and only then renames it into blobs/ and links it.
//
// MODES. One event loop drives every transfer (libcurl's multi interface on one thread).
//   Embedded: the caller's loop owns it. Poll wick_hub_fd() for reading with a timeout of
//     wick_hub_timeout_ms(), then call wick_hub_perform(), which never blocks. Callbacks run
//     only inside wick_hub_perform() (or a *_wait call) on that thread.
//   Threaded (opts.threaded): the hub runs the same loop on a thread it owns; callbacks run on
//     that thread. Do not call wick_hub_fd/timeout_ms/perform then.
// In both modes a hub-owned writer thread writes received bytes to disk and hashes them, so a
// slow disk never stalls the loop; it runs no callbacks. A perform does at most ~8 ms of body
// work before it returns (the rest stays with curl, paused, until the next perform).
// Starting work (wick_hub_download, wick_hub_list) returns at once with an id; completion comes
// through the callback (exactly once per id) and is visible through the fd. A start call that
// fails calls nothing back. The *_wait calls are the only ones that block.
//
// Threads. Embedded: every call from the loop's thread, except wick_hub_wakeup, wick_hub_cancel
// and wick_hub_progress, which are safe from any thread. Threaded: every call is safe from any
// thread, including from inside a callback (except wick_hub_destroy and the *_wait calls).
//
// Environment (read by wick_hub_create for the fields left NULL or -1): HF_ENDPOINT, HF_TOKEN
// (legacy HUGGING_FACE_HUB_TOKEN), HF_TOKEN_PATH, HF_HOME, HF_HUB_CACHE (legacy
// HUGGINGFACE_HUB_CACHE), XDG_CACHE_HOME, HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE),
// HF_HUB_DISABLE_IMPLICIT_TOKEN. The token is sent to the Hub's own origin only, never to the
// CDN a download is redirected to, and never appears in a message or a log line.
typedef struct wick_hub wick_hub;

typedef struct wick_hub_opts {
    const char *endpoint;    // NULL: $HF_ENDPOINT, else https://huggingface.co
    const char *cache_dir;   // NULL: the huggingface_hub cache (see above)
    const char *token;       // NULL: $HF_TOKEN, $HF_TOKEN_PATH or $HF_HOME/token; "": no token
    int offline;             // -1 (default): from HF_HUB_OFFLINE; 1: resolve from the cache only
    bool threaded;           // false (default): embedded mode; true: a hub-owned thread
    int max_transfers;       // transfers running at once (default 8); more wait in a queue
    int parts;               // a file of at least part_min_bytes is fetched as this many byte
                             // ranges at once (default 1: one stream per file; at most 64)
    uint64_t part_min_bytes; // default 256 MiB
    int connect_timeout_ms;  // default 10000
    int stall_timeout_ms;    // a transfer receiving nothing this long is retried (default 30000)
    int max_retries;         // retries of one file on 408/429/5xx and network errors (default 5)
    int backoff_ms;          // first retry delay, doubled each time (default 1000)
    int backoff_max_ms;      // delay cap (default 8000); Retry-After is honoured up to 60 s
    const char *user_agent;  // NULL: "wick/VERSION; hf_hub_c/VERSION"
} wick_hub_opts;

// Fills o with the defaults.
WICK_API void wick_hub_opts_init(wick_hub_opts *o);

// Creates a hub (and, when threaded, starts its thread). o NULL: defaults. Errors: INVALID,
// NOMEM, IO (epoll/eventfd/thread). Free with wick_hub_destroy().
WICK_API wick_status wick_hub_create(const wick_hub_opts *o, wick_hub **out);

// Stops the hub's threads, cancels every operation still running (their callbacks run with
// WICK_E_CANCELLED on the calling thread, in both modes) and frees the hub. NULL ok. Partial
// downloads stay in blobs/ETAG.incomplete for a later resume.
WICK_API void wick_hub_destroy(wick_hub *h);

// The result of one download, handed to its callback. Borrowed: valid during the callback only.
typedef struct wick_hub_file {
    uint64_t id;
    wick_status status;      // WICK_OK, or the error (message in `message`)
    const char *message;     // "" on success; else what wick_errmsg() would have said
    const char *repo;        // "org/name"
    const char *file;        // path inside the repo
    const char *revision;    // as asked ("main", a tag, a commit)
    const char *commit;      // 40-hex commit it resolved to ("" if unknown)
    const char *path;        // absolute snapshot path (OK only): snapshots/COMMIT/FILE
    const char *etag;        // blob name ("" if unknown)
    const char *sha256;      // 64 hex for LFS files; NULL for plain git files
    uint64_t size;           // bytes
    bool cached;             // true when no bytes had to be transferred
} wick_hub_file;
typedef void (*wick_dl_cb)(const wick_hub_file *f, void *ud);

// Starts fetching FILE of REPO ("org/name") at REV (NULL: "main"; a branch, tag or 40-hex
// commit) into the cache. The strings are copied. Returns at once; *id names the download. cb
// (may be NULL) runs exactly once when it ends. Errors (cb never runs): INVALID (bad repo id, a
// path that leaves the repo: "..", absolute, backslash, NUL), NOMEM.
// Completion errors: REPO_NOT_FOUND, ENTRY_NOT_FOUND, REVISION_NOT_FOUND, GATED, UNAUTHORIZED,
// CHECKSUM, NETWORK, HTTP, NOSPACE, IO, OFFLINE (offline and not cached), CANCELLED, FORMAT.
WICK_API wick_status wick_hub_download(wick_hub *h, const char *repo, const char *rev,
                                       const char *file, wick_dl_cb cb, void *ud, uint64_t *id);

// One file of a repository listing.
typedef struct wick_hub_entry {
    const char *path;        // "Q4_K_M/x-00001-of-00002.gguf"
    uint64_t size;
    const char *oid;         // git blob sha1
    const char *sha256;      // LFS sha256, NULL for plain git files
} wick_hub_entry;
// Borrowed: valid during the callback only.
typedef struct wick_hub_listing {
    uint64_t id;
    wick_status status;
    const char *message;
    const char *repo, *revision;
    const char *commit;      // the commit the revision resolved to
    size_t n_entries;        // files only (no directories), in the Hub's order
    const wick_hub_entry *entries;
} wick_hub_listing;
typedef void (*wick_list_cb)(const wick_hub_listing *l, void *ud);

// Starts listing every file of REPO at REV (recursive tree API, following its pagination) and
// records refs/REV and trees/COMMIT.json (huggingface_hub's listing cache) in the cache.
// Offline, it answers from trees/COMMIT.json, or fails with OFFLINE.
// Errors and callback rule as wick_hub_download. A listed path that would leave the repo fails
// the listing with FORMAT.
WICK_API wick_status wick_hub_list(wick_hub *h, const char *repo, const char *rev,
                                   wick_list_cb cb, void *ud, uint64_t *id);

// Cancels operation id (0: all). Its callback then runs with WICK_E_CANCELLED (unless it already
// finished). Thread: any. Errors: NOT_FOUND when no such operation is running.
WICK_API wick_status wick_hub_cancel(wick_hub *h, uint64_t id);

// Makes wick_hub_fd() readable (the caller's loop wakes up). Thread: any.
WICK_API void wick_hub_wakeup(wick_hub *h);

// Embedded mode: a file descriptor to poll for reading (it is an epoll fd grouping the sockets,
// a timer and a wakeup event). Valid until wick_hub_destroy. -1 in threaded mode.
WICK_API int wick_hub_fd(const wick_hub *h);
// Embedded mode: the longest the caller may wait before calling wick_hub_perform (-1: no limit
// other than the fd; 0: call it now).
WICK_API int wick_hub_timeout_ms(const wick_hub *h);
// Embedded mode: does whatever is ready without blocking (reads sockets, writes files, starts
// queued transfers, runs callbacks). *n_running (may be NULL): operations not finished yet.
// Errors: INVALID in threaded mode; IO when the loop itself fails.
WICK_API wick_status wick_hub_perform(wick_hub *h, int *n_running);

// Blocks until operation id (0: every operation) has finished and its callback has returned, or
// timeout_ms passes (-1: no limit). Embedded mode: runs the loop itself. Returns WICK_OK, or
// TIMEOUT when timeout_ms passes first. Not from inside a callback.
WICK_API wick_status wick_hub_wait(wick_hub *h, uint64_t id, int timeout_ms);

// Progress of download id, or with id 0 the aggregate of every download not yet reported.
typedef struct wick_hub_progress_info {
    uint64_t bytes_done;     // in the cache or the temp file (a resumed prefix counts)
    uint64_t bytes_total;    // 0 while unknown
    double rate;             // bytes per second over the last few seconds
    int n_active;            // transfers running
    int n_queued;            // waiting for a slot, a lock or a retry
    int n_done;              // finished (any status) since the hub was created
    int n_failed;
} wick_hub_progress_info;
// Thread: any. Errors: NOT_FOUND (no such running download).
WICK_API wick_status wick_hub_progress(wick_hub *h, uint64_t id, wick_hub_progress_info *out);

// True when path matches pattern with the rules of Python's fnmatch.fnmatchcase (what
// huggingface_hub's allow_patterns use): `*` any run of characters, `/` included; `?` one
// character; `[abc]`, `[a-z]`, `[!x]` a set. Case-sensitive. A pattern ending in `/` matches
// everything below that folder.
WICK_API bool wick_hub_glob_match(const char *pattern, const char *path);

// The cache directory the hub would use (opts as for wick_hub_create). Free with wick_free().
WICK_API wick_status wick_hub_cache_dir(const wick_hub_opts *o, char **out);

// One cached repository, for `wick ls`. Borrowed: valid during the callback only.
typedef struct wick_hub_cached_repo {
    const char *repo;        // "org/name"
    const char *kind;        // "model", "dataset", "space"
    const char *dir;         // its folder in the cache
    uint64_t size_on_disk;   // blobs (and any regular files) in bytes
    size_t n_files;          // snapshot entries over every revision
    size_t n_refs;
    const char *const *refs;      // names of refs/ files ("main", "v1.0")
    const char *const *ref_commits; // their commits
    size_t n_snapshots;
    const char *const *snapshots; // commit folders under snapshots/
} wick_hub_cached_repo;
typedef void (*wick_hub_scan_cb)(const wick_hub_cached_repo *r, void *ud);

// Calls cb once per repository in the cache dir (NULL: the default), sorted by name. Blocking,
// local only. Errors: IO, NOMEM. A missing cache dir lists nothing.
WICK_API wick_status wick_hub_cache_scan(const char *cache_dir, wick_hub_scan_cb cb, void *ud);

// Removes REPO's whole folder from the cache (cache_dir NULL: the default) after taking, without
// waiting, the lock of every blob being written. Errors: NOT_FOUND (not cached), BUSY (a download
// of it is running), INVALID (bad repo id), IO.
WICK_API wick_status wick_hub_cache_remove(const char *cache_dir, const char *repo);

// =================================================================================================
// 7. Sampling, stop conditions, generation                     (section owned by src/sample)
// =================================================================================================
//
// A wick_sampler picks the next token from a position's logits through llama.cpp's chain, in this
// order (each step sees what the previous one left):
//   logit bias   logit[id] += bias                                  (the listed ids only)
//   penalties    over the last penalty_last_n accepted tokens, a token seen c > 0 times gets
//                logit = logit > 0 ? logit / repeat : logit * repeat, then
//                logit -= c * frequency + presence
//   top-k        keep the k largest logits
//   typical-p    keep the tokens whose surprise -log p is closest to the entropy H = -sum p log p,
//                fewest first, until their mass exceeds typical_p
//   top-p        keep the most likely tokens until their mass reaches top_p
//   min-p        keep the tokens with p >= min_p * p_max
//   temperature  logit /= temperature; at temperature <= 0 only the largest logit stays (greedy)
//   draw         one token from softmax(logits) with the sampler's own random generator
// p is the softmax of the tokens still in play at that step (top-p after top-k renormalises over
// the k). Ties between equal logits go to the lower id everywhere, so greedy sampling is argmax
// with the lowest id first, as `wick eval --generate` does. Each filter keeps at least min_keep
// (and at least one) tokens. A sampler is deterministic: the same seed, options, logits and
// accepted tokens give the same draws on any machine and thread count (sampling is single-threaded
// and uses no global state).
// Cost over a 163,840-entry vocabulary (bench/bench_sample): the default chain and greedy each well
// under a millisecond (top-k is a single selection pass; no step sorts the whole vocabulary).
// Thread: one thread at a time per sampler; samplers are independent of each other.

typedef struct wick_sampler wick_sampler;

// a seed from the system's entropy (wick_sampler_seed says which)
#define WICK_SEED_RANDOM UINT64_MAX
#define WICK_MAX_TOP_LOGPROBS 20    // OpenAI's limit for top_logprobs

typedef struct wick_logit_bias {
    int32_t id;
    float bias; // added to the logit; -INFINITY bans the token
} wick_logit_bias;

typedef struct wick_sampler_opts {
    float temperature;       // 0.8; <= 0: greedy
    int32_t top_k;           // 40; <= 0: off
    float top_p;             // 0.95; >= 1: off
    float min_p;             // 0.05; <= 0: off
    float typical_p;         // 1.0; >= 1: off
    int32_t penalty_last_n;  // 64 accepted tokens the penalties look at; 0: off (at most 1 << 20)
    float repeat_penalty;    // 1.0 (off)
    float frequency_penalty; // 0.0 (off)
    float presence_penalty;  // 0.0 (off)
    int32_t min_keep;        // 0: each filter keeps at least this many tokens (and at least 1)
    uint64_t seed;           // WICK_SEED_RANDOM
    bool logprobs;           // report the sampled token's log-probability (default false)
    int top_logprobs;        // and the n most likely tokens' (0..WICK_MAX_TOP_LOGPROBS; default 0)
    const wick_logit_bias *logit_bias; // n_logit_bias entries (copied at create); default none
    size_t n_logit_bias;
} wick_sampler_opts;

// Fills o with llama.cpp's defaults (the values above).
WICK_API void wick_sampler_opts_init(wick_sampler_opts *o);

// One token and its log-probabilities. The log-probabilities are those of the model's own
// distribution, log softmax(logits) before bias, penalties, filters and temperature (what OpenAI's
// logprobs report); they are filled only when the sampler's options ask for them.
typedef struct wick_logprob {
    int32_t id;
    float logprob;
} wick_logprob;
typedef struct wick_sample {
    int32_t id;      // the token drawn
    float logprob;   // its log-probability (logprobs or top_logprobs > 0), else 0
    int n_top;       // entries in top: top_logprobs (fewer when the vocabulary is smaller)
    wick_logprob top[WICK_MAX_TOP_LOGPROBS]; // most likely first, equal ones by id
} wick_sample;

// Creates a sampler for logits of n_vocab entries (o NULL: defaults). Cheap: a few small
// allocations; scratch for the whole vocabulary is allocated on the first call that needs it
// (top-k off). Errors: WICK_E_INVALID (n_vocab < 1, a NaN or out-of-range option,
// a logit-bias id outside [0, n_vocab)), WICK_E_NOMEM. Free with wick_sampler_destroy().
WICK_API wick_status wick_sampler_create(const wick_sampler_opts *o, int32_t n_vocab,
                                         wick_sampler **out);
WICK_API void wick_sampler_destroy(wick_sampler *s); // NULL ok

// Draws a token from logits (n_vocab floats; NaN and -inf entries are never drawn). Does not
// record the token: call wick_sampler_accept() with the token the sequence really continues with.
// Errors: WICK_E_INVALID (NULL argument; no finite logit left), WICK_E_NOMEM (first full-vocabulary
// scratch). out->id is -1 on failure.
WICK_API wick_status wick_sampler_sample(wick_sampler *s, const float *logits, wick_sample *out);

// Records tokens of the sequence (the prompt's, then each generated one) for the penalties. Ids
// outside [0, n_vocab) are ignored.
WICK_API void wick_sampler_accept(wick_sampler *s, const int32_t *ids, size_t n);

// Forgets the accepted tokens and restarts the random generator from the seed.
WICK_API void wick_sampler_reset(wick_sampler *s);

// The seed in use (the drawn one when the options said WICK_SEED_RANDOM).
WICK_API uint64_t wick_sampler_seed(const wick_sampler *s);

// --- stop conditions and incremental detokenizing ---
//
// A wick_stopper follows one generated sequence: it turns each token into text (whole UTF-8
// characters only, through the tokenizer's streaming decoder) and decides when generation ends:
//   - an end-of-generation token (wick_token_is_eog: eos, eot, eom, <|im_end|>, <|eot_id|>,
//     <|end|>, <|endoftext|>, [EOS], [EOT], </s> ...), unless ignore_eos; its text is not emitted;
//   - a stop string, matched in the text across token boundaries: text that might be the start
//     of a stop string is held back until it is decided, so nothing is emitted and then taken
//     back; the stop string and whatever follows it are not emitted;
//   - max_tokens tokens pushed.
// Thread: one thread at a time per stopper; the tokenizer must stay open.

typedef struct wick_stopper wick_stopper;

typedef enum wick_stop_reason {
    WICK_STOP_NONE = 0,   // not stopped yet
    WICK_STOP_EOG = 1,    // an end-of-generation token
    WICK_STOP_STRING = 2, // a stop string (wick_stopper_stop_index says which)
    WICK_STOP_LENGTH = 3, // max_tokens reached
    WICK_STOP_FLUSHED = 4, // the caller ended it (wick_stopper_flush)
} wick_stop_reason;

#define WICK_MAX_STOP_STRINGS 16  // OpenAI allows 4; llama-server more
#define WICK_MAX_STOP_BYTES 1024  // per stop string

typedef struct wick_stopper_opts {
    const char *const *stop; // n_stop stop strings (copied; empty ones are ignored); default none
    size_t n_stop;
    int64_t max_tokens;      // tokens to push at most; default -1: no limit
    bool ignore_eos;         // end-of-generation tokens do not stop (nor print) (default false)
    bool skip_special;       // special tokens print nothing (default false: their text is printed,
                             // which the reasoning parser needs for <think> and tool-call markers)
} wick_stopper_opts;
WICK_API void wick_stopper_opts_init(wick_stopper_opts *o);

// Errors: WICK_E_INVALID (too many or too long stop strings, invalid UTF-8 in one), WICK_E_NOMEM.
// Free with wick_stopper_destroy().
WICK_API wick_status wick_stopper_create(const wick_tokenizer *tk, const wick_stopper_opts *o,
                                         wick_stopper **out);
WICK_API void wick_stopper_destroy(wick_stopper *s); // NULL ok

// Pushes the next generated token. *text / *len: the text that is now final (whole UTF-8; often
// empty). Returns WICK_OK to go on, WICK_DONE when the sequence ends with this token (the text
// then includes everything held back that is not part of a stop string), or an error
// (WICK_E_RANGE for an id outside the vocabulary). Pushing after WICK_DONE returns WICK_DONE with
// no text. Borrowed: *text is valid until the next call on s.
WICK_API wick_status wick_stopper_push(wick_stopper *s, int32_t id, const char **text, size_t *len);
// Ends the sequence for a reason of the caller's (cancel, context full): releases the held text
// (a dangling incomplete character becomes U+FFFD). Returns WICK_DONE (also when already done:
// then no text).
WICK_API wick_status wick_stopper_flush(wick_stopper *s, const char **text, size_t *len);
WICK_API wick_stop_reason wick_stopper_reason(const wick_stopper *s);
// Which stop string matched (index into the options' list), -1 unless WICK_STOP_STRING.
WICK_API int wick_stopper_stop_index(const wick_stopper *s);
WICK_API int64_t wick_stopper_n_tokens(const wick_stopper *s); // tokens pushed
// Forgets the sequence (for reuse with the same options).
WICK_API void wick_stopper_reset(wick_stopper *s);

// --- a single-sequence generation loop ---
//
// wick_generator runs one sequence on a session: it samples from the session's last logits,
// applies the stop conditions, and feeds each token back. It is the loop behind `wick run` and
// `wick eval --generate`; batched, streaming completions build on the sampler and stopper directly.
// Thread: one thread at a time; the session, model and tokenizer must outlive it.

typedef struct wick_generator wick_generator;

typedef struct wick_gen_step {
    int32_t id;              // the token generated
    const char *text;        // text now final (see wick_stopper_push); "" without a tokenizer.
    size_t len;              // Borrowed: valid until the next call on the generator
    wick_sample sample;      // log-probabilities, when the sampler options ask for them
    wick_stop_reason stop;   // WICK_STOP_NONE, or why this was the last token
} wick_gen_step;

// s: a session holding the prompt (or use wick_generator_prompt). tk may be NULL: then no text,
// no end-of-generation tokens and no stop strings, only max_tokens (as `wick eval --generate`).
// so/sto: NULL for defaults. Errors: those of wick_sampler_create / wick_stopper_create.
WICK_API wick_status wick_generator_create(wick_session *s, const wick_tokenizer *tk,
                                           const wick_sampler_opts *so,
                                           const wick_stopper_opts *sto, wick_generator **out);
WICK_API void wick_generator_destroy(wick_generator *g); // NULL ok

// Evaluates the prompt tokens on the session (after what it holds) and records them for the
// penalties. Errors: those of wick_session_eval.
WICK_API wick_status wick_generator_prompt(wick_generator *g, const int32_t *ids, size_t n);

// Generates one token: samples it from the session's last logits, pushes it through the stop
// conditions and, unless the sequence ended, evaluates it so that the next call has logits.
// Returns WICK_OK with a step, WICK_DONE with the last step (out->stop says why), WICK_DONE with
// out->id -1 when called after the end (or max_tokens is 0), or an error (from the session: e.g.
// WICK_E_RANGE when the context is full, WICK_E_CANCELLED; the generator is done then).
WICK_API wick_status wick_generator_next(wick_generator *g, wick_gen_step *out);

// The sampler and stopper it uses (e.g. for wick_sampler_seed). Borrowed.
WICK_API wick_sampler *wick_generator_sampler(wick_generator *g);
WICK_API wick_stopper *wick_generator_stopper(wick_generator *g);

// =================================================================================================
// 8. Completion streams and the model registry                      (section owned by src/gen)
// =================================================================================================
//
// A registry runs models by name. wick_stream_start() takes a request (a model spec and a
// prompt, token ids or chat messages) and returns a stream at once; the registry then fetches
// the model from the Hub, loads it and generates, while the caller's thread stays free. What
// happens arrives as chunks: progress, reasoning text, content text, tool calls, an error, and
// always a last `done` chunk with the finish reason, usage and timings. Runtime failures never
// fail wick_stream_start(): they are an error chunk followed by `done` (finish reason error).
//
// MODEL SPECS. A model is named as Ollama and llama.cpp users write it:
//   path/to/model.gguf             a file that exists (any shard of a split model)
//   OWNER/REPO                     the repo's only GGUF or split set; with several, the Q4_K_M
//                                  one, else an error listing the quantizations the repo has
//   OWNER/REPO:TAG                 the GGUF (or split set, also inside a folder) whose path
//                                  carries the tag, case-insensitive: "x-q4_k_m.gguf",
//                                  "Q4_K_M/x-Q4_K_M-00001-of-00003.gguf" for TAG Q4_K_M
//   OWNER/REPO@REVISION[:TAG]      a branch, tag or commit (default "main")
// A leading "hf.co/" or "huggingface.co/" is ignored. A tag matching no file, or several, is an
// error listing the candidates. Files whose name contains "mmproj" are never chosen.
// The tokenizer is the GGUF's vocabulary unless the request names another: a tokenizer.json
// file, a folder holding one, or OWNER/REPO[@REV] whose tokenizer.json (and
// tokenizer_config.json when the repo has one) is fetched. The chat template is the request's,
// else the GGUF's tokenizer.chat_template, else tokenizer_config.json's chat_template.
//
// THE REGISTRY. The first request for a model starts one load: resolve (list the repo) ->
// download (the Hub client, into the Hugging Face cache) -> open and validate the GGUF ->
// tokenizer and template -> ready. Requests for a model being loaded share that load (one
// download) and each receives its progress. Loaded models are reference-counted by their
// streams; a model without streams is unloaded after opts.idle_unload_ms, or earlier when a new
// model needs room under opts.memory_budget / opts.max_models (least recently used first). A
// failed load is reported to every request waiting for it and is not remembered: the next
// request tries again. Models are keyed by (spec, tokenizer spec): two spellings of one spec
// that resolve to the same file are two models.
//
// THREADS. The registry owns a thread that drives the Hub client and loads, and one scheduler
// thread per loaded model, which owns the model's compute thread pool (so two models, or two
// registries, compute at the same time). The scheduler steps every active stream of its model
// in one batched forward pass (continuous batching: streams join and leave between steps, each
// with its own KV cache space of n_ctx positions) and reuses the KV cache of the longest common
// prompt prefix of a finished sequence (a multi-turn chat does not recompute the conversation).
// A registry's functions are safe from any thread. A stream is used by one thread at a time,
// except wick_stream_cancel(), which is safe from any thread at any time.
//
// BEING TOLD. Each stream says when it has chunks in one of three ways, chosen per request:
//   1. Poll wick_stream_fd() for reading (epoll, libuv, a GUI loop) and call
//      wick_stream_next(st, 0, &c), which never blocks: WICK_OK with a chunk, or WICK_AGAIN.
//   2. Call wick_stream_next(st, timeout_ms, &c), which blocks up to timeout_ms (-1: no limit).
//   3. Set request.on_chunk: every chunk is handed to it on a registry thread (the registry's
//      thread during the load, the model's scheduler thread afterwards; never two at once for one
//      stream, in order). wick_stream_next() and wick_stream_fd() are then not used.
//
//   wick_registry *reg; wick_registry_create(NULL, &reg);
//   wick_request rq; wick_request_init(&rq);
//   rq.model = "unsloth/Phi-4-reasoning-GGUF:Q4_K_M";
//   wick_message msg = {.role = "user", .content = "What is 12 + 7?"};
//   rq.messages = &msg; rq.n_messages = 1;
//   wick_stream *st; wick_stream_start(reg, &rq, &st);
//   const wick_chunk *c;
//   while (wick_stream_next(st, -1, &c) == WICK_OK) {
//       if (c->type == WICK_CHUNK_CONTENT) fwrite(c->text, 1, c->len, stdout);
//   }   // the last chunk was WICK_CHUNK_DONE; the call after it returns WICK_DONE
//   wick_stream_free(st); wick_registry_destroy(reg);

typedef struct wick_registry wick_registry;
typedef struct wick_stream wick_stream;

typedef struct wick_registry_opts {
    wick_hub_opts hub;        // the Hub client the registry creates (its thread drives it;
                              // hub.threaded is ignored). Defaults: wick_hub_opts_init().
    uint64_t memory_budget;   // bytes of weights (file size) + KV caches loaded at once
                              // (default 0: no limit). A model larger than it alone fails with
                              // WICK_E_NOSPACE; otherwise idle models are unloaded to make room,
                              // and a load waits (progress stage "queued") while busy ones fill it
    int max_models;           // models loaded at once (default 3; 0: no limit)
    int idle_unload_ms;       // a model without streams is unloaded after this long
                              // (default 300000; 0: at once; -1: never)
    int n_threads;            // compute threads per model (default 0: the number of CPUs)
    int64_t n_ctx;            // positions of one sequence's KV cache (default 0: the model's
                              // context length, at most 8192)
    int n_seq;                // sequences a model computes at once (default 4, at most 64);
                              // more streams wait for a free one
    int64_t n_batch;          // most prompt tokens one forward pass takes (default 512)
    wick_kv_type kv_type;     // default WICK_KV_F32
    bool prefix_cache;        // reuse the KV cache of a common prompt prefix (default true)
    wick_model_opts model;    // how each model is opened (defaults: wick_model_opts_init())
    // Called on the model's thread after the registry creates a session (created true; a
    // failure fails the stream that needed it) and before it destroys one (created false), e.g.
    // wick_dist_session_hook (section 10). Default NULL: none.
    wick_status (*session_hook)(void *ctx, wick_session *s, bool created);
    void *session_ctx;
} wick_registry_opts;

// Fills o with the defaults.
WICK_API void wick_registry_opts_init(wick_registry_opts *o);

// Creates a registry and starts its thread (o NULL: defaults). Errors: INVALID (bad option),
// NOMEM, IO (eventfd, thread), and wick_hub_create()'s. Free with wick_registry_destroy().
WICK_API wick_status wick_registry_create(const wick_registry_opts *o, wick_registry **out);

// Cancels every stream (each still gets its `done` chunk, finish reason cancelled; callbacks
// run before this returns), stops the threads, unloads every model and frees the registry.
// Streams stay valid until wick_stream_free(). NULL ok. Not from inside a callback.
WICK_API void wick_registry_destroy(wick_registry *r);

// A snapshot of what a registry holds (for tests, status pages and /v1/models-style listings).
typedef struct wick_registry_info {
    int n_models;             // loaded or loading
    int n_loading;            // of which still resolving, downloading or opening
    int n_streams;            // streams not finished yet
    uint64_t n_loads;         // loads started since create (one per single-flight group)
    uint64_t memory_bytes;    // what the loaded models count against memory_budget
    uint64_t n_passes;        // forward passes the models' schedulers ran since create
    int max_pass_streams;     // the most streams one pass carried (continuous batching)
} wick_registry_info;
// Thread: any.
WICK_API wick_status wick_registry_info_get(wick_registry *r, wick_registry_info *out);

// One chat message. Strings are UTF-8 and copied by wick_stream_start().
typedef struct wick_message {
    const char *role;         // "system", "user", "assistant", "tool"
    const char *content;      // NULL: none
    const char *reasoning_content; // assistant: its thinking, or NULL
    const char *tool_calls;   // assistant: JSON array of OpenAI tool calls
                              // [{"id":..,"type":"function","function":{"name":..,"arguments":..}}]
    const char *tool_call_id; // tool: the call this answers
    const char *name;         // tool: the function's name
} wick_message;

typedef enum wick_chunk_type {
    WICK_CHUNK_PROGRESS = 0,  // stage, done, total
    WICK_CHUNK_REASONING = 1, // text: thinking (between <think> and </think>, tags not included)
    WICK_CHUNK_CONTENT = 2,   // text: the answer
    WICK_CHUNK_TOOL_CALL = 3, // tool_index, tool_id, tool_name, tool_arguments (whole call)
    WICK_CHUNK_ERROR = 4,     // code, message; a `done` chunk follows
    WICK_CHUNK_DONE = 5,      // always last: finish_reason, usage, timings, ids
} wick_chunk_type;

typedef enum wick_finish_reason {
    WICK_FINISH_NONE = 0,     // (not a done chunk)
    WICK_FINISH_STOP = 1,     // an end-of-generation token or a stop string
    WICK_FINISH_LENGTH = 2,   // max_tokens, or the context is full
    WICK_FINISH_TOOL_CALLS = 3, // the model called tools and stopped
    WICK_FINISH_CANCELLED = 4, // wick_stream_cancel(), wick_stream_free() or registry destroy
    WICK_FINISH_ERROR = 5,    // after an error chunk
} wick_finish_reason;

// "progress", "reasoning", "content", "tool_call", "error", "done"; NULL for a bad value.
WICK_API const char *wick_chunk_type_name(wick_chunk_type t);
// "stop", "length", "tool_calls", "cancelled", "error"; NULL for WICK_FINISH_NONE or a bad value.
WICK_API const char *wick_finish_reason_name(wick_finish_reason f);

typedef struct wick_usage {
    int64_t prompt_tokens;    // the whole prompt, cached part included
    int64_t completion_tokens; // generated tokens (reasoning included)
    int64_t reasoning_tokens; // generated tokens of the think block (a closing </think> included)
    int64_t cached_tokens;    // prompt tokens whose KV cache was reused
} wick_usage;

// llama-server's timing names (prompt_* = prefill of the tokens not cached, predicted_* =
// decode) plus load and first-token times. Milliseconds from wick_stream_start().
typedef struct wick_timings {
    double load_ms;           // until the model was ready for this stream (0: already loaded)
    int64_t prompt_n;
    double prompt_ms, prompt_per_second;
    int64_t predicted_n;
    double predicted_ms, predicted_per_second;
    double first_token_ms;    // until the first generated token (0: none)
} wick_timings;

// One token with its log-probability (natural log of the model's softmax before sampling
// settings) and its bytes (which may be part of a UTF-8 character; not NUL-terminated).
typedef struct wick_token_logprob {
    int32_t id;
    float logprob;
    const char *bytes;
    size_t n_bytes;
} wick_token_logprob;

// One chunk. Borrowed: valid until the next wick_stream_next() or wick_stream_free() on its
// stream (in callback mode: during the callback). Fields outside the chunk's kind are zero/NULL.
typedef struct wick_chunk {
    wick_chunk_type type;
    // PROGRESS
    const char *stage;        // "queued", "resolve", "download" (bytes), "load", "prefill"
                              // (tokens); the same stage may repeat with growing `done`
    uint64_t done, total;     // total 0: unknown
    // REASONING, CONTENT: whole UTF-8 characters, NUL-terminated (len excludes the NUL)
    const char *text;
    size_t len;
    // REASONING, CONTENT with sampling.logprobs (or top_logprobs > 0): the sampled tokens this
    // text came from, in order (a token whose bytes complete a character later belongs to the
    // chunk that emits them), and for token i its sampling.top_logprobs most likely
    // alternatives top[i * n_top .. + n_top).
    size_t n_tokens;
    const wick_token_logprob *tokens;
    int n_top;
    const wick_token_logprob *top;
    // TOOL_CALL: one whole call; index counts the calls of this stream from 0
    int tool_index;
    const char *tool_id;      // "call_<n>" unless the model gave one
    const char *tool_name;
    const char *tool_arguments; // JSON object text as the model wrote it
    // ERROR
    wick_status code;         // a WICK_E_* code
    const char *message;      // names the file, URL, field or spec, as wick_errmsg() does
    // DONE
    wick_finish_reason finish_reason;
    wick_usage usage;
    wick_timings timings;
    size_t n_ids;             // every generated token id, in order (EOG included when it ended
    const int32_t *ids;       // the stream), also with logprobs off
} wick_chunk;

typedef void (*wick_chunk_cb)(wick_stream *st, const wick_chunk *c, void *ud);

// A request. Strings and arrays are copied by wick_stream_start(): they need not outlive it.
typedef struct wick_request {
    const char *model;        // model spec (required)
    const char *tokenizer;    // tokenizer spec, or NULL: the GGUF's vocabulary
    const char *chat_template; // Jinja template text overriding the model's, or NULL
    // The prompt: exactly one of the three.
    const char *prompt;       // raw text: tokenized with special-token text recognised, BOS as
                              // the vocabulary says; no template
    const int32_t *tokens;    // ids, used as they are (no template, no BOS added)
    size_t n_tokens;
    const wick_message *messages; // chat: rendered with the chat template + generation prompt
    size_t n_messages;
    const char *tools;        // chat: JSON array of OpenAI tool definitions, or NULL
    // Generation
    int64_t max_tokens;       // tokens to generate at most (default -1: until the context is full)
    bool ignore_eos;          // do not stop at end-of-generation tokens
    int think;                // chat: -1 (default) as the template does, 0 off, 1 on
    int64_t reasoning_budget; // reasoning tokens after which </think> is forced (-1: no limit)
    const char *const *stop;  // stop strings: generation ends before the first match, which is
    size_t n_stop;            // not emitted (up to WICK_MAX_STOP_STRINGS of WICK_MAX_STOP_BYTES)
    wick_sampler_opts sampling; // section 7's chain; logprobs / top_logprobs fill chunk tokens
    // Being told (see BEING TOLD above)
    wick_chunk_cb on_chunk;   // NULL (default): poll the fd or block in wick_stream_next
    void *ud;
} wick_request;

// Fills r with the defaults (everything NULL/0 but max_tokens -1, think -1, reasoning_budget -1
// and wick_sampler_opts_init()'s sampling).
WICK_API void wick_request_init(wick_request *r);

// Starts a stream for request q and returns it at once in *out; the work happens on the
// registry's threads. Errors (nothing started, no chunk will come): INVALID (r, q or out NULL,
// no model spec, not exactly one prompt form, a bad option value: named), NOMEM, IO (no
// eventfd). Everything else (a bad spec, Hub errors, a corrupt GGUF, a template error, a prompt
// longer than the context) is an error chunk then `done`. Free with wick_stream_free().
WICK_API wick_status wick_stream_start(wick_registry *r, const wick_request *q, wick_stream **out);

// A file descriptor that is readable while wick_stream_next() has a chunk to give (or the stream
// has ended and WICK_DONE is due). Level-triggered: it stays readable until the chunks are taken.
// Valid until wick_stream_free(). -1 in callback mode.
WICK_API int wick_stream_fd(const wick_stream *st);

// The next chunk: WICK_OK and *out (borrowed until the next call on st), WICK_DONE once the
// `done` chunk has been taken, or WICK_AGAIN when none came within timeout_ms (0: do not wait;
// -1: no limit). Errors: INVALID (callback mode, NULL argument). Thread: one at a time per stream.
WICK_API wick_status wick_stream_next(wick_stream *st, int timeout_ms, const wick_chunk **out);

// Ends the stream as soon as possible, wherever it is (waiting for a load, prefill, decode):
// a `done` chunk with finish reason cancelled follows promptly (chunks already queued stay in
// front of it). No effect on an ended stream. Thread: any, at any time before wick_stream_free().
WICK_API void wick_stream_cancel(wick_stream *st);

// Cancels the stream if it has not ended and releases it; no callback runs after it returns
// (except one already running on another thread, which may finish). Safe at any point, also
// from inside its own callback. NULL ok.
WICK_API void wick_stream_free(wick_stream *st);

// The name of a status for scripts and JSON ("invalid", "not_found", "repo_not_found", ...:
// the WICK_E_ name without the prefix, lower case; "ok", "done", "again"). Never NULL.
WICK_API const char *wick_status_name(wick_status rc);

// =================================================================================================
// 9. Chat templates                                                 (section owned by src/chat)
// =================================================================================================
//
// A chat model's prompt is its chat template (Jinja) rendered over the conversation. wick renders
// templates as Hugging Face transformers' apply_chat_template does: Python jinja2 in an
// ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the loopcontrols extension
// (break, continue), transformers' {% generation %} tag (its body renders), its tojson filter
// (json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False): non-ASCII
// kept, ", " and ": " separators, keys in the order given) and its globals raise_exception(msg)
// and strftime_now(format). Values print as Python prints them (True, None, 1.0, {'a': [1, 'b']});
// an undefined variable is falsy and prints as nothing, but using it otherwise (an attribute of
// it, arithmetic, calling it) is an error, as jinja2's default Undefined.
//
// Supported: if/elif/else; for (loop.index, index0, revindex, revindex0, first, last, length,
// previtem, nextitem, depth, cycle(), changed(), else, "for x in xs if cond", unpacking,
// recursive loops); set (names, tuples, namespace attributes, block form with filters); macro
// (defaults, varargs, kwargs, caller) and call; filter blocks; with; break/continue; comments;
// raw; whitespace control {%- -%} {{- -}} {#- -#} and {%+ +%}. Expressions: literals (strings
// with Python escapes, ints, floats, lists, dicts, tuples), + - * / // % ** ~, comparisons
// (chained), in / not in, and/or/not, a if b else c, .attr, [item], [a:b:step], calls with
// keyword arguments. Tests: defined undefined none string number integer float boolean true false
// mapping iterable sequence callable even odd divisibleby equalto (eq ==) ne gt ge lt le in
// sameas lower upper escaped filter test. Filters: trim tojson length count items list string int
// float upper lower title capitalize replace default (d) join first last map select reject
// selectattr rejectattr unique sort dictsort reverse indent safe escape (e) abs round sum min max
// batch attr format center truncate wordcount. Methods: str (strip lstrip rstrip split rsplit
// splitlines startswith endswith replace upper lower title capitalize swapcase format find rfind
// index rindex count join center ljust rjust zfill partition rpartition removeprefix removesuffix
// is*), dict (get items keys values copy), list/tuple (index count copy). Globals: range
// namespace dict raise_exception strftime_now. Not supported (an error when used): include,
// import, extends, block (no loader), and the rarely used filters groupby slice striptags
// urlencode urlize wordwrap xmlattr pprint random filesizeformat. Known differences: integers are
// 64-bit (overflow is an error); upper/lower use simple case mappings ('ß'.upper() stays 'ß').
//
// Limits (each failure names the limit): a template source of at most 16 MiB; blocks and
// expressions nested at most 200 deep in the source, evaluation (macro calls included) at most
// 1000 deep; values nested at most 1000 deep when printed or compared; range() at most 100000
// items (as jinja2's sandbox); and per render the options below: output size, memory, steps.
//
// Errors name the place: "NAME:LINE:COL: reason" (LINE and COL 1-based, COL in characters), NAME
// being the template's name (a path, "FILE.gguf:tokenizer.chat_template", ...). A template that
// does not parse fails to open with WICK_E_FORMAT ("t.jinja:3:12: expected '%}' to end the tag,
// got 'foo'"); a render fails with WICK_E_TEMPLATE (raise_exception's message is the reason; an
// undefined value used: "'dict object' has no attribute 'content'"), WICK_E_RANGE (a limit),
// WICK_E_FORMAT (the context is not a JSON object).
// Thread: a template is immutable once open; any number of threads may render it at once.

typedef struct wick_template wick_template;

// Compiles len bytes of template text (UTF-8); name is used in messages. *out is NULL on failure.
// Errors: FORMAT (syntax, invalid UTF-8: "NAME:LINE:COL: reason"), RANGE (too big), NOMEM.
// Close with wick_template_close().
WICK_API wick_status wick_template_open(const char *name, const char *src, size_t len,
                                        wick_template **out);
// A .jinja file (its path is the name). Errors as above, and IO.
WICK_API wick_status wick_template_open_file(const char *path, wick_template **out);
// The template of a GGUF file: tokenizer.chat_template, or tokenizer.chat_template.VARIANT when
// variant is not NULL nor "default". Its bos_token / eos_token defaults (see opts) are the texts of
// tokenizer.ggml.bos_token_id / eos_token_id in tokenizer.ggml.tokens, when present. The template
// copies what it needs; g may be closed afterwards. Errors: NOT_FOUND (no such template; the
// message lists the variants the file has), FORMAT.
WICK_API wick_status wick_template_open_gguf(const wick_gguf *g, const char *variant,
                                             wick_template **out);
// The template of a tokenizer_config.json: "chat_template" as a string (the variant "default"),
// or a list of {"name", "template"} (variant NULL means "default"); without that key, the files
// transformers saves beside it: chat_template.jinja, additional_chat_templates/VARIANT.jinja.
// bos_token / eos_token defaults from the config's bos_token / eos_token (a string or
// {"content": ...}). Errors: IO, FORMAT (bad JSON or layout), NOT_FOUND (no such variant, named
// with those the file has).
WICK_API wick_status wick_template_open_config(const char *path, const char *variant,
                                               wick_template **out);
WICK_API void wick_template_close(wick_template *t);

// Borrowed: valid while t is open.
WICK_API const char *wick_template_name(const wick_template *t);
WICK_API const char *wick_template_source(const wick_template *t, size_t *len); // as given
// The bos_token / eos_token defaults that came with the template (NULL when none).
WICK_API const char *wick_template_bos(const wick_template *t);
WICK_API const char *wick_template_eos(const wick_template *t);

#define WICK_TEMPLATE_MAX_OUTPUT ((size_t)64 << 20)   // bytes of rendered text
#define WICK_TEMPLATE_MAX_MEMORY ((size_t)512 << 20)  // bytes of values a render may build
#define WICK_TEMPLATE_MAX_STEPS ((uint64_t)20000000)  // statements, loop turns, calls, filters

typedef struct wick_template_opts {
    // Defaults for context keys the context lacks: bos_token, eos_token (NULL: the template's
    // own, see wick_template_bos; none when that is NULL too). A context key always wins.
    const char *bos_token;
    const char *eos_token;
    size_t max_output;  // the render fails with WICK_E_RANGE past these
    size_t max_memory;
    uint64_t max_steps;
    // strftime_now()'s clock: seconds since the Unix epoch, shown in the local time zone.
    // 0: the current time.
    int64_t now;
} wick_template_opts;

// Fills o with the defaults (WICK_TEMPLATE_MAX_*, no bos/eos override, now = 0).
WICK_API void wick_template_opts_init(wick_template_opts *o);

// Renders t. context: len bytes of one JSON object, whose keys are the template's variables, as
// given (for chat: "messages", "tools", "add_generation_prompt", "enable_thinking", "bos_token",
// ...; messages with string or [{"type": "text", "text": ...}] content, "tool_calls",
// "reasoning_content" are plain JSON to the template); NULL: no variables. o may be NULL.
// *out: the rendered text, NUL-terminated (it may itself contain NUL bytes: *out_len counts the
// bytes); free with wick_free(). *out is NULL on failure. Errors: see above.
WICK_API wick_status wick_template_render(const wick_template *t, const char *context, size_t len,
                                          const wick_template_opts *o, char **out,
                                          size_t *out_len);

// --- reasoning and tool-call parsing ---
//
// A wick_chat_parser splits a model's generated text, fed piece by piece as it streams, into
// typed pieces: reasoning (between <think> and </think>), content (the answer) and tool calls.
// Markers may arrive split across feeds at any byte; text that might begin a marker is held back
// until it is decided, so a piece is never taken back. Rules:
//   - reasoning starts at the think-open marker, or at once when the generation prompt already
//     opened it (think_open_in_prompt), and ends at the think-close marker or at a tool-call
//     section; it is trimmed of leading and trailing whitespace; only one reasoning block is
//     parsed: a think-open marker after it is content;
//   - text before the think-open marker is content (when it is only whitespace, it is dropped);
//     whitespace right after the think-close marker or a tool-call section is dropped; all other
//     content is given as generated;
//   - a reasoning block still open at the end (no think-close) is given as reasoning, followed by
//     a warning;
//   - Kimi K2 tool calls: <|tool_calls_section_begin|> then any number of
//     <|tool_call_begin|>ID<|tool_call_argument_begin|>ARGS<|tool_call_end|>, then
//     <|tool_calls_section_end|> (text between calls is content, trimmed of whitespace).
//     ID is "functions.NAME:INDEX" (NAME taken from it; a bare
//     "NAME:INDEX" also works); ARGS must be a JSON object. A call whose ID or ARGS is malformed,
//     or that is unterminated at the end, is given as content (its text as generated, markers
//     included) followed by a warning; it never fails the parse.
// Pieces are whole UTF-8 characters when the fed text is valid UTF-8 (an incomplete character at
// the end of a feed is held until the next).
// Thread: one thread at a time per parser.

typedef struct wick_chat_parser wick_chat_parser;

typedef enum wick_tool_style {
    WICK_TOOLS_NONE = 0,
    WICK_TOOLS_KIMI_K2 = 1, // <|tool_calls_section_begin|> ... (see above)
} wick_tool_style;

// Which markers a model uses. Strings are borrowed (static or the caller's) and copied by
// wick_chat_parser_create. All NULL / 0: no parsing, every byte is content.
typedef struct wick_chat_format {
    const char *think_open;    // "<think>", or NULL: no reasoning markers
    const char *think_close;   // "</think>"
    bool think_open_in_prompt; // the generation prompt ends inside an open think block
    bool think_closed_in_prompt; // the prompt already closed it (thinking off): all is content
    wick_tool_style tools;
} wick_chat_format;

// Derives the format from what the model ships, never from its file name:
//   tmpl (its chat template source, may be NULL): think markers when it mentions </think>, Kimi
//     K2 tool calls when it uses <|tool_calls_section_begin|> and <|tool_call_begin|>;
//   tk (may be NULL): think markers also when the vocabulary has tokens "<think>" and "</think>",
//     Kimi K2 tool calls when it has the five tool-call marker tokens;
//   gen_prompt (the rendered prompt, or its tail; may be NULL): ending in the think-open marker
//     (trailing whitespace aside) sets think_open_in_prompt, ending in "<think></think>" or the
//     think-close marker sets think_closed_in_prompt.
WICK_API void wick_chat_format_detect(const char *tmpl, const wick_tokenizer *tk,
                                      const char *gen_prompt, wick_chat_format *out);

typedef enum wick_chat_piece_kind {
    WICK_PIECE_CONTENT = 0,
    WICK_PIECE_REASONING = 1,
    WICK_PIECE_TOOL_CALL = 2,
    WICK_PIECE_WARNING = 3, // text: what was wrong (e.g. "tool call 0: arguments are not a JSON
                            // object: ..."); the affected text came as content just before
} wick_chat_piece_kind;

// One piece. Borrowed: valid until the next call on the parser.
typedef struct wick_chat_piece {
    wick_chat_piece_kind kind;
    const char *text;      // content, reasoning or warning text (NUL-terminated); "" for a call
    size_t len;
    const char *name;      // tool call: the function name; else NULL
    const char *arguments; // tool call: the arguments, a JSON object as generated (trimmed)
    const char *id;        // tool call: the model's call id ("functions.get_weather:0")
    int index;             // tool call: 0, 1, ... in the order of this output; else -1
} wick_chat_piece;

// Errors: WICK_E_INVALID (a marker empty or over 64 bytes), WICK_E_NOMEM.
// Free with wick_chat_parser_destroy().
WICK_API wick_status wick_chat_parser_create(const wick_chat_format *f, wick_chat_parser **out);
WICK_API void wick_chat_parser_destroy(wick_chat_parser *p); // NULL ok

// Feeds the next len bytes of generated text. Then take the pieces with wick_chat_parser_next.
// Errors: WICK_E_INVALID after finish, WICK_E_RANGE when the text held back (a tool call being
// collected) passes 16 MiB, WICK_E_NOMEM.
WICK_API wick_status wick_chat_parser_feed(wick_chat_parser *p, const char *text, size_t len);
// The text has ended: everything held back is decided (see the rules above).
WICK_API wick_status wick_chat_parser_finish(wick_chat_parser *p);
// The next piece: WICK_OK with *out, or WICK_DONE when none is ready (after finish: none will be).
WICK_API wick_status wick_chat_parser_next(wick_chat_parser *p, wick_chat_piece *out);
// Starts over with the same format (a new generation).
WICK_API void wick_chat_parser_reset(wick_chat_parser *p);
// True while the text fed so far ends inside the reasoning block (for counting reasoning tokens,
// or forcing the think-close marker when a reasoning budget runs out).
WICK_API bool wick_chat_parser_in_reasoning(const wick_chat_parser *p);

// =================================================================================================
// 10. Distributed evaluation            (section owned by src/dist; builds with -DWICK_MPI=ON)
// =================================================================================================
//
// One model spread over several processes (MPI ranks started by mpirun, on one or many machines),
// pipeline parallel: rank r computes a contiguous range of the model's layers and keeps their KV
// cache; hidden states go from rank to rank with MPI point-to-point messages. Rank 0 is the front:
// it embeds the tokens, runs its layers, and gets the last layer's output back to compute the
// logits, so its session behaves as a single-process one (wick_session_eval, wick_session_logits)
// and its logits are the single-process ones bit for bit. Other ranks only compute, in
// wick_dist_serve(). These functions exist only in builds with MPI (WICK_MPI).
//
//   every rank:  wick_dist_init(&d); wick_model_open(same file); wick_session_create(same opts);
//                wick_dist_pipeline(d, s, NULL);
//   rank 0:      wick_session_eval(s, ...) as usual ...; wick_dist_release(d);
//   other ranks: wick_dist_serve(d);
//   every rank:  wick_session_destroy(s); ...; wick_dist_finish(d);
//
// Thread: a wick_dist and its session are used by one thread at a time (MPI_THREAD_SERIALIZED).

typedef struct wick_dist wick_dist;

// Joins the MPI job (MPI_Init_thread unless the program already did). Until wick_dist_finish(),
// models opened in the process are not repacked at open: each rank repacks the weights it reads
// when its session is attached. Errors: WICK_E_IO.
WICK_API wick_status wick_dist_init(wick_dist **out);
WICK_API int wick_dist_rank(const wick_dist *d); // 0 .. size - 1 (NULL: 0)
WICK_API int wick_dist_size(const wick_dist *d); // ranks in the job (NULL: 1)
// Makes s this rank's stage of the pipeline. Call it on every rank with a session of the same
// model file and options. first_layers: size values, rank r computes layers [first_layers[r],
// first_layers[r + 1]) (the last to n_layer; rank 0 starts at 0); NULL: balanced by weight bytes,
// rank 0 counting the output matrix (a rank may get no layer when ranks outnumber layers).
// Rank 0 evaluates a prompt in micro-batches of WICK_DIST_MICRO tokens (default 32; 0: whole
// passes of n_batch) and sends each on without waiting, so the ranks work on successive
// micro-batches at once (not with logits_all). Unless the model was opened with repacking off
// (wick_model_opts.repack, WICK_REPACK=0), each rank repacks the weights of its own layers here
// (rank 0 also the output matrix; wick_dist_expert: rank 0 all but the routed experts).
// Errors: WICK_E_INVALID for a bad split, WICK_E_NOMEM.
WICK_API wick_status wick_dist_pipeline(wick_dist *d, wick_session *s, const int *first_layers);
// The first layer of rank (rank == size: n_layer); -1 before wick_dist_pipeline().
WICK_API int wick_dist_first_layer(const wick_dist *d, int rank);
// Makes s expert parallel instead (mixture-of-experts models, arch deepseek2): the routed
// experts of every MoE layer are spread over the ranks, rank r holding experts
// [first_experts[r], first_experts[r + 1]) (the last to n_expert; NULL: n_expert / size each).
// Rank 0 runs everything else (embeddings, attention, routers, shared experts, dense layers,
// logits); in each MoE layer it sends the hidden states of the tokens that chose a rank's
// experts to that rank and gets each (token, expert) output back. Each pair is computed and the
// outputs summed as one process does, so rank 0's logits are the single-process ones bit for
// bit. A rank reads only its experts' weights (workers nothing else). Call it on every rank
// with a session of the same model file and options. Errors: WICK_E_INVALID for a model without
// routed experts or a bad split, WICK_E_NOMEM.
WICK_API wick_status wick_dist_expert(wick_dist *d, wick_session *s, const int *first_experts);
// mode "pipeline" (wick_dist_pipeline, balanced), "expert" (wick_dist_expert, even split) or
// "auto": expert parallel for a model with routed experts (most of its weights), else pipeline.
// Errors: those of the two, WICK_E_INVALID for another mode.
WICK_API wick_status wick_dist_attach(wick_dist *d, wick_session *s, const char *mode);
// The first expert of rank (rank == size: n_expert); -1 before wick_dist_expert().
WICK_API int wick_dist_first_expert(const wick_dist *d, int rank);
// Ranks other than 0: evaluates passes (or expert requests) as rank 0 sends them until rank 0
// releases the session (wick_dist_release or wick_dist_finish), then detaches it. Errors:
// WICK_E_IO naming the rank whose message failed, WICK_E_TIMEOUT naming a rank that did not
// answer in time, WICK_E_FORMAT for a message out of order.
//
// Every wait for another rank has a deadline, WICK_DIST_TIMEOUT seconds (default 120): when a
// rank dies or stops answering, rank 0's wick_session_eval fails with WICK_E_TIMEOUT naming it
// ("dist: rank 2 did not answer rank 0 within 120 s") instead of hanging, and every later pass
// fails the same way; wick_dist_finish then ends the whole job (MPI_Abort, exit status 1).
WICK_API wick_status wick_dist_serve(wick_dist *d);
// A job whose models a registry opens (wick run, wick serve): rank 0 calls wick_dist_front(d,
// mode) and gives the registry wick_dist_session_hook with d as its session_ctx (one session,
// of the registry's n_seq sequences, is spread over the ranks at a time: a scheduler step
// carrying several streams crosses the ranks as one pass); its sessions are then attached with
// mode as the registry creates them (the workers open the same model path and session options)
// and released when it destroys them. The other ranks call wick_dist_worker(d, n_threads), which
// serves each session in turn until rank 0's wick_dist_finish. Errors: WICK_E_INVALID (mode,
// not rank 0 / not a worker), those of model open, session create, attach and serve.
WICK_API wick_status wick_dist_front(wick_dist *d, const char *mode);
WICK_API wick_status wick_dist_session_hook(void *d, wick_session *s, bool created);
WICK_API wick_status wick_dist_worker(wick_dist *d, int n_threads);
// Rank 0: ends the other ranks' wick_dist_serve() and detaches the session, which may then be
// destroyed (a session must not be destroyed while attached); wick_dist_pipeline() may then
// attach another. NULL or nothing attached: nothing.
WICK_API void wick_dist_release(wick_dist *d);
// Releases (rank 0), leaves the job (MPI_Finalize when wick_dist_init initialized MPI) and
// frees d. NULL ok.
WICK_API void wick_dist_finish(wick_dist *d);

#ifdef __cplusplus
}
#endif

#endif // WICK_H
