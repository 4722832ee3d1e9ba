/* crm_int.h -- internals of the mock CRM server shared by crm_server.c
 * (HTTP, faults), crm_feed.c (change feed) and crm_objects.c (objects). */
#ifndef CRMSYNC_CRM_INT_H
#define CRMSYNC_CRM_INT_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "crmsync/crm.h"
#include "crm_metrics.h"
#include "crm_throttle.h"
#include "crmsync/http_guard.h"
#include "crm_webhook.h"

#define CRM_DEFAULT_PAGE 100
#define CRM_DEFAULT_MAX 1000
#define CRM_IDS_MAX 100    /* ids of one batch read */
#define CRM_POLL_CAP 10000 /* results per timestamp query */
#define CRM_BODY_MAX 65536 /* request bodies we accept */
#define CRM_CURSOR_MAX 64
#define CRM_REF_MIN_BYTES 1024 /* feed slices shorter than this are copied */
#define CRM_WIRE_CHUNK 1024    /* events serialised together (crm_wire.c) */
#define CRM_WIRE_CACHED 32     /* chunks kept when no page holds them */
#define CRM_HS_APPS_MAX 8      /* HubSpot apps with webhook settings */
#define CRM_HS_SUBS_MAX 64     /* HubSpot event subscriptions, all apps */
#define CRM_SF_LOCATORS 32     /* Salesforce query locators kept */

/* How a feed entry is serialized: as committed, or altered by a fault. */
enum crm_form {
        CRM_FORM_NORMAL = 0,
        CRM_FORM_GAP,          /* change_type gap, fields null */
        CRM_FORM_NEW_FIELD,    /* schema_drift: an unknown extra field */
        CRM_FORM_CHANGED_TYPE, /* schema_drift: a value of another type */
        CRM_FORM_MISSING,      /* schema_drift: record_id missing */
};

/* One position of the delivery log: what GET /v1/changes serves, in order.
 * An event may appear twice (duplicate fault), late (behind newer ones),
 * as a gap, or never (drop fault). */
struct feed_entry {
        uint32_t ev;       /* event index */
        uint8_t  form;     /* enum crm_form: how it is served */
        uint8_t  dup;      /* a repeat of an earlier entry */
        uint32_t alt;      /* form != NORMAL: 1 + index into alt, 0 = none */
        int64_t  added_ms; /* wall time it became servable */
};

/* The JSON of one entry served altered, serialized once (owned). */
struct alt_json {
        char  *json;
        size_t len;
};

/* The wire JSON of CRM_WIRE_CHUNK consecutive events (crm_wire.c). */
struct wire_chunk {
        char *buf;      /* "ev0,ev1,...," (each event followed by a comma),
                         * or NULL when not serialised now */
        uint32_t *off;  /* event k starts at off[k]; off[n] = bytes */
        uint32_t  refs; /* evbuffer references to buf not yet released */
        uint64_t  used; /* s->wire_clock when last used */
};

/* A delayed entry (late or duplicate), in a min-heap by release time. */
struct pending {
        int64_t  release_ms;
        uint64_t order; /* FIFO among equal release times */
        uint32_t ev;
        uint8_t  dup;
};

/* A HubSpot webhook event subscription (dialect_hubspot_subs.c). */
struct hs_event_sub {
        int64_t app; /* 0 = free slot */
        int     id;
        int     active;
        char    type[48]; /* eventType: contact.propertyChange, ... */
        char    prop[64]; /* propertyName of a propertyChange */
        int64_t created_ms, updated_ms;
};

/* Live state of one record as of the events applied so far. */
struct live_rec {
        int      exists;
        int      deleted;
        uint32_t version;
        uint32_t last_ev; /* index of the last applied event */
        int64_t  last_modified_ms;
        int64_t  created_ms; /* wall time of its first change */
        /* Owned; NULL until first read (built from its events then).
         * Read at its final version, when equal, the record's tree is
         * freed and fields_final set: its fields are the workload's
         * final-state text (crm_live_fields parses it; no event comes
         * after the final one), so a record's end state is held once, as
         * text, not as a second tree. */
        json_t *fields;
        int     fields_final;
        /* The fields hold the record's events up to event fields_upto-1
         * (0: none yet); materialize() catches up with last_ev when they
         * are read. first_ev: its first event + 1 (s->ev_next chains the
         * rest, +1 too; 0 ends). */
        uint32_t fields_upto, first_ev;
        /* Merge winners: the records merged into it so far, as a JSON
         * array of ids (owned; HubSpot's hs_merged_object_ids). */
        json_t *merged;
        /* Late changes not visible yet: timestamp polling (a search index)
         * does not list the record until they are, and then lists it with
         * its original last-modified time, behind newer records. */
        uint32_t late_pending;
};

