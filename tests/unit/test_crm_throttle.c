/* test_crm_throttle.c -- token buckets, daily quota, 5xx ratio, storms and
 * the response headers of the mock CRM's limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <string.h>
#include <sys/queue.h>

#include "fakes/crm/crm_metrics.h"
#include "fakes/crm/crm_throttle.h"

#define T0 1764066000000LL /* 2025-11-25 10:20:00 UTC */

static crm_throttle_t *mk(double rate, uint32_t burst, uint64_t quota,
                          double ratio, uint64_t seed)
{
        struct crm_throttle_config cfg = {
            .rate_per_s      = rate,
            .burst           = burst,
            .daily_quota     = quota,
            .error_ratio_5xx = ratio,
            .seed            = seed,
        };
        crm_throttle_t *t = crmsync_throttle_new(&cfg);
        assert_non_null(t);
        return t;
}

static void test_burst_then_429_with_headers(void **state)
{
        crm_throttle_t            *t = mk(10, 5, 0, 0, 1);
        struct crm_throttle_result r;
        struct evkeyvalq           hdrs;
        (void)state;

        for (int i = 0; i < 5; i++) {
                assert_int_equal(crmsync_throttle_check(t, "a", T0, &r),
                                 CRM_THROTTLE_OK);
                assert_int_equal(r.http_status, 200);
                assert_int_equal(r.limit, 5);
                assert_int_equal(r.remaining, 4 - i);
                assert_int_equal(r.body[0], '\0');
        }
        assert_int_equal(crmsync_throttle_check(t, "a", T0, &r),
                         CRM_THROTTLE_RATE_LIMITED);
        assert_int_equal(r.http_status, 429);
        assert_int_equal(r.retry_after_s, 1);
        assert_int_equal(r.remaining, 0);
        assert_int_equal(r.reset_s, 1); /* 5 tokens at 10/s = 0.5 s */
        assert_non_null(strstr(r.body, "\"error\":\"rate_limited\""));
        assert_non_null(
            strstr(r.body, "\"policyName\":\"TEN_SECONDLY_ROLLING\""));

        TAILQ_INIT(&hdrs);
        crmsync_throttle_add_headers(&r, &hdrs);
        assert_string_equal(evhttp_find_header(&hdrs, "Retry-After"), "1");
        assert_string_equal(evhttp_find_header(&hdrs, "X-RateLimit-Limit"),
                            "5");
        assert_string_equal(evhttp_find_header(&hdrs, "X-RateLimit-Remaining"),
                            "0");
        assert_string_equal(evhttp_find_header(&hdrs, "X-RateLimit-Reset"),
                            "1");
        assert_string_equal(evhttp_find_header(&hdrs, "Content-Type"),
                            "application/json");
        evhttp_clear_headers(&hdrs);

        struct crm_throttle_stats st;
        crmsync_throttle_stats(t, &st);
        assert_int_equal(st.allowed, 5);
        assert_int_equal(st.rate_limited, 1);
        assert_int_equal(st.clients, 1);
        crmsync_throttle_destroy(t);
}

static void test_refill_with_time(void **state)
{
        crm_throttle_t            *t = mk(2, 2, 0, 0, 1);
        struct crm_throttle_result r;
        (void)state;

        assert_int_equal(crmsync_throttle_check(t, "a", T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "a", T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "a", T0 + 100, &r),
                         CRM_THROTTLE_RATE_LIMITED);
        /* 0.2 tokens after 100 ms at 2/s: 0.4 s until the next one. */
        assert_int_equal(r.retry_after_s, 1);
        /* One token after 500 ms, exactly one request passes. */
        assert_int_equal(crmsync_throttle_check(t, "a", T0 + 500, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "a", T0 + 500, &r),
                         CRM_THROTTLE_RATE_LIMITED);
        /* Long idle: refills to the burst, not beyond. */
        for (int i = 0; i < 2; i++)
                assert_int_equal(crmsync_throttle_check(t, "a", T0 + 60000, &r),
                                 0);
        assert_int_equal(crmsync_throttle_check(t, "a", T0 + 60000, &r),
                         CRM_THROTTLE_RATE_LIMITED);
        crmsync_throttle_destroy(t);
}

