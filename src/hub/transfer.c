// transfer.c — one HTTP request of a job on the hub's curl multi handle: the easy handle's setup
// (headers, where the token may go, timeouts), the response headers we keep (capped), the body
// callback, and the retry policy (408/429/5xx and network failures back off, Retry-After
// honoured; other errors map to wick codes as huggingface_hub's hf_raise_for_status does).
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub/hub_internal.h"

// --- the request ---------------------------------------------------------------------------------
void wk_hub_xfer_detach(wick_hub *h, hub_job *j)
{
    if (j->x.easy) {
        curl_multi_remove_handle(h->multi, j->x.easy);
        curl_easy_cleanup(j->x.easy);
        j->x.easy = NULL;
        h->n_transfers--;
    }
    curl_slist_free_all(j->x.hdrs);
    j->x.hdrs = NULL;
}

void wk_hub_job_abort_xfer(wick_hub *h, hub_job *j)
{
    wk_hub_writer_flush(h, &j->f.sink); // what was received is written (in order) all the same
    wk_hub_xfer_detach(h, j);
}

// --- headers -------------------------------------------------------------------------------------
static void set_field(hub_headers *hh, char *dst, size_t cap, const char *v, size_t n, bool must)
{
    if (n >= cap) {
        if (must) { hh->overflow = true; }
        n = cap - 1;
    }
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20) { return false; }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') { return false; }
        if (!wk_mul_u64(v, 10, &v) || !wk_add_u64(v, (uint64_t)(s[i] - '0'), &v)) { return false; }
    }
    *out = v;
    return true;
}

// Link: <url>; rel="next", <url2>; rel="last"
static void parse_link(hub_headers *hh, const char *v, size_t n)
{
    const char *end = v + n, *p = v;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt) { return; }
        const char *gt = memchr(lt, '>', (size_t)(end - lt));
        if (!gt) { return; }
        const char *comma = gt;
        while (comma < end && *comma != ',') { comma++; }
        // look for rel="next" / rel=next in the parameters
        for (const char *q = gt; q + 8 <= comma; q++) {
            if (strncasecmp(q, "rel=\"next\"", 10) == 0 || strncasecmp(q, "rel=next", 8) == 0) {
                set_field(hh, hh->link_next, sizeof hh->link_next, lt + 1, (size_t)(gt - lt - 1),
                          true);
                return;
            }
        }
        p = comma + 1;
    }
}

// The text headers we keep: where each goes, and whether an over-long value refuses the response
// (the others are cut: they only feed messages and the retry delay).
#define TEXT_HEADER(name, field, must) \
    {name, sizeof(name) - 1, offsetof(hub_headers, field), sizeof(((hub_headers *)0)->field), must}
static const struct text_header {
    const char *name;
    size_t nlen, off, cap;
    bool must;
} text_headers[] = {
    TEXT_HEADER("x-repo-commit", commit, true),
    TEXT_HEADER("etag", etag, true),
    TEXT_HEADER("x-linked-etag", linked_etag, true),
    TEXT_HEADER("location", location, true),
    TEXT_HEADER("x-error-code", error_code, false),
    TEXT_HEADER("x-error-message", error_message, false),
    TEXT_HEADER("retry-after", retry_after, false),
    TEXT_HEADER("content-range", content_range, false),
    TEXT_HEADER("content-encoding", content_encoding, false),
};
#undef TEXT_HEADER

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    hub_job *j = ud;
    size_t len = size * nitems;
    j->x.last_io = wk_now();
    hub_headers *hh = &j->x.hh;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        memset(hh, 0, sizeof *hh);
        const char *sp = memchr(buf, ' ', len);
        uint64_t st = 0;
        if (sp && (size_t)(buf + len - sp) > 3 && parse_u64(sp + 1, 3, &st)) {
            hh->status = (long)st;
        }
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (!colon) { return len; }
    size_t nlen = (size_t)(colon - buf);
    const char *v = colon + 1, *end = buf + len;
    while (v < end && (*v == ' ' || *v == '\t')) { v++; }
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    size_t vlen = (size_t)(end - v);
    for (size_t i = 0; i < sizeof text_headers / sizeof *text_headers; i++) {
        const struct text_header *t = &text_headers[i];
        if (nlen == t->nlen && strncasecmp(buf, t->name, nlen) == 0) {
            set_field(hh, (char *)hh + t->off, t->cap, v, vlen, t->must);
            return len;
        }
    }
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(buf, name, nlen) == 0)
    if (IS("x-linked-size")) {
        hh->has_linked_size = parse_u64(v, vlen, &hh->linked_size);
        if (!hh->has_linked_size) { hh->overflow = true; }
    } else if (IS("content-length")) {
        hh->has_length = parse_u64(v, vlen, &hh->content_length);
    } else if (IS("link")) {
        parse_link(hh, v, vlen);
    }
