/* crm_throttle.c -- per-client token buckets, daily quota and transient
 * 5xx of the mock CRM. */
#include "crm_throttle.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/hash.h"
#include "crmsync/rand.h"

#include "crm_query.h"

#define DAY_MS 86400000LL
#define OVERFLOW_ID "~overflow"

struct client {
        char     id[CRMSYNC_THROTTLE_CLIENT_MAX]; /* "" = free slot */
        double   tokens;
        int64_t  last_ms;
        int64_t  day;         /* UTC day number of day_count */
        uint64_t day_count;   /* requests counted against the quota */
        int64_t  retry_at_ms; /* Retry-After deadline of the last answer
                               * that carried one (0 = none) */
        struct crm_throttle_client_stats api;
};

struct crm_throttle {
        struct crm_throttle_config cfg;
        double                     storm_rate_per_s; /* 0 = off */
        double                     ratio_5xx;
        uint64_t                   rng;
        struct client             *slots;
        uint32_t                   slot_mask;
        struct client              overflow;
        struct crm_throttle_stats  stats;
};

crm_throttle_t *crmsync_throttle_new(const struct crm_throttle_config *cfg)
{
        crm_throttle_t *t;
        uint32_t        nslots = 16;

        if (!cfg || !(cfg->rate_per_s >= 0) || !(cfg->error_ratio_5xx >= 0) ||
            cfg->error_ratio_5xx > 1)
                return NULL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->cfg = *cfg;
        if (t->cfg.max_clients == 0)
                t->cfg.max_clients = 1024;
        if (t->cfg.max_clients > (1u << 20))
                t->cfg.max_clients = 1u << 20;
        while (nslots < t->cfg.max_clients * 2)
                nslots <<= 1;
        t->slots = calloc(nslots, sizeof(*t->slots));
        if (!t->slots) {
                free(t);
                return NULL;
        }
        t->slot_mask = nslots - 1;
        t->ratio_5xx = cfg->error_ratio_5xx;
        t->rng       = cfg->seed ^ 0x5eed7407713ULL;
        return t;
}

void crmsync_throttle_destroy(crm_throttle_t *t)
{
        if (!t)
                return;
        free(t->slots);
        free(t);
}

void crmsync_throttle_set_storm(crm_throttle_t *t, double rate_per_s)
{
        if (!t)
                return;
        t->storm_rate_per_s = rate_per_s > 0 ? rate_per_s : 0;
}

void crmsync_throttle_set_5xx(crm_throttle_t *t, double ratio)
{
        if (!t)
                return;
        if (!(ratio > 0))
                ratio = 0;
        t->ratio_5xx = ratio > 1 ? 1 : ratio;
}

void crmsync_throttle_stats(const crm_throttle_t      *t,
                            struct crm_throttle_stats *out)
{
        if (!out)
                return;
        memset(out, 0, sizeof(*out));
        if (t)
                *out = t->stats;
}

size_t crmsync_throttle_clients(const crm_throttle_t             *t,
                                struct crm_throttle_client_stats *out,
                                size_t                            max)
{
        size_t n = 0;

        if (!t)
                return 0;
        for (uint32_t i = 0; i <= t->slot_mask; i++) {
                if (!t->slots[i].id[0])
                        continue;
                if (n < max)
                        out[n] = t->slots[i].api;
                n++;
        }
        if (t->overflow.id[0]) {
                if (n < max)
                        out[n] = t->overflow.api;
                n++;
        }
        return n;
}

/* Effective refill rate (0 = unlimited) and bucket size. */
static void bucket_params(const crm_throttle_t *t, double *rate, double *cap)
{
        double r = t->cfg.rate_per_s;
        double c = t->cfg.burst ? (double)t->cfg.burst : (r > 1 ? floor(r) : 1);

        if (t->storm_rate_per_s > 0) {
                double sc =
                    t->storm_rate_per_s > 1 ? floor(t->storm_rate_per_s) : 1;
                if (r == 0 || t->storm_rate_per_s < r)
                        r = t->storm_rate_per_s;
                if (t->cfg.rate_per_s == 0 || sc < c)
                        c = sc;
        }
        *rate = r;
        *cap  = c;
}

