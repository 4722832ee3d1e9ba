/* suite_report.h -- what a suite tells people: junit.xml (one <testsuite>
 * per scenario), summary.json, index.html and the mutation matrix. */
#ifndef CRMSYNC_SUITE_REPORT_H
#define CRMSYNC_SUITE_REPORT_H

#include <jansson.h>
#include <stdio.h>

#define CRMSYNC_SUITE_SCHEMA "crmsync.suite/1"

/* Write summary.json, junit.xml, index.html and, when the suite has bug
 * switches, mutation-matrix.md into dir. suite is the suite summary
 * (borrowed); runs is an array, one run summary.json object per entry of
 * suite.runs, or null where the run left none (borrowed). Returns 0 or -1
 * + errstr naming the file. */
int crmsync_suite_report_write(const json_t *suite, const json_t *runs,
                               const char *dir, char *errstr,
                               size_t errstr_size);
/* The mutation matrix as Markdown (docs/mutation-matrix.md). */
void crmsync_suite_report_matrix_md(const json_t *suite, FILE *fp);

#endif
