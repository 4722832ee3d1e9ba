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
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crmsync/pilot_report.h"
#include "harness/offsets.h"

static struct sink_apply apply(const char *id, int applied)
{
        struct sink_apply a = {0};
        a.event_id          = id; /* a literal: lives as long as the test */
        a.applied           = applied;
        return a;
}

/* Partition 0: offsets 10..12 (e-1, e-2, and e-1 again at 12); partition
 * 1: 20..21; partition 2: nothing this run. */
static struct auditor_fact facts[] = {
    {.event_id = "e-1", .partition = 0, .offset = 10},
    {.event_id = "e-2", .partition = 0, .offset = 11},
    {.event_id = "e-1", .partition = 0, .offset = 12},
    {.event_id = "e-3", .partition = 1, .offset = 20},
    {.event_id = "e-4", .partition = 1, .offset = 21},
    {.event_id = "e-9", .partition = 0, .offset = 0, .dlq = 1},
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

/* The judge's index of a large run's facts stays small: 200,000 facts
 * with 40 MB of address space to spare (a JSON object per event id took
 * ~370 bytes a fact, 74 MB here). In a child, under RLIMIT_AS; not under
 * ASan, whose shadow memory needs the address space. */
static void test_large_run_fits(void **state)
{
        enum { N = 200000 };
        struct auditor_fact *fs;
        struct sink_apply   *as;
        char(*ids)[16], (*fids)[16];
        int64_t st[2] = {0, 0}, en[2] = {N / 2, N / 2};
        long    vm_kb = 0;
        char    line[256];
        FILE   *fp;
        pid_t   pid;
        int     status;
        (void)state;
#if defined(__SANITIZE_ADDRESS__)
        skip();
#endif
        fs   = calloc(N, sizeof(*fs));
        as   = calloc(N, sizeof(*as));
        ids  = calloc(N, sizeof(*ids));
        fids = calloc(N, sizeof(*fids));
        assert_non_null(fids);
        assert_non_null(fs);
        assert_non_null(as);
        assert_non_null(ids);
        for (int i = 0; i < N; i++) {
                snprintf(fids[i], sizeof(fids[i]), "e-%08d", N - i);
                fs[i].event_id  = fids[i];
                fs[i].partition = i % 2;
                fs[i].offset    = i / 2;
                snprintf(ids[i], sizeof(ids[i]), "e-%08d", i + 1);
                as[i].event_id = ids[i];
                as[i].applied  = 1;
        }
        fp = fopen("/proc/self/status", "r");
        assert_non_null(fp);
        while (fgets(line, sizeof(line), fp))
                if (!strncmp(line, "VmSize:", 7))
                        vm_kb = strtol(line + 7, NULL, 10);
        fclose(fp);
        assert_true(vm_kb > 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl;
                rl.rlim_cur = rl.rlim_max = (rlim_t)(vm_kb + 40 * 1024) * 1024;
                if (setrlimit(RLIMIT_AS, &rl))
                        _exit(3);
                json_t *o = crmsync_offsets_current(2, st, en, fs, N, as, N);
                _exit(o && json_is_true(json_object_get(o, "current")) ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("the index of %d facts did not fit in 40 MB "
                         "(status %d)",
                         N, status);
        free(fs);
        free(as);
        free(ids);
        free(fids);
}

/* A 1,000,000-change run holds a fact per record read and an apply-log
 * entry per write (two per change with a replay): both stay 32 bytes,
 * their ids pointing at shared strings (88 and 136 bytes with the ids
 * inline). */
static void test_entries_are_compact(void **state)
{
        (void)state;
        assert_true(sizeof(struct auditor_fact) <= 32);
        assert_true(sizeof(struct sink_apply) <= 32);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_current),
            cmocka_unit_test(test_behind),
            cmocka_unit_test(test_not_recorded),
            cmocka_unit_test(test_large_run_fits),
            cmocka_unit_test(test_entries_are_compact),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
