/* pilot_report.h -- the pilot's scorecard: six lines (Compatibility,
 * Elasticity, Cost, Governance, Recovery, Migration), each with target A,
 * target B, the ratio B/A, which is better and links to the evidence, then
 * a runbook (what changed, what stayed the same, which failure modes were
 * easier to explain on which) and the side-by-side table of `crmsync
 * compare`. Pure functions over pilot.json (harness/pilot.c). */
#ifndef CRMSYNC_PILOT_REPORT_H
#define CRMSYNC_PILOT_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* The scorecard of a pilot: {"lines": [{"title", "rows": [{"figure",
 * "unit", "a", "b", "ratio", "better", "evidence": [{"label", "href"}]}],
 * "notes": [...]}], "runbook": {"changed": [...], "same": [...],
 * "easier": [...]}}. "better" is "A", "B", "same" or "" (not comparable).
 * New reference. */
json_t *crmsync_pilot_scorecard(const json_t *pilot);

/* Which sink is current, from a run summary's "offsets" object
 * (harness/offsets.h), into buf: "current: p0 611 (end 612), ..." or
 * "BEHIND: p2 by 5 (applied 606, end 612); current: p0, p1". Returns 0
 * when current, 1 when behind, -1 when not recorded or unknown. */
int crmsync_pilot_offsets_text(const json_t *off, char *buf, size_t size);

/* Write report.md and report.html into dir. Returns 0 or -1 + errstr
 * naming the file. */
int crmsync_pilot_report_write(const json_t *pilot, const char *dir,
                               char *errstr, size_t errstr_size);

#endif
