/* cmd_profiler.c -- `crmsync profiler`: run the reference profile builder
 * (Kafka -> sink) until SIGINT/SIGTERM. */
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
    "Usage: crmsync profiler [options]\n\n"
    "Consume CRM change envelopes, write versioned bulk ops to the sink, "
    "send side effects,\nand commit offsets only after the sink "
    "acknowledged them.\n";
static const char epilog[] =
    "Stops cleanly (flush, commit, close) on SIGINT or SIGTERM.\n";

/* The options into cfg (defaults and environment already there). Returns
 * CLI_OK, CLI_HELP or CLI_ERROR. */
static int parse_options(int argc, char **argv, struct profiler_config *cfg)
{
        uint64_t             from_ts = 0;
        const struct cli_opt opts[]  = {
             CLI_OPT("bootstrap", CLI_STR, &cfg->bootstrap, "HOSTS",
                     "bootstrap.servers [CRMSYNC_BOOTSTRAP_SERVERS]"),
             CLI_OPT("topic", CLI_STR, &cfg->topic, "NAME",
                     "change topic [CRMSYNC_TOPIC or crm.changes]"),
             CLI_OPT("dlq-topic", CLI_STR, &cfg->dlq_topic, "NAME",
                     "dead letters [<topic>.dlq]"),
             CLI_OPT("group", CLI_STR, &cfg->group_id, "ID",
                     "consumer group [CRMSYNC_GROUP_ID or crmsync-profiler]"),
             CLI_OPT("sink-url", CLI_STR, &cfg->sink_url, "URL",
                     "http://127.0.0.1:PORT [CRMSYNC_SINK_URL]"),
             CLI_OPT("kafka-config", CLI_STR, &cfg->kafka_config, "FILE",
                     "librdkafka properties [CRMSYNC_KAFKA_CONFIG]"),
             CLI_OPT("offset-reset", CLI_CHOICE, &cfg->offset_reset, "WHERE",
                     "where a new group starts (earliest)",
                     .choices = "earliest|latest"),
             CLI_OPT("batch-size", CLI_U32, &cfg->batch_size, "N",
                     "ops per bulk request (500)", .lo = 1, .hi = 100000),
             CLI_OPT("linger-ms", CLI_U32, &cfg->linger_ms, "N",
                     "wait to fill a batch (50)", .unit = "ms", .lo = 1,
                     .hi = 60000),
             CLI_OPT("no-side-effects", CLI_FLAG, &cfg->no_side_effects, NULL,
                     "rebuild or replay: send no side effects"),
             CLI_OPT("domain", CLI_STR, &cfg->domain, "SPEC",
                     "only these accounts: ids:A,B or hash:K/N"),
             CLI_OPT("from-timestamp", CLI_U64, &from_ts, "MS",
                     "start a new group at the first record at or after MS\n"
                      "(epoch milliseconds)",
                     .unit = "ms", .lo = 1, .hi = INT64_MAX),
             CLI_OPT("start-offsets", CLI_STR, &cfg->start_offsets, "SPEC",
                     "P:OFFSET,... partitions with no committed offset "
                      "start\nthere, not at --offset-reset "
                      "[CRMSYNC_START_OFFSETS]"),
             CLI_OPT("bug", CLI_BUG, &cfg->bugs, "NAME",
                     "enable a deliberate bug"),
             CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"profiler", intro, opts, epilog, 0};
        int rc = crmsync_cli_parse(&cmd, argc, argv, NULL, NULL);

        if (rc)
                return rc;
        if (from_ts)
                cfg->from_ts_ms = (int64_t)from_ts;
        return CLI_OK;
}

int crmsync_cmd_profiler(int argc, char **argv)
{
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
        char dlq[256], errstr[512];
        int  rc;

        if ((rc = parse_options(argc, argv, &cfg)))
                return rc == CLI_HELP ? 0 : 2;
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
        crmsync_cli_catch_stop();

        if (crmsync_profiler_run(&cfg, &crmsync_cli_stop, errstr,
                                 sizeof(errstr))) {
                fprintf(stderr, "crmsync profiler: %s\n", errstr);
                return 1;
        }
        return 0;
}
