/* test_profiler_scan.c -- the profiler's envelope scanner (the fast path
 * of profiler_map_event, pipeline/profiler_scan.c) gives the same op, or
 * the same refusal with the same reason, as the jansson parse
 * (profiler_map_event_json) on valid and malformed values; it takes the
 * plain ones itself, and the bulk-op line it writes reads back as the
 * op; and the scanner of the sink's bulk reply reads the same per-op
 * results as jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pipeline/profiler_int.h"
#include "crmsync/bugs.h"

struct scan_case {
        const char *value;
        int         scanned; /* the scanner takes it (no jansson) */
};

#define ENV_HEAD                                                               \
        "{\"event_id\":\"e-1\",\"seq\":7,\"entity\":\"contact\","              \
        "\"record_id\":\"C-000001\",\"account_id\":\"A-000001\","

static const struct scan_case cases[] = {
    /* valid, plain: the scanner's */
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{"
              "\"email\":\"a@b\",\"n\":-3,\"ok\":true,\"no\":false,"
              "\"z\":null,\"o\":{\"a\":[1,2,{}]},\"e\":[]}}",
     1},
    {ENV_HEAD "\"change_type\":\"update\",\"version\":3,\"fields\":{\"x\":5},"
              "\"connector\":{\"ingest_ts_ms\":2,\"via\":\"feed\"}}",
     1},
    {ENV_HEAD "\"change_type\":\"update\",\"version\":4,\"fields\":{},"
              "\"previous_account_id\":\"A-000002\"}",
     1},
    {ENV_HEAD "\"change_type\":\"update\",\"version\":4,\"fields\":{ },"
              "\"resolved_move\":true,\"merged_ids\":[\"a\",\"b\"]}",
     1},
    {ENV_HEAD "\"change_type\":\"delete\",\"version\":9,\"fields\":null,"
              "\"merged_into\":\"A-000003\"}",
     1},
    {" \t\r\n{ \"event_id\" : \"e-2\" , \"entity\":\"entitlement\","
     "\"record_id\":\"E-1\",\"account_id\":\"A-1\",\"change_type\":"
     "\"update\",\"version\":0,\"fields\":{\"tier\" : \"gold\"},"
     "\"full_state\":true}\n ",
     1},
    {ENV_HEAD "\"change_type\":\"undelete\",\"version\":4294967295,"
              "\"fields\":{\"a\":1}}",
     1},
    /* refused after a clean scan: the same reason both ways */
    {ENV_HEAD "\"change_type\":\"update\",\"version\":4294967296,"
              "\"fields\":{}}",
     1},
    {ENV_HEAD "\"change_type\":\"update\",\"version\":-1,\"fields\":{}}", 1},
    {ENV_HEAD "\"change_type\":\"update\",\"version\":\"2\",\"fields\":{}}", 1},
    {ENV_HEAD "\"change_type\":\"gap\",\"version\":2,\"fields\":null}", 1},
    {ENV_HEAD "\"change_type\":\"update\",\"version\":2,\"fields\":[]}", 1},
    {ENV_HEAD "\"change_type\":\"update\",\"version\":2,\"fields\":\"x\"}", 1},
    {ENV_HEAD "\"change_type\":\"delete\",\"version\":2,\"merged_into\":null}",
     1},
    {ENV_HEAD "\"change_type\":\"move\",\"version\":2,\"fields\":{}}", 1},
    {"{\"event_id\":\"e-1\",\"entity\":\"lead\",\"record_id\":\"L-1\","
     "\"account_id\":\"A-1\",\"change_type\":\"create\",\"version\":1,"
     "\"fields\":{}}",
     1},
    {"{\"event_id\":\"e-1\",\"entity\":\"contact\",\"record_id\":\"C/1\","
     "\"account_id\":\"A-1\",\"change_type\":\"create\",\"version\":1,"
     "\"fields\":{}}",
     1},
    {"{\"event_id\":\"\",\"entity\":\"contact\",\"record_id\":\"C-1\"}", 1},
    {"{\"event_id\":\"e-0123456789012345678901234567890123456789012345678\","
     "\"entity\":\"contact\"}",
     1},
    {"{\"entity\":\"contact\",\"record_id\":\"C-1\",\"account_id\":\"\","
     "\"change_type\":\"create\",\"version\":1,\"fields\":{},"
     "\"event_id\":\"e-1\"}",
     1},
    {"{}", 1},
    {"{\"event_id\":7}", 1},
    /* valid, outside the subset: jansson parses them */
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{"
              "\"name\":\"Ren\\u00e9 \\\"R\\\"\"}}",
     0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{"
              "\"name\":\"Ren\xc3\xa9\"}}",
     0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{"
              "\"score\":1.5e3}}",
     0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"version\":2,"
              "\"fields\":{}}",
     0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{"
              "\"big\":1234567890123456789}}",
     0},
    {"{\"event_id\":\"e-\\\"1\\n\",\"entity\":\"contact\",\"record_id\":"
     "\"C-1\",\"account_id\":\"A-1\",\"change_type\":\"create\","
     "\"version\":1,\"fields\":{}}",
     0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":"
              "{\"d\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"
              "]]]]]]]]]]]]]]]]]]]]]]]]}}",
     0},
    /* malformed: jansson refuses them, with its column */
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{\"a\":1}",
     0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{}} x", 0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":01,\"fields\":{}}", 0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{\"a\":1,}}",
     0},
    {ENV_HEAD
     "\"change_type\":\"create\",\"version\":1,\"fields\":{\"a\":tru}}",
     0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":-,\"fields\":{}}", 0},
    {ENV_HEAD "\"change_type\":\"create\" \"version\":1,\"fields\":{}}", 0},
    {ENV_HEAD "\"change_type\":\"create\",\"version\":1,\"fields\":{\"a\"}}",
     0},
    {ENV_HEAD
     "\"change_type\":\"create\",\"version\":1,\"fields\":{\"a\":\"x}}",
     0},
    {"{\"event_id\":\"e\\u0000\",\"entity\":\"contact\"}", 0},
    {"[]", 0},
    {"null", 0},
    {"{", 0},
    {"", 0},
};

static json_t *load_fields(const struct prof_op *op)
{
        return op->fields ? json_loadb(op->fields, op->fields_len, 0, NULL)
                          : NULL;
}

/* Both parses of value agree, under bugs. */
static void same_both_ways(const char *value, size_t len, uint32_t bugs)
{
        struct prof_op a, b;
        char           ra[256] = "", rb[256] = "";
        int rc_a = profiler_map_event(value, len, bugs, &a, ra, sizeof(ra));
        int rc_b =
            profiler_map_event_json(value, len, bugs, &b, rb, sizeof(rb));

        assert_int_equal(rc_a, rc_b);
        if (rc_a) {
                assert_string_equal(ra, rb);
                assert_true(ra[0] != '\0');
                return;
        }
        assert_int_equal(a.action, b.action);
        assert_string_equal(a.event_id, b.event_id);
        assert_string_equal(a.entity, b.entity);
        assert_string_equal(a.record_id, b.record_id);
        assert_string_equal(a.account_id, b.account_id);
        assert_int_equal(a.version, b.version);
        assert_int_equal(a.merge_fields, b.merge_fields);
        assert_int_equal(a.if_newer, b.if_newer);
        assert_int_equal(a.if_version, b.if_version);
        assert_ptr_equal(a.side_effect, b.side_effect);
        assert_int_equal(a.fields == NULL, b.fields == NULL);
        if (a.fields) {
                json_t *fa = load_fields(&a), *fb = load_fields(&b);
                assert_non_null(fa);
                assert_true(json_is_object(fa));
                assert_true(json_equal(fa, fb));
                json_decref(fa);
                json_decref(fb);
        }
        profiler_op_clear(&a);
        profiler_op_clear(&b);
}

static void test_scan_same_as_jansson(void **state)
{
        static const uint32_t bugs[] = {0, CRMSYNC_BUG_IGNORE_MERGES,
                                        CRMSYNC_BUG_IGNORE_DELETES,
                                        CRMSYNC_BUG_NO_VERSION_CHECK};
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char     *v   = cases[i].value;
                size_t          len = strlen(v);
                struct prof_env env;

                assert_int_equal(profiler_env_scan(v, len, &env) == 0,
                                 cases[i].scanned);
                for (size_t k = 0; k < sizeof(bugs) / sizeof(bugs[0]); k++)
                        same_both_ways(v, len, bugs[k]);
                /* Every prefix is malformed or refused alike. */
                for (size_t cut = 0; cut < len; cut++)
                        same_both_ways(v, cut, 0);
        }
}

/* A NUL byte inside the value (the length says where it ends). */
static void test_scan_nul_byte(void **state)
{
        static const char v[] = "{\"event_id\":\"e\0-1\",\"entity\":\"x\"}";
        struct prof_env   env;
        (void)state;
        assert_int_equal(profiler_env_scan(v, sizeof(v) - 1, &env), -1);
        same_both_ways(v, sizeof(v) - 1, 0);
}

/* The bulk-op line reads back as the op: escapes in ids from the jansson
 * path, the fields as they came. */
static void test_op_line(void **state)
{
        struct prof_op        op;
        struct crmsync_dynbuf b;
        char                  reason[256];
        const char *v = "{\"event_id\":\"e-\\\"1\\n\\u0001\",\"entity\":"
                        "\"contact\",\"record_id\":\"C-1\",\"account_id\":"
                        "\"A-1\",\"change_type\":\"update\",\"version\":3,"
                        "\"fields\":{\"a\": 1 ,\"b\":\"\\u00e9\"}}";
        (void)state;
        assert_int_equal(
            profiler_map_event(v, strlen(v), 0, &op, reason, sizeof(reason)),
            0);
        crmsync_dynbuf_init(&b, 1 << 20);
        assert_int_equal(profiler_op_write(&op, &b), 0);
        const char *line = crmsync_dynbuf_ptr(&b);
        assert_int_equal(line[crmsync_dynbuf_len(&b) - 1], '\n');
        assert_null(memchr(line, '\n', crmsync_dynbuf_len(&b) - 1));
        json_t *j = json_loadb(line, crmsync_dynbuf_len(&b), 0, NULL);
        assert_non_null(j);
        json_t *want = json_pack(
            "{s:s,s:s,s:s,s:s,s:i,s:s,s:{s:i,s:s},s:b,s:b,s:i}", "op", "upsert",
            "type", "contact", "id", "C-1", "account_id", "A-1", "version", 3,
            "event_id", "e-\"1\n\x01", "fields", "a", 1, "b", "\xc3\xa9",
            "merge_fields", 1, "if_newer", 1, "if_version", 2);
        assert_true(json_equal(j, want));
        json_decref(j);
        json_decref(want);
        crmsync_dynbuf_free(&b);
        profiler_op_clear(&op);

        /* The largest and the smallest version, in decimal. */
        v = "{\"event_id\":\"e-9\",\"entity\":\"contact\",\"record_id\":"
            "\"C-9\",\"account_id\":\"A-1\",\"change_type\":\"update\","
            "\"version\":4294967295,\"fields\":{}}";
        assert_int_equal(
            profiler_map_event(v, strlen(v), 0, &op, reason, sizeof(reason)),
            0);
        j = profiler_op_json(&op);
        assert_true(json_integer_value(json_object_get(j, "version")) ==
                    4294967295LL);
        assert_true(json_integer_value(json_object_get(j, "if_version")) ==
                    4294967294LL);
        json_decref(j);
        profiler_op_clear(&op);
        v = "{\"event_id\":\"e-0\",\"entity\":\"contact\",\"record_id\":"
            "\"C-9\",\"account_id\":\"A-1\",\"change_type\":\"update\","
            "\"version\":0,\"fields\":{}}";
        assert_int_equal(
            profiler_map_event(v, strlen(v), 0, &op, reason, sizeof(reason)),
            0);
        j = profiler_op_json(&op);
        assert_true(json_is_integer(json_object_get(j, "version")));
        assert_int_equal(json_integer_value(json_object_get(j, "version")), 0);
        assert_null(json_object_get(j, "if_version"));
        json_decref(j);
        profiler_op_clear(&op);

        /* A plain record keeps its fields' text byte for byte. */
        v = "{\"event_id\":\"e-2\",\"entity\":\"contact\",\"record_id\":"
            "\"C-2\",\"account_id\":\"A-1\",\"change_type\":\"create\","
            "\"version\":1,\"fields\":{\"a\": [1, {\"b\":null}]}}";
        assert_int_equal(
            profiler_map_event(v, strlen(v), 0, &op, reason, sizeof(reason)),
            0);
        assert_int_equal(op.fields_len, strlen("{\"a\": [1, {\"b\":null}]}"));
        assert_memory_equal(op.fields, "{\"a\": [1, {\"b\":null}]}",
                            op.fields_len);
        profiler_op_clear(&op);
}

struct reply_case {
        const char *body;
        size_t      want;
        int         scanned; /* the scanner takes it */
};

static const struct reply_case replies[] = {
    {"{\"errors\":false,\"results\":[{\"status\":200,\"result\":\"applied\"},"
     "{\"status\":200,\"result\":\"applied\"}]}\n",
     2, 1},
    {"{\"errors\":true,\"results\":[{\"status\":409,\"result\":\"stale\","
     "\"stored_version\":7},{\"status\":409,\"result\":\"gap\","
     "\"stored_version\":0},{\"status\":400,\"result\":\"bad_op\","
     "\"message\":\"\\\"id\\\" must be a non-empty string\"},"
     "{\"status\":500,\"result\":\"error\",\"message\":\"injected\"}]}",
     4, 0},
    {"{\"results\":[{\"status\":400,\"result\":\"bad_op\",\"message\":\"m\"},"
     "{\"result\":\"gap\",\"status\":409}],\"errors\":true} ",
     2, 1},
    {"{\"results\":[{\"status\":200,\"status\":409,\"result\":\"gap\","
     "\"result\":\"gapx\",\"x\":[1,{\"y\":null}]},{}]}",
     2, 1},
    {"{\"results\":[{\"status\":\"200\",\"result\":7,\"message\":null},"
     "{\"status\":true,\"result\":\"gap\"}]}",
     2, 1},
    {"{\"results\":[{\"status\":200}]}", 2, 0},    /* too few */
    {"{\"results\":[{\"status\":200},{}]}", 1, 0}, /* too many */
    {"{\"results\":[]}", 1, 0},
    {"{\"results\":[7]}", 1, 0},
    {"{\"results\":{}}", 1, 0},
    {"{\"errors\":false}", 1, 0},
    {"{\"results\":[{\"status\":200}],\"results\":[{\"status\":409}]}", 1, 0},
    {"{\"results\":[{\"status\":2.0e2}]}", 1, 0},
    {"{\"results\":[{\"status\":4294967496,\"result\":\"applied\"}]}", 1, 1},
    {"{\"results\":[{\"status\":200,\"result\":\"caf\xc3\xa9\"}]}", 1, 0},
    {"{\"results\":[{\"status\":200}]", 1, 0},
    {"{\"results\":[{\"status\":200}]}}", 1, 0},
    {"{\"results\":[{\"status\":200},]}", 1, 0},
    {"{\"results\":[{\"status\":200 \"result\":\"x\"}]}", 1, 0},
    {"<html>502</html>", 1, 0},
    {"", 1, 0},
};

/* Both readings of body agree whenever the scanner takes it. */
static void same_reply(const char *body, size_t len, size_t want)
{
        struct prof_result a[8], b[8];
        json_t            *tree;
        char               buf[1024];

        assert_true(want <= 8 && len < sizeof(buf));
        memcpy(buf, body, len);
        buf[len] = '\0';
        int ra   = profiler_reply_scan(buf, len, a, want);
        int rb   = profiler_reply_json(buf, b, want, &tree);
        if (ra == 0) {
                assert_int_equal(rb, 0);
                for (size_t k = 0; k < want; k++) {
                        assert_int_equal(a[k].status, b[k].status);
                        assert_int_equal(a[k].is_gap, b[k].is_gap);
                        assert_int_equal(a[k].msg == NULL, b[k].msg == NULL);
                        assert_int_equal(a[k].msg_len, b[k].msg_len);
                        if (a[k].msg)
                                assert_memory_equal(a[k].msg, b[k].msg,
                                                    (size_t)a[k].msg_len);
                }
        }
        json_decref(tree);
}

static void test_reply_same_as_jansson(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
                const struct reply_case *c   = &replies[i];
                size_t                   len = strlen(c->body);
                struct prof_result       r[8];
                if ((profiler_reply_scan(c->body, len, r, c->want) == 0) !=
                    c->scanned)
                        fail_msg("reply %zu: scanned is not %d", i, c->scanned);
                same_reply(c->body, len, c->want);
                for (size_t cut = 0; cut < len; cut++)
                        same_reply(c->body, cut, c->want);
        }
        /* What the scanner read of the first reply. */
        struct prof_result r[4];
        const char        *b = replies[2].body;
        assert_int_equal(profiler_reply_scan(b, strlen(b), r, 2), 0);
        assert_int_equal(r[0].status, 400);
        assert_int_equal(r[0].msg_len, 1);
        assert_memory_equal(r[0].msg, "m", 1);
        assert_int_equal(r[1].status, 409);
        assert_true(r[1].is_gap);
        b = replies[3].body; /* repeated members: the last one counts */
        assert_int_equal(profiler_reply_scan(b, strlen(b), r, 2), 0);
        assert_int_equal(r[0].status, 409);
        assert_false(r[0].is_gap);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_scan_same_as_jansson),
            cmocka_unit_test(test_scan_nul_byte),
            cmocka_unit_test(test_op_line),
            cmocka_unit_test(test_reply_same_as_jansson),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
