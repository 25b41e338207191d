// pipeline.c — pipeline parallel over MPI ranks (wick.h section 10). Every rank opens the same
// model file and a session with the same options; rank r computes layers [lo_r, lo_{r+1}) (the
// model's mapping is lazy, so a rank only reads the pages of its own layers). Rank 0 is the front:
// it embeds the tokens, runs its layers, sends a header and the hidden states to rank 1, and
// receives the last layer's output back from the last rank to compute the logits itself. Worker
// ranks wait in wick_dist_serve() for headers, then evaluate a pass as rank 0 asks:
//
//   rank 0 --(hdr, x)--> rank 1 --(hdr, x)--> ... --> rank N-1 --(x)--> rank 0
//   hdr = {op, n_past, T, 0} (int64), x = T x n_embd floats, the pass's hidden states.
//
// The floats cross unchanged and each rank computes its layers as one process would, so the
// logits are bit for bit the single-process ones. The split balances weight bytes: rank 0 counts
// the output matrix (it reads it for every token), then each layer goes to the rank whose share of
// the cumulative bytes holds the layer's middle. A rank may get no layer (more ranks than layers).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"

// Weight bytes per layer (the GGUF's "blk.N." tensors) and of the output matrix (output.weight,
// else the tied token_embd.weight), read from the file's tensor list.
static wick_status weight_bytes(const wk_model *m, double *layer, double *output)
{
    const int64_t n = wick_gguf_n_tensors(m->gguf);
    for (int64_t i = 0; i < n; i++) {
        wick_tensor_info ti;
        wick_status rc = wick_gguf_tensor(m->gguf, i, &ti);
        if (rc < 0) { return rc; }
        int il = -1, at = 0;
        if (sscanf(ti.name, "blk.%d.%n", &il, &at) == 1 && at > 0 && il >= 0 &&
            il < m->hp.n_layer) {
            layer[il] += (double)ti.bytes;
        } else if (strcmp(ti.name, "output.weight") == 0 ||
                   (*output == 0 && strcmp(ti.name, "token_embd.weight") == 0)) {
            *output = (double)ti.bytes;
        }
    }
    return WICK_OK;
}

static wick_status balance(const wk_model *m, int size, int *lo)
{
    const int n_layer = (int)m->hp.n_layer;
    double *layer = wk_calloc((size_t)n_layer + 1, sizeof *layer), output = 0;
    if (!layer) { return wk_fail_nomem("dist"); }
    wick_status rc = weight_bytes(m, layer, &output);
    double total = output, cum = output;
    for (int il = 0; il < n_layer; il++) { total += layer[il]; }
    int r = 0;
    lo[0] = 0;
    for (int il = 0; il < n_layer && rc >= 0; il++) {
        int owner = total > 0 ? (int)((cum + layer[il] / 2) * size / total) : 0;
        if (owner > size - 1) { owner = size - 1; }
        while (r < owner) { lo[++r] = il; }
        cum += layer[il];
    }
    while (r < size) { lo[++r] = n_layer; }
    wk_free(layer);
    return rc;
}

// Tokens per micro-batch of a prompt on rank 0 (WICK_DIST_MICRO, default 32; 0: whole passes
// of n_batch, one in flight).
static int64_t micro_tokens(void)
{
    const char *env = getenv("WICK_DIST_MICRO");
    if (!env || !*env) { return 32; }
    char *end = NULL;
    long long v = strtoll(env, &end, 10);
    if (end && !*end && v >= 0) { return (int64_t)v; }
    wk_warn("WICK_DIST_MICRO='%s': expected a whole number of tokens >= 0; using 32", env);
    return 32;
}

// The messages in flight from this rank to the next: a pass's header, segments and hidden
// states go out from these copies (the session's x is overwritten by the next pass), each
// copy reused once its send is done.
enum { HDR_N = 6 }; // {op, pos0, n, seq, n_segs (0: one sequence), reply}
struct wk_dist_pl {
    int64_t hdr[HDR_N];
    int64_t *seg;  // [3 n_seq] (seq, pos0, n) per segment
    wk_seg *segs;  // [n_seq] a worker's received segments
    float *x;      // [n_batch n_embd]
    MPI_Request req[3];
    int64_t n_passes; // a worker's: passes, and the most segments one carried
    int max_segs;
};

