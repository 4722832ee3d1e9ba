/* pilot_report.c -- report.md and report.html of a pilot: the targets,
 * the scorecard's six lines (pilot_scorecard.c), the runbook and the
 * side-by-side table of `crmsync compare` (pilot_report.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/compare.h"
#include "crmsync/pilot_report.h"
#include "crmsync/report.h"

static const char *str(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static const json_t *target(const json_t *pilot, int ti)
{
        return json_array_get(json_object_get(pilot, "targets"), (size_t)ti);
}

static void fmt(char *buf, size_t size, const json_t *v, const char *unit)
{
        if (json_is_integer(v) ||
            (json_is_number(v) && !strcmp(unit, "count"))) {
                snprintf(buf, size, "%.0f", json_number_value(v));
        } else if (json_is_number(v)) {
                double d = json_number_value(v);
                snprintf(buf, size, fabs(d) >= 100 ? "%.0f%s%s" : "%.2f%s%s", d,
                         *unit && strcmp(unit, "count") ? " " : "",
                         strcmp(unit, "count") ? unit : "");
        } else if (json_is_string(v)) {
                snprintf(buf, size, "%s", json_string_value(v));
        } else {
                snprintf(buf, size, "(none)");
        }
}

static const char *better_name(const json_t *pilot, const char *b, char *buf,
                               size_t size)
{
        if (!strcmp(b, "A") || !strcmp(b, "B"))
                snprintf(buf, size, "%s (%s)", b,
                         str(target(pilot, b[0] == 'B'), "name"));
        else
                snprintf(buf, size, "%s", b);
        return buf;
}

static void add_line(json_t *arr, const char *fmt_, ...)
    __attribute__((format(printf, 2, 3)));
static void add_line(json_t *arr, const char *fmt_, ...)
{
        char    buf[1024];
        va_list ap;
        va_start(ap, fmt_);
        vsnprintf(buf, sizeof(buf), fmt_, ap);
        va_end(ap);
        json_array_append_new(arr, json_string(buf));
}

/* What changed and what stayed the same: every scorecard row. */
static void runbook_rows(const json_t *pilot, const json_t *card,
                         json_t *changed, json_t *same)
{
        const json_t *l, *r;
        size_t        i, j;
        json_array_foreach(json_object_get(card, "lines"), i, l)
            json_array_foreach(json_object_get(l, "rows"), j, r)
        {
                char        a[256], b[256], who[200];
                const char *u   = str(r, "unit");
                const char *bt  = str(r, "better");
                const char *t   = str(l, "title");
                const char *fig = str(r, "figure");
                fmt(a, sizeof(a), json_object_get(r, "a"), u);
                fmt(b, sizeof(b), json_object_get(r, "b"), u);
                if (!strcmp(bt, "same"))
                        add_line(same, "%s, %s: %s on A, %s on B", t, fig, a,
                                 b);
                else if (*bt)
                        add_line(changed, "%s, %s: A %s, B %s; better on %s", t,
                                 fig, a, b,
                                 better_name(pilot, bt, who, sizeof(who)));
                else if (strcmp(a, b))
                        add_line(changed, "%s, %s: A %s, B %s", t, fig, a, b);
                else
                        add_line(same, "%s, %s: %s on both", t, fig, a);
        }
}

static const json_t *run_named(const json_t *pilot, int ti, const char *name)
{
        const json_t *r;
        size_t        i;
        json_array_foreach(json_object_get(target(pilot, ti), "runs"), i, r)
        {
                if (!strcmp(str(r, "scenario"), name))
                        return r;
        }
        return NULL;
}

/* Which failure modes were easier to explain on which target: a run that
 * passed against one that failed, then the shorter recovery (by more than
 * 10% and a quarter second, the scorecard's noise band). */
