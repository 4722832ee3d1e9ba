/* scenario.c -- strict loader for scenario files (docs/scenario-format.md). */
#include "harness/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crmsync/bugs.h"
#include "harness/cluster.h"
#include "crmsync/common.h"
#include "crmsync/domain.h"
#include "harness/fault.h"
#include "harness/jsonpos.h"

#define SCENARIO_MAX_BYTES (1 << 20)

/* Validation context: every error names file:line:column and the path. */
struct vctx {
        const char *file;
        jsonpos_t  *jp;
        char       *errstr;
        size_t      errstr_size;
        int         failed;
};

__attribute__((format(printf, 4, 5))) static int
verr(struct vctx *c, const char *path, int want_key, const char *fmt, ...)
{
        char    msg[512];
        int     line = 1, column = 1;
        va_list ap;
        if (c->failed)
                return -1; /* keep the first error */
        c->failed = 1;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        crmsync_jsonpos_find(c->jp, path, want_key, &line, &column);
        return crmsync_err(c->errstr, c->errstr_size, "%s:%d:%d: %s: %s",
                           c->file, line, column, *path ? path : "(root)", msg);
}

static void join(char *out, size_t size, const char *parent, const char *key)
{
        snprintf(out, size, "%s%s%s", parent, *parent ? "." : "", key);
}

static const char *type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

/* Unknown keys are errors: known is a NULL-terminated list. */
static int check_known(struct vctx *c, json_t *obj, const char *path,
                       const char *const *known)
{
        const char *key;
        json_t     *v;
        json_object_foreach(obj, key, v)
        {
                int ok = 0;
                for (const char *const *k = known; *k; k++)
                        if (!strcmp(*k, key))
                                ok = 1;
                if (!ok) {
                        char p[512];
                        join(p, sizeof(p), path, key);
                        return verr(c, p, 1, "unknown field '%s'", key);
                }
        }
        return 0;
}

/* Optional object member; *out NULL when absent. */
static int get_obj(struct vctx *c, json_t *obj, const char *path,
                   const char *key, json_t **out)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        *out      = NULL;
        if (!v)
                return 0;
        join(p, sizeof(p), path, key);
        if (!json_is_object(v))
                return verr(c, p, 0, "expected an object, got %s",
                            type_name(v));
        *out = v;
        return 0;
}

static int get_num(struct vctx *c, json_t *obj, const char *path,
                   const char *key, double *out, double min, double max)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        join(p, sizeof(p), path, key);
        if (!json_is_number(v))
                return verr(c, p, 0, "expected a number, got %s", type_name(v));
        double d = json_number_value(v);
        if (!isfinite(d) || d < min || d > max)
                return verr(c, p, 0, "%g is out of range [%g, %g]", d, min,
                            max);
        *out = d;
        return 0;
}

static int get_u64(struct vctx *c, json_t *obj, const char *path,
                   const char *key, uint64_t *out, uint64_t min, uint64_t max)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        join(p, sizeof(p), path, key);
        if (!json_is_integer(v))
                return verr(c, p, 0, "expected an integer, got %s",
                            type_name(v));
        json_int_t i = json_integer_value(v);
        if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
                return verr(c, p, 0, "%lld is out of range [%llu, %llu]",
                            (long long)i, (unsigned long long)min,
                            (unsigned long long)max);
        *out = (uint64_t)i;
        return 0;
}

static int get_u32(struct vctx *c, json_t *obj, const char *path,
                   const char *key, uint32_t *out, uint32_t min, uint32_t max)
{
        uint64_t v = *out;
        if (get_u64(c, obj, path, key, &v, min, max) == -1)
                return -1;
        *out = (uint32_t)v;
        return 0;
}

static int get_int(struct vctx *c, json_t *obj, const char *path,
                   const char *key, int *out, int min, int max)
{
        uint64_t v = (uint64_t)*out;
        if (get_u64(c, obj, path, key, &v, (uint64_t)min, (uint64_t)max) == -1)
                return -1;
        *out = (int)v;
        return 0;
}

static int get_bool(struct vctx *c, json_t *obj, const char *path,
                    const char *key, int *out)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        join(p, sizeof(p), path, key);
        if (!json_is_boolean(v))
                return verr(c, p, 0, "expected a boolean, got %s",
                            type_name(v));
        *out = json_is_true(v);
        return 0;
}

/* String member; choices is "a|b|c" or NULL for any. */
static int get_str(struct vctx *c, json_t *obj, const char *path,
                   const char *key, char *out, size_t out_size,
                   const char *choices)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        join(p, sizeof(p), path, key);
        if (!json_is_string(v))
                return verr(c, p, 0, "expected a string, got %s", type_name(v));
        const char *s = json_string_value(v);
        if (strlen(s) >= out_size)
                return verr(c, p, 0, "longer than %zu characters",
                            out_size - 1);
        if (choices) {
                size_t      n  = strlen(s);
                const char *at = strstr(choices, s);
                int         ok = 0;
                while (n && at) {
                        if ((at == choices || at[-1] == '|') &&
                            (at[n] == '|' || at[n] == '\0'))
                                ok = 1;
                        at = strstr(at + 1, s);
                }
                if (!ok)
                        return verr(c, p, 0, "'%s' is not one of %s", s,
                                    choices);
        }
        snprintf(out, out_size, "%s", s);
        return 0;
}

static int get_strdup(struct vctx *c, json_t *obj, const char *path,
                      const char *key, char **out)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        join(p, sizeof(p), path, key);
        if (!json_is_string(v) || !*json_string_value(v))
                return verr(c, p, 0, "expected a non-empty string, got %s",
                            type_name(v));
        free(*out);
        *out = strdup(json_string_value(v));
        return 0;
}

/* -- fault types ---------------------------------------------------------- */

const char *crmsync_fault_types(void)
{
        static char              buf[1024];
        const struct fault_type *ft;
        if (!buf[0])
                for (size_t i = 0; (ft = crmsync_fault_at(i)); i++) {
                        if (i)
                                strcat(buf, ", ");
                        strcat(buf, ft->name);
                }
        return buf;
}

