/* test_crm_server.c -- the mock CRM HTTP server on a private event_base,
 * driven by an evhttp client on the same loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/crm.h"
#include "crmsync/workload.h"

struct fx {
        struct event_base *base;
        crm_workload_t    *w;
        crm_server_t      *s;
        int                port;
};

struct resp {
        int     done;
        int     status;
        json_t *body;
        char    raw[512];
};

static void on_resp(struct evhttp_request *req, void *arg)
{
        struct resp *r = arg;
        r->done        = 1;
        if (!req) {
                r->status = -1;
                return;
        }
        r->status          = evhttp_request_get_response_code(req);
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        size_t           n = evbuffer_get_length(b);
        char            *t = malloc(n + 1);
        evbuffer_copyout(b, t, n);
        t[n] = '\0';
        snprintf(r->raw, sizeof(r->raw), "%s", t);
        r->body = json_loads(t, 0, NULL);
        free(t);
}

/* One request; returns the status, *out = parsed body (caller decrefs). */
static int http(struct fx *f, enum evhttp_cmd_type m, const char *path,
                const char *ctype, const char *body, json_t **out)
{
        struct resp               r    = {0};
        struct evhttp_connection *conn = evhttp_connection_base_new(
            f->base, NULL, "127.0.0.1", (ev_uint16_t)f->port);
        struct evhttp_request *req = evhttp_request_new(on_resp, &r);
        int64_t                end = crmsync_mono_ms() + 5000;

        evhttp_connection_set_timeout(conn, 5);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
                          "127.0.0.1");
        if (ctype)
                evhttp_add_header(evhttp_request_get_output_headers(req),
                                  "Content-Type", ctype);
        if (body)
                evbuffer_add(evhttp_request_get_output_buffer(req), body,
                             strlen(body));
        evhttp_make_request(conn, req, m, path);
        while (!r.done && crmsync_mono_ms() < end)
                event_base_loop(f->base, EVLOOP_ONCE);
        evhttp_connection_free(conn);
        assert_true(r.done);
        if (out)
                *out = r.body;
        else
                json_decref(r.body);
        return r.status;
}

static int get(struct fx *f, const char *path, json_t **out)
{
        return http(f, EVHTTP_REQ_GET, path, NULL, NULL, out);
}

static void run_ms(struct fx *f, int ms)
{
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        event_base_loopexit(f->base, &tv);
        event_base_dispatch(f->base);
}

/* Extra milliseconds before a future start (CRMSYNC_TEST_SLACK_MS; the
 * valgrind run sets it): the faults a test switches on right after
 * fx_start must be on before the first commit, however slowly the test
 * runs. run_past_start waits that much longer too, so every interval after
 * the start stays what the test says. */
static int fx_slack_ms;

/* Run the loop ms past a future start given to fx_start. */
static void run_past_start(struct fx *f, int ms)
{
        run_ms(f, ms + fx_slack_ms);
}

/* Server settings for the next fx_start (reset by it). */
static struct crm_server_config fx_cfg;
/* Opportunities and entitlements per account for the next fx_start. */
static uint32_t fx_children;

static void fx_start(struct fx *f, uint32_t accounts, uint32_t changes,
                     double rate, int64_t start_offset_ms)
{
        struct crm_workload_config wc = {0};
        struct crm_server_config   sc = fx_cfg;
        char                       err[256];

        memset(f, 0, sizeof(*f));
        wc.seed                      = 17;
        wc.accounts                  = accounts;
        wc.changes                   = changes;
        wc.rate_per_s                = rate;
        wc.opportunities_per_account = fx_children;
        wc.entitlements_per_account  = fx_children;
        fx_children                  = 0;
        f->w = crmsync_workload_generate(&wc, err, sizeof(err));
        assert_non_null(f->w);
        f->base          = event_base_new();
        sc.workload      = f->w;
        sc.start_wall_ms = crmsync_wall_ms() + start_offset_ms +
                           (start_offset_ms > 0 ? fx_slack_ms : 0);
        f->s = crmsync_crm_server_new(f->base, &sc, err, sizeof(err));
        memset(&fx_cfg, 0, sizeof(fx_cfg));
        if (!f->s)
                fail_msg("server: %s", err);
        f->port = crmsync_crm_server_port(f->s);
        assert_true(f->port > 0);
}

static void fx_stop(struct fx *f)
{
        crmsync_crm_server_destroy(f->s);
        crmsync_workload_destroy(f->w);
        event_base_free(f->base);
}

static const char *jstr(json_t *o, const char *k)
{
        const char *v = json_string_value(json_object_get(o, k));
        return v ? v : "";
}

/* Page through the whole feed from cursor (NULL = start); appends every
 * event to all (if not NULL) and returns the number of events served. */
static size_t drain(struct fx *f, const char *cursor, int limit, json_t *all,
                    char *last_cursor, size_t last_size)
{
        char   path[256], cur[128] = "";
        size_t n = 0;
        if (cursor)
                snprintf(cur, sizeof(cur), "%s", cursor);
        for (int page = 0; page < 10000; page++) {
                json_t *b;
                if (cur[0])
                        snprintf(path, sizeof(path),
                                 "/v1/changes?limit=%d&cursor=%s", limit, cur);
                else
                        snprintf(path, sizeof(path), "/v1/changes?limit=%d",
                                 limit);
                assert_int_equal(get(f, path, &b), 200);
                json_t *evs = json_object_get(b, "events");
                assert_true(json_is_array(evs));
                assert_true(json_array_size(evs) <= (size_t)limit);
                n += json_array_size(evs);
                if (all)
                        json_array_extend(all, evs);
                snprintf(cur, sizeof(cur), "%s", jstr(b, "next_cursor"));
                assert_true(cur[0] != '\0');
                int more = json_is_true(json_object_get(b, "has_more"));
                json_decref(b);
                if (!more)
                        break;
        }
        if (last_cursor)
                snprintf(last_cursor, last_size, "%s", cur);
        return n;
}

