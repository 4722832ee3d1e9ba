/* cometd.c -- Salesforce Change Data Capture over the Streaming API's
 * CometD/Bayeux protocol, in the mock CRM: POST /cometd/XX.X with
 * /meta/handshake, /meta/subscribe (/data/ChangeEvents or
 * /data/<Object>ChangeEvent, ext.replay -1, -2 or a replayId),
 * /meta/connect (long polling), /meta/unsubscribe, /meta/disconnect.
 *
 * The events are the change feed's delivery log (crm_feed.c), so every
 * fault of the feed shows: duplicates, late events, gaps (GAP_* change
 * types, no fields), retention (an older replayId is rejected as
 * Salesforce rejects it). A replayId is the log position + 1. */
#include "crm_int.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_search.h"

#define CD_SESSIONS 16
#define CD_CHANNEL_MAX 64
#define CD_BATCH 100     /* events per connect answer */
#define CD_HOLD_MS 5000  /* a connect without events waits this long */
#define CD_WAKE_MS 50    /* how often a held connect looks again */
#define CD_IDLE_MS 60000 /* a session without a connect this long ends */
#define CD_ADVICE_TIMEOUT 110000

struct cd_session {
        char    id[40]; /* "" = free slot */
        char    channel[CD_CHANNEL_MAX];
        int     entity; /* -1: every entity (/data/ChangeEvents) */
        int     subscribed;
        size_t  next; /* log position of the next event */
        int64_t last_seen_ms;
        /* A held /meta/connect: its request and the replies so far. */
        struct evhttp_request *req;
        json_t                *replies;
        json_t                *connect_id;
        int64_t                hold_until_ms;
        struct event          *timer;
        crm_server_t          *s;
};

struct cometd {
        struct cd_session ss[CD_SESSIONS];
        uint64_t          next_id;
};

static struct cometd *cd_get(crm_server_t *s)
{
        if (!s->cometd)
                s->cometd = calloc(1, sizeof(*s->cometd));
        return s->cometd;
}

static void hold_end(struct cd_session *x)
{
        if (x->req)
                evhttp_connection_set_closecb(
                    evhttp_request_get_connection(x->req), NULL, NULL);
        x->req = NULL;
        json_decref(x->replies);
        json_decref(x->connect_id);
        x->replies    = NULL;
        x->connect_id = NULL;
        if (x->timer)
                evtimer_del(x->timer);
}

static void session_free(struct cd_session *x)
{
        hold_end(x);
        if (x->timer)
                event_free(x->timer);
        memset(x, 0, sizeof(*x));
}

void crm_cometd_destroy(crm_server_t *s)
{
        if (!s->cometd)
                return;
        for (int i = 0; i < CD_SESSIONS; i++)
                session_free(&s->cometd->ss[i]);
        free(s->cometd);
        s->cometd = NULL;
}

static struct cd_session *find(struct cometd *cd, const char *id)
{
        for (int i = 0; id && i < CD_SESSIONS; i++)
                if (cd->ss[i].id[0] && !strcmp(cd->ss[i].id, id))
                        return &cd->ss[i];
        return NULL;
}

/* ------------------------------------------------------------------ */
/* Change events */

static const char *change_type(const struct crm_event *e, int gap)
{
        static const char *const names[] = {"CREATE", "UPDATE", "DELETE",
                                            "UNDELETE"};
        static const char *const gaps[]  = {"GAP_CREATE", "GAP_UPDATE",
                                            "GAP_DELETE", "GAP_UNDELETE"};
        int                      c       = e->change < 4 ? (int)e->change : 1;
        return gap ? gaps[c] : names[c];
}

/* The CDC event of log entry pos: ChangeEventHeader plus the changed
 * fields (none for a gap or a delete). */
