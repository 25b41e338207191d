// test_kernels.c — tensor formats: every path's dequantization against ggml's golden vectors (bit
// for bit), activation quantizers against their goldens (byte for byte), every SIMD path against
// the scalar reference on random blocks, fp16/bf16 conversions, wick_dequantize's errors.
#include <jansson.h>
#include <stddef.h>

#include "base/cpu.h"
#include "harness.h"
#include "kernels/blocks.h"
#include "kernels/gemm.h"
#include "kernels/impl.h"
#include "kernels/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static const int types[] = {WICK_DTYPE_F32,  WICK_DTYPE_F16,  WICK_DTYPE_BF16, WICK_DTYPE_Q4_0,
                            WICK_DTYPE_Q4_1, WICK_DTYPE_Q5_0, WICK_DTYPE_Q5_1, WICK_DTYPE_Q8_0,
                            WICK_DTYPE_Q2_K, WICK_DTYPE_Q3_K, WICK_DTYPE_Q4_K, WICK_DTYPE_Q5_K,
                            WICK_DTYPE_Q6_K};
static const char *const paths[] = {"scalar", "avx2", "avx512"};

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
static float rndf(void) // [-1, 1)
{
    return (float)((double)(rnd() >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

// --- golden dequantization -----------------------------------------------------------------------

static void golden_dequant(const wk_kernels *k, const char *tname)
{
    char rel[128];
    snprintf(rel, sizeof rel, "dequant/%s.json", tname);
    json_error_t err;
    json_t *root = json_load_file(test_data(rel), 0, &err);
    CHECKF(root != NULL, "%s: %s", rel, err.text);
    if (!root) { return; }
    snprintf(rel, sizeof rel, "dequant/%s.bin", tname);
    size_t bin_len = 0;
    char *bin = test_slurp(test_data(rel), &bin_len);
    CHECKF(bin != NULL, "cannot read %s", rel);
    int type = (int)json_integer_value(json_object_get(root, "ggml_type_id"));
    CHECK(wk_type(type) && strcmp(wk_type(type)->name, tname) == 0);
    CHECKF(k->to_float[type] != NULL, "%s: no to_float for %s", k->name, tname);
    json_t *blocks = json_object_get(root, "blocks");
    size_t bi;
    json_t *blk;
    int n_bad = 0, n_vals = 0;
    json_array_foreach(blocks, bi, blk) {
        size_t off = (size_t)json_integer_value(json_object_get(blk, "byte_offset"));
        size_t nb = (size_t)json_integer_value(json_object_get(blk, "n_bytes"));
        json_t *vals = json_object_get(blk, "values");
        size_t nv = json_array_size(vals);
        if (!bin || off + nb > bin_len || !k->to_float[type]) { break; }
        // Copy to an address that is 2 mod 32: weight rows are only 2-byte aligned.
        char *src = malloc(nb + 2);
        memcpy(src + 2, bin + off, nb);
        float *out = malloc(nv * sizeof(float));
        k->to_float[type](src + 2, out, (int64_t)nv);
        for (size_t i = 0; i < nv; i++) {
            json_t *v = json_array_get(vals, i);
            float want = (float)(json_is_integer(v) ? (double)json_integer_value(v)
                                                    : json_real_value(v));
            n_vals++;
            if (fbits(out[i]) != fbits(want)) {
                if (n_bad++ < 5) {
                    fprintf(stderr,
                            "%s %s block %zu value %zu: got %.9g (%08x), want %.9g (%08x)\n",
                            k->name, tname, bi, i, out[i], fbits(out[i]), want, fbits(want));
                }
            }
        }
        free(out);
        free(src);
    }
    CHECKF(n_bad == 0, "%s %s: %d of %d values differ", k->name, tname, n_bad, n_vals);
    CHECKF(n_vals > 0, "%s: no values", tname);
    free(bin);
    json_decref(root);
}

// --- golden activation quantizers ----------------------------------------------------------------

static void golden_actquant(const wk_kernels *k, const char *tname, int type)
{
    char rel[128];
    snprintf(rel, sizeof rel, "dequant/act_%s.json", tname);
    json_error_t err;
    json_t *root = json_load_file(test_data(rel), 0, &err);
    CHECKF(root != NULL, "%s: %s", rel, err.text);
    if (!root) { return; }
    size_t bb = wk_type(type)->bytes;
    int64_t be = wk_type(type)->blck;
    json_t *cases = json_object_get(root, "cases");
    size_t ci;
    json_t *c;
    json_array_foreach(cases, ci, c) {
        json_t *in = json_object_get(c, "input");
        int64_t n = json_integer_value(json_object_get(c, "n"));
        const char *hex = json_string_value(json_object_get(c, "output_hex"));
        CHECK(n > 0 && n % be == 0 && (size_t)n == json_array_size(in) && hex);
        if (!(n > 0 && n % be == 0 && hex)) { continue; }
        float *x = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++) {
            x[i] = (float)json_number_value(json_array_get(in, (size_t)i));
        }
        size_t nbytes = (size_t)(n / be) * bb;
        CHECK(strlen(hex) == 2 * nbytes);
        uint8_t *y = calloc(1, nbytes + 1), *want = calloc(1, nbytes + 1);
        for (size_t i = 0; i < nbytes && 2 * i + 1 < strlen(hex); i++) {
            unsigned v;
            sscanf(hex + 2 * i, "%2x", &v);
            want[i] = (uint8_t)v;
        }
        memset(y, 0xAB, nbytes + 1);
        k->from_float[type](x, y, n);
        size_t first = nbytes;
        for (size_t i = 0; i < nbytes; i++) {
            if (y[i] != want[i]) {
                first = i;
                break;
            }
        }
        CHECKF(first == nbytes, "%s act %s case %zu (%s): first differing byte %zu: %02x vs %02x",
               k->name, tname, ci, json_string_value(json_object_get(c, "input_desc")), first,
               first < nbytes ? y[first] : 0, first < nbytes ? want[first] : 0);
        CHECK(y[nbytes] == 0xAB); // wrote nothing past the end
        free(x);
        free(y);
        free(want);
    }
    json_decref(root);
}

// --- random blocks -------------------------------------------------------------------------------

// A random finite fp16 scale: mostly ordinary magnitudes, sometimes zero, subnormal, large or
// negative (the edge cases the goldens also cover).
static uint16_t rnd_scale(void)
{
    switch (rnd() % 10) {
    case 0: return 0;
    case 1: return (uint16_t)(rnd() % 0x400 | (rnd() & 0x8000)); // subnormal
    case 2: return wk_f32_to_fp16((float)(rnd() % 60000) * (rnd() & 1 ? 1 : -1));
    default: return wk_f32_to_fp16(rndf() * 0.05f);
    }
}

// Offsets of the fp16 scale fields of a block type (the first is d; -1: none).
static void scale_fields(int type, int *d_off, int *m_off)
{
    *d_off = -1;
    *m_off = -1;
    switch (type) {
    case WICK_DTYPE_Q4_0: *d_off = offsetof(wk_block_q4_0, d); break;
    case WICK_DTYPE_Q5_0: *d_off = offsetof(wk_block_q5_0, d); break;
    case WICK_DTYPE_Q8_0: *d_off = offsetof(wk_block_q8_0, d); break;
    case WICK_DTYPE_Q3_K: *d_off = offsetof(wk_block_q3_k, d); break;
    case WICK_DTYPE_Q6_K: *d_off = offsetof(wk_block_q6_k, d); break;
    case WICK_DTYPE_Q4_1:
        *d_off = offsetof(wk_block_q4_1, d);
        *m_off = offsetof(wk_block_q4_1, m);
        break;
    case WICK_DTYPE_Q5_1:
        *d_off = offsetof(wk_block_q5_1, d);
        *m_off = offsetof(wk_block_q5_1, m);
        break;
    case WICK_DTYPE_Q2_K:
        *d_off = offsetof(wk_block_q2_k, d);
        *m_off = offsetof(wk_block_q2_k, dmin);
        break;
    case WICK_DTYPE_Q4_K:
        *d_off = offsetof(wk_block_q4_k, d);
        *m_off = offsetof(wk_block_q4_k, dmin);
        break;
    case WICK_DTYPE_Q5_K:
        *d_off = offsetof(wk_block_q5_k, d);
        *m_off = offsetof(wk_block_q5_k, dmin);
        break;
    default: break;
    }
}

// n elements of random data of type: random quant bits with finite scales; for F16/BF16 random
// finite patterns; F32 random floats. Block 0 is all zero, block 1 has all-max quant bits.
static void rnd_weights(int type, uint8_t *p, int64_t n)
{
    const wk_type_traits *t = wk_type(type);
    size_t bb = t->bytes;
    int64_t nb = n / t->blck;
    if (type == WICK_DTYPE_F32) {
        for (int64_t i = 0; i < n; i++) {
            float f = rndf() * (rnd() % 4 == 0 ? 1000.0f : 1.0f);
            memcpy(p + 4 * i, &f, 4);
        }
        return;
    }
    if (type == WICK_DTYPE_F16 || type == WICK_DTYPE_BF16) {
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            if (type == WICK_DTYPE_F16) {
                do { h = (uint16_t)rnd(); } while ((h & 0x7c00) == 0x7c00 || (h & 0x7c00) > 0x5c00);
            } else {
                do { h = (uint16_t)rnd(); } while ((h & 0x7f80) == 0x7f80 || (h & 0x7f80) > 0x4800);
            }
            memcpy(p + 2 * i, &h, 2);
        }
        return;
    }
    int d_off, m_off;
    scale_fields(type, &d_off, &m_off);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = p + (size_t)b * bb;
        for (size_t i = 0; i < bb; i++) { blk[i] = b == 0 ? 0 : b == 1 ? 0xff : (uint8_t)rnd(); }
        uint16_t d = rnd_scale(), m = rnd_scale();
        if (b == 1) { d = wk_f32_to_fp16(-60000.0f); }
        if (d_off >= 0) { memcpy(blk + d_off, &d, 2); }
        if (m_off >= 0) { memcpy(blk + m_off, &m, 2); }
    }
}

