/* test_scenario.c -- scenario loading: defaults, values, strict errors with
 * positions, and the JSON position index behind them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/jsonpos.h"
#include "crmsync/scenario.h"

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
        assert_int_equal(sc->expect.missing, 0);
        assert_int_equal(sc->fault_cnt, 0);
        assert_string_equal(sc->connector.mode, "feed");
        crmsync_scenario_destroy(sc);
}

static void test_full_scenario(void **state)
{
        char             errstr[512];
        const char      *text =
                "{\"name\":\"full\",\"seed\":9,\"workload\":{\"accounts\":5,"
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
        assert_int_equal(sc->workload.accounts, 5);
        assert_true(sc->workload.mix_merge == 1.0);
        assert_int_equal(sc->profiler.bugs, CRMSYNC_BUG_NO_DEDUPE |
                                                    CRMSYNC_BUG_IGNORE_MERGES);
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
        assert_null(load("[1,2]", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "a scenario must be a JSON object"));
        assert_null(load("{\"name\":\"bad name!\"}", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "name: use only letters"));
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
        assert_int_equal(crmsync_jsonpos_find(jp, "a[1].b", 0, &line, &col),
                         0);
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
                cmocka_unit_test(test_folder_is_not_a_scenario),
                cmocka_unit_test(test_jsonpos_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
