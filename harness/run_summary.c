/* run_summary.c -- after a run: timing (freshness, apply latency,
 * convergence per fault, catch-up, broker unavailability), the history checks
 * and summary.json around the expectations (run_expect.c). */
#include "run_int.h"

#include "harness/fault.h"

#include <sys/resource.h>

/* -- summary -------------------------------------------------------------- */

/* Parse "e-00000042" into 42; 0 for other ids (resync events). */
uint64_t run_event_seq(const char *id)
{
        if (id[0] != 'e' || id[1] != '-')
                return 0;
        return strtoull(id + 2, NULL, 10);
}

/* The timing facts (timing.h) of the main phase, built once. */
struct facts_buf {
        struct timing_facts f;
        uint32_t           *ev_ver, *ap_ver;
        int64_t            *ev_ms, *ap_ms;
        uint8_t            *ap_ok, *ap_del;
};

static void facts_free(struct facts_buf *b)
{
        free(b->ev_ver);
        free(b->ev_ms);
        free(b->ap_ver);
        free(b->ap_ms);
        free(b->ap_ok);
        free(b->ap_del);
}

static int facts_build(struct run *r, struct facts_buf *b)
{
        const struct sink_apply *a;
        size_t                   na = run_sink_applies(r, &a);
        size_t                   ne = crmsync_workload_event_cnt(r->wl);

        memset(b, 0, sizeof(*b));
        b->ev_ver = calloc(ne + 1, 4);
        b->ap_ver = calloc(na + 1, 4);
        b->ev_ms  = calloc(ne + 1, 8);
        b->ap_ms  = calloc(na + 1, 8);
        b->ap_ok  = calloc(na + 1, 1);
        b->ap_del = calloc(na + 1, 1);
        if (!b->ev_ver || !b->ap_ver || !b->ev_ms || !b->ap_ms || !b->ap_ok ||
            !b->ap_del || run_indexes(r) || na != r->ap_cnt) {
                facts_free(b);
                return -1;
        }
        for (size_t i = 0; i < ne; i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                b->ev_ver[i]               = ev->version;
                b->ev_ms[i]                = r->t0_wall + ev->commit_ms;
        }
        for (size_t i = 0; i < na; i++) {
                b->ap_ver[i] = a[i].version;
                b->ap_ms[i]  = a[i].wall_ms;
                b->ap_ok[i]  = (uint8_t)a[i].applied;
                b->ap_del[i] = (uint8_t)a[i].is_delete;
        }
        b->f = (struct timing_facts){
            .ev_record  = r->ev_rec,
            .ev_version = b->ev_ver,
            .ev_wall_ms = b->ev_ms,
            .ev_cnt     = ne,
            .ap_record  = r->ap_rec,
            .ap_version = b->ap_ver,
            .ap_wall_ms = b->ap_ms,
            .ap_applied = b->ap_ok,
            .ap_cnt     = na,
            .record_cnt = (uint32_t)crmsync_workload_record_cnt(r->wl),
            .ap_delete  = b->ap_del,
        };
        return 0;
}

/* Per fault: convergence after it ended, and for process outages the
 * catch-up (backlog drain) time after the process was back. f is NULL
 * when the facts could not be built. */
/* The freshness (ms) under which a change counts as caught up after an
 * outage starting at stop_ms: twice the p95 of the changes committed
 * after the warm-up that the sink held before stop_ms (the ones in
 * flight at the stop waited for the outage), at least 250 ms (1 s with
 * fewer than 20 such changes). */
static int64_t caught_up_threshold_ms(struct run                *r,
                                      const struct timing_facts *f,
                                      const int64_t *held, int64_t stop_ms)
{
        struct histogram *h = malloc(sizeof(*h));
        int64_t           from =
            r->t0_wall + (r->sc->warmup_s >= 0
                              ? (int64_t)(r->sc->warmup_s * 1000)
                              : crmsync_workload_duration_ms(r->wl) / 10);
        int64_t ms = 1000;

        if (!h)
                return ms;
        crmsync_histogram_init(h);
        for (size_t i = 0; i < f->ev_cnt; i++)
                if (f->ev_wall_ms[i] >= from && held[i] >= 0 &&
                    held[i] < stop_ms)
                        crmsync_histogram_record(
                            h, (uint64_t)(held[i] - f->ev_wall_ms[i]));
        if (h->total >= 20) {
                ms = 2 * (int64_t)crmsync_histogram_quantile(h, 0.95);
                if (ms < 250)
                        ms = 250;
        }
        free(h);
        return ms;
}

