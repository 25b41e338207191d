// gemm.h — matrix × matrix (prefill) for the K formats: the layouts the int8 GEMM kernels read.
//
//   Y[t][r] = W_r · X_t for a tile of up to WK_GEMM_ROWS weight rows and any number of tokens,
//   with the same bits as vec_dot (ref.c's KDOT): per super-block of 256 elements the exact
//   integer sums sumi = Σ_g sc_g Σ_{k in g} q_k a_k and summ = Σ_g mn_g Σ_{k in g} a_k, then
//   sumf += (d_a · d) · sumi, summf += (d_a · dmin) · summ, and y = sumf − summf.
//
// Both operands are rearranged once per matmul so that the kernel's inner loop is one vpdpbusd
// (u8 × s8 → i32, 64 products) per 64-byte activation load, with no unpacking in it:
//   - weights (wk_gemm_pack, per tile of 16 rows): each row's quants as unsigned bytes in element
//     order, each group's scale as int32, pairs of int16 against the activations' group sums,
//     d and dmin as floats;
//   - activations (wk_gemm_pack_act, per group of 16 tokens): the Q8_K quants (s8), interleaved
//     four bytes per token (one 64-byte vector = 4 elements of 16 tokens), the bsums as int16
//     pairs, d as floats.
// The formats with mins have unsigned quants (Q2_K, Q4_K, Q5_K): the pairs are the mins and their
// term goes through the float steps as in the reference. The formats with signed quants (Q3_K
// -4..3, Q6_K -32..31) are packed as q + off (off 4, 32) and the pairs are off · sc_g: the
// kernel subtracts off Σ_g sc_g Σ_{k in g} a_k from the integer sum before the float steps, so
// the sum is the reference's exact integer.
// Tokens past T in the last group are zero (d = 0, quants 0): their outputs are never written.
#ifndef WK_KERNELS_GEMM_H
#define WK_KERNELS_GEMM_H

#include <stddef.h>
#include <stdint.h>

// Rows per packed tile, tokens per activation group, rows one gemm call takes (in consecutive
// tiles).
enum { WK_GEMM_ROWS = 16, WK_GEMM_TOKS = 16, WK_GEMM_MAX_ROWS = 64 };

// One super-block of a packed tile of WK_GEMM_ROWS rows (rows past n_rows are zero).
typedef struct wk_gemm_wsb {
    uint8_t q[WK_GEMM_ROWS][256]; // quants in element order, unsigned (Q4_K 0..15, Q6_K q + 32 ...)
    int32_t sc[WK_GEMM_ROWS][16]; // scale of each group (8 groups of 32 or 16 groups of 16)
    int32_t mn[WK_GEMM_ROWS][8];  // pairs (low 16 bits, high 16 bits) against the activation's
                                  // pairs of group sums: the mins of groups of 32 (Q4_K, Q5_K):
                                  // p < 4, groups 2p, 2p+1 (bs32); of 16 (Q2_K): p < 8 (bs);
                                  // off · sc of groups of 16 (Q3_K, Q6_K): p < 8 (bs)
    float d[WK_GEMM_ROWS], dmin[WK_GEMM_ROWS];
} wk_gemm_wsb;

// One super-block of WK_GEMM_TOKS tokens' activations.
typedef struct wk_gemm_asb {
    int8_t q[64][WK_GEMM_TOKS][4]; // [k / 4][token][k % 4] = qs[k]
    int32_t bs[8][WK_GEMM_TOKS];    // [p][token] = bsums[2p] | bsums[2p + 1] << 16
    int32_t bs32[4][WK_GEMM_TOKS];  // the same for sums of 32: s_g = bsums[2g] + bsums[2g + 1],
                                    // [p][token] = s_2p | s_2p+1 << 16
    float d[WK_GEMM_TOKS];
} wk_gemm_asb;

// Bytes of one packed weight tile / of the packed activations of T tokens, for rows of K
// elements (K a multiple of 256).
size_t wk_gemm_tile_bytes(int64_t K);
size_t wk_gemm_act_bytes(int64_t T, int64_t K);
// Packs token groups [g0, g1) (16 tokens each) of T Q8_K activation rows (row i at
// q8k + i * row_bytes) into act (wk_gemm_act_bytes(T, K) bytes; group g at g * K / 256
// super-blocks).
void wk_gemm_pack_act(const void *q8k, size_t row_bytes, int64_t T, int64_t K, int64_t g0,
                      int64_t g1, void *act);
// Packs n_rows (<= 16) rows of a K-format weight (row r at w + r * w_stride) into tile, with the
// scalar unpacker of ref.c (the AVX-512 path has faster ones for Q4_K and Q6_K).
void wk_gemm_pack_ref(int type, const void *w, size_t w_stride, int n_rows, int64_t K, void *tile);

// --- the legacy formats with signed quants (Q4_0, Q5_0, Q8_0) against Q8_0 activations ----------
//
// Per block of 32 elements the exact integer sumi = Σ q_k a_k, then sum += (float)sumi · (d_w ·
// d_a) block by block: the bits of ref.c's vec_dot (not of the SIMD dots, whose float sums go by
// lanes). The kernel (wk_kernels.gemm0) packs its rows itself (quants + off as unsigned bytes: off
// 8, 16, 128) and takes the activations packed per 16 tokens: per block, the quants interleaved
// four bytes per token as in wk_gemm_asb, the sum of the block's 32 quants (the offset's term is
// off times it) and d as a float. Meant for the short rows of many small products (MLA's attn_k_b:
// 128 elements, 512 rows per head).
enum { WK_GEMM0_MAX_K = 1024 }; // the longest row the kernel takes (elements)

typedef struct wk_gemm_asb0 {
    int8_t q[8][WK_GEMM_TOKS][4]; // [k / 4][token][k % 4] = qs[k]
    int32_t s[WK_GEMM_TOKS];      // Σ qs of the block
    float d[WK_GEMM_TOKS];
} wk_gemm_asb0;

// Bytes of the packed activations of T tokens of K elements (K a multiple of 32).
size_t wk_gemm_act0_bytes(int64_t T, int64_t K);
// Packs token groups [g0, g1) of T Q8_0 rows (row i at q8 + i * row_bytes) into act (group g at
// g * K / 32 blocks); tokens past T are zero.
void wk_gemm_pack_act0(const void *q8, size_t row_bytes, int64_t T, int64_t K, int64_t g0,
                       int64_t g1, void *act);

// Part i of n of the bytes [pf, pf + bytes) prefetched into L2 (pf NULL: nothing): a GEMM
// spreads the next weight rows over its n steps, so that they come from memory while it computes
// instead of while the packer waits for them.
static inline void wk_gemm_prefetch_part(const void *pf, size_t bytes, int64_t i, int64_t n)
{
    if (!pf) { return; }
    const size_t per = ((bytes + (size_t)n - 1) / (size_t)n + 63) / 64 * 64;
    const size_t o0 = (size_t)i * per, o1 = o0 + per < bytes ? o0 + per : bytes;
    for (size_t o = o0; o < o1; o += 64) { __builtin_prefetch((const char *)pf + o, 0, 2); }
}

#endif
