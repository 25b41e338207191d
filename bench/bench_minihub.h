// bench_minihub.h — starting the fake Hub (wick-minihub, looked up next to the running benchmark,
// i.e. in the build directory) from a benchmark, on an ephemeral port of 127.0.0.1:
//
//   char bin[PATH_MAX + 16];
//   int port;
//   pid_t hub = bench_minihub_start(root, "8000000", bin, sizeof bin, &port); // throttle or NULL
//   ... http://127.0.0.1:port ...
//   bench_minihub_stop(hub);
//
// The server dies with the benchmark (PR_SET_PDEATHSIG) and exits by itself after 15 minutes.
#ifndef WICK_BENCH_MINIHUB_H
#define WICK_BENCH_MINIHUB_H

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

// Starts wick-minihub serving root (throttle: bytes per second as text, or NULL); fills bin with
// its path and *port with its port (0 when it did not start). Returns its pid, or -1.
static inline pid_t bench_minihub_start(const char *root, const char *throttle, char *bin,
                                        size_t bin_len, int *port)
{
    *port = 0;
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0) { return -1; }
    self[k] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(bin, bin_len, "%s/wick-minihub", self);
    int pfd[2];
    if (pipe(pfd) != 0) { return -1; }
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pfd[1], 1);
        close(pfd[0]);
        if (throttle) {
            execl(bin, bin, "--root", root, "--exit-after", "900", "--throttle", throttle,
                  (char *)NULL);
        } else {
            execl(bin, bin, "--root", root, "--exit-after", "900", (char *)NULL);
        }
        _exit(127);
    }
    close(pfd[1]);
    char line[32] = "";
    size_t n = 0;
    while (n < sizeof line - 1 && read(pfd[0], line + n, 1) == 1 && line[n] != '\n') { n++; }
    close(pfd[0]);
    *port = atoi(line);
    return pid;
}

static inline void bench_minihub_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

#endif
