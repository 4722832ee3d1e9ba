/* cmd_pilot.c -- placeholder until the pilot lands. */
#include <stdio.h>

#include "cli.h"

int crmsync_cmd_pilot(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "crmsync pilot: not built yet\n");
        return 2;
}
