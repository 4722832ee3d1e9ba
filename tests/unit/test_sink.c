/* test_sink.c -- the fake sink over real HTTP: conditional writes, body
 * formats and errors, fault modes, side effects and inspection API.
 * The sink's event_base runs on the test thread; each HTTP call is made by
 * libcurl on a short-lived helper thread while the test thread spins the
 * loop, so the sink's state is only ever touched from one thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/sink.h"

struct fx {
        struct event_base *base;
        sink_server_t     *sink;
        struct event      *tick;
        char               url[64];
};

struct call {
        const char *method;
        char        url[256];
        const char *ctype;
        const char *body;
        size_t      body_len;
        long        timeout_ms;
        /* results */
        CURLcode rc;
        long     status;
        char    *resp;
        size_t   resp_len;
        char     retry_after[32];
        int64_t  elapsed_ms;
        int      done; /* atomic */
};

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
}

static void fx_start(struct fx *fx, const struct sink_config *cfg)
{
        char err[256];
        memset(fx, 0, sizeof(*fx));
        fx->base = event_base_new();
        assert_non_null(fx->base);
        fx->sink = crmsync_sink_server_new(fx->base, cfg, err, sizeof(err));
        if (!fx->sink)
                fail_msg("sink: %s", err);
        /* A persistent tick bounds every EVLOOP_ONCE iteration. */
        struct timeval tv = {0, 2000};
        fx->tick          = event_new(fx->base, -1, EV_PERSIST, tick_cb, NULL);
        event_add(fx->tick, &tv);
        snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%d",
                 crmsync_sink_server_port(fx->sink));
}

static void fx_stop(struct fx *fx)
{
        event_free(fx->tick);
        crmsync_sink_server_destroy(fx->sink);
        event_base_free(fx->base);
}

/* Run the loop for at most max_ms, or until *flag becomes set. */
static void spin(struct fx *fx, int *flag, int64_t max_ms)
{
        int64_t end = crmsync_mono_ms() + max_ms;
        while (crmsync_mono_ms() < end) {
                if (flag && __atomic_load_n(flag, __ATOMIC_ACQUIRE))
                        return;
                event_base_loop(fx->base, EVLOOP_ONCE);
        }
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
        struct call *c  = arg;
        char        *np = realloc(c->resp, c->resp_len + sz * n + 1);
        if (!np)
                return 0;
        memcpy(np + c->resp_len, p, sz * n);
        c->resp_len += sz * n;
        np[c->resp_len] = '\0';
        c->resp         = np;
        return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
        struct call *c = arg;
        if (sz * n > 13 && !strncasecmp(p, "Retry-After:", 12))
                sscanf(p + 12, " %31[^\r\n]", c->retry_after);
        return sz * n;
}

