/* scenario_expect.c -- the expect section of a scenario: verdict, bounds
 * and anomaly classes, read into struct scenario_expect. */
#include "harness/scenario_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "harness/checker.h"

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
        if (scenario_get_u64(c, obj, path, key, &v, 0, UINT32_MAX))
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
        if (scenario_get_obj(c, obj, "expect", "api", &api))
                return -1;
        if (!api)
                return 0;
        return scenario_check_known(c, api, "expect.api", known) ||
                       load_anomaly_bound(c, api, "expect.api",
                                          "early_retries_max",
                                          &e->api_early_retries_max) ||
                       load_anomaly_bound(c, api, "expect.api",
                                          "over_rate_limit_max",
                                          &e->api_over_rate_limit_max) ||
                       load_anomaly_bound(c, api, "expect.api",
                                          "over_daily_quota_max",
                                          &e->api_over_daily_quota_max) ||
                       scenario_get_num(c, api, "expect.api",
                                        "requests_per_change_max",
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
                        return scenario_err(
                            c, path, 1,
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
                return scenario_err(
                    c, path, 0,
                    "expected an array of expectation names, got %s",
                    scenario_type_name(arr));
        if (json_array_size(arr) > SCENARIO_MAX_MUST_FAIL)
                return scenario_err(c, path, 0, "at most %d names",
                                    SCENARIO_MAX_MUST_FAIL);
        json_array_foreach(arr, i, v)
        {
                snprintf(p, sizeof(p), "%s[%zu]", path, i);
                if (!json_is_string(v) || !*json_string_value(v))
                        return scenario_err(c, p, 0,
                                            "expected a non-empty string (an "
                                            "expectation name as summary.json "
                                            "gives it), got %s",
                                            scenario_type_name(v));
                if (strlen(json_string_value(v)) >= sizeof(out[0]))
                        return scenario_err(c, p, 0,
                                            "longer than %zu characters",
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

        if (scenario_get_str(c, obj, "expect", "verdict", verdict,
                             sizeof(verdict), "pass|fail") ||
            scenario_get_obj(c, obj, "expect", "anomalies_at_least", &al))
                return -1;
        mf->enabled = !strcmp(verdict, "fail");
        if (!mf->enabled && (al || names || also))
                return scenario_err(c,
                                    al      ? "expect.anomalies_at_least"
                                    : names ? "expect.failing"
                                            : "expect.may_also_fail",
                                    1,
                                    "only for a scenario that must fail: add "
                                    "\"verdict\": \"fail\"");
        if (mf->enabled && !(al && json_object_size(al)) &&
            !(names && json_array_size(names)))
                return scenario_err(
                    c, "expect.verdict", 0,
                    "\"fail\" needs the way the run must fail: "
                    "expect.anomalies_at_least {\"<class>\": n} "
                    "or expect.failing [\"<expectation name>\"]");
        if (al && json_object_size(al) > SCENARIO_MAX_MUST_FAIL)
                return scenario_err(c, "expect.anomalies_at_least", 0,
                                    "at most %d entries",
                                    SCENARIO_MAX_MUST_FAIL);
        json_object_foreach(al, k, v)
        {
                uint64_t n = 0;
                int      j = mf->at_least_cnt;
                scenario_join(p, sizeof(p), "expect.anomalies_at_least", k);
                if (strlen(k) >= sizeof(mf->at_least[0].classes))
                        return scenario_err(c, p, 1, "name too long");
                if (check_class_sum(c, p, k, classes) ||
                    scenario_get_u64(c, al, "expect.anomalies_at_least", k, &n,
                                     1, UINT32_MAX))
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

int scenario_load_expect(struct vctx *c, json_t *obj, struct scenario_expect *e)
{
        static const char *const known[] = {"anomalies",
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
        const char              *classes[ANOMALY_CNT + 1];
        int64_t                 *slots[] = {&e->missing,
                                            &e->stale,
                                            &e->zombie,
                                            &e->divergent,
                                            &e->unexpected,
                                            &e->lost,
                                            &e->duplicate_side_effect,
                                            &e->reordered,
                                            &e->dead_lettered};
        json_t                  *an;

        /* The classes in the checker's order, which slots follows. */
        for (int i = 0; i < ANOMALY_CNT; i++)
                classes[i] = crmsync_anomaly_name((enum anomaly_class)i);
        classes[ANOMALY_CNT] = NULL;
        if (!obj)
                return 0;
        if (load_expect_api(c, obj, e))
                return -1;
        if (scenario_check_known(c, obj, "expect", known) ||
            load_must_fail(c, obj, &e->must_fail, classes) ||
            scenario_get_obj(c, obj, "expect", "anomalies", &an) ||
            scenario_get_num(c, obj, "expect", "converge_within_s",
                             &e->converge_within_s, 0, 86400) ||
            scenario_get_num(c, obj, "expect", "freshness_p99_ms_max",
                             &e->freshness_p99_ms_max, 0, 1e9) ||
            scenario_get_num(c, obj, "expect", "freshness_steady_p99_ms_max",
                             &e->freshness_steady_p99_ms_max, 0, 1e9) ||
            scenario_get_num(c, obj, "expect", "replay_min_events_per_s",
                             &e->replay_min_events_per_s, 0, 1e9) ||
            scenario_get_num(c, obj, "expect", "catch_up_within_s",
                             &e->catch_up_within_s, 0, 86400) ||
            scenario_get_num(c, obj, "expect", "broker_unavailable_max_s",
                             &e->broker_unavailable_max_s, 0, 86400))
                return -1;
        /* The old name of freshness_p99_ms_max (it bounded the latency of
         * the changes that got their own write; now freshness). */
        if (json_object_get(obj, "e2e_p99_ms_max")) {
                if (json_object_get(obj, "freshness_p99_ms_max"))
                        return scenario_err(
                            c, "expect.e2e_p99_ms_max", 1,
                            "the old name of freshness_p99_ms_max: "
                            "give only one of them");
                if (scenario_get_num(c, obj, "expect", "e2e_p99_ms_max",
                                     &e->freshness_p99_ms_max, 0, 1e9))
                        return -1;
        }
        if (!an)
                return 0;
        if (scenario_check_known(c, an, "expect.anomalies", classes))
                return -1;
        for (int i = 0; classes[i]; i++)
                if (load_anomaly_bound(c, an, "expect.anomalies", classes[i],
                                       slots[i]))
                        return -1;
        return 0;
}
