/* crm_webhook.h -- HubSpot-style webhook signatures, subscriptions and the
 * delivery dispatcher of the mock CRM.
 *
 * Signature v3: base64(HMAC-SHA256(secret, method + uri + body + decimal
 * timestamp_ms)), sent in X-Crmsync-Signature-v3 with the timestamp in
 * X-Crmsync-Request-Timestamp and the attempt number (from 0) in
 * X-Crmsync-Attempt. uri is the subscription URL exactly as subscribed
 * (e.g. "http://127.0.0.1:8081/hook").
 *
 * The dispatcher runs on the caller's event_base; every function except
 * the pure signature helpers must be called from that loop's thread.
 * Events are batched (1..100 per POST, a JSON array of the pre-serialized
 * events), POSTed with evhttp to 127.0.0.1 subscribers, and retried on
 * timeout, connection failure or non-2xx with exponential backoff plus
 * deterministic jitter (at least the Retry-After of a 429), up to
 * max_attempts or the give-up window. A retry
 * after an acknowledgement was lost is a real duplicate. */
#ifndef CRMSYNC_CRM_WEBHOOK_H
#define CRMSYNC_CRM_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "crm_metrics.h"

struct event_base;

#define CRMSYNC_WEBHOOK_HDR_SIGNATURE "X-Crmsync-Signature-v3"
#define CRMSYNC_WEBHOOK_HDR_TIMESTAMP "X-Crmsync-Request-Timestamp"
#define CRMSYNC_WEBHOOK_HDR_ATTEMPT "X-Crmsync-Attempt"
/* The same signature under HubSpot's names (HubSpot-format subscriptions;
 * the attempt number is then the body's attemptNumber). */
#define CRMSYNC_WEBHOOK_HDR_HS_SIGNATURE "X-HubSpot-Signature-v3"
#define CRMSYNC_WEBHOOK_HDR_HS_TIMESTAMP "X-HubSpot-Request-Timestamp"
#define CRMSYNC_WEBHOOK_WINDOW_MS 300000 /* HubSpot: reject > 5 min */
#define CRMSYNC_WEBHOOK_SIG_MAX 64       /* 44 base64 chars + NUL fits */
#define CRMSYNC_WEBHOOK_BATCH_MAX 100
#define CRMSYNC_WEBHOOK_ATTEMPT_SLOTS 16 /* stats: last slot = >= 15 */
#define CRMSYNC_WEBHOOK_URL_MAX 256
#define CRMSYNC_WEBHOOK_SECRET_MAX 256

/* ---- signatures (pure, thread-safe) ---- */

/* Write the v3 signature (NUL-terminated base64, 44 chars) into out_b64.
 * body may be NULL when body_len is 0. Returns 0, or -1 when out_size is
 * too small (< 45) or an argument is NULL. */
int crmsync_webhook_sign(const char *secret, const char *method,
                         const char *uri, const char *body, size_t body_len,
                         int64_t ts_ms, char *out_b64, size_t out_size);

/* Verify a v3 signature. Returns 0 ok, -1 bad signature (constant-time
 * comparison), -2 timestamp older than window_ms (or more than window_ms
 * in the future) relative to now_ms. window_ms <= 0 means 300000. */
int crmsync_webhook_verify(const char *secret, const char *method,
                           const char *uri, const char *body, size_t body_len,
                           int64_t ts_ms, const char *sig_b64, int64_t now_ms,
                           int64_t window_ms);

/* Parse the raw X-Crmsync-Request-Timestamp header value: decimal
 * milliseconds, digits only (no sign, no spaces), at most 18 digits.
 * Returns 0 or -1. */
int crmsync_webhook_parse_timestamp(const char *hdr, int64_t *out_ms);

/* Verify from raw header values (either may be NULL = missing), as a
 * receiver does. Returns 0 ok, -1 bad signature, -2 stale, -3 missing or
 * malformed header. */
int crmsync_webhook_verify_headers(const char *secret, const char *method,
                                   const char *uri, const char *body,
                                   size_t body_len, const char *sig_hdr,
                                   const char *ts_hdr, int64_t now_ms,
                                   int64_t window_ms);

