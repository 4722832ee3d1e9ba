/* run_replay.c -- the replay phase: rebuild the sink from the run's first
 * offsets (whole or a bounded domain of accounts), time it, and check the
 * log's window and the rebuilt state. */
#include "run_int.h"

#include <sys/stat.h>

#include "harness/drain.h"

/* -- replay phase --------------------------------------------------------- */

static void count_side_effect(void *opaque, const char *event_id,
                              const char *kind, uint32_t count)
{
        (void)event_id;
        (void)kind;
        *(uint64_t *)opaque += count;
}

/* The replay profiler exited on its own: noted, and nothing will rebuild
 * the sink any more. */
static int replayer_exited(struct run *r)
{
        int pid = r->replayer.pid;
        if (!crmsync_child_reap(&r->replayer))
                return 0;
        run_note_exit(r, &r->replayer, pid);
        return 1;
}

/* The replay has stopped making progress: no write for settle_s since its
 * partitions were assigned, and its group has no lag left (a group that
 * is behind may be rebalancing or waiting out a dead member's session:
 * that is waited on, up to the deadline, as convergence does). The join
 * before the assignment is not idleness. */
static int replay_idle(struct run *r, int64_t now)
{
        char group[300];
        if (!r->replay_assigned) {
                if (access(r->replay_ready_path, F_OK) == -1) {
                        r->last_progress_mono = now;
                        return 0;
                }
                r->replay_assigned    = 1;
                r->last_progress_mono = now;
                return 0;
        }
        if (now - r->last_progress_mono < (int64_t)(r->sc->settle_s * 1000))
                return 0;
        snprintf(group, sizeof(group), "%s-replay", r->group_id);
        if (!run_group_lagging(r, group, now))
                return 1;
        if (!r->lag_wait_start_mono) {
                r->lag_wait_start_mono = now;
                run_progress(r,
                             "replay: no sink write for %.1f s, but group "
                             "%s still has lag %lld on %d partition(s): "
                             "waiting on it (up to the timeout)",
                             r->sc->settle_s, group, (long long)r->lag.total,
                             r->lag.partitions);
        }
        return 0;
}

static void replay_tick_cb(evutil_socket_t fd, short what, void *arg)
{
        struct run              *r   = arg;
        int64_t                  now = crmsync_mono_ms();
        const struct sink_apply *applies;
        size_t                   n = run_sink_applies(r, &applies);
        struct check_result      res;
        (void)fd;
        (void)what;

        if (n != r->last_apply_cnt) {
                r->last_apply_cnt     = n;
                r->last_progress_mono = now;
                if (now - r->last_check_mono <
                    crmsync_check_interval_ms(CHECK_BUSY_EVERY_MS,
                                              r->last_check_cost_ms)) {
                        /* Rebuilding: judge once the writes pause (the
                         * status line comes with the judging). */
                        run_check_writes(r);
                        return;
                }
        } else if (now - r->last_check_mono <
                   crmsync_check_interval_ms(0, r->last_check_cost_ms)) {
                run_check_writes(r);
                return;
        }
        r->last_check_mono = now;
        crmsync_check_result_init(&res);
        run_check_now(r, &res);
        run_status(r, 1, (long long)crmsync_check_result_total(&res));
        run_check_writes(r);
        if (crmsync_check_result_total(&res) == 0) {
                r->replay_matched = 1;
                event_base_loopexit(r->base, NULL);
        } else if (replayer_exited(r) || r->error[0] ||
                   now >= r->deadline_mono || replay_idle(r, now) ||
                   run_interrupted(r, "replay")) {
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
                            json_pack("{s:i, s:b, s:O}", "v", (int)sr->version,
                                      "deleted", sr->deleted, "fields",
                                      sr->fields));
}

