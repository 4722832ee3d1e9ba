/* test_compare.c -- reports/compare.c, linked with crmsync_reports alone:
 * threshold parsing, the table (values and ratios, runs matched by scenario
 * in suites), and the regression rule on hand-made summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crmsync/compare.h"

/* A run summary with the figures compare reads. */
static json_t *summary(const char *scenario, const char *verdict, int p99,
                       double conv, double replay, int missing)
{
        return json_pack(
            "{s:s, s:s, s:s, s:{s:i, s:i}, s:{s:{s:i, s:i, s:i, s:i, "
            "s:i}, s:f, s:[{s:i, s:s, s:f}], s:[], s:[{s:i, s:i, s:f}], "
            "s:n, s:{s:f}}}",
            "schema", "crmsync.summary/1", "scenario", scenario, "verdict",
            verdict, "anomalies", "missing", missing, "stale", 0, "timing",
            "freshness", "p50", 100, "p95", 200, "p99", p99, "p99_9", p99 + 10,
            "max", p99 + 20, "convergence_s", conv, "fault_convergence",
            "fault", 0, "type", "sink_slow", "convergence_s", conv, "catch_up",
            "broker_unavailable", "fault", 0, "broker", 2, "unavailable_s", 1.5,
            "catch_up_s", "replay", "events_per_s", replay);
}

static json_t *table_of(json_t *a, json_t *b)
{
        json_t *cols = json_pack("[[o], [o]]", a, b);
        json_t *t    = crmsync_compare_table(cols);
        json_decref(cols);
        return t;
}

static const json_t *row(const json_t *t, const char *scen, const char *fig)
{
        size_t        i;
        const json_t *r;
        json_array_foreach(t, i, r)
        {
                if (!strcmp(json_string_value(json_object_get(r, "scenario")),
                            scen) &&
                    !strcmp(json_string_value(json_object_get(r, "figure")),
                            fig))
                        return r;
        }
        return NULL;
}

static double val(const json_t *r, const char *what, size_t i)
{
        return json_number_value(json_array_get(json_object_get(r, what), i));
}

static void test_threshold_parse(void **state)
{
        struct crmsync_compare_threshold t[8];
        char                             err[512];
        (void)state;

        assert_int_equal(
            crmsync_compare_thresholds_parse(
                "p99=20%,convergence=5s,replay=-15%", t, 8, err, sizeof(err)),
            3);
        assert_string_equal(t[0].figure, "p99");
        assert_true(t[0].relative && t[0].limit == 20);
        assert_string_equal(t[1].figure, "convergence");
        assert_true(!t[1].relative && t[1].limit == 5);
        assert_true(t[2].relative && t[2].limit == -15);
        /* Times convert to the figure's unit. */
        assert_int_equal(
            crmsync_compare_thresholds_parse("p99=1s,convergence=500ms,"
                                             "anomalies.missing=0",
                                             t, 8, err, sizeof(err)),
            3);
        assert_true(t[0].limit == 1000 && !t[0].relative);
        assert_true(t[1].limit == 0.5);
        assert_string_equal(t[2].figure, "anomalies.missing");
        /* Bad input says which. */
        assert_int_equal(
            crmsync_compare_thresholds_parse("p98=20%", t, 8, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "unknown figure 'p98'"));
        assert_int_equal(
            crmsync_compare_thresholds_parse("p99=abc", t, 8, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "'abc' is not a number"));
        assert_int_equal(crmsync_compare_thresholds_parse("p99=20%%", t, 8, err,
                                                          sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "unknown unit '%%'"));
        assert_int_equal(crmsync_compare_thresholds_parse("replay=5s", t, 8,
                                                          err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "a time ('5s') for a figure in events/s"));
        assert_int_equal(
            crmsync_compare_thresholds_parse("p99", t, 8, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "expected FIGURE=VALUE"));
        assert_int_equal(
            crmsync_compare_thresholds_parse("", t, 8, err, sizeof(err)), -1);
        assert_int_equal(crmsync_compare_thresholds_parse("p99=1%,p95=1%", t, 1,
                                                          err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "more than 1"));
}

