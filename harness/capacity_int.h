/* capacity_int.h -- internals shared by capacity.c (the runs) and
 * capacity_figures.c (what is computed from them). One thread. */
#ifndef CRMSYNC_CAPACITY_INT_H
#define CRMSYNC_CAPACITY_INT_H

#include "harness/capacity.h"

#include <stdint.h>

#include "crmsync/json_util.h"
#include "harness/capacity_model.h"
#include "harness/scenario.h"

/* The embedded broker keeps at most this much per partition (DESIGN.md). */
#define CAPACITY_EMBEDDED_CAP_BYTES (5.0 * 1024 * 1024)
#define CAPACITY_EMBEDDED_CAP_SETS 100000.0
/* Machine CPU busy share at or above which a point was CPU-bound. */
#define CAPACITY_CPU_SATURATED 0.90

struct cap {
        const struct capacity_options *o;
        char                           dir[512];
        json_t                        *base; /* the scenario file's JSON */
        struct scenario               *sc;   /* the same, loaded */
        double                         min_changes; /* initial creates */
        int64_t                        start_mono;
        json_t                        *out;     /* capacity.json */
        json_t                        *skipped; /* [{what, reason}] */
        int                            stop;    /* interrupted */
        struct capacity_inputs         in;      /* the capacity file */
        int                            have_in;
};

void cap_progress(struct cap *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cap_skip(struct cap *c, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* capacity_figures.c: each adds its part to c->out. */
void cap_catch_up_validation(struct cap *c, json_t *cu);
void cap_history_fit(struct cap *c, json_t *hist);
int  cap_production(struct cap *c, char *errstr, size_t errstr_size);
void cap_limits(struct cap *c);

#endif
