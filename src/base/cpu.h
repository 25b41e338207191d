// cpu.h — what the processor we run on can do (x86: cpuid + xgetbv), for picking kernel paths.
//
// A feature counts only when the CPU has it AND the operating system saves its registers on a
// context switch (XCR0: YMM state for AVX/AVX2, opmask + ZMM state for AVX-512). The answers are
// computed once and cached. Thread: any.
#ifndef WK_BASE_CPU_H
#define WK_BASE_CPU_H

#include <stdbool.h>

bool wk_cpu_has_avx2(void);   // AVX2 + FMA + F16C (+ OS YMM support): the avx2 kernel path
// AVX-512 F + BW + VL + DQ + VNNI, with FMA/F16C/BMI2 (+ OS ZMM support): the avx512 path.
bool wk_cpu_has_avx512(void);
bool wk_cpu_has_gfni(void); // GFNI (vgf2p8affineqb): a faster Q6_K kernel on the avx512 path
bool wk_cpu_has_vbmi(void); // AVX-512 VBMI (vpermb): a faster Q2_K kernel on the avx512 path
// A short description ("avx2 fma f16c bmi2", "none"): static storage.
const char *wk_cpu_features(void);

#endif
