/* crm_server.c -- the mock CRM's HTTP server: routing, errors, throttling,
 * slow responses, webhooks, metrics and the fault entry point. */
#include "crm_int.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crmsync/http_reply.h"

#define TICK_MS 20 /* how often newly committed events are made visible */

/* ------------------------------------------------------------------ */
/* Replies */

void crm_count_served(crm_server_t *s, const char *via, uint64_t n)
{
        char labels[32];
        if (!s->metrics || !n)
                return;
        snprintf(labels, sizeof(labels), "via=%s", via);
        crmsync_metrics_inc(s->metrics, CRMSYNC_METRIC_EVENTS, labels, n);
}

static void count_request(crm_server_t *s, struct evhttp_request *req,
                          int status)
{
        char        labels[96];
        const char *uri = evhttp_request_get_uri(req);
        const char *ep  = "other";
        if (!s->metrics)
                return;
        if (uri && !strncmp(uri, "/v1/changes", 11))
                ep = "/v1/changes";
        else if (uri && !strncmp(uri, "/v1/objects", 11))
                ep = "/v1/objects";
        else if (uri && !strncmp(uri, "/v1/subscriptions", 17))
                ep = "/v1/subscriptions";
        else if (uri && !strncmp(uri, "/crm/v3/objects", 15))
                ep = "/crm/v3/objects";
        else if (uri && !strncmp(uri, "/services/", 10))
                ep = "/services";
        else if (uri && !strncmp(uri, "/_admin", 7))
                ep = "/_admin";
        else if (uri && !strcmp(uri, "/metrics"))
                ep = "/metrics";
        snprintf(labels, sizeof(labels), "endpoint=%s,status=%d", ep, status);
        crmsync_metrics_inc(s->metrics, CRMSYNC_METRIC_REQUESTS, labels, 1);
}

/* A response delayed by the slow_responses fault. */
struct slow_reply {
        crm_server_t             *s;
        struct evhttp_request    *req;
        struct evhttp_connection *conn;
        struct evbuffer          *body;
        int                       status;
        struct event             *timer;
};

static void slow_free(struct slow_reply *sr)
{
        event_free(sr->timer);
        evbuffer_free(sr->body);
        free(sr);
}

static void slow_closed(struct evhttp_connection *conn, void *arg)
{
        (void)conn;
        slow_free(arg); /* the client left: never touch req again */
}

static void slow_fire(evutil_socket_t fd, short what, void *arg)
{
        struct slow_reply *sr = arg;
        (void)fd;
        (void)what;
        evhttp_connection_set_closecb(sr->conn, NULL, NULL);
        evhttp_send_reply(sr->req, sr->status, crmsync_http_reason(sr->status),
                          sr->body);
        slow_free(sr);
}

void crm_reply_json(crm_server_t *s, struct evhttp_request *req, int status,
                    struct evbuffer *body)
{
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        if (!evhttp_find_header(h, "Content-Type"))
                evhttp_add_header(h, "Content-Type", "application/json");
        count_request(s, req, status);
        const char *uri = evhttp_request_get_uri(req);
        /* Only the CRM API is slow; admin and metrics answer at once. */
        if (s->slow_ms > 0 && uri &&
            (!strncmp(uri, "/v1/", 4) || !strncmp(uri, "/crm/", 5) ||
             !strncmp(uri, "/services/data/", 15))) {
                struct slow_reply *sr = calloc(1, sizeof(*sr));
                struct timeval     tv = {(time_t)(s->slow_ms / 1000),
                                         (suseconds_t)(s->slow_ms % 1000) * 1000};
                if (sr && (sr->body = evbuffer_new()) &&
                    (sr->timer = evtimer_new(s->base, slow_fire, sr))) {
                        sr->s      = s;
                        sr->req    = req;
                        sr->conn   = evhttp_request_get_connection(req);
                        sr->status = status;
                        evbuffer_add_buffer(sr->body, body);
                        evhttp_connection_set_closecb(sr->conn, slow_closed,
                                                      sr);
                        evtimer_add(sr->timer, &tv);
                        return;
                }
                if (sr) {
                        if (sr->body)
                                evbuffer_free(sr->body);
                        free(sr);
                }
        }
        evhttp_send_reply(req, status, crmsync_http_reason(status), body);
}

