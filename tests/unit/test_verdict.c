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

/* A run's summary as run_summary.c builds it, reduced to what the verdict
 * reads. */
static json_t *summary(int stale, int missing, int dup, int keyed_ok)
{
        return json_pack(
            "{s:s, s:{s:i, s:i, s:i}, s:[{s:s, s:b, s:s}, {s:s, s:b, "
            "s:s}, {s:s, s:b, s:s}, {s:s, s:b, s:s}]}",
            "verdict", stale || missing || dup || !keyed_ok ? "fail" : "pass",
            "anomalies", "stale", stale, "missing", missing,
            "duplicate_side_effect", dup, "expectations", "name",
            "anomalies.stale <= 0", "ok", !stale, "detail", "found", "name",
            "anomalies.missing <= 0", "ok", !missing, "detail", "found", "name",
            "anomalies.duplicate_side_effect <= 0", "ok", !dup, "detail",
            "found", "name", "records keyed by account id", "ok", keyed_ok,
            "detail", "misrouted");
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
        json_t                   *s;
        (void)state;
        snprintf(mf.at_least[0].classes, sizeof(mf.at_least[0].classes),
                 "stale+missing");
        mf.at_least[0].n = 3;

        /* Not a must-fail scenario: the run's own outcome, untouched. */
        s = summary(5, 0, 0, 1);
        assert_int_equal(crmsync_verdict_apply(&off, s, 1), 1);
        assert_string_equal(json_string_value(json_object_get(s, "verdict")),
                            "fail");
        assert_null(json_object_get(s, "expected_failure"));
        json_decref(s);

        /* Caught as expected (the sum reaches 3): pass. */
        s = summary(2, 1, 0, 1);
        assert_int_equal(crmsync_verdict_apply(&mf, s, failed_of(s)), 0);
        assert_string_equal(json_string_value(json_object_get(s, "verdict")),
                            "pass");
        assert_string_equal(
            json_string_value(json_object_get(s, "run_verdict")), "fail");
        assert_true(json_is_true(
            json_object_get(json_object_get(s, "expected_failure"), "caught")));
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(json_object_get(s, "expected_failure"),
                                "found"),
                "stale+missing")),
            3);
        json_decref(s);

        /* Too few: not caught. */
        s = summary(2, 0, 0, 1);
        assert_int_equal(crmsync_verdict_apply(&mf, s, failed_of(s)), 1);
        assert_string_equal(json_string_value(json_object_get(s, "verdict")),
                            "fail");
        json_decref(s);

        /* The run passed: the mutation went unnoticed. */
        s = summary(0, 0, 0, 1);
        assert_int_equal(crmsync_verdict_apply(&mf, s, failed_of(s)), 1);
        json_decref(s);

        /* Caught, but it also failed for another reason: fail. */
        s = summary(3, 0, 4, 1);
        assert_int_equal(crmsync_verdict_apply(&mf, s, failed_of(s)), 1);
        assert_string_equal(
            json_string_value(json_array_get(
                json_object_get(json_object_get(s, "expected_failure"),
                                "other_failures"),
                0)),
            "anomalies.duplicate_side_effect <= 0");
        assert_false(json_is_true(json_object_get(
                         json_object_get(s, "expected_failure"), "caught")) &&
                     !failed_of(s));
        json_decref(s);

        /* Not converged because of the stale records: explained. Not
         * converged with a sink that matches: a different reason. */
        s = summary(3, 0, 0, 1);
        json_array_append_new(json_object_get(s, "expectations"),
                              json_pack("{s:s, s:b, s:s}", "name",
                                        "converged within 30s", "ok", 0,
                                        "detail", "never"));
        assert_int_equal(crmsync_verdict_apply(&mf, s, 1), 0);
        json_decref(s);
        s                = summary(0, 0, 3, 1);
        mf.at_least[0].n = 1;
        snprintf(mf.at_least[0].classes, sizeof(mf.at_least[0].classes),
                 "duplicate_side_effect");
        json_array_append_new(json_object_get(s, "expectations"),
                              json_pack("{s:s, s:b, s:s}", "name",
                                        "converged within 30s", "ok", 0,
                                        "detail", "never"));
        assert_int_equal(crmsync_verdict_apply(&mf, s, 1), 1);
        json_decref(s);

        /* A symptom declared in may_also_fail is no different reason. */
        s                = summary(3, 0, 4, 1);
        mf.at_least[0].n = 1;
        snprintf(mf.at_least[0].classes, sizeof(mf.at_least[0].classes),
                 "stale");
        snprintf(mf.also[0], sizeof(mf.also[0]), "duplicate_side_effect");
        mf.also_cnt = 1;
        assert_int_equal(crmsync_verdict_apply(&mf, s, 1), 0);
        json_decref(s);
        mf.also_cnt = 0;

        /* An expectation name that must fail. */
        mf.at_least_cnt = 0;
        mf.name_cnt     = 1;
        snprintf(mf.names[0], sizeof(mf.names[0]),
                 "records keyed by account id");
        s = summary(0, 0, 0, 0);
        assert_int_equal(crmsync_verdict_apply(&mf, s, failed_of(s)), 0);
        json_decref(s);
        s = summary(0, 0, 0, 1);
        assert_int_equal(crmsync_verdict_apply(&mf, s, failed_of(s)), 1);
        json_decref(s);
        s = summary(1, 0, 0, 0); /* and stale, not expected */
        assert_int_equal(crmsync_verdict_apply(&mf, s, failed_of(s)), 1);
        json_decref(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_load),
            cmocka_unit_test(test_verdict),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
