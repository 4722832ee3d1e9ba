/* capacity_figures.c -- what a capacity report computes from its runs:
 * the catch-up model's validation, the replay-versus-history fit, the
 * production extrapolation with retention and cost, and where the
 * measuring machine was the limit (docs/capacity.md). */
#include "capacity_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/common.h"

static int measured(const json_t *pt)
{
        return json_is_true(json_object_get(pt, "measured"));
}

/* Predict each measured downtime's drain time from the drain rate of
 * every other one: R_j * D_j / (drain_rate_i - R_j), R_j the commit rate
 * measured while stopped. The headline pair: the shortest downtime's rate
 * predicting the longest one. */
void cap_catch_up_validation(struct cap *c, json_t *cu)
{
        json_t *pts = json_object_get(cu, "points"), *v = json_array();
        json_t *a, *b, *head = json_null();
        size_t  i, j;
        double  worst = -1, dmin = INFINITY, dmax = -INFINITY;

        json_array_foreach(pts, i, a) if (measured(a))
        {
                dmin = fmin(dmin, crmsync_json_num(a, "stopped_s"));
                dmax = fmax(dmax, crmsync_json_num(a, "stopped_s"));
        }
        json_array_foreach(pts, i, a)
        {
                json_array_foreach(pts, j, b)
                {
                        double  r, d, pred, meas, err;
                        json_t *e;
                        if (i == j || !measured(a) || !measured(b))
                                continue;
                        r    = crmsync_json_num(b, "commit_rate_per_s");
                        d    = crmsync_json_num(b, "stopped_s");
                        meas = crmsync_json_num(b, "drain_s");
                        pred = crmsync_capacity_drain_time_s(
                            r, d, crmsync_json_num(a, "drain_events_per_s"));
                        err = pred >= 0 && meas > 0 ? fabs(pred - meas) / meas
                                                    : INFINITY;
                        e   = json_pack(
                              "{s:f, s:f, s:f, s:f, s:f, s:o, s:f, s:o}",
                              "from_down_s", crmsync_json_num(a, "down_s"),
                              "drain_rate_per_s",
                              crmsync_json_num(a, "drain_events_per_s"),
                              "to_down_s", crmsync_json_num(b, "down_s"),
                              "rate_per_s", r, "stopped_s", d, "predicted_s",
                            pred >= 0 ? json_real(pred) : json_null(),
                              "measured_s", meas, "error",
                            isinf(err) ? json_null() : json_real(err));
                        if (isinf(err) || err > worst)
                                worst = isinf(err) ? 1e9 : err;
                        if (crmsync_json_num(a, "stopped_s") == dmin &&
                            crmsync_json_num(b, "stopped_s") == dmax)
                                head = json_incref(e);
                        json_array_append_new(v, e);
                }
        }
        json_object_set_new(cu, "model",
                            json_string("drain_time = R * D / (drain_rate - "
                                        "R)"));
        json_object_set_new(cu, "validation", v);
        json_object_set_new(cu, "prediction", head);
        json_object_set_new(cu, "max_error",
                            worst >= 0 && worst < 1e9 ? json_real(worst)
                                                      : json_null());
        json_object_set_new(cu, "within_25pct",
                            json_boolean(worst >= 0 && worst <= 0.25));
        if (json_is_object(head))
                cap_progress(c,
                             "catch-up model: %g s predicted from the %g s "
                             "run's drain rate: %.2f s, measured %.2f s "
                             "(error %.0f%%)",
                             crmsync_json_num(head, "to_down_s"),
                             crmsync_json_num(head, "from_down_s"),
                             crmsync_json_num(head, "predicted_s"),
                             crmsync_json_num(head, "measured_s"),
                             100 * crmsync_json_num(head, "error"));
}

static json_t *fit_json(const double *x, const double *y, int n)
{
        struct capacity_fit f;
        if (crmsync_capacity_fit(x, y, n, &f))
                return json_null();
        return json_pack("{s:f, s:f, s:f, s:f, s:i}", "slope_s_per_change",
                         f.slope, "intercept_s", f.intercept, "r2", f.r2,
                         "residual_s", f.s, "points", f.n);
}