/* A stopped stage's catch-up figures (timing.h) into entry o. */
static void catch_up_figures(struct run *r, const struct timing_facts *f,
                             const int64_t *held, int64_t stop_ms,
                             int64_t back_ms, json_t *o)
{
        struct timing_catch_up cu;
        int64_t thr = caught_up_threshold_ms(r, f, held, stop_ms);

        if (crmsync_timing_catch_up(f, held, stop_ms, back_ms, thr, &cu))
                return;
        json_object_set_new(o, "stopped_s",
                            json_real((double)(back_ms - stop_ms) / 1000.0));
        json_object_set_new(o, "backlog", json_integer((json_int_t)cu.backlog));
        json_object_set_new(o, "outage_commits",
                            json_integer((json_int_t)cu.outage_commits));
        json_object_set_new(o, "commit_rate_per_s",
                            json_real(cu.commit_rate_per_s));
        json_object_set_new(o, "caught_up_ms", json_integer((json_int_t)thr));
        json_object_set_new(
            o, "drain_s", cu.drain_s < 0 ? json_null() : json_real(cu.drain_s));
        json_object_set_new(o, "drained", json_integer((json_int_t)cu.drained));
        json_object_set_new(o, "drain_events_per_s",
                            cu.drain_s < 0 ? json_null()
                                           : json_real(cu.drain_events_per_s));
}

static void fault_timing(struct run *r, const struct timing_facts *f,
                         const int64_t *held, json_t *t)
{
        json_t *conv = json_array(), *catch_up = json_array();
        json_t *unavail        = json_array();
        double  worst_catch_up = -1;

        if (!f)
                goto out;
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
                            json_pack(
                                "{s:i, s:i, s:o}", "fault", i, "broker",
                                (int)json_integer_value(
                                    json_object_get(sf->params, "broker")),
                                "unavailable_s",
                                worst < 0 ? json_null() : json_real(worst)));
                }
                c = crmsync_timing_convergence_s(f, fs->end_wall);
                json_array_append_new(
                    conv, json_pack("{s:i, s:s, s:o}", "fault", i, "type",
                                    sf->type, "convergence_s",
                                    c < 0 ? json_null() : json_real(c)));
                if (strcmp(sf->type, "connector_crash") &&
                    strcmp(sf->type, "profiler_crash") &&
                    strcmp(sf->type, "connector_pause") &&
                    strcmp(sf->type, "profiler_pause"))
                        continue;
                /* Back: the scheduled restart, or the SIGCONT. */
                double  ra   = crmsync_fault_num(sf->type, sf->params,
                                                 "restart_after_s", 0);
                int64_t back = !strstr(sf->type, "_pause")
                                   ? fs->start_wall + (int64_t)(ra * 1000)
                                   : fs->end_wall;
                c            = crmsync_timing_convergence_s(f, back);
                if (c > worst_catch_up)
                        worst_catch_up = c;
                {
                        json_t *o = json_pack(
                            "{s:i, s:s, s:f, s:o}", "fault", i, "type",
                            sf->type, "back_s",
                            (double)(back - r->t0_wall) / 1000.0, "catch_up_s",
                            c < 0 ? json_null() : json_real(c));
                        if (held)
                                catch_up_figures(r, f, held, fs->start_wall,
                                                 back, o);
                        json_array_append_new(catch_up, o);
                }
        }
out:
        json_object_set_new(t, "fault_convergence", conv);
        json_object_set_new(t, "catch_up", catch_up);
        json_object_set_new(t, "broker_unavailable", unavail);
        json_object_set_new(t, "catch_up_s",
                            worst_catch_up < 0 ? json_null()
                                               : json_real(worst_catch_up));
}

/* {count, excluded, unseen, p50, p95, p99, p99_9, max}: a percentile is
 * null when it falls among the changes the sink never caught up with. */