static void *call_thread(void *arg)
{
        struct call       *c    = arg;
        CURL              *h    = curl_easy_init();
        struct curl_slist *hdrs = NULL;
        char               ct[128];
        int64_t            t0 = crmsync_mono_ms();
        curl_easy_setopt(h, CURLOPT_URL, c->url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                         c->timeout_ms ? c->timeout_ms : 5000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
        if (c->body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
                curl_easy_setopt(
                    h, CURLOPT_POSTFIELDSIZE,
                    (long)(c->body_len ? c->body_len : strlen(c->body)));
                snprintf(ct, sizeof(ct), "Content-Type: %s",
                         c->ctype ? c->ctype : "application/json");
                hdrs = curl_slist_append(hdrs, ct);
                hdrs = curl_slist_append(hdrs, "Expect:");
                curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        }
        c->rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
        c->elapsed_ms = crmsync_mono_ms() - t0;
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
        return NULL;
}

/* Start a call on a helper thread; finish with call_wait. */
static void call_start(struct fx *fx, struct call *c, pthread_t *t,
                       const char *path)
{
        snprintf(c->url, sizeof(c->url), "%s%s", fx->url, path);
        assert_int_equal(pthread_create(t, NULL, call_thread, c), 0);
}

static void call_wait(struct fx *fx, struct call *c, pthread_t t)
{
        spin(fx, &c->done, 10000);
        assert_true(__atomic_load_n(&c->done, __ATOMIC_ACQUIRE));
        pthread_join(t, NULL);
}

static void call_free(struct call *c)
{
        free(c->resp);
        c->resp = NULL;
}

/* POST body (ctype NULL = application/json) or GET (body NULL); returns
 * the parsed JSON response (new ref) or NULL; *status gets the code. */
static json_t *http(struct fx *fx, const char *path, const char *ctype,
                    const char *body, long *status)
{
        struct call c = {.ctype = ctype, .body = body};
        pthread_t   t;
        call_start(fx, &c, &t, path);
        call_wait(fx, &c, t);
        assert_int_equal(c.rc, CURLE_OK);
        if (status)
                *status = c.status;
        json_t *j = c.resp ? json_loads(c.resp, 0, NULL) : NULL;
        call_free(&c);
        return j;
}

static long op_status(json_t *resp, size_t i)
{
        return (long)json_integer_value(json_object_get(
            json_array_get(json_object_get(resp, "results"), i), "status"));
}

struct find {
        const char               *key;
        const struct sink_record *rec;
        json_t                   *fields; /* copy */
        uint32_t                  version;
        int                       deleted;
        size_t                    n;
};

static void find_cb(void *opaque, const struct sink_record *r)
{
        struct find *f = opaque;
        f->n++;
        if (f->key && !strcmp(f->key, r->key)) {
                f->rec     = r;
                f->version = r->version;
                f->deleted = r->deleted;
                f->fields  = json_deep_copy(r->fields);
        }
}

static struct find find_record(struct fx *fx, const char *key)
{
        struct find f = {.key = key};
        crmsync_sink_foreach(fx->sink, find_cb, &f);
        return f;
}

static const char *upsert_fmt =
    "{\"op\":\"upsert\",\"type\":\"contact\",\"id\":\"%s\","
    "\"account_id\":\"%s\",\"version\":%u,\"event_id\":\"%s\","
    "\"fields\":%s,\"merge_fields\":%s,\"if_newer\":true}";

static json_t *upsert(struct fx *fx, const char *id, const char *acc,
                      unsigned version, const char *eid, const char *fields,
                      int merge, long *status)
{
        char body[1024];
        snprintf(body, sizeof(body), upsert_fmt, id, acc, version, eid, fields,
                 merge ? "true" : "false");
        return http(fx, "/v1/profiles/_bulk", "application/x-ndjson", body,
                    status);
}

static void test_stale_upsert_is_409_and_no_change(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        (void)state;
        fx_start(&fx, &cfg);
        json_t *r = upsert(&fx, "C-1", "A-1", 2, "e-1", "{\"a\":1}", 0, &st);
        assert_int_equal(st, 200);
        assert_int_equal(op_status(r, 0), 200);
        assert_true(json_is_false(json_object_get(r, "errors")));
        json_decref(r);
        r = upsert(&fx, "C-1", "A-1", 2, "e-2", "{\"a\":2}", 0, &st);
        assert_int_equal(op_status(r, 0), 409);
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(r, "results"), 0), "result")),
            "stale");
        json_decref(r);
        r = upsert(&fx, "C-1", "A-1", 1, "e-3", "{\"a\":3}", 0, &st);
        assert_int_equal(op_status(r, 0), 409);
        json_decref(r);
        struct find f = find_record(&fx, "contact/C-1");
        assert_non_null(f.rec);
        assert_int_equal(f.version, 2);
        assert_int_equal(json_integer_value(json_object_get(f.fields, "a")), 1);
        json_decref(f.fields);
        fx_stop(&fx);
}

static void test_blind_writes_overwrite(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {.blind_writes = 1};
        long               st;
        (void)state;
        fx_start(&fx, &cfg);
        json_decref(upsert(&fx, "C-1", "A-1", 5, "e-1", "{\"a\":1}", 0, &st));
        json_t *r = upsert(&fx, "C-1", "A-1", 3, "e-2", "{\"a\":2}", 0, &st);
        assert_int_equal(op_status(r, 0), 200);
        json_decref(r);
        struct find f = find_record(&fx, "contact/C-1");
        assert_int_equal(f.version, 3);
        assert_int_equal(json_integer_value(json_object_get(f.fields, "a")), 2);
        json_decref(f.fields);
        fx_stop(&fx);
}

static void test_tombstone_blocks_older_upsert(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        (void)state;
        fx_start(&fx, &cfg);
        /* Delete arrives first (no record yet): a tombstone is created. */
        json_t *r = http(&fx, "/v1/profiles/_bulk", "application/json",
                         "[{\"op\":\"delete\",\"type\":\"contact\",\"id\":"
                         "\"C-9\",\"version\":3,\"event_id\":\"e-3\","
                         "\"if_newer\":true}]",
                         &st);
        assert_int_equal(op_status(r, 0), 200);
        json_decref(r);
        r = upsert(&fx, "C-9", "A-1", 2, "e-2", "{\"a\":1}", 0, &st);
        assert_int_equal(op_status(r, 0), 409);
        json_decref(r);
        struct find f = find_record(&fx, "contact/C-9");
        assert_non_null(f.rec);
        assert_true(f.deleted);
        assert_int_equal(f.version, 3);
        json_decref(f.fields);
        /* A newer upsert (undelete) resurrects it. */
        r = upsert(&fx, "C-9", "A-1", 4, "e-4", "{\"a\":4}", 0, &st);
        assert_int_equal(op_status(r, 0), 200);
        json_decref(r);
        f = find_record(&fx, "contact/C-9");
        assert_false(f.deleted);
        json_decref(f.fields);
        fx_stop(&fx);
}