void cap_history_fit(struct cap *c, json_t *hist)
{
        double  x[CAPACITY_MAX_POINTS], yp[CAPACITY_MAX_POINTS];
        double  yb[CAPACITY_MAX_POINTS], bytes = 0, recs = 0, join = 0;
        int     n = 0;
        size_t  i;
        json_t *pt;
        (void)c;

        json_array_foreach(json_object_get(hist, "points"), i, pt)
        {
                if (!measured(pt) || n == CAPACITY_MAX_POINTS)
                        continue;
                x[n]  = crmsync_json_num(pt, "records");
                yp[n] = crmsync_json_num(pt, "pipeline_s");
                yb[n] = crmsync_json_num(pt, "broker.seconds");
                bytes += crmsync_json_num(pt, "broker.bytes");
                recs += crmsync_json_num(pt, "broker.records");
                join += isnan(crmsync_json_num(pt, "join_s"))
                            ? 0
                            : crmsync_json_num(pt, "join_s");
                n++;
        }
        json_object_set_new(hist, "fit",
                            json_pack("{s:o, s:o, s:s}", "pipeline",
                                      fit_json(x, yp, n), "broker",
                                      fit_json(x, yb, n), "x",
                                      "records in the replayed range"));
        json_object_set_new(hist, "avg_record_bytes",
                            recs > 0 ? json_real(bytes / recs) : json_null());
        json_object_set_new(hist, "join_s_mean",
                            n ? json_real(join / n) : json_null());
}

/* The average record size: from the replays (broker-level bytes, key +
 * value), else from the rate sweep's topic auditor. */
static double record_bytes(struct cap *c)
{
        double  b = crmsync_json_num(json_object_get(c->out, "history"),
                                     "avg_record_bytes");
        size_t  i;
        json_t *pt;
        if (!isnan(b))
                return b;
        json_array_foreach(
            json_object_get(json_object_get(c->out, "rate_sweep"), "points"), i,
            pt) if (!isnan(crmsync_json_num(pt,
                                            "record_"
                                            "byte"
                                            "s"))) return crmsync_json_num(pt,
                                                                           "rec"
                                                                           "ord"
                                                                           "_"
                                                                           "byt"
                                                                           "e"
                                                                           "s");
        return NAN;
}

static json_t *predict(const json_t *fit, double x, const json_t *hist)
{
        struct capacity_fit f = {0};
        double              spread, y;
        json_t             *pts = json_object_get(hist, "points"), *pt;
        size_t              i;
        double              sx = 0, sxx = 0;
        int                 n = 0;

        if (!json_is_object(fit))
                return json_null();
        f.slope     = crmsync_json_num(fit, "slope_s_per_change");
        f.intercept = crmsync_json_num(fit, "intercept_s");
        f.s         = crmsync_json_num(fit, "residual_s");
        json_array_foreach(pts, i, pt) if (measured(pt))
        {
                sx += crmsync_json_num(pt, "records");
                n++;
        }
        f.n      = n;
        f.x_mean = n ? sx / n : 0;
        json_array_foreach(pts, i, pt) if (measured(pt))
        {
                double d = crmsync_json_num(pt, "records") - f.x_mean;
                sxx += d * d;
        }
        f.sxx = sxx;
        y     = crmsync_capacity_predict(&f, x, &spread);
        return json_pack("{s:f, s:f, s:f, s:f}", "seconds", y, "spread_s",
                         spread, "low_s", y - spread, "high_s", y + spread);
}

static void cost(struct cap *c, double rate, double bytes, double window,
                 const char *window_desc)
{
        struct capacity_load load = {rate, bytes, window};
        struct capacity_cost cc;
        json_t              *o, *per = json_array(), *pt;
        size_t               i;

        if (crmsync_capacity_cost(&c->in, &load, &cc))
                return;
        o = crmsync_capacity_cost_json(&c->in, &load, &cc);
        json_object_set_new(o, "window", json_string(window_desc));
        json_array_foreach(
            json_object_get(json_object_get(c->out, "rate_sweep"), "points"), i,
            pt)
        {
                struct capacity_load l = {crmsync_json_num(pt, "rate_per_s"),
                                          bytes, 0};
                if (!measured(pt) || crmsync_capacity_cost(&c->in, &l, &cc))
                        continue;
                json_array_append_new(
                    per,
                    json_pack("{s:f, s:f, s:f}", "rate_per_s", l.rate_per_s,
                              "shared_nothing_month", cc.sn.total,
                              "shared_storage_month", cc.ss.total));
        }
        json_object_set_new(o, "per_swept_rate", per);
        json_object_set_new(c->out, "cost", o);
}