static json_t *freshness_json(const struct freshness_stats *s)
{
        static const struct {
                const char *name;
                double      q;
        } qs[]    = {{"p50", 0.50},
                     {"p95", 0.95},
                     {"p99", 0.99},
                     {"p99_9", 0.999},
                     {"max", 1.0}};
        json_t *o = json_pack("{s:I, s:I, s:I}", "count", (json_int_t)s->count,
                              "excluded", (json_int_t)s->excluded, "unseen",
                              (json_int_t)s->unseen);
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
                uint64_t ms;
                json_object_set_new(o, qs[i].name,
                                    crmsync_freshness_quantile(s, qs[i].q, &ms)
                                        ? json_null()
                                        : json_integer((json_int_t)ms));
        }
        return o;
}

/* Freshness of every committed change, whole run and steady state (the
 * changes committed after the warm-up). */
static json_t *freshness_timing(struct run *r, const struct timing_facts *f,
                                const int64_t *held)
{
        int64_t                  warmup_ms = r->sc->warmup_s >= 0
                                                 ? (int64_t)(r->sc->warmup_s * 1000)
                                                 : crmsync_workload_duration_ms(r->wl) / 10;
        struct timing_freshness *fr        = malloc(sizeof(*fr));
        json_t                  *o, *st;

        if (!fr || !f ||
            crmsync_timing_freshness(f, r->t0_wall + warmup_ms, fr)) {
                free(fr);
                return json_null();
        }
        o  = freshness_json(&fr->whole);
        st = freshness_json(&fr->steady);
        json_object_set_new(st, "from_s", json_real((double)warmup_ms / 1e3));
        if (held) {
                struct timing_lag lag;
                if (!crmsync_timing_peak_lag(f, held, r->t0_wall + warmup_ms,
                                             INT64_MAX, &lag))
                        json_object_set_new(
                            st, "peak_lag",
                            json_pack("{s:I, s:I}", "age_ms",
                                      (json_int_t)lag.peak_age_ms, "pending",
                                      (json_int_t)lag.peak_pending));
        }
        json_object_set_new(o, "steady_state", st);
        free(fr);
        return o;
}

json_t *run_timing_json(struct run *r)
{
        const struct sink_apply *a;
        size_t                   n    = run_sink_applies(r, &a);
        size_t                   ne   = crmsync_workload_event_cnt(r->wl);
        uint8_t                 *seen = calloc(ne + 1, 1);
        struct histogram        *h    = malloc(sizeof(*h));
        struct facts_buf         fb;
        int                      have_facts;
        int64_t                 *held = NULL;
        json_t                  *t;
        int64_t quiet_end = r->workload_end_mono > r->faults_end_mono
                                ? r->workload_end_mono
                                : r->faults_end_mono;

        if (!seen || !h) {
                free(seen);
                free(h);
                return json_object();
        }
        have_facts = facts_build(r, &fb) == 0;
        if (have_facts && (held = calloc(ne + 1, sizeof(*held))) &&
            crmsync_timing_held(&fb.f, held)) {
                free(held);
                held = NULL;
        }
        /* apply_latency: commit -> the change's own applied write, for the
         * changes that got one (superseded ones are left out). */
        crmsync_histogram_init(h);
        for (size_t i = 0; i < n; i++) {
                uint64_t seq = run_event_seq(a[i].event_id);
                if (!a[i].applied || seq == 0 || seq > ne || seen[seq])
                        continue;
                seen[seq] = 1;
                const struct crm_event *ev =
                    crmsync_workload_event(r->wl, seq - 1);
                int64_t lat = a[i].wall_ms - (r->t0_wall + ev->commit_ms);
                crmsync_histogram_record(h, lat < 0 ? 0 : (uint64_t)lat);
        }
        t = json_pack(
            "{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:b, s:o, s:f}",
            "freshness", freshness_timing(r, have_facts ? &fb.f : NULL, held),
            "apply_latency", "count", (json_int_t)h->total, "p50",
            (json_int_t)crmsync_histogram_quantile(h, 0.50), "p95",
            (json_int_t)crmsync_histogram_quantile(h, 0.95), "p99",
            (json_int_t)crmsync_histogram_quantile(h, 0.99), "p99_9",
            (json_int_t)crmsync_histogram_quantile(h, 0.999), "max",
            (json_int_t)h->max, "min", (json_int_t)(h->total ? h->min : 0),
            "converged", r->converged, "convergence_s",
            r->converged
                ? json_real((double)(r->converged_mono - quiet_end) / 1000.0)
                : json_null(),
            "run_s", (double)(crmsync_mono_ms() - r->t0_mono) / 1000.0);
        free(seen);
        free(h);
        /* drain: first commit to last sink write, from the workload and
         * the sink's own apply log (no history needed): the throughput
         * bench_e2e reports, with the recording on or off. */
        {
                int64_t first =
                    ne ? r->t0_wall +
                             crmsync_workload_event(r->wl, 0)->commit_ms
                       : 0;
                int64_t last = 0;
                for (size_t i = 0; i < n; i++)
                        if (a[i].wall_ms > last)
                                last = a[i].wall_ms;
                double secs = (double)(last - first) / 1000.0;
                json_object_set_new(
                    t, "drain",
                    ne && n && last > first
                        ? json_pack("{s:I, s:I, s:I, s:f, s:f}", "events",
                                    (json_int_t)ne, "first_commit_wall_ms",
                                    (json_int_t)first, "last_apply_wall_ms",
                                    (json_int_t)last, "seconds", secs,
                                    "events_per_s", (double)ne / secs)
                        : json_null());
        }
        fault_timing(r, have_facts ? &fb.f : NULL, held, t);
        free(held);
        if (have_facts)
                facts_free(&fb);
        return t;
}

