// kernels.h — tensor formats and the compute kernels on them (internal).
//
// Every format has a scalar reference (`_ref`, in ref.c): it is the specification and the test
// oracle. Faster paths live in per-ISA files (x86_avx2.c and x86_kquant_avx2.c, x86_avx512.c:
// compiled with that ISA's flags by CMake because of their names) and are picked once, at first use, into a wk_kernels table
// (select.c). WICK_CPU=scalar|avx2|avx512 forces a path.
//
// Matrix-vector products follow ggml (ggml-cpu's vec_dot_type): a weight row of type T is dotted
// with an activation row first converted to T's vec_dot_type (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for
// Q4_1/Q5_1, Q8_K for the K-quants, F16 for F16, BF16 for BF16, F32 for F32), with integer
// products inside blocks and float scales per block.
//
// Guarantees: to_float and from_float give the same bits on every path (and equal ggml's
// dequantize_row_* / x86 quantize_row_* bit for bit, tests/data/dequant). vec_dot of the K
// formats (Q2_K .. Q6_K) gives the same bits on the scalar, AVX2 and AVX-512 paths (exact
// integer sums per block, then the same float operations in the same order), and so do their
// vec_dot_4act and vec_dot_4row for each output; the other types differ between paths only by
// float summation order (about 1e-6 of Σ|w·a|). Block layouts: blocks.h.
// Alignment: weight rows need only 2-byte alignment (F32 rows 4; Q8_K activation rows 4); no
// kernel reads or writes past n elements. Tables are immutable once built: any thread may use them.
#ifndef WK_KERNELS_H
#define WK_KERNELS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"

typedef struct wk_type_traits {
    const char *name;
    int64_t blck;     // elements per block
    size_t bytes;     // bytes per block
    bool supported;   // wick can dequantize and compute with it
    int vec_dot_type; // the activation format its dot product takes; -1 when unsupported
} wk_type_traits;

// The traits of a type id, or NULL when no known format has that id.
const wk_type_traits *wk_type(int type);
// Bytes taken by n elements of type (n a multiple of the block size); fails with a message.
wick_status wk_row_bytes(int type, int64_t n, size_t *out);

// y[n] = x · w for one row of a weight of type t: s = Σ_k w[k] * a[k], where a is the activation
// row in the weight's vec_dot_type. n is the row length in elements (a multiple of the block).
typedef void (*wk_vec_dot_fn)(int64_t n, float *s, const void *w, const void *a);
// s[j] = w · a_j for j < 4: one weight row against four activation rows (e.g. four tokens of a
// prompt), a_j = (const char *)a + j * a_stride (bytes, in the weight's vec_dot_type). Same
// results as four vec_dot calls up to float summation order. On AVX2 every type has a version
// that unpacks (or widens) each weight block once: 1.2-2.1x the speed of four vec_dot calls on a
// cache-resident weight (bench_kernels; the K formats 1.8-2.1x). Meant for GEMM (loop tokens in fours) and for one K row
// against several queries (F16/F32 attention, a_stride = the query stride in bytes).
typedef void (*wk_vec_dot_4act_fn)(int64_t n, float *s, const void *w, const void *a,
                                   size_t a_stride);
// s[r] = w_r · a for r < 4: four weight rows, w_r = (const char *)w + r * w_stride (bytes), against
// one activation row (GEMV, one token): the activation blocks are loaded once for the four rows
// and the four rows' block totals are reduced together. Set for the K formats (Q2_K .. Q6_K) on
// every path, with the same bits as four vec_dot calls; NULL for the other types (call vec_dot
// per row). The AVX2 and AVX-512 kernels prefetch the four rows after these (w + 4 * w_stride
// ...), as a GEMV calls them next: a hint, never a load, harmless past the end of the weight.
// bench_kernels, 4096 columns, one thread: Q4_K GEMV 10.4 GB/s cold with vec_dot per row, 14
// with this (AVX2).
typedef void (*wk_vec_dot_4row_fn)(int64_t n, float *s, const void *w, size_t w_stride,
                                   const void *a);
