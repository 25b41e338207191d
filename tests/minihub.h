// minihub.h — running the fake Hub (wick-minihub) from a test: each scenario starts its own on an
// ephemeral port of 127.0.0.1, with a request log, and stops it. The test sets mh_root (the folder
// of repos it serves) and mh_scratch (where logs and caches go) first.
#ifndef WICK_TEST_MINIHUB_H
#define WICK_TEST_MINIHUB_H

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>

#include "harness.h"

static char mh_root[4200], mh_scratch[4096];

typedef struct minihub {
    pid_t pid;
    int port;
    char url[64];
    char log[4200];
    char cache[4200];
} minihub;

static int mh_n_hubs;

// Starts a minihub serving mh_root; args: extra options separated by single spaces (no quoting).
static bool mh_start(minihub *m, const char *args)
{
    memset(m, 0, sizeof *m);
    mh_n_hubs++;
    snprintf(m->log, sizeof m->log, "%s/req-%d.log", mh_scratch, mh_n_hubs);
    snprintf(m->cache, sizeof m->cache, "%s/cache-%d", mh_scratch, mh_n_hubs);
    unlink(m->log);
    const char *b = getenv("WICK_BUILD_DIR");
    char bin[4200];
    snprintf(bin, sizeof bin, "%s/wick-minihub", b ? b : ".");
    char *argv[64];
    int argc = 0;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", args ? args : "");
    argv[argc++] = bin;
    argv[argc++] = "--root";
    argv[argc++] = mh_root;
    argv[argc++] = "--log";
    argv[argc++] = m->log;
    argv[argc++] = "--exit-after";
    argv[argc++] = "120";
    for (char *t = strtok(buf, " "); t && argc < 62; t = strtok(NULL, " ")) { argv[argc++] = t; }
    argv[argc] = NULL;
    int pfd[2];
    if (pipe(pfd) != 0) { return false; }
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); // a crashed test leaves no server behind
        dup2(pfd[1], 1);
        close(pfd[0]);
        execv(bin, argv);
        _exit(127);
    }
    close(pfd[1]);
    char line[32] = "";
    size_t n = 0;
    struct pollfd p = {pfd[0], POLLIN, 0};
    while (n < sizeof line - 1 && poll(&p, 1, 20000) > 0) {
        ssize_t r = read(pfd[0], line + n, 1);
        if (r <= 0 || line[n] == '\n') { break; }
        n++;
    }
    close(pfd[0]);
    m->pid = pid;
    m->port = atoi(line);
    snprintf(m->url, sizeof m->url, "http://127.0.0.1:%d", m->port);
    CHECKF(m->port > 0, "minihub did not start (%s)", bin);
    return m->port > 0;
}

static void mh_stop(minihub *m)
{
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        waitpid(m->pid, NULL, 0);
        m->pid = 0;
    }
}

// Lines of the request log containing needle.
static int mh_log_count(const minihub *m, const char *needle)
{
    char *s = test_slurp(m->log, NULL);
    int c = 0;
    for (char *p = s; p && (p = strstr(p, needle)) != NULL; p++) { c++; }
    free(s);
    return c;
}

#endif