static void test_paging_covers_all_once(void **state)
{
        struct fx f;
        json_t   *all = json_array();
        (void)state;
        fx_start(&f, 20, 300, 100000, -60000); /* all visible */
        assert_int_equal(crmsync_crm_server_committed(f.s), 300);
        assert_int_equal(drain(&f, NULL, 7, all, NULL, 0), 300);
        for (size_t i = 0; i < 300; i++) {
                json_t *e = json_array_get(all, i);
                assert_int_equal(json_integer_value(json_object_get(e, "seq")),
                                 i + 1);
        }
        /* Byte content matches the documented wire form. */
        const struct crm_event *e5   = crmsync_workload_event(f.w, 5);
        json_t                 *want = crmsync_event_to_json(e5, 0);
        json_t                 *got  = json_array_get(all, 5);
        assert_string_equal(jstr(got, "event_id"), e5->event_id);
        assert_string_equal(jstr(got, "record_id"), e5->record_id);
        assert_true(json_equal(json_object_get(got, "fields"),
                               json_object_get(want, "fields")));
        assert_int_equal(json_integer_value(json_object_get(got, "version")),
                         e5->version);
        json_decref(want);
        /* Default limit is 100, max 1000. */
        json_t *b;
        assert_int_equal(get(&f, "/v1/changes", &b), 200);
        assert_int_equal(json_array_size(json_object_get(b, "events")), 100);
        assert_true(json_is_true(json_object_get(b, "has_more")));
        json_decref(b);
        assert_int_equal(get(&f, "/v1/changes?limit=1000", &b), 200);
        assert_int_equal(json_array_size(json_object_get(b, "events")), 300);
        assert_false(json_is_true(json_object_get(b, "has_more")));
        json_decref(b);
        json_decref(all);
        fx_stop(&f);
}

static void test_future_events_not_served(void **state)
{
        struct fx f;
        json_t   *all = json_array();
        int64_t   now;
        (void)state;
        /* 10 changes/s: 300 changes take ~30 s; about half are past. */
        fx_start(&f, 20, 300, 10, 0);
        int64_t half = crmsync_workload_event(f.w, 149)->commit_ms;
        crmsync_crm_server_destroy(f.s);
        {
                struct crm_server_config sc = {0};
                char                     err[256];
                sc.workload      = f.w;
                sc.start_wall_ms = crmsync_wall_ms() - half;
                f.s = crmsync_crm_server_new(f.base, &sc, err, sizeof(err));
                assert_non_null(f.s);
                f.port = crmsync_crm_server_port(f.s);
        }
        size_t n = drain(&f, NULL, 50, all, NULL, 0);
        now      = crmsync_wall_ms();
        assert_true(n >= 150);
        assert_true(n < 250);
        assert_true(n <= crmsync_crm_server_committed(f.s));
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(all, i);
                assert_true(json_integer_value(
                                json_object_get(e, "commit_ts_ms")) <= now);
        }
        /* The object API does not show the future either. */
        const struct crm_event  *last = crmsync_workload_event(f.w, 299);
        const struct crm_record *r =
            crmsync_workload_find(f.w, last->entity, last->record_id);
        char    path[128];
        json_t *b;
        snprintf(path, sizeof(path), "/v1/objects/%s/%s",
                 crmsync_entity_name(r->entity), r->id);
        int st = get(&f, path, &b);
        if (st == 200) /* created early: the version is not final yet */
                assert_true(json_integer_value(json_object_get(b, "version")) <
                            (json_int_t)r->version);
        else
                assert_int_equal(st, 404);
        json_decref(b);
        json_decref(all);
        fx_stop(&f);
}

