/* sink_http.c -- the fake sink's HTTP API (evhttp on the caller's
 * event_base) and its fault modes: outage (503, hang, refuse), latency and
 * partial bulk failure. The API is described in docs/sink-api.md. */
#include "sink_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "crmsync/common.h"
#include "crmsync/http_reply.h"
#include "crmsync/rand.h"

#define APPLIES_PAGE_DEFAULT 10000
#define APPLIES_PAGE_MAX 100000
#define PRNG_SEED 0x5eed5eed12345678ull

enum pending_kind {
        PENDING_DELAYED, /* latency timer, then handled */
        PENDING_HELD,    /* hang outage: dropped when it ends */
        PENDING_DROP,    /* refuse outage on a kept-alive connection */
};

struct pending {
        struct pending        *next, *prev;
        sink_server_t         *s;
        struct evhttp_request *req;
        struct event          *ev;
        enum pending_kind      kind;
};

static void handle(sink_server_t *s, struct evhttp_request *req,
                   int after_delay);

/* ---- replies and metrics ---------------------------------------------- */

static void count_request(sink_server_t *s, const char *endpoint, int status)
{
        for (size_t i = 0; i < s->nreqs; i++) {
                if (s->reqs[i].status == status &&
                    !strcmp(s->reqs[i].endpoint, endpoint)) {
                        s->reqs[i].count++;
                        return;
                }
        }
        if (s->nreqs < SINK_MAX_REQ_STATS) {
                s->reqs[s->nreqs].endpoint = endpoint; /* static string */
                s->reqs[s->nreqs].status   = status;
                s->reqs[s->nreqs].count    = 1;
                s->nreqs++;
        }
}

/* Send status + a JSON body already in buf (NULL: none; freed). */
static void reply_buf(sink_server_t *s, struct evhttp_request *req,
                      const char *endpoint, int status, struct evbuffer *buf)
{
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", "application/json");
        evhttp_send_reply(req, status, crmsync_http_reason(status), buf);
        if (buf)
                evbuffer_free(buf);
        count_request(s, endpoint, status);
}

/* Send status + body (stolen; NULL = empty object). */
static void reply(sink_server_t *s, struct evhttp_request *req,
                  const char *endpoint, int status, json_t *body)
{
        struct evbuffer *buf = evbuffer_new();
        char            *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (buf) {
                evbuffer_add_printf(buf, "%s\n", txt ? txt : "{}");
        }
        free(txt);
        reply_buf(s, req, endpoint, status, buf);
}

static void reply_error(sink_server_t *s, struct evhttp_request *req,
                        const char *endpoint, int status, const char *code,
                        const char *msg)
{
        json_t *b = json_pack("{s:s}", "error", code);
        if (b && msg)
                json_object_set_new(b, "message", json_string(msg));
        reply(s, req, endpoint, status, b);
}

/* ---- pending requests (latency, hang, refuse) ------------------------- */

static void pending_unlink(struct pending *p)
{
        if (p->prev)
                p->prev->next = p->next;
        else
                p->s->pending = p->next;
        if (p->next)
                p->next->prev = p->prev;
        if (p->ev)
                event_free(p->ev);
        free(p);
}

/* Close the request's connection without an answer. */
static void drop_request(struct evhttp_request *req)
{
        struct evhttp_connection *conn = evhttp_request_get_connection(req);
        if (conn)
                evhttp_connection_free(conn); /* frees req too */
        else
                evhttp_request_free(req); /* client already gone */
}

static void pending_fire(evutil_socket_t fd, short what, void *arg)
{
        struct pending        *p   = arg;
        sink_server_t         *s   = p->s;
        struct evhttp_request *req = p->req;
        enum pending_kind      k   = p->kind;
        (void)fd;
        (void)what;
        pending_unlink(p);
        if (k == PENDING_DROP)
                drop_request(req);
        else
                handle(s, req, 1);
}

static int pending_add(sink_server_t *s, struct evhttp_request *req,
                       enum pending_kind kind, uint32_t delay_ms)
{
        struct pending *p = calloc(1, sizeof(*p));
        if (!p)
                return -1;
        p->s    = s;
        p->req  = req;
        p->kind = kind;
        if (kind != PENDING_HELD) {
                struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
                p->ev             = evtimer_new(s->base, pending_fire, p);
                if (!p->ev || evtimer_add(p->ev, &tv)) {
                        if (p->ev)
                                event_free(p->ev);
                        free(p);
                        return -1;
                }
        }
        p->next = s->pending;
        if (s->pending)
                s->pending->prev = p;
        s->pending = p;
        return 0;
}

