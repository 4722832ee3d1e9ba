/* cmd_capacity.c -- `crmsync capacity SCENARIO [options]`: rate to the
 * SLO, catch-up after downtime, replay against history, retention and
 * cost (harness/capacity.c), reported by reports/capacity_report.c. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opt.h"
#include "crmsync/capacity_report.h"
#include "harness/capacity.h"
#include "harness/interrupt.h"

static const char intro[] =
    "Usage: crmsync capacity SCENARIO [options]\n\n"
    "Runs sweeps of SCENARIO, one child `crmsync run` per point, and "
    "writes\nruns/capacity-<id>/ with capacity.json, report.md and "
    "report.html\n(docs/capacity.md gives every formula).\n";
static const char epilog[] =
    "Exit codes: 0 every point measured, 1 some skipped (budget) or "
    "failed, 2 bad\nusage or input, 130 interrupted.\n";

#define LIST_WHY "positive numbers, comma separated (at most 16)"

/* "1,2.5,3" into v (at most max). Returns the count or -1. */
static int parse_list(const char *s, double *v, int max)
{
        int n = 0;
        while (*s) {
                char *end;
                if (n == max)
                        return -1;
                v[n] = strtod(s, &end);
                if (end == s || !(v[n] > 0) || !isfinite(v[n]))
                        return -1;
                n++;
                s = end;
                if (*s == ',')
                        s++;
                else if (*s)
                        return -1;
        }
        return n ? n : -1;
}

/* A list option's destination: the array and its count. */
struct num_list {
        double *v;
        int    *cnt;
};

/* CLI_CALL parser of --rates, --downtime-s and --history. */
static int parse_list_opt(void *dest, const char *v, char *why, size_t n)
{
        struct num_list *l = dest;

        *l->cnt = parse_list(v, l->v, CAPACITY_MAX_POINTS);
        if (*l->cnt >= 0)
                return 0;
        snprintf(why, n, "%s", LIST_WHY);
        return -1;
}

/* --production rate_per_s=R,days=D (CLI_CALL). */
static int parse_production(void *dest, const char *s, char *why, size_t n)
{
        struct capacity_options *o = dest;
        char                     buf[128], *tok, *save = NULL;

        snprintf(why, n, "rate_per_s=R,days=D with positive numbers");
        snprintf(buf, sizeof(buf), "%s", s);
        for (tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
                char  *eq = strchr(tok, '='), *end;
                double v;
                if (!eq)
                        return -1;
                *eq = '\0';
                v   = strtod(eq + 1, &end);
                if (*end || !(v > 0))
                        return -1;
                if (!strcmp(tok, "rate_per_s"))
                        o->prod_rate_per_s = v;
                else if (!strcmp(tok, "days"))
                        o->prod_days = v;
                else
                        return -1;
        }
        return o->prod_rate_per_s > 0 && o->prod_days > 0 ? 0 : -1;
}

static int bad(const char *what)
{
        fprintf(stderr, "crmsync capacity: %s\n", what);
        return 2;
}

