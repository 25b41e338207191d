// test_hub.c — the Hub client against the fake Hub (wick-minihub on 127.0.0.1): the cache layout,
// both loop modes, every injected fault, errors, locks between processes, a full disk, offline.
// Each scenario starts its own minihub on an ephemeral port and stops it.
// Paths here are short; the buffers are generous. Truncation warnings would be noise.
#if defined(__GNUC__) && !defined(__clang__) // GCC only: clang has no such warning
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "hub/hub_internal.h"
#include "minihub.h"

// --- fixtures ------------------------------------------------------------------------------------
static void write_file(const char *path, size_t n, uint64_t seed)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd) != 0) { fprintf(stderr, "mkdir failed\n"); }
    FILE *f = fopen(path, "wb");
    uint64_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        fputc((int)(s & 0xff), f);
    }
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static void make_root(void)
{
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(mh_scratch, sizeof mh_scratch, "%s/tmp-hub", b ? b : "/tmp");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", mh_scratch, mh_scratch);
    if (system(cmd) != 0) { fprintf(stderr, "cannot make %s\n", mh_scratch); }
    snprintf(mh_root, sizeof mh_root, "%s/mh_root", mh_scratch);
    char p[4200];
#define F(rel, n, seed)                                                                            \
    snprintf(p, sizeof p, "%s/%s", mh_root, rel);                                                  \
    write_file(p, n, seed)
    F("org/model/model-Q4_K_M.gguf", 300000, 1);
    F("org/model/tokenizer.json", 600, 2);
    F("org/model/sub dir/we ird#?%\xc3\xa9.bin", 5000, 3);
    F("org/model/Q4_K_M/m-Q4_K_M-00001-of-00003.gguf", 40000, 4);
    F("org/model/Q4_K_M/m-Q4_K_M-00002-of-00003.gguf", 40000, 5);
    F("org/model/Q4_K_M/m-Q4_K_M-00003-of-00003.gguf", 40000, 6);
    F("org/model.next/tokenizer.json", 700, 7);
    F("org/gated/w.gguf", 4000, 8);
    F("org/private/w.gguf", 4000, 9);
    F("org/throttled/a.gguf", 65536, 20);
    for (int i = 0; i < 8; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "org/eight/f%d.gguf", i);
        F(rel, 200000, 30 + (uint64_t)i);
    }
#undef F
    snprintf(p, sizeof p, "%s/org/model/config.json", mh_root);
    write_text(p, "{\"architectures\":[\"LlamaForCausalLM\"]}\n");
    snprintf(p, sizeof p, "%s/org/model.next/config.json", mh_root);
    write_text(p, "{\"architectures\":[\"LlamaForCausalLM\"],\"moved\":true}\n");
}

// --- running the hub -----------------------------------------------------------------------------
typedef struct result {
    int n;
    wick_status rc;
    char msg[1024], path[4096], commit[41], sha256[65], etag[129];
    uint64_t size;
    bool cached;
} result;

static void on_dl(const wick_hub_file *f, void *ud)
{
    result *r = ud;
    r->n++;
    r->rc = f->status;
    snprintf(r->msg, sizeof r->msg, "%s", f->message);
    snprintf(r->path, sizeof r->path, "%s", f->path);
    snprintf(r->commit, sizeof r->commit, "%s", f->commit);
    snprintf(r->sha256, sizeof r->sha256, "%s", f->sha256 ? f->sha256 : "");
    snprintf(r->etag, sizeof r->etag, "%s", f->etag);
    r->size = f->size;
    r->cached = f->cached;
}

static wick_hub *hub_new(const minihub *m, bool threaded, const char *token)
{
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    o.endpoint = m->url;
    o.cache_dir = m->cache;
    o.token = token ? token : "";
    o.threaded = threaded;
    o.backoff_ms = 50;
    o.backoff_max_ms = 200;
    o.stall_timeout_ms = 2000;
    o.offline = 0;
    wick_hub *h = NULL;
    CHECK_OK(wick_hub_create(&o, &h));
    return h;
}

static wick_status fetch(wick_hub *h, const char *repo, const char *rev, const char *file,
                         result *r)
{
    memset(r, 0, sizeof *r);
    uint64_t id = 0;
    wick_status rc = wick_hub_download(h, repo, rev, file, on_dl, r, &id);
    if (rc < 0) { return rc; }
    CHECK_OK(wick_hub_wait(h, id, 60000));
    CHECK(r->n == 1);
    if (r->rc < 0) { wk_fail(r->rc, "%s", r->msg); }
    return r->rc;
}

static bool same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = test_slurp(a, &na), *y = test_slurp(b, &nb);
    bool ok = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return ok;
}

static bool exists(const char *fmt, const char *a, const char *b)
{
    char p[8192];
    snprintf(p, sizeof p, fmt, a, b);
    struct stat st;
    return lstat(p, &st) == 0;
}

static int count_files(const char *dir, const char *suffix)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*%s' 2>/dev/null | wc -l", dir, suffix);
    FILE *p = popen(cmd, "r");
    int n = 0;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) { n = -1; }
        pclose(p);
    }
    return n;
}

static const char *src(const char *rel)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/%s", mh_root, rel);
    return p;
}

