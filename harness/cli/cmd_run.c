/* cmd_run.c -- `crmsync run SCENARIO`: one scenario end to end; `crmsync
 * run DIR|FILE...`: a suite of them (suite.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crmsync/common.h"
#include "crmsync/report.h"
#include "harness/interrupt.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "harness/suite.h"
#include "harness/supervisor.h"

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync run SCENARIO.json [options]\n"
                "       crmsync run DIR|FILE... [--jobs N] [--filter PATTERN] "
                "[options]\n\n"
                "Start the embedded broker, mock CRM and sink, run the "
                "pipeline under the\nscenario's fault timeline, wait for "
                "convergence and judge the result.\nWrites runs/<run-id>/"
                "{summary.json,junit.xml,report.md,history.jsonl,*.log}.\n\n"
                "A folder (its *.json in name order, not its subfolders) or "
                "several files run\nas a suite: every scenario is validated "
                "first, then each runs as its own\n`crmsync run` with its "
                "own run folder, and runs/suite-<id>/ gets junit.xml,\n"
                "summary.json, index.html (and mutation-matrix.md when "
                "scenarios set bug\nswitches). One line per finished "
                "scenario: \"[k/N] name ... PASS\".\n\n"
                "Options:\n"
                "  --jobs N         suite: run N scenarios at a time "
                "(default 1); scenarios\n"
                "                   on an external target still run one at "
                "a time\n"
                "  --filter PATTERN suite: only scenario files whose name "
                "matches (a glob\n"
                "                   with * ? [ ], else a substring)\n"
                "  --runs-dir DIR   where run folders go (default: runs)\n"
                "  --timeout S      give up after S seconds (default: the "
                "scenario's,\n"
                "                   or workload + faults + 120 s)\n"
                "  --quiet          nothing on stderr but errors\n"
                "  --progress-every S\n"
                "                   status line period (default: 2 s, "
                "updated in place,\n"
                "                   on a terminal; 5 s otherwise)\n"
                "  --compress-history\n"
                "                   write history.jsonl.gz (gzip, about 30 "
                "bytes a change)\n"
                "                   instead of history.jsonl; trace reads "
                "either\n"
                "  --preload        produce the workload straight to the "
                "topic in the\n"
                "                   connector's envelope, then judge the "
                "scenario's replay\n"
                "                   of it (crmsync capacity --history; "
                "docs/capacity.md)\n"
                "  --no-record      benchmarks only: the judge records "
                "nothing (no topic\n"
                "                   auditor, probes or history checks); "
                "the verdict is the\n"
                "                   end state alone (bench/"
                "bench_overhead.sh)\n"
                "  --keep           postgres sink: keep the throwaway "
                "server's data\n"
                "                   directory (the server is stopped "
                "all the same)\n"
                "  -h, --help       this help\n\n"
                "Exit codes: 0 every expectation met (a suite: every "
                "scenario passed), 1 an\nexpectation failed (a suite: a "
                "scenario failed or could not be set up), 2 bad\nusage, "
                "bad scenario (a suite: any of them, before anything runs) "
                "or the run\ncould not be set up, 130 interrupted (Ctrl-C; "
                "143 for SIGTERM): verdict\n\"interrupted\", nothing judged. "
                "A second Ctrl-C kills the pipeline at once.\n"
                "A scenario with expect.verdict \"fail\" passes when its run "
                "fails in the\nexpected way (docs/scenario-format.md).\n");
}

/* The path of this binary (each suite run and pipeline process is a child
 * of it), or NULL. */
static const char *self_exe(char *buf, size_t size)
{
        ssize_t n = readlink("/proc/self/exe", buf, size - 1);
        if (n <= 0)
                return NULL;
        buf[n] = '\0';
        return buf;
}

