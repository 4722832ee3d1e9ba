/* test_connector_scan.c -- the connector's feed page scanner
 * (pipeline/connector_scan.c) against jansson's reading of the same page:
 * the mock CRM's pages (every kind of event of a generated workload, gaps
 * and schema drift included) are taken and give the same events, keys
 * and envelopes; events the tree way would change or refuse go the tree
 * way; pages outside the scanner's subset, malformed ones included, are
 * declined (jansson then reads them, with its errors). */
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
#include "pipeline/connector_int.h"
#include "tests/unit/connector_scan_cmp.h"

/* Scan p both ways; they must agree and the scanner answer want. */
static void expect(const char *p, int want)
{
        char why[256] = "";
        int  rc       = connector_scan_cmp(p, strlen(p), why, sizeof(why));

        if (rc == -2)
                fail_msg("%s\n  page: %.300s", why, p);
        if (rc != want)
                fail_msg("scanner answered %d, want %d\n  page: %.300s", rc,
                         want, p);
}

/* A page of one event (text e), and whether that event is produced as it
 * is (-1: the page is declined). */
static void expect_event(const char *e, int as_is)
{
        char                      page[4096];
        struct connector_raw_page pg = {0};

        snprintf(page, sizeof(page),
                 "{\"events\":[%s],\"next_cursor\":\"c1.2.00000000\","
                 "\"has_more\":false}",
                 e);
        expect(page, as_is < 0 ? 0 : 1);
        if (as_is >= 0) {
                assert_int_equal(connector_scan_page(page, strlen(page), &pg),
                                 1);
                assert_int_equal(pg.n, 1);
                if (pg.v[0].as_is != as_is)
                        fail_msg("as_is %d, want %d: %s", pg.v[0].as_is, as_is,
                                 e);
        }
        connector_raw_page_free(&pg);
}

#define EV_HEAD                                                                \
        "\"event_id\":\"e-00000001\",\"seq\":1,\"entity\":\"account\","        \
        "\"record_id\":\"A-000001\",\"account_id\":\"A-000001\","              \
        "\"change_type\":\"update\",\"version\":2"

/* The mock CRM's own pages: every event of a generated workload (creates,
 * updates, deletes, merges, moves), in pages of 500 as the feed serves
 * them, plus gap events. */
static void test_workload_pages(void **state)
{
        struct crm_workload_config wc = {0};
        crm_workload_t            *w;
        char                       err[256];
        size_t                     as_is = 0, tree = 0;
        (void)state;

        wc.seed       = 11;
        wc.accounts   = 300;
        wc.changes    = 6000;
        wc.rate_per_s = 1000000;
        w             = crmsync_workload_generate(&wc, err, sizeof(err));
        assert_non_null(w);
        for (size_t first = 0; first < crmsync_workload_event_cnt(w);
             first += 500) {
                json_t *page = json_object(), *evs = json_array();
                char   *text;
                struct connector_raw_page pg = {0};
                for (size_t i = first;
                     i < first + 500 && i < crmsync_workload_event_cnt(w);
                     i++) {
                        struct crm_event ev = *crmsync_workload_event(w, i);
                        if (i % 97 == 0)
                                ev.change = CRM_CHANGE_GAP;
                        json_array_append_new(
                            evs, crmsync_event_to_json(&ev, 1764066000000LL));
                }
                json_object_set_new(page, "events", evs);
                json_object_set_new(page, "next_cursor",
                                    json_string("c1.1f4.9a8b7c6d"));
                json_object_set_new(page, "has_more", json_true());
                text = json_dumps(page, JSON_COMPACT);
                expect(text, 1);
                assert_int_equal(connector_scan_page(text, strlen(text), &pg),
                                 1);
                for (size_t i = 0; i < pg.n; i++)
                        pg.v[i].as_is ? as_is++ : tree++;
                connector_raw_page_free(&pg);
                free(text);
                json_decref(page);
        }
        /* Most go as they are (4,988 of 6,000); gaps and moves the tree
         * way. */
        assert_true(as_is > 4500);
        assert_true(tree >= 6000 / 97);
        crmsync_workload_destroy(w);
}

