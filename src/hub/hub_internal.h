// hub_internal.h — what the files of src/hub share: the hub and its jobs (one per download,
// listing or part of a split download, each kind with its own payload), the event loop (hub.c),
// one HTTP request with its retries (transfer.c), what every job shares (job.c), the steps of a
// download (download.c), a listing (list.c) and a split download (parts.c), the writer thread
// with the temp files' hashes (writer.c), the cache on disk (cache.c) and helpers (util.c).
#ifndef WK_HUB_INTERNAL_H
#define WK_HUB_INTERNAL_H

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/base.h"
#include "base/loop.h"

#define HUB_MAX_JSON (64u << 20)  // one API answer (a listing page)
#define HUB_MAX_ERRBODY (64u << 10) // an error body we read (and ignore) before giving up on it
#define HUB_MAX_REDIRECTS 10
#define HUB_MAX_PAGES 100000
#define HUB_MSG 1024
#define HUB_SLICE 0.008 // seconds of body work per perform

// Headers of the latest response of a request (reset at each status line). Every field is capped;
// an over-long value sets `overflow` and the response is refused.
typedef struct hub_headers {
    long status;
    char commit[48];
    char etag[160];
    char linked_etag[160];
    bool has_linked_size, has_length;
    uint64_t linked_size, content_length;
    char location[8192];
    char error_code[64];
    char error_message[256];
    char retry_after[64];
    char content_range[128];
    char content_encoding[64];
    char link_next[8192];
    bool overflow;
} hub_headers;

// JOB_PART: one byte range of a big download fetched beside the others (parts.c); no callback.
typedef enum job_kind { JOB_DOWNLOAD, JOB_LIST, JOB_PART } job_kind;

typedef enum job_state {
    ST_NEW,        // not started yet
    ST_WANT_META,  // wants a slot for its metadata (or API) request
    ST_META,       // HEAD /resolve running (download) or /api request running (listing)
    ST_WANT_GET,   // wants a slot for the body transfer
    ST_WAIT,       // waiting for wake_at: a retry, a lock poll, a free slot
    ST_LOCK,       // wants the blob lock
    ST_FLUSH,      // the body transfer ended; waiting for the writer to finish its bytes
    ST_PARTS,      // a split download waits for its parts
    ST_GET,        // body transfer running
    ST_DONE,       // finished; callback pending
} job_state;

typedef struct hub_job hub_job;

// The request a job runs, one at a time (transfer.c).
typedef struct hub_xfer {
    CURL *easy;
    struct curl_slist *hdrs;
    char *url;
    bool auth;            // the token went with this request
    hub_headers hh;
    char errbuf[CURL_ERROR_SIZE];
    double last_io;       // when it last received something
    bool paused;          // its body callback paused it: this perform's slice is used
    bool body_checked;    // the status/range of this response was looked at
    bool body_to_file;    // this response's body goes to the file
    bool got_data;        // this attempt received body bytes for the file
    wick_status write_rc; // a failure inside the body callback (HUB_RESTART: start over)
    char write_msg[HUB_MSG];
    size_t discard;       // bytes of a non-file body swallowed
    int tries;            // failed attempts since the job last got further than ever before
} hub_xfer;

// A temp file and the running hash of its bytes (writer.c).
typedef struct hub_file {
    int fd;
    char *path;
    EVP_MD_CTX *md;
    int hash_kind;        // 0 size only, 1 git blob sha1, 2 sha256
    uint64_t size;        // the size the Hub announced (a git blob id hashes it first)
} hub_file;

// A job's writes in the writer's queue, in order, into `file` (hashed when `hash`; a part writes
// into its parent's file unhashed: the parent hashes the whole file at the end).
typedef struct hub_sink {
    hub_file *file;
    bool hash;
    _Atomic int pending;  // operations queued
    _Atomic int err;      // a failure of the writer (wick_status), message in msg
    char msg[HUB_MSG];
    struct wr_op *cur;    // the data buffer being filled (loop side), not yet queued
} hub_sink;

// Downloads and parts: where the body bytes go.
typedef struct hub_fetch {
    uint64_t offset;      // bytes in the file so far (a part: where it is in its range)
    uint64_t end;         // where the range ends: the file size, or a part's end
    uint64_t best_offset; // the furthest it got
    CURLcode done_cc;     // ST_FLUSH: how the transfer ended
    hub_sink sink;
} hub_fetch;

