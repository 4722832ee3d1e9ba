/* connector_kafka.c -- the connector's Kafka side: the idempotent event
 * producer, delivery accounting, the cursor topic (store and load), naps
 * and the stats line. Everything runs on the connector's thread:
 * delivery reports are served by rd_kafka_poll()/rd_kafka_flush() here. */
#include "connector_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/dynbuf.h"

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        struct connector *c = opaque;

        if (rk == c->ork) {
                c->cursor_inflight = 0;
                if (!m->err)
                        c->st.cursors_stored++;
                if (m->err) {
                        c->cursor_failed = 1;
                        snprintf(c->last_delivery_err,
                                 sizeof(c->last_delivery_err),
                                 "cursor record: %s", rd_kafka_err2str(m->err));
                }
                return;
        }
        if (m->_private && c->on_delivery)
                c->on_delivery(c, m->_private, m->err);
        if (m->err) {
                c->st.failed++;
                c->batch_failed++;
                snprintf(c->last_delivery_err, sizeof(c->last_delivery_err),
                         "%s [%d]: %s", rd_kafka_topic_name(m->rkt),
                         (int)m->partition, rd_kafka_err2str(m->err));
        } else {
                c->st.delivered++;
        }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        struct connector   *c = opaque;
        char                buf[256];
        rd_kafka_resp_err_t ferr;

        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                ferr     = rd_kafka_fatal_error(rk, buf, sizeof(buf));
                c->fatal = 1;
                snprintf(c->fatal_err, sizeof(c->fatal_err),
                         "fatal producer error %s: %s", rd_kafka_err2name(ferr),
                         buf);
                return;
        }
        /* Broker down/transport errors are retried by librdkafka; keep
         * them visible but terse. */
        fprintf(stderr, "connector: kafka: %s: %s\n",
                rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
        (void)rk;
        if (level <= 4)
                fprintf(stderr, "connector: kafka %s: %s\n", fac, buf);
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
                    char *errstr, size_t errstr_size)
{
        char kerr[256];

        if (rd_kafka_conf_set(conf, k, v, kerr, sizeof(kerr)) ==
            RD_KAFKA_CONF_OK)
                return 0;
        return crmsync_err(errstr, errstr_size, "kafka property %s=%s: %s", k,
                           v, kerr);
}

