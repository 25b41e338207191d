// expert.c — expert parallel over MPI ranks (wick.h section 10): the routed experts of every MoE
// layer are spread over the ranks, rank r holding experts [first[r], first[r + 1]); rank 0 runs
// the rest of the model (embeddings, attention, routers, shared experts, dense layers, logits)
// as one process would. In each MoE layer, after routing, rank 0 sends every rank that holds
// some of the chosen experts the hidden states of the tokens that chose them and the (token,
// expert) pairs, computes its own pairs meanwhile, and gets each pair's expert output back:
//
//   rank 0 --(hdr {MOE, layer, n_rows, n_pairs}, pairs (row, expert) int32, rows f32)--> rank r
//   rank r --(n_pairs x n_embd f32: W_down[e] (silu(W_gate[e] h) * (W_up[e] h)) per pair)--> 0
//
// Every rank computes a pair exactly as one process does (the pairs of an expert in token order,
// as wk_moe_ffn_run groups them: a pair is a one-expert token of weight 1, so its output is the
// expert's output unscaled), and rank 0 sums the weighted outputs in the tokens' slot order as
// wk_moe_ffn_run does: the logits are the single-process ones bit for bit. A rank reads only its
// experts' rows of the expert tensors (the mapping is lazy); workers read nothing else.
#include <stdio.h>
#include <string.h>

#include "dist/dist.h"
#include "model/deepseek2.h"

struct wk_dist_ex {
    int *first;        // [size + 1] first expert of each rank
    int *owner;        // [n_expert] the rank holding each expert
    int64_t max_pairs; // n_batch * n_used
    wk_moe_buf moe;    // pairs as tokens of one expert each
    // [max_pairs][E] rank 0: each rank's token rows, rank by rank; worker: received
    float *rows;
    float *hp;         // [max_pairs][E] the row of each pair computed here
    float *out;        // [max_pairs][E] each pair's expert output (rank 0: rank by rank)
    float *ones;       // [max_pairs] 1.0
    int32_t *pairs;    // [2 max_pairs] (row, expert) per pair, rank by rank
    int32_t *eid;      // [max_pairs] the expert of each pair computed here
    int64_t *at;       // [max_pairs] rank 0: pair t * n_used + j -> its row of out
    int32_t *tok;      // [n_batch] the token's row among the current rank's rows, or -1
    int64_t *cnt;      // [4 size] per rank: rows, pairs, first row, first pair
    int64_t *hdr;      // [4 size] the headers in flight
    MPI_Request *req;  // [4 size]
    int *peer;         // [4 size]
    void *mem;
};

void wk_dist_ex_free(wick_dist *d)
{
    wk_dist_ex *ex = d->ex;
    if (!ex) { return; }
    wk_moe_buf_free(&ex->moe);
    wk_free(ex->mem);
    wk_free(ex);
    d->ex = NULL;
}

static wick_status ex_alloc(wick_dist *d, const wk_session *s)
{
    const wk_ds2_hparams *dh = &wk_ds2_of(s->m)->hp;
    const int64_t E = s->m->hp.n_embd, X = dh->n_expert, P = s->n_batch * dh->n_expert_used;
    const int64_t N = d->size;
    wk_dist_ex *ex = wk_calloc(1, sizeof *ex);
    if (!ex) { return wk_fail_nomem("dist"); }
    d->ex = ex;
    ex->max_pairs = P;
    const size_t sizes[] = {(size_t)(N + 1) * sizeof(int),     (size_t)X * sizeof(int),
                            (size_t)(P * E) * sizeof(float),   (size_t)(P * E) * sizeof(float),
                            (size_t)(P * E) * sizeof(float),   (size_t)P * sizeof(float),
                            (size_t)(2 * P) * sizeof(int32_t), (size_t)P * sizeof(int32_t),
                            (size_t)P * sizeof(int64_t),       (size_t)s->n_batch * sizeof(int32_t),
                            (size_t)(4 * N) * sizeof(int64_t), (size_t)(4 * N) * sizeof(int64_t),
                            (size_t)(4 * N) * sizeof(MPI_Request), (size_t)(4 * N) * sizeof(int)};
    void **ptrs[] = {(void **)&ex->first, (void **)&ex->owner, (void **)&ex->rows,
                     (void **)&ex->hp,    (void **)&ex->out,   (void **)&ex->ones,
                     (void **)&ex->pairs, (void **)&ex->eid,   (void **)&ex->at,
                     (void **)&ex->tok,   (void **)&ex->cnt,   (void **)&ex->hdr,
                     (void **)&ex->req,   (void **)&ex->peer};
    size_t total = 0;
    for (size_t i = 0; i < WK_ARRAY_LEN(sizes); i++) { total += (sizes[i] + 63) / 64 * 64; }
    if (!(ex->mem = wk_calloc(1, total))) { return wk_fail_nomem("dist: expert buffers"); }
    char *p = ex->mem;
    for (size_t i = 0; i < WK_ARRAY_LEN(sizes); i++) {
        *ptrs[i] = p;
        p += (sizes[i] + 63) / 64 * 64;
    }
    for (int64_t i = 0; i < P; i++) { ex->ones[i] = 1.0f; }
    return wk_ds2_moe_buf_init(s->m, &ex->moe, P, 1);
}

