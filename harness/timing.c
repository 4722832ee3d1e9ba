/* timing.c -- freshness per change and convergence after a moment, from
 * the commit and apply logs. */
#include "harness/timing.h"

#include <stdlib.h>

double crmsync_timing_convergence_s(const struct timing_facts *f, int64_t t_ms)
{
        uint32_t *target  = calloc(f->record_cnt + 1, sizeof(uint32_t));
        uint32_t *held    = calloc(f->record_cnt + 1, sizeof(uint32_t));
        size_t    pending = 0;
        int64_t   last    = t_ms;
        double    result  = -1;

        if (!target || !held)
                goto out;
        /* What the sink must hold: each record's last version by t_ms. */
        for (size_t i = 0; i < f->ev_cnt && f->ev_wall_ms[i] <= t_ms; i++)
                if (f->ev_record[i] < f->record_cnt)
                        target[f->ev_record[i]] = f->ev_version[i];
        for (uint32_t r = 0; r < f->record_cnt; r++)
                if (target[r])
                        pending++;
        /* Walk the applies in order; a record is done at the first applied
         * write of a version >= its target. */
        for (size_t i = 0; i < f->ap_cnt && pending; i++) {
                uint32_t r = f->ap_record[i];
                if (r >= f->record_cnt || !f->ap_applied[i] || !target[r] ||
                    held[r] >= target[r])
                        continue;
                held[r] = f->ap_version[i];
                if (held[r] >= target[r]) {
                        pending--;
                        if (f->ap_wall_ms[i] > last)
                                last = f->ap_wall_ms[i];
                }
        }
        if (!pending)
                result = (double)(last - t_ms) / 1000.0;
out:
        free(target);
        free(held);
        return result;
}

static void freshness_init(struct freshness_stats *s)
{
        crmsync_histogram_init(&s->seen);
        s->count = s->excluded = s->unseen = 0;
}

int crmsync_timing_freshness(const struct timing_facts *f,
                             int64_t                    steady_from_ms,
                             struct timing_freshness   *out)
{
        /* The applied writes of each record, in apply order: record r's
         * are list[first[r] .. first[r + 1]). pos[r] is the sweep's place
         * in them; last[r] the version of r's previous change. */
        size_t   *first = calloc((size_t)f->record_cnt + 2, sizeof(size_t));
        size_t   *pos   = calloc((size_t)f->record_cnt + 1, sizeof(size_t));
        uint32_t *last  = calloc((size_t)f->record_cnt + 1, sizeof(uint32_t));
        uint32_t *list  = calloc(f->ap_cnt + 1, sizeof(uint32_t));
        int       rc    = -1;

        freshness_init(&out->whole);
        freshness_init(&out->steady);
        if (!first || !pos || !last || !list)
                goto out;
        for (size_t i = 0; i < f->ap_cnt; i++)
                if (f->ap_applied[i] && f->ap_record[i] < f->record_cnt)
                        first[f->ap_record[i] + 2]++;
        for (uint32_t r = 0; r < f->record_cnt; r++)
                first[r + 2] += first[r + 1];
        /* first[r + 1] is now r's start; fill, advancing it to r's end. */
        for (size_t i = 0; i < f->ap_cnt; i++)
                if (f->ap_applied[i] && f->ap_record[i] < f->record_cnt)
                        list[first[f->ap_record[i] + 1]++] = (uint32_t)i;
        for (uint32_t r = 0; r < f->record_cnt; r++)
                pos[r] = first[r];
        /* A record's changes come in version order, so the first write at
         * a version >= v never lies before the previous change's: one
         * sweep per record. */
        for (size_t i = 0; i < f->ev_cnt; i++) {
                uint32_t                r    = f->ev_record[i];
                uint32_t                v    = f->ev_version[i];
                struct freshness_stats *s[2] = {&out->whole, NULL};
                size_t                  p, end;

                if (f->ev_wall_ms[i] >= steady_from_ms)
                        s[1] = &out->steady;
                if (r >= f->record_cnt) {
                        for (int k = 0; k < 2 && s[k]; k++) {
                                s[k]->count++;
                                s[k]->unseen++;
                        }
                        continue;
                }
                if (v < last[r]) /* out of order: search from the start */
                        pos[r] = first[r];
                last[r] = v;
                end     = first[r + 1];
                for (p = pos[r]; p < end && f->ap_version[list[p]] < v; p++)
                        ;
                pos[r] = p;
                for (int k = 0; k < 2 && s[k]; k++) {
                        size_t  a;
                        int64_t lat;
                        if (p == end) {
                                s[k]->count++;
                                s[k]->unseen++;
                                continue;
                        }
                        a = list[p];
                        if (f->ap_delete && f->ap_delete[a] &&
                            f->ap_version[a] > v) {
                                s[k]->excluded++;
                                continue;
                        }
                        lat = f->ap_wall_ms[a] - f->ev_wall_ms[i];
                        s[k]->count++;
                        crmsync_histogram_record(&s[k]->seen,
                                                 lat < 0 ? 0 : (uint64_t)lat);
                }
        }
        rc = 0;
out:
        free(first);
        free(pos);
        free(last);
        free(list);
        return rc;
}

int crmsync_freshness_quantile(const struct freshness_stats *s, double q,
                               uint64_t *ms)
{
        uint64_t rank;
        if (!s->count)
                return -1;
        rank = (uint64_t)(q * (double)s->count + 0.999999);
        if (rank < 1)
                rank = 1;
        if (rank > s->count)
                rank = s->count;
        if (rank > s->seen.total)
                return -1; /* among the changes never seen */
        *ms = crmsync_histogram_rank(&s->seen, rank);
        return 0;
}
