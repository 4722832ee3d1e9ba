/* pilot.h -- `crmsync pilot`: the same pilot scenarios on two targets.
 * Each target is probed (compat.h), then every scenario runs on it as a
 * suite (suite.h) with the same seed, workload and faults: only the target
 * differs. runs/pilot-<id>/ gets the probes, both suites, pilot.json and
 * the scorecard report (reports/pilot_report.c). */
#ifndef CRMSYNC_PILOT_H
#define CRMSYNC_PILOT_H

#include <stddef.h>
#include <stdio.h>

struct pilot_options {
        const char *runs_dir;   /* default "runs" */
        const char *self_exe;   /* this binary: each run is a child of it */
        const char *targets[2]; /* target files A and B */
        double      timeout_s;  /* --timeout for each run; 0 = scenario's */
        int         jobs;       /* runs of a target at a time; 0 = 1 */
        int         probe_timeout_ms;
        int         shadow; /* also run shadow mode (pilot_shadow.c) */
        /* Shadow mode: bug switches for B's pipeline (a planted
         * difference), "name,name" or NULL. */
        const char *shadow_bugs_b;
        FILE       *progress; /* progress lines, or NULL */
        /* --capacity-file: the user's capacity file (docs/capacity.md), for
         * the Cost line; NULL = no cost figures (no prices are built in). */
        const char *capacity_file;
};

/* Run the pilot of the scenarios in paths (files or folders of *.json).
 * Returns the exit code: 0 every run passed on both targets (and shadow
 * mode found no divergence), 1 some run failed or the sinks diverged, 2
 * bad input (a target or scenario file, with file:line:col) or a target
 * that cannot be reached; errstr says why. *dir_out (may be NULL, size
 * dir_size) gets the pilot folder. */
int crmsync_pilot_run(int path_cnt, char *const *paths,
                      const struct pilot_options *opt, char *dir_out,
                      size_t dir_size, char *errstr, size_t errstr_size);

#endif
