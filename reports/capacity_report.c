/* capacity_report.c -- report.md, report.html and the SVG charts of a
 * capacity run (capacity_report.h), from capacity.json's content. The
 * same text goes to both documents: each helper writes Markdown and
 * HTML at once. */
#include "crmsync/capacity_report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/report.h"
#include "crmsync/svg_chart.h"

struct doc {
        FILE *md, *html;
};

static double num(const json_t *o, const char *path)
{
        char        key[64];
        const char *p = path;
        while (o && *p) {
                const char *dot = strchr(p, '.');
                size_t      n   = dot ? (size_t)(dot - p) : strlen(p);
                snprintf(key, sizeof(key), "%.*s", (int)n, p);
                o = json_object_get(o, key);
                p += n + (dot ? 1 : 0);
        }
        return json_is_number(o) ? json_number_value(o) : NAN;
}

static const char *str(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

/* A figure with `digits` decimals, "-" when not measured. */
static const char *fmt(char *buf, size_t size, double v, int digits)
{
        if (isnan(v))
                snprintf(buf, size, "-");
        else if (fabs(v) >= 1e7)
                snprintf(buf, size, "%.4g", v);
        else
                snprintf(buf, size, "%.*f", digits, v);
        return buf;
}

static void heading(struct doc *d, const char *text)
{
        fprintf(d->md, "\n## %s\n\n", text);
        fputs("<h2>", d->html);
        crmsync_report_escape(d->html, text);
        fputs("</h2>\n", d->html);
}

static void para(struct doc *d, const char *fmt_, ...)
    __attribute__((format(printf, 2, 3)));
static void para(struct doc *d, const char *fmt_, ...)
{
        char    buf[2048];
        va_list ap;
        va_start(ap, fmt_);
        vsnprintf(buf, sizeof(buf), fmt_, ap);
        va_end(ap);
        fprintf(d->md, "%s\n\n", buf);
        fputs("<p>", d->html);
        crmsync_report_escape(d->html, buf);
        fputs("</p>\n", d->html);
}

/* A table row of n cells; header = 1 for the first row. */
static void row(struct doc *d, int header, int n, const char *const *cells)
{
        fputs("|", d->md);
        fputs("<tr>", d->html);
        for (int i = 0; i < n; i++) {
                fprintf(d->md, " %s |", cells[i]);
                fputs(header ? "<th>" : "<td>", d->html);
                crmsync_report_escape(d->html, cells[i]);
                fputs(header ? "</th>" : "</td>", d->html);
        }
        fputs("\n", d->md);
        fputs("</tr>\n", d->html);
        if (header) {
                fputs("|", d->md);
                for (int i = 0; i < n; i++)
                        fputs("---|", d->md);
                fputs("\n", d->md);
        }
}

static void table_start(struct doc *d)
{
        fputs("<table>\n", d->html);
}

static void table_end(struct doc *d)
{
        fputs("\n", d->md);
        fputs("</table>\n", d->html);
}

/* The chart as file.svg (linked from the Markdown) and inline. */
static int chart_out(struct doc *d, svg_chart_t *c, const char *dir,
                     const char *file, const char *alt, char *errstr,
                     size_t errstr_size)
{
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        if (crmsync_svg_chart_save(c, path, errstr, errstr_size))
                return -1;
        fprintf(d->md, "![%s](%s)\n\n", alt, file);
        fputs("<figure>", d->html);
        crmsync_svg_chart_write(c, d->html);
        fputs("</figure>\n", d->html);
        return 0;
}

/* -- sections ------------------------------------------------------------- */

static int section_intro(struct doc *d, const json_t *cap)
{
        const json_t *sk = json_object_get(cap, "skipped"), *s;
        size_t        i;
        char          b1[32], b2[32];
        para(d,
             "Scenario file %s on the %s target (%lld brokers, %lld "
             "partitions). Every point is a `crmsync run` of a scenario "
             "derived from it (in scenarios/), with its own run folder "
             "(in runs/). Elapsed %s s of a budget of %s s.%s",
             str(cap, "scenario_file"),
             str(json_object_get(cap, "target"), "type"),
             (long long)num(cap, "target.brokers"),
             (long long)num(cap, "target.partitions"),
             fmt(b1, sizeof(b1), num(cap, "elapsed_s"), 1),
             fmt(b2, sizeof(b2), num(cap, "budget_s"), 0),
             json_is_true(json_object_get(cap, "interrupted"))
                 ? " INTERRUPTED: the figures below are partial."
                 : "");
        json_array_foreach(sk, i, s)
            para(d, "Skipped: %s: %s.", str(s, "what"), str(s, "reason"));
        return 0;
}

static int rates_chart(struct doc *d, const json_t *rs, const char *dir,
                       char *errstr, size_t errstr_size)
{
        const json_t *pts = json_object_get(rs, "points"), *pt;
        double        x[64], p50[64], p95[64], p99[64], lo = INFINITY, hi = 0;
        size_t        n = 0, i;
        svg_chart_t  *c;
        int           rc;

        json_array_foreach(pts, i, pt)
        {
                if (n == 64 || !json_is_true(json_object_get(pt, "measured")))
                        continue;
                x[n]   = num(pt, "rate_per_s");
                p50[n] = num(pt, "freshness_ms.p50");
                p95[n] = num(pt, "freshness_ms.p95");
                p99[n] = num(pt, "freshness_ms.p99");
                lo     = fmin(lo, x[n]);
                hi     = fmax(hi, x[n]);
                n++;
        }
        /* The search points come last: sort by rate for the lines. */
        for (size_t a = 1; a < n; a++)
                for (size_t b = a; b > 0 && x[b - 1] > x[b]; b--) {
                        double *v[4] = {x, p50, p95, p99};
                        for (int k = 0; k < 4; k++) {
                                double t    = v[k][b];
                                v[k][b]     = v[k][b - 1];
                                v[k][b - 1] = t;
                        }
                }
        if (!(c = crmsync_svg_chart_new("rate-p99",
                                        "Steady-state freshness against "
                                        "the change rate",
                                        0, 0)))
                return crmsync_err(errstr, errstr_size, "out of memory");
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "change rate", "changes/s", 0,
                               NAN, 0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "freshness", "ms", 0, NAN, 0);
        crmsync_svg_chart_line(c, "p99", "#d62728", CRMSYNC_SVG_Y, x, p99, n);
        crmsync_svg_chart_line(c, "p95", "#ff7f0e", CRMSYNC_SVG_Y, x, p95, n);
        crmsync_svg_chart_line(c, "p50", "#1f77b4", CRMSYNC_SVG_Y, x, p50, n);
        if (!isnan(num(rs, "slo_p99_ms")) && n) {
                double sx[2] = {0, hi}, sy[2];
                sy[0] = sy[1] = num(rs, "slo_p99_ms");
                crmsync_svg_chart_line(c, "SLO p99", "#2ca02c", CRMSYNC_SVG_Y,
                                       sx, sy, 2);
        }
        if (!isnan(num(rs, "find_max.pass_rate_per_s")))
                crmsync_svg_chart_marker(c, num(rs, "find_max.pass_rate_per_s"),
                                         "pass", "#2ca02c");
        if (!isnan(num(rs, "find_max.fail_rate_per_s")))
                crmsync_svg_chart_marker(c, num(rs, "find_max.fail_rate_per_s"),
                                         "fail", "#d62728");
        (void)lo;
        rc = chart_out(d, c, dir, "rate-p99.svg", "p99 freshness against rate",
                       errstr, errstr_size);
        crmsync_svg_chart_free(c);
        return rc;
}