static wick_status pl_alloc(wick_dist *d, const wk_session *s)
{
    wk_dist_pl_free(d);
    if (d->pl) { return wk_fail(WICK_E_IO, "dist: rank %d: sends still in flight", d->rank); }
    wk_dist_pl *pl = wk_calloc(1, sizeof *pl);
    if (!pl) { return wk_fail_nomem("dist"); }
    d->pl = pl;
    for (int i = 0; i < 3; i++) { pl->req[i] = MPI_REQUEST_NULL; }
    pl->seg = wk_calloc((size_t)s->n_seq * 3, sizeof *pl->seg);
    pl->segs = wk_calloc((size_t)s->n_seq, sizeof *pl->segs);
    pl->x = wk_malloc((size_t)(s->n_batch * s->m->hp.n_embd) * sizeof *pl->x);
    return pl->seg && pl->segs && pl->x ? WICK_OK : wk_fail_nomem("dist");
}

void wk_dist_pl_free(wick_dist *d)
{
    wk_dist_pl *pl = d->pl;
    if (!pl) { return; }
    const int peer[3] = {d->rank + 1, d->rank + 1, d->rank + 1};
    if (wk_dist_wait(d, pl->req, peer, 3) < 0) { return; } // the job is broken: it ends so
    wk_free(pl->seg);
    wk_free(pl->segs);
    wk_free(pl->x);
    wk_free(pl);
    d->pl = NULL;
}

// Sends the pass in pl->hdr (its segments in pl->seg) and the n rows of x to rank `to`, from
// copies, once the previous pass's sends are done.
static wick_status send_pass(wick_dist *d, const float *x, int to)
{
    wk_dist_pl *pl = d->pl;
    const int peer[3] = {to, to, to};
    const int64_t n = pl->hdr[2] * d->n_embd;
    wick_status rc = wk_dist_wait(d, pl->req, peer, 3);
    if (rc < 0) { return rc; }
    memcpy(pl->x, x, (size_t)n * sizeof *x);
    if (to != 0) {
        if ((rc = wk_dist_isend(d, pl->hdr, HDR_N, MPI_INT64_T, to, WK_TAG_HDR, &pl->req[0])) < 0 ||
            (pl->hdr[4] > 0 && (rc = wk_dist_isend(d, pl->seg, 3 * pl->hdr[4], MPI_INT64_T, to,
                                                   WK_TAG_IDS, &pl->req[1])) < 0)) {
            return rc;
        }
    }
    return wk_dist_isend(d, pl->x, n, MPI_FLOAT, to, WK_TAG_X, &pl->req[2]);
}

static wick_status pass(wk_stage *st, wk_session *s, const wk_batch *b, bool after, float *x)
{
    (void)s;
    wick_dist *d = (wick_dist *)((char *)st - offsetof(wick_dist, stage));
    wk_dist_pl *pl = d->pl;
    const int next = (d->rank + 1) % d->size, prev = (d->rank + d->size - 1) % d->size;
    wick_status rc;
    if (d->rank == 0) {
        if (!after) { return WICK_OK; }
        if ((rc = wk_dist_wait(d, pl->req, (const int[3]){next, next, next}, 3)) < 0) { return rc; }
        const int64_t hdr[HDR_N] = {WK_OP_EVAL, b->pos0, b->n, b->seq, b->segs ? b->n_segs : 0,
                                    !b->more};
        memcpy(pl->hdr, hdr, sizeof hdr);
        for (int i = 0; b->segs && i < b->n_segs; i++) {
            pl->seg[3 * i] = b->segs[i].seq;
            pl->seg[3 * i + 1] = b->segs[i].pos0;
            pl->seg[3 * i + 2] = b->segs[i].n;
        }
        if ((rc = send_pass(d, x, next)) < 0) { return rc; }
        if (b->more) { return WICK_DONE; } // a micro-batch: the next one starts here at once
        rc = wk_dist_recv(d, x, b->n * d->n_embd, MPI_FLOAT, prev, WK_TAG_X);
        return rc < 0 ? rc : WICK_OK;
    }
    if (!after) {
        rc = wk_dist_recv(d, x, b->n * d->n_embd, MPI_FLOAT, prev, WK_TAG_X);
        return rc < 0 ? rc : WICK_DONE; // x given: no embeddings here
    }
    if (next != 0 || pl->hdr[5]) { // the last rank answers rank 0 when it asked for the result
        if ((rc = send_pass(d, x, next)) < 0) { return rc; }
    }
    return WICK_DONE;
}

