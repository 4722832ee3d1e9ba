/* test_connector.c -- the reference connector: pure pieces (page parsing,
 * envelope and key, gap/resync events, Retry-After, backoff) and an
 * end-to-end FEED run against a tiny evhttp fake CRM and the embedded
 * broker (exactly-once arrival with the right key and headers, a 429 and a
 * 500 survived, a gap resolved, the cursor stored and resumed from). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../pipeline/connector_int.h"
#include "crmsync/broker.h"
#include "crmsync/bugs.h"
#include "crmsync/common.h"

/* ---- pure pieces ---- */

static void test_parse_page(void **state)
{
        const char *good = "{\"events\":[{\"event_id\":\"e-1\"},{}],"
                           "\"next_cursor\":\"c42\",\"has_more\":true}";
        json_t     *evs;
        char        next[16], err[256];
        int         more = 0;
        (void)state;

        assert_int_equal(connector_parse_page(good, strlen(good), &evs, next,
                                              sizeof(next), &more, err,
                                              sizeof(err)),
                         0);
        assert_int_equal(json_array_size(evs), 2);
        assert_string_equal(next, "c42");
        assert_true(more);
        json_decref(evs);

        assert_int_equal(connector_parse_page("{\"events\":[]}", 13, &evs, next,
                                              sizeof(next), &more, err,
                                              sizeof(err)),
                         0);
        assert_string_equal(next, "");
        assert_false(more);
        json_decref(evs);

        assert_int_equal(connector_parse_page("nope", 4, &evs, next,
                                              sizeof(next), &more, err,
                                              sizeof(err)),
                         -1);
        assert_null(evs);
        assert_non_null(strstr(err, "not JSON"));
        assert_int_equal(connector_parse_page("{\"x\":1}", 7, &evs, next,
                                              sizeof(next), &more, err,
                                              sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "events"));
        /* A cursor that does not fit is an error, never truncated. */
        good = "{\"events\":[],\"next_cursor\":\"0123456789abcdefXYZ\"}";
        assert_int_equal(connector_parse_page(good, strlen(good), &evs, next,
                                              sizeof(next), &more, err,
                                              sizeof(err)),
                         -1);
}

static void test_parse_objects(void **state)
{
        const char *a = "{\"results\":[{\"id\":\"A-1\"}],\"total\":9,"
                        "\"has_more\":true,\"next\":{\"modified_since\":"
                        "1764066000123,\"after\":\"A-1\"}}";
        json_t     *objs;
        char        after[32], err[128];
        int         more;
        int64_t     since;
        (void)state;

        assert_int_equal(connector_parse_objects(a, strlen(a), &objs, &more,
                                                 &since, after, sizeof(after),
                                                 err, sizeof(err)),
                         0);
        assert_int_equal(json_array_size(objs), 1);
        assert_true(more);
        assert_int_equal(since, 1764066000123LL);
        assert_string_equal(after, "A-1");
        json_decref(objs);
        a = "{\"results\":[],\"total\":0,\"has_more\":false}";
        assert_int_equal(connector_parse_objects(a, strlen(a), &objs, &more,
                                                 &since, after, sizeof(after),
                                                 err, sizeof(err)),
                         0);
        assert_false(more);
        assert_int_equal(since, -1);
        assert_string_equal(after, "");
        json_decref(objs);
        assert_int_equal(connector_parse_objects("[]", 2, &objs, &more, &since,
                                                 after, sizeof(after), err,
                                                 sizeof(err)),
                         0);
        json_decref(objs);
        assert_int_equal(connector_parse_objects("{}", 2, &objs, &more, &since,
                                                 after, sizeof(after), err,
                                                 sizeof(err)),
                         -1);
}

/* The changed fields of the stub's update i: a documented contact field
 * (the connector dead-letters undocumented ones as schema drift). */
static json_t *stub_fields(int i)
{
        return json_pack("{s:o}", "title", json_sprintf("t%d", i));
}

