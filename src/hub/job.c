// job.c — what every job shares: its end (finish, fail, free, the callback) and the dispatch of
// hub.c's loop to the download (download.c), listing (list.c) and part (parts.c) steps. Requests
// and their retries are transfer.c's.
#include <stdarg.h>
#include <stdio.h>

#include "hub/hub_internal.h"

// --- finishing ----------------------------------------------------------------------------------
static void close_files(hub_job *j)
{
    wk_hub_writer_drain(j->hub, &j->f.sink); // nothing may still write into the file
    if (j->kind == JOB_DOWNLOAD) { wk_hub_dl_close(j); }
}

void wk_hub_job_finish(wick_hub *h, hub_job *j, wick_status rc)
{
    if (j->state == ST_DONE) { return; }
    j->state = ST_DONE; // first: parts finished below must not call back into a live parent
    j->rc = rc;
    atomic_store(&j->p_active, false);
    atomic_store(&j->p_finished, true);
    if (rc < 0) {
        snprintf(j->msg, sizeof j->msg, "%s", wick_errmsg());
    } else {
        j->msg[0] = '\0';
    }
    wk_hub_job_abort_xfer(h, j);
    for (int i = 0; j->kind == JOB_DOWNLOAD && i < j->dl.n_parts; i++) {
        hub_job *p = j->dl.parts[i]; // a parent that ends takes its parts with it
        if (p && p->state != ST_DONE) {
            wk_fail(WICK_E_CANCELLED, "part cancelled");
            wk_hub_job_finish(h, p, WICK_E_CANCELLED);
        }
    }
    close_files(j);
    if (j->kind == JOB_PART) { wk_hub_part_finished(h, j); }
}

void wk_hub_job_fail(wick_hub *h, hub_job *j, wick_status rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wk_vfail(rc, fmt, ap);
    va_end(ap);
    wk_hub_job_finish(h, j, rc);
}

void wk_hub_job_free(hub_job *j)
{
    if (!j) { return; }
    close_files(j);
    if (j->kind == JOB_DOWNLOAD) {
        wk_hub_dl_free(j);
    } else if (j->kind == JOB_LIST) {
        wk_hub_ls_free(j);
    }
    curl_slist_free_all(j->x.hdrs);
    wk_free(j->x.url);
    wk_free(j->repo);
    wk_free(j->rev);
    wk_free(j->file);
    wk_free(j->repo_dir);
    wk_free(j->meta_url);
    wk_free(j);
}

void wk_hub_job_report(hub_job *j)
{
    if (j->kind == JOB_DOWNLOAD) {
        wk_hub_dl_report(j);
    } else if (j->kind == JOB_LIST) {
        wk_hub_ls_report(j);
    }
}

// --- dispatch ------------------------------------------------------------------------------------
static void want_meta(wick_hub *h, hub_job *j)
{
    if (h->n_transfers >= h->max_transfers) { return; }
    bool tree = j->kind == JOB_LIST && j->commit[0]; // a listing that knows its commit
    const char *url = tree ? j->ls.next_url : j->meta_url;
    wick_status rc = wk_hub_start_req(h, j, url, j->kind == JOB_DOWNLOAD, 0, true);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    j->state = ST_META;
}

// ST_FLUSH: once the writer has every byte of the body, the transfer's verdict.
static void flushed(wick_hub *h, hub_job *j)
{
    if (atomic_load(&j->f.sink.pending) != 0) { return; } // the writer wakes the loop when done
    j->state = ST_GET;
    (j->kind == JOB_PART ? wk_hub_part_get_done : wk_hub_dl_get_done)(h, j, j->f.done_cc);
}

void wk_hub_job_step(wick_hub *h, hub_job *j, double now)
{
    for (int guard = 0; guard < 8; guard++) {
        job_state before = j->state;
        switch (j->state) {
        case ST_NEW: (j->kind == JOB_DOWNLOAD ? wk_hub_dl_begin : wk_hub_ls_begin)(h, j); break;
        case ST_WAIT:
            if (now >= j->wake_at) { j->state = j->after_wait; }
            break;
        case ST_WANT_META: want_meta(h, j); break;
        case ST_LOCK: wk_hub_dl_lock(h, j); break;
        case ST_FLUSH: flushed(h, j); break;
        case ST_WANT_GET:
            (j->kind == JOB_PART ? wk_hub_part_want_get : wk_hub_dl_want_get)(h, j);
            break;
        default: break;
        }
        if (j->state == before) { return; }
    }
}

void wk_hub_job_xfer_done(wick_hub *h, hub_job *j, CURLcode cc)
{
    wk_hub_xfer_detach(h, j); // the connection stays in the multi's pool: keep-alive
    if (j->state == ST_GET) { // the verdict waits for the writer to finish this body
        wk_hub_writer_flush(h, &j->f.sink);
        j->f.done_cc = cc;
        j->state = ST_FLUSH;
        flushed(h, j);
    } else if (j->kind == JOB_DOWNLOAD) {
        wk_hub_dl_meta_done(h, j, cc);
    } else {
        wk_hub_ls_done(h, j, cc);
    }
}
