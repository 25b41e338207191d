// fill.c — the random bytes of every tensor, written straight into the output mapping.
//
// Randomness is counter-based: word c of stream k is splitmix64's finalizer applied to
// k + c * golden, so any thread can start anywhere and a value depends only on (seed, canonical
// tensor name, position), never on which tensors come before it or how they are laid out.
//
// Float tensors (F32/F16/BF16): element i of a stream (flat index over the canonical shape) takes
// bits 16*(i%4).. of word i/4 as an index into a table of 65536 standard-normal quantiles, so
// value = mu + sigma * Phi^-1((idx + 0.5) / 65536). The F16/BF16 files hold the rounded F32 values.
//
// Quantized tensors: blocks are written directly — random quant bits, random sub-block scales in a
// fixed range, fp16 d (and dmin / m) chosen so that the weights have roughly the stream's sigma and
// mean 0; d is jittered per block (0.75..1.25 x) from 8 random bits (and has a random sign
// in Q4_0, Q5_0, Q6_K). No NaN, infinity or -128 quant (Q8_0) is ever written. Block g of a
// stream (row r, block b: g = r * blocks_per_row + b) uses words g*W .. g*W+W-1 (W per type
// below), so fused tensors that reuse rows of other streams reproduce their blocks exactly.
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

#define GOLDEN 0x9E3779B97F4A7C15ull

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rnd(uint64_t key, uint64_t ctr) { return mix64(key + ctr * GOLDEN); }

uint64_t mk_stream_key(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; // FNV-1a of the name, then mixed with the seed
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ull;
    }
    return mix64(mix64(seed ^ 0x6d6b6d6f64656cull) ^ h);
}

// --- standard normal quantiles -------------------------------------------------------------------
static float g_q[65536];

// Phi^-1((i + 0.5) / 65536) for the upper half by Newton's method on the upper tail
// Q(x) = erfc(x/sqrt2)/2, which is convex for x > 0, so iterates from below never overshoot; the
// lower half by symmetry.
void mk_fill_init(void)
{
    double x = 0.0;
    for (int i = 32768; i < 65536; i++) {
        double tail = (65536.0 - (i + 0.5)) / 65536.0; // 1 - p
        for (int it = 0; it < 100; it++) {
            double f = 0.5 * erfc(x / sqrt(2.0)) - tail;
            double d = -exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
            double step = f / d;
            x -= step;
            if (fabs(step) < 1e-13) { break; }
        }
        g_q[i] = (float)x;
        g_q[65535 - i] = (float)-x;
    }
}

// --- per-stream tables ---------------------------------------------------------------------------
typedef struct tabs {
    uint64_t key;
    float *f;     // 65536 values mu + sigma*q (float types)
    uint16_t *h;  // the same as F16 or BF16
    uint16_t d[256], m[256]; // quantized: fp16 d and dmin/m per jitter level
} tabs;

typedef struct gen {
    const mk_model *model;
    const mk_tensor *t;
    int type;
    size_t block_bytes, row_bytes;
    int64_t bpr; // blocks per row
    int words;   // random words per block
    tabs tab[2];
} gen;

// Per type: bytes and random words per block; K = E[(scale*q)^2]^(1/2) in units of d, so
// d = sigma / K; C = dmin (or m) in units of d that makes the block mean 0.
typedef struct qinfo {
    int type;
    size_t bytes;
    int words;
    float k, c;
} qinfo;

