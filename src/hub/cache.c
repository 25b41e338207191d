// cache.c — the huggingface_hub cache on disk: folders, refs, relative symlinks, .no_exist
// markers, flock() locks shared with Python's filelock, and `wick ls` / `wick rm`.
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub/hub_internal.h"

char *wk_hub_repo_folder(const char *cache_dir, const char *repo)
{
    // "--".join(["models", *repo_id.split("/")])
    const char *slash = strchr(repo, '/');
    if (!slash) { return wk_asprintf("%s/models--%s", cache_dir, repo); }
    return wk_asprintf("%s/models--%.*s--%s", cache_dir, (int)(slash - repo), repo, slash + 1);
}

wick_status wk_hub_mkdirs(const char *path, bool last_too)
{
    char *p = wk_strdup(path);
    if (!p) { return wk_fail_nomem("path"); }
    size_t n = strlen(p);
    if (!last_too) {
        char *s = strrchr(p, '/');
        if (!s) {
            wk_free(p);
            return WICK_OK;
        }
        *s = '\0';
        n = strlen(p);
    }
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                wick_status rc = wk_fail(e == ENOSPC || e == EDQUOT ? WICK_E_NOSPACE : WICK_E_IO,
                                         "%s: cannot create folder: %s", p, strerror(e));
                wk_free(p);
                return rc;
            }
            p[i] = c;
        }
    }
    wk_free(p);
    return WICK_OK;
}