static void drop_held(sink_server_t *s)
{
        struct pending *p = s->pending, *next;
        for (; p; p = next) {
                next = p->next;
                if (p->kind != PENDING_HELD)
                        continue;
                struct evhttp_request *req = p->req;
                pending_unlink(p);
                drop_request(req);
        }
}

/* ---- endpoints -------------------------------------------------------- */

static int content_type_ok(struct evhttp_request *req)
{
        const char *ct = evhttp_find_header(
            evhttp_request_get_input_headers(req), "Content-Type");
        if (!ct)
                return 0;
        while (*ct == ' ')
                ct++;
        size_t n = strcspn(ct, "; ");
        return (n == 16 && !strncasecmp(ct, "application/json", n)) ||
               (n == 20 && !strncasecmp(ct, "application/x-ndjson", n));
}

/* One per-op result as JSON into buf: the usual ones written directly,
 * the ones with a message through jansson (which escapes it). */
static void add_result(struct evbuffer *buf, const struct sink_result *r)
{
        static const char applied[] = "{\"status\":200,\"result\":\"applied\"}";

        if (r->message) {
                json_t *o   = sink_result_json(r);
                char   *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
                evbuffer_add_printf(buf, "%s", txt ? txt : "{}");
                free(txt);
                json_decref(o);
        } else if (r->status == 200 && !strcmp(r->result, "applied") &&
                   r->stored_version < 0) {
                evbuffer_add(buf, applied, sizeof(applied) - 1);
        } else if (r->stored_version >= 0) {
                evbuffer_add_printf(buf,
                                    "{\"status\":%d,\"result\":\"%s\","
                                    "\"stored_version\":%lld}",
                                    r->status, r->result,
                                    (long long)r->stored_version);
        } else {
                evbuffer_add_printf(buf, "{\"status\":%d,\"result\":\"%s\"}",
                                    r->status, r->result);
        }
}

/* The request's body as operations (a JSON array or NDJSON) in *ops, 0;
 * or -1 after replying 413 (larger than max_body_bytes) or 400. */
static int read_ops_body(sink_server_t *s, struct evhttp_request *req,
                         const char *ep, int scan, struct sink_ops *ops)
{
        struct evbuffer *in  = evhttp_request_get_input_buffer(req);
        size_t           len = evbuffer_get_length(in);
        char             msg[256];
        const char      *data;

        if (len > s->max_body_bytes) {
                snprintf(msg, sizeof(msg), "body of %zu bytes exceeds %zu", len,
                         s->max_body_bytes);
                reply_error(s, req, ep, 413, "body_too_large", msg);
                return -1;
        }
        data = len ? (const char *)evbuffer_pullup(in, -1) : "";
        if ((scan ? sink_parse_ops : sink_parse_json_ops)(data, len, ops, msg,
                                                          sizeof(msg))) {
                reply_error(s, req, ep, 400, "bad_json", msg);
                return -1;
        }
        return 0;
}

static void do_bulk(sink_server_t *s, struct evhttp_request *req)
{
        const char     *ep = "bulk";
        struct sink_ops ops;

        if (!content_type_ok(req)) {
                reply_error(s, req, ep, 415, "unsupported_media_type",
                            "Content-Type must be application/json or "
                            "application/x-ndjson");
                return;
        }
        if (read_ops_body(s, req, ep, 1, &ops))
                return;
        size_t n = ops.n;
        if (!sink_store_log_has_room(&s->store, n)) {
                sink_ops_free(&ops);
                reply_error(s, req, ep, 507, "log_full",
                            "apply log reached max_log_entries");
                return;
        }
        struct evbuffer *res = evbuffer_new(), *out = evbuffer_new();
        int              errors = 0;
        for (size_t i = 0; res && out && i < n; i++) {
                struct sink_result r;
                int                fail =
                    s->partial_failure > 0 &&
                    crmsync_splitmix64_unit(&s->prng) < s->partial_failure;
                sink_store_apply(&s->store, &ops.v[i], s->blind_writes, fail,
                                 &r);
                errors |= r.status != 200;
                if (i)
                        evbuffer_add(res, ",", 1);
                add_result(res, &r);
        }
        sink_ops_free(&ops);
        if (!res || !out) {
                if (res)
                        evbuffer_free(res);
                if (out)
                        evbuffer_free(out);
                reply_error(s, req, ep, 500, "out_of_memory", NULL);
                return;
        }
        /* What json_dumps(JSON_COMPACT) of {"errors","results"} gave,
         * written directly: 500 results cost one copy, not a tree. */
        evbuffer_add_printf(out, "{\"errors\":%s,\"results\":[",
                            errors ? "true" : "false");
        evbuffer_add_buffer(out, res);
        evbuffer_add(out, "]}\n", 3);
        evbuffer_free(res);
        reply_buf(s, req, ep, 200, out);
}