static const qinfo qinfos[] = {
    // q - 8 uniform on -8..7: rms 4.61
    {WICK_DTYPE_Q4_0, 18, 3, 4.61f, 0.0f},
    // q uniform 0..15, m = -7.5 d
    {WICK_DTYPE_Q4_1, 20, 3, 4.61f, -7.5f},
    {WICK_DTYPE_Q5_0, 22, 3, 9.23f, 0.0f},
    {WICK_DTYPE_Q5_1, 24, 3, 9.23f, -15.5f},
    // -127..127 (0x80 moved to -127): rms 73.6
    {WICK_DTYPE_Q8_0, 34, 5, 73.6f, 0.0f},
    // scales 8..15 (rms 11.73), q 0..3 (sd 1.118), m = scale, dmin = 1.5 d
    {WICK_DTYPE_Q2_K, 84, 9, 13.11f, 1.5f},
    // signed scales +-(8..15), q -4..3 (rms 2.345)
    {WICK_DTYPE_Q3_K, 110, 14, 27.5f, 0.0f},
    // 6-bit scales 32..63 (rms 48.39), q 0..15, m = scale, dmin = 7.5 d
    {WICK_DTYPE_Q4_K, 144, 17, 223.1f, 7.5f},
    {WICK_DTYPE_Q5_K, 176, 21, 446.8f, 15.5f},
    // int8 scales 16..31 (rms 23.95), q -32..31 (sd 18.47)
    {WICK_DTYPE_Q6_K, 210, 26, 442.4f, 0.0f},
};

static const qinfo *qinfo_of(int type)
{
    for (size_t i = 0; i < sizeof qinfos / sizeof qinfos[0]; i++) {
        if (qinfos[i].type == type) { return &qinfos[i]; }
    }
    return NULL;
}

static bool tabs_init(tabs *tb, const mk_src *s, int type)
{
    memset(tb, 0, sizeof *tb);
    tb->key = s->key;
    if (type == WICK_DTYPE_F32 || type == WICK_DTYPE_F16 || type == WICK_DTYPE_BF16) {
        tb->f = malloc(65536 * sizeof *tb->f);
        if (!tb->f) { return false; }
        for (int i = 0; i < 65536; i++) { tb->f[i] = s->mu + s->sigma * g_q[i]; }
        if (type != WICK_DTYPE_F32) {
            tb->h = malloc(65536 * sizeof *tb->h);
            if (!tb->h) { return false; }
            for (int i = 0; i < 65536; i++) {
                float v = tb->f[i];
                tb->h[i] = type == WICK_DTYPE_F16 ? wick_f32_to_f16(v) : wick_f32_to_bf16(v);
            }
        }
        return true;
    }
    const qinfo *qi = qinfo_of(type);
    float base = s->sigma / qi->k;
    for (int i = 0; i < 256; i++) {
        float d = base * (0.75f + 0.5f * (float)i / 255.0f);
        tb->d[i] = wick_f32_to_f16(d);
        tb->m[i] = wick_f32_to_f16(d * qi->c);
    }
    return true;
}

static void tabs_free(tabs *tb)
{
    free(tb->f);
    free(tb->h);
    tb->f = NULL, tb->h = NULL;
}

// --- quantized blocks (layouts: MODELS.md §4) ----------------------------------------------------
static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

// Moves every 0x80 byte (-128, which real quantizers never produce) to 0x81 (-127).
static inline uint64_t no_m128(uint64_t w)
{
    const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full;
    uint64_t t = w ^ 0x8080808080808080ull;
    uint64_t zero = ~(((t & lo7) + lo7) | t | lo7); // 0x80 in each byte where t is 0
    return w | (zero >> 7);
}

