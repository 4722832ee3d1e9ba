/* kafka_conf.h -- the judge's own Kafka configuration path: the auditor,
 * the probe and the cluster set-up read a properties file into their
 * rd_kafka_conf_t here, not through the pipeline's code. */
#ifndef CRMSYNC_HARNESS_KAFKA_CONF_H
#define CRMSYNC_HARNESS_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Apply the properties of the file at path (lib/kafka_props.c format) to
 * conf, which stays the caller's. Returns 0, or -1 + errstr naming
 * file:line and, for a property librdkafka refuses, its reason. */
int crmsync_harness_kafka_conf(rd_kafka_conf_t *conf, const char *path,
                               char *errstr, size_t errstr_size);

#endif
