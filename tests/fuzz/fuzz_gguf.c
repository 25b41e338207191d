// fuzz_gguf.c — libFuzzer target for the GGUF parser: parses the input as a GGUF file, then walks
// everything the API hands out (every key and nested value, every tensor, the first and last row
// of each decodable tensor), so that any out-of-bounds read shows under ASan.
//
// Build (WICK_FUZZ instruments the whole library: ASan, UBSan and coverage; see the README):
//   CC=clang cmake -S . -B build-fuzz -DWICK_FUZZ=ON -DWICK_BUILD_SHARED=OFF
//   cmake --build build-fuzz --target fuzz_gguf
// Seeds: the broken-file corpus that test_gguf_broken writes, plus the head of a fixture model:
//   mkdir -p tests/fuzz/corpus-gguf && cp BUILD/gguf-broken-corpus/*.gguf tests/fuzz/corpus-gguf/
//   head -c 16384 tests/data/models/llama-Q4_K_M.gguf > tests/fuzz/corpus-gguf/llama-head.gguf
//   build-fuzz/fuzz_gguf tests/fuzz/corpus-gguf -max_len=16384 -max_total_time=600
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"

static volatile uint64_t sink;

static void walk(const wick_gguf_value *v, int depth)
{
    int64_t i;
    uint64_t u;
    double d;
    const char *s;
    size_t len;
    if (wick_gguf_value_int(v, &i) == WICK_OK) { sink += (uint64_t)i; }
    if (wick_gguf_value_uint(v, &u) == WICK_OK) { sink += u; }
    if (wick_gguf_value_float(v, &d) == WICK_OK) { sink += (uint64_t)(d != d); }
    if (wick_gguf_value_str(v, &s, &len) == WICK_OK) {
        sink += len ? (unsigned char)s[len - 1] : 0;
        sink += (unsigned char)s[len]; // the NUL
    }
    uint64_t n = wick_gguf_array_len(v);
    for (uint64_t k = 0; k < n; k++) {
        walk(wick_gguf_array_at(v, k), depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // A copy of exactly size bytes, so reading one byte past the end is caught.
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) { return 0; }
    memcpy(copy, data, size);
    wick_gguf *g = NULL;
    if (wk_gguf_open_memory(copy, size, "fuzz", &g) == WICK_OK) {
        for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
            const char *k = wick_gguf_kv_key(g, i);
            sink += wick_gguf_find_kv(g, k) == i;
            walk(wick_gguf_kv_value(g, i), 0);
        }
        float row[4096];
        for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
            wick_tensor_info t;
            if (wick_gguf_tensor(g, i, &t) != WICK_OK) { continue; }
            sink += wick_gguf_find_tensor(g, t.name) == i;
            if (t.bytes) {
                sink += ((const uint8_t *)t.data)[0] + ((const uint8_t *)t.data)[t.bytes - 1];
            }
            int64_t n_rows = t.ne[1] * t.ne[2] * t.ne[3];
            if (t.ne[0] > 0 && t.ne[0] <= 4096 && n_rows > 0) {
                wick_gguf_tensor_rows(g, i, 0, 1, row);
                wick_gguf_tensor_rows(g, i, n_rows - 1, n_rows, row);
            }
        }
        wick_gguf_close(g);
    }
    free(copy);
    return 0;
}
