/* test_scenario.c -- scenario loading: defaults, values, strict errors with
 * positions, and the JSON position index behind them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/bugs.h"
#include "harness/jsonpos.h"
#include "harness/scenario.h"
#include "crmsync/workload.h"

static struct scenario *load(const char *text, char *errstr, size_t size)
{
        return crmsync_scenario_load_buffer("t.json", text, strlen(text),
                                            errstr, size);
}

static void test_defaults(void **state)
{
        char             errstr[512];
        struct scenario *sc = load("{\"name\":\"x\"}", errstr, sizeof(errstr));
        (void)state;
        assert_non_null(sc);
        assert_string_equal(sc->target_type, "embedded");
        assert_string_equal(sc->topic, "crm.changes");
        assert_int_equal(sc->brokers, 3);
        assert_int_equal(sc->partitions, 12);
        assert_int_equal(sc->crm_latency_ms, 0);
        assert_int_equal(sc->expect.missing, 0);
        assert_int_equal(sc->fault_cnt, 0);
        assert_string_equal(sc->connector.mode, "feed");
        crmsync_scenario_destroy(sc);
}

static void test_full_scenario(void **state)
{
        char        errstr[512];
        const char *text =
            "{\"name\":\"full\",\"seed\":9,\"crm\":{\"latency_ms\":100},"
            "\"workload\":{\"accounts\":5,"
            "\"changes\":50,\"mix\":{\"merge\":1}},"
            "\"pipeline\":{\"profiler\":{\"bugs\":[\"no-dedupe\","
            "\"ignore-merges\"],\"batch_size\":10},\"connector\":{"
            "\"command\":\"./mine.sh\",\"mode\":\"poll\"}},"
            "\"faults\":[{\"at_s\":1,\"type\":\"broker_restart\","
            "\"broker\":2,\"duration_s\":3},{\"at_s\":2,\"type\":"
            "\"broker_restart\",\"broker\":1,\"duration_s\":3}],"
            "\"expect\":{\"anomalies\":{\"zombie\":null,\"stale\":4}}}";
        struct scenario *sc = load(text, errstr, sizeof(errstr));
        (void)state;
        assert_non_null(sc);
        assert_int_equal(sc->seed, 9);
        assert_int_equal(sc->workload.seed, 9);
        assert_int_equal(sc->crm_latency_ms, 100);
        assert_int_equal(sc->workload.accounts, 5);
        assert_true(sc->workload.mix_merge == 1.0);
        assert_int_equal(sc->profiler.bugs,
                         CRMSYNC_BUG_NO_DEDUPE | CRMSYNC_BUG_IGNORE_MERGES);
        assert_int_equal(sc->profiler.batch_size, 10);
        assert_string_equal(sc->connector.command, "./mine.sh");
        assert_string_equal(sc->connector.mode, "poll");
        /* Restarts of different brokers may overlap. */
        assert_int_equal(sc->fault_cnt, 2);
        assert_int_equal(sc->expect.zombie, -1);
        assert_int_equal(sc->expect.stale, 4);
        crmsync_scenario_destroy(sc);
}

static void test_error_names_position_and_field(void **state)
{
        char errstr[512];
        (void)state;
        assert_null(load("{\"name\":\"x\",\n  \"crm\": {\"max_page\": 5000}}",
                         errstr, sizeof(errstr)));
        assert_string_equal(errstr, "t.json:2:23: crm.max_page: 5000 is out "
                                    "of range [1, 1000]");
        assert_null(load("{\"name\":\"x\",\"replay\":{\"form\":1}}", errstr,
                         sizeof(errstr)));
        assert_non_null(strstr(errstr, "t.json:1:23: replay.form: unknown "
                                       "field 'form'"));
        assert_null(
            load("{\"name\":\"x\",\n  \"crm\": {\"latency_ms\": 70000}}",
                 errstr, sizeof(errstr)));
        assert_string_equal(errstr, "t.json:2:25: crm.latency_ms: 70000 is "
                                    "out of range [0, 60000]");
        assert_null(load("[1,2]", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "a scenario must be a JSON object"));
        assert_null(load("{\"name\":\"bad name!\"}", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "name: use only letters"));
}