static void test_table_and_ratios(void **state)
{
        json_t       *t = table_of(summary("s", "pass", 400, 2.0, 1000, 0),
                                   summary("s", "fail", 600, 3.0, 800, 4));
        const json_t *r;
        (void)state;

        r = row(t, "", "p99");
        assert_non_null(r);
        assert_true(val(r, "values", 0) == 400 && val(r, "values", 1) == 600);
        assert_true(val(r, "ratios", 0) == 1.0 && val(r, "ratios", 1) == 1.5);
        r = row(t, "", "verdict");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(r, "values"), 1)),
            "fail");
        r = row(t, "", "anomalies.missing");
        assert_true(val(r, "values", 1) == 4);
        /* A baseline of 0: no ratio. */
        assert_true(
            json_is_null(json_array_get(json_object_get(r, "ratios"), 1)));
        assert_non_null(row(t, "", "convergence.f0.sink_slow"));
        assert_non_null(row(t, "", "broker_unavailable.f0.b2"));
        r = row(t, "", "replay");
        assert_true(val(r, "ratios", 1) == 0.8);
        /* Absent figure: null, not 0. */
        r = row(t, "", "catch_up");
        assert_true(
            json_is_null(json_array_get(json_object_get(r, "values"), 0)));
        json_decref(t);
}

/* A figure only a later column has goes beside its family, and the
 * Markdown table escapes '|'. */
static void test_row_order_and_markdown(void **state)
{
        json_t       *a = summary("s", "pass", 400, 2, 1000, 0);
        json_t       *b = summary("s", "pass", 500, 2, 1000, 0);
        json_t       *t;
        char          buf[8192] = "";
        FILE         *fp;
        const char   *labels[] = {"a|1", "b"};
        size_t        i;
        const json_t *r;
        long          conv = -1, fault = -1;
        (void)state;

        json_array_clear(
            json_object_get(json_object_get(a, "timing"), "fault_convergence"));
        t = table_of(a, b);
        json_array_foreach(t, i, r)
        {
                const char *f = json_string_value(json_object_get(r, "figure"));
                if (!strcmp(f, "convergence"))
                        conv = (long)i;
                if (!strcmp(f, "convergence.f0.sink_slow"))
                        fault = (long)i;
        }
        assert_true(conv >= 0 && fault == conv + 1);
        fp = fmemopen(buf, sizeof(buf) - 1, "w");
        crmsync_compare_markdown(t, labels, 2, fp);
        fclose(fp);
        assert_non_null(strstr(buf, "| figure | unit | a\\|1 | b | ratio |\n"));
        assert_non_null(strstr(buf, "| p99 | ms | 400 | 500 | 1.25x |\n"));
        assert_non_null(
            strstr(buf, "| convergence.f0.sink_slow | s | - | 2 | - |\n"));
        json_decref(t);
}

static void test_suites_match_by_scenario(void **state)
{
        json_t *cols =
            json_pack("[[o, o], [o, o]]", summary("x", "pass", 100, 1, 10, 0),
                      summary("y", "pass", 200, 1, 10, 0),
                      summary("y", "pass", 400, 1, 10, 0),
                      summary("x", "pass", 150, 1, 10, 0));
        json_t       *t = crmsync_compare_table(cols);
        const json_t *r;
        (void)state;

        r = row(t, "x", "p99");
        assert_true(val(r, "values", 1) == 150 && val(r, "ratios", 1) == 1.5);
        r = row(t, "y", "p99");
        assert_true(val(r, "values", 1) == 400 && val(r, "ratios", 1) == 2.0);
        json_decref(t);
        json_decref(cols);
}

static int regressions(const char *spec, json_t *a, json_t *b)
{
        struct crmsync_compare_threshold t[8];
        char                             err[256];
        json_t                          *tab = table_of(a, b);
        int n = crmsync_compare_thresholds_parse(spec, t, 8, err, sizeof(err));
        assert_true(n > 0);
        n = crmsync_compare_regressions(tab, 1, t, (size_t)n, NULL);
        json_decref(tab);
        return n;
}

