/* test_profiler_writer.c -- the profiler's writer thread on librdkafka's
 * mock cluster into an in-process sink that answers slowly: the loop reads
 * the next batch while one is in flight, and no offset is ever committed
 * past what the sink applied; the commit-before-sink-ack bug is seen
 * doing just that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../fakes/sink/sink_int.h"
#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "crmsync/pipeline.h"
#include "crmsync/sink.h"

#define N_RECORDS 600
#define BATCH 100

struct prof_thread {
        struct profiler_config cfg;
        volatile sig_atomic_t  stop;
        int                    rc, done;
        char                   err[512];
};

static void *prof_main(void *arg)
{
        struct prof_thread *t = arg;
        t->rc = crmsync_profiler_run(&t->cfg, &t->stop, t->err, sizeof(t->err));
        __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
        return NULL;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
}

static int64_t committed_of(const char *bootstrap, const char *group)
{
        char             errstr[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
        rd_kafka_conf_set(conf, "group.id", group, NULL, 0);
        rd_kafka_t *c =
            rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(c);
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, "crm.changes", 0);
        int64_t off = -1;
        if (rd_kafka_committed(c, l, 5000) == 0)
                off = l->elems[0].offset;
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(c);
        return off < 0 ? 0 : off;
}

static uint64_t requests(const sink_server_t *s, const char *endpoint)
{
        uint64_t n = 0;
        for (size_t i = 0; i < s->nreqs; i++)
                if (!strcmp(s->reqs[i].endpoint, endpoint))
                        n += s->reqs[i].count;
        return n;
}

struct outcome {
        int64_t  max_ahead; /* committed offset minus applied, at worst */
        int64_t  committed;
        size_t   applied;
        uint64_t requests;
        int      read_before_first_apply; /* records the loop had read */
        int      first_request;           /* records in the first write */
        int64_t  committed_in_outage;     /* at most, while the sink was out */
};

/* How many records the lineage file (CRMSYNC_READ_LOG: wall ms, event
 * id, partition, offset) shows read before wall time ms. */
static int read_before(const char *path, int64_t ms)
{
        FILE     *fp = fopen(path, "r");
        long long t;
        char      eid[64];
        int       n = 0;
        assert_non_null(fp);
        while (fscanf(fp, "%lld %63s %*d %*d", &t, eid) == 2)
                n += t < ms;
        fclose(fp);
        return n;
}

/* N_RECORDS creates on one partition; a profiler (bugs) writes them into
 * a sink that holds each request 300 ms (and answers 503 to every request
 * for outage_ms from the first); every ~20 ms compare the group's committed
 * offset with the sink's apply log. */
static void run(uint32_t bugs, const char *group, int64_t outage_ms,
                struct outcome *out)
{
        char             errstr[512], key[32], val[512], url[64];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        rd_kafka_t *mrk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
        assert_non_null(mc);
        const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
        rd_kafka_mock_topic_create(mc, "crm.changes", 1, 1);
        rd_kafka_mock_topic_create(mc, "crm.changes.dlq", 1, 1);
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, NULL, 0);
        rd_kafka_t *prod =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        for (int i = 0; i < N_RECORDS; i++) {
                snprintf(key, sizeof(key), "A-%06d", i);
                snprintf(val, sizeof(val),
                         "{\"event_id\":\"e-%08d\",\"entity\":\"account\","
                         "\"record_id\":\"A-%06d\",\"account_id\":\"A-%06d\","
                         "\"change_type\":\"create\",\"version\":1,"
                         "\"fields\":{\"name\":\"n\"}}",
                         i + 1, i, i);
                assert_int_equal(
                    rd_kafka_producev(prod, RD_KAFKA_V_TOPIC("crm.changes"),
                                      RD_KAFKA_V_PARTITION(0),
                                      RD_KAFKA_V_KEY(key, strlen(key)),
                                      RD_KAFKA_V_VALUE(val, strlen(val)),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_END),
                    0);
        }
        assert_int_equal(rd_kafka_flush(prod, 10000), 0);
        rd_kafka_destroy(prod);

        struct event_base *base = event_base_new();
        struct sink_config scfg = {0};
        sink_server_t     *sink =
            crmsync_sink_server_new(base, &scfg, errstr, sizeof(errstr));
        assert_non_null(sink);
        crmsync_sink_set_latency(sink, 300);
        if (outage_ms)
                assert_int_equal(crmsync_sink_set_outage(sink, SINK_OUTAGE_503,
                                                         errstr,
                                                         sizeof(errstr)),
                                 0);
        struct event  *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
        struct timeval tv   = {0, 5000};
        event_add(tick, &tv);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d",
                 crmsync_sink_server_port(sink));

        char readlog[] = "/tmp/crmsync-test-readlog.XXXXXX";
        int  fd        = mkstemp(readlog);
        assert_true(fd >= 0);
        close(fd);
        setenv("CRMSYNC_READ_LOG", readlog, 1);
        struct prof_thread t;
        memset(&t, 0, sizeof(t));
        t.cfg.bootstrap    = bootstrap;
        t.cfg.topic        = "crm.changes";
        t.cfg.dlq_topic    = "crm.changes.dlq";
        t.cfg.offset_reset = "earliest";
        t.cfg.batch_size   = BATCH;
        t.cfg.linger_ms    = 20;
        t.cfg.group_id     = group;
        t.cfg.sink_url     = url;
        t.cfg.bugs         = bugs;
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, prof_main, &t), 0);

        const struct sink_apply *ap;
        int64_t                  end        = crmsync_mono_ms() + 60000;
        int64_t                  outage_end = outage_ms ? INT64_MAX : 0;
        memset(out, 0, sizeof(*out));
        out->max_ahead = INT64_MIN;
        while (crmsync_mono_ms() < end) {
                /* The outage lasts outage_ms from the first request (the
                 * group join takes the mock cluster ~3 s). */
                if (outage_end == INT64_MAX && requests(sink, "outage"))
                        outage_end = crmsync_mono_ms() + outage_ms;
                if (outage_end && crmsync_mono_ms() >= outage_end) {
                        crmsync_sink_set_outage(sink, SINK_OUTAGE_NONE, errstr,
                                                sizeof(errstr));
                        outage_end = 0;
                }
                int64_t until = crmsync_mono_ms() + 20;
                while (crmsync_mono_ms() < until)
                        event_base_loop(base, EVLOOP_ONCE);
                /* The sink runs on this thread: its log cannot grow
                 * while the committed offset is read. */
                out->applied   = crmsync_sink_applies(sink, &ap);
                out->committed = committed_of(bootstrap, group);
                if (out->committed - (int64_t)out->applied > out->max_ahead)
                        out->max_ahead = out->committed - (int64_t)out->applied;
                if (outage_end && out->committed > out->committed_in_outage)
                        out->committed_in_outage = out->committed;
                if (out->applied == N_RECORDS && out->committed == N_RECORDS)
                        break;
        }
        t.stop = 1;
        end    = crmsync_mono_ms() + 30000;
        while (crmsync_mono_ms() < end &&
               !__atomic_load_n(&t.done, __ATOMIC_ACQUIRE))
                event_base_loop(base, EVLOOP_ONCE);
        assert_true(__atomic_load_n(&t.done, __ATOMIC_ACQUIRE));
        pthread_join(th, NULL);
        assert_int_equal(t.rc, 0);
        out->requests = requests(sink, "bulk");
        int64_t first = INT64_MAX;
        size_t  n     = crmsync_sink_applies(sink, &ap);
        for (size_t i = 0; i < n; i++)
                if (ap[i].wall_ms < first)
                        first = ap[i].wall_ms;
        out->read_before_first_apply = read_before(readlog, first);
        for (size_t i = 0; i < n; i++) /* the next comes >= 300 ms later */
                out->first_request += ap[i].wall_ms <= first + 100;
        unsetenv("CRMSYNC_READ_LOG");
        unlink(readlog);

        event_free(tick);
        crmsync_sink_server_destroy(sink);
        event_base_free(base);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(mrk);
}

