/* cmd_compare.c -- `crmsync compare A B [C...]`: runs or suites side by
 * side, and regressions against a baseline (reports/compare.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_opt.h"
#include "crmsync/compare.h"
#include "harness/jsonpos.h"

#define MAX_COLS 64

static const char intro[] =
    "Usage: crmsync compare [options] A B [C...]\n\n"
    "Puts runs (run folders) or suites (runs/suite-<id>/) side by side: "
    "verdict,\nevery anomaly class, freshness p50 p95 p99 p99_9 max (ms), "
    "convergence\n(whole run and per fault), catch-up, broker unavailability "
    "(s), replay and\ndrain rate (events/s), and each figure's ratio to the "
    "first column.\nSuites are matched run by run on the scenario name. "
    "Markdown to stdout.\n";
static const char epilog[] =
    "Exit codes: 0 no regression beyond a threshold, 1 a regression (each\n"
    "named on stderr), 2 bad input (missing folder, unreadable summary, "
    "bad\nthreshold).\n";

/* Thresholds from a JSON file: {"p99": "20%", "convergence": "5s"}; an
 * error names file:line:col. Returns the count or -1 (printed). */
static int thresholds_file(const char                       *path,
                           struct crmsync_compare_threshold *t, size_t max)
{
        FILE        *fp  = fopen(path, "r");
        char        *buf = NULL;
        size_t       len = 0, cap = 0, n = 0;
        json_error_t jerr;
        json_t      *o  = NULL, *v;
        jsonpos_t   *jp = NULL;
        const char  *k;
        int          ret = -1;

        if (!fp) {
                fprintf(stderr, "crmsync compare: %s: %m\n", path);
                return -1;
        }
        for (;;) {
                size_t r;
                if (len + 4096 > cap) {
                        char *nb = realloc(buf, cap = len + 65536);
                        if (!nb || cap > 16 * 1024 * 1024) {
                                free(nb ? nb : buf);
                                fclose(fp);
                                fprintf(stderr,
                                        "crmsync compare: %s: too large\n",
                                        path);
                                return -1;
                        }
                        buf = nb;
                }
                r = fread(buf + len, 1, cap - len, fp);
                len += r;
                if (r == 0)
                        break;
        }
        fclose(fp);
        o = json_loadb(buf, len, 0, &jerr);
        if (!o) {
                fprintf(stderr, "crmsync compare: %s:%d:%d: %s\n", path,
                        jerr.line, jerr.column, jerr.text);
                goto out;
        }
        if (!json_is_object(o)) {
                fprintf(stderr,
                        "crmsync compare: %s:1:1: expected an object "
                        "{\"p99\": \"20%%\", ...}\n",
                        path);
                goto out;
        }
        jp = crmsync_jsonpos_index(buf, len);
        json_object_foreach(o, k, v)
        {
                char val[64], why[300];
                int  line = 0, col = 0;
                if (json_is_string(v))
                        snprintf(val, sizeof(val), "%s", json_string_value(v));
                else if (json_is_number(v))
                        snprintf(val, sizeof(val), "%.17g",
                                 json_number_value(v));
                else
                        snprintf(val, sizeof(val), "(not a string)");
                if (n == max || crmsync_compare_threshold_parse(
                                    k, val, &t[n], why, sizeof(why))) {
                        if (n == max)
                                snprintf(why, sizeof(why),
                                         "more than %zu thresholds", max);
                        if (jp)
                                crmsync_jsonpos_find(jp, k, 0, &line, &col);
                        fprintf(stderr, "crmsync compare: %s:%d:%d: %s\n", path,
                                line, col, why);
                        goto out;
                }
                n++;
        }
        if (n == 0) {
                fprintf(stderr, "crmsync compare: %s:1:1: no thresholds\n",
                        path);
                goto out;
        }
        ret = (int)n;
out:
        crmsync_jsonpos_destroy(jp);
        json_decref(o);
        free(buf);
        return ret;
}

static int write_file(const char *path, const json_t *table,
                      const char *const *labels, size_t n, int html)
{
        FILE *fp = fopen(path, "w");
        if (!fp) {
                fprintf(stderr, "crmsync compare: %s: %m\n", path);
                return -1;
        }
        if (html)
                crmsync_compare_html(table, labels, n, fp);
        else
                crmsync_compare_markdown(table, labels, n, fp);
        if (fclose(fp)) {
                fprintf(stderr, "crmsync compare: %s: %m\n", path);
                return -1;
        }
        return 0;
}

/* A column's label: the folder's last path component. */
static const char *label_of(const char *path)
{
        static char buf[MAX_COLS][256];
        static int  next;
        char       *p   = buf[next++ % MAX_COLS];
        size_t      len = strlen(path);
        const char *b;
        while (len > 1 && path[len - 1] == '/')
                len--;
        snprintf(p, 256, "%.*s", (int)len, path);
        b = strrchr(p, '/');
        return b && b[1] ? b + 1 : p;
}

struct compare_opts {
        const char *baseline, *spec, *tfile, *html, *out;
        const char *paths[MAX_COLS]; /* the columns, the baseline first */
        size_t      n;
};

/* The options into o; the runs or suites to compare into o->paths.
 * Returns CLI_OK, CLI_HELP or CLI_ERROR. */
