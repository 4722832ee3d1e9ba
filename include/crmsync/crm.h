/* crm.h -- the mock CRM HTTP server (fakes/crm).
 *
 * Serves a workload's commit log as time passes: event i becomes visible at
 * start_wall_ms + commit_ms. Runs on the caller's event_base (one loop per
 * process); all functions must be called from that loop's thread. */
#ifndef CRMSYNC_CRM_H
#define CRMSYNC_CRM_H

#include <event2/event.h>
#include <jansson.h>

#include "fakes/crm/crm_throttle.h"
#include "crmsync/workload.h"

struct crm_server_config {
        const char     *bind_host;     /* default 127.0.0.1 */
        int             port;          /* 0 = pick a free port */
        crm_workload_t *workload;      /* borrowed; must outlive the server */
        int64_t         start_wall_ms; /* 0 = now */
        uint32_t        max_page;      /* largest limit= accepted (1000) */
        /* Throttling per client id (X-Client-Id header or api_key). */
        double   rate_limit_per_s; /* 0 = unlimited */
        uint32_t rate_burst;
        uint64_t daily_quota;    /* 0 = unlimited; 403 REQUEST_LIMIT_EXCEEDED */
        double   error_rate_5xx; /* transient 500/503 share (0..1) */
        int64_t  retention_ms;   /* 0 = keep all; older cursors get 410 */
};

/* Observer for the history recorder: called once per event served, with
 * via = "feed" | "webhook" | "objects". May be NULL. */
typedef void(crm_serve_cb)(void *opaque, const struct crm_event *ev,
                           const char *via, int64_t wall_ms);

typedef struct crm_server crm_server_t;

/* Bind and start serving. Returns NULL and fills errstr on failure. cfg is
 * copied; base and cfg->workload stay borrowed and must outlive the
 * server. The caller owns the result: free with
 * crmsync_crm_server_destroy (before base). */
crm_server_t *crmsync_crm_server_new(struct event_base              *base,
                                     const struct crm_server_config *cfg,
                                     char *errstr, size_t errstr_size);
void          crmsync_crm_server_destroy(crm_server_t *s); /* accepts NULL */
int           crmsync_crm_server_port(const crm_server_t *s);
void          crmsync_crm_server_set_observer(crm_server_t *s, crm_serve_cb *cb,
                                              void *opaque);

/* The client id of the request being served, for an observer: its
 * X-Client-Id header (or api_key, or "anonymous"); "" for what the CRM
 * sends on its own (webhook and CometD deliveries). Borrowed. */
const char *crmsync_crm_server_serving_client(const crm_server_t *s);

/* Number of events committed (visible or hidden) at this moment. */
size_t crmsync_crm_server_committed(const crm_server_t *s);

/* Fault hooks, called by the scenario engine (or POST /_admin/faults).
 * type: duplicate_delivery, late_events, gap_events, throttle_storm,
 * retention_cut, crm_5xx_burst, slow_responses, drop_event.
 * params is borrowed. on=1 starts, on=0 ends. Returns 0 or -1 + errstr. */
int crmsync_crm_server_fault(crm_server_t *s, const char *type,
                             const json_t *params, int on, char *errstr,
                             size_t errstr_size);

/* API etiquette of every client of the /v1 API (crm_throttle.h): fills up
 * to max entries of out, returns the number of clients (may be > max). */
size_t crmsync_crm_server_clients(const crm_server_t               *s,
                                  struct crm_throttle_client_stats *out,
                                  size_t                            max);

/* Sequence numbers of events the CRM never served on purpose (drop_event
 * fault): the checker's self-test. Borrowed array. */
size_t crmsync_crm_server_dropped(const crm_server_t *s, const uint64_t **seqs);

#endif
