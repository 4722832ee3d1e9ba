/* cometd.c -- Salesforce Change Data Capture over the Streaming API's
 * CometD/Bayeux protocol, in the mock CRM: POST /cometd/XX.X with
 * /meta/handshake, /meta/subscribe (/data/ChangeEvents or
 * /data/<Object>ChangeEvent, ext.replay -1, -2 or a replayId),
 * /meta/connect (long polling), /meta/unsubscribe, /meta/disconnect.
 *
 * The events are the change feed's delivery log (crm_feed.c), so every
 * fault of the feed shows: duplicates, late events, gaps (GAP_* change
 * types, no fields), retention (an older replayId is rejected as
 * Salesforce rejects it). A replayId is the log position + 1.
 *
 * Salesforce-only behaviours: cdc_overflow (changes of a transaction
 * beyond a threshold become one GAP_OVERFLOW event per entity type),
 * cdc_merged_events (identical changes to several records of one
 * transaction share one event, recordIds listing them all) and an
 * expired session answered in Bayeux (401::Authentication invalid,
 * advice reconnect none). */
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
        char     id[40]; /* "" = free slot */
        char     channel[CD_CHANNEL_MAX];
        int      entity; /* -1: every entity (/data/ChangeEvents) */
        int      subscribed;
        size_t   next; /* log position of the next event */
        int64_t  last_seen_ms;
        uint64_t serial; /* the session (token) of its last request */
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

/* The header of the change event of e (changeType ct, recordIds one id
 * or NULL to be filled by the caller). */
static json_t *cdc_header(crm_server_t *s, const struct crm_event *e,
                          const char *ct, const char *id, json_t *changed)
{
        const struct sf_type *t = &crm_sf_types[e->entity];
        char                  txn[32];

        snprintf(txn, sizeof(txn), "t-%08" PRIu32, e->txn);
        return json_pack(
            "{s:s,s:[s],s:s,s:s,s:s,s:i,s:I,s:I,s:s,s:o,s:[],s:[]}",
            "entityName", t->name, "recordIds", id, "changeType", ct,
            "changeOrigin", "com/salesforce/api/rest/59.0", "transactionKey",
            txn, "sequenceNumber", (int)e->txn_seq + 1, "commitTimestamp",
            (json_int_t)(s->start_wall_ms + e->commit_ms), "commitNumber",
            (json_int_t)e->seq, "commitUser", "005000000000001AAA",
            "changedFields", changed, "nulledFields", "diffFields");
}

/* The message of a payload served at log position pos. */
static json_t *cdc_message(json_t *payload, size_t pos)
{
        return json_pack("{s:s,s:{s:s,s:o,s:{s:I}}}", "channel",
                         "/data/ChangeEvents", "data", "schema",
                         "crmsync-cdc-1", "payload", payload, "event",
                         "replayId", (json_int_t)(pos + 1));
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
                json_t *fields = crmsync_event_fields(e);
                json_object_foreach(fields, k, v)
                {
                        for (int i = 0; i < 8 && t->f[i].sf; i++)
                                if (!strcmp(t->f[i].field, k)) {
                                        json_object_set(payload, t->f[i].sf, v);
                                        json_array_append_new(
                                            changed, json_string(t->f[i].sf));
                                }
                }
                json_decref(fields);
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
        json_object_set_new(payload, "ChangeEventHeader",
                            cdc_header(s, e, change_type(e, gap), id, changed));
        return cdc_message(payload, pos);
}

/* The overflow event of the changes of e's entity type from e on in its
 * transaction: header only, the empty record id. */
static json_t *cdc_overflow_event(crm_server_t *s, size_t pos)
{
        const struct crm_event *e =
            crmsync_workload_event(s->w, s->log[pos].ev);
        json_t *payload = json_object();

        json_object_set_new(payload, "ChangeEventHeader",
                            cdc_header(s, e, "GAP_OVERFLOW",
                                       "000000000000000AAA", json_array()));
        return cdc_message(payload, pos);
}

/* ------------------------------------------------------------------ */
/* Overflow and merged events (faults cdc_overflow, cdc_merged_events) */

/* See crm_int.h. */
size_t crm_fields_count(const char *t)
{
        size_t n     = 0;
        int    depth = 0, in_str = 0;

        if (!t)
                return 0;
        t += strspn(t, " \t\r\n");
        if (*t != '{')
                return 0;
        t += 1 + strspn(t + 1, " \t\r\n");
        if (*t == '}')
                return 0;
        for (depth = 1; *t; t++) {
                if (in_str) {
                        if (*t == '\\' && t[1])
                                t++;
                        else if (*t == '"')
                                in_str = 0;
                } else if (*t == '"') {
                        in_str = 1;
                } else if (*t == '{' || *t == '[') {
                        depth++;
                } else if (*t == '}' || *t == ']') {
                        depth--;
                } else if (*t == ',' && depth == 1) {
                        n++;
                }
        }
        return n + 1;
}

/* What a change counts toward the overflow threshold: a create, delete
 * or undelete 1, an update each changed field (a move 1). */
