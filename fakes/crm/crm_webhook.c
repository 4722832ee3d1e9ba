/* crm_webhook.c -- webhook signatures, subscriptions and the delivery
 * dispatcher of the mock CRM (HubSpot-style batches, retries, faults). */
#include "crm_webhook.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "crmsync/common.h"
#include "crmsync/hmac.h"
#include "crmsync/rand.h"

#define SUBSCRIBE_BODY_MAX 8192

/* ------------------------------------------------------------------ */
/* Signatures                                                          */
/* ------------------------------------------------------------------ */

int crmsync_webhook_sign(const char *secret, const char *method,
                         const char *uri, const char *body, size_t body_len,
                         int64_t ts_ms, char *out_b64, size_t out_size)
{
        unsigned char      mac[CRMSYNC_SHA256_LEN];
        char               ts[32];
        int                tl;
        struct crmsync_iov parts[4];

        if (!secret || !method || !uri || (!body && body_len) || !out_b64 ||
            out_size < CRMSYNC_SHA256_B64_SIZE)
                return -1;
        tl = snprintf(ts, sizeof(ts), "%lld", (long long)ts_ms);
        if (tl < 0)
                return -1;
        /* v3: method + uri + body + decimal timestamp. */
        parts[0] = (struct crmsync_iov){method, strlen(method)};
        parts[1] = (struct crmsync_iov){uri, strlen(uri)};
        parts[2] = (struct crmsync_iov){body, body_len};
        parts[3] = (struct crmsync_iov){ts, (size_t)tl};
        if (crmsync_hmac_sha256(secret, strlen(secret), parts, 4, mac))
                return -1;
        return crmsync_base64_encode(mac, sizeof(mac), out_b64, out_size) < 0
                   ? -1
                   : 0;
}

int crmsync_webhook_verify(const char *secret, const char *method,
                           const char *uri, const char *body, size_t body_len,
                           int64_t ts_ms, const char *sig_b64, int64_t now_ms,
                           int64_t window_ms)
{
        char   expect[CRMSYNC_WEBHOOK_SIG_MAX];
        size_t elen;

        if (window_ms <= 0)
                window_ms = CRMSYNC_WEBHOOK_WINDOW_MS;
        if (now_ms - ts_ms > window_ms || ts_ms - now_ms > window_ms)
                return -2;
        if (!sig_b64 ||
            crmsync_webhook_sign(secret, method, uri, body, body_len, ts_ms,
                                 expect, sizeof(expect)) != 0)
                return -1;
        elen = strlen(expect);
        /* Lengths are public; contents are compared in constant time. */
        if (strlen(sig_b64) != elen)
                return -1;
        return crmsync_ct_equal(expect, sig_b64, elen) ? 0 : -1;
}

int crmsync_webhook_parse_timestamp(const char *hdr, int64_t *out_ms)
{
        int64_t v = 0;
        int     n = 0;

        if (!hdr || !*hdr)
                return -1;
        for (; *hdr; hdr++, n++) {
                if (*hdr < '0' || *hdr > '9' || n >= 18)
                        return -1;
                v = v * 10 + (*hdr - '0');
        }
        if (out_ms)
                *out_ms = v;
        return 0;
}

int crmsync_webhook_verify_headers(const char *secret, const char *method,
                                   const char *uri, const char *body,
                                   size_t body_len, const char *sig_hdr,
                                   const char *ts_hdr, int64_t now_ms,
                                   int64_t window_ms)
{
        int64_t ts;

        if (!sig_hdr || !*sig_hdr ||
            strlen(sig_hdr) >= CRMSYNC_WEBHOOK_SIG_MAX ||
            crmsync_webhook_parse_timestamp(ts_hdr, &ts) != 0)
                return -3;
        return crmsync_webhook_verify(secret, method, uri, body, body_len, ts,
                                      sig_hdr, now_ms, window_ms);
}

/* ------------------------------------------------------------------ */
/* Dispatcher                                                          */
/* ------------------------------------------------------------------ */

/* One event shared by every subscription queue and batch holding it. */
struct wh_event {
        uint32_t refcnt;
        size_t   len;
        char     id[CRMSYNC_ID_MAX * 2];
        char     json[]; /* len bytes + NUL */
};

