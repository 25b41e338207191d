// test_model_bad.c — broken model files and misuse of the session API: each must fail with an
// error naming what is wrong, never crash. Broken files are made from tests/data's llama-F32 and
// phi3-F32 with the GGUF writer (one defect each). Also: allocation failures while opening a
// model and creating a session, the f16 KV cache against the f32 one, truncate/reset, and a
// prompt evaluated in one pass vs. token by token.
#include <sys/stat.h>

#include "harness.h"
#include "model/model.h"

typedef struct variant {
    const char *drop_key; // leave this key out
    const char *set_key; // then add it (or replace it) with this value
    const char *set_str; // ... a string
    uint32_t set_u32; // ... or an u32 when set_str is NULL
    const char *drop_tensor;
    const char *reshape_tensor; // declare it with ne[1] halved
    const char *extra_tensor; // add a copy of output_norm.weight under this name
} variant;

static const char *make_variant(const char *src_rel, const char *name, const variant *v)
{
    static char out[1024];
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(out, sizeof out, "%s/tmp-model-bad", b ? b : "/tmp");
    mkdir(out, 0777);
    snprintf(out, sizeof out, "%s/tmp-model-bad/%s.gguf", b ? b : "/tmp", name);
    wick_gguf *g = NULL;
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_open(test_data(src_rel), &g));
    CHECK_OK(wick_gguf_writer_create(&w));
    if (!g || !w) { goto done; }
    for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
        const char *k = wick_gguf_kv_key(g, i);
        if (v->drop_key && strcmp(k, v->drop_key) == 0) { continue; }
        if (v->set_key && strcmp(k, v->set_key) == 0) { continue; }
        CHECK_OK(wick_gguf_writer_copy_kv(w, g, i));
    }
    if (v->set_key) {
        if (v->set_str) {
            CHECK_OK(wick_gguf_writer_add_str(w, v->set_key, v->set_str));
        } else {
            CHECK_OK(wick_gguf_writer_add_u32(w, v->set_key, v->set_u32));
        }
    }
    for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
        wick_tensor_info ti;
        CHECK_OK(wick_gguf_tensor(g, i, &ti));
        if (v->drop_tensor && strcmp(ti.name, v->drop_tensor) == 0) { continue; }
        int64_t ne[4];
        memcpy(ne, ti.ne, sizeof ne);
        if (v->reshape_tensor && strcmp(ti.name, v->reshape_tensor) == 0) { ne[1] /= 2; }
        CHECK_OK(wick_gguf_writer_add_tensor(w, ti.name, ti.type, ti.n_dims, ne, ti.data));
        if (v->extra_tensor && strcmp(ti.name, "output_norm.weight") == 0) {
            CHECK_OK(
                wick_gguf_writer_add_tensor(w, v->extra_tensor, ti.type, ti.n_dims, ne, ti.data));
        }
    }
    CHECK_OK(wick_gguf_writer_write(w, out, NULL, NULL));
done:
    wick_gguf_writer_destroy(w);
    wick_gguf_close(g);
    return out;
}

static void expect_open_fail(const char *src, const char *name, const variant *v, wick_status code,
                             const char *needle)
{
    const char *path = make_variant(src, name, v);
    wick_model *m = (wick_model *)1;
    CHECK_FAIL(wick_model_open(path, NULL, &m), code, needle);
    CHECK(m == NULL);
    const char *msg = wick_errmsg();
    CHECKF(strncmp(msg, path, strlen(path)) == 0, "message '%s' does not start with the path", msg);
    printf("  %-22s -> %s\n", name, msg);
}

