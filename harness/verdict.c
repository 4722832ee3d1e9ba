/* verdict.c -- the run's expectations as a typed list, and the verdict of
 * a scenario that must fail: caught in the expected way, and only that
 * way. The verdict reads the typed rows and counts, never summary.json. */
#include "harness/verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

int crmsync_expectations_add(struct expectations *x, const char *name, int ok,
                             int anomaly, const char *detail)
{
        struct expectation *e;

        if (crmsync_array_grow(&x->v, &x->cap, x->cnt, sizeof(*x->v), 32))
                return -1;
        e = &x->v[x->cnt++];
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), "%s", name);
        snprintf(e->detail, sizeof(e->detail), "%s", detail);
        e->ok      = ok;
        e->anomaly = anomaly;
        return 0;
}

json_t *crmsync_expectations_json(const struct expectations *x)
{
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < x->cnt; i++) {
                const struct expectation *e = &x->v[i];
                json_t *o = json_pack("{s:s, s:b, s:s}", "name", e->name, "ok",
                                      e->ok, "detail", e->detail);
                if (o && e->expected_failure)
                        json_object_set_new(o, "expected_failure", json_true());
                json_array_append_new(arr, o);
        }
        return arr;
}

void crmsync_expectations_clear(struct expectations *x)
{
        free(x->v);
        memset(x, 0, sizeof(*x));
}

/* The anomaly class named by the n characters at name, or -1. */
static int class_of(const char *name, size_t n)
{
        for (int c = 0; c < ANOMALY_CNT; c++) {
                const char *k = crmsync_anomaly_name((enum anomaly_class)c);
                if (strlen(k) == n && !strncmp(k, name, n))
                        return c;
        }
        return -1;
}

/* Sum of the classes of "stale+missing" in counts. */
static long long class_sum(const uint64_t *counts, const char *sum)
{
        long long   total = 0;
        const char *at    = sum;
        while (*at) {
                size_t n = strcspn(at, "+");
                int    c = class_of(at, n);
                if (c >= 0)
                        total += (long long)counts[c];
                at += n + (at[n] == '+');
        }
        return total;
}

/* An anomaly bound of a class named in one of the sums. */
static int explained_bound(const struct scenario_must_fail *mf,
                           const struct expectation        *e)
{
        if (e->anomaly < 0)
                return 0;
        for (int i = 0; i < mf->at_least_cnt; i++) {
                const char *at = mf->at_least[i].classes;
                while (*at) {
                        size_t m = strcspn(at, "+");
                        if (class_of(at, m) == e->anomaly)
                                return 1;
                        at += m + (at[m] == '+');
                }
        }
        return 0;
}

/* The sink cannot match the CRM while a record is missing, stale, a
 * zombie, divergent or unexpected: "converged within" then fails as a
 * consequence of those anomalies, which their own bounds judge. */
static int explained_convergence(const uint64_t *counts, const char *name)
{
        return !strncmp(name, "converged within", 16) &&
               class_sum(counts, "missing+stale+zombie+divergent+unexpected") >
                   0;
}

static int named(const struct scenario_must_fail *mf, const char *name)
{
        for (int i = 0; i < mf->name_cnt; i++)
                if (!strcmp(mf->names[i], name))
                        return 1;
        return 0;
}

/* In expect.may_also_fail: by name, or an anomaly class by its bound. */
static int also(const struct scenario_must_fail *mf,
                const struct expectation        *e)
{
        for (int i = 0; i < mf->also_cnt; i++) {
                if (!strcmp(mf->also[i], e->name))
                        return 1;
                if (e->anomaly >= 0 &&
                    class_of(mf->also[i], strlen(mf->also[i])) == e->anomaly)
                        return 1;
        }
        return 0;
}

/* The run's own failed expectations: the expected failure explains some
 * (marked so); the names of the others go into other. */