/* expect.api: early retries are judged by default (0), the other bounds
 * are opt-in, null turns a bound off, and mistakes name the field. */
static void test_expect_api(void **state)
{
        char             errstr[512];
        struct scenario *sc = load("{\"name\":\"x\"}", errstr, sizeof(errstr));
        (void)state;
        assert_non_null(sc);
        assert_int_equal(sc->expect.api_early_retries_max, 0);
        assert_int_equal(sc->expect.api_over_rate_limit_max, -1);
        assert_int_equal(sc->expect.api_over_daily_quota_max, -1);
        assert_true(sc->expect.api_requests_per_change_max == 0);
        crmsync_scenario_destroy(sc);
        sc = load("{\"name\":\"x\",\"expect\":{\"api\":{"
                  "\"early_retries_max\":null,\"over_rate_limit_max\":5,"
                  "\"over_daily_quota_max\":0,"
                  "\"requests_per_change_max\":0.5}}}",
                  errstr, sizeof(errstr));
        assert_non_null(sc);
        assert_int_equal(sc->expect.api_early_retries_max, -1);
        assert_int_equal(sc->expect.api_over_rate_limit_max, 5);
        assert_int_equal(sc->expect.api_over_daily_quota_max, 0);
        assert_true(sc->expect.api_requests_per_change_max == 0.5);
        crmsync_scenario_destroy(sc);
        assert_null(load("{\"name\":\"x\",\"expect\":{\"api\":{"
                         "\"early_retries\":1}}}",
                         errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "expect.api.early_retries: unknown "
                                       "field"));
        assert_null(load("{\"name\":\"x\",\"expect\":{\"api\":{"
                         "\"early_retries_max\":\"0\"}}}",
                         errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "t.json:1:"));
        assert_non_null(strstr(errstr, "expect.api.early_retries_max"));
}

/* contacts_per_account 0 means none: the generator can build accounts
 * without initial contacts (opportunities default to none the same way). */
static void test_zero_contacts_is_zero(void **state)
{
        char             errstr[512];
        struct scenario *sc =
            load("{\"name\":\"x\",\"workload\":{\"accounts\":10,"
                 "\"contacts_per_account\":0,\"changes\":100}}",
                 errstr, sizeof(errstr));
        crm_workload_t *w;
        (void)state;
        assert_non_null(sc);
        w = crmsync_workload_generate(&sc->workload, errstr, sizeof(errstr));
        assert_non_null(w);
        assert_int_equal(crmsync_workload_config(w)->contacts_per_account, 0);
        /* The initial phase is the ten accounts back to back. */
        assert_string_equal(crmsync_workload_event(w, 1)->record_id,
                            "A-000002");
        assert_string_equal(crmsync_workload_event(w, 9)->record_id,
                            "A-000010");
        crmsync_workload_destroy(w);
        crmsync_scenario_destroy(sc);
        /* Absent still means the default, 2. */
        sc = load("{\"name\":\"x\",\"workload\":{\"accounts\":10,"
                  "\"changes\":100}}",
                  errstr, sizeof(errstr));
        assert_non_null(sc);
        w = crmsync_workload_generate(&sc->workload, errstr, sizeof(errstr));
        assert_non_null(w);
        assert_int_equal(crmsync_workload_config(w)->contacts_per_account, 2);
        crmsync_workload_destroy(w);
        crmsync_scenario_destroy(sc);
}

/* Each case: a scenario the old loader accepted and the run refused or
 * failed late, with the error the loader now gives; and its neighbour on
 * the right side of the limit, which must stay accepted. */
