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
#include "crmsync/json_util.h"
#include "crmsync/report.h"
#include "crmsync/svg_chart.h"

struct doc {
        FILE *md, *html;
};

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

/* A column of an array table: the cell of each row (a JSON object) is
 * the number at path (times scale, when not 0) with digits decimals, or
 * the string at path, or a yes/NO or met/MISSED of the boolean there. */
enum col_kind { COL_NUM, COL_STR, COL_YES_NO, COL_MET };
struct col {
        const char   *head, *path;
        enum col_kind kind;
        int           digits;
        double        scale;
};

static const char *col_cell(const struct col *c, const json_t *pt, char *b)
{
        const json_t *v = json_object_get(pt, c->path);
        double        x;

        switch (c->kind) {
        case COL_STR:
                return str(pt, c->path);
        case COL_YES_NO:
                return json_is_true(v) ? "yes" : "NO";
        case COL_MET:
                return !v ? "-" : json_is_true(v) ? "met" : "MISSED";
        default:
                x = crmsync_json_num(pt, c->path);
                return fmt(b, 48, c->scale ? c->scale * x : x, c->digits);
        }
}

#define MAX_COLS 12

/* A table of n (<= MAX_COLS) columns, one row per element of rows. */
static void array_table(struct doc *d, const json_t *rows,
                        const struct col *cols, int n)
{
        const char   *c[MAX_COLS];
        char          b[MAX_COLS][48];
        const json_t *pt;
        size_t        i;

        for (int k = 0; k < n; k++)
                c[k] = cols[k].head;
        table_start(d);
        row(d, 1, n, c);
        json_array_foreach(rows, i, pt)
        {
                for (int k = 0; k < n; k++)
                        c[k] = col_cell(&cols[k], pt, b[k]);
                row(d, 0, n, c);
        }
        table_end(d);
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
             (long long)crmsync_json_num(cap, "target.brokers"),
             (long long)crmsync_json_num(cap, "target.partitions"),
             fmt(b1, sizeof(b1), crmsync_json_num(cap, "elapsed_s"), 1),
             fmt(b2, sizeof(b2), crmsync_json_num(cap, "budget_s"), 0),
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
                x[n]   = crmsync_json_num(pt, "rate_per_s");
                p50[n] = crmsync_json_num(pt, "freshness_ms.p50");
                p95[n] = crmsync_json_num(pt, "freshness_ms.p95");
                p99[n] = crmsync_json_num(pt, "freshness_ms.p99");
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
        if (!isnan(crmsync_json_num(rs, "slo_p99_ms")) && n) {
                double sx[2] = {0, hi}, sy[2];
                sy[0] = sy[1] = crmsync_json_num(rs, "slo_p99_ms");
                crmsync_svg_chart_line(c, "SLO p99", "#2ca02c", CRMSYNC_SVG_Y,
                                       sx, sy, 2);
        }
        if (!isnan(crmsync_json_num(rs, "find_max.pass_rate_per_s")))
                crmsync_svg_chart_marker(
                    c, crmsync_json_num(rs, "find_max.pass_rate_per_s"), "pass",
                    "#2ca02c");
        if (!isnan(crmsync_json_num(rs, "find_max.fail_rate_per_s")))
                crmsync_svg_chart_marker(
                    c, crmsync_json_num(rs, "find_max.fail_rate_per_s"), "fail",
                    "#d62728");
        (void)lo;
        rc = chart_out(d, c, dir, "rate-p99.svg", "p99 freshness against rate",
                       errstr, errstr_size);
        crmsync_svg_chart_free(c);
        return rc;
}

