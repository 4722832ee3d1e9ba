/* test_capacity_model.c -- the capacity report's arithmetic (fit,
 * extrapolation, retention, catch-up model, cost) against hand-computed
 * values, and the capacity file's strict loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "harness/capacity_model.h"

#define near(a, b)                                                             \
        assert_true(fabs((double)(a) - (double)(b)) <=                         \
                    1e-9 * (1 + fabs((double)(b))))

#include <math.h>

static void test_fit_exact_line(void **state)
{
        const double        x[] = {1000, 2000, 4000}, y[] = {1.5, 2.5, 4.5};
        struct capacity_fit f;
        double              spread;
        (void)state;
        assert_int_equal(crmsync_capacity_fit(x, y, 3, &f), 0);
        near(f.slope, 0.001);
        near(f.intercept, 0.5);
        near(f.r2, 1.0);
        assert_true(f.s < 1e-12);
        near(crmsync_capacity_predict(&f, 518400000.0, &spread), 518400.5);
        assert_true(spread < 1e-6);
}

static void test_fit_by_hand(void **state)
{
        /* x 1 2 3, y 1 2 2: mean x 2, mean y 5/3, Sxx 2, Sxy 1 -> slope
         * 1/2, intercept 2/3; residuals -1/6 2/6 -1/6: SSE 1/6, Syy 2/3,
         * R^2 = 1 - (1/6)/(2/3) = 0.75, s = sqrt(1/6). At x0 = 5: 19/6,
         * spread s * sqrt(1 + 1/3 + 9/2). */
        const double        x[] = {1, 2, 3}, y[] = {1, 2, 2};
        struct capacity_fit f;
        double              spread;
        (void)state;
        assert_int_equal(crmsync_capacity_fit(x, y, 3, &f), 0);
        near(f.slope, 0.5);
        near(f.intercept, 2.0 / 3.0);
        near(f.r2, 0.75);
        near(f.s, sqrt(1.0 / 6.0));
        near(crmsync_capacity_predict(&f, 5, &spread), 19.0 / 6.0);
        near(spread, sqrt(1.0 / 6.0) * sqrt(1 + 1.0 / 3 + 4.5));
        /* One distinct x, or one point: no fit. */
        {
                const double x1[] = {2, 2};
                assert_int_equal(crmsync_capacity_fit(x1, y, 2, &f), -1);
                assert_int_equal(crmsync_capacity_fit(x, y, 1, &f), -1);
        }
}

static void test_extrapolation_and_retention(void **state)
{
        (void)state;
        /* 200/s for 30 days = 200 * 30 * 86400. */
        near(crmsync_capacity_changes(200, 30), 518400000.0);
        /* x 400 bytes x RF 3. */
        near(crmsync_capacity_retention_bytes(518400000.0, 400, 3),
             622080000000.0);
}

static void test_drain_model(void **state)
{
        (void)state;
        /* 500/s stopped 10 s: 5000 to drain at 1500 - 500 net. */
        near(crmsync_capacity_drain_time_s(500, 10, 1500), 5.0);
        near(crmsync_capacity_drain_time_s(500, 10, 500), -1.0);
}

static const char *capfile =
    "{\"replication_factor\": 3, \"zones\": 3,\n"
    " \"clients_outside_leader_zone\": 0.5, \"retention_days\": 7,\n"
    " \"currency\": \"EUR\",\n"
    " \"prices\": {\"disk_gb_month\": 0.1, \"object_gb_month\": 0.02,\n"
    "   \"cross_zone_gb\": 0.01, \"put_per_1000\": 0.005,\n"
    "   \"get_per_1000\": 0.0004},\n"
    " \"shared_storage\": {\"object_part_bytes\": 8000000,\n"
    "   \"wal_window_s\": 10, \"zone_routing\": true}}\n";

