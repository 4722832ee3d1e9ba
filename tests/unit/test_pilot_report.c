/* test_pilot_report.c -- reports/pilot_scorecard.c and pilot_report.c,
 * linked with crmsync_reports alone, on hand-made pilot.json objects: the
 * six lines, ratio and "better" in both directions, a 10% noise band,
 * Cost without a capacity file (no figure) and with one (both targets'
 * models, lower is better), deletes that do not reach the sink, links
 * relative to the pilot folder, and the runbook's easier failure mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/pilot_report.h"

static json_t *run(const char *scenario, const char *verdict, double catch_up,
                   double conv, int zombie)
{
        return json_pack("{s:s, s:s, s:s, s:{s:i, s:i}, s:{s:f, s:f, s:{s:f}},"
                         " s:[]}",
                         "scenario", scenario, "verdict", verdict, "run_dir",
                         "/p/pilot-1/A/x", "anomalies", "zombie", zombie,
                         "dead_lettered", 0, "timing", "catch_up_s", catch_up,
                         "convergence_s", conv, "drain", "events_per_s", 500.0,
                         "faults");
}

static json_t *pilot(json_t *runs_a, json_t *runs_b)
{
        json_t *probe =
            json_pack("{s:{s:i, s:i, s:i}, s:[{s:s, s:s}]}", "counts", "pass",
                      8, "fail", 0, "unsupported", 7, "items", "item",
                      "CreateTopics", "status", "unsupported");
        json_t *p = json_pack(
            "{s:s, s:[{s:s, s:s, s:s, s:O, s:o, s:n}, {s:s, s:s, s:s, s:o, "
            "s:o, s:n}], s:[], s:n, s:n}",
            "pilot_dir", "/p/pilot-1", "targets", "label", "A", "name", "one",
            "security_protocol", "plaintext", "probe", probe, "runs", runs_a,
            "scale_out", "label", "B", "name", "three", "security_protocol",
            "SASL_SSL", "probe", probe, "runs", runs_b, "scale_out", "table",
            "shadow", "capacity");
        return p;
}

static const json_t *find_row(const json_t *card, const char *line,
                              const char *figure)
{
        const json_t *l, *r;
        size_t        i, j;
        json_array_foreach(json_object_get(card, "lines"), i, l)
        {
                if (strcmp(json_string_value(json_object_get(l, "title")),
                           line))
                        continue;
                json_array_foreach(json_object_get(l, "rows"), j, r)
                {
                        if (!strcmp(
                                json_string_value(json_object_get(r, "figure")),
                                figure))
                                return r;
                }
        }
        return NULL;
}

static const char *better(const json_t *r)
{
        return json_string_value(json_object_get(r, "better"));
}

static void test_six_lines_and_better(void **state)
{
        json_t *p    = pilot(json_pack("[o, o]", run("03-c", "pass", 2.0, 1, 0),
                                       run("04-b", "pass", 0, 8.0, 0)),
                             json_pack("[o, o]", run("03-c", "pass", 1.0, 1, 0),
                                       run("04-b", "pass", 0, 7.5, 2)));
        json_t *card = crmsync_pilot_scorecard(p);
        const json_t            *r;
        static const char *const titles[] = {"Compatibility", "Elasticity",
                                             "Cost",          "Governance",
                                             "Recovery",      "Migration"};
        (void)state;
        assert_int_equal(json_array_size(json_object_get(card, "lines")), 6);
        for (size_t i = 0; i < 6; i++) {
                const json_t *l =
                    json_array_get(json_object_get(card, "lines"), i);
                assert_string_equal(
                    json_string_value(json_object_get(l, "title")), titles[i]);
                assert_true(json_array_size(json_object_get(l, "rows")) > 0);
        }
        /* Lower is better for catch-up: B took half as long. */
        r = find_row(card, "Elasticity", "catch-up after connector downtime");
        assert_non_null(r);
        assert_string_equal(better(r), "B");
        assert_true(json_real_value(json_object_get(r, "ratio")) == 0.5);
        /* 8.0 against 7.5 s is within the 10% band: the same. */
        r = find_row(card, "Elasticity",
                     "convergence after the broker restart");
        assert_string_equal(better(r), "same");
        /* Higher is better for the pass count; equal here. */
        r = find_row(card, "Compatibility", "checklist items pass");
        assert_string_equal(better(r), "same");
        r = find_row(card, "Cost", "cost under failure traffic");
        assert_string_equal(json_string_value(json_object_get(r, "a")),
                            "no capacity file");
        /* B's sink kept two deleted records. */
        r = find_row(card, "Governance", "deletes reach the sink");
        assert_string_equal(json_string_value(json_object_get(r, "a")),
                            "yes: 0 zombie records in 2 runs");
        assert_string_equal(json_string_value(json_object_get(r, "b")),
                            "NO: 2 zombie record(s) in 2 run(s)");
        /* Evidence links are relative to the pilot folder. */
        r = find_row(card, "Elasticity", "catch-up after connector downtime");
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(r, "evidence"), 0), "href")),
            "A/x");
        r = find_row(card, "Migration", "shadow mode");
        assert_string_equal(json_string_value(json_object_get(r, "a")),
                            "not run");
        json_decref(card);
        json_decref(p);
        /* 0.10 against 0.23 s is a quarter-second apart at most: noise. */
        p    = pilot(json_pack("[o]", run("03-c", "pass", 0.10, 1, 0)),
                     json_pack("[o]", run("03-c", "pass", 0.23, 1, 0)));
        card = crmsync_pilot_scorecard(p);
        r = find_row(card, "Elasticity", "catch-up after connector downtime");
        assert_string_equal(better(r), "same");
        r = find_row(card, "Recovery", "DLQ: dead-lettered records covered");
        assert_string_equal(json_string_value(json_object_get(r, "a")),
                            "0 dead-lettered over all runs (no DLQ scenario)");
        json_decref(card);
        json_decref(p);
}