static json_t *sample_event(void)
{
        return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:I,s:{s:s}}",
                         "event_id", "e-00000042", "seq", 42, "entity",
                         "contact", "record_id", "C-000017", "account_id",
                         "A-000009", "change_type", "update", "version", 3,
                         "commit_ts_ms", (json_int_t)1764066000123LL, "fields",
                         "email", "c17@example.test");
}

static void test_key_choice(void **state)
{
        json_t *ev = sample_event();
        char    err[128];
        (void)state;

        assert_string_equal(connector_event_key(ev, 0), "A-000009");
        assert_string_equal(
            connector_event_key(ev, CRMSYNC_BUG_KEY_BY_RECORD_ID), "C-000017");
        /* Other bugs do not change the key. */
        assert_string_equal(
            connector_event_key(ev, CRMSYNC_BUG_CURSOR_BEFORE_DELIVERY |
                                        CRMSYNC_BUG_NO_RETRY_429),
            "A-000009");
        assert_int_equal(connector_event_check(ev, err, sizeof(err)), 0);
        json_object_del(ev, "account_id");
        assert_null(connector_event_key(ev, 0));
        assert_int_equal(connector_event_check(ev, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "account_id"));
        json_decref(ev);
}

/* Schema drift (docs/wire-contracts.md, "Schema drift"): every kind fails
 * the check, so the event is dead-lettered and re-read. */
static void test_event_check_catches_drift(void **state)
{
        json_t *ev = sample_event(), *f;
        char    err[128];
        (void)state;

        f = json_object_get(ev, "fields");
        json_object_set_new(f, "consent_sms", json_true());
        assert_int_equal(connector_event_check(ev, err, sizeof(err)), 0);
        json_object_set_new(f, "x_loyalty_tier", json_string("gold"));
        assert_int_equal(connector_event_check(ev, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "x_loyalty_tier"));
        json_object_del(f, "x_loyalty_tier");
        json_object_set_new(f, "email",
                            json_pack("{s:s}", "value", "c@example.test"));
        assert_int_equal(connector_event_check(ev, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "contact.email"));
        json_object_set_new(f, "email", json_string("c@example.test"));
        json_object_set_new(f, "consent_sms", json_string("true"));
        assert_int_equal(connector_event_check(ev, err, sizeof(err)), -1);
        json_object_del(f, "consent_sms");
        json_object_set_new(ev, "version", json_string("3"));
        assert_int_equal(connector_event_check(ev, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "version"));
        json_decref(ev);
}

static void test_envelope(void **state)
{
        json_t *ev = sample_event(), *env, *meta;
        (void)state;

        env = connector_envelope(ev, "cur-7", 1764066000999LL, "feed");
        assert_non_null(env);
        assert_null(json_object_get(ev, "connector")); /* input untouched */
        assert_string_equal(json_string_value(json_object_get(env, "event_id")),
                            "e-00000042");
        assert_int_equal(json_integer_value(json_object_get(env, "version")),
                         3);
        meta = json_object_get(env, "connector");
        assert_true(json_is_object(meta));
        assert_string_equal(
            json_string_value(json_object_get(meta, "source_cursor")), "cur-7");
        assert_int_equal(
            json_integer_value(json_object_get(meta, "ingest_ts_ms")),
            1764066000999LL);
        assert_string_equal(json_string_value(json_object_get(meta, "via")),
                            "feed");
        json_decref(env);
        env  = connector_envelope(ev, NULL, 1, "resync");
        meta = json_object_get(env, "connector");
        assert_null(json_object_get(meta, "source_cursor"));
        json_decref(env);
        json_decref(ev);
}

/* The serialised envelope is byte for byte the dump of the built one. */
static void test_envelope_dumps(void **state)
{
        json_t     *evs[3]  = {sample_event(), json_object(), sample_event()};
        const char *curs[3] = {"cur-\"7\"\\x", NULL, "c1.c350.a1"};
        (void)state;

        json_object_set_new(evs[2], "note", json_string("caf\xc3\xa9 \t\n"));
        for (int i = 0; i < 3; i++) {
                json_t *env  = connector_envelope(evs[i], curs[i], 17, "poll");
                char   *want = json_dumps(env, JSON_COMPACT);
                char   *got =
                    connector_envelope_dumps(evs[i], curs[i], 17, "poll");
                assert_non_null(got);
                assert_string_equal(got, want);
                free(want);
                free(got);
                json_decref(env);
                json_decref(evs[i]);
        }
}