struct qnode {
        struct wh_event *ev;
        struct qnode    *next;
};

/* A subscription slot; free when id == 0. Each has its own bounded
 * queue: a subscriber that stops answering fills only its own. */
struct sub {
        int           id;
        char          url[CRMSYNC_WEBHOOK_URL_MAX];
        char          secret[CRMSYNC_WEBHOOK_SECRET_MAX];
        char          host[64];
        int           port;
        char          path[CRMSYNC_WEBHOOK_URL_MAX]; /* path?query */
        int           batch_size;
        int           hubspot; /* body by the formatter, X-HubSpot-* */
        struct qnode *head, *tail;
        uint32_t      pending; /* queued, not yet in a batch */
        uint32_t      held;    /* queued or in a batch (the cap's count) */
        uint64_t      enqueued, dropped, delivered;
};

struct batch {
        TAILQ_ENTRY(batch) all_link;
        TAILQ_ENTRY(batch) ready_link;
        int                       in_ready;
        struct crm_webhook       *w;
        struct sub               *sub;
        struct wh_event          *evs[CRMSYNC_WEBHOOK_BATCH_MAX];
        int                       n;
        char                     *body;
        size_t                    body_len;
        uint32_t                  attempt;  /* of the next (or current) POST */
        int64_t                   first_ms; /* monotonic, first attempt */
        struct event             *timer;    /* retry timer */
        struct evhttp_connection *evcon;    /* while in flight */
};
TAILQ_HEAD(batch_list, batch);

struct dead_conn {
        struct evhttp_connection *evcon;
        struct dead_conn         *next;
};

struct crm_webhook {
        struct event_base        *base;
        struct crm_webhook_config cfg;
        crm_webhook_observer_cb  *observer;
        void                     *observer_opaque;
        struct sub               *subs;    /* max_subscriptions slots */
        uint32_t                  sub_cnt; /* slots in use */
        int                       next_id; /* ids are never reused */
        uint32_t                  rr;      /* round-robin start (slot) */
        struct batch_list         all;
        struct batch_list         ready;
        struct event             *pump_ev;
        int                       pump_pending;
        struct dead_conn         *dead;
        uint64_t                  rng;
        double                    storm_ratio, ack_loss_ratio;
        struct crm_webhook_stats  stats;
        crm_webhook_format_cb    *fmt;
        void                     *fmt_opaque;
};

static void ev_unref(struct wh_event *ev)
{
        if (ev && --ev->refcnt == 0)
                free(ev);
}

static void pump_cb(evutil_socket_t fd, short what, void *arg);

crm_webhook_t *crmsync_webhook_new(struct event_base               *base,
                                   const struct crm_webhook_config *cfg)
{
        crm_webhook_t *w;

        if (!base)
                return NULL;
        w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        if (cfg)
                w->cfg = *cfg;
        if (!w->cfg.max_attempts)
                w->cfg.max_attempts = 10;
        if (w->cfg.backoff_base_ms <= 0)
                w->cfg.backoff_base_ms = 1000;
        if (w->cfg.backoff_max_ms <= 0)
                w->cfg.backoff_max_ms = 60000;
        if (w->cfg.give_up_ms <= 0)
                w->cfg.give_up_ms = 86400000;
        if (w->cfg.timeout_ms <= 0)
                w->cfg.timeout_ms = 5000;
        if (!w->cfg.max_in_flight)
                w->cfg.max_in_flight = 10;
        if (!w->cfg.queue_cap)
                w->cfg.queue_cap = 100000;
        if (!w->cfg.max_subscriptions)
                w->cfg.max_subscriptions = 16;
        w->base = base;
        w->rng  = w->cfg.seed ^ 0x3eb400c5ULL;
        TAILQ_INIT(&w->all);
        TAILQ_INIT(&w->ready);
        w->subs    = calloc(w->cfg.max_subscriptions, sizeof(*w->subs));
        w->pump_ev = event_new(base, -1, 0, pump_cb, w);
        if (!w->subs || !w->pump_ev) {
                crmsync_webhook_destroy(w);
                return NULL;
        }
        return w;
}

static void free_dead(crm_webhook_t *w)
{
        while (w->dead) {
                struct dead_conn *d = w->dead;
                w->dead             = d->next;
                evhttp_connection_free(d->evcon);
                free(d);
        }
}

