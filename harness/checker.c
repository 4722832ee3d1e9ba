/* checker.c -- end-state and history anomaly detection. */
#include "harness/checker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/strmap.h"

static const char *anomaly_names[ANOMALY_CNT] = {
    "missing",
    "stale",
    "zombie",
    "divergent",
    "unexpected",
    "lost",
    "duplicate_side_effect",
    "reordered",
    "dead_lettered",
};

const char *crmsync_anomaly_name(enum anomaly_class c)
{
        return c < ANOMALY_CNT ? anomaly_names[c] : "?";
}

void crmsync_check_result_init(struct check_result *r)
{
        memset(r, 0, sizeof(*r));
        r->examples = json_object();
}

void crmsync_check_result_clear(struct check_result *r)
{
        json_decref(r->examples);
        memset(r, 0, sizeof(*r));
}

void crmsync_check_result_add(struct check_result *r, enum anomaly_class c,
                              const char *key, const char *fmt, ...)
{
        char    detail[512];
        va_list ap;
        json_t *arr;

        r->counts[c]++;
        if (!r->examples)
                return;
        arr = json_object_get(r->examples, anomaly_names[c]);
        if (!arr) {
                arr = json_array();
                json_object_set_new(r->examples, anomaly_names[c], arr);
        }
        if (json_array_size(arr) >= CHECK_EXAMPLES_PER_CLASS)
                return;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        json_array_append_new(
            arr, json_pack("{s:s, s:s}", "key", key, "detail", detail));
}

uint64_t crmsync_check_result_total(const struct check_result *r)
{
        uint64_t t = 0;
        for (int i = 0; i < ANOMALY_CNT; i++)
                t += r->counts[i];
        return t;
}

/* -- index of the sink's records by key (lib/strmap.c) ------------------- */

static const char *record_key(const void *v)
{
        return ((const struct check_record *)v)->key;
}

/* -- examples that explain ------------------------------------------------ */

/* Where the sink's owning account differs from the CRM's: "; account_id
 * differs: sink A-000012, CRM A-000007 (A-000012 merged into A-000007)".
 * Empty when they agree. */
static void owner_diff(const crm_workload_t *w, const struct check_record *ar,
                       const struct crm_record *cr, char *buf, size_t size)
{
        const char              *sink = ar->account_id ? ar->account_id : "";
        const struct crm_record *acc;
        char                     why[96] = "";

        buf[0] = '\0';
        if (!strcmp(sink, cr->account_id))
                return;
        acc = *sink ? crmsync_workload_find(w, CRM_ENTITY_ACCOUNT, sink) : NULL;
        if (acc && acc->merged_into[0])
                snprintf(why, sizeof(why), " (%s merged into %s)", sink,
                         acc->merged_into);
        else if (acc && acc->deleted)
                snprintf(why, sizeof(why), " (%s deleted)", sink);
        snprintf(buf, size, "; account_id differs: sink %s, CRM %s%s",
                 *sink ? sink : "none", cr->account_id, why);
}

/* A field's value for an example, cut short: "x@corrupt" or absent. */
static void field_value(const json_t *v, char *buf, size_t size)
{
        char *s;
        if (!v) {
                snprintf(buf, size, "absent");
                return;
        }
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, size, "%.24s%s", s ? s : "?",
                 s && strlen(s) > 24 ? "..." : "");
        free(s);
}

/* Which fields differ: "; fields differ: email (sink "x", CRM "y"),
 * phone ...". with_values=0 names them only. Empty when none differ. */
static void fields_diff(const json_t *sink, const json_t *crm, int with_values,
                        char *buf, size_t size)
{
        const json_t *objs[2] = {crm, sink};
        const char   *k;
        json_t       *v;
        size_t        len = 0, n = 0, shown = 0;
        char          a[40], b[40];

        buf[0] = '\0';
        for (int side = 0; side < 2; side++) {
                json_object_foreach((json_t *)objs[side], k, v)
                {
                        const json_t *sv = json_object_get(sink, k);
                        const json_t *cv = json_object_get(crm, k);
                        /* Fields only the sink has: listed on the 2nd pass. */
                        if ((side == 1 && cv) ||
                            json_equal((json_t *)sv, (json_t *)cv))
                                continue;
                        n++;
                        if (shown >= 3 || len >= size)
                                continue;
                        shown++;
                        if (with_values) {
                                field_value(sv, a, sizeof(a));
                                field_value(cv, b, sizeof(b));
                                len += (size_t)snprintf(
                                    buf + len, size - len,
                                    "%s%s (sink %s, CRM %s)",
                                    shown == 1 ? "; fields differ: " : ", ", k,
                                    a, b);
                        } else {
                                len += (size_t)snprintf(
                                    buf + len, size - len, "%s%s",
                                    shown == 1 ? "; fields differ: " : ", ", k);
                        }
                }
        }
        if (n > shown && len < size)
                snprintf(buf + len, size - len, " and %zu more", n - shown);
}

/* 1 when the sink's fields differ from the CRM's final state (which
 * fields into fd), 0 when equal, -1 when out of memory. The final state
 * is kept as compact text (json_dumps, in the order written): when the
 * sink's fields dump to the same bytes they are equal, and nothing is
 * parsed; otherwise the text is parsed and compared as a tree
 * (json_equal: another key order or number form is no difference). */