static void test_resolve_gap(void **state)
{
        json_t *ev = sample_event(), *obj, *out;
        (void)state;

        json_object_set_new(ev, "change_type", json_string("gap"));
        json_object_set_new(ev, "fields", json_null());
        obj = json_pack("{s:s,s:s,s:s,s:i,s:b,s:{s:s,s:b}}", "entity",
                        "contact", "id", "C-000017", "account_id", "A-000011",
                        "version", 5, "deleted", 0, "fields", "email",
                        "new@example.test", "consent_email", 1);
        out = connector_resolve_object(ev, obj, "resolved_gap");
        assert_non_null(out);
        assert_string_equal(
            json_string_value(json_object_get(out, "change_type")), "update");
        assert_int_equal(json_integer_value(json_object_get(out, "version")),
                         5);
        assert_string_equal(
            json_string_value(json_object_get(out, "account_id")), "A-000011");
        assert_true(json_is_true(json_object_get(out, "resolved_gap")));
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(out, "fields"), "email")),
                            "new@example.test");
        assert_string_equal(json_string_value(json_object_get(out, "event_id")),
                            "e-00000042");
        json_decref(out);

        /* A move (update with previous_account_id) is resolved the same
         * way, marked resolved_move. */
        {
                json_t     *mv   = sample_event();
                const char *flag = NULL;
                assert_int_equal(connector_needs_object(mv, &flag), 0);
                json_object_set_new(mv, "previous_account_id",
                                    json_string("A-000002"));
                json_object_set_new(mv, "fields", json_object());
                assert_int_equal(connector_needs_object(mv, &flag), 1);
                assert_string_equal(flag, "resolved_move");
                assert_int_equal(connector_needs_object(ev, &flag), 1);
                assert_string_equal(flag, "resolved_gap");
                out = connector_resolve_object(mv, obj, "resolved_move");
                assert_true(
                    json_is_true(json_object_get(out, "resolved_move")));
                assert_true(json_is_true(json_object_get(out, "full_state")));
                assert_null(json_object_get(out, "resolved_gap"));
                assert_int_equal(
                    json_object_size(json_object_get(out, "fields")), 2);
                json_decref(out);
                json_decref(mv);
        }

        json_object_set_new(obj, "deleted", json_true());
        out = connector_resolve_object(ev, obj, "resolved_gap");
        assert_string_equal(
            json_string_value(json_object_get(out, "change_type")), "delete");
        assert_int_equal(json_object_size(json_object_get(out, "fields")), 0);
        json_decref(out);

        json_object_del(obj, "version");
        assert_null(connector_resolve_object(ev, obj, "resolved_gap"));
        json_decref(obj);
        json_decref(ev);
}

static void test_object_event(void **state)
{
        json_t *obj = json_pack(
            "{s:s,s:s,s:i,s:b,s:I,s:{s:s}}", "id", "C-000017", "account_id",
            "A-000009", "version", 4, "deleted", 0, "last_modified_ms",
            (json_int_t)1234, "fields", "email", "x@example.test");
        json_t *ev = connector_object_event("contact", obj, "resync", "resync");
        (void)state;

        assert_non_null(ev);
        assert_string_equal(json_string_value(json_object_get(ev, "event_id")),
                            "resync-C-000017-v4");
        assert_string_equal(
            json_string_value(json_object_get(ev, "change_type")), "update");
        assert_true(json_is_true(json_object_get(ev, "resync")));
        assert_int_equal(
            json_integer_value(json_object_get(ev, "commit_ts_ms")), 1234);
        assert_int_equal(connector_event_check(ev, NULL, 0), 0);
        json_decref(ev);
        json_object_del(obj, "id");
        assert_null(connector_object_event("contact", obj, "r", "r"));
        json_decref(obj);
}