static void block(int type, const tabs *tb, const uint64_t *w, uint8_t *y)
{
    unsigned di = (unsigned)(w[0] & 255);
    // symmetric formats with quants of mean -0.5: a random sign on d (ggml's own quantizers write
    // negative d for Q4_0, Q5_0 and Q6_K too) makes the tensor's mean 0
    uint16_t sd = (uint16_t)(tb->d[di] ^ (((w[0] >> 8) & 1u) << 15));
    switch (type) {
    case WICK_DTYPE_Q4_0: // half d; u8 qs[16]
        put16(y, sd);
        memcpy(y + 2, &w[1], 16);
        break;
    case WICK_DTYPE_Q4_1: // half d, m; u8 qs[16]
        put16(y, tb->d[di]);
        put16(y + 2, tb->m[di]);
        memcpy(y + 4, &w[1], 16);
        break;
    case WICK_DTYPE_Q5_0: { // half d; u8 qh[4]; u8 qs[16]
        uint32_t qh = (uint32_t)(w[0] >> 32);
        put16(y, sd);
        memcpy(y + 2, &qh, 4);
        memcpy(y + 6, &w[1], 16);
        break;
    }
    case WICK_DTYPE_Q5_1: { // half d, m; u8 qh[4]; u8 qs[16]
        uint32_t qh = (uint32_t)(w[0] >> 32);
        put16(y, tb->d[di]);
        put16(y + 2, tb->m[di]);
        memcpy(y + 4, &qh, 4);
        memcpy(y + 8, &w[1], 16);
        break;
    }
    case WICK_DTYPE_Q8_0: { // half d; i8 qs[32]
        uint64_t q[4] = {no_m128(w[1]), no_m128(w[2]), no_m128(w[3]), no_m128(w[4])};
        put16(y, tb->d[di]);
        memcpy(y + 2, q, 32);
        break;
    }
    case WICK_DTYPE_Q2_K: { // u8 scales[16]; u8 qs[64]; half d; half dmin
        for (int i = 0; i < 16; i++) {
            unsigned sc = 8u + (unsigned)((w[0] >> (8 + 3 * i)) & 7u);
            y[i] = (uint8_t)(sc | sc << 4); // min = scale: d*sc*q - 1.5*d*sc has mean 0
        }
        memcpy(y + 16, &w[1], 64);
        put16(y + 80, tb->d[di]);
        put16(y + 82, tb->m[di]);
        break;
    }
    case WICK_DTYPE_Q3_K: { // u8 hmask[32]; u8 qs[64]; u8 scales[12]; half d
        int l[16];
        for (int j = 0; j < 16; j++) {
            unsigned b = (unsigned)((w[13] >> (4 * j)) & 15u);
            int s = 8 + (int)(b & 7u);
            l[j] = (b & 8u) ? -s : s;
        }
        memcpy(y, &w[1], 32);
        memcpy(y + 32, &w[5], 64);
        (void)wick_pack_k_scales(WICK_DTYPE_Q3_K, l, NULL, y + 96); // in range: cannot fail
        put16(y + 108, tb->d[di]);
        break;
    }
    case WICK_DTYPE_Q4_K:   // half d; half dmin; u8 scales[12]; u8 qs[128]
    case WICK_DTYPE_Q5_K: { // half d; half dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]
        int sc[8];
        for (int j = 0; j < 8; j++) { sc[j] = 32 + (int)((w[0] >> (8 + 5 * j)) & 31u); }
        put16(y, tb->d[di]);
        put16(y + 2, tb->m[di]);
        (void)wick_pack_k_scales((wick_dtype)type, sc, sc, y + 4); // 32..63: cannot fail
        if (type == WICK_DTYPE_Q4_K) {
            memcpy(y + 16, &w[1], 128);
        } else {
            memcpy(y + 16, &w[1], 32 + 128);
        }
        break;
    }
    case WICK_DTYPE_Q6_K: { // u8 ql[128]; u8 qh[64]; i8 scales[16]; half d
        memcpy(y, &w[2], 128 + 64);
        for (int i = 0; i < 16; i++) { y[192 + i] = (uint8_t)(16u + ((w[1] >> (4 * i)) & 15u)); }
        put16(y + 208, sd);
        break;
    }
    default: break;
    }
}

// --- rows ----------------------------------------------------------------------------------------
// Row srow of stream tb into out (one row of the written tensor).
static void gen_row(const gen *g, const tabs *tb, int64_t srow, uint8_t *out)
{
    int64_t ne0 = g->t->ne[0];
    if (g->type == WICK_DTYPE_F32 || g->type == WICK_DTYPE_F16 || g->type == WICK_DTYPE_BF16) {
        uint64_t ctr = (uint64_t)srow * (uint64_t)(ne0 / 4);
        if (g->type == WICK_DTYPE_F32) {
            float *o = (float *)(void *)out;
            for (int64_t k = 0; k < ne0 / 4; k++) {
                uint64_t w = rnd(tb->key, ctr + (uint64_t)k);
                for (int l = 0; l < 4; l++) { o[4 * k + l] = tb->f[(w >> (16 * l)) & 0xffff]; }
            }
        } else {
            uint16_t *o = (uint16_t *)(void *)out;
            for (int64_t k = 0; k < ne0 / 4; k++) {
                uint64_t w = rnd(tb->key, ctr + (uint64_t)k);
                for (int l = 0; l < 4; l++) { o[4 * k + l] = tb->h[(w >> (16 * l)) & 0xffff]; }
            }
        }
        return;
    }
    uint64_t w[32];
    for (int64_t b = 0; b < g->bpr; b++) {
        uint64_t base = ((uint64_t)srow * (uint64_t)g->bpr + (uint64_t)b) * (uint64_t)g->words;
        for (int i = 0; i < g->words; i++) { w[i] = rnd(tb->key, base + (uint64_t)i); }
        block(g->type, tb, w, out + (size_t)b * g->block_bytes);
    }
}

