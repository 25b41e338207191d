// gen_args.c — what `wick run` and `wick chat` share: the generation options, the registry they
// run on, and how chunks are shown (text with a progress bar and dimmed reasoning on a terminal,
// or one JSON line per chunk).
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_gen_init(cli_gen *g)
{
    memset(g, 0, sizeof *g);
    g->kv = WICK_KV_F32;
    wick_request_init(&g->rq);
}

void cli_gen_free(cli_gen *g)
{
    free(g->chat_template);
    g->chat_template = NULL;
#ifdef WICK_MPI
    wick_dist_finish(g->d); // after the registry: its sessions are released
    g->d = NULL;
#endif
}

static int need_value(const cli_command *cmd, int argc, int i, const char *o)
{
    if (i + 1 >= argc) { return cli_usage(cmd, "%s needs a value", o); }
    return 0;
}

static bool is(const char *o, const char *a, const char *b)
{
    return strcmp(o, a) == 0 || (b && strcmp(o, b) == 0);
}

int cli_gen_option(const cli_command *cmd, int argc, char **argv, int *i, cli_gen *g)
{
    const char *o = argv[*i];
    wick_sampler_opts *sp = &g->rq.sampling;
    if (is(o, "--ignore-eos", NULL)) {
        g->rq.ignore_eos = true;
        return 1;
    }
    if (is(o, "--no-think", NULL)) {
        g->rq.think = 0;
        return 1;
    }
    if (is(o, "--no-repack", NULL)) {
        g->no_repack = true;
        return 1;
    }
    static const char *const valued[] = {
        "--model", "-m", "--tokenizer", "--chat-template", "--threads", "-t", "--ctx",
        "--kv-type", "--max-tokens", "-n", "--temperature", "--temp", "--top-k", "--top-p",
        "--min-p", "--seed", "--stop", "--reasoning-budget", "--repeat-penalty", "--dist", NULL};
    bool known = false;
    for (int k = 0; valued[k]; k++) { known |= strcmp(o, valued[k]) == 0; }
    if (!known) { return 0; }
    if (need_value(cmd, argc, *i, o)) { return -1; }
    const char *v = argv[++*i];
    int64_t n;
    double d;
    if (is(o, "--model", "-m")) {
        g->model = v;
    } else if (is(o, "--dist", NULL)) {
        if (strcmp(v, "pipeline") && strcmp(v, "expert") && strcmp(v, "auto")) {
            return cli_usage(cmd, "--dist: expected 'pipeline', 'expert' or 'auto'"), -1;
        }
#ifndef WICK_MPI
        return cli_usage(cmd, "--dist: this wick was built without MPI (-DWICK_MPI=ON)"), -1;
#endif
        g->dist = v;
    } else if (is(o, "--tokenizer", NULL)) {
        g->rq.tokenizer = v;
    } else if (is(o, "--chat-template", NULL)) {
        g->template_file = v;
    } else if (is(o, "--threads", "-t")) {
        if (!cli_parse_i64(v, 1, 256, &g->threads)) {
            return cli_usage(cmd, "--threads: '%s' is not a number in 1..256", v), -1;
        }
    } else if (is(o, "--ctx", NULL)) {
        if (!cli_parse_i64(v, 1, INT64_C(1) << 24, &g->ctx)) {
            return cli_usage(cmd, "--ctx: '%s' is not a positive number", v), -1;
        }
    } else if (is(o, "--kv-type", NULL)) {
        if (strcmp(v, "f32") && strcmp(v, "f16")) {
            return cli_usage(cmd, "--kv-type: '%s' is not f32 or f16", v), -1;
        }
        g->kv = strcmp(v, "f16") == 0 ? WICK_KV_F16 : WICK_KV_F32;
    } else if (is(o, "--max-tokens", "-n")) {
        if (!cli_parse_i64(v, -1, INT64_C(1) << 24, &g->rq.max_tokens)) {
            return cli_usage(cmd, "--max-tokens: '%s' is not a number >= -1", v), -1;
        }
    } else if (is(o, "--temperature", "--temp")) {
        if (!cli_parse_double(v, &d) || d < 0 || d > 100) {
            return cli_usage(cmd, "--temperature: '%s' is not a number in [0, 100]", v), -1;
        }
        sp->temperature = (float)d;
    } else if (is(o, "--top-k", NULL)) {
        if (!cli_parse_i64(v, 0, INT32_MAX, &n)) {
            return cli_usage(cmd, "--top-k: '%s' is not a number >= 0", v), -1;
        }
        sp->top_k = (int32_t)n;
    } else if (is(o, "--top-p", NULL) || is(o, "--min-p", NULL)) {
        bool top = is(o, "--top-p", NULL);
        if (!cli_parse_double(v, &d) || !(d >= 0 && d <= 1)) {
            return cli_usage(cmd, "%s: '%s' is not a number in [0, 1]", o, v), -1;
        }
        *(top ? &sp->top_p : &sp->min_p) = (float)d;
    } else if (is(o, "--seed", NULL)) {
        if (!cli_parse_i64(v, 0, INT64_MAX, &n)) {
            return cli_usage(cmd, "--seed: '%s' is not a number >= 0", v), -1;
        }
        sp->seed = (uint64_t)n;
    } else if (is(o, "--repeat-penalty", NULL)) {
        if (!cli_parse_double(v, &d) || !(d > 0) || d > 1e6) {
            return cli_usage(cmd, "--repeat-penalty: '%s' is not a number > 0", v), -1;
        }
        sp->repeat_penalty = (float)d;
    } else if (is(o, "--reasoning-budget", NULL)) {
        if (!cli_parse_i64(v, -1, INT64_C(1) << 24, &g->rq.reasoning_budget)) {
            return cli_usage(cmd, "--reasoning-budget: '%s' is not a number >= -1", v), -1;
        }
    } else { // --stop
        if (g->n_stop == 16) { return cli_usage(cmd, "--stop: at most 16"), -1; }
        if (!*v) { return cli_usage(cmd, "--stop: empty"), -1; }
        g->stop[g->n_stop++] = v;
    }
    return 1;
}