bool wk_hub_read_ref(const char *repo_dir, const char *rev, char commit[41])
{
    char *path = wk_asprintf("%s/refs/%s", repo_dir, rev);
    char *data = NULL;
    size_t len = 0;
    bool ok = false;
    if (path && wk_read_file(path, 256, &data, &len) >= 0) {
        // Python writes no newline; llama.cpp and hf-hub trim, so we trim too.
        while (len > 0 &&
               (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ')) {
            data[--len] = '\0';
        }
        if (wk_hub_is_hex(data, 40)) {
            memcpy(commit, data, 41);
            ok = true;
        }
    }
    wk_free(data);
    wk_free(path);
    return ok;
}

wick_status wk_hub_write_ref(const char *repo_dir, const char *rev, const char *commit)
{
    if (strcmp(rev, commit) == 0) { return WICK_OK; }
    char old[41];
    if (wk_hub_read_ref(repo_dir, rev, old) && strcmp(old, commit) == 0) { return WICK_OK; }
    wick_status rc = WICK_OK;
    char *path = wk_asprintf("%s/refs/%s", repo_dir, rev);
    char *tmp = wk_asprintf("%s/refs/%s.%d.tmp", repo_dir, rev, (int)getpid());
    if (!path || !tmp) {
        rc = wk_fail_nomem("ref path");
        goto done;
    }
    rc = wk_hub_mkdirs(path, false);
    if (rc < 0) { goto done; }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        rc = wk_fail(WICK_E_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    ssize_t w = write(fd, commit, 40); // no trailing newline: Python reads it without strip()
    int e = errno;
    close(fd);
    if (w != 40) {
        unlink(tmp);
        rc = wk_fail(e == ENOSPC ? WICK_E_NOSPACE : WICK_E_IO, "%s: %s", tmp,
                     w < 0 ? strerror(e) : "short write");
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = wk_fail(WICK_E_IO, "%s: %s", path, strerror(errno));
        unlink(tmp);
    }
done:
    wk_free(path);
    wk_free(tmp);
    return rc;
}

bool wk_hub_snapshot_info(const char *pointer, char etag[129], uint64_t *size)
{
    struct stat st;
    if (stat(pointer, &st) != 0 || !S_ISREG(st.st_mode)) { return false; }
    *size = (uint64_t)st.st_size;
    etag[0] = '\0';
    char target[4096];
    ssize_t n = readlink(pointer, target, sizeof target - 1);
    if (n > 0) {
        target[n] = '\0';
        const char *b = strrchr(target, '/');
        b = b ? b + 1 : target;
        if (strlen(b) < 129) { strcpy(etag, b); }
    }
    return true;
}

wick_status wk_hub_link(const char *pointer, const char *file, const char *etag)
{
    // relpath(blob, dirname(pointer)): snapshots/<commit>/<file> -> ../../blobs/<etag>, one more
    // "../" per folder inside the repo path.
    wk_buf t;
    wk_buf_init(&t, 8192);
    wick_status rc = wk_buf_puts(&t, "../../");
    for (const char *p = file; rc >= 0 && *p; p++) {
        if (*p == '/') { rc = wk_buf_puts(&t, "../"); }
    }
    if (rc >= 0) { rc = wk_buf_printf(&t, "blobs/%s", etag); }
    char *tmp = wk_asprintf("%s.%d.lnk", pointer, (int)getpid());
    if (rc < 0 || !tmp) {
        rc = rc < 0 ? rc : wk_fail_nomem("link");
        goto done;
    }
    rc = wk_hub_mkdirs(pointer, false);
    if (rc < 0) { goto done; }
    unlink(tmp);
    if (symlink(t.data, tmp) != 0) {
        rc = wk_fail(WICK_E_IO, "%s: cannot create symlink: %s", pointer, strerror(errno));
        goto done;
    }
    if (rename(tmp, pointer) != 0) {
        rc = wk_fail(WICK_E_IO, "%s: %s", pointer, strerror(errno));
        unlink(tmp);
    }
done:
    wk_free(tmp);
    wk_buf_free(&t);
    return rc;
}

void wk_hub_touch_no_exist(const char *repo_dir, const char *commit, const char *file)
{
    char *p = wk_asprintf("%s/.no_exist/%s/%s", repo_dir, commit, file);
    if (p && wk_hub_mkdirs(p, false) >= 0) {
        int fd = open(p, O_WRONLY | O_CREAT, 0666);
        if (fd >= 0) { close(fd); }
    }
    wk_free(p);
}

bool wk_hub_no_exist(const char *repo_dir, const char *commit, const char *file)
{
    char *p = wk_asprintf("%s/.no_exist/%s/%s", repo_dir, commit, file);
    bool r = p && access(p, F_OK) == 0;
    wk_free(p);
    return r;
}

void wk_hub_cachedir_tag(const char *cache_dir)
{
    char *p = wk_asprintf("%s/CACHEDIR.TAG", cache_dir);
    if (p && access(p, F_OK) != 0) {
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0) {
            static const char tag[] = "Signature: 8a477f597d28d172789f06886806bc55\n"
                                      "# This file is a cache directory tag created by wick.\n";
            if (write(fd, tag, sizeof tag - 1) < 0) { wk_debug("%s: cannot write", p); }
            close(fd);
        }
    }
    wk_free(p);
}

int wk_hub_lock_try(const char *path, int *out)
{
    // As tox-dev/filelock on Unix: open O_RDWR|O_CREAT|O_TRUNC|O_NOFOLLOW 0664, flock(LOCK_EX|
    // LOCK_NB); after taking it, a file unlinked meanwhile (st_nlink 0) does not count.
    wick_status rc = wk_hub_mkdirs(path, false);
    if (rc < 0) { return rc; }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0664);
    if (fd < 0) {
        int e = errno;
        return wk_fail(e == ENOSPC ? WICK_E_NOSPACE : WICK_E_IO, "%s: %s", path, strerror(e));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK || e == EINTR) { return 0; }
        return wk_fail(WICK_E_IO, "%s: flock: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_nlink == 0) {
        close(fd);
        return 0;
    }
    *out = fd;
    return 1;
}

void wk_hub_unlock(const char *path, int fd)
{
    if (fd < 0) { return; }
    // filelock's release: unlink, then unlock, then close.
    unlink(path);
    flock(fd, LOCK_UN);
    close(fd);
}

// --- public: cache dir, scan, remove -------------------------------------------------------------
wick_status wick_hub_cache_dir(const wick_hub_opts *o, char **out)
{
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_hub_cache_dir: out is NULL"); }
    *out = (o && o->cache_dir) ? wk_strdup(o->cache_dir) : wk_hub_default_cache();
    return *out ? WICK_OK : wk_fail_nomem("cache path");
}