static void check_dequant_path(const wk_kernels *k, const wk_kernels *ref)
{
    for (size_t ti = 0; ti < WK_ARRAY_LEN(types); ti++) {
        int type = types[ti];
        const wk_type_traits *t = wk_type(type);
        int64_t n = t->blck == 1 ? 1000 + 3 : t->blck * 64; // odd tail for the float formats
        size_t nbytes = (size_t)(n / t->blck) * t->bytes;
        uint8_t *w = malloc(nbytes + 2);
        float *y0 = malloc((size_t)n * 4), *y1 = malloc((size_t)n * 4);
        int n_bad = 0;
        for (int rep = 0; rep < 8; rep++) {
            rnd_weights(type, w + 2, n);
            ref->to_float[type](w + 2, y0, n);
            k->to_float[type](w + 2, y1, n);
            for (int64_t i = 0; i < n; i++) {
                if (fbits(y0[i]) != fbits(y1[i]) && n_bad++ < 3) {
                    fprintf(stderr, "%s %s: element %" PRId64 ": %.9g vs ref %.9g\n", k->name,
                            t->name, i, y1[i], y0[i]);
                }
            }
        }
        CHECKF(n_bad == 0, "%s to_float %s: %d values differ from scalar", k->name, t->name, n_bad);
        free(w);
        free(y0);
        free(y1);
    }
}

// Activations decoded to floats (Q8_0, Q8_1, Q8_K and the float formats).
static void act_to_float(int atype, const void *a, float *x, int64_t n)
{
    const uint8_t *p = a;
    if (atype == WICK_DTYPE_Q8_1) {
        for (int64_t i = 0; i < n / 32; i++) {
            const wk_block_q8_1 *b = (const wk_block_q8_1 *)(p + 36 * i);
            for (int j = 0; j < 32; j++) { x[32 * i + j] = wk_fp16_to_f32(b->d) * b->qs[j]; }
        }
    } else if (atype == WICK_DTYPE_Q8_K) {
        for (int64_t i = 0; i < n / 256; i++) {
            const wk_block_q8_k *b = (const wk_block_q8_k *)(p + 292 * i);
            for (int j = 0; j < 256; j++) { x[256 * i + j] = b->d * b->qs[j]; }
        }
    } else {
        wk_kernels_named("scalar")->to_float[atype](a, x, n);
    }
}

// Σ |terms| of w · a, the scale of the float rounding error: the scale part and the min part of
// each weight counted separately (they are summed apart and may cancel).
static double dot_abs_sum(int type, const uint8_t *w, const float *a, int64_t n)
{
    const wk_kernels *ref = wk_kernels_named("scalar");
    const wk_type_traits *t = wk_type(type);
    size_t nbytes = (size_t)(n / t->blck) * t->bytes;
    uint8_t *w2 = malloc(nbytes);
    float *y = malloc((size_t)n * 4);
    double sum = 0;
    int d_off, m_off;
    scale_fields(type, &d_off, &m_off);
    for (int part = 0; part < 2; part++) {
        memcpy(w2, w, nbytes);
        if (part == 1 && m_off < 0) { break; }
        int zero = m_off < 0 ? -1 : part == 0 ? m_off : d_off; // zero the other scale
        for (int64_t b = 0; zero >= 0 && b < n / t->blck; b++) {
            memset(w2 + (size_t)b * t->bytes + zero, 0, 2);
        }
        ref->to_float[type](w2, y, n);
        for (int64_t i = 0; i < n; i++) { sum += fabs((double)y[i] * a[i]); }
    }
    free(w2);
    free(y);
    return sum;
}