static void test_bad_requests(void **state)
{
        struct fx   f;
        json_t     *b;
        char        cur[128], path[256];
        const char *bad_limits[] = {
            "0", "1001", "abc", "-1", "10x", "", "99999999999999999999999"};
        (void)state;
        fx_start(&f, 5, 100, 100000, -60000);
        for (size_t i = 0; i < sizeof(bad_limits) / sizeof(*bad_limits); i++) {
                snprintf(path, sizeof(path), "/v1/changes?limit=%s",
                         bad_limits[i]);
                assert_int_equal(get(&f, path, &b), 400);
                assert_string_equal(jstr(b, "error"), "bad_limit");
                assert_true(strlen(jstr(b, "message")) > 0);
                json_decref(b);
        }
        assert_int_equal(get(&f, "/v1/changes?cursor=garbage", &b), 400);
        assert_string_equal(jstr(b, "error"), "bad_cursor");
        json_decref(b);
        assert_int_equal(get(&f, "/v1/changes?cursor=%zz", &b), 400);
        assert_string_equal(jstr(b, "error"), "bad_cursor");
        json_decref(b);
        /* A real cursor with one character changed. */
        assert_int_equal(get(&f, "/v1/changes?limit=10", &b), 200);
        snprintf(cur, sizeof(cur), "%s", jstr(b, "next_cursor"));
        json_decref(b);
        snprintf(path, sizeof(path), "/v1/changes?cursor=%s", cur);
        assert_int_equal(get(&f, path, NULL), 200);
        cur[strlen(cur) - 1] = cur[strlen(cur) - 1] == '0' ? '1' : '0';
        snprintf(path, sizeof(path), "/v1/changes?cursor=%s", cur);
        assert_int_equal(get(&f, path, &b), 400);
        assert_string_equal(jstr(b, "error"), "bad_cursor");
        json_decref(b);

        assert_int_equal(get(&f, "/v2/nothing", &b), 404);
        assert_string_equal(jstr(b, "error"), "not_found");
        json_decref(b);
        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/v1/changes",
                              "application/json", "{}", &b),
                         405);
        assert_string_equal(jstr(b, "error"), "method_not_allowed");
        json_decref(b);
        assert_int_equal(http(&f, EVHTTP_REQ_DELETE, "/v1/objects/contact/x",
                              NULL, NULL, &b),
                         405);
        json_decref(b);
        /* Admin body checks. */
        assert_int_equal(
            http(&f, EVHTTP_REQ_POST, "/_admin/faults", "text/plain", "{}", &b),
            415);
        assert_string_equal(jstr(b, "error"), "unsupported_media_type");
        json_decref(b);
        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/_admin/faults",
                              "application/json", "{not json", &b),
                         400);
        assert_string_equal(jstr(b, "error"), "bad_json");
        json_decref(b);
        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/_admin/faults",
                              "application/json",
                              "{\"type\":\"no_such_fault\",\"on\":true}", &b),
                         400);
        assert_string_equal(jstr(b, "error"), "bad_fault");
        json_decref(b);
        char *big = malloc(100000);
        memset(big, ' ', 99999);
        big[99999] = '\0';
        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/_admin/faults",
                              "application/json", big, &b),
                         413);
        assert_string_equal(jstr(b, "error"), "body_too_large");
        json_decref(b);
        free(big);
        /* Still alive and serving. */
        assert_int_equal(get(&f, "/v1/changes?limit=1", NULL), 200);
        fx_stop(&f);
}

static void test_objects_api(void **state)
{
        struct fx f;
        json_t   *b;
        char      path[128];
        (void)state;
        fx_start(&f, 30, 1500, 100000, -60000);
        size_t checked = 0, deleted = 0;
        for (size_t i = 0; i < crmsync_workload_record_cnt(f.w); i += 2) {
                const struct crm_record *r = crmsync_workload_record(f.w, i);
                snprintf(path, sizeof(path), "/v1/objects/%s/%s",
                         crmsync_entity_name(r->entity), r->id);
                assert_int_equal(get(&f, path, &b), 200);
                assert_string_equal(jstr(b, "id"), r->id);
                assert_string_equal(jstr(b, "entity"),
                                    crmsync_entity_name(r->entity));
                assert_string_equal(jstr(b, "account_id"), r->account_id);
                assert_int_equal(
                    json_integer_value(json_object_get(b, "version")),
                    r->version);
                assert_int_equal(json_is_true(json_object_get(b, "deleted")),
                                 r->deleted);
                json_t *rf = crmsync_record_fields(r);
                assert_true(json_equal(json_object_get(b, "fields"), rf));
                json_decref(rf);
                assert_true(
                    json_is_integer(json_object_get(b, "last_modified_ms")));
                deleted += r->deleted;
                checked++;
                json_decref(b);
        }
        assert_true(checked > 40);
        assert_true(deleted > 0);
        assert_int_equal(get(&f, "/v1/objects/contact/C-999999", &b), 404);
        assert_string_equal(jstr(b, "error"), "not_found");
        json_decref(b);
        assert_int_equal(get(&f, "/v1/objects/lead/L-000001", &b), 404);
        json_decref(b);
        assert_int_equal(get(&f, "/v1/objects/account/A-000001/extra", &b),
                         404);
        json_decref(b);
        fx_stop(&f);
}

/* The batch read: each id's object as the single read gives it, the ids
 * with no object listed in "missing"; more than 100 ids is a 400. */
static void test_objects_batch_read(void **state)
{
        struct fx f;
        json_t   *b, *one;
        char      path[4096], single[128];
        size_t    len, n = 0;
        (void)state;
        fx_start(&f, 30, 1500, 100000, -60000);
        len = (size_t)snprintf(path, sizeof(path), "/v1/objects/contact?ids=");
        for (size_t i = 0; i < crmsync_workload_record_cnt(f.w) && n < 5; i++) {
                const struct crm_record *r = crmsync_workload_record(f.w, i);
                if (r->entity != CRM_ENTITY_CONTACT)
                        continue;
                len += (size_t)snprintf(path + len, sizeof(path) - len, "%s,",
                                        r->id);
                n++;
        }
        snprintf(path + len, sizeof(path) - len, "C-999999");
        assert_int_equal(get(&f, path, &b), 200);
        json_t *res = json_object_get(b, "results");
        assert_int_equal(json_array_size(res), 5);
        assert_int_equal(json_array_size(json_object_get(b, "missing")), 1);
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(b, "missing"), 0)),
            "C-999999");
        for (size_t k = 0; k < 5; k++) {
                json_t *o = json_array_get(res, k);
                snprintf(single, sizeof(single), "/v1/objects/contact/%s",
                         jstr(o, "id"));
                assert_int_equal(get(&f, single, &one), 200);
                assert_true(json_equal(o, one));
                json_decref(one);
        }
        json_decref(b);
        len = (size_t)snprintf(path, sizeof(path), "/v1/objects/contact?ids=");
        for (int i = 0; i < 101; i++)
                len += (size_t)snprintf(path + len, sizeof(path) - len,
                                        "%sC-%06d", i ? "," : "", i + 1);
        assert_int_equal(get(&f, path, &b), 400);
        assert_string_equal(jstr(b, "error"), "bad_query");
        json_decref(b);
        assert_int_equal(get(&f, "/v1/objects/contact?ids=", &b), 400);
        json_decref(b);
        fx_stop(&f);
}

