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
extern const cli_command cli_cmd_eval, cli_cmd_run;
extern const cli_command cli_cmd_pull, cli_cmd_ls, cli_cmd_rm;

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

// JSON output helpers: a float32 printed so it reads back as the same float32 (%.9g; NaN and
// infinities, which JSON lacks, as null), and a JSON string with escapes (invalid UTF-8 → U+FFFD).
void cli_json_float(FILE *f, float v);
void cli_json_string(FILE *f, const char *s, size_t len);

#endif
