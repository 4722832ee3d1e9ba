/* suite_report.c -- render a suite: summary.json, junit.xml (the runs'
 * <testsuite> elements), index.html and mutation-matrix.md. */
#include "crmsync/suite_report.h"

#include <errno.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/report.h"

static const char *str(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

/* A run that left no summary.json (it could not be set up, or was killed
 * past its timeout): one test case in error pointing at its log. */
static void junit_no_summary(FILE *fp, const json_t *row)
{
        fputs("<testsuite name=\"", fp);
        crmsync_report_escape(fp, str(row, "scenario"));
        fputs("\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"0\">\n"
              "  <testcase classname=\"crmsync.",
              fp);
        crmsync_report_escape(fp, str(row, "scenario"));
        fprintf(
            fp,
            "\" name=\"run\"><error type=\"%s\" message=\"exit code "
            "%lld, no summary.json; see ",
            str(row, "verdict"),
            (long long)json_integer_value(json_object_get(row, "exit_code")));
        crmsync_report_escape(fp, str(row, "log"));
        fputs("\"/></testcase>\n</testsuite>\n", fp);
}

static int write_junit(const json_t *suite, const json_t *runs,
                       const char *path)
{
        const json_t *rows = json_object_get(suite, "runs"), *row;
        size_t        i;
        FILE         *fp = fopen(path, "w");
        if (!fp)
                return -1;
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
              "name=\"",
              fp);
        crmsync_report_escape(fp, str(suite, "suite_id"));
        fputs("\">\n", fp);
        json_array_foreach(rows, i, row)
        {
                const json_t *rs = json_array_get(runs, i);
                if (json_is_object(rs))
                        crmsync_report_junit_testsuite(rs, fp);
                else
                        junit_no_summary(fp, row);
        }
        fputs("</testsuites>\n", fp);
        return fclose(fp);
}

static void html_num(FILE *fp, const json_t *v, const char *unit)
{
        if (json_is_number(v))
                fprintf(fp, "<td class=\"n\">%.1f%s</td>", json_number_value(v),
                        unit);
        else
                fputs("<td class=\"n\">-</td>", fp);
}

/* The run's report, relative to the suite folder (both are in runs_dir). */
static void html_report_link(FILE *fp, const json_t *row)
{
        const char *dir  = str(row, "run_dir");
        const char *base = strrchr(dir, '/');
        if (!*dir) {
                fputs("<td>no run folder (see <code>", fp);
                crmsync_report_escape(fp, str(row, "log"));
                fputs("</code>)</td>", fp);
                return;
        }
        base = base ? base + 1 : dir;
        fputs("<td><a href=\"../", fp);
        crmsync_report_escape(fp, base);
        fputs("/report.html\">report.html</a> (<a href=\"../", fp);
        crmsync_report_escape(fp, base);
        fputs("/report.md\">.md</a>)</td>", fp);
}