// --- pure helpers --------------------------------------------------------------------------------
static void test_helpers(void)
{
    CHECK(wick_hub_glob_match("*.gguf", "Q4_K_M/x.gguf")); // * crosses '/'
    CHECK(wick_hub_glob_match("*Q4_K_M*.gguf", "m-Q4_K_M-00001-of-00003.gguf"));
    CHECK(!wick_hub_glob_match("*.GGUF", "x.gguf")); // case-sensitive
    CHECK(wick_hub_glob_match("Q4_K_M/", "Q4_K_M/a/b.gguf"));
    CHECK(wick_hub_glob_match("f?.gguf", "f1.gguf"));
    CHECK(wick_hub_glob_match("f[0-3].gguf", "f2.gguf"));
    CHECK(!wick_hub_glob_match("f[!0-3].gguf", "f2.gguf"));
    CHECK(wick_hub_glob_match("[*", "[*")); // unclosed class: literal
    CHECK(wick_hub_glob_match("*Q2_K*", "UD-Q2_K_XL/a.gguf"));
    CHECK(!wick_hub_glob_match("Q2_K/*", "UD-Q2_K_XL/a.gguf"));
    char *q = wk_hub_quote("sub dir/a#b?c%d\xc3\xa9.bin", true);
    CHECK(q && strcmp(q, "sub%20dir/a%23b%3Fc%25d%C3%A9.bin") == 0);
    wk_free(q);
    q = wk_hub_quote("refs/pr/1", false);
    CHECK(q && strcmp(q, "refs%2Fpr%2F1") == 0);
    wk_free(q);
    CHECK(wk_hub_valid_path("a/b.gguf"));
    CHECK(!wk_hub_valid_path("../x"));
    CHECK(!wk_hub_valid_path("a/../x"));
    CHECK(!wk_hub_valid_path("/etc/passwd"));
    CHECK(!wk_hub_valid_path("a\\b"));
    CHECK(!wk_hub_valid_path("a//b"));
    CHECK(!wk_hub_valid_path(""));
    CHECK(wk_hub_valid_repo("unsloth/Phi-4-reasoning-GGUF"));
    CHECK(wk_hub_valid_repo("gpt2"));
    CHECK(!wk_hub_valid_repo("a/b/c"));
    CHECK(!wk_hub_valid_repo("a--b/c"));
    CHECK(!wk_hub_valid_repo("../x"));
    char *r = wk_hub_repo_folder("/c", "unsloth/Phi-4-reasoning-GGUF");
    CHECK(r && strcmp(r, "/c/models--unsloth--Phi-4-reasoning-GGUF") == 0);
    wk_free(r);
}

// --- scenarios -----------------------------------------------------------------------------------
static void test_basic(bool threaded)
{
    minihub m;
    if (!mh_start(&m, "--token hf_test")) { return; }
    wick_hub *h = hub_new(&m, threaded, "hf_test");
    result r;
    CHECK_OK(fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r));
    CHECK(same_bytes(r.path, src("org/model/model-Q4_K_M.gguf")));
    CHECK(r.size == 300000 && strlen(r.sha256) == 64 && strcmp(r.sha256, r.etag) == 0);
    CHECK(strstr(r.path, "/models--org--model/snapshots/") != NULL);
    char target[4096] = "";
    ssize_t n = readlink(r.path, target, sizeof target - 1);
    if (n > 0) { target[n] = '\0'; }
    CHECKF(strncmp(target, "../../blobs/", 12) == 0, "link %s", target);
    // refs/main: the commit, no newline
    char refp[8192];
    snprintf(refp, sizeof refp, "%s/models--org--model/refs/main", m.cache);
    size_t rl = 0;
    char *ref = test_slurp(refp, &rl);
    CHECK(ref && rl == 40 && strncmp(ref, r.commit, 40) == 0);
    free(ref);
    // a plain git file (sha1-verified), and a name that needs quoting, in a folder
    CHECK_OK(fetch(h, "org/model", "main", "config.json", &r));
    CHECK(same_bytes(r.path, src("org/model/config.json")) && r.sha256[0] == '\0');
    CHECK_OK(fetch(h, "org/model", "main", "sub dir/we ird#?%\xc3\xa9.bin", &r));
    CHECK(same_bytes(r.path, src("org/model/sub dir/we ird#?%\xc3\xa9.bin")));
    n = readlink(r.path, target, sizeof target - 1);
    if (n > 0) { target[n] = '\0'; }
    CHECKF(strncmp(target, "../../../blobs/", 15) == 0, "link %s", target);
    // again: from the cache, nothing transferred
    CHECK_OK(fetch(h, "org/model", "main", "model-Q4_K_M.gguf", &r));
    CHECK(r.cached);
    CHECK(mh_log_count(&m, "GET /cdn/") == 2); // the two LFS files, once each
    // the token went to the Hub, never to the CDN
    CHECK(mh_log_count(&m, "/cdn/") >= 1 && mh_log_count(&m, "cdn") == mh_log_count(&m, "auth=no"));
    CHECK(mh_log_count(&m, "HEAD /org/model/resolve/main/model-Q4_K_M.gguf auth=yes") >= 1);
    CHECK(count_files(m.cache, ".incomplete") == 0);
    // keep-alive: the requests above shared connections (curl's pool; bodies end by length)
    int n_req = mh_log_count(&m, " auth="), n_conn = mh_log_count(&m, "CONNECT");
    CHECKF(n_conn >= 1 && n_conn < n_req, "%d connections for %d requests", n_conn, n_req);
    // a start call that fails never calls back
    uint64_t id = 99;
    result bad = {0};
    CHECK_FAIL(wick_hub_download(h, "org/model", NULL, "../etc/passwd", on_dl, &bad, &id),
               WICK_E_INVALID, "passwd");
    CHECK_FAIL(wick_hub_download(h, "a/b/c", NULL, "x", on_dl, &bad, &id), WICK_E_INVALID, "a/b/c");
    CHECK(id == 0);
    wick_hub_wait(h, 0, 2000);
    CHECK(bad.n == 0);
    wick_hub_destroy(h);
    mh_stop(&m);
}

