/* connector_webhook.c -- WEBHOOK mode of the reference connector: an evhttp
 * receiver on 127.0.0.1 that verifies each signed batch, produces its
 * events, and answers 200 only after every delivery report succeeded (503
 * otherwise, so the CRM retries: a retry is a duplicate, deduplicated
 * downstream by event id).
 *
 * One event loop (this file's event_base) owns the receiver; a 10 ms timer
 * serves librdkafka delivery reports on the same thread, so a pending
 * request is only touched from that thread. */
#include "connector_int.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "crmsync/http_guard.h"
#include "crmsync/http_reply.h"

#define WEBHOOK_BODY_MAX (16 << 20)
#define WEBHOOK_PATH "/hook"

/* One POST waiting for its delivery reports. */
struct pending {
        struct webhook_rx        *rx;
        struct evhttp_request    *req; /* NULL once the client left */
        struct evhttp_connection *conn;
        int                       outstanding;
        int                       failed;
        int                       produced_all; /* no more to come */
        struct pending           *next;
};

struct webhook_rx {
        struct connector  *c;
        struct event_base *base;
        struct evhttp     *http;
        http_guard_t      *guard; /* limits, JSON errors */
        struct event      *tick;
        char               url[128]; /* as subscribed, signed over */
        char               secret[CONNECTOR_SECRET_MAX];
        struct pending    *pendings;
        uint64_t           requests, rejected;
};

static void pending_unlink(struct webhook_rx *rx, struct pending *p)
{
        for (struct pending **pp = &rx->pendings; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
}

/* Answer (if the client is still there) and free p. */
static void pending_finish(struct pending *p)
{
        if (p->req) {
                evhttp_connection_set_closecb(p->conn, NULL, NULL);
                if (p->failed)
                        crmsync_http_send_json(
                            p->req, 503, "{\"error\":\"delivery_failed\"}");
                else
                        crmsync_http_send_json(p->req, 200, "{\"ok\":true}");
        }
        pending_unlink(p->rx, p);
        free(p);
}

static void on_close(struct evhttp_connection *conn, void *opaque)
{
        struct pending *p = opaque;
        (void)conn;
        p->req = NULL; /* evhttp frees the request */
}

static void on_delivery(struct connector *c, void *opaque, int err)
{
        struct pending *p = opaque;
        (void)c;
        if (err)
                p->failed = 1;
        if (--p->outstanding == 0 && p->produced_all)
                pending_finish(p);
}

static void handle_batch(struct webhook_rx *rx, struct evhttp_request *req,
                         const char *body, size_t len)
{
        struct connector *c = rx->c;
        json_t           *arr, *ev;
        struct pending   *p;
        size_t            i;
        char              errstr[256];
        int               fatal = 0;

        arr = json_loadb(body, len, 0, NULL);
        if (!json_is_array(arr)) {
                json_decref(arr);
                crmsync_http_send_json(req, 400,
                                       "{\"error\":\"bad_body\",\"message\":"
                                       "\"expected a JSON array of events\"}");
                return;
        }
        p = calloc(1, sizeof(*p));
        if (!p) {
                json_decref(arr);
                crmsync_http_send_json(req, 503, NULL);
                return;
        }
        p->rx        = rx;
        p->req       = req;
        p->conn      = evhttp_request_get_connection(req);
        p->next      = rx->pendings;
        rx->pendings = p;
        evhttp_connection_set_closecb(p->conn, on_close, p);

        c->msg_opaque = p;
        json_array_foreach(arr, i, ev)
        {
                const char *flag;
                json_t     *use    = NULL;
                uint64_t    before = c->st.produced;

                c->st.polled++;
                if (connector_needs_object(ev, &flag)) {
                        if (connector_resolve_gap_http(c, ev, &use, 0)) {
                                p->failed = 1; /* CRM will retry */
                                break;
                        }
                        if (!use)
                                goto counted; /* dead-lettered */
                } else {
                        use = json_incref(ev);
                }
                if (connector_produce_event(c, use, NULL, "webhook", errstr,
                                            sizeof(errstr))) {
                        fprintf(stderr, "connector: webhook: %s\n", errstr);
                        p->failed = 1;
                        fatal     = 1;
                }
                json_decref(use);
        counted:
                p->outstanding += (int)(c->st.produced - before);
                if (fatal)
                        break;
        }
        /* Dead-letters produced by resolve_gap_once count as well. */
        c->msg_opaque   = NULL;
        p->produced_all = 1;
        json_decref(arr);
        if (p->outstanding == 0)
                pending_finish(p);
}

static void on_request(struct evhttp_request *req, void *opaque)
{
        struct webhook_rx *rx = opaque;
        struct evbuffer   *in = evhttp_request_get_input_buffer(req);
        struct evkeyvalq  *h  = evhttp_request_get_input_headers(req);
        const char        *path;
        size_t             len;
        char              *body;
        int                v;

        rx->requests++;
        path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
        if (!path || strcmp(path, WEBHOOK_PATH)) {
                crmsync_http_send_json(req, 404, "{\"error\":\"not_found\"}");
                return;
        }
        if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
                crmsync_http_send_json(req, 405,
                                       "{\"error\":\"method_not_allowed\"}");
                return;
        }
        len = evbuffer_get_length(in);
        if (len > WEBHOOK_BODY_MAX) {
                crmsync_http_send_json(req, 413,
                                       "{\"error\":\"body_too_large\"}");
                return;
        }
        body = malloc(len + 1);
        if (!body) {
                crmsync_http_send_json(req, 503, NULL);
                return;
        }
        evbuffer_copyout(in, body, len);
        body[len] = '\0';
        v         = connector_sig_verify(rx->secret, "POST", rx->url, body, len,
                                         evhttp_find_header(h, CONNECTOR_HDR_SIGNATURE),
                                         evhttp_find_header(h, CONNECTOR_HDR_TIMESTAMP),
                                         crmsync_wall_ms());
        if (v != 0) {
                rx->rejected++;
                fprintf(stderr, "connector: webhook: rejected (%s)\n",
                        v == -2   ? "stale timestamp"
                        : v == -3 ? "missing signature headers"
                                  : "bad signature");
                crmsync_http_send_json(req, 401,
                                       "{\"error\":\"bad_signature\"}");
                free(body);
                return;
        }
        handle_batch(rx, req, body, len);
        free(body);
}