#undef IS
    return len;
}

// --- the body ------------------------------------------------------------------------------------
static size_t write_fail(hub_job *j, wick_status rc, const char *fmt, ...) WK_PRINTF(3, 4);

static size_t write_fail(hub_job *j, wick_status rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->x.write_msg, sizeof j->x.write_msg, fmt, ap);
    va_end(ap);
    j->x.write_rc = rc;
    return 0; // curl stops the transfer with CURLE_WRITE_ERROR
}

// "bytes A-B/T" -> A
static bool range_start(const char *cr, uint64_t *a)
{
    if (strncasecmp(cr, "bytes ", 6) != 0) { return false; }
    const char *p = cr + 6, *d = strchr(p, '-');
    return d && parse_u64(p, (size_t)(d - p), a);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    hub_job *j = ud;
    size_t n = size * nmemb;
    long st = j->x.hh.status;
    j->x.last_io = wk_now();
    if (!j->x.body_checked) {
        j->x.body_checked = true;
        j->x.body_to_file = false;
        if (j->kind != JOB_LIST && j->state == ST_GET && (st == 200 || st == 206)) {
            if (j->x.hh.content_encoding[0] &&
                strcasecmp(j->x.hh.content_encoding, "identity") != 0) {
                return write_fail(j, WICK_E_FORMAT, "%s: the server compressed the body (%s)",
                                  j->x.url, j->x.hh.content_encoding);
            }
            if (st == 206) {
                uint64_t a;
                if (!range_start(j->x.hh.content_range, &a) || a != j->f.offset) {
                    return write_fail(j, HUB_RESTART, "bad Content-Range");
                }
            } else if (j->kind == JOB_PART) {
                j->part.norange = true;
                return write_fail(j, WICK_E_HTTP, "%s: the server ignored Range", j->x.url);
            } else if (j->f.offset > 0) {
                // The server ignored Range and sends the whole file: start over (in order with
                // the bytes still queued for the writer).
                wick_status rc = wk_hub_writer_push(j->hub, &j->f.sink, WR_TRUNC, 0);
                if (rc < 0) { return write_fail(j, rc, "%s", wick_errmsg()); }
                j->f.offset = 0;
                atomic_store(&j->p_done, 0);
            }
            j->x.body_to_file = true;
        }
    }
    if (j->x.body_to_file && atomic_load(&j->f.sink.err) != 0) {
        return write_fail(j, atomic_load(&j->f.sink.err), "%s", j->f.sink.msg);
    }
    if (j->x.body_to_file && (wk_now() > j->hub->slice_end || wk_hub_writer_full(j->hub))) {
        // This perform has worked long enough: curl keeps the bytes and hands them again after
        // hub.c unpauses the transfer at the next perform.
        j->x.paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (!j->x.body_to_file) {
        if (j->kind == JOB_LIST && st >= 200 && st < 300) {
            if (wk_buf_append(&j->ls.body, p, n) < 0) {
                return write_fail(j, WICK_E_FORMAT, "%s: answer larger than %u bytes", j->x.url,
                                  HUB_MAX_JSON);
            }
            return n;
        }
        j->x.discard += n;
        return j->x.discard > HUB_MAX_ERRBODY ? 0 : n; // an error page: we only need its status
    }
    uint64_t end;
    if (!wk_add_u64(j->f.offset, n, &end) || end > j->f.end) {
        return write_fail(j, WICK_E_CHECKSUM, "%s: the server sent more than the %" PRIu64
                          " bytes the Hub announced", j->x.url, j->f.sink.file->size);
    }
    wick_status rc = wk_hub_writer_append(j->hub, &j->f.sink, j->f.offset, p, n);
    if (rc < 0) { return write_fail(j, rc, "%s", wick_errmsg()); }
    j->f.offset = end;
    j->x.got_data = true;
    atomic_store(&j->p_done, end);
    if (j->kind == JOB_PART && j->part.parent) { atomic_fetch_add(&j->part.parent->p_done, n); }
    j->hub->agg_bytes += n;
    return n;
}

// --- starting a request --------------------------------------------------------------------------
wick_status wk_hub_start_req(wick_hub *h, hub_job *j, const char *url, bool head, uint64_t from,
                             bool may_auth)
{
    return wk_hub_start_range(h, j, url, head, from, 0, may_auth);
}

wick_status wk_hub_start_range(wick_hub *h, hub_job *j, const char *url, bool head, uint64_t from,
                               uint64_t to, bool may_auth)
{
    wk_free(j->x.url);
    j->x.url = wk_strdup(url);
    if (!j->x.url) { return wk_fail_nomem("url"); }
    CURL *e = curl_easy_init();
    if (!e) { return wk_fail_nomem("curl handle"); }
    memset(&j->x.hh, 0, sizeof j->x.hh);
    j->x.body_checked = j->x.body_to_file = j->x.got_data = false;
    j->x.write_rc = 0;
    j->x.discard = 0;
    j->x.errbuf[0] = '\0';
    if (j->kind == JOB_LIST) { wk_buf_clear(&j->ls.body); }
    struct curl_slist *hd = NULL, *t;
    char line[4200];
    // The token goes to the Hub's own origin only, and never to a signed CDN URL (which needs
    // none), even when the CDN shares the Hub's host.
    char *origin = wk_hub_origin(url);
    j->x.auth = may_auth && h->token && origin && strcmp(origin, h->endpoint_origin) == 0;
    wk_free(origin);
    hd = curl_slist_append(hd, "Accept-Encoding: identity");
    if (j->x.auth && hd) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", h->token);
        t = curl_slist_append(hd, line);
        memset(line, 0, sizeof line);
        hd = t;
    }
    if ((from > 0 || to > 0) && hd) {
        if (to > 0) { // a part: [from, to), HTTP's end is inclusive
            snprintf(line, sizeof line, "Range: bytes=%" PRIu64 "-%" PRIu64, from, to - 1);
        } else {
            snprintf(line, sizeof line, "Range: bytes=%" PRIu64 "-", from);
        }
        hd = curl_slist_append(hd, line);
    }
    if (!hd) {
        curl_easy_cleanup(e);
        return wk_fail_nomem("headers");
    }
    j->x.hdrs = hd;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)j);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(e, CURLOPT_NOBODY, head ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->x.errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_timeout_ms);
    long stall = h->stall_timeout_ms < 1000 ? 1 : h->stall_timeout_ms / 1000;
    stall = 2 * stall + 10; // a backstop: our own check (wk_hub_job_check_stall) is the precise one
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall);
    if (head) {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->connect_timeout_ms + h->stall_timeout_ms);
    }
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return wk_fail(WICK_E_INTERNAL, "%s: cannot add the transfer", url);
    }
    j->x.easy = e;
    j->x.last_io = wk_now();
    h->n_transfers++;
    return WICK_OK;
}

