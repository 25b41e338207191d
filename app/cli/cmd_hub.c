// cmd_hub.c — `wick pull`, `wick ls`, `wick rm`: the Hugging Face Hub cache from the shell.
//
// pull drives the hub in embedded mode from its own poll() loop, which also draws progress:
// bars on a terminal, a plain line every few seconds otherwise (both on stderr). stdout carries
// one snapshot path (or one JSON object) per file, in listing order.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

// --- pull ----------------------------------------------------------------------------------------
typedef struct pull_file {
    char *file;
    uint64_t id;
    bool done;
    wick_status rc;
    char *msg, *commit, *path, *sha256;
    uint64_t size;
    bool cached;
} pull_file;

typedef struct pull_state {
    wick_hub *hub;
    const char *repo, *rev;
    pull_file *files;
    size_t n_files, cap_files;
    // listing
    bool listed;
    wick_status list_rc;
    char *list_msg, *commit;
    wick_hub_entry *entries; // deep copies
    size_t n_entries;
    size_t n_done;
    bool plain_progress; // stderr is not a terminal: a line per finished file
} pull_state;

static volatile sig_atomic_t interrupted;
static void on_sigint(int s)
{
    (void)s;
    interrupted = 1;
}

static char *dup_or_null(const char *s)
{
    if (!s) { return NULL; }
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) { memcpy(d, s, n); }
    return d;
}

static void on_list(const wick_hub_listing *l, void *ud)
{
    pull_state *ps = ud;
    ps->listed = true;
    ps->list_rc = l->status;
    ps->list_msg = dup_or_null(l->message);
    ps->commit = dup_or_null(l->commit);
    if (l->status < 0) { return; }
    ps->entries = calloc(l->n_entries ? l->n_entries : 1, sizeof *ps->entries);
    if (!ps->entries) {
        ps->list_rc = WICK_E_NOMEM;
        return;
    }
    for (size_t i = 0; i < l->n_entries; i++) {
        ps->entries[i].path = dup_or_null(l->entries[i].path);
        ps->entries[i].size = l->entries[i].size;
        ps->entries[i].sha256 = dup_or_null(l->entries[i].sha256);
    }
    ps->n_entries = l->n_entries;
}

static const char *human(uint64_t b, char *buf, size_t n);

static void on_file(const wick_hub_file *f, void *ud)
{
    pull_state *ps = ud;
    for (size_t i = 0; i < ps->n_files; i++) {
        pull_file *p = &ps->files[i];
        if (p->id != f->id) { continue; }
        p->done = true;
        p->rc = f->status;
        p->msg = dup_or_null(f->message);
        p->commit = dup_or_null(f->commit);
        p->path = dup_or_null(f->path);
        p->sha256 = dup_or_null(f->sha256);
        p->size = f->size;
        p->cached = f->cached;
        ps->n_done++;
        if (ps->plain_progress && f->status == WICK_OK) {
            char b[32];
            fprintf(stderr, "pull: %s %s (%s) [%zu/%zu]\n", f->cached ? "cached" : "done", f->file,
                    human(f->size, b, sizeof b), ps->n_done, ps->n_files);
        }
    }
}

static bool add_file(pull_state *ps, const char *file)
{
    for (size_t i = 0; i < ps->n_files; i++) {
        if (strcmp(ps->files[i].file, file) == 0) { return true; }
    }
    if (ps->n_files == ps->cap_files) {
        size_t cap = ps->cap_files ? 2 * ps->cap_files : 16;
        pull_file *f = realloc(ps->files, cap * sizeof *f);
        if (!f) { return false; }
        ps->files = f;
        ps->cap_files = cap;
    }
    memset(&ps->files[ps->n_files], 0, sizeof ps->files[0]);
    ps->files[ps->n_files].file = dup_or_null(file);
    return ps->files[ps->n_files++].file != NULL;
}

static bool is_glob(const char *p)
{
    return strpbrk(p, "*?[") != NULL;
}