/* One parameter of a fault, validated by its row of the fault table. */
static int load_fault_param(struct vctx *c, json_t *f, const char *path,
                            const char *type, const struct fault_param *ps)
{
        double   d;
        int      b;
        uint64_t u;
        char     s[64];

        if (ps->required && !json_object_get(f, ps->name))
                return verr(c, path, 0, "fault '%s' needs field '%s'", type,
                            ps->name);
        switch (ps->type) {
        case FAULT_P_RATIO:
        case FAULT_P_NUM:
                return get_num(c, f, path, ps->name, &d, ps->min, ps->max);
        case FAULT_P_INT:
                return get_u64(c, f, path, ps->name, &u, (uint64_t)ps->min,
                               (uint64_t)ps->max);
        case FAULT_P_BOOL:
                return get_bool(c, f, path, ps->name, &b);
        case FAULT_P_STR:
                return get_str(c, f, path, ps->name, s, sizeof(s), ps->choices);
        }
        return 0;
}

static int load_fault(struct vctx *c, json_t *f, const char *path,
                      struct scenario_fault *out)
{
        char                     p[512];
        const struct fault_type *spec;
        const char *known[12] = {"type", "at_s", "duration_s", "note"};
        int         nk        = 4;

        if (!json_is_object(f))
                return verr(c, path, 0, "expected an object, got %s",
                            type_name(f));
        if (!json_object_get(f, "type"))
                return verr(c, path, 0, "missing required field 'type'");
        if (get_str(c, f, path, "type", out->type, sizeof(out->type), NULL))
                return -1;
        if (!(spec = crmsync_fault_find(out->type))) {
                join(p, sizeof(p), path, "type");
                return verr(c, p, 0, "unknown fault type '%s' (known: %s)",
                            out->type, crmsync_fault_types());
        }
        if (!json_object_get(f, "at_s"))
                return verr(c, path, 0, "missing required field 'at_s'");
        if (get_num(c, f, path, "at_s", &out->at_s, 0, 86400) ||
            get_num(c, f, path, "duration_s", &out->duration_s, 0, 86400))
                return -1;
        if (spec->needs_duration && out->duration_s <= 0)
                return verr(c, path, 0, "fault '%s' needs duration_s > 0",
                            out->type);
        for (int i = 0; i < FAULT_MAX_PARAMS && spec->params[i].name; i++) {
                known[nk++] = spec->params[i].name;
                if (load_fault_param(c, f, path, out->type, &spec->params[i]))
                        return -1;
        }
        known[nk] = NULL;
        if (check_known(c, f, path, known))
                return -1;
        out->params = json_incref(f);
        crmsync_jsonpos_find(c->jp, path, 0, &out->line, &out->column);
        return 0;
}

/* Two faults of one exclusive group (same broker for broker faults) may
 * not overlap in time. */
static int check_overlaps(struct vctx *c, struct scenario *sc)
{
        for (int i = 0; i < sc->fault_cnt; i++) {
                const struct fault_type *a =
                    crmsync_fault_find(sc->faults[i].type);
                for (int j = 0; j < i; j++) {
                        const struct fault_type *b =
                            crmsync_fault_find(sc->faults[j].type);
                        struct scenario_fault *fi = &sc->faults[i],
                                              *fj = &sc->faults[j];
                        if (!a->group || !b->group ||
                            strcmp(a->group, b->group))
                                continue;
                        json_t *bi = json_object_get(fi->params, "broker");
                        json_t *bj = json_object_get(fj->params, "broker");
                        if (bi && bj &&
                            json_integer_value(bi) != json_integer_value(bj))
                                continue;
                        double ei = fi->at_s + fi->duration_s;
                        double ej = fj->at_s + fj->duration_s;
                        if (fi->at_s < ej + 1e-9 && fj->at_s < ei + 1e-9) {
                                char p[64];
                                snprintf(p, sizeof(p), "faults[%d]", i);
                                return verr(c, p, 0,
                                            "'%s' at %gs..%gs overlaps "
                                            "faults[%d] '%s' at %gs..%gs; "
                                            "they are exclusive",
                                            fi->type, fi->at_s, ei, j, fj->type,
                                            fj->at_s, ej);
                        }
                }
        }
        return 0;
}

static int load_bugs(struct vctx *c, json_t *obj, const char *path,
                     uint32_t *bugs)
{
        char    p[512];
        json_t *arr = json_object_get(obj, "bugs"), *v;
        size_t  i;
        if (!arr)
                return 0;
        join(p, sizeof(p), path, "bugs");
        if (!json_is_array(arr))
                return verr(c, p, 0, "expected an array of bug names, got %s",
                            type_name(arr));
        json_array_foreach(arr, i, v)
        {
                char     pi[560];
                uint32_t bit;
                snprintf(pi, sizeof(pi), "%s[%zu]", p, i);
                if (!json_is_string(v))
                        return verr(c, pi, 0, "expected a string, got %s",
                                    type_name(v));
                if (!(bit = crmsync_bug_parse(json_string_value(v))))
                        return verr(c, pi, 0,
                                    "unknown bug switch '%s' (known: %s)",
                                    json_string_value(v), crmsync_bug_names());
                *bugs |= bit;
        }
        return 0;
}

static int load_process(struct vctx *c, json_t *obj, const char *path,
                        struct scenario_process *pr, int is_connector)
{
        static const char *const kc[] = {"command",   "bugs",        "mode",
                                         "page_size", "lookback_ms", NULL};
        static const char *const kp[] = {"command", "bugs", "batch_size",
                                         "linger_ms", NULL};
        if (!obj)
                return 0;
        if (check_known(c, obj, path, is_connector ? kc : kp) ||
            get_strdup(c, obj, path, "command", &pr->command) ||
            load_bugs(c, obj, path, &pr->bugs))
                return -1;
        if (is_connector)
                return get_str(c, obj, path, "mode", pr->mode, sizeof(pr->mode),
                               "feed|webhook|poll") ||
                               get_u32(c, obj, path, "page_size",
                                       &pr->page_size, 1, 1000) ||
                               get_u32(c, obj, path, "lookback_ms",
                                       &pr->lookback_ms, 0, 3600000)
                           ? -1
                           : 0;
        return get_u32(c, obj, path, "batch_size", &pr->batch_size, 1, 10000) ||
                       get_u32(c, obj, path, "linger_ms", &pr->linger_ms, 0,
                               60000)
                   ? -1
                   : 0;
}

static int load_anomaly_bound(struct vctx *c, json_t *obj, const char *path,
                              const char *key, int64_t *out)
{
        uint64_t v;
        json_t  *j = json_object_get(obj, key);
        if (!j)
                return 0;
        if (json_is_null(j)) {
                *out = -1; /* no bound */
                return 0;
        }
        if (get_u64(c, obj, path, key, &v, 0, UINT32_MAX))
                return -1;
        *out = (int64_t)v;
        return 0;
}