static void on_list(const wick_hub_listing *l, void *ud)
{
    result *r = ud;
    r->n++;
    r->rc = l->status;
    snprintf(r->msg, sizeof r->msg, "%s", l->message);
    snprintf(r->commit, sizeof r->commit, "%s", l->commit);
    r->size = l->n_entries;
    r->path[0] = '\0';
    for (size_t i = 0; i < l->n_entries; i++) {
        size_t k = strlen(r->path);
        snprintf(r->path + k, sizeof r->path - k, "%s%s", l->entries[i].path,
                 l->entries[i].sha256 ? "*|" : "|");
    }
}

static void test_listing(void)
{
    minihub m;
    if (!mh_start(&m, "--page-size 2")) { return; }
    wick_hub *h = hub_new(&m, true, NULL);
    result r = {0};
    uint64_t id;
    CHECK_OK(wick_hub_list(h, "org/model", "main", on_list, &r, &id));
    CHECK_OK(wick_hub_wait(h, id, 30000));
    CHECK(r.n == 1 && r.rc == WICK_OK && r.size == 7);
    CHECKF(strcmp(r.path,
                  "Q4_K_M/m-Q4_K_M-00001-of-00003.gguf*|Q4_K_M/m-Q4_K_M-00002-of-00003.gguf*|"
                  "Q4_K_M/m-Q4_K_M-00003-of-00003.gguf*|config.json|model-Q4_K_M.gguf*|"
                  "sub dir/we ird#?%\xc3\xa9.bin*|tokenizer.json|") == 0,
           "%s", r.path);
    CHECK(mh_log_count(&m, "cursor=") >= 3); // followed the Link pages
    wick_hub_destroy(h);
    mh_stop(&m);
    // offline, the same listing comes from trees/COMMIT.json
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    o.endpoint = m.url;
    o.cache_dir = m.cache;
    o.offline = 1;
    CHECK_OK(wick_hub_create(&o, &h));
    char first[4096];
    snprintf(first, sizeof first, "%s", r.path);
    memset(&r, 0, sizeof r);
    CHECK_OK(wick_hub_list(h, "org/model", "main", on_list, &r, &id));
    CHECK_OK(wick_hub_wait(h, id, 30000));
    CHECKF(r.rc == WICK_OK && strcmp(r.path, first) == 0, "offline listing: %s", r.msg);
    memset(&r, 0, sizeof r);
    CHECK_OK(wick_hub_list(h, "org/other", "main", on_list, &r, &id));
    CHECK_OK(wick_hub_wait(h, id, 30000));
    CHECK(r.rc == WICK_E_OFFLINE);
    wick_hub_destroy(h);
    // a listed path that would leave the repo is refused
    if (!mh_start(&m, "--evil-path ../../etc/passwd")) { return; }
    h = hub_new(&m, false, NULL);
    memset(&r, 0, sizeof r);
    CHECK_OK(wick_hub_list(h, "org/model", "main", on_list, &r, &id));
    CHECK_OK(wick_hub_wait(h, id, 30000));
    CHECKF(r.rc == WICK_E_FORMAT && strstr(r.msg, "leave the repository"), "%d %s", r.rc, r.msg);
    wick_hub_destroy(h);
    mh_stop(&m);
}

static void test_errors(void)
{
    minihub m;
    if (!mh_start(&m, "--gated org/gated --private org/private --token hf_good "
                      "--rename org/old=org/model")) {
        return;
    }
    wick_hub *h = hub_new(&m, true, NULL);
    result r;
    CHECK_FAIL(fetch(h, "org/nothere", NULL, "x.gguf", &r), WICK_E_REPO_NOT_FOUND, "set HF_TOKEN");
    CHECK_FAIL(fetch(h, "org/private", NULL, "w.gguf", &r), WICK_E_REPO_NOT_FOUND, "org/private");
    CHECK_FAIL(fetch(h, "org/gated", NULL, "w.gguf", &r), WICK_E_GATED, "accept its conditions");
    CHECK_FAIL(fetch(h, "org/model", "nobranch", "config.json", &r), WICK_E_REVISION_NOT_FOUND,
               "nobranch");
    CHECK_FAIL(fetch(h, "org/model", NULL, "nothere.gguf", &r), WICK_E_ENTRY_NOT_FOUND,
               "nothere.gguf");
    CHECK(count_files(m.cache, "nothere.gguf") == 1); // the .no_exist marker
    // a renamed repo: relative 307, followed for the metadata
    CHECK_OK(fetch(h, "org/old", NULL, "config.json", &r));
    CHECK(same_bytes(r.path, src("org/model/config.json")));
    wick_hub_destroy(h);
    h = hub_new(&m, true, "hf_bad");
    CHECK_FAIL(fetch(h, "org/model", NULL, "config.json", &r), WICK_E_UNAUTHORIZED, "token");
    CHECK(strstr(wick_errmsg(), "hf_bad") == NULL); // never the token itself
    wick_hub_destroy(h);
    h = hub_new(&m, true, "hf_good");
    CHECK_OK(fetch(h, "org/gated", NULL, "w.gguf", &r));
    CHECK_OK(fetch(h, "org/private", NULL, "w.gguf", &r));
    wick_hub_destroy(h);
    mh_stop(&m);
}

