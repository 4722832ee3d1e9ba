/* test_timing.c -- convergence after a moment, on hand-built logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crmsync/timing.h"

/* Record 0: v1 at 100 ms, v2 at 500 ms; record 1: v1 at 200 ms. */
static const uint32_t ev_rec[] = {0, 1, 0};
static const uint32_t ev_ver[] = {1, 1, 2};
static const int64_t  ev_ms[]  = {100, 200, 500};

static void test_converges_when_last_record_catches_up(void **state)
{
        const uint32_t ap_rec[] = {0, 1, 0};
        const uint32_t ap_ver[] = {1, 1, 2};
        const int64_t  ap_ms[]  = {150, 2300, 900};
        const uint8_t  ap_ok[]  = {1, 1, 1};
        struct timing_facts f   = {ev_rec, ev_ver, ev_ms, 3, ap_rec, ap_ver,
                                   ap_ms,  ap_ok,  3,     2};
        (void)state;
        /* At 300 ms the sink must hold r0 v1 (at 150) and r1 v1 (2300). */
        assert_true(crmsync_timing_convergence_s(&f, 300) == 2.0);
        /* At 1000 ms: r0 v2 at 900, r1 v1 at 2300 -> 1.3 s. */
        assert_true(crmsync_timing_convergence_s(&f, 1000) == 1.3);
        /* Before anything committed: already converged. */
        assert_true(crmsync_timing_convergence_s(&f, 50) == 0.0);
}

static void test_never_converges_and_rejected_writes_do_not_count(void **state)
{
        const uint32_t ap_rec[] = {0, 1, 0};
        const uint32_t ap_ver[] = {1, 1, 2};
        const int64_t  ap_ms[]  = {150, 250, 900};
        const uint8_t  ap_ok[]  = {1, 1, 0}; /* v2 rejected */
        struct timing_facts f   = {ev_rec, ev_ver, ev_ms, 3, ap_rec, ap_ver,
                                   ap_ms,  ap_ok,  3,     2};
        (void)state;
        assert_true(crmsync_timing_convergence_s(&f, 1000) == -1.0);
        /* At 300 ms both targets were applied before: 0 s. */
        assert_true(crmsync_timing_convergence_s(&f, 300) == 0.0);
}

static void test_newer_version_counts(void **state)
{
        /* The sink jumps from nothing to v2 of record 0: that covers v1. */
        const uint32_t ap_rec[] = {1, 0};
        const uint32_t ap_ver[] = {1, 2};
        const int64_t  ap_ms[]  = {300, 700};
        const uint8_t  ap_ok[]  = {1, 1};
        struct timing_facts f   = {ev_rec, ev_ver, ev_ms, 3, ap_rec, ap_ver,
                                   ap_ms,  ap_ok,  2,     2};
        (void)state;
        assert_true(crmsync_timing_convergence_s(&f, 250) == 0.45);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_converges_when_last_record_catches_up),
                cmocka_unit_test(
                        test_never_converges_and_rejected_writes_do_not_count),
                cmocka_unit_test(test_newer_version_counts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