/* expect.api: bounds on the connector's API etiquette (null = none). */
static int load_expect_api(struct vctx *c, json_t *obj,
                           struct scenario_expect *e)
{
        static const char *const known[] = {
            "early_retries_max", "over_rate_limit_max", "over_daily_quota_max",
            "requests_per_change_max", NULL};
        json_t *api;
        if (get_obj(c, obj, "expect", "api", &api))
                return -1;
        if (!api)
                return 0;
        return check_known(c, api, "expect.api", known) ||
                       load_anomaly_bound(c, api, "expect.api",
                                          "early_retries_max",
                                          &e->api_early_retries_max) ||
                       load_anomaly_bound(c, api, "expect.api",
                                          "over_rate_limit_max",
                                          &e->api_over_rate_limit_max) ||
                       load_anomaly_bound(c, api, "expect.api",
                                          "over_daily_quota_max",
                                          &e->api_over_daily_quota_max) ||
                       get_num(c, api, "expect.api", "requests_per_change_max",
                               &e->api_requests_per_change_max, 0, 1e9)
                   ? -1
                   : 0;
}

/* A sum of anomaly classes "stale+missing": every part a known class. */
static int check_class_sum(struct vctx *c, const char *path, const char *sum,
                           const char *const *classes)
{
        const char *at = sum;
        while (1) {
                size_t n  = strcspn(at, "+");
                int    ok = 0;
                for (const char *const *k = classes; *k && n; k++)
                        if (strlen(*k) == n && !strncmp(*k, at, n))
                                ok = 1;
                if (!ok)
                        return verr(c, path, 1,
                                    "'%.*s' is not an anomaly class (known: "
                                    "missing, stale, zombie, divergent, "
                                    "unexpected, lost, duplicate_side_effect, "
                                    "reordered, dead_lettered; a+b sums "
                                    "classes)",
                                    (int)n, at);
                if (!at[n])
                        return 0;
                at += n + 1;
        }
}

/* A list of expectation names (or anomaly classes) into out. */
static int load_names(struct vctx *c, json_t *arr, const char *path,
                      char (*out)[128], int *cnt)
{
        char    p[512];
        json_t *v;
        size_t  i;
        if (!arr)
                return 0;
        if (!json_is_array(arr))
                return verr(c, path, 0,
                            "expected an array of expectation names, got %s",
                            type_name(arr));
        if (json_array_size(arr) > SCENARIO_MAX_MUST_FAIL)
                return verr(c, path, 0, "at most %d names",
                            SCENARIO_MAX_MUST_FAIL);
        json_array_foreach(arr, i, v)
        {
                snprintf(p, sizeof(p), "%s[%zu]", path, i);
                if (!json_is_string(v) || !*json_string_value(v))
                        return verr(c, p, 0,
                                    "expected a non-empty string (an "
                                    "expectation name as summary.json "
                                    "gives it), got %s",
                                    type_name(v));
                if (strlen(json_string_value(v)) >= sizeof(out[0]))
                        return verr(c, p, 0, "longer than %zu characters",
                                    sizeof(out[0]) - 1);
                snprintf(out[(*cnt)++], sizeof(out[0]), "%s",
                         json_string_value(v));
        }
        return 0;
}

/* expect.verdict, expect.anomalies_at_least and expect.failing: a
 * scenario that must fail, and in which way. */
static int load_must_fail(struct vctx *c, json_t *obj,
                          struct scenario_must_fail *mf,
                          const char *const         *classes)
{
        char        verdict[8] = "pass", p[512];
        json_t     *al, *names = json_object_get(obj, "failing"), *v;
        json_t     *also = json_object_get(obj, "may_also_fail");
        const char *k;

        if (get_str(c, obj, "expect", "verdict", verdict, sizeof(verdict),
                    "pass|fail") ||
            get_obj(c, obj, "expect", "anomalies_at_least", &al))
                return -1;
        mf->enabled = !strcmp(verdict, "fail");
        if (!mf->enabled && (al || names || also))
                return verr(c,
                            al      ? "expect.anomalies_at_least"
                            : names ? "expect.failing"
                                    : "expect.may_also_fail",
                            1,
                            "only for a scenario that must fail: add "
                            "\"verdict\": \"fail\"");
        if (mf->enabled && !(al && json_object_size(al)) &&
            !(names && json_array_size(names)))
                return verr(c, "expect.verdict", 0,
                            "\"fail\" needs the way the run must fail: "
                            "expect.anomalies_at_least {\"<class>\": n} "
                            "or expect.failing [\"<expectation name>\"]");
        if (al && json_object_size(al) > SCENARIO_MAX_MUST_FAIL)
                return verr(c, "expect.anomalies_at_least", 0,
                            "at most %d entries", SCENARIO_MAX_MUST_FAIL);
        json_object_foreach(al, k, v)
        {
                uint64_t n = 0;
                int      j = mf->at_least_cnt;
                join(p, sizeof(p), "expect.anomalies_at_least", k);
                if (strlen(k) >= sizeof(mf->at_least[0].classes))
                        return verr(c, p, 1, "name too long");
                if (check_class_sum(c, p, k, classes) ||
                    get_u64(c, al, "expect.anomalies_at_least", k, &n, 1,
                            UINT32_MAX))
                        return -1;
                snprintf(mf->at_least[j].classes,
                         sizeof(mf->at_least[j].classes), "%s", k);
                mf->at_least[j].n = (int64_t)n;
                mf->at_least_cnt++;
        }
        return load_names(c, names, "expect.failing", mf->names,
                          &mf->name_cnt) ||
                       load_names(c, also, "expect.may_also_fail", mf->also,
                                  &mf->also_cnt)
                   ? -1
                   : 0;
}

