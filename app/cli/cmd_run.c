// cmd_run.c — `wick run SPEC [PROMPT]`: one completion stream, shown as it comes (wick.h
// section 7). The tool waits on the stream's fd with poll(), beside a self-pipe that SIGINT
// writes to: Ctrl-C cancels the stream (a `done` with finish reason cancelled still comes).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char run_usage[] =
    "usage: wick run SPEC [PROMPT] [options]\n"
    "\n"
    "Generates from a model named by SPEC: a .gguf path, or [hf.co/]OWNER/REPO[@REV][:TAG] on\n"
    "the Hugging Face Hub (fetched into its cache; TAG picks the quantization, default Q4_K_M\n"
    "when the repo has several). The prompt is PROMPT, --prompt TEXT, --tokens IDS, or stdin.\n"
    "Text streams to stdout; on a terminal a progress bar shows the download and reasoning is\n"
    "shown dimmed before the answer (not printed when stdout is not a terminal: see --json).\n"
    "Speeds go to stderr. Exit status 1 when the stream ends in an error.\n"
    "\n"
    "options:\n"
    "  --model SPEC         the model (instead of the first argument)\n"
    "  --prompt TEXT        the prompt (raw text: special-token text recognised, BOS as the\n"
    "                       vocabulary says; with --chat: the user's message)\n"
    "  --tokens ID,ID,...   the prompt as token ids (no template, no BOS added)\n"
    "  --chat               render the prompt as a user message with the chat template\n"
    "  --system TEXT        a system message (implies --chat)\n"
    "  --chat-template FILE a Jinja chat template instead of the model's\n"
    "  --tokenizer SPEC     tokenizer.json (file, folder or OWNER/REPO) instead of the GGUF's\n"
    "  --max-tokens N       tokens to generate at most (default -1: until the end or the\n"
    "                       context is full)\n"
    "  --temperature T      0 = greedy (default 0.8); --top-k K (40), --top-p P (0.95),\n"
    "                       --min-p P (0.05), --repeat-penalty R (1 = off), --seed S\n"
    "                       (default: random): llama.cpp's sampler chain\n"
    "  --stop TEXT          stop before TEXT (repeatable, up to 16)\n"
    "  --ignore-eos         do not stop at end-of-generation tokens\n"
    "  --no-think           ask the template not to think; close any thinking at once\n"
    "  --reasoning-budget N force </think> after N reasoning tokens\n"
    "  --threads N          threads to compute with (default: the number of CPUs)\n"
    "  --ctx N              context positions (default: the model's, at most 8192)\n"
    "  --kv-type T          KV cache element type: f32 (default) or f16\n"
    "  --no-repack          keep the weights in the file's layout (no copy at load: faster\n"
    "                       open, slower decode; same results; as WICK_REPACK=0)\n"
    "  --dist MODE          under mpirun (MPI builds): the model spread over the ranks, rank 0\n"
    "                       runs the command, the others only compute; pipeline (layers),\n"
    "                       expert (routed experts of a mixture of experts) or auto; a rank\n"
    "                       that dies is named in an error chunk under mpirun --enable-recovery\n"
    "  --json               one JSON object per line per chunk: progress, reasoning, content,\n"
    "                       tool_call, error, and last done (finish_reason, usage, timings, ids)\n";

static int sig_pipe[2] = {-1, -1};

static void on_sigint(int sig)
{
    (void)sig;
    char c = 1;
    ssize_t w = write(sig_pipe[1], &c, 1);
    (void)w;
}

