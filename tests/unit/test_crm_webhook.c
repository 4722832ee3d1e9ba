/* test_crm_webhook.c -- HubSpot v3 signature vectors, verification, the
 * subscription parser and the delivery dispatcher against a local evhttp
 * receiver (retries, batching, ack loss, timeouts, give-up, queue cap). */
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
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "fakes/crm/crm_webhook.h"

#define HS_SECRET "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
#define HS_URI "https://www.example.com/webhook_uri"
#define HS_BODY "{'example_field':'example_value'}"
#define SECRET "s3cret"
#define MAX_REQS 64

/* ---- signatures ---- */

static void test_hubspot_vectors(void **state)
{
        static const struct {
                int64_t     ts;
                const char *sig;
        } v[] = {
            {15000000LL, "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="},
            {1693657560000LL, "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="},
            {1700000300000LL, "RnbPH7+UMKVkbV32P8bz450N4M56aPmcru1+D3kSDtw="},
        };
        char out[CRMSYNC_WEBHOOK_SIG_MAX];
        (void)state;

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                assert_int_equal(crmsync_webhook_sign(HS_SECRET, "POST", HS_URI,
                                                      HS_BODY, strlen(HS_BODY),
                                                      v[i].ts, out,
                                                      sizeof(out)),
                                 0);
                assert_string_equal(out, v[i].sig);
                assert_int_equal(
                    crmsync_webhook_verify(HS_SECRET, "POST", HS_URI, HS_BODY,
                                           strlen(HS_BODY), v[i].ts, v[i].sig,
                                           v[i].ts + 1000, 0),
                    0);
        }
        assert_int_equal(crmsync_webhook_sign(HS_SECRET, "POST", HS_URI,
                                              HS_BODY, strlen(HS_BODY), 1, out,
                                              44),
                         -1);
}

static void test_verify_rejects(void **state)
{
        const char *body = "[{\"event_id\":\"e-1\"}]";
        int64_t     now  = 1764066000000LL;
        char        sig[CRMSYNC_WEBHOOK_SIG_MAX], ts[32];
        (void)state;

        assert_int_equal(crmsync_webhook_sign(SECRET, "POST", "http://x/h",
                                              body, strlen(body), now, sig,
                                              sizeof(sig)),
                         0);
        assert_int_equal(crmsync_webhook_verify(SECRET, "POST", "http://x/h",
                                                body, strlen(body), now, sig,
                                                now, 0),
                         0);
        /* Tampered body, other secret, other uri, other method. */
        assert_int_equal(crmsync_webhook_verify(SECRET, "POST", "http://x/h",
                                                "[{\"event_id\":\"e-2\"}]",
                                                strlen(body), now, sig, now, 0),
                         -1);
        assert_int_equal(crmsync_webhook_verify("other", "POST", "http://x/h",
                                                body, strlen(body), now, sig,
                                                now, 0),
                         -1);
        assert_int_equal(crmsync_webhook_verify(SECRET, "POST", "http://x/g",
                                                body, strlen(body), now, sig,
                                                now, 0),
                         -1);
        assert_int_equal(crmsync_webhook_verify(SECRET, "GET", "http://x/h",
                                                body, strlen(body), now, sig,
                                                now, 0),
                         -1);
        /* Truncated signature, tampered timestamp. */
        sig[10] = '\0';
        assert_int_equal(crmsync_webhook_verify(SECRET, "POST", "http://x/h",
                                                body, strlen(body), now, sig,
                                                now, 0),
                         -1);
        crmsync_webhook_sign(SECRET, "POST", "http://x/h", body, strlen(body),
                             now, sig, sizeof(sig));
        assert_int_equal(crmsync_webhook_verify(SECRET, "POST", "http://x/h",
                                                body, strlen(body), now + 1,
                                                sig, now, 0),
                         -1);
        /* Older than 5 minutes: stale even with a valid signature. */
        assert_int_equal(crmsync_webhook_verify(SECRET, "POST", "http://x/h",
                                                body, strlen(body), now, sig,
                                                now + 300001, 0),
                         -2);
        assert_int_equal(crmsync_webhook_verify(SECRET, "POST", "http://x/h",
                                                body, strlen(body), now, sig,
                                                now + 300000, 300000),
                         0);
        /* Header form. */
        snprintf(ts, sizeof(ts), "%lld", (long long)now);
        assert_int_equal(
            crmsync_webhook_verify_headers(SECRET, "POST", "http://x/h", body,
                                           strlen(body), sig, ts, now, 0),
            0);
        assert_int_equal(
            crmsync_webhook_verify_headers(SECRET, "POST", "http://x/h", body,
                                           strlen(body), sig, NULL, now, 0),
            -3);
        assert_int_equal(
            crmsync_webhook_verify_headers(SECRET, "POST", "http://x/h", body,
                                           strlen(body), NULL, ts, now, 0),
            -3);
        assert_int_equal(
            crmsync_webhook_verify_headers(SECRET, "POST", "http://x/h", body,
                                           strlen(body), sig, "-5", now, 0),
            -3);
}

