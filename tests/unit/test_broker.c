/* test_broker.c -- the embedded cluster: real produce/consume through
 * librdkafka, fault hooks, leader table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/broker.h"
#include "crmsync/common.h"

#define TOPIC "t.broker"
#define MSGS 20

static int setup(void **state)
{
        char              errstr[256];
        crmsync_broker_t *b = crmsync_broker_new(3, errstr, sizeof(errstr));
        if (!b) {
                fprintf(stderr, "broker: %s\n", errstr);
                return -1;
        }
        if (crmsync_broker_create_topic(b, TOPIC, 12, 3, errstr,
                                        sizeof(errstr))) {
                fprintf(stderr, "create: %s\n", errstr);
                crmsync_broker_destroy(b);
                return -1;
        }
        *state = b;
        return 0;
}

static int teardown(void **state)
{
        crmsync_broker_destroy(*state);
        return 0;
}

static void test_bootstraps_and_count(void **state)
{
        crmsync_broker_t *b      = *state;
        const char       *bs     = crmsync_broker_bootstraps(b);
        int               commas = 0;

        assert_int_equal(crmsync_broker_count(b), 3);
        assert_non_null(bs);
        assert_true(!strncmp(bs, "127.0.0.1:", 10));
        for (const char *p = bs; *p; p++)
                commas += *p == ',';
        assert_int_equal(commas, 2);
}

static void test_bad_args(void **state)
{
        crmsync_broker_t *b = *state;
        char              errstr[256];

        assert_null(crmsync_broker_new(0, errstr, sizeof(errstr)));
        assert_int_equal(
            crmsync_broker_create_topic(b, TOPIC, 3, 1, errstr, sizeof(errstr)),
            -1);
        assert_non_null(strstr(errstr, "already exists"));
        assert_int_equal(crmsync_broker_create_topic(b, "t.zero", 0, 1, errstr,
                                                     sizeof(errstr)),
                         -1);
        assert_int_equal(crmsync_broker_set_down(b, 4), -1);
        assert_int_equal(crmsync_broker_set_down(b, 0), -1);
        assert_int_equal(crmsync_broker_set_leader(b, "t.nope", 0, 1), -1);
        assert_int_equal(crmsync_broker_set_leader(b, TOPIC, 12, 1), -1);
        assert_int_equal(crmsync_broker_push_errors(b, 0, 0, 1), -1);
        crmsync_broker_destroy(NULL);
}

static void test_leader_table(void **state)
{
        crmsync_broker_t *b = *state;

        for (int32_t p = 0; p < 12; p++)
                assert_int_equal(crmsync_broker_leader(b, TOPIC, p),
                                 (p % 3) + 1);
        assert_int_equal(crmsync_broker_leader(b, TOPIC, 12), -1);
        assert_int_equal(crmsync_broker_leader(b, "t.nope", 0), -1);
        assert_int_equal(crmsync_broker_set_leader(b, TOPIC, 5, 1), 0);
        assert_int_equal(crmsync_broker_leader(b, TOPIC, 5), 1);
        assert_int_equal(crmsync_broker_set_leader(b, TOPIC, 5, 3), 0);
        assert_int_equal(crmsync_broker_leader(b, TOPIC, 5), 3);
}

static void test_faults_return_zero(void **state)
{
        crmsync_broker_t *b = *state;

        assert_int_equal(crmsync_broker_set_rtt(b, 2, 5), 0);
        assert_int_equal(crmsync_broker_set_rtt(b, 2, 0), 0);
        assert_int_equal(crmsync_broker_set_down(b, 2), 0);
        assert_int_equal(crmsync_broker_set_up(b, 2), 0);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bs)
{
        char             errstr[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t      *rk;

        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bs,
                                           errstr, sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
        if (type == RD_KAFKA_PRODUCER) {
                rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr,
                                  sizeof(errstr));
                rd_kafka_conf_set(conf, "linger.ms", "5", errstr,
                                  sizeof(errstr));
        } else {
                rd_kafka_conf_set(conf, "group.id", "test-broker", errstr,
                                  sizeof(errstr));
                rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                                  sizeof(errstr));
        }
        rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
        assert_non_null(rk);
        return rk;
}

/* Produce MSGS keyed messages (one push of a Produce error first, which the
 * idempotent producer must retry through), then read every partition back
 * to its end with an assigned consumer. */
static void test_produce_consume(void **state)
{
        crmsync_broker_t                *b  = *state;
        const char                      *bs = crmsync_broker_bootstraps(b);
        rd_kafka_t                      *p, *c;
        rd_kafka_topic_partition_list_t *parts;
        int                              seen[MSGS] = {0}, got = 0, eofs = 0;
        int64_t                          deadline;

        /* 6 = NOT_LEADER_FOR_PARTITION: retriable. */
        assert_int_equal(crmsync_broker_push_errors(b, 0, 1, 6), 0);

        p = new_client(RD_KAFKA_PRODUCER, bs);
        for (int i = 0; i < MSGS; i++) {
                char key[16], val[32];
                snprintf(key, sizeof(key), "A-%06d", i);
                snprintf(val, sizeof(val), "{\"n\":%d}", i);
                assert_int_equal(
                    rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC),
                                      RD_KAFKA_V_KEY(key, strlen(key)),
                                      RD_KAFKA_V_VALUE(val, strlen(val)),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_END),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        assert_int_equal(rd_kafka_flush(p, 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_outq_len(p), 0);
        rd_kafka_destroy(p);

        c     = new_client(RD_KAFKA_CONSUMER, bs);
        parts = rd_kafka_topic_partition_list_new(12);
        for (int i = 0; i < 12; i++)
                rd_kafka_topic_partition_list_add(parts, TOPIC, i)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(c, parts), 0);
        rd_kafka_topic_partition_list_destroy(parts);

        deadline = crmsync_mono_ms() + 20000;
        while (eofs < 12 && crmsync_mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
                int                 n;
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eofs++;
                } else if (!m->err) {
                        assert_true(m->key_len == 8);
                        n = atoi((const char *)m->key + 2);
                        assert_true(n >= 0 && n < MSGS);
                        seen[n]++;
                        got++;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
        assert_int_equal(eofs, 12);
        assert_int_equal(got, MSGS);
        for (int i = 0; i < MSGS; i++)
                assert_int_equal(seen[i], 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bootstraps_and_count),
            cmocka_unit_test(test_bad_args),
            cmocka_unit_test(test_leader_table),
            cmocka_unit_test(test_faults_return_zero),
            cmocka_unit_test(test_produce_consume),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
