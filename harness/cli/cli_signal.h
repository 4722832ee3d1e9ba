/* cli_signal.h -- the stop flag of the long-running subcommands (connector,
 * profiler, broker): SIGINT and SIGTERM set it, SIGPIPE is ignored. */
#ifndef CRMSYNC_CLI_SIGNAL_H
#define CRMSYNC_CLI_SIGNAL_H

#include <signal.h>

/* Set to 1 by SIGINT or SIGTERM once crmsync_cli_catch_stop() ran. */
extern volatile sig_atomic_t crmsync_cli_stop;

/* Install the handlers (sigaction, no SA_RESTART) and ignore SIGPIPE. */
void crmsync_cli_catch_stop(void);

#endif
