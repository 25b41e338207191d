// cmd_tok.c — placeholder until this command group is written.
#include "cli.h"

static int run_tokenize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("tokenize: not implemented yet");
}
const cli_command cli_cmd_tokenize = {"tokenize", run_tokenize, "usage: wick tokenize\n", "(not implemented yet)"};

static int run_detokenize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("detokenize: not implemented yet");
}
const cli_command cli_cmd_detokenize = {"detokenize", run_detokenize, "usage: wick detokenize\n", "(not implemented yet)"};

