/* auditor.c -- independent reader of the changes topic (see auditor.h).
 * Threads: one reader thread owns the consumer and the fact array until
 * crmsync_auditor_finish joins it; afterwards the caller's thread reads. */
#include "harness/auditor.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/strpool.h"
#include "harness/kafka_log.h"
#include "harness/kafka_conf.h"

#define AUDITOR_MAX_PARTITIONS 1024

struct auditor {
        rd_kafka_t  *rk;
        char         topic[256], dlq[300];
        int          partitions;
        pthread_t    thr;
        int          started;
        volatile int stop;
        /* Written by the reader thread only. */
        struct auditor_fact   *facts;
        size_t                 cnt, size, max;
        struct crmsync_strpool ids; /* the facts' event ids (47 bytes max) */
        uint64_t               bytes, dropped;
        int64_t                next_offset[AUDITOR_MAX_PARTITIONS + 1];
        int64_t                low[AUDITOR_MAX_PARTITIONS];
        /* Set by finish before it stops the thread: read up to here. */
        int64_t      target[AUDITOR_MAX_PARTITIONS + 1];
        volatile int draining;
};

/* The topic contract: key = the envelope's account_id (the ordering
 * scope). The event's own account_id is the first one in the envelope. */
static int misrouted(const rd_kafka_message_t *m)
{
        static const char tag[] = "\"account_id\":\"";
        const char       *v     = m->payload, *end, *at, *q;
        if (!v || !m->len || memchr(v, '\0', m->len))
                return 0; /* unreadable records are the profiler's DLQ's */
        end = v + m->len;
        at  = memmem(v, m->len, tag, sizeof(tag) - 1);
        if (!at)
                return 0;
        at += sizeof(tag) - 1;
        q = memchr(at, '"', (size_t)(end - at));
        if (!q)
                return 0;
        return !m->key || m->key_len != (size_t)(q - at) ||
               memcmp(m->key, at, m->key_len);
}

/* Does the envelope carry the record's whole state (create, undelete, or
 * an update the connector resolved into the record: full_state,
 * resolved_gap, resolved_move, resync)? Compact JSON, as misrouted(). */
static int whole_state(const rd_kafka_message_t *m)
{
        static const char *const tags[] = {
            "\"change_type\":\"create\"", "\"change_type\":\"undelete\"",
            "\"full_state\":true",        "\"resolved_gap\":true",
            "\"resolved_move\":true",     "\"resync\":true"};
        if (!m->payload || !m->len)
                return 0;
        for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
                if (memmem(m->payload, m->len, tags[i], strlen(tags[i])))
                        return 1;
        return 0;
}

/* A dead letter without an event_id header (the header is the topic's
 * contract, not the dead-letter topic's): take the id from the value when
 * it is the rejected event itself. */
static void dlq_event_id(const rd_kafka_message_t *m, char *out, size_t size)
{
        json_t     *v;
        const char *id;

        if (!m->payload || !m->len)
                return;
        v  = json_loadb(m->payload, m->len, 0, NULL);
        id = json_string_value(json_object_get(v, "event_id"));
        if (id)
                snprintf(out, size, "%s", id);
        json_decref(v);
}

static void add_fact(auditor_t *a, const rd_kafka_message_t *m, int dlq)
{
        rd_kafka_headers_t  *hdrs = NULL;
        const void          *val;
        size_t               len;
        struct auditor_fact *f;
        char                 id[48] = "";

        a->bytes += m->len + m->key_len;
        if (a->cnt == a->max) {
                a->dropped++;
                return;
        }
        if (a->cnt == a->size) {
                size_t               ns = a->size ? a->size * 2 : 4096;
                struct auditor_fact *nf;
                if (ns > a->max)
                        ns = a->max;
                if (!(nf = realloc(a->facts, ns * sizeof(*nf)))) {
                        a->dropped++;
                        return;
                }
                a->facts = nf;
                a->size  = ns;
        }
        f = &a->facts[a->cnt++];
        memset(f, 0, sizeof(*f));
        f->partition = m->partition;
        f->offset    = m->offset;
        f->dlq       = dlq;
        f->ts_ms     = rd_kafka_message_timestamp(m, NULL);
        f->misrouted = !dlq && misrouted(m);
        f->full      = !dlq && whole_state(m);
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(hdrs, "event_id", &val, &len) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            val) {
                if (len >= sizeof(id))
                        len = sizeof(id) - 1;
                memcpy(id, val, len);
                id[len] = '\0';
        } else if (dlq) {
                dlq_event_id(m, id, sizeof(id));
        }
        /* Copied, not interned: an id repeats only on a duplicate. */
        f->event_id = id[0] ? crmsync_strpool_copy(&a->ids, id) : "";
        if (!f->event_id)
                f->event_id = "";
}

static int caught_up(auditor_t *a)
{
        for (int p = 0; p <= a->partitions; p++)
                if (a->target[p] > 0 && a->next_offset[p] < a->target[p])
                        return 0;
        return 1;
}