int cli_sigint_install(void)
{
    if (sig_pipe[0] < 0) {
        if (pipe(sig_pipe) != 0) { return -1; }
        for (int i = 0; i < 2; i++) {
            fcntl(sig_pipe[i], F_SETFL, O_NONBLOCK);
            fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    return sig_pipe[0];
}

bool cli_sigint_take(void)
{
    char buf[64];
    bool any = false;
    while (read(sig_pipe[0], buf, sizeof buf) > 0) { any = true; }
    return any;
}

int cli_stream_show(wick_stream *st, cli_view *v)
{
    int sfd = cli_sigint_install();
    cli_sigint_take(); // a Ctrl-C pressed before the stream began is not for it
    for (;;) {
        const wick_chunk *c;
        wick_status rc = wick_stream_next(st, 0, &c);
        if (rc == WICK_DONE) { break; }
        if (rc == WICK_OK) {
            cli_view_chunk(v, c);
            if (c->type == WICK_CHUNK_DONE) { v->done = *c; }
            if (v->on_chunk) { v->on_chunk(v->ud, c); }
            continue;
        }
        if (rc != WICK_AGAIN) { return cli_fail_lib(rc, "stream"); }
        struct pollfd p[2] = {{wick_stream_fd(st), POLLIN, 0}, {sfd, POLLIN, 0}};
        if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) {
            return cli_fail("poll: %s", strerror(errno));
        }
        if (sfd >= 0 && (p[1].revents & POLLIN) && cli_sigint_take()) { wick_stream_cancel(st); }
    }
    return CLI_OK;
}

// Reads all of stdin (a prompt given through a pipe).
static char *read_stdin(void)
{
    size_t cap = 1 << 12, len = 0;
    char *b = malloc(cap);
    while (b) {
        if (len + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
        }
        size_t r = fread(b + len, 1, cap - len - 1, stdin);
        len += r;
        if (r == 0) { break; }
    }
    if (b) { b[len] = '\0'; }
    return b;
}

static int run_run(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_run;
    cli_gen g;
    cli_gen_init(&g);
    const char *prompt = NULL, *tokens = NULL, *system = NULL;
    bool chat = false, json = false;
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        int r = cli_gen_option(cmd, argc, argv, &i, &g);
        if (r < 0) { return CLI_USAGE; }
        if (r > 0) { continue; }
        const char *o = argv[i];
        if (!strcmp(o, "--json")) {
            json = true;
        } else if (!strcmp(o, "--chat")) {
            chat = true;
        } else if (!strcmp(o, "--prompt") || !strcmp(o, "-p") || !strcmp(o, "--tokens") ||
                   !strcmp(o, "--system")) {
            if (i + 1 >= argc) { return cli_usage(cmd, "%s needs a value", o); }
            const char *v = argv[++i];
            if (!strcmp(o, "--tokens")) {
                tokens = v;
            } else if (!strcmp(o, "--system")) {
                system = v;
                chat = true;
            } else {
                prompt = v;
            }
        } else if (o[0] == '-' && o[1] != '\0') {
            return cli_usage(cmd, "unknown option '%s'", o);
        } else if (n_pos == 0 && !g.model) {
            g.model = o;
            n_pos++;
        } else if (!prompt) {
            prompt = o;
            n_pos++;
        } else {
            return cli_usage(cmd, "unexpected argument '%s'", o);
        }
    }
    if (!g.model) { return cli_usage(cmd, "no model: give SPEC or --model SPEC"); }
    if (tokens && (prompt || chat)) {
        return cli_usage(cmd, "--tokens is a whole prompt: no PROMPT, --prompt or --chat with it");
    }
    int32_t *ids = NULL;
    size_t n_ids = 0;
    char *in = NULL;
    if (tokens && !cli_parse_ids(tokens, &ids, &n_ids)) {
        return cli_usage(cmd, "--tokens: '%s' is not a comma-separated list of token ids", tokens);
    }
    if (!tokens && !prompt) {
        in = read_stdin();
        if (!in) { return cli_fail("stdin: cannot read the prompt"); }
        prompt = in;
    }
    wick_message msgs[2];
    size_t n_msgs = 0;
    if (chat) {
        if (system) { msgs[n_msgs++] = (wick_message){.role = "system", .content = system}; }
        msgs[n_msgs++] = (wick_message){.role = "user", .content = prompt};
        g.rq.messages = msgs;
        g.rq.n_messages = n_msgs;
    } else if (tokens) {
        g.rq.tokens = ids;
        g.rq.n_tokens = n_ids;
    } else {
        g.rq.prompt = prompt;
    }

    wick_registry *reg = NULL;
    wick_stream *st = NULL;
    int rc = cli_gen_start(&g, 1, &reg); // an MPI worker rank (--dist): done, no registry
    if (rc == CLI_OK && reg) {
        wick_status s = wick_stream_start(reg, &g.rq, &st);
        if (s < 0) { rc = cli_fail_lib(s, g.model); }
    }
    if (rc == CLI_OK && st) {
        cli_view v;
        cli_view_init(&v, json);
        rc = cli_stream_show(st, &v);
        if (rc == CLI_OK && !json && v.done.type == WICK_CHUNK_DONE) {
            if (v.wrote_text) { putchar('\n'); }
            int out_rc = fflush(stdout); // the text first, then the speeds
            cli_print_timings(&v.done);
            if (out_rc != 0) { rc = cli_fail("stdout: write failed"); }
        }
        if (rc == CLI_OK && (v.failed || v.finish == WICK_FINISH_ERROR)) { rc = CLI_FAIL; }
        if (rc == CLI_OK && fflush(stdout) != 0) { rc = cli_fail("stdout: write failed"); }
    }
    wick_stream_free(st);
    wick_registry_destroy(reg);
    cli_gen_free(&g);
    free(ids);
    free(in);
    return rc;
}

const cli_command cli_cmd_run = {
    "run",
    run_run,
    run_usage,
    "generate from a model (a path or a Hub spec): text, chat, or JSON chunks",
};