static void test_timestamp_polling(void **state)
{
        struct fx f;
        json_t   *b;
        char      path[256];
        (void)state;
        fx_start(&f, 40, 2000, 2000, -60000);
        size_t contacts = 0;
        for (size_t i = 0; i < crmsync_workload_record_cnt(f.w); i++)
                contacts += crmsync_workload_record(f.w, i)->entity ==
                            CRM_ENTITY_CONTACT;
        /* Keyset paging: modified_since + after from "next". */
        int64_t since     = 0;
        char    after[64] = "";
        size_t  seen      = 0;
        int64_t prev      = 0;
        json_t *ids       = json_object();
        for (int page = 0; page < 1000; page++) {
                snprintf(path, sizeof(path),
                         "/v1/objects/contact?modified_since=%lld&limit=13%s%s",
                         (long long)since, after[0] ? "&after=" : "", after);
                assert_int_equal(get(&f, path, &b), 200);
                json_t *res = json_object_get(b, "results");
                size_t  i;
                json_t *o;
                json_array_foreach(res, i, o)
                {
                        int64_t lm = json_integer_value(
                            json_object_get(o, "last_modified_ms"));
                        assert_true(lm >= prev);
                        prev = lm;
                        json_object_set_new(ids, jstr(o, "id"), json_true());
                        seen++;
                }
                json_t *next = json_object_get(b, "next");
                int     more = json_is_true(json_object_get(b, "has_more"));
                if (next) {
                        since = json_integer_value(
                            json_object_get(next, "modified_since"));
                        snprintf(after, sizeof(after), "%s",
                                 jstr(next, "after"));
                }
                json_decref(b);
                if (!more)
                        break;
        }
        assert_int_equal(seen, contacts);
        assert_int_equal(json_object_size(ids), contacts);
        json_decref(ids);
        assert_int_equal(get(&f, "/v1/objects/contact?modified_since=x", &b),
                         400);
        assert_string_equal(jstr(b, "error"), "bad_query");
        json_decref(b);
        fx_stop(&f);
}

/* More than 10,000 records with the same timestamp: the cap bites. */
static void test_polling_result_cap(void **state)
{
        struct fx f;
        json_t   *b;
        char      path[256], after[64] = "";
        int       st = 200, pages = 0;
        (void)state;
        fx_start(&f, 5100, 15300, 1e9, -60000); /* every commit at 0 ms */
        int64_t ts = crmsync_wall_ms() + 1; /* placeholder, replaced below */
        assert_int_equal(get(&f, "/v1/objects/contact?limit=1", &b), 200);
        ts = json_integer_value(
            json_object_get(json_array_get(json_object_get(b, "results"), 0),
                            "last_modified_ms"));
        assert_int_equal(json_integer_value(json_object_get(b, "total")),
                         10200);
        json_decref(b);
        size_t got = 0;
        while (pages < 20) {
                snprintf(
                    path, sizeof(path),
                    "/v1/objects/contact?modified_since=%lld&limit=1000%s%s",
                    (long long)ts, after[0] ? "&after=" : "", after);
                st = get(&f, path, &b);
                pages++;
                if (st != 200)
                        break;
                got += json_array_size(json_object_get(b, "results"));
                snprintf(after, sizeof(after), "%s",
                         jstr(json_object_get(b, "next"), "after"));
                json_decref(b);
        }
        assert_int_equal(st, 400);
        assert_string_equal(jstr(b, "error"), "result_cap");
        json_decref(b);
        assert_int_equal(got, 10000);
        assert_int_equal(pages, 11);
        fx_stop(&f);
}

static int contains_seq(json_t *arr, uint64_t seq)
{
        size_t  i;
        json_t *e;
        int     n = 0;
        json_array_foreach(arr, i, e) n +=
            (uint64_t)json_integer_value(json_object_get(e, "seq")) == seq;
        return n;
}

static void test_drop_event(void **state)
{
        struct fx       f;
        char            err[256];
        const uint64_t *seqs;
        json_t         *all = json_array();
        (void)state;
        fx_start(&f, 10, 200, 100000, 300); /* starts in 300 ms */
        json_t *p = json_pack("{si}", "count", 3);
        assert_int_equal(
            crmsync_crm_server_fault(f.s, "drop_event", p, 1, err, sizeof(err)),
            0);
        json_decref(p);
        assert_int_equal(crmsync_crm_server_dropped(f.s, &seqs), 3);
        uint64_t d[3] = {seqs[0], seqs[1], seqs[2]};
        assert_true(d[0] < d[1] && d[1] < d[2] && d[2] <= 200);
        run_past_start(&f, 500);
        assert_int_equal(crmsync_crm_server_committed(f.s), 200);
        assert_int_equal(drain(&f, NULL, 64, all, NULL, 0), 197);
        for (int i = 0; i < 3; i++)
                assert_int_equal(contains_seq(all, d[i]), 0);
        assert_int_equal(contains_seq(all, d[0] + 1), 1);
        /* The object API still reflects the committed (dropped) change. */
        /* A committed seq cannot be dropped any more. */
        p = json_pack("{si}", "seq", 1);
        assert_int_equal(
            crmsync_crm_server_fault(f.s, "drop_event", p, 1, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "committed"));
        json_decref(p);
        json_decref(all);
        fx_stop(&f);
}

