/* pilot_scorecard.c -- the six scorecard lines of a pilot from pilot.json
 * (pilot_report.h). Each row compares target A with target B; a figure a
 * run did not produce is shown as such, never invented. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/pilot_report.h"

/* Which way is better for a figure. */
enum { LOWER = -1, NONE = 0, HIGHER = 1 };

/* The run of target ti whose scenario name starts with prefix. */
static const json_t *run_of(const json_t *pilot, int ti, const char *prefix)
{
        const json_t *t =
            json_array_get(json_object_get(pilot, "targets"), (size_t)ti);
        const json_t *r;
        size_t        i;
        json_array_foreach(json_object_get(t, "runs"), i, r)
        {
                const char *s =
                    json_string_value(json_object_get(r, "scenario"));
                if (s && !strncmp(s, prefix, strlen(prefix)))
                        return r;
        }
        return NULL;
}

/* A member by dotted path ("timing.drain.events_per_s"). */
static const json_t *at(const json_t *o, const char *path)
{
        char buf[256], *save = NULL, *k;
        snprintf(buf, sizeof(buf), "%s", path);
        for (k = strtok_r(buf, ".", &save); k && o;
             k = strtok_r(NULL, ".", &save))
                o = json_object_get(o, k);
        return o;
}

static const json_t *target(const json_t *pilot, int ti)
{
        return json_array_get(json_object_get(pilot, "targets"), (size_t)ti);
}

/* The path of a run folder relative to the pilot folder (report links). */
static json_t *href(const json_t *pilot, const char *path)
{
        const char *d = json_string_value(json_object_get(pilot, "pilot_dir"));
        size_t      n = d ? strlen(d) : 0;
        if (!path)
                return json_null();
        if (n && !strncmp(path, d, n) && path[n] == '/')
                return json_string(path + n + 1);
        return json_string(path);
}

/* Evidence: the run folders of scenario prefix on A and B. */
static json_t *runs_evidence(const json_t *pilot, const char *prefix)
{
        json_t *ev = json_array();
        for (int ti = 0; ti < 2; ti++) {
                const json_t *r = run_of(pilot, ti, prefix);
                char          label[96];
                if (!r)
                        continue;
                snprintf(label, sizeof(label), "%s: %s", ti ? "B" : "A",
                         json_string_value(json_object_get(r, "scenario")));
                json_array_append_new(
                    ev, json_pack("{s:s, s:o}", "label", label, "href",
                                  href(pilot, json_string_value(json_object_get(
                                                  r, "run_dir")))));
        }
        return ev;
}

static json_t *probe_evidence(void)
{
        return json_pack("[{s:s, s:s}, {s:s, s:s}]", "label", "probe A", "href",
                         "probe-A.md", "label", "probe B", "href",
                         "probe-B.md");
}

/* A row; a and b are stolen (NULL = json null). */
static void row(json_t *rows, const char *figure, const char *unit, json_t *a,
                json_t *b, int dir, json_t *evidence)
{
        json_t     *ratio  = json_null();
        const char *better = "";
        if (!a)
                a = json_null();
        if (!b)
                b = json_null();
        if (json_is_number(a) && json_is_number(b)) {
                double x = json_number_value(a), y = json_number_value(b);
                if (x != 0)
                        ratio = json_real(y / x);
                if (dir != NONE) {
                        double rel = fabs(y - x) /
                                     (fabs(x) > fabs(y) ? fabs(x) : fabs(y));
                        /* Single runs on a shared machine: under 10%,
                         * or under a quarter second, is noise. */
                        if (x == y || rel < 0.10 ||
                            (!strcmp(unit, "s") && fabs(y - x) < 0.25))
                                better = "same";
                        else
                                better = (dir == HIGHER) == (y > x) ? "B" : "A";
                }
        } else if (json_is_string(a) && json_is_string(b) && dir == NONE) {
                better = strcmp(json_string_value(a), json_string_value(b))
                             ? ""
                             : "same";
        }
        json_array_append_new(
            rows,
            json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "figure", figure,
                      "unit", unit, "a", a, "b", b, "ratio", ratio, "better",
                      better, "evidence", evidence ? evidence : json_array()));
}

