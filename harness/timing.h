/* timing.h -- freshness, convergence and catch-up times, judged after the
 * run from the commit log and the sink's apply log. */
#ifndef CRMSYNC_TIMING_H
#define CRMSYNC_TIMING_H

#include <stddef.h>
#include <stdint.h>

#include "harness/histogram.h"

/* The facts the computation needs, as parallel arrays (borrowed). */
struct timing_facts {
        /* Committed changes in commit order. */
        const uint32_t *ev_record; /* record index */
        const uint32_t *ev_version;
        const int64_t  *ev_wall_ms; /* commit time */
        size_t          ev_cnt;
        /* Sink writes in apply order (rejected ones included). */
        const uint32_t *ap_record; /* UINT32_MAX = unknown record */
        const uint32_t *ap_version;
        const int64_t  *ap_wall_ms;
        const uint8_t  *ap_applied;
        size_t          ap_cnt;
        uint32_t        record_cnt;
        const uint8_t  *ap_delete; /* 1 = a delete; NULL = none is */
};

/* Seconds after t_ms until the sink held, for every record, a version at
 * least as new as the last one committed at or before t_ms (0 when it
 * already did). -1 when it never did, or on allocation failure. */
double crmsync_timing_convergence_s(const struct timing_facts *f, int64_t t_ms);

/* Freshness of a set of changes (docs/anomalies.md#freshness). */
struct freshness_stats {
        struct histogram seen;     /* latency (ms) of the changes seen */
        uint64_t         count;    /* seen + unseen */
        uint64_t         excluded; /* deleted before they could be seen */
        uint64_t         unseen;   /* never held at a version as new */
};

struct timing_freshness {
        struct freshness_stats whole;  /* every committed change */
        struct freshness_stats steady; /* committed at or after steady_from */
};

/* Freshness of every committed change (record R, version v, commit time
 * c): the time from c until the sink first held R at a version >= v, i.e.
 * the first applied write of R with version >= v, whether it was v's own
 * write or a later one that superseded v. A change whose first such write
 * is a delete of a later version (the record was deleted or merged away
 * before v could be seen) is excluded; one the sink never caught up with
 * is unseen (it counts, as later than any seen one). steady covers the
 * changes committed at or after steady_from_ms (warm-up excluded). O(changes
 * + writes). Returns 0, -1 on allocation failure. */
int crmsync_timing_freshness(const struct timing_facts *f,
                             int64_t                    steady_from_ms,
                             struct timing_freshness   *out);

/* Per committed change i, held_ms[i] (caller's array of f->ev_cnt): the
 * wall time the sink first held its record at a version >= its version
 * (never before the commit), or TIMING_UNSEEN, or TIMING_EXCLUDED (that
 * write deleted a later version: deleted or merged away before it could
 * be seen). Returns 0, -1 on allocation failure. */
#define TIMING_UNSEEN (-1)
#define TIMING_EXCLUDED (-2)
int crmsync_timing_held(const struct timing_facts *f, int64_t *held_ms);

/* Lag of the changes committed in [from_ms, to_ms]: the peak age of a
 * change the sink did not hold yet (its freshness), and the peak count
 * of such changes pending at one instant. */
struct timing_lag {
        int64_t  peak_age_ms;
        int64_t  peak_pending;
        uint64_t changes, unseen; /* unseen: never held, left out */
};
int crmsync_timing_peak_lag(const struct timing_facts *f, const int64_t *held,
                            int64_t from_ms, int64_t to_ms,
                            struct timing_lag *out);

/* Catch-up after a stage was stopped at stop_ms and back at back_ms
 * (docs/capacity.md): backlog = changes committed by back_ms that the sink
 * did not hold at back_ms; the catch-up change = the first change
 * committed after back_ms that reached the sink within caught_up_ms (its
 * freshness is normal again); drained = backlog + the changes committed
 * after back_ms up to the catch-up change; drain_s = (when the sink held
 * the last of them) - back_ms; drain_events_per_s = drained / (the
 * time from the first of them held after back_ms to the last: the rate
 * while draining, the stage's restart left out);
 * commit_rate_per_s = the changes committed while stopped / (back_ms -
 * stop_ms). drain_s is -1 when it never caught up. Returns 0, -1 on bad
 * input. */
struct timing_catch_up {
        uint64_t outage_commits, backlog, drained;
        double   drain_s, drain_events_per_s, commit_rate_per_s;
};
int crmsync_timing_catch_up(const struct timing_facts *f, const int64_t *held,
                            int64_t stop_ms, int64_t back_ms,
                            int64_t caught_up_ms, struct timing_catch_up *out);

/* Latency at quantile q (0..1) of s, counting the unseen changes as later
 * than every seen one. Returns 0 and sets *ms, or -1 when the quantile
 * falls among the unseen changes or s is empty. */
int crmsync_freshness_quantile(const struct freshness_stats *s, double q,
                               uint64_t *ms);

#endif
