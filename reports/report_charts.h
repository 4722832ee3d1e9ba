/* report_charts.h -- the run report's charts, built from summary.json
 * (its "series", "faults" and "timing"): shared by report.html (inline)
 * and the .svg files report.md links. */
#ifndef CRMSYNC_REPORT_CHARTS_H
#define CRMSYNC_REPORT_CHARTS_H

#include <jansson.h>

#include "crmsync/svg_chart.h"

enum report_chart {
        REPORT_CHART_ANOMALIES, /* anomalies.svg: count per class */
        REPORT_CHART_TIMELINE,  /* timeline.svg: rates, latency, faults */
        REPORT_CHART_LAG,       /* lag.svg: lag and backlog, faults */
        REPORT_CHART_LATENCY,   /* latency.svg: percentile curve (HDR) */
        REPORT_CHART_RECOVERY,  /* recovery.svg: convergence per fault */
        REPORT_CHART_COUNT
};

/* The file name of chart which ("timeline.svg") and one line saying what
 * it shows. */
const char *report_chart_file(enum report_chart which);
const char *report_chart_caption(enum report_chart which);
/* Build chart which from summary s (borrowed). NULL when the summary
 * lacks what it needs (a run that did not get to run, an old summary) or
 * out of memory. The caller frees it with crmsync_svg_chart_free. */
svg_chart_t *report_chart_build(const json_t *s, enum report_chart which);

#endif