static void batch_free(struct batch *b)
{
        crm_webhook_t *w = b->w;

        TAILQ_REMOVE(&w->all, b, all_link);
        if (b->in_ready)
                TAILQ_REMOVE(&w->ready, b, ready_link);
        if (b->timer)
                event_free(b->timer);
        if (b->evcon) {
                /* Frees the pending request without calling back. */
                evhttp_connection_free(b->evcon);
                w->stats.in_flight--;
        }
        for (int i = 0; i < b->n; i++)
                ev_unref(b->evs[i]);
        w->stats.queued -= (uint32_t)b->n;
        b->sub->held -= (uint32_t)b->n;
        free(b->body);
        free(b);
}

void crmsync_webhook_destroy(crm_webhook_t *w)
{
        struct batch *b;

        if (!w)
                return;
        while ((b = TAILQ_FIRST(&w->all)) != NULL)
                batch_free(b);
        for (uint32_t i = 0; w->subs && i < w->cfg.max_subscriptions; i++) {
                struct qnode *q = w->subs[i].head;
                while (q) {
                        struct qnode *next = q->next;
                        ev_unref(q->ev);
                        free(q);
                        q = next;
                }
        }
        free_dead(w);
        if (w->pump_ev)
                event_free(w->pump_ev);
        free(w->subs);
        free(w);
}

void crmsync_webhook_set_observer(crm_webhook_t *w, crm_webhook_observer_cb *cb,
                                  void *opaque)
{
        if (!w)
                return;
        w->observer        = cb;
        w->observer_opaque = opaque;
}

static double clamp01(double r)
{
        if (!(r > 0))
                return 0;
        return r > 1 ? 1 : r;
}

void crmsync_webhook_set_storm(crm_webhook_t *w, double extra_retry_ratio)
{
        if (w)
                w->storm_ratio = clamp01(extra_retry_ratio);
}

void crmsync_webhook_set_ack_loss(crm_webhook_t *w, double ratio)
{
        if (w)
                w->ack_loss_ratio = clamp01(ratio);
}

void crmsync_webhook_stats(const crm_webhook_t      *w,
                           struct crm_webhook_stats *out)
{
        if (!out)
                return;
        memset(out, 0, sizeof(*out));
        if (w)
                *out = w->stats;
}

int crmsync_webhook_idle(const crm_webhook_t *w)
{
        return !w || (w->stats.queued == 0 && w->stats.in_flight == 0);
}

static void schedule_pump(crm_webhook_t *w)
{
        if (w->pump_pending)
                return;
        w->pump_pending = 1;
        event_active(w->pump_ev, EV_TIMEOUT, 1);
}