static void test_retry_after_and_backoff(void **state)
{
        static const int64_t want[] = {100,  200,  400,  800,
                                       1600, 3200, 5000, 5000};
        (void)state;

        assert_int_equal(connector_retry_after_s("5"), 5);
        assert_int_equal(connector_retry_after_s(" 7 "), 7);
        assert_int_equal(connector_retry_after_s("0"), 0);
        assert_int_equal(connector_retry_after_s("120"), 30);
        assert_int_equal(connector_retry_after_s("99999999999999999999"), 30);
        assert_int_equal(connector_retry_after_s(NULL), 1);
        assert_int_equal(connector_retry_after_s(""), 1);
        assert_int_equal(connector_retry_after_s("-3"), 1);
        assert_int_equal(connector_retry_after_s("Wed, 21 Oct 2026 07:28:00 "
                                                 "GMT"),
                         1);
        for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                assert_int_equal(connector_backoff_ms(i), want[i]);
        assert_int_equal(connector_backoff_ms(1000), 5000);
}

static void test_parse_410(void **state)
{
        const char *b = "{\"error\":\"cursor_expired\",\"oldest_cursor\":"
                        "\"c-900\"}";
        char        oldest[32];
        (void)state;

        assert_int_equal(
            connector_parse_410(b, strlen(b), oldest, sizeof(oldest)), 0);
        assert_string_equal(oldest, "c-900");
        assert_int_equal(connector_parse_410("{}", 2, oldest, sizeof(oldest)),
                         0);
        assert_string_equal(oldest, "");
        assert_int_equal(
            connector_parse_410("<html>", 6, oldest, sizeof(oldest)), -1);
}

/* ---- end to end: fake CRM + embedded broker ---- */

#define GAP_SEQ 3

struct fake_crm {
        struct event_base *base;
        struct evhttp     *http;
        int                port;
        pthread_t          thr;
        volatile int       visible;      /* events 1..visible are served */
        volatile int       expire_below; /* cursors c-N, N < this: 410 */
        int                requests;     /* /v1/changes requests */
        int                fail_429, fail_500; /* inject once each */
        volatile int       stopping;
        struct event      *tick; /* polls `stopping` (no evthread here) */
};

static void fake_changes(struct fake_crm *f, struct evhttp_request *req,
                         const char *query)
{
        struct evkeyvalq q;
        const char      *cur, *lim;
        long             from = 0, limit = 500;
        struct evbuffer *out = evbuffer_new();
        json_t          *page, *evs;
        char            *s, next[32];
        int              to;

        f->requests++;
        if (f->fail_429) {
                f->fail_429 = 0;
                evhttp_add_header(evhttp_request_get_output_headers(req),
                                  "Retry-After", "0");
                evhttp_send_reply(req, 429, "Too Many Requests", NULL);
                evbuffer_free(out);
                return;
        }
        if (f->fail_500) {
                f->fail_500 = 0;
                evhttp_send_reply(req, 500, "Internal Server Error", NULL);
                evbuffer_free(out);
                return;
        }
        memset(&q, 0, sizeof(q));
        evhttp_parse_query_str(query ? query : "", &q);
        cur = evhttp_find_header(&q, "cursor");
        lim = evhttp_find_header(&q, "limit");
        if (cur)
                from = strtol(cur + 2, NULL, 10); /* "c-N" */
        if (cur && from < f->expire_below) {
                evbuffer_add_printf(out,
                                    "{\"error\":\"cursor_expired\","
                                    "\"oldest_cursor\":\"c-%d\"}",
                                    f->expire_below);
                evhttp_clear_headers(&q);
                evhttp_send_reply(req, 410, "Gone", out);
                evbuffer_free(out);
                return;
        }
        if (lim)
                limit = strtol(lim, NULL, 10);
        to  = (int)(from + limit < f->visible ? from + limit : f->visible);
        evs = json_array();
        for (int i = (int)from + 1; i <= to; i++) {
                char eid[24], rid[24], acct[24];
                int  gap = i == GAP_SEQ;
                snprintf(eid, sizeof(eid), "e-%08d", i);
                snprintf(rid, sizeof(rid), "C-%06d", i);
                snprintf(acct, sizeof(acct), "A-%06d", i % 4);
                json_array_append_new(
                    evs, json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:I,s:o}",
                                   "event_id", eid, "seq", i, "entity",
                                   "contact", "record_id", rid, "account_id",
                                   acct, "change_type", gap ? "gap" : "update",
                                   "version", 1, "commit_ts_ms",
                                   (json_int_t)1764066000000LL + i, "fields",
                                   gap ? json_null() : stub_fields(i)));
        }
        snprintf(next, sizeof(next), "c-%d", to);
        page = json_pack("{s:o,s:s,s:b}", "events", evs, "next_cursor", next,
                         "has_more", to < f->visible);
        s    = json_dumps(page, JSON_COMPACT);
        evbuffer_add(out, s, strlen(s));
        free(s);
        json_decref(page);
        evhttp_clear_headers(&q);
        evhttp_send_reply(req, 200, "OK", out);
        evbuffer_free(out);
}

