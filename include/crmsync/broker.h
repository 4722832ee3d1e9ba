/* broker.h -- the embedded Kafka cluster: librdkafka's mock cluster.
 *
 * A real Kafka-protocol server on 127.0.0.1 with N brokers. Its documented
 * limits (reported in every run's summary, never hidden): at most 5 MiB or
 * 100,000 message sets per partition, no CreateTopics handler (topics are
 * created here directly), no offset lookup by timestamp, and a broker going
 * down does not move leadership. The cluster runs on librdkafka's own
 * threads; these functions are thread-safe. */
#ifndef CRMSYNC_BROKER_H
#define CRMSYNC_BROKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct crmsync_broker crmsync_broker_t;

/* Start a cluster of broker_cnt brokers. NULL + errstr on failure. The
 * caller owns the result: free with crmsync_broker_destroy. */
crmsync_broker_t *crmsync_broker_new(int broker_cnt, char *errstr,
                                     size_t errstr_size);
void crmsync_broker_destroy(crmsync_broker_t *b); /* accepts NULL */

/* "127.0.0.1:port,..." borrowed, valid until destroy. */
const char *crmsync_broker_bootstraps(const crmsync_broker_t *b);
int         crmsync_broker_count(const crmsync_broker_t *b);

int crmsync_broker_create_topic(crmsync_broker_t *b, const char *topic,
                                int partitions, int replication, char *errstr,
                                size_t errstr_size);
/* Broker ids are 1..broker_cnt. */
int crmsync_broker_set_down(crmsync_broker_t *b, int32_t broker_id);
int crmsync_broker_set_up(crmsync_broker_t *b, int32_t broker_id);
int crmsync_broker_set_rtt(crmsync_broker_t *b, int32_t broker_id, int rtt_ms);
int crmsync_broker_set_leader(crmsync_broker_t *b, const char *topic,
                              int32_t partition, int32_t broker_id);
/* Make the next cnt requests of api_key (e.g. 0 = Produce) fail with err. */
int crmsync_broker_push_errors(crmsync_broker_t *b, int16_t api_key, size_t cnt,
                               int err);
/* The broker that leads topic/partition as set by create/set_leader, or -1. */
int32_t crmsync_broker_leader(const crmsync_broker_t *b, const char *topic,
                              int32_t partition);

#endif
