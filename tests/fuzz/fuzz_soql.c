/* fuzz_soql.c -- libFuzzer target for the Salesforce dialect's SOQL-subset
 * parser (fakes/crm/soql.c): GET /services/data/vXX.X/query?q= is outside
 * input to the mock CRM.
 *
 * Checks: a rejected query has a message; an accepted one has 1..40
 * fields, an object name, at most 4 known conditions and a LIMIT in
 * range, every name NUL-terminated within its buffer; matching never
 * crashes. Seeds: corpus/fuzz_soql/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fakes/crm/soql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct soql_query q;
        char              msg[256] = "";
        char             *s        = malloc(size + 1);

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (crmsync_soql_parse(s, &q, msg, sizeof(msg))) {
                if (!msg[0])
                        abort();
                free(s);
                return 0;
        }
        if (q.nfields < 1 || q.nfields > SOQL_FIELDS_MAX || !q.object[0] ||
            memchr(q.object, 0, SOQL_NAME_MAX) == NULL ||
            q.nconds > SOQL_CONDS_MAX || q.limit > SOQL_LIMIT_MAX)
                abort();
        for (int i = 0; i < q.nfields; i++)
                if (!q.fields[i][0] ||
                    memchr(q.fields[i], 0, SOQL_NAME_MAX) == NULL)
                        abort();
        for (int i = 0; i < q.nconds; i++)
                if (q.conds[i].prop > SOQL_PROP_ID || q.conds[i].op > SOQL_GE ||
                    memchr(q.conds[i].id, 0, SOQL_NAME_MAX) == NULL)
                        abort();
        (void)crmsync_soql_match(&q, 1764066000123LL, "001000000000017AAA");
        free(s);
        return 0;
}
