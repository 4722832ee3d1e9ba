/* drain.c -- a plain consumer draining a range of a topic (see drain.h).
 * Runs on the caller's thread. */
#include "harness/drain.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "harness/kafka_conf.h"
#include "harness/kafka_log.h"

#define DRAIN_MAX_PARTITIONS 1024

int crmsync_drain_topic(const char *props_file, const char *topic,
                        int partitions, const int64_t *start, int timeout_ms,
                        struct drain_result *out, char *errstr,
                        size_t errstr_size)
{
        rd_kafka_conf_t                 *conf;
        rd_kafka_t                      *rk;
        rd_kafka_topic_partition_list_t *tps;
        char                             kerr[256];
        int64_t                         *end, *next;
        int64_t                          t0   = crmsync_mono_ms(), t1, deadline;
        int                              left = 0;

        memset(out, 0, sizeof(*out));
        if (partitions < 1 || partitions > DRAIN_MAX_PARTITIONS)
                return crmsync_err(errstr, errstr_size,
                                   "drain: %d partitions is out of range",
                                   partitions);
        conf = rd_kafka_conf_new();
        if (crmsync_harness_kafka_conf(conf, props_file, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_conf_set_log_cb(conf, crmsync_kafka_log_cb);
        if (rd_kafka_conf_set(conf, "group.id", "crmsync-drain", kerr,
                              sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "enable.auto.commit", "false", kerr,
                              sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "log_level", "3", kerr, sizeof(kerr))) {
                rd_kafka_conf_destroy(conf);
                return crmsync_err(errstr, errstr_size, "drain: %s", kerr);
        }
        if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr)))) {
                rd_kafka_conf_destroy(conf);
                return crmsync_err(errstr, errstr_size, "drain: %s", kerr);
        }
        rd_kafka_poll_set_consumer(rk);
        end  = calloc((size_t)partitions, sizeof(*end));
        next = calloc((size_t)partitions, sizeof(*next));
        tps  = rd_kafka_topic_partition_list_new(partitions);
        if (!end || !next || !tps) {
                crmsync_err(errstr, errstr_size, "drain: out of memory");
                goto fail;
        }
        for (int p = 0; p < partitions; p++) {
                int64_t lo = -1, hi = -1;
                if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi,
                                                     5000)) {
                        crmsync_err(errstr, errstr_size,
                                    "drain: %s [%d]: end offset unknown", topic,
                                    p);
                        goto fail;
                }
                next[p] = start && start[p] >= 0 ? start[p] : lo;
                if (next[p] < lo)
                        next[p] = lo;
                end[p] = hi;
                if (next[p] < end[p]) {
                        left++;
                        rd_kafka_topic_partition_list_add(tps, topic, p)
                            ->offset = next[p];
                }
        }
        t1           = crmsync_mono_ms();
        out->setup_s = (double)(t1 - t0) / 1000.0;
        deadline     = t1 + timeout_ms;
        rd_kafka_assign(rk, tps);
        while (left > 0 && crmsync_mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (!m)
                        continue;
                if (!m->err && m->partition >= 0 && m->partition < partitions &&
                    m->offset >= next[m->partition] &&
                    next[m->partition] < end[m->partition]) {
                        out->records++;
                        out->bytes += m->len + m->key_len;
                        next[m->partition] = m->offset + 1;
                        if (next[m->partition] >= end[m->partition])
                                left--;
                }
                rd_kafka_message_destroy(m);
        }
        out->seconds  = (double)(crmsync_mono_ms() - t1) / 1000.0;
        out->complete = left == 0;
        rd_kafka_topic_partition_list_destroy(tps);
        free(end);
        free(next);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return 0;
fail:
        if (tps)
                rd_kafka_topic_partition_list_destroy(tps);
        free(end);
        free(next);
        rd_kafka_destroy(rk);
        return -1;
}