static void test_parse_timestamp(void **state)
{
        int64_t v = 0;
        (void)state;

        assert_int_equal(crmsync_webhook_parse_timestamp("1700000300000", &v),
                         0);
        assert_true(v == 1700000300000LL);
        assert_int_equal(crmsync_webhook_parse_timestamp("", &v), -1);
        assert_int_equal(crmsync_webhook_parse_timestamp(" 1", &v), -1);
        assert_int_equal(crmsync_webhook_parse_timestamp("1x", &v), -1);
        assert_int_equal(crmsync_webhook_parse_timestamp("+1", &v), -1);
        assert_int_equal(
            crmsync_webhook_parse_timestamp("1234567890123456789", &v), -1);
        assert_int_equal(crmsync_webhook_parse_timestamp(NULL, &v), -1);
}

/* ---- subscriptions ---- */

static void test_subscribe_validation(void **state)
{
        struct event_base        *base = event_base_new();
        struct crm_webhook_config cfg  = {.max_subscriptions = 2};
        crm_webhook_t            *w    = crmsync_webhook_new(base, &cfg);
        char                      err[256];
        const char               *ok = "{\"url\":\"http://127.0.0.1:9/h\","
                                       "\"secret\":\"s\",\"batch_size\":5}";
        (void)state;

        assert_non_null(w);
        assert_int_equal(crmsync_webhook_subscribe(w, "http://127.0.0.1:9/a",
                                                   "s", 0, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "batch_size"));
        assert_int_equal(crmsync_webhook_subscribe(w, "http://127.0.0.1:9/a",
                                                   "s", 101, err, sizeof(err)),
                         -1);
        assert_int_equal(crmsync_webhook_subscribe(w, "http://10.0.0.1:9/a",
                                                   "s", 1, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "127.0.0.1"));
        assert_int_equal(crmsync_webhook_subscribe(w, "https://127.0.0.1/a",
                                                   "s", 1, err, sizeof(err)),
                         -1);
        assert_int_equal(crmsync_webhook_subscribe(w, "http://127.0.0.1:9/a",
                                                   "", 1, err, sizeof(err)),
                         -1);

        assert_int_equal(
            crmsync_webhook_subscribe_json(w, "{", 1, err, sizeof(err)), 400);
        assert_int_equal(
            crmsync_webhook_subscribe_json(w, "[]", 2, err, sizeof(err)), 400);
        const char *unk = "{\"url\":\"http://127.0.0.1:9/h\",\"secret\":\"s\","
                          "\"colour\":1}";
        assert_int_equal(crmsync_webhook_subscribe_json(w, unk, strlen(unk),
                                                        err, sizeof(err)),
                         400);
        assert_non_null(strstr(err, "colour"));
        const char *typ = "{\"url\":\"http://127.0.0.1:9/h\",\"secret\":\"s\","
                          "\"batch_size\":\"5\"}";
        assert_int_equal(crmsync_webhook_subscribe_json(w, typ, strlen(typ),
                                                        err, sizeof(err)),
                         400);
        const char *nos = "{\"url\":\"http://127.0.0.1:9/h\"}";
        assert_int_equal(crmsync_webhook_subscribe_json(w, nos, strlen(nos),
                                                        err, sizeof(err)),
                         400);
        assert_non_null(strstr(err, "secret"));

        assert_int_equal(
            crmsync_webhook_subscribe_json(w, ok, strlen(ok), err, sizeof(err)),
            201);
        assert_string_equal(err, "1");
        assert_int_equal(crmsync_webhook_subscribe(w, "http://localhost:9/b",
                                                   "s", 100, err, sizeof(err)),
                         2);
        assert_int_equal(
            crmsync_webhook_subscribe_json(w, ok, strlen(ok), err, sizeof(err)),
            409);
        crmsync_webhook_destroy(w);
        event_base_free(base);
}

