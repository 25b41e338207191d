// parts.c — a big file fetched as several byte ranges at once (HUB.md: "use parallel ranged GETs
// for big files"; one TCP stream rarely fills a long fat pipe). The parent download owns the
// lock, the temp file and the hash; each part is an internal job writing its range into the
// parent's file (through the writer, unhashed). When every part is in, the writer hashes the
// whole file and the parent verifies it as usual. A part that cannot finish makes the parent
// start over as one stream (after asking the Hub for a fresh URL). Split downloads do not resume
// across runs: their temp file (ETAG.split.incomplete) has holes, so the next run removes it.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub_internal.h"

bool wk_hub_split(wick_hub *h, hub_job *j)
{
    int n = h->parts;
    if (n < 2 || j->dl.no_split || j->dl.size < h->part_min_bytes ||
        j->dl.size < (uint64_t)n * 65536) {
        return false;
    }
    // The temp file of a split download has holes until the end: it takes a name that no one
    // resumes from (removed by the next download of this blob if we are interrupted).
    size_t tl = strlen(j->dl.tmp.path);
    char *split_tmp =
        wk_asprintf("%.*s.split.incomplete", (int)(tl - strlen(".incomplete")), j->dl.tmp.path);
    if (!split_tmp || rename(j->dl.tmp.path, split_tmp) != 0) {
        wk_free(split_tmp);
        return false; // one stream will do
    }
    wk_free(j->dl.tmp.path);
    j->dl.tmp.path = split_tmp;
    hub_job **parts = wk_calloc((size_t)n, sizeof *parts);
    if (!parts) { return false; } // one stream (in the split-named file) will do
    for (int k = 0; k < n; k++) {
        hub_job *p = wk_calloc(1, sizeof *p);
        if (!p) { goto undo; }
        parts[k] = p;
        p->kind = JOB_PART;
        p->hub = h;
        p->part.parent = j;
        p->f.sink.file = &j->dl.tmp; // unhashed: the parent hashes the whole file at the end
        p->repo = wk_strdup(j->repo);
        p->rev = wk_strdup(j->rev);
        p->file = wk_strdup(j->file);
        if (!p->repo || !p->rev || !p->file) { goto undo; }
        p->f.offset = j->dl.size / (uint64_t)n * (uint64_t)k;
        p->f.best_offset = p->f.offset;
        p->f.end = k == n - 1 ? j->dl.size : j->dl.size / (uint64_t)n * (uint64_t)(k + 1);
        p->state = ST_WANT_GET;
    }
    // Into the job list right after the parent (the list changes under mu: progress reads it).
    pthread_mutex_lock(&h->mu);
    for (int k = n - 1; k >= 0; k--) {
        parts[k]->next = j->next;
        j->next = parts[k];
    }
    pthread_mutex_unlock(&h->mu);
    j->dl.parts = parts;
    j->dl.n_parts = j->dl.n_parts_left = n;
    j->dl.split_failed = false;
    j->state = ST_PARTS;
    wk_debug("%s: %s: %" PRIu64 " bytes in %d parts", j->repo, j->file, j->dl.size, n);
    return true;
undo:
    for (int k = 0; k < n; k++) { wk_hub_job_free(parts[k]); }
    wk_free(parts);
    return false;
}

void wk_hub_part_want_get(wick_hub *h, hub_job *p)
{
    if (p->f.offset >= p->f.end) {
        wk_hub_job_finish(h, p, WICK_OK);
        return;
    }
    wk_hub_get_content(h, p, p->part.parent, p->f.end);
}