// "dir/name-00002-of-00005.gguf" -> prefix length (up to "-00002"), index, count.
static bool shard_name(const char *f, size_t *plen, int *idx, int *count)
{
    size_t n = strlen(f);
    static const size_t tail = sizeof "-00001-of-00005.gguf" - 1;
    if (n <= tail || strcmp(f + n - 5, ".gguf") != 0) { return false; }
    const char *t = f + n - tail;
    int a, b;
    char dash1, dash2;
    if (sscanf(t, "%c%5d-of%c%5d.gguf", &dash1, &a, &dash2, &b) != 4 || dash1 != '-' ||
        dash2 != '-' || a < 1 || b < a || b > 99999) {
        return false;
    }
    *plen = (size_t)(t - f);
    *idx = a;
    *count = b;
    return true;
}

static const char *human(uint64_t b, char *buf, size_t n)
{
    static const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1000 && i < 4) {
        v /= 1000;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
    return buf;
}

static int drawn_lines;

static void draw_progress(pull_state *ps, bool tty, bool final)
{
    wick_hub_progress_info agg;
    if (wick_hub_progress(ps->hub, 0, &agg) < 0) { return; }
    for (size_t i = 0; i < ps->n_files; i++) { // the hub's aggregate covers running files only
        if (ps->files[i].done && ps->files[i].rc == WICK_OK) {
            agg.bytes_done += ps->files[i].size;
            agg.bytes_total += ps->files[i].size;
        }
    }
    char a[32], b[32], r[32];
    if (!tty) {
        if (final) { return; }
        fprintf(stderr, "pull: %s / %s, %s/s, %zu of %zu files done\n",
                human(agg.bytes_done, a, sizeof a), human(agg.bytes_total, b, sizeof b),
                human((uint64_t)agg.rate, r, sizeof r), ps->n_done, ps->n_files);
        return;
    }
    for (int i = 0; i < drawn_lines; i++) { fputs("\033[A\033[2K", stderr); }
    drawn_lines = 0;
    if (!final) {
        for (size_t i = 0; i < ps->n_files && drawn_lines < 8; i++) {
            pull_file *p = &ps->files[i];
            wick_hub_progress_info pi;
            if (p->done || wick_hub_progress(ps->hub, p->id, &pi) < 0 || pi.n_active == 0) {
                continue;
            }
            int pct =
                pi.bytes_total ? (int)(100.0 * (double)pi.bytes_done / (double)pi.bytes_total) : 0;
            char bar[21];
            for (int k = 0; k < 20; k++) { bar[k] = k < pct / 5 ? '#' : '.'; }
            bar[20] = '\0';
            double eta = pi.rate > 0 ? (double)(pi.bytes_total - pi.bytes_done) / pi.rate : 0;
            const char *name = strrchr(p->file, '/') ? strrchr(p->file, '/') + 1 : p->file;
            fprintf(stderr, "%-32.32s [%s] %3d%% %9s/s ETA %4.0fs\n", name, bar, pct,
                    human((uint64_t)pi.rate, r, sizeof r), eta);
            drawn_lines++;
        }
    }
    fprintf(stderr, "total: %s / %s, %s/s, %zu of %zu files\n", human(agg.bytes_done, a, sizeof a),
            human(agg.bytes_total, b, sizeof b), human((uint64_t)agg.rate, r, sizeof r), ps->n_done,
            ps->n_files);
    drawn_lines++;
    if (final) { drawn_lines = 0; }
    fflush(stderr);
}

