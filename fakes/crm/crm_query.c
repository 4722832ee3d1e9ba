/* crm_query.c -- bounded URL query-string helpers for the mock CRM. */
#include "crm_query.h"

#include <string.h>

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decode [s, end) into out; -1 on a bad escape, NUL byte or overflow. */
static int decode(const char *s, const char *end, char *out, size_t out_size)
{
        size_t n = 0;

        if (out_size == 0)
                return -1;
        while (s < end) {
                int c = (unsigned char)*s;

                if (c == '%') {
                        int hi, lo;
                        if (end - s < 3)
                                return -1;
                        hi = hexval(s[1]);
                        lo = hexval(s[2]);
                        if (hi < 0 || lo < 0)
                                return -1;
                        c = hi * 16 + lo;
                        s += 3;
                } else {
                        if (c == '+')
                                c = ' ';
                        s++;
                }
                if (c == 0 || n + 1 >= out_size)
                        return -1;
                out[n++] = (char)c;
        }
        out[n] = '\0';
        return 0;
}

int crmsync_query_get(const char *query, const char *key, char *out,
                      size_t out_size)
{
        size_t      klen;
        const char *p = query;

        if (!key || !out || out_size == 0)
                return -1;
        klen = strlen(key);
        if (!p)
                return 1;
        while (*p) {
                const char *amp  = strchr(p, '&');
                const char *end  = amp ? amp : p + strlen(p);
                const char *eq   = memchr(p, '=', (size_t)(end - p));
                const char *kend = eq ? eq : end;

                if ((size_t)(kend - p) == klen && !memcmp(p, key, klen))
                        return decode(eq ? eq + 1 : end, end, out, out_size);
                if (!amp)
                        break;
                p = amp + 1;
        }
        return 1;
}

int crmsync_query_u64(const char *query, const char *key, uint64_t *out)
{
        char     buf[32];
        uint64_t v = 0;
        int      rc;

        rc = crmsync_query_get(query, key, buf, sizeof(buf));
        if (rc != 0)
                return rc;
        if (!buf[0])
                return -1;
        for (const char *p = buf; *p; p++) {
                unsigned d;
                if (*p < '0' || *p > '9')
                        return -1;
                d = (unsigned)(*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -1;
                v = v * 10 + d;
        }
        if (out)
                *out = v;
        return 0;
}

int crmsync_query_u64_range(const char *query, const char *key, uint64_t min,
                            uint64_t max, uint64_t *out)
{
        uint64_t v;
        int      rc = crmsync_query_u64(query, key, &v);

        if (rc != 0)
                return rc;
        if (v < min || v > max)
                return -1;
        if (out)
                *out = v;
        return 0;
}