static json_t *num_at(const json_t *pilot, int ti, const char *prefix,
                      const char *path)
{
        const json_t *v = at(run_of(pilot, ti, prefix), path);
        return json_is_number(v) ? json_real(json_number_value(v)) : NULL;
}

static void run_row(json_t *rows, const json_t *pilot, const char *figure,
                    const char *unit, const char *prefix, const char *path,
                    int dir)
{
        row(rows, figure, unit, num_at(pilot, 0, prefix, path),
            num_at(pilot, 1, prefix, path), dir, runs_evidence(pilot, prefix));
}

static json_t *line(json_t *lines, const char *title)
{
        json_t *l =
            json_pack("{s:s, s:[], s:[]}", "title", title, "rows", "notes");
        json_array_append_new(lines, l);
        return l;
}

static void note(json_t *l, const char *text)
{
        json_array_append_new(json_object_get(l, "notes"), json_string(text));
}

static int status_rank(const char *s)
{
        return !s                          ? 0
               : !strcmp(s, "pass")        ? 3
               : !strcmp(s, "unsupported") ? 2
                                           : 1;
}

static void compatibility(json_t *lines, const json_t *pilot)
{
        json_t       *l    = line(lines, "Compatibility");
        json_t       *rows = json_object_get(l, "rows");
        const json_t *pa   = json_object_get(target(pilot, 0), "probe");
        const json_t *pb   = json_object_get(target(pilot, 1), "probe");
        const json_t *it;
        size_t        i;
        static const char *const k[] = {"pass", "fail", "unsupported"};

        for (int j = 0; j < 3; j++) {
                char f[64];
                snprintf(f, sizeof(f), "checklist items %s", k[j]);
                row(rows, f, "count",
                    json_incref((json_t *)at(pa, j == 0 ? "counts.pass"
                                                 : j == 1
                                                     ? "counts.fail"
                                                     : "counts.unsupported")),
                    json_incref((json_t *)at(pb, j == 0 ? "counts.pass"
                                                 : j == 1
                                                     ? "counts.fail"
                                                     : "counts.unsupported")),
                    j == 0 ? HIGHER : LOWER, probe_evidence());
        }
        json_array_foreach(json_object_get(pa, "items"), i, it)
        {
                const json_t *ib =
                    json_array_get(json_object_get(pb, "items"), i);
                const char *sa =
                    json_string_value(json_object_get(it, "status"));
                const char *sb =
                    json_string_value(json_object_get(ib, "status"));
                json_t *r;
                row(rows, json_string_value(json_object_get(it, "item")), "",
                    json_string(sa ? sa : "?"), json_string(sb ? sb : "?"),
                    NONE, probe_evidence());
                r = json_array_get(rows, json_array_size(rows) - 1);
                if (sa && sb && strcmp(sa, sb))
                        json_object_set_new(
                            r, "better",
                            json_string(
                                status_rank(sa) > status_rank(sb) ? "A" : "B"));
        }
        note(l, "Each item: pass, fail or unsupported, with the API version "
                "used and the broker's error in probe-A.md / probe-B.md (and "
                "their .json). The same client code and properties reach "
                "both targets: no rewrite between them.");
}

static json_t *max_unavailable(const json_t *pilot, int ti)
{
        const json_t *e;
        size_t        i;
        double        m = -1;
        json_array_foreach(
            at(run_of(pilot, ti, "04-"), "timing.broker_unavailable"), i, e)
        {
                double v =
                    json_number_value(json_object_get(e, "unavailable_s"));
                if (v > m)
                        m = v;
        }
        return m < 0 ? NULL : json_real(m);
}

static json_t *scale_out_of(const json_t *pilot, int ti)
{
        const json_t *s = json_object_get(target(pilot, ti), "scale_out");
        if (!json_is_object(s))
                return json_string("no commands.scale_out in the target file");
        if (json_integer_value(json_object_get(s, "exit_code")))
                return json_string("scale_out command failed");
        return json_real(json_number_value(json_object_get(s, "seconds")));
}

