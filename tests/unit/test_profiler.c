/* test_profiler.c -- the profiler's pure parts (envelope validation, op
 * mapping, bug switches, dedupe set, backoff) and one end-to-end run on
 * librdkafka's mock cluster into an in-process sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fakes/sink/sink_int.h"
#include "../../pipeline/profiler_int.h"
#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "crmsync/pipeline.h"
#include "crmsync/sink.h"

static char *event_json(const char *eid, const char *entity, const char *id,
                        const char *acc, const char *change, int version,
                        const char *fields, const char *extra)
{
        char *buf = malloc(1024);
        snprintf(buf, 1024,
                 "{\"event_id\":\"%s\",\"seq\":1,\"entity\":\"%s\","
                 "\"record_id\":\"%s\",\"account_id\":\"%s\","
                 "\"change_type\":\"%s\",\"version\":%d,"
                 "\"commit_ts_ms\":1,\"transaction_key\":\"t-1\","
                 "\"sequence_number\":0,\"fields\":%s%s,"
                 "\"connector\":{\"ingest_ts_ms\":2,\"via\":\"feed\"}}",
                 eid, entity, id, acc, change, version, fields,
                 extra ? extra : "");
        return buf;
}

static int map(const char *v, uint32_t bugs, struct prof_op *op, char *reason)
{
        return profiler_map_event(v, strlen(v), bugs, op, reason, 256);
}

static void test_map_create_update_delete(void **state)
{
        struct prof_op op;
        char           reason[256];
        (void)state;
        char *v = event_json("e-1", "contact", "C-1", "A-1", "create", 1,
                             "{\"email\":\"x\"}", NULL);
        assert_int_equal(map(v, 0, &op, reason), 0);
        assert_int_equal(op.action, PROF_UPSERT);
        assert_false(op.merge_fields);
        assert_true(op.if_newer);
        assert_string_equal(op.side_effect, "welcome_email");
        assert_string_equal(op.account_id, "A-1");
        json_t *j = profiler_op_json(&op);
        assert_string_equal(json_string_value(json_object_get(j, "op")),
                            "upsert");
        assert_string_equal(json_string_value(json_object_get(j, "type")),
                            "contact");
        assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
        assert_true(json_is_true(json_object_get(j, "if_newer")));
        json_decref(j);
        profiler_op_clear(&op);
        free(v);

        v = event_json("e-2", "contact", "C-1", "A-1", "update", 2,
                       "{\"email\":\"y\"}", NULL);
        assert_int_equal(map(v, 0, &op, reason), 0);
        assert_true(op.merge_fields);
        assert_null(op.side_effect);
        assert_int_equal(op.if_version, 1); /* on top of v1 only */
        j = profiler_op_json(&op);
        assert_int_equal(json_integer_value(json_object_get(j, "if_version")),
                         1);
        json_decref(j);
        profiler_op_clear(&op);
        free(v);

        /* A resolved gap carries all fields: replace, not merge. */
        v = event_json("e-3", "contact", "C-1", "A-1", "update", 3, "{}",
                       ",\"resolved_gap\":true");
        assert_int_equal(map(v, 0, &op, reason), 0);
        assert_false(op.merge_fields);
        assert_int_equal(op.if_version, -1); /* full state */
        profiler_op_clear(&op);
        free(v);
        v = event_json("e-3", "contact", "C-1", "A-2", "update", 3, "{\"a\":1}",
                       ",\"resolved_move\":true");
        assert_int_equal(map(v, 0, &op, reason), 0);
        assert_false(op.merge_fields);
        assert_int_equal(op.if_version, -1);
        profiler_op_clear(&op);
        free(v);

        v = event_json("e-4", "contact", "C-1", "A-1", "delete", 4, "{}", NULL);
        assert_int_equal(map(v, 0, &op, reason), 0);
        assert_int_equal(op.action, PROF_DELETE);
        j = profiler_op_json(&op);
        assert_string_equal(json_string_value(json_object_get(j, "op")),
                            "delete");
        assert_null(json_object_get(j, "fields"));
        json_decref(j);
        profiler_op_clear(&op);
        free(v);

        v = event_json("e-5", "entitlement", "E-1", "A-1", "update", 2,
                       "{\"tier\":\"gold\"}", NULL);
        assert_int_equal(map(v, 0, &op, reason), 0);
        assert_string_equal(op.side_effect, "entitlement_notice");
        profiler_op_clear(&op);
        free(v);

        v = event_json("e-6", "contact", "C-1", "A-1", "undelete", 5,
                       "{\"email\":\"z\"}", NULL);
        assert_int_equal(map(v, 0, &op, reason), 0);
        assert_false(op.merge_fields);
        assert_null(op.side_effect); /* welcome only on create */
        profiler_op_clear(&op);
        free(v);
}