struct crm_server {
        struct event_base       *base;
        struct evhttp           *http;
        http_guard_t            *guard; /* limits, JSON errors */
        int                      port;
        struct crm_server_config cfg;
        crm_workload_t          *w;
        int64_t                  start_wall_ms;
        uint64_t                 seed;
        size_t                   ev_cnt;

        /* Wire JSON of the events by chunks, serialised when first
         * needed and freed again when unused (crm_wire.c). Pages
         * reference a chunk (evbuffer_add_reference) instead of copying,
         * so the chunks must outlive the evhttp (freed after it). */
        struct wire_chunk *wire;
        size_t             wire_cnt, wire_resident;
        uint64_t           wire_clock;
        uint32_t          *ev_rec;  /* event index -> record index */
        uint32_t          *ev_next; /* event -> its record's next + 1 */
        /* Reused page body and its scratch; empty between requests. */
        struct evbuffer *page, *page_scratch;

        /* Change feed. */
        size_t             applied; /* events applied to live state */
        struct feed_entry *log;
        size_t             log_cnt, log_cap;
        struct pending    *heap;
        size_t             heap_cnt, heap_cap;
        uint64_t           heap_order;
        struct alt_json   *alt; /* altered entries (gap, schema drift) */
        size_t             alt_cnt, alt_cap;
        size_t             retention_floor; /* retention_cut */
        uint8_t           *drop;            /* by event: never served */
        uint64_t          *dropped;
        size_t             dropped_cnt;

        /* Faults. */
        double  dup_ratio, late_ratio, gap_ratio, drift_ratio;
        int     drift_form; /* enum crm_form of schema_drift */
        int64_t late_delay_ms;
        int64_t slow_ms;

        /* Objects. */
        struct live_rec *live;                      /* by record index */
        uint32_t        *by_entity[CRM_ENTITY_CNT]; /* record indexes */
        size_t           by_entity_cnt[CRM_ENTITY_CNT];

        crm_serve_cb *observer;
        void         *observer_opaque;
        /* The client id of the request being served (X-Client-Id, or
         * api_key, or "anonymous"); "" between requests. */
        char serving_client[CRMSYNC_THROTTLE_CLIENT_MAX];

        crm_metrics_t  *metrics;
        crm_throttle_t *throttle;
        crm_webhook_t  *webhook;
        struct event   *tick;

        /* HubSpot webhook settings: app id -> webhook subscription id
         * (0 = free slot). */
        int64_t hs_app_id[CRM_HS_APPS_MAX];
        int     hs_app_sub[CRM_HS_APPS_MAX];
        /* Their event subscriptions (the last id issued in hs_subs_next). */
        struct hs_event_sub hs_subs[CRM_HS_SUBS_MAX];
        int                 hs_subs_next;

        /* Salesforce: query locators (lazily allocated ring), sessions
         * issued (a serial in each token) and the expire_sessions fault
         * (sessions up to that serial are invalid). */
        struct sf_locator *sf_loc;
        uint32_t           sf_loc_next;
        uint64_t           sf_serial, sf_expired_serial;
        struct cometd     *cometd; /* cometd.c, lazily allocated */
        /* Salesforce CDC (cometd.c): flags by event, set at commit
         * (CRM_CDC_*), the cdc_overflow fault's threshold (0 = off) and
         * the cdc_merged_events fault (on/off). */
        uint8_t *cdc_flags;
        uint32_t cdc_overflow;
        int      cdc_merge;
        /* The transaction being committed: its number, the changes
         * counted toward the threshold so far, and the entity types
         * that overflowed in it (bit per enum crm_entity). */
        uint32_t cdc_txn;
        uint64_t cdc_txn_sum;
        unsigned cdc_txn_ovf;
};

#define CRM_CDC_OVERFLOW 1 /* beyond its transaction's threshold */
#define CRM_CDC_MERGE 2    /* may share one event with identical changes */
#define CRM_CDC_OVERFLOW_FIRST 4 /* the first of its type: the event */

