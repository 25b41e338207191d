// download.c — one file into the cache, step by step, driven by hub.c's loop: [cached?] ->
// HEAD /resolve (relative redirects followed; metadata from the final response or the 302 to the
// CDN) -> ref, lock -> temp file (resume: hash the prefix) -> GET (CDN Location without the
// token, or /resolve/COMMIT) with Range -> size + hash -> rename into blobs/, symlink into
// snapshots/. The byte counter survives a retry, so a retry resumes with Range.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hub/hub_internal.h"

// --- the job's own resources --------------------------------------------------------------------
void wk_hub_dl_close(hub_job *j)
{
    if (j->dl.tmp.fd >= 0) {
        close(j->dl.tmp.fd);
        j->dl.tmp.fd = -1;
    }
    if (j->dl.lock_fd >= 0) {
        wk_hub_unlock(j->dl.lock_path, j->dl.lock_fd);
        j->dl.lock_fd = -1;
    }
}

void wk_hub_dl_free(hub_job *j)
{
    wk_hub_file_free(&j->dl.tmp);
    wk_free(j->dl.cdn_url);
    wk_free(j->dl.lock_path);
    wk_free(j->dl.blob_path);
    wk_free(j->dl.pointer_path);
    wk_free(j->dl.parts);
}

void wk_hub_dl_report(hub_job *j)
{
    if (!j->dl.cb) { return; }
    bool ok = j->rc >= 0;
    wick_hub_file f = {
        .id = j->id, .status = j->rc, .message = j->msg, .repo = j->repo, .file = j->file,
        .revision = j->rev, .commit = j->commit,
        .path = ok && j->dl.pointer_path ? j->dl.pointer_path : "", .etag = j->dl.etag,
        .sha256 = ok && j->dl.hash_kind == 2 ? j->dl.etag : NULL, .size = j->dl.size,
        .cached = j->dl.cached,
    };
    j->dl.cb(&f, j->ud);
}

static void job_ok(wick_hub *h, hub_job *j)
{
    atomic_store(&j->p_total, j->dl.size);
    atomic_store(&j->p_done, j->dl.size);
    wk_hub_job_finish(h, j, WICK_OK);
}

// Loop side: the temp file starts over from byte 0 (after what is queued for it is written).
wick_status wk_hub_truncate_tmp(hub_job *j)
{
    wick_status rc = wk_hub_writer_truncate(j->hub, &j->f.sink);
    if (rc < 0) { return rc; }
    j->f.offset = 0;
    atomic_store(&j->p_done, 0);
    return WICK_OK;
}

// --- the steps -----------------------------------------------------------------------------------
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
    snprintf(j->dl.etag, sizeof j->dl.etag, "%s", etag);
    j->dl.hash_kind = wk_hub_is_hex(etag, 64) ? 2 : wk_hub_is_hex(etag, 40) ? 1 : 0;
    j->dl.size = size;
    wk_free(j->dl.pointer_path);
    j->dl.pointer_path = ptr;
    j->dl.cached = true;
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

void wk_hub_dl_begin(wick_hub *h, hub_job *j)
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
            wk_hub_job_fail(h, j, WICK_E_ENTRY_NOT_FOUND,
                            "%s: '%s' does not exist at commit %s (cached)", j->repo, j->file, c);
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