static void do_dump(sink_server_t *s, struct evhttp_request *req)
{
        json_t *arr = json_array();
        for (size_t i = 0; i < s->store.nrecs; i++)
                json_array_append_new(arr,
                                      sink_store_record_json(s->store.recs[i]));
        reply(s, req, "dump", 200, json_pack("{s:o}", "records", arr));
}

static long long query_ll(struct evhttp_request *req, const char *name,
                          long long def, int *bad)
{
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
        const char              *q   = evhttp_uri_get_query(uri);
        struct evkeyvalq         kv;
        long long                v = def;
        if (!q)
                return def;
        /* evhttp_parse_query_str initialises kv. */
        if (evhttp_parse_query_str(q, &kv) == 0) {
                const char *val = evhttp_find_header(&kv, name);
                if (val) {
                        char *end;
                        errno = 0;
                        v     = strtoll(val, &end, 10);
                        if (errno || *end || end == val || v < 0)
                                *bad = 1;
                }
        }
        evhttp_clear_headers(&kv);
        return v;
}

static void do_applies(sink_server_t *s, struct evhttp_request *req)
{
        int       bad   = 0;
        long long since = query_ll(req, "since", 0, &bad);
        long long limit = query_ll(req, "limit", APPLIES_PAGE_DEFAULT, &bad);
        if (bad) {
                reply_error(s, req, "applies", 400, "bad_query",
                            "since and limit must be non-negative integers");
                return;
        }
        if (limit > APPLIES_PAGE_MAX)
                limit = APPLIES_PAGE_MAX;
        size_t total = s->store.napplies;
        size_t from  = (size_t)since < total ? (size_t)since : total;
        size_t to = from + (size_t)limit < total ? from + (size_t)limit : total;
        json_t *arr = json_array();
        for (size_t i = from; i < to; i++)
                json_array_append_new(
                    arr, sink_store_apply_json(&s->store.applies[i], i));
        reply(s, req, "applies", 200,
              json_pack("{s:o,s:I,s:I}", "applies", arr, "next", (json_int_t)to,
                        "total", (json_int_t)total));
}

static void do_side_effect_post(sink_server_t *s, struct evhttp_request *req)
{
        const char      *ep  = "side_effects";
        struct evbuffer *in  = evhttp_request_get_input_buffer(req);
        size_t           len = evbuffer_get_length(in);
        json_error_t     err;
        if (len > s->max_body_bytes) {
                reply_error(s, req, ep, 413, "body_too_large", NULL);
                return;
        }
        json_t *b = json_loadb(len ? (const char *)evbuffer_pullup(in, -1) : "",
                               len, 0, &err);
        if (!b) {
                reply_error(s, req, ep, 400, "bad_json", err.text);
                return;
        }
        const char *eid  = json_string_value(json_object_get(b, "event_id"));
        const char *kind = json_string_value(json_object_get(b, "kind"));
        const char *key  = json_string_value(json_object_get(b, "key"));
        if (!eid || !*eid || !kind || !*kind) {
                json_decref(b);
                reply_error(s, req, ep, 400, "bad_request",
                            "event_id and kind must be non-empty strings");
                return;
        }
        int64_t n =
            sink_store_side_effect(&s->store, eid, kind, key ? key : "");
        json_decref(b);
        if (n < 0)
                reply_error(s, req, ep, 400, "bad_request",
                            "event_id, kind or key too long");
        else if (n == 0)
                reply_error(s, req, ep, 507, "log_full",
                            "side-effect log reached max_log_entries");
        else
                reply(s, req, ep, 200,
                      json_pack("{s:I}", "count", (json_int_t)n));
}

