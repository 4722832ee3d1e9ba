/* verdict.h -- the verdict of a scenario that must fail (expect.verdict
 * "fail"): it passes when the run failed in the expected way, and only
 * that way. */
#ifndef CRMSYNC_VERDICT_H
#define CRMSYNC_VERDICT_H

#include <jansson.h>

#include <stdint.h>

#include "harness/checker.h"
#include "harness/scenario.h"

/* One expectation as the run judged it: a row of summary.json's
 * "expectations". anomaly is the class it bounds ("anomalies.X <= n"), or
 * -1: the verdict reads it, never the name. */
struct expectation {
        char name[128];
        char detail[512];
        int  ok;
        int  anomaly;
        int  expected_failure; /* set by crmsync_verdict_apply */
};

/* The run's expectations in summary order; zero-initialise, then add. */
struct expectations {
        struct expectation *v;
        size_t              cnt, cap;
};

/* Append a row (name and detail copied, truncated to their fields).
 * Returns 0, or -1 when out of memory (the row is lost). */
int crmsync_expectations_add(struct expectations *x, const char *name, int ok,
                             int anomaly, const char *detail);
/* The rows as summary.json "expectations": a new array, the caller owns
 * it. */
json_t *crmsync_expectations_json(const struct expectations *x);
/* Free the rows; x can be added to again. */
void crmsync_expectations_clear(struct expectations *x);

/* Judge the run's expectations x (the anomaly counts of every class in
 * counts) against mf, a scenario that must fail. failed is the run's own
 * outcome (1 = some expectation failed). When mf is not enabled, returns
 * failed and leaves x and summary alone. Otherwise: every failed
 * expectation that the expected failure explains (the anomaly bounds of
 * the classes in anomalies_at_least, the names in failing, the classes or
 * names in may_also_fail, and "converged within" when the sink holds
 * end-state anomalies, which their own bounds judge) is kept with
 * expected_failure set and counted as ok; one expectation per
 * anomalies_at_least entry and per failing name is added to x; summary
 * (a finished run's summary.json object) gets "expectations" rewritten
 * from x, "run_verdict" (the verdict before) and "expected_failure"
 * {anomalies_at_least, failing, found, other_failures, caught};
 * "verdict" becomes "pass" when caught and nothing else failed. Returns
 * 0 for that pass, 1 otherwise. */
int crmsync_verdict_apply(const struct scenario_must_fail *mf,
                          struct expectations *x, const uint64_t *counts,
                          json_t *summary, int failed);

#endif
