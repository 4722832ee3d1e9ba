/* report_charts.c -- the run report's charts from summary.json (see
 * report_charts.h): what a reader must see from the picture alone is when
 * each fault started and ended (shaded, labelled bands), what it did to
 * throughput, latency, lag and backlog, and when the pipeline recovered
 * (a marker per fault where the sink had caught up again). */
#include "report_charts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
        const char *file, *caption;
} charts[REPORT_CHART_COUNT] = {
    {"anomalies.svg", "Verdict: anomalies found per class (red: any)"},
    {"timeline.svg",
     "Commits and applies per second (left axis) and apply latency p50 and "
     "p99 per second (right axis); shaded: fault windows"},
    {"lag.svg",
     "Backlog (changes committed that the sink does not hold yet), consumer "
     "lag (records on the topic the profiler has not read yet) and lag (age "
     "of the oldest pending change) at the end of each second"},
    {"latency.svg",
     "Apply latency percentiles (HDR style: the x axis stretches the tail)"},
    {"recovery.svg",
     "Recovery: convergence after each fault, catch-up after a process was "
     "back, broker unavailability, and the run's convergence"},
};

const char *report_chart_file(enum report_chart which)
{
        return charts[which].file;
}

const char *report_chart_caption(enum report_chart which)
{
        return charts[which].caption;
}

static const char *str(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static double num(const json_t *o, const char *k)
{
        const json_t *v = json_object_get(o, k);
        return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The series array k as doubles (null = NAN), n values; NULL when out of
 * memory. */
static double *values(const json_t *series, const char *k, size_t n)
{
        const json_t *a = json_object_get(series, k);
        double       *v = malloc((n + 1) * sizeof(double));
        if (!v)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const json_t *x = json_array_get(a, i);
                v[i] = json_is_number(x) ? json_number_value(x) : NAN;
        }
        return v;
}

/* The entry of a per-fault timing array for fault i, or NULL. */
static const json_t *fault_entry(const json_t *s, const char *arr, size_t i)
{
        const json_t *e;
        size_t        j;
        json_array_foreach(json_object_get(json_object_get(s, "timing"), arr),
                           j, e)
        {
                if (json_integer_value(json_object_get(e, "fault")) ==
                    (json_int_t)i)
                        return e;
        }
        return NULL;
}

/* One band per fault that ran, labelled "F<i> <type>", and the moments
 * the sink had caught up after each (a marker "F<i> recovered"). */
static void fault_bands(svg_chart_t *c, const json_t *s, int recovered)
{
        const json_t *f;
        size_t        i;
        char          label[160];

        json_array_foreach(json_object_get(s, "faults"), i, f)
        {
                double start = num(f, "start_s"), end = num(f, "end_s");
                if (json_is_true(json_object_get(f, "skipped")) ||
                    !isfinite(start))
                        continue;
                snprintf(label, sizeof(label), "F%zu %s", i, str(f, "type"));
                crmsync_svg_chart_band(c, start, end, label, NULL);
                double back = num(fault_entry(s, "catch_up", i), "back_s");
                double conv = num(fault_entry(s, "fault_convergence", i),
                                  "convergence_s");
                if (isfinite(back) && back > start) {
                        snprintf(label, sizeof(label), "F%zu restarted", i);
                        crmsync_svg_chart_marker(c, back, label, "#ff7f0e");
                }
                if (!recovered || !isfinite(end) || !isfinite(conv))
                        continue;
                snprintf(label, sizeof(label), "F%zu recovered", i);
                crmsync_svg_chart_marker(c, end + conv, label, "#2ca02c");
        }
}

static void run_markers(svg_chart_t *c, const json_t *se)
{
        double end  = num(se, "workload_end_s"),
               conv = num(se, "converged_at_s");
        if (isfinite(end))
                crmsync_svg_chart_marker(c, end, "workload end", "#555");
        if (isfinite(conv))
                crmsync_svg_chart_marker(c, conv, "converged", "#2ca02c");
}

/* The x values of n seconds: each second's middle (rates) or end
 * (levels). */
static double *seconds(size_t n, double offset)
{
        double *x = malloc((n + 1) * sizeof(double));
        for (size_t i = 0; x && i < n; i++)
                x[i] = (double)i + offset;
        return x;
}

static svg_chart_t *timeline(const json_t *s)
{
        const json_t *se = json_object_get(s, "series");
        size_t        n = json_array_size(json_object_get(se, "commits_per_s"));
        double       *x = seconds(n, 0.5), *v[4] = {NULL};
        static const char *const keys[4]  = {"commits_per_s", "applies_per_s",
                                             "latency_p50_ms", "latency_p99_ms"};
        static const char *const names[4] = {"commits/s", "applies/s",
                                             "latency p50", "latency p99"};
        static const char *const color[4] = {"#1f77b4", "#2ca02c", "#ff7f0e",
                                             "#d62728"};
        svg_chart_t             *c        = NULL;

        if (!n || !x)
                goto out;
        c = crmsync_svg_chart_new("timeline",
                                  "Timeline: throughput and apply latency "
                                  "per second, fault windows shaded",
                                  960, 360);
        if (!c)
                goto out;
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "time since workload start",
                               "s", 0, (double)n, 0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "throughput", "changes/s", 0,
                               NAN, 0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y2, "apply latency", "ms", 0, NAN,
                               0);
        for (int i = 0; i < 4; i++) {
                if (!(v[i] = values(se, keys[i], n)))
                        continue;
                crmsync_svg_chart_line(c, names[i], color[i],
                                       i < 2 ? CRMSYNC_SVG_Y : CRMSYNC_SVG_Y2,
                                       x, v[i], n);
        }
        fault_bands(c, s, 1);
        run_markers(c, se);
out:
        for (int i = 0; i < 4; i++)
                free(v[i]);
        free(x);
        return c;
}

