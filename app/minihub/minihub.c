// minihub.c — a fake Hugging Face Hub on 127.0.0.1 for the tests and the benchmark. It speaks
// huggingface.co's protocol as huggingface_hub uses it: HEAD/GET /ORG/NAME/resolve/REV/PATH (302
// to /cdn/SHA256 for LFS files with X-Repo-Commit, X-Linked-Etag, X-Linked-Size; 200 with
// ETag = git blob sha1 for small files), Range/206/416 on every body,
// /api/models/ORG/NAME/revision/REV, the recursive tree API paginated with Link: rel="next",
// X-Error-Code errors, gated and private repos, renamed repos (relative 307), and injected faults.
//
// Repositories are folders ROOT/ORG/NAME (commit 1); ROOT/ORG/NAME.next, when present, is commit 2
// that `main` moves to after --move-after resolve requests. Tag "v1" is always commit 1.
//
//   wick-minihub --root DIR [--port 0] [--log FILE] [--token T] [--gated R] [--private R]
//                [--rename OLD=NEW] [--throttle BYTES_PER_S] [--drop-after N --drop-count K]
//                [--corrupt-count K] [--fail-status S --fail-count K --retry-after SEC]
//                [--ignore-range] [--cdn-ttl SEC] [--move-after K] [--page-size N]
//                [--evil-path P] [--stall-count K --stall-after N --stall-secs S]
//                [--lfs-threshold BYTES] [--lie-size DELTA] [--no-commit] [--exit-after SEC]
// Prints the port on stdout ("PORT\n") once listening; stops on SIGTERM/SIGINT or --exit-after.
#define _XOPEN_SOURCE 700
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct file {
    char *path;    // inside the repo
    char *disk;    // on disk
    uint64_t size;
    bool lfs;
    char sha256[65];
    char oid[41];  // git blob sha1 (of the LFS pointer for LFS files)
} file;

typedef struct tree {
    char commit[41];
    file *files;
    size_t n;
} tree;

typedef struct repo {
    char *id;
    tree gen[2];
    int n_gen;
} repo;

static repo *repos;
static size_t n_repos;
static atomic_int port;
static FILE *log_file;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *token;
static char *gated[16], *private_[16], *rename_from[16], *rename_to[16];
static int n_gated, n_private, n_rename;
static double throttle;
static uint64_t drop_after, stall_after, lfs_threshold = 1024;
static atomic_int drop_left, corrupt_left, fail_left, stall_left, move_left;
static int fail_status = 500, retry_after = -1, cdn_ttl = 3600, page_size = 1000, stall_secs = 10;
static bool ignore_range;
static atomic_bool moved;
static const char *evil_path;
static long long lie_size; // added to X-Linked-Size (a lying or broken Hub)
static bool no_commit;
static atomic_int stop; // lock-free: fine in a signal handler

static void die(const char *m)
{
    fprintf(stderr, "wick-minihub: %s\n", m);
    exit(2);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) { sprintf(out + 2 * i, "%02x", d[i]); }
}

static void hash_file(file *f)
{
    int fd = open(f->disk, O_RDONLY);
    if (fd < 0) { die("cannot open a repo file"); }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_MD_CTX *g = EVP_MD_CTX_new();
    EVP_DigestInit_ex(g, EVP_sha1(), NULL);
    char pre[64];
    int pn = snprintf(pre, sizeof pre, "blob %" PRIu64, f->size);
    EVP_DigestUpdate(g, pre, (size_t)pn + 1);
    static char buf[1 << 20];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        EVP_DigestUpdate(c, buf, (size_t)r);
        if (!f->lfs) { EVP_DigestUpdate(g, buf, (size_t)r); }
    }
    close(fd);
    unsigned char d[64];
    unsigned int dl;
    EVP_DigestFinal_ex(c, d, &dl);
    hex(d, dl, f->sha256);
    if (f->lfs) { // the git object of an LFS file is its pointer file
        char ptr[256];
        int n = snprintf(ptr, sizeof ptr,
                         "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %" PRIu64
                         "\n", f->sha256, f->size);
        EVP_DigestInit_ex(g, EVP_sha1(), NULL);
        pn = snprintf(pre, sizeof pre, "blob %d", n);
        EVP_DigestUpdate(g, pre, (size_t)pn + 1);
        EVP_DigestUpdate(g, ptr, (size_t)n);
    }
    EVP_DigestFinal_ex(g, d, &dl);
    hex(d, dl, f->oid);
    EVP_MD_CTX_free(c);
    EVP_MD_CTX_free(g);
}