static void test_errors_known_before_running(void **state)
{
        static const struct {
                const char *bad, *want, *good;
        } cases[] = {
            {"\"faults\":[{\"at_s\":1,\"type\":\"broker_rtt\","
             "\"broker\":4,\"rtt_ms\":5,\"duration_s\":1}]",
             "t.json:1:62: faults[0].broker: no broker 4: the embedded "
             "cluster has 3 (target.brokers), ids 1..3",
             "\"faults\":[{\"at_s\":1,\"type\":\"broker_rtt\","
             "\"broker\":3,\"rtt_ms\":5,\"duration_s\":1}]"},
            {"\"target\":{\"partitions\":4},\"faults\":[{\"at_s\":1,"
             "\"type\":\"leader_move\",\"broker\":1,"
             "\"partition\":4}]",
             "faults[0].partition: no partition 4: the changes topic has "
             "4 (target.partitions), partitions 0..3",
             "\"target\":{\"partitions\":4},\"faults\":[{\"at_s\":1,"
             "\"type\":\"leader_move\",\"broker\":1,"
             "\"partition\":3}]"},
            {"\"timeout_s\":20,\"faults\":[{\"at_s\":15,\"type\":"
             "\"sink_slow\",\"latency_ms\":5,\"duration_s\":5}]",
             "faults[0].duration_s: the fault ends at 20s, at or after "
             "timeout_s 20s: the run gives up first",
             "\"timeout_s\":20,\"faults\":[{\"at_s\":15,\"type\":"
             "\"sink_slow\",\"latency_ms\":5,\"duration_s\":4}]"},
            {"\"workload\":{\"accounts\":10,\"changes\":29}",
             "workload.changes: 29 changes cannot hold the 30 initial "
             "creates",
             "\"workload\":{\"accounts\":10,\"changes\":30}"},
            /* Defaults count too: 20000 changes, 2 contacts. */
            {"\"workload\":{\"accounts\":6667}",
             "workload.accounts: 20000 changes cannot hold the 20001",
             "\"workload\":{\"accounts\":6666}"},
            {"\"workload\":{\"changes\":10000001}",
             "workload.changes: 10000001 is out of range [1, 10000000]",
             "\"workload\":{\"changes\":10000000}"},
            {"\"target\":{\"topic\":\"\"}",
             "target.topic: the topic name is empty",
             "\"target\":{\"topic\":\"crm.changes_2-b\"}"},
            /* 10 + (100 - 30) accounts at most. */
            {"\"workload\":{\"accounts\":10,\"changes\":100},"
             "\"replay\":{\"domain\":\"ids:A-000081\"}",
             "replay.domain: no account A-000081: this workload has at "
             "most 80",
             "\"workload\":{\"accounts\":10,\"changes\":100},"
             "\"replay\":{\"domain\":\"ids:A-000080\"}"},
            {"\"replay\":{\"domain\":\"ids:A-1\"}",
             "replay.domain: 'A-1' is not an account id",
             "\"replay\":{\"domain\":\"ids:A-000001\"}"},
            {"\"workload\":{\"accounts\":10,\"changes\":100},"
             "\"faults\":[{\"at_s\":1,\"type\":\"drop_event\","
             "\"seq\":101}]",
             "faults[0].seq: no change 101",
             "\"workload\":{\"accounts\":10,\"changes\":100},"
             "\"faults\":[{\"at_s\":1,\"type\":\"drop_event\","
             "\"seq\":100}]"},
            {"\"replay\":{\"from_s\":3}",
             "replay.from_s: from_s needs \"from\": \"timestamp\"",
             "\"replay\":{\"from\":\"earliest\"}"},
            {"\"expect\":{\"replay_min_events_per_s\":10}",
             "expect.replay_min_events_per_s: bounds a replay, and this "
             "scenario has none",
             "\"replay\":{},\"expect\":{\"replay_min_events_per_s\":"
             "10}"},
            {"\"expect\":{\"catch_up_within_s\":10}",
             "expect.catch_up_within_s: bounds the catch-up",
             "\"faults\":[{\"at_s\":1,\"type\":\"profiler_crash\"}],"
             "\"expect\":{\"catch_up_within_s\":10}"},
            {"\"expect\":{\"broker_unavailable_max_s\":10}",
             "expect.broker_unavailable_max_s: bounds each "
             "broker_restart's unavailability",
             "\"faults\":[{\"at_s\":1,\"type\":\"broker_restart\","
             "\"broker\":1,\"duration_s\":1}],"
             "\"expect\":{\"broker_unavailable_max_s\":10}"},
            {"\"faults\":[{\"at_s\":1,\"type\":\"webhook_storm\","
             "\"ratio\":0.5,\"duration_s\":1}]",
             "faults[0].type: webhook_storm re-sends webhooks, and the "
             "connector in 'feed' mode receives none",
             "\"pipeline\":{\"connector\":{\"mode\":\"webhook\"}},"
             "\"faults\":[{\"at_s\":1,\"type\":\"webhook_storm\","
             "\"ratio\":0.5,\"duration_s\":1}]"},
            {"\"replay\":{\"from\":\"timestamp\"}",
             "replay.from: a replay from a timestamp needs offset lookup "
             "by timestamp, which the embedded broker",
             "\"replay\":{\"from\":\"earliest\"}"},
        };
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char             text[512], errstr[512];
                struct scenario *sc;
                snprintf(text, sizeof(text), "{\"name\":\"x\",%s}",
                         cases[i].bad);
                sc = load(text, errstr, sizeof(errstr));
                if (sc || !strstr(errstr, cases[i].want))
                        fail_msg("case %zu: %s\n  got: %s\n want: %s", i, text,
                                 sc ? "(accepted)" : errstr, cases[i].want);
                snprintf(text, sizeof(text), "{\"name\":\"x\",%s}",
                         cases[i].good);
                sc = load(text, errstr, sizeof(errstr));
                if (!sc)
                        fail_msg("case %zu: %s\n  rejected: %s", i, text,
                                 errstr);
                crmsync_scenario_destroy(sc);
        }
}