static int fields_differ(const struct check_record *ar,
                         const struct crm_record *cr, char *fd, size_t size)
{
        json_t *cf;
        int     rc = 0;

        if (cr->fields_json) {
                char *t    = json_dumps(ar->fields, JSON_COMPACT);
                int   same = t && !strcmp(t, cr->fields_json);
                free(t);
                if (same)
                        return 0;
        }
        if (!(cf = crmsync_record_fields(cr)))
                return -1;
        if (!json_equal((json_t *)ar->fields, cf)) {
                fields_diff(ar->fields, cf, 1, fd, size);
                rc = 1;
        }
        json_decref(cf);
        return rc;
}

/* -- end state --------------------------------------------------------------
 */

int crmsync_check_end_state(const crm_workload_t      *w,
                            const struct check_record *actual, size_t cnt,
                            struct check_result *r, char *errstr,
                            size_t errstr_size)
{
        struct crmsync_strmap ix;
        uint8_t              *seen = calloc(cnt ? cnt : 1, 1);
        size_t                nrec = crmsync_workload_record_cnt(w);
        char                  key[CRMSYNC_KEY_MAX], od[160], fd[200];

        int oom = !seen, diff;

        /* A later record with the same key replaces an earlier one. */
        crmsync_strmap_init(&ix, record_key);
        for (size_t i = 0; !oom && i < cnt; i++)
                oom = crmsync_strmap_set(&ix, (void *)&actual[i]) != 0;
        if (oom) {
                crmsync_strmap_reset(&ix);
                free(seen);
                return crmsync_err(errstr, errstr_size,
                                   "checker: out of memory indexing %zu "
                                   "records",
                                   cnt);
        }

        for (size_t i = 0; i < nrec; i++) {
                const struct crm_record   *cr = crmsync_workload_record(w, i);
                const struct check_record *ar;

                snprintf(key, sizeof(key), "%s/%s",
                         crmsync_entity_name(cr->entity), cr->id);
                ar = crmsync_strmap_get(&ix, key);
                if (ar)
                        seen[ar - actual] = 1;
                r->records_checked++;
                if (cr->deleted) {
                        if (ar && !ar->deleted)
                                crmsync_check_result_add(
                                    r, ANOMALY_ZOMBIE, key,
                                    "deleted at v%u%s%s, live in sink at "
                                    "v%u",
                                    cr->version,
                                    cr->merged_into[0] ? ", merged into " : "",
                                    cr->merged_into, ar->version);
                        continue;
                }
                r->records_expected++;
                if (!ar || ar->deleted) {
                        crmsync_check_result_add(
                            r, ANOMALY_MISSING, key,
                            ar ? "live at v%u in CRM, deleted at v%u in "
                                 "sink"
                               : "live at v%u in CRM, absent in sink%.0u",
                            cr->version, ar ? ar->version : 0);
                } else if (ar->version < cr->version) {
                        json_t *cf = crmsync_record_fields(cr);
                        owner_diff(w, ar, cr, od, sizeof(od));
                        fields_diff(ar->fields, cf, 0, fd, sizeof(fd));
                        json_decref(cf);
                        crmsync_check_result_add(
                            r, ANOMALY_STALE, key, "sink v%u, CRM v%u%s%s",
                            ar->version, cr->version, od, fd);
                } else if (ar->version > cr->version) {
                        crmsync_check_result_add(
                            r, ANOMALY_DIVERGENT, key,
                            "sink v%u is newer than the CRM's v%u", ar->version,
                            cr->version);
                } else if (strcmp(ar->account_id ? ar->account_id : "",
                                  cr->account_id)) {
                        owner_diff(w, ar, cr, od, sizeof(od));
                        crmsync_check_result_add(r, ANOMALY_DIVERGENT, key,
                                                 "v%u%s", cr->version, od);
                } else if ((diff = fields_differ(ar, cr, fd, sizeof(fd))) > 0) {
                        crmsync_check_result_add(r, ANOMALY_DIVERGENT, key,
                                                 "v%u%s", cr->version, fd);
                } else if (diff < 0) {
                        crmsync_strmap_reset(&ix);
                        free(seen);
                        return crmsync_err(errstr, errstr_size,
                                           "checker: out of memory reading "
                                           "%s's fields",
                                           key);
                }
        }

        /* Live sink records the CRM never had. */
        for (size_t i = 0; i < cnt; i++) {
                const struct check_record *ar =
                    crmsync_strmap_get(&ix, actual[i].key);
                if (seen[ar - actual] || actual[i].deleted)
                        continue;
                crmsync_check_result_add(r, ANOMALY_UNEXPECTED, actual[i].key,
                                         "live in sink at v%u, unknown to "
                                         "the CRM",
                                         actual[i].version);
        }
        crmsync_strmap_reset(&ix);
        free(seen);
        return 0;
}

int64_t crmsync_check_interval_ms(int64_t floor_ms, int64_t last_cost_ms)
{
        int64_t paced = last_cost_ms > 0 ? last_cost_ms * 9 : 0;
        return paced > floor_ms ? paced : floor_ms;
}