char *wk_hub_resolve_url(const char *base, const char *loc)
{
    CURLU *u = curl_url();
    char *out = NULL, *r = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK) {
        r = wk_strdup(out);
    }
    curl_free(out);
    curl_url_cleanup(u);
    return r;
}

bool wk_hub_is_relative(const char *loc)
{
    return strstr(loc, "://") == NULL;
}

// --- retries and errors --------------------------------------------------------------------------
void wk_hub_note_progress(hub_job *j)
{
    // Progress resets the retry budget (as huggingface_hub), but only real progress: the same
    // bytes again do not count.
    if (j->x.got_data && j->f.offset > j->f.best_offset) {
        j->f.best_offset = j->f.offset;
        j->x.tries = 0;
    }
}

void wk_hub_wait_then(wick_hub *h, hub_job *j, double delay_s, job_state then)
{
    (void)h;
    atomic_store(&j->p_active, false);
    j->state = ST_WAIT;
    j->after_wait = then;
    j->wake_at = wk_now() + delay_s;
}

// Retry `then` after a backoff, or fail with rc and the message already in wick_errmsg().
void wk_hub_retry_or_fail(wick_hub *h, hub_job *j, job_state then, wick_status rc)
{
    j->x.tries++;
    if (j->x.tries > h->max_retries) {
        char m[HUB_MSG];
        snprintf(m, sizeof m, "%s", wick_errmsg());
        wk_fail(rc, "%s (gave up after %d tries)", m, j->x.tries);
        wk_hub_job_finish(h, j, rc);
        return;
    }
    double ms = h->backoff_ms;
    for (int i = 1; i < j->x.tries && ms < h->backoff_max_ms; i++) { ms *= 2; }
    if (ms > h->backoff_max_ms) { ms = h->backoff_max_ms; }
    uint64_t ra;
    const char *r = j->x.hh.retry_after;
    if (r[0] && parse_u64(r, strlen(r), &ra)) {
        double ras = ra > 60 ? 60000.0 : (double)ra * 1000.0;
        if (ras > ms) { ms = ras; }
    }
    wk_debug("%s: retry %d in %.0f ms: %s", j->x.url ? j->x.url : j->repo, j->x.tries, ms,
             wick_errmsg());
    wk_hub_wait_then(h, j, ms / 1000.0, then);
}

