/* soql.h -- the subset of Salesforce's SOQL that incremental polling uses,
 * as the mock CRM serves it (docs/crm-dialects.md):
 *
 *   SELECT f1, f2, ... FROM Object
 *     [WHERE cond [AND cond ...]]
 *     [ORDER BY SystemModstamp [ASC|DESC] [, Id [ASC|DESC]]]
 *     [LIMIT n]
 *
 * cond: SystemModstamp | LastModifiedDate  (= < <= > >=)  datetime
 *       Id  (= < <= > >=)  'id'
 * datetime: YYYY-MM-DDThh:mm:ss[.sss](Z | +hhmm | -hhmm), unquoted.
 * Keywords are case-insensitive. Anything else is rejected with a
 * message naming what is not supported (MALFORMED_QUERY).
 *
 * Pure functions, no I/O; tests/fuzz/fuzz_soql.c feeds it bytes. */
#ifndef CRMSYNC_SOQL_H
#define CRMSYNC_SOQL_H

#include <stddef.h>
#include <stdint.h>

#define SOQL_MAX_LEN 4000  /* query bytes (Salesforce: 100,000) */
#define SOQL_FIELDS_MAX 40 /* SELECT list */
#define SOQL_NAME_MAX 64   /* one identifier */
#define SOQL_CONDS_MAX 4   /* AND-ed conditions */
#define SOQL_LIMIT_MAX 50000

enum soql_prop { SOQL_PROP_MODSTAMP = 0, SOQL_PROP_ID };
enum soql_op { SOQL_EQ = 0, SOQL_LT, SOQL_LE, SOQL_GT, SOQL_GE };

struct soql_cond {
        int     prop;              /* enum soql_prop */
        int     op;                /* enum soql_op */
        int64_t ms;                /* SOQL_PROP_MODSTAMP: epoch ms */
        char    id[SOQL_NAME_MAX]; /* SOQL_PROP_ID */
};

struct soql_query {
        char             fields[SOQL_FIELDS_MAX][SOQL_NAME_MAX];
        int              nfields;
        char             object[SOQL_NAME_MAX];
        struct soql_cond conds[SOQL_CONDS_MAX];
        int              nconds;
        int              order_desc; /* ORDER BY ... DESC */
        uint32_t         limit;      /* 0 = none */
};

/* Parse q (NUL-terminated). Returns 0, or -1 with Salesforce's kind of
 * message in errstr ("unexpected token: 'GROUP'", ...). */
int crmsync_soql_parse(const char *q, struct soql_query *out, char *errstr,
                       size_t errstr_size);

/* 1 when a record with this SystemModstamp and Id satisfies every
 * condition; ids compare as strings. */
int crmsync_soql_match(const struct soql_query *q, int64_t modstamp_ms,
                       const char *id);

/* A SOQL/REST datetime: YYYY-MM-DDThh:mm:ss[.sss](Z|+hhmm|-hhmm|+hh:mm).
 * Returns 0 and *ms, or -1. */
int crmsync_soql_time_parse(const char *s, size_t len, int64_t *ms);

#endif