static void elasticity(json_t *lines, const json_t *pilot)
{
        json_t *l    = line(lines, "Elasticity");
        json_t *rows = json_object_get(l, "rows");
        run_row(rows, pilot, "catch-up after connector downtime", "s", "03-",
                "timing.catch_up_s", LOWER);
        run_row(rows, pilot, "drain rate during catch-up", "events/s", "03-",
                "timing.drain.events_per_s", HIGHER);
        run_row(rows, pilot, "drain rate, mirrored stream", "events/s", "01-",
                "timing.drain.events_per_s", HIGHER);
        run_row(rows, pilot, "replay rate (offset range)", "events/s", "05-",
                "timing.replay.events_per_s", HIGHER);
        run_row(rows, pilot, "replay read rate at the broker", "events/s",
                "05-", "timing.replay.drain_events_per_s", HIGHER);
        run_row(rows, pilot, "convergence after the broker restart", "s", "04-",
                "timing.convergence_s", LOWER);
        row(rows, "broker unavailable (harness probe, worst partition)", "s",
            max_unavailable(pilot, 0), max_unavailable(pilot, 1), LOWER,
            runs_evidence(pilot, "04-"));
        row(rows, "scale-out (commands.scale_out)", "s", scale_out_of(pilot, 0),
            scale_out_of(pilot, 1), LOWER, json_array());
        note(l, "Catch-up: from the end of the connector's downtime to the "
                "sink holding every change again. Drain rate: changes "
                "committed in the CRM to their last sink write. Replay: the "
                "run's own offset range rebuilt into a cleared sink.");
}

/* A figure of target ti's cost model ("shared_nothing.total_month"), or
 * null when it has none. */
static json_t *cost_of(const json_t *pilot, int ti, const char *model,
                       const char *figure)
{
        const json_t *t = json_array_get(
            json_object_get(json_object_get(pilot, "capacity"), "targets"),
            (size_t)ti);
        const json_t *v = json_object_get(
            json_object_get(json_object_get(json_object_get(t, "cost"), model),
                            figure),
            "value");
        return json_is_number(v) ? json_real(json_number_value(v))
                                 : json_null();
}

static json_t *measured_of(const json_t *pilot, int ti, const char *what)
{
        const json_t *t = json_array_get(
            json_object_get(json_object_get(pilot, "capacity"), "targets"),
            (size_t)ti);
        const json_t *v = json_object_get(json_object_get(t, "measured"), what);
        return json_is_number(v) ? json_real(json_number_value(v))
                                 : json_null();
}

static void cost(json_t *lines, const json_t *pilot)
{
        static const struct {
                const char *figure, *model, *key, *per;
        } figs[] = {
            {"shared-nothing, steady state", "shared_nothing", "total_month",
             "/month"},
            {"shared storage, steady state", "shared_storage", "total_month",
             "/month"},
            {"shared-nothing, failure window", "shared_nothing", "window_cost",
             ""},
            {"shared storage, failure window", "shared_storage", "window_cost",
             ""},
        };
        json_t       *l    = line(lines, "Cost");
        json_t       *rows = json_object_get(l, "rows");
        const json_t *cap  = json_object_get(pilot, "capacity");
        const char   *cur = json_string_value(json_object_get(cap, "currency"));
        char          unit[64], text[512];
        if (!json_is_object(cap)) {
                row(rows, "cost under failure traffic", "",
                    json_string("no capacity file"),
                    json_string("no capacity file"), NONE, json_array());
                note(
                    l,
                    "No capacity file was given (crmsync pilot --capacity-file "
                    "FILE, docs/capacity.md): crmsync has no prices of "
                    "its own, so it gives no cost figure for either "
                    "target. The runs' traffic under faults (catch-up, "
                    "replay, broker restart) is in their summary.json.");
                return;
        }
        row(rows, "measured rate (mirrored stream)", "changes/s",
            measured_of(pilot, 0, "rate_per_s"),
            measured_of(pilot, 1, "rate_per_s"), NONE,
            runs_evidence(pilot, "01-"));
        row(rows, "average record", "bytes",
            measured_of(pilot, 0, "record_bytes"),
            measured_of(pilot, 1, "record_bytes"), NONE,
            runs_evidence(pilot, "01-"));
        row(rows, "failure window: records read again", "records",
            measured_of(pilot, 0, "window_records"),
            measured_of(pilot, 1, "window_records"), NONE,
            runs_evidence(pilot, "03-"));
        for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
                snprintf(unit, sizeof(unit), "%s%s", cur ? cur : "",
                         figs[i].per);
                row(rows, figs[i].figure, unit,
                    cost_of(pilot, 0, figs[i].model, figs[i].key),
                    cost_of(pilot, 1, figs[i].model, figs[i].key), LOWER,
                    json_array());
        }
        snprintf(text, sizeof(text),
                 "The capacity model (docs/capacity.md#cost-model) for each "
                 "target, with the prices and cluster shape of %s (the "
                 "user's input: no price is built in) and the load measured "
                 "on that target's runs: the mirrored stream's drain rate and "
                 "record size; the failure window is the catch-up's backlog "
                 "plus the replayed range. Every figure with its formula is "
                 "in pilot.json (capacity).",
                 json_string_value(json_object_get(cap, "file")));
        note(l, text);
}

