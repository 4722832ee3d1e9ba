/* domain.h -- a set of accounts for a bounded-domain replay: a list of ids
 * ("ids:A-000001,A-000002") or a hash range ("hash:K/N": the accounts
 * whose 64-bit FNV-1a hash of the id's bytes modulo N is K; the exact
 * function and test vectors are in docs/wire-contracts.md). */
#ifndef CRMSYNC_DOMAIN_H
#define CRMSYNC_DOMAIN_H

#include <stddef.h>

struct account_domain {
        int    buckets, bucket; /* hash form; buckets = 0 for a list */
        char **ids;             /* list form, owned */
        size_t nids;
};

/* Parse spec into d. Returns 0, or -1 + errstr saying what is wrong. */
int  crmsync_domain_parse(const char *spec, struct account_domain *d,
                          char *errstr, size_t errstr_size);
int  crmsync_domain_contains(const struct account_domain *d,
                             const char                  *account_id);
void crmsync_domain_clear(struct account_domain *d);

#endif
