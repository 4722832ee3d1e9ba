/* verdict.c -- the verdict of a scenario that must fail: caught in the
 * expected way, and only that way. */
#include "harness/verdict.h"

#include <stdio.h>
#include <string.h>

/* Sum of the classes of "stale+missing" in anomalies. */
static json_int_t class_sum(const json_t *anomalies, const char *sum)
{
        char        name[64];
        json_int_t  total = 0;
        const char *at    = sum;
        while (*at) {
                size_t n = strcspn(at, "+");
                snprintf(name, sizeof(name), "%.*s", (int)n, at);
                total += json_integer_value(json_object_get(anomalies, name));
                at += n + (at[n] == '+');
        }
        return total;
}

/* "anomalies.<class> <= n" for a class named in one of the sums. */
static int explained_bound(const struct scenario_must_fail *mf,
                           const char                      *name)
{
        const char *cls;
        size_t      n;
        if (strncmp(name, "anomalies.", 10))
                return 0;
        cls = name + 10;
        n   = strcspn(cls, " ");
        if (strncmp(cls + n, " <=", 3))
                return 0;
        for (int i = 0; i < mf->at_least_cnt; i++) {
                const char *at = mf->at_least[i].classes;
                while (*at) {
                        size_t m = strcspn(at, "+");
                        if (m == n && !strncmp(at, cls, n))
                                return 1;
                        at += m + (at[m] == '+');
                }
        }
        return 0;
}

/* The sink cannot match the CRM while a record is missing, stale, a
 * zombie, divergent or unexpected: "converged within" then fails as a
 * consequence of those anomalies, which their own bounds judge. */
static int explained_convergence(const json_t *anomalies, const char *name)
{
        return !strncmp(name, "converged within", 16) &&
               class_sum(anomalies,
                         "missing+stale+zombie+divergent+unexpected") > 0;
}

static int named(const struct scenario_must_fail *mf, const char *name)
{
        for (int i = 0; i < mf->name_cnt; i++)
                if (!strcmp(mf->names[i], name))
                        return 1;
        return 0;
}

/* In expect.may_also_fail: by name, or an anomaly class by its bound. */
static int also(const struct scenario_must_fail *mf, const char *name)
{
        size_t n;
        for (int i = 0; i < mf->also_cnt; i++) {
                if (!strcmp(mf->also[i], name))
                        return 1;
                n = strlen(mf->also[i]);
                if (!strncmp(name, "anomalies.", 10) &&
                    !strncmp(name + 10, mf->also[i], n) &&
                    !strncmp(name + 10 + n, " <=", 3))
                        return 1;
        }
        return 0;
}

static void add(json_t *exp, const char *name, int ok, const char *detail)
{
        json_array_append_new(exp, json_pack("{s:s, s:b, s:s}", "name", name,
                                             "ok", ok, "detail", detail));
}

int crmsync_verdict_apply(const struct scenario_must_fail *mf, json_t *summary,
                          int failed)
{
        json_t *exp   = json_object_get(summary, "expectations"), *e;
        json_t *an    = json_object_get(summary, "anomalies");
        json_t *found = json_object(), *other = json_array();
        json_t *at_least = json_object(), *names = json_array(), *ef;
        char    name[256], detail[512];
        int     caught = 1;
        size_t  i, nexp;

        if (!mf->enabled || !json_is_array(exp)) {
                json_decref(found);
                json_decref(other);
                json_decref(at_least);
                json_decref(names);
                return failed;
        }
        /* The run's own expectations: the expected failure explains some;
         * any other failure is a failure for a different reason. */
        nexp = json_array_size(exp);
        for (i = 0; i < nexp; i++) {
                const char *n;
                e = json_array_get(exp, i);
                n = json_string_value(json_object_get(e, "name"));
                if (!n || json_is_true(json_object_get(e, "ok")))
                        continue;
                if (explained_bound(mf, n) || named(mf, n) || also(mf, n) ||
                    explained_convergence(an, n)) {
                        snprintf(
                            detail, sizeof(detail), "failed as expected: %s",
                            json_string_value(json_object_get(e, "detail")));
                        json_object_set_new(e, "ok", json_true());
                        json_object_set_new(e, "expected_failure", json_true());
                        json_object_set_new(e, "detail", json_string(detail));
                } else {
                        json_array_append_new(other, json_string(n));
                }
        }
        for (int j = 0; j < mf->at_least_cnt; j++) {
                json_int_t got = class_sum(an, mf->at_least[j].classes);
                int        ok  = got >= mf->at_least[j].n;
                json_object_set_new(at_least, mf->at_least[j].classes,
                                    json_integer(mf->at_least[j].n));
                json_object_set_new(found, mf->at_least[j].classes,
                                    json_integer(got));
                snprintf(name, sizeof(name), "must fail: anomalies.%s >= %lld",
                         mf->at_least[j].classes, (long long)mf->at_least[j].n);
                snprintf(detail, sizeof(detail), "found %lld%s", (long long)got,
                         ok ? "" : ": the mutation was not caught");
                add(exp, name, ok, detail);
                caught &= ok;
        }
        for (int j = 0; j < mf->name_cnt; j++) {
                const json_t *hit = NULL;
                int           ok;
                for (i = 0; i < nexp; i++) {
                        const char *n = json_string_value(
                            json_object_get(json_array_get(exp, i), "name"));
                        if (n && !strcmp(mf->names[j], n))
                                hit = json_array_get(exp, i);
                }
                ok = hit &&
                     json_is_true(json_object_get(hit, "expected_failure"));
                json_array_append_new(names, json_string(mf->names[j]));
                json_object_set_new(found, mf->names[j],
                                    json_string(!hit ? "absent"
                                                : ok ? "failed"
                                                     : "passed"));
                snprintf(name, sizeof(name), "must fail: %s", mf->names[j]);
                add(exp, name, ok,
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
                add(exp, "must fail: in no other way", 0, detail);
        }
        ef =
            json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "verdict", "fail",
                      "anomalies_at_least", at_least, "failing", names, "found",
                      found, "other_failures", other, "caught", caught);
        caught = caught && !json_array_size(other);
        json_object_set(summary, "run_verdict",
                        json_object_get(summary, "verdict"));
        json_object_set_new(summary, "expected_failure", ef);
        json_object_set_new(summary, "verdict",
                            json_string(caught ? "pass" : "fail"));
        return caught ? 0 : 1;
}
