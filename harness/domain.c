/* domain.c -- account sets for bounded-domain replays. */
#include "crmsync/domain.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

#define DOMAIN_MAX_IDS 100000

int crmsync_domain_parse(const char *spec, struct account_domain *d,
                         char *errstr, size_t errstr_size)
{
        memset(d, 0, sizeof(*d));
        if (!strncmp(spec, "hash:", 5)) {
                char tail;
                if (sscanf(spec + 5, "%d/%d%c", &d->bucket, &d->buckets,
                           &tail) != 2 ||
                    d->buckets < 1 || d->buckets > 1 << 20 || d->bucket < 0 ||
                    d->bucket >= d->buckets) {
                        d->buckets = 0;
                        return crmsync_err(errstr, errstr_size,
                                           "'%s': want hash:K/N with "
                                           "0 <= K < N",
                                           spec);
                }
                return 0;
        }
        if (!strncmp(spec, "ids:", 4) && spec[4]) {
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
                                                   "'%s': too many ids",
                                                   spec);
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
                            const char *account_id)
{
        if (d->buckets) {
                /* FNV-1a 64 with the standard offset basis, so that any
                 * FNV-1a library gives the same buckets
                 * (docs/wire-contracts.md has test vectors). */
                uint64_t h = 14695981039346656037ULL;
                for (const char *p = account_id; *p; p++)
                        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
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