static void test_map_rejects_invalid(void **state)
{
        struct prof_op op;
        char           reason[256];
        (void)state;
        const char *bad[] = {
            "not json",
            "[1,2]",
            "{\"entity\":\"contact\"}",
            NULL,
        };
        for (int i = 0; bad[i]; i++)
                assert_int_equal(map(bad[i], 0, &op, reason), -1);
        assert_int_equal(profiler_map_event("", 0, 0, &op, reason, 256), -1);

        char *v = event_json("e-1", "contact", "C-1", "A-1", "explode", 1, "{}",
                             NULL);
        assert_int_equal(map(v, 0, &op, reason), -1);
        assert_non_null(strstr(reason, "change_type"));
        free(v);
        v = event_json("e-1", "planet", "C-1", "A-1", "create", 1, "{}", NULL);
        assert_int_equal(map(v, 0, &op, reason), -1);
        assert_non_null(strstr(reason, "entity"));
        free(v);
        v = event_json("e-1", "contact", "C-1", "A-1", "gap", 1, "null", NULL);
        assert_int_equal(map(v, 0, &op, reason), -1);
        assert_non_null(strstr(reason, "gap"));
        free(v);
        v = event_json("e-1", "contact", "C-1", "A-1", "update", 1, "[]", NULL);
        assert_int_equal(map(v, 0, &op, reason), -1);
        assert_non_null(strstr(reason, "fields"));
        free(v);
        /* version of the wrong type */
        assert_int_equal(map("{\"event_id\":\"e-1\",\"entity\":\"contact\","
                             "\"record_id\":\"C-1\",\"account_id\":\"A-1\","
                             "\"change_type\":\"update\",\"version\":\"3\","
                             "\"fields\":{}}",
                             0, &op, reason),
                         -1);
        assert_non_null(strstr(reason, "version"));
        /* event_id that does not fit the sink's contract */
        v = event_json("resync-contact-C-000017-v3-and-a-tail-past-48-bytes",
                       "contact", "C-1", "A-1", "update", 1, "{}", NULL);
        assert_int_equal(map(v, 0, &op, reason), -1);
        free(v);
}

static void test_map_bug_switches(void **state)
{
        struct prof_op op;
        char           reason[256];
        (void)state;
        char *upd = event_json("e-1", "contact", "C-1", "A-1", "update", 2,
                               "{\"a\":1}", NULL);
        char *move =
            event_json("e-2", "contact", "C-1", "A-9", "update", 3, "{}", NULL);
        char *loser = event_json("e-3", "account", "A-1", "A-1", "delete", 7,
                                 "{}", ",\"merged_into\":\"A-9\"");
        char *del =
            event_json("e-4", "contact", "C-2", "A-1", "delete", 2, "{}", NULL);

        assert_int_equal(map(upd, CRMSYNC_BUG_NO_VERSION_CHECK, &op, reason),
                         0);
        assert_false(op.if_newer);
        assert_int_equal(op.if_version, -1);
        profiler_op_clear(&op);

        /* Correct pipeline: a pure move is applied, a loser is deleted. */
        assert_int_equal(map(move, 0, &op, reason), 0);
        assert_int_equal(op.action, PROF_UPSERT);
        assert_string_equal(op.account_id, "A-9");
        profiler_op_clear(&op);
        assert_int_equal(map(loser, 0, &op, reason), 0);
        assert_int_equal(op.action, PROF_DELETE);
        profiler_op_clear(&op);

        assert_int_equal(map(move, CRMSYNC_BUG_IGNORE_MERGES, &op, reason), 0);
        assert_int_equal(op.action, PROF_SKIP);
        profiler_op_clear(&op);
        /* Moves as the connector resolves them (whole record), or as the
         * CRM marks them. */
        char *rmove = event_json("e-5", "contact", "C-1", "A-9", "update", 3,
                                 "{\"a\":1}", ",\"resolved_move\":true");
        char *pmove = event_json("e-6", "contact", "C-1", "A-9", "update", 3,
                                 "{}", ",\"previous_account_id\":\"A-1\"");
        assert_int_equal(map(rmove, 0, &op, reason), 0);
        assert_int_equal(op.action, PROF_UPSERT);
        profiler_op_clear(&op);
        assert_int_equal(map(rmove, CRMSYNC_BUG_IGNORE_MERGES, &op, reason), 0);
        assert_int_equal(op.action, PROF_SKIP);
        profiler_op_clear(&op);
        assert_int_equal(map(pmove, CRMSYNC_BUG_IGNORE_MERGES, &op, reason), 0);
        assert_int_equal(op.action, PROF_SKIP);
        profiler_op_clear(&op);
        free(rmove);
        free(pmove);
        assert_int_equal(map(loser, CRMSYNC_BUG_IGNORE_MERGES, &op, reason), 0);
        assert_int_equal(op.action, PROF_SKIP);
        profiler_op_clear(&op);
        /* ignore-merges still applies ordinary updates and deletes */
        assert_int_equal(map(upd, CRMSYNC_BUG_IGNORE_MERGES, &op, reason), 0);
        assert_int_equal(op.action, PROF_UPSERT);
        profiler_op_clear(&op);
        assert_int_equal(map(del, CRMSYNC_BUG_IGNORE_MERGES, &op, reason), 0);
        assert_int_equal(op.action, PROF_DELETE);
        profiler_op_clear(&op);

        assert_int_equal(map(del, CRMSYNC_BUG_IGNORE_DELETES, &op, reason), 0);
        assert_int_equal(op.action, PROF_SKIP);
        profiler_op_clear(&op);
        assert_int_equal(map(upd, CRMSYNC_BUG_IGNORE_DELETES, &op, reason), 0);
        assert_int_equal(op.action, PROF_UPSERT);
        profiler_op_clear(&op);
        free(upd);
        free(move);
        free(loser);
        free(del);
}