static int load_expect(struct vctx *c, json_t *obj, struct scenario_expect *e)
{
        static const char *const known[]   = {"anomalies",
                                              "converge_within_s",
                                              "freshness_p99_ms_max",
                                              "e2e_p99_ms_max",
                                              "freshness_steady_p99_ms_max",
                                              "replay_min_events_per_s",
                                              "catch_up_within_s",
                                              "broker_unavailable_max_s",
                                              "api",
                                              "verdict",
                                              "anomalies_at_least",
                                              "failing",
                                              "may_also_fail",
                                              NULL};
        static const char *const classes[] = {"missing",
                                              "stale",
                                              "zombie",
                                              "divergent",
                                              "unexpected",
                                              "lost",
                                              "duplicate_side_effect",
                                              "reordered",
                                              "dead_lettered",
                                              NULL};
        int64_t                 *slots[]   = {&e->missing,
                                              &e->stale,
                                              &e->zombie,
                                              &e->divergent,
                                              &e->unexpected,
                                              &e->lost,
                                              &e->duplicate_side_effect,
                                              &e->reordered,
                                              &e->dead_lettered};
        json_t                  *an;
        if (!obj)
                return 0;
        if (load_expect_api(c, obj, e))
                return -1;
        if (check_known(c, obj, "expect", known) ||
            load_must_fail(c, obj, &e->must_fail, classes) ||
            get_obj(c, obj, "expect", "anomalies", &an) ||
            get_num(c, obj, "expect", "converge_within_s",
                    &e->converge_within_s, 0, 86400) ||
            get_num(c, obj, "expect", "freshness_p99_ms_max",
                    &e->freshness_p99_ms_max, 0, 1e9) ||
            get_num(c, obj, "expect", "freshness_steady_p99_ms_max",
                    &e->freshness_steady_p99_ms_max, 0, 1e9) ||
            get_num(c, obj, "expect", "replay_min_events_per_s",
                    &e->replay_min_events_per_s, 0, 1e9) ||
            get_num(c, obj, "expect", "catch_up_within_s",
                    &e->catch_up_within_s, 0, 86400) ||
            get_num(c, obj, "expect", "broker_unavailable_max_s",
                    &e->broker_unavailable_max_s, 0, 86400))
                return -1;
        /* The old name of freshness_p99_ms_max (it bounded the latency of
         * the changes that got their own write; now freshness). */
        if (json_object_get(obj, "e2e_p99_ms_max")) {
                if (json_object_get(obj, "freshness_p99_ms_max"))
                        return verr(c, "expect.e2e_p99_ms_max", 1,
                                    "the old name of freshness_p99_ms_max: "
                                    "give only one of them");
                if (get_num(c, obj, "expect", "e2e_p99_ms_max",
                            &e->freshness_p99_ms_max, 0, 1e9))
                        return -1;
        }
        if (!an)
                return 0;
        if (check_known(c, an, "expect.anomalies", classes))
                return -1;
        for (int i = 0; classes[i]; i++)
                if (load_anomaly_bound(c, an, "expect.anomalies", classes[i],
                                       slots[i]))
                        return -1;
        return 0;
}

static int load_workload(struct vctx *c, json_t *w, struct scenario *sc)
{
        static const char *const    known[] = {"accounts",
                                               "contacts_per_account",
                                               "opportunities_per_account",
                                               "entitlements_per_account",
                                               "changes",
                                               "rate_per_s",
                                               "burst_factor",
                                               "burst_every_s",
                                               "burst_len_s",
                                               "mix",
                                               "zipf_s",
                                               "txn_max",
                                               NULL};
        static const char *const    mixk[]  = {"update",   "create", "delete",
                                               "undelete", "merge",  NULL};
        struct crm_workload_config *wc      = &sc->workload;
        json_t                     *mix;
        if (!w)
                return 0;
        if (check_known(c, w, "workload", known) ||
            get_u32(c, w, "workload", "accounts", &wc->accounts, 1, 10000000) ||
            get_u32(c, w, "workload", "contacts_per_account",
                    &wc->contacts_per_account, 0, 100) ||
            get_u32(c, w, "workload", "opportunities_per_account",
                    &wc->opportunities_per_account, 0, 100) ||
            get_u32(c, w, "workload", "entitlements_per_account",
                    &wc->entitlements_per_account, 0, 100) ||
            get_u32(c, w, "workload", "changes", &wc->changes, 1,
                    CRM_WORKLOAD_MAX_CHANGES) ||
            get_num(c, w, "workload", "rate_per_s", &wc->rate_per_s, 0.01,
                    1e7) ||
            get_num(c, w, "workload", "burst_factor", &wc->burst_factor, 1,
                    1000) ||
            get_u32(c, w, "workload", "burst_every_s", &wc->burst_every_s, 0,
                    86400) ||
            get_u32(c, w, "workload", "burst_len_s", &wc->burst_len_s, 0,
                    86400) ||
            get_num(c, w, "workload", "zipf_s", &wc->zipf_s, 0, 5) ||
            get_u32(c, w, "workload", "txn_max", &wc->txn_max, 1, 1000) ||
            get_obj(c, w, "workload", "mix", &mix))
                return -1;
        /* The generator reads 0 as "the default (2)": say "none". */
        if (json_object_get(w, "contacts_per_account") &&
            !wc->contacts_per_account)
                wc->contacts_per_account = CRM_WORKLOAD_NONE;
        if (!mix)
                return 0;
        return check_known(c, mix, "workload.mix", mixk) ||
                       get_num(c, mix, "workload.mix", "update",
                               &wc->mix_update, 0, 1e6) ||
                       get_num(c, mix, "workload.mix", "create",
                               &wc->mix_create, 0, 1e6) ||
                       get_num(c, mix, "workload.mix", "delete",
                               &wc->mix_delete, 0, 1e6) ||
                       get_num(c, mix, "workload.mix", "undelete",
                               &wc->mix_undelete, 0, 1e6) ||
                       get_num(c, mix, "workload.mix", "merge", &wc->mix_merge,
                               0, 1e6)
                   ? -1
                   : 0;
}

/* -- checks across sections: what the run would find out too late ------- */

static int has_fault(const struct scenario *sc, const char *const *types)
{
        for (int i = 0; i < sc->fault_cnt; i++)
                for (const char *const *t = types; *t; t++)
                        if (!strcmp(sc->faults[i].type, *t))
                                return 1;
        return 0;
}

/* A bound whose subject the scenario lacks would pass without being
 * measured. */
static int check_expect(struct vctx *c, const struct scenario *sc)
{
        static const char *const procs[] = {"connector_crash", "profiler_crash",
                                            "connector_pause", NULL};
        static const char *const restarts[] = {"broker_restart", NULL};
        const struct scenario_expect *e     = &sc->expect;

        if (e->replay_min_events_per_s > 0 && !sc->replay.enabled)
                return verr(c, "expect.replay_min_events_per_s", 0,
                            "bounds a replay, and this scenario has none "
                            "(add \"replay\": {})");
        if (e->catch_up_within_s > 0 && !has_fault(sc, procs))
                return verr(c, "expect.catch_up_within_s", 0,
                            "bounds the catch-up after a connector_crash, "
                            "profiler_crash or connector_pause, and this "
                            "scenario has none");
        if (e->broker_unavailable_max_s > 0 && !has_fault(sc, restarts))
                return verr(c, "expect.broker_unavailable_max_s", 0,
                            "bounds each broker_restart's unavailability, "
                            "and this scenario has none");
        return 0;
}

