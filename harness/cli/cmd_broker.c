/* cmd_broker.c -- `crmsync broker`: run the embedded Kafka cluster standalone
 * with the pipeline's topics until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/broker.h"
#include "cli.h"
#include "crmsync/common.h"

#define OFFSETS_TOPIC "crmsync.connector.offsets"

static volatile sig_atomic_t broker_stop;

static void on_signal(int sig)
{
        (void)sig;
        broker_stop = 1;
}

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync broker [options]\n\n"
                "Start the embedded Kafka cluster (librdkafka mock cluster) "
                "on 127.0.0.1,\ncreate the pipeline's topics, print "
                "\"bootstrap.servers=...\" and one line per\ntopic on "
                "stdout, and run until SIGINT or SIGTERM.\n\n"
                "Options:\n"
                "  --brokers N          number of brokers, 1..64 (3)\n"
                "  --partitions P       partitions of the change topic (12)\n"
                "  --topic NAME         change topic (env CRMSYNC_TOPIC, "
                "crm.changes);\n"
                "                       NAME.dlq is created too\n"
                "  --dlq-partitions D   partitions of NAME.dlq (1)\n"
                "  --offsets-topic NAME connector cursor topic, 1 partition\n"
                "                       (" OFFSETS_TOPIC ")\n"
                "  --replication R      replication factor (min(3, N))\n"
                "  -h, --help           this text\n\n"
                "Limits of the mock cluster (docs/kafka.md): at most 5 MiB or "
                "100,000 message\nsets per partition (oldest dropped), no "
                "CreateTopics, no offset lookup by\ntimestamp, a broker going "
                "down does not move leadership.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
        uint64_t v;
        if (crmsync_parse_u64(s, (uint64_t)lo, (uint64_t)hi, &v))
                return -1;
        *out = (int)v;
        return 0;
}

int crmsync_cmd_broker(int argc, char **argv)
{
        static const struct option opts[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"partitions", required_argument, NULL, 'p'},
            {"topic", required_argument, NULL, 't'},
            {"dlq-partitions", required_argument, NULL, 'd'},
            {"offsets-topic", required_argument, NULL, 'o'},
            {"replication", required_argument, NULL, 'r'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        int               brokers = 3, partitions = 12, dlq_partitions = 1;
        int               replication = -1, c;
        const char       *topic   = crmsync_env("CRMSYNC_TOPIC", "crm.changes");
        const char       *offsets = OFFSETS_TOPIC;
        char              dlq[300], errstr[512];
        crmsync_broker_t *b;
        struct sigaction  sa;
        sigset_t          block, old, wait;
        struct {
                const char *name;
                int         partitions;
        } topics[3];

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        if (parse_int(optarg, 1, 64, &brokers)) {
                                fprintf(stderr, "crmsync broker: --brokers "
                                                "must be 1..64\n");
                                return 2;
                        }
                        break;
                case 'p':
                        if (parse_int(optarg, 1, 10000, &partitions)) {
                                fprintf(stderr, "crmsync broker: "
                                                "--partitions must be "
                                                "1..10000\n");
                                return 2;
                        }
                        break;
                case 'd':
                        if (parse_int(optarg, 1, 10000, &dlq_partitions)) {
                                fprintf(stderr, "crmsync broker: "
                                                "--dlq-partitions must be "
                                                "1..10000\n");
                                return 2;
                        }
                        break;
                case 'r':
                        if (parse_int(optarg, 1, 64, &replication)) {
                                fprintf(stderr, "crmsync broker: "
                                                "--replication must be "
                                                "1..64\n");
                                return 2;
                        }
                        break;
                case 't':
                        topic = optarg;
                        break;
                case 'o':
                        offsets = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        fprintf(stderr,
                                "crmsync broker: unknown or "
                                "incomplete option '%s'\n\n",
                                argv[optind - 1]);
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "crmsync broker: unexpected argument '%s'\n",
                        argv[optind]);
                return 2;
        }
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
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
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
        while (!broker_stop)
                sigsuspend(&wait);

        fprintf(stderr, "crmsync broker: stopping\n");
        crmsync_broker_destroy(b);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 0;
}
