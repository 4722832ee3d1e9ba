/* cmd_connector.c -- `crmsync connector`: run the reference source
 * connector (CRM -> Kafka) until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "cli.h"
#include "crmsync/common.h"
#include "crmsync/pipeline.h"

static volatile sig_atomic_t connector_stop;

static void on_signal(int sig)
{
        (void)sig;
        connector_stop = 1;
}

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync connector [options]\n\n"
                "Reference source connector: read the mock CRM and produce "
                "every change to\nKafka (key = account id), storing its "
                "cursor only after delivery.\n\n"
                "Options:\n"
                "  --crm-url URL          CRM base URL (env CRMSYNC_CRM_URL)\n"
                "  --bootstrap LIST       bootstrap.servers "
                "(env CRMSYNC_BOOTSTRAP_SERVERS)\n"
                "  --topic NAME           change topic (env CRMSYNC_TOPIC, "
                "crm.changes)\n"
                "  --offsets-topic NAME   cursor topic "
                "(crmsync.connector.offsets)\n"
                "  --kafka-config FILE    librdkafka properties, key=value "
                "(env CRMSYNC_KAFKA_CONFIG)\n"
                "  --client-id ID         X-Client-Id sent to the CRM "
                "(crmsync-connector)\n"
                "  --mode MODE            feed | poll | webhook (feed)\n"
                "  --page-size N          events per request, 1..100000 "
                "(500)\n"
                "  --poll-idle-ms MS      wait when caught up (100)\n"
                "  --lookback-ms MS       poll mode overlap (2000)\n"
                "  --webhook-secret S     webhook HMAC secret "
                "(env CRMSYNC_WEBHOOK_SECRET;\n                         "
                "default: random, kept in the cursor topic)\n"
                "  --webhook-port PORT    webhook receiver port on 127.0.0.1 "
                "(0 = any)\n"
                "  --bug NAME             enable a deliberate bug "
                "(repeatable):\n"
                "                         %s\n"
                "  -h, --help             this text\n\n"
                "SIGINT/SIGTERM: finish the batch in flight, flush, store the "
                "cursor, exit 0.\nExit codes: 0 clean stop, 1 fatal error, 2 "
                "bad usage.\n",
                crmsync_bug_names());
}

static int parse_u32(const char *s, unsigned long lo, unsigned long hi,
                     uint32_t *out)
{
        uint64_t v;
        if (crmsync_parse_u64(s, lo, hi, &v))
                return -1;
        *out = (uint32_t)v;
        return 0;
}

int crmsync_cmd_connector(int argc, char **argv)
{
        static const struct option opts[] = {
            {"crm-url", required_argument, NULL, 'u'},
            {"bootstrap", required_argument, NULL, 'b'},
            {"topic", required_argument, NULL, 't'},
            {"offsets-topic", required_argument, NULL, 'o'},
            {"kafka-config", required_argument, NULL, 'k'},
            {"client-id", required_argument, NULL, 'c'},
            {"mode", required_argument, NULL, 'm'},
            {"page-size", required_argument, NULL, 'p'},
            {"poll-idle-ms", required_argument, NULL, 'i'},
            {"lookback-ms", required_argument, NULL, 'l'},
            {"webhook-secret", required_argument, NULL, 's'},
            {"webhook-port", required_argument, NULL, 'w'},
            {"bug", required_argument, NULL, 'B'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        struct connector_config cfg = {
            .crm_url        = crmsync_env("CRMSYNC_CRM_URL", NULL),
            .bootstrap      = crmsync_env("CRMSYNC_BOOTSTRAP_SERVERS", NULL),
            .topic          = crmsync_env("CRMSYNC_TOPIC", "crm.changes"),
            .offsets_topic  = "crmsync.connector.offsets",
            .kafka_config   = crmsync_env("CRMSYNC_KAFKA_CONFIG", NULL),
            .client_id      = "crmsync-connector",
            .mode           = CONNECTOR_FEED,
            .page_size      = 500,
            .poll_idle_ms   = 100,
            .lookback_ms    = 2000,
            .webhook_secret = crmsync_env("CRMSYNC_WEBHOOK_SECRET", NULL),
        };
        uint32_t         port = 0, bit;
        char             errstr[1024];
        struct sigaction sa;
        int              c, rc;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'u':
                        cfg.crm_url = optarg;
                        break;
                case 'b':
                        cfg.bootstrap = optarg;
                        break;
                case 't':
                        cfg.topic = optarg;
                        break;
                case 'o':
                        cfg.offsets_topic = optarg;
                        break;
                case 'k':
                        cfg.kafka_config = optarg;
                        break;
                case 'c':
                        cfg.client_id = optarg;
                        break;
                case 'm':
                        if (!strcmp(optarg, "feed"))
                                cfg.mode = CONNECTOR_FEED;
                        else if (!strcmp(optarg, "poll"))
                                cfg.mode = CONNECTOR_POLL;
                        else if (!strcmp(optarg, "webhook"))
                                cfg.mode = CONNECTOR_WEBHOOK;
                        else {
                                fprintf(stderr, "crmsync connector: --mode "
                                                "must be feed, poll or "
                                                "webhook\n");
                                return 2;
                        }
                        break;
                case 'p':
                        if (parse_u32(optarg, 1, 100000, &cfg.page_size)) {
                                fprintf(stderr, "crmsync connector: "
                                                "--page-size must be "
                                                "1..100000\n");
                                return 2;
                        }
                        break;
                case 'i':
                        if (parse_u32(optarg, 0, 600000, &cfg.poll_idle_ms)) {
                                fprintf(stderr, "crmsync connector: "
                                                "--poll-idle-ms must be "
                                                "0..600000\n");
                                return 2;
                        }
                        break;
                case 'l':
                        if (parse_u32(optarg, 0, 86400000, &cfg.lookback_ms)) {
                                fprintf(stderr, "crmsync connector: "
                                                "--lookback-ms must be "
                                                "0..86400000\n");
                                return 2;
                        }
                        break;
                case 's':
                        cfg.webhook_secret = optarg;
                        break;
                case 'w':
                        if (parse_u32(optarg, 0, 65535, &port)) {
                                fprintf(stderr, "crmsync connector: "
                                                "--webhook-port must be "
                                                "0..65535\n");
                                return 2;
                        }
                        break;
                case 'B':
                        bit = crmsync_bug_parse(optarg);
                        if (!bit) {
                                fprintf(stderr,
                                        "crmsync connector: unknown bug '%s'; "
                                        "known: %s\n",
                                        optarg, crmsync_bug_names());
                                return 2;
                        }
                        cfg.bugs |= bit;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        fprintf(stderr,
                                "crmsync connector: unknown or "
                                "incomplete option '%s'\n\n",
                                argv[optind - 1]);
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr,
                        "crmsync connector: unexpected argument "
                        "'%s'\n",
                        argv[optind]);
                return 2;
        }
        cfg.webhook_port = (int)port;
        if (cfg.mode != CONNECTOR_WEBHOOK && !cfg.crm_url) {
                fprintf(stderr, "crmsync connector: --crm-url (or "
                                "CRMSYNC_CRM_URL) is required\n");
                return 2;
        }
        if (!cfg.bootstrap && !cfg.kafka_config) {
                fprintf(stderr, "crmsync connector: --bootstrap (or "
                                "CRMSYNC_BOOTSTRAP_SERVERS) is required\n");
                return 2;
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        for (uint32_t b = 1; b; b <<= 1)
                if ((cfg.bugs & b) && crmsync_bug_name(b))
                        fprintf(stderr,
                                "crmsync connector: BUG ENABLED: "
                                "%s\n",
                                crmsync_bug_name(b));
        rc = crmsync_connector_run(&cfg, &connector_stop, errstr,
                                   sizeof(errstr));
        if (rc) {
                fprintf(stderr, "crmsync connector: %s\n", errstr);
                return 1;
        }
        fprintf(stderr, "crmsync connector: stopped cleanly\n");
        return 0;
}
