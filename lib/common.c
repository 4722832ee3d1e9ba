/* common.c -- clocks, error strings, environment helpers (lib/). */
#include "crmsync/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

int crmsync_array_grow(void *vec, size_t *cap, size_t cnt, size_t elem,
                       size_t first)
{
        size_t ncap;
        void  *old, *n;

        if (cnt < *cap)
                return 0;
        ncap = *cap ? *cap * 2 : first;
        if (!ncap || ncap < *cap || ncap > SIZE_MAX / elem)
                return -1;
        memcpy(&old, vec, sizeof(old)); /* vec may be a T ** of any T */
        if (!(n = realloc(old, ncap * elem)))
                return -1;
        memcpy(vec, &n, sizeof(n));
        *cap = ncap;
        return 0;
}

int crmsync_write_file_atomic(const char *path,
                              int (*render)(void *arg, FILE *fp), void *arg,
                              char *errstr, size_t errstr_size)
{
        char  tmp[4200];
        FILE *fp;
        int   failed, err = 0;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        if (!(fp = fopen(tmp, "w")))
                return crmsync_err(errstr, errstr_size, "%s: %s", tmp,
                                   strerror(errno));
        failed = render(arg, fp) || ferror(fp);
        if (failed)
                err = errno;
        if (fclose(fp) == EOF && !failed) {
                failed = 1;
                err    = errno;
        }
        if (failed || rename(tmp, path)) {
                if (!failed)
                        err = errno;
                unlink(tmp);
                return crmsync_err(errstr, errstr_size, "%s: %s", path,
                                   strerror(err ? err : EIO));
        }
        return 0;
}

void crmsync_md_cell(FILE *fp, const char *s)
{
        for (; s && *s; s++)
                if (*s == '|')
                        fputs("\\|", fp);
                else
                        fputc(*s == '\n' ? ' ' : *s, fp);
}