// Element idx (flat, over the canonical shape) of a float stream.
static inline uint16_t elem_index(const tabs *tb, uint64_t idx)
{
    return (uint16_t)((rnd(tb->key, idx / 4) >> (16 * (idx % 4))) & 0xffff);
}

// attn_kv_b {kv_lora, n_head*(nope+v)} holds HF's kv_b_proj [n_head*(nope+v), kv_lora]: per head
// h, rows h*(nope+v) + j (j < nope) are K_h[j][:], the next v rows V_h[j][:]. The split tensors
// hold the same numbers: attn_k_b {nope, kv_lora, n_head} is per head the [kv_lora][nope] matrix
// K_h^T, so kv_b[h*(nope+v)+j][c] = k_b[h][c][j] (flat h*kv_lora*nope + c*nope + j); attn_v_b
// {kv_lora, v, n_head} is per head V_h as is, so kv_b[h*(nope+v)+nope+j][c] = v_b[h][j][c]
// (flat h*v*kv_lora + j*kv_lora + c).
static void gen_row_kv_b(const gen *g, int64_t r, uint8_t *out)
{
    const mk_hparams *hp = &g->model->hp;
    int64_t nope = hp->nope, v = hp->v_dim, kvl = hp->kv_lora;
    int64_t h = r / (nope + v), j = r % (nope + v);
    for (int64_t c = 0; c < kvl; c++) {
        const tabs *tb;
        uint64_t idx;
        if (j < nope) {
            tb = &g->tab[0];
            idx = (uint64_t)(h * kvl * nope + c * nope + j);
        } else {
            tb = &g->tab[1];
            idx = (uint64_t)(h * v * kvl + (j - nope) * kvl + c);
        }
        uint16_t q = elem_index(tb, idx);
        if (g->type == WICK_DTYPE_F32) {
            ((float *)(void *)out)[c] = tb->f[q];
        } else {
            ((uint16_t *)(void *)out)[c] = tb->h[q];
        }
    }
}

static void fill_rows(const gen *g, uint8_t *dst, int64_t r0, int64_t r1)
{
    const mk_tensor *t = g->t;
    for (int64_t r = r0; r < r1; r++) {
        uint8_t *out = dst + (size_t)r * g->row_bytes;
        if (t->map == MK_MAP_GATE_UP) {
            int64_t e = r / (2 * t->part), j = r % (2 * t->part);
            if (j < t->part) {
                gen_row(g, &g->tab[0], e * t->part + j, out);
            } else {
                gen_row(g, &g->tab[1], e * t->part + j - t->part, out);
            }
        } else if (t->map == MK_MAP_KV_B) {
            gen_row_kv_b(g, r, out);
        } else {
            gen_row(g, &g->tab[0], r, out);
        }
    }
}