int crmsync_webhook_subscribe(crm_webhook_t *w, const char *url,
                              const char *secret, int batch_size, char *errstr,
                              size_t errstr_size)
{
        struct evhttp_uri *u;
        struct sub        *s;
        const char        *scheme, *host, *path, *query;
        int                port;

        if (!w)
                return crmsync_err(errstr, errstr_size, "no dispatcher");
        if (!url || !*url || strlen(url) >= CRMSYNC_WEBHOOK_URL_MAX)
                return crmsync_err(errstr, errstr_size,
                                   "url: missing or longer than %d bytes",
                                   CRMSYNC_WEBHOOK_URL_MAX - 1);
        if (!secret || !*secret || strlen(secret) >= CRMSYNC_WEBHOOK_SECRET_MAX)
                return crmsync_err(errstr, errstr_size,
                                   "secret: missing or longer than %d bytes",
                                   CRMSYNC_WEBHOOK_SECRET_MAX - 1);
        if (batch_size < 1 || batch_size > CRMSYNC_WEBHOOK_BATCH_MAX)
                return crmsync_err(errstr, errstr_size,
                                   "batch_size: %d not in 1..%d", batch_size,
                                   CRMSYNC_WEBHOOK_BATCH_MAX);
        if (w->sub_cnt >= w->cfg.max_subscriptions)
                return crmsync_err(errstr, errstr_size,
                                   "too many subscriptions (max %u)",
                                   w->cfg.max_subscriptions);
        u = evhttp_uri_parse(url);
        if (!u)
                return crmsync_err(errstr, errstr_size,
                                   "url: cannot parse \"%s\"", url);
        scheme = evhttp_uri_get_scheme(u);
        host   = evhttp_uri_get_host(u);
        port   = evhttp_uri_get_port(u);
        path   = evhttp_uri_get_path(u);
        query  = evhttp_uri_get_query(u);
        if (!scheme || strcmp(scheme, "http") != 0 || !host ||
            (strcmp(host, "127.0.0.1") != 0 &&
             strcmp(host, "localhost") != 0) ||
            evhttp_uri_get_userinfo(u) || evhttp_uri_get_fragment(u)) {
                evhttp_uri_free(u);
                return crmsync_err(errstr, errstr_size,
                                   "url: only http://127.0.0.1:PORT/path is "
                                   "allowed, got \"%s\"",
                                   url);
        }
        for (s = w->subs; s->id; s++)
                ; /* a free slot exists: sub_cnt < max_subscriptions */
        memset(s, 0, sizeof(*s));
        snprintf(s->url, sizeof(s->url), "%s", url);
        snprintf(s->secret, sizeof(s->secret), "%s", secret);
        snprintf(s->host, sizeof(s->host), "%s", "127.0.0.1");
        s->port = port > 0 ? port : 80;
        snprintf(s->path, sizeof(s->path), "%s%s%s", path && *path ? path : "/",
                 query ? "?" : "", query ? query : "");
        evhttp_uri_free(u);
        s->batch_size          = batch_size;
        s->id                  = ++w->next_id;
        w->stats.subscriptions = ++w->sub_cnt;
        return s->id;
}

static struct sub *find_sub(const crm_webhook_t *w, int id)
{
        for (uint32_t i = 0; w && id > 0 && i < w->cfg.max_subscriptions; i++)
                if (w->subs[i].id == id)
                        return &w->subs[i];
        return NULL;
}

void crmsync_webhook_set_formatter(crm_webhook_t *w, crm_webhook_format_cb *cb,
                                   void *opaque)
{
        w->fmt        = cb;
        w->fmt_opaque = opaque;
}

int crmsync_webhook_set_hubspot(crm_webhook_t *w, int id)
{
        for (uint32_t i = 0; w && i < w->cfg.max_subscriptions; i++)
                if (w->subs[i].id == id && id > 0) {
                        w->subs[i].hubspot = 1;
                        return 0;
                }
        return -1;
}

int crmsync_webhook_unsubscribe(crm_webhook_t *w, int id, char *errstr,
                                size_t errstr_size)
{
        struct sub   *s = find_sub(w, id);
        struct batch *b, *next;
        struct qnode *q;

        if (!s)
                return crmsync_err(errstr, errstr_size,
                                   "no subscription with id %d", id);
        /* Its batches (waiting for a retry or in flight) and its queue are
         * dropped; the observer is not called for them. */
        for (b = TAILQ_FIRST(&w->all); b; b = next) {
                next = TAILQ_NEXT(b, all_link);
                if (b->sub == s) {
                        w->stats.dropped_unsubscribed += (uint64_t)b->n;
                        batch_free(b);
                }
        }
        while ((q = s->head) != NULL) {
                s->head = q->next;
                ev_unref(q->ev);
                free(q);
                w->stats.queued--;
                w->stats.dropped_unsubscribed++;
        }
        memset(s, 0, sizeof(*s)); /* id 0: the slot is free */
        w->stats.subscriptions = --w->sub_cnt;
        return 0;
}

int crmsync_webhook_sub_stats(const crm_webhook_t *w, int id,
                              struct crm_webhook_sub_stats *out)
{
        const struct sub *s = find_sub(w, id);

        if (!s || !out)
                return -1;
        out->held               = s->held;
        out->enqueued           = s->enqueued;
        out->dropped_queue_full = s->dropped;
        out->delivered          = s->delivered;
        return 0;
}

