/* profiler_kafka.c -- the reference profiler's Kafka clients: their
 * configuration, the consumer's rebalances (where a newly assigned
 * partition starts) and the DLQ producer. */
#include "profiler_int.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/kafka_props.h"

/* Cooperative revoke: forget what we hold of the revoked partitions. */
static void drop_partitions(struct profiler                       *p,
                            const rd_kafka_topic_partition_list_t *parts)
{
        size_t k = 0;
        for (size_t i = 0; i < p->nents; i++) {
                struct prof_pending *e = &p->ents[i];
                if (rd_kafka_topic_partition_list_find(parts, p->cfg->topic,
                                                       e->partition)) {
                        profiler_dedupe_forget(p->dedupe, e->op.event_id);
                        profiler_op_clear(&e->op);
                } else {
                        p->ents[k++] = *e;
                }
        }
        p->nents = k;
        k        = 0;
        for (size_t i = 0; i < p->noffs; i++)
                if (!rd_kafka_topic_partition_list_find(parts, p->cfg->topic,
                                                        p->offs[i].partition))
                        p->offs[k++] = p->offs[i];
        p->noffs = k;
}

/* ---- librdkafka callbacks ---------------------------------------------- */

/* Readiness contract with the harness: create $CRMSYNC_READY_FILE once
 * partitions are assigned, so the CRM's clock starts after the join. */
static void signal_ready(void)
{
        const char *path = getenv("CRMSYNC_READY_FILE");
        FILE       *fp;
        if (path && *path && (fp = fopen(path, "w")))
                fclose(fp);
}

/* Where to start each newly assigned partition when the run gave start
 * offsets: at the group's committed offset if it has one, else at the
 * run's start offset (not at auto.offset.reset, which on a shared topic
 * would read earlier runs' records). New list, the caller destroys it. */
