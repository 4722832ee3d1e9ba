/* crm_query.h -- bounded URL query-string helpers for the mock CRM.
 *
 * query is the part after '?' (without it), e.g. "cursor=abc&limit=200",
 * as returned by evhttp_uri_get_query(); NULL is an empty query. Keys are
 * compared exactly; the first occurrence wins. Values are %-decoded and
 * '+' becomes a space. Pure functions, no allocation. */
#ifndef CRMSYNC_CRM_QUERY_H
#define CRMSYNC_CRM_QUERY_H

#include <stddef.h>
#include <stdint.h>

/* Copy the decoded value of key into out (NUL-terminated).
 * Returns 0 found, 1 absent, -1 malformed (bad %-escape, embedded NUL) or
 * longer than out_size - 1. */
int crmsync_query_get(const char *query, const char *key, char *out,
                      size_t out_size);

/* Decimal unsigned value of key (digits only, no sign, no spaces, no
 * overflow). Returns 0 found, 1 absent, -1 malformed. *out is untouched
 * unless 0 is returned. */
int crmsync_query_u64(const char *query, const char *key, uint64_t *out);

/* Like crmsync_query_u64, additionally requiring min <= value <= max. */
int crmsync_query_u64_range(const char *query, const char *key, uint64_t min,
                            uint64_t max, uint64_t *out);

#endif
