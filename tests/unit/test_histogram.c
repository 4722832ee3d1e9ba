/* test_histogram.c -- quantiles within the histogram's 1/32 bucket error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "harness/histogram.h"

static void test_empty_is_zero(void **state)
{
        struct histogram h;
        (void)state;
        crmsync_histogram_init(&h);
        assert_int_equal(crmsync_histogram_quantile(&h, 0.5), 0);
}

static void test_uniform_quantiles(void **state)
{
        struct histogram *h = malloc(sizeof(*h));
        (void)state;
        crmsync_histogram_init(h);
        for (uint64_t v = 1; v <= 100000; v++)
                crmsync_histogram_record(h, v);
        uint64_t p50 = crmsync_histogram_quantile(h, 0.50);
        uint64_t p99 = crmsync_histogram_quantile(h, 0.99);
        assert_true(p50 >= 50000 && p50 <= 50000 + 50000 / 32);
        assert_true(p99 >= 99000 && p99 <= 100000);
        assert_int_equal(crmsync_histogram_quantile(h, 1.0), 100000);
        assert_int_equal(crmsync_histogram_quantile(h, 0.0), 1);
        free(h);
}

static void test_small_values_exact(void **state)
{
        struct histogram h;
        (void)state;
        crmsync_histogram_init(&h);
        for (int i = 0; i < 10; i++)
                crmsync_histogram_record(&h, (uint64_t)i);
        assert_int_equal(crmsync_histogram_quantile(&h, 0.5), 4);
        assert_int_equal(crmsync_histogram_quantile(&h, 1.0), 9);
}

static void test_huge_values(void **state)
{
        struct histogram h;
        (void)state;
        crmsync_histogram_init(&h);
        crmsync_histogram_record(&h, UINT64_MAX / 2);
        crmsync_histogram_record(&h, 5);
        assert_int_equal(crmsync_histogram_quantile(&h, 1.0), UINT64_MAX / 2);
        assert_int_equal(crmsync_histogram_quantile(&h, 0.5), 5);
}

/* crmsync_histogram_rank: the rank-th smallest sample, 0 outside 1..total
 * (freshness uses it to rank seen changes among seen + unseen ones). */
static void test_rank(void **state)
{
        struct histogram h;
        (void)state;
        crmsync_histogram_init(&h);
        assert_int_equal(crmsync_histogram_rank(&h, 1), 0);
        for (uint64_t v = 10; v <= 50; v += 10)
                crmsync_histogram_record(&h, v);
        assert_int_equal(crmsync_histogram_rank(&h, 0), 0);
        assert_int_equal(crmsync_histogram_rank(&h, 1), 10);
        assert_int_equal(crmsync_histogram_rank(&h, 3), 30);
        assert_int_equal(crmsync_histogram_rank(&h, 5), 50);
        assert_int_equal(crmsync_histogram_rank(&h, 6), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_empty_is_zero),
            cmocka_unit_test(test_uniform_quantiles),
            cmocka_unit_test(test_small_values_exact),
            cmocka_unit_test(test_huge_values),
            cmocka_unit_test(test_rank),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
