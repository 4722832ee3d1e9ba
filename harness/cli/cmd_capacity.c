/* cmd_capacity.c -- `crmsync capacity SCENARIO [options]`: rate to the
 * SLO, catch-up after downtime, replay against history, retention and
 * cost (harness/capacity.c), reported by reports/capacity_report.c. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crmsync/capacity_report.h"
#include "harness/capacity.h"
#include "harness/interrupt.h"

static void usage(FILE *fp)
{
        fprintf(
            fp,
            "Usage: crmsync capacity SCENARIO [options]\n\n"
            "Runs sweeps of SCENARIO, one child `crmsync run` per point, and "
            "writes\nruns/capacity-<id>/ with capacity.json, report.md and "
            "report.html\n(docs/capacity.md gives every formula).\n\n"
            "Rate to the SLO:\n"
            "  --rates R1,R2,...     steady-state runs at these changes/s: "
            "freshness\n"
            "                        p50/p95/p99 (warm-up excluded), peak "
            "lag, applies/s\n"
            "  --run-s S             each rate run's workload lasts S s "
            "(default 8)\n"
            "  --slo-p99-ms X        the SLO on steady-state freshness p99\n"
            "  --find-max            bisect between a passing and a failing "
            "rate\n"
            "  --search-runs N       at most N runs for --find-max (default "
            "4)\n"
            "Catch-up:\n"
            "  --downtime-s D1,D2    stop the pipeline (SIGSTOP) for D s "
            "each\n"
            "  --catch-up-rate R     at R changes/s (default: the middle "
            "rate)\n"
            "  --stop WHAT           connector (default), profiler or "
            "both\n"
            "Replay against history:\n"
            "  --history N1,N2,...   replay histories of N changes "
            "(pipeline and broker\n"
            "                        level), fitted to a line\n"
            "  --no-preload          build each history through the "
            "pipeline instead of\n"
            "                        producing it straight to the topic\n"
            "  --production rate_per_s=R,days=D  extrapolate replay time "
            "and retention\n"
            "Cost:\n"
            "  --capacity-file FILE  replication, zones, retention and YOUR "
            "prices\n"
            "  --rf N                replication factor without a capacity "
            "file (3)\n"
            "General:\n"
            "  --budget-s S          skip the points that would not finish "
            "within S s\n"
            "  --runs-dir DIR        where the capacity folder goes "
            "(default: runs)\n"
            "  --quiet               no progress lines\n\n"
            "Exit codes: 0 every point measured, 1 some skipped (budget) or "
            "failed, 2 bad\nusage or input, 130 interrupted.\n");
}

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

static int parse_production(const char *s, struct capacity_options *o)
{
        char buf[128], *tok, *save = NULL;
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

static int parse_args(int argc, char **argv, struct capacity_options *o)
{
        static const struct option longopts[] = {
            {"rates", required_argument, NULL, 'r'},
            {"run-s", required_argument, NULL, 'R'},
            {"slo-p99-ms", required_argument, NULL, 's'},
            {"find-max", no_argument, NULL, 'm'},
            {"search-runs", required_argument, NULL, 'n'},
            {"downtime-s", required_argument, NULL, 'd'},
            {"catch-up-rate", required_argument, NULL, 'c'},
            {"stop", required_argument, NULL, 'S'},
            {"history", required_argument, NULL, 'H'},
            {"no-preload", no_argument, NULL, 'P'},
            {"production", required_argument, NULL, 'p'},
            {"capacity-file", required_argument, NULL, 'f'},
            {"rf", required_argument, NULL, 'F'},
            {"budget-s", required_argument, NULL, 'b'},
            {"runs-dir", required_argument, NULL, 'D'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                double v = optarg ? strtod(optarg, NULL) : 0;
                switch (c) {
                case 'r':
                        if ((o->rate_cnt = parse_list(optarg, o->rates,
                                                      CAPACITY_MAX_POINTS)) < 0)
                                return bad("--rates: positive numbers, "
                                           "comma separated (at most 16)");
                        break;
                case 'd':
                        if ((o->down_cnt = parse_list(optarg, o->down_s,
                                                      CAPACITY_MAX_POINTS)) < 0)
                                return bad("--downtime-s: positive numbers, "
                                           "comma separated (at most 16)");
                        break;
                case 'H':
                        if ((o->history_cnt = parse_list(
                                 optarg, o->history, CAPACITY_MAX_POINTS)) < 0)
                                return bad("--history: positive numbers, "
                                           "comma separated (at most 16)");
                        break;
                case 'R':
                case 's':
                case 'c':
                case 'b':
                        if (!(v > 0) || !isfinite(v))
                                return bad("--run-s, --slo-p99-ms, "
                                           "--catch-up-rate and --budget-s "
                                           "need a positive number");
                        *(c == 'R'   ? &o->run_s
                          : c == 's' ? &o->slo_p99_ms
                          : c == 'c' ? &o->catch_up_rate
                                     : &o->budget_s) = v;
                        break;
                case 'n':
                case 'F':
                        if (v < 1 || v > 64 || v != floor(v))
                                return bad("--search-runs and --rf need a "
                                           "whole number from 1 to 64");
                        *(c == 'n' ? &o->search_runs : &o->rf) = (int)v;
                        break;
                case 'm':
                        o->find_max = 1;
                        break;
                case 'S':
                        if (strcmp(optarg, "connector") &&
                            strcmp(optarg, "profiler") &&
                            strcmp(optarg, "both"))
                                return bad("--stop: connector, profiler or "
                                           "both");
                        o->stop = optarg;
                        break;
                case 'P':
                        o->preload = 0;
                        break;
                case 'p':
                        if (parse_production(optarg, o))
                                return bad("--production: "
                                           "rate_per_s=R,days=D with "
                                           "positive numbers");
                        break;
                case 'f':
                        o->capacity_file = optarg;
                        break;
                case 'D':
                        o->runs_dir = optarg;
                        break;
                case 'q':
                        o->quiet = 1;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc - 1) {
                usage(stderr);
                return bad("expected one scenario file");
        }
        if (o->find_max && !(o->slo_p99_ms > 0))
                return bad("--find-max needs --slo-p99-ms");
        if (o->find_max && !o->rate_cnt)
                return bad("--find-max needs --rates to start from");
        if (!o->rate_cnt && !o->down_cnt && !o->history_cnt)
                return bad("nothing to measure: give --rates, --downtime-s "
                           "or --history");
        o->scenario = argv[optind];
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
