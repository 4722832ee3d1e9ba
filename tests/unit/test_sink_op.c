/* test_sink_op.c -- the fake sink's bulk op scanner (fakes/sink/sink_op.c):
 * it takes the profiler's ops without a jansson tree for the envelope,
 * hands every line it does not take as it is to jansson, and gives each
 * op -- valid or malformed -- the same result as jansson's parse would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fakes/sink/sink_int.h"

static const char profiler_op[] =
    "{\"op\":\"upsert\",\"type\":\"contact\",\"id\":\"C-1\","
    "\"account_id\":\"A-1\",\"version\":7,\"event_id\":\"e-1\","
    "\"fields\":{\"name\":\"x\\\"y\",\"n\":[1,{\"a\":null}]},"
    "\"merge_fields\":false,\"if_newer\":true,\"if_version\":6}";

static void test_scan_takes_profiler_op(void **state)
{
        struct sink_op op;
        (void)state;
        assert_int_equal(sink_op_scan(profiler_op, strlen(profiler_op), &op),
                         0);
        assert_null(op.tree); /* no tree for the envelope */
        assert_int_equal(op.v[SK_OP].kind, SV_STR);
        assert_int_equal(op.v[SK_OP].len, 6);
        assert_memory_equal(op.v[SK_OP].s, "upsert", 6);
        assert_int_equal(op.v[SK_VERSION].kind, SV_INT);
        assert_int_equal(op.v[SK_VERSION].i, 7);
        assert_int_equal(op.v[SK_MERGE].kind, SV_FALSE);
        assert_int_equal(op.v[SK_IF_NEWER].kind, SV_TRUE);
        assert_int_equal(op.v[SK_IF_VERSION].i, 6);
        assert_true(json_is_object(op.fields));
        assert_string_equal(
            json_string_value(json_object_get(op.fields, "name")), "x\"y");
        sink_op_clear(&op);
}

/* What the scanner leaves to jansson (it returns -1). */
static void test_scan_falls_back(void **state)
{
        static const char *const lines[] = {
            "{\"op\":\"up\\u0073ert\"}",   /* escape */
            "{\"op\":\"\xc3\xa9\"}",       /* non-ASCII */
            "{\"op\":\"upsert\",\"x\":1}", /* unknown member */
            "{\"id\":\"a\",\"id\":\"b\"}", /* repeated member */
            "{\"version\":1.5}",           /* a real */
            "{\"version\":01}",            /* leading zero */
            "{\"version\":1}x",            /* trailing bytes */
            "{\"version\":nullx}",
            "{\"fields\":{\"a\":[}}", /* malformed fields */
            "{\"fields\":5}",
            "{\"op\":\"upsert\"", /* truncated */
            "[1]",
            "7",
        };
        (void)state;
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
                struct sink_op op;
                if (sink_op_scan(lines[i], strlen(lines[i]), &op) != -1)
                        fail_msg("scanner took %s", lines[i]);
                assert_null(op.fields);
        }
        char deep[200] = "{\"fields\":";
        for (int d = 0; d < 70; d++)
                strcat(deep, "[");
        struct sink_op op;
        assert_int_equal(sink_op_scan(deep, strlen(deep), &op), -1);
}

/* Valid and malformed ops, each line parsed by the scanner and by
 * jansson alone, applied to two stores: the same results, and the
 * malformed ones a 400 bad_op naming the member. */
