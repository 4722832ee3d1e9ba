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

/* Latency at quantile q (0..1) of s, counting the unseen changes as later
 * than every seen one. Returns 0 and sets *ms, or -1 when the quantile
 * falls among the unseen changes or s is empty. */
int crmsync_freshness_quantile(const struct freshness_stats *s, double q,
                               uint64_t *ms);

#endif
