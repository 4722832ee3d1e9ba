/* cmd_pilot.c -- `crmsync pilot --target A --target B [SCENARIO|DIR]...`:
 * the pilot scenarios on two targets and the scorecard (harness/pilot.c). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opt.h"
#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "harness/pilot.h"

static const char intro[] =
    "Usage: crmsync pilot --target A.json --target B.json [options] "
    "[SCENARIO|DIR]...\n\n"
    "Evaluate two Kafka-compatible clusters side by side: probe each "
    "target\n(crmsync probe), run the pilot scenarios (default "
    "scenarios/pilot) on each\nwith the same seed, workload and faults, and "
    "write runs/pilot-<id>/ with\nreport.md and report.html: the scorecard "
    "(Compatibility, Elasticity, Cost,\nGovernance, Recovery, Migration; A, "
    "B, B/A, which is better, links to the\nrun folders) and a runbook.\n";
static const char epilog[] =
    "Exit codes: 0 every run passed on both targets (and the shadow sinks "
    "agree),\n1 a run failed or the sinks diverged, 2 bad input or an "
    "unreachable target.\n";

static int bad(const char *what, const char *arg)
{
        fprintf(stderr, "crmsync pilot: %s: '%s'\n", what, arg);
        return 2;
}

/* --target (CLI_CALL): A, then B. */
static int add_target(void *dest, const char *v, char *why, size_t n)
{
        struct pilot_options *opt = dest;
        int                   i   = opt->targets[0] ? 1 : 0;

        if (opt->targets[i]) {
                snprintf(why, n, "given more than twice");
                return -1;
        }
        opt->targets[i] = v;
        return 0;
}

#define BUGS_SIZE 512

/* --bug (CLI_CALL): appended to the "name,name" list in dest. */
static int add_bug(void *dest, const char *v, char *why, size_t n)
{
        char  *bugs = dest;
        size_t len  = strlen(bugs);

        if (!crmsync_bug_parse(v)) {
                snprintf(why, n, "no such bug switch; known: %s",
                         crmsync_bug_names());
                return -1;
        }
        snprintf(bugs + len, BUGS_SIZE - len, "%s%s", len ? "," : "", v);
        return 0;
}

/* The options into opt, the scenarios into paths/path_cnt. Returns -1 to
 * go on, else the exit code. */
static int parse_args(int argc, char **argv, struct pilot_options *opt,
                      char *bugs, char **paths, int *path_cnt)
{
        uint32_t             timeout = 0;
        int                  quiet   = 0, rc;
        const struct cli_opt opts[]  = {
             CLI_OPT("target", CLI_CALL, opt, "FILE",
                     "a target file (docs/targets.md); give it twice:\nA, "
                      "then B",
                     .call = add_target),
             CLI_OPT("shadow", CLI_FLAG, &opt->shadow, NULL,
                     "also run shadow mode: one CRM stream to both\npipelines "
                      "at once, each sink judged, the two\nsinks compared "
                      "record by record (the Migration\nline)"),
             CLI_OPT("bug", CLI_CALL, bugs, "NAME",
                     "shadow mode: run B's pipeline with this bug switch (a\n"
                      "planted difference; repeatable)",
                     .call = add_bug),
             CLI_OPT("runs-dir", CLI_STR, &opt->runs_dir, "DIR",
                     "where pilot-<id>/ goes (default runs)"),
             CLI_OPT("timeout", CLI_U32, &timeout, "S",
                     "give up each run after S seconds", .unit = "s", .lo = 1,
                     .hi = 86400),
             CLI_OPT("jobs", CLI_INT, &opt->jobs, "N",
                     "run N of a target's scenarios at a time (default 1:\n"
                      "one at a time, for figures to compare; more is\n"
                      "faster and noisier; an external target runs one at\n"
                      "a time)",
                     .lo = 1, .hi = 16),
             CLI_OPT("probe-timeout-ms", CLI_INT, &opt->probe_timeout_ms, "N",
                     "bound on each probe step (5000)", .unit = "ms", .lo = 100,
                     .hi = 600000),
             CLI_OPT("capacity-file", CLI_STR, &opt->capacity_file, "FILE",
                     "the Cost line: the capacity model (docs/capacity.md)\n"
                      "for each target, with this file's prices and cluster\n"
                      "shape and the load measured on that target's runs"),
             CLI_OPT("quiet", CLI_FLAG, &quiet, NULL, "no progress lines"),
             CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"pilot", intro, opts, epilog, -1};

        if ((rc = crmsync_cli_parse(&cmd, argc, argv, paths, path_cnt)))
                return rc == CLI_HELP ? 0 : 2;
        if (timeout)
                opt->timeout_s = (double)timeout;
        if (quiet)
                opt->progress = NULL;
        if (!opt->targets[1]) {
                fprintf(stderr, "crmsync pilot: give --target twice (A and "
                                "B)\n\n");
                crmsync_cli_usage(&cmd, stderr);
                return 2;
        }
        if (*bugs && !opt->shadow)
                return bad("--bug applies to shadow mode: add --shadow", bugs);
        opt->shadow_bugs_b = *bugs ? bugs : NULL;
        return -1;
}

int crmsync_cmd_pilot(int argc, char **argv)
{
        struct pilot_options opt = {
            .runs_dir = "runs", .probe_timeout_ms = 5000, .progress = stdout};
        char  self[PATH_MAX], dir[PATH_MAX], errstr[2048], bugs[BUGS_SIZE] = "";
        char *def[]   = {"scenarios/pilot"};
        char **paths  = calloc((size_t)argc + 1, sizeof(*paths));
        int    npaths = 0, rc;

        if (!paths) {
                fprintf(stderr, "crmsync pilot: out of memory\n");
                return 2;
        }
        if ((rc = parse_args(argc, argv, &opt, bugs, paths, &npaths)) >= 0)
                goto out;
        {
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                if (n <= 0) {
                        rc = bad("cannot find this binary", "/proc/self/exe");
                        goto out;
                }
                self[n]      = '\0';
                opt.self_exe = self;
        }
        dir[0]    = '\0';
        errstr[0] = '\0';
        rc = npaths ? crmsync_pilot_run(npaths, paths, &opt, dir, sizeof(dir),
                                        errstr, sizeof(errstr))
                    : crmsync_pilot_run(1, def, &opt, dir, sizeof(dir), errstr,
                                        sizeof(errstr));
        if (*errstr)
                fprintf(stderr, "crmsync pilot: %s\n", errstr);
        if (*dir && rc != 2)
                printf("pilot %s: %s/report.md (also report.html, "
                       "pilot.json)\n",
                       rc == 0 ? "PASS" : "FAIL", dir);
out:
        free(paths);
        return rc;
}