static void mark_explained(const struct scenario_must_fail *mf,
                           struct expectations *x, const uint64_t *counts,
                           json_t *other)
{
        char   detail[sizeof(x->v[0].detail) + 32];
        size_t n;

        for (size_t i = 0; i < x->cnt; i++) {
                struct expectation *e = &x->v[i];
                if (e->ok)
                        continue;
                if (explained_bound(mf, e) || named(mf, e->name) ||
                    also(mf, e) || explained_convergence(counts, e->name)) {
                        snprintf(detail, sizeof(detail),
                                 "failed as expected: %s", e->detail);
                        n = strlen(detail);
                        if (n >= sizeof(e->detail))
                                n = sizeof(e->detail) - 1;
                        memcpy(e->detail, detail, n);
                        e->detail[n]        = '\0';
                        e->ok               = 1;
                        e->expected_failure = 1;
                } else {
                        json_array_append_new(other, json_string(e->name));
                }
        }
}

int crmsync_verdict_apply(const struct scenario_must_fail *mf,
                          struct expectations *x, const uint64_t *counts,
                          json_t *summary, int failed)
{
        json_t *found = NULL, *other, *at_least, *names, *ef;
        char    name[256], detail[512];
        int     caught = 1;
        size_t  i, nexp = x->cnt;

        if (!mf->enabled)
                return failed;
        found    = json_object();
        other    = json_array();
        at_least = json_object();
        names    = json_array();
        mark_explained(mf, x, counts, other);
        for (int j = 0; j < mf->at_least_cnt; j++) {
                long long got = class_sum(counts, mf->at_least[j].classes);
                int       ok  = got >= mf->at_least[j].n;
                json_object_set_new(at_least, mf->at_least[j].classes,
                                    json_integer(mf->at_least[j].n));
                json_object_set_new(found, mf->at_least[j].classes,
                                    json_integer(got));
                snprintf(name, sizeof(name), "must fail: anomalies.%s >= %lld",
                         mf->at_least[j].classes, (long long)mf->at_least[j].n);
                snprintf(detail, sizeof(detail), "found %lld%s", got,
                         ok ? "" : ": the mutation was not caught");
                crmsync_expectations_add(x, name, ok, -1, detail);
                caught &= ok;
        }
        for (int j = 0; j < mf->name_cnt; j++) {
                const struct expectation *hit = NULL;
                int                       ok;
                for (i = 0; i < nexp; i++)
                        if (!strcmp(mf->names[j], x->v[i].name))
                                hit = &x->v[i];
                ok = hit && hit->expected_failure;
                json_array_append_new(names, json_string(mf->names[j]));
                json_object_set_new(found, mf->names[j],
                                    json_string(!hit ? "absent"
                                                : ok ? "failed"
                                                     : "passed"));
                snprintf(name, sizeof(name), "must fail: %s", mf->names[j]);
                crmsync_expectations_add(
                    x, name, ok, -1,
                    !hit ? "the run has no expectation of that name"
                    : ok ? "failed, as it must"
                         : "passed: the mutation was not caught");
                caught &= ok;
        }
        if (json_array_size(other)) {
                size_t  len = 0;
                json_t *o;
                len += (size_t)snprintf(detail, sizeof(detail), "%s",
                                        "failed for a different reason: ");
                json_array_foreach(other, i, o) if (len < sizeof(detail)) len +=
                    (size_t)snprintf(detail + len, sizeof(detail) - len, "%s%s",
                                     i ? "; " : "", json_string_value(o));
                crmsync_expectations_add(x, "must fail: in no other way", 0, -1,
                                         detail);
        }
        ef =
            json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "verdict", "fail",
                      "anomalies_at_least", at_least, "failing", names, "found",
                      found, "other_failures", other, "caught", caught);
        caught = caught && !json_array_size(other);
        json_object_set_new(summary, "expectations",
                            crmsync_expectations_json(x));
        json_object_set(summary, "run_verdict",
                        json_object_get(summary, "verdict"));
        json_object_set_new(summary, "expected_failure", ef);
        json_object_set_new(summary, "verdict",
                            json_string(caught ? "pass" : "fail"));
        return caught ? 0 : 1;
}