static tree *cur_tree;
static const char *cur_base;

static int walk(const char *p, const struct stat *st, int flag, struct FTW *fw)
{
    (void)fw;
    if (flag != FTW_F || !S_ISREG(st->st_mode)) { return 0; }
    tree *t = cur_tree;
    t->files = realloc(t->files, (t->n + 1) * sizeof *t->files);
    file *f = &t->files[t->n++];
    memset(f, 0, sizeof *f);
    f->disk = strdup(p);
    f->path = strdup(p + strlen(cur_base) + 1);
    f->size = (uint64_t)st->st_size;
    size_t n = strlen(f->path);
    f->lfs = f->size >= lfs_threshold || (n > 5 && strcmp(f->path + n - 5, ".gguf") == 0);
    hash_file(f);
    return 0;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const file *)a)->path, ((const file *)b)->path);
}

static void load_tree(tree *t, const char *dir, const char *id, int gen)
{
    cur_tree = t;
    cur_base = dir;
    nftw(dir, walk, 16, FTW_PHYS);
    qsort(t->files, t->n, sizeof *t->files, cmp_file);
    char s[512];
    int n = snprintf(s, sizeof s, "minihub %s %d", id, gen);
    unsigned char d[64];
    unsigned int dl;
    EVP_Digest(s, (size_t)n, d, &dl, EVP_sha1(), NULL);
    hex(d, dl, t->commit);
}

static void load_root(const char *root)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "cd '%s' && ls -d */* 2>/dev/null", root);
    FILE *p = popen(cmd, "r");
    if (!p) { die("cannot list the root"); }
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(line);
        if (n > 5 && strcmp(line + n - 5, ".next") == 0) { continue; }
        repos = realloc(repos, (n_repos + 1) * sizeof *repos);
        repo *r = &repos[n_repos++];
        memset(r, 0, sizeof *r);
        r->id = strdup(line);
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", root, line);
        load_tree(&r->gen[0], dir, line, 1);
        r->n_gen = 1;
        snprintf(dir, sizeof dir, "%s/%s.next", root, line);
        struct stat st;
        if (stat(dir, &st) == 0) {
            load_tree(&r->gen[1], dir, line, 2);
            r->n_gen = 2;
        }
    }
    pclose(p);
}

static repo *find_repo(const char *id, size_t n)
{
    for (size_t i = 0; i < n_repos; i++) {
        if (strlen(repos[i].id) == n && strncmp(repos[i].id, id, n) == 0) { return &repos[i]; }
    }
    return NULL;
}

static bool in_list(char **l, int n, const char *id)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(l[i], id) == 0) { return true; }
    }
    return false;
}

static tree *resolve_rev(repo *r, const char *rev)
{
    int cur = (moved && r->n_gen > 1) ? 1 : 0;
    if (strcmp(rev, "main") == 0) { return &r->gen[cur]; }
    if (strcmp(rev, "v1") == 0) { return &r->gen[0]; }
    for (int g = 0; g < r->n_gen; g++) {
        if (strcmp(rev, r->gen[g].commit) == 0) { return &r->gen[g]; }
    }
    return NULL;
}

static file *find_file(tree *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->files[i].path, path) == 0) { return &t->files[i]; }
    }
    return NULL;
}

