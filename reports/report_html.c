/* report_html.c -- report.html, one self-contained page per run (inline
 * CSS and SVG, no script, no external file), and the run's charts as .svg
 * files for report.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/report.h"
#include "report_charts.h"

static const char *str(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static void esc(FILE *fp, const char *s)
{
        crmsync_report_escape(fp, s);
}

/* A number of seconds as a table cell: "1.23 s", or text when null. */
static void cell_s(FILE *fp, const json_t *v, const char *none)
{
        if (json_is_number(v))
                fprintf(fp, "<td class=\"n\">%.2f s</td>",
                        json_number_value(v));
        else
                fprintf(fp, "<td>%s</td>", none);
}

static void cell_ms(FILE *fp, const json_t *o, const char *k)
{
        const json_t *v = json_object_get(o, k);
        if (json_is_integer(v))
                fprintf(fp, "<td class=\"n\">%lld ms</td>",
                        (long long)json_integer_value(v));
        else
                fputs("<td>never</td>", fp);
}

static void head(FILE *fp, const json_t *s)
{
        const char *v = str(s, "verdict");
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
              "charset=\"utf-8\"><title>crmsync ",
              fp);
        esc(fp, str(s, "scenario"));
        fputs(" ", fp);
        esc(fp, v);
        fputs("</title>\n<style>\nbody{font-family:sans-serif;margin:1.5em;"
              "color:#222;max-width:1000px}\ntable{border-collapse:collapse;"
              "margin:.5em 0}\ntd,th{border:1px solid #ccc;padding:3px 8px;"
              "text-align:left;vertical-align:top}\nth{background:#f3f3f3}"
              "\ntd.n{text-align:right}\n.ok{color:#17612a}.bad{color:#b00;"
              "font-weight:bold}\n.verdict{display:inline-block;padding:"
              "4px 12px;border-radius:4px;color:#fff;font-weight:bold}\n"
              ".pass{background:#2a8a3e}.fail,.error{background:#c0262d}"
              "\n.interrupted{background:#8a6d00}\npre{background:#f6f6f6;"
              "padding:6px;margin:4px 0;font-size:12px;overflow-x:auto}\n"
              "figure{margin:1em 0}figcaption{font-size:13px;color:#555}"
              "\n</style></head>\n<body>\n<h1>crmsync run ",
              fp);
        esc(fp, str(s, "run_id"));
        fputs("</h1>\n<p>Scenario <b>", fp);
        esc(fp, str(s, "scenario"));
        fputs("</b> (<code>", fp);
        esc(fp, str(s, "scenario_file"));
        fputs("</code>): <span class=\"verdict ", fp);
        esc(fp, v);
        fputs("\">", fp);
        esc(fp, v);
        fputs("</span></p>\n", fp);
}

static void expectations(FILE *fp, const json_t *s)
{
        const json_t *e, *w = json_object_get(s, "workload");
        size_t        i;

        if (w)
                fprintf(
                    fp,
                    "<p>Workload: %lld committed changes, %lld accounts, "
                    "seed %lld.</p>\n",
                    (long long)json_integer_value(
                        json_object_get(w, "events_committed")),
                    (long long)json_integer_value(
                        json_object_get(w, "accounts")),
                    (long long)json_integer_value(json_object_get(w, "seed")));
        fputs("<h2>Expectations</h2>\n<table><tr><th>expectation</th>"
              "<th>result</th><th>detail</th></tr>\n",
              fp);
        json_array_foreach(json_object_get(s, "expectations"), i, e)
        {
                int ok = json_is_true(json_object_get(e, "ok"));
                fputs("<tr><td>", fp);
                esc(fp, str(e, "name"));
                fprintf(fp, "</td><td class=\"%s\">%s</td><td>",
                        ok ? "ok" : "bad", ok ? "met" : "FAILED");
                esc(fp, str(e, "detail"));
                fputs("</td></tr>\n", fp);
        }
        fputs("</table>\n", fp);
}

static void chart(FILE *fp, const json_t *s, enum report_chart which)
{
        svg_chart_t *c = report_chart_build(s, which);
        if (!c)
                return;
        fputs("<figure>\n", fp);
        crmsync_svg_chart_write(c, fp);
        fputs("<figcaption>", fp);
        esc(fp, report_chart_caption(which));
        fputs(" (hover a point for its value)</figcaption>\n</figure>\n", fp);
        crmsync_svg_chart_free(c);
}