/* The loop reads on while the writer waits for the slow sink (300 ms a
 * request): before the first request was applied it had read a batch
 * more than that request (a loop that waits for every write had read
 * exactly the first request's records), and the committed offset never
 * passes the sink's apply log. */
static void test_reads_ahead_commits_only_applied(void **state)
{
        struct outcome o;
        (void)state;
        run(0, "g-writer", 0, &o);
        assert_int_equal(o.applied, N_RECORDS);
        assert_int_equal(o.committed, N_RECORDS);
        assert_true(o.max_ahead <= 0);
        printf("bulk requests: %llu, first request %d records, read before "
               "it was applied: %d\n",
               (unsigned long long)o.requests, o.first_request,
               o.read_before_first_apply);
        assert_true(o.first_request > 0);
        assert_true(o.read_before_first_apply >= o.first_request + BATCH);
}

/* The detector fires: commit-before-sink-ack commits a batch ~300 ms
 * before the sink applies it. */
static void test_commit_before_ack_seen_ahead(void **state)
{
        struct outcome o;
        (void)state;
        run(CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK, "g-bug", 0, &o);
        assert_int_equal(o.applied, N_RECORDS);
        assert_true(o.max_ahead > 0);
}

/* While the sink answers 503 for 1.5 s the writer retries its first
 * batch; the reference profiler commits nothing, and then everything. */
static void test_outage_commits_nothing(void **state)
{
        struct outcome o;
        (void)state;
        run(0, "g-outage", 1500, &o);
        assert_int_equal(o.committed_in_outage, 0);
        assert_int_equal(o.applied, N_RECORDS);
        assert_int_equal(o.committed, N_RECORDS);
}

/* The bug commits a batch once it is read, not when the writer takes it:
 * while the writer retries the first batch, the batch the loop read
 * behind it is committed too. (When the retried batch is one the sink
 * applied but whose answer was cut, as a postgres connection reset can
 * do, only this shows the bug: a bug that committed at the writer's start
 * would have committed nothing unapplied.) */
static void test_commit_before_ack_commits_read_ahead(void **state)
{
        struct outcome o;
        (void)state;
        run(CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK, "g-bug-outage", 3000, &o);
        printf("committed during the outage: %lld\n",
               (long long)o.committed_in_outage);
        /* The writer's batch (at most BATCH records) and the full one
         * read behind it. */
        assert_true(o.committed_in_outage > BATCH);
        assert_int_equal(o.applied, N_RECORDS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_reads_ahead_commits_only_applied),
            cmocka_unit_test(test_commit_before_ack_seen_ahead),
            cmocka_unit_test(test_outage_commits_nothing),
            cmocka_unit_test(test_commit_before_ack_commits_read_ahead),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
