/* cmd_sink.c -- `crmsync sink`: run the fake profile store standalone until
 * SIGINT/SIGTERM. Faults are switched through POST /_admin/mode. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "crmsync/sink.h"

static const char intro[] =
    "Usage: crmsync sink [options]\n\n"
    "Start the fake profile store (HTTP API: docs/sink-api.md).\n";
static const char epilog[] =
    "Prints \"sink listening on http://127.0.0.1:PORT\" once ready; stops on "
    "SIGINT or SIGTERM.\n"
    "Faults: POST /_admin/mode {\"outage\":\"503|hang|refuse|none\","
    "\"latency_ms\":N,\"partial_failure\":R,\"duration_ms\":N}\n";

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        (void)sig;
        (void)what;
        event_base_loopexit(arg, NULL);
}

/* The options into cfg. Returns CLI_OK, CLI_HELP or CLI_ERROR. */
static int parse_options(int argc, char **argv, struct sink_config *cfg)
{
        uint64_t             body = 0, log = 0;
        const struct cli_opt opts[] = {
            CLI_OPT("port", CLI_INT, &cfg->port, "N",
                    "listen port on 127.0.0.1 (0 = pick a free one; default 0)",
                    .hi = 65535),
            CLI_OPT("bind", CLI_STR, &cfg->bind_host, "HOST",
                    "bind address (default 127.0.0.1)"),
            CLI_OPT("blind-writes", CLI_FLAG, &cfg->blind_writes, NULL,
                    "ignore if_newer (last write wins)"),
            CLI_OPT("max-body-bytes", CLI_U64, &body, "N",
                    "larger bulk bodies get 413 (default 8388608)",
                    .unit = "bytes", .lo = 1, .hi = 1ull << 40),
            CLI_OPT("max-log-entries", CLI_U64, &log, "N",
                    "cap of apply and side-effect logs (default 4194304)",
                    .lo = 1, .hi = 1ull << 40),
            CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"sink", intro, opts, epilog, 0};
        int rc = crmsync_cli_parse(&cmd, argc, argv, NULL, NULL);

        if (rc)
                return rc;
        if (body)
                cfg->max_body_bytes = (size_t)body;
        if (log)
                cfg->max_log_entries = (size_t)log;
        return CLI_OK;
}

int crmsync_cmd_sink(int argc, char **argv)
{
        struct sink_config cfg = {.bind_host = "127.0.0.1"};
        char               errstr[256];
        int                rc = 0;

        if ((rc = parse_options(argc, argv, &cfg)))
                return rc == CLI_HELP ? 0 : 2;

        struct event_base *base = event_base_new();
        if (!base) {
                fprintf(stderr, "crmsync sink: event_base_new failed\n");
                return 1;
        }
        sink_server_t *s =
            crmsync_sink_server_new(base, &cfg, errstr, sizeof(errstr));
        if (!s) {
                fprintf(stderr, "crmsync sink: %s\n", errstr);
                event_base_free(base);
                return 2;
        }
        struct event *sigint  = evsignal_new(base, SIGINT, on_signal, base);
        struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
        if (!sigint || !sigterm || evsignal_add(sigint, NULL) ||
            evsignal_add(sigterm, NULL)) {
                fprintf(stderr, "crmsync sink: cannot install signal "
                                "handlers\n");
                rc = 1;
                goto out;
        }
        signal(SIGPIPE, SIG_IGN);
        printf("sink listening on http://%s:%d\n", cfg.bind_host,
               crmsync_sink_server_port(s));
        fflush(stdout);
        event_base_dispatch(base);
        fprintf(stderr, "crmsync sink: stopped\n");
out:
        if (sigint)
                event_free(sigint);
        if (sigterm)
                event_free(sigterm);
        crmsync_sink_server_destroy(s);
        event_base_free(base);
        return rc;
}
