/* compare.c -- runs or suites side by side (compare.h). */
#include "crmsync/compare.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crmsync/common.h"
#include "crmsync/report.h"
#include "crmsync/suite_report.h"

#define SUITE_SCHEMA CRMSYNC_SUITE_SCHEMA

/* The figure families a threshold may name, with their unit. */
static const struct {
        const char *name;
        const char *unit;
} families[] = {
    {"p50", "ms"},          {"p95", "ms"},
    {"p99", "ms"},          {"p99_9", "ms"},
    {"max", "ms"},          {"convergence", "s"},
    {"catch_up", "s"},      {"broker_unavailable", "s"},
    {"replay", "events/s"}, {"drain", "events/s"},
    {"anomalies", "count"},
};

static const char *family_unit(const char *figure)
{
        for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
                size_t n = strlen(families[i].name);
                if (!strncmp(figure, families[i].name, n) &&
                    (figure[n] == '\0' || figure[n] == '.'))
                        return families[i].unit;
        }
        return NULL;
}

int crmsync_compare_threshold_parse(const char *name, const char *value,
                                    struct crmsync_compare_threshold *out,
                                    char *errstr, size_t errstr_size)
{
        const char *unit = family_unit(name);
        char       *end;
        double      v;

        memset(out, 0, sizeof(*out));
        if (!unit) {
                snprintf(errstr, errstr_size,
                         "unknown figure '%s' (known: p50, p95, p99, p99_9, "
                         "max, convergence, catch_up, broker_unavailable, "
                         "replay, drain, anomalies[.CLASS])",
                         name);
                return -1;
        }
        if (strlen(name) >= sizeof(out->figure)) {
                snprintf(errstr, errstr_size, "figure name '%s' too long",
                         name);
                return -1;
        }
        errno = 0;
        v     = strtod(value, &end);
        if (end == value || errno || !isfinite(v)) {
                snprintf(errstr, errstr_size,
                         "%s: '%s' is not a number with an optional %%, s or "
                         "ms (e.g. 20%%, 5s, -15%%)",
                         name, value);
                return -1;
        }
        if (!strcmp(end, "%")) {
                out->relative = 1;
        } else if (!strcmp(end, "s") || !strcmp(end, "ms")) {
                int ms = !strcmp(end, "ms");
                if (!strcmp(unit, "s"))
                        v = ms ? v / 1000.0 : v;
                else if (!strcmp(unit, "ms"))
                        v = ms ? v : v * 1000.0;
                else {
                        snprintf(errstr, errstr_size,
                                 "%s: a time ('%s') for a figure in %s; use "
                                 "a %% or a plain number",
                                 name, value, unit);
                        return -1;
                }
        } else if (*end) {
                snprintf(errstr, errstr_size,
                         "%s: unknown unit '%s' in '%s' (%%, s or ms)", name,
                         end, value);
                return -1;
        }
        snprintf(out->figure, sizeof(out->figure), "%s", name);
        out->limit = v;
        return 0;
}

int crmsync_compare_thresholds_parse(const char                       *spec,
                                     struct crmsync_compare_threshold *out,
                                     size_t max, char *errstr,
                                     size_t errstr_size)
{
        char  *copy = strdup(spec ? spec : ""), *item, *save = NULL;
        char   why[256];
        size_t n = 0;

        if (!copy) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (item = strtok_r(copy, ",", &save); item;
             item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                while (*item == ' ')
                        item++;
                if (!eq || eq == item || !eq[1]) {
                        snprintf(errstr, errstr_size,
                                 "threshold '%s': expected FIGURE=VALUE "
                                 "(e.g. p99=20%%)",
                                 item);
                        goto fail;
                }
                if (n == max) {
                        snprintf(errstr, errstr_size,
                                 "more than %zu thresholds", max);
                        goto fail;
                }
                *eq = '\0';
                if (crmsync_compare_threshold_parse(item, eq + 1, &out[n], why,
                                                    sizeof(why))) {
                        snprintf(errstr, errstr_size, "threshold '%s=%s': %s",
                                 item, eq + 1, why);
                        goto fail;
                }
                n++;
        }
        if (n == 0) {
                snprintf(errstr, errstr_size,
                         "no thresholds in '%s' (e.g. p99=20%%)",
                         spec ? spec : "");
                goto fail;
        }
        free(copy);
        return (int)n;
fail:
        free(copy);
        return -1;
}

static void add(json_t *arr, const char *figure, const char *unit,
                json_t *value)
{
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "figure",
                                             figure, "unit", unit, "value",
                                             value ? value : json_null()));
}