/* Zombie records (deleted in the CRM, alive in the sink) over all runs
 * of target ti. */
static json_t *deletes(const json_t *pilot, int ti)
{
        const json_t *r;
        size_t        i;
        long long     z = 0, n = 0;
        char          buf[160];
        json_array_foreach(json_object_get(target(pilot, ti), "runs"), i, r)
        {
                z += json_integer_value(at(r, "anomalies.zombie"));
                n++;
        }
        if (z)
                snprintf(buf, sizeof(buf),
                         "NO: %lld zombie record(s) in %lld run(s)", z, n);
        else
                snprintf(buf, sizeof(buf), "yes: 0 zombie records in %lld runs",
                         n);
        return json_string(buf);
}

static json_t *topic_config(const json_t *pilot, int ti)
{
        const json_t *f =
            at(json_object_get(target(pilot, ti), "probe"), "figures");
        char buf[200];
        if (!json_object_get(f, "cleanup.policy"))
                return json_string("not checked (DescribeConfigs unsupported)");
        snprintf(buf, sizeof(buf), "cleanup.policy=%s retention.ms=%s",
                 json_string_value(json_object_get(f, "cleanup.policy")),
                 json_string_value(json_object_get(f, "retention.ms"))
                     ? json_string_value(json_object_get(f, "retention.ms"))
                     : "?");
        return json_string(buf);
}

static json_t *probe_status(const json_t *pilot, int ti, const char *item)
{
        const json_t *it;
        size_t        i;
        json_array_foreach(
            at(json_object_get(target(pilot, ti), "probe"), "items"), i, it)
        {
                if (!strcmp(json_string_value(json_object_get(it, "item")),
                            item))
                        return json_incref(json_object_get(it, "status"));
        }
        return NULL;
}

static void governance(json_t *lines, const json_t *pilot)
{
        json_t *l    = line(lines, "Governance");
        json_t *rows = json_object_get(l, "rows");
        row(rows, "security protocol", "",
            json_incref(json_object_get(target(pilot, 0), "security_protocol")),
            json_incref(json_object_get(target(pilot, 1), "security_protocol")),
            NONE, json_array());
        row(rows, "topic retention and cleanup policy", "",
            topic_config(pilot, 0), topic_config(pilot, 1), NONE,
            probe_evidence());
        row(rows, "compacted topic with tombstones", "",
            probe_status(pilot, 0, "compacted topic with tombstones"),
            probe_status(pilot, 1, "compacted topic with tombstones"), NONE,
            probe_evidence());
        row(rows, "deletes reach the sink", "", deletes(pilot, 0),
            deletes(pilot, 1), NONE, json_array());
        note(l, "Not checked by the pilot: schemas (the path has no schema "
                "registry), ACLs, encryption at rest and quotas; retention "
                "and cleanup policy only where the target answers "
                "DescribeConfigs.");
}