static void on_tick(evutil_socket_t fd, short what, void *opaque)
{
        struct webhook_rx *rx = opaque;
        (void)fd;
        (void)what;
        rd_kafka_poll(rx->c->rk, 0);
        rd_kafka_poll(rx->c->ork, 0);
        connector_stats_maybe(rx->c, 0);
        if (*rx->c->stop || rx->c->fatal)
                event_base_loopbreak(rx->base);
}

/* POST {crm}/v1/subscriptions; retried for up to 30 s. */
static int subscribe(struct webhook_rx *rx, char *errstr, size_t errstr_size)
{
        struct connector *c = rx->c;
        struct http_resp  r;
        char              url[600];
        json_t           *j;
        char             *body;
        int64_t           deadline = crmsync_mono_ms() + 30000;
        unsigned          attempt  = 0;

        if (!c->cfg->crm_url || !*c->cfg->crm_url)
                return 0; /* the harness subscribes us */
        j    = json_pack("{s:s,s:s,s:i}", "url", rx->url, "secret", rx->secret,
                         "batch_size", 100);
        body = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!body)
                return crmsync_err(errstr, errstr_size, "out of memory");
        snprintf(url, sizeof(url), "%s/v1/subscriptions", c->cfg->crm_url);
        while (!*c->stop && crmsync_mono_ms() < deadline) {
                connector_http_post(c->http, url, body, &r);
                if (r.status == 200 || r.status == 201) {
                        fprintf(stderr, "connector: subscribed %s: %.100s\n",
                                rx->url, r.body);
                        free(body);
                        return 0;
                }
                if (r.status >= 400 && r.status < 500 && r.status != 429) {
                        crmsync_err(errstr, errstr_size,
                                    "subscribe at %s: HTTP %ld: %.200s", url,
                                    r.status, r.body ? r.body : "");
                        free(body);
                        return -1;
                }
                /* Retry-After (429, 503) is a floor; the bug
                 * ignore-retry-after retries at once. */
                {
                        int64_t ms = connector_backoff_ms(attempt++);
                        if (r.status == 429 || r.retry_after[0]) {
                                int64_t ra =
                                    connector_retry_after_s(r.retry_after) *
                                    1000LL;
                                ms = r.status == 429 || ra > ms ? ra : ms;
                        }
                        if (c->cfg->bugs & CRMSYNC_BUG_IGNORE_RETRY_AFTER)
                                ms = CONNECTOR_BUG_RETRY_MS;
                        connector_nap(c, ms);
                }
        }
        free(body);
        return crmsync_err(errstr, errstr_size,
                           "subscribe at %s: no success within 30 s", url);
}