static void test_scan_agrees_with_jansson(void **state)
{
        static const struct {
                const char *line;
                int         status;
                const char *msg; /* a part of the message, or NULL */
        } c[] = {
            {profiler_op, 409, NULL}, /* if_version 6, nothing stored */
            {"{\"op\":\"upsert\",\"type\":\"contact\",\"id\":\"C-1\","
             "\"account_id\":\"A-1\",\"version\":7,\"event_id\":\"e-1\","
             "\"fields\":null}",
             200, NULL},
            {"{}", 400, "\"op\""},
            {"{\"op\":\"x\"}", 400, "upsert or delete"},
            {"{\"op\":\"upsert\\u0041\"}", 400, "upsert or delete"},
            {"{\"op\":\"delete\",\"type\":\"a/b\"}", 400, "\"type\""},
            {"{\"op\":\"delete\",\"type\":\"t\",\"id\":\"\"}", 400, "\"id\""},
            {"{\"op\":\"upsert\",\"type\":\"t\",\"id\":\"i\","
             "\"event_id\":\"e\"}",
             400, "account_id"},
            {"{\"op\":\"delete\",\"type\":\"t\",\"id\":\"i\","
             "\"event_id\":\"e\",\"version\":-1}",
             400, "\"version\""},
            {"{\"op\":\"delete\",\"type\":\"t\",\"id\":\"i\","
             "\"event_id\":\"e\",\"version\":4294967296}",
             400, "\"version\""},
            {"{\"op\":\"delete\",\"type\":\"t\",\"id\":\"i\","
             "\"event_id\":\"e\",\"version\":\"3\"}",
             400, "\"version\""},
            {"{\"op\":\"upsert\",\"type\":\"t\",\"id\":\"i\","
             "\"event_id\":\"e\",\"account_id\":\"a\",\"version\":3,"
             "\"fields\":5}",
             400, "\"fields\""},
            {"{\"op\":\"delete\",\"type\":\"t\",\"id\":\"i\","
             "\"event_id\":\"e\",\"version\":3,\"merge_fields\":1}",
             400, "booleans"},
            {"{\"op\":\"delete\",\"type\":\"t\",\"id\":\"i\","
             "\"event_id\":\"e\",\"version\":3,\"if_version\":true}",
             400, "if_version"},
            {"{\"op\":\"delete\",\"type\":\"t\",\"id\":\"i\","
             "\"event_id\":\"e\",\"version\":3,\"if_version\":0}",
             200, NULL},
            {"7", 400, "not a JSON object"},
        };
        struct sink_store a, b;
        (void)state;
        assert_int_equal(sink_store_init(&a, 64), 0);
        assert_int_equal(sink_store_init(&b, 64), 0);
        for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
                struct sink_ops    x, y;
                struct sink_result rx, ry;
                char               m[256];
                size_t             n = strlen(c[i].line);
                if (sink_parse_ops(c[i].line, n, &x, m, 256))
                        fail_msg("%s: %s", c[i].line, m);
                assert_int_equal(sink_parse_json_ops(c[i].line, n, &y, m, 256),
                                 0);
                assert_int_equal(x.n, 1);
                assert_int_equal(y.n, 1);
                sink_store_apply(&a, &x.v[0], 0, 0, &rx);
                sink_store_apply(&b, &y.v[0], 0, 0, &ry);
                if (rx.status != c[i].status)
                        fail_msg("%s: %d", c[i].line, rx.status);
                assert_int_equal(rx.status, ry.status);
                assert_string_equal(rx.result, ry.result);
                assert_int_equal(rx.stored_version, ry.stored_version);
                if (c[i].msg) {
                        assert_string_equal(rx.result, "bad_op");
                        assert_non_null(strstr(rx.message, c[i].msg));
                        assert_string_equal(rx.message, ry.message);
                }
                sink_ops_free(&x);
                sink_ops_free(&y);
        }
        assert_int_equal(a.c.ops_bad, 13);
        assert_int_equal(a.c.ops_bad, b.c.ops_bad);
        sink_store_fini(&a);
        sink_store_fini(&b);
}

/* The fields of an op, built directly when flat, are the tree jansson
 * builds from the same text; a line either takes is taken by both. */
static void test_flat_fields_same_tree(void **state)
{
        static const char *const f[] = {
            "{}",
            " { } ",
            "{\"a\":\"x\",\"b\":-12,\"c\":true,\"d\":false,\"e\":null}",
            "{ \"a\" : 1 , \"b\" : \"\" }",
            "{\"\":0,\"a\":1,\"a\":\"again\",\"b\":2}",
            "{\"n\":123456789012345678,\"m\":-0}",
            "{\"n\":1234567890123456789}",
            "{\"r\":1.5}",
            "{\"s\":\"caf\xc3\xa9\"}",
            "{\"s\":\"a\\nb\"}",
            "{\"o\":{\"p\":[1,2]},\"q\":3}",
            "{\"a\":01}",
            "{\"a\":1,}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":tru}",
            "{\"a\"}",
            "{\"a\":1",
        };
        (void)state;
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
                char            line[512], m[256], m2[256];
                struct sink_ops x, y;
                snprintf(line, sizeof(line),
                         "{\"op\":\"upsert\",\"type\":\"t\",\"id\":\"i\","
                         "\"fields\":%s,\"version\":1}",
                         f[i]);
                size_t n  = strlen(line);
                int    rx = sink_parse_ops(line, n, &x, m, sizeof(m));
                int    ry = sink_parse_json_ops(line, n, &y, m2, sizeof(m2));
                if (rx != ry)
                        fail_msg("%s: %d / %d", line, rx, ry);
                if (rx) {
                        assert_string_equal(m, m2);
                        continue;
                }
                if (!json_equal(x.v[0].fields, y.v[0].fields))
                        fail_msg("%s: the trees differ", line);
                char *a = json_dumps(x.v[0].fields, JSON_COMPACT);
                char *b = json_dumps(y.v[0].fields, JSON_COMPACT);
                assert_string_equal(a, b); /* the same member order too */
                free(a);
                free(b);
                sink_ops_free(&x);
                sink_ops_free(&y);
        }
}

/* A malformed line is a 400 (bad_json) naming its line and column, as
 * before, whether or not the lines before it were scanned. */
static void test_bad_line_names_line_and_column(void **state)
{
        char            body[1024], m[256] = "";
        struct sink_ops ops;
        (void)state;
        snprintf(body, sizeof(body),
                 "%s\n\n%s\n{\"op\":\"upsert\",\"fields\":{", profiler_op,
                 profiler_op);
        assert_int_equal(sink_parse_ops(body, strlen(body), &ops, m, 256), -1);
        assert_non_null(strstr(m, "NDJSON line 4 column"));
        assert_null(ops.v);
        snprintf(body, sizeof(body), "%s\n{\"version\":01}", profiler_op);
        assert_int_equal(sink_parse_ops(body, strlen(body), &ops, m, 256), -1);
        assert_non_null(strstr(m, "NDJSON line 2 column"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_scan_takes_profiler_op),
            cmocka_unit_test(test_scan_falls_back),
            cmocka_unit_test(test_scan_agrees_with_jansson),
            cmocka_unit_test(test_flat_fields_same_tree),
            cmocka_unit_test(test_bad_line_names_line_and_column),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
