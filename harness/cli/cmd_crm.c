/* cmd_crm.c -- placeholder until the crm module lands (this session). */
#include <stdio.h>
#include "crmsync/cli.h"

int crmsync_cmd_crm(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "crmsync crm: placeholder\n");
        return 2;
}
