/* pipeline.h -- the reference pipeline: connector and profiler processes.
 *
 * Each runs as its own process (crmsync connector | crmsync profiler) with
 * one loop; *stop is set by the signal handler for a clean shutdown (SIGTERM,
 * SIGINT). Both return 0 on a clean stop and -1 + errstr on a fatal error. */
#ifndef CRMSYNC_PIPELINE_H
#define CRMSYNC_PIPELINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

enum connector_mode {
        CONNECTOR_FEED,    /* GET /v1/changes with a cursor */
        CONNECTOR_WEBHOOK, /* receive signed POSTs */
        CONNECTOR_POLL,    /* GET /v1/objects/{type}?modified_since= */
};

struct connector_config {
        const char *crm_url;       /* http://127.0.0.1:port */
        const char *bootstrap;     /* bootstrap.servers */
        const char *topic;         /* crm.changes */
        const char *offsets_topic; /* crmsync.connector.offsets */
        const char *kafka_config;  /* file of librdkafka props, or NULL */
        const char *client_id;     /* X-Client-Id sent to the CRM */
        enum connector_mode mode;
        uint32_t            page_size;    /* limit= per poll (500) */
        uint32_t            poll_idle_ms; /* wait when has_more=false (100) */
        uint32_t            lookback_ms;  /* POLL mode overlap (2000) */
        const char         *webhook_secret;
        uint32_t            bugs; /* CRMSYNC_BUG_* bits */
        /* WEBHOOK mode: port of the receiver on 127.0.0.1 (0 = any free
         * port; the chosen one is printed as "webhook_url=..." on
         * stdout). Added by the connector engineer. */
        int webhook_port;
};

struct profiler_config {
        const char *bootstrap;
        const char *topic;
        const char *dlq_topic; /* crm.changes.dlq */
        const char *group_id;
        const char *sink_url;
        const char *kafka_config;
        const char *offset_reset;    /* earliest | latest */
        uint32_t    batch_size;      /* ops per bulk request (500) */
        uint32_t    linger_ms;       /* wait to fill a batch (50) */
        int         no_side_effects; /* rebuild/replay: send none */
        const char *domain;          /* bounded replay: only these accounts
                                      * (domain.h spec), or NULL for all */
        int64_t from_ts_ms;          /* replay from this record timestamp
                                      * (first assignment only); 0 = off */
        /* The run's first offsets, "p:offset,..." (CRMSYNC_START_OFFSETS):
         * an assigned partition without a committed offset starts there
         * instead of at offset_reset, so that earlier runs' records on a
         * shared topic are not read. NULL = offset_reset alone. */
        const char *start_offsets;
        uint32_t    bugs;
};

int crmsync_connector_run(const struct connector_config *cfg,
                          volatile sig_atomic_t *stop, char *errstr,
                          size_t errstr_size);
int crmsync_profiler_run(const struct profiler_config *cfg,
                         volatile sig_atomic_t *stop, char *errstr,
                         size_t errstr_size);

/* Read "key=value" lines (# comments) of librdkafka properties into conf.
 * conf is an rd_kafka_conf_t *. Errors name file:line. */
int crmsync_kafka_conf_file(void *conf, const char *path, char *errstr,
                            size_t errstr_size);

#define CRMSYNC_START_OFFSETS_MAX 1024 /* partitions in a spec */
/* Parse a start-offsets spec "p:offset,p:offset,..." (partitions 0..
 * CRMSYNC_START_OFFSETS_MAX-1, offsets >= 0) into offsets[0..max): -1
 * for a partition the spec does not name. Returns 0, or -1 + errstr
 * naming the bad item. */
int crmsync_start_offsets_parse(const char *spec, int64_t *offsets, int max,
                                char *errstr, size_t errstr_size);

#endif
