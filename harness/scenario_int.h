/* scenario_int.h -- internals of the scenario loader shared by scenario.c
 * (sections and faults), scenario_vctx.c (typed field readers),
 * scenario_expect.c (the expect section), scenario_check.c (checks across
 * sections) and scenario_target.c (external target files). */
#ifndef CRMSYNC_SCENARIO_INT_H
#define CRMSYNC_SCENARIO_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/jsonpos.h"
#include "harness/scenario.h"

#define SCENARIO_MAX_BYTES (1 << 20)

/* Validation context: every error names file:line:column and the path. */
struct vctx {
        const char *file;
        jsonpos_t  *jp;
        char       *errstr;
        size_t      errstr_size;
        int         failed;
};

/* Record the first error as "file:line:column: path: message" (the
 * position of path, or of its key when want_key). Returns -1. */
__attribute__((format(printf, 4, 5))) int scenario_err(struct vctx *c,
                                                       const char  *path,
                                                       int          want_key,
                                                       const char  *fmt, ...);
/* out = parent.key (or key at the root). */
void scenario_join(char *out, size_t size, const char *parent, const char *key);
/* "an object", "a string", ... for error messages; a static string. */
const char *scenario_type_name(const json_t *v);
/* Unknown keys are errors: known is a NULL-terminated list. */
int scenario_check_known(struct vctx *c, json_t *obj, const char *path,
                         const char *const *known);

/* Typed readers of obj.key: an absent key leaves *out as it is; a wrong
 * type or a value out of [min, max] is an error naming path.key. Each
 * returns 0 or -1. */
int scenario_get_obj(struct vctx *c, json_t *obj, const char *path,
                     const char *key, json_t **out);
int scenario_get_num(struct vctx *c, json_t *obj, const char *path,
                     const char *key, double *out, double min, double max);
int scenario_get_u64(struct vctx *c, json_t *obj, const char *path,
                     const char *key, uint64_t *out, uint64_t min,
                     uint64_t max);
int scenario_get_u32(struct vctx *c, json_t *obj, const char *path,
                     const char *key, uint32_t *out, uint32_t min,
                     uint32_t max);
int scenario_get_int(struct vctx *c, json_t *obj, const char *path,
                     const char *key, int *out, int min, int max);
int scenario_get_bool(struct vctx *c, json_t *obj, const char *path,
                      const char *key, int *out);
/* choices is "a|b|c" or NULL for any string shorter than out_size. */
int scenario_get_str(struct vctx *c, json_t *obj, const char *path,
                     const char *key, char *out, size_t out_size,
                     const char *choices);
/* A non-empty string, strdup'ed into *out (the old *out is freed). */
int scenario_get_strdup(struct vctx *c, json_t *obj, const char *path,
                        const char *key, char **out);

/* The expect section (obj may be NULL) into e. */
int scenario_load_expect(struct vctx *c, json_t *obj,
                         struct scenario_expect *e);

/* Checks across sections, run by the loader once a section is read:
 * what the run itself would only find out too late. eff is the workload
 * with its defaults applied (filled by scenario_check_workload). */
int scenario_check_workload(struct vctx *c, json_t *root, struct scenario *sc,
                            struct crm_workload_config *eff);
int scenario_check_topic(struct vctx *c, const struct scenario *sc);
int scenario_check_overlaps(struct vctx *c, struct scenario *sc);
int scenario_check_faults(struct vctx *c, const struct scenario *sc,
                          const struct crm_workload_config *eff);
int scenario_check_replay(struct vctx *c, json_t *root,
                          const struct scenario            *sc,
                          const struct crm_workload_config *eff);
int scenario_check_expect(struct vctx *c, const struct scenario *sc);

#endif