static int section_rates(struct doc *d, const json_t *cap, const char *dir,
                         char *errstr, size_t errstr_size)
{
        static const char *hdr[] = {"rate/s",        "changes in steady state",
                                    "p50 ms",        "p95 ms",
                                    "p99 ms",        "peak lag ms",
                                    "peak pending",  "applies/s",
                                    "machine CPU %", "SLO",
                                    "verdict",       "run"};
        const json_t      *rs    = json_object_get(cap, "rate_sweep"), *pt;
        size_t             i;
        char               b[11][48];

        if (!rs)
                return 0;
        heading(d, "Rate to the SLO");
        para(d,
             "Each rate ran %s s of workload; figures are the steady state "
             "(changes committed after the warm-up, 20%% of the run, at "
             "least 1 s). Freshness: CRM commit to the sink holding the "
             "record at that version or newer. Peak lag: the oldest change "
             "the sink did not hold yet, and the most changes pending at "
             "once. SLO: p99 <= %s ms.",
             fmt(b[0], sizeof(b[0]), num(rs, "run_s"), 0),
             fmt(b[1], sizeof(b[1]), num(rs, "slo_p99_ms"), 0));
        table_start(d);
        row(d, 1, 12, hdr);
        json_array_foreach(json_object_get(rs, "points"), i, pt)
        {
                const json_t *slo = json_object_get(pt, "slo_met");
                const char   *c[12];
                c[0]  = fmt(b[0], 48, num(pt, "rate_per_s"), 0);
                c[1]  = fmt(b[1], 48, num(pt, "freshness_ms.count"), 0);
                c[2]  = fmt(b[2], 48, num(pt, "freshness_ms.p50"), 0);
                c[3]  = fmt(b[3], 48, num(pt, "freshness_ms.p95"), 0);
                c[4]  = fmt(b[4], 48, num(pt, "freshness_ms.p99"), 0);
                c[5]  = fmt(b[5], 48, num(pt, "peak_lag.age_ms"), 0);
                c[6]  = fmt(b[6], 48, num(pt, "peak_lag.pending"), 0);
                c[7]  = fmt(b[7], 48, num(pt, "applies_per_s"), 0);
                c[8]  = fmt(b[8], 48, 100 * num(pt, "cpu.machine_busy"), 0);
                c[9]  = !slo ? "-" : json_is_true(slo) ? "met" : "MISSED";
                c[10] = str(pt, "verdict");
                c[11] = str(pt, "run_dir");
                row(d, 0, 12, c);
        }
        table_end(d);
        if (json_object_get(rs, "find_max")) {
                const json_t *fm = json_object_get(rs, "find_max");
                para(d,
                     "--find-max: bracket [%s, %s] changes/s: %s/s met the "
                     "SLO (p99 %s ms), %s/s did not (p99 %s ms), after %lld "
                     "search runs of at most %lld.%s",
                     fmt(b[0], 48, num(fm, "pass_rate_per_s"), 0),
                     fmt(b[1], 48, num(fm, "fail_rate_per_s"), 0),
                     fmt(b[2], 48, num(fm, "pass_rate_per_s"), 0),
                     fmt(b[3], 48, num(fm, "pass_p99_ms"), 0),
                     fmt(b[4], 48, num(fm, "fail_rate_per_s"), 0),
                     fmt(b[5], 48, num(fm, "fail_p99_ms"), 0),
                     (long long)num(fm, "search_runs"),
                     (long long)num(fm, "search_runs_max"),
                     json_is_true(json_object_get(fm, "bracketed"))
                         ? ""
                         : " NOT BRACKETED: no passing or no failing rate "
                           "was found within the runs allowed.");
        }
        return rates_chart(d, rs, dir, errstr, errstr_size);
}