static void test_dedupe_bounded_fifo(void **state)
{
        char id[32];
        (void)state;
        struct prof_dedupe *d = profiler_dedupe_new(100);
        assert_non_null(d);
        assert_int_equal(profiler_dedupe_add(d, "e-1"), 1);
        assert_int_equal(profiler_dedupe_add(d, "e-1"), 0);
        assert_true(profiler_dedupe_has(d, "e-1"));
        assert_false(profiler_dedupe_has(d, "e-2"));
        for (int i = 2; i <= 100; i++) {
                snprintf(id, sizeof(id), "e-%d", i);
                assert_int_equal(profiler_dedupe_add(d, id), 1);
        }
        assert_int_equal(profiler_dedupe_len(d), 100);
        /* The 101st id evicts the oldest (e-1) and only it. */
        assert_int_equal(profiler_dedupe_add(d, "e-101"), 1);
        assert_int_equal(profiler_dedupe_len(d), 100);
        assert_false(profiler_dedupe_has(d, "e-1"));
        for (int i = 2; i <= 101; i++) {
                snprintf(id, sizeof(id), "e-%d", i);
                assert_true(profiler_dedupe_has(d, id));
        }
        /* Churn many times the capacity; the set stays consistent. */
        for (int i = 1000; i < 5000; i++) {
                snprintf(id, sizeof(id), "e-%d", i);
                assert_int_equal(profiler_dedupe_add(d, id), 1);
        }
        assert_true(profiler_dedupe_has(d, "e-4999"));
        assert_true(profiler_dedupe_has(d, "e-4900"));
        assert_false(profiler_dedupe_has(d, "e-4899"));
        /* Forgotten ids (dropped unwritten) are new again. */
        profiler_dedupe_forget(d, "e-4950");
        assert_false(profiler_dedupe_has(d, "e-4950"));
        assert_true(profiler_dedupe_has(d, "e-4951"));
        assert_int_equal(profiler_dedupe_add(d, "e-4950"), 1);
        profiler_dedupe_forget(d, "e-nope");
        profiler_dedupe_free(d);
        profiler_dedupe_free(NULL);
}

static void test_pick_round_keeps_record_order(void **state)
{
        struct prof_pending e[5];
        size_t              idx[5];
        (void)state;
        memset(e, 0, sizeof(e));
        const char *ids[5] = {"C-1", "C-2", "C-1", "C-3", "C-1"};
        for (int i = 0; i < 5; i++) {
                snprintf(e[i].op.entity, sizeof(e[i].op.entity), "contact");
                snprintf(e[i].op.record_id, sizeof(e[i].op.record_id), "%s",
                         ids[i]);
        }
        snprintf(e[3].op.entity, sizeof(e[3].op.entity), "account");
        /* Round 1: the first op of each record. */
        assert_int_equal(profiler_pick_round(e, 5, idx), 3);
        assert_int_equal(idx[0], 0);
        assert_int_equal(idx[1], 1);
        assert_int_equal(idx[2], 3);
        /* Op 0 failed (not done): C-1's later ops keep waiting. */
        e[1].done = e[3].done = 1;
        assert_int_equal(profiler_pick_round(e, 5, idx), 1);
        assert_int_equal(idx[0], 0);
        e[0].done = 1;
        assert_int_equal(profiler_pick_round(e, 5, idx), 1);
        assert_int_equal(idx[0], 2);
        e[2].done = e[4].done = 1;
        assert_int_equal(profiler_pick_round(e, 5, idx), 0);

        /* Across partitions the batch order is not the version order: the
         * lowest version goes first, and a parked op does not block. */
        memset(e, 0, sizeof(e));
        for (int i = 0; i < 3; i++) {
                snprintf(e[i].op.entity, sizeof(e[i].op.entity), "contact");
                snprintf(e[i].op.record_id, sizeof(e[i].op.record_id), "C-7");
        }
        e[0].op.version = 6; /* moved: came first on the new partition */
        e[1].op.version = 2;
        e[2].op.version = 3;
        assert_int_equal(profiler_pick_round(e, 3, idx), 1);
        assert_int_equal(idx[0], 1);
        e[1].done   = 1;
        e[0].parked = 1;
        assert_int_equal(profiler_pick_round(e, 3, idx), 1);
        assert_int_equal(idx[0], 2);
}

