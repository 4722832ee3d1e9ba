/* run.c -- one scenario end to end (see run.h): the sink, CRM and cluster,
 * the pipeline's processes, the fault timeline and the convergence tick,
 * all on the process's single event loop (the embedded broker, auditor and
 * probe run on their own threads). The summary is built in run_summary.c,
 * the replay phase in run_replay.c. */
#include "run_int.h"

#include "crmsync/gzfile.h"
#include "crmsync/log.h"
#include "harness/fault.h"
#include "harness/verdict.h"

/* history.jsonl: one JSON object a line, with monotonic (since start) and
 * wall-clock timestamps. fmt adds extra members (",\"k\":v"). */
void run_history(struct run *r, const char *kind, const char *fmt, ...)
{
        va_list ap;
        int     failed;
        if (!run_history_usable(r))
                return;
        va_start(ap, fmt);
        failed = fprintf(r->history,
                         "{\"t_ms\":%lld,\"wall_ms\":%lld,\"kind\":\"%s\"",
                         (long long)(crmsync_mono_ms() - r->t0_mono),
                         (long long)crmsync_wall_ms(), kind) < 0 ||
                 vfprintf(r->history, fmt, ap) < 0 ||
                 fputs("}\n", r->history) == EOF;
        va_end(ap);
        run_history_check(r, failed);
}

void run_progress(struct run *r, const char *fmt, ...)
{
        va_list ap;
        if (r->opt->quiet)
                return;
        run_status_clear(r);
        va_start(ap, fmt);
        crmsync_vprogress(NULL, r->start_mono, fmt, ap);
        va_end(ap);
}
/* -- pipeline processes --------------------------------------------------- */

