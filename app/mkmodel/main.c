// main.c — wick-mkmodel: writes a random-weight GGUF model (llama, phi3 = Phi-4, deepseek2 = Kimi
// K2) with real layer shapes, for tests (tiny models, equivalence pairs) and benchmarks (multi-GB
// files). Errors: "wick-mkmodel: reason", exit 1; bad usage exit 2.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mkmodel.h"

enum { EXIT_WORK = 1, EXIT_USAGE = 2 };

// A step of a chain of writer calls: runs only while the previous ones succeeded (rc >= 0).
#define STEP(expr)                                                                                 \
    do {                                                                                           \
        if (rc >= 0) { rc = (expr); }                                                              \
    } while (0)

static const char usage_text[] =
    "usage: wick-mkmodel --arch llama|phi3|deepseek2 --preset NAME --type TYPE -o FILE.gguf\n"
    "                    [options]\n"
    "\n"
    "Writes a GGUF model with random weights (deterministic: the same options and seed give the\n"
    "same bytes). Quantized types get llama-quantize's per-tensor types (Q4_K_M: Q4_K, Q6_K, ...,\n"
    "with its fallbacks for row lengths a block does not divide); blocks are written directly.\n"
    "\n"
    "presets:\n"
    "  tiny   the test-fixture shapes of each arch (n_embd 256, vocab 1536; llama ties output)\n"
    "  phi4   (phi3) real Phi-4 layer shapes: n_embd 5120, 40/10 heads, n_ff 17920, vocab 100352;\n"
    "         4 layers unless --layers\n"
    "  kimi   (deepseek2) real Kimi K2 layer/expert shapes: n_embd 7168, 64 heads, q_lora 1536,\n"
    "         kv_lora 512, n_ff 18432, n_ff_exp 2048, vocab 163840; 2 layers (1 dense + 1 MoE)\n"
    "         and 16 experts (8 used, 1 shared) unless --layers / --experts\n"
    "\n"
    "options:\n"
    "  --arch A            llama, phi3 or deepseek2 (implied by --preset phi4 / kimi)\n"
    "  --preset NAME       tiny, phi4, kimi\n"
    "  --type TYPE         %s\n"
    "  -o FILE.gguf        output path (with --split: FILE-0000i-of-0000N.gguf)\n"
    "  --layers N          number of layers\n"
    "  --experts N         deepseek2: routed experts\n"
    "  --vocab N           vocabulary size\n"
    "  --ctx N             context_length\n"
    "  --seed S            random seed (default 1)\n"
    "  --vocab-from F.gguf copy every tokenizer.* key from F (default: a byte-level gpt2\n"
    "                      vocabulary: 256 byte tokens, <|tok_N|> fillers, <|bos|>, <|eos|>)\n"
    "  --pre NAME          tokenizer.ggml.pre (default: \"default\", or --vocab-from's)\n"
    "  --tied / --untied   llama: output.weight absent (tied, tiny's default) or present\n"
    "  --threads N         threads generating data (default 2)\n"
    "  --dry-run           print the tensor table (name type shape) and write nothing\n"
    "  --no-write          generate every tensor into memory, print the speed, write nothing\n"
    "  -q, --quiet         print nothing on success\n"
    "equivalence variants (the same seed gives the same numbers in every variant):\n"
    "  --gguf-version V    2 or 3 (default 3)\n"
    "  --alignment N       data alignment, a power of two (default 32; else general.alignment)\n"
    "  --split N           N shards as gguf-split writes them (split.no/count/tensors.count;\n"
    "                      metadata in the first shard)\n"
    "  --kv-b              deepseek2: legacy fused attn_kv_b instead of attn_k_b/attn_v_b (and\n"
    "                      key_length/value_length = nope+rope / v, no *_mla keys); F32/F16/BF16\n"
    "  --fused-exps        deepseek2: ffn_gate_up_exps instead of ffn_gate_exps + ffn_up_exps\n"
    "  --lite              deepseek2: plain attn_q, no q_lora (no attention.q_lora_rank key)\n"
    "  --expert-groups G:U deepseek2: expert_group_count G, expert_group_used_count U\n"
    "  --rope-freqs        llama: add rope_freqs.weight (llama3 factors 8/1/4, orig ctx 8192)\n"
    "\n"
    "examples:\n"
    "  wick-mkmodel --arch llama --preset tiny --type F32 -o llama-tiny.gguf\n"
    "  wick-mkmodel --arch deepseek2 --preset tiny --type F32 --kv-b -o ds2-kvb.gguf\n"
    "  wick-mkmodel --arch phi3 --preset tiny --type Q4_K_M --split 3 -o phi3-tiny.gguf\n"
    "benchmark models:\n"
    "  wick-mkmodel --arch phi3 --preset phi4 --type Q4_K_M -o /tmp/phi4-4l-Q4_K_M.gguf\n"
    "  wick-mkmodel --arch deepseek2 --preset kimi --type Q4_K_M -o /tmp/kimi-2l-16e-Q4_K_M.gguf\n";