// vec_dot_4row of path k (the K formats): four random weight rows a stride apart (the rows' bytes
// plus 0 or 6, so rows sit at every 2-byte alignment) against one activation row, bit for bit
// equal to the reference's vec_dot of each row. vec_dot_4il the same on the four rows interleaved
// by wk_interleave4 (at an odd 2-byte offset), which wk_deinterleave4 gives back byte for byte.
static void check_dot_4row(const wk_kernels *k, const wk_kernels *ref, int type)
{
    const wk_type_traits *t = wk_type(type);
    const int64_t n_full = 4096;
    size_t wbytes = (size_t)(n_full / t->blck) * t->bytes, abytes = (size_t)(n_full / 256) * 292;
    uint8_t *w = malloc(4 * (wbytes + 6) + 4), *a = malloc(abytes + 4);
    uint8_t *rows = malloc(4 * wbytes), *il = malloc(4 * wbytes + 2), *back = malloc(4 * wbytes);
    float *x = malloc((size_t)n_full * sizeof(float));
    int n_bad = 0, n_bad_il = 0, n_bad_back = 0;
    for (int rep = 0; rep < 12; rep++) {
        int64_t n = rep % 3 == 2 ? 256 : n_full; // single blocks too
        size_t stride = (size_t)(n / t->blck) * t->bytes + (rep % 2 ? 6 : 0);
        for (int r = 0; r < 4; r++) { rnd_weights(type, w + 4 + r * stride, n); }
        float scale = rep % 4 == 0 ? 1e-3f : rep % 4 == 1 ? 100.0f : 1.0f;
        for (int64_t i = 0; i < n; i++) { x[i] = rep == 3 ? 0.0f : rndf() * scale; }
        ref->from_float[t->vec_dot_type](x, a + 4, n);
        float s4[4], si[4];
        k->vec_dot_4row[type](n, s4, w + 4, stride, a + 4);
        const size_t rb = (size_t)(n / t->blck) * t->bytes;
        for (int r = 0; r < 4; r++) { memcpy(rows + r * rb, w + 4 + r * stride, rb); }
        wk_interleave4(il + 2, rows, 4, rb, t->bytes);
        wk_deinterleave4(back, il + 2, 4, rb, t->bytes);
        n_bad_back += memcmp(back, rows, 4 * rb) != 0;
        k->vec_dot_4il[type](n, si, il + 2, rb, a + 4);
        for (int r = 0; r < 4; r++) {
            float sr;
            ref->vec_dot[type](n, &sr, w + 4 + r * stride, a + 4);
            if (fbits(s4[r]) != fbits(sr) && n_bad++ < 3) {
                fprintf(stderr, "%s vec_dot_4row %s rep %d row %d: %.9g vs ref %.9g\n", k->name,
                        t->name, rep, r, s4[r], sr);
            }
            if (fbits(si[r]) != fbits(sr) && n_bad_il++ < 3) {
                fprintf(stderr, "%s vec_dot_4il %s rep %d row %d: %.9g vs ref %.9g\n", k->name,
                        t->name, rep, r, si[r], sr);
            }
        }
    }
    CHECKF(n_bad == 0, "%s vec_dot_4row %s: %d differ", k->name, t->name, n_bad);
    CHECKF(n_bad_il == 0, "%s vec_dot_4il %s: %d differ", k->name, t->name, n_bad_il);
    CHECKF(n_bad_back == 0, "wk_deinterleave4 %s: %d of 12 differ", t->name, n_bad_back);
    free(rows);
    free(il);
    free(back);
    free(w);
    free(a);
    free(x);
}

// vec_dot_4il_n of path k: four random rows interleaved by four against nt = 1 .. WK_4IL_N_MAX
// random activation rows (a stride of the row's bytes plus 8), every output bit for bit equal to
// the reference's vec_dot of that row and token (what batched decode needs: the same tokens as
// one stream alone); vec_dot_4il_ng too, where the path has it, on the same activations in the
// grouped orders (wk_q8_k_group, wk_q8_k_group6). Rows of 4096 and of one block; every fourth
// case with the largest group sums (Q4_K: all quants 15, Q5_K: 31, Q6_K: -32, against
// activations of +-127).
static void check_dot_4il_n(const wk_kernels *k, const wk_kernels *ref, int type)
{
    const wk_type_traits *t = wk_type(type);
    const int64_t n_full = 4096;
    const size_t rb_full = (size_t)(n_full / t->blck) * t->bytes;
    const size_t as = (size_t)(n_full / 256) * 292 + 8;
    uint8_t *rows = malloc(4 * rb_full), *il = malloc(4 * rb_full + 2);
    // wk_q8_k_group6's larger blocks
    const bool six = type == WICK_DTYPE_Q5_K || type == WICK_DTYPE_Q6_K;
    const size_t ags = (size_t)(n_full / 256) * (six ? sizeof(wk_block_q8_kg6) : 292) + 8;
    uint8_t *a = malloc(WK_4IL_N_MAX * as), *ag = malloc(WK_4IL_N_MAX * ags);
    float *x = malloc((size_t)n_full * sizeof(float));
    int n_bad = 0, n_bad_g = 0;
    for (int rep = 0; rep < 2 * WK_4IL_N_MAX; rep++) {
        const int nt = 1 + rep % WK_4IL_N_MAX;
        const int64_t n = rep >= WK_4IL_N_MAX ? 256 : n_full;
        const size_t rb = (size_t)(n / t->blck) * t->bytes;
        const bool extreme = (type == WICK_DTYPE_Q4_K || six) && rep % 4 == 3;
        for (int r = 0; r < 4; r++) {
            rnd_weights(type, rows + r * rb, n);
            for (int64_t b = 0; extreme && b < n / t->blck; b++) {
                uint8_t *blk = rows + r * rb + b * t->bytes;
                if (type == WICK_DTYPE_Q6_K) { // all quants -32 (ql and qh zero)
                    memset(blk, 0, offsetof(wk_block_q6_k, scales));
                } else if (type == WICK_DTYPE_Q5_K) { // all quants 31
                    memset(blk + offsetof(wk_block_q5_k, qh), 0xff, 32 + 128);
                } else { // all quants 15
                    memset(blk + offsetof(wk_block_q4_k, qs), 0xff, 128);
                }
            }
        }
        for (int j = 0; j < nt; j++) {
            float scale = j % 3 == 0 ? 1e-3f : j % 3 == 1 ? 100.0f : 1.0f;
            for (int64_t i = 0; i < n; i++) {
                x[i] = extreme ? (j % 2 ? 1.0f : -1.0f) : rndf() * scale;
            }
            ref->from_float[t->vec_dot_type](x, a + j * as, n);
            if (t->vec_dot_type == WICK_DTYPE_Q8_K) {
                (six ? wk_q8_k_group6 : wk_q8_k_group)(ag + j * ags, a + j * as, n / WK_QK_K);
            }
        }
        wk_interleave4(il + 2, rows, 4, rb, t->bytes);
        float s[4 * WK_4IL_N_MAX], sg[4 * WK_4IL_N_MAX];
        k->vec_dot_4il_n[type](n, nt, s, il + 2, rb, a, as);
        if (k->vec_dot_4il_ng[type]) {
            k->vec_dot_4il_ng[type](n, nt, sg, il + 2, rb, ag, ags);
            for (int j = 0; j < 4 * nt; j++) {
                if (fbits(sg[j]) != fbits(s[j]) && n_bad_g++ < 3) {
                    fprintf(stderr, "%s vec_dot_4il_ng %s nt %d output %d: %.9g vs %.9g\n",
                            k->name, t->name, nt, j, sg[j], s[j]);
                }
            }
        }
        for (int j = 0; j < nt; j++) {
            for (int r = 0; r < 4; r++) {
                float sr;
                ref->vec_dot[type](n, &sr, rows + r * rb, a + j * as);
                if (fbits(s[4 * j + r]) != fbits(sr) && n_bad++ < 3) {
                    fprintf(stderr, "%s vec_dot_4il_n %s nt %d token %d row %d: %.9g vs ref %.9g\n",
                            k->name, t->name, nt, j, r, s[4 * j + r], sr);
                }
            }
        }
    }
    CHECKF(n_bad == 0, "%s vec_dot_4il_n %s: %d differ", k->name, t->name, n_bad);
    CHECKF(n_bad_g == 0, "%s vec_dot_4il_ng %s: %d differ", k->name, t->name, n_bad_g);
    free(rows);
    free(il);
    free(a);
    free(ag);
    free(x);
}