static void *reader(void *arg)
{
        auditor_t *a = arg;
        while (!a->stop) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(a->rk, 100);
                if (!m) {
                        if (a->draining && caught_up(a))
                                break;
                        continue;
                }
                if (!m->err) {
                        int dlq = !strcmp(rd_kafka_topic_name(m->rkt), a->dlq);
                        int idx = dlq ? a->partitions : m->partition;
                        add_fact(a, m, dlq);
                        if (idx >= 0 && idx <= a->partitions)
                                a->next_offset[idx] = m->offset + 1;
                }
                rd_kafka_message_destroy(m);
                if (a->draining && caught_up(a))
                        break;
        }
        return NULL;
}

auditor_t *crmsync_auditor_start(const char *props_file, const char *topic,
                                 int partitions, size_t max_facts, char *errstr,
                                 size_t errstr_size)
{
        auditor_t                       *a;
        rd_kafka_conf_t                 *conf;
        rd_kafka_topic_partition_list_t *tps;
        char                             kerr[256];

        if (partitions < 1 || partitions > AUDITOR_MAX_PARTITIONS) {
                crmsync_err(errstr, errstr_size,
                            "auditor: %d partitions is out of range",
                            partitions);
                return NULL;
        }
        if (!(a = calloc(1, sizeof(*a))))
                return NULL;
        crmsync_strpool_init(&a->ids);
        snprintf(a->topic, sizeof(a->topic), "%s", topic);
        snprintf(a->dlq, sizeof(a->dlq), "%s.dlq", topic);
        a->partitions = partitions;
        a->max        = max_facts;
        for (int p = 0; p < AUDITOR_MAX_PARTITIONS; p++)
                a->low[p] = -1;

        conf = rd_kafka_conf_new();
        if (crmsync_harness_kafka_conf(conf, props_file, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                free(a);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(conf, crmsync_kafka_log_cb);
        if (rd_kafka_conf_set(conf, "group.id", "crmsync-auditor", kerr,
                              sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "enable.auto.commit", "false", kerr,
                              sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "fetch.wait.max.ms", "50", kerr,
                              sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "log_level", "3", kerr, sizeof(kerr))) {
                crmsync_err(errstr, errstr_size, "auditor: %s", kerr);
                rd_kafka_conf_destroy(conf);
                free(a);
                return NULL;
        }
        if (!(a->rk =
                  rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr)))) {
                crmsync_err(errstr, errstr_size, "auditor: %s", kerr);
                free(a);
                return NULL;
        }
        rd_kafka_poll_set_consumer(a->rk);
        /* Plain assign: no group membership, no commits. */
        /* Start at the end as of now: on a cluster that earlier runs
         * used, their records are not this run's. */
        tps = rd_kafka_topic_partition_list_new(partitions + 1);
        for (int p = 0; p <= partitions; p++) {
                const char *t  = p < partitions ? a->topic : a->dlq;
                int32_t     pp = p < partitions ? p : 0;
                int64_t     lo = -1, hi = -1;
                if (rd_kafka_query_watermark_offsets(a->rk, t, pp, &lo, &hi,
                                                     5000) ||
                    hi < 0)
                        hi = RD_KAFKA_OFFSET_BEGINNING;
                rd_kafka_topic_partition_list_add(tps, t, pp)->offset = hi;
        }
        rd_kafka_assign(a->rk, tps);
        rd_kafka_topic_partition_list_destroy(tps);
        if (pthread_create(&a->thr, NULL, reader, a)) {
                crmsync_err(errstr, errstr_size, "auditor: no thread");
                rd_kafka_destroy(a->rk);
                free(a);
                return NULL;
        }
        a->started = 1;
        return a;
}

void crmsync_auditor_finish(auditor_t *a, int timeout_ms)
{
        if (!a || !a->started)
                return;
        for (int p = 0; p <= a->partitions; p++) {
                int64_t     lo = -1, hi = -1;
                const char *t  = p < a->partitions ? a->topic : a->dlq;
                int32_t     pp = p < a->partitions ? p : 0;
                if (rd_kafka_query_watermark_offsets(a->rk, t, pp, &lo, &hi,
                                                     5000) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
                        a->target[p] = hi;
                        if (p < a->partitions)
                                a->low[p] = lo;
                }
        }
        a->draining = 1;
        for (int waited = 0; waited < timeout_ms && !caught_up(a);
             waited += 50) {
                struct timespec ts = {0, 50 * 1000000};
                nanosleep(&ts, NULL);
        }
        a->stop = 1;
        pthread_join(a->thr, NULL);
        a->started = 0;
        rd_kafka_consumer_close(a->rk);
}

size_t crmsync_auditor_facts(const auditor_t            *a,
                             const struct auditor_fact **out)
{
        *out = a->facts;
        return a->cnt;
}

uint64_t crmsync_auditor_bytes(const auditor_t *a)
{
        return a->bytes;
}

uint64_t crmsync_auditor_dropped(const auditor_t *a)
{
        return a->dropped;
}

int64_t crmsync_auditor_low_watermark(const auditor_t *a, int32_t p)
{
        return p >= 0 && p < a->partitions ? a->low[p] : -1;
}

void crmsync_auditor_destroy(auditor_t *a)
{
        if (!a)
                return;
        if (a->started) {
                a->stop = 1;
                pthread_join(a->thr, NULL);
                rd_kafka_consumer_close(a->rk);
        }
        if (a->rk)
                rd_kafka_destroy(a->rk);
        free(a->facts);
        crmsync_strpool_reset(&a->ids);
        free(a);
}
