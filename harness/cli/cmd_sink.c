/* cmd_sink.c -- placeholder until the sink module lands (this session). */
#include <stdio.h>
#include "crmsync/cli.h"

int crmsync_cmd_sink(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "crmsync sink: placeholder\n");
        return 2;
}
