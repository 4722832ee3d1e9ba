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
#include "crmsync/common.h"
#include "crmsync/crm.h"
#include "harness/scenario.h"
#include "crmsync/workload.h"

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync crm [options]\n\n"
                "Start the mock CRM HTTP server and serve a seeded workload\n"
                "as its commit times pass. Runs until SIGINT or SIGTERM.\n\n"
                "Options:\n"
                "  --port N          port on 127.0.0.1 (0 = any free port; "
                "default 0)\n"
                "  --host ADDR       bind address (default 127.0.0.1)\n"
                "  --scenario FILE   take workload, CRM settings and the CRM "
                "faults of the\n"
                "                    timeline from a scenario file (flags "
                "below override)\n"
                "  --seed S          workload seed (default 1)\n"
                "  --accounts N      accounts created first (2000)\n"
                "  --contacts N      contacts per account (2; 0 = none)\n"
                "  --changes N       total changes, creates included (20000)\n"
                "  --rate R          mean commits per second (2000)\n"
                "  --zipf S          hot-account skew, 0 = uniform (0)\n"
                "  --txn-max N       changes per transaction (1)\n"
                "  --max-page N      largest limit= accepted (1000)\n"
                "  --retention-s S   feed retention, 0 = keep all (0)\n"
                "  --rate-limit R    requests per second per client, 0 = off\n"
                "  --error-rate X    share of transient 5xx answers (0..1)\n"
                "  -h, --help        this help\n\n"
                "Prints \"crm listening on http://HOST:PORT\" when ready.\n"
                "API: docs/crm-api.md.\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
        return crmsync_parse_u64(s, 0, max, out);
}

static int parse_double(const char *s, double min, double max, double *out)
{
        char  *end;
        double v;
        if (!s || !*s)
                return -1;
        errno = 0;
        v     = strtod(s, &end);
        if (errno || *end || isnan(v) || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

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

int crmsync_cmd_crm(int argc, char **argv)
{
        struct crm_workload_config wc = {0};
        struct crm_server_config   cc = {0};
        struct crm_run             r;
        const char                *scenario = NULL, *host = "127.0.0.1";
        char                       err[512];
        uint64_t                   u;
        double                     d;
        int                        rc     = 2;
        crm_workload_t            *w      = NULL;
        struct event              *sigint = NULL, *sigterm = NULL;

        memset(&r, 0, sizeof(r));
        /* First pass: the scenario, so flags can override it. */
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                        usage(stdout);
                        return 0;
                }
                if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
                        scenario = argv[i + 1];
        }
        if (scenario) {
                r.sc = crmsync_scenario_load(scenario, err, sizeof(err));
                if (!r.sc) {
                        fprintf(stderr, "crmsync crm: %s\n", err);
                        return 2;
                }
                wc = r.sc->workload;
                if (!wc.seed)
                        wc.seed = r.sc->seed;
                cc.max_page         = r.sc->crm_max_page;
                cc.rate_limit_per_s = r.sc->crm_rate_limit_per_s;
                cc.rate_burst       = r.sc->crm_rate_burst;
                cc.daily_quota      = r.sc->crm_daily_quota;
                cc.error_rate_5xx   = r.sc->crm_error_rate_5xx;
                cc.retention_ms     = (int64_t)(r.sc->crm_retention_s * 1000);
        } else {
                wc.seed = 1;
        }

        for (int i = 1; i < argc; i++) {
                const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                int         bad = 0;
                if (!v) {
                        fprintf(stderr,
                                "crmsync crm: %s needs a value "
                                "(see --help)\n",
                                o);
                        goto out;
                }
                if (!strcmp(o, "--port"))
                        bad =
                            parse_u64(v, 65535, &u) || ((cc.port = (int)u), 0);
                else if (!strcmp(o, "--host"))
                        host = v;
                else if (!strcmp(o, "--scenario"))
                        ;
                else if (!strcmp(o, "--seed"))
                        bad = parse_u64(v, UINT64_MAX, &wc.seed);
                else if (!strcmp(o, "--accounts"))
                        bad = parse_u64(v, UINT32_MAX, &u) ||
                              ((wc.accounts = (uint32_t)u), 0);
                else if (!strcmp(o, "--contacts")) /* 0 = none */
                        bad = parse_u64(v, 1000, &u) ||
                              ((wc.contacts_per_account =
                                    u ? (uint32_t)u : CRM_WORKLOAD_NONE),
                               0);
                else if (!strcmp(o, "--changes"))
                        bad = parse_u64(v, UINT32_MAX, &u) ||
                              ((wc.changes = (uint32_t)u), 0);
                else if (!strcmp(o, "--rate"))
                        bad = parse_double(v, 0, 1e9, &wc.rate_per_s);
                else if (!strcmp(o, "--zipf"))
                        bad = parse_double(v, 0, 10, &wc.zipf_s);
                else if (!strcmp(o, "--txn-max"))
                        bad = parse_u64(v, 100000, &u) ||
                              ((wc.txn_max = (uint32_t)u), 0);
                else if (!strcmp(o, "--max-page"))
                        bad = parse_u64(v, 100000, &u) ||
                              ((cc.max_page = (uint32_t)u), 0);
                else if (!strcmp(o, "--retention-s"))
                        bad = parse_double(v, 0, 1e9, &d) ||
                              ((cc.retention_ms = (int64_t)(d * 1000)), 0);
                else if (!strcmp(o, "--rate-limit"))
                        bad = parse_double(v, 0, 1e9, &cc.rate_limit_per_s);
                else if (!strcmp(o, "--error-rate"))
                        bad = parse_double(v, 0, 1, &cc.error_rate_5xx);
                else {
                        fprintf(stderr,
                                "crmsync crm: unknown option '%s' "
                                "(see --help)\n",
                                o);
                        goto out;
                }
                if (bad) {
                        fprintf(stderr, "crmsync crm: bad value '%s' for %s\n",
                                v, o);
                        goto out;
                }
                i++;
        }

        w = crmsync_workload_generate(&wc, err, sizeof(err));
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