static void child_env(struct run *r, struct child *c, const char *group)
{
        char path[600];
        if (r->crm_url[0]) /* the profiler starts before the CRM */
                crmsync_child_setenv(c, "CRMSYNC_CRM_URL", r->crm_url);
        crmsync_child_setenv(c, "CRMSYNC_SINK_URL", r->sink_url);
        if (r->pg)
                crmsync_child_setenv(c, "CRMSYNC_PG_DSN", r->sink_url);
        crmsync_child_setenv(c, "CRMSYNC_BOOTSTRAP_SERVERS",
                             crmsync_cluster_bootstrap(r->cluster));
        crmsync_child_setenv(c, "CRMSYNC_TOPIC", r->sc->topic);
        crmsync_child_setenv(c, "CRMSYNC_GROUP_ID", group);
        crmsync_child_setenv(c, "CRMSYNC_CONNECTOR_NAME", r->group_id);
        /* The private file: the run folder's copy is redacted. */
        crmsync_child_setenv(c, "CRMSYNC_KAFKA_CONFIG",
                             crmsync_cluster_props(r->cluster));
        crmsync_child_setenv(c, "CRMSYNC_RUN_DIR", r->run_dir);
        crmsync_child_setenv(c, "CRMSYNC_START_OFFSETS",
                             crmsync_cluster_start_spec(r->cluster));
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
void run_setup_child(struct run *r, struct child *c, const char *name,
                     const struct scenario_process *p, const char *group)
{
        const char *argv[SUPERVISOR_MAX_ARGS];
        char        n1[16], n2[16], n3[32], shcmd[4096];
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
                if (r->shadow_label) { /* one CRM, two clients */
                        snprintf(n3, sizeof(n3), "crmsync-connector-%s",
                                 r->shadow_label);
                        argv[n++] = "--client-id";
                        argv[n++] = n3;
                }
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
                        if (!strcmp(r->sc->replay.from, "timestamp")) {
                                snprintf(
                                    n3, sizeof(n3), "%lld",
                                    (long long)(r->t0_wall +
                                                (int64_t)(r->sc->replay.from_s *
                                                          1000)));
                                argv[n++] = "--from-timestamp";
                                argv[n++] = n3;
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

int run_start_child(struct run *r, struct child *c)
{
        char        errstr[256];
        struct stat st;
        /* Its log's last lines, when it exits, are from this start. */
        c->log_start = stat(c->log_path, &st) == 0 ? (long)st.st_size : 0;
        if (crmsync_child_start(c, errstr, sizeof(errstr)) == -1) {
                run_progress(r, "%s: %s", c->name, errstr);
                run_history(r, "child_start_failed", ",\"child\":\"%s\"",
                            c->name);
                return -1;
        }
        run_history(r, "child_start",
                    ",\"child\":\"%s\",\"pid\":%d,\"start\":%d", c->name,
                    (int)c->pid, c->starts);
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
                run_start_child(cr->r, cr->c);
        free(cr);
}

void run_schedule_restart(struct run *r, struct child *c, double after_s)
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

/* Start (on=1) or end (on=0) fault idx. Returns 0, or -1 with why filled
 * when this target cannot perform it (the fault is then skipped). */
static int fault_apply(struct run *r, const struct scenario_fault *f, int on,
                       char *why, size_t size)
{
        const struct fault_type *ft = crmsync_fault_find(f->type);
        fault_hook               h  = crmsync_fault_hook(ft, on);
        json_t                  *p;
        int                      rc;

        if (!h)
                return 0;
        if (!(p = crmsync_fault_params(ft, f->params))) {
                snprintf(why, size, "out of memory");
                return -1;
        }
        rc = h(r, ft->name, p, why, size);
        json_decref(p);
        return rc;
}

static void fault_cb(evutil_socket_t fd, short what, void *arg)
{
        struct fault_timer          *ft       = arg;
        struct run                  *r        = ft->r;
        const struct scenario_fault *f        = &r->sc->faults[ft->idx];
        struct fault_state          *fs       = &r->faults[ft->idx];
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
                        run_progress(r, "fault %s skipped: %s", f->type,
                                     fs->reason);
                        run_history(r, "fault_skipped",
                                    ",\"fault\":%d,\"type\":\"%s\"", ft->idx,
                                    f->type);
                        goto out;
                }
                run_progress(r, "fault %s start", f->type);
                run_history(r, "fault_start", ",\"fault\":%d,\"type\":\"%s\"",
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
                run_progress(r, "fault %s end", f->type);
                run_history(r, "fault_end", ",\"fault\":%d,\"type\":\"%s\"",
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
        c->v[c->cnt++] = (struct check_record){
            sr->key, sr->account_id, sr->version, sr->deleted, sr->fields};
}

/* End-state check of the sink as it is now. */
int run_check_now(struct run *r, struct check_result *res)
{
        struct collect c = {0};
        char           errstr[256];
        int            rc;
        int64_t        t0 = crmsync_mono_ms();
        run_sink_foreach(r, collect_cb, &c);
        rc = crmsync_check_end_state(r->wl, c.v, c.cnt, res, errstr,
                                     sizeof(errstr));
        free(c.v);
        r->last_check_cost_ms = crmsync_mono_ms() - t0;
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
                run_note_exit(r, cs[i], was);
                if (cs[i]->starts < 20)
                        run_schedule_restart(r, cs[i], 1.0);
        }
}

int run_group_lagging(struct run *r, const char *group, int64_t now)
{
        char errstr[256];

        if (r->lag_checked_mono && now - r->lag_checked_mono < 1000)
                return r->lagging;
        r->lag_checked_mono = now;
        if (crmsync_cluster_group_lag(r->cluster, group, &r->lag, errstr,
                                      sizeof(errstr))) {
                if (!r->lag_warned++)
                        run_progress(r,
                                     "group lag unknown (%s): judging "
                                     "convergence on inactivity",
                                     errstr);
                return r->lagging = 0;
        }
        r->lagging = r->lag.committed > 0 && r->lag.total > 0;
        return r->lagging;
}

/* A run that ends with the profiler's group behind: say so, by name. */
static void note_stalled_group(struct run *r, const char *when)
{
        r->lag_checked_mono = 0; /* a fresh reading */
        if (!run_group_lagging(r, r->group_id, crmsync_mono_ms()))
                return;
        snprintf(r->lag_note, sizeof(r->lag_note),
                 "group %s still has lag %lld on %d partition(s): %s %s",
                 r->group_id, (long long)r->lag.total, r->lag.partitions,
                 r->lag.detail, when);
        run_progress(r, "%s", r->lag_note);
        run_history(r, "group_stalled", ",\"lag\":%lld,\"partitions\":%d",
                    (long long)r->lag.total, r->lag.partitions);
}

void run_tick_cb(evutil_socket_t fd, short what, void *arg)
{
        struct run              *r   = arg;
        int64_t                  now = crmsync_mono_ms();
        const struct sink_apply *applies;
        size_t                   napplies;
        (void)fd;
        (void)what;

        if (run_interrupted(r, r->phase == PHASE_RUN ? "workload"
                                                     : "convergence")) {
                event_base_loopexit(r->base, NULL);
                return;
        }
        reap_children(r);
        run_check_writes(r);
        if (r->phase == PHASE_DONE)
                return; /* a set-up or write error stopped the run */
        crmsync_cluster_reap(r->cluster);
        napplies = run_sink_applies(r, &applies);
        if (napplies != r->last_apply_cnt) {
                r->last_apply_cnt     = napplies;
                r->last_progress_mono = now;
        }
        if (now >= r->deadline_mono) {
                r->timed_out = 1;
                r->phase     = PHASE_DONE;
                run_progress(r, "timeout: giving up waiting for convergence");
                note_stalled_group(r, "at timeout");
                event_base_loopexit(r->base, NULL);
                return;
        }
        if (r->phase == PHASE_RUN) {
                if (now < r->workload_end_mono || !all_faults_over(r)) {
                        run_status(r, 0, -1);
                        return;
                }
                r->phase              = PHASE_WAIT;
                r->last_progress_mono = now;
                run_progress(r,
                             "workload committed (%zu events) and faults "
                             "over; waiting for convergence",
                             crmsync_workload_event_cnt(r->wl));
                run_history(r, "workload_done", "%s", "");
        }
        if (now - r->last_check_mono <
            crmsync_check_interval_ms(r->last_progress_mono == now
                                          ? CHECK_BUSY_EVERY_MS
                                          : CHECK_EVERY_MS,
                                      r->last_check_cost_ms))
                return;
        r->last_check_mono = now;

        struct check_result res;
        crmsync_check_result_init(&res);
        run_check_now(r, &res);
        uint64_t bad = crmsync_check_result_total(&res);
        crmsync_check_result_clear(&res);
        run_status(r, 0, (long long)bad);
        if (bad == 0) {
                r->converged      = 1;
                r->converged_mono = now;
                r->phase          = PHASE_DONE;
                run_progress(r, "converged: sink matches the CRM");
                run_history(r, "converged", "%s", "");
                event_base_loopexit(r->base, NULL);
        } else if (now - r->last_progress_mono >=
                       (int64_t)(r->sc->settle_s * 1000) &&
                   run_group_lagging(r, r->group_id, now)) {
                /* No sink write for settle_s, but the pipeline has not
                 * consumed everything: a restarted member may be waiting
                 * for its dead predecessor's session to expire. Wait on
                 * lag, up to the timeout. */
                if (!r->lag_wait_start_mono) {
                        r->lag_wait_start_mono = now;
                        run_progress(r,
                                     "no sink write for %.1f s, but "
                                     "group %s still has lag %lld on "
                                     "%d partition(s): waiting on it "
                                     "(up to the timeout)",
                                     r->sc->settle_s, r->group_id,
                                     (long long)r->lag.total,
                                     r->lag.partitions);
                        run_history(r, "lag_wait", ",\"lag\":%lld",
                                    (long long)r->lag.total);
                }
        } else if (now - r->last_progress_mono >=
                   (int64_t)(r->sc->settle_s * 1000)) {
                r->settled = 1;
                r->phase   = PHASE_DONE;
                run_progress(r,
                             "settled without converging: %llu records "
                             "differ and no write for %.1f s",
                             (unsigned long long)bad, r->sc->settle_s);
                run_history(r, "settled", ",\"differing\":%llu",
                            (unsigned long long)bad);
                event_base_loopexit(r->base, NULL);
        }
}

/* Stop a pipeline process while the event loop keeps serving the CRM and
 * the sink: a write in flight when the run ended, or the flush of a
 * process that stops cleanly, still gets its answer. SIGTERM, then up to
 * grace_ms of serving, then SIGKILL (crmsync_child_stop). */
void run_stop_child_serving(struct run *r, struct child *c, int grace_ms)
{
        int64_t        until = crmsync_mono_ms() + grace_ms;
        struct timeval slice = {0, 20 * 1000};

        if (!c->pid)
                return;
        if (c->paused)
                crmsync_child_signal(c, SIGCONT);
        crmsync_child_signal(c, SIGTERM);
        while (!crmsync_child_reap(c) && crmsync_mono_ms() < until &&
               crmsync_interrupt_count() < 2) {
                /* Serve for one slice: the loop returns when it is over. */
                event_base_loopexit(r->base, &slice);
                event_base_dispatch(r->base);
        }
        crmsync_child_stop(c, 0); /* SIGKILL if it is still there */
}

int run_interrupted(struct run *r, const char *phase)
{
        if (r->interrupted || !crmsync_interrupt_count())
                return r->interrupted;
        r->interrupted     = 1;
        r->interrupt_sig   = crmsync_interrupt_signal();
        r->interrupt_phase = phase;
        r->interrupt_mono  = crmsync_interrupt_mono_ms();
        r->phase           = PHASE_DONE;
        run_progress(r,
                     "interrupted (%s) during %s: stopping the pipeline "
                     "(interrupt again to stop at once)",
                     strsignal(r->interrupt_sig), phase);
        run_history(r, "interrupted", ",\"signal\":%d,\"phase\":\"%s\"",
                    r->interrupt_sig, phase);
        return 1;
}

/* Grace for a clean stop: none once the user interrupted twice. */
static int stop_grace_ms(void)
{
        return crmsync_interrupt_count() >= 2 ? 0 : STOP_GRACE_MS;
}
/* Wait until the profiler created its ready file ($CRMSYNC_READY_FILE: it
 * has joined its group and holds partitions), or timeout_ms for a
 * profiler that does not follow that contract. -1 when it exited first
 * (a set-up error: r->error says why). */
static int wait_ready(struct run *r, const char *path, int timeout_ms)
{
        int64_t since = crmsync_mono_ms(), until = since + timeout_ms;
        while (crmsync_mono_ms() < until) {
                struct timeval slice = {0, 50 * 1000};
                int            pid   = r->profiler.pid;
                run_status_wait(r,
                                "waiting for the profiler to join its "
                                "group",
                                since);
                if (access(path, F_OK) == 0) {
                        r->profiler_ready = 1;
                        run_progress(r, "profiler ready (partitions assigned)");
                        run_history(r, "pipeline_ready", "%s", "");
                        return 0;
                }
                if (crmsync_child_reap(&r->profiler)) {
                        run_note_exit(r, &r->profiler, pid);
                        return -1;
                }
                if (run_interrupted(r, "setup"))
                        return 0; /* the caller sees it */
                /* Serve meanwhile: the sink (and the postgres sink's fault
                 * proxy) answer a profiler that connects at start. */
                event_base_loopexit(r->base, &slice);
                event_base_dispatch(r->base);
        }
        r->profiler_ready = 1; /* alive: taken as ready (the contract) */
        run_progress(r, "profiler not ready after %d ms: starting anyway",
                     timeout_ms);
        return 0;
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
        if (mkdir(r->run_dir, 0755) == -1) {
                crmsync_err(errstr, errstr_size, "%s: %s", r->run_dir,
                            strerror(errno));
                r->run_dir[0] = '\0'; /* nowhere to write the summary */
                return -1;
        }
        return 0;
}

static void crm_serve_observer(void *opaque, const struct crm_event *ev,
                               const char *via, int64_t wall_ms)
{
        struct run *r = opaque;
        run_history_line(r,
                         "{\"wall_ms\":%lld,\"kind\":\"crm_serve\","
                         "\"event_id\":\"%s\",\"via\":\"%s\"}\n",
                         (long long)wall_ms, ev->event_id, via);
}

static enum phase_rc setup_checkpoint(struct run *r)
{
        return run_interrupted(r, "setup") ? PHASE_INTERRUPTED : PHASE_OK;
}

/* The run folder, history.jsonl and the Kafka clients' log. */
enum phase_rc run_setup_files(struct run *r, char *errstr, size_t errstr_size)
{
        char path[600];

        if (make_run_dir(r, errstr, errstr_size) == -1)
                return PHASE_ERROR;
        run_progress(r,
                     "setting up %s: the Kafka target, the auditor, the "
                     "probe, the sink, the profiler",
                     r->run_dir);
        snprintf(path, sizeof(path), "%s/history.jsonl%s", r->run_dir,
                 r->opt->compress_history ? ".gz" : "");
        r->history = r->opt->compress_history ? crmsync_gzfile_open(path, "w")
                                              : fopen(path, "w");
        if (!r->history) {
                crmsync_err(errstr, errstr_size, "%s: %s", path,
                            strerror(errno));
                return PHASE_ERROR;
        }
        snprintf(path, sizeof(path), "%s/kafka-clients.log", r->run_dir);
        crmsync_kafka_log_open(path);
        snprintf(r->group_id, sizeof(r->group_id), "crmsync-%s", r->run_id);
        return setup_checkpoint(r);
}

/* The event loop and the Kafka target. */
enum phase_rc run_setup_cluster(struct run *r, char *errstr, size_t errstr_size)
{
        char props[600], flog[600];

        if (!r->base && !(r->base = event_base_new())) {
                crmsync_err(errstr, errstr_size, "event_base_new failed");
                return PHASE_ERROR;
        }
        snprintf(props, sizeof(props), "%s/kafka.properties", r->run_dir);
        snprintf(flog, sizeof(flog), "%s/fault-commands.log", r->run_dir);
        if (!(r->cluster = crmsync_cluster_open(r->sc, props, flog, errstr,
                                                errstr_size)))
                return PHASE_ERROR;
        return setup_checkpoint(r);
}

/* The judge's Kafka clients: the auditor (a copy of the topic) and the
 * probe (the target's availability). */
enum phase_rc run_setup_judge(struct run *r, char *errstr, size_t errstr_size)
{
        const struct scenario *sc = r->sc;

        /* The auditor's cap: every change copied many times over. */
        if (r->opt->no_record) {
                /* Benchmark: the judge records nothing. */
        } else if (!(r->auditor = crmsync_auditor_start(
                         crmsync_cluster_props(r->cluster), sc->topic,
                         sc->partitions,
                         crmsync_workload_event_cnt(r->wl) * 8 + 4096, errstr,
                         errstr_size)) ||
                   !(r->probe = crmsync_probe_start(
                         crmsync_cluster_props(r->cluster), CLUSTER_PROBE_TOPIC,
                         crmsync_cluster_probe_partitions(r->cluster),
                         PROBE_INTERVAL_MS, 1000, 400000, errstr, errstr_size)))
                return PHASE_ERROR;
        return setup_checkpoint(r);
}

/* The fake sink, then the profiler, waited for until it is in its group. */
enum phase_rc run_setup_sink_and_profiler(struct run *r, char *errstr,
                                          size_t errstr_size)
{
        const struct scenario *sc = r->sc;
        char                   ready_path[600];

        if (run_sink_open(r, errstr, errstr_size))
                return PHASE_ERROR;

        /* Warm-up: the profiler joins its group before the CRM's clock
         * starts, so the first changes' latency does not include the
         * group's initial rebalance delay. */
        r->t0_mono = crmsync_mono_ms();
        r->t0_wall = crmsync_wall_ms();
        run_setup_child(r, &r->profiler, "profiler", &sc->profiler,
                        r->group_id);
        snprintf(ready_path, sizeof(ready_path), "%s/profiler.ready",
                 r->run_dir);
        crmsync_child_setenv(&r->profiler, "CRMSYNC_READY_FILE", ready_path);
        if (r->opt->preload)
                return setup_checkpoint(r); /* the replay's is the only one */
        if (run_start_child(r, &r->profiler) == -1) {
                crmsync_err(errstr, errstr_size,
                            "could not start the profiler (see %s)",
                            r->run_dir);
                return PHASE_ERROR;
        }
        if (r->shadow_label) /* run_shadow.c waits for both at once */
                return setup_checkpoint(r);
        return run_wait_profiler(r);
}

enum phase_rc run_wait_profiler(struct run *r)
{
        char ready_path[600];
        snprintf(ready_path, sizeof(ready_path), "%s/profiler.ready",
                 r->run_dir);
        if (wait_ready(r, ready_path, 15000) == -1)
                return PHASE_ERROR;
        return setup_checkpoint(r);
}

/* The mock CRM, its clock starting CONNECTOR_WARMUP_MS from now so the
 * connector has started (read its stored cursor) before the first change
 * commits. */
enum phase_rc run_setup_crm(struct run *r, char *errstr, size_t errstr_size)
{
        const struct scenario   *sc = r->sc;
        struct crm_server_config cc = {0};

        r->t0_mono          = crmsync_mono_ms() + CONNECTOR_WARMUP_MS;
        r->t0_wall          = crmsync_wall_ms() + CONNECTOR_WARMUP_MS;
        cc.workload         = r->wl;
        cc.start_wall_ms    = r->t0_wall;
        cc.max_page         = sc->crm_max_page;
        cc.rate_limit_per_s = sc->crm_rate_limit_per_s;
        cc.rate_burst       = sc->crm_rate_burst;
        cc.daily_quota      = sc->crm_daily_quota;
        cc.error_rate_5xx   = sc->crm_error_rate_5xx;
        cc.retention_ms     = (int64_t)(sc->crm_retention_s * 1000);
        if (!(r->crm =
                  crmsync_crm_server_new(r->base, &cc, errstr, errstr_size)))
                return PHASE_ERROR;
        if (sc->crm_latency_ms) {
                /* The CRM API's own answer time (crm.latency_ms). */
                json_t *p =
                    json_pack("{s:i}", "delay_ms", (int)sc->crm_latency_ms);
                int bad = crmsync_crm_server_fault(r->crm, "slow_responses", p,
                                                   1, errstr, errstr_size);
                json_decref(p);
                if (bad)
                        return PHASE_ERROR;
        }
        if (!r->opt->no_record)
                crmsync_crm_server_set_observer(r->crm, crm_serve_observer, r);
        snprintf(r->crm_url, sizeof(r->crm_url), "http://127.0.0.1:%d",
                 crmsync_crm_server_port(r->crm));
        return setup_checkpoint(r);
}

/* Timers for every fault's start and end, and the run's deadline. */
void run_schedule_faults(struct run *r)
{
        const struct scenario *sc = r->sc;
        double                 timeout_s;

        r->workload_end_mono = r->t0_mono + crmsync_workload_duration_ms(r->wl);
        r->faults_end_mono   = r->t0_mono;
        for (int i = 0; i < sc->fault_cnt; i++) {
                int64_t end =
                    r->t0_mono +
                    (int64_t)((sc->faults[i].at_s + sc->faults[i].duration_s) *
                              1000);
                if (end > r->faults_end_mono)
                        r->faults_end_mono = end;
                schedule_fault(r, i, 1,
                               sc->faults[i].at_s + CONNECTOR_WARMUP_MS / 1e3);
                if (sc->faults[i].duration_s > 0)
                        schedule_fault(r, i, 0,
                                       sc->faults[i].at_s +
                                           sc->faults[i].duration_s +
                                           CONNECTOR_WARMUP_MS / 1e3);
        }
        timeout_s        = r->opt->timeout_s > 0 ? r->opt->timeout_s
                           : sc->timeout_s > 0
                               ? sc->timeout_s
                               : (double)(r->faults_end_mono > r->workload_end_mono
                                              ? r->faults_end_mono
                                              : r->workload_end_mono) /
                                  1000.0 -
                              (double)r->t0_mono / 1000.0 + 120;
        r->deadline_mono = r->t0_mono + (int64_t)(timeout_s * 1000);
}

/* Start the connector and run the loop until run_tick_cb ends it. Returns -1
 * when nothing ran that could be judged. */
static int run_pipeline(struct run *r, char *errstr, size_t errstr_size)
{
        const struct scenario *sc = r->sc;
        struct timeval         tv = {0, TICK_MS * 1000};

        run_progress(r, "run %s: crm %s, sink %s, kafka %s", r->run_id,
                     r->crm_url, r->sink_url,
                     crmsync_cluster_bootstrap(r->cluster));
        run_progress(r, "workload: %zu changes over %.1f s (seed %llu)",
                     crmsync_workload_event_cnt(r->wl),
                     (double)crmsync_workload_duration_ms(r->wl) / 1000.0,
                     (unsigned long long)sc->seed);
        run_history(r, "run_start", ",\"crm\":\"%s\",\"sink\":\"%s\"",
                    r->crm_url, r->sink_url);

        run_setup_child(r, &r->connector, "connector", &sc->connector,
                        r->group_id);
        if (run_start_child(r, &r->connector) == -1) {
                crmsync_err(errstr, errstr_size,
                            "could not start the pipeline (see %s)",
                            r->run_dir);
                return -1;
        }
        r->tick = event_new(r->base, -1, EV_PERSIST, run_tick_cb, r);
        event_add(r->tick, &tv);
        event_base_dispatch(r->base);
        event_del(r->tick);
        if (!strcmp(r->error_phase, "set-up"))
                return -1; /* nothing ran that could be judged */
        return 0;
}

/* Stop the pipeline, check the sink against the workload and build the
 * summary; *failed is the verdict. */
enum phase_rc run_judge(struct run *r, json_t **summary, int *failed)
{
        const struct scenario *sc      = r->sc;
        json_t                *replay  = NULL, *log, *timing, *series;
        json_t                *offsets = NULL, *dlq = NULL;
        struct check_result    res;
        struct expectations    exp = {0};

        /* Stop the pipeline before judging, the CRM and the sink still
         * answering until it is gone; nothing changes after this. */
        run_stop_child_serving(r, &r->connector, stop_grace_ms());
        run_stop_child_serving(r, &r->profiler, stop_grace_ms());
        run_history(r, "pipeline_stopped", "%s", "");
        run_sink_settle(r);
        /* A signal before the verdict: the run is not judged. */
        if (run_interrupted(r, "shutdown"))
                return PHASE_INTERRUPTED;

        crmsync_probe_stop(r->probe);
        if (r->auditor)
                crmsync_auditor_finish(r->auditor, 10000);
        crmsync_check_result_init(&res);
        run_check_now(r, &res);
        log    = r->opt->no_record ? json_pack("{s:b}", "recording", 0)
                                   : run_history_checks(r, &res);
        timing = run_timing_json(r);
        series = run_series_json(r); /* before a replay clears the sink */
        if (!r->opt->no_record) {
                run_write_applies(r);
                offsets = run_offsets_json(r); /* before a replay */
                dlq     = run_dlq_drain_json(r);
        }
        if (sc->replay.enabled && !r->error[0])
                replay = run_replay(r, &res);
        if (run_interrupted(r, "judging")) {
                crmsync_check_result_clear(&res);
                json_decref(log);
                json_decref(timing);
                json_decref(series);
                json_decref(replay);
                json_decref(offsets);
                json_decref(dlq);
                return PHASE_INTERRUPTED;
        }
        *summary =
            run_build_summary(r, &res, timing, log, replay, &exp, failed);
        if (*summary) { /* for the report's charts */
                json_object_set_new(*summary, "series", series);
                if (offsets)
                        json_object_set_new(*summary, "offsets", offsets);
                if (dlq)
                        json_object_set_new(*summary, "dlq_drain", dlq);
        } else {
                json_decref(series);
                json_decref(offsets);
                json_decref(dlq);
        }
        if (*summary) /* a scenario that must fail: failing so is a pass */
                *failed = crmsync_verdict_apply(&sc->expect.must_fail, &exp,
                                                res.counts, *summary, *failed);
        crmsync_expectations_clear(&exp);
        crmsync_check_result_clear(&res);
        run_history_close(r);
        return PHASE_OK;
}

/* Stop what runs (a second signal has killed it already), and say the
 * run was cut off instead of judging a backlog in flight. Returns the
 * exit code, 2 when even that summary could not be built. */
int run_stop_interrupted(struct run *r, json_t **summary, char *errstr,
                         size_t errstr_size)
{
        if (r->base) {
                run_stop_child_serving(r, &r->connector, stop_grace_ms());
                run_stop_child_serving(r, &r->profiler, stop_grace_ms());
                run_stop_child_serving(r, &r->replayer, stop_grace_ms());
        }
        run_history(r, "pipeline_stopped", "%s", "");
        *summary = run_interrupted_summary(r);
        if (r->history) {
                fclose(r->history);
                r->history = NULL;
        }
        if (!*summary) {
                crmsync_err(errstr, errstr_size, "interrupted; out of memory");
                return 2;
        }
        return 128 + r->interrupt_sig; /* run_finish writes the reports */
}

void run_free(struct run *r)
{
        crmsync_child_stop(&r->connector, 0);
        crmsync_child_stop(&r->profiler, 0);
        crmsync_child_stop(&r->replayer, 0);
        crmsync_child_free(&r->connector);
        crmsync_child_free(&r->profiler);
        crmsync_child_free(&r->replayer);
        if (r->history)
                fclose(r->history);
        if (r->tick)
                event_free(r->tick);
        crmsync_auditor_destroy(r->auditor);
        crmsync_probe_destroy(r->probe);
        if (!r->shadow_shared)
                crmsync_crm_server_destroy(r->crm);
        run_sink_close(r);
        crmsync_cluster_close(r->cluster);
        crmsync_kafka_log_close();
        if (r->base && !r->shadow_shared)
                event_base_free(r->base);
        free(r->ev_rec);
        free(r->ap_rec);
        run_status_free(r);
        if (!r->shadow_shared)
                crmsync_workload_destroy(r->wl);
}

int crmsync_run(const struct scenario *sc, const struct run_options *opt,
                json_t **summary_out, char *errstr, size_t errstr_size)
{
        struct run    r       = {0};
        json_t       *summary = NULL;
        int           failed = 0, rc = 2;
        enum phase_rc ph;

        r.sc         = sc;
        r.opt        = opt;
        r.start_mono = crmsync_mono_ms();
        crmsync_interrupt_install(); /* the CLI did already, normally */
        if (!(r.wl = crmsync_workload_generate(&sc->workload, errstr,
                                               errstr_size)))
                return 2;
        if ((ph = run_setup_files(&r, errstr, errstr_size)) ||
            (ph = run_setup_cluster(&r, errstr, errstr_size)) ||
            (ph = run_setup_judge(&r, errstr, errstr_size)) ||
            (ph = run_setup_sink_and_profiler(&r, errstr, errstr_size)) ||
            (ph = run_setup_crm(&r, errstr, errstr_size)))
                goto phase_end;
        if (opt->preload) {
                /* The changes straight to the topic, then the replay. */
                if ((summary = run_preload(&r, &failed)))
                        rc = failed ? 1 : 0;
                run_history_close(&r);
                goto out;
        }
        run_schedule_faults(&r);
        if (run_pipeline(&r, errstr, errstr_size) == -1)
                goto out;
        if ((ph = run_judge(&r, &summary, &failed)) == PHASE_OK)
                rc = failed ? 1 : 0;
phase_end:
        if (ph == PHASE_INTERRUPTED)
                rc = run_stop_interrupted(&r, &summary, errstr, errstr_size);
out:
        rc = run_finish(&r, rc, &summary, errstr, errstr_size);
        run_free(&r);
        if (summary && summary_out)
                *summary_out = json_incref(summary);
        json_decref(summary);
        return rc;
}
