/* connector_int.h -- internals of the reference connector shared by its
 * files (connector*.c) and its unit test. Not a public API.
 *
 * Threads: crmsync_connector_run() runs on the caller's thread; librdkafka
 * delivery reports are served on that same thread by rd_kafka_poll() /
 * rd_kafka_flush(), so nothing here needs a lock. */
#ifndef CRMSYNC_CONNECTOR_INT_H
#define CRMSYNC_CONNECTOR_INT_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "crmsync/dynbuf.h"
#include "crmsync/pipeline.h"

#define CONNECTOR_NAME "crmsync-connector"
#define CONNECTOR_CURSOR_MAX 1024     /* bytes of an opaque cursor */
#define CONNECTOR_BODY_MAX (64 << 20) /* largest HTTP body accepted */
#define CONNECTOR_BATCH_PAGES 4       /* feed pages assembled per batch */
#define CONNECTOR_RETRY_AFTER_MAX_S 30
#define CONNECTOR_BACKOFF_MIN_MS 100
#define CONNECTOR_BACKOFF_MAX_MS 5000
#define CONNECTOR_QUOTA_BACKOFF_MS 10000 /* 403 REQUEST_LIMIT_EXCEEDED */
#define CONNECTOR_BUG_RETRY_MS 10        /* ignore-retry-after: "at once" */
#define CONNECTOR_STATS_EVERY_MS 5000

/* ---- webhook signatures (connector_sig.c) ---- */

/* The mock CRM's names for HubSpot's X-HubSpot-Signature-v3 and
 * X-HubSpot-Request-Timestamp (docs/crm-api.md). */
#define CONNECTOR_HDR_SIGNATURE "X-Crmsync-Signature-v3"
#define CONNECTOR_HDR_TIMESTAMP "X-Crmsync-Request-Timestamp"
#define CONNECTOR_SIG_WINDOW_MS 300000 /* HubSpot: reject > 5 minutes */
#define CONNECTOR_SIG_MAX 64           /* longest signature header read */
#define CONNECTOR_SECRET_MAX 256       /* bytes of a webhook secret */

/* Write the v3 signature of a request (base64, NUL-terminated) into
 * out_b64 (at least CRMSYNC_SHA256_B64_SIZE bytes). ts is the timestamp
 * header as received. body may be NULL when body_len is 0. Returns 0 or
 * -1 (NULL argument, out_b64 too small). */
int connector_sig_v3(const char *secret, const char *method, const char *uri,
                     const char *body, size_t body_len, const char *ts,
                     char *out_b64, size_t out_size);

/* Verify a request from its raw header values (either may be NULL).
 * Returns 0 ok, -1 bad signature, -2 timestamp more than 5 minutes from
 * now_ms, -3 missing or malformed header. */
int connector_sig_verify(const char *secret, const char *method,
                         const char *uri, const char *body, size_t body_len,
                         const char *sig_hdr, const char *ts_hdr,
                         int64_t now_ms);

/* ---- pure helpers (connector_msg.c) ---- */

/* Parse a /v1/changes page. On success *events is a new reference to the
 * "events" array (the caller decrefs), next_cursor is filled ("" when the
 * page has none) and *has_more set. Returns 0, or -1 + errstr. */
int connector_parse_page(const char *body, size_t len, json_t **events,
                         char *next_cursor, size_t next_cursor_size,
                         int *has_more, char *errstr, size_t errstr_size);

/* Parse an object listing (GET /v1/objects/{type}?modified_since=&after=
 * &limit=): {"results":[...],"has_more":b,"next":{"modified_since":MS,
 * "after":"ID"}} ("objects"/"records"/"items" are accepted for "results",
 * and a bare array too). *objects is a new reference; *has_more is 0 when
 * absent; *next_since is -1 and next_after "" when there is no "next". */
int connector_parse_objects(const char *body, size_t len, json_t **objects,
                            int *has_more, int64_t *next_since,
                            char *next_after, size_t next_after_size,
                            char *errstr, size_t errstr_size);

/* The Kafka key of an event: its account_id, or its record_id under
 * CRMSYNC_BUG_KEY_BY_RECORD_ID. Borrowed from ev; NULL when missing. */
const char *connector_event_key(const json_t *ev, uint32_t bugs);

/* Check the fields every produced event needs (event_id, entity,
 * record_id, account_id, change_type strings, an integer version) and that
 * its "fields" hold only the entity's documented fields with their JSON
 * types (docs/wire-contracts.md): schema drift fails. Returns 0 or -1 +
 * reason. */
int connector_event_check(const json_t *ev, char *errstr, size_t errstr_size);