static rd_kafka_topic_partition_list_t *
start_positions(struct profiler                       *p,
                const rd_kafka_topic_partition_list_t *parts)
{
        rd_kafka_topic_partition_list_t *at =
            rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;

        for (int attempt = 0; attempt < 3 && err; attempt++)
                err = rd_kafka_committed(p->rk, at, 5000);
        if (err)
                profiler_log("committed offsets unknown (%s): starting at the "
                             "run's start offsets",
                             rd_kafka_err2str(err));
        for (int i = 0; i < at->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &at->elems[i];
                int64_t                     start =
                    tp->partition >= 0 &&
                            tp->partition < CRMSYNC_START_OFFSETS_MAX
                                            ? p->start_offs[tp->partition]
                                            : -1;
                int64_t committed = err || tp->err ? -1 : tp->offset;
                tp->err           = RD_KAFKA_RESP_ERR_NO_ERROR;
                if (committed >= 0)
                        tp->offset = committed > start ? committed : start;
                else
                        tp->offset =
                            start >= 0 ? start : RD_KAFKA_OFFSET_INVALID;
        }
        return at;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        struct profiler *p = opaque;
        int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
        rd_kafka_error_t *e = NULL;

        switch (err) {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                profiler_log("assigned %d partition(s)", parts->cnt);
                signal_ready();
                if (p->cfg->from_ts_ms && !p->from_ts_done) {
                        /* Replay from a time: look the offsets up (a
                         * partition with nothing at or after it starts at
                         * its end). Later assignments use commits. */
                        rd_kafka_topic_partition_list_t *at =
                            rd_kafka_topic_partition_list_copy(parts);
                        rd_kafka_resp_err_t lerr;
                        for (int i = 0; i < at->cnt; i++)
                                at->elems[i].offset = p->cfg->from_ts_ms;
                        lerr = rd_kafka_offsets_for_times(rk, at, 10000);
                        for (int i = 0; i < at->cnt; i++)
                                if (lerr || at->elems[i].err ||
                                    at->elems[i].offset < 0)
                                        at->elems[i].offset =
                                            RD_KAFKA_OFFSET_END;
                        profiler_log(
                            "replaying from timestamp %lld (lookup: %s)",
                            (long long)p->cfg->from_ts_ms,
                            rd_kafka_err2str(lerr));
                        p->from_ts_done = 1;
                        if (coop)
                                e = rd_kafka_incremental_assign(rk, at);
                        else
                                rd_kafka_assign(rk, at);
                        rd_kafka_topic_partition_list_destroy(at);
                        break;
                }
                if (p->start_offs) {
                        rd_kafka_topic_partition_list_t *at =
                            start_positions(p, parts);
                        if (coop)
                                e = rd_kafka_incremental_assign(rk, at);
                        else
                                rd_kafka_assign(rk, at);
                        rd_kafka_topic_partition_list_destroy(at);
                        break;
                }
                if (coop)
                        e = rd_kafka_incremental_assign(rk, parts);
                else
                        rd_kafka_assign(rk, parts);
                break;
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                profiler_log("revoked %d partition(s)%s: flushing the batch",
                             parts->cnt,
                             rd_kafka_assignment_lost(rk) ? " (lost)" : "");
                /* Write and commit what we hold for these partitions
                 * before they move; what cannot be written (stopping, or
                 * parked) is dropped uncommitted: the next owner gets it.
                 * The batch in flight first (it comes back here). */
                profiler_writer_wait(p);
                if (profiler_flush_batch(p) || !coop)
                        profiler_batch_reset(p);
                else
                        drop_partitions(p, parts);
                if (coop)
                        e = rd_kafka_incremental_unassign(rk, parts);
                else
                        rd_kafka_assign(rk, NULL);
                break;
        default:
                profiler_log("rebalance error: %s", rd_kafka_err2str(err));
                rd_kafka_assign(rk, NULL);
                break;
        }
        if (e) {
                profiler_log("rebalance: %s", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
        }
}

void profiler_error_cb(rd_kafka_t *rk, int err, const char *reason,
                       void *opaque)
{
        struct profiler *p = opaque;
        (void)rk;
        p->st.kafka_errors++;
        int64_t now = crmsync_mono_ms();
        if (now - p->last_err_log_ms >= 1000) {
                profiler_log("kafka: %s: %s",
                             rd_kafka_err2name((rd_kafka_resp_err_t)err),
                             reason);
                p->last_err_log_ms = now;
        }
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        (void)rk;
        (void)opaque;
        if (m->err)
                profiler_log("DLQ delivery failed: %s",
                             rd_kafka_err2str(m->err));
}

static rd_kafka_conf_t *make_conf(const struct profiler_config *cfg,
                                  int consumer, char *errstr,
                                  size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char             kerr[256];
        /* Consumer defaults a properties file may override:
         * - a short fetch wait bounds latency where a broker does not wake
         *   a waiting fetch when data arrives (the embedded mock cluster
         *   waits it out);
         * - a short session lets a restarted profiler take its partitions
         *   back in seconds instead of waiting 45 s for the dead member;
         * - a socket timeout of 10 s retries a fetch left in flight on a
         *   broker that went down (60 s by default), and stays above the
         *   session timeout: a SyncGroup the embedded mock holds until a
         *   stale member's session ends must not time out first (the
         *   mock then aborts on its next SyncGroup; docs/kafka.md). */
        if (consumer && (rd_kafka_conf_set(conf, "fetch.wait.max.ms", "50",
                                           kerr, sizeof(kerr)) ||
                         rd_kafka_conf_set(conf, "session.timeout.ms", "6000",
                                           kerr, sizeof(kerr)) ||
                         rd_kafka_conf_set(conf, "heartbeat.interval.ms",
                                           "1000", kerr, sizeof(kerr)) ||
                         rd_kafka_conf_set(conf, "reconnect.backoff.max.ms",
                                           "1000", kerr, sizeof(kerr)) ||
                         rd_kafka_conf_set(conf, "socket.timeout.ms", "10000",
                                           kerr, sizeof(kerr))))
                profiler_log("default consumer property refused: %s", kerr);
        if (cfg->kafka_config &&
            crmsync_kafka_conf_file(conf, cfg->kafka_config, errstr,
                                    errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        if (cfg->bootstrap &&
            rd_kafka_conf_set(conf, "bootstrap.servers", cfg->bootstrap, kerr,
                              sizeof(kerr)) != RD_KAFKA_CONF_OK) {
                crmsync_err(errstr, errstr_size, "bootstrap.servers: %s", kerr);
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        return conf;
}

static int set_all(rd_kafka_conf_t *conf, const char *const *kv, char *errstr,
                   size_t errstr_size)
{
        char kerr[256];
        for (; kv[0]; kv += 2)
                if (rd_kafka_conf_set(conf, kv[0], kv[1], kerr, sizeof(kerr)) !=
                    RD_KAFKA_CONF_OK)
                        return crmsync_err(errstr, errstr_size, "%s=%s: %s",
                                           kv[0], kv[1], kerr);
        return 0;
}

int profiler_open_kafka(struct profiler *p, char *errstr, size_t errstr_size)
{
        const struct profiler_config *cfg = p->cfg;
        char                          kerr[512];
        const char *const             cons[] = {
                        "group.id",
                        cfg->group_id,
                        "enable.auto.commit",
                        "false",
                        "enable.auto.offset.store",
                        "false",
                        "auto.offset.reset",
            cfg->offset_reset ? cfg->offset_reset : "earliest",
                        "client.id",
                        "crmsync-profiler",
                        NULL,
                        NULL,
        };
        rd_kafka_conf_t *conf = make_conf(cfg, 1, errstr, errstr_size);
        if (!conf)
                return -1;
        if (set_all(conf, cons, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_conf_set_opaque(conf, p);
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
        rd_kafka_conf_set_error_cb(conf, profiler_error_cb);
        p->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr));
        if (!p->rk) {
                rd_kafka_conf_destroy(conf);
                return crmsync_err(errstr, errstr_size, "consumer: %s", kerr);
        }
        rd_kafka_poll_set_consumer(p->rk);

        const char *const prod[] = {
            "enable.idempotence", "true", "client.id", "crmsync-profiler-dlq",
            "linger.ms",          "5",    NULL,        NULL,
        };
        if (!(conf = make_conf(cfg, 0, errstr, errstr_size)))
                return -1;
        if (set_all(conf, prod, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_conf_set_opaque(conf, p);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        rd_kafka_conf_set_error_cb(conf, profiler_error_cb);
        p->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
        if (!p->dlq) {
                rd_kafka_conf_destroy(conf);
                return crmsync_err(errstr, errstr_size, "DLQ producer: %s",
                                   kerr);
        }

        rd_kafka_topic_partition_list_t *sub =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, cfg->topic,
                                          RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(p->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err)
                return crmsync_err(errstr, errstr_size, "subscribe %s: %s",
                                   cfg->topic, rd_kafka_err2str(err));
        return 0;
}
