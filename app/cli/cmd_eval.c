// cmd_eval.c — placeholder until this command group is written.
#include "cli.h"

static int run_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("eval: not implemented yet");
}
const cli_command cli_cmd_eval = {"eval", run_eval, "usage: wick eval\n", "(not implemented yet)"};

static int run_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("run: not implemented yet");
}
const cli_command cli_cmd_run = {"run", run_run, "usage: wick run\n", "(not implemented yet)"};