static void runbook_faults(const json_t *pilot, json_t *easier, json_t *same)
{
        const json_t *ra;
        size_t        i;
        json_array_foreach(json_object_get(target(pilot, 0), "runs"), i, ra)
        {
                const char   *name = str(ra, "scenario");
                const json_t *rb   = run_named(pilot, 1, name);
                const char   *va = str(ra, "verdict"), *vb = str(rb, "verdict");
                double        ca = json_number_value(json_object_get(
                           json_object_get(ra, "timing"), "convergence_s"));
                double        cb = json_number_value(json_object_get(
                           json_object_get(rb, "timing"), "convergence_s"));
                char          who[200];
                if (!rb)
                        continue;
                if (strcmp(va, vb)) {
                        int on = strcmp(va, "pass") != 0;
                        add_line(easier,
                                 "%s: easier on %s: its run passed; on the "
                                 "other it is '%s' (its report.md lists the "
                                 "failed expectations and examples)",
                                 name,
                                 better_name(pilot, on ? "B" : "A", who,
                                             sizeof(who)),
                                 on ? va : vb);
                } else if (!json_array_size(json_object_get(ra, "faults"))) {
                        add_line(same, "%s: %s on both", name, va);
                } else if (fabs(ca - cb) > 0.1 * (ca > cb ? ca : cb) &&
                           fabs(ca - cb) >= 0.25) {
                        add_line(easier,
                                 "%s: %s on both; easier on %s: it converged "
                                 "in %.2f s against %.2f s, a shorter "
                                 "timeline to explain",
                                 name, va,
                                 better_name(pilot, ca < cb ? "A" : "B", who,
                                             sizeof(who)),
                                 ca < cb ? ca : cb, ca < cb ? cb : ca);
                } else {
                        add_line(same,
                                 "%s: %s on both, converging in %.2f s and "
                                 "%.2f s: the same failure story on both",
                                 name, va, ca, cb);
                }
        }
}

static json_t *runbook(const json_t *pilot, const json_t *card)
{
        json_t *rb =
            json_pack("{s:[], s:[], s:[]}", "changed", "same", "easier");
        runbook_rows(pilot, card, json_object_get(rb, "changed"),
                     json_object_get(rb, "same"));
        runbook_faults(pilot, json_object_get(rb, "easier"),
                       json_object_get(rb, "same"));
        if (!json_array_size(json_object_get(rb, "easier")))
                add_line(json_object_get(rb, "easier"),
                         "No failure mode was easier to explain on either "
                         "target: every fault scenario ended the same way "
                         "with recoveries within 10%% of each other.");
        return rb;
}

static void h(FILE *fp, const char *s)
{
        crmsync_report_escape(fp, s);
}

/* How the scorecard's rows and the runbook's lists are written in
 * report.md and in report.html. */
struct markup {
        const char *open, *sep, *last_sep, *close; /* a row and its cells */
        /* a list; list_open holds one "%s", the title */
        const char *list_open, *item, *item_end, *list_end;
        void (*esc)(FILE *fp, const char *s); /* a cell's or item's text */
        int html;
};
static const struct markup md_markup = {
    .open      = "| ",
    .sep       = " | ",
    .last_sep  = " |",
    .close     = " |\n",
    .list_open = "\n### %s\n\n",
    .item      = "- ",
    .item_end  = "\n",
    .list_end  = "",
    .esc       = crmsync_md_cell,
};
static const struct markup html_markup = {
    .open      = "<tr><td>",
    .sep       = "</td><td>",
    .last_sep  = "</td><td>",
    .close     = "</td></tr>\n",
    .list_open = "<h3>%s</h3>\n<ul>\n",
    .item      = "<li>",
    .item_end  = "</li>\n",
    .list_end  = "</ul>\n",
    .esc       = h,
    .html      = 1,
};