/* ---- dispatcher ---- */

struct crm_webhook_config {
        uint32_t max_attempts;    /* attempts per batch incl. first (10) */
        int64_t  backoff_base_ms; /* delay before attempt n>=1:
                                   * base * 2^(n-1), capped, + jitter (1000) */
        int64_t backoff_max_ms;   /* cap of one delay (60000) */
        int64_t give_up_ms;       /* stop retrying a batch this long after
                                   * its first attempt (86400000) */
        int64_t  timeout_ms;      /* per request (5000) */
        uint32_t max_in_flight;   /* concurrent POSTs, all subscribers (10) */
        uint32_t queue_cap;       /* events waiting or in flight, per
                                   * subscription (100000) */
        uint32_t       max_subscriptions; /* (16) */
        uint64_t       seed;              /* jitter, ack-loss and storm draws */
        crm_metrics_t *metrics; /* optional, borrowed: CRMSYNC_METRIC_WH_* */
};

/* Outcome passed to the observer. */
enum crm_webhook_outcome {
        CRM_WEBHOOK_DELIVERED = 0, /* the receiver answered 2xx */
        CRM_WEBHOOK_GAVE_UP,       /* dropped after the last attempt */
};

/* Called once per event per outcome: for every event of a batch the
 * receiver acknowledged (2xx, even when the ack is then "lost" by a fault
 * and the batch is sent again: the receiver did process it), and for every
 * event of a batch given up. event_id and url are borrowed for the call.
 * Runs on the loop; it may enqueue, subscribe or change faults, but must
 * not unsubscribe or destroy the dispatcher. */
typedef void(crm_webhook_observer_cb)(void *opaque, const char *event_id,
                                      const char *url, uint32_t attempt,
                                      enum crm_webhook_outcome outcome,
                                      int http_status, int64_t wall_ms);

struct crm_webhook_stats {
        uint64_t enqueued;             /* events accepted (per subscription) */
        uint64_t dropped_queue_full;   /* events refused by queue_cap */
        uint64_t dropped_unsubscribed; /* held when their subscription
                                        * was removed */
        uint64_t requests;             /* POSTs sent */
        uint64_t requests_by_attempt[CRMSYNC_WEBHOOK_ATTEMPT_SLOTS];
        uint64_t acked_by_attempt[CRMSYNC_WEBHOOK_ATTEMPT_SLOTS]; /* 2xx */
        uint64_t failures;         /* timeout, refused, non-2xx */
        uint64_t events_delivered; /* event deliveries acked (dups incl.) */
        uint64_t ack_lost;         /* 2xx treated as lost (ack-loss) */
        uint64_t storm_retries;    /* 2xx re-sent by the webhook storm */
        uint64_t gave_up_batches, gave_up_events;
        uint32_t queued;    /* events currently held */
        uint32_t in_flight; /* POSTs currently open */
        uint32_t subscriptions;
};

typedef struct crm_webhook crm_webhook_t;

/* New dispatcher on base (borrowed; must outlive it). cfg is copied
 * (metrics stays borrowed); NULL = all defaults. NULL on allocation
 * failure. The caller owns the result: free with crmsync_webhook_destroy
 * (before base). */
crm_webhook_t *crmsync_webhook_new(struct event_base               *base,
                                   const struct crm_webhook_config *cfg);
/* Cancels timers and open requests without calling the observer.
 * Accepts NULL. */
void crmsync_webhook_destroy(crm_webhook_t *w);

void crmsync_webhook_set_observer(crm_webhook_t *w, crm_webhook_observer_cb *cb,
                                  void *opaque);

/* Add a subscriber. url must be http://127.0.0.1:PORT/path (or localhost);
 * secret non-empty; batch_size 1..100. Strings are copied. Returns the new
 * subscription id (>= 1), or -1 with errstr filled (bad input, too many
 * subscriptions). Events enqueued afterwards are delivered to it. */
