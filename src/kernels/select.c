// select.c — picks the kernel path once per process (pthread_once): the best this CPU can run,
// or the one WICK_CPU names (scalar, avx2, avx512). Also the public wick_dequantize().
#include <pthread.h>
#include <stdlib.h>

#include "base/cpu.h"
#include "kernels/impl.h"

static wk_kernels tab_scalar, tab_avx2, tab_avx512;
static bool have_avx2, have_avx512;
static const wk_kernels *chosen;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
    wk_kernels_fill_ref(&tab_scalar);
    have_avx2 = wk_cpu_has_avx2();
    have_avx512 = wk_cpu_has_avx512();
    tab_avx2 = tab_scalar;
    tab_avx2.name = "avx2";
    if (have_avx2) { wk_kernels_fill_avx2(&tab_avx2); }
    tab_avx512 = tab_avx2;
    tab_avx512.name = "avx512";
    if (have_avx512) { wk_kernels_fill_avx512(&tab_avx512); }

    const wk_kernels *best = have_avx512 ? &tab_avx512 : have_avx2 ? &tab_avx2 : &tab_scalar;
    chosen = best;
    const char *want = getenv("WICK_CPU");
    if (want && *want) {
        if (strcmp(want, "scalar") == 0) {
            chosen = &tab_scalar;
        } else if (strcmp(want, "avx2") == 0 && have_avx2) {
            chosen = &tab_avx2;
        } else if (strcmp(want, "avx512") == 0 && have_avx512) {
            chosen = &tab_avx512;
        } else {
            wk_warn("WICK_CPU=%s: this CPU (%s) cannot run that path; using %s", want,
                    wk_cpu_features(), best->name);
        }
    }
    wk_debug("kernels: %s (cpu: %s)", chosen->name, wk_cpu_features());
}

const wk_kernels *wk_kernels_get(void)
{
    pthread_once(&once, build);
    return chosen;
}

const wk_kernels *wk_kernels_named(const char *name)
{
    pthread_once(&once, build);
    if (!name) { return NULL; }
    if (strcmp(name, "scalar") == 0) { return &tab_scalar; }
    if (strcmp(name, "avx2") == 0) { return have_avx2 ? &tab_avx2 : NULL; }
    if (strcmp(name, "avx512") == 0) { return have_avx512 ? &tab_avx512 : NULL; }
    return NULL;
}

wick_status wick_dequantize(wick_dtype type, const void *src, float *dst, int64_t n)
{
    const wk_type_traits *t = wk_type(type);
    if (!t) { return wk_fail(WICK_E_UNSUPPORTED, "tensor type %d is unknown", (int)type); }
    const wk_kernels *k = wk_kernels_get();
    if (!t->supported || !k->to_float[type]) {
        return wk_fail(WICK_E_UNSUPPORTED, "tensor type %s (%d) is not supported", t->name, (int)type);
    }
    if (n < 0 || n % t->blck != 0) {
        return wk_fail(WICK_E_INVALID, "%" PRId64 " elements of %s: not a whole number of %" PRId64
                       "-element blocks", n, t->name, t->blck);
    }
    if (n > 0 && (!src || !dst)) {
        return wk_fail(WICK_E_INVALID, "wick_dequantize: NULL buffer");
    }
    if (n > 0) { k->to_float[type](src, dst, n); }
    return WICK_OK;
}