/* POST /v1/side-effects/_bulk: a JSON array or NDJSON of side-effect
 * requests, one result each ({"status":200,"count":N} or the error of the
 * single POST), so that a client sends the effects of a whole batch in one
 * round trip and retries only the ones that failed. */
static void do_side_effect_bulk(sink_server_t *s, struct evhttp_request *req)
{
        const char     *ep = "side_effects_bulk";
        struct sink_ops reqs;

        if (read_ops_body(s, req, ep, 0, &reqs))
                return;
        json_t *results = json_array();
        for (size_t i = 0; i < reqs.n; i++) {
                const json_t *b = reqs.v[i].tree;
                const char   *eid =
                    json_string_value(json_object_get(b, "event_id"));
                const char *kind =
                    json_string_value(json_object_get(b, "kind"));
                const char *key = json_string_value(json_object_get(b, "key"));
                json_t     *r;
                if (!eid || !*eid || !kind || !*kind) {
                        r = json_pack("{s:i,s:s,s:s}", "status", 400, "error",
                                      "bad_request", "message",
                                      "event_id and kind must be non-empty "
                                      "strings");
                } else {
                        int64_t n = sink_store_side_effect(&s->store, eid, kind,
                                                           key ? key : "");
                        if (n < 0)
                                r = json_pack("{s:i,s:s,s:s}", "status", 400,
                                              "error", "bad_request", "message",
                                              "event_id, kind or key too "
                                              "long");
                        else if (n == 0)
                                r = json_pack("{s:i,s:s}", "status", 507,
                                              "error", "log_full");
                        else
                                r = json_pack("{s:i,s:I}", "status", 200,
                                              "count", (json_int_t)n);
                }
                json_array_append_new(results, r);
        }
        sink_ops_free(&reqs);
        reply(s, req, ep, 200, json_pack("{s:o}", "results", results));
}

static void do_side_effect_get(sink_server_t *s, struct evhttp_request *req)
{
        json_t *arr = json_array();
        for (size_t i = 0; i < s->store.nsefs; i++) {
                const struct side_effect *e = s->store.sefs[i];
                json_array_append_new(
                    arr, json_pack("{s:s,s:s,s:s,s:I}", "event_id", e->event_id,
                                   "kind", e->kind, "key", e->key, "count",
                                   (json_int_t)e->count));
        }
        reply(s, req, "side_effects_list", 200,
              json_pack("{s:o}", "side_effects", arr));
}

static const char *outage_name(enum sink_outage m)
{
        switch (m) {
        case SINK_OUTAGE_503:
                return "503";
        case SINK_OUTAGE_HANG:
                return "hang";
        case SINK_OUTAGE_REFUSE:
                return "refuse";
        case SINK_OUTAGE_TERMINATE:
                return "terminate";
        default:
                return "none";
        }
}

