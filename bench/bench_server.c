// bench_server.c — what the HTTP server costs: the same greedy completion through the C API
// (wick_stream_*) and through `wick serve` (POST /v1/completions, streamed, libcurl as the
// client), tokens/s of each and the server's as a % of the C API's, time to the first byte and
// to the first token; then the aggregate tokens/s of 1, 4 and 16 concurrent streaming clients.
//
//   build/bench_server MODEL.gguf [--tokens N] [--threads T] [--wick build/wick] [--runs R]
//
// The server is started here (`wick serve --port 0 --parallel 16`) and stopped at the end. Each
// figure is the best of R runs (default 3) after a warm-up request that loads the model.
#define _GNU_SOURCE // memmem
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "wick.h"

static const char *prompt = "The history of the printing press begins";

typedef struct run {
    double t0, t_first_byte, t_first_token, t_end;
    int64_t tokens;
    char *body;
    size_t len;
} run;

// ---- through the C API -------------------------------------------------------------------------

static run api_once(wick_registry *reg, const char *model, int n)
{
    run r = {0};
    wick_request q;
    wick_request_init(&q);
    q.model = model;
    q.prompt = prompt;
    q.max_tokens = n;
    q.sampling.temperature = 0;
    wick_stream *st;
    r.t0 = bench_now();
    if (wick_stream_start(reg, &q, &st) != WICK_OK) {
        fprintf(stderr, "bench_server: %s\n", wick_errmsg());
        exit(1);
    }
    const wick_chunk *c;
    while (wick_stream_next(st, -1, &c) == WICK_OK) {
        if (c->type == WICK_CHUNK_CONTENT && !r.t_first_token) { r.t_first_token = bench_now(); }
        if (c->type == WICK_CHUNK_ERROR) {
            fprintf(stderr, "bench_server: %s\n", c->message);
            exit(1);
        }
        if (c->type == WICK_CHUNK_DONE) { r.tokens = c->usage.completion_tokens; }
    }
    r.t_end = bench_now();
    r.t_first_byte = r.t_first_token;
    wick_stream_free(st);
    return r;
}

// ---- through the server ------------------------------------------------------------------------

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    run *r = ud;
    size_t n = sz * nm;
    double now = bench_now();
    if (!r->t_first_byte) { r->t_first_byte = now; }
    if (!r->t_first_token && memmem(p, n, "\"text\":\"", 8) && !memmem(p, n, "\"text\":\"\"", 9)) {
        r->t_first_token = now;
    }
    char *b = realloc(r->body, r->len + n + 1);
    if (!b) { return 0; }
    memcpy(b + r->len, p, n);
    r->body = b;
    r->len += n;
    b[r->len] = 0;
    return n;
}

// Reads usage.completion_tokens from the stream's usage event.
static int64_t usage_tokens(const char *body)
{
    const char *u = body ? strstr(body, "\"usage\":") : NULL;
    if (!u) { return 0; }
    const char *line = u;
    while (line > body && line[-1] != '\n') {
        line--;
    }
    if (strncmp(line, "data: ", 6) != 0) { return 0; }
    json_t *j = json_loadb(line + 6, strcspn(line + 6, "\n"), 0, NULL);
    int64_t n =
        json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens"));
    json_decref(j);
    return n;
}

// k concurrent streaming requests; returns the runs (caller frees bodies).
static void http_many(const char *url, const char *model, int n, int k, run *rs)
{
    CURLM *m = curl_multi_init();
    CURL *h[64];
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    json_t *rq = json_pack("{s:s, s:s, s:i, s:i, s:b, s:{s:b}}", "model", model, "prompt", prompt,
                           "max_tokens", n, "temperature", 0, "stream", 1, "stream_options",
                           "include_usage", 1);
    char *body = json_dumps(rq, JSON_COMPACT);
    json_decref(rq);
    for (int i = 0; i < k; i++) {
        memset(&rs[i], 0, sizeof rs[i]);
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &rs[i]);
        curl_multi_add_handle(m, h[i]);
        rs[i].t0 = bench_now();
    }
    int running = k;
    while (running) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            for (int i = 0; i < k; i++) {
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == h[i]) {
                    rs[i].t_end = bench_now();
                }
            }
        }
        if (running) { curl_multi_poll(m, NULL, 0, 100, NULL); }
    }
    for (int i = 0; i < k; i++) {
        rs[i].tokens = usage_tokens(rs[i].body);
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdr);
    free(body);
}