static void test_per_client_isolation(void **state)
{
        crm_throttle_t            *t = mk(1, 1, 0, 0, 1);
        struct crm_throttle_result r;
        (void)state;

        assert_int_equal(crmsync_throttle_check(t, "a", T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "a", T0, &r),
                         CRM_THROTTLE_RATE_LIMITED);
        assert_int_equal(crmsync_throttle_check(t, "b", T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, NULL, T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "", T0, &r),
                         CRM_THROTTLE_RATE_LIMITED); /* same "anonymous" */
        crmsync_throttle_destroy(t);
}

static void test_client_cap_uses_shared_bucket(void **state)
{
        struct crm_throttle_config cfg = {
            .rate_per_s = 1, .burst = 1, .max_clients = 2};
        crm_throttle_t            *t = crmsync_throttle_new(&cfg);
        struct crm_throttle_result r;
        struct crm_throttle_stats  st;
        (void)state;

        assert_non_null(t);
        assert_int_equal(crmsync_throttle_check(t, "a", T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "b", T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "c", T0, &r), 0);
        /* "d" shares the overflow bucket that "c" emptied. */
        assert_int_equal(crmsync_throttle_check(t, "d", T0, &r),
                         CRM_THROTTLE_RATE_LIMITED);
        crmsync_throttle_stats(t, &st);
        assert_int_equal(st.clients, 2);
        assert_int_equal(st.overflow_hits, 2);
        crmsync_throttle_destroy(t);
}

static void test_daily_quota_403_without_retry_after(void **state)
{
        crm_throttle_t            *t = mk(0, 0, 3, 0, 1);
        struct crm_throttle_result r;
        struct evkeyvalq           hdrs;
        (void)state;

        for (int i = 0; i < 3; i++)
                assert_int_equal(crmsync_throttle_check(t, "a", T0 + i, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "a", T0 + 10, &r),
                         CRM_THROTTLE_QUOTA);
        assert_int_equal(r.http_status, 403);
        assert_int_equal(r.retry_after_s, -1);
        assert_string_equal(r.body,
                            "{\"error\":\"REQUEST_LIMIT_EXCEEDED\","
                            "\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\","
                            "\"message\":\"TotalRequests Limit exceeded.\"}");
        TAILQ_INIT(&hdrs);
        crmsync_throttle_add_headers(&r, &hdrs);
        assert_null(evhttp_find_header(&hdrs, "Retry-After"));
        assert_null(evhttp_find_header(&hdrs, "X-RateLimit-Limit"));
        evhttp_clear_headers(&hdrs);
        /* Other clients are unaffected; the next UTC day resets. */
        assert_int_equal(crmsync_throttle_check(t, "b", T0 + 10, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "a", T0 + 86400000LL, &r),
                         0);
        crmsync_throttle_destroy(t);
}

static int count_5xx(uint64_t seed, double ratio, int n, int *n503)
{
        crm_throttle_t            *t = mk(0, 0, 0, ratio, seed);
        struct crm_throttle_result r;
        int                        bad = 0;

        *n503 = 0;
        for (int i = 0; i < n; i++) {
                if (crmsync_throttle_check(t, "a", T0 + i, &r) ==
                    CRM_THROTTLE_TRANSIENT) {
                        assert_true(r.http_status == 500 ||
                                    r.http_status == 503);
                        assert_non_null(
                            strstr(r.body, "\"error\":\"transient\""));
                        bad++;
                        *n503 += r.http_status == 503;
                }
        }
        crmsync_throttle_destroy(t);
        return bad;
}

static void test_5xx_ratio_deterministic(void **state)
{
        int a503, b503, c503, z503;
        int a = count_5xx(42, 0.2, 5000, &a503);
        int b = count_5xx(42, 0.2, 5000, &b503);
        int c = count_5xx(43, 0.2, 5000, &c503);
        (void)state;

        assert_int_equal(a, b); /* same seed, same sequence */
        assert_int_equal(a503, b503);
        assert_in_range(a, 900, 1100); /* 20% of 5000, +-2% */
        assert_in_range(c, 900, 1100);
        assert_in_range(a503, a / 3, 2 * a / 3);
        assert_int_equal(count_5xx(42, 0, 1000, &z503), 0);
        assert_int_equal(count_5xx(42, 1, 1000, &z503), 1000);
}