/* `crmsync run DIR|FILE...`: validate every scenario, then run the suite. */
static int run_suite(int argc, char **argv, const char *filter, int jobs,
                     const struct run_options *ro)
{
        struct suite_options opt = {.runs_dir         = ro->runs_dir,
                                    .jobs             = jobs,
                                    .timeout_s        = ro->timeout_s,
                                    .progress         = stdout,
                                    .compress_history = ro->compress_history,
                                    .quiet            = ro->quiet,
                                    .status_s         = ro->progress_s};
        suite_t             *s;
        json_t              *summary = NULL;
        char                 errstr[1024], self[4096];
        int                  bad, rc;

        if (!(s = crmsync_suite_new(argc, argv, filter, errstr,
                                    sizeof(errstr)))) {
                fprintf(stderr, "crmsync run: %s\n", errstr);
                return 2;
        }
        if ((bad = crmsync_suite_validate(s, ro->timeout_s, stderr))) {
                fprintf(stderr,
                        "crmsync run: %d of %zu scenarios are invalid; "
                        "nothing was run\n",
                        bad, crmsync_suite_size(s));
                crmsync_suite_destroy(s);
                return 2;
        }
        if (!(opt.self_exe = self_exe(self, sizeof(self)))) {
                fprintf(stderr, "crmsync run: cannot find my own binary\n");
                crmsync_suite_destroy(s);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        rc = crmsync_suite_run(s, &opt, &summary, errstr, sizeof(errstr));
        if (!summary)
                fprintf(stderr, "crmsync run: %s\n", errstr);
        else
                printf(
                    "\n== crmsync suite: %s ==  %lld of %lld scenarios "
                    "passed\nreport     %s/index.html (also summary.json, "
                    "junit.xml)\n",
                    rc == 0   ? "PASS"
                    : rc == 1 ? "FAIL"
                              : "INTERRUPTED",
                    (long long)json_integer_value(json_object_get(
                        json_object_get(summary, "counts"), "passed")),
                    (long long)json_integer_value(json_object_get(
                        json_object_get(summary, "counts"), "scenarios")),
                    json_string_value(json_object_get(summary, "suite_dir")));
        json_decref(summary);
        crmsync_suite_destroy(s);
        return rc;
}

int crmsync_cmd_run(int argc, char **argv)
{
        static const struct option longopts[] = {
            {"runs-dir", required_argument, NULL, 'd'},
            {"timeout", required_argument, NULL, 't'},
            {"quiet", no_argument, NULL, 'q'},
            {"progress-every", required_argument, NULL, 'p'},
            {"no-record", no_argument, NULL, 'n'},
            {"preload", no_argument, NULL, 'P'},
            {"compress-history", no_argument, NULL, 'z'},
            {"keep", no_argument, NULL, 'k'},
            {"jobs", required_argument, NULL, 'j'},
            {"filter", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        struct run_options opt = {.runs_dir = "runs"};
        struct scenario   *sc;
        struct stat        st;
        json_t            *summary = NULL;
        char               errstr[1024], self[4096];
        const char        *filter = NULL;
        uint64_t           jobs   = 1;
        int                c, rc;

        /* First thing: a Ctrl-C from now on ends in a summary that says
         * the run was interrupted, never in a silent death. */
        crmsync_interrupt_install();
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case 'd':
                        opt.runs_dir = optarg;
                        break;
                case 't':
                        opt.timeout_s = strtod(optarg, NULL);
                        if (opt.timeout_s <= 0) {
                                fprintf(stderr, "crmsync run: --timeout "
                                                "needs a positive number\n");
                                return 2;
                        }
                        break;
                case 'q':
                        opt.quiet = 1;
                        break;
                case 'n':
                        opt.no_record = 1;
                        break;
                case 'P':
                        opt.preload = 1;
                        break;
                case 'z':
                        opt.compress_history = 1;
                        break;
                case 'k':
                        opt.keep = 1;
                        break;
                case 'p':
                        opt.progress_s = strtod(optarg, NULL);
                        if (opt.progress_s <= 0) {
                                fprintf(stderr, "crmsync run: "
                                                "--progress-every needs a "
                                                "positive number\n");
                                return 2;
                        }
                        break;
                case 'j':
                        if (crmsync_parse_u64(optarg, 1, 64, &jobs)) {
                                fprintf(stderr, "crmsync run: --jobs needs "
                                                "a number from 1 to 64\n");
                                return 2;
                        }
                        break;
                case 'f':
                        filter = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "crmsync run: expected a scenario file or "
                                "folder\n\n");
                usage(stderr);
                return 2;
        }
        /* A folder, several files or a --filter: a suite. One file: one
         * run, its output and run folder as always. */
        if (optind < argc - 1 || filter ||
            (stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode)))
                return run_suite(argc - optind, argv + optind, filter,
                                 (int)jobs, &opt);
        if (!(sc = crmsync_scenario_load(argv[optind], errstr,
                                         sizeof(errstr)))) {
                fprintf(stderr, "crmsync run: %s\n", errstr);
                return 2;
        }
        if (opt.timeout_s > 0 &&
            crmsync_scenario_check_timeout(sc, opt.timeout_s, "--timeout",
                                           errstr, sizeof(errstr))) {
                fprintf(stderr, "crmsync run: %s\n", errstr);
                crmsync_scenario_destroy(sc);
                return 2;
        }
        if (opt.no_record && (sc->replay.enabled || sc->fault_cnt > 0)) {
                fprintf(stderr, "crmsync run: --no-record is for fault-free "
                                "benchmark runs without a replay phase\n");
                crmsync_scenario_destroy(sc);
                return 2;
        }
        if (opt.preload &&
            (!sc->replay.enabled || sc->fault_cnt > 0 || opt.no_record)) {
                fprintf(stderr, "crmsync run: --preload needs a scenario "
                                "with a replay phase and no faults (and "
                                "no --no-record)\n");
                crmsync_scenario_destroy(sc);
                return 2;
        }
        if (!(opt.self_exe = self_exe(self, sizeof(self)))) {
                fprintf(stderr, "crmsync run: cannot find my own binary\n");
                crmsync_scenario_destroy(sc);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        /* The watchdog that kills the pipeline if this process dies: fork
         * it now, while there is one thread and few descriptors. */
        if (crmsync_supervisor_init(errstr, sizeof(errstr)) == -1)
                fprintf(stderr, "crmsync run: %s\n", errstr);

        rc = crmsync_run(sc, &opt, &summary, errstr, sizeof(errstr));
        /* The verdict goes out even when the run folder cannot be
         * written (a full disk): stdout may be all that is left. */
        if (summary)
                crmsync_report_print(summary, stdout);
        if (rc == 2) {
                fflush(stdout);
                fprintf(stderr, "crmsync run: %s\n", errstr);
        }
        json_decref(summary);
        crmsync_scenario_destroy(sc);
        return rc;
}