static void test_bad_files(void)
{
    const char *L = "models/llama-F32.gguf", *P = "models/phi3-F32.gguf";
    variant v;
    memset(&v, 0, sizeof v);
    v.drop_tensor = "blk.1.ffn_down.weight";
    expect_open_fail(L, "missing-tensor", &v, WICK_E_FORMAT,
                     "missing tensor 'blk.1.ffn_down.weight'");
    memset(&v, 0, sizeof v);
    v.drop_tensor = "blk.0.attn_qkv.weight"; // phi3 then wants separate attn_q/k/v
    expect_open_fail(P, "missing-qkv", &v, WICK_E_FORMAT, "missing tensor 'blk.0.attn_q.weight'");
    memset(&v, 0, sizeof v);
    v.reshape_tensor = "blk.0.attn_k.weight";
    expect_open_fail(
        L, "wrong-shape", &v, WICK_E_FORMAT,
        "tensor 'blk.0.attn_k.weight': shape [256, 32, 1, 1], expected [256, 64, 1, 1]");
    memset(&v, 0, sizeof v);
    v.reshape_tensor = "blk.1.ffn_up.weight";
    expect_open_fail(P, "wrong-shape-fused-up", &v, WICK_E_FORMAT, "tensor 'blk.1.ffn_up.weight'");
    memset(&v, 0, sizeof v);
    v.set_key = "general.architecture";
    v.set_str = "mamba";
    expect_open_fail(L, "unknown-arch", &v, WICK_E_UNSUPPORTED, "architecture 'mamba'");
    memset(&v, 0, sizeof v);
    v.set_key = "llama.attention.head_count_kv";
    v.set_u32 = 3;
    expect_open_fail(L, "kv-heads-not-dividing", &v, WICK_E_FORMAT,
                     "head_count 8 is not a multiple of attention.head_count_kv 3");
    memset(&v, 0, sizeof v);
    v.set_key = "llama.attention.head_count";
    v.set_u32 = 6;
    expect_open_fail(L, "heads-not-dividing", &v, WICK_E_FORMAT, "not a multiple");
    memset(&v, 0, sizeof v);
    v.set_key = "phi3.attention.head_count_kv";
    v.set_u32 = 0;
    expect_open_fail(P, "zero-kv-heads", &v, WICK_E_FORMAT, "head_count_kv = 0");
    memset(&v, 0, sizeof v);
    v.set_key = "llama.rope.dimension_count";
    v.set_u32 = 31;
    expect_open_fail(L, "odd-rope-dims", &v, WICK_E_FORMAT, "rope.dimension_count 31");
    memset(&v, 0, sizeof v);
    v.set_key = "llama.context_length";
    v.set_u32 = 0;
    expect_open_fail(L, "zero-context", &v, WICK_E_FORMAT, "context_length = 0");
    memset(&v, 0, sizeof v);
    v.set_key = "phi3.embedding_length";
    v.set_u32 = 512;
    expect_open_fail(P, "embd-mismatch", &v, WICK_E_FORMAT, "tensor 'token_embd.weight': shape");
    memset(&v, 0, sizeof v);
    v.set_key = "phi3.feed_forward_length";
    v.set_str = "wide";
    expect_open_fail(P, "ffn-not-a-number", &v, WICK_E_FORMAT,
                     "key 'phi3.feed_forward_length': expected an integer, found string");
    memset(&v, 0, sizeof v);
    v.drop_key = "llama.block_count";
    expect_open_fail(L, "missing-key", &v, WICK_E_FORMAT, "missing key 'llama.block_count'");
    memset(&v, 0, sizeof v);
    v.extra_tensor = "blk.0.attn_sinks.weight";
    expect_open_fail(L, "unexpected-tensor", &v, WICK_E_FORMAT,
                     "unexpected tensor 'blk.0.attn_sinks.weight'");
    memset(&v, 0, sizeof v);
    v.set_key = "llama.block_count";
    v.set_u32 = 3;
    expect_open_fail(L, "too-many-layers", &v, WICK_E_FORMAT,
                     "missing tensor 'blk.2.attn_norm.weight'");

    wick_model *m = (wick_model *)1;
    CHECKF(wick_model_open(test_data("models/no-such.gguf"), NULL, &m) < 0 &&
               strstr(wick_errmsg(), "no-such.gguf") != NULL,
           "%s", wick_errmsg());
    CHECK(m == NULL);
}