/* The Kafka value: a deep copy of ev plus "connector":{"source_cursor":
 * cursor (omitted when NULL),"ingest_ts_ms":..,"via":via}. New reference. */
/* The same envelope as connector_envelope(), serialised (JSON_COMPACT,
 * the same bytes) without copying ev: ev's own members, then
 * "connector". ev must not have a "connector" member. malloc'ed, NULL on
 * ENOMEM. */
char   *connector_envelope_dumps(const json_t *ev, const char *cursor,
                                 int64_t ingest_ts_ms, const char *via);
json_t *connector_envelope(const json_t *ev, const char *cursor,
                           int64_t ingest_ts_ms, const char *via);

/* Resolve a gap event (flag "resolved_gap") or a move (an update carrying
 * previous_account_id; flag "resolved_move") with the record's current
 * state, the object of GET /v1/objects/{entity}/{id}: an "update" carrying
 * all fields (or a "delete" with empty fields when the object is deleted),
 * the object's version and account_id, flag:true and "full_state":true.
 * New reference; NULL when obj lacks version/fields. ev and obj are
 * borrowed. */
json_t *connector_resolve_object(const json_t *ev, const json_t *obj,
                                 const char *flag);

/* 1 when ev must be resolved by reading the object: a gap, or a move (an
 * update with previous_account_id). *flag gets the marker to set. */
int connector_needs_object(const json_t *ev, const char **flag);

/* An event for one object of a listing (resync after a 410, poll mode):
 * change_type "update" with all fields (or "delete" when deleted),
 * event_id "<prefix>-<id>-v<version>" (shorter than CRMSYNC_ID_MAX, the
 * prefix cut to one letter if needed), commit_ts_ms =
 * last_modified_ms, and flag_name:true (e.g. "resync"). New reference;
 * NULL when obj lacks id or version. */
json_t *connector_object_event(const char *entity, const json_t *obj,
                               const char *prefix, const char *flag_name);

/* Retry-After header value in seconds (delta-seconds only), capped at
 * CONNECTOR_RETRY_AFTER_MAX_S; 1 when missing or unreadable. */
int connector_retry_after_s(const char *hdr);

/* Backoff before retry number attempt (0-based): 100 ms doubling to 5 s. */
int64_t connector_backoff_ms(unsigned attempt);

/* Parse the 410 body {"error":"cursor_expired","oldest_cursor":"..."}:
 * fills oldest ("" when absent). Returns 0, -1 when not JSON. */
int connector_parse_410(const char *body, size_t len, char *oldest,
                        size_t oldest_size);

/* The entity's index in the table of docs/wire-contracts.md, or -1 when
 * unknown; the JSON type of its field k ('s' string, 'i' integer, 'b'
 * boolean), or 0 when the entity has no such field. */
int  connector_entity_index(const char *entity, size_t len);
char connector_field_kind(int entity, const char *k, size_t len);

/* Append the envelope of an event given as the compact JSON text of an
 * object (text[len - 1] == '}', no "connector" member) to out: the bytes
 * connector_envelope_dumps() writes for its tree when that tree dumps to
 * text. Returns 0, or -1 (not an object's text, out of memory). */
int connector_envelope_raw(const char *text, size_t len, const char *cursor,
                           int64_t ingest_ts_ms, const char *via,
                           struct crmsync_dynbuf *out);

/* ---- a feed page without a tree (connector_scan.c) ---- */

struct connector_span {
        size_t off, len; /* bytes of the page body */
};

struct connector_raw_ev {
        struct connector_span text; /* the event object */
        /* Values of event_id, account_id and record_id (as_is only). */
        struct connector_span eid, acct, rec;
        int64_t               seq; /* 0 when absent or not an integer */
        /* 1: produced as its own text. connector_event_check() passes, it
         * is neither a gap nor a move, it has no "connector" member, and
         * json_dumps(JSON_COMPACT) of its tree gives its text back. 0: the
         * connector parses the text with jansson and goes the tree way. */
        int as_is;
};

struct connector_raw_page {
        struct connector_raw_ev *v;
        size_t                   n, cap;
        struct connector_span    next_cursor; /* {0, 0}: absent or null */
        int                      has_more;
};

/* Scan a /v1/changes page (see connector_scan.c for the subset taken).
 * Returns 1 with pg filled (its array reused and grown), 0 when the page
 * is declined (parse it with connector_parse_page), -1 out of memory. */
int  connector_scan_page(const char *body, size_t len,
                         struct connector_raw_page *pg);
void connector_raw_page_free(struct connector_raw_page *pg);

/* ---- HTTP (connector_http.c) ---- */

struct connector_http;

