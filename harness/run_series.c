/* run_series.c -- the run's per-second series for the report's charts,
 * from what the run holds already (the workload's commit times and the
 * sink's apply log): commits and applies per second, the apply latency's
 * p50 and p99 per second, the sink's lag and backlog at the end of each
 * second, the profiler's consumer lag on the topic (records), and the
 * apply latency's percentile curve. Computed after the
 * pipeline stopped and before a replay clears the sink. */
#include "run_int.h"

/* At most 10 hours of seconds. */
#define SERIES_MAX_S 36000

static const double hdr_q[] = {0,      0.25,    0.5,   0.75,  0.9,
                               0.95,   0.99,    0.995, 0.999, 0.9995,
                               0.9999, 0.99999, 1.0};

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
}

/* Nearest-rank quantile of the sorted v[0..n). */
static int64_t rank_q(const int64_t *v, size_t n, double q)
{
        size_t k = (size_t)ceil(q * (double)n);
        return v[k ? k - 1 : 0];
}

struct series_buf {
        size_t   secs;
        int64_t  t0;
        json_t  *commits, *applies, *p50, *p99, *lag, *backlog;
        int64_t *seen;  /* per change: when the sink first held it */
        int64_t *delta; /* per second: changes committed - caught up */
        int64_t *lat;   /* latencies of one second (sorted) */
        size_t  *head;  /* per record: its first change not yet held */
        size_t  *next;  /* per change: the record's next change */
        uint8_t *own;   /* per change: its own write was counted */
};

static size_t sec_of(const struct series_buf *b, int64_t wall_ms)
{
        int64_t s = (wall_ms - b->t0) / 1000;
        if (s < 0)
                return 0;
        return (size_t)s < b->secs ? (size_t)s : b->secs - 1;
}

/* When the sink first held each change (a write of its record at its
 * version or a newer one): the change's seen time, INT64_MAX when never. */
static void seen_times(struct run *r, struct series_buf *b,
                       const struct sink_apply *a, size_t na, size_t ne)
{
        size_t nrec = crmsync_workload_record_cnt(r->wl);

        for (size_t i = 0; i <= nrec; i++)
                b->head[i] = SIZE_MAX;
        /* Chain each record's changes in commit order (built backwards). */
        for (size_t i = ne; i-- > 0;) {
                uint32_t rec = r->ev_rec[i];
                b->seen[i]   = INT64_MAX;
                if (rec >= nrec)
                        continue;
                b->next[i]   = b->head[rec];
                b->head[rec] = i;
        }
        for (size_t i = 0; i < na && i < r->ap_cnt; i++) {
                uint32_t rec = r->ap_rec[i];
                if (!a[i].applied || rec >= nrec)
                        continue;
                while (b->head[rec] != SIZE_MAX &&
                       crmsync_workload_event(r->wl, b->head[rec])->version <=
                           a[i].version) {
                        b->seen[b->head[rec]] = a[i].wall_ms;
                        b->head[rec]          = b->next[b->head[rec]];
                }
        }
}

/* commits, applies and latency per second; fills delta and own. */
static void rates(struct run *r, struct series_buf *b,
                  const struct sink_apply *a, size_t na, size_t ne,
                  struct histogram *h)
{
        size_t   s = 0, cnt = 0;
        int64_t *per = calloc(b->secs, sizeof(int64_t));
        int64_t *app = calloc(b->secs, sizeof(int64_t));

        if (!per || !app)
                goto out;
        for (size_t i = 0; i < ne; i++) {
                int64_t c = b->t0 + crmsync_workload_event(r->wl, i)->commit_ms;
                per[sec_of(b, c)]++;
                b->delta[sec_of(b, c)]++;
                if (b->seen[i] != INT64_MAX)
                        b->delta[sec_of(b, b->seen[i])]--;
        }
        /* Applies come in time order: one second's latencies follow each
         * other. */
        for (size_t i = 0; i <= na; i++) {
                size_t   si  = i < na ? sec_of(b, a[i].wall_ms) : b->secs;
                uint64_t seq = i < na ? run_event_seq(a[i].event_id) : 0;
                if (si != s || i == na) {
                        qsort(b->lat, cnt, sizeof(int64_t), cmp_i64);
                        json_array_set_new(
                            b->p50, s,
                            cnt ? json_integer(rank_q(b->lat, cnt, 0.5))
                                : json_null());
                        json_array_set_new(
                            b->p99, s,
                            cnt ? json_integer(rank_q(b->lat, cnt, 0.99))
                                : json_null());
                        cnt = 0;
                        s   = si;
                }
                if (i == na || !a[i].applied)
                        continue;
                app[si]++;
                if (seq == 0 || seq > ne || b->own[seq - 1])
                        continue;
                b->own[seq - 1] = 1;
                int64_t lat =
                    a[i].wall_ms -
                    (b->t0 + crmsync_workload_event(r->wl, seq - 1)->commit_ms);
                b->lat[cnt++] = lat < 0 ? 0 : lat;
                crmsync_histogram_record(h, lat < 0 ? 0 : (uint64_t)lat);
        }
        for (size_t i = 0; i < b->secs; i++) {
                json_array_append_new(b->commits, json_integer(per[i]));
                json_array_append_new(b->applies, json_integer(app[i]));
        }
out:
        free(per);
        free(app);
}