int crmsync_webhook_subscribe_json(crm_webhook_t *w, const char *body,
                                   size_t len, char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t      *root, *val;
        const char  *key;
        const char  *url = NULL, *secret = NULL;
        json_int_t   batch = CRMSYNC_WEBHOOK_BATCH_MAX;
        int          id, code = 400;

        if (!w || !body || len == 0) {
                crmsync_err(errstr, errstr_size, "empty body");
                return 400;
        }
        if (len > SUBSCRIBE_BODY_MAX) {
                crmsync_err(errstr, errstr_size, "body larger than %d bytes",
                            SUBSCRIBE_BODY_MAX);
                return 400;
        }
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                crmsync_err(errstr, errstr_size,
                            "invalid JSON at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
                return 400;
        }
        if (!json_is_object(root)) {
                crmsync_err(errstr, errstr_size, "body must be an object");
                goto out_free_root;
        }
        json_object_foreach(root, key, val)
        {
                if (!strcmp(key, "url")) {
                        if (!json_is_string(val)) {
                                crmsync_err(errstr, errstr_size,
                                            "url: must be a string");
                                goto out_free_root;
                        }
                        url = json_string_value(val);
                } else if (!strcmp(key, "secret")) {
                        if (!json_is_string(val)) {
                                crmsync_err(errstr, errstr_size,
                                            "secret: must be a string");
                                goto out_free_root;
                        }
                        secret = json_string_value(val);
                } else if (!strcmp(key, "batch_size")) {
                        if (!json_is_integer(val)) {
                                crmsync_err(errstr, errstr_size,
                                            "batch_size: must be an integer");
                                goto out_free_root;
                        }
                        batch = json_integer_value(val);
                } else {
                        crmsync_err(errstr, errstr_size,
                                    "unknown field \"%.64s\"", key);
                        goto out_free_root;
                }
        }
        if (!url || !secret) {
                crmsync_err(errstr, errstr_size, "%s: required",
                            !url ? "url" : "secret");
                goto out_free_root;
        }
        /* Embedded NUL bytes would silently cut the string. */
        if (strlen(url) != json_string_length(json_object_get(root, "url")) ||
            strlen(secret) !=
                json_string_length(json_object_get(root, "secret"))) {
                crmsync_err(errstr, errstr_size, "NUL byte in a string");
                goto out_free_root;
        }
        if (batch < 1 || batch > CRMSYNC_WEBHOOK_BATCH_MAX) {
                crmsync_err(errstr, errstr_size,
                            "batch_size: %lld not in 1..%d", (long long)batch,
                            CRMSYNC_WEBHOOK_BATCH_MAX);
                goto out_free_root;
        }
        if (w->sub_cnt >= w->cfg.max_subscriptions) {
                crmsync_err(errstr, errstr_size,
                            "too many subscriptions (max %u)",
                            w->cfg.max_subscriptions);
                code = 409;
                goto out_free_root;
        }
        id = crmsync_webhook_subscribe(w, url, secret, (int)batch, errstr,
                                       errstr_size);
        if (id > 0) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size, "%d", id);
                code = 201;
        }
out_free_root:
        json_decref(root);
        return code;
}

int crmsync_webhook_subscribers(const crm_webhook_t *w)
{
        return w ? (int)w->sub_cnt : 0;
}

int crmsync_webhook_enqueue(crm_webhook_t *w, const char *event_json,
                            size_t len, const char *event_id)
{
        struct wh_event *ev;
        int              rc = 0;

        if (!w || !event_json)
                return -1;
        if (w->sub_cnt == 0)
                return 0;
        ev = malloc(sizeof(*ev) + len + 1);
        if (!ev)
                return -1;
        ev->refcnt = 1; /* ours until the loop below ends */
        ev->len    = len;
        memcpy(ev->json, event_json, len);
        ev->json[len] = '\0';
        snprintf(ev->id, sizeof(ev->id), "%s", event_id ? event_id : "");
        for (uint32_t i = 0; i < w->cfg.max_subscriptions; i++) {
                struct sub   *s = &w->subs[i];
                struct qnode *q;

                if (!s->id)
                        continue;
                /* The cap is per subscription: a dead subscriber's full
                 * queue never costs the others an event. */
                if (s->held >= w->cfg.queue_cap || !(q = malloc(sizeof(*q)))) {
                        s->dropped++;
                        w->stats.dropped_queue_full++;
                        rc = -1;
                        continue;
                }
                q->ev   = ev;
                q->next = NULL;
                ev->refcnt++;
                if (s->tail)
                        s->tail->next = q;
                else
                        s->head = q;
                s->tail = q;
                s->pending++;
                s->held++;
                s->enqueued++;
                w->stats.queued++;
                w->stats.enqueued++;
        }
        ev_unref(ev);
        schedule_pump(w);
        return rc;
}

