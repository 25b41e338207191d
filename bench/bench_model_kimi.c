// bench_model_kimi.c — prefill and decode speed of a Kimi-K2-shaped deepseek2 model (real
// per-layer and per-expert shapes, fewer layers and experts), the bytes a decoded token reads and
// the fraction of the memory roofline reached.
//
//   wick-mkmodel --preset kimi --type Q4_K_M -o /tmp/kimi-2l-16e-Q4_K_M.gguf
//   bench_model_kimi /tmp/kimi-2l-16e-Q4_K_M.gguf [--prompt 128,512] [--decode 16] [--threads 1,2]
//                    [--runs 3]          (what is measured and how: bench_model_run.h)
//
// Bytes per decoded token = every weight a token touches: all non-expert tensors (one row of
// token_embd), the shared experts, and n_used routed experts per MoE layer (top-k picks distinct
// experts), plus the MLA cache rows read at that context ((kv_lora + rope) per position and
// layer). Roofline = read bandwidth (measured here, with the same thread count) / those bytes.
// Prefill: one call with the whole prompt (n_batch = prompt): each expert's weights are read once
// for all the prompt's tokens that chose it (src/model/moe.c), so prefill is compute-bound.

#include "bench_model_run.h"
#include "model/deepseek2.h"

static size_t tbytes(const wk_tensor *t) { return t->data ? t->row_bytes * (size_t)t->n_rows : 0; }

// Weight bytes one decoded token reads (see the top of the file), KV cache excluded.
static size_t weight_bytes_per_token(const wk_model *m)
{
    const wk_hparams *hp = &m->hp;
    const wk_ds2_model *dm = wk_ds2_of(m);
    size_t b = m->tok_embd.row_bytes + tbytes(&m->output_norm) + tbytes(&m->output);
    for (int64_t il = 0; il < hp->n_layer; il++) {
        const wk_ds2_layer *L = &dm->layers[il];
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
                b += tbytes(exps[i]) / (size_t)dm->hp.n_expert * (size_t)dm->hp.n_expert_used;
            }
        }
    }
    return b;
}

int main(int argc, char **argv)
{
    bench_model_cfg c = {.prompts = {128, 512}, .n_prompts = 2, .n_decode = 16,
                         .threads = {1, 2}, .n_threads = 2, .runs = 3};
    const char *path = bench_model_args(argc, argv, &c);
    if (!path) {
        fprintf(stderr, "usage: bench_model_kimi FILE.gguf [--prompt 128,512] [--decode 16] "
                        "[--threads 1,2] [--runs 3] [--no-repack]\n");
        return 2;
    }
    bench_print_banner("bench_model_kimi", bench_mem_bandwidth_gbs(0));

    wick_model *m = bench_open_model(path, &c);
    if (!m) { return 1; }
    if (strcmp(wick_model_arch(m), "deepseek2") != 0) {
        fprintf(stderr, "wick: %s: arch %s, expected deepseek2\n", path, wick_model_arch(m));
        wick_model_close(m);
        return 1;
    }
    const wk_hparams *hp = &m->hp;
    const wk_ds2_hparams *dh = &wk_ds2_of(m)->hp;
    printf("model %s: %s, %lld layers (%lld dense), %lld experts (%lld used, %lld shared), "
           "n_embd %lld, %lld heads, kv_lora %lld, rope %lld; weights %.2f GB\n",
           path, wick_model_arch(m), (long long)hp->n_layer, (long long)dh->n_layer_dense_lead,
           (long long)dh->n_expert, (long long)dh->n_expert_used, (long long)dh->n_expert_shared,
           (long long)hp->n_embd, (long long)hp->n_head, (long long)dh->kv_lora_rank,
           (long long)hp->n_rot, (double)wick_model_weight_bytes(m) / 1e9);
    const size_t kv_tok = wick_model_kv_bytes_per_token(m, WICK_KV_F32);
    printf("MLA cache: %zu bytes per token (f32; %zu f16) = %lld layers x (%lld + %lld) x 4; "
           "Kimi K2 (61 layers): %d bytes f32, %d f16 per token\n",
           kv_tok, wick_model_kv_bytes_per_token(m, WICK_KV_F16), (long long)hp->n_layer,
           (long long)dh->kv_lora_rank, (long long)hp->n_rot, 61 * 576 * 4, 61 * 576 * 2);
    c.weight_bytes_per_token = weight_bytes_per_token(m);
    printf("read per decoded token: %.1f MB of weights + the MLA cache\n",
           (double)c.weight_bytes_per_token / 1e6);
    int rc = bench_model_measure(m, &c);
    wick_model_close(m);
    return rc;
}
