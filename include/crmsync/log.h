/* log.h -- diagnostic lines on stderr (lib/): "<who>: <message>\n",
 * written under stdio's stream lock so that lines of several threads do
 * not interleave. For the processes' own diagnostics, and the progress
 * lines of `crmsync run` and `crmsync capacity`; reports have their own
 * writers. */
#ifndef CRMSYNC_LOG_H
#define CRMSYNC_LOG_H

#include <stdarg.h>
#include <stdint.h>

/* Write "who: " + the formatted message + "\n" to stderr. */
void crmsync_log(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void crmsync_vlog(const char *who, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Write a progress line to stderr: "[<tag> <s>s] " + the formatted
 * message + "\n", where <s> is the time since start_mono_ms
 * (crmsync_mono_ms) in seconds, one decimal, right-aligned in 6 columns;
 * with tag NULL, "[<s>s] " in 7 columns. */
void crmsync_vprogress(const char *tag, int64_t start_mono_ms, const char *fmt,
                       va_list ap) __attribute__((format(printf, 3, 0)));

#endif
