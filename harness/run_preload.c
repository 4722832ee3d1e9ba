/* run_preload.c -- `crmsync run --preload`: the workload's changes go
 * straight to the topic (harness/preload.c) instead of through the CRM
 * and the connector, then the scenario's replay rebuilds the sink from
 * them and is judged as any replay: against the CRM's final state, with
 * the history checks over the topic and the replay's writes. Used by
 * `crmsync capacity --history` to build large histories quickly. */
#include "run_int.h"

#include "harness/preload.h"

json_t *run_preload(struct run *r, int *failed)
{
        struct preload_result pr;
        struct check_result   res;
        struct expectations   exp = {0};
        json_t               *log, *timing, *replay, *summary;
        char                  err[512];

        run_progress(r, "preload: producing %zu changes to %s",
                     crmsync_workload_event_cnt(r->wl), r->sc->topic);
        run_history(r, "preload_start", "%s", "");
        if (crmsync_preload_produce(crmsync_cluster_props(r->cluster),
                                    r->sc->topic, r->wl, r->t0_wall, 300000,
                                    &pr, err, sizeof(err))) {
                run_fail(r, "set-up", "%s", err);
                return NULL;
        }
        run_history(r, "preload_end", ",\"records\":%llu",
                    (unsigned long long)pr.records);
        run_progress(r, "preload: %llu records (%llu bytes) in %.2f s",
                     (unsigned long long)pr.records,
                     (unsigned long long)pr.bytes, pr.seconds);
        crmsync_probe_stop(r->probe);
        if (r->auditor)
                crmsync_auditor_finish(r->auditor, 10000);
        crmsync_check_result_init(&res);
        replay = run_replay(r, &res);
        /* The end state is the replay's; the history is the topic and the
         * replay's writes. */
        run_check_now(r, &res);
        log               = run_history_checks(r, &res);
        r->converged      = r->replay_matched;
        r->converged_mono = r->replay_done_mono;
        timing            = json_pack(
                       "{s:{s:I, s:I, s:I, s:f, s:f}, s:b, s:f, s:f}", "preload",
                       "records", (json_int_t)pr.records, "bytes", (json_int_t)pr.bytes,
                       "moves_resolved", (json_int_t)pr.moves, "seconds", pr.seconds,
                       "records_per_s", pr.seconds > 0 ? pr.records / pr.seconds : 0.0,
                       "converged", r->replay_matched, "convergence_s", 0.0, "run_s",
                       (double)(crmsync_mono_ms() - r->t0_mono) / 1000.0);
        summary = run_build_summary(r, &res, timing, log, replay, &exp, failed);
        if (summary)
                json_object_set_new(summary, "preload", json_true());
        crmsync_expectations_clear(&exp);
        crmsync_check_result_clear(&res);
        return summary;
}
