/* cmd_pg_schema.c -- `crmsync pg-schema`: print the SQL the postgres sink
 * installs (docs/sink-postgres.md), to install it ahead of a run, for
 * example before attaching crmsync's trigger to a table of your own. */
#include <stdio.h>
#include <string.h>

#include "harness/cli/cli.h"
#include "harness/pg_sink.h"

int crmsync_cmd_pg_schema(int argc, char **argv)
{
        int with_table = 1;
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--no-table")) {
                        with_table = 0;
                } else if (!strcmp(argv[i], "-h") ||
                           !strcmp(argv[i], "--help")) {
                        printf("Usage: crmsync pg-schema [--no-table]\n\n"
                               "Print the SQL of the postgres sink: "
                               "crmsync_apply_log, crmsync_side_effects,\n"
                               "crmsync_faults and the trigger function "
                               "crmsync_log_apply(), then\n"
                               "crmsync_profiles with its trigger (not "
                               "with --no-table: your own tables\n"
                               "and a view of that shape instead; "
                               "docs/sink-postgres.md).\n"
                               "  psql DSN -f <(crmsync pg-schema "
                               "--no-table)\n");
                        return 0;
                } else {
                        fprintf(stderr,
                                "crmsync pg-schema: unknown argument %s "
                                "(--no-table, --help)\n",
                                argv[i]);
                        return 2;
                }
        }
        fputs(crmsync_pg_sink_schema_sql(with_table), stdout);
        return 0;
}
