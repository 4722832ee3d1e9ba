/* log.h -- diagnostic lines on stderr (lib/): "<who>: <message>\n",
 * written under stdio's stream lock so that lines of several threads do
 * not interleave. For the processes' own diagnostics; run output
 * (progress, reports) has its own writers. */
#ifndef CRMSYNC_LOG_H
#define CRMSYNC_LOG_H

#include <stdarg.h>

/* Write "who: " + the formatted message + "\n" to stderr. */
void crmsync_log(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void crmsync_vlog(const char *who, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