int cap_production(struct cap *c, char *errstr, size_t errstr_size)
{
        json_t *hist  = json_object_get(c->out, "history"), *p;
        json_t *fit   = json_object_get(hist, "fit");
        double  bytes = record_bytes(c), rate = c->o->prod_rate_per_s;
        double  changes = 0, down = 0, window;
        int     rf = c->have_in ? c->in.replication_factor : c->o->rf;
        char    desc[256];
        (void)errstr;
        (void)errstr_size;

        for (int i = 0; i < c->o->down_cnt; i++)
                down = fmax(down, c->o->down_s[i]);
        if (rate > 0) {
                changes = crmsync_capacity_changes(rate, c->o->prod_days);
                p       = json_pack(
                          "{s:f, s:f, s:f, s:o, s:o, s:o, s:o, s:i, s:o, "
                                "s:[s,s,s,s,s,"
                                "s]}",
                          "rate_per_s", rate, "days", c->o->prod_days, "changes",
                          changes, "pipeline_replay",
                          predict(json_object_get(fit, "pipeline"), changes, hist),
                          "broker_replay",
                          predict(json_object_get(fit, "broker"), changes, hist),
                          "join_s", json_incref(json_object_get(hist, "join_s_mean")),
                          "avg_record_bytes",
                    isnan(bytes) ? json_null() : json_real(bytes),
                          "replication_factor", rf, "retention_bytes",
                    isnan(bytes) ? json_null()
                                       : json_real(crmsync_capacity_retention_bytes(
                                             changes, bytes, rf)),
                          "left_out",
                          "record headers (event_id, schema_version) and Kafka's "
                                "per-record and per-batch framing (~70 bytes a batch, "
                                "a few bytes a record)",
                          "offset and time indexes (~1-2% of the log)",
                          "segment pre-allocation and the active segment",
                          "compression (none assumed: the measured bytes are "
                                "uncompressed)",
                          "the dead-letter topic, the connector's offsets topic and "
                                "consumer offsets",
                          "retention beyond the window (retention.ms is a lower "
                                "bound: segments roll before they are deleted)");
                json_object_set_new(c->out, "production", p);
                cap_progress(c,
                             "production %.0f/s x %g days = %.0f changes: "
                             "pipeline replay %.0f s (+- %.0f), broker %.0f "
                             "s, retention %.3g bytes",
                             rate, c->o->prod_days, changes,
                             crmsync_json_num(p, "pipeline_replay.seconds"),
                             crmsync_json_num(p, "pipeline_replay.spread_s"),
                             crmsync_json_num(p, "broker_replay.seconds"),
                             crmsync_json_num(p, "retention_bytes"));
        }
        if (!c->have_in)
                return 0;
        if (rate <= 0)
                rate = crmsync_json_num(json_object_get(c->out, "rate_sweep"),
                                        "find_max.pass_rate_per_s");
        if (isnan(rate) || rate <= 0 || isnan(bytes)) {
                cap_skip(c, "cost",
                         "needs a rate (--production or a passing --find-max) "
                         "and a measured record size (--history or --rates)");
                return 0;
        }
        window = rate * down + changes;
        snprintf(desc, sizeof(desc),
                 "a catch-up after %g s down at %.0f/s (%.0f records) plus "
                 "one replay of %.0f changes",
                 down, rate, rate * down, changes);
        cost(c, rate, bytes, window, desc);
        return 0;
}

