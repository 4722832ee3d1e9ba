/* cli.h -- subcommand entry points (harness/cli/cmd_*.c). Each parses its
 * own arguments, prints its own --help, and returns the process exit code:
 * 0 ok, 1 failed expectation, 2 bad usage or configuration. */
#ifndef CRMSYNC_CLI_H
#define CRMSYNC_CLI_H

int crmsync_cmd_broker(int argc, char **argv);
int crmsync_cmd_crm(int argc, char **argv);
int crmsync_cmd_sink(int argc, char **argv);
int crmsync_cmd_pg_schema(int argc, char **argv);
int crmsync_cmd_connector(int argc, char **argv);
int crmsync_cmd_profiler(int argc, char **argv);
int crmsync_cmd_run(int argc, char **argv);
int crmsync_cmd_validate(int argc, char **argv);
int crmsync_cmd_trace(int argc, char **argv);
int crmsync_cmd_compare(int argc, char **argv);
int crmsync_cmd_capacity(int argc, char **argv);
int crmsync_cmd_probe(int argc, char **argv);
int crmsync_cmd_pilot(int argc, char **argv);

#endif
