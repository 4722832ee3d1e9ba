/* drain.h -- the broker-level figure of a replay: crmsync's own plain
 * consumer (assign, no group, no commits, no parsing) draining a range of
 * the changes topic, in the style of a backlog-drain benchmark. It does
 * the work a consumer must do and nothing more, so next to kcat reading
 * the same range it shows what the cluster gives, and next to the
 * pipeline's replay what the pipeline costs. */
#ifndef CRMSYNC_HARNESS_DRAIN_H
#define CRMSYNC_HARNESS_DRAIN_H

#include <stdint.h>
#include <stddef.h>

struct drain_result {
        uint64_t records, bytes; /* read (key + value bytes) */
        double   setup_s;        /* consumer created, ends looked up */
        double   seconds;        /* assign to the last record of the range */
        int      complete;       /* every partition read to its end */
};

/* Read partitions 0..partitions-1 of topic from start[p] (or the
 * beginning when start is NULL or start[p] < 0) to their end as of the
 * call, with the client properties of props_file. Bounded by timeout_ms.
 * Returns 0 (out filled; complete says whether the whole range came) or
 * -1 + errstr. */
int crmsync_drain_topic(const char *props_file, const char *topic,
                        int partitions, const int64_t *start, int timeout_ms,
                        struct drain_result *out, char *errstr,
                        size_t errstr_size);

#endif
