// job.c — what one download or listing does, step by step, driven by hub.c's loop:
//   download: [cached?] -> HEAD /resolve (relative redirects followed; metadata from the final
//   response or the 302 to the CDN) -> ref, lock -> temp file (resume: hash the prefix) -> GET
//   (CDN Location without the token, or /resolve/COMMIT) with Range -> size + hash -> rename into
//   blobs/, symlink into snapshots/.
//   listing: GET /api/models/REPO/revision/REV (commit) -> GET tree pages (Link: rel="next").
// Requests and their retries are transfer.c's; the byte counter of a download survives a retry,
// so it resumes with Range.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hub/hub_internal.h"

// --- finishing ----------------------------------------------------------------------------------
static void close_files(hub_job *j)
{
    wk_hub_writer_drain(j->hub, j); // nothing may still write into fd
    if (j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
    }
    if (j->lock_fd >= 0) {
        wk_hub_unlock(j->lock_path, j->lock_fd);
        j->lock_fd = -1;
    }
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
    for (int i = 0; i < j->n_parts; i++) { // a parent that ends takes its parts with it
        hub_job *p = j->parts[i];
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

static void job_ok(wick_hub *h, hub_job *j)
{
    atomic_store(&j->p_total, j->size);
    atomic_store(&j->p_done, j->size);
    wk_hub_job_finish(h, j, WICK_OK);
}

void wk_hub_job_free(hub_job *j)
{
    if (!j) { return; }
    close_files(j);
    if (j->md) { EVP_MD_CTX_free(j->md); }
    curl_slist_free_all(j->hdrs);
    wk_free(j->repo);
    wk_free(j->rev);
    wk_free(j->file);
    wk_free(j->repo_dir);
    wk_free(j->meta_url);
    wk_free(j->cdn_url);
    wk_free(j->lock_path);
    wk_free(j->tmp_path);
    wk_free(j->blob_path);
    wk_free(j->pointer_path);
    wk_free(j->req_url);
    wk_free(j->next_url);
    wk_buf_free(&j->body);
    for (size_t i = 0; i < j->n_entries; i++) {
        wk_free((char *)j->entries[i].path);
        wk_free((char *)j->entries[i].oid);
        wk_free((char *)j->entries[i].sha256);
    }
    wk_free(j->entries);
    wk_free(j->parts);
    wk_free(j);
}

void wk_hub_job_report(hub_job *j)
{
    if (j->kind == JOB_PART) { return; }
    if (j->kind == JOB_DOWNLOAD) {
        if (!j->dl_cb) { return; }
        wick_hub_file f = {0};
        f.id = j->id;
        f.status = j->rc;
        f.message = j->msg;
        f.repo = j->repo;
        f.file = j->file;
        f.revision = j->rev;
        f.commit = j->commit;
        f.path = (j->rc >= 0 && j->pointer_path) ? j->pointer_path : "";
        f.etag = j->etag;
        f.sha256 = (j->rc >= 0 && j->hash_kind == 2) ? j->etag : NULL;
        f.size = j->size;
        f.cached = j->cached;
        j->dl_cb(&f, j->ud);
    } else {
        if (!j->list_cb) { return; }
        wick_hub_listing l = {0};
        l.id = j->id;
        l.status = j->rc;
        l.message = j->msg;
        l.repo = j->repo;
        l.revision = j->rev;
        l.commit = j->commit;
        l.n_entries = j->rc >= 0 ? j->n_entries : 0;
        l.entries = j->rc >= 0 ? j->entries : NULL;
        j->list_cb(&l, j->ud);
    }
}

wick_status wk_hub_md_reset(hub_job *j)
{
    if (!j->md) { j->md = EVP_MD_CTX_new(); }
    if (!j->md) { return wk_fail_nomem("digest"); }
    const EVP_MD *alg = j->hash_kind == 1 ? EVP_sha1() : EVP_sha256();
    if (EVP_DigestInit_ex(j->md, alg, NULL) != 1) {
        return wk_fail(WICK_E_INTERNAL, "digest init failed");
    }
    if (j->hash_kind == 1) { // git blob id: sha1("blob <size>\0" + content)
        char pre[40];
        int n = snprintf(pre, sizeof pre, "blob %" PRIu64, j->size);
        EVP_DigestUpdate(j->md, pre, (size_t)n + 1);
    }
    return WICK_OK;
}

// Loop side, with nothing queued for j (the writer is idle for it).
wick_status wk_hub_truncate_tmp(hub_job *j)
{
    wk_hub_writer_drain(j->hub, j);
    if (ftruncate(j->fd, 0) != 0) {
        return wk_fail(WICK_E_IO, "%s: truncate: %s", j->tmp_path, strerror(errno));
    }
    j->offset = 0;
    atomic_store(&j->p_done, 0);
    return wk_hub_md_reset(j);
}

// --- download ------------------------------------------------------------------------------------
static bool try_cached(wick_hub *h, hub_job *j, const char *commit)
{
    char *ptr = wk_asprintf("%s/snapshots/%s/%s", j->repo_dir, commit, j->file);
    uint64_t size;
    char etag[129];
    if (!ptr || !wk_hub_snapshot_info(ptr, etag, &size)) {
        wk_free(ptr);
        return false;
    }
    snprintf(j->commit, sizeof j->commit, "%s", commit);
    snprintf(j->etag, sizeof j->etag, "%s", etag);
    j->hash_kind = wk_hub_is_hex(etag, 64) ? 2 : wk_hub_is_hex(etag, 40) ? 1 : 0;
    j->size = size;
    wk_free(j->pointer_path);
    j->pointer_path = ptr;
    j->cached = true;
    job_ok(h, j);
    return true;
}

static bool cached_for_rev(wick_hub *h, hub_job *j)
{
    char c[41];
    if (wk_hub_is_hex(j->rev, 40)) {
        memcpy(c, j->rev, 41);
    } else if (!wk_hub_read_ref(j->repo_dir, j->rev, c)) {
        return false;
    }
    return try_cached(h, j, c);
}

static void dl_begin(wick_hub *h, hub_job *j)
{
    if (wk_hub_is_hex(j->rev, 40) && try_cached(h, j, j->rev)) { return; }
    if (h->offline) {
        char c[41];
        if (wk_hub_is_hex(j->rev, 40)) {
            memcpy(c, j->rev, 41);
        } else if (!wk_hub_read_ref(j->repo_dir, j->rev, c)) {
            wk_hub_job_fail(h, j, WICK_E_OFFLINE,
                     "%s: %s: offline mode (HF_HUB_OFFLINE) and revision '%s' is not in the cache",
                     j->repo, j->file, j->rev);
            return;
        }
        if (wk_hub_no_exist(j->repo_dir, c, j->file)) {
            wk_hub_job_fail(h, j, WICK_E_ENTRY_NOT_FOUND, "%s: '%s' does not exist at commit %s (cached)",
                     j->repo, j->file, c);
            return;
        }
        if (try_cached(h, j, c)) { return; }
        wk_hub_job_fail(h, j, WICK_E_OFFLINE,
                 "%s: %s: offline mode (HF_HUB_OFFLINE) and the file is not in the cache", j->repo,
                 j->file);
        return;
    }
    char *qrev = wk_hub_quote(j->rev, false), *qfile = wk_hub_quote(j->file, true);
    j->meta_url = (qrev && qfile)
                      ? wk_asprintf("%s/%s/resolve/%s/%s", h->endpoint, j->repo, qrev, qfile)
                      : NULL;
    wk_free(qrev);
    wk_free(qfile);
    if (!j->meta_url) {
        wk_fail_nomem("url");
        wk_hub_job_finish(h, j, WICK_E_NOMEM);
        return;
    }
    j->state = ST_WANT_META;
}

static void normalize_etag(const char *in, char *out, size_t cap)
{
    // etag.lstrip("W/").strip('"')
    while (*in == 'W' || *in == '/') { in++; }
    while (*in == '"') { in++; }
    size_t n = strlen(in);
    while (n > 0 && in[n - 1] == '"') { n--; }
    if (n >= cap) { n = cap - 1; }
    memcpy(out, in, n);
    out[n] = '\0';
}

static bool etag_ok(const char *e)
{
    if (!e[0] || strlen(e) > 128) { return false; }
    for (const char *p = e; *p; p++) {
        char c = *p;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

static void dl_meta_done(wick_hub *h, hub_job *j, CURLcode cc)
{
    const hub_headers *hh = &j->hh;
    if (cc != CURLE_OK) {
        if (!j->have_meta && cached_for_rev(h, j)) {
            wk_warn("%s: %s; using the cached copy", j->req_url, curl_easy_strerror(cc));
            return;
        }
        wk_hub_net_failure(h, j, cc, ST_WANT_META);
        return;
    }
    if (hh->overflow) {
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: a response header is malformed or too long", j->req_url);
        return;
    }
    long st = hh->status;
    bool redirect = st >= 300 && st < 400 && hh->location[0];
    if (redirect && (wk_hub_is_relative(hh->location) || !wk_hub_is_hex(hh->commit, 40))) {
        // A renamed repo, /api/resolve-cache/...: follow (RFC 3986, query kept) for metadata.
        char *u = wk_hub_resolve_url(j->req_url, hh->location);
        if (!u) {
            wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: bad redirect", j->req_url);
            return;
        }
        char *o = wk_hub_origin(u);
        // The same host, or the Hub itself (mirrors answer 308 to huggingface.co); the token
        // follows only to the endpoint's own origin (wk_hub_start_req decides).
        bool same = o && (strcmp(o, h->endpoint_origin) == 0 ||
                          strcmp(o, "https://huggingface.co:443") == 0 ||
                          strcmp(o, "https://hf.co:443") == 0);
        wk_free(o);
        if (!same && !wk_hub_is_hex(hh->commit, 40)) {
            wk_hub_job_fail(h, j, WICK_E_FORMAT,
                     "%s: redirected to another host (%s) without the Hub's file metadata",
                     j->req_url, u);
            wk_free(u);
            return;
        }
        if (++j->n_redirects > HUB_MAX_REDIRECTS) {
            wk_free(u);
            wk_hub_job_fail(h, j, WICK_E_HTTP, "%s: too many redirects", j->req_url);
            return;
        }
        wk_free(j->meta_url);
        j->meta_url = u;
        j->state = ST_WANT_META;
        return;
    }
    if (!redirect && !(st >= 200 && st < 300)) {
        // The Hub is down (5xx, 429...): a cached copy of this revision will do. Auth and
        // not-found answers are reported instead, so that they are not hidden.
        if (wk_hub_retryable(st) && !j->have_meta && cached_for_rev(h, j)) {
            wk_warn("%s: HTTP %ld; using the cached copy", j->req_url, st);
            return;
        }
        wk_hub_http_failure(h, j, ST_WANT_META);
        return;
    }
    if (!wk_hub_is_hex(hh->commit, 40)) {
        wk_hub_job_fail(h, j, WICK_E_FORMAT,
                 "%s: no X-Repo-Commit header: the endpoint does not look like a Hugging Face Hub",
                 j->req_url);
        return;
    }
    char etag[129];
    normalize_etag(hh->linked_etag[0] ? hh->linked_etag : hh->etag, etag, sizeof etag);
    if (!etag_ok(etag)) {
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: missing or malformed ETag", j->req_url);
        return;
    }
    uint64_t size;
    if (hh->has_linked_size) {
        size = hh->linked_size;
    } else if (!redirect && hh->has_length) {
        size = hh->content_length; // a redirect's Content-Length is its own body
    } else {
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: the file size is missing (X-Linked-Size)", j->req_url);
        return;
    }
    if (j->have_meta) { // a refresh of an expired CDN URL: the blob must be the same one
        if (strcmp(etag, j->etag) != 0 || size != j->size) {
            wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: the file changed during the download", j->req_url);
            return;
        }
        wk_free(j->cdn_url);
        j->cdn_url = redirect ? wk_strdup(hh->location) : NULL;
        j->state = ST_WANT_GET;
        return;
    }
    memcpy(j->commit, hh->commit, 41);
    snprintf(j->etag, sizeof j->etag, "%s", etag);
    j->size = size;
    j->hash_kind = wk_hub_is_hex(etag, 64) ? 2 : wk_hub_is_hex(etag, 40) ? 1 : 0;
    j->lfs = j->hash_kind == 2;
    j->have_meta = true;
    atomic_store(&j->p_total, size);
    if (redirect) {
        j->cdn_url = wk_strdup(hh->location);
        if (!j->cdn_url) { goto nomem; }
    }
    char *folder = strrchr(j->repo_dir, '/');
    j->pointer_path = wk_asprintf("%s/snapshots/%s/%s", j->repo_dir, j->commit, j->file);
    j->blob_path = wk_asprintf("%s/blobs/%s", j->repo_dir, j->etag);
    j->tmp_path = wk_asprintf("%s/blobs/%s.incomplete", j->repo_dir, j->etag);
    j->lock_path = wk_asprintf("%s/.locks/%s/%s.lock", h->cache_dir, folder + 1, j->etag);
    if (!j->pointer_path || !j->blob_path || !j->tmp_path || !j->lock_path) { goto nomem; }
    wick_status rc = wk_hub_mkdirs(j->blob_path, false);
    if (rc >= 0) { rc = wk_hub_write_ref(j->repo_dir, j->rev, j->commit); }
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    wk_hub_cachedir_tag(h->cache_dir);
    char e2[129];
    uint64_t s2;
    if (wk_hub_snapshot_info(j->pointer_path, e2, &s2)) {
        j->cached = true;
        job_ok(h, j);
        return;
    }
    j->state = ST_LOCK;
    return;
nomem:
    wk_fail_nomem("paths");
    wk_hub_job_finish(h, j, WICK_E_NOMEM);
}

// huggingface_hub >= 1.18 writes blobs/ETAG.<8 hex>.incomplete and leaves it behind when killed;
// an interrupted split download of ours leaves ETAG.split.incomplete (with holes). Under the
// blob's lock nobody writes those: remove them (ETAG.incomplete, resumable, is kept).
static void remove_stale_temps(hub_job *j)
{
    char *dir = wk_strndup(j->blob_path, (size_t)(strrchr(j->blob_path, '/') - j->blob_path));
    DIR *d = dir ? opendir(dir) : NULL;
    size_t el = strlen(j->etag);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, j->etag, el) == 0 && n[el] == '.' &&
            ((wk_hub_is_hex_prefix(n + el + 1, 8) && strcmp(n + el + 9, ".incomplete") == 0) ||
             strcmp(n + el, ".split.incomplete") == 0)) { // ours, from an interrupted split
            char *p = wk_asprintf("%s/%s", dir, n);
            if (p && unlink(p) == 0) { wk_info("%s: removed a stale temp file", p); }
            wk_free(p);
        }
    }
    if (d) { closedir(d); }
    wk_free(dir);
}

static void dl_lock(wick_hub *h, hub_job *j)
{
    int fd = -1;
    int r = wk_hub_lock_try(j->lock_path, &fd);
    if (r < 0) {
        wk_hub_job_finish(h, j, r);
        return;
    }
    if (r == 0) { // another process (or job) writes this blob: poll, cheaply
        double now = wk_now();
        if (j->lock_since == 0) { j->lock_since = now; }
        if (now - j->lock_since >= 5 && !j->lock_warned) {
            wk_warn("%s: %s: waiting for another download of this file (lock %s)", j->repo,
                    j->file, j->lock_path);
            j->lock_warned = true;
        }
        wk_hub_wait_then(h, j, 0.1, ST_LOCK);
        return;
    }
    j->lock_fd = fd;
    struct stat st;
    if (stat(j->blob_path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == j->size) {
        wick_status rc = wk_hub_link(j->pointer_path, j->file, j->etag);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        j->cached = true;
        job_ok(h, j);
        return;
    }
    remove_stale_temps(j);
    j->fd = open(j->tmp_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (j->fd < 0 || fstat(j->fd, &st) != 0) {
        int e = errno;
        wk_hub_job_fail(h, j, e == ENOSPC || e == EDQUOT ? WICK_E_NOSPACE : WICK_E_IO, "%s: %s",
                 j->tmp_path, strerror(e));
        return;
    }
    wick_status rc = wk_hub_md_reset(j);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    j->offset = (uint64_t)st.st_size;
    if (j->offset > j->size) {
        rc = wk_hub_truncate_tmp(j);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
    }
    atomic_store(&j->p_done, j->offset);
    struct statvfs vfs; // huggingface_hub warns too; the write itself fails cleanly if it must
    if (fstatvfs(j->fd, &vfs) == 0 &&
        (double)vfs.f_bavail * (double)vfs.f_frsize < (double)(j->size - j->offset)) {
        wk_warn("%s: %" PRIu64 " more bytes are needed, %.0f are free", j->tmp_path,
                j->size - j->offset, (double)vfs.f_bavail * (double)vfs.f_frsize);
    }
    if (j->offset == 0 && wk_hub_split(h, j)) { return; }
    if (j->offset > 0) { // resume: the writer hashes the prefix first, then takes new bytes
        wk_debug("%s: resuming at %" PRIu64, j->tmp_path, j->offset);
        rc = wk_hub_writer_push(h, j, WR_HASH_PREFIX, j->offset, NULL, 0);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
    }
    j->state = ST_WANT_GET;
}

static void dl_verify(wick_hub *h, hub_job *j)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    if (j->hash_kind) {
        EVP_DigestFinal_ex(j->md, d, &dl);
        wk_hub_hex(d, dl, hex);
    }
    if (j->offset != j->size || (j->hash_kind && strcmp(hex, j->etag) != 0)) {
        // Wrong bytes: never promote them. Start over once; then give up.
        wick_status rc = wk_hub_truncate_tmp(j);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        if (++j->n_mismatch <= 1) {
            wk_warn("%s: %s mismatch, downloading again", j->repo, j->file);
            wk_hub_wait_then(h, j, h->backoff_ms / 1000.0, ST_WANT_GET);
            return;
        }
        unlink(j->tmp_path);
        wk_hub_job_fail(h, j, WICK_E_CHECKSUM,
                 "%s: %s: the downloaded bytes hash to %s, the Hub says %s (download discarded)",
                 j->repo, j->file, hex, j->etag);
        return;
    }
    // No fsync: it can stall the loop for seconds on a big file (huggingface_hub does none
    // either); the rename below is what makes the blob appear whole.
    close(j->fd);
    j->fd = -1;
    if (rename(j->tmp_path, j->blob_path) != 0) {
        wk_hub_job_fail(h, j, WICK_E_IO, "%s: %s", j->blob_path, strerror(errno));
        return;
    }
    wick_status rc = wk_hub_link(j->pointer_path, j->file, j->etag);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    job_ok(h, j);
}

char *wk_hub_content_url(const wick_hub *h, const hub_job *j)
{
    if (j->cdn_url) { return wk_strdup(j->cdn_url); }
    char *q = wk_hub_quote(j->file, true);
    char *url = q ? wk_asprintf("%s/%s/resolve/%s/%s", h->endpoint, j->repo, j->commit, q) : NULL;
    wk_free(q);
    return url;
}

static void dl_want_get(wick_hub *h, hub_job *j)
{
    if (atomic_load(&j->wr_err) != 0) {
        wk_hub_job_fail(h, j, atomic_load(&j->wr_err), "%s", j->wr_msg);
        return;
    }
    if (j->offset == j->size) {
        wk_hub_writer_flush(h, j);
        if (atomic_load(&j->pending) > 0) { return; } // the writer wakes us when done
        dl_verify(h, j);
        return;
    }
    if (h->n_transfers >= h->max_transfers) { return; }
    char *url = wk_hub_content_url(h, j);
    wick_status rc = url ? wk_hub_start_req(h, j, url, false, j->offset, j->cdn_url == NULL) : wk_fail_nomem("url");
    wk_free(url);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    j->state = ST_GET;
    atomic_store(&j->p_active, true);
}

static void dl_get_done(wick_hub *h, hub_job *j, CURLcode cc)
{
    const hub_headers *hh = &j->hh;
    if (atomic_load(&j->wr_err) != 0) {
        wk_hub_job_fail(h, j, atomic_load(&j->wr_err), "%s", j->wr_msg);
        return;
    }
    if (j->got_data && j->offset > j->best_offset) { // progress resets the retry budget (as
        j->best_offset = j->offset;                    // huggingface_hub), but only real progress:
        j->tries = 0;                                  // the same bytes again do not count
    }
    if (j->write_rc == HUB_RESTART) {
        wick_status rc = wk_hub_truncate_tmp(j);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        wk_fail(WICK_E_HTTP, "%s: Content-Range does not start at the requested offset", j->req_url);
        wk_hub_retry_or_fail(h, j, ST_WANT_GET, WICK_E_HTTP);
        return;
    }
    if (j->write_rc < 0) {
        if (j->write_rc == WICK_E_CHECKSUM) {
            wk_hub_truncate_tmp(j);
            unlink(j->tmp_path);
        }
        wk_hub_job_fail(h, j, j->write_rc, "%s", j->write_msg);
        return;
    }
    long st = hh->status;
    if (cc == CURLE_WRITE_ERROR && !(st >= 200 && st < 300)) { cc = CURLE_OK; } // error body cut
    if (cc != CURLE_OK) {
        wk_hub_net_failure(h, j, cc, ST_WANT_GET);
        return;
    }
    if (st == 200 || st == 206) {
        if (j->offset == j->size) {
            dl_verify(h, j);
        } else {
            wk_fail(WICK_E_NETWORK, "%s: the body ended at %" PRIu64 " of %" PRIu64 " bytes",
                    j->req_url, j->offset, j->size);
            wk_hub_retry_or_fail(h, j, ST_WANT_GET, WICK_E_NETWORK);
        }
        return;
    }
    if (st == 416) { // our offset is past what the server has: start over
        wick_status rc = wk_hub_truncate_tmp(j);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        wk_fail(WICK_E_HTTP, "%s: HTTP 416 for Range bytes=%" PRIu64 "-", j->req_url, j->offset);
        wk_hub_retry_or_fail(h, j, ST_WANT_GET, WICK_E_HTTP);
        return;
    }
    if (st >= 300 && st < 400 && hh->location[0]) {
        char *u = wk_hub_resolve_url(j->req_url, hh->location);
        if (!u || ++j->n_redirects > HUB_MAX_REDIRECTS) {
            wk_free(u);
            wk_hub_job_fail(h, j, WICK_E_HTTP, "%s: bad or too many redirects", j->req_url);
            return;
        }
        wk_free(j->cdn_url);
        j->cdn_url = u;
        j->state = ST_WANT_GET;
        return;
    }
    if (st == 403 && j->cdn_url) {
        // A signed CDN URL that expired: ask the Hub for a fresh one (by commit), then resume.
        wk_fail(WICK_E_HTTP, "%s: HTTP 403 (expired CDN URL?)", j->req_url);
        wk_free(j->cdn_url);
        j->cdn_url = NULL;
        char *q = wk_hub_quote(j->file, true);
        wk_free(j->meta_url);
        j->meta_url = q ? wk_asprintf("%s/%s/resolve/%s/%s", h->endpoint, j->repo, j->commit, q)
                        : NULL;
        wk_free(q);
        if (!j->meta_url) {
            wk_fail_nomem("url");
            wk_hub_job_finish(h, j, WICK_E_NOMEM);
            return;
        }
        j->tries++;
        if (j->tries > h->max_retries) {
            wk_hub_job_finish(h, j, WICK_E_HTTP);
            return;
        }
        j->state = ST_WANT_META;
        return;
    }
    wk_hub_http_failure(h, j, ST_WANT_GET);
}

// --- listing -------------------------------------------------------------------------------------
static wick_status add_entry(hub_job *j, const char *path, uint64_t size, const char *oid,
                             const char *sha);

// The listing cache huggingface_hub (2026+) keeps for snapshot_download, trees/<commit>.json:
// {"format_version":1,"files":{path:{"size","blob_id","lfs_sha256"?,"lfs_size"?}}}. We write it
// after a listing and read it offline.
static void write_tree_cache(hub_job *j)
{
    json_t *files = json_object(), *root = json_object();
    char *path = wk_asprintf("%s/trees/%s.json", j->repo_dir, j->commit);
    char *tmp = wk_asprintf("%s/trees/%s.json.%d.tmp", j->repo_dir, j->commit, (int)getpid());
    bool ok = files && root && path && tmp && wk_hub_mkdirs(path, false) >= 0;
    for (size_t i = 0; ok && i < j->n_entries; i++) {
        const wick_hub_entry *e = &j->entries[i];
        json_t *o = json_object();
        ok = o && json_object_set_new(o, "size", json_integer((json_int_t)e->size)) == 0 &&
             json_object_set_new(o, "blob_id", json_string(e->oid)) == 0;
        if (ok && e->sha256) {
            ok = json_object_set_new(o, "lfs_sha256", json_string(e->sha256)) == 0 &&
                 json_object_set_new(o, "lfs_size", json_integer((json_int_t)e->size)) == 0;
        }
        ok = ok && json_object_set_new(files, e->path, o) == 0;
        if (!ok) { json_decref(o); }
    }
    ok = ok && json_object_set_new(root, "format_version", json_integer(1)) == 0 &&
         json_object_set(root, "files", files) == 0 && json_dump_file(root, tmp, JSON_COMPACT) == 0 &&
         rename(tmp, path) == 0;
    if (!ok) {
        if (tmp) { unlink(tmp); }
        wk_debug("%s: cannot write the listing cache", path ? path : j->repo);
    }
    json_decref(files);
    json_decref(root);
    wk_free(path);
    wk_free(tmp);
}

static void list_offline(wick_hub *h, hub_job *j)
{
    char c[41];
    if (wk_hub_is_hex(j->rev, 40)) {
        memcpy(c, j->rev, 41);
    } else if (!wk_hub_read_ref(j->repo_dir, j->rev, c)) {
        wk_hub_job_fail(h, j, WICK_E_OFFLINE,
                 "%s: offline mode (HF_HUB_OFFLINE) and revision '%s' is not in the cache", j->repo,
                 j->rev);
        return;
    }
    char *path = wk_asprintf("%s/trees/%s.json", j->repo_dir, c);
    json_error_t err;
    json_t *root = path ? json_load_file(path, 0, &err) : NULL;
    json_t *files = json_object_get(root, "files");
    if (!json_is_object(files) || json_integer_value(json_object_get(root, "format_version")) != 1) {
        json_decref(root);
        wk_hub_job_fail(h, j, WICK_E_OFFLINE,
                 "%s: offline mode (HF_HUB_OFFLINE) and no listing of commit %s is cached; name "
                 "the files instead", j->repo, c);
        wk_free(path);
        return;
    }
    memcpy(j->commit, c, 41);
    const char *k;
    json_t *v;
    wick_status rc = WICK_OK;
    json_object_foreach(files, k, v) {
        if (!wk_hub_valid_path(k)) {
            rc = wk_fail(WICK_E_FORMAT, "%s: path '%s' would leave the repository", path, k);
            break;
        }
        const char *sha = json_string_value(json_object_get(v, "lfs_sha256"));
        if (sha && !wk_hub_is_hex(sha, 64)) { sha = NULL; }
        json_int_t sz = json_integer_value(json_object_get(v, sha ? "lfs_size" : "size"));
        rc = add_entry(j, k, sz > 0 ? (uint64_t)sz : 0,
                       json_string_value(json_object_get(v, "blob_id")), sha);
        if (rc < 0) { break; }
    }
    json_decref(root);
    wk_free(path);
    wk_hub_job_finish(h, j, rc);
}

static void list_begin(wick_hub *h, hub_job *j)
{
    if (h->offline) {
        list_offline(h, j);
        return;
    }
    char *q = wk_hub_quote(j->rev, false);
    if (wk_hub_is_hex(j->rev, 40)) {
        memcpy(j->commit, j->rev, 41);
        j->next_url = wk_asprintf("%s/api/models/%s/tree/%s?recursive=true&expand=false",
                                  h->endpoint, j->repo, j->commit);
    } else {
        j->meta_url = q ? wk_asprintf("%s/api/models/%s/revision/%s", h->endpoint, j->repo, q)
                        : NULL;
    }
    wk_free(q);
    if (!j->next_url && !j->meta_url) {
        wk_fail_nomem("url");
        wk_hub_job_finish(h, j, WICK_E_NOMEM);
        return;
    }
    j->state = ST_WANT_META;
}

static wick_status add_entry(hub_job *j, const char *path, uint64_t size, const char *oid,
                             const char *sha)
{
    if (j->n_entries == j->cap_entries) {
        size_t cap = j->cap_entries ? j->cap_entries * 2 : 64, bytes;
        if (!wk_mul_size(cap, sizeof *j->entries, &bytes)) { return wk_fail_nomem("listing"); }
        wick_hub_entry *e = wk_realloc(j->entries, bytes);
        if (!e) { return wk_fail_nomem("listing"); }
        j->entries = e;
        j->cap_entries = cap;
    }
    wick_hub_entry *e = &j->entries[j->n_entries];
    e->path = wk_strdup(path);
    e->oid = wk_strdup(oid ? oid : "");
    e->sha256 = sha ? wk_strdup(sha) : NULL;
    e->size = size;
    j->n_entries++;
    if (!e->path || !e->oid || (sha && !e->sha256)) { return wk_fail_nomem("listing"); }
    return WICK_OK;
}

static void list_done(wick_hub *h, hub_job *j, CURLcode cc)
{
    if (j->write_rc < 0) {
        wk_hub_job_fail(h, j, j->write_rc, "%s", j->write_msg);
        return;
    }
    long st = j->hh.status;
    if (cc == CURLE_WRITE_ERROR && !(st >= 200 && st < 300)) { cc = CURLE_OK; }
    if (cc != CURLE_OK) {
        wk_hub_net_failure(h, j, cc, ST_WANT_META);
        return;
    }
    if (st >= 300 && st < 400 && j->hh.location[0] && wk_hub_is_relative(j->hh.location)) {
        char *u = wk_hub_resolve_url(j->req_url, j->hh.location);
        if (!u || ++j->n_redirects > HUB_MAX_REDIRECTS) {
            wk_free(u);
            wk_hub_job_fail(h, j, WICK_E_HTTP, "%s: bad or too many redirects", j->req_url);
            return;
        }
        char **slot = j->commit[0] ? &j->next_url : &j->meta_url;
        wk_free(*slot);
        *slot = u;
        j->state = ST_WANT_META;
        return;
    }
    if (!(st >= 200 && st < 300)) {
        wk_hub_http_failure(h, j, ST_WANT_META);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(j->body.data ? j->body.data : "", j->body.len, 0, &jerr);
    if (!root) {
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: invalid JSON: %s (line %d)", j->req_url, jerr.text,
                 jerr.line);
        return;
    }
    if (!j->commit[0]) {
        const char *sha = json_string_value(json_object_get(root, "sha"));
        if (!sha || !wk_hub_is_hex(sha, 40)) {
            json_decref(root);
            wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: no commit (\"sha\") in the answer", j->req_url);
            return;
        }
        memcpy(j->commit, sha, 41);
        json_decref(root);
        wick_status rc = wk_hub_write_ref(j->repo_dir, j->rev, j->commit);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        j->next_url = wk_asprintf("%s/api/models/%s/tree/%s?recursive=true&expand=false",
                                  h->endpoint, j->repo, j->commit);
        if (!j->next_url) {
            wk_fail_nomem("url");
            wk_hub_job_finish(h, j, WICK_E_NOMEM);
            return;
        }
        j->state = ST_WANT_META;
        return;
    }
    if (!json_is_array(root)) {
        json_decref(root);
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: expected a JSON array of files", j->req_url);
        return;
    }
    size_t i;
    json_t *it;
    json_array_foreach(root, i, it) {
        const char *type = json_string_value(json_object_get(it, "type"));
        const char *path = json_string_value(json_object_get(it, "path"));
        if (!type || strcmp(type, "file") != 0) { continue; }
        if (!path || !wk_hub_valid_path(path)) {
            wk_fail(WICK_E_FORMAT, "%s: listed path '%s' would leave the repository (refused)",
                    j->req_url, path ? path : "(none)");
            json_decref(root);
            wk_hub_job_finish(h, j, WICK_E_FORMAT);
            return;
        }
        json_t *js = json_object_get(it, "size");
        json_t *lfs = json_object_get(it, "lfs");
        const char *sha = json_string_value(json_object_get(lfs, "oid"));
        if (sha && !wk_hub_is_hex(sha, 64)) { sha = NULL; }
        if (json_is_integer(json_object_get(lfs, "size"))) { js = json_object_get(lfs, "size"); }
        json_int_t sz = json_integer_value(js);
        wick_status rc = add_entry(j, path, sz > 0 ? (uint64_t)sz : 0,
                                   json_string_value(json_object_get(it, "oid")), sha);
        if (rc < 0) {
            json_decref(root);
            wk_hub_job_finish(h, j, rc);
            return;
        }
    }
    json_decref(root);
    wk_free(j->next_url);
    j->next_url = NULL;
    if (j->hh.link_next[0]) {
        char *u = wk_hub_resolve_url(j->req_url, j->hh.link_next);
        char *o = u ? wk_hub_origin(u) : NULL;
        bool same = o && strcmp(o, h->endpoint_origin) == 0;
        wk_free(o);
        if (!same || ++j->n_redirects > HUB_MAX_PAGES) {
            wk_free(u);
            wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: bad next-page link", j->req_url);
            return;
        }
        j->next_url = u;
        j->state = ST_WANT_META;
        return;
    }
    write_tree_cache(j);
    wk_hub_job_finish(h, j, WICK_OK);
}

// --- dispatch ------------------------------------------------------------------------------------
static void want_meta(wick_hub *h, hub_job *j)
{
    if (h->n_transfers >= h->max_transfers) { return; }
    const char *url = j->kind == JOB_DOWNLOAD ? j->meta_url : (j->commit[0] ? j->next_url : j->meta_url);
    wick_status rc = wk_hub_start_req(h, j, url, j->kind == JOB_DOWNLOAD, 0, true);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    j->state = ST_META;
}

void wk_hub_job_step(wick_hub *h, hub_job *j, double now)
{
    for (int guard = 0; guard < 8; guard++) {
        job_state before = j->state;
        switch (j->state) {
        case ST_NEW:
            if (j->kind == JOB_DOWNLOAD) {
                dl_begin(h, j);
            } else {
                list_begin(h, j);
            }
            break;
        case ST_WAIT:
            if (now >= j->wake_at) { j->state = j->after_wait; }
            break;
        case ST_WANT_META: want_meta(h, j); break;
        case ST_LOCK: dl_lock(h, j); break;
        case ST_FLUSH:
            if (atomic_load(&j->pending) == 0) {
                j->state = ST_GET;
                if (j->kind == JOB_PART) {
                    wk_hub_part_get_done(h, j, j->done_cc);
                } else {
                    dl_get_done(h, j, j->done_cc);
                }
            }
            break;
        case ST_WANT_GET:
            if (j->kind == JOB_PART) {
                wk_hub_part_want_get(h, j);
            } else {
                dl_want_get(h, j);
            }
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
        wk_hub_writer_flush(h, j);
        j->done_cc = cc;
        j->state = ST_FLUSH;
        if (atomic_load(&j->pending) == 0) {
            j->state = ST_GET;
            if (j->kind == JOB_PART) {
                wk_hub_part_get_done(h, j, cc);
            } else {
                dl_get_done(h, j, cc);
            }
        }
    } else if (j->kind == JOB_DOWNLOAD) {
        dl_meta_done(h, j, cc);
    } else {
        list_done(h, j, cc);
    }
}
