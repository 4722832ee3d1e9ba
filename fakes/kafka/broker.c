/* broker.c -- the embedded Kafka cluster: a thin, thread-safe wrapper around
 * librdkafka's mock cluster (rdkafka_mock.h) plus a topic/leader table.
 *
 * The mock cluster runs on its own librdkafka thread, owned by a producer
 * handle that has no bootstrap servers and is never used to produce. Every
 * mock call posts an op to that thread and waits for the answer, so the
 * functions below may be called from any thread. The leader table is ours
 * (guarded by `lock`): the mock picks leaders itself when a topic is created
 * (randomly in some librdkafka versions), so crmsync_broker_create_topic()
 * overrides them with a deterministic round-robin assignment
 * (partition p -> broker (p % broker_cnt) + 1) and records it.
 *
 * The waker: librdkafka 2.0.2's mock thread can miss the wake-up of a
 * posted op and serve it only when its idle poll times out, a second later
 * (seen on about one op in three: a 12-partition topic took 0 to 13 s to
 * set up). It serves its op queue whenever its poll returns, so while a
 * call waits, a thread of ours connects to one of the cluster's listeners
 * every WAKE_MS; the accept wakes the poll. The connection is closed at
 * once (the mock drops it; no request is ever sent). */
#include "crmsync/broker.h"
#include "crmsync/common.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BROKER_MAX 64          /* brokers per cluster */
#define TOPIC_MAX 256          /* topics tracked in the leader table */
#define PARTITION_MAX 10000    /* partitions per topic */
#define PUSH_ERRORS_MAX 100000 /* errors pushed in one call */
#define WAKE_MS 5              /* the waker's period while a call waits */

struct topic_ent {
        char    *name;
        int      partition_cnt;
        int32_t *leaders; /* partition_cnt entries */
};

struct crmsync_broker {
        rd_kafka_t              *rk; /* owns the mock cluster's thread */
        rd_kafka_mock_cluster_t *mc;
        int                      broker_cnt;
        char                    *bootstraps;

        pthread_mutex_t   lock; /* guards topics, topic_cnt */
        struct topic_ent *topics;
        size_t            topic_cnt;

        /* The waker (see the top of this file). */
        pthread_t       waker;
        int             waker_started;
        pthread_mutex_t wake_lock; /* guards waiting, stopping */
        pthread_cond_t  wake_cond;
        int             waiting; /* mock calls in flight */
        int             stopping;
        uint16_t        ports[BROKER_MAX];
        int             port_cnt;
};

/* One connection to the first listener that takes it, closed at once. */
static void wake_mock(const crmsync_broker_t *b)
{
        for (int i = 0; i < b->port_cnt; i++) {
                struct sockaddr_in sin = {.sin_family = AF_INET,
                                          .sin_port   = htons(b->ports[i])};
                int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
                if (s == -1)
                        return;
                sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                ok = connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0;
                close(s);
                if (ok)
                        return;
        }
}

static void *waker_main(void *arg)
{
        crmsync_broker_t *b = arg;
        pthread_mutex_lock(&b->wake_lock);
        while (!b->stopping) {
                struct timespec ts = {0, WAKE_MS * 1000000L};
                if (!b->waiting) {
                        pthread_cond_wait(&b->wake_cond, &b->wake_lock);
                        continue;
                }
                pthread_mutex_unlock(&b->wake_lock);
                nanosleep(&ts, NULL);
                pthread_mutex_lock(&b->wake_lock);
                if (b->waiting && !b->stopping)
                        wake_mock(b);
        }
        pthread_mutex_unlock(&b->wake_lock);
        return NULL;
}

/* Around every mock call that posts an op and waits for its answer. */
static void call_begin(crmsync_broker_t *b)
{
        pthread_mutex_lock(&b->wake_lock);
        if (b->waiting++ == 0)
                pthread_cond_signal(&b->wake_cond);
        pthread_mutex_unlock(&b->wake_lock);
}

static void call_end(crmsync_broker_t *b)
{
        pthread_mutex_lock(&b->wake_lock);
        b->waiting--;
        pthread_mutex_unlock(&b->wake_lock);
}

/* "127.0.0.1:p1,127.0.0.1:p2,..." -> b->ports, then the waker thread. */
static int waker_start(crmsync_broker_t *b)
{
        const char *p = b->bootstraps;
        pthread_mutex_init(&b->wake_lock, NULL);
        pthread_cond_init(&b->wake_cond, NULL);
        while (p && *p && b->port_cnt < BROKER_MAX) {
                const char *colon = strchr(p, ':');
                if (!colon)
                        break;
                b->ports[b->port_cnt++] = (uint16_t)atoi(colon + 1);
                p                       = strchr(colon, ',');
                p                       = p ? p + 1 : NULL;
        }
        if (pthread_create(&b->waker, NULL, waker_main, b))
                return -1;
        b->waker_started = 1;
        return 0;
}

static void waker_stop(crmsync_broker_t *b)
{
        if (!b->waker_started)
                return;
        pthread_mutex_lock(&b->wake_lock);
        b->stopping = 1;
        pthread_cond_signal(&b->wake_cond);
        pthread_mutex_unlock(&b->wake_lock);
        pthread_join(b->waker, NULL);
        b->waker_started = 0;
}