static void test_session_misuse(void)
{
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(test_data("models/llama-F32.gguf"), NULL, &m));
    if (!m) { return; }
    CHECK(strcmp(wick_model_arch(m), "llama") == 0);
    CHECK(wick_model_n_layer(m) == 2 && wick_model_n_embd(m) == 256);
    CHECK(wick_model_kv_bytes_per_token(m, WICK_KV_F32) == 2 * 2 * 64 * 4);
    CHECK(wick_model_weight_bytes(m) > 5000000);
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = 8;
    so.n_threads = 2;
    wick_session *s = NULL;
    CHECK_OK(wick_session_create(m, &so, &s));
    if (s) {
        const int32_t bad[2] = {1, 1 << 20};
        CHECK_FAIL(wick_session_eval(s, bad, 2), WICK_E_INVALID, "outside");
        CHECK_FAIL(wick_session_eval(s, bad, 0), WICK_E_INVALID, NULL);
        int32_t toks[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        CHECK_FAIL(wick_session_eval(s, toks, 9), WICK_E_RANGE, "exceed the context");
        CHECK(wick_session_n_past(s) == 0);
        CHECK_OK(wick_session_eval(s, toks, 8));
        CHECK(wick_session_n_past(s) == 8);
        CHECK_FAIL(wick_session_eval(s, toks, 1), WICK_E_RANGE, NULL);
        CHECK(wick_session_logits(s, -1) != NULL);
        CHECK(wick_session_logits(s, 7) == wick_session_logits(s, -1));
        CHECK(wick_session_logits(s, 0) == NULL); // logits_all is off
        CHECK_FAIL(wick_session_truncate(s, 9), WICK_E_INVALID, NULL);
        // cancel: the next eval stops, the positions stay; the one after runs
        CHECK_OK(wick_session_truncate(s, 4));
        wick_session_cancel(s);
        CHECK_FAIL(wick_session_eval(s, toks, 2), WICK_E_CANCELLED, "cancelled");
        CHECK(wick_session_n_past(s) == 4 && wick_session_logits(s, -1) == NULL);
        CHECK_OK(wick_session_eval(s, toks, 2));
        CHECK(wick_session_n_past(s) == 6);
        CHECK_OK(wick_session_truncate(s, 3));
        CHECK(wick_session_n_past(s) == 3);
        wick_session_reset(s);
        CHECK(wick_session_n_past(s) == 0);
    }
    wick_session_destroy(s);
    so.n_threads = -1;
    CHECK_FAIL(wick_session_create(m, &so, &s), WICK_E_INVALID, "n_threads");
    wick_session_destroy(NULL);
    wick_model_close(m);
    wick_model_close(NULL);
}

// Logits after a prompt in one pass, in passes of 3 (n_batch 3), token by token, and after a
// truncate + re-eval must agree (the same float32 ops; only GEMM tiling differs); the f16 KV
// cache stays close to the f32 one.
static void test_passes_and_f16_cache(const char *rel, double f16_tol)
{
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(test_data(rel), NULL, &m));
    if (!m) { return; }
    const int32_t nv = wick_model_n_vocab(m);
    int32_t toks[20];
    for (int i = 0; i < 20; i++) { toks[i] = (i * 37 + 11) % nv; }
    float *ref = malloc(sizeof(float) * (size_t)nv);
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = 64;
    so.n_threads = 2;
    wick_session *s = NULL;
    CHECK_OK(wick_session_create(m, &so, &s));
    if (s) {
        CHECK_OK(wick_session_eval(s, toks, 20));
        memcpy(ref, wick_session_logits(s, -1), sizeof(float) * (size_t)nv);
        // truncate to 12, then the remaining 8 again
        CHECK_OK(wick_session_truncate(s, 12));
        CHECK_OK(wick_session_eval(s, toks + 12, 8));
        const float *lg = wick_session_logits(s, -1);
        double d = 0, mx = 0;
        for (int32_t i = 0; i < nv; i++) {
            d = fmax(d, fabs((double)lg[i] - ref[i]));
            mx = fmax(mx, fabs((double)ref[i]));
        }
        CHECKF(d <= 1e-3 * mx, "%s: truncate + re-eval differs by %g", rel, d);
    }
    wick_session_destroy(s);
    s = NULL;
    // token by token, with n_batch 3 chunks
    so.n_batch = 3;
    CHECK_OK(wick_session_create(m, &so, &s));
    if (s) {
        CHECK_OK(wick_session_eval(s, toks, 10));
        for (int i = 10; i < 20; i++) { CHECK_OK(wick_session_eval(s, toks + i, 1)); }
        const float *lg = wick_session_logits(s, -1);
        double d = 0, mx = 0;
        for (int32_t i = 0; lg && i < nv; i++) {
            d = fmax(d, fabs((double)lg[i] - ref[i]));
            mx = fmax(mx, fabs((double)ref[i]));
        }
        CHECKF(lg && d <= 1e-3 * mx, "%s: passes of 3 / one token differ by %g", rel, d);
        printf("  %s: one pass vs passes of 3 + single tokens: max |diff| %g (max|logit| %g)\n",
               rel, d, mx);
    }
    wick_session_destroy(s);
    s = NULL;
    so.n_batch = 0;
    so.kv_type = WICK_KV_F16;
    CHECK_OK(wick_session_create(m, &so, &s));
    if (s) {
        CHECK_OK(wick_session_eval(s, toks, 20));
        const float *lg = wick_session_logits(s, -1);
        double d = 0, mx = 0;
        for (int32_t i = 0; i < nv; i++) {
            d = fmax(d, fabs((double)lg[i] - ref[i]));
            mx = fmax(mx, fabs((double)ref[i]));
        }
        // fp16 K/V (11-bit mantissa): ~1e-3 relative for F32 weights; quantized weights amplify
        // it where an activation crosses a rounding boundary (as the goldens' tolerances say)
        CHECKF(d <= f16_tol * mx, "%s: f16 cache differs by %g (max %g)", rel, d, mx);
        printf("  %s: f16 vs f32 KV cache: max |diff| %g (max|logit| %g)\n", rel, d, mx);
    }
    wick_session_destroy(s);
    free(ref);
    wick_model_close(m);
}