static void test_backoff(void **state)
{
        (void)state;
        assert_int_equal(profiler_backoff_ms(0, -1), 100);
        assert_int_equal(profiler_backoff_ms(1, -1), 200);
        assert_int_equal(profiler_backoff_ms(10, -1), 2000);
        assert_int_equal(profiler_backoff_ms(60, -1), 2000);
        assert_int_equal(profiler_backoff_ms(0, 1000), 1000);
        assert_int_equal(profiler_backoff_ms(0, 999999), 30000);
}

/* ---- end to end: mock cluster -> profiler thread -> in-process sink ---- */

#define E2E_CONTACTS 100
#define E2E_EVENTS 1000

struct prof_thread {
        struct profiler_config cfg;
        volatile sig_atomic_t  stop;
        int                    rc;
        int                    done;
        char                   err[512];
};

static void *prof_main(void *arg)
{
        struct prof_thread *t = arg;
        t->rc = crmsync_profiler_run(&t->cfg, &t->stop, t->err, sizeof(t->err));
        __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
        return NULL;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
}

struct expect {
        uint32_t version[E2E_CONTACTS];
        int      deleted[E2E_CONTACTS];
        int      creates; /* distinct contact creates = welcome emails */
};

struct seen {
        const struct expect *want;
        int                  match, n;
        int                  welcome, over_once;
};

static void rec_cb(void *opaque, const struct sink_record *r)
{
        struct seen *s = opaque;
        int          i;
        s->n++;
        if (sscanf(r->key, "contact/C-%d", &i) == 1 && i >= 0 &&
            i < E2E_CONTACTS && r->version == s->want->version[i] &&
            r->deleted == s->want->deleted[i])
                s->match++;
}

static void sef_cb(void *opaque, const char *eid, const char *kind,
                   uint32_t count)
{
        struct seen *s = opaque;
        (void)eid;
        if (!strcmp(kind, "welcome_email"))
                s->welcome++;
        if (count != 1)
                s->over_once++;
}

static void produce(rd_kafka_t *p, const char *key, const char *val)
{
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p, RD_KAFKA_V_TOPIC("crm.changes"),
            RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)val, strlen(val)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Produce a workload with duplicates, run the profiler into the sink
 * (optionally with bug switches, partial failures and a 503 outage) and
 * check the sink's end state, side-effect counts and committed offsets. */
