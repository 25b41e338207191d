// mkmodel.h — wick-mkmodel, the random-weight GGUF generator: what its files share.
//
// main.c     options, metadata, vocabulary, shards, timing
// presets.c  model shapes (tiny / phi4 / kimi), the tensor list, the llama-quantize type policy
// fill.c     the random numbers: counter-based PRNG, normal quantiles, quantized blocks, threads
//
// Random numbers are a pure function of (seed, canonical tensor name, element or block index), so
// the same --seed gives the same numbers in every tensor whatever the variant (fused, kv_b, split)
// and whichever thread writes them.
#ifndef WICK_MKMODEL_H
#define WICK_MKMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wick.h"

typedef enum mk_arch { MK_LLAMA, MK_PHI3, MK_DEEPSEEK2 } mk_arch;

// A file type as llama-quantize names it (general.file_type = llama_ftype).
typedef struct mk_ftype {
    const char *name;  // "Q4_K_M"
    int ftype;         // llama_ftype id
    int base;          // the default tensor type (wick_dtype)
} mk_ftype;

typedef struct mk_hparams {
    mk_arch arch;
    const char *preset;
    int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx, n_ctx_orig;
    float rope_base, rms_eps;
    bool tied; // no output.weight: token_embd doubles as the output matrix
    // deepseek2 (MLA + MoE)
    int64_t q_lora, kv_lora, nope, rope_dim, v_dim;
    int64_t n_ff_exp, n_expert, n_expert_used, n_expert_shared, n_dense_lead;
    int64_t n_group, n_group_used;
    float expert_scale, yarn_factor, yarn_log_mul;
} mk_hparams;

// How a written tensor's rows relate to the canonical random streams.
typedef enum mk_map {
    MK_MAP_PLAIN,      // row r of stream src[0]
    MK_MAP_GATE_UP,    // ffn_gate_up_exps: expert e rows [0,part) = src[0] (gate) rows e*part+j,
                       // rows [part,2part) = src[1] (up) rows e*part+j
    MK_MAP_KV_B,       // attn_kv_b from attn_k_b (src[0]) and attn_v_b (src[1]); see fill.c
    MK_MAP_ROPE_FREQS, // llama3 rope factors, no randomness
} mk_map;

// A canonical random stream: its key (from seed and canonical name) and distribution.
typedef struct mk_src {
    uint64_t key;
    float mu, sigma;
} mk_src;

#define MK_NAME_MAX 64

typedef struct mk_tensor {
    char name[MK_NAME_MAX];
    int type; // wick_dtype
    int n_dims;
    int64_t ne[4];
    int layer; // -1 outside blk.N
    mk_map map;
    mk_src src[2];
    int64_t part; // GATE_UP: rows per part; KV_B: unused (shapes come from hp)
} mk_tensor;

typedef struct mk_model {
    mk_hparams hp;
    const mk_ftype *ft;
    uint64_t seed;
    bool kv_b, fused_exps, lite, rope_freqs;
    const char *tok_pre;   // tokenizer.ggml.pre override, or NULL
    uint32_t gguf_version; // 2 or 3
    size_t alignment;      // data alignment (general.alignment when not 32)
    mk_tensor *t;
    int n_t, cap_t;
} mk_model;

// --- presets.c ---
const mk_ftype *mk_ftype_find(const char *name);
// "F32 F16 ..." for usage text; wrap (or NULL) separates every 9 names
void mk_ftype_list(char *buf, size_t size, const char *wrap);
// Fills hp with the preset's shapes; false for an unknown (arch, preset) pair.
bool mk_preset(mk_arch arch, const char *preset, mk_hparams *hp);
// Builds m->t from m->hp and the options; on failure prints nothing and returns a reason.
const char *mk_build_tensors(mk_model *m);
const char *mk_arch_name(mk_arch a);

// --- fill.c ---
uint64_t mk_stream_key(uint64_t seed, const char *canonical_name);
// Prepares the shared tables (normal quantiles). Call once before any fill.
void mk_fill_init(void);
// Writes the bytes of t into dst (bytes long) with n_threads threads.
wick_status mk_fill_tensor(const mk_model *m, const mk_tensor *t, void *dst, size_t bytes,
                           int n_threads);

#endif