static json_t *replay_result(const json_t *pilot, int ti, const char *prefix)
{
        const json_t *rp = at(run_of(pilot, ti, prefix), "timing.replay");
        const json_t *r  = run_of(pilot, ti, prefix);
        char          buf[200];
        if (!r)
                return NULL;
        if (!json_is_true(json_object_get(rp, "performed")))
                snprintf(buf, sizeof(buf), "not performed: %s",
                         json_string_value(json_object_get(rp, "reason"))
                             ? json_string_value(json_object_get(rp, "reason"))
                             : "?");
        else
                snprintf(buf, sizeof(buf), "%s (%lld events), run %s",
                         json_is_true(json_object_get(rp, "matches_oracle"))
                             ? "matches the CRM"
                             : "DIFFERS from the CRM",
                         (long long)json_integer_value(
                             json_object_get(rp, "events")),
                         json_string_value(json_object_get(r, "verdict")));
        return json_string(buf);
}

/* The DLQ scenario's dead-lettered records and whether they were covered
 * (the run passed with nothing missing); without it, the count over all
 * runs. */
static json_t *dlq(const json_t *pilot, int ti)
{
        const json_t *r = run_of(pilot, ti, "07-");
        const json_t *x;
        size_t        i;
        json_int_t    n = 0;
        char          buf[200];
        if (r) {
                snprintf(
                    buf, sizeof(buf), "%lld dead-lettered, %s (%lld missing)",
                    (long long)json_integer_value(
                        at(r, "anomalies.dead_lettered")),
                    !strcmp(
                        json_string_value(json_object_get(r, "verdict"))
                            ? json_string_value(json_object_get(r, "verdict"))
                            : "",
                        "pass")
                        ? "each covered by a re-read: run pass"
                        : "run FAILED",
                    (long long)json_integer_value(at(r, "anomalies.missing")));
                return json_string(buf);
        }
        json_array_foreach(json_object_get(target(pilot, ti), "runs"), i, x)
            n += json_integer_value(at(x, "anomalies.dead_lettered"));
        snprintf(buf, sizeof(buf),
                 "%lld dead-lettered over all runs (no DLQ scenario)",
                 (long long)n);
        return json_string(buf);
}

/* Which sink is current, from a run summary's "offsets" (the highest
 * offset the sink applied per partition against the log end): "current:
 * p0 611 (end 612), ..." or "BEHIND: p2 by 5 (applied 606, end 612);
 * current: p0, p1". */
int crmsync_pilot_offsets_text(const json_t *off, char *buf, size_t size)
{
        const json_t *p;
        size_t        i, n = 0;
        int           behind = 0;
        if (!json_is_object(off)) {
                snprintf(buf, size, "not recorded");
                return -1;
        }
        if (json_string_value(json_object_get(off, "error"))) {
                snprintf(buf, size, "log end unknown: %s",
                         json_string_value(json_object_get(off, "error")));
                return -1;
        }
        behind = !json_is_true(json_object_get(off, "current"));
        n = (size_t)snprintf(buf, size, "%s:", behind ? "BEHIND" : "current");
        for (int pass = 0; pass < (behind ? 2 : 1); pass++) {
                int first = 1;
                if (pass == 1 && n < size)
                        n += (size_t)snprintf(buf + n, size - n, "; current:");
                json_array_foreach(json_object_get(off, "partitions"), i, p)
                {
                        json_int_t b =
                            json_integer_value(json_object_get(p, "behind"));
                        json_int_t pn =
                            json_integer_value(json_object_get(p, "partition"));
                        if (n >= size - 1 || (behind && (pass == 0) != !!b))
                                continue;
                        if (behind && pass == 0)
                                n += (size_t)snprintf(
                                    buf + n, size - n,
                                    "%s p%lld by %lld (applied %lld, "
                                    "end %lld)",
                                    first ? "" : ",", (long long)pn,
                                    (long long)b,
                                    (long long)json_integer_value(
                                        json_object_get(p, "highest_applied")),
                                    (long long)json_integer_value(
                                        json_object_get(p, "log_end")));
                        else if (behind)
                                n += (size_t)snprintf(
                                    buf + n, size - n, "%s p%lld",
                                    first ? "" : ",", (long long)pn);
                        else if (json_integer_value(
                                     json_object_get(p, "log_end")) <=
                                 json_integer_value(
                                     json_object_get(p, "start")))
                                n += (size_t)snprintf(
                                    buf + n, size - n, "%s p%lld none this run",
                                    first ? "" : ",", (long long)pn);
                        else
                                n += (size_t)snprintf(
                                    buf + n, size - n,
                                    "%s p%lld %lld (end %lld)",
                                    first ? "" : ",", (long long)pn,
                                    (long long)json_integer_value(
                                        json_object_get(p, "highest_applied")),
                                    (long long)json_integer_value(
                                        json_object_get(p, "log_end")));
                        first = 0;
                }
        }
        return behind;
}

