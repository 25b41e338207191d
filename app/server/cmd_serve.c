// cmd_serve.c — `wick serve`: options, the API key, signals, and the server's life.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "server.h"

#define MAX_LIST 64 // --model and --alias entries

// "8G", "512M", "1048576": bytes (binary suffixes K, M, G, T).
static bool parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-') { return false; }
    unsigned shift = 0;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return false;
    }
    if (*end && end[1] && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0) { return false; }
    if (shift && v > (UINT64_MAX >> shift)) { return false; }
    *out = (uint64_t)v << shift;
    return true;
}

// The first line of path, without trailing blanks.
static char *read_key_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "wick: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char line[4096];
    char *k = fgets(line, sizeof line, f) ? line : NULL;
    fclose(f);
    if (k) {
        size_t n = strlen(k);
        while (n && (k[n - 1] == '\n' || k[n - 1] == '\r' || k[n - 1] == ' ' || k[n - 1] == '\t')) {
            k[--n] = 0;
        }
    }
    if (!k || !*k) {
        fprintf(stderr, "wick: %s: no key on the first line\n", path);
        return NULL;
    }
    return strdup(k);
}

static int run(int argc, char **argv)
{
    srv_opts o = {.host = "127.0.0.1", .port = 8080, .parallel = 4, .queue = 64, .timeout_s = 30};
    const char *models[MAX_LIST];
    srv_alias aliases[MAX_LIST];
    size_t n_models = 0, n_aliases = 0;
    const char *key = NULL, *key_file = NULL, *dist = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (strncmp(a, "--", 2) != 0) {
            return cli_usage(&cli_cmd_serve, "unexpected argument '%s'", a);
        }
        if (strcmp(a, "--no-repack") == 0) {
            o.be.no_repack = true;
            continue;
        }
        if (!v) { return cli_usage(&cli_cmd_serve, "%s needs a value", a); }
        i++;
        if (strcmp(a, "--host") == 0) {
            o.host = v;
        } else if (strcmp(a, "--port") == 0) {
            if (!cli_parse_i64(v, 0, 65535, &n)) {
                return cli_usage(&cli_cmd_serve, "--port: expected 0..65535");
            }
            o.port = (int)n;
        } else if (strcmp(a, "--api-key") == 0) {
            key = v;
        } else if (strcmp(a, "--api-key-file") == 0) {
            key_file = v;
        } else if (strcmp(a, "--model") == 0) {
            if (n_models == MAX_LIST) { return cli_usage(&cli_cmd_serve, "too many --model"); }
            models[n_models++] = v;
        } else if (strcmp(a, "--alias") == 0) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) {
                return cli_usage(&cli_cmd_serve, "--alias: expected NAME=SPEC");
            }
            if (n_aliases == MAX_LIST) { return cli_usage(&cli_cmd_serve, "too many --alias"); }
            aliases[n_aliases].name = strndup(v, (size_t)(eq - v));
            aliases[n_aliases++].spec = eq + 1;
        } else if (strcmp(a, "--max-models") == 0) {
            if (!cli_parse_i64(v, 1, 1024, &n)) {
                return cli_usage(&cli_cmd_serve, "--max-models: expected 1..1024");
            }
            o.be.max_models = (int)n;
        } else if (strcmp(a, "--memory") == 0) {
            if (!parse_bytes(v, &o.be.memory)) {
                return cli_usage(&cli_cmd_serve, "--memory: expected bytes (e.g. 8G)");
            }
        } else if (strcmp(a, "--parallel") == 0) {
            if (!cli_parse_i64(v, 1, 256, &n)) {
                return cli_usage(&cli_cmd_serve, "--parallel: expected 1..256");
            }
            o.parallel = (int)n;
        } else if (strcmp(a, "--queue") == 0) {
            if (!cli_parse_i64(v, 0, 100000, &n)) {
                return cli_usage(&cli_cmd_serve, "--queue: expected 0..100000");
            }
            o.queue = (int)n;
        } else if (strcmp(a, "--ctx") == 0) {
            if (!cli_parse_i64(v, 16, INT32_MAX, &n)) {
                return cli_usage(&cli_cmd_serve, "--ctx: expected a count >= 16");
            }
            o.be.n_ctx = n;
        } else if (strcmp(a, "--threads") == 0) {
            if (!cli_parse_i64(v, 1, 1024, &n)) {
                return cli_usage(&cli_cmd_serve, "--threads: expected 1..1024");
            }
            o.be.n_threads = (int)n;
        } else if (strcmp(a, "--dist") == 0) {
            if (strcmp(v, "pipeline") && strcmp(v, "expert") && strcmp(v, "auto")) {
                return cli_usage(&cli_cmd_serve, "--dist: expected 'pipeline', 'expert' or 'auto'");
            }
#ifndef WICK_MPI
            return cli_usage(&cli_cmd_serve,
                             "--dist: this wick was built without MPI (-DWICK_MPI=ON)");
#endif
            dist = v;
        } else if (strcmp(a, "--timeout") == 0) {
            if (!cli_parse_i64(v, 1, 86400, &n)) {
                return cli_usage(&cli_cmd_serve, "--timeout: expected seconds");
            }
            o.timeout_s = (int)n;
        } else {
            return cli_usage(&cli_cmd_serve, "unknown option '%s'", a);
        }
    }
    if (key && key_file) {
        return cli_usage(&cli_cmd_serve, "--api-key and --api-key-file exclude each other");
    }
    char *key_owned = NULL;
    if (key_file) {
        key_owned = read_key_file(key_file);
        if (!key_owned) { return CLI_FAIL; }
        key = key_owned;
    } else if (!key && getenv("WICK_API_KEY") && *getenv("WICK_API_KEY")) {
        key = getenv("WICK_API_KEY");
    }
    if (key && !*key) { return cli_usage(&cli_cmd_serve, "--api-key: empty"); }
    o.api_key = key;
    o.aliases = aliases;
    o.n_aliases = n_aliases;
    o.be.n_parallel = o.parallel;
    if (n_models == 1) {
        o.default_model = models[0];
    } else if (n_models == 0 && n_aliases == 1) {
        o.default_model = aliases[0].name;
    }