// Runs the hub from this loop until `done` says so; draws progress now and then.
static wick_status run_loop(pull_state *ps, bool (*done)(pull_state *), bool show, bool tty)
{
    double last = 0;
    bool cancelled = false;
    while (!done(ps)) {
        if (interrupted && !cancelled) {
            wick_hub_cancel(ps->hub, 0);
            cancelled = true;
        }
        int ms = wick_hub_timeout_ms(ps->hub);
        if (ms < 0 || ms > 200) { ms = 200; }
        struct pollfd pfd = {wick_hub_fd(ps->hub), POLLIN, 0};
        if (poll(&pfd, 1, ms) < 0 && errno != EINTR) { break; }
        int running = 0;
        wick_status rc = wick_hub_perform(ps->hub, &running);
        if (rc < 0) { return rc; }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double now = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
        if (show && now - last >= (tty ? 0.2 : 3.0)) {
            if (last > 0 || tty) { draw_progress(ps, tty, false); }
            last = now;
        }
    }
    return WICK_OK;
}

static bool listed(pull_state *ps)
{
    return ps->listed;
}

static bool all_done(pull_state *ps)
{
    return ps->n_done == ps->n_files;
}

static void print_json(const pull_state *ps, const pull_file *p)
{
    printf("{\"repo\":");
    cli_json_string(stdout, ps->repo, strlen(ps->repo));
    printf(",\"file\":");
    cli_json_string(stdout, p->file, strlen(p->file));
    printf(",\"revision\":");
    cli_json_string(stdout, ps->rev, strlen(ps->rev));
    printf(",\"commit\":");
    cli_json_string(stdout, p->commit, strlen(p->commit));
    printf(",\"path\":");
    cli_json_string(stdout, p->path, strlen(p->path));
    printf(",\"size\":%llu,\"sha256\":", (unsigned long long)p->size);
    if (p->sha256) {
        cli_json_string(stdout, p->sha256, strlen(p->sha256));
    } else {
        printf("null");
    }
    printf(",\"cached\":%s}\n", p->cached ? "true" : "false");
}

static void free_state(pull_state *ps)
{
    for (size_t i = 0; i < ps->n_files; i++) {
        pull_file *p = &ps->files[i];
        free(p->file);
        free(p->msg);
        free(p->commit);
        free(p->path);
        free(p->sha256);
    }
    free(ps->files);
    for (size_t i = 0; i < ps->n_entries; i++) {
        free((char *)ps->entries[i].path);
        free((char *)ps->entries[i].sha256);
    }
    free(ps->entries);
    free(ps->list_msg);
    free(ps->commit);
    wick_hub_destroy(ps->hub);
}

static const cli_command *pull_cmd(void);