static file *find_blob(const char *sha)
{
    for (size_t i = 0; i < n_repos; i++) {
        for (int g = 0; g < repos[i].n_gen; g++) {
            for (size_t k = 0; k < repos[i].gen[g].n; k++) {
                if (strcmp(repos[i].gen[g].files[k].sha256, sha) == 0) {
                    return &repos[i].gen[g].files[k];
                }
            }
        }
    }
    return NULL;
}

static char *quote(const char *s)
{
    char *o = malloc(strlen(s) * 3 + 1), *q = o;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("_.-~/", *p)) {
            *q++ = (char)*p;
        } else {
            q += sprintf(q, "%%%02X", *p);
        }
    }
    *q = '\0';
    return o;
}

// --- responses -----------------------------------------------------------------------------------
static enum MHD_Result send_text(struct MHD_Connection *c, unsigned st, const char *body,
                                 const char *ec, const char *em, const char *commit)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (ec) { MHD_add_response_header(r, "X-Error-Code", ec); }
    if (em) { MHD_add_response_header(r, "X-Error-Message", em); }
    if (commit) { MHD_add_response_header(r, "X-Repo-Commit", commit); }
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, st, r);
    MHD_destroy_response(r);
    return ret;
}

typedef struct body {
    int fd;
    uint64_t start, len;
    uint64_t drop_at; // UINT64_MAX: none
    uint64_t stall_at;
    bool corrupt;
    double t0;
} body;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    body *b = cls;
    if (pos >= b->len) { return MHD_CONTENT_READER_END_OF_STREAM; }
    if (pos >= b->drop_at) { return MHD_CONTENT_READER_END_WITH_ERROR; }
    if (pos >= b->stall_at) {
        b->stall_at = UINT64_MAX;
        for (int i = 0; i < stall_secs * 10 && !stop; i++) { usleep(100000); }
    }
    size_t n = max < 65536 ? max : 65536;
    if (n > b->len - pos) { n = (size_t)(b->len - pos); }
    if (b->drop_at != UINT64_MAX && n > b->drop_at - pos) { n = (size_t)(b->drop_at - pos); }
    if (b->stall_at != UINT64_MAX && pos < b->stall_at && n > b->stall_at - pos) {
        n = (size_t)(b->stall_at - pos);
    }
    if (n == 0) { return MHD_CONTENT_READER_END_WITH_ERROR; }
    if (throttle > 0) {
        double due = b->t0 + (double)(pos + n) / throttle, d = due - now_s();
        if (d > 0) { usleep((useconds_t)(d * 1e6)); }
    }
    ssize_t r = pread(b->fd, buf, n, (off_t)(b->start + pos));
    if (r <= 0) { return MHD_CONTENT_READER_END_WITH_ERROR; }
    if (b->corrupt && pos <= b->len / 2 && b->len / 2 < pos + (uint64_t)r) {
        buf[b->len / 2 - pos] ^= 0x5a;
    }
    return r;
}

static void free_body(void *cls)
{
    body *b = cls;
    close(b->fd);
    free(b);
}

static bool take(atomic_int *counter)
{
    int v = atomic_load(counter);
    while (v > 0) {
        if (atomic_compare_exchange_weak(counter, &v, v - 1)) { return true; }
    }
    return false;
}

