// cmd_eval.c — `wick eval`: logits of token ids and their greedy continuation, straight on a
// session (no registry): the reference `wick run`'s greedy streams are checked against.
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

// --- shared helpers ------------------------------------------------------------------------------

typedef struct model_args {
    const char *model;
    int64_t threads; // 0: all CPUs
    int64_t ctx; // 0: the model's, capped at 8192
    wick_kv_type kv;
    bool no_repack; // --no-repack
} model_args;

// Parses one option shared by eval and run at argv[*i]; 1 = consumed, 0 = not ours, -1 = usage
// error (printed).
static int parse_model_arg(const cli_command *cmd, int argc, char **argv, int *i, model_args *a)
{
    const char *o = argv[*i];
    if (!strcmp(o, "--no-repack")) {
        a->no_repack = true;
        return 1;
    }
    if (strcmp(o, "--model") && strcmp(o, "-m") && strcmp(o, "--threads") && strcmp(o, "-t") &&
        strcmp(o, "--ctx") && strcmp(o, "--kv-type")) {
        return 0;
    }
    if (*i + 1 >= argc) {
        cli_usage(cmd, "%s needs a value", o);
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(o, "--model") || !strcmp(o, "-m")) {
        a->model = v;
    } else if (!strcmp(o, "--threads") || !strcmp(o, "-t")) {
        if (!cli_parse_i64(v, 1, 256, &a->threads)) {
            cli_usage(cmd, "--threads: '%s' is not a number in 1..256", v);
            return -1;
        }
    } else if (!strcmp(o, "--ctx")) {
        if (!cli_parse_i64(v, 1, INT64_C(1) << 24, &a->ctx)) {
            cli_usage(cmd, "--ctx: '%s' is not a positive number", v);
            return -1;
        }
    } else {
        if (!strcmp(v, "f32")) {
            a->kv = WICK_KV_F32;
        } else if (!strcmp(v, "f16")) {
            a->kv = WICK_KV_F16;
        } else {
            cli_usage(cmd, "--kv-type: '%s' is not f32 or f16", v);
            return -1;
        }
    }
    return 1;
}

// --- eval ----------------------------------------------------------------------------------------

static const char eval_usage[] =
    "usage: wick eval --model FILE.gguf --tokens ID,ID,... [options]\n"
    "\n"
    "Evaluates the token ids as one prompt and prints, for every prompt position, the K largest\n"
    "logits as id/logit pairs (highest first; equal logits by id), then with --generate N the\n"
    "greedy continuation (argmax, lowest id on a tie), N ids.\n"
    "\n"
    "options:\n"
    "  --top K         pairs per position (default 40; 0 = every logit)\n"
    "  --generate N    greedy continuation of N tokens (default 0)\n"
    "  --threads N     threads to compute with (default: the number of CPUs)\n"
    "  --ctx N         context positions (default: the model's, at most 8192)\n"
    "  --kv-type T     KV cache element type: f32 (default) or f16\n"
    "  --no-repack     keep the weights in the file's layout (no copy at load; WICK_REPACK=0)\n"
    "  --json          one JSON line per position: {\"pos\": P, \"top\": [[id, logit], ...]},\n"
    "                  then {\"generated\": [id, ...]} when --generate is given\n"
    "  --dist MODE     under mpirun, the model spread over the ranks; rank 0 prints what one\n"
    "                  process prints, bit for bit (builds with MPI only: -DWICK_MPI=ON).\n"
    "                  pipeline: the layers (balanced by weight bytes); expert: the routed\n"
    "                  experts of the MoE layers; auto: expert for a mixture of experts\n";

// ids of the k largest logits (logit descending, id ascending), by insertion into a sorted list.
static void top_k(const float *x, int32_t n, int32_t k, int32_t *out)
{
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        if (m == k && !(x[i] > x[out[k - 1]])) { continue; } // equal: the lower id stays
        int32_t j = m < k ? m++ : k - 1;
        while (j > 0 && x[i] > x[out[j - 1]]) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
}