void crm_reply_value(crm_server_t *s, struct evhttp_request *req, int status,
                     json_t *body, const char *empty)
{
        char            *t = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        struct evbuffer *b = evbuffer_new();

        if (t)
                evbuffer_add(b, t, strlen(t));
        else
                evbuffer_add(b, empty, strlen(empty));
        crm_reply_json(s, req, status, b);
        evbuffer_free(b);
        free(t);
        json_decref(body);
}

void crm_observe_records(crm_server_t *s, const uint32_t *idx, size_t n,
                         const char *via)
{
        if (s->observer)
                for (size_t i = 0; i < n; i++)
                        s->observer(s->observer_opaque,
                                    crmsync_workload_event(
                                        s->w, s->live[idx[i]].last_ev),
                                    via, crmsync_wall_ms());
        crm_count_served(s, via, n);
}

void crm_reply_verror(crm_server_t *s, struct evhttp_request *req, int status,
                      enum crm_error_shape shape, const char *code,
                      const char *fmt, va_list ap)
{
        char msg[320], cid[48];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (shape == CRM_ERROR_SALESFORCE) {
                crm_reply_value(
                    s, req, status,
                    json_pack("[{s:s,s:s}]", "message", msg, "errorCode", code),
                    "[]");
                return;
        }
        if (shape == CRM_ERROR_HUBSPOT) {
                crm_hubspot_correlation_id(cid, sizeof(cid));
                crm_reply_value(
                    s, req, status,
                    json_pack("{s:s,s:s,s:s,s:s}", "status", "error", "message",
                              msg, "correlationId", cid, "category", code),
                    "{}");
                return;
        }
        char            *t = crmsync_json_error(code, msg);
        struct evbuffer *b = evbuffer_new();
        if (t)
                evbuffer_add(b, t, strlen(t));
        else
                evbuffer_add_printf(b, "{\"error\":\"%s\"}", code);
        crm_reply_json(s, req, status, b);
        evbuffer_free(b);
        free(t);
}