// The pairs of rank r in token order: rank 0 packs the rows of its workers' tokens and fills
// at[]; its own pairs get their rows in hp directly.
static void plan_rank(wk_dist_ex *ex, int r, const float *h, int64_t T, int U, int64_t E,
                      const int32_t *ids, int64_t row0, int64_t pair0)
{
    int64_t n_rows = 0, k = pair0;
    for (int64_t t = 0; t < T; t++) { ex->tok[t] = -1; }
    for (int64_t t = 0; t < T; t++) {
        for (int j = 0; j < U; j++) {
            const int64_t p = t * U + j;
            const int32_t e = ids[p];
            if (ex->owner[e] != r) { continue; }
            if (r == 0) {
                memcpy(ex->hp + k * E, h + t * E, (size_t)E * sizeof(float));
                ex->eid[k] = e;
            } else if (ex->tok[t] < 0) {
                ex->tok[t] = (int32_t)n_rows;
                memcpy(ex->rows + (row0 + n_rows) * E, h + t * E, (size_t)E * sizeof(float));
                n_rows++;
            }
            ex->pairs[2 * k] = ex->tok[t];
            ex->pairs[2 * k + 1] = e;
            ex->at[p] = k++;
        }
    }
    ex->cnt[4 * r] = n_rows;
}

static wick_status run_front(wk_experts *hook, wk_session *s, int il, const wk_moe_ffn *f,
                             const float *h, int64_t T, int U, const int32_t *ids, const float *w,
                             float *y)
{
    wick_dist *d = (wick_dist *)((char *)hook - offsetof(wick_dist, experts));
    wk_dist_ex *ex = d->ex;
    const int64_t E = f->n_embd;
    const int N = d->size;
    for (int r = 0; r < N; r++) { ex->cnt[4 * r + 1] = 0; }
    for (int64_t p = 0; p < T * U; p++) {
        if (ids[p] < 0 || ids[p] >= f->n_expert) {
            return wk_fail(WICK_E_INVALID, "dist: expert %d of layer %d", ids[p], il);
        }
        ex->cnt[4 * ex->owner[ids[p]] + 1]++;
    }
    int64_t row0 = 0, pair0 = 0;
    int n_req = 0;
    wick_status rc = WICK_OK;
    for (int r = 0; r < N && rc >= 0; r++) {
        int64_t *c = ex->cnt + 4 * r;
        c[2] = row0;
        c[3] = pair0;
        if (c[1] == 0) {
            c[0] = 0;
            continue;
        }
        plan_rank(ex, r, h, T, U, E, ids, row0, pair0);
        if (r > 0) { // hdr, pairs, rows out; outputs back
            int64_t *hd = ex->hdr + 4 * r;
            hd[0] = WK_OP_MOE;
            hd[1] = il;
            hd[2] = c[0];
            hd[3] = c[1];
            for (int q = 0; q < 4; q++) { ex->peer[n_req + q] = r; }
            if ((rc = wk_dist_isend(d, hd, 4, MPI_INT64_T, r, WK_TAG_HDR, &ex->req[n_req])) < 0 ||
                (rc = wk_dist_isend(d, ex->pairs + 2 * pair0, 2 * c[1], MPI_INT32_T, r, WK_TAG_IDS,
                                    &ex->req[n_req + 1])) < 0 ||
                (rc = wk_dist_isend(d, ex->rows + row0 * E, c[0] * E, MPI_FLOAT, r, WK_TAG_X,
                                    &ex->req[n_req + 2])) < 0 ||
                (rc = wk_dist_irecv(d, ex->out + pair0 * E, c[1] * E, MPI_FLOAT, r, WK_TAG_Y,
                                    &ex->req[n_req + 3])) < 0) {
                break;
            }
            n_req += 4;
        }
        row0 += c[0];
        pair0 += c[1];
    }
    if (rc >= 0 && ex->cnt[1] > 0) { // rank 0's own experts, while the others work
        wk_moe_ffn_run(&s->mm, f, &ex->moe, ex->hp, ex->cnt[1], 1, ex->eid, ex->ones, ex->out);
    }
    wick_status wrc = wk_dist_wait(d, ex->req, ex->peer, n_req);
    if (rc < 0 || (rc = wrc) < 0) { return rc; }
    // y[t] = ((out[t][0] w[t][0] + out[t][1] w[t][1]) + ...): wk_moe_ffn_run's order
    for (int64_t t = 0; t < T; t++) {
        float *yt = y + t * E;
        const float *wt = w + t * U, *o0 = ex->out + ex->at[t * U] * E;
        for (int64_t i = 0; i < E; i++) { yt[i] = o0[i] * wt[0]; }
        for (int q = 1; q < U; q++) {
            const float *os = ex->out + ex->at[t * U + q] * E;
            for (int64_t i = 0; i < E; i++) { yt[i] += os[i] * wt[q]; }
        }
    }
    return WICK_OK;
}

