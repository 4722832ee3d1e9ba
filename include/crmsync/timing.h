/* timing.h -- convergence and catch-up times, judged after the run from the
 * commit log and the sink's apply log. */
#ifndef CRMSYNC_TIMING_H
#define CRMSYNC_TIMING_H

#include <stddef.h>
#include <stdint.h>

/* The facts the computation needs, as parallel arrays (borrowed). */
struct timing_facts {
        /* Committed changes in commit order. */
        const uint32_t *ev_record;  /* record index */
        const uint32_t *ev_version;
        const int64_t  *ev_wall_ms; /* commit time */
        size_t          ev_cnt;
        /* Sink writes in apply order (rejected ones included). */
        const uint32_t *ap_record;  /* UINT32_MAX = unknown record */
        const uint32_t *ap_version;
        const int64_t  *ap_wall_ms;
        const uint8_t  *ap_applied;
        size_t          ap_cnt;
        uint32_t        record_cnt;
};

/* Seconds after t_ms until the sink held, for every record, a version at
 * least as new as the last one committed at or before t_ms (0 when it
 * already did). -1 when it never did, or on allocation failure. */
double crmsync_timing_convergence_s(const struct timing_facts *f,
                                    int64_t t_ms);

#endif