// One fault scenario: download model-Q4_K_M.gguf (300 kB, LFS) and expect the right bytes.
static void fault_ok(const char *args, const char *expect_in_log)
{
    minihub m;
    if (!mh_start(&m, args)) { return; }
    wick_hub *h = hub_new(&m, false, NULL);
    result r;
    wick_status rc = fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r);
    CHECKF(rc == WICK_OK, "fault '%s': %s", args, r.msg);
    CHECKF(rc < 0 || same_bytes(r.path, src("org/model/model-Q4_K_M.gguf")), "fault '%s'", args);
    if (expect_in_log) {
        CHECKF(mh_log_count(&m, expect_in_log) >= 1, "fault '%s': no '%s' in the log", args,
               expect_in_log);
    }
    CHECK(count_files(m.cache, ".incomplete") == 0);
    wick_hub_destroy(h);
    mh_stop(&m);
}

// A fault that cannot be overcome: a clear error, and nothing under blobs/ or snapshots/.
static void fault_fail(const char *args, wick_status want, const char *needle)
{
    minihub m;
    if (!mh_start(&m, args)) { return; }
    wick_hub *h = hub_new(&m, false, NULL);
    result r;
    CHECK_FAIL(fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r), want, needle);
    char snaps[8192];
    snprintf(snaps, sizeof snaps, "%s/models--org--model/snapshots", m.cache);
    CHECKF(count_files(snaps, ".gguf") == 0, "fault '%s' left a snapshot", args);
    snprintf(snaps, sizeof snaps, "%s/models--org--model/blobs", m.cache);
    CHECKF(count_files(snaps, "f2") == 0 && count_files(snaps, "0") == 0,
           "fault '%s' left a blob", args);
    wick_hub_destroy(h);
    mh_stop(&m);
}

static void test_faults(void)
{
    fault_ok("--drop-after 100000 --drop-count 2", "range=bytes=100000-");
    fault_ok("--corrupt-count 1", NULL);
    fault_ok("--fail-status 500 --fail-count 3", NULL);
    fault_ok("--fail-status 503 --fail-count 1 --retry-after 0", NULL);
    fault_ok("--ignore-range --drop-after 150000", "range=bytes=150000-");
    fault_ok("--stall-after 100000 --stall-secs 6", "range=bytes=100000-");
    // Retry-After is honoured: a 429 asking for 1 s delays the download by at least that.
    double t0 = wk_now();
    fault_ok("--fail-status 429 --fail-count 1 --retry-after 1", NULL);
    CHECKF(wk_now() - t0 >= 0.9, "429 Retry-After 1 not honoured (%.2f s)", wk_now() - t0);
    // Signed CDN URLs valid 1 s; the body drops after 2.5 s: the resume gets 403, the hub asks
    // the Hub for a fresh URL and resumes with Range.
    fault_ok("--cdn-ttl 1 --throttle 120000 --drop-after 280000", "range=bytes=280000-");
    fault_fail("--corrupt-count 10", WICK_E_CHECKSUM, "hash to");
    fault_fail("--fail-status 500 --fail-count 1000", WICK_E_HTTP, "gave up");
    // a Hub that lies about the size, or is no Hub at all
    fault_fail("--lie-size -1000", WICK_E_CHECKSUM, "more than");
    fault_fail("--lie-size 1000", WICK_E_HTTP, "gave up");
    fault_fail("--no-commit", WICK_E_FORMAT, "X-Repo-Commit");
}

// Big files in parallel ranges: the same bytes, and faults still end in the right file.
static void parts_case(const char *args, const char *expect_in_log)
{
    minihub m;
    if (!mh_start(&m, args)) { return; }
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    o.endpoint = m.url;
    o.cache_dir = m.cache;
    o.token = "";
    o.offline = 0;
    o.backoff_ms = 50;
    o.backoff_max_ms = 200;
    o.stall_timeout_ms = 2000;
    o.parts = 4;
    o.part_min_bytes = 100000;
    wick_hub *h = NULL;
    CHECK_OK(wick_hub_create(&o, &h));
    result r;
    wick_status rc = fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r);
    CHECKF(rc == WICK_OK, "parts '%s': %s", args ? args : "", r.msg);
    CHECKF(rc < 0 || same_bytes(r.path, src("org/model/model-Q4_K_M.gguf")), "parts '%s'",
           args ? args : "");
    if (expect_in_log) { // alternatives separated by '|': one of them in the log
        int seen = 0;
        char alt[256];
        for (const char *p = expect_in_log; *p;) {
            size_t n = strcspn(p, "|");
            snprintf(alt, sizeof alt, "%.*s", (int)n, p);
            seen += mh_log_count(&m, alt);
            p += n + (p[n] == '|');
        }
        CHECKF(seen >= 1, "parts '%s': no '%s' in the log", args, expect_in_log);
    }
    CHECK(count_files(m.cache, ".incomplete") == 0);
    wick_hub_progress_info pi;
    CHECK_OK(wick_hub_progress(h, 0, &pi));
    CHECK(pi.n_done == 1); // the parts are not downloads of their own
    wick_hub_destroy(h);
    mh_stop(&m);
}

