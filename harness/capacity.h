/* capacity.h -- `crmsync capacity`: sweeps of one scenario (rate to the
 * SLO, catch-up after downtime, replay against history) run as child
 * `crmsync run`s, their figures, the models of capacity_model.h and
 * runs/capacity-<id>/capacity.json (docs/capacity.md). */
#ifndef CRMSYNC_CAPACITY_H
#define CRMSYNC_CAPACITY_H

#include <jansson.h>
#include <stddef.h>

#define CAPACITY_MAX_POINTS 16

struct capacity_options {
        const char *scenario; /* the scenario file every run derives from */
        const char *runs_dir; /* default "runs" */
        const char *self_exe;
        double      budget_s; /* 0 = unbounded */
        int         quiet;
        /* Rate sweep: each run's workload lasts run_s seconds. */
        double rates[CAPACITY_MAX_POINTS];
        int    rate_cnt;
        double run_s;
        int    find_max;    /* bisect the SLO bracket */
        double slo_p99_ms;  /* steady-state freshness p99 bound */
        int    search_runs; /* at most this many runs for --find-max */
        /* Catch-up: stop `stop` for each downtime at catch_up_rate (0 =
         * the sweep's middle rate). */
        double      down_s[CAPACITY_MAX_POINTS];
        int         down_cnt;
        double      catch_up_rate;
        const char *stop; /* "connector", "profiler" or "both" */
        /* Replay against history: sizes in changes, preloaded or not. */
        double history[CAPACITY_MAX_POINTS];
        int    history_cnt;
        int    preload;
        /* Production extrapolation (0 = none). */
        double prod_rate_per_s, prod_days;
        /* Capacity file (cost model) or NULL; rf when there is none. */
        const char *capacity_file;
        int         rf;
};

/* Run every sweep the options ask for and write out_dir (runs_dir/
 * capacity-<id>/: capacity.json, report.md, report.html, the generated
 * scenarios and each run's folder). Returns 0 (every figure asked for was
 * measured), 1 (some were skipped, e.g. by the budget, or a run failed),
 * 2 (bad input or set-up error: errstr). *result (may be NULL) receives a
 * new reference to capacity.json's content. */
int crmsync_capacity(const struct capacity_options *o, char *out_dir,
                     size_t out_dir_size, json_t **result, char *errstr,
                     size_t errstr_size);

#endif
