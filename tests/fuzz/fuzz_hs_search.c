/* fuzz_hs_search.c -- libFuzzer target for the HubSpot dialect's search
 * body parser (fakes/crm/hs_search.c): POST /crm/v3/objects/{type}/search
 * bodies and the datetime values in them, outside input to the mock CRM.
 *
 * Checks: a rejected body has a message; an accepted one has 1..200 as
 * limit, at most 5 groups of 1..6 filters with known properties and
 * operators, and matching never crashes; a time that parses formats back
 * to a time that parses to the same value. Seeds: corpus/fuzz_hs_search/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fakes/crm/hs_search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_time(const uint8_t *data, size_t size)
{
        char    s[40], back[40];
        int64_t ms, ms2;

        if (size >= sizeof(s))
                return;
        memcpy(s, data, size);
        s[size] = '\0';
        if (crmsync_hs_time_parse(s, &ms) || ms < 0 ||
            ms > 253402300799999LL) /* year 9999 */
                return;
        crmsync_hs_time_format(ms, back, sizeof(back));
        if (crmsync_hs_time_parse(back, &ms2) || ms2 != ms)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hs_search q;
        char             msg[256] = "";

        check_time(data, size);
        if (crmsync_hs_search_parse((const char *)data, size, &q, msg,
                                    sizeof(msg))) {
                if (!msg[0])
                        abort();
                return 0;
        }
        if (q.limit < 1 || q.limit > HS_SEARCH_LIMIT_MAX ||
            q.ngroups > HS_SEARCH_GROUPS_MAX)
                abort();
        for (size_t g = 0; g < q.ngroups; g++) {
                if (q.nf[g] < 1 || q.nf[g] > HS_SEARCH_FILTERS_MAX)
                        abort();
                for (size_t i = 0; i < q.nf[g]; i++)
                        if (q.f[g][i].prop > HS_PROP_ID ||
                            q.f[g][i].op > HS_OP_GTE)
                                abort();
        }
        (void)crmsync_hs_search_match(&q, 1764066000123LL, 17);
        return 0;
}