/* Find or insert the client; falls back to the shared overflow bucket. */
static struct client *client_get(crm_throttle_t *t, const char *id, double cap,
                                 int64_t now_ms)
{
        uint32_t slot = (uint32_t)crmsync_fnv1a64_str(id) & t->slot_mask;

        for (uint32_t probe = 0; probe <= t->slot_mask; probe++) {
                struct client *c = &t->slots[slot];
                if (!c->id[0]) {
                        if (t->stats.clients >= t->cfg.max_clients)
                                break;
                        snprintf(c->id, sizeof(c->id), "%s", id);
                        snprintf(c->api.id, sizeof(c->api.id), "%s", id);
                        c->tokens  = cap;
                        c->last_ms = now_ms;
                        c->day     = now_ms / DAY_MS;
                        t->stats.clients++;
                        return c;
                }
                if (!strcmp(c->id, id))
                        return c;
                slot = (slot + 1) & t->slot_mask;
        }
        t->stats.overflow_hits++;
        if (!t->overflow.id[0]) {
                snprintf(t->overflow.id, sizeof(t->overflow.id), "%s",
                         OVERFLOW_ID);
                snprintf(t->overflow.api.id, sizeof(t->overflow.api.id), "%s",
                         OVERFLOW_ID);
                t->overflow.tokens  = cap;
                t->overflow.last_ms = now_ms;
                t->overflow.day     = now_ms / DAY_MS;
        }
        return &t->overflow;
}

static int ceil_s(double seconds)
{
        double c = ceil(seconds - 1e-9);
        if (c < 0)
                return 0;
        return c > 86400 ? 86400 : (int)c;
}

/* Etiquette: count the request and see whether it came before the
 * Retry-After of an earlier answer to this client elapsed. */
static void count_request(crm_throttle_t *t, struct client *c, int64_t now_ms)
{
        c->api.requests++;
        if (c->retry_at_ms &&
            now_ms + CRMSYNC_THROTTLE_EARLY_SLACK_MS < c->retry_at_ms) {
                int64_t early = c->retry_at_ms - now_ms;
                c->api.early_retries++;
                t->stats.early_retries++;
                if (early > c->api.earliest_ms)
                        c->api.earliest_ms = early;
        }
}

/* Etiquette: the answer's status and its Retry-After deadline. */
static void count_answer(struct client *c, const struct crm_throttle_result *r,
                         int64_t now_ms)
{
        if (r->http_status == 429)
                c->api.status_429++;
        else if (r->http_status == 403)
                c->api.status_403++;
        else if (r->http_status >= 500)
                c->api.status_5xx++;
        if (r->retry_after_s >= 0) {
                c->api.retry_afters++;
                c->retry_at_ms = now_ms + (int64_t)r->retry_after_s * 1000;
        }
}

static void count_metric(crm_throttle_t *t, int status)
{
        char labels[32];

        if (!t->cfg.metrics)
                return;
        snprintf(labels, sizeof(labels), "status=%d", status);
        crmsync_metrics_inc(t->cfg.metrics, CRMSYNC_METRIC_THROTTLED, labels,
                            1);
}

enum crm_throttle_verdict
crmsync_throttle_check(crm_throttle_t *t, const char *client_id, int64_t now_ms,
                       struct crm_throttle_result *out)
{
        char           idbuf[CRMSYNC_THROTTLE_CLIENT_MAX];
        struct client *c;
        double         rate, cap;
        int64_t        day = now_ms / DAY_MS;

        memset(out, 0, sizeof(*out));
        out->verdict       = CRM_THROTTLE_OK;
        out->http_status   = 200;
        out->retry_after_s = -1;
        if (!t)
                return out->verdict;
        snprintf(idbuf, sizeof(idbuf), "%s",
                 client_id && *client_id ? client_id : "anonymous");
        bucket_params(t, &rate, &cap);
        c = client_get(t, idbuf, cap, now_ms);
        count_request(t, c, now_ms);

        /* Daily quota (Salesforce: 403, no Retry-After). */
        if (c->day != day) {
                c->day       = day;
                c->day_count = 0;
        }
        if (t->cfg.daily_quota && c->day_count >= t->cfg.daily_quota) {
                out->verdict     = CRM_THROTTLE_QUOTA;
                out->http_status = 403;
                snprintf(out->body, sizeof(out->body),
                         "{\"error\":\"REQUEST_LIMIT_EXCEEDED\","
                         "\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\","
                         "\"message\":\"TotalRequests Limit exceeded.\"}");
                t->stats.quota_exceeded++;
                count_metric(t, 403);
                count_answer(c, out, now_ms);
                return out->verdict;
        }
        c->day_count++;

