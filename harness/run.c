/* run.c -- one scenario end to end (see run.h). Owns the process's single
 * event loop: the CRM and sink servers, the fault timeline and the
 * convergence tick all run on it. The embedded broker runs on librdkafka's
 * own threads. */
#include "crmsync/run.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crmsync/auditor.h"
#include "crmsync/cluster.h"
#include "crmsync/bugs.h"
#include "crmsync/checker.h"
#include "crmsync/common.h"
#include "crmsync/crm.h"
#include "crmsync/domain.h"
#include "crmsync/histogram.h"
#include "crmsync/history.h"
#include "crmsync/probe.h"
#include "crmsync/report.h"
#include "crmsync/sink.h"
#include "crmsync/supervisor.h"
#include "crmsync/timing.h"
#include "crmsync/workload.h"

#define TICK_MS        250
#define CHECK_EVERY_MS 250
/* Time the connector gets to start before the CRM's first commit. */
#define CONNECTOR_WARMUP_MS 1500
#define PROBE_INTERVAL_MS   200

enum phase { PHASE_RUN, PHASE_WAIT, PHASE_DONE };

struct fault_state {
        int     started, ended, skipped;
        char    reason[256];
        int64_t start_mono, end_mono, start_wall, end_wall;
};

struct run {
        const struct scenario    *sc;
        const struct run_options *opt;
        struct event_base        *base;
        cluster_t                *cluster;
        crm_workload_t           *wl;
        auditor_t                *auditor;
        probe_t                  *probe;
        crm_server_t             *crm;
        sink_server_t            *sink;
        struct child              connector, profiler, replayer;
        char                      run_id[200];
        char                      run_dir[512];
        char                      crm_url[64], sink_url[64];
        char                      group_id[240];
        FILE                     *history;
        int64_t                   t0_mono, t0_wall; /* the CRM's clock */
        int64_t                   start_mono;       /* the harness's */
        int64_t                   workload_end_mono, faults_end_mono;
        int64_t                   deadline_mono;
        struct fault_state        faults[SCENARIO_MAX_FAULTS];
        struct event             *tick, *sig_int, *sig_term;
        enum phase                phase;
        int                       converged, interrupted, timed_out, settled;
        int64_t                   converged_mono;
        int64_t                   last_check_mono;
        size_t                    last_apply_cnt;
        int64_t                   last_progress_mono;
        int                       unexpected_exits;
        /* Replay phase. */
        int64_t                   replay_start_mono, replay_done_mono;
        int                       replay_matched;
};