static float *sort_logits;
static int cmp_desc(const void *a, const void *b)
{
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (sort_logits[i] != sort_logits[j]) { return sort_logits[i] > sort_logits[j] ? -1 : 1; }
    return i < j ? -1 : i > j;
}

static void print_position(int64_t pos, const float *lg, int32_t n_vocab, int32_t k, int32_t *ids,
                           bool json)
{
    if (k >= n_vocab || k == 0) {
        k = n_vocab;
        for (int32_t i = 0; i < n_vocab; i++) { ids[i] = i; }
        sort_logits = (float *)lg;
        qsort(ids, (size_t)n_vocab, sizeof *ids, cmp_desc);
    } else {
        top_k(lg, n_vocab, k, ids);
    }
    if (json) {
        printf("{\"pos\":%" PRId64 ",\"top\":[", pos);
        for (int32_t i = 0; i < k; i++) {
            printf(i ? ",[%d," : "[%d,", ids[i]);
            cli_json_float(stdout, lg[ids[i]]);
            putchar(']');
        }
        printf("]}\n");
    } else {
        printf("pos %" PRId64 ":", pos);
        for (int32_t i = 0; i < k; i++) { printf(" %d:%.9g", ids[i], (double)lg[ids[i]]); }
        putchar('\n');
    }
}