/* expect.freshness_p99_ms_max, its old name e2e_p99_ms_max (still
 * accepted, one of them only), the steady-state bound and warmup_s. */
static void test_freshness_bounds_and_old_name(void **state)
{
        char             errstr[512];
        struct scenario *sc;
        (void)state;
        sc = load("{\"name\":\"x\"}", errstr, sizeof(errstr));
        assert_non_null(sc);
        assert_true(sc->warmup_s == -1);
        assert_true(sc->expect.freshness_p99_ms_max == 0);
        crmsync_scenario_destroy(sc);
        sc = load("{\"name\":\"x\",\"warmup_s\":2,\"expect\":{"
                  "\"freshness_p99_ms_max\":900,"
                  "\"freshness_steady_p99_ms_max\":500}}",
                  errstr, sizeof(errstr));
        assert_non_null(sc);
        assert_true(sc->warmup_s == 2);
        assert_true(sc->expect.freshness_p99_ms_max == 900);
        assert_true(sc->expect.freshness_steady_p99_ms_max == 500);
        crmsync_scenario_destroy(sc);
        sc = load("{\"name\":\"x\",\"expect\":{\"e2e_p99_ms_max\":700}}",
                  errstr, sizeof(errstr));
        assert_non_null(sc);
        assert_true(sc->expect.freshness_p99_ms_max == 700);
        crmsync_scenario_destroy(sc);
        assert_null(load("{\"name\":\"x\",\"expect\":{\n"
                         "\"freshness_p99_ms_max\":1,\"e2e_p99_ms_max\":2}}",
                         errstr, sizeof(errstr)));
        assert_string_equal(errstr, "t.json:2:26: expect.e2e_p99_ms_max: the "
                                    "old name of freshness_p99_ms_max: give "
                                    "only one of them");
}