static svg_chart_t *lag(const json_t *s)
{
        const json_t *se = json_object_get(s, "series");
        size_t        n  = json_array_size(json_object_get(se, "backlog"));
        const json_t *cl = json_object_get(se, "consumer_lag");
        double       *x = seconds(n + 1, 0), *b = NULL, *l = NULL, *k = NULL;
        svg_chart_t  *c = NULL;

        if (!n || !x || !(b = malloc((n + 2) * sizeof(double))) ||
            !(l = malloc((n + 2) * sizeof(double))) ||
            !(k = malloc((n + 2) * sizeof(double))))
                goto out;
        /* Nothing is pending at the start; then each second's end. */
        b[0] = l[0] = k[0] = 0;
        for (size_t i = 0; i < n; i++) {
                const json_t *kv = json_array_get(cl, i);
                k[i + 1] = json_is_number(kv) ? json_number_value(kv) : NAN;
                const json_t *bv =
                    json_array_get(json_object_get(se, "backlog"), i);
                const json_t *lv =
                    json_array_get(json_object_get(se, "lag_s"), i);
                b[i + 1] = json_is_number(bv) ? json_number_value(bv) : NAN;
                l[i + 1] = json_is_number(lv) ? json_number_value(lv) : NAN;
        }
        if (!(c = crmsync_svg_chart_new("lag",
                                        "Sink lag and backlog over time, "
                                        "fault windows shaded",
                                        960, 300)))
                goto out;
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "time since workload start",
                               "s", 0, (double)n, 0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "backlog, consumer lag",
                               "changes", 0, NAN, 0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y2, "lag", "s", 0, NAN, 0);
        crmsync_svg_chart_area(c, "backlog (changes pending)", "#9467bd",
                               CRMSYNC_SVG_Y, x, b, n + 1);
        if (json_is_array(cl))
                crmsync_svg_chart_line(c,
                                       "consumer lag (topic records the "
                                       "profiler has not read)",
                                       "#17becf", CRMSYNC_SVG_Y, x, k, n + 1);
        crmsync_svg_chart_line(c, "lag (oldest pending change's age)",
                               "#d62728", CRMSYNC_SVG_Y2, x, l, n + 1);
        fault_bands(c, s, 0);
        run_markers(c, se);
out:
        free(x);
        free(b);
        free(l);
        free(k);
        return c;
}

/* x of quantile q on the HDR axis: log10(1 / (1 - q)); the max sits at
 * 1 - 1/count, where the last sample is. */
static double hdr_x(double q, double count)
{
        if (q >= 1)
                return count > 1 ? log10(count) : 1;
        return log10(1 / (1 - q));
}

