/* run_offsets.c -- the run's log end offsets against the offsets the sink
 * applied (offsets.h), and the DLQ drain: the judge reads the DLQ topic
 * back to its end and counts it (run_int.h). */
#include "harness/offsets.h"

#include "harness/drain.h"
#include "run_int.h"

#define OFFSETS_MAX_PARTITIONS 1024
#define DLQ_DRAIN_TIMEOUT_MS 15000

static int fact_cmp(const void *a, const void *b)
{
        const struct auditor_fact *x = *(const struct auditor_fact *const *)a;
        const struct auditor_fact *y = *(const struct auditor_fact *const *)b;
        return strcmp(x->event_id, y->event_id);
}

/* The facts that name an event (the DLQ's apart), sorted by event id, *n
 * of them; NULL when out of memory. 8 bytes a fact: a JSON object per
 * event id ({"partition": offset}) was ~370 bytes a fact, the judge's
 * largest allocation on a large run. */
static const struct auditor_fact **fact_index(const struct auditor_fact *facts,
                                              size_t nf, size_t *n)
{
        const struct auditor_fact **idx = malloc((nf ? nf : 1) * sizeof(*idx));
        *n                              = 0;
        if (!idx)
                return NULL;
        for (size_t i = 0; i < nf; i++)
                if (!facts[i].dlq && facts[i].event_id[0])
                        idx[(*n)++] = &facts[i];
        qsort(idx, *n, sizeof(*idx), fact_cmp);
        return idx;
}

/* The position of the first fact of event id in idx (n), or where it
 * would be. */
static size_t fact_find(const struct auditor_fact **idx, size_t n,
                        const char *id)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(idx[mid]->event_id, id) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

json_t *crmsync_offsets_current(int partitions, const int64_t *start,
                                const int64_t             *ends,
                                const struct auditor_fact *facts, size_t nf,
                                const struct sink_apply *applies, size_t na)
{
        size_t                      ni;
        const struct auditor_fact **idx = fact_index(facts, nf, &ni);
        json_t                     *arr = json_array();
        int64_t                    *high;
        int64_t                     total   = 0;
        int                         nbehind = 0;

        if (partitions < 0 || partitions > OFFSETS_MAX_PARTITIONS)
                partitions = 0;
        high = calloc((size_t)(partitions ? partitions : 1), sizeof(*high));
        for (int p = 0; high && p < partitions; p++)
                high[p] = -1;
        /* Each applied event counts at the highest offset it was read at
         * on each partition. */
        for (size_t i = 0; high && idx && i < na; i++) {
                const char *id = applies[i].event_id;
                for (size_t j = fact_find(idx, ni, id);
                     j < ni && !strcmp(idx[j]->event_id, id); j++) {
                        int p = (int)idx[j]->partition;
                        if (p >= 0 && p < partitions &&
                            idx[j]->offset > high[p])
                                high[p] = idx[j]->offset;
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
        free(idx);
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
