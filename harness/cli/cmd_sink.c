/* cmd_sink.c -- `crmsync sink`: run the fake profile store standalone until
 * SIGINT/SIGTERM. Faults are switched through POST /_admin/mode. */
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crmsync/sink.h"

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync sink [options]\n\n"
                "Start the fake profile store (HTTP API: docs/sink-api.md).\n\n"
                "Options:\n"
                "  --port N             listen port on 127.0.0.1 (0 = pick "
                "a free one; default 0)\n"
                "  --bind HOST          bind address (default 127.0.0.1)\n"
                "  --blind-writes       ignore if_newer (last write wins)\n"
                "  --max-body-bytes N   larger bulk bodies get 413 (default "
                "8388608)\n"
                "  --max-log-entries N  cap of apply and side-effect logs "
                "(default 4194304)\n"
                "  -h, --help           this help\n\n"
                "Prints \"sink listening on http://127.0.0.1:PORT\" once "
                "ready; stops on SIGINT or SIGTERM.\n"
                "Faults: POST /_admin/mode {\"outage\":\"503|hang|refuse|"
                "none\",\"latency_ms\":N,\"partial_failure\":R,"
                "\"duration_ms\":N}\n");
}

static int parse_num(const char *s, unsigned long long max,
                     unsigned long long *out)
{
        uint64_t v;
        if (crmsync_parse_u64(s, 0, max, &v))
                return -1;
        *out = v;
        return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        (void)sig;
        (void)what;
        event_base_loopexit(arg, NULL);
}

int crmsync_cmd_sink(int argc, char **argv)
{
        static const struct option opts[] = {
            {"port", required_argument, NULL, 'p'},
            {"bind", required_argument, NULL, 'b'},
            {"blind-writes", no_argument, NULL, 'w'},
            {"max-body-bytes", required_argument, NULL, 'm'},
            {"max-log-entries", required_argument, NULL, 'l'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        struct sink_config cfg = {.bind_host = "127.0.0.1"};
        unsigned long long v;
        char               errstr[256];
        int                c, rc = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        if (parse_num(optarg, 65535, &v)) {
                                fprintf(stderr, "crmsync sink: --port must "
                                                "be 0..65535\n");
                                return 2;
                        }
                        cfg.port = (int)v;
                        break;
                case 'b':
                        cfg.bind_host = optarg;
                        break;
                case 'w':
                        cfg.blind_writes = 1;
                        break;
                case 'm':
                case 'l':
                        if (parse_num(optarg, 1ull << 40, &v) || v == 0) {
                                fprintf(stderr,
                                        "crmsync sink: --%s must be a "
                                        "positive integer\n",
                                        c == 'm' ? "max-body-bytes"
                                                 : "max-log-entries");
                                return 2;
                        }
                        if (c == 'm')
                                cfg.max_body_bytes = (size_t)v;
                        else
                                cfg.max_log_entries = (size_t)v;
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
                fprintf(stderr, "crmsync sink: unexpected argument '%s'\n",
                        argv[optind]);
                usage(stderr);
                return 2;
        }

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
