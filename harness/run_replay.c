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
                if (now - r->last_check_mono < CHECK_BUSY_EVERY_MS) {
                        /* Rebuilding: judge once the writes pause (the
                         * status line comes with the judging). */
                        run_check_writes(r);
                        return;
                }
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
                   now >= r->deadline_mono ||
                   now - r->last_progress_mono >=
                       (int64_t)(r->sc->settle_s * 1000) ||
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
json_t *run_replay(struct run *r, struct check_result *res)
{
        const struct scenario_replay *rp = &r->sc->replay;
        const struct auditor_fact    *facts;
        size_t nf = r->auditor ? crmsync_auditor_facts(r->auditor, &facts) : 0;
        uint64_t          events = 0, side = 0;
        int64_t           from_ts = r->t0_wall + (int64_t)(rp->from_s * 1000);
        json_t           *missing = json_array(), *o;
        char              group[300];
        struct event     *tick;
        struct timeval    tv = {0, TICK_MS * 1000};
        double            secs;
        struct domain_ctx dc      = {0};
        int               cleared = 0;
        const int64_t    *start   = crmsync_cluster_start_offsets(r->cluster);
        char              accounts_path[600], ready_path[600];
        long              accounts = -1;
        int64_t           start_wall, ready_wall = 0, last_apply = 0;
        size_t            applies_before;
        struct stat       rst;

        /* Records still held: those at or above each partition's oldest
         * held offset. */
        for (size_t i = 0; i < nf; i++)
                if (!facts[i].dlq &&
                    facts[i].offset >= crmsync_auditor_low_watermark(
                                           r->auditor, facts[i].partition))
                        events++;
        for (int p = 0; p < r->sc->partitions; p++) {
                int64_t lo    = r->auditor
                                    ? crmsync_auditor_low_watermark(r->auditor, p)
                                    : -1;
                int64_t first = start[p]; /* the run's first offset */
                if (lo > first)
                        json_array_append_new(
                            missing,
                            json_pack("{s:i, s:I, s:I}", "partition", p,
                                      "first_missing_offset", (json_int_t)first,
                                      "first_held_offset", (json_int_t)lo));
        }
        if (!strcmp(rp->from, "timestamp")) {
                json_t *why = replay_time_check(r, from_ts, &events);
                if (why)
                        return why;
        }

        run_progress(r,
                     "replay: rebuilding the sink from the run's first "
                     "offsets (%llu records in the log)",
                     (unsigned long long)events);
        run_history(r, "replay_start", ",\"records\":%llu",
                    (unsigned long long)events);
        if (rp->domain) {
                char msg[256];
                if (crmsync_domain_parse(rp->domain, &dc.d, msg, sizeof(msg)))
                        return json_pack("{s:b, s:s}", "performed", 0, "reason",
                                         msg);
                accounts = write_domain_accounts(r, &dc.d, accounts_path,
                                                 sizeof(accounts_path));
                if (accounts < 0) {
                        crmsync_domain_clear(&dc.d);
                        return json_pack("{s:b, s:s}", "performed", 0, "reason",
                                         "cannot write replay-accounts.txt "
                                         "in the run folder");
                }
                dc.outside = json_object();
                crmsync_sink_foreach(r->sink, snapshot_outside_cb, &dc);
                cleared = crmsync_sink_clear_if(r->sink, in_domain_cb, &dc);
        } else if (rp->clear_sink) {
                crmsync_sink_clear(r->sink);
        }
        run_status_replay_start(r);
        snprintf(group, sizeof(group), "%s-replay", r->group_id);
        run_setup_child(r, &r->replayer, "replay", &r->sc->profiler, group);
        /* The replay profiler creates it once its partitions are assigned:
         * its time stamp splits the replay into join and drain. */
        snprintf(ready_path, sizeof(ready_path), "%s/replay.ready", r->run_dir);
        unlink(ready_path);
        crmsync_child_setenv(&r->replayer, "CRMSYNC_READY_FILE", ready_path);
        if (rp->domain)
                crmsync_child_setenv(&r->replayer,
                                     "CRMSYNC_REPLAY_ACCOUNTS_FILE",
                                     accounts_path);
        r->phase              = PHASE_WAIT;
        r->last_apply_cnt     = 0;
        r->last_progress_mono = crmsync_mono_ms();
        r->deadline_mono =
            r->last_progress_mono +
            (int64_t)((r->sc->timeout_s > 0 ? r->sc->timeout_s : 120) * 1000);
        r->replay_start_mono = crmsync_mono_ms();
        start_wall           = crmsync_wall_ms();
        {
                const struct sink_apply *ap;
                applies_before = crmsync_sink_applies(r->sink, &ap);
        }
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

        /* Every side effect during a rebuild repeats one already sent. */
        crmsync_sink_foreach_side_effect(r->sink, count_side_effect, &side);
        if (side)
                crmsync_check_result_add(res, ANOMALY_DUPLICATE_SIDE_EFFECT,
                                         "replay",
                                         "the replay re-sent %llu side "
                                         "effects",
                                         (unsigned long long)side);
        secs = (double)(r->replay_done_mono - r->replay_start_mono) / 1000.0;
        if (stat(ready_path, &rst) == 0)
                ready_wall = (int64_t)rst.st_mtim.tv_sec * 1000 +
                             rst.st_mtim.tv_nsec / 1000000;
        {
                const struct sink_apply *ap;
                size_t na = crmsync_sink_applies(r->sink, &ap);
                for (size_t i = applies_before; i < na; i++)
                        if (ap[i].wall_ms > last_apply)
                                last_apply = ap[i].wall_ms;
        }
        if (rp->domain) {
                const struct sink_apply *ap;
                size_t na = crmsync_sink_applies(r->sink, &ap);
                /* A write for a change of an account outside the domain.
                 * (A record moved out of the domain still gets writes for
                 * its changes from before the move; those are in the
                 * domain, and the sink rejects them as stale.) */
                for (size_t i = 0; i < na; i++) {
                        uint64_t seq = run_event_seq(ap[i].event_id);
                        if (seq && seq <= crmsync_workload_event_cnt(r->wl) &&
                            !crmsync_domain_contains(
                                &dc.d, crmsync_workload_event(r->wl, seq - 1)
                                           ->account_id))
                                dc.writes++;
                }
                crmsync_sink_foreach(r->sink, compare_outside_cb, &dc);
                /* Outside records that vanished were touched too. */
                dc.changed += json_object_size(dc.outside);
                json_decref(dc.outside);
                crmsync_domain_clear(&dc.d);
        }
        o = json_pack(
            "{s:b, s:I, s:I, s:f, s:b, s:b, s:o, s:I}", "performed", 1,
            "events", (json_int_t)events, "bytes",
            (json_int_t)(r->auditor ? crmsync_auditor_bytes(r->auditor) : 0),
            "seconds", secs, "matches_oracle", r->replay_matched, "complete",
            json_array_size(missing) == 0, "missing", missing, "side_effects",
            (json_int_t)side);
        json_object_set_new(o, "events_per_s",
                            r->replay_matched && secs > 0
                                ? json_real((double)events / secs)
                                : json_null());
        /* join: replayer started -> partitions assigned; drain: assigned ->
         * its last sink write. */
        {
                double join  = ready_wall
                                   ? (double)(ready_wall - start_wall) / 1000.0
                                   : -1;
                double drain = ready_wall && last_apply > ready_wall
                                   ? (double)(last_apply - ready_wall) / 1000.0
                                   : -1;
                json_object_set_new(o, "join_s",
                                    join >= 0 ? json_real(join) : json_null());
                json_object_set_new(o, "drain_s",
                                    drain > 0 ? json_real(drain) : json_null());
                json_object_set_new(o, "drain_events_per_s",
                                    r->replay_matched && drain > 0
                                        ? json_real((double)events / drain)
                                        : json_null());
        }
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
                              rp->domain, "accounts", (json_int_t)accounts,
                              "records_rebuilt", cleared, "outside_changed",
                              (json_int_t)dc.changed, "outside_writes",
                              (json_int_t)dc.writes, "outside_untouched",
                              dc.changed == 0 && dc.writes == 0));
        run_progress(r, "replay: %s in %.2f s (%s)",
                     r->replay_matched ? "rebuilt" : "did not rebuild", secs,
                     json_array_size(missing)
                         ? "INCOMPLETE: the log lost records"
                         : "window complete");
        return o;
}
