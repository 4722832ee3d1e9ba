/* cmd_profiler.c -- `crmsync profiler`: run the reference profile builder
 * (Kafka -> sink) until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "cli.h"
#include "crmsync/common.h"
#include "crmsync/pipeline.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
        (void)sig;
        stop_flag = 1;
}

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync profiler [options]\n\n"
                "Consume CRM change envelopes, write versioned bulk ops to "
                "the sink, send side effects,\nand commit offsets only after "
                "the sink acknowledged them.\n\n"
                "Options (defaults from the environment in brackets):\n"
                "  --bootstrap HOSTS     bootstrap.servers "
                "[CRMSYNC_BOOTSTRAP_SERVERS]\n"
                "  --topic NAME          change topic [CRMSYNC_TOPIC or "
                "crm.changes]\n"
                "  --dlq-topic NAME      dead letters [<topic>.dlq]\n"
                "  --group ID            consumer group [CRMSYNC_GROUP_ID or "
                "crmsync-profiler]\n"
                "  --sink-url URL        http://127.0.0.1:PORT "
                "[CRMSYNC_SINK_URL]\n"
                "  --kafka-config FILE   librdkafka properties "
                "[CRMSYNC_KAFKA_CONFIG]\n"
                "  --offset-reset WHERE  earliest | latest [earliest]\n"
                "  --batch-size N        ops per bulk request [500]\n"
                "  --linger-ms N         wait to fill a batch [50]\n"
                "  --no-side-effects     rebuild or replay: send no side "
                "effects\n"
                "  --domain SPEC         only these accounts: ids:A,B or "
                "hash:K/N\n"
                "  --from-timestamp MS   start a new group at the first "
                "record at or after MS\n"
                "  --start-offsets SPEC  P:OFFSET,... partitions with no "
                "committed offset start\n"
                "                        there, not at --offset-reset "
                "[CRMSYNC_START_OFFSETS]\n"
                "  --bug NAME            enable a deliberate bug "
                "(repeatable): %s\n"
                "  -h, --help            this help\n\n"
                "Stops cleanly (flush, commit, close) on SIGINT or SIGTERM.\n",
                crmsync_bug_names());
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
        uint64_t v;
        if (crmsync_parse_u64(s, min, max, &v))
                return -1;
        *out = (uint32_t)v;
        return 0;
}

int crmsync_cmd_profiler(int argc, char **argv)
{
        static const struct option opts[] = {
            {"bootstrap", required_argument, NULL, 'b'},
            {"topic", required_argument, NULL, 't'},
            {"dlq-topic", required_argument, NULL, 'd'},
            {"group", required_argument, NULL, 'g'},
            {"sink-url", required_argument, NULL, 's'},
            {"kafka-config", required_argument, NULL, 'k'},
            {"offset-reset", required_argument, NULL, 'o'},
            {"batch-size", required_argument, NULL, 'n'},
            {"linger-ms", required_argument, NULL, 'l'},
            {"bug", required_argument, NULL, 'B'},
            {"no-side-effects", no_argument, NULL, 'S'},
            {"domain", required_argument, NULL, 'D'},
            {"from-timestamp", required_argument, NULL, 'T'},
            {"start-offsets", required_argument, NULL, 'O'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        struct profiler_config cfg = {
            .bootstrap    = crmsync_env("CRMSYNC_BOOTSTRAP_SERVERS", NULL),
            .topic        = crmsync_env("CRMSYNC_TOPIC", "crm.changes"),
            .group_id     = crmsync_env("CRMSYNC_GROUP_ID", "crmsync-profiler"),
            .sink_url     = crmsync_env("CRMSYNC_SINK_URL", NULL),
            .kafka_config = crmsync_env("CRMSYNC_KAFKA_CONFIG", NULL),
            .offset_reset = "earliest",
            .start_offsets = crmsync_env("CRMSYNC_START_OFFSETS", NULL),
            .batch_size    = 500,
            .linger_ms     = 50,
        };
        char     dlq[256], errstr[512];
        uint32_t bit;
        int      c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        cfg.bootstrap = optarg;
                        break;
                case 't':
                        cfg.topic = optarg;
                        break;
                case 'd':
                        cfg.dlq_topic = optarg;
                        break;
                case 'g':
                        cfg.group_id = optarg;
                        break;
                case 's':
                        cfg.sink_url = optarg;
                        break;
                case 'k':
                        cfg.kafka_config = optarg;
                        break;
                case 'o':
                        if (strcmp(optarg, "earliest") &&
                            strcmp(optarg, "latest")) {
                                fprintf(stderr,
                                        "crmsync profiler: --offset-reset "
                                        "must be earliest or latest\n");
                                return 2;
                        }
                        cfg.offset_reset = optarg;
                        break;
                case 'n':
                        if (parse_u32(optarg, 1, 100000, &cfg.batch_size)) {
                                fprintf(stderr, "crmsync profiler: "
                                                "--batch-size must be "
                                                "1..100000\n");
                                return 2;
                        }
                        break;
                case 'l':
                        if (parse_u32(optarg, 1, 60000, &cfg.linger_ms)) {
                                fprintf(stderr, "crmsync profiler: "
                                                "--linger-ms must be "
                                                "1..60000\n");
                                return 2;
                        }
                        break;
                case 'S':
                        cfg.no_side_effects = 1;
                        break;
                case 'D':
                        cfg.domain = optarg;
                        break;
                case 'T': {
                        uint64_t ts;
                        if (crmsync_parse_u64(optarg, 1, INT64_MAX, &ts)) {
                                fprintf(stderr,
                                        "crmsync profiler: --from-timestamp "
                                        "needs epoch milliseconds\n");
                                return 2;
                        }
                        cfg.from_ts_ms = (int64_t)ts;
                        break;
                }
                case 'O':
                        cfg.start_offsets = optarg;
                        break;
                case 'B':
                        bit = crmsync_bug_parse(optarg);
                        if (!bit) {
                                fprintf(stderr,
                                        "crmsync profiler: unknown --bug "
                                        "'%s'; known: %s\n",
                                        optarg, crmsync_bug_names());
                                return 2;
                        }
                        cfg.bugs |= bit;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "crmsync profiler: unexpected argument '%s'\n",
                        argv[optind]);
                return 2;
        }
        if (!cfg.sink_url) {
                fprintf(stderr, "crmsync profiler: no sink URL (--sink-url or "
                                "CRMSYNC_SINK_URL)\n");
                return 2;
        }
        if (!cfg.bootstrap && !cfg.kafka_config) {
                fprintf(stderr, "crmsync profiler: no bootstrap servers "
                                "(--bootstrap or CRMSYNC_BOOTSTRAP_SERVERS)\n");
                return 2;
        }
        if (cfg.start_offsets) {
                int64_t *offs =
                    malloc(CRMSYNC_START_OFFSETS_MAX * sizeof(*offs));
                int bad = !offs ||
                          crmsync_start_offsets_parse(cfg.start_offsets, offs,
                                                      CRMSYNC_START_OFFSETS_MAX,
                                                      errstr, sizeof(errstr));
                free(offs);
                if (bad) {
                        fprintf(stderr, "crmsync profiler: %s\n",
                                offs ? errstr : "out of memory");
                        return 2;
                }
        }
        if (!cfg.dlq_topic) {
                snprintf(dlq, sizeof(dlq), "%s.dlq", cfg.topic);
                cfg.dlq_topic = dlq;
        }

        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (crmsync_profiler_run(&cfg, &stop_flag, errstr, sizeof(errstr))) {
                fprintf(stderr, "crmsync profiler: %s\n", errstr);
                return 1;
        }
        return 0;
}