static void history(struct run *r, const char *kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static uint32_t record_index(struct run *r, const char *key);

/* history.jsonl: one JSON object a line, with monotonic (since start) and
 * wall-clock timestamps. fmt adds extra members (",\"k\":v"). */
static void history(struct run *r, const char *kind, const char *fmt, ...)
{
        va_list ap;
        if (!r->history)
                return;
        fprintf(r->history, "{\"t_ms\":%lld,\"wall_ms\":%lld,\"kind\":\"%s\"",
                (long long)(crmsync_mono_ms() - r->t0_mono),
                (long long)crmsync_wall_ms(), kind);
        va_start(ap, fmt);
        vfprintf(r->history, fmt, ap);
        va_end(ap);
        fputs("}\n", r->history);
}

static void progress(struct run *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void progress(struct run *r, const char *fmt, ...)
{
        va_list ap;
        if (r->opt->quiet)
                return;
        fprintf(stderr, "[%7.1fs] ",
                (double)(crmsync_mono_ms() - r->start_mono) / 1000.0);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* -- pipeline processes --------------------------------------------------- */

static void child_env(struct run *r, struct child *c, const char *group)
{
        char path[600];
        snprintf(path, sizeof(path), "%s/kafka.properties", r->run_dir);
        if (r->crm_url[0]) /* the profiler starts before the CRM */
                crmsync_child_setenv(c, "CRMSYNC_CRM_URL", r->crm_url);
        crmsync_child_setenv(c, "CRMSYNC_SINK_URL", r->sink_url);
        crmsync_child_setenv(c, "CRMSYNC_BOOTSTRAP_SERVERS",
                             crmsync_cluster_bootstrap(r->cluster));
        crmsync_child_setenv(c, "CRMSYNC_TOPIC", r->sc->topic);
        crmsync_child_setenv(c, "CRMSYNC_GROUP_ID", group);
        crmsync_child_setenv(c, "CRMSYNC_KAFKA_CONFIG", path);
        crmsync_child_setenv(c, "CRMSYNC_RUN_DIR", r->run_dir);
        snprintf(path, sizeof(path), "%s/profiler-reads.tsv", r->run_dir);
        crmsync_child_setenv(c, "CRMSYNC_READ_LOG", path);
}

static void add_bug_args(const char **argv, int *n, uint32_t bugs)
{
        for (int i = 0; i < 32; i++)
                if ((bugs & (1u << i)) && crmsync_bug_name(1u << i)) {
                        argv[(*n)++] = "--bug";
                        argv[(*n)++] = crmsync_bug_name(1u << i);
                }
}

/* Prepare (not start) a pipeline process. name is connector, profiler or
 * replay (a profiler rebuilding the sink from the earliest offset). */
static void setup_child(struct run *r, struct child *c, const char *name,
                        const struct scenario_process *p, const char *group)
{
        const char *argv[SUPERVISOR_MAX_ARGS];
        char        n1[16], n2[16], shcmd[4096];
        int         n = 0;

        snprintf(c->name, sizeof(c->name), "%s", name);
        snprintf(c->log_path, sizeof(c->log_path), "%s/%s.log", r->run_dir,
                 name);
        if (p->command) {
                /* exec: the user's program replaces the shell, so signals
                 * and the death signal reach it directly. */
                snprintf(shcmd, sizeof(shcmd), "exec %s", p->command);
                argv[n++] = "/bin/sh";
                argv[n++] = "-c";
                argv[n++] = shcmd;
        } else if (!strcmp(name, "connector")) {
                snprintf(n1, sizeof(n1), "%u", p->page_size);
                snprintf(n2, sizeof(n2), "%u", p->lookback_ms);
                argv[n++] = r->opt->self_exe;
                argv[n++] = "connector";
                argv[n++] = "--mode";
                argv[n++] = p->mode;
                argv[n++] = "--page-size";
                argv[n++] = n1;
                argv[n++] = "--lookback-ms";
                argv[n++] = n2;
                add_bug_args(argv, &n, p->bugs);
        } else {
                snprintf(n1, sizeof(n1), "%u", p->batch_size);
                snprintf(n2, sizeof(n2), "%u", p->linger_ms);
                argv[n++] = r->opt->self_exe;
                argv[n++] = "profiler";
                argv[n++] = "--batch-size";
                argv[n++] = n1;
                argv[n++] = "--linger-ms";
                argv[n++] = n2;
                if (!strcmp(name, "replay")) {
                        argv[n++] = "--offset-reset";
                        argv[n++] = "earliest";
                        argv[n++] = "--no-side-effects";
                        if (r->sc->replay.domain) {
                                argv[n++] = "--domain";
                                argv[n++] = r->sc->replay.domain;
                        }
                }
                add_bug_args(argv, &n, p->bugs);
        }
        argv[n] = NULL;
        crmsync_child_set_argv(c, argv);
        child_env(r, c, group);
        if (!strcmp(name, "replay")) {
                crmsync_child_setenv(c, "CRMSYNC_REPLAY", "1");
                if (r->sc->replay.domain)
                        crmsync_child_setenv(c, "CRMSYNC_REPLAY_DOMAIN",
                                             r->sc->replay.domain);
        }
}

static int start_child(struct run *r, struct child *c)
{
        char errstr[256];
        if (crmsync_child_start(c, errstr, sizeof(errstr)) == -1) {
                progress(r, "%s: %s", c->name, errstr);
                history(r, "child_start_failed", ",\"child\":\"%s\"",
                        c->name);
                return -1;
        }
        history(r, "child_start", ",\"child\":\"%s\",\"pid\":%d,\"start\":%d",
                c->name, (int)c->pid, c->starts);
        return 0;
}

/* -- faults --------------------------------------------------------------- */

struct fault_timer {
        struct run *r;
        int         idx;
        int         on;
};

struct child_restart {
        struct run   *r;
        struct child *c;
};

static void child_restart_cb(evutil_socket_t fd, short what, void *arg)
{
        struct child_restart *cr = arg;
        (void)fd;
        (void)what;
        if (cr->r->phase != PHASE_DONE && !cr->c->pid)
                start_child(cr->r, cr->c);
        free(cr);
}

static void schedule_restart(struct run *r, struct child *c, double after_s)
{
        struct child_restart *cr = malloc(sizeof(*cr));
        struct timeval        tv = {(time_t)after_s,
                                    (suseconds_t)(fmod(after_s, 1.0) * 1e6)};
        if (!cr)
                return;
        cr->r = r;
        cr->c = c;
        event_base_once(r->base, -1, EV_TIMEOUT, child_restart_cb, cr, &tv);
}

/* Harness self-test: corrupt live sink records that already hold the
 * CRM's final version, so no later conditional write repairs them. */
struct corrupt_ctx {
        struct run *r;
        char      (*keys)[CRMSYNC_KEY_MAX];
        int         want, found;
};

static void corrupt_pick_cb(void *opaque, const struct sink_record *sr)
{
        struct corrupt_ctx      *c = opaque;
        const struct crm_record *cr;
        char                     ent[32];
        const char              *slash = strchr(sr->key, '/');
        int                      e;

        if (c->found == c->want || sr->deleted || !slash ||
            (size_t)(slash - sr->key) >= sizeof(ent))
                return;
        memcpy(ent, sr->key, (size_t)(slash - sr->key));
        ent[slash - sr->key] = '\0';
        if ((e = crmsync_entity_parse(ent)) < 0 ||
            !(cr = crmsync_workload_find(c->r->wl, (enum crm_entity)e,
                                         slash + 1)) ||
            cr->deleted || cr->version != sr->version)
                return;
        snprintf(c->keys[c->found++], CRMSYNC_KEY_MAX, "%s", sr->key);
}

static int corrupt_records(struct run *r, int count, char *why, size_t size)
{
        struct corrupt_ctx c = {r, calloc((size_t)count, CRMSYNC_KEY_MAX),
                                count, 0};
        int                done = 0;
        if (!c.keys)
                return -1;
        crmsync_sink_foreach(r->sink, corrupt_pick_cb, &c);
        for (int i = 0; i < c.found; i++)
                if (crmsync_sink_corrupt(r->sink, c.keys[i]) == 0) {
                        history(r, "sink_corrupted", ",\"key\":\"%s\"",
                                c.keys[i]);
                        done++;
                }
        free(c.keys);
        if (done < count) {
                snprintf(why, size,
                         "only %d of %d records could be corrupted (too few "
                         "records hold their final version yet)",
                         done, count);
                return done ? 0 : -1;
        }
        return 0;
}

/* Start (on=1) or end (on=0) fault idx. Returns 0, or -1 with why filled
 * when this target cannot perform it (the fault is then skipped). */
static int fault_apply(struct run *r, const struct scenario_fault *f, int on,
                       char *why, size_t size)
{
        const json_t *p = f->params;
        const char   *t = f->type;

        if (!strcmp(t, "sink_outage")) {
                const char     *m  = json_string_value(json_object_get(p, "mode"));
                enum sink_outage mode = !on                  ? SINK_OUTAGE_NONE
                                        : !strcmp(m, "503")  ? SINK_OUTAGE_503
                                        : !strcmp(m, "hang") ? SINK_OUTAGE_HANG
                                                             : SINK_OUTAGE_REFUSE;
                return crmsync_sink_set_outage(r->sink, mode, why, size);
        }
        if (!strcmp(t, "sink_slow")) {
                crmsync_sink_set_latency(
                        r->sink,
                        on ? (uint32_t)json_integer_value(
                                     json_object_get(p, "latency_ms"))
                           : 0);
                return 0;
        }
        if (!strcmp(t, "sink_partial_failure")) {
                crmsync_sink_set_partial_failure(
                        r->sink,
                        on ? json_number_value(json_object_get(p, "ratio"))
                           : 0);
                return 0;
        }
        if (!strcmp(t, "broker_restart") || !strcmp(t, "broker_rtt") ||
            !strcmp(t, "kafka_request_errors") || !strcmp(t, "leader_move"))
                return crmsync_cluster_fault(r->cluster, t, p, on, why, size);
        if (!strcmp(t, "connector_crash") || !strcmp(t, "profiler_crash")) {
                struct child *c = t[0] == 'c' ? &r->connector : &r->profiler;
                json_t       *ra = json_object_get(p, "restart_after_s");
                if (!on)
                        return 0;
                crmsync_child_signal(c, SIGKILL);
                crmsync_child_stop(c, 0); /* reaps it */
                history(r, "child_killed", ",\"child\":\"%s\"", c->name);
                schedule_restart(r, c, ra ? json_number_value(ra) : 1.0);
                return 0;
        }
        if (!strcmp(t, "connector_pause")) {
                crmsync_child_signal(&r->connector, on ? SIGSTOP : SIGCONT);
                return 0;
        }
        if (!strcmp(t, "corrupt_sink_record")) {
                json_t *cnt = json_object_get(p, "count");
                if (!on)
                        return 0;
                return corrupt_records(r, cnt ? (int)json_integer_value(cnt)
                                              : 1,
                                       why, size);
        }
        /* Everything else is a CRM behaviour. */
        return crmsync_crm_server_fault(r->crm, t, p, on, why, size);
}

static void fault_cb(evutil_socket_t fd, short what, void *arg)
{
        struct fault_timer          *ft = arg;
        struct run                  *r  = ft->r;
        const struct scenario_fault *f  = &r->sc->faults[ft->idx];
        struct fault_state          *fs = &r->faults[ft->idx];
        char                         why[256] = "";
        (void)fd;
        (void)what;

        if (r->phase == PHASE_DONE || fs->skipped)
                goto out;
        if (ft->on) {
                fs->started    = 1;
                fs->start_mono = crmsync_mono_ms();
                fs->start_wall = crmsync_wall_ms();
                if (fault_apply(r, f, 1, why, sizeof(why)) == -1) {
                        fs->skipped = 1;
                        snprintf(fs->reason, sizeof(fs->reason), "%s",
                                 why[0] ? why : "not supported");
                        progress(r, "fault %s skipped: %s", f->type,
                                 fs->reason);
                        history(r, "fault_skipped",
                                ",\"fault\":%d,\"type\":\"%s\"", ft->idx,
                                f->type);
                        goto out;
                }
                progress(r, "fault %s start", f->type);
                history(r, "fault_start", ",\"fault\":%d,\"type\":\"%s\"",
                        ft->idx, f->type);
                if (f->duration_s <= 0) {
                        fs->ended    = 1;
                        fs->end_mono = fs->start_mono;
                        fs->end_wall = fs->start_wall;
                }
        } else {
                fault_apply(r, f, 0, why, sizeof(why));
                fs->ended    = 1;
                fs->end_mono = crmsync_mono_ms();
                fs->end_wall = crmsync_wall_ms();
                progress(r, "fault %s end", f->type);
                history(r, "fault_end", ",\"fault\":%d,\"type\":\"%s\"",
                        ft->idx, f->type);
        }
out:
        free(ft);
}

static void schedule_fault(struct run *r, int idx, int on, double at_s)
{
        struct fault_timer *ft = malloc(sizeof(*ft));
        struct timeval      tv = {(time_t)at_s,
                                  (suseconds_t)(fmod(at_s, 1.0) * 1e6)};
        if (!ft)
                return;
        ft->r   = r;
        ft->idx = idx;
        ft->on  = on;
        event_base_once(r->base, -1, EV_TIMEOUT, fault_cb, ft, &tv);
}

/* -- convergence ---------------------------------------------------------- */

struct collect {
        struct check_record *v;
        size_t               cnt, size;
};

static void collect_cb(void *opaque, const struct sink_record *sr)
{
        struct collect *c = opaque;
        if (c->cnt == c->size) {
                size_t               ns = c->size ? c->size * 2 : 1024;
                struct check_record *nv = realloc(c->v, ns * sizeof(*nv));
                if (!nv)
                        return;
                c->v    = nv;
                c->size = ns;
        }
        c->v[c->cnt++] = (struct check_record){sr->key, sr->account_id,
                                               sr->version, sr->deleted,
                                               sr->fields};
}

/* End-state check of the sink as it is now. */
static int check_now(struct run *r, struct check_result *res)
{
        struct collect c = {0};
        char           errstr[256];
        int            rc;
        crmsync_sink_foreach(r->sink, collect_cb, &c);
        rc = crmsync_check_end_state(r->wl, c.v, c.cnt, res, errstr,
                                     sizeof(errstr));
        free(c.v);
        return rc;
}

static int all_faults_over(struct run *r)
{
        for (int i = 0; i < r->sc->fault_cnt; i++)
                if (!r->faults[i].skipped && !r->faults[i].ended)
                        return 0;
        return 1;
}

static void reap_children(struct run *r)
{
        struct child *cs[2] = {&r->connector, &r->profiler};
        for (int i = 0; i < 2; i++) {
                int was = cs[i]->pid;
                if (!crmsync_child_reap(cs[i]))
                        continue;
                r->unexpected_exits++;
                progress(r, "%s (pid %d) exited unexpectedly (status %d); "
                            "restarting in 1 s",
                         cs[i]->name, was, cs[i]->last_status);
                history(r, "child_exit",
                        ",\"child\":\"%s\",\"pid\":%d,\"status\":%d",
                        cs[i]->name, was, cs[i]->last_status);
                if (cs[i]->starts < 20)
                        schedule_restart(r, cs[i], 1.0);
        }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
        struct run              *r   = arg;
        int64_t                  now = crmsync_mono_ms();
        const struct sink_apply *applies;
        size_t                   napplies;
        (void)fd;
        (void)what;

        reap_children(r);
        crmsync_cluster_reap(r->cluster);
        napplies = crmsync_sink_applies(r->sink, &applies);
        if (napplies != r->last_apply_cnt) {
                r->last_apply_cnt     = napplies;
                r->last_progress_mono = now;
        }
        if (now >= r->deadline_mono) {
                r->timed_out = 1;
                r->phase     = PHASE_DONE;
                progress(r, "timeout: giving up waiting for convergence");
                event_base_loopexit(r->base, NULL);
                return;
        }
        if (r->phase == PHASE_RUN) {
                if (now < r->workload_end_mono || !all_faults_over(r))
                        return;
                r->phase              = PHASE_WAIT;
                r->last_progress_mono = now;
                progress(r, "workload committed (%zu events) and faults "
                            "over; waiting for convergence",
                         crmsync_workload_event_cnt(r->wl));
                history(r, "workload_done", "%s", "");
        }
        if (now - r->last_check_mono < CHECK_EVERY_MS)
                return;
        r->last_check_mono = now;

        struct check_result res;
        crmsync_check_result_init(&res);
        check_now(r, &res);
        uint64_t bad = crmsync_check_result_total(&res);
        crmsync_check_result_clear(&res);
        if (bad == 0) {
                r->converged      = 1;
                r->converged_mono = now;
                r->phase          = PHASE_DONE;
                progress(r, "converged: sink matches the CRM");
                history(r, "converged", "%s", "");
                event_base_loopexit(r->base, NULL);
        } else if (now - r->last_progress_mono >=
                   (int64_t)(r->sc->settle_s * 1000)) {
                r->settled = 1;
                r->phase   = PHASE_DONE;
                progress(r, "settled without converging: %llu records "
                            "differ and no write for %.1f s",
                         (unsigned long long)bad, r->sc->settle_s);
                history(r, "settled", ",\"differing\":%llu",
                        (unsigned long long)bad);
                event_base_loopexit(r->base, NULL);
        }
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
        struct run *r = arg;
        (void)what;
        r->interrupted = 1;
        r->phase       = PHASE_DONE;
        progress(r, "interrupted by signal %d: stopping", (int)sig);
        event_base_loopexit(r->base, NULL);
}

/* -- summary -------------------------------------------------------------- */

/* Parse "e-00000042" into 42; 0 for other ids (resync events). */
static uint64_t event_seq(const char *id)
{
        if (id[0] != 'e' || id[1] != '-')
                return 0;
        return strtoull(id + 2, NULL, 10);
}

/* Per fault: convergence after it ended, and for process outages the
 * catch-up (backlog drain) time after the process was back. */
static void fault_timing(struct run *r, json_t *t)
{
        const struct sink_apply *a;
        size_t                   na = crmsync_sink_applies(r->sink, &a);
        size_t                   ne = crmsync_workload_event_cnt(r->wl);
        struct timing_facts      f  = {0};
        uint32_t *ev_rec = calloc(ne + 1, 4), *ev_ver = calloc(ne + 1, 4);
        uint32_t *ap_rec = calloc(na + 1, 4), *ap_ver = calloc(na + 1, 4);
        int64_t  *ev_ms = calloc(ne + 1, 8), *ap_ms = calloc(na + 1, 8);
        uint8_t  *ap_ok = calloc(na + 1, 1);
        json_t   *conv = json_array(), *catch_up = json_array();
        json_t   *unavail = json_array();
        double    worst_catch_up = -1;
        char      key[CRMSYNC_KEY_MAX];

        if (!ev_rec || !ev_ver || !ap_rec || !ap_ver || !ev_ms || !ap_ms ||
            !ap_ok)
                goto out;
        for (size_t i = 0; i < ne; i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                snprintf(key, sizeof(key), "%s/%s",
                         crmsync_entity_name(ev->entity), ev->record_id);
                ev_rec[i] = record_index(r, key);
                ev_ver[i] = ev->version;
                ev_ms[i]  = r->t0_wall + ev->commit_ms;
        }
        for (size_t i = 0; i < na; i++) {
                ap_rec[i] = record_index(r, a[i].key);
                ap_ver[i] = a[i].version;
                ap_ms[i]  = a[i].wall_ms;
                ap_ok[i]  = (uint8_t)a[i].applied;
        }
        f = (struct timing_facts){ev_rec, ev_ver, ev_ms, ne, ap_rec, ap_ver,
                                  ap_ms,  ap_ok,  na,
                                  (uint32_t)crmsync_workload_record_cnt(r->wl)};
        for (int i = 0; i < r->sc->fault_cnt; i++) {
                const struct fault_state    *fs = &r->faults[i];
                const struct scenario_fault *sf = &r->sc->faults[i];
                double                       c;
                if (fs->skipped || !fs->ended)
                        continue;
                if (!strcmp(sf->type, "broker_restart") && r->probe) {
                        double worst = 0;
                        for (int p = 0;
                             p < crmsync_cluster_probe_partitions(r->cluster);
                             p++) {
                                double u = crmsync_probe_unavailable_s(
                                        r->probe, p, fs->start_wall - 100);
                                if (u < 0 || (worst >= 0 && u > worst))
                                        worst = u;
                        }
                        json_array_append_new(
                                unavail,
                                json_pack("{s:i, s:i, s:o}", "fault", i,
                                          "broker",
                                          (int)json_integer_value(
                                                  json_object_get(sf->params,
                                                                  "broker")),
                                          "unavailable_s",
                                          worst < 0 ? json_null()
                                                    : json_real(worst)));
                }
                c = crmsync_timing_convergence_s(&f, fs->end_wall);
                json_array_append_new(
                        conv, json_pack("{s:i, s:s, s:o}", "fault", i, "type",
                                        sf->type,
                                        "convergence_s",
                                        c < 0 ? json_null() : json_real(c)));
                if (strcmp(sf->type, "connector_crash") &&
                    strcmp(sf->type, "profiler_crash") &&
                    strcmp(sf->type, "connector_pause"))
                        continue;
                /* Back: the scheduled restart, or the SIGCONT. */
                json_t *ra   = json_object_get(sf->params, "restart_after_s");
                int64_t back = strcmp(sf->type, "connector_pause")
                                       ? fs->start_wall +
                                                 (int64_t)((ra ? json_number_value(ra)
                                                               : 1.0) *
                                                           1000)
                                       : fs->end_wall;
                c = crmsync_timing_convergence_s(&f, back);
                if (c > worst_catch_up)
                        worst_catch_up = c;
                json_array_append_new(
                        catch_up,
                        json_pack("{s:i, s:s, s:f, s:o}", "fault", i, "type",
                                  sf->type, "back_s",
                                  (double)(back - r->t0_wall) / 1000.0,
                                  "catch_up_s",
                                  c < 0 ? json_null() : json_real(c)));
        }
out:
        json_object_set_new(t, "fault_convergence", conv);
        json_object_set_new(t, "catch_up", catch_up);
        json_object_set_new(t, "broker_unavailable", unavail);
        json_object_set_new(t, "catch_up_s",
                            worst_catch_up < 0 ? json_null()
                                               : json_real(worst_catch_up));
        free(ev_rec);
        free(ev_ver);
        free(ev_ms);
        free(ap_rec);
        free(ap_ver);
        free(ap_ms);
        free(ap_ok);
}

static json_t *timing_json(struct run *r)
{
        const struct sink_apply *a;
        size_t                   n   = crmsync_sink_applies(r->sink, &a);
        size_t                   ne  = crmsync_workload_event_cnt(r->wl);
        uint8_t                 *seen = calloc(ne + 1, 1);
        struct histogram        *h    = malloc(sizeof(*h));
        json_t                  *t;
        int64_t                  quiet_end =
                r->workload_end_mono > r->faults_end_mono ? r->workload_end_mono
                                                          : r->faults_end_mono;

        if (!seen || !h) {
                free(seen);
                free(h);
                return json_object();
        }
        crmsync_histogram_init(h);
        for (size_t i = 0; i < n; i++) {
                uint64_t seq = event_seq(a[i].event_id);
                if (!a[i].applied || seq == 0 || seq > ne || seen[seq])
                        continue;
                seen[seq] = 1;
                const struct crm_event *ev =
                        crmsync_workload_event(r->wl, seq - 1);
                int64_t lat = a[i].wall_ms - (r->t0_wall + ev->commit_ms);
                crmsync_histogram_record(h, lat < 0 ? 0 : (uint64_t)lat);
        }
        t = json_pack(
                "{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:b, s:o, s:f}",
                "e2e_latency_ms", "count", (json_int_t)h->total, "p50",
                (json_int_t)crmsync_histogram_quantile(h, 0.50), "p95",
                (json_int_t)crmsync_histogram_quantile(h, 0.95), "p99",
                (json_int_t)crmsync_histogram_quantile(h, 0.99), "p99_9",
                (json_int_t)crmsync_histogram_quantile(h, 0.999), "max",
                (json_int_t)h->max, "min",
                (json_int_t)(h->total ? h->min : 0), "converged",
                r->converged, "convergence_s",
                r->converged ? json_real((double)(r->converged_mono -
                                                  quiet_end) /
                                         1000.0)
                             : json_null(),
                "run_s", (double)(crmsync_mono_ms() - r->t0_mono) / 1000.0);
        free(seen);
        free(h);
        fault_timing(r, t);
        return t;
}

static json_t *faults_json(struct run *r)
{
        json_t *arr = json_array();
        for (int i = 0; i < r->sc->fault_cnt; i++) {
                const struct fault_state *fs = &r->faults[i];
                json_t *o = json_pack(
                        "{s:s, s:f, s:b}", "type", r->sc->faults[i].type,
                        "at_s", r->sc->faults[i].at_s, "skipped",
                        fs->skipped || !fs->started);
                json_object_set_new(
                        o, "start_s",
                        fs->started ? json_real((double)(fs->start_mono -
                                                         r->t0_mono) /
                                                1000.0)
                                    : json_null());
                json_object_set_new(
                        o, "end_s",
                        fs->ended ? json_real((double)(fs->end_mono -
                                                       r->t0_mono) /
                                              1000.0)
                                  : json_null());
                if (fs->skipped || !fs->started)
                        json_object_set_new(
                                o, "reason",
                                json_string(fs->reason[0]
                                                    ? fs->reason
                                                    : "the run ended before "
                                                      "its start time"));
                json_array_append_new(arr, o);
        }
        return arr;
}

static void expect_add(json_t *arr, int *failed, const char *name, int ok,
                       const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static void expect_add(json_t *arr, int *failed, const char *name, int ok,
                       const char *fmt, ...)
{
        char    detail[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        if (!ok)
                *failed = 1;
        json_array_append_new(arr, json_pack("{s:s, s:b, s:s}", "name", name,
                                             "ok", ok, "detail", detail));
}

static json_t *build_summary(struct run *r, struct check_result *res,
                             json_t *timing, json_t *log, json_t *replay,
                             int *failed)
{
        const struct scenario_expect *e = &r->sc->expect;
        json_t  *exp = json_array(), *an = json_object(), *s;
        char     sha[65];
        uint64_t accounts = 0;
        int64_t  bounds[ANOMALY_CNT] = {
                e->missing,   e->stale,  e->zombie,
                e->divergent, e->unexpected, e->lost,
                e->duplicate_side_effect, e->reordered, e->dead_lettered};

        for (size_t i = 0; i < crmsync_workload_event_cnt(r->wl); i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                if (ev->entity == CRM_ENTITY_ACCOUNT &&
                    ev->change == CRM_CHANGE_CREATE)
                        accounts++;
        }
        crmsync_workload_sha256(r->wl, sha);
        for (int c = 0; c < ANOMALY_CNT; c++) {
                char name[64];
                json_object_set_new(an, crmsync_anomaly_name(c),
                                    json_integer((json_int_t)res->counts[c]));
                if (bounds[c] < 0)
                        continue;
                snprintf(name, sizeof(name), "anomalies.%s <= %lld",
                         crmsync_anomaly_name(c), (long long)bounds[c]);
                expect_add(exp, failed, name,
                           res->counts[c] <= (uint64_t)bounds[c], "found %llu",
                           (unsigned long long)res->counts[c]);
        }
        {
                char   name[64];
                json_t *cs = json_object_get(timing, "convergence_s");
                snprintf(name, sizeof(name), "converged within %gs",
                         e->converge_within_s);
                if (r->converged)
                        expect_add(exp, failed, name,
                                   json_real_value(cs) <= e->converge_within_s,
                                   "converged %.1f s after the workload and "
                                   "faults ended",
                                   json_real_value(cs));
                else
                        expect_add(exp, failed, name, 0, "%s",
                                   r->interrupted ? "interrupted"
                                   : r->timed_out ? "timed out"
                                                  : "sink never matched the "
                                                    "CRM");
        }
        if (e->e2e_p99_ms_max > 0) {
                char    name[64];
                json_int_t p99 = json_integer_value(json_object_get(
                        json_object_get(timing, "e2e_latency_ms"), "p99"));
                snprintf(name, sizeof(name), "e2e p99 <= %g ms",
                         e->e2e_p99_ms_max);
                expect_add(exp, failed, name, p99 <= e->e2e_p99_ms_max,
                           "p99 %lld ms", (long long)p99);
        }
        if (e->catch_up_within_s > 0) {
                size_t  i;
                json_t *c;
                json_array_foreach(json_object_get(timing, "catch_up"), i, c) {
                        char    name[96];
                        json_t *v = json_object_get(c, "catch_up_s");
                        snprintf(name, sizeof(name),
                                 "%s caught up within %gs",
                                 json_string_value(json_object_get(c, "type")),
                                 e->catch_up_within_s);
                        expect_add(exp, failed, name,
                                   json_is_number(v) &&
                                           json_number_value(v) <=
                                                   e->catch_up_within_s,
                                   "%.1f s (-1: never caught up)",
                                   json_is_number(v) ? json_number_value(v)
                                                     : -1.0);
                }
        }
        if (e->broker_unavailable_max_s > 0) {
                size_t  i;
                json_t *u;
                json_array_foreach(json_object_get(timing,
                                                   "broker_unavailable"),
                                   i, u) {
                        char    name[96];
                        json_t *v = json_object_get(u, "unavailable_s");
                        snprintf(name, sizeof(name),
                                 "broker %lld unavailable <= %gs",
                                 (long long)json_integer_value(
                                         json_object_get(u, "broker")),
                                 e->broker_unavailable_max_s);
                        expect_add(exp, failed, name,
                                   json_is_number(v) &&
                                           json_number_value(v) <=
                                                   e->broker_unavailable_max_s,
                                   "%.1f s (-1: never recovered)",
                                   json_is_number(v) ? json_number_value(v)
                                                     : -1.0);
                }
        }
        if (replay && json_is_true(json_object_get(replay, "performed"))) {
                json_t *miss = json_array_get(json_object_get(replay, "missing"),
                                              0);
                if (miss)
                        expect_add(exp, failed, "replay window complete", 0,
                                   "partition %lld no longer holds offsets "
                                   "0..%lld (first missing offset 0): the "
                                   "replay is incomplete",
                                   (long long)json_integer_value(
                                           json_object_get(miss, "partition")),
                                   (long long)json_integer_value(
                                           json_object_get(
                                                   miss,
                                                   "first_held_offset")) -
                                           1);
                else
                        expect_add(exp, failed, "replay window complete", 1,
                                   "every partition still holds offset 0");
                json_t *dom = json_object_get(replay, "domain");
                if (dom)
                        expect_add(exp, failed,
                                   "replay leaves other accounts untouched",
                                   json_is_true(json_object_get(
                                           dom, "outside_untouched")),
                                   "%lld records outside the domain "
                                   "changed, %lld writes for changes of "
                                   "accounts outside it (%s)",
                                   (long long)json_integer_value(
                                           json_object_get(dom,
                                                           "outside_changed")),
                                   (long long)json_integer_value(
                                           json_object_get(dom,
                                                           "outside_writes")),
                                   json_string_value(
                                           json_object_get(dom, "spec")));
                expect_add(exp, failed, "replay rebuilds the CRM's state",
                           json_is_true(json_object_get(replay,
                                                        "matches_oracle")),
                           "%s in %.2f s",
                           json_is_true(json_object_get(replay,
                                                        "matches_oracle"))
                                   ? "rebuilt"
                                   : "did not match",
                           json_real_value(json_object_get(replay, "seconds")));
                if (e->replay_min_events_per_s > 0) {
                        double eps = json_number_value(
                                json_object_get(replay, "events_per_s"));
                        expect_add(exp, failed, "replay events/s",
                                   eps >= e->replay_min_events_per_s,
                                   "%.0f events/s (bound %.0f)", eps,
                                   e->replay_min_events_per_s);
                }
        } else if (replay) {
                expect_add(exp, failed, "replay performed", 0, "%s",
                           json_string_value(json_object_get(replay,
                                                             "reason")));
        }
        {
                int skipped = 0;
                for (int i = 0; i < r->sc->fault_cnt; i++)
                        if (r->faults[i].skipped || !r->faults[i].started)
                                skipped++;
                if (r->sc->fault_cnt)
                        expect_add(exp, failed, "every fault performed",
                                   !skipped, "%d of %d skipped (see faults)",
                                   skipped, r->sc->fault_cnt);
        }
        {
                json_int_t mis = json_integer_value(
                        json_object_get(log, "misrouted"));
                expect_add(exp, failed, "records keyed by account id", !mis,
                           "%lld records whose key is not their account_id "
                           "(the ordering scope)",
                           (long long)mis);
        }
        if (json_integer_value(json_object_get(log, "facts_dropped")))
                expect_add(exp, failed, "history complete", 0,
                           "%lld facts past the memory cap were not kept: "
                           "the history checks are incomplete",
                           (long long)json_integer_value(
                                   json_object_get(log, "facts_dropped")));
        if (crmsync_cluster_reap(r->cluster))
                expect_add(exp, failed, "fault commands succeed", 0,
                           "%d target fault commands failed (see "
                           "fault-commands.log)",
                           crmsync_cluster_reap(r->cluster));
        if (r->unexpected_exits)
                expect_add(exp, failed, "pipeline processes stay up", 0,
                           "%d unexpected exits (see the .log files)",
                           r->unexpected_exits);

        s = json_pack(
                "{s:s, s:s, s:s, s:s, s:s,"
                " s:{s:I, s:I, s:I, s:s, s:I},"
                " s:o, s:o, s:o, s:o, s:o, s:o}",
                "schema", CRMSYNC_SUMMARY_SCHEMA, "scenario", r->sc->name,
                "scenario_file", r->sc->path, "run_id", r->run_id, "verdict",
                *failed ? "fail" : "pass", "workload", "events_committed",
                (json_int_t)crmsync_workload_event_cnt(r->wl), "accounts",
                (json_int_t)accounts, "seed", (json_int_t)r->sc->seed,
                "commit_log_sha256", sha, "records_live",
                (json_int_t)res->records_expected, "anomalies", an,
                "anomaly_examples", json_incref(res->examples),
                "expectations", exp, "timing", timing, "faults",
                faults_json(r), "target",
                crmsync_cluster_describe(r->cluster));
        json_object_set_new(s, "run_dir", json_string(r->run_dir));
        json_object_set_new(s, "log", log);
        if (replay)
                json_object_set_new(timing, "replay", replay);
        json_object_set_new(
                s, "run",
                json_pack("{s:b, s:b, s:b, s:b, s:i, s:i}", "converged",
                          r->converged, "settled", r->settled, "timed_out",
                          r->timed_out, "interrupted", r->interrupted,
                          "connector_starts", r->connector.starts,
                          "profiler_starts", r->profiler.starts));
        return s;
}

/* -- replay phase --------------------------------------------------------- */

static void count_side_effect(void *opaque, const char *event_id,
                              const char *kind, uint32_t count)
{
        (void)event_id;
        (void)kind;
        *(uint64_t *)opaque += count;
}

static void replay_tick_cb(evutil_socket_t fd, short what, void *arg)
{
        struct run              *r   = arg;
        int64_t                  now = crmsync_mono_ms();
        const struct sink_apply *applies;
        size_t                   n = crmsync_sink_applies(r->sink, &applies);
        struct check_result      res;
        (void)fd;
        (void)what;

        if (n != r->last_apply_cnt) {
                r->last_apply_cnt     = n;
                r->last_progress_mono = now;
        }
        crmsync_check_result_init(&res);
        check_now(r, &res);
        if (crmsync_check_result_total(&res) == 0) {
                r->replay_matched = 1;
                event_base_loopexit(r->base, NULL);
        } else if (now >= r->deadline_mono ||
                   now - r->last_progress_mono >=
                           (int64_t)(r->sc->settle_s * 1000) ||
                   r->interrupted) {
                event_base_loopexit(r->base, NULL);
        }
        crmsync_check_result_clear(&res);
}

/* Bounded-domain replay: what lies outside the domain must come through
 * untouched. */
struct domain_ctx {
        struct account_domain d;
        json_t               *outside; /* key -> {v, deleted, fields} */
        size_t                changed; /* outside records now different */
        size_t                writes;  /* writes for outside accounts */
};

static int in_domain_cb(void *opaque, const struct sink_record *sr)
{
        struct domain_ctx *dc = opaque;
        return crmsync_domain_contains(&dc->d, sr->account_id);
}

static void snapshot_outside_cb(void *opaque, const struct sink_record *sr)
{
        struct domain_ctx *dc = opaque;
        if (crmsync_domain_contains(&dc->d, sr->account_id))
                return;
        json_object_set_new(dc->outside, sr->key,
                            json_pack("{s:i, s:b, s:O}", "v",
                                      (int)sr->version, "deleted",
                                      sr->deleted, "fields", sr->fields));
}

static void compare_outside_cb(void *opaque, const struct sink_record *sr)
{
        struct domain_ctx *dc = opaque;
        json_t *was = json_object_get(dc->outside, sr->key);
        if (crmsync_domain_contains(&dc->d, sr->account_id))
                return;
        if (!was ||
            json_integer_value(json_object_get(was, "v")) !=
                    (json_int_t)sr->version ||
            json_is_true(json_object_get(was, "deleted")) != !!sr->deleted ||
            !json_equal(json_object_get(was, "fields"), sr->fields))
                dc->changed++;
        json_object_del(dc->outside, sr->key);
}

/* Rebuild the sink from the earliest offset with a new consumer group and
 * time it. The window check: a partition whose oldest held offset is above
 * 0 has lost records a full replay needs (retention, or the embedded
 * broker's 5 MiB cap), so the replay is incomplete whatever it rebuilds. */
static json_t *run_replay(struct run *r, struct check_result *res)
{
        const struct scenario_replay *rp = &r->sc->replay;
        const struct auditor_fact    *facts;
        size_t   nf = r->auditor ? crmsync_auditor_facts(r->auditor, &facts) : 0;
        uint64_t events = 0, side = 0;
        json_t  *missing = json_array(), *o;
        char     group[300];
        struct event  *tick;
        struct timeval tv = {0, TICK_MS * 1000};
        double         secs;
        struct domain_ctx dc = {0};
        int               cleared = 0;

        /* Records still held: those at or above each partition's oldest
         * held offset. */
        for (size_t i = 0; i < nf; i++)
                if (!facts[i].dlq &&
                    facts[i].offset >=
                            crmsync_auditor_low_watermark(r->auditor,
                                                          facts[i].partition))
                        events++;
        for (int p = 0; p < r->sc->partitions; p++) {
                int64_t lo = r->auditor
                                     ? crmsync_auditor_low_watermark(r->auditor,
                                                                     p)
                                     : -1;
                if (lo > 0)
                        json_array_append_new(
                                missing,
                                json_pack("{s:i, s:i, s:I}", "partition", p,
                                          "first_missing_offset", 0,
                                          "first_held_offset",
                                          (json_int_t)lo));
        }
        if (!strcmp(rp->from, "timestamp"))
                return json_pack("{s:b, s:s}", "performed", 0, "reason",
                                 "replay by timestamp needs offset lookup by "
                                 "timestamp, which the embedded broker "
                                 "(librdkafka mock) does not support");

        progress(r, "replay: rebuilding the sink from the earliest offset "
                    "(%llu records in the log)",
                 (unsigned long long)events);
        history(r, "replay_start", ",\"records\":%llu",
                (unsigned long long)events);
        if (rp->domain) {
                char msg[256];
                if (crmsync_domain_parse(rp->domain, &dc.d, msg, sizeof(msg)))
                        return json_pack("{s:b, s:s}", "performed", 0,
                                         "reason", msg);
                dc.outside = json_object();
                crmsync_sink_foreach(r->sink, snapshot_outside_cb, &dc);
                cleared = crmsync_sink_clear_if(r->sink, in_domain_cb, &dc);
        } else if (rp->clear_sink) {
                crmsync_sink_clear(r->sink);
        }
        snprintf(group, sizeof(group), "%s-replay", r->group_id);
        setup_child(r, &r->replayer, "replay", &r->sc->profiler, group);
        r->phase              = PHASE_WAIT;
        r->last_apply_cnt     = 0;
        r->last_progress_mono = crmsync_mono_ms();
        r->deadline_mono      = r->last_progress_mono +
                           (int64_t)((r->sc->timeout_s > 0 ? r->sc->timeout_s
                                                           : 120) *
                                     1000);
        r->replay_start_mono = crmsync_mono_ms();
        if (start_child(r, &r->replayer) == -1)
                return json_pack("{s:b, s:s}", "performed", 0, "reason",
                                 "the replay profiler could not start");
        tick = event_new(r->base, -1, EV_PERSIST, replay_tick_cb, r);
        event_add(tick, &tv);
        event_base_dispatch(r->base);
        event_free(tick);
        r->replay_done_mono = crmsync_mono_ms();
        crmsync_child_stop(&r->replayer, 3000);
        history(r, "replay_end", ",\"matched\":%s",
                r->replay_matched ? "true" : "false");

        /* Every side effect during a rebuild repeats one already sent. */
        crmsync_sink_foreach_side_effect(r->sink, count_side_effect, &side);
        if (side)
                crmsync_check_result_add(res, ANOMALY_DUPLICATE_SIDE_EFFECT,
                                         "replay",
                                         "the replay re-sent %llu side "
                                         "effects",
                                         (unsigned long long)side);
        secs = (double)(r->replay_done_mono - r->replay_start_mono) / 1000.0;
        if (rp->domain) {
                const struct sink_apply *ap;
                size_t na = crmsync_sink_applies(r->sink, &ap);
                /* A write for a change of an account outside the domain.
                 * (A record moved out of the domain still gets writes for
                 * its changes from before the move; those are in the
                 * domain, and the sink rejects them as stale.) */
                for (size_t i = 0; i < na; i++) {
                        uint64_t seq = event_seq(ap[i].event_id);
                        if (seq && seq <= crmsync_workload_event_cnt(r->wl) &&
                            !crmsync_domain_contains(
                                    &dc.d, crmsync_workload_event(r->wl,
                                                                  seq - 1)
                                                   ->account_id))
                                dc.writes++;
                }
                crmsync_sink_foreach(r->sink, compare_outside_cb, &dc);
                /* Outside records that vanished were touched too. */
                dc.changed += json_object_size(dc.outside);
                json_decref(dc.outside);
                crmsync_domain_clear(&dc.d);
        }
        o = json_pack("{s:b, s:I, s:I, s:f, s:b, s:b, s:o, s:I}",
                      "performed", 1, "events", (json_int_t)events, "bytes",
                      (json_int_t)(r->auditor ? crmsync_auditor_bytes(r->auditor)
                                              : 0),
                      "seconds", secs, "matches_oracle", r->replay_matched,
                      "complete", json_array_size(missing) == 0,
                      "missing", missing, "side_effects", (json_int_t)side);
        json_object_set_new(o, "events_per_s",
                            r->replay_matched && secs > 0
                                    ? json_real((double)events / secs)
                                    : json_null());
        json_object_set_new(
                o, "bytes_per_s",
                r->replay_matched && secs > 0
                        ? json_real((double)json_integer_value(
                                            json_object_get(o, "bytes")) /
                                    secs)
                        : json_null());
        if (rp->domain)
                json_object_set_new(
                        o, "domain",
                        json_pack("{s:s, s:i, s:I, s:I, s:b}", "spec",
                                  rp->domain, "records_rebuilt", cleared,
                                  "outside_changed", (json_int_t)dc.changed,
                                  "outside_writes", (json_int_t)dc.writes,
                                  "outside_untouched",
                                  dc.changed == 0 && dc.writes == 0));
        progress(r, "replay: %s in %.2f s (%s)",
                 r->replay_matched ? "rebuilt" : "did not rebuild", secs,
                 json_array_size(missing) ? "INCOMPLETE: the log lost records"
                                          : "window complete");
        return o;
}

/* Wait until the profiler created its ready file ($CRMSYNC_READY_FILE: it
 * has joined its group and holds partitions), or timeout_ms for a
 * profiler that does not follow that contract. */
static void wait_ready(struct run *r, const char *path, int timeout_ms)
{
        int64_t until = crmsync_mono_ms() + timeout_ms;
        while (crmsync_mono_ms() < until) {
                struct timespec ts = {0, 50 * 1000000};
                if (access(path, F_OK) == 0) {
                        progress(r, "profiler ready (partitions assigned)");
                        history(r, "pipeline_ready", "%s", "");
                        return;
                }
                if (crmsync_child_reap(&r->profiler))
                        return; /* died: the tick reports and restarts */
                nanosleep(&ts, NULL);
        }
        progress(r, "profiler not ready after %d ms: starting anyway",
                 timeout_ms);
}

/* -- setup and teardown --------------------------------------------------- */

static int make_run_dir(struct run *r, char *errstr, size_t errstr_size)
{
        char      ts[32];
        time_t    now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
        snprintf(r->run_id, sizeof(r->run_id), "%s-%s-%d", r->sc->name, ts,
                 (int)getpid());
        if (mkdir(r->opt->runs_dir, 0755) == -1 && errno != EEXIST)
                return crmsync_err(errstr, errstr_size, "%s: %s",
                                   r->opt->runs_dir, strerror(errno));
        snprintf(r->run_dir, sizeof(r->run_dir), "%s/%s", r->opt->runs_dir,
                 r->run_id);
        if (mkdir(r->run_dir, 0755) == -1)
                return crmsync_err(errstr, errstr_size, "%s: %s", r->run_dir,
                                   strerror(errno));
        return 0;
}

static void crm_serve_observer(void *opaque, const struct crm_event *ev,
                               const char *via, int64_t wall_ms)
{
        struct run *r = opaque;
        if (r->history)
                fprintf(r->history,
                        "{\"wall_ms\":%lld,\"kind\":\"crm_serve\","
                        "\"event_id\":\"%s\",\"via\":\"%s\"}\n",
                        (long long)wall_ms, ev->event_id, via);
}

static void write_applies(struct run *r)
{
        const struct sink_apply *a;
        size_t                   n = crmsync_sink_applies(r->sink, &a);
        if (!r->history)
                return;
        /* The commit log, for lineage (crmsync trace). */
        for (size_t i = 0; i < crmsync_workload_event_cnt(r->wl); i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                fprintf(r->history,
                        "{\"wall_ms\":%lld,\"kind\":\"crm_commit\","
                        "\"event_id\":\"%s\",\"key\":\"%s/%s\","
                        "\"account_id\":\"%s\",\"previous_account_id\":"
                        "\"%s\",\"change\":\"%s\",\"version\":%u}\n",
                        (long long)(r->t0_wall + ev->commit_ms), ev->event_id,
                        crmsync_entity_name(ev->entity), ev->record_id,
                        ev->account_id, ev->previous_account_id,
                        crmsync_change_name(ev->change), ev->version);
        }
        for (size_t i = 0; i < n; i++)
                fprintf(r->history,
                        "{\"wall_ms\":%lld,\"kind\":\"sink_apply\","
                        "\"event_id\":\"%s\",\"key\":\"%s\",\"version\":%u,"
                        "\"delete\":%s,\"full\":%s,\"applied\":%s}\n",
                        (long long)a[i].wall_ms, a[i].event_id, a[i].key,
                        a[i].version, a[i].is_delete ? "true" : "false",
                        a[i].full ? "true" : "false",
                        a[i].applied ? "true" : "false");
}

/* Record index of "contact/C-000001" in the workload, or UINT32_MAX. */
static uint32_t record_index(struct run *r, const char *key)
{
        char        ent[32];
        const char *slash = strchr(key, '/');
        int         e;
        const struct crm_record *cr;
        if (!slash || (size_t)(slash - key) >= sizeof(ent))
                return UINT32_MAX;
        memcpy(ent, key, (size_t)(slash - key));
        ent[slash - key] = '\0';
        if ((e = crmsync_entity_parse(ent)) < 0 ||
            !(cr = crmsync_workload_find(r->wl, (enum crm_entity)e,
                                         slash + 1)))
                return UINT32_MAX;
        return (uint32_t)(cr - crmsync_workload_record(r->wl, 0));
}

struct side_effect_ctx {
        history_t *h;
        uint64_t   total;
};

static void side_effect_cb(void *opaque, const char *event_id,
                           const char *kind, uint32_t count)
{
        struct side_effect_ctx *c = opaque;
        (void)kind;
        c->total += count;
        crmsync_history_side_effect(c->h, (uint32_t)event_seq(event_id),
                                    count);
}

/* Build the compact history from the workload, the auditor and the sink,
 * run the history checks, and describe the log in the summary. */
static json_t *history_checks(struct run *r, struct check_result *res)
{
        size_t                     ne = crmsync_workload_event_cnt(r->wl);
        size_t                     nr = crmsync_workload_record_cnt(r->wl);
        const struct auditor_fact *facts = NULL;
        const struct sink_apply   *a;
        size_t                     nf = 0, na, misrouted = 0;
        struct history_stats       st = {0};
        struct side_effect_ctx     se;
        history_t                 *h;
        char                       key[CRMSYNC_KEY_MAX];

        if (!(h = crmsync_history_new((uint32_t)ne, (uint32_t)nr, 0)))
                return json_object();
        for (size_t i = 0; i < ne; i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                snprintf(key, sizeof(key), "%s/%s",
                         crmsync_entity_name(ev->entity), ev->record_id);
                crmsync_history_commit(h, (uint32_t)ev->seq,
                                       record_index(r, key), ev->version);
        }
        if (r->auditor)
                nf = crmsync_auditor_facts(r->auditor, &facts);
        for (size_t i = 0; i < nf; i++) {
                uint32_t seq = (uint32_t)event_seq(facts[i].event_id);
                misrouted += facts[i].misrouted;
                if (facts[i].dlq)
                        crmsync_history_dead_letter(h, seq);
                else
                        crmsync_history_observe(h, seq, facts[i].partition,
                                                facts[i].offset);
                if (r->history)
                        fprintf(r->history,
                                "{\"kind\":\"topic\",\"event_id\":\"%s\","
                                "\"topic\":\"%s\",\"partition\":%d,"
                                "\"offset\":%lld,\"ts_ms\":%lld}\n",
                                facts[i].event_id,
                                facts[i].dlq ? "dlq" : r->sc->topic,
                                (int)facts[i].partition,
                                (long long)facts[i].offset,
                                (long long)facts[i].ts_ms);
        }
        na = crmsync_sink_applies(r->sink, &a);
        /* A write that carries no CRM change (a poll or resync snapshot,
         * deleted records included) is the record's whole state: it covers
         * every older change. */
        for (size_t i = 0; i < na; i++) {
                uint32_t seq = (uint32_t)event_seq(a[i].event_id);
                crmsync_history_apply(h, seq, record_index(r, a[i].key),
                                      a[i].version, a[i].applied,
                                      a[i].full || seq == 0);
        }
        se.h     = h;
        se.total = 0;
        crmsync_sink_foreach_side_effect(r->sink, side_effect_cb, &se);
        crmsync_history_check(h, res, &st);
        crmsync_history_destroy(h);
        return json_pack(
                "{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:{s:I, s:I}}",
                "records_read", (json_int_t)st.observed, "misrouted",
                (json_int_t)misrouted, "duplicates",
                (json_int_t)st.log_duplicates, "amplification",
                ne ? (double)st.observed / (double)ne : 0.0, "bytes",
                (json_int_t)(r->auditor ? crmsync_auditor_bytes(r->auditor)
                                        : 0),
                "side_effects", (json_int_t)se.total, "facts_dropped",
                (json_int_t)(st.dropped_facts +
                             (r->auditor ? crmsync_auditor_dropped(r->auditor)
                                         : 0)),
                "lost_where", "before_topic",
                (json_int_t)st.lost_before_topic, "after_topic",
                (json_int_t)st.lost_after_topic);
}

int crmsync_run(const struct scenario *sc, const struct run_options *opt,
                json_t **summary_out, char *errstr, size_t errstr_size)
{
        struct run               r = {0};
        struct crm_server_config cc = {0};
        struct sink_config       skc = {0};
        struct check_result      res;
        json_t *summary = NULL, *log, *timing, *replay = NULL;
        char    ready_path[600];
        char                     path[600];
        int                      failed = 0, rc = 2;
        double                   timeout_s;

        r.sc         = sc;
        r.opt        = opt;
        r.start_mono = crmsync_mono_ms();
        if (!(r.wl = crmsync_workload_generate(&sc->workload, errstr,
                                               errstr_size)))
                return 2;
        if (make_run_dir(&r, errstr, errstr_size) == -1)
                goto out;
        snprintf(path, sizeof(path), "%s/history.jsonl", r.run_dir);
        r.history = fopen(path, "w");
        snprintf(r.group_id, sizeof(r.group_id), "crmsync-%s", r.run_id);

        if (!(r.base = event_base_new())) {
                crmsync_err(errstr, errstr_size, "event_base_new failed");
                goto out;
        }
        {
                char props[600], flog[600];
                snprintf(props, sizeof(props), "%s/kafka.properties",
                         r.run_dir);
                snprintf(flog, sizeof(flog), "%s/fault-commands.log",
                         r.run_dir);
                if (!(r.cluster = crmsync_cluster_open(sc, props, flog, errstr,
                                                       errstr_size)))
                        goto out;
        }
        /* The auditor's cap: every change copied many times over. */
        if (!(r.auditor = crmsync_auditor_start(
                      crmsync_cluster_props(r.cluster), sc->topic,
                      sc->partitions,
                      crmsync_workload_event_cnt(r.wl) * 8 + 4096, errstr,
                      errstr_size)) ||
            !(r.probe = crmsync_probe_start(
                      crmsync_cluster_props(r.cluster), CLUSTER_PROBE_TOPIC,
                      crmsync_cluster_probe_partitions(r.cluster),
                      PROBE_INTERVAL_MS, 1000, 400000, errstr, errstr_size)))
                goto out;

        skc.blind_writes = sc->sink_blind_writes;
        if (!(r.sink = crmsync_sink_server_new(r.base, &skc, errstr,
                                               errstr_size)))
                goto out;
        snprintf(r.sink_url, sizeof(r.sink_url), "http://127.0.0.1:%d",
                 crmsync_sink_server_port(r.sink));

        /* Warm-up: the profiler joins its group before the CRM's clock
         * starts, so the first changes' latency does not include the
         * group's initial rebalance delay. */
        r.t0_mono = crmsync_mono_ms();
        r.t0_wall = crmsync_wall_ms();
        setup_child(&r, &r.profiler, "profiler", &sc->profiler, r.group_id);
        snprintf(ready_path, sizeof(ready_path), "%s/profiler.ready",
                 r.run_dir);
        crmsync_child_setenv(&r.profiler, "CRMSYNC_READY_FILE", ready_path);
        if (start_child(&r, &r.profiler) == -1) {
                crmsync_err(errstr, errstr_size,
                            "could not start the profiler (see %s)",
                            r.run_dir);
                goto out;
        }
        wait_ready(&r, ready_path, 15000);

        /* The CRM's clock starts CONNECTOR_WARMUP_MS from now, so the
         * connector has started (read its stored cursor) before the first
         * change commits. */
        r.t0_mono            = crmsync_mono_ms() + CONNECTOR_WARMUP_MS;
        r.t0_wall            = crmsync_wall_ms() + CONNECTOR_WARMUP_MS;
        cc.workload          = r.wl;
        cc.start_wall_ms     = r.t0_wall;
        cc.max_page          = sc->crm_max_page;
        cc.rate_limit_per_s  = sc->crm_rate_limit_per_s;
        cc.rate_burst        = sc->crm_rate_burst;
        cc.daily_quota       = sc->crm_daily_quota;
        cc.error_rate_5xx    = sc->crm_error_rate_5xx;
        cc.retention_ms      = (int64_t)(sc->crm_retention_s * 1000);
        if (!(r.crm = crmsync_crm_server_new(r.base, &cc, errstr,
                                             errstr_size)))
                goto out;
        crmsync_crm_server_set_observer(r.crm, crm_serve_observer, &r);
        snprintf(r.crm_url, sizeof(r.crm_url), "http://127.0.0.1:%d",
                 crmsync_crm_server_port(r.crm));

        r.workload_end_mono = r.t0_mono + crmsync_workload_duration_ms(r.wl);
        r.faults_end_mono   = r.t0_mono;
        for (int i = 0; i < sc->fault_cnt; i++) {
                int64_t end = r.t0_mono + (int64_t)((sc->faults[i].at_s +
                                                     sc->faults[i].duration_s) *
                                                    1000);
                if (end > r.faults_end_mono)
                        r.faults_end_mono = end;
                schedule_fault(&r, i, 1,
                               sc->faults[i].at_s + CONNECTOR_WARMUP_MS / 1e3);
                if (sc->faults[i].duration_s > 0)
                        schedule_fault(&r, i, 0,
                                       sc->faults[i].at_s +
                                               sc->faults[i].duration_s +
                                               CONNECTOR_WARMUP_MS / 1e3);
        }
        timeout_s = opt->timeout_s > 0   ? opt->timeout_s
                    : sc->timeout_s > 0 ? sc->timeout_s
                                        : (double)(r.faults_end_mono >
                                                           r.workload_end_mono
                                                   ? r.faults_end_mono
                                                   : r.workload_end_mono) /
                                                          1000.0 -
                                                  (double)r.t0_mono / 1000.0 +
                                                  120;
        r.deadline_mono = r.t0_mono + (int64_t)(timeout_s * 1000);

        progress(&r, "run %s: crm %s, sink %s, kafka %s", r.run_id,
                 r.crm_url, r.sink_url, crmsync_cluster_bootstrap(r.cluster));
        progress(&r, "workload: %zu changes over %.1f s (seed %llu)",
                 crmsync_workload_event_cnt(r.wl),
                 (double)crmsync_workload_duration_ms(r.wl) / 1000.0,
                 (unsigned long long)sc->seed);
        history(&r, "run_start", ",\"crm\":\"%s\",\"sink\":\"%s\"",
                r.crm_url, r.sink_url);

        setup_child(&r, &r.connector, "connector", &sc->connector,
                    r.group_id);
        if (start_child(&r, &r.connector) == -1) {
                crmsync_err(errstr, errstr_size,
                            "could not start the pipeline (see %s)",
                            r.run_dir);
                goto out;
        }

        r.tick = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
        {
                struct timeval tv = {0, TICK_MS * 1000};
                event_add(r.tick, &tv);
        }
        r.sig_int  = evsignal_new(r.base, SIGINT, signal_cb, &r);
        r.sig_term = evsignal_new(r.base, SIGTERM, signal_cb, &r);
        event_add(r.sig_int, NULL);
        event_add(r.sig_term, NULL);

        event_base_dispatch(r.base);
        event_del(r.tick);

        /* Stop the pipeline before judging: nothing changes after this. */
        crmsync_child_stop(&r.connector, 3000);
        crmsync_child_stop(&r.profiler, 3000);
        history(&r, "pipeline_stopped", "%s", "");

        crmsync_probe_stop(r.probe);
        if (r.auditor)
                crmsync_auditor_finish(r.auditor, 10000);
        crmsync_check_result_init(&res);
        check_now(&r, &res);
        log    = history_checks(&r, &res);
        timing = timing_json(&r);
        write_applies(&r);
        if (sc->replay.enabled && !r.interrupted)
                replay = run_replay(&r, &res);
        summary = build_summary(&r, &res, timing, log, replay, &failed);
        crmsync_check_result_clear(&res);
        if (r.history) {
                fclose(r.history);
                r.history = NULL;
        }
        if (crmsync_report_write(summary, r.run_dir, errstr, errstr_size) ==
            -1)
                goto out;
        rc = failed ? 1 : 0;

out:
        crmsync_child_stop(&r.connector, 0);
        crmsync_child_stop(&r.profiler, 0);
        crmsync_child_stop(&r.replayer, 0);
        crmsync_child_free(&r.connector);
        crmsync_child_free(&r.profiler);
        crmsync_child_free(&r.replayer);
        if (r.history)
                fclose(r.history);
        if (r.tick)
                event_free(r.tick);
        if (r.sig_int)
                event_free(r.sig_int);
        if (r.sig_term)
                event_free(r.sig_term);
        crmsync_auditor_destroy(r.auditor);
        crmsync_probe_destroy(r.probe);
        crmsync_crm_server_destroy(r.crm);
        crmsync_sink_server_destroy(r.sink);
        crmsync_cluster_close(r.cluster);
        if (r.base)
                event_base_free(r.base);
        crmsync_workload_destroy(r.wl);
        if (summary && rc != 2 && summary_out)
                *summary_out = json_incref(summary);
        json_decref(summary);
        return rc;
}
