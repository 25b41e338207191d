// test_model_ops.c — the engine's building blocks: the thread pool (every part runs exactly once,
// growing, clamping, concurrent callers), RMSNorm, softmax, SwiGLU, RoPE (NORM, NEOX, partial
// rotation, freq factors, linear scaling) against direct double-precision formulas, the matmul
// driver against a float reference for every fixture weight type, and the end-to-end
// equivalence "llama3 rope_freqs of all 4" == "linear RoPE scaling, factor 4" (no golden exists
// for either, shared/CONVENTIONS.md), and two sessions evaluating at once on one model.
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "harness.h"
#include "base/pool.h"
#include "model/dense.h"

// --- pool ----------------------------------------------------------------------------------------

typedef struct count_job {
    atomic_int hits[64];
    atomic_int calls;
    atomic_int nth_seen;
} count_job;

static void count_part(void *ctx, int ith, int nth)
{
    count_job *j = ctx;
    atomic_fetch_add(&j->hits[ith], 1);
    atomic_fetch_add(&j->calls, 1);
    atomic_store(&j->nth_seen, nth);
}

static void *concurrent_caller(void *arg)
{
    wk_pool *p = arg;
    for (int i = 0; i < 200; i++) {
        count_job j;
        memset(&j, 0, sizeof j);
        wk_pool_run(p, 3, count_part, &j);
        if (atomic_load(&j.calls) != 3) { return (void *)1; }
    }
    return NULL;
}

static void test_pool(void)
{
    wk_pool *p = NULL;
    CHECK_OK(wk_pool_create(3, &p));
    if (!p) { return; }
    CHECK(wk_pool_size(p) == 3);
    for (int rep = 0; rep < 500; rep++) {
        count_job j;
        memset(&j, 0, sizeof j);
        int nth = 1 + rep % 3;
        wk_pool_run(p, nth, count_part, &j);
        bool once = atomic_load(&j.calls) == nth && atomic_load(&j.nth_seen) == nth;
        for (int i = 0; i < nth; i++) { once = once && atomic_load(&j.hits[i]) == 1; }
        CHECKF(once, "rep %d: %d calls for %d parts", rep, atomic_load(&j.calls), nth);
        if (!once) { break; }
    }
    count_job j;
    memset(&j, 0, sizeof j);
    wk_pool_run(p, 10, count_part, &j); // clamped to the pool's size
    CHECK(atomic_load(&j.calls) == 3 && atomic_load(&j.nth_seen) == 3);
    CHECK_OK(wk_pool_grow(p, 5));
    CHECK(wk_pool_size(p) == 5);
    memset(&j, 0, sizeof j);
    wk_pool_run(p, 5, count_part, &j);
    CHECK(atomic_load(&j.calls) == 5);
    // two threads submitting jobs at once are serialized, each job complete
    pthread_t a, b;
    void *ra = NULL, *rb = NULL;
    pthread_create(&a, NULL, concurrent_caller, p);
    pthread_create(&b, NULL, concurrent_caller, p);
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    CHECK(ra == NULL && rb == NULL);
    wk_pool_destroy(p);
    wk_pool_destroy(NULL);

    wk_pool *g1 = NULL, *g2 = NULL;
    CHECK_OK(wk_pool_global(2, &g1));
    CHECK_OK(wk_pool_global(3, &g2));
    CHECK(g1 == g2 && g1 && wk_pool_size(g1) >= 3);
    CHECK(wk_cpu_count() >= 1);
}

// --- ops -----------------------------------------------------------------------------------------

static void test_norm_softmax_swiglu(void)
{
    float x[2][8], w[8], y[2][8];
    for (int i = 0; i < 8; i++) {
        x[0][i] = (float)(i - 3) * 0.5f;
        x[1][i] = (float)(i * i) * 0.1f;
        w[i] = 1.0f + 0.1f * (float)i;
    }
    wk_rms_norm(&y[0][0], &x[0][0], w, 2, 8, 1e-5f);
    for (int t = 0; t < 2; t++) {
        double ss = 0;
        for (int i = 0; i < 8; i++) { ss += (double)x[t][i] * x[t][i]; }
        double sc = 1.0 / sqrt(ss / 8 + 1e-5);
        for (int i = 0; i < 8; i++) {
            CHECKF(fabs(y[t][i] - x[t][i] * sc * w[i]) < 1e-5, "rms_norm %d %d", t, i);
        }
    }
    float s[5] = {1, 2, 3, -INFINITY, 0.5f};
    wk_softmax(s, 5);
    double z = exp(1 - 3) + exp(2 - 3) + 1 + exp(0.5 - 3);
    CHECK(fabs(s[2] - 1 / z) < 1e-6 && s[3] == 0.0f && fabs(s[0] - exp(-2) / z) < 1e-6);
    float g[4] = {-2, -0.5f, 0, 3}, u[4] = {1, 2, 3, 4}, h[4];
    wk_swiglu(h, 4, g, u, 4, 1, 4);
    for (int i = 0; i < 4; i++) {
        double e = g[i] / (1 + exp(-g[i])) * u[i];
        CHECKF(fabs(h[i] - e) < 1e-5, "swiglu %d: %g vs %g", i, h[i], e);
    }
}

