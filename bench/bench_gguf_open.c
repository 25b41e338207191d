// bench_gguf_open.c — time from wick_gguf_open() to the first tensor's values, on a multi-GB GGUF.
//
// Writes a file with Phi-4's real shapes (n_embd 5120, n_ff 17920, vocab 100352: token_embd Q4_K,
// output Q6_K, fused attn_qkv / ffn_up, as many layers as fit the requested size) and a
// Phi-4-sized tokenizer in the metadata (100352 token strings, 100000 merges, token types), then:
//   cold: the file's pages dropped from the page cache (fdatasync + POSIX_FADV_DONTNEED on this
//         file only), open + parse + dequantize row 0 of a tensor in the middle of the file;
//   warm: the same, best of 5, with the metadata pages cached.
// mmap means only the header pages and the one row are read: the target is well under a second.
//
//   bench_gguf_open [DIR] [GB]     (defaults: $TMPDIR or /tmp, 2 GB; the file is removed after)
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "bench_common.h"
#include "wick.h"

#define N_EMBD 5120
#define N_FF 17920
#define N_VOCAB 100352
#define N_MERGES 100000

static size_t tensor_bytes(int type, int64_t ne0, int64_t ne1)
{
    return (size_t)(ne0 / wick_dtype_block_elems(type)) * wick_dtype_block_bytes(type) *
           (size_t)ne1;
}

// Cheap, non-constant bytes: 8 at a time from a counter hash. The fp16 scales of the K-quant
// blocks then decode to arbitrary values (maybe NaN): only the time matters here.
static wick_status fill(void *ud, int64_t tensor, void *dst, size_t bytes)
{
    uint64_t *total = ud;
    uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(tensor + 1);
    uint8_t *p = dst;
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        x += 0x9E3779B97F4A7C15ull;
        uint64_t z = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
        memcpy(p + i, &z, 8);
    }
    for (; i < bytes; i++) {
        p[i] = (uint8_t)i;
    }
    *total += bytes;
    return WICK_OK;
}

static int die(const char *what, wick_status rc)
{
    fprintf(stderr, "bench_gguf_open: %s: %s (%s)\n", what, wick_errmsg(), wick_strerror(rc));
    return 1;
}

// Open, find a tensor in the middle, dequantize its row 0. Returns seconds; *open_s = open alone.
static double open_and_read(const char *path, const char *name, double *open_s, float *row)
{
    double t0 = bench_now();
    wick_gguf *g = NULL;
    wick_status rc = wick_gguf_open(path, &g);
    double t1 = bench_now();
    if (rc < 0) {
        die("open", rc);
        return -1;
    }
    int64_t i = wick_gguf_find_tensor(g, name);
    rc = i < 0 ? WICK_E_NOT_FOUND : wick_gguf_tensor_rows(g, i, 0, 1, row);
    double t2 = bench_now();
    if (rc < 0) {
        die(name, rc);
        wick_gguf_close(g);
        return -1;
    }
    bench_sinkf(row[0]);
    wick_gguf_close(g);
    *open_s = t1 - t0;
    return t2 - t0;
}