static void test_duplicate_gap_late(void **state)
{
        struct fx f;
        char      err[256];
        json_t   *all = json_array();
        (void)state;
        fx_start(&f, 10, 100, 100000, 200);
        json_t *p = json_pack("{sf}", "ratio", 1.0);
        assert_int_equal(crmsync_crm_server_fault(f.s, "duplicate_delivery", p,
                                                  1, err, sizeof(err)),
                         0);
        json_decref(p);
        run_past_start(&f,
                       1500); /* commits at ~200 ms, duplicates <= 1 s later */
        assert_int_equal(drain(&f, NULL, 1000, all, NULL, 0), 200);
        assert_int_equal(contains_seq(all, 1), 2);
        assert_int_equal(contains_seq(all, 100), 2);
        json_decref(all);
        fx_stop(&f);

        /* Gaps: fields null and change_type gap. */
        all = json_array();
        fx_start(&f, 10, 100, 100000, 200);
        p = json_pack("{sf}", "ratio", 0.5);
        assert_int_equal(
            crmsync_crm_server_fault(f.s, "gap_events", p, 1, err, sizeof(err)),
            0);
        json_decref(p);
        run_past_start(&f, 400);
        assert_int_equal(drain(&f, NULL, 1000, all, NULL, 0), 100);
        size_t  gaps = 0, i;
        json_t *e;
        json_array_foreach(all, i, e)
        {
                if (strcmp(jstr(e, "change_type"), "gap"))
                        continue;
                gaps++;
                assert_true(json_is_null(json_object_get(e, "fields")));
                assert_true(strlen(jstr(e, "record_id")) > 0);
        }
        assert_true(gaps > 20 && gaps < 80);
        json_decref(all);
        fx_stop(&f);

        /* Late: invisible for delay_s, then behind newer events. */
        all = json_array();
        fx_start(&f, 10, 100, 100000, 100);
        p = json_pack("{sfsf}", "ratio", 0.3, "delay_s", 0.6);
        assert_int_equal(crmsync_crm_server_fault(f.s, "late_events", p, 1, err,
                                                  sizeof(err)),
                         0);
        json_decref(p);
        run_past_start(&f, 300);
        size_t early = drain(&f, NULL, 1000, all, NULL, 0);
        assert_true(early > 40 && early < 95);
        run_ms(&f, 600);
        json_decref(all);
        all = json_array();
        assert_int_equal(drain(&f, NULL, 1000, all, NULL, 0), 100);
        /* The late ones come last, keeping their commit time. */
        json_t *late = json_array_get(all, early);
        json_t *prev = json_array_get(all, early - 1);
        assert_true(json_integer_value(json_object_get(late, "seq")) <
                    json_integer_value(json_object_get(prev, "seq")));
        json_decref(all);
        fx_stop(&f);
}

static void test_retention_cut_and_410(void **state)
{
        struct fx f;
        json_t   *b;
        char      err[256], cur[128], path[256];
        (void)state;
        fx_start(&f, 10, 100, 100000, -60000);
        assert_int_equal(get(&f, "/v1/changes?limit=10", &b), 200);
        snprintf(cur, sizeof(cur), "%s", jstr(b, "next_cursor"));
        json_decref(b);
        json_t *p = json_pack("{si}", "keep_s", 0);
        assert_int_equal(crmsync_crm_server_fault(f.s, "retention_cut", p, 1,
                                                  err, sizeof(err)),
                         0);
        json_decref(p);
        snprintf(path, sizeof(path), "/v1/changes?cursor=%s", cur);
        assert_int_equal(get(&f, path, &b), 410);
        assert_string_equal(jstr(b, "error"), "cursor_expired");
        const char *oldest = jstr(b, "oldest_cursor");
        assert_true(strlen(oldest) > 3);
        snprintf(path, sizeof(path), "/v1/changes?cursor=%s", oldest);
        json_decref(b);
        assert_int_equal(get(&f, path, &b), 200);
        assert_int_equal(json_array_size(json_object_get(b, "events")), 0);
        json_decref(b);
        fx_stop(&f);

        /* retention_ms: entries expire by age. */
        fx_cfg.retention_ms = 1000;
        fx_start(&f, 10, 100, 100000, -300);
        assert_int_equal(get(&f, "/v1/changes?limit=10", &b), 200);
        assert_int_equal(json_array_size(json_object_get(b, "events")), 10);
        snprintf(cur, sizeof(cur), "%s", jstr(b, "next_cursor"));
        json_decref(b);
        run_ms(&f, 900);
        snprintf(path, sizeof(path), "/v1/changes?cursor=%s", cur);
        assert_int_equal(get(&f, path, &b), 410);
        assert_string_equal(jstr(b, "error"), "cursor_expired");
        json_decref(b);
        /* Without a cursor: the oldest retained (nothing left). */
        assert_int_equal(get(&f, "/v1/changes", &b), 200);
        assert_int_equal(json_array_size(json_object_get(b, "events")), 0);
        json_decref(b);
        fx_stop(&f);
}

