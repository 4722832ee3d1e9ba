/* test_offsets.c -- harness/run_offsets.c and the pilot's text for it:
 * which sink is current. A sink that applied the last record of every
 * partition is current (quiet); one whose apply log lacks a partition's
 * tail is behind by the offsets in between, on that partition only
 * (fires); a record read twice counts at its highest offset; DLQ facts do
 * not count; a partition the run wrote nothing to is current. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "crmsync/pilot_report.h"
#include "harness/offsets.h"

static struct sink_apply apply(const char *id, int applied)
{
        struct sink_apply a = {0};
        snprintf(a.event_id, sizeof(a.event_id), "%s", id);
        a.applied = applied;
        return a;
}

/* Partition 0: offsets 10..12 (e-1, e-2, and e-1 again at 12); partition
 * 1: 20..21; partition 2: nothing this run. */
static struct auditor_fact facts[] = {
    {"e-1", 0, 10, 0, 0, 0, 0}, {"e-2", 0, 11, 0, 0, 0, 0},
    {"e-1", 0, 12, 0, 0, 0, 0}, {"e-3", 1, 20, 0, 0, 0, 0},
    {"e-4", 1, 21, 0, 0, 0, 0}, {"e-9", 0, 0, 0, 1, 0, 0},
};
static const int64_t start[] = {10, 20, 7};
static const int64_t ends[]  = {13, 22, 7};

static void test_current(void **state)
{
        struct sink_apply a[] = {apply("e-1", 1), apply("e-2", 1),
                                 apply("e-1", 0), apply("e-3", 1),
                                 apply("e-4", 1)};
        json_t *o = crmsync_offsets_current(3, start, ends, facts, 6, a, 5);
        char    buf[400];
        (void)state;
        assert_true(json_is_true(json_object_get(o, "current")));
        assert_int_equal(json_integer_value(json_object_get(o, "behind_total")),
                         0);
        assert_int_equal(
            json_integer_value(json_object_get(
                json_array_get(json_object_get(o, "partitions"), 0),
                "highest_applied")),
            12);
        assert_int_equal(crmsync_pilot_offsets_text(o, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "current: p0 12 (end 13), p1 21 (end 22), "
                                 "p2 none this run");
        json_decref(o);
}

static void test_behind(void **state)
{
        /* The sink never got e-4 (the last record of partition 1), and
         * the DLQ record e-9 does not count for partition 0. */
        struct sink_apply a[] = {apply("e-1", 1), apply("e-2", 1),
                                 apply("e-3", 1), apply("e-9", 1)};
        json_t *o = crmsync_offsets_current(3, start, ends, facts, 6, a, 4);
        const json_t *p1 = json_array_get(json_object_get(o, "partitions"), 1);
        char          buf[400];
        (void)state;
        assert_false(json_is_true(json_object_get(o, "current")));
        assert_int_equal(json_integer_value(json_object_get(p1, "behind")), 1);
        assert_int_equal(
            json_integer_value(json_object_get(o, "behind_partitions")), 1);
        assert_int_equal(crmsync_pilot_offsets_text(o, buf, sizeof(buf)), 1);
        assert_string_equal(buf, "BEHIND: p1 by 1 (applied 20, end 22); "
                                 "current: p0, p2");
        json_decref(o);
        /* Nothing applied at all on partition 0: behind by all 3. */
        o = crmsync_offsets_current(3, start, ends, facts, 6, a + 2, 1);
        assert_int_equal(
            json_integer_value(json_object_get(
                json_array_get(json_object_get(o, "partitions"), 0), "behind")),
            3);
        json_decref(o);
}

static void test_not_recorded(void **state)
{
        char    buf[200];
        json_t *e = json_pack("{s:s}", "error", "broker down");
        (void)state;
        assert_int_equal(crmsync_pilot_offsets_text(NULL, buf, sizeof(buf)),
                         -1);
        assert_string_equal(buf, "not recorded");
        assert_int_equal(crmsync_pilot_offsets_text(e, buf, sizeof(buf)), -1);
        assert_string_equal(buf, "log end unknown: broker down");
        json_decref(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_current),
            cmocka_unit_test(test_behind),
            cmocka_unit_test(test_not_recorded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
