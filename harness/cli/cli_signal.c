/* cli_signal.c -- SIGINT/SIGTERM set the subcommands' stop flag. */
#include "cli_signal.h"

#include <string.h>

volatile sig_atomic_t crmsync_cli_stop;

static void on_stop(int sig)
{
        (void)sig;
        crmsync_cli_stop = 1;
}

void crmsync_cli_catch_stop(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}
