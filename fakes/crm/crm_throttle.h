/* crm_throttle.h -- per-client rate limiting and transient errors of the
 * mock CRM.
 *
 * A token bucket per client id (rate_per_s, burst), a daily request quota
 * per client (Salesforce style 403 REQUEST_LIMIT_EXCEEDED, no Retry-After),
 * transient 500/503 at a configured ratio drawn from a seeded PRNG (the
 * same seed and call sequence give the same verdicts), and a "throttle
 * storm" that temporarily lowers the rate of every client.
 *
 * Time is passed in (now_ms, wall clock milliseconds) so tests control it.
 * The daily quota resets at UTC midnight of now_ms. Not thread-safe: use
 * from the event loop thread that owns the CRM server. */
#ifndef CRMSYNC_CRM_THROTTLE_H
#define CRMSYNC_CRM_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "crm_metrics.h"

struct evkeyvalq;
struct evhttp_request;

#define CRMSYNC_THROTTLE_CLIENT_MAX 64 /* client id bytes incl. NUL */
#define CRMSYNC_THROTTLE_BODY_MAX 256  /* error body bytes incl. NUL */

struct crm_throttle_config {
        double   rate_per_s;      /* tokens per second; 0 = unlimited */
        uint32_t burst;           /* bucket size; 0 = max(1, rate_per_s) */
        uint64_t daily_quota;     /* requests per client per UTC day; 0 = off */
        double   error_ratio_5xx; /* share of transient 500/503 (0..1) */
        uint64_t seed;            /* PRNG seed for the 5xx draws */
        uint32_t max_clients;     /* distinct ids tracked (0 = 1024); ids
                                   * beyond the cap share one bucket */
        crm_metrics_t *metrics;   /* optional, borrowed: counts
                                   * CRMSYNC_METRIC_THROTTLED{status=...} */
};

enum crm_throttle_verdict {
        CRM_THROTTLE_OK = 0,       /* 200: serve the request */
        CRM_THROTTLE_RATE_LIMITED, /* 429 with Retry-After + rate headers */
        CRM_THROTTLE_QUOTA,     /* 403 REQUEST_LIMIT_EXCEEDED, no Retry-After */
        CRM_THROTTLE_TRANSIENT, /* 500 or 503 */
};

/* What to answer. For every verdict other than OK send http_status with
 * body (Content-Type application/json) and the headers that
 * crmsync_throttle_add_headers() adds. */
struct crm_throttle_result {
        enum crm_throttle_verdict verdict;
        int                       http_status; /* 200, 429, 403, 500, 503 */
        int      retry_after_s; /* seconds; -1 = send no Retry-After */
        uint32_t limit;         /* X-RateLimit-Limit (the bucket size) */
        uint32_t remaining;     /* X-RateLimit-Remaining (whole tokens) */
        int      reset_s;       /* X-RateLimit-Reset: s until bucket full */
        int      rate_headers;  /* 1 = send the X-RateLimit-* headers */
        char     body[CRMSYNC_THROTTLE_BODY_MAX]; /* "" for OK */
};

struct crm_throttle_stats {
        uint64_t allowed, rate_limited, quota_exceeded, transient;
        uint32_t clients;       /* distinct ids tracked */
        uint64_t overflow_hits; /* checks that used the shared bucket */
        uint64_t early_retries; /* requests before a Retry-After elapsed */
};

/* A request counts as early when it arrives more than this before the
 * Retry-After given to its client elapsed. The server dates the deadline
 * when it decides (before the answer is sent) and the request when it
 * checks it (after it arrived), so a client that waits Retry-After after
 * reading the answer is never early on one machine's clock; the slack only
 * absorbs wall-clock adjustment between the two readings (NTP slews at
 * most 0.5 ms per second of wait) and timer rounding. A client that retries
 * at once is early by about Retry-After (>= 1 s). */
#define CRMSYNC_THROTTLE_EARLY_SLACK_MS 50

/* API etiquette of one client (by id): what it asked and was answered. */
struct crm_throttle_client_stats {
        char     id[CRMSYNC_THROTTLE_CLIENT_MAX];
        uint64_t requests;      /* every checked request */
        uint64_t status_429;    /* refused: beyond the rate limit */
        uint64_t status_403;    /* refused: beyond the daily quota */
        uint64_t status_5xx;    /* transient 500/503 */
        uint64_t early_retries; /* before a given Retry-After elapsed */
        int64_t  earliest_ms;   /* most ms before a deadline (0 = none) */
        uint64_t retry_afters;  /* answers that carried Retry-After */
};

typedef struct crm_throttle crm_throttle_t;

/* New limiter; cfg is copied (metrics stays borrowed and must outlive the
 * limiter). Returns NULL on allocation failure or a bad config (negative
 * rate or ratio outside 0..1). The caller owns the result: free with
 * crmsync_throttle_destroy. */
crm_throttle_t *crmsync_throttle_new(const struct crm_throttle_config *cfg);
void            crmsync_throttle_destroy(crm_throttle_t *t); /* accepts NULL */

/* Decide one request of client_id (NULL or "" = "anonymous") at now_ms.
 * Order: daily quota (403), token bucket (429), transient 5xx. A request
 * refused with 403 does not count against the quota; every other request
 * does. Fills *out (required) and returns out->verdict. Also counts the
 * client's etiquette: the request, its status, and whether it came before
 * the Retry-After of an earlier answer elapsed (the deadline is now_ms +
 * Retry-After of the latest answer that carried one). */
enum crm_throttle_verdict
crmsync_throttle_check(crm_throttle_t *t, const char *client_id, int64_t now_ms,
                       struct crm_throttle_result *out);

/* Throttle storm: every client's refill rate becomes min(rate, storm) and
 * the bucket is capped at max(1, storm) tokens. rate_per_s = 0 ends it. */
void crmsync_throttle_set_storm(crm_throttle_t *t, double rate_per_s);

/* Change the transient 5xx ratio (clamped to 0..1), e.g. crm_5xx_burst. */
void crmsync_throttle_set_5xx(crm_throttle_t *t, double ratio);

void crmsync_throttle_stats(const crm_throttle_t      *t,
                            struct crm_throttle_stats *out);

/* The etiquette figures of every client seen, in no particular order
 * (ids beyond max_clients share the entry "~overflow"). Fills up to max
 * entries of out and returns how many clients there are (may be > max). */
size_t crmsync_throttle_clients(const crm_throttle_t             *t,
                                struct crm_throttle_client_stats *out,
                                size_t                            max);

/* Add Retry-After and X-RateLimit-* headers (as the result says) and
 * Content-Type: application/json for error verdicts. hdrs is the
 * request's output headers (evhttp_request_get_output_headers). */
void crmsync_throttle_add_headers(const struct crm_throttle_result *r,
                                  struct evkeyvalq                 *hdrs);

/* Client id of an incoming request: the X-Client-Id header, else the
 * api_key query parameter (%-decoded; a malformed or > 255 byte value is
 * ignored), else "anonymous". Copied (truncated) into buf; returns buf. */
const char *crmsync_throttle_client_id(struct evhttp_request *req, char *buf,
                                       size_t buf_size);

#endif