wick_status wick_dist_expert(wick_dist *d, wick_session *s, const int *first_experts)
{
    if (!d || !s) { return wk_fail(WICK_E_INVALID, "wick_dist_expert: dist or session is NULL"); }
    if (d->s) { return wk_fail(WICK_E_INVALID, "wick_dist_expert: a session is attached already"); }
    const wk_model *m = s->m;
    const wk_ds2_hparams *dh = m->arch == &wk_arch_deepseek2 ? &wk_ds2_of(m)->hp : NULL;
    if (!dh || dh->n_expert < 1 || dh->n_layer_dense_lead >= m->hp.n_layer) {
        return wk_fail(WICK_E_INVALID, "dist: %s has no routed experts (expert parallel needs a "
                                       "deepseek2 mixture of experts)", m->path);
    }
    const int X = (int)dh->n_expert;
    for (int r = 0; first_experts && r < d->size; r++) {
        int prev = r ? first_experts[r - 1] : 0;
        if (first_experts[r] < prev || first_experts[r] > X || (r == 0 && first_experts[0])) {
            return wk_fail(WICK_E_INVALID,
                           "dist: first expert %d of rank %d: expected 0 for rank 0, then "
                           "non-decreasing up to %d",
                           first_experts[r], r, X);
        }
    }
    wk_dist_ex_free(d);
    wick_status rc = ex_alloc(d, s);
    if (rc < 0) {
        wk_dist_ex_free(d);
        return rc;
    }
    wk_dist_ex *ex = d->ex;
    for (int r = 0; r < d->size; r++) {
        ex->first[r] = first_experts ? first_experts[r] : (int)((int64_t)X * r / d->size);
    }
    ex->first[d->size] = X;
    for (int r = 0; r < d->size; r++) {
        for (int e = ex->first[r]; e < ex->first[r + 1]; e++) { ex->owner[e] = r; }
    }
    d->s = s;
    d->mode = WK_DIST_EXPERT;
    d->n_embd = m->hp.n_embd;
    d->experts.run = run_front;
    s->experts = d->size > 1 && d->rank == 0 ? &d->experts : NULL;
    return wk_dist_repack(d);
}

int wick_dist_first_expert(const wick_dist *d, int rank)
{
    return d && d->ex && rank >= 0 && rank <= d->size ? d->ex->first[rank] : -1;
}

wick_status wk_dist_serve_expert(wick_dist *d)
{
    wk_session *s = d->s;
    wk_dist_ex *ex = d->ex;
    const wk_model *m = s->m;
    const int64_t E = m->hp.n_embd, lead = wk_ds2_of(m)->hp.n_layer_dense_lead;
    const int lo = ex->first[d->rank], hi = ex->first[d->rank + 1];
    for (;;) {
        int64_t hdr[4];
        wick_status rc = wk_dist_recv_idle(d, 0, WK_TAG_HDR, hdr, 4);
        if (rc < 0) { return rc; }
        if (hdr[0] == WK_OP_QUIT) { return WICK_OK; }
        const int64_t n_rows = hdr[2], n_pairs = hdr[3];
        if (hdr[0] != WK_OP_MOE || hdr[1] < lead || hdr[1] >= m->hp.n_layer || n_rows < 1 ||
            n_rows > s->n_batch || n_pairs < n_rows || n_pairs > ex->max_pairs) {
            return wk_fail(WICK_E_FORMAT,
                           "dist: rank %d: bad header {%lld, %lld, %lld, %lld} from rank 0",
                           d->rank, (long long)hdr[0], (long long)hdr[1], (long long)n_rows,
                           (long long)n_pairs);
        }
        if ((rc = wk_dist_recv(d, ex->pairs, 2 * n_pairs, MPI_INT32_T, 0, WK_TAG_IDS)) < 0 ||
            (rc = wk_dist_recv(d, ex->rows, n_rows * E, MPI_FLOAT, 0, WK_TAG_X)) < 0) {
            return rc;
        }
        for (int64_t k = 0; k < n_pairs; k++) {
            const int32_t row = ex->pairs[2 * k], e = ex->pairs[2 * k + 1];
            if (row < 0 || row >= n_rows || e < lo || e >= hi) {
                return wk_fail(WICK_E_FORMAT,
                               "dist: rank %d: pair (row %d, expert %d) from rank 0: expected a "
                               "row below %lld and an expert in [%d, %d)",
                               d->rank, row, e, (long long)n_rows, lo, hi);
            }
            memcpy(ex->hp + k * E, ex->rows + (int64_t)row * E, (size_t)E * sizeof(float));
            ex->eid[k] = e;
        }
        wk_dist_test_hang(d);
        wk_moe_ffn f;
        wk_ds2_moe_ffn(m, (int)hdr[1], &f);
        wk_moe_ffn_run(&s->mm, &f, &ex->moe, ex->hp, n_pairs, 1, ex->eid, ex->ones, ex->out);
        if ((rc = wk_dist_send(d, ex->out, n_pairs * E, MPI_FLOAT, 0, WK_TAG_Y)) < 0) { return rc; }
    }
}
