// test_model_mla.c — absorbed multi-head latent attention equals the plain (non-absorbed) form
// of the same weights (the absorbed form reads the attn_k_b / attn_v_b layouts split from kv_b).
#include <math.h>

#include "harness.h"
#include "model/mla.h"

enum { NH = 3, LORA = 40, NOPE = 16, ROPE = 8, VD = 12, NKV = 7 };

static uint32_t rng = 12345;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

// Splits the legacy attn_kv_b (per head h its rows h*(NOPE+VD) .. +NOPE are K's, the next VD
// rows V's) into the attn_k_b layout k_b[h][r][c] = kv_b[h*(NOPE+VD) + c][r] (LORA rows of NOPE)
// and the attn_v_b layout v_b[h][r][c] = kv_b[h*(NOPE+VD) + NOPE + r][c] (VD rows of LORA).
static void split_kv_b(const float *kv_b, float *k_b, float *v_b)
{
    for (int h = 0; h < NH; h++) {
        const float *base = kv_b + (size_t)h * (NOPE + VD) * LORA;
        float *kh = k_b + (size_t)h * LORA * NOPE, *vh = v_b + (size_t)h * VD * LORA;
        for (int c = 0; c < NOPE; c++) {
            for (int r = 0; r < LORA; r++) { kh[r * NOPE + c] = base[c * LORA + r]; }
        }
        for (int i = 0; i < VD * LORA; i++) { vh[i] = base[NOPE * LORA + i]; }
    }
}

static void test_absorbed_equals_plain(void)
{
    // kv_b as an old GGUF stores it: ne {LORA, NH*(NOPE+VD)}, per head NOPE K rows then VD V rows.
    static float kv_b[NH * (NOPE + VD) * LORA];
    static float k_b[NH * LORA * NOPE], v_b[NH * VD * LORA];
    static float cache[NKV * (LORA + ROPE)];
    static float q_nope[NH * NOPE], q_pe[NH * ROPE];
    for (size_t i = 0; i < WK_ARRAY_LEN(kv_b); i++) { kv_b[i] = frand() * 0.3f; }
    for (size_t i = 0; i < WK_ARRAY_LEN(cache); i++) { cache[i] = frand(); }
    for (size_t i = 0; i < WK_ARRAY_LEN(q_nope); i++) { q_nope[i] = frand(); }
    for (size_t i = 0; i < WK_ARRAY_LEN(q_pe); i++) { q_pe[i] = frand(); }
    split_kv_b(kv_b, k_b, v_b);
    float kq_scale = 0.37f;

    // Plain MLA: decompress K and V per head, then ordinary attention.
    double plain[NH][VD];
    for (int h = 0; h < NH; h++) {
        const float *kr = kv_b + (size_t)h * (NOPE + VD) * LORA;
        const float *vr = kr + (size_t)NOPE * LORA;
        double s[NKV], max = -1e30, sum = 0;
        for (int i = 0; i < NKV; i++) {
            const float *c = cache + (size_t)i * (LORA + ROPE);
            double d = 0;
            for (int n = 0; n < NOPE; n++) {
                double k = 0;
                for (int r = 0; r < LORA; r++) { k += (double)kr[n * LORA + r] * c[r]; }
                d += k * q_nope[h * NOPE + n];
            }
            for (int n = 0; n < ROPE; n++) { d += (double)q_pe[h * ROPE + n] * c[LORA + n]; }
            s[i] = d * kq_scale;
            if (s[i] > max) { max = s[i]; }
        }
        for (int i = 0; i < NKV; i++) { sum += s[i] = exp(s[i] - max); }
        for (int v = 0; v < VD; v++) {
            double acc = 0;
            for (int i = 0; i < NKV; i++) {
                const float *c = cache + (size_t)i * (LORA + ROPE);
                double val = 0;
                for (int r = 0; r < LORA; r++) { val += (double)vr[v * LORA + r] * c[r]; }
                acc += s[i] / sum * val;
            }
            plain[h][v] = acc;
        }
    }

    // Absorbed: q_abs = k_b[h] · q_nope[h]; attention over the compressed rows; v_b[h] · o.
    static float q[NH * (LORA + ROPE)], scores[NH * (NKV + LORA + ROPE) + 4 * (LORA + ROPE) + 16],
        o[NH * LORA];
    CHECK(wk_mla_attend_scratch(NH, LORA, ROPE, NKV) <= (int64_t)WK_ARRAY_LEN(scores));
    const wk_kernels *kern = wk_kernels_get();
    for (int h = 0; h < NH; h++) {
        for (int r = 0; r < LORA; r++) {
            float a = 0;
            for (int n = 0; n < NOPE; n++) {
                a += k_b[((size_t)h * LORA + r) * NOPE + n] * q_nope[h * NOPE + n];
            }
            q[h * (LORA + ROPE) + r] = a;
        }
        for (int n = 0; n < ROPE; n++) { q[h * (LORA + ROPE) + LORA + n] = q_pe[h * ROPE + n]; }
    }
    wk_mla_attend(kern, NH, LORA, ROPE, q, LORA + ROPE, cache, LORA + ROPE, NKV, kq_scale, scores,
                  o, LORA);
    double worst = 0;
    for (int h = 0; h < NH; h++) {
        for (int v = 0; v < VD; v++) {
            float a = 0;
            for (int r = 0; r < LORA; r++) {
                a += v_b[((size_t)h * VD + v) * LORA + r] * o[h * LORA + r];
            }
            worst = fmax(worst, fabs(a - plain[h][v]));
        }
    }
    CHECKF(worst < 1e-5, "absorbed vs plain: %g", worst);

    // The f16 cache: same within f16 rounding of the cached rows.
    static uint16_t cache16[NKV * (LORA + ROPE)];
    static float o16[NH * LORA];
    for (size_t i = 0; i < WK_ARRAY_LEN(cache); i++) { cache16[i] = wk_f32_to_fp16(cache[i]); }
    wk_mla_attend_f16(kern, NH, LORA, ROPE, q, LORA + ROPE, cache16, LORA + ROPE, NKV, kq_scale,
                      scores, o16, LORA);
    worst = 0;
    for (int i = 0; i < NH * LORA; i++) { worst = fmax(worst, fabs(o16[i] - o[i])); }
    CHECKF(worst < 2e-3, "f16 cache: %g", worst);

    // Layouts: k_b[h] is kv_lora rows of nope (K's rows transposed), v_b[h] V's rows verbatim.
    CHECK(k_b[(1 * LORA + 5) * NOPE + 3] == kv_b[(1 * (NOPE + VD) + 3) * LORA + 5]);
    CHECK(v_b[(2 * VD + 4) * LORA + 7] == kv_b[(2 * (NOPE + VD) + NOPE + 4) * LORA + 7]);
}

