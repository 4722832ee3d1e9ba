/* test_crm_query.c -- query-string lookup, %-decoding and integer bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "fakes/crm/crm_query.h"

static void test_get(void **state)
{
        char out[16];
        (void)state;

        assert_int_equal(crmsync_query_get("cursor=abc&limit=200", "limit", out,
                                           sizeof(out)),
                         0);
        assert_string_equal(out, "200");
        assert_int_equal(
            crmsync_query_get("cursor=a%2Fb+c&x", "cursor", out, sizeof(out)),
            0);
        assert_string_equal(out, "a/b c");
        /* Key without '=', empty value, first occurrence wins. */
        assert_int_equal(crmsync_query_get("x&y=1", "x", out, sizeof(out)), 0);
        assert_string_equal(out, "");
        assert_int_equal(crmsync_query_get("k=1&k=2", "k", out, sizeof(out)),
                         0);
        assert_string_equal(out, "1");
        /* Prefixes are not matches. */
        assert_int_equal(
            crmsync_query_get("limits=5", "limit", out, sizeof(out)), 1);
        assert_int_equal(crmsync_query_get(NULL, "limit", out, sizeof(out)), 1);
        assert_int_equal(crmsync_query_get("", "limit", out, sizeof(out)), 1);
        /* Malformed escapes, NUL bytes, values too long. */
        assert_int_equal(crmsync_query_get("k=%G1", "k", out, sizeof(out)), -1);
        assert_int_equal(crmsync_query_get("k=%4", "k", out, sizeof(out)), -1);
        assert_int_equal(crmsync_query_get("k=%00", "k", out, sizeof(out)), -1);
        assert_int_equal(
            crmsync_query_get("k=0123456789abcdef", "k", out, sizeof(out)), -1);
        assert_int_equal(
            crmsync_query_get("k=0123456789abcde", "k", out, sizeof(out)), 0);
}

static void test_u64(void **state)
{
        uint64_t v = 7;
        (void)state;

        assert_int_equal(crmsync_query_u64("limit=200", "limit", &v), 0);
        assert_true(v == 200);
        assert_int_equal(crmsync_query_u64("n=18446744073709551615", "n", &v),
                         0);
        assert_true(v == UINT64_MAX);
        v = 7;
        assert_int_equal(crmsync_query_u64("n=18446744073709551616", "n", &v),
                         -1);
        assert_int_equal(crmsync_query_u64("n=-1", "n", &v), -1);
        assert_int_equal(crmsync_query_u64("n=+1", "n", &v), -1);
        assert_int_equal(crmsync_query_u64("n=1x", "n", &v), -1);
        assert_int_equal(crmsync_query_u64("n=", "n", &v), -1);
        assert_int_equal(crmsync_query_u64("n=%20", "n", &v), -1);
        assert_int_equal(crmsync_query_u64("m=1", "n", &v), 1);
        assert_true(v == 7); /* untouched unless found */
        assert_int_equal(
            crmsync_query_u64_range("limit=0", "limit", 1, 1000, &v), -1);
        assert_int_equal(
            crmsync_query_u64_range("limit=1001", "limit", 1, 1000, &v), -1);
        assert_int_equal(
            crmsync_query_u64_range("limit=1000", "limit", 1, 1000, &v), 0);
        assert_true(v == 1000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_get),
            cmocka_unit_test(test_u64),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