// RoPE against the closed form: pair i of position p turns by p · base^(-2i/n_rot) / ff_i · fs.
static void test_rope(void)
{
    wk_hparams hp;
    memset(&hp, 0, sizeof hp);
    hp.rope_base = 10000.0f;
    hp.rope_freq_scale = 0.25f;
    hp.rope_attn_factor = 1.0f;
    hp.n_ctx_orig = 4096;
    hp.yarn_beta_fast = 32;
    hp.yarn_beta_slow = 1;
    const float ff[8] = {1, 2, 4, 8, 1, 1, 1, 1};
    for (int mode = 0; mode <= 2; mode += 2) {
        for (int use_ff = 0; use_ff < 2; use_ff++) {
            wk_rope r;
            const int64_t n_rot = 16, hd = 24; // partial: dims 16..23 stay
            wk_rope_init(&r, &hp, n_rot, mode, use_ff ? ff : NULL);
            float cs[16], x[2 * 24], x0[2 * 24];
            const int64_t pos = 37;
            wk_rope_cache(&r, pos, cs);
            for (int i = 0; i < 48; i++) { x[i] = x0[i] = sinf((float)i * 0.7f) + 0.1f * (float)i; }
            wk_rope_apply(&r, cs, x, 2, hd);
            double err = 0;
            for (int h = 0; h < 2; h++) {
                const float *a = x0 + h * hd;
                const float *b = x + h * hd;
                for (int i = 0; i < n_rot / 2; i++) {
                    double th = (double)pos * pow(10000.0, -2.0 * i / n_rot) /
                                (use_ff ? ff[i] : 1.0) * 0.25;
                    int i0 = mode == WK_ROPE_NEOX ? i : 2 * i;
                    int i1 = mode == WK_ROPE_NEOX ? i + n_rot / 2 : 2 * i + 1;
                    double e0 = a[i0] * cos(th) - a[i1] * sin(th);
                    double e1 = a[i0] * sin(th) + a[i1] * cos(th);
                    err = fmax(err, fmax(fabs(b[i0] - e0), fabs(b[i1] - e1)));
                }
                for (int i = (int)n_rot; i < hd; i++) { CHECK(b[i] == a[i]); }
            }
            CHECKF(err < 1e-4, "rope mode %d ff %d: error %g", mode, use_ff, err);
        }
    }
}

// --- matmul driver vs a float reference, for the weight types of the fixtures -------------------

static void test_matmul_types(void)
{
    static const char *files[] = {"models/llama-F32.gguf",    "models/llama-F16.gguf",
                                  "models/llama-BF16.gguf",   "models/llama-Q8_0.gguf",
                                  "models/llama-Q4_K_M.gguf", "models/phi3-Q3_K_M.gguf",
                                  "models/phi3-Q5_0.gguf",    "models/phi3-Q4_0.gguf"};
    wk_pool *pool = NULL;
    CHECK_OK(wk_pool_global(2, &pool));
    for (size_t f = 0; f < WK_ARRAY_LEN(files); f++) {
        wick_model *m = NULL;
        CHECK_OK(wick_model_open(test_data(files[f]), NULL, &m));
        if (!m) { continue; }
        const wk_dense_layer *L0 = &wk_dense_of(m)->layers[0];
        const wk_tensor *ws[] = {&L0->ffn_down, &L0->wo, L0->wqkv.data ? &L0->wqkv : &L0->wq};
        for (size_t k = 0; k < WK_ARRAY_LEN(ws); k++) {
            const wk_tensor *w = ws[k];
            const int64_t K = w->ne[0], N = w->n_rows, T = 7;
            float *x = malloc(sizeof(float) * (size_t)(T * K));
            float *y = malloc(sizeof(float) * (size_t)(T * N));
            float *row = malloc(sizeof(float) * (size_t)K);
            for (int64_t i = 0; i < T * K; i++) { x[i] = sinf((float)i * 0.37f); }
            wk_mm mm;
            CHECK_OK(wk_mm_init(&mm, pool, 2, T, K));
            wk_matmul(&mm, w, x, T, y);
            // a weight repacked at load (rows interleaved by four): its rows in file order
            void *flat = NULL;
            if (w->il4) {
                flat = malloc(w->row_bytes * (size_t)N);
                wk_deinterleave4(flat, w->data, N, w->row_bytes, wk_type(w->type)->bytes);
            }
            const char *wd = flat ? flat : w->data;
            double err = 0, scale = 0;
            for (int64_t n = 0; n < N; n++) {
                mm.kern->to_float[w->type](wd + (size_t)n * w->row_bytes, row, K);
                for (int64_t t = 0; t < T; t++) {
                    double ref = 0, mag = 0;
                    for (int64_t i = 0; i < K; i++) {
                        ref += (double)row[i] * x[t * K + i];
                        mag += fabs((double)row[i] * x[t * K + i]);
                    }
                    err = fmax(err, fabs(y[t * N + n] - ref));
                    scale = fmax(scale, mag);
                }
            }
            // activation quantization (Q8_0/Q8_K: ~1/254 relative per element) bounds the error
            CHECKF(err <= 1e-2 * scale, "%s %s: matmul error %g (scale %g)", files[f], w->name, err,
                   scale);
            wk_mm_free(&mm);
            free(flat);
            free(x);
            free(y);
            free(row);
        }
        wick_model_close(m);
    }
}

