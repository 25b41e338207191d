// cmd_info.c — placeholder until this command group is written.
#include "cli.h"

static int run_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("info: not implemented yet");
}
const cli_command cli_cmd_info = {"info", run_info, "usage: wick info\n", "(not implemented yet)"};

static int run_tensor(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("tensor: not implemented yet");
}
const cli_command cli_cmd_tensor = {"tensor", run_tensor, "usage: wick tensor\n", "(not implemented yet)"};