/* Swallow librdkafka's own log lines from the cluster handle: it has no
 * bootstrap servers on purpose, and the CLI reports real errors. Errors
 * (level <= 3) still reach stderr. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
        (void)rk;
        if (level <= 3)
                fprintf(stderr, "%%%d|%s| mock: %s\n", level, fac, buf);
}

crmsync_broker_t *crmsync_broker_new(int broker_cnt, char *errstr,
                                     size_t errstr_size)
{
        crmsync_broker_t *b;
        rd_kafka_conf_t  *conf;
        const char       *bs;
        char              kerr[256];

        if (broker_cnt < 1 || broker_cnt > BROKER_MAX) {
                crmsync_err(errstr, errstr_size,
                            "broker count %d out of range 1..%d", broker_cnt,
                            BROKER_MAX);
                return NULL;
        }
        b = calloc(1, sizeof(*b));
        if (!b) {
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        b->broker_cnt = broker_cnt;
        pthread_mutex_init(&b->lock, NULL);

        conf = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(conf, log_cb);
        if (rd_kafka_conf_set(conf, "client.id", "crmsync-broker", kerr,
                              sizeof(kerr)) != RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(conf);
                crmsync_err(errstr, errstr_size, "broker conf: %s", kerr);
                goto out_free;
        }
        /* rd_kafka_new takes conf on success only. */
        b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
        if (!b->rk) {
                rd_kafka_conf_destroy(conf);
                crmsync_err(errstr, errstr_size,
                            "cannot create the mock cluster's handle: %s",
                            kerr);
                goto out_free;
        }
        b->mc = rd_kafka_mock_cluster_new(b->rk, broker_cnt);
        if (!b->mc) {
                crmsync_err(errstr, errstr_size,
                            "rd_kafka_mock_cluster_new(%d) failed (could not "
                            "bind listeners on 127.0.0.1?)",
                            broker_cnt);
                goto out_destroy_rk;
        }
        bs            = rd_kafka_mock_cluster_bootstraps(b->mc);
        b->bootstraps = strdup(bs ? bs : "");
        if (!b->bootstraps) {
                crmsync_err(errstr, errstr_size, "out of memory");
                goto out_destroy_mc;
        }
        if (waker_start(b)) {
                crmsync_err(errstr, errstr_size, "cannot start a thread");
                goto out_destroy_mc;
        }
        return b;

out_destroy_mc:
        free(b->bootstraps);
        rd_kafka_mock_cluster_destroy(b->mc);
out_destroy_rk:
        rd_kafka_destroy(b->rk);
out_free:
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
}

void crmsync_broker_destroy(crmsync_broker_t *b)
{
        if (!b)
                return;
        waker_stop(b);
        rd_kafka_mock_cluster_destroy(b->mc);
        rd_kafka_destroy(b->rk);
        for (size_t i = 0; i < b->topic_cnt; i++) {
                free(b->topics[i].name);
                free(b->topics[i].leaders);
        }
        free(b->topics);
        free(b->bootstraps);
        pthread_mutex_destroy(&b->lock);
        pthread_mutex_destroy(&b->wake_lock);
        pthread_cond_destroy(&b->wake_cond);
        free(b);
}

const char *crmsync_broker_bootstraps(const crmsync_broker_t *b)
{
        return b->bootstraps;
}

int crmsync_broker_count(const crmsync_broker_t *b)
{
        return b->broker_cnt;
}

/* Caller holds b->lock. */
static struct topic_ent *topic_find(const crmsync_broker_t *b,
                                    const char             *topic)
{
        for (size_t i = 0; i < b->topic_cnt; i++)
                if (!strcmp(b->topics[i].name, topic))
                        return &b->topics[i];
        return NULL;
}

