/* json_lex.c -- lexing steps of the narrow JSON scanners (json_lex.h). */
#include "crmsync/json_lex.h"

size_t crmsync_json_skip_ws(const char *p, size_t i, size_t n)
{
        while (i < n &&
               (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
                i++;
        return i;
}

size_t crmsync_json_plain_str(const char *p, size_t i, size_t n)
{
        if (i >= n || p[i] != '"')
                return 0;
        for (i++; i < n; i++) {
                unsigned char c = (unsigned char)p[i];
                if (c == '"')
                        return i + 1;
                if (c < 0x20 || c > 0x7e || c == '\\')
                        return 0;
        }
        return 0;
}

size_t crmsync_json_int(const char *p, size_t i, size_t n, int64_t *v)
{
        int     neg = 0;
        size_t  d0;
        int64_t x = 0;

        if (i < n && p[i] == '-') {
                neg = 1;
                i++;
        }
        d0 = i;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
                if (i - d0 >= 18)
                        return 0;
                x = x * 10 + (p[i] - '0');
                i++;
        }
        if (i == d0 || (p[d0] == '0' && i - d0 > 1) || (neg && x == 0))
                return 0;
        if (i < n && (p[i] == '.' || p[i] == 'e' || p[i] == 'E'))
                return 0;
        *v = neg ? -x : x;
        return i;
}