static void test_slow_and_5xx_and_admin(void **state)
{
        struct fx f;
        json_t   *b;
        (void)state;
        fx_start(&f, 5, 100, 100000, -60000);
        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/_admin/faults",
                              "application/json",
                              "{\"type\":\"slow_responses\",\"on\":true,"
                              "\"params\":{\"delay_ms\":300}}",
                              NULL),
                         200);
        int64_t t0 = crmsync_mono_ms();
        assert_int_equal(get(&f, "/v1/changes?limit=5", NULL), 200);
        assert_true(crmsync_mono_ms() - t0 >= 290);
        assert_int_equal(
            http(&f, EVHTTP_REQ_POST, "/_admin/faults", "application/json",
                 "{\"type\":\"slow_responses\",\"on\":false}", NULL),
            200);
        t0 = crmsync_mono_ms();
        assert_int_equal(get(&f, "/v1/changes?limit=5", NULL), 200);
        assert_true(crmsync_mono_ms() - t0 < 250);

        /* A client that gives up while its answer is delayed. */
        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/_admin/faults",
                              "application/json",
                              "{\"type\":\"slow_responses\",\"on\":true,"
                              "\"params\":{\"delay_ms\":1500}}",
                              NULL),
                         200);
        {
                struct resp               r    = {0};
                struct evhttp_connection *conn = evhttp_connection_base_new(
                    f.base, NULL, "127.0.0.1", (ev_uint16_t)f.port);
                struct evhttp_request *req = evhttp_request_new(on_resp, &r);
                evhttp_connection_set_timeout(conn, 1);
                evhttp_connection_set_retries(conn, 0);
                evhttp_make_request(conn, req, EVHTTP_REQ_GET, "/v1/changes");
                int64_t end = crmsync_mono_ms() + 5000;
                while (!r.done && crmsync_mono_ms() < end)
                        event_base_loop(f.base, EVLOOP_ONCE);
                assert_true(r.done);
                assert_true(r.status <= 0);
                evhttp_connection_free(conn);
                run_ms(&f, 800); /* the delayed answer's timer fires */
        }
        assert_int_equal(
            http(&f, EVHTTP_REQ_POST, "/_admin/faults", "application/json",
                 "{\"type\":\"slow_responses\",\"on\":false}", NULL),
            200);
        assert_int_equal(get(&f, "/v1/changes?limit=5", NULL), 200);

        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/_admin/faults",
                              "application/json",
                              "{\"type\":\"crm_5xx_burst\",\"on\":true,"
                              "\"params\":{\"ratio\":1}}",
                              NULL),
                         200);
        int st = get(&f, "/v1/changes", &b);
        assert_true(st == 500 || st == 503);
        assert_true(json_is_string(json_object_get(b, "error")));
        json_decref(b);
        assert_int_equal(
            http(&f, EVHTTP_REQ_POST, "/_admin/faults", "application/json",
                 "{\"type\":\"crm_5xx_burst\",\"on\":false}", NULL),
            200);
        assert_int_equal(get(&f, "/v1/changes", NULL), 200);
        fx_stop(&f);
}

struct seen {
        size_t feed, webhook, objects, hook_events, hook_posts;
        int    signed_ok;
};

static void count_served(void *opaque, const struct crm_event *ev,
                         const char *via, int64_t wall_ms)
{
        struct seen *c = opaque;
        assert_non_null(ev);
        assert_true(wall_ms > 0);
        if (!strcmp(via, "feed"))
                c->feed++;
        else if (!strcmp(via, "webhook"))
                c->webhook++;
        else if (!strcmp(via, "objects"))
                c->objects++;
}

static void on_hook(struct evhttp_request *req, void *arg)
{
        struct seen     *c = arg;
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        size_t           n = evbuffer_get_length(b);
        char            *t = malloc(n + 1);
        evbuffer_copyout(b, t, n);
        t[n]      = '\0';
        json_t *j = json_loads(t, 0, NULL);
        if (json_is_array(j))
                c->hook_events += json_array_size(j);
        c->hook_posts++;
        if (evhttp_find_header(evhttp_request_get_input_headers(req),
                               "X-Crmsync-Signature-v3"))
                c->signed_ok++;
        json_decref(j);
        free(t);
        evhttp_send_reply(req, 200, "OK", NULL);
}