static void run_e2e(uint32_t bugs, double partial_failure, int outage)
{
        char errstr[512];

        /* Mock cluster owned by a throwaway producer handle. */
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        rd_kafka_t *mrk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        assert_non_null(mrk);
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
        assert_non_null(mc);
        const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
        assert_int_equal(rd_kafka_mock_topic_create(mc, "crm.changes", 3, 1),
                         0);
        assert_int_equal(
            rd_kafka_mock_topic_create(mc, "crm.changes.dlq", 1, 1), 0);

        /* The workload: creates, updates (some out of order), deletes and
         * duplicate deliveries, all keyed by account. */
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
        rd_kafka_t *prod =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        assert_non_null(prod);
        struct expect want;
        memset(&want, 0, sizeof(want));
        int  produced = 0, eid = 0;
        char id[32], acc[32], ev_id[32];
        for (int i = 0; i < E2E_CONTACTS; i++) {
                snprintf(id, sizeof(id), "C-%06d", i);
                snprintf(acc, sizeof(acc), "A-%06d", i % 10);
                snprintf(ev_id, sizeof(ev_id), "e-%08d", ++eid);
                char *v = event_json(ev_id, "contact", id, acc, "create", 1,
                                     "{\"email\":\"x\"}", NULL);
                produce(prod, acc, v);
                produce(prod, acc, v); /* duplicate delivery */
                produced += 2;
                free(v);
                want.version[i] = 1;
                want.creates++;
        }
        while (produced < E2E_EVENTS - 2) {
                int i = (produced * 7919) % E2E_CONTACTS;
                snprintf(id, sizeof(id), "C-%06d", i);
                snprintf(acc, sizeof(acc), "A-%06d", i % 10);
                if (want.deleted[i]) { /* bring it back */
                        want.deleted[i] = 0;
                        snprintf(ev_id, sizeof(ev_id), "e-%08d", ++eid);
                        char *v = event_json(ev_id, "contact", id, acc,
                                             "undelete", (int)++want.version[i],
                                             "{\"email\":\"u\"}", NULL);
                        produce(prod, acc, v);
                        produced++;
                        free(v);
                        continue;
                }
                snprintf(ev_id, sizeof(ev_id), "e-%08d", ++eid);
                int   del = produced % 13 == 0;
                char *v   = event_json(
                      ev_id, "contact", id, acc, del ? "delete" : "update",
                      (int)++want.version[i], del ? "{}" : "{\"n\":1}", NULL);
                want.deleted[i] = del;
                produce(prod, acc, v);
                produced++;
                if (produced % 5 == 0) { /* late duplicate */
                        produce(prod, acc, v);
                        produced++;
                }
                free(v);
        }
        /* Two unreadable records go to the DLQ. */
        produce(prod, "A-000000", "{not json");
        produce(prod, "A-000000", "{\"event_id\":\"e-x\"}");
        produced += 2;
        assert_int_equal(rd_kafka_flush(prod, 10000), 0);
        rd_kafka_destroy(prod);

        /* The sink on this thread's event loop. */
        struct event_base *base = event_base_new();
        struct sink_config scfg = {0};
        sink_server_t     *sink =
            crmsync_sink_server_new(base, &scfg, errstr, sizeof(errstr));
        assert_non_null(sink);
        struct event  *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
        struct timeval tv   = {0, 5000};
        event_add(tick, &tv);
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d",
                 crmsync_sink_server_port(sink));

        struct prof_thread pt;
        memset(&pt, 0, sizeof(pt));
        pt.cfg.bootstrap    = bootstrap;
        pt.cfg.topic        = "crm.changes";
        pt.cfg.dlq_topic    = "crm.changes.dlq";
        pt.cfg.group_id     = "test-profiler";
        pt.cfg.sink_url     = url;
        pt.cfg.offset_reset = "earliest";
        pt.cfg.batch_size   = 100;
        pt.cfg.linger_ms    = 20;
        pt.cfg.bugs         = bugs;
        crmsync_sink_set_partial_failure(sink, partial_failure);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, prof_main, &pt), 0);

        /* Spin the sink until every contact has its final version. */
        struct seen s   = {.want = &want};
        int64_t     end = crmsync_mono_ms() + 60000, outage_end = 0;
        while (crmsync_mono_ms() < end &&
               !__atomic_load_n(&pt.done, __ATOMIC_ACQUIRE)) {
                event_base_loop(base, EVLOOP_ONCE);
                const struct sink_apply *ap0;
                if (outage && !outage_end &&
                    crmsync_sink_applies(sink, &ap0) > 0) {
                        crmsync_sink_set_outage(sink, SINK_OUTAGE_503, errstr,
                                                sizeof(errstr));
                        outage_end = crmsync_mono_ms() + 1000;
                }
                if (outage_end && crmsync_mono_ms() >= outage_end) {
                        crmsync_sink_set_outage(sink, SINK_OUTAGE_NONE, errstr,
                                                sizeof(errstr));
                        outage_end = INT64_MAX;
                }
                memset(&s, 0, sizeof(s));
                s.want = &want;
                crmsync_sink_foreach(sink, rec_cb, &s);
                if (s.match == E2E_CONTACTS)
                        break;
        }
        /* Let in-flight side effects and the commit land, then stop. */
        int64_t settle = crmsync_mono_ms() + 500;
        while (crmsync_mono_ms() < settle)
                event_base_loop(base, EVLOOP_ONCE);
        pt.stop = 1;
        end     = crmsync_mono_ms() + 30000;
        while (crmsync_mono_ms() < end &&
               !__atomic_load_n(&pt.done, __ATOMIC_ACQUIRE))
                event_base_loop(base, EVLOOP_ONCE);
        assert_true(__atomic_load_n(&pt.done, __ATOMIC_ACQUIRE));
        pthread_join(th, NULL);
        if (pt.rc)
                fail_msg("profiler: %s", pt.err);

        memset(&s, 0, sizeof(s));
        s.want = &want;
        crmsync_sink_foreach(sink, rec_cb, &s);
        crmsync_sink_foreach_side_effect(sink, sef_cb, &s);
        assert_int_equal(s.n, E2E_CONTACTS);
        assert_int_equal(s.match, E2E_CONTACTS);
        assert_int_equal(s.welcome, want.creates);
        if (bugs & CRMSYNC_BUG_NO_DEDUPE)
                assert_true(s.over_once > 0); /* the bug is visible */
        else
                assert_int_equal(s.over_once, 0);

        /* Offsets were committed up to the end of every partition. */
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
        rd_kafka_conf_set(conf, "group.id", "test-profiler", NULL, 0);
        rd_kafka_t *chk =
            rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(chk);
        rd_kafka_topic_partition_list_t *parts =
            rd_kafka_topic_partition_list_new(3);
        for (int i = 0; i < 3; i++)
                rd_kafka_topic_partition_list_add(parts, "crm.changes", i);
        assert_int_equal(rd_kafka_committed(chk, parts, 10000), 0);
        int64_t committed_total = 0;
        for (int i = 0; i < 3; i++) {
                int64_t lo, hi;
                assert_int_equal(rd_kafka_query_watermark_offsets(
                                     chk, "crm.changes", i, &lo, &hi, 5000),
                                 0);
                assert_int_equal(parts->elems[i].offset, hi);
                committed_total += parts->elems[i].offset;
        }
        assert_int_equal(committed_total, produced);
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_destroy(chk);

        /* The DLQ holds the two unreadable records with a reason. */
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
        rd_kafka_conf_set(conf, "group.id", "test-dlq-reader", NULL, 0);
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", NULL, 0);
        rd_kafka_t *cons =
            rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(cons);
        rd_kafka_poll_set_consumer(cons);
        rd_kafka_topic_partition_list_t *tp =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tp, "crm.changes.dlq", 0)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(cons, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        int dlq = 0;
        end     = crmsync_mono_ms() + 10000;
        while (dlq < 2 && crmsync_mono_ms() < end) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
                if (!m)
                        continue;
                if (!m->err) {
                        rd_kafka_headers_t *h;
                        const void         *val;
                        size_t              sz;
                        assert_int_equal(rd_kafka_message_headers(m, &h), 0);
                        assert_int_equal(rd_kafka_header_get_last(
                                             h, "dlq_reason", &val, &sz),
                                         0);
                        assert_true(sz > 0);
                        dlq++;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
        assert_int_equal(dlq, 2);

        event_free(tick);
        crmsync_sink_server_destroy(sink);
        event_base_free(base);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(mrk);
}

static void test_end_to_end_mock_cluster(void **state)
{
        (void)state;
        run_e2e(0, 0, 0);
}

/* Per-op 500s and a 503 outage are retried; nothing lost or doubled. */
static void test_end_to_end_sink_faults(void **state)
{
        (void)state;
        run_e2e(0, 0.2, 1);
}

/* no-dedupe: duplicate deliveries repeat side effects. */
static void test_end_to_end_no_dedupe_bug(void **state)
{
        (void)state;
        run_e2e(CRMSYNC_BUG_NO_DEDUPE, 0, 0);
}

static int64_t committed_of(rd_kafka_t *chk_unused, const char *bootstrap,
                            const char *group)
{
        char             errstr[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        (void)chk_unused;
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
        rd_kafka_conf_set(conf, "group.id", group, NULL, 0);
        rd_kafka_t *c =
            rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(c);
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, "crm.changes", 0);
        int64_t off = -9999;
        if (rd_kafka_committed(c, l, 5000) == 0)
                off = l->elems[0].offset;
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(c);
        return off;
}

static uint64_t outage_replies(const sink_server_t *s)
{
        uint64_t n = 0;
        for (size_t i = 0; i < s->nreqs; i++)
                if (!strcmp(s->reqs[i].endpoint, "outage"))
                        n += s->reqs[i].count;
        return n;
}

/* With the sink down, the correct profiler commits nothing, while
 * commit-before-sink-ack commits what it never wrote: a crash (here: a
 * stop while the sink is still down) loses those records. */
static void test_commit_waits_for_sink_ack(void **state)
{
        char errstr[512], id[32], eid[32], url_a[64], url_b[64];
        (void)state;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        rd_kafka_t *mrk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
        assert_non_null(mc);
        const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
        rd_kafka_mock_topic_create(mc, "crm.changes", 1, 1);
        rd_kafka_mock_topic_create(mc, "crm.changes.dlq", 1, 1);
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
        rd_kafka_t *prod =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        for (int i = 0; i < 50; i++) {
                snprintf(id, sizeof(id), "C-%06d", i);
                snprintf(eid, sizeof(eid), "e-%08d", i + 1);
                char *v = event_json(eid, "contact", id, "A-000001", "create",
                                     1, "{}", NULL);
                produce(prod, "A-000001", v);
                free(v);
        }
        assert_int_equal(rd_kafka_flush(prod, 10000), 0);
        rd_kafka_destroy(prod);

        struct event_base *base = event_base_new();
        struct sink_config scfg = {0};
        sink_server_t     *sa =
            crmsync_sink_server_new(base, &scfg, errstr, sizeof(errstr));
        sink_server_t *sb =
            crmsync_sink_server_new(base, &scfg, errstr, sizeof(errstr));
        assert_non_null(sa);
        assert_non_null(sb);
        crmsync_sink_set_outage(sa, SINK_OUTAGE_503, errstr, sizeof(errstr));
        crmsync_sink_set_outage(sb, SINK_OUTAGE_503, errstr, sizeof(errstr));
        struct event  *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
        struct timeval tv   = {0, 5000};
        event_add(tick, &tv);
        snprintf(url_a, sizeof(url_a), "http://127.0.0.1:%d",
                 crmsync_sink_server_port(sa));
        snprintf(url_b, sizeof(url_b), "http://127.0.0.1:%d",
                 crmsync_sink_server_port(sb));

        struct prof_thread pa, pb;
        memset(&pa, 0, sizeof(pa));
        pa.cfg.bootstrap    = bootstrap;
        pa.cfg.topic        = "crm.changes";
        pa.cfg.dlq_topic    = "crm.changes.dlq";
        pa.cfg.offset_reset = "earliest";
        pa.cfg.batch_size   = 100;
        pa.cfg.linger_ms    = 20;
        pb                  = pa;
        pa.cfg.group_id     = "g-correct";
        pa.cfg.sink_url     = url_a;
        pb.cfg.group_id     = "g-bug";
        pb.cfg.sink_url     = url_b;
        pb.cfg.bugs         = CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK;
        pthread_t ta, tb;
        assert_int_equal(pthread_create(&ta, NULL, prof_main, &pa), 0);
        assert_int_equal(pthread_create(&tb, NULL, prof_main, &pb), 0);

        /* Both have read the records and are retrying the sink. */
        int64_t end = crmsync_mono_ms() + 20000;
        while (crmsync_mono_ms() < end &&
               (outage_replies(sa) < 2 || outage_replies(sb) < 2))
                event_base_loop(base, EVLOOP_ONCE);
        assert_true(outage_replies(sa) >= 2);
        assert_true(outage_replies(sb) >= 2);
        int64_t settle = crmsync_mono_ms() + 300;
        while (crmsync_mono_ms() < settle)
                event_base_loop(base, EVLOOP_ONCE);

        pa.stop = pb.stop = 1; /* the sink is still down */
        end               = crmsync_mono_ms() + 30000;
        while (crmsync_mono_ms() < end &&
               !(__atomic_load_n(&pa.done, __ATOMIC_ACQUIRE) &&
                 __atomic_load_n(&pb.done, __ATOMIC_ACQUIRE)))
                event_base_loop(base, EVLOOP_ONCE);
        assert_true(__atomic_load_n(&pa.done, __ATOMIC_ACQUIRE));
        assert_true(__atomic_load_n(&pb.done, __ATOMIC_ACQUIRE));
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);

        const struct sink_apply *ap;
        assert_int_equal(crmsync_sink_applies(sa, &ap), 0);
        assert_int_equal(crmsync_sink_applies(sb, &ap), 0);
        assert_true(committed_of(NULL, bootstrap, "g-correct") < 0);
        /* The bug committed (at least) its first batch, never written. */
        assert_true(committed_of(NULL, bootstrap, "g-bug") > 0);

        event_free(tick);
        crmsync_sink_server_destroy(sa);
        crmsync_sink_server_destroy(sb);
        event_base_free(base);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(mrk);
}