/* Remember the receiver in the cursor topic (key crmsync-connector.webhook):
 * {"port":N,"subscribed":b,"snapshot":b}. */
static int store_state(struct webhook_rx *rx, int port, int subscribed,
                       int snapshot, char *errstr, size_t errstr_size)
{
        json_t *st =
            json_pack("{s:i,s:b,s:b,s:s}", "port", port, "subscribed",
                      subscribed, "snapshot", snapshot, "secret", rx->secret);
        char *buf = st ? json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        int   rc;

        json_decref(st);
        if (!buf)
                return crmsync_err(errstr, errstr_size, "out of memory");
        rc = connector_store_cursor(rx->c, buf, errstr, errstr_size);
        free(buf);
        return rc;
}

/* 32 hex characters from /dev/urandom. Returns 0 or -1. */
static int random_secret(char *out, size_t out_size)
{
        unsigned char raw[16];
        FILE         *fp = fopen("/dev/urandom", "rb");
        size_t        n;

        if (!fp || out_size < 2 * sizeof(raw) + 1) {
                if (fp)
                        fclose(fp);
                return -1;
        }
        n = fread(raw, 1, sizeof(raw), fp);
        fclose(fp);
        if (n != sizeof(raw))
                return -1;
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(out + 2 * i, 3, "%02x", raw[i]);
        return 0;
}

/* The receiver's event loop and HTTP server, its requests guarded: heads
 * over 64 KiB get 431, bodies over 16 MiB 413, a malformed request 400
 * (JSON bodies, not libevent's HTML pages). */
static int webhook_server_new(struct webhook_rx *rx, char *errstr,
                              size_t errstr_size)
{
        if (!(rx->base = event_base_new()))
                return crmsync_err(errstr, errstr_size, "event_base_new");
        if (!(rx->http = evhttp_new(rx->base)))
                return crmsync_err(errstr, errstr_size, "evhttp_new failed");
        rx->guard = crmsync_http_guard_new(
            rx->http, CRMSYNC_HTTP_MAX_HEADER_BYTES, WEBHOOK_BODY_MAX);
        if (!rx->guard)
                return crmsync_err(errstr, errstr_size, "out of memory");
        evhttp_set_allowed_methods(rx->http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
        evhttp_set_gencb(rx->http, on_request, rx);
        return 0;
}

static void webhook_server_free(struct webhook_rx *rx)
{
        if (rx->tick)
                event_free(rx->tick);
        if (rx->http)
                evhttp_free(rx->http);
        crmsync_http_guard_free(rx->guard); /* after its connections */
        if (rx->base)
                event_base_free(rx->base);
}

/* What the previous run stored as the cursor: its port, whether it had
 * subscribed and taken the snapshot, and the secret. The secret: given,
 * else the one of the previous run (its subscription is signed with it),
 * else a fresh random one; the connector subscribes itself, so nobody else
 * needs to know it. */
static int webhook_restore(struct webhook_rx *rx, int *old_port,
                           int *subscribed, int *snapshot, char *errstr,
                           size_t errstr_size)
{
        struct connector *c = rx->c;
        json_t     *state = *c->cursor ? json_loads(c->cursor, 0, NULL) : NULL;
        const char *prev;

        *old_port   = (int)json_integer_value(json_object_get(state, "port"));
        *subscribed = json_is_true(json_object_get(state, "subscribed"));
        *snapshot   = json_is_true(json_object_get(state, "snapshot"));
        if (c->cfg->webhook_secret && *c->cfg->webhook_secret)
                snprintf(rx->secret, sizeof(rx->secret), "%s",
                         c->cfg->webhook_secret);
        else if (json_is_string(json_object_get(state, "secret")))
                snprintf(rx->secret, sizeof(rx->secret), "%s",
                         json_string_value(json_object_get(state, "secret")));
        else if (random_secret(rx->secret, sizeof(rx->secret))) {
                json_decref(state);
                return crmsync_err(errstr, errstr_size,
                                   "webhook mode: no secret and /dev/urandom "
                                   "unreadable");
        }
        prev = json_string_value(json_object_get(state, "secret"));
        if (!prev || strcmp(prev, rx->secret))
                *subscribed = 0; /* a new secret: subscribe again */
        json_decref(state);
        return 0;
}

/* Listen on 127.0.0.1: the configured port, else the previous run's (so
 * the subscription and the CRM's retries of batches it could not deliver
 * while we were down still reach us), else any. Prints webhook_url=. */
static struct evhttp_bound_socket *webhook_listen(struct webhook_rx *rx,
                                                  int old_port, int *port,
                                                  char  *errstr,
                                                  size_t errstr_size)
{
        struct connector *c = rx->c;
        int want = c->cfg->webhook_port ? c->cfg->webhook_port : old_port;
        struct evhttp_bound_socket *bs;
        struct sockaddr_storage     ss;
        socklen_t                   sl = sizeof(ss);

        bs = evhttp_bind_socket_with_handle(rx->http, "127.0.0.1",
                                            (ev_uint16_t)want);
        if (!bs && want && !c->cfg->webhook_port) {
                fprintf(stderr,
                        "connector: webhook: port %d of the previous run is "
                        "busy; a new subscription is needed (batches sent "
                        "to the old one are lost)\n",
                        want);
                bs = evhttp_bind_socket_with_handle(rx->http, "127.0.0.1", 0);
        }
        if (!bs) {
                crmsync_err(errstr, errstr_size,
                            "cannot listen on 127.0.0.1:%d", want);
                return NULL;
        }
        if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
                        &sl)) {
                crmsync_err(errstr, errstr_size, "getsockname failed");
                return NULL;
        }
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        snprintf(rx->url, sizeof(rx->url), "http://127.0.0.1:%d%s", *port,
                 WEBHOOK_PATH);
        printf("webhook_url=%s\n", rx->url);
        fflush(stdout);
        return bs;
}