/* ---- local receiver ---- */

struct rx_req {
        uint32_t attempt;
        int      n_events;
        char    *body;
        int64_t  at_ms;
        int      sig_ok;
};

struct rx {
        struct event_base *base;
        struct evhttp     *http;
        int                port;
        char               url[128];
        int                fail_first;     /* answer 500 to this many */
        int                throttle_first; /* 429 + Retry-After: 1 */
        int                hang_first;     /* never answer this many */
        struct rx_req      reqs[MAX_REQS];
        int                n;
        int                events_total;
};

static void rx_handler(struct evhttp_request *req, void *arg)
{
        struct rx        *rx  = arg;
        struct evbuffer  *in  = evhttp_request_get_input_buffer(req);
        struct evkeyvalq *h   = evhttp_request_get_input_headers(req);
        size_t            len = evbuffer_get_length(in);
        const char    *att = evhttp_find_header(h, CRMSYNC_WEBHOOK_HDR_ATTEMPT);
        struct rx_req *r;
        json_t        *arr;
        int            idx;

        if (rx->n >= MAX_REQS) {
                evhttp_send_reply(req, 500, "Full", NULL);
                return;
        }
        idx     = rx->n++;
        r       = &rx->reqs[idx];
        r->body = malloc(len + 1);
        assert_non_null(r->body);
        evbuffer_remove(in, r->body, len);
        r->body[len] = '\0';
        r->attempt   = att ? (uint32_t)atoi(att) : 999;
        r->at_ms     = crmsync_mono_ms();
        r->sig_ok    = crmsync_webhook_verify_headers(
                           SECRET, "POST", rx->url, r->body, len,
                           evhttp_find_header(h, CRMSYNC_WEBHOOK_HDR_SIGNATURE),
                           evhttp_find_header(h, CRMSYNC_WEBHOOK_HDR_TIMESTAMP),
                           crmsync_wall_ms(), 0) == 0;
        arr         = json_loadb(r->body, len, 0, NULL);
        r->n_events = json_is_array(arr) ? (int)json_array_size(arr) : -1;
        json_decref(arr);
        rx->events_total += r->n_events;
        if (idx < rx->hang_first)
                return; /* processed, but the answer never comes */
        if (idx < rx->throttle_first) {
                evhttp_add_header(evhttp_request_get_output_headers(req),
                                  "Retry-After", "1");
                evhttp_send_reply(req, 429, "Too Many Requests", NULL);
                return;
        }
        if (idx < rx->hang_first + rx->fail_first) {
                evhttp_send_reply(req, 500, "Internal Server Error", NULL);
                return;
        }
        evhttp_send_reply(req, 200, "OK", NULL);
}

static void rx_start(struct rx *rx, struct event_base *base)
{
        struct evhttp_bound_socket *bs;
        struct sockaddr_in          sin;
        socklen_t                   sl = sizeof(sin);

        memset(rx, 0, sizeof(*rx));
        rx->base = base;
        rx->http = evhttp_new(base);
        assert_non_null(rx->http);
        evhttp_set_gencb(rx->http, rx_handler, rx);
        bs = evhttp_bind_socket_with_handle(rx->http, "127.0.0.1", 0);
        assert_non_null(bs);
        assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
                                     (struct sockaddr *)&sin, &sl),
                         0);
        rx->port = ntohs(sin.sin_port);
        snprintf(rx->url, sizeof(rx->url), "http://127.0.0.1:%d/hook",
                 rx->port);
}

