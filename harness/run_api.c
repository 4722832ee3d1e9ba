/* run_api.c -- API etiquette of the run's CRM clients: what the mock CRM
 * counted per client (requests, 429/403/5xx, requests before a given
 * Retry-After elapsed), as the summary's "api" object and the expect.api
 * checks. */
#include "run_int.h"

static int by_id(const void *a, const void *b)
{
        return strcmp(((const struct crm_throttle_client_stats *)a)->id,
                      ((const struct crm_throttle_client_stats *)b)->id);
}

json_t *run_api_json(struct run *r)
{
        struct crm_throttle_client_stats *cs = NULL;
        size_t   n = r->crm ? crmsync_crm_server_clients(r->crm, NULL, 0) : 0;
        size_t   events = crmsync_workload_event_cnt(r->wl);
        uint64_t req = 0, s429 = 0, s403 = 0, s5xx = 0, early = 0, ra = 0;
        json_t  *clients        = json_object(), *o;
        const char *worst       = NULL;
        uint64_t    worst_early = 0;

        if (n && (cs = calloc(n, sizeof(*cs))))
                n = crmsync_crm_server_clients(r->crm, cs, n);
        else
                n = 0;
        if (n)
                qsort(cs, n, sizeof(*cs), by_id);
        for (size_t i = 0; i < n; i++) {
                char mine[64];
                /* Shadow mode: one CRM, two connectors; a run counts its
                 * own (X-Client-Id crmsync-connector-A or -B). */
                snprintf(mine, sizeof(mine), "crmsync-connector-%s",
                         r->shadow_label ? r->shadow_label : "");
                if (r->shadow_label && strcmp(cs[i].id, mine))
                        continue;
                req += cs[i].requests;
                s429 += cs[i].status_429;
                s403 += cs[i].status_403;
                s5xx += cs[i].status_5xx;
                early += cs[i].early_retries;
                ra += cs[i].retry_afters;
                if (cs[i].early_retries > worst_early) {
                        worst_early = cs[i].early_retries;
                        worst       = cs[i].id;
                }
                json_object_set_new(
                    clients, cs[i].id,
                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
                              (json_int_t)cs[i].requests, "status_429",
                              (json_int_t)cs[i].status_429, "status_403",
                              (json_int_t)cs[i].status_403, "status_5xx",
                              (json_int_t)cs[i].status_5xx, "retry_afters",
                              (json_int_t)cs[i].retry_afters, "early_retries",
                              (json_int_t)cs[i].early_retries, "earliest_ms",
                              (json_int_t)cs[i].earliest_ms));
        }
        o = json_pack(
            "{s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i,"
            " s:{s:f, s:i, s:I}}",
            "requests", (json_int_t)req, "requests_per_change",
            events ? (double)req / (double)events : 0.0, "status_429",
            (json_int_t)s429, "status_403", (json_int_t)s403, "status_5xx",
            (json_int_t)s5xx, "retry_afters", (json_int_t)ra, "early_retries",
            (json_int_t)early, "over_rate_limit", (json_int_t)s429,
            "over_daily_quota", (json_int_t)s403, "early_slack_ms",
            CRMSYNC_THROTTLE_EARLY_SLACK_MS, "limits", "rate_limit_per_s",
            r->sc->crm_rate_limit_per_s, "burst", (int)r->sc->crm_rate_burst,
            "daily_quota", (json_int_t)r->sc->crm_daily_quota);
        /* 0 = unlimited: say so with null. */
        if (r->sc->crm_rate_limit_per_s <= 0)
                json_object_set_new(json_object_get(o, "limits"),
                                    "rate_limit_per_s", json_null());
        if (!r->sc->crm_daily_quota)
                json_object_set_new(json_object_get(o, "limits"), "daily_quota",
                                    json_null());
        if (worst)
                json_object_set_new(o, "worst_client", json_string(worst));
        json_object_set_new(o, "clients", clients);
        free(cs);
        return o;
}

static void api_expect(struct expectations *exp, int *failed, const char *name,
                       int ok, const char *detail)
{
        if (!ok)
                *failed = 1;
        crmsync_expectations_add(exp, name, ok, -1, detail);
}

static json_int_t geti(const json_t *o, const char *k)
{
        return json_integer_value(json_object_get(o, k));
}

void run_api_expect(struct run *r, const json_t *api, struct expectations *exp,
                    int *failed)
{
        const struct scenario_expect *e = &r->sc->expect;
        char                          name[96], detail[256];
        json_int_t                    early = geti(api, "early_retries");

        if (e->api_early_retries_max >= 0) {
                const char *w =
                    json_string_value(json_object_get(api, "worst_client"));
                const json_t *wc =
                    w ? json_object_get(json_object_get(api, "clients"), w)
                      : NULL;
                snprintf(name, sizeof(name), "api.early_retries <= %lld",
                         (long long)e->api_early_retries_max);
                if (wc)
                        snprintf(detail, sizeof(detail),
                                 "%lld requests came before the Retry-After "
                                 "of an earlier answer elapsed (client %s: "
                                 "%lld, up to %lld ms early, after %lld "
                                 "Retry-After answers)",
                                 (long long)early, w,
                                 (long long)geti(wc, "early_retries"),
                                 (long long)geti(wc, "earliest_ms"),
                                 (long long)geti(wc, "retry_afters"));
                else
                        snprintf(detail, sizeof(detail),
                                 "no request came before a Retry-After "
                                 "elapsed (%lld answers carried one)",
                                 (long long)geti(api, "retry_afters"));
                api_expect(exp, failed, name, early <= e->api_early_retries_max,
                           detail);
        }
        if (e->api_over_rate_limit_max >= 0) {
                snprintf(name, sizeof(name), "api.over_rate_limit <= %lld",
                         (long long)e->api_over_rate_limit_max);
                snprintf(detail, sizeof(detail),
                         "%lld requests beyond the rate limit (429)",
                         (long long)geti(api, "over_rate_limit"));
                api_expect(exp, failed, name,
                           geti(api, "over_rate_limit") <=
                               e->api_over_rate_limit_max,
                           detail);
        }
        if (e->api_over_daily_quota_max >= 0) {
                snprintf(name, sizeof(name), "api.over_daily_quota <= %lld",
                         (long long)e->api_over_daily_quota_max);
                snprintf(detail, sizeof(detail),
                         "%lld requests beyond the daily quota (403)",
                         (long long)geti(api, "over_daily_quota"));
                api_expect(exp, failed, name,
                           geti(api, "over_daily_quota") <=
                               e->api_over_daily_quota_max,
                           detail);
        }
        if (e->api_requests_per_change_max > 0) {
                double rpc = json_number_value(
                    json_object_get(api, "requests_per_change"));
                snprintf(name, sizeof(name), "api.requests_per_change <= %g",
                         e->api_requests_per_change_max);
                snprintf(detail, sizeof(detail),
                         "%.3f requests per committed change (%lld "
                         "requests)",
                         rpc, (long long)geti(api, "requests"));
                api_expect(exp, failed, name,
                           rpc <= e->api_requests_per_change_max, detail);
        }
}