// Every allocation failure while opening a model and creating a session fails cleanly.
static void test_alloc_failures(void)
{
    int n_fail = 0;
    for (uint64_t k = 1; k < 100000; k++) {
        wk_alloc_fail_after(k);
        wick_model *m = NULL;
        wick_session *s = NULL;
        wick_status rc = wick_model_open(test_data("models/phi3-Q4_K_M.gguf"), NULL, &m);
        if (rc >= 0) {
            wick_session_opts so;
            wick_session_opts_init(&so);
            so.n_ctx = 16;
            so.n_threads = 1;
            rc = wick_session_create(m, &so, &s);
        }
        wk_alloc_fail_after(0);
        wick_session_destroy(s);
        wick_model_close(m);
        if (rc >= 0) { break; }
        CHECKF(rc == WICK_E_NOMEM, "allocation %llu: rc %d (%s)", (unsigned long long)k, rc,
               wick_errmsg());
        n_fail++;
    }
    printf("  allocation sweep: %d failure points, all clean\n", n_fail);
    CHECK(n_fail > 5);
}

// Every integer key of the arch set to 0, 3 and 2^32-1 in turn: the model either opens and
// evaluates two tokens, or fails with a message naming the file; it never crashes.
static void test_key_mutations(const char *src, const char *prefix)
{
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(test_data(src), &g));
    if (!g) { return; }
    static const uint32_t vals[] = {0, 3, 0xffffffffu};
    int n_open = 0, n_fail = 0;
    for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
        const char *k = wick_gguf_kv_key(g, i);
        wick_gguf_type t = wick_gguf_value_type(wick_gguf_kv_value(g, i));
        if (strncmp(k, prefix, strlen(prefix)) != 0 ||
            (t != WICK_GGUF_UINT32 && t != WICK_GGUF_INT32 && t != WICK_GGUF_UINT64)) {
            continue;
        }
        for (size_t vi = 0; vi < WK_ARRAY_LEN(vals); vi++) {
            variant v;
            memset(&v, 0, sizeof v);
            v.set_key = k;
            v.set_u32 = vals[vi];
            const char *path = make_variant(src, "mutation", &v);
            wick_model *m = NULL;
            wick_status rc = wick_model_open(path, NULL, &m);
            if (rc < 0) {
                n_fail++;
                CHECKF(strstr(wick_errmsg(), "mutation.gguf") != NULL, "%s=%u: '%s'", k, vals[vi],
                       wick_errmsg());
                continue;
            }
            n_open++;
            if (getenv("WICK_TEST_VERBOSE")) { printf("    opened: %s = %u\n", k, vals[vi]); }
            wick_session_opts so;
            wick_session_opts_init(&so);
            so.n_ctx = 16;
            so.n_threads = 2;
            wick_session *s = NULL;
            if (wick_session_create(m, &so, &s) >= 0) {
                const int32_t toks[2] = {1, 2};
                wick_session_eval(s, toks, 2);
            }
            wick_session_destroy(s);
            wick_model_close(m);
        }
    }
    printf("  key mutations of %s: %d opened and evaluated, %d refused with a message\n", src,
           n_open, n_fail);
    CHECK(n_fail > 5);
    wick_gguf_close(g);
}

int main(void)
{
    test_bad_files();
    test_session_misuse();
    test_passes_and_f16_cache("models/llama-Q4_K_M.gguf", 0.1);
    test_passes_and_f16_cache("models/phi3-F32.gguf", 2e-3);
    test_passes_and_f16_cache("models/llama-F32.gguf", 2e-3);
    test_alloc_failures();
    test_key_mutations("models/llama-Q4_K_M.gguf", "llama.");
    test_key_mutations("models/phi3-Q4_0.gguf", "phi3.");
    return test_summary("model_bad");
}
