// bench_model_kimi.c — prefill and decode speed of a Kimi-K2-shaped deepseek2 model (real
// per-layer and per-expert shapes, fewer layers and experts), the bytes a decoded token reads and
// the fraction of the memory roofline reached.
//
//   wick-mkmodel --preset kimi --type Q4_K_M -o /tmp/kimi-2l-16e-Q4_K_M.gguf
//   bench_model_kimi /tmp/kimi-2l-16e-Q4_K_M.gguf [--prompt 128] [--decode 16] [--threads 1,2]
//
// Bytes per decoded token = every weight a token touches: all non-expert tensors (one row of
// token_embd), the shared experts, and n_used routed experts per MoE layer (top-k picks distinct
// experts), plus the MLA cache rows read at that context ((kv_lora + rope) per position and
// layer). Roofline = read bandwidth (measured here, with the same thread count) / those bytes.
// Prefill: one call with the whole prompt (n_batch = prompt): each expert's weights are read once
// for all the prompt's tokens that chose it (src/model/moe.c), so prefill is compute-bound.

#include "bench_common.h"
#include "model/model.h"
#include "wick.h"

static size_t tbytes(const wk_tensor *t) { return t->data ? t->row_bytes * (size_t)t->n_rows : 0; }

// Weight bytes one decoded token reads (see the top of the file), KV cache excluded.
static size_t weight_bytes_per_token(const wk_model *m)
{
    const wk_hparams *hp = &m->hp;
    size_t b = m->tok_embd.row_bytes + tbytes(&m->output_norm) + tbytes(&m->output);
    for (int64_t il = 0; il < hp->n_layer; il++) {
        const wk_layer *L = &m->layers[il];
        const wk_tensor *all[] = {&L->attn_norm,      &L->attn_q_a_norm,
                                  &L->attn_kv_a_norm, &L->wq,
                                  &L->wq_a,           &L->wq_b,
                                  &L->wkv_a_mqa,      &L->wk_b,
                                  &L->wv_b,           &L->wo,
                                  &L->ffn_norm,       &L->ffn_gate,
                                  &L->ffn_up,         &L->ffn_down,
                                  &L->ffn_gate_inp,   &L->exp_probs_b,
                                  &L->ffn_gate_shexp, &L->ffn_up_shexp,
                                  &L->ffn_down_shexp};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) { b += tbytes(all[i]); }
        const wk_tensor *exps[] = {&L->ffn_gate_exps, &L->ffn_up_exps, &L->ffn_gate_up_exps,
                                   &L->ffn_down_exps};
        for (size_t i = 0; i < 4; i++) {
            if (exps[i]->data) {
                b += tbytes(exps[i]) / (size_t)hp->n_expert * (size_t)hp->n_expert_used;
            }
        }
    }
    return b;
}