static int catch_up_chart(struct doc *d, const json_t *cu, const char *dir,
                          char *errstr, size_t errstr_size)
{
        const json_t *pt, *head = json_object_get(cu, "prediction");
        double        x[64], y[64], mx[64], my[64], dr = NAN;
        size_t        n = 0, i;
        svg_chart_t  *c;
        int           rc;

        if (json_is_object(head))
                dr = num(head, "drain_rate_per_s");
        json_array_foreach(json_object_get(cu, "points"), i, pt)
        {
                if (n == 64 || !json_is_true(json_object_get(pt, "measured")))
                        continue;
                x[n]  = num(pt, "stopped_s");
                y[n]  = num(pt, "drain_s");
                mx[n] = x[n];
                my[n] = isnan(dr) ? NAN
                                  : num(pt, "commit_rate_per_s") * x[n] /
                                        (dr - num(pt, "commit_rate_per_s"));
                n++;
        }
        if (!(c = crmsync_svg_chart_new("catch-up",
                                        "Catch-up: drain time against "
                                        "downtime",
                                        0, 0)))
                return crmsync_err(errstr, errstr_size, "out of memory");
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "downtime", "s", 0, NAN, 0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "drain time", "s", 0, NAN, 0);
        crmsync_svg_chart_line(c, "measured", "#1f77b4", CRMSYNC_SVG_Y, x, y,
                               n);
        crmsync_svg_chart_line(c,
                               "model R*D/(drain_rate-R), rate of the "
                               "shortest downtime",
                               "#ff7f0e", CRMSYNC_SVG_Y, mx, my, n);
        rc = chart_out(d, c, dir, "catch-up.svg", "drain time against downtime",
                       errstr, errstr_size);
        crmsync_svg_chart_free(c);
        return rc;
}