/* A number of unit u in (0, max] (CLI_DOUBLE above 0). */
#define POSITIVE(u, max_) .unit = (u), .above = 1, .min = 0, .max = (max_)

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct capacity_options *o)
{
        int                  no_preload = 0, nops = 0, rc;
        char                *ops[1];
        struct num_list      rates  = {o->rates, &o->rate_cnt};
        struct num_list      downs  = {o->down_s, &o->down_cnt};
        struct num_list      hists  = {o->history, &o->history_cnt};
        const struct cli_opt opts[] = {
            CLI_HEAD("Rate to the SLO"),
            CLI_OPT("rates", CLI_CALL, &rates, "R1,R2,...",
                    "steady-state runs at these changes/s: freshness\n"
                    "p50/p95/p99 (warm-up excluded), peak lag, applies/s\n"
                    "(at most 16)",
                    .call = parse_list_opt),
            CLI_OPT("run-s", CLI_DOUBLE, &o->run_s, "S",
                    "each rate run's workload lasts S s\n(default 8)",
                    POSITIVE("s", 86400)),
            CLI_OPT("slo-p99-ms", CLI_DOUBLE, &o->slo_p99_ms, "X",
                    "the SLO on steady-state freshness p99",
                    POSITIVE("ms", 86400000)),
            CLI_OPT("find-max", CLI_FLAG, &o->find_max, NULL,
                    "bisect between a passing and a failing rate"),
            CLI_OPT("search-runs", CLI_INT, &o->search_runs, "N",
                    "at most N runs for --find-max (default 4)", .lo = 1,
                    .hi = 64),
            CLI_HEAD("Catch-up"),
            CLI_OPT("downtime-s", CLI_CALL, &downs, "D1,D2",
                    "stop the pipeline (SIGSTOP) for D s each",
                    .call = parse_list_opt),
            CLI_OPT("catch-up-rate", CLI_DOUBLE, &o->catch_up_rate, "R",
                    "at R changes/s (default: the middle rate)",
                    POSITIVE("/s", 1e7)),
            CLI_OPT("stop", CLI_CHOICE, &o->stop, "WHAT",
                    "what to stop (connector)",
                    .choices = "connector|profiler|both"),
            CLI_HEAD("Replay against history"),
            CLI_OPT("history", CLI_CALL, &hists, "N1,N2,...",
                    "replay histories of N changes (pipeline and broker\n"
                    "level), fitted to a line",
                    .call = parse_list_opt),
            CLI_OPT("no-preload", CLI_FLAG, &no_preload, NULL,
                    "build each history through the pipeline instead of\n"
                    "producing it straight to the topic"),
            CLI_OPT("production", CLI_CALL, o, "rate_per_s=R,days=D",
                    "extrapolate replay time and retention",
                    .call = parse_production),
            CLI_HEAD("Cost"),
            CLI_OPT("capacity-file", CLI_STR, &o->capacity_file, "FILE",
                    "replication, zones, retention and YOUR prices"),
            CLI_OPT("rf", CLI_INT, &o->rf, "N",
                    "replication factor without a capacity file (3)", .lo = 1,
                    .hi = 64),
            CLI_HEAD("General"),
            CLI_OPT("budget-s", CLI_DOUBLE, &o->budget_s, "S",
                    "skip the points that would not finish within\nS s",
                    POSITIVE("s", 1e9)),
            CLI_OPT("runs-dir", CLI_STR, &o->runs_dir, "DIR",
                    "where the capacity folder goes (default: runs)"),
            CLI_OPT("quiet", CLI_FLAG, &o->quiet, NULL, "no progress lines"),
            CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"capacity", intro, opts, epilog, 1};

        if ((rc = crmsync_cli_parse(&cmd, argc, argv, ops, &nops)))
                return rc == CLI_HELP ? 0 : 2;
        if (no_preload)
                o->preload = 0;
        if (nops != 1) {
                crmsync_cli_usage(&cmd, stderr);
                return bad("expected one scenario file");
        }
        if (o->find_max && !(o->slo_p99_ms > 0))
                return bad("--find-max needs --slo-p99-ms");
        if (o->find_max && !o->rate_cnt)
                return bad("--find-max needs --rates to start from");
        if (!o->rate_cnt && !o->down_cnt && !o->history_cnt)
                return bad("nothing to measure: give --rates, --downtime-s "
                           "or --history");
        o->scenario = ops[0];
        return -1; /* go on */
}

int crmsync_cmd_capacity(int argc, char **argv)
{
        struct capacity_options o = {.runs_dir    = "runs",
                                     .run_s       = 8,
                                     .search_runs = 4,
                                     .preload     = 1,
                                     .rf          = 3,
                                     .stop        = "connector"};
        char                    self[4096], dir[600], errstr[1024];
        json_t                 *res = NULL;
        ssize_t                 n;
        int                     rc;

        crmsync_interrupt_install();
        if ((rc = parse_args(argc, argv, &o)) >= 0)
                return rc;
        if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
                return bad("cannot find my own binary");
        self[n]    = '\0';
        o.self_exe = self;
        signal(SIGPIPE, SIG_IGN);
        rc = crmsync_capacity(&o, dir, sizeof(dir), &res, errstr,
                              sizeof(errstr));
        if (rc == 2) {
                fprintf(stderr, "crmsync capacity: %s\n", errstr);
                return 2;
        }
        if (crmsync_capacity_report_write(res, dir, errstr, sizeof(errstr))) {
                fprintf(stderr, "crmsync capacity: %s\n", errstr);
                json_decref(res);
                return 2;
        }
        printf("capacity   %s/report.md (also report.html, capacity.json)\n",
               dir);
        json_decref(res);
        return rc;
}
