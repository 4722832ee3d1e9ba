/* test_workload_hash.c -- the commit log hash's form of an event's fields
 * (fakes/crm/workload.c, workload_fields_sorted): the text's members
 * sorted by key without a tree must be jansson's json_dumps(json_loads(
 * text), JSON_COMPACT | JSON_SORT_KEYS) for every event of a workload
 * and for crafted texts, the ones it leaves to jansson included; and the
 * CDC overflow weight's member count (cometd.c, crm_fields_count) must be
 * jansson's json_object_size for the same texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/workload.h"
#include "fakes/crm/crm_int.h"
#include "fakes/crm/workload_int.h"

static void check(const char *t)
{
        json_t *j    = json_loads(t, 0, NULL);
        char   *want = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char   *got  = workload_fields_sorted(t);

        /* The CDC overflow weight's member count, on what loads. */
        if (json_is_object(j) && crm_fields_count(t) != json_object_size(j))
                fail_msg("text %s: %zu members counted, jansson %zu", t,
                         crm_fields_count(t), json_object_size(j));
        if ((want == NULL) != (got == NULL) || (want && strcmp(want, got)))
                fail_msg("text %s\n got  %s\n want %s", t, got ? got : "NULL",
                         want ? want : "NULL");
        free(want);
        free(got);
        json_decref(j);
}

static void test_workload_events(void **state)
{
        struct crm_workload_config wc = {0};
        crm_workload_t            *w;
        char                       err[256];
        (void)state;

        wc.seed       = 3;
        wc.accounts   = 200;
        wc.changes    = 5000;
        wc.rate_per_s = 1000000;
        w             = crmsync_workload_generate(&wc, err, sizeof(err));
        assert_non_null(w);
        for (size_t i = 0; i < crmsync_workload_event_cnt(w); i++)
                check(crmsync_workload_event(w, i)->fields_json);
        crmsync_workload_destroy(w);
}

static void test_crafted(void **state)
{
        static const char *texts[] = {
            "{}",
            "{ }",
            " {\"a\":1}",
            "{\"b\":1,\"a\":2}",
            "{\"name\":\"Acme\",\"industry\":\"x\",\"tier\":\"gold\","
            "\"owner\":\"o\",\"annual_revenue\":-5}",
            "{\"ab\":1,\"a\":2,\"b\":true,\"A\":null,\"\":false}",
            "{\"z\":0,\"y\":-0,\"x\":1.5}",
            "{\"b\":\"q\\\"x\",\"a\":\"\\u0041\"}",
            "{\"b\":\"caf\xc3\xa9\",\"a\":1}",
            "{\"b\":{\"d\":1,\"c\":2},\"a\":[2,1]}",
            "{\"b\\u0041\":1,\"a\":2}",
            "{\"b\":1234567890123456789,\"a\":1}",
            "{\"b\":12345678901234567,\"a\":1}",
            "{\"b\":1,\"a\":2,}",
            "{\"b\":1 ,\"a\":2}",
            "{\"a\":tru}",
            "{\"a\":01}",
            "[1,2]",
            "not json",
            "{\"a\":1}x",
        };
        (void)state;

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                check(texts[i]);
        {
                char *empty = workload_fields_sorted(NULL);
                assert_string_equal(empty, "{}");
                free(empty);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_workload_events),
            cmocka_unit_test(test_crafted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
