/* test_hs_search.c -- the HubSpot search body (fakes/crm/hs_search.c):
 * filters, sorts, paging, errors naming the member, and the datetime
 * values HubSpot accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "fakes/crm/hs_search.h"

static int parse(const char *body, struct hs_search *q, char *why)
{
        return crmsync_hs_search_parse(body, strlen(body), q, why, 256);
}

static void test_window(void **state)
{
        struct hs_search q;
        char             why[256];
        (void)state;

        assert_int_equal(
            parse("{\"filterGroups\":[{\"filters\":[{\"propertyName\":"
                  "\"hs_lastmodifieddate\",\"operator\":\"GTE\",\"value\":"
                  "\"1000\"},{\"propertyName\":\"hs_lastmodifieddate\","
                  "\"operator\":\"LTE\",\"value\":2000}]}],\"sorts\":[{"
                  "\"propertyName\":\"hs_lastmodifieddate\",\"direction\":"
                  "\"DESCENDING\"}],\"limit\":200,\"after\":\"400\","
                  "\"properties\":[\"email\"]}",
                  &q, why),
            0);
        assert_int_equal(q.limit, 200);
        assert_int_equal(q.after, 400);
        assert_int_equal(q.sort_prop, HS_PROP_LASTMOD);
        assert_true(q.sort_desc);
        assert_true(crmsync_hs_search_match(&q, 1000, 1));
        assert_true(crmsync_hs_search_match(&q, 2000, 1));
        assert_false(crmsync_hs_search_match(&q, 999, 1));
        assert_false(crmsync_hs_search_match(&q, 2001, 1));
}

static void test_groups_or(void **state)
{
        struct hs_search q;
        char             why[256];
        (void)state;

        assert_int_equal(
            parse("{\"filterGroups\":[{\"filters\":[{\"propertyName\":"
                  "\"hs_object_id\",\"operator\":\"EQ\",\"value\":\"17\"}]},"
                  "{\"filters\":[{\"propertyName\":\"lastmodifieddate\","
                  "\"operator\":\"GT\",\"value\":\"1970-01-01T00:00:01."
                  "000Z\"}]}],\"sorts\":[\"-hs_object_id\"]}",
                  &q, why),
            0);
        assert_int_equal(q.limit, HS_SEARCH_LIMIT_DEF);
        assert_int_equal(q.sort_prop, HS_PROP_ID);
        assert_true(q.sort_desc);
        assert_true(crmsync_hs_search_match(&q, 0, 17));
        assert_true(crmsync_hs_search_match(&q, 1001, 3));
        assert_false(crmsync_hs_search_match(&q, 1000, 3));
}

static void test_errors(void **state)
{
        static const struct {
                const char *body, *names;
        } bad[] = {
            {"{", "Invalid input JSON"},
            {"[]", "expected an object"},
            {"{\"limit\":201}", "limit"},
            {"{\"limit\":0}", "limit"},
            {"{\"after\":\"x\"}", "after"},
            {"{\"query\":\"ada\"}", "query"},
            {"{\"foo\":1}", "foo"},
            {"{\"sorts\":[\"a\",\"b\"]}", "sorts"},
            {"{\"sorts\":[{\"propertyName\":\"email\"}]}", "email"},
            {"{\"filterGroups\":[{\"filters\":[]}]}", "filterGroups[0]"},
            {"{\"filterGroups\":[{\"filters\":[{\"propertyName\":"
             "\"email\",\"operator\":\"EQ\",\"value\":\"x\"}]}]}",
             "'email' not supported"},
            {"{\"filterGroups\":[{\"filters\":[{\"propertyName\":"
             "\"hs_object_id\",\"operator\":\"IN\",\"value\":\"1\"}]}]}",
             "operator: 'IN'"},
            {"{\"filterGroups\":[{\"filters\":[{\"propertyName\":"
             "\"hs_lastmodifieddate\",\"operator\":\"EQ\",\"value\":"
             "\"yesterday\"}]}]}",
             "filters[0].value"},
            {"{\"filterGroups\":[{},{},{},{},{},{}]}", "at most 5"},
        };
        struct hs_search q;
        char             why[256];
        (void)state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why[0] = '\0';
                assert_int_equal(parse(bad[i].body, &q, why), -1);
                if (!strstr(why, bad[i].names))
                        fail_msg("%s: '%s' does not name '%s'", bad[i].body,
                                 why, bad[i].names);
        }
}

static void test_time(void **state)
{
        int64_t ms;
        char    out[32];
        (void)state;

        assert_int_equal(crmsync_hs_time_parse("2026-11-30T15:13:34.918Z", &ms),
                         0);
        assert_int_equal(ms, 1796051614918LL);
        crmsync_hs_time_format(ms, out, sizeof(out));
        assert_string_equal(out, "2026-11-30T15:13:34.918Z");
        assert_int_equal(crmsync_hs_time_parse("2000-02-29T00:00:00Z", &ms), 0);
        assert_int_equal(ms, 951782400000LL);
        assert_int_equal(crmsync_hs_time_parse("1764066000123", &ms), 0);
        assert_int_equal(ms, 1764066000123LL);
        assert_int_equal(crmsync_hs_time_parse("2026-13-01T00:00:00Z", &ms),
                         -1);
        assert_int_equal(crmsync_hs_time_parse("2026-11-30 15:13:34Z", &ms),
                         -1);
        assert_int_equal(crmsync_hs_time_parse("", &ms), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_window),
            cmocka_unit_test(test_groups_or),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