/* A scorecard row: figure, A, B, B/A, better, evidence links. */
static void card_row(FILE *fp, const struct markup *m, const json_t *pilot,
                     const json_t *r)
{
        char          a[256], b[256], ratio[32] = "", who[200];
        const char   *u = str(r, "unit");
        const json_t *e;
        size_t        i;

        fmt(a, sizeof(a), json_object_get(r, "a"), u);
        fmt(b, sizeof(b), json_object_get(r, "b"), u);
        if (json_is_number(json_object_get(r, "ratio")))
                snprintf(ratio, sizeof(ratio), "%.2f",
                         json_number_value(json_object_get(r, "ratio")));
        fputs(m->open, fp);
        m->esc(fp, str(r, "figure"));
        fputs(m->sep, fp);
        m->esc(fp, a);
        fputs(m->sep, fp);
        m->esc(fp, b);
        fprintf(fp, "%s%s%s", m->sep, ratio, m->sep);
        m->esc(fp, better_name(pilot, str(r, "better"), who, sizeof(who)));
        fputs(m->last_sep, fp);
        json_array_foreach(json_object_get(r, "evidence"), i, e)
        {
                if (!m->html) {
                        fprintf(fp, " [%s](%s)", str(e, "label"),
                                str(e, "href"));
                        continue;
                }
                fputs(" <a href=\"", fp);
                h(fp, str(e, "href"));
                fputs("\">", fp);
                h(fp, str(e, "label"));
                fputs("</a>", fp);
        }
        fputs(m->close, fp);
}

/* A runbook list: the title, then one item per string of arr. */
static void card_list(FILE *fp, const struct markup *m, const char *title,
                      const json_t *arr)
{
        const json_t *v;
        size_t        i;

        fprintf(fp, m->list_open, title);
        json_array_foreach(arr, i, v)
        {
                fputs(m->item, fp);
                m->esc(fp, json_string_value(v));
                fputs(m->item_end, fp);
        }
        fputs(m->list_end, fp);
}

static void write_md(FILE *fp, const json_t *pilot, const json_t *card,
                     const json_t *rb, const char *const *labels)
{
        const json_t *l, *r, *n;
        size_t        i, j;
        fprintf(fp, "# Pilot: %s against %s\n\n", labels[0], labels[1]);
        fprintf(fp, "| | target | type | security | runs | exit |\n"
                    "|---|---|---|---|---|---|\n");
        for (int ti = 0; ti < 2; ti++) {
                const json_t *t = target(pilot, ti);
                fprintf(fp, "| %s | %s (`%s`) | %s | %s | %s | %lld |\n",
                        str(t, "label"), str(t, "name"), str(t, "file"),
                        str(t, "type"), str(t, "security_protocol"),
                        str(t, "suite_dir"),
                        (long long)json_integer_value(
                            json_object_get(t, "suite_exit")));
        }
        fprintf(fp, "\nThe same scenarios, seeds, workloads and faults ran on "
                    "both; only the target differs. Ratio: B / A.\n\n"
                    "## Scorecard\n");
        json_array_foreach(json_object_get(card, "lines"), i, l)
        {
                fprintf(fp,
                        "\n### %zu. %s\n\n| figure | A | B | B/A | "
                        "better | evidence |\n|---|---|---|---|---|---|\n",
                        i + 1, str(l, "title"));
                json_array_foreach(json_object_get(l, "rows"), j, r)
                    card_row(fp, &md_markup, pilot, r);
                json_array_foreach(json_object_get(l, "notes"), j, n)
                    fprintf(fp, "\n%s\n", json_string_value(n));
        }
        fprintf(fp, "\n## Runbook\n");
        card_list(fp, &md_markup, "What changed",
                  json_object_get(rb, "changed"));
        card_list(fp, &md_markup, "What stayed the same",
                  json_object_get(rb, "same"));
        card_list(fp, &md_markup, "Failure modes easier to explain",
                  json_object_get(rb, "easier"));
        fprintf(fp, "\n## Side by side (crmsync compare)\n\n");
        crmsync_compare_markdown(json_object_get(pilot, "table"), labels, 2,
                                 fp);
}

