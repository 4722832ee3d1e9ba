/* cmd_connector.c -- placeholder until the connector module lands (this session). */
#include <stdio.h>
#include "crmsync/cli.h"

int crmsync_cmd_connector(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "crmsync connector: placeholder\n");
        return 2;
}