// vec_dot_4il (same type): the same four products over four rows INTERLEAVED block by block, the
// layout wk_interleave4 makes at model load (repacking): block b of row r at w + (4 b + r) *
// block bytes, so a GEMV reads its weight as one linear stream. w_stride = the bytes of one row
// (the next group starts 4 w_stride after w; the kernels prefetch it). Same bits as vec_dot_4row
// (the K formats) or as the path's vec_dot of each row (Q4_0, Q5_0, Q8_0, whose vec_dot_4act gives
// those bits too). Set for the K formats and Q4_0, Q5_0, Q8_0 on every path (scalar: a copy per
// row, for tests; Q2_K / Q3_K on AVX2 / AVX-512: the scalar ones; repack.c repacks only the types
// whose path has a fast one).
// vec_dot_4il_n (same type): the four interleaved rows of vec_dot_4il against nt <= WK_4IL_N_MAX
// activation rows (a_t = (const char *)a + t * a_stride bytes): s[4 t + r] = w_r · a_t. Each group
// of four rows is read and unpacked once for the nt tokens (batched decode: one token per
// stream), and every output has the bits vec_dot_4il gives for that token alone. Set where a
// kernel gains from it (AVX-512: Q4_K, Q5_K, Q6_K) and on the scalar path (the reference: one
// vec_dot_4il per token); NULL elsewhere: call vec_dot_4il per token.
// vec_dot_4il_ng: the same products, same bits, with the activation rows' Q8_K blocks regrouped
// (Q4_K: wk_q8_k_group; Q5_K, Q6_K: wk_q8_k_group6, whose blocks are larger: a_stride counts
// them), where a kernel needs fewer instructions per token so (AVX-512 Q4_K, Q5_K, Q6_K:
// vpdpbusd chain along a row's groups; batch_avx512.c); NULL elsewhere.
#define WK_4IL_N_MAX 8
typedef void (*wk_vec_dot_4il_n_fn)(int64_t n, int nt, float *s, const void *w, size_t w_stride,
                                    const void *a, size_t a_stride);
// o[h * o_stride + c] += Σ_{i < nr} p[h * p_stride + i] · rows[i * row_stride + c] for heads
// h < nh, c < n and nr <= 4 rows: a few float rows weighted into several outputs (the value side
// of attention over a cache shared by all heads, MLA). Paths differ only by FMA rounding.
typedef void (*wk_accum_rows_fn)(float *o, int64_t o_stride, const float *p, int64_t p_stride,
                                 const float *rows, int64_t row_stride, int nr, int nh, int64_t n);
// s[i * s_stride + j] = a_i · b_j for i, j < 4 (float rows of n elements, a_i = a + i * a_stride,
// b_j = b + j * b_stride): four queries against four cached keys (attention scores), the 16
// dots reduced together. Paths differ only by float summation order.
typedef void (*wk_dot_f32_4x4_fn)(int64_t n, const float *a, int64_t a_stride, const float *b,
                                  int64_t b_stride, float *s, int64_t s_stride);
// GEMM of the K formats (prefill: many tokens against a weight), layouts in gemm.h. gemm_pack
// rearranges n_rows <= 16 rows of a weight (row r at w + r * w_stride, K elements) into a tile of
// wk_gemm_tile_bytes(K); gemm multiplies n_rows <= 64 rows, in tiles back to back (rows 16 i ..
// in tile i), by token groups [g0, g1) (16 tokens each) of activations packed by
// wk_gemm_pack_act: y[t * y_stride + r] for t < T, r < n_rows; while it runs it prefetches the
// pf_bytes at pf into L2 (the weight rows the thread packs next, read from memory; pf NULL: none).
// Same bits as vec_dot for every output. Set on the AVX2 and AVX-512 paths; NULL on scalar.
typedef void (*wk_gemm_pack_fn)(const void *w, size_t w_stride, int n_rows, int64_t K, void *tile);
typedef void (*wk_gemm_fn)(const void *tile, int n_rows, int64_t K, const void *act, int64_t T,
                           int64_t g0, int64_t g1, float *y, int64_t y_stride, const void *pf,
                           size_t pf_bytes);
// gemm0 (gemm.h): the legacy formats with signed quants (Q4_0, Q5_0, Q8_0), n_rows <= 16 rows of
// K <= WK_GEMM0_MAX_K elements (row r at w + r * w_stride; the kernel packs them) times T tokens
// packed by wk_gemm_pack_act0: y[t * y_stride + r]. The bits of the scalar (ref.c) vec_dot.
// AVX-512 VNNI only; NULL elsewhere.
typedef void (*wk_gemm0_fn)(const void *w, size_t w_stride, int n_rows, int64_t K,
                            const void *act, int64_t T, float *y, int64_t y_stride);