/* Base configuration: defaults, then the properties file (which wins). */
static rd_kafka_conf_t *base_conf(struct connector *c, char *errstr,
                                  size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        if (c->cfg->bootstrap && *c->cfg->bootstrap &&
            conf_set(conf, "bootstrap.servers", c->cfg->bootstrap, errstr,
                     errstr_size))
                goto out_err;
        if (conf_set(conf, "client.id", CONNECTOR_NAME, errstr, errstr_size))
                goto out_err;
        /* Reconnect to a restarted broker within a second, not ten. */
        if (conf_set(conf, "reconnect.backoff.max.ms", "1000", errstr,
                     errstr_size))
                goto out_err;
        rd_kafka_conf_set_opaque(conf, c);
        rd_kafka_conf_set_error_cb(conf, error_cb);
        rd_kafka_conf_set_log_cb(conf, log_cb);
        return conf;
out_err:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

static int apply_file(struct connector *c, rd_kafka_conf_t *conf, char *errstr,
                      size_t errstr_size)
{
        if (!c->cfg->kafka_config || !*c->cfg->kafka_config)
                return 0;
        return crmsync_kafka_conf_file(conf, c->cfg->kafka_config, errstr,
                                       errstr_size);
}

static rd_kafka_t *new_producer(struct connector *c, int idempotent,
                                char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = base_conf(c, errstr, errstr_size);
        rd_kafka_t      *rk;
        char             kerr[256];

        if (!conf)
                return NULL;
        if (conf_set(conf, "enable.idempotence", idempotent ? "true" : "false",
                     errstr, errstr_size) ||
            conf_set(conf, "acks", "all", errstr, errstr_size) ||
            conf_set(conf, "linger.ms", idempotent ? "5" : "0", errstr,
                     errstr_size) ||
            conf_set(conf, "message.timeout.ms", "300000", errstr,
                     errstr_size) ||
            apply_file(c, conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
        if (!rk) {
                rd_kafka_conf_destroy(conf);
                crmsync_err(errstr, errstr_size, "kafka producer: %s", kerr);
        }
        return rk;
}

/* Learn the topic's leaders now rather than on the first batch: the
 * first delivery otherwise also waited for the metadata (hundreds of ms).
 * Best effort, bounded; a failure only leaves that to the first batch. */
static void warm_up(struct connector *c)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->cfg->topic, NULL);
        const struct rd_kafka_metadata *md = NULL;

        if (!rkt)
                return;
        if (rd_kafka_metadata(c->rk, 0, rkt, &md, 5000) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
}

int connector_kafka_open(struct connector *c, char *errstr, size_t errstr_size)
{
        snprintf(c->dlq_topic, sizeof(c->dlq_topic), "%s.dlq", c->cfg->topic);
        c->rk = new_producer(c, 1, errstr, errstr_size);
        if (!c->rk)
                return -1;
        warm_up(c);
        c->ork = new_producer(c, 0, errstr, errstr_size);
        if (!c->ork) {
                rd_kafka_destroy(c->rk);
                c->rk = NULL;
                return -1;
        }
        return 0;
}

void connector_kafka_close(struct connector *c)
{
        if (c->rk) {
                rd_kafka_flush(c->rk, 10000);
                rd_kafka_destroy(c->rk);
        }
        if (c->ork) {
                rd_kafka_flush(c->ork, 10000);
                rd_kafka_destroy(c->ork);
        }
        c->rk  = NULL;
        c->ork = NULL;
        crmsync_dynbuf_free(&c->env);
}

/* Produce one message with header hname = hval and schema_version 1,
 * retrying a full queue for up to 60 s. With RD_KAFKA_MSG_F_FREE the
 * value is librdkafka's on success only. 0, or -1 + errstr. */
static int produce_msg(struct connector *c, const char *topic, const char *key,
                       size_t key_len, void *value, size_t len, int msgflags,
                       const char *hname, const char *hval, ssize_t hlen,
                       char *errstr, size_t errstr_size)
{
        rd_kafka_resp_err_t err;
        int64_t             deadline = crmsync_mono_ms() + 60000;

        for (;;) {
                err = rd_kafka_producev(
                    c->rk, RD_KAFKA_V_TOPIC(topic),
                    RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, len),
                    RD_KAFKA_V_MSGFLAGS(msgflags),
                    RD_KAFKA_V_OPAQUE(c->msg_opaque),
                    RD_KAFKA_V_HEADER(hname, hval, hlen),
                    RD_KAFKA_V_HEADER("schema_version", "1", -1),
                    RD_KAFKA_V_END);
                if (!err) {
                        c->st.produced++;
                        return 0;
                }
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
                    crmsync_mono_ms() > deadline)
                        break;
                rd_kafka_poll(c->rk, 100);
        }
        return crmsync_err(errstr, errstr_size, "produce to %s: %s", topic,
                           rd_kafka_err2str(err));
}

/* Hand one record to librdkafka; waits out a full queue (bounded). Takes
 * ownership of value (malloc'ed) on success and on failure. */
static int produce_raw(struct connector *c, const char *topic, const char *key,
                       char *value, size_t len, const char *event_id,
                       const char *dlq_reason, char *errstr, size_t errstr_size)
{
        int rc = produce_msg(
            c, topic, key, key ? strlen(key) : 0, value, len,
            RD_KAFKA_MSG_F_FREE, dlq_reason ? "dlq_reason" : "event_id",
            dlq_reason ? dlq_reason : event_id, -1, errstr, errstr_size);
        if (rc)
                free(value);
        return rc;
}

int connector_produce_dlq(struct connector *c, const char *payload, size_t len,
                          const char *key, const char *reason)
{
        char *copy = malloc(len + 1);
        char  errstr[256];

        if (!copy)
                return -1;
        memcpy(copy, payload, len);
        copy[len] = '\0';
        if (produce_raw(c, c->dlq_topic, key, copy, len, NULL, reason, errstr,
                        sizeof(errstr))) {
                fprintf(stderr, "connector: dlq: %s\n", errstr);
                return -1;
        }
        c->st.dlq++;
        return 0;
}