static void rx_stop(struct rx *rx)
{
        for (int i = 0; i < rx->n; i++)
                free(rx->reqs[i].body);
        evhttp_free(rx->http);
}

/* ---- observer ---- */

struct obs {
        int            delivered, gave_up;
        uint32_t       last_attempt;
        int            last_status;
        int            want; /* stop when delivered + gave_up >= want */
        crm_webhook_t *w;
        int            clear_faults_on_delivery;
};

static void obs_cb(void *opaque, const char *event_id, const char *url,
                   uint32_t attempt, enum crm_webhook_outcome outcome,
                   int http_status, int64_t wall_ms)
{
        struct obs *o = opaque;

        assert_non_null(event_id);
        assert_non_null(url);
        assert_true(wall_ms > 0);
        if (outcome == CRM_WEBHOOK_DELIVERED) {
                o->delivered++;
                if (o->clear_faults_on_delivery) {
                        crmsync_webhook_set_ack_loss(o->w, 0);
                        crmsync_webhook_set_storm(o->w, 0);
                }
        } else {
                o->gave_up++;
        }
        o->last_attempt = attempt;
        o->last_status  = http_status;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
}

/* Run the loop until the dispatcher is idle and the observer saw enough,
 * or timeout_ms passed. Returns 1 when the condition was met. */
static int run_until(struct event_base *base, crm_webhook_t *w, struct obs *o,
                     int64_t timeout_ms)
{
        struct event  *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
        struct timeval tv   = {0, 10000};
        int64_t        end  = crmsync_mono_ms() + timeout_ms;
        int            met  = 0;

        assert_non_null(tick);
        event_add(tick, &tv);
        while (crmsync_mono_ms() < end) {
                if (o->delivered + o->gave_up >= o->want &&
                    crmsync_webhook_idle(w)) {
                        met = 1;
                        break;
                }
                event_base_loop(base, EVLOOP_ONCE);
        }
        event_free(tick);
        return met;
}

static void enqueue_n(crm_webhook_t *w, int from, int n)
{
        char json[96], id[32];

        for (int i = from; i < from + n; i++) {
                snprintf(id, sizeof(id), "e-%08d", i);
                snprintf(json, sizeof(json), "{\"event_id\":\"%s\",\"seq\":%d}",
                         id, i);
                assert_int_equal(
                    crmsync_webhook_enqueue(w, json, strlen(json), id), 0);
        }
}

static crm_webhook_t *mk(struct event_base *base, struct rx *rx, struct obs *o,
                         int batch, int64_t timeout_ms)
{
        struct crm_webhook_config cfg = {
            .max_attempts    = 5,
            .backoff_base_ms = 100,
            .backoff_max_ms  = 400,
            .timeout_ms      = timeout_ms,
            .seed            = 7,
        };
        crm_webhook_t *w = crmsync_webhook_new(base, &cfg);
        char           err[128];

        assert_non_null(w);
        memset(o, 0, sizeof(*o));
        o->w = w;
        crmsync_webhook_set_observer(w, obs_cb, o);
        assert_int_equal(crmsync_webhook_subscribe(w, rx->url, SECRET, batch,
                                                   err, sizeof(err)),
                         1);
        return w;
}