static void test_set_5xx_and_storm(void **state)
{
        crm_throttle_t            *t = mk(100, 100, 0, 0, 7);
        struct crm_throttle_result r;
        int                        ok = 0;
        (void)state;

        crmsync_throttle_set_5xx(t, 1.0);
        assert_int_equal(crmsync_throttle_check(t, "a", T0, &r),
                         CRM_THROTTLE_TRANSIENT);
        crmsync_throttle_set_5xx(t, 0);

        /* Storm at 1/s: bucket capped at 1 token, refill 1/s. */
        crmsync_throttle_set_storm(t, 1);
        for (int i = 0; i < 10; i++)
                ok += crmsync_throttle_check(t, "a", T0 + 1, &r) == 0;
        assert_int_equal(ok, 1);
        assert_int_equal(r.http_status, 429);
        assert_int_equal(r.limit, 1);
        assert_int_equal(crmsync_throttle_check(t, "a", T0 + 1001, &r), 0);
        /* Storm over: the normal rate refills again. */
        crmsync_throttle_set_storm(t, 0);
        ok = 0;
        for (int i = 0; i < 20; i++)
                ok += crmsync_throttle_check(t, "a", T0 + 1101, &r) == 0;
        assert_int_equal(ok, 10); /* 100 ms at 100/s, from 0 tokens */
        crmsync_throttle_destroy(t);
}

static void test_unlimited_and_metrics(void **state)
{
        crm_metrics_t             *m   = crmsync_metrics_new(0);
        struct crm_throttle_config cfg = {
            .rate_per_s = 1, .burst = 1, .metrics = m};
        crm_throttle_t            *t = crmsync_throttle_new(&cfg);
        crm_throttle_t            *u = mk(0, 0, 0, 0, 1);
        struct crm_throttle_result r;
        (void)state;

        for (int i = 0; i < 1000; i++)
                assert_int_equal(crmsync_throttle_check(u, "x", T0, &r), 0);
        assert_int_equal(r.rate_headers, 0);
        crmsync_throttle_check(t, "x", T0, &r);
        crmsync_throttle_check(t, "x", T0, &r);
        crmsync_throttle_check(t, "x", T0, &r);
        assert_true(crmsync_metrics_get(m, CRMSYNC_METRIC_THROTTLED,
                                        "status=429") == 2.0);
        /* Bad configs are refused. */
        cfg.rate_per_s = -1;
        assert_null(crmsync_throttle_new(&cfg));
        cfg.rate_per_s      = 1;
        cfg.error_ratio_5xx = 1.5;
        assert_null(crmsync_throttle_new(&cfg));
        crmsync_throttle_destroy(NULL);
        crmsync_throttle_destroy(t);
        crmsync_throttle_destroy(u);
        crmsync_metrics_destroy(m);
}

static void test_client_id_from_request(void **state)
{
        struct evhttp_request *req = evhttp_request_new(NULL, NULL);
        char                   buf[CRMSYNC_THROTTLE_CLIENT_MAX];
        (void)state;

        assert_non_null(req);
        assert_string_equal(crmsync_throttle_client_id(req, buf, sizeof(buf)),
                            "anonymous");
        evhttp_add_header(evhttp_request_get_input_headers(req), "X-Client-Id",
                          "conn-1");
        assert_string_equal(crmsync_throttle_client_id(req, buf, sizeof(buf)),
                            "conn-1");
        evhttp_request_free(req);
        assert_string_equal(crmsync_throttle_client_id(NULL, buf, sizeof(buf)),
                            "anonymous");
}

static const struct crm_throttle_client_stats *
client_of(const struct crm_throttle_client_stats *cs, size_t n, const char *id)
{
        for (size_t i = 0; i < n; i++)
                if (!strcmp(cs[i].id, id))
                        return &cs[i];
        fail_msg("no client %s", id);
        return NULL;
}

/* Etiquette: a client that retries before Retry-After elapsed is counted
 * (every early request), one that waits it out is not; statuses are
 * counted per client. */