// Reads --chat-template FILE and makes the registry the command runs on.
int cli_gen_start(cli_gen *g, int n_seq, wick_registry **out)
{
    *out = NULL;
    g->rq.model = g->model;
    g->rq.stop = g->n_stop ? g->stop : NULL;
    g->rq.n_stop = g->n_stop;
    if (g->template_file) {
        FILE *f = fopen(g->template_file, "rb");
        size_t cap = 1 << 16, len = 0;
        char *buf = f ? malloc(cap) : NULL;
        while (buf) {
            size_t r = fread(buf + len, 1, cap - len - 1, f);
            len += r;
            if (r == 0) { break; }
            if (len + 1 == cap) {
                char *nb = cap < (64u << 20) ? realloc(buf, cap *= 2) : NULL;
                if (!nb) {
                    free(buf);
                    buf = NULL;
                }
                buf = nb;
            }
        }
        if (f) { fclose(f); }
        if (!buf) { return cli_fail("%s: cannot read the chat template", g->template_file); }
        buf[len] = '\0';
        g->chat_template = buf;
        g->rq.chat_template = buf;
    }
    wick_registry_opts ro;
    wick_registry_opts_init(&ro);
    ro.n_threads = (int)g->threads;
    ro.n_ctx = g->ctx;
    ro.kv_type = g->kv;
    ro.model.repack = !g->no_repack;
    ro.n_seq = n_seq;
    ro.max_models = 1;
#ifdef WICK_MPI
    if (g->dist) { // rank 0 runs the registry; the others only compute (*out stays NULL)
        wick_status rc = wick_dist_init(&g->d);
        if (rc < 0) { return cli_fail_lib(rc, "MPI"); }
        if (wick_dist_rank(g->d) != 0) {
            rc = wick_dist_worker(g->d, (int)g->threads);
            return rc < 0 ? cli_fail_lib(rc, g->model) : CLI_OK;
        }
        if ((rc = wick_dist_front(g->d, g->dist)) < 0) { return cli_fail_lib(rc, "--dist"); }
        ro.session_hook = wick_dist_session_hook;
        ro.session_ctx = g->d;
    }
#endif
    wick_status rc = wick_registry_create(&ro, out);
    return rc < 0 ? cli_fail_lib(rc, "registry") : CLI_OK;
}

// --- showing chunks ------------------------------------------------------------------------------

void cli_view_init(cli_view *v, bool json)
{
    memset(v, 0, sizeof *v);
    v->json = json;
    v->tty_out = isatty(1);
    v->tty_err = isatty(2);
}

static void clear_bar(cli_view *v)
{
    if (v->bar_shown) {
        fputs("\r\x1b[K", stderr);
        v->bar_shown = false;
    }
}

static void human(double b, char *out, size_t cap)
{
    if (b >= 1e9) {
        snprintf(out, cap, "%.2f GB", b / 1e9);
    } else {
        snprintf(out, cap, "%.1f MB", b / 1e6);
    }
}

static void show_progress(cli_view *v, const wick_chunk *c)
{
    if (!v->tty_err) { return; }
    char a[32], b[32];
    if (strcmp(c->stage, "download") == 0 && c->total > 0) {
        human((double)c->done, a, sizeof a);
        human((double)c->total, b, sizeof b);
        int pct = (int)((double)c->done * 100.0 / (double)c->total);
        int w = pct * 30 / 100;
        fprintf(stderr, "\r\x1b[Kpulling [%.*s%*s] %3d%% %s / %s", w,
                "==============================", 30 - w, "", pct, a, b);
    } else if (strcmp(c->stage, "prefill") == 0 && c->total > 0) {
        fprintf(stderr, "\r\x1b[Kprompt %" PRIu64 " / %" PRIu64 " tokens", c->done, c->total);
    } else {
        fprintf(stderr, "\r\x1b[K%s...", strcmp(c->stage, "load") == 0 ? "loading" : c->stage);
    }
    fflush(stderr);
    v->bar_shown = true;
}

