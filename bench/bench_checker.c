/* bench_checker.c -- history checker throughput and memory on a synthetic
 * history: N committed changes over N/5 records, every change observed in
 * the log once (1% twice), applied in order with 1% arriving late and
 * rejected, side effects for 10% of changes. Prints events/s and peak RSS
 * per event. Usage: bench_checker [changes] (default 1000000). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "crmsync/common.h"
#include "harness/history.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
        uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
        z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z          = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
        uint32_t             n = argc > 1 ? (uint32_t)atol(argv[1]) : 1000000;
        uint32_t             records = n / 5 ? n / 5 : 1;
        uint32_t            *version = calloc(records, sizeof(uint32_t));
        uint32_t            *rec_of  = malloc(n * sizeof(uint32_t));
        struct check_result  r;
        struct history_stats st;
        struct rusage        ru;
        history_t           *h;
        int64_t              t0, t1, t2;

        if (!version || !rec_of)
                return 1;
        /* The synthetic workload itself (not timed). */
        for (uint32_t i = 0; i < n; i++)
                rec_of[i] = (uint32_t)(rng() % records);

        t0 = crmsync_mono_us();
        h  = crmsync_history_new(n, records, 0);
        if (!h)
                return 1;
        for (uint32_t i = 0; i < n; i++) {
                uint32_t rec = rec_of[i];
                uint32_t v   = ++version[rec];
                crmsync_history_commit(h, i + 1, rec, v);
                crmsync_history_observe(h, i + 1, (int32_t)(rec % 12), i);
                if (i % 100 == 7)
                        crmsync_history_observe(h, i + 1, (int32_t)(rec % 12),
                                                (int64_t)n + i);
                /* 1% of changes arrive after a newer one: rejected. */
                crmsync_history_apply(h, i + 1, rec, v, i % 100 != 3,
                                      v == 1 ? HISTORY_WRITE_FULL : 0u);
                if (i % 10 == 0)
                        crmsync_history_side_effect(h, i + 1, 1);
        }
        t1 = crmsync_mono_us();
        crmsync_check_result_init(&r);
        crmsync_history_check(h, &r, &st);
        t2 = crmsync_mono_us();
        getrusage(RUSAGE_SELF, &ru);

        /* Facts fed: commit + observe + apply per change, plus extras. */
        printf("changes              %u\n", n);
        printf("record time          %.3f s\n", (double)(t1 - t0) / 1e6);
        printf("check time           %.3f s\n", (double)(t2 - t1) / 1e6);
        printf("events/s (record+check) %.0f\n",
               (double)n / ((double)(t2 - t0) / 1e6));
        printf("peak RSS             %ld KiB = %.1f bytes/event (incl. the "
               "%zu-byte synthetic input per change)\n",
               ru.ru_maxrss, (double)ru.ru_maxrss * 1024.0 / n,
               2 * sizeof(uint32_t));
        printf("anomalies found      lost=%llu reordered=%llu dup_side=%llu "
               "(expected 0 0 0: late copies are rejected, not applied)\n",
               (unsigned long long)r.counts[ANOMALY_LOST],
               (unsigned long long)r.counts[ANOMALY_REORDERED],
               (unsigned long long)r.counts[ANOMALY_DUPLICATE_SIDE_EFFECT]);
        printf("log duplicates       %llu\n",
               (unsigned long long)st.log_duplicates);
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
        free(version);
        free(rec_of);
        return 0;
}