static void test_retry_after_500(void **state)
{
        struct event_base       *base = event_base_new();
        struct rx                rx;
        struct obs               o;
        crm_webhook_t           *w;
        struct crm_webhook_stats st;
        (void)state;

        rx_start(&rx, base);
        rx.fail_first = 1;
        w             = mk(base, &rx, &o, 100, 2000);
        enqueue_n(w, 1, 3);
        o.want = 3;
        assert_true(run_until(base, w, &o, 5000));

        assert_int_equal(rx.n, 2);
        assert_int_equal(rx.reqs[0].attempt, 0);
        assert_int_equal(rx.reqs[1].attempt, 1);
        assert_true(rx.reqs[0].sig_ok);
        assert_true(rx.reqs[1].sig_ok);
        assert_int_equal(rx.reqs[0].n_events, 3);
        assert_string_equal(rx.reqs[0].body, rx.reqs[1].body);
        /* Backoff: at least backoff_base_ms between the attempts. */
        assert_true(rx.reqs[1].at_ms - rx.reqs[0].at_ms >= 100);
        assert_true(rx.reqs[1].at_ms - rx.reqs[0].at_ms < 1500);
        assert_int_equal(o.delivered, 3);
        assert_int_equal(o.last_attempt, 1);
        assert_int_equal(o.last_status, 200);

        crmsync_webhook_stats(w, &st);
        assert_int_equal(st.requests, 2);
        assert_int_equal(st.requests_by_attempt[0], 1);
        assert_int_equal(st.requests_by_attempt[1], 1);
        assert_int_equal(st.acked_by_attempt[0], 0);
        assert_int_equal(st.acked_by_attempt[1], 1);
        assert_int_equal(st.failures, 1);
        assert_int_equal(st.events_delivered, 3);
        assert_int_equal(st.queued, 0);
        crmsync_webhook_destroy(w);
        rx_stop(&rx);
        event_base_free(base);
}

static void test_429_honours_retry_after(void **state)
{
        struct event_base *base = event_base_new();
        struct rx          rx;
        struct obs         o;
        crm_webhook_t     *w;
        (void)state;

        rx_start(&rx, base);
        rx.throttle_first = 1;
        w                 = mk(base, &rx, &o, 100, 2000);
        enqueue_n(w, 1, 1);
        o.want = 1;
        assert_true(run_until(base, w, &o, 5000));
        assert_int_equal(rx.n, 2);
        /* Backoff alone would be 100..125 ms; Retry-After says 1 s. */
        assert_true(rx.reqs[1].at_ms - rx.reqs[0].at_ms >= 990);
        assert_int_equal(o.last_attempt, 1);
        crmsync_webhook_destroy(w);
        rx_stop(&rx);
        event_base_free(base);
}

static void check_batches(int batch, int events, int want_requests)
{
        struct event_base *base = event_base_new();
        struct rx          rx;
        struct obs         o;
        crm_webhook_t     *w;
        int                biggest = 0;

        rx_start(&rx, base);
        w = mk(base, &rx, &o, batch, 2000);
        enqueue_n(w, 1, events);
        o.want = events;
        assert_true(run_until(base, w, &o, 5000));
        assert_int_equal(rx.events_total, events);
        assert_int_equal(rx.n, want_requests);
        for (int i = 0; i < rx.n; i++) {
                assert_in_range(rx.reqs[i].n_events, 1, batch);
                assert_true(rx.reqs[i].sig_ok);
                if (rx.reqs[i].n_events > biggest)
                        biggest = rx.reqs[i].n_events;
        }
        assert_int_equal(biggest, batch);
        crmsync_webhook_destroy(w);
        rx_stop(&rx);
        event_base_free(base);
}

static void test_batch_size_honoured(void **state)
{
        (void)state;
        check_batches(7, 20, 3);    /* 7 + 7 + 6 */
        check_batches(100, 250, 3); /* 100 + 100 + 50 */
        check_batches(1, 4, 4);
}

static void test_ack_loss_duplicates(void **state)
{
        struct event_base       *base = event_base_new();
        struct rx                rx;
        struct obs               o;
        crm_webhook_t           *w;
        struct crm_webhook_stats st;
        (void)state;

        rx_start(&rx, base);
        w = mk(base, &rx, &o, 100, 2000);
        crmsync_webhook_set_ack_loss(w, 1.0);
        o.clear_faults_on_delivery = 1; /* only the first ack is lost */
        enqueue_n(w, 1, 5);
        o.want = 10; /* every event delivered twice */
        assert_true(run_until(base, w, &o, 5000));
        assert_int_equal(rx.n, 2);
        assert_int_equal(rx.reqs[0].attempt, 0);
        assert_int_equal(rx.reqs[1].attempt, 1);
        assert_string_equal(rx.reqs[0].body, rx.reqs[1].body);
        assert_int_equal(rx.events_total, 10);
        crmsync_webhook_stats(w, &st);
        assert_int_equal(st.ack_lost, 1);
        assert_int_equal(st.events_delivered, 10);
        assert_int_equal(st.failures, 0);
        crmsync_webhook_destroy(w);
        rx_stop(&rx);
        event_base_free(base);
}