static void json_done(const wick_chunk *c)
{
    const wick_usage *u = &c->usage;
    const wick_timings *t = &c->timings;
    printf("{\"type\":\"done\",\"finish_reason\":\"%s\",\"usage\":{\"prompt_tokens\":%" PRId64
           ",\"completion_tokens\":%" PRId64 ",\"reasoning_tokens\":%" PRId64
           ",\"cached_tokens\":%" PRId64 "},",
           wick_finish_reason_name(c->finish_reason), u->prompt_tokens, u->completion_tokens,
           u->reasoning_tokens, u->cached_tokens);
    printf("\"timings\":{\"prompt_n\":%" PRId64 ",\"prompt_ms\":%.3f,\"prompt_per_second\":%.3f,"
           "\"predicted_n\":%" PRId64 ",\"predicted_ms\":%.3f,\"predicted_per_second\":%.3f,"
           "\"load_ms\":%.3f,\"first_token_ms\":%.3f},\"ids\":[",
           t->prompt_n, t->prompt_ms, t->prompt_per_second, t->predicted_n, t->predicted_ms,
           t->predicted_per_second, t->load_ms, t->first_token_ms);
    for (size_t i = 0; i < c->n_ids; i++) { printf(i ? ",%d" : "%d", c->ids[i]); }
    printf("]}\n");
}

static void json_chunk(const wick_chunk *c)
{
    switch (c->type) {
    case WICK_CHUNK_PROGRESS:
        printf("{\"type\":\"progress\",\"stage\":\"%s\",\"done\":%" PRIu64 ",\"total\":%" PRIu64
               "}\n",
               c->stage, c->done, c->total);
        break;
    case WICK_CHUNK_REASONING:
    case WICK_CHUNK_CONTENT:
        printf("{\"type\":\"%s\",\"text\":", wick_chunk_type_name(c->type));
        cli_json_string(stdout, c->text, c->len);
        printf("}\n");
        break;
    case WICK_CHUNK_TOOL_CALL:
        printf("{\"type\":\"tool_call\",\"index\":%d,\"id\":", c->tool_index);
        cli_json_string(stdout, c->tool_id, strlen(c->tool_id));
        printf(",\"name\":");
        cli_json_string(stdout, c->tool_name, strlen(c->tool_name));
        printf(",\"arguments\":");
        cli_json_string(stdout, c->tool_arguments, strlen(c->tool_arguments));
        printf("}\n");
        break;
    case WICK_CHUNK_ERROR:
        printf("{\"type\":\"error\",\"code\":\"%s\",\"message\":", wick_status_name(c->code));
        cli_json_string(stdout, c->message, strlen(c->message));
        printf("}\n");
        break;
    case WICK_CHUNK_DONE: json_done(c); break;
    }
    fflush(stdout);
}

void cli_print_timings(const wick_chunk *c)
{
    const wick_timings *t = &c->timings;
    fprintf(stderr,
            "wick: prefill %" PRId64 " tokens in %.3f s (%.1f tok/s), decode %" PRId64
            " tokens in %.3f s (%.1f tok/s); load %.3f s, first token %.3f s, %" PRId64
            " prompt tokens cached\n",
            t->prompt_n, t->prompt_ms / 1e3, t->prompt_per_second, t->predicted_n,
            t->predicted_ms / 1e3, t->predicted_per_second, t->load_ms / 1e3,
            t->first_token_ms / 1e3, c->usage.cached_tokens);
}

void cli_view_chunk(cli_view *v, const wick_chunk *c)
{
    if (c->type == WICK_CHUNK_ERROR) {
        clear_bar(v);
        fprintf(stderr, "wick: %s\n", c->message);
        v->failed = true;
    }
    if (c->type == WICK_CHUNK_DONE) { v->finish = c->finish_reason; }
    if (v->json) {
        json_chunk(c);
        return;
    }
    switch (c->type) {
    case WICK_CHUNK_PROGRESS: show_progress(v, c); break;
    case WICK_CHUNK_REASONING:
        clear_bar(v);
        if (v->tty_out) {
            if (!v->in_reasoning) { fputs("\x1b[2m", stdout); }
            v->in_reasoning = true;
            fwrite(c->text, 1, c->len, stdout);
            fflush(stdout);
        }
        break;
    case WICK_CHUNK_CONTENT:
        clear_bar(v);
        if (v->in_reasoning) {
            fputs("\x1b[0m\n", stdout);
            v->in_reasoning = false;
        }
        fwrite(c->text, 1, c->len, stdout);
        fflush(stdout);
        v->wrote_text = true;
        break;
    case WICK_CHUNK_TOOL_CALL:
        clear_bar(v);
        printf("[tool call %s(%s)]\n", c->tool_name, c->tool_arguments);
        fflush(stdout);
        break;
    case WICK_CHUNK_ERROR: break;
    case WICK_CHUNK_DONE:
        clear_bar(v);
        if (v->in_reasoning) {
            fputs("\x1b[0m", stdout);
            v->in_reasoning = false;
        }
        break;
    }
}