// gemm of path k (the K formats): 45 random rows (tiles of 16, 16 and 13) and 16 rows (a
// stride of the rows' bytes plus 6: every 2-byte alignment) times 37 tokens (two 16-token groups
// and a tail of 5) or 16, the groups in one call or in two, bit for bit equal to the reference's
// vec_dot of every row and token; outputs past the rows are never written.
static void check_gemm(const wk_kernels *k, const wk_kernels *ref, int type)
{
    const wk_type_traits *t = wk_type(type);
    const int64_t K = 768, T_max = 37;
    const int R = 48; // output columns (rows 45 .. 47 must stay untouched)
    const size_t stride = (size_t)(K / 256) * t->bytes + 6, arb = (size_t)(K / 256) * 292;
    uint8_t *w = malloc((size_t)R * stride + 4), *a = malloc((size_t)T_max * arb + 4);
    float *x = malloc((size_t)K * sizeof(float)), *y = malloc(sizeof(float) * T_max * R);
    const size_t tb = wk_gemm_tile_bytes(K);
    uint8_t *tile = malloc(3 * tb);
    void *act = malloc(wk_gemm_act_bytes(T_max, K));
    int n_bad = 0;
    for (int rep = 0; rep < 6; rep++) {
        const int n_rows = rep % 2 ? 45 : WK_GEMM_ROWS;
        const int64_t T = rep < 4 ? T_max : 16, groups = (T + 15) / 16;
        for (int r = 0; r < n_rows; r++) { rnd_weights(type, w + 4 + r * stride, K); }
        for (int64_t tok = 0; tok < T; tok++) {
            float scale = tok % 4 == 0 ? 1e-3f : tok % 4 == 1 ? 100.0f : 1.0f;
            for (int64_t i = 0; i < K; i++) { x[i] = tok == 3 ? 0.0f : rndf() * scale; }
            ref->from_float[WICK_DTYPE_Q8_K](x, a + 4 + tok * arb, K);
        }
        wk_gemm_pack_act(a + 4, arb, T, K, 0, groups, act);
        for (int r0 = 0; r0 < n_rows; r0 += WK_GEMM_ROWS) {
            const int nr = n_rows - r0 < WK_GEMM_ROWS ? n_rows - r0 : WK_GEMM_ROWS;
            k->gemm_pack[type](w + 4 + r0 * stride, stride, nr, K, tile + r0 / WK_GEMM_ROWS * tb);
        }
        for (int i = 0; i < T_max * R; i++) { y[i] = -1234.5f; }
        if (rep >= 2 && groups > 1) {
            k->gemm[type](tile, n_rows, K, act, T, 0, 1, y, R, NULL, 0);
            k->gemm[type](tile, n_rows, K, act, T, 1, groups, y, R, w, 64);
        } else {
            k->gemm[type](tile, n_rows, K, act, T, 0, groups, y, R, NULL, 0);
        }
        for (int64_t tok = 0; tok < T_max; tok++) {
            for (int r = 0; r < R; r++) {
                float s = -1234.5f;
                if (tok < T && r < n_rows) {
                    ref->vec_dot[type](K, &s, w + 4 + r * stride, a + 4 + tok * arb);
                }
                if (fbits(y[tok * R + r]) != fbits(s) && n_bad++ < 3) {
                    fprintf(stderr, "%s gemm %s rep %d token %lld row %d: %.9g vs ref %.9g\n",
                            k->name, t->name, rep, (long long)tok, r, y[tok * R + r], s);
                }
            }
        }
    }
    CHECKF(n_bad == 0, "%s gemm %s: %d differ", k->name, t->name, n_bad);
    free(w);
    free(a);
    free(x);
    free(y);
    free(tile);
    free(act);
}

