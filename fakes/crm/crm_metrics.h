/* crm_metrics.h -- tiny Prometheus text exposition (counters and gauges).
 *
 * Generic: the mock CRM, the webhook dispatcher and the fake sink may all
 * keep a registry. Series are identified by a metric name and a label
 * string; the number of series is capped at creation. All functions are
 * thread-safe (one mutex per registry).
 *
 * Label strings are "key=value" pairs separated by ',' in the order the
 * caller wants them rendered, for example "endpoint=/v1/changes,status=200".
 * A value runs up to the next ',' (values cannot contain ','); it is escaped
 * on output ('\\', '"' and newline). NULL or "" means no labels. */
#ifndef CRMSYNC_CRM_METRICS_H
#define CRMSYNC_CRM_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Well-known metric names used by the mock CRM modules. */
#define CRMSYNC_METRIC_REQUESTS                                                \
        "crmsync_crm_requests_total" /* endpoint,status */
#define CRMSYNC_METRIC_EVENTS "crmsync_crm_events_served_total" /* via */
#define CRMSYNC_METRIC_THROTTLED "crmsync_crm_throttled_total"  /* status */
#define CRMSYNC_METRIC_WH_SENT                                                 \
        "crmsync_webhook_requests_total" /* attempt,result */
#define CRMSYNC_METRIC_WH_EVENTS                                               \
        "crmsync_webhook_events_delivered_total" /* attempt */
#define CRMSYNC_METRIC_WH_GIVEUPS "crmsync_webhook_giveups_total"

#define CRMSYNC_METRICS_NAME_MAX 128
#define CRMSYNC_METRICS_LABELS_MAX 512

typedef struct crm_metrics crm_metrics_t;

/* New empty registry holding at most max_series series (0 = 4096).
 * Returns NULL on allocation failure. Free with crmsync_metrics_destroy. */
crm_metrics_t *crmsync_metrics_new(uint32_t max_series);
void           crmsync_metrics_destroy(crm_metrics_t *m); /* accepts NULL */

/* Add delta to the counter (name, labels), creating it at 0 first.
 * Returns 0, or -1 when the name or labels are malformed, too long, the
 * name was registered as a gauge, or the series cap is reached (the
 * increment is then dropped and counted in crmsync_metrics_dropped()).
 * name and labels are copied. */
int crmsync_metrics_inc(crm_metrics_t *m, const char *name, const char *labels,
                        uint64_t delta);

/* Set the gauge (name, labels) to value. Same errors as _inc. */
int crmsync_metrics_set(crm_metrics_t *m, const char *name, const char *labels,
                        double value);

/* Optional "# HELP" text for a metric family (copied; may be called before
 * or after the first sample). Returns 0 or -1 (bad name / cap reached). */
int crmsync_metrics_help(crm_metrics_t *m, const char *name, const char *help);

/* Current value of a series, or 0 when absent (tests, reports). */
double crmsync_metrics_get(crm_metrics_t *m, const char *name,
                           const char *labels);

/* Number of updates refused because of the series cap. */
uint64_t crmsync_metrics_dropped(crm_metrics_t *m);

/* Append the Prometheus text format (version 0.0.4) to out: per family an
 * optional "# HELP", one "# TYPE name counter|gauge" line, then one line
 * per series in creation order. Returns 0 or -1 on evbuffer failure. */
int crmsync_metrics_render(crm_metrics_t *m, struct evbuffer *out);

/* Content-Type to send with the rendered text (static string). */
const char *crmsync_metrics_content_type(void);

#endif