// JOB_DOWNLOAD's payload.
typedef struct hub_dl {
    wick_dl_cb cb;
    char etag[129];
    uint64_t size;
    bool have_meta, lfs, cached;
    int hash_kind;        // as hub_file's, known before the file is open
    char *cdn_url;        // absolute Location of the metadata redirect (signed CDN URL), or NULL
    int n_mismatch;       // downloads discarded for a wrong hash
    int lock_fd;
    double lock_since;    // when it started waiting for the lock (0: not waiting)
    bool lock_warned;
    char *lock_path, *blob_path, *pointer_path;
    hub_file tmp;         // blobs/ETAG.incomplete
    // split downloads (parts.c): the parent owns the temp file and the hash
    hub_job **parts;
    int n_parts, n_parts_left;
    bool no_split;        // fetch as one stream (after a failed split, a bad hash)
    bool split_failed;    // a part gave up; fall back to one stream
    double rate, rate_t;  // progress rate (loop thread; read under hub->mu)
    uint64_t rate_bytes;
} hub_dl;

// JOB_LIST's payload.
typedef struct hub_ls {
    wick_list_cb cb;
    char *next_url;       // the tree page to fetch once the commit is known
    wick_hub_entry *entries;
    size_t n_entries, cap_entries;
    wk_buf body;          // the JSON answer being received
} hub_ls;

// JOB_PART's payload: one byte range of its parent's file (fetch.offset .. fetch.end).
typedef struct hub_part {
    hub_job *parent;
    bool norange;         // the server ignored Range
} hub_part;

struct hub_job {
    hub_job *next;
    wick_hub *hub;
    uint64_t id;
    job_kind kind;
    job_state state, after_wait; // after_wait: the state ST_WAIT leads to
    double wake_at;
    char *repo, *rev, *file;
    char *repo_dir; // <cache>/models--org--name
    void *ud;
    atomic_bool cancel;

    wick_status rc;
    char msg[HUB_MSG];

    char commit[41];
    char *meta_url;       // download: the /resolve URL (moves with relative redirects); listing:
                          // the revision API URL
    int n_redirects;
    hub_xfer x;
    hub_fetch f;          // downloads and parts

    // progress (read by any thread under hub->mu)
    _Atomic uint64_t p_done, p_total;
    atomic_bool p_active; // a body transfer runs (or its bytes are being written)
    atomic_bool p_finished;

    union {
        hub_dl dl;
        hub_ls ls;
        hub_part part;
    };
};

struct wick_hub {
    char *endpoint, *cache_dir, *token, *user_agent;
    char *endpoint_origin; // "scheme://host:port" of the endpoint, to decide where the token goes
    bool offline, threaded;
    int parts;
    uint64_t part_min_bytes;
    int max_transfers, connect_timeout_ms, stall_timeout_ms, max_retries, backoff_ms,
        backoff_max_ms;

    wk_loop loop;          // curl's sockets, the deadline timer, wakeups
    CURLM *multi;
    double curl_deadline;  // < 0: none
    double next_deadline;  // < 0: none (computed at the end of perform)
    int n_transfers;

    pthread_mutex_t mu;    // incoming, cancels, the job list, counters; never held in callbacks
    pthread_cond_t cv;
    hub_job *incoming;     // started, not yet seen by the loop
    hub_job *jobs;         // seen by the loop
    uint64_t next_id;
    uint64_t *cancels;
    size_t n_cancels, cap_cancels;
    bool cancel_all;
    int n_done, n_failed;
    uint64_t gen;          // bumps after each batch of callbacks (waiters recheck)

    pthread_t thread;
    bool thread_started;

    // The writer thread: pwrite + hash of received bytes, so that a slow disk never stalls the
    // loop. Operations run in order (FIFO), one queue for every job.
    pthread_t writer;
    bool writer_started, wstop;
    atomic_bool bp_paused;
    pthread_mutex_t wmu;
    pthread_cond_t wcv, wdone;
    struct wr_op *wq_head, *wq_tail;
    _Atomic size_t wq_bytes; // changed under wmu, read without it
    struct wr_op *pool;      // recycled data buffers (under wmu): no malloc per chunk
    int n_pool;
    atomic_bool stop;
    bool in_perform;
    double slice_end;      // a perform stops taking body bytes after this (the caller's loop
                           // gets control back; the rest waits, paused, for the next perform)
    double agg_rate, agg_rate_t;
    double worst_perform, worst_perform_cpu; // seconds: wall time and this thread's CPU time
    uint64_t agg_bytes, agg_rate_bytes;
};

