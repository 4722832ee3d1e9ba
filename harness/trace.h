/* trace.h -- lineage: follow one CRM change, or every change of one account,
 * through a finished run's records (history.jsonl, profiler-reads.tsv). */
#ifndef CRMSYNC_TRACE_H
#define CRMSYNC_TRACE_H

#include <stdio.h>

/* Print the lineage of event_id (or, when account_id is set instead, of
 * every change of that account, moves into and out of it included) from
 * run_dir to out. Returns the number of changes traced (0 = none found),
 * or -1 + errstr when the run folder cannot be read. */
int crmsync_trace(const char *run_dir, const char *event_id,
                  const char *account_id, FILE *out, char *errstr,
                  size_t errstr_size);

#endif
