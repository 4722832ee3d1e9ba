/* common.c -- clocks, error strings, environment helpers (lib/). */
#include "crmsync/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t crmsync_wall_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t crmsync_mono_ms(void)
{
        return crmsync_mono_us() / 1000;
}

int64_t crmsync_mono_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int crmsync_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
        va_list ap;
        if (errstr && errstr_size > 0) {
                va_start(ap, fmt);
                vsnprintf(errstr, errstr_size, fmt, ap);
                va_end(ap);
        }
        return -1;
}

int crmsync_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
        char              *end;
        unsigned long long v;
        if (!s || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        v     = strtoull(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

const char *crmsync_env(const char *name, const char *def)
{
        const char *v = getenv(name);
        return (v && *v) ? v : def;
}