static void test_parts(void)
{
    parts_case(NULL, "range=bytes=225000-299999"); // 4 ranges of 75000 bytes
    // the first two GETs to arrive are cut after 30000 bytes: which parts they are depends on
    // the order the parts' connections reach minihub, so any part's resumed range will do
    parts_case("--drop-after 30000 --drop-count 2",
               "range=bytes=30000-74999|range=bytes=105000-149999|range=bytes=180000-224999|"
               "range=bytes=255000-299999");
    parts_case("--corrupt-count 1", NULL);   // the whole-file hash catches it; one stream again
    parts_case("--ignore-range", NULL);      // 200 to a part: one stream
    parts_case("--fail-status 503 --fail-count 3", NULL);
    parts_case("--cdn-ttl 1 --throttle 60000 --drop-after 70000", NULL);
    // cancelled mid-way: the holey temp file is not resumed, the next download removes it
    minihub m;
    if (!mh_start(&m, "--throttle 50000")) { return; }
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    o.endpoint = m.url;
    o.cache_dir = m.cache;
    o.token = "";
    o.offline = 0;
    o.parts = 4;
    o.part_min_bytes = 100000;
    wick_hub *h = NULL;
    CHECK_OK(wick_hub_create(&o, &h));
    result r = {0};
    uint64_t id;
    CHECK_OK(wick_hub_download(h, "org/model", NULL, "model-Q4_K_M.gguf", on_dl, &r, &id));
    wick_hub_progress_info pi = {0};
    for (int i = 0; i < 200 && pi.bytes_done == 0; i++) { // until bytes arrive (after the split)
        wick_hub_wait(h, id, 50);
        if (wick_hub_progress(h, id, &pi) < 0) { break; }
    }
    CHECK_OK(wick_hub_cancel(h, id));
    CHECK_OK(wick_hub_wait(h, id, 10000));
    CHECK(r.rc == WICK_E_CANCELLED);
    CHECK(count_files(m.cache, ".split.incomplete") == 1);
    wick_hub_destroy(h);
    o.parts = 1;
    CHECK_OK(wick_hub_create(&o, &h));
    CHECK_OK(fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r));
    CHECK(same_bytes(r.path, src("org/model/model-Q4_K_M.gguf")));
    CHECK(count_files(m.cache, ".incomplete") == 0);
    wick_hub_destroy(h);
    mh_stop(&m);
}

static void test_moving_branch(void)
{
    // main moves to commit 2 right after the first HEAD: the GET must still fetch commit 1.
    minihub m;
    if (!mh_start(&m, "--move-after 1")) { return; }
    wick_hub *h = hub_new(&m, true, NULL);
    result r;
    CHECK_OK(fetch(h, "org/model", "main", "config.json", &r));
    CHECK(same_bytes(r.path, src("org/model/config.json")));
    char c1[41];
    memcpy(c1, r.commit, 41);
    CHECK(mh_log_count(&m, "GET /org/model/resolve/main/") == 0);
    CHECK_OK(fetch(h, "org/model", "main", "config.json", &r)); // now commit 2
    CHECK(strcmp(r.commit, c1) != 0 && same_bytes(r.path, src("org/model.next/config.json")));
    char c[41];
    char repo_dir[8192];
    snprintf(repo_dir, sizeof repo_dir, "%s/models--org--model", m.cache);
    CHECK(wk_hub_read_ref(repo_dir, "main", c) && strcmp(c, r.commit) == 0);
    // the tag v1 still names commit 1 (already cached: answered after one HEAD)
    CHECK_OK(fetch(h, "org/model", "v1", "config.json", &r));
    CHECK(strcmp(r.commit, c1) == 0 && same_bytes(r.path, src("org/model/config.json")));
    wick_hub_destroy(h);
    mh_stop(&m);
}

// The caller's own loop: a 10 ms timer keeps ticking while 8 throttled downloads run.
static void test_embedded_loop(void)
{
    minihub m;
    if (!mh_start(&m, "--throttle 400000")) { return; }
    wick_hub *h = hub_new(&m, false, NULL);
    result r[8];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 8; i++) {
        char f[32];
        snprintf(f, sizeof f, "f%d.gguf", i);
        CHECK_OK(wick_hub_download(h, "org/eight", NULL, f, on_dl, &r[i], NULL));
    }
    int fd = wick_hub_fd(h);
    CHECK(fd >= 0);
    double t0 = wk_now(), last_tick = t0, next_tick = t0 + 0.010, max_gap = 0;
    int running = 1, ticks = 0;
    bool saw_progress = false;
    while (running > 0 && wk_now() - t0 < 30) {
        int ms = wick_hub_timeout_ms(h);
        int until_tick = (int)((next_tick - wk_now()) * 1000) + 1;
        if (until_tick < 0) { until_tick = 0; }
        if (ms < 0 || ms > until_tick) { ms = until_tick; }
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, ms);
        CHECK_OK(wick_hub_perform(h, &running));
        double now = wk_now();
        if (now >= next_tick) {
            if (now - last_tick > max_gap) { max_gap = now - last_tick; }
            last_tick = now;
            next_tick = now + 0.010;
            ticks++;
            wick_hub_progress_info pi;
            if (wick_hub_progress(h, 0, &pi) >= 0 && pi.bytes_done > 0 &&
                pi.bytes_done < pi.bytes_total) {
                saw_progress = true;
            }
        }
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        char f[64];
        snprintf(f, sizeof f, "org/eight/f%d.gguf", i);
        if (r[i].n == 1 && r[i].rc == WICK_OK && same_bytes(r[i].path, src(f))) { ok++; }
    }
    CHECKF(ok == 8, "%d of 8 downloads ok", ok);
    CHECK(saw_progress);
    printf("embedded loop: 8 throttled downloads in %.2f s, %d ticks, largest timer gap %.1f ms\n",
           wk_now() - t0, ticks, max_gap * 1000);
    CHECKF(max_gap < 1.0, "the caller's loop stalled for %.3f s", max_gap);
    wick_hub_destroy(h);
    mh_stop(&m);
}