static void test_observer_and_webhooks(void **state)
{
        struct fx   f;
        struct seen c = {0};
        char        body[256];
        json_t     *b;
        (void)state;
        fx_start(&f, 10, 100, 100000, 300);
        crmsync_crm_server_set_observer(f.s, count_served, &c);
        struct evhttp *rx = evhttp_new(f.base);
        evhttp_set_gencb(rx, on_hook, &c);
        struct evhttp_bound_socket *bs =
            evhttp_bind_socket_with_handle(rx, "127.0.0.1", 0);
        assert_non_null(bs);
        struct sockaddr_in sin;
        socklen_t          sl = sizeof(sin);
        getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
                    &sl);
        snprintf(body, sizeof(body),
                 "{\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"s3\","
                 "\"batch_size\":10}",
                 ntohs(sin.sin_port));
        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/v1/subscriptions",
                              "application/json", body, &b),
                         201);
        assert_true(json_integer_value(json_object_get(b, "id")) >= 1);
        json_decref(b);
        assert_int_equal(http(&f, EVHTTP_REQ_POST, "/v1/subscriptions",
                              "application/json", "{\"url\":5}", &b),
                         400);
        assert_string_equal(jstr(b, "error"), "bad_subscription");
        json_decref(b);
        /* The receiver may count a batch before the CRM has read its
         * 2xx and reported the delivery: wait for both sides. */
        for (int i = 0; i < 50 && (c.hook_events < 100 || c.webhook < 100); i++)
                run_ms(&f, 100);
        assert_int_equal(c.hook_events, 100);
        assert_int_equal(c.webhook, 100);
        assert_true(c.hook_posts >= 10);
        assert_int_equal(c.signed_ok, c.hook_posts);
        assert_int_equal(drain(&f, NULL, 30, NULL, NULL, 0), 100);
        assert_int_equal(c.feed, 100);
        assert_int_equal(get(&f, "/v1/objects/account/A-000001", NULL), 200);
        assert_int_equal(c.objects, 1);
        assert_int_equal(get(&f, "/metrics", NULL), 200);
        /* DELETE /v1/subscriptions/{id} removes it, once. */
        assert_int_equal(
            http(&f, EVHTTP_REQ_DELETE, "/v1/subscriptions/1", NULL, NULL, &b),
            200);
        assert_true(json_is_true(json_object_get(b, "deleted")));
        json_decref(b);
        assert_int_equal(
            http(&f, EVHTTP_REQ_DELETE, "/v1/subscriptions/1", NULL, NULL, &b),
            404);
        assert_string_equal(jstr(b, "error"), "subscription_not_found");
        json_decref(b);
        assert_int_equal(
            http(&f, EVHTTP_REQ_DELETE, "/v1/subscriptions/x1", NULL, NULL, &b),
            400);
        assert_string_equal(jstr(b, "error"), "bad_subscription");
        json_decref(b);
        assert_int_equal(
            http(&f, EVHTTP_REQ_GET, "/v1/subscriptions/1", NULL, NULL, &b),
            405);
        json_decref(b);
        /* The receiver lives on f.base: free it before fx_stop frees the
         * base (evhttp_free deletes its events from the base). */
        evhttp_free(rx);
        fx_stop(&f);
}

static void test_rate_limit_429(void **state)
{
        struct fx f;
        json_t   *b;
        int       limited = 0;
        (void)state;
        fx_cfg.rate_limit_per_s = 0.5;
        fx_cfg.rate_burst       = 2;
        fx_start(&f, 5, 100, 100000, -60000);
        for (int i = 0; i < 4; i++) {
                int st = get(&f, "/v1/changes?limit=1", &b);
                if (st == 429) {
                        limited++;
                        assert_true(
                            json_is_string(json_object_get(b, "error")) ||
                            json_is_string(json_object_get(b, "errorType")));
                } else {
                        assert_int_equal(st, 200);
                }
                json_decref(b);
        }
        assert_int_equal(limited, 2);
        /* Admin and metrics are never throttled. */
        assert_int_equal(get(&f, "/metrics", NULL), 200);
        fx_stop(&f);
}

static void test_schema_drift(void **state)
{
        struct fx f;
        char      err[256];
        json_t   *all = json_array();
        (void)state;
        fx_start(&f, 10, 100, 100000, 200);
        json_t *p =
            json_pack("{sssf}", "kind", "missing_required", "ratio", 1.0);
        assert_int_equal(crmsync_crm_server_fault(f.s, "schema_drift", p, 1,
                                                  err, sizeof(err)),
                         0);
        json_decref(p);
        p = json_pack("{ss}", "kind", "bogus");
        assert_int_equal(crmsync_crm_server_fault(f.s, "schema_drift", p, 1,
                                                  err, sizeof(err)),
                         -1);
        json_decref(p);
        run_past_start(&f, 400);
        assert_int_equal(drain(&f, NULL, 1000, all, NULL, 0), 100);
        size_t  i;
        json_t *e;
        json_array_foreach(all, i, e)
        {
                assert_null(json_object_get(e, "record_id"));
                assert_non_null(json_object_get(e, "event_id"));
        }
        json_decref(all);
        fx_stop(&f);
}

/* A type check written from the tables of docs/wire-contracts.md ("CRM
 * event" and "Fields of each entity"), as an outside pipeline would write
 * it. 0 = the event conforms; -1 and why otherwise. */
struct wire_field {
        const char *name;
        int         type; /* a json_type */
        int         required;
};

static const struct wire_field envelope_fields[] = {
    {"event_id", JSON_STRING, 1},
    {"seq", JSON_INTEGER, 1},
    {"entity", JSON_STRING, 1},
    {"record_id", JSON_STRING, 1},
    {"account_id", JSON_STRING, 1},
    {"change_type", JSON_STRING, 1},
    {"version", JSON_INTEGER, 1},
    {"commit_ts_ms", JSON_INTEGER, 1},
    {"transaction_key", JSON_STRING, 1},
    {"sequence_number", JSON_INTEGER, 1},
    {"fields", JSON_OBJECT, 1}, /* null for a gap */
    {"merged_ids", JSON_ARRAY, 0},
    {"merged_into", JSON_STRING, 0},
    {"previous_account_id", JSON_STRING, 0},
    {NULL, 0, 0},
};