static enum MHD_Result send_file(struct MHD_Connection *c, file *f, bool head, const char *etag,
                                 const char *commit)
{
    uint64_t a = 0, e = f->size; // [a, e)
    bool partial = false;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    if (range && !ignore_range) {
        uint64_t ra, rb = UINT64_MAX;
        char dash;
        int n = sscanf(range, "bytes=%" SCNu64 "%c%" SCNu64, &ra, &dash, &rb);
        if (n >= 2 && dash == '-') {
            if (ra >= f->size) {
                char cr[64];
                snprintf(cr, sizeof cr, "bytes */%" PRIu64, f->size);
                struct MHD_Response *r =
                    MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(r, "Content-Range", cr);
                enum MHD_Result ret = MHD_queue_response(c, 416, r);
                MHD_destroy_response(r);
                return ret;
            }
            a = ra;
            if (n == 3 && rb + 1 < e) { e = rb + 1; }
            partial = true;
        }
    }
    body *b = calloc(1, sizeof *b);
    b->fd = open(f->disk, O_RDONLY);
    b->start = a;
    b->len = e - a;
    b->drop_at = UINT64_MAX;
    b->stall_at = UINT64_MAX;
    b->t0 = now_s();
    if (!head) {
        if (drop_after < b->len && take(&drop_left)) { b->drop_at = drop_after; }
        if (stall_after < b->len && take(&stall_left)) { b->stall_at = stall_after; }
        if (take(&corrupt_left)) { b->corrupt = true; }
    }
    struct MHD_Response *r = MHD_create_response_from_callback(b->len, 64 * 1024, read_body, b,
                                                               free_body);
    if (partial) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, a, e - 1, f->size);
        MHD_add_response_header(r, "Content-Range", cr);
    }
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    if (etag) {
        char q[100];
        snprintf(q, sizeof q, "\"%s\"", etag);
        MHD_add_response_header(r, "ETag", q);
    }
    if (commit) { MHD_add_response_header(r, "X-Repo-Commit", commit); }
    enum MHD_Result ret = MHD_queue_response(c, partial ? 206 : 200, r);
    MHD_destroy_response(r);
    return ret;
}

// Checks the token rules of repo r; returns 0 when access is granted, else queues the error.
static int deny(struct MHD_Connection *c, repo *r, enum MHD_Result *ret)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    bool good = false;
    if (auth) {
        if (!token || strncmp(auth, "Bearer ", 7) != 0 || strcmp(auth + 7, token) != 0) {
            *ret = send_text(c, 401, "{\"error\":\"Invalid credentials in Authorization header\"}",
                             NULL, "Invalid credentials in Authorization header", NULL);
            return 1;
        }
        good = true;
    }
    if (in_list(private_, n_private, r->id) && !good) {
        *ret = send_text(c, 401, "{\"error\":\"Repository not found\"}", "RepoNotFound",
                         "Repository not found", NULL);
        return 1;
    }
    if (in_list(gated, n_gated, r->id) && !good) {
        *ret = send_text(c, 401, "{\"error\":\"Access to model is restricted\"}", "GatedRepo",
                         "Access to model is restricted. You must have access to it and be "
                         "authenticated to access it. Please log in.", NULL);
        return 1;
    }
    return 0;
}

