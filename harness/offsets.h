/* offsets.h -- which downstream systems are current: for each partition
 * of the changes topic, the highest offset whose record the sink handled
 * (applied, or rejected as stale) against the partition's log end, as the
 * judge read it. The pilot's Recovery line shows it per sink. */
#ifndef CRMSYNC_HARNESS_OFFSETS_H
#define CRMSYNC_HARNESS_OFFSETS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crmsync/sink.h"
#include "harness/auditor.h"

/* The summary's "offsets" object (new reference):
 *   {"partitions": [{"partition", "start", "log_end", "highest_applied",
 *                    "behind"}...], "current": bool, "behind_total",
 *    "behind_partitions"}
 * start[p] is the run's first offset (the end as of set-up), ends[p] the
 * log end (high watermark) read after the pipeline stopped. A record's
 * offsets come from the auditor's facts (its copy of the topic; DLQ facts
 * are left out), matched to the sink's apply log by event id; a record
 * read more than once counts at its highest offset. behind is the number
 * of offsets from the highest applied one to the last of the log (0 when
 * the run wrote nothing there). */
json_t *crmsync_offsets_current(int partitions, const int64_t *start,
                                const int64_t             *ends,
                                const struct auditor_fact *facts, size_t nf,
                                const struct sink_apply *applies, size_t na);

#endif