static void print_usage(FILE *f)
{
    char types[256];
    mk_ftype_list(types, sizeof types, "\n                      ");
    fprintf(f, usage_text, types);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wick-mkmodel: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(wick-mkmodel --help shows the options)\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wick-mkmodel: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_WORK;
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s) { return false; }
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) { return false; }
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-') { return false; }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) { return false; }
    *out = v;
    return true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// --- metadata ------------------------------------------------------------------------------------
typedef struct meta_ctx {
    wick_gguf_writer *w;
    char key[128];
    const char *arch;
} meta_ctx;

static const char *k(meta_ctx *c, const char *suffix)
{
    snprintf(c->key, sizeof c->key, "%s.%s", c->arch, suffix);
    return c->key;
}

// UTF-8 of code point cp (< 0x800) into buf; returns buf.
static char *utf8(unsigned cp, char *buf)
{
    if (cp < 0x80) {
        buf[0] = (char)cp, buf[1] = 0;
    } else {
        buf[0] = (char)(0xC0 | (cp >> 6)), buf[1] = (char)(0x80 | (cp & 0x3F)), buf[2] = 0;
    }
    return buf;
}

// A byte-level gpt2 vocabulary: tokens 0..255 are GPT-2's byte-to-unicode characters in its order
// (the printable bytes '!'..'~', 0xA1..0xAC, 0xAE..0xFF as themselves, then the other 68 bytes as
// U+0100..U+0143), then <|tok_N|> fillers, then <|bos|> and <|eos|> (CONTROL); no merges.
static wick_status add_byte_vocab(wick_gguf_writer *w, int64_t n_vocab, const char *pre)
{
    wick_status rc = WICK_E_NOMEM;
    char **tok = calloc((size_t)n_vocab, sizeof *tok);
    int32_t *type = calloc((size_t)n_vocab, sizeof *type);
    if (!tok || !type) { goto done; }
    int n = 0;
    for (unsigned b = 0; b < 256; b++) {
        if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)) {
            char buf[4];
            tok[n++] = strdup(utf8(b, buf));
        }
    }
    for (unsigned b = 0, extra = 0; b < 256; b++) {
        if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))) {
            char buf[4];
            tok[n++] = strdup(utf8(0x100 + extra++, buf));
        }
    }
    for (int64_t i = 256; i < n_vocab; i++) {
        char buf[32];
        if (i == n_vocab - 2) {
            snprintf(buf, sizeof buf, "<|bos|>");
        } else if (i == n_vocab - 1) {
            snprintf(buf, sizeof buf, "<|eos|>");
        } else {
            snprintf(buf, sizeof buf, "<|tok_%lld|>", (long long)i);
        }
        tok[i] = strdup(buf);
    }
    for (int64_t i = 0; i < n_vocab; i++) {
        if (!tok[i]) { goto done; }
        type[i] = i >= n_vocab - 2 ? 3 : 1;
    }
    static const char *const no_merges[1] = {""};
    rc = WICK_OK;
    STEP(wick_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2"));
    STEP(wick_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre ? pre : "default"));
    STEP(wick_gguf_writer_add_array(w, "tokenizer.ggml.tokens", WICK_GGUF_STRING,
                                    (const void *)tok, (uint64_t)n_vocab));
    STEP(wick_gguf_writer_add_array(w, "tokenizer.ggml.token_type", WICK_GGUF_INT32, type,
                                    (uint64_t)n_vocab));
    STEP(wick_gguf_writer_add_array(w, "tokenizer.ggml.merges", WICK_GGUF_STRING,
                                    (const void *)no_merges, 0));
    STEP(wick_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)(n_vocab - 2)));
    STEP(wick_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)(n_vocab - 1)));
    STEP(wick_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", false));
    STEP(wick_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", false));
    if (rc < 0) { goto done; }
    rc = WICK_OK;
done:
    if (tok) {
        for (int64_t i = 0; i < n_vocab; i++) { free(tok[i]); }
    }
    free(tok);
    free(type);
    return rc;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        rc = (expr);                                                                               \
        if (rc < 0) { return rc; }                                                                 \
    } while (0)

static wick_status add_metadata(wick_gguf_writer *w, const mk_model *m, const wick_gguf *vocab)
{
    const char *pre = m->tok_pre;
    const mk_hparams *hp = &m->hp;
    meta_ctx c = {w, "", mk_arch_name(hp->arch)};
    wick_status rc;
    char name[128];
    const char *layout = hp->arch == MK_PHI3        ? "Phi 4 layout"
                         : hp->arch == MK_DEEPSEEK2 ? "Kimi K2 layout"
                                                    : "llama layout";
    // never "phi3"/"phi-3": llama.cpp keys a Phi-3 vocabulary hack on general.name
    snprintf(name, sizeof name, "wick mkmodel %s (%s)", hp->preset, layout);
    TRY(wick_gguf_writer_add_str(w, "general.architecture", c.arch));
    TRY(wick_gguf_writer_add_str(w, "general.name", name));
    TRY(wick_gguf_writer_add_u32(w, k(&c, "context_length"), (uint32_t)hp->n_ctx));
    if (hp->arch == MK_PHI3) {
        TRY(wick_gguf_writer_add_u32(w, k(&c, "rope.scaling.original_context_length"),
                                     (uint32_t)hp->n_ctx_orig));
    }
    TRY(wick_gguf_writer_add_u32(w, k(&c, "embedding_length"), (uint32_t)hp->n_embd));
    TRY(wick_gguf_writer_add_u32(w, k(&c, "block_count"), (uint32_t)hp->n_layer));
    TRY(wick_gguf_writer_add_u32(w, k(&c, "feed_forward_length"), (uint32_t)hp->n_ff));
    TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.head_count"), (uint32_t)hp->n_head));
    TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.head_count_kv"), (uint32_t)hp->n_head_kv));
    TRY(wick_gguf_writer_add_f32(w, k(&c, "attention.layer_norm_rms_epsilon"), hp->rms_eps));
    TRY(wick_gguf_writer_add_f32(w, k(&c, "rope.freq_base"), hp->rope_base));
    if (hp->arch == MK_LLAMA) {
        TRY(wick_gguf_writer_add_u32(w, k(&c, "rope.dimension_count"), (uint32_t)hp->head_dim));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "vocab_size"), (uint32_t)hp->n_vocab));
    } else if (hp->arch == MK_PHI3) {
        TRY(wick_gguf_writer_add_u32(w, k(&c, "rope.dimension_count"), (uint32_t)hp->head_dim));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.sliding_window"), 0));
    } else {
        TRY(wick_gguf_writer_add_u32(w, k(&c, "expert_used_count"), (uint32_t)hp->n_expert_used));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "expert_group_count"), (uint32_t)hp->n_group));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "expert_group_used_count"),
                                     (uint32_t)hp->n_group_used));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "leading_dense_block_count"),
                                     (uint32_t)hp->n_dense_lead));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "vocab_size"), (uint32_t)hp->n_vocab));
        if (!m->lite) {
            TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.q_lora_rank"), (uint32_t)hp->q_lora));
        }
        TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.kv_lora_rank"), (uint32_t)hp->kv_lora));
        if (m->kv_b) {
            // legacy (pre-MLA-split) files: per-head K and V sizes, no *_mla keys
            TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.key_length"),
                                         (uint32_t)(hp->nope + hp->rope_dim)));
            TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.value_length"), (uint32_t)hp->v_dim));
        } else {
            // MLA stored as MQA: K = c_kv | k_pe, V = c_kv
            TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.key_length"),
                                         (uint32_t)(hp->kv_lora + hp->rope_dim)));
            TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.value_length"),
                                         (uint32_t)hp->kv_lora));
            TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.key_length_mla"),
                                         (uint32_t)(hp->nope + hp->rope_dim)));
            TRY(wick_gguf_writer_add_u32(w, k(&c, "attention.value_length_mla"),
                                         (uint32_t)hp->v_dim));
        }
        TRY(wick_gguf_writer_add_u32(w, k(&c, "expert_feed_forward_length"),
                                     (uint32_t)hp->n_ff_exp));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "expert_count"), (uint32_t)hp->n_expert));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "expert_shared_count"),
                                     (uint32_t)hp->n_expert_shared));
        TRY(wick_gguf_writer_add_f32(w, k(&c, "expert_weights_scale"), hp->expert_scale));
        TRY(wick_gguf_writer_add_bool(w, k(&c, "expert_weights_norm"), true));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "expert_gating_func"), 2)); // sigmoid
        TRY(wick_gguf_writer_add_u32(w, k(&c, "rope.dimension_count"), (uint32_t)hp->rope_dim));
        TRY(wick_gguf_writer_add_str(w, k(&c, "rope.scaling.type"), "yarn"));
        TRY(wick_gguf_writer_add_f32(w, k(&c, "rope.scaling.factor"), hp->yarn_factor));
        TRY(wick_gguf_writer_add_u32(w, k(&c, "rope.scaling.original_context_length"),
                                     (uint32_t)hp->n_ctx_orig));
        // Kimi K2's config values, written by the converter, ignored by llama.cpp (uses 32 / 1)
        TRY(wick_gguf_writer_add_f32(w, k(&c, "rope.scaling.yarn_beta_fast"), 1.0f));
        TRY(wick_gguf_writer_add_f32(w, k(&c, "rope.scaling.yarn_beta_slow"), 1.0f));
        TRY(wick_gguf_writer_add_f32(w, k(&c, "rope.scaling.yarn_log_multiplier"),
                                     hp->yarn_log_mul));
    }
    // llama-quantize (which makes every type but F32) adds general.quantization_version
    if (m->ft->base != WICK_DTYPE_F32) {
        TRY(wick_gguf_writer_add_u32(w, "general.quantization_version", 2));
    }
    TRY(wick_gguf_writer_add_u32(w, "general.file_type", (uint32_t)m->ft->ftype));
    if (vocab) {
        int64_t n = wick_gguf_n_kv(vocab);
        for (int64_t i = 0; i < n; i++) {
            const char *key = wick_gguf_kv_key(vocab, i);
            if (!key || strncmp(key, "tokenizer.", 10) != 0) { continue; }
            if (pre && strcmp(key, "tokenizer.ggml.pre") == 0) {
                TRY(wick_gguf_writer_add_str(w, key, pre));
            } else {
                TRY(wick_gguf_writer_copy_kv(w, vocab, i));
            }
        }
        if (pre && wick_gguf_find_kv(vocab, "tokenizer.ggml.pre") < 0) {
            TRY(wick_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre));
        }
    } else {
        TRY(add_byte_vocab(w, hp->n_vocab, pre));
    }
    return WICK_OK;
}