static json_t *cdc_event(crm_server_t *s, size_t pos)
{
        const struct feed_entry *fe  = &s->log[pos];
        const struct crm_event  *e   = crmsync_workload_event(s->w, fe->ev);
        const struct sf_type    *t   = &crm_sf_types[e->entity];
        int                      gap = fe->form == CRM_FORM_GAP;
        json_t     *payload = json_object(), *changed = json_array();
        char        id[40], acc[40], ts[40];
        const char *k;
        json_t     *v;

        crm_salesforce_id(e->entity, e->record_id, id, sizeof(id));
        if (!gap && e->change != CRM_CHANGE_DELETE) {
                json_object_foreach(e->fields, k, v)
                {
                        for (int i = 0; i < 8 && t->f[i].sf; i++)
                                if (!strcmp(t->f[i].field, k)) {
                                        json_object_set(payload, t->f[i].sf, v);
                                        json_array_append_new(
                                            changed, json_string(t->f[i].sf));
                                }
                }
                if (e->entity != CRM_ENTITY_ACCOUNT &&
                    (e->previous_account_id[0] ||
                     e->change != CRM_CHANGE_UPDATE)) {
                        crm_salesforce_id(CRM_ENTITY_ACCOUNT, e->account_id,
                                          acc, sizeof(acc));
                        json_object_set_new(payload, "AccountId",
                                            json_string(acc));
                        json_array_append_new(changed,
                                              json_string("AccountId"));
                }
        }
        /* The mapping to the ground truth (a delete carries it too). */
        if (!gap) {
                json_object_set_new(payload, "Crmsync_Version__c",
                                    json_integer(e->version));
                crmsync_hs_time_format(s->start_wall_ms + e->commit_ms, ts,
                                       sizeof(ts));
                json_object_set_new(payload, "LastModifiedDate",
                                    json_string(ts));
                json_array_append_new(changed, json_string("LastModifiedDate"));
        }
        char txn[32];
        snprintf(txn, sizeof(txn), "t-%08" PRIu32, e->txn);
        json_object_set_new(
            payload, "ChangeEventHeader",
            json_pack("{s:s,s:[s],s:s,s:s,s:s,s:i,s:I,s:I,s:s,s:o,s:[],s:[]}",
                      "entityName", t->name, "recordIds", id, "changeType",
                      change_type(e, gap), "changeOrigin",
                      "com/salesforce/api/rest/59.0", "transactionKey", txn,
                      "sequenceNumber", (int)e->txn_seq + 1, "commitTimestamp",
                      (json_int_t)(s->start_wall_ms + e->commit_ms),
                      "commitNumber", (json_int_t)e->seq, "commitUser",
                      "005000000000001AAA", "changedFields", changed,
                      "nulledFields", "diffFields"));
        return json_pack("{s:s,s:{s:s,s:o,s:{s:I}}}", "channel",
                         "/data/ChangeEvents", "data", "schema",
                         "crmsync-cdc-1", "payload", payload, "event",
                         "replayId", (json_int_t)(pos + 1));
}

/* Append up to CD_BATCH due events of x to out; returns how many. */
static size_t take_events(crm_server_t *s, struct cd_session *x, json_t *out)
{
        size_t n = 0;

        if (x->next < s->retention_floor)
                x->next = s->retention_floor;
        while (x->subscribed && x->next < s->log_cnt && n < CD_BATCH) {
                size_t                  pos = x->next++;
                const struct crm_event *e =
                    crmsync_workload_event(s->w, s->log[pos].ev);
                if (s->drop && s->drop[s->log[pos].ev])
                        continue;
                if (x->entity >= 0 && (int)e->entity != x->entity)
                        continue;
                json_t *ev = cdc_event(s, pos);
                json_object_set_new(ev, "channel", json_string(x->channel));
                json_array_append_new(out, ev);
                crm_count_served(s, "cometd", 1);
                if (s->observer)
                        s->observer(s->observer_opaque, e, "cometd",
                                    crmsync_wall_ms());
                n++;
        }
        return n;
}

static void send_json(crm_server_t *s, struct evhttp_request *req, int status,
                      json_t *body)
{
        char            *t = json_dumps(body, JSON_COMPACT);
        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, t ? t : "[]", t ? strlen(t) : 2);
        crm_reply_json(s, req, status, b);
        evbuffer_free(b);
        free(t);
        json_decref(body);
}

static json_t *connect_reply(const struct cd_session *x, json_t *id)
{
        json_t *r = json_pack("{s:s,s:s,s:b,s:{s:s,s:i,s:i}}", "channel",
                              "/meta/connect", "clientId", x->id, "successful",
                              1, "advice", "reconnect", "retry", "interval", 0,
                              "timeout", CD_ADVICE_TIMEOUT);
        if (id)
                json_object_set(r, "id", id);
        return r;
}

/* Answer the held connect of x (events or not). */
static void release(struct cd_session *x)
{
        struct evhttp_request *req     = x->req;
        json_t                *replies = json_incref(x->replies);

        take_events(x->s, x, replies);
        json_array_append_new(replies, connect_reply(x, x->connect_id));
        hold_end(x);
        send_json(x->s, req, 200, replies);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
        struct cd_session *x  = arg;
        struct timeval     tv = {0, CD_WAKE_MS * 1000};
        (void)fd;
        (void)what;
        if (!x->req)
                return;
        crm_feed_advance(x->s, crmsync_wall_ms());
        if (x->next < x->s->log_cnt || crmsync_wall_ms() >= x->hold_until_ms)
                release(x);
        else
                evtimer_add(x->timer, &tv);
}

static void on_closed(struct evhttp_connection *conn, void *arg)
{
        struct cd_session *x = arg;
        (void)conn;
        x->req = NULL; /* the client left: never answer it */
        hold_end(x);
}

/* ------------------------------------------------------------------ */
/* Bayeux messages */

