/* test_common.c -- clocks, error strings and bug switch names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
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

/* crmsync_array_grow: nothing while there is room, then doubling from
 * first; an overflowing size fails and leaves the array as it was. */
static void test_array_grow(void **state)
{
        struct item {
                int a, b;
        } *v       = NULL;
        size_t cap = 0, cnt = 0;
        (void)state;

        assert_int_equal(crmsync_array_grow(&v, &cap, cnt, sizeof(*v), 4), 0);
        assert_non_null(v);
        assert_int_equal(cap, 4);
        for (cnt = 0; cnt < 4; cnt++) {
                assert_int_equal(
                    crmsync_array_grow(&v, &cap, cnt, sizeof(*v), 4), 0);
                v[cnt] = (struct item){(int)cnt, 1};
        }
        assert_int_equal(cap, 4); /* room until full */
        assert_int_equal(crmsync_array_grow(&v, &cap, cnt, sizeof(*v), 4), 0);
        assert_int_equal(cap, 8);
        assert_int_equal(v[3].a, 3); /* kept across the move */
        struct item *before = v;
        size_t       huge   = SIZE_MAX / 2 + 1;
        assert_int_equal(crmsync_array_grow(&v, &huge, huge, sizeof(*v), 4),
                         -1);
        assert_ptr_equal(v, before);
        assert_true(huge == SIZE_MAX / 2 + 1);
        free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bug_names_roundtrip),
            cmocka_unit_test(test_err_fills_and_returns_minus_one),
            cmocka_unit_test(test_clocks_move_forward),
            cmocka_unit_test(test_array_grow),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
