/* cmd_validate.c -- placeholder until the validate module lands (this session). */
#include <stdio.h>
#include "crmsync/cli.h"

int crmsync_cmd_validate(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "crmsync validate: placeholder\n");
        return 2;
}