static void test_storm_duplicates(void **state)
{
        struct event_base       *base = event_base_new();
        struct rx                rx;
        struct obs               o;
        crm_webhook_t           *w;
        struct crm_webhook_stats st;
        (void)state;

        rx_start(&rx, base);
        w = mk(base, &rx, &o, 100, 2000);
        crmsync_webhook_set_storm(w, 1.0);
        o.clear_faults_on_delivery = 1;
        enqueue_n(w, 1, 2);
        o.want = 4;
        assert_true(run_until(base, w, &o, 5000));
        assert_int_equal(rx.n, 2);
        assert_string_equal(rx.reqs[0].body, rx.reqs[1].body);
        crmsync_webhook_stats(w, &st);
        assert_int_equal(st.storm_retries, 1);
        crmsync_webhook_destroy(w);
        rx_stop(&rx);
        event_base_free(base);
}

static void test_timeout_processed_is_duplicate(void **state)
{
        struct event_base       *base = event_base_new();
        struct rx                rx;
        struct obs               o;
        crm_webhook_t           *w;
        struct crm_webhook_stats st;
        (void)state;

        rx_start(&rx, base);
        rx.hang_first = 1; /* receiver processes, never answers */
        w             = mk(base, &rx, &o, 100, 200);
        enqueue_n(w, 1, 3);
        o.want = 3;
        assert_true(run_until(base, w, &o, 5000));
        assert_int_equal(rx.n, 2);
        assert_int_equal(rx.reqs[1].attempt, 1);
        assert_string_equal(rx.reqs[0].body, rx.reqs[1].body);
        /* Timeout (200 ms) plus backoff (>= 100 ms), minus clock slack. */
        assert_true(rx.reqs[1].at_ms - rx.reqs[0].at_ms >= 290);
        crmsync_webhook_stats(w, &st);
        assert_int_equal(st.failures, 1);
        assert_int_equal(st.acked_by_attempt[1], 1);
        crmsync_webhook_destroy(w);
        rx_stop(&rx);
        event_base_free(base);
}

static void test_give_up_on_refused(void **state)
{
        struct event_base        *base = event_base_new();
        struct crm_webhook_config cfg  = {
             .max_attempts = 3, .backoff_base_ms = 10, .timeout_ms = 1000};
        crm_webhook_t           *w = crmsync_webhook_new(base, &cfg);
        struct obs               o;
        struct crm_webhook_stats st;
        struct sockaddr_in       sin;
        socklen_t                sl = sizeof(sin);
        char                     url[64], err[128];
        int                      fd = socket(AF_INET, SOCK_STREAM, 0);
        (void)state;

        /* A port that was free a moment ago: connections are refused. */
        memset(&sin, 0, sizeof(sin));
        sin.sin_family      = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
        close(fd);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook",
                 ntohs(sin.sin_port));
        memset(&o, 0, sizeof(o));
        crmsync_webhook_set_observer(w, obs_cb, &o);
        assert_int_equal(
            crmsync_webhook_subscribe(w, url, SECRET, 10, err, sizeof(err)), 1);
        enqueue_n(w, 1, 2);
        o.want = 2;
        assert_true(run_until(base, w, &o, 5000));
        assert_int_equal(o.gave_up, 2);
        assert_int_equal(o.delivered, 0);
        assert_int_equal(o.last_attempt, 2);
        crmsync_webhook_stats(w, &st);
        assert_int_equal(st.requests, 3);
        assert_int_equal(st.failures, 3);
        assert_int_equal(st.gave_up_batches, 1);
        assert_int_equal(st.gave_up_events, 2);
        crmsync_webhook_destroy(w);
        event_base_free(base);
}