// llama3 rope scaling factors (Llama 3.1: factor 8, low_freq_factor 1, high_freq_factor 4,
// original context 8192), as the HF->GGUF converter computes rope_freqs for head_dim d and base b:
// for pair i, freq = b^(-2i/d), wavelen = 2*pi/freq; wavelen < 8192/4: 1; wavelen > 8192/1: 8;
// otherwise with smooth = (8192/wavelen - 1)/(4 - 1): 1 / ((1 - smooth)/8 + smooth).
// ggml divides the rotation frequency of pair i by factor i.
static void fill_rope_freqs(const mk_model *m, float *out, int64_t n)
{
    const double factor = 8.0, lo = 1.0, hi = 4.0, orig = 8192.0;
    double d = (double)m->hp.head_dim, base = (double)m->hp.rope_base;
    for (int64_t i = 0; i < n; i++) {
        double freq = 1.0 / pow(base, (double)(2 * i) / d);
        double wavelen = 2.0 * M_PI / freq;
        double f;
        if (wavelen < orig / hi) {
            f = 1.0;
        } else if (wavelen > orig / lo) {
            f = factor;
        } else {
            double smooth = (orig / wavelen - lo) / (hi - lo);
            f = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        out[i] = (float)f;
    }
}

typedef struct job {
    const gen *g;
    uint8_t *dst;
    int64_t r0, r1;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    fill_rows(j->g, j->dst, j->r0, j->r1);
    return NULL;
}

wick_status mk_fill_tensor(const mk_model *m, const mk_tensor *t, void *dst, size_t bytes,
                           int n_threads)
{
    if (t->map == MK_MAP_ROPE_FREQS) {
        if (bytes != (size_t)t->ne[0] * sizeof(float)) { return WICK_E_INTERNAL; }
        fill_rope_freqs(m, dst, t->ne[0]);
        return WICK_OK;
    }
    gen g;
    memset(&g, 0, sizeof g);
    g.model = m, g.t = t, g.type = t->type;
    int64_t nrows = t->ne[1] * t->ne[2] * t->ne[3];
    if (t->type == WICK_DTYPE_F32) {
        g.block_bytes = 4, g.bpr = t->ne[0];
    } else if (t->type == WICK_DTYPE_F16 || t->type == WICK_DTYPE_BF16) {
        g.block_bytes = 2, g.bpr = t->ne[0];
    } else {
        const qinfo *qi = qinfo_of(t->type);
        if (!qi) { return WICK_E_UNSUPPORTED; }
        int64_t be = (t->type == WICK_DTYPE_Q4_0 || t->type == WICK_DTYPE_Q4_1 ||
                      t->type == WICK_DTYPE_Q5_0 || t->type == WICK_DTYPE_Q5_1 ||
                      t->type == WICK_DTYPE_Q8_0) ? 32 : 256;
        g.block_bytes = qi->bytes, g.bpr = t->ne[0] / be, g.words = qi->words;
    }
    g.row_bytes = g.block_bytes * (size_t)g.bpr;
    if (g.row_bytes * (size_t)nrows != bytes || t->ne[0] % 4 != 0) { return WICK_E_INTERNAL; }
    wick_status rc = WICK_OK;
    int n_src = (t->map == MK_MAP_GATE_UP || t->map == MK_MAP_KV_B) ? 2 : 1;
    for (int i = 0; i < n_src; i++) {
        if (!tabs_init(&g.tab[i], &t->src[i], t->type)) {
            rc = WICK_E_NOMEM;
            goto done;
        }
    }
    // a second thread pays off only for big tensors
    if (n_threads < 2 || bytes < ((size_t)4 << 20) || nrows < 2) {
        fill_rows(&g, dst, 0, nrows);
        goto done;
    }
    if (n_threads > 16) { n_threads = 16; }
    pthread_t th[16];
    job jobs[16];
    int started = 0;
    for (int i = 0; i < n_threads; i++) {
        jobs[i] = (job){&g, dst, nrows * i / n_threads, nrows * (i + 1) / n_threads};
    }
    for (int i = 1; i < n_threads; i++) {
        if (pthread_create(&th[i], NULL, run_job, &jobs[i]) != 0) { break; }
        started = i;
    }
    run_job(&jobs[0]);
    for (int i = started + 1; i < n_threads; i++) { run_job(&jobs[i]); } // threads not started
    for (int i = 1; i <= started; i++) { pthread_join(th[i], NULL); }
done:
    for (int i = 0; i < 2; i++) { tabs_free(&g.tab[i]); }
    return rc;
}