// vec_dot_4il of the legacy formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) on path k: four random rows interleaved by
// wk_interleave4 (at an odd 2-byte offset) against one activation row, bit for bit equal to the
// path's own vec_dot of each row in file order; and the path's vec_dot_4act bit for bit equal to
// its vec_dot of each activation row (a repacked weight runs every token count through
// vec_dot_4il, the file's layout through vec_dot or vec_dot_4act). Odd and even block counts.
static void check_dot_4il_legacy(const wk_kernels *k, const wk_kernels *ref, int type)
{
    const wk_type_traits *t = wk_type(type);
    const int64_t n_full = 32 * 37;
    // activation rows of Q8_0 (34 bytes per 32) or Q8_1 (36: Q4_1, Q5_1)
    const size_t rb_full = (size_t)(n_full / t->blck) * t->bytes,
                 ab = (size_t)(n_full / 32) * wk_type(t->vec_dot_type)->bytes;
    uint8_t *rows = malloc(4 * rb_full), *il = malloc(4 * rb_full + 2), *a = malloc(4 * ab + 2);
    float *x = malloc((size_t)n_full * sizeof(float));
    int n_bad = 0, n_bad4 = 0;
    for (int rep = 0; rep < 12; rep++) {
        const int64_t n = rep % 3 == 2 ? 32 : rep % 3 == 1 ? 32 * 36 : n_full;
        const size_t rb = (size_t)(n / t->blck) * t->bytes;
        for (int r = 0; r < 4; r++) { rnd_weights(type, rows + r * rb, n); }
        float scale = rep % 4 == 0 ? 1e-3f : rep % 4 == 1 ? 100.0f : 1.0f;
        for (int j = 0; j < 4; j++) {
            for (int64_t i = 0; i < n; i++) { x[i] = rep == 3 ? 0.0f : rndf() * scale; }
            ref->from_float[t->vec_dot_type](x, a + 2 + j * ab, n);
        }
        wk_interleave4(il + 2, rows, 4, rb, t->bytes);
        float si[4], s4[4];
        k->vec_dot_4il[type](n, si, il + 2, rb, a + 2);
        k->vec_dot_4act[type](n, s4, rows, a + 2, ab);
        for (int r = 0; r < 4; r++) {
            float sr, sa;
            k->vec_dot[type](n, &sr, rows + r * rb, a + 2);
            k->vec_dot[type](n, &sa, rows, a + 2 + r * ab);
            if (fbits(si[r]) != fbits(sr) && n_bad++ < 3) {
                fprintf(stderr, "%s vec_dot_4il %s rep %d row %d: %.9g vs vec_dot %.9g\n", k->name,
                        t->name, rep, r, si[r], sr);
            }
            if (fbits(s4[r]) != fbits(sa) && n_bad4++ < 3) {
                fprintf(stderr, "%s vec_dot_4act %s rep %d act %d: %.9g vs vec_dot %.9g\n",
                        k->name, t->name, rep, r, s4[r], sa);
            }
        }
    }
    CHECKF(n_bad == 0, "%s vec_dot_4il %s: %d differ from vec_dot", k->name, t->name, n_bad);
    CHECKF(n_bad4 == 0, "%s vec_dot_4act %s: %d differ from vec_dot", k->name, t->name, n_bad4);
    free(rows);
    free(il);
    free(a);
    free(x);
}

// Rows sit at 4 mod 32 (F32 weights and Q8_K activations need 4-byte alignment, the rest 2).
// vec_dot and vec_dot_4act of path k against the scalar reference, and the scalar reference
// against the dequantized weights times the dequantized activations.
static void check_dot_path(const wk_kernels *k, const wk_kernels *ref)
{
    for (size_t ti = 0; ti < WK_ARRAY_LEN(types); ti++) {
        int type = types[ti];
        const wk_type_traits *t = wk_type(type);
        const wk_type_traits *at = wk_type(t->vec_dot_type);
        int64_t n = t->blck == 1 ? 1024 + 8 + 3 : 4096;
        if (t->blck == 32) { n = 32 * 37; }
        size_t wbytes = (size_t)(n / t->blck) * t->bytes;
        size_t abytes = (size_t)(n / at->blck) * at->bytes;
        uint8_t *w = malloc(wbytes + 4), *a = malloc(4 * abytes + 4);
        float *x = malloc((size_t)n * 4 * sizeof(float)), *xd = malloc((size_t)n * 4);
        int n_bad = 0, n_bad_ref = 0, n_bad4 = 0;
        const int64_t n_full = n;
        for (int rep = 0; rep < 16; rep++) {
            // Every 5th row is a single block (7 elements for the float formats).
            n = rep % 5 == 4 ? (t->blck == 1 ? 7 : t->blck) : n_full;
            rnd_weights(type, w + 4, n);
            for (int j = 0; j < 4; j++) {
                float scale = rep % 4 == 0 ? 1e-3f : rep % 4 == 1 ? 100.0f : 1.0f;
                for (int64_t i = 0; i < n; i++) { x[j * n_full + i] = rndf() * scale; }
                if (rep == 2 && j == 0) { memset(x, 0, (size_t)n * 4); } // zero activation
                ref->from_float[t->vec_dot_type](x + j * n_full, a + 4 + j * abytes, n);
            }
            float s0, s1, s4[4];
            ref->vec_dot[type](n, &s0, w + 4, a + 4);
            k->vec_dot[type](n, &s1, w + 4, a + 4);
            act_to_float(t->vec_dot_type, a + 4, xd, n);
            double abs_sum = dot_abs_sum(type, w + 4, xd, n);
            double tol = 1e-5 * abs_sum + 1e-30;
            // K formats: exact integer sums per block, then the reference's float operations in
            // its order, so every path gives the same bits.
            bool same_bits = t->blck == WK_QK_K;
            if ((same_bits ? fbits(s1) != fbits(s0) : fabs((double)s1 - s0) > tol) && n_bad++ < 3) {
                fprintf(stderr, "%s vec_dot %s rep %d: %.9g vs ref %.9g (tol %.3g)\n", k->name,
                        t->name, rep, s1, s0, tol);
            }
            // The reference against plain float arithmetic on the decoded values.
            if (k == ref) {
                float *wd = malloc((size_t)n * 4);
                ref->to_float[type](w + 4, wd, n);
                double exact = 0;
                for (int64_t i = 0; i < n; i++) { exact += (double)wd[i] * xd[i]; }
                free(wd);
                // Q8_1's s = d * Σ qs is rounded to fp16: the min term m * s carries that error.
                double tol_ref = tol;
                for (int64_t b = 0; t->vec_dot_type == WICK_DTYPE_Q8_1 && b < n / 32; b++) {
                    const wk_block_q8_1 *ab = (const wk_block_q8_1 *)(a + 4 + 36 * b);
                    uint16_t m;
                    memcpy(&m, w + 4 + (size_t)b * t->bytes + 2, 2); // Q4_1/Q5_1: m after d
                    int qsum = 0;
                    for (int j = 0; j < 32; j++) { qsum += ab->qs[j]; }
                    double sd = wk_fp16_to_f32(ab->s), dd = (double)wk_fp16_to_f32(ab->d) * qsum;
                    tol_ref += fabs(wk_fp16_to_f32(m)) * (fabs(sd - dd) + fabs(sd) * 1e-3);
                }
                if (fabs(exact - s0) > tol_ref && n_bad_ref++ < 3) {
                    fprintf(stderr, "scalar vec_dot %s rep %d: %.9g vs decoded %.9g (tol %.3g)\n",
                            t->name, rep, s0, exact, tol);
                }
            }
            k->vec_dot_4act[type](n, s4, w + 4, a + 4, abytes);
            for (int j = 0; j < 4; j++) {
                float sj;
                ref->vec_dot[type](n, &sj, w + 4, a + 4 + j * abytes);
                act_to_float(t->vec_dot_type, a + 4 + j * abytes, xd, n);
                double tj = 1e-5 * dot_abs_sum(type, w + 4, xd, n) + 1e-30;
                if ((same_bits ? fbits(s4[j]) != fbits(sj) : fabs((double)s4[j] - sj) > tj) &&
                    n_bad4++ < 3) {
                    fprintf(stderr, "%s vec_dot_4act %s rep %d row %d: %.9g vs ref %.9g\n",
                            k->name, t->name, rep, j, s4[j], sj);
                }
            }
        }
        CHECKF(n_bad == 0, "%s vec_dot %s: %d of 16 differ from scalar", k->name, t->name, n_bad);
        CHECKF(n_bad_ref == 0, "scalar vec_dot %s: %d of 16 differ from decoded", t->name,
               n_bad_ref);
        CHECKF(n_bad4 == 0, "%s vec_dot_4act %s: %d differ", k->name, t->name, n_bad4);
        if (k->vec_dot_4row[type]) { check_dot_4row(k, ref, type); }
        if (k->vec_dot_4il_n[type]) { check_dot_4il_n(k, ref, type); }
        if (k->vec_dot_4il[type] && !k->vec_dot_4row[type]) { check_dot_4il_legacy(k, ref, type); }
        if (k->gemm[type]) { check_gemm(k, ref, type); }
        free(w);
        free(a);
        free(x);
        free(xd);
    }
}