static json_t *faults_json(struct run *r)
{
        json_t *arr = json_array();
        for (int i = 0; i < r->sc->fault_cnt; i++) {
                const struct fault_state *fs = &r->faults[i];
                json_t                   *o =
                    json_pack("{s:s, s:f, s:b}", "type", r->sc->faults[i].type,
                              "at_s", r->sc->faults[i].at_s, "skipped",
                              fs->skipped || !fs->started);
                json_object_set_new(
                    o, "start_s",
                    fs->started
                        ? json_real((double)(fs->start_mono - r->t0_mono) /
                                    1000.0)
                        : json_null());
                json_object_set_new(
                    o, "end_s",
                    fs->ended ? json_real((double)(fs->end_mono - r->t0_mono) /
                                          1000.0)
                              : json_null());
                if (fs->skipped || !fs->started)
                        json_object_set_new(
                            o, "reason",
                            json_string(fs->reason[0] ? fs->reason
                                                      : "the run ended before "
                                                        "its start time"));
                json_array_append_new(arr, o);
        }
        return arr;
}

void run_summary_where(struct run *r, json_t *s)
{
        if (r->cluster)
                json_object_set_new(s, "target",
                                    crmsync_cluster_describe(r->cluster));
        json_object_set_new(s, "run_dir", json_string(r->run_dir));
        json_object_set_new(s, "history_file",
                            json_string(r->opt->compress_history
                                            ? "history.jsonl.gz"
                                            : "history.jsonl"));
}

json_t *run_interrupted_summary(struct run *r)
{
        const char *sig = r->interrupt_sig == SIGTERM ? "SIGTERM" : "SIGINT";
        double  after_s = (double)(r->interrupt_mono - r->start_mono) / 1000.0;
        size_t  planned = crmsync_workload_event_cnt(r->wl), done = 0;
        char    why[256];
        json_t *s;

        /* Changes the CRM had committed when the signal came. */
        for (size_t i = 0; r->crm && i < planned; i++)
                if (r->t0_mono + crmsync_workload_event(r->wl, i)->commit_ms <=
                    r->interrupt_mono)
                        done++;
        snprintf(why, sizeof(why),
                 "interrupted by %s during %s after %.1f s: not judged "
                 "(counts of a cut-off run only reflect the changes in "
                 "flight)",
                 sig, r->interrupt_phase ? r->interrupt_phase : "setup",
                 after_s);
        s = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s,"
            " s:{s:s, s:s, s:f, s:i},"
            " s:{s:I, s:I, s:I},"
            " s:[], s:{s:f}, s:o}",
            "schema", CRMSYNC_SUMMARY_SCHEMA, "scenario", r->sc->name,
            "scenario_file", r->sc->path, "run_id", r->run_id, "verdict",
            "interrupted", "reason", why, "interruption", "signal", sig,
            "phase", r->interrupt_phase ? r->interrupt_phase : "setup",
            "after_s", after_s, "signals", crmsync_interrupt_count(),
            "workload", "events_planned", (json_int_t)planned,
            "events_committed", (json_int_t)done, "seed",
            (json_int_t)r->sc->seed, "expectations", "timing", "run_s",
            (double)(crmsync_mono_ms() - r->start_mono) / 1000.0, "faults",
            faults_json(r));
        if (!s)
                return NULL;
        run_summary_where(r, s);
        json_object_set_new(s, "run",
                            json_pack("{s:b, s:b, s:b, s:b, s:i, s:i}",
                                      "converged", r->converged, "settled",
                                      r->settled, "timed_out", r->timed_out,
                                      "interrupted", 1, "connector_starts",
                                      r->connector.starts, "profiler_starts",
                                      r->profiler.starts));
        return s;
}

