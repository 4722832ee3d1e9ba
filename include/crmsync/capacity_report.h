/* capacity_report.h -- what `crmsync capacity` tells people: report.md
 * and report.html with three SVG charts (rate-p99.svg, catch-up.svg,
 * replay-history.svg), rendered from capacity.json's content. */
#ifndef CRMSYNC_CAPACITY_REPORT_H
#define CRMSYNC_CAPACITY_REPORT_H

#include <jansson.h>
#include <stddef.h>

/* Write report.md, report.html and the charts into dir. cap is borrowed.
 * Every file goes through a temporary file and a rename. Returns 0 or -1
 * + errstr naming the file that failed. */
int crmsync_capacity_report_write(const json_t *cap, const char *dir,
                                  char *errstr, size_t errstr_size);

#endif
