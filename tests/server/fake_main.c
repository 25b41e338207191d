// fake_main.c — wick-fakeserve: `wick serve` with the scripted backend of fake_backend.c, for the
// server's tests. Same command line: `wick-fakeserve serve [OPTIONS]`.
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "serve") == 0) { return cli_cmd_serve.run(argc - 1, argv + 1); }
    return cli_cmd_serve.run(argc, argv);
}