static void fake_cb(struct evhttp_request *req, void *opaque)
{
        struct fake_crm         *f    = opaque;
        const struct evhttp_uri *u    = evhttp_request_get_evhttp_uri(req);
        const char              *path = evhttp_uri_get_path(u);
        struct evbuffer         *out;

        if (path && !strcmp(path, "/v1/changes")) {
                fake_changes(f, req, evhttp_uri_get_query(u));
                return;
        }
        if (path && !strcmp(path, "/v1/objects/contact/C-000003")) {
                const char *o = "{\"entity\":\"contact\",\"id\":\"C-000003\","
                                "\"account_id\":\"A-000003\",\"version\":7,"
                                "\"deleted\":false,\"last_modified_ms\":1,"
                                "\"fields\":{\"email\":\"gap@example.test\"}}";
                out           = evbuffer_new();
                evbuffer_add(out, o, strlen(o));
                evhttp_send_reply(req, 200, "OK", out);
                evbuffer_free(out);
                return;
        }
        if (path && !strcmp(path, "/v1/objects/contact")) {
                /* The resync listing: three contacts, one page. */
                out = evbuffer_new();
                evbuffer_add_printf(out, "{\"results\":[");
                for (int i = 11; i <= 13; i++)
                        evbuffer_add_printf(
                            out,
                            "%s{\"entity\":\"contact\",\"id\":\"C-%06d\","
                            "\"account_id\":\"A-%06d\",\"version\":9,"
                            "\"deleted\":false,\"last_modified_ms\":%d,"
                            "\"fields\":{\"title\":\"t%d\"}}",
                            i > 11 ? "," : "", i, i % 4, i, i);
                evbuffer_add_printf(out, "],\"total\":3,\"has_more\":false,"
                                         "\"next\":{\"modified_since\":13,"
                                         "\"after\":\"C-000013\"}}");
                evhttp_send_reply(req, 200, "OK", out);
                evbuffer_free(out);
                return;
        }
        if (path && !strncmp(path, "/v1/objects/", 12) &&
            !strchr(path + 12, '/')) {
                out = evbuffer_new();
                evbuffer_add_printf(out, "{\"results\":[],\"total\":0,"
                                         "\"has_more\":false}");
                evhttp_send_reply(req, 200, "OK", out);
                evbuffer_free(out);
                return;
        }
        evhttp_send_reply(req, 404, "Not Found", NULL);
}

static void fake_tick(evutil_socket_t fd, short what, void *opaque)
{
        struct fake_crm *f = opaque;
        (void)fd;
        (void)what;
        if (f->stopping)
                event_base_loopbreak(f->base);
}

static void *fake_thread(void *opaque)
{
        struct fake_crm *f = opaque;
        event_base_dispatch(f->base);
        return NULL;
}