/* Lag and backlog at the end of each second: the age of the oldest
 * change the sink does not hold yet, and how many changes it lacks. */
static void lag_backlog(struct run *r, struct series_buf *b, size_t ne)
{
        int64_t backlog = 0;
        size_t  p       = 0;

        for (size_t s = 0; s < b->secs; s++) {
                int64_t end = b->t0 + (int64_t)(s + 1) * 1000;
                backlog += b->delta[s];
                /* The first pending change only moves forward: a change
                 * held once stays held. */
                while (p < ne &&
                       b->t0 + crmsync_workload_event(r->wl, p)->commit_ms <
                           end &&
                       b->seen[p] < end)
                        p++;
                int64_t c =
                    p < ne ? b->t0 + crmsync_workload_event(r->wl, p)->commit_ms
                           : end;
                json_array_append_new(
                    b->lag, json_real(c < end ? (double)(end - c) / 1e3 : 0));
                json_array_append_new(b->backlog, json_integer(backlog));
        }
}

/* The profiler's consumer lag in records at the end of each second:
 * records on the changes topic (the auditor's facts, by their timestamp)
 * minus the records the profiler had read past (its highest offset read
 * per partition, from profiler-reads.tsv: wall ms, event id, partition,
 * offset). null when either is missing (--no-record, a profiler that
 * keeps no read log). */
#define SERIES_MAX_PARTITIONS 4096
static json_t *consumer_lag(struct run *r, const struct series_buf *b)
{
        const struct auditor_fact *f;
        size_t   nf    = r->auditor ? crmsync_auditor_facts(r->auditor, &f) : 0;
        int64_t *delta = NULL, *first = NULL, *seen = NULL, lag = 0;
        char     path[700], line[512];
        FILE    *fp  = NULL;
        json_t  *arr = json_null();

        snprintf(path, sizeof(path), "%s/profiler-reads.tsv", r->run_dir);
        if (!nf || !(fp = fopen(path, "r")) ||
            !(delta = calloc(b->secs + 1, sizeof(int64_t))) ||
            !(first = malloc(SERIES_MAX_PARTITIONS * sizeof(int64_t))) ||
            !(seen = malloc(SERIES_MAX_PARTITIONS * sizeof(int64_t))))
                goto out;
        for (size_t p = 0; p < SERIES_MAX_PARTITIONS; p++)
                first[p] = seen[p] = INT64_MAX;
        for (size_t i = 0; i < nf; i++) {
                int32_t p = f[i].partition;
                if (f[i].dlq || p < 0 || p >= SERIES_MAX_PARTITIONS)
                        continue;
                delta[sec_of(b, f[i].ts_ms)]++;
                if (f[i].offset < first[p])
                        first[p] = f[i].offset;
        }
        /* Bounded by the file: one line a read. */
        while (fgets(line, sizeof(line), fp)) {
                long long ms, off;
                int       p;
                if (sscanf(line, "%lld\t%*s\t%d\t%lld", &ms, &p, &off) != 3 ||
                    p < 0 || p >= SERIES_MAX_PARTITIONS ||
                    first[p] == INT64_MAX || off < first[p])
                        continue;
                if (seen[p] == INT64_MAX)
                        seen[p] = first[p] - 1;
                if (off > seen[p]) {
                        delta[sec_of(b, ms)] -= off - seen[p];
                        seen[p] = off;
                }
        }
        arr = json_array();
        for (size_t s = 0; s < b->secs; s++) {
                lag += delta[s];
                json_array_append_new(arr, json_integer(lag > 0 ? lag : 0));
        }
out:
        if (fp)
                fclose(fp);
        free(delta);
        free(first);
        free(seen);
        return arr;
}

