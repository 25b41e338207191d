// main.c — the `wick` tool: finds the subcommand and runs it.
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command *const commands[] = {
    &cli_cmd_info, &cli_cmd_tensor, &cli_cmd_tokenize, &cli_cmd_detokenize, &cli_cmd_eval,
    &cli_cmd_run,  &cli_cmd_chat,  &cli_cmd_pull,   &cli_cmd_ls,       &cli_cmd_rm,
    &cli_cmd_template, &cli_cmd_serve,
};

static const cli_command *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i]->name, name) == 0) { return commands[i]; }
    }
    return NULL;
}

static void overview(FILE *f)
{
    fprintf(f, "usage: wick COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-11s %s\n", commands[i]->name, commands[i]->summary);
    }
    fprintf(f,
            "\n'wick help COMMAND' or 'wick COMMAND --help' shows a command's options.\n"
            "WICK_LOG=debug|info|warn|error|none sets how much the library logs (default warn).\n");
}

static void set_log_level(void)
{
    const char *e = getenv("WICK_LOG");
    wick_log_level lvl = WICK_LOG_WARN;
    if (e) {
        if (strcmp(e, "debug") == 0) {
            lvl = WICK_LOG_DEBUG;
        } else if (strcmp(e, "info") == 0) {
            lvl = WICK_LOG_INFO;
        } else if (strcmp(e, "error") == 0) {
            lvl = WICK_LOG_ERROR;
        } else if (strcmp(e, "none") == 0) {
            lvl = WICK_LOG_NONE;
        }
    }
    wick_log_set_level(lvl);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        overview(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (cli_is_help(name)) {
        overview(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("wick %s\n", wick_version());
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            overview(stdout);
            return CLI_OK;
        }
        const cli_command *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "wick: help: unknown command '%s'\n", argv[2]);
            return CLI_USAGE;
        }
        return cli_print_usage(c);
    }
    const cli_command *c = find(name);
    if (!c) {
        fprintf(stderr, "wick: unknown command '%s'\n", name);
        overview(stderr);
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (cli_is_help(argv[i])) { return cli_print_usage(c); }
    }
    set_log_level();
    return c->run(argc - 1, argv + 1);
}
