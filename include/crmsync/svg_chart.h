/* svg_chart.h -- small charts as standalone SVG: axes with labels and
 * units, line series, shaded bands, vertical markers and bars. One chart
 * code for every report (run report.html, suite pages, capacity reports);
 * the API is described in docs/svg-chart.md.
 *
 * A chart is built, then written once or more, then freed:
 *
 *   svg_chart_t *c = crmsync_svg_chart_new("timeline", "Throughput", 0, 0);
 *   crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "time since workload start",
 *                          "s", NAN, NAN, 0);
 *   crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "rate", "changes/s", 0, NAN,
 *                          0);
 *   crmsync_svg_chart_line(c, "commits/s", NULL, CRMSYNC_SVG_Y, x, y, n);
 *   crmsync_svg_chart_band(c, 10, 20, "F0 sink_outage", NULL);
 *   crmsync_svg_chart_write(c, fp);
 *   crmsync_svg_chart_free(c);
 *
 * Every point of a line carries an SVG <title> (its value on hover). The
 * root <svg> publishes the x mapping as data- attributes (data-x-min,
 * data-x-max, data-plot-left, data-plot-right, data-plot-top,
 * data-plot-bottom): pixel x = left + (x - min) / (max - min) * (right -
 * left). Each band is a <rect class="band"> with data-x0/data-x1 (its data
 * coordinates) and data-label. Output is deterministic: the same chart
 * gives the same bytes. Not thread-safe; no global state. */
#ifndef CRMSYNC_SVG_CHART_H
#define CRMSYNC_SVG_CHART_H

#include <stddef.h>
#include <stdio.h>

typedef struct crmsync_svg_chart svg_chart_t;

enum crmsync_svg_axis {
        CRMSYNC_SVG_X  = 0, /* bottom */
        CRMSYNC_SVG_Y  = 1, /* left */
        CRMSYNC_SVG_Y2 = 2  /* right: a second unit on the same chart */
};

/* Axis flags. */
#define CRMSYNC_SVG_LOG 0x1 /* log10 scale (values <= 0 are left out) */

/* Limits on what one chart holds (calls past them return -1). */
#define CRMSYNC_SVG_MAX_SERIES 16
#define CRMSYNC_SVG_MAX_POINTS 100000 /* per series */
#define CRMSYNC_SVG_MAX_ITEMS 256     /* bands, markers, bars, ticks each */

/* A chart of width x height pixels (0 = 900 x 320). id becomes the
 * element id and the prefix of every inner id (letters, digits, '-'),
 * title its heading; both are copied. NULL when out of memory. The caller
 * owns the result: free with crmsync_svg_chart_free. */
svg_chart_t *crmsync_svg_chart_new(const char *id, const char *title, int width,
                                   int height);
void         crmsync_svg_chart_free(svg_chart_t *c); /* accepts NULL */

/* Label axis a: label (e.g. "time since workload start") and unit ("s",
 * shown as "label (unit)" and after every hovered value). min/max: the
 * range; NAN for either end = from the data (a linear axis then starts at
 * a round number; pass 0 to start at 0). An axis never set is linear,
 * unlabelled and ranged from the data. Strings are copied. */
void crmsync_svg_chart_axis(svg_chart_t *c, enum crmsync_svg_axis a,
                            const char *label, const char *unit, double min,
                            double max, unsigned flags);
/* Replace the automatic ticks of axis a by n ticks at data values at[]
 * labelled labels[] (copied), e.g. percentiles on a transformed axis. */
int crmsync_svg_chart_ticks(svg_chart_t *c, enum crmsync_svg_axis a,
                            const double *at, const char *const *labels,
                            size_t n);

/* A line through n points (x[i], y[i]) against axis y (CRMSYNC_SVG_Y or
 * CRMSYNC_SVG_Y2); a NAN y breaks the line (a gap). color: any CSS color,
 * NULL = the next of the palette. Each point gets a dot with <title>
 * "name: y unit at x unit". Arrays are copied. Returns 0, -1 when out of
 * memory or past the limits. */
int crmsync_svg_chart_line(svg_chart_t *c, const char *name, const char *color,
                           enum crmsync_svg_axis y, const double *x,
                           const double *yv, size_t n);
/* As crmsync_svg_chart_line, drawn as steps (the value holds until the
 * next point) and filled down to the axis: backlogs, levels. */
int crmsync_svg_chart_area(svg_chart_t *c, const char *name, const char *color,
                           enum crmsync_svg_axis y, const double *x,
                           const double *yv, size_t n);
/* Hover texts of the last line or area added, one per point (copied;
 * a NULL entry keeps the default), e.g. "p99: 3135 ms" on a transformed
 * axis. n must be that series' point count. Returns 0, -1 when out of
 * memory, n differs or there is no series. */
int crmsync_svg_chart_point_titles(svg_chart_t *c, const char *const *titles,
                                   size_t n);
/* A shaded vertical band from x0 to x1 (data units; clipped to the x
 * range) labelled at its top, e.g. a fault window; an x1 of NAN = open to
 * the end of the axis. color NULL = translucent red. */
int crmsync_svg_chart_band(svg_chart_t *c, double x0, double x1,
                           const char *label, const char *color);
/* A dashed vertical line at x labelled at its top (e.g. "converged"). */
int crmsync_svg_chart_marker(svg_chart_t *c, double x, const char *label,
                             const char *color);
/* A bar labelled label of height value on a categorical x axis (bars are
 * placed in call order; a chart with bars draws no lines). title: the
 * hover text, NULL = "label: value unit". A NAN value (none: "never",
 * "not measured") is a faint bar the whole height marked "no value". */
int crmsync_svg_chart_bar(svg_chart_t *c, const char *label, double value,
                          const char *color, const char *title);

/* Write the chart as one <svg> element (inline in HTML, or a file with
 * crmsync_svg_chart_save). Returns 0, -1 when a write to fp failed. */
int crmsync_svg_chart_write(const svg_chart_t *c, FILE *fp);
/* Write the chart to path as a standalone .svg file (through path.tmp and
 * a rename). Returns 0 or -1 + errstr naming the file. */
int crmsync_svg_chart_save(const svg_chart_t *c, const char *path, char *errstr,
                           size_t errstr_size);

/* The pixel x of data value x on the chart as written (what the data-
 * attributes give), for tests and for callers that place their own
 * marks. */
double crmsync_svg_chart_px(const svg_chart_t *c, double x);

#endif