static uint32_t overflow_weight(const struct crm_event *e)
{
        size_t n = e->change == CRM_CHANGE_UPDATE
                       ? crm_fields_count(e->fields_json)
                       : 0;
        return n > 1 ? (uint32_t)n : 1;
}

void crm_cometd_commit(crm_server_t *s, uint32_t ev)
{
        const struct crm_event *e = crmsync_workload_event(s->w, ev);

        /* Events commit in index order, a transaction's consecutively. */
        if (ev == 0 || e->txn != s->cdc_txn) {
                s->cdc_txn     = e->txn;
                s->cdc_txn_sum = 0;
                s->cdc_txn_ovf = 0;
        }
        s->cdc_txn_sum += overflow_weight(e);
        if (s->cdc_merge)
                s->cdc_flags[ev] |= CRM_CDC_MERGE;
        if (!s->cdc_overflow || s->cdc_txn_sum <= s->cdc_overflow)
                return;
        s->cdc_flags[ev] |= CRM_CDC_OVERFLOW;
        if (!(s->cdc_txn_ovf & (1u << e->entity)))
                s->cdc_flags[ev] |= CRM_CDC_OVERFLOW_FIRST;
        s->cdc_txn_ovf |= 1u << e->entity;
}

/* May log entry q share the event of entry p: both merge-eligible,
 * served as committed, the same transaction, entity, change, fields and
 * owner, and q of another record? */
static int same_change(crm_server_t *s, size_t p, size_t q)
{
        const struct feed_entry *a = &s->log[p], *b = &s->log[q];
        const struct crm_event  *x = crmsync_workload_event(s->w, a->ev);
        const struct crm_event  *y = crmsync_workload_event(s->w, b->ev);

        if (!(s->cdc_flags[a->ev] & s->cdc_flags[b->ev] & CRM_CDC_MERGE) ||
            ((s->cdc_flags[a->ev] | s->cdc_flags[b->ev]) & CRM_CDC_OVERFLOW) ||
            a->form || b->form || a->dup || b->dup ||
            (s->drop && s->drop[b->ev]))
                return 0;
        if (x->txn != y->txn || x->entity != y->entity ||
            x->change != y->change || !strcmp(x->record_id, y->record_id) ||
            strcmp(x->account_id, y->account_id) ||
            !x->previous_account_id[0] != !y->previous_account_id[0])
                return 0;
        if (x->change == CRM_CHANGE_DELETE)
                return 1;
        json_t *xf = crmsync_event_fields(x), *yf = crmsync_event_fields(y);
        int     eq = xf && yf && json_equal(xf, yf);
        json_decref(xf);
        json_decref(yf);
        return eq;
}

/* Add the record of log entry q to the merged event ev (recordIds, and
 * the mapping: Crmsync_Seqs__c and Crmsync_Versions__c, one per id). */
static void merge_record(crm_server_t *s, json_t *ev, size_t q)
{
        json_t *payload =
            json_object_get(json_object_get(ev, "data"), "payload");
        json_t *hdr = json_object_get(payload, "ChangeEventHeader");
        const struct crm_event *y = crmsync_workload_event(s->w, s->log[q].ev);
        char                    id[40], buf[32];
        const char             *seqs, *vers;

        crm_salesforce_id(y->entity, y->record_id, id, sizeof(id));
        json_array_append_new(json_object_get(hdr, "recordIds"),
                              json_string(id));
        if (!json_object_get(payload, "Crmsync_Seqs__c")) {
                snprintf(buf, sizeof(buf), "%" PRIu64,
                         (uint64_t)json_integer_value(
                             json_object_get(hdr, "commitNumber")));
                json_object_set_new(payload, "Crmsync_Seqs__c",
                                    json_string(buf));
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(
                             json_object_get(payload, "Crmsync_Version__c")));
                json_object_set_new(payload, "Crmsync_Versions__c",
                                    json_string(buf));
        }
        seqs = json_string_value(json_object_get(payload, "Crmsync_Seqs__c"));
        vers =
            json_string_value(json_object_get(payload, "Crmsync_Versions__c"));
        json_t *ns = json_sprintf("%s;%" PRIu64, seqs, (uint64_t)y->seq);
        json_t *nv = json_sprintf("%s;%" PRIu32, vers, (uint32_t)y->version);
        json_object_set_new(payload, "Crmsync_Seqs__c", ns);
        json_object_set_new(payload, "Crmsync_Versions__c", nv);
}

static void observe(crm_server_t *s, const struct crm_event *e)
{
        crm_count_served(s, "cometd", 1);
        if (s->observer)
                s->observer(s->observer_opaque, e, "cometd", crmsync_wall_ms());
}

/* The event of log entry pos for x, with the entries after it that
 * share it (x->next moves past them); NULL when it is not served (an
 * overflowed change after its type's first). */