static void notify(crm_webhook_t *w, struct batch *b,
                   enum crm_webhook_outcome outcome, int status)
{
        int64_t now = crmsync_wall_ms();

        if (!w->observer)
                return;
        for (int i = 0; i < b->n; i++)
                w->observer(w->observer_opaque, b->evs[i]->id, b->sub->url,
                            b->attempt, outcome, status, now);
}

static void count_metric(crm_webhook_t *w, const char *name, uint32_t attempt,
                         const char *result, uint64_t delta)
{
        char labels[64];

        if (!w->cfg.metrics)
                return;
        if (result)
                snprintf(labels, sizeof(labels), "attempt=%u,result=%s",
                         attempt, result);
        else
                snprintf(labels, sizeof(labels), "attempt=%u", attempt);
        crmsync_metrics_inc(w->cfg.metrics, name, labels, delta);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
        struct batch *b = arg;

        (void)fd;
        (void)what;
        TAILQ_INSERT_TAIL(&b->w->ready, b, ready_link);
        b->in_ready = 1;
        schedule_pump(b->w);
}

/* The attempt just made failed (or its ack was lost): schedule the next
 * attempt, or give up. b->attempt still names the failed attempt. */
static void retry_or_give_up(crm_webhook_t *w, struct batch *b, int status,
                             int64_t min_delay_ms)
{
        uint32_t       next = b->attempt + 1;
        int64_t        delay, elapsed;
        struct timeval tv;

        delay = w->cfg.backoff_base_ms;
        for (uint32_t i = 0; i < b->attempt && delay < w->cfg.backoff_max_ms;
             i++)
                delay *= 2;
        if (delay > w->cfg.backoff_max_ms)
                delay = w->cfg.backoff_max_ms;
        /* Deterministic jitter: up to +25%. */
        delay +=
            (int64_t)(crmsync_splitmix64_unit(&w->rng) * (double)delay / 4.0);
        if (delay < min_delay_ms)
                delay = min_delay_ms; /* a 429's Retry-After */
        elapsed = crmsync_mono_ms() - b->first_ms;
        if (next >= w->cfg.max_attempts ||
            elapsed + delay > w->cfg.give_up_ms) {
                w->stats.gave_up_batches++;
                w->stats.gave_up_events += (uint64_t)b->n;
                count_metric(w, CRMSYNC_METRIC_WH_GIVEUPS, b->attempt, NULL,
                             (uint64_t)b->n);
                notify(w, b, CRM_WEBHOOK_GAVE_UP, status);
                batch_free(b);
                return;
        }
        b->attempt = next;
        tv.tv_sec  = (time_t)(delay / 1000);
        tv.tv_usec = (suseconds_t)((delay % 1000) * 1000);
        if (!b->timer)
                b->timer = evtimer_new(w->base, retry_cb, b);
        if (!b->timer || evtimer_add(b->timer, &tv) != 0) {
                /* Cannot wait: retry at once rather than lose the batch. */
                retry_cb(-1, EV_TIMEOUT, b);
        }
}

/* Retry-After of a response in ms (delta seconds only, capped at one
 * hour), or 0. */
static int64_t retry_after_ms(struct evhttp_request *req)
{
        const char *v;
        int64_t     secs = 0;
        int         n    = 0;

        if (!req)
                return 0;
        v = evhttp_find_header(evhttp_request_get_input_headers(req),
                               "Retry-After");
        if (!v)
                return 0;
        for (; *v >= '0' && *v <= '9' && n < 6; v++, n++)
                secs = secs * 10 + (*v - '0');
        if (*v || n == 0)
                return 0;
        return (secs > 3600 ? 3600 : secs) * 1000;
}

