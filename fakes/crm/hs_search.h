/* hs_search.h -- the body of HubSpot's CRM v3 search
 * (POST /crm/v3/objects/{type}/search), the subset the mock CRM serves:
 * filterGroups on hs_lastmodifieddate (lastmodifieddate) and hs_object_id,
 * one sort, limit 1..200 and the after offset.
 *
 * Pure functions, no I/O; the fuzz target tests/fuzz/fuzz_hs_search.c
 * feeds the parser arbitrary bytes. */
#ifndef CRMSYNC_HS_SEARCH_H
#define CRMSYNC_HS_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#define HS_SEARCH_GROUPS_MAX 5  /* filterGroups per request */
#define HS_SEARCH_FILTERS_MAX 6 /* filters per group */
#define HS_SEARCH_LIMIT_MAX 200 /* results per page */
#define HS_SEARCH_CAP 10000     /* results one query can page through */
#define HS_SEARCH_LIMIT_DEF 10  /* HubSpot's default page */

enum hs_prop { HS_PROP_LASTMOD = 0, HS_PROP_ID };

enum hs_op {
        HS_OP_EQ = 0,
        HS_OP_NEQ,
        HS_OP_LT,
        HS_OP_LTE,
        HS_OP_GT,
        HS_OP_GTE
};

struct hs_filter {
        int     prop;  /* enum hs_prop */
        int     op;    /* enum hs_op */
        int64_t value; /* epoch ms, or the numeric object id */
};

struct hs_search {
        struct hs_filter f[HS_SEARCH_GROUPS_MAX][HS_SEARCH_FILTERS_MAX];
        size_t           nf[HS_SEARCH_GROUPS_MAX];
        size_t           ngroups;   /* 0: every record matches */
        int              sort_prop; /* enum hs_prop; HS_PROP_ID by default */
        int              sort_desc;
        uint32_t         limit;
        uint64_t         after; /* offset into the query's results */
};

/* Parse a search body (len bytes, need not be NUL-terminated) into *out.
 * Returns 0, or -1 with a message naming the member that is wrong (or not
 * supported) in errstr. */
int crmsync_hs_search_parse(const char *body, size_t len, struct hs_search *out,
                            char *errstr, size_t errstr_size);

/* 1 when a record with this last-modified time and numeric id matches
 * the filters (groups OR-ed, filters of a group AND-ed), else 0. */
int crmsync_hs_search_match(const struct hs_search *q, int64_t lastmod_ms,
                            int64_t id);

/* A HubSpot datetime value: epoch milliseconds as digits, or ISO 8601 UTC
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z". Returns 0 and *ms, or -1. */
int crmsync_hs_time_parse(const char *s, int64_t *ms);

/* Format epoch ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (>= 25 bytes). */
void crmsync_hs_time_format(int64_t ms, char *out, size_t out_size);

#endif