// --- rope_freqs (all 4) vs linear scaling 4, end to end ------------------------------------------

static const char *write_variant(const char *name, bool rope_freqs)
{
    static char out[2][1024];
    char *path = out[rope_freqs];
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(path, 1024, "%s/tmp-model-ops", b ? b : "/tmp");
    mkdir(path, 0777);
    snprintf(path, 1024, "%s/tmp-model-ops/%s.gguf", b ? b : "/tmp", name);
    wick_gguf *g = NULL;
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_open(test_data("models/llama-F32.gguf"), &g));
    CHECK_OK(wick_gguf_writer_create(&w));
    static float four[16];
    for (int i = 0; i < 16; i++) { four[i] = 4.0f; }
    if (g && w) {
        for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
            const char *k = wick_gguf_kv_key(g, i);
            if (strncmp(k, "llama.rope.scaling", 18) == 0) { continue; }
            CHECK_OK(wick_gguf_writer_copy_kv(w, g, i));
        }
        if (!rope_freqs) {
            CHECK_OK(wick_gguf_writer_add_str(w, "llama.rope.scaling.type", "linear"));
            CHECK_OK(wick_gguf_writer_add_f32(w, "llama.rope.scaling.factor", 4.0f));
        }
        for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
            wick_tensor_info ti;
            CHECK_OK(wick_gguf_tensor(g, i, &ti));
            CHECK_OK(wick_gguf_writer_add_tensor(w, ti.name, ti.type, ti.n_dims, ti.ne, ti.data));
        }
        if (rope_freqs) {
            const int64_t ne[1] = {16}; // n_rot / 2 = head_dim 32 / 2
            CHECK_OK(
                wick_gguf_writer_add_tensor(w, "rope_freqs.weight", WICK_DTYPE_F32, 1, ne, four));
        }
        CHECK_OK(wick_gguf_writer_write(w, path, NULL, NULL));
    }
    wick_gguf_writer_destroy(w);
    wick_gguf_close(g);
    return path;
}

static void last_logits(const char *path, const int32_t *toks, int n, float *out, int32_t *nv)
{
    wick_model *m = NULL;
    wick_session *s = NULL;
    CHECK_OK(wick_model_open(path, NULL, &m));
    if (m) { CHECK_OK(wick_session_create(m, NULL, &s)); }
    if (s) {
        CHECK_OK(wick_session_eval(s, toks, n));
        *nv = wick_model_n_vocab(m);
        memcpy(out, wick_session_logits(s, -1), sizeof(float) * (size_t)*nv);
    }
    wick_session_destroy(s);
    wick_model_close(m);
}

static void test_rope_freqs_equivalence(void)
{
    const char *a = write_variant("rope-freqs-4", true);
    const char *b = write_variant("rope-linear-4", false);
    int32_t toks[64];
    for (int i = 0; i < 64; i++) { toks[i] = (i * 97 + 5) % 1536; }
    static float la[1 << 16], lb[1 << 16], l0[1 << 16];
    int32_t nv = 0;
    last_logits(a, toks, 64, la, &nv);
    last_logits(b, toks, 64, lb, &nv);
    last_logits(test_data("models/llama-F32.gguf"), toks, 64, l0, &nv);
    double d = 0, d0 = 0;
    for (int32_t i = 0; i < nv; i++) {
        d = fmax(d, fabs((double)la[i] - lb[i]));
        d0 = fmax(d0, fabs((double)la[i] - l0[i]));
    }
    printf("  rope_freqs=4 vs linear scaling 4: max |diff| %g; vs unscaled: %g\n", d, d0);
    CHECKF(nv > 0 && d < 1e-3, "rope_freqs vs linear: %g", d);
    CHECKF(d0 > 1e-2, "scaling changed nothing (%g)", d0); // both really scale
}

