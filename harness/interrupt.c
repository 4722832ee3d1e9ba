/* interrupt.c -- Ctrl-C and SIGTERM during a run (see interrupt.h). */
#include "harness/interrupt.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/supervisor.h"

static volatile sig_atomic_t count, first_sig;
static volatile int64_t      first_ms; /* CLOCK_MONOTONIC, as crmsync_mono_ms */
static int                   installed;

static void on_signal(int sig)
{
        static const char msg[] = "crmsync: second interrupt: killing the "
                                  "pipeline, writing the summary now\n";
        if (!count) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
                first_ms  = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
                first_sig = sig;
        }
        if (count < 1000)
                count++;
        if (count >= 2) {
                crmsync_supervisor_signal_all(SIGKILL);
                if (count == 2) {
                        ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
                        (void)w;
                }
        }
}

void crmsync_interrupt_install(void)
{
        struct sigaction sa;
        if (installed)
                return;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sa.sa_flags   = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        installed = 1;
}

int crmsync_interrupt_count(void)
{
        return count;
}

int crmsync_interrupt_signal(void)
{
        return first_sig;
}

int64_t crmsync_interrupt_mono_ms(void)
{
        return first_ms;
}