static int run_eval(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_eval;
    model_args ma = {.kv = WICK_KV_F32};
    const char *tokens_arg = NULL;
    int64_t top = 40, gen = 0;
    bool json = false;
    const char *dist = NULL;
    for (int i = 1; i < argc; i++) {
        int r = parse_model_arg(cmd, argc, argv, &i, &ma);
        if (r < 0) { return CLI_USAGE; }
        if (r > 0) { continue; }
        const char *o = argv[i];
        if (!strcmp(o, "--json")) {
            json = true;
        } else if (!strcmp(o, "--dist")) {
            const char *v = i + 1 < argc ? argv[i + 1] : "";
            if (strcmp(v, "pipeline") && strcmp(v, "expert") && strcmp(v, "auto")) {
                return cli_usage(cmd, "--dist: expected 'pipeline', 'expert' or 'auto'");
            }
            i++;
#ifdef WICK_MPI
            dist = v;
#else
            return cli_usage(cmd, "--dist: this wick was built without MPI (-DWICK_MPI=ON)");
#endif
        } else if (!strcmp(o, "--tokens") || !strcmp(o, "--top") || !strcmp(o, "--generate")) {
            if (i + 1 >= argc) { return cli_usage(cmd, "%s needs a value", o); }
            const char *v = argv[++i];
            if (!strcmp(o, "--tokens")) {
                tokens_arg = v;
            } else if (!strcmp(o, "--top")) {
                if (!cli_parse_i64(v, 0, INT32_MAX, &top)) {
                    return cli_usage(cmd, "--top: '%s' is not a number >= 0", v);
                }
            } else if (!cli_parse_i64(v, 0, 1 << 20, &gen)) {
                return cli_usage(cmd, "--generate: '%s' is not a number >= 0", v);
            }
        } else {
            return cli_usage(cmd, "unknown option '%s'", o);
        }
    }
    (void)dist; // read only in builds with MPI
    if (!ma.model) { return cli_usage(cmd, "--model is required"); }
    if (!tokens_arg) { return cli_usage(cmd, "--tokens is required"); }
    int32_t *toks = NULL;
    size_t n_toks = 0;
    if (!cli_parse_ids(tokens_arg, &toks, &n_toks)) {
        return cli_usage(cmd, "--tokens: '%s' is not a comma-separated list of token ids",
                         tokens_arg);
    }
    int64_t n = (int64_t)n_toks;

    int rc = CLI_FAIL;
    wick_status st;
    wick_model *m = NULL;
    wick_session *s = NULL;
    wick_generator *g = NULL;
    int32_t *ids = NULL, *gen_ids = NULL;
#ifdef WICK_MPI
    wick_dist *d = NULL;
    if (dist && (st = wick_dist_init(&d)) < 0) {
        rc = cli_fail_lib(st, "MPI");
        goto done;
    }
#endif
    wick_model_opts mo;
    wick_model_opts_init(&mo);
    mo.repack = !ma.no_repack;
    if ((st = wick_model_open(ma.model, &mo, &m)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
    const int32_t n_vocab = wick_model_n_vocab(m);
    wick_session_opts so;
    wick_session_opts_init(&so);
    so.n_ctx = ma.ctx;
    so.n_threads = (int)ma.threads;
    so.kv_type = ma.kv;
    so.logits_all = true;
    if (so.n_ctx == 0) {
        int64_t c = wick_model_n_ctx_train(m);
        so.n_ctx = c < 8192 ? c : 8192;
    }
    if (n + gen > so.n_ctx) {
        rc = cli_fail("%s: %" PRId64 " prompt + %" PRId64 " generated tokens exceed the context "
                      "of %" PRId64 " (--ctx)",
                      ma.model, n, gen, so.n_ctx);
        goto done;
    }
    if ((st = wick_session_create(m, &so, &s)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
#ifdef WICK_MPI
    if (d) { // every rank computes its layers; the others serve rank 0's passes and print nothing
        if ((st = wick_dist_attach(d, s, dist)) < 0) {
            rc = cli_fail_lib(st, ma.model);
            goto done;
        }
        if (wick_dist_rank(d) != 0) {
            st = wick_dist_serve(d);
            rc = st < 0 ? cli_fail_lib(st, ma.model) : CLI_OK;
            goto done;
        }
    }
#endif
    ids = malloc(sizeof *ids * (size_t)n_vocab);
    gen_ids = malloc(sizeof *gen_ids * (size_t)(gen + 1));
    if (!ids || !gen_ids) {
        rc = cli_fail("out of memory");
        goto done;
    }
    const int64_t n_batch = 512;
    for (int64_t c0 = 0; c0 < n; c0 += n_batch) {
        int64_t len = n - c0 < n_batch ? n - c0 : n_batch;
        if ((st = wick_session_eval(s, toks + c0, len)) < 0) {
            rc = cli_fail_lib(st, ma.model);
            goto done;
        }
        for (int64_t i = 0; i < len; i++) {
            print_position(c0 + i, wick_session_logits(s, i), n_vocab, (int32_t)top, ids, json);
        }
    }
    // the greedy continuation: the library's loop with temperature 0 and no tokenizer
    wick_sampler_opts smo;
    wick_sampler_opts_init(&smo);
    smo.temperature = 0;
    wick_stopper_opts sto;
    wick_stopper_opts_init(&sto);
    sto.max_tokens = gen;
    if ((st = wick_generator_create(s, NULL, &smo, &sto, &g)) < 0) {
        rc = cli_fail_lib(st, ma.model);
        goto done;
    }
    for (int64_t i = 0; i < gen; i++) {
        wick_gen_step step;
        if ((st = wick_generator_next(g, &step)) < 0) {
            rc = cli_fail_lib(st, ma.model);
            goto done;
        }
        gen_ids[i] = step.id;
    }
    if (gen > 0) {
        printf(json ? "{\"generated\":[" : "generated:");
        for (int64_t i = 0; i < gen; i++) { printf(json ? (i ? ",%d" : "%d") : " %d", gen_ids[i]); }
        printf(json ? "]}\n" : "\n");
    }
    rc = fflush(stdout) == 0 ? CLI_OK : cli_fail("stdout: write failed");
done:
    wick_generator_destroy(g);
    free(ids);
    free(gen_ids);
    free(toks);
#ifdef WICK_MPI
    wick_dist_release(d);
#endif
    wick_session_destroy(s);
    wick_model_close(m);
#ifdef WICK_MPI
    wick_dist_finish(d);
#endif
    return rc;
}

const cli_command cli_cmd_eval = {
    "eval",
    run_eval,
    eval_usage,
    "print the logits of token ids (top-K per position) and a greedy continuation",
};