static json_t *next_event(crm_server_t *s, struct cd_session *x, size_t pos)
{
        uint32_t                ev = s->log[pos].ev;
        const struct crm_event *e  = crmsync_workload_event(s->w, ev);
        json_t                 *m;

        if (s->cdc_flags[ev] & CRM_CDC_OVERFLOW) {
                if (!(s->cdc_flags[ev] & CRM_CDC_OVERFLOW_FIRST))
                        return NULL;
                observe(s, e);
                return cdc_overflow_event(s, pos);
        }
        m = cdc_event(s, pos);
        observe(s, e);
        while (x->next < s->log_cnt && same_change(s, pos, x->next)) {
                size_t q = x->next++;
                merge_record(s, m, q);
                observe(s, crmsync_workload_event(s->w, s->log[q].ev));
                json_object_set_new(
                    json_object_get(json_object_get(m, "data"), "event"),
                    "replayId", json_integer((json_int_t)(q + 1)));
        }
        return m;
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
                json_t *ev = next_event(s, x, pos);
                if (!ev)
                        continue;
                json_object_set_new(ev, "channel", json_string(x->channel));
                json_array_append_new(out, ev);
                n++;
        }
        return n;
}

static void send_json(crm_server_t *s, struct evhttp_request *req, int status,
                      json_t *body)
{
        crm_reply_value(s, req, status, body, "[]");
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

/* The answer to message m of a session that is no longer valid, as
 * Salesforce sends it: a handshake is denied (the reason in ext.sfdc),
 * any other message fails with 401::Authentication invalid; the advice
 * is reconnect none (the client must log in again, then handshake). */
static json_t *auth_reply(const json_t *m)
{
        const char *ch = json_string_value(json_object_get(m, "channel"));
        json_t     *r;

        if (ch && !strcmp(ch, "/meta/handshake")) {
                r = meta_reply(ch, m, 0, "403::Handshake denied");
                json_object_set_new(r, "ext",
                                    json_pack("{s:{s:s}}", "sfdc",
                                              "failureReason",
                                              "401::Authentication invalid"));
                json_object_set_new(r, "advice",
                                    json_pack("{s:s}", "reconnect", "none"));
                return r;
        }
        r = meta_reply(ch ? ch : "", m, 0, "401::Authentication invalid");
        json_object_set_new(
            r, "advice",
            json_pack("{s:s,s:i}", "reconnect", "none", "interval", 0));
        return r;
}

/* Answer the held connect of x (events or not; a failure when its
 * session ended meanwhile). */
static void release(struct cd_session *x)
{
        struct evhttp_request *req     = x->req;
        json_t                *replies = json_incref(x->replies);

        if (x->serial && x->serial <= x->s->sf_expired_serial) {
                json_t *m = json_pack("{s:s,s:s}", "channel", "/meta/connect",
                                      "clientId", x->id);
                if (x->connect_id)
                        json_object_set(m, "id", x->connect_id);
                json_array_append_new(replies, auth_reply(m));
                json_decref(m);
        } else {
                take_events(x->s, x, replies);
                json_array_append_new(replies, connect_reply(x, x->connect_id));
        }
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
        if (x->next < x->s->log_cnt || crmsync_wall_ms() >= x->hold_until_ms ||
            (x->serial && x->serial <= x->s->sf_expired_serial))
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
                         json_t *msgs, uint64_t serial)
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
                if (x)
                        x->serial = serial; /* its session now */
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
        json_t          *j, *m;
        char            *b;
        uint64_t         serial = 0;
        size_t           i;

        if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
                evhttp_add_header(evhttp_request_get_output_headers(req),
                                  "Allow", "POST");
                send_json(s, req, 405,
                          json_pack("[{s:s,s:s}]", "errorCode",
                                    "METHOD_NOT_ALLOWED", "message",
                                    "POST Bayeux messages"));
                return;
        }
        /* No token: the REST 401; a token that is not (or no longer)
         * valid: Bayeux's own answer below. */
        int live = crm_salesforce_session(s, req, &serial);
        if ((live < 0 && !crm_salesforce_session_ok(s, req)) ||
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
        if (live == 1) {
                handle_batch(s, req, j, serial);
        } else {
                json_t *replies = json_array();
                json_array_foreach(j, i, m)
                    json_array_append_new(replies, auth_reply(m));
                send_json(s, req, 200, replies);
        }
        json_decref(j);
}

int crm_cometd_fault(crm_server_t *s, const char *type, const json_t *params,
                     int on, char *errstr, size_t errstr_size)
{
        if (!strcmp(type, "cdc_merged_events")) {
                s->cdc_merge = on;
                return 0;
        }
        if (!strcmp(type, "cdc_overflow")) {
                json_t *t =
                    params ? json_object_get(params, "threshold") : NULL;
                json_int_t v = t ? json_integer_value(t) : 100000;
                if (t && (!json_is_integer(t) || v < 1 || v > 100000))
                        return crmsync_err(errstr, errstr_size,
                                           "cdc_overflow: threshold must be "
                                           "an integer in 1..100000");
                s->cdc_overflow = on ? (uint32_t)v : 0;
                return 0;
        }
        return crmsync_err(errstr, errstr_size, "unknown CRM fault '%s'", type);
}