static int parse_options(int argc, char **argv, struct compare_opts *o,
                         char **operands)
{
        const struct cli_opt opts[] = {
            CLI_OPT("baseline", CLI_STR, &o->baseline, "A",
                    "A is the first column (added if not among the\n"
                    "arguments); thresholds apply against it"),
            CLI_OPT("max-regression", CLI_STR, &o->spec, "SPEC",
                    "FIGURE=LIMIT,...  e.g. p99=20%,convergence=5s,"
                    "replay=-15%\nLIMIT: N% of the baseline, or an amount "
                    "(5s, 500ms, 3);\npositive: the figure may rise by that "
                    "much, negative:\nit may fall by that much. FIGURE is a "
                    "figure or a\nfamily: p50 p95 p99 p99_9 max convergence "
                    "catch_up\nbroker_unavailable replay drain "
                    "anomalies[.CLASS]"),
            CLI_OPT("thresholds", CLI_STR, &o->tfile, "FILE",
                    "the same as a JSON object: {\"p99\": \"20%\", ...}"),
            CLI_OPT("html", CLI_STR, &o->html, "FILE",
                    "also write a self-contained HTML table"),
            CLI_OPT("out", CLI_STR, &o->out, "DIR",
                    "also write DIR/compare.md and DIR/compare.html"),
            CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"compare", intro, opts, epilog, -1};
        int                  nops, rc;

        if ((rc = crmsync_cli_parse(&cmd, argc, argv, operands, &nops)))
                return rc;
        if (o->spec && o->tfile) {
                fprintf(stderr, "crmsync compare: --max-regression and "
                                "--thresholds exclude each other\n");
                return CLI_ERROR;
        }
        if (o->baseline)
                o->paths[o->n++] = o->baseline;
        for (int i = 0; i < nops; i++) {
                if (o->n == MAX_COLS) {
                        fprintf(stderr,
                                "crmsync compare: more than %d columns\n",
                                MAX_COLS);
                        return CLI_ERROR;
                }
                /* The baseline is the first column, once: "--baseline A
                 * A B" compares A with B, "--baseline A A A" A with A. */
                if (o->baseline && i == 0 && !strcmp(operands[i], o->baseline))
                        continue;
                o->paths[o->n++] = operands[i];
        }
        if (o->n < 2) {
                fprintf(stderr, "crmsync compare: needs at least two runs "
                                "or suites to compare\n\n");
                crmsync_cli_usage(&cmd, stderr);
                return CLI_ERROR;
        }
        return CLI_OK;
}

/* --max-regression or --thresholds into thr. Returns their count, or -1
 * after an error. */
static int load_thresholds(const struct compare_opts        *o,
                           struct crmsync_compare_threshold *thr)
{
        char errstr[1024];
        int  nt = 0;

        if (o->spec) {
                nt = crmsync_compare_thresholds_parse(
                    o->spec, thr, CRMSYNC_COMPARE_MAX_THRESHOLDS, errstr,
                    sizeof(errstr));
                if (nt < 0)
                        fprintf(stderr,
                                "crmsync compare: --max-regression: %s\n",
                                errstr);
        } else if (o->tfile) {
                nt = thresholds_file(o->tfile, thr,
                                     CRMSYNC_COMPARE_MAX_THRESHOLDS);
        }
        return nt;
}

/* --html and --out. Returns 0, or 2 when a file could not be written. */
static int write_outputs(const struct compare_opts *o, const json_t *table,
                         const char **labels)
{
        char p[4096];
        int  rc = 0;

        if (o->html && write_file(o->html, table, labels, o->n, 1))
                rc = 2;
        if (!o->out)
                return rc;
        if (mkdir(o->out, 0755) && errno != EEXIST) {
                fprintf(stderr, "crmsync compare: %s: %m\n", o->out);
                return 2;
        }
        snprintf(p, sizeof(p), "%s/compare.md", o->out);
        if (write_file(p, table, labels, o->n, 0))
                rc = 2;
        snprintf(p, sizeof(p), "%s/compare.html", o->out);
        if (write_file(p, table, labels, o->n, 1))
                rc = 2;
        return rc;
}

int crmsync_cmd_compare(int argc, char **argv)
{
        struct crmsync_compare_threshold thr[CRMSYNC_COMPARE_MAX_THRESHOLDS];
        struct compare_opts              o = {0};
        const char                      *labels[MAX_COLS];
        char                             errstr[1024];
        int                              nt, rc = 0, regressions = 0;
        json_t                          *cols, *table;
        char **operands = calloc((size_t)argc + 1, sizeof(*operands));
        size_t n;

        if (!operands) {
                fprintf(stderr, "crmsync compare: out of memory\n");
                return 2;
        }
        rc = parse_options(argc, argv, &o, operands);
        free(operands); /* o.paths point into argv */
        if (rc)
                return rc == CLI_HELP ? 0 : 2;
        if ((nt = load_thresholds(&o, thr)) < 0)
                return 2;
        n    = o.n;
        cols = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *col =
                    crmsync_compare_load(o.paths[i], errstr, sizeof(errstr));
                if (!col) {
                        fprintf(stderr, "crmsync compare: %s\n", errstr);
                        json_decref(cols);
                        return 2;
                }
                json_array_append_new(cols, col);
                labels[i] = label_of(o.paths[i]);
        }
        table = crmsync_compare_table(cols);
        json_decref(cols);
        if (!table) {
                fprintf(stderr, "crmsync compare: out of memory\n");
                return 2;
        }
        crmsync_compare_markdown(table, labels, n, stdout);
        fflush(stdout);
        rc = write_outputs(&o, table, labels);
        for (size_t i = 1; i < n && nt > 0; i++) {
                int r = crmsync_compare_regressions(table, i, thr, (size_t)nt,
                                                    stderr);
                if (r)
                        fprintf(stderr,
                                "crmsync compare: %s regressed against %s "
                                "on %d figure(s)\n",
                                labels[i], labels[0], r);
                regressions += r;
        }
        json_decref(table);
        if (rc)
                return rc;
        return regressions ? 1 : 0;
}