static void compare_outside_cb(void *opaque, const struct sink_record *sr)
{
        struct domain_ctx *dc  = opaque;
        json_t            *was = json_object_get(dc->outside, sr->key);
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

/* A replay from a time needs the target's offset lookup by timestamp.
 * Returns NULL when it can go ahead (*events = records at or after it),
 * or the replay's "not performed" JSON with the reason. A target that
 * answers "no offset" for a partition whose records at or after the time
 * the auditor has read does not support the lookup. */
static json_t *replay_time_check(struct run *r, int64_t from_ts,
                                 uint64_t *events)
{
        const struct auditor_fact *facts;
        size_t nf = r->auditor ? crmsync_auditor_facts(r->auditor, &facts) : 0;
        int    np = r->sc->partitions;
        int64_t *off = calloc((size_t)np, sizeof(*off));
        char     errstr[256], why[512];
        json_t  *o = NULL;

        if (crmsync_cluster_is_embedded(r->cluster)) {
                free(off);
                return json_pack("{s:b, s:s}", "performed", 0, "reason",
                                 "replay by timestamp needs offset lookup by "
                                 "timestamp, which the embedded broker "
                                 "(librdkafka mock) does not support");
        }
        if (!off || crmsync_cluster_offsets_for_time(
                        r->cluster, from_ts, off, np, errstr, sizeof(errstr))) {
                free(off);
                return json_pack("{s:b, s:s}", "performed", 0, "reason",
                                 off ? errstr : "out of memory");
        }
        *events = 0;
        for (size_t i = 0; i < nf && !o; i++) {
                if (facts[i].dlq || facts[i].ts_ms < from_ts)
                        continue;
                (*events)++;
                if (facts[i].partition < np && off[facts[i].partition] < 0) {
                        snprintf(why, sizeof(why),
                                 "target '%s' found no offset at or after "
                                 "%lld on partition %d, which holds records "
                                 "from then: it does not support offset "
                                 "lookup by timestamp",
                                 r->sc->target->name, (long long)from_ts,
                                 (int)facts[i].partition);
                        o = json_pack("{s:b, s:s}", "performed", 0, "reason",
                                      why);
                }
        }
        free(off);
        return o;
}

/* The domain's accounts, one id a line, into run_dir/replay-accounts.txt
 * for an outside replay pipeline (CRMSYNC_REPLAY_ACCOUNTS_FILE): every
 * account of the workload (deleted and merged-away ones too) that the
 * domain contains, in id order. Returns the number written or -1. */
static long write_domain_accounts(struct run *r, const struct account_domain *d,
                                  char *path, size_t path_size)
{
        FILE *f;
        long  n = 0;

        snprintf(path, path_size, "%s/replay-accounts.txt", r->run_dir);
        if (!(f = fopen(path, "w")))
                return -1;
        for (size_t i = 0; i < crmsync_workload_record_cnt(r->wl); i++) {
                const struct crm_record *rec =
                    crmsync_workload_record(r->wl, i);
                if (rec->entity != CRM_ENTITY_ACCOUNT ||
                    !crmsync_domain_contains(d, rec->id))
                        continue;
                fprintf(f, "%s\n", rec->id);
                n++;
        }
        if (ferror(f)) { /* a full disk: not a partial list */
                fclose(f);
                return -1;
        }
        if (fclose(f))
                return -1;
        return n;
}

/* The broker-level figure: crmsync's own plain consumer draining the
 * range the replay read (the run's first offsets to the end). */
static json_t *replay_broker_drain(struct run *r)
{
        struct drain_result d;
        char                err[256];

        if (crmsync_drain_topic(crmsync_cluster_props(r->cluster), r->sc->topic,
                                crmsync_cluster_partitions(r->cluster),
                                crmsync_cluster_start_offsets(r->cluster),
                                120000, &d, err, sizeof(err)))
                return json_pack("{s:s}", "error", err);
        return json_pack("{s:I, s:I, s:f, s:f, s:o, s:b}", "records",
                         (json_int_t)d.records, "bytes", (json_int_t)d.bytes,
                         "setup_s", d.setup_s, "seconds", d.seconds,
                         "events_per_s",
                         d.complete && d.seconds > 0
                             ? json_real((double)d.records / d.seconds)
                             : json_null(),
                         "complete", d.complete);
}

/* Rebuild the sink from the run's first offsets (the topic's end at
 * set-up, which the replay profiler gets as CRMSYNC_START_OFFSETS: on a
 * shared cluster "earliest" means the earliest of this run) with a new
 * consumer group, and time it. The window check: a partition whose oldest
 * held offset is above the run's first one has lost records a full replay
 * needs (retention, or the embedded broker's 5 MiB cap), so the replay is
 * incomplete whatever it rebuilds. */
/* What one replay measured, phase by phase. */
struct replay_ctx {
        uint64_t          events;  /* records the replay reads */
        uint64_t          side;    /* side effects it re-sent */
        json_t           *missing; /* partitions that lost the run's start */
        struct domain_ctx dc;
        int               cleared;  /* records cleared for a domain replay */
        long              accounts; /* accounts in the domain, or -1 */
        char              accounts_path[600], ready_path[600];
        int64_t           start_wall, ready_wall, last_apply;
        size_t            applies_before;
        double            secs;
};

/* Records still held: those at or above each partition's oldest held
 * offset; a partition whose oldest held offset is past the run's first
 * goes into missing. */
static void replay_window(struct run *r, struct replay_ctx *x)
{
        const struct auditor_fact *facts;
        size_t nf = r->auditor ? crmsync_auditor_facts(r->auditor, &facts) : 0;
        const int64_t *start = crmsync_cluster_start_offsets(r->cluster);

        for (size_t i = 0; i < nf; i++)
                if (!facts[i].dlq &&
                    facts[i].offset >= crmsync_auditor_low_watermark(
                                           r->auditor, facts[i].partition))
                        x->events++;
        for (int p = 0; p < r->sc->partitions; p++) {
                int64_t lo    = r->auditor
                                    ? crmsync_auditor_low_watermark(r->auditor, p)
                                    : -1;
                int64_t first = start[p]; /* the run's first offset */
                if (lo > first)
                        json_array_append_new(
                            x->missing,
                            json_pack("{s:i, s:I, s:I}", "partition", p,
                                      "first_missing_offset", (json_int_t)first,
                                      "first_held_offset", (json_int_t)lo));
        }
}

/* Clear what the replay rebuilds: the domain's records (after a snapshot
 * of the others) or the whole sink. Returns NULL, or the reason the replay
 * cannot be performed. */
static json_t *replay_clear_sink(struct run *r, struct replay_ctx *x)
{
        const struct scenario_replay *rp = &r->sc->replay;
        char                          msg[256];

        if (!rp->domain) {
                if (rp->clear_sink)
                        run_sink_clear(r);
                return NULL;
        }
        if (crmsync_domain_parse(rp->domain, &x->dc.d, msg, sizeof(msg)))
                return json_pack("{s:b, s:s}", "performed", 0, "reason", msg);
        x->accounts = write_domain_accounts(r, &x->dc.d, x->accounts_path,
                                            sizeof(x->accounts_path));
        if (x->accounts < 0) {
                crmsync_domain_clear(&x->dc.d);
                return json_pack("{s:b, s:s}", "performed", 0, "reason",
                                 "cannot write replay-accounts.txt "
                                 "in the run folder");
        }
        x->dc.outside = json_object();
        run_sink_foreach(r, snapshot_outside_cb, &x->dc);
        x->cleared = run_sink_clear_if(r, in_domain_cb, &x->dc);
        return NULL;
}

/* Start the replay profiler in a group of its own and run the loop until
 * replay_tick_cb ends it. Returns NULL, or the reason it could not start. */
static json_t *replay_run_profiler(struct run *r, struct replay_ctx *x)
{
        const struct scenario_replay *rp = &r->sc->replay;
        const struct sink_apply      *ap;
        char                          group[300];
        struct event                 *tick;
        struct timeval                tv = {0, TICK_MS * 1000};

        run_status_replay_start(r);
        snprintf(group, sizeof(group), "%s-replay", r->group_id);
        run_setup_child(r, &r->replayer, "replay", &r->sc->profiler, group);
        /* The replay profiler creates it once its partitions are assigned:
         * its time stamp splits the replay into join and drain. */
        snprintf(x->ready_path, sizeof(x->ready_path), "%s/replay.ready",
                 r->run_dir);
        unlink(x->ready_path);
        crmsync_child_setenv(&r->replayer, "CRMSYNC_READY_FILE", x->ready_path);
        r->replay_ready_path   = x->ready_path;
        r->replay_assigned     = 0;
        r->lag_checked_mono    = 0; /* the replay group's, not the run's */
        r->lag_wait_start_mono = 0;
        if (rp->domain)
                crmsync_child_setenv(&r->replayer,
                                     "CRMSYNC_REPLAY_ACCOUNTS_FILE",
                                     x->accounts_path);
        r->phase              = PHASE_WAIT;
        r->last_apply_cnt     = 0;
        r->last_progress_mono = crmsync_mono_ms();
        r->deadline_mono =
            r->last_progress_mono +
            (int64_t)((r->sc->timeout_s > 0 ? r->sc->timeout_s : 120) * 1000);
        r->replay_start_mono = crmsync_mono_ms();
        x->start_wall        = crmsync_wall_ms();
        x->applies_before    = run_sink_applies(r, &ap);
        if (run_start_child(r, &r->replayer) == -1)
                return json_pack("{s:b, s:s}", "performed", 0, "reason",
                                 "the replay profiler could not start");
        tick = event_new(r->base, -1, EV_PERSIST, replay_tick_cb, r);
        event_add(tick, &tv);
        event_base_dispatch(r->base);
        event_free(tick);
        r->replay_done_mono = crmsync_mono_ms();
        run_stop_child_serving(r, &r->replayer, STOP_GRACE_MS);
        run_history(r, "replay_end", ",\"matched\":%s",
                    r->replay_matched ? "true" : "false");
        return NULL;
}

/* After the replay: side effects it re-sent (each repeats one already
 * sent), its duration, when it joined and when it last wrote. */
static void replay_measure(struct run *r, struct check_result *res,
                           struct replay_ctx *x)
{
        const struct sink_apply *ap;
        struct stat              rst;
        size_t                   na;

        run_sink_foreach_side_effect(r, count_side_effect, &x->side);
        if (x->side)
                crmsync_check_result_add(res, ANOMALY_DUPLICATE_SIDE_EFFECT,
                                         "replay",
                                         "the replay re-sent %llu side "
                                         "effects",
                                         (unsigned long long)x->side);
        x->secs = (double)(r->replay_done_mono - r->replay_start_mono) / 1000.0;
        if (stat(x->ready_path, &rst) == 0)
                x->ready_wall = (int64_t)rst.st_mtim.tv_sec * 1000 +
                                rst.st_mtim.tv_nsec / 1000000;
        na = run_sink_applies(r, &ap);
        for (size_t i = x->applies_before; i < na; i++)
                if (ap[i].wall_ms > x->last_apply)
                        x->last_apply = ap[i].wall_ms;
}

/* A domain replay: what it changed outside the domain. */
static void replay_check_outside(struct run *r, struct domain_ctx *dc)
{
        const struct sink_apply *ap;
        size_t                   na = run_sink_applies(r, &ap);

        /* A write for a change of an account outside the domain. (A record
         * moved out of the domain still gets writes for its changes from
         * before the move; those are in the domain, and the sink rejects
         * them as stale.) */
        for (size_t i = 0; i < na; i++) {
                uint64_t seq = run_event_seq(ap[i].event_id);
                if (seq && seq <= crmsync_workload_event_cnt(r->wl) &&
                    !crmsync_domain_contains(
                        &dc->d,
                        crmsync_workload_event(r->wl, seq - 1)->account_id))
                        dc->writes++;
        }
        run_sink_foreach(r, compare_outside_cb, dc);
        /* Outside records that vanished were touched too. */
        dc->changed += json_object_size(dc->outside);
        json_decref(dc->outside);
        crmsync_domain_clear(&dc->d);
}

/* The summary's timing.replay object (docs/summary.md). */
static json_t *replay_json(struct run *r, struct replay_ctx *x)
{
        const struct scenario_replay *rp   = &r->sc->replay;
        double                        secs = x->secs, join, drain;
        json_t                       *o    = json_pack(
                                     "{s:b, s:I, s:I, s:f, s:b, s:b, s:o, s:I}", "performed", 1,
                                     "events", (json_int_t)x->events, "bytes",
                                     (json_int_t)(r->auditor ? crmsync_auditor_bytes(r->auditor) : 0),
                                     "seconds", secs, "matches_oracle", r->replay_matched, "complete",
                                     json_array_size(x->missing) == 0, "missing", x->missing,
                                     "side_effects", (json_int_t)x->side);

        json_object_set_new(o, "events_per_s",
                            r->replay_matched && secs > 0
                                ? json_real((double)x->events / secs)
                                : json_null());
        /* join: replayer started -> partitions assigned; drain: assigned ->
         * its last sink write. */
        join  = x->ready_wall ? (double)(x->ready_wall - x->start_wall) / 1000.0
                              : -1;
        drain = x->ready_wall && x->last_apply > x->ready_wall
                    ? (double)(x->last_apply - x->ready_wall) / 1000.0
                    : -1;
        json_object_set_new(o, "join_s",
                            join >= 0 ? json_real(join) : json_null());
        json_object_set_new(o, "drain_s",
                            drain > 0 ? json_real(drain) : json_null());
        json_object_set_new(o, "drain_events_per_s",
                            r->replay_matched && drain > 0
                                ? json_real((double)x->events / drain)
                                : json_null());
        json_object_set_new(o, "broker", replay_broker_drain(r));
        json_object_set_new(o, "bytes_per_s",
                            r->replay_matched && secs > 0
                                ? json_real((double)json_integer_value(
                                                json_object_get(o, "bytes")) /
                                            secs)
                                : json_null());
        if (rp->domain)
                json_object_set_new(
                    o, "domain",
                    json_pack("{s:s, s:I, s:i, s:I, s:I, s:b}", "spec",
                              rp->domain, "accounts", (json_int_t)x->accounts,
                              "records_rebuilt", x->cleared, "outside_changed",
                              (json_int_t)x->dc.changed, "outside_writes",
                              (json_int_t)x->dc.writes, "outside_untouched",
                              x->dc.changed == 0 && x->dc.writes == 0));
        return o;
}

json_t *run_replay(struct run *r, struct check_result *res)
{
        const struct scenario_replay *rp = &r->sc->replay;
        struct replay_ctx             x  = {0};
        json_t                       *o;

        x.missing  = json_array();
        x.accounts = -1;
        replay_window(r, &x);
        if (!strcmp(rp->from, "timestamp")) {
                int64_t from_ts = r->t0_wall + (int64_t)(rp->from_s * 1000);
                json_t *why     = replay_time_check(r, from_ts, &x.events);
                if (why)
                        return why;
        }
        run_progress(r,
                     "replay: rebuilding the sink from the run's first "
                     "offsets (%llu records in the log)",
                     (unsigned long long)x.events);
        run_history(r, "replay_start", ",\"records\":%llu",
                    (unsigned long long)x.events);
        if ((o = replay_clear_sink(r, &x)) || (o = replay_run_profiler(r, &x)))
                return o;
        replay_measure(r, res, &x);
        if (rp->domain)
                replay_check_outside(r, &x.dc);
        o = replay_json(r, &x);
        run_progress(r, "replay: %s in %.2f s (%s)",
                     r->replay_matched ? "rebuilt" : "did not rebuild", x.secs,
                     json_array_size(x.missing)
                         ? "INCOMPLETE: the log lost records"
                         : "window complete");
        return o;
}
