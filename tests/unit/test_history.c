/* test_history.c -- history detectors on hand-built histories: each fires
 * on its fault and stays quiet on a clean history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/history.h"

/* Record 0 gets versions 1..3 (seqs 1..3); record 1 gets v1 (seq 4). */
static history_t *base(void)
{
        history_t *h = crmsync_history_new(4, 2, 0);
        assert_non_null(h);
        for (uint32_t s = 1; s <= 3; s++)
                crmsync_history_commit(h, s, 0, s);
        crmsync_history_commit(h, 4, 1, 1);
        for (uint32_t s = 1; s <= 4; s++)
                crmsync_history_observe(h, s, 0, s - 1);
        return h;
}

static void check(history_t *h, struct check_result *r,
                  struct history_stats *st)
{
        crmsync_check_result_init(r);
        assert_int_equal(crmsync_history_check(h, r, st), 0);
}

static void test_clean_history_is_quiet(void **state)
{
        struct check_result  r;
        struct history_stats st;
        history_t           *h = base();
        (void)state;
        crmsync_history_apply(h, 1, 0, 1, 1, 1);
        crmsync_history_apply(h, 3, 0, 3, 1, 0);
        crmsync_history_apply(h, 2, 0, 2, 0, 0); /* late, rejected: fine */
        crmsync_history_apply(h, 4, 1, 1, 1, 1);
        crmsync_history_side_effect(h, 4, 1);
        check(h, &r, &st);
        assert_int_equal(crmsync_check_result_total(&r), 0);
        assert_int_equal(st.observed, 4);
        assert_int_equal(st.log_duplicates, 0);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

static void test_lost_after_topic(void **state)
{
        struct check_result  r;
        struct history_stats st;
        history_t           *h = base();
        (void)state;
        crmsync_history_apply(h, 1, 0, 1, 1, 1);
        crmsync_history_apply(h, 3, 0, 3, 1, 0); /* v2 never written */
        crmsync_history_apply(h, 4, 1, 1, 1, 1);
        check(h, &r, &st);
        assert_int_equal(r.counts[ANOMALY_LOST], 1);
        assert_int_equal(st.lost_after_topic, 1);
        assert_int_equal(crmsync_check_result_total(&r), 1);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

static void test_lost_before_topic_and_covered_by_snapshot(void **state)
{
        struct check_result  r;
        struct history_stats st;
        history_t           *h = crmsync_history_new(3, 1, 0);
        (void)state;
        for (uint32_t s = 1; s <= 3; s++)
                crmsync_history_commit(h, s, 0, s);
        crmsync_history_observe(h, 1, 0, 0);
        crmsync_history_observe(h, 3, 0, 1); /* seq 2 never produced */
        crmsync_history_apply(h, 1, 0, 1, 1, 1);
        crmsync_history_apply(h, 3, 0, 3, 1, 0);
        check(h, &r, &st);
        assert_int_equal(r.counts[ANOMALY_LOST], 1);
        assert_int_equal(st.lost_before_topic, 1);
        crmsync_check_result_clear(&r);
        /* A full snapshot at v2 or later (resync) covers seq 2. */
        crmsync_history_apply(h, 0, 0, 2, 1, 1);
        check(h, &r, &st);
        assert_int_equal(r.counts[ANOMALY_LOST], 0);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

/* Record 0: v1 create (seq 1), v2 update (seq 2), v3 delete (seq 3). The
 * update reached the topic, but the pipeline skipped it: it resolved the
 * record from the CRM and wrote the delete. The delete supersedes it. */
static void test_delete_supersedes_skipped_update(void **state)
{
        struct check_result  r;
        struct history_stats st;
        history_t           *h = crmsync_history_new(3, 1, 0);
        (void)state;
        for (uint32_t s = 1; s <= 3; s++) {
                crmsync_history_commit(h, s, 0, s);
                crmsync_history_observe(h, s, 0, s - 1);
        }
        crmsync_history_apply(h, 1, 0, 1, 1, HISTORY_WRITE_FULL);
        crmsync_history_apply(h, 3, 0, 3, 1, HISTORY_WRITE_DELETE);
        check(h, &r, &st);
        assert_int_equal(r.counts[ANOMALY_LOST], 0);
        assert_int_equal(crmsync_check_result_total(&r), 0);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

/* The same skip covered by a full-state write at a later version, one the
 * sink rejected because the delete beat it: still superseded, not lost.
 * A partial update at a later version does not carry v2's fields: v2
 * stays lost. */
static void test_full_write_supersedes_partial_does_not(void **state)
{
        struct check_result  r;
        struct history_stats st;
        history_t           *h = crmsync_history_new(4, 2, 0);
        (void)state;
        for (uint32_t s = 1; s <= 3; s++) {
                crmsync_history_commit(h, s, 0, s);
                crmsync_history_observe(h, s, 0, s - 1);
        }
        crmsync_history_commit(h, 4, 1, 1);
        crmsync_history_observe(h, 4, 1, 0);
        crmsync_history_apply(h, 1, 0, 1, 1, HISTORY_WRITE_FULL);
        crmsync_history_apply(h, 3, 0, 3, 1, 0); /* partial: v2 lost */
        crmsync_history_apply(h, 4, 1, 1, 1, HISTORY_WRITE_FULL);
        check(h, &r, &st);
        assert_int_equal(r.counts[ANOMALY_LOST], 1);
        assert_int_equal(st.lost_after_topic, 1);
        crmsync_check_result_clear(&r);
        /* A full snapshot of v3, rejected as stale (v3 was held): covers. */
        crmsync_history_apply(h, 0, 0, 3, 0, HISTORY_WRITE_FULL);
        check(h, &r, &st);
        assert_int_equal(r.counts[ANOMALY_LOST], 0);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

static void test_last_change_lost_is_end_state_not_history(void **state)
{
        struct check_result r;
        history_t          *h = base();
        (void)state;
        /* v3 never written: no later version applied, so the end-state
         * check (stale) owns it; history stays quiet. */
        crmsync_history_apply(h, 1, 0, 1, 1, 1);
        crmsync_history_apply(h, 2, 0, 2, 1, 0);
        crmsync_history_apply(h, 4, 1, 1, 1, 1);
        check(h, &r, NULL);
        assert_int_equal(crmsync_check_result_total(&r), 0);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

static void test_reordered_and_duplicates(void **state)
{
        struct check_result  r;
        struct history_stats st;
        history_t           *h = base();
        (void)state;
        crmsync_history_observe(h, 2, 3, 7); /* a second copy in the log */
        crmsync_history_apply(h, 1, 0, 1, 1, 1);
        crmsync_history_apply(h, 3, 0, 3, 1, 0);
        crmsync_history_apply(h, 2, 0, 2, 1, 0); /* blind write: regression */
        crmsync_history_apply(h, 4, 1, 1, 1, 1);
        crmsync_history_side_effect(h, 4, 1);
        crmsync_history_side_effect(h, 4, 1);
        check(h, &r, &st);
        assert_int_equal(r.counts[ANOMALY_REORDERED], 1);
        assert_int_equal(r.counts[ANOMALY_DUPLICATE_SIDE_EFFECT], 1);
        assert_int_equal(st.log_duplicates, 1);
        assert_int_equal(crmsync_check_result_total(&r), 2);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

static void test_dead_lettered(void **state)
{
        struct check_result r;
        history_t          *h = base();
        (void)state;
        crmsync_history_dead_letter(h, 2);
        crmsync_history_apply(h, 1, 0, 1, 1, 1);
        crmsync_history_apply(h, 3, 0, 3, 1, 0);
        crmsync_history_apply(h, 4, 1, 1, 1, 1);
        check(h, &r, NULL);
        assert_int_equal(r.counts[ANOMALY_DEAD_LETTERED], 1);
        assert_int_equal(r.counts[ANOMALY_LOST], 0);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

static void test_fact_cap(void **state)
{
        struct history_stats st;
        struct check_result  r;
        history_t           *h = crmsync_history_new(1, 1, 2);
        (void)state;
        crmsync_history_commit(h, 1, 0, 1);
        for (int i = 0; i < 5; i++)
                crmsync_history_apply(h, 1, 0, 1, 0, 0);
        check(h, &r, &st);
        assert_int_equal(st.applies, 2);
        assert_int_equal(st.dropped_facts, 3);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_clean_history_is_quiet),
            cmocka_unit_test(test_lost_after_topic),
            cmocka_unit_test(test_lost_before_topic_and_covered_by_snapshot),
            cmocka_unit_test(test_delete_supersedes_skipped_update),
            cmocka_unit_test(test_full_write_supersedes_partial_does_not),
            cmocka_unit_test(test_last_change_lost_is_end_state_not_history),
            cmocka_unit_test(test_reordered_and_duplicates),
            cmocka_unit_test(test_dead_lettered),
            cmocka_unit_test(test_fact_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