static json_t *num_or_null(const json_t *v)
{
        return json_is_number(v) ? json_real(json_number_value(v))
                                 : json_null();
}

json_t *crmsync_compare_figures(const json_t *s)
{
        static const char *qs[] = {"p50", "p95", "p99", "p99_9", "max"};
        const json_t      *t    = json_object_get(s, "timing");
        const json_t      *fr   = json_object_get(t, "freshness");
        json_t            *arr  = json_array(), *v, *e;
        const char        *k;
        char               name[160];
        size_t             i;

        if (!arr)
                return NULL;
        add(arr, "verdict", "",
            json_is_string(json_object_get(s, "verdict"))
                ? json_incref(json_object_get(s, "verdict"))
                : json_null());
        json_object_foreach((json_t *)json_object_get(s, "anomalies"), k, v)
        {
                snprintf(name, sizeof(name), "anomalies.%s", k);
                add(arr, name, "count", num_or_null(v));
        }
        /* Freshness (commit to sink write of every change); older
         * summaries had only timing.e2e_latency_ms. */
        if (!json_is_object(fr))
                fr = json_object_get(t, "e2e_latency_ms");
        for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
                add(arr, qs[i], "ms", num_or_null(json_object_get(fr, qs[i])));
        add(arr, "convergence", "s",
            num_or_null(json_object_get(t, "convergence_s")));
        json_array_foreach(json_object_get(t, "fault_convergence"), i, e)
        {
                snprintf(
                    name, sizeof(name), "convergence.f%lld.%s",
                    (long long)json_integer_value(json_object_get(e, "fault")),
                    json_string_value(json_object_get(e, "type"))
                        ? json_string_value(json_object_get(e, "type"))
                        : "?");
                add(arr, name, "s",
                    num_or_null(json_object_get(e, "convergence_s")));
        }
        add(arr, "catch_up", "s",
            num_or_null(json_object_get(t, "catch_up_s")));
        json_array_foreach(json_object_get(t, "catch_up"), i, e)
        {
                snprintf(
                    name, sizeof(name), "catch_up.f%lld.%s",
                    (long long)json_integer_value(json_object_get(e, "fault")),
                    json_string_value(json_object_get(e, "type"))
                        ? json_string_value(json_object_get(e, "type"))
                        : "?");
                add(arr, name, "s",
                    num_or_null(json_object_get(e, "catch_up_s")));
        }
        json_array_foreach(json_object_get(t, "broker_unavailable"), i, e)
        {
                snprintf(
                    name, sizeof(name), "broker_unavailable.f%lld.b%lld",
                    (long long)json_integer_value(json_object_get(e, "fault")),
                    (long long)json_integer_value(
                        json_object_get(e, "broker")));
                add(arr, name, "s",
                    num_or_null(json_object_get(e, "unavailable_s")));
        }
        add(arr, "replay", "events/s",
            num_or_null(
                json_object_get(json_object_get(t, "replay"), "events_per_s")));
        add(arr, "drain", "events/s",
            num_or_null(
                json_object_get(json_object_get(t, "drain"), "events_per_s")));
        return arr;
}

/* Row index of (scenario, figure) in table, or -1. */
static long find_row(const json_t *table, const char *scenario,
                     const char *figure)
{
        size_t        i;
        const json_t *r;
        json_array_foreach(table, i, r)
        {
                if (!strcmp(json_string_value(json_object_get(r, "scenario")),
                            scenario) &&
                    !strcmp(json_string_value(json_object_get(r, "figure")),
                            figure))
                        return (long)i;
        }
        return -1;
}

/* Where a new row goes: after the last row of the same scenario and
 * family ("convergence.f0.sink_slow" after "convergence"), else at the
 * end. */
static size_t insert_at(const json_t *table, const char *scenario,
                        const char *figure)
{
        size_t fam = strcspn(figure, "."), i, at = json_array_size(table);
        const json_t *r;
        json_array_foreach(table, i, r)
        {
                const char *f = json_string_value(json_object_get(r, "figure"));
                if (!strcmp(json_string_value(json_object_get(r, "scenario")),
                            scenario) &&
                    strcspn(f, ".") == fam && !strncmp(f, figure, fam))
                        at = i + 1;
        }
        return at;
}

