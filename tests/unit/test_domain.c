/* test_domain.c -- account sets for bounded-domain replays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "crmsync/domain.h"

static void test_ids(void **state)
{
        struct account_domain d;
        char                  err[128];
        (void)state;
        assert_int_equal(
            crmsync_domain_parse("ids:A-1,A-3", &d, err, sizeof(err)), 0);
        assert_true(crmsync_domain_contains(&d, "A-1"));
        assert_true(crmsync_domain_contains(&d, "A-3"));
        assert_false(crmsync_domain_contains(&d, "A-2"));
        crmsync_domain_clear(&d);
}

static void test_hash_partitions_the_accounts(void **state)
{
        struct account_domain d[4];
        char                  err[128], spec[16], id[16];
        (void)state;
        for (int k = 0; k < 4; k++) {
                snprintf(spec, sizeof(spec), "hash:%d/4", k);
                assert_int_equal(
                    crmsync_domain_parse(spec, &d[k], err, sizeof(err)), 0);
        }
        int per[4] = {0};
        for (int i = 1; i <= 1000; i++) {
                int hits = 0;
                snprintf(id, sizeof(id), "A-%06d", i);
                for (int k = 0; k < 4; k++)
                        if (crmsync_domain_contains(&d[k], id)) {
                                hits++;
                                per[k]++;
                        }
                assert_int_equal(hits, 1); /* exactly one bucket each */
        }
        for (int k = 0; k < 4; k++)
                assert_true(per[k] > 150 && per[k] < 350);
}

static void test_bad_specs(void **state)
{
        struct account_domain d;
        char                  err[128];
        (void)state;
        assert_int_equal(crmsync_domain_parse("hash:4/4", &d, err, sizeof(err)),
                         -1);
        assert_int_equal(
            crmsync_domain_parse("hash:1/4x", &d, err, sizeof(err)), -1);
        assert_int_equal(crmsync_domain_parse("ids:", &d, err, sizeof(err)),
                         -1);
        assert_int_equal(crmsync_domain_parse("A-1", &d, err, sizeof(err)), -1);
}

/* sscanf("%d") took signs, spaces and overflowing numbers, and strtok
 * skipped empty list items: each was a typo that passed. */
static void test_strict_syntax(void **state)
{
        static const char *const bad[]  = {"hash: 1/4",
                                           "hash:1/ 4",
                                           "hash:+1/4",
                                           "hash:-0/4",
                                           "hash:1/+4",
                                           "hash:99999999999/4",
                                           "hash:1/99999999999",
                                           "hash:0/0",
                                           "hash:/4",
                                           "hash:1/",
                                           "hash:1",
                                           "ids:A-1,,A-2",
                                           "ids:A-1,",
                                           "ids:,A-1",
                                           "ids:A-1, A-2"};
        static const char *const good[] = {"hash:0/1", "hash:7/1048576",
                                           "hash:01/4", "ids:A-1",
                                           "ids:A-1,A-2"};
        struct account_domain    d;
        char                     err[128];
        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (crmsync_domain_parse(bad[i], &d, err, sizeof(err)) != -1)
                        fail_msg("'%s' accepted", bad[i]);
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                if (crmsync_domain_parse(good[i], &d, err, sizeof(err)))
                        fail_msg("'%s' refused: %s", good[i], err);
                crmsync_domain_clear(&d);
        }
        assert_int_equal(crmsync_domain_parse("hash:3/8", &d, err, sizeof(err)),
                         0);
        assert_int_equal(d.bucket, 3);
        assert_int_equal(d.buckets, 8);
}

/* The test vectors of docs/wire-contracts.md ("Bounded replay: which
 * accounts"): if the function or the table changes, both must change. */
static void test_hash_vectors_of_the_docs(void **state)
{
        static const struct {
                const char *id;
                int         b4, b16;
        } v[] = {
            {"A-000001", 0, 8}, {"A-000002", 1, 1}, {"A-000003", 2, 14},
            {"A-000004", 3, 7}, {"A-000042", 1, 5},
        };
        char spec[32], err[128];
        (void)state;
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                int want[2] = {v[i].b4, v[i].b16}, n[2] = {4, 16};
                for (int j = 0; j < 2; j++) {
                        for (int k = 0; k < n[j]; k++) {
                                struct account_domain d;
                                snprintf(spec, sizeof(spec), "hash:%d/%d", k,
                                         n[j]);
                                assert_int_equal(
                                    crmsync_domain_parse(spec, &d, err,
                                                         sizeof(err)),
                                    0);
                                if (crmsync_domain_contains(&d, v[i].id) !=
                                    (k == want[j]))
                                        fail_msg("%s in %s: want bucket %d",
                                                 v[i].id, spec, want[j]);
                                crmsync_domain_clear(&d);
                        }
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ids),
            cmocka_unit_test(test_hash_partitions_the_accounts),
            cmocka_unit_test(test_bad_specs),
            cmocka_unit_test(test_hash_vectors_of_the_docs),
            cmocka_unit_test(test_strict_syntax),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