#ifdef WICK_MPI
    // --dist: rank 0 serves; the other ranks only compute, until rank 0 ends
    wick_dist *d = NULL;
    if (dist) {
        wick_status ds = wick_dist_init(&d);
        if (ds >= 0 && wick_dist_rank(d) != 0) {
            ds = wick_dist_worker(d, o.be.n_threads);
            wick_dist_finish(d);
            free(key_owned);
            for (size_t i = 0; i < n_aliases; i++) { free((char *)aliases[i].name); }
            return ds < 0 ? cli_fail_lib(ds, "serve --dist") : CLI_OK;
        }
        if (ds < 0 || (ds = wick_dist_front(d, dist)) < 0) {
            wick_dist_finish(d);
            free(key_owned);
            for (size_t i = 0; i < n_aliases; i++) { free((char *)aliases[i].name); }
            return cli_fail_lib(ds, "serve --dist");
        }
        o.be.session_hook = wick_dist_session_hook;
        o.be.session_ctx = d;
    }
#endif

    // Signals: SIGINT/SIGTERM are taken by sigwait below; every thread started from here on
    // inherits the mask. A client gone mid-write must not kill the process.
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    int rc = CLI_FAIL;
    be_engine *be = NULL;
    srv *s = NULL;
    wick_status st = be_engine_create(&o.be, &be);
    if (st != WICK_OK) {
        cli_fail_lib(st, "serve");
        goto out;
    }
    int port = 0;
    if (!srv_start(&o, be, &s, &port)) { goto out; }
    // Preloads start (in the background) before the first line, so a client that reads it and
    // asks /v1/models at once already sees them as loading.
    for (size_t i = 0; i < n_models; i++) {
        be_engine_preload(be, models[i]);
    }
    bool v6 = strchr(o.host, ':') != NULL;
    printf("listening on http://%s%s%s:%d\n", v6 ? "[" : "", o.host, v6 ? "]" : "", port);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "wick serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv_stop(s, 5000);
    s = NULL;
    rc = CLI_OK;
out:
    srv_stop(s, 0);
    be_engine_destroy(be);
#ifdef WICK_MPI
    wick_dist_finish(d); // after the engine: its sessions are released
#endif
    for (size_t i = 0; i < n_aliases; i++) {
        free((char *)aliases[i].name);
    }
    free(key_owned);
    return rc;
}

const cli_command cli_cmd_serve = {
    "serve", run,
    "usage: wick serve [--host 127.0.0.1] [--port 8080] [--api-key KEY | --api-key-file F]\n"
    "                  [--model SPEC]... [--alias NAME=SPEC]... [--max-models N] [--memory BYTES]\n"
    "                  [--parallel N] [--queue N] [--ctx N] [--threads N] [--timeout S]\n"
    "                  [--dist MODE] [--no-repack]\n"
    "\n"
    "An OpenAI-compatible HTTP server. The first line on stdout is 'listening on\n"
    "http://HOST:PORT' (--port 0 picks a free port); request logs go to stderr. SIGINT or SIGTERM\n"
    "stops it: no new connections, waiting requests get 503, running streams are cancelled; exit\n"
    "status 0.\n"
    "\n"
    "endpoints:\n"
    "  POST /v1/chat/completions   chat (stream, tools, reasoning_content, logprobs, usage)\n"
    "  POST /v1/completions        a prompt (text or token ids)\n"
    "  GET  /v1/models             loaded, loading and cached models\n"
    "  GET  /health                {\"status\":\"ok\", slots and queue}\n"
    "  POST /tokenize /detokenize  as llama-server has them\n"
    "\n"
    "options:\n"
    "  --host H           address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port P           TCP port (default 8080; 0: any free port)\n"
    "  --api-key KEY      require 'Authorization: Bearer KEY' (also $WICK_API_KEY)\n"
    "  --api-key-file F   the key is the first line of F\n"
    "  --model SPEC       load this model at start (in the background); with one --model, it is\n"
    "                     the model of requests that name none. SPEC: a .gguf path or\n"
    "                     [hf.co/]OWNER/REPO[@REV][:TAG]\n"
    "  --alias NAME=SPEC  let requests name SPEC as NAME\n"
    "  --max-models N     models kept loaded at once\n"
    "  --memory BYTES     memory the loaded models may use (e.g. 16G)\n"
    "  --parallel N       requests generated at once (default 4)\n"
    "  --queue N          requests that may wait for a slot (default 64; 429 beyond)\n"
    "  --ctx N            context positions per request\n"
    "  --threads N        compute threads\n"
    "  --no-repack        keep the weights in the file's layout (no copy at load: faster load,\n"
    "                     slower decode; same results; as WICK_REPACK=0)\n"
    "  --dist MODE        under mpirun (MPI builds): the models spread over the ranks, rank 0\n"
    "                     serves, the others compute; pipeline, expert or auto; the streams\n"
    "                     of a step go through the ranks together. A rank that dies ends the\n"
    "                     streams with an error chunk naming it only under mpirun\n"
    "                     --enable-recovery (else mpirun ends the whole job at once)\n"
    "  --timeout S        drop clients idle (or sending a request) longer than S s (default 30)\n",
    "serve models over an OpenAI-compatible HTTP API",
};