// --- writing -------------------------------------------------------------------------------------
typedef struct fill_ctx {
    const mk_model *m;
    int first; // global index of the shard's first tensor
    int n_threads;
    double gen_s; // time spent generating (the rest is the writer: allocation, mapping, I/O)
} fill_ctx;

static wick_status fill_cb(void *ud, int64_t i, void *dst, size_t bytes)
{
    fill_ctx *f = ud;
    double t0 = now_s();
    wick_status rc = mk_fill_tensor(f->m, &f->m->t[f->first + i], dst, bytes, f->n_threads);
    f->gen_s += now_s() - t0;
    return rc;
}

static size_t tensor_bytes(const mk_tensor *t)
{
    int64_t be = wick_dtype_block_elems(t->type);
    size_t bb = wick_dtype_block_bytes(t->type);
    int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    return be > 0 ? (size_t)(n / be) * bb : 0;
}

static int write_shard(const mk_model *m, const wick_gguf *vocab, const char *path, int shard,
                       int n_shards, int first, int count, int n_threads, bool quiet)
{
    wick_gguf_writer *w = NULL;
    wick_status rc = wick_gguf_writer_create(&w);
    size_t bytes = 0;
    double t0 = now_s();
    if (rc < 0) { goto fail; }
    STEP(wick_gguf_writer_set_version(w, m->gguf_version));
    STEP(wick_gguf_writer_set_alignment(w, m->alignment));
    if (rc < 0) { goto fail; }
    if (shard == 0) {
        rc = add_metadata(w, m, vocab);
        if (rc < 0) { goto fail; }
    }
    if (n_shards > 1) {
        // as gguf-split: split.no (u16, 0-based), split.count (u16), split.tensors.count (i32)
        uint16_t no = (uint16_t)shard, cnt = (uint16_t)n_shards;
        int32_t total = m->n_t;
        STEP(wick_gguf_writer_add_scalar(w, "split.no", WICK_GGUF_UINT16, &no));
        STEP(wick_gguf_writer_add_scalar(w, "split.count", WICK_GGUF_UINT16, &cnt));
        STEP(wick_gguf_writer_add_scalar(w, "split.tensors.count", WICK_GGUF_INT32, &total));
        if (rc < 0) { goto fail; }
    }
    for (int i = first; i < first + count; i++) {
        const mk_tensor *t = &m->t[i];
        rc = wick_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, NULL);
        if (rc < 0) { goto fail; }
        bytes += tensor_bytes(t);
    }
    fill_ctx fc = {m, first, n_threads, 0.0};
    rc = wick_gguf_writer_write(w, path, fill_cb, &fc);
    if (rc < 0) { goto fail; }
    wick_gguf_writer_destroy(w);
    double dt = now_s() - t0;
    if (!quiet) {
        printf("%s: %d tensors, %.3f GB of tensor data, %.2f s, %.2f GB/s (generating: %.2f s)\n",
               path, count, (double)bytes / 1e9, dt, dt > 0 ? (double)bytes / 1e9 / dt : 0.0,
               fc.gen_s);
    }
    return 0;