static void test_queue_cap(void **state)
{
        struct event_base        *base = event_base_new();
        struct crm_webhook_config cfg  = {.queue_cap = 5};
        crm_webhook_t            *w    = crmsync_webhook_new(base, &cfg);
        struct crm_webhook_stats  st;
        char                      err[128];
        int                       refused = 0;
        (void)state;

        /* No subscription: a no-op. */
        assert_int_equal(crmsync_webhook_enqueue(w, "{}", 2, "e-0"), 0);
        assert_int_equal(crmsync_webhook_subscribe(w, "http://127.0.0.1:9/h",
                                                   SECRET, 2, err, sizeof(err)),
                         1);
        for (int i = 0; i < 8; i++)
                refused += crmsync_webhook_enqueue(w, "{}", 2, "e-x") != 0;
        assert_int_equal(refused, 3);
        crmsync_webhook_stats(w, &st);
        assert_int_equal(st.queued, 5);
        assert_int_equal(st.dropped_queue_full, 3);
        assert_int_equal(crmsync_webhook_idle(w), 0);
        /* Destroy with queued events (and no loop run): nothing leaks. */
        crmsync_webhook_destroy(w);
        event_base_free(base);
}

/* A dead subscriber (nothing listens; its retries wait a minute) next to
 * a live one, queue_cap 50. Events arrive in rounds of 10, each delivered
 * to the live receiver before the next: it must get all 200 while the dead
 * one's queue fills and refuses the rest. One queue shared by both (the
 * old design) stopped the live receiver at the dead one's 50. */
static crm_webhook_t *dead_and_live(struct event_base *base, struct rx *live,
                                    struct obs *o, int *dead_id, int *live_id)
{
        struct crm_webhook_config cfg = {
            .max_attempts      = 100,
            .backoff_base_ms   = 60000,
            .backoff_max_ms    = 60000,
            .timeout_ms        = 2000,
            .queue_cap         = 50,
            .max_subscriptions = 2,
            .seed              = 7,
        };
        crm_webhook_t *w = crmsync_webhook_new(base, &cfg);
        char           err[128];

        assert_non_null(w);
        rx_start(live, base);
        memset(o, 0, sizeof(*o));
        o->w = w;
        crmsync_webhook_set_observer(w, obs_cb, o);
        /* Port 9 (discard) has no listener on 127.0.0.1: refused. */
        *dead_id = crmsync_webhook_subscribe(w, "http://127.0.0.1:9/dead",
                                             SECRET, 10, err, sizeof(err));
        *live_id = crmsync_webhook_subscribe(w, live->url, SECRET, 10, err,
                                             sizeof(err));
        assert_true(*dead_id >= 1 && *live_id >= 1);
        return w;
}

/* Enqueue 10 events per round, then run the loop (at most 5 s) until the
 * live receiver's observer count reaches the total so far. */
static void rounds(struct event_base *base, crm_webhook_t *w, struct obs *o,
                   int from, int n_rounds)
{
        char json[96], id[32];

        for (int r = 0; r < n_rounds; r++) {
                for (int i = 0; i < 10; i++) {
                        int seq = from + r * 10 + i;
                        snprintf(id, sizeof(id), "e-%08d", seq);
                        snprintf(json, sizeof(json),
                                 "{\"event_id\":\"%s\",\"seq\":%d}", id, seq);
                        crmsync_webhook_enqueue(w, json, strlen(json), id);
                }
                int64_t end = crmsync_mono_ms() + 5000;
                while (o->delivered < from + (r + 1) * 10 &&
                       crmsync_mono_ms() < end)
                        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        }
}

