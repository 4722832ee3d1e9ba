/* probe.c -- broker availability probe (see probe.h). Threads: the probe
 * thread owns the producer and fills samples; delivery reports are served
 * on it by rd_kafka_poll; the caller reads after crmsync_probe_stop. */
#include "harness/probe.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crmsync/common.h"
#include "harness/kafka_log.h"
#include "harness/kafka_conf.h"

struct probe {
        rd_kafka_t          *rk;
        char                 topic[256];
        int                  partitions, interval_ms;
        pthread_t            thr;
        volatile int         stop;
        int                  started;
        struct probe_sample *samples;
        size_t               cnt, max;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        struct probe *p   = opaque;
        size_t        idx = (size_t)(uintptr_t)m->_private;
        (void)rk;
        if (idx < p->cnt)
                p->samples[idx].state = m->err ? -1 : 1;
}

static void *run(void *arg)
{
        struct probe *p = arg;
        while (!p->stop) {
                int64_t next = crmsync_mono_ms() + p->interval_ms;
                for (int i = 0; i < p->partitions && p->cnt < p->max; i++) {
                        size_t idx = p->cnt++;
                        p->samples[idx] =
                            (struct probe_sample){crmsync_wall_ms(), i, 0};
                        if (rd_kafka_producev(
                                p->rk, RD_KAFKA_V_TOPIC(p->topic),
                                RD_KAFKA_V_PARTITION(i),
                                RD_KAFKA_V_VALUE("probe", 5),
                                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)idx),
                                RD_KAFKA_V_END))
                                p->samples[idx].state = -1;
                }
                while (!p->stop && crmsync_mono_ms() < next)
                        rd_kafka_poll(p->rk, 20);
        }
        rd_kafka_flush(p->rk, 3000);
        return NULL;
}

probe_t *crmsync_probe_start(const char *props_file, const char *topic,
                             int partitions, int interval_ms, int timeout_ms,
                             size_t max_samples, char *errstr,
                             size_t errstr_size)
{
        struct probe    *p = calloc(1, sizeof(*p));
        rd_kafka_conf_t *conf;
        char             kerr[256], tmo[32];

        if (!p || !(p->samples = calloc(max_samples, sizeof(*p->samples)))) {
                free(p);
                crmsync_err(errstr, errstr_size, "probe: out of memory");
                return NULL;
        }
        snprintf(p->topic, sizeof(p->topic), "%s", topic);
        snprintf(tmo, sizeof(tmo), "%d", timeout_ms);
        p->partitions  = partitions;
        p->interval_ms = interval_ms;
        p->max         = max_samples;
        conf           = rd_kafka_conf_new();
        if (crmsync_harness_kafka_conf(conf, props_file, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                crmsync_probe_destroy(p);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(conf, crmsync_kafka_log_cb);
        if (rd_kafka_conf_set(conf, "message.timeout.ms", tmo, kerr,
                              sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "linger.ms", "0", kerr, sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "acks", "all", kerr, sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "log_level", "2", kerr, sizeof(kerr))) {
                crmsync_err(errstr, errstr_size, "probe: %s", kerr);
                rd_kafka_conf_destroy(conf);
                crmsync_probe_destroy(p);
                return NULL;
        }
        rd_kafka_conf_set_opaque(conf, p);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        if (!(p->rk =
                  rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr)))) {
                crmsync_err(errstr, errstr_size, "probe: %s", kerr);
                crmsync_probe_destroy(p);
                return NULL;
        }
        if (pthread_create(&p->thr, NULL, run, p)) {
                crmsync_err(errstr, errstr_size, "probe: no thread");
                crmsync_probe_destroy(p);
                return NULL;
        }
        p->started = 1;
        return p;
}

void crmsync_probe_stop(probe_t *p)
{
        if (!p || !p->started)
                return;
        p->stop = 1;
        pthread_join(p->thr, NULL);
        p->started = 0;
}

double crmsync_probe_unavailable_s(const probe_t *p, int32_t partition,
                                   int64_t from_ms)
{
        int64_t failed = -1;
        for (size_t i = 0; i < p->cnt; i++) {
                const struct probe_sample *s = &p->samples[i];
                if (s->partition != partition || s->send_ms < from_ms)
                        continue;
                if (failed < 0 && s->state == -1)
                        failed = s->send_ms;
                else if (failed >= 0 && s->state == 1)
                        return (double)(s->send_ms - failed) / 1000.0;
        }
        return failed < 0 ? 0.0 : -1.0;
}

void crmsync_probe_destroy(probe_t *p)
{
        if (!p)
                return;
        crmsync_probe_stop(p);
        if (p->rk)
                rd_kafka_destroy(p->rk);
        free(p->samples);
        free(p);
}