/* What the run cost this machine: the harness process's peak resident set
 * (it holds the CRM, sink, broker and judge) and CPU time, its own and its
 * pipeline children's (those it has reaped). */
static json_t *resources_json(void)
{
        struct rusage self, kids;
        if (getrusage(RUSAGE_SELF, &self) || getrusage(RUSAGE_CHILDREN, &kids))
                return json_null();
        return json_pack("{s:I, s:f, s:f, s:I, s:f, s:f}",
                         "harness_peak_rss_kib", (json_int_t)self.ru_maxrss,
                         "harness_cpu_user_s",
                         self.ru_utime.tv_sec + self.ru_utime.tv_usec / 1e6,
                         "harness_cpu_sys_s",
                         self.ru_stime.tv_sec + self.ru_stime.tv_usec / 1e6,
                         "children_peak_rss_kib", (json_int_t)kids.ru_maxrss,
                         "children_cpu_user_s",
                         kids.ru_utime.tv_sec + kids.ru_utime.tv_usec / 1e6,
                         "children_cpu_sys_s",
                         kids.ru_stime.tv_sec + kids.ru_stime.tv_usec / 1e6);
}

/* The summary object around the expectations (docs/summary.md). */
static json_t *summary_json(struct run *r, const struct check_result *res,
                            json_t *timing, json_t *log, json_t *replay,
                            json_t *an, json_t *exp, json_t *api, int failed)
{
        char     sha[65];
        uint64_t accounts = 0;
        json_t  *s;

        for (size_t i = 0; i < crmsync_workload_event_cnt(r->wl); i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                if (ev->entity == CRM_ENTITY_ACCOUNT &&
                    ev->change == CRM_CHANGE_CREATE)
                        accounts++;
        }
        crmsync_workload_sha256(r->wl, sha);
        s = json_pack(
            "{s:s, s:s, s:s, s:s, s:s,"
            " s:{s:I, s:I, s:I, s:s, s:I},"
            " s:o, s:o, s:o, s:o, s:o, s:o}",
            "schema", CRMSYNC_SUMMARY_SCHEMA, "scenario", r->sc->name,
            "scenario_file", r->sc->path, "run_id", r->run_id, "verdict",
            failed ? "fail" : "pass", "workload", "events_committed",
            (json_int_t)crmsync_workload_event_cnt(r->wl), "accounts",
            (json_int_t)accounts, "seed", (json_int_t)r->sc->seed,
            "commit_log_sha256", sha, "records_live",
            (json_int_t)res->records_expected, "anomalies", an,
            "anomaly_examples", json_incref(res->examples), "expectations", exp,
            "timing", timing, "faults", faults_json(r), "target",
            crmsync_cluster_describe(r->cluster));
        json_object_set_new(s, "api", api);
        json_object_set_new(s, "run_dir", json_string(r->run_dir));
        json_object_set_new(s, "history_file",
                            json_string(r->opt->compress_history
                                            ? "history.jsonl.gz"
                                            : "history.jsonl"));
        json_object_set_new(s, "log", log);
        /* false only for `crmsync run --no-record` (benchmarks): the
         * verdict is then the end state alone. */
        json_object_set_new(s, "recording", json_boolean(!r->opt->no_record));
        json_object_set_new(s, "process_exits", run_exits_json(r));
        json_object_set_new(s, "resources", resources_json());
        if (replay)
                json_object_set_new(timing, "replay", replay);
        json_object_set_new(s, "run",
                            json_pack("{s:b, s:b, s:b, s:b, s:i, s:i}",
                                      "converged", r->converged, "settled",
                                      r->settled, "timed_out", r->timed_out,
                                      "interrupted", r->interrupted,
                                      "connector_starts", r->connector.starts,
                                      "profiler_starts", r->profiler.starts));
        /* Convergence waits on the profiler group's lag, not only on
         * inactivity: whether it did, and a group still behind at the
         * end, by name. */
        json_object_set_new(
            json_object_get(s, "run"), "group_lag",
            json_pack("{s:s, s:b, s:I, s:o}", "group", r->group_id,
                      "waited_on_lag", r->lag_wait_start_mono != 0,
                      "lag_at_last_check", (json_int_t)r->lag.total, "stalled",
                      r->lag_note[0] ? json_string(r->lag_note) : json_null()));
        return s;
}

