/* cmd_run.c -- `crmsync run SCENARIO`: one scenario end to end; `crmsync
 * run DIR|FILE...`: a suite of them (suite.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opt.h"
#include "crmsync/common.h"
#include "crmsync/report.h"
#include "harness/interrupt.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "harness/suite.h"
#include "harness/supervisor.h"

static const char intro[] =
    "Usage: crmsync run SCENARIO.json [options]\n"
    "       crmsync run DIR|FILE... [--jobs N] [--filter PATTERN] [options]\n\n"
    "Start the embedded broker, mock CRM and sink, run the pipeline under "
    "the\nscenario's fault timeline, wait for convergence and judge the "
    "result.\nWrites runs/<run-id>/{summary.json,junit.xml,report.md,"
    "history.jsonl,*.log}.\n\n"
    "A folder (its *.json in name order, not its subfolders) or several "
    "files run\nas a suite: every scenario is validated first, then each "
    "runs as its own\n`crmsync run` with its own run folder, and "
    "runs/suite-<id>/ gets junit.xml,\nsummary.json, index.html (and "
    "mutation-matrix.md when scenarios set bug\nswitches). One line per "
    "finished scenario: \"[k/N] name ... PASS\".\n\n"
    "--shadow-with B.json: shadow mode (docs/pilot.md): one mock CRM "
    "serves\nSCENARIO's stream to two pipelines at once, SCENARIO's and "
    "B's (own\nconnector, target, profiler and sink each); each is judged "
    "against that CRM\nin its own run folder, and shadow.json says what the "
    "CRM served to whom.\n";
static const char epilog[] =
    "Exit codes: 0 every expectation met (a suite: every scenario passed), "
    "1 an\nexpectation failed (a suite: a scenario failed or could not be "
    "set up), 2 bad\nusage, bad scenario (a suite: any of them, before "
    "anything runs) or the run\ncould not be set up, 130 interrupted "
    "(Ctrl-C; 143 for SIGTERM): verdict\n\"interrupted\", nothing judged. A "
    "second Ctrl-C kills the pipeline at once.\nA scenario with "
    "expect.verdict \"fail\" passes when its run fails in the\nexpected way "
    "(docs/scenario-format.md).\n";

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
                                    .keep             = ro->keep,
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

/* One scenario, or a suite of them. */
static int run_files(char **files, int nfiles, const char *filter, int jobs,
                     struct run_options *opt, char *self, size_t self_size,
                     char *errstr, size_t errstr_size)
{
        struct scenario *sc;
        struct stat      st;
        json_t          *summary = NULL;
        int              rc;

        /* A folder, several files or a --filter: a suite. One file: one
         * run, its output and run folder as always. */
        if (nfiles > 1 || filter ||
            (stat(files[0], &st) == 0 && S_ISDIR(st.st_mode)))
                return run_suite(nfiles, files, filter, jobs, opt);
        if (!(sc = crmsync_scenario_load(files[0], errstr, errstr_size))) {
                fprintf(stderr, "crmsync run: %s\n", errstr);
                return 2;
        }
        if (opt->timeout_s > 0 &&
            crmsync_scenario_check_timeout(sc, opt->timeout_s, "--timeout",
                                           errstr, errstr_size)) {
                fprintf(stderr, "crmsync run: %s\n", errstr);
                crmsync_scenario_destroy(sc);
                return 2;
        }
        if (opt->no_record && (sc->replay.enabled || sc->fault_cnt > 0)) {
                fprintf(stderr, "crmsync run: --no-record is for fault-free "
                                "benchmark runs without a replay phase\n");
                crmsync_scenario_destroy(sc);
                return 2;
        }
        if (opt->preload &&
            (!sc->replay.enabled || sc->fault_cnt > 0 || opt->no_record)) {
                fprintf(stderr, "crmsync run: --preload needs a scenario "
                                "with a replay phase and no faults (and "
                                "no --no-record)\n");
                crmsync_scenario_destroy(sc);
                return 2;
        }
        if (!(opt->self_exe = self_exe(self, self_size))) {
                fprintf(stderr, "crmsync run: cannot find my own binary\n");
                crmsync_scenario_destroy(sc);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        /* The watchdog that kills the pipeline if this process dies: fork
         * it now, while there is one thread and few descriptors. */
        if (crmsync_supervisor_init(errstr, errstr_size) == -1)
                fprintf(stderr, "crmsync run: %s\n", errstr);

        rc = crmsync_run(sc, opt, &summary, errstr, errstr_size);
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

/* `crmsync run A.json --shadow-with B.json`: one CRM, two pipelines
 * (run.h); both verdicts printed, shadow.json in the runs folder. */
static int run_shadow_pair(const char *file_a, const char *file_b,
                           struct run_options *opt, char *self,
                           size_t self_size, char *errstr, size_t errstr_size)
{
        const struct scenario *sc[2] = {NULL, NULL};
        json_t                *sum[2], *crm = NULL, *out;
        char                   path[4096];
        int                    rc = 2;

        if (!(sc[0] = crmsync_scenario_load(file_a, errstr, errstr_size)) ||
            !(sc[1] = crmsync_scenario_load(file_b, errstr, errstr_size)))
                goto out;
        if (!(opt->self_exe = self_exe(self, self_size))) {
                snprintf(errstr, errstr_size, "cannot find my own binary");
                goto out;
        }
        signal(SIGPIPE, SIG_IGN);
        if (crmsync_supervisor_init(errstr, errstr_size) == -1)
                fprintf(stderr, "crmsync run: %s\n", errstr);
        rc = crmsync_run_shadow(sc, opt, sum, &crm, errstr, errstr_size);
        for (int i = 0; i < 2; i++)
                if (sum[i])
                        crmsync_report_print(sum[i], stdout);
        out = json_pack(
            "{s:s, s:o, s:i, s:[s?,s?], s:[s?,s?]}", "schema",
            "crmsync.shadow/1", "crm", crm ? crm : json_null(), "exit_code", rc,
            "verdicts", json_string_value(json_object_get(sum[0], "verdict")),
            json_string_value(json_object_get(sum[1], "verdict")), "run_dirs",
            json_string_value(json_object_get(sum[0], "run_dir")),
            json_string_value(json_object_get(sum[1], "run_dir")));
        snprintf(path, sizeof(path), "%s/shadow.json", opt->runs_dir);
        if (!out || json_dump_file(out, path, JSON_INDENT(2))) {
                fprintf(stderr, "crmsync run: %s: cannot write\n", path);
                rc = 2;
        }
        json_decref(out);
        json_decref(sum[0]);
        json_decref(sum[1]);
out:
        if (rc == 2 && *errstr) {
                fflush(stdout);
                fprintf(stderr, "crmsync run: %s\n", errstr);
        }
        crmsync_scenario_destroy((struct scenario *)sc[0]);
        crmsync_scenario_destroy((struct scenario *)sc[1]);
        return rc;
}

/* The options into opt, *filter and *jobs; the scenario files or folders
 * into files (*nfiles). Returns CLI_OK, CLI_HELP or CLI_ERROR. */
static int parse_options(int argc, char **argv, struct run_options *opt,
                         const char **filter, uint32_t *jobs, char **files,
                         int *nfiles, const char **shadow)
{
        const struct cli_opt opts[] = {
            CLI_OPT("shadow-with", CLI_STR, shadow, "B.json",
                    "shadow mode: one CRM, SCENARIO's stream to two\n"
                    "pipelines at once (docs/pilot.md)"),
            CLI_OPT("jobs", CLI_U32, jobs, "N",
                    "suite: run N scenarios at a time (default 1); "
                    "scenarios\non an external target still run one at a time",
                    .lo = 1, .hi = 64),
            CLI_OPT("filter", CLI_STR, filter, "PATTERN",
                    "suite: only scenario files whose name matches (a glob\n"
                    "with * ? [ ], else a substring)"),
            CLI_OPT("runs-dir", CLI_STR, &opt->runs_dir, "DIR",
                    "where run folders go (default: runs)"),
            CLI_OPT("timeout", CLI_DOUBLE, &opt->timeout_s, "S",
                    "give up after S seconds (default: the scenario's,\nor "
                    "workload + faults + 120 s)",
                    .unit = "s", .min = 0.001, .max = 1e7),
            CLI_OPT("quiet", CLI_FLAG, &opt->quiet, NULL,
                    "nothing on stderr but errors"),
            CLI_OPT("progress-every", CLI_DOUBLE, &opt->progress_s, "S",
                    "status line period (default: 2 s, updated in place,\n"
                    "on a terminal; 5 s otherwise)",
                    .unit = "s", .min = 0.001, .max = 86400),
            CLI_OPT("compress-history", CLI_FLAG, &opt->compress_history, NULL,
                    "write history.jsonl.gz (gzip, about 30 bytes a change)\n"
                    "instead of history.jsonl; trace reads either"),
            CLI_OPT("preload", CLI_FLAG, &opt->preload, NULL,
                    "produce the workload straight to the topic in the\n"
                    "connector's envelope, then judge the scenario's replay\n"
                    "of it (crmsync capacity --history; docs/capacity.md)"),
            CLI_OPT("no-record", CLI_FLAG, &opt->no_record, NULL,
                    "benchmarks only: the judge records nothing (no topic\n"
                    "auditor, probes or history checks); the verdict is the\n"
                    "end state alone (bench/bench_overhead.sh)"),
            CLI_OPT("keep", CLI_FLAG, &opt->keep, NULL,
                    "postgres sink: keep the throwaway server's data\n"
                    "directory (the server is stopped all the same)"),
            CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"run", intro, opts, epilog, -1};
        int rc = crmsync_cli_parse(&cmd, argc, argv, files, nfiles);

        if (rc)
                return rc;
        if (*nfiles == 0) {
                fprintf(stderr, "crmsync run: expected a scenario file or "
                                "folder\n\n");
                crmsync_cli_usage(&cmd, stderr);
                return CLI_ERROR;
        }
        if (*shadow && (*nfiles != 1 || *filter)) {
                fprintf(stderr, "crmsync run: --shadow-with takes one "
                                "scenario file (side A)\n");
                return CLI_ERROR;
        }
        return CLI_OK;
}

int crmsync_cmd_run(int argc, char **argv)
{
        struct run_options opt = {.runs_dir = "runs"};
        char               errstr[1024], self[4096];
        const char        *filter = NULL, *shadow = NULL;
        uint32_t           jobs = 1;
        int                rc, nfiles = 0;
        char             **files = calloc((size_t)argc + 1, sizeof(*files));

        /* First thing: a Ctrl-C from now on ends in a summary that says
         * the run was interrupted, never in a silent death. */
        crmsync_interrupt_install();
        if (!files) {
                fprintf(stderr, "crmsync run: out of memory\n");
                return 2;
        }
        if ((rc = parse_options(argc, argv, &opt, &filter, &jobs, files,
                                &nfiles, &shadow))) {
                free(files);
                return rc == CLI_HELP ? 0 : 2;
        }
        if (shadow)
                rc = run_shadow_pair(files[0], shadow, &opt, self, sizeof(self),
                                     errstr, sizeof(errstr));
        else
                rc = run_files(files, nfiles, filter, (int)jobs, &opt, self,
                               sizeof(self), errstr, sizeof(errstr));
        free(files);
        return rc;
}