/* With a capacity file: each target's model, the measured load beside it,
 * and lower is better (B's failure window reads twice as much). */
static json_t *model(double sn, double ss, double sn_w, double ss_w)
{
        return json_pack("{s:{s:{s:f}, s:{s:f}}, s:{s:{s:f}, s:{s:f}}}",
                         "shared_nothing", "total_month", "value", sn,
                         "window_cost", "value", sn_w, "shared_storage",
                         "total_month", "value", ss, "window_cost", "value",
                         ss_w);
}

static void test_cost_with_capacity_file(void **state)
{
        json_t       *p = pilot(json_pack("[o]", run("01-m", "pass", 0, 1, 0)),
                                json_pack("[o]", run("01-m", "pass", 0, 1, 0)));
        json_t       *card;
        const json_t *r;
        (void)state;
        json_object_set_new(
            p, "capacity",
            json_pack("{s:s, s:s, s:[{s:s, s:{s:f, s:f, s:f}, s:o},"
                      " {s:s, s:{s:f, s:f, s:f}, s:o}]}",
                      "file", "cap.json", "currency", "EUR", "targets", "label",
                      "A", "measured", "rate_per_s", 500.0, "record_bytes",
                      410.0, "window_records", 6000.0, "cost",
                      model(12.0, 3.0, 0.5, 0.1), "label", "B", "measured",
                      "rate_per_s", 500.0, "record_bytes", 410.0,
                      "window_records", 12000.0, "cost",
                      model(12.0, 3.0, 1.0, 0.2)));
        card = crmsync_pilot_scorecard(p);
        r    = find_row(card, "Cost", "shared-nothing, steady state");
        assert_non_null(r);
        assert_string_equal(json_string_value(json_object_get(r, "unit")),
                            "EUR/month");
        assert_true(json_real_value(json_object_get(r, "a")) == 12.0);
        assert_string_equal(better(r), "same");
        r = find_row(card, "Cost", "shared-nothing, failure window");
        assert_true(json_real_value(json_object_get(r, "ratio")) == 2.0);
        assert_string_equal(better(r), "A");
        r = find_row(card, "Cost", "failure window: records read again");
        assert_true(json_real_value(json_object_get(r, "b")) == 12000.0);
        assert_null(find_row(card, "Cost", "cost under failure traffic"));
        json_decref(card);
        json_decref(p);
}

/* A fault scenario that passed on A and failed on B is easier on A. */
static void test_report_runbook(void **state)
{
        char    dir[] = "/tmp/crmsync-pr-XXXXXX", path[600], buf[65536];
        json_t *p     = pilot(json_pack("[o]", run("04-b", "pass", 0, 3, 0)),
                              json_pack("[o]", run("04-b", "fail", 0, 9, 0)));
        char    err[256];
        FILE   *fp;
        size_t  n;
        (void)state;
        assert_non_null(mkdtemp(dir));
        assert_int_equal(crmsync_pilot_report_write(p, dir, err, sizeof(err)),
                         0);
        snprintf(path, sizeof(path), "%s/report.md", dir);
        fp = fopen(path, "r");
        assert_non_null(fp);
        n      = fread(buf, 1, sizeof(buf) - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        assert_non_null(strstr(buf, "### 3. Cost"));
        assert_non_null(strstr(buf, "### Failure modes easier to explain"));
        assert_non_null(strstr(buf, "04-b: easier on A (one): its run passed"));
        unlink(path);
        snprintf(path, sizeof(path), "%s/report.html", dir);
        assert_int_equal(access(path, R_OK), 0);
        unlink(path);
        rmdir(dir);
        json_decref(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_six_lines_and_better),
            cmocka_unit_test(test_report_runbook),
            cmocka_unit_test(test_cost_with_capacity_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
