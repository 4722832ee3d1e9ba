/* domain.c -- account sets for bounded-domain replays. */
#include "crmsync/domain.h"
#include "crmsync/hash.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

#define DOMAIN_MAX_IDS 100000

#define DOMAIN_MAX_BUCKETS (1 << 20)

/* Plain decimal digits (no sign, no space) up to the end or stop; *end
 * after them. -1 when there are none or the value exceeds max. */
static long digits(const char *s, char stop, long max, const char **end)
{
        long v = 0;
        if (*s < '0' || *s > '9')
                return -1;
        for (; *s >= '0' && *s <= '9'; s++)
                if ((v = v * 10 + (*s - '0')) > max)
                        return -1;
        if (*s != stop)
                return -1;
        *end = s;
        return v;
}

int crmsync_domain_parse(const char *spec, struct account_domain *d,
                         char *errstr, size_t errstr_size)
{
        memset(d, 0, sizeof(*d));
        if (!strncmp(spec, "hash:", 5)) {
                const char *p = spec + 5;
                long        k = digits(p, '/', DOMAIN_MAX_BUCKETS, &p);
                long        n =
                    k < 0 ? -1 : digits(p + 1, '\0', DOMAIN_MAX_BUCKETS, &p);
                if (k < 0 || n < 1 || k >= n)
                        return crmsync_err(errstr, errstr_size,
                                           "'%s': want hash:K/N, decimal, "
                                           "with 0 <= K < N <= %d",
                                           spec, DOMAIN_MAX_BUCKETS);
                d->bucket  = (int)k;
                d->buckets = (int)n;
                return 0;
        }
        if (!strncmp(spec, "ids:", 4) && spec[4]) {
                /* strtok_r would skip empty items: "ids:A,,B" is a typo. */
                const char *l = spec + 4;
                if (*l == ',' || l[strlen(l) - 1] == ',' || strstr(l, ",,"))
                        return crmsync_err(errstr, errstr_size,
                                           "'%s': an empty id in the list",
                                           spec);
                if (strpbrk(l, " \t\r\n"))
                        return crmsync_err(errstr, errstr_size,
                                           "'%s': ids are separated by "
                                           "',' alone, without spaces",
                                           spec);
                char *copy = strdup(spec + 4), *save = NULL, *tok;
                if (!copy)
                        return crmsync_err(errstr, errstr_size,
                                           "out of memory");
                for (tok = strtok_r(copy, ",", &save); tok;
                     tok = strtok_r(NULL, ",", &save)) {
                        char **n;
                        if (d->nids == DOMAIN_MAX_IDS ||
                            !(n = realloc(d->ids,
                                          (d->nids + 1) * sizeof(*n)))) {
                                free(copy);
                                crmsync_domain_clear(d);
                                return crmsync_err(errstr, errstr_size,
                                                   "'%s': too many ids", spec);
                        }
                        d->ids            = n;
                        d->ids[d->nids++] = strdup(tok);
                }
                free(copy);
                if (d->nids)
                        return 0;
        }
        return crmsync_err(errstr, errstr_size,
                           "'%s': want ids:ID,ID,... or hash:K/N", spec);
}

int crmsync_domain_contains(const struct account_domain *d,
                            const char                  *account_id)
{
        if (d->buckets) {
                /* FNV-1a 64 (docs/wire-contracts.md has test vectors). */
                uint64_t h = crmsync_fnv1a64_str(account_id);
                return (int)(h % (uint64_t)d->buckets) == d->bucket;
        }
        for (size_t i = 0; i < d->nids; i++)
                if (!strcmp(d->ids[i], account_id))
                        return 1;
        return 0;
}

void crmsync_domain_clear(struct account_domain *d)
{
        for (size_t i = 0; i < d->nids; i++)
                free(d->ids[i]);
        free(d->ids);
        memset(d, 0, sizeof(*d));
}