/* The effective workload (defaults applied) into eff; an error names the
 * field that makes it impossible. */
static int check_workload(struct vctx *c, json_t *root, struct scenario *sc,
                          struct crm_workload_config *eff)
{
        json_t  *w = json_object_get(root, "workload");
        char     msg[256];
        uint64_t per, creates;

        if (!crmsync_workload_resolve(&sc->workload, eff, msg, sizeof(msg)))
                return 0;
        per = 1 + (uint64_t)eff->contacts_per_account +
              eff->opportunities_per_account + eff->entitlements_per_account;
        creates = (uint64_t)eff->accounts * per;
        if (creates <= eff->changes)
                return verr(c, "workload", 0, "%s", msg);
        return verr(c,
                    json_object_get(w, "changes")    ? "workload.changes"
                    : json_object_get(w, "accounts") ? "workload.accounts"
                                                     : "workload",
                    0,
                    "%u changes cannot hold the %llu initial creates "
                    "(%u accounts x %llu records each, children included); "
                    "changes counts them, so it must be at least %llu",
                    eff->changes, (unsigned long long)creates, eff->accounts,
                    (unsigned long long)per, (unsigned long long)creates);
}

/* Kafka's topic name rules, and no clash with the harness's own topics. */
static int check_topic(struct vctx *c, const struct scenario *sc)
{
        const char *t = sc->topic;
        if (!*t)
                return verr(c, "target.topic", 0, "the topic name is empty");
        if (!strcmp(t, ".") || !strcmp(t, ".."))
                return verr(c, "target.topic", 0,
                            "'%s' is not a valid Kafka topic name", t);
        for (const char *p = t; *p; p++)
                if (!(*p == '-' || *p == '_' || *p == '.' ||
                      (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= 'A' && *p <= 'Z')))
                        return verr(c, "target.topic", 0,
                                    "'%s': a Kafka topic name uses only "
                                    "letters, digits, '.', '_' and '-'",
                                    t);
        if (!strcmp(t, CLUSTER_PROBE_TOPIC) ||
            !strcmp(t, "crmsync.connector.offsets"))
                return verr(c, "target.topic", 0,
                            "'%s' is one of the harness's own topics", t);
        return 0;
}

/* Integer parameter key of fault i, or -1 when absent. */
static long long fault_int(const struct scenario_fault *f, const char *key)
{
        json_t *v = json_object_get(f->params, key);
        return v ? (long long)json_integer_value(v) : -1;
}

/* An external target has no fault hooks: only broker_restart, through
 * its commands (docs/targets.md). */
static int check_target_can(struct vctx *c, const struct scenario *sc, int i)
{
        const struct scenario_fault *f = &sc->faults[i];
        char                         p[64];
        snprintf(p, sizeof(p), "faults[%d].type", i);
        if (crmsync_fault_find(f->type)->embedded_only)
                return verr(c, p, 0,
                            "target '%s' cannot do %s: it needs the "
                            "embedded broker's fault hooks (there is no "
                            "such request in the Kafka protocol)",
                            sc->target->name, f->type);
        if (!strcmp(f->type, "broker_restart") && !sc->target->broker_down)
                return verr(c, p, 0,
                            "target '%s' cannot do broker_restart: its "
                            "file has no commands.broker_down/broker_up",
                            sc->target->name);
        return 0;
}

/* What a fault names must exist, and it must fit in the run. */
static int check_faults(struct vctx *c, const struct scenario *sc,
                        const struct crm_workload_config *eff)
{
        for (int i = 0; i < sc->fault_cnt; i++) {
                const struct scenario_fault *f      = &sc->faults[i];
                long long                    broker = fault_int(f, "broker");
                long long                    part   = fault_int(f, "partition");
                long long                    seq    = fault_int(f, "seq");
                double                       end    = f->at_s + f->duration_s;
                char                         p[64];

                /* An external cluster's ids are its own: only its
                 * commands know them. */
                if (!sc->target && broker > sc->brokers) {
                        snprintf(p, sizeof(p), "faults[%d].broker", i);
                        return verr(c, p, 0,
                                    "no broker %lld: the embedded cluster "
                                    "has %d (target.brokers), ids 1..%d",
                                    broker, sc->brokers, sc->brokers);
                }
                /* Set-up checks that the topic has target.partitions,
                 * on an external cluster too. */
                if (part >= sc->partitions) {
                        snprintf(p, sizeof(p), "faults[%d].partition", i);
                        return verr(c, p, 0,
                                    "no partition %lld: the changes topic "
                                    "has %d (target.partitions), "
                                    "partitions 0..%d",
                                    part, sc->partitions, sc->partitions - 1);
                }
                if (sc->target && check_target_can(c, sc, i))
                        return -1;
                /* Only a webhook connector subscribes; a command of one's
                 * own may, so it is left alone. */
                if (!strcmp(f->type, "webhook_storm") &&
                    !sc->connector.command &&
                    strcmp(sc->connector.mode, "webhook")) {
                        snprintf(p, sizeof(p), "faults[%d].type", i);
                        return verr(c, p, 0,
                                    "webhook_storm re-sends webhooks, and "
                                    "the connector in '%s' mode receives "
                                    "none (set pipeline.connector.mode to "
                                    "\"webhook\")",
                                    sc->connector.mode);
                }
                if (seq > (long long)eff->changes) {
                        snprintf(p, sizeof(p), "faults[%d].seq", i);
                        return verr(c, p, 0,
                                    "no change %lld: the workload commits "
                                    "%u (workload.changes)",
                                    seq, eff->changes);
                }
                if (sc->timeout_s > 0 && end >= sc->timeout_s) {
                        int starts = f->at_s >= sc->timeout_s;
                        snprintf(p, sizeof(p), "faults[%d].%s", i,
                                 starts ? "at_s" : "duration_s");
                        return verr(c, p, 0,
                                    "the fault %s at %gs, at or after "
                                    "timeout_s %gs: the run gives up first",
                                    starts ? "starts" : "ends",
                                    starts ? f->at_s : end, sc->timeout_s);
                }
        }
        return 0;
}