// Optional biases: the llama fixture plus zero attn_q/k/v/output biases and a zero output.bias
// gives the fixture's logits exactly (the bias path runs: every tensor must be bound).
static void test_zero_biases(void)
{
    const char *b = getenv("WICK_BUILD_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tmp-model-ops", b ? b : "/tmp");
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/tmp-model-ops/zero-bias.gguf", b ? b : "/tmp");
    wick_gguf *g = NULL;
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_open(test_data("models/llama-F32.gguf"), &g));
    CHECK_OK(wick_gguf_writer_create(&w));
    static float zeros[4096];
    if (g && w) {
        for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
            CHECK_OK(wick_gguf_writer_copy_kv(w, g, i));
        }
        for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
            wick_tensor_info ti;
            CHECK_OK(wick_gguf_tensor(g, i, &ti));
            CHECK_OK(wick_gguf_writer_add_tensor(w, ti.name, ti.type, ti.n_dims, ti.ne, ti.data));
        }
        static const char *names[] = {"attn_q", "attn_k", "attn_v", "attn_output"};
        static const int64_t sizes[] = {256, 64, 64, 256};
        for (int il = 0; il < 2; il++) {
            for (int k = 0; k < 4; k++) {
                char nm[64];
                snprintf(nm, sizeof nm, "blk.%d.%s.bias", il, names[k]);
                CHECK_OK(wick_gguf_writer_add_tensor(w, nm, WICK_DTYPE_F32, 1, &sizes[k], zeros));
            }
        }
        const int64_t nv = 1536;
        CHECK_OK(wick_gguf_writer_add_tensor(w, "output.bias", WICK_DTYPE_F32, 1, &nv, zeros));
        CHECK_OK(wick_gguf_writer_write(w, path, NULL, NULL));
    }
    wick_gguf_writer_destroy(w);
    wick_gguf_close(g);
    int32_t toks[16];
    for (int i = 0; i < 16; i++) { toks[i] = (i * 53 + 3) % 1536; }
    static float la[1536], lb[1536];
    int32_t nv = 0;
    last_logits(path, toks, 16, la, &nv);
    last_logits(test_data("models/llama-F32.gguf"), toks, 16, lb, &nv);
    CHECK(nv == 1536 && memcmp(la, lb, sizeof la) == 0);
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(path, NULL, &m));
    CHECK(m && wk_dense_of(m)->layers[1].bv.data != NULL && m->output_b.data != NULL);
    wick_model_close(m);
}

// Two sessions on one model, evaluated at the same time from two threads (their jobs share the
// process pool), give the logits a lone session gives.
typedef struct conc_arg {
    wick_model *m;
    const int32_t *toks;
    float *out;
    int32_t nv;
    wick_status rc;
} conc_arg;

static void *conc_eval(void *p)
{
    conc_arg *c = p;
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = 64;
    so.n_threads = 2;
    wick_session *s = NULL;
    c->rc = wick_session_create(c->m, &so, &s);
    for (int rep = 0; rep < 5 && c->rc >= 0; rep++) {
        wick_session_reset(s);
        c->rc = wick_session_eval(s, c->toks, 48);
    }
    if (c->rc >= 0) { memcpy(c->out, wick_session_logits(s, -1), sizeof(float) * (size_t)c->nv); }
    wick_session_destroy(s);
    return NULL;
}

static void test_concurrent_sessions(void)
{
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(test_data("models/phi3-Q4_K_M.gguf"), NULL, &m));
    if (!m) { return; }
    int32_t nv = wick_model_n_vocab(m), toks[48];
    for (int i = 0; i < 48; i++) { toks[i] = (i * 31 + 7) % nv; }
    float *ref = malloc(sizeof(float) * (size_t)nv * 3);
    conc_arg a[3];
    for (int i = 0; i < 3; i++) { a[i] = (conc_arg){m, toks, ref + (size_t)i * (size_t)nv, nv, 0}; }
    conc_eval(&a[0]);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, conc_eval, &a[1]);
    pthread_create(&t2, NULL, conc_eval, &a[2]);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(a[0].rc >= 0 && a[1].rc >= 0 && a[2].rc >= 0);
    CHECK(memcmp(ref, ref + nv, sizeof(float) * (size_t)nv) == 0);
    CHECK(memcmp(ref, ref + 2 * nv, sizeof(float) * (size_t)nv) == 0);
    free(ref);
    wick_model_close(m);
}

int main(void)
{
    test_pool();
    test_norm_softmax_swiglu();
    test_rope();
    test_matmul_types();
    test_rope_freqs_equivalence();
    test_concurrent_sessions();
    test_zero_biases();
    return test_summary("model_ops");
}