static enum MHD_Result resolve(struct MHD_Connection *c, const char *url, bool head)
{
    // /ORG/NAME/resolve/REV/PATH (MHD hands us the path percent-decoded)
    const char *rs = strstr(url, "/resolve/");
    const char *id = url + 1;
    size_t idn = (size_t)(rs - id);
    for (int i = 0; i < n_rename; i++) {
        if (strlen(rename_from[i]) == idn && strncmp(rename_from[i], id, idn) == 0) {
            char *q = quote(rs);
            char loc[8192];
            snprintf(loc, sizeof loc, "/%s%s", rename_to[i], q);
            free(q);
            struct MHD_Response *r =
                MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(r, "Location", loc);
            enum MHD_Result ret = MHD_queue_response(c, 307, r);
            MHD_destroy_response(r);
            return ret;
        }
    }
    repo *r = find_repo(id, idn);
    if (!r) {
        return send_text(c, 401, "{\"error\":\"Repository not found\"}", "RepoNotFound",
                         "Repository not found", NULL);
    }
    enum MHD_Result ret;
    if (deny(c, r, &ret)) { return ret; }
    const char *rest = rs + 9, *sl = strchr(rest, '/');
    if (!sl) { return send_text(c, 400, "{}", NULL, "bad resolve URL", NULL); }
    char rev[256];
    snprintf(rev, sizeof rev, "%.*s", (int)(sl - rest), rest);
    tree *t = resolve_rev(r, rev);
    // --move-after K: `main` moves to commit 2 once K resolve requests have been answered
    if (atomic_load(&move_left) > 0 && atomic_fetch_sub(&move_left, 1) == 1) { moved = true; }
    if (!t) {
        return send_text(c, 404, "{\"error\":\"Invalid rev id\"}", "RevisionNotFound",
                         "Invalid rev id", NULL);
    }
    file *f = find_file(t, sl + 1);
    if (!f) {
        return send_text(c, 404, "{\"error\":\"Entry not found\"}", "EntryNotFound",
                         "Entry not found", t->commit);
    }
    if (!f->lfs) { return send_file(c, f, head, f->oid, t->commit); }
    char loc[512], size[32];
    snprintf(loc, sizeof loc,
             "http://127.0.0.1:%d/cdn/%s?X-Amz-Expires=%ld&Signature=minihub&"
             "response-content-disposition=attachment", port, f->sha256,
             (long)time(NULL) + cdn_ttl);
    snprintf(size, sizeof size, "%lld", (long long)f->size + lie_size);
    static const char redirect_body[] = "Found. Redirecting to the CDN";
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof redirect_body - 1, (void *)redirect_body, MHD_RESPMEM_PERSISTENT);
    char q[100];
    snprintf(q, sizeof q, "\"%s\"", f->sha256);
    MHD_add_response_header(resp, "Location", loc);
    if (!no_commit) { MHD_add_response_header(resp, "X-Repo-Commit", t->commit); }
    MHD_add_response_header(resp, "X-Linked-Etag", q);
    MHD_add_response_header(resp, "X-Linked-Size", size);
    MHD_add_response_header(resp, "ETag", "\"redirect-etag\"");
    ret = MHD_queue_response(c, 302, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result cdn(struct MHD_Connection *c, const char *url, bool head)
{
    const char *exp = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "X-Amz-Expires");
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")) {
        // a real CDN would refuse a signed URL carrying a token: make leaks loud
        return send_text(c, 400, "{\"error\":\"token sent to the CDN\"}", NULL,
                         "Authorization header sent to the CDN", NULL);
    }
    if (!exp || atol(exp) < (long)time(NULL)) {
        return send_text(c, 403, "<Error><Code>AccessDenied</Code>Request has expired</Error>",
                         NULL, NULL, NULL);
    }
    file *f = find_blob(url + 5);
    if (!f) { return send_text(c, 404, "{}", NULL, NULL, NULL); }
    return send_file(c, f, head, NULL, NULL);
}