static int argmax(const float *x, int64_t n)
{
    int b = 0;
    for (int64_t i = 1; i < n; i++) {
        if (x[i] > x[b]) { b = (int)i; }
    }
    return b;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int n_prompt = 128, n_decode = 16;
    int threads[8] = {1, 2}, n_thr = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc) {
            n_prompt = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--decode") == 0 && i + 1 < argc) {
            n_decode = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            n_thr = 0;
            for (char *p = strtok(argv[++i], ","); p && n_thr < 8; p = strtok(NULL, ",")) {
                threads[n_thr++] = atoi(p);
            }
        } else if (argv[i][0] != '-') {
            path = argv[i];
        } else {
            fprintf(stderr, "usage: bench_model_kimi FILE.gguf [--prompt N] [--decode N] "
                            "[--threads 1,2]\n");
            return 2;
        }
    }
    if (!path || n_prompt < 1 || n_decode < 1) {
        fprintf(stderr,
                "usage: bench_model_kimi FILE.gguf [--prompt N] [--decode N] [--threads 1,2]\n");
        return 2;
    }
    bench_print_banner("bench_model_kimi", bench_mem_bandwidth_gbs(0));

    wick_model *m = NULL;
    double t0 = bench_now();
    if (wick_model_open(path, NULL, &m) < 0) {
        fprintf(stderr, "wick: %s\n", wick_errmsg());
        return 1;
    }
    const wk_hparams *hp = &m->hp;
    printf("model %s: %s, %lld layers (%lld dense), %lld experts (%lld used, %lld shared), "
           "n_embd %lld, %lld heads, kv_lora %lld, rope %lld; weights %.2f GB; opened in %.3f s "
           "(mmap)\n",
           path, wick_model_arch(m), (long long)hp->n_layer, (long long)hp->n_layer_dense_lead,
           (long long)hp->n_expert, (long long)hp->n_expert_used, (long long)hp->n_expert_shared,
           (long long)hp->n_embd, (long long)hp->n_head, (long long)hp->kv_lora_rank,
           (long long)hp->n_rot, (double)wick_model_weight_bytes(m) / 1e9, bench_now() - t0);
    const size_t kv_tok = wick_model_kv_bytes_per_token(m, WICK_KV_F32);
    printf("MLA cache: %zu bytes per token (f32; %zu f16) = %lld layers x (%lld + %lld) x 4; "
           "Kimi K2 (61 layers): %d bytes f32, %d f16 per token\n",
           kv_tok, wick_model_kv_bytes_per_token(m, WICK_KV_F16), (long long)hp->n_layer,
           (long long)hp->kv_lora_rank, (long long)hp->n_rot, 61 * 576 * 4, 61 * 576 * 2);
    const size_t w_tok = weight_bytes_per_token(m);

    for (int ti = 0; ti < n_thr; ti++) {
        int nth = threads[ti];
        wick_session_opts so;
        wick_session_opts_init(&so);
        so.n_ctx = n_prompt + n_decode + 8;
        so.n_batch = n_prompt;
        so.n_threads = nth;
        wick_session *s = NULL;
        if (wick_session_create(m, &so, &s) < 0) {
            fprintf(stderr, "wick: %s\n", wick_errmsg());
            wick_model_close(m);
            return 1;
        }
        int32_t *toks = malloc(sizeof(int32_t) * (size_t)n_prompt);
        bench_rng r = bench_rng_seed(42);
        for (int i = 0; i < n_prompt; i++) {
            toks[i] = (int32_t)(bench_rng_u64(&r) % (uint64_t)hp->n_vocab);
        }
        // The machine may be shared: bandwidth is measured before and after the run, the larger
        // value (the roofline is a best case) is used.
        const double bw_before = bench_mem_bandwidth_threads_gbs(nth);
        // Warm-up (pages of the mapped file, thread pool): one short pass, then start over.
        wick_session_eval(s, toks, WK_MIN(n_prompt, 8));
        wick_session_reset(s);

        double tp = bench_now();
        if (wick_session_eval(s, toks, n_prompt) < 0) {
            fprintf(stderr, "wick: %s\n", wick_errmsg());
            return 1;
        }
        tp = bench_now() - tp;
        int32_t tok = argmax(wick_session_logits(s, -1), hp->n_vocab);
        double td = bench_now();
        for (int i = 0; i < n_decode; i++) {
            if (wick_session_eval(s, &tok, 1) < 0) {
                fprintf(stderr, "wick: %s\n", wick_errmsg());
                return 1;
            }
            tok = argmax(wick_session_logits(s, -1), hp->n_vocab);
        }
        td = bench_now() - td;
        // KV rows read by the decoded tokens: on average at the middle of the decode.
        const double ctx_mid = n_prompt + n_decode / 2.0;
        const double bytes = (double)w_tok + ctx_mid * (double)kv_tok;
        const double bw = WK_MAX(bw_before, bench_mem_bandwidth_threads_gbs(nth));
        const double tps = n_decode / td, roof = bw * 1e9 / bytes;
        printf("threads %d: prefill %d tokens %.2f s = %.1f tok/s | decode %d tokens %.3f s = "
               "%.2f tok/s, %.1f MB read per token (weights %.1f + cache %.2f) = %.2f GB/s; "
               "bandwidth %.1f GB/s -> roofline %.2f tok/s, reached %.0f%%\n",
               nth, n_prompt, tp, n_prompt / tp, n_decode, td, tps, bytes / 1e6, w_tok / 1e6,
               ctx_mid * (double)kv_tok / 1e6, bytes * tps / 1e9, bw, roof, 100.0 * tps / roof);
        free(toks);
        wick_session_destroy(s);
    }
    wick_model_close(m);
    return 0;
}