static int section_catch_up(struct doc *d, const json_t *cap, const char *dir,
                            char *errstr, size_t errstr_size)
{
        static const char *hdr[] = {
            "downtime s", "stopped s", "commit rate/s", "backlog",
            "drain s",    "drained",   "drain rate/s",  "caught up at ms",
            "verdict",    "run"};
        static const char *vh[] = {"rate from downtime s",
                                   "drain rate/s",
                                   "predicts downtime s",
                                   "R/s",
                                   "predicted s",
                                   "measured s",
                                   "error %"};
        const json_t      *cu   = json_object_get(cap, "catch_up"), *pt, *h;
        size_t             i;
        char               b[10][48];

        if (!cu)
                return 0;
        heading(d, "Catch-up after downtime");
        para(d,
             "Stopped: the %s (%s), at %s changes/s. Backlog: changes "
             "committed by the moment it was back that the sink did not "
             "hold yet. The drain ends when a change committed after it was "
             "back reaches the sink within the caught-up threshold (twice "
             "the pre-outage p95, at least 250 ms); drain time = when the "
             "sink held that change - back; drain rate = changes drained / "
             "drain time. Model: %s.",
             str(cu, "stopped"), str(cu, "how"),
             fmt(b[0], 48, num(cu, "rate_per_s"), 0), str(cu, "model"));
        table_start(d);
        row(d, 1, 10, hdr);
        json_array_foreach(json_object_get(cu, "points"), i, pt)
        {
                const char *c[10] = {
                    fmt(b[0], 48, num(pt, "down_s"), 1),
                    fmt(b[1], 48, num(pt, "stopped_s"), 2),
                    fmt(b[2], 48, num(pt, "commit_rate_per_s"), 0),
                    fmt(b[3], 48, num(pt, "backlog"), 0),
                    fmt(b[4], 48, num(pt, "drain_s"), 2),
                    fmt(b[5], 48, num(pt, "drained"), 0),
                    fmt(b[6], 48, num(pt, "drain_events_per_s"), 0),
                    fmt(b[7], 48, num(pt, "caught_up_ms"), 0),
                    str(pt, "verdict"),
                    str(pt, "run_dir")};
                row(d, 0, 10, c);
        }
        table_end(d);
        if (json_is_object(h = json_object_get(cu, "prediction")))
                para(d,
                     "Validation: from the %s s run's drain rate (%s/s) the "
                     "model predicts the %s s run's drain time as %s s; "
                     "measured %s s: error %s%% (largest over all pairs %s%%, "
                     "%s 25%%).",
                     fmt(b[0], 48, num(h, "from_down_s"), 1),
                     fmt(b[1], 48, num(h, "drain_rate_per_s"), 0),
                     fmt(b[2], 48, num(h, "to_down_s"), 1),
                     fmt(b[3], 48, num(h, "predicted_s"), 2),
                     fmt(b[4], 48, num(h, "measured_s"), 2),
                     fmt(b[5], 48, 100 * num(h, "error"), 1),
                     fmt(b[6], 48, 100 * num(cu, "max_error"), 1),
                     json_is_true(json_object_get(cu, "within_25pct"))
                         ? "within"
                         : "NOT within");
        table_start(d);
        row(d, 1, 7, vh);
        json_array_foreach(json_object_get(cu, "validation"), i, pt)
        {
                const char *c[7] = {
                    fmt(b[0], 48, num(pt, "from_down_s"), 1),
                    fmt(b[1], 48, num(pt, "drain_rate_per_s"), 0),
                    fmt(b[2], 48, num(pt, "to_down_s"), 1),
                    fmt(b[3], 48, num(pt, "rate_per_s"), 0),
                    fmt(b[4], 48, num(pt, "predicted_s"), 2),
                    fmt(b[5], 48, num(pt, "measured_s"), 2),
                    fmt(b[6], 48, 100 * num(pt, "error"), 1)};
                row(d, 0, 7, c);
        }
        table_end(d);
        return catch_up_chart(d, cu, dir, errstr, errstr_size);
}