static void do_metrics(sink_server_t *s, struct evhttp_request *req)
{
        struct evbuffer            *b = evbuffer_new();
        const struct sink_counters *c = &s->store.c;
        if (!b)
                return;
        evbuffer_add_printf(b, "# TYPE crmsync_sink_requests_total counter\n");
        for (size_t i = 0; i < s->nreqs; i++)
                evbuffer_add_printf(
                    b,
                    "crmsync_sink_requests_total{endpoint=\"%s\","
                    "status=\"%d\"} %llu\n",
                    s->reqs[i].endpoint, s->reqs[i].status,
                    (unsigned long long)s->reqs[i].count);
        evbuffer_add_printf(
            b,
            "# TYPE crmsync_sink_ops_total counter\n"
            "crmsync_sink_ops_total{result=\"applied\"} %llu\n"
            "crmsync_sink_ops_total{result=\"stale\"} %llu\n"
            "crmsync_sink_ops_total{result=\"failed\"} %llu\n"
            "crmsync_sink_ops_total{result=\"bad_op\"} %llu\n"
            "crmsync_sink_ops_total{result=\"store_full\"} %llu\n"
            "crmsync_sink_ops_total{result=\"gap\"} %llu\n"
            "# TYPE crmsync_sink_side_effects_total counter\n"
            "crmsync_sink_side_effects_total %llu\n"
            "# TYPE crmsync_sink_side_effect_duplicates_total counter\n"
            "crmsync_sink_side_effect_duplicates_total %llu\n"
            "# TYPE crmsync_sink_records gauge\n"
            "crmsync_sink_records %zu\n"
            "# TYPE crmsync_sink_applies gauge\n"
            "crmsync_sink_applies %zu\n"
            "# TYPE crmsync_sink_outage gauge\n"
            "crmsync_sink_outage{mode=\"%s\"} 1\n"
            "# TYPE crmsync_sink_latency_ms gauge\n"
            "crmsync_sink_latency_ms %u\n"
            "# TYPE crmsync_sink_partial_failure_ratio gauge\n"
            "crmsync_sink_partial_failure_ratio %g\n",
            (unsigned long long)c->ops_applied,
            (unsigned long long)c->ops_stale, (unsigned long long)c->ops_failed,
            (unsigned long long)c->ops_bad, (unsigned long long)c->ops_full,
            (unsigned long long)c->ops_gap, (unsigned long long)c->side_effects,
            (unsigned long long)c->side_effect_duplicates, s->store.nrecs,
            s->store.napplies, outage_name(s->outage), s->latency_ms,
            s->partial_failure);
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", "text/plain; version=0.0.4");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
        count_request(s, "metrics", 200);
}

static json_t *mode_json(const sink_server_t *s)
{
        return json_pack("{s:s,s:i,s:f}", "outage", outage_name(s->outage),
                         "latency_ms", (int)s->latency_ms, "partial_failure",
                         s->partial_failure);
}

static void outage_timer_cb(evutil_socket_t fd, short what, void *arg)
{
        sink_server_t *s = arg;
        char           err[128];
        (void)fd;
        (void)what;
        /* Re-binding can fail only if another process took the port. */
        crmsync_sink_set_outage(s, SINK_OUTAGE_NONE, err, sizeof(err));
}

static void do_admin_mode(sink_server_t *s, struct evhttp_request *req)
{
        const char      *ep  = "admin";
        struct evbuffer *in  = evhttp_request_get_input_buffer(req);
        size_t           len = evbuffer_get_length(in);
        json_error_t     jerr;
        char             err[256];

        if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
                reply(s, req, ep, 200, mode_json(s));
                return;
        }
        if (len > 65536) {
                reply_error(s, req, ep, 413, "body_too_large", NULL);
                return;
        }
        json_t *b = json_loadb(len ? (const char *)evbuffer_pullup(in, -1) : "",
                               len, 0, &jerr);
        if (!json_is_object(b)) {
                json_decref(b);
                reply_error(s, req, ep, 400, "bad_json",
                            b ? "body must be an object" : jerr.text);
                return;
        }
        const json_t    *o    = json_object_get(b, "outage");
        const json_t    *l    = json_object_get(b, "latency_ms");
        const json_t    *pf   = json_object_get(b, "partial_failure");
        const json_t    *d    = json_object_get(b, "duration_ms");
        enum sink_outage mode = s->outage;
        const char      *bad  = NULL;
        if (o) {
                const char *v = json_string_value(o);
                if (!v)
                        bad = "outage must be a string";
                else if (!strcmp(v, "503"))
                        mode = SINK_OUTAGE_503;
                else if (!strcmp(v, "hang"))
                        mode = SINK_OUTAGE_HANG;
                else if (!strcmp(v, "refuse"))
                        mode = SINK_OUTAGE_REFUSE;
                else if (!strcmp(v, "terminate"))
                        mode = SINK_OUTAGE_TERMINATE;
                else if (!strcmp(v, "none"))
                        mode = SINK_OUTAGE_NONE;
                else
                        bad = "outage must be 503, hang, refuse, terminate "
                              "or none";
        }
        if (l && (!json_is_integer(l) || json_integer_value(l) < 0 ||
                  json_integer_value(l) > 600000))
                bad = "latency_ms must be an integer 0..600000";
        if (pf && (!json_is_number(pf) || json_number_value(pf) < 0 ||
                   json_number_value(pf) > 1))
                bad = "partial_failure must be a number 0..1";
        if (d && (!json_is_integer(d) || json_integer_value(d) <= 0 ||
                  json_integer_value(d) > 86400000))
                bad = "duration_ms must be a positive integer";
        if (bad) {
                json_decref(b);
                reply_error(s, req, ep, 400, "bad_request", bad);
                return;
        }
        if (l)
                crmsync_sink_set_latency(s, (uint32_t)json_integer_value(l));
        if (pf)
                crmsync_sink_set_partial_failure(s, json_number_value(pf));
        if (o && crmsync_sink_set_outage(s, mode, err, sizeof(err))) {
                json_decref(b);
                reply_error(s, req, ep, 500, "mode_failed", err);
                return;
        }
        if (d && s->outage != SINK_OUTAGE_NONE) {
                int64_t        ms = json_integer_value(d);
                struct timeval tv = {(time_t)(ms / 1000),
                                     (suseconds_t)((ms % 1000) * 1000)};
                if (!s->outage_timer)
                        s->outage_timer =
                            evtimer_new(s->base, outage_timer_cb, s);
                if (s->outage_timer)
                        evtimer_add(s->outage_timer, &tv);
        }
        json_decref(b);
        /* In refuse mode this connection is answered, then closed. */
        if (s->outage == SINK_OUTAGE_REFUSE)
                evhttp_add_header(evhttp_request_get_output_headers(req),
                                  "Connection", "close");
        reply(s, req, ep, 200, mode_json(s));
}