static void test_cancel_resume(void)
{
    minihub m;
    if (!mh_start(&m, "--throttle 100000")) { return; }
    wick_hub *h = hub_new(&m, true, NULL);
    result r = {0};
    uint64_t id;
    CHECK_OK(wick_hub_download(h, "org/model", NULL, "model-Q4_K_M.gguf", on_dl, &r, &id));
    wick_hub_progress_info pi = {0};
    for (int i = 0; i < 400 && pi.bytes_done < 100000; i++) {
        usleep(10000);
        if (wick_hub_progress(h, id, &pi) < 0) { break; }
    }
    CHECK_OK(wick_hub_cancel(h, id)); // from this thread, the hub runs on its own
    CHECK_OK(wick_hub_wait(h, id, 10000));
    CHECK(r.n == 1 && r.rc == WICK_E_CANCELLED);
    CHECK(count_files(m.cache, ".incomplete") == 1);
    CHECK_FAIL(wick_hub_cancel(h, id), WICK_E_NOT_FOUND, NULL);
    wick_hub_destroy(h);
    // a new hub resumes from the temp file with Range, and removes the temp file a killed
    // huggingface_hub >= 1.18 left (ETAG.<8 hex>.incomplete)
    char stale[8192];
    snprintf(stale, sizeof stale, "%s/models--org--model/blobs/%s.0123abcd.incomplete", m.cache,
             "f2528e5e2a15c67a60b16b1c8dd01ed13f17a319b69731b9d8c4fa886ced6f03");
    write_text(stale, "junk");
    h = hub_new(&m, false, NULL);
    CHECK_OK(fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r));
    CHECK(same_bytes(r.path, src("org/model/model-Q4_K_M.gguf")));
    CHECK(mh_log_count(&m, "range=bytes=") == 1);
    CHECK(count_files(m.cache, ".incomplete") == 0);
    CHECK(access(stale, F_OK) != 0);
    wick_hub_destroy(h);
    mh_stop(&m);
}

// Embedded mode: another thread cancels (and wakes the loop); the loop thread sees the callback.
typedef struct canceller {
    wick_hub *h;
    uint64_t id;
    wick_status rc;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    usleep(300000);
    c->rc = wick_hub_cancel(c->h, c->id);
    return NULL;
}

static void test_cancel_other_thread(void)
{
    minihub m;
    if (!mh_start(&m, "--throttle 50000")) { return; }
    wick_hub *h = hub_new(&m, false, NULL);
    result r = {0};
    canceller c = {h, 0, 1};
    CHECK_OK(wick_hub_download(h, "org/model", NULL, "model-Q4_K_M.gguf", on_dl, &r, &c.id));
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &c);
    double t0 = wk_now();
    int running = 1;
    while (running > 0 && wk_now() - t0 < 20) { // the caller's loop: only fd + timeout
        struct pollfd p = {wick_hub_fd(h), POLLIN, 0};
        poll(&p, 1, wick_hub_timeout_ms(h));
        CHECK_OK(wick_hub_perform(h, &running));
    }
    pthread_join(t, NULL);
    CHECK(c.rc == WICK_OK);
    CHECKF(r.n == 1 && r.rc == WICK_E_CANCELLED, "%d %d", r.n, r.rc);
    CHECKF(wk_now() - t0 < 3, "the cancel took %.1f s to be seen", wk_now() - t0);
    // wick_hub_wakeup from another thread makes the fd readable
    wick_hub_wakeup(h);
    struct pollfd p = {wick_hub_fd(h), POLLIN, 0};
    CHECK(poll(&p, 1, 1000) == 1);
    CHECK_OK(wick_hub_perform(h, NULL));
    wick_hub_destroy(h);
    mh_stop(&m);
}

// Two processes want the same file: one transfer, both succeed (flock, as Python's filelock).
static void test_two_processes(void)
{
    minihub m;
    if (!mh_start(&m, "--throttle 200000")) { return; }
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            wick_hub *h = hub_new(&m, false, NULL);
            result r;
            wick_status rc = fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r);
            bool ok = rc == WICK_OK && same_bytes(r.path, src("org/model/model-Q4_K_M.gguf"));
            wick_hub_destroy(h);
            _exit(ok ? 0 : 1);
        }
        usleep(100000);
    }
    for (int k = 0; k < 2; k++) {
        int st = -1;
        waitpid(kids[k], &st, 0);
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "process %d failed", k);
    }
    CHECKF(mh_log_count(&m, "GET /cdn/") == 1, "%d transfers", mh_log_count(&m, "GET /cdn/"));
    mh_stop(&m);
}