/* crm_server.c */
void crm_reply_json(crm_server_t *s, struct evhttp_request *req, int status,
                    struct evbuffer *body);
void crm_reply_error(crm_server_t *s, struct evhttp_request *req, int status,
                     const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The error body of each dialect: /v1 {"error","message"}, Salesforce
 * [{"message","errorCode"}], HubSpot {"status","message","correlationId",
 * "category"}; code is the error code or HubSpot's category. */
enum crm_error_shape {
        CRM_ERROR_V1 = 0,
        CRM_ERROR_SALESFORCE,
        CRM_ERROR_HUBSPOT,
};
void crm_reply_verror(crm_server_t *s, struct evhttp_request *req, int status,
                      enum crm_error_shape shape, const char *code,
                      const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
void crm_count_served(crm_server_t *s, const char *via, uint64_t n);
/* Answer body (a JSON value, stolen) with status; empty is the body
 * when it cannot be serialized ("[]" or "{}", as the dialect answers). */
void crm_reply_value(crm_server_t *s, struct evhttp_request *req, int status,
                     json_t *body, const char *empty);
/* n records (indexes) were served via: the observer sees each one's
 * latest event, and the served counter moves by n. */
void crm_observe_records(crm_server_t *s, const uint32_t *idx, size_t n,
                         const char *via);
/* A JSON scalar as a HubSpot property value: a string ("17", "true");
 * NULL for another type. */
json_t *crm_prop_string(const json_t *v);

/* crm_feed.c */
int  crm_feed_init(crm_server_t *s, char *errstr, size_t errstr_size);
void crm_feed_destroy(crm_server_t *s);
/* Apply every event committed by now_ms and release due delayed entries. */
void crm_feed_advance(crm_server_t *s, int64_t now_ms);
void crm_feed_handle_changes(crm_server_t *s, struct evhttp_request *req,
                             const char *query);
int  crm_feed_fault(crm_server_t *s, const char *type, const json_t *params,
                    int on, char *errstr, size_t errstr_size);
/* A deterministic draw in [0, 1) for (event, purpose). */
double crm_draw(const crm_server_t *s, uint64_t a, uint64_t salt);

/* cometd.c: the members of an event's fields text (jansson's compact
 * dump of an object; NULL or "{}": 0), counted without a tree: its
 * commas outside strings and nested values, plus one. */
size_t crm_fields_count(const char *fields_json);

/* crm_wire.c */
int  crm_wire_init(crm_server_t *s, char *errstr, size_t errstr_size);
void crm_wire_destroy(crm_server_t *s);
/* Of n events from ev on, how many lie in ev's chunk (one slice). */
size_t crm_wire_run(uint32_t ev, size_t n);
/* The wire JSON of events ev..ev+n-1 (in one chunk: n <= crm_wire_run),
 * comma-separated, *len bytes, not NUL-terminated; valid until the next
 * crm_wire_get unless referenced with crm_wire_ref. *chunk (if not NULL)
 * names the chunk. NULL when out of memory or out of range. */
const char *crm_wire_get(crm_server_t *s, uint32_t ev, size_t n, size_t *len,
                         struct wire_chunk **chunk);
/* Add p (n bytes of chunk c) to out by reference; c stays until out lets
 * go of it. Returns -1 (nothing added) on failure. */
int crm_wire_ref(struct evbuffer *out, const char *p, size_t n,
                 struct wire_chunk *c);
/* Bytes of wire JSON held now. */
size_t crm_wire_resident_bytes(const crm_server_t *s);
struct crmsync_dynbuf;
/* Append ev's compact wire JSON to b: the bytes of json_dumps(
 * crmsync_event_to_json(ev, start_wall_ms), JSON_COMPACT), written
 * directly (through jansson when a string would need escaping). Returns
 * 0, or -1 when out of memory (b may then hold part of it). */
int crm_wire_event_append(const struct crm_event *ev, int64_t start_wall_ms,
                          struct crmsync_dynbuf *b);

/* crm_objects.c */
int  crm_objects_init(crm_server_t *s, char *errstr, size_t errstr_size);
void crm_objects_destroy(crm_server_t *s);
void crm_objects_apply(crm_server_t *s, uint32_t ev);
/* Record idx's live fields as a new reference (NULL before its create or
 * when out of memory). */
json_t *crm_live_fields(crm_server_t *s, uint32_t idx);
/* GET /v1/objects/{type}/{id} and /v1/objects/{type}?modified_since= */
void crm_objects_handle(crm_server_t *s, struct evhttp_request *req,
                        const char *rest, const char *query);

/* dialect_hubspot.c: /crm/v3/... (docs/crm-dialects.md) */
void crm_hubspot_handle(crm_server_t *s, struct evhttp_request *req,
                        const char *path, const char *query);
/* Helpers shared with dialect_hubspot_webhooks.c. HubSpot's error shape
 * {"status":"error","message","correlationId","category"}: */
void crm_hubspot_error(crm_server_t *s, struct evhttp_request *req, int status,
                       const char *category, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Answer body (a JSON value, stolen) with status. */
void crm_hubspot_reply(crm_server_t *s, struct evhttp_request *req, int status,
                       json_t *body);
/* The request body (NUL-terminated, caller frees), or NULL after a 4xx. */
char *crm_hubspot_body(crm_server_t *s, struct evhttp_request *req,
                       size_t *len);
/* The bearer token, or NULL after a 401. */
const char *crm_hubspot_auth(crm_server_t *s, struct evhttp_request *req);
/* 1 when the throttle lets the request of client token go on, else 0
 * after answering it (429 or 5xx in HubSpot's shape). */
int crm_hubspot_throttle_ok(crm_server_t *s, struct evhttp_request *req,
                            const char *token);
/* A fresh correlationId for a HubSpot error body. */
void crm_hubspot_correlation_id(char *out, size_t n);
/* "C-000017" -> 17; -1 when not numeric. */
int64_t crm_hubspot_num(const char *id);
/* The HubSpot property of a crmsync field (the field itself if unmapped). */
const char *crm_hubspot_prop(enum crm_entity t, const char *field);

/* dialect_salesforce.c: /services/... (docs/crm-dialects.md) */
void crm_salesforce_handle(crm_server_t *s, struct evhttp_request *req,
                           const char *path, const char *query);
/* Helpers shared with cometd.c: a live session (else 0 after a 401),
 * the throttle (else 0 after answering), "A-000017" -> the 18-character
 * Id, and each entity's sObject name, key prefix and fields. */
int crm_salesforce_session_ok(crm_server_t *s, struct evhttp_request *req);
/* The session without answering: 1 live (its serial in *serial, may be
 * NULL), 0 an invalid or expired token, -1 none. */
int  crm_salesforce_session(crm_server_t *s, struct evhttp_request *req,
                            uint64_t *serial);
int  crm_salesforce_throttle_ok(crm_server_t *s, struct evhttp_request *req);
void crm_salesforce_id(enum crm_entity t, const char *rid, char *out, size_t n);
struct sf_field {
        const char *sf, *field;
};
struct sf_type {
        const char     *name, *prefix;
        struct sf_field f[8];
};
extern const struct sf_type crm_sf_types[CRM_ENTITY_CNT];

/* cometd.c: /cometd/XX.X, Change Data Capture over Bayeux. */
void crm_cometd_handle(crm_server_t *s, struct evhttp_request *req);
void crm_cometd_destroy(crm_server_t *s);
/* Event ev is committed: mark it for the CDC faults in force. */
void crm_cometd_commit(crm_server_t *s, uint32_t ev);
/* The faults cdc_overflow (threshold) and cdc_merged_events. */
int crm_cometd_fault(crm_server_t *s, const char *type, const json_t *params,
                     int on, char *errstr, size_t errstr_size);

/* dialect_hubspot_webhooks.c: /webhooks/v3/{appId}/settings and the body
 * of HubSpot-format deliveries (a crm_webhook_format_cb). */
void crm_hubspot_webhooks_handle(crm_server_t *s, struct evhttp_request *req,
                                 const char *path, const char *query);
/* dialect_hubspot_subs.c: /webhooks/v3/{appId}/subscriptions[/{id}]
 * (rest: what follows "subscriptions"), and the filter of the events of
 * one delivery to app: those of its active subscriptions (with their
 * subscriptionId), or all when it has none. */
void  crm_hubspot_subs_handle(crm_server_t *s, struct evhttp_request *req,
                              int64_t app, const char *rest);
void  crm_hubspot_subs_filter(const crm_server_t *s, int64_t app,
                              json_t *events);
char *crm_hubspot_webhook_body(void *opaque, int sub_id,
                               const char *const *ev_json, const size_t *ev_len,
                               int n, uint32_t attempt, size_t *out_len);

#endif