int connector_produce_event(struct connector *c, const json_t *ev,
                            const char *cursor, const char *via, char *errstr,
                            size_t errstr_size)
{
        char        why[200];
        const char *key, *eid;
        json_t     *env;
        char       *value;

        if (connector_event_check(ev, why, sizeof(why))) {
                char *raw = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
                char  reason[256];
                snprintf(reason, sizeof(reason), "malformed_event: %s", why);
                fprintf(stderr, "connector: %s; sent to %s\n", reason,
                        c->dlq_topic);
                if (raw)
                        connector_produce_dlq(c, raw, strlen(raw), NULL,
                                              reason);
                free(raw);
                /* Ask for a repair: what the event changed is re-read from
                 * the objects API (the whole entity type, since when). */
                {
                        const char *ent =
                            json_string_value(json_object_get(ev, "entity"));
                        json_t *ts    = json_object_get(ev, "commit_ts_ms");
                        int64_t since = json_is_integer(ts)
                                            ? json_integer_value(ts) - 1000
                                            : crmsync_wall_ms() - 60000;
                        int     known = ent && (!strcmp(ent, "account") ||
                                            !strcmp(ent, "contact") ||
                                            !strcmp(ent, "opportunity") ||
                                            !strcmp(ent, "entitlement"));
                        if (!c->repair_since_ms) {
                                c->repair_since_ms = since;
                                snprintf(c->repair_entity,
                                         sizeof(c->repair_entity), "%s",
                                         known ? ent : "");
                        } else {
                                if (since < c->repair_since_ms)
                                        c->repair_since_ms = since;
                                if (!known || strcmp(c->repair_entity, ent))
                                        c->repair_entity[0] = '\0';
                        }
                }
                return 0;
        }
        key = connector_event_key(ev, c->cfg->bugs);
        eid = json_string_value(json_object_get(ev, "event_id"));
        if (json_object_get(ev, "connector")) {
                env = connector_envelope(ev, cursor, crmsync_wall_ms(), via);
                if (!env)
                        return crmsync_err(errstr, errstr_size,
                                           "out of memory");
                value = json_dumps(env, JSON_COMPACT);
                json_decref(env);
        } else {
                value = connector_envelope_dumps(ev, cursor, crmsync_wall_ms(),
                                                 via);
        }
        if (!value)
                return crmsync_err(errstr, errstr_size, "out of memory");
        return produce_raw(c, c->cfg->topic, key, value, strlen(value), eid,
                           NULL, errstr, errstr_size);
}

int connector_produce_raw_event(struct connector *c, const char *text,
                                size_t len, const char *key, size_t key_len,
                                const char *eid, size_t eid_len,
                                const char *cursor, const char *via,
                                char *errstr, size_t errstr_size)
{
        crmsync_dynbuf_reset(&c->env);
        if (connector_envelope_raw(text, len, cursor, crmsync_wall_ms(), via,
                                   &c->env))
                return crmsync_err(errstr, errstr_size,
                                   "out of memory (envelope)");
        /* Copied by librdkafka into the message's own allocation: one
         * malloc per record, the envelope buffer is reused. */
        return produce_msg(c, c->cfg->topic, key, key_len, c->env.buf,
                           c->env.len, RD_KAFKA_MSG_F_COPY, "event_id", eid,
                           (ssize_t)eid_len, errstr, errstr_size);
}

void connector_delivery_reset(struct connector *c)
{
        c->batch_failed         = 0;
        c->last_delivery_err[0] = '\0';
}

int connector_wait_delivered(struct connector *c)
{
        int64_t stop_deadline = 0, t0 = crmsync_mono_ms();

        while (rd_kafka_outq_len(c->rk) > 0) {
                rd_kafka_flush(c->rk, 100);
                connector_stats_maybe(c, 0);
                if (c->fatal)
                        return -1;
                if (*c->stop) {
                        if (!stop_deadline)
                                stop_deadline = crmsync_mono_ms() + 10000;
                        else if (crmsync_mono_ms() > stop_deadline)
                                return -1;
                }
        }
        rd_kafka_poll(c->rk, 0);
        c->st.ms_wait += crmsync_mono_ms() - t0;
        return (int)c->batch_failed;
}

/* Wait (bounded) until no cursor record is in flight. Returns 0, or -1
 * when one still is after 30 s. */
static int cursor_settle(struct connector *c)
{
        int64_t deadline = crmsync_mono_ms() + 30000, t0 = crmsync_mono_ms();

        while (c->cursor_inflight && crmsync_mono_ms() < deadline) {
                rd_kafka_flush(c->ork, 100);
                rd_kafka_poll(c->rk, 0);
                connector_stats_maybe(c, 0);
        }
        c->st.ms_cursor += crmsync_mono_ms() - t0;
        return c->cursor_inflight ? -1 : 0;
}

