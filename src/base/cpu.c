// cpu.c — CPU feature detection with cpuid and xgetbv (see cpu.h).
#include "base/cpu.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define WK_X86 1
#endif

static struct {
    bool avx2, fma, f16c, bmi2, avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, gfni, vbmi;
    bool os_ymm, os_zmm;
    char desc[128];
} cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

#ifdef WK_X86
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}
#endif

static void detect(void)
{
#ifdef WK_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) { goto done; }
    unsigned max_leaf = a;
    if (!__get_cpuid(1, &a, &b, &c, &d)) { goto done; }
    bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    cpu.fma = (c >> 12) & 1;
    cpu.f16c = (c >> 29) & 1;
    if (osxsave && avx) {
        uint64_t xcr0 = xgetbv0();
        cpu.os_ymm = (xcr0 & 0x6) == 0x6;          // SSE + AVX state
        cpu.os_zmm = cpu.os_ymm && (xcr0 & 0xe0) == 0xe0; // opmask, ZMM_Hi256, Hi16_ZMM
    }
    if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        cpu.avx2 = (b >> 5) & 1;
        cpu.bmi2 = (b >> 8) & 1;
        cpu.avx512f = (b >> 16) & 1;
        cpu.avx512dq = (b >> 17) & 1;
        cpu.avx512bw = (b >> 30) & 1;
        cpu.avx512vl = (b >> 31) & 1;
        cpu.avx512vnni = (c >> 11) & 1;
        cpu.gfni = (c >> 8) & 1;
        cpu.vbmi = (c >> 1) & 1;
    }
done:
#endif
    cpu.desc[0] = '\0';
    const struct {
        bool on;
        const char *name;
    } f[] = {{cpu.avx2 && cpu.os_ymm, "avx2"}, {cpu.fma, "fma"}, {cpu.f16c, "f16c"},
             {cpu.bmi2, "bmi2"}, {cpu.avx512f && cpu.os_zmm, "avx512f"},
             {cpu.avx512bw && cpu.os_zmm, "avx512bw"}, {cpu.avx512vl && cpu.os_zmm, "avx512vl"},
             {cpu.avx512dq && cpu.os_zmm, "avx512dq"},
             {cpu.avx512vnni && cpu.os_zmm, "avx512vnni"}, {cpu.gfni, "gfni"},
             {cpu.vbmi && cpu.os_zmm, "avx512vbmi"}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i].on) { continue; }
        if (cpu.desc[0]) { strcat(cpu.desc, " "); }
        strcat(cpu.desc, f[i].name);
    }
    if (!cpu.desc[0]) { strcpy(cpu.desc, "none"); }
}

static void init(void)
{
    pthread_once(&cpu_once, detect);
}

bool wk_cpu_has_avx2(void)
{
    init();
    return cpu.os_ymm && cpu.avx2 && cpu.fma && cpu.f16c;
}

bool wk_cpu_has_avx512(void)
{
    init();
    return wk_cpu_has_avx2() && cpu.bmi2 && cpu.os_zmm && cpu.avx512f && cpu.avx512bw &&
           cpu.avx512vl && cpu.avx512dq && cpu.avx512vnni;
}

bool wk_cpu_has_gfni(void)
{
    init();
    return cpu.gfni;
}

bool wk_cpu_has_vbmi(void)
{
    init();
    return cpu.vbmi && cpu.os_zmm;
}

const char *wk_cpu_features(void)
{
    init();
    return cpu.desc;
}