int crmsync_scenario_check_timeout(const struct scenario *sc, double timeout_s,
                                   const char *what, char *errstr,
                                   size_t errstr_size)
{
        for (int i = 0; i < sc->fault_cnt; i++) {
                const struct scenario_fault *f      = &sc->faults[i];
                double                       end    = f->at_s + f->duration_s;
                int                          starts = f->at_s >= timeout_s;
                if (end < timeout_s)
                        continue;
                return crmsync_err(errstr, errstr_size,
                                   "%s:%d:%d: faults[%d]: the fault %s at "
                                   "%gs, at or after %s %gs: the run gives "
                                   "up first",
                                   sc->path, f->line, f->column, i,
                                   starts ? "starts" : "ends",
                                   starts ? f->at_s : end, what, timeout_s);
        }
        return 0;
}

/* "A-000123" as the workload writes it; its number, or 0. */
static unsigned long account_number(const char *id)
{
        char          canon[32];
        unsigned long n;
        if (strncmp(id, "A-", 2) || id[2] < '0' || id[2] > '9' ||
            strlen(id) > 12)
                return 0;
        n = strtoul(id + 2, NULL, 10);
        snprintf(canon, sizeof(canon), "A-%06lu", n);
        return strcmp(canon, id) ? 0 : n;
}

/* A list domain names accounts the workload can have: the initial ones,
 * plus at most one per change after the initial creates. */
static int check_domain(struct vctx *c, const struct scenario *sc,
                        const struct crm_workload_config *eff)
{
        struct account_domain d;
        char                  msg[256];
        uint64_t              creates, most;
        int                   rc = 0;

        if (crmsync_domain_parse(sc->replay.domain, &d, msg, sizeof(msg)))
                return verr(c, "replay.domain", 0, "%s", msg);
        creates =
            (uint64_t)eff->accounts *
            (1 + (uint64_t)eff->contacts_per_account +
             eff->opportunities_per_account + eff->entitlements_per_account);
        most = eff->accounts + (eff->changes - creates);
        for (size_t i = 0; i < d.nids && !rc; i++) {
                unsigned long n = account_number(d.ids[i]);
                if (!n)
                        rc = verr(c, "replay.domain", 0,
                                  "'%s' is not an account id (A-000001, "
                                  "A-000002, ...)",
                                  d.ids[i]);
                else if (n > most)
                        rc = verr(c, "replay.domain", 0,
                                  "no account %s: this workload has at "
                                  "most %llu (%u initial, up to one more "
                                  "per later change)",
                                  d.ids[i], (unsigned long long)most,
                                  eff->accounts);
        }
        crmsync_domain_clear(&d);
        return rc;
}

static int check_replay(struct vctx *c, json_t *root, const struct scenario *sc,
                        const struct crm_workload_config *eff)
{
        json_t *o = json_object_get(root, "replay");
        if (!o)
                return 0;
        if (!sc->target && !strcmp(sc->replay.from, "timestamp"))
                return verr(c, "replay.from", 0,
                            "a replay from a timestamp needs offset lookup "
                            "by timestamp, which the embedded broker "
                            "(librdkafka's mock) does not have; use "
                            "\"earliest\" or an external target");
        if (json_object_get(o, "from_s") &&
            strcmp(sc->replay.from, "timestamp"))
                return verr(c, "replay.from_s", 0,
                            "from_s needs \"from\": \"timestamp\" (a "
                            "replay from earliest would ignore it)");
        return sc->replay.domain ? check_domain(c, sc, eff) : 0;
}