json_t *crmsync_compare_table(const json_t *cols)
{
        size_t        ncols   = json_array_size(cols), c, i, j;
        int           by_name = 0;
        const json_t *col, *s, *f, *row;
        json_t       *table = json_array();

        if (!table)
                return NULL;
        json_array_foreach(cols, c, col)
        {
                if (json_array_size(col) != 1)
                        by_name = 1;
        }
        json_array_foreach(cols, c, col)
        {
                json_array_foreach(col, i, s)
                {
                        const char *scen =
                            by_name ? json_string_value(
                                          json_object_get(s, "scenario"))
                                    : "";
                        json_t *figs = crmsync_compare_figures(s);
                        if (!scen)
                                scen = "?";
                        json_array_foreach(figs, j, f)
                        {
                                const char *fig = json_string_value(
                                    json_object_get(f, "figure"));
                                long    at = find_row(table, scen, fig);
                                json_t *r;
                                if (at < 0) {
                                        json_t *vals = json_array();
                                        for (size_t k = 0; k < ncols; k++)
                                                json_array_append_new(
                                                    vals, json_null());
                                        r = json_pack(
                                            "{s:s, s:s, s:O, s:o}", "scenario",
                                            scen, "figure", fig, "unit",
                                            json_object_get(f, "unit"),
                                            "values", vals);
                                        json_array_insert_new(
                                            table, insert_at(table, scen, fig),
                                            r);
                                } else {
                                        r = json_array_get(table, (size_t)at);
                                }
                                json_array_set(json_object_get(r, "values"), c,
                                               json_object_get(f, "value"));
                        }
                        json_decref(figs);
                }
        }
        json_array_foreach(table, i, row)
        {
                const json_t *vals   = json_object_get(row, "values");
                const json_t *first  = json_array_get(vals, 0), *v;
                json_t       *ratios = json_array();
                json_array_foreach(vals, j, v)
                {
                        json_array_append_new(
                            ratios, json_is_number(v) &&
                                            json_is_number(first) &&
                                            json_number_value(first) != 0
                                        ? json_real(json_number_value(v) /
                                                    json_number_value(first))
                                        : json_null());
                }
                json_object_set_new((json_t *)row, "ratios", ratios);
        }
        return table;
}

static int threshold_matches(const char *thr, const char *figure)
{
        size_t n = strlen(thr);
        return !strncmp(figure, thr, n) &&
               (figure[n] == '\0' || figure[n] == '.');
}

static void fmt_value(char *buf, size_t size, const json_t *v)
{
        double d;
        if (json_is_string(v)) {
                snprintf(buf, size, "%s", json_string_value(v));
                return;
        }
        if (!json_is_number(v)) {
                snprintf(buf, size, "-");
                return;
        }
        d = json_number_value(v);
        if (fabs(d - round(d)) < 1e-9 && fabs(d) < 1e15)
                snprintf(buf, size, "%.0f", d);
        else
                snprintf(buf, size, "%.3f", d);
}

int crmsync_compare_regressions(const json_t *table, size_t col,
                                const struct crmsync_compare_threshold *t,
                                size_t nt, FILE *fp)
{
        size_t        i;
        const json_t *row;
        int           n = 0;

        json_array_foreach(table, i, row)
        {
                const char *fig =
                    json_string_value(json_object_get(row, "figure"));
                const char *scen =
                    json_string_value(json_object_get(row, "scenario"));
                const char *unit =
                    json_string_value(json_object_get(row, "unit"));
                const json_t *vals = json_object_get(row, "values");
                const json_t *a    = json_array_get(vals, 0);
                const json_t *b    = json_array_get(vals, col);
                for (size_t k = 0; k < nt; k++) {
                        double av, bv, allowed;
                        int    bad;
                        char   as[64], bs[64];
                        if (!threshold_matches(t[k].figure, fig) ||
                            !json_is_number(a))
                                continue;
                        av = json_number_value(a);
                        if (!json_is_number(b)) {
                                bad = 1;
                        } else {
                                bv      = json_number_value(b);
                                allowed = t[k].relative
                                              ? fabs(av) * t[k].limit / 100.0
                                              : t[k].limit;
                                bad     = t[k].limit >= 0 ? bv > av + allowed
                                                          : bv < av + allowed;
                        }
                        if (!bad)
                                continue;
                        n++;
                        if (!fp)
                                break;
                        fmt_value(as, sizeof(as), a);
                        fmt_value(bs, sizeof(bs), b);
                        fprintf(fp, "regression: %s%s%s: %s %s -> %s %s",
                                *scen ? scen : "", *scen ? " " : "", fig, as,
                                unit, bs, json_is_number(b) ? unit : "");
                        if (json_is_number(b) && av != 0)
                                fprintf(fp, " (%+.1f%%)",
                                        (json_number_value(b) - av) / fabs(av) *
                                            100.0);
                        fprintf(fp, ", threshold %s=%g%s\n", t[k].figure,
                                t[k].limit, t[k].relative ? "%" : unit);
                        break;
                }
        }
        return n;
}

