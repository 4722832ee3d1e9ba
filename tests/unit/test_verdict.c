/* test_verdict.c -- scenarios that must fail: loading expect.verdict,
 * expect.anomalies_at_least and expect.failing, and the verdict they
 * give a finished run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "harness/scenario.h"
#include "harness/checker.h"
#include "harness/verdict.h"

static struct scenario *load(const char *expect, char *errstr, size_t size)
{
        char text[1024];
        snprintf(text, sizeof(text),
                 "{\"name\": \"t\", \"workload\": {\"accounts\": 2, "
                 "\"changes\": 10},\n \"expect\": %s}",
                 expect);
        return crmsync_scenario_load_buffer("t.json", text, strlen(text),
                                            errstr, size);
}

static void test_load(void **state)
{
        char             errstr[512];
        struct scenario *sc;
        (void)state;

        sc = load("{\"verdict\": \"fail\", \"anomalies_at_least\": "
                  "{\"stale+missing\": 2, \"zombie\": 1}, \"failing\": "
                  "[\"records keyed by account id\"], \"may_also_fail\": "
                  "[\"lost\"]}",
                  errstr, sizeof(errstr));
        assert_non_null(sc);
        assert_true(sc->expect.must_fail.enabled);
        assert_int_equal(sc->expect.must_fail.at_least_cnt, 2);
        assert_string_equal(sc->expect.must_fail.at_least[0].classes,
                            "stale+missing");
        assert_int_equal(sc->expect.must_fail.at_least[0].n, 2);
        assert_int_equal(sc->expect.must_fail.name_cnt, 1);
        assert_int_equal(sc->expect.must_fail.also_cnt, 1);
        assert_string_equal(sc->expect.must_fail.also[0], "lost");
        crmsync_scenario_destroy(sc);

        sc = load("{\"verdict\": \"pass\"}", errstr, sizeof(errstr));
        assert_non_null(sc);
        assert_false(sc->expect.must_fail.enabled);
        crmsync_scenario_destroy(sc);

        /* Each mistake names file:line:column and the field. */
        assert_null(load("{\"verdict\": \"fail\"}", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "t.json:2:24: expect.verdict: "
                                       "\"fail\" needs the way"));
        assert_null(load("{\"verdict\": \"failed\"}", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "expect.verdict: 'failed' is not one "
                                       "of pass|fail"));
        assert_null(load("{\"anomalies_at_least\": {\"stale\": 1}}", errstr,
                         sizeof(errstr)));
        assert_non_null(strstr(errstr, "t.json:2:13: "
                                       "expect.anomalies_at_least: only for "
                                       "a scenario that must fail"));
        assert_null(load("{\"verdict\": \"fail\", \"anomalies_at_least\": "
                         "{\"stale+stail\": 1}}",
                         errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "t.json:2:55: "
                                       "expect.anomalies_at_least.stale+stail"
                                       ": 'stail' is not an anomaly class"));
        assert_null(load("{\"verdict\": \"fail\", \"anomalies_at_least\": "
                         "{\"stale\": 0}}",
                         errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "anomalies_at_least.stale: 0 is out "
                                       "of range"));
        assert_null(load("{\"verdict\": \"fail\", \"failing\": [\"\"]}", errstr,
                         sizeof(errstr)));
        assert_non_null(strstr(errstr, "expect.failing[0]: expected a "
                                       "non-empty string"));
        assert_null(
            load("{\"may_also_fail\": [\"lost\"]}", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "expect.may_also_fail: only for a "
                                       "scenario that must fail"));
}

/* A judged run as run_summary.c leaves it, reduced to what the verdict
 * reads: typed expectations and anomaly counts, and the summary. */
struct judged {
        json_t             *s;
        struct expectations x;
        uint64_t            counts[ANOMALY_CNT];
};

static void judged_init(struct judged *j, int stale, int missing, int dup,
                        int keyed_ok)
{
        memset(j, 0, sizeof(*j));
        j->counts[ANOMALY_STALE]                 = (uint64_t)stale;
        j->counts[ANOMALY_MISSING]               = (uint64_t)missing;
        j->counts[ANOMALY_DUPLICATE_SIDE_EFFECT] = (uint64_t)dup;
        crmsync_expectations_add(&j->x, "anomalies.stale <= 0", !stale,
                                 ANOMALY_STALE, "found");
        crmsync_expectations_add(&j->x, "anomalies.missing <= 0", !missing,
                                 ANOMALY_MISSING, "found");
        crmsync_expectations_add(&j->x, "anomalies.duplicate_side_effect <= 0",
                                 !dup, ANOMALY_DUPLICATE_SIDE_EFFECT, "found");
        crmsync_expectations_add(&j->x, "records keyed by account id", keyed_ok,
                                 -1, "misrouted");
        j->s = json_pack("{s:s, s:o}", "verdict",
                         stale || missing || dup || !keyed_ok ? "fail" : "pass",
                         "expectations", crmsync_expectations_json(&j->x));
}

static int apply(const struct scenario_must_fail *mf, struct judged *j,
                 int failed)
{
        return crmsync_verdict_apply(mf, &j->x, j->counts, j->s, failed);
}

static void judged_free(struct judged *j)
{
        json_decref(j->s);
        crmsync_expectations_clear(&j->x);
}

static int failed_of(const json_t *s)
{
        return strcmp(json_string_value(json_object_get(s, "verdict")),
                      "pass") != 0;
}

