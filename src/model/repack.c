// repack.c — run-time repacking of the weights the matmul driver reads: at model open, every
// weight of the projections and experts whose type has a fast vec_dot_4il (Q2_K .. Q6_K:
// four rows per call as one linear stream instead of four at 2.9 KB strides, which the memory's
// prefetchers keep up with; Q4_0, Q5_0, Q8_0: four rows' independent FMA chains instead of one
// row's, the activation loaded once for four) is copied with its rows interleaved by four
// (wk_interleave4). Then the file's pages of that tensor are released (madvise MADV_DONTNEED on
// the read-only private mapping: they leave the process's resident set and are read again from
// the file if anything touches them), so resident memory stays about the file's size. All
// repacked tensors share one anonymous mapping, with transparent huge pages asked for (fewer TLB
// misses on the stream). wick_model_opts.repack false or WICK_REPACK=0 turns it off (tensors
// stay in the file's mapping, as read; same results either way: vec_dot_4il gives the bits of
// vec_dot_4row, or of the legacy formats' vec_dot and vec_dot_4act).
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/pool.h"
#include "model/deepseek2.h"
#include "model/dense.h"

// One tensor's groups of four rows split across the pool's threads.
typedef struct repack_job {
    char *dst;
    const char *src;
    int64_t n_groups;
    size_t rb, bb;
} repack_job;

static void repack_part(void *ctx, int ith, int nth)
{
    const repack_job *j = ctx;
    const int64_t g0 = j->n_groups * ith / nth, g1 = j->n_groups * (ith + 1) / nth;
    const size_t off = (size_t)g0 * 4 * j->rb;
    wk_interleave4(j->dst + off, j->src + off, (g1 - g0) * 4, j->rb, j->bb);
}

typedef struct repack_list {
    wk_tensor *t[64];
    int n;
} repack_list;

// Whether t is present, of a type with an interleaved kernel, and read by the matmul driver only.
static bool want(const wk_model *m, const wk_tensor *t)
{
    const wk_kernels *k = wk_kernels_get();
    // the fast paths' types: Q2_K .. Q6_K and the legacy Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (the
    // scalar kernels gain nothing from it)
    const bool fast = strcmp(k->name, "scalar") != 0 &&
                      (t->type == WICK_DTYPE_Q2_K || t->type == WICK_DTYPE_Q3_K ||
                       t->type == WICK_DTYPE_Q4_K || t->type == WICK_DTYPE_Q5_K ||
                       t->type == WICK_DTYPE_Q6_K || t->type == WICK_DTYPE_Q4_0 ||
                       t->type == WICK_DTYPE_Q5_0 || t->type == WICK_DTYPE_Q8_0 ||
                       t->type == WICK_DTYPE_Q4_1 || t->type == WICK_DTYPE_Q5_1);
    if (!t->data || t->il4 || !fast || t->n_rows % 4 != 0) { return false; }
    // a tied output is token_embd, whose rows are also looked up one by one
    return t->data != m->tok_embd.data;
}

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

// The file's whole pages inside [p, p + n) leave the resident set.
static void release(const void *p, size_t n)
{
    const size_t ps = page_size();
    uintptr_t a = ((uintptr_t)p + ps - 1) / ps * ps, b = ((uintptr_t)p + n) / ps * ps;
    if (b > a) { madvise((void *)a, b - a, MADV_DONTNEED); }
}