void crm_reply_error(crm_server_t *s, struct evhttp_request *req, int status,
                     const char *code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        crm_reply_verror(s, req, status, CRM_ERROR_V1, code, fmt, ap);
        va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Request bodies */

/* The request body as a NUL-terminated copy (caller frees), or NULL after
 * replying with a 4xx (wrong content type, too large). */
static char *read_json_body(crm_server_t *s, struct evhttp_request *req,
                            size_t *len)
{
        struct evkeyvalq *h  = evhttp_request_get_input_headers(req);
        const char       *ct = evhttp_find_header(h, "Content-Type");
        struct evbuffer  *in = evhttp_request_get_input_buffer(req);
        size_t            n  = evbuffer_get_length(in);
        char             *b;

        if (!ct || strncasecmp(ct, "application/json", 16) ||
            (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
                crm_reply_error(s, req, 415, "unsupported_media_type",
                                "Content-Type must be application/json");
                return NULL;
        }
        if (n > CRM_BODY_MAX) {
                crm_reply_error(s, req, 413, "body_too_large",
                                "request body exceeds %d bytes", CRM_BODY_MAX);
                return NULL;
        }
        b = malloc(n + 1);
        if (!b) {
                crm_reply_error(s, req, 503, "unavailable", "out of memory");
                return NULL;
        }
        evbuffer_copyout(in, b, n);
        b[n] = '\0';
        *len = n;
        return b;
}

static void handle_admin_faults(crm_server_t *s, struct evhttp_request *req)
{
        char         errstr[256];
        json_error_t jerr;
        size_t       len;
        char        *body = read_json_body(s, req, &len);
        json_t      *j, *type, *on, *params;

        if (!body)
                return;
        j = json_loadb(body, len, 0, &jerr);
        free(body);
        if (!j || !json_is_object(j)) {
                crm_reply_error(s, req, 400, "bad_json",
                                "body must be a JSON object (%s)",
                                j ? "not an object" : jerr.text);
                json_decref(j);
                return;
        }
        type   = json_object_get(j, "type");
        on     = json_object_get(j, "on");
        params = json_object_get(j, "params");
        if (!json_is_string(type) || (on && !json_is_boolean(on)) ||
            (params && !json_is_object(params))) {
                crm_reply_error(s, req, 400, "bad_fault",
                                "expected {\"type\":string,\"on\":bool,"
                                "\"params\":{...}}");
        } else if (crmsync_crm_server_fault(s, json_string_value(type), params,
                                            !on || json_is_true(on), errstr,
                                            sizeof(errstr))) {
                crm_reply_error(s, req, 400, "bad_fault", "%s", errstr);
        } else {
                struct evbuffer *b = evbuffer_new();
                evbuffer_add_printf(b, "{\"ok\":true}");
                crm_reply_json(s, req, 200, b);
                evbuffer_free(b);
        }
        json_decref(j);
}

static void handle_subscriptions(crm_server_t *s, struct evhttp_request *req)
{
        char   why[256] = "";
        size_t len;
        char  *body = read_json_body(s, req, &len);
        if (!body)
                return;
        int st = crmsync_webhook_subscribe_json(s->webhook, body, len, why,
                                                sizeof(why));
        free(body);
        if (st == 201) {
                struct evbuffer *b = evbuffer_new();
                evbuffer_add_printf(b, "{\"id\":%ld}", strtol(why, NULL, 10));
                crm_reply_json(s, req, 201, b);
                evbuffer_free(b);
                return;
        }
        crm_reply_error(s, req, st >= 400 && st < 500 ? st : 400,
                        st == 409 ? "too_many_subscriptions"
                                  : "bad_subscription",
                        "%s", why);
}

/* DELETE /v1/subscriptions/{id}: free the slot and drop what it held. */
static void handle_unsubscribe(crm_server_t *s, struct evhttp_request *req,
                               const char *id_text)
{
        char     why[128];
        uint64_t id;

        if (crmsync_parse_u64(id_text, 1, INT32_MAX, &id)) {
                crm_reply_error(s, req, 400, "bad_subscription",
                                "subscription id must be a positive integer, "
                                "got \"%.32s\"",
                                id_text);
                return;
        }
        if (crmsync_webhook_unsubscribe(s->webhook, (int)id, why,
                                        sizeof(why))) {
                crm_reply_error(s, req, 404, "subscription_not_found", "%s",
                                why);
                return;
        }
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "{\"id\":%llu,\"deleted\":true}",
                            (unsigned long long)id);
        crm_reply_json(s, req, 200, b);
        evbuffer_free(b);
}

static void handle_metrics(crm_server_t *s, struct evhttp_request *req)
{
        struct evbuffer *b = evbuffer_new();
        crmsync_metrics_set(s->metrics, "crmsync_crm_events_committed", NULL,
                            (double)s->applied);
        crmsync_metrics_render(s->metrics, b);
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", crmsync_metrics_content_type());
        crm_reply_json(s, req, 200, b);
        evbuffer_free(b);
}

/* ------------------------------------------------------------------ */
/* Routing */

static int want_method(crm_server_t *s, struct evhttp_request *req,
                       enum evhttp_cmd_type m)
{
        if (evhttp_request_get_command(req) == m)
                return 1;
        const char *name = m == EVHTTP_REQ_GET      ? "GET"
                           : m == EVHTTP_REQ_DELETE ? "DELETE"
                                                    : "POST";
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          name);
        crm_reply_error(s, req, 405, "method_not_allowed",
                        "use %s for this path", name);
        return 0;
}

/* Throttle check for /v1 requests; returns 1 when the request may go on. */
static int throttle_ok(crm_server_t *s, struct evhttp_request *req)
{
        struct crm_throttle_result r;
        char                       client[CRMSYNC_THROTTLE_CLIENT_MAX];

        if (!s->throttle)
                return 1;
        crmsync_throttle_client_id(req, client, sizeof(client));
        if (crmsync_throttle_check(s->throttle, client, crmsync_wall_ms(),
                                   &r) == CRM_THROTTLE_OK)
                return 1;
        crmsync_throttle_add_headers(&r,
                                     evhttp_request_get_output_headers(req));
        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, r.body, strlen(r.body));
        crm_reply_json(s, req, r.http_status, b);
        evbuffer_free(b);
        return 0;
}

static void on_route(crm_server_t *s, struct evhttp_request *req,
                     const char *path, const char *query);

static void on_request(struct evhttp_request *req, void *arg)
{
        crm_server_t            *s     = arg;
        const struct evhttp_uri *uri   = evhttp_request_get_evhttp_uri(req);
        const char              *path  = uri ? evhttp_uri_get_path(uri) : NULL;
        const char              *query = uri ? evhttp_uri_get_query(uri) : NULL;

        if (!path || !*path) {
                crm_reply_error(s, req, 400, "bad_request", "malformed URI");
                return;
        }
        /* Whose request the observer is told about (shadow mode: two
         * connectors on one CRM). Asynchronous deliveries have none. */
        crmsync_throttle_client_id(req, s->serving_client,
                                   sizeof(s->serving_client));
        on_route(s, req, path, query);
        s->serving_client[0] = '\0';
}

