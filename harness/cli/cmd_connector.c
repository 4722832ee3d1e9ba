/* cmd_connector.c -- `crmsync connector`: run the reference source
 * connector (CRM -> Kafka) until SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "cli.h"
#include "cli_opt.h"
#include "cli_signal.h"
#include "crmsync/common.h"
#include "crmsync/pipeline.h"

static const char intro[] =
    "Usage: crmsync connector [options]\n\n"
    "Reference source connector: read the mock CRM and produce every change "
    "to\nKafka (key = account id), storing its cursor only after delivery.\n";
static const char epilog[] =
    "SIGINT/SIGTERM: finish the batch in flight, flush, store the cursor, "
    "exit 0.\nExit codes: 0 clean stop, 1 fatal error, 2 bad usage.\n";

/* The options into cfg (defaults and environment already there). Returns
 * CLI_OK, CLI_HELP or CLI_ERROR. */
static int parse_options(int argc, char **argv, struct connector_config *cfg)
{
        const char          *mode   = "feed";
        uint32_t             port   = 0;
        const struct cli_opt opts[] = {
            CLI_OPT("crm-url", CLI_STR, &cfg->crm_url, "URL",
                    "CRM base URL (env CRMSYNC_CRM_URL)"),
            CLI_OPT("bootstrap", CLI_STR, &cfg->bootstrap, "LIST",
                    "bootstrap.servers (env CRMSYNC_BOOTSTRAP_SERVERS)"),
            CLI_OPT("topic", CLI_STR, &cfg->topic, "NAME",
                    "change topic (env CRMSYNC_TOPIC, crm.changes)"),
            CLI_OPT("offsets-topic", CLI_STR, &cfg->offsets_topic, "NAME",
                    "cursor topic (crmsync.connector.offsets)"),
            CLI_OPT(
                "kafka-config", CLI_STR, &cfg->kafka_config, "FILE",
                "librdkafka properties, key=value (env CRMSYNC_KAFKA_CONFIG)"),
            CLI_OPT("client-id", CLI_STR, &cfg->client_id, "ID",
                    "X-Client-Id sent to the CRM (crmsync-connector)"),
            CLI_OPT("mode", CLI_CHOICE, &mode, "MODE",
                    "how to read the CRM (feed)",
                    .choices = "feed|poll|webhook"),
            CLI_OPT("page-size", CLI_U32, &cfg->page_size, "N",
                    "events per request (1000)", .lo = 1, .hi = 100000),
            CLI_OPT("poll-idle-ms", CLI_U32, &cfg->poll_idle_ms, "MS",
                    "wait when caught up (100)", .unit = "ms", .hi = 600000),
            CLI_OPT("lookback-ms", CLI_U32, &cfg->lookback_ms, "MS",
                    "poll mode overlap (2000)", .unit = "ms", .hi = 86400000),
            CLI_OPT(
                "webhook-secret", CLI_STR, &cfg->webhook_secret, "S",
                "webhook HMAC secret (env CRMSYNC_WEBHOOK_SECRET;\ndefault: "
                "random, kept in the cursor topic)"),
            CLI_OPT("webhook-port", CLI_U32, &port, "PORT",
                    "webhook receiver port on 127.0.0.1 (0 = any)",
                    .hi = 65535),
            CLI_OPT("bug", CLI_BUG, &cfg->bugs, "NAME",
                    "enable a deliberate bug"),
            CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"connector", intro, opts, epilog, 0};
        int rc = crmsync_cli_parse(&cmd, argc, argv, NULL, NULL);

        if (rc)
                return rc;
        cfg->mode         = !strcmp(mode, "poll")      ? CONNECTOR_POLL
                            : !strcmp(mode, "webhook") ? CONNECTOR_WEBHOOK
                                                       : CONNECTOR_FEED;
        cfg->webhook_port = (int)port;
        return CLI_OK;
}

int crmsync_cmd_connector(int argc, char **argv)
{
        struct connector_config cfg = {
            .crm_url        = crmsync_env("CRMSYNC_CRM_URL", NULL),
            .bootstrap      = crmsync_env("CRMSYNC_BOOTSTRAP_SERVERS", NULL),
            .topic          = crmsync_env("CRMSYNC_TOPIC", "crm.changes"),
            .offsets_topic  = "crmsync.connector.offsets",
            .kafka_config   = crmsync_env("CRMSYNC_KAFKA_CONFIG", NULL),
            .client_id      = "crmsync-connector",
            .mode           = CONNECTOR_FEED,
            .page_size      = 1000,
            .poll_idle_ms   = 100,
            .lookback_ms    = 2000,
            .webhook_secret = crmsync_env("CRMSYNC_WEBHOOK_SECRET", NULL),
        };
        char errstr[1024];
        int  rc;

        if ((rc = parse_options(argc, argv, &cfg)))
                return rc == CLI_HELP ? 0 : 2;
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

        crmsync_cli_catch_stop();

        for (uint32_t b = 1; b; b <<= 1)
                if ((cfg.bugs & b) && crmsync_bug_name(b))
                        fprintf(stderr,
                                "crmsync connector: BUG ENABLED: "
                                "%s\n",
                                crmsync_bug_name(b));
        rc = crmsync_connector_run(&cfg, &crmsync_cli_stop, errstr,
                                   sizeof(errstr));
        if (rc) {
                fprintf(stderr, "crmsync connector: %s\n", errstr);
                return 1;
        }
        fprintf(stderr, "crmsync connector: stopped cleanly\n");
        return 0;
}
