/* compat_admin.c -- the checklist's admin items (CreateTopics,
 * DeleteTopics, DescribeConfigs, DeleteRecords), the compacted topic with
 * tombstones, the largest accepted message and the latency figures
 * (compat.h). Every admin request waits at most the probe's timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "harness/compat_int.h"

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

enum {
        API_CREATE_TOPICS    = 19,
        API_DELETE_TOPICS    = 20,
        API_DELETE_RECORDS   = 21,
        API_DESCRIBE_CONFIGS = 32,
};

static const char *status_of(struct compat *cp, int ok, int key)
{
        if (ok)
                return "pass";
        return crmsync_compat_has_api(cp, key) == 0 ? "unsupported" : "fail";
}

/* An admin client (a producer handle) and its result queue. */
struct admin {
        rd_kafka_t              *rk;
        rd_kafka_queue_t        *q;
        rd_kafka_AdminOptions_t *opt;
        char                     err[512];
};

/* The admin request's API key, when the broker does not list it. */
static int admin_key(rd_kafka_admin_op_t op)
{
        switch (op) {
        case RD_KAFKA_ADMIN_OP_CREATETOPICS:
                return API_CREATE_TOPICS;
        case RD_KAFKA_ADMIN_OP_DELETETOPICS:
                return API_DELETE_TOPICS;
        case RD_KAFKA_ADMIN_OP_DELETERECORDS:
                return API_DELETE_RECORDS;
        default:
                return API_DESCRIBE_CONFIGS;
        }
}

/* An admin client for op, or -1 with a->err: also when the broker does
 * not list op's API (asking would only wait for a controller that never
 * answers it). */
static int admin_open(struct compat *cp, struct admin *a,
                      rd_kafka_admin_op_t op)
{
        memset(a, 0, sizeof(*a));
        if (crmsync_compat_has_api(cp, admin_key(op)) == 0) {
                snprintf(a->err, sizeof(a->err),
                         "the broker does not list API key %d in its "
                         "ApiVersions answer",
                         admin_key(op));
                return -1;
        }
        if (!(a->rk = crmsync_compat_client(cp, RD_KAFKA_PRODUCER, 1, NULL,
                                            a->err, sizeof(a->err))))
                return -1;
        a->q   = rd_kafka_queue_new(a->rk);
        a->opt = rd_kafka_AdminOptions_new(a->rk, op);
        rd_kafka_AdminOptions_set_request_timeout(a->opt, cp->timeout_ms, NULL,
                                                  0);
        rd_kafka_AdminOptions_set_operation_timeout(a->opt, cp->timeout_ms,
                                                    NULL, 0);
        return 0;
}

/* The result event, or NULL with a->err when none came in time. */
static rd_kafka_event_t *admin_wait(struct compat *cp, struct admin *a)
{
        rd_kafka_event_t *ev = rd_kafka_queue_poll(a->q, cp->timeout_ms + 2000);
        if (!ev)
                snprintf(a->err, sizeof(a->err), "no answer within %d ms",
                         cp->timeout_ms + 2000);
        else if (rd_kafka_event_error(ev))
                snprintf(a->err, sizeof(a->err), "%s",
                         rd_kafka_event_error_string(ev));
        return ev;
}

static void admin_close(struct admin *a)
{
        if (a->opt)
                rd_kafka_AdminOptions_destroy(a->opt);
        if (a->q)
                rd_kafka_queue_destroy(a->q);
        if (a->rk)
                rd_kafka_destroy(a->rk);
}

/* CreateTopics of one topic; "already exists" counts as created. Returns
 * 0, or -1 with err. */