static void fake_start(struct fake_crm *f)
{
        struct evhttp_bound_socket *bs;
        evutil_socket_t             fd;
        struct sockaddr_storage     ss;
        socklen_t                   len = sizeof(ss);

        f->base = event_base_new();
        f->http = evhttp_new(f->base);
        evhttp_set_gencb(f->http, fake_cb, f);
        bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
        assert_non_null(bs);
        fd = evhttp_bound_socket_get_fd(bs);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
        f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        f->tick = event_new(f->base, -1, EV_PERSIST, fake_tick, f);
        {
                struct timeval tv = {0, 50 * 1000};
                event_add(f->tick, &tv);
        }
        assert_int_equal(pthread_create(&f->thr, NULL, fake_thread, f), 0);
}

static void fake_stop(struct fake_crm *f)
{
        f->stopping = 1;
        pthread_join(f->thr, NULL);
        event_free(f->tick);
        evhttp_free(f->http);
        event_base_free(f->base);
}

struct run_arg {
        struct connector_config cfg;
        volatile sig_atomic_t   stop;
        int                     rc;
        char                    errstr[512];
};

static void *connector_thread(void *opaque)
{
        struct run_arg *a = opaque;
        a->rc             = crmsync_connector_run(&a->cfg, &a->stop, a->errstr,
                                                  sizeof(a->errstr));
        return NULL;
}

/* Read topic (all partitions) from the beginning until want records were
 * seen or 20 s passed. Checks key, headers and value of each record and
 * counts per seq into seen[]. Returns the number of records. */
