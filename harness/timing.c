/* timing.c -- freshness per change and convergence after a moment, from
 * the commit and apply logs. */
#include "harness/timing.h"

#include <stdlib.h>
#include <string.h>

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

int crmsync_timing_held(const struct timing_facts *f, int64_t *held_ms)
{
        /* The applied writes of each record, in apply order: record r's
         * are list[first[r] .. first[r + 1]). pos[r] is the sweep's place
         * in them; last[r] the version of r's previous change. */
        size_t   *first = calloc((size_t)f->record_cnt + 2, sizeof(size_t));
        size_t   *pos   = calloc((size_t)f->record_cnt + 1, sizeof(size_t));
        uint32_t *last  = calloc((size_t)f->record_cnt + 1, sizeof(uint32_t));
        uint32_t *list  = calloc(f->ap_cnt + 1, sizeof(uint32_t));
        int       rc    = -1;

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
                uint32_t r = f->ev_record[i];
                uint32_t v = f->ev_version[i];
                size_t   p, end, a;

                if (r >= f->record_cnt) {
                        held_ms[i] = TIMING_UNSEEN;
                        continue;
                }
                if (v < last[r]) /* out of order: search from the start */
                        pos[r] = first[r];
                last[r] = v;
                end     = first[r + 1];
                for (p = pos[r]; p < end && f->ap_version[list[p]] < v; p++)
                        ;
                pos[r] = p;
                if (p == end) {
                        held_ms[i] = TIMING_UNSEEN;
                        continue;
                }
                a = list[p];
                if (f->ap_delete && f->ap_delete[a] && f->ap_version[a] > v)
                        held_ms[i] = TIMING_EXCLUDED;
                else
                        held_ms[i] = f->ap_wall_ms[a] < f->ev_wall_ms[i]
                                         ? f->ev_wall_ms[i]
                                         : f->ap_wall_ms[a];
        }
        rc = 0;
out:
        free(first);
        free(pos);
        free(last);
        free(list);
        return rc;
}

int crmsync_timing_freshness(const struct timing_facts *f,
                             int64_t                    steady_from_ms,
                             struct timing_freshness   *out)
{
        int64_t *held = calloc(f->ev_cnt + 1, sizeof(*held));

        freshness_init(&out->whole);
        freshness_init(&out->steady);
        if (!held || crmsync_timing_held(f, held)) {
                free(held);
                return -1;
        }
        for (size_t i = 0; i < f->ev_cnt; i++) {
                struct freshness_stats *s[2] = {&out->whole, NULL};
                if (f->ev_wall_ms[i] >= steady_from_ms)
                        s[1] = &out->steady;
                for (int k = 0; k < 2 && s[k]; k++) {
                        if (held[i] == TIMING_EXCLUDED) {
                                s[k]->excluded++;
                                continue;
                        }
                        s[k]->count++;
                        if (held[i] == TIMING_UNSEEN)
                                s[k]->unseen++;
                        else
                                crmsync_histogram_record(
                                    &s[k]->seen,
                                    (uint64_t)(held[i] - f->ev_wall_ms[i]));
                }
        }
        free(held);
        return 0;
}

static int ms_cmp(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

/* The sweep keeps the commit times and the hold times in two sorted
 * arrays of 8 bytes a change (a pair of 16-byte points and qsort's copy
 * of them were 64, the judge's largest buffer at a million changes), and
 * merges them: at equal times a hold comes before a commit (a change held
 * the instant it commits is never pending). */
int crmsync_timing_peak_lag(const struct timing_facts *f, const int64_t *held,
                            int64_t from_ms, int64_t to_ms,
                            struct timing_lag *out)
{
        int64_t *com     = malloc((f->ev_cnt + 1) * sizeof(*com));
        int64_t *hel     = malloc((f->ev_cnt + 1) * sizeof(*hel));
        size_t   n       = 0, i, j;
        int64_t  pending = 0;

        memset(out, 0, sizeof(*out));
        if (!com || !hel) {
                free(com);
                free(hel);
                return -1;
        }
        for (i = 0; i < f->ev_cnt; i++) {
                int64_t c = f->ev_wall_ms[i];
                if (c < from_ms || c > to_ms || held[i] == TIMING_EXCLUDED)
                        continue;
                out->changes++;
                if (held[i] == TIMING_UNSEEN) {
                        out->unseen++;
                        continue;
                }
                if (held[i] - c > out->peak_age_ms)
                        out->peak_age_ms = held[i] - c;
                com[n]   = c;
                hel[n++] = held[i];
        }
        qsort(com, n, sizeof(*com), ms_cmp);
        qsort(hel, n, sizeof(*hel), ms_cmp);
        for (i = j = 0; i < n;) {
                if (j < n && hel[j] <= com[i]) {
                        pending--;
                        j++;
                        continue;
                }
                if (++pending > out->peak_pending)
                        out->peak_pending = pending;
                i++;
        }
        free(com);
        free(hel);
        return 0;
}

int crmsync_timing_catch_up(const struct timing_facts *f, const int64_t *held,
                            int64_t stop_ms, int64_t back_ms,
                            int64_t caught_up_ms, struct timing_catch_up *out)
{
        size_t  i, last = 0;
        int64_t last_held = back_ms, first_held = INT64_MAX;
        int     found = 0;

        memset(out, 0, sizeof(*out));
        out->drain_s = -1;
        if (back_ms < stop_ms)
                return -1;
        for (i = 0; i < f->ev_cnt; i++) {
                int64_t c = f->ev_wall_ms[i];
                if (held[i] == TIMING_EXCLUDED || c > back_ms)
                        continue;
                if (c >= stop_ms)
                        out->outage_commits++;
                if (held[i] == TIMING_UNSEEN || held[i] > back_ms)
                        out->backlog++;
        }
        /* Caught up: the first change committed after the process was
         * back that reached the sink within caught_up_ms. */
        for (i = 0; i < f->ev_cnt; i++) {
                int64_t c = f->ev_wall_ms[i];
                if (c <= back_ms || held[i] < 0)
                        continue;
                if (held[i] - c <= caught_up_ms) {
                        found = 1;
                        last  = i;
                        break;
                }
        }
        if (!found)
                return 0; /* never caught up: drain_s stays -1 */
        /* What the drain moved: the backlog plus everything committed
         * until the catch-up change; the drain lasts until the sink held
         * all of it. */
        out->drained = out->backlog;
        for (i = 0; i < f->ev_cnt; i++) {
                int64_t c = f->ev_wall_ms[i];
                if (held[i] < 0 || c > f->ev_wall_ms[last])
                        continue;
                if (c > back_ms)
                        out->drained++;
                if ((c > back_ms || held[i] > back_ms) && held[i] > last_held)
                        last_held = held[i];
        }
        out->drain_s = (double)(last_held - back_ms) / 1000.0;
        /* The rate while draining: from the first of them the sink held
         * after back_ms (the stage's restart is not throughput). */
        for (i = 0; i < f->ev_cnt; i++)
                if (held[i] > back_ms && held[i] < first_held &&
                    f->ev_wall_ms[i] <= f->ev_wall_ms[last])
                        first_held = held[i];
        out->drain_events_per_s = last_held > first_held
                                      ? (double)out->drained * 1000.0 /
                                            (double)(last_held - first_held)
                                      : 0;
        out->commit_rate_per_s  = back_ms > stop_ms
                                      ? (double)out->outage_commits * 1000.0 /
                                           (double)(back_ms - stop_ms)
                                      : 0;
        return 0;
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