// from_float of path k against the scalar quantizers, byte for byte, on random rows.
static void check_quant_path(const wk_kernels *k, const wk_kernels *ref)
{
    static const int acts[] = {WICK_DTYPE_F32, WICK_DTYPE_F16, WICK_DTYPE_BF16,
                               WICK_DTYPE_Q8_0, WICK_DTYPE_Q8_1, WICK_DTYPE_Q8_K};
    for (size_t ai = 0; ai < WK_ARRAY_LEN(acts); ai++) {
        int type = acts[ai];
        const wk_type_traits *t = wk_type(type);
        int64_t n = t->blck == 1 ? 1000 + 5 : 256 * 8;
        size_t nbytes = (size_t)(n / t->blck) * t->bytes;
        float *x = malloc((size_t)n * 4);
        uint8_t *y0 = malloc(nbytes), *y1 = malloc(nbytes);
        int n_bad = 0;
        for (int rep = 0; rep < 20; rep++) {
            for (int64_t i = 0; i < n; i++) {
                x[i] = rndf() * (rep % 3 == 0 ? 1e-6f : rep % 3 == 1 ? 1e3f : 1.0f);
                if (rep == 5 && i < 300) { x[i] = 0; } // zero blocks
                if (rep == 6) { x[i] = (float)((int)(rndf() * 20)) * 0.5f; } // ties
                if (rep == 7) { x[i] = rndf() * 1e-39f; } // subnormal blocks: 127 / amax = inf
            }
            ref->from_float[type](x, y0, n);
            k->from_float[type](x, y1, n);
            if (memcmp(y0, y1, nbytes) != 0) { n_bad++; }
        }
        CHECKF(n_bad == 0, "%s from_float %s: %d of 20 rows differ from scalar", k->name, t->name,
               n_bad);
        free(x);
        free(y0);
        free(y1);
    }
}

// --- fp16 / bf16 ---------------------------------------------------------------------------------

#if defined(__x86_64__)
__attribute__((target("f16c"))) static uint16_t hw_f32_to_fp16(float f)
{
    return (uint16_t)_cvtss_sh(f, 0);
}
__attribute__((target("f16c"))) static float hw_fp16_to_f32(uint16_t h)
{
    return _cvtsh_ss(h);
}
#endif

static void test_fp16(void)
{
    int bad_rt = 0, bad_hw = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wk_fp16_to_f32((uint16_t)h);
        bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        uint16_t back = wk_f32_to_fp16(f);
        if (nan ? !(back & 0x3ff) || (back & 0x7c00) != 0x7c00 || !(back & 0x200)
                : back != h) {
            bad_rt++;
        }
#if defined(__x86_64__)
        if (wk_cpu_has_avx2() && fbits(hw_fp16_to_f32((uint16_t)h)) != fbits(f)) {
            bad_hw++;
        }
#endif
    }
    CHECKF(bad_rt == 0, "fp16 round trip: %d patterns", bad_rt);
    CHECKF(bad_hw == 0, "fp16 -> f32 differs from F16C on %d patterns", bad_hw);
    CHECK(wk_fp16_to_f32(0x3c00) == 1.0f && wk_fp16_to_f32(0xc000) == -2.0f);
    CHECK(wk_fp16_to_f32(0x0001) == ldexpf(1, -24) && wk_fp16_to_f32(0x7bff) == 65504.0f);
    CHECK(isinf(wk_fp16_to_f32(0x7c00)) && isnan(wk_fp16_to_f32(0x7e01)));
    CHECK(fbits(wk_fp16_to_f32(0x8000)) == 0x80000000u);
    CHECK(wk_f32_to_fp16(65519.0f) == 0x7bff && wk_f32_to_fp16(65520.0f) == 0x7c00);
    CHECK(wk_f32_to_fp16(-INFINITY) == 0xfc00 && wk_f32_to_fp16(1e-9f) == 0);
    CHECK(wk_f32_to_fp16(ldexpf(1, -25)) == 0 && wk_f32_to_fp16(ldexpf(1.5f, -25)) == 1);
    CHECK(wk_f32_to_fp16(ldexpf(3, -25)) == 2); // 1.5 units: tie to even
    CHECK((wk_f32_to_fp16(NAN) & 0x7e00) == 0x7e00);
#if defined(__x86_64__)
    if (wk_cpu_has_avx2()) {
        int bad = 0;
        for (int i = 0; i < 2000000; i++) {
            uint32_t u = (uint32_t)rnd();
            if (i % 2) { u = (u & 0x80000000u) | (0x33000000u + u % 0x14800000u); } // near range
            float f;
            memcpy(&f, &u, 4);
            uint16_t a = wk_f32_to_fp16(f), b = hw_f32_to_fp16(f);
            if (a != b && bad++ < 3) {
                fprintf(stderr, "fp16(%08x): %04x vs F16C %04x\n", u, a, b);
            }
        }
        CHECKF(bad == 0, "f32 -> fp16 differs from F16C on %d of 2M floats", bad);
    }