/* Events the scanner takes, and which of them go as they are. */
static void test_events(void **state)
{
        char long_id[300], ev[512];
        (void)state;

        expect_event("{" EV_HEAD ",\"fields\":{\"name\":\"Acme\","
                     "\"annual_revenue\":-5}}",
                     1);
        expect_event("{" EV_HEAD "}", 1);
        expect_event("{" EV_HEAD ",\"fields\":null}", 1);
        expect_event("{" EV_HEAD ",\"fields\":{}}", 1);
        expect_event("{" EV_HEAD ",\"merged_ids\":[\"A-1\",\"A-2\"]}", 1);
        expect_event("{" EV_HEAD ",\"extra\":[],\"x\":{\"y\":true}}", 1);
        /* The tree way: a move, a gap, schema drift, a missing or empty
         * member, wrong types, a "connector" member. */
        expect_event("{" EV_HEAD ",\"previous_account_id\":\"A-9\"}", 0);
        expect_event("{\"event_id\":\"e-1\",\"entity\":\"contact\","
                     "\"record_id\":\"C-1\",\"account_id\":\"A-1\","
                     "\"change_type\":\"gap\",\"version\":3,"
                     "\"fields\":null}",
                     0);
        expect_event("{" EV_HEAD ",\"fields\":{\"x_loyalty_tier\":\"a\"}}", 0);
        expect_event("{" EV_HEAD ",\"fields\":{\"annual_revenue\":\"5\"}}", 0);
        expect_event("{" EV_HEAD ",\"fields\":{\"name\":null}}", 0);
        expect_event("{" EV_HEAD ",\"fields\":[]}", 0);
        expect_event("{" EV_HEAD ",\"fields\":\"x\"}", 0);
        expect_event("{" EV_HEAD ",\"connector\":{}}", 0);
        expect_event("{\"event_id\":\"e-1\",\"seq\":1,\"entity\":\"lead\","
                     "\"record_id\":\"L-1\",\"account_id\":\"A-1\","
                     "\"change_type\":\"update\",\"version\":1,"
                     "\"fields\":{}}",
                     0);
        expect_event("{\"event_id\":\"e-1\",\"entity\":\"account\","
                     "\"account_id\":\"A-1\",\"change_type\":\"update\","
                     "\"version\":1}",
                     0);
        expect_event("{\"event_id\":\"\",\"entity\":\"account\","
                     "\"record_id\":\"A-1\",\"account_id\":\"A-1\","
                     "\"change_type\":\"update\",\"version\":1}",
                     0);
        expect_event("{\"event_id\":\"e-1\",\"entity\":\"account\","
                     "\"record_id\":\"A-1\",\"account_id\":\"A-1\","
                     "\"change_type\":\"update\",\"version\":\"1\"}",
                     0);
        expect_event("{\"event_id\":1,\"entity\":\"account\","
                     "\"record_id\":\"A-1\",\"account_id\":\"A-1\","
                     "\"change_type\":\"update\",\"version\":1}",
                     0);
        expect_event("{}", 0);
        /* Ids of 200 bytes go as they are; of 201 the tree way refuses. */
        for (int n = 200; n <= 201; n++) {
                memset(long_id, 'x', (size_t)n);
                long_id[n] = '\0';
                snprintf(ev, sizeof(ev),
                         "{\"event_id\":\"%s\",\"entity\":\"account\","
                         "\"record_id\":\"A-1\",\"account_id\":\"A-1\","
                         "\"change_type\":\"update\",\"version\":1}",
                         long_id);
                expect_event(ev, n == 200);
        }
}