// --- util.c --------------------------------------------------------------------------------------
// Percent-encodes s (UTF-8 bytes) keeping unreserved characters, and '/' when keep_slash.
char *wk_hub_quote(const char *s, bool keep_slash);
bool wk_hub_valid_repo(const char *repo);
bool wk_hub_valid_path(const char *path); // relative, inside the repo, no "..", "\\", "//"
bool wk_hub_is_hex(const char *s, size_t n);        // exactly n lowercase hex digits
bool wk_hub_is_hex_prefix(const char *s, size_t n); // the first n characters are hex
void wk_hub_hex(const unsigned char *d, size_t n, char *out);
char *wk_hub_env_token(void);                 // NULL: none
char *wk_hub_default_cache(void);             // NULL: out of memory
char *wk_hub_home(void);
char *wk_hub_origin(const char *url);         // "scheme://host:port" or NULL
bool wk_hub_env_true(const char *name);

// --- cache.c -------------------------------------------------------------------------------------
char *wk_hub_repo_folder(const char *cache_dir, const char *repo); // <cache>/models--org--name
wick_status wk_hub_mkdirs(const char *path, bool last_too);
wick_status wk_hub_write_ref(const char *repo_dir, const char *rev, const char *commit);
bool wk_hub_read_ref(const char *repo_dir, const char *rev, char commit[41]);
// Fills etag/size/lfs of an existing snapshot file; false when absent.
bool wk_hub_snapshot_info(const char *pointer, char etag[129], uint64_t *size);
wick_status wk_hub_link(const char *pointer, const char *file, const char *etag);
void wk_hub_touch_no_exist(const char *repo_dir, const char *commit, const char *file);
bool wk_hub_no_exist(const char *repo_dir, const char *commit, const char *file);
void wk_hub_cachedir_tag(const char *cache_dir);
// flock-based lock as Python's filelock: 1 taken (*fd set), 0 busy, <0 error.
int wk_hub_lock_try(const char *path, int *fd);
void wk_hub_unlock(const char *path, int fd);

// --- writer.c ------------------------------------------------------------------------------------
#define HUB_WQ_MAX (64u << 20)  // queued bytes before transfers pause (backpressure)
#define HUB_WBUF (1u << 20)     // received bytes are gathered in buffers this big
#define HUB_POOL_MAX 80         // buffers kept for reuse
typedef enum wr_kind { WR_DATA, WR_TRUNC, WR_HASH_PREFIX } wr_kind;
typedef struct wr_op {
    struct wr_op *next;
    hub_sink *sink;
    wr_kind kind;
    uint64_t off; // WR_DATA: file offset; WR_HASH_PREFIX: bytes to hash from 0
    size_t n;
    size_t cap;   // data capacity (HUB_WBUF for pooled data buffers, else 0)
    char data[];
} wr_op;
wick_status wk_hub_writer_start(wick_hub *h);
void wk_hub_writer_stop(wick_hub *h);
// Queues a WR_TRUNC or WR_HASH_PREFIX for s (after its gathered data). Errors: NOMEM.
wick_status wk_hub_writer_push(wick_hub *h, hub_sink *s, wr_kind kind, uint64_t off);
// Adds n received bytes for file offset off (copied into s's current buffer, queued when full).
wick_status wk_hub_writer_append(wick_hub *h, hub_sink *s, uint64_t off, const void *data,
                                 size_t n);
void wk_hub_writer_flush(wick_hub *h, hub_sink *s); // queues s's partly filled buffer
bool wk_hub_writer_full(wick_hub *h);
void wk_hub_writer_drain(wick_hub *h, hub_sink *s); // blocks until s has nothing queued
// Loop side: drains s, empties its file and starts its hash over. Errors: IO, NOMEM.
wick_status wk_hub_writer_truncate(wick_hub *h, hub_sink *s);
// (Re)starts f's hash for f->hash_kind and f->size. Errors: NOMEM, INTERNAL.
wick_status wk_hub_file_hash_start(hub_file *f);
// The hex digest of what was hashed ("" when hash_kind is 0); the hash must be started again.
void wk_hub_file_digest(hub_file *f, char hex[2 * EVP_MAX_MD_SIZE + 1]);
void wk_hub_file_free(hub_file *f); // the hash and the path (the fd is the owner's to close)

// --- parts.c -------------------------------------------------------------------------------------
// Splits a fresh download into h->parts ranges when it is big enough; true when it did (the job
// is then in ST_PARTS).
bool wk_hub_split(wick_hub *h, hub_job *j);
void wk_hub_part_want_get(wick_hub *h, hub_job *part);
void wk_hub_part_get_done(wick_hub *h, hub_job *part, CURLcode cc);
void wk_hub_part_finished(wick_hub *h, hub_job *part); // from wk_hub_job_finish