static const struct {
        const char             *entity;
        const struct wire_field f[8];
} entity_fields[] = {
    {"account",
     {{"name", JSON_STRING, 0},
      {"industry", JSON_STRING, 0},
      {"tier", JSON_STRING, 0},
      {"owner", JSON_STRING, 0},
      {"annual_revenue", JSON_INTEGER, 0},
      {NULL, 0, 0}}},
    {"contact",
     {{"email", JSON_STRING, 0},
      {"first_name", JSON_STRING, 0},
      {"last_name", JSON_STRING, 0},
      {"title", JSON_STRING, 0},
      {"consent_email", JSON_TRUE, 0}, /* boolean */
      {"consent_sms", JSON_TRUE, 0},
      {NULL, 0, 0}}},
    {"opportunity",
     {{"name", JSON_STRING, 0},
      {"stage", JSON_STRING, 0},
      {"amount", JSON_INTEGER, 0},
      {NULL, 0, 0}}},
    {"entitlement",
     {{"sku", JSON_STRING, 0},
      {"seats", JSON_INTEGER, 0},
      {"ends_on", JSON_STRING, 0},
      {NULL, 0, 0}}},
};

static int type_is(const json_t *v, int type)
{
        if (type == JSON_TRUE)
                return json_is_boolean(v);
        return json_typeof(v) == (json_type)type;
}

static const struct wire_field *field_find(const struct wire_field *t,
                                           const char              *name)
{
        for (; t->name; t++)
                if (!strcmp(t->name, name))
                        return t;
        return NULL;
}

static int wire_type_check(const json_t *ev, char *why, size_t why_size)
{
        const struct wire_field *t, *ft = NULL;
        const char              *k, *ent;
        json_t                  *v, *fields;

        for (t = envelope_fields; t->name; t++) {
                v = json_object_get(ev, t->name);
                if (!v && t->required) {
                        snprintf(why, why_size, "%s missing", t->name);
                        return -1;
                }
                if (v && !type_is(v, t->type) &&
                    !(!strcmp(t->name, "fields") && json_is_null(v))) {
                        snprintf(why, why_size, "%s has the wrong type",
                                 t->name);
                        return -1;
                }
        }
        json_object_foreach((json_t *)ev, k,
                            v) if (!field_find(envelope_fields, k))
        {
                snprintf(why, why_size, "unknown envelope field %s", k);
                return -1;
        }
        ent = json_string_value(json_object_get(ev, "entity"));
        for (size_t i = 0; i < 4; i++)
                if (!strcmp(entity_fields[i].entity, ent))
                        ft = entity_fields[i].f;
        if (!ft) {
                snprintf(why, why_size, "unknown entity %s", ent);
                return -1;
        }
        fields = json_object_get(ev, "fields");
        json_object_foreach(fields, k, v)
        {
                t = field_find(ft, k);
                if (!t) {
                        snprintf(why, why_size, "unknown field %s.%s", ent, k);
                        return -1;
                }
                if (!type_is(v, t->type)) {
                        snprintf(why, why_size, "%s.%s has the wrong type", ent,
                                 k);
                        return -1;
                }
        }
        return 0;
}

/* Every drift kind of the schema_drift fault breaks the documented types
 * of every event it alters; the undrifted feed (every entity, every change
 * type, merges) conforms. */
static void test_schema_drift_breaks_documented_types(void **state)
{
        static const char *const kinds[] = {NULL, "new_field", "changed_type",
                                            "missing_required"};
        char                     why[256], err[256];
        (void)state;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                struct fx f;
                json_t   *all = json_array(), *e;
                size_t    i, bad = 0, ents[4] = {0};
                fx_children = 1;
                fx_start(&f, 20, 600, 100000, 200);
                if (kinds[k]) {
                        json_t *p =
                            json_pack("{sssf}", "kind", kinds[k], "ratio", 1.0);
                        assert_int_equal(
                            crmsync_crm_server_fault(f.s, "schema_drift", p, 1,
                                                     err, sizeof(err)),
                            0);
                        json_decref(p);
                }
                run_past_start(&f, 400);
                assert_int_equal(drain(&f, NULL, 1000, all, NULL, 0), 600);
                json_array_foreach(all, i, e)
                {
                        int rc  = wire_type_check(e, why, sizeof(why));
                        int ent = crmsync_entity_parse(jstr(e, "entity"));
                        if (ent >= 0)
                                ents[ent]++;
                        if (!kinds[k] && rc)
                                fail_msg("undrifted %s fails: %s",
                                         jstr(e, "event_id"), why);
                        bad += rc != 0;
                }
                if (kinds[k] && bad != json_array_size(all))
                        fail_msg("%s: %zu of %zu drifted events pass the "
                                 "type check",
                                 kinds[k], json_array_size(all) - bad,
                                 json_array_size(all));
                for (int n = 0; n < 4; n++)
                        assert_true(ents[n] > 0);
                json_decref(all);
                fx_stop(&f);
        }
}

int main(void)
{
        const char *slack               = getenv("CRMSYNC_TEST_SLACK_MS");
        fx_slack_ms                     = slack ? atoi(slack) : 0;
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_paging_covers_all_once),
            cmocka_unit_test(test_future_events_not_served),
            cmocka_unit_test(test_bad_requests),
            cmocka_unit_test(test_objects_api),
            cmocka_unit_test(test_objects_batch_read),
            cmocka_unit_test(test_timestamp_polling),
            cmocka_unit_test(test_polling_result_cap),
            cmocka_unit_test(test_drop_event),
            cmocka_unit_test(test_duplicate_gap_late),
            cmocka_unit_test(test_retention_cut_and_410),
            cmocka_unit_test(test_slow_and_5xx_and_admin),
            cmocka_unit_test(test_observer_and_webhooks),
            cmocka_unit_test(test_rate_limit_429),
            cmocka_unit_test(test_schema_drift),
            cmocka_unit_test(test_schema_drift_breaks_documented_types),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