struct http_resp {
        long        status; /* 0 = transport error (errstr says which) */
        const char *body;   /* NUL-terminated, owned by the connector_http,
                             * valid until its next request */
        size_t len;
        char   retry_after[32]; /* raw Retry-After value or "" */
        char   errstr[256];
};

/* One keep-alive libcurl handle. NULL on failure. The caller owns it:
 * free with connector_http_destroy. */
struct connector_http *connector_http_new(const char *client_id);
void connector_http_destroy(struct connector_http *h); /* accepts NULL */
/* GET url (bounded: 2 s connect, 30 s total, CONNECTOR_BODY_MAX body).
 * r->body stays valid until the next call on h. */
void connector_http_get(struct connector_http *h, const char *url,
                        struct http_resp *r);
/* POST a JSON body; same rules. */
void connector_http_post(struct connector_http *h, const char *url,
                         const char *json, struct http_resp *r);
/* %-escape a query value into out (truncates at out_size). */
void connector_url_escape(const char *in, char *out, size_t out_size);

/* ---- Kafka side (connector_kafka.c) ---- */

struct connector_stats {
        uint64_t polled;      /* events read from the CRM */
        uint64_t produced;    /* records handed to librdkafka */
        uint64_t delivered;   /* delivery reports without error */
        uint64_t failed;      /* delivery reports with an error */
        uint64_t dlq;         /* records sent to the dead-letter topic */
        uint64_t gaps;        /* gap events resolved */
        uint64_t moves;       /* moves resolved (previous_account_id) */
        uint64_t resyncs;     /* full resyncs after a 410 */
        uint64_t repairs;     /* re-reads after a dead-lettered event */
        uint64_t throttled;   /* 429 and 403 answers */
        uint64_t http_errors; /* 5xx and transport errors */
        uint64_t cursors_stored;
        uint64_t batches_dropped; /* no-retry-429 bug: batches lost */
        /* Wall ms spent in each phase (profiling aid): feed pages, object
         * lookups (gaps, moves), producing, waiting for delivery, storing
         * the cursor. */
        int64_t ms_page, ms_lookup, ms_produce, ms_wait, ms_cursor;
};

struct connector {
        const struct connector_config *cfg;
        volatile sig_atomic_t         *stop;
        rd_kafka_t                    *rk;  /* events (idempotent) */
        rd_kafka_t                    *ork; /* cursor records */
        char                           dlq_topic[300];
        char                           cursor_key[320];
        struct connector_http         *http;
        struct connector_stats         st;
        char    cursor[CONNECTOR_CURSOR_MAX]; /* last stored cursor */
        int64_t next_stats_ms;
        /* Delivery accounting of the current batch (connector thread). */
        uint64_t batch_failed;
        char     last_delivery_err[256];
        /* Cursor record in flight on ork. */
        int cursor_inflight;
        int cursor_failed;
        /* A fatal librdkafka error (idempotence broken): the run ends. */
        int  fatal;
        char fatal_err[512];
        /* Poll mode: watermark state as JSON (connector_poll.c). */
        json_t *poll_state;
        /* Webhook mode: opaque attached to each record produced next, and
         * called back with it from the delivery report (err 0 = ok). */
        void *msg_opaque;
        void (*on_delivery)(struct connector *c, void *opaque, int err);
        /* Repair after dead-lettering a malformed event: re-read the
         * objects of repair_entity ("" = all) modified since
         * repair_since_ms (0 = nothing to repair) and produce their state. */
        int64_t repair_since_ms;
        char    repair_entity[16];
        /* The envelope being produced (connector_produce_raw_event). */
        struct crmsync_dynbuf env;
};

int connector_kafka_open(struct connector *c, char *errstr, size_t errstr_size);
void connector_kafka_close(struct connector *c);
/* Produce ev (borrowed) as an envelope; key per bugs; headers event_id,
 * schema_version. Malformed events go to the DLQ with dlq_reason.
 * Returns 0, or -1 + errstr on a local produce error (queue full is
 * waited out, bounded by *stop). */
int connector_produce_event(struct connector *c, const json_t *ev,
                            const char *cursor, const char *via, char *errstr,
                            size_t errstr_size);
/* Produce an event given as its text (a page event the scanner took as
 * it is: connector_raw_ev.as_is) with its key and event id: the same
 * record connector_produce_event() makes from its tree. Returns 0, or -1
 * + errstr. */
int connector_produce_raw_event(struct connector *c, const char *text,
                                size_t len, const char *key, size_t key_len,
                                const char *eid, size_t eid_len,
                                const char *cursor, const char *via,
                                char *errstr, size_t errstr_size);
/* Re-read what a dead-lettered event changed (see repair_since_ms) and
 * produce the objects' current state. 0, 1 stopped, -1 + errstr. */
