/* cmd_broker.c -- placeholder until the broker module lands (this session). */
#include <stdio.h>
#include "crmsync/cli.h"

int crmsync_cmd_broker(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "crmsync broker: placeholder\n");
        return 2;
}
