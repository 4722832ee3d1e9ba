/* preload.h -- build a history fast: produce a workload's changes straight
 * to the changes topic at producer speed, in the envelope the reference
 * connector produces (docs/wire-contracts.md#kafka-record-connector---
 * profiler), so that a replay of it is judged like any other against the
 * CRM's final state. Written here, not shared with pipeline/: the judge
 * never reuses the system under test's code. */
#ifndef CRMSYNC_HARNESS_PRELOAD_H
#define CRMSYNC_HARNESS_PRELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "crmsync/workload.h"

struct preload_result {
        uint64_t records, bytes; /* produced (key + value bytes) */
        uint64_t moves;          /* moves resolved to the full record */
        double   seconds;        /* first produce to the last delivery */
};

/* Produce every change of wl (commit_ts_ms = start_wall_ms + its commit
 * offset) to topic with the client properties of props_file, key =
 * account id, headers event_id and schema_version, value = the CRM event
 * plus "connector":{"ingest_ts_ms":..,"via":"preload"}. A move (an update
 * with previous_account_id) is resolved as the connector resolves it by
 * reading the object, here from the record's final state: all fields,
 * "resolved_move" and "full_state" true. Bounded by timeout_ms. Returns 0
 * (every record delivered) or -1 + errstr. */
int crmsync_preload_produce(const char *props_file, const char *topic,
                            const crm_workload_t *wl, int64_t start_wall_ms,
                            int timeout_ms, struct preload_result *out,
                            char *errstr, size_t errstr_size);

#endif