static int create_topic(struct compat *cp, const char *topic, int compact,
                        char *err, size_t size)
{
        struct admin         a;
        rd_kafka_NewTopic_t *nt;
        rd_kafka_event_t    *ev;
        int                  rc = -1;
        int repl = cp->t->replication > 0 ? cp->t->replication : 1;

        if (admin_open(cp, &a, RD_KAFKA_ADMIN_OP_CREATETOPICS)) {
                snprintf(err, size, "%s", a.err);
                return -1;
        }
        nt = rd_kafka_NewTopic_new(topic, 1, repl, a.err, sizeof(a.err));
        if (compact)
                rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
        rd_kafka_CreateTopics(a.rk, &nt, 1, a.opt, a.q);
        rd_kafka_NewTopic_destroy(nt);
        if ((ev = admin_wait(cp, &a)) && !rd_kafka_event_error(ev)) {
                size_t                          n;
                const rd_kafka_topic_result_t **r =
                    rd_kafka_CreateTopics_result_topics(
                        rd_kafka_event_CreateTopics_result(ev), &n);
                rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(r[0])
                                          : RD_KAFKA_RESP_ERR__FAIL;
                if (!e || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        rc = 0;
                else
                        snprintf(a.err, sizeof(a.err), "%s",
                                 n && rd_kafka_topic_result_error_string(r[0])
                                     ? rd_kafka_topic_result_error_string(r[0])
                                     : rd_kafka_err2str(e));
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        snprintf(err, size, "%s", rc ? a.err : "");
        admin_close(&a);
        return rc;
}

void crmsync_compat_prepare(struct compat *cp)
{
        char err[512];
        if (cp->emb || !cp->t->create_topics)
                return;
        create_topic(cp, COMPAT_TOPIC, 0, err, sizeof(err));
        create_topic(cp, COMPAT_COMPACTED_TOPIC, 1, err, sizeof(err));
}

static int delete_topic(struct compat *cp, const char *topic, char *err,
                        size_t size)
{
        struct admin            a;
        rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
        rd_kafka_event_t       *ev;
        int                     rc = -1;

        if (admin_open(cp, &a, RD_KAFKA_ADMIN_OP_DELETETOPICS)) {
                rd_kafka_DeleteTopic_destroy(dt);
                snprintf(err, size, "%s", a.err);
                return -1;
        }
        rd_kafka_DeleteTopics(a.rk, &dt, 1, a.opt, a.q);
        rd_kafka_DeleteTopic_destroy(dt);
        if ((ev = admin_wait(cp, &a)) && !rd_kafka_event_error(ev)) {
                size_t                          n;
                const rd_kafka_topic_result_t **r =
                    rd_kafka_DeleteTopics_result_topics(
                        rd_kafka_event_DeleteTopics_result(ev), &n);
                rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(r[0])
                                          : RD_KAFKA_RESP_ERR__FAIL;
                if (!e)
                        rc = 0;
                else
                        snprintf(a.err, sizeof(a.err), "%s",
                                 rd_kafka_err2str(e));
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        snprintf(err, size, "%s", rc ? a.err : "");
        admin_close(&a);
        return rc;
}

static void create_delete(struct compat *cp)
{
        char topic[128], err[512], api[128];
        int  made;

        snprintf(topic, sizeof(topic), "crmsync.probe.create-%s", cp->suffix);
        crmsync_compat_log_reset(cp);
        made = !create_topic(cp, topic, 0, err, sizeof(err));
        crmsync_compat_api_used(cp, NAMES("CreateTopics"), api, sizeof(api));
        crmsync_compat_item(cp, "CreateTopics",
                            status_of(cp, made, API_CREATE_TOPICS), api, err,
                            made ? topic : "");
        crmsync_compat_log_reset(cp);
        if (made) {
                int gone = !delete_topic(cp, topic, err, sizeof(err));
                crmsync_compat_api_used(cp, NAMES("DeleteTopics"), api,
                                        sizeof(api));
                crmsync_compat_item(cp, "DeleteTopics",
                                    status_of(cp, gone, API_DELETE_TOPICS), api,
                                    err, gone ? topic : "");
                return;
        }
        /* Nothing to delete: a topic that does not exist must get its
         * own answer (UNKNOWN_TOPIC_OR_PART), not an unsupported one. */
        delete_topic(cp, topic, err, sizeof(err));
        crmsync_compat_api_used(cp, NAMES("DeleteTopics"), api, sizeof(api));
        crmsync_compat_item(
            cp, "DeleteTopics",
            crmsync_compat_has_api(cp, API_DELETE_TOPICS) == 0 ? "unsupported"
            : strstr(err, "nknown topic")                      ? "pass"
                                                               : "fail",
            api, err,
            "no topic could be created: asked to delete one that does not "
            "exist");
}

/* DescribeConfigs of topic: cleanup.policy and retention.ms into
 * figures (governance). Returns 0 when answered. */
static int describe(struct compat *cp, const char *topic, char *policy,
                    size_t psize, char *err, size_t esize)
{
        struct admin               a;
        rd_kafka_ConfigResource_t *res;
        rd_kafka_event_t          *ev;
        int                        rc = -1;

        if (admin_open(cp, &a, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS)) {
                snprintf(err, esize, "%s", a.err);
                return -1;
        }
        res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
        rd_kafka_DescribeConfigs(a.rk, &res, 1, a.opt, a.q);
        rd_kafka_ConfigResource_destroy(res);
        if ((ev = admin_wait(cp, &a)) && !rd_kafka_event_error(ev)) {
                size_t                            n, nc;
                const rd_kafka_ConfigResource_t **rs =
                    rd_kafka_DescribeConfigs_result_resources(
                        rd_kafka_event_DescribeConfigs_result(ev), &n);
                if (n && !rd_kafka_ConfigResource_error(rs[0])) {
                        const rd_kafka_ConfigEntry_t **ce =
                            rd_kafka_ConfigResource_configs(rs[0], &nc);
                        for (size_t i = 0; i < nc; i++) {
                                const char *k =
                                    rd_kafka_ConfigEntry_name(ce[i]);
                                const char *v =
                                    rd_kafka_ConfigEntry_value(ce[i]);
                                if (!strcmp(k, "cleanup.policy"))
                                        snprintf(policy, psize, "%s",
                                                 v ? v : "");
                                if (!strcmp(topic, COMPAT_TOPIC) &&
                                    (!strcmp(k, "cleanup.policy") ||
                                     !strcmp(k, "retention.ms") ||
                                     !strcmp(k, "retention.bytes")))
                                        json_object_set_new(
                                            cp->figures, k,
                                            json_string(v ? v : ""));
                        }
                        rc = 0;
                } else if (n) {
                        snprintf(a.err, sizeof(a.err), "%s",
                                 rd_kafka_ConfigResource_error_string(rs[0]));
                }
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        snprintf(err, esize, "%s", rc ? a.err : "");
        admin_close(&a);
        return rc;
}

static void describe_configs(struct compat *cp)
{
        char policy[64] = "", err[512], api[128], detail[256];
        int  ok;
        crmsync_compat_log_reset(cp);
        ok = !describe(cp, COMPAT_TOPIC, policy, sizeof(policy), err,
                       sizeof(err));
        crmsync_compat_api_used(cp, NAMES("DescribeConfigs"), api, sizeof(api));
        snprintf(detail, sizeof(detail),
                 "%s: cleanup.policy=%s retention.ms=%s", COMPAT_TOPIC,
                 ok ? policy : "?",
                 ok && json_string_value(
                           json_object_get(cp->figures, "retention.ms"))
                     ? json_string_value(
                           json_object_get(cp->figures, "retention.ms"))
                     : "?");
        crmsync_compat_item(cp, "DescribeConfigs",
                            status_of(cp, ok, API_DESCRIBE_CONFIGS), api, err,
                            ok ? detail : "");
}

struct tomb {
        int64_t from;
        int     value, tombstone;
};

static void tomb_fn(const rd_kafka_message_t *m, void *arg)
{
        struct tomb *t = arg;
        if (m->key_len != 4 || memcmp(m->key, "tomb", 4))
                return;
        if (m->payload)
                t->value = 1;
        else if (t->value)
                t->tombstone = 1;
}

static void compacted(struct compat *cp)
{
        char        policy[64] = "", err[512] = "", api[128];
        char        detail[384];
        struct tomb t  = {-1, 0, 0};
        rd_kafka_t *rk = crmsync_compat_client(cp, RD_KAFKA_PRODUCER, 1, NULL,
                                               err, sizeof(err));
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__INVALID_ARG;
        int                 described;

        crmsync_compat_log_reset(cp);
        if (rk &&
            !(e = crmsync_compat_produce(cp, rk, COMPAT_COMPACTED_TOPIC, "tomb",
                                         "v1", 2, 0, NULL, &t.from)) &&
            !(e = crmsync_compat_produce(cp, rk, COMPAT_COMPACTED_TOPIC, "tomb",
                                         NULL, 0, 0, NULL, NULL)))
                e = crmsync_compat_read_back(cp, COMPAT_COMPACTED_TOPIC, t.from,
                                             NULL, tomb_fn, &t);
        if (rk)
                rd_kafka_destroy(rk);
        crmsync_compat_api_used(cp, NAMES("Produce", "Fetch"), api,
                                sizeof(api));
        described = !describe(cp, COMPAT_COMPACTED_TOPIC, policy,
                              sizeof(policy), err, sizeof(err));
        snprintf(detail, sizeof(detail),
                 "tombstone round trip %s; %s cleanup.policy=%s%s",
                 t.tombstone ? "ok" : "FAILED", COMPAT_COMPACTED_TOPIC,
                 described ? policy : "?",
                 described ? ""
                           : " (could not be read: the policy is set with "
                             "CreateTopics and read with DescribeConfigs)");
        crmsync_compat_item(cp, "compacted topic with tombstones",
                            !t.tombstone                ? "fail"
                            : !described                ? "unsupported"
                            : strstr(policy, "compact") ? "pass"
                                                        : "fail",
                            api,
                            e           ? rd_kafka_err2str(e)
                            : described ? ""
                                        : err,
                            detail);
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

#define COMPAT_LATENCY_SAMPLES 100
#define COMPAT_RTT_SAMPLES 10

/* Metadata RTT (median of 10) and produce latency at acks=all, one record
 * at a time (p50, p99 of 100), on a client without protocol debug. */
static void latency(struct compat *cp)
{
        char        err[512];
        int64_t     s[COMPAT_LATENCY_SAMPLES];
        int         n = 0, m = 0;
        rd_kafka_t *rk = crmsync_compat_client(
            cp, RD_KAFKA_PRODUCER, 0, NAMES("acks", "all", "linger.ms", "0"),
            err, sizeof(err));
        if (!rk)
                return;
        for (int i = 0; i < COMPAT_RTT_SAMPLES; i++) {
                const rd_kafka_metadata_t *md;
                int64_t                    t0 = crmsync_mono_us();
                if (rd_kafka_metadata(rk, 0, NULL, &md, cp->timeout_ms))
                        continue;
                s[m++] = crmsync_mono_us() - t0;
                rd_kafka_metadata_destroy(md);
        }
        qsort(s, (size_t)m, sizeof(s[0]), cmp_i64);
        if (m)
                json_object_set_new(cp->figures, "metadata_rtt_ms",
                                    json_real((double)s[m / 2] / 1000.0));
        for (int i = 0; i < COMPAT_LATENCY_SAMPLES; i++) {
                int64_t t0 = crmsync_mono_us();
                if (crmsync_compat_produce(cp, rk, COMPAT_TOPIC, "lat", "x", 1,
                                           0, NULL, NULL))
                        continue;
                s[n++] = crmsync_mono_us() - t0;
        }
        rd_kafka_destroy(rk);
        qsort(s, (size_t)n, sizeof(s[0]), cmp_i64);
        if (n) {
                json_object_set_new(cp->figures, "produce_p50_ms",
                                    json_real((double)s[n / 2] / 1000.0));
                json_object_set_new(
                    cp->figures, "produce_p99_ms",
                    json_real(
                        (double)s[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] /
                        1000.0));
        }
        json_object_set_new(cp->figures, "produce_samples", json_integer(n));
}

static void timing_item(struct compat *cp)
{
        char    detail[256];
        json_t *f = cp->figures;
        latency(cp);
        snprintf(detail, sizeof(detail),
                 "metadata RTT %.2f ms; produce at acks=all p50 %.2f ms, p99 "
                 "%.2f ms (%lld records, one at a time)",
                 json_number_value(json_object_get(f, "metadata_rtt_ms")),
                 json_number_value(json_object_get(f, "produce_p50_ms")),
                 json_number_value(json_object_get(f, "produce_p99_ms")),
                 (long long)json_integer_value(
                     json_object_get(f, "produce_samples")));
        crmsync_compat_item(cp, "metadata RTT and produce p50/p99 (acks=all)",
                            json_object_get(f, "produce_p99_ms") ? "pass"
                                                                 : "fail",
                            "Metadata, Produce", "", detail);
}

/* Doubling sizes until the broker refuses one (or 8 MB). */
static void largest_message(struct compat *cp)
{
        static const size_t sizes[]  = {65536,   524288,  1000000,
                                        2000000, 4000000, 8000000};
        char                err[512] = "", api[128], detail[256];
        size_t              best = 0, refused = 0;
        rd_kafka_resp_err_t e   = 0;
        char               *buf = calloc(1, sizes[5]);
        rd_kafka_t         *rk  = crmsync_compat_client(
                     cp, RD_KAFKA_PRODUCER, 1,
                     NAMES("message.max.bytes", "16777216", "acks", "all"), err,
                     sizeof(err));

        crmsync_compat_log_reset(cp);
        for (size_t i = 0; rk && buf && i < 6; i++) {
                if ((e = crmsync_compat_produce(cp, rk, COMPAT_TOPIC, "big",
                                                buf, sizes[i], 0, NULL,
                                                NULL))) {
                        refused = sizes[i];
                        break;
                }
                best = sizes[i];
        }
        if (rk)
                rd_kafka_destroy(rk);
        free(buf);
        crmsync_compat_api_used(cp, NAMES("Produce"), api, sizeof(api));
        json_object_set_new(cp->figures, "largest_message_bytes",
                            json_integer((json_int_t)best));
        if (refused)
                snprintf(detail, sizeof(detail),
                         "%zu bytes accepted, %zu refused", best, refused);
        else
                snprintf(detail, sizeof(detail),
                         "%zu bytes accepted (larger not tried)", best);
        crmsync_compat_item(cp, "largest accepted message",
                            best ? "pass" : "fail", api,
                            e ? rd_kafka_err2str(e) : err, detail);
}

/* DeleteRecords up to the end of the probe topic's partition 0 (last:
 * it empties it), then the earliest offset must be that end. */
static void delete_records(struct compat *cp)
{
        struct admin                     a;
        rd_kafka_topic_partition_list_t *tps;
        rd_kafka_DeleteRecords_t        *dr;
        rd_kafka_event_t                *ev = NULL;
        int64_t                          lo = -1, hi = -1, lo2 = -1, hi2 = -1;
        char                             api[128], detail[256] = "";
        int                              ok = 0;

        crmsync_compat_log_reset(cp);
        if (admin_open(cp, &a, RD_KAFKA_ADMIN_OP_DELETERECORDS) ||
            rd_kafka_query_watermark_offsets(a.rk, COMPAT_TOPIC, 0, &lo, &hi,
                                             cp->timeout_ms)) {
                crmsync_compat_item(cp, "DeleteRecords",
                                    status_of(cp, 0, API_DELETE_RECORDS), "",
                                    a.err,
                                    a.rk ? "could not read the partition's "
                                           "end"
                                         : "");
                admin_close(&a);
                return;
        }
        crmsync_compat_log_reset(cp);
        tps = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tps, COMPAT_TOPIC, 0)->offset = hi;
        dr = rd_kafka_DeleteRecords_new(tps);
        rd_kafka_topic_partition_list_destroy(tps);
        rd_kafka_DeleteRecords(a.rk, &dr, 1, a.opt, a.q);
        rd_kafka_DeleteRecords_destroy(dr);
        if ((ev = admin_wait(cp, &a)) && !rd_kafka_event_error(ev)) {
                const rd_kafka_topic_partition_list_t *r =
                    rd_kafka_DeleteRecords_result_offsets(
                        rd_kafka_event_DeleteRecords_result(ev));
                if (r && r->cnt && r->elems[0].err)
                        snprintf(a.err, sizeof(a.err), "%s",
                                 rd_kafka_err2str(r->elems[0].err));
                else if (!rd_kafka_query_watermark_offsets(
                             a.rk, COMPAT_TOPIC, 0, &lo2, &hi2, cp->timeout_ms))
                        ok = lo2 == hi;
                snprintf(detail, sizeof(detail),
                         "deleted before %lld: earliest offset now %lld",
                         (long long)hi, (long long)lo2);
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        crmsync_compat_api_used(cp, NAMES("DeleteRecords"), api, sizeof(api));
        crmsync_compat_item(cp, "DeleteRecords",
                            status_of(cp, ok, API_DELETE_RECORDS), api,
                            ok ? "" : a.err, detail);
        admin_close(&a);
}

void crmsync_compat_items_admin(struct compat *cp)
{
        compacted(cp);
        describe_configs(cp);
        create_delete(cp);
        timing_item(cp);
        largest_message(cp);
        delete_records(cp);
}