static json_t *meta_reply(const char *channel, const json_t *msg, int ok,
                          const char *error)
{
        json_t *r =
            json_pack("{s:s,s:b}", "channel", channel, "successful", ok);
        json_t *id = json_object_get(msg, "id");
        json_t *cl = json_object_get(msg, "clientId");
        if (id)
                json_object_set(r, "id", id);
        if (json_is_string(cl))
                json_object_set(r, "clientId", cl);
        if (error)
                json_object_set_new(r, "error", json_string(error));
        return r;
}

static json_t *handshake(crm_server_t *s, struct cometd *cd, const json_t *m)
{
        struct cd_session *x   = NULL;
        int64_t            now = crmsync_wall_ms();

        for (int i = 0; i < CD_SESSIONS && !x; i++)
                if (!cd->ss[i].id[0] ||
                    (!cd->ss[i].req &&
                     now - cd->ss[i].last_seen_ms > CD_IDLE_MS)) {
                        session_free(&cd->ss[i]);
                        x = &cd->ss[i];
                }
        if (!x)
                return meta_reply("/meta/handshake", m, 0,
                                  "503::too many clients");
        snprintf(x->id, sizeof(x->id), "crmsync%04" PRIx64 "%08" PRIx64,
                 ++cd->next_id, (uint64_t)now & 0xffffffffu);
        x->s            = s;
        x->entity       = -1;
        x->last_seen_ms = now;
        x->timer        = evtimer_new(s->base, on_wake, x);
        json_t *r       = meta_reply("/meta/handshake", m, 1, NULL);
        json_object_set_new(r, "clientId", json_string(x->id));
        json_object_set_new(r, "version", json_string("1.0"));
        json_object_set_new(r, "minimumVersion", json_string("1.0"));
        json_object_set_new(r, "supportedConnectionTypes",
                            json_pack("[s]", "long-polling"));
        json_object_set_new(r, "advice",
                            json_pack("{s:s,s:i,s:i}", "reconnect", "retry",
                                      "interval", 0, "timeout",
                                      CD_ADVICE_TIMEOUT));
        json_object_set_new(
            r, "ext", json_pack("{s:b,s:b}", "replay", 1, "payload.format", 1));
        return r;
}

/* /data/ChangeEvents (every object) or /data/<Object>ChangeEvent. */
static int channel_entity(const char *ch, int *entity)
{
        if (!strcmp(ch, "/data/ChangeEvents")) {
                *entity = -1;
                return 0;
        }
        for (int t = 0; t < CRM_ENTITY_CNT; t++) {
                char want[CD_CHANNEL_MAX];
                snprintf(want, sizeof(want), "/data/%sChangeEvent",
                         crm_sf_types[t].name);
                if (!strcmp(ch, want)) {
                        *entity = t;
                        return 0;
                }
        }
        return -1;
}

static json_t *subscribe(crm_server_t *s, struct cd_session *x, const json_t *m)
{
        const char *ch = json_string_value(json_object_get(m, "subscription"));
        json_t     *rp = json_object_get(
                json_object_get(json_object_get(m, "ext"), "replay"), ch ? ch : "");
        char       err[256];
        int        entity;
        json_int_t replay = -1;

        if (!ch || strlen(ch) >= CD_CHANNEL_MAX || channel_entity(ch, &entity))
                return meta_reply("/meta/subscribe", m, 0,
                                  "400::The channel you requested to "
                                  "subscribe to does not exist");
        if (rp && !json_is_integer(rp))
                return meta_reply("/meta/subscribe", m, 0,
                                  "400::replayId must be an integer");
        if (rp)
                replay = json_integer_value(rp);
        /* replayId N = log position N - 1: resume after it. */
        if (replay < -2 ||
            (replay >= 0 && ((size_t)replay < s->retention_floor ||
                             (size_t)replay > s->log_cnt))) {
                snprintf(err, sizeof(err),
                         "400::The replayId {%" JSON_INTEGER_FORMAT
                         "} you provided was invalid.  Please provide a "
                         "valid ID, -2 to replay all events, or -1 to "
                         "replay only new events.",
                         replay);
                return meta_reply("/meta/subscribe", m, 0, err);
        }
        snprintf(x->channel, sizeof(x->channel), "%s", ch);
        x->entity     = entity;
        x->subscribed = 1;
        x->next       = replay == -1   ? s->log_cnt
                        : replay == -2 ? s->retention_floor
                                       : (size_t)replay;
        json_t *r     = meta_reply("/meta/subscribe", m, 1, NULL);
        json_object_set_new(r, "subscription", json_string(ch));
        return r;
}

/* Answer every message of the batch; a connect is held until events
 * come or CD_HOLD_MS pass. */