fail:
    wick_gguf_writer_destroy(w);
    return fail("%s: %s", path, *wick_errmsg() ? wick_errmsg() : wick_strerror(rc));
}

// Generation speed alone: every tensor into one reused buffer (first touched before timing).
static int generate_only(const mk_model *m, int n_threads)
{
    size_t max = 0, total = 0;
    for (int i = 0; i < m->n_t; i++) {
        size_t b = tensor_bytes(&m->t[i]);
        total += b;
        max = b > max ? b : max;
    }
    uint8_t *buf = malloc(max ? max : 1);
    if (!buf) { return fail("out of memory (%zu bytes)", max); }
    memset(buf, 0, max);
    double t0 = now_s();
    for (int i = 0; i < m->n_t; i++) {
        wick_status rc = mk_fill_tensor(m, &m->t[i], buf, tensor_bytes(&m->t[i]), n_threads);
        if (rc < 0) {
            free(buf);
            return fail("%s: generating failed (%s)", m->t[i].name, wick_strerror(rc));
        }
    }
    double dt = now_s() - t0;
    free(buf);
    printf("generated %d tensors, %.3f GB in %.2f s: %.2f GB/s with %d threads\n", m->n_t,
           (double)total / 1e9, dt, dt > 0 ? (double)total / 1e9 / dt : 0.0, n_threads);
    return 0;
}