static int store_cursor(struct connector *c, const char *cursor, int wait,
                        char *errstr, size_t errstr_size)
{
        json_t             *v = json_object();
        char               *value;
        rd_kafka_resp_err_t err;

        /* One cursor record in flight at a time: they stay in order. */
        if (cursor_settle(c))
                return crmsync_err(errstr, errstr_size,
                                   "store cursor in %s: no delivery report "
                                   "within 30 s",
                                   c->cfg->offsets_topic);
        json_object_set_new(v, "cursor", json_string(cursor));
        json_object_set_new(v, "ts_ms", json_integer(crmsync_wall_ms()));
        value = json_dumps(v, JSON_COMPACT);
        json_decref(v);
        if (!value)
                return crmsync_err(errstr, errstr_size, "out of memory");
        c->cursor_inflight = 1;
        c->cursor_failed   = 0;
        /* Partition 0 explicitly: the reader reads only that one, even if
         * the topic was auto-created with several partitions. */
        err = rd_kafka_producev(
            c->ork, RD_KAFKA_V_TOPIC(c->cfg->offsets_topic),
            RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_KEY(c->cursor_key, strlen(c->cursor_key)),
            RD_KAFKA_V_VALUE(value, strlen(value)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
        if (err) {
                free(value);
                c->cursor_inflight = 0;
                return crmsync_err(
                    errstr, errstr_size, "store cursor in %s: %s",
                    c->cfg->offsets_topic, rd_kafka_err2str(err));
        }
        if (!wait) {
                /* Its delivery is awaited before the next store (or at
                 * close); a lost one only means a re-read (duplicates). */
                snprintf(c->cursor, sizeof(c->cursor), "%s", cursor);
                rd_kafka_poll(c->ork, 0);
                return 0;
        }
        if (cursor_settle(c))
                return crmsync_err(errstr, errstr_size,
                                   "store cursor in %s: no delivery report "
                                   "within 30 s",
                                   c->cfg->offsets_topic);
        if (c->cursor_failed)
                return crmsync_err(errstr, errstr_size, "store cursor: %s",
                                   c->last_delivery_err);
        snprintf(c->cursor, sizeof(c->cursor), "%s", cursor);
        return 0;
}

int connector_store_cursor(struct connector *c, const char *cursor,
                           char *errstr, size_t errstr_size)
{
        return store_cursor(c, cursor, 1, errstr, errstr_size);
}

int connector_store_cursor_async(struct connector *c, const char *cursor,
                                 char *errstr, size_t errstr_size)
{
        return store_cursor(c, cursor, 0, errstr, errstr_size);
}

int connector_load_cursor(struct connector *c, char *out, size_t out_size,
                          char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = base_conf(c, errstr, errstr_size);
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_t                      *rk;
        char                             kerr[256];
        int64_t                          deadline, t0 = crmsync_mono_ms();
        int                              rc = -1, eof = 0;
        uint64_t                         records = 0;

        out[0] = '\0';
        if (!conf)
                return -1;
        if (conf_set(conf, "group.id", CONNECTOR_NAME "-cursor-reader", errstr,
                     errstr_size) ||
            conf_set(conf, "enable.auto.commit", "false", errstr,
                     errstr_size) ||
            conf_set(conf, "enable.partition.eof", "true", errstr,
                     errstr_size) ||
            conf_set(conf, "auto.offset.reset", "earliest", errstr,
                     errstr_size) ||
            conf_set(conf, "fetch.wait.max.ms", "10", errstr, errstr_size) ||
            apply_file(c, conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        /* The file may hold producer properties: the consumer ignores them
         * with a log line, which our log_cb shows at warning level. */
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr));
        if (!rk) {
                rd_kafka_conf_destroy(conf);
                return crmsync_err(errstr, errstr_size, "cursor reader: %s",
                                   kerr);
        }
        parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, c->cfg->offsets_topic, 0)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
        if (rd_kafka_assign(rk, parts)) {
                crmsync_err(errstr, errstr_size,
                            "cursor reader: assign "
                            "failed");
                goto out;
        }
        deadline = crmsync_mono_ms() + 30000;
        while (!eof && crmsync_mono_ms() < deadline && !*c->stop) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                json_t             *v;
                const char         *cur;

                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eof = 1;
                } else if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                           m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
                        crmsync_err(errstr, errstr_size,
                                    "cursor topic %s does not exist",
                                    c->cfg->offsets_topic);
                        rd_kafka_message_destroy(m);
                        goto out;
                } else if (m->err) {
                        fprintf(stderr, "connector: cursor reader: %s\n",
                                rd_kafka_message_errstr(m));
                } else if (m->key_len == strlen(c->cursor_key) &&
                           !memcmp(m->key, c->cursor_key, m->key_len)) {
                        records++;
                        v   = json_loadb(m->payload, m->len, 0, NULL);
                        cur = json_string_value(json_object_get(v, "cursor"));
                        /* Last value wins (the mock has no compaction). */
                        if (cur && strlen(cur) < out_size)
                                snprintf(out, out_size, "%s", cur);
                        json_decref(v);
                }
                rd_kafka_message_destroy(m);
        }
        if (!eof) {
                crmsync_err(errstr, errstr_size,
                            "cursor topic %s not readable to its end within "
                            "30 s",
                            c->cfg->offsets_topic);
                goto out;
        }
        fprintf(stderr,
                "connector: cursor topic %s: %llu record(s) for %s "
                "read in %lld ms, resuming from %s\n",
                c->cfg->offsets_topic, (unsigned long long)records,
                c->cursor_key, (long long)(crmsync_mono_ms() - t0),
                *out ? out : "(start)");
        rc = 0;
