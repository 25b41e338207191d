// bench_hub.c — N parallel downloads (default 8 × 256 MB) from the fake Hub over loopback: wick's
// hub driven from a caller's poll loop with a 10 ms timer (wall time, MB/s, largest timer gap),
// next to curl(1) fetching the same files in parallel (-Z, following the same 302 to the CDN).
// wick also verifies each file's sha256 while it streams; curl only writes.
//
//   bench_hub [N_FILES] [MB_PER_FILE]       env: WICK_BENCH_DIR (default /tmp/wick-bench-hub)
// wick-minihub is looked up next to this program (the build directory).
#if defined(__GNUC__) && !defined(__clang__) // GCC only: clang has no such warning
#pragma GCC diagnostic ignored "-Wformat-truncation" // fixed buffers, short paths
#endif
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_minihub.h"
#include "wick.h"

static char dir[1024], minihub_bin[PATH_MAX + 16];

static void make_files(int n, long mb)
{
    char p[1400];
    snprintf(p, sizeof p, "mkdir -p '%s/root/bench/eight'", dir);
    if (system(p) != 0) { exit(1); }
    bench_rng rng = bench_rng_seed(42);
    size_t chunk = 1 << 20;
    uint64_t *buf = malloc(chunk);
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/root/bench/eight/f%d.gguf", dir, i);
        struct stat st;
        if (stat(p, &st) == 0 && st.st_size == mb * (long)chunk) { continue; }
        FILE *f = fopen(p, "wb");
        for (long k = 0; k < mb; k++) {
            for (size_t w = 0; w < chunk / 8; w++) { buf[w] = bench_rng_u64(&rng); }
            fwrite(buf, 1, chunk, f);
        }
        fclose(f);
    }
    free(buf);
}

typedef struct res {
    int n_ok, n_done;
} res;

static void on_dl(const wick_hub_file *f, void *ud)
{
    res *r = ud;
    r->n_done++;
    if (f->status == WICK_OK) {
        r->n_ok++;
    } else {
        fprintf(stderr, "bench_hub: %s\n", f->message);
    }
}

static char perform_note[256];
static void on_log(wick_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    if (strstr(msg, "longest perform")) { snprintf(perform_note, sizeof perform_note, "%s", msg); }
}

static double run_wick(int port, int n, double *max_gap, int *ok)
{
    char cache[1200], url[64], cmd[1300];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    if (system(cmd) != 0) { return -1; }
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    wick_hub_opts o;
    wick_hub_opts_init(&o);
    o.endpoint = url;
    o.cache_dir = cache;
    o.token = "";
    o.offline = 0;
    o.max_transfers = n;
    wick_hub *h = NULL;
    if (wick_hub_create(&o, &h) < 0) {
        fprintf(stderr, "bench_hub: %s\n", wick_errmsg());
        return -1;
    }
    res r = {0};
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        char f[32];
        snprintf(f, sizeof f, "f%d.gguf", i);
        wick_hub_download(h, "bench/eight", NULL, f, on_dl, &r, NULL);
    }
    // The caller's loop: a 10 ms timer next to the hub's fd.
    double last = t0, next = t0 + 0.010;
    *max_gap = 0;
    int running = 1;
    while (running > 0) {
        int ms = wick_hub_timeout_ms(h);
        int until = (int)((next - bench_now()) * 1000) + 1;
        if (until < 0) { until = 0; }
        if (ms < 0 || ms > until) { ms = until; }
        struct pollfd p = {wick_hub_fd(h), POLLIN, 0};
        poll(&p, 1, ms);
        wick_hub_perform(h, &running);
        double now = bench_now();
        if (now >= next) {
            if (now - last > *max_gap) { *max_gap = now - last; }
            last = now;
            next = now + 0.010;
        }
    }
    double t = bench_now() - t0;
    wick_hub_destroy(h);
    *ok = r.n_ok;
    return t;
}

static double run_curl(int port, int n)
{
    char out[1200];
    snprintf(out, sizeof out, "%s/curl", dir);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", out, out);
    if (system(cmd) != 0) { return -1; }
    char *argv[10 + 4 * 64];
    char bufs[64][2][1400];
    int a = 0;
    argv[a++] = "curl";
    argv[a++] = "-sSfL";
    argv[a++] = "--no-progress-meter";
    argv[a++] = "-Z";
    argv[a++] = "--parallel-max";
    argv[a++] = "64";
    for (int i = 0; i < n && i < 64; i++) {
        snprintf(bufs[i][0], sizeof bufs[i][0],
                 "http://127.0.0.1:%d/bench/eight/resolve/main/f%d.gguf", port, i);
        snprintf(bufs[i][1], sizeof bufs[i][1], "%s/f%d.gguf", out, i);
        argv[a++] = "-o";
        argv[a++] = bufs[i][1];
        argv[a++] = bufs[i][0];
    }
    argv[a] = NULL;
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        execvp("curl", argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    double t = bench_now() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_hub: curl failed (status %d)\n", st);
        return -1;
    }
    return t;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 8;
    long mb = argc > 2 ? atol(argv[2]) : 256;
    if (n < 1 || n > 64 || mb < 1) {
        fprintf(stderr, "usage: bench_hub [N_FILES<=64] [MB_PER_FILE]\n");
        return 2;
    }
    const char *d = getenv("WICK_BENCH_DIR");
    snprintf(dir, sizeof dir, "%s", d ? d : "/tmp/wick-bench-hub");
    signal(SIGPIPE, SIG_IGN);
    wick_log_set_callback(on_log, NULL);
    wick_log_set_level(WICK_LOG_DEBUG);
    make_files(n, mb);
    int port = 0;
    char rootp[1100];
    snprintf(rootp, sizeof rootp, "%s/root", dir);
    pid_t hub = bench_minihub_start(rootp, NULL, minihub_bin, sizeof minihub_bin, &port);
    if (hub < 0 || port <= 0) {
        fprintf(stderr, "bench_hub: cannot start %s\n", minihub_bin);
        return 1;
    }
    double total_mb = (double)n * (double)mb * 1.048576;
    printf("bench_hub: %d parallel downloads of %ld MiB over loopback (fake Hub: 302 -> CDN)\n", n,
           mb);
    double best_w = 1e9, best_c = 1e9, worst_gap = 0;
    for (int rep = 0; rep < 2; rep++) {
        double gap = 0;
        int ok = 0;
        double tw = run_wick(port, n, &gap, &ok);
        double tc = run_curl(port, n);
        printf("  run %d: wick %.2f s (%.0f MB/s, %d/%d verified, largest 10 ms-timer gap %.1f ms;"
               " %s) | curl %.2f s (%.0f MB/s)\n", rep + 1, tw, total_mb / tw, ok, n, gap * 1000,
               perform_note + (strncmp(perform_note, "hub: ", 5) == 0 ? 5 : 0), tc, total_mb / tc);
        if (ok == n && tw > 0 && tw < best_w) { best_w = tw; }
        if (tc > 0 && tc < best_c) { best_c = tc; }
        if (gap > worst_gap) { worst_gap = gap; }
    }
    printf("best: wick %.2f s, curl %.2f s (wick/curl %.2f); largest event-loop gap %.1f ms\n",
           best_w, best_c, best_w / best_c, worst_gap * 1000);
    bench_minihub_stop(hub);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/cache' '%s/curl'", dir, dir);
    if (system(cmd) != 0) { return 1; }
    return 0;
}
