/* history.h -- the run's compact history and the history anomaly checks.
 *
 * Everything is indexed by the CRM commit sequence number (seq, 1-based)
 * and a record index (0-based, the workload's record order), so the checks
 * are O(1) per fact and memory is a few dozen bytes per change: no JSON,
 * no strings. Not thread-safe: feed it from one thread. */
#ifndef CRMSYNC_HISTORY_H
#define CRMSYNC_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "harness/checker.h"

typedef struct history history_t;

/* commits: number of committed changes (seqs 1..commits). records: number
 * of distinct records. max_facts caps observations and applies each
 * (0 = 8 x commits); facts past the cap are counted as dropped. NULL
 * when out of memory. The caller owns the result: free with
 * crmsync_history_destroy. */
history_t *crmsync_history_new(uint32_t commits, uint32_t records,
                               size_t max_facts);
void       crmsync_history_destroy(history_t *h); /* accepts NULL */

/* Change seq committed version of record. */
void crmsync_history_commit(history_t *h, uint32_t seq, uint32_t record,
                            uint32_t version);
/* The auditor saw seq at partition/offset of the changes topic. */
void crmsync_history_observe(history_t *h, uint32_t seq, int32_t partition,
                             int64_t offset);
/* seq was sent to the dead-letter topic. */
void crmsync_history_dead_letter(history_t *h, uint32_t seq);
/* What a sink write carries (flags of crmsync_history_apply). Both kinds
 * hold the record's whole state at their version, so they cover (supersede)
 * every older change of the record. */
#define HISTORY_WRITE_FULL 0x1   /* whole record: create, undelete, snapshot */
#define HISTORY_WRITE_DELETE 0x2 /* a delete (tombstone), merges' included */

/* The sink received a write of version of record carrying seq (0 when the
 * write carries no CRM event, e.g. a resync snapshot); applied=0 means it
 * was rejected as stale; flags: HISTORY_WRITE_*, 0 for a partial update. */
void crmsync_history_apply(history_t *h, uint32_t seq, uint32_t record,
                           uint32_t version, int applied, unsigned flags);
/* The side effect of seq was requested count times. */
void crmsync_history_side_effect(history_t *h, uint32_t seq, uint32_t count);

/* Names for anomaly examples: writes the record's "entity/id" (record) or
 * the change's event id (seq; record is then UINT32_MAX) into buf. Without
 * one, examples say "record #N" and "seq:N". */
typedef void (*history_name_fn)(void *opaque, uint32_t seq, uint32_t record,
                                char *buf, size_t size);
void crmsync_history_set_names(history_t *h, history_name_fn fn, void *opaque);

struct history_stats {
        uint64_t observed;       /* topic records seen */
        uint64_t log_duplicates; /* extra copies of an event in the log */
        uint64_t applies;
        uint64_t dropped_facts; /* over max_facts */
        uint64_t lost_before_topic, lost_after_topic;
};

/* Detect lost, reordered, duplicate_side_effect and dead_lettered; add
 * them to r, keyed by the record ("contact/C-000001" with names, else
 * "seq:N") and naming the change. Fills st when not NULL.
 *
 * lost: change seq (version v of record R) reached no sink write of its
 *       own, no full write or delete of R at a version >= v supersedes it
 *       (applied or rejected as stale), and the sink applied a later
 *       version of R (otherwise the end-state check reports R). Where:
 *       before the topic (never observed) or after it.
 * reordered: an applied write of R whose version is below a version of R
 *       already applied. */
int crmsync_history_check(history_t *h, struct check_result *r,
                          struct history_stats *st);

#endif
