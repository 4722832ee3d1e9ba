/* main.c -- crmsync's entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "crmsync/common.h"

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *help;
} commands[] = {
    {"run", crmsync_cmd_run,
     "run a scenario end to end and print the verdict (a folder or\n"
     "             several files: a suite)"},
    {"validate", crmsync_cmd_validate,
     "check scenario files (a file or a folder)"},
    {"trace", crmsync_cmd_trace,
     "lineage of a change or an account in a finished run"},
    {"compare", crmsync_cmd_compare,
     "runs or suites side by side; exit 1 on a regression against\n"
     "             a baseline beyond thresholds"},
    {"probe", crmsync_cmd_probe,
     "compatibility checklist of a target file's cluster"},
    {"pilot", crmsync_cmd_pilot,
     "the pilot scenarios on two targets, side by side: the\n"
     "             production-readiness scorecard"},
    {"capacity", crmsync_cmd_capacity,
     "rate to the SLO, catch-up after downtime, replay against\n"
     "             history, retention and cost (runs/capacity-<id>/)"},
    {"broker", crmsync_cmd_broker,
     "start the embedded Kafka cluster (librdkafka mock)"},
    {"crm", crmsync_cmd_crm, "start the mock CRM HTTP server"},
    {"sink", crmsync_cmd_sink, "start the fake profile store"},
    {"pg-schema", crmsync_cmd_pg_schema,
     "print the SQL of the postgres sink's schema and trigger"},
    {"connector", crmsync_cmd_connector,
     "reference source connector: CRM -> Kafka"},
    {"profiler", crmsync_cmd_profiler,
     "reference profile builder: Kafka -> sink"},
};

static void usage(FILE *fp)
{
        fprintf(fp,
                "crmsync %s -- failure-injection and replay harness for "
                "CRM-to-Kafka pipelines\n\n"
                "Usage: crmsync <command> [options]   (crmsync <command> "
                "--help for details)\n\nCommands:\n",
                CRMSYNC_VERSION);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].help);
        fprintf(fp, "\nExit codes: 0 pass, 1 failed expectation, 2 bad usage "
                    "or configuration,\n130 interrupted (run).\n");
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
            !strcmp(argv[1], "help")) {
                usage(stdout);
                return 0;
        }
        if (!strcmp(argv[1], "--version")) {
                printf("crmsync %s\n", CRMSYNC_VERSION);
                return 0;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(argv[1], commands[i].name))
                        return commands[i].fn(argc - 1, argv + 1);
        fprintf(stderr, "crmsync: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
}