static void drop_cache(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) { return; }
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    double gb = argc > 2 ? atof(argv[2]) : 2.0;
    if (gb <= 0) { gb = 2.0; }
    char path[4096];
    snprintf(path, sizeof path, "%s/wick-bench-open-%d.gguf", dir, (int)getpid());

    wick_gguf_writer *w = NULL;
    wick_status rc = wick_gguf_writer_create(&w);
    if (rc < 0) { return die("writer", rc); }
    wick_gguf_writer_add_str(w, "general.architecture", "phi3");
    wick_gguf_writer_add_str(w, "general.name", "wick open benchmark (Phi-4 shapes)");
    wick_gguf_writer_add_u32(w, "phi3.embedding_length", N_EMBD);
    wick_gguf_writer_add_u32(w, "phi3.feed_forward_length", N_FF);
    wick_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
    // A Phi-4-sized vocabulary: the strings are what makes metadata parsing cost something.
    char **toks = malloc(sizeof(char *) * N_VOCAB);
    char **merges = malloc(sizeof(char *) * N_MERGES);
    int32_t *types = malloc(sizeof(int32_t) * N_VOCAB);
    for (int i = 0; i < N_VOCAB; i++) {
        toks[i] = malloc(24);
        snprintf(toks[i], 24, "tok_%d", i);
        types[i] = 1;
    }
    for (int i = 0; i < N_MERGES; i++) {
        merges[i] = malloc(32);
        snprintf(merges[i], 32, "m%d n%d", i, i * 7);
    }
    wick_gguf_writer_add_array(w, "tokenizer.ggml.tokens", WICK_GGUF_STRING, toks, N_VOCAB);
    wick_gguf_writer_add_array(w, "tokenizer.ggml.token_type", WICK_GGUF_INT32, types, N_VOCAB);
    wick_gguf_writer_add_array(w, "tokenizer.ggml.merges", WICK_GGUF_STRING, merges, N_MERGES);

    size_t total = 0;
    double target = gb * 1e9;
    rc = wick_gguf_writer_add_tensor(w, "token_embd.weight", WICK_DTYPE_Q4_K, 2,
                                     (int64_t[]){N_EMBD, N_VOCAB}, NULL);
    total += tensor_bytes(WICK_DTYPE_Q4_K, N_EMBD, N_VOCAB);
    wick_gguf_writer_add_tensor(w, "output_norm.weight", WICK_DTYPE_F32, 1, (int64_t[]){N_EMBD},
                                NULL);
    rc = wick_gguf_writer_add_tensor(w, "output.weight", WICK_DTYPE_Q6_K, 2,
                                     (int64_t[]){N_EMBD, N_VOCAB}, NULL);
    total += tensor_bytes(WICK_DTYPE_Q6_K, N_EMBD, N_VOCAB);
    size_t layer = tensor_bytes(WICK_DTYPE_Q4_K, N_EMBD, 3 * N_EMBD / 2 * 1) +
                   tensor_bytes(WICK_DTYPE_Q4_K, N_EMBD, N_EMBD) +
                   tensor_bytes(WICK_DTYPE_Q4_K, N_EMBD, 2 * N_FF) +
                   tensor_bytes(WICK_DTYPE_Q6_K, N_FF, N_EMBD);
    int n_layers = 0;
    while (n_layers < 1 || (double)total < target) {
        char name[64];
        int l = n_layers++;
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        wick_gguf_writer_add_tensor(w, name, WICK_DTYPE_F32, 1, (int64_t[]){N_EMBD}, NULL);
        snprintf(name, sizeof name, "blk.%d.attn_qkv.weight", l);
        wick_gguf_writer_add_tensor(w, name, WICK_DTYPE_Q4_K, 2,
                                    (int64_t[]){N_EMBD, 3 * N_EMBD / 2}, NULL);
        snprintf(name, sizeof name, "blk.%d.attn_output.weight", l);
        wick_gguf_writer_add_tensor(w, name, WICK_DTYPE_Q4_K, 2, (int64_t[]){N_EMBD, N_EMBD},
                                    NULL);
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        wick_gguf_writer_add_tensor(w, name, WICK_DTYPE_F32, 1, (int64_t[]){N_EMBD}, NULL);
        snprintf(name, sizeof name, "blk.%d.ffn_up.weight", l);
        wick_gguf_writer_add_tensor(w, name, WICK_DTYPE_Q4_K, 2, (int64_t[]){N_EMBD, 2 * N_FF},
                                    NULL);
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        rc = wick_gguf_writer_add_tensor(w, name, WICK_DTYPE_Q6_K, 2, (int64_t[]){N_FF, N_EMBD},
                                         NULL);
        if (rc < 0) { return die("add_tensor", rc); }
        total += layer;
    }
    wick_gguf_writer_add_u32(w, "phi3.block_count", (uint32_t)n_layers);

    uint64_t filled = 0;
    double t0 = bench_now();
    rc = wick_gguf_writer_write(w, path, fill, &filled);
    double t_write = bench_now() - t0;
    wick_gguf_writer_destroy(w);
    for (int i = 0; i < N_VOCAB; i++) {
        free(toks[i]);
    }
    for (int i = 0; i < N_MERGES; i++) {
        free(merges[i]);
    }
    free(toks);
    free(merges);
    free(types);
    if (rc < 0) { return die("write", rc); }
    printf("wrote %s: %.2f GB (%d layers, %d tensors) in %.2f s (%.2f GB/s, page cache)\n", path,
           (double)filled / 1e9, n_layers, 3 + 6 * n_layers, t_write,
           (double)filled / 1e9 / t_write);

    char mid[64];
    snprintf(mid, sizeof mid, "blk.%d.ffn_down.weight", n_layers / 2);
    float *row = malloc(sizeof(float) * N_FF);
    drop_cache(path);
    double open_s = 0;
    double cold = open_and_read(path, mid, &open_s, row);
    if (cold < 0) { return 1; }
    printf("cold cache: open %.1f ms, open + first row of %s %.1f ms\n", open_s * 1e3, mid,
           cold * 1e3);
    double best = 1e9, best_open = 1e9;
    for (int r = 0; r < 5; r++) {
        double o = 0, t = open_and_read(path, mid, &o, row);
        if (t < 0) { return 1; }
        best = t < best ? t : best;
        best_open = o < best_open ? o : best_open;
    }
    printf("warm cache: open %.1f ms, open + first row %.1f ms (best of 5)\n", best_open * 1e3,
           best * 1e3);
    printf("RESULT gguf_open_first_tensor_ms cold=%.1f warm=%.1f file_gb=%.2f\n", cold * 1e3,
           best * 1e3, (double)filled / 1e9);
    free(row);
    unlink(path);
    return 0;
}
