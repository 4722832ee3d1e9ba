/* suite.h -- a suite: a folder (or a list) of scenarios run as one. Every
 * scenario is validated before any runs; each then runs in its own child
 * `crmsync run` (own embedded broker, ports and run folder), up to --jobs
 * at a time, and the suite writes runs/suite-<id>/ (suite_report.h). */
#ifndef CRMSYNC_SUITE_H
#define CRMSYNC_SUITE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define SUITE_MAX_SCENARIOS 1000

typedef struct suite suite_t;

struct suite_options {
        const char *runs_dir;  /* default "runs" */
        const char *self_exe;  /* this binary: each run is a child of it */
        int         jobs;      /* runs at a time, >= 1 */
        double      timeout_s; /* --timeout for each run; 0 = scenario's */
        FILE       *progress;  /* "[k/N] name ... PASS" lines, or NULL */
        int         compress_history; /* each run: --compress-history */
        int         keep;             /* each run: --keep */
        /* The status line on stderr while runs go on: "[k/N] name" and
         * the run's own latest status line (elapsed, committed, applied,
         * lag, faults), for each running scenario; in place on a
         * terminal, a plain line every status_s (default 5 s) otherwise.
         * quiet: none, and each run gets --quiet. */
        int    quiet;
        double status_s; /* 0 = 2 s on a terminal, 5 s otherwise */
};

/* Collect the scenario files of paths (a folder: its *.json in name order,
 * not its subfolders; a file: itself), keep those whose file name matches
 * filter (NULL: all; with * ? or [ a glob, else a substring). NULL +
 * errstr when a path is missing or nothing is left. Free with
 * crmsync_suite_destroy. */
suite_t *crmsync_suite_new(int path_cnt, char *const *paths, const char *filter,
                           char *errstr, size_t errstr_size);
/* Load and validate every scenario (and its --timeout, when > 0), writing
 * each error ("file:line:col: field: what") as a line to errfp. Returns the
 * number of scenarios that failed validation. */
int crmsync_suite_validate(suite_t *s, double timeout_s, FILE *errfp);
/* Number of scenarios in the suite. */
size_t crmsync_suite_size(const suite_t *s);
/* Run the validated suite and write its folder. Returns the exit code: 0
 * every run passed, 1 some failed (or could not be set up), 2 the suite
 * folder could not be written (errstr), 128 + signal when interrupted.
 * *summary (may be NULL) receives a new reference to summary.json. */
int  crmsync_suite_run(suite_t *s, const struct suite_options *opt,
                       json_t **summary, char *errstr, size_t errstr_size);
void crmsync_suite_destroy(suite_t *s); /* accepts NULL */

#endif