int connector_repair(struct connector *c, char *errstr, size_t errstr_size);
/* Produce raw to the DLQ with header dlq_reason. */
int connector_produce_dlq(struct connector *c, const char *payload, size_t len,
                          const char *key, const char *reason);
/* Wait until every outstanding record has a delivery report (or *stop, in
 * which case up to 10 s more). Returns the number of failed reports since
 * the last connector_delivery_reset(), or -1 when records remain. */
int  connector_wait_delivered(struct connector *c);
void connector_delivery_reset(struct connector *c);
/* Store cursor (a NUL-terminated string) and wait for its delivery
 * (bounded by 30 s and *stop). Returns 0 or -1 + errstr. */
int connector_store_cursor(struct connector *c, const char *cursor,
                           char *errstr, size_t errstr_size);
/* The same without waiting for this record's delivery: c->cursor moves at
 * once, and the record is awaited before the next store (one in flight)
 * or at close. For the feed's cursor after a delivered batch. */
int connector_store_cursor_async(struct connector *c, const char *cursor,
                                 char *errstr, size_t errstr_size);
/* Read the cursor topic to its end; fills out ("" when no record for our
 * key). Returns 0 or -1 + errstr (topic unreadable within 30 s). */
int connector_load_cursor(struct connector *c, char *out, size_t out_size,
                          char *errstr, size_t errstr_size);

/* Sleep up to ms while serving delivery reports; returns early on *stop. */
void connector_nap(struct connector *c, int64_t ms);
/* Print the stats line to stderr when due (force = now). */
void connector_stats_maybe(struct connector *c, int force);

/* ---- modes ---- */
int connector_run_feed(struct connector *c, char *errstr, size_t errstr_size);
int connector_run_poll(struct connector *c, char *errstr, size_t errstr_size);
int connector_run_webhook(struct connector *c, char *errstr,
                          size_t errstr_size);

/* One page of GET /v1/objects/{entity}?modified_since=&after=&limit=,
 * retried (Retry-After, backoff) until it succeeds or *stop. strict_gt
 * asks for modified_since = since + 1 (the strict-gt-timestamp bug).
 * Returns 0 (*objs new reference), 1 stopped, 2 entity not listed (404). */
int connector_list_page(struct connector *c, const char *entity, int64_t since,
                        int strict_gt, const char *after, json_t **objs,
                        int *has_more, int64_t *next_since, char *next_after,
                        size_t next_after_size);

/* GET /v1/objects/{entity}/{id} and turn a gap or move event into a full
 * update (connector_resolve_object). Returns 0 with *out a new reference,
 * or NULL when a gap was dead-lettered (404, unusable object; a move that
 * cannot be resolved is produced as it is); 1 when the lookup should be
 * retried later (after waiting as the answer asked when wait is set). */
int connector_resolve_gap_http(struct connector *c, const json_t *ev,
                               json_t **out, int wait);

/* Outcome of one HTTP exchange, as the loops act on it. */
enum http_class {
        CONN_HTTP_OK,
        CONN_HTTP_RATE_LIMITED, /* 429 */
        CONN_HTTP_QUOTA,        /* 403 */
        CONN_HTTP_GONE,         /* 410 */
        CONN_HTTP_NOT_FOUND,    /* 404 */
        CONN_HTTP_RETRY,        /* 5xx, transport, other 4xx */
};

/* Classify an answer (counting throttles and errors, logging the odd
 * ones); what names the request in the log. */
enum http_class connector_classify(struct connector *c, const char *what,
                                   const struct http_resp *r);
/* Wait as the answer asks: Retry-After on 429, long on 403, exponential
 * backoff (*attempt counts) otherwise, never less than a Retry-After the
 * answer carries; the bug ignore-retry-after retries at once. */
void connector_wait_after(struct connector *c, enum http_class k,
                          const struct http_resp *r, unsigned *attempt);
/* Resolve a gap or move event ev: with pre the object a batch read found
 * (json null: none), or NULL to GET it now. As
 * connector_resolve_gap_http() otherwise. */
int connector_resolve_gap(struct connector *c, const json_t *ev,
                          const json_t *pre, json_t **out, int wait);
/* The objects of the gaps and moves among events (a JSON array), read
 * with one batch read per entity and up to 100 ids: "entity/id" -> the
 * object, or json null when the CRM has none; what it could not read is
 * left out (read one by one later). New reference (NULL: none). */
json_t *connector_prefetch_objects(struct connector *c, const json_t *events);

/* Full resync from the object listings (after a 410). Returns 0, 1 when
 * stopped, -1 + errstr on a fatal error. */
int connector_resync(struct connector *c, char *errstr, size_t errstr_size);

#endif