static int consume_changes(const char *bs, const char *topic, int parts,
                           int want, int *seen, int seen_max)
{
        char                             errstr[256];
        rd_kafka_conf_t                 *conf = rd_kafka_conf_new();
        rd_kafka_t                      *rk;
        rd_kafka_topic_partition_list_t *pl;
        int                              got = 0;
        int64_t                          deadline;

        rd_kafka_conf_set(conf, "bootstrap.servers", bs, errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", "test-connector", errstr,
                          sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(rk);
        pl = rd_kafka_topic_partition_list_new(parts);
        for (int p = 0; p < parts; p++)
                rd_kafka_topic_partition_list_add(pl, topic, p)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, pl);
        rd_kafka_topic_partition_list_destroy(pl);
        deadline = crmsync_mono_ms() + 20000;
        while (got < want && crmsync_mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_headers_t *hdrs;
                const void         *hv;
                size_t              hl;
                json_t             *v;
                const char         *acct, *eid;
                int                 seq, resync;

                if (!m)
                        continue;
                if (m->err) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                got++;
                v = json_loadb(m->payload, m->len, 0, NULL);
                assert_non_null(v);
                seq    = (int)json_integer_value(json_object_get(v, "seq"));
                acct   = json_string_value(json_object_get(v, "account_id"));
                eid    = json_string_value(json_object_get(v, "event_id"));
                resync = json_is_true(json_object_get(v, "resync"));
                /* Resync records (no seq) are counted in seen[0]. */
                assert_true(resync ? seq == 0 : seq >= 1 && seq < seen_max);
                seen[seq]++;
                /* key = account id */
                assert_int_equal(m->key_len, strlen(acct));
                assert_memory_equal(m->key, acct, m->key_len);
                assert_int_equal(rd_kafka_message_headers(m, &hdrs), 0);
                assert_int_equal(
                    rd_kafka_header_get_last(hdrs, "event_id", &hv, &hl), 0);
                assert_int_equal(hl, strlen(eid));
                assert_memory_equal(hv, eid, hl);
                assert_int_equal(
                    rd_kafka_header_get_last(hdrs, "schema_version", &hv, &hl),
                    0);
                assert_int_equal(hl, 1);
                assert_memory_equal(hv, "1", 1);
                assert_string_equal(
                    json_string_value(json_object_get(
                        json_object_get(v, "connector"), "via")),
                    resync ? "resync" : "feed");
                if (resync) {
                        assert_true(
                            json_is_true(json_object_get(v, "full_state")));
                        assert_int_equal(
                            json_integer_value(json_object_get(v, "version")),
                            9);
                }
                if (seq == GAP_SEQ) {
                        assert_string_equal(json_string_value(json_object_get(
                                                v, "change_type")),
                                            "update");
                        assert_true(
                            json_is_true(json_object_get(v, "resolved_gap")));
                        assert_int_equal(
                            json_integer_value(json_object_get(v, "version")),
                            7);
                        assert_string_equal(acct, "A-000003");
                }
                json_decref(v);
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return got;
}

/* Last cursor stored for the connector's key (reads to the end). */
static void last_cursor(const char *bs, char *out, size_t out_size)
{
        char                             errstr[256];
        rd_kafka_conf_t                 *conf = rd_kafka_conf_new();
        rd_kafka_t                      *rk;
        rd_kafka_topic_partition_list_t *pl;
        int64_t                          deadline;
        int                              eof = 0;

        out[0] = '\0';
        rd_kafka_conf_set(conf, "bootstrap.servers", bs, errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", "test-connector-c", errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                          sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(rk);
        pl = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(pl, "crmsync.connector.offsets", 0)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, pl);
        rd_kafka_topic_partition_list_destroy(pl);
        deadline = crmsync_mono_ms() + 10000;
        while (!eof && crmsync_mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eof = 1;
                } else if (!m->err) {
                        json_t *v = json_loadb(m->payload, m->len, 0, NULL);
                        assert_int_equal(m->key_len,
                                         strlen("crmsync-connector"));
                        snprintf(
                            out, out_size, "%s",
                            json_string_value(json_object_get(v, "cursor")));
                        json_decref(v);
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        assert_true(eof);
}

static void run_connector_until(struct run_arg *a, const char *bs,
                                int want_total, int *seen, int seen_max)
{
        pthread_t thr;
        int       got;

        a->stop = 0;
        assert_int_equal(pthread_create(&thr, NULL, connector_thread, a), 0);
        memset(seen, 0, sizeof(*seen) * (size_t)seen_max);
        got = consume_changes(bs, "crm.changes", 3, want_total, seen, seen_max);
        /* Let a duplicate (if the connector made one) arrive too. */
        usleep(300 * 1000);
        a->stop = 1;
        pthread_join(thr, NULL);
        assert_int_equal(a->rc, 0);
        assert_int_equal(got, want_total);
}

static void test_feed_end_to_end(void **state)
{
        struct fake_crm   f = {0};
        crmsync_broker_t *b;
        char              errstr[256], url[64], cur[64];
        struct run_arg    a;
        int               seen[64];
        const char       *bs;
        (void)state;

        b = crmsync_broker_new(1, errstr, sizeof(errstr));
        assert_non_null(b);
        assert_int_equal(crmsync_broker_create_topic(b, "crm.changes", 3, 1,
                                                     errstr, sizeof(errstr)),
                         0);
        assert_int_equal(crmsync_broker_create_topic(b, "crm.changes.dlq", 1, 1,
                                                     errstr, sizeof(errstr)),
                         0);
        assert_int_equal(
            crmsync_broker_create_topic(b, "crmsync.connector.offsets", 1, 1,
                                        errstr, sizeof(errstr)),
            0);
        bs = crmsync_broker_bootstraps(b);

        f.visible  = 25;
        f.fail_429 = 1;
        f.fail_500 = 1;
        fake_start(&f);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);

        memset(&a, 0, sizeof(a));
        a.cfg.crm_url       = url;
        a.cfg.bootstrap     = bs;
        a.cfg.topic         = "crm.changes";
        a.cfg.offsets_topic = "crmsync.connector.offsets";
        a.cfg.client_id     = "test";
        a.cfg.mode          = CONNECTOR_FEED;
        a.cfg.page_size     = 7; /* 4 pages, several batches */
        a.cfg.poll_idle_ms  = 50;

        /* Run 1: 25 events, each exactly once. */
        run_connector_until(&a, bs, 25, seen, 64);
        for (int i = 1; i <= 25; i++)
                assert_int_equal(seen[i], 1);
        assert_true(f.requests >= 6); /* 429 + 500 + 4 pages at least */
        last_cursor(bs, cur, sizeof(cur));
        assert_string_equal(cur, "c-25");

        /* Run 2: 5 more events; the restart resumes from the cursor, so
         * the topic holds 30 records, still each once. */
        f.visible = 30;
        run_connector_until(&a, bs, 30, seen, 64);
        for (int i = 1; i <= 30; i++)
                assert_int_equal(seen[i], 1);
        last_cursor(bs, cur, sizeof(cur));
        assert_string_equal(cur, "c-30");

        fake_stop(&f);
        crmsync_broker_destroy(b);
}

/* A 410 on resume: the careful connector resyncs from the objects and
 * continues at oldest_cursor; under ignore-410 it only jumps, and the
 * events between are lost without a trace. */
static void feed_410(uint32_t bugs)
{
        struct fake_crm   f = {0};
        crmsync_broker_t *b;
        char              errstr[256], url[64], cur[64];
        struct run_arg    a;
        int               seen[64];
        const char       *bs;

        b = crmsync_broker_new(1, errstr, sizeof(errstr));
        assert_non_null(b);
        assert_int_equal(crmsync_broker_create_topic(b, "crm.changes", 3, 1,
                                                     errstr, sizeof(errstr)),
                         0);
        assert_int_equal(
            crmsync_broker_create_topic(b, "crmsync.connector.offsets", 1, 1,
                                        errstr, sizeof(errstr)),
            0);
        bs        = crmsync_broker_bootstraps(b);
        f.visible = 10;
        fake_start(&f);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);

        memset(&a, 0, sizeof(a));
        a.cfg.crm_url       = url;
        a.cfg.bootstrap     = bs;
        a.cfg.topic         = "crm.changes";
        a.cfg.offsets_topic = "crmsync.connector.offsets";
        a.cfg.mode          = CONNECTOR_FEED;
        a.cfg.page_size     = 50;
        a.cfg.poll_idle_ms  = 50;
        a.cfg.bugs          = bugs;

        run_connector_until(&a, bs, 10, seen, 64);
        last_cursor(bs, cur, sizeof(cur));
        assert_string_equal(cur, "c-10");

        /* Retention drops 11..20 while the connector is down. */
        f.expire_below = 20;
        f.visible      = 30;
        if (bugs & CRMSYNC_BUG_IGNORE_410) {
                run_connector_until(&a, bs, 20, seen, 64);
                assert_int_equal(seen[0], 0); /* no resync */
        } else {
                run_connector_until(&a, bs, 23, seen, 64);
                assert_int_equal(seen[0], 3); /* the three listed objects */
        }
        for (int i = 1; i <= 30; i++)
                assert_int_equal(seen[i], i <= 10 || i > 20 ? 1 : 0);
        last_cursor(bs, cur, sizeof(cur));
        assert_string_equal(cur, "c-30");

        fake_stop(&f);
        crmsync_broker_destroy(b);
}

static void test_feed_410_resync(void **state)
{
        (void)state;
        feed_410(0);
}

static void test_feed_410_bug_ignore(void **state)
{
        (void)state;
        feed_410(CRMSYNC_BUG_IGNORE_410);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_page),
            cmocka_unit_test(test_envelope_dumps),
            cmocka_unit_test(test_parse_objects),
            cmocka_unit_test(test_key_choice),
            cmocka_unit_test(test_event_check_catches_drift),
            cmocka_unit_test(test_envelope),
            cmocka_unit_test(test_resolve_gap),
            cmocka_unit_test(test_object_event),
            cmocka_unit_test(test_retry_after_and_backoff),
            cmocka_unit_test(test_parse_410),
            cmocka_unit_test(test_feed_end_to_end),
            cmocka_unit_test(test_feed_410_resync),
            cmocka_unit_test(test_feed_410_bug_ignore),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