static void test_etiquette_per_client(void **state)
{
        crm_throttle_t                         *t = mk(1, 1, 5, 0, 1);
        struct crm_throttle_result              r;
        struct crm_throttle_client_stats        cs[4];
        const struct crm_throttle_client_stats *a, *b;
        struct crm_throttle_stats               st;
        size_t                                  n;
        (void)state;

        /* "eager": 429 with Retry-After 1, then retries after 10 ms and
         * 500 ms (both early), then after the deadline (not early). */
        assert_int_equal(crmsync_throttle_check(t, "eager", T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "eager", T0, &r),
                         CRM_THROTTLE_RATE_LIMITED);
        assert_int_equal(r.retry_after_s, 1);
        crmsync_throttle_check(t, "eager", T0 + 10, &r);
        crmsync_throttle_check(t, "eager", T0 + 500, &r);
        /* The last 429 (at +500, Retry-After 1) sets the deadline at
         * +1500; a request within the slack of it is not early. */
        assert_int_equal(
            crmsync_throttle_check(
                t, "eager", T0 + 1500 - CRMSYNC_THROTTLE_EARLY_SLACK_MS, &r),
            CRM_THROTTLE_OK);
        /* "polite": waits Retry-After; then runs into the daily quota of 5
         * (403, no Retry-After: never early). */
        assert_int_equal(crmsync_throttle_check(t, "polite", T0, &r), 0);
        assert_int_equal(crmsync_throttle_check(t, "polite", T0, &r),
                         CRM_THROTTLE_RATE_LIMITED);
        for (int i = 1; i <= 3; i++)
                assert_int_equal(
                    crmsync_throttle_check(t, "polite", T0 + 1000 * i, &r),
                    CRM_THROTTLE_OK);
        assert_int_equal(crmsync_throttle_check(t, "polite", T0 + 4000, &r),
                         CRM_THROTTLE_QUOTA);
        assert_int_equal(crmsync_throttle_check(t, "polite", T0 + 4001, &r),
                         CRM_THROTTLE_QUOTA);

        n = crmsync_throttle_clients(t, cs, 4);
        assert_int_equal(n, 2);
        a = client_of(cs, n, "eager");
        b = client_of(cs, n, "polite");
        assert_int_equal(a->requests, 5);
        assert_int_equal(a->status_429, 3);
        assert_int_equal(a->early_retries, 2);
        assert_int_equal(a->earliest_ms, 990);
        assert_int_equal(a->retry_afters, 3);
        assert_int_equal(b->requests, 7);
        assert_int_equal(b->status_429, 1);
        assert_int_equal(b->status_403, 2);
        assert_int_equal(b->early_retries, 0);
        crmsync_throttle_stats(t, &st);
        assert_int_equal(st.early_retries, 2);
        /* max smaller than the number of clients: the count stays right. */
        assert_int_equal(crmsync_throttle_clients(t, cs, 1), 2);
        crmsync_throttle_destroy(t);
}

/* A 503 carries Retry-After too: retrying before it is early. */
static void test_etiquette_after_503(void **state)
{
        crm_throttle_t                  *t = mk(0, 0, 0, 1.0, 7);
        struct crm_throttle_result       r;
        struct crm_throttle_client_stats cs[2];
        int64_t                          now    = T0;
        int                              got503 = 0;
        (void)state;

        for (int i = 0; i < 64 && !got503; i++, now += 2000) {
                crmsync_throttle_check(t, "c", now, &r);
                got503 = r.http_status == 503;
        }
        assert_true(got503);
        assert_int_equal(r.retry_after_s, 1);
        crmsync_throttle_check(t, "c", now - 2000 + 100, &r);
        assert_int_equal(crmsync_throttle_clients(t, cs, 2), 1);
        assert_int_equal(cs[0].early_retries, 1);
        assert_true(cs[0].status_5xx >= 2);
        crmsync_throttle_destroy(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_burst_then_429_with_headers),
            cmocka_unit_test(test_refill_with_time),
            cmocka_unit_test(test_per_client_isolation),
            cmocka_unit_test(test_client_cap_uses_shared_bucket),
            cmocka_unit_test(test_daily_quota_403_without_retry_after),
            cmocka_unit_test(test_5xx_ratio_deterministic),
            cmocka_unit_test(test_set_5xx_and_storm),
            cmocka_unit_test(test_unlimited_and_metrics),
            cmocka_unit_test(test_client_id_from_request),
            cmocka_unit_test(test_etiquette_per_client),
            cmocka_unit_test(test_etiquette_after_503),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