static int run_pull(int argc, char **argv)
{
    const char *repo = NULL, *rev = "main";
    const char *patterns[256];
    int n_pat = 0;
    bool json = false, quiet = false;
    int64_t parts = 1;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) { return cli_print_usage(pull_cmd()); }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            quiet = true;
        } else if (strcmp(argv[i], "--parts") == 0) {
            if (++i >= argc || !cli_parse_i64(argv[i], 1, 64, &parts)) {
                return cli_usage(pull_cmd(), "--parts needs a number from 1 to 64");
            }
        } else if (strcmp(argv[i], "--revision") == 0) {
            if (++i >= argc) { return cli_usage(pull_cmd(), "--revision needs a value"); }
            rev = argv[i];
        } else if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
            return cli_usage(pull_cmd(), "unknown option '%s'", argv[i]);
        } else if (!repo) {
            repo = argv[i];
        } else if (n_pat < 256) {
            patterns[n_pat++] = argv[i];
        } else {
            return cli_usage(pull_cmd(), "too many patterns (at most 256)");
        }
    }
    if (!repo) { return cli_usage(pull_cmd(), "missing REPO"); }
    signal(SIGXFSZ, SIG_IGN); // a file size limit becomes a clean "no space" error
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);

    pull_state ps = {0};
    ps.repo = repo;
    ps.rev = rev;
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    const char *e = getenv("WICK_HUB_BACKOFF_MS"); // tests: shorter waits between retries
    if (e) { o.backoff_ms = atoi(e); }
    e = getenv("WICK_HUB_STALL_MS");
    if (e) { o.stall_timeout_ms = atoi(e); }
    o.parts = (int)parts;
    e = getenv("WICK_HUB_PART_MIN"); // tests: split small files too
    if (e) { o.part_min_bytes = strtoull(e, NULL, 10); }
    wick_status rc = wick_hub_create(&o, &ps.hub);
    if (rc < 0) { return cli_fail_lib(rc, "pull"); }
    bool tty = isatty(2) && !quiet;
    bool show = !quiet;
    ps.plain_progress = show && !tty;
    int status = CLI_OK;

    bool need_list = n_pat == 0;
    for (int i = 0; i < n_pat; i++) {
        if (is_glob(patterns[i])) { need_list = true; }
    }
    const char *dl_rev = rev;
    if (need_list) {
        rc = wick_hub_list(ps.hub, repo, rev, on_list, &ps, NULL);
        if (rc < 0) {
            status = cli_fail_lib(rc, repo);
            goto done;
        }
        rc = run_loop(&ps, listed, false, tty);
        if (rc < 0 || ps.list_rc < 0) {
            if (rc >= 0) { fprintf(stderr, "wick: %s\n", ps.list_msg ? ps.list_msg : repo); }
            status = rc < 0 ? cli_fail_lib(rc, repo) : CLI_FAIL;
            goto done;
        }
        dl_rev = ps.commit; // the listing recorded refs/REV; fetch exactly that commit
        bool *hit = calloc((size_t)n_pat + 1, sizeof *hit);
        bool *sel = calloc(ps.n_entries + 1, sizeof *sel);
        if (!hit || !sel) {
            free(hit);
            free(sel);
            status = cli_fail("pull: out of memory");
            goto done;
        }
        for (size_t k = 0; k < ps.n_entries; k++) {
            const char *path = ps.entries[k].path;
            for (int i = 0; i < n_pat; i++) {
                bool m = is_glob(patterns[i]) ? wick_hub_glob_match(patterns[i], path)
                                              : strcmp(patterns[i], path) == 0;
                if (m) {
                    hit[i] = true;
                    sel[k] = true;
                }
            }
            if (n_pat == 0) { sel[k] = true; }
        }
        // A selected shard brings the rest of its set.
        for (size_t k = 0; k < ps.n_entries; k++) {
            size_t pl, ql;
            int a, n, b, m;
            if (!sel[k] || !shard_name(ps.entries[k].path, &pl, &a, &n)) { continue; }
            for (size_t q = 0; q < ps.n_entries; q++) {
                if (!sel[q] && shard_name(ps.entries[q].path, &ql, &b, &m) && m == n && ql == pl &&
                    strncmp(ps.entries[q].path, ps.entries[k].path, pl) == 0) {
                    sel[q] = true;
                }
            }
        }
        for (int i = 0; i < n_pat; i++) {
            if (!hit[i]) {
                fprintf(stderr, "wick: %s: pattern '%s' matches no file at revision '%s'\n", repo,
                        patterns[i], rev);
                status = CLI_FAIL;
            }
        }
        for (size_t k = 0; k < ps.n_entries && status == CLI_OK; k++) {
            if (sel[k] && !add_file(&ps, ps.entries[k].path)) {
                status = cli_fail("pull: out of memory");
            }
        }
        free(hit);
        free(sel);
        if (status != CLI_OK) { goto done; }
        if (ps.n_files == 0) {
            status = cli_fail("%s: no files at revision '%s'", repo, rev);
            goto done;
        }
    } else {
        for (int i = 0; i < n_pat && status == CLI_OK; i++) {
            size_t pl;
            int a, n;
            if (shard_name(patterns[i], &pl, &a, &n)) { // the whole set, in order
                for (int s = 1; s <= n && status == CLI_OK; s++) {
                    char name[4200];
                    snprintf(name, sizeof name, "%.*s-%05d-of-%05d.gguf", (int)pl, patterns[i], s,
                             n);
                    if (!add_file(&ps, name)) { status = cli_fail("pull: out of memory"); }
                }
            } else if (!add_file(&ps, patterns[i])) {
                status = cli_fail("pull: out of memory");
            }
        }
        if (status != CLI_OK) { goto done; }
    }
    for (size_t i = 0; i < ps.n_files; i++) {
        rc = wick_hub_download(ps.hub, repo, dl_rev, ps.files[i].file, on_file, &ps,
                               &ps.files[i].id);
        if (rc < 0) {
            // no callback will come for this one
            ps.files[i].done = true;
            ps.files[i].rc = rc;
            ps.files[i].msg = dup_or_null(wick_errmsg());
            ps.n_done++;
        }
    }
    rc = run_loop(&ps, all_done, show, tty);
    if (show) { draw_progress(&ps, tty, true); }
    if (rc < 0) {
        status = cli_fail_lib(rc, repo);
        goto done;
    }
    for (size_t i = 0; i < ps.n_files; i++) {
        pull_file *p = &ps.files[i];
        if (p->rc < 0) {
            fprintf(stderr, "wick: %s\n", p->msg && p->msg[0] ? p->msg : wick_strerror(p->rc));
            status = CLI_FAIL;
            continue;
        }
        if (json) {
            print_json(&ps, p);
        } else {
            printf("%s\n", p->path);
        }
    }
    if (interrupted) { status = CLI_FAIL; }
