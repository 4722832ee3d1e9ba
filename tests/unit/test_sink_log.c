/* test_sink_log.c -- the fake sink's apply log is compact: event ids and
 * keys are interned (lib/strpool.c), so an entry is a few pointers and
 * numbers, and a replay's second pass over the same events adds only the
 * entries, not another copy of every string (issue 10, 1M-change run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fakes/sink/sink_int.h"
#include "crmsync/strpool.h"

static void test_strpool(void **state)
{
        struct crmsync_strpool p;
        char                   buf[32];
        const char            *first[3000];
        (void)state;

        crmsync_strpool_init(&p);
        for (int i = 0; i < 3000; i++) {
                snprintf(buf, sizeof(buf), "event-%06d", i);
                first[i] = crmsync_strpool_intern(&p, buf);
                assert_non_null(first[i]);
                assert_string_equal(first[i], buf);
        }
        /* Equal strings give the same pointer; the bytes do not grow. */
        size_t bytes = p.bytes;
        for (int i = 0; i < 3000; i++) {
                snprintf(buf, sizeof(buf), "event-%06d", i);
                assert_ptr_equal(crmsync_strpool_intern(&p, buf), first[i]);
        }
        assert_int_equal(p.bytes, bytes);
        assert_int_equal(bytes, 3000 * sizeof("event-000000"));
        /* A string longer than a chunk gets its own. */
        size_t big = 100 * 1024;
        char  *s   = malloc(big + 1);
        assert_non_null(s);
        memset(s, 'x', big);
        s[big]        = '\0';
        const char *q = crmsync_strpool_intern(&p, s);
        assert_non_null(q);
        assert_int_equal(strlen(q), big);
        assert_ptr_equal(crmsync_strpool_intern(&p, s), q);
        assert_string_equal(first[2999], "event-002999");
        free(s);
        /* A copy is not indexed: a second copy, and intern does not see
         * it. */
        const char *c1 = crmsync_strpool_copy(&p, "copied");
        const char *c2 = crmsync_strpool_copy(&p, "copied");
        assert_string_equal(c1, "copied");
        assert_ptr_not_equal(c1, c2);
        assert_null(crmsync_strmap_get(&p.map, "copied"));
        assert_ptr_equal(crmsync_strpool_intern(&p, "event-000007"), first[7]);
        crmsync_strpool_reset(&p);
        assert_int_equal(p.bytes, 0);
        assert_null(crmsync_strmap_get(&p.map, "event-000001"));
        assert_non_null(crmsync_strpool_intern(&p, "again"));
        crmsync_strpool_reset(&p);
}

static int apply(struct sink_store *st, const char *id, unsigned version,
                 const char *eid)
{
        char               body[512];
        struct sink_result res;
        json_error_t       err;
        snprintf(body, sizeof(body),
                 "{\"op\":\"upsert\",\"type\":\"contact\",\"id\":\"%s\","
                 "\"account_id\":\"A-1\",\"version\":%u,\"event_id\":\"%s\","
                 "\"fields\":{\"a\":1},\"if_newer\":true}",
                 id, version, eid);
        json_t *op = json_loads(body, 0, &err);
        assert_non_null(op);
        struct sink_op o;
        sink_op_from_json(&o, op);
        sink_store_apply(st, &o, 0, 0, &res);
        sink_op_clear(&o);
        json_decref(op);
        return res.status;
}

/* The same event applied twice (a replay) shares its strings. */
static void test_entries_share_strings(void **state)
{
        struct sink_store st;
        (void)state;

        assert_true(sizeof(struct sink_apply) <= 32);
        sink_store_init(&st, 0);
        assert_int_equal(apply(&st, "C-1", 1, "e-1"), 200);
        assert_int_equal(apply(&st, "C-2", 1, "e-2"), 200);
        assert_int_equal(apply(&st, "C-1", 1, "e-1"), 409); /* replayed */
        assert_int_equal(st.napplies, 3);
        assert_string_equal(st.applies[0].event_id, "e-1");
        assert_string_equal(st.applies[0].key, "contact/C-1");
        assert_string_equal(st.applies[1].event_id, "e-2");
        assert_string_equal(st.applies[1].key, "contact/C-2");
        assert_true(st.applies[0].applied);
        assert_false(st.applies[2].applied);
        assert_ptr_equal(st.applies[2].event_id, st.applies[0].event_id);
        assert_ptr_equal(st.applies[2].key, st.applies[0].key);
        assert_ptr_not_equal(st.applies[1].event_id, st.applies[0].event_id);
        /* The log's strings live until a reset; json rendering reads them. */
        json_t *o = sink_store_apply_json(&st.applies[2], 2);
        assert_string_equal(json_string_value(json_object_get(o, "event_id")),
                            "e-1");
        json_decref(o);
        sink_store_fini(&st);
}

/* A replay's second pass adds entries, not string bytes. */
static void test_replay_pass_adds_no_strings(void **state)
{
        enum { N = 5000 };
        struct sink_store st;
        char              id[32], eid[64];
        (void)state;

        sink_store_init(&st, 0);
        for (int pass = 0; pass < 2; pass++) {
                size_t bytes = st.ids.bytes;
                for (int i = 0; i < N; i++) {
                        snprintf(id, sizeof(id), "C-%06d", i % 1000);
                        snprintf(eid, sizeof(eid), "evt-%08d", i);
                        apply(&st, id, (unsigned)(i / 1000 + 1), eid);
                }
                if (pass == 1)
                        assert_int_equal(st.ids.bytes, bytes);
        }
        assert_int_equal(st.napplies, 2 * N);
        /* 5000 event ids and 1000 keys, each stored once. */
        assert_int_equal(st.ids.bytes, N * sizeof("evt-00000000") +
                                           1000 * sizeof("contact/C-000000"));
        sink_store_fini(&st);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_strpool),
            cmocka_unit_test(test_entries_share_strings),
            cmocka_unit_test(test_replay_pass_adds_no_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