/* ---- routing ---------------------------------------------------------- */

static void dispatch(sink_server_t *s, struct evhttp_request *req,
                     const char *path)
{
        enum evhttp_cmd_type cmd  = evhttp_request_get_command(req);
        int                  get  = cmd == EVHTTP_REQ_GET;
        int                  post = cmd == EVHTTP_REQ_POST;
        const char          *pre  = "/v1/profiles/";

        if (!strcmp(path, "/v1/profiles/_bulk")) {
                if (post)
                        do_bulk(s, req);
                else
                        goto not_allowed;
        } else if (!strcmp(path, "/v1/profiles/_dump")) {
                if (get)
                        do_dump(s, req);
                else
                        goto not_allowed;
        } else if (!strncmp(path, pre, strlen(pre)) && path[strlen(pre)] &&
                   !strchr(path + strlen(pre), '/')) {
                if (!get)
                        goto not_allowed;
                char *acc = evhttp_uridecode(path + strlen(pre), 0, NULL);
                reply(s, req, "profile", 200,
                      sink_store_profile_json(&s->store,
                                              acc ? acc : path + strlen(pre)));
                free(acc);
        } else if (!strcmp(path, "/v1/applies")) {
                if (get)
                        do_applies(s, req);
                else
                        goto not_allowed;
        } else if (!strcmp(path, "/v1/side-effects/_bulk")) {
                if (post)
                        do_side_effect_bulk(s, req);
                else
                        goto not_allowed;
        } else if (!strcmp(path, "/v1/side-effects")) {
                if (post)
                        do_side_effect_post(s, req);
                else if (get)
                        do_side_effect_get(s, req);
                else
                        goto not_allowed;
        } else if (!strcmp(path, "/metrics")) {
                if (get)
                        do_metrics(s, req);
                else
                        goto not_allowed;
        } else if (!strcmp(path, "/_admin/mode")) {
                if (get || post)
                        do_admin_mode(s, req);
                else
                        goto not_allowed;
        } else {
                reply_error(s, req, "other", 404, "not_found", path);
        }
        return;
not_allowed:
        reply_error(s, req, "other", 405, "method_not_allowed", path);
}

/* Apply the fault modes, then dispatch. Control and metrics endpoints
 * bypass the faults so that a standalone sink can be steered. */
static void handle(sink_server_t *s, struct evhttp_request *req,
                   int after_delay)
{
        const char *path =
            evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
        if (!path || !*path)
                path = "/";
        int control =
            !strcmp(path, "/metrics") || !strncmp(path, "/_admin/", 8);
        if (!control) {
                switch (s->outage) {
                case SINK_OUTAGE_503:
                        evhttp_add_header(
                            evhttp_request_get_output_headers(req),
                            "Retry-After", "1");
                        reply_error(s, req, "outage", 503, "unavailable",
                                    "sink outage (injected)");
                        return;
                case SINK_OUTAGE_HANG:
                        if (pending_add(s, req, PENDING_HELD, 0))
                                drop_request(req);
                        return;
                case SINK_OUTAGE_REFUSE:
                case SINK_OUTAGE_TERMINATE:
                        if (pending_add(s, req, PENDING_DROP, 0))
                                drop_request(req);
                        return;
                case SINK_OUTAGE_NONE:
                        break;
                }
                if (!after_delay && s->latency_ms > 0) {
                        if (pending_add(s, req, PENDING_DELAYED,
                                        s->latency_ms) == 0)
                                return;
                }
        }
        dispatch(s, req, path);
}

