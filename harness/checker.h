/* checker.h -- the verdict: compare the sink with the CRM's ground truth.
 *
 * End-state classes are counted per record (an account, contact,
 * opportunity or entitlement; docs/anomalies.md):
 *   missing     the CRM has it live; the sink has nothing live for it
 *   stale       the sink holds an older version
 *   zombie      deleted (or merged away) in the CRM, live in the sink
 *   divergent   same version, other content (fields or owning account),
 *               or a version the CRM never reached
 *   unexpected  live in the sink, never existed in the CRM
 * History classes (lost, duplicate_side_effect, reordered, dead_lettered)
 * are judged by history.h from the run's records. */
#ifndef CRMSYNC_CHECKER_H
#define CRMSYNC_CHECKER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crmsync/workload.h"

enum anomaly_class {
        ANOMALY_MISSING,
        ANOMALY_STALE,
        ANOMALY_ZOMBIE,
        ANOMALY_DIVERGENT,
        ANOMALY_UNEXPECTED,
        ANOMALY_LOST,
        ANOMALY_DUPLICATE_SIDE_EFFECT,
        ANOMALY_REORDERED,
        ANOMALY_DEAD_LETTERED,
        ANOMALY_CNT
};

/* "missing", "duplicate_side_effect", ... (static strings) */
const char *crmsync_anomaly_name(enum anomaly_class c);

/* One record as the sink holds it. All pointers borrowed for the duration
 * of crmsync_check_end_state. */
struct check_record {
        const char   *key; /* "contact/C-000001" */
        const char   *account_id;
        uint32_t      version;
        int           deleted;
        const json_t *fields;
};

#define CHECK_EXAMPLES_PER_CLASS 10

struct check_result {
        uint64_t counts[ANOMALY_CNT];
        uint64_t records_expected; /* live records in the CRM */
        uint64_t records_checked;  /* CRM records compared (live+deleted) */
        /* Up to CHECK_EXAMPLES_PER_CLASS examples per class:
         * {"missing":[{"key":..,"detail":..}], ...}. Owned; free with
         * crmsync_check_result_clear. */
        json_t *examples;
};

void crmsync_check_result_init(struct check_result *r);
void crmsync_check_result_clear(struct check_result *r);
/* Record one anomaly of class c for key (detail is printf-style). */
void crmsync_check_result_add(struct check_result *r, enum anomaly_class c,
                              const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
uint64_t crmsync_check_result_total(const struct check_result *r);

/* How long after a check to wait before the next one: floor_ms, or nine
 * times what the last check took (last_cost_ms) when that is more. A check
 * compares every record on the event loop the sink and the mock CRM
 * share; at a million changes one took seconds, and checking every
 * 250 ms starved them. So checking takes at most a tenth of the loop. */
int64_t crmsync_check_interval_ms(int64_t floor_ms, int64_t last_cost_ms);

/* Compare the sink's records (actual, cnt of them) with the workload's
 * final state. Adds end-state anomalies to r. Returns 0, -1 on OOM. */
int crmsync_check_end_state(const crm_workload_t      *w,
                            const struct check_record *actual, size_t cnt,
                            struct check_result *r, char *errstr,
                            size_t errstr_size);

#endif