static int section_rates(struct doc *d, const json_t *cap, const char *dir,
                         char *errstr, size_t errstr_size)
{
        static const struct col cols[] = {
            {"rate/s", "rate_per_s", COL_NUM, 0, 0},
            {"changes in steady state", "freshness_ms.count", COL_NUM, 0, 0},
            {"p50 ms", "freshness_ms.p50", COL_NUM, 0, 0},
            {"p95 ms", "freshness_ms.p95", COL_NUM, 0, 0},
            {"p99 ms", "freshness_ms.p99", COL_NUM, 0, 0},
            {"peak lag ms", "peak_lag.age_ms", COL_NUM, 0, 0},
            {"peak pending", "peak_lag.pending", COL_NUM, 0, 0},
            {"applies/s", "applies_per_s", COL_NUM, 0, 0},
            {"machine CPU %", "cpu.machine_busy", COL_NUM, 0, 100},
            {"SLO", "slo_met", COL_MET, 0, 0},
            {"verdict", "verdict", COL_STR, 0, 0},
            {"run", "run_dir", COL_STR, 0, 0}};
        const json_t *rs = json_object_get(cap, "rate_sweep");
        char          b[11][48];

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
             fmt(b[0], sizeof(b[0]), crmsync_json_num(rs, "run_s"), 0),
             fmt(b[1], sizeof(b[1]), crmsync_json_num(rs, "slo_p99_ms"), 0));
        array_table(d, json_object_get(rs, "points"), cols, 12);
        if (json_object_get(rs, "find_max")) {
                const json_t *fm = json_object_get(rs, "find_max");
                para(d,
                     "--find-max: bracket [%s, %s] changes/s: %s/s met the "
                     "SLO (p99 %s ms), %s/s did not (p99 %s ms), after %lld "
                     "search runs of at most %lld.%s",
                     fmt(b[0], 48, crmsync_json_num(fm, "pass_rate_per_s"), 0),
                     fmt(b[1], 48, crmsync_json_num(fm, "fail_rate_per_s"), 0),
                     fmt(b[2], 48, crmsync_json_num(fm, "pass_rate_per_s"), 0),
                     fmt(b[3], 48, crmsync_json_num(fm, "pass_p99_ms"), 0),
                     fmt(b[4], 48, crmsync_json_num(fm, "fail_rate_per_s"), 0),
                     fmt(b[5], 48, crmsync_json_num(fm, "fail_p99_ms"), 0),
                     (long long)crmsync_json_num(fm, "search_runs"),
                     (long long)crmsync_json_num(fm, "search_runs_max"),
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
                dr = crmsync_json_num(head, "drain_rate_per_s");
        json_array_foreach(json_object_get(cu, "points"), i, pt)
        {
                if (n == 64 || !json_is_true(json_object_get(pt, "measured")))
                        continue;
                x[n]  = crmsync_json_num(pt, "stopped_s");
                y[n]  = crmsync_json_num(pt, "drain_s");
                mx[n] = x[n];
                my[n] =
                    isnan(dr)
                        ? NAN
                        : crmsync_json_num(pt, "commit_rate_per_s") * x[n] /
                              (dr - crmsync_json_num(pt, "commit_rate_per_s"));
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
        static const struct col cols[] = {
            {"downtime s", "down_s", COL_NUM, 1, 0},
            {"stopped s", "stopped_s", COL_NUM, 2, 0},
            {"commit rate/s", "commit_rate_per_s", COL_NUM, 0, 0},
            {"backlog", "backlog", COL_NUM, 0, 0},
            {"drain s", "drain_s", COL_NUM, 2, 0},
            {"drained", "drained", COL_NUM, 0, 0},
            {"drain rate/s", "drain_events_per_s", COL_NUM, 0, 0},
            {"caught up at ms", "caught_up_ms", COL_NUM, 0, 0},
            {"verdict", "verdict", COL_STR, 0, 0},
            {"run", "run_dir", COL_STR, 0, 0}};
        static const struct col vcols[] = {
            {"rate from downtime s", "from_down_s", COL_NUM, 1, 0},
            {"drain rate/s", "drain_rate_per_s", COL_NUM, 0, 0},
            {"predicts downtime s", "to_down_s", COL_NUM, 1, 0},
            {"R/s", "rate_per_s", COL_NUM, 0, 0},
            {"predicted s", "predicted_s", COL_NUM, 2, 0},
            {"measured s", "measured_s", COL_NUM, 2, 0},
            {"error %", "error", COL_NUM, 1, 100}};
        const json_t *cu = json_object_get(cap, "catch_up"), *h;
        char          b[10][48];

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
             fmt(b[0], 48, crmsync_json_num(cu, "rate_per_s"), 0),
             str(cu, "model"));
        array_table(d, json_object_get(cu, "points"), cols, 10);
        if (json_is_object(h = json_object_get(cu, "prediction")))
                para(d,
                     "Validation: from the %s s run's drain rate (%s/s) the "
                     "model predicts the %s s run's drain time as %s s; "
                     "measured %s s: error %s%% (largest over all pairs %s%%, "
                     "%s 25%%).",
                     fmt(b[0], 48, crmsync_json_num(h, "from_down_s"), 1),
                     fmt(b[1], 48, crmsync_json_num(h, "drain_rate_per_s"), 0),
                     fmt(b[2], 48, crmsync_json_num(h, "to_down_s"), 1),
                     fmt(b[3], 48, crmsync_json_num(h, "predicted_s"), 2),
                     fmt(b[4], 48, crmsync_json_num(h, "measured_s"), 2),
                     fmt(b[5], 48, 100 * crmsync_json_num(h, "error"), 1),
                     fmt(b[6], 48, 100 * crmsync_json_num(cu, "max_error"), 1),
                     json_is_true(json_object_get(cu, "within_25pct"))
                         ? "within"
                         : "NOT within");
        array_table(d, json_object_get(cu, "validation"), vcols, 7);
        return catch_up_chart(d, cu, dir, errstr, errstr_size);
}

static void fit_line(svg_chart_t *c, const json_t *fit, const char *name,
                     const char *color, enum crmsync_svg_axis ax, double hi)
{
        double x[2] = {0, hi}, y[2];
        if (!json_is_object(fit))
                return;
        y[0] = crmsync_json_num(fit, "intercept_s");
        y[1] = crmsync_json_num(fit, "intercept_s") +
               crmsync_json_num(fit, "slope_s_per_change") * hi;
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
                x[n]  = crmsync_json_num(pt, "records");
                yp[n] = crmsync_json_num(pt, "pipeline_s");
                yb[n] = crmsync_json_num(pt, "broker.seconds");
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
        para(
            d,
            "%s fit: time = %s s per million changes x changes + %s s, "
            "R^2 = %s, residual standard error %s s (%lld points).",
            what,
            fmt(b[0], 48, 1e6 * crmsync_json_num(fit, "slope_s_per_change"), 3),
            fmt(b[1], 48, crmsync_json_num(fit, "intercept_s"), 3),
            fmt(b[2], 48, crmsync_json_num(fit, "r2"), 4),
            fmt(b[3], 48, crmsync_json_num(fit, "residual_s"), 3),
            (long long)crmsync_json_num(fit, "points"));
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
             fmt(b[0], 48, crmsync_json_num(p, "rate_per_s"), 0),
             fmt(b[1], 48, crmsync_json_num(p, "days"), 1),
             fmt(b[2], 48, crmsync_json_num(p, "changes"), 0),
             fmt(b[3], 48, crmsync_json_num(p, "pipeline_replay.seconds"), 1),
             fmt(b[4], 48, crmsync_json_num(p, "pipeline_replay.spread_s"), 1),
             fmt(b[5], 48, crmsync_json_num(p, "join_s"), 2),
             fmt(b[6], 48, crmsync_json_num(p, "broker_replay.seconds"), 1),
             fmt(b[7], 48, crmsync_json_num(p, "broker_replay.spread_s"), 1),
             fmt(b[8], 48, crmsync_json_num(p, "changes"), 0),
             fmt(b[9], 48, crmsync_json_num(p, "avg_record_bytes"), 1),
             (long long)crmsync_json_num(p, "replication_factor"),
             fmt(b[10], 48, crmsync_json_num(p, "retention_bytes"), 0));
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
        static const struct col cols[] = {
            {"history changes", "changes", COL_NUM, 0, 0},
            {"records", "records", COL_NUM, 0, 0},
            {"pipeline s", "pipeline_s", COL_NUM, 3, 0},
            {"join s (apart)", "join_s", COL_NUM, 2, 0},
            {"pipeline/s", "pipeline_events_per_s", COL_NUM, 0, 0},
            {"broker s", "broker.seconds", COL_NUM, 3, 0},
            {"broker/s", "broker.events_per_s", COL_NUM, 0, 0},
            {"bytes", "broker.bytes", COL_NUM, 0, 0},
            {"rebuilt", "matches_oracle", COL_YES_NO, 0, 0},
            {"window complete", "complete", COL_YES_NO, 0, 0},
            {"run", "run_dir", COL_STR, 0, 0}};
        const json_t *h = json_object_get(cap, "history");

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
        array_table(d, json_object_get(h, "points"), cols, 11);
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
                c[1] = fmt(b, sizeof(b), crmsync_json_num(f, "value"),
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
             (long long)crmsync_json_num(in, "replication_factor"),
             (long long)crmsync_json_num(in, "zones"),
             fmt(b[0], 48, crmsync_json_num(in, "clients_outside_leader_zone"),
                 2),
             fmt(b[1], 48, crmsync_json_num(in, "retention_days"), 1),
             (long long)crmsync_json_num(in, "consumer_groups"),
             fmt(b[2], 48, crmsync_json_num(c, "load.rate_per_s"), 0),
             fmt(b[3], 48, crmsync_json_num(c, "load.record_bytes"), 1),
             str(c, "window"));
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
                 fmt(b[0], 48, crmsync_json_num(pt, "rate_per_s"), 0),
                 fmt(b[1], 48, crmsync_json_num(pt, "shared_nothing_month"), 4),
                 fmt(b[2], 48, crmsync_json_num(pt, "shared_storage_month"), 4),
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
             (long long)crmsync_json_num(l, "cores"),
             fmt(b[0], 48, 100 * crmsync_json_num(l, "peak_machine_busy"), 0),
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
             fmt(b[2], 48, 100 * crmsync_json_num(l, "peak_crmsync_busy"), 0));
        json_array_foreach(json_object_get(l, "cpu_saturated_points"), i, s)
            para(d, "CPU saturated: %s %s (%s%% busy).", str(s, "sweep"),
                 str(s, "point"),
                 fmt(b[1], 48, 100 * crmsync_json_num(s, "machine_busy"), 0));
        para(d,
             "Embedded broker per-partition cap (%s bytes or %s message "
             "sets): %s; the largest history held %s bytes per partition.",
             fmt(b[1], 48, crmsync_json_num(l, "cap_bytes_per_partition"), 0),
             fmt(b[2], 48,
                 crmsync_json_num(l, "cap_message_sets_per_partition"), 0),
             json_is_true(json_object_get(l, "partition_cap_hit"))
                 ? "HIT (a replay window was cut short)"
                 : "not hit",
             fmt(b[3], 48, crmsync_json_num(l, "largest_bytes_per_partition"),
                 0));
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