static void produce_to(rd_kafka_t *p, int32_t partition, const char *key,
                       const char *val)
{
        assert_int_equal(
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC("crm.changes"),
                              RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)val, strlen(val)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END),
            0);
}

struct one_rec {
        uint32_t version;
        char     account[CRMSYNC_ID_MAX];
        json_t  *fields;
};

static void one_cb(void *opaque, const struct sink_record *r)
{
        struct one_rec *o = opaque;
        if (strcmp(r->key, "contact/C-000001"))
                return;
        o->version = r->version;
        snprintf(o->account, sizeof(o->account), "%s", r->account_id);
        json_decref(o->fields);
        o->fields = json_deep_copy(r->fields);
}

/* A merge moved the contact to another account, so its later events are
 * on another partition and arrive first. The partial updates wait for
 * their predecessors instead of being merged onto nothing. */
static void test_moved_record_out_of_order(void **state)
{
        char errstr[512], url[64];
        (void)state;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        rd_kafka_t *mrk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
        assert_non_null(mc);
        const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
        rd_kafka_mock_topic_create(mc, "crm.changes", 2, 1);
        rd_kafka_mock_topic_create(mc, "crm.changes.dlq", 1, 1);
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
        rd_kafka_t *prod =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        char *v4 = event_json("e-4", "contact", "C-000001", "A-000002",
                              "update", 4, "{}", NULL);
        char *v5 = event_json("e-5", "contact", "C-000001", "A-000002",
                              "update", 5, "{\"x\":5}", NULL);
        produce_to(prod, 1, "A-000002", v4);
        produce_to(prod, 1, "A-000002", v5);
        assert_int_equal(rd_kafka_flush(prod, 10000), 0);

        struct event_base *base = event_base_new();
        struct sink_config scfg = {0};
        sink_server_t     *sink =
            crmsync_sink_server_new(base, &scfg, errstr, sizeof(errstr));
        assert_non_null(sink);
        struct event  *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
        struct timeval tv   = {0, 5000};
        event_add(tick, &tv);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d",
                 crmsync_sink_server_port(sink));
        struct prof_thread pt;
        memset(&pt, 0, sizeof(pt));
        pt.cfg.bootstrap    = bootstrap;
        pt.cfg.topic        = "crm.changes";
        pt.cfg.dlq_topic    = "crm.changes.dlq";
        pt.cfg.group_id     = "g-move";
        pt.cfg.sink_url     = url;
        pt.cfg.offset_reset = "earliest";
        pt.cfg.batch_size   = 100;
        pt.cfg.linger_ms    = 20;
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, prof_main, &pt), 0);

        int64_t end = crmsync_mono_ms() + 20000;
        while (crmsync_mono_ms() < end && sink->store.c.ops_gap == 0)
                event_base_loop(base, EVLOOP_ONCE);
        assert_true(sink->store.c.ops_gap > 0); /* v4 is parked */

        char *v1 = event_json("e-1", "contact", "C-000001", "A-000001",
                              "create", 1, "{\"a\":1,\"x\":0}", NULL);
        char *v2 = event_json("e-2", "contact", "C-000001", "A-000001",
                              "update", 2, "{\"b\":2}", NULL);
        char *v3 = event_json("e-3", "contact", "C-000001", "A-000001",
                              "update", 3, "{\"a\":3}", NULL);
        produce_to(prod, 0, "A-000001", v1);
        produce_to(prod, 0, "A-000001", v2);
        produce_to(prod, 0, "A-000001", v3);
        assert_int_equal(rd_kafka_flush(prod, 10000), 0);
        rd_kafka_destroy(prod);

        struct one_rec o = {0};
        end              = crmsync_mono_ms() + 8000;
        while (crmsync_mono_ms() < end && o.version != 5) {
                event_base_loop(base, EVLOOP_ONCE);
                crmsync_sink_foreach(sink, one_cb, &o);
        }
        pt.stop = 1;
        end     = crmsync_mono_ms() + 30000;
        while (crmsync_mono_ms() < end &&
               !__atomic_load_n(&pt.done, __ATOMIC_ACQUIRE))
                event_base_loop(base, EVLOOP_ONCE);
        pthread_join(th, NULL);

        assert_int_equal(o.version, 5);
        assert_string_equal(o.account, "A-000002");
        json_t *want = json_pack("{s:i,s:i,s:i}", "a", 3, "b", 2, "x", 5);
        assert_true(json_equal(o.fields, want));
        json_decref(want);
        json_decref(o.fields);
        struct seen s = {0};
        crmsync_sink_foreach_side_effect(sink, sef_cb, &s);
        assert_int_equal(s.welcome, 1);
        const struct sink_apply *ap;
        size_t                   n = crmsync_sink_applies(sink, &ap);
        for (size_t i = 0; i < n; i++)
                assert_true(ap[i].applied); /* in version order, none stale */

        free(v1);
        free(v2);
        free(v3);
        free(v4);
        free(v5);
        event_free(tick);
        crmsync_sink_server_destroy(sink);
        event_base_free(base);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(mrk);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_map_create_update_delete),
            cmocka_unit_test(test_map_rejects_invalid),
            cmocka_unit_test(test_map_bug_switches),
            cmocka_unit_test(test_dedupe_bounded_fifo),
            cmocka_unit_test(test_pick_round_keeps_record_order),
            cmocka_unit_test(test_backoff),
            cmocka_unit_test(test_end_to_end_mock_cluster),
            cmocka_unit_test(test_end_to_end_sink_faults),
            cmocka_unit_test(test_end_to_end_no_dedupe_bug),
            cmocka_unit_test(test_commit_waits_for_sink_ack),
            cmocka_unit_test(test_moved_record_out_of_order),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return rc;
}
