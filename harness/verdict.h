/* verdict.h -- the verdict of a scenario that must fail (expect.verdict
 * "fail"): it passes when the run failed in the expected way, and only
 * that way. */
#ifndef CRMSYNC_VERDICT_H
#define CRMSYNC_VERDICT_H

#include <jansson.h>

#include "harness/scenario.h"

/* Judge summary (a finished run's summary.json object, modified in place)
 * against mf. failed is the run's own outcome (1 = some expectation
 * failed). When mf is not enabled, returns failed and leaves summary alone.
 * Otherwise: every failed expectation that the expected failure explains
 * (the anomaly bounds of the classes in anomalies_at_least, the names in
 * failing, the classes or names in may_also_fail, and "converged
 * within" when the sink holds end-state anomalies,
 * which their own bounds judge) is kept with "expected_failure": true and
 * counted as ok; one expectation per anomalies_at_least entry and per failing
 * name is added; summary gets "run_verdict" (the verdict before) and
 * "expected_failure" {anomalies_at_least, failing, found, other_failures,
 * caught}; "verdict" becomes "pass" when caught and nothing else failed.
 * Returns 0 for that pass, 1 otherwise. */
int crmsync_verdict_apply(const struct scenario_must_fail *mf, json_t *summary,
                          int failed);

#endif