static json_t *current(const json_t *r)
{
        char buf[600];
        if (!r)
                return NULL;
        crmsync_pilot_offsets_text(json_object_get(r, "offsets"), buf,
                                   sizeof(buf));
        return json_string(buf);
}

/* Over every run of target ti: how many sinks were current, and the
 * first that was not. */
static json_t *all_current(const json_t *pilot, int ti)
{
        const json_t *x;
        size_t        i;
        int           n = 0, cur           = 0;
        char          buf[700], first[600] = "";
        json_array_foreach(json_object_get(target(pilot, ti), "runs"), i, x)
        {
                char t[500];
                n++;
                if (crmsync_pilot_offsets_text(json_object_get(x, "offsets"), t,
                                               sizeof(t)) == 0)
                        cur++;
                else if (!first[0])
                        snprintf(
                            first, sizeof(first), "; %s %s",
                            json_string_value(json_object_get(x, "scenario")),
                            t);
        }
        snprintf(buf, sizeof(buf), "%d of %d sinks current%s", cur, n, first);
        return json_string(buf);
}

static json_t *dlq_drain(const json_t *pilot, int ti)
{
        const json_t *d = at(run_of(pilot, ti, "07-"), "dlq_drain");
        char          buf[300];
        if (!run_of(pilot, ti, "07-"))
                return NULL;
        if (!json_is_object(d))
                snprintf(buf, sizeof(buf), "not recorded");
        else if (json_string_value(json_object_get(d, "error")))
                snprintf(buf, sizeof(buf), "FAILED: %s",
                         json_string_value(json_object_get(d, "error")));
        else
                snprintf(buf, sizeof(buf),
                         "%s: %lld records read back in %.2f s (%lld "
                         "dead-lettered seen by the judge)%s",
                         json_string_value(json_object_get(d, "topic")),
                         (long long)json_integer_value(
                             json_object_get(d, "records")),
                         json_number_value(json_object_get(d, "seconds")),
                         (long long)json_integer_value(
                             json_object_get(d, "dead_lettered")),
                         json_is_true(json_object_get(d, "complete"))
                             ? ""
                             : ", INCOMPLETE");
        return json_string(buf);
}

static void shadow_current(json_t *rows, const json_t *pilot)
{
        const json_t *sh = json_object_get(pilot, "shadow");
        json_t       *v[2];
        if (!json_is_object(sh))
                return;
        for (int i = 0; i < 2; i++) {
                char buf[600];
                crmsync_pilot_offsets_text(
                    json_object_get(
                        json_array_get(json_object_get(sh, "sides"), (size_t)i),
                        "offsets"),
                    buf, sizeof(buf));
                v[i] = json_string(buf);
        }
        row(rows, "shadow sink current", "", v[0], v[1], NONE,
            json_pack("[{s:s, s:s}]", "label", "shadow.md", "href",
                      "shadow.md"));
}

