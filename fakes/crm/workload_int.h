/* workload_int.h -- internals of the workload generator shared by
 * workload.c (configuration, record index, log hash, accessors) and
 * workload_gen.c (the seeded operations that write the log). */
#ifndef CRMSYNC_WORKLOAD_INT_H
#define CRMSYNC_WORKLOAD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "crmsync/workload.h"

struct crm_workload {
        struct crm_workload_config cfg; /* effective (defaults applied) */
        struct crm_event          *events;
        size_t                     event_cnt, event_cap;
        struct crm_record         *records;
        size_t                     record_cnt, record_cap;
        const char               **rec_ids; /* by record index: its id,
                                             * in strs (events share it) */
        size_t                rec_ids_cap;
        struct workload_strs *strs;     /* the events' strings */
        uint32_t             *slots;    /* hash: record index + 1 */
        size_t                slot_cap; /* power of two */
        char                  sha_hex[65];
};

/* A copy of string s that lives until the workload is destroyed (the
 * events' ids), or NULL when out of memory. */
const char *workload_intern(crm_workload_t *w, const char *s);

/* The commit log hash's form of an event's fields text:
 * json_dumps(json_loads(fields_json), JSON_COMPACT | JSON_SORT_KEYS),
 * malloc'ed (NULL when the text does not load or out of memory). */
char *workload_fields_sorted(const char *fields_json);

/* Index record idx (already in w->records) for crmsync_workload_find.
 * Returns -1 when out of memory. */
int workload_index(crm_workload_t *w, uint32_t idx);

/* Fill w->events (allocated with room for w->cfg.changes) from w->cfg:
 * the initial creates, then the seeded mix. Returns -1 when out of
 * memory; w is then partly filled and only fit for destroy. */
int workload_gen_log(crm_workload_t *w);

#endif
