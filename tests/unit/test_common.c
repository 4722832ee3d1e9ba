/* test_common.c -- clocks, error strings and bug switch names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"

static void test_bug_names_roundtrip(void **state)
{
        (void)state;
        for (int i = 0; i < 11; i++) {
                uint32_t    bit  = 1u << i;
                const char *name = crmsync_bug_name(bit);
                assert_non_null(name);
                assert_int_equal(crmsync_bug_parse(name), bit);
        }
        assert_int_equal(crmsync_bug_parse("no-such-bug"), 0);
        assert_non_null(strstr(crmsync_bug_names(), "ignore-410"));
}

static void test_err_fills_and_returns_minus_one(void **state)
{
        char buf[32];
        (void)state;
        assert_int_equal(crmsync_err(buf, sizeof(buf), "x=%d", 42), -1);
        assert_string_equal(buf, "x=42");
        assert_int_equal(crmsync_err(NULL, 0, "nothing"), -1);
}

static void test_clocks_move_forward(void **state)
{
        (void)state;
        int64_t a = crmsync_mono_us();
        int64_t b = crmsync_mono_us();
        assert_true(b >= a);
        assert_true(crmsync_wall_ms() > 1600000000000LL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bug_names_roundtrip),
            cmocka_unit_test(test_err_fills_and_returns_minus_one),
            cmocka_unit_test(test_clocks_move_forward),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
