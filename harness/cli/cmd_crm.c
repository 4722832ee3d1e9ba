/* cmd_crm.c -- `crmsync crm`: run the mock CRM standalone until a signal. */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "crmsync/common.h"
#include "crmsync/crm.h"
#include "harness/scenario.h"
#include "crmsync/workload.h"

static const char intro[] =
    "Usage: crmsync crm [options]\n\n"
    "Start the mock CRM HTTP server and serve a seeded workload\n"
    "as its commit times pass. Runs until SIGINT or SIGTERM.\n";
static const char epilog[] =
    "Prints \"crm listening on http://HOST:PORT\" when ready.\n"
    "API: docs/crm-api.md.\n";

struct crm_run {
        struct event_base *base;
        crm_server_t      *srv;
        struct scenario   *sc;
        struct event      *fault_ev[2 * SCENARIO_MAX_FAULTS];
        struct fault_arg {
                struct crm_run *run;
                int             idx, on;
        } fault_args[2 * SCENARIO_MAX_FAULTS];
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        (void)what;
        fprintf(stderr, "crm: signal %d, stopping\n", (int)sig);
        event_base_loopbreak(arg);
}

/* A scenario fault starts or ends: only CRM faults apply standalone. */
static void on_fault(evutil_socket_t fd, short what, void *arg)
{
        struct fault_arg            *fa = arg;
        const struct scenario_fault *f  = &fa->run->sc->faults[fa->idx];
        char                         err[256];
        (void)fd;
        (void)what;
        if (crmsync_crm_server_fault(fa->run->srv, f->type, f->params, fa->on,
                                     err, sizeof(err)))
                fprintf(stderr, "crm: fault %s ignored: %s\n", f->type, err);
        else
                fprintf(stderr, "crm: fault %s %s\n", f->type,
                        fa->on ? "on" : "off");
}

static void schedule_faults(struct crm_run *r)
{
        int n = 0;
        for (int i = 0; r->sc && i < r->sc->fault_cnt; i++) {
                const struct scenario_fault *f = &r->sc->faults[i];
                for (int on = 1; on >= 0; on--) {
                        double at = on ? f->at_s : f->at_s + f->duration_s;
                        if (!on && f->duration_s <= 0)
                                continue;
                        struct timeval tv = {
                            (time_t)at, (suseconds_t)((at - floor(at)) * 1e6)};
                        r->fault_args[n] = (struct fault_arg){r, i, on};
                        r->fault_ev[n] =
                            evtimer_new(r->base, on_fault, &r->fault_args[n]);
                        if (r->fault_ev[n])
                                evtimer_add(r->fault_ev[n], &tv);
                        n++;
                }
        }
}

/* The flags, over what the scenario set: into wc, cc and *host. Returns
 * CLI_OK, CLI_HELP or CLI_ERROR. */
static int parse_options(int argc, char **argv, struct crm_workload_config *wc,
                         struct crm_server_config *cc, const char **host,
                         const char **scenario)
{
        double               retention_s = -1;
        uint32_t             contacts    = UINT32_MAX;
        const struct cli_opt opts[]      = {
                 CLI_OPT("port", CLI_INT, &cc->port, "N",
                         "port on 127.0.0.1 (0 = any free port; default 0)",
                         .hi = 65535),
                 CLI_OPT("host", CLI_STR, host, "ADDR",
                         "bind address (default 127.0.0.1)"),
                 CLI_OPT("scenario", CLI_STR, scenario, "FILE",
                         "take workload, CRM settings and the CRM faults of the\n"
                              "timeline from a scenario file (flags below override)"),
                 CLI_OPT("seed", CLI_U64, &wc->seed, "S", "workload seed (1)",
                         .hi = UINT64_MAX),
                 CLI_OPT("accounts", CLI_U32, &wc->accounts, "N",
                         "accounts created first (2000)", .hi = UINT32_MAX),
                 CLI_OPT("contacts", CLI_U32, &contacts, "N",
                         "contacts per account (2; 0 = none)", .hi = 1000),
                 CLI_OPT("changes", CLI_U32, &wc->changes, "N",
                         "total changes, creates included (20000)",
                         .hi = UINT32_MAX),
                 CLI_OPT("rate", CLI_DOUBLE, &wc->rate_per_s, "R",
                         "mean commits per second (2000)", .unit = "/s", .max = 1e9),
                 CLI_OPT("zipf", CLI_DOUBLE, &wc->zipf_s, "S",
                         "hot-account skew, 0 = uniform (0)", .max = 10),
                 CLI_OPT("txn-max", CLI_U32, &wc->txn_max, "N",
                         "changes per transaction (1)", .hi = 100000),
                 CLI_OPT("max-page", CLI_U32, &cc->max_page, "N",
                         "largest limit= accepted (1000)", .hi = 100000),
                 CLI_OPT("retention-s", CLI_DOUBLE, &retention_s, "S",
                         "feed retention, 0 = keep all (0)", .unit = "s",
                         .max = 1e9),
                 CLI_OPT("rate-limit", CLI_DOUBLE, &cc->rate_limit_per_s, "R",
                         "requests per second per client, 0 = off", .unit = "/s",
                         .max = 1e9),
                 CLI_OPT("error-rate", CLI_DOUBLE, &cc->error_rate_5xx, "X",
                         "share of transient 5xx answers", .max = 1),
                 CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"crm", intro, opts, epilog, 0};
        int rc = crmsync_cli_parse(&cmd, argc, argv, NULL, NULL);

        if (rc)
                return rc;
        if (contacts != UINT32_MAX) /* 0 = none */
                wc->contacts_per_account =
                    contacts ? contacts : CRM_WORKLOAD_NONE;
        if (retention_s >= 0)
                cc->retention_ms = (int64_t)(retention_s * 1000);
        return CLI_OK;
}