// A full disk (RLIMIT_FSIZE): a clean NOSPACE error, nothing in blobs/ or snapshots/.
static void test_full_disk(void)
{
    minihub m;
    if (!mh_start(&m, NULL)) { return; }
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {100000, 100000};
        setrlimit(RLIMIT_FSIZE, &rl);
        wick_hub *h = hub_new(&m, false, NULL);
        result r;
        wick_status rc = fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r);
        wick_hub_destroy(h);
        fprintf(stderr, "full disk: %s\n", r.msg);
        _exit(rc == WICK_E_NOSPACE && strstr(r.msg, ".incomplete") ? 0 : 1);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "full disk: status %d", st);
    char d[8192];
    snprintf(d, sizeof d, "%s/models--org--model/snapshots", m.cache);
    CHECK(count_files(d, ".gguf") == 0);
    // with room again, the same cache resumes and completes
    wick_hub *h = hub_new(&m, false, NULL);
    result r;
    CHECK_OK(fetch(h, "org/model", NULL, "model-Q4_K_M.gguf", &r));
    CHECK(same_bytes(r.path, src("org/model/model-Q4_K_M.gguf")));
    CHECK(mh_log_count(&m, "range=bytes=") == 1);
    wick_hub_destroy(h);
    mh_stop(&m);
}

static void test_offline(void)
{
    minihub m;
    if (!mh_start(&m, NULL)) { return; }
    wick_hub *h = hub_new(&m, false, NULL);
    result r;
    CHECK_OK(fetch(h, "org/model", NULL, "tokenizer.json", &r));
    CHECK_FAIL(fetch(h, "org/model", NULL, "nothere.json", &r), WICK_E_ENTRY_NOT_FOUND, NULL);
    wick_hub_destroy(h);
    mh_stop(&m); // the Hub is gone
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    o.endpoint = m.url;
    o.cache_dir = m.cache;
    o.offline = 1;
    CHECK_OK(wick_hub_create(&o, &h));
    CHECK_OK(fetch(h, "org/model", "main", "tokenizer.json", &r));
    CHECK(r.cached && same_bytes(r.path, src("org/model/tokenizer.json")));
    CHECK_FAIL(fetch(h, "org/model", "main", "config.json", &r), WICK_E_OFFLINE, "offline");
    CHECK_FAIL(fetch(h, "org/model", "main", "nothere.json", &r), WICK_E_ENTRY_NOT_FOUND, NULL);
    CHECK_FAIL(fetch(h, "org/other", "main", "x", &r), WICK_E_OFFLINE, "not in the cache");
    wick_hub_destroy(h);
    // HF_HUB_OFFLINE=1 through the environment
    setenv("HF_HUB_OFFLINE", "1", 1);
    o.offline = -1;
    CHECK_OK(wick_hub_create(&o, &h));
    CHECK_OK(fetch(h, "org/model", "main", "tokenizer.json", &r));
    wick_hub_destroy(h);
    unsetenv("HF_HUB_OFFLINE");
    // not offline, but the Hub is unreachable: the cached copy is used
    o.offline = 0;
    o.connect_timeout_ms = 2000;
    o.max_retries = 0;
    CHECK_OK(wick_hub_create(&o, &h));
    CHECK_OK(fetch(h, "org/model", "main", "tokenizer.json", &r));
    CHECK_FAIL(fetch(h, "org/model", "main", "config.json", &r), WICK_E_NETWORK, "127.0.0.1");
    wick_hub_destroy(h);
}

// Threaded mode: a callback starts the next download (on the hub's thread); the main thread waits.
typedef struct chain {
    wick_hub *h;
    result second;
    uint64_t second_id;
    int n_first;
    wick_status start_rc;
} chain;

static void on_first(const wick_hub_file *f, void *ud)
{
    chain *c = ud;
    c->n_first++;
    if (f->status == WICK_OK) {
        c->start_rc = wick_hub_download(c->h, "org/model", f->commit, "tokenizer.json", on_dl,
                                        &c->second, &c->second_id);
    }
}

static void test_threaded_chain(void)
{
    minihub m;
    if (!mh_start(&m, NULL)) { return; }
    chain c = {0};
    c.h = hub_new(&m, true, NULL);
    CHECK(wick_hub_fd(c.h) == -1);
    CHECK_FAIL(wick_hub_perform(c.h, NULL), WICK_E_INVALID, "threaded");
    uint64_t id;
    CHECK_OK(wick_hub_download(c.h, "org/model", NULL, "config.json", on_first, &c, &id));
    CHECK_OK(wick_hub_wait(c.h, id, 30000));
    CHECK(c.n_first == 1 && c.start_rc == WICK_OK && c.second_id > id);
    CHECK_OK(wick_hub_wait(c.h, 0, 30000)); // 0: everything, the chained download included
    CHECK(c.second.n == 1 && c.second.rc == WICK_OK);
    CHECK(same_bytes(c.second.path, src("org/model/tokenizer.json")));
    wick_hub_progress_info pi;
    CHECK_OK(wick_hub_progress(c.h, 0, &pi));
    CHECK(pi.n_done == 2 && pi.n_failed == 0 && pi.n_active == 0);
    CHECK_FAIL(wick_hub_progress(c.h, id, &pi), WICK_E_NOT_FOUND, NULL);
    wick_hub_destroy(c.h);
    mh_stop(&m);
}