out:
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return rc;
}

void connector_nap(struct connector *c, int64_t ms)
{
        int64_t end = crmsync_mono_ms() + ms;

        while (!*c->stop) {
                int64_t left = end - crmsync_mono_ms();
                if (left <= 0)
                        break;
                rd_kafka_poll(c->rk, (int)(left < 100 ? left : 100));
                rd_kafka_poll(c->ork, 0);
                connector_stats_maybe(c, 0);
        }
}

/* The cursor as logs may show it. The webhook mode's state record
 * ({"port":..,"secret":..}) carries the HMAC secret: its value is replaced
 * by "[redacted]", so no secret reaches connector.log. */
static void cursor_for_log(const char *cursor, char *out, size_t out_size)
{
        json_t *st;
        char   *txt;

        if (!*cursor) {
                snprintf(out, out_size, "(start)");
                return;
        }
        st = cursor[0] == '{' ? json_loads(cursor, 0, NULL) : NULL;
        if (!json_is_object(st)) {
                json_decref(st);
                /* A feed or poll cursor; text that only looks like an
                 * object is not shown, in case it holds a secret. */
                snprintf(out, out_size, "%s",
                         cursor[0] == '{' ? "(unreadable state)" : cursor);
                return;
        }
        if (json_object_get(st, "secret"))
                json_object_set_new(st, "secret", json_string("[redacted]"));
        txt = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(out, out_size, "%s", txt ? txt : "(state)");
        free(txt);
        json_decref(st);
}

void connector_stats_maybe(struct connector *c, int force)
{
        int64_t now = crmsync_mono_ms();
        char    cur[CONNECTOR_CURSOR_MAX];

        if (!force && now < c->next_stats_ms)
                return;
        c->next_stats_ms = now + CONNECTOR_STATS_EVERY_MS;
        cursor_for_log(c->cursor, cur, sizeof(cur));
        fprintf(stderr,
                "connector: stats polled=%llu produced=%llu delivered=%llu "
                "failed=%llu dlq=%llu gaps=%llu moves=%llu resyncs=%llu "
                "throttled=%llu "
                "http_errors=%llu cursors_stored=%llu outq=%d cursor=%s "
                "ms_page=%lld ms_lookup=%lld ms_produce=%lld ms_wait=%lld "
                "ms_cursor=%lld\n",
                (unsigned long long)c->st.polled,
                (unsigned long long)c->st.produced,
                (unsigned long long)c->st.delivered,
                (unsigned long long)c->st.failed, (unsigned long long)c->st.dlq,
                (unsigned long long)c->st.gaps, (unsigned long long)c->st.moves,
                (unsigned long long)c->st.resyncs,
                (unsigned long long)c->st.throttled,
                (unsigned long long)c->st.http_errors,
                (unsigned long long)c->st.cursors_stored,
                c->rk ? rd_kafka_outq_len(c->rk) : 0, cur,
                (long long)c->st.ms_page, (long long)c->st.ms_lookup,
                (long long)c->st.ms_produce, (long long)c->st.ms_wait,
                (long long)c->st.ms_cursor);
}