done:
    fflush(stdout);
    free_state(&ps);
    return status;
}

const cli_command cli_cmd_pull = {
    "pull", run_pull,
    "usage: wick pull REPO [PATTERN...] [--revision REV] [--parts N] [--json] [--quiet]\n"
    "\n"
    "Downloads files of a Hugging Face Hub repository into the Hugging Face cache (the one\n"
    "huggingface_hub uses), in parallel, resuming partial downloads and verifying each file\n"
    "(size, and sha256 for LFS files), then prints one snapshot path per line on stdout.\n"
    "\n"
    "  PATTERN        a path in the repo, or a glob with *, ? or [..] (fnmatch rules: * crosses\n"
    "                 '/'), selected from the repo listing; none: the whole repo. A selected\n"
    "                 shard NAME-00001-of-00005.gguf brings every shard of its set.\n"
    "  --revision REV a branch, tag or commit (default main)\n"
    "  --parts N      fetch each file of 256 MiB or more as N byte ranges at once (default 1;\n"
    "                 a split download that is interrupted starts over, one stream resumes)\n"
    "  --json         one object per file: repo, file, revision, commit, path, size, sha256\n"
    "  --quiet        no progress on stderr\n"
    "\n"
    "Exit status 0 only when every file is in the cache and verified.\n"
    "Environment: HF_TOKEN, HF_TOKEN_PATH, HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE=1.\n",
    "download files from the Hugging Face Hub into the cache"};

static const cli_command *pull_cmd(void)
{
    return &cli_cmd_pull;
}

// --- ls ------------------------------------------------------------------------------------------
typedef struct ls_opts {
    bool json;
    const char *only;
    int n;
} ls_opts;