static void test_merge_fields(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        (void)state;
        fx_start(&fx, &cfg);
        json_decref(
            upsert(&fx, "C-1", "A-1", 1, "e-1", "{\"a\":1,\"b\":2}", 0, &st));
        json_decref(
            upsert(&fx, "C-1", "A-2", 2, "e-2", "{\"b\":3,\"c\":4}", 1, &st));
        struct find f    = find_record(&fx, "contact/C-1");
        json_t     *want = json_pack("{s:i,s:i,s:i}", "a", 1, "b", 3, "c", 4);
        assert_true(json_equal(f.fields, want));
        json_decref(want);
        json_decref(f.fields);
        /* Profile GET follows the account move. */
        json_t *p = http(&fx, "/v1/profiles/A-2", NULL, NULL, &st);
        assert_int_equal(st, 200);
        assert_non_null(
            json_object_get(json_object_get(p, "records"), "contact/C-1"));
        json_decref(p);
        p = http(&fx, "/v1/profiles/A-1", NULL, NULL, &st);
        assert_int_equal(json_object_size(json_object_get(p, "records")), 0);
        json_decref(p);
        /* Replace (merge_fields=false) drops the old fields. */
        json_decref(upsert(&fx, "C-1", "A-2", 3, "e-3", "{\"d\":5}", 0, &st));
        f    = find_record(&fx, "contact/C-1");
        want = json_pack("{s:i}", "d", 5);
        assert_true(json_equal(f.fields, want));
        json_decref(want);
        json_decref(f.fields);
        fx_stop(&fx);
}

static void test_if_version_precondition(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        const char        *v3 = "{\"op\":\"upsert\",\"type\":\"contact\","
                                "\"id\":\"C-1\",\"account_id\":\"A-1\","
                                "\"version\":3,\"event_id\":\"e-3\","
                                "\"fields\":{\"b\":3},\"merge_fields\":true,"
                                "\"if_newer\":true,\"if_version\":2}";
        (void)state;
        fx_start(&fx, &cfg);
        /* No record yet: v3 needs v2 under it. */
        json_t *r = http(&fx, "/v1/profiles/_bulk", NULL, v3, &st);
        assert_int_equal(op_status(r, 0), 409);
        json_t *r0 = json_array_get(json_object_get(r, "results"), 0);
        assert_string_equal(json_string_value(json_object_get(r0, "result")),
                            "gap");
        assert_int_equal(
            json_integer_value(json_object_get(r0, "stored_version")), 0);
        json_decref(r);
        assert_int_equal(find_record(&fx, NULL).n, 0);
        const struct sink_apply *ap;
        assert_int_equal(crmsync_sink_applies(fx.sink, &ap), 0);
        json_decref(upsert(&fx, "C-1", "A-1", 2, "e-2", "{\"a\":2}", 0, &st));
        r = http(&fx, "/v1/profiles/_bulk", NULL, v3, &st);
        assert_int_equal(op_status(r, 0), 200);
        json_decref(r);
        assert_int_equal(crmsync_sink_applies(fx.sink, &ap), 2);
        assert_false(ap[1].full); /* a merge */
        struct find f    = find_record(&fx, "contact/C-1");
        json_t     *want = json_pack("{s:i,s:i}", "a", 2, "b", 3);
        assert_true(json_equal(f.fields, want));
        json_decref(want);
        json_decref(f.fields);
        /* Replayed: stale wins over the precondition. */
        r  = http(&fx, "/v1/profiles/_bulk", NULL, v3, &st);
        r0 = json_array_get(json_object_get(r, "results"), 0);
        assert_string_equal(json_string_value(json_object_get(r0, "result")),
                            "stale");
        json_decref(r);
        fx_stop(&fx);
}