static void on_route(crm_server_t *s, struct evhttp_request *req,
                     const char *path, const char *query)
{
        if (!strcmp(path, "/v1/changes")) {
                if (want_method(s, req, EVHTTP_REQ_GET) && throttle_ok(s, req))
                        crm_feed_handle_changes(s, req, query);
        } else if (!strncmp(path, "/v1/objects/", 12)) {
                if (want_method(s, req, EVHTTP_REQ_GET) && throttle_ok(s, req))
                        crm_objects_handle(s, req, path + 12, query);
        } else if (!strcmp(path, "/v1/subscriptions")) {
                if (want_method(s, req, EVHTTP_REQ_POST) && throttle_ok(s, req))
                        handle_subscriptions(s, req);
        } else if (!strncmp(path, "/v1/subscriptions/", 18)) {
                if (want_method(s, req, EVHTTP_REQ_DELETE) &&
                    throttle_ok(s, req))
                        handle_unsubscribe(s, req, path + 18);
        } else if (!strncmp(path, "/crm/v3/", 8) ||
                   !strncmp(path, "/crm/v4/", 8)) {
                crm_hubspot_handle(s, req, path, query);
        } else if (!strncmp(path, "/webhooks/v3/", 13)) {
                crm_hubspot_webhooks_handle(s, req, path, query);
        } else if (!strncmp(path, "/services/", 10)) {
                crm_salesforce_handle(s, req, path, query);
        } else if (!strncmp(path, "/cometd/", 8)) {
                crm_cometd_handle(s, req);
        } else if (!strcmp(path, "/_admin/faults")) {
                if (want_method(s, req, EVHTTP_REQ_POST))
                        handle_admin_faults(s, req);
        } else if (!strcmp(path, "/metrics")) {
                if (want_method(s, req, EVHTTP_REQ_GET))
                        handle_metrics(s, req);
        } else {
                crm_reply_error(s, req, 404, "not_found", "no route for %.128s",
                                path);
        }
}

/* Webhook deliveries reach the history observer as via = "webhook". */
static void on_webhook_outcome(void *opaque, const char *event_id,
                               const char *url, uint32_t attempt,
                               enum crm_webhook_outcome outcome,
                               int http_status, int64_t wall_ms)
{
        crm_server_t *s = opaque;
        char         *end;
        (void)url;
        (void)attempt;
        (void)http_status;
        if (outcome != CRM_WEBHOOK_DELIVERED || strncmp(event_id, "e-", 2))
                return;
        unsigned long long seq = strtoull(event_id + 2, &end, 10);
        if (*end || seq < 1 || seq > s->ev_cnt)
                return;
        crm_count_served(s, "webhook", 1);
        if (s->observer)
                s->observer(s->observer_opaque,
                            crmsync_workload_event(s->w, (size_t)seq - 1),
                            "webhook", wall_ms);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        crm_feed_advance(arg, crmsync_wall_ms());
}

/* Turn Nagle off on the listener; Linux (and the BSDs) copy the option
 * to every accepted socket. evhttp does not set TCP_NODELAY itself, and a
 * page is rarely a multiple of the MSS: Nagle then held its last segment
 * until the client's delayed ACK (~40 ms), so every keep-alive connection
 * got about 22 pages/s whatever the CPU did. */