static void write_html(FILE *fp, const json_t *pilot, const json_t *card,
                       const json_t *rb, const char *const *labels)
{
        const json_t *l, *r, *n;
        size_t        i, j;
        fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
              "<title>crmsync pilot</title><style>body{font-family:sans-"
              "serif;margin:2em}table{border-collapse:collapse;margin:.5em "
              "0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:"
              "left}</style></head><body>\n<h1>Pilot: ",
              fp);
        h(fp, labels[0]);
        fputs(" against ", fp);
        h(fp, labels[1]);
        fputs("</h1>\n<table><tr><th></th><th>target</th><th>type</th>"
              "<th>security</th><th>runs</th><th>exit</th></tr>\n",
              fp);
        for (int ti = 0; ti < 2; ti++) {
                const json_t            *t   = target(pilot, ti);
                static const char *const k[] = {
                    "label", "name", "type", "security_protocol", "suite_dir"};
                fputs("<tr>", fp);
                for (int c = 0; c < 5; c++) {
                        fputs("<td>", fp);
                        h(fp, str(t, k[c]));
                        fputs("</td>", fp);
                }
                fprintf(fp, "<td>%lld</td></tr>\n",
                        (long long)json_integer_value(
                            json_object_get(t, "suite_exit")));
        }
        fputs("</table>\n<p>The same scenarios, seeds, workloads and faults "
              "ran on both; only the target differs. Ratio: B / A.</p>\n"
              "<h2>Scorecard</h2>\n",
              fp);
        json_array_foreach(json_object_get(card, "lines"), i, l)
        {
                fprintf(fp, "<h3>%zu. ", i + 1);
                h(fp, str(l, "title"));
                fputs("</h3>\n<table><tr><th>figure</th><th>A</th><th>B</th>"
                      "<th>B/A</th><th>better</th><th>evidence</th></tr>\n",
                      fp);
                json_array_foreach(json_object_get(l, "rows"), j, r)
                    card_row(fp, &html_markup, pilot, r);
                fputs("</table>\n", fp);
                json_array_foreach(json_object_get(l, "notes"), j, n)
                {
                        fputs("<p>", fp);
                        h(fp, json_string_value(n));
                        fputs("</p>\n", fp);
                }
        }
        fputs("<h2>Runbook</h2>\n", fp);
        card_list(fp, &html_markup, "What changed",
                  json_object_get(rb, "changed"));
        card_list(fp, &html_markup, "What stayed the same",
                  json_object_get(rb, "same"));
        card_list(fp, &html_markup, "Failure modes easier to explain",
                  json_object_get(rb, "easier"));
        fputs("<h2>Side by side (crmsync compare)</h2>\n", fp);
        crmsync_compare_html(json_object_get(pilot, "table"), labels, 2, fp);
        fputs("</body></html>\n", fp);
}

static int write_file(const char *dir, const char *name, const json_t *pilot,
                      const json_t *card, const json_t *rb,
                      const char *const *labels, char *errstr,
                      size_t errstr_size)
{
        char  path[4096];
        FILE *fp;
        int   bad;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (!(fp = fopen(path, "w")))
                return crmsync_err(errstr, errstr_size, "%s: %s", path,
                                   strerror(errno));
        if (!strcmp(name, "report.md"))
                write_md(fp, pilot, card, rb, labels);
        else
                write_html(fp, pilot, card, rb, labels);
        bad = ferror(fp);
        if (fclose(fp) || bad)
                return crmsync_err(errstr, errstr_size, "%s: write failed",
                                   path);
        return 0;
}

int crmsync_pilot_report_write(const json_t *pilot, const char *dir,
                               char *errstr, size_t errstr_size)
{
        json_t     *card = crmsync_pilot_scorecard(pilot);
        json_t     *rb   = card ? runbook(pilot, card) : NULL;
        char        la[200], lb[200];
        const char *labels[2] = {la, lb};
        int         rc;
        snprintf(la, sizeof(la), "A: %s", str(target(pilot, 0), "name"));
        snprintf(lb, sizeof(lb), "B: %s", str(target(pilot, 1), "name"));
        if (!card || !rb) {
                json_decref(card);
                return crmsync_err(errstr, errstr_size, "out of memory");
        }
        rc = write_file(dir, "report.md", pilot, card, rb, labels, errstr,
                        errstr_size) ||
             write_file(dir, "report.html", pilot, card, rb, labels, errstr,
                        errstr_size);
        json_decref(card);
        json_decref(rb);
        return rc ? -1 : 0;
}
