// cli.h — what the subcommands of the `wick` tool share. The tool uses only the public wick.h.
//
// Contract (shared/CONVENTIONS.md): results on stdout, errors on stderr as "wick: <file or URL>:
// <reason>"; exit 0 on success, 1 when the work fails, 2 on bad usage. Library messages that
// concern a file or URL already start with it, so a failure prints "wick: " + wick_errmsg().
#ifndef WICK_CLI_H
#define WICK_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "wick.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); // argv[0] is the command name
    const char *usage;                 // "wick info FILE.gguf [--json]\n..." (full help text)
    const char *summary;               // one line for `wick help`
} cli_command;

// Each cmd_*.c file defines its commands; main.c lists them.
extern const cli_command cli_cmd_info, cli_cmd_tensor;
extern const cli_command cli_cmd_tokenize, cli_cmd_detokenize;
extern const cli_command cli_cmd_eval, cli_cmd_run, cli_cmd_chat;
extern const cli_command cli_cmd_pull, cli_cmd_ls, cli_cmd_rm;
extern const cli_command cli_cmd_template;
extern const cli_command cli_cmd_serve; // app/server/cmd_serve.c

// Prints "wick: " + wick_errmsg() (or "wick: <fallback>: <strerror(rc)>" when the message is empty)
// and returns CLI_FAIL.
int cli_fail_lib(wick_status rc, const char *fallback);
// Prints "wick: " + the formatted message and returns CLI_FAIL.
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Prints "wick: CMD: message" and a hint to `wick CMD --help`; returns CLI_USAGE.
int cli_usage(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// True when arg is -h or --help; the caller then prints cmd->usage to stdout and returns 0.
bool cli_is_help(const char *arg);
int cli_print_usage(const cli_command *cmd);

// Parses a whole decimal integer in [lo, hi]; false on anything else.
bool cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
bool cli_parse_double(const char *s, double *out);
// Parses "ID,ID,..." (token ids in [0, INT32_MAX], spaces allowed around them) into a malloc'd
// array; false (nothing allocated) for an empty list or anything else.
bool cli_parse_ids(const char *s, int32_t **out, size_t *n);

// All of stdin (at most 2 GiB), NUL-terminated; *len its bytes. NULL when it cannot be read.
// Free with free().
char *cli_read_stdin(size_t *len);

// JSON output helpers: a float32 printed so it reads back as the same float32 (%.9g; NaN and
// infinities, which JSON lacks, as null), and a JSON string with escapes (invalid UTF-8 → U+FFFD).
void cli_json_float(FILE *f, float v);
void cli_json_string(FILE *f, const char *s, size_t len);
// Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is invalid.
size_t cli_utf8_valid_len(const unsigned char *s, size_t n);

// --- run and chat (gen_args.c, cmd_run.c) --------------------------------------------------------

// The generation options `wick run` and `wick chat` share, parsed into a request.
typedef struct cli_gen {
    const char *model;
    const char *template_file;
    char *chat_template; // its text (cli_gen_start)
    int64_t threads, ctx;
    wick_kv_type kv;
    bool no_repack; // --no-repack: the weights stay in the file's layout (wick_model_opts.repack)
    wick_request rq; // sampling, stop, max_tokens, think, tokenizer ...
    const char *stop[16];
    size_t n_stop;
    const char *dist; // --dist MODE: the model spread over the ranks of an MPI job
    wick_dist *d;     // joined by cli_gen_start, left by cli_gen_free
} cli_gen;

void cli_gen_init(cli_gen *g);
void cli_gen_free(cli_gen *g);
// Parses the generation option at argv[*i]: 1 = consumed, 0 = not one, -1 = usage error (printed).
int cli_gen_option(const cli_command *cmd, int argc, char **argv, int *i, cli_gen *g);
// Reads --chat-template, sets g->rq.model/stop, creates the registry (n_seq sequences).
// CLI_OK or CLI_FAIL (printed).
int cli_gen_start(cli_gen *g, int n_seq, wick_registry **out);

// How chunks are shown: text (progress bar on a terminal's stderr, reasoning dimmed on a
// terminal's stdout) or one JSON line per chunk.
typedef struct cli_view {
    bool json, tty_out, tty_err;
    bool bar_shown, in_reasoning, wrote_text, failed;
    wick_finish_reason finish;
    wick_chunk done; // the done chunk's usage and timings (its pointers are not kept)
    // Called with every chunk after it is shown (NULL: none); `wick chat` keeps the answer.
    void (*on_chunk)(void *ud, const wick_chunk *c);
    void *ud;
} cli_view;

void cli_view_init(cli_view *v, bool json);
void cli_view_chunk(cli_view *v, const wick_chunk *c);
// "wick: prefill N tokens in S s (R tok/s), decode ..." on stderr.
void cli_print_timings(const wick_chunk *done);
// Shows st's chunks until its end; Ctrl-C cancels it. CLI_OK, or CLI_FAIL on a library failure.
int cli_stream_show(wick_stream *st, cli_view *v);
// SIGINT writes to a pipe (its read end is returned, non-blocking); cli_sigint_take() drains it
// and says whether Ctrl-C was pressed.
int cli_sigint_install(void);
bool cli_sigint_take(void);

#endif
