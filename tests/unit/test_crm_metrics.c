/* test_crm_metrics.c -- Prometheus text exposition of counters and gauges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/crm/crm_metrics.h"

/* Render into a NUL-terminated malloc'd string. */
static char *render(crm_metrics_t *m)
{
        struct evbuffer *b = evbuffer_new();
        size_t           n;
        char            *s;

        assert_non_null(b);
        assert_int_equal(crmsync_metrics_render(m, b), 0);
        n = evbuffer_get_length(b);
        s = malloc(n + 1);
        assert_non_null(s);
        evbuffer_remove(b, s, n);
        s[n] = '\0';
        evbuffer_free(b);
        return s;
}

static void test_render_format(void **state)
{
        crm_metrics_t *m = crmsync_metrics_new(0);
        char          *s;
        (void)state;

        assert_non_null(m);
        assert_int_equal(crmsync_metrics_help(m, CRMSYNC_METRIC_REQUESTS,
                                              "HTTP requests by endpoint"),
                         0);
        assert_int_equal(crmsync_metrics_inc(m, CRMSYNC_METRIC_REQUESTS,
                                             "endpoint=/v1/changes,status=200",
                                             3),
                         0);
        assert_int_equal(
            crmsync_metrics_inc(m, CRMSYNC_METRIC_EVENTS, "via=feed", 200), 0);
        assert_int_equal(crmsync_metrics_inc(m, CRMSYNC_METRIC_REQUESTS,
                                             "endpoint=/v1/changes,status=429",
                                             1),
                         0);
        assert_int_equal(crmsync_metrics_inc(m, CRMSYNC_METRIC_REQUESTS,
                                             "endpoint=/v1/changes,status=200",
                                             2),
                         0);
        assert_int_equal(crmsync_metrics_inc(m, "crmsync_up_total", NULL, 1),
                         0);
        assert_int_equal(
            crmsync_metrics_set(m, "crmsync_queue_depth", "queue=webhook", 2.5),
            0);
        s = render(m);
        assert_string_equal(
            s, "# HELP crmsync_crm_requests_total HTTP requests by endpoint\n"
               "# TYPE crmsync_crm_requests_total counter\n"
               "crmsync_crm_requests_total{endpoint=\"/v1/changes\","
               "status=\"200\"} 5\n"
               "crmsync_crm_requests_total{endpoint=\"/v1/changes\","
               "status=\"429\"} 1\n"
               "# TYPE crmsync_crm_events_served_total counter\n"
               "crmsync_crm_events_served_total{via=\"feed\"} 200\n"
               "# TYPE crmsync_up_total counter\n"
               "crmsync_up_total 1\n"
               "# TYPE crmsync_queue_depth gauge\n"
               "crmsync_queue_depth{queue=\"webhook\"} 2.5\n");
        free(s);
        assert_true(crmsync_metrics_get(m, CRMSYNC_METRIC_REQUESTS,
                                        "endpoint=/v1/changes,status=200") ==
                    5.0);
        assert_true(crmsync_metrics_get(m, "nope", NULL) == 0.0);
        crmsync_metrics_destroy(m);
}

static void test_escaping_and_bad_input(void **state)
{
        crm_metrics_t *m = crmsync_metrics_new(0);
        char          *s;
        (void)state;

        assert_int_equal(crmsync_metrics_inc(m, "x_total", "path=a\"b\\c", 1),
                         0);
        assert_int_equal(crmsync_metrics_inc(m, "x_total", "k=v=w", 1), 0);
        s = render(m);
        assert_non_null(strstr(s, "x_total{path=\"a\\\"b\\\\c\"} 1\n"));
        assert_non_null(strstr(s, "x_total{k=\"v=w\"} 1\n"));
        free(s);
        /* Malformed names and labels are refused. */
        assert_int_equal(crmsync_metrics_inc(m, "9bad", NULL, 1), -1);
        assert_int_equal(crmsync_metrics_inc(m, "bad-name", NULL, 1), -1);
        assert_int_equal(crmsync_metrics_inc(m, "", NULL, 1), -1);
        assert_int_equal(crmsync_metrics_inc(m, NULL, NULL, 1), -1);
        assert_int_equal(crmsync_metrics_inc(m, "ok", "novalue", 1), -1);
        assert_int_equal(crmsync_metrics_inc(m, "ok", "=v", 1), -1);
        assert_int_equal(crmsync_metrics_inc(m, "ok", "a=1,", 1), -1);
        assert_int_equal(crmsync_metrics_inc(m, "ok", "1a=1", 1), -1);
        /* A counter name cannot become a gauge. */
        assert_int_equal(crmsync_metrics_set(m, "x_total", "k=v=w", 1.0), -1);
        assert_int_equal(crmsync_metrics_set(m, "x_total", "other=1", 1.0), -1);
        crmsync_metrics_destroy(m);
        crmsync_metrics_destroy(NULL);
}

static void test_series_cap(void **state)
{
        crm_metrics_t *m = crmsync_metrics_new(4);
        char           labels[32];
        int            ok = 0;
        (void)state;

        for (int i = 0; i < 10; i++) {
                snprintf(labels, sizeof(labels), "i=%d", i);
                ok += crmsync_metrics_inc(m, "c_total", labels, 1) == 0;
        }
        assert_int_equal(ok, 4);
        assert_int_equal(crmsync_metrics_dropped(m), 6);
        /* Existing series still count. */
        assert_int_equal(crmsync_metrics_inc(m, "c_total", "i=0", 1), 0);
        assert_true(crmsync_metrics_get(m, "c_total", "i=0") == 2.0);
        crmsync_metrics_destroy(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_render_format),
            cmocka_unit_test(test_escaping_and_bad_input),
            cmocka_unit_test(test_series_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