static void recovery(json_t *lines, const json_t *pilot)
{
        json_t *l    = line(lines, "Recovery");
        json_t *rows = json_object_get(l, "rows");
        row(rows, "bounded-domain replay", "", replay_result(pilot, 0, "06-"),
            replay_result(pilot, 1, "06-"), NONE, runs_evidence(pilot, "06-"));
        run_row(rows, pilot, "bounded-domain replay time", "s", "06-",
                "timing.replay.seconds", LOWER);
        row(rows, "offset-range replay", "", replay_result(pilot, 0, "05-"),
            replay_result(pilot, 1, "05-"), NONE, runs_evidence(pilot, "05-"));
        run_row(rows, pilot, "offset-range replay time", "s", "05-",
                "timing.replay.seconds", LOWER);
        row(rows, "DLQ: dead-lettered records covered", "", dlq(pilot, 0),
            dlq(pilot, 1), NONE, runs_evidence(pilot, "07-"));
        row(rows, "DLQ drain", "", dlq_drain(pilot, 0), dlq_drain(pilot, 1),
            NONE, runs_evidence(pilot, "07-"));
        run_row(rows, pilot, "DLQ drain time", "s", "07-", "dlq_drain.seconds",
                LOWER);
        row(rows, "sink current (mirrored stream)", "",
            current(run_of(pilot, 0, "01-")), current(run_of(pilot, 1, "01-")),
            NONE, runs_evidence(pilot, "01-"));
        row(rows, "sinks current (every run)", "", all_current(pilot, 0),
            all_current(pilot, 1), NONE, json_array());
        shadow_current(rows, pilot);
        note(l, "DLQ: 07-dlq-schema-drift makes the CRM serve changes "
                "without a record id; the connector sends each to the "
                "dead-letter topic and re-reads its entity, so the DLQ is "
                "drained by full writes (nothing may be missing). Rolling "
                "back a connector change is the connector downtime and "
                "catch-up run (Elasticity). DLQ drain: after the run the judge "
                "reads the DLQ topic back to its end with its own client "
                "and counts what is in it. A sink is current when, on every "
                "partition, the highest offset it applied (its apply log, "
                "matched to the judge's copy of the topic by event id) is "
                "the last offset of the log (the log end the judge read "
                "after the pipeline stopped); else it is behind by the "
                "offsets in between.");
}

static json_t *shadow_side(const json_t *sh, int ti)
{
        const json_t *s =
            json_array_get(json_object_get(sh, "sides"), (size_t)ti);
        char buf[200];
        if (!s)
                return NULL;
        snprintf(buf, sizeof(buf), "sink %s the CRM (%lld anomalies), run %s",
                 json_is_true(json_object_get(s, "matches_crm"))
                     ? "matches"
                     : "DIFFERS from",
                 (long long)json_integer_value(json_object_get(s, "anomalies")),
                 json_string_value(json_object_get(s, "verdict")));
        return json_string(buf);
}

static void migration(json_t *lines, const json_t *pilot)
{
        json_t       *l  = line(lines, "Migration");
        const json_t *sh = json_object_get(pilot, "shadow");
        char          buf[256];
        if (!json_is_object(sh)) {
                row(json_object_get(l, "rows"), "shadow mode", "",
                    json_string("not run"), json_string("not run"), NONE,
                    json_array());
                note(l, "Shadow mode was not run: `crmsync pilot --shadow` "
                        "sends one CRM stream to both pipelines at once and "
                        "compares the two sinks record by record.");
                return;
        }
        row(json_object_get(l, "rows"), "shadow: each sink against the CRM", "",
            shadow_side(sh, 0), shadow_side(sh, 1), NONE,
            json_pack("[{s:s, s:s}]", "label", "shadow.md", "href",
                      "shadow.md"));
        snprintf(
            buf, sizeof(buf), "%lld",
            (long long)json_integer_value(json_object_get(sh, "divergences")));
        row(json_object_get(l, "rows"),
            "shadow: records that differ between "
            "the sinks",
            "count", json_string(buf), json_string(buf), NONE,
            json_pack("[{s:s, s:s}]", "label", "shadow.md", "href",
                      "shadow.md"));
        note(l, "One CRM stream went to both pipelines at once (own "
                "connector, target, profiler and sink each): the existing "
                "path kept running while the new one was validated. Every "
                "divergence is listed in shadow.md with the lineage from both "
                "sides.");
}

json_t *crmsync_pilot_scorecard(const json_t *pilot)
{
        json_t *lines = json_array();
        compatibility(lines, pilot);
        elasticity(lines, pilot);
        cost(lines, pilot);
        governance(lines, pilot);
        recovery(lines, pilot);
        migration(lines, pilot);
        return json_pack("{s:o}", "lines", lines);
}
