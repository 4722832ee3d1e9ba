/* pilot_int.h -- shared by pilot.c (probe, suites, evidence) and
 * pilot_shadow.c (shadow mode). */
#ifndef CRMSYNC_PILOT_INT_H
#define CRMSYNC_PILOT_INT_H

#include <jansson.h>
#include <limits.h>

#include "harness/pilot.h"
#include "harness/scenario.h"
#include "harness/suite.h"

#define PILOT_MAX_DERIVED 64

struct pilot_target {
        const char             *label; /* "A" or "B" */
        struct scenario_target *t;
        char                    file[PATH_MAX]; /* absolute */
        char                    dir[PATH_MAX];  /* the pilot folder */
        char                   *derived[PILOT_MAX_DERIVED];
        int                     nderived;
        suite_t                *suite;
        int                     suite_rc;
        char                    suite_dir[PATH_MAX];
        json_t                 *probe;     /* compat.h result */
        json_t                 *runs;      /* run summaries of the suite */
        json_t                 *scale_out; /* null or its figures */
};

/* Shadow mode: scenario (the first pilot scenario) once, its CRM stream
 * sent to two pipelines at once, one per target; both sinks judged, then
 * compared record by record. Returns the result JSON ({"ok": bool, ...}),
 * or NULL + errstr when it could not run. */
json_t *crmsync_pilot_shadow(struct pilot_target *pt, const char *scenario,
                             const char *dir, const struct pilot_options *opt,
                             char *errstr, size_t errstr_size);

struct capacity_inputs;
/* The Cost line's figures (pilot_cost.c): for each target, the capacity
 * model with the load measured on its runs and the prices of the user's
 * capacity file (file, loaded into in). New reference. */
json_t *crmsync_pilot_cost(const char *file, const struct capacity_inputs *in,
                           const struct pilot_target *pt);

#endif
