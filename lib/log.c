/* log.c -- diagnostic lines on stderr (log.h). */
#include "crmsync/log.h"

#include <stdio.h>

void crmsync_vlog(const char *who, const char *fmt, va_list ap)
{
        flockfile(stderr);
        fprintf(stderr, "%s: ", who);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        funlockfile(stderr);
}

void crmsync_log(const char *who, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        crmsync_vlog(who, fmt, ap);
        va_end(ap);
}
