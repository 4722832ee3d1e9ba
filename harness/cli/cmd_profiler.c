/* cmd_profiler.c -- placeholder until the profiler module lands (this session). */
#include <stdio.h>
#include "crmsync/cli.h"

int crmsync_cmd_profiler(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "crmsync profiler: placeholder\n");
        return 2;
}