static _Thread_local uint64_t scan_size; // nftw has no user pointer
static _Thread_local size_t scan_files;

static int size_walk(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)f;
    (void)p;
    if (flag == FTW_F && S_ISREG(st->st_mode)) { scan_size += (uint64_t)st->st_blocks * 512; }
    if ((flag == FTW_F || flag == FTW_SL) && strstr(p, "/snapshots/")) { scan_files++; }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static wick_status strlist_add(strlist *l, char *s)
{
    if (!s) { return wk_fail_nomem("name"); }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = wk_realloc(l->v, cap * sizeof *v);
        if (!v) {
            wk_free(s);
            return wk_fail_nomem("name list");
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return WICK_OK;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++) { wk_free(l->v[i]); }
    wk_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static wick_status list_dir(const char *dir, strlist *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        return errno == ENOENT ? WICK_OK : wk_fail(WICK_E_IO, "%s: %s", dir, strerror(errno));
    }
    wick_status rc = WICK_OK;
    struct dirent *e;
    while (rc >= 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') { continue; }
        rc = strlist_add(out, wk_strdup(e->d_name));
    }
    closedir(d);
    if (rc >= 0 && out->n) { qsort(out->v, out->n, sizeof *out->v, cmp_str); }
    return rc;
}

// refs may be nested (refs/pr/1): collect "a/b" names.
static wick_status list_refs(const char *base, const char *rel, strlist *names)
{
    char *dir = rel[0] ? wk_asprintf("%s/%s", base, rel) : wk_strdup(base);
    if (!dir) { return wk_fail_nomem("refs"); }
    strlist l = {0};
    wick_status rc = list_dir(dir, &l);
    for (size_t i = 0; rc >= 0 && i < l.n; i++) {
        char *r = rel[0] ? wk_asprintf("%s/%s", rel, l.v[i]) : wk_strdup(l.v[i]);
        char *full = wk_asprintf("%s/%s", dir, l.v[i]);
        struct stat st;
        if (r && full && stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = list_refs(base, r, names);
            wk_free(r);
        } else if (r && strstr(r, ".tmp") == NULL) {
            rc = strlist_add(names, r);
        } else {
            wk_free(r);
        }
        wk_free(full);
    }
    strlist_free(&l);
    wk_free(dir);
    return rc;
}

wick_status wick_hub_cache_scan(const char *cache_dir, wick_hub_scan_cb cb, void *ud)
{
    char *cache = cache_dir ? wk_strdup(cache_dir) : wk_hub_default_cache();
    if (!cache) { return wk_fail_nomem("cache path"); }
    strlist top = {0};
    wick_status rc = list_dir(cache, &top);
    for (size_t i = 0; rc >= 0 && i < top.n; i++) {
        const char *name = top.v[i];
        static const char *const kinds[][2] = {
            {"models--", "model"}, {"datasets--", "dataset"}, {"spaces--", "space"}};
        const char *kind = NULL;
        size_t plen = 0;
        for (size_t k = 0; k < 3; k++) {
            if (strncmp(name, kinds[k][0], strlen(kinds[k][0])) == 0) {
                kind = kinds[k][1];
                plen = strlen(kinds[k][0]);
            }
        }
        if (!kind) { continue; }
        char *repo = wk_strdup(name + plen), *dir = wk_asprintf("%s/%s", cache, name);
        char *refs_dir = wk_asprintf("%s/refs", dir ? dir : "");
        char *snap_dir = wk_asprintf("%s/snapshots", dir ? dir : "");
        strlist refs = {0}, commits = {0}, snaps = {0};
        if (!repo || !dir || !refs_dir || !snap_dir) { rc = wk_fail_nomem("cache scan"); }
        if (rc >= 0) {
            char *sep = strstr(repo, "--"); // org--name -> org/name
            if (sep) { memmove(sep + 1, sep + 2, strlen(sep + 2) + 1), *sep = '/'; }
            rc = list_refs(refs_dir, "", &refs);
        }
        for (size_t r = 0; rc >= 0 && r < refs.n; r++) {
            char c[41] = "";
            if (!wk_hub_read_ref(dir, refs.v[r], c)) { c[0] = '\0'; }
            rc = strlist_add(&commits, wk_strdup(c));
        }
        if (rc >= 0) { rc = list_dir(snap_dir, &snaps); }
        if (rc >= 0) {
            scan_size = 0;
            scan_files = 0;
            nftw(dir, size_walk, 16, FTW_PHYS);
            wick_hub_cached_repo cr = {repo, kind, dir, scan_size, scan_files, refs.n,
                                       (const char *const *)refs.v, (const char *const *)commits.v,
                                       snaps.n, (const char *const *)snaps.v};
            if (cb) { cb(&cr, ud); }
        }
        strlist_free(&refs);
        strlist_free(&commits);
        strlist_free(&snaps);
        wk_free(repo);
        wk_free(dir);
        wk_free(refs_dir);
        wk_free(snap_dir);
    }
    strlist_free(&top);
    wk_free(cache);
    return rc;
}