static void test_cost_by_hand(void **state)
{
        struct capacity_inputs in;
        struct capacity_load   load = {100, 500, 1e6};
        struct capacity_cost   c;
        char                   err[256];
        (void)state;
        assert_int_equal(crmsync_capacity_inputs_parse("cap.json", capfile,
                                                       strlen(capfile), &in,
                                                       err, sizeof(err)),
                         0);
        /* Every field lands in its own member (the key table's offsets). */
        assert_int_equal(in.replication_factor, 3);
        assert_int_equal(in.zones, 3);
        near(in.outside_share, 0.5);
        near(in.retention_days, 7);
        assert_int_equal(in.consumer_groups, 1);
        assert_string_equal(in.currency, "EUR");
        near(in.disk_gb_month, 0.1);
        near(in.object_gb_month, 0.02);
        near(in.cross_zone_gb, 0.01);
        near(in.put_per_1000, 0.005);
        near(in.get_per_1000, 0.0004);
        near(in.object_part_bytes, 8e6);
        near(in.wal_window_s, 10);
        assert_int_equal(in.zone_routing, 1);
        assert_int_equal(crmsync_capacity_cost(&in, &load, &c), 0);
        /* 100/s x 500 B = 50,000 B/s; a month 1.296e11 B; 7 days
         * retained 3.024e10 B; x RF 3 = 9.072e10 B of broker disk. */
        near(c.sn.write_bytes, 1.296e11);
        near(c.sn.retained_bytes, 3.024e10);
        near(c.sn.disk_bytes, 9.072e10);
        near(c.sn.disk_cost, 9.072);
        /* 3 zones, RF 3: both followers in other zones (share 1). */
        near(c.cross_zone_repl_share, 1.0);
        near(c.sn.repl_cross_bytes, 2.592e11);
        near(c.sn.producer_cross_bytes, 6.48e10);
        near(c.sn.consumer_cross_bytes, 6.48e10);
        near(c.sn.cross_cost, 3.888);
        near(c.sn.total, 12.96);
        /* Window: 1e6 records x 500 B = 5e8 B, half across zones. */
        near(c.sn.window_cross_bytes, 2.5e8);
        near(c.sn.window_cost, 0.0025);
        /* Shared storage: one copy 3.024e10 B x 0.02/GB = 0.6048; PUTs
         * 1.296e11 / 8e6 = 16,200 -> 0.081; WAL 50,000 x 10 = 5e5 B ->
         * 5e-5; zone routing: no cross-zone bytes. */
        near(c.ss.object_bytes, 3.024e10);
        near(c.ss.object_cost, 0.6048);
        near(c.ss.put_requests, 16200);
        near(c.ss.request_cost, 0.081);
        near(c.ss.wal_bytes, 5e5);
        near(c.ss.wal_cost, 5e-5);
        near(c.ss.client_cross_bytes, 0);
        near(c.ss.total, 0.6048 + 0.081 + 5e-5);
        near(c.ss.window_get_requests, 62.5);
        near(c.ss.window_cost, 62.5 / 1000 * 0.0004);
        /* Without routing, clients cross zones as in shared-nothing. */
        in.zone_routing = 0;
        in.zones        = 1;
        assert_int_equal(crmsync_capacity_cost(&in, &load, &c), 0);
        near(c.cross_zone_repl_share, 0);
        near(c.ss.client_cross_bytes, 1.296e11);
        near(c.ss.window_cross_bytes, 2.5e8);
        {
                json_t *j = crmsync_capacity_cost_json(&in, &load, &c);
                assert_non_null(json_object_get(
                    json_object_get(json_object_get(j, "shared_nothing"),
                                    "broker_disk_bytes"),
                    "formula"));
                json_decref(j);
        }
}

static void test_capacity_file_errors(void **state)
{
        struct capacity_inputs in;
        char                   err[256];
        const char *unknown = "{\"replication_factor\": 3,\n \"zonez\": 3}";
        const char *type    = "{\"replication_factor\": \"3\"}";
        char        noprice[1024];
        (void)state;
        assert_int_equal(crmsync_capacity_inputs_parse("c.json", unknown,
                                                       strlen(unknown), &in,
                                                       err, sizeof(err)),
                         -1);
        assert_string_equal(err, "c.json:2:2: zonez: unknown field");
        assert_int_equal(crmsync_capacity_inputs_parse("c.json", type,
                                                       strlen(type), &in, err,
                                                       sizeof(err)),
                         -1);
        assert_string_equal(err, "c.json:1:24: replication_factor: expected an "
                                 "integer");
        /* No built-in prices: a missing price is an error. */
        snprintf(noprice, sizeof(noprice), "%s", capfile);
        memcpy(strstr(noprice, "\"disk_gb_month\""), "\"disk_gb_montx\"", 15);
        assert_int_equal(crmsync_capacity_inputs_parse("c.json", noprice,
                                                       strlen(noprice), &in,
                                                       err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "prices.disk_gb_montx: unknown field"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fit_exact_line),
            cmocka_unit_test(test_fit_by_hand),
            cmocka_unit_test(test_extrapolation_and_retention),
            cmocka_unit_test(test_drain_model),
            cmocka_unit_test(test_cost_by_hand),
            cmocka_unit_test(test_capacity_file_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
