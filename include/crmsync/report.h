/* report.h -- what a run tells people: summary.json, junit.xml, report.md
 * and the one-screen verdict, all rendered from the summary object. */
#ifndef CRMSYNC_REPORT_H
#define CRMSYNC_REPORT_H

#include <jansson.h>
#include <stdio.h>

#define CRMSYNC_SUMMARY_SCHEMA "crmsync.summary/1"
/* The expectation that fails when a pipeline process exits on its own;
 * its JUnit failure carries the exits (summary's process_exits). */
#define CRMSYNC_EXPECT_PROCESSES_UP "pipeline processes stay up"

/* Write summary.json, junit.xml, report.md, report.html and the .svg
 * charts (crmsync_report_html_write) into dir. summary is
 * borrowed; a summary with an "error" member (verdict "error": the run
 * could not be set up or could not write its files) gets a JUnit <error>.
 * Every write is checked; summary.json is never left truncated. Returns 0
 * or -1 + errstr (the first file that failed, with the reason). */
int crmsync_report_write(const json_t *summary, const char *dir, char *errstr,
                         size_t errstr_size);
/* Write the run's <testsuite> element (one <testcase> per expectation; a
 * failed anomaly bound names its class and first examples) to fp, as
 * junit.xml and the suite's junit.xml hold it. summary is borrowed. */
void crmsync_report_junit_testsuite(const json_t *summary, FILE *fp);
/* Write s to fp escaped for XML and HTML text and attributes (<, >, &,
 * "); control characters other than newline and tab are left out. NULL
 * writes nothing. */
void crmsync_report_escape(FILE *fp, const char *s);
/* Write report.html (self-contained: inline CSS and SVG charts, no
 * script, no external file) and the charts as .svg files
 * (anomalies.svg, timeline.svg, lag.svg, latency.svg, recovery.svg; those
 * the summary has data for) into dir. summary is borrowed. Returns 0 or
 * -1 + errstr naming the first file that failed. */
int crmsync_report_html_write(const json_t *summary, const char *dir,
                              char *errstr, size_t errstr_size);
/* report.md's "Charts" section: a link to report.html and each .svg chart
 * crmsync_report_html_write writes for summary. */
void crmsync_report_md_charts(const json_t *summary, FILE *fp);
/* Print the one-screen verdict to fp. */
void crmsync_report_print(const json_t *summary, FILE *fp);

#endif