static void on_repo(const wick_hub_cached_repo *r, void *ud)
{
    ls_opts *lo = ud;
    if (lo->only && strcmp(lo->only, r->repo) != 0) { return; }
    lo->n++;
    if (lo->json) {
        printf("{\"repo\":");
        cli_json_string(stdout, r->repo, strlen(r->repo));
        printf(",\"kind\":\"%s\",\"path\":", r->kind);
        cli_json_string(stdout, r->dir, strlen(r->dir));
        printf(",\"size_on_disk\":%llu,\"n_files\":%zu,\"refs\":{",
               (unsigned long long)r->size_on_disk, r->n_files);
        for (size_t i = 0; i < r->n_refs; i++) {
            if (i) { putchar(','); }
            cli_json_string(stdout, r->refs[i], strlen(r->refs[i]));
            putchar(':');
            cli_json_string(stdout, r->ref_commits[i], strlen(r->ref_commits[i]));
        }
        printf("},\"snapshots\":[");
        for (size_t i = 0; i < r->n_snapshots; i++) {
            if (i) { putchar(','); }
            cli_json_string(stdout, r->snapshots[i], strlen(r->snapshots[i]));
        }
        printf("]}\n");
        return;
    }
    char sz[32];
    printf("%-48s %10s  %4zu files  ", r->repo, human(r->size_on_disk, sz, sizeof sz), r->n_files);
    if (r->n_refs == 0) { printf("(no refs)"); }
    for (size_t i = 0; i < r->n_refs; i++) {
        printf("%s%s=%.12s", i ? " " : "", r->refs[i], r->ref_commits[i]);
    }
    size_t loose = 0; // snapshots no ref points to (pulled by commit, or older commits)
    for (size_t s = 0; s < r->n_snapshots; s++) {
        bool named = false;
        for (size_t i = 0; i < r->n_refs; i++) {
            if (strcmp(r->ref_commits[i], r->snapshots[s]) == 0) { named = true; }
        }
        if (!named) { loose++; }
    }
    if (loose) { printf(" +%zu commit%s", loose, loose > 1 ? "s" : ""); }
    putchar('\n');
}

static const cli_command *ls_cmd(void);

static int run_ls(int argc, char **argv)
{
    ls_opts lo = {0};
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) { return cli_print_usage(ls_cmd()); }
        if (strcmp(argv[i], "--json") == 0) {
            lo.json = true;
        } else if (argv[i][0] == '-') {
            return cli_usage(ls_cmd(), "unknown option '%s'", argv[i]);
        } else if (!lo.only) {
            lo.only = argv[i];
        } else {
            return cli_usage(ls_cmd(), "one REPO at most");
        }
    }
    wick_status rc = wick_hub_cache_scan(NULL, on_repo, &lo);
    if (rc < 0) { return cli_fail_lib(rc, "ls"); }
    if (lo.only && lo.n == 0) { return cli_fail("%s: not in the cache", lo.only); }
    return CLI_OK;
}

const cli_command cli_cmd_ls = {
    "ls", run_ls,
    "usage: wick ls [REPO] [--json]\n"
    "\n"
    "Lists the repositories in the Hugging Face cache (HF_HUB_CACHE, else HF_HOME/hub, else\n"
    "~/.cache/huggingface/hub): size on disk, number of files, refs (branch=commit) and\n"
    "commits no ref names. --json prints one object per repository: repo, kind, path,\n"
    "size_on_disk, n_files, refs {name: commit}, snapshots [commit...].\n",
    "list the repositories in the Hugging Face cache"};

static const cli_command *ls_cmd(void)
{
    return &cli_cmd_ls;
}

// --- rm ------------------------------------------------------------------------------------------
static const cli_command *rm_cmd(void);

static int run_rm(int argc, char **argv)
{
    const char *repo = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) { return cli_print_usage(rm_cmd()); }
        if (argv[i][0] == '-') { return cli_usage(rm_cmd(), "unknown option '%s'", argv[i]); }
        if (repo) { return cli_usage(rm_cmd(), "one REPO at a time"); }
        repo = argv[i];
    }
    if (!repo) { return cli_usage(rm_cmd(), "missing REPO"); }
    wick_status rc = wick_hub_cache_remove(NULL, repo);
    if (rc < 0) { return cli_fail_lib(rc, repo); }
    return CLI_OK;
}

const cli_command cli_cmd_rm = {
    "rm", run_rm,
    "usage: wick rm REPO\n"
    "\n"
    "Removes REPO's whole folder (every revision) from the Hugging Face cache. Fails, removing\n"
    "nothing, while a download of it holds a blob lock.\n",
    "remove a repository from the Hugging Face cache"};

static const cli_command *rm_cmd(void)
{
    return &cli_cmd_rm;
}
