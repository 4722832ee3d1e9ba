/* compare.h -- `crmsync compare`: runs or suites side by side, the ratio
 * of each figure to the first column, and regressions against a baseline
 * beyond thresholds. Pure functions over parsed summary.json objects, plus
 * a loader for run and suite folders. */
#ifndef CRMSYNC_COMPARE_H
#define CRMSYNC_COMPARE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* One threshold: figure (a figure name or a family such as "p99",
 * "convergence", "replay", "anomalies.missing"), and how far a compared
 * column may move from the baseline. limit > 0: the figure may rise by at
 * most limit; limit < 0: it may fall by at most -limit. relative: limit is
 * a percentage of the baseline; else an absolute amount in the figure's
 * unit (seconds and milliseconds are converted). */
struct crmsync_compare_threshold {
        char   figure[48];
        double limit;
        int    relative;
};

#define CRMSYNC_COMPARE_MAX_THRESHOLDS 64

/* Parse one threshold "NAME=VALUE" value for figure name: "20%", "-15%",
 * "5s", "500ms" or a plain number. Returns 0, or -1 + errstr saying what
 * is wrong (unknown figure, bad number, unit not valid for the figure). */
int crmsync_compare_threshold_parse(const char *name, const char *value,
                                    struct crmsync_compare_threshold *out,
                                    char *errstr, size_t errstr_size);
/* Parse "p99=20%,convergence=5s,replay=-15%". Returns the number of
 * thresholds (<= max), or -1 + errstr naming the item at fault. */
int crmsync_compare_thresholds_parse(const char                       *spec,
                                     struct crmsync_compare_threshold *out,
                                     size_t max, char *errstr,
                                     size_t errstr_size);

/* The figures of one run summary, in display order: an array of
 * {"figure": name, "unit": "ms"|"s"|"events/s"|"count"|"", "value":
 * number|string|null}. New reference; NULL on allocation failure. */
json_t *crmsync_compare_figures(const json_t *summary);

/* The comparison table. cols is an array with one entry per column, each
 * an array of run summaries (one for a run, several for a suite). When
 * every column holds one run, the runs are compared with each other
 * whatever their scenario names; otherwise runs are matched by scenario
 * name. Returns an array of rows {"scenario", "figure", "unit", "values":
 * [one per column, null where absent], "ratios": [value / first column, or
 * null]}. New reference. */
json_t *crmsync_compare_table(const json_t *cols);

/* Regressions of column col against column 0 under thresholds t: one line
 * per regression written to fp (may be NULL), naming the figure, both
 * values and the threshold. Returns the number of regressions. */
int crmsync_compare_regressions(const json_t *table, size_t col,
                                const struct crmsync_compare_threshold *t,
                                size_t nt, FILE *fp);

/* Render the table with column labels (one per column). */
void crmsync_compare_markdown(const json_t *table, const char *const *labels,
                              size_t ncols, FILE *fp);
void crmsync_compare_html(const json_t *table, const char *const *labels,
                          size_t ncols, FILE *fp);

/* Load a run folder (its summary.json) or a suite folder (its
 * summary.json, then every run it lists: a run_dir as written, else the
 * folder of that name beside the suite folder). Returns an array of run
 * summaries, or NULL + errstr naming the folder or file at fault. */
json_t *crmsync_compare_load(const char *dir, char *errstr, size_t errstr_size);

#endif
