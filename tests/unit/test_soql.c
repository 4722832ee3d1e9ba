/* test_soql.c -- the SOQL subset of the Salesforce dialect
 * (fakes/crm/soql.c): the polling query, conditions, order, limit,
 * datetimes with offsets, and MALFORMED_QUERY messages naming the
 * unsupported part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "fakes/crm/soql.h"

static void test_polling_query(void **state)
{
        struct soql_query q;
        char              why[256];
        (void)state;

        assert_int_equal(
            crmsync_soql_parse("SELECT Id, Name,SystemModstamp FROM Account "
                               "WHERE SystemModstamp > "
                               "2026-11-30T15:13:34.918Z ORDER BY "
                               "SystemModstamp, Id LIMIT 200",
                               &q, why, sizeof(why)),
            0);
        assert_int_equal(q.nfields, 3);
        assert_string_equal(q.fields[1], "Name");
        assert_string_equal(q.object, "Account");
        assert_int_equal(q.nconds, 1);
        assert_int_equal(q.conds[0].prop, SOQL_PROP_MODSTAMP);
        assert_int_equal(q.conds[0].op, SOQL_GT);
        assert_int_equal(q.conds[0].ms, 1796051614918LL);
        assert_int_equal(q.limit, 200);
        assert_false(q.order_desc);
        assert_false(crmsync_soql_match(&q, 1796051614918LL, "001"));
        assert_true(crmsync_soql_match(&q, 1796051614919LL, "001"));
}

static void test_tie_query(void **state)
{
        struct soql_query q;
        char              why[256];
        (void)state;

        assert_int_equal(
            crmsync_soql_parse("select Id from Contact where LastModifiedDate "
                               "= 2026-11-30T16:13:34.918+01:00 and Id > "
                               "'003000000000017AAA' order by SystemModstamp "
                               "DESC, Id DESC",
                               &q, why, sizeof(why)),
            0);
        assert_int_equal(q.nconds, 2);
        assert_int_equal(q.conds[0].ms, 1796051614918LL);
        assert_string_equal(q.conds[1].id, "003000000000017AAA");
        assert_true(q.order_desc);
        assert_true(
            crmsync_soql_match(&q, 1796051614918LL, "003000000000018AAA"));
        assert_false(
            crmsync_soql_match(&q, 1796051614918LL, "003000000000017AAA"));
}

static void test_malformed(void **state)
{
        static const struct {
                const char *q, *names;
        } bad[] = {
            {"", "end of query"},
            {"DELETE FROM Account", "'DELETE'"},
            {"SELECT FROM Account", "'FROM'"},
            {"SELECT Id FROM Account GROUP BY Name", "'GROUP'"},
            {"SELECT Id FROM Account WHERE Name = 'x'", "'Name'"},
            {"SELECT Id FROM Account WHERE SystemModstamp > 1 OR Id = 'a'",
             "datetime"},
            {"SELECT Id FROM Account WHERE SystemModstamp != "
             "2026-01-01T00:00:00Z",
             "'!='"},
            {"SELECT Id FROM Account ORDER BY Name", "'Name'"},
            {"SELECT Id FROM Account ORDER BY SystemModstamp, Id DESC",
             "same direction"},
            {"SELECT Id FROM Account LIMIT 50001", "LIMIT"},
            {"SELECT Id FROM Account WHERE Id = 'abc", "string"},
            {"SELECT Id FROM Account OFFSET 10", "'OFFSET'"},
        };
        struct soql_query q;
        char              why[256];
        (void)state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why[0] = '\0';
                assert_int_equal(
                    crmsync_soql_parse(bad[i].q, &q, why, sizeof(why)), -1);
                if (!strstr(why, bad[i].names))
                        fail_msg("'%s': '%s' does not name '%s'", bad[i].q, why,
                                 bad[i].names);
        }
}

static void test_time(void **state)
{
        int64_t ms;
        (void)state;

        assert_int_equal(
            crmsync_soql_time_parse("2026-11-30T15:13:34Z", 20, &ms), 0);
        assert_int_equal(ms, 1796051614000LL);
        assert_int_equal(
            crmsync_soql_time_parse("2026-11-30T10:13:34.918-0500", 28, &ms),
            0);
        assert_int_equal(ms, 1796051614918LL);
        assert_int_equal(
            crmsync_soql_time_parse("2026-11-30T15:13:34.91Z", 23, &ms), -1);
        assert_int_equal(
            crmsync_soql_time_parse("2026-11-30T15:13:34+2500", 24, &ms), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_polling_query),
            cmocka_unit_test(test_tie_query),
            cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