/* Target properties reach the clients as trimmed "key=value" lines, and
 * librdkafka must take each: what would fail the run's set-up, with no
 * position, is an error at load. */
static void test_target_properties(void **state)
{
        static const struct {
                const char *props, *want; /* want NULL: accepted */
        } cases[] = {
            {"\"socket.timeout.msx\":\"1\"",
             ":1:61: properties.socket.timeout.msx: No such "
             "configuration property"},
            {"\"socket.timeout.ms\":\"soon\"",
             "properties.socket.timeout.ms: Invalid value"},
            {"\"sasl.username\":\"a\\nb\"",
             "properties.sasl.username: a value has no line break"},
            {"\"sasl.username\":\"pw \"",
             "properties.sasl.username: a value has no leading or "
             "trailing space"},
            {"\"sasl.username\":\"p w=#\"", NULL},
            {"\"socket.timeout.ms\":\"5000\"", NULL},
            /* A secret only as a reference; what it expands to is
             * checked like any value. */
            {"\"sasl.password\":\"p w=#\"",
             "properties.sasl.password: a secret is not written in a "
             "target file"},
            {"\"sasl.password\":\"${CRMSYNC_T_PW}\"", NULL},
            {"\"sasl.password\":\"x${CRMSYNC_T_PW}y\"", NULL},
            {"\"sasl.password\":\"${CRMSYNC_T_NL}\"",
             "properties.sasl.password: a value has no line break"},
            {"\"sasl.password\":\"${CRMSYNC_T_UNSET}\"",
             "properties.sasl.password: environment variable "
             "CRMSYNC_T_UNSET is not set"},
            {"\"sasl.password\":\"${CRMSYNC_T_PW\"", "not closed or empty"},
            {"\"sasl.password\":\"${A-B}\"",
             "'A-B' is not an environment variable name"},
        };
        (void)state;
        setenv("CRMSYNC_T_PW", "p w=#", 1);
        setenv("CRMSYNC_T_NL", "a\nb", 1);
        unsetenv("CRMSYNC_T_UNSET");
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char                    path[] = "/tmp/crmsync-t-XXXXXX";
                char                    errstr[512];
                int                     fd = mkstemp(path);
                FILE                   *fp = fdopen(fd, "w");
                struct scenario_target *t;
                fprintf(fp,
                        "{\"name\":\"t\",\"properties\":{\"bootstrap."
                        "servers\":\"127.0.0.1:9\",%s}}",
                        cases[i].props);
                fclose(fp);
                t = crmsync_target_load(path, errstr, sizeof(errstr));
                unlink(path);
                if (!cases[i].want && !t)
                        fail_msg("case %zu refused: %s", i, errstr);
                if (cases[i].want && (t || !strstr(errstr, cases[i].want)))
                        fail_msg("case %zu: got %s\n want %s", i,
                                 t ? "(accepted)" : errstr, cases[i].want);
                if (t && i == 8)
                        assert_string_equal(
                            json_string_value(json_object_get(t->properties,
                                                              "sasl.password")),
                            "xp w=#y");
                crmsync_target_destroy(t);
        }
}