static void handle_batch(crm_server_t *s, struct evhttp_request *req,
                         json_t *msgs)
{
        struct cometd     *cd      = cd_get(s);
        json_t            *replies = json_array(), *m;
        struct cd_session *hold    = NULL, *gone[32];
        json_t            *hold_id = NULL;
        size_t             i, ngone = 0;

        json_array_foreach(msgs, i, m)
        {
                const char *ch =
                    json_string_value(json_object_get(m, "channel"));
                struct cd_session *x =
                    find(cd, json_string_value(json_object_get(m, "clientId")));
                if (!ch) {
                        json_array_append_new(
                            replies, meta_reply("", m, 0, "400::no channel"));
                } else if (!strcmp(ch, "/meta/handshake")) {
                        json_array_append_new(replies, handshake(s, cd, m));
                } else if (!x) {
                        json_t *r = meta_reply(ch, m, 0, "403::Unknown client");
                        json_object_set_new(
                            r, "advice",
                            json_pack("{s:s}", "reconnect", "handshake"));
                        json_array_append_new(replies, r);
                } else if (!strcmp(ch, "/meta/subscribe")) {
                        x->last_seen_ms = crmsync_wall_ms();
                        json_array_append_new(replies, subscribe(s, x, m));
                } else if (!strcmp(ch, "/meta/unsubscribe")) {
                        x->subscribed = 0;
                        json_array_append_new(replies,
                                              meta_reply(ch, m, 1, NULL));
                } else if (!strcmp(ch, "/meta/disconnect")) {
                        /* Freed after the batch: a connect of this batch
                         * may still refer to it. */
                        json_array_append_new(replies,
                                              meta_reply(ch, m, 1, NULL));
                        x->subscribed = 0;
                        if (ngone < 32)
                                gone[ngone++] = x;
                } else if (!strcmp(ch, "/meta/connect") && !hold) {
                        /* A connect still held for this client is
                         * answered first, as CometD servers do. */
                        if (x->req)
                                release(x);
                        x->last_seen_ms = crmsync_wall_ms();
                        hold            = x;
                        hold_id         = json_object_get(m, "id");
                } else {
                        json_array_append_new(
                            replies, meta_reply(ch, m, 0,
                                                "400::unsupported channel "
                                                "or a second connect"));
                }
        }
        int leaving = 0;
        for (size_t g = 0; g < ngone; g++)
                leaving |= gone[g] == hold;
        if (hold) {
                crm_feed_advance(s, crmsync_wall_ms());
                if (take_events(s, hold, replies) > 0 || leaving) {
                        json_array_append_new(replies,
                                              connect_reply(hold, hold_id));
                        hold = NULL;
                }
        }
        for (size_t g = 0; g < ngone; g++)
                if (gone[g]->id[0] && !gone[g]->req)
                        session_free(gone[g]);
        if (!hold) {
                send_json(s, req, 200, replies);
                return;
        }
        struct timeval tv   = {0, CD_WAKE_MS * 1000};
        hold->req           = req;
        hold->replies       = replies;
        hold->connect_id    = json_incref(hold_id);
        hold->hold_until_ms = crmsync_wall_ms() + CD_HOLD_MS;
        evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                      on_closed, hold);
        evtimer_add(hold->timer, &tv);
}

void crm_cometd_handle(crm_server_t *s, struct evhttp_request *req)
{
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t           n  = evbuffer_get_length(in);
        json_error_t     jerr;
        json_t          *j;
        char            *b;

        if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
                evhttp_add_header(evhttp_request_get_output_headers(req),
                                  "Allow", "POST");
                send_json(s, req, 405,
                          json_pack("[{s:s,s:s}]", "errorCode",
                                    "METHOD_NOT_ALLOWED", "message",
                                    "POST Bayeux messages"));
                return;
        }
        if (!crm_salesforce_session_ok(s, req) ||
            !crm_salesforce_throttle_ok(s, req) || !cd_get(s))
                return;
        if (n > CRM_BODY_MAX || !(b = malloc(n + 1))) {
                send_json(s, req, 413,
                          json_pack("[{s:s,s:s}]", "errorCode",
                                    "JSON_PARSER_ERROR", "message",
                                    "body too large"));
                return;
        }
        evbuffer_copyout(in, b, n);
        j = json_loadb(b, n, 0, &jerr);
        free(b);
        if (json_is_object(j)) {
                json_t *a = json_array();
                json_array_append_new(a, j);
                j = a;
        }
        if (!json_is_array(j) || !json_array_size(j) ||
            json_array_size(j) > 32) {
                json_decref(j);
                send_json(s, req, 400,
                          json_pack("[{s:s,s:s}]", "errorCode",
                                    "JSON_PARSER_ERROR", "message",
                                    "expected 1..32 Bayeux messages"));
                return;
        }
        handle_batch(s, req, j);
        json_decref(j);
}