bool wk_hub_retryable(long st)
{
    return st == 408 || st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

void wk_hub_net_failure(wick_hub *h, hub_job *j, CURLcode cc, job_state then)
{
    wk_fail(WICK_E_NETWORK, "%s: %s", j->x.url,
            j->x.errbuf[0] ? j->x.errbuf : curl_easy_strerror(cc));
    wk_hub_retry_or_fail(h, j, then, WICK_E_NETWORK);
}

// Maps an HTTP error answer (X-Error-Code first, as huggingface_hub's hf_raise_for_status).
void wk_hub_http_failure(wick_hub *h, hub_job *j, job_state then)
{
    const hub_headers *hh = &j->x.hh;
    long st = hh->status;
    const char *url = j->x.url, *ec = hh->error_code, *em = hh->error_message;
    bool tok = h->token != NULL;
    if (wk_hub_retryable(st)) {
        wk_fail(WICK_E_HTTP, "%s: HTTP %ld%s%s%s", url, st, em[0] ? ": " : "", em,
                st == 429
                    ? (tok ? " (rate limited by the Hub)"
                           : " (rate limited by the Hub; a token (HF_TOKEN) raises the limit)")
                    : "");
        wk_hub_retry_or_fail(h, j, then, WICK_E_HTTP);
        return;
    }
    if (strstr(em, "Access to this resource is disabled")) {
        wk_hub_job_fail(h, j, WICK_E_HTTP, "%s: repository '%s' is disabled on the Hub", url,
                        j->repo);
        return;
    }
    if (strcmp(ec, "GatedRepo") == 0) {
        wk_hub_job_fail(h, j, WICK_E_GATED,
                 "%s: repository '%s' is gated: accept its conditions at %s/%s%s", url, j->repo,
                 h->endpoint, j->repo,
                 tok ? " with the account of your token" : ", then set HF_TOKEN to a token");
        return;
    }
    if (strcmp(ec, "RevisionNotFound") == 0) {
        wk_hub_job_fail(h, j, WICK_E_REVISION_NOT_FOUND, "%s: revision '%s' not found in '%s'", url,
                 j->rev, j->repo);
        return;
    }
    if (strcmp(ec, "EntryNotFound") == 0 || (st == 404 && j->kind == JOB_DOWNLOAD && !ec[0])) {
        if (j->kind == JOB_DOWNLOAD && wk_hub_is_hex(hh->commit, 40)) {
            wk_hub_touch_no_exist(j->repo_dir, hh->commit, j->file);
            wk_hub_write_ref(j->repo_dir, j->rev, hh->commit);
        }
        wk_hub_job_fail(h, j, WICK_E_ENTRY_NOT_FOUND, "%s: '%s' not found in '%s' at revision '%s'",
                        url, j->file ? j->file : "", j->repo, j->rev);
        return;
    }
    if (st == 401 && strcmp(em, "Invalid credentials in Authorization header") == 0) {
        wk_hub_job_fail(h, j, WICK_E_UNAUTHORIZED,
                 "%s: the Hub refused the token (from HF_TOKEN, HF_TOKEN_PATH or $HF_HOME/token): "
                 "invalid credentials", url);
        return;
    }
    if (strcmp(ec, "RepoNotFound") == 0 || st == 401) {
        wk_hub_job_fail(h, j, WICK_E_REPO_NOT_FOUND,
                 "%s: repository '%s' not found, or it is private: check the name%s", url, j->repo,
                 tok ? " and that your token can read it" : ", or set HF_TOKEN");
        return;
    }
    if (st == 403) {
        wk_hub_job_fail(h, j, WICK_E_UNAUTHORIZED, "%s: HTTP 403 forbidden%s%s%s", url,
                        em[0] ? ": " : "", em,
                        tok ? " (check the token's permissions)" : " (set HF_TOKEN?)");
        return;
    }
    wk_hub_job_fail(h, j, WICK_E_HTTP, "%s: unexpected HTTP %ld%s%s", url, st, em[0] ? ": " : "",
                    em);
}

void wk_hub_job_check_stall(wick_hub *h, hub_job *j, double now, double *deadline)
{
    if (!j->x.easy || h->stall_timeout_ms <= 0) { return; }
    double limit = j->x.last_io + h->stall_timeout_ms / 1000.0;
    if (now < limit) {
        if (*deadline < 0 || limit < *deadline) { *deadline = limit; }
        return;
    }
    job_state again = j->state == ST_GET ? ST_WANT_GET : ST_WANT_META;
    wk_hub_job_abort_xfer(h, j);
    wk_hub_note_progress(j);
    wk_fail(WICK_E_NETWORK, "%s: no data for %d ms", j->x.url, h->stall_timeout_ms);
    wk_hub_retry_or_fail(h, j, again, WICK_E_NETWORK);
}
