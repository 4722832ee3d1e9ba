/* log.c -- diagnostic lines on stderr (log.h). */
#include "crmsync/log.h"

#include <stdio.h>

#include "crmsync/common.h"

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

void crmsync_vprogress(const char *tag, int64_t start_mono_ms, const char *fmt,
                       va_list ap)
{
        double s = (double)(crmsync_mono_ms() - start_mono_ms) / 1000.0;

        flockfile(stderr);
        if (tag)
                fprintf(stderr, "[%s %6.1fs] ", tag, s);
        else
                fprintf(stderr, "[%7.1fs] ", s);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        funlockfile(stderr);
}