static int rm_walk(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)f;
    int r = (flag == FTW_DP) ? rmdir(p) : unlink(p);
    return r == 0 || errno == ENOENT ? 0 : -1;
}

wick_status wick_hub_cache_remove(const char *cache_dir, const char *repo)
{
    if (!wk_hub_valid_repo(repo)) {
        return wk_fail(WICK_E_INVALID, "'%s': not a repository id (expected ORG/NAME)",
                       repo ? repo : "(null)");
    }
    char *cache = cache_dir ? wk_strdup(cache_dir) : wk_hub_default_cache();
    char *dir = cache ? wk_hub_repo_folder(cache, repo) : NULL;
    char *locks = NULL;
    strlist names = {0};
    int *fds = NULL;
    size_t n_fds = 0;
    wick_status rc = WICK_OK;
    if (!dir) {
        rc = wk_fail_nomem("cache path");
        goto done;
    }
    locks = wk_asprintf("%s/.locks/%s", cache, strrchr(dir, '/') + 1);
    if (!locks) {
        rc = wk_fail_nomem("lock path");
        goto done;
    }
    struct stat st;
    if (lstat(dir, &st) != 0) {
        rc = wk_fail(WICK_E_NOT_FOUND, "%s: '%s' is not in the cache", dir, repo);
        goto done;
    }
    // Take every blob lock without waiting: a download in progress (ours or Python's) holds one.
    rc = list_dir(locks, &names);
    if (rc >= 0 && names.n) {
        fds = wk_calloc(names.n, sizeof *fds);
        if (!fds) { rc = wk_fail_nomem("locks"); }
    }
    for (size_t i = 0; rc >= 0 && i < names.n; i++) {
        char *lp = wk_asprintf("%s/%s", locks, names.v[i]);
        int fd = -1;
        int t = lp ? wk_hub_lock_try(lp, &fd) : wk_fail_nomem("lock");
        wk_free(lp);
        if (t == 0) {
            rc = wk_fail(WICK_E_BUSY, "%s: a download of '%s' is running (lock %s held)", dir,
                         repo, names.v[i]);
        } else if (t < 0) {
            rc = t;
        } else {
            fds[n_fds++] = fd;
        }
    }
    if (rc >= 0 && nftw(dir, rm_walk, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        rc = wk_fail(WICK_E_IO, "%s: cannot remove: %s", dir, strerror(errno));
    }
    for (size_t i = 0; i < n_fds; i++) {
        char *lp = wk_asprintf("%s/%s", locks, names.v[i]);
        if (lp) { wk_hub_unlock(lp, fds[i]); } else { close(fds[i]); }
        wk_free(lp);
    }
    if (rc >= 0) { rmdir(locks); }
done:
    wk_free(fds);
    strlist_free(&names);
    wk_free(locks);
    wk_free(dir);
    wk_free(cache);
    return rc;
}
