// cmd_hub.c — placeholder until this command group is written.
#include "cli.h"

static int run_pull(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("pull: not implemented yet");
}
const cli_command cli_cmd_pull = {"pull", run_pull, "usage: wick pull\n", "(not implemented yet)"};

static int run_ls(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("ls: not implemented yet");
}
const cli_command cli_cmd_ls = {"ls", run_ls, "usage: wick ls\n", "(not implemented yet)"};

static int run_rm(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("rm: not implemented yet");
}
const cli_command cli_cmd_rm = {"rm", run_rm, "usage: wick rm\n", "(not implemented yet)"};