static void print_table(const mk_model *m)
{
    for (int i = 0; i < m->n_t; i++) {
        const mk_tensor *t = &m->t[i];
        const char *tn = wick_dtype_name(t->type);
        printf("%s %s", t->name, tn ? tn : "?");
        for (int d = 0; d < t->n_dims; d++) {
            printf("%s%lld", d ? "," : " ", (long long)t->ne[d]);
        }
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    const char *arch_s = NULL, *preset = NULL, *type_s = NULL, *out = NULL, *vocab_from = NULL;
    const char *tok_pre = NULL;
    int64_t layers = -1, experts = -1, n_vocab = -1, n_ctx = -1, split = 1, threads = 2;
    int64_t groups = -1, groups_used = -1, version = 3, alignment = 32;
    int tied = -1;
    uint64_t seed = 1;
    bool kv_b = false, fused = false, lite = false, rope_freqs = false, dry = false, quiet = false;
    bool no_write = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE                                                                                \
    do {                                                                                           \
        if (!v) { return usage_error("%s needs a value", a); }                                     \
        i++;                                                                                       \
    } while (0)
#define INT_OPT(var, lo, hi)                                                                       \
    do {                                                                                           \
        NEEDS_VALUE;                                                                               \
        if (!parse_i64(v, lo, hi, &var)) {                                                         \
            return usage_error("%s: '%s' is not an integer in [%lld, %lld]", a, v, (long long)lo,  \
                               (long long)hi);                                                     \
        }                                                                                          \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_usage(stdout);
            return 0;
        } else if (strcmp(a, "--arch") == 0) {
            NEEDS_VALUE;
            arch_s = v;
        } else if (strcmp(a, "--preset") == 0) {
            NEEDS_VALUE;
            preset = v;
        } else if (strcmp(a, "--type") == 0) {
            NEEDS_VALUE;
            type_s = v;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            NEEDS_VALUE;
            out = v;
        } else if (strcmp(a, "--vocab-from") == 0) {
            NEEDS_VALUE;
            vocab_from = v;
        } else if (strcmp(a, "--pre") == 0) {
            NEEDS_VALUE;
            tok_pre = v;
        } else if (strcmp(a, "--layers") == 0) {
            INT_OPT(layers, 1, 4096);
        } else if (strcmp(a, "--experts") == 0) {
            INT_OPT(experts, 1, 65536);
        } else if (strcmp(a, "--vocab") == 0) {
            INT_OPT(n_vocab, 1, 1 << 24);
        } else if (strcmp(a, "--ctx") == 0) {
            INT_OPT(n_ctx, 1, INT32_MAX);
        } else if (strcmp(a, "--split") == 0) {
            INT_OPT(split, 1, 99999);
        } else if (strcmp(a, "--gguf-version") == 0) {
            INT_OPT(version, 2, 3);
        } else if (strcmp(a, "--alignment") == 0) {
            INT_OPT(alignment, 1, 1 << 30);
            if (alignment & (alignment - 1)) {
                return usage_error("--alignment %lld: not a power of two", (long long)alignment);
            }
        } else if (strcmp(a, "--threads") == 0) {
            INT_OPT(threads, 1, 16);
        } else if (strcmp(a, "--seed") == 0) {
            NEEDS_VALUE;
            if (!parse_u64(v, &seed)) { return usage_error("--seed: '%s' is not an integer", v); }
        } else if (strcmp(a, "--expert-groups") == 0) {
            NEEDS_VALUE;
            char buf[64];
            snprintf(buf, sizeof buf, "%s", v);
            char *colon = strchr(buf, ':');
            if (!colon) { return usage_error("--expert-groups: expected G:U, got '%s'", v); }
            *colon = 0;
            if (!parse_i64(buf, 1, 65536, &groups) ||
                !parse_i64(colon + 1, 1, 65536, &groups_used)) {
                return usage_error("--expert-groups: expected G:U, got '%s'", v);
            }
        } else if (strcmp(a, "--kv-b") == 0) {
            kv_b = true;
        } else if (strcmp(a, "--fused-exps") == 0) {
            fused = true;
        } else if (strcmp(a, "--lite") == 0) {
            lite = true;
        } else if (strcmp(a, "--rope-freqs") == 0) {
            rope_freqs = true;
        } else if (strcmp(a, "--tied") == 0) {
            tied = 1;
        } else if (strcmp(a, "--untied") == 0) {
            tied = 0;
        } else if (strcmp(a, "--dry-run") == 0) {
            dry = true;
        } else if (strcmp(a, "--no-write") == 0) {
            no_write = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else {
            return usage_error("unknown option '%s'", a);
        }
#undef INT_OPT
#undef NEEDS_VALUE
    }

    // --- what to write ---
    mk_arch arch;
    if (!preset) { return usage_error("--preset is required (tiny, phi4, kimi)"); }
    if (!arch_s) {
        if (strcmp(preset, "phi4") == 0) {
            arch_s = "phi3";
        } else if (strcmp(preset, "kimi") == 0) {
            arch_s = "deepseek2";
        } else {
            return usage_error("--arch is required (llama, phi3, deepseek2)");
        }
    }
    if (strcmp(arch_s, "llama") == 0) {
        arch = MK_LLAMA;
    } else if (strcmp(arch_s, "phi3") == 0) {
        arch = MK_PHI3;
    } else if (strcmp(arch_s, "deepseek2") == 0) {
        arch = MK_DEEPSEEK2;
    } else {
        return usage_error("--arch: unknown architecture '%s' (llama, phi3, deepseek2)", arch_s);
    }
    mk_model m;
    memset(&m, 0, sizeof m);
    if (!mk_preset(arch, preset, &m.hp)) {
        return usage_error("--preset: no preset '%s' for arch %s (llama: tiny; phi3: tiny, phi4; "
                           "deepseek2: tiny, kimi)", preset, arch_s);
    }
    if (!type_s) { return usage_error("--type is required"); }
    m.ft = mk_ftype_find(type_s);
    if (!m.ft) {
        char types[256];
        mk_ftype_list(types, sizeof types, NULL);
        return usage_error("--type: unknown type '%s' (%s)", type_s, types);
    }
    if (!out && !dry && !no_write) { return usage_error("-o FILE.gguf is required"); }
    bool ds2 = arch == MK_DEEPSEEK2;
    if (!ds2 && (kv_b || fused || lite || groups > 0 || experts > 0)) {
        return usage_error("--kv-b, --fused-exps, --lite, --expert-groups and --experts are for "
                           "--arch deepseek2");
    }
    if (kv_b && m.ft->base != WICK_DTYPE_F32 && m.ft->base != WICK_DTYPE_F16 &&
        m.ft->base != WICK_DTYPE_BF16) {
        return usage_error("--kv-b writes F32, F16 or BF16 files only");
    }
    if (arch != MK_LLAMA && (rope_freqs || tied >= 0)) {
        return usage_error("--rope-freqs, --tied and --untied are for --arch llama");
    }
    mk_hparams *hp = &m.hp;
    if (layers > 0) {
        hp->n_layer = layers;
        if (hp->n_dense_lead > layers) { hp->n_dense_lead = layers; }
    }
    if (experts > 0) {
        if (experts < hp->n_expert_used) {
            return usage_error("--experts %lld: fewer than the %lld experts used per token",
                               (long long)experts, (long long)hp->n_expert_used);
        }
        hp->n_expert = experts;
    }
    if (groups > 0) {
        if (hp->n_expert % groups != 0 || groups_used > groups) {
            return usage_error("--expert-groups %lld:%lld: G must divide the %lld experts and "
                               "U <= G", (long long)groups, (long long)groups_used,
                               (long long)hp->n_expert);
        }
        hp->n_group = groups, hp->n_group_used = groups_used;
    }
    if (n_ctx > 0) {
        hp->n_ctx = n_ctx;
        if (arch == MK_PHI3) { hp->n_ctx_orig = n_ctx; }
    }
    if (tied >= 0) { hp->tied = tied == 1; }
    m.tok_pre = tok_pre;
    m.gguf_version = (uint32_t)version, m.alignment = (size_t)alignment;
    m.seed = seed, m.kv_b = kv_b, m.fused_exps = fused, m.lite = lite, m.rope_freqs = rope_freqs;

    // --- vocabulary ---
    wick_gguf *vocab = NULL;
    int rc = 0;
    if (vocab_from) {
        wick_status st = wick_gguf_open(vocab_from, &vocab);
        if (st < 0) { return fail("%s", *wick_errmsg() ? wick_errmsg() : wick_strerror(st)); }
        const wick_gguf_value *toks = NULL;
        if (wick_gguf_get_array(vocab, "tokenizer.ggml.tokens", &toks) < 0) {
            rc = fail("%s: no tokenizer.ggml.tokens array", vocab_from);
            goto done;
        }
        int64_t nt = (int64_t)wick_gguf_array_len(toks);
        if (n_vocab > 0 && n_vocab != nt) {
            rc = fail("--vocab %lld, but %s has %lld tokens", (long long)n_vocab, vocab_from,
                      (long long)nt);
            goto done;
        }
        n_vocab = nt;
    } else if (n_vocab > 0 && n_vocab < 258) {
        return usage_error("--vocab %lld: the byte-level vocabulary needs at least 258 tokens",
                           (long long)n_vocab);
    }
    if (n_vocab > 0) { hp->n_vocab = n_vocab; }

    // --- tensors ---
    mk_fill_init();
    const char *why = mk_build_tensors(&m);
    if (why) {
        rc = fail("%s", why);
        goto done;
    }
    if (dry) {
        print_table(&m);
        goto done;
    }
    if (no_write) {
        rc = generate_only(&m, (int)threads);
        goto done;
    }
    if (split > m.n_t) {
        rc = usage_error("--split %lld: more shards than the %d tensors", (long long)split, m.n_t);
        goto done;
    }
    double t0 = now_s();
    size_t total = 0;
    for (int i = 0; i < m.n_t; i++) { total += tensor_bytes(&m.t[i]); }
    if (split == 1) {
        rc = write_shard(&m, vocab, out, 0, 1, 0, m.n_t, (int)threads, quiet);
    } else {
        // NAME-00001-of-0000N.gguf; the tensors in order, n/N (rounded) per shard
        size_t len = strlen(out);
        size_t stem = len > 5 && strcmp(out + len - 5, ".gguf") == 0 ? len - 5 : len;
        for (int s = 0; s < split && rc == 0; s++) {
            char path[4096];
            int first = (int)(m.n_t * s / split), count = (int)(m.n_t * (s + 1) / split) - first;
            snprintf(path, sizeof path, "%.*s-%05d-of-%05d.gguf", (int)stem, out, s + 1,
                     (int)split);
            rc = write_shard(&m, vocab, path, s, (int)split, first, count, (int)threads, quiet);
        }
        if (rc == 0 && !quiet) {
            double dt = now_s() - t0;
            printf("total: %d tensors in %lld shards, %.3f GB, %.2f s, %.2f GB/s\n", m.n_t,
                   (long long)split, (double)total / 1e9, dt,
                   dt > 0 ? (double)total / 1e9 / dt : 0.0);
        }
    }
done:
    free(m.t);
    wick_gguf_close(vocab);
    return rc;
}