int crmsync_webhook_subscribe(crm_webhook_t *w, const char *url,
                              const char *secret, int batch_size, char *errstr,
                              size_t errstr_size);

/* Body of one attempt of a HubSpot-format batch: the n events' wire JSON
 * (borrowed), the subscription id and the attempt number (from 0).
 * Returns a malloc'ed body (the caller frees it) and its length in
 * *out_len, or NULL to send crmsync's own array instead. */
typedef char *(crm_webhook_format_cb)(void *opaque, int sub_id,
                                      const char *const *ev_json,
                                      const size_t *ev_len, int n,
                                      uint32_t attempt, size_t *out_len);

/* The formatter of HubSpot-format subscriptions (NULL = none). */
void crmsync_webhook_set_formatter(crm_webhook_t *w, crm_webhook_format_cb *cb,
                                   void *opaque);

/* Deliver subscription id in HubSpot's format: the body from the
 * formatter at every attempt, headers X-HubSpot-Signature-v3 and
 * X-HubSpot-Request-Timestamp, no X-Crmsync-Attempt. Returns 0, or -1
 * when no subscription has that id. */
int crmsync_webhook_set_hubspot(crm_webhook_t *w, int id);

/* Remove subscription id: its slot is free again, and the events it held
 * (queued, waiting for a retry or in flight) are dropped without calling
 * the observer (counted in dropped_unsubscribed). Ids are never reused.
 * Returns 0, or -1 with errstr when no subscription has that id. */
int crmsync_webhook_unsubscribe(crm_webhook_t *w, int id, char *errstr,
                                size_t errstr_size);

/* One subscription's counters. */
struct crm_webhook_sub_stats {
        uint32_t held;               /* queued or in a batch now */
        uint64_t enqueued;           /* events accepted */
        uint64_t dropped_queue_full; /* events refused: its queue was full */
        uint64_t delivered;          /* event deliveries acked (dups incl.) */
};
/* Returns 0, or -1 when no subscription has that id. */
int crmsync_webhook_sub_stats(const crm_webhook_t *w, int id,
                              struct crm_webhook_sub_stats *out);

/* Parse a POST /v1/subscriptions body {"url":..,"secret":..,
 * "batch_size":N (optional, default 100)} and subscribe. Returns the HTTP
 * status to answer: 201 created (errstr then holds the subscription id as
 * a decimal string), 400 malformed JSON / bad or unknown field, 409 too
 * many subscriptions. errstr holds the reason on 4xx. body is borrowed. */
int crmsync_webhook_subscribe_json(crm_webhook_t *w, const char *body,
                                   size_t len, char *errstr,
                                   size_t errstr_size);

/* Subscriptions now (0: enqueueing would do nothing). */
int crmsync_webhook_subscribers(const crm_webhook_t *w);

/* Queue one newly visible event for every subscription. event_json is the
 * event's wire JSON (one object; copied), event_id is copied. Returns 0,
 * or -1 when the queue of at least one subscription is full (queue_cap
 * events held; the event is then dropped for that one only and counted
 * in dropped_queue_full; the others still get it). With no
 * subscription it is a no-op returning 0. Delivery starts on the loop. */
int crmsync_webhook_enqueue(crm_webhook_t *w, const char *event_json,
                            size_t len, const char *event_id);

/* webhook_storm: with probability extra_retry_ratio (0..1; 0 = off) a
 * batch the receiver acknowledged is sent again (next attempt number) as
 * if the ack had been lost, after the usual backoff. */
void crmsync_webhook_set_storm(crm_webhook_t *w, double extra_retry_ratio);

/* Acknowledgement loss: with probability ratio (0..1) a 2xx answer is
 * treated like a timeout: the batch is retried with backoff and the
 * receiver sees it twice. */
void crmsync_webhook_set_ack_loss(crm_webhook_t *w, double ratio);

void crmsync_webhook_stats(const crm_webhook_t      *w,
                           struct crm_webhook_stats *out);

/* 1 when no event is queued, waiting for a retry or in flight. */
int crmsync_webhook_idle(const crm_webhook_t *w);

#endif
