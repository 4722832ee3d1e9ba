/* run_expect.c -- the run's expectations (summary.json "expectations"):
 * each bound of the scenario's expect section against what the run
 * measured, in a fixed order. run_api.c adds the expect.api ones. */
#include "run_int.h"

#include <stdarg.h>

static void expect_add(struct expectations *exp, int *failed, const char *name,
                       int ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void expect_add(struct expectations *exp, int *failed, const char *name,
                       int ok, const char *fmt, ...)
{
        char    detail[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        if (!ok)
                *failed = 1;
        crmsync_expectations_add(exp, name, ok, -1, detail);
}

/* expect.freshness_p99_ms_max (old name e2e_p99_ms_max) and its steady
 * state twin: fr is timing.freshness or its steady_state. */
static void freshness_expect(struct expectations *exp, int *failed,
                             const json_t *fr, const char *what,
                             double bound_ms)
{
        char    name[96];
        json_t *p99 = json_object_get(fr, "p99");
        if (bound_ms <= 0)
                return;
        snprintf(name, sizeof(name), "%s <= %g ms", what, bound_ms);
        if (json_is_integer(p99))
                expect_add(
                    exp, failed, name,
                    (double)json_integer_value(p99) <= bound_ms,
                    "p99 %lld ms over %lld changes (%lld excluded)",
                    (long long)json_integer_value(p99),
                    (long long)json_integer_value(json_object_get(fr, "count")),
                    (long long)json_integer_value(
                        json_object_get(fr, "excluded")));
        else
                expect_add(exp, failed, name, 0,
                           "p99 not reached: %lld of %lld changes never "
                           "seen in the sink",
                           (long long)json_integer_value(
                               json_object_get(fr, "unseen")),
                           (long long)json_integer_value(
                               json_object_get(fr, "count")));
}

/* One expectation per anomaly class with a bound; returns the counts of
 * every class, as the summary's "anomalies". */
static json_t *anomaly_expects(const struct scenario_expect *e,
                               const struct check_result    *res,
                               struct expectations *exp, int *failed)
{
        json_t *an                  = json_object();
        int64_t bounds[ANOMALY_CNT] = {e->missing,
                                       e->stale,
                                       e->zombie,
                                       e->divergent,
                                       e->unexpected,
                                       e->lost,
                                       e->duplicate_side_effect,
                                       e->reordered,
                                       e->dead_lettered};

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
                if (exp->cnt)
                        exp->v[exp->cnt - 1].anomaly = c;
        }
        return an;
}

/* expect.converge_within_s: the sink matched the CRM in time. */
static void convergence_expect(const struct run *r, const json_t *timing,
                               struct expectations *exp, int *failed)
{
        const struct scenario_expect *e = &r->sc->expect;
        char                          name[64];
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
                expect_add(exp, failed, name, 0, "%s%s%s",
                           r->interrupted ? "interrupted"
                           : r->timed_out ? "timed out"
                                          : "sink never matched the "
                                            "CRM",
                           r->lag_note[0] ? ": " : "", r->lag_note);
}

/* expect.catch_up_within_s and expect.broker_unavailable_max_s: one
 * expectation per fault that timing measured. */
static void recovery_expects(const struct scenario_expect *e,
                             const json_t *timing, struct expectations *exp,
                             int *failed)
{
        size_t  i;
        json_t *c, *u;

        if (e->catch_up_within_s > 0) {
                json_array_foreach(json_object_get(timing, "catch_up"), i, c)
                {
                        char    name[96];
                        json_t *v = json_object_get(c, "catch_up_s");
                        snprintf(name, sizeof(name), "%s caught up within %gs",
                                 json_string_value(json_object_get(c, "type")),
                                 e->catch_up_within_s);
                        expect_add(
                            exp, failed, name,
                            json_is_number(v) &&
                                json_number_value(v) <= e->catch_up_within_s,
                            "%.1f s (-1: never caught up)",
                            json_is_number(v) ? json_number_value(v) : -1.0);
                }
        }
        if (e->broker_unavailable_max_s > 0) {
                json_array_foreach(
                    json_object_get(timing, "broker_unavailable"), i, u)
                {
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
}

/* The replay's own expectations: window complete, domain untouched,
 * state rebuilt, and expect.replay_min_events_per_s. */
static void replay_expects(const struct scenario_expect *e,
                           const json_t *replay, struct expectations *exp,
                           int *failed)
{
        if (replay && json_is_true(json_object_get(replay, "performed"))) {
                json_t *miss =
                    json_array_get(json_object_get(replay, "missing"), 0);
                if (miss)
                        expect_add(
                            exp, failed, "replay window complete", 0,
                            "partition %lld no longer holds offsets "
                            "%lld..%lld (first missing offset %lld, "
                            "the run's first): the replay is "
                            "incomplete",
                            (long long)json_integer_value(
                                json_object_get(miss, "partition")),
                            (long long)json_integer_value(
                                json_object_get(miss, "first_missing_offset")),
                            (long long)json_integer_value(
                                json_object_get(miss, "first_held_offset")) -
                                1,
                            (long long)json_integer_value(
                                json_object_get(miss, "first_missing_offset")));
                else
                        expect_add(exp, failed, "replay window complete", 1,
                                   "every partition still holds the run's "
                                   "records from its first offset on");
                json_t *dom = json_object_get(replay, "domain");
                if (dom)
                        expect_add(
                            exp, failed,
                            "replay leaves other accounts untouched",
                            json_is_true(
                                json_object_get(dom, "outside_untouched")),
                            "%lld records outside the domain "
                            "changed, %lld writes for changes of "
                            "accounts outside it (%s)",
                            (long long)json_integer_value(
                                json_object_get(dom, "outside_changed")),
                            (long long)json_integer_value(
                                json_object_get(dom, "outside_writes")),
                            json_string_value(json_object_get(dom, "spec")));
                expect_add(
                    exp, failed, "replay rebuilds the CRM's state",
                    json_is_true(json_object_get(replay, "matches_oracle")),
                    "%s in %.2f s",
                    json_is_true(json_object_get(replay, "matches_oracle"))
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
                expect_add(
                    exp, failed, "replay performed", 0, "%s",
                    json_string_value(json_object_get(replay, "reason")));
        }
}

/* What every run must show: each fault performed, records keyed by
 * account, a complete history, fault commands that worked and processes
 * that stayed up. */
static void run_health_expects(struct run *r, const json_t *log,
                               struct expectations *exp, int *failed)
{
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
                json_int_t mis =
                    json_integer_value(json_object_get(log, "misrouted"));
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
        if (r->unexpected_exits) {
                const struct child_exit *x  = &r->exits[0];
                json_t                  *ps = run_exits_json(r);
                expect_add(exp, failed, CRMSYNC_EXPECT_PROCESSES_UP, 0,
                           "%s %s at %.1f s; %d unexpected exits (see "
                           "process_exits)",
                           x->child,
                           json_string_value(json_object_get(
                               json_array_get(ps, 0), "status")),
                           (double)(x->mono - r->t0_mono) / 1000.0,
                           r->unexpected_exits);
                json_decref(ps);
        }
}

json_t *run_expectations(struct run *r, const struct check_result *res,
                         const json_t *timing, const json_t *log,
                         const json_t *replay, struct expectations *exp,
                         int *failed)
{
        const struct scenario_expect *e = &r->sc->expect;
        json_t                       *anomalies;

        anomalies = anomaly_expects(e, res, exp, failed);
        convergence_expect(r, timing, exp, failed);
        freshness_expect(exp, failed, json_object_get(timing, "freshness"),
                         "freshness p99", e->freshness_p99_ms_max);
        freshness_expect(exp, failed,
                         json_object_get(json_object_get(timing, "freshness"),
                                         "steady_state"),
                         "steady-state freshness p99",
                         e->freshness_steady_p99_ms_max);
        recovery_expects(e, timing, exp, failed);
        replay_expects(e, replay, exp, failed);
        run_health_expects(r, log, exp, failed);
        return anomalies;
}