// Converts n floats to the blocks of an activation format (n a multiple of its block).
typedef void (*wk_from_float_fn)(const float *x, void *y, int64_t n);
// Decodes n elements (a multiple of the block) to floats.
typedef void (*wk_to_float_fn)(const void *x, float *y, int64_t n);

typedef struct wk_kernels {
    const char *name;                               // "scalar", "avx2", "avx512"
    wk_to_float_fn to_float[WICK_DTYPE_COUNT];      // by type: dequantization
    wk_from_float_fn from_float[WICK_DTYPE_COUNT];  // by activation type: F32 (copy), F16, BF16,
                                                    // Q8_0, Q8_1, Q8_K
    wk_vec_dot_fn vec_dot[WICK_DTYPE_COUNT];        // by weight type
    wk_vec_dot_4act_fn vec_dot_4act[WICK_DTYPE_COUNT]; // by weight type; set wherever vec_dot is
    wk_vec_dot_4row_fn vec_dot_4row[WICK_DTYPE_COUNT]; // by weight type; the K formats only
    wk_vec_dot_4row_fn vec_dot_4il[WICK_DTYPE_COUNT];  // by weight type; interleaved rows
    wk_vec_dot_4il_n_fn vec_dot_4il_n[WICK_DTYPE_COUNT]; // the same, several tokens at once
    wk_vec_dot_4il_n_fn vec_dot_4il_ng[WICK_DTYPE_COUNT]; // the same, activations grouped
    wk_accum_rows_fn accum_rows;
    wk_dot_f32_4x4_fn dot_f32_4x4;
    wk_gemm_pack_fn gemm_pack[WICK_DTYPE_COUNT];    // by weight type; K formats, AVX2 / AVX-512
    wk_gemm_fn gemm[WICK_DTYPE_COUNT];
    wk_gemm_pack_fn gemm_pack_il[WICK_DTYPE_COUNT]; // the same tile from n_rows (a multiple of 4)
                                                    // rows interleaved by four (w: the first
                                                    // group, w_stride: a row's bytes); Q4_K, Q6_K
    wk_gemm0_fn gemm0[WICK_DTYPE_COUNT];            // by weight type; Q4_0, Q5_0, Q8_0, AVX-512
} wk_kernels;

// The table in use: the best path this CPU supports, or the one WICK_CPU names. Thread: any.
const wk_kernels *wk_kernels_get(void);
// A named table ("scalar", "avx2", "avx512"), or NULL when this CPU cannot run it (tests).
const wk_kernels *wk_kernels_named(const char *name);

// Writes n_rows rows (n_rows a multiple of 4, rb bytes each, blocks of bb bytes) of src to dst
// interleaved by four: group g = rows 4g .. 4g + 3 at dst + 4 g rb, block b of its row r at
// (4 b + r) bb within it. wk_deinterleave4 undoes it. dst and src must not overlap.
void wk_interleave4(void *dst, const void *src, int64_t n_rows, size_t rb, size_t bb);
void wk_deinterleave4(void *dst, const void *src, int64_t n_rows, size_t rb, size_t bb);

// Copies n_blocks Q8_K blocks from src to dst (not overlapping) with each block's 256 quants in
// the grouped order the kernels' vec_dot_4il_ng take: 4-byte run (k, L, i) at 64 k + 16 L + 4 i
// holds elements 4 k .. 4 k + 3 of 16-element group 8 (i / 2) + 4 (L / 2) + 2 (i % 2) + L % 2
// (d and bsums as they are).
void wk_q8_k_group(void *dst, const void *src, int64_t n_blocks);
// The same for the batched Q5_K and Q6_K kernels: n_blocks wk_block_q8_kg6 (388 bytes each; see blocks.h)
// from Q8_K blocks, 4-byte run (k, L, j) at 64 k + 16 L + 4 j holding elements 128 (k / 2) +
// 64 (j % 2) + 16 L + 8 (k % 2) + 4 (j / 2) onwards.
void wk_q8_k_group6(void *dst, const void *src, int64_t n_blocks);

// fp16 / bf16 scalar conversions (exact, round-to-nearest-even for the narrowing ones).
float wk_fp16_to_f32(uint16_t h);
uint16_t wk_f32_to_fp16(float f);
float wk_bf16_to_f32(uint16_t h);
uint16_t wk_f32_to_bf16(float f);

#endif