void wk_hub_dl_meta_done(wick_hub *h, hub_job *j, CURLcode cc)
{
    const hub_headers *hh = &j->x.hh;
    if (cc != CURLE_OK) {
        if (!j->dl.have_meta && cached_for_rev(h, j)) {
            wk_warn("%s: %s; using the cached copy", j->x.url, curl_easy_strerror(cc));
            return;
        }
        wk_hub_net_failure(h, j, cc, ST_WANT_META);
        return;
    }
    if (hh->overflow) {
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: a response header is malformed or too long",
                        j->x.url);
        return;
    }
    long st = hh->status;
    bool redirect = st >= 300 && st < 400 && hh->location[0];
    if (redirect && (wk_hub_is_relative(hh->location) || !wk_hub_is_hex(hh->commit, 40))) {
        // A renamed repo, /api/resolve-cache/...: follow (RFC 3986, query kept) for metadata.
        char *u = wk_hub_resolve_url(j->x.url, hh->location);
        if (!u) {
            wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: bad redirect", j->x.url);
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
                     j->x.url, u);
            wk_free(u);
            return;
        }
        if (++j->n_redirects > HUB_MAX_REDIRECTS) {
            wk_free(u);
            wk_hub_job_fail(h, j, WICK_E_HTTP, "%s: too many redirects", j->x.url);
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
        if (wk_hub_retryable(st) && !j->dl.have_meta && cached_for_rev(h, j)) {
            wk_warn("%s: HTTP %ld; using the cached copy", j->x.url, st);
            return;
        }
        wk_hub_http_failure(h, j, ST_WANT_META);
        return;
    }
    if (!wk_hub_is_hex(hh->commit, 40)) {
        wk_hub_job_fail(h, j, WICK_E_FORMAT,
                 "%s: no X-Repo-Commit header: the endpoint does not look like a Hugging Face Hub",
                 j->x.url);
        return;
    }
    char etag[129];
    normalize_etag(hh->linked_etag[0] ? hh->linked_etag : hh->etag, etag, sizeof etag);
    if (!etag_ok(etag)) {
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: missing or malformed ETag", j->x.url);
        return;
    }
    uint64_t size;
    if (hh->has_linked_size) {
        size = hh->linked_size;
    } else if (!redirect && hh->has_length) {
        size = hh->content_length; // a redirect's Content-Length is its own body
    } else {
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: the file size is missing (X-Linked-Size)",
                        j->x.url);
        return;
    }
    if (j->dl.have_meta) { // a refresh of an expired CDN URL: the blob must be the same one
        if (strcmp(etag, j->dl.etag) != 0 || size != j->dl.size) {
            wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: the file changed during the download",
                            j->x.url);
            return;
        }
        wk_free(j->dl.cdn_url);
        j->dl.cdn_url = redirect ? wk_strdup(hh->location) : NULL;
        j->state = ST_WANT_GET;
        return;
    }
    memcpy(j->commit, hh->commit, 41);
    snprintf(j->dl.etag, sizeof j->dl.etag, "%s", etag);
    j->dl.size = size;
    j->f.end = size;
    j->dl.hash_kind = wk_hub_is_hex(etag, 64) ? 2 : wk_hub_is_hex(etag, 40) ? 1 : 0;
    j->dl.lfs = j->dl.hash_kind == 2;
    j->dl.have_meta = true;
    atomic_store(&j->p_total, size);
    if (redirect) {
        j->dl.cdn_url = wk_strdup(hh->location);
        if (!j->dl.cdn_url) { goto nomem; }
    }
    char *folder = strrchr(j->repo_dir, '/');
    j->dl.pointer_path = wk_asprintf("%s/snapshots/%s/%s", j->repo_dir, j->commit, j->file);
    j->dl.blob_path = wk_asprintf("%s/blobs/%s", j->repo_dir, j->dl.etag);
    j->dl.tmp.path = wk_asprintf("%s/blobs/%s.incomplete", j->repo_dir, j->dl.etag);
    j->dl.lock_path = wk_asprintf("%s/.locks/%s/%s.lock", h->cache_dir, folder + 1, j->dl.etag);
    if (!j->dl.pointer_path || !j->dl.blob_path || !j->dl.tmp.path || !j->dl.lock_path) {
        goto nomem;
    }
    wick_status rc = wk_hub_mkdirs(j->dl.blob_path, false);
    if (rc >= 0) { rc = wk_hub_write_ref(j->repo_dir, j->rev, j->commit); }
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    wk_hub_cachedir_tag(h->cache_dir);
    char e2[129];
    uint64_t s2;
    if (wk_hub_snapshot_info(j->dl.pointer_path, e2, &s2)) {
        j->dl.cached = true;
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
    char *dir =
        wk_strndup(j->dl.blob_path, (size_t)(strrchr(j->dl.blob_path, '/') - j->dl.blob_path));
    DIR *d = dir ? opendir(dir) : NULL;
    size_t el = strlen(j->dl.etag);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, j->dl.etag, el) == 0 && n[el] == '.' &&
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

