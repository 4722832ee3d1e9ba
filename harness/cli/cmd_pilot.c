/* cmd_pilot.c -- `crmsync pilot --target A --target B [SCENARIO|DIR]...`:
 * the pilot scenarios on two targets and the scorecard (harness/pilot.c). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "harness/pilot.h"

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync pilot --target A.json --target B.json "
                "[options] [SCENARIO|DIR]...\n\n"
                "Evaluate two Kafka-compatible clusters side by side: probe "
                "each target\n(crmsync probe), run the pilot scenarios "
                "(default scenarios/pilot) on each\nwith the same seed, "
                "workload and faults, and write runs/pilot-<id>/ with\n"
                "report.md and report.html: the scorecard (Compatibility, "
                "Elasticity, Cost,\nGovernance, Recovery, Migration; A, B, "
                "B/A, which is better, links to the\nrun folders) and a "
                "runbook.\n\n"
                "Options:\n"
                "  --target FILE      a target file (docs/targets.md); give "
                "it twice: A, then B\n"
                "  --shadow           also run shadow mode: one CRM stream "
                "to both pipelines at\n"
                "                     once, each sink judged, the two sinks "
                "compared record by\n"
                "                     record (the Migration line)\n"
                "  --bug NAME         shadow mode: run B's pipeline with "
                "this bug switch (a\n"
                "                     planted difference; repeatable)\n"
                "  --runs-dir DIR     where pilot-<id>/ goes (default runs)\n"
                "  --timeout S        give up each run after S seconds\n"
                "  --jobs N           run N of a target's scenarios at a "
                "time (default 1:\n"
                "                     one at a time, for figures to "
                "compare; more is faster\n"
                "                     and noisier; an external target runs "
                "one at a time)\n"
                "  --probe-timeout-ms N  bound on each probe step (default "
                "5000)\n"
                "  --capacity-file FILE  the Cost line: the capacity model "
                "(docs/capacity.md) for\n"
                "                     each target, with this file's "
                "prices and cluster shape\n"
                "                     and the load measured on that "
                "target's runs\n"
                "  --quiet            no progress lines\n\n"
                "Exit codes: 0 every run passed on both targets (and the "
                "shadow sinks agree),\n1 a run failed or the sinks diverged, "
                "2 bad input or an unreachable target.\n");
}

static int bad(const char *what, const char *arg)
{
        fprintf(stderr, "crmsync pilot: %s: '%s'\n", what, arg);
        return 2;
}

int crmsync_cmd_pilot(int argc, char **argv)
{
        static const struct option opts[] = {
            {"target", required_argument, NULL, 'T'},
            {"shadow", no_argument, NULL, 's'},
            {"bug", required_argument, NULL, 'b'},
            {"runs-dir", required_argument, NULL, 'r'},
            {"timeout", required_argument, NULL, 't'},
            {"jobs", required_argument, NULL, 'j'},
            {"probe-timeout-ms", required_argument, NULL, 'p'},
            {"quiet", no_argument, NULL, 'q'},
            {"capacity-file", required_argument, NULL, 'C'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        struct pilot_options opt = {
            .runs_dir = "runs", .probe_timeout_ms = 5000, .progress = stdout};
        char     self[PATH_MAX], dir[PATH_MAX], errstr[2048], bugs[512] = "";
        char    *def[] = {"scenarios/pilot"};
        uint64_t u;
        int      c, nt = 0, rc;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'T':
                        if (nt == 2)
                                return bad("--target given more than twice",
                                           optarg);
                        opt.targets[nt++] = optarg;
                        break;
                case 's':
                        opt.shadow = 1;
                        break;
                case 'b':
                        if (!crmsync_bug_parse(optarg))
                                return bad("--bug: no such bug switch", optarg);
                        snprintf(bugs + strlen(bugs),
                                 sizeof(bugs) - strlen(bugs), "%s%s",
                                 *bugs ? "," : "", optarg);
                        break;
                case 'r':
                        opt.runs_dir = optarg;
                        break;
                case 't':
                        if (crmsync_parse_u64(optarg, 1, 86400, &u))
                                return bad("--timeout: seconds in [1, 86400]",
                                           optarg);
                        opt.timeout_s = (double)u;
                        break;
                case 'j':
                        if (crmsync_parse_u64(optarg, 1, 16, &u))
                                return bad("--jobs: in [1, 16]", optarg);
                        opt.jobs = (int)u;
                        break;
                case 'p':
                        if (crmsync_parse_u64(optarg, 100, 600000, &u))
                                return bad("--probe-timeout-ms: in [100, "
                                           "600000]",
                                           optarg);
                        opt.probe_timeout_ms = (int)u;
                        break;
                case 'q':
                        opt.progress = NULL;
                        break;
                case 'C':
                        opt.capacity_file = optarg;
                        break;
                default:
                        usage(c == 'h' ? stdout : stderr);
                        return c == 'h' ? 0 : 2;
                }
        }
        if (nt != 2) {
                fprintf(stderr, "crmsync pilot: give --target twice (A and "
                                "B)\n\n");
                usage(stderr);
                return 2;
        }
        if (*bugs && !opt.shadow)
                return bad("--bug applies to shadow mode: add --shadow", bugs);
        opt.shadow_bugs_b = *bugs ? bugs : NULL;
        {
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                if (n <= 0)
                        return bad("cannot find this binary", "/proc/self/exe");
                self[n]      = '\0';
                opt.self_exe = self;
        }
        dir[0] = '\0';
        rc     = optind < argc
                     ? crmsync_pilot_run(argc - optind, argv + optind, &opt, dir,
                                         sizeof(dir), errstr, sizeof(errstr))
                     : crmsync_pilot_run(1, def, &opt, dir, sizeof(dir), errstr,
                                         sizeof(errstr));
        if (*errstr)
                fprintf(stderr, "crmsync pilot: %s\n", errstr);
        if (*dir && rc != 2)
                printf("pilot %s: %s/report.md (also report.html, "
                       "pilot.json)\n",
                       rc == 0 ? "PASS" : "FAIL", dir);
        return rc;
}