static pid_t start_server(const char *wick, const char *threads, int *port)
{
    int fds[2];
    if (pipe(fds) != 0) { exit(1); }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        const char *argv[] = {wick, "serve", "--port", "0", "--parallel", "16", "--queue", "64",
                              threads ? "--threads" : NULL, threads, NULL};
        execv(wick, (char **)argv);
        _exit(127);
    }
    close(fds[1]);
    char line[256] = {0};
    size_t n = 0;
    while (n < sizeof line - 1 && read(fds[0], line + n, 1) == 1 && line[n] != '\n') {
        n++;
    }
    close(fds[0]);
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "listening on ", 13) != 0 || !colon) {
        fprintf(stderr, "bench_server: %s did not start (%s)\n", wick, line);
        exit(1);
    }
    *port = atoi(colon + 1);
    return pid;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *wick = "build/wick", *threads = NULL;
    int n = 256, runs = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokens") && i + 1 < argc) {
            n = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = argv[++i];
        } else if (!strcmp(argv[i], "--wick") && i + 1 < argc) {
            wick = argv[++i];
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else {
            model = argv[i];
        }
    }
    if (!model || n < 1 || runs < 1) {
        fprintf(
            stderr,
            "usage: bench_server MODEL.gguf [--tokens N] [--threads T] [--wick PATH] [--runs R]\n");
        return 2;
    }
    char abs_model[4096];
    if (!realpath(model, abs_model)) { snprintf(abs_model, sizeof abs_model, "%s", model); }
    curl_global_init(CURL_GLOBAL_DEFAULT);

    // C API
    wick_registry_opts ro;
    wick_registry_opts_init(&ro);
    if (threads) { ro.n_threads = atoi(threads); }
    wick_registry *reg;
    if (wick_registry_create(&ro, &reg) != WICK_OK) {
        fprintf(stderr, "bench_server: %s\n", wick_errmsg());
        return 1;
    }
    api_once(reg, abs_model, 4); // load
    run best_api = {0};
    double best_api_tps = 0;
    for (int i = 0; i < runs; i++) {
        run r = api_once(reg, abs_model, n);
        double tps = (double)r.tokens / (r.t_end - r.t0);
        if (tps > best_api_tps) {
            best_api_tps = tps;
            best_api = r;
        }
    }
    wick_registry_destroy(reg);

    // the server
    int port;
    pid_t pid = start_server(wick, threads, &port);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/completions", port);
    run rs[16];
    http_many(url, abs_model, 4, 1, rs); // load
    free(rs[0].body);
    run best_http = {0};
    double best_http_tps = 0;
    for (int i = 0; i < runs; i++) {
        http_many(url, abs_model, n, 1, rs);
        double tps = (double)rs[0].tokens / (rs[0].t_end - rs[0].t0);
        if (tps > best_http_tps) {
            best_http_tps = tps;
            best_http = rs[0];
        }
        free(rs[0].body);
    }
    printf("model %s, greedy, %d tokens asked, prompt \"%s\"\n", model, n, prompt);
    printf("C API:    %4lld tokens in %7.1f ms: %7.1f tokens/s, first token %6.1f ms\n",
           (long long)best_api.tokens, 1e3 * (best_api.t_end - best_api.t0), best_api_tps,
           1e3 * (best_api.t_first_token - best_api.t0));
    printf("server:   %4lld tokens in %7.1f ms: %7.1f tokens/s = %.1f %% of the C API, first byte "
           "%6.1f ms, first token %6.1f ms\n",
           (long long)best_http.tokens, 1e3 * (best_http.t_end - best_http.t0), best_http_tps,
           100 * best_http_tps / best_api_tps, 1e3 * (best_http.t_first_byte - best_http.t0),
           1e3 * (best_http.t_first_token - best_http.t0));
    static const int ks[] = {1, 4, 16};
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        int k = ks[c];
        double best = 0, ttft = 0;
        for (int i = 0; i < runs; i++) {
            double t0 = bench_now();
            http_many(url, abs_model, n, k, rs);
            double t = bench_now() - t0, first = 0;
            int64_t tok = 0;
            for (int j = 0; j < k; j++) {
                tok += rs[j].tokens;
                first += rs[j].t_first_token - rs[j].t0;
                free(rs[j].body);
            }
            if ((double)tok / t > best) {
                best = (double)tok / t;
                ttft = first / k;
            }
        }
        printf("%2d concurrent clients: %7.1f tokens/s aggregate (%.2fx one client), mean first "
               "token %6.1f ms\n",
               k, best, best / best_http_tps, 1e3 * ttft);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    curl_global_cleanup();
    return 0;
}