static int has_scenarios(const json_t *table)
{
        size_t        i;
        const json_t *row;
        json_array_foreach(table, i, row)
        {
                if (*json_string_value(json_object_get(row, "scenario")))
                        return 1;
        }
        return 0;
}

/* A Markdown table cell: '|' escaped. */
static void md(FILE *fp, const char *s)
{
        for (; s && *s; s++) {
                if (*s == '|')
                        fputc('\\', fp);
                if (*s != '\n')
                        fputc(*s, fp);
        }
}

static void fmt_ratio(char *buf, size_t size, const json_t *r)
{
        if (json_is_number(r))
                snprintf(buf, size, "%.2fx", json_number_value(r));
        else
                snprintf(buf, size, "-");
}

void crmsync_compare_markdown(const json_t *table, const char *const *labels,
                              size_t ncols, FILE *fp)
{
        int           scen = has_scenarios(table);
        size_t        i, c;
        const json_t *row;
        char          buf[64];

        fputs(scen ? "| scenario | figure | unit |" : "| figure | unit |", fp);
        for (c = 0; c < ncols; c++) {
                fputc(' ', fp);
                md(fp, labels[c]);
                fputs(" |", fp);
                if (c > 0)
                        fprintf(fp, " ratio |");
        }
        fputs(scen ? "\n|---|---|---|" : "\n|---|---|", fp);
        for (c = 0; c < ncols; c++)
                fputs(c > 0 ? "---:|---:|" : "---:|", fp);
        fputc('\n', fp);
        json_array_foreach(table, i, row)
        {
                const json_t *vals = json_object_get(row, "values");
                const json_t *rat  = json_object_get(row, "ratios");
                if (scen) {
                        fputs("| ", fp);
                        md(fp,
                           json_string_value(json_object_get(row, "scenario")));
                        fputc(' ', fp);
                }
                fputs("| ", fp);
                md(fp, json_string_value(json_object_get(row, "figure")));
                fprintf(fp, " | %s |",
                        json_string_value(json_object_get(row, "unit")));
                for (c = 0; c < ncols; c++) {
                        fmt_value(buf, sizeof(buf), json_array_get(vals, c));
                        fputc(' ', fp);
                        md(fp, buf);
                        fputs(" |", fp);
                        if (c > 0) {
                                fmt_ratio(buf, sizeof(buf),
                                          json_array_get(rat, c));
                                fprintf(fp, " %s |", buf);
                        }
                }
                fputc('\n', fp);
        }
}

void crmsync_compare_html(const json_t *table, const char *const *labels,
                          size_t ncols, FILE *fp)
{
        int           scen = has_scenarios(table);
        size_t        i, c;
        const json_t *row;
        char          buf[64];

        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
              "charset=\"utf-8\">\n<title>crmsync compare</title>\n<style>\n"
              "body{font-family:sans-serif;margin:2em}\n"
              "table{border-collapse:collapse}\n"
              "td,th{border:1px solid #ccc;padding:.3em .6em;"
              "text-align:left}\n"
              "td.n{text-align:right}\ntd.up{background:#fdd}\n"
              "td.down{background:#dfd}\n"
              "</style>\n</head>\n<body>\n<h1>crmsync compare</h1>\n"
              "<p>Ratio: the figure divided by the first column's.</p>\n"
              "<table>\n<tr>",
              fp);
        if (scen)
                fputs("<th>scenario</th>", fp);
        fputs("<th>figure</th><th>unit</th>", fp);
        for (c = 0; c < ncols; c++) {
                fputs("<th>", fp);
                crmsync_report_escape(fp, labels[c]);
                fputs("</th>", fp);
                if (c > 0)
                        fputs("<th>ratio</th>", fp);
        }
        fputs("</tr>\n", fp);
        json_array_foreach(table, i, row)
        {
                const json_t *vals = json_object_get(row, "values");
                const json_t *rat  = json_object_get(row, "ratios");
                fputs("<tr>", fp);
                if (scen) {
                        fputs("<td>", fp);
                        crmsync_report_escape(
                            fp, json_string_value(
                                    json_object_get(row, "scenario")));
                        fputs("</td>", fp);
                }
                fputs("<td>", fp);
                crmsync_report_escape(
                    fp, json_string_value(json_object_get(row, "figure")));
                fputs("</td><td>", fp);
                crmsync_report_escape(
                    fp, json_string_value(json_object_get(row, "unit")));
                fputs("</td>", fp);
                for (c = 0; c < ncols; c++) {
                        const json_t *r = json_array_get(rat, c);
                        fmt_value(buf, sizeof(buf), json_array_get(vals, c));
                        fputs("<td class=\"n\">", fp);
                        crmsync_report_escape(fp, buf);
                        fputs("</td>", fp);
                        if (c == 0)
                                continue;
                        fmt_ratio(buf, sizeof(buf), r);
                        fprintf(fp, "<td class=\"n%s\">%s</td>",
                                !json_is_number(r)           ? ""
                                : json_number_value(r) > 1.0 ? " up"
                                : json_number_value(r) < 1.0 ? " down"
                                                             : "",
                                buf);
                }
                fputs("</tr>\n", fp);
        }
        fputs("</table>\n</body>\n</html>\n", fp);
}