static void gencb(struct evhttp_request *req, void *arg)
{
        handle(arg, req, 0);
}

/* ---- lifecycle and modes ---------------------------------------------- */

static int bind_listener(sink_server_t *s, int port, char *errstr,
                         size_t errstr_size)
{
        s->bound =
            evhttp_bind_socket_with_handle(s->http, s->host, (ev_uint16_t)port);
        if (!s->bound)
                return crmsync_err(errstr, errstr_size,
                                   "sink: cannot bind %s:%d: %s", s->host, port,
                                   strerror(errno));
        struct sockaddr_storage ss;
        socklen_t               sl  = sizeof(ss);
        evutil_socket_t         fd  = evhttp_bound_socket_get_fd(s->bound);
        int                     one = 1;
        /* Nagle off on the listener (accepted sockets inherit it): evhttp
         * does not set TCP_NODELAY, and the last partial segment of a bulk
         * reply then waited for the client's delayed ACK, ~40 ms per
         * request whatever the CPU did. */
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
                return crmsync_err(errstr, errstr_size,
                                   "sink: cannot set TCP_NODELAY: %s",
                                   strerror(errno));
        if (getsockname(fd, (struct sockaddr *)&ss, &sl))
                return crmsync_err(errstr, errstr_size, "sink: getsockname: %s",
                                   strerror(errno));
        if (ss.ss_family == AF_INET)
                s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else
                s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        return 0;
}