static void anomalies(FILE *fp, const json_t *s)
{
        const json_t *a  = json_object_get(s, "anomalies"), *v;
        const json_t *ex = json_object_get(s, "anomaly_examples");
        const char   *k;

        fputs("<h2>Anomalies</h2>\n", fp);
        chart(fp, s, REPORT_CHART_ANOMALIES);
        fputs("<table><tr><th>class</th><th>count</th><th>first examples, "
              "each with its lineage (<code>crmsync trace</code>)</th></tr>\n",
              fp);
        json_object_foreach((json_t *)a, k, v)
        {
                const json_t *e;
                size_t        i;
                json_int_t    n = json_integer_value(v);
                fputs("<tr><td>", fp);
                esc(fp, k);
                fprintf(fp, "</td><td class=\"n%s\">%lld</td><td>",
                        n ? " bad" : "", (long long)n);
                json_array_foreach(json_object_get(ex, k), i, e)
                {
                        if (i == 5)
                                break;
                        fputs("<div><code>", fp);
                        esc(fp, str(e, "key"));
                        fputs("</code>: ", fp);
                        esc(fp, str(e, "detail"));
                        if (json_object_get(e, "lineage")) {
                                fputs("<pre>", fp);
                                esc(fp, str(e, "lineage"));
                                fputs("</pre>", fp);
                        }
                        fputs("</div>\n", fp);
                }
                fputs("</td></tr>\n", fp);
        }
        fputs("</table>\n", fp);
}

static const json_t *fault_entry(const json_t *t, const char *arr, size_t i)
{
        const json_t *e;
        size_t        j;
        json_array_foreach(json_object_get(t, arr), j, e)
        {
                if (json_integer_value(json_object_get(e, "fault")) ==
                    (json_int_t)i)
                        return e;
        }
        return NULL;
}

static void faults_table(FILE *fp, const json_t *s, const json_t *t)
{
        const json_t *f;
        size_t        i;

        if (!json_array_size(json_object_get(s, "faults"))) {
                fputs("<p>No faults.</p>\n", fp);
                return;
        }
        fputs("<table><tr><th>#</th><th>fault</th><th>start</th><th>end</th>"
              "<th>converged after its end</th><th>catch-up after the "
              "process was back</th><th>broker unavailable</th></tr>\n",
              fp);
        json_array_foreach(json_object_get(s, "faults"), i, f)
        {
                fprintf(fp, "<tr><td>F%zu</td><td>", i);
                esc(fp, str(f, "type"));
                if (json_is_true(json_object_get(f, "skipped"))) {
                        fputs(" <span class=\"bad\">skipped: ", fp);
                        esc(fp, str(f, "reason"));
                        fputs("</span>", fp);
                }
                fputs("</td>", fp);
                cell_s(fp, json_object_get(f, "start_s"), "-");
                cell_s(fp, json_object_get(f, "end_s"), "-");
                cell_s(fp,
                       json_object_get(fault_entry(t, "fault_convergence", i),
                                       "convergence_s"),
                       fault_entry(t, "fault_convergence", i) ? "never" : "-");
                cell_s(fp,
                       json_object_get(fault_entry(t, "catch_up", i),
                                       "catch_up_s"),
                       fault_entry(t, "catch_up", i) ? "never" : "-");
                cell_s(fp,
                       json_object_get(fault_entry(t, "broker_unavailable", i),
                                       "unavailable_s"),
                       fault_entry(t, "broker_unavailable", i) ? "never" : "-");
                fputs("</tr>\n", fp);
        }
        fputs("</table>\n", fp);
}

static void replay(FILE *fp, const json_t *rp)
{
        if (!rp)
                return;
        if (!json_is_true(json_object_get(rp, "performed"))) {
                fputs("<p>Replay not performed: ", fp);
                esc(fp, str(rp, "reason"));
                fputs(".</p>\n", fp);
                return;
        }
        fprintf(
            fp,
            "<h3>Replay</h3>\n<table><tr><th>events</th><th>seconds</th>"
            "<th>events/s</th><th>rebuilt the CRM's state</th>"
            "<th>window complete</th><th>side effects re-sent</th></tr>\n"
            "<tr><td class=\"n\">%lld</td><td class=\"n\">%.2f</td>"
            "<td class=\"n\">%.1f</td><td class=\"%s\">%s</td>"
            "<td class=\"%s\">%s</td><td class=\"n\">%lld</td></tr>"
            "</table>\n",
            (long long)json_integer_value(json_object_get(rp, "events")),
            json_number_value(json_object_get(rp, "seconds")),
            json_number_value(json_object_get(rp, "events_per_s")),
            json_is_true(json_object_get(rp, "matches_oracle")) ? "ok" : "bad",
            json_is_true(json_object_get(rp, "matches_oracle")) ? "yes" : "no",
            json_is_true(json_object_get(rp, "complete")) ? "ok" : "bad",
            json_is_true(json_object_get(rp, "complete")) ? "yes" : "no",
            (long long)json_integer_value(json_object_get(rp, "side_effects")));
}