static int load_root(struct vctx *c, json_t *root, struct scenario *sc)
{
        static const char *const known[] = {
            "name",   "description", "seed",     "workload", "crm",
            "sink",   "pipeline",    "target",   "faults",   "replay",
            "expect", "timeout_s",   "settle_s", "warmup_s", NULL};
        static const char *const crmk[] = {
            "max_page",       "rate_limit_per_s", "rate_burst", "daily_quota",
            "error_rate_5xx", "retention_s",      NULL};
        static const char *const   sinkk[] = {"write_mode", NULL};
        static const char *const   pipk[]  = {"connector", "profiler", NULL};
        static const char *const   tgtk[]  = {"type",       "file",  "brokers",
                                              "partitions", "topic", NULL};
        static const char *const   repk[]  = {"enabled",    "from",   "from_s",
                                              "clear_sink", "domain", NULL};
        struct crm_workload_config eff;
        json_t                    *o, *o2, *faults;
        char                       mode[16] = "conditional";

        if (!json_is_object(root))
                return verr(c, "", 0, "a scenario must be a JSON object");
        if (check_known(c, root, "", known))
                return -1;
        if (!json_object_get(root, "name"))
                return verr(c, "", 0, "missing required field 'name'");
        if (get_str(c, root, "", "name", sc->name, sizeof(sc->name), NULL) ||
            get_strdup(c, root, "", "description", &sc->description) ||
            get_u64(c, root, "", "seed", &sc->seed, 0, UINT64_MAX) ||
            get_num(c, root, "", "timeout_s", &sc->timeout_s, 1, 86400) ||
            get_num(c, root, "", "settle_s", &sc->settle_s, 0.5, 3600) ||
            get_num(c, root, "", "warmup_s", &sc->warmup_s, 0, 86400))
                return -1;
        for (const char *p = sc->name; *p; p++)
                if (!(*p == '-' || *p == '_' || *p == '.' ||
                      (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= 'A' && *p <= 'Z')))
                        return verr(c, "name", 0,
                                    "use only letters, digits, '-', '_', '.'");
        sc->workload.seed = sc->seed;

        if (get_obj(c, root, "", "workload", &o) || load_workload(c, o, sc) ||
            check_workload(c, root, sc, &eff))
                return -1;
        if (get_obj(c, root, "", "crm", &o))
                return -1;
        if (o &&
            (check_known(c, o, "crm", crmk) ||
             get_u32(c, o, "crm", "max_page", &sc->crm_max_page, 1, 1000) ||
             get_num(c, o, "crm", "rate_limit_per_s", &sc->crm_rate_limit_per_s,
                     0, 1e7) ||
             get_u32(c, o, "crm", "rate_burst", &sc->crm_rate_burst, 0,
                     1000000) ||
             get_u64(c, o, "crm", "daily_quota", &sc->crm_daily_quota, 0,
                     UINT32_MAX) ||
             get_num(c, o, "crm", "error_rate_5xx", &sc->crm_error_rate_5xx, 0,
                     1) ||
             get_num(c, o, "crm", "retention_s", &sc->crm_retention_s, 0, 1e7)))
                return -1;
        if (get_obj(c, root, "", "sink", &o))
                return -1;
        if (o && (check_known(c, o, "sink", sinkk) ||
                  get_str(c, o, "sink", "write_mode", mode, sizeof(mode),
                          "conditional|blind")))
                return -1;
        sc->sink_blind_writes = !strcmp(mode, "blind");

        if (get_obj(c, root, "", "pipeline", &o))
                return -1;
        if (o) {
                if (check_known(c, o, "pipeline", pipk) ||
                    get_obj(c, o, "pipeline", "connector", &o2) ||
                    load_process(c, o2, "pipeline.connector", &sc->connector,
                                 1) ||
                    get_obj(c, o, "pipeline", "profiler", &o2) ||
                    load_process(c, o2, "pipeline.profiler", &sc->profiler, 0))
                        return -1;
        }
        if (get_obj(c, root, "", "target", &o))
                return -1;
        if (o &&
            (check_known(c, o, "target", tgtk) ||
             get_str(c, o, "target", "type", sc->target_type,
                     sizeof(sc->target_type), "embedded|external") ||
             get_strdup(c, o, "target", "file", &sc->target_file) ||
             get_int(c, o, "target", "brokers", &sc->brokers, 1, 16) ||
             get_int(c, o, "target", "partitions", &sc->partitions, 1, 1024) ||
             get_str(c, o, "target", "topic", sc->topic, sizeof(sc->topic),
                     NULL)))
                return -1;
        if (!strcmp(sc->target_type, "external") && !sc->target_file)
                return verr(c, "target", 0, "an external target needs 'file'");
        if (check_topic(c, sc))
                return -1;
        if (sc->target_file) {
                /* Relative to the scenario file's folder. */
                char        path[4096], errbuf[768];
                const char *slash = strrchr(c->file, '/');
                if (sc->target_file[0] == '/' || !slash)
                        snprintf(path, sizeof(path), "%s", sc->target_file);
                else
                        snprintf(path, sizeof(path), "%.*s/%s",
                                 (int)(slash - c->file), c->file,
                                 sc->target_file);
                if (!(sc->target =
                          crmsync_target_load(path, errbuf, sizeof(errbuf))))
                        return verr(c, "target.file", 0, "%s", errbuf);
        }

        faults = json_object_get(root, "faults");
        if (faults) {
                size_t  i;
                json_t *f;
                if (!json_is_array(faults))
                        return verr(c, "faults", 0, "expected an array, got %s",
                                    type_name(faults));
                if (json_array_size(faults) > SCENARIO_MAX_FAULTS)
                        return verr(c, "faults", 0, "more than %d faults",
                                    SCENARIO_MAX_FAULTS);
                json_array_foreach(faults, i, f)
                {
                        char p[32];
                        snprintf(p, sizeof(p), "faults[%zu]", i);
                        if (load_fault(c, f, p, &sc->faults[i]))
                                return -1;
                        sc->fault_cnt++;
                }
                if (check_overlaps(c, sc) || check_faults(c, sc, &eff))
                        return -1;
        }
        if (get_obj(c, root, "", "replay", &o))
                return -1;
        if (o) {
                sc->replay.enabled    = 1;
                sc->replay.clear_sink = 1;
                if (check_known(c, o, "replay", repk) ||
                    get_bool(c, o, "replay", "enabled", &sc->replay.enabled) ||
                    get_str(c, o, "replay", "from", sc->replay.from,
                            sizeof(sc->replay.from), "earliest|timestamp") ||
                    get_num(c, o, "replay", "from_s", &sc->replay.from_s, 0,
                            1e7) ||
                    get_bool(c, o, "replay", "clear_sink",
                             &sc->replay.clear_sink) ||
                    get_strdup(c, o, "replay", "domain", &sc->replay.domain))
                        return -1;
                /* From a time, the sink keeps what came before it. */
                if (!strcmp(sc->replay.from, "timestamp") &&
                    !json_object_get(o, "clear_sink"))
                        sc->replay.clear_sink = 0;
                if (check_replay(c, root, sc, &eff))
                        return -1;
        }
        if (get_obj(c, root, "", "expect", &o) ||
            load_expect(c, o, &sc->expect) || check_expect(c, sc))
                return -1;
        return 0;
}

static void set_defaults(struct scenario *sc)
{
        snprintf(sc->target_type, sizeof(sc->target_type), "embedded");
        snprintf(sc->topic, sizeof(sc->topic), "crm.changes");
        snprintf(sc->connector.mode, sizeof(sc->connector.mode), "feed");
        snprintf(sc->replay.from, sizeof(sc->replay.from), "earliest");
        sc->brokers                  = 3;
        sc->partitions               = 12;
        sc->connector.page_size      = 500;
        sc->connector.lookback_ms    = 2000;
        sc->profiler.batch_size      = 500;
        sc->profiler.linger_ms       = 50;
        sc->crm_max_page             = 1000;
        sc->settle_s                 = 10;
        sc->warmup_s                 = -1; /* 10% of the workload */
        sc->expect.converge_within_s = 60;
        /* A connector must honour Retry-After; the other API bounds are
         * opt-in. */
        sc->expect.api_early_retries_max    = 0;
        sc->expect.api_over_rate_limit_max  = -1;
        sc->expect.api_over_daily_quota_max = -1;
        /* Every anomaly class defaults to "zero allowed". */
}

struct scenario *crmsync_scenario_load_buffer(const char *name, const char *buf,
                                              size_t len, char *errstr,
                                              size_t errstr_size)
{
        json_error_t     jerr;
        struct scenario *sc;
        struct vctx      c = {name, NULL, errstr, errstr_size, 0};
        json_t          *root;

        root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                crmsync_err(errstr, errstr_size, "%s:%d:%d: %s", name,
                            jerr.line, jerr.column, jerr.text);
                return NULL;
        }
        if (!(sc = calloc(1, sizeof(*sc)))) {
                json_decref(root);
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        set_defaults(sc);
        sc->path = strdup(name);
        c.jp     = crmsync_jsonpos_index(buf, len);
        if (load_root(&c, root, sc) == -1) {
                crmsync_scenario_destroy(sc);
                sc = NULL;
        }
        crmsync_jsonpos_destroy(c.jp);
        json_decref(root);
        return sc;
}

