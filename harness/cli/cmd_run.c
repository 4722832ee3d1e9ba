/* cmd_run.c -- `crmsync run SCENARIO`: one scenario end to end. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "harness/interrupt.h"
#include "crmsync/report.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "harness/supervisor.h"

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync run SCENARIO.json [options]\n\n"
                "Start the embedded broker, mock CRM and sink, run the "
                "pipeline under the\nscenario's fault timeline, wait for "
                "convergence and judge the result.\nWrites runs/<run-id>/"
                "{summary.json,junit.xml,report.md,history.jsonl,*.log}.\n\n"
                "Options:\n"
                "  --runs-dir DIR   where run folders go (default: runs)\n"
                "  --timeout S      give up after S seconds (default: the "
                "scenario's,\n"
                "                   or workload + faults + 120 s)\n"
                "  --quiet          nothing on stderr but errors\n"
                "  --progress-every S\n"
                "                   status line period (default: 2 s, "
                "updated in place,\n"
                "                   on a terminal; 5 s otherwise)\n"
                "  --no-record      benchmarks only: the judge records "
                "nothing (no topic\n"
                "                   auditor, probes or history checks); "
                "the verdict is the\n"
                "                   end state alone (bench/"
                "bench_overhead.sh)\n"
                "  -h, --help       this help\n\n"
                "Exit codes: 0 every expectation met, 1 an expectation "
                "failed, 2 bad usage,\nbad scenario or the run could not be "
                "set up, 130 interrupted (Ctrl-C; 143 for\nSIGTERM): "
                "verdict \"interrupted\", nothing judged. A second Ctrl-C "
                "kills the\npipeline at once.\n");
}

int crmsync_cmd_run(int argc, char **argv)
{
        static const struct option longopts[] = {
                {"runs-dir", required_argument, NULL, 'd'},
                {"timeout", required_argument, NULL, 't'},
                {"quiet", no_argument, NULL, 'q'},
                {"progress-every", required_argument, NULL, 'p'},
                {"no-record", no_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0}};
        struct run_options opt = {.runs_dir = "runs"};
        struct scenario   *sc;
        struct stat        st;
        json_t            *summary = NULL;
        char               errstr[1024], self[4096];
        ssize_t            n;
        int                c, rc;

        /* First thing: a Ctrl-C from now on ends in a summary that says
         * the run was interrupted, never in a silent death. */
        crmsync_interrupt_install();
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case 'd': opt.runs_dir = optarg; break;
                case 't':
                        opt.timeout_s = strtod(optarg, NULL);
                        if (opt.timeout_s <= 0) {
                                fprintf(stderr, "crmsync run: --timeout "
                                                "needs a positive number\n");
                                return 2;
                        }
                        break;
                case 'q': opt.quiet = 1; break;
                case 'n': opt.no_record = 1; break;
                case 'p':
                        opt.progress_s = strtod(optarg, NULL);
                        if (opt.progress_s <= 0) {
                                fprintf(stderr, "crmsync run: "
                                                "--progress-every needs a "
                                                "positive number\n");
                                return 2;
                        }
                        break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (optind != argc - 1) {
                fprintf(stderr, "crmsync run: expected one scenario file\n\n");
                usage(stderr);
                return 2;
        }
        if (stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode)) {
                fprintf(stderr,
                        "crmsync run: %s is a folder; run takes one scenario "
                        "file (FILE.json).\nTo check every scenario in a "
                        "folder: crmsync validate %s\n",
                        argv[optind], argv[optind]);
                return 2;
        }
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
        if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
                fprintf(stderr, "crmsync run: cannot find my own binary\n");
                crmsync_scenario_destroy(sc);
                return 2;
        }
        self[n]      = '\0';
        opt.self_exe = self;
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