int crmsync_broker_create_topic(crmsync_broker_t *b, const char *topic,
                                int partitions, int replication, char *errstr,
                                size_t errstr_size)
{
        struct topic_ent   *t;
        rd_kafka_resp_err_t err;
        int32_t            *leaders;
        int                 rc = -1;

        if (!topic || !*topic || strlen(topic) > 249)
                return crmsync_err(errstr, errstr_size,
                                   "topic name must be 1..249 characters");
        if (partitions < 1 || partitions > PARTITION_MAX)
                return crmsync_err(errstr, errstr_size,
                                   "topic %s: partition count %d out of "
                                   "range 1..%d",
                                   topic, partitions, PARTITION_MAX);
        if (replication < 1)
                replication = 1;
        if (replication > b->broker_cnt)
                replication = b->broker_cnt;

        pthread_mutex_lock(&b->lock);
        if (topic_find(b, topic)) {
                crmsync_err(errstr, errstr_size, "topic %s already exists",
                            topic);
                goto out_unlock;
        }
        if (b->topic_cnt == TOPIC_MAX) {
                crmsync_err(errstr, errstr_size, "too many topics (at most %d)",
                            TOPIC_MAX);
                goto out_unlock;
        }
        leaders = calloc((size_t)partitions, sizeof(*leaders));
        if (!leaders) {
                crmsync_err(errstr, errstr_size, "out of memory");
                goto out_unlock;
        }
        call_begin(b);
        err = rd_kafka_mock_topic_create(b->mc, topic, partitions, replication);
        call_end(b);
        if (err) {
                crmsync_err(errstr, errstr_size, "topic %s: %s", topic,
                            rd_kafka_err2str(err));
                free(leaders);
                goto out_unlock;
        }
        for (int p = 0; p < partitions; p++) {
                leaders[p] = (p % b->broker_cnt) + 1;
                call_begin(b);
                err = rd_kafka_mock_partition_set_leader(b->mc, topic, p,
                                                         leaders[p]);
                call_end(b);
                if (err) {
                        crmsync_err(errstr, errstr_size,
                                    "topic %s [%d]: set leader %d: %s", topic,
                                    p, (int)leaders[p], rd_kafka_err2str(err));
                        free(leaders);
                        goto out_unlock;
                }
        }
        if (!b->topics) {
                b->topics = calloc(TOPIC_MAX, sizeof(*b->topics));
                if (!b->topics) {
                        crmsync_err(errstr, errstr_size, "out of memory");
                        free(leaders);
                        goto out_unlock;
                }
        }
        t       = &b->topics[b->topic_cnt];
        t->name = strdup(topic);
        if (!t->name) {
                crmsync_err(errstr, errstr_size, "out of memory");
                free(leaders);
                goto out_unlock;
        }
        t->partition_cnt = partitions;
        t->leaders       = leaders;
        b->topic_cnt++;
        rc = 0;
out_unlock:
        pthread_mutex_unlock(&b->lock);
        return rc;
}

static int valid_broker(const crmsync_broker_t *b, int32_t broker_id)
{
        return broker_id >= 1 && broker_id <= b->broker_cnt;
}

int crmsync_broker_set_down(crmsync_broker_t *b, int32_t broker_id)
{
        if (!valid_broker(b, broker_id))
                return -1;
        rd_kafka_resp_err_t err;
        call_begin(b);
        err = rd_kafka_mock_broker_set_down(b->mc, broker_id);
        call_end(b);
        return err ? -1 : 0;
}

int crmsync_broker_set_up(crmsync_broker_t *b, int32_t broker_id)
{
        if (!valid_broker(b, broker_id))
                return -1;
        rd_kafka_resp_err_t err;
        call_begin(b);
        err = rd_kafka_mock_broker_set_up(b->mc, broker_id);
        call_end(b);
        return err ? -1 : 0;
}

int crmsync_broker_set_rtt(crmsync_broker_t *b, int32_t broker_id, int rtt_ms)
{
        if (!valid_broker(b, broker_id) || rtt_ms < 0)
                return -1;
        rd_kafka_resp_err_t err;
        call_begin(b);
        err = rd_kafka_mock_broker_set_rtt(b->mc, broker_id, rtt_ms);
        call_end(b);
        return err ? -1 : 0;
}

int crmsync_broker_set_leader(crmsync_broker_t *b, const char *topic,
                              int32_t partition, int32_t broker_id)
{
        struct topic_ent   *t;
        rd_kafka_resp_err_t err;
        int                 rc = -1;

        /* -1 makes the partition leader-less (an outage of one partition). */
        if (broker_id != -1 && !valid_broker(b, broker_id))
                return -1;
        pthread_mutex_lock(&b->lock);
        t = topic_find(b, topic);
        if (!t || partition < 0 || partition >= t->partition_cnt)
                goto out_unlock;
        call_begin(b);
        err = rd_kafka_mock_partition_set_leader(b->mc, topic, partition,
                                                 broker_id);
        call_end(b);
        if (err)
                goto out_unlock;
        t->leaders[partition] = broker_id;
        rc                    = 0;
out_unlock:
        pthread_mutex_unlock(&b->lock);
        return rc;
}

int crmsync_broker_push_errors(crmsync_broker_t *b, int16_t api_key, size_t cnt,
                               int err)
{
        rd_kafka_resp_err_t *errs;

        if (api_key < 0 || cnt == 0 || cnt > PUSH_ERRORS_MAX)
                return -1;
        errs = malloc(cnt * sizeof(*errs));
        if (!errs)
                return -1;
        for (size_t i = 0; i < cnt; i++)
                errs[i] = (rd_kafka_resp_err_t)err;
        call_begin(b);
        rd_kafka_mock_push_request_errors_array(b->mc, api_key, cnt, errs);
        call_end(b);
        free(errs);
        return 0;
}

int32_t crmsync_broker_leader(const crmsync_broker_t *b, const char *topic,
                              int32_t partition)
{
        struct topic_ent *t;
        int32_t           leader = -1;
        crmsync_broker_t *mb     = (crmsync_broker_t *)b; /* lock only */

        pthread_mutex_lock(&mb->lock);
        t = topic_find(b, topic);
        if (t && partition >= 0 && partition < t->partition_cnt)
                leader = t->leaders[partition];
        pthread_mutex_unlock(&mb->lock);
        return leader;
}