/* Subscribe unless still subscribed at this port, and take the snapshot
 * unless taken: webhooks only carry changes from now on, what happened
 * before the subscription comes from the objects. */
static int webhook_subscribe(struct webhook_rx *rx, int port, int subscribed,
                             int snapshot, char *errstr, size_t errstr_size)
{
        struct connector *c = rx->c;

        if (!subscribed) {
                if (subscribe(rx, errstr, errstr_size) ||
                    store_state(rx, port, 1, 0, errstr, errstr_size))
                        return -1;
        } else {
                fprintf(stderr, "connector: webhook: still subscribed at %s\n",
                        rx->url);
        }
        if (!snapshot && c->cfg->crm_url && *c->cfg->crm_url) {
                int rs = connector_resync(c, errstr, errstr_size);
                if (rs < 0)
                        return -1;
                if (rs == 0 && store_state(rx, port, 1, 1, errstr, errstr_size))
                        return -1;
        }
        return 0;
}

/* Stop: no new requests; finish the ones waiting for delivery. */
static void webhook_drain(struct webhook_rx *rx, struct evhttp_bound_socket *bs)
{
        evhttp_del_accept_socket(rx->http, bs);
        connector_wait_delivered(rx->c);
        while (rx->pendings) {
                struct pending *p = rx->pendings;
                if (p->outstanding > 0)
                        p->failed = 1; /* not confirmed: CRM retries */
                p->outstanding = 0;
                pending_finish(p);
        }
        fprintf(stderr,
                "connector: webhook: %llu request(s), %llu "
                "rejected\n",
                (unsigned long long)rx->requests,
                (unsigned long long)rx->rejected);
}

int connector_run_webhook(struct connector *c, char *errstr, size_t errstr_size)
{
        struct webhook_rx           rx;
        struct evhttp_bound_socket *bs;
        struct timeval              tv = {0, 10 * 1000};
        int                         rc = -1, port, old_port;
        int                         subscribed, snapshot;

        memset(&rx, 0, sizeof(rx));
        rx.c           = c;
        c->on_delivery = on_delivery;
        if (webhook_server_new(&rx, errstr, errstr_size) ||
            webhook_restore(&rx, &old_port, &subscribed, &snapshot, errstr,
                            errstr_size) ||
            !(bs = webhook_listen(&rx, old_port, &port, errstr, errstr_size)))
                goto out;
        if (port != old_port)
                subscribed = snapshot = 0;
        if (webhook_subscribe(&rx, port, subscribed, snapshot, errstr,
                              errstr_size))
                goto out;
        rx.tick = event_new(rx.base, -1, EV_PERSIST, on_tick, &rx);
        if (!rx.tick || event_add(rx.tick, &tv)) {
                crmsync_err(errstr, errstr_size, "timer failed");
                goto out;
        }
        event_base_dispatch(rx.base);
        webhook_drain(&rx, bs);
        rc =
            c->fatal ? crmsync_err(errstr, errstr_size, "%s", c->fatal_err) : 0;
out:
        c->on_delivery = NULL;
        webhook_server_free(&rx);
        return rc;
}