static void test_ndjson_and_array_parse(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        char               a[512], b[512], body[2048];
        (void)state;
        fx_start(&fx, &cfg);
        snprintf(a, sizeof(a), upsert_fmt, "C-1", "A-1", 1, "e-1", "{}",
                 "false");
        snprintf(b, sizeof(b), upsert_fmt, "C-2", "A-1", 1, "e-2", "{}",
                 "false");
        snprintf(body, sizeof(body), "[%s,\n %s]", a, b);
        json_t *r = http(&fx, "/v1/profiles/_bulk",
                         "application/json; charset=utf-8", body, &st);
        assert_int_equal(st, 200);
        assert_int_equal(json_array_size(json_object_get(r, "results")), 2);
        json_decref(r);
        snprintf(a, sizeof(a), upsert_fmt, "C-3", "A-1", 1, "e-3", "{}",
                 "false");
        snprintf(b, sizeof(b), upsert_fmt, "C-4", "A-1", 1, "e-4", "{}",
                 "false");
        snprintf(body, sizeof(body), "%s\n\n%s\n", a, b);
        r = http(&fx, "/v1/profiles/_bulk", "application/x-ndjson", body, &st);
        assert_int_equal(st, 200);
        assert_int_equal(json_array_size(json_object_get(r, "results")), 2);
        assert_int_equal(op_status(r, 1), 200);
        json_decref(r);
        assert_int_equal(find_record(&fx, NULL).n, 4);
        fx_stop(&fx);
}

/* The documented limits (docs/sink-api.md): event_id and account_id
 * shorter than 48 bytes, type/id shorter than 64; one byte more is a
 * bad_op naming the member, not a cut-off value. */
static void test_member_length_limits(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        char               e47[48], e48[49], id[64], id_long[65];
        (void)state;
        memset(e47, 'e', 47);
        e47[47] = '\0';
        memset(e48, 'e', 48);
        e48[48] = '\0';
        /* "contact/" is 8 bytes: ids of 55 and 56 make keys of 63, 64 */
        memset(id, 'C', 55);
        id[55] = '\0';
        memset(id_long, 'C', 56);
        id_long[56] = '\0';
        fx_start(&fx, &cfg);
        json_t *r = upsert(&fx, "C-1", e47, 1, e47, "{}", 0, &st);
        assert_int_equal(op_status(r, 0), 200);
        json_decref(r);
        r = upsert(&fx, "C-2", "A-1", 1, e48, "{}", 0, &st);
        assert_int_equal(op_status(r, 0), 400);
        assert_non_null(strstr(
            json_string_value(json_object_get(
                json_array_get(json_object_get(r, "results"), 0), "message")),
            "event_id"));
        json_decref(r);
        r = upsert(&fx, "C-3", e48, 1, "e-3", "{}", 0, &st);
        assert_int_equal(op_status(r, 0), 400);
        json_decref(r);
        r = upsert(&fx, id, "A-1", 1, "e-4", "{}", 0, &st);
        assert_int_equal(op_status(r, 0), 200);
        json_decref(r);
        r = upsert(&fx, id_long, "A-1", 1, "e-5", "{}", 0, &st);
        assert_int_equal(op_status(r, 0), 400);
        json_decref(r);
        assert_int_equal(find_record(&fx, NULL).n, 2);
        fx_stop(&fx);
}

static void test_bad_json_bad_op_and_content_type(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        char               a[512], body[2048];
        (void)state;
        fx_start(&fx, &cfg);
        json_t *r = http(&fx, "/v1/profiles/_bulk", "application/json",
                         "[{\"op\":", &st);
        assert_int_equal(st, 400);
        assert_string_equal(json_string_value(json_object_get(r, "error")),
                            "bad_json");
        json_decref(r);
        r = http(&fx, "/v1/profiles/_bulk", "text/plain", "[]", &st);
        assert_int_equal(st, 415);
        assert_non_null(json_object_get(r, "error"));
        json_decref(r);
        /* One malformed op does not fail the batch. */
        snprintf(a, sizeof(a), upsert_fmt, "C-1", "A-1", 1, "e-1", "{}",
                 "false");
        snprintf(body, sizeof(body),
                 "[%s,{\"op\":\"upsert\",\"type\":\"contact\",\"id\":\"C-2\","
                 "\"version\":\"x\",\"event_id\":\"e-2\",\"account_id\":"
                 "\"A-1\"},7]",
                 a);
        r = http(&fx, "/v1/profiles/_bulk", NULL, body, &st);
        assert_int_equal(st, 200);
        assert_true(json_is_true(json_object_get(r, "errors")));
        assert_int_equal(op_status(r, 0), 200);
        assert_int_equal(op_status(r, 1), 400);
        assert_int_equal(op_status(r, 2), 400);
        json_t *r1 = json_array_get(json_object_get(r, "results"), 1);
        assert_string_equal(json_string_value(json_object_get(r1, "result")),
                            "bad_op");
        assert_non_null(json_string_value(json_object_get(r1, "message")));
        json_decref(r);
        assert_int_equal(find_record(&fx, NULL).n, 1);
        fx_stop(&fx);
}