static svg_chart_t *latency(const json_t *s)
{
        const json_t *pc = json_object_get(json_object_get(s, "series"),
                                           "latency_percentiles");
        double        count =
            num(json_object_get(json_object_get(s, "timing"), "apply_latency"),
                "count");
        size_t                   n = json_array_size(pc), k = 0;
        double                   x[32], y[32], at[8];
        char                     tbuf[32][48], *titles[32];
        static const char *const labs[8] = {"0%",       "90%",      "99%",
                                            "99.9%",    "99.99%",   "99.999%",
                                            "99.9999%", "99.99999%"};
        svg_chart_t             *c;
        const json_t            *e;
        size_t                   i;

        if (!n || n > 32 ||
            !(c = crmsync_svg_chart_new(
                  "latency", "Apply latency by percentile (HDR style)", 960,
                  300)))
                return NULL;
        json_array_foreach(pc, i, e)
        {
                double q = num(e, "q");
                x[i]     = hdr_x(q, count);
                y[i]     = num(e, "ms");
                if (q >= 1)
                        snprintf(tbuf[i], sizeof(tbuf[i]),
                                 "max: %.0f ms (of %.0f changes)", y[i], count);
                else
                        snprintf(tbuf[i], sizeof(tbuf[i]), "p%g: %.0f ms",
                                 q * 100, y[i]);
                titles[i] = tbuf[i];
        }
        double top = ceil(x[n - 1] > 1 ? x[n - 1] : 1);
        for (k = 0; k < 8 && (double)k <= top; k++)
                at[k] = (double)k;
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "percentile", "", 0, top, 0);
        crmsync_svg_chart_ticks(c, CRMSYNC_SVG_X, at, labs, k);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "apply latency", "ms", 0, NAN,
                               0);
        crmsync_svg_chart_line(c, "apply latency (commit to own write)",
                               "#d62728", CRMSYNC_SVG_Y, x, y, n);
        crmsync_svg_chart_point_titles(c, (const char *const *)titles, n);
        return c;
}

static void recovery_bar(svg_chart_t *c, const char *label, double v,
                         const char *color, const char *what)
{
        char title[200];
        if (!isfinite(v)) {
                char never[80];
                snprintf(title, sizeof(title), "%s: %s never", label, what);
                snprintf(never, sizeof(never), "%s: never", label);
                crmsync_svg_chart_bar(c, never, NAN, "#000", title);
                return;
        }
        snprintf(title, sizeof(title), "%s: %s %.2f s", label, what, v);
        crmsync_svg_chart_bar(c, label, v, color, title);
}

static svg_chart_t *recovery(const json_t *s)
{
        const json_t *t = json_object_get(s, "timing"), *f;
        svg_chart_t  *c;
        size_t        i;
        char          label[64];

        if (!t || !(c = crmsync_svg_chart_new(
                        "recovery",
                        "Recovery: seconds until the "
                        "sink caught up (grey, full height: never)",
                        960, 300)))
                return NULL;
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "time", "s", 0, NAN, 0);
        json_array_foreach(json_object_get(s, "faults"), i, f)
        {
                const json_t *e = fault_entry(s, "fault_convergence", i);
                if (json_is_true(json_object_get(f, "skipped")) || !e)
                        continue;
                snprintf(label, sizeof(label), "F%zu converge", i);
                recovery_bar(c, label, num(e, "convergence_s"), "#1f77b4",
                             "converged after the fault ended in");
                if ((e = fault_entry(s, "catch_up", i))) {
                        snprintf(label, sizeof(label), "F%zu catch-up", i);
                        recovery_bar(c, label, num(e, "catch_up_s"), "#ff7f0e",
                                     "caught up after the process was back "
                                     "in");
                }
                if ((e = fault_entry(s, "broker_unavailable", i))) {
                        snprintf(label, sizeof(label), "F%zu broker down", i);
                        recovery_bar(c, label, num(e, "unavailable_s"),
                                     "#8c564b", "broker unavailable for");
                }
        }
        recovery_bar(c, "run", num(t, "convergence_s"), "#2ca02c",
                     "converged after the workload and faults ended in");
        return c;
}

static svg_chart_t *anomalies(const json_t *s)
{
        const json_t *a = json_object_get(s, "anomalies"), *v;
        const char   *k;
        char          title[160];
        svg_chart_t  *c;

        snprintf(title, sizeof(title), "Verdict %s: anomalies per class",
                 str(s, "verdict"));
        if (!json_object_size(a) ||
            !(c = crmsync_svg_chart_new("anomalies", title, 960, 260)))
                return NULL;
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "anomalies", "count", 0, NAN,
                               0);
        json_object_foreach((json_t *)a, k, v)
        {
                json_int_t n = json_integer_value(v);
                crmsync_svg_chart_bar(c, k, (double)n,
                                      n ? "#d62728" : "#b0b0b0", NULL);
        }
        return c;
}

svg_chart_t *report_chart_build(const json_t *s, enum report_chart which)
{
        if (which != REPORT_CHART_ANOMALIES &&
            !json_is_object(json_object_get(s, "series")))
                return NULL;
        switch (which) {
        case REPORT_CHART_ANOMALIES:
                return anomalies(s);
        case REPORT_CHART_TIMELINE:
                return timeline(s);
        case REPORT_CHART_LAG:
                return lag(s);
        case REPORT_CHART_LATENCY:
                return latency(s);
        case REPORT_CHART_RECOVERY:
                return recovery(s);
        default:
                return NULL;
        }
}
