/* cmd_broker.c -- `crmsync broker`: run the embedded Kafka cluster standalone
 * with the pipeline's topics until SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/broker.h"
#include "cli.h"
#include "cli_opt.h"
#include "cli_signal.h"
#include "crmsync/common.h"

#define OFFSETS_TOPIC "crmsync.connector.offsets"

static const char intro[] =
    "Usage: crmsync broker [options]\n\n"
    "Start the embedded Kafka cluster (librdkafka mock cluster) on "
    "127.0.0.1,\ncreate the pipeline's topics, print "
    "\"bootstrap.servers=...\" and one line per\ntopic on stdout, and run "
    "until SIGINT or SIGTERM.\n";
static const char epilog[] =
    "Limits of the mock cluster (docs/kafka.md): at most 5 MiB or 100,000 "
    "message\nsets per partition (oldest dropped), no CreateTopics, no "
    "offset lookup by\ntimestamp, a broker going down does not move "
    "leadership.\n";

struct broker_opts {
        int         brokers, partitions, dlq_partitions, replication;
        const char *topic, *offsets;
};

/* The options into o (defaults already there). Returns CLI_OK, CLI_HELP
 * or CLI_ERROR. */
static int parse_options(int argc, char **argv, struct broker_opts *o)
{
        const struct cli_opt opts[] = {
            CLI_OPT("brokers", CLI_INT, &o->brokers, "N",
                    "number of brokers (3)", .lo = 1, .hi = 64),
            CLI_OPT("partitions", CLI_INT, &o->partitions, "P",
                    "partitions of the change topic (12)", .lo = 1,
                    .hi = 10000),
            CLI_OPT("topic", CLI_STR, &o->topic, "NAME",
                    "change topic (env CRMSYNC_TOPIC, crm.changes);\n"
                    "NAME.dlq is created too"),
            CLI_OPT("dlq-partitions", CLI_INT, &o->dlq_partitions, "D",
                    "partitions of NAME.dlq (1)", .lo = 1, .hi = 10000),
            CLI_OPT("offsets-topic", CLI_STR, &o->offsets, "NAME",
                    "connector cursor topic, 1 partition\n"
                    "(" OFFSETS_TOPIC ")"),
            CLI_OPT("replication", CLI_INT, &o->replication, "R",
                    "replication factor (min(3, N))", .lo = 1, .hi = 64),
            CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"broker", intro, opts, epilog, 0};

        return crmsync_cli_parse(&cmd, argc, argv, NULL, NULL);
}

int crmsync_cmd_broker(int argc, char **argv)
{
        struct broker_opts o = {
            .brokers        = 3,
            .partitions     = 12,
            .dlq_partitions = 1,
            .replication    = -1,
            .topic          = crmsync_env("CRMSYNC_TOPIC", "crm.changes"),
            .offsets        = OFFSETS_TOPIC,
        };
        int               brokers, partitions, dlq_partitions, replication, rc;
        const char       *topic, *offsets;
        char              dlq[300], errstr[512];
        crmsync_broker_t *b;
        sigset_t          block, old, wait;
        struct {
                const char *name;
                int         partitions;
        } topics[3];

        if ((rc = parse_options(argc, argv, &o)))
                return rc == CLI_HELP ? 0 : 2;
        brokers        = o.brokers;
        partitions     = o.partitions;
        dlq_partitions = o.dlq_partitions;
        replication    = o.replication;
        topic          = o.topic;
        offsets        = o.offsets;
        if (!*topic || strlen(topic) > 240 || !*offsets) {
                fprintf(stderr, "crmsync broker: topic names must be "
                                "1..240 characters\n");
                return 2;
        }
        if (replication < 0)
                replication = brokers < 3 ? brokers : 3;
        snprintf(dlq, sizeof(dlq), "%s.dlq", topic);

        /* Block the signals before librdkafka starts its threads, so they
         * are delivered to this thread inside sigsuspend() only. */
        crmsync_cli_catch_stop();
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &old);

        b = crmsync_broker_new(brokers, errstr, sizeof(errstr));
        if (!b) {
                fprintf(stderr, "crmsync broker: %s\n", errstr);
                return 1;
        }
        topics[0].name       = topic;
        topics[0].partitions = partitions;
        topics[1].name       = dlq;
        topics[1].partitions = dlq_partitions;
        topics[2].name       = offsets;
        topics[2].partitions = 1;
        for (int i = 0; i < 3; i++) {
                if (crmsync_broker_create_topic(
                        b, topics[i].name, topics[i].partitions, replication,
                        errstr, sizeof(errstr))) {
                        fprintf(stderr, "crmsync broker: %s\n", errstr);
                        crmsync_broker_destroy(b);
                        return 2;
                }
        }
        printf("bootstrap.servers=%s\n", crmsync_broker_bootstraps(b));
        for (int i = 0; i < 3; i++)
                printf("topic=%s partitions=%d replication=%d\n",
                       topics[i].name, topics[i].partitions, replication);
        fflush(stdout);
        fprintf(stderr,
                "crmsync broker: %d broker(s) up; SIGINT or SIGTERM "
                "stops\n",
                brokers);

        wait = old;
        sigdelset(&wait, SIGINT);
        sigdelset(&wait, SIGTERM);
        while (!crmsync_cli_stop)
                sigsuspend(&wait);

        fprintf(stderr, "crmsync broker: stopping\n");
        crmsync_broker_destroy(b);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 0;
}