static void test_too_large_is_413(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {.max_body_bytes = 1024};
        long               st;
        char               body[1500];
        (void)state;
        fx_start(&fx, &cfg);
        memset(body, ' ', sizeof(body) - 3);
        body[0]                = '[';
        body[sizeof(body) - 3] = ']';
        body[sizeof(body) - 2] = '\n';
        body[sizeof(body) - 1] = '\0';
        json_t *r = http(&fx, "/v1/profiles/_bulk", NULL, body, &st);
        assert_int_equal(st, 413);
        assert_string_equal(json_string_value(json_object_get(r, "error")),
                            "body_too_large");
        json_decref(r);
        /* The side effects' bulk endpoint reads its body the same way. */
        r = http(&fx, "/v1/side-effects/_bulk", "application/x-ndjson", body,
                 &st);
        assert_int_equal(st, 413);
        assert_string_equal(json_string_value(json_object_get(r, "message")),
                            "body of 1499 bytes exceeds 1024");
        json_decref(r);
        fx_stop(&fx);
}

static void test_partial_failure_ratio(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        size_t             cap = 1000 * 300, len = 0;
        char              *body = malloc(cap);
        (void)state;
        fx_start(&fx, &cfg);
        crmsync_sink_set_partial_failure(fx.sink, 0.3);
        for (int i = 0; i < 1000; i++) {
                char id[16], eid[16];
                snprintf(id, sizeof(id), "C-%06d", i);
                snprintf(eid, sizeof(eid), "e-%08d", i);
                len += (size_t)snprintf(body + len, cap - len, upsert_fmt, id,
                                        "A-1", 1u, eid, "{}", "false");
                body[len++] = '\n';
        }
        body[len] = '\0';
        json_t *r =
            http(&fx, "/v1/profiles/_bulk", "application/x-ndjson", body, &st);
        assert_int_equal(st, 200);
        int failed = 0;
        for (int i = 0; i < 1000; i++) {
                char key[32];
                snprintf(key, sizeof(key), "contact/C-%06d", i);
                struct find f = find_record(&fx, key);
                json_decref(f.fields);
                if (op_status(r, (size_t)i) == 500) {
                        failed++;
                        assert_null(f.rec);
                } else {
                        assert_int_equal(op_status(r, (size_t)i), 200);
                        assert_non_null(f.rec);
                }
        }
        assert_in_range(failed, 220, 380);
        json_decref(r);
        free(body);
        fx_stop(&fx);
}

static void test_outage_503_has_retry_after(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        char               err[128];
        (void)state;
        fx_start(&fx, &cfg);
        assert_int_equal(
            crmsync_sink_set_outage(fx.sink, SINK_OUTAGE_503, err, sizeof(err)),
            0);
        struct call c = {.body = "[]"};
        pthread_t   t;
        call_start(&fx, &c, &t, "/v1/profiles/_bulk");
        call_wait(&fx, &c, t);
        assert_int_equal(c.status, 503);
        assert_string_equal(c.retry_after, "1");
        assert_non_null(strstr(c.resp, "\"unavailable\""));
        call_free(&c);
        /* Metrics stay reachable during an outage. */
        struct call m = {0};
        call_start(&fx, &m, &t, "/metrics");
        call_wait(&fx, &m, t);
        assert_int_equal(m.status, 200);
        assert_non_null(strstr(m.resp, "status=\"503\"} 1"));
        call_free(&m);
        fx_stop(&fx);
}

static void test_refuse_closes_and_reopens_same_port(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        char               err[128];
        long               st;
        (void)state;
        fx_start(&fx, &cfg);
        int port = crmsync_sink_server_port(fx.sink);
        assert_int_equal(crmsync_sink_set_outage(fx.sink, SINK_OUTAGE_REFUSE,
                                                 err, sizeof(err)),
                         0);
        struct call c = {0};
        pthread_t   t;
        call_start(&fx, &c, &t, "/v1/profiles/_dump");
        call_wait(&fx, &c, t);
        assert_int_equal(c.rc, CURLE_COULDNT_CONNECT);
        call_free(&c);
        assert_int_equal(crmsync_sink_set_outage(fx.sink, SINK_OUTAGE_NONE, err,
                                                 sizeof(err)),
                         0);
        assert_int_equal(crmsync_sink_server_port(fx.sink), port);
        json_t *r = http(&fx, "/v1/profiles/_dump", NULL, NULL, &st);
        assert_int_equal(st, 200);
        json_decref(r);
        fx_stop(&fx);
}