static void response_cb(struct evhttp_request *req, void *arg)
{
        struct batch  *b      = arg;
        crm_webhook_t *w      = b->w;
        int            status = req ? evhttp_request_get_response_code(req) : 0;
        uint32_t       slot;
        int            lost, storm;
        struct dead_conn *d = malloc(sizeof(*d));

        /* The connection is freed from the pump, after evhttp is done. */
        if (d) {
                d->evcon = b->evcon;
                d->next  = w->dead;
                w->dead  = d;
        }
        /* Without a node the connection leaks rather than being freed
         * under evhttp's feet. */
        b->evcon = NULL;
        w->stats.in_flight--;
        schedule_pump(w);

        slot = b->attempt < CRMSYNC_WEBHOOK_ATTEMPT_SLOTS
                   ? b->attempt
                   : CRMSYNC_WEBHOOK_ATTEMPT_SLOTS - 1;
        if (status < 200 || status > 299) {
                int64_t min_delay = 0;

                /* HubSpot honours Retry-After (seconds) on a 429. */
                if (status == 429)
                        min_delay = retry_after_ms(req);
                w->stats.failures++;
                count_metric(w, CRMSYNC_METRIC_WH_SENT, b->attempt, "fail", 1);
                retry_or_give_up(w, b, status, min_delay);
                return;
        }
        w->stats.acked_by_attempt[slot]++;
        w->stats.events_delivered += (uint64_t)b->n;
        b->sub->delivered += (uint64_t)b->n;
        count_metric(w, CRMSYNC_METRIC_WH_SENT, b->attempt, "ok", 1);
        count_metric(w, CRMSYNC_METRIC_WH_EVENTS, b->attempt, NULL,
                     (uint64_t)b->n);
        /* Draw the faults before the observer runs: it may change them. */
        lost = w->ack_loss_ratio > 0 &&
               crmsync_splitmix64_unit(&w->rng) < w->ack_loss_ratio;
        storm = !lost && w->storm_ratio > 0 &&
                crmsync_splitmix64_unit(&w->rng) < w->storm_ratio;
        notify(w, b, CRM_WEBHOOK_DELIVERED, status);
        if (lost) {
                w->stats.ack_lost++;
                retry_or_give_up(w, b, 0, 0);
        } else if (storm) {
                w->stats.storm_retries++;
                retry_or_give_up(w, b, status, 0);
        } else {
                batch_free(b);
        }
}

/* A HubSpot-format subscription: the body of this attempt (it carries
 * attemptNumber), from the formatter. Keeps the old body on failure. */
static void format_body(crm_webhook_t *w, struct batch *b)
{
        const char *js[CRMSYNC_WEBHOOK_BATCH_MAX];
        size_t      ls[CRMSYNC_WEBHOOK_BATCH_MAX], len = 0;
        char       *body;

        for (int i = 0; i < b->n; i++) {
                js[i] = b->evs[i]->json;
                ls[i] = b->evs[i]->len;
        }
        body =
            w->fmt(w->fmt_opaque, b->sub->id, js, ls, b->n, b->attempt, &len);
        if (!body)
                return;
        free(b->body);
        b->body     = body;
        b->body_len = len;
}