/* Creates the sink on base (caller keeps base; destroy the sink first). */
sink_server_t *crmsync_sink_server_new(struct event_base        *base,
                                       const struct sink_config *cfg,
                                       char *errstr, size_t errstr_size)
{
        sink_server_t *s = calloc(1, sizeof(*s));
        if (!s) {
                crmsync_err(errstr, errstr_size, "sink: out of memory");
                return NULL;
        }
        s->base = base;
        snprintf(s->host, sizeof(s->host), "%s",
                 cfg && cfg->bind_host ? cfg->bind_host : "127.0.0.1");
        s->blind_writes   = cfg ? cfg->blind_writes : 0;
        s->max_body_bytes = cfg && cfg->max_body_bytes ? cfg->max_body_bytes
                                                       : SINK_DEFAULT_MAX_BODY;
        s->prng           = PRNG_SEED;
        sink_store_init(&s->store, cfg ? cfg->max_log_entries : 0);
        s->http = evhttp_new(base);
        if (!s->http) {
                crmsync_err(errstr, errstr_size, "sink: evhttp_new failed");
                goto out_free;
        }
        /* Bodies between max_body_bytes and twice it get our JSON 413
         * (with the size); evhttp cuts off anything larger itself, and
         * the guard turns its answer, and every other error evhttp sends
         * by itself (malformed request, head over 64 KiB), into JSON. */
        s->guard =
            crmsync_http_guard_new(s->http, CRMSYNC_HTTP_MAX_HEADER_BYTES,
                                   s->max_body_bytes * 2 + 65536);
        if (!s->guard) {
                crmsync_err(errstr, errstr_size, "sink: out of memory");
                goto out_free;
        }
        evhttp_set_allowed_methods(
            s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                         EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
        evhttp_set_gencb(s->http, gencb, s);
        if (bind_listener(s, cfg ? cfg->port : 0, errstr, errstr_size))
                goto out_free;
        return s;
out_free:
        crmsync_sink_server_destroy(s);
        return NULL;
}

void crmsync_sink_server_destroy(sink_server_t *s)
{
        if (!s)
                return;
        while (s->pending) {
                struct evhttp_request *req = s->pending->req;
                pending_unlink(s->pending);
                /* Connected requests are freed with their connection by
                 * evhttp_free; orphaned ones (client gone) here. */
                if (!evhttp_request_get_connection(req))
                        evhttp_request_free(req);
        }
        if (s->outage_timer)
                event_free(s->outage_timer);
        if (s->http)
                evhttp_free(s->http);
        crmsync_http_guard_free(s->guard); /* after its connections */
        sink_store_fini(&s->store);
        free(s);
}

int crmsync_sink_server_port(const sink_server_t *s)
{
        return s->port;
}

/* Switch the outage mode. Leaving hang drops every held request by
 * closing its connection; leaving refuse re-binds the same port. */
int crmsync_sink_set_outage(sink_server_t *s, enum sink_outage mode,
                            char *errstr, size_t errstr_size)
{
        enum sink_outage old = s->outage;
        if (mode == old)
                return 0;
        if (old == SINK_OUTAGE_REFUSE && !s->bound) {
                if (bind_listener(s, s->port, errstr, errstr_size))
                        return -1; /* still refusing */
        }
        if (s->outage_timer && mode == SINK_OUTAGE_NONE)
                evtimer_del(s->outage_timer);
        s->outage = mode;
        if (old == SINK_OUTAGE_HANG)
                drop_held(s);
        if (mode == SINK_OUTAGE_REFUSE && s->bound) {
                evhttp_del_accept_socket(s->http, s->bound);
                s->bound = NULL;
        }
        return 0;
}

void crmsync_sink_set_latency(sink_server_t *s, uint32_t latency_ms)
{
        s->latency_ms = latency_ms;
}

/* ratio of valid ops answered 500 and not applied; the draw sequence
 * restarts from a fixed seed at each call, so runs are reproducible. */
void crmsync_sink_set_partial_failure(sink_server_t *s, double ratio)
{
        s->partial_failure = ratio < 0 ? 0 : ratio > 1 ? 1 : ratio;
        s->prng            = PRNG_SEED;
}

static int sink_fault_outage(sink_server_t *s, const json_t *params, int on,
                             char *errstr, size_t errstr_size)
{
        const char *m = json_string_value(json_object_get(params, "mode"));
        if (!on)
                return crmsync_sink_set_outage(s, SINK_OUTAGE_NONE, errstr,
                                               errstr_size);
        if (m && !strcmp(m, "503"))
                return crmsync_sink_set_outage(s, SINK_OUTAGE_503, errstr,
                                               errstr_size);
        if (m && !strcmp(m, "hang"))
                return crmsync_sink_set_outage(s, SINK_OUTAGE_HANG, errstr,
                                               errstr_size);
        if (m && !strcmp(m, "refuse"))
                return crmsync_sink_set_outage(s, SINK_OUTAGE_REFUSE, errstr,
                                               errstr_size);
        if (m && !strcmp(m, "terminate"))
                return crmsync_sink_set_outage(s, SINK_OUTAGE_TERMINATE, errstr,
                                               errstr_size);
        return crmsync_err(errstr, errstr_size,
                           "sink_outage: mode must be "
                           "503|hang|refuse|terminate");
}

int crmsync_sink_fault(sink_server_t *s, const char *type, const json_t *params,
                       int on, char *errstr, size_t errstr_size)
{
        const json_t *v;

        if (!strcmp(type, "sink_outage"))
                return sink_fault_outage(s, params, on, errstr, errstr_size);
        if (!strcmp(type, "sink_slow")) {
                v = json_object_get(params, "latency_ms");
                if (on && (!json_is_integer(v) || json_integer_value(v) < 0 ||
                           json_integer_value(v) > UINT32_MAX))
                        return crmsync_err(errstr, errstr_size,
                                           "sink_slow: latency_ms must be "
                                           "an integer >= 0");
                crmsync_sink_set_latency(s, on ? (uint32_t)json_integer_value(v)
                                               : 0);
                return 0;
        }
        if (!strcmp(type, "sink_partial_failure")) {
                v = json_object_get(params, "ratio");
                if (on && (!json_is_number(v) || json_number_value(v) < 0 ||
                           json_number_value(v) > 1))
                        return crmsync_err(errstr, errstr_size,
                                           "sink_partial_failure: ratio "
                                           "must be a number in 0..1");
                crmsync_sink_set_partial_failure(s,
                                                 on ? json_number_value(v) : 0);
                return 0;
        }
        return crmsync_err(errstr, errstr_size, "unknown sink fault '%s'",
                           type);
}