#endif
    // bf16: truncation of the f32 pattern, rounding to nearest even, NaN quiet.
    CHECK(wk_bf16_to_f32(0x3f80) == 1.0f && fbits(wk_bf16_to_f32(0x8000)) == 0x80000000u);
    CHECK(wk_f32_to_bf16(1.0f) == 0x3f80);
    float f;
    uint32_t u = 0x3f808000u; // exactly halfway between 0x3f80 and 0x3f81: even is 0x3f80
    memcpy(&f, &u, 4);
    CHECK(wk_f32_to_bf16(f) == 0x3f80);
    u = 0x3f818000u; // halfway between 0x3f81 and 0x3f82: even is 0x3f82
    memcpy(&f, &u, 4);
    CHECK(wk_f32_to_bf16(f) == 0x3f82);
    u = 0x7f800001u; // signalling NaN stays NaN
    memcpy(&f, &u, 4);
    CHECK((wk_f32_to_bf16(f) & 0x7fc0) == 0x7fc0);
    CHECK(wk_f32_to_bf16(INFINITY) == 0x7f80 && wk_f32_to_bf16(3.4e38f) == 0x7f80);
    u = 0x00000001u; // smallest subnormal: rounds to +0
    memcpy(&f, &u, 4);
    CHECK(wk_f32_to_bf16(f) == 0);
    for (uint32_t h = 0; h < 65536; h++) {
        bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        if (!nan && wk_f32_to_bf16(wk_bf16_to_f32((uint16_t)h)) != h) {
            bad_rt++;
        }
    }
    CHECKF(bad_rt == 0, "bf16 round trip: %d patterns", bad_rt);
}

// --- the public entry point and the table --------------------------------------------------------

// The packing API writes what the dequantizers read: wick_pack_k_scales against
// wk_q3_k_scales / wk_scale_min_k4 over random in-range scales, its range and type checks, and
// wick_f32_to_f16/bf16 against the library's own conversions.
static void test_pack(void)
{
    uint32_t r = 7;
    for (int it = 0; it < 200; it++) {
        int q3[16], sc[8], mn[8];
        for (int i = 0; i < 16; i++) { q3[i] = (int)((r = r * 1664525u + 1013904223u) >> 26) - 32; }
        for (int i = 0; i < 8; i++) {
            sc[i] = (int)((r = r * 1664525u + 1013904223u) >> 26);
            mn[i] = (int)((r = r * 1664525u + 1013904223u) >> 26);
        }
        uint8_t b[12];
        int8_t got[16];
        CHECK_OK(wick_pack_k_scales(WICK_DTYPE_Q3_K, q3, NULL, b));
        wk_q3_k_scales(b, got);
        for (int i = 0; i < 16; i++) {
            CHECKF(got[i] == q3[i], "q3_k scale %d: %d, packed %d", i, got[i], q3[i]);
        }
        for (int type = WICK_DTYPE_Q4_K; type <= WICK_DTYPE_Q5_K; type++) {
            CHECK_OK(wick_pack_k_scales((wick_dtype)type, sc, mn, b));
            for (int j = 0; j < 8; j++) {
                uint8_t s1, m1;
                wk_scale_min_k4(j, b, &s1, &m1);
                CHECKF(s1 == sc[j] && m1 == mn[j], "k4 group %d: %d/%d, packed %d/%d", j, s1, m1,
                       sc[j], mn[j]);
            }
        }
    }
    int bad[16] = {0, 0, 0, 32};
    uint8_t b[12];
    CHECK_FAIL(wick_pack_k_scales(WICK_DTYPE_Q3_K, bad, NULL, b), WICK_E_RANGE, "scales[3] = 32");
    bad[3] = 64;
    CHECK_FAIL(wick_pack_k_scales(WICK_DTYPE_Q4_K, bad, bad, b), WICK_E_RANGE, "expected 0..63");
    bad[3] = 0;
    CHECK_FAIL(wick_pack_k_scales(WICK_DTYPE_Q4_K, bad, NULL, b), WICK_E_INVALID, "mins");
    CHECK_FAIL(wick_pack_k_scales(WICK_DTYPE_Q6_K, bad, bad, b), WICK_E_UNSUPPORTED, "Q6_K");
    static const float xs[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 65520.0f, 1e-7f, 3.0e-8f, 1e30f};
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
        CHECK(wick_f32_to_f16(xs[i]) == wk_f32_to_fp16(xs[i]));
        CHECK(wick_f32_to_bf16(xs[i]) == wk_f32_to_bf16(xs[i]));
    }
    CHECK(wick_f32_to_f16(1.0f) == 0x3c00 && wick_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(wick_f32_to_f16(65520.0f) == 0x7c00);
}

static void test_api(void)
{
    float out[256];
    uint8_t in[512] = {0};
    CHECK_FAIL(wick_dequantize(16, in, out, 256), WICK_E_UNSUPPORTED,
               "tensor type IQ2_XXS (16) is not supported");
    CHECK_FAIL(wick_dequantize(WICK_DTYPE_Q8_K, in, out, 256), WICK_E_UNSUPPORTED, "Q8_K");
    CHECK_FAIL(wick_dequantize(4, in, out, 32), WICK_E_UNSUPPORTED, NULL);
    CHECK_FAIL(wick_dequantize(999, in, out, 32), WICK_E_UNSUPPORTED, NULL);
    CHECK_FAIL(wick_dequantize(WICK_DTYPE_Q4_K, in, out, 100), WICK_E_INVALID, "Q4_K");
    CHECK_FAIL(wick_dequantize(WICK_DTYPE_Q4_0, in, out, -32), WICK_E_INVALID, NULL);
    CHECK_OK(wick_dequantize(WICK_DTYPE_Q4_K, in, out, 0));
    CHECK_OK(wick_dequantize(WICK_DTYPE_Q4_K, in, out, 256));
    CHECK(out[0] == 0.0f && out[255] == 0.0f);
    float one = 1.5f;
    CHECK_OK(wick_dequantize(WICK_DTYPE_F32, &one, out, 1));
    CHECK(out[0] == 1.5f);

    const wk_kernels *k = wk_kernels_get();
    CHECK(k != NULL && k->name != NULL);
    CHECK(wk_kernels_named("scalar") != NULL);
    CHECK(wk_kernels_named("nonsense") == NULL);
    const char *want = getenv("WICK_CPU");
    if (want && wk_kernels_named(want)) { CHECK(strcmp(k->name, want) == 0); }
    printf("kernels in use: %s\n", k ? k->name : "?");
    // Every supported type has all members; activation types their quantizer.
    for (int p = 0; p < 3; p++) {
        const wk_kernels *kp = wk_kernels_named(paths[p]);
        if (!kp) { continue; }
        for (int t = 0; t < WICK_DTYPE_COUNT; t++) {
            bool sup = wick_dtype_supported(t);
            CHECKF(sup == (kp->to_float[t] != NULL), "%s to_float[%d]", kp->name, t);
            CHECKF(sup == (kp->vec_dot[t] != NULL), "%s vec_dot[%d]", kp->name, t);
            CHECKF(sup == (kp->vec_dot_4act[t] != NULL), "%s vec_dot_4act[%d]", kp->name, t);
            bool kq = sup && wk_type(t)->blck == WK_QK_K; // the K formats have vec_dot_4row
            CHECKF(kq == (kp->vec_dot_4row[t] != NULL), "%s vec_dot_4row[%d]", kp->name, t);
            // and the legacy formats vec_dot_4il
            bool il = kq || (sup && (t == WICK_DTYPE_Q4_0 || t == WICK_DTYPE_Q5_0 ||
                                     t == WICK_DTYPE_Q8_0 || t == WICK_DTYPE_Q4_1 ||
                                     t == WICK_DTYPE_Q5_1));
            CHECKF(il == (kp->vec_dot_4il[t] != NULL), "%s vec_dot_4il[%d]", kp->name, t);
            if (p == 0) { // the reference has the batched ones of every K format
                CHECKF(kq == (kp->vec_dot_4il_n[t] != NULL), "scalar vec_dot_4il_n[%d]", t);
            }
            if (sup) { CHECK(kp->from_float[wk_type(t)->vec_dot_type] != NULL); }
        }
    }
}