static void timing(FILE *fp, const json_t *s)
{
        const json_t *t  = json_object_get(s, "timing");
        const json_t *fr = json_object_get(t, "freshness");
        const json_t *l  = json_object_get(t, "apply_latency");

        fputs("<h2>Over time</h2>\n", fp);
        chart(fp, s, REPORT_CHART_TIMELINE);
        chart(fp, s, REPORT_CHART_LAG);
        fputs("<h2>Latency</h2>\n<table><tr><th></th><th>p50</th><th>p95</th>"
              "<th>p99</th><th>p99.9</th><th>max</th></tr>\n<tr><td>"
              "freshness (commit to the sink holding it)</td>",
              fp);
        cell_ms(fp, fr, "p50");
        cell_ms(fp, fr, "p95");
        cell_ms(fp, fr, "p99");
        cell_ms(fp, fr, "p99_9");
        cell_ms(fp, fr, "max");
        fputs("</tr>\n<tr><td>apply latency (commit to its own write)</td>",
              fp);
        cell_ms(fp, l, "p50");
        cell_ms(fp, l, "p95");
        cell_ms(fp, l, "p99");
        cell_ms(fp, l, "p99_9");
        cell_ms(fp, l, "max");
        fputs("</tr></table>\n", fp);
        chart(fp, s, REPORT_CHART_LATENCY);
        fputs("<h2>Convergence, catch-up and replay</h2>\n<table><tr><td>"
              "converged after the workload and faults ended</td>",
              fp);
        cell_s(fp, json_object_get(t, "convergence_s"), "never");
        fputs("</tr><tr><td>slowest catch-up after a process was back</td>",
              fp);
        cell_s(fp, json_object_get(t, "catch_up_s"), "-");
        fputs("</tr></table>\n", fp);
        faults_table(fp, s, t);
        chart(fp, s, REPORT_CHART_RECOVERY);
        replay(fp, json_object_get(t, "replay"));
}

static void render(const json_t *s, FILE *fp)
{
        const json_t *e = json_object_get(s, "error"), *x;
        size_t        i;

        head(fp, s);
        if (json_object_get(s, "reason")) {
                fputs("<p>", fp);
                esc(fp, str(s, "reason"));
                fputs("</p>\n", fp);
        }
        if (e) {
                fputs("<p class=\"bad\">Error (", fp);
                esc(fp, str(e, "phase"));
                fputs("): ", fp);
                esc(fp, str(e, "reason"));
                fputs("</p>\n", fp);
        }
        json_array_foreach(json_object_get(s, "process_exits"), i, x)
        {
                fputs("<p class=\"bad\">Process exit: ", fp);
                esc(fp, str(x, "child"));
                fputs(" ", fp);
                esc(fp, str(x, "status"));
                fputs("</p><pre>", fp);
                esc(fp, str(x, "log_tail"));
                fputs("</pre>\n", fp);
        }
        if (json_object_get(s, "workload")) {
                expectations(fp, s);
                anomalies(fp, s);
                timing(fp, s);
        }
        fputs("<p>Files: <a href=\"summary.json\">summary.json</a>, <a "
              "href=\"junit.xml\">junit.xml</a>, <a href=\"report.md\">"
              "report.md</a>, history.jsonl.</p>\n</body></html>\n",
              fp);
}

static int render_cb(void *arg, FILE *fp)
{
        render(arg, fp);
        return 0;
}

/* Write path through path.tmp and a rename. */
static int write_html(const json_t *s, const char *path, char *errstr,
                      size_t errstr_size)
{
        return crmsync_write_file_atomic(path, render_cb, (void *)s, errstr,
                                         errstr_size);
}

int crmsync_report_html_write(const json_t *summary, const char *dir,
                              char *errstr, size_t errstr_size)
{
        char path[1024], werr[512];
        int  rc = 0;

        for (int i = 0; i < REPORT_CHART_COUNT; i++) {
                svg_chart_t *c = report_chart_build(summary, i);
                char         err[512];
                if (!c)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir,
                         report_chart_file(i));
                if (crmsync_svg_chart_save(c, path, err, sizeof(err)) && !rc)
                        rc = crmsync_err(errstr, errstr_size, "%s", err);
                crmsync_svg_chart_free(c);
        }
        snprintf(path, sizeof(path), "%s/report.html", dir);
        if (write_html(summary, path, werr, sizeof(werr)) && !rc)
                rc = crmsync_err(errstr, errstr_size, "%s", werr);
        return rc;
}

void crmsync_report_md_charts(const json_t *summary, FILE *fp)
{
        int any = 0;
        for (int i = 0; i < REPORT_CHART_COUNT; i++) {
                svg_chart_t *c = report_chart_build(summary, i);
                if (!c)
                        continue;
                if (!any++)
                        fputs("\n## Charts\n\nThe whole report with every "
                              "chart: [report.html](report.html).\n\n",
                              fp);
                fprintf(fp, "![%s](%s)\n\n", report_chart_caption(i),
                        report_chart_file(i));
                crmsync_svg_chart_free(c);
        }
}