/* An embedded target file gives the cluster's shape to the scenario. */
static void test_embedded_target_file(void **state)
{
        char             dir[] = "/tmp/crmsync-t-XXXXXX", path[600], sp[600];
        char             errstr[512];
        FILE            *fp;
        struct scenario *sc;
        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/e.json", dir);
        snprintf(sp, sizeof(sp), "%s/s.json", dir);
        fp = fopen(path, "w");
        fprintf(fp, "{\"name\":\"e5\",\"type\":\"embedded\","
                    "\"brokers\":5,\"partitions\":7}");
        fclose(fp);
        fp = fopen(sp, "w");
        fprintf(fp, "{\"name\":\"s\",\"target\":{\"file\":\"e.json\"},"
                    "\"faults\":[{\"at_s\":1,\"type\":\"broker_restart\","
                    "\"broker\":5,\"duration_s\":1}]}");
        fclose(fp);
        sc = crmsync_scenario_load(sp, errstr, sizeof(errstr));
        if (!sc)
                fail_msg("refused: %s", errstr);
        assert_null(sc->target);
        assert_string_equal(sc->target_type, "embedded");
        assert_string_equal(sc->target_name, "e5");
        assert_int_equal(sc->brokers, 5);
        assert_int_equal(sc->partitions, 7);
        assert_null(sc->embedded_properties);
        crmsync_scenario_destroy(sc);
        /* Client properties of an embedded target reach the scenario,
         * checked like an external target's; bootstrap.servers is the
         * run's to set. */
        fp = fopen(path, "w");
        fprintf(fp, "{\"name\":\"e5\",\"type\":\"embedded\","
                    "\"brokers\":5,"
                    "\"properties\":{\"compression.type\":\"lz4\"}}");
        fclose(fp);
        sc = crmsync_scenario_load(sp, errstr, sizeof(errstr));
        if (!sc)
                fail_msg("refused: %s", errstr);
        assert_string_equal(json_string_value(json_object_get(
                                sc->embedded_properties, "compression.type")),
                            "lz4");
        crmsync_scenario_destroy(sc);
        fp = fopen(path, "w");
        fprintf(fp, "{\"name\":\"e5\",\"type\":\"embedded\","
                    "\"properties\":{\"compression.typo\":\"lz4\"}}");
        fclose(fp);
        assert_null(crmsync_target_load(path, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "properties.compression.typo: No such "
                                       "configuration property"));
        fp = fopen(path, "w");
        fprintf(fp, "{\"name\":\"e5\",\"type\":\"embedded\","
                    "\"properties\":{\"bootstrap.servers\":\"h:9\"}}");
        fclose(fp);
        assert_null(crmsync_target_load(path, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, ":1:66: properties.bootstrap.servers: "
                                       "an embedded target's brokers are "
                                       "started by the run"));
        unlink(path);
        unlink(sp);
        rmdir(dir);
}

/* A folder reads as zero bytes on Linux: the loader must say what it is,
 * not report a JSON syntax error. */
static void test_folder_is_not_a_scenario(void **state)
{
        char errstr[512];
        (void)state;
        assert_null(crmsync_scenario_load("/tmp", errstr, sizeof(errstr)));
        assert_string_equal(errstr, "/tmp: is a folder, not a scenario file");
}

static void test_jsonpos_paths(void **state)
{
        const char *text = "{\"a\": [1, {\"b\": \"x\"}],\n \"c\": {\"d\": "
                           "true}}";
        jsonpos_t  *jp   = crmsync_jsonpos_index(text, strlen(text));
        int         line, col;
        (void)state;
        assert_int_equal(crmsync_jsonpos_find(jp, "a[1].b", 0, &line, &col), 0);
        assert_int_equal(line, 1);
        assert_int_equal(col, 17);
        assert_int_equal(crmsync_jsonpos_find(jp, "c.d", 1, &line, &col), 0);
        assert_int_equal(line, 2);
        assert_int_equal(col, 8);
        assert_int_equal(crmsync_jsonpos_find(jp, "nope", 0, &line, &col), -1);
        crmsync_jsonpos_destroy(jp);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),
            cmocka_unit_test(test_full_scenario),
            cmocka_unit_test(test_error_names_position_and_field),
            cmocka_unit_test(test_expect_api),
            cmocka_unit_test(test_zero_contacts_is_zero),
            cmocka_unit_test(test_errors_known_before_running),
            cmocka_unit_test(test_target_properties),
            cmocka_unit_test(test_embedded_target_file),
            cmocka_unit_test(test_folder_is_not_a_scenario),
            cmocka_unit_test(test_freshness_bounds_and_old_name),
            cmocka_unit_test(test_jsonpos_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
