/* kafka_log.h -- where the harness's own Kafka clients (auditor, probe,
 * admin client) log: a file in the run folder, so that stderr carries only
 * the run's progress and --quiet keeps it silent. */
#ifndef CRMSYNC_KAFKA_LOG_H
#define CRMSYNC_KAFKA_LOG_H

#include <librdkafka/rdkafka.h>

/* Send the log to path (appended) from now on; NULL or a failed open sends
 * it back to stderr. Call from the run's thread while no client exists or
 * while clients may log (the switch is locked). */
void crmsync_kafka_log_open(const char *path);
void crmsync_kafka_log_close(void);
/* errno of the first failed open of, or write to, the file since the last
 * crmsync_kafka_log_open; 0 when none failed. Thread-safe. */
int crmsync_kafka_log_failed(void);
/* rd_kafka_conf_set_log_cb callback; thread-safe. */
void crmsync_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                          const char *buf);

#endif