static int write_html(const json_t *suite, const char *path)
{
        const json_t *rows   = json_object_get(suite, "runs"), *row, *m;
        const json_t *counts = json_object_get(suite, "counts");
        size_t        i;
        FILE         *fp = fopen(path, "w");
        if (!fp)
                return -1;
        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
              "charset=\"utf-8\">\n<title>crmsync ",
              fp);
        crmsync_report_escape(fp, str(suite, "suite_id"));
        fputs("</title>\n<style>\nbody{font-family:sans-serif;margin:2em}\n"
              "table{border-collapse:collapse}\n"
              "td,th{border:1px solid #ccc;padding:.3em .6em;"
              "text-align:left}\n"
              "td.n{text-align:right}\n"
              ".pass{background:#dfd}\n.fail{background:#fdd}\n"
              "</style>\n</head>\n<body>\n<h1>crmsync suite ",
              fp);
        crmsync_report_escape(fp, str(suite, "suite_id"));
        fprintf(
            fp,
            "</h1>\n<p>Verdict <strong class=\"%s\">%s</strong>: "
            "%lld scenarios, %lld run, %lld passed, %lld failed "
            "(exit code %lld). Machine-readable: <a "
            "href=\"summary.json\">summary.json</a>, <a "
            "href=\"junit.xml\">junit.xml</a>.</p>\n",
            !strcmp(str(suite, "verdict"), "pass") ? "pass" : "fail",
            str(suite, "verdict"),
            (long long)json_integer_value(json_object_get(counts, "scenarios")),
            (long long)json_integer_value(json_object_get(counts, "run")),
            (long long)json_integer_value(json_object_get(counts, "passed")),
            (long long)json_integer_value(json_object_get(counts, "failed")),
            (long long)json_integer_value(json_object_get(suite, "exit_code")));
        fputs("<table>\n<tr><th>scenario</th><th>verdict</th><th>exit</th>"
              "<th>anomalies</th><th>freshness p99</th><th>convergence</th>"
              "<th>replay</th><th>report</th></tr>\n",
              fp);
        json_array_foreach(rows, i, row)
        {
                const char *k;
                json_t     *v;
                int         pass =
                    json_integer_value(json_object_get(row, "exit_code")) == 0;
                fputs("<tr><td>", fp);
                crmsync_report_escape(fp, str(row, "scenario"));
                fprintf(fp, "</td><td class=\"%s\">", pass ? "pass" : "fail");
                crmsync_report_escape(fp, str(row, "verdict"));
                if (json_object_get(row, "expected_failure"))
                        fputs(" (must fail)", fp);
                fprintf(fp, "</td><td class=\"n\">%lld</td><td>%lld",
                        (long long)json_integer_value(
                            json_object_get(row, "exit_code")),
                        (long long)json_integer_value(
                            json_object_get(row, "anomalies")));
                json_object_foreach(
                    (json_t *)json_object_get(row, "anomaly_counts"), k, v)
                    fprintf(fp, " %s=%lld", k,
                            (long long)json_integer_value(v));
                fputs("</td>", fp);
                html_num(fp, json_object_get(row, "freshness_p99_ms"), " ms");
                html_num(fp, json_object_get(row, "convergence_s"), " s");
                html_num(fp, json_object_get(row, "replay_events_per_s"),
                         " events/s");
                html_report_link(fp, row);
                fputs("</tr>\n", fp);
        }
        fputs("</table>\n", fp);
        if (json_array_size(json_object_get(suite, "mutation_matrix"))) {
                fputs("<h2>Mutation matrix</h2>\n<table>\n<tr><th>switch</th>"
                      "<th>process</th><th>scenario</th><th>expected</th>"
                      "<th>found</th><th>caught</th></tr>\n",
                      fp);
                json_array_foreach(json_object_get(suite, "mutation_matrix"), i,
                                   m)
                {
                        int c = json_is_true(json_object_get(m, "caught"));
                        fputs("<tr><td>", fp);
                        crmsync_report_escape(fp, str(m, "switch"));
                        fputs("</td><td>", fp);
                        crmsync_report_escape(fp, str(m, "process"));
                        fputs("</td><td>", fp);
                        crmsync_report_escape(fp, str(m, "scenario"));
                        fputs("</td><td>", fp);
                        crmsync_report_escape(fp, str(m, "expected"));
                        fputs("</td><td>", fp);
                        crmsync_report_escape(fp, str(m, "found"));
                        fprintf(fp, "</td><td class=\"%s\">%s</td></tr>\n",
                                c ? "pass" : "fail", c ? "yes" : "NO");
                }
                fputs("</table>\n", fp);
        }
        fputs("</body>\n</html>\n", fp);
        return fclose(fp);
}

void crmsync_suite_report_matrix_md(const json_t *suite, FILE *fp)
{
        const json_t *m;
        size_t        i, caught = 0, n;

        n = json_array_size(json_object_get(suite, "mutation_matrix"));
        json_array_foreach(json_object_get(suite, "mutation_matrix"), i, m)
            caught += json_is_true(json_object_get(m, "caught"));
        fprintf(fp,
                "# Mutation matrix\n\nEvery bug switch of the reference "
                "pipeline, the scenario that must catch it, the anomaly "
                "class (or expectation) it must be caught by, and what "
                "the run found. %zu of %zu caught as expected.\n\n"
                "| switch | process | scenario | expected | found | "
                "caught |\n|---|---|---|---|---|---|\n",
                caught, n);
        json_array_foreach(json_object_get(suite, "mutation_matrix"), i, m)
            fprintf(fp, "| `%s` | %s | `%s` | %s | %s | %s |\n",
                    str(m, "switch"), str(m, "process"), str(m, "file"),
                    str(m, "expected"), str(m, "found"),
                    json_is_true(json_object_get(m, "caught")) ? "yes"
                                                               : "**NO**");
}

static int write_matrix(const json_t *suite, const char *path)
{
        FILE *fp = fopen(path, "w");
        if (!fp)
                return -1;
        crmsync_suite_report_matrix_md(suite, fp);
        return fclose(fp);
}

int crmsync_suite_report_write(const json_t *suite, const json_t *runs,
                               const char *dir, char *errstr,
                               size_t errstr_size)
{
        char path[800];
        snprintf(path, sizeof(path), "%s/summary.json", dir);
        if (json_dump_file(suite, path,
                           JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                               JSON_REAL_PRECISION(9)))
                return crmsync_err(errstr, errstr_size, "%s: cannot write",
                                   path);
        snprintf(path, sizeof(path), "%s/junit.xml", dir);
        if (write_junit(suite, runs, path))
                goto fail;
        snprintf(path, sizeof(path), "%s/index.html", dir);
        if (write_html(suite, path))
                goto fail;
        if (!json_array_size(json_object_get(suite, "mutation_matrix")))
                return 0;
        snprintf(path, sizeof(path), "%s/mutation-matrix.md", dir);
        if (write_matrix(suite, path))
                goto fail;
        return 0;
fail:
        return crmsync_err(errstr, errstr_size, "%s: %s", path,
                           strerror(errno));
}