/* Outside the subset: declined, whatever jansson makes of it. */
static void test_declined(void **state)
{
        static const char *events[] = {
            "{ " EV_HEAD "}",                                   /* whitespace */
            "{" EV_HEAD " }",                                   /* whitespace */
            "{" EV_HEAD ",\"fields\":{\"name\":\"A\\u0042\"}}", /* escape */
            "{" EV_HEAD ",\"fields\":{\"name\":\"caf\xc3\xa9\"}}", /* UTF-8 */
            "{" EV_HEAD ",\"fields\":{\"name\":\"a\tb\"}}",        /* control */
            "{" EV_HEAD ",\"fields\":{\"annual_revenue\":1.5}}",   /* real */
            "{" EV_HEAD ",\"fields\":{\"annual_revenue\":1e3}}",   /* real */
            "{" EV_HEAD ",\"fields\":{\"annual_revenue\":-0}}",    /* -0 */
            "{" EV_HEAD ",\"fields\":{\"annual_revenue\":01}}",    /* bad */
            "{" EV_HEAD ",\"fields\":{\"annual_revenue\":1234567890123456789}}",
            "{" EV_HEAD ",\"version\":3}", /* repeated */
            "{" EV_HEAD ",\"fields\":{\"name\":\"a\",\"name\":\"b\"}}",
            "{" EV_HEAD ",\"fields\":{\"name\":{\"value\":\"a\"}}}", /* deep */
            "{" EV_HEAD ",\"merged_ids\":[[1]]}",                    /* deep */
            "{" EV_HEAD ",\"merged_ids\":[{}]}",                     /* deep */
            "{" EV_HEAD ",\"x\":tru}", /* malformed */
            "{" EV_HEAD ",\"x\":nul}", /* malformed */
            "{" EV_HEAD ",}",          /* malformed */
            "{" EV_HEAD,               /* truncated */
            "\"e-1\"",                 /* not an object */
            "[]",                      /* not an object */
        };
        static const char *pages[] = {
            "",
            "   ",
            "nope",
            "[]",
            "{}",
            "{\"events\":{}}",
            "{\"events\":[],\"events\":[]}",
            "{\"events\":[],\"next_cursor\":5}",
            "{\"events\":[],\"next_cursor\":\"a\\\"b\"}",
            "{\"events\":[],\"has_more\":1}",
            "{\"events\":[],\"has_more\":true,\"has_more\":false}",
            "{\"events\":[]}x",
            "{\"events\":[]}{}",
            "{\"events\":[],}",
            "{\"events\":[,]}",
            "{\"events\":[]",
            "{\"ev\\u0065nts\":[]}",
            "{\"events\":[],\"other\":{\"a\":1}}",
        };
        char page[1024];
        (void)state;

        for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
                expect_event(events[i], -1);
        for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
                expect(pages[i], 0);
        /* A NUL inside the body: the scanner never reads past it. */
        snprintf(page, sizeof(page), "{\"events\":[{" EV_HEAD "}]}");
        page[20] = '\0';
        assert_int_equal(connector_scan_cmp(page, 40, page + 100, 100), 0);
}

/* Pages the scanner takes: whitespace between the page's tokens, empty
 * pages, a null or absent cursor, members it does not know. */
static void test_pages(void **state)
{
        struct connector_raw_page pg = {0};
        const char *p = " {\n \"events\" : [ {" EV_HEAD "} ,\t{" EV_HEAD
                        ",\"seq\":2} ] ,\"next_cursor\": null, "
                        "\"has_more\" :true,\"x\":-3 }\r\n";
        (void)state;

        expect("{\"events\":[]}", 1);
        expect("{\"events\":[],\"next_cursor\":null,\"has_more\":false}", 1);
        expect("{\"other\":\"a\",\"events\":[],\"has_more\":true}", 1);
        /* EV_HEAD has "seq":1 already: this event repeats it. */
        expect(p, 0);
        p = " {\n \"events\" : [ {" EV_HEAD "} ,\t{" EV_HEAD
            "} ] ,\"next_cursor\": null, \"has_more\" :true,\"x\":-3 }\r\n";
        expect(p, 1);
        assert_int_equal(connector_scan_page(p, strlen(p), &pg), 1);
        assert_int_equal(pg.n, 2);
        assert_int_equal(pg.has_more, 1);
        assert_int_equal(pg.next_cursor.len, 0);
        assert_int_equal(pg.v[0].seq, 1);
        connector_raw_page_free(&pg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_workload_pages),
            cmocka_unit_test(test_events),
            cmocka_unit_test(test_declined),
            cmocka_unit_test(test_pages),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
