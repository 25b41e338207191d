// bench_model.c — prefill and decode speed of a whole model, with decode as a fraction of the
// memory roofline (read bandwidth ÷ bytes read per generated token).
//
//   wick-mkmodel --preset phi4 --type Q4_K_M --layers 4 -o phi4-4l.gguf
//   bench_model phi4-4l.gguf [--prompt 128,512] [--decode 16] [--threads 1,2] [--runs 3]
//
// What is measured and how: bench_model_run.h (prefill of each prompt length, logits of the last
// position only; decode after the shortest; min / median / max over the runs). Bytes per decoded
// token = every weight except the embedding table (one row of it) + the KV cache read at that
// context.
#include "bench_model_run.h"

static size_t tensor_bytes(const wick_gguf *g, const char *name)
{
    int64_t i = wick_gguf_find_tensor(g, name);
    wick_tensor_info ti;
    if (i < 0 || wick_gguf_tensor(g, i, &ti) < 0) { return 0; }
    return ti.bytes;
}

int main(int argc, char **argv)
{
    bench_model_cfg c = {.prompts = {128, 512}, .n_prompts = 2, .n_decode = 16,
                         .threads = {1, 2}, .n_threads = 2, .runs = 3};
    const char *path = bench_model_args(argc, argv, &c);
    if (!path) {
        fprintf(stderr, "usage: bench_model MODEL.gguf [--prompt 128,512] [--decode 16] "
                        "[--threads 1,2] [--runs 3] [--no-repack]\n"
                        "  make a Phi-4-shaped model with:\n"
                        "  wick-mkmodel --preset phi4 --type Q4_K_M --layers 4 -o phi4-4l.gguf\n");
        return 2;
    }
    wick_model *m = bench_open_model(path, &c);
    if (!m) { return 1; }
    const wick_gguf *g = wick_model_gguf(m);
    const int32_t n_vocab = wick_model_n_vocab(m);
    size_t embd = tensor_bytes(g, "token_embd.weight");
    size_t weights = wick_model_weight_bytes(m);
    bool tied = wick_gguf_find_tensor(g, "output.weight") < 0;
    // weights read per decoded token: all but the embedding table (unless it is also the output)
    c.weight_bytes_per_token = tied ? weights : weights - embd + embd / (size_t)n_vocab;
    bench_print_banner("bench_model", bench_mem_bandwidth_gbs(0));
    printf("model %s: %s, %lld layers, n_embd %lld, vocab %d, weights %.3f GB, read per decoded "
           "token %.3f GB + KV\n",
           path, wick_model_arch(m), (long long)wick_model_n_layer(m),
           (long long)wick_model_n_embd(m), n_vocab, (double)weights / 1e9,
           (double)c.weight_bytes_per_token / 1e9);
    int rc = bench_model_measure(m, &c);
    wick_model_close(m);
    return rc;
}
