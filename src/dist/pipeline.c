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
        if (sscanf(ti.name, "blk.%d.%n", &il, &at) == 1 && at > 0 && il >= 0 && il < m->hp.n_layer) {
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

static wick_status pass(wk_stage *st, wk_session *s, const wk_batch *b, bool after, float *x)
{
    (void)s;
    wick_dist *d = (wick_dist *)((char *)st - offsetof(wick_dist, stage));
    const int64_t n = b->n * d->n_embd;
    const int next = (d->rank + 1) % d->size, prev = (d->rank + d->size - 1) % d->size;
    wick_status rc;
    if (d->rank == 0) {
        if (!after) { return WICK_OK; }
        const int64_t hdr[4] = {WK_OP_EVAL, b->pos0, b->n, b->seq};
        if ((rc = wk_dist_send(d, hdr, 4, MPI_INT64_T, next, WK_TAG_HDR)) < 0 ||
            (rc = wk_dist_send(d, x, n, MPI_FLOAT, next, WK_TAG_X)) < 0 ||
            (rc = wk_dist_recv(d, x, n, MPI_FLOAT, prev, WK_TAG_X)) < 0) {
            return rc;
        }
        return WICK_OK;
    }
    if (!after) {
        rc = wk_dist_recv(d, x, n, MPI_FLOAT, prev, WK_TAG_X);
        return rc < 0 ? rc : WICK_DONE; // x given: no embeddings here
    }
    if (next != 0) {
        const int64_t hdr[4] = {WK_OP_EVAL, b->pos0, b->n, b->seq};
        if ((rc = wk_dist_send(d, hdr, 4, MPI_INT64_T, next, WK_TAG_HDR)) < 0) { return rc; }
    }
    rc = wk_dist_send(d, x, n, MPI_FLOAT, next, WK_TAG_X);
    return rc < 0 ? rc : WICK_DONE;
}

wick_status wick_dist_pipeline(wick_dist *d, wick_session *s, const int *first_layers)
{
    if (!d || !s) { return wk_fail(WICK_E_INVALID, "wick_dist_pipeline: dist or session is NULL"); }
    if (d->s) { return wk_fail(WICK_E_INVALID, "wick_dist_pipeline: a session is attached already"); }
    const wk_model *m = s->m;
    wick_status rc;
    for (int r = 0; first_layers && r < d->size; r++) {
        int prev = r ? first_layers[r - 1] : 0;
        if (first_layers[r] < prev || first_layers[r] > m->hp.n_layer || (r == 0 && first_layers[0])) {
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
    d->s = s;
    d->mode = WK_DIST_PIPELINE;
    d->n_embd = m->hp.n_embd;
    d->stage = (wk_stage){.lo = d->lo[d->rank], .hi = d->lo[d->rank + 1], .pass = pass};
    s->stage = d->size > 1 ? &d->stage : NULL;
    return WICK_OK;
}

int wick_dist_first_layer(const wick_dist *d, int rank)
{
    return d && d->lo && rank >= 0 && rank <= d->size ? d->lo[rank] : -1;
}

wick_status wk_dist_serve_pipeline(wick_dist *d)
{
    wk_session *s = d->s;
    int32_t *zeros = wk_calloc((size_t)s->n_batch, sizeof *zeros); // tokens only rank 0 reads
    if (!zeros) { return wk_fail_nomem("dist"); }
    const int prev = d->rank - 1;
    wick_status rc = WICK_OK;
    for (;;) {
        int64_t hdr[4];
        if ((rc = wk_dist_recv_idle(d, d->rank - 1, WK_TAG_HDR, hdr, 4)) < 0) { break; }
        if (hdr[0] == WK_OP_QUIT) {
            if (d->rank + 1 < d->size) {
                rc = wk_dist_send(d, hdr, 4, MPI_INT64_T, d->rank + 1, WK_TAG_HDR);
            }
            break;
        }
        if (hdr[0] != WK_OP_EVAL || hdr[1] < 0 || hdr[1] > s->n_past || hdr[2] < 1 ||
            hdr[2] > s->n_batch || hdr[3] != 0) { // one sequence per session for now
            rc = wk_fail(WICK_E_FORMAT,
                         "dist: rank %d: bad header {%lld, %lld, %lld, %lld} from rank %d", d->rank,
                         (long long)hdr[0], (long long)hdr[1], (long long)hdr[2], (long long)hdr[3],
                         prev);
            break;
        }
        wk_dist_test_hang(d);
        if ((rc = wick_session_truncate(s, hdr[1])) < 0 ||
            (rc = wick_session_eval(s, zeros, hdr[2])) < 0) {
            break;
        }
    }
    wk_free(zeros);
    return rc;
}
