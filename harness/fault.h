/* fault.h -- the one table of fault types (harness/fault.c).
 *
 * For each fault type the table holds its name, its parameters (type,
 * unit, default, range), the layer it acts on and its start and stop
 * hooks. The scenario loader validates faults from it, the run calls the
 * injectors through its hooks with the parameters made explicit (the
 * table's defaults filled in), and docs/scenario-format.md documents it
 * row for row (tests/unit/test_fault.c checks that). Adding a fault type:
 * docs/scenario-format.md, "Adding a fault type". */
#ifndef CRMSYNC_FAULT_H
#define CRMSYNC_FAULT_H

#include <jansson.h>
#include <stddef.h>

#define FAULT_MAX_PARAMS 4

enum fault_layer {
        FAULT_LAYER_CRM,
        FAULT_LAYER_SINK,
        FAULT_LAYER_KAFKA,
        FAULT_LAYER_PROCESS,
};

enum fault_ptype {
        FAULT_P_RATIO,
        FAULT_P_NUM,
        FAULT_P_INT,
        FAULT_P_STR,
        FAULT_P_BOOL
};

struct fault_param {
        const char      *name; /* NULL ends the list */
        enum fault_ptype type;
        const char      *unit;     /* NULL = none */
        double           min, max; /* numbers */
        const char      *choices;  /* strings: "a|b|c" */
        int              required;
        const char      *def;     /* JSON text; NULL = required or no default */
        const char      *def_doc; /* doc's default cell when def is NULL */
};

struct run; /* harness/run_int.h */

/* An injector: start or stop the fault on the run r. params holds every
 * parameter of the table, given or defaulted. Returns 0, or -1 with why
 * filled when the target cannot perform it (the fault is then skipped). */
typedef int (*fault_hook)(struct run *r, const char *type, const json_t *params,
                          char *why, size_t why_size);

/* Which injector starts and stops a fault type (fault_hooks.c). */
enum fault_injector {
        INJ_CRM,     /* the mock CRM's fault function */
        INJ_SINK,    /* the fake sink's fault function */
        INJ_KAFKA,   /* the cluster's fault function */
        INJ_CRASH,   /* kill a pipeline process, restart it later */
        INJ_PAUSE,   /* SIGSTOP / SIGCONT a pipeline process */
        INJ_CORRUPT, /* self-test: corrupt live sink records */
};

struct fault_type {
        const char         *name;
        enum fault_layer    layer;
        const char         *group; /* exclusive group; NULL = none */
        int                 needs_duration;
        int                 embedded_only; /* needs the embedded broker */
        struct fault_param  params[FAULT_MAX_PARAMS];
        enum fault_injector injector;
};

/* The hook that starts (on=1) or stops (on=0) faults of type ft, or NULL
 * when there is nothing to do (e.g. a crash has no stop). Defined in
 * fault_hooks.c, which links the run. */
fault_hook crmsync_fault_hook(const struct fault_type *ft, int on);

/* The i-th fault type (table order), NULL past the end. Static storage. */
const struct fault_type *crmsync_fault_at(size_t i);

/* The fault type named name, or NULL. Static storage. */
const struct fault_type *crmsync_fault_find(const char *name);

/* "crm", "sink", "kafka" or "process". Static storage. */
const char *crmsync_fault_layer_name(enum fault_layer layer);

/* The parameters to hand to the hooks: every table parameter given in
 * fault (the scenario's fault object), else its default; one without a
 * default stays absent. A new object the caller frees (json_decref), or
 * NULL when out of memory. */
json_t *crmsync_fault_params(const struct fault_type *ft, const json_t *fault);

/* The number param key of fault (given or the table's default), or dflt
 * when the type has no such parameter or it has no default. */
double crmsync_fault_num(const char *type, const json_t *fault, const char *key,
                         double dflt);

/* Row of docs/scenario-format.md's fault table for parameter idx of ft
 * (idx 0 for a type without parameters) into buf. Returns 0, or -1 when
 * idx is past the last parameter. */
int crmsync_fault_doc_row(const struct fault_type *ft, int idx, char *buf,
                          size_t size);

#endif
