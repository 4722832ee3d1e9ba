/* cmd_trace.c -- `crmsync trace RUN_DIR --event ID | --account ID`. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "harness/trace.h"

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync trace RUN_DIR (--event ID | --account ID)\n\n"
                "Lineage from a finished run's records: for one CRM change, "
                "or every change\nof one account, when it was committed and "
                "served, the topic, partition\nand offset it landed at, the "
                "profiler's read, and the sink writes that\napplied it, in "
                "milliseconds after the commit. Only what belongs to the\n"
                "change: a write or read that carries its event id but is of "
                "another\nrecord, version or offset is marked [NOT this "
                "change: ...]; a change\nwith no write of its own shows the "
                "write of another change that\nsuperseded it, marked as "
                "such.\n\n"
                "Exit codes: 0 found, 1 nothing found, 2 bad usage or an "
                "unreadable run.\n");
}

int crmsync_cmd_trace(int argc, char **argv)
{
        static const struct option opts[] = {
            {"event", required_argument, NULL, 'e'},
            {"account", required_argument, NULL, 'a'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        const char *event = NULL, *account = NULL;
        char        errstr[512];
        int         c, n;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'e':
                        event = optarg;
                        break;
                case 'a':
                        account = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc - 1 || !event == !account) {
                usage(stderr);
                return 2;
        }
        n = crmsync_trace(argv[optind], event, account, stdout, errstr,
                          sizeof(errstr));
        if (n < 0) {
                fprintf(stderr, "crmsync trace: %s\n", errstr);
                return 2;
        }
        if (n == 0) {
                fprintf(stderr, "crmsync trace: no change %s %s in %s\n",
                        event ? "with event id" : "of account",
                        event ? event : account, argv[optind]);
                return 1;
        }
        return 0;
}
