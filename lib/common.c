/* common.c -- clocks, error strings, environment helpers. */
#include "crmsync/common.h"
#include "crmsync/bugs.h"

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

int crmsync_parse_u64(const char *s, uint64_t min, uint64_t max,
                      uint64_t *out)
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

static const struct {
        uint32_t    bit;
        const char *name;
} bug_table[] = {
        {CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK, "commit-before-sink-ack"},
        {CRMSYNC_BUG_NO_DEDUPE, "no-dedupe"},
        {CRMSYNC_BUG_NO_VERSION_CHECK, "no-version-check"},
        {CRMSYNC_BUG_KEY_BY_RECORD_ID, "key-by-record-id"},
        {CRMSYNC_BUG_CURSOR_BEFORE_DELIVERY, "cursor-before-delivery"},
        {CRMSYNC_BUG_STRICT_GT_TIMESTAMP, "strict-gt-timestamp"},
        {CRMSYNC_BUG_NO_LOOKBACK, "no-lookback"},
        {CRMSYNC_BUG_IGNORE_MERGES, "ignore-merges"},
        {CRMSYNC_BUG_IGNORE_DELETES, "ignore-deletes"},
        {CRMSYNC_BUG_NO_RETRY_429, "no-retry-429"},
        {CRMSYNC_BUG_IGNORE_410, "ignore-410"},
        {CRMSYNC_BUG_IGNORE_RETRY_AFTER, "ignore-retry-after"},
};

uint32_t crmsync_bug_parse(const char *name)
{
        for (size_t i = 0; i < sizeof(bug_table) / sizeof(bug_table[0]); i++)
                if (!strcmp(bug_table[i].name, name))
                        return bug_table[i].bit;
        return 0;
}

const char *crmsync_bug_name(uint32_t bit)
{
        for (size_t i = 0; i < sizeof(bug_table) / sizeof(bug_table[0]); i++)
                if (bug_table[i].bit == bit)
                        return bug_table[i].name;
        return NULL;
}

const char *crmsync_bug_names(void)
{
        static char buf[512];
        if (!buf[0]) {
                for (size_t i = 0; i < sizeof(bug_table) / sizeof(bug_table[0]);
                     i++) {
                        if (i)
                                strcat(buf, ", ");
                        strcat(buf, bug_table[i].name);
                }
        }
        return buf;
}