/* The scenario's workload and CRM settings into wc and cc. Returns 0, or 2
 * after an error. */
static int load_scenario(const char *path, struct crm_run *r,
                         struct crm_workload_config *wc,
                         struct crm_server_config   *cc)
{
        char err[512];

        r->sc = crmsync_scenario_load(path, err, sizeof(err));
        if (!r->sc) {
                fprintf(stderr, "crmsync crm: %s\n", err);
                return 2;
        }
        *wc = r->sc->workload;
        if (!wc->seed)
                wc->seed = r->sc->seed;
        cc->max_page         = r->sc->crm_max_page;
        cc->rate_limit_per_s = r->sc->crm_rate_limit_per_s;
        cc->rate_burst       = r->sc->crm_rate_burst;
        cc->daily_quota      = r->sc->crm_daily_quota;
        cc->error_rate_5xx   = r->sc->crm_error_rate_5xx;
        cc->retention_ms     = (int64_t)(r->sc->crm_retention_s * 1000);
        return 0;
}

int crmsync_cmd_crm(int argc, char **argv)
{
        struct crm_workload_config wc = {0};
        struct crm_server_config   cc = {0};
        struct crm_run             r;
        const char                *host = "127.0.0.1", *scenario = NULL;
        char                       err[512];
        int                        rc     = 2;
        crm_workload_t            *w      = NULL;
        struct event              *sigint = NULL, *sigterm = NULL;

        memset(&r, 0, sizeof(r));
        /* A first pass validates the flags and finds --scenario; the
         * second sets the flags over what the scenario set. */
        {
                struct crm_workload_config dw = {0};
                struct crm_server_config   dc = {0};
                const char                *dh;
                if ((rc = parse_options(argc, argv, &dw, &dc, &dh, &scenario)))
                        return rc == CLI_HELP ? 0 : 2;
        }
        if (!scenario)
                wc.seed = 1;
        else if (load_scenario(scenario, &r, &wc, &cc))
                return 2;
        parse_options(argc, argv, &wc, &cc, &host, &scenario);
        rc = 2;
        w  = crmsync_workload_generate(&wc, err, sizeof(err));
        if (!w) {
                fprintf(stderr, "crmsync crm: %s\n", err);
                goto out;
        }
        r.base = event_base_new();
        if (!r.base) {
                fprintf(stderr, "crmsync crm: cannot create the event loop\n");
                rc = 1;
                goto out;
        }
        cc.bind_host = host;
        cc.workload  = w;
        r.srv        = crmsync_crm_server_new(r.base, &cc, err, sizeof(err));
        if (!r.srv) {
                fprintf(stderr, "crmsync crm: %s\n", err);
                rc = 1;
                goto out;
        }
        sigint  = evsignal_new(r.base, SIGINT, on_signal, r.base);
        sigterm = evsignal_new(r.base, SIGTERM, on_signal, r.base);
        if (!sigint || !sigterm || evsignal_add(sigint, NULL) ||
            evsignal_add(sigterm, NULL)) {
                fprintf(stderr, "crmsync crm: cannot install signal "
                                "handlers\n");
                rc = 1;
                goto out;
        }
        schedule_faults(&r);
        {
                char sha[65];
                crmsync_workload_sha256(w, sha);
                fprintf(stderr,
                        "crm: %zu events over %.1f s, commit log sha256 %s\n",
                        crmsync_workload_event_cnt(w),
                        crmsync_workload_duration_ms(w) / 1000.0, sha);
        }
        printf("crm listening on http://%s:%d\n", host,
               crmsync_crm_server_port(r.srv));
        fflush(stdout);
        event_base_dispatch(r.base);
        rc = 0;

out:
        for (int i = 0; i < 2 * SCENARIO_MAX_FAULTS; i++)
                if (r.fault_ev[i])
                        event_free(r.fault_ev[i]);
        if (sigint)
                event_free(sigint);
        if (sigterm)
                event_free(sigterm);
        crmsync_crm_server_destroy(r.srv);
        if (r.base)
                event_base_free(r.base);
        crmsync_workload_destroy(w);
        crmsync_scenario_destroy(r.sc);
        return rc;
}