static void fit_line(svg_chart_t *c, const json_t *fit, const char *name,
                     const char *color, enum crmsync_svg_axis ax, double hi)
{
        double x[2] = {0, hi}, y[2];
        if (!json_is_object(fit))
                return;
        y[0] = num(fit, "intercept_s");
        y[1] = num(fit, "intercept_s") + num(fit, "slope_s_per_change") * hi;
        crmsync_svg_chart_line(c, name, color, ax, x, y, 2);
}

static int history_chart(struct doc *d, const json_t *h, const char *dir,
                         char *errstr, size_t errstr_size)
{
        const json_t *pt;
        double        x[64], yp[64], yb[64], hi = 0;
        size_t        n = 0, i;
        svg_chart_t  *c;
        int           rc;

        json_array_foreach(json_object_get(h, "points"), i, pt)
        {
                if (n == 64 || !json_is_true(json_object_get(pt, "measured")))
                        continue;
                x[n]  = num(pt, "records");
                yp[n] = num(pt, "pipeline_s");
                yb[n] = num(pt, "broker.seconds");
                hi    = fmax(hi, x[n]);
                n++;
        }
        if (!(c = crmsync_svg_chart_new("replay-history",
                                        "Replay time against history", 0, 0)))
                return crmsync_err(errstr, errstr_size, "out of memory");
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "history", "changes", 0, NAN,
                               0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "pipeline replay", "s", 0, NAN,
                               0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y2, "broker-level drain", "s", 0,
                               NAN, 0);
        crmsync_svg_chart_line(c, "pipeline (measured)", "#1f77b4",
                               CRMSYNC_SVG_Y, x, yp, n);
        fit_line(c, json_object_get(json_object_get(h, "fit"), "pipeline"),
                 "pipeline fit", "#aec7e8", CRMSYNC_SVG_Y, hi);
        crmsync_svg_chart_line(c, "broker (measured)", "#ff7f0e",
                               CRMSYNC_SVG_Y2, x, yb, n);
        fit_line(c, json_object_get(json_object_get(h, "fit"), "broker"),
                 "broker fit", "#ffbb78", CRMSYNC_SVG_Y2, hi);
        rc = chart_out(d, c, dir, "replay-history.svg",
                       "replay time against history", errstr, errstr_size);
        crmsync_svg_chart_free(c);
        return rc;
}

static void fit_para(struct doc *d, const char *what, const json_t *fit)
{
        char b[4][48];
        if (!json_is_object(fit)) {
                para(d,
                     "%s fit: not enough measured points (two sizes at "
                     "least).",
                     what);
                return;
        }
        para(d,
             "%s fit: time = %s s per million changes x changes + %s s, "
             "R^2 = %s, residual standard error %s s (%lld points).",
             what, fmt(b[0], 48, 1e6 * num(fit, "slope_s_per_change"), 3),
             fmt(b[1], 48, num(fit, "intercept_s"), 3),
             fmt(b[2], 48, num(fit, "r2"), 4),
             fmt(b[3], 48, num(fit, "residual_s"), 3),
             (long long)num(fit, "points"));
}

