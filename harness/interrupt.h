/* interrupt.h -- Ctrl-C and SIGTERM during `crmsync run`.
 *
 * The handlers go in first thing, before the scenario is even read, so no
 * signal can kill the harness before it writes a summary: the run checks
 * the count at each step of its set-up and on every tick, stops, and
 * reports itself as interrupted (exit 128 + signal, 130 for Ctrl-C).
 * A second signal cuts a slow shutdown short: the handler kills every
 * pipeline process group with SIGKILL, and the run skips every remaining
 * wait. */
#ifndef CRMSYNC_INTERRUPT_H
#define CRMSYNC_INTERRUPT_H

#include <stdint.h>

/* Catch SIGINT and SIGTERM (SA_RESTART). Idempotent; the count starts at
 * 0 the first time only. */
void crmsync_interrupt_install(void);
/* Signals received so far (0: none). Async-signal-safe. */
int crmsync_interrupt_count(void);
/* The first signal received, 0 when none. */
int crmsync_interrupt_signal(void);
/* When the first signal came (crmsync_mono_ms's clock), 0 when none. */
int64_t crmsync_interrupt_mono_ms(void);

#endif