static void test_accum(void)
{
    // The AVX2 value accumulation (the kernel table's accum_rows) equals the portable one (up to
    // FMA rounding), for 1..4 rows and a row length with a tail.
    const wk_kernels *ref = wk_kernels_named("scalar"), *avx2 = wk_kernels_named("avx2");
    CHECK(ref && ref->accum_rows);
    if (!ref || !avx2) { return; }
    CHECK(avx2->accum_rows && avx2->accum_rows != ref->accum_rows);
    enum { N = 43, H = 3, R = 4 };
    static float rows[R * 50], p[H * 7], o1[H * 48], o2[H * 48];
    for (size_t i = 0; i < WK_ARRAY_LEN(rows); i++) { rows[i] = frand(); }
    for (size_t i = 0; i < WK_ARRAY_LEN(p); i++) { p[i] = frand(); }
    for (int nr = 1; nr <= R; nr++) {
        for (size_t i = 0; i < WK_ARRAY_LEN(o1); i++) { o1[i] = o2[i] = frand(); }
        ref->accum_rows(o1, 48, p, 7, rows, 50, nr, H, N);
        avx2->accum_rows(o2, 48, p, 7, rows, 50, nr, H, N);
        double worst = 0;
        for (int h = 0; h < H; h++) {
            for (int c = 0; c < 48; c++) {
                worst = fmax(worst, fabs((double)o1[h * 48 + c] - o2[h * 48 + c]));
                if (c >= N) { CHECK(o1[h * 48 + c] == o2[h * 48 + c]); } // untouched
            }
        }
        CHECKF(worst < 1e-5, "nr %d: %g", nr, worst);
    }
}

int main(void)
{
    test_absorbed_equals_plain();
    test_accum();
    return test_summary("model_mla");
}