static json_t *load_summary(const char *path, char *errstr, size_t errstr_size)
{
        json_error_t err;
        json_t      *s = json_load_file(path, 0, &err);
        if (!s) {
                if (err.line > 0)
                        snprintf(errstr, errstr_size, "%s:%d:%d: %s", path,
                                 err.line, err.column, err.text);
                else
                        snprintf(errstr, errstr_size, "%s: %s", path, err.text);
                return NULL;
        }
        if (!json_is_object(s)) {
                snprintf(errstr, errstr_size, "%s:1:1: not a JSON object",
                         path);
                json_decref(s);
                return NULL;
        }
        return s;
}

static int is_file(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* One run of a suite: run_dir as written, else beside the suite folder. */
static json_t *load_suite_run(const char *suite_dir, const json_t *row)
{
        const char *rd = json_string_value(json_object_get(row, "run_dir"));
        const char *base;
        char        path[4096], err[512];
        json_t     *s = NULL;

        if (rd && *rd) {
                snprintf(path, sizeof(path), "%s/summary.json", rd);
                if (is_file(path))
                        s = load_summary(path, err, sizeof(err));
                base = strrchr(rd, '/');
                base = base ? base + 1 : rd;
                if (!s) {
                        snprintf(path, sizeof(path), "%s/../%s/summary.json",
                                 suite_dir, base);
                        if (is_file(path))
                                s = load_summary(path, err, sizeof(err));
                }
        }
        if (!s)
                s = json_pack("{s:O*, s:O*}", "scenario",
                              json_object_get(row, "scenario"), "verdict",
                              json_object_get(row, "verdict"));
        return s;
}

json_t *crmsync_compare_load(const char *dir, char *errstr, size_t errstr_size)
{
        struct stat st;
        char        path[4096];
        json_t     *s, *out;
        const char *schema;

        if (stat(dir, &st) != 0) {
                snprintf(errstr, errstr_size, "%s: %s", dir, strerror(errno));
                return NULL;
        }
        if (S_ISDIR(st.st_mode))
                snprintf(path, sizeof(path), "%s/summary.json", dir);
        else
                snprintf(path, sizeof(path), "%s", dir);
        if (!(s = load_summary(path, errstr, errstr_size)))
                return NULL;
        schema = json_string_value(json_object_get(s, "schema"));
        out    = json_array();
        if (schema && !strcmp(schema, SUITE_SCHEMA)) {
                size_t        i;
                const json_t *row;
                json_array_foreach(json_object_get(s, "runs"), i, row)
                {
                        json_array_append_new(out, load_suite_run(dir, row));
                }
                json_decref(s);
                if (json_array_size(out) == 0) {
                        snprintf(errstr, errstr_size,
                                 "%s: the suite lists no runs", path);
                        json_decref(out);
                        return NULL;
                }
                return out;
        }
        if (!schema || strcmp(schema, CRMSYNC_SUMMARY_SCHEMA)) {
                snprintf(errstr, errstr_size,
                         "%s: schema '%s' is neither %s (a run) nor %s (a "
                         "suite)",
                         path, schema ? schema : "(none)",
                         CRMSYNC_SUMMARY_SCHEMA, SUITE_SCHEMA);
                json_decref(s);
                json_decref(out);
                return NULL;
        }
        json_array_append_new(out, s);
        return out;
}