/* Where the machine was the limit, and what a real cluster changes. */
void cap_limits(struct cap *c)
{
        static const char *sweeps[] = {"rate_sweep", "catch_up", "history"};
        json_t            *sat = json_array(), *cap_hit = json_array(), *pt;
        double peak = 0, parts = c->sc->partitions, big = 0, own_peak = 0;
        size_t i;

        for (size_t s = 0; s < 3; s++)
                json_array_foreach(
                    json_object_get(json_object_get(c->out, sweeps[s]),
                                    "points"),
                    i, pt)
                {
                        double b   = crmsync_json_num(pt, "cpu.machine_busy");
                        double own = crmsync_json_num(pt, "cpu.crmsync_cpu_s") /
                                     (crmsync_json_num(pt, "cpu.wall_s") *
                                      crmsync_json_num(pt, "cpu.cores"));
                        if (!isnan(own))
                                own_peak = fmax(own_peak, own);
                        if (isnan(b))
                                continue;
                        peak = fmax(peak, b);
                        if (b >= CAPACITY_CPU_SATURATED)
                                json_array_append_new(
                                    sat,
                                    json_pack("{s:s, s:O, s:f}", "sweep",
                                              sweeps[s], "point",
                                              json_object_get(pt, "run_dir"),
                                              "machine_busy", b));
                }
        json_array_foreach(
            json_object_get(json_object_get(c->out, "history"), "points"), i,
            pt)
        {
                double per  = crmsync_json_num(pt, "broker.bytes") / parts;
                double sets = crmsync_json_num(pt, "broker.records") / parts;
                if (!isnan(per))
                        big = fmax(big, per);
                if (json_is_false(json_object_get(pt, "complete")) ||
                    per >= CAPACITY_EMBEDDED_CAP_BYTES ||
                    sets >= CAPACITY_EMBEDDED_CAP_SETS)
                        json_array_append_new(
                            cap_hit, json_pack("{s:f, s:f}", "changes",
                                               crmsync_json_num(pt, "changes"),
                                               "bytes_per_partition", per));
        }
        json_object_set_new(
            c->out, "limits",
            json_pack(
                "{s:i, s:f, s:b, s:o, s:b, s:o, s:f, s:f, s:f, "
                "s:[s,s,s,s,s,s]}",
                "cores", (int)sysconf(_SC_NPROCESSORS_ONLN),
                "peak_machine_busy", peak, "cpu_saturated",
                json_array_size(sat) > 0, "cpu_saturated_points", sat,
                "partition_cap_hit", json_array_size(cap_hit) > 0,
                "partition_cap_points", cap_hit, "largest_bytes_per_partition",
                big, "cap_bytes_per_partition", CAPACITY_EMBEDDED_CAP_BYTES,
                "cap_message_sets_per_partition", CAPACITY_EMBEDDED_CAP_SETS,
                "real_cluster",
                "Separate machines: here the mock CRM, the connector, the "
                "brokers, the profiler, the sink and the judge share the "
                "cores above, so a failing rate is a floor for this machine, "
                "not the pipeline's ceiling.",
                "Replication: the embedded broker (librdkafka's mock) does "
                "not replicate to followers on disk; acks=all with RF 3 adds "
                "a follower round trip to every produce.",
                "Retention: the embedded broker keeps at most 5 MiB or "
                "100,000 message sets per partition; a real cluster keeps "
                "what retention.ms/bytes say, so histories beyond that are "
                "only replayed on paper here (the extrapolation).",
                "Network: 127.0.0.1 has no zone latency; a real cluster adds "
                "the round trip between zones to produces and fetches.",
                "Reads: the mock serves replays from memory; a real broker "
                "reads old segments from disk (shared storage: from object "
                "storage, the GETs of the cost's failure window).",
                "Group join: the ~3 s join before a replay is the group's "
                "initial rebalance delay, the same default on a real "
                "cluster (group.initial.rebalance.delay.ms)."));
        cap_progress(c,
                     "limits: peak machine CPU %.0f%% of %d cores (%s), "
                     "embedded per-partition cap %s",
                     100 * peak, (int)sysconf(_SC_NPROCESSORS_ONLN),
                     json_array_size(sat) ? "SATURATED" : "not saturated",
                     json_array_size(cap_hit) ? "HIT" : "not hit");
        json_object_set_new(json_object_get(c->out, "limits"),
                            "peak_crmsync_busy", json_real(own_peak));
}