static void production_para(struct doc *d, const json_t *p)
{
        const json_t *lo;
        size_t        i;
        char          b[12][48];
        if (!p)
                return;
        para(d,
             "Production: %s changes/s for %s days = %s changes. Pipeline "
             "replay: %s s +- %s s (one standard error of a new "
             "observation), plus the group join once (%s s here). "
             "Broker-level drain: %s s +- %s s. Retention: %s changes x "
             "%s bytes (measured average key + value) x RF %lld = %s bytes.",
             fmt(b[0], 48, num(p, "rate_per_s"), 0),
             fmt(b[1], 48, num(p, "days"), 1),
             fmt(b[2], 48, num(p, "changes"), 0),
             fmt(b[3], 48, num(p, "pipeline_replay.seconds"), 1),
             fmt(b[4], 48, num(p, "pipeline_replay.spread_s"), 1),
             fmt(b[5], 48, num(p, "join_s"), 2),
             fmt(b[6], 48, num(p, "broker_replay.seconds"), 1),
             fmt(b[7], 48, num(p, "broker_replay.spread_s"), 1),
             fmt(b[8], 48, num(p, "changes"), 0),
             fmt(b[9], 48, num(p, "avg_record_bytes"), 1),
             (long long)num(p, "replication_factor"),
             fmt(b[10], 48, num(p, "retention_bytes"), 0));
        fputs("Left out of the retention figure:\n\n", d->md);
        fputs("<p>Left out of the retention figure:</p><ul>\n", d->html);
        json_array_foreach(json_object_get(p, "left_out"), i, lo)
        {
                fprintf(d->md, "- %s\n", json_string_value(lo));
                fputs("<li>", d->html);
                crmsync_report_escape(d->html, json_string_value(lo));
                fputs("</li>\n", d->html);
        }
        fputs("\n", d->md);
        fputs("</ul>\n", d->html);
}

static int section_history(struct doc *d, const json_t *cap, const char *dir,
                           char *errstr, size_t errstr_size)
{
        static const char *hdr[] = {
            "history changes", "records",    "pipeline s",
            "join s (apart)",  "pipeline/s", "broker s",
            "broker/s",        "bytes",      "rebuilt",
            "window complete", "run"};
        const json_t *h = json_object_get(cap, "history"), *pt;
        size_t        i;
        char          b[9][48];

        if (!h)
                return 0;
        heading(d, "Replay against history");
        para(d,
             "%s Pipeline level: the profiler rebuilding the emptied sink "
             "from the history's first offset with a new group (assigned to "
             "its last sink write; the join is reported apart). Broker "
             "level: crmsync's own plain consumer draining the same range. "
             "Each replay is judged against the CRM's final state.",
             json_is_true(json_object_get(h, "preload"))
                 ? "Preloaded: each history was produced straight to the "
                   "topic at producer speed, in the connector's envelope."
                 : "Each history went through the pipeline first.");
        table_start(d);
        row(d, 1, 11, hdr);
        json_array_foreach(json_object_get(h, "points"), i, pt)
        {
                const char *c[11] = {
                    fmt(b[0], 48, num(pt, "changes"), 0),
                    fmt(b[1], 48, num(pt, "records"), 0),
                    fmt(b[2], 48, num(pt, "pipeline_s"), 3),
                    fmt(b[3], 48, num(pt, "join_s"), 2),
                    fmt(b[4], 48, num(pt, "pipeline_events_per_s"), 0),
                    fmt(b[5], 48, num(pt, "broker.seconds"), 3),
                    fmt(b[6], 48, num(pt, "broker.events_per_s"), 0),
                    fmt(b[7], 48, num(pt, "broker.bytes"), 0),
                    json_is_true(json_object_get(pt, "matches_oracle")) ? "yes"
                                                                        : "NO",
                    json_is_true(json_object_get(pt, "complete")) ? "yes"
                                                                  : "NO",
                    str(pt, "run_dir")};
                row(d, 0, 11, c);
        }
        table_end(d);
        fit_para(d, "Pipeline",
                 json_object_get(json_object_get(h, "fit"), "pipeline"));
        fit_para(d, "Broker",
                 json_object_get(json_object_get(h, "fit"), "broker"));
        production_para(d, json_object_get(cap, "production"));
        return history_chart(d, h, dir, errstr, errstr_size);
}

