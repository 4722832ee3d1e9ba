/* cmd_run.c -- placeholder until the run module lands (this session). */
#include <stdio.h>
#include "crmsync/cli.h"

int crmsync_cmd_run(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "crmsync run: placeholder\n");
        return 2;
}