/* terminate: the listener stays, each request's connection is closed
 * unanswered; once the mode ends requests are answered again. */
static void test_terminate_closes_each_request(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        char               err[128];
        long               st;
        (void)state;
        fx_start(&fx, &cfg);
        assert_int_equal(crmsync_sink_set_outage(fx.sink, SINK_OUTAGE_TERMINATE,
                                                 err, sizeof(err)),
                         0);
        struct call c = {.body = "[]"};
        pthread_t   t;
        call_start(&fx, &c, &t, "/v1/profiles/_bulk");
        call_wait(&fx, &c, t);
        assert_int_equal(c.rc, CURLE_GOT_NOTHING); /* connected, no answer */
        call_free(&c);
        json_t *params = json_pack("{s:s}", "mode", "terminate");
        assert_int_equal(crmsync_sink_fault(fx.sink, "sink_outage", params, 0,
                                            err, sizeof(err)),
                         0);
        json_decref(params);
        json_t *r = http(&fx, "/v1/profiles/_dump", NULL, NULL, &st);
        assert_int_equal(st, 200);
        json_decref(r);
        fx_stop(&fx);
}

static void test_hang_drops_when_outage_ends(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        char               err[128];
        (void)state;
        fx_start(&fx, &cfg);
        crmsync_sink_set_outage(fx.sink, SINK_OUTAGE_HANG, err, sizeof(err));
        struct call c = {.body = "[]", .timeout_ms = 4000};
        pthread_t   t;
        call_start(&fx, &c, &t, "/v1/profiles/_bulk");
        spin(&fx, &c.done, 300);
        assert_false(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE));
        crmsync_sink_set_outage(fx.sink, SINK_OUTAGE_NONE, err, sizeof(err));
        call_wait(&fx, &c, t);
        assert_true(c.rc == CURLE_GOT_NOTHING || c.rc == CURLE_RECV_ERROR);
        assert_true(c.elapsed_ms < 3000);
        call_free(&c);
        fx_stop(&fx);
}

static void test_latency_delays_answer(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        (void)state;
        fx_start(&fx, &cfg);
        crmsync_sink_set_latency(fx.sink, 150);
        struct call c = {0};
        pthread_t   t;
        call_start(&fx, &c, &t, "/v1/profiles/_dump");
        call_wait(&fx, &c, t);
        assert_int_equal(c.status, 200);
        assert_true(c.elapsed_ms >= 140);
        call_free(&c);
        fx_stop(&fx);
}

struct sef_seen {
        uint32_t e1, e2;
        size_t   n;
};

static void sef_cb(void *opaque, const char *eid, const char *kind,
                   uint32_t count)
{
        struct sef_seen *s = opaque;
        s->n++;
        assert_string_equal(kind, "welcome_email");
        if (!strcmp(eid, "e-1"))
                s->e1 = count;
        if (!strcmp(eid, "e-2"))
                s->e2 = count;
}

static void test_side_effects_counted_per_event(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        const char *b1 = "{\"event_id\":\"e-1\",\"kind\":\"welcome_email\","
                         "\"key\":\"contact/C-1\"}";
        const char *b2 = "{\"event_id\":\"e-2\",\"kind\":\"welcome_email\","
                         "\"key\":\"contact/C-2\"}";
        (void)state;
        fx_start(&fx, &cfg);
        json_t *r = http(&fx, "/v1/side-effects", NULL, b1, &st);
        assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
        json_decref(r);
        r = http(&fx, "/v1/side-effects", NULL, b1, &st);
        assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
        json_decref(r);
        json_decref(http(&fx, "/v1/side-effects", NULL, b2, &st));
        r = http(&fx, "/v1/side-effects", NULL, "{\"kind\":1}", &st);
        assert_int_equal(st, 400);
        json_decref(r);
        struct sef_seen s = {0};
        crmsync_sink_foreach_side_effect(fx.sink, sef_cb, &s);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.e1, 2);
        assert_int_equal(s.e2, 1);
        r = http(&fx, "/v1/side-effects", NULL, NULL, &st);
        assert_int_equal(json_array_size(json_object_get(r, "side_effects")),
                         2);
        json_decref(r);
        fx_stop(&fx);
}

/* The bulk side-effect endpoint: one result per request line, counted
 * exactly like the single POST; a bad line fails alone. */