wick_status wick_dist_pipeline(wick_dist *d, wick_session *s, const int *first_layers)
{
    if (!d || !s) { return wk_fail(WICK_E_INVALID, "wick_dist_pipeline: dist or session is NULL"); }
    if (d->s) {
        return wk_fail(WICK_E_INVALID, "wick_dist_pipeline: a session is attached already");
    }
    const wk_model *m = s->m;
    wick_status rc;
    for (int r = 0; first_layers && r < d->size; r++) {
        int prev = r ? first_layers[r - 1] : 0;
        if (first_layers[r] < prev || first_layers[r] > m->hp.n_layer ||
            (r == 0 && first_layers[0])) {
            return wk_fail(WICK_E_INVALID,
                           "dist: first layer %d of rank %d: expected 0 for rank 0, then "
                           "non-decreasing up to %lld",
                           first_layers[r], r, (long long)m->hp.n_layer);
        }
    }
    if (!d->lo && !(d->lo = wk_calloc((size_t)d->size + 1, sizeof *d->lo))) {
        return wk_fail_nomem("dist");
    }
    if (first_layers) {
        memcpy(d->lo, first_layers, (size_t)d->size * sizeof *d->lo);
        d->lo[d->size] = (int)m->hp.n_layer;
    } else if ((rc = balance(m, d->size, d->lo)) < 0) {
        return rc;
    }
    if ((rc = pl_alloc(d, s)) < 0) { return rc; }
    d->s = s;
    d->mode = WK_DIST_PIPELINE;
    d->n_embd = m->hp.n_embd;
    d->stage = (wk_stage){.lo = d->lo[d->rank], .hi = d->lo[d->rank + 1], .pass = pass,
                          .micro = d->rank == 0 ? micro_tokens() : 0};
    s->stage = d->size > 1 ? &d->stage : NULL;
    return wk_dist_repack(d);
}

int wick_dist_first_layer(const wick_dist *d, int rank)
{
    return d && d->lo && rank >= 0 && rank <= d->size ? d->lo[rank] : -1;
}

wick_status wk_dist_serve_pipeline(wick_dist *d)
{
    wk_session *s = d->s;
    wk_dist_pl *pl = d->pl;
    int32_t *zeros = wk_calloc((size_t)s->n_batch, sizeof *zeros); // tokens only rank 0 reads
    if (!zeros) { return wk_fail_nomem("dist"); }
    const int prev = d->rank - 1;
    wick_status rc = WICK_OK;
    for (;;) {
        int64_t *hdr = pl->hdr;
        if ((rc = wk_dist_wait(d, pl->req, (const int[3]){d->rank + 1, d->rank + 1, d->rank + 1},
                               3)) < 0 ||
            (rc = wk_dist_recv_idle(d, prev, WK_TAG_HDR, hdr, HDR_N)) < 0) {
            break;
        }
        if (hdr[0] == WK_OP_QUIT) {
            if (d->rank + 1 < d->size) {
                rc = wk_dist_send(d, hdr, HDR_N, MPI_INT64_T, d->rank + 1, WK_TAG_HDR);
            }
            break;
        }
        const int n_segs = hdr[4] > 0 && hdr[4] <= s->n_seq ? (int)hdr[4] : 1;
        if (hdr[0] != WK_OP_EVAL || hdr[2] < 1 || hdr[2] > s->n_batch || hdr[4] < 0 ||
            hdr[4] > s->n_seq || (hdr[4] > 1 && !s->m->arch->multi_seq)) {
            rc = wk_fail(WICK_E_FORMAT,
                         "dist: rank %d: bad header {%lld, %lld, %lld, %lld, %lld} from rank %d",
                         d->rank, (long long)hdr[0], (long long)hdr[1], (long long)hdr[2],
                         (long long)hdr[3], (long long)hdr[4], prev);
            break;
        }
        if (hdr[4] > 0) {
            if ((rc = wk_dist_recv(d, pl->seg, 3 * hdr[4], MPI_INT64_T, prev, WK_TAG_IDS)) < 0) {
                break;
            }
            for (int i = 0; i < n_segs; i++) {
                pl->segs[i] = (wk_seg){(int)pl->seg[3 * i], pl->seg[3 * i + 1], pl->seg[3 * i + 2]};
            }
        } else {
            pl->segs[0] = (wk_seg){(int)hdr[3], hdr[1], hdr[2]};
        }
        wk_dist_test_hang(d);
        pl->n_passes++;
        pl->max_segs = n_segs > pl->max_segs ? n_segs : pl->max_segs;
        if ((rc = wk_session_eval_segs(s, zeros, pl->segs, n_segs)) < 0) { break; }
    }
    wk_free(zeros);
    return rc;
}