static void test_regressions(void **state)
{
        (void)state;
        /* p99 +50% against 20%: one; against 60%: none. */
        assert_int_equal(regressions("p99=20%",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 600, 2, 1000, 0)),
                         1);
        assert_int_equal(regressions("p99=60%",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 600, 2, 1000, 0)),
                         0);
        /* Exactly at the limit is not beyond it. */
        assert_int_equal(regressions("p99=50%",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 600, 2, 1000, 0)),
                         0);
        /* A better figure is never a regression. */
        assert_int_equal(regressions("p99=0%",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 300, 2, 1000, 0)),
                         0);
        /* convergence=5s: the family covers the per-fault figure too. */
        assert_int_equal(regressions("convergence=5s",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 400, 8, 1000, 0)),
                         2);
        assert_int_equal(regressions("convergence=5s",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 400, 6.5, 1000, 0)),
                         0);
        /* replay=-15%: a fall of 20% is one, of 10% is not, a rise never. */
        assert_int_equal(regressions("replay=-15%",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 400, 2, 800, 0)),
                         1);
        assert_int_equal(regressions("replay=-15%",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 400, 2, 900, 0)),
                         0);
        assert_int_equal(regressions("replay=-15%",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "pass", 400, 2, 5000, 0)),
                         0);
        /* anomalies=0: any anomaly more than the baseline. */
        assert_int_equal(regressions("anomalies=0",
                                     summary("s", "pass", 400, 2, 1000, 0),
                                     summary("s", "fail", 400, 2, 1000, 3)),
                         1);
        /* A figure the compared run lacks (it never caught up) is one. */
        {
                json_t *b = summary("s", "pass", 400, 2, 1000, 0);
                json_object_set_new(
                    json_object_get(json_object_get(b, "timing"), "freshness"),
                    "p99", json_null());
                assert_int_equal(
                    regressions("p99=20%",
                                summary("s", "pass", 400, 2, 1000, 0), b),
                    1);
        }
}

static void test_regression_message(void **state)
{
        struct crmsync_compare_threshold t[2];
        char                             err[256], buf[1024] = "";
        json_t *tab = table_of(summary("s", "pass", 400, 2, 1000, 0),
                               summary("s", "pass", 1000, 2, 1000, 0));
        FILE   *fp  = fmemopen(buf, sizeof(buf) - 1, "w");
        (void)state;

        assert_int_equal(
            crmsync_compare_thresholds_parse("p99=20%", t, 2, err, sizeof(err)),
            1);
        assert_int_equal(crmsync_compare_regressions(tab, 1, t, 1, fp), 1);
        fclose(fp);
        assert_string_equal(buf, "regression: p99: 400 ms -> 1000 ms "
                                 "(+150.0%), threshold p99=20%\n");
        json_decref(tab);
}

/* A suite folder: summary.json lists runs whose folders sit beside it. */
static void test_load_suite(void **state)
{
        char    dir[] = "/tmp/crmsync-compare.XXXXXX", p[512], err[512];
        json_t *runs, *x = summary("x", "pass", 100, 1, 10, 0);
        FILE   *fp;
        (void)state;

        assert_non_null(mkdtemp(dir));
        snprintf(p, sizeof(p), "%s/suite-1", dir);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/run-x", dir);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/run-x/summary.json", dir);
        assert_int_equal(json_dump_file(x, p, 0), 0);
        json_decref(x);
        snprintf(p, sizeof(p), "%s/suite-1/summary.json", dir);
        fp = fopen(p, "w");
        fprintf(fp, "{\"schema\": \"crmsync.suite/1\", \"runs\": ["
                    "{\"scenario\": \"x\", \"run_dir\": \"elsewhere/run-x\"},"
                    "{\"scenario\": \"y\", \"verdict\": \"timed out\", "
                    "\"run_dir\": \"\"}]}\n");
        fclose(fp);
        snprintf(p, sizeof(p), "%s/suite-1", dir);
        runs = crmsync_compare_load(p, err, sizeof(err));
        assert_non_null(runs);
        assert_int_equal(json_array_size(runs), 2);
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(
                    json_object_get(json_array_get(runs, 0), "timing"),
                    "freshness"),
                "p99")),
            100);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(runs, 1), "verdict")),
                            "timed out");
        json_decref(runs);
        /* A missing folder and a broken summary say which. */
        snprintf(p, sizeof(p), "%s/nope", dir);
        assert_null(crmsync_compare_load(p, err, sizeof(err)));
        assert_non_null(strstr(err, "nope: No such file"));
        snprintf(p, sizeof(p), "%s/run-x/summary.json", dir);
        fp = fopen(p, "w");
        fprintf(fp, "{\"schema\":\n 12}\n");
        fclose(fp);
        snprintf(p, sizeof(p), "%s/run-x", dir);
        assert_null(crmsync_compare_load(p, err, sizeof(err)));
        assert_non_null(strstr(err, "schema '(none)'"));
        snprintf(p, sizeof(p), "rm -rf '%s'", dir);
        assert_int_equal(system(p), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_threshold_parse),
            cmocka_unit_test(test_table_and_ratios),
            cmocka_unit_test(test_row_order_and_markdown),
            cmocka_unit_test(test_suites_match_by_scenario),
            cmocka_unit_test(test_regressions),
            cmocka_unit_test(test_regression_message),
            cmocka_unit_test(test_load_suite),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