static void cost_table(struct doc *d, const json_t *o)
{
        static const char *hdr[] = {"figure", "value", "unit", "formula"};
        const char        *k;
        const json_t      *f;
        char               b[48];
        table_start(d);
        row(d, 1, 4, hdr);
        json_object_foreach((json_t *)o, k, f)
        {
                const char *c[4];
                if (!json_is_object(f))
                        continue;
                c[0] = k;
                c[1] = fmt(b, sizeof(b), num(f, "value"),
                           strcmp(str(f, "unit"), "bytes") &&
                                   strcmp(str(f, "unit"), "requests")
                               ? 4
                               : 0);
                c[2] = str(f, "unit");
                c[3] = str(f, "formula");
                row(d, 0, 4, c);
        }
        table_end(d);
}

static void section_cost(struct doc *d, const json_t *cap)
{
        const json_t *c = json_object_get(cap, "cost"), *in, *pt;
        size_t        i;
        char          b[8][48];
        if (!c)
                return;
        in = json_object_get(c, "inputs");
        heading(d, "Cost model");
        para(d,
             "Inputs from the capacity file (prices are the file's: crmsync "
             "has no price list): RF %lld, %lld zones, %s of clients "
             "outside the leader's zone, retention %s days, %lld consumer "
             "group(s); load: %s changes/s of %s bytes. Per month = 30 days. "
             "Failure window: %s.",
             (long long)num(in, "replication_factor"),
             (long long)num(in, "zones"),
             fmt(b[0], 48, num(in, "clients_outside_leader_zone"), 2),
             fmt(b[1], 48, num(in, "retention_days"), 1),
             (long long)num(in, "consumer_groups"),
             fmt(b[2], 48, num(c, "load.rate_per_s"), 0),
             fmt(b[3], 48, num(c, "load.record_bytes"), 1), str(c, "window"));
        para(d, "Shared-nothing (brokers keep RF copies on their disks):");
        cost_table(d, json_object_get(c, "shared_nothing"));
        para(d,
             "Shared storage (one copy in object storage, a WAL on the "
             "brokers; routing: %s):",
             str(json_object_get(c, "shared_storage"), "routing"));
        cost_table(d, json_object_get(c, "shared_storage"));
        json_array_foreach(json_object_get(c, "per_swept_rate"), i, pt)
            para(d,
                 "At %s changes/s: shared-nothing %s, shared storage %s "
                 "%s a month.",
                 fmt(b[0], 48, num(pt, "rate_per_s"), 0),
                 fmt(b[1], 48, num(pt, "shared_nothing_month"), 4),
                 fmt(b[2], 48, num(pt, "shared_storage_month"), 4),
                 str(in, "currency"));
}

