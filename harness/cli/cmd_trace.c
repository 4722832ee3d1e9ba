/* cmd_trace.c -- `crmsync trace RUN_DIR --event ID | --account ID`. */
#include <stdio.h>

#include "cli.h"
#include "cli_opt.h"
#include "harness/trace.h"

static const char intro[] =
    "Usage: crmsync trace RUN_DIR (--event ID | --account ID)\n\n"
    "Lineage from a finished run's records: for one CRM change, or every "
    "change\nof one account, when it was committed and served, the topic, "
    "partition\nand offset it landed at, the profiler's read, and the sink "
    "writes that\napplied it, in milliseconds after the commit. Only what "
    "belongs to the\nchange: a write or read that carries its event id but "
    "is of another\nrecord, version or offset is marked [NOT this change: "
    "...]; a change\nwith no write of its own shows the write of another "
    "change that\nsuperseded it, marked as such.\n";
static const char epilog[] =
    "Exit codes: 0 found, 1 nothing found, 2 bad usage or an unreadable "
    "run.\n";

int crmsync_cmd_trace(int argc, char **argv)
{
        const char          *event = NULL, *account = NULL;
        char                 errstr[512], *dirs[1];
        int                  n, ndirs = 0;
        const struct cli_opt opts[] = {
            CLI_OPT("event", CLI_STR, &event, "ID",
                    "the change with this event id"),
            CLI_OPT("account", CLI_STR, &account, "ID",
                    "every change of this account"),
            CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"trace", intro, opts, epilog, 1};

        if ((n = crmsync_cli_parse(&cmd, argc, argv, dirs, &ndirs)))
                return n == CLI_HELP ? 0 : 2;
        if (ndirs != 1 || !event == !account) {
                fprintf(stderr, "crmsync trace: expected RUN_DIR and one of "
                                "--event or --account\n\n");
                crmsync_cli_usage(&cmd, stderr);
                return 2;
        }
        n = crmsync_trace(dirs[0], event, account, stdout, errstr,
                          sizeof(errstr));
        if (n < 0) {
                fprintf(stderr, "crmsync trace: %s\n", errstr);
                return 2;
        }
        if (n == 0) {
                fprintf(stderr, "crmsync trace: no change %s %s in %s\n",
                        event ? "with event id" : "of account",
                        event ? event : account, dirs[0]);
                return 1;
        }
        return 0;
}