static int set_nodelay(evutil_socket_t fd)
{
        int one = 1;
        return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ------------------------------------------------------------------ */
/* Public API */

crm_server_t *crmsync_crm_server_new(struct event_base              *base,
                                     const struct crm_server_config *cfg,
                                     char *errstr, size_t errstr_size)
{
        crm_server_t               *s;
        struct evhttp_bound_socket *bs;
        struct sockaddr_storage     ss;
        socklen_t                   sl = sizeof(ss);

        if (!base || !cfg || !cfg->workload) {
                crmsync_err(errstr, errstr_size,
                            "crm server needs an event base and a workload");
                return NULL;
        }
        if (cfg->port < 0 || cfg->port > 65535 || cfg->retention_ms < 0 ||
            !(cfg->error_rate_5xx >= 0 && cfg->error_rate_5xx <= 1) ||
            !(cfg->rate_limit_per_s >= 0)) {
                crmsync_err(errstr, errstr_size,
                            "crm server: bad port, retention, rate limit or "
                            "5xx ratio");
                return NULL;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        s->base   = base;
        s->cfg    = *cfg;
        s->w      = cfg->workload;
        s->ev_cnt = crmsync_workload_event_cnt(s->w);
        s->start_wall_ms =
            cfg->start_wall_ms ? cfg->start_wall_ms : crmsync_wall_ms();
        s->seed = crmsync_workload_config(s->w)->seed ^ 0x43524d5345525645ULL;
        if (!s->cfg.max_page)
                s->cfg.max_page = CRM_DEFAULT_MAX;
        s->cfg.bind_host = NULL; /* not kept: the caller's string */

        if (crm_feed_init(s, errstr, errstr_size) ||
            crm_objects_init(s, errstr, errstr_size))
                goto out_free;

        s->metrics                    = crmsync_metrics_new(0);
        struct crm_throttle_config tc = {0};
        tc.rate_per_s                 = cfg->rate_limit_per_s;
        tc.burst                      = cfg->rate_burst;
        tc.daily_quota                = cfg->daily_quota;
        tc.error_ratio_5xx            = cfg->error_rate_5xx;
        tc.seed                       = s->seed;
        tc.metrics                    = s->metrics;
        s->throttle                   = crmsync_throttle_new(&tc);
        struct crm_webhook_config wc  = {0};
        wc.seed                       = s->seed;
        wc.metrics                    = s->metrics;
        s->webhook                    = crmsync_webhook_new(base, &wc);
        if (!s->metrics || !s->throttle || !s->webhook) {
                crmsync_err(errstr, errstr_size,
                            "cannot create metrics, throttle or webhooks");
                goto out_free;
        }

        crmsync_webhook_set_observer(s->webhook, on_webhook_outcome, s);
        crmsync_webhook_set_formatter(s->webhook, crm_hubspot_webhook_body, s);

        s->http = evhttp_new(base);
        if (!s->http) {
                crmsync_err(errstr, errstr_size, "evhttp_new failed");
                goto out_free;
        }
        evhttp_set_allowed_methods(
            s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                         EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                         EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
        /* Bodies up to 4x CRM_BODY_MAX reach read_json_body (413 with
         * the size); evhttp cuts off larger ones and heads over 64 KiB,
         * and the guard makes those answers JSON like ours. */
        s->guard = crmsync_http_guard_new(
            s->http, CRMSYNC_HTTP_MAX_HEADER_BYTES, 4 * CRM_BODY_MAX);
        if (!s->guard) {
                crmsync_err(errstr, errstr_size, "out of memory");
                goto out_free;
        }
        evhttp_set_timeout(s->http, 60);
        evhttp_set_gencb(s->http, on_request, s);
        bs = evhttp_bind_socket_with_handle(
            s->http, cfg->bind_host ? cfg->bind_host : "127.0.0.1",
            (ev_uint16_t)cfg->port);
        if (!bs) {
                crmsync_err(errstr, errstr_size, "cannot bind %s:%d",
                            cfg->bind_host ? cfg->bind_host : "127.0.0.1",
                            cfg->port);
                goto out_free;
        }
        if (set_nodelay(evhttp_bound_socket_get_fd(bs))) {
                crmsync_err(errstr, errstr_size,
                            "cannot set TCP_NODELAY on the listener");
                goto out_free;
        }
        if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
                        &sl) == 0)
                s->port = ntohs(ss.ss_family == AF_INET6
                                    ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                    : ((struct sockaddr_in *)&ss)->sin_port);

        struct timeval tv = {0, TICK_MS * 1000};
        s->tick           = event_new(base, -1, EV_PERSIST, on_tick, s);
        if (!s->tick || event_add(s->tick, &tv)) {
                crmsync_err(errstr, errstr_size, "cannot start the timer");
                goto out_free;
        }
        crm_feed_advance(s, crmsync_wall_ms());
        return s;

out_free:
        crmsync_crm_server_destroy(s);
        return NULL;
}

void crmsync_crm_server_destroy(crm_server_t *s)
{
        if (!s)
                return;
        if (s->tick)
                event_free(s->tick);
        crm_cometd_destroy(s); /* before the requests it holds go */
        if (s->http)
                evhttp_free(s->http);      /* closes slow replies too */
        crmsync_http_guard_free(s->guard); /* after its connections */
        crmsync_webhook_destroy(s->webhook);
        crmsync_throttle_destroy(s->throttle);
        crmsync_metrics_destroy(s->metrics);
        crm_objects_destroy(s);
        crm_feed_destroy(s);
        free(s->sf_loc);
        free(s);
}

int crmsync_crm_server_port(const crm_server_t *s)
{
        return s ? s->port : -1;
}

const char *crmsync_crm_server_serving_client(const crm_server_t *s)
{
        return s->serving_client;
}

void crmsync_crm_server_set_observer(crm_server_t *s, crm_serve_cb *cb,
                                     void *opaque)
{
        s->observer        = cb;
        s->observer_opaque = opaque;
}

size_t crmsync_crm_server_committed(const crm_server_t *s)
{
        int64_t rel = crmsync_wall_ms() - s->start_wall_ms;
        size_t  lo = 0, hi = s->ev_cnt;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (crmsync_workload_event(s->w, mid)->commit_ms <= rel)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

size_t crmsync_crm_server_clients(const crm_server_t               *s,
                                  struct crm_throttle_client_stats *out,
                                  size_t                            max)
{
        return s ? crmsync_throttle_clients(s->throttle, out, max) : 0;
}

size_t crmsync_crm_server_dropped(const crm_server_t *s, const uint64_t **seqs)
{
        if (seqs)
                *seqs = s->dropped;
        return s->dropped_cnt;
}

static int get_ratio_param(const json_t *params, double def, double *out,
                           char *errstr, size_t errstr_size)
{
        json_t *v = params ? json_object_get(params, "ratio") : NULL;
        *out      = def;
        if (!v)
                return 0;
        if (!json_is_number(v) || json_number_value(v) < 0 ||
            json_number_value(v) > 1)
                return crmsync_err(errstr, errstr_size,
                                   "ratio must be a number in 0..1");
        *out = json_number_value(v);
        return 0;
}

int crmsync_crm_server_fault(crm_server_t *s, const char *type,
                             const json_t *params, int on, char *errstr,
                             size_t errstr_size)
{
        double v;

        if (!s || !type)
                return crmsync_err(errstr, errstr_size, "no fault type");
        if (params && !json_is_object(params))
                return crmsync_err(errstr, errstr_size,
                                   "fault params must be an object");
        if (!strcmp(type, "throttle_storm")) {
                json_t *r =
                    params ? json_object_get(params, "rate_per_s") : NULL;
                v = r ? json_number_value(r) : 1;
                if (r && (!json_is_number(r) || v <= 0))
                        return crmsync_err(errstr, errstr_size,
                                           "rate_per_s must be > 0");
                crmsync_throttle_set_storm(s->throttle, on ? v : 0);
                return 0;
        }
        if (!strcmp(type, "crm_5xx_burst")) {
                if (get_ratio_param(params, 0.5, &v, errstr, errstr_size))
                        return -1;
                crmsync_throttle_set_5xx(s->throttle,
                                         on ? v : s->cfg.error_rate_5xx);
                return 0;
        }
        if (!strcmp(type, "webhook_storm")) {
                if (get_ratio_param(params, 0.2, &v, errstr, errstr_size))
                        return -1;
                crmsync_webhook_set_storm(s->webhook, on ? v : 0);
                return 0;
        }
        if (!strcmp(type, "webhook_ack_loss")) {
                if (get_ratio_param(params, 0.2, &v, errstr, errstr_size))
                        return -1;
                crmsync_webhook_set_ack_loss(s->webhook, on ? v : 0);
                return 0;
        }
        if (!strcmp(type, "expire_sessions")) { /* Salesforce sessions */
                s->sf_expired_serial = s->sf_serial;
                return 0;
        }
        if (!strncmp(type, "cdc_", 4)) /* Salesforce CDC */
                return crm_cometd_fault(s, type, params, on, errstr,
                                        errstr_size);
        if (!strcmp(type, "slow_responses")) {
                json_t *d = params ? json_object_get(params, "delay_ms") : NULL;
                v         = d ? json_number_value(d) : 1000;
                if (d && (!json_is_number(d) || v < 0 || v > 600000))
                        return crmsync_err(errstr, errstr_size,
                                           "delay_ms must be in 0..600000");
                s->slow_ms = on ? (int64_t)v : 0;
                return 0;
        }
        return crm_feed_fault(s, type, params, on, errstr, errstr_size);
}