static void section_limits(struct doc *d, const json_t *cap)
{
        const json_t *l = json_object_get(cap, "limits"), *s;
        size_t        i;
        char          b[4][48];
        if (!l)
                return;
        heading(d, "Where this machine was the limit");
        para(d,
             "CPU: the machine's %lld cores were at most %s%% busy during a "
             "point (from /proc/stat over each run)%s.",
             (long long)num(l, "cores"),
             fmt(b[0], 48, 100 * num(l, "peak_machine_busy"), 0),
             json_is_true(json_object_get(l, "cpu_saturated"))
                 ? ": SATURATED (>= 90%) at the points below, so their "
                   "figures measure this machine, not the pipeline"
                 : ": not saturated; the limit was the pipeline's own "
                   "waits (delivery, bulk writes), not the CPU");
        para(d,
             "Of that, crmsync's own processes (the harness with the mock "
             "CRM, the sink and the embedded broker, and the pipeline) used "
             "at most %s%% of the cores; the rest was other work on the "
             "machine.",
             fmt(b[2], 48, 100 * num(l, "peak_crmsync_busy"), 0));
        json_array_foreach(json_object_get(l, "cpu_saturated_points"), i, s)
            para(d, "CPU saturated: %s %s (%s%% busy).", str(s, "sweep"),
                 str(s, "point"),
                 fmt(b[1], 48, 100 * num(s, "machine_busy"), 0));
        para(d,
             "Embedded broker per-partition cap (%s bytes or %s message "
             "sets): %s; the largest history held %s bytes per partition.",
             fmt(b[1], 48, num(l, "cap_bytes_per_partition"), 0),
             fmt(b[2], 48, num(l, "cap_message_sets_per_partition"), 0),
             json_is_true(json_object_get(l, "partition_cap_hit"))
                 ? "HIT (a replay window was cut short)"
                 : "not hit",
             fmt(b[3], 48, num(l, "largest_bytes_per_partition"), 0));
        para(d, "What a run on a real cluster would change:");
        json_array_foreach(json_object_get(l, "real_cluster"), i, s)
        {
                fprintf(d->md, "- %s\n", json_string_value(s));
                fputs("<p>- ", d->html);
                crmsync_report_escape(d->html, json_string_value(s));
                fputs("</p>\n", d->html);
        }
        fputs("\n", d->md);
}

static int write_docs(const json_t *cap, const char *dir, FILE *md, FILE *html,
                      char *errstr, size_t errstr_size)
{
        struct doc d = {md, html};
        fprintf(md, "# Capacity report: %s\n\n", str(cap, "scenario"));
        fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
              "<title>crmsync capacity</title><style>body{font-family:"
              "sans-serif;max-width:1000px;margin:2em auto}table{border-"
              "collapse:collapse}td,th{border:1px solid #ccc;padding:2px "
              "6px;text-align:right}</style></head><body>\n<h1>Capacity "
              "report: ",
              html);
        crmsync_report_escape(html, str(cap, "scenario"));
        fputs("</h1>\n", html);
        if (section_intro(&d, cap) ||
            section_rates(&d, cap, dir, errstr, errstr_size) ||
            section_catch_up(&d, cap, dir, errstr, errstr_size) ||
            section_history(&d, cap, dir, errstr, errstr_size))
                return -1;
        section_cost(&d, cap);
        section_limits(&d, cap);
        fputs("</body></html>\n", html);
        return 0;
}

static FILE *open_tmp(const char *dir, const char *name, char *path,
                      size_t size)
{
        snprintf(path, size, "%s/%s.tmp", dir, name);
        return fopen(path, "w");
}

int crmsync_capacity_report_write(const json_t *cap, const char *dir,
                                  char *errstr, size_t errstr_size)
{
        char  mdp[1200], htp[1200], final[1200];
        FILE *md = open_tmp(dir, "report.md", mdp, sizeof(mdp));
        FILE *ht = open_tmp(dir, "report.html", htp, sizeof(htp));
        int   rc = -1, bad;

        if (!md || !ht) {
                crmsync_err(errstr, errstr_size, "%s: %s", md ? htp : mdp,
                            strerror(errno));
                goto out;
        }
        if (write_docs(cap, dir, md, ht, errstr, errstr_size))
                goto out;
        bad = ferror(md) || ferror(ht);
        bad |= fclose(md) != 0;
        bad |= fclose(ht) != 0;
        md = ht = NULL;
        if (bad) {
                crmsync_err(errstr, errstr_size, "%s: %s", dir,
                            strerror(errno));
                goto out;
        }
        snprintf(final, sizeof(final), "%s/report.md", dir);
        if (rename(mdp, final)) {
                crmsync_err(errstr, errstr_size, "%s: %s", final,
                            strerror(errno));
                goto out;
        }
        snprintf(final, sizeof(final), "%s/report.html", dir);
        if (rename(htp, final)) {
                crmsync_err(errstr, errstr_size, "%s: %s", final,
                            strerror(errno));
                goto out;
        }
        rc = 0;
out:
        if (md)
                fclose(md);
        if (ht)
                fclose(ht);
        if (rc) {
                unlink(mdp);
                unlink(htp);
        }
        return rc;
}