// The token comes from HF_TOKEN, else HF_TOKEN_PATH, else $HF_HOME/token.
static void test_token_sources(void)
{
    minihub m;
    if (!mh_start(&m, "--gated org/gated --token hf_fromfile")) { return; }
    char tp[8192];
    snprintf(tp, sizeof tp, "%s/token-file", mh_scratch);
    write_text(tp, "  hf_fromfile\r\n");
    unsetenv("HF_TOKEN");
    unsetenv("HUGGING_FACE_HUB_TOKEN");
    setenv("HF_TOKEN_PATH", tp, 1);
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    o.endpoint = m.url;
    o.cache_dir = m.cache;
    o.offline = 0;
    wick_hub *h = NULL;
    result r;
    CHECK_OK(wick_hub_create(&o, &h));
    CHECK_OK(fetch(h, "org/gated", NULL, "w.gguf", &r));
    wick_hub_destroy(h);
    unsetenv("HF_TOKEN_PATH");
    char home[8192];
    snprintf(home, sizeof home, "%s/hfhome", mh_scratch);
    mkdir(home, 0777);
    snprintf(tp, sizeof tp, "%s/token", home);
    write_text(tp, "hf_fromfile");
    setenv("HF_HOME", home, 1);
    o.cache_dir = NULL; // $HF_HOME/hub
    CHECK_OK(wick_hub_create(&o, &h));
    CHECK_OK(fetch(h, "org/gated", NULL, "w.gguf", &r));
    CHECK(strncmp(r.path, home, strlen(home)) == 0 && strstr(r.path, "/hub/models--org--gated/"));
    wick_hub_destroy(h);
    setenv("HF_TOKEN", "hf_wrong", 1); // HF_TOKEN wins over the file
    CHECK_OK(wick_hub_create(&o, &h));
    CHECK_FAIL(fetch(h, "org/gated", NULL, "w.gguf", &r), WICK_E_UNAUTHORIZED, NULL);
    wick_hub_destroy(h);
    unsetenv("HF_TOKEN");
    unsetenv("HF_HOME");
    mh_stop(&m);
}

// Every allocation of create + download (from the cache) + listing start + destroy fails in turn:
// a clean error or a success, each callback exactly once, never a crash (ASan checks leaks).
static void test_alloc_failures(void)
{
    minihub m;
    if (!mh_start(&m, NULL)) { return; }
    wick_hub *h = hub_new(&m, false, NULL);
    result r;
    CHECK_OK(fetch(h, "org/model", NULL, "tokenizer.json", &r));
    wick_hub_destroy(h);
    mh_stop(&m);
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    o.endpoint = m.url;
    o.cache_dir = m.cache;
    o.token = "";
    o.offline = 1;
    int n_ok = 0, n_fail = 0, bad = 0;
    for (uint64_t n = 1; n < 400; n++) {
        wk_alloc_fail_after(n);
        h = NULL;
        wick_status rc = wick_hub_create(&o, &h);
        if (rc < 0) {
            n_fail++;
            continue;
        }
        result a = {0};
        uint64_t id = 0;
        rc = wick_hub_download(h, "org/model", "main", "tokenizer.json", on_dl, &a, &id);
        if (rc >= 0) {
            wick_hub_wait(h, id, 10000);
            if (a.n != 1) { bad++; }
            if (a.rc == WICK_OK) { n_ok++; }
        } else if (a.n != 0) {
            bad++;
        }
        wick_hub_destroy(h);
        if (rc >= 0 && a.rc == WICK_OK && n > 50) { break; } // past the last failure point
    }
    wk_alloc_fail_after(0);
    CHECKF(bad == 0, "%d runs broke the callback rule", bad);
    CHECK(n_ok >= 1 && n_fail >= 1);
}

static void test_cache_scan_remove(void)
{
    minihub m;
    if (!mh_start(&m, NULL)) { return; }
    wick_hub *h = hub_new(&m, true, NULL);
    result r;
    CHECK_OK(fetch(h, "org/model", NULL, "config.json", &r));
    wick_hub_destroy(h);
    mh_stop(&m);
    CHECK_FAIL(wick_hub_cache_remove(m.cache, "org/absent"), WICK_E_NOT_FOUND, "org/absent");
    // a held blob lock (a download elsewhere) blocks the removal
    char lp[8192];
    snprintf(lp, sizeof lp, "%s/.locks/models--org--model/abc.lock", m.cache);
    int fd = -1;
    CHECK(wk_hub_lock_try(lp, &fd) == 1);
    CHECK_FAIL(wick_hub_cache_remove(m.cache, "org/model"), WICK_E_BUSY, "running");
    wk_hub_unlock(lp, fd);
    CHECK_OK(wick_hub_cache_remove(m.cache, "org/model"));
    CHECK(!exists("%s/%s", m.cache, "models--org--model"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    make_root();
    test_helpers();
    test_basic(true);
    test_basic(false);
    test_listing();
    test_errors();
    test_faults();
    test_moving_branch();
    test_parts();
    test_embedded_loop();
    test_cancel_resume();
    test_cancel_other_thread();
    test_two_processes();
    test_full_disk();
    test_offline();
    test_threaded_chain();
    test_token_sources();
    test_alloc_failures();
    test_cache_scan_remove();
    return test_summary("hub");
}
