/* scenario_check.c -- scenario checks across sections: what a run would
 * only find out too late (fault overlaps, targets, replay domains). */
#include "harness/scenario_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/domain.h"
#include "harness/cluster.h"
#include "harness/fault.h"

/* Two faults of one exclusive group (same broker for broker faults) may
 * not overlap in time. */
int scenario_check_overlaps(struct vctx *c, struct scenario *sc)
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
                                return scenario_err(
                                    c, p, 0,
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
int scenario_check_expect(struct vctx *c, const struct scenario *sc)
{
        static const char *const procs[] = {"connector_crash", "profiler_crash",
                                            "connector_pause", "profiler_pause",
                                            NULL};
        static const char *const restarts[] = {"broker_restart", NULL};
        const struct scenario_expect *e     = &sc->expect;

        if (e->replay_min_events_per_s > 0 && !sc->replay.enabled)
                return scenario_err(
                    c, "expect.replay_min_events_per_s", 0,
                    "bounds a replay, and this scenario has none "
                    "(add \"replay\": {})");
        if (e->catch_up_within_s > 0 && !has_fault(sc, procs))
                return scenario_err(
                    c, "expect.catch_up_within_s", 0,
                    "bounds the catch-up after a connector_crash, "
                    "profiler_crash, connector_pause or profiler_pause, "
                    "and this "
                    "scenario has none");
        if (e->broker_unavailable_max_s > 0 && !has_fault(sc, restarts))
                return scenario_err(
                    c, "expect.broker_unavailable_max_s", 0,
                    "bounds each broker_restart's unavailability, "
                    "and this scenario has none");
        return 0;
}

/* The effective workload (defaults applied) into eff; an error names the
 * field that makes it impossible. */
int scenario_check_workload(struct vctx *c, json_t *root, struct scenario *sc,
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
                return scenario_err(c, "workload", 0, "%s", msg);
        return scenario_err(
            c,
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
int scenario_check_topic(struct vctx *c, const struct scenario *sc)
{
        const char *t = sc->topic;
        if (!*t)
                return scenario_err(c, "target.topic", 0,
                                    "the topic name is empty");
        if (!strcmp(t, ".") || !strcmp(t, ".."))
                return scenario_err(c, "target.topic", 0,
                                    "'%s' is not a valid Kafka topic name", t);
        for (const char *p = t; *p; p++)
                if (!(*p == '-' || *p == '_' || *p == '.' ||
                      (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= 'A' && *p <= 'Z')))
                        return scenario_err(
                            c, "target.topic", 0,
                            "'%s': a Kafka topic name uses only "
                            "letters, digits, '.', '_' and '-'",
                            t);
        if (!strcmp(t, CLUSTER_PROBE_TOPIC) ||
            !strcmp(t, "crmsync.connector.offsets"))
                return scenario_err(c, "target.topic", 0,
                                    "'%s' is one of the harness's own topics",
                                    t);
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
                return scenario_err(
                    c, p, 0,
                    "target '%s' cannot do %s: it needs the "
                    "embedded broker's fault hooks (there is no "
                    "such request in the Kafka protocol)",
                    sc->target->name, f->type);
        if (!strcmp(f->type, "broker_restart") && !sc->target->broker_down)
                return scenario_err(
                    c, p, 0,
                    "target '%s' cannot do broker_restart: its "
                    "file has no commands.broker_down/broker_up",
                    sc->target->name);
        return 0;
}

/* What a fault names must exist, and it must fit in the run. */
int scenario_check_faults(struct vctx *c, const struct scenario *sc,
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
                        return scenario_err(
                            c, p, 0,
                            "no broker %lld: the embedded cluster "
                            "has %d (target.brokers), ids 1..%d",
                            broker, sc->brokers, sc->brokers);
                }
                /* Set-up checks that the topic has target.partitions,
                 * on an external cluster too. */
                if (part >= sc->partitions) {
                        snprintf(p, sizeof(p), "faults[%d].partition", i);
                        return scenario_err(
                            c, p, 0,
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
                        return scenario_err(
                            c, p, 0,
                            "webhook_storm re-sends webhooks, and "
                            "the connector in '%s' mode receives "
                            "none (set pipeline.connector.mode to "
                            "\"webhook\")",
                            sc->connector.mode);
                }
                if (seq > (long long)eff->changes) {
                        snprintf(p, sizeof(p), "faults[%d].seq", i);
                        return scenario_err(
                            c, p, 0,
                            "no change %lld: the workload commits "
                            "%u (workload.changes)",
                            seq, eff->changes);
                }
                if (sc->timeout_s > 0 && end >= sc->timeout_s) {
                        int starts = f->at_s >= sc->timeout_s;
                        snprintf(p, sizeof(p), "faults[%d].%s", i,
                                 starts ? "at_s" : "duration_s");
                        return scenario_err(
                            c, p, 0,
                            "the fault %s at %gs, at or after "
                            "timeout_s %gs: the run gives up first",
                            starts ? "starts" : "ends", starts ? f->at_s : end,
                            sc->timeout_s);
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
                return scenario_err(c, "replay.domain", 0, "%s", msg);
        creates =
            (uint64_t)eff->accounts *
            (1 + (uint64_t)eff->contacts_per_account +
             eff->opportunities_per_account + eff->entitlements_per_account);
        most = eff->accounts + (eff->changes - creates);
        for (size_t i = 0; i < d.nids && !rc; i++) {
                unsigned long n = account_number(d.ids[i]);
                if (!n)
                        rc =
                            scenario_err(c, "replay.domain", 0,
                                         "'%s' is not an account id (A-000001, "
                                         "A-000002, ...)",
                                         d.ids[i]);
                else if (n > most)
                        rc = scenario_err(
                            c, "replay.domain", 0,
                            "no account %s: this workload has at "
                            "most %llu (%u initial, up to one more "
                            "per later change)",
                            d.ids[i], (unsigned long long)most, eff->accounts);
        }
        crmsync_domain_clear(&d);
        return rc;
}

int scenario_check_replay(struct vctx *c, json_t *root,
                          const struct scenario            *sc,
                          const struct crm_workload_config *eff)
{
        json_t *o = json_object_get(root, "replay");
        if (!o)
                return 0;
        if (!sc->target && !strcmp(sc->replay.from, "timestamp"))
                return scenario_err(
                    c, "replay.from", 0,
                    "a replay from a timestamp needs offset lookup "
                    "by timestamp, which the embedded broker "
                    "(librdkafka's mock) does not have; use "
                    "\"earliest\" or an external target");
        if (json_object_get(o, "from_s") &&
            strcmp(sc->replay.from, "timestamp"))
                return scenario_err(c, "replay.from_s", 0,
                                    "from_s needs \"from\": \"timestamp\" (a "
                                    "replay from earliest would ignore it)");
        return sc->replay.domain ? check_domain(c, sc, eff) : 0;
}