static void test_dead_subscriber_does_not_starve_live(void **state)
{
        struct event_base       *base = event_base_new();
        struct rx                live;
        struct obs               o;
        struct crm_webhook_stats st;
        int                      dead, lid;
        (void)state;

        crm_webhook_t *w = dead_and_live(base, &live, &o, &dead, &lid);
        rounds(base, w, &o, 0, 20);
        crmsync_webhook_stats(w, &st);
        assert_int_equal(o.delivered, 200);
        assert_int_equal(live.events_total, 200);
        assert_int_equal(o.gave_up, 0);
        /* The dead one holds its cap; the other 150 were refused for it
         * alone. */
        assert_int_equal(st.dropped_queue_full, 150);
        assert_int_equal(st.queued, 50);
        crmsync_webhook_destroy(w);
        rx_stop(&live);
        event_base_free(base);
}

static void test_unsubscribe_frees_slot(void **state)
{
        struct event_base           *base = event_base_new();
        struct rx                    live;
        struct obs                   o;
        struct crm_webhook_stats     st;
        struct crm_webhook_sub_stats ss;
        char                         err[128];
        int                          dead, lid, again;
        (void)state;

        crm_webhook_t *w = dead_and_live(base, &live, &o, &dead, &lid);
        rounds(base, w, &o, 0, 8);
        assert_int_equal(crmsync_webhook_sub_stats(w, dead, &ss), 0);
        assert_int_equal(ss.held, 50);
        assert_int_equal(ss.enqueued, 50);
        assert_int_equal(ss.dropped_queue_full, 30);
        assert_int_equal(ss.delivered, 0);
        assert_int_equal(crmsync_webhook_sub_stats(w, lid, &ss), 0);
        assert_int_equal(ss.delivered, 80);
        assert_int_equal(ss.dropped_queue_full, 0);
        /* Both slots taken. */
        assert_int_equal(crmsync_webhook_subscribe(w, "http://127.0.0.1:9/x",
                                                   SECRET, 10, err,
                                                   sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "too many"));

        /* Removing the dead one drops what it held and frees its slot. */
        assert_int_equal(crmsync_webhook_unsubscribe(w, dead, err, sizeof(err)),
                         0);
        crmsync_webhook_stats(w, &st);
        assert_int_equal(st.subscriptions, 1);
        assert_int_equal(st.dropped_unsubscribed, 50);
        assert_int_equal(st.queued, 0);
        assert_int_equal(crmsync_webhook_idle(w), 1);
        assert_int_equal(crmsync_webhook_sub_stats(w, dead, &ss), -1);
        assert_int_equal(crmsync_webhook_unsubscribe(w, dead, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "no subscription"));
        assert_int_equal(crmsync_webhook_unsubscribe(w, 99, err, sizeof(err)),
                         -1);
        /* The slot takes a new subscription; ids are not reused. */
        again = crmsync_webhook_subscribe(w, live.url, SECRET, 10, err,
                                          sizeof(err));
        assert_true(again > lid);
        rounds(base, w, &o, 80, 2);
        /* 20 more events, delivered to both live subscriptions. */
        for (int64_t end = crmsync_mono_ms() + 5000;
             o.delivered < 120 && crmsync_mono_ms() < end;)
                event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        assert_int_equal(o.delivered, 120);
        assert_int_equal(crmsync_webhook_sub_stats(w, again, &ss), 0);
        assert_int_equal(ss.delivered, 20);
        crmsync_webhook_destroy(w);
        rx_stop(&live);
        event_base_free(base);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hubspot_vectors),
            cmocka_unit_test(test_verify_rejects),
            cmocka_unit_test(test_parse_timestamp),
            cmocka_unit_test(test_subscribe_validation),
            cmocka_unit_test(test_retry_after_500),
            cmocka_unit_test(test_429_honours_retry_after),
            cmocka_unit_test(test_batch_size_honoured),
            cmocka_unit_test(test_ack_loss_duplicates),
            cmocka_unit_test(test_storm_duplicates),
            cmocka_unit_test(test_timeout_processed_is_duplicate),
            cmocka_unit_test(test_give_up_on_refused),
            cmocka_unit_test(test_queue_cap),
            cmocka_unit_test(test_dead_subscriber_does_not_starve_live),
            cmocka_unit_test(test_unsubscribe_frees_slot),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