static void test_side_effects_bulk(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        const char *body = "{\"event_id\":\"e-1\",\"kind\":\"welcome_email\","
                           "\"key\":\"contact/C-1\"}\n"
                           "{\"event_id\":\"e-1\",\"kind\":\"welcome_email\","
                           "\"key\":\"contact/C-1\"}\n"
                           "{\"kind\":1}\n"
                           "{\"event_id\":\"e-2\",\"kind\":\"welcome_email\","
                           "\"key\":\"contact/C-2\"}\n";
        (void)state;
        fx_start(&fx, &cfg);
        json_t *r = http(&fx, "/v1/side-effects/_bulk", "application/x-ndjson",
                         body, &st);
        assert_int_equal(st, 200);
        json_t *res = json_object_get(r, "results");
        assert_int_equal(json_array_size(res), 4);
        assert_int_equal(op_status(r, 0), 200);
        assert_int_equal(json_integer_value(
                             json_object_get(json_array_get(res, 0), "count")),
                         1);
        assert_int_equal(json_integer_value(
                             json_object_get(json_array_get(res, 1), "count")),
                         2);
        assert_int_equal(op_status(r, 2), 400);
        assert_int_equal(op_status(r, 3), 200);
        json_decref(r);
        struct sef_seen s = {0};
        crmsync_sink_foreach_side_effect(fx.sink, sef_cb, &s);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.e1, 2);
        assert_int_equal(s.e2, 1);
        r = http(&fx, "/v1/side-effects/_bulk", "application/x-ndjson",
                 "{\"event_id\":", &st);
        assert_int_equal(st, 400);
        json_decref(r);
        fx_stop(&fx);
}

/* Many requests on one keep-alive connection, as the profiler makes them. */
struct keepalive_calls {
        char    url[128];
        int     n, ok;
        int64_t elapsed_ms;
        int     done;
};

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
        (void)p;
        (void)arg;
        return sz * n;
}

static void *keepalive_thread(void *arg)
{
        struct keepalive_calls *k    = arg;
        CURL                   *h    = curl_easy_init();
        struct curl_slist      *hdrs = NULL;
        /* 400 ops: a reply of more than one 16 KiB write of libevent's,
         * so its second write meets Nagle with the first unacknowledged. */
        static char body[400 * 160];
        size_t      len = 0;
        for (int i = 0; i < 400; i++)
                len += (size_t)snprintf(
                    body + len, sizeof(body) - len,
                    "{\"op\":\"upsert\",\"entity\":\"contact\","
                    "\"record_id\":\"C-%d\",\"account_id\":\"A-1\","
                    "\"version\":1,\"event_id\":\"e-%d\","
                    "\"fields\":{}}\n",
                    i, i);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/x-ndjson");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, k->url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
        int64_t t0 = crmsync_mono_ms();
        for (int i = 0; i < k->n; i++) {
                long st = 0;
                if (curl_easy_perform(h) == CURLE_OK &&
                    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st) ==
                        CURLE_OK &&
                    st == 200)
                        k->ok++;
        }
        k->elapsed_ms = crmsync_mono_ms() - t0;
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        __atomic_store_n(&k->done, 1, __ATOMIC_RELEASE);
        return NULL;
}

/* Replies on a keep-alive connection are not held back by Nagle until the
 * client's delayed ACK (~40 ms each): 40 small bulk requests take a few
 * ms each, not 1.6 s in all (the later ones are stale: same work). Nagle
 * slows every round; a busy machine (make test runs tests side by side,
 * the ASan build's among them) slows some: up to 3 rounds, one fast
 * round passes. CRMSYNC_TEST_SLACK_MS (scripts/test-asan.sh sets it: ASan
 * code is slower) raises the 600 ms bound by at most 800 ms, still under
 * Nagle's 40 x 40 ms. */
static void test_keepalive_replies_not_delayed(void **state)
{
        struct fx              fx;
        struct sink_config     cfg = {0};
        struct keepalive_calls k;
        pthread_t              t;
        const char            *slack = getenv("CRMSYNC_TEST_SLACK_MS");
        int64_t                bound = 600 + (slack ? atoi(slack) : 0);
        (void)state;
        bound = bound > 1400 ? 1400 : bound < 600 ? 600 : bound;
        fx_start(&fx, &cfg);
        for (int round = 0; round < 3; round++) {
                memset(&k, 0, sizeof(k));
                k.n = 40;
                snprintf(k.url, sizeof(k.url), "%s/v1/profiles/_bulk", fx.url);
                assert_int_equal(pthread_create(&t, NULL, keepalive_thread, &k),
                                 0);
                spin(&fx, &k.done, 20000);
                assert_true(__atomic_load_n(&k.done, __ATOMIC_ACQUIRE));
                pthread_join(t, NULL);
                assert_int_equal(k.ok, k.n);
                if (k.elapsed_ms < bound)
                        break;
                print_message("round %d: %d keep-alive requests took %lld "
                              "ms\n",
                              round + 1, k.n, (long long)k.elapsed_ms);
        }
        if (k.elapsed_ms >= bound)
                fail_msg("%d keep-alive requests took %lld ms, bound %lld "
                         "(Nagle and delayed ACK?)",
                         k.n, (long long)k.elapsed_ms, (long long)bound);
        fx_stop(&fx);
}