void wk_hub_part_get_done(wick_hub *h, hub_job *p, CURLcode cc)
{
    if (atomic_load(&p->f.sink.err) != 0) {
        wk_hub_job_fail(h, p, atomic_load(&p->f.sink.err), "%s", p->f.sink.msg);
        return;
    }
    wk_hub_note_progress(p);
    if (p->part.norange || (p->x.write_rc < 0 && p->x.write_rc != WICK_E_NOSPACE)) {
        wk_hub_job_fail(h, p, p->x.write_rc < 0 ? p->x.write_rc : WICK_E_HTTP, "%s",
                        p->x.write_msg);
        return;
    }
    if (p->x.write_rc == WICK_E_NOSPACE) { // the disk is full: no point in one stream either
        p->part.parent->dl.no_split = true;
        wk_hub_job_fail(h, p, p->x.write_rc, "%s", p->x.write_msg);
        return;
    }
    long st = p->x.hh.status;
    if (p->x.write_rc > 0) { // a Content-Range that does not start where asked
        wk_fail(WICK_E_HTTP, "%s: Content-Range does not start at the requested offset", p->x.url);
        wk_hub_retry_or_fail(h, p, ST_WANT_GET, WICK_E_HTTP);
        return;
    }
    if (cc == CURLE_WRITE_ERROR && !(st >= 200 && st < 300)) { cc = CURLE_OK; }
    if (cc != CURLE_OK) {
        wk_hub_net_failure(h, p, cc, ST_WANT_GET);
        return;
    }
    if (st == 206) {
        if (p->f.offset >= p->f.end) {
            wk_hub_job_finish(h, p, WICK_OK);
        } else {
            wk_fail(WICK_E_NETWORK, "%s: a part ended early", p->x.url);
            wk_hub_retry_or_fail(h, p, ST_WANT_GET, WICK_E_NETWORK);
        }
        return;
    }
    if (st == 408 || st == 429 || st >= 500) {
        wk_fail(WICK_E_HTTP, "%s: HTTP %ld", p->x.url, st);
        wk_hub_retry_or_fail(h, p, ST_WANT_GET, WICK_E_HTTP);
        return;
    }
    // 403 (an expired CDN URL), a redirect, anything else: the parent handles it as one stream.
    wk_hub_job_fail(h, p, WICK_E_HTTP, "%s: HTTP %ld for a part", p->x.url, st);
}

void wk_hub_part_finished(wick_hub *h, hub_job *p)
{
    hub_job *j = p->part.parent;
    if (!j || j->state != ST_PARTS) { return; } // the parent is ending and took the parts along
    for (int i = 0; i < j->dl.n_parts; i++) { // p is freed after this perform: forget it
        if (j->dl.parts[i] == p) { j->dl.parts[i] = NULL; }
    }
    p->part.parent = NULL;    if (p->rc < 0) {
        j->dl.split_failed = true;
        wk_debug("%s: %s: a part failed (%s)", j->repo, j->file, p->msg);
    }
    if (--j->dl.n_parts_left > 0) { return; }
    wick_hub_wakeup(h); // the parent may already have been stepped in this perform
    // Every part has ended (and close_files drained its writes); each is freed by the perform
    // that saw it end.
    wk_free(j->dl.parts);
    j->dl.parts = NULL;
    j->dl.n_parts = 0;
    if (j->dl.split_failed) {
        if (j->dl.no_split) { // the disk is full: report that, not a retry
            wk_hub_job_fail(h, j, p->rc, "%s", p->msg);
            return;
        }
        // One stream from the start, with a fresh URL from the Hub (by commit).
        j->dl.no_split = true;
        wick_status rc = wk_hub_truncate_tmp(j);
        wk_free(j->meta_url);
        j->meta_url = wk_hub_commit_url(h, j);
        if (rc < 0 || !j->meta_url) {
            wk_hub_job_finish(h, j, rc < 0 ? rc : wk_fail_nomem("url"));
            return;
        }
        j->state = ST_WANT_META;
        return;
    }
    // All bytes are in: the writer hashes the whole file, then the parent verifies it.
    j->f.offset = j->dl.size;
    wick_status rc = wk_hub_writer_push(h, &j->f.sink, WR_HASH_PREFIX, j->dl.size);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    j->state = ST_WANT_GET;
}