static json_t *percentiles(const struct histogram *h)
{
        json_t *arr = json_array();
        for (size_t i = 0; i < sizeof(hdr_q) / sizeof(hdr_q[0]); i++) {
                /* Beyond the samples' resolution the curve ends at max. */
                if (hdr_q[i] < 1 && h->total &&
                    1 - hdr_q[i] < 1.0 / (double)h->total)
                        continue;
                json_array_append_new(
                    arr,
                    json_pack("{s:f, s:I}", "q", hdr_q[i], "ms",
                              (json_int_t)(hdr_q[i] >= 1
                                               ? h->max
                                               : crmsync_histogram_quantile(
                                                     h, hdr_q[i]))));
        }
        return arr;
}

static void buf_free(struct series_buf *b)
{
        free(b->seen);
        free(b->delta);
        free(b->lat);
        free(b->head);
        free(b->next);
        free(b->own);
}

/* The seconds the series spans: to the last commit, write or fault end,
 * or convergence, whichever is latest. */
static size_t span_s(struct run *r, const struct sink_apply *a, size_t na)
{
        int64_t end = crmsync_workload_duration_ms(r->wl);
        if (na && a[na - 1].wall_ms - r->t0_wall > end)
                end = a[na - 1].wall_ms - r->t0_wall;
        if (r->faults_end_mono - r->t0_mono > end)
                end = r->faults_end_mono - r->t0_mono;
        if (r->converged && r->converged_mono - r->t0_mono > end)
                end = r->converged_mono - r->t0_mono;
        end = end / 1000 + 1;
        return end > SERIES_MAX_S ? SERIES_MAX_S : (size_t)(end < 1 ? 1 : end);
}

json_t *run_series_json(struct run *r)
{
        const struct sink_apply *a;
        size_t                   na   = run_sink_applies(r, &a);
        size_t                   ne   = crmsync_workload_event_cnt(r->wl);
        size_t                   nrec = crmsync_workload_record_cnt(r->wl);
        struct series_buf        b    = {.t0 = r->t0_wall};
        struct histogram        *h    = malloc(sizeof(*h));
        json_t                  *o    = NULL;

        if (!h || run_indexes(r) || na != r->ap_cnt)
                goto out;
        b.secs  = span_s(r, a, na);
        b.seen  = calloc(ne + 1, sizeof(int64_t));
        b.delta = calloc(b.secs + 1, sizeof(int64_t));
        b.lat   = calloc(na + 1, sizeof(int64_t));
        b.head  = calloc(nrec + 1, sizeof(size_t));
        b.next  = calloc(ne + 1, sizeof(size_t));
        b.own   = calloc(ne + 1, 1);
        if (!b.seen || !b.delta || !b.lat || !b.head || !b.next || !b.own)
                goto out;
        crmsync_histogram_init(h);
        o = json_pack("{s:i, s:[], s:[], s:o, s:o, s:[], s:[]}", "step_s", 1,
                      "commits_per_s", "applies_per_s", "latency_p50_ms",
                      json_array(), "latency_p99_ms", json_array(), "lag_s",
                      "backlog");
        b.commits = json_object_get(o, "commits_per_s");
        b.applies = json_object_get(o, "applies_per_s");
        b.p50     = json_object_get(o, "latency_p50_ms");
        b.p99     = json_object_get(o, "latency_p99_ms");
        b.lag     = json_object_get(o, "lag_s");
        b.backlog = json_object_get(o, "backlog");
        for (size_t i = 0; i < b.secs; i++) {
                json_array_append_new(b.p50, json_null());
                json_array_append_new(b.p99, json_null());
        }
        seen_times(r, &b, a, na, ne);
        rates(r, &b, a, na, ne, h);
        lag_backlog(r, &b, ne);
        json_object_set_new(o, "consumer_lag", consumer_lag(r, &b));
        json_object_set_new(o, "latency_percentiles", percentiles(h));
        json_object_set_new(
            o, "workload_end_s",
            json_real((double)crmsync_workload_duration_ms(r->wl) / 1e3));
        json_object_set_new(
            o, "converged_at_s",
            r->converged
                ? json_real((double)(r->converged_mono - r->t0_mono) / 1e3)
                : json_null());
out:
        buf_free(&b);
        free(h);
        return o ? o : json_null();
}
