/* preload.c -- a workload's changes straight to the topic (preload.h).
 * Runs on the caller's thread; librdkafka's delivery reports come back
 * through rd_kafka_poll on the same thread. */
#include "harness/preload.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "harness/kafka_conf.h"
#include "harness/kafka_log.h"

struct delivery {
        uint64_t delivered, failed;
        char     first_error[256];
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        struct delivery *d = opaque;
        (void)rk;
        if (!m->err) {
                d->delivered++;
                return;
        }
        if (!d->failed++)
                snprintf(d->first_error, sizeof(d->first_error), "%s",
                         rd_kafka_err2str(m->err));
}

/* The event as the connector would produce it (new reference). */
static json_t *envelope(const crm_workload_t *wl, const struct crm_event *ev,
                        int64_t start_wall_ms, uint64_t *moves)
{
        json_t *j = crmsync_event_to_json(ev, start_wall_ms);
        if (!j)
                return NULL;
        if (ev->change == CRM_CHANGE_UPDATE && ev->previous_account_id[0]) {
                const struct crm_record *rec =
                    crmsync_workload_find(wl, ev->entity, ev->record_id);
                if (rec) {
                        json_object_set_new(
                            j, "change_type",
                            json_string(rec->deleted ? "delete" : "update"));
                        json_object_set_new(j, "version",
                                            json_integer(rec->version));
                        json_object_set_new(j, "account_id",
                                            json_string(rec->account_id));
                        json_t *f =
                            rec->deleted ? NULL : crmsync_record_fields(rec);
                        json_object_set_new(j, "fields", f ? f : json_object());
                        json_object_set_new(j, "resolved_move", json_true());
                        json_object_set_new(j, "full_state", json_true());
                        (*moves)++;
                }
        }
        json_object_set_new(j, "connector",
                            json_pack("{s:I, s:s}", "ingest_ts_ms",
                                      (json_int_t)crmsync_wall_ms(), "via",
                                      "preload"));
        return j;
}

static rd_kafka_t *producer(const char *props_file, struct delivery *d,
                            char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t      *rk;
        char             kerr[256];

        if (crmsync_harness_kafka_conf(conf, props_file, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(conf, crmsync_kafka_log_cb);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        rd_kafka_conf_set_opaque(conf, d);
        if (rd_kafka_conf_set(conf, "enable.idempotence", "true", kerr,
                              sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "acks", "all", kerr, sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "linger.ms", "5", kerr, sizeof(kerr)) ||
            !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr)))) {
                rd_kafka_conf_destroy(conf);
                crmsync_err(errstr, errstr_size, "preload: %s", kerr);
                return NULL;
        }
        return rk;
}

int crmsync_preload_produce(const char *props_file, const char *topic,
                            const crm_workload_t *wl, int64_t start_wall_ms,
                            int timeout_ms, struct preload_result *out,
                            char *errstr, size_t errstr_size)
{
        struct delivery d = {0};
        rd_kafka_t     *rk;
        size_t          n        = crmsync_workload_event_cnt(wl);
        int64_t         t0       = crmsync_mono_ms();
        int64_t         deadline = t0 + timeout_ms;
        int             rc       = -1;

        memset(out, 0, sizeof(*out));
        if (!(rk = producer(props_file, &d, errstr, errstr_size)))
                return -1;
        for (size_t i = 0; i < n; i++) {
                const struct crm_event *ev = crmsync_workload_event(wl, i);
                json_t     *j   = envelope(wl, ev, start_wall_ms, &out->moves);
                char       *val = j ? json_dumps(j, JSON_COMPACT) : NULL;
                const char *key =
                    j ? json_string_value(json_object_get(j, "account_id"))
                      : NULL;
                rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__QUEUE_FULL;

                while (val && key && err == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
                       crmsync_mono_ms() < deadline) {
                        err = rd_kafka_producev(
                            rk, RD_KAFKA_V_TOPIC(topic),
                            RD_KAFKA_V_KEY(key, strlen(key)),
                            RD_KAFKA_V_VALUE(val, strlen(val)),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_HEADER("event_id", ev->event_id, -1),
                            RD_KAFKA_V_HEADER("schema_version", "1", -1),
                            RD_KAFKA_V_END);
                        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(rk, 10);
                }
                if (val && key && !err) {
                        out->records++;
                        out->bytes += strlen(val) + strlen(key);
                }
                free(val);
                json_decref(j);
                if (err) {
                        crmsync_err(errstr, errstr_size,
                                    "preload: change %zu: %s", i + 1,
                                    !j || !val ? "out of memory"
                                               : rd_kafka_err2str(err));
                        goto out;
                }
                rd_kafka_poll(rk, 0);
        }
        while (d.delivered + d.failed < out->records &&
               crmsync_mono_ms() < deadline)
                rd_kafka_poll(rk, 50);
        out->seconds = (double)(crmsync_mono_ms() - t0) / 1000.0;
        if (d.failed)
                crmsync_err(errstr, errstr_size,
                            "preload: %llu records not delivered (%s)",
                            (unsigned long long)d.failed, d.first_error);
        else if (d.delivered < out->records)
                crmsync_err(errstr, errstr_size,
                            "preload: %llu of %llu records delivered within "
                            "%d ms",
                            (unsigned long long)d.delivered,
                            (unsigned long long)out->records, timeout_ms);
        else
                rc = 0;
out:
        rd_kafka_flush(rk, 1000);
        rd_kafka_destroy(rk);
        return rc;
}