json_t *run_build_summary(struct run *r, struct check_result *res,
                          json_t *timing, json_t *log, json_t *replay,
                          struct expectations *exp, int *failed)
{
        json_t *an = run_expectations(r, res, timing, log, replay, exp, failed);
        json_t *api = run_api_json(r);

        run_api_expect(r, api, exp, failed);
        return summary_json(r, res, timing, log, replay, an,
                            crmsync_expectations_json(exp), api, *failed);
}

void run_write_applies(struct run *r)
{
        const struct sink_apply *a;
        size_t                   n = run_sink_applies(r, &a);
        if (!run_history_usable(r))
                return;
        /* The commit log, for lineage (crmsync trace). */
        for (size_t i = 0; i < crmsync_workload_event_cnt(r->wl); i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                run_history_line(
                    r,
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
                run_history_line(
                    r,
                    "{\"wall_ms\":%lld,\"kind\":\"sink_apply\","
                    "\"event_id\":\"%s\",\"key\":\"%s\",\"version\":%u,"
                    "\"delete\":%s,\"full\":%s,\"applied\":%s}\n",
                    (long long)a[i].wall_ms, a[i].event_id, a[i].key,
                    a[i].version, a[i].is_delete ? "true" : "false",
                    a[i].full ? "true" : "false",
                    a[i].applied ? "true" : "false");
}

uint32_t run_record_index(struct run *r, const char *key)
{
        char                     ent[32];
        const char              *slash = strchr(key, '/');
        int                      e;
        const struct crm_record *cr;
        if (!slash || (size_t)(slash - key) >= sizeof(ent))
                return UINT32_MAX;
        memcpy(ent, key, (size_t)(slash - key));
        ent[slash - key] = '\0';
        if ((e = crmsync_entity_parse(ent)) < 0 ||
            !(cr = crmsync_workload_find(r->wl, (enum crm_entity)e, slash + 1)))
                return UINT32_MAX;
        return (uint32_t)(cr - crmsync_workload_record(r->wl, 0));
}

int run_indexes(struct run *r)
{
        const struct sink_apply *a;
        size_t                   ne = crmsync_workload_event_cnt(r->wl);
        size_t                   na = run_sink_applies(r, &a);
        char                     key[CRMSYNC_KEY_MAX];

        if (r->ev_rec)
                return 0;
        r->ev_rec = calloc(ne + 1, sizeof(*r->ev_rec));
        r->ap_rec = calloc(na + 1, sizeof(*r->ap_rec));
        if (!r->ev_rec || !r->ap_rec) {
                free(r->ev_rec);
                free(r->ap_rec);
                r->ev_rec = r->ap_rec = NULL;
                return -1;
        }
        for (size_t i = 0; i < ne; i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                snprintf(key, sizeof(key), "%s/%s",
                         crmsync_entity_name(ev->entity), ev->record_id);
                r->ev_rec[i] = run_record_index(r, key);
        }
        for (size_t i = 0; i < na; i++)
                r->ap_rec[i] = run_record_index(r, a[i].key);
        r->ap_cnt = na;
        return 0;
}

struct side_effect_ctx {
        history_t *h;
        uint64_t   total;
};

static void side_effect_cb(void *opaque, const char *event_id, const char *kind,
                           uint32_t count)
{
        struct side_effect_ctx *c = opaque;
        (void)kind;
        c->total += count;
        crmsync_history_side_effect(c->h, (uint32_t)run_event_seq(event_id),
                                    count);
}

/* Build the compact history from the workload, the auditor and the sink,
 * run the history checks, and describe the log in the summary. */
/* Names in the history's examples: a record's "entity/id", a change's
 * event id. */
static void history_name(void *opaque, uint32_t seq, uint32_t record, char *buf,
                         size_t size)
{
        struct run *r = opaque;
        if (seq) {
                if (seq <= crmsync_workload_event_cnt(r->wl))
                        snprintf(
                            buf, size, "%s",
                            crmsync_workload_event(r->wl, seq - 1)->event_id);
                else
                        snprintf(buf, size, "seq:%u", seq);
        } else if (record < crmsync_workload_record_cnt(r->wl)) {
                const struct crm_record *cr =
                    crmsync_workload_record(r->wl, record);
                snprintf(buf, size, "%s/%s", crmsync_entity_name(cr->entity),
                         cr->id);
        } else {
                snprintf(buf, size, "record #%u", record);
        }
}

json_t *run_history_checks(struct run *r, struct check_result *res)
{
        size_t                     ne    = crmsync_workload_event_cnt(r->wl);
        size_t                     nr    = crmsync_workload_record_cnt(r->wl);
        const struct auditor_fact *facts = NULL;
        const struct sink_apply   *a;
        size_t                     nf = 0, na, misrouted = 0;
        struct history_stats       st = {0};
        struct side_effect_ctx     se;
        history_t                 *h;

        if (run_indexes(r) ||
            !(h = crmsync_history_new((uint32_t)ne, (uint32_t)nr, 0)))
                return json_object();
        crmsync_history_set_names(h, history_name, r);
        for (size_t i = 0; i < ne; i++) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                crmsync_history_commit(h, (uint32_t)ev->seq, r->ev_rec[i],
                                       ev->version);
        }
        if (r->auditor)
                nf = crmsync_auditor_facts(r->auditor, &facts);
        for (size_t i = 0; i < nf; i++) {
                uint32_t seq = (uint32_t)run_event_seq(facts[i].event_id);
                misrouted += facts[i].misrouted;
                if (facts[i].dlq)
                        crmsync_history_dead_letter(h, seq);
                else
                        crmsync_history_observe(h, seq, facts[i].partition,
                                                facts[i].offset);
                run_history_line(
                    r,
                    "{\"kind\":\"topic\",\"event_id\":\"%s\","
                    "\"topic\":\"%s\",\"partition\":%d,"
                    "\"offset\":%lld,\"ts_ms\":%lld}\n",
                    facts[i].event_id, facts[i].dlq ? "dlq" : r->sc->topic,
                    (int)facts[i].partition, (long long)facts[i].offset,
                    (long long)facts[i].ts_ms);
        }
        na = run_sink_applies(r, &a);
        if (na > r->ap_cnt)
                na = r->ap_cnt;
        /* A database logs only the writes it applied, not what they
         * carried: a write is whole-record when its change's envelope on
         * the topic was (the auditor read it). */
        uint8_t *topic_full = r->pg ? calloc(ne + 1, 1) : NULL;
        for (size_t i = 0; topic_full && i < nf; i++) {
                uint64_t seq = run_event_seq(facts[i].event_id);
                if (facts[i].full && seq && seq <= ne)
                        topic_full[seq] = 1;
        }
        /* A write that carries no CRM change (a poll or resync snapshot,
         * deleted records included) is the record's whole state, and a
         * delete ends the record: either covers every older change. */
        for (size_t i = 0; i < na; i++) {
                uint32_t seq = (uint32_t)run_event_seq(a[i].event_id);
                crmsync_history_apply(
                    h, seq, r->ap_rec[i], a[i].version, a[i].applied,
                    (a[i].full || seq == 0 ||
                             (topic_full && seq <= ne && topic_full[seq])
                         ? HISTORY_WRITE_FULL
                         : 0u) |
                        (a[i].is_delete ? HISTORY_WRITE_DELETE : 0u));
        }
        free(topic_full);
        se.h     = h;
        se.total = 0;
        run_sink_foreach_side_effect(r, side_effect_cb, &se);
        crmsync_history_check(h, res, &st);
        crmsync_history_destroy(h);
        return json_pack(
            "{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:{s:I, s:I}}", "records_read",
            (json_int_t)st.observed, "misrouted", (json_int_t)misrouted,
            "duplicates", (json_int_t)st.log_duplicates, "amplification",
            ne ? (double)st.observed / (double)ne : 0.0, "bytes",
            (json_int_t)(r->auditor ? crmsync_auditor_bytes(r->auditor) : 0),
            "side_effects", (json_int_t)se.total, "facts_dropped",
            (json_int_t)(st.dropped_facts +
                         (r->auditor ? crmsync_auditor_dropped(r->auditor)
                                     : 0)),
            "lost_where", "before_topic", (json_int_t)st.lost_before_topic,
            "after_topic", (json_int_t)st.lost_after_topic);
}