/* POST one attempt of b. On a local failure the attempt counts as failed. */
static void send_batch(crm_webhook_t *w, struct batch *b)
{
        struct evhttp_request *req;
        struct evkeyvalq      *h;
        struct timeval         tv;
        char                   sig[CRMSYNC_WEBHOOK_SIG_MAX];
        char                   num[32];
        int64_t                ts = crmsync_wall_ms();
        uint32_t               slot;

        if (b->first_ms == 0)
                b->first_ms = crmsync_mono_ms();
        if (b->sub->hubspot && w->fmt)
                format_body(w, b);
        if (b->sub->hubspot && b->body_len == 2 && !memcmp(b->body, "[]", 2)) {
                batch_free(b); /* nothing the app subscribed to */
                schedule_pump(w);
                return;
        }
        slot = b->attempt < CRMSYNC_WEBHOOK_ATTEMPT_SLOTS
                   ? b->attempt
                   : CRMSYNC_WEBHOOK_ATTEMPT_SLOTS - 1;
        w->stats.requests++;
        w->stats.requests_by_attempt[slot]++;
        b->evcon = evhttp_connection_base_new(w->base, NULL, b->sub->host,
                                              (unsigned short)b->sub->port);
        if (!b->evcon)
                goto fail;
        tv.tv_sec  = (time_t)(w->cfg.timeout_ms / 1000);
        tv.tv_usec = (suseconds_t)((w->cfg.timeout_ms % 1000) * 1000);
        evhttp_connection_set_timeout_tv(b->evcon, &tv);
        req = evhttp_request_new(response_cb, b);
        if (!req)
                goto fail_conn;
        h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Host", b->sub->host);
        evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_add_header(h, "Connection", "close");
        if (crmsync_webhook_sign(b->sub->secret, "POST", b->sub->url, b->body,
                                 b->body_len, ts, sig, sizeof(sig)) == 0)
                evhttp_add_header(h,
                                  b->sub->hubspot
                                      ? CRMSYNC_WEBHOOK_HDR_HS_SIGNATURE
                                      : CRMSYNC_WEBHOOK_HDR_SIGNATURE,
                                  sig);
        snprintf(num, sizeof(num), "%lld", (long long)ts);
        evhttp_add_header(h,
                          b->sub->hubspot ? CRMSYNC_WEBHOOK_HDR_HS_TIMESTAMP
                                          : CRMSYNC_WEBHOOK_HDR_TIMESTAMP,
                          num);
        snprintf(num, sizeof(num), "%u", b->attempt);
        if (!b->sub->hubspot) /* HubSpot: attemptNumber in the body */
                evhttp_add_header(h, CRMSYNC_WEBHOOK_HDR_ATTEMPT, num);
        evbuffer_add(evhttp_request_get_output_buffer(req), b->body,
                     b->body_len);
        w->stats.in_flight++;
        if (evhttp_make_request(b->evcon, req, EVHTTP_REQ_POST, b->sub->path) !=
            0) {
                w->stats.in_flight--;
                goto fail_conn;
        }
        return;
fail_conn:
        evhttp_connection_free(b->evcon);
        b->evcon = NULL;
fail:
        w->stats.failures++;
        retry_or_give_up(w, b, 0, 0);
}

/* Take up to batch_size events off s's queue into a new batch. */
static struct batch *batch_form(crm_webhook_t *w, struct sub *s)
{
        struct batch *b   = calloc(1, sizeof(*b));
        size_t        len = 2;
        char         *p;

        if (!b)
                return NULL;
        while (b->n < s->batch_size && s->head) {
                struct qnode *q = s->head;
                s->head         = q->next;
                if (!s->head)
                        s->tail = NULL;
                s->pending--;
                b->evs[b->n++] = q->ev; /* the queue's reference moves */
                len += q->ev->len + 1;
                free(q);
        }
        b->w   = w;
        b->sub = s;
        TAILQ_INSERT_TAIL(&w->all, b, all_link);
        b->body = malloc(len + 1);
        if (!b->body) {
                batch_free(b);
                return NULL;
        }
        p    = b->body;
        *p++ = '[';
        for (int i = 0; i < b->n; i++) {
                if (i)
                        *p++ = ',';
                memcpy(p, b->evs[i]->json, b->evs[i]->len);
                p += b->evs[i]->len;
        }
        *p++        = ']';
        *p          = '\0';
        b->body_len = (size_t)(p - b->body);
        return b;
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
        crm_webhook_t *w = arg;

        (void)fd;
        (void)what;
        w->pump_pending = 0;
        free_dead(w);
        /* Bounded: every pass sends one batch or stops. */
        while (w->stats.in_flight < w->cfg.max_in_flight) {
                struct batch *b = TAILQ_FIRST(&w->ready);
                uint32_t      i;

                if (b) {
                        TAILQ_REMOVE(&w->ready, b, ready_link);
                        b->in_ready = 0;
                        send_batch(w, b);
                        continue;
                }
                for (i = 0; i < w->cfg.max_subscriptions; i++) {
                        struct sub *s =
                            &w->subs[(w->rr + i) % w->cfg.max_subscriptions];
                        if (s->id && s->head)
                                break;
                }
                if (i == w->cfg.max_subscriptions)
                        break;
                {
                        uint32_t    n = w->cfg.max_subscriptions;
                        struct sub *s = &w->subs[(w->rr + i) % n];
                        w->rr         = (w->rr + i + 1) % n;
                        b             = batch_form(w, s);
                        if (!b)
                                break; /* out of memory: try next pump */
                        send_batch(w, b);
                }
        }
}
