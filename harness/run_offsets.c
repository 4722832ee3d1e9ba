/* run_offsets.c -- the run's log end offsets against the offsets the sink
 * applied (offsets.h), and the DLQ drain: the judge reads the DLQ topic
 * back to its end and counts it (run_int.h). */
#include "harness/offsets.h"

#include "harness/drain.h"
#include "run_int.h"

#define OFFSETS_MAX_PARTITIONS 1024
#define DLQ_DRAIN_TIMEOUT_MS 15000

/* event id -> highest offset per partition: {"p": offset}. */
static json_t *fact_index(const struct auditor_fact *facts, size_t nf)
{
        json_t *idx = json_object();
        char    p[16];
        for (size_t i = 0; i < nf; i++) {
                json_t *e;
                if (facts[i].dlq || !facts[i].event_id[0])
                        continue;
                if (!(e = json_object_get(idx, facts[i].event_id))) {
                        e = json_object();
                        json_object_set_new(idx, facts[i].event_id, e);
                }
                snprintf(p, sizeof(p), "%d", (int)facts[i].partition);
                if (!json_object_get(e, p) ||
                    json_integer_value(json_object_get(e, p)) < facts[i].offset)
                        json_object_set_new(e, p,
                                            json_integer(facts[i].offset));
        }
        return idx;
}

json_t *crmsync_offsets_current(int partitions, const int64_t *start,
                                const int64_t             *ends,
                                const struct auditor_fact *facts, size_t nf,
                                const struct sink_apply *applies, size_t na)
{
        json_t     *idx = fact_index(facts, nf), *arr = json_array(), *e, *v;
        int64_t    *high;
        int64_t     total   = 0;
        int         nbehind = 0;
        const char *k;

        if (partitions < 0 || partitions > OFFSETS_MAX_PARTITIONS)
                partitions = 0;
        high = calloc((size_t)(partitions ? partitions : 1), sizeof(*high));
        for (int p = 0; high && p < partitions; p++)
                high[p] = -1;
        for (size_t i = 0; high && i < na; i++) {
                if (!(e = json_object_get(idx, applies[i].event_id)))
                        continue;
                json_object_foreach(e, k, v)
                {
                        int p = atoi(k);
                        if (p >= 0 && p < partitions &&
                            json_integer_value(v) > high[p])
                                high[p] = json_integer_value(v);
                }
        }
        for (int p = 0; high && p < partitions; p++) {
                int64_t s = start ? start[p] : 0, behind = 0;
                if (ends[p] > s && high[p] < ends[p] - 1)
                        behind = ends[p] - 1 - (high[p] >= s ? high[p] : s - 1);
                if (behind) {
                        total += behind;
                        nbehind++;
                }
                json_array_append_new(
                    arr, json_pack("{s:i, s:I, s:I, s:I, s:I}", "partition", p,
                                   "start", (json_int_t)s, "log_end",
                                   (json_int_t)ends[p], "highest_applied",
                                   (json_int_t)high[p], "behind",
                                   (json_int_t)behind));
        }
        free(high);
        json_decref(idx);
        return json_pack("{s:o, s:b, s:I, s:i}", "partitions", arr, "current",
                         total == 0, "behind_total", (json_int_t)total,
                         "behind_partitions", nbehind);
}

json_t *run_offsets_json(struct run *r)
{
        int                        np = crmsync_cluster_partitions(r->cluster);
        int64_t                   *ends;
        const struct auditor_fact *facts = NULL;
        const struct sink_apply   *a     = NULL;
        size_t                     nf    = 0, na;
        char                       errstr[256];
        json_t                    *out;

        if (!r->auditor || np < 1 || np > OFFSETS_MAX_PARTITIONS)
                return json_null();
        if (!(ends = calloc((size_t)np, sizeof(*ends))))
                return json_null();
        if (crmsync_cluster_end_offsets(r->cluster, r->sc->topic, ends, np,
                                        errstr, sizeof(errstr))) {
                free(ends);
                run_progress(r, "log end offsets unknown: %s", errstr);
                return json_pack("{s:s}", "error", errstr);
        }
        nf  = crmsync_auditor_facts(r->auditor, &facts);
        na  = run_sink_applies(r, &a);
        out = crmsync_offsets_current(np,
                                      crmsync_cluster_start_offsets(r->cluster),
                                      ends, facts, nf, a, na);
        free(ends);
        return out;
}

json_t *run_dlq_drain_json(struct run *r)
{
        struct drain_result        dr;
        char                       topic[300], errstr[256];
        size_t                     dead  = 0, nf;
        const struct auditor_fact *facts = NULL;

        if (!r->auditor)
                return json_null();
        nf = crmsync_auditor_facts(r->auditor, &facts);
        for (size_t i = 0; i < nf; i++)
                dead += facts[i].dlq ? 1 : 0;
        snprintf(topic, sizeof(topic), "%s.dlq", r->sc->topic);
        if (crmsync_drain_topic(crmsync_cluster_props(r->cluster), topic, 1,
                                NULL, DLQ_DRAIN_TIMEOUT_MS, &dr, errstr,
                                sizeof(errstr)))
                return json_pack("{s:s, s:s, s:I}", "topic", topic, "error",
                                 errstr, "dead_lettered", (json_int_t)dead);
        return json_pack("{s:s, s:I, s:I, s:f, s:b, s:I}", "topic", topic,
                         "records", (json_int_t)dr.records, "bytes",
                         (json_int_t)dr.bytes, "seconds",
                         dr.setup_s + dr.seconds, "complete", dr.complete,
                         "dead_lettered", (json_int_t)dead);
}