struct scenario *crmsync_scenario_load(const char *path, char *errstr,
                                       size_t errstr_size)
{
        FILE            *fp = fopen(path, "rb");
        char            *buf;
        size_t           n;
        struct scenario *sc;
        struct stat      st;

        if (!fp) {
                crmsync_err(errstr, errstr_size, "%s: %s", path,
                            strerror(errno));
                return NULL;
        }
        /* A folder opens fine on Linux and then reads as zero bytes: say
         * what it is instead of reporting a JSON syntax error. */
        if (fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode)) {
                fclose(fp);
                crmsync_err(
                    errstr, errstr_size, "%s: is %s, not a scenario file", path,
                    S_ISDIR(st.st_mode) ? "a folder" : "not a regular file");
                return NULL;
        }
        if (!(buf = malloc(SCENARIO_MAX_BYTES + 1))) {
                fclose(fp);
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        n = fread(buf, 1, SCENARIO_MAX_BYTES + 1, fp);
        fclose(fp);
        if (n > SCENARIO_MAX_BYTES) {
                free(buf);
                crmsync_err(errstr, errstr_size, "%s: larger than %d bytes",
                            path, SCENARIO_MAX_BYTES);
                return NULL;
        }
        sc = crmsync_scenario_load_buffer(path, buf, n, errstr, errstr_size);
        free(buf);
        return sc;
}

void crmsync_scenario_destroy(struct scenario *sc)
{
        if (!sc)
                return;
        for (int i = 0; i < sc->fault_cnt; i++)
                json_decref(sc->faults[i].params);
        free(sc->connector.command);
        free(sc->profiler.command);
        free(sc->target_file);
        free(sc->replay.domain);
        crmsync_target_destroy(sc->target);
        free(sc->description);
        free(sc->path);
        free(sc);
}

/* -- external targets ------------------------------------------------------ */

/* The clients read the properties as "key=value" lines (kafka_conf.c),
 * trimmed: a property that does not survive that, or that librdkafka
 * refuses, fails the run's set-up with no position in the target file. */
static int check_property(struct vctx *c, const char *path, const char *key,
                          const char *val)
{
        rd_kafka_conf_t *conf;
        char             kerr[512];
        size_t           n = strlen(val);
        int              rc;

        if (!*key || strpbrk(key, "= \t\r\n") || *key == '#')
                return verr(c, path, 1,
                            "a property name is not empty and has no '=', "
                            "space or line break, nor a leading '#'");
        if (strpbrk(val, "\r\n"))
                return verr(c, path, 0, "a value has no line break");
        if (n && (isspace((unsigned char)val[0]) ||
                  isspace((unsigned char)val[n - 1])))
                return verr(c, path, 0,
                            "a value has no leading or trailing space (the "
                            "clients would not see it)");
        if (!(conf = rd_kafka_conf_new()))
                return verr(c, path, 0, "out of memory");
        rc = rd_kafka_conf_set(conf, key, val, kerr, sizeof(kerr));
        rd_kafka_conf_destroy(conf);
        if (rc != RD_KAFKA_CONF_OK)
                return verr(c, path, rc == RD_KAFKA_CONF_UNKNOWN, "%s", kerr);
        return 0;
}

static int load_target(struct vctx *c, json_t *root, struct scenario_target *t)
{
        static const char *const known[]  = {"name", "properties", "topics",
                                             "commands", NULL};
        static const char *const topick[] = {"create", "replication", NULL};
        static const char *const cmdk[]   = {"broker_down", "broker_up", NULL};
        json_t                  *props, *o, *v;
        const char              *k;

        if (!json_is_object(root))
                return verr(c, "", 0, "a target must be a JSON object");
        if (check_known(c, root, "", known) ||
            get_str(c, root, "", "name", t->name, sizeof(t->name), NULL) ||
            get_obj(c, root, "", "properties", &props))
                return -1;
        if (!props || !json_object_get(props, "bootstrap.servers"))
                return verr(c, props ? "properties" : "", 0,
                            "missing required property 'bootstrap.servers'");
        json_object_foreach(props, k, v)
        {
                char p[512];
                snprintf(p, sizeof(p), "properties.%s", k);
                if (!json_is_string(v))
                        return verr(c, p, 0,
                                    "librdkafka properties are strings, got "
                                    "%s",
                                    type_name(v));
                if (check_property(c, p, k, json_string_value(v)))
                        return -1;
        }
        if (get_str(c, props, "properties", "bootstrap.servers", t->bootstrap,
                    sizeof(t->bootstrap), NULL))
                return -1;
        t->properties = json_incref(props);
        if (get_obj(c, root, "", "topics", &o))
                return -1;
        if (o &&
            (check_known(c, o, "topics", topick) ||
             get_bool(c, o, "topics", "create", &t->create_topics) ||
             get_int(c, o, "topics", "replication", &t->replication, 1, 16)))
                return -1;
        if (get_obj(c, root, "", "commands", &o))
                return -1;
        if (o &&
            (check_known(c, o, "commands", cmdk) ||
             get_strdup(c, o, "commands", "broker_down", &t->broker_down) ||
             get_strdup(c, o, "commands", "broker_up", &t->broker_up)))
                return -1;
        if (!t->broker_down != !t->broker_up)
                return verr(c, "commands", 0,
                            "broker_down and broker_up go together");
        return 0;
}

struct scenario_target *crmsync_target_load(const char *path, char *errstr,
                                            size_t errstr_size)
{
        FILE                   *fp = fopen(path, "rb");
        char                   *buf;
        size_t                  n;
        json_error_t            jerr;
        json_t                 *root;
        struct scenario_target *t;
        struct vctx             c = {path, NULL, errstr, errstr_size, 0};

        if (!fp) {
                crmsync_err(errstr, errstr_size, "%s: %s", path,
                            strerror(errno));
                return NULL;
        }
        buf = malloc(SCENARIO_MAX_BYTES + 1);
        n   = buf ? fread(buf, 1, SCENARIO_MAX_BYTES + 1, fp) : 0;
        fclose(fp);
        if (!buf || n > SCENARIO_MAX_BYTES) {
                free(buf);
                crmsync_err(errstr, errstr_size, "%s: too large", path);
                return NULL;
        }
        if (!(root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr))) {
                crmsync_err(errstr, errstr_size, "%s:%d:%d: %s", path,
                            jerr.line, jerr.column, jerr.text);
                free(buf);
                return NULL;
        }
        t              = calloc(1, sizeof(*t));
        t->replication = 1;
        c.jp           = crmsync_jsonpos_index(buf, n);
        if (load_target(&c, root, t) == -1) {
                crmsync_target_destroy(t);
                t = NULL;
        }
        crmsync_jsonpos_destroy(c.jp);
        json_decref(root);
        free(buf);
        return t;
}

void crmsync_target_destroy(struct scenario_target *t)
{
        if (!t)
                return;
        json_decref(t->properties);
        free(t->broker_down);
        free(t->broker_up);
        free(t);
}