static enum MHD_Result api(struct MHD_Connection *c, const char *url)
{
    // /api/models/ORG/NAME/revision/REV  |  /api/models/ORG/NAME/tree/REV
    const char *p = url + strlen("/api/models/");
    const char *kw = strstr(p, "/revision/");
    bool is_tree = false;
    if (!kw) {
        kw = strstr(p, "/tree/");
        is_tree = true;
    }
    if (!kw) { return send_text(c, 404, "{}", NULL, NULL, NULL); }
    repo *r = find_repo(p, (size_t)(kw - p));
    if (!r) {
        return send_text(c, 401, "{\"error\":\"Repository not found\"}", "RepoNotFound",
                         "Repository not found", NULL);
    }
    enum MHD_Result ret;
    if (deny(c, r, &ret)) { return ret; }
    const char *rev = strchr(kw + 1, '/') + 1;
    tree *t = resolve_rev(r, rev);
    if (!t) {
        return send_text(c, 404, "{\"error\":\"Invalid rev id\"}", "RevisionNotFound",
                         "Invalid rev id", NULL);
    }
    json_t *out;
    char link[1024] = "";
    if (!is_tree) {
        out = json_object();
        json_object_set_new(out, "id", json_string(r->id));
        json_object_set_new(out, "sha", json_string(t->commit));
        json_t *sib = json_array();
        for (size_t i = 0; i < t->n; i++) {
            json_t *s = json_object();
            json_object_set_new(s, "rfilename", json_string(t->files[i].path));
            json_array_append_new(sib, s);
        }
        json_object_set_new(out, "siblings", sib);
    } else {
        const char *cur = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
        size_t from = cur ? (size_t)atol(cur) : 0;
        out = json_array();
        size_t to = from + (size_t)page_size;
        if (to > t->n) { to = t->n; }
        for (size_t i = from; i < to; i++) {
            file *f = &t->files[i];
            const char *sl = strrchr(f->path, '/');
            if (sl &&
                (i == 0 || strncmp(t->files[i - 1].path, f->path, (size_t)(sl - f->path) + 1))) {
                json_t *d = json_object(); // a directory entry, as the Hub lists them
                json_object_set_new(d, "type", json_string("directory"));
                json_object_set_new(d, "oid",
                                    json_string("0000000000000000000000000000000000000000"));
                json_object_set_new(d, "size", json_integer(0));
                json_object_set_new(d, "path", json_stringn(f->path, (size_t)(sl - f->path)));
                json_array_append_new(out, d);
            }
            json_t *e = json_object();
            json_object_set_new(e, "type", json_string("file"));
            json_object_set_new(e, "oid", json_string(f->oid));
            json_object_set_new(e, "size", json_integer((json_int_t)(f->lfs ? 134 : f->size)));
            json_object_set_new(e, "path", json_string(f->path));
            if (f->lfs) {
                json_t *l = json_object();
                json_object_set_new(l, "oid", json_string(f->sha256));
                json_object_set_new(l, "size", json_integer((json_int_t)f->size));
                json_object_set_new(l, "pointerSize", json_integer(134));
                json_object_set_new(e, "lfs", l);
            }
            json_array_append_new(out, e);
        }
        if (evil_path && to == t->n) {
            json_t *e = json_object();
            json_object_set_new(e, "type", json_string("file"));
            json_object_set_new(e, "oid", json_string("1111111111111111111111111111111111111111"));
            json_object_set_new(e, "size", json_integer(1));
            json_object_set_new(e, "path", json_string(evil_path));
            json_array_append_new(out, e);
        }
        if (to < t->n) {
            snprintf(link, sizeof link,
                     "<http://127.0.0.1:%d/api/models/%s/tree/%s?recursive=true&expand=false&"
                     "cursor=%zu>; rel=\"next\"", port, r->id, t->commit, to);
        }
    }
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (link[0]) { MHD_add_response_header(resp, "Link", link); }
    ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    static int first;
    if (*state == NULL) { // called once for the headers; answer on the second call
        *state = &first;
        return MHD_YES;
    }
    bool head = strcmp(method, "HEAD") == 0;
    if (log_file) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
        pthread_mutex_lock(&log_mu);
        const char *cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
        fprintf(log_file, "%s %s auth=%s range=%s%s%s\n", method, url, auth ? "yes" : "no",
                range ? range : "-", cursor ? " cursor=" : "", cursor ? cursor : "");
        fflush(log_file);
        pthread_mutex_unlock(&log_mu);
    }
    if (!head && strcmp(method, "GET") != 0) {
        return send_text(c, 405, "{}", NULL, NULL, NULL);
    }
    if (take(&fail_left)) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            17, (void *)"{\"error\":\"busy\"}\n", MHD_RESPMEM_PERSISTENT);
        if (retry_after >= 0) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", retry_after);
            MHD_add_response_header(r, "Retry-After", ra);
        }
        enum MHD_Result ret = MHD_queue_response(c, (unsigned)fail_status, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strncmp(url, "/cdn/", 5) == 0) { return cdn(c, url, head); }
    if (strncmp(url, "/api/models/", 12) == 0) { return api(c, url); }
    if (strstr(url, "/resolve/")) { return resolve(c, url, head); }
    return send_text(c, 404, "{\"error\":\"not found\"}", NULL, NULL, NULL);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED && log_file) { // tests count connections (keep-alive)
        pthread_mutex_lock(&log_mu);
        fprintf(log_file, "CONNECT\n");
        fflush(log_file);
        pthread_mutex_unlock(&log_mu);
    }
}

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *root = NULL, *logp = NULL;
    int want_port = 0;
    double exit_after = 600;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
        if (OPT("--root")) {
            root = v;
        } else if (OPT("--port")) {
            want_port = atoi(v);
        } else if (OPT("--log")) {
            logp = v;
        } else if (OPT("--token")) {
            token = v;
        } else if (OPT("--gated")) {
            if (n_gated < 16) { gated[n_gated++] = (char *)v; }
        } else if (OPT("--private")) {
            if (n_private < 16) { private_[n_private++] = (char *)v; }
        } else if (OPT("--rename")) {
            char *eq = strchr(v, '=');
            if (!eq || n_rename >= 16) { die("--rename OLD=NEW"); }
            rename_from[n_rename] = strndup(v, (size_t)(eq - v));
            rename_to[n_rename++] = eq + 1;
        } else if (OPT("--throttle")) {
            throttle = atof(v);
        } else if (OPT("--drop-after")) {
            drop_after = strtoull(v, NULL, 10);
            if (atomic_load(&drop_left) == 0) { atomic_store(&drop_left, 1); }
        } else if (OPT("--drop-count")) {
            atomic_store(&drop_left, atoi(v));
        } else if (OPT("--stall-after")) {
            stall_after = strtoull(v, NULL, 10);
            if (atomic_load(&stall_left) == 0) { atomic_store(&stall_left, 1); }
        } else if (OPT("--stall-count")) {
            atomic_store(&stall_left, atoi(v));
        } else if (OPT("--stall-secs")) {
            stall_secs = atoi(v);
        } else if (OPT("--corrupt-count")) {
            atomic_store(&corrupt_left, atoi(v));
        } else if (OPT("--fail-status")) {
            fail_status = atoi(v);
        } else if (OPT("--fail-count")) {
            atomic_store(&fail_left, atoi(v));
        } else if (OPT("--retry-after")) {
            retry_after = atoi(v);
        } else if (strcmp(a, "--ignore-range") == 0) {
            ignore_range = true;
        } else if (OPT("--cdn-ttl")) {
            cdn_ttl = atoi(v);
        } else if (OPT("--move-after")) {
            atomic_store(&move_left, atoi(v));
        } else if (OPT("--page-size")) {
            page_size = atoi(v) > 0 ? atoi(v) : 1;
        } else if (OPT("--evil-path")) {
            evil_path = v;
        } else if (OPT("--lie-size")) {
            lie_size = atoll(v);
        } else if (strcmp(a, "--no-commit") == 0) {
            no_commit = true;
        } else if (OPT("--lfs-threshold")) {
            lfs_threshold = strtoull(v, NULL, 10);
        } else if (OPT("--exit-after")) {
            exit_after = atof(v);
        } else {
            fprintf(stderr, "wick-minihub: unknown or incomplete option %s\n", a);
            return 2;
        }
#undef OPT
    }
    if (stall_after == 0) { atomic_store(&stall_left, 0); }
    if (!root) { die("--root DIR is required"); }
    if (drop_after == 0) { atomic_store(&drop_left, 0); }
    load_root(root);
    if (logp) {
        log_file = fopen(logp, "a");
        if (!log_file) { die("cannot open the log"); }
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)want_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)60, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
    if (!d) { die("cannot start the HTTP server"); }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info ? info->port : want_port;
    printf("%d\n", port);
    fflush(stdout);
    double t0 = now_s();
    while (!stop && now_s() - t0 < exit_after) { usleep(50000); }
    MHD_stop_daemon(d);
    if (log_file) { fclose(log_file); }
    return 0;
}