static void test_corrupt_applies_and_clear(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {0};
        long               st;
        (void)state;
        fx_start(&fx, &cfg);
        json_decref(upsert(&fx, "C-1", "A-1", 1, "e-1", "{\"a\":1}", 0, &st));
        json_decref(upsert(&fx, "C-1", "A-1", 1, "e-2", "{\"a\":2}", 0, &st));
        json_decref(upsert(&fx, "C-1", "A-1", 2, "e-3", "{\"a\":3}", 0, &st));
        const struct sink_apply *ap;
        size_t                   n = crmsync_sink_applies(fx.sink, &ap);
        assert_int_equal(n, 3);
        assert_string_equal(ap[0].event_id, "e-1");
        assert_true(ap[0].applied);
        assert_string_equal(ap[1].event_id, "e-2");
        assert_false(ap[1].applied);
        assert_int_equal(ap[2].version, 2);
        assert_true(ap[2].full); /* merge_fields=false */
        assert_true(ap[2].wall_ms > 0);
        json_t *r = http(&fx, "/v1/applies?since=1", NULL, NULL, &st);
        assert_int_equal(json_array_size(json_object_get(r, "applies")), 2);
        assert_int_equal(json_integer_value(json_object_get(r, "next")), 3);
        json_decref(r);

        assert_int_equal(crmsync_sink_corrupt(fx.sink, "contact/C-1"), 0);
        assert_int_equal(crmsync_sink_corrupt(fx.sink, "contact/none"), -1);
        struct find f = find_record(&fx, "contact/C-1");
        assert_false(json_is_integer(json_object_get(f.fields, "a")));
        json_decref(f.fields);

        r           = http(&fx, "/v1/profiles/_dump", NULL, NULL, &st);
        json_t *rec = json_array_get(json_object_get(r, "records"), 0);
        assert_string_equal(json_string_value(json_object_get(rec, "key")),
                            "contact/C-1");
        assert_string_equal(
            json_string_value(json_object_get(rec, "last_event_id")), "e-3");
        json_decref(r);

        crmsync_sink_clear(fx.sink);
        assert_int_equal(find_record(&fx, NULL).n, 0);
        assert_int_equal(crmsync_sink_applies(fx.sink, &ap), 0);
        fx_stop(&fx);
}

static void test_log_cap_is_507(void **state)
{
        struct fx          fx;
        struct sink_config cfg = {.max_log_entries = 2};
        long               st;
        (void)state;
        fx_start(&fx, &cfg);
        json_decref(upsert(&fx, "C-1", "A-1", 1, "e-1", "{}", 0, &st));
        json_decref(upsert(&fx, "C-2", "A-1", 1, "e-2", "{}", 0, &st));
        json_t *r = upsert(&fx, "C-3", "A-1", 1, "e-3", "{}", 0, &st);
        assert_int_equal(st, 507);
        assert_string_equal(json_string_value(json_object_get(r, "error")),
                            "log_full");
        json_decref(r);
        fx_stop(&fx);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_stale_upsert_is_409_and_no_change),
            cmocka_unit_test(test_terminate_closes_each_request),
            cmocka_unit_test(test_blind_writes_overwrite),
            cmocka_unit_test(test_tombstone_blocks_older_upsert),
            cmocka_unit_test(test_merge_fields),
            cmocka_unit_test(test_if_version_precondition),
            cmocka_unit_test(test_ndjson_and_array_parse),
            cmocka_unit_test(test_bad_json_bad_op_and_content_type),
            cmocka_unit_test(test_member_length_limits),
            cmocka_unit_test(test_too_large_is_413),
            cmocka_unit_test(test_partial_failure_ratio),
            cmocka_unit_test(test_outage_503_has_retry_after),
            cmocka_unit_test(test_refuse_closes_and_reopens_same_port),
            cmocka_unit_test(test_hang_drops_when_outage_ends),
            cmocka_unit_test(test_latency_delays_answer),
            cmocka_unit_test(test_side_effects_counted_per_event),
            cmocka_unit_test(test_side_effects_bulk),
            cmocka_unit_test(test_keepalive_replies_not_delayed),
            cmocka_unit_test(test_corrupt_applies_and_clear),
            cmocka_unit_test(test_log_cap_is_507),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return rc;
}