void wk_hub_dl_lock(wick_hub *h, hub_job *j)
{
    int fd = -1;
    int r = wk_hub_lock_try(j->dl.lock_path, &fd);
    if (r < 0) {
        wk_hub_job_finish(h, j, r);
        return;
    }
    if (r == 0) { // another process (or job) writes this blob: poll, cheaply
        double now = wk_now();
        if (j->dl.lock_since == 0) { j->dl.lock_since = now; }
        if (now - j->dl.lock_since >= 5 && !j->dl.lock_warned) {
            wk_warn("%s: %s: waiting for another download of this file (lock %s)", j->repo,
                    j->file, j->dl.lock_path);
            j->dl.lock_warned = true;
        }
        wk_hub_wait_then(h, j, 0.1, ST_LOCK);
        return;
    }
    j->dl.lock_fd = fd;
    struct stat st;
    if (stat(j->dl.blob_path, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size == j->dl.size) {
        wick_status rc = wk_hub_link(j->dl.pointer_path, j->file, j->dl.etag);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        j->dl.cached = true;
        job_ok(h, j);
        return;
    }
    remove_stale_temps(j);
    j->dl.tmp.fd = open(j->dl.tmp.path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (j->dl.tmp.fd < 0 || fstat(j->dl.tmp.fd, &st) != 0) {
        int e = errno;
        wk_hub_job_fail(h, j, e == ENOSPC || e == EDQUOT ? WICK_E_NOSPACE : WICK_E_IO, "%s: %s",
                 j->dl.tmp.path, strerror(e));
        return;
    }
    j->dl.tmp.hash_kind = j->dl.hash_kind;
    j->dl.tmp.size = j->dl.size;
    wick_status rc = wk_hub_file_hash_start(&j->dl.tmp);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    j->f.offset = (uint64_t)st.st_size;
    if (j->f.offset > j->dl.size) {
        rc = wk_hub_truncate_tmp(j);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
    }
    atomic_store(&j->p_done, j->f.offset);
    struct statvfs vfs; // huggingface_hub warns too; the write itself fails cleanly if it must
    if (fstatvfs(j->dl.tmp.fd, &vfs) == 0 &&
        (double)vfs.f_bavail * (double)vfs.f_frsize < (double)(j->dl.size - j->f.offset)) {
        wk_warn("%s: %" PRIu64 " more bytes are needed, %.0f are free", j->dl.tmp.path,
                j->dl.size - j->f.offset, (double)vfs.f_bavail * (double)vfs.f_frsize);
    }
    if (j->f.offset == 0 && wk_hub_split(h, j)) { return; }
    if (j->f.offset > 0) { // resume: the writer hashes the prefix first, then takes new bytes
        wk_debug("%s: resuming at %" PRIu64, j->dl.tmp.path, j->f.offset);
        rc = wk_hub_writer_push(h, &j->f.sink, WR_HASH_PREFIX, j->f.offset);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
    }
    j->state = ST_WANT_GET;
}

static void dl_verify(wick_hub *h, hub_job *j)
{
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    wk_hub_file_digest(&j->dl.tmp, hex);
    if (j->f.offset != j->dl.size || (j->dl.hash_kind && strcmp(hex, j->dl.etag) != 0)) {
        // Wrong bytes: never promote them. Start over once; then give up.
        wick_status rc = wk_hub_truncate_tmp(j);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        if (++j->dl.n_mismatch <= 1) {
            wk_warn("%s: %s mismatch, downloading again", j->repo, j->file);
            wk_hub_wait_then(h, j, h->backoff_ms / 1000.0, ST_WANT_GET);
            return;
        }
        unlink(j->dl.tmp.path);
        wk_hub_job_fail(h, j, WICK_E_CHECKSUM,
                 "%s: %s: the downloaded bytes hash to %s, the Hub says %s (download discarded)",
                 j->repo, j->file, hex, j->dl.etag);
        return;
    }
    // No fsync: it can stall the loop for seconds on a big file (huggingface_hub does none
    // either); the rename below is what makes the blob appear whole.
    close(j->dl.tmp.fd);
    j->dl.tmp.fd = -1;
    if (rename(j->dl.tmp.path, j->dl.blob_path) != 0) {
        wk_hub_job_fail(h, j, WICK_E_IO, "%s: %s", j->dl.blob_path, strerror(errno));
        return;
    }
    wick_status rc = wk_hub_link(j->dl.pointer_path, j->file, j->dl.etag);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return;
    }
    job_ok(h, j);
}

char *wk_hub_commit_url(const wick_hub *h, const hub_job *j)
{
    char *q = wk_hub_quote(j->file, true);
    char *url = q ? wk_asprintf("%s/%s/resolve/%s/%s", h->endpoint, j->repo, j->commit, q) : NULL;
    wk_free(q);
    return url;
}

char *wk_hub_content_url(const wick_hub *h, const hub_job *j)
{
    return j->dl.cdn_url ? wk_strdup(j->dl.cdn_url) : wk_hub_commit_url(h, j);
}

bool wk_hub_get_content(wick_hub *h, hub_job *j, const hub_job *dl, uint64_t to)
{
    if (h->n_transfers >= h->max_transfers) { return false; }
    char *url = wk_hub_content_url(h, dl);
    wick_status rc = url ? wk_hub_start_range(h, j, url, false, j->f.offset, to,
                                              dl->dl.cdn_url == NULL)
                         : wk_fail_nomem("url");
    wk_free(url);
    if (rc < 0) {
        wk_hub_job_finish(h, j, rc);
        return false;
    }
    j->state = ST_GET;
    return true;
}

void wk_hub_dl_want_get(wick_hub *h, hub_job *j)
{
    if (atomic_load(&j->f.sink.err) != 0) {
        wk_hub_job_fail(h, j, atomic_load(&j->f.sink.err), "%s", j->f.sink.msg);
        return;
    }
    if (j->f.offset == j->dl.size) {
        wk_hub_writer_flush(h, &j->f.sink);
        if (atomic_load(&j->f.sink.pending) > 0) { return; } // the writer wakes us when done
        dl_verify(h, j);
        return;
    }
    if (wk_hub_get_content(h, j, j, 0)) { atomic_store(&j->p_active, true); }
}

void wk_hub_dl_get_done(wick_hub *h, hub_job *j, CURLcode cc)
{
    const hub_headers *hh = &j->x.hh;
    if (atomic_load(&j->f.sink.err) != 0) {
        wk_hub_job_fail(h, j, atomic_load(&j->f.sink.err), "%s", j->f.sink.msg);
        return;
    }
    wk_hub_note_progress(j);
    if (j->x.write_rc == HUB_RESTART) {
        wick_status rc = wk_hub_truncate_tmp(j);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        wk_fail(WICK_E_HTTP, "%s: Content-Range does not start at the requested offset", j->x.url);
        wk_hub_retry_or_fail(h, j, ST_WANT_GET, WICK_E_HTTP);
        return;
    }
    if (j->x.write_rc < 0) {
        if (j->x.write_rc == WICK_E_CHECKSUM) {
            wk_hub_truncate_tmp(j);
            unlink(j->dl.tmp.path);
        }
        wk_hub_job_fail(h, j, j->x.write_rc, "%s", j->x.write_msg);
        return;
    }
    long st = hh->status;
    if (cc == CURLE_WRITE_ERROR && !(st >= 200 && st < 300)) { cc = CURLE_OK; } // error body cut
    if (cc != CURLE_OK) {
        wk_hub_net_failure(h, j, cc, ST_WANT_GET);
        return;
    }
    if (st == 200 || st == 206) {
        if (j->f.offset == j->dl.size) {
            dl_verify(h, j);
        } else {
            wk_fail(WICK_E_NETWORK, "%s: the body ended at %" PRIu64 " of %" PRIu64 " bytes",
                    j->x.url, j->f.offset, j->dl.size);
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
        wk_fail(WICK_E_HTTP, "%s: HTTP 416 for Range bytes=%" PRIu64 "-", j->x.url, j->f.offset);
        wk_hub_retry_or_fail(h, j, ST_WANT_GET, WICK_E_HTTP);
        return;
    }
    if (st >= 300 && st < 400 && hh->location[0]) {
        char *u = wk_hub_resolve_url(j->x.url, hh->location);
        if (!u || ++j->n_redirects > HUB_MAX_REDIRECTS) {
            wk_free(u);
            wk_hub_job_fail(h, j, WICK_E_HTTP, "%s: bad or too many redirects", j->x.url);
            return;
        }
        wk_free(j->dl.cdn_url);
        j->dl.cdn_url = u;
        j->state = ST_WANT_GET;
        return;
    }
    if (st == 403 && j->dl.cdn_url) {
        // A signed CDN URL that expired: ask the Hub for a fresh one (by commit), then resume.
        wk_fail(WICK_E_HTTP, "%s: HTTP 403 (expired CDN URL?)", j->x.url);
        wk_free(j->dl.cdn_url);
        j->dl.cdn_url = NULL;
        wk_free(j->meta_url);
        j->meta_url = wk_hub_commit_url(h, j);
        if (!j->meta_url) {
            wk_fail_nomem("url");
            wk_hub_job_finish(h, j, WICK_E_NOMEM);
            return;
        }
        j->x.tries++;
        if (j->x.tries > h->max_retries) {
            wk_hub_job_finish(h, j, WICK_E_HTTP);
            return;
        }
        j->state = ST_WANT_META;
        return;
    }
    wk_hub_http_failure(h, j, ST_WANT_GET);
}

