/* cluster.h -- the Kafka side of a run: the embedded broker (librdkafka's
 * mock cluster) or an external cluster from a target file. The same run
 * code drives both; what a target cannot do is reported, never faked. */
#ifndef CRMSYNC_CLUSTER_H
#define CRMSYNC_CLUSTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/scenario.h"

typedef struct cluster cluster_t;

/* Start the embedded broker or connect to the scenario's external target,
 * create the topics the run needs (changes, its DLQ, the connector's
 * offsets, the probe topic) and write every client property to a private
 * file (mode 0600, in a 0700 directory under $TMPDIR or /tmp, removed by
 * crmsync_cluster_close), and a copy with secret values (password,
 * secret, private key) shown as "[redacted]" to props_path. NULL + errstr
 * on failure. sc is borrowed for the call. The caller owns the result:
 * free with crmsync_cluster_close. */
cluster_t *crmsync_cluster_open(const struct scenario *sc,
                                const char *props_path, const char *log_path,
                                char *errstr, size_t errstr_size);
void       crmsync_cluster_close(cluster_t *c); /* accepts NULL */

/* bootstrap.servers of the cluster. Borrowed, valid until close. */
const char *crmsync_cluster_bootstrap(const cluster_t *c);
/* Path of the private librdkafka properties file every client of the run
 * uses (secrets included; the file lives until crmsync_cluster_close).
 * Borrowed, valid until close. */
const char *crmsync_cluster_props(const cluster_t *c);
/* Partitions of the changes topic, as read from the cluster at set-up
 * (set-up fails when they differ from the scenario's). */
int crmsync_cluster_partitions(const cluster_t *c);
/* The changes topic's end offset per partition as of set-up, before the
 * run produced anything: the run's own records start there, on a shared
 * cluster too. Borrowed, [crmsync_cluster_partitions()] entries, valid
 * until close. */
const int64_t *crmsync_cluster_start_offsets(const cluster_t *c);
/* The same as "0:OFFSET,1:OFFSET,..." (CRMSYNC_START_OFFSETS). Borrowed,
 * valid until close. */
const char *crmsync_cluster_start_spec(const cluster_t *c);
/* Partitions of the probe topic (mirrors the changes topic's leaders on
 * the embedded broker). */
int crmsync_cluster_probe_partitions(const cluster_t *c);

/* A broker-side fault: broker_restart, broker_rtt, kafka_request_errors,
 * leader_move. Returns 0 when performed (or started), -1 with why when the
 * target cannot do it. on=0 ends it. Non-blocking: external commands run
 * as child processes whose output goes to log_path. */
int crmsync_cluster_fault(cluster_t *c, const char *type, const json_t *params,
                          int on, char *why, size_t why_size);
/* Reap finished fault commands; returns how many failed so far. */
int crmsync_cluster_reap(cluster_t *c);

int crmsync_cluster_is_embedded(const cluster_t *c);

/* The end offset (high watermark) of each of topic's partitions
 * 0..partitions-1 now, read by the judge's own client (the one of
 * crmsync_cluster_group_lag). Returns 0, or -1 + errstr. */
int crmsync_cluster_end_offsets(cluster_t *c, const char *topic, int64_t *ends,
                                int partitions, char *errstr,
                                size_t errstr_size);

/* Offsets of the first record at or after ts_ms in each of the changes
 * topic's partitions (offsets[p]; -1 = none). Returns 0, or -1 + errstr
 * when the lookup itself failed. */
int crmsync_cluster_offsets_for_time(cluster_t *c, int64_t ts_ms,
                                     int64_t *offsets, int partitions,
                                     char *errstr, size_t errstr_size);

/* A consumer group's lag on the changes topic. */
struct cluster_lag {
        int64_t total;       /* records past the group's committed offsets */
        int     partitions;  /* partitions with lag */
        int     committed;   /* partitions the group has committed on */
        char    detail[256]; /* "3 (120), 7 (5)": partition (lag), first 8 */
};
#define CLUSTER_LAG_TIMEOUT_MS 2000

/* The lag of consumer group `group` on the changes topic: per partition,
 * its end offset minus the group's committed offset, or minus the run's
 * start offset where the group has committed nothing. Reads the group's
 * commits without joining it. Blocks up to a few seconds. Returns 0, or
 * -1 + errstr when the offsets could not be read. */
int crmsync_cluster_group_lag(cluster_t *c, const char *group,
                              struct cluster_lag *lag, char *errstr,
                              size_t errstr_size);

/* The target for summary.json: type, name, bootstrap, limits. A new
 * reference the caller owns (json_decref). */
json_t *crmsync_cluster_describe(const cluster_t *c);

#define CLUSTER_PROBE_TOPIC "crmsync.probe"

#endif