// --- transfer.c ----------------------------------------------------------------------------------
#define HUB_RESTART 1 // write_rc: start the body over from byte 0
wick_status wk_hub_start_req(wick_hub *h, hub_job *j, const char *url, bool head, uint64_t from,
                             bool may_auth);
// A request with Range bytes=from- (to 0) or bytes=from-(to-1).
wick_status wk_hub_start_range(wick_hub *h, hub_job *j, const char *url, bool head, uint64_t from,
                               uint64_t to, bool may_auth);
void wk_hub_xfer_detach(wick_hub *h, hub_job *j);    // drops the request's curl handle, if any
void wk_hub_job_abort_xfer(wick_hub *h, hub_job *j); // queues what was received, then detaches
// A request that received nothing for stall_timeout_ms is dropped and retried; *deadline gets
// the time this must be checked again.
void wk_hub_job_check_stall(wick_hub *h, hub_job *j, double now, double *deadline);
char *wk_hub_resolve_url(const char *base, const char *loc); // RFC 3986; NULL: bad or no memory
bool wk_hub_is_relative(const char *loc);
bool wk_hub_retryable(long status); // 408, 429, 500, 502, 503, 504
void wk_hub_wait_then(wick_hub *h, hub_job *j, double delay_s, job_state then);
void wk_hub_note_progress(hub_job *j); // a body that got further than ever resets the tries
// Retry `then` after a backoff, or fail with rc and the message already in wick_errmsg().
void wk_hub_retry_or_fail(wick_hub *h, hub_job *j, job_state then, wick_status rc);
void wk_hub_net_failure(wick_hub *h, hub_job *j, CURLcode cc, job_state then); // retried
// Maps an HTTP error answer to a wick code (retried when wk_hub_retryable).
void wk_hub_http_failure(wick_hub *h, hub_job *j, job_state then);

// --- job.c ---------------------------------------------------------------------------------------
void wk_hub_job_step(wick_hub *h, hub_job *j, double now);     // advance a job not in a transfer
void wk_hub_job_xfer_done(wick_hub *h, hub_job *j, CURLcode cc); // its transfer finished
void wk_hub_job_finish(wick_hub *h, hub_job *j, wick_status rc);  // -> ST_DONE (msg from errmsg)
void wk_hub_job_free(hub_job *j);
void wk_hub_job_fail(wick_hub *h, hub_job *j, wick_status rc, const char *fmt, ...) WK_PRINTF(4, 5);
void wk_hub_job_report(hub_job *j);  // runs the callback

// --- download.c (JOB_DOWNLOAD; the steps are called by job.c's dispatch) -------------------------
void wk_hub_dl_begin(wick_hub *h, hub_job *j);                 // ST_NEW
void wk_hub_dl_meta_done(wick_hub *h, hub_job *j, CURLcode cc); // the HEAD /resolve ended
void wk_hub_dl_lock(wick_hub *h, hub_job *j);                  // ST_LOCK
void wk_hub_dl_want_get(wick_hub *h, hub_job *j);              // ST_WANT_GET
void wk_hub_dl_get_done(wick_hub *h, hub_job *j, CURLcode cc);  // the body is in the file
// The URL a download's content comes from (malloc'd; NULL when out of memory): the CDN URL the
// Hub redirected to when there is one, else the resolve URL by commit, never by branch, so a
// branch that moves meanwhile does no harm.
char *wk_hub_content_url(const wick_hub *h, const hub_job *j);
// Starts j's GET of download dl's content from j->f.offset (to `to`; 0: the end) when a transfer
// slot is free: true when it did (ST_GET); j ends when it cannot.
bool wk_hub_get_content(wick_hub *h, hub_job *j, const hub_job *dl, uint64_t to);
// /resolve/COMMIT/FILE on the endpoint (malloc'd; NULL when out of memory).
char *wk_hub_commit_url(const wick_hub *h, const hub_job *j);
wick_status wk_hub_truncate_tmp(hub_job *j);
void wk_hub_dl_close(hub_job *j);  // closes the temp file and the lock (writes drained)
void wk_hub_dl_free(hub_job *j);
void wk_hub_dl_report(hub_job *j);

// --- list.c (JOB_LIST) ---------------------------------------------------------------------------
void wk_hub_ls_begin(wick_hub *h, hub_job *j);                 // ST_NEW
void wk_hub_ls_done(wick_hub *h, hub_job *j, CURLcode cc);      // an API request ended
void wk_hub_ls_free(hub_job *j);
void wk_hub_ls_report(hub_job *j);

#endif