// WICK_CPU picks the path at first use: run this program again as `test_kernels --path` with the
// variable set and read which table it got (and the warning when the CPU cannot run it).
static void test_env_selection(void)
{
    static const struct {
        const char *env, *want;
    } cases[] = {{"scalar", "scalar"}, {"avx2", "avx2"}, {"avx512", "avx512"}, {"bogus", NULL}};
    const wk_kernels *best = wk_kernels_named("avx512") ? wk_kernels_named("avx512")
                           : wk_kernels_named("avx2")   ? wk_kernels_named("avx2")
                                                        : wk_kernels_named("scalar");
    for (size_t i = 0; i < WK_ARRAY_LEN(cases); i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "WICK_CPU=%s /proc/%d/exe --path 2>&1", cases[i].env,
                 (int)getpid());
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        if (!f) { continue; }
        char out[1024] = "";
        size_t len = fread(out, 1, sizeof out - 1, f);
        out[len] = '\0';
        pclose(f);
        bool runnable = cases[i].want && wk_kernels_named(cases[i].want);
        char want[64];
        snprintf(want, sizeof want, "path=%s\n", runnable ? cases[i].want : best->name);
        CHECKF(strstr(out, want) != NULL, "WICK_CPU=%s: got '%s', want '%s'", cases[i].env, out,
               want);
        if (!runnable) { // the fallback is announced
            CHECKF(strstr(out, "cannot run that path") != NULL, "WICK_CPU=%s: no warning in '%s'",
                   cases[i].env, out);
        }
    }
}

// dot_f32_4x4 against 16 reference dots: rows of 128 (attention heads), 77 (a tail past the
// vector width) and 16 elements, strided rows and outputs; equal up to float summation order.
static void check_dot_f32_4x4(const wk_kernels *k, const wk_kernels *ref)
{
    static const int64_t ns[] = {128, 77, 16};
    float a[4 * 150], b[4 * 160], s[4 * 9], want;
    for (size_t c = 0; c < WK_ARRAY_LEN(ns); c++) {
        const int64_t n = ns[c];
        for (size_t i = 0; i < WK_ARRAY_LEN(a); i++) { a[i] = rndf(); }
        for (size_t i = 0; i < WK_ARRAY_LEN(b); i++) { b[i] = rndf(); }
        k->dot_f32_4x4(n, a, 150, b, 160, s, 9);
        int n_bad = 0;
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                ref->vec_dot[WICK_DTYPE_F32](n, &want, a + i * 150, b + j * 160);
                double mag = 0;
                for (int64_t e = 0; e < n; e++) {
                    mag += fabs((double)a[i * 150 + e] * b[j * 160 + e]);
                }
                n_bad += fabs((double)s[i * 9 + j] - want) > 1e-5 * mag;
            }
        }
        CHECKF(n_bad == 0, "%s dot_f32_4x4 n=%lld: %d of 16 differ", k->name, (long long)n, n_bad);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--path") == 0) {
        wick_log_set_level(WICK_LOG_WARN);
        printf("path=%s\n", wk_kernels_get()->name);
        return 0;
    }
    static const char *const golden[] = {"F16",  "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                                         "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
    const wk_kernels *ref = wk_kernels_named("scalar");
    test_fp16();
    test_api();
    test_pack();
    test_env_selection();
    for (int p = 0; p < 3; p++) {
        const wk_kernels *k = wk_kernels_named(paths[p]);
        if (!k) {
            printf("%s path: SKIPPED, this CPU cannot run it (cpu features: %s)\n", paths[p],
                   wk_cpu_features());
            continue;
        }
        for (size_t i = 0; i < WK_ARRAY_LEN(golden); i++) { golden_dequant(k, golden[i]); }
        golden_actquant(k, "Q8_0", WICK_DTYPE_Q8_0);
        golden_actquant(k, "Q8_1", WICK_DTYPE_Q8_1);
        golden_actquant(k, "Q8_K", WICK_DTYPE_Q8_K);
        if (k != ref) {
            check_dequant_path(k, ref);
            check_quant_path(k, ref);
        }
        check_dot_path(k, ref);
        check_dot_f32_4x4(k, ref);
        printf("%s path: checked\n", k->name);
    }
    // AVX-512's Q5_K and Q6_K four-row kernels with and without GFNI (the path takes one by the
    // CPU)
    const wk_kernels *k512 = wk_kernels_named("avx512");
    for (int gfni = 0; k512 && gfni <= (int)wk_cpu_has_gfni(); gfni++) {
        wk_kernels v = *k512;
        wk_kernels_fill_avx512_gfni(&v, gfni);
        check_dot_4row(&v, ref, WICK_DTYPE_Q5_K);
        check_dot_4row(&v, ref, WICK_DTYPE_Q6_K);
        printf("avx512 Q5_K, Q6_K four-row kernels %s GFNI: checked\n", gfni ? "with" : "without");
        // the legacy formats' vec_dot_4il (legacy_avx512.c), two rows per vector
        wk_kernels_fill_avx512_legacy(&v, gfni);
        static const int legacy[] = {WICK_DTYPE_Q4_0, WICK_DTYPE_Q5_0, WICK_DTYPE_Q4_1,
                                     WICK_DTYPE_Q5_1};
        for (size_t li = 0; li < WK_ARRAY_LEN(legacy); li++) {
            check_dot_4il_legacy(&v, ref, legacy[li]);
        }
        printf("avx512 legacy vec_dot_4il %s GFNI: checked\n", gfni ? "with" : "without");
    }
    // AVX-512's Q2_K four-row kernels with and without VBMI
    for (int vbmi = 0; k512 && vbmi <= (int)wk_cpu_has_vbmi(); vbmi++) {
        wk_kernels v = *k512;
        wk_kernels_fill_avx512_q23(&v, vbmi);
        check_dot_4row(&v, ref, WICK_DTYPE_Q2_K);
        printf("avx512 Q2_K four-row kernels %s VBMI: checked\n", vbmi ? "with" : "without");
    }
    return test_summary("kernels");
}