// Visits every tensor the matmul driver (and moe.c) reads and nothing else reads, of those keep
// takes (NULL: all): keep(ctx, layer or -1 for the output, whether it holds routed experts).
static void collect(wk_model *m, wk_tensor **out, size_t *n, size_t cap, wk_repack_keep keep,
                    void *ctx)
{
    size_t k = 0;
    int64_t il = -1;
    bool exps = false;
#define ADD(t)                                                                                     \
    do {                                                                                           \
        if (want(m, &(t)) && (!keep || keep(ctx, (int)il, exps)) && k < cap) { out[k++] = &(t); } \
    } while (0)
    ADD(m->output);
    if (!strcmp(m->arch->name, "deepseek2")) {
        wk_ds2_model *dm = m->arch_data;
        for (il = 0; il < m->hp.n_layer; il++) {
            wk_ds2_layer *L = &dm->layers[il];
            ADD(L->wq);
            ADD(L->wq_a);
            ADD(L->wq_b);
            ADD(L->wkv_a_mqa);
            ADD(L->wo);
            ADD(L->ffn_gate);
            ADD(L->ffn_up);
            ADD(L->ffn_down);
            ADD(L->ffn_gate_shexp);
            ADD(L->ffn_up_shexp);
            ADD(L->ffn_down_shexp);
            // experts (moe.c): rows per expert are multiples of 4 (n_ff_exp, n_embd), so no
            // group of four straddles two experts
            if (m->hp.n_embd % 4 == 0 && dm->hp.n_ff_exp % 4 == 0) {
                exps = true;
                ADD(L->ffn_gate_exps);
                ADD(L->ffn_up_exps);
                ADD(L->ffn_gate_up_exps);
                ADD(L->ffn_down_exps);
                exps = false;
            }
        }
    } else { // llama, phi3
        wk_dense_model *dm = m->arch_data;
        for (il = 0; il < m->hp.n_layer; il++) {
            wk_dense_layer *L = &dm->layers[il];
            ADD(L->wq);
            ADD(L->wk);
            ADD(L->wv);
            ADD(L->wqkv);
            ADD(L->wo);
            ADD(L->ffn_gate);
            ADD(L->ffn_up);
            ADD(L->ffn_down);
        }
    }
#undef ADD
    *n = k;
}

bool wk_repack_env_enabled(void)
{
    const char *env = getenv("WICK_REPACK");
    return !(env && strcmp(env, "0") == 0);
}

static atomic_int n_deferring; // dist jobs alive in the process (wk_repack_defer)

void wk_repack_defer(bool on)
{
    atomic_fetch_add(&n_deferring, on ? 1 : -1);
}

bool wk_repack_deferred(void)
{
    return atomic_load(&n_deferring) > 0;
}

wick_status wk_model_repack_some(wk_model *m, wk_repack_keep keep, void *ctx)
{
    if (m->repacked) { return WICK_OK; } // once per model
    const size_t cap = (size_t)m->hp.n_layer * 16 + 1;
    wk_tensor **list = wk_malloc(cap * sizeof *list);
    if (!list) { return wk_fail_nomem("repack list"); }
    size_t n = 0, total = 0;
    collect(m, list, &n, cap, keep, ctx);
    const size_t align = 2u << 20; // each tensor on its own huge page boundary
    for (size_t i = 0; i < n; i++) {
        total += (list[i]->row_bytes * (size_t)list[i]->n_rows + align - 1) / align * align;
    }
    if (total == 0) {
        wk_free(list);
        return WICK_OK;
    }
    void *mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        wk_free(list);
        return wk_fail(WICK_E_NOMEM, "%s: repacking %zu weight bytes: out of memory (set "
                       "WICK_REPACK=0 to run from the file's pages)", m->path, total);
    }
#ifdef MADV_HUGEPAGE
    madvise(mem, total, MADV_HUGEPAGE);
#endif
    // the copy is bound by page faults (the file's pages in, the new ones zeroed): every core
    wk_pool *pool = NULL;
    int nth = wk_cpu_count();
    nth = nth > 4 ? 4 : nth;
    if (wk_pool_global(nth, &pool) < 0) { nth = 1; }
    char *dst = mem;
    for (size_t i = 0; i < n; i++) {
        wk_tensor *t = list[i];
        const size_t bytes = t->row_bytes * (size_t)t->n_rows;
        repack_job j = {dst, t->data, t->n_rows / 4, t->row_bytes, wk_type(t->type)->bytes};
        if (nth > 1) {
            wk_pool_run(pool, nth, repack_part, &j);
        } else {
            repack_part(&j, 0, 1);
        }
        release(t->data, bytes);
        t->data = dst;
        t->il4 = true;
        dst += (bytes + align - 1) / align * align;
    }
    wk_free(list);
    m->repacked = mem;
    m->repacked_bytes = total;
    wk_debug("%s: repacked %zu tensors, %zu bytes (rows interleaved by four)", m->path, n, total);
    return WICK_OK;
}

void wk_model_repack_free(wk_model *m)
{
    if (m->repacked) { munmap(m->repacked, m->repacked_bytes); }
    m->repacked = NULL;
    m->repacked_bytes = 0;
}