        /* Token bucket. */
        if (rate > 0) {
                if (now_ms > c->last_ms)
                        c->tokens +=
                            (double)(now_ms - c->last_ms) * rate / 1000.0;
                c->last_ms = now_ms > c->last_ms ? now_ms : c->last_ms;
                if (c->tokens > cap)
                        c->tokens = cap;
                out->rate_headers = 1;
                out->limit        = (uint32_t)cap;
                if (c->tokens < 1.0) {
                        int ra             = ceil_s((1.0 - c->tokens) / rate);
                        out->verdict       = CRM_THROTTLE_RATE_LIMITED;
                        out->http_status   = 429;
                        out->retry_after_s = ra < 1 ? 1 : ra;
                        out->remaining     = 0;
                        out->reset_s       = ceil_s((cap - c->tokens) / rate);
                        snprintf(out->body, sizeof(out->body),
                                 "{\"error\":\"rate_limited\","
                                 "\"message\":\"You have reached your "
                                 "ten_secondly_rolling limit.\","
                                 "\"policyName\":\"TEN_SECONDLY_ROLLING\"}");
                        t->stats.rate_limited++;
                        count_metric(t, 429);
                        count_answer(c, out, now_ms);
                        return out->verdict;
                }
                c->tokens -= 1.0;
                out->remaining = (uint32_t)floor(c->tokens);
                out->reset_s   = ceil_s((cap - c->tokens) / rate);
        }

        /* Transient 5xx drawn from the seeded PRNG. */
        if (t->ratio_5xx > 0 &&
            crmsync_splitmix64_unit(&t->rng) < t->ratio_5xx) {
                int is_503         = (int)(crmsync_splitmix64(&t->rng) & 1);
                out->verdict       = CRM_THROTTLE_TRANSIENT;
                out->http_status   = is_503 ? 503 : 500;
                out->retry_after_s = is_503 ? 1 : -1;
                snprintf(out->body, sizeof(out->body),
                         "{\"error\":\"transient\",\"message\":\"simulated "
                         "transient %s\"}",
                         is_503 ? "service unavailable" : "internal error");
                t->stats.transient++;
                count_metric(t, out->http_status);
                count_answer(c, out, now_ms);
                return out->verdict;
        }
        t->stats.allowed++;
        return out->verdict;
}

void crmsync_throttle_add_headers(const struct crm_throttle_result *r,
                                  struct evkeyvalq                 *hdrs)
{
        char buf[32];

        if (!r || !hdrs)
                return;
        if (r->retry_after_s >= 0) {
                snprintf(buf, sizeof(buf), "%d", r->retry_after_s);
                evhttp_remove_header(hdrs, "Retry-After");
                evhttp_add_header(hdrs, "Retry-After", buf);
        }
        if (r->rate_headers) {
                snprintf(buf, sizeof(buf), "%u", r->limit);
                evhttp_add_header(hdrs, "X-RateLimit-Limit", buf);
                snprintf(buf, sizeof(buf), "%u", r->remaining);
                evhttp_add_header(hdrs, "X-RateLimit-Remaining", buf);
                snprintf(buf, sizeof(buf), "%d", r->reset_s);
                evhttp_add_header(hdrs, "X-RateLimit-Reset", buf);
        }
        if (r->verdict != CRM_THROTTLE_OK) {
                evhttp_remove_header(hdrs, "Content-Type");
                evhttp_add_header(hdrs, "Content-Type", "application/json");
        }
}

const char *crmsync_throttle_client_id(struct evhttp_request *req, char *buf,
                                       size_t buf_size)
{
        char        key[256];
        const char *v = NULL;

        if (!buf || buf_size == 0)
                return "anonymous";
        if (req) {
                const struct evhttp_uri *uri;

                v = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "X-Client-Id");
                if (v && *v) {
                        snprintf(buf, buf_size, "%s", v);
                        return buf;
                }
                uri = evhttp_request_get_evhttp_uri(req);
                if (uri &&
                    crmsync_query_get(evhttp_uri_get_query(uri), "api_key", key,
                                      sizeof(key)) == 0 &&
                    key[0]) {
                        snprintf(buf, buf_size, "%s", key); /* truncates */
                        return buf;
                }
        }
        snprintf(buf, buf_size, "%s", "anonymous");
        return buf;
}