static void test_verdict(void **state)
{
        struct scenario_must_fail mf  = {.enabled = 1, .at_least_cnt = 1};
        struct scenario_must_fail off = {0};
        struct judged             j;
        (void)state;
        snprintf(mf.at_least[0].classes, sizeof(mf.at_least[0].classes),
                 "stale+missing");
        mf.at_least[0].n = 3;

        /* Not a must-fail scenario: the run's own outcome, untouched. */
        judged_init(&j, 5, 0, 0, 1);
        assert_int_equal(apply(&off, &j, 1), 1);
        assert_string_equal(json_string_value(json_object_get(j.s, "verdict")),
                            "fail");
        assert_null(json_object_get(j.s, "expected_failure"));
        judged_free(&j);

        /* Caught as expected (the sum reaches 3): pass. */
        judged_init(&j, 2, 1, 0, 1);
        assert_int_equal(apply(&mf, &j, failed_of(j.s)), 0);
        assert_string_equal(json_string_value(json_object_get(j.s, "verdict")),
                            "pass");
        assert_string_equal(
            json_string_value(json_object_get(j.s, "run_verdict")), "fail");
        assert_true(json_is_true(json_object_get(
            json_object_get(j.s, "expected_failure"), "caught")));
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(json_object_get(j.s, "expected_failure"),
                                "found"),
                "stale+missing")),
            3);
        judged_free(&j);

        /* Too few: not caught. */
        judged_init(&j, 2, 0, 0, 1);
        assert_int_equal(apply(&mf, &j, failed_of(j.s)), 1);
        assert_string_equal(json_string_value(json_object_get(j.s, "verdict")),
                            "fail");
        judged_free(&j);

        /* The run passed: the mutation went unnoticed. */
        judged_init(&j, 0, 0, 0, 1);
        assert_int_equal(apply(&mf, &j, failed_of(j.s)), 1);
        judged_free(&j);

        /* Caught, but it also failed for another reason: fail. */
        judged_init(&j, 3, 0, 4, 1);
        assert_int_equal(apply(&mf, &j, failed_of(j.s)), 1);
        assert_string_equal(
            json_string_value(json_array_get(
                json_object_get(json_object_get(j.s, "expected_failure"),
                                "other_failures"),
                0)),
            "anomalies.duplicate_side_effect <= 0");
        assert_false(json_is_true(json_object_get(
                         json_object_get(j.s, "expected_failure"), "caught")) &&
                     !failed_of(j.s));
        judged_free(&j);

        /* Not converged because of the stale records: explained. Not
         * converged with a sink that matches: a different reason. */
        judged_init(&j, 3, 0, 0, 1);
        crmsync_expectations_add(&j.x, "converged within 30s", 0, -1, "never");
        assert_int_equal(apply(&mf, &j, 1), 0);
        judged_free(&j);
        judged_init(&j, 0, 0, 3, 1);
        mf.at_least[0].n = 1;
        snprintf(mf.at_least[0].classes, sizeof(mf.at_least[0].classes),
                 "duplicate_side_effect");
        crmsync_expectations_add(&j.x, "converged within 30s", 0, -1, "never");
        assert_int_equal(apply(&mf, &j, 1), 1);
        judged_free(&j);

        /* A symptom declared in may_also_fail is no different reason. */
        judged_init(&j, 3, 0, 4, 1);
        mf.at_least[0].n = 1;
        snprintf(mf.at_least[0].classes, sizeof(mf.at_least[0].classes),
                 "stale");
        snprintf(mf.also[0], sizeof(mf.also[0]), "duplicate_side_effect");
        mf.also_cnt = 1;
        assert_int_equal(apply(&mf, &j, 1), 0);
        judged_free(&j);
        mf.also_cnt = 0;

        /* An expectation name that must fail. */
        mf.at_least_cnt = 0;
        mf.name_cnt     = 1;
        snprintf(mf.names[0], sizeof(mf.names[0]),
                 "records keyed by account id");
        judged_init(&j, 0, 0, 0, 0);
        assert_int_equal(apply(&mf, &j, failed_of(j.s)), 0);
        judged_free(&j);
        judged_init(&j, 0, 0, 0, 1);
        assert_int_equal(apply(&mf, &j, failed_of(j.s)), 1);
        judged_free(&j);
        judged_init(&j, 1, 0, 0, 0); /* and stale, not expected */
        assert_int_equal(apply(&mf, &j, failed_of(j.s)), 1);
        judged_free(&j);

        /* The verdict reads the typed class, not the name: a row named like
         * a stale bound but bounding nothing is a different reason. */
        mf.name_cnt      = 0;
        mf.at_least_cnt  = 1;
        mf.at_least[0].n = 1;
        snprintf(mf.at_least[0].classes, sizeof(mf.at_least[0].classes),
                 "stale");
        judged_init(&j, 1, 0, 0, 1);
        assert_int_equal(apply(&mf, &j, 1), 0);
        judged_free(&j);
        judged_init(&j, 1, 0, 0, 1);
        j.x.v[0].anomaly = -1;
        assert_int_equal(apply(&mf, &j, 1), 1);
        assert_string_equal(
            json_string_value(json_array_get(
                json_object_get(json_object_get(j.s, "expected_failure"),
                                "other_failures"),
                0)),
            "anomalies.stale <= 0");
        judged_free(&j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_load),
            cmocka_unit_test(test_verdict),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
